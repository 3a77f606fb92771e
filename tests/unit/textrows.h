/* SPDX-License-Identifier: GPL-2.0-only */
/* The text report of a model, and its rows, for the unit tests that check what a reader sees. */
#ifndef CONTRACE_TEST_TEXTROWS_H
#define CONTRACE_TEST_TEXTROWS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "out/report_text.h"

/* The text report of r, top rows per table (0: all), in a buffer the caller frees. */
static inline char *render_text(const struct report *r, int top)
{
	struct text_opts o = { .top = top };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	report_text(f, r, &o);
	fclose(f);
	return buf;
}

/*
 * Whether the text has a row beginning with the columns `head` and ending
 * with `tail` (each a space-separated list): the THREADS table's columns of
 * the figure table (bpf/figures.def) may grow between them.
 */
static inline bool has_row(const char *t, const char *head, const char *tail)
{
	char line[512];

	for (const char *p = t; *p;) {
		size_t n = strcspn(p, "\n"), k = 0, tl = strlen(tail);

		/* The line with runs of spaces made one, without leading spaces. */
		for (size_t i = 0; i < n && k + 1 < sizeof(line); i++)
			if (p[i] != ' ' || (k && line[k - 1] != ' '))
				line[k++] = p[i];
		while (k && line[k - 1] == ' ')
			k--;
		line[k] = 0;
		if (!strncmp(line, head, strlen(head)) && k >= tl && !strcmp(line + k - tl, tail))
			return true;
		p += n + (p[n] == '\n');
	}
	return false;
}

/* Whether the text has this row, runs of spaces made one (a row that ends as it begins: itself). */
static inline bool has_line(const char *t, const char *row)
{
	return has_row(t, row, row);
}

#endif
