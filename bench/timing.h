/*
 * timing.h: what every benchmark program needs to time a step and report
 * it: the monotonic clock, a set of samples, their summary (minimum,
 * median, p90, p99, maximum) and the one figure line of bench_plan and
 * bench_reconcile.
 *
 * Quantiles are nearest-rank: the q-quantile of n sorted samples is the
 * one at index (int)(q * (n - 1) + 0.5), so the median of an even count
 * is the upper of the two middle samples.
 *
 * Nothing here allocates; a set of samples lives in its caller's array.
 * Not thread-safe: one thread fills and summarises a set.
 */
#ifndef MVM_BENCH_TIMING_H
#define MVM_BENCH_TIMING_H

#include <stddef.h>

/* Milliseconds and microseconds on CLOCK_MONOTONIC, from an arbitrary zero. */
double	bench_now_ms(void);
double	bench_now_us(void);

/* Samples in the caller's array `v` of `cap` doubles; n of them are set. */
struct bench_samples {
	double	*v;
	int	 cap;
	int	 n;
};

/* An empty set over the caller's array `v` of `cap` doubles. */
void	bench_samples_init(struct bench_samples *s, double *v, int cap);

/* Add one sample; a sample beyond the capacity is dropped. */
void	bench_samples_add(struct bench_samples *s, double x);

/* What a set of samples says; every figure is 0 for an empty set. */
struct bench_summary {
	int	n;
	double	min, median, p90, p99, max;
};

/*
 * Sort the samples of `s` in place (ascending) and return their summary.
 * Adding after a summary is fine; the next summary sorts again.
 */
struct bench_summary bench_summarize(struct bench_samples *s);

/*
 * Print the figure line of a summary in milliseconds to stdout:
 *   <what, left-aligned in 44 columns> <label><median as %8.2f> ms
 *   (<min>..<max>, <n> runs<tail>)
 * on one line. `label` is printed as given ("" or "median "); `tail` is a
 * printf format for what follows the run count (", 20 steps",
 * "; aim < 50").
 */
void	bench_figure(const char *what, const char *label,
	    const struct bench_summary *sum, const char *tail, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
