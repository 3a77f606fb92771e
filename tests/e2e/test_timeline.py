# SPDX-License-Identifier: GPL-2.0-only
"""--timeline and --perfetto: every state change recorded, written as a
Perfetto trace. The trace is decoded twice, by protoc --decode_raw and by a
decoder of its own (perfetto_decode.py); its tracks, names, slices and flows
are checked against the report of the same recording: each thread's
slices add up to its on-CPU, run-queue and blocked time, its running slices
to its switches, its GIL slices to its GIL hold and wait."""
import collections
import glob
import json
import os
import subprocess
import tempfile

import pytest

from conftest import CONTRACE, PYWORKLOADS, WORKLOADS, interpreters, validate
from perfetto_decode import Trace

RUNNING, RUNNABLE = "running", "runnable"


def record(tmp, *cmd, extra=()):
    """Record cmd with --timeline; its report (JSON) and its Perfetto trace."""
    rec, js, pf = (os.path.join(tmp, n) for n in ("t.ctr", "t.json", "t.pftrace"))
    p = subprocess.run([CONTRACE, "record", "--timeline", "-q", "-o", rec, *extra, "--", *cmd],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([CONTRACE, "report", rec, "-q", "--json", js, "--perfetto", pf],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return validate(json.load(open(js))), pf


def decode_raw(pf):
    """protoc's own decoding of the file: it must parse whole."""
    with open(pf, "rb") as f:
        p = subprocess.run(["protoc", "--decode_raw"], stdin=f, capture_output=True,
                           timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def per_thread(trace, child=False):
    """{tid: {name: [total ns, count]}} of the slices on each thread's track (or its children)."""
    sl = trace.slices()
    out = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for uuid, t in trace.thread_tracks().items():
        for u in trace.children(uuid) if child else [uuid]:
            for b, e, name in sl.get(u, []):
                out[t["tid"]][name][0] += e - b
                out[t["tid"]][name][1] += 1
    return out


def close(a, b):
    """Within 0.1% (and 1 us, for tiny figures)."""
    return abs(a - b) <= max(b * 0.001, 1000)


def check_sums(report, trace):
    sums = per_thread(trace)
    for proc in report["processes"]:
        for t in proc["threads"]:
            s = sums[t["tid"]]
            run = s[RUNNING][0]
            rq = s[RUNNABLE][0]
            blk = sum(v[0] for k, v in s.items() if k not in (RUNNING, RUNNABLE))
            assert close(run, t["oncpu_ns"] + t["stolen_ns"]), (t, run)
            assert close(rq, t["runq_ns"]), (t, rq)
            assert close(blk, t["blocked_ns"]), (t, blk, dict(s))
            # A running slice per switch off a CPU (and one for a run at the end).
            switches = t["voluntary_switches"] + t["involuntary_switches"]
            assert switches <= s[RUNNING][1] <= switches + 1, (t, s[RUNNING])
    return sums


def check_tracks(report, trace):
    threads = trace.thread_tracks()
    procs = {t["pid"]: t for t in trace.tracks.values() if "process_name" in t}
    for proc in report["processes"]:
        assert procs[proc["pid"]]["process_name"] == proc["comm"]
        for t in proc["threads"]:
            (track,) = [u for u, x in threads.items() if x["tid"] == t["tid"]]
            # A Python thread's track by the name the program gave it, as in the report.
            assert threads[track]["thread_name"] == (t["python_name"] or t["comm"])
            assert threads[track]["pid"] == proc["pid"]
    assert trace.first_flags == [1], "the first packet clears the incremental state"


def flows(trace):
    """[(from track, to track)] of each flow id, checked to begin once and end once."""
    begin, end = {}, {}
    for e in trace.events:
        for f in e["flow"]:
            assert f not in begin
            begin[f] = e
        for f in e["flow_end"]:
            assert f not in end
            end[f] = e
    assert begin.keys() == end.keys(), "every flow begins and ends"
    for f in begin:
        assert begin[f]["ts"] <= end[f]["ts"] + 1000000, "a wakeup flows forward in time"
    return [(begin[f], end[f]) for f in begin]


def check_counter(trace, pid, counter, slices_name, child=False):
    """A counter's integral over time is the time its slices add up to: one more while each
    lasts. It never goes below 0 and ends at 0."""
    samples = trace.counter(pid, counter)
    assert samples and all(v >= 0 for _, v in samples) and samples[-1][1] == 0
    area = sum(v * (t2 - t1) for (t1, v), (t2, _) in zip(samples, samples[1:]))
    tids = {t["tid"] for t in trace.thread_tracks().values() if t["pid"] == pid}
    total = sum(s[slices_name][0] for tid, s in per_thread(trace, child).items() if tid in tids)
    assert area == total, (counter, area, total)


def tid_of(trace, uuid):
    return trace.tracks[uuid]["tid"]


def test_demo_timeline(tmp_path):
    report, pf = record(str(tmp_path), os.path.join(WORKLOADS, "demo"))
    assert report["drops"].get("timeline_events_dropped", 0) == 0
    raw = decode_raw(pf)
    trace = Trace(pf)
    check_tracks(report, trace)
    for t in report["processes"][0]["threads"]:
        assert f'"{t["comm"]}"' in raw
    check_sums(report, trace)
    check_counter(trace, report["processes"][0]["pid"], "runnable threads", RUNNABLE)
    # The demo's reader is woken by its logger: a flow per wakeup, as the report counts them.
    (proc,) = report["processes"]
    by_name = {t["comm"]: t for t in proc["threads"]}
    reader, logger = by_name["reader"], by_name["logger"]
    woke = [w["count"] for w in reader["wakers"] if w["tid"] == logger["tid"]][0]
    fl = collections.Counter((tid_of(trace, b["track"]), tid_of(trace, e["track"]))
                             for b, e in flows(trace))
    assert woke - 1 <= fl[(logger["tid"], reader["tid"])] <= woke
    # The workers wait for queue_lock: named slices, and flows from its releases.
    names = {e["name"] for e in trace.events if e["name"]}
    assert any(n.startswith("waiting for lock ") and "queue_lock" in n for n in names), names
    assert "lock release" in names


def test_lock_timeline(tmp_path):
    report, pf = record(str(tmp_path), os.path.join(WORKLOADS, "locks"), "mutex", "4", "300", "500")
    trace = Trace(pf)
    check_tracks(report, trace)
    sums = check_sums(report, trace)
    (proc,) = report["processes"]
    (lock,) = [l for l in proc["locks"] if "queue_lock" in l["name"]]
    name = f"waiting for lock {lock['name']}"
    waits = sum(s[name][1] for s in sums.values())
    # One slice per blocking wait on it, each shorter than the wait (which ends when it runs).
    assert waits == lock["waits"], (waits, lock["waits"])
    assert sum(s[name][0] for s in sums.values()) <= lock["wait_ns"]
    # A release flows from the releaser's track to the waiter's next run: one per wait at most.
    releases = [b for b, e in flows(trace) if b["name"] == "lock release"]
    assert releases and len(releases) <= sum(l["waits"] for l in proc["locks"])
    # Contended holds on each thread's "locks" track: those the kernel side
    # counted (handed the lock, then handing it on): 96-100% of them and
    # 93-100% of their time in 6 runs of this and the demo (a hold whose
    # start no record shows is left out), never longer than it measured.
    # (70% once, before a hold taken unseen began at the lock's first
    # block since its last release, as the kernel side's does.)
    holding = f"holding lock {lock['name']}"
    holds = sum(s[holding][1] for s in per_thread(trace, child=True).values())
    held = sum(s[holding][0] for s in per_thread(trace, child=True).values())
    assert 0.8 * lock["holds"] <= holds <= lock["holds"], (holds, lock)
    assert 0.8 * lock["hold_ns"] <= held <= 1.02 * lock["hold_ns"], (held, lock)
    assert all(trace.tracks[u]["name"] == "locks" for u, v in trace.slices().items()
               for _, _, n in v if n and n.startswith("holding lock "))


def test_oncpu_samples_timeline(tmp_path):
    """--stacks with --timeline: each on-CPU sample is an instant on its
    thread's "on-CPU samples" track, named by what ran (its class, then its
    frames innermost first), as many per thread as the report's samples of
    that thread; the state slices still add up."""
    report, pf = record(str(tmp_path), os.path.join(WORKLOADS, "spin"), "1", "2",
                        extra=("--stacks",))
    trace = Trace(pf)
    check_sums(report, trace)
    (proc,) = report["processes"]
    want = collections.Counter()
    for o in proc["oncpu_stacks"]:
        for t in o["threads"]:
            want[t["tid"]] += t["count"]
    got, names = collections.Counter(), collections.Counter()
    for uuid, t in trace.thread_tracks().items():
        (samples,) = [u for u in trace.children(uuid)
                      if trace.tracks[u]["name"] == "on-CPU samples"] or [None]
        for e in trace.events:
            if samples is not None and e["track"] == samples:
                assert e["type"] == 3, e
                got[t["tid"]] += 1
                names[e["name"]] += 1
    assert got == want and sum(got.values()) > 1000, (got, want)
    assert all(n.startswith("running: ") for n in names), names
    spin = sum(c for n, c in names.items() if "spinner" in n.split(": ", 1)[1].split(" <- ")[:3])
    assert spin >= 0.95 * sum(names.values()), names


def pyenv_312():
    for label, path in interpreters():
        if label.startswith("pyenv-3.12"):
            return path
    return None


@pytest.mark.skipif(pyenv_312() is None, reason="needs pyenv's CPython 3.12")
def test_python_gil_timeline(tmp_path):
    report, pf = record(str(tmp_path), pyenv_312(), os.path.join(PYWORKLOADS, "pygil.py"),
                        "cpu", "4", "300000")
    trace = Trace(pf)
    check_tracks(report, trace)
    # Python threads' tracks are named as the program named them (the kernel says python3.12).
    assert "MainThread" in {t["thread_name"] for t in trace.thread_tracks().values()}
    check_sums(report, trace)
    sums = per_thread(trace, child=True)
    (proc,) = report["processes"]
    held = 0
    for t in proc["threads"]:
        g = t.get("gil")
        if not g:
            continue
        s = sums[t["tid"]]
        assert close(s["holding the GIL"][0], g["hold_ns"]), (t["tid"], s, g)
        assert close(s["waiting for the GIL"][0], g["wait_ns"]), (t["tid"], s, g)
        held += g["hold_ns"]
    assert held > 0
    check_counter(trace, proc["pid"], "threads waiting for the GIL", "waiting for the GIL",
                  child=True)
    # The GIL is a child track of each Python thread's.
    gil_tracks = [t for t in trace.tracks.values() if t["name"] == "GIL"]
    assert len(gil_tracks) == len(proc["threads"])


def test_live_perfetto_leaves_no_recording(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    pf = str(tmp_path / "live.pftrace")
    env = dict(os.environ, TMPDIR=str(tmp))
    p = subprocess.run([CONTRACE, "-q", "--perfetto", pf, "--", os.path.join(WORKLOADS, "demo")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    trace = Trace(pf)
    assert {t["thread_name"] for t in trace.thread_tracks().values()} >= {"reader", "logger"}
    assert not list(tmp.iterdir()), "the temporary recording is removed"


def test_perfetto_needs_a_timeline(tmp_path):
    rec = str(tmp_path / "plain.ctr")
    subprocess.run([CONTRACE, "record", "-q", "-o", rec, "--", "/bin/true"], check=True,
                   capture_output=True, timeout=60)
    out = str(tmp_path / "x.pftrace")
    p = subprocess.run([CONTRACE, "report", rec, "-q", "--perfetto", out], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2
    assert "holds no timeline: record it with --timeline" in p.stderr
    assert not os.path.exists(out)
    p = subprocess.run([CONTRACE, "--timeline", "--", "/bin/true"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2
    assert "--timeline records to a file: give -o FILE or --perfetto FILE" in p.stderr
    p = subprocess.run([CONTRACE, "-q", "-o", "-", "--perfetto", out, "--", "/bin/true"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "--perfetto reads the recording back: not with -o -" in p.stderr
