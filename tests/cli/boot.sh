#!/bin/sh
# One real instance driven through the CLI: start (a blocking state write),
# read the state back, stats and logs, stop, destroy. Skipped (77) without
# this build's mvmfs, mvm-qemu or the guest image MVM_TEST_IMAGE.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -x "${MVM_QEMU:-}" ] || [ ! -d "${MVM_TEST_IMAGE:-}" ]; then
	echo "skipped: no mvm-qemu (${MVM_QEMU:-unset}) or image (${MVM_TEST_IMAGE:-unset})"
	exit 77
fi
# shellcheck disable=SC2119 # mount_mvmfs takes extra mvmfs options; none here.
mount_mvmfs
I=$MVM_ROOT/tenants/acme/pools/web/instances/i-boot

for cmd in 'tenant create acme' 'pool create acme/web' \
    'instance create acme/web --name i-boot' 'instance start acme/web/i-boot'; do
	# shellcheck disable=SC2086 # $cmd is words.
	mvm $cmd
	[ "$rc" -eq 0 ] || { fail "mvm $cmd: exit $rc: $(cat "$tmp/err")"; finish; }
done
[ "$(cat "$I/state")" = running ] || fail "state after start: $(cat "$I/state")"
mvm instance list acme/web
[ "$(cat "$tmp/out")" = "acme/web/i-boot running" ] || fail "list: $(cat "$tmp/out")"
mvm instance stats acme/web/i-boot --json
json "$tmp/out"
mvm instance info acme/web/i-boot
grep -q '^pid=[1-9]' "$tmp/out" || fail "info of a running instance: $(cat "$tmp/out")"
mvm instance logs acme/web/i-boot
[ -s "$tmp/out" ] || fail "no log for a running instance"
mvm instance warm acme/web/i-boot --force
[ "$rc" -eq 0 ] || fail "warm: exit $rc: $(cat "$tmp/err")"
[ "$(cat "$I/state")" = warm ] || fail "state after warm: $(cat "$I/state")"
mvm instance wake acme/web/i-boot --force
[ "$rc" -eq 0 ] || fail "wake: exit $rc: $(cat "$tmp/err")"
[ "$(cat "$I/state")" = running ] || fail "state after wake: $(cat "$I/state")"

# --no-wait: the write returns at once; the state gets there by itself.
mvm instance stop acme/web/i-boot --force --no-wait
[ "$rc" -eq 0 ] || fail "stop --no-wait: exit $rc: $(cat "$tmp/err")"
n=0
while [ "$(cat "$I/state")" != stopped ] && [ "$n" -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ "$(cat "$I/state")" = stopped ] || fail "state after stop --no-wait: $(cat "$I/state")"
mvm tenant destroy acme --force
[ "$rc" -eq 0 ] || fail "tenant destroy --force: exit $rc: $(cat "$tmp/err")"

finish
