#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The user side's layers, and the one-way rule between them (docs/design.md).

  tools/check-layers.py [ROOT] [--objects OBJ...]

Each file of user/ lives in a layer's folder. A file may include the headers
of its own layer and of the layers below it, and the shared plain headers of
bpf/ (contrace.h, acct.h, pylayout.h, figures.def, drops.def); libbpf (<bpf/...>) and the
generated skeleton only in probe/ and cli/.

The link half, with --objects (the built user/LAYER/x.o files, make unit
passes its own): an object may use only symbols defined by its layer, the
layers below it, or outside user/; below probe/, none of libbpf's, libelf's
or libdw's (a prototype written by hand passes the include rule, not this).

And docs/design.md's picture names every .c file of a layer in that layer's
row: the picture must match the tree.

Exit status 1, with a line per violation, when a file breaks the rule (make
unit runs this).
"""
import argparse
import os
import re
import subprocess
import sys

# Layer -> the layers its files may include (besides their own).
ALLOWED = {
    "util": set(),
    "snap": {"util"},
    "model": {"snap", "util"},
    "out": {"model", "snap", "util"},
    "store": {"out", "model", "snap", "util"},
    "probe": {"model", "snap", "util"},
    "cli": {"probe", "store", "out", "model", "snap", "util"},
}
# bpf/ headers any layer may include: plain types, rules and tables, no libbpf.
SHARED = {"contrace.h", "acct.h", "pylayout.h", "figures.def", "drops.def"}
# What only the layers that load and read the BPF side may include.
BPF_ONLY = ("probe", "cli")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def violations(root):
    user = os.path.join(root, "user")
    for dirpath, _, files in os.walk(user):
        rel = os.path.relpath(dirpath, user)
        for name in sorted(files):
            if not name.endswith((".c", ".h", ".def")):
                continue
            path = os.path.join("user", rel, name) if rel != "." else os.path.join("user", name)
            layer = rel.split(os.sep)[0]
            if rel == "." or layer not in ALLOWED:
                yield f"{path}: not in a layer's folder ({', '.join(ALLOWED)})"
                continue
            text = open(os.path.join(root, path)).read()
            for kind, inc in INCLUDE.findall(text):
                yield from check(path, layer, kind, inc)


def check(path, layer, kind, inc):
    if kind == "<":
        if inc.startswith("bpf/") and layer not in BPF_ONLY:
            yield f"{path}: includes libbpf's <{inc}>: only {' and '.join(BPF_ONLY)} may"
        return
    if inc == "contrace.skel.h":
        if layer not in BPF_ONLY:
            yield f"{path}: includes the BPF skeleton: only {' and '.join(BPF_ONLY)} may"
        return
    if "/" not in inc:
        if inc not in SHARED:
            yield f'{path}: includes "{inc}": a user header is named by its layer ("util/vec.h")'
        return
    target = inc.split("/")[0]
    if target not in ALLOWED:
        yield f'{path}: includes "{inc}": no such layer'
    elif target != layer and target not in ALLOWED[layer]:
        yield f'{path}: includes "{inc}": {layer}/ may not depend on {target}/'


# Symbol prefixes of the libraries only probe/ and cli/ link (the fuzzers
# link util..store without them: Makefile's NOBPF_LDLIBS).
PROBE_LIBS = {
    "libbpf": ("bpf_", "btf_", "btf__", "libbpf_", "ring_buffer__", "perf_buffer__",
               "user_ring_buffer__"),
    "libelf": ("elf_", "elf32_", "elf64_", "gelf_"),
    "libdw": ("dwfl_", "dwarf_", "dwelf_"),
}
OBJ_LAYER = re.compile(r"(?:^|/)user/(\w+)/[^/]+\.o$")


def object_symbols(objs):
    """{object: (layer, defined globals, undefined)} from one nm run."""
    out = subprocess.run(["nm", "-A", *objs], capture_output=True, text=True, check=True).stdout
    syms = {o: (OBJ_LAYER.search(o).group(1), set(), set()) for o in objs}
    for line in out.splitlines():
        path, _, rest = line.partition(":")
        fields = rest.split()
        if len(fields) < 2 or path not in syms:
            continue
        kind, name = fields[-2], fields[-1]
        if kind in "Uw":
            syms[path][2].add(name)
        elif kind.isupper():
            syms[path][1].add(name)
    return syms


def link_violations(objs):
    syms = object_symbols(objs)
    where = {}
    for layer, defined, _ in syms.values():
        for name in defined:
            where.setdefault(name, layer)
    for obj, (layer, _, undefined) in sorted(syms.items()):
        if layer not in ALLOWED:
            yield f"{obj}: not in a layer's folder"
            continue
        for name in sorted(undefined):
            target = where.get(name)
            if target and target != layer and target not in ALLOWED[layer]:
                yield f"{obj}: uses {name} of {target}/: {layer}/ may not depend on {target}/"
            elif not target and layer not in BPF_ONLY:
                lib = next((l for l, p in PROBE_LIBS.items() if name.startswith(p)), None)
                if lib:
                    yield f"{obj}: uses {lib}'s {name}: only {' and '.join(BPF_ONLY)} may"


def picture_rows(root):
    """docs/design.md's picture of user/: each layer's row ("  model/    ..." and its
    indented continuation lines) as one string."""
    rows, cur = {}, None
    for line in open(os.path.join(root, "docs", "design.md")):
        m = re.match(r"^  (\w+)/\s", line)
        if m and m.group(1) in ALLOWED:
            cur = m.group(1)
            rows[cur] = line
        elif cur and line.startswith(" " * 12):
            rows[cur] += line
        else:
            cur = None
    return rows


def picture_violations(root):
    rows = picture_rows(root)
    for layer in ALLOWED:
        folder = os.path.join(root, "user", layer)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if name.endswith(".c") and not re.search(
                    r"(?<![\w/.])" + re.escape(name) + r"(?!\w)", rows.get(layer, "")):
                yield f"docs/design.md: user/{layer}/{name} is not in the picture's {layer}/ row"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?", default=os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--objects", nargs="*", default=[])
    a = ap.parse_args()
    root = a.root
    bad = list(violations(root)) + list(picture_violations(root))
    if a.objects:
        bad += list(link_violations(a.objects))
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
