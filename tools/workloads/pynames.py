#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Named Python threads, for the thread-name tests.

  pynames.py clients [N] [SECONDS]   N threads named client-0..client-(N-1),
                                     each busy (Python code) for SECONDS
  pynames.py pool [N] [SECONDS]      a ThreadPoolExecutor of N workers
                                     (ThreadPoolExecutor-0_0 ...), N tasks
  pynames.py rename [SECONDS]        a thread that renames itself halfway to a
                                     name with control characters, and one
                                     with a 70-character name

At the end prints one line "NAMES {name: native tid}" (JSON) of the threads
it ran, under the names they had at the end, MainThread included: the
ground truth the tests compare the report with.
"""
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

RENAMED = "after-\x1b[31m\x07\n"
LONG = "L" * 70


def busy(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return threading.current_thread().name, threading.get_native_id()


def clients(n, seconds):
    seen = {}

    def run():
        name, tid = busy(seconds)
        seen[name] = tid
    threads = [threading.Thread(target=run, name=f"client-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def pool(n, seconds):
    # Every worker starts before any task ends: a barrier holds the first n.
    barrier = threading.Barrier(n)

    def task(_):
        barrier.wait()
        return busy(seconds)
    with ThreadPoolExecutor(max_workers=n) as ex:
        return dict(ex.map(task, range(n)))


def rename(seconds):
    seen = {}

    def run():
        busy(seconds / 2)
        threading.current_thread().name = RENAMED
        name, tid = busy(seconds / 2)
        seen[name] = tid

    def long_named():
        name, tid = busy(seconds)
        seen[name] = tid
    threads = [threading.Thread(target=run, name="before"),
               threading.Thread(target=long_named, name=LONG)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def main():
    mode = sys.argv[1]
    if mode == "rename":
        seen = rename(float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
    else:
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
        seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
        seen = (clients if mode == "clients" else pool)(n, seconds)
    seen["MainThread"] = threading.get_native_id()
    print("NAMES " + json.dumps(seen), flush=True)


if __name__ == "__main__":
    main()
