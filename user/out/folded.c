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

/* The last frame, "[WHAT NAME] US" and the line's end: no ';' inside either. */
static void put_leaf(FILE *f, const char *what, const char *name, uint64_t ns)
{
	fprintf(f, "[%s ", what);
	for (const char *c = name; *c; c++)
		fputc(*c == ';' ? ':' : *c, f);
	fprintf(f, "] %.3f\n", (double)ns / 1e3);
}

/* "COMM;[first];root;...;leaf;" (first: NULL for none). */
static void put_frames(FILE *f, const struct rpt_process *p, const char *first,
		       const struct rpt_lock_stack *st)
{
	char buf[SNAP_SYM_LEN];

	put_frame(f, p->comm);
	if (first)
		put_frame(f, first);
	if (!st->n)
		put_frame(f, "[no stack]");
	else if (st->partial)
		put_frame(f, "[partial]");
	for (uint32_t i = st->n; i-- > 0;)
		put_frame(f, frame_function(st->frames[i], buf, sizeof(buf)));
}

static void put_stack(FILE *f, const struct rpt_process *p, const struct rpt_lock *l,
		      const struct rpt_lock_stack *st)
{
	put_frames(f, p, NULL, st);
	put_leaf(f, "lock", l->name, st->wait_ns);
}

/*
 * A Python process's GIL waits by what the holder ran ("COMM;[GIL
 * holder];root;...;leaf;[GIL held by NAME] US") and its threads' on-CPU
 * samples ("COMM;root;...;leaf;[on-CPU holding the GIL] US").
 */
static void put_python(FILE *f, const struct rpt_process *p)
{
	for (size_t i = 0; p->gil && i < p->gil->nholders; i++) {
		const struct rpt_tagged_stack *h = &p->gil->holders[i];
		const struct rpt_thread *t = rpt_thread_of(p, h->tag);

		put_frames(f, p, "[GIL holder]", &h->st);
		put_leaf(f, "GIL held by", t ? rpt_thread_name(t) : "a thread", h->st.wait_ns);
	}
	for (size_t i = 0; i < p->noncpu; i++) {
		const struct rpt_tagged_stack *o = &p->oncpu[i];

		put_frames(f, p, NULL, &o->st);
		put_leaf(f, "on-CPU", rpt_smp_class_text(o->tag), o->st.wait_ns);
	}
}

/* Blocks in syscalls other than futex waits: "COMM;root;...;leaf;[syscall read] US". */
static void put_syscalls(FILE *f, const struct rpt_process *p)
{
	char name[32];

	for (size_t i = 0; i < p->nsysstacks; i++) {
		const struct rpt_tagged_stack *s = &p->sysstacks[i];

		put_frames(f, p, NULL, &s->st);
		put_leaf(f, "syscall", syscall_name((int)s->tag, name, sizeof(name)),
			 s->st.wait_ns);
	}
}

int report_folded(FILE *f, const struct report *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rpt_process *p = &r->procs[i];

		for (size_t j = 0; j < p->nlocks; j++)
			for (size_t k = 0; k < p->locks[j].nstacks; k++)
				if (p->locks[j].stacks[k].wait_ns)
					put_stack(f, p, &p->locks[j], &p->locks[j].stacks[k]);
		put_python(f, p);
		put_syscalls(f, p);
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}
