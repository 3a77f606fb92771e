// SPDX-License-Identifier: GPL-2.0-only
/*
 * contrace: where the threads of one process spend their time, and who makes
 * them wait. This file picks the subcommand and parses its options (one
 * parser, opts.c); each subcommand lives in its own file.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct {
	const char *name;
	enum opts_cmd cmd;
	int (*run)(const struct opts *o);
} commands[] = {
	{ "record", OPTS_RECORD, trace_cmd },
	{ "report", OPTS_REPORT, report_cmd },
	{ "diff", OPTS_DIFF, diff_cmd },
};

int main(int argc, char **argv)
{
	int (*run)(const struct opts *o) = trace_cmd;
	enum opts_cmd cmd = OPTS_TRACE;
	static struct opts o; /* large: --fail-on rules */
	char err[512];

	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			cmd = commands[i].cmd;
			run = commands[i].run;
			argc--;
			argv++;
			break;
		}
	switch (opts_parse(&o, cmd, argc, argv, stdout, err, sizeof(err))) {
	case OPTS_EXIT:
		return 0;
	case OPTS_ERROR:
		fprintf(stderr, "%s: %s\n", opts_cmd_name(cmd), err);
		return 2;
	case OPTS_OK:
		break;
	}
	return run(&o);
}
