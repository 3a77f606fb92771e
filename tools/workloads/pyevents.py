# SPDX-License-Identifier: GPL-2.0-only
"""Waiting for work next to contention, in Python, with known answers.

  pyevents.py idle SECONDS    a ThreadPoolExecutor of 4 workers: 4 short tasks
                              start them all, then one task sleeps SECONDS while
                              the main thread waits for its future and the 3
                              other workers wait for work
  pyevents.py mutex SECONDS   4 threads take one threading.Lock in turn for
                              SECONDS, each holding it 2 ms (asleep: the others
                              block on it)
  pyevents.py jsonholder SECONDS
                              a thread "slow_json" calls json.dumps of a
                              large document in a loop (C code that keeps
                              the GIL tens of ms) while three threads
                              "waiter-N" run a little Python and sleep 1 ms
                              in turn: they wait for the GIL behind it
  pyevents.py sleeper SECONDS a thread named "sleeper" sleeps 3 ms at a time
                              (time.sleep: clock_nanosleep, select before
                              3.11) for SECONDS while the main thread waits
                              in join

A third argument, DELAY (mutex, jsonholder, sleeper): the mode's threads
start, then wait DELAY seconds (on an Event: futex waits, not sleeps)
before their work, which lasts SECONDS from then: a tracer that launched
the interpreter has read its layout and its threads by then.

Output: "thread TID ROLE" per thread (main, worker, contender) and, in mutex
mode, "lock ADDRESS" (the sem_t inside the lock object is at a fixed offset
that differs between versions: not printed); "ready" once the threads run.
"""
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


# DELAY (argv[3]) and the gate the threads wait on for it.
DELAY = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
GATE = threading.Event()


def start(threads):
    """Start the threads; open their gate DELAY seconds later."""
    for t in threads:
        t.start()
    threading.Event().wait(DELAY)
    GATE.set()


def say(*words):
    """One write per line: threads print at once."""
    os.write(1, (" ".join(str(w) for w in words) + "\n").encode())


def idle(seconds):
    say("thread", threading.get_native_id(), "main")
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="pool") as ex:
        # Four tasks at once (each waits for the others): four workers start.
        barrier = threading.Barrier(4)
        for f in [ex.submit(lambda: (say("thread", threading.get_native_id(), "worker"),
                                      barrier.wait())) for _ in range(4)]:
            f.result()
        say("ready")
        ex.submit(time.sleep, seconds).result()


def mutex(seconds):
    lock = threading.Lock()
    end = time.monotonic() + DELAY + seconds

    def work():
        say("thread", threading.get_native_id(), "contender")
        GATE.wait()
        while time.monotonic() < end:
            with lock:
                time.sleep(0.002)

    threads = [threading.Thread(target=work, name=f"contender{i}") for i in range(4)]
    start(threads)
    say("ready")
    for t in threads:
        t.join()


def jsonholder(seconds):
    doc = {f"k{i}": [i, str(i), {"x": i, "y": [i] * 4}] for i in range(40000)}
    end = time.monotonic() + DELAY + seconds

    def slow_json():
        GATE.wait()
        while time.monotonic() < end:
            json.dumps(doc)

    def waiter():
        GATE.wait()
        while time.monotonic() < end:
            sum(range(100))
            time.sleep(0.001)

    threads = [threading.Thread(target=slow_json, name="slow_json")]
    threads += [threading.Thread(target=waiter, name=f"waiter-{i}") for i in range(3)]
    start(threads)
    for t in threads:
        t.join()


def sleeper(seconds):
    end = time.monotonic() + DELAY + seconds

    def nap():
        say("thread", threading.get_native_id(), "sleeper")
        GATE.wait()
        while time.monotonic() < end:
            time.sleep(0.003)

    t = threading.Thread(target=nap, name="sleeper")
    start([t])
    t.join()


if __name__ == "__main__":
    modes = {"idle": idle, "mutex": mutex, "sleeper": sleeper, "jsonholder": jsonholder}
    modes[sys.argv[1]](float(sys.argv[2]))
