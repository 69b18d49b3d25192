#!/bin/sh
# Install every package mvm needs to build, test and run its demo on Debian 12.
# Idempotent: when everything is present it prints nothing and exits 0.
set -eu

PKGS="
build-essential clang meson ninja-build pkg-config git
libsqlite3-dev sqlite3 libcjson-dev libjson-c-dev libcriterion-dev
libfuse3-dev fuse3
libcurl4-openssl-dev libmicrohttpd-dev libsodium-dev
libmnl-dev libnftnl-dev libseccomp-dev nftables
qemu-system-x86 busybox-static e2fsprogs cpio kmod
jq shellcheck python3 procps util-linux iproute2
libclang-rt-14-dev
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
