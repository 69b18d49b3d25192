#!/usr/bin/env python3
"""Print "PASSED FAILED" test-case counts of one meson testlog.json.

Criterion's own counts are used where a program printed them; a program
that died before Criterion could count (a crash, a timeout) is one failure;
any other program (a shell test) counts as one case.
"""
import json
import re
import sys

SYNTHESIS = re.compile(r"Tested: \d+ \| Passing: (\d+) \| Failing: (\d+)")

passed = failed = 0
with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        out = (test.get("stdout") or "") + (test.get("stderr") or "")
        counts = SYNTHESIS.findall(out)
        ok = test["result"] in ("OK", "SKIP")
        if counts:
            passed += sum(int(p) for p, _ in counts)
            failed += sum(int(f) for _, f in counts)
            if not ok and not any(int(f) for _, f in counts):
                failed += 1
        elif test["result"] == "OK":
            passed += 1
        elif not ok:
            failed += 1
print(passed, failed)
