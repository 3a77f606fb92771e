# SPDX-License-Identifier: GPL-2.0-only
"""contrace diff as a CI gate: the example script in docs/ played with a
lock workload that gets more contending threads, and bad inputs."""
import copy
import json
import math
import os
import resource
import subprocess
import sys

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
    # ... and any run breaks an absolute rule it cannot meet (its wall time
    # cannot drop by 1000 s; by 1 s it did, 4.2 s to 3.1 s on a loaded machine).
    p, diff = play(tmp_path, cmd, cmd, "wall_ns>=-1000s")
    assert p.returncode == 1
    assert diff["rules"] == [{"rule": "wall_ns>=-1000s", "broken": True,
                              "within_spread": False}]


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
    ("{\"schema_version\": 1, \"kind\": \"total\", \"processes\": []}",
     "processes: empty: the report has no process"),
    ("{\"schema_version\": 1, \"processes\": [{}]}", "kind: missing"),
    ("\x00\x01binary", "not a contrace JSON report"),
    ("{\"schema_version\": 1}\x00{}", "not a contrace JSON report (a NUL byte"),
    # Control characters of the input never break the line (found by the fuzzer).
    ("{\"schema_version\": 1, \"kind\": \"to\\n\\ntal\"}", "kind: 'to??tal' is no report"),
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
    # Plain decimal changes only: strtod took the first two as +16% and +10%.
    (["--fail-on", "runq_ns>+0x10%", "a", "b"], "invalid rule 'runq_ns>+0x10%'"),
    (["--fail-on", "runq_ns>+1e1%", "a", "b"], "invalid rule 'runq_ns>+1e1%'"),
    (["--fail-on", "runq_ns>+ 1%", "a", "b"], "invalid rule 'runq_ns>+ 1%'"),
    (["--fail-on", "runq_ns>inf", "a", "b"], "invalid rule 'runq_ns>inf'"),
    (["--fail-on", "runq_ns>+1.5.2ms", "a", "b"], "invalid rule 'runq_ns>+1.5.2ms'"),
])
def test_usage_errors(args, message):
    p = subprocess.run([CONTRACE, "diff", *args], capture_output=True, text=True)
    assert p.returncode == 2 and message in p.stderr, p.stderr


RC_RSS_OF = """
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.stderr.strip())
"""


def rc_rss(*args):
    """The exit status, the peak RSS (KiB) and the stderr of one contrace run."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    out = subprocess.run([sys.executable, "-c", RC_RSS_OF, CONTRACE, *map(str, args)],
                         capture_output=True, text=True, timeout=60, env=env).stdout
    rc, rss, err = out.split(" ", 2)
    return int(rc), int(rss), err.strip()


def test_large_or_binary_input_refused_before_it_is_read(tmp_path, report):
    """A JSON input past the documented 256 MiB, or with a NUL byte in its
    first bytes, is refused before it is read: one line, exit 2, a few MB
    of memory. (A 1 GB sparse file was read whole: 1.05 GB of RSS.)"""
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate((256 << 20) + 1)
    binary = tmp_path / "zeros.json"
    with open(binary, "wb") as f:
        f.truncate(200 << 20)
    at_cap = tmp_path / "at-cap.json"
    with open(at_cap, "wb") as f:
        f.write(b" " * 4096)
        f.truncate(256 << 20)  # the rest zeros: read (at the cap), then refused
    cases = [(big, f"{big}: 268435457 bytes: larger than a JSON report can be (256 MiB)"),
             (binary, f"{binary}: not a contrace JSON report (a NUL byte: binary data)")]
    for bad, message in cases:
        rc, rss, err = rc_rss("diff", report, bad)
        assert rc == 2 and err == f"contrace diff: {message}", err
        assert rss < 100 * 1024, rss  # ASan's own: about 30 MB
    rc, rss, err = rc_rss("diff", at_cap, report)
    assert rc == 2 and "a NUL byte" in err and rss > 256 * 1024, (err, rss)


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


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A real report (a lock workload with a named lock), and a whole recording with -i."""
    d = tmp_path_factory.mktemp("real")
    out, rec = d / "r.json", d / "r.ctr"
    # About 0.4 s: several 50 ms intervals even on a loaded machine, under ASan.
    subprocess.run([CONTRACE, "-q", "--json", str(out), "-i", "0.05", "-o", str(rec), "--",
                    LOCKS, "mutex", "2", "200", "1000"], check=True, capture_output=True)
    lines = out.read_text().splitlines()
    return {"report": json.loads(lines[-1]), "lines": lines, "json": out, "rec": rec, "dir": d}


def diff_of(*args):
    p = subprocess.run([CONTRACE, "diff", *map(str, args)], capture_output=True, text=True,
                       timeout=60)
    return p


def one_line(p, status, *needles):
    assert p.returncode == status, (p.returncode, p.stderr)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def mutated(report, path, value):
    """A copy of the report with the member at path (keys and indexes) set (or deleted: ...)."""
    doc = copy.deepcopy(report)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is Ellipsis:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def proc0(*rest):
    return ("processes", 0) + rest


# Each value diff reads, broken as the schema forbids: the JSON path and the problem.
BROKEN = [
    (proc0("runq_ns"), float("nan"), "processes[0].runq_ns: not a finite number"),
    (proc0("runq_ns"), float("inf"), "processes[0].runq_ns: not a finite number"),
    (proc0("wall_ns"), -float("inf"), "processes[0].wall_ns: not a finite number"),
    (proc0("cpu_ns"), "5", "processes[0].cpu_ns: not a number"),
    (proc0("cpu_ns"), None, "processes[0].cpu_ns: not a number"),
    (proc0("wakeups"), -1, "processes[0].wakeups: negative"),
    (proc0("cpu_utilization"), [], "processes[0].cpu_utilization: not a number"),
    (proc0("thread_count"), Ellipsis, "processes[0].thread_count: missing"),
    (proc0("wall_ns"), 1e300, "processes[0].wall_ns: out of range"),
    # Times and counts are the schema's integers; ratios are not.
    (proc0("runq_ns"), 1.5, "processes[0].runq_ns: not a whole number"),
    (proc0("thread_count"), 2.25, "processes[0].thread_count: not a whole number"),
    (proc0("locks", 0, "waits"), 0.5, "processes[0].locks[0].waits: not a whole number"),
    (("processes",), [1], "processes[0]: not an object"),
    (("processes",), {"0": {}}, "processes: not an array"),
    (proc0("locks"), None, "processes[0].locks: not an array"),
    (proc0("locks", 0, "name"), 5, "processes[0].locks[0].name: not a string"),
    (proc0("locks", 0, "named"), "yes", "processes[0].locks[0].named: not true or false"),
    (proc0("locks", 0, "wait_ns"), float("nan"), "processes[0].locks[0].wait_ns: not a finite"),
    (proc0("threads", 0, "comm"), None, "processes[0].threads[0].comm: not a string"),
    (proc0("threads", 0, "oncpu_ns"), Ellipsis, "processes[0].threads[0].oncpu_ns: missing"),
    (proc0("syscalls", 0, "calls"), "many", "processes[0].syscalls[0].calls: not a number"),
    (proc0("gil"), 5, "processes[0].gil: not an object or null"),
    (proc0("gil"), {"tier": 1}, "processes[0].gil.tier: not a string"),
    (proc0("gil"), {"tier": "uprobes", "held_fraction": float("nan")},
     "processes[0].gil.held_fraction: not a finite number"),
    (("trace", "truncated"), "no", "trace.truncated: not true or false"),
    (("kind",), 1, "kind: not a string"),
    (("kind",), "summary", "kind: 'summary' is no report"),
]


@pytest.mark.parametrize("path,value,message", BROKEN, ids=[b[2] for b in BROKEN])
def test_values_against_the_schema_are_input_errors(real, tmp_path, path, value, message):
    """NaN, infinities, wrong types, negative counts and missing members are
    input errors (exit 2) naming the file and the JSON path, on either side:
    never a metric read as 0 (a regression, exit 1) or a NaN that passes."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(mutated(real["report"], path, value)))
    one_line(diff_of(real["json"], bad), 2, f"{bad}: {message}")
    one_line(diff_of("--fail-on", "runq_ns>+1%", bad, real["json"]), 2, f"{bad}: {message}")


def test_whole_numbers_as_decimals_and_ratios_are_read(real, tmp_path):
    """1.0 is a whole number (JSON writers may print one so), and a ratio
    takes any fraction: both read, not refused by the integer check."""
    doc = mutated(real["report"], proc0("runq_ns"), 3000000.0)
    doc = mutated(doc, proc0("cpu_utilization"), 0.123)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc))
    assert '"runq_ns": 3000000.0' in good.read_text()
    p = diff_of("--json", "-", real["json"], good)
    assert p.returncode in (0, 1), p.stderr
    rows = {m["metric"]: m for m in json.loads(p.stdout)["metrics"]}
    assert rows["runq_ns"]["new"] == 3000000 and rows["cpu_utilization"]["new"] == 0.123


def repeat_doc(runs):
    return {"schema_version": 1, "kind": "repeat", "repeat": len(runs), "runs": runs}


def test_repeat_runs_are_checked(real, tmp_path):
    """A --repeat document's runs are checked the same way (a run without
    processes aborted diff: SIGABRT, exit 134), with the run in the path."""
    r = real["report"]
    cases = [
        (repeat_doc([r, mutated(r, ("processes",), Ellipsis)]), "runs[1].processes: missing"),
        (repeat_doc([r, r, mutated(r, proc0("runq_ns"), float("nan"))]),
         "runs[2].processes[0].runq_ns: not a finite number"),
        (repeat_doc([r, 7]), "runs[1]: not an object"),
        (repeat_doc([]), "a --repeat report without runs"),
        ({"schema_version": 1, "kind": "repeat", "runs": {"0": r}},
         "a --repeat report without runs"),
    ]
    for doc, message in cases:
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(doc))
        one_line(diff_of(bad, real["json"]), 2, f"{bad}: {message}")


def test_json_lines_of_intervals_compare_their_total(real, tmp_path):
    """-i --json writes JSON Lines (intervals, then the total): diff compares
    the total, not the first interval; lines that end with no total are an error."""
    assert len(real["lines"]) > 2
    total = tmp_path / "total.json"
    total.write_text(real["lines"][-1])
    p = diff_of("--json", "-", real["json"], total)
    assert p.returncode == 0, p.stderr
    rows = {m["metric"]: m for m in json.loads(p.stdout)["metrics"]}
    proc = real["report"]["processes"][0]
    assert rows["wall_ns"]["base"] == rows["wall_ns"]["new"] == proc["wall_ns"]
    bad = tmp_path / "intervals.json"
    bad.write_text("\n".join(real["lines"][:-1]) + "\n")
    one_line(diff_of(bad, total), 2,
             f"{bad}: {len(real['lines']) - 1} JSON documents, and the last is no total report")
    bad.write_text(real["lines"][-1] + "\n{\"schema")
    one_line(diff_of(bad, total), 2, f"{bad}: not a contrace JSON report")


def cut_short(rec, dest):
    """The recording without its last bytes: its final snapshot lost."""
    data = rec.read_bytes()
    dest.write_bytes(data[:len(data) - 40])
    p = subprocess.run([CONTRACE, "report", "-q", "--json", "/dev/null", str(dest)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "cut short" in p.stderr, p.stderr
    return dest


def test_a_side_cut_short_is_said(real, tmp_path):
    """A truncated recording, or a report with trace.truncated, compared with a
    whole one: a warning on stderr and in the text, Markdown and JSON, naming
    the side."""
    cut = cut_short(real["rec"], tmp_path / "cut.ctr")
    md = tmp_path / "d.md"
    p = diff_of("--markdown", md, cut, real["rec"])
    assert p.returncode in (0, 1), p.stderr
    assert f"contrace diff: warning: base {cut} was cut short" in p.stderr
    assert f"WARNING: base {cut} was cut short" in p.stdout
    assert f"> **Warning**: base {cut} was cut short" in md.read_text()
    assert "new" not in p.stderr.split("warning:")[1].split(" ")[1]
    p = diff_of("--json", "-", real["rec"], cut)
    d = json.loads(p.stdout)
    assert d["new_truncated"] and not d["base_truncated"]
    assert len(d["warnings"]) == 1 and d["warnings"][0].startswith(f"new {cut} was cut short")
    # The same from a JSON report that says so, and from a --repeat run.
    flagged = tmp_path / "flagged.json"
    flagged.write_text(json.dumps(mutated(real["report"], ("trace", "truncated"), True)))
    p = diff_of(real["json"], flagged)
    assert f"warning: new {flagged} was cut short" in p.stderr, p.stderr
    rep = tmp_path / "rep.json"
    r = real["report"]
    rep.write_text(json.dumps(repeat_doc([r, mutated(r, ("trace", "truncated"), True), r])))
    p = diff_of(rep, real["json"])
    assert f"warning: base {rep}: 1 of its 3 runs was cut short" in p.stderr, p.stderr
    # Whole on both sides: no warning.
    p = diff_of("--json", "-", real["json"], real["rec"])
    assert "warning" not in p.stderr and json.loads(p.stdout)["warnings"] == []


def test_many_runs_and_locks_take_no_time(real, tmp_path):
    """Metrics are found by a hash and runs merged by sorting: 100 runs of
    1,000 named locks each (200,000 values) take a second of CPU, not hours
    (the lookup was linear per value and per run: 10^10 string compares)."""
    r = copy.deepcopy(real["report"])
    r["processes"][0]["locks"] = [
        {"name": f"prog:lock{i}", "named": True, "thread_join": False, "wait_ns": i, "waits": 1}
        for i in range(1000)]
    doc = tmp_path / "many.json"
    doc.write_text(json.dumps(repeat_doc([r] * 100)))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = diff_of("--json", "-", doc, real["json"])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert p.returncode in (0, 1), p.stderr
    rows = {m["metric"]: m for m in json.loads(p.stdout)["metrics"]}
    assert rows["lock[prog:lock999].wait_ns"]["base"] == 999
    assert rows["lock[prog:lock999].wait_ns"]["base_runs"] == 100
    assert rows["locks.waits"]["base"] == 1000
    assert cpu < 10, cpu  # about 1 s under ASan; CPU time: other work on the machine does not count


def test_report_of_an_older_version_is_compared(tmp_path):
    """A baseline JSON of 0.1.0 lacks the figures added since (migrations): diff compares the
    rest against today's report of the same recording, all unchanged, instead of refusing."""
    data = os.path.join(ROOT, "tests", "data", "rec-0.1.0")
    new = tmp_path / "new.json"
    subprocess.run([CONTRACE, "report", os.path.join(data, "locks-syscalls.ctr"), "-q", "--json",
                    str(new)], check=True, timeout=60)
    assert "migrations" in json.loads(new.read_text())["processes"][0]
    p = subprocess.run([CONTRACE, "diff", "--json", "-", os.path.join(data, "locks-syscalls.json"),
                        str(new)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    metrics = {m["metric"]: m for m in json.loads(p.stdout)["metrics"]}
    assert "migrations" not in metrics
    assert metrics["cpu_ns"]["base"] == metrics["cpu_ns"]["new"] > 0


PY312 = sorted(__import__("glob").glob("/root/.pyenv/versions/3.12.*/bin/python3"))[:1]


@pytest.mark.parametrize("python", PY312 or ["/usr/bin/python3"])
def test_gil_waits_fail_one_rule_keyed_gil(tmp_path, python):
    """Four threads sharing the work of one: they wait for the GIL. One
    cause, one default rule failed (gil.wait_ns, not locks.wait_ns too),
    and the GIL's words keyed gil.lock[cond], ..., not by their addresses."""
    pygil = os.path.join(ROOT, "tools/workloads/pygil.py")
    p, diff = play(tmp_path, f"{python} {pygil} cpu 1 8000000",
                   f"{python} {pygil} cpu 4 2000000")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAIL  gil.wait_ns>+20%" in p.stdout, p.stdout
    assert "FAIL  locks.wait_ns" not in p.stdout, p.stdout
    rows = {m["metric"]: m for m in diff["metrics"]}
    assert rows["gil.lock[cond].wait_ns"]["new"] > 0.5 * rows["gil.wait_ns"]["new"], rows
    assert not [m for m in rows if "_PyRuntime" in m or m.startswith("lock[libpython")], rows
