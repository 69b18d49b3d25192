#!/bin/sh
# scripts/check-layers.py on small trees made here: it passes a clean tree,
# and fails, with the sentence naming the rule, on an upward include, an
# include of another process's header, a relative reach-up, two headers of
# one name and a file past the size limit. Then it checks the real tree.
# usage: test_layers.sh CHECK_LAYERS_PY SOURCE_ROOT
set -u
check=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

mk() { mkdir -p "$(dirname "$tmp/t/$1")" && printf '%s\n' "$2" >"$tmp/t/$1"; }

# expect CODE PATTERN: run the check on $tmp/t, want exit CODE and a line
# matching PATTERN.
expect() {
	out=$(python3 "$check" "$tmp/t" 2>&1)
	rc=$?
	if [ "$rc" -ne "$1" ] || ! printf '%s\n' "$out" | grep -q -- "$2"; then
		echo "FAIL: wanted exit $1 and /$2/, got exit $rc:"
		printf '%s\n' "$out"
		fails=$((fails + 1))
	fi
}

fresh() {
	rm -rf "$tmp/t"
	mk runtime/core/error.h '#define E 1'
	mk runtime/store/store.h '#include "error.h"'
	mk runtime/store/store.c '#include "store.h"
#include <stdio.h>'
	mk mvmfs/fs.c '#include "store.h"'
	mk qemu/api.h '#include "error.h"'
	mk tests/x/test.c '#include "api.h"
#include "store.h"'
}

fresh
expect 0 'layers: 6 files, 0 breaches'

fresh
mk runtime/core/quota.c '#include "store.h"'
expect 1 'runtime/core/quota.c:1: includes store.h from runtime/store/; runtime/core/ may use only runtime/core'

fresh
mk mvmfs/render.c '#include "api.h"'
expect 1 'mvmfs/render.c:1: includes api.h from qemu/'

fresh
mk runtime/core/kv.c '#include "../store/store.h"'
expect 1 'runtime/core/kv.c:1: includes ../store/store.h from runtime/store/'

fresh
mk mvmfs/store.h '#define X 1'
expect 1 'the header name store.h is used twice'

fresh
seq 901 | sed 's/^/int x/' >"$tmp/t/runtime/store/store.c"
expect 1 'runtime/store/store.c: 901 lines; a source file may have at most 900'

# The real tree.
if ! python3 "$check" "$src"; then
	echo "FAIL: the source tree breaks its layering or the size limit"
	fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] && echo "layers: all checks passed"
exit $((fails != 0))
