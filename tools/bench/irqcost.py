#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""What timing interrupts costs, and how right it is (docs/performance.md,
"Interrupts as a runner").

  tools/bench/irqcost.py [--contrace BUILD] [--accuracy N]

Cost: per run of each interrupt program and of ct_sched_switch
(kernel.bpf_stats_enabled, 3 s) while contrace traces build/workloads/spin:
quiet; with a UDP flood on loopback pinned to CPU 1 (no traced thread
waiting); and with the spinner pinned to CPU 1 too (waiting half the time).

Accuracy (--accuracy N, needs bpftrace): N runs of the flood and a traced
spinner on CPU 1; bpftrace times the softirqs in the flood's context
against its CPU time (/proc/PID/schedstat); contrace's `interrupts` share
of the spinner's wait behind the flood should match.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPIN = os.path.join(ROOT, "build/workloads/spin")
sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def flood_source():
    text = open(os.path.join(ROOT, "tests/e2e/test_preempt.py")).read()
    return text.split('UDP_FLOOD = """')[1].split('"""')[0]


def flood(seconds):
    p = subprocess.Popen(["taskset", "-c", "1", "/usr/bin/python3", "-c", flood_source(),
                          str(seconds)], stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError("the flood did not start")
    return p


def progs():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out) if p.get("name", "").startswith("ct_")}


def cost(contrace):
    was = open(STATS).read().strip()
    with open(STATS, "w") as f:
        f.write("1")
    try:
        for case in ("quiet", "flood", "flood, spinner on its CPU"):
            hog = flood(30) if case != "quiet" else None
            pin = ["taskset", "-c", "1"] if "spinner" in case else []
            ct = subprocess.Popen([contrace, "-q", "--json", "/dev/null", "--", *pin, SPIN, "6"],
                                  stdout=subprocess.DEVNULL, start_new_session=True)
            time.sleep(2.5)
            a, t0 = progs(), time.time()
            time.sleep(3)
            b, dt = progs(), time.time() - t0
            ct.wait()
            if hog:
                hog.kill()
                hog.wait()
            print(case)
            for i, q in sorted(b.items(), key=lambda x: x[1]["name"]):
                n = q.get("run_cnt", 0) - a.get(i, {}).get("run_cnt", 0)
                ns = q.get("run_time_ns", 0) - a.get(i, {}).get("run_time_ns", 0)
                if i in a and n and any(w in q["name"] for w in ("irq", "timer", "switch")):
                    print(f"  {q['name']:22s} {n / dt:9.0f}/s {ns / n:6.0f} ns/run "
                          f"{ns / dt / 1e6:6.2f} ms of CPU/s")
    finally:
        with open(STATS, "w") as f:
            f.write(was)


def accuracy(contrace, rounds):
    # bpftrace's tracepoints need tracefs.
    if not os.path.isdir("/sys/kernel/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    for _ in range(rounds):
        hog = flood(30)
        bt = subprocess.Popen(
            ["bpftrace", "-e",
             'BEGIN { printf("go\\n"); } '
             f"tracepoint:irq:softirq_entry /pid == {hog.pid}/ {{ @s[cpu] = nsecs; }} "
             f"tracepoint:irq:softirq_exit /pid == {hog.pid} && @s[cpu]/ "
             "{ @sum = sum(nsecs - @s[cpu]); delete(@s[cpu]); }"],
            stdout=subprocess.PIPE, text=True)
        bt.stdout.readline()
        cpu0 = int(open(f"/proc/{hog.pid}/schedstat").read().split()[0])
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.json")
            p = subprocess.run([contrace, "-q", "--json", out, "--", "taskset", "-c", "1", SPIN,
                                "2"], capture_output=True, text=True, check=True)
            report = json.load(open(out))
        cpu1 = int(open(f"/proc/{hog.pid}/schedstat").read().split()[0])
        bt.send_signal(2)
        text = bt.communicate()[0]
        hog.kill()
        hog.wait()
        irq_ns = int(text.split("@sum:")[1].split()[0]) if "@sum:" in text else 0
        tid = int(p.stdout.split()[1])
        (t,) = [t for pr in report["processes"] for t in pr["threads"] if t["tid"] == tid]
        irq = sum(r["ns"] for r in t["preempted_by"] if r["kind"] == "interrupts")
        fl = sum(r["ns"] for r in t["preempted_by"] if r["pid"] == hog.pid)
        print(f"bpftrace: softirqs {irq_ns / 1e6:.0f} ms of the flood's {(cpu1 - cpu0) / 1e6:.0f} ms "
              f"= {irq_ns / (cpu1 - cpu0):.3f}; contrace's interrupts share {irq / (irq + fl):.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contrace", default=os.path.join(ROOT, "build/contrace"))
    ap.add_argument("--accuracy", type=int, default=0, metavar="N")
    a = ap.parse_args()
    if a.accuracy:
        accuracy(a.contrace, a.accuracy)
    else:
        cost(a.contrace)


if __name__ == "__main__":
    main()
