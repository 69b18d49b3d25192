#!/bin/sh
# mvm -n: every command prints exactly the file operations it would do and
# touches nothing (MVM_ROOT points at a directory that does not exist).
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

MVM_ROOT=/mvm
export MVM_ROOT
R=/mvm/tenants/acme
P=$R/pools/workers
I=$P/instances/i-0123abcd

expect 0 "mkdir $R" -n tenant create acme
expect 0 "mkdir $R
printf 'gid=1001\\nmax_disk_gib=100\\nmax_instances_per_pool=4\\nmax_mem_mib=32768\\nmax_pools=3\\nmax_running=8\\nmax_vcpus=16\\nmax_warm=2\\nnet_id=3\\nsubnet=10.240.3.0/24\\nuid=1000\\n' | tee $R/config >/dev/null" \
    -n tenant create acme --net-id 3 --subnet 10.240.3.0/24 --max-vcpus 16 \
    --max-mem 32768 --max-running 8 --max-warm 2 --max-pools 3 \
    --max-instances-per-pool 4 --max-disk 100 --uid 1000 --gid 1001
# A key given twice is written once, with the last value.
expect 0 "mkdir $R
printf 'max_vcpus=8\\n' | tee $R/config >/dev/null" -n tenant create acme --max-vcpus 4 --max-vcpus 8
expect 0 "ls /mvm/tenants" -n tenant list
expect 0 "ls /mvm/tenants
cat /mvm/tenants/*/config
cat /mvm/tenants/*/status.json" -n tenant list --json
expect 0 "cat $R/config
cat $R/status" -n tenant info acme
expect 0 "cat $R/config
cat $R/status.json" -n tenant info acme --json
expect 0 "rmdir $R" -n tenant destroy acme
expect 0 "for f in $R/pools/*/desired; do printf 'running=0 warm=0 sleeping=0\\n' > \"\$f\"; done
rmdir $R/pools/*/instances/*
rmdir $R/pools/*
rmdir $R" -n tenant destroy acme --force
expect 0 "cat /tmp/secrets.env > $R/secrets" \
    -n tenant secrets set acme --from-file /tmp/secrets.env
expect 0 "cat '/tmp/it'\\''s here' > $R/secrets" \
    -n tenant secrets set acme --from-file "/tmp/it's here"
expect 0 "printf 'rotate-secrets\\n' > $R/ctl" -n tenant secrets rotate acme

expect 0 "mkdir $P" -n pool create acme/workers
expect 0 "mkdir $P
printf 'data_disk_mib=512\\nimage=default\\nmem_mib=1024\\nvcpus=2\\n' | tee $P/config >/dev/null" \
    -n pool create acme/workers --image default --cpus 2 --mem 1024 --data-disk 512
expect 0 "mkdir $P
printf 'image=github:org/app\\n' | tee $P/config >/dev/null" \
    -n pool create acme/workers --flake github:org/app
grep -q 'note: --flake is taken as --image' "$tmp/err" ||
    fail "pool create --flake: no note on stderr"
expect 0 "mkdir $P
printf 'image=50%%\\\\x\\n' | tee $P/config >/dev/null" -n pool create acme/workers --image '50%\x'
expect 0 "ls $R/pools" -n pool list acme
expect 0 "ls $R/pools
cat $R/pools/*/config
cat $R/pools/*/status.json" -n pool list acme --json
expect 0 "cat $P/config
cat $P/desired
cat $P/status" -n pool info acme/workers
expect 0 "cat $P/config
cat $P/status.json" -n pool info acme/workers --json
expect 0 "printf 'running=3 warm=1\\n' > $P/desired" \
    -n pool scale acme/workers --warm 1 --running 3
expect 0 "printf 'running=5 warm=2 sleeping=3\\n' > $P/desired" \
    -n pool scale acme/workers --running 5 --warm 2 --sleeping 3
# --wait: until a pass that read the pool as it is now converged.
# shellcheck disable=SC2016 # awk's $1 and $2.
until_done='until awk -F= '\''{ v[$1] = $2 } END { exit !(v["converged"] == "yes" && v["pass_revision"] == v["revision"]) }'\'
expect 0 "printf 'running=1\\n' > $P/desired
$until_done $P/status; do sleep 0.5; done" \
    -n pool scale acme/workers --running 1 --wait
expect 0 "printf 'sleeping=0\\n' > $P/desired
$until_done $P/status; do sleep 0.5; done" \
    -n pool scale acme/workers --wait --timeout 30 --sleeping 0
expect 0 "printf 'retry\\n' > $P/ctl" -n pool retry acme/workers
expect 0 "rmdir $P" -n pool destroy acme/workers
expect 0 "printf 'running=0 warm=0 sleeping=0\\n' > $P/desired
rmdir $P/instances/*
rmdir $P" -n pool destroy acme/workers --force

expect 0 "mkdir $I" -n instance create acme/workers --name i-0123abcd
mvm -n instance create acme/workers
grep -Eqx "mkdir $P/instances/i-[0-9a-f]{8}" "$tmp/out" ||
    fail "instance create without --name printed: $(cat "$tmp/out")"
expect 0 "ls -d /mvm/tenants/*/pools/*/instances/*
cat /mvm/tenants/*/pools/*/instances/*/state" -n instance list
expect 0 "ls -d /mvm/tenants/acme/pools/*/instances/*
cat /mvm/tenants/acme/pools/*/instances/*/info.json" -n instance list --tenant acme --json
expect 0 "ls -d /mvm/tenants/*/pools/workers/instances/*
cat /mvm/tenants/*/pools/workers/instances/*/state" -n instance list --pool workers
expect 0 "ls -d /mvm/tenants/acme/pools/workers/instances/*
cat /mvm/tenants/acme/pools/workers/instances/*/state" -n instance list acme/workers
for pair in start=running stop=stopped warm=warm sleep=sleeping wake=running; do
	cmd=${pair%=*} state=${pair#*=}
	expect 0 "printf '$state\\n' > $I/state" -n instance "$cmd" acme/workers/i-0123abcd
	expect 0 "printf '$state force\\n' > $I/state" \
	    -n instance "$cmd" acme/workers/i-0123abcd --force
	expect 0 "printf '$state\\n' | dd of=$I/state oflag=nonblock conv=notrunc status=none" \
	    -n instance "$cmd" --no-wait acme/workers/i-0123abcd
done
expect 0 "cat $I/info" -n instance info acme/workers/i-0123abcd
expect 0 "cat $I/info.json" -n instance info acme/workers/i-0123abcd --json
expect 0 "cat $I/stats" -n instance stats acme/workers/i-0123abcd
expect 0 "cat $I/stats.json" -n instance stats acme/workers/i-0123abcd --json
expect 0 "cat $I/log" -n instance logs acme/workers/i-0123abcd
expect 0 "tail -n +1 -F $I/log" -n instance logs acme/workers/i-0123abcd --follow
expect 0 "rmdir $I" -n instance destroy acme/workers/i-0123abcd

expect 0 "cat /mvm/node/info" -n node info
expect 0 "cat /mvm/node/info.json" -n node info --json
expect 0 "cat /mvm/node/stats" -n node stats
expect 0 "cat /mvm/node/stats.json" -n node stats --json

expect 0 "cat /mvm/node/desired" -n agent desired
expect 0 "cat /mvm/node/desired" -n agent desired --json
expect 0 "tmpf=\$(mktemp /tmp/fleet.json.XXXXXX)
cat /mvm/node/desired > \"\$tmpf\"
mv \"\$tmpf\" /tmp/fleet.json" -n agent desired --file /tmp/fleet.json
expect 0 "tmpf=\$(mktemp '/tmp/my fleet.json.XXXXXX')
cat /mvm/node/desired > \"\$tmpf\"
mv \"\$tmpf\" '/tmp/my fleet.json'" -n agent desired --file '/tmp/my fleet.json'
expect 0 "cat /tmp/fleet.json > /mvm/desired
cat /mvm/status" -n agent reconcile --desired /tmp/fleet.json
expect 0 "cat /tmp/fleet.json > /mvm/desired
cat /mvm/status" -n agent reconcile --json --desired /tmp/fleet.json
expect 0 "cat '/tmp/my fleet.json' > /mvm/desired
until jq -e .converged /mvm/status >/dev/null; do sleep 0.5; done
cat /mvm/status" -n agent reconcile --desired '/tmp/my fleet.json' --wait --timeout 30

expect 0 "dd if=/mvm/events iflag=nonblock bs=65536 status=none | tail -n 10" -n events
expect 0 "dd if=$R/events iflag=nonblock bs=65536 status=none | tail -n 3" \
    -n events acme --last 3
expect 0 "dd if=$P/events iflag=nonblock bs=65536 status=none | tail -n 10
cat $P/events" -n events acme/workers --follow
expect 0 "dd if=$I/events iflag=nonblock bs=65536 status=none | tail -n 10" \
    -n events acme/workers/i-0123abcd

# A trailing slash on MVM_ROOT does not double up.
MVM_ROOT=/srv/mvm/
expect 0 "rmdir /srv/mvm/tenants/acme" -n tenant destroy acme

# MVM_ROOT is quoted where the shell needs it.
MVM_ROOT="/srv/my mvm"
expect 0 "mkdir '/srv/my mvm/tenants/acme'" -n tenant create acme

# -n really does nothing: the root stays absent.
MVM_ROOT=$tmp/root
expect 0 "mkdir $MVM_ROOT/tenants/acme
printf 'max_vcpus=1\\n' | tee $MVM_ROOT/tenants/acme/config >/dev/null" -n tenant create acme --max-vcpus 1
[ ! -e "$MVM_ROOT" ] || fail "-n tenant create made $MVM_ROOT"
mkdir "$tmp/export"
expect 0 "tmpf=\$(mktemp $tmp/export/fleet.json.XXXXXX)
cat $MVM_ROOT/node/desired > \"\$tmpf\"
mv \"\$tmpf\" $tmp/export/fleet.json" -n agent desired --file "$tmp/export/fleet.json"
[ -z "$(ls "$tmp/export")" ] || fail "-n agent desired --file made $(ls "$tmp/export")"

finish
