#!/usr/bin/env python3
"""Check the tree's layering and its file sizes; exit 1 on any breach.

usage: check-layers.py [ROOT]

Every folder of the product is a layer or a process (docs/architecture.md
draws them). A file may include the project headers of its own folder and
of the folders its folder is allowed to use, listed in USES below; nothing
else. The meson libraries already refuse to link an upward call; this also
catches an include that only uses a header's macros or inline functions.

A header is found the way the compiler finds it: first next to the file
that includes it (a "../x/y.h" path is followed), else by its name in the
folders of the product. Header names are unique across the product, because
each library puts its folder on the include path of everything above it;
two headers of one name are reported too.

Every source file (C, headers, shell, Python, meson) of the product, its
tests, fuzzers and benchmarks is at most MAX_LINES lines long.

Each breach is one line naming the file, what it did and the rule it broke.
"""
import os
import re
import sys

MAX_LINES = 900

# folder -> the folders whose headers its files may include (its own is
# always allowed). Folders not listed here may not be included by anyone
# but the test, fuzz and bench programs.
LAYERS = ["runtime/core", "runtime/store", "runtime/vmm", "runtime/engine",
          "runtime/fleet"]
USES = {
    "proto": [],
    "runtime/core": [],
    "runtime/store": ["runtime/core"],
    "runtime/vmm": ["runtime/core", "proto"],
    "runtime/engine": ["runtime/core", "runtime/store", "runtime/vmm"],
    "runtime/fleet": ["runtime/core", "runtime/store", "runtime/vmm",
                      "runtime/engine"],
    "mvmfs": LAYERS,
    "qemu": ["runtime/core", "runtime/vmm"],
    "guest/agent": ["runtime/core", "proto"],
    "hostd": ["runtime/core", "proto"],
}
# Test, fuzz and bench programs reach into whatever they exercise, but never
# into each other's folders unless they are the same kind.
ANYWHERE = ["tests", "fuzz", "bench"]

SOURCE_EXT = (".c", ".h", ".sh", ".py")
SOURCE_NAMES = ("meson.build", "Makefile")
SKIP_DIRS = {".git", "node_modules"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(rel):
    """The layer or process folder that holds `rel`, or None."""
    for top in ANYWHERE:
        if rel == top or rel.startswith(top + "/"):
            return top
    best = None
    for f in USES:
        if rel.startswith(f + "/") and (best is None or len(f) > len(best)):
            best = f
    return best


def is_build_dir(root, rel):
    """True for a meson build directory (build, build-asan, ...)."""
    return os.path.exists(os.path.join(root, rel, "meson-info"))


def walk(root):
    """Yield every file of the tree as a path relative to root."""
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for d in dirs:
            rel = os.path.normpath(os.path.join(rel_dir, d))
            if d in SKIP_DIRS or d.startswith("build") or \
                    is_build_dir(root, rel) or rel.startswith("fuzz/corpus"):
                continue
            keep.append(d)
        dirs[:] = sorted(keep)
        for f in sorted(files):
            yield os.path.normpath(os.path.join(rel_dir, f))


def is_source(root, rel):
    name = os.path.basename(rel)
    if name.endswith(SOURCE_EXT) or name in SOURCE_NAMES:
        return True
    # A script without an extension (cli/mvm, guest/initramfs-init).
    try:
        with open(os.path.join(root, rel), "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    breaches = []
    files = [r for r in walk(root)]
    headers = {}
    for rel in files:
        if rel.endswith(".h") and folder_of(rel) not in (None, *ANYWHERE):
            headers.setdefault(os.path.basename(rel), []).append(rel)
    for name, where in sorted(headers.items()):
        if len(where) > 1:
            breaches.append(f"{', '.join(where)}: the header name {name} is "
                            "used twice; header names must be unique")

    for rel in files:
        if not is_source(root, rel):
            continue
        path = os.path.join(root, rel)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        if len(lines) > MAX_LINES:
            breaches.append(f"{rel}: {len(lines)} lines; a source file may "
                            f"have at most {MAX_LINES}")
        if not rel.endswith((".c", ".h")):
            continue
        mine = folder_of(rel)
        if mine is None or mine in ANYWHERE:
            continue
        allowed = set(USES[mine]) | {mine}
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            beside = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
            if os.path.isfile(os.path.join(root, beside)):
                target = beside
            else:
                where = headers.get(os.path.basename(inc), [])
                if not where:
                    continue    # a system or generated header
                target = where[0]
            theirs = folder_of(target)
            if theirs not in allowed:
                breaches.append(
                    f"{rel}:{n}: includes {inc} from {theirs}/; {mine}/ may "
                    f"use only {', '.join(sorted(allowed))}")

    for b in breaches:
        print(b)
    print(f"layers: {len(files)} files, {len(breaches)} breaches")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
