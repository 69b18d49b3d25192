# shellcheck shell=sh
# destroy --force: emptying a tenant or a pool before its rmdir, and the
# hint a refused rmdir prints. Part of the mvm CLI, sourced by cli/mvm.

# destroy_below DIR GLOB: rmdir every object DIR/GLOB names (with -n, the
# rmdir line with the glob).
destroy_below() {
	if [ "$DRY" = 1 ]; then
		printf 'rmdir %s/%s\n' "$(q "$1")" "$2"
		return 0
	fi
	# shellcheck disable=SC2086 # $2 is a glob.
	for d in "$1"/$2; do
		[ -d "$d" ] || continue
		do_rmdir "$d" || die "$FAIL"
	done
}

# scale_to_zero DIR GLOB: write zero counts to the desired file of every
# pool DIR/GLOB names (with -n, the loop with the glob), so that the
# reconciler does not replace the instances --force is about to destroy.
scale_to_zero() {
	z="for f in $(q "$1")/$2/desired; do printf 'running=0 warm=0 sleeping=0\\n' > \"\$f\"; done"
	if [ "$DRY" = 1 ]; then
		printf '%s\n' "$z"
		return 0
	fi
	# shellcheck disable=SC2086 # $2 is a glob.
	for f in "$1"/$2/desired; do
		[ -e "$f" ] || continue
		do_write "$f" 'running=0 warm=0 sleeping=0' || die "$FAIL"
	done
	# The reconciler stops a managed pool's instances now; destroying
	# them meanwhile would race its steps (EBUSY). Wait for a pass that
	# saw the zero counts to finish.
	# shellcheck disable=SC2086
	for f in "$1"/$2/status; do
		grep -qx 'managed=true' "$f" 2>/dev/null || continue
		WHO=${f%/status}
		WHO=$(basename "$(dirname "$(dirname "$WHO")")")/$(basename "$WHO")
		poll_until "$f" 120 pool_progress ||
		    die "$WHO did not stop its instances within 120 s${PENDING:+; pending: $PENDING}"
	done
}

# force_hint WHAT: the message of a failed rmdir, with a hint on EBUSY.
force_hint() {
	case $FAIL_ERRNO in
	EBUSY | ENOTEMPTY | 'Device or resource busy' | 'Directory not empty')
		die "$FAIL, or use 'mvm $1 --force'"
		;;
	esac
	die "$FAIL"
}
