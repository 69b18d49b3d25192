# Shared by the CLI tests (sourced): run mvm, compare what it printed and
# how it exited, count failures. MVM is the path of cli/mvm.
set -u
MVM=${MVM:-${1:-}}
: "${MVM:?give the path of cli/mvm as MVM or the first argument}"
failures=0
tmp=$(mktemp -d)
mvmfs_pid=
trap cleanup EXIT
trap 'exit 1' INT TERM

# cleanup: unmount the mvmfs this test started, which ends it; it must exit
# 0 (a sanitizer report fails the test). Then remove $tmp, never crossing
# into a mount that would not go away.
cleanup() {
	status=$?
	if [ -n "$mvmfs_pid" ]; then
		if ! fusermount3 -u "$tmp/mnt"; then
			kill "$mvmfs_pid" 2>/dev/null
			status=1
		fi
		wait "$mvmfs_pid"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "mvmfs exited with status $rc:" >&2
			cat "$tmp/mvmfs.log" >&2
			status=1
		fi
	fi
	rm -rf --one-file-system "$tmp"
	exit "$status"
}

# mount_mvmfs [ARGS...]: start this build's mvmfs (the MVMFS variable) on
# $tmp/mnt with private state and run directories and this build's VMM and
# test image (mvmfs refuses to start without them; ARGS may name others),
# set MVM_ROOT to it and return once the tree answers. Exits 77 (skipped)
# when the build has no mvmfs, and 1 when it does not come up.
mount_mvmfs() {
	if [ ! -x "${MVMFS:-}" ]; then
		echo "skipped: no mvmfs binary at ${MVMFS:-(MVMFS unset)}"
		exit 77
	fi
	mkdir -p "$tmp/state" "$tmp/run" "$tmp/mnt"
	"$MVMFS" -f --state-dir "$tmp/state" --run-dir "$tmp/run" \
	    --vmm "$MVM_QEMU" --image "$MVM_TEST_IMAGE" "$@" \
	    "$tmp/mnt" 2>"$tmp/mvmfs.log" &
	mvmfs_pid=$!
	n=0
	until [ -e "$tmp/mnt/README" ]; do
		if ! kill -0 "$mvmfs_pid" 2>/dev/null || [ "$n" -ge 300 ]; then
			echo "mvmfs did not come up:" >&2
			cat "$tmp/mvmfs.log" >&2
			exit 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	MVM_ROOT=$tmp/mnt
	export MVM_ROOT
}

# json FILE: FILE must be one valid JSON document.
json() {
	python3 -m json.tool "$1" >/dev/null 2>"$tmp/json.err" ||
	    fail "not JSON ($(cat "$tmp/json.err")): $(head -c 300 "$1")"
}

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

# mvm ARGS...: run the CLI under sh, stdout to $tmp/out, stderr to $tmp/err;
# sets rc.
mvm() {
	sh "$MVM" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect RC STDOUT ARGS...: mvm ARGS must exit RC and print exactly STDOUT
# (a trailing newline added unless STDOUT is empty).
expect() {
	want_rc=$1 want=$2
	shift 2
	mvm "$@"
	if [ -z "$want" ]; then
		: >"$tmp/want"
	else
		printf '%s\n' "$want" >"$tmp/want"
	fi
	if [ "$rc" -ne "$want_rc" ]; then
		fail "mvm $*: exit $rc, want $want_rc; stderr: $(cat "$tmp/err")"
	elif ! diff -u "$tmp/want" "$tmp/out" >"$tmp/diff"; then
		fail "mvm $*: stdout differs:
$(cat "$tmp/diff")"
	fi
}

# expect_err RC PATTERN ARGS...: mvm ARGS must exit RC, print nothing on
# stdout and one stderr line matching the grep -E PATTERN.
expect_err() {
	want_rc=$1 pat=$2
	shift 2
	mvm "$@"
	if [ "$rc" -ne "$want_rc" ]; then
		fail "mvm $*: exit $rc, want $want_rc; stderr: $(cat "$tmp/err")"
	elif [ -s "$tmp/out" ]; then
		fail "mvm $*: printed on stdout: $(cat "$tmp/out")"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -Eq -- "$pat" "$tmp/err"; then
		fail "mvm $*: stderr \"$(cat "$tmp/err")\" does not match /$pat/"
	fi
}

# finish: the exit status of the test program.
finish() {
	if [ "$failures" -ne 0 ]; then
		printf '%s failure(s)\n' "$failures" >&2
		exit 1
	fi
	echo ok
	exit 0
}
