# shellcheck shell=sh
# The fleet agent commands: the node's desired-state document, exported
# and committed, and the reconciler's report. Part of the mvm CLI, sourced
# by cli/mvm.

# need_jq: the reconciler's report is JSON, read with jq (scripts/deps.sh).
need_jq() {
	[ "$DRY" = 1 ] || command -v jq >/dev/null 2>&1 ||
	    die "this command reads JSON with jq, which is not installed"
}

cmd_agent_desired() {
	file=''
	while [ $# -gt 0 ]; do
		case $1 in
		--file)
			need_arg "$@"
			file=$OPTARG
			shift
			;;
		--json) ;;
		-*) usage "unknown option $1" ;;
		*) usage "unexpected argument \"$1\"" ;;
		esac
		shift
	done
	src=$ROOT/node/desired tmpf=''
	if [ -z "$file" ]; then
		rd "$src"
		return 0
	fi
	# A temporary file next to F, renamed onto F once complete: F is
	# always either the old document or the whole new one.
	mk="mktemp $(q "$file.XXXXXX")"
	mv="mv \"\$tmpf\" $(q "$file")"
	if [ "$DRY" = 1 ]; then
		# shellcheck disable=SC2016 # the line sets tmpf when it runs.
		printf 'tmpf=$(%s)\n' "$mk"
	elif [ -d "$file" ]; then
		die "$file: Is a directory"
	elif ! tmpf=$(eval "$mk" 2>&1); then
		die "$file.XXXXXX: ${tmpf##*: }"
	fi
	if ! run "$src" "$ROOT" "cat $(q "$src") > \"\$tmpf\""; then
		rm -f "$tmpf"
		die "$FAIL"
	fi
	if [ "$DRY" = 1 ]; then
		printf '%s\n' "$mv"
	elif ! msg=$(eval "$mv" 2>&1); then
		rm -f "$tmpf"
		die "$file: ${msg##*: }"
	fi
}

# The jq programs that read the report of /mvm/status (runtime/fleet/reconcile.h).
# PROGRESS_JQ: whether it converged, the progress line, and the pending
# lines of the pools that have not converged.
# shellcheck disable=SC2016 # $k and $n are jq's.
PROGRESS_JQ='.converged,
	"reconcile: \([.pools[] | select(.converged)] | length)/\(.pools | length) pools converged"
	+ ([["created", "started", "resumed", "woken", "warmed", "slept",
	    "stopped", "deferred", "failed"][] as $k
	    | .["instances_" + $k] as $n | select($n > 0) | ", \($n) \($k)"]
	    | add // ""),
	(.pools[] | select(.converged | not) | .pool + ": " + .pending[])'
# REPORT_JQ: the report for people.
# shellcheck disable=SC2016
REPORT_JQ='def names($k; $what): select(.[$k] | length > 0)
	| "\($what): \(.[$k] | join(", "))";
	names("tenants_created"; "tenants created"),
	names("tenants_updated"; "tenants updated"),
	names("tenants_pruned"; "tenants pruned"),
	names("pools_created"; "pools created"),
	names("pools_updated"; "pools updated"),
	names("pools_pruned"; "pools pruned"),
	"instances: " + ([["created", "started", "resumed", "woken", "warmed",
	    "slept", "stopped", "deferred", "failed"][] as $k
	    | .["instances_" + $k] as $n | select($n > 0) | "\($n) \($k)"]
	    | if length > 0 then join(", ") else "no change" end),
	(.errors[] | "error: " + .),
	(.pools[] | .pool + ": "
	    + (if .summary == "" then "not passed yet" else .summary end),
	    .pool + ": pending: " + .pending[]),
	"converged: \(if .converged then "yes" else "no" end)"'

# reconcile_progress REPORT: DONE, PROGRESS and PENDING from a report.
# shellcheck disable=SC2034 # poll_until (wait.sh) reads DONE and PROGRESS.
reconcile_progress() {
	r_out=$(printf '%s\n' "$1" | jq -r "$PROGRESS_JQ") ||
	    die "$ROOT/status: not a reconcile report"
	DONE=0
	[ "$(printf '%s\n' "$r_out" | sed -n 1p)" != true ] || DONE=1
	PROGRESS=$(printf '%s\n' "$r_out" | sed -n 2p)
	PENDING=$(printf '%s\n' "$r_out" | sed '1,2d' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/; /g')
}

cmd_agent_reconcile() {
	file='' wait=0 timeout='' json=0
	while [ $# -gt 0 ]; do
		case $1 in
		--desired)
			need_arg "$@"
			file=$OPTARG
			shift
			;;
		--timeout)
			need_arg "$@"
			number "$1" "$OPTARG"
			timeout=$OPTARG
			shift
			;;
		--wait) wait=1 ;;
		--json) json=1 ;;
		-*) usage "unknown option $1" ;;
		*) usage "unexpected argument \"$1\"" ;;
		esac
		shift
	done
	[ -n "$file" ] || usage "missing --desired FILE"
	[ -z "$timeout" ] || [ "$wait" = 1 ] || usage "--timeout needs --wait"
	if [ "$DRY" = 0 ] && [ ! -r "$file" ]; then
		die "$file: cannot read it"
	fi
	need_jq
	# A document commits at close; cat alone holds the descriptor and
	# checks its close, where a refusal (EINVAL, the JSON path in err)
	# comes back.
	run "$ROOT/desired" "$ROOT" "cat $(q "$file") > $(q "$ROOT/desired")" ||
	    die "$FAIL"
	status=$ROOT/status
	ok=1
	if [ "$wait" = 1 ]; then
		if [ "$DRY" = 1 ]; then
			printf 'until jq -e .converged %s >/dev/null; do sleep 0.5; done\n' \
			    "$(q "$status")"
		else
			poll_until "$status" "${timeout:-600}" reconcile_progress || ok=0
		fi
	fi
	if [ "$DRY" = 1 ]; then
		rd "$status"
		return 0
	fi
	report=$(rd "$status") || exit 1
	if [ "$json" = 1 ]; then
		printf '%s\n' "$report"
	else
		printf '%s\n' "$report" | jq -r "$REPORT_JQ" ||
		    die "$status: not a reconcile report"
	fi
	[ "$ok" = 1 ] ||
	    die "the document did not converge within ${timeout:-600} s${PENDING:+; pending: $PENDING}"
	# Objects the reconciler could not create or update are errors of the
	# report, not of the commit: the rest of the document was applied.
	n=$(printf '%s\n' "$report" | jq '.errors | length') ||
	    die "$status: not a reconcile report"
	[ "$n" = 0 ] || die "$n part(s) of the document were not applied; see the report's errors"
}
