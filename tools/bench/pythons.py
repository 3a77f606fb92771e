# SPDX-License-Identifier: GPL-2.0-only
"""The CPython the GIL benchmarks use: a pyenv build whose libpython has
take_gil/drop_gil in its symbol table (tier A, and what bpftrace can probe),
3.12 first (the version the published figures use)."""
import glob
import os
import subprocess

PREFERENCE = ("3.12", "3.11", "3.13", "3.10", "3.9", "3.8")


def libpython(python):
    """The libpython3.X.so the interpreter maps, or None (a static build)."""
    ldd = subprocess.run(["ldd", os.path.realpath(python)], capture_output=True, text=True).stdout
    for tok in ldd.split():
        if "libpython3" in tok and tok.startswith("/"):
            return tok
    return None


def gil_python():
    """(python, its libpython) for the first version with symbols, or (None, None)."""
    for v in PREFERENCE:
        for python in sorted(glob.glob(f"/root/.pyenv/versions/{v}.*/bin/python3")):
            lib = libpython(python)
            syms = subprocess.run(["nm", lib or python], capture_output=True, text=True).stdout
            if " take_gil" in syms and " drop_gil" in syms:
                return python, lib
    return None, None
