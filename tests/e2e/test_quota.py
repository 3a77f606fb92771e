# SPDX-License-Identifier: GPL-2.0-only
"""A CPU quota that throttles the traced process: the verdict and the
figures against the kernel's own count (the group's cpu.stat), and no
verdict without a quota (tools/workloads/spin.c)."""
import json
import os
import subprocess
import time

import pytest

from conftest import CONTRACE, WORKLOADS, run_contrace

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


def test_cpu_quota_throttling_verdict(cgroup, tmp_path):
    path, v2 = cgroup
    rec = tmp_path / "t.ctr"
    set_quota(path, v2, QUOTA_US)
    spin = spin_in(path, 10)
    try:
        time.sleep(0.3)
        n0, ns0, t0 = *cpu_stat(path, v2), time.monotonic_ns()
        # 4 s: the kernel adds a period's throttled time (80 ms here) when
        # the period ends, so each end of a window is off by up to that:
        # 5% of 3.2 s at most.
        _, r, _ = run_contrace("-o", str(rec), "-p", str(spin.pid), "-d", "4")
        n1, ns1, t1 = *cpu_stat(path, v2), time.monotonic_ns()
    finally:
        spin.kill()
        spin.wait()
    p = r["processes"][0]
    q = p["cpu_quota"]
    assert q is not None, p["runq_verdicts"]
    assert (q["quota_us"], q["period_us"]) == (QUOTA_US, PERIOD_US)
    assert q["cgroup"] == "/" + os.path.basename(path)
    assert q["file"] == ("cpu.max" if v2 else "cpu.cfs_quota_us")
    # The kernel's count over the window that holds contrace's: contrace's
    # share of it is its window's share of the time, within 10%.
    dur = r["trace"]["duration_ns"]
    want_ns = (ns1 - ns0) * dur / (t1 - t0)
    want_n = (n1 - n0) * dur / (t1 - t0)
    assert abs(q["throttled_ns"] - want_ns) <= 0.1 * want_ns, (q, want_ns)
    assert abs(q["throttled_periods"] - want_n) <= max(0.1 * want_n, 2), (q, want_n)
    assert q["throttled_ns"] <= ns1 - ns0 and q["throttled_periods"] <= n1 - n0
    assert q["throttled_periods"] > 0 and q["periods"] >= q["throttled_periods"]
    file = "cpu.max" if v2 else "cpu.cfs_quota_us/cfs_period_us"
    verdict = [v for v in p["runq_verdicts"] if v.startswith("throttled by a CPU quota")]
    assert verdict == [f"throttled by a CPU quota ({file} = {QUOTA_US}/{PERIOD_US} of "
                       f"{q['cgroup']}: {q['throttled_periods']} of {q['periods']} periods, "
                       f"{verdict[0].split(', ')[-1]}"], p["runq_verdicts"]
    # The quota is the cause: no other process is said to have starved it.
    assert not any(v.startswith(("starved", "held back")) for v in p["runq_verdicts"])
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
