// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lock model (futex_model, through model_build) from synthetic
 * snapshots whose answer is known by construction: a lock's row, its
 * waiters, holders, chains and call sites, over the whole trace and over
 * an interval; waits in progress, deadlock cycles and joins; a condition
 * variable's two words as one row; the GIL's words; the serialising
 * verdict; --locks-min-wait; names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/futex.h"
#include "model/locks.h"
#include "model/model.h"
#include "snapfake.h"

#define MS 1000000ULL
#define T0 1000ULL /* tracing began */
#define PID 100
#define W1 101
#define W2 102
#define HOLDER 103
#define MUTEX 0x601040ULL
#define SITE_A 0x401120ULL
#define SITE_B 0x401180ULL
#define HSITE 0x401144ULL

static struct report_meta meta;

static int setup(void **state)
{
	(void)state;
	fake_meta(&meta, PID, T0);
	return 0;
}

static const struct rpt_lock *row(const struct report *r, size_t proc, uint64_t uaddr)
{
	const struct rpt_process *p = &r->procs[proc];

	for (size_t i = 0; i < p->nlocks; i++)
		if (p->locks[i].uaddr == uaddr)
			return &p->locks[i];
	return NULL;
}

/* The lock words and call sites of PID named as futex_name() would have. */
static void name_mutex(struct snapshot *s)
{
	fake_sym(s, PID, SNAP_SYM_DATA, MUTEX, "prog:queue_lock", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, SITE_A, "prog:worker+0x20", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, SITE_B, "prog:worker+0x80", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, HSITE, "prog:worker+0x44", 1);
}

/*
 * queue_lock, its waits ended by releases. By 6 ms (early): W1 waited 1 ms
 * and W2 2 ms, both for HOLDER. By 12 ms: W1 waited 3 times (1 ms each:
 * twice for HOLDER, once for W2), W2 twice (2 ms each, for HOLDER). The
 * holds: 2 of 4 ms by 6 ms, 4 of 10 ms by 12 ms; the lock had a waiter
 * 3 ms, then 8 ms.
 */
static void mutex_snapshot(struct snapshot *s, bool early)
{
	uint64_t k = early ? 1 : 2;
	struct ct_lock_stat *l;
	struct ct_edge_val *e;

	fake_init(s, T0 + (early ? 6 : 12) * MS, 3);
	fake_thread(s, 0, W1, PID, "w1", T0)->flags |= CT_TF_SEEDED;
	fake_thread(s, 1, W2, PID, "w2", T0)->flags |= CT_TF_SEEDED;
	fake_thread(s, 2, HOLDER, PID, "holder", T0)->flags |= CT_TF_SEEDED;
	l = fake_lock(s, PID, MUTEX, CT_FUTEX_WAIT);
	for (uint64_t i = 0; i < (early ? 1 : 3); i++)
		fake_lock_wait(l, 1 * MS, HOLDER);
	for (uint64_t i = 0; i < k; i++)
		fake_lock_wait(l, 2 * MS, HOLDER);
	l->holds = 2 * k;
	l->hold_ns = early ? 4 * MS : 10 * MS;
	l->hold_max = 3 * MS;
	l->busy_ns = early ? 3 * MS : 8 * MS;
	e = fake_edge(s, PID, MUTEX, W1, HOLDER, k, k * MS);
	e->holder_site = HSITE;
	e->waiter_site = SITE_A;
	if (!early) {
		e = fake_edge(s, PID, MUTEX, W1, W2, 1, 1 * MS);
		e->holder_site = HSITE;
		e->waiter_site = SITE_A;
	}
	e = fake_edge(s, PID, MUTEX, W2, HOLDER, k, 2 * k * MS);
	e->holder_site = HSITE;
	e->waiter_site = SITE_B;
	fake_site(s, PID, MUTEX, SITE_A, early ? 1 : 3, (early ? 1 : 3) * MS);
	fake_site(s, PID, MUTEX, SITE_B, k, 2 * k * MS);
	name_mutex(s);
	assert_int_equal(fake_close(s), 0);
}

static void check_party(const struct rpt_lock_party *p, uint32_t tid, const char *comm,
			uint64_t waits, uint64_t ns)
{
	assert_int_equal(p->tid, tid);
	assert_string_equal(p->comm, comm);
	assert_int_equal(p->waits, waits);
	assert_int_equal(p->wait_ns, ns);
}

static void check_chain(const struct rpt_lock_chain *c, uint32_t waiter, uint32_t holder,
			uint64_t waits, uint64_t ns, const char *waiter_site)
{
	assert_int_equal(c->waiter, waiter);
	assert_int_equal(c->holder, holder);
	assert_int_equal(c->waits, waits);
	assert_int_equal(c->wait_ns, ns);
	assert_string_equal(c->holder_site, "prog:worker+0x44");
	assert_string_equal(c->waiter_site, waiter_site);
}

static void test_mutex_whole_trace(void **state)
{
	const struct rpt_lock *l;
	struct snapshot s;
	struct report r;

	(void)state;
	mutex_snapshot(&s, false);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.nprocs, 1);
	assert_int_equal(r.procs[0].nlocks, 1);
	l = &r.procs[0].locks[0];
	assert_int_equal(l->uaddr, MUTEX);
	assert_string_equal(l->name, "prog:queue_lock");
	assert_true(l->named);
	assert_string_equal(futex_kind(l->op), "FUTEX_WAIT");
	assert_int_equal(l->waits, 5);
	assert_int_equal(l->wait_ns, 7 * MS);
	assert_int_equal(hist_count(&l->wait_hist), 5);
	assert_int_equal(l->wakes, 5);
	assert_int_equal(l->timeouts, 0);
	assert_int_equal(l->other_wakes, 0);
	assert_false(l->join);
	assert_int_equal(l->holds, 4);
	assert_int_equal(l->hold_ns, 10 * MS);
	assert_int_equal(l->contended_ns, 8 * MS);
	/* Waiters by wait time: W2 4 ms, W1 3 ms; holders by the wait they ended. */
	assert_int_equal(l->nwaiters, 2);
	check_party(&l->waiters[0], W2, "w2", 2, 4 * MS);
	check_party(&l->waiters[1], W1, "w1", 3, 3 * MS);
	assert_int_equal(l->nholders, 2);
	check_party(&l->holders[0], HOLDER, "holder", 4, 6 * MS);
	check_party(&l->holders[1], W2, "w2", 1, 1 * MS);
	assert_int_equal(l->nchains, 3);
	check_chain(&l->chains[0], W2, HOLDER, 2, 4 * MS, "prog:worker+0x80");
	check_chain(&l->chains[1], W1, HOLDER, 2, 2 * MS, "prog:worker+0x20");
	check_chain(&l->chains[2], W1, W2, 1, 1 * MS, "prog:worker+0x20");
	assert_string_equal(l->chains[0].waiter_comm, "w2");
	assert_string_equal(l->chains[0].holder_comm, "holder");
	assert_int_equal(l->nsites, 2);
	assert_string_equal(l->sites[0].name, "prog:worker+0x80");
	assert_int_equal(l->sites[0].wait_ns, 4 * MS);
	assert_string_equal(l->sites[1].name, "prog:worker+0x20");
	assert_int_equal(l->sites[1].waits, 3);
	/* Held at least 10 of the 12 ms while 7/12 threads waited on average: serialising. */
	assert_int_equal(r.procs[0].wall_ns, 12 * MS);
	assert_float_equal(l->held_fraction, 10.0 / 12, 1e-9);
	assert_float_equal(l->avg_waiting, 7.0 / 12, 1e-9);
	assert_true(l->serialising);
	assert_false(l->gil);
	assert_int_equal(l->nnow, 0);
	assert_int_equal(r.procs[0].ndeadlocks, 0);
	model_free(&r);
	snapshot_free(&s);
}

/* From 6 to 12 ms: the differences, ties broken by thread, chain and address. */
static void test_mutex_interval(void **state)
{
	const struct rpt_lock *l;
	struct snapshot a, b;
	struct report r;

	(void)state;
	mutex_snapshot(&a, true);
	mutex_snapshot(&b, false);
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	l = &r.procs[0].locks[0];
	assert_int_equal(l->waits, 3);
	assert_int_equal(l->wait_ns, 4 * MS);
	assert_int_equal(hist_count(&l->wait_hist), 3);
	assert_int_equal(l->wait_max, 2 * MS); /* since tracing began */
	assert_int_equal(l->holds, 2);
	assert_int_equal(l->hold_ns, 6 * MS);
	assert_int_equal(l->contended_ns, 5 * MS);
	assert_int_equal(l->nwaiters, 2);
	check_party(&l->waiters[0], W1, "w1", 2, 2 * MS);
	check_party(&l->waiters[1], W2, "w2", 1, 2 * MS);
	check_party(&l->holders[0], HOLDER, "holder", 2, 3 * MS);
	check_party(&l->holders[1], W2, "w2", 1, 1 * MS);
	assert_int_equal(l->nchains, 3);
	check_chain(&l->chains[0], W2, HOLDER, 1, 2 * MS, "prog:worker+0x80");
	check_chain(&l->chains[1], W1, W2, 1, 1 * MS, "prog:worker+0x20");
	check_chain(&l->chains[2], W1, HOLDER, 1, 1 * MS, "prog:worker+0x20");
	assert_int_equal(l->nsites, 2);
	assert_int_equal(l->sites[0].addr, SITE_A);
	assert_int_equal(l->sites[0].waits, 2);
	assert_int_equal(l->sites[1].addr, SITE_B);
	/* 6 ms of wall: held all of it, 4/6 threads waiting. */
	assert_float_equal(l->held_fraction, 1.0, 1e-9);
	assert_true(l->serialising);
	model_free(&r);

	/* Against itself: nothing happened, the row is left out. */
	assert_int_equal(model_build(&r, &meta, &b, &b), 0);
	assert_int_equal(r.procs[0].nlocks, 0);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* A lock held a small part of the time, or waited for by one thread, serialises nothing. */
static void test_not_serialising(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	mutex_snapshot(&s, false);
	/* The same figures over 100 ms of wall time: held 10%. */
	s.ts = T0 + 100 * MS;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_float_equal(r.procs[0].locks[0].held_fraction, 0.1, 1e-9);
	assert_false(r.procs[0].locks[0].serialising);
	model_free(&r);
	snapshot_free(&s);

	/* Over 12 ms but one waiter (its edges only). */
	mutex_snapshot(&s, false);
	s.nedges = 1;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].locks[0].nwaiters, 1);
	assert_false(r.procs[0].locks[0].serialising);
	model_free(&r);
	snapshot_free(&s);
}

/* Timers, exits and unseen wakers; --holds's exact holds; -S's retries; names without symbols. */
static void test_wake_kinds_and_names(void **state)
{
	const struct rpt_lock *l;
	struct ct_lock_stat *st;
	struct snapshot s;
	struct report r;

	(void)state;
	meta.holds = true;
	fake_init(&s, T0 + 100 * MS, 2);
	fake_thread(&s, 0, PID, PID, "main", T0);
	fake_thread(&s, 1, W1, PID, "w1", T0);
	/* Heap mutex: 5 waits, 2 ended by a release, 1 by a timer, 2 otherwise. */
	st = fake_lock(&s, PID, 0x5000010ULL, CT_FUTEX_WAIT_BITSET);
	for (int i = 0; i < 5; i++)
		fake_lock_wait(st, 1 * MS, i < 2 ? W1 : i == 2 ? CT_WAKER_IRQ : CT_WAKER_UNKNOWN);
	st->xholds = 7;
	st->xhold_ns = 60 * MS;
	st->xhold_max = 20 * MS;
	st->hold_ns = 5 * MS;
	fake_edge(&s, PID, 0x5000010ULL, PID, CT_WAKER_IRQ, 1, 1 * MS);
	fake_edge(&s, PID, 0x5000010ULL, PID, CT_WAKER_UNKNOWN, 2, 2 * MS);
	fake_site(&s, PID, 0x5000010ULL, 0, 5, 5 * MS);
	fake_sym(&s, PID, SNAP_SYM_DATA, 0x5000010ULL, "[heap]+0x10", 0);
	/* A pthread_join: both waits ended by the thread's exit; no symbol at all. */
	st = fake_lock(&s, PID, 0x7f0000000910ULL, CT_FUTEX_WAIT);
	fake_lock_wait(st, 3 * MS, CT_WAKER_UNKNOWN);
	fake_lock_wait(st, 3 * MS, CT_WAKER_UNKNOWN);
	st->exit_wakes = 2;
	/* -S: a word only woken (no waiter slept on it) is not contended. */
	st = fake_lock(&s, PID, 0x601100ULL, CT_FUTEX_WAIT);
	st->wake_calls = 9;
	st->woken = 4;
	/* -S: retries only (the word changed before the wait): kept. */
	st = fake_lock(&s, PID, 0x601200ULL, CT_FUTEX_WAIT);
	st->retries = 3;
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].nlocks, 3);
	assert_null(row(&r, 0, 0x601100ULL));
	assert_int_equal(row(&r, 0, 0x601200ULL)->retries, 3);

	l = row(&r, 0, 0x5000010ULL);
	assert_string_equal(l->name, "0x5000010 [heap]");
	assert_false(l->named);
	assert_string_equal(futex_kind(l->op), "FUTEX_WAIT_BITSET");
	assert_int_equal(l->wakes, 2);
	assert_int_equal(l->timeouts, 1);
	assert_int_equal(l->other_wakes, 2);
	assert_true(l->exact);
	assert_int_equal(l->xholds, 7);
	/* Held at least the exact holds' 60 of 100 ms. */
	assert_float_equal(l->held_fraction, 0.6, 1e-9);
	assert_string_equal(l->holders[0].comm, "[unknown]");
	assert_string_equal(l->holders[1].comm, "[timer]");
	assert_string_equal(l->sites[0].name, "(call site not found)");

	l = row(&r, 0, 0x7f0000000910ULL);
	assert_string_equal(l->name, "0x7f0000000910");
	assert_true(l->join);
	assert_int_equal(l->exit_wakes, 2);
	/* The rows by total wait: the join's 6 ms, the heap mutex's 5 ms, the retries. */
	assert_int_equal(r.procs[0].locks[0].uaddr, 0x7f0000000910ULL);
	assert_int_equal(r.procs[0].locks[2].uaddr, 0x601200ULL);
	model_free(&r);

	/* --locks-min-wait 5.5 ms: only the join is left. */
	meta.locks_min_wait_ns = 5500000;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].nlocks, 1);
	assert_int_equal(r.procs[0].locks[0].uaddr, 0x7f0000000910ULL);
	model_free(&r);
	snapshot_free(&s);
}

static void test_futex_kinds(void **state)
{
	static const struct {
		uint32_t op;
		const char *name;
	} kinds[] = {
		{ CT_FUTEX_WAIT, "FUTEX_WAIT" },
		{ CT_FUTEX_WAIT_BITSET, "FUTEX_WAIT_BITSET" },
		{ CT_FUTEX_LOCK_PI, "FUTEX_LOCK_PI" },
		{ CT_FUTEX_LOCK_PI2, "FUTEX_LOCK_PI" },
		{ CT_FUTEX_WAIT_REQUEUE_PI, "FUTEX_WAIT_REQUEUE_PI" },
		{ CT_FUTEX_OP_WAITV, "futex_waitv" },
		{ CT_FUTEX_OP_WAIT2, "futex_wait" },
		{ CT_FUTEX_WAKE, "futex" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		assert_string_equal(futex_kind(kinds[i].op), kinds[i].name);
}

#define LOCK_X 0x601400ULL
#define LOCK_Y 0x601440ULL
#define LOCK_Z 0x601480ULL
#define A 201
#define B 202
#define C 203
#define D 204
#define E 205
#define F 206
#define G 207

/*
 * Waits in progress at 50 ms: A waits for X, which B owns, and B for Y,
 * which A owns (a deadlock); E waits for X too; C joins D (its tid word);
 * F waits for Z, owner unknown, since before tracing began; G waits for a
 * mutex it owns itself. X has ended waits in the table as well.
 */
static void stuck_snapshot(struct snapshot *s, uint64_t ts)
{
	struct ct_lock_stat *l;
	struct ct_thread *t;

	fake_init(s, ts, 8);
	fake_thread(s, 0, PID, PID, "main", T0);
	fake_futex_wait(fake_thread(s, 1, A, PID, "a", T0), LOCK_X, CT_FUTEX_WAIT, T0 + 10 * MS,
			SITE_A, B, 1);
	fake_futex_wait(fake_thread(s, 2, B, PID, "b", T0), LOCK_Y, CT_FUTEX_WAIT, T0 + 20 * MS,
			SITE_B, A, 1);
	fake_futex_wait(fake_thread(s, 3, C, PID, "c", T0), 0x7f00000009d0ULL, CT_FUTEX_WAIT,
			T0 + 5 * MS, 0, D, 0);
	fake_thread(s, 4, D, PID, "d", T0);
	fake_futex_wait(fake_thread(s, 5, E, PID, "e", T0), LOCK_X, CT_FUTEX_WAIT, T0 + 40 * MS,
			SITE_A, B, 1);
	t = fake_thread(s, 6, F, PID, "f", T0);
	t->flags |= CT_TF_SEEDED;
	fake_futex_wait(t, LOCK_Z, CT_FUTEX_WAIT, T0, 0, 0, 1);
	fake_futex_wait(fake_thread(s, 7, G, PID, "g", T0), 0x601500ULL, CT_FUTEX_WAIT,
			T0 + 45 * MS, 0, G, 1);
	l = fake_lock(s, PID, LOCK_X, CT_FUTEX_WAIT);
	fake_lock_wait(l, 1 * MS, B);
	fake_edge(s, PID, LOCK_X, E, B, 1, 1 * MS);
	fake_sym(s, PID, SNAP_SYM_DATA, LOCK_X, "prog:lock_x", 1);
	fake_sym(s, PID, SNAP_SYM_DATA, LOCK_Y, "prog:lock_y", 1);
	fake_sym(s, PID, SNAP_SYM_CODE, SITE_A, "prog:take_x+0x10", 1);
	assert_int_equal(fake_close(s), 0);
}

static void test_waits_in_progress(void **state)
{
	const struct rpt_lock *l;
	const struct rpt_deadlock *d;
	struct snapshot s;
	struct report r;

	(void)state;
	stuck_snapshot(&s, T0 + 50 * MS);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	/* X, Y, Z, the join's word and G's: each with its waits in progress. */
	assert_int_equal(r.procs[0].nlocks, 5);
	l = row(&r, 0, LOCK_X);
	assert_int_equal(l->waits, 1);
	assert_int_equal(l->nnow, 2);
	assert_int_equal(l->now[0].tid, A); /* longest first: 40 ms, then E's 10 ms */
	assert_int_equal(l->now[0].wait_ns, 40 * MS);
	assert_int_equal(l->now[0].owner, B);
	assert_string_equal(l->now[0].owner_comm, "b");
	assert_false(l->now[0].join);
	assert_string_equal(l->now[0].site, "prog:take_x+0x10");
	assert_int_equal(l->now[1].tid, E);
	assert_int_equal(l->now[1].wait_ns, 10 * MS);
	assert_int_equal(l->now_ns, 50 * MS);
	assert_true(l->deadlocked);
	assert_true(row(&r, 0, LOCK_Y)->deadlocked);
	assert_string_equal(row(&r, 0, LOCK_Y)->name, "prog:lock_y");
	assert_string_equal(row(&r, 0, LOCK_Y)->now[0].site, "0x401180"); /* no name known */

	l = row(&r, 0, 0x7f00000009d0ULL);
	assert_int_equal(l->nnow, 1);
	assert_int_equal(l->now[0].owner, D);
	assert_true(l->now[0].join);
	assert_false(l->deadlocked);

	l = row(&r, 0, LOCK_Z);
	assert_true(l->now[0].before);
	assert_int_equal(l->now[0].owner, 0);
	assert_int_equal(l->now[0].wait_ns, 50 * MS);
	assert_string_equal(l->now[0].site, "");

	/* Two cycles: A and B; G waiting for itself. Each once, from its smallest tid. */
	assert_int_equal(r.procs[0].ndeadlocks, 2);
	d = &r.procs[0].deadlocks[0];
	assert_int_equal(d->n, 2);
	assert_int_equal(d->m[0].tid, A);
	assert_string_equal(d->m[0].comm, "a");
	assert_string_equal(d->m[0].lock, "prog:lock_x");
	assert_int_equal(d->m[0].owner, B);
	assert_int_equal(d->m[1].tid, B);
	assert_string_equal(d->m[1].lock, "prog:lock_y");
	assert_int_equal(d->m[1].owner, A);
	d = &r.procs[0].deadlocks[1];
	assert_int_equal(d->n, 1);
	assert_int_equal(d->m[0].tid, G);
	assert_int_equal(d->m[0].owner, G);
	assert_true(row(&r, 0, 0x601500ULL)->deadlocked);
	/* Ranked by total wait with the waits in progress: Z (50 ms) and X (1 + 50 ms) first. */
	assert_int_equal(r.procs[0].locks[0].uaddr, LOCK_X);
	assert_int_equal(r.procs[0].locks[1].uaddr, LOCK_Z);
	model_free(&r);

	/* --locks-min-wait 1 s: the deadlocked locks stay, whatever their wait. */
	meta.locks_min_wait_ns = 1000 * MS;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].nlocks, 3);
	assert_null(row(&r, 0, LOCK_Z));
	model_free(&r);
	snapshot_free(&s);
}

/* In an interval, a wait in progress counts from the window's start for its row's rank. */
static void test_waits_in_progress_interval(void **state)
{
	struct snapshot a, b;
	struct report r;

	(void)state;
	stuck_snapshot(&a, T0 + 30 * MS);
	stuck_snapshot(&b, T0 + 50 * MS);
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	/* E began at 40 ms (after the window's start), A at 10 ms (before it). */
	assert_int_equal(row(&r, 0, LOCK_X)->now_ns, 20 * MS + 10 * MS);
	assert_int_equal(row(&r, 0, LOCK_X)->waits, 0);
	assert_int_equal(row(&r, 0, LOCK_X)->now[0].wait_ns, 40 * MS); /* its age */
	assert_int_equal(r.procs[0].ndeadlocks, 2);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* A thread that exited, or a slot whose tid was reused, has no wait in progress. */
static void test_stale_waits_ignored(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	stuck_snapshot(&s, T0 + 50 * MS);
	s.threads[5].end_ts = T0 + 45 * MS; /* E exited */
	s.threads[5].state = CT_ST_DEAD;
	s.threads[3].tid = G; /* C's slot: an older thread of G's tid */
	snapshot_normalize(&s);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(row(&r, 0, LOCK_X)->nnow, 1);
	assert_null(row(&r, 0, 0x7f00000009d0ULL));
	model_free(&r);
	snapshot_free(&s);
}

#define COND 0x601600ULL /* an 8-aligned pthread_cond_t */

/*
 * A condition variable's two group words (+0x28, +0x2c), waited on by
 * turns with FUTEX_WAIT_BITSET and never held: one row, named as the
 * cond. W1 waited on both (for HOLDER's signals), W2 on one.
 */
static void test_condvar_words(void **state)
{
	const struct rpt_lock *l;
	struct ct_lock_stat *st;
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + 100 * MS, 3);
	fake_thread(&s, 0, W1, PID, "w1", T0);
	fake_thread(&s, 1, W2, PID, "w2", T0);
	fake_thread(&s, 2, HOLDER, PID, "holder", T0);
	st = fake_lock(&s, PID, COND + 0x28, CT_FUTEX_WAIT_BITSET);
	fake_lock_wait(st, 2 * MS, HOLDER);
	fake_lock_wait(st, 3 * MS, HOLDER);
	fake_edge(&s, PID, COND + 0x28, W1, HOLDER, 1, 2 * MS);
	fake_edge(&s, PID, COND + 0x28, W2, HOLDER, 1, 3 * MS);
	fake_site(&s, PID, COND + 0x28, SITE_A, 2, 5 * MS);
	st = fake_lock(&s, PID, COND + 0x2c, CT_FUTEX_WAIT_BITSET);
	fake_lock_wait(st, 4 * MS, HOLDER);
	fake_edge(&s, PID, COND + 0x2c, W1, HOLDER, 1, 4 * MS);
	fake_site(&s, PID, COND + 0x2c, SITE_A, 1, 4 * MS);
	fake_sym(&s, PID, SNAP_SYM_DATA, COND + 0x28, "prog:work_cond+0x28", 1);
	fake_sym(&s, PID, SNAP_SYM_DATA, COND + 0x2c, "prog:work_cond+0x2c", 1);
	/* Two words 4 apart that are not a cond's: the first one is held (a mutex). */
	st = fake_lock(&s, PID, 0x601700ULL, CT_FUTEX_WAIT_BITSET);
	fake_lock_wait(st, 1 * MS, HOLDER);
	st->holds = 1;
	st = fake_lock(&s, PID, 0x601704ULL, CT_FUTEX_WAIT_BITSET);
	fake_lock_wait(st, 1 * MS, HOLDER);
	/* Nor are a word and the next one of another command. */
	fake_lock_wait(fake_lock(&s, PID, 0x601800ULL, CT_FUTEX_WAIT_BITSET), 1 * MS, HOLDER);
	fake_lock_wait(fake_lock(&s, PID, 0x601804ULL, CT_FUTEX_WAIT), 1 * MS, HOLDER);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].nlocks, 5);
	assert_null(row(&r, 0, COND + 0x2c));
	l = row(&r, 0, COND + 0x28);
	assert_true(l->condvar);
	assert_string_equal(l->name, "prog:work_cond");
	assert_int_equal(l->waits, 3);
	assert_int_equal(l->wait_ns, 9 * MS);
	assert_int_equal(hist_count(&l->wait_hist), 3);
	assert_int_equal(l->wakes, 3);
	/* W1's waits on both words are one party, one chain; the call site one row. */
	assert_int_equal(l->nwaiters, 2);
	check_party(&l->waiters[0], W1, "w1", 2, 6 * MS);
	check_party(&l->waiters[1], W2, "w2", 1, 3 * MS);
	assert_int_equal(l->nholders, 1);
	check_party(&l->holders[0], HOLDER, "holder", 3, 9 * MS);
	assert_int_equal(l->nchains, 2);
	assert_int_equal(l->chains[0].waiter, W1);
	assert_int_equal(l->chains[0].wait_ns, 6 * MS);
	assert_int_equal(l->nsites, 1);
	assert_int_equal(l->sites[0].waits, 3);
	assert_int_equal(l->sites[0].wait_ns, 9 * MS);
	assert_int_equal(l->holds, 0);
	assert_false(l->serialising);
	assert_false(row(&r, 0, 0x601700ULL)->condvar);
	assert_non_null(row(&r, 0, 0x601704ULL));
	assert_false(row(&r, 0, 0x601800ULL)->condvar);
	assert_non_null(row(&r, 0, 0x601804ULL));
	model_free(&r);
	snapshot_free(&s);
}

#define GIL 0x7f1234560000ULL

/* The words of a Python process's GIL (its struct's 256 bytes) are labelled in the lock table. */
static void test_gil_words(void **state)
{
	static const struct rpt_gil_info info = { .pid = PID, .version = "3.12", .addr = GIL };
	struct snapshot s;
	struct report r;

	(void)state;
	meta.ngil = 1;
	meta.gil = &info;
	fake_init(&s, T0 + 100 * MS, 1);
	fake_thread(&s, 0, PID, PID, "python3", T0);
	fake_lock_wait(fake_lock(&s, PID, GIL + CT_GIL_MUTEX, CT_FUTEX_WAIT), 1 * MS, PID);
	fake_lock_wait(fake_lock(&s, PID, GIL + CT_GIL_COND, CT_FUTEX_WAIT_BITSET), 1 * MS, PID);
	fake_lock_wait(fake_lock(&s, PID, GIL + 256, CT_FUTEX_WAIT), 1 * MS, PID);
	fake_lock_wait(fake_lock(&s, PID, GIL - 4, CT_FUTEX_WAIT), 1 * MS, PID);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_non_null(r.procs[0].gil);
	assert_true(row(&r, 0, GIL + CT_GIL_MUTEX)->gil);
	assert_true(row(&r, 0, GIL + CT_GIL_COND)->gil);
	assert_false(row(&r, 0, GIL + 256)->gil);
	assert_false(row(&r, 0, GIL - 4)->gil);
	model_free(&r);
	snapshot_free(&s);
}

/*
 * Tier C follows the GIL's words itself: their rows keep the counts, and
 * drop the chains, call sites and holds the probes found only for the
 * waits before the GIL's address was known. Another word keeps its own.
 */
static void test_gil_words_counted_in_tier_c(void **state)
{
	static const struct rpt_gil_info infos[] = {
		{ .pid = PID, .version = "3.12", .addr = GIL, .tier = RPT_GIL_FUTEX },
		{ .pid = PID, .version = "3.12", .addr = GIL, .tier = RPT_GIL_UPROBES },
	};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		bool futex = infos[i].tier == RPT_GIL_FUTEX;
		const struct rpt_lock *l;
		struct ct_lock_stat *st;
		struct snapshot s;
		struct report r;

		meta.ngil = 1;
		meta.gil = &infos[i];
		fake_init(&s, T0 + 100 * MS, 2);
		fake_thread(&s, 0, W1, PID, "w1", T0);
		fake_thread(&s, 1, W2, PID, "w2", T0);
		for (int j = 0; j < 2; j++) {
			uint64_t w = j ? MUTEX : GIL + CT_GIL_MUTEX;

			st = fake_lock(&s, PID, w, CT_FUTEX_WAIT);
			for (int k = 0; k < 10; k++)
				fake_lock_wait(st, 1 * MS, W2);
			st->holds = 1;
			st->hold_ns = 1 * MS;
			fake_edge(&s, PID, w, W1, W2, 2, 2 * MS)->waiter_site = SITE_A;
			fake_site(&s, PID, w, SITE_A, 2, 2 * MS);
		}
		name_mutex(&s);
		assert_int_equal(fake_close(&s), 0);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		l = row(&r, 0, GIL + CT_GIL_MUTEX);
		assert_true(l->gil);
		assert_int_equal(l->waits, 10);
		assert_int_equal(l->wait_ns, 10 * MS);
		assert_int_equal(l->nwaiters, futex ? 0 : 1);
		assert_int_equal(l->nchains, futex ? 0 : 1);
		assert_int_equal(l->nsites, futex ? 0 : 1);
		assert_int_equal(l->holds, futex ? 0 : 1);
		l = row(&r, 0, MUTEX);
		assert_false(l->gil);
		assert_int_equal(l->nwaiters, 1);
		assert_int_equal(l->nchains, 1);
		assert_int_equal(l->nsites, 1);
		assert_int_equal(l->holds, 1);
		model_free(&r);
		snapshot_free(&s);
	}
	meta.ngil = 0;
	meta.gil = NULL;
}

/* Two processes with a lock at the same address: each its own row. Without meta.locks, none. */
static void test_processes_apart(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + 100 * MS, 2);
	fake_thread(&s, 0, PID, PID, "main", T0);
	fake_thread(&s, 1, 300, 300, "child", T0);
	fake_lock_wait(fake_lock(&s, PID, MUTEX, CT_FUTEX_WAIT), 1 * MS, PID);
	fake_lock_wait(fake_lock(&s, 300, MUTEX, CT_FUTEX_WAIT), 2 * MS, 300);
	fake_lock_wait(fake_lock(&s, 300, MUTEX + 64, CT_FUTEX_WAIT), 2 * MS, 300);
	fake_edge(&s, 300, MUTEX, 300, 300, 1, 2 * MS);
	/* A lock of a process no thread of which is in the report. */
	fake_lock_wait(fake_lock(&s, 400, MUTEX, CT_FUTEX_WAIT), 2 * MS, 400);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.nprocs, 2);
	assert_int_equal(r.procs[0].nlocks, 1);
	assert_int_equal(r.procs[0].locks[0].wait_ns, 1 * MS);
	assert_int_equal(r.procs[0].locks[0].nwaiters, 0);
	assert_int_equal(r.procs[1].nlocks, 2);
	assert_int_equal(row(&r, 1, MUTEX)->nwaiters, 1);
	model_free(&r);

	meta.locks = false;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].nlocks, 0);
	model_free(&r);
	snapshot_free(&s);
}

/*
 * A lock contended without a break from 2 ms to past the end: two threads
 * blocked on it at each snapshot (nblocked), the episode open since 2 ms
 * (busy_since), 1 ms of an earlier episode closed. Its contended time is
 * what the snapshot's moment says, as every other open interval is: up to
 * 6 ms, then up to 12 ms; each interval's share no more than its length.
 */
static void busy_snapshot(struct snapshot *s, uint64_t ms)
{
	struct ct_lock_stat *l;

	fake_init(s, T0 + ms * MS, 3);
	fake_thread(s, 0, W1, PID, "w1", T0);
	fake_thread(s, 1, W2, PID, "w2", T0);
	fake_thread(s, 2, HOLDER, PID, "holder", T0);
	fake_futex_wait(&s->threads[0], MUTEX, CT_FUTEX_WAIT, T0 + 2 * MS, 0, HOLDER, 1);
	fake_futex_wait(&s->threads[1], MUTEX, CT_FUTEX_WAIT, T0 + 2 * MS, 0, HOLDER, 1);
	l = fake_lock(s, PID, MUTEX, CT_FUTEX_WAIT);
	fake_lock_wait(l, 1 * MS, HOLDER);
	l->busy_ns = 1 * MS;
	l->busy_since = T0 + 2 * MS;
	l->nblocked = 2;
	assert_int_equal(fake_close(s), 0);
}

static void test_contended_up_to_snapshot(void **state)
{
	struct snapshot a, b;
	struct report r;

	(void)state;
	busy_snapshot(&a, 6);
	busy_snapshot(&b, 12);
	assert_int_equal(model_build(&r, &meta, &b, NULL), 0);
	assert_int_equal(r.procs[0].locks[0].contended_ns, (1 + 10) * MS);
	assert_float_equal(r.procs[0].locks[0].held_fraction, 11.0 / 12, 1e-9);
	model_free(&r);
	assert_int_equal(model_build(&r, &meta, &a, NULL), 0);
	assert_int_equal(r.procs[0].locks[0].contended_ns, (1 + 4) * MS);
	model_free(&r);
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_int_equal(r.procs[0].locks[0].contended_ns, 6 * MS);
	assert_float_equal(r.procs[0].locks[0].held_fraction, 1.0, 1e-9);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* A contended hold of 9 ms that ended in a 6 ms interval: held all of it, not 150%. */
static void test_held_at_most_all_the_time(void **state)
{
	struct snapshot a, b;
	struct report r;

	(void)state;
	mutex_snapshot(&a, true);
	mutex_snapshot(&b, false);
	b.locks[0].st.hold_ns = a.locks[0].st.hold_ns + 9 * MS;
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	assert_int_equal(r.procs[0].locks[0].hold_ns, 9 * MS);
	assert_float_equal(r.procs[0].locks[0].held_fraction, 1.0, 1e-9);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

#define SEM 0x601500ULL

/*
 * A semaphore used as a lock by three threads, one of which barges: HOLDER
 * releases it and takes it back before the waiter it woke runs, 80 times,
 * and waits for it itself twice, woken by W1. The waiters' waits are for
 * the value 0, so no rule of mutexes applies; the passes (a woken thread
 * waking the next) are 0.1 ms of 82 ms of waits. `futile` of the waits,
 * `futile_ns` in all, began at once after a wake, for the same value.
 */
static void barging_snapshot(struct snapshot *s, uint64_t futile, uint64_t futile_ns)
{
	struct ct_lock_stat *l;

	fake_init(s, T0 + 200 * MS, 3);
	fake_thread(s, 0, W1, PID, "w1", T0)->flags |= CT_TF_SEEDED;
	fake_thread(s, 1, W2, PID, "w2", T0)->flags |= CT_TF_SEEDED;
	fake_thread(s, 2, HOLDER, PID, "holder", T0)->flags |= CT_TF_SEEDED;
	l = fake_lock(s, PID, SEM, CT_FUTEX_WAIT_BITSET);
	for (int i = 0; i < 80; i++)
		fake_lock_wait(l, 1 * MS, HOLDER);
	for (int i = 0; i < 2; i++)
		fake_lock_wait(l, 1 * MS, W1);
	l->passes = 2;
	l->pass_ns = 100000;
	l->futile = futile;
	l->futile_ns = futile_ns;
	fake_edge(s, PID, SEM, W1, HOLDER, 40, 40 * MS);
	fake_edge(s, PID, SEM, W2, HOLDER, 40, 40 * MS);
	fake_edge(s, PID, SEM, HOLDER, W1, 2, 2 * MS);
	assert_int_equal(fake_close(s), 0);
}

static void test_barging_semaphore_is_a_lock(void **state)
{
	static const struct {
		uint64_t futile, futile_ns;
		enum rpt_wait_kind kind;
		enum rpt_kind_why why;
	} cases[] = {
		/* Woken by threads that wait on it too, but no pass explains the waits. */
		{ 0, 0, RPT_KIND_EVENT, RPT_WHY_SIGNALLERS },
		/* Many quick waits again, but short: consumers woken together. */
		{ 30, 1 * MS, RPT_KIND_EVENT, RPT_WHY_SIGNALLERS },
		{ 8, 8 * MS, RPT_KIND_EVENT, RPT_WHY_SIGNALLERS },
		/* Too few to tell: one consumer's idle wait. */
		{ 7, 50 * MS, RPT_KIND_EVENT, RPT_WHY_SIGNALLERS },
		/* A tenth of the waits were for a barging thread's next hold. */
		{ 8, 82 * MS / 10, RPT_KIND_LOCK, RPT_WHY_PEERS },
		{ 60, 60 * MS, RPT_KIND_LOCK, RPT_WHY_PEERS },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rpt_lock *l;
		struct snapshot s;
		struct report r;

		barging_snapshot(&s, cases[i].futile, cases[i].futile_ns);
		assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
		l = row(&r, 0, SEM);
		assert_non_null(l);
		assert_int_equal(l->waits, 82);
		assert_int_equal(l->kind, cases[i].kind);
		assert_int_equal(l->why, cases[i].why);
		model_free(&r);
		snapshot_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mutex_whole_trace, setup),
		cmocka_unit_test_setup(test_mutex_interval, setup),
		cmocka_unit_test_setup(test_not_serialising, setup),
		cmocka_unit_test_setup(test_wake_kinds_and_names, setup),
		cmocka_unit_test_setup(test_futex_kinds, setup),
		cmocka_unit_test_setup(test_waits_in_progress, setup),
		cmocka_unit_test_setup(test_waits_in_progress_interval, setup),
		cmocka_unit_test_setup(test_stale_waits_ignored, setup),
		cmocka_unit_test_setup(test_condvar_words, setup),
		cmocka_unit_test_setup(test_gil_words, setup),
		cmocka_unit_test_setup(test_gil_words_counted_in_tier_c, setup),
		cmocka_unit_test_setup(test_processes_apart, setup),
		cmocka_unit_test_setup(test_contended_up_to_snapshot, setup),
		cmocka_unit_test_setup(test_held_at_most_all_the_time, setup),
		cmocka_unit_test_setup(test_barging_semaphore_is_a_lock, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
