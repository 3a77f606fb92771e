#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# contrace as a CI gate: trace the program at the base revision and at the
# change under test, and let `contrace diff` set the job's status.
#
#   CONTRACE=contrace BASE_CMD='./bench-old' NEW_CMD='./bench-new' OUT=ci-out \
#       sh docs/ci-example.sh [RULE...]
#
# Any CI runs it as root (contrace needs it to trace). RULEs are --fail-on
# rules (e.g. 'gil.wait_fraction>+10%' 'lock[app:queue_lock].wait_ns>+20%');
# without any, diff's default gate applies. Exit status: 0 within limits,
# 1 regression, 2 a tool or input error. OUT gets base.json, new.json, the
# diff as diff.json and diff.md (a job summary: GitHub Actions users can
# append it to $GITHUB_STEP_SUMMARY).
set -u
CONTRACE=${CONTRACE:-contrace}
OUT=${OUT:-contrace-ci}
: "${BASE_CMD:?set BASE_CMD to the command of the base revision}"
: "${NEW_CMD:?set NEW_CMD to the command of the change under test}"
mkdir -p "$OUT" || exit 2

# In a real pipeline base.json is an artifact kept from the main branch.
# shellcheck disable=SC2086 # the commands are word-split on purpose
$CONTRACE -q --json "$OUT/base.json" -- $BASE_CMD >"$OUT/base.out" || exit 2
# shellcheck disable=SC2086
$CONTRACE -q --json "$OUT/new.json" -- $NEW_CMD >"$OUT/new.out" || exit 2

# Each RULE becomes --fail-on RULE (appended, then the originals dropped).
n=$#
for rule in "$@"; do
	set -- "$@" --fail-on "$rule"
done
shift "$n"
$CONTRACE diff "$@" --json "$OUT/diff.json" --markdown "$OUT/diff.md" \
	"$OUT/base.json" "$OUT/new.json"
