/* SPDX-License-Identifier: GPL-2.0-only */
/* The files a command names, checked before anything is written to one of them. */
#ifndef CONTRACE_PATHS_H
#define CONTRACE_PATHS_H

#include "cli/opts.h"

/*
 * Every output a command writes (-o, --json, --perfetto, --folded, --pprof,
 * --flamegraph, --markdown) against every other and against every file it
 * reads (the recording or reports, --btf, a command named by its path):
 * two that name one file, however spelt (./f, a hard or symbolic link),
 * would lose one of them. "-" (standard output) is the same as "-" only;
 * character devices (/dev/null) are never the same. 0, or 2 (a usage
 * error) after a one-line message.
 */
int paths_check(const struct opts *o);

#endif
