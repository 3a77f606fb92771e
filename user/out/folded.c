// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "out/folded.h"

const char *frame_function(const char *frame, char *buf, size_t len)
{
	const char *colon = strchr(frame, ':'), *off;
	size_t n;

	const char *paren = strstr(frame, " (");

	/*
	 * No symbol: "FILE:0xVADDR" stays whole (the file says where). A
	 * Python frame, "FUNCTION (FILE.py:LINE)", is whole already.
	 */
	if (!colon || !len || !strncmp(colon + 1, "0x", 2) || (paren && paren < colon))
		return frame;
	colon++;
	off = strrchr(colon, '+');
	n = off && !strncmp(off, "+0x", 3) ? (size_t)(off - colon) : strlen(colon);
	if (n >= len)
		n = len - 1;
	memcpy(buf, colon, n);
	buf[n] = '\0';
	return buf;
}

/* A frame as flamegraph.pl reads it: no ';' (its separator) inside. */
static void put_frame(FILE *f, const char *name)
{
	for (const char *c = name; *c; c++)
		fputc(*c == ';' ? ':' : *c, f);
	fputc(';', f);
}

static void put_stack(FILE *f, const struct rpt_process *p, const struct rpt_lock *l,
		      const struct rpt_lock_stack *st)
{
	char buf[SNAP_SYM_LEN];

	put_frame(f, p->comm);
	if (!st->n)
		put_frame(f, "[no stack]");
	else if (st->partial)
		put_frame(f, "[partial]");
	for (uint32_t i = st->n; i-- > 0;)
		put_frame(f, frame_function(st->frames[i], buf, sizeof(buf)));
	fprintf(f, "[lock %s] %.3f\n", l->name, (double)st->wait_ns / 1e3);
}

int report_folded(FILE *f, const struct report *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rpt_process *p = &r->procs[i];

		for (size_t j = 0; j < p->nlocks; j++)
			for (size_t k = 0; k < p->locks[j].nstacks; k++)
				if (p->locks[j].stacks[k].wait_ns)
					put_stack(f, p, &p->locks[j], &p->locks[j].stacks[k]);
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}
