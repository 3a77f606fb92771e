#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Socket ping-pong between threads, with its own ground truth (issue 13).

  pysockpp.py PAIRS N   PAIRS pairs of threads send 8 bytes back and forth
                        N times over a socketpair (sendall and recv: each
                        releases the GIL around one sendto or recvfrom);
                        prints, per thread, "calls TID CALLS CPU_NS", the
                        thread's own CPU time (CLOCK_THREAD_CPUTIME_ID)
                        spent inside those calls, and at the end "elapsed S"
"""
import socket
import sys
import threading
import time


def main():
    pairs, n = int(sys.argv[1]), int(sys.argv[2])
    out, lock = [], threading.Lock()
    cpu = time.thread_time_ns

    def run(s, first_send):
        calls = spent = 0
        for _ in range(n):
            for send in (first_send, not first_send):
                t = cpu()
                if send:
                    s.sendall(b"12345678")
                else:
                    s.recv(8)
                spent += cpu() - t
                calls += 1
        with lock:
            out.append(f"calls {threading.get_native_id()} {calls} {spent}")

    time.sleep(0.2)  # a tracer launching us has placed its probes by then
    ts = []
    for _ in range(pairs):
        a, b = socket.socketpair()
        ts += [threading.Thread(target=run, args=(a, True)),
               threading.Thread(target=run, args=(b, False))]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("\n".join(out), flush=True)
    print(f"elapsed {time.monotonic() - start:.6f}", flush=True)


if __name__ == "__main__":
    main()
