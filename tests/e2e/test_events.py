# SPDX-License-Identifier: GPL-2.0-only
"""Waiting for work is not contention: condition variables, semaphores,
queues, futures and joins are events, in their own section; only locks
that threads hold while others wait are in LOCKS (tools/workloads/events.c,
pyevents.py)."""
import json
import os
import subprocess

import pytest

from conftest import CONTRACE, PYWORKLOADS, WORKLOADS, interpreters, validate

EVENTS = os.path.join(WORKLOADS, "events")
PYEVENTS = os.path.join(PYWORKLOADS, "pyevents.py")
PYTHONS = interpreters()


def read_truth(lines):
    roles, waited, addr = {}, {}, {}
    for line in lines:
        if line.startswith("contrace "):
            break  # a launched command's output ends where the report begins
        f = line.split()
        if f and f[0] == "thread":
            roles[int(f[1])] = f[2]
        elif f and f[0] == "waited":
            waited[int(f[1])] = int(f[2])
        elif f and f[0] == "lock":
            addr[f[1]] = int(f[2], 16)
    return roles, waited, addr


def attach(tmp_path, argv, seconds):
    """Start argv, attach contrace once it prints "ready", trace for seconds:
    (report, text, the workload's output lines once it ended)."""
    wl = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in wl.stdout:
            lines.append(line)
            if line.startswith("ready"):
                break
        out = tmp_path / "r.json"
        p = subprocess.run([CONTRACE, "-p", str(wl.pid), "-d", str(seconds), "--json", str(out)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        lines += wl.stdout.readlines()
        wl.wait(timeout=30)
    finally:
        if wl.poll() is None:
            wl.kill()
            wl.wait()
    return validate(json.loads(out.read_text())), p.stderr, lines


def kinds(proc, kind):
    return [l for l in proc["locks"] if l["kind"] == kind]


def test_idle_condvar_is_an_event_and_the_mutex_contention(tmp_path):
    report, text, lines = attach(tmp_path, [EVENTS, "2"], 1)
    roles, waited, addr = read_truth(lines)
    idlers = {t for t, r in roles.items() if r == "idler"}
    workers = {t for t, r in roles.items() if r == "worker"}
    assert len(idlers) == 4 and len(workers) == 2
    (proc,) = report["processes"]
    # The contention table holds the mutex alone, with the two workers.
    (mutex,) = kinds(proc, "lock")
    assert mutex["name"] == "events:work_lock" and int(mutex["address"], 16) == addr["work_lock"]
    assert mutex["kind_why"] == "mutex"
    assert {w["tid"] for w in mutex["waiters"]} == workers
    assert {h["tid"] for h in mutex["holders"]} == workers
    # One second of the workers' two: about half their wait.
    total = sum(waited.values())
    assert 0.3 * total < mutex["wait_ns"] <= 0.7 * total
    # The condvar is an event: its 4 waiters, idle all the window, no holder.
    (cond,) = [l for l in kinds(proc, "event") if l["waiting_now"] and
               addr["idle_cond"] <= int(l["address"], 16) < addr["idle_cond"] + 48]
    assert {w["tid"] for w in cond["waiting_now"]} == idlers
    assert all(w["idle"] for w in cond["waiting_now"])
    assert cond["wait_threads"] == 4 and cond["holders"] == [] and not cond["serialising"]
    # The idlers, and the main thread in its join of a worker all along.
    assert proc["idle_threads"] == 5
    assert proc["idle_ns"] >= 5 * 0.9 * proc["wall_ns"]
    # No verdict or chain names it; the text shows it apart, the idlers as one line.
    assert not any(l["serialising"] for l in kinds(proc, "event"))
    locks_text = text.split("LOCKS, contended")[1].split("EVENTS,")[0]
    assert "events:work_lock" in locks_text and "idle_cond" not in locks_text
    assert all(str(t) not in locks_text for t in idlers)
    assert "5 threads idle the whole time, waiting for work" in text


def test_condvar_waiters_of_a_launched_command_are_events(tmp_path):
    """Launched: the idlers' waits end when the process exits (exit_group),
    which is not a pthread_join: the condvar stays an event, not held."""
    out = tmp_path / "r.json"
    p = subprocess.run([CONTRACE, "--json", str(out), "--", EVENTS, "0.5"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    roles, _, addr = read_truth(p.stdout.splitlines())
    (proc,) = validate(json.loads(out.read_text()))["processes"]
    assert [l["name"] for l in kinds(proc, "lock")] == ["events:work_lock"]
    (cond,) = [l for l in proc["locks"]
               if addr["idle_cond"] <= int(l["address"], 16) < addr["idle_cond"] + 48]
    assert cond["kind"] == "event" and cond["kind_why"] != "thread_exit"
    assert {w["tid"] for w in cond["waiters"]} == {t for t, r in roles.items() if r == "idler"}
    assert cond["holders"] == [] and cond["exit_wakes"] == 0
    # The main thread's join of a worker still running is an event too.
    joins = [l for l in proc["locks"] if l["thread_join"]]
    assert joins and all(l["kind_why"] == "thread_exit" and l["kind"] == "event" for l in joins)


def run_py(tmp_path, python, mode):
    out = tmp_path / f"{mode}.json"
    p = subprocess.run([CONTRACE, "--json", str(out), "--", python, PYEVENTS, mode, "0.6"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    roles, _, _ = read_truth(p.stdout.splitlines())
    (proc,) = validate(json.loads(out.read_text()))["processes"]
    return proc, roles


@pytest.mark.parametrize("label,python", PYTHONS, ids=[label for label, _ in PYTHONS])
def test_python_pool_waits_are_events(label, python, tmp_path):
    """Idle ThreadPoolExecutor workers and a main thread waiting on a future:
    no contention row but the GIL's."""
    proc, roles = run_py(tmp_path, python, "idle")
    main = [t for t, r in roles.items() if r == "main"]
    workers = {t for t, r in roles.items() if r == "worker"}
    assert len(main) == 1 and len(workers) == 4
    # The long waits (0.6 s for the future, for work) are in no lock row;
    # short real contention (the GIL, the C library's malloc lock) may be.
    for l in kinds(proc, "lock"):
        assert all(w["wait_ns"] < 0.1e9 for w in l["waiters"]), l["name"]
    waited = {}
    for l in kinds(proc, "event"):
        for w in l["waiters"]:
            waited[w["tid"]] = waited.get(w["tid"], 0) + w["wait_ns"]
    # The main thread waited ~0.6 s for its future; the idle workers as long.
    assert waited.get(main[0], 0) > 0.5e9, waited
    assert sum(1 for t in workers if waited.get(t, 0) > 0.5e9) >= 3, waited


@pytest.mark.parametrize("label,python", PYTHONS, ids=[label for label, _ in PYTHONS])
def test_python_lock_used_as_mutex_is_contention(label, python, tmp_path):
    proc, roles = run_py(tmp_path, python, "mutex")
    contenders = {t for t, r in roles.items() if r == "contender"}
    assert len(contenders) == 4
    # The lock, and now and then a short real contention beside it (the C
    # library's malloc lock: a second row once in a few suites on Debian's
    # 3.11); the gate the threads first wait on (an Event) is in none.
    locks = sorted((l for l in kinds(proc, "lock") if not l["gil"]), key=lambda l: -l["wait_ns"])
    lock = locks[0]
    assert all(l["wait_ns"] < 0.05 * lock["wait_ns"] for l in locks[1:]), locks
    assert lock["kind_why"] == "woken_by_waiters"
    assert {w["tid"] for w in lock["waiters"]} == contenders
    # Four threads each holding it 2 ms at a time: most of 0.6 s x 3 waiting.
    assert lock["wait_ns"] > 0.6e9, lock["wait_ns"]
