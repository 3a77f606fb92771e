#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The user side's layers, and the one-way rule between them (docs/design.md).

  tools/check-layers.py [ROOT]

Each file of user/ lives in a layer's folder. A file may include the headers
of its own layer and of the layers below it, and the shared plain headers of
bpf/ (contrace.h, acct.h, pylayout.h, figures.def, drops.def); libbpf (<bpf/...>) and the
generated skeleton only in probe/ and cli/. Exit status 1, with a line per
violation, when a file breaks the rule (make test runs this).
"""
import os
import re
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


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    bad = list(violations(root))
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
