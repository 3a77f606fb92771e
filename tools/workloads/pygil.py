#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fixed work for the GIL benchmarks (tools/bench/bench.py): how long it took.

  pygil.py cpu THREADS N   THREADS threads each add up N squares in pure
                           Python (they hold the GIL); prints "elapsed S"
  pygil.py read N          one thread reads 1 byte from /dev/zero N times
                           (each os.read releases and re-takes the GIL);
                           prints "ns_per_call X"
  pygil.py pingpong P N     P pairs of threads, each pair sending 8 bytes back
                           and forth N times over a socketpair (sendall and
                           recv: each a GIL release and re-take); prints
                           "ns_per_roundtrip X" (wall time over all pairs'
                           round trips)
  pygil.py http            a ThreadingHTTPServer on 127.0.0.1 answering GET
                           with 16 bytes; prints "port P", serves until
                           SIGTERM
  pygil.py longcall N      one thread calls sum(range(N)) three times (C code
                           that keeps the GIL), another runs Python meanwhile;
                           prints "longcall TID MS CPU_MS" for each call (wall
                           time, which may include a wait for the GIL before
                           the call, and the thread's CPU time in it)
  pygil.py loop N          an asyncio event loop whose coroutines call
                           time.sleep(0.01) N times (a blocking call inside
                           the loop); prints "loop TID"
  pygil.py jsonpool N [--wait]
                           a pool of 4 threads runs N json.dumps + json.loads
                           jobs of a ~1 MB document (C code that keeps the
                           GIL for tens of ms a call); prints "jsoncall TID
                           MS CPU_MS" for each call (wall and CPU time);
                           --wait: prints "ready", starts at a line on stdin
  pygil.py heldsleep N MS  a thread calls usleep(MS ms) N times through
                           ctypes.PyDLL, which keeps the GIL (C code that
                           blocks holding it), 5 ms of time.sleep between
                           calls, while another thread runs Python; prints
                           "heldsleep TID WALL_MS" for each call (the wall
                           time includes the wait for the GIL after it)

cpu, read, pingpong and jsonpool take --wait last: print "ready" and start
the timed work at a line on stdin (so that a benchmark times a tracer's
steady state, not its start).
"""
import os
import sys
import threading
import time


def run_all(ts):
    """Start the threads, wait for them all: the nanoseconds it took."""
    start = time.monotonic_ns()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.monotonic_ns() - start


def cpu(threads, n):
    def work():
        s = 0
        for i in range(n):
            s += i * i

    ns = run_all([threading.Thread(target=work) for _ in range(threads)])
    print(f"elapsed {ns / 1e9:.6f}", flush=True)


def read(n):
    fd = os.open("/dev/zero", os.O_RDONLY)
    start = time.monotonic_ns()
    for _ in range(n):
        os.read(fd, 1)
    print(f"ns_per_call {(time.monotonic_ns() - start) / n:.1f}", flush=True)


def pingpong(pairs, n):
    import socket

    def ping(s):
        for _ in range(n):
            s.sendall(b"12345678")
            s.recv(8)

    def pong(s):
        for _ in range(n):
            s.recv(8)
            s.sendall(b"87654321")

    ts = []
    for _ in range(pairs):
        a, b = socket.socketpair()
        ts += [threading.Thread(target=ping, args=(a,)), threading.Thread(target=pong, args=(b,))]
    print(f"ns_per_roundtrip {run_all(ts) / (pairs * n):.1f}", flush=True)


def http():
    import signal
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "16")
            self.end_headers()
            self.wfile.write(b"0123456789abcdef")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


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


def jsonpool(n, wait):
    if wait:
        ready()
    else:
        time.sleep(0.2)  # a tracer launching us has placed its probes by then
    # Imports and the document: the main thread alone, holding the GIL but
    # for the small syscalls of the imports.
    import json
    from concurrent.futures import ThreadPoolExecutor

    doc = [{"id": i, "name": "item %d" % i, "tags": ["a", "b", "c"], "score": i / 7.0}
           for i in range(20000)]

    def job(_):
        me, out = threading.get_native_id(), []
        for fn in (lambda: json.dumps(doc), lambda: json.loads(text)):
            start, cpu = time.monotonic(), time.thread_time()
            text = fn()
            out.append((me, time.monotonic() - start, time.thread_time() - cpu))
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, range(n)))
    for calls in results:
        for tid, wall, cpu in calls:
            print(f"jsoncall {tid} {wall * 1000:.1f} {cpu * 1000:.1f}", flush=True)


def heldsleep(n, ms):
    import ctypes

    libc = ctypes.PyDLL(None)  # its calls keep the GIL
    stop = threading.Event()

    def spin():
        x = 0
        while not stop.is_set():
            x += 1

    def sleeper():
        time.sleep(0.3)  # a tracer launching us has placed its probes by then
        for _ in range(n):
            start = time.monotonic()
            libc.usleep(ms * 1000)
            wall = (time.monotonic() - start) * 1000
            print(f"heldsleep {threading.get_native_id()} {wall:.2f}", flush=True)
            time.sleep(0.005)

    t = threading.Thread(target=spin)
    t.start()
    s = threading.Thread(target=sleeper, name="sleeper")
    s.start()
    s.join()
    stop.set()
    t.join()


def ready():
    """--wait: say so, and start at a line on stdin (a tracer attached by then)."""
    print("ready", flush=True)
    sys.stdin.readline()


args, wait = sys.argv[1:], sys.argv[-1:] == ["--wait"]
if wait:
    args = args[:-1]
if len(args) == 2 and args[0] == "jsonpool":
    jsonpool(int(args[1]), wait)
elif len(args) == 2 and args[0] == "longcall" and not wait:
    longcall(int(args[1]))
elif len(args) == 3 and args[0] == "pingpong":
    wait and ready()
    pingpong(int(args[1]), int(args[2]))
elif len(args) == 1 and args[0] == "http" and not wait:
    http()
elif len(args) == 3 and args[0] == "heldsleep" and not wait:
    heldsleep(int(args[1]), int(args[2]))
elif len(args) == 2 and args[0] == "loop" and not wait:
    loop(int(args[1]))
elif len(args) == 3 and args[0] == "cpu":
    wait and ready()
    cpu(int(args[1]), int(args[2]))
elif len(args) == 2 and args[0] == "read":
    wait and ready()
    read(int(args[1]))
else:
    sys.exit(__doc__)
