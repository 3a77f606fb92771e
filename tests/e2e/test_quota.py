# SPDX-License-Identifier: GPL-2.0-only
"""A CPU quota that throttles the traced process: the verdict and the
figures against the kernel's own count (the group's cpu.stat), and no
verdict without a quota (tools/workloads/spin.c)."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import CONTRACE, WORKLOADS, run_contrace, validate

SPIN = os.path.join(WORKLOADS, "spin")
QUOTA_US, PERIOD_US = 20000, 100000


def cpu_hierarchy():
    """(mount point, v2) of the hierarchy with the cpu controller: v2 where
    it has it, else v1's (a hybrid system such as the development VM)."""
    v1 = None
    for line in open("/proc/self/mountinfo"):
        left, right = line.split(" - ")
        fields, (fstype, _, opts) = left.split(), right.split()
        if fields[3] != "/":
            continue
        if fstype == "cgroup2":
            try:
                if "cpu" in open(os.path.join(fields[4], "cgroup.controllers")).read().split():
                    return fields[4], True
            except OSError:
                pass
        elif fstype == "cgroup" and "cpu" in opts.split(","):
            v1 = fields[4]
    return (v1, False) if v1 else (None, None)


@pytest.fixture
def cgroup():
    """A cgroup of the test's own, removed after it; yields (dir, v2)."""
    mnt, v2 = cpu_hierarchy()
    if not mnt:
        pytest.skip("no cgroup hierarchy has the cpu controller")
    path = os.path.join(mnt, f"contrace-test-{os.getpid()}")
    if v2:
        with open(os.path.join(mnt, "cgroup.subtree_control"), "w") as f:
            f.write("+cpu")
    os.mkdir(path)
    yield path, v2
    for _ in range(50):
        try:
            os.rmdir(path)
            break
        except OSError:
            time.sleep(0.1)


def set_quota(path, v2, quota_us):
    if v2:
        with open(os.path.join(path, "cpu.max"), "w") as f:
            f.write(f"{quota_us or 'max'} {PERIOD_US}")
    else:
        with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
            f.write(str(PERIOD_US))
        with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(quota_us or -1))


def cpu_stat(path, v2):
    """(nr_throttled, throttled ns) as the kernel counts them."""
    st = dict(line.split() for line in open(os.path.join(path, "cpu.stat")))
    ns = int(st["throttled_usec"]) * 1000 if v2 else int(st["throttled_time"])
    return int(st["nr_throttled"]), ns


def spin_in(path, secs):
    """A CPU-bound thread in cgroup `path`, running once it printed 'ready'."""
    p = subprocess.Popen(["sh", "-c", f"echo $$ > {path}/cgroup.procs && exec {SPIN} {secs}"],
                         stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.strip() == "ready":
            return p
    raise AssertionError("spin did not start")


def trace_throttled(pid, rec, json_path):
    """Trace a stopped process for 3 s, letting it run for 2 s of them: all
    its throttling falls inside the trace, so the kernel's count around the
    trace is the truth contrace's must match (the load of a shared machine
    changes the rate from second to second: a rate would not do)."""
    c = subprocess.Popen([CONTRACE, "--json", str(json_path), "-o", str(rec), "-p", str(pid),
                          "-d", "3"], stderr=subprocess.PIPE, text=True)
    try:
        for line in c.stderr:
            if line.startswith("contrace: tracing"):
                break
        else:
            raise AssertionError(f"contrace did not start: {c.wait()}")
        os.kill(pid, signal.SIGCONT)
        time.sleep(2)
        os.kill(pid, signal.SIGSTOP)
        _, err = c.communicate(timeout=60)
    finally:
        if c.poll() is None:
            c.kill()
            c.wait()
    assert c.returncode == 0, err
    return validate(json.loads(json_path.read_text()))


def test_cpu_quota_throttling_verdict(cgroup, tmp_path):
    path, v2 = cgroup
    rec = tmp_path / "t.ctr"
    set_quota(path, v2, QUOTA_US)
    spin = spin_in(path, 30)
    try:
        os.kill(spin.pid, signal.SIGSTOP)
        n0, ns0 = cpu_stat(path, v2)
        r = trace_throttled(spin.pid, rec, tmp_path / "r.json")
        n1, ns1 = cpu_stat(path, v2)
    finally:
        spin.kill()
        spin.wait()
    p = r["processes"][0]
    q = p["cpu_quota"]
    assert q is not None, p["runq_verdicts"]
    assert (q["quota_us"], q["period_us"]) == (QUOTA_US, PERIOD_US)
    assert q["cgroup"] == "/" + os.path.basename(path)
    assert q["file"] == ("cpu.max" if v2 else "cpu.cfs_quota_us")
    # The kernel's count around the trace, which holds all of the throttling.
    assert abs(q["throttled_ns"] - (ns1 - ns0)) <= 0.1 * (ns1 - ns0), (q, ns1 - ns0)
    assert abs(q["throttled_periods"] - (n1 - n0)) <= 0.1 * (n1 - n0), (q, n1 - n0)
    assert q["throttled_ns"] > 0.2e9, q  # 20 periods or so in 2 s
    assert q["throttled_periods"] > 0 and q["periods"] >= q["throttled_periods"]
    file = "cpu.max" if v2 else "cpu.cfs_quota_us/cfs_period_us"
    verdict = [v for v in p["runq_verdicts"] if v.startswith("throttled by a CPU quota")]
    assert verdict == [f"throttled by a CPU quota ({file} = {QUOTA_US}/{PERIOD_US} of "
                       f"{q['cgroup']}: {q['throttled_periods']} of {q['periods']} periods, "
                       f"{verdict[0].split(', ')[-1]}"], p["runq_verdicts"]
    # A quota that held it back for half its run-queue wait or more is the
    # cause: no other process is said to have starved it. (On a machine
    # loaded enough to keep it from its quota, others may have.)
    split = sum(x["ns"] for x in p["preempted_by"])
    if q["throttled_ns"] >= 0.5 * split:
        assert not any(v.startswith(("starved", "held back")) for v in p["runq_verdicts"])
    print(f"throttled {q['throttled_ns']} ns in {q['throttled_periods']} periods; "
          f"cpu.stat {ns1 - ns0} ns in {n1 - n0}; run-queue wait split {split} ns")
    # The SUMMARY's run-queue finding says why.
    cpu = [f for f in r["summary"] if f["kind"] == "cpu"]
    assert all("; its CPU quota held it back " in f["finding"] for f in cpu), cpu
    # A recording keeps it.
    out = subprocess.run([CONTRACE, "report", str(rec), "--json", "-"], capture_output=True,
                         text=True, check=True).stdout
    again = json.loads(out)["processes"][0]
    assert (again["cpu_quota"], again["runq_verdicts"]) == (q, p["runq_verdicts"])


def test_no_quota_no_verdict(cgroup):
    path, v2 = cgroup
    set_quota(path, v2, 0)
    spin = spin_in(path, 4)
    try:
        _, r, _ = run_contrace("-p", str(spin.pid), "-d", "0.5")
    finally:
        spin.kill()
        spin.wait()
    p = r["processes"][0]
    assert p["cpu_quota"] is None
    assert not any("quota (" in v for v in p["runq_verdicts"]), p["runq_verdicts"]
    assert not any("CPU quota" in f["finding"] for f in r["summary"]), r["summary"]
