// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for what `contrace diff` reads: the input's bytes up to
 * its first NUL are the base document, the rest the new one (without a
 * NUL, the same document on both sides). Each pair goes through diff_run()
 * (the parser, the schema checks, the metrics, the rules) under the
 * default gate and under rules of each kind, with the text, Markdown and
 * JSON outputs rendered to /dev/null. It must end with status 0 or 1, or 2
 * and a one-line message: never a crash, a hang, an abort, a leak or
 * undefined behaviour.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/diff.h"

/* Rules on metrics every report has: relative, absolute in time, a count, a ratio. */
static const char *const rule_text[] = { "wall_ns>+10%", "runq_ns<=-5ms", "thread_count>=+1",
					 "cpu_utilization>+0.05", "locks.waits<-50%" };
#define NRULES (sizeof(rule_text) / sizeof(rule_text[0]))

static void run(const struct diff_input in[2], const struct diff_rule *rules, size_t nrules,
		const struct diff_outputs *out)
{
	char err[512] = "";
	int code = diff_run(in, rules, nrules, out, err, sizeof(err));

	if (code < 0 || code > 2)
		__builtin_trap();
	/* An input error always says why, on one line. */
	if (code == 2 && (!err[0] || strchr(err, '\n')))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct diff_rule rules[NRULES];
	static FILE *null;
	const uint8_t *nul = memchr(data, 0, size);
	size_t base_len = nul ? (size_t)(nul - data) : size;
	struct diff_input in[2] = {
		{ .name = "base.json", .data = data, .len = base_len },
		{ .name = "new.json",
		  .data = nul ? nul + 1 : data,
		  .len = nul ? size - base_len - 1 : size },
	};
	struct diff_outputs out;
	char err[256];

	if (!null) {
		null = fopen("/dev/null", "w");
		for (size_t i = 0; i < NRULES; i++)
			if (diff_parse_rule(rule_text[i], &rules[i], err, sizeof(err)))
				__builtin_trap();
	}
	out = (struct diff_outputs){ .text = null, .markdown = null, .json = null, .warn = null };
	run(in, NULL, 0, &out);
	run(in, rules, NRULES, &out);
	return 0;
}
