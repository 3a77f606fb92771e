#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A multiprocessing pool: CPU-bound tasks in worker processes.

  mp_pool.py [WORKERS] [TASKS] [SECONDS_PER_TASK]

At the end prints "children_cpu_ns N": the CPU time of all the worker
processes as the kernel accounted it (RUSAGE_CHILDREN, after they exited),
and one "worker PID" line per worker process that ran a task.
"""
import multiprocessing
import os
import resource
import sys
import time


def burn(seconds):
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += 1
    return os.getpid()


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        pids = set(pool.map(burn, [seconds] * tasks, chunksize=1))
        pool.close()
        pool.join()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    for pid in sorted(pids):
        print(f"worker {pid}")
    print(f"children_cpu_ns {int((ru.ru_utime + ru.ru_stime) * 1e9)}", flush=True)


if __name__ == "__main__":
    main()
