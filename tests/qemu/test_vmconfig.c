/*
 * test_vmconfig.c: the configuration model of mvm-qemu and the QEMU command
 * line it becomes, without running anything.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "launch.h"
#include "vmconfig.h"

static struct vmm_config c;

static void
setup(void)
{
	cr_assert_eq(vmm_config_init(&c), 0);
}

static void
teardown(void)
{
	vmm_config_free(&c);
}

TestSuite(vmconfig, .init = setup, .fini = teardown);

static int
apply(enum vmm_resource r, const char *id, const char *json, bool patch,
    struct mvm_error *e)
{
	cJSON *body = cJSON_Parse(json);
	int rc;

	cr_assert_not_null(body, "bad test JSON %s", json);
	rc = vmm_config_apply(&c, r, id, body, patch, e);
	cJSON_Delete(body);
	return rc;
}

Test(vmconfig, nested_rate_limiter_fields_are_checked)
{
	struct mvm_error e = { 0 };

	cr_expect_eq(apply(VMM_RES_DRIVE, "d", "{\"drive_id\":\"d\","
	    "\"path_on_host\":\"/d\",\"is_root_device\":false,"
	    "\"rate_limiter\":{\"bandwidth\":{\"size\":1,\"refill_time\":1}}}",
	    false, &e), 0, "%s", e.msg);
	cr_expect_eq(apply(VMM_RES_DRIVE, "d", "{\"drive_id\":\"d\","
	    "\"path_on_host\":\"/d\",\"is_root_device\":false,"
	    "\"rate_limiter\":{\"bandwidth\":{\"size\":1}}}", false, &e),
	    -EINVAL);
	cr_expect(strstr(e.msg, "missing field `refill_time` in TokenBucket"),
	    "%s", e.msg);
	cr_expect_eq(apply(VMM_RES_DRIVE, "d", "{\"drive_id\":\"d\","
	    "\"path_on_host\":\"/d\",\"is_root_device\":false,"
	    "\"rate_limiter\":{\"bandwidth\":{\"size\":-1,\"refill_time\":1}}}",
	    false, &e), -EINVAL);
}

Test(vmconfig, failed_apply_changes_nothing)
{
	struct mvm_error e = { 0 };

	cr_assert_eq(apply(VMM_RES_MACHINE, NULL,
	    "{\"vcpu_count\":2,\"mem_size_mib\":256}", false, &e), 0);
	cr_assert_eq(apply(VMM_RES_MACHINE, NULL, "{\"vcpu_count\":99}", true,
	    &e), -EINVAL);
	cr_expect_eq(vmm_config_vcpus(&c), 2);
	cr_expect_eq(vmm_config_mem_mib(&c), 256);
	cr_expect(vmm_config_touched(&c));
}

/*
 * A device PUT again replaces the old one where it stands. Replacing one in
 * the middle used to go through cJSON_InsertItemInArray, which Debian's
 * cJSON refuses anywhere but at the head: the device was dropped.
 */
Test(vmconfig, replacing_a_middle_device_keeps_it_in_place)
{
	static const char *const ids[] = { "eth0", "eth1", "eth2" };
	char body[160], id[8];
	struct mvm_error e = { 0 };
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"iface_id\":\"%s\","
		    "\"host_dev_name\":\"tap%d\"}", ids[i], i);
		cr_assert_eq(apply(VMM_RES_NET, ids[i], body, false, &e), 0,
		    "%s", e.msg);
		snprintf(body, sizeof(body), "{\"drive_id\":\"d%d\","
		    "\"path_on_host\":\"/d%d\",\"is_root_device\":false}", i,
		    i);
		snprintf(id, sizeof(id), "d%d", i);
		cr_assert_eq(apply(VMM_RES_DRIVE, id, body, false, &e), 0,
		    "%s", e.msg);
	}
	cr_assert_eq(apply(VMM_RES_NET, "eth1", "{\"iface_id\":\"eth1\","
	    "\"host_dev_name\":\"tap9\"}", false, &e), 0, "%s", e.msg);
	cr_assert_eq(apply(VMM_RES_DRIVE, "d1", "{\"drive_id\":\"d1\","
	    "\"path_on_host\":\"/new\",\"is_root_device\":false}", false,
	    &e), 0, "%s", e.msg);
	cr_assert_eq(cJSON_GetArraySize(c.nets), 3);
	cr_assert_eq(cJSON_GetArraySize(c.drives), 3);
	for (i = 0; i < 3; i++)
		cr_expect_str_eq(vmm_json_str(cJSON_GetArrayItem(c.nets, i),
		    "iface_id", ""), ids[i]);
	cr_expect_str_eq(vmm_json_str(cJSON_GetArrayItem(c.nets, 1),
	    "host_dev_name", ""), "tap9");
	cr_expect_str_eq(vmm_json_str(cJSON_GetArrayItem(c.drives, 1),
	    "drive_id", ""), "d1");
	cr_expect_str_eq(vmm_json_str(cJSON_GetArrayItem(c.drives, 1),
	    "path_on_host", ""), "/new");
}

Test(vmconfig, logger_metrics_mmds_do_not_count_as_configuration)
{
	cr_assert_eq(apply(VMM_RES_LOGGER, NULL, "{\"level\":\"WARNING\"}",
	    false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_METRICS, NULL, "{\"metrics_path\":\"/m\"}",
	    false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_MMDS, NULL, "{\"a\":1}", false, NULL), 0);
	cr_expect(!vmm_config_touched(&c));
}

Test(vmconfig, json_round_trip_keeps_devices)
{
	struct vmm_config back;
	cJSON *doc, *doc2;

	cr_assert_eq(apply(VMM_RES_BOOT, NULL, "{\"kernel_image_path\":\"/k\"}",
	    false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_DRIVE, "data", "{\"drive_id\":\"data\","
	    "\"path_on_host\":\"/d\",\"is_root_device\":false}", false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_NET, "eth0", "{\"iface_id\":\"eth0\","
	    "\"host_dev_name\":\"tap0\"}", false, NULL), 0);
	doc = vmm_config_to_json(&c);
	cr_assert_not_null(doc);
	cr_assert_eq(vmm_config_init(&back), 0);
	cr_assert_eq(vmm_config_load_json(&back, doc, NULL), 0);
	doc2 = vmm_config_to_json(&back);
	cr_expect(cJSON_Compare(doc, doc2, true));
	cJSON_Delete(doc);
	cJSON_Delete(doc2);
	vmm_config_free(&back);
}

static bool
has_arg(char **argv, const char *want)
{
	for (char **p = argv; *p != NULL; p++)
		if (strcmp(*p, want) == 0)
			return true;
	return false;
}

static bool
has_prefix(char **argv, const char *want)
{
	for (char **p = argv; *p != NULL; p++)
		if (strncmp(*p, want, strlen(want)) == 0)
			return true;
	return false;
}

Test(vmconfig, qemu_command_line)
{
	struct mvm_error e = { 0 };
	char **argv = NULL;

	cr_expect_lt(vmm_launch_argv(&c, MVM_ACCEL_TCG, "/run/x", false, &argv,
	    &e), 0, "started without a kernel");
	cr_assert_eq(apply(VMM_RES_MACHINE, NULL,
	    "{\"vcpu_count\":2,\"mem_size_mib\":256}", false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_BOOT, NULL, "{\"kernel_image_path\":\"/k\","
	    "\"boot_args\":\"console=ttyS0\"}", false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_DRIVE, "root", "{\"drive_id\":\"root\","
	    "\"path_on_host\":\"/a,b.ext4\",\"is_root_device\":true,"
	    "\"is_read_only\":true}", false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_NET, "eth0", "{\"iface_id\":\"eth0\","
	    "\"host_dev_name\":\"mvmtap0\",\"guest_mac\":\"06:00:00:00:00:01\"}",
	    false, NULL), 0);
	cr_assert_eq(apply(VMM_RES_VSOCK, NULL, "{\"guest_cid\":3,"
	    "\"uds_path\":\"/v\"}", false, NULL), 0);
	cr_assert_gt(vmm_launch_argv(&c, MVM_ACCEL_TCG, "/run/x", true, &argv,
	    &e), 0, "%s", e.msg);
	cr_expect(has_arg(argv, "tcg"));
	cr_expect(has_arg(argv, "2"));
	cr_expect(has_arg(argv, "256M"));
	cr_expect(has_prefix(argv, "console=ttyS0 root=/dev/vda ro "
	    "tsc_early_khz="));
	cr_expect(has_arg(argv, "id=drive0,file=/a,,b.ext4,format=raw,if=none,"
	    "readonly=on,cache=unsafe"));
	cr_expect(has_arg(argv, "tap,id=net0,ifname=mvmtap0,script=no,"
	    "downscript=no"));
	cr_expect(has_arg(argv, "virtio-net-device,netdev=net0,"
	    "mac=06:00:00:00:00:01"));
	cr_expect(has_arg(argv, "virtserialport,bus=vser0.0,nr=1,"
	    "chardev=vsock52,name=mvm.vsock.52"));
	cr_expect(has_arg(argv, "defer"));
	cr_expect(has_arg(argv, "i8042"));
	vmm_launch_argv_free(argv);
}
