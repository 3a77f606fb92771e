#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""How far apart the GIL tiers date the same run.

  gilskew.py PYTHON ROLE [ROUNDS] [--modes uprobe,libc,futex]

Starts tools/workloads/pyphased.py with four threads of ROLE (cpu, sleep,
zlib, io: io is two pipe pairs with 50 us handlers, as the e2e tests run
it), attaches one contrace per mode to it at once, runs one 1.2 s phase and
prints each mode's per-thread wait and hold, then how each mode's waits and
holds differ from the first mode's, in us per take (the first mode's takes).
The e2e test test_futex_tier_agrees_with_uprobes_attached compares tier C
with tier B on Debian's stripped 3.11 (no tier A there); this measures tier
B against tier A on a pyenv 3.11 with symbols, watching one run.

Environment: CONTRACE (default build/contrace), run as root.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONTRACE = os.environ.get("CONTRACE", os.path.join(ROOT, "build", "contrace"))
PYPHASED = os.path.join(ROOT, "tools", "workloads", "pyphased.py")


def start(python, role):
    argv = [python, PYPHASED, f"--{role}", "2" if role == "io" else "4", "--ms", "1200"]
    if role == "io":
        argv += ["--work", "50"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    threads = {}
    for line in proc.stdout:
        f = line.split()
        if f[0] == "thread":
            threads[int(f[1])] = f[2]
        elif f[0] == "ready":
            return proc, [t for t, r in threads.items() if r == role]
    sys.exit(f"gilskew: {argv} ended before it was ready")


def attach(pid, mode, path):
    p = subprocess.Popen([CONTRACE, "-p", str(pid), "--json", path, f"--gil={mode}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()  # "tracing pid" once attached, after any warnings
    while line.startswith("contrace: warning:"):
        line = p.stderr.readline()
    if "tracing pid" not in line:
        p.kill()
        sys.exit(f"gilskew: contrace did not start: {line}{p.stderr.read()}")
    return p


def one_round(python, role, modes, tmp):
    wl, workers = start(python, role)
    try:
        paths = [os.path.join(tmp, f"{m}.json") for m in modes]
        tracers = [attach(wl.pid, m, p) for m, p in zip(modes, paths)]
        time.sleep(0.3)
        wl.send_signal(signal.SIGUSR1)
        assert wl.stdout.readline().startswith("done")
        for t in tracers:
            t.send_signal(signal.SIGINT)
        for t in tracers:
            if t.wait(timeout=60):
                sys.exit(f"gilskew: contrace failed: {t.stderr.read()}")
    finally:
        wl.send_signal(signal.SIGTERM)
        wl.wait(timeout=30)
    out = []
    for p in paths:
        with open(p) as f:
            proc = json.load(f)["processes"][0]
        ts = {t["tid"]: t["gil"] for t in proc["threads"] if t["gil"]}
        out.append((proc["gil"]["tier"], [ts[w] for w in workers]))
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--modes")]
    modes = ["uprobe", "libc", "futex"]
    for a in sys.argv[1:]:
        if a.startswith("--modes="):
            modes = a.split("=", 1)[1].split(",")
    if len(args) < 2:
        sys.exit(__doc__)
    python, role = args[0], args[1]
    rounds = int(args[2]) if len(args) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            res = one_round(python, role, modes, tmp)
            ref = res[0][1]
            takes = sum(t["takes"] for t in ref) or 1
            for tier, ts in res:
                w = sum(t["wait_ns"] for t in ts)
                h = sum(t["hold_ns"] for t in ts)
                dw = (w - sum(t["wait_ns"] for t in ref)) / takes / 1e3
                dh = (h - sum(t["hold_ns"] for t in ref)) / takes / 1e3
                print(f"round {r} {tier:8} wait {w / 4e6:6.1f} hold {h / 4e6:6.1f} ms a thread, "
                      f"takes {sum(t['takes'] for t in ts) // 4:5}; against {res[0][0]}: "
                      f"wait {dw:+6.1f} hold {dh:+6.1f} us a take")


if __name__ == "__main__":
    main()
