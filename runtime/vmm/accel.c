/* accel.c: choosing between KVM and TCG for QEMU-backed VMMs. */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int
mvm_accel_probe(enum mvm_accel *out, char *why, size_t whylen,
    struct mvm_error *e)
{
	const char *env = getenv("MVM_QEMU_ACCEL");
	int fd, version = -1;

	if (env != NULL && *env != '\0') {
		if (strcmp(env, "kvm") != 0 && strcmp(env, "tcg") != 0)
			return mvm_error_set(e, EINVAL, "MVM_QEMU_ACCEL=\"%s\" "
			    "must be \"kvm\" or \"tcg\".", env);
		*out = strcmp(env, "kvm") == 0 ? MVM_ACCEL_KVM : MVM_ACCEL_TCG;
		snprintf(why, whylen, "chosen by MVM_QEMU_ACCEL=%s", env);
		return 0;
	}
	*out = MVM_ACCEL_TCG;
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(why, whylen, "/sys/module/kvm_pvm exists: standard "
		    "guest kernels hang under paravirtual KVM");
		return 0;
	}
	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "/dev/kvm cannot be opened: %s",
		    strerror(errno));
		return 0;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (version != KVM_API_VERSION) {
		snprintf(why, whylen, "/dev/kvm answers API version %d, not %d",
		    version, KVM_API_VERSION);
		return 0;
	}
	*out = MVM_ACCEL_KVM;
	snprintf(why, whylen, "/dev/kvm works and the host is not kvm_pvm");
	return 0;
}

const char *
mvm_accel_name(enum mvm_accel a)
{
	return a == MVM_ACCEL_KVM ? "kvm" : "tcg";
}
