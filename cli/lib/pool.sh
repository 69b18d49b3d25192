# shellcheck shell=sh
# The pool commands. Part of the mvm CLI, sourced by cli/mvm.

cmd_pool_create() {
	arg='' KEYS='' image_from=''
	while [ $# -gt 0 ]; do
		case $1 in
		--image | --flake | --profile)
			need_arg "$@"
			[ -z "$image_from" ] ||
			    usage "give one of --image, --flake and --profile"
			image_from=$1
			if [ "$1" != --image ]; then
				printf '%s: note: %s is taken as --image: this version boots images, not Nix flakes\n' \
				    "$PROG" "$1" >&2
			fi
			add_key image "$OPTARG"
			shift
			;;
		--cpus | --mem | --data-disk)
			need_arg "$@"
			number "$1" "$OPTARG"
			case $1 in
			--cpus) add_key vcpus "$OPTARG" ;;
			--mem) add_key mem_mib "$OPTARG" ;;
			--data-disk) add_key data_disk_mib "$OPTARG" ;;
			esac
			shift
			;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	split_path 2 "$arg"
	create_object "$PD"
}

# pool_json T P: {"tenant":T,"id":P,"config":{...},"status":{...}}
pool_json() {
	c=$(rd "$ROOT/tenants/$1/pools/$2/config") || exit 1
	s=$(rd "$ROOT/tenants/$1/pools/$2/status.json") || exit 1
	printf '{"tenant":%s,"id":%s,"config":%s,"status":%s}' \
	    "$(json_str "$1")" "$(json_str "$2")" \
	    "$(printf '%s\n' "$c" | kv_json)" "$s"
}

cmd_pool_list() {
	one_object_args 1 "$@"
	list_objects "$TD/pools" pool_json "$T"
}

# shellcheck disable=SC2154 # one_object_args (args.sh) sets json.
cmd_pool_info() {
	one_object_args 2 "$@"
	if [ "$json" = 0 ]; then
		show_views "$PD" config desired status
	elif [ "$DRY" = 1 ]; then
		rd "$PD/config"
		rd "$PD/status.json"
	else
		pool_json "$T" "$P"
		echo
	fi
}

# shellcheck disable=SC2034 # pool_progress (wait.sh) reads WHO.
cmd_pool_scale() {
	arg='' KEYS='' wait=0 timeout=''
	while [ $# -gt 0 ]; do
		case $1 in
		--running | --warm | --sleeping)
			need_arg "$@"
			number "$1" "$OPTARG"
			add_key "${1#--}" "$OPTARG"
			shift
			;;
		--wait) wait=1 ;;
		--timeout)
			need_arg "$@"
			number "$1" "$OPTARG"
			timeout=$OPTARG
			shift
			;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	split_path 2 "$arg"
	[ -n "$KEYS" ] || usage "give at least one of --running, --warm and --sleeping"
	# One line, running warm sleeping in that order, as desired reads back.
	line=$(printf '%s\n' "$KEYS" | awk -F= '{ v[$1] = $0 }
	    END { s = ""; n = split("running warm sleeping", k, " ")
	    for (i = 1; i <= n; i++) if (k[i] in v) { printf "%s%s", s, v[k[i]]; s = " " } }')
	[ -z "$timeout" ] || [ "$wait" = 1 ] || usage "--timeout needs --wait"
	do_write "$PD/desired" "$line" || die "$FAIL"
	[ "$wait" = 1 ] || return 0
	if [ "$DRY" = 1 ]; then
		printf 'until awk -F= %s %s; do sleep 0.5; done\n' \
		    "$(q "$POOL_DONE")" "$(q "$PD/status")"
		return 0
	fi
	WHO=$T/$P
	poll_until "$PD/status" "${timeout:-600}" pool_progress ||
	    die "$T/$P did not converge within ${timeout:-600} s${PENDING:+; pending: $PENDING}"
}

cmd_pool_retry() {
	[ $# -eq 1 ] || usage "want exactly one <tenant>/<pool>"
	case $1 in -*) usage "unknown option $1" ;; esac
	split_path 2 "$1"
	do_write "$PD/ctl" retry || die "$FAIL"
}

cmd_pool_destroy() {
	flag_args force "$@"
	split_path 2 "$arg"
	if [ "$FLAG" = 1 ]; then
		do_write "$PD/desired" 'running=0 warm=0 sleeping=0' || die "$FAIL"
		destroy_below "$PD/instances" '*'
	fi
	do_rmdir "$PD" || force_hint "pool destroy $T/$P"
}
