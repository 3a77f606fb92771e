# SPDX-License-Identifier: GPL-2.0-only
"""Real CPython interpreters under contrace: per-thread figures of CPU-bound
and I/O-bound threads against /proc, and multiprocessing pools with -f."""
import os

import pytest

from conftest import (PYWORKLOADS, Attached, Phased, interpreters, run_contrace, syscall,
                      threads_by_tid, within)

PYPHASED = os.path.join(PYWORKLOADS, "pyphased.py")
MP_POOL = os.path.join(PYWORKLOADS, "mp_pool.py")
PYTHONS = interpreters()


def test_interpreters_present():
    """Say which interpreters the tests below ran on (the rest are skipped)."""
    print("interpreters:", ", ".join(label for label, _ in PYTHONS) or "none")
    assert PYTHONS, "no CPython 3.8+ on this machine: /usr/bin/python3 is missing"


@pytest.mark.parametrize("label,python", PYTHONS, ids=[label for label, _ in PYTHONS])
def test_python_threads_match_proc(label, python, tmp_path):
    wl = Phased([python, PYPHASED, "--cpu", "2", "--sleep", "1", "--io", "1", "--ms", "600"])
    try:
        before = wl.snapshot()
        ct = Attached(wl.pid, tmp_path=tmp_path)
        wl.phase()
        after = wl.snapshot()
        report = ct.stop()
    finally:
        wl.stop()
    threads = threads_by_tid(report, wl.pid)
    assert set(wl.threads) <= set(threads)
    for tid, role in wl.threads.items():
        t, a, b = threads[tid], before[tid], after[tid]
        assert abs(t["voluntary_switches"] - (b.voluntary - a.voluntary)) <= 1, (role, t)
        assert abs(t["involuntary_switches"] - (b.involuntary - a.involuntary)) <= 1, (role, t)
        assert within(t["oncpu_ns"], b.oncpu_ns - a.oncpu_ns, 0.02, 20000), role
        assert within(t["runq_ns"], b.runq_ns - a.runq_ns, 0.02, 20000), role
        total = t["oncpu_ns"] + t["stolen_ns"] + t["runq_ns"] + t["blocked_ns"]
        assert within(total, t["alive_ns"], 0.01, 50000), role
    by_role = {}
    for tid, role in wl.threads.items():
        by_role.setdefault(role, []).append(threads[tid])
    # Two CPU-bound threads share the GIL: each spends time blocked in futex
    # waiting for it, and much of its life on a CPU.
    for t in by_role["cpu"]:
        assert t["oncpu_ns"] > 0.15e9
        assert syscall(t, "futex")["blocked_ns"] > 0
    # The sleeper sleeps in clock_nanosleep (3.11+) or select (older; glibc
    # issues pselect6); with the GIL contended each loop also waits for it.
    (sleeper,) = by_role["sleep"]
    sleeps = [s for s in sleeper["syscalls"]
              if s["name"] in ("clock_nanosleep", "select", "pselect6")]
    # Each sleep lasts at least 1 ms; how many fit in the phase depends on
    # how long each loop then waits for the GIL.
    assert len(sleeps) == 1 and sleeps[0]["blocks"] >= 10
    assert sleeps[0]["blocked_ns"] >= 0.95e6 * sleeps[0]["blocks"]
    # The I/O pair blocks in read on its pipes (each round trip also waits
    # for the GIL the CPU-bound threads hold, so there are few such blocks,
    # and fewer still when the byte is already there once it has the GIL).
    for t in by_role["io"]:
        assert syscall(t, "read")["blocks"] >= 1
        assert syscall(t, "read")["blocked_ns"] > 0


def test_multiprocessing_pool_with_follow():
    rc, report, _ = run_contrace("-f", "--", "/usr/bin/python3", MP_POOL, "2", "4", "0.2")
    assert rc == 0
    assert report["trace"]["follow"]
    procs = report["processes"]
    assert procs[0]["pid"] == report["trace"]["target_pid"]
    children = procs[1:]
    assert len(children) >= 2
    assert all(p["exited"] for p in procs)
    for child in children:
        assert child["cmdline"].startswith("/usr/bin/python3")  # forked: the parent's


def test_multiprocessing_cpu_matches_rusage(tmp_path):
    out = tmp_path / "mp.out"
    with open(out, "w") as f:
        rc, report, _ = run_contrace("-f", "--", "/usr/bin/python3", MP_POOL, "2", "4", "0.2",
                                     stdout=f)
    assert rc == 0
    lines = out.read_text().split("\n")
    workers = {int(l.split()[1]) for l in lines if l.startswith("worker ")}
    (children_cpu,) = [int(l.split()[1]) for l in lines if l.startswith("children_cpu_ns")]
    procs = {p["pid"]: p for p in report["processes"]}
    assert workers <= set(procs)
    traced_children = sum(p["cpu_ns"] for pid, p in procs.items()
                          if pid != report["trace"]["target_pid"])
    assert within(traced_children, children_cpu, 0.02, 5e6), (traced_children, children_cpu)
    # Each worker burned about 0.4 s (two 0.2 s tasks) of CPU.
    for pid in workers:
        assert procs[pid]["cpu_ns"] > 0.3e9
    assert report["total"]["cpu_ns"] == sum(p["cpu_ns"] for p in procs.values())


def test_without_follow_children_are_not_traced():
    rc, report, _ = run_contrace("--", "/usr/bin/python3", MP_POOL, "2", "2", "0.1")
    assert rc == 0
    assert len(report["processes"]) == 1
    assert not report["trace"]["follow"]
