# SPDX-License-Identifier: GPL-2.0-only
"""Recordings: contrace record -o FILE, then contrace report FILE prints what
the live run printed (text and JSON, C and Python, with intervals); the
recordings of 0.1.0 still report the same; a file describes its records and
stores what changed; a killed recording holds its last checkpoint; cut,
corrupted, reordered and foreign files and non-regular inputs are each a
one-line error or a truncated report."""
import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import pytest

from conftest import CONTRACE, PYWORKLOADS, ROOT, WORKLOADS, Phased, interpreters, validate

LOCKS = os.path.join(WORKLOADS, "locks")
PHASED = os.path.join(WORKLOADS, "phased")
CHURN = os.path.join(WORKLOADS, "churn")
PYPHASED = os.path.join(PYWORKLOADS, "pyphased.py")
DATA = os.path.join(ROOT, "tests/data/rec-0.1.0")
BLK_META, BLK_SNAP, BLK_DESC = 1, 2, 3
KIND_START, KIND_INTERVAL, KIND_FINAL, KIND_CHECKPOINT = 0, 1, 2, 3
CHECKPOINT_S = 2  # RECORD_CHECKPOINT_NS


def report(path, *args, timeout=60):
    return subprocess.run([CONTRACE, "report", str(path), *args], capture_output=True,
                          text=True, timeout=timeout)


class Block:
    def __init__(self, typ, raw_len, comp_len, raw):
        self.type, self.raw_len, self.comp_len, self.raw = typ, raw_len, comp_len, raw


def read_blocks(data):
    """The whole blocks of a recording, inflated, as docs/recording-format.md says."""
    assert data[:8] == b"CONTRACE"
    off, out = 24, []
    while off + 16 <= len(data):
        typ, raw, comp, crc = struct.unpack_from("<IIII", data, off)
        if off + 16 + comp > len(data):
            break
        payload = zlib.decompress(data[off + 16:off + 16 + comp])
        assert len(payload) == raw and zlib.crc32(payload) == crc
        out.append(Block(typ, raw, comp, payload))
        off += 16 + comp
    return out


def blocks(path):
    """(type, raw_len, comp_len) of each block of a version 2 recording."""
    data = open(path, "rb").read()
    assert struct.unpack_from("<I", data, 8)[0] == 2
    return [(b.type, b.raw_len, b.comp_len) for b in read_blocks(data)]


def write_blocks(header, blks):
    """A recording of these blocks, each compressed anew with its lengths and CRC."""
    out = [header]
    for typ, raw in blks:
        comp = zlib.compress(raw)
        out.append(struct.pack("<IIII", typ, len(raw), len(comp), zlib.crc32(raw)) + comp)
    return b"".join(out)


class Layout:
    """The structs a version 2 recording describes: {name: (index, size, {field: (type, count,
    offset)})}, read from its description block as another program would."""

    def __init__(self, desc):
        n, _ = struct.unpack_from("<II", desc, 0)
        off, self.structs, self.names = 8, {}, []
        for i in range(n):
            name = desc[off:off + 32].split(b"\0")[0].decode()
            size, nfields = struct.unpack_from("<II", desc, off + 32)
            off += 40
            fields = {}
            for _ in range(nfields):
                fname = desc[off:off + 48].split(b"\0")[0].decode()
                fields[fname] = struct.unpack_from("<III", desc, off + 48)
                off += 64
            self.structs[name] = (i, size, fields)
            self.names.append(name)
        assert off == len(desc)

    def get(self, strct, raw, field, base=0):
        typ, count, offset = self.structs[strct][2][field]
        fmt = {1: "B", 2: "H", 3: "I", 4: "Q", 5: "b", 6: "h", 7: "i", 8: "q"}[typ]
        return struct.unpack_from("<" + fmt, raw, base + offset)[0]

    def sections(self, snap):
        """(struct name, length, indices, records) of each section of a snapshot block."""
        off = self.structs["snapshot"][1]
        while off < len(snap):
            sid, length, nidx, nrec = struct.unpack_from("<IIII", snap, off)
            off += 16
            idx = struct.unpack_from(f"<{nidx}I", snap, off)
            off += 4 * nidx
            size = self.structs[self.names[sid]][1]
            yield self.names[sid], length, idx, [snap[off + i * size:off + (i + 1) * size]
                                                 for i in range(nrec)]
            off += nrec * size
        assert off == len(snap)


def snapshots(path):
    return snapshots_of(open(path, "rb").read())


def snapshots_of(data):
    """(layout, [(kind, ts, block)]) of a version 2 recording."""
    blks = read_blocks(data)
    assert blks[0].type == BLK_DESC and blks[1].type == BLK_META
    lay = Layout(blks[0].raw)
    return lay, [(lay.get("snapshot", b.raw, "kind"), lay.get("snapshot", b.raw, "ts"), b)
                 for b in blks[2:]]


@pytest.mark.parametrize("interval", [None, "0.1"])
def test_round_trip_c(tmp_path, interval):
    rec, live = tmp_path / "r.ctr", tmp_path / "live.json"
    args = ["-i", interval] if interval else []
    p = subprocess.run([CONTRACE, "record", "-o", str(rec), "-q", "--json", str(live), *args,
                        "--", LOCKS, "mutex", "3", "100", "1000"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = report(rec, "-q", "--json", str(tmp_path / "rep.json"))
    assert r.returncode == 0, r.stderr
    # The same reports, byte for byte (with -i: every interval's, then the total).
    assert (tmp_path / "rep.json").read_bytes() == live.read_bytes()
    kinds = [t for t, _, _ in blocks(rec)]
    assert kinds[:2] == [BLK_DESC, BLK_META] and all(t == BLK_SNAP for t in kinds[2:])
    if interval:
        assert len(kinds) >= 5  # description, metadata, start, intervals, final


def test_round_trip_text_of_an_attached_trace(tmp_path):
    """With -p, contrace's stderr holds only its report after the start line: the text must
    match."""
    wl = Phased([PHASED, "--spin", "1", "--sleep", "1", "--ms", "300"])
    rec = tmp_path / "p.ctr"
    try:
        ct = subprocess.Popen([CONTRACE, "-p", str(wl.pid), "-o", str(rec)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "tracing pid" in ct.stderr.readline()
        wl.phase()
        ct.send_signal(signal.SIGINT)
        out, live = ct.communicate(timeout=60)
        assert ct.returncode == 0, live
    finally:
        wl.stop()
    assert out == "" and live.startswith("contrace 0.")
    r = report(rec)
    assert r.returncode == 0 and r.stdout == live
    r = report(rec, "-v", "--top", "3")
    assert r.returncode == 0 and "SYSCALLS of thread" in r.stdout


PY = [p for p in interpreters() if "3.11" in p[0] or p[0] == "debian"]


@pytest.mark.parametrize("label,python", PY, ids=[l for l, _ in PY])
def test_round_trip_python(tmp_path, label, python):
    rec, live = tmp_path / "py.ctr", tmp_path / "live.json"
    p = subprocess.run([CONTRACE, "record", "-o", str(rec), "-q", "--json", str(live), "--",
                        python, PYPHASED, "--cpu", "2", "--sleep", "1", "--ms", "500", "--auto",
                        "1"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = report(rec, "-q", "--json", "-")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(live.read_text())
    # The GIL part comes back too, and the names resolved while it ran.
    rep = validate(json.loads(r.stdout))
    # (The default tier: its samples' counts come back with the figures.)
    assert rep["processes"][0]["gil"]["tier"] == "futex"
    assert rep["processes"][0]["gil"]["hold_sampled_ns"] > 0
    # Compressed to a quarter of the raw size or less.
    raw = sum(b[1] for b in blocks(rec))
    comp = sum(b[2] for b in blocks(rec))
    assert comp * 4 <= raw, (comp, raw)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    rec = d / "good.ctr"
    subprocess.run([CONTRACE, "record", "-o", str(rec), "-q", "--json", "/dev/null", "-i",
                    "0.05", "--", LOCKS, "owner", "2", "60", "1000"], check=True,
                   capture_output=True)
    return rec.read_bytes()


def test_cut_short_is_reported_as_truncated(tmp_path, recording):
    cut = tmp_path / "cut.ctr"
    cut.write_bytes(recording[:len(recording) - 30])  # inside the final block
    r = report(cut, "--json", str(tmp_path / "cut.json"))
    assert r.returncode == 0, r.stderr
    assert "was cut short" in r.stderr and "TRUNCATED" in r.stdout
    reports = [json.loads(l) for l in (tmp_path / "cut.json").read_text().splitlines() if l]
    assert reports[-1]["trace"]["truncated"] and reports[-1]["kind"] == "total"
    assert not any(x["trace"]["truncated"] for x in reports[:-1])


def corrupt(data, what):
    b = bytearray(data)
    if what == "checksum":
        off = 24 + 16 + struct.unpack_from("<I", b, 24 + 8)[0]  # second block's header
        b[off + 12] ^= 0xFF
    elif what == "zlib":
        b[24 + 16 + 4] ^= 0xFF  # inside the first block's stream
    elif what == "absurd":
        struct.pack_into("<I", b, 24 + 4, 0xFFFFFFF0)
    elif what == "version":
        struct.pack_into("<I", b, 8, 7)
    elif what == "type":
        struct.pack_into("<I", b, 24, 99)
    return bytes(b)


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"hello, world\n", "not a contrace recording"),
    (b"CONTRACE", "not a contrace recording"),
    ("version", "recording format version 7; this contrace reads versions 1 and 2"),
    ("checksum", "a block's checksum does not match"),
    ("zlib", "a block's zlib data is corrupt"),
    ("absurd", "a block has an absurd length"),
    ("type", "a block of unknown type"),
    ("header-only", "no metadata"),
])
def test_bad_recordings(tmp_path, recording, content, message):
    bad = tmp_path / "bad.ctr"
    if content == "header-only":
        content = recording[:24]
    elif isinstance(content, str):
        content = corrupt(recording, content)
    bad.write_bytes(content)
    r = report(bad)
    assert r.returncode == 2
    lines = r.stderr.strip().split("\n")
    assert len(lines) == 1 and str(bad) in lines[0] and message in lines[0], r.stderr


def test_usage(tmp_path):
    p = subprocess.run([CONTRACE, "record", "--", "true"], capture_output=True, text=True)
    assert p.returncode == 2 and "record needs -o FILE" in p.stderr
    p = subprocess.run([CONTRACE, "report"], capture_output=True, text=True)
    assert p.returncode == 2 and "expected one recording" in p.stderr
    p = subprocess.run([CONTRACE, "report", str(tmp_path / "none.ctr")], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "cannot read: No such file" in p.stderr
    p = subprocess.run([CONTRACE, "-o", "/nonexistent/dir/x.ctr", "--", "true"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "cannot write the recording" in p.stderr


@pytest.mark.parametrize("name", ["demo-intervals", "locks-syscalls", "mp-follow", "python312"])
def test_recordings_of_0_1_0_report_the_same(tmp_path, name):
    """Format version 1 files (no description) are read through a built-in one: the text is
    what 0.1.0 printed of them, byte for byte, and the JSON says the same, with the figures
    added since (which 0.1.0 did not measure) null, whatever the structs become."""
    rec = os.path.join(DATA, name + ".ctr")
    r = report(rec)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout == open(os.path.join(DATA, name + ".txt")).read()
    r = report(rec, "-q", "--json", str(tmp_path / "out.json"))
    assert r.returncode == 0, r.stderr
    got = json_documents((tmp_path / "out.json").read_text())
    want = json_documents(open(os.path.join(DATA, name + ".json")).read())
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert says(g, w), name


def json_documents(text):
    """One JSON document, or JSON Lines."""
    dec, docs, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = dec.raw_decode(text, i)
        docs.append(doc)
    return docs


# Made from what 0.1.0 recorded, not measured since: present in a report of its recordings.
DERIVED = {"summary"}


def says(got, want):
    """got says what want says: members newer than want (figures 0.1.0 did not measure) null."""
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(want) <= set(got)
                and all(says(got[k], want[k]) for k in want)
                and all(got[k] is None for k in set(got) - set(want) - DERIVED))
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            says(g, w) for g, w in zip(got, want))
    return got == want


def test_a_recording_describes_its_records(tmp_path):
    """Another program can read the file from its description: every thread slot is there, with
    the tids the live report names; an exited thread is stored once, not in every snapshot."""
    rec, live = tmp_path / "churn.ctr", tmp_path / "live.json"
    p = subprocess.run([CONTRACE, "record", "-o", str(rec), "-q", "--json", str(live), "-i",
                        "0.1", "--", CHURN, "4", "20", "2"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    lay, snaps = snapshots(rec)
    assert lay.structs["ct_thread"][1] > 1000 and "oncpu_ns" in lay.structs["ct_thread"][2]
    tids, ended, stored = {}, set(), 0
    for kind, ts, b in snaps:
        for name, length, idx, recs in lay.sections(b.raw):
            if name != "ct_thread":
                continue
            for slot, r in zip(idx, recs):
                assert slot not in ended, f"slot {slot}: its thread had exited, stored again"
                tids[slot] = lay.get("ct_thread", r, "tid")
                if lay.get("ct_thread", r, "end_ts"):
                    ended.add(slot)
                stored += 1
    assert snaps[-1][0] == KIND_FINAL and len(snaps) >= 8  # 20 on an idle machine
    assert sorted(tids) == list(range(len(tids)))  # every slot, from its first snapshot
    total = [json.loads(l) for l in live.read_text().splitlines()][-1]
    reported = {t["tid"] for p in total["processes"] for t in p["threads"]}
    assert reported <= set(tids.values()) and len(reported) > 40
    # Each snapshot stores what changed: far fewer records than slots times snapshots.
    assert stored < len(tids) * len(snaps) / 4, (stored, len(tids), len(snaps))


def test_killed_recording_reports_its_last_checkpoint(tmp_path):
    """Without -i, checkpoints are stored every few seconds: after kill -9 the recording
    reports a TRUNCATED total, equal to /proc's counters up to the last checkpoint."""
    wl = Phased([PHASED, "--spin", "2", "--sleep", "1", "--ms", "600"])
    rec = tmp_path / "killed.ctr"
    try:
        before = wl.snapshot()
        ct = subprocess.Popen([CONTRACE, "record", "-p", str(wl.pid), "-o", str(rec)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert "tracing pid" in ct.stderr.readline()
        wl.phase()
        after, done = wl.snapshot(), time.monotonic_ns()
        # The workload rests; a checkpoint taken from now on holds the whole phase.
        deadline = time.monotonic() + CHECKPOINT_S + 5
        while time.monotonic() < deadline:
            _, snaps = snapshots(rec)
            if any(k == KIND_CHECKPOINT and ts > done for k, ts, _ in snaps):
                break
            time.sleep(0.1)
        else:
            pytest.fail("no checkpoint after the phase")
        ct.kill()
        ct.wait(timeout=30)
    finally:
        wl.stop()
    r = report(rec, "--json", str(tmp_path / "k.json"))
    assert r.returncode == 0, r.stderr
    assert "was cut short" in r.stderr and "TRUNCATED" in r.stdout
    total = validate(json.loads((tmp_path / "k.json").read_text()))
    assert total["trace"]["truncated"] and total["kind"] == "total"
    threads = {t["tid"]: t for p in total["processes"] for t in p["threads"]}
    for tid, role in wl.threads.items():
        t = threads[tid]
        vol = after[tid].voluntary - before[tid].voluntary
        assert abs(t["voluntary_switches"] - vol) <= 1, (role, t["voluntary_switches"], vol)
        oncpu = after[tid].oncpu_ns - before[tid].oncpu_ns
        assert abs(t["oncpu_ns"] - oncpu) <= max(0.02 * oncpu, 20000), (role, t["oncpu_ns"])
    # The phase is in the figures: not zeros compared with zeros (a busy machine gives the
    # spinners less than their 2 x 600 ms).
    assert sum(threads[tid]["oncpu_ns"] for tid, r in wl.threads.items() if r == "spin") > 100e6


def one_line(p, *needles, output=False):
    """Exit status 2 and a one-line error; no report unless `output` (reports are printed as
    the file is read: those before a damaged block stand)."""
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().split("\n")
    assert len(lines) == 1 and (output or p.stdout == ""), (p.stderr, p.stdout[:200])
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_damaged_recording_leaves_the_json_file_as_it_was(tmp_path, recording):
    """A recording damaged after its first intervals: the text reports before the
    damage stand, but --json F is no whole report: F is left as it was (its
    intervals replaced F, the total missing), and no temporary file stays."""
    blks = read_blocks(recording)
    assert sum(1 for b in blks if b.type == BLK_SNAP) >= 3  # start, intervals, final
    off = 24 + sum(16 + b.comp_len for b in blks[:-1])  # the last block's header
    bad = bytearray(recording)
    bad[off + 12] ^= 0xFF  # its checksum
    d = tmp_path / "out"
    d.mkdir()
    (tmp_path / "bad.ctr").write_bytes(bytes(bad))
    (d / "F.json").write_text("the user's own file\n")
    p = report(tmp_path / "bad.ctr", "--json", str(d / "F.json"))
    one_line(p, "bad.ctr", "a block's checksum does not match", output=True)
    assert "interval 1: " in p.stdout, p.stdout[:300]
    assert (d / "F.json").read_text() == "the user's own file\n"
    assert os.listdir(d) == ["F.json"]


def test_cut_before_the_first_snapshot(tmp_path, recording):
    """issue 14 item 4: nothing to report is an error (exit 2), not a warning and exit 0."""
    v1 = open(DATA + "/demo-intervals.ctr", "rb").read()
    meta_len = struct.unpack_from("<I", v1, 24 + 8)[0]
    cuts = {"v1-inside-start": v1[:24 + 16 + meta_len + 100]}
    blks = read_blocks(recording)
    ends, off = [], 24
    for b in blks:
        off += 16 + b.comp_len
        ends.append(off)
    cuts["after-metadata"] = recording[:ends[1]]
    cuts["after-start"] = recording[:ends[2] + 5]
    for name, content in cuts.items():
        path = tmp_path / f"{name}.ctr"
        path.write_bytes(content)
        one_line(report(path), str(path), "cut off before its first whole snapshot")


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory"])
def test_non_regular_inputs_refused(tmp_path, kind):
    """issue 11 item 7: a FIFO would block, /dev/zero never ends: refused at once."""
    path = {"fifo": str(tmp_path / "fifo"), "/dev/zero": "/dev/zero",
            "directory": str(tmp_path)}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    what = {"fifo": "a FIFO", "/dev/zero": "a character device", "directory": "a directory"}
    one_line(report(path, timeout=10), path, what[kind] + ", not a regular file")


@pytest.mark.parametrize("edit,message", [
    ("repeat", "comes again after snapshot"),
    ("swap", "is missing (the next block holds snapshot"),
    ("drop", "is missing (the next block holds snapshot"),
    ("repeat-v1", "is not later than snapshot"),
    ("swap-v1", "is not later than snapshot"),
])
def test_blocks_out_of_order_refused(tmp_path, recording, edit, message):
    """issue 11 item 11: whole blocks repeated, swapped or dropped, with valid checksums."""
    data = recording if not edit.endswith("v1") else open(DATA + "/demo-intervals.ctr",
                                                           "rb").read()
    blks = [(b.type, b.raw) for b in read_blocks(data)]
    first = 2 if blks[0][0] == BLK_DESC else 1  # the first snapshot block
    if edit.startswith("repeat"):
        blks.insert(first + 2, blks[first + 1])
    elif edit.startswith("swap"):
        blks[first + 1], blks[first + 2] = blks[first + 2], blks[first + 1]
    else:
        del blks[first + 1]
    bad = tmp_path / "bad.ctr"
    bad.write_bytes(write_blocks(data[:24], blks))
    one_line(report(bad), str(bad), message, output=True)


def test_report_memory_does_not_grow_with_the_file(tmp_path):
    """contrace report streams: 10 or 100 snapshots of 2,000 threads each, the same memory
    (keeping each would take 90 x 2.4 MB more). So does diff of the recording (it read the
    whole file of each side)."""
    rec = tmp_path / "many.ctr"
    p = subprocess.run([CONTRACE, "record", "-o", str(rec), "-q", "--", CHURN, "50", "20", "1"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    data = rec.read_bytes()
    lay, snaps = snapshots_of(data)
    assert len(snaps) == 1  # the final snapshot: every array whole
    first = snaps[0][2].raw
    nthreads = [length for name, length, _, _ in lay.sections(first) if name == "ct_thread"][0]
    assert nthreads > 1000, nthreads
    hdr = lay.structs["snapshot"][2]
    rss = []
    for n in (10, 100):
        blks = read_blocks(data)
        out = [(BLK_DESC, blks[0].raw), (BLK_META, blks[1].raw)]
        for i in range(n):
            raw = bytearray(first)
            struct.pack_into("<Q", raw, hdr["seq"][2], i)
            struct.pack_into("<Q", raw, hdr["ts"][2], snaps[0][1] + i * 1000)
            struct.pack_into("<I", raw, hdr["kind"][2], KIND_FINAL if i == n - 1 else
                             KIND_CHECKPOINT)
            out.append((BLK_SNAP, bytes(raw)))
        path = tmp_path / f"long{n}.ctr"
        path.write_bytes(write_blocks(data[:24], out))
        # ASan keeps freed memory in quarantine (256 MB): not for this measure.
        env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=0:detect_leaks=0")
        for args in (["report", str(path), "-q", "--json", "/dev/null"],
                     ["diff", "--json", "/dev/null", str(tmp_path / "long10.ctr"), str(path)]):
            p = subprocess.run([sys.executable, "-c", RSS_OF, CONTRACE, *args],
                               capture_output=True, text=True, env=env, timeout=120)
            assert p.returncode == 0, p.stderr
            rss.append(int(p.stdout))
    # report, then diff, of 10 snapshots; then of 100 (a 20 MB file: diff held 18 MB more).
    assert rss[2] - rss[0] < 40 * 1024, (rss, len(first))
    assert rss[3] - rss[1] < 10 * 1024, (rss, len(path.read_bytes()))


RSS_OF = """
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
if p.returncode:
    sys.exit(p.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_bool_out_of_range_refused(tmp_path):
    """issue 11 item 12: a fuzzed recording with 255 in rpt_gil_info.free_threaded made UBSan
    report 'load of value 255, which is not a valid value for type _Bool': refused now."""
    data = open(DATA + "/python312.ctr", "rb").read()
    blks = [[b.type, bytearray(b.raw)] for b in read_blocks(data)]
    last = blks[-1][1]
    last[len(last) - 264 + 76] = 255  # the last array: one gil_info, free_threaded at 76
    bad = tmp_path / "bool.ctr"
    bad.write_bytes(write_blocks(data[:24], [(t, bytes(b)) for t, b in blks]))
    one_line(report(bad), str(bad), "gil_info.free_threaded: 255 is not a valid value (0 to 1)")


def test_report_and_diff_need_no_bpf():
    """report and diff read files only (no libbpf behind them): as nobody, who may not load
    BPF, they give root's output byte for byte."""
    with tempfile.TemporaryDirectory(prefix="contrace-nobody-") as d:
        shared = pathlib.Path(d)
        os.chmod(shared, 0o755)
        run_as_nobody(shared)


def run_as_nobody(shared):
    """The runs of test_report_and_diff_need_no_bpf, in a directory nobody can read."""
    binary = shared / "contrace"
    binary.write_bytes(open(CONTRACE, "rb").read())
    os.chmod(binary, 0o755)
    data = os.path.join(ROOT, "tests", "data", "rec-0.1.0")
    for name in ("locks-syscalls.ctr", "demo-intervals.json", "locks-syscalls.json"):
        (shared / name).write_bytes(open(os.path.join(data, name), "rb").read())
        os.chmod(shared / name, 0o644)
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
              "--inh-caps=-all", "--bounding-set=-all"]
    runs = {
        "report": [str(binary), "report", str(shared / "locks-syscalls.ctr")],
        "diff": [str(binary), "diff", str(shared / "locks-syscalls.json"),
                 str(shared / "locks-syscalls.json")],
        "trace": [str(binary), "-d", "1", "-p", str(os.getpid())],
    }
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    for what, argv in runs.items():
        mine = subprocess.run(nobody + argv, capture_output=True, text=True, timeout=60,
                              cwd="/", env=env)
        if what == "trace":
            # The check is not vacuous: nobody really cannot trace.
            assert mine.returncode == 1 and "permission denied" in mine.stderr, mine.stderr
            continue
        roots = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/",
                               env=env)
        assert mine.returncode == roots.returncode == 0, (what, mine.stderr)
        assert mine.stdout == roots.stdout and mine.stdout, what
