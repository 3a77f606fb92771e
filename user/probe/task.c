// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cgroup.h"
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

/*
 * Its cgroup's CPU quota and throttling now. The count since tracing
 * began starts at the first read, and again whenever the group with the
 * quota changes (the process moved, a quota was set): the kernel counts
 * per group, and another group's count is no baseline. A process gone
 * keeps its last read.
 */
static void proc_quota(struct snap_proc *p)
{
	struct cg_quota q;
	struct snap_throttle now;

	if (cg_cpu_quota((int)p->pid, &q))
		return;
	now = (struct snap_throttle){ q.nr_periods, q.nr_throttled, q.throttled_usec };
	if (q.ino != p->cg_ino || q.quota_us != p->quota_us || !p->cg_ino)
		p->thr0 = now;
	p->thr = now;
	p->quota_us = q.quota_us;
	p->period_us = q.period_us;
	p->quota_v1 = q.v1;
	p->cg_ino = q.ino;
	memcpy(p->quota_cgroup, q.path, sizeof(p->quota_cgroup));
	p->quota_cgroup[sizeof(p->quota_cgroup) - 1] = '\0';
}

void task_read_quotas(struct proc_cache *c, const int *pids, size_t n, bool all)
{
	struct snap_proc *p;

	for (size_t i = 0; i < n; i++)
		if ((p = cache_find(c, (uint32_t)pids[i])) && (all || p->quota_us))
			proc_quota(p);
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
	proc_quota(p);
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
