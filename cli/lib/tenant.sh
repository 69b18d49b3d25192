# shellcheck shell=sh
# The tenant commands. Part of the mvm CLI, sourced by cli/mvm.

# shellcheck disable=SC2034 # add_key and create_object read KEYS.
cmd_tenant_create() {
	arg='' KEYS=''
	while [ $# -gt 0 ]; do
		case $1 in
		--net-id | --max-vcpus | --max-mem | --max-running | --max-warm | \
		--max-pools | --max-instances-per-pool | --max-disk | --uid | --gid)
			need_arg "$@"
			number "$1" "$OPTARG"
			case $1 in
			--max-mem) key=max_mem_mib ;;
			--max-disk) key=max_disk_gib ;;
			*) key=$(printf '%s' "${1#--}" | tr - _) ;;
			esac
			add_key "$key" "$OPTARG"
			shift
			;;
		--subnet)
			need_arg "$@"
			add_key subnet "$OPTARG"
			shift
			;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	split_path 1 "$arg"
	create_object "$TD"
}

cmd_tenant_list() {
	one_object_args 0 "$@"
	list_objects "$ROOT/tenants" tenant_json
}

# tenant_json T: {"id":T,"config":{...},"status":{...}}
tenant_json() {
	c=$(rd "$ROOT/tenants/$1/config") || exit 1
	s=$(rd "$ROOT/tenants/$1/status.json") || exit 1
	printf '{"id":%s,"config":%s,"status":%s}' "$(json_str "$1")" \
	    "$(printf '%s\n' "$c" | kv_json)" "$s"
}

# shellcheck disable=SC2154 # one_object_args (args.sh) sets json.
cmd_tenant_info() {
	one_object_args 1 "$@"
	if [ "$json" = 0 ]; then
		show_views "$TD" config status
	elif [ "$DRY" = 1 ]; then
		rd "$TD/config"
		rd "$TD/status.json"
	else
		tenant_json "$T"
		echo
	fi
}

cmd_tenant_destroy() {
	flag_args force "$@"
	split_path 1 "$arg"
	if [ "$FLAG" = 1 ]; then
		scale_to_zero "$TD/pools" '*'
		destroy_below "$TD/pools" '*/instances/*'
		destroy_below "$TD/pools" '*'
	fi
	do_rmdir "$TD" || force_hint "tenant destroy $T"
}

cmd_tenant_secrets_set() {
	arg='' file=''
	while [ $# -gt 0 ]; do
		case $1 in
		--from-file)
			need_arg "$@"
			file=$OPTARG
			shift
			;;
		*) take_arg "$1" ;;
		esac
		shift
	done
	split_path 1 "$arg"
	[ -n "$file" ] || usage "missing --from-file FILE"
	if [ "$DRY" = 0 ] && [ ! -r "$file" ]; then
		die "$file: cannot read it"
	fi
	run "$TD/secrets" "$TD" "cat $(q "$file") > $(q "$TD/secrets")" ||
	    die "$FAIL"
}

cmd_tenant_secrets_rotate() {
	[ $# -eq 1 ] || usage "want exactly one <tenant>"
	case $1 in -*) usage "unknown option $1" ;; esac
	split_path 1 "$1"
	do_write "$TD/ctl" rotate-secrets || die "$FAIL"
}
