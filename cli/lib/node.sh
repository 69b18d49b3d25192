# shellcheck shell=sh
# The node commands and events. Part of the mvm CLI, sourced by cli/mvm.

# shellcheck disable=SC2154 # one_object_args (args.sh) sets json.
node_view() {
	view=$1
	shift
	one_object_args 0 "$@"
	if [ "$json" = 1 ]; then rd "$ROOT/node/$view.json"; else rd "$ROOT/node/$view"; fi
}

cmd_node_info() { node_view info "$@"; }
cmd_node_stats() { node_view stats "$@"; }

cmd_events_() {
	last=10 follow=0 arg=''
	while [ $# -gt 0 ]; do
		case $1 in
		--last)
			need_arg "$@"
			number "$1" "$OPTARG"
			last=$OPTARG
			shift
			;;
		--follow) follow=1 ;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	dir=$ROOT
	case $arg in
	'') ;;
	*/*/*) split_path 3 "$arg"; dir=$ID ;;
	*/*) split_path 2 "$arg"; dir=$PD ;;
	*) split_path 1 "$arg"; dir=$TD ;;
	esac
	ev=$dir/events
	# Reading a fresh open returns the recent events, then waits for new
	# ones; O_NONBLOCK turns the wait into EAGAIN, which ends dd.
	backlog="dd if=$(q "$ev") iflag=nonblock bs=65536 status=none | tail -n $last"
	if [ "$DRY" = 1 ]; then
		printf '%s\n' "$backlog"
		[ "$follow" = 0 ] || printf 'cat %s\n' "$(q "$ev")"
		return 0
	fi
	[ -e "$ev" ] || missing "$ev"
	recent=$(eval "$backlog" 2>/dev/null)
	[ -z "$recent" ] || printf '%s\n' "$recent"
	[ "$follow" = 1 ] || return 0
	# A new open repeats the recent events; skip up to the last seq shown.
	seen=$(printf '%s\n' "$recent" | sed -n '$s/^{"seq":\([0-9]*\).*/\1/p')
	# shellcheck disable=SC2002 # cat is the reader -n shows.
	cat "$ev" | while IFS= read -r line; do
		seq=${line#'{"seq":'}
		seq=${seq%%[!0-9]*}
		if [ "${seq:-0}" -gt "${seen:-0}" ]; then
			printf '%s\n' "$line"
		fi
	done
}
