#!/bin/sh
# Build the libFuzzer harnesses with clang and run each for a few seconds
# (first argument, default 10) over its seed corpus. Exit non-zero on a crash.
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${1:-10}
dir=build-fuzz

if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log"; exit 1; }
fi
meson compile -C "$dir" >"$dir.compile.log" 2>&1 ||
	{ tail -n 60 "$dir.compile.log"; exit 1; }

status=0
for h in "$dir"/fuzz/fuzz_*; do
	if [ ! -f "$h" ] || [ ! -x "$h" ]; then continue; fi
	name=$(basename "$h")
	corpus="fuzz/corpus/${name#fuzz_}"
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	if "$h" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix="$dir/$name-" "$work" >"$dir/$name.log" 2>&1; then
		echo "fuzz: $name ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/$name.log" | awk '{print $2}') runs)"
	else
		echo "fuzz: $name FAILED"
		tail -n 40 "$dir/$name.log"
		status=1
	fi
	rm -rf "$work"
done
exit "$status"
