/*
 * test_fc.c: the Firecracker API client against a real HTTP server on a
 * real unix socket (fake_vmm.c). Request bodies are compared as whole JSON
 * documents, so a missing, misspelt or extra field fails the test.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fake_vmm.h"
#include "fc.h"
#include "tmpdir.h"

static struct fake_vmm vmm;
static struct mvm_fc *fc;
static struct mvm_error err;

static void
setup(void)
{
	cr_assert_eq(fake_vmm_start(&vmm), 0);
	cr_assert_eq(mvm_fc_open(vmm.sock, &fc, &err), 0, "%s", err.msg);
	mvm_error_clear(&err);
}

static void
teardown(void)
{
	mvm_fc_close(fc);
	fc = NULL;
	fake_vmm_stop(&vmm);
}

TestSuite(fc, .init = setup, .fini = teardown);

/* Request `i` was `method path` with exactly the JSON document `want`. */
static void
expect_req(size_t i, const char *method, const char *path, const char *want)
{
	struct fake_req *r;
	cJSON *got, *exp;

	cr_assert_lt(i, vmm.nreqs, "request %zu was never sent", i);
	r = &vmm.reqs[i];
	cr_expect_str_eq(r->method, method);
	cr_expect_str_eq(r->path, path);
	if (want == NULL) {
		cr_expect_str_eq(r->body, "", "%s %s sent a body", method,
		    path);
		return;
	}
	got = cJSON_Parse(r->body);
	exp = cJSON_Parse(want);
	cr_assert_not_null(exp, "bad expectation %s", want);
	cr_expect(cJSON_Compare(got, exp, true), "%s %s: sent %s, want %s",
	    method, path, r->body, want);
	cJSON_Delete(got);
	cJSON_Delete(exp);
}

Test(fc, logger_metrics_machine_boot)
{
	struct mvm_fc_machine m = { .vcpu_count = 2, .mem_size_mib = 256,
	    .track_dirty_pages = true };
	struct mvm_fc_boot full = { "/k/vmlinux", "/k/initrd",
	    "console=ttyS0 reboot=k" };
	struct mvm_fc_boot bare = { .kernel_image_path = "/k/vmlinux" };

	cr_assert_eq(mvm_fc_put_logger(fc, "/run/log.fifo", MVM_FC_LOG_WARNING,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_fc_put_metrics(fc, "/run/metrics.fifo", &err), 0);
	cr_assert_eq(mvm_fc_put_machine_config(fc, &m, &err), 0);
	cr_assert_eq(mvm_fc_put_boot_source(fc, &full, &err), 0);
	cr_assert_eq(mvm_fc_put_boot_source(fc, &bare, &err), 0);

	cr_assert_eq(vmm.nreqs, 5);
	expect_req(0, "PUT", "/logger",
	    "{\"log_path\":\"/run/log.fifo\",\"level\":\"Warning\"}");
	expect_req(1, "PUT", "/metrics",
	    "{\"metrics_path\":\"/run/metrics.fifo\"}");
	expect_req(2, "PUT", "/machine-config",
	    "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,"
	    "\"track_dirty_pages\":true}");
	expect_req(3, "PUT", "/boot-source",
	    "{\"kernel_image_path\":\"/k/vmlinux\","
	    "\"initrd_path\":\"/k/initrd\","
	    "\"boot_args\":\"console=ttyS0 reboot=k\"}");
	expect_req(4, "PUT", "/boot-source",
	    "{\"kernel_image_path\":\"/k/vmlinux\"}");
}

Test(fc, devices)
{
	struct mvm_fc_drive d = { "rootfs", "/img/root.ext4", true, false };
	struct mvm_fc_drive ro = { "data_1", "/img/data", false, true };
	struct mvm_fc_net n = { "eth0", "mvm-t1-0", "06:00:AC:10:00:02" };
	struct mvm_fc_net nomac = { .iface_id = "eth1",
	    .host_dev_name = "tap1" };
	const char *ifaces[] = { "eth0", "eth1" };

	cr_assert_eq(mvm_fc_put_drive(fc, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_fc_put_drive(fc, &ro, &err), 0);
	cr_assert_eq(mvm_fc_put_network_interface(fc, &n, &err), 0);
	cr_assert_eq(mvm_fc_put_network_interface(fc, &nomac, &err), 0);
	cr_assert_eq(mvm_fc_put_vsock(fc, 3, "/run/v.sock", &err), 0);
	cr_assert_eq(mvm_fc_put_mmds_config(fc, ifaces, 2, &err), 0);
	cr_assert_eq(mvm_fc_put_mmds(fc, "{\"latest\":{\"meta-data\":"
	    "{\"ami-id\":\"x\"}}}", &err), 0);

	cr_assert_eq(vmm.nreqs, 7);
	expect_req(0, "PUT", "/drives/rootfs",
	    "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/img/root.ext4\","
	    "\"is_root_device\":true,\"is_read_only\":false}");
	expect_req(1, "PUT", "/drives/data_1",
	    "{\"drive_id\":\"data_1\",\"path_on_host\":\"/img/data\","
	    "\"is_root_device\":false,\"is_read_only\":true}");
	expect_req(2, "PUT", "/network-interfaces/eth0",
	    "{\"iface_id\":\"eth0\",\"host_dev_name\":\"mvm-t1-0\","
	    "\"guest_mac\":\"06:00:AC:10:00:02\"}");
	expect_req(3, "PUT", "/network-interfaces/eth1",
	    "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\"}");
	expect_req(4, "PUT", "/vsock",
	    "{\"guest_cid\":3,\"uds_path\":\"/run/v.sock\"}");
	expect_req(5, "PUT", "/mmds/config",
	    "{\"network_interfaces\":[\"eth0\",\"eth1\"],\"version\":\"V2\"}");
	expect_req(6, "PUT", "/mmds",
	    "{\"latest\":{\"meta-data\":{\"ami-id\":\"x\"}}}");
}

Test(fc, actions_pause_snapshots)
{
	struct mvm_fc_snapshot s = { "/snap/vm.state", "/snap/vm.mem" };

	cr_assert_eq(mvm_fc_action(fc, MVM_FC_INSTANCE_START, &err), 0);
	cr_assert_eq(mvm_fc_action(fc, MVM_FC_SEND_CTRL_ALT_DEL, &err), 0);
	cr_assert_eq(mvm_fc_action(fc, MVM_FC_FLUSH_METRICS, &err), 0);
	cr_assert_eq(mvm_fc_patch_vm(fc, MVM_FC_VM_PAUSED, &err), 0);
	cr_assert_eq(mvm_fc_patch_vm(fc, MVM_FC_VM_RESUMED, &err), 0);
	cr_assert_eq(mvm_fc_snapshot_create(fc, &s, &err), 0);
	cr_assert_eq(mvm_fc_snapshot_load(fc, &s, true, &err), 0);
	cr_assert_eq(mvm_fc_snapshot_load(fc, &s, false, &err), 0);

	cr_assert_eq(vmm.nreqs, 8);
	expect_req(0, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}");
	expect_req(1, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}");
	expect_req(2, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}");
	expect_req(3, "PATCH", "/vm", "{\"state\":\"Paused\"}");
	expect_req(4, "PATCH", "/vm", "{\"state\":\"Resumed\"}");
	expect_req(5, "PUT", "/snapshot/create",
	    "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"/snap/vm.state\","
	    "\"mem_file_path\":\"/snap/vm.mem\"}");
	expect_req(6, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/snap/vm.state\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"/snap/vm.mem\"},"
	    "\"resume_vm\":true}");
	expect_req(7, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/snap/vm.state\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"/snap/vm.mem\"},"
	    "\"resume_vm\":false}");
}

Test(fc, instance_info)
{
	struct mvm_fc_info info;

	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0, "%s",
	    err.msg);
	cr_expect_str_eq(info.id, "anonymous-instance");
	cr_expect_str_eq(info.app_name, "Firecracker");
	cr_expect_str_eq(info.vmm_version, "1.17.0");
	cr_expect_eq(info.state, MVM_FC_STATE_NOT_STARTED);
	expect_req(0, "GET", "/", NULL);

	vmm.info = "{\"id\":\"t-p-i\",\"state\":\"Paused\","
	    "\"vmm_version\":\"0.1.0\",\"app_name\":\"mvm-qemu\"}";
	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0);
	cr_expect_str_eq(info.id, "t-p-i");
	cr_expect_str_eq(info.app_name, "mvm-qemu");
	cr_expect_eq(info.state, MVM_FC_STATE_PAUSED);

	vmm.info = "{\"id\":\"a\",\"state\":\"Running\","
	    "\"vmm_version\":\"1\",\"app_name\":\"x\"}";
	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0);
	cr_expect_eq(info.state, MVM_FC_STATE_RUNNING);
}

Test(fc, instance_info_malformed)
{
	struct mvm_fc_info info;

	vmm.info = "{\"id\":\"a\",\"state\":\"Sleeping\","
	    "\"vmm_version\":\"1\",\"app_name\":\"x\"}";
	cr_expect_eq(mvm_fc_get_instance_info(fc, &info, &err), -EPROTO);
	cr_expect(strstr(err.msg, "Sleeping") != NULL, "%s", err.msg);

	vmm.info = "{\"id\":\"a\",\"state\":\"Running\",\"app_name\":\"x\"}";
	cr_expect_eq(mvm_fc_get_instance_info(fc, &info, &err), -EPROTO);
	cr_expect(strstr(err.msg, "vmm_version") != NULL, "%s", err.msg);

	vmm.info = "not json";
	cr_expect_eq(mvm_fc_get_instance_info(fc, &info, &err), -EPROTO);
}

Test(fc, vm_config)
{
	struct mvm_fc_machine m;

	vmm.vm_config = "{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
	    "\"machine-config\":{\"vcpu_count\":4,\"mem_size_mib\":1024,"
	    "\"smt\":false,\"track_dirty_pages\":true},\"drives\":[]}";
	cr_assert_eq(mvm_fc_get_vm_config(fc, &m, &err), 0, "%s", err.msg);
	cr_expect_eq(m.vcpu_count, 4);
	cr_expect_eq(m.mem_size_mib, 1024);
	cr_expect(m.track_dirty_pages);
	expect_req(0, "GET", "/vm/config", NULL);

	vmm.vm_config = "{\"machine-config\":{\"vcpu_count\":1.5,"
	    "\"mem_size_mib\":128}}";
	cr_expect_eq(mvm_fc_get_vm_config(fc, &m, &err), -EPROTO);
	vmm.vm_config = "{\"drives\":[]}";
	cr_expect_eq(mvm_fc_get_vm_config(fc, &m, &err), -EPROTO);
}

Test(fc, fault_message_reaches_error)
{
	struct mvm_fc_machine m = { .vcpu_count = 3, .mem_size_mib = 128 };

	vmm.status = 400;
	vmm.body = "{\"fault_message\":\"The vCPU number is invalid! The "
	    "vCPU number can only be 1 or an even number when SMT is "
	    "enabled.\"}";
	cr_assert_eq(mvm_fc_put_machine_config(fc, &m, &err), -EIO);
	cr_expect_eq(err.code, EIO);
	cr_expect_str_eq(err.msg, "PUT /machine-config: 400: The vCPU number "
	    "is invalid! The vCPU number can only be 1 or an even number "
	    "when SMT is enabled.");

	vmm.status = 503;
	vmm.body = "{\"error\":\"Too many open connections\"}";
	cr_assert_eq(mvm_fc_action(fc, MVM_FC_INSTANCE_START, &err), -EIO);
	cr_expect_str_eq(err.msg, "PUT /actions: 503: "
	    "{\"error\":\"Too many open connections\"}");

	/* The connection survives an error answer. */
	vmm.status = 0;
	cr_expect_eq(mvm_fc_action(fc, MVM_FC_INSTANCE_START, &err), 0);
	cr_expect_eq(vmm.connections, 1);
}

Test(fc, silent_vmm_times_out)
{
	struct mvm_fc_snapshot s = { "/s", "/m" };

	vmm.hang = true;
	mvm_fc_set_timeout_ms(fc, 300);
	cr_assert_eq(mvm_fc_action(fc, MVM_FC_INSTANCE_START, &err),
	    -ETIMEDOUT);
	cr_expect_eq(err.code, ETIMEDOUT);
	cr_expect(strncmp(err.msg, "PUT /actions: ", 14) == 0, "%s", err.msg);

	/* Snapshots follow the slow timeout, not the ordinary one. */
	mvm_fc_set_timeout_ms(fc, 60000);
	mvm_fc_set_slow_timeout_ms(fc, 300);
	cr_assert_eq(mvm_fc_snapshot_create(fc, &s, &err), -ETIMEDOUT);
	cr_expect(strncmp(err.msg, "PUT /snapshot/create: ", 22) == 0, "%s",
	    err.msg);
}

Test(fc, oversized_answer_is_rejected)
{
	struct mvm_fc_info info;

	vmm.big = 2 * MVM_FC_BODY_MAX;
	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), -EPROTO);
	cr_expect(strstr(err.msg, "limit") != NULL, "%s", err.msg);

	/* The handle recovers with a fresh connection. */
	vmm.big = 0;
	cr_expect_eq(mvm_fc_get_instance_info(fc, &info, &err), 0, "%s",
	    err.msg);
}

Test(fc, connection_is_reused)
{
	struct mvm_fc_info info;
	struct mvm_fc_machine m = { 1, 128, false };

	for (int i = 0; i < 5; i++) {
		cr_assert_eq(mvm_fc_put_machine_config(fc, &m, &err), 0);
		cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0);
	}
	cr_expect_eq(vmm.nreqs, 10);
	cr_expect_eq(vmm.connections, 1);
}

#define THREADS	4
#define CALLS	10

static void *
hammer(void *arg)
{
	struct mvm_fc_info info;
	long fails = 0;

	(void)arg;
	for (int i = 0; i < CALLS; i++) {
		if (i % 2 == 0)
			fails += mvm_fc_action(fc, MVM_FC_FLUSH_METRICS,
			    NULL) != 0;
		else
			fails += mvm_fc_get_instance_info(fc, &info,
			    NULL) != 0;
	}
	return (void *)fails;
}

Test(fc, concurrent_callers_are_serialised)
{
	pthread_t t[THREADS];
	void *fails;

	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], &fails);
		cr_expect_null(fails, "thread %d saw failures", i);
	}
	cr_expect_eq(vmm.nreqs, THREADS * CALLS);
	cr_expect_eq(vmm.max_inflight, 1);
	cr_expect_eq(vmm.connections, 1);
}

Test(fc, bad_arguments_send_nothing)
{
	struct mvm_fc_drive d = { "../vm", "/x", true, false };
	struct mvm_fc_net n = { "eth0/x", "tap0", NULL };
	struct mvm_fc_boot b = { NULL, NULL, NULL };
	const char *ifaces[] = { "eth 0" };

	cr_expect_eq(mvm_fc_put_drive(fc, &d, &err), -EINVAL);
	cr_expect(strstr(err.msg, "\"../vm\"") != NULL, "%s", err.msg);
	d.drive_id = "";
	cr_expect_eq(mvm_fc_put_drive(fc, &d, &err), -EINVAL);
	d.drive_id = "rootfs";
	d.path_on_host = NULL;
	cr_expect_eq(mvm_fc_put_drive(fc, &d, &err), -EINVAL);
	cr_expect_eq(mvm_fc_put_network_interface(fc, &n, &err), -EINVAL);
	cr_expect_eq(mvm_fc_put_boot_source(fc, &b, &err), -EINVAL);
	cr_expect_eq(mvm_fc_put_mmds_config(fc, ifaces, 1, &err), -EINVAL);
	cr_expect_eq(mvm_fc_put_mmds(fc, "[1,2]", &err), -EINVAL);
	cr_expect_eq(mvm_fc_put_mmds(fc, "{\"a\":", &err), -EINVAL);
	cr_expect_eq(mvm_fc_action(fc, (enum mvm_fc_action_type)7, &err),
	    -EINVAL);
	cr_expect_eq(vmm.nreqs, 0);
}

/* Tests without a server. */

Test(fc_nosrv, missing_socket)
{
	struct mvm_fc *c;
	struct mvm_error e;

	cr_assert_eq(mvm_fc_open("/nonexistent/mvm/api.sock", &c, &e), 0);
	cr_expect_eq(mvm_fc_action(c, MVM_FC_INSTANCE_START, &e), -ENOENT);
	cr_expect(strstr(e.msg, "/nonexistent/mvm/api.sock") != NULL, "%s",
	    e.msg);
	mvm_fc_close(c);
}

Test(fc_nosrv, nobody_listening)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct mvm_fc *c;
	struct mvm_error e;
	char dir[64];
	int fd;

	tmpdir_make(dir, sizeof(dir), "fc-test");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/api.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);	/* the socket file stays, with no listener */

	cr_assert_eq(mvm_fc_open(sun.sun_path, &c, &e), 0);
	cr_expect_eq(mvm_fc_patch_vm(c, MVM_FC_VM_PAUSED, &e), -ECONNREFUSED);
	cr_expect(strncmp(e.msg, "PATCH /vm: ", 11) == 0, "%s", e.msg);
	cr_expect_eq(mvm_fc_wait_ready(c, 100, &e), -ETIMEDOUT);
	mvm_fc_close(c);
	tmpdir_remove(dir);
}

Test(fc_nosrv, open_rejects_bad_paths)
{
	char path[200];
	struct mvm_fc *c;
	struct mvm_error e;

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	cr_expect_eq(mvm_fc_open(path, &c, &e), -ENAMETOOLONG);
	cr_expect_null(c);
	cr_expect_eq(mvm_fc_open("", &c, &e), -EINVAL);
}

/* A VMM that starts 150 ms late and then appears at `path`. */
struct late_vmm {
	struct fake_vmm	 v;
	char		 path[128];
	int		 rc;
};

static void *
start_late(void *arg)
{
	struct late_vmm *l = arg;
	struct timespec delay = { 0, 150 * 1000 * 1000 };

	nanosleep(&delay, NULL);
	if ((l->rc = fake_vmm_start(&l->v)) == 0 &&
	    rename(l->v.sock, l->path) < 0)
		l->rc = -errno;
	return NULL;
}

/* wait_ready() keeps probing while the socket does not exist yet. */
Test(fc_nosrv, wait_ready_sees_a_late_vmm)
{
	struct late_vmm late;
	struct mvm_fc *c;
	struct mvm_error e;
	pthread_t t;
	char dir[64];

	tmpdir_make(dir, sizeof(dir), "fc-test");
	snprintf(late.path, sizeof(late.path), "%s/api.sock", dir);
	cr_assert_eq(mvm_fc_open(late.path, &c, &e), 0);
	cr_expect_eq(mvm_fc_wait_ready(c, 50, &e), -ETIMEDOUT);
	cr_expect(strstr(e.msg, late.path) != NULL, "%s", e.msg);

	cr_assert_eq(pthread_create(&t, NULL, start_late, &late), 0);
	cr_expect_eq(mvm_fc_wait_ready(c, 10000, &e), 0, "%s", e.msg);
	pthread_join(t, NULL);
	cr_assert_eq(late.rc, 0);
	cr_expect_eq(late.v.nreqs, 1);
	mvm_fc_close(c);
	rename(late.path, late.v.sock);
	fake_vmm_stop(&late.v);
	tmpdir_remove(dir);
}
