/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * contrace diff BASE NEW: compare two JSON reports by stable keys (the
 * target process's totals, its GIL, locks by name, syscalls by name,
 * threads by name), print the change of each metric, and set the exit
 * status from --fail-on rules (or the default gate): 0 within limits,
 * 1 a regression, 2 a usage or input error.
 */
#ifndef CONTRACE_DIFF_H
#define CONTRACE_DIFF_H

#include <stdbool.h>
#include <stddef.h>

/* A rule: METRIC OP CHANGE, e.g. "gil.wait_fraction>+10%" or "locks.wait_ns>+5ms". */
struct diff_rule {
	char metric[128];
	int op; /* '>' or '<' */
	bool or_equal; /* >= or <= */
	bool relative; /* CHANGE in percent of the base value */
	double change; /* signed: percent, or an absolute amount (ns for times) */
	char text[160]; /* as written */
};

/* Parse one rule. 0, or -EINVAL with a message in err. */
int diff_parse_rule(const char *s, struct diff_rule *r, char *err, size_t errlen);

/* Whether a change from base to new breaks the rule. */
bool diff_rule_broken(const struct diff_rule *r, double base, double new);

/* The subcommand: argv[0] is "diff". Returns the exit status. */
int diff_main(int argc, char **argv);

#endif
