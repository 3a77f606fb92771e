#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fixed work for the GIL benchmarks (tools/bench/bench.py): how long it took.

  pygil.py cpu THREADS N   THREADS threads each add up N squares in pure
                           Python (they hold the GIL); prints "elapsed S"
  pygil.py read N          one thread reads 1 byte from /dev/zero N times
                           (each os.read releases and re-takes the GIL);
                           prints "ns_per_call X"
"""
import os
import sys
import threading
import time


def cpu(threads, n):
    def work():
        s = 0
        for i in range(n):
            s += i * i

    ts = [threading.Thread(target=work) for _ in range(threads)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"elapsed {time.monotonic() - start:.6f}", flush=True)


def read(n):
    fd = os.open("/dev/zero", os.O_RDONLY)
    start = time.monotonic_ns()
    for _ in range(n):
        os.read(fd, 1)
    print(f"ns_per_call {(time.monotonic_ns() - start) / n:.1f}", flush=True)


if len(sys.argv) == 4 and sys.argv[1] == "cpu":
    cpu(int(sys.argv[2]), int(sys.argv[3]))
elif len(sys.argv) == 3 and sys.argv[1] == "read":
    read(int(sys.argv[2]))
else:
    sys.exit(__doc__)
