#!/bin/sh
# Programs that write a scratch file beside a control file and rename it
# over, unmodified, against a real mvmfs mount: mv, sed -i, python3's
# tempfile plus os.replace, and a configuration-management style write
# (scratch file, chmod, rename) that changes nothing when repeated.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2119 # mvmfs takes no extra arguments here.
mount_mvmfs
T=$MVM_ROOT/tenants/acme
mkdir "$T" || fail "mkdir $T"

# key FILE KEY: the value of KEY in the key=value FILE.
key() {
	sed -n "s/^$2=//p" "$1"
}

# want FILE KEY VALUE
want() {
	[ "$(key "$1" "$2")" = "$3" ] || fail "$1: $2=$(key "$1" "$2"), want $3"
}

# Everything below needs scratch files; without them, one failure says so.
if ! printf 'max_vcpus=14\n' >"$T/config.new"; then
	fail "mvmfs refuses the scratch file $T/config.new"
	finish
fi
mv "$T/config.new" "$T/config" || fail "mv onto config"
want "$T/config" max_vcpus 14
[ ! -e "$T/config.new" ] || fail "config.new is still there after mv"
sed -i 's/^max_vcpus=.*/max_vcpus=20/' "$T/config" || fail "sed -i config"
want "$T/config" max_vcpus 20

python3 - "$T/config" <<'PY' || fail "python3 tempfile + os.replace"
import os, sys, tempfile
d = os.path.dirname(sys.argv[1])
fd, tmp = tempfile.mkstemp(dir=d, prefix=".config.")
with os.fdopen(fd, "w") as f:
    f.write("max_running=7\n")
os.replace(tmp, sys.argv[1])
PY
want "$T/config" max_running 7

# Configuration management: render the whole canonical file, compare
# checksums, and only when they differ write a scratch file beside the
# target, chmod it and rename it over. The second run finds nothing to do
# and the file is byte for byte what the first run left.
render() {
	sed -e 's/^max_vcpus=.*/max_vcpus=24/' -e 's/^max_warm=.*/max_warm=3/' \
	    "$tmp/canon"
}
apply() {
	render >"$tmp/rendered"
	if [ "$(sha256sum <"$tmp/rendered")" = "$(sha256sum <"$T/config")" ]; then
		echo unchanged
		return 0
	fi
	cp "$tmp/rendered" "$T/.ansible_tmp_config" &&
	    chmod 0640 "$T/.ansible_tmp_config" &&
	    mv "$T/.ansible_tmp_config" "$T/config" && echo changed
}
cat "$T/config" >"$tmp/canon"
[ "$(apply)" = changed ] || fail "first configuration run did not change config"
cat "$T/config" >"$tmp/after1"
want "$tmp/after1" max_vcpus 24
want "$tmp/after1" max_warm 3
[ "$(apply)" = unchanged ] || fail "second configuration run changed config"
cmp -s "$tmp/after1" "$T/config" || fail "config moved after the second run"

rmdir "$T" || fail "rmdir tenant"

finish
