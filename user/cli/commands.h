/* SPDX-License-Identifier: GPL-2.0-only */
/* The subcommands, each run with its parsed options. Each returns the exit status. */
#ifndef CONTRACE_COMMANDS_H
#define CONTRACE_COMMANDS_H

#include "cli/opts.h"

/* contrace [record] ...: trace a process or a launched command (trace.c). */
int trace_cmd(const struct opts *o);

/* contrace report FILE: the reports of a recording (report.c). */
int report_cmd(const struct opts *o);

/* contrace diff BASE NEW: compare two reports, the CI gate (diff.c). */
int diff_cmd(const struct opts *o);

#endif
