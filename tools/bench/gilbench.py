#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""What contrace's default GIL mode costs a Python program (issue 13's
table in docs/performance.md): bare and traced runs alternate (bare,
traced, traced, bare, ...), so that the load of a shared machine hits both; each
workload times itself, and the median of the pairs' ratios is reported.

  tools/bench/gilbench.py [--pairs N] [--mode MODE] [--only W,...] [--json FILE] [PYTHON...]

PYTHON defaults to pyenv 3.12 (symbols: the uprobe tiers could be used) and
Debian's stripped /usr/bin/python3.11. MODE is the --gil mode traced runs
use (default: none given, the default mode). Workloads (tools/workloads/
pygil.py):
  pingpong  4 pairs of threads, 8-byte sendall/recv round trips on socketpairs
  read      os.read of 1 byte from /dev/zero in a loop
  http      ThreadingHTTPServer under ab -n 3000 -c 4 (requests per second)
  cpu       4 CPU-bound threads, fixed work (wall time)
"""
import argparse
import glob
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACE = os.environ.get("CONTRACE", os.path.join(ROOT, "build/contrace"))
PYGIL = os.path.join(ROOT, "tools/workloads/pygil.py")

# (name, pygil.py arguments, the figure it prints, whether larger is better)
WORKLOADS = [
    # Each about 2-3 s of work: the ping-pong's speed depends on where the
    # scheduler puts each pair's threads, which a short run samples once.
    ("pingpong", ["pingpong", "4", "150000"], "ns_per_roundtrip", False),
    ("read", ["read", "1500000"], "ns_per_call", False),
    ("http", ["http"], "requests_per_s", True),
    ("cpu", ["cpu", "4", "12000000"], "elapsed", False),
]


def pythons():
    found = sorted(glob.glob("/root/.pyenv/versions/3.12.*/bin/python3"))[:1]
    if os.path.exists("/usr/bin/python3.11"):
        found.append("/usr/bin/python3.11")
    return found


def wrap(cmd, mode):
    if mode is None:
        return cmd
    return [CONTRACE, "-q", "--json", "/dev/null", *mode, "--", *cmd]


def one_fixed(python, args, key, mode, steady):
    """A workload that ends by itself, started `steady` s after it is ready: the figure it printed."""
    p = subprocess.Popen(wrap([python, PYGIL, *args, "--wait"], mode), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{args}: no 'ready' line")
        time.sleep(steady)
        out, _ = p.communicate("go\n", timeout=300)
    finally:
        p.kill()
        p.wait()
    if p.returncode:
        raise RuntimeError(f"{args}: exit {p.returncode}")
    return float(re.search(rf"^{key} ([0-9.]+)$", out, re.M).group(1))


def one_http(python, mode, steady):
    """The server launched (under contrace or not), ab against it `steady` s later: requests/s."""
    p = subprocess.Popen(wrap([python, PYGIL, "http"], mode), stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        port = int(p.stdout.readline().split()[1])
        time.sleep(steady)
        ab = subprocess.run(["ab", "-q", "-n", "3000", "-c", "4", f"http://127.0.0.1:{port}/"],
                            capture_output=True, text=True, check=True, timeout=300).stdout
        return float(re.search(r"^Requests per second:\s+([0-9.]+)", ab, re.M).group(1))
    finally:
        # The server (contrace passes SIGTERM on to a launched command).
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=60)


def one(python, wl, mode, steady):
    name, args, key, _ = wl
    if name == "http":
        return one_http(python, mode, steady)
    return one_fixed(python, args, key, mode, steady)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--mode", default="futex", help="--gil mode of the traced runs (default: futex)")
    ap.add_argument("--only", help="workloads to run, comma-separated (default: all)")
    ap.add_argument("--steady", type=float, default=2.5,
                    help="seconds between the workload's start (and the tracer's) and the timed "
                         "work: 0 times the tracer's start too (default 2.5: its steady state)")
    ap.add_argument("--json")
    ap.add_argument("python", nargs="*")
    a = ap.parse_args()
    mode = [f"--gil={a.mode}"] if a.mode else []
    rows = []
    print("| interpreter | workload | bare (median) | traced (median) | slowdown, median of pairs (range) |")
    print("|---|---|---|---|---|")
    for python in a.python or pythons():
        for wl in WORKLOADS:
            if a.only and wl[0] not in a.only.split(","):
                continue
            name, _, key, higher = wl
            bare, traced, ratios = [], [], []
            for i in range(a.pairs):
                # Which goes first alternates: a drift of the machine hits both alike.
                if i % 2:
                    t, b = one(python, wl, mode, a.steady), one(python, wl, None, a.steady)
                else:
                    b, t = one(python, wl, None, a.steady), one(python, wl, mode, a.steady)
                bare.append(b)
                traced.append(t)
                # The traced run's slowdown: > 1 is slower, whatever the unit.
                ratios.append(b / t if higher else t / b)
            r = statistics.median(ratios)
            row = {"python": python, "workload": name, "unit": key, "bare": bare,
                   "traced": traced, "ratios": ratios, "median_ratio": r}
            rows.append(row)
            print(f"| {python} | {name} | {statistics.median(bare):.1f} {key} | "
                  f"{statistics.median(traced):.1f} {key} | x{r:.3f} "
                  f"({min(ratios):.2f}-{max(ratios):.2f}) |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
