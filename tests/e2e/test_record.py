# SPDX-License-Identifier: GPL-2.0-only
"""Recordings: contrace record -o FILE, then contrace report FILE prints what
the live run printed (text and JSON, C and Python, with intervals); cut,
corrupted and foreign files are each a one-line error or a truncated report."""
import json
import os
import signal
import struct
import subprocess

import pytest

from conftest import CONTRACE, PYWORKLOADS, WORKLOADS, Phased, interpreters, validate

LOCKS = os.path.join(WORKLOADS, "locks")
PHASED = os.path.join(WORKLOADS, "phased")
PYPHASED = os.path.join(PYWORKLOADS, "pyphased.py")


def report(path, *args):
    return subprocess.run([CONTRACE, "report", str(path), *args], capture_output=True,
                          text=True, timeout=60)


def blocks(path):
    """(type, raw_len, comp_len) of each block, as docs/recording-format.md says."""
    data = open(path, "rb").read()
    assert data[:8] == b"CONTRACE" and struct.unpack_from("<I", data, 8)[0] == 1
    off, out = 24, []
    while off + 16 <= len(data):
        typ, raw, comp, _ = struct.unpack_from("<IIII", data, off)
        out.append((typ, raw, comp))
        off += 16 + comp
    return out


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
    assert kinds[0] == 1 and all(t == 2 for t in kinds[1:])
    if interval:
        assert len(kinds) >= 4  # metadata, start, intervals, final


def test_round_trip_text_of_an_attached_trace(tmp_path):
    """With -p, contrace's stdout holds only its report: the text must match."""
    wl = Phased([PHASED, "--spin", "1", "--sleep", "1", "--ms", "300"])
    rec = tmp_path / "p.ctr"
    try:
        ct = subprocess.Popen([CONTRACE, "-p", str(wl.pid), "-o", str(rec)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "tracing pid" in ct.stderr.readline()
        wl.phase()
        ct.send_signal(signal.SIGINT)
        live, err = ct.communicate(timeout=60)
        assert ct.returncode == 0, err
    finally:
        wl.stop()
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
    assert rep["processes"][0]["gil"]["tier"] in ("uprobes", "libc")
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
    ("version", "recording format version 7; this contrace reads version 1"),
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
