#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Python counterpart of phased.c: threads idle (blocked) until SIGUSR1, run
one phase, block again, so a test can compare contrace with /proc.

  pyphased.py [--cpu N] [--sleep N] [--io N] [--zlib N] [--ms M] [--auto P] [--work US]

Prints "pid P", "thread TID ROLE" per thread, "ready"; "done K" after each
phase once every worker sleeps again; SIGTERM ends it. Roles, for M ms:
  cpu    pure Python arithmetic (holds the GIL)
  sleep  time.sleep(0.001) in a loop
  io     os.read/os.write one byte through a pipe pair with a partner thread;
         with --work US, each byte read is handled by US microseconds of
         Python code first (a request handler), timed by the thread
  zlib   zlib.compress of a 1 MiB buffer (native code that releases the GIL)
"""
import os
import signal
import sys
import threading
import time
import zlib

args = sys.argv[1:]
opts = {"--cpu": 0, "--sleep": 0, "--io": 0, "--zlib": 0, "--ms": 500, "--auto": 0,
        "--work": 0}
while args:
    key = args.pop(0)
    if key not in opts or not args:
        sys.exit(__doc__)
    opts[key] = int(args.pop(0))

PHASE_S = opts["--ms"] / 1000.0
cond = threading.Condition()
state = {"phase": 0, "running": 0, "stop": False}
counts = {}
worked = {}


def cpu(me):
    end = time.monotonic() + PHASE_S
    n = 0
    while time.monotonic() < end:
        for i in range(2000):
            n += i * i
    counts[me] = counts.get(me, 0) + 1


def sleep(me):
    end = time.monotonic() + PHASE_S
    while time.monotonic() < end:
        time.sleep(0.001)
        counts[me] = counts.get(me, 0) + 1


def handle(me):
    """--work: the message's handling, US microseconds of Python code."""
    if not opts["--work"]:
        return
    t = time.perf_counter()
    end = t + opts["--work"] / 1e6
    while time.perf_counter() < end:
        pass
    worked[me] = worked.get(me, 0.0) + time.perf_counter() - t


def make_io(rfd, wfd, leader):
    def io(me):
        if leader:
            end = time.monotonic() + PHASE_S
            while time.monotonic() < end:
                os.write(wfd, b"x")
                os.read(rfd, 1)
                handle(me)
                counts[me] = counts.get(me, 0) + 1
            os.write(wfd, b"s")
        else:
            while os.read(rfd, 1) != b"s":
                handle(me)
                os.write(wfd, b"x")
                counts[me] = counts.get(me, 0) + 1
    return io


DATA = os.urandom(1 << 20)


def zlib_role(me):
    end = time.monotonic() + PHASE_S
    while time.monotonic() < end:
        zlib.compress(DATA, 6)
        counts[me] = counts.get(me, 0) + 1


def worker(role, fn, ready):
    me = threading.get_native_id()
    seen = 0
    with cond:
        ready.append((me, role))
        cond.notify_all()
        while True:
            while state["phase"] == seen and not state["stop"]:
                cond.wait()
            if state["stop"]:
                return
            seen = state["phase"]
            cond.release()
            try:
                fn(me)
            finally:
                cond.acquire()
            state["running"] -= 1
            if state["running"] == 0:
                cond.notify_all()


def all_asleep(main):
    while True:
        busy = False
        for tid in os.listdir("/proc/self/task"):
            if int(tid) == main:
                continue
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "S":
                        busy = True
            except FileNotFoundError:
                pass
        if not busy:
            return
        time.sleep(0.001)


def main():
    sigs = {signal.SIGUSR1, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    roles = [("cpu", cpu)] * opts["--cpu"] + [("sleep", sleep)] * opts["--sleep"]
    roles += [("zlib", zlib_role)] * opts["--zlib"]
    for _ in range(opts["--io"]):
        a_r, a_w = os.pipe()
        b_r, b_w = os.pipe()
        roles.append(("io", make_io(b_r, a_w, True)))
        roles.append(("io", make_io(a_r, b_w, False)))
    ready = []
    threads = [threading.Thread(target=worker, args=(r, fn, ready), daemon=True)
               for r, fn in roles]
    for t in threads:
        t.start()
    with cond:
        while len(ready) < len(threads):
            cond.wait()
    me = threading.get_native_id()
    all_asleep(me)
    print(f"pid {os.getpid()}\nthread {me} main", flush=True)
    for tid, role in ready:
        print(f"thread {tid} {role}", flush=True)
    print("ready", flush=True)

    def phase():
        with cond:
            state["phase"] += 1
            state["running"] = len(threads)
            cond.notify_all()
            while state["running"] > 0:
                cond.wait()
        all_asleep(me)
        print(f"done {state['phase']}", flush=True)

    if opts["--auto"]:
        for _ in range(opts["--auto"]):
            phase()
    else:
        while signal.sigwait(sigs) == signal.SIGUSR1:
            phase()
    for tid, n in counts.items():
        print(f"count {tid} {n}", flush=True)
    for tid, t in worked.items():
        print(f"worked {tid} {int(t * 1e9)}", flush=True)
    with cond:
        state["stop"] = True
        cond.notify_all()


main()
