#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Line coverage of the report model by the unit tests, per file, from gcov
(`make unit` builds the model's files with --coverage for the unit tests,
runs them, then this).

    coverage.py --objdir build/asan/cov/user [--gcov gcov] [--min 70]
                [--probe-side "f g ..."] FILE...

For each FILE: the lines of its model functions executed (those named in
--probe-side left out: they read BPF maps, /proc or a process's memory, or
place probes, and only end-to-end tests reach them), and the whole file's.
Exit status 1 if a file's model coverage is below --min percent, 2 if gcov
has no data for a file."""
import argparse
import os
import json
import subprocess
import sys


def gcov_lines(gcov, path, objdir):
    """[(line, count, function)] of path's executable lines, from gcov's JSON."""
    out = subprocess.run([gcov, "--stdout", "--json-format", "--object-directory", objdir, path],
                         capture_output=True, text=True, check=False)
    lines = []
    for doc in out.stdout.splitlines():
        if not doc.startswith("{"):
            continue
        for f in json.loads(doc)["files"]:
            if f["file"] == path:
                lines += [(l["line_number"], l["count"], l.get("function_name", ""))
                          for l in f["lines"]]
    return lines


def pct(hit, total):
    return 100.0 * hit / total if total else 100.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objdir", required=True)
    ap.add_argument("--gcov", default="gcov", help="the compiler's gcov (gcc's: JSON output)")
    ap.add_argument("--min", type=float, default=0)
    ap.add_argument("--probe-side", default="")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    probe = set(a.probe_side.split())
    status = 0
    low = []
    print(f"  {'FILE':<26} {'MODEL LINES':>14} {'MODEL':>7} {'FILE':>7}   PROBE-SIDE (not counted)")
    for path in a.files:
        # user/LAYER/x.c's objects are in OBJDIR/LAYER.
        sub = os.path.relpath(os.path.dirname(path), "user")
        lines = gcov_lines(a.gcov, path, os.path.join(a.objdir, sub) if sub != "." else a.objdir)
        if not lines:
            print(f"coverage: no gcov data for {path} in {a.objdir}", file=sys.stderr)
            status = 2
            continue
        model = [c for _, c, fn in lines if fn not in probe]
        hit = sum(1 for c in model if c)
        whole = sum(1 for _, c, _ in lines if c)
        skipped = sorted({fn for _, _, fn in lines if fn in probe})
        print(f"  {path:<26} {hit:>6} of {len(model):<5} {pct(hit, len(model)):6.1f}% "
              f"{pct(whole, len(lines)):6.1f}%   {' '.join(skipped)}")
        if pct(hit, len(model)) < a.min:
            low.append(f"{path} ({pct(hit, len(model)):.1f}%)")
    if low:
        print(f"coverage: below {a.min:g}% of their lines under the unit tests: {', '.join(low)}",
              file=sys.stderr)
        status = status or 1
    return status

if __name__ == "__main__":
    sys.exit(main())
