#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""contrace's overhead on this machine, measured the way docs/performance.md
reports it. Bare and traced runs alternate (pairs); the median ratio and its
spread are reported, with the added nanoseconds per event.

  tools/bench/bench.py [--quick] [--pairs N] [--json FILE] [TEST...]

Tests (default: all):
  switch     perf bench sched pipe -T, pinned to one CPU: added ns per switch
  switch-S   the same with contrace -S (syscall tracepoints attached)
  switch-bpftrace  the same under a bpftrace sched_switch counter (reference)
  bystander  perf bench futex hash -t 1 in a process that is NOT traced,
             while contrace traces another one
  bystander-S  the same with contrace -S
  futex-hash    perf bench futex hash -t 1 traced (futex waits that never
                block: contrace sees none of them without -S)
  futex-hash-S  the same with contrace -S
  lock-pi    perf bench futex lock-pi traced: contended PI mutexes
  mutex      tools/workloads/locks mutex: 4 threads on one pthread mutex,
             5 us holds; wall time traced vs bare
  mutex-holds  the same with contrace --holds
  holds      locks loop: one thread locks and unlocks a mutex in a tight
             loop; ns per lock/unlock pair bare vs contrace --holds (the
             uprobes' cost per acquisition)
  gil-cpu    tools/workloads/pygil.py cpu 4 N: four CPU-bound Python threads
             (pyenv CPython with symbols: the GIL probes are on); wall time
  gil-read   pygil.py read N: os.read of one byte in a loop, each call a GIL
             release and re-take; ns per call bare vs traced
  gil-cpu-libc, gil-read-libc  the same with --gil=libc (tier B: the C
             library's mutex and condvar calls, as for a stripped interpreter)
  gil-cpu-futex, gil-read-futex  the same with --gil=futex (tier C: no
             uprobes, the GIL read at the scheduler events)
  attach     contrace -- true: time until the probes are live, and in total
  probes     per-probe cost from the kernel's BPF run-time statistics
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

from pythons import gil_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACE = os.environ.get("CONTRACE", os.path.join(ROOT, "build/contrace"))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kw)


def traced(cmd, extra=(), binary=None):
    """The command under contrace (or another build of it): no report output, -v for its own
    figures."""
    return [binary or CONTRACE, "-v", "-q", "--json", "/dev/null", *extra, "--", *cmd]


def own_cpu_ms(stderr):
    m = re.search(r"own CPU ([\d.]+) ms", stderr)
    return float(m.group(1)) if m else None


def sched_pipe(loops, tracer, binary=None):
    """usecs/op of sched pipe: bare (tracer None), under contrace (a list of its
    options), or while a bpftrace sched_switch counter runs ("bpftrace")."""
    cmd = ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-T", "-l", str(loops)]
    if tracer == "bpftrace":
        bt = subprocess.Popen(["bpftrace", "-e", "tracepoint:sched:sched_switch { @[tid] = count(); }"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        bt.stdout.readline()  # "Attaching 1 probe..."
        try:
            p = run(cmd)
        finally:
            bt.send_signal(2)
            bt.wait()
        own = None
    else:
        p = run(cmd if tracer is None else traced(cmd, tracer, binary))
        own = own_cpu_ms(p.stderr)
    usecs = float(re.search(r"([\d.]+) usecs/op", p.stdout).group(1))
    return usecs, own


def futex_bench(kind, seconds, tracer=None):
    """operations/s of perf bench futex KIND, bare or under contrace."""
    cmd = ["perf", "bench", "futex", kind, "-r", str(seconds)]
    if kind == "hash":
        cmd[4:4] = ["-t", "1"]
    p = run(cmd if tracer is None else traced(cmd, tracer))
    return float(re.search(r"Averaged (\d+) operations/sec", p.stdout).group(1))


def futex_hash(seconds):
    return futex_bench("hash", seconds)


def spread(values):
    return (min(values), max(values))


def quartiles(values):
    v = sorted(values)
    return (v[len(v) // 4], v[(3 * len(v)) // 4])


def bench_switch(pairs, loops, tracer, name):
    """Each op of sched pipe is a round trip: two context switches (and two
    reads, two writes: with -S their tracing is part of the cost)."""
    bare, trc, cpu = [], [], []
    for _ in range(pairs):
        bare.append(sched_pipe(loops, None)[0])
        usecs, own = sched_pipe(loops, tracer)
        trc.append(usecs)
        if own is not None:
            cpu.append(own)
    ratios = [t / b for b, t in zip(bare, trc)]
    added_ns = [(t - b) * 1000 / 2 for b, t in zip(bare, trc)]
    return {
        "test": "switch",
        "name": name,
        "command": f"taskset -c 0 perf bench sched pipe -T -l {loops}",
        "bare_usecs_per_op": statistics.median(bare),
        "traced_usecs_per_op": statistics.median(trc),
        "ratio": statistics.median(ratios),
        "ratio_range": spread(ratios),
        "added_ns_per_switch": statistics.median(added_ns),
        "added_ns_range": spread(added_ns),
        "added_ns_iqr": quartiles(added_ns),
        "contrace_cpu_ms": statistics.median(cpu) if cpu else None,
        "switches_per_run": 2 * loops,
        "pairs": pairs,
    }


def bench_versus(pairs, loops, other):
    """The cost per switch of two builds in one run: bare, this build, the other build, in
    turn, so that the machine's drift and other load hit all three alike."""
    bare, mine, theirs = [], [], []
    for _ in range(pairs):
        bare.append(sched_pipe(loops, None)[0])
        mine.append(sched_pipe(loops, [])[0])
        theirs.append(sched_pipe(loops, [], other)[0])
    added = lambda t: [(x - b) * 1000 / 2 for b, x in zip(bare, t)]
    return {
        "test": "switch-versus",
        "name": f"{CONTRACE} vs {other}",
        "command": f"taskset -c 0 perf bench sched pipe -T -l {loops}",
        "bare_usecs_per_op": statistics.median(bare),
        "added_ns_per_switch": statistics.median(added(mine)),
        "added_ns_iqr": quartiles(added(mine)),
        "other_added_ns_per_switch": statistics.median(added(theirs)),
        "other_added_ns_iqr": quartiles(added(theirs)),
        "ratio_to_other": statistics.median([m / t for m, t in zip(mine, theirs)]),
        "pairs": pairs,
    }


def start_idle_trace(extra):
    """contrace tracing an idle process until stopped: its probes stay attached."""
    target = subprocess.Popen(["sleep", "1000"])
    ct = subprocess.Popen([CONTRACE, "-v", "-q", "--json", "/dev/null", *extra, "-p",
                           str(target.pid)], stderr=subprocess.PIPE, text=True)
    for line in ct.stderr:
        if "probes live" in line:
            return target, ct
    raise RuntimeError("contrace did not start")


def bench_bystander(pairs, seconds, extra, name):
    bare, trc = [], []
    for _ in range(pairs):
        bare.append(futex_hash(seconds))
        target, ct = start_idle_trace(extra)
        try:
            trc.append(futex_hash(seconds))
        finally:
            ct.send_signal(2)
            ct.wait()
            target.kill()
            target.wait()
    slowdown = [1 - t / b for b, t in zip(bare, trc)]
    added_ns = [(1e9 / t - 1e9 / b) for b, t in zip(bare, trc)]
    return {
        "test": "bystander",
        "name": name,
        "command": f"perf bench futex hash -t 1 -r {seconds} (not traced)",
        "bare_ops_per_sec": statistics.median(bare),
        "traced_ops_per_sec": statistics.median(trc),
        "slowdown": statistics.median(slowdown),
        "slowdown_range": spread(slowdown),
        "added_ns_per_op": statistics.median(added_ns),
        "pairs": pairs,
    }


def bench_futex(pairs, seconds, kind, extra, name):
    """The traced program itself makes futex calls: ops/s bare vs traced."""
    bare, trc = [], []
    for _ in range(pairs):
        bare.append(futex_bench(kind, seconds))
        trc.append(futex_bench(kind, seconds, extra))
    slowdown = [1 - t / b for b, t in zip(bare, trc)]
    added_ns = [(1e9 / t - 1e9 / b) for b, t in zip(bare, trc)]
    return {
        "test": "futex",
        "name": name,
        "command": f"perf bench futex {kind}" + (" -t 1" if kind == "hash" else "")
                   + f" -r {seconds} (traced)",
        "bare_ops_per_sec": statistics.median(bare),
        "traced_ops_per_sec": statistics.median(trc),
        "slowdown": statistics.median(slowdown),
        "slowdown_range": spread(slowdown),
        "added_ns_per_op": statistics.median(added_ns),
        "pairs": pairs,
    }


def locks_wall(tracer):
    cmd = [os.path.join(ROOT, "build/workloads/locks"), "mutex", "4", "5000", "5"]
    start = time.monotonic()
    run(cmd if tracer is None else traced(cmd, tracer))
    return time.monotonic() - start


def bench_mutex(pairs, extra, name):
    """A contended pthread mutex: every unlock wakes a waiter (futex wait and wake)."""
    bare, trc = [], []
    for _ in range(pairs):
        bare.append(locks_wall(None))
        trc.append(locks_wall(extra))
    ratios = [t / b for b, t in zip(bare, trc)]
    return {
        "test": "mutex",
        "name": name,
        "command": "locks mutex 4 5000 5 (4 threads, 5 us holds; wall time)",
        "bare_s": statistics.median(bare),
        "traced_s": statistics.median(trc),
        "ratio": statistics.median(ratios),
        "ratio_range": spread(ratios),
        "pairs": pairs,
    }


def loop_ns(tracer, iterations):
    cmd = [os.path.join(ROOT, "build/workloads/locks"), "loop", "1", str(iterations), "0"]
    out = run(cmd if tracer is None else traced(cmd, tracer)).stdout
    return float(re.search(r"^loop \d+ ([\d.]+)$", out, re.M).group(1))


def bench_holds(pairs, iterations):
    """Per lock/unlock pair: the two --holds uprobes (and the default probes, which see nothing here)."""
    bare, trc = [], []
    for _ in range(pairs):
        bare.append(loop_ns(None, iterations))
        trc.append(loop_ns(["--holds"], iterations))
    added = [t - b for b, t in zip(bare, trc)]
    return {
        "test": "holds",
        "name": "contrace --holds",
        "command": f"locks loop 1 {iterations} 0 (lock/unlock pairs, one thread)",
        "bare_ns_per_pair": statistics.median(bare),
        "traced_ns_per_pair": statistics.median(trc),
        "added_ns_per_pair": statistics.median(added),
        "added_range": spread(added),
        "pairs": pairs,
    }


def pygil(python, args, tracer):
    cmd = [python, os.path.join(ROOT, "tools/workloads/pygil.py"), *args]
    out = run(cmd if tracer is None else traced(cmd, tracer)).stdout
    return float(out.split()[-1])


def bench_gil(pairs, python, args, name, unit, extra=()):
    bare, trc = [], []
    for _ in range(pairs):
        bare.append(pygil(python, args, None))
        trc.append(pygil(python, args, list(extra)))
    ratios = [t / b for b, t in zip(bare, trc)]
    return {
        "test": "gil",
        "name": name,
        "command": f"{os.path.basename(os.path.dirname(os.path.dirname(python)))} "
                   f"pygil.py {' '.join(args)}",
        "unit": unit,
        "bare": statistics.median(bare),
        "traced": statistics.median(trc),
        "ratio": statistics.median(ratios),
        "ratio_range": spread(ratios),
        "added": statistics.median([t - b for b, t in zip(bare, trc)]),
        "pairs": pairs,
    }


def bench_attach(runs):
    live, total = [], []
    for _ in range(runs):
        start = time.monotonic()
        p = run(traced(["true"]))
        total.append((time.monotonic() - start) * 1000)
        live.append(float(re.search(r"probes live after ([\d.]+) ms", p.stderr).group(1)))
    return {
        "test": "attach",
        "command": "contrace -q --json /dev/null -- true",
        "probes_live_ms": statistics.median(live),
        "probes_live_range": spread(live),
        "total_ms": statistics.median(total),
        "total_range": spread(total),
        "runs": runs,
    }


def prog_stats(pid=None):
    """run time and count of contrace's programs (of process pid only, if given: other
    contrace instances may be loaded)."""
    out = run(["bpftool", "-j", "prog", "show"]).stdout
    ids = prog_ids(pid) if pid else None
    return {p["name"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in json.loads(out) if p.get("name", "").startswith("ct_")
            and (ids is None or p["id"] in ids)}


def prog_ids(pid):
    """The ids of the BPF programs process pid holds, from its descriptors' fdinfo."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for fd in fds:
        try:
            for line in open(f"/proc/{pid}/fdinfo/{fd}"):
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def bench_probes(loops, binary=None):
    """Mean cost of each probe while tracing sched pipe, from bpf_stats (which
    itself adds a little: these are upper bounds)."""
    old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    stats = {}
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        cmd = traced(["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-T", "-l",
                      str(loops)], binary=binary)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = threading.Event()

        def poll():
            while not done.is_set():
                try:
                    stats.update(prog_stats(proc.pid))
                except subprocess.CalledProcessError:
                    pass
                time.sleep(0.2)

        t = threading.Thread(target=poll)
        t.start()
        proc.wait()
        done.set()
        t.join()
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    return {
        "test": "probes",
        "command": f"bpf_stats while tracing taskset -c 0 perf bench sched pipe -T -l {loops}",
        "programs": {name: {"runs": cnt, "ns_per_run": (ns / cnt if cnt else 0)}
                     for name, (ns, cnt) in sorted(stats.items())},
    }


def markdown(results):
    lines = []
    for r in results:
        if r["test"] == "switch":
            own = (f"; contrace CPU {r['contrace_cpu_ms']:.0f} ms per run"
                   if r["contrace_cpu_ms"] is not None else "")
            lines.append(f"| {r['name']}: context switch (`{r['command']}`) "
                         f"| {r['bare_usecs_per_op']:.2f} us/op "
                         f"| {r['traced_usecs_per_op']:.2f} us/op | x{r['ratio']:.3f} "
                         f"({r['ratio_range'][0]:.3f}-{r['ratio_range'][1]:.3f}) "
                         f"| **{r['added_ns_per_switch']:.0f} ns per switch** "
                         f"(IQR {r['added_ns_iqr'][0]:.0f} to {r['added_ns_iqr'][1]:.0f}){own} |")
        elif r["test"] == "switch-versus":
            lines.append(f"| context switch, two builds in turn (`{r['command']}`) "
                         f"| {r['bare_usecs_per_op']:.2f} us/op "
                         f"| this build **{r['added_ns_per_switch']:.0f} ns per switch** (IQR "
                         f"{r['added_ns_iqr'][0]:.0f} to {r['added_ns_iqr'][1]:.0f}) "
                         f"| other {r['other_added_ns_per_switch']:.0f} ns (IQR "
                         f"{r['other_added_ns_iqr'][0]:.0f} to {r['other_added_ns_iqr'][1]:.0f}) "
                         f"| x{r['ratio_to_other']:.3f} of the other's time per op |")
        elif r["test"] == "bystander":
            lines.append(f"| {r['name']}: bystander (`{r['command']}`) "
                         f"| {r['bare_ops_per_sec']:,.0f} ops/s "
                         f"| {r['traced_ops_per_sec']:,.0f} ops/s | "
                         f"{-r['slowdown'] * 100:+.1f}% ({-r['slowdown_range'][1] * 100:+.1f} to "
                         f"{-r['slowdown_range'][0] * 100:+.1f}%) "
                         f"| {r['added_ns_per_op']:.0f} ns per syscall |")
        elif r["test"] == "futex":
            lines.append(f"| {r['name']}: `{r['command']}` "
                         f"| {r['bare_ops_per_sec']:,.0f} ops/s "
                         f"| {r['traced_ops_per_sec']:,.0f} ops/s | "
                         f"{-r['slowdown'] * 100:+.1f}% ({-r['slowdown_range'][1] * 100:+.1f} to "
                         f"{-r['slowdown_range'][0] * 100:+.1f}%) "
                         f"| {r['added_ns_per_op']:.0f} ns per op |")
        elif r["test"] == "mutex":
            lines.append(f"| {r['name']}: `{r['command']}` "
                         f"| {r['bare_s']:.3f} s | {r['traced_s']:.3f} s "
                         f"| x{r['ratio']:.3f} ({r['ratio_range'][0]:.3f}-"
                         f"{r['ratio_range'][1]:.3f}) | |")
        elif r["test"] == "holds":
            lines.append(f"| {r['name']}: `{r['command']}` "
                         f"| {r['bare_ns_per_pair']:.1f} ns/pair "
                         f"| {r['traced_ns_per_pair']:.0f} ns/pair | "
                         f"| **{r['added_ns_per_pair']:.0f} ns per lock+unlock** "
                         f"({r['added_range'][0]:.0f}-{r['added_range'][1]:.0f}) |")
        elif r["test"] == "gil":
            lines.append(f"| {r['name']}: `{r['command']}` "
                         f"| {r['bare']:.3f} {r['unit']} | {r['traced']:.3f} {r['unit']} "
                         f"| x{r['ratio']:.3f} ({r['ratio_range'][0]:.3f}-"
                         f"{r['ratio_range'][1]:.3f}) | +{r['added']:.3f} {r['unit']} |")
        elif r["test"] == "attach":
            lines.append(f"| start-up (`{r['command']}`) | | | | probes live after "
                         f"**{r['probes_live_ms']:.0f} ms** ({r['probes_live_range'][0]:.0f}-"
                         f"{r['probes_live_range'][1]:.0f}); whole run {r['total_ms']:.0f} ms |")
    table = ["| workload | bare | traced | ratio (range) | cost |",
             "|---|---|---|---|---|"] + lines
    for r in results:
        if r["test"] == "probes":
            table += ["", f"Per-probe cost ({r['command']}):", "",
                      "| program | runs | ns per run |", "|---|---|---|"]
            for name, p in r["programs"].items():
                table.append(f"| {name} | {p['runs']:,} | {p['ns_per_run']:.0f} |")
    return "\n".join(table)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["switch", "switch-S", "switch-bpftrace",
                                                 "bystander", "bystander-S", "futex-hash",
                                                 "futex-hash-S", "lock-pi", "mutex", "mutex-holds",
                                                 "holds", "gil-cpu", "gil-read", "gil-cpu-libc",
                                                 "gil-read-libc", "gil-cpu-futex",
                                                 "gil-read-futex", "attach",
                                                 "probes"])
    ap.add_argument("--quick", action="store_true", help="few pairs, short runs")
    ap.add_argument("--pairs", type=int, default=None)
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--versus", metavar="BINARY",
                    help="test switch-versus: this build against another contrace binary")
    args = ap.parse_args()
    # Short adjacent runs: this VM's speed drifts by 10-20% over seconds, and
    # the drift cancels within a pair. Many pairs, median of the pair ratios.
    pairs = args.pairs or (5 if args.quick else 40)
    loops = 50000 if args.quick else 100000
    seconds = 1 if args.quick else 2
    if os.geteuid() != 0:
        sys.exit("bench.py: must run as root")
    results = []
    for test in args.tests:
        print(f"bench: {test} ...", file=sys.stderr, flush=True)
        if test == "switch":
            results.append(bench_switch(pairs, loops, [], "contrace"))
        elif test == "switch-versus":
            if not args.versus:
                sys.exit("bench.py: switch-versus needs --versus BINARY")
            results.append(bench_versus(pairs, loops, args.versus))
        elif test == "switch-S":
            results.append(bench_switch(pairs, loops, ["-S"], "contrace -S"))
        elif test == "switch-bpftrace":
            results.append(bench_switch(max(pairs // 2, 3), loops, "bpftrace",
                                        "bpftrace sched_switch counter"))
        elif test == "bystander":
            results.append(bench_bystander(max(pairs // 4, 3), seconds, [], "contrace"))
        elif test == "bystander-S":
            results.append(bench_bystander(max(pairs // 4, 3), seconds, ["-S"], "contrace -S"))
        elif test == "futex-hash":
            results.append(bench_futex(max(pairs // 4, 3), seconds, "hash", [], "contrace"))
        elif test == "futex-hash-S":
            results.append(bench_futex(max(pairs // 4, 3), seconds, "hash", ["-S"],
                                       "contrace -S"))
        elif test == "lock-pi":
            results.append(bench_futex(max(pairs // 4, 3), seconds, "lock-pi", [], "contrace"))
        elif test == "mutex":
            results.append(bench_mutex(max(pairs // 2, 3), [], "contrace"))
        elif test == "mutex-holds":
            results.append(bench_mutex(max(pairs // 2, 3), ["--holds"], "contrace --holds"))
        elif test == "holds":
            results.append(bench_holds(max(pairs // 4, 3), 100000 if args.quick else 300000))
        elif test in ("gil-cpu", "gil-read", "gil-cpu-libc", "gil-read-libc",
                      "gil-cpu-futex", "gil-read-futex"):
            python, _ = gil_python()
            tier = test.split("-")[2] if test.count("-") == 2 else None
            extra = [f"--gil={tier}"] if tier else []
            name = {"libc": "contrace (GIL, tier B: libc)",
                    "futex": "contrace (GIL, tier C: futex)"}.get(tier, "contrace (GIL, tier A)")
            if not python:
                print(f"bench: {test} skipped: no CPython with symbols under /root/.pyenv",
                      file=sys.stderr)
            elif test.startswith("gil-cpu"):
                results.append(bench_gil(max(pairs // 4, 3), python,
                                         ["cpu", "4", "2000000" if args.quick else "8000000"],
                                         name, "s", extra))
            else:
                results.append(bench_gil(max(pairs // 4, 3), python,
                                         ["read", "100000" if args.quick else "500000"],
                                         name, "ns/call", extra))
        elif test == "attach":
            results.append(bench_attach(max(pairs, 5)))
        elif test == "probes":
            results.append(bench_probes(loops))
        else:
            sys.exit(f"bench.py: unknown test {test}")
    uname = os.uname()
    print(f"# {time.strftime('%Y-%m-%d')} Linux {uname.release}, {os.cpu_count()} CPUs")
    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
