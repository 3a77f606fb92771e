// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reports of large snapshots are built in n log n time. Arrays grown one
 * element per realloc and linear lookups per element (a lock's row, a
 * lock's waiters and holders, a thread's wait in progress, a name already
 * known) made model building quadratic: 4,300 contended locks took 130-200
 * s under ASan on a fresh machine (issue 11 item 17). These inputs,
 * several times larger, take about a second each under ASan now, and
 * hours before: a test that outlives its alarm fails.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe/futex.h"
#include "model/locks.h"
#include "model/model.h"
#include "snapfake.h"
#include "probe/symbols.h"

/* Seconds a test may take: a second or two is expected, under ASan, on a loaded machine. */
#define BUDGET_S 30

#define PID 100
#define PID2 200
#define NWORKERS 3000 /* threads that wait for and hold the map's locks */
#define NLOCKS 12000 /* locks in the lock table */
#define NLOCKS2 1000 /* the second process's, at the same addresses */
#define NWAITING 6000 /* threads in a wait in progress, each on a lock of its own */
#define NCONDS 1000 /* condition variables: two words each, one row */
#define NSITES 500
#define CHAIN 8 /* waits in progress form chains of 8 threads; every other one a cycle */

#define LOCK_ADDR(i) (0x100000ULL + 16ULL * (i))
#define WAIT_ADDR(k) (0x10000000ULL + 16ULL * (k))
#define COND_ADDR(i) (0x20000000ULL + 64ULL * (i) + 0x28)
#define SITE_ADDR(i) (0x400000ULL + 16ULL * ((i) % NSITES))

#define TS 1000000000ULL

static struct report_meta meta;

static void too_slow(int sig)
{
	static const char msg[] =
		"test_scale: over the time budget: model building is not linear\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static int arm(void **state)
{
	(void)state;
	fake_meta(&meta, PID, 1000);
	signal(SIGALRM, too_slow);
	alarm(BUDGET_S);
	return 0;
}

static int disarm(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

static uint32_t worker_tid(uint32_t i)
{
	return PID + 1 + i % NWORKERS;
}

static uint32_t waiting_tid(uint32_t k)
{
	return PID + 1 + NWORKERS + k;
}

/*
 * The owner a waiting thread's mutex names: the next thread of its chain;
 * the last of an even chain names the first (a deadlock of CHAIN threads),
 * of an odd chain nobody.
 */
static uint32_t waiting_owner(uint32_t k)
{
	uint32_t chain = k / CHAIN, first = chain * CHAIN;

	if (k % CHAIN != CHAIN - 1)
		return waiting_tid(k + 1);
	return chain % 2 ? 0 : waiting_tid(first);
}

/* Lock i: two waits (1 us by one worker, 2 us by the next), both ended by a third. */
static void add_contended(struct snapshot *s, uint32_t pid, uint32_t i)
{
	struct ct_lock_stat *l = fake_lock(s, pid, LOCK_ADDR(i), CT_FUTEX_WAIT);
	uint32_t holder = worker_tid(i + 2);

	fake_lock_wait(l, 1000, holder);
	fake_lock_wait(l, 2000, holder);
	fake_edge(s, pid, LOCK_ADDR(i), worker_tid(i), holder, 1, 1000);
	fake_edge(s, pid, LOCK_ADDR(i), worker_tid(i + 1), holder, 1, 2000);
	fake_site(s, pid, LOCK_ADDR(i), SITE_ADDR(i), 2, 3000);
}

static void make_big(struct snapshot *s)
{
	uint32_t n = 1 + NWORKERS + NWAITING + 1, slot = 0;
	char comm[16];

	fake_init(s, TS, n);
	fake_thread(s, slot++, PID, PID, "main", 1000);
	for (uint32_t i = 0; i < NWORKERS; i++) {
		snprintf(comm, sizeof(comm), "w%u", i);
		fake_thread(s, slot++, worker_tid(i), PID, comm, 1000);
	}
	for (uint32_t k = 0; k < NWAITING; k++) {
		struct ct_thread *t;

		snprintf(comm, sizeof(comm), "b%u", k);
		t = fake_thread(s, slot++, waiting_tid(k), PID, comm, 1000);
		fake_futex_wait(t, WAIT_ADDR(k), CT_FUTEX_WAIT, TS - 5000, SITE_ADDR(k),
				waiting_owner(k), 1);
	}
	fake_thread(s, slot++, PID2, PID2, "other", 1000);
	for (uint32_t i = 0; i < NLOCKS; i++)
		add_contended(s, PID, i);
	for (uint32_t i = 0; i < NLOCKS2; i++)
		add_contended(s, PID2, i);
	for (uint32_t i = 0; i < NCONDS; i++) {
		for (uint64_t w = 0; w < 8; w += 4) {
			struct ct_lock_stat *l =
				fake_lock(s, PID, COND_ADDR(i) + w, CT_FUTEX_WAIT_BITSET);

			fake_lock_wait(l, 500, worker_tid(i));
			fake_edge(s, PID, COND_ADDR(i) + w, worker_tid(i + 1), worker_tid(i), 1,
				  500);
		}
	}
	assert_int_equal(fake_close(s), 0);
}

static const struct rpt_lock *row(const struct rpt_process *p, uint64_t uaddr)
{
	for (size_t i = 0; i < p->nlocks; i++)
		if (p->locks[i].uaddr == uaddr)
			return &p->locks[i];
	return NULL;
}

static void check_big(const struct report *r)
{
	const struct rpt_process *p = &r->procs[0], *p2 = &r->procs[1];
	const struct rpt_lock *l;
	size_t cycles = 0;

	assert_int_equal(p->pid, PID);
	assert_int_equal(p->nlocks, NLOCKS + NWAITING + NCONDS);
	assert_int_equal(p2->pid, PID2);
	assert_int_equal(p2->nlocks, NLOCKS2);
	/* Spot checks (row() is linear: a few only). */
	for (uint32_t i = 0; i < NLOCKS; i += NLOCKS / 7) {
		l = row(p, LOCK_ADDR(i));
		assert_non_null(l);
		assert_int_equal(l->waits, 2);
		assert_int_equal(l->wait_ns, 3000);
		assert_int_equal(l->nwaiters, 2);
		assert_int_equal(l->waiters[0].tid, worker_tid(i + 1)); /* the longer wait first */
		assert_int_equal(l->nholders, 1);
		assert_int_equal(l->holders[0].tid, worker_tid(i + 2));
		assert_int_equal(l->holders[0].waits, 2);
		assert_int_equal(l->holders[0].wait_ns, 3000);
		assert_int_equal(l->nchains, 2);
		assert_int_equal(l->nsites, 1);
		assert_int_equal(l->sites[0].addr, SITE_ADDR(i));
	}
	for (uint32_t k = 0; k < NWAITING; k += NWAITING / 7) {
		l = row(p, WAIT_ADDR(k));
		assert_non_null(l);
		assert_int_equal(l->nnow, 1);
		assert_int_equal(l->now[0].tid, waiting_tid(k));
		assert_int_equal(l->now[0].owner, waiting_owner(k));
		assert_int_equal(l->now[0].wait_ns, 5000);
		assert_int_equal(l->deadlocked, (k / CHAIN) % 2 == 0);
	}
	l = row(p, COND_ADDR(NCONDS / 2));
	assert_non_null(l);
	assert_true(l->condvar);
	assert_int_equal(l->waits, 2);
	assert_null(row(p, COND_ADDR(NCONDS / 2) + 4));
	/* One deadlock per even chain, of CHAIN threads, found once. */
	for (size_t i = 0; i < p->ndeadlocks; i++) {
		assert_int_equal(p->deadlocks[i].n, CHAIN);
		cycles++;
	}
	assert_int_equal(cycles, (NWAITING / CHAIN + 1) / 2);
}

static void test_big_model(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	make_big(&s);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	check_big(&r);
	model_free(&r);
	/* An interval against itself: every figure differenced to zero, waits in progress kept. */
	assert_int_equal(model_build(&r, &meta, &s, &s), 0);
	assert_int_equal(r.procs[0].nlocks, NWAITING);
	assert_int_equal(r.procs[0].ndeadlocks, (NWAITING / CHAIN + 1) / 2);
	model_free(&r);
	snapshot_free(&s);
}

#define NNAMED 50000

/* Every lock word and call site is named once, however many snapshots repeat it. */
static void test_names_once(void **state)
{
	struct symbolizer *sym = symbolizer_new();
	struct snapshot s, cache = { 0 };

	(void)state;
	assert_non_null(sym);
	fake_init(&s, TS, 1);
	fake_thread(&s, 0, PID, PID, "main", 1000);
	for (uint32_t i = 0; i < NNAMED; i++) {
		fake_lock(&s, PID, LOCK_ADDR(i), CT_FUTEX_WAIT);
		fake_site(&s, PID, LOCK_ADDR(i), 0x400000ULL + 16ULL * i, 1, 1);
	}
	assert_int_equal(fake_close(&s), 0);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(futex_name(&s, sym, NULL, &cache), 0);
		assert_int_equal(cache.nsyms, 2 * NNAMED);
		assert_int_equal(s.nsyms, 2 * NNAMED);
	}
	snapshot_normalize(&s);
	/* Not in any mapping of a process the symbolizer knows: named by the address. */
	assert_string_equal(snapshot_find_sym(&s, PID, SNAP_SYM_DATA, LOCK_ADDR(7))->name,
			    "0x100070");
	assert_false(snapshot_find_sym(&s, PID, SNAP_SYM_CODE, 0x400000ULL + 16ULL * 7)->found);
	snapshot_free(&s);
	snapshot_free(&cache);
	symbolizer_free(sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_big_model, arm, disarm),
		cmocka_unit_test_setup_teardown(test_names_once, arm, disarm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
