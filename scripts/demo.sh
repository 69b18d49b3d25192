#!/bin/sh
# make demo: install what is needed, build, build the guest image, mount
# /mvm and drive a small fleet through its files with the mvm CLI.
# make demo-stop (scripts/demo.sh stop): destroy the demo's tenant, unmount
# /mvm and stop mvmfs.
set -eu
cd "$(dirname "$0")/.." || exit 1

MVM_ROOT=/mvm
export MVM_ROOT
state=/var/lib/mvm
run=/run/mvm
image=$state/images/default
top=$(pwd)
mvm() { sh "$top/cli/mvm" "$@"; }
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
ms() { date +%s%3N; }

stop() {
	if mountpoint -q "$MVM_ROOT" 2>/dev/null; then
		if [ -d "$MVM_ROOT/tenants/acme" ]; then
			echo "demo: destroying tenant acme and its microVMs"
			mvm tenant destroy acme --force || true
		fi
		echo "demo: unmounting $MVM_ROOT"
		fusermount3 -u "$MVM_ROOT"
	fi
	if [ -f "$run/mvmfs.pid" ]; then
		pid=$(cat "$run/mvmfs.pid")
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill "$pid" 2>/dev/null || true
		rm -f "$run/mvmfs.pid"
	fi
	echo "demo: stopped"
}

if [ "${1:-}" = stop ]; then
	stop
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs packages, mounts /mvm and launches VMs)" >&2
	exit 1
fi

t0=$(ms)
sh scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
echo "demo: building"
meson compile -C build mvmfs/mvmfs qemu/mvm-qemu guest/mvm-guest >/dev/null
echo "demo: guest image (built once from Debian packages, then cached)"
sh guest/build-image.sh --agent build/guest/mvm-guest --out "$image"

if mountpoint -q "$MVM_ROOT" 2>/dev/null; then
	echo "demo: $MVM_ROOT is already mounted; 'make demo-stop' first" >&2
	exit 1
fi
mkdir -p "$MVM_ROOT" "$run"
echo "demo: mounting $MVM_ROOT (log: $run/mvmfs.log)"
build/mvmfs/mvmfs -f --state-dir "$state" --run-dir "$run" \
    --vmm "$top/build/qemu/mvm-qemu" --image "$image" "$MVM_ROOT" \
    >"$run/mvmfs.log" 2>&1 &
echo $! >"$run/mvmfs.pid"
i=0
until [ -f "$MVM_ROOT/README" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "demo: mvmfs did not come up; see $run/mvmfs.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -d "$MVM_ROOT/tenants/acme" ]; then
	echo "demo: tenant acme is left from an earlier run; removing it"
	mvm tenant destroy acme --force
fi

say "1. A tenant and a pool are directories; their settings are files."
show mvm tenant create acme --net-id 3 --subnet 10.240.3.0/24 \
    --max-vcpus 16 --max-mem 32768 --max-running 8
show mvm pool create acme/web --cpus 1 --mem 128
echo "(the demo lets instances change state at once: the default minimum runtime is 60 s)"
show sh -c "printf 'min_running_seconds=0\nmin_warm_seconds=0\n' > $MVM_ROOT/tenants/acme/pools/web/config"
show mvm -n instance create acme/web

say "2. Three microVMs, booted at once (QEMU with TCG here: a few seconds each)."
ids=""
for _ in 1 2 3; do
	ids="$ids $(mvm instance create acme/web | cut -d/ -f3)"
done
t=$(ms)
pids=""
for id in $ids; do
	mvm instance start "acme/web/$id" &
	pids="$pids $!"
done
for pid in $pids; do
	wait "$pid" || { echo "demo: a start failed; see 'mvm instance list'" >&2; exit 1; }
done
echo "all running, guest agents answering, in $(( $(ms) - t )) ms"
show mvm instance list acme/web

# shellcheck disable=SC2086 # split the ids on purpose
set -- $ids
say "3. Sleep: a full snapshot to disk, the VMM process gone. Wake: restored."
t=$(ms)
show mvm instance sleep "acme/web/$1"
echo "slept in $(( $(ms) - t )) ms"
show cat "$MVM_ROOT/tenants/acme/pools/web/instances/$1/state"
t=$(ms)
show sh -c "echo running > $MVM_ROOT/tenants/acme/pools/web/instances/$1/state"
echo "woke in $(( $(ms) - t )) ms (the same guest: its memory came back)"

say "4. Warm standby: vCPUs paused in the same process, resumed in milliseconds."
show mvm instance warm "acme/web/$2"
show mvm instance start "acme/web/$2"
show mvm instance info "acme/web/$2"

say "5. A pool that keeps its shape: give it counts and the reconciler does the rest."
show mvm pool create acme/api --cpus 1 --mem 128
show sh -c "printf 'min_running_seconds=0\nmin_warm_seconds=0\n' > $MVM_ROOT/tenants/acme/pools/api/config"
t=$(ms)
show mvm pool scale acme/api --running 2 --warm 1 --wait
echo "two running and one warm standby in $(( $(ms) - t )) ms"
victim=''
for d in "$MVM_ROOT"/tenants/acme/pools/api/instances/*; do
	if [ "$(cat "$d/state")" = running ]; then
		victim=$d
		break
	fi
done
vpid=$(sed -n 's/^pid=//p' "$victim/info")
echo "killing the VMM of ${victim##*/} (pid $vpid): the pool notices and heals (after a 10 s backoff)"
kill -9 "$vpid"
t=$(ms)
show mvm pool scale acme/api --running 2 --warm 1 --wait
echo "healed in $(( $(ms) - t )) ms"
show cat "$MVM_ROOT/tenants/acme/pools/api/status"

say "6. The node as a fleet desired-state document (what a coordinator would send)."
echo '$ mvm agent desired | head -40'
mvm agent desired | head -40

say "7. The audit log."
show mvm events acme --last 12

cat <<EOF

Done in $(( ($(ms) - t0) / 1000 )) s. The fleet is live under $MVM_ROOT: look around.
  ls $MVM_ROOT/tenants/acme/pools/web/instances/
  cat $MVM_ROOT/tenants/acme/status
  echo sleeping > $MVM_ROOT/tenants/acme/pools/web/instances/$3/state
  mvm -n instance wake acme/web/$3      # prints the file operations it would do
  cat $MVM_ROOT/events                  # follows the audit log (Ctrl-C to stop)
  (mvm is cli/mvm; MVM_ROOT=$MVM_ROOT)
Stop everything with: make demo-stop
EOF
