/*
 * test_api.c: Firecracker API conformance of mvm-qemu over its real unix
 * socket, before any guest runs: phases, unknown fields, malformed JSON,
 * wrong types, and the snapshot rules that need no guest.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

static struct vmmh h;

static void
setup(void)
{
	vmmh_init(&h);
	vmmh_spawn(&h, "api");
}

static void
teardown(void)
{
	cr_expect_eq(vmmh_stop(&h), 0, "mvm-qemu did not exit cleanly; see "
	    "%s", h.log);
	vmmh_cleanup(&h);
}

TestSuite(api, .init = setup, .fini = teardown, .timeout = 60);

Test(api, instance_info_and_defaults)
{
	char *r;

	cr_assert_eq(vmmh_api(&h, "GET", "/", NULL, &r), 200);
	cr_expect(strstr(r, "\"state\":\"Not started\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"id\":\"api\"") != NULL, "%s", r);
	free(r);
	cr_assert_eq(vmmh_api(&h, "GET", "/machine-config", NULL, &r), 200);
	cr_expect(strstr(r, "\"vcpu_count\":1") != NULL, "%s", r);
	cr_expect(strstr(r, "\"mem_size_mib\":128") != NULL, "%s", r);
	free(r);
	cr_assert_eq(vmmh_api(&h, "GET", "/version", NULL, &r), 200);
	cr_expect(strstr(r, "firecracker_version") != NULL, "%s", r);
	free(r);
}

Test(api, machine_config_put_patch_get)
{
	char *r;

	cr_assert_eq(vmmh_api(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,"
	    "\"track_dirty_pages\":true}", NULL), 204);
	cr_assert_eq(vmmh_api(&h, "PATCH", "/machine-config",
	    "{\"mem_size_mib\":512}", NULL), 204);
	cr_assert_eq(vmmh_api(&h, "GET", "/machine-config", NULL, &r), 200);
	cr_expect(strstr(r, "\"vcpu_count\":2") != NULL, "%s", r);
	cr_expect(strstr(r, "\"mem_size_mib\":512") != NULL, "%s", r);
	cr_expect(strstr(r, "\"track_dirty_pages\":true") != NULL, "%s", r);
	free(r);
	/* PUT resets what it does not name to the defaults. */
	cr_assert_eq(vmmh_api(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":1,\"mem_size_mib\":128}", NULL), 204);
	cr_assert_eq(vmmh_api(&h, "GET", "/machine-config", NULL, &r), 200);
	cr_expect(strstr(r, "\"track_dirty_pages\":false") != NULL, "%s", r);
	free(r);
}

Test(api, bad_bodies_are_400_with_a_fault_message)
{
	cr_expect_eq(vmmh_fault(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":1,\"mem_size_mib\":128,\"turbo\":true}",
	    "unknown field `turbo`"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":1,", "not valid JSON"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":\"2\",\"mem_size_mib\":128}",
	    "`vcpu_count` of MachineConfiguration must be an integer"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":33,\"mem_size_mib\":128}", "outside 1..32"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":3,\"mem_size_mib\":128,\"smt\":true}",
	    "must be 1 or even"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/machine-config",
	    "{\"mem_size_mib\":128}", "missing field `vcpu_count`"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/boot-source", "[1,2]",
	    "expected a JSON object"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/boot-source", "",
	    "body is empty"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/drives/rootfs",
	    "{\"drive_id\":\"other\",\"path_on_host\":\"/x\","
	    "\"is_root_device\":true,\"is_read_only\":false}",
	    "does not match"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/drives/rootfs",
	    "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/x\","
	    "\"is_root_device\":true,\"cache_type\":\"Fast\"}",
	    "unknown variant `Fast`"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/network-interfaces/eth0",
	    "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
	    "\"guest_mac\":\"06:00:zz:00:00:01\"}", "guest_mac"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/vsock",
	    "{\"guest_cid\":2,\"uds_path\":\"/tmp/v.sock\"}", "outside 3.."),
	    400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/actions",
	    "{\"action_type\":\"Reboot\"}", "unknown variant `Reboot`"), 400);
	cr_expect_eq(vmmh_fault(&h, "PATCH", "/vm", "{\"state\":\"Sleeping\"}",
	    "unknown variant"), 400);
}

Test(api, unknown_paths_and_methods)
{
	cr_expect_eq(vmmh_fault(&h, "GET", "/nope", NULL,
	    "Invalid request method and/or path: GET /nope."), 400);
	cr_expect_eq(vmmh_fault(&h, "DELETE", "/machine-config", NULL,
	    "Invalid request method and/or path"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/drives/a/b", "{}",
	    "Invalid request method and/or path"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/balloon",
	    "{\"amount_mib\":0,\"deflate_on_oom\":true}", "not supported"), 400);
}

Test(api, devices_show_in_vm_config)
{
	char *r;

	cr_assert_eq(vmmh_api(&h, "PUT", "/boot-source",
	    "{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\"}",
	    NULL), 204);
	cr_assert_eq(vmmh_api(&h, "PUT", "/drives/data",
	    "{\"drive_id\":\"data\",\"path_on_host\":\"/d.img\","
	    "\"is_root_device\":false,\"is_read_only\":true}", NULL), 204);
	cr_assert_eq(vmmh_api(&h, "PUT", "/drives/rootfs",
	    "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.ext4\","
	    "\"is_root_device\":true,\"is_read_only\":false}", NULL), 204);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/drives/second",
	    "{\"drive_id\":\"second\",\"path_on_host\":\"/s.ext4\","
	    "\"is_root_device\":true}", "A root block device already exists"),
	    400);
	cr_assert_eq(vmmh_api(&h, "PUT", "/network-interfaces/eth0",
	    "{\"iface_id\":\"eth0\",\"host_dev_name\":\"mvmtap0\","
	    "\"guest_mac\":\"06:00:ac:10:00:02\"}", NULL), 204);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/network-interfaces/eth1",
	    "{\"iface_id\":\"eth1\",\"host_dev_name\":\"mvmtap0\"}",
	    "already in use"), 400);
	cr_assert_eq(vmmh_api(&h, "PUT", "/vsock",
	    "{\"guest_cid\":3,\"uds_path\":\"/tmp/x.vsock\"}", NULL), 204);
	cr_assert_eq(vmmh_api(&h, "PUT", "/mmds/config",
	    "{\"network_interfaces\":[\"eth0\"],\"version\":\"V2\"}", NULL),
	    204);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/mmds/config",
	    "{\"network_interfaces\":[\"eth9\"]}", "eth9"), 400);
	cr_assert_eq(vmmh_api(&h, "GET", "/vm/config", NULL, &r), 200);
	cr_expect(strstr(r, "\"kernel_image_path\":\"/k\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"host_dev_name\":\"mvmtap0\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"uds_path\":\"/tmp/x.vsock\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"mmds-config\"") != NULL, "%s", r);
	/* The root device comes first, as it becomes /dev/vda. */
	cr_expect(strstr(r, "\"drives\":[{\"drive_id\":\"rootfs\"") != NULL,
	    "%s", r);
	free(r);
}

Test(api, mmds_store_put_patch_get)
{
	char *r;

	cr_expect_eq(vmmh_api(&h, "GET", "/mmds", NULL, NULL), 404);
	cr_assert_eq(vmmh_api(&h, "PUT", "/mmds",
	    "{\"latest\":{\"meta-data\":{\"id\":\"i-1\",\"zone\":\"a\"}}}",
	    NULL), 204);
	cr_assert_eq(vmmh_api(&h, "PATCH", "/mmds",
	    "{\"latest\":{\"meta-data\":{\"zone\":null,\"role\":\"web\"}}}",
	    NULL), 204);
	cr_assert_eq(vmmh_api(&h, "GET", "/mmds", NULL, &r), 200);
	cr_expect(strstr(r, "\"id\":\"i-1\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"role\":\"web\"") != NULL, "%s", r);
	cr_expect(strstr(r, "zone") == NULL, "%s", r);
	free(r);
}

Test(api, logger_and_metrics)
{
	char body[600], path[400], *r;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/api-put.log", h.dir);
	snprintf(body, sizeof(body), "{\"log_path\":\"%s\",\"level\":\"debug\","
	    "\"show_level\":true}", path);
	cr_assert_eq(vmmh_api(&h, "PUT", "/logger", body, NULL), 204);
	cr_assert_eq(vmmh_api(&h, "GET", "/", NULL, NULL), 200);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_gt(st.st_size, 0, "PUT /logger: no line in %s", path);

	cr_expect_eq(vmmh_fault(&h, "PUT", "/actions",
	    "{\"action_type\":\"FlushMetrics\"}", "not initialized"), 400);
	snprintf(path, sizeof(path), "%s/metrics.json", h.dir);
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\",\"emit_id\":true,"
	    "\"properties\":{\"tenant\":\"t1\"}}", path);
	cr_assert_eq(vmmh_api(&h, "PUT", "/metrics", body, NULL), 204);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/metrics", body,
	    "Reinitialization of metrics not allowed"), 400);
	cr_assert_eq(vmmh_api(&h, "PUT", "/actions",
	    "{\"action_type\":\"FlushMetrics\"}", NULL), 204);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	r = calloc(1, 4096);
	cr_assert_not_null(fgets(r, 4096, f));
	fclose(f);
	cr_expect(strstr(r, "\"id\":\"api\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"tenant\":\"t1\"") != NULL, "%s", r);
	cr_expect(strstr(r, "\"latencies_us\"") != NULL, "%s", r);
	free(r);
}

Test(api, post_boot_actions_before_boot_are_refused)
{
	cr_expect_eq(vmmh_fault(&h, "PATCH", "/vm", "{\"state\":\"Paused\"}",
	    "not supported before starting"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/actions",
	    "{\"action_type\":\"SendCtrlAltDel\"}",
	    "not supported before starting"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/create",
	    "{\"snapshot_path\":\"/tmp/s\",\"mem_file_path\":\"/tmp/m\"}",
	    "not supported before starting"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/create",
	    "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"/tmp/s\","
	    "\"mem_file_path\":\"/tmp/m\"}", "Diff snapshots are not supported"),
	    400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/actions",
	    "{\"action_type\":\"InstanceStart\"}",
	    "Cannot start microvm without kernel configuration"), 400);
}

Test(api, snapshot_load_rules)
{
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/tmp/s\",\"mem_backend\":{\"backend_type\":"
	    "\"Uffd\",\"backend_path\":\"/tmp/uffd.sock\"}}", "Uffd"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/tmp/s\"}", "Exactly one of mem_backend"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/nonexistent/s\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"/nonexistent/m\"},"
	    "\"resume_vm\":\"yes\"}", "`resume_vm` of SnapshotLoadParams must "
	    "be a boolean"), 400);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/nonexistent/s\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"/nonexistent/m\"},"
	    "\"colour\":1}", "unknown field `colour`"), 400);
	/* The logger and metrics may precede a load; anything else may not. */
	cr_assert_eq(vmmh_api(&h, "PUT", "/machine-config",
	    "{\"vcpu_count\":1,\"mem_size_mib\":128}", NULL), 204);
	cr_expect_eq(vmmh_fault(&h, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/tmp/s\",\"mem_backend\":{\"backend_type\":"
	    "\"File\",\"backend_path\":\"/tmp/m\"}}",
	    "Loading a microVM snapshot not allowed after configuring "
	    "boot-specific resources"), 400);
}

Test(api, oversized_body)
{
	size_t n = 60000;
	char *big = malloc(n + 64);

	cr_assert_not_null(big);
	strcpy(big, "{\"latest\":\"");
	memset(big + strlen(big), 'x', n);
	strcpy(big + 11 + n, "\"}");
	cr_expect_eq(vmmh_fault(&h, "PUT", "/mmds", big, "51200"), 400);
	free(big);
}
