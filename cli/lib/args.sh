# shellcheck shell=sh
# Argument parsing shared by the commands: ids and object paths, numbers,
# option values, and the config keys being built. Part of the mvm CLI,
# sourced by cli/mvm.

# check_id KIND ID: the characters an id may have; the daemon checks the
# rest (length, reserved names) and explains.
check_id() {
	case $2 in
	'' | -* | *[!a-z0-9-]*)
		usage "bad $1 id \"$2\": use a-z, 0-9 and '-'"
		;;
	esac
}

# split_path N ARG: ARG as N ids joined by '/', into T, P and I.
# shellcheck disable=SC2034 # ID is for the callers, like T, P, I, TD and PD.
split_path() {
	case $1 in
	1) shape='<tenant>' ;;
	2) shape='<tenant>/<pool>' ;;
	3) shape='<tenant>/<pool>/<instance>' ;;
	esac
	[ -n "${2:-}" ] || usage "missing $shape"
	T=${2%%/*}
	P=
	I=
	rest=${2#"$T"}
	rest=${rest#/}
	if [ "$1" -ge 2 ]; then
		P=${rest%%/*}
		rest=${rest#"$P"}
		rest=${rest#/}
	fi
	if [ "$1" -ge 3 ]; then
		I=${rest%%/*}
		rest=${rest#"$I"}
		rest=${rest#/}
	fi
	case $2 in
	*//* | /* | */) usage "\"$2\" is not $shape" ;;
	esac
	[ -z "$rest" ] || usage "\"$2\" is not $shape"
	check_id tenant "$T"
	[ "$1" -lt 2 ] || { [ -n "$P" ] || usage "\"$2\" is not $shape"; check_id pool "$P"; }
	[ "$1" -lt 3 ] || { [ -n "$I" ] || usage "\"$2\" is not $shape"; check_id instance "$I"; }
	TD=$ROOT/tenants/$T
	PD=$TD/pools/$P
	ID=$PD/instances/$I
}

# number FLAG VALUE: VALUE must be a decimal number.
number() {
	case $2 in
	'' | *[!0-9]*) usage "$1 wants a number, not \"$2\"" ;;
	esac
}

# need_arg OPTION [VALUE...]: OPTION must have a value; it goes to OPTARG.
need_arg() {
	[ $# -ge 2 ] || usage "$1 needs a value"
	OPTARG=$2
}

# take_arg WORD: WORD is the command's one positional argument (into arg,
# which the command sets to '' first). A word that starts with '-' is an
# option the command does not know, and a second positional argument is one
# too many: both are usage errors.
take_arg() {
	case $1 in -*) usage "unknown option $1" ;; esac
	[ -z "$arg" ] || usage "unexpected argument \"$1\""
	arg=$1
}

# flag_args FLAG ARGS...: a command that takes one positional argument (in
# arg) and one option --FLAG, whose presence sets FLAG to 1 (else 0).
# shellcheck disable=SC2034 # FLAG is for the callers.
flag_args() {
	FLAG=0 arg="" flag=$1
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		"--$flag") FLAG=1 ;;
		*) take_arg "$1" ;;
		esac
		shift
	done
}

# add_key KEY VALUE: one line of the config text being built.
add_key() {
	KEYS="$KEYS${KEYS:+
}$1=$2"
}

# sorted_keys: KEYS in the canonical order, each key once (the last given).
sorted_keys() {
	printf '%s\n' "$KEYS" | awk -F= '{ v[$1] = $0 } END { for (k in v) print v[k] }' |
	    sort -t= -k1,1
}

# one_object_args N ARGS...: parse "<path> [--json]" into split_path N and
# json; with N 0, "[--json]" alone.
# shellcheck disable=SC2034 # json is for the callers.
one_object_args() {
	n=$1
	shift
	json=0 arg=''
	while [ $# -gt 0 ]; do
		case $1 in
		--json) json=1 ;;
		-*) usage "unknown option $1" ;;
		*)
			[ "$n" -gt 0 ] || usage "unexpected argument \"$1\""
			take_arg "$1"
			;;
		esac
		shift
	done
	[ "$n" = 0 ] || split_path "$n" "$arg"
}
