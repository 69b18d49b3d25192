/*
 * defaults.h: what the benchmarks run when told nothing else. meson
 * defines both to the mvm-qemu of this build and its test image; these
 * fallbacks serve a build outside meson.
 */
#ifndef MVM_BENCH_DEFAULTS_H
#define MVM_BENCH_DEFAULTS_H

#ifndef MVM_QEMU_DEFAULT
#define MVM_QEMU_DEFAULT	"mvm-qemu"
#endif
#ifndef MVM_IMAGE_DEFAULT
#define MVM_IMAGE_DEFAULT	"/var/lib/mvm/images/default"
#endif

#endif
