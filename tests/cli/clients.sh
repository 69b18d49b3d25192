#!/bin/sh
# Ordinary programs, unmodified, writing in place against a real mvmfs
# mount: echo, printf, cat, tee, cp and python3; failures show in write and
# in err. The programs that write a scratch file and rename it over are in
# rename.sh.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2119 # mvmfs takes no extra arguments here.
mount_mvmfs
T=$MVM_ROOT/tenants/acme
P=$T/pools/web

mkdir "$T" || fail "mkdir $T"
mkdir "$P" || fail "mkdir $P"

# key FILE KEY: the value of KEY in the key=value FILE.
key() {
	sed -n "s/^$2=//p" "$1"
}

# want FILE KEY VALUE
want() {
	[ "$(key "$1" "$2")" = "$3" ] || fail "$1: $2=$(key "$1" "$2"), want $3"
}

echo max_vcpus=12 >"$T/config" || fail "echo > config"
want "$T/config" max_vcpus 12
printf 'max_running=4\nmax_warm=2\n' >"$T/config" || fail "printf > config"
want "$T/config" max_running 4
want "$T/config" max_warm 2
want "$T/config" max_vcpus 12

# cat: the canonical form, every key sorted, and writing it back is a no-op.
cat "$T/config" >"$tmp/canon" || fail "cat config"
sort -c "$tmp/canon" || fail "config is not sorted: $(cat "$tmp/canon")"
cat "$tmp/canon" >"$T/config" || fail "writing the canonical config back"
cmp -s "$tmp/canon" "$T/config" || fail "writing config back changed it"

echo max_pools=5 | tee "$T/config" >/dev/null || fail "tee config"
want "$T/config" max_pools 5
printf 'max_disk_gib=40\n' >"$tmp/cfg"
cp "$tmp/cfg" "$T/config" || fail "cp to config"
want "$T/config" max_disk_gib 40

# A bad line fails in write, where echo sees it, and err has the sentence.
if echo max_vcpus=abc >"$T/config" 2>/dev/null; then
	fail "echo max_vcpus=abc > config succeeded"
fi
tail -n 1 "$T/err" | grep -q 'EINVAL.*max_vcpus' ||
    fail "err after a bad write: $(tail -n 1 "$T/err")"
want "$T/config" max_vcpus 12
# ... and the CLI prints that sentence.
expect_err 1 '^mvm: .*mem_mib' pool create acme/bad --mem 1
[ ! -e "$T/pools/bad" ] || fail "a refused pool create left pools/bad"

python3 - "$T/config" <<'PY' || fail "python3 open/write/close"
import sys
with open(sys.argv[1], "w") as f:
    f.write("max_instances_per_pool=6\n")
PY
want "$T/config" max_instances_per_pool 6

# What can only be judged whole fails at close: programs that check close
# (python3, cat in its own process) see it, and the config stays.
python3 - "$T/config" 2>/dev/null <<'PY' && fail "python3 committed subnet=nonsense"
import sys
with open(sys.argv[1], "w") as f:
    f.write("subnet=nonsense\n")
PY
printf 'subnet=nonsense\n' >"$tmp/bad"
cat "$tmp/bad" 2>/dev/null >"$T/config" && fail "cat committed subnet=nonsense"
tail -n 1 "$T/err" | grep -q 'subnet' || fail "err after a bad commit: $(tail -n 1 "$T/err")"
want "$T/config" max_instances_per_pool 6
# Secrets: exact bytes, mode 0600.
printf 'A=1\nB=two words\n' >"$T/secrets" || fail "printf > secrets"
[ "$(cat "$T/secrets")" = "A=1
B=two words" ] || fail "secrets read back: $(cat "$T/secrets")"
[ "$(stat -c %a "$T/secrets")" = 600 ] || fail "secrets mode $(stat -c %a "$T/secrets")"

# Value files: one write, one command.
mkdir "$P/instances/i-cafe0001" || fail "mkdir instance"
[ "$(cat "$P/instances/i-cafe0001/state")" = created ] ||
    fail "state of a new instance: $(cat "$P/instances/i-cafe0001/state")"
if echo bogus >"$P/instances/i-cafe0001/state" 2>/dev/null; then
	fail "echo bogus > state succeeded"
fi

# What the CLI made is what the files show, and the reverse.
mvm instance list acme/web
[ "$(cat "$tmp/out")" = "acme/web/i-cafe0001 created" ] ||
    fail "instance list: $(cat "$tmp/out")"
rmdir "$P/instances/i-cafe0001" || fail "rmdir instance"

# Counts make the pool managed: the reconciler would create an instance
# for them, and a quota of no instances per pool keeps this test bootless.
echo max_instances_per_pool=0 >"$T/config" || fail "echo > config"
echo 'running=1 warm=0 sleeping=0' >"$P/desired" || fail "echo > desired"
[ "$(cat "$P/desired")" = 'running=1 warm=0 sleeping=0' ] ||
    fail "desired read back: $(cat "$P/desired")"
rmdir "$P" || fail "rmdir pool"
rmdir "$T" || fail "rmdir tenant"

finish
