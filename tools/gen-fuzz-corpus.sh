#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Regenerate the seed recordings of the recording reader's fuzz target
# (tests/fuzz/corpus): a C lock workload, with -i intervals, and a copy cut
# short. Run as root after a change to the recorded structs (a recording
# from another layout is rejected at its header, so old seeds stop reaching
# the blocks). Found crashes are added beside them, never removed.
set -eu
cd "$(dirname "$0")/.."
out=tests/fuzz/corpus
mkdir -p "$out"
build/contrace -q --json /dev/null -o "$out/seed-locks.ctr" -- \
	build/workloads/locks mutex 2 20 500 >/dev/null
build/contrace -q --json /dev/null -i 0.05 -o "$out/seed-intervals.ctr" -- \
	build/workloads/locks owner 2 40 1000 >/dev/null
size=$(stat -c %s "$out/seed-intervals.ctr")
head -c $((size - 40)) "$out/seed-intervals.ctr" >"$out/seed-truncated.ctr"
ls -l "$out"
