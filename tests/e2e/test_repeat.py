# SPDX-License-Identifier: GPL-2.0-only
"""contrace --repeat N: the command traced N times, each metric's median and
range; contrace diff of such reports compares medians and calls no change
inside the measured spread a regression."""
import copy
import json
import os
import signal
import statistics
import subprocess
import time

import pytest

from conftest import CONTRACE, WORKLOADS

LOCKS = os.path.join(WORKLOADS, "locks")


def repeat(tmp_path, name, runs, *cmd):
    out = tmp_path / f"{name}.json"
    p = subprocess.run([CONTRACE, "--repeat", str(runs), "--json", str(out), "--", *cmd],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p, out


def diff(*args):
    p = subprocess.run([CONTRACE, "diff", "--json", "-", *map(str, args)], capture_output=True,
                       text=True)
    return p.returncode, (json.loads(p.stdout) if p.stdout else None), p.stderr


def lock_wait(report):
    """locks.wait_ns of a run, from its own report: its locks' waits, joins and
    events (waiting for work, not contention) left out."""
    return sum(l["wait_ns"] for l in report["processes"][0]["locks"]
               if not l["thread_join"] and l["kind"] == "lock")


def test_runs_medians_and_ranges(tmp_path):
    p, out = repeat(tmp_path, "rep", 3, LOCKS, "mutex", "2", "100", "1000")
    doc = json.loads(out.read_text())
    assert doc["kind"] == "repeat" and doc["repeat"] == 3 and len(doc["runs"]) == 3
    # Each run is a whole trace of its own: a new process each time.
    pids = {r["processes"][0]["pid"] for r in doc["runs"]}
    assert len(pids) == 3
    # The summary is a trace's report: on stderr, the command's stdout its own.
    assert "contrace --repeat: 3 runs of" in p.stderr and "locks.wait_ns" in p.stderr
    assert "contrace" not in p.stdout
    code, d, err = diff(out, out)
    assert code == 0, err
    rows = {m["metric"]: m for m in d["metrics"]}
    for metric, values in (("wall_ns", [r["processes"][0]["wall_ns"] for r in doc["runs"]]),
                           ("locks.wait_ns", [lock_wait(r) for r in doc["runs"]])):
        row = rows[metric]
        assert row["base_runs"] == 3 and row["base"] == pytest.approx(statistics.median(values))
        assert row["base_min"] == pytest.approx(min(values))
        assert row["base_max"] == pytest.approx(max(values))


def test_more_contending_threads_regress_beyond_the_spread(tmp_path):
    _, base = repeat(tmp_path, "base", 3, LOCKS, "mutex", "2", "100", "1000")
    _, new = repeat(tmp_path, "new", 3, LOCKS, "mutex", "4", "100", "1000")
    code, d, err = diff(base, new)
    assert code == 1, err
    broken = [r for r in d["rules"] if r["broken"]]
    assert any(r["rule"] == "locks.wait_ns>+20%" for r in broken), d["rules"]


def spread_doc(report, walls):
    """A --repeat document of copies of one real report, with these wall times."""
    runs = []
    for w in walls:
        r = copy.deepcopy(report)
        r["processes"][0]["wall_ns"] = w
        runs.append(r)
    return {"schema_version": 1, "kind": "repeat", "repeat": len(runs), "runs": runs}


def test_a_change_inside_the_spread_is_not_a_regression(tmp_path):
    one = tmp_path / "one.json"
    subprocess.run([CONTRACE, "-q", "--json", str(one), "--", LOCKS, "mutex", "2", "20", "100"],
                   check=True, capture_output=True)
    report = json.loads(one.read_text())
    base, inside, beyond = (tmp_path / f"{n}.json" for n in ("base", "inside", "beyond"))
    base.write_text(json.dumps(spread_doc(report, [100e6, 110e6, 120e6])))
    inside.write_text(json.dumps(spread_doc(report, [105e6, 118e6, 140e6])))
    beyond.write_text(json.dumps(spread_doc(report, [119e6, 125e6, 150e6])))
    # Medians 110 ms and 118 ms (+7%), but 118 ms is one of the base's runs' values.
    code, d, err = diff("--fail-on", "wall_ns>+5%", base, inside)
    assert code == 0, err
    assert d["rules"] == [{"rule": "wall_ns>+5%", "broken": False, "within_spread": True}]
    p = subprocess.run([CONTRACE, "diff", "--fail-on", "wall_ns>+5%", base, inside],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "within the measured spread" in p.stdout, p.stdout
    # 110 ms against 125 ms: each median outside the other side's runs, though
    # the ranges overlap (119-120 ms): a regression.
    code, d, _ = diff("--fail-on", "wall_ns>+5%", base, beyond)
    assert code == 1
    assert d["rules"] == [{"rule": "wall_ns>+5%", "broken": True, "within_spread": False}]


@pytest.mark.parametrize("args,message", [
    (["--repeat", "1", "--", "true"], "invalid --repeat '1'"),
    (["--repeat", "x", "--", "true"], "invalid --repeat 'x'"),
    (["--repeat", "3", "-p", "1"], "--repeat runs a command"),
    (["--repeat", "3", "-i", "1", "--", "true"], "--repeat reports totals: not with -i"),
    (["--repeat", "3", "-o", "x.ctr", "--", "true"], "not with -o"),
])
def test_usage(args, message):
    p = subprocess.run([CONTRACE, *args], capture_output=True, text=True)
    assert p.returncode == 2 and message in p.stderr, p.stderr


def test_bad_repeat_document(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "kind": "repeat", "runs": []}))
    code, _, err = diff(bad, bad)
    assert code == 2 and "a --repeat report without runs" in err


def descendants(pid):
    """(pid, comm) of the processes below pid, from /proc."""
    parent = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue  # gone
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        parent[int(d)] = (int(stat[stat.rindex(")") + 2:].split()[1]), comm)
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [(c, comm) for c, (pp, comm) in parent.items() if pp == p]
        out += kids
        todo += [c for c, _ in kids]
    return out


def test_a_signal_ends_the_runs_and_leaves_out_the_one_cut_short(tmp_path):
    out = tmp_path / "rep.json"
    p = subprocess.Popen([CONTRACE, "--repeat", "3", "--json", str(out), "--", "sleep", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Inside the second run: once its command runs (a second `sleep` below
    # contrace), not after a fixed time (a start takes 0.2-0.6 s, longer on
    # a fresh machine under ASan).
    seen, deadline = set(), time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        seen |= {k for k, comm in descendants(p.pid) if comm == "sleep"}
        time.sleep(0.02)
    assert len(seen) == 2, seen
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, stderr = p.communicate(timeout=30)
    assert p.returncode == 0, stderr
    assert "stopped by a signal after 1 of 3 runs" in stderr
    doc = json.loads(out.read_text())
    assert doc["repeat"] == 1 and len(doc["runs"]) == 1
    assert "contrace --repeat: 1 runs of sleep 1" in stderr
    assert not [f for f in os.listdir("/tmp") if f.startswith("contrace-repeat-")]


def test_the_json_path_is_checked_before_the_runs(tmp_path):
    """A --json that cannot be written fails at once, not after N runs of the
    command; a repeat that made no run leaves an existing file as it was."""
    start = time.monotonic()
    p = subprocess.run([CONTRACE, "--repeat", "5", "--json", str(tmp_path / "no" / "r.json"),
                        "--", "sleep", "1"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and time.monotonic() - start < 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write JSON to" in lines[0], p.stderr
    keep = tmp_path / "keep.json"
    keep.write_text("the user's own file\n")
    p = subprocess.run([CONTRACE, "--repeat", "2", "--json", str(keep), "--", "/nonexistent"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 127, p.stderr
    assert keep.read_text() == "the user's own file\n"
    assert os.listdir(tmp_path) == ["keep.json"]
