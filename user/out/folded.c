// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "out/folded.h"
#include "out/views.h"

/* A frame's text as flamegraph.pl reads it: no ';' (its separator) inside. */
static void put_text(FILE *f, const char *name)
{
	for (const char *c = name; *c; c++)
		fputc(*c == ';' ? ':' : *c, f);
}

static void put_frame(FILE *f, const char *name)
{
	put_text(f, name);
	fputc(';', f);
}

/* "COMM;[first];root;...;leaf;[WHAT OBJECT] US": one stack of a view. */
static int put_stack(void *ctx, const struct view_stack *v)
{
	const struct rpt_lock_stack *st = v->st;
	char buf[SNAP_SYM_LEN];
	FILE *f = ctx;

	/* A futex word's stack of no wait time weighs nothing: no line. */
	if (v->view == VIEW_WAIT && !st->wait_ns && strcmp(v->what, "syscall"))
		return 0;
	put_frame(f, v->p->comm);
	if (v->first)
		put_frame(f, v->first);
	if (!st->n)
		put_frame(f, "[no stack]");
	else if (st->partial)
		put_frame(f, "[partial]");
	for (uint32_t i = st->n; i-- > 0;)
		put_frame(f, frame_function(st->frames[i], buf, sizeof(buf)));
	fprintf(f, "[%s ", v->what);
	put_text(f, v->object);
	fprintf(f, "] %.3f\n", (double)st->wait_ns / 1e3);
	return 0;
}

int report_folded(FILE *f, const struct report *r)
{
	each_view_stack(r, put_stack, f);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
