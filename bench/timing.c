/*
 * timing.c: the clock, samples and figure lines of the benchmarks (see
 * timing.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"

double
bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double
bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void
bench_samples_init(struct bench_samples *s, double *v, int cap)
{
	s->v = v;
	s->cap = cap;
	s->n = 0;
}

void
bench_samples_add(struct bench_samples *s, double x)
{
	if (s->n < s->cap)
		s->v[s->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank q-quantile of n > 0 sorted samples. */
static double
quantile(const double *v, int n, double q)
{
	return v[(int)(q * (n - 1) + 0.5)];
}

struct bench_summary
bench_summarize(struct bench_samples *s)
{
	struct bench_summary sum = { .n = s->n };

	if (s->n == 0)
		return sum;
	qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_double);
	sum.min = s->v[0];
	sum.median = quantile(s->v, s->n, 0.5);
	sum.p90 = quantile(s->v, s->n, 0.9);
	sum.p99 = quantile(s->v, s->n, 0.99);
	sum.max = s->v[s->n - 1];
	return sum;
}

void
bench_figure(const char *what, const char *label,
    const struct bench_summary *sum, const char *tail, ...)
{
	va_list ap;

	printf("%-44s %s%8.2f ms  (%.2f..%.2f, %d runs", what, label,
	    sum->median, sum->min, sum->max, sum->n);
	va_start(ap, tail);
	vprintf(tail, ap);
	va_end(ap);
	printf(")\n");
}
