// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/views.h"

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

bool python_frame(const char *frame, char *func, size_t flen, char *file, size_t filelen,
		  unsigned *line)
{
	const char *paren = strstr(frame, " ("), *colon, *end = frame + strlen(frame);
	char *stop;
	unsigned long n;

	if (!paren || end == frame || end[-1] != ')')
		return false;
	/* The first " (": a function's name has no space, a file's may. */
	colon = end - 1;
	while (colon > paren && *colon != ':')
		colon--;
	if (colon == paren)
		return false;
	n = strtoul(colon + 1, &stop, 10);
	if (stop != end - 1 || stop == colon + 1 || n > UINT32_MAX)
		return false;
	snprintf(func, flen, "%.*s", (int)(paren - frame), frame);
	snprintf(file, filelen, "%.*s", (int)(colon - paren - 2), paren + 2);
	*line = (unsigned)n;
	return true;
}

typedef int (*view_fn)(void *ctx, const struct view_stack *v);

static int locks(const struct rpt_process *p, view_fn fn, void *ctx)
{
	struct view_stack v = { .view = VIEW_WAIT, .p = p };
	int ret = 0;

	for (size_t j = 0; j < p->nlocks && !ret; j++)
		for (size_t k = 0; k < p->locks[j].nstacks && !ret; k++) {
			/* As the report classes the word: CPython's GIL, a lock, an event. */
			v.what = p->locks[j].gil		    ? "GIL" :
				 p->locks[j].kind == RPT_KIND_EVENT ? "event" :
								      "lock";
			v.object = p->locks[j].name;
			v.st = &p->locks[j].stacks[k];
			ret = fn(ctx, &v);
		}
	return ret;
}

static int gil_holders(const struct rpt_process *p, view_fn fn, void *ctx)
{
	struct view_stack v = {
		.view = VIEW_GIL_HOLDER, .p = p, .first = "[GIL holder]", .what = "GIL held by"
	};
	int ret = 0;

	for (size_t i = 0; p->gil && i < p->gil->nholders && !ret; i++) {
		const struct rpt_thread *t = rpt_thread_of(p, p->gil->holders[i].tag);

		v.object = t ? rpt_thread_name(t) : "a thread";
		v.st = &p->gil->holders[i].st;
		ret = fn(ctx, &v);
	}
	return ret;
}

static int oncpu(const struct rpt_process *p, view_fn fn, void *ctx)
{
	struct view_stack v = { .view = VIEW_ONCPU, .p = p, .what = "on-CPU" };
	int ret = 0;

	for (size_t i = 0; i < p->noncpu && !ret; i++) {
		v.object = rpt_smp_class_text(p->oncpu[i].tag);
		v.st = &p->oncpu[i].st;
		ret = fn(ctx, &v);
	}
	return ret;
}

/* Blocks in syscalls other than futex waits (those are the locks'). */
static int syscalls(const struct rpt_process *p, view_fn fn, void *ctx)
{
	struct view_stack v = { .view = VIEW_WAIT, .p = p, .what = "syscall" };
	char name[32];
	int ret = 0;

	for (size_t i = 0; i < p->nsysstacks && !ret; i++) {
		v.object = syscall_name((int)p->sysstacks[i].tag, name, sizeof(name));
		v.st = &p->sysstacks[i].st;
		ret = fn(ctx, &v);
	}
	return ret;
}

int each_view_stack(const struct report *r, view_fn fn, void *ctx)
{
	int ret = 0;

	for (size_t i = 0; i < r->nprocs && !ret; i++) {
		const struct rpt_process *p = &r->procs[i];

		ret = locks(p, fn, ctx);
		if (!ret)
			ret = gil_holders(p, fn, ctx);
		if (!ret)
			ret = oncpu(p, fn, ctx);
		if (!ret)
			ret = syscalls(p, fn, ctx);
	}
	return ret;
}

const char *view_proc(const struct view_stack *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%u)", v->p->comm, v->p->pid);
	return buf;
}

const struct view_desc view_descs[VIEW_COUNT] = {
	[VIEW_WAIT] = { "waits", "waits", "time threads waited: on locks and events, in syscalls",
			"waits" },
	[VIEW_GIL_HOLDER] = { "gil", "GIL holders",
			      "time threads waited for the GIL, by what its holder ran", "waits" },
	[VIEW_ONCPU] = { "oncpu", "on-CPU", "CPU time, sampled", "samples" },
};
