# SPDX-License-Identifier: GPL-2.0-only
"""Many processes (-f): the summary across processes that opens the report
(tools/workloads/forks.c: 20 children, of which a few burn a CPU or contend
a lock)."""
import json
import os
import subprocess

from conftest import CONTRACE, WORKLOADS, validate

FORKS = os.path.join(WORKLOADS, "forks")


def run_text_json(tmp_path, *args, timeout=60):
    """contrace's text report (stderr) and JSON report of one run."""
    out = tmp_path / "r.json"
    p = subprocess.run([CONTRACE, "--top", "0", "--json", str(out), *args],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout, p.stderr, validate(json.loads(out.read_text()))


def is_event_row(lock):
    """A row of EVENTS: an event word with waits in the window, or a wait in
    progress that did not last the whole window (those are the idle line)."""
    if lock["kind"] != "event":
        return False
    return lock["waits"] > 0 or any(not w["idle"] for w in lock["waiting_now"])


def expected_rows(report):
    """What the summary's lock, syscall and event rows must be: every
    process's own rows, with the figures its sections show."""
    locks, sys, events = set(), set(), set()
    for p in report["processes"]:
        for lk in p["locks"]:
            if lk["kind"] == "lock":
                locks.add((p["pid"], lk["name"], lk["waits"], lk["wait_ns"]))
            if is_event_row(lk):
                events.add((p["pid"], lk["name"], lk["waits"],
                            lk["wait_ns"] + lk["waiting_now_ns"]))
        for s in p["syscalls"]:
            if s["blocked_ns"]:
                sys.add((p["pid"], s["name"], s["blocks"], s["blocked_ns"]))
    return locks, sys, events


def ranked(rows, key):
    return all(rows[i][key] >= rows[i + 1][key] for i in range(len(rows) - 1))


def test_follow_summary_across_processes_first(tmp_path):
    stdout, text, r = run_text_json(tmp_path, "-f", "--", FORKS, "20", "1.5")
    children = dict(line.split()[1:3] for line in stdout.splitlines()
                    if line.startswith("child "))
    assert len(children) == 20
    procs = {p["pid"]: p for p in r["processes"]}
    assert len(procs) == 21
    a = r["across"]
    assert a is not None and a["process_count"] == 21

    # Text: the summary comes before every process's section.
    head = "ACROSS 21 PROCESSES"
    assert head in text, text
    assert text.index(head) < text.index("\nPROCESS "), text
    assert text.index(head) > text.index("SUMMARY")

    # Processes: every one, ranked, each row its process's own figures.
    for key, order in (("by_cpu", "cpu_ns"), ("by_runq", "runq_ns")):
        rows = a[key]
        assert sorted(x["pid"] for x in rows) == sorted(procs)
        assert ranked(rows, order)
        for x in rows:
            p = procs[x["pid"]]
            assert (x["comm"], x["cpu_ns"], x["runq_ns"], x["blocked_ns"],
                    x["thread_count"]) == (p["comm"], p["cpu_ns"], p["runq_ns"],
                                           p["blocked_ns"], p["thread_count"])
    # ... which add up to the total.
    for key in ("cpu_ns", "runq_ns", "blocked_ns"):
        assert sum(x[key] for x in a["by_cpu"]) == r["total"][key]
    # The CPU burners and the lock contenders are the busiest.
    busy = {str(pid) for pid, role in children.items() if role in ("burner", "contender")}
    assert {str(x["pid"]) for x in a["by_cpu"][:4]} == busy, a["by_cpu"][:6]

    # Locks, syscalls, events: exactly the processes' own rows, ranked.
    locks, sys, events = expected_rows(r)
    assert {(x["pid"], x["lock"], x["waits"], x["wait_ns"]) for x in a["locks"]} == locks
    assert {(x["pid"], x["syscall"], x["blocks"], x["blocked_ns"])
            for x in a["syscalls"]} == sys
    assert {(x["pid"], x["event"], x["waits"], x["wait_ns"]) for x in a["events"]} == events
    for key, order in (("locks", "wait_ns"), ("syscalls", "blocked_ns"), ("events", "wait_ns")):
        assert ranked(a[key], order)
    for x in a["locks"] + a["syscalls"] + a["events"]:
        assert x["comm"] == procs[x["pid"]]["comm"]
    # The two contenders' lock leads the contended locks; each sleeper's
    # clock_nanosleep is a blocked syscall.
    contenders = {int(pid) for pid, role in children.items() if role == "contender"}
    assert {x["pid"] for x in a["locks"][:2]} == contenders
    assert all(x["lock"].endswith(":contend_lock") for x in a["locks"][:2])
    sleepers = {int(pid) for pid, role in children.items() if role == "sleeper"}
    assert sleepers <= {x["pid"] for x in a["syscalls"] if x["syscall"] == "clock_nanosleep"}
    waiters = {int(pid) for pid, role in children.items() if role == "waiter"}
    assert waiters <= {x["pid"] for x in a["events"] if x["event"].endswith(":work_cond")}
    # The text shows the same rows.
    section = text[text.index(head):text.index("\nPROCESS ")]
    for x in a["locks"][:2]:
        assert f"{x['pid']} {x['comm']}" in " ".join(section.split()), section


def test_one_process_has_no_summary_across(tmp_path):
    _, text, r = run_text_json(tmp_path, "-f", "--", FORKS, "0", "0.1")
    assert r["across"] is None
    assert "ACROSS" not in text
