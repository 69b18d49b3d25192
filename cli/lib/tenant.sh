# shellcheck shell=sh
# The tenant commands. Part of the mvm CLI, sourced by cli/mvm.

cmd_tenant_create() {
	id='' KEYS=''
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
			shift 2
			;;
		--subnet)
			need_arg "$@"
			add_key subnet "$OPTARG"
			shift 2
			;;
		-*) usage "unknown option $1" ;;
		*)
			[ -z "$id" ] || usage "unexpected argument \"$1\""
			id=$1
			shift
			;;
		esac
	done
	split_path 1 "$id"
	do_mkdir "$TD"
	[ -n "$KEYS" ] || return 0
	if ! do_write "$TD/config" "$(sorted_keys)" document; then
		# Leave no half-made tenant behind: the user fixes a flag and
		# runs the same command again.
		msg=$FAIL
		do_rmdir "$TD" || true
		die "$msg"
	fi
}

cmd_tenant_list() {
	json=0
	while [ $# -gt 0 ]; do
		case $1 in
		--json) json=1 ;;
		-*) usage "unknown option $1" ;;
		*) usage "unexpected argument \"$1\"" ;;
		esac
		shift
	done
	if [ "$DRY" = 1 ]; then
		ls_dir "$ROOT/tenants"
		[ "$json" = 0 ] || rd_glob "$ROOT/tenants" '*/config' '*/status.json'
		return 0
	fi
	names=$(ls_dir "$ROOT/tenants") || exit 1
	if [ "$json" = 0 ]; then
		[ -z "$names" ] || printf '%s\n' "$names"
		return 0
	fi
	# The whole array first, so a failure prints no half of it.
	out='' sep=''
	for t in $names; do
		out=$out$sep$(tenant_json "$t") || exit 1
		sep=,
	done
	printf '[%s]\n' "$out"
}

# tenant_json T: {"id":T,"config":{...},"status":{...}}
tenant_json() {
	c=$(rd "$ROOT/tenants/$1/config") || exit 1
	s=$(rd "$ROOT/tenants/$1/status.json") || exit 1
	printf '{"id":%s,"config":%s,"status":%s}' "$(json_str "$1")" \
	    "$(printf '%s\n' "$c" | kv_json)" "$s"
}

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
	force=0 arg=''
	while [ $# -gt 0 ]; do
		case $1 in
		--force) force=1 ;;
		-*) usage "unknown option $1" ;;
		*)
			[ -z "$arg" ] || usage "unexpected argument \"$1\""
			arg=$1
			;;
		esac
		shift
	done
	split_path 1 "$arg"
	if [ "$force" = 1 ]; then
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
		-*) usage "unknown option $1" ;;
		*)
			[ -z "$arg" ] || usage "unexpected argument \"$1\""
			arg=$1
			;;
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
