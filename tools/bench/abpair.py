#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""BPF time of contrace builds on one Python server, all attached at once
(docs/performance.md, "The GIL's words counted"): each build's programs
run at the same events in the same minutes, so the host's slow and fast
regimes, which scatter one build's runs by 1.5x, hit them all alike.

  tools/bench/abpair.py [--rounds N] [--python PY] [--workload W] [--all] NAME=CONTRACE...

Per round: the workload starts untraced, each build attaches with -p (in
a rotating order), and after 2.5 s it is measured: W `http`, a
ThreadingHTTPServer (tools/workloads/pygil.py http) under `ab -n 3000 -c
4`, per request; W `pingpong`, pygil.py's 4 pairs of threads passing 8
bytes through socketpairs, long-lived threads, per millisecond of 2 s.
Each build's programs are told apart by the prog ids in its
/proc/PID/fdinfo (bench.py's prog_stats), their run counts and times read
from kernel.bpf_stats_enabled around the measured part. The build attached first runs
first at every event and pays 10-25% more: compare rounds where each
build was first as many times (an even number of rounds for two builds).
Printed per build: BPF time per request in every round (first-attached
ones marked *), their sum, and the median ns a run of the busiest programs.
"""
import argparse
import os
import signal
import statistics
import subprocess
import time

from bench import prog_stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYGIL = os.path.join(ROOT, "tools/workloads/pygil.py")
STATS = "/proc/sys/kernel/bpf_stats_enabled"
REQUESTS = 3000
WINDOW_S = 2.0
SHOWN = ("ct_sched_switch", "ct_sched_waking", "ct_fork")


def one_round(python, order, workload):
    """BPF ns per unit (a request, a millisecond) and per-program ns a run, per build."""
    args = ["http"] if workload == "http" else ["pingpong", "4", "100000000"]
    srv = subprocess.Popen([python, PYGIL] + args, stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    tracers = []
    try:
        port = int(srv.stdout.readline().split()[1]) if workload == "http" else 0
        for name, contrace in order:
            tracers.append((name, subprocess.Popen(
                [contrace, "-q", "--json", "/dev/null", "-p", str(srv.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
            time.sleep(0.5)
        time.sleep(2.5)
        before = {name: prog_stats(p.pid) for name, p in tracers}
        if workload == "http":
            subprocess.run(["ab", "-q", "-n", str(REQUESTS), "-c", "4",
                            f"http://127.0.0.1:{port}/"], capture_output=True, check=True)
        else:
            time.sleep(WINDOW_S)
        after = {name: prog_stats(p.pid) for name, p in tracers}
    finally:
        for _, p in tracers:
            p.send_signal(signal.SIGINT)
        for _, p in tracers:
            p.wait()
        os.killpg(srv.pid, signal.SIGTERM)
        srv.wait()
    out = {}
    units = REQUESTS if workload == "http" else WINDOW_S * 1e3
    for name, _ in order:
        total, per_run, per_unit = 0, {}, {}
        for prog in before[name].keys() & after[name].keys():
            ns = after[name][prog][0] - before[name][prog][0]
            runs = after[name][prog][1] - before[name][prog][1]
            total += ns
            if runs:
                per_run[prog] = ns / runs
                per_unit[prog] = (runs / units, ns / units)
        out[name] = (total / units, per_run, per_unit)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--python", default=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3"))
    ap.add_argument("--workload", choices=("http", "pingpong"), default="http")
    ap.add_argument("--all", action="store_true",
                    help="every program: runs and ns per unit (medians), not only the busiest")
    ap.add_argument("builds", nargs="+", help="NAME=CONTRACE")
    args = ap.parse_args()
    builds = [b.split("=", 1) for b in args.builds]
    if any(len(b) != 2 for b in builds):
        ap.error("builds are NAME=CONTRACE")
    old = open(STATS).read().strip()
    with open(STATS, "w") as f:
        f.write("1")
    rounds = []
    try:
        for r in range(args.rounds):
            k = r % len(builds)
            order = builds[k:] + builds[:k]
            rounds.append((order[0][0], one_round(args.python, order, args.workload)))
    finally:
        with open(STATS, "w") as f:
            f.write(old)
    unit = "request" if args.workload == "http" else "ms"
    for name, _ in builds:
        per = [(first == name, res[name][0]) for first, res in rounds]
        cells = " ".join(f"{ns / 1e3:.1f}{'*' if first else ''}" for first, ns in per)
        print(f"{name}: BPF us per {unit} by round {cells}; sum {sum(ns for _, ns in per) / 1e3:.1f}")
        for prog in SHOWN:
            runs = [res[name][1][prog] for _, res in rounds if prog in res[name][1]]
            if runs:
                print(f"  {prog:18s} ns a run, median {statistics.median(runs):7.0f}")
        if args.all:
            progs = {p for _, res in rounds for p in res[name][2]}
            rows = []
            for prog in progs:
                cells = [res[name][2][prog] for _, res in rounds if prog in res[name][2]]
                rows.append((statistics.median(c[1] for c in cells),
                             statistics.median(c[0] for c in cells), prog))
            for ns, runs, prog in sorted(rows, reverse=True):
                print(f"  {prog:22s} {runs:8.2f} runs, {ns:8.0f} ns a {unit} (medians)")


if __name__ == "__main__":
    main()
