#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Regenerate the seed recordings of the recording reader's fuzz target
# (tools/fuzz/corpus), in the current format: C lock workloads with and
# without -i intervals, a copy cut short, threads that come and go, a
# timeline (--timeline: event blocks), every
# syscall counted, a Python process and its GIL. Run as root after a change
# of the format. The version 1 seeds (v1-*, made by 0.1.0) stay: version 1
# is still read. Inputs that once crashed the reader (crash-*) are kept as
# regression tests, never removed. Each seed stays under the fuzz run's
# -max_len (64 KiB).
set -eu
cd "$(dirname "$0")/.."
out=tools/fuzz/corpus
ct="build/contrace -q --json /dev/null"
mkdir -p "$out"
$ct -o "$out/seed-locks.ctr" -- build/workloads/locks mutex 2 20 500 >/dev/null
$ct -i 0.05 -o "$out/seed-intervals.ctr" -- build/workloads/locks owner 2 40 1000 >/dev/null
size=$(stat -c %s "$out/seed-intervals.ctr")
head -c $((size - 40)) "$out/seed-intervals.ctr" >"$out/seed-truncated.ctr"
$ct -i 0.1 -o "$out/seed-churn.ctr" -- build/workloads/churn 3 20 1 >/dev/null
$ct --timeline -o "$out/seed-timeline.ctr" -- build/workloads/locks mutex 2 20 500 >/dev/null
$ct -S -o "$out/seed-syscalls.ctr" -- build/workloads/phased --sleep 1 --syscalls 50 \
	--spawn 2 --ms 100 --auto 1 >/dev/null
python=$(ls /root/.pyenv/versions/3.12*/bin/python3 2>/dev/null | head -1)
if [ -n "$python" ]; then
	$ct -i 0.2 -o "$out/seed-python.ctr" -- "$python" tools/workloads/pyphased.py \
		--cpu 2 --sleep 1 --ms 300 --auto 1 >/dev/null
fi
for f in "$out"/seed-*; do
	[ "$(stat -c %s "$f")" -le 65536 ] || echo "warning: $f is over 64 KiB: the fuzzer cuts it" >&2
done
ls -l "$out"
