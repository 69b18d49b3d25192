#!/bin/sh
# make demo: install what is needed, build, build the guest image, and run
# the live tour (scripts/demo.sh). make demo-stop: scripts/demo.sh stop.
set -eu
cd "$(dirname "$0")/.." || exit 1

image=/var/lib/mvm/images/default
if [ "${1:-}" = stop ]; then
	[ -x build/demo/mvm-demo ] || { echo "demo: nothing to stop"; exit 0; }
	exec build/demo/mvm-demo --stop --vmm build/vmm/mvm-qemu --image "$image"
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs packages and launches VMs)" >&2
	exit 1
fi
sh scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
echo "demo: building"
meson compile -C build >/dev/null
echo "demo: guest image (built once, then cached)"
sh guest/build-image.sh --agent build/guest/mvm-guest --out "$image"
exec build/demo/mvm-demo --vmm build/vmm/mvm-qemu --image "$image"
