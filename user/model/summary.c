// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SUMMARY (issue 14 item 10): a CPU-bound Python program's one verdict
 * sat 60 lines down, inside the GIL section; a lock that serialised the
 * process was announced inside its LOCKS row. Every section's findings are
 * gathered here, ranked by the time they explain, and the first three open
 * the report (text and JSON alike).
 */
#include <stdio.h>
#include <string.h>

#include "util/format.h"
#include "model/summary.h"

/*
 * A lock, or the run queue, is a finding when threads waited for it 0.1
 * threads on average over the process's wall time or more: a tenth of a
 * CPU's worth of threads not running. Below that it is in its table only.
 */
#define FINDING_MIN_WAITING 0.1

#define D(ns) fmt_dur((char[FMT_LEN]){ 0 }, FMT_LEN, (ns))

/* Whether a finding ranks before another: deadlocks first, then by time. */
static bool before(const struct rpt_finding *a, const struct rpt_finding *b)
{
	if ((a->kind == RPT_FIND_DEADLOCK) != (b->kind == RPT_FIND_DEADLOCK))
		return a->kind == RPT_FIND_DEADLOCK;
	return a->ns > b->ns;
}

/* Keep the finding if it is among the RPT_FINDINGS first so far. */
static void consider(struct report *r, const struct rpt_finding *f)
{
	size_t i = r->nfindings < RPT_FINDINGS ? r->nfindings++ : RPT_FINDINGS;

	if (i == RPT_FINDINGS) {
		if (!before(f, &r->findings[RPT_FINDINGS - 1]))
			return;
		i = RPT_FINDINGS - 1;
	}
	for (; i > 0 && before(f, &r->findings[i - 1]); i--)
		r->findings[i] = r->findings[i - 1];
	r->findings[i] = *f;
}

/* "" for a report of one process; "pid 42 (comm): " when several are. */
static void who(char *buf, size_t len, const struct report *r, const struct rpt_process *p)
{
	if (r->nprocs > 1)
		snprintf(buf, len, "pid %u (%s): ", p->pid, p->comm);
	else
		buf[0] = '\0';
}

static void deadlocks(struct report *r, const struct rpt_process *p, const char *pre)
{
	for (size_t i = 0; i < p->ndeadlocks; i++) {
		const struct rpt_deadlock *d = &p->deadlocks[i];
		struct rpt_finding f = { .kind = RPT_FIND_DEADLOCK,
					 .pid = p->pid,
					 .section = "LOCKS" };

		snprintf(f.text, sizeof(f.text),
			 "%sDEADLOCK: %zu thread%s waiting for each other, thread %u (%s) for %s",
			 pre, d->n, d->n == 1 ? " is" : "s are", d->m[0].tid, d->m[0].comm,
			 d->m[0].lock);
		consider(r, &f);
	}
}

static void locks(struct report *r, const struct rpt_process *p, const char *pre)
{
	for (size_t i = 0; i < p->nlocks; i++) {
		const struct rpt_lock *l = &p->locks[i];
		struct rpt_finding f = {
			.kind = RPT_FIND_LOCK, .pid = p->pid, .ns = l->wait_ns, .section = "LOCKS"
		};

		/* pthread_join is no contention; the GIL's words are the GIL section's */
		if (l->join || l->gil || !l->waits)
			continue;
		if (l->serialising)
			snprintf(
				f.text, sizeof(f.text),
				"%s%s serialises the process: held %.0f%% of the time while %.1f threads waited for it on average (%s of waits): at most %.2f threads can run at once",
				pre, l->name, 100 * l->held_fraction, l->avg_waiting, D(l->wait_ns),
				1.0 / l->held_fraction);
		/*
		 * Contention: a holder made them wait. A condition variable's or a
		 * semaphore's waits (no holds) are mostly threads idle until work
		 * comes (a pool's queue): in the LOCKS table, not a finding.
		 */
		else if (l->avg_waiting >= FINDING_MIN_WAITING && l->holds && !l->condvar)
			snprintf(
				f.text, sizeof(f.text),
				"%sthreads waited %s for %s (%llu waits, %.1f threads waiting on average)",
				pre, D(l->wait_ns), l->name, (unsigned long long)l->waits,
				l->avg_waiting);
		else
			continue;
		consider(r, &f);
	}
}

static void gil(struct report *r, const struct rpt_process *p, const char *pre)
{
	const struct rpt_gil *g = p->gil;

	for (size_t i = 0; g && i < g->nverdicts; i++) {
		struct rpt_finding f = { .kind = RPT_FIND_GIL,
					 .pid = p->pid,
					 .ns = g->verdict_ns[i],
					 .section = "GIL" };

		snprintf(f.text, sizeof(f.text), "%s%s", pre, g->verdicts[i]);
		consider(r, &f);
	}
}

static void runq(struct report *r, const struct rpt_process *p, const char *pre)
{
	double waiting = p->wall_ns ? (double)p->s.f.runq_ns / (double)p->wall_ns : 0;
	struct rpt_finding f = {
		.kind = RPT_FIND_CPU, .pid = p->pid, .ns = p->s.f.runq_ns, .section = "THREADS"
	};

	int n;

	if (waiting < FINDING_MIN_WAITING)
		return;
	n = snprintf(
		f.text, sizeof(f.text),
		"%sthreads waited %s for a CPU (run-queue wait): %.1f runnable threads waiting on average, on %d CPU%s",
		pre, D(p->s.f.runq_ns), waiting, p->ncpus, p->ncpus == 1 ? "" : "s");
	/* The kernel's count of a quota's throttling says why (PREEMPTED BY has the verdict). */
	if (p->quota.set && p->quota.throttled && n > 0 && (size_t)n < sizeof(f.text))
		snprintf(f.text + n, sizeof(f.text) - (size_t)n,
			 "; its CPU quota held it back %s (throttled in %llu of %llu periods)",
			 D(p->quota.throttled_ns), (unsigned long long)p->quota.throttled,
			 (unsigned long long)p->quota.periods);
	consider(r, &f);
}

/*
 * Whether a Python process with a GIL was not followed (a version not
 * supported, --gil=off): then "no contention" cannot speak for the GIL.
 */
static bool gil_unseen(const struct report *r)
{
	for (size_t i = 0; r->meta && i < r->meta->ngil; i++)
		if (r->meta->gil[i].tier == RPT_GIL_NONE && !r->meta->gil[i].free_threaded)
			return true;
	return false;
}

void summary_model(struct report *r)
{
	char pre[48];

	r->nfindings = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rpt_process *p = &r->procs[i];

		who(pre, sizeof(pre), r, p);
		deadlocks(r, p, pre);
		locks(r, p, pre);
		gil(r, p, pre);
		runq(r, p, pre);
	}
	if (r->nfindings)
		return;
	r->findings[0] = (struct rpt_finding){ .kind = RPT_FIND_NONE, .section = "" };
	snprintf(r->findings[0].text, sizeof(r->findings[0].text),
		 gil_unseen(r) ?
			 "no contention found: no lock or CPU that threads waited for long" :
			 "no contention found: no lock, GIL or CPU that threads waited for long");
	r->nfindings = 1;
}
