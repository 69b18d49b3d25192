# shellcheck shell=sh
# The instance commands. Part of the mvm CLI, sourced by cli/mvm.

cmd_instance_create() {
	arg='' name=''
	while [ $# -gt 0 ]; do
		case $1 in
		--name)
			need_arg "$@"
			name=$OPTARG
			shift
			;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	split_path 2 "$arg"
	if [ -n "$name" ]; then
		check_id instance "$name"
		do_mkdir "$PD/instances/$name"
		[ "$DRY" = 1 ] || printf '%s/%s/%s\n' "$T" "$P" "$name"
		return 0
	fi
	# A generated id can collide with an existing one; try a few.
	for _ in 1 2 3 4 5; do
		name=i-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
		if run "$PD/instances/$name" "$PD/instances/$name" \
		    "mkdir $(q "$PD/instances/$name")"; then
			[ "$DRY" = 1 ] || printf '%s/%s/%s\n' "$T" "$P" "$name"
			return 0
		fi
		case $FAIL_ERRNO in
		EEXIST | 'File exists') ;;
		*) die "$FAIL" ;;
		esac
	done
	die "$FAIL"
}

cmd_instance_list() {
	json=0 t='*' p='*' arg=
	while [ $# -gt 0 ]; do
		case $1 in
		--json) json=1 ;;
		--tenant)
			need_arg "$@"
			check_id tenant "$OPTARG"
			t=$OPTARG
			shift
			;;
		--pool)
			need_arg "$@"
			check_id pool "$OPTARG"
			p=$OPTARG
			shift
			;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	if [ -n "$arg" ]; then
		case $arg in
		*/*) split_path 2 "$arg"; p=$P ;;
		*) split_path 1 "$arg" ;;
		esac
		t=$T
	fi
	view=state
	[ "$json" = 0 ] || view=info.json
	if [ "$DRY" = 1 ]; then
		printf 'ls -d %s/tenants/%s/pools/%s/instances/*\n' "$(q "$ROOT")" "$t" "$p"
		rd_glob "$ROOT/tenants" "$t/pools/$p/instances/*/$view"
		return 0
	fi
	# A tenant or pool named on the command line must exist.
	[ -d "$ROOT/tenants" ] || missing "$ROOT/tenants"
	[ "$t" = '*' ] || [ -d "$ROOT/tenants/$t" ] || missing "$ROOT/tenants/$t"
	[ "$t" = '*' ] || [ "$p" = '*' ] || [ -d "$ROOT/tenants/$t/pools/$p" ] ||
	    missing "$ROOT/tenants/$t/pools/$p"
	out='' sep=''
	# shellcheck disable=SC2231 # $t and $p are ids or a glob.
	for d in "$ROOT"/tenants/$t/pools/$p/instances/*; do
		[ -d "$d" ] || continue
		i=${d##*/}
		pd=${d%/instances/*}
		pp=${pd##*/}
		tt=${pd%/pools/*}
		tt=${tt##*/}
		v=$(rd "$d/$view") || exit 1
		if [ "$json" = 0 ]; then
			out="$out$tt/$pp/$i $v
"
		else
			out=$out$sep$(printf '{"tenant":%s,"pool":%s,"id":%s,"info":%s}' \
			    "$(json_str "$tt")" "$(json_str "$pp")" "$(json_str "$i")" "$v")
			sep=,
		fi
	done
	if [ "$json" = 0 ]; then
		printf '%s' "$out"
	else
		printf '[%s]\n' "$out"
	fi
}

# transition TARGET ARGS...: write TARGET to an instance's state.
transition() {
	target=$1
	shift
	force=0 mode='' arg=''
	while [ $# -gt 0 ]; do
		case $1 in
		--force) force=1 ;;
		--no-wait) mode=nonblock ;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	split_path 3 "$arg"
	[ "$force" = 0 ] || target="$target force"
	do_write "$ID/state" "$target" ${mode:+"$mode"} || die "$FAIL"
}

cmd_instance_start() { transition running "$@"; }
cmd_instance_stop() { transition stopped "$@"; }
cmd_instance_warm() { transition warm "$@"; }
cmd_instance_sleep() { transition sleeping "$@"; }
cmd_instance_wake() { transition running "$@"; }

cmd_instance_info() {
	one_object_args 3 "$@"
	if [ "$json" = 1 ]; then rd "$ID/info.json"; else rd "$ID/info"; fi
}

cmd_instance_stats() {
	one_object_args 3 "$@"
	if [ "$json" = 1 ]; then rd "$ID/stats.json"; else rd "$ID/stats"; fi
}

cmd_instance_logs() {
	flag_args follow "$@"
	split_path 3 "$arg"
	if [ "$FLAG" = 0 ]; then
		rd "$ID/log"
		return 0
	fi
	line="tail -n +1 -F $(q "$ID/log")"
	if [ "$DRY" = 1 ]; then
		printf '%s\n' "$line"
	else
		[ -e "$ID/log" ] || missing "$ID/log"
		eval "$line"
	fi
}

cmd_instance_destroy() {
	[ $# -eq 1 ] || usage "want exactly one <tenant>/<pool>/<instance>"
	case $1 in -*) usage "unknown option $1" ;; esac
	split_path 3 "$1"
	do_rmdir "$ID" || die "$FAIL"
}
