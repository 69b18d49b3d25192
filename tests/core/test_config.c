/* test_config.c: tenant, pool and desired text: apply, render, round trip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void
msg_has(const struct mvm_error *e, const char *needle)
{
	cr_assert(strstr(e->msg, needle) != NULL, "\"%s\" not in: %s", needle,
	    e->msg);
}

static bool
tenant_eq(const struct mvm_tenant *a, const struct mvm_tenant *b)
{
	return strcmp(a->id, b->id) == 0 && a->net_id == b->net_id &&
	    a->quota.max_vcpus == b->quota.max_vcpus &&
	    a->quota.max_mem_mib == b->quota.max_mem_mib &&
	    a->quota.max_running == b->quota.max_running &&
	    a->quota.max_warm == b->quota.max_warm &&
	    a->quota.max_pools == b->quota.max_pools &&
	    a->quota.max_instances_per_pool ==
	    b->quota.max_instances_per_pool &&
	    a->quota.max_disk_gib == b->quota.max_disk_gib &&
	    a->uid == b->uid && a->gid == b->gid && a->pinned == b->pinned &&
	    a->created_at == b->created_at && a->revision == b->revision;
}

static bool
pool_eq(const struct mvm_pool *a, const struct mvm_pool *b)
{
	return strcmp(a->tenant, b->tenant) == 0 && strcmp(a->id, b->id) == 0 &&
	    strcmp(a->image, b->image) == 0 && a->vcpus == b->vcpus &&
	    a->mem_mib == b->mem_mib && a->data_disk_mib == b->data_disk_mib &&
	    a->desired.running == b->desired.running &&
	    a->desired.warm == b->desired.warm &&
	    a->desired.sleeping == b->desired.sleeping &&
	    a->runtime.min_running_seconds == b->runtime.min_running_seconds &&
	    a->runtime.min_warm_seconds == b->runtime.min_warm_seconds &&
	    a->runtime.drain_timeout_seconds ==
	    b->runtime.drain_timeout_seconds &&
	    a->runtime.graceful_shutdown_seconds ==
	    b->runtime.graceful_shutdown_seconds &&
	    a->runtime.settle_seconds == b->runtime.settle_seconds &&
	    a->sleep.warm_after_idle_seconds ==
	    b->sleep.warm_after_idle_seconds &&
	    a->sleep.sleep_after_idle_seconds ==
	    b->sleep.sleep_after_idle_seconds &&
	    a->sleep.idle_cpu_percent == b->sleep.idle_cpu_percent &&
	    a->sleep.idle_net_bytes == b->sleep.idle_net_bytes &&
	    a->pinned == b->pinned && a->created_at == b->created_at &&
	    a->revision == b->revision;
}

static int
tenant_text(struct mvm_tenant *t, const char *s, struct mvm_error *e)
{
	return mvm_config_tenant_apply_text(t, s, strlen(s), e);
}

static int
pool_text(struct mvm_pool *p, const char *s, struct mvm_error *e)
{
	return mvm_config_pool_apply_text(p, s, strlen(s), e);
}

Test(config, tenant_canonical_form)
{
	struct mvm_tenant t;
	char buf[MVM_CONFIG_TEXT_MAX];

	mvm_tenant_init(&t);
	t.net_id = 3;
	t.uid = 1000;
	t.gid = 1001;
	cr_assert_eq(mvm_config_tenant_render(&t, buf, sizeof(buf)),
	    (int)strlen(buf));
	cr_assert_str_eq(buf,
	    "gateway=10.240.3.1\n"
	    "gid=1001\n"
	    "max_disk_gib=100\n"
	    "max_instances_per_pool=16\n"
	    "max_mem_mib=32768\n"
	    "max_pools=4\n"
	    "max_running=8\n"
	    "max_vcpus=16\n"
	    "max_warm=4\n"
	    "net_id=3\n"
	    "pinned=false\n"
	    "subnet=10.240.3.0/24\n"
	    "uid=1000\n");
}

Test(config, pool_canonical_form)
{
	struct mvm_pool p;
	char buf[MVM_CONFIG_TEXT_MAX];

	mvm_pool_init(&p);
	strcpy(p.image, "debian:12");
	cr_assert_gt(mvm_config_pool_render(&p, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf,
	    "data_disk_mib=0\n"
	    "drain_timeout_seconds=30\n"
	    "graceful_shutdown_seconds=15\n"
	    "idle_cpu_percent=5\n"
	    "idle_net_bytes=1024\n"
	    "image=debian:12\n"
	    "managed=false\n"
	    "mem_mib=128\n"
	    "min_running_seconds=60\n"
	    "min_warm_seconds=30\n"
	    "pinned=false\n"
	    "settle_seconds=60\n"
	    "sleep_after_idle_seconds=900\n"
	    "vcpus=1\n"
	    "warm_after_idle_seconds=300\n");
}

Test(config, render_enospc)
{
	struct mvm_tenant t;
	struct mvm_pool p;
	char buf[MVM_CONFIG_TEXT_MAX];
	int n;

	mvm_tenant_init(&t);
	n = mvm_config_tenant_render(&t, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(mvm_config_tenant_render(&t, buf, (size_t)n), -ENOSPC);
	cr_assert_eq(mvm_config_tenant_render(&t, buf, (size_t)n + 1), n);
	cr_assert_eq(mvm_config_tenant_render(&t, NULL, 0), -ENOSPC);

	/* The largest pool rendering fits MVM_CONFIG_TEXT_MAX. */
	mvm_pool_init(&p);
	memset(p.image, 'a', MVM_IMAGE_MAX);
	p.image[MVM_IMAGE_MAX] = '\0';
	p.sleep.idle_net_bytes = UINT32_MAX;
	cr_assert_gt(mvm_config_pool_render(&p, buf, sizeof(buf)), 0);
}

Test(config, set_one_key)
{
	struct mvm_tenant t;
	struct mvm_kv kv = { "max_vcpus", 9, "32", 2 };
	struct mvm_error e = { 0, "" };

	mvm_tenant_init(&t);
	cr_assert_eq(mvm_config_tenant_set(&t, &kv, &e), 0);
	cr_assert_eq(t.quota.max_vcpus, 32);
	kv = (struct mvm_kv){ "max_vcpus", 9, "abc", 3 };
	cr_assert_eq(mvm_config_tenant_set(&t, &kv, &e), -EINVAL);
	msg_has(&e, "max_vcpus=\"abc\"");
	cr_assert_eq(t.quota.max_vcpus, 32);
}

Test(config, unknown_keys)
{
	struct mvm_tenant t;
	struct mvm_pool p;
	struct mvm_kv kv = { "foo", 3, "1", 1 };
	struct mvm_error e = { 0, "" };

	mvm_tenant_init(&t);
	mvm_pool_init(&p);
	cr_assert_eq(mvm_config_tenant_set(&t, &kv, &e), -EINVAL);
	msg_has(&e, "unknown tenant config key \"foo\"; known keys: gateway, "
	    "gid, ");
	msg_has(&e, "uid");
	cr_assert_eq(mvm_config_pool_set(&p, &kv, &e), -EINVAL);
	msg_has(&e, "unknown pool config key \"foo\"; known keys: "
	    "data_disk_mib, ");
	/* Tenant keys are not pool keys and the other way round. */
	kv = (struct mvm_kv){ "vcpus", 5, "2", 1 };
	cr_assert_eq(mvm_config_tenant_set(&t, &kv, NULL), -EINVAL);
	kv = (struct mvm_kv){ "net_id", 6, "2", 1 };
	cr_assert_eq(mvm_config_pool_set(&p, &kv, NULL), -EINVAL);
}

Test(config, subnet_alone_sets_net_id)
{
	struct mvm_tenant t;
	struct mvm_error e = { 0, "" };

	mvm_tenant_init(&t);
	cr_assert_eq(tenant_text(&t, "subnet=10.241.2.0/24\n", &e), 0, "%s",
	    e.msg);
	cr_assert_eq(t.net_id, 258);
	/* Subnet and gateway in sorted order, net_id absent: still fine. */
	cr_assert_eq(tenant_text(&t, "gateway=10.240.9.1\nsubnet=10.240.9.0/24",
	    &e), 0, "%s", e.msg);
	cr_assert_eq(t.net_id, 9);
}

Test(config, subnet_must_agree_with_net_id)
{
	struct mvm_tenant t;
	struct mvm_error e = { 0, "" };

	mvm_tenant_init(&t);
	cr_assert_eq(tenant_text(&t, "net_id=5\nsubnet=10.240.5.0/24\n", &e),
	    0, "%s", e.msg);
	cr_assert_eq(t.net_id, 5);
	cr_assert_eq(tenant_text(&t, "subnet=10.240.6.0/24\nnet_id=7\n", &e),
	    -EINVAL);
	msg_has(&e, "line 1: subnet 10.240.6.0/24 does not agree with "
	    "net_id=7");
	cr_assert_eq(t.net_id, 5);
}

Test(config, gateway_is_read_only)
{
	struct mvm_tenant t;
	struct mvm_error e = { 0, "" };

	mvm_tenant_init(&t);
	t.net_id = 5;
	cr_assert_eq(tenant_text(&t, "gateway=10.240.5.1", &e), 0);
	cr_assert_eq(tenant_text(&t, "gateway=10.240.5.2", &e), -EINVAL);
	msg_has(&e, "gateway is read-only");
	msg_has(&e, "10.240.5.1");
	msg_has(&e, "\"10.240.5.2\"");
	/* Changing net_id moves the gateway with it, in any line order. */
	cr_assert_eq(tenant_text(&t, "gateway=10.240.6.1\nnet_id=6\n", &e), 0,
	    "%s", e.msg);
	cr_assert_eq(t.net_id, 6);
}

Test(config, tenant_values_out_of_range)
{
	static const char *const bad[] = {
		"net_id=4096", "net_id=-1", "uid=4294967295",
		"gid=4294967296", "max_vcpus=4294967296", "pinned=maybe",
		"subnet=10.240.3.0/25", "subnet=10.239.0.0/24",
		"max_pools=1 2", "uid=0x10", "max_warm=", "net_id=1\r",
	};
	struct mvm_tenant t, before;

	mvm_tenant_init(&t);
	before = t;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mvm_error e = { 0, "" };

		cr_assert_eq(tenant_text(&t, bad[i], &e), -EINVAL, "%s",
		    bad[i]);
		msg_has(&e, "line 1: ");
		cr_assert(tenant_eq(&t, &before), "%s changed the tenant",
		    bad[i]);
	}
}

Test(config, pool_ranges)
{
	static const struct {
		const char	*line;
		bool		 ok;
	} cases[] = {
		{ "vcpus=1", true }, { "vcpus=32", true },
		{ "vcpus=0", false }, { "vcpus=33", false },
		{ "mem_mib=16", true }, { "mem_mib=1048576", true },
		{ "mem_mib=15", false }, { "mem_mib=1048577", false },
		{ "data_disk_mib=0", true }, { "data_disk_mib=1048576", true },
		{ "data_disk_mib=1048577", false },
		{ "idle_cpu_percent=100", true },
		{ "idle_cpu_percent=101", false },
		{ "min_running_seconds=86400", true },
		{ "min_running_seconds=86401", false },
		{ "sleep_after_idle_seconds=2592000", true },
		{ "warm_after_idle_seconds=2592001", false },
		{ "idle_net_bytes=4294967295", true },
		{ "pinned=yes", true }, { "pinned=2", false },
	};
	struct mvm_pool p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mvm_pool_init(&p);
		cr_assert_eq(pool_text(&p, cases[i].line, NULL),
		    cases[i].ok ? 0 : -EINVAL, "%s", cases[i].line);
	}
}

Test(config, images)
{
	static const char *const ok[] = {
		"debian:12", "registry.example.com:5000/team/app@sha256:abc",
		"a", "base+extras", "x..y", "a/.b/c", "./a", "Ubuntu-22.04",
		"a_b",
	};
	static const char *const bad[] = {
		"/etc/passwd", "-flag", "../x", "a/../b", "a/..", "..",
		"a b", "a\\b", "a;b", "a=b", "caf\xc3\xa9", "a$b", "a\"b",
	};
	struct mvm_error e = { 0, "" };
	char big[MVM_IMAGE_MAX + 2];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(mvm_config_image_check(ok[i], strlen(ok[i]), &e),
		    0, "%s: %s", ok[i], e.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(mvm_config_image_check(bad[i], strlen(bad[i]),
		    &e), -EINVAL, "%s", bad[i]);
		msg_has(&e, "image reference \"");
	}
	cr_assert_eq(mvm_config_image_check("a\0b", 3, &e), -EINVAL);
	msg_has(&e, "\\x00");
	cr_assert_eq(mvm_config_image_check("", 0, &e), -EINVAL);
	memset(big, 'a', sizeof(big));
	cr_assert_eq(mvm_config_image_check(big, MVM_IMAGE_MAX, NULL), 0);
	cr_assert_eq(mvm_config_image_check(big, MVM_IMAGE_MAX + 1, &e),
	    -EINVAL);
	msg_has(&e, "is 256 bytes; the limit is 255");
}

Test(config, empty_image_means_none)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	strcpy(p.image, "debian:12");
	cr_assert_eq(pool_text(&p, "image=", NULL), 0);
	cr_assert_str_eq(p.image, "");
}

Test(config, apply_is_all_or_nothing)
{
	struct mvm_pool p, before;
	struct mvm_error e = { 0, "" };

	mvm_pool_init(&p);
	before = p;
	cr_assert_eq(pool_text(&p, "vcpus=4\nmem_mib=512\n# note\n\n"
	    "image=../etc\nmax_vcpus=1\n", &e), -EINVAL);
	msg_has(&e, "line 5: image reference \"../etc\"");
	cr_assert(pool_eq(&p, &before));
	cr_assert_eq(pool_text(&p, "vcpus=4\nmem_mib=512\n# note\n\n"
	    "image=debian:12\n", &e), 0, "%s", e.msg);
	cr_assert_eq(p.vcpus, 4);
	cr_assert_eq(p.mem_mib, 512);
	cr_assert_str_eq(p.image, "debian:12");
	/* Absent keys keep their values. */
	cr_assert_eq(p.runtime.min_running_seconds, 60);
}

Test(config, apply_reports_line_numbers)
{
	struct mvm_pool p;
	struct mvm_error e = { 0, "" };

	mvm_pool_init(&p);
	cr_assert_eq(pool_text(&p, "vcpus=2\n\nvcpus=64\n", &e), -EINVAL);
	msg_has(&e, "line 3: ");
	cr_assert_eq(pool_text(&p, "# a\nfoo=1\n", &e), -EINVAL);
	msg_has(&e, "line 2: unknown pool config key \"foo\"");
	cr_assert_eq(pool_text(&p, "vcpus=2\nmem_mib=64\nvcpus=3", &e),
	    -EINVAL);
	msg_has(&e, "line 3: key vcpus is given twice (lines 1 and 3)");
	cr_assert_eq(pool_text(&p, "vcpus=2\nbroken\n", &e), -EINVAL);
	msg_has(&e, "line 2: line \"broken\" has no '='");
}

Test(config, apply_refuses_bad_input)
{
	static const struct {
		const char	*text;
		size_t		 len;
	} bad[] = {
		{ "", 0 }, { "\n\n", 2 }, { "# only a comment\n", 17 },
		{ "vcpus=2\r\n", 9 }, { "vcpus=2\0", 8 },
		{ "vcpus=\xff\n", 8 }, { "image=a/../b\n", 13 },
		{ "vcpus=99999999999999999999\n", 27 },
		{ "vcpus=2 # comment\n", 18 }, { "x/y=1\n", 6 },
	};
	struct mvm_pool p, before;

	mvm_pool_init(&p);
	before = p;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mvm_error e = { 0, "" };

		cr_assert_eq(mvm_config_pool_apply_text(&p, bad[i].text,
		    bad[i].len, &e), -EINVAL, "case %zu", i);
		cr_assert_eq(e.code, EINVAL);
		cr_assert(pool_eq(&p, &before), "case %zu changed it", i);
	}
}

Test(config, huge_text)
{
	size_t n = 1 << 20;
	char *text = malloc(n);
	struct mvm_pool p;
	struct mvm_error e = { 0, "" };

	cr_assert_not_null(text);
	memset(text, '\n', n);
	memcpy(text + n - 8, "vcpus=3\n", 8);
	mvm_pool_init(&p);
	cr_assert_eq(mvm_config_pool_apply_text(&p, text, n, &e), 0, "%s",
	    e.msg);
	cr_assert_eq(p.vcpus, 3);
	memset(text, 'v', n);
	cr_assert_eq(mvm_config_pool_apply_text(&p, text, n, &e), -EINVAL);
	cr_assert_lt(strlen(e.msg), sizeof(e.msg));
	free(text);
}

Test(config, tenant_round_trip)
{
	struct mvm_tenant a, b;
	char t1[MVM_CONFIG_TEXT_MAX], t2[MVM_CONFIG_TEXT_MAX];
	struct mvm_error e = { 0, "" };
	int n;

	mvm_tenant_init(&a);
	strcpy(a.id, "acme");
	a.created_at = 12345;
	cr_assert_eq(tenant_text(&a, "net_id=4095\nuid=1000\ngid=0\n"
	    "pinned=yes\nmax_disk_gib=0\nmax_vcpus=4294967295\n", &e), 0,
	    "%s", e.msg);
	n = mvm_config_tenant_render(&a, t1, sizeof(t1));
	cr_assert_gt(n, 0);

	/* Writing back what you read is a no-op. */
	b = a;
	cr_assert_eq(mvm_config_tenant_apply_text(&b, t1, (size_t)n, &e), 0,
	    "%s", e.msg);
	cr_assert(tenant_eq(&a, &b));

	/* And onto a fresh tenant it reproduces the struct and the text. */
	mvm_tenant_init(&b);
	strcpy(b.id, "acme");
	b.created_at = 12345;
	cr_assert_eq(mvm_config_tenant_apply_text(&b, t1, (size_t)n, &e), 0,
	    "%s", e.msg);
	cr_assert(tenant_eq(&a, &b));
	cr_assert_eq(mvm_config_tenant_render(&b, t2, sizeof(t2)), n);
	cr_assert_str_eq(t1, t2);
}

Test(config, pool_round_trip)
{
	struct mvm_pool a, b;
	char t1[MVM_CONFIG_TEXT_MAX], t2[MVM_CONFIG_TEXT_MAX];
	struct mvm_error e = { 0, "" };
	int n;

	mvm_pool_init(&a);
	cr_assert_eq(pool_text(&a, "image=reg.local/app@sha256:00ff\n"
	    "vcpus=32\nmem_mib=1048576\ndata_disk_mib=4096\npinned=1\n"
	    "idle_cpu_percent=0\nwarm_after_idle_seconds=0\n", &e), 0, "%s",
	    e.msg);
	n = mvm_config_pool_render(&a, t1, sizeof(t1));
	cr_assert_gt(n, 0);
	mvm_pool_init(&b);
	cr_assert_eq(mvm_config_pool_apply_text(&b, t1, (size_t)n, &e), 0,
	    "%s", e.msg);
	cr_assert(pool_eq(&a, &b));
	cr_assert_eq(mvm_config_pool_render(&b, t2, sizeof(t2)), n);
	cr_assert_str_eq(t1, t2);

	/* A fresh pool, without an image yet, round-trips too. */
	mvm_pool_init(&a);
	n = mvm_config_pool_render(&a, t1, sizeof(t1));
	cr_assert(strstr(t1, "\nimage=\n") != NULL);
	mvm_pool_init(&b);
	b.vcpus = 7;
	cr_assert_eq(mvm_config_pool_apply_text(&b, t1, (size_t)n, &e), 0,
	    "%s", e.msg);
	cr_assert(pool_eq(&a, &b));
}

static int
counts(const char *s, struct mvm_counts *c, struct mvm_error *e)
{
	return mvm_config_counts_parse(s, strlen(s), c, e);
}

Test(config, counts_parse)
{
	struct mvm_counts c = { 1, 2, 3 };
	struct mvm_error e = { 0, "" };

	cr_assert_eq(counts("running=3 warm=1 sleeping=2\n", &c, &e), 0);
	cr_assert_eq(c.running, 3);
	cr_assert_eq(c.warm, 1);
	cr_assert_eq(c.sleeping, 2);
	cr_assert_eq(counts("sleeping=0\nrunning=100", &c, &e), 0);
	cr_assert_eq(c.running, 100);
	cr_assert_eq(c.warm, 1, "absent keys keep their value");
	cr_assert_eq(c.sleeping, 0);
	cr_assert_eq(counts("# desired\n\twarm=5  \n\n", &c, &e), 0);
	cr_assert_eq(c.warm, 5);
}

Test(config, counts_refused)
{
	static const char *const bad[] = {
		"", "\n", "# nothing", "running=101", "running=-1",
		"running=3 running=4", "running=3\nrunning=3", "stopped=1",
		"running", "running=3,warm=1", "running=3\r", "running= 3",
		"running=3 # comment", "running=1\xff", "Running=1",
	};
	struct mvm_counts c = { 1, 2, 3 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mvm_error e = { 0, "" };

		cr_assert_eq(counts(bad[i], &c, &e), -EINVAL, "%s", bad[i]);
		cr_assert_eq(c.running, 1);
		cr_assert_eq(c.warm, 2);
		cr_assert_eq(c.sleeping, 3);
	}
}

Test(config, counts_sentences)
{
	struct mvm_counts c = { 0, 0, 0 };
	struct mvm_error e = { 0, "" };

	cr_assert_eq(counts("warm=1 running=2 warm=3", &c, &e), -EINVAL);
	msg_has(&e, "desired key warm is given twice");
	cr_assert_eq(counts("running=1 stopped=2", &c, &e), -EINVAL);
	msg_has(&e, "unknown desired key \"stopped\"");
	cr_assert_eq(counts("running=500", &c, &e), -EINVAL);
	msg_has(&e, "running=500 is out of range; it must be from 0 to 100");
	cr_assert_eq(c.running, 0);
}

Test(config, counts_render_round_trip)
{
	struct mvm_counts a = { 3, 1, 2 }, b = { 0, 0, 0 };
	char buf[64];
	int n;

	n = mvm_config_counts_render(&a, buf, sizeof(buf));
	cr_assert_str_eq(buf, "running=3 warm=1 sleeping=2\n");
	cr_assert_eq(n, (int)strlen(buf));
	cr_assert_eq(mvm_config_counts_parse(buf, (size_t)n, &b, NULL), 0);
	cr_assert_eq(b.running, 3);
	cr_assert_eq(b.warm, 1);
	cr_assert_eq(b.sleeping, 2);
	cr_assert_eq(mvm_config_counts_render(&a, buf, 10), -ENOSPC);
}
