#!/bin/sh
# mvm's help and argument errors: usage comes from the one command table,
# usage errors exit 2 with one line naming the problem and the --help to
# read, and commands of later versions say so and exit 2. Nothing here
# needs a mounted tree.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

MVM_ROOT=$tmp/absent
export MVM_ROOT

# Help: the whole table, each group's part of it, one command's usage.
mvm help
[ "$rc" -eq 0 ] || fail "help: exit $rc"
for want in 'usage: mvm \[-n\] <command>' 'mvm tenant create <id> \[--net-id N\]' \
    'mvm tenant secrets set <id> --from-file FILE' 'mvm pool scale <t>/<p>' \
    'mvm instance sleep <t>/<p>/<i> \[--force\] \[--no-wait\]' 'mvm node stats' \
    'mvm events \[<t>\[/<p>\[/<i>\]\]\] \[--last N\] \[--follow\]' \
    'Not in this version yet: pool build, pool gc, instance ssh'; do
	grep -Eq -- "$want" "$tmp/out" || fail "help lacks /$want/"
done
cp "$tmp/out" "$tmp/help"
for args in --help -h; do
	mvm "$args"
	if [ "$rc" -ne 0 ] || ! cmp -s "$tmp/out" "$tmp/help"; then
		fail "mvm $args is not mvm help"
	fi
done

# Each group's help lists exactly its commands, whichever way it is asked.
group_cmds() {
	case $1 in
	tenant) echo 'create list info destroy secrets set secrets rotate' ;;
	pool) echo 'create list info scale retry destroy' ;;
	instance) echo 'create list start stop warm sleep wake info stats logs destroy' ;;
	node) echo 'info stats' ;;
	agent) echo 'desired reconcile' ;;
	esac
}
for g in tenant pool instance node agent; do
	mvm help "$g"
	[ "$rc" -eq 0 ] || fail "help $g: exit $rc"
	got=$(sed -n "s/^  mvm $g \\([a-z]*\\( set\\| rotate\\)\\{0,1\\}\\).*/\\1/p" "$tmp/out" |
	    tr '\n' ' ')
	[ "$got" = "$(group_cmds "$g") " ] || fail "help $g lists \"$got\""
	cp "$tmp/out" "$tmp/group"
	for h in help --help; do
		mvm "$g" "$h"
		if [ "$rc" -ne 0 ] || ! cmp -s "$tmp/out" "$tmp/group"; then
			fail "mvm $g $h is not mvm help $g"
		fi
	done
	# A group alone is a usage error that shows the group's help.
	mvm "$g"
	if [ "$rc" -ne 2 ] || [ -s "$tmp/out" ] || ! cmp -s "$tmp/err" "$tmp/group"; then
		fail "mvm $g: exit $rc, want 2 and the group help on stderr"
	fi
done
mvm help pool
grep -q 'Not in this version yet: pool build, pool gc\.' "$tmp/out" ||
    fail "help pool does not name pool build and pool gc as later"
mvm help agent
grep -q 'Not in this version yet: agent serve, agent certs\.' "$tmp/out" ||
    fail "help agent does not name agent serve and agent certs as later"

expect 0 "usage: mvm tenant create <id> [--net-id N] [--subnet CIDR] [--max-vcpus N] [--max-mem MIB] [--max-running N] [--max-warm N] [--max-pools N] [--max-instances-per-pool N] [--max-disk GIB] [--uid N] [--gid N]
Create a tenant (mkdir), then write the given keys to its config in one write." \
    tenant create --help
expect 0 "usage: mvm tenant secrets set <id> --from-file FILE
Replace the tenant's secrets with the KEY=VALUE lines of FILE." tenant secrets set -h
expect 0 "usage: mvm instance wake <t>/<p>/<i> [--force] [--no-wait]
Write running to the instance's state (restore)." instance wake acme/w/i-1 --help
expect 0 "usage: mvm events [<t>[/<p>[/<i>]]] [--last N] [--follow]
Print the last N events (default 10) of the tree, a tenant, a pool or an instance; --follow keeps reading." \
    events --help
# --help wins over -n and over bad arguments.
expect 0 "usage: mvm pool scale <t>/<p> [--running N] [--warm N] [--sleeping N] [--wait] [--timeout S]
Set the pool's desired counts; counts not given keep their value. --wait waits until the pool has converged (at most S seconds, default 600)." \
    -n pool scale --running x --help

# No command at all: the help, on stderr, and exit 2.
mvm
if [ "$rc" -ne 2 ] || [ -s "$tmp/out" ] || ! cmp -s "$tmp/err" "$tmp/help"; then
	fail "mvm alone: exit $rc, want 2 and the help on stderr"
fi

# Usage errors: one line, exit 2.
expect_err 2 "^mvm: unknown command \"frobnicate\"; see 'mvm --help'\$" frobnicate
expect_err 2 "^mvm: unknown option -x; see 'mvm --help'\$" -x tenant list
expect_err 2 "^mvm: unknown command \"tenant frob\"; see 'mvm tenant --help'\$" tenant frob
expect_err 2 "^mvm: tenant secrets wants set or rotate; see 'mvm tenant --help'\$" tenant secrets
expect_err 2 "^mvm: unknown command \"tenant secrets get\"" tenant secrets get acme
expect_err 2 "^mvm: no command group \"frob\"; see 'mvm help --help'\$" help frob
expect_err 2 "^mvm: missing <tenant>; see 'mvm tenant create --help'\$" tenant create
expect_err 2 "^mvm: missing <tenant>; see 'mvm tenant create --help'\$" -n tenant create
expect_err 2 "^mvm: missing <tenant>/<pool>; see 'mvm pool create --help'\$" pool create
expect_err 2 "^mvm: missing <tenant>/<pool>/<instance>; see 'mvm instance start --help'\$" \
    instance start
expect_err 2 "^mvm: --max-vcpus wants a number, not \"abc\"; see 'mvm tenant create --help'\$" \
    tenant create acme --max-vcpus abc
expect_err 2 "^mvm: --max-mem wants a number, not \"-1\"" tenant create acme --max-mem -1
expect_err 2 "^mvm: --running wants a number, not \"3x\"" pool scale acme/w --running 3x
expect_err 2 "^mvm: --last wants a number, not \"ten\"" events --last ten
expect_err 2 "^mvm: --cpus needs a value; see 'mvm pool create --help'\$" pool create acme/w --cpus
expect_err 2 "^mvm: unknown option --bogus; see 'mvm tenant create --help'\$" \
    tenant create acme --bogus 1
expect_err 2 "^mvm: unknown option --json; see 'mvm instance destroy --help'\$" \
    instance destroy --json
expect_err 2 "^mvm: unexpected argument \"beta\"; see 'mvm tenant info --help'\$" \
    tenant info alpha beta
expect_err 2 "^mvm: \"acme\" is not <tenant>/<pool>; see 'mvm pool info --help'\$" pool info acme
expect_err 2 "^mvm: \"acme/w/i-1/x\" is not <tenant>/<pool>/<instance>" instance stop acme/w/i-1/x
expect_err 2 "^mvm: \"acme/\" is not <tenant>/<pool>" pool destroy acme/
expect_err 2 "^mvm: \"acme//w\" is not <tenant>/<pool>" pool create acme//w
expect_err 2 "^mvm: bad tenant id \"\\.\\.\": use a-z, 0-9 and '-'" tenant create ..
expect_err 2 "^mvm: bad tenant id \"Acme\"" tenant destroy Acme
expect_err 2 "^mvm: bad pool id \"\\.\\.\"" pool info acme/..
expect_err 2 "^mvm: bad instance id \"I_1\"" instance create acme/w --name I_1
expect_err 2 "^mvm: missing --from-file FILE" tenant secrets set acme
expect_err 2 "^mvm: give at least one of --running, --warm and --sleeping" pool scale acme/w
expect_err 2 "^mvm: give one of --image, --flake and --profile" \
    pool create acme/w --image a --profile b
expect_err 2 "^mvm: want exactly one <tenant>/<pool>/<instance>" instance destroy a/b/c d/e/f
expect_err 2 "^mvm: --timeout needs --wait; see 'mvm pool scale --help'\$" \
    pool scale acme/w --running 1 --timeout 5
expect_err 2 "^mvm: --timeout wants a number, not \"soon\"" \
    pool scale acme/w --running 1 --wait --timeout soon
expect_err 2 "^mvm: --timeout needs a value" pool scale acme/w --running 1 --wait --timeout
expect_err 2 "^mvm: want exactly one <tenant>/<pool>; see 'mvm pool retry --help'\$" pool retry
expect_err 2 "^mvm: want exactly one <tenant>/<pool>" pool retry acme/a acme/b
expect_err 2 "^mvm: unknown option --force; see 'mvm pool retry --help'\$" pool retry --force
expect_err 2 "^mvm: \"acme\" is not <tenant>/<pool>" pool retry acme
expect_err 2 "^mvm: unexpected argument \"x\"; see 'mvm agent desired --help'\$" agent desired x
expect_err 2 "^mvm: --file needs a value" agent desired --file
expect_err 2 "^mvm: unknown option --node-id; see 'mvm agent desired --help'\$" \
    agent desired --node-id n1
expect_err 2 "^mvm: missing --desired FILE; see 'mvm agent reconcile --help'\$" agent reconcile
expect_err 2 "^mvm: missing --desired FILE" -n agent reconcile --wait
expect_err 2 "^mvm: --desired needs a value" agent reconcile --desired
expect_err 2 "^mvm: --timeout needs --wait; see 'mvm agent reconcile --help'\$" \
    agent reconcile --desired f.json --timeout 5
expect_err 2 "^mvm: --timeout wants a number, not \"-1\"" \
    agent reconcile --desired f.json --wait --timeout -1
expect_err 2 "^mvm: unexpected argument \"f.json\"" agent reconcile f.json
expect 0 "usage: mvm agent reconcile --desired F [--wait] [--timeout S] [--json]
Commit the document F to the node's desired state and print the reconciler's report; --wait waits until every pool of F has converged (at most S seconds, default 600)." \
    agent reconcile --help

# Commands of later versions: one sentence, exit 2, also under -n.
for cmd in 'pool build acme/w' 'pool gc acme/w' 'instance ssh acme/w/i-1' \
    'instance exec acme/w/i-1 -- ls' 'node gc' 'agent serve' 'agent certs init' \
    'net verify' 'bootstrap' 'setup' 'dev'; do
	word=$(printf '%s' "$cmd" | cut -d' ' -f1-2)
	case $cmd in bootstrap | setup | dev) word=${cmd%% *} ;; esac
	# shellcheck disable=SC2086 # $cmd is words.
	expect_err 2 "^mvm: '$word' is not in this version yet; see 'mvm help'\$" -n $cmd
	# shellcheck disable=SC2086
	expect_err 2 "^mvm: '$word' is not in this version yet" $cmd
done

# A file operation on a missing tree is exit 1 with the errno text and a
# pointer to MVM_ROOT; usage is checked before any of it.
expect_err 1 "^mvm: $MVM_ROOT/tenants/acme: No such file or directory \\(is mvmfs mounted on $MVM_ROOT\\? set MVM_ROOT\\)\$" \
    tenant create acme
expect_err 1 "^mvm: $MVM_ROOT/tenants: No such file or directory" tenant list
expect_err 1 "^mvm: $MVM_ROOT/node/info: No such file or directory" node info
expect_err 1 "^mvm: $MVM_ROOT/tenants/acme/events: No such file or directory" events acme
expect_err 1 "^mvm: $MVM_ROOT/tenants/acme/pools/w/instances/i-1/state: .*(No such file|nonexistent)" \
    instance start acme/w/i-1
expect_err 1 "^mvm: $tmp/nope: cannot read it\$" tenant secrets set acme --from-file "$tmp/nope"
expect_err 1 "^mvm: $tmp/nope: cannot read it\$" agent reconcile --desired "$tmp/nope"
echo '{}' >"$tmp/doc.json"
expect_err 1 "^mvm: $MVM_ROOT/desired: (No such file or directory|Directory nonexistent) \\(is mvmfs mounted" \
    agent reconcile --desired "$tmp/doc.json"
expect_err 1 "^mvm: $MVM_ROOT/node/desired: No such file or directory \\(is mvmfs mounted" \
    agent desired
mkdir "$tmp/export"
expect_err 1 "^mvm: $MVM_ROOT/node/desired: No such file or directory" \
    agent desired --file "$tmp/export/fleet.json"
[ -z "$(ls "$tmp/export")" ] || fail "a failed agent desired --file left $(ls "$tmp/export")"
expect_err 1 "^mvm: $tmp/export/none/fleet.json.XXXXXX: No such file or directory\$" \
    agent desired --file "$tmp/export/none/fleet.json"
expect_err 1 "^mvm: $tmp/export: Is a directory\$" agent desired --file "$tmp/export"
expect_err 1 "^mvm: $MVM_ROOT/tenants/acme/pools/w/ctl: .*(No such file|nonexistent)" \
    pool retry acme/w

finish
