#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""What contrace serve over N idle target processes costs every context switch
of the machine: `taskset -c 0 perf bench sched pipe -T -l LOOPS` (a process
serve does not trace) in us/op with no serve, and with serve --comm over N
idle processes for each binary given, interleaved round by round (the machine
may be shared: compare within a round). With bpf_stats on, the BPF time per
context switch: the run time of every ct_sched_switch and ct_sched_waking
program serve holds, over the switches one of them saw.

Usage: serve_cost.py [--targets N] [--rounds R] [--loops L] BINARY... (root)
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prog_ids(pid):
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            ids |= {int(l.split()[1]) for l in open(f"/proc/{pid}/fdinfo/{fd}")
                    if l.startswith("prog_id:")}
        except OSError:
            pass
    return ids


def sched_stats(ids):
    """{name: [(run_time_ns, run_cnt) per program]} of the scheduler programs among ids."""
    out = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                    text=True, check=True).stdout)
    stats = {}
    for p in out:
        if p["id"] in ids and p.get("name") in ("ct_sched_switch", "ct_sched_waking"):
            stats.setdefault(p["name"], []).append((p.get("run_time_ns", 0),
                                                    p.get("run_cnt", 0)))
    return stats


def pipe_us(loops):
    out = subprocess.run(["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-T", "-l",
                          str(loops)], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([\d.]+) usecs/op", out).group(1))


def with_serve(binary, name, ntargets, loops):
    """(us/op, BPF ns per switch, sched_switch programs) with serve running."""
    port = free_port()
    sv = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--comm", name],
                          stderr=subprocess.PIPE, text=True)
    try:
        if "serving" not in sv.stderr.readline():
            sys.exit("serve did not start")
        for _ in range(600):
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            if re.search(rf"^contrace_targets {ntargets}$", body, re.M):
                break
            time.sleep(0.1)
        else:
            sys.exit("serve did not trace every target")
        ids = prog_ids(sv.pid)
        s0 = sched_stats(ids)
        us = pipe_us(loops)
        s1 = sched_stats(ids)
    finally:
        sv.terminate()
        sv.wait(timeout=60)
    ns = sum(b[0] - a[0] for k in s1 for a, b in zip(s0[k], s1[k]))
    switches = s1["ct_sched_switch"][0][1] - s0["ct_sched_switch"][0][1]
    return us, ns / switches if switches else 0, len(s1["ct_sched_switch"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loops", type=int, default=100000)
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    name = "ctidle"
    exe = os.path.join(tmp, name)
    shutil.copy(shutil.which("sleep"), exe)
    idle = [subprocess.Popen([exe, "100000"]) for _ in range(args.targets)]
    old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    res = {"none": []}
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        for r in range(args.rounds):
            us = pipe_us(args.loops)
            res["none"].append((us, 0, 0))
            print(f"round {r}: no serve {us:.1f} us/op", flush=True)
            for b in args.binaries:
                x = with_serve(b, name, args.targets, args.loops)
                res.setdefault(b, []).append(x)
                print(f"round {r}: {b}: {x[0]:.1f} us/op, {x[1]:.0f} ns of BPF per switch "
                      f"({x[2]} ct_sched_switch programs)", flush=True)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
        for p in idle:
            p.kill()
            p.wait()
        shutil.rmtree(tmp)
    for k, v in res.items():
        print(f"{k}: median {statistics.median(x[0] for x in v):.1f} us/op "
              f"(all {[round(x[0], 1) for x in v]}), BPF "
              f"{statistics.median(x[1] for x in v):.0f} ns per switch")


if __name__ == "__main__":
    main()
