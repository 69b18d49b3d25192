#!/bin/sh
# Build the test guest for the mvm-qemu integration tests, once per machine.
#
# Usage: fixture.sh [CACHE_DIR]     (default /var/cache/mvm/test-kernel)
# Prints CACHE_DIR on success. CACHE_DIR then holds:
#   vmlinuz      Debian's kernel, taken from the package linux-image-amd64
#                depends on, fetched with apt-get download
#   initrd.cpio  a busybox-static initramfs whose init prints MVM-TEST-READY,
#                then MVM-TICK <n> every 100 ms from a counter held in memory,
#                and echoes bytes on the virtio-serial port mvm.vsock.52 and
#                greets the host on mvm.vsock.53 (mvm-qemu's vsock ports)
# Idempotent and safe to run concurrently (flock on CACHE_DIR/.lock).
set -eu

cache=${1:-/var/cache/mvm/test-kernel}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# The guest is rebuilt whenever this script changes.
stamp=$(sha256sum "$0" | cut -d' ' -f1)
if [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.cpio" ] &&
    [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$cache"
	exit 0
fi

work=$(mktemp -d)
chmod 755 "$work"	# apt-get download drops privileges to _apt
trap 'rm -rf "$work"' EXIT

kpkg=$(apt-cache depends linux-image-amd64 |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
[ -n "$kpkg" ] || { echo "fixture: cannot resolve linux-image-amd64" >&2; exit 1; }
# Reuse a package another step of the build already fetched.
deb=$(find /var/cache/mvm/debs -name "${kpkg}_*.deb" 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	(cd "$work" && apt-get download -q "$kpkg" >/dev/null)
	deb=$(find "$work" -maxdepth 1 -name "${kpkg}_*.deb" | head -n 1)
fi
dpkg-deb -x "$deb" "$work/k"
kver=${kpkg#linux-image-}
cp "$work/k/boot/vmlinuz-$kver" "$cache/vmlinuz.tmp"

root="$work/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/lib/modules"
cp /bin/busybox "$root/bin/busybox"
for a in sh mount insmod cat echo sleep usleep ls grep basename; do
	ln -s busybox "$root/bin/$a"
done
kmod="$work/k/lib/modules/$kver/kernel"
for m in drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko \
    drivers/virtio/virtio_mmio.ko drivers/char/virtio_console.ko; do
	cp "$kmod/$m" "$root/lib/modules/"
done

cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_mmio virtio_console; do
	insmod /lib/modules/$m.ko 2>/dev/null
done
read up idle </proc/uptime
echo "MVM-TEST-READY uptime=$up"

# port_dev NAME: print the /dev node of the virtio-serial port NAME.
port_dev() {
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat $p/name 2>/dev/null)" = "$1" ] && echo /dev/${p##*/}
	done
}
sleep 1
p52=$(port_dev mvm.vsock.52)
p53=$(port_dev mvm.vsock.53)
echo "MVM-PORTS 52=$p52 53=$p53"
# Echo every byte the host sends on port 52 (one open file, so the port's
# single-opener rule holds).
[ -n "$p52" ] && while :; do
	cat <>$p52 >&0 2>/dev/null
	sleep 0.2
done &
# Greet the host on port 53 twice a second (guest-initiated traffic).
[ -n "$p53" ] && (
	exec 4<>$p53
	n=0
	while :; do n=$((n + 1)); echo "GUEST53 $n" >&4; sleep 0.5; done
) 2>/dev/null &

i=0
while :; do
	i=$((i + 1))
	echo "MVM-TICK $i"
	usleep 100000
done
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$cache/initrd.cpio.tmp"
mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
mv "$cache/initrd.cpio.tmp" "$cache/initrd.cpio"
echo "$stamp" >"$cache/stamp"
echo "$cache"
