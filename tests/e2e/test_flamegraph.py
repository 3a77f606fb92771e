# SPDX-License-Identifier: GPL-2.0-only
"""--flamegraph: the HTML page opened in headless Chromium, as a user's
browser would open it. What the page drew (its frames, read back from the
DOM after its script ran, and the pixels of a screenshot) is checked
against the report of the same run."""
import html.parser
import os
import shutil
import struct
import subprocess
import zlib

import pytest

from conftest import WORKLOADS, run_contrace

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="needs Debian's chromium (make deps)")
WIDTH, HEIGHT = 1000, 600


def chromium(tmp_path, *args):
    """Chromium headless on the page, with nothing to reach: no sandbox (root), no GPU."""
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
                           "--user-data-dir=" + str(tmp_path / "profile"), *args],
                          capture_output=True, text=True, env=env, timeout=120, check=True)


class Frames(html.parser.HTMLParser):
    """The boxes the page's script drew: name, weight, depth, left and width (%)."""

    def __init__(self):
        super().__init__()
        self.frames = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag != "div" or "fr" not in a.get("class", "").split():
            return
        style = {k.strip(): v.strip() for k, v in
                 (kv.split(":", 1) for kv in a["style"].split(";") if ":" in kv)}
        self.frames.append({
            "name": a["data-name"], "ns": int(a["data-ns"]), "depth": int(a["data-depth"]),
            "left": float(style["left"].rstrip("%")), "width": float(style["width"].rstrip("%")),
            "dim": "dim" in a["class"].split()})


def drawn(tmp_path, page, view):
    """The frames of one view (#waits, #oncpu), as the browser drew them."""
    out = chromium(tmp_path, "--dump-dom", f"file://{page}#{view}").stdout
    p = Frames()
    p.feed(out)
    assert p.frames, out[:2000]
    return p.frames


def png_rgb(path):
    """(width, height, pixels as (r, g, b)) of the 8-bit, non-interlaced PNG Chromium writes."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and not interlace, hdr
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, pixels = bytearray(stride), []
    for y in range(h):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels.extend(tuple(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return w, h, pixels


def under(frame, frames, name):
    """Whether frame sits right below a frame called name (its caller, one row up)."""
    return any(f["name"] == name and f["depth"] == frame["depth"] - 1 and
               f["left"] - 1e-3 <= frame["left"] and
               frame["left"] + frame["width"] <= f["left"] + f["width"] + 1e-3 for f in frames)


def test_flamegraph_opened_in_chromium(tmp_path):
    """A C program whose threads contend a mutex through main -> run_worker
    -> transfer -> pthread_mutex_lock: the page's waits view has the whole
    wait of the report (its locks' and blocked syscalls'), every frame as
    wide as its share, the chain drawn caller above callee with at least
    95% of the lock's wait; its on-CPU view has the samples' time. The page
    is self-contained, and the screenshot shows the graph: native frames in
    warm colours, the lock as the last frame in blue."""
    page = tmp_path / "fg.html"
    _, report, _ = run_contrace("--flamegraph", str(page), "--",
                                os.path.join(WORKLOADS, "stackwork-nofp"), "3", "150", "100")
    text = page.read_text()
    for ref in ("http:", "https:", "src=", "href=", "url(", "@import"):
        assert ref not in text, ref
    proc = report["processes"][0]
    lock = next(l for l in proc["locks"] if l["name"] == "stackwork-nofp:ledger_lock")
    waits = sum(l["wait_ns"] for l in proc["locks"]) + \
        sum(s["blocked_ns"] for s in proc["blocked_stacks"])

    frames = drawn(tmp_path, page, "waits")
    (top,) = [f for f in frames if f["depth"] == 0]
    assert top["name"] == "all" and top["ns"] == waits and top["width"] == 100
    # (The browser keeps 6 digits of a percentage.)
    for f in frames:
        assert abs(f["width"] - 100 * f["ns"] / waits) < 1e-3, f
    leaf = [f for f in frames if f["name"] == "[lock stackwork-nofp:ledger_lock]"]
    assert sum(f["ns"] for f in leaf) == lock["wait_ns"]
    chained = sum(f["ns"] for f in frames if f["name"] == "transfer" and
                  under(f, frames, "run_worker") and
                  any(g["name"] == "pthread_mutex_lock" and under(g, [f], "transfer")
                      for g in frames))
    assert chained >= 0.95 * lock["wait_ns"], (chained, lock["wait_ns"], report["drops"], "; ".join(
        f"{f['depth']}:{f['name']}:{f['ns']}" for f in frames if f["ns"] >= 0.01 * waits))

    oncpu = drawn(tmp_path, page, "oncpu")
    (top,) = [f for f in oncpu if f["depth"] == 0]
    assert top["ns"] == sum(o["ns"] for o in proc["oncpu_stacks"]) > 0

    shot = tmp_path / "fg.png"
    chromium(tmp_path, f"--screenshot={shot}", f"file://{page}#waits")
    w, h, pixels = png_rgb(shot)
    assert (w, h) == (WIDTH, HEIGHT)
    warm = sum(1 for r, g, b in pixels if r > 200 and r - b > 80)
    blue = sum(1 for r, g, b in pixels if b > r + 25 and b >= g)
    # Rows of native frames fill the width below the header: far more
    # than a page of text would colour. The lock's row: one row at most.
    assert warm >= 0.1 * w * h, warm
    assert 0.002 * w * h <= blue <= 0.05 * w * h, blue
