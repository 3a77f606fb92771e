#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Test vectors for user/util/pyline.c, from the interpreters themselves.

  tools/gen-pyline-vectors.py > tests/unit/pyline_vectors.h
  tools/gen-pyline-vectors.py --compare PYTHON_A PYTHON_B

Each CPython 3.8-3.13 of pyenv compiles the same source (SOURCE below, and a
function defined past line 65535) and reports, per code object, its
co_firstlineno, its line table (co_lnotab up to 3.9, co_linetable from 3.10)
and the line of every byte offset of its bytecode, up to 8 bytes past its end.
That line is the interpreter's own answer: PyCode_Addr2Line (public C API in
all six versions, called through ctypes), which is what a frame's f_lineno
gives for the frame's instruction. -1 (no line) is written as 0, pyline_at's
"no line". Before it answers, each child cross-checks PyCode_Addr2Line with:
  - every version: the line `dis` shows for each instruction;
  - 3.8, 3.9: the documented co_lnotab algorithm (Objects/lnotab_notes.txt);
  - 3.10+: co_lines(); 3.11+: co_positions() (one entry per code unit).
A disagreement aborts the generator. The header stores each table as a hex
string and the lines as runs (end, line): the byte offsets from the previous
run's end (0 for the first) up to `end` have that line. The test checks every
byte offset while the header stays small.

--compare runs the child under two interpreters and says whether their tables
and lines are identical (Debian's python3.11 3.11.2 against pyenv's 3.11.7).
"""
import json
import os
import subprocess
import sys

VERSIONS = ["3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
PAST_END = 8  # bytes queried past the bytecode's end
FAR_LINE = 70000  # a function defined past line 65535

# Gaps inside gaps(): past 127 lines (one lnotab/3.10 entry's line delta),
# past 2047 lines (a three-byte signed varint in 3.11+).
GAP1 = "\n".join(["    # gap"] * 140 + [""] * 160)
GAP2 = "\n" * 3000
# More than 255 bytes of bytecode on one line in every version: 3.8/3.9 split
# the offset increment, 3.10 splits at 254 bytes; the loop's exit jumps past
# byte 255, an EXTENDED_ARG in 3.8/3.9 (absolute byte targets).
WIDE = "+".join(["a"] * 70)
DOC = "\n".join(["    text %d" % i for i in range(20)])

SOURCE = '''def deco(f):
    return f


@deco
@deco
def decorated(a):
    return a + 1


def loop(n):
    total = 0
    for i in range(n):
        if i % 3:
            continue
        total += i
    while total > 10:
        total -= 7
    return total


def multiline(a, b):
    x = compute(
        a,
        b,
    )
    y = (a
         + b
         * a)
    return max(x,
               y)


def wide(a):
    while a:
        a = @WIDE@
    return a


def tryfinally(f):
    try:
        v = f()
    except ValueError as e:
        v = str(e)
    except (KeyError, IndexError):
        v = None
    else:
        v = v * 2
    finally:
        f = None
    return v


def withlock(lock, n):
    with lock:
        n += 1
    with open(n) as fh:
        n = fh.read()
    return n


def gen(n):
    for i in range(n):
        yield i * 2
    yield from range(3)


async def coro(x):
    return await x


def comps(xs):
    a = [x * 2 for x in xs if x]
    b = {x: y for x, y in zip(xs, xs)}
    c = {x for x in xs}
    d = list(x for x in xs)
    f = lambda q: q + 1
    return a, b, c, d, f


def docstring():
    """A long docstring.
@DOC@
    """
    return 1


class K:
    def method(self):
        return self


def gaps(a):
    # comment

    # another

    b = a
@GAP1@
    c = b
@GAP2@
    return c
'''
for _k, _v in (("@GAP1@", GAP1), ("@GAP2@", GAP2), ("@WIDE@", WIDE), ("@DOC@", DOC)):
    SOURCE = SOURCE.replace(_k, _v)

FAR_SOURCE = "\n" * (FAR_LINE - 1) + "def far(a):\n    b = a\n    return b\n"
# A module's own code: from 3.11 its first instruction (RESUME) is on line 0.
MOD_SOURCE = "import os\n\nx = os.sep\n"


def child_addr2line():
    import ctypes

    f = ctypes.pythonapi.PyCode_Addr2Line
    f.argtypes = [ctypes.py_object, ctypes.c_int]
    f.restype = ctypes.c_int
    return f


def lnotab_line(co, off):
    """Objects/lnotab_notes.txt of 3.8/3.9: the documented algorithm."""
    tab = co.co_lnotab
    line, addr = co.co_firstlineno, 0
    for i in range(0, len(tab) - 1, 2):
        addr += tab[i]
        if addr > off:
            break
        line += tab[i + 1] - 256 if tab[i + 1] >= 128 else tab[i + 1]
    return line


def check_dis(co, lines):
    """The line `dis` shows for each instruction. Before 3.13 dis shows only
    where a line starts (findlinestarts skips the instructions without a line,
    which then read as part of the line before them)."""
    import dis

    cur = -1
    for ins in dis.get_instructions(co):
        got = lines[ins.offset]
        if sys.version_info >= (3, 13):
            want = -1 if ins.line_number is None else ins.line_number
            assert got == want, (co.co_name, ins.offset, got, want, "dis")
        elif ins.starts_line is not None:
            cur = ins.starts_line
            assert got == cur, (co.co_name, ins.offset, got, cur, "dis")
        else:
            assert got in (cur, -1), (co.co_name, ins.offset, got, cur, "dis")


def check(co, lines):
    """Cross-check PyCode_Addr2Line's answers with Python's own views."""
    n = len(co.co_code)
    check_dis(co, lines)
    if sys.version_info < (3, 10):
        for off in range(n + PAST_END):
            assert lines[off] == lnotab_line(co, off), (co.co_name, off, "lnotab")
        return
    seen = [False] * n
    for start, end, line in co.co_lines():
        for off in range(start, end):
            assert lines[off] == (-1 if line is None else line), (co.co_name, off, "co_lines")
            seen[off] = True
    assert all(seen), (co.co_name, "co_lines leaves a gap")
    if sys.version_info >= (3, 11):
        for unit, pos in enumerate(co.co_positions()):
            line = -1 if pos[0] is None else pos[0]
            assert lines[2 * unit] == line, (co.co_name, unit, "co_positions")


def walk(co, out):
    out.append(co)
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            walk(c, out)


def child():
    addr2line = child_addr2line()
    codes = [compile(MOD_SOURCE, "mod.py", "exec")]
    # Not the two modules' own code: their tables are large (far.py's jumps
    # 70,000 lines) and tell nothing the functions do not.
    for src, name in ((SOURCE, "pyline.py"), (FAR_SOURCE, "far.py")):
        funcs = []
        walk(compile(src, name, "exec"), funcs)
        codes += funcs[1:]
    res = []
    for co in codes:
        n = len(co.co_code)
        lines = [addr2line(co, off) for off in range(n + PAST_END)]
        check(co, lines)
        runs = []
        for off, line in enumerate(lines):
            line = max(line, 0)
            if runs and runs[-1][1] == line:
                runs[-1][0] = off + 1
            else:
                runs.append([off + 1, line])
        table = co.co_lnotab if sys.version_info < (3, 10) else co.co_linetable
        res.append({"name": co.co_name, "first": co.co_firstlineno,
                    "code_len": n, "table": table.hex(), "runs": runs})
    json.dump({"version": "%d.%d.%d" % sys.version_info[:3], "codes": res}, sys.stdout)


def run(python):
    out = subprocess.run([python, os.path.abspath(__file__), "--child"], check=True,
                         stdout=subprocess.PIPE).stdout
    return json.loads(out)


def emit_vector(version, co, first):
    print('\t{ "%s", "%s", %d, %d,' % (version, co["name"], co["first"], co["code_len"]))
    hexs = co["table"]
    for j in range(0, max(len(hexs), 1), 72):
        print('\t  "%s"' % hexs[j:j + 72])
    print("\t  , %d, %d }," % (first, len(co["runs"])))


HEAD = """/* SPDX-License-Identifier: GPL-2.0-only */
/* Generated by tools/gen-pyline-vectors.py: do not edit. */
#ifndef CONTRACE_PYLINE_VECTORS_H
#define CONTRACE_PYLINE_VECTORS_H

/*
 * One code object of CPython `version`: its line table (hex), and runs of
 * (end, line) pairs: the byte offsets from the previous run's end (0 for the
 * first) up to `end` are on `line` (0: no line), as PyCode_Addr2Line says.
 * The last run goes %d bytes past the bytecode's code_len bytes.
 */
struct pyline_vector {
\tconst char *version, *name;
\tint firstlineno;
\tunsigned int code_len;
\tconst char *table_hex;
\tunsigned int first_run, nruns; /* in pyline_runs[], pairs */
};
"""


def emit(results):
    print(HEAD % PAST_END)
    groups = []
    for r in results:
        for co in r["codes"]:
            cells = ", ".join(str(x) for run in co["runs"] for x in run)
            groups.append(cells)
    print("static const int pyline_runs[] = {\n%s" % ",\n".join(groups))
    print("};\n\nstatic const struct pyline_vector pyline_vectors[] = {")
    first = 0
    for r in results:
        for co in r["codes"]:
            emit_vector(r["version"], co, first)
            first += len(co["runs"])
    print("};\n\n#endif")


def formatted(emit_fn, results):
    """The header as the repo's .clang-format lays it out (make check-format)."""
    import io
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        emit_fn(results)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(here, "tests", "unit", "pyline_vectors.h")
    return subprocess.run(["clang-format", "--assume-filename=" + path], check=True,
                          input=buf.getvalue().encode(), stdout=subprocess.PIPE).stdout.decode()


def main():
    if sys.argv[1:] == ["--child"]:
        child()
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        a, b = run(sys.argv[2]), run(sys.argv[3])
        same = a["codes"] == b["codes"]
        print("%s and %s: %d code objects, tables and lines %s" % (
            a["version"], b["version"], len(a["codes"]), "identical" if same else "DIFFER"))
        return 0 if same else 1
    if len(sys.argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    home = os.path.expanduser("~/.pyenv/versions")
    results = [run(os.path.join(home, v, "bin", "python3")) for v in VERSIONS]
    sys.stdout.write(formatted(emit, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
