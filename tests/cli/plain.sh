#!/bin/sh
# mvm's reading side over a plain directory laid out like the tree (no
# mount): lists, the # path headers of info, and JSON built from key=value
# config files, with values that need escaping.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

MVM_ROOT=$tmp/root
export MVM_ROOT
T=$MVM_ROOT/tenants/acme
P=$T/pools/web
mkdir -p "$P/instances/i-1" "$P/instances/i-2" "$MVM_ROOT/tenants/beta/pools" \
    "$MVM_ROOT/node"
: >"$MVM_ROOT/README"
printf 'image=a\\b"c\ttab\nmem_mib=128\npinned=false\nnote=-0\nrev=007\n' >"$P/config"
printf '{"running":0}\n' >"$P/status.json"
printf 'max_vcpus=4\nsubnet=10.240.3.0/24\n' >"$T/config"
printf 'max_vcpus=0/4\n' >"$T/status"
printf 'max_vcpus=0\n' >"$MVM_ROOT/tenants/beta/config"
printf '{}\n' >"$MVM_ROOT/tenants/beta/status.json"
printf '{"max_vcpus":{"used":0,"limit":4}}\n' >"$T/status.json"
printf 'running\n' >"$P/instances/i-1/state"
printf 'created\n' >"$P/instances/i-2/state"
printf '{"state":"running"}\n' >"$P/instances/i-1/info.json"
printf '{"state":"created"}\n' >"$P/instances/i-2/info.json"

expect 0 "acme
beta" tenant list
expect 0 "web" pool list acme
expect 0 "" pool list beta
expect 0 "# $T/config
max_vcpus=4
subnet=10.240.3.0/24
# $T/status
max_vcpus=0/4" tenant info acme
expect 0 "acme/web/i-1 running
acme/web/i-2 created" instance list
expect 0 "acme/web/i-1 running
acme/web/i-2 created" instance list --tenant acme --pool web
expect 0 "" instance list --pool other
expect_err 1 "^mvm: $MVM_ROOT/tenants/zed: No such file or directory\$" instance list zed
expect_err 1 "^mvm: $MVM_ROOT/tenants/acme/pools/x: No such file or directory\$" \
    instance list acme/x

# JSON: what Python reads back is what the files say.
mvm pool info acme/web --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "pool info --json: $(cat "$tmp/out")"
import json, sys
p = json.load(open(sys.argv[1]))
assert p == {"tenant": "acme", "id": "web", "status": {"running": 0},
             "config": {"image": 'a\\b"c\ttab', "mem_mib": 128, "pinned": False,
                        "note": "-0", "rev": "007"}}, p
PY
mvm tenant list --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "tenant list --json: $(cat "$tmp/out")"
import json, sys
l = json.load(open(sys.argv[1]))
assert [t["id"] for t in l] == ["acme", "beta"], l
assert l[1] == {"id": "beta", "config": {"max_vcpus": 0}, "status": {}}, l
PY
# A tenant whose files cannot be read fails the whole list: exit 1, no
# half-printed array.
rm "$MVM_ROOT/tenants/beta/status.json"
expect_err 1 "^mvm: $MVM_ROOT/tenants/beta/status.json: No such file or directory\$" \
    tenant list --json
mvm pool list acme --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "pool list --json: $(cat "$tmp/out")"
import json, sys
l = json.load(open(sys.argv[1]))
assert [p["id"] for p in l] == ["web"], l
PY
mvm instance list --json
json "$tmp/out"
python3 - "$tmp/out" <<'PY' || fail "instance list --json: $(cat "$tmp/out")"
import json, sys
l = json.load(open(sys.argv[1]))
assert l == [{"tenant": "acme", "pool": "web", "id": "i-1", "info": {"state": "running"}},
             {"tenant": "acme", "pool": "web", "id": "i-2", "info": {"state": "created"}}], l
PY
mvm instance list --tenant beta --json
[ "$(cat "$tmp/out")" = '[]' ] || fail "empty instance list --json: $(cat "$tmp/out")"

finish
