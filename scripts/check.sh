#!/bin/sh
# The whole test suite: a normal build, an ASan+UBSan build, brief fuzzing
# when clang is present, and shellcheck. Ends with one line
# "check: N passed, N failed, N skipped" counting every test case: those
# that ran, and those skipped (a test that exits 77, a Criterion case that
# skips, the fuzzing when clang is missing).
set -u
cd "$(dirname "$0")/.." || exit 1

passed=0
failed=0
skipped=0
status=0

# count_log BUILD_DIR: add the test cases of BUILD_DIR's last meson test
# run (scripts/count-tests.py says how they are counted).
count_log() {
	log="$1/meson-logs/testlog.json"
	[ -f "$log" ] || return 0
	counts=$(python3 scripts/count-tests.py "$log") || return 0
	read -r p f s <<EOF
$counts
EOF
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# build NAME BUILD_DIR [meson setup options...]
build() {
	name=$1 dir=$2
	shift 2
	echo "== $name build ($dir)"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	meson compile -C "$dir" >"$dir.compile.log" 2>&1 ||
		{ tail -n 60 "$dir.compile.log"; return 1; }
}

# run_tests NAME BUILD_DIR. Criterion says which cases it skipped only at
# verbosity 1 ("[SKIP]" lines), so the tests run with it for count_log.
run_tests() {
	echo "== $1 tests"
	CRITERION_VERBOSITY_LEVEL=1 meson test -C "$2" --print-errorlogs \
	    --num-processes 2 \
	    --timeout-multiplier "${MVM_TIMEOUT_MULTIPLIER:-1}"
}

# The guest image every integration test boots: built once, from the plain
# build's static agent; a rebuild with the same inputs is a no-op.
image=${MVM_TEST_IMAGE:-/var/lib/mvm/images/default}

if build plain build -Dtest_image="$image" &&
    echo "== guest image ($image)" &&
    sh guest/build-image.sh --agent build/guest/mvm-guest --out "$image"; then
	run_tests plain build || status=1
else
	status=1
fi
count_log build

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
if build sanitizers build-asan -Dtest_image="$image" \
    -Db_sanitize=address,undefined -Db_lundef=false; then
	MVM_TIMEOUT_MULTIPLIER=3 run_tests sanitizers build-asan || status=1
else
	status=1
fi
count_log build-asan

if command -v clang >/dev/null 2>&1; then
	echo "== fuzz (clang, libFuzzer)"
	if sh scripts/fuzz.sh "${MVM_FUZZ_SECONDS:-10}"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		status=1
	fi
else
	echo "== fuzz"
	echo "fuzz: skipped: clang not found"
	skipped=$((skipped + 1))
fi

echo "== shellcheck"
if shellcheck -s sh scripts/*.sh .ci/run guest/build-image.sh \
    guest/initramfs-init guest/rootfs/etc/mvm/* tests/qemu/fixture.sh \
    cli/mvm cli/lib/*.sh tests/cli/*.sh tests/layers/*.sh; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi

[ "$failed" -eq 0 ] || status=1
echo "check: $passed passed, $failed failed, $skipped skipped"
exit "$status"
