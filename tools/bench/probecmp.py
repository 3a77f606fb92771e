#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The scheduler probe's cost per run, two contrace builds alternating in one
run (docs/performance.md, "Who had the CPU"): from kernel.bpf_stats_enabled,
the run_time_ns / run_cnt of the ct_sched_switch program each contrace loads,
read around the workload.

  tools/bench/probecmp.py OLD_CONTRACE NEW_CONTRACE [ROUNDS]
  tools/bench/probecmp.py --traced ROUNDS NAME=CONTRACE NAME=CONTRACE ...

The second form times the traced case only, for any number of builds (the
order rotating from round to round): builds with one part left out, say.

traced: 0.3 s into perf bench sched pipe under contrace (the run lasts
longer); bystander: the same untraced while contrace traces an idle process
(every switch of the machine passes through the program). A round whose
program cannot be told apart from another contrace's (one starting at the
same moment) is left out.
"""
import json
import statistics
import subprocess
import sys
import time

PIPE = ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-T", "-l", "50000"]
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def progs():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in json.loads(out) if p.get("name") == "ct_sched_switch"}


def measure(contrace, bystander):
    """ns per run of this contrace's ct_sched_switch, or None."""
    target = subprocess.Popen(["sleep", "1000"]) if bystander else None
    cmd = [contrace, "-v", "-q", "--json", "/dev/null"]
    cmd += ["-p", str(target.pid)] if bystander else ["--", *PIPE]
    before = set(progs())
    ct = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in ct.stderr:
            if "probes live" in line:
                break
        mine = [i for i in progs() if i not in before]
        if len(mine) != 1:
            return None
        s0 = progs().get(mine[0])
        if bystander:
            subprocess.run(PIPE, capture_output=True, check=True)
        else:
            time.sleep(0.3)
        s1 = progs().get(mine[0])
    finally:
        if ct.poll() is None:
            ct.send_signal(2)
            ct.wait()
        if target:
            target.kill()
            target.wait()
    if not s0 or not s1 or s1[1] == s0[1]:
        return None
    return (s1[0] - s0[0]) / (s1[1] - s0[1])


def traced_many(rounds, builds):
    """The traced case of each NAME=CONTRACE build, their order rotating."""
    res = {}
    for i in range(rounds):
        k = i % len(builds)
        for name, ct in builds[k:] + builds[:k]:
            r = measure(ct, False)
            if r:
                res.setdefault(name, []).append(r)
                print(i, name, f"{r:.1f} ns/run", flush=True)
    for name, _ in builds:
        v = res.get(name)
        if v:
            print(f"{name}: median {statistics.median(v):.1f} ns/run, range {min(v):.1f}-"
                  f"{max(v):.1f}, {len(v)} rounds")


def main():
    if sys.argv[1] == "--traced":
        was = open(STATS).read().strip()
        with open(STATS, "w") as f:
            f.write("1")
        try:
            traced_many(int(sys.argv[2]), [a.split("=", 1) for a in sys.argv[3:]])
        finally:
            with open(STATS, "w") as f:
                f.write(was)
        return
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    was = open(STATS).read().strip()
    res = {}
    with open(STATS, "w") as f:
        f.write("1")
    try:
        for i in range(rounds):
            pair = [("old", old), ("new", new)]
            for by in (True, False):
                for name, ct in pair if i % 2 == 0 else pair[::-1]:
                    r = measure(ct, by)
                    key = f"{name} {'bystander' if by else 'traced'}"
                    if r:
                        res.setdefault(key, []).append(r)
                        print(i, key, f"{r:.1f} ns/run", flush=True)
    finally:
        with open(STATS, "w") as f:
            f.write(was)
    for name, v in sorted(res.items()):
        print(f"{name}: median {statistics.median(v):.1f} ns/run, range {min(v):.1f}-{max(v):.1f}, "
              f"{len(v)} rounds")


if __name__ == "__main__":
    main()
