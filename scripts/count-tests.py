#!/usr/bin/env python3
"""Print "PASSED FAILED SKIPPED" test-case counts of one meson testlog.json.

Criterion's own counts are used where a program printed them: its
synthesis line for passed and failed cases, and one skipped case per
"[SKIP]" line (Criterion prints those at verbosity 1, which
scripts/check.sh asks for; its synthesis leaves skipped cases out). A
program that died before Criterion could count (a crash, a timeout) is
one failure more. Any other program (a shell test) counts as one case:
passed, failed, or skipped when meson says SKIP (exit status 77).
"""
import json
import re
import sys

SYNTHESIS = re.compile(r"Tested: \d+ \| Passing: (\d+) \| Failing: (\d+)")
SKIPPED = re.compile(r"^\[SKIP\] ", re.MULTILINE)

passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        out = (test.get("stdout") or "") + (test.get("stderr") or "")
        counts = SYNTHESIS.findall(out)
        ok = test["result"] in ("OK", "SKIP")
        skipped += len(SKIPPED.findall(out))
        if counts:
            passed += sum(int(p) for p, _ in counts)
            failed += sum(int(f) for _, f in counts)
            if not ok and not any(int(f) for _, f in counts):
                failed += 1
        elif test["result"] == "OK":
            passed += 1
        elif test["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
print(passed, failed, skipped)
