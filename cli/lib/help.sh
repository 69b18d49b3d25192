# shellcheck shell=sh
# The command table and the help rendered from it. Part of the mvm CLI,
# sourced by cli/mvm (which sets PROG and ROOT).

# The command table: group|command|arguments|kind|description. Kind "now"
# is implemented by the function cmd_<group>_<command> (spaces become
# underscores); "later" names a capability that is not in this version.
# Help, dispatch and the not-yet sentence all come from this table.
commands() {
	cat <<'EOF'
tenant|create|<id> [--net-id N] [--subnet CIDR] [--max-vcpus N] [--max-mem MIB] [--max-running N] [--max-warm N] [--max-pools N] [--max-instances-per-pool N] [--max-disk GIB] [--uid N] [--gid N]|now|Create a tenant (mkdir), then write the given keys to its config in one write.
tenant|list|[--json]|now|List tenants.
tenant|info|<id> [--json]|now|Show a tenant's config and its usage against every quota.
tenant|destroy|<id> [--force]|now|Destroy a tenant (rmdir); --force destroys its instances and pools first.
tenant|secrets set|<id> --from-file FILE|now|Replace the tenant's secrets with the KEY=VALUE lines of FILE.
tenant|secrets rotate|<id>|now|Re-encrypt the tenant's secrets under a fresh nonce (ctl rotate-secrets).
pool|create|<t>/<p> [--image REF] [--cpus N] [--mem MIB] [--data-disk MIB]|now|Create a pool (mkdir), then write the given keys to its config in one write.
pool|list|<t> [--json]|now|List a tenant's pools.
pool|info|<t>/<p> [--json]|now|Show a pool's config and status.
pool|scale|<t>/<p> [--running N] [--warm N] [--sleeping N] [--wait] [--timeout S]|now|Set the pool's desired counts; counts not given keep their value. --wait waits until the pool has converged (at most S seconds, default 600).
pool|retry|<t>/<p>|now|Clear the failure counts of the pool's instances and pass the pool again (ctl retry).
pool|destroy|<t>/<p> [--force]|now|Destroy a pool (rmdir); --force destroys its instances first.
pool|build|<t>/<p>|later|Build a pool's artifacts.
pool|gc|<t>/<p>|later|Collect a pool's old snapshots and artifacts.
instance|create|<t>/<p> [--name ID]|now|Create an instance (mkdir); without --name the id is i- and 8 random hex digits.
instance|list|[--tenant T] [--pool P] [<t>[/<p>]] [--json]|now|List instances and their states.
instance|start|<t>/<p>/<i> [--force] [--no-wait]|now|Write running to the instance's state.
instance|stop|<t>/<p>/<i> [--force] [--no-wait]|now|Write stopped to the instance's state.
instance|warm|<t>/<p>/<i> [--force] [--no-wait]|now|Write warm to the instance's state (vCPUs paused).
instance|sleep|<t>/<p>/<i> [--force] [--no-wait]|now|Write sleeping to the instance's state (snapshot, VMM gone).
instance|wake|<t>/<p>/<i> [--force] [--no-wait]|now|Write running to the instance's state (restore).
instance|info|<t>/<p>/<i> [--json]|now|Show an instance's addresses, pid, revision and timestamps.
instance|stats|<t>/<p>/<i> [--json]|now|Show an instance's cpu, memory and uptime.
instance|logs|<t>/<p>/<i> [--follow]|now|Show the instance's VMM log and console log.
instance|destroy|<t>/<p>/<i>|now|Stop and destroy an instance (rmdir).
instance|ssh|<t>/<p>/<i>|later|Open a shell in an instance.
instance|exec|<t>/<p>/<i> -- CMD|later|Run a command in an instance.
node|info|[--json]|now|Show the node's cpus, memory, KVM and VMM.
node|stats|[--json]|now|Show fleet counts per state and the vcpus and memory in use.
node|gc||later|Collect unused snapshots and artifacts node-wide.
events||[<t>[/<p>[/<i>]]] [--last N] [--follow]|now|Print the last N events (default 10) of the tree, a tenant, a pool or an instance; --follow keeps reading.
help||[<group>]|now|Show this help, or one group's.
agent|desired|[--file F] [--json]|now|Print the node's current state as a desired-state document (schema v1); --file writes it to F whole (a temporary file renamed onto F).
agent|reconcile|--desired F [--wait] [--timeout S] [--json]|now|Commit the document F to the node's desired state and print the reconciler's report; --wait waits until every pool of F has converged (at most S seconds, default 600).
agent|serve||later|Serve the fleet agent API.
agent|certs||later|Manage the agent's certificates.
net|verify||later|Verify tenant network isolation.
bootstrap|||later|Install the host prerequisites.
setup|||later|Set up a development VM.
dev|||later|Start a development microVM.
EOF
}

usage_line() {
	printf '%s %s%s%s\n' "$PROG" "$1" "${2:+ $2}" "${3:+ $3}"
}

# help [GROUP]: the table, rendered; everything when GROUP is empty.
help() {
	if [ -z "${1:-}" ]; then
		printf 'usage: %s [-n] <command> [arguments]\n\n' "$PROG"
		printf '  -n  print the file operations the command would do, as shell lines, and do nothing\n\n'
	fi
	commands | while IFS='|' read -r g c a k d; do
		[ -z "${1:-}" ] || [ "$g" = "$1" ] || continue
		[ "$k" = now ] || continue
		printf '  '
		usage_line "$g" "$c" "$a"
		printf '      %s\n' "$d"
	done
	later=$(commands | while IFS='|' read -r g c a k d; do
		[ -z "${1:-}" ] || [ "$g" = "$1" ] || continue
		[ "$k" = later ] && printf '%s, ' "$g${c:+ $c}"
	done)
	[ -z "$later" ] || printf '\nNot in this version yet: %s.\n' "${later%, }"
	if [ -z "${1:-}" ]; then
		printf '\nThe tree is %s (MVM_ROOT); see mvm(1) and %s/README.\n' \
		    "$ROOT" "$ROOT"
	fi
}

# command_help GROUP COMMAND: one command's usage and description.
command_help() {
	commands | while IFS='|' read -r g c a k d; do
		if [ "$g" != "$1" ] || [ "$c" != "$2" ]; then
			continue
		fi
		printf 'usage: '
		usage_line "$g" "$c" "$a"
		printf '%s\n' "$d"
	done
}

cmd_help_() {
	[ $# -le 1 ] || usage "help takes at most one group"
	if [ $# -eq 1 ] && ! commands | cut -d'|' -f1 | grep -Fqx -- "$1"; then
		usage "no command group \"$1\""
	fi
	help "${1:-}"
}
