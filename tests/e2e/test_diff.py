# SPDX-License-Identifier: GPL-2.0-only
"""contrace diff as a CI gate: the example script in docs/ played with a
lock workload that gets more contending threads, and bad inputs."""
import json
import os
import subprocess

import pytest

from conftest import CONTRACE, ROOT, WORKLOADS

LOCKS = os.path.join(WORKLOADS, "locks")
EXAMPLE = os.path.join(ROOT, "docs", "ci-example.sh")


def play(tmp_path, base, new, *rules):
    env = dict(os.environ, CONTRACE=CONTRACE, BASE_CMD=base, NEW_CMD=new,
               OUT=str(tmp_path / "ci"))
    p = subprocess.run(["sh", EXAMPLE, *rules], capture_output=True, text=True, env=env,
                       timeout=120)
    diff = json.loads((tmp_path / "ci" / "diff.json").read_text())
    return p, diff


def test_more_contending_threads_fail_the_gate(tmp_path):
    p, diff = play(tmp_path, f"{LOCKS} mutex 2 300 1000", f"{LOCKS} mutex 4 300 1000")
    assert p.returncode == 1, p.stderr
    assert "FAIL  locks.wait_ns>+20%" in p.stdout and "REGRESSION" in p.stdout
    assert diff["regression"]
    rows = {m["metric"]: m for m in diff["metrics"]}
    # Twice the threads on one lock: each waits for more holders.
    lock = rows["lock[locks:queue_lock].wait_ns"]
    assert lock["new"] > 2 * lock["base"]
    # The per-thread-name rows add the new threads' time up.
    assert rows["thread[locks].oncpu_ns"]["new"] > 1.5 * rows["thread[locks].oncpu_ns"]["base"]
    md = (tmp_path / "ci" / "diff.md").read_text()
    assert "| `locks.wait_ns` |" in md and "**Regression**" in md


def test_same_workload_passes(tmp_path):
    cmd = f"{LOCKS} mutex 2 300 1000"
    p, diff = play(tmp_path, cmd, cmd)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not diff["regression"] and "within limits" in p.stdout


def test_rules_set_the_status(tmp_path):
    cmd = f"{LOCKS} mutex 2 300 1000"
    # Rules the same workload cannot break: 2 threads x 300 iterations make at
    # most 600 contended waits, and each run waits in most of them (350-600
    # seen, also on a loaded machine), so never 3 times the base's ...
    p, _ = play(tmp_path, cmd, cmd, "lock[locks:queue_lock].waits>+200%", "thread_count>+0")
    assert p.returncode == 0, p.stdout
    # ... and any run breaks an absolute rule it cannot meet.
    p, diff = play(tmp_path, cmd, cmd, "wall_ns>=-1s")
    assert p.returncode == 1
    assert diff["rules"] == [{"rule": "wall_ns>=-1s", "broken": True, "within_spread": False}]


@pytest.fixture
def report(tmp_path):
    out = tmp_path / "r.json"
    subprocess.run([CONTRACE, "-q", "--json", str(out), "--", LOCKS, "mutex", "2", "20", "100"],
                   check=True, capture_output=True)
    return out


@pytest.mark.parametrize("content,message", [
    (None, "cannot read: No such file or directory"),
    ("", "not a contrace JSON report"),
    ("{\"a\": 1", "not a contrace JSON report"),
    ("[1, 2]", "not a contrace JSON report (not an object)"),
    ("{\"x\": 1}", "not a contrace JSON report (no schema_version)"),
    ("{\"schema_version\": 2, \"processes\": []}", "report schema version 2; this contrace reads version 1"),
    ("{\"schema_version\": 1, \"processes\": []}", "the report has no process"),
    ("\x00\x01binary", "not a contrace JSON report"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, report, content, message):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for args in ([str(report), str(bad)], [str(bad), str(report)]):
        p = subprocess.run([CONTRACE, "diff", *args], capture_output=True, text=True)
        assert p.returncode == 2
        lines = p.stderr.strip().split("\n")
        assert len(lines) == 1 and str(bad) in lines[0] and message in lines[0], p.stderr


@pytest.mark.parametrize("args,message", [
    ([], "expected two reports"),
    (["a.json"], "expected two reports"),
    (["--fail-on", "nonsense", "a", "b"], "invalid rule 'nonsense'"),
    (["--fail-on", "x>5kg", "a", "b"], "unknown unit 'kg'"),
    (["--bogus", "a", "b"], "unknown option '--bogus'"),
])
def test_usage_errors(args, message):
    p = subprocess.run([CONTRACE, "diff", *args], capture_output=True, text=True)
    assert p.returncode == 2 and message in p.stderr, p.stderr


def test_unknown_metric_in_a_rule(report):
    p = subprocess.run([CONTRACE, "diff", "--fail-on", "no.such>+1%", str(report), str(report)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no metric 'no.such'" in p.stderr


def test_recordings_diff_like_their_reports(tmp_path):
    """diff reads recordings as well: the same table as the JSON reports
    `contrace report --json` makes of them, and a bad recording is a one-line
    error naming the file."""
    recs, jsons = [], []
    for name, threads in (("base", "2"), ("new", "4")):
        rec, js = tmp_path / f"{name}.ctr", tmp_path / f"{name}.json"
        subprocess.run([CONTRACE, "record", "-o", str(rec), "-q", "--", LOCKS, "mutex", threads,
                        "100", "1000"], check=True, capture_output=True)
        subprocess.run([CONTRACE, "report", str(rec), "-q", "--json", str(js)], check=True,
                       capture_output=True)
        recs.append(str(rec))
        jsons.append(str(js))
    from_recs = subprocess.run([CONTRACE, "diff", "--json", "-", *recs], capture_output=True,
                               text=True)
    from_json = subprocess.run([CONTRACE, "diff", "--json", "-", *jsons], capture_output=True,
                               text=True)
    assert from_recs.returncode == from_json.returncode == 1, from_recs.stderr
    assert json.loads(from_recs.stdout)["metrics"] == json.loads(from_json.stdout)["metrics"]
    mixed = subprocess.run([CONTRACE, "diff", jsons[0], recs[1]], capture_output=True, text=True)
    assert mixed.returncode == 1 and "locks.wait_ns" in mixed.stdout
    data = open(recs[0], "rb").read()
    for content, message in ((data[:24], "no metadata"), (b"CONTRACE", "not a contrace recording")):
        bad = tmp_path / "bad.ctr"
        bad.write_bytes(content)
        p = subprocess.run([CONTRACE, "diff", str(bad), recs[1]], capture_output=True, text=True)
        lines = p.stderr.strip().split("\n")
        assert p.returncode == 2 and len(lines) == 1, p.stderr
        assert str(bad) in lines[0] and message in lines[0], p.stderr
