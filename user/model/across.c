// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "model/across.h"
#include "model/locks.h"

static int cmp_cpu(const void *a, const void *b)
{
	const struct rpt_process *x = *(const struct rpt_process *const *)a;
	const struct rpt_process *y = *(const struct rpt_process *const *)b;

	if (x->s.f.oncpu_ns != y->s.f.oncpu_ns)
		return x->s.f.oncpu_ns > y->s.f.oncpu_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_runq(const void *a, const void *b)
{
	const struct rpt_process *x = *(const struct rpt_process *const *)a;
	const struct rpt_process *y = *(const struct rpt_process *const *)b;

	if (x->s.f.runq_ns != y->s.f.runq_ns)
		return x->s.f.runq_ns > y->s.f.runq_ns ? -1 : 1;
	return cmp_cpu(a, b);
}

static int cmp_row(const void *a, const void *b)
{
	const struct rpt_across_row *x = a, *y = b;
	int c;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	c = strcmp(x->name, y->name);
	return c ? c : (x->count > y->count ? -1 : x->count < y->count);
}

static struct rpt_across_row *add_row(struct rpt_across_row **v, size_t *n, size_t *cap,
				      const struct rpt_process *p, const char *name, uint64_t count,
				      uint64_t ns)
{
	struct rpt_across_row *row = vec_push(*v, *n, *cap);

	if (!row)
		return NULL;
	row->pid = p->pid;
	memcpy(row->comm, p->comm, sizeof(row->comm));
	snprintf(row->name, sizeof(row->name), "%s", name);
	row->count = count;
	row->ns = ns;
	return row;
}

/* A process's LOCKS and EVENTS rows, with the figures their tables show. */
static int process_locks(struct rpt_across *a, const struct rpt_process *p, size_t *lcap,
			 size_t *ecap)
{
	for (size_t i = 0; i < p->nlocks; i++) {
		const struct rpt_lock *l = &p->locks[i];

		if (l->kind == RPT_KIND_LOCK &&
		    !add_row(&a->locks, &a->nlocks, lcap, p, l->name, l->waits, l->wait_ns))
			return -ENOMEM;
		if (lock_event_row(l) && !add_row(&a->events, &a->nevents, ecap, p, l->name,
						  l->waits, l->wait_ns + l->now_ns))
			return -ENOMEM;
	}
	return 0;
}

/* A process's syscalls that threads blocked in (its SYSCALLS THAT BLOCKED rows). */
static int process_syscalls(struct rpt_across *a, const struct rpt_process *p, size_t *cap)
{
	char buf[32];

	for (size_t i = 0; i < p->nsys; i++) {
		const struct rpt_syscall *s = &p->sys[i];

		if (s->blocked_ns &&
		    !add_row(&a->sys, &a->nsys, cap, p, syscall_name(s->nr, buf, sizeof(buf)),
			     s->blocks, s->blocked_ns))
			return -ENOMEM;
	}
	return 0;
}

static int fill(struct rpt_across *a, const struct report *r)
{
	size_t lcap = 0, ecap = 0, scap = 0;

	a->nprocs = r->nprocs;
	a->by_cpu = calloc(r->nprocs, sizeof(*a->by_cpu));
	a->by_runq = calloc(r->nprocs, sizeof(*a->by_runq));
	if (!a->by_cpu || !a->by_runq)
		return -ENOMEM;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rpt_process *p = &r->procs[i];

		a->by_cpu[i] = a->by_runq[i] = p;
		if (process_locks(a, p, &lcap, &ecap) || process_syscalls(a, p, &scap))
			return -ENOMEM;
	}
	qsort(a->by_cpu, a->nprocs, sizeof(*a->by_cpu), cmp_cpu);
	qsort(a->by_runq, a->nprocs, sizeof(*a->by_runq), cmp_runq);
	if (a->nlocks)
		qsort(a->locks, a->nlocks, sizeof(*a->locks), cmp_row);
	if (a->nsys)
		qsort(a->sys, a->nsys, sizeof(*a->sys), cmp_row);
	if (a->nevents)
		qsort(a->events, a->nevents, sizeof(*a->events), cmp_row);
	return 0;
}

int across_model(struct report *r)
{
	struct rpt_across *a;

	if (r->nprocs < 2)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (fill(a, r)) {
		across_free(a);
		return -ENOMEM;
	}
	r->across = a;
	return 0;
}

void across_free(struct rpt_across *a)
{
	if (!a)
		return;
	free(a->by_cpu);
	free(a->by_runq);
	free(a->locks);
	free(a->sys);
	free(a->events);
	free(a);
}
