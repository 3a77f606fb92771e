#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fixed work for the GIL benchmarks (tools/bench/bench.py): how long it took.

  pygil.py cpu THREADS N   THREADS threads each add up N squares in pure
                           Python (they hold the GIL); prints "elapsed S"
  pygil.py read N          one thread reads 1 byte from /dev/zero N times
                           (each os.read releases and re-takes the GIL);
                           prints "ns_per_call X"
  pygil.py longcall N      one thread calls sum(range(N)) three times (C code
                           that keeps the GIL), another runs Python meanwhile;
                           prints "longcall TID MS CPU_MS" for each call (wall
                           time, which may include a wait for the GIL before
                           the call, and the thread's CPU time in it)
  pygil.py loop N          an asyncio event loop whose coroutines call
                           time.sleep(0.01) N times (a blocking call inside
                           the loop); prints "loop TID"
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


def longcall(n):
    done = threading.Event()
    calls = []

    def caller():
        for _ in range(3):
            start, cpu = time.monotonic(), time.thread_time()
            sum(range(n))
            calls.append((time.monotonic() - start, time.thread_time() - cpu))
        calls.append(threading.get_native_id())
        done.set()

    def other():
        x = 0
        while not done.is_set():
            x += 1

    time.sleep(0.2)  # a tracer launching us has placed its probes by then
    ts = [threading.Thread(target=caller), threading.Thread(target=other)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for wall, cpu in calls[:-1]:
        print(f"longcall {calls[-1]} {wall * 1000:.1f} {cpu * 1000:.1f}", flush=True)


def loop(n):
    import asyncio

    async def ticker():
        for _ in range(2 * n):
            await asyncio.sleep(0.005)

    async def blocking():
        for _ in range(n):
            time.sleep(0.01)
            await asyncio.sleep(0.005)

    async def main():
        await asyncio.gather(ticker(), blocking())

    asyncio.run(main())
    print(f"loop {threading.get_native_id()}", flush=True)


if len(sys.argv) == 3 and sys.argv[1] == "longcall":
    longcall(int(sys.argv[2]))
elif len(sys.argv) == 3 and sys.argv[1] == "loop":
    loop(int(sys.argv[2]))
elif len(sys.argv) == 4 and sys.argv[1] == "cpu":
    cpu(int(sys.argv[2]), int(sys.argv[3]))
elif len(sys.argv) == 3 and sys.argv[1] == "read":
    read(int(sys.argv[2]))
else:
    sys.exit(__doc__)
