#!/bin/sh
# Fleet desired state and pool scaling through the CLI, against a real
# mvmfs: a document that creates a tenant and an empty pool is committed
# and reported, exported back and found to be a no-op, an invalid one is
# refused with its JSON path and changes nothing, then the pool is scaled
# to one running guest and back to none with --wait. Skipped (77) without
# this build's mvmfs, mvm-qemu or the guest image MVM_TEST_IMAGE.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -x "${MVM_QEMU:-}" ] || [ ! -d "${MVM_TEST_IMAGE:-}" ]; then
	echo "skipped: no mvm-qemu (${MVM_QEMU:-unset}) or image (${MVM_TEST_IMAGE:-unset})"
	exit 77
fi
# shellcheck disable=SC2119 # mount_mvmfs takes extra mvmfs options; none here.
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

# One tenant, one pool of small guests with no counts yet; no minimum
# runtime, so that the scale-down below need not wait a minute.
cat >"$tmp/fleet.json" <<'EOF'
{
  "schema_version": 1,
  "node_id": "test-node",
  "tenants": [{
    "tenant_id": "acme",
    "network": {"tenant_net_id": 7, "ipv4_subnet": "10.240.7.0/24"},
    "quotas": {"max_vcpus": 4, "max_mem_mib": 1024, "max_running": 2,
               "max_warm": 2, "max_pools": 2, "max_instances_per_pool": 2,
               "max_disk_gib": 10},
    "pools": [{
      "pool_id": "web",
      "flake_ref": "",
      "profile": "minimal",
      "instance_resources": {"vcpus": 1, "mem_mib": 128},
      "desired_counts": {"running": 0, "warm": 0, "sleeping": 0},
      "runtime_policy": {"min_running_seconds": 0, "min_warm_seconds": 0}
    }]
  }]
}
EOF

# The commit, and the report for people.
ok agent reconcile --desired "$tmp/fleet.json" --wait --timeout 120
has "$tmp/out" 'tenants created: acme'
has "$tmp/out" 'pools created: acme/web'
has "$tmp/out" 'converged: yes'
cmp -s "$tmp/fleet.json" "$M/desired" || fail "/desired does not read back the document"
has "$M/tenants/acme/config" net_id=7
has "$M/tenants/acme/config" max_running=2
has "$M/tenants/acme/pools/web/config" mem_mib=128
has "$M/tenants/acme/pools/web/desired" 'running=0 warm=0 sleeping=0'

# The export: the node as a document that names what was just made.
ok agent desired
cp "$tmp/out" "$tmp/export.json"
json "$tmp/export.json"
python3 - "$tmp/export.json" <<'PY' || fail "agent desired: $(cat "$tmp/export.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1, d
assert [t["tenant_id"] for t in d["tenants"]] == ["acme"], d
t = d["tenants"][0]
assert t["network"]["tenant_net_id"] == 7, t
assert t["quotas"]["max_running"] == 2, t
assert [p["pool_id"] for p in t["pools"]] == ["web"], t
p = t["pools"][0]
assert p["instance_resources"]["mem_mib"] == 128, p
assert p["desired_counts"] == {"running": 0, "warm": 0, "sleeping": 0}, p
assert p["runtime_policy"]["min_running_seconds"] == 0, p
PY
ok agent desired --json
cmp -s "$tmp/out" "$tmp/export.json" || fail "agent desired --json differs from agent desired"
ok agent desired --file "$tmp/export-file.json"
[ ! -s "$tmp/out" ] || fail "agent desired --file printed: $(cat "$tmp/out")"
cmp -s "$tmp/export-file.json" "$tmp/export.json" ||
    fail "agent desired --file wrote other bytes than agent desired prints"
[ "$(find "$tmp" -maxdepth 1 -name 'export-file.json.*' | wc -l)" -eq 0 ] ||
    fail "agent desired --file left a temporary file"

# Committed back, the export changes nothing: the report, as JSON, names
# no tenant or pool created, updated or pruned.
ok agent reconcile --desired "$tmp/export.json" --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "reconcile of the export: $(cat "$tmp/out")"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("tenants_created", "tenants_updated", "tenants_pruned",
          "pools_created", "pools_updated", "pools_pruned", "errors"):
    assert r[k] == [], (k, r)
assert [p["pool"] for p in r["pools"]] == ["acme/web"], r
PY
ok agent desired
cmp -s "$tmp/out" "$tmp/export.json" || fail "the export changed after committing it back"

# An invalid document: exit 1 with the JSON path, and nothing changed.
sed 's/"profile": "minimal",/"profile": "minimal", "bogus": 1,/' "$tmp/fleet.json" \
    >"$tmp/bad.json"
cmp -s "$tmp/bad.json" "$tmp/fleet.json" && fail "sed did not make the bad document"
expect_err 1 '^mvm: tenants\[0\]\.pools\[0\]: unknown field "bogus"' \
    agent reconcile --desired "$tmp/bad.json"
cmp -s "$tmp/export.json" "$M/desired" || fail "a refused document replaced /desired"
ok agent desired
cmp -s "$tmp/out" "$tmp/export.json" || fail "a refused document changed the node"
sed 's/"tenant_net_id": 7/"tenant_net_id": 99999/' "$tmp/fleet.json" >"$tmp/bad.json"
expect_err 1 '^mvm: tenants\[0\]\.network\.tenant_net_id: ' \
    agent reconcile --desired "$tmp/bad.json" --wait
has "$M/tenants/acme/config" net_id=7

# Scale up with --wait: one guest boots, and the command returns once the
# pool has converged. Not a terminal, so progress is a line per change.
ok pool scale acme/web --running 1 --wait --timeout 240
grep -q '^acme/web: running [01]/1 warm 0/0 sleeping 0/0' "$tmp/err" ||
    fail "pool scale --wait showed no progress: $(cat "$tmp/err")"
mvm instance list acme/web
[ "$(grep -c '^acme/web/i-[0-9a-f]* running$' "$tmp/out")" -eq 1 ] ||
    fail "after scale --running 1 --wait: $(cat "$tmp/out")"
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "scale --running 1 made more than one: $(cat "$tmp/out")"
id=$(sed -n 's/^acme\/web\/\([^ ]*\) .*/\1/p' "$tmp/out")
vmm=$(sed -n 's/^pid=//p' "$M/tenants/acme/pools/web/instances/$id/info" 2>/dev/null)
case $vmm in [1-9]*) ;; *) fail "the running guest has no VMM pid: \"$vmm\"" ;; esac
has "$M/tenants/acme/pools/web/status" converged=yes

# retry is accepted (nothing has failed, so it only passes the pool again).
ok pool retry acme/web

# And back down, right after: the last pass said converged=yes for one
# running guest, which must not end the wait for none.
ok pool scale acme/web --running 0 --wait --timeout 120
mvm instance list acme/web
[ "$(grep -c ' running$' "$tmp/out")" -eq 0 ] ||
    fail "after scale --running 0 --wait: $(cat "$tmp/out")"
has "$M/tenants/acme/pools/web/status" running=0

# A tenant's network cannot move while it has instances (the stopped one
# is left): the report names the error and the command exits 1 after
# printing it; the rest of the document is applied.
sed -e 's/"tenant_net_id": 7/"tenant_net_id": 8/' -e 's/10\.240\.7\./10.240.8./' \
    -e 's/"max_warm": 2/"max_warm": 1/' "$tmp/fleet.json" >"$tmp/moved.json"
mvm agent reconcile --desired "$tmp/moved.json"
[ "$rc" -eq 1 ] || fail "reconcile with a report error: exit $rc, want 1"
grep -q '^error: .' "$tmp/out" || fail "reconcile printed no error line: $(cat "$tmp/out")"
grep -q 'part(s) of the document were not applied' "$tmp/err" ||
    fail "reconcile with a report error said: $(cat "$tmp/err")"
has "$M/tenants/acme/config" net_id=7
has "$M/tenants/acme/config" max_warm=1

# Leave no guest behind, whatever failed above.
ok tenant destroy acme --force
# A zombie is gone too: its parent has not reaped it yet.
case $(ps -o stat= -p "${vmm:-0}" 2>/dev/null) in
'' | Z*) ;;
*) fail "the guest's VMM (pid $vmm) is still running" ;;
esac

finish
