#!/bin/sh
# mvm against a real mvmfs mount: tenants, pools and instances made, listed,
# shown, scaled and destroyed through the CLI, JSON output that parses, and
# failures that print the daemon's err sentence. Boots nothing.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2119 # mvmfs takes no extra arguments here.
mount_mvmfs
M=$MVM_ROOT

# ok ARGS...: mvm ARGS must succeed.
ok() {
	mvm "$@"
	[ "$rc" -eq 0 ] || fail "mvm $*: exit $rc: $(cat "$tmp/err")"
}

# has FILE LINE: FILE must hold LINE as a whole line.
has() {
	grep -Fqx -- "$2" "$1" || fail "$1 lacks \"$2\": $(cat "$1")"
}

ok node info
grep -q '^cpus=' "$tmp/out" || fail "node info has no cpus=: $(cat "$tmp/out")"
ok node info --json
json "$tmp/out"
ok node stats --json
json "$tmp/out"

# Tenants.
ok tenant list
[ ! -s "$tmp/out" ] || fail "a fresh tree lists tenants: $(cat "$tmp/out")"
ok tenant list --json
json "$tmp/out"
[ "$(cat "$tmp/out")" = '[]' ] || fail "empty tenant list --json is $(cat "$tmp/out")"
ok tenant create acme --max-vcpus 16 --max-running 8 --max-mem 4096
has "$M/tenants/acme/config" max_vcpus=16
has "$M/tenants/acme/config" max_running=8
has "$M/tenants/acme/config" max_mem_mib=4096
# beta's pools may have no instances: its pool is scaled below without
# booting anything (the reconciler's creates are refused by the quota).
ok tenant create beta --max-instances-per-pool 0
ok tenant list
[ "$(cat "$tmp/out")" = "acme
beta" ] || fail "tenant list: $(cat "$tmp/out")"
ok tenant list --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "tenant list --json: $(cat "$tmp/out")"
import json, sys
ts = json.load(open(sys.argv[1]))
assert [t["id"] for t in ts] == ["acme", "beta"], ts
assert ts[0]["config"]["max_vcpus"] == 16, ts[0]
assert isinstance(ts[0]["status"], dict), ts[0]
PY
ok tenant info acme
has "$tmp/out" "# $M/tenants/acme/config"
has "$tmp/out" "# $M/tenants/acme/status"
has "$tmp/out" max_vcpus=16
ok tenant info acme --json
json "$tmp/out"

# A tenant that exists already, and a config the daemon refuses: exit 1
# with the reason, and no half-made tenant left behind.
expect_err 1 '^mvm: .*(exists|EEXIST)' tenant create acme
expect_err 1 '^mvm: .*max_vcpus' tenant create gamma --max-vcpus 99999999999
[ ! -e "$M/tenants/gamma" ] || fail "a refused tenant create left tenants/gamma"
expect_err 1 '^mvm: .*subnet' tenant create gamma --subnet nonsense

# Secrets: the exact bytes back, rotation keeps them.
printf 'API_KEY=s3cr3t\nDB_URL=postgres://db/x?a=1&b=2\n' >"$tmp/secrets"
ok tenant secrets set acme --from-file "$tmp/secrets"
cmp -s "$tmp/secrets" "$M/tenants/acme/secrets" || fail "secrets read back differ"
ok tenant secrets rotate acme
cmp -s "$tmp/secrets" "$M/tenants/acme/secrets" || fail "secrets changed on rotate"

# Pools.
ok pool create acme/web --cpus 1 --mem 128
has "$M/tenants/acme/pools/web/config" vcpus=1
has "$M/tenants/acme/pools/web/config" mem_mib=128
ok pool create acme/batch --flake github:org/app
has "$M/tenants/acme/pools/batch/config" image=github:org/app
grep -q 'note: --flake' "$tmp/err" || fail "pool create --flake gave no note"
ok pool list acme
[ "$(cat "$tmp/out")" = "batch
web" ] || fail "pool list: $(cat "$tmp/out")"
ok pool list acme --json
json "$tmp/out"
ok pool info acme/web --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "pool info --json: $(cat "$tmp/out")"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["tenant"] == "acme" and p["id"] == "web", p
assert p["config"]["vcpus"] == 1 and p["config"]["mem_mib"] == 128, p
PY
ok pool create beta/idle
ok pool scale beta/idle --running 2 --warm 1
has "$M/tenants/beta/pools/idle/desired" 'running=2 warm=1 sleeping=0'
ok pool scale beta/idle --sleeping 3
has "$M/tenants/beta/pools/idle/desired" 'running=2 warm=1 sleeping=3'
ok pool info beta/idle
has "$tmp/out" 'running=2 warm=1 sleeping=3'
expect_err 1 '^mvm: .*running' pool scale beta/idle --running 1000
has "$M/tenants/beta/pools/idle/desired" 'running=2 warm=1 sleeping=3'
ok pool retry beta/idle
expect_err 1 '^mvm: .*No such file' pool info acme/nope

# Instances.
ok instance create acme/web
id=$(cat "$tmp/out")
case $id in
acme/web/i-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
*) fail "instance create printed \"$id\"" ;;
esac
[ -d "$M/tenants/acme/pools/web/instances/${id##*/}" ] || fail "no directory for $id"
ok instance create acme/web --name i-test
has "$tmp/out" acme/web/i-test
ok instance create acme/batch --name one
ok instance list
[ "$(cat "$tmp/out")" = "acme/batch/one created
$id created
acme/web/i-test created" ] || fail "instance list: $(cat "$tmp/out")"
ok instance list acme/batch
[ "$(cat "$tmp/out")" = "acme/batch/one created" ] || fail "instance list acme/batch: $(cat "$tmp/out")"
ok instance list --pool web
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "instance list --pool web: $(cat "$tmp/out")"
ok instance list --tenant beta
[ ! -s "$tmp/out" ] || fail "instance list --tenant beta: $(cat "$tmp/out")"
ok instance list --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "instance list --json: $(cat "$tmp/out")"
import json, sys
l = json.load(open(sys.argv[1]))
assert sorted(i["id"] for i in l)[0] == "i-test" or len(l) == 3, l
assert {i["pool"] for i in l} == {"web", "batch"}, l
assert all(i["info"]["state"] == "created" for i in l), l
PY
ok instance info acme/web/i-test
has "$tmp/out" state=created
ok instance info acme/web/i-test --json
json "$tmp/out"
ok instance stats acme/web/i-test --json
json "$tmp/out"
expect_err 1 '^mvm: .*(exists|EEXIST)' instance create acme/web --name i-test
expect_err 1 '^mvm: cannot go from created to warm' instance warm acme/web/i-test
expect_err 1 '^mvm: .*i-none/state: (No such file|Directory nonexistent)' \
    instance start acme/web/i-none

# Events: the last N, each a JSON line.
ok events acme --last 3
[ "$(wc -l <"$tmp/out")" -eq 3 ] || fail "events acme --last 3: $(cat "$tmp/out")"
while IFS= read -r line; do
	printf '%s\n' "$line" >"$tmp/line"
	json "$tmp/line"
	grep -q '"tenant":"acme"' "$tmp/line" || fail "events acme showed $line"
done <"$tmp/out"
ok events
[ "$(wc -l <"$tmp/out")" -eq 10 ] || fail "events: $(wc -l <"$tmp/out") lines, want 10"

# --follow: the last N, then each new event once, as it happens.
# In its own session, so that killing its process group ends the reader too.
# The file exists before the reader starts, so wait_lines never reads a
# missing file as zero lines and lets the next event race the reader's start.
: >"$tmp/follow"
setsid sh "$MVM" events acme/web --follow --last 1 >"$tmp/follow" 2>&1 &
follower=$!
# wait_lines N: until $tmp/follow has N lines (at most 30 s).
wait_lines() {
	n=0
	while [ "$(wc -l <"$tmp/follow")" -lt "$1" ] && [ "$n" -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}
wait_lines 1
ok instance create acme/web --name i-follow
wait_lines 2
kill -- "-$follower"
wait "$follower" 2>/dev/null
[ "$(wc -l <"$tmp/follow")" -eq 2 ] || fail "events --follow: $(cat "$tmp/follow")"
sed -n 2p "$tmp/follow" | grep -q '"instance":"i-follow","action":"instance.create"' ||
    fail "events --follow did not show i-follow: $(cat "$tmp/follow")"
ok instance destroy acme/web/i-follow

# -n changes nothing on a live tree.
ok -n tenant destroy acme --force
[ -d "$M/tenants/acme/pools/web/instances/i-test" ] || fail "-n destroyed something"

# Destroying what still holds objects says to use --force.
expect_err 1 "^mvm: .*'mvm pool destroy acme/web --force'" pool destroy acme/web
expect_err 1 "^mvm: .*'mvm tenant destroy acme --force'" tenant destroy acme
ok instance destroy acme/web/i-test
[ ! -e "$M/tenants/acme/pools/web/instances/i-test" ] || fail "i-test survived destroy"
ok pool destroy acme/batch --force
ok tenant destroy acme --force
ok tenant destroy beta --force
ok tenant list
[ ! -s "$tmp/out" ] || fail "tenants left: $(cat "$tmp/out")"
expect_err 1 '^mvm: .*No such file' tenant destroy acme

finish
