// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/procfs.h"
#include "probe/task.h"
#include "util/vec.h"

int task_read(struct snapshot *s, const struct ct_thread *slots, uint32_t n)
{
	free(s->threads);
	s->threads = NULL;
	s->nthreads = 0;
	if (!n)
		return 0;
	s->threads = malloc((size_t)n * sizeof(*s->threads));
	if (!s->threads)
		return -ENOMEM;
	memcpy(s->threads, slots, (size_t)n * sizeof(*s->threads));
	s->nthreads = n;
	return 0;
}

static struct snap_proc *cache_find(const struct proc_cache *c, uint32_t pid)
{
	struct snap_proc key = { .pid = pid };

	if (!c->n)
		return NULL;
	return bsearch(&key, c->v, c->n, sizeof(key), snapshot_cmp_proc);
}

/* What /proc says of process pid now; t (one of its threads) names it if /proc cannot. */
static void proc_info(struct snap_proc *p, uint32_t pid, const struct ct_thread *t)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (proc_comm((int)pid, 0, p->comm, sizeof(p->comm)))
		memcpy(p->comm, t->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	if (proc_cmdline((int)pid, p->cmdline, sizeof(p->cmdline)))
		p->cmdline[0] = '\0';
	p->ncpus = (uint32_t)proc_ncpus((int)pid);
}

/* After an execve the command line changes: read it again while alive. */
static void proc_exec_check(struct snap_proc *p, const struct ct_thread *t)
{
	if (t->tid == t->tgid && t->state != CT_ST_DEAD &&
	    strncmp(p->comm, t->comm, sizeof(p->comm)) != 0) {
		memcpy(p->comm, t->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = '\0';
		proc_cmdline((int)t->tgid, p->cmdline, sizeof(p->cmdline));
	}
}

/* A thread of a process not in the cache yet. */
struct fresh {
	uint32_t tgid;
	uint32_t slot;
};

static int cmp_fresh(const void *a, const void *b)
{
	const struct fresh *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * Processes first seen now are read from /proc once each (named by their
 * first slot if /proc cannot), and the cache is sorted again: a lookup per
 * slot stays a binary search with thousands of processes (-f). Without
 * memory for a new entry, it is tried again at the next refresh.
 */
void task_refresh_procs(struct proc_cache *c, const struct ct_thread *slots, uint32_t n)
{
	struct fresh *fresh = NULL, *f;
	size_t nfresh = 0, cap = 0, n0 = c->n;
	struct snap_proc *p;

	for (uint32_t i = 0; i < n; i++) {
		const struct ct_thread *t = &slots[i];

		if (!task_accounted(t))
			continue;
		p = cache_find(c, t->tgid);
		if (p) {
			proc_exec_check(p, t);
		} else if (t->state != CT_ST_DEAD && (f = vec_push(fresh, nfresh, cap))) {
			f->tgid = t->tgid;
			f->slot = i;
		}
	}
	if (nfresh)
		qsort(fresh, nfresh, sizeof(*fresh), cmp_fresh);
	for (size_t k = 0; k < nfresh; k++) {
		if (k && fresh[k].tgid == fresh[k - 1].tgid)
			continue;
		p = vec_push(c->v, c->n, c->cap);
		if (!p)
			break;
		proc_info(p, fresh[k].tgid, &slots[fresh[k].slot]);
	}
	free(fresh);
	if (c->n > n0)
		qsort(c->v, c->n, sizeof(*c->v), snapshot_cmp_proc);
}

void task_proc_exec(struct proc_cache *c, uint32_t pid)
{
	struct snap_proc *p = cache_find(c, pid);

	/* A failed read (gone already) keeps the old line. */
	if (p)
		proc_cmdline((int)pid, p->cmdline, sizeof(p->cmdline));
}

int task_copy_procs(const struct proc_cache *c, struct snapshot *s)
{
	free(s->procs);
	s->procs = NULL;
	s->nprocs = 0;
	s->cap.procs = 0;
	return vec_append(s->procs, s->nprocs, s->cap.procs, c->v, c->n);
}

void task_free_procs(struct proc_cache *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

const struct ct_thread *task_by_tid(const struct snapshot *s, uint32_t tid)
{
	const struct ct_thread *found = NULL;
	const struct snap_tid *t;

	if (s->tids) {
		t = snapshot_find_tid(s, tid);
		return t ? &s->threads[t->slot] : NULL;
	}
	for (uint32_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid == tid && task_accounted(&s->threads[i]))
			found = &s->threads[i];
	return found;
}

const char *task_comm(const struct snapshot *s, uint32_t tid)
{
	const struct ct_thread *t = task_by_tid(s, tid);
	const struct snap_name *n;

	if (t)
		return t->comm;
	n = snapshot_find_name(s, tid);
	return n ? n->comm : "?";
}

const struct ct_thread *task_slot(const struct snapshot *s, uint32_t slot)
{
	const struct ct_thread *t;

	if (!s || slot >= s->nthreads)
		return NULL;
	t = &s->threads[slot];
	if (!task_accounted(t))
		return NULL;
	return t;
}

struct cand {
	uint32_t slot;
	uint32_t tgid;
	uint64_t start;
	uint64_t end;
};

static uint32_t sort_target;

/* The target process first, then by pid; threads in order of appearance. */
static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->tgid != y->tgid) {
		if (x->tgid == sort_target)
			return -1;
		if (y->tgid == sort_target)
			return 1;
		return x->tgid < y->tgid ? -1 : 1;
	}
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void fill_process(struct rpt_process *p, const struct snapshot *cur,
			 const struct snapshot *prev, uint32_t pid, const struct ct_thread *leader)
{
	const struct snap_proc *info = snapshot_find_proc(cur, pid);

	if (!info && prev)
		info = snapshot_find_proc(prev, pid);
	p->pid = pid;
	if (info) {
		memcpy(p->comm, info->comm, sizeof(p->comm));
		memcpy(p->cmdline, info->cmdline, sizeof(p->cmdline));
		p->ncpus = (int)info->ncpus;
	} else {
		memcpy(p->comm, leader->comm, sizeof(p->comm));
	}
	p->comm[sizeof(p->comm) - 1] = '\0';
	p->cmdline[sizeof(p->cmdline) - 1] = '\0';
	if (p->ncpus <= 0)
		p->ncpus = sys_ncpus();
}

int task_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev,
	       uint64_t w0, uint64_t w1)
{
	struct cand *c;
	size_t n = 0, i, j, np;

	c = calloc(cur->nthreads ? cur->nthreads : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (uint32_t s = 0; s < cur->nthreads; s++) {
		const struct ct_thread *t = task_slot(cur, s);

		if (!t)
			continue;
		if (t->end_ts && t->end_ts <= w0)
			continue; /* gone before the window */
		c[n].slot = s;
		c[n].tgid = t->tgid;
		c[n].start = t->start_ts > w0 ? t->start_ts : w0;
		c[n].end = t->end_ts && t->end_ts < w1 ? t->end_ts : w1;
		if (c[n].end < c[n].start)
			c[n].end = c[n].start;
		n++;
	}
	sort_target = (uint32_t)r->meta->target_pid;
	qsort(c, n, sizeof(*c), cmp_cand);

	for (i = 0, np = 0; i < n; i++)
		if (i == 0 || c[i].tgid != c[i - 1].tgid)
			np++;
	r->procs = calloc(np ? np : 1, sizeof(*r->procs));
	if (!r->procs) {
		free(c);
		return -ENOMEM;
	}

	for (i = 0; i < n; i = j) {
		struct rpt_process *p = &r->procs[r->nprocs];
		uint64_t first = UINT64_MAX, last = 0;
		size_t exited = 0;

		for (j = i; j < n && c[j].tgid == c[i].tgid; j++)
			;
		p->threads = calloc(j - i, sizeof(*p->threads));
		if (!p->threads) {
			free(c);
			return -ENOMEM;
		}
		r->nprocs++;
		fill_process(p, cur, prev, c[i].tgid, &cur->threads[c[i].slot]);
		for (size_t k = i; k < j; k++) {
			const struct ct_thread *t = &cur->threads[c[k].slot];
			struct rpt_thread *rt = &p->threads[p->nthreads++];

			rt->slot = c[k].slot;
			rt->tid = t->tid;
			rt->pid = t->tgid;
			memcpy(rt->comm, t->comm, sizeof(rt->comm));
			rt->comm[sizeof(rt->comm) - 1] = '\0';
			rt->start_ns = c[k].start - w0;
			rt->alive_ns = c[k].end - c[k].start;
			rt->started = !(t->flags & CT_TF_SEEDED) && t->start_ts > w0;
			rt->exited = t->end_ts && t->end_ts <= w1;
			if (rt->tid == rt->pid && !(t->flags & CT_TF_GATED))
				memcpy(p->comm, t->comm, sizeof(p->comm));
			p->threads_started += rt->started;
			p->threads_exited += rt->exited;
			exited += rt->exited;
			if (c[k].start < first)
				first = c[k].start;
			if (c[k].end > last)
				last = c[k].end;
		}
		p->comm[sizeof(p->comm) - 1] = '\0';
		p->exited = exited == p->nthreads;
		p->wall_ns = last > first ? last - first : 0;
	}
	free(c);
	return 0;
}
