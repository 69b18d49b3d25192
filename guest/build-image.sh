#!/bin/sh
# Build the default mvm guest image from Debian packages.
#
#   sh guest/build-image.sh [--out DIR] [--agent PATH]
#
# DIR (default /var/lib/mvm/images/default) receives vmlinuz, initrd,
# rootfs.ext4 and manifest.json. The kernel and busybox come from .deb files
# downloaded with apt-get into /var/cache/mvm/debs and checked against the
# SHA256 apt reports; mvm-guest is built with meson in build-image/ unless
# --agent names a statically linked binary. A rebuild whose inputs hash
# matches the manifest does nothing. See docs/guest-image.md.
set -eu

out=/var/lib/mvm/images/default
agent=
cache=${MVM_DEB_CACHE:-/var/cache/mvm/debs}
src=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$src")
# Drivers the guest needs; their dependencies are added from modules.dep.
modules="virtio_mmio virtio_blk virtio_net virtio_console virtio-rng
vmw_vsock_virtio_transport crc32c_generic ext4 overlay button evdev"
cmdline="console=ttyS0 reboot=k panic=1 no_timer_check quiet"

log() { echo "build-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
	--agent) [ $# -ge 2 ] || die "--agent needs a path"; agent=$2; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) die "unknown argument \"$1\" (use --out DIR, --agent PATH)" ;;
	esac
done

for tool in apt-get apt-cache dpkg-deb depmod cpio gzip mke2fs sha256sum readelf; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool is missing; run scripts/deps.sh"
done

# fetch PKG: print the path of PKG's .deb in the cache, downloading it if
# absent, after checking its SHA256 against apt's and its control data.
fetch() {
	uri=$(apt-get download --print-uris "$1" 2>/dev/null | tail -n 1)
	if [ -z "$uri" ] && [ "$(id -u)" -eq 0 ]; then
		# A machine whose package lists were never fetched knows nothing yet.
		log "refreshing apt's package lists"
		apt-get update -qq >/dev/null 2>&1 || true
		uri=$(apt-get download --print-uris "$1" 2>/dev/null | tail -n 1)
	fi
	[ -n "$uri" ] || die "apt knows no package $1 (run apt-get update)"
	file=$(echo "$uri" | awk '{print $2}')
	sum=$(echo "$uri" | awk '{print $4}' | sed 's/^SHA256://')
	[ ${#sum} -eq 64 ] || die "apt reports no SHA256 for $1"
	deb="$cache/$file"
	if [ ! -f "$deb" ] || [ "$(sha256sum <"$deb" | cut -d' ' -f1)" != "$sum" ]; then
		log "downloading $1"
		mkdir -p "$cache"
		(cd "$cache" && rm -f "$file" &&
		    apt-get download -q -o APT::Sandbox::User=root "$1" >/dev/null) ||
			die "cannot download $1"
		[ "$(sha256sum <"$deb" | cut -d' ' -f1)" = "$sum" ] ||
			die "$file does not match apt's SHA256 $sum"
	fi
	pkg=$(dpkg-deb --field "$deb" Package) || die "$file is not a .deb"
	[ "$pkg" = "$1" ] || die "$file holds package $pkg, not $1"
	echo "$deb"
}

log "resolving packages"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (run apt-get update)"
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)

if [ -z "$agent" ]; then
	log "building mvm-guest"
	bdir="$top/build-image"
	[ -f "$bdir/build.ninja" ] ||
		meson setup "$bdir" "$top" -Dtests=false -Dbuildtype=release >&2
	meson compile -C "$bdir" guest/mvm-guest >&2
	agent="$bdir/guest/mvm-guest"
fi
[ -x "$agent" ] || die "agent $agent is not an executable"
readelf -l "$agent" | grep -q INTERP &&
	die "agent $agent is dynamically linked; the image has no libraries"
# Debug information names the build directory: strip it, so the same
# source gives the same agent, and the same image, from any checkout.
stripped=$(mktemp /tmp/mvm-guest.XXXXXX)
trap 'rm -f "$stripped"' EXIT
strip --strip-all -o "$stripped" "$agent" || die "cannot strip $agent"
agent=$stripped

# Everything that determines the output, hashed together.
inputs=$( {
	sha256sum "$kdeb" "$bdeb" "$agent" "$0" "$src/initramfs-init" | cut -d' ' -f1
	(cd "$src/rootfs" && find . -type f | LC_ALL=C sort | xargs sha256sum)
	echo "$modules $cmdline"
} | sha256sum | cut -d' ' -f1)

if [ -f "$out/manifest.json" ] &&
    grep -q "\"inputs_sha256\": \"$inputs\"" "$out/manifest.json"; then
	ok=1
	for f in vmlinuz initrd rootfs.ext4; do
		s=$(sha256sum <"$out/$f" 2>/dev/null | cut -d' ' -f1) || s=
		grep -q "\"$f\": \"$s\"" "$out/manifest.json" || ok=0
	done
	if [ "$ok" = 1 ]; then
		log "up to date: $out"
		exit 0
	fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mvm-image.XXXXXX")
trap 'rm -rf "$work" "$stripped"' EXIT INT TERM

log "unpacking $kpkg and busybox-static"
dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/b"
kver=$(ls "$work/k/lib/modules")
[ -f "$work/k/boot/vmlinuz-$kver" ] || die "$kpkg has no boot/vmlinuz-$kver"
kdir="$work/k/lib/modules/$kver"
depmod -b "$work/k" "$kver"

# Each wanted module after its dependencies. modules.dep lists a module's
# dependencies (already transitive) so that loading them from last to first
# works, as modprobe does.
for m in $modules; do
	grep -qE "(^|/)$m\.ko:" "$kdir/modules.dep" ||
		die "kernel $kver has no module $m"
done
order=$(for m in $modules; do
	grep -E "(^|/)$m\.ko:" "$kdir/modules.dep" | tr -d ':' |
	    awk '{ for (i = NF; i >= 2; i--) print $i; print $1 }'
done | awk '!seen[$0]++')

log "making the initrd ($(echo "$order" | wc -l) modules)"
ird="$work/initrd.d"
mkdir -p "$ird/bin" "$ird/etc" "$ird/lib/modules" "$ird/proc" "$ird/sys" "$ird/dev"
cp "$work/b/bin/busybox" "$ird/bin/busybox"
cp "$src/initramfs-init" "$ird/init"
chmod 755 "$ird/init"
: >"$ird/etc/modules"
for path in $order; do
	name=$(basename "$path" .ko)
	cp "$kdir/$path" "$ird/lib/modules/$name.ko"
	echo "$name" >>"$ird/etc/modules"
done
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
    gzip -9 -n >"$work/initrd"

log "making the root filesystem"
rfs="$work/rootfs.d"
mkdir -p "$rfs"
for d in bin sbin usr/bin usr/sbin dev proc sys run tmp root var/www etc/mvm lower; do
	mkdir -p "$rfs/$d"
done
rmdir "$rfs/lower"
cp "$work/b/bin/busybox" "$rfs/bin/busybox"
"$work/b/bin/busybox" --list-full | while read -r applet; do
	[ -e "$rfs/$applet" ] || ln -s /bin/busybox "$rfs/$applet"
done
cp -R "$src/rootfs/." "$rfs/"
cp "$agent" "$rfs/sbin/mvm-guest"
chmod 755 "$rfs/sbin/mvm-guest"
chmod 1777 "$rfs/tmp"
kib=$(du -sk "$rfs" | cut -f1)
mke2fs -q -t ext4 -d "$rfs" -L mvm-root -E root_owner=0:0 \
    "$work/rootfs.ext4" "$((kib + 8192 + kib / 4))k" >&2 ||
	die "mke2fs failed"

cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"

log "writing $out"
mkdir -p "$out"
sum() { sha256sum <"$work/$1" | cut -d' ' -f1; }
kv=$(dpkg-deb --field "$kdeb" Version)
bv=$(dpkg-deb --field "$bdeb" Version)
av=$(sha256sum <"$agent" | cut -d' ' -f1)
cat >"$work/manifest.json" <<JSON
{
  "format": 1,
  "inputs_sha256": "$inputs",
  "inputs": {
    "kernel_package": "$kpkg",
    "kernel_version": "$kv",
    "kernel_release": "$kver",
    "busybox_package": "busybox-static",
    "busybox_version": "$bv",
    "agent_sha256": "$av"
  },
  "modules": [$(echo "$order" | xargs -n1 basename | sed 's/\.ko$//; s/.*/"&"/' | paste -sd, -)],
  "cmdline": "$cmdline",
  "root_device": "/dev/vda",
  "outputs": {
    "vmlinuz": "$(sum vmlinuz)",
    "initrd": "$(sum initrd)",
    "rootfs.ext4": "$(sum rootfs.ext4)"
  }
}
JSON
# Outputs first, the manifest last: a manifest names only complete files.
for f in vmlinuz initrd rootfs.ext4 manifest.json; do
	cp "$work/$f" "$out/.$f.tmp"
	mv -f "$out/.$f.tmp" "$out/$f"
done
log "done: $out ($(du -sh "$out" | cut -f1))"
