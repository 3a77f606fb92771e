# SPDX-License-Identifier: GPL-2.0-only
"""Who had the CPU while a traced thread waited for one (PREEMPTED BY):
a hog in another process on the same CPU, and more threads than CPUs
(tools/workloads/spin.c)."""
import json
import os
import subprocess

import pytest

from conftest import CONTRACE, WORKLOADS, validate

SPIN = os.path.join(WORKLOADS, "spin")
# At the highest priority: the other processes of this shared machine (all in
# one CPU cgroup) then get little of the CPU next to them (weight 88761
# against 1024 at nice 0: a dozen others, 3% of it).
NICE = ["nice", "-n", "-20"]


@pytest.fixture(autouse=True)
def high_priority():
    """With autogroups (kernel.sched_autogroup_enabled), nice counts only
    within a session's group: the group of this test session gets nice -20
    too while these tests run, as its processes do, so that the busy
    sessions of this shared machine take little of the CPUs next to them."""
    path = "/proc/self/autogroup"
    try:
        # Empty where the kernel keeps no autogroup for the session.
        words = open(path).read().split()
        before = words[-1] if words else None
        if before is not None:
            with open(path, "w") as f:
                f.write("-20")
    except OSError:
        before = None
    yield
    if before is not None:
        with open(path, "w") as f:
            f.write(before)


def spin_lines(stdout):
    return [int(l.split()[1]) for l in stdout.splitlines() if l.startswith("thread ")]


def run(tmp_path, argv):
    out = tmp_path / "r.json"
    p = subprocess.run([CONTRACE, "--json", str(out), "--", *argv], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # The command's output on stdout, the report on stderr.
    return validate(json.loads(out.read_text())), p.stdout, p.stderr


def test_hog_on_the_same_cpu_is_named(tmp_path):
    hog = subprocess.Popen([*NICE, "taskset", "-c", "1", SPIN, "20"], stdout=subprocess.PIPE,
                           text=True)
    try:
        assert hog.stdout.readline().startswith("thread ")
        report, out, text = run(tmp_path, [*NICE, "taskset", "-c", "1", SPIN, "1"])
    finally:
        hog.kill()
        hog.wait()
    (tid,) = spin_lines(out)
    (proc,) = report["processes"]
    (t,) = [t for t in proc["threads"] if t["tid"] == tid]
    # Sharing one CPU with the hog: about half the second waiting for it.
    assert t["runq_ns"] > 0.3e9, t["runq_ns"]
    split = sum(r["ns"] for r in t["preempted_by"])
    assert 0.9 * t["runq_ns"] <= split <= 1.02 * t["runq_ns"], (split, t["runq_ns"])
    hogs = [r for r in t["preempted_by"] if r["pid"] == hog.pid]
    assert len(hogs) == 1 and hogs[0]["kind"] == "process" and hogs[0]["comm"] == "spin"
    assert hogs[0]["ns"] >= 0.9 * t["runq_ns"], t["preempted_by"][:4]
    # The process's table and verdict name it, with its share.
    top = proc["preempted_by"][0]
    assert (top["kind"], top["pid"], top["comm"]) == ("process", hog.pid, "spin")
    assert any(v.startswith(f"starved by another process: spin (pid {hog.pid}) had the CPU for")
               for v in proc["runq_verdicts"]), proc["runq_verdicts"]
    assert f"VERDICT: starved by another process: spin (pid {hog.pid})" in text
    assert "PREEMPTED BY" in text


def test_more_threads_than_cpus_is_oversubscription(tmp_path):
    report, out, text = run(tmp_path, [*NICE, "taskset", "-c", "0,1", SPIN, "1", "8"])
    tids = set(spin_lines(out))
    assert len(tids) == 8
    (proc,) = report["processes"]
    assert proc["ncpus"] == 2 and proc["busy_threads"] >= 8
    assert proc["runnable_avg"] > proc["ncpus"], proc["runnable_avg"]
    # The wait is split whole; its own threads are a large part of it (on this
    # shared machine, busier cgroups than the test's may have more).
    runq = sum(t["runq_ns"] for t in proc["threads"])
    split = sum(r["ns"] for r in proc["preempted_by"])
    assert 0.9 * runq <= split <= 1.02 * runq, (split, runq)
    (own,) = [r for r in proc["preempted_by"] if r["kind"] == "own_thread"]
    assert own["ns"] >= 0.2 * split and own["pid"] == proc["pid"], proc["preempted_by"][:4]
    # Each spinner waited behind its siblings, named by thread.
    for t in proc["threads"]:
        if t["tid"] in tids:
            sibs = {r["tid"] for r in t["preempted_by"] if r["kind"] == "own_thread"}
            assert sibs and sibs <= (tids | {proc["pid"]}) - {t["tid"]}, t["preempted_by"][:3]
    (v,) = [v for v in proc["runq_verdicts"] if v.startswith("oversubscribed")]
    assert "oversubscribed by its own threads: 9 threads wanted a CPU" in v or \
        "oversubscribed by its own threads: 8 threads wanted a CPU" in v, v
    assert "for 2 allowed CPUs" in v
    assert "VERDICT: oversubscribed by its own threads" in text
