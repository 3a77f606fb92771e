#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Regenerate the seeds of diff's fuzz target (tools/fuzz/corpus-diff): pairs
# of documents contrace made, base and new joined by a NUL byte (what
# fuzz_diff.c splits): small reports of a lock workload, with -S, of a
# Python program (a GIL), -i JSON Lines, and --repeat documents, and the
# report of `true`, small enough for many executions a second. Run as root
# from a build (make). Crash inputs found are added beside them, never removed.
set -eu
cd "$(dirname "$0")/../.."
out=tools/fuzz/corpus-diff
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
C=build/contrace
W=build/workloads
PY=$(ls -d /root/.pyenv/versions/3.12*/bin/python3 2>/dev/null | head -1)
mkdir -p "$out"

# -i longer than the run: the JSON Lines hold just the total, compact.
$C -q -i 100 --json "$tmp/t.json" -- true >/dev/null
$C -q -i 100 --json "$tmp/a.json" -- $W/locks mutex 2 20 200 >/dev/null
$C -q -i 100 --json "$tmp/b.json" -- $W/locks mutex 3 20 200 >/dev/null
$C -q -i 100 -S --json "$tmp/s.json" -- $W/locks mutex 2 10 200 >/dev/null
$C -q -i 0.02 --json "$tmp/iv.json" -- $W/locks mutex 2 10 2000 >/dev/null
$C -q --repeat 2 --json "$tmp/r.json" -- $W/locks mutex 2 10 200 >/dev/null
if [ -n "$PY" ]; then
	$C -q -i 100 --json "$tmp/py.json" -- "$PY" tools/workloads/pygil.py cpu 2 20000 >/dev/null
fi

pair() { # NAME BASE NEW
	{ cat "$tmp/$2"; printf '\0'; cat "$tmp/$3"; } >"$out/seed-$1"
}
pair tiny t.json t.json
pair reports a.json b.json
pair same a.json a.json
pair syscalls a.json s.json
pair intervals iv.json a.json
pair repeat r.json b.json
pair repeats r.json r.json
[ -n "$PY" ] && pair gil py.json py.json
ls -l "$out"
