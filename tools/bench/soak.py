#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""contrace serve over a long run of a workload that starts and ends threads
and processes continuously: its memory stays flat, nothing is lost, and a
scrape stays fast.

Workload: one long-lived `churn` process (rounds of threads that live a few
ms, for the whole run: thread churn, which makes serve replace its session)
traced with -p, and a new short `churn` process every PERIOD seconds (each
living 2 s: process churn) traced through --comm. A scrape every SCRAPE
seconds, as Prometheus would. Printed: serve's RSS, sampled at every
scrape, as the median of the minute after the first (its caches warm) and
of the last minute, and its peak (a session being replaced holds two
sessions and the kernel's BTF for a moment: one reading can land on it),
the drops counted (contrace_drops_total summed), sessions replaced and
processes come and gone, and the scrape time per 1,000 series. Exit
status 1 if RSS grew by more than 20%, anything was lost, or the median
scrape as the client saw it took over 200 ms: serve has one session for
all its processes, and a new one joins it without a BPF load (a load per
process, as serve once did, made that median 823-2146 ms).

Usage: soak.py [--seconds N] (root; `make bench` runs it, SOAK_SECONDS=600)
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACE = os.environ.get("CONTRACE", os.path.join(ROOT, "build/contrace"))
CHURN = os.path.join(ROOT, "build/workloads/churn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def total(body, name):
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:\{{.*\}})? (\S+)$", body, re.M))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--period", type=float, default=0.5)
    ap.add_argument("--scrape", type=float, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    name = "ctsoak"  # a name no other process on the machine has
    exe = os.path.join(tmp, name)
    shutil.copy(CHURN, exe)
    long_lived = subprocess.Popen([exe, "4", "20", "0"], stdout=subprocess.DEVNULL)
    port = free_port()
    serve = subprocess.Popen([CONTRACE, "serve", "--listen", f"127.0.0.1:{port}", "-p",
                              str(long_lived.pid), "--comm", name, "--max-threads", "2048"],
                             stderr=subprocess.PIPE, text=True)
    if "serving" not in serve.stderr.readline():
        sys.exit("soak: contrace serve did not start")
    short, scrapes, per_k = [], [], []
    rss = []  # (seconds into the run, KiB), at every scrape
    t0 = time.monotonic()
    next_spawn = next_scrape = t0
    body = ""
    while time.monotonic() - t0 < args.seconds:
        now = time.monotonic()
        if now >= next_spawn:
            short = [p for p in short if p.poll() is None]
            short.append(subprocess.Popen([exe, "2", "20", "2"], stdout=subprocess.DEVNULL))
            next_spawn += args.period
        if now >= next_scrape:
            s0 = time.monotonic()
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60).read()
            body = body.decode()
            ms = (time.monotonic() - s0) * 1e3
            series = sum(1 for l in body.splitlines() if l and l[0] != "#")
            # serve's own time for the previous scrape: the client's also waits
            # for whatever serve was doing (loading a new process's probes).
            inner = total(body, "contrace_last_scrape_duration_seconds") * 1e3
            scrapes.append(ms)
            if len(scrapes) > 1:
                per_k.append(inner / series * 1000)
            rss.append((now - t0, rss_kib(serve.pid)))
            next_scrape += args.scrape
        time.sleep(0.05)
    warm = min(60, args.seconds / 4)
    first = [k for t, k in rss if warm <= t < 2 * warm]
    last = [k for t, k in rss if t >= args.seconds - warm]
    rss_start = sorted(first)[len(first) // 2] if first else None
    rss_end = sorted(last)[len(last) // 2] if last else None
    rss_peak = max(k for _, k in rss)
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=60)
    for p in short + [long_lived]:
        p.kill()
        p.wait()
    shutil.rmtree(tmp)
    drops = total(body, "contrace_drops_total")
    kinds = {}
    for m in re.finditer(r'^contrace_drops_total\{.*kind="([^"]+)"\} (\S+)$', body, re.M):
        kinds[m.group(1)] = kinds.get(m.group(1), 0) + float(m.group(2))
    per_k.sort()
    print(f"soak: {args.seconds} s, serve RSS (median of a minute) {rss_start} KiB -> "
          f"{rss_end} KiB, peak {rss_peak} KiB; "
          f"drops {drops:.0f} {({k: v for k, v in kinds.items() if v}) or ''}; sessions replaced {total(body, 'contrace_sessions_replaced_total'):.0f}; "
          f"processes exited {total(body, 'contrace_targets_exited_total'):.0f}; "
          f"scrape {per_k[len(per_k) // 2]:.1f} ms per 1,000 series (median of {len(per_k)}; "
          f"{series} series; as a client saw it: median {sorted(scrapes)[len(scrapes) // 2]:.0f} ms, "
          f"max {max(scrapes):.0f} ms); exit {serve.returncode}")
    # Losses for want of room; missed_* and call_sites_unknown are what the
    # kernel did not show (docs/usage.md, "Data that was lost"): printed only.
    lost = sum(v for k, v in kinds.items() if k.endswith("_dropped") or k == "storage_failed")
    bad = serve.returncode != 0 or lost > 0
    bad = bad or not rss_start or not rss_end or rss_end > 1.2 * rss_start
    bad = bad or sorted(scrapes)[len(scrapes) // 2] > 200
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
