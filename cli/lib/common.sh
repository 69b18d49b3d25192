# shellcheck shell=sh
# Errors, and the file operations every command is made of: each written
# as one shell line that is run, or printed with -n (DRY=1); then what the
# reads print (views, JSON). Part of the mvm CLI, sourced by cli/mvm.

die() {
	printf '%s: %s\n' "$PROG" "$1" >&2
	exit 1
}

# usage MESSAGE: a usage error in the current command; exit 2.
usage() {
	printf "%s: %s; see '%s --help'\n" "$PROG" "$1" "$PROG${CMD:+ $CMD}" >&2
	exit 2
}

# q STRING: STRING quoted for the shell, bare when that is safe.
q() {
	case $1 in
	'' | *[!A-Za-z0-9_./:=@%+,-]*)
		printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
		;;
	*)
		printf '%s' "$1"
		;;
	esac
}

# printf_arg TEXT: TEXT as a quoted printf format that prints TEXT; each
# line of TEXT becomes a line ending in \n.
printf_arg() {
	q "$(printf '%s\n' "$1" | sed -e 's/\\/\\\\/g' -e 's/%/%%/g' |
	    sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g')\\n"
}

# Reading the object's err file before and after a change tells a failure
# the daemon explained (a new line) from one the kernel answered alone.
err_last() {
	[ -r "$1/err" ] && tail -n 1 "$1/err" 2>/dev/null
}

# parent_object DIR: the object DIR belongs to (a tenant's is the root).
parent_object() {
	printf '%s' "${1%/*/*}"
}

# run TARGET OBJECT LINE: do the shell LINE, which changes TARGET, a path of
# OBJECT (a directory whose err file explains failures; a created or removed
# directory is also checked against its parent object). With -n, print LINE.
# On failure returns 1 with FAIL (the sentence to print) and FAIL_ERRNO (the
# errno name, or the errno text when the daemon said nothing) set.
run() {
	if [ "$DRY" = 1 ]; then
		printf '%s\n' "$3"
		return 0
	fi
	run_parent=
	[ "$1" = "$2" ] && run_parent=$(parent_object "$2")
	run_a=$(err_last "$2")
	run_b=
	[ -z "$run_parent" ] || run_b=$(err_last "$run_parent")
	{ run_msg=$(eval "$3" 2>&1 1>&3 3>&-); run_rc=$?; } 3>&1
	[ "$run_rc" -eq 0 ] && return 0
	run_line=
	if [ "$(err_last "$2")" != "$run_a" ]; then
		run_line=$(err_last "$2")
	elif [ -n "$run_parent" ] && [ "$(err_last "$run_parent")" != "$run_b" ]; then
		run_line=$(err_last "$run_parent")
	fi
	if [ -n "$run_line" ]; then
		# <seq> <time> <op> <ERRNO_NAME> <message>
		run_line=${run_line#* }
		run_line=${run_line#* }
		run_line=${run_line#* }
		FAIL_ERRNO=${run_line%% *}
		FAIL=${run_line#* }
	else
		FAIL_ERRNO=${run_msg##*: }
		FAIL="$1: $FAIL_ERRNO"
		[ -e "$ROOT/README" ] ||
		    FAIL="$FAIL (is mvmfs mounted on $ROOT? set MVM_ROOT)"
	fi
	return 1
}

# rd PATH: print the file PATH (with -n, the cat line).
rd() {
	if [ "$DRY" = 1 ]; then
		printf 'cat %s\n' "$(q "$1")"
		return 0
	fi
	{ rd_msg=$(cat "$1" 2>&1 1>&3 3>&-); rd_rc=$?; } 3>&1
	[ "$rd_rc" -eq 0 ] && return 0
	rd_msg="$1: ${rd_msg##*: }"
	[ -e "$ROOT/README" ] ||
	    rd_msg="$rd_msg (is mvmfs mounted on $ROOT? set MVM_ROOT)"
	die "$rd_msg"
}

# missing PATH: die because PATH is not there.
missing() {
	if [ -e "$ROOT/README" ]; then
		die "$1: No such file or directory"
	fi
	die "$1: No such file or directory (is mvmfs mounted on $ROOT? set MVM_ROOT)"
}

# rd_glob DIR GLOB...: with -n, the cat line of each DIR/GLOB.
rd_glob() {
	dir=$1
	shift
	for g in "$@"; do
		printf 'cat %s/%s\n' "$(q "$dir")" "$g"
	done
}

# ls_dir DIR: the names in DIR, one a line (with -n, the ls line).
ls_dir() {
	if [ "$DRY" = 1 ]; then
		printf 'ls %s\n' "$(q "$1")"
		return 0
	fi
	[ -d "$1" ] || missing "$1"
	ls "$1" || exit 1
}

# Changes, each one line of shell.
do_mkdir() {
	run "$1" "$1" "mkdir $(q "$1")" || die "$FAIL"
}

do_rmdir() {
	run "$1" "$1" "rmdir $(q "$1")"
}

# do_write FILE TEXT [document|nonblock]: write TEXT and a newline to FILE
# in one write. A value file (state, desired, ctl) answers in write(2), so
# the shell's own redirection sees the error. A document (config) commits at
# close, whose errors shells ignore, so it goes through tee, which checks
# close. nonblock opens with O_NONBLOCK so a state write returns at once.
do_write() {
	case ${3:-} in
	document)
		run "$1" "${1%/*}" "printf $(printf_arg "$2") | tee $(q "$1") >/dev/null"
		;;
	nonblock)
		run "$1" "${1%/*}" "printf $(printf_arg "$2") | dd of=$(q "$1") oflag=nonblock conv=notrunc status=none"
		;;
	*)
		run "$1" "${1%/*}" "printf $(printf_arg "$2") > $(q "$1")"
		;;
	esac
}

# create_object DIR: mkdir DIR, then, when KEYS holds any, write them to
# DIR/config in one write. When the config is refused, leave no half-made
# object behind (rmdir DIR): the user fixes a flag and runs the same
# command again. Dies on failure.
create_object() {
	do_mkdir "$1"
	[ -n "$KEYS" ] || return 0
	if ! do_write "$1/config" "$(sorted_keys)" document; then
		msg=$FAIL
		do_rmdir "$1" || true
		die "$msg"
	fi
}

# list_objects DIR CMD...: the objects in DIR, a name a line, or with
# json=1 one JSON array of what CMD... NAME prints for each (with -n, the ls
# line, and the cat lines of the JSON). The whole array is built first, so
# a failure prints no half of it.
# shellcheck disable=SC2154 # one_object_args (args.sh) sets json.
list_objects() {
	lo_dir=$1
	shift
	if [ "$DRY" = 1 ]; then
		ls_dir "$lo_dir"
		[ "$json" = 0 ] || rd_glob "$lo_dir" '*/config' '*/status.json'
		return 0
	fi
	names=$(ls_dir "$lo_dir") || exit 1
	if [ "$json" = 0 ]; then
		[ -z "$names" ] || printf '%s\n' "$names"
		return 0
	fi
	out='' sep=''
	for name in $names; do
		out=$out$sep$("$@" "$name") || exit 1
		sep=,
	done
	printf '[%s]\n' "$out"
}

# kv_json: key=value lines on stdin as one JSON object; integers and
# true/false stay bare, everything else is a string.
kv_json() {
	awk '
	# Replacing by split and join keeps backslashes literal in every awk.
	function swap(s, sep, with,    n, i, p, out) {
		n = split(s, p, sep)
		out = p[1]
		for (i = 2; i <= n; i++)
			out = out with p[i]
		return out
	}
	function esc(s) {
		s = swap(s, "\\", "\\\\")
		s = swap(s, "\"", "\\\"")
		s = swap(s, "\t", "\\t")
		return "\"" s "\""
	}
	BEGIN { printf "{" }
	/^[ \t]*(#|$)/ { next }
	{
		i = index($0, "=")
		if (i == 0)
			next
		k = substr($0, 1, i - 1); v = substr($0, i + 1)
		if (v !~ /^(0|-?[1-9][0-9]*|true|false)$/)
			v = esc(v)
		printf "%s%s:%s", n++ ? "," : "", esc(k), v
	}
	END { print "}" }'
}

# json_str S: S as a JSON string (ids only, so no escaping is needed).
json_str() {
	printf '"%s"' "$1"
}

# show_views DIR NAME...: each view, as text with a "# path" line above, or
# nothing (the caller prints JSON).
show_views() {
	dir=$1
	shift
	for v in "$@"; do
		if [ "$DRY" = 1 ]; then
			rd "$dir/$v"
		else
			text=$(rd "$dir/$v") || exit 1
			printf '# %s\n%s\n' "$dir/$v" "$text"
		fi
	done
}
