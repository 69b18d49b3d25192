#!/bin/sh
# mvm -n against golden transcripts: for every command that has a -n form,
# tests/cli/golden/<group>-<command>.txt holds each invocation run here as
# a "$ mvm -n ..." line followed by exactly what it printed (stderr lines
# marked "[stderr] ", and "[exit N]" when it did not exit 0). A transcript
# that differs fails with its diff; a command of the help table without a
# transcript fails too. MVM_GOLDEN_UPDATE=1 writes the transcripts of this
# run into tests/cli/golden instead, and removes those no invocation writes.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

golden=$(dirname "$0")/golden
mkdir "$tmp/golden"
MVM_ROOT=/mvm
export MVM_ROOT

# word ARG: ARG as a shell word in a transcript, single-quoted unless it
# is plain.
word() {
	case $1 in
	*[!A-Za-z0-9_./:=@%+,-]* | '')
		printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
		;;
	*) printf '%s' "$1" ;;
	esac
}

# dry NAME ARGS...: run mvm -n ARGS and add it to the transcript NAME.
dry() {
	name=$1
	shift
	mvm -n "$@"
	{
		printf '$ '
		[ "$MVM_ROOT" = /mvm ] || printf 'MVM_ROOT=%s ' "$(word "$MVM_ROOT")"
		printf 'mvm -n'
		for a in "$@"; do
			printf ' %s' "$(word "$a")"
		done
		printf '\n'
		cat "$tmp/out"
		sed 's/^/[stderr] /' "$tmp/err"
		[ "$rc" -eq 0 ] || printf '[exit %s]\n' "$rc"
	} >>"$tmp/golden/$name.txt"
}

dry tenant-create tenant create acme
dry tenant-create tenant create acme --net-id 3 --subnet 10.240.3.0/24 \
    --max-vcpus 16 --max-mem 32768 --max-running 8 --max-warm 2 \
    --max-pools 3 --max-instances-per-pool 4 --max-disk 100 --uid 1000 \
    --gid 1001
dry tenant-create tenant create acme --max-vcpus 4 --max-vcpus 8
dry tenant-list tenant list
dry tenant-list tenant list --json
dry tenant-info tenant info acme
dry tenant-info tenant info acme --json
dry tenant-destroy tenant destroy acme
dry tenant-destroy tenant destroy acme --force
dry tenant-secrets-set tenant secrets set acme --from-file /tmp/secrets.env
dry tenant-secrets-set tenant secrets set acme --from-file "/tmp/it's here"
dry tenant-secrets-rotate tenant secrets rotate acme

dry pool-create pool create acme/workers
dry pool-create pool create acme/workers --image default --cpus 2 --mem 1024 \
    --data-disk 512
dry pool-create pool create acme/workers --flake github:org/app
dry pool-create pool create acme/workers --profile dev
dry pool-create pool create acme/workers --image '50%\x'
dry pool-list pool list acme
dry pool-list pool list acme --json
dry pool-info pool info acme/workers
dry pool-info pool info acme/workers --json
dry pool-scale pool scale acme/workers --warm 1 --running 3
dry pool-scale pool scale acme/workers --running 5 --warm 2 --sleeping 3
dry pool-scale pool scale acme/workers --running 1 --wait
dry pool-scale pool scale acme/workers --wait --timeout 30 --sleeping 0
dry pool-retry pool retry acme/workers
dry pool-destroy pool destroy acme/workers
dry pool-destroy pool destroy acme/workers --force

# Without --name the id is random, so only --name has a transcript.
dry instance-create instance create acme/workers --name i-0123abcd
dry instance-list instance list
dry instance-list instance list --json
dry instance-list instance list --tenant acme --json
dry instance-list instance list --pool workers
dry instance-list instance list acme
dry instance-list instance list acme/workers
for cmd in start stop warm sleep wake; do
	dry "instance-$cmd" instance "$cmd" acme/workers/i-0123abcd
	dry "instance-$cmd" instance "$cmd" acme/workers/i-0123abcd --force
	dry "instance-$cmd" instance "$cmd" --no-wait acme/workers/i-0123abcd
	dry "instance-$cmd" instance "$cmd" acme/workers/i-0123abcd --force --no-wait
done
dry instance-info instance info acme/workers/i-0123abcd
dry instance-info instance info acme/workers/i-0123abcd --json
dry instance-stats instance stats acme/workers/i-0123abcd
dry instance-stats instance stats acme/workers/i-0123abcd --json
dry instance-logs instance logs acme/workers/i-0123abcd
dry instance-logs instance logs acme/workers/i-0123abcd --follow
dry instance-destroy instance destroy acme/workers/i-0123abcd

dry node-info node info
dry node-info node info --json
dry node-stats node stats
dry node-stats node stats --json

dry events events
dry events events acme --last 3
dry events events acme/workers --follow
dry events events acme/workers/i-0123abcd
dry events events acme/workers/i-0123abcd --last 1 --follow

dry agent-desired agent desired
dry agent-desired agent desired --json
dry agent-desired agent desired --file /tmp/fleet.json
dry agent-desired agent desired --file '/tmp/my fleet.json'
dry agent-reconcile agent reconcile --desired /tmp/fleet.json
dry agent-reconcile agent reconcile --json --desired /tmp/fleet.json
dry agent-reconcile agent reconcile --desired /tmp/fleet.json --wait
dry agent-reconcile agent reconcile --desired '/tmp/my fleet.json' --wait \
    --timeout 30

# The tree's path as MVM_ROOT gives it: a trailing slash dropped, quoted
# where the shell needs it.
for MVM_ROOT in /srv/mvm/ '/srv/my mvm'; do
	dry root tenant create acme --max-vcpus 1
	dry root instance list acme/workers
	dry root agent desired --file /tmp/fleet.json
done
MVM_ROOT=/mvm

# Every command of the help table, but help itself, has a transcript.
sh "$MVM" help | sed -n 's/^  mvm \([a-z ]*[a-z]\).*/\1/p' | while read -r cmd; do
	[ "$cmd" = help ] && continue
	name=$(printf '%s' "$cmd" | tr ' ' -)
	[ -e "$tmp/golden/$name.txt" ] || echo "$cmd"
done >"$tmp/uncovered"
[ ! -s "$tmp/uncovered" ] ||
    fail "commands without a golden transcript: $(paste -s -d , "$tmp/uncovered")"

if [ "${MVM_GOLDEN_UPDATE:-0}" = 1 ]; then
	mkdir -p "$golden"
	for f in "$golden"/*.txt; do
		[ ! -e "$f" ] || [ -e "$tmp/golden/${f##*/}" ] || rm "$f"
	done
	cp "$tmp/golden"/*.txt "$golden"/
	echo "updated $golden"
	finish
fi
for f in "$tmp/golden"/*.txt; do
	name=${f##*/}
	if [ ! -e "$golden/$name" ]; then
		fail "no golden/$name; MVM_GOLDEN_UPDATE=1 writes it"
	elif ! diff -u "$golden/$name" "$f" >"$tmp/diff"; then
		fail "golden/$name differs (MVM_GOLDEN_UPDATE=1 rewrites it):
$(cat "$tmp/diff")"
	fi
done
for f in "$golden"/*.txt; do
	[ ! -e "$f" ] || [ -e "$tmp/golden/${f##*/}" ] ||
	    fail "golden/${f##*/}: no invocation writes it; MVM_GOLDEN_UPDATE=1 removes it"
done
finish
