# SPDX-License-Identifier: GPL-2.0-only
"""Released GIL time on a CPU, split into syscalls (named) and native code
(issue 13 item 2), in the default GIL mode: a socket ping-pong whose send
and recv calls rarely block is I/O, named by its syscalls, against the
workload's own CPU time inside those calls; zlib threads stay native code;
a ThreadingHTTPServer is I/O on every supported interpreter."""
import json
import os
import signal
import subprocess
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import CONTRACE, PYWORKLOADS, interpreters, run_contrace, validate

SOCKPP = os.path.join(PYWORKLOADS, "pysockpp.py")
PYPHASED = os.path.join(PYWORKLOADS, "pyphased.py")
PYGIL = os.path.join(PYWORKLOADS, "pygil.py")
# Enough to cover a pyenv build with symbols at each end of the range and
# Debian's stripped one; the suite must stay short.
PYTHONS = [(l, p) for l, p in interpreters()
           if l.startswith("pyenv-3.8") or l.startswith("pyenv-3.12") or l == "debian"]
IDS = [l for l, _ in PYTHONS]
SOCKET_CALLS = ("sendto", "recvfrom")


def workers(proc):
    return [t for t in proc["threads"] if t["gil"] and t["tid"] != proc["pid"]]


def run_pingpong(python):
    """The ping-pong under contrace: its report, and per thread the calls
    the workload made and the CPU time it measured inside them."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        p = subprocess.run([CONTRACE, "-q", "--json", f.name, "--", python, SOCKPP, "4", "4000"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        report = validate(json.load(open(f.name)))
    truth = {}
    for line in p.stdout.splitlines():
        w = line.split()
        if w[0] == "calls":
            truth[int(w[1])] = (int(w[2]), int(w[3]))
    assert len(truth) == 8 and all(c == 8000 for c, _ in truth.values()), truth
    return report, truth


@pytest.mark.parametrize("label,python", PYTHONS, ids=IDS)
def test_socket_pingpong_is_io_named_by_its_syscalls(label, python):
    report, truth = run_pingpong(python)
    (proc,) = report["processes"]
    g = proc["gil"]
    assert g["tier"] != "none", g["why"]
    # The verdict: I/O-bound, naming the socket syscalls; never native code.
    io = [v for v in g["verdicts"] if v.startswith("I/O-bound threads")]
    assert io and any(name in io[0] for name in SOCKET_CALLS), g["verdicts"]
    assert not any(v.startswith("Native code") for v in g["verdicts"]), g["verdicts"]
    # Sampled (about 1,000 a second per CPU): the split rests on hundreds,
    # and its parts add up to the exact time on a CPU.
    assert g["released_samples"] >= 200, g
    parts = (g["released_syscalls_oncpu_ns"] + g["released_native_ns"]
             + g["released_kernel_other_ns"])
    assert parts == g["released_oncpu_ns"], g
    rows = {s["name"]: s for s in g["released_syscalls"]}
    # Both calls seen on a CPU with the GIL released; they, not user space,
    # are where the released time on a CPU went.
    assert all(n in rows and rows[n]["samples"] > 0 for n in SOCKET_CALLS), rows
    sock = sum(rows[n]["oncpu_ns"] for n in SOCKET_CALLS)
    # On Debian's 3.11 the calls' share over user space's was 1.22-1.77 in
    # 7 runs of the default tier (the C library's mutex and condvar calls
    # around each release run in user space, released): more than user
    # space, not a fixed margin. (Tier B's uprobes in those calls leave more
    # in user space: 1.7-2x on Debian's 3.11, 3x and more in tier A.)
    assert sock >= g["released_native_ns"], g
    assert g["released_io_oncpu_ns"] >= sock
    # Against the workload's own CPU time around each sendall and recv
    # (CLOCK_THREAD_CPUTIME_ID): the syscalls are inside those calls, which
    # also hold the GIL's release and re-take (and, traced, their probes):
    # at most that, and a real part of it (0.12-0.13 on a quiet machine, where
    # the uprobes' handling in the same calls is a larger share; 0.2-0.4 loaded).
    ws = {t["tid"]: t for t in workers(proc)}
    assert set(truth) <= set(ws), (truth, list(ws))
    mine = theirs = 0
    for tid, (_, ns) in truth.items():
        trows = {s["name"]: s for s in ws[tid]["gil"]["released"]["syscalls"]}
        mine += sum(trows[n]["oncpu_ns"] for n in SOCKET_CALLS if n in trows)
        theirs += ns
    assert 0.08 * theirs <= mine <= 1.1 * theirs, (mine, theirs)


@pytest.mark.parametrize("label,python", PYTHONS, ids=IDS)
def test_zlib_stays_native_code(label, python):
    _, report, _ = run_contrace("--", python, PYPHASED, "--zlib", "4", "--ms", "1000",
                                "--auto", "1")
    (proc,) = report["processes"]
    g = proc["gil"]
    assert any(v.startswith("Native code runs in parallel") for v in g["verdicts"]), g["verdicts"]
    assert not any(v.startswith("I/O-bound") for v in g["verdicts"]), g["verdicts"]
    # 1 kHz per CPU: up to 2,000 on 2 CPUs; 144 seen while other jobs took most of them.
    assert g["released_samples"] >= 100, g
    # zlib.compress makes no syscall: its released time on a CPU is user space.
    assert g["released_native_ns"] >= 0.8 * g["released_oncpu_ns"], g
    for t in workers(proc):
        rel = t["gil"]["released"]
        if rel["samples"] >= 50:
            assert rel["native_ns"] >= 0.7 * rel["oncpu_ns"], rel
    # Where: the samples' addresses, named. zlib.compress runs in the C
    # library zlib (deflate; a stripped libz has no symbol for its static
    # functions: the file alone), far more than anywhere else; the verdict
    # names it; the functions' shares add up to the native time.
    top = g["native_code"]
    assert top and top[0]["function"].startswith("libz.so"), top
    assert top[0]["samples"] >= 0.6 * sum(f["samples"] for f in top), top
    assert any("most in libz.so" in v for v in g["verdicts"]), g["verdicts"]
    listed = sum(f["ns"] for f in top) + g["native_code_other_ns"]
    assert abs(listed - g["released_native_ns"]) <= 1000, (listed, g)  # rounding: < 1 ns a function


# Every interpreter the GIL analysis supports, in the default mode.
SUPPORTED = [(l, p) for l, p in interpreters() if not any(v in l for v in ("2.7", "3.6", "3.7"))]


def http_get(port, n):
    for _ in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
            assert r.read() == b"0123456789abcdef"


@pytest.mark.parametrize("label,python", SUPPORTED, ids=[l for l, _ in SUPPORTED])
def test_threading_http_server_is_io(label, python, tmp_path):
    """A ThreadingHTTPServer (a thread per connection) answering 4 clients'
    1,200 GETs, in the default GIL mode: I/O-bound, its threads' time in
    their socket syscalls, neither native code nor serialised by the GIL.
    (With 600 GETs the window's idle start and end weighed more: on a fresh
    machine 3 of 7 interpreters fell under the handoff verdict's bound of
    half a thread waiting on average and had no verdict; an idle 0.7 s
    before the load does the same here.)"""
    out = str(tmp_path / "http.json")
    p = subprocess.Popen([CONTRACE, "-q", "--json", out, "--", python, PYGIL, "http"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline().split()[1])
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: http_get(port, 300), range(4)))
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    (proc,) = validate(json.load(open(out)))["processes"]
    g = proc["gil"]
    assert g["tier"] == "futex", g["why"]
    # A thread per connection: 1,200 of them.
    assert len(proc["threads"]) >= 1200, len(proc["threads"])
    # I/O-bound, or waiting for the GIL between short I/O calls (the tiers
    # with uprobes say the latter on this server too).
    io = [v for v in g["verdicts"]
          if v.startswith(("I/O-bound threads", "Threads wait for the GIL"))]
    assert io and ("I/O calls" in io[0] or "syscalls" in io[0]), (g["verdicts"], {
        k: g[k] for k in ("held_fraction", "avg_waiting", "released_ns", "released_io_ns",
                          "released_blocked_ns", "released_oncpu_ns", "parallelism")})
    assert not any(v.startswith(("Native code", "CPU-bound")) for v in g["verdicts"]), g["verdicts"]
