# shellcheck shell=sh
# Waiting for a pool to converge: the pool's progress read from its status,
# and the poll loop that --wait uses (agent reconcile too). Part of the mvm
# CLI, sourced by cli/mvm.

# POOL_DONE: an awk program over a pool's status that succeeds once the
# pool has converged to its desired counts: converged=yes from a pass that
# read the pool as it is now (pass_revision equals revision; an earlier
# pass may have converged to the counts before they were written).
# shellcheck disable=SC2016 # $1 and $2 are awk's.
POOL_DONE='{ v[$1] = $2 } END { exit !(v["converged"] == "yes" && v["pass_revision"] == v["revision"]) }'

# pool_progress STATUS: from a pool's status text, DONE (1 once POOL_DONE
# says so), PROGRESS ("t/p: running 2/3 warm 0/1 sleeping 0/1, pending:
# ...") and PENDING (the pending reasons).
pool_progress() {
	run=0 warm=0 slp=0 drun=0 dwarm=0 dslp=0 PENDING=''
	while IFS='=' read -r k v; do
		case $k in
		running) run=$v ;;
		warm) warm=$v ;;
		sleeping) slp=$v ;;
		desired_running) drun=$v ;;
		desired_warm) dwarm=$v ;;
		desired_sleeping) dslp=$v ;;
		pending) PENDING=$v ;;
		esac
	done <<EOF
$1
EOF
	DONE=0
	if printf '%s\n' "$1" | awk -F= "$POOL_DONE"; then
		DONE=1
	fi
	PROGRESS="$WHO: running $run/$drun warm $warm/$dwarm sleeping $slp/$dslp"
	[ -z "$PENDING" ] || PROGRESS="$PROGRESS, pending: $PENDING"
}

# poll_until FILE TIMEOUT CHECK: read FILE every half second and give its text
# to the function CHECK, which sets DONE, PROGRESS (one line) and PENDING,
# until DONE is 1 or TIMEOUT seconds have passed (then return 1). Progress
# goes to stderr: on a terminal one line rewritten in place, otherwise a
# line each time it changes.
poll_until() {
	w_end=$(($(date +%s) + $2))
	w_shown=''
	w_cols=80
	if [ -t 2 ]; then
		w_cols=$(stty size <&2 2>/dev/null | cut -d' ' -f2)
		[ "${w_cols:-0}" -gt 1 ] 2>/dev/null || w_cols=80
	fi
	while :; do
		w_text=$(rd "$1") || exit 1
		"$3" "$w_text"
		if [ "$PROGRESS" != "$w_shown" ]; then
			if [ -t 2 ]; then
				printf '\r%s\033[K' "$(printf '%s' "$PROGRESS" |
				    cut -c1-$((w_cols - 1)))" >&2
			else
				printf '%s\n' "$PROGRESS" >&2
			fi
			w_shown=$PROGRESS
		fi
		if [ "$DONE" = 1 ] || [ "$(date +%s)" -ge "$w_end" ]; then
			break
		fi
		sleep 0.5
	done
	[ ! -t 2 ] || printf '\n' >&2
	[ "$DONE" = 1 ]
}
