/*
 * accel.h: which accelerator a QEMU-backed VMM should use on this host.
 *
 * KVM only when /dev/kvm answers the stable API and the host is not a
 * paravirtual-KVM host (kvm_pvm, on which standard guest kernels hang);
 * TCG otherwise. MVM_QEMU_ACCEL=kvm|tcg in the environment overrides.
 * mvm-qemu uses it to start QEMU, mvmfs to report it in node/info.
 */
#ifndef MVM_ACCEL_H
#define MVM_ACCEL_H

#include <stddef.h>

#include "error.h"

enum mvm_accel {
	MVM_ACCEL_TCG,
	MVM_ACCEL_KVM,
};

/*
 * Probe once. Sets *out and writes the reason, one sentence, into `why`.
 * Returns 0, or -EINVAL when MVM_QEMU_ACCEL holds something else.
 */
int mvm_accel_probe(enum mvm_accel *out, char *why, size_t whylen,
    struct mvm_error *e);

/* "kvm" or "tcg". */
const char *mvm_accel_name(enum mvm_accel a);

#endif
