#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""contrace against the tools a user would run instead, on this machine.

Overhead: each workload runs bare and under a tracer, alternately, PAIRS
times per tracer; the workload times itself (usecs/op, ns per call, its own
elapsed time), so a tracer's start-up and report are not counted. Per
tracer: the median of the per-pair ratios and their range, the added
nanoseconds per event where the workload's events are known (2 switches per
sched pipe round trip, 1 syscall per futex hash op or read), the CPU the
whole run took beyond the bare run's (tracer and workload, from wait4), and
the run's max RSS (the larger of tracer and workload).

  switches   taskset -c 0 perf bench sched pipe -T; perf bench sched
             messaging -t: contrace; perf sched record; bpftrace counting
             sched_switch per thread with off-CPU time
  syscalls   perf bench futex hash -t 1; readloop (read of 1 byte in a
             loop): contrace -S; strace -c -f; perf trace -s; bpftrace
             counting raw_syscalls per thread and syscall
  locks      locks mutex (4 threads on one pthread mutex); perf bench futex
             lock-pi: contrace; bpftrace timing futex calls per address
  gil        pygil.py cpu (4 CPU-bound threads), pygil.py read (os.read
             loop): contrace; bpftrace uprobes on take_gil/drop_gil

Bystanders: the same microbenchmarks in a process that is not traced, while
contrace traces another one. Accuracy: contrace's figures against the
kernel's (wait4's rusage of the traced process: switches, CPU time), the
workload's own (read calls, lock wait timed with clock_gettime) and the
peers' where they count the same thing. Start-up: `contrace -- true` until
its probes are live and in total, against bpftrace's.

Usage: peers.py [--quick] [--pairs N] [--only GROUP ...] [--json FILE]
(root; `make bench` runs it). --quick: 3 pairs, smaller runs.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from pythons import gil_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACE = os.environ.get("CONTRACE", os.path.join(ROOT, "build/contrace"))
WORKLOADS = os.path.join(ROOT, "build/workloads")
PYGIL = os.path.join(ROOT, "tools/workloads/pygil.py")

BT_SCHED = """tracepoint:sched:sched_switch {
  if (pid == cpid) { @switches[tid] = count(); @out[tid] = nsecs; }
  if (@out[args->next_pid]) {
    @offcpu_ns[args->next_pid] = sum(nsecs - @out[args->next_pid]);
    delete(@out[args->next_pid]);
  }
}"""
BT_SYSCALLS = "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @calls[tid, args->id] = count(); }"
BT_FUTEX = """tracepoint:syscalls:sys_enter_futex /pid == cpid/ { @start[tid] = nsecs; @addr[tid] = args->uaddr; }
tracepoint:syscalls:sys_exit_futex /@start[tid]/ {
  @wait_ns[@addr[tid]] = sum(nsecs - @start[tid]); @calls[@addr[tid]] = count();
  delete(@start[tid]); delete(@addr[tid]);
}"""
BT_GIL = """uprobe:{lib}:take_gil /pid == cpid/ {{ @t[tid] = nsecs; }}
uretprobe:{lib}:take_gil /@t[tid]/ {{
  @wait_ns[tid] = sum(nsecs - @t[tid]); @takes[tid] = count(); delete(@t[tid]); @h[tid] = nsecs;
}}
uprobe:{lib}:drop_gil /@h[tid]/ {{ @hold_ns[tid] = sum(nsecs - @h[tid]); delete(@h[tid]); }}"""


class Run:
    """One command's output, status and resource use (wait4: the whole tree)."""

    def __init__(self, argv, stdin=None):
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=stdin)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            self.stdout, self.stderr = out.read(), err.read()
        if p.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)}: exit {p.returncode}: {self.stderr[-500:]}")
        self.cpu_s = ru.ru_utime + ru.ru_stime
        self.maxrss_kib = ru.ru_maxrss


# Workloads: the command, how to read its own cost from its output (lower is
# better), the unit, and events per unit of cost (for ns per event), if known.
def workloads(quick):
    python, lib = gil_python()
    w = {
        "pipe": {
            "group": "switches",
            "cmd": ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-T", "-l",
                    "50000" if quick else "100000"],
            "cost": lambda out: float(re.search(r"([\d.]+) usecs/op", out).group(1)) * 1000,
            "unit": "ns/op", "events": 2, "event": "switch",
        },
        "messaging": {
            "group": "switches",
            "cmd": ["perf", "bench", "sched", "messaging", "-t", "-g", "2", "-l",
                    "200" if quick else "500"],
            "cost": lambda out: float(re.search(r"Total time: ([\d.]+)", out).group(1)),
            "unit": "s",
        },
        "futex-hash": {
            "group": "syscalls",
            "cmd": ["perf", "bench", "futex", "hash", "-t", "1", "-r", "1"],
            "cost": lambda out: 1e9 / float(re.search(r"Averaged (\d+) operations/sec", out).group(1)),
            "unit": "ns/op", "events": 1, "event": "syscall", "fixed_time": True,
        },
        "read": {
            "group": "syscalls",
            "cmd": [os.path.join(WORKLOADS, "readloop"), "20000" if quick else "50000"],
            "cost": lambda out: float(re.search(r"ns_per_call ([\d.]+)", out).group(1)),
            "unit": "ns/call", "events": 1, "event": "syscall",
        },
        "mutex": {
            "group": "locks",
            "cmd": [os.path.join(WORKLOADS, "locks"), "mutex", "4", "1000" if quick else "2000",
                    "5"],
            "cost": lambda out: int(re.search(r"elapsed_ns (\d+)", out).group(1)) / 1e9,
            "unit": "s",
        },
        "lock-pi": {
            "group": "locks",
            "cmd": ["perf", "bench", "futex", "lock-pi", "-r", "1"],
            "cost": lambda out: 1e9 / float(re.search(r"Averaged (\d+) operations/sec", out).group(1)),
            "unit": "ns/op", "fixed_time": True,
        },
    }
    if python:
        w["gil-cpu"] = {
            "group": "gil",
            "cmd": [python, PYGIL, "cpu", "4", "1000000" if quick else "3000000"],
            "cost": lambda out: float(re.search(r"elapsed ([\d.]+)", out).group(1)),
            "unit": "s", "lib": lib or python,
        }
        w["gil-read"] = {
            "group": "gil",
            "cmd": [python, PYGIL, "read", "50000" if quick else "200000"],
            "cost": lambda out: float(re.search(r"ns_per_call ([\d.]+)", out).group(1)),
            "unit": "ns/call", "events": 1, "event": "release and re-take", "lib": lib or python,
        }
    return w


def bpftrace(cmd, script):
    """bpftrace running cmd (its -c wants a path that names one file)."""
    cmd = [os.path.realpath(shutil.which(cmd[0]) or cmd[0]), *cmd[1:]]
    return ["bpftrace", "-q", "-c", shlex.join(cmd), "-e", script]


# Tracers per group: name -> argv maker (cmd, scratch file, workload).
TRACERS = {
    "switches": {
        "contrace": lambda c, f, w: [CONTRACE, "-v", "-q", "--json", "/dev/null", "--", *c],
        "perf sched record": lambda c, f, w: ["perf", "sched", "record", "-q", "-o", f, "--", *c],
        "bpftrace (switches, off-CPU)": lambda c, f, w: bpftrace(c, BT_SCHED),
    },
    "syscalls": {
        "contrace -S": lambda c, f, w: [CONTRACE, "-v", "-S", "-q", "--json", "/dev/null", "--", *c],
        "strace -c -f": lambda c, f, w: ["strace", "-c", "-f", "-o", f, *c],
        "perf trace -s": lambda c, f, w: ["perf", "trace", "-s", "-o", f, "--", *c],
        "bpftrace (raw_syscalls)": lambda c, f, w: bpftrace(c, BT_SYSCALLS),
    },
    "locks": {
        "contrace": lambda c, f, w: [CONTRACE, "-v", "-q", "--json", "/dev/null", "--", *c],
        "bpftrace (futex times)": lambda c, f, w: bpftrace(c, BT_FUTEX),
    },
    "gil": {
        "contrace": lambda c, f, w: [CONTRACE, "-v", "-q", "--json", "/dev/null", "--", *c],
        "bpftrace (take_gil/drop_gil)": lambda c, f, w: bpftrace(c, BT_GIL.format(lib=w["lib"])),
    },
}


def own(stderr):
    """contrace -v's own CPU (ms) and max RSS (KiB)."""
    m = re.search(r"own CPU ([\d.]+) ms .*max RSS (\d+) KiB", stderr)
    return (float(m.group(1)), int(m.group(2))) if m else (None, None)


def overhead(name, w, tracer, make, pairs):
    bare, trc, cpu_added, rss, own_cpu = [], [], [], [], []
    with tempfile.TemporaryDirectory() as d:
        scratch = os.path.join(d, "out")
        for _ in range(pairs):
            b = Run(w["cmd"])
            t = Run(make(w["cmd"], scratch, w))
            if os.path.exists(scratch):
                os.unlink(scratch)
            bare.append(w["cost"](b.stdout))
            trc.append(w["cost"](t.stdout))
            cpu_added.append((t.cpu_s - b.cpu_s) * 1000)
            rss.append(t.maxrss_kib)
            oc, _ = own(t.stderr)
            if oc is not None:
                own_cpu.append(oc)
    ratios = [t / b for b, t in zip(bare, trc)]
    r = {
        "workload": name, "group": w["group"], "tracer": tracer,
        "command": shlex.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a
                              for a in w["cmd"]),
        "unit": w["unit"], "pairs": pairs,
        "bare": statistics.median(bare), "traced": statistics.median(trc),
        "ratio": statistics.median(ratios), "ratio_range": [min(ratios), max(ratios)],
        # A run of fixed length (-r) does less work when slowed: its CPU says nothing.
        "cpu_added_ms": None if w.get("fixed_time") else statistics.median(cpu_added),
        "max_rss_kib": max(rss),
        "contrace_own_cpu_ms": statistics.median(own_cpu) if own_cpu else None,
    }
    if w.get("events"):
        r["added_ns_per_event"] = statistics.median(
            [(t - b) / w["events"] for b, t in zip(bare, trc)])
        r["event"] = w["event"]
    return r


def bystanders(pairs, quick):
    """The pipe and read microbenchmarks in a process contrace does not trace,
    while it traces an idle sleeper (and with -S)."""
    out = []
    w = workloads(quick)
    for extra in ([], ["-S"]):
        for name in ("pipe", "read"):
            bare, trc = [], []
            for _ in range(pairs):
                bare.append(w[name]["cost"](Run(w[name]["cmd"]).stdout))
                idle = subprocess.Popen([CONTRACE, "-q", "--json", "/dev/null", *extra, "--",
                                         "sleep", "100"], stderr=subprocess.PIPE, text=True)
                time.sleep(1.0)  # probes live (start-up is well under a second)
                try:
                    trc.append(w[name]["cost"](Run(w[name]["cmd"]).stdout))
                finally:
                    idle.send_signal(2)
                    idle.wait()
            ratios = [t / b for b, t in zip(bare, trc)]
            out.append({"workload": name, "tracer": "contrace " + " ".join(extra),
                        "bare": statistics.median(bare), "traced": statistics.median(trc),
                        "unit": w[name]["unit"], "ratio": statistics.median(ratios),
                        "ratio_range": [min(ratios), max(ratios)], "pairs": pairs})
    return out


def attached(cmd, extra=()):
    """cmd run by this script, contrace attached (-p) before it starts; the
    command's rusage from wait4, contrace's JSON report."""
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        target = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "sh", *cmd],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        tr = subprocess.Popen([CONTRACE, "-v", "-q", "--json", js, *extra, "-p", str(target.pid)],
                              stderr=subprocess.PIPE, text=True)
        for line in tr.stderr:
            if "probes live" in line:
                break
        target.stdin.write("\n")
        target.stdin.close()
        out = target.stdout.read()
        _, status, ru = os.wait4(target.pid, 0)
        tr.wait(timeout=60)
        return out, ru, json.load(open(js))


def parse_strace(path):
    calls = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[-1].isidentifier() and f[3].isdigit():
            calls[f[-1]] = int(f[3])
    return calls


def task_counters(pid):
    """Per thread: (on-CPU ns, run-queue ns, voluntary, involuntary) from /proc."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            oncpu, runq, _ = (int(x) for x in f.read().split())
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        out[int(tid)] = (oncpu, runq, int(st["voluntary_ctxt_switches"]),
                         int(st["nonvoluntary_ctxt_switches"]))
    return out


def phased_accuracy():
    """Threads that spin, sleep and ping-pong (4 on 2 CPUs: they queue) for
    one phase while contrace is attached; the kernel's per-thread counters
    before and after the phase against contrace's per-thread figures."""
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        w = subprocess.Popen([os.path.join(WORKLOADS, "phased"), "--spin", "2", "--sleep", "1",
                              "--pingpong", "1", "--ms", "400"], stdout=subprocess.PIPE,
                             text=True)
        for line in w.stdout:
            if line.strip() == "ready":
                break
        tr = subprocess.Popen([CONTRACE, "-v", "-q", "--json", js, "-p", str(w.pid)],
                              stderr=subprocess.PIPE, text=True)
        for line in tr.stderr:
            if "probes live" in line:
                break
        before = task_counters(w.pid)
        w.send_signal(10)  # SIGUSR1: one phase
        for line in w.stdout:
            if line.startswith("done"):
                break
        after = task_counters(w.pid)
        tr.send_signal(2)
        tr.wait(timeout=60)
        w.terminate()
        w.wait()
        threads = {t["tid"]: t for t in json.load(open(js))["processes"][0]["threads"]}
    sums = [[0, 0] for _ in range(4)]
    for tid, a in after.items():
        b, t = before.get(tid), threads.get(tid)
        if not b or not t:
            continue
        ours = (t["oncpu_ns"] + t["stolen_ns"], t["runq_ns"], t["voluntary_switches"],
                t["involuntary_switches"])
        for i in range(4):
            sums[i][0] += a[i] - b[i]
            sums[i][1] += ours[i]
    names = ("on-CPU time (ms)", "run-queue wait (ms)", "voluntary switches",
             "involuntary switches")
    return [{"figure": f"phased, {len(after)} threads: {names[i]}",
             "truth": "/proc/PID/task/TID/" + ("schedstat" if i < 2 else "status") + " deltas",
             "true": sums[i][0] / 1e6 if i < 2 else sums[i][0],
             "contrace": sums[i][1] / 1e6 if i < 2 else sums[i][1]} for i in range(4)]


def accuracy(quick):
    rows = phased_accuracy()
    # Switches and CPU time of a whole process, against the kernel's rusage.
    for name, cmd in (("sched pipe", ["taskset", "-c", "0", "perf", "bench", "sched", "pipe",
                                      "-T", "-l", "20000"]),
                      ("locks mutex", [os.path.join(WORKLOADS, "locks"), "mutex", "4", "500",
                                       "100"])):
        out, ru, rep = attached(cmd)
        p = rep["processes"][0]
        for what, kernel, ours in (("voluntary switches", ru.ru_nvcsw, p["voluntary_switches"]),
                                   ("involuntary switches", ru.ru_nivcsw,
                                    p["involuntary_switches"]),
                                   ("CPU time (ms)", (ru.ru_utime + ru.ru_stime) * 1000,
                                    p["cpu_ns"] / 1e6)):
            rows.append({"figure": f"{name}: {what}", "truth": "wait4 rusage",
                         "true": kernel, "contrace": ours})
        if name == "locks mutex":
            truth = int(re.search(r"total_waited (\d+)", out).group(1)) / 1e6
            lock = [l for l in p["locks"] if l["name"].endswith("queue_lock")]
            rows.append({"figure": "locks mutex: queue_lock wait (ms)",
                         "truth": "the workload's clock_gettime around each lock",
                         "true": truth, "contrace": lock[0]["wait_ns"] / 1e6 if lock else None})
    # The same lock wait from the bpftrace futex script: every futex call on the word.
    cmd = [os.path.join(WORKLOADS, "locks"), "mutex", "4", "500", "100"]
    r = Run(bpftrace(cmd, BT_FUTEX))
    truth = int(re.search(r"total_waited (\d+)", r.stdout).group(1)) / 1e6
    addr = int(re.search(r"lock queue_lock 0x([0-9a-f]+)", r.stdout).group(1), 16)
    bt = sum(int(v) for a, v in re.findall(r"@wait_ns\[(0x[0-9a-f]+|\d+)\]: (\d+)", r.stdout)
             if int(a, 0) == addr) / 1e6
    rows.append({"figure": "locks mutex: queue_lock wait (ms)", "truth": "the workload's own timing",
                 "true": truth, "bpftrace (futex times)": bt})
    # Syscall counts of the read loop: the loop's reads (plus the loader's).
    n = 20000
    cmd = [os.path.join(WORKLOADS, "readloop"), str(n)]
    with tempfile.TemporaryDirectory() as d:
        js, st = os.path.join(d, "r.json"), os.path.join(d, "strace")
        Run([CONTRACE, "-S", "-q", "--json", js, "--", *cmd])
        rep = json.load(open(js))
        ours = sum(s["calls"] for s in rep["processes"][0]["syscalls"] if s["name"] == "read")
        Run(["strace", "-c", "-f", "-o", st, *cmd])
        theirs = parse_strace(st).get("read")
        r = Run(bpftrace(cmd, BT_SYSCALLS))
        bt = sum(int(v) for _, nr, v in re.findall(r"@calls\[(\d+), (\d+)\]: (\d+)", r.stdout)
                 if nr == "0")
    rows.append({"figure": "readloop: read calls", "truth": f"the loop's {n} (the loader adds its own)",
                 "true": n, "contrace": ours, "strace -c": theirs, "bpftrace (raw_syscalls)": bt})
    return rows


def startup(runs):
    live, total, bt = [], [], []
    for _ in range(runs):
        t0 = time.monotonic()
        r = Run([CONTRACE, "-v", "-q", "--json", "/dev/null", "--", "true"])
        total.append((time.monotonic() - t0) * 1000)
        live.append(float(re.search(r"probes live after ([\d.]+) ms", r.stderr).group(1)))
        t0 = time.monotonic()
        Run(bpftrace(["true"], BT_SCHED))
        bt.append((time.monotonic() - t0) * 1000)
    return {"contrace_probes_live_ms": statistics.median(live),
            "contrace_total_ms": statistics.median(total),
            "bpftrace_total_ms": statistics.median(bt), "runs": runs}


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s"
    return f"{v:,.0f} {unit}" if v >= 100 else f"{v:.1f} {unit}"


def markdown(res):
    u = os.uname()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    lines = [f"# {time.strftime('%Y-%m-%d')} Linux {u.release}, {os.cpu_count()} CPUs ({cpu})",
             "", "| workload | tracer | bare | traced | ratio (range) | added per event | CPU added | max RSS |",
             "|---|---|---|---|---|---|---|---|"]
    for r in res["overhead"]:
        per = (f"+{r['added_ns_per_event']:,.0f} ns/{r['event']}"
               if "added_ns_per_event" in r else "-")
        cpu = "-" if r["cpu_added_ms"] is None else f"{r['cpu_added_ms']:,.0f} ms"
        lines.append(f"| {r['workload']}: `{r['command']}` | {r['tracer']} | {fmt(r['bare'], r['unit'])} "
                     f"| {fmt(r['traced'], r['unit'])} | x{r['ratio']:.2f} "
                     f"({r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f}) | {per} "
                     f"| {cpu} | {r['max_rss_kib'] / 1024:.0f} MiB |")
    if res.get("bystanders"):
        lines += ["", "| bystander workload | while | bare | beside the trace | ratio (range) |",
                  "|---|---|---|---|---|"]
        for r in res["bystanders"]:
            lines.append(f"| {r['workload']} | {r['tracer']} traces another process "
                         f"| {fmt(r['bare'], r['unit'])} | {fmt(r['traced'], r['unit'])} "
                         f"| x{r['ratio']:.3f} ({r['ratio_range'][0]:.3f}-{r['ratio_range'][1]:.3f}) |")
    if res.get("accuracy"):
        lines += ["", "| figure | ground truth | true | contrace | peer |", "|---|---|---|---|---|"]
        for r in res["accuracy"]:
            peers = [f"{k}: {v:,.1f}" if isinstance(v, float) else f"{k}: {v}"
                     for k, v in r.items()
                     if k not in ("figure", "truth", "true", "contrace") and v is not None]
            ours = r.get("contrace")
            err = ""
            if ours is not None and r["true"]:
                err = f" ({100 * (ours - r['true']) / r['true']:+.2f}%)"
            tv = f"{r['true']:,.1f}" if isinstance(r["true"], float) else f"{r['true']}"
            ov = "-" if ours is None else (f"{ours:,.1f}" if isinstance(ours, float) else f"{ours}")
            lines.append(f"| {r['figure']} | {r['truth']} | {tv} | {ov}{err} | {'; '.join(peers) or '-'} |")
    if res.get("startup"):
        s = res["startup"]
        lines += ["", f"Start-up ({s['runs']} runs, median): `contrace -- true` probes live after "
                  f"{s['contrace_probes_live_ms']:.0f} ms, {s['contrace_total_ms']:.0f} ms in all; "
                  f"`bpftrace -c true` (the sched script) {s['bpftrace_total_ms']:.0f} ms in all."]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 pairs, smaller runs")
    ap.add_argument("--pairs", type=int, default=None, help="pairs per tracer (default 10)")
    ap.add_argument("--only", nargs="*", default=None,
                    help="groups: switches syscalls locks gil bystanders accuracy startup")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("peers.py: must run as root")
    for tool in ("perf", "bpftrace", "strace"):
        if not shutil.which(tool):
            sys.exit(f"peers.py: {tool} is missing (make bench-deps installs it)")
    pairs = args.pairs or (3 if args.quick else 10)
    only = set(args.only or ["switches", "syscalls", "locks", "gil", "bystanders", "accuracy",
                             "startup"])
    res = {"overhead": []}
    t0 = time.monotonic()
    w = workloads(args.quick)
    if "gil" in only and "gil-cpu" not in w:
        print("peers: gil skipped: no CPython with take_gil/drop_gil symbols under /root/.pyenv",
              file=sys.stderr)
    for name, wl in w.items():
        if wl["group"] not in only:
            continue
        for tracer, make in TRACERS[wl["group"]].items():
            print(f"peers: {name} under {tracer} ...", file=sys.stderr, flush=True)
            res["overhead"].append(overhead(name, wl, tracer, make, pairs))
    if "bystanders" in only:
        print("peers: bystanders ...", file=sys.stderr, flush=True)
        res["bystanders"] = bystanders(max(pairs // 2, 3), args.quick)
    if "accuracy" in only:
        print("peers: accuracy ...", file=sys.stderr, flush=True)
        res["accuracy"] = accuracy(args.quick)
    if "startup" in only:
        print("peers: start-up ...", file=sys.stderr, flush=True)
        res["startup"] = startup(5 if args.quick else 10)
    res["seconds"] = time.monotonic() - t0
    print(markdown(res))
    print(f"\n(suite took {res['seconds']:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
