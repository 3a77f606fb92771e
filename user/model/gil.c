// SPDX-License-Identifier: GPL-2.0-only
/* The GIL part of a report and its verdicts (docs/usage.md, "GIL"). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/figs.h"
#include "model/gil.h"
#include "model/syscalls.h"
#include "snap/threads.h"
#include "util/vec.h"

static void say(struct rpt_gil *g, uint64_t ns, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Findings about single threads take at most RPT_VERDICTS - 1 lines: the
 * last is kept for the process's verdict (five threads blocked while
 * holding the GIL used to crowd it out in silence). Findings past the last
 * of their lines are counted in it instead.
 */
#define THREAD_LINES (RPT_VERDICTS - 1)

static void say_thread(struct rpt_gil *g, size_t *found, uint64_t ns, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * An asyncio-style event loop (a thread that blocks in epoll_wait with the
 * GIL released) that also blocks in other syscalls (time.sleep, file I/O):
 * each such call stalls every task of the loop. futex is left out (a
 * run_in_executor future, a lock).
 */
#define LOOP_MIN_POLLS 5
#define LOOP_MIN_BLOCKED_NS 20000000ULL

/*
 * A hold far longer than the switch interval while other threads asked for
 * the GIL: C code that neither releases it nor lets the eval loop honour
 * the drop request (the interval alone would end a Python hold).
 */
#define LONG_HOLD_MIN_NS 50000000ULL

/*
 * The verdict: the standard remedies, each with the figures it rests on,
 * and nothing when the evidence is thin (under 100 ms of Python threads'
 * busy time, or a single Python thread). Busy time leaves out the waits
 * for other threads while the GIL is released (futex: a threading.Lock,
 * a Condition, a queue), which say nothing about the GIL.
 */
#define VERDICT_MIN_NS 100000000ULL
#define HANDOFF_BOUND_PER_S 1000
#define LONG_HELD_BLOCK_NS 10000000ULL

static const struct snap_gilhist *find_hist(const struct snapshot *s, uint32_t slot)
{
	struct snap_gilhist key = { .slot = slot };

	if (!s || !s->ngilhists)
		return NULL;
	return bsearch(&key, s->gilhists, s->ngilhists, sizeof(key), snapshot_cmp_gilhist);
}

static const struct rpt_gil_info *info_of(const struct report_meta *m, uint32_t pid)
{
	for (size_t i = 0; i < m->ngil; i++)
		if ((uint32_t)m->gil[i].pid == pid)
			return &m->gil[i];
	return NULL;
}

/*
 * Waits of a thread on the GIL's condition variable that a timer ended:
 * forced switch requests. Per word of [G+32, G+80), one lookup of the
 * edge (thread, timer) in the sorted edges: a scan of every edge per
 * thread was quadratic.
 */
static uint64_t forced_of(const struct snapshot *s, const struct rpt_gil_info *gi, uint32_t tid)
{
	struct ct_edge_key k = { .tgid = (uint32_t)gi->pid, .waiter = tid, .holder = CT_WAKER_IRQ };
	const struct snap_edge *e;
	uint64_t n = 0;

	if (!s || !gi->addr)
		return 0;
	for (size_t i = snapshot_edge_from(s, k.tgid, gi->addr + CT_GIL_COND); i < s->nedges;
	     i = snapshot_edge_from(s, k.tgid, k.uaddr + 1)) {
		k.uaddr = s->edges[i].key.uaddr;
		if (s->edges[i].key.tgid != k.tgid || k.uaddr >= gi->addr + CT_GIL_MUTEX)
			break;
		e = snapshot_find_edge(s, &k);
		if (e)
			n += e->val.waits;
	}
	return n;
}

/* part/whole of ns, rounded down; 0 when whole is 0. */
static uint64_t share(uint64_t ns, uint64_t part, uint64_t whole)
{
	return whole ? (uint64_t)((unsigned __int128)ns * part / whole) : 0;
}

/* A thread's CPU-clock samples by what they found (gilsample.bpf.c). */
struct smp_counts {
	uint64_t held, taking; /* tier C: the GIL its own; in take_gil by its events */
	uint64_t native, sys, kernel; /* released: user space, a syscall, the kernel outside one */
};

static uint64_t smp_released(const struct smp_counts *n)
{
	return n->native + n->sys + n->kernel;
}

static uint64_t smp_all(const struct smp_counts *n)
{
	return n->held + n->taking + smp_released(n);
}

static struct smp_counts smp_of(const struct rpt_gil_split *sp)
{
	return (struct smp_counts){ sp->smp_held, sp->smp_taking, sp->smp_native, sp->smp_sys,
				    sp->smp_kernel };
}

static void smp_add(struct smp_counts *d, const struct smp_counts *n)
{
	d->held += n->held;
	d->taking += n->taking;
	d->native += n->native;
	d->sys += n->sys;
	d->kernel += n->kernel;
}

/*
 * A thread's released time on a CPU (exact, or tier C's share) split by the
 * shares of samples n: in syscalls, in the kernel outside them, and native
 * code the rest; each syscall row by the thread's own samples in it (at most
 * the syscalls' part). Without samples, all of it is native.
 */
static void split_released(struct rpt_thread_gil *g, const struct smp_counts *n)
{
	struct rpt_gil_split *sp = &g->split;
	uint64_t rel = smp_released(n), own = sp->smp_native + sp->smp_sys + sp->smp_kernel;

	sp->sys_ns = share(g->rel_oncpu_ns, n->sys, rel);
	sp->kernel_ns = share(g->rel_oncpu_ns, n->kernel, rel);
	sp->native_ns = g->rel_oncpu_ns - sp->sys_ns - sp->kernel_ns;
	for (size_t i = 0; i < g->nrel_sys; i++) {
		uint64_t ns = share(g->rel_oncpu_ns, g->rel_sys[i].samples, own);

		g->rel_sys[i].oncpu_ns = ns < sp->sys_ns ? ns : sp->sys_ns;
	}
}

/*
 * Tier C: its events miss a take and a drop within one run, and date the
 * others at a run's edges, so samples divide the thread's time on a CPU
 * (exact) into held (the GIL found its own), waiting (in take_gil by its
 * events) and released (the rest, then split as in every tier); off a CPU,
 * blocked or queued, each keeps the time its events gave it. n: the
 * thread's own samples, or the pool's of its process's short-lived ones.
 */
static void resplit_oncpu(struct rpt_thread *rt, const struct smp_counts *n)
{
	struct rpt_thread_gil *g = &rt->gil;
	struct rpt_gil_split *sp = &g->split;
	uint64_t oncpu = rt->s.f.oncpu_ns, all = smp_all(n);

	sp->held_ns = share(oncpu, n->held, all);
	sp->taking_ns = share(oncpu, n->taking, all);
	g->hold_ns = sp->hold_off_ns + sp->held_ns;
	g->wait_ns = sp->wait_off_ns + sp->taking_ns;
	g->rel_oncpu_ns = oncpu - sp->held_ns - sp->taking_ns;
	g->rel_ns = g->rel_blocked_ns + g->rel_runq_ns + g->rel_oncpu_ns;
	split_released(g, n);
}

/*
 * A thread with fewer samples than this (a thread per request lives a
 * millisecond: no sample, or one that would make all of it a hold) is
 * divided by the shares of the pool of all such threads of its process:
 * the sum stays right where each alone would be 0 or 100%.
 */
#define GILC_OWN_SAMPLES 50

/* Tier C: each Python thread of process p divided by samples, its own or its pool's. */
static void divide_oncpu(struct rpt_process *p)
{
	struct smp_counts pool = { 0 };

	for (size_t j = 0; j < p->nthreads; j++) {
		struct smp_counts n = smp_of(&p->threads[j].gil.split);

		if (p->threads[j].gil.seen && smp_all(&n) < GILC_OWN_SAMPLES)
			smp_add(&pool, &n);
	}
	for (size_t j = 0; j < p->nthreads; j++) {
		struct rpt_thread *t = &p->threads[j];
		struct smp_counts n = smp_of(&t->gil.split);

		if (!t->gil.seen)
			continue;
		if (smp_all(&n) < GILC_OWN_SAMPLES)
			n = pool;
		if (smp_all(&n))
			resplit_oncpu(t, &n);
		else
			split_released(&t->gil, &n);
	}
}

/*
 * The thread's samples, and in every tier but C (whose division waits for
 * its process's other threads: divide_oncpu) its released time on a CPU
 * split by them.
 */
static void thread_samples(struct rpt_thread_gil *g, const struct ct_thread *c,
			   const struct ct_thread *o, bool absent, bool tier_c)
{
#define D(f) ct_delta(c->f, o ? o->f : 0)
	struct rpt_gil_split *sp = &g->split;
	struct smp_counts n;

	sp->absent = absent;
	sp->smp_native = D(gil_rel_smp_user);
	sp->smp_sys = D(gil_rel_smp_sys);
	sp->smp_kernel = D(gil_rel_smp_kern);
	sp->smp_held = D(gil_rel_smp_held);
	sp->smp_taking = D(gil_rel_smp_taking);
	sp->samples = sp->smp_native + sp->smp_sys + sp->smp_kernel;
	sp->hold_off_ns = D(gil_hold_runq_ns) + D(gil_hold_blocked_ns);
	sp->wait_off_ns = D(gil_wait_runq_ns) + D(gil_wait_blocked_ns);
#undef D
	n = smp_of(sp);
	if (!tier_c)
		split_released(g, &n);
}

static void split_add(struct rpt_gil_split *d, const struct rpt_gil_split *b)
{
	d->absent = b->absent;
	d->samples += b->samples;
	d->smp_sys += b->smp_sys;
	d->smp_native += b->smp_native;
	d->smp_kernel += b->smp_kernel;
	d->smp_held += b->smp_held;
	d->held_ns += b->held_ns;
	d->smp_taking += b->smp_taking;
	d->taking_ns += b->taking_ns;
	d->sys_ns += b->sys_ns;
	d->native_ns += b->native_ns;
	d->kernel_ns += b->kernel_ns;
}

/* Tier C's samples decide time on a CPU (not in a recording older than them). */
static bool samples_decide(const struct rpt_gil_info *gi, const struct snapshot *cur)
{
	return gi->tier == RPT_GIL_FUTEX && !(cur->fig_absent & (1ULL << FIG_gil_rel_smp_held));
}

/* Tier C: whether its samples make a thread not seen by events a Python thread. */
static bool seen_by_samples(const struct ct_thread *c, const struct ct_thread *o)
{
#define D(f) ct_delta(c->f, o ? o->f : 0)
	uint64_t all = D(gil_rel_smp_held) + D(gil_rel_smp_taking) + D(gil_rel_smp_user) +
		       D(gil_rel_smp_sys) + D(gil_rel_smp_kern);

	/* One that ran without a sample (a millisecond or less) too: the pool divides it. */
	return D(gil_rel_smp_held) || (all < GILC_OWN_SAMPLES && (all || D(oncpu_ns)));
#undef D
}

static void thread_gil(struct rpt_thread *rt, const struct rpt_gil_info *gi,
		       const struct snapshot *cur, const struct snapshot *prev)
{
	const struct ct_thread *c = &cur->threads[rt->slot];
	const struct ct_thread *o = prev && rt->slot < prev->nthreads ? &prev->threads[rt->slot] :
									NULL;
	const struct snap_gilhist *hc = find_hist(cur, rt->slot), *ho = find_hist(prev, rt->slot);
	struct rpt_thread_gil *g = &rt->gil;
	bool tier_c = samples_decide(gi, cur);
	struct hist h = { 0 };
	uint64_t accounted;

	/* A slot reused by another thread since prev: nothing of it counts. */
	if (o && o->tid != c->tid)
		o = NULL;
	/*
	 * Tier C: a sample that found it holding the GIL says it is a Python
	 * thread too; and a thread with a few samples or none (a thread per
	 * request, younger than any event) counts as one, or its pool would
	 * keep only those whose samples found them holding, and overstate the
	 * holds (a thread that ran 50 ms or more and never held it is not).
	 */
	g->seen = c->gil_state != CT_GIL_UNKNOWN || (tier_c && seen_by_samples(c, o));
	if (!g->seen)
		return;
	g->hold_ns = ct_delta(c->gil_hold_ns, o ? o->gil_hold_ns : 0);
	g->hold_max = c->gil_hold_max;
	g->wait_ns = ct_delta(c->gil_wait_ns, o ? o->gil_wait_ns : 0);
	g->wait_max = c->gil_wait_max;
	g->takes = ct_delta(c->gil_takes, o ? o->gil_takes : 0);
	g->waits = ct_delta(c->gil_waits, o ? o->gil_waits : 0);
	g->rel_ns = ct_delta(c->gil_rel_ns, o ? o->gil_rel_ns : 0);
	g->rel_runq_ns = ct_delta(c->gil_rel_runq_ns, o ? o->gil_rel_runq_ns : 0);
	g->rel_blocked_ns = ct_delta(c->gil_rel_blocked_ns, o ? o->gil_rel_blocked_ns : 0);
	accounted = g->rel_runq_ns + g->rel_blocked_ns;
	g->rel_oncpu_ns = ct_delta(g->rel_ns, accounted);
	thread_samples(g, c, o, cur->fig_absent & (1ULL << FIG_gil_rel_smp_user), tier_c);
	if (hc)
		hist_add_u32(&g->wait_hist, hc->h.wait);
	if (hc && ho && o) {
		hist_add_u32(&h, ho->h.wait);
		hist_sub(&g->wait_hist, &h);
	}
	g->forced = ct_delta(forced_of(cur, gi, rt->tid), o ? forced_of(prev, gi, rt->tid) : 0);
}

/* Released rows by time in the syscall, blocked or on a CPU: the I/O verdict names the first. */
static int cmp_sys_time(const void *a, const void *b)
{
	const struct rpt_syscall *x = a, *y = b;
	uint64_t tx = x->blocked_ns + x->oncpu_ns, ty = y->blocked_ns + y->oncpu_ns;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return x->nr - y->nr;
}

/* A verdict, and the time it explains (what the SUMMARY ranks it by). */
static void say(struct rpt_gil *g, uint64_t ns, const char *fmt, ...)
{
	va_list ap;

	if (g->nverdicts == RPT_VERDICTS)
		return;
	g->verdict_ns[g->nverdicts] = ns;
	va_start(ap, fmt);
	vsnprintf(g->verdicts[g->nverdicts++], RPT_VERDICT_LEN, fmt, ap);
	va_end(ap);
}

static void say_thread(struct rpt_gil *g, size_t *found, uint64_t ns, const char *fmt, ...)
{
	va_list ap;

	if (++*found > THREAD_LINES) {
		g->verdict_ns[THREAD_LINES - 1] = 0;
		snprintf(
			g->verdicts[THREAD_LINES - 1], RPT_VERDICT_LEN,
			"%zu more findings about single threads are left out (a GIL held while blocked in a syscall, a long hold, an event loop's stall)",
			*found - (THREAD_LINES - 1));
		return;
	}
	g->verdict_ns[g->nverdicts] = ns;
	va_start(ap, fmt);
	vsnprintf(g->verdicts[g->nverdicts++], RPT_VERDICT_LEN, fmt, ap);
	va_end(ap);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

static bool is_epoll(int nr)
{
	return nr == CT_NR_EPOLL_WAIT || nr == CT_NR_EPOLL_PWAIT || nr == CT_NR_EPOLL_PWAIT2;
}

static void event_loops(struct rpt_gil *g, const struct rpt_process *p, size_t *found)
{
	char sys[32];

	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];
		const struct rpt_syscall *worst = NULL;
		uint64_t polls = 0, blocked = 0;

		for (size_t j = 0; j < t->gil.nrel_sys; j++) {
			const struct rpt_syscall *s = &t->gil.rel_sys[j];

			if (is_epoll(s->nr)) {
				polls += s->blocks;
			} else if (s->nr != CT_NR_FUTEX) {
				blocked += s->blocked_ns;
				if (!worst || s->blocked_ns > worst->blocked_ns)
					worst = s;
			}
		}
		if (polls < LOOP_MIN_POLLS || blocked < LOOP_MIN_BLOCKED_NS)
			continue;
		say_thread(
			g, found, blocked,
			"thread %u (%s) runs an event loop (it waited in epoll_wait %llu times) but also blocked %.0f ms in other calls, most in %s (%.0f ms, %llu calls): while it blocks there, no task of the loop runs; use the loop's own waits (await asyncio.sleep, loop.run_in_executor for files)",
			t->tid, rpt_thread_name(t), (unsigned long long)polls,
			(double)blocked / 1e6, syscall_name(worst->nr, sys, sizeof(sys)),
			(double)worst->blocked_ns / 1e6, (unsigned long long)worst->blocks);
	}
}

static void long_holds(struct rpt_gil *g, const struct rpt_process *p, size_t *found)
{
	uint64_t limit = g->info.interval_us * 1000 * 20;

	if (limit < LONG_HOLD_MIN_NS)
		limit = LONG_HOLD_MIN_NS;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];
		/* The other threads' requests: all of them (g->forced) but its own. */
		uint64_t asked = g->forced - t->gil.forced;

		if (t->gil.hold_max < limit || !asked)
			continue;
		say_thread(
			g, found, t->gil.hold_max,
			"thread %u (%s) held the GIL for %.0f ms at once while other threads asked for it %llu times: a C call that keeps the GIL (no Py_BEGIN_ALLOW_THREADS) starves them; release the GIL in that code, or run it in a process",
			t->tid, rpt_thread_name(t), (double)t->gil.hold_max / 1e6,
			(unsigned long long)asked);
	}
}

/*
 * The released time, busy, split three ways: in syscalls other than futex
 * (blocked, or on a CPU: I/O), native code (on a CPU in user space), and
 * what neither covers: futex calls on a CPU, and the kernel outside
 * syscalls, which under the uprobe tiers is mostly the probes' own
 * handling (uprobe_notify_resume, the return from the breakpoint: 20% of
 * the socket ping-pong's released time on a CPU with pyenv 3.12), not the
 * program's native code. Run-queue waits go with the on-CPU time in its
 * shares: a thread woken in recvfrom waits for a CPU in it. Without
 * samples the on-CPU time is not split: all native.
 */
struct rel_parts {
	uint64_t io; /* blocked or on a CPU in syscalls other than futex, and its run-queue share */
	uint64_t native; /* on a CPU in user space, and its run-queue share */
};

static struct rel_parts rel_parts(const struct rpt_gil *g)
{
	const struct rpt_gil_split *sp = &g->split;
	struct rel_parts r = { .io = g->rel_io_ns };
	uint64_t outside = sp->native_ns;

	if (!sp->samples) {
		r.native = g->rel_oncpu_ns + g->rel_runq_ns;
		return r;
	}
	r.io += g->rel_io_cpu_ns + share(g->rel_runq_ns, g->rel_io_cpu_ns, g->rel_oncpu_ns);
	r.native = outside + share(g->rel_runq_ns, outside, g->rel_oncpu_ns);
	return r;
}

/* The released syscalls that took the most time (futex aside), as "sendto 31%, recvfrom 22%". */
static const struct rpt_syscall *io_names(const struct rpt_gil *g, uint64_t busy, char *buf,
					  size_t len)
{
	const struct rpt_syscall *top = NULL;
	size_t used = 0, named = 0;
	char sys[32];

	buf[0] = 0;
	for (size_t i = 0; i < g->nrel_sys && named < 3; i++) {
		const struct rpt_syscall *s = &g->rel_sys[i];
		uint64_t t = s->blocked_ns + s->oncpu_ns;

		if (s->nr == CT_NR_FUTEX || !t || (named && t < busy / 20))
			continue;
		top = top ? top : s;
		used += (size_t)snprintf(buf + used, len - used, "%s%s %.0f%%", named ? ", " : "",
					 syscall_name(s->nr, sys, sizeof(sys)), pct(t, busy));
		named++;
		if (used >= len)
			break;
	}
	return top;
}

/* The I/O, native code, or both, that the released time went to. */
static void released_verdict(struct rpt_gil *g, uint64_t busy)
{
	struct rel_parts r = rel_parts(g);
	char names[160];
	const struct rpt_syscall *io = io_names(g, busy, names, sizeof(names));

	if (r.io >= busy / 2 && io) {
		say(g, r.io,
		    "I/O-bound threads: %.0f%% of their busy time they were in syscalls with the GIL released (blocked %.0f%%, running or waiting for a CPU in them %.0f%%), most in %s; the GIL was held only %.0f%% of the time: threads (or asyncio) are fine here",
		    pct(r.io, busy), pct(g->rel_io_ns, busy), pct(r.io - g->rel_io_ns, busy), names,
		    100 * g->held_fraction);
	} else if (r.native >= busy / 2) {
		char what[SNAP_SYM_LEN + 64] =
			"C code such as zlib or hashlib that releases the GIL";

		if (g->nnative && strcmp(g->native[0].name, "[unknown]"))
			snprintf(what, sizeof(what),
				 "C code that releases the GIL, most in %s (%.0f%% of its samples)",
				 g->native[0].name, pct(g->native[0].ns, g->split.native_ns));
		say(g, r.native,
		    "Native code runs in parallel: %.0f%% of their busy time the threads ran (or waited for a CPU) with the GIL released %s: %s; parallelism %.2f: threads are fine here%s",
		    pct(r.native, busy),
		    g->split.samples ?
			    "outside syscalls" :
			    "and no blocking syscall (not split from non-blocking ones: no samples)",
		    what, g->parallelism,
		    g->rel_runq_ns > g->rel_oncpu_ns / 2 ?
			    ", up to the number of CPUs (they also waited for one)" :
			    "");
	} else if (r.io + r.native >= busy / 2 && io) {
		say(g, r.io + r.native,
		    "I/O and native code mix: with the GIL released, %.0f%% of their busy time went to syscalls (most in %s) and %.0f%% to native code outside syscalls; the GIL was held %.0f%% of the time: threads are fine here",
		    pct(r.io, busy), names, pct(r.native, busy), 100 * g->held_fraction);
	} else if (g->avg_waiting >= 0.5 && g->takes_per_s >= HANDOFF_BOUND_PER_S && io &&
		   r.io > r.native) {
		/* Socket ping-pong on a quiet machine: the releases are I/O, the waits most. */
		say(g, g->wait_ns,
		    "I/O-bound threads wait for the GIL %.0f%% of their busy time although it is held only %.0f%% of the time: %.0f handoffs per second between short releases for I/O (%.0f%% of their busy time, most in %s) cost more than the work they allow; fewer, larger I/O calls (or asyncio) would help",
		    pct(g->wait_ns, busy), 100 * g->held_fraction, g->takes_per_s, pct(r.io, busy),
		    names);
	} else if (g->avg_waiting >= 0.5 && g->takes_per_s >= HANDOFF_BOUND_PER_S) {
		say(g, g->wait_ns,
		    "Threads wait for the GIL %.0f%% of their busy time although it is held only %.0f%% of the time: %.0f handoffs per second between short releases cost more than the work they allow; fewer, larger I/O calls (or asyncio) would help",
		    pct(g->wait_ns, busy), 100 * g->held_fraction, g->takes_per_s);
	}
}

/* A thread blocked in a syscall while holding the GIL starves the others. */
static void held_blocks(struct rpt_gil *g, const struct rpt_process *p, size_t *found)
{
	char sys[32];

	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];

		for (size_t j = 0; j < t->gil.nheld_sys; j++) {
			const struct rpt_syscall *s = &t->gil.held_sys[j];

			if (s->blocked_ns < LONG_HELD_BLOCK_NS || s->nr == CT_NR_FUTEX)
				continue;
			say_thread(
				g, found, s->blocked_ns,
				"thread %u (%s) was blocked %.0f ms in %s while holding the GIL: no other Python thread could run meanwhile; release the GIL around that call (Py_BEGIN_ALLOW_THREADS) or move it out of the thread",
				t->tid, rpt_thread_name(t), (double)s->blocked_ns / 1e6,
				syscall_name(s->nr, sys, sizeof(sys)));
		}
	}
}

static void verdict(struct rpt_gil *g, const struct rpt_process *p)
{
	uint64_t busy = ct_delta(g->hold_ns + g->wait_ns + g->rel_ns, g->rel_sync_ns);
	size_t found = 0;

	if (busy < VERDICT_MIN_NS)
		return;
	event_loops(g, p, &found);
	long_holds(g, p, &found);
	if (g->nthreads < 2)
		return;
	held_blocks(g, p, &found);
	if (g->held_fraction >= 0.8 && g->avg_waiting >= 0.5) {
		say(g, g->wait_ns,
		    "CPU-bound threads serialised by the GIL: it was held %.0f%% of the time while %.1f threads waited for it on average, so Python code ran on one CPU at a time (parallelism %.2f). Use processes (multiprocessing, ProcessPoolExecutor) or native code that releases the GIL",
		    100 * g->held_fraction, g->avg_waiting, g->parallelism);
		return;
	}
	released_verdict(g, busy);
}

/*
 * A sampled address's function: its name without the offset
 * ("libz.so.1:deflate+0x5a"); in a file without a symbol for it (a static
 * function of a stripped library: "libz.so.1.2.13:0x5e03"), the file; in
 * an anonymous mapping (JIT code), its kind ("[anon]"); in no mapping,
 * "[unknown]" (symbols.h has the forms).
 */
static void function_of(char *dst, size_t len, const struct snap_sym *sym)
{
	const char *end;

	if (!sym || !strncmp(sym->name, "0x", 2)) {
		snprintf(dst, len, "[unknown]");
		return;
	}
	end = sym->found ? NULL : strstr(sym->name, ":0x");
	if (!end)
		end = strrchr(sym->name, '+');
	snprintf(dst, len, "%.*s", (int)(end ? (size_t)(end - sym->name) : strlen(sym->name)),
		 sym->name);
}

static int cmp_native_name(const void *a, const void *b)
{
	return strcmp(((const struct rpt_native *)a)->name, ((const struct rpt_native *)b)->name);
}

static void merge_native(void *kept, const void *other)
{
	((struct rpt_native *)kept)->samples += ((const struct rpt_native *)other)->samples;
}

static int cmp_native_samples(const void *a, const void *b)
{
	const struct rpt_native *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The window's samples of pid's native code (ct_native), by function, most
 * first: the first RPT_NATIVE_TOP kept, the rest summed; each function's
 * time is its share of the process's native_ns. 0 or -ENOMEM.
 */
static int native_functions(struct rpt_gil *g, uint32_t pid, const struct snapshot *cur,
			    const struct snapshot *prev)
{
	struct rpt_native *v = NULL, *r;
	size_t n = 0, cap = 0;
	uint64_t total = 0;

	g->native_absent = cur->natives_absent;
	for (size_t i = snapshot_native_from(cur, pid);
	     i < cur->nnatives && cur->natives[i].key.tgid == pid; i++) {
		const struct snap_native *e = &cur->natives[i];
		const struct snap_native *o = prev ? snapshot_find_native(prev, &e->key) : NULL;
		const struct snap_sym *sym;
		uint64_t d = ct_delta(e->samples, o ? o->samples : 0);

		if (!d)
			continue;
		r = vec_push(v, n, cap);
		if (!r) {
			free(v);
			return -ENOMEM;
		}
		sym = snapshot_find_sym(cur, pid, SNAP_SYM_CODE, e->key.ip);
		function_of(r->name, sizeof(r->name), sym);
		r->found = sym && sym->found;
		r->samples = d;
		total += d;
	}
	n = vec_uniq(v, n, cmp_native_name, merge_native);
	if (n)
		qsort(v, n, sizeof(*v), cmp_native_samples);
	for (size_t i = 0; i < n; i++) {
		v[i].ns = share(g->split.native_ns, v[i].samples, total);
		if (i >= RPT_NATIVE_TOP) {
			g->native_other += v[i].samples;
			g->native_other_ns += v[i].ns;
		}
	}
	g->native = v;
	g->nnative = n < RPT_NATIVE_TOP ? n : RPT_NATIVE_TOP;
	return 0;
}

bool gil_version_supported(const char *version)
{
	unsigned int major, minor;
	char end;

	if (sscanf(version, "%u.%u%c", &major, &minor, &end) != 2)
		return false;
	return major == 3 && minor >= 8 && minor <= 13;
}

int gil_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rpt_process *p = &r->procs[i];
		const struct rpt_gil_info *gi = info_of(r->meta, p->pid);
		struct rpt_gil *g;

		if (!gi)
			continue;
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		p->gil = g;
		g->info = *gi;
		for (size_t j = 0; j < p->nthreads; j++)
			thread_gil(&p->threads[j], gi, cur, prev);
		if (samples_decide(gi, cur))
			divide_oncpu(p);
		for (size_t j = 0; j < p->nthreads; j++) {
			struct rpt_thread *t = &p->threads[j];

			if (!t->gil.seen)
				continue;
			g->nthreads++;
			g->hold_ns += t->gil.hold_ns;
			g->wait_ns += t->gil.wait_ns;
			g->takes += t->gil.takes;
			g->waits += t->gil.waits;
			g->forced += t->gil.forced;
			g->rel_ns += t->gil.rel_ns;
			g->rel_blocked_ns += t->gil.rel_blocked_ns;
			g->rel_runq_ns += t->gil.rel_runq_ns;
			g->rel_oncpu_ns += t->gil.rel_oncpu_ns;
			split_add(&g->split, &t->gil.split);
			if (syscalls_merge(&g->rel_sys, &g->nrel_sys, t->gil.rel_sys,
					   t->gil.nrel_sys))
				return -ENOMEM;
		}
		if (g->nrel_sys)
			qsort(g->rel_sys, g->nrel_sys, sizeof(*g->rel_sys), cmp_sys_time);
		for (size_t j = 0; j < g->nrel_sys; j++) {
			if (g->rel_sys[j].nr == CT_NR_FUTEX) {
				g->rel_sync_ns += g->rel_sys[j].blocked_ns;
			} else {
				g->rel_io_ns += g->rel_sys[j].blocked_ns;
				g->rel_io_cpu_ns += g->rel_sys[j].oncpu_ns;
			}
		}
		if (native_functions(g, p->pid, cur, prev))
			return -ENOMEM;
		if (p->wall_ns) {
			double wall = (double)p->wall_ns;

			g->held_fraction = (double)g->hold_ns / wall;
			g->avg_waiting = (double)g->wait_ns / wall;
			g->takes_per_s = (double)g->waits / (wall / 1e9);
			g->parallelism = (double)(g->hold_ns + g->rel_oncpu_ns) / wall;
		}
		verdict(g, p);
	}
	return 0;
}

const char *rpt_gil_tier_name(enum rpt_gil_tier t)
{
	switch (t) {
	case RPT_GIL_UPROBES:
		return "uprobes";
	case RPT_GIL_LIBC:
		return "libc";
	case RPT_GIL_FUTEX:
		return "futex";
	default:
		return "none";
	}
}

static const struct {
	const char *name, *text;
} smp_classes[CT_SMP_CLASSES] = {
	[CT_SMP_OTHER] = { "unknown", "GIL not seen yet" },
	[CT_SMP_HELD] = { "held", "holding the GIL" },
	[CT_SMP_WAITING] = { "waiting", "waiting for the GIL" },
	[CT_SMP_NATIVE] = { "native", "GIL released, native code" },
	[CT_SMP_KERNEL] = { "kernel", "GIL released, in the kernel" },
	[CT_SMP_RUNNING] = { "running", "running" },
};

const char *rpt_smp_class_name(uint32_t cls)
{
	return cls < CT_SMP_CLASSES ? smp_classes[cls].name : "unknown";
}

const char *rpt_smp_class_text(uint32_t cls)
{
	return cls < CT_SMP_CLASSES ? smp_classes[cls].text : smp_classes[CT_SMP_OTHER].text;
}
