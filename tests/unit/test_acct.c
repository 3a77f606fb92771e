// SPDX-License-Identifier: GPL-2.0-only
/*
 * The accounting rules of bpf/acct.h, driven with synthetic event
 * sequences: a small model of the kernel (a thread's CPU and run-queue
 * counters, one clock) produces what the BPF side would read at each
 * switch, and the figures the rules give must add up to what happened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define CT_ACCT_HOOKS
#include "acct.h"

/* What the hooks were asked to do. */
struct calls {
	uint64_t waker_flushes, waker_counted; /* wakeups moved out, by waker */
	uint64_t runner_flushes, runner_ns; /* waits moved out, by runner */
	uint64_t blocked_flushes;
	uint64_t blocked_by_key[CT_GIL_SYS_BIAS * 4]; /* blocked time moved out, by key */
	uint64_t blocks_by_key[CT_GIL_SYS_BIAS * 4];
	uint64_t futex_ends, futex_blocks, exits;
	uint64_t block_ends, block_end_ns; /* blocks ended, and their time (a stack's weight) */
	uint64_t missed[2];
};

static inline void ct_hook_waker_flush(struct ct_thread *th, struct ct_rl_waker *e, void *hc)
{
	struct calls *c = hc;

	(void)th;
	c->waker_flushes++;
	c->waker_counted += e->count;
	e->count = 0;
}

static inline void ct_hook_runner_flush(struct ct_thread *th, struct ct_rl_runner *e, void *hc)
{
	struct calls *c = hc;

	(void)th;
	c->runner_flushes++;
	c->runner_ns += e->ns;
	e->waits = 0;
	e->ns = 0;
}

static inline void ct_hook_blocked_flush(struct ct_thread *th, struct ct_rl_sys *e, void *hc)
{
	struct calls *c = hc;

	(void)th;
	c->blocked_flushes++;
	c->blocked_by_key[e->nr] += e->ns;
	c->blocks_by_key[e->nr] += e->count;
	e->count = 0;
	e->ns = 0;
}

static inline void ct_hook_futex_wait_end(struct ct_thread *th, __u64 now, void *hc)
{
	(void)now;
	((struct calls *)hc)->futex_ends++;
	th->fx_uaddr = 0;
}

static inline void ct_hook_futex_block(struct ct_thread *th, int nr, __u64 now, void *hc)
{
	(void)th, (void)nr, (void)now;
	((struct calls *)hc)->futex_blocks++;
}

static inline void ct_hook_block_end(struct ct_thread *th, __u64 d, void *hc)
{
	struct calls *c = hc;

	(void)th;
	c->block_ends++;
	c->block_end_ns += d;
}

static inline void ct_hook_exit(struct ct_thread *th, __u64 now, void *hc)
{
	(void)th, (void)now;
	((struct calls *)hc)->exits++;
}

static inline void ct_hook_missed(enum ct_missed what, void *hc)
{
	((struct calls *)hc)->missed[what]++;
}

/* The kernel's side of one thread: its counters, as sched_switch would find them. */
struct sim {
	struct ct_thread th;
	struct calls c;
	uint64_t now;
	uint64_t exec, delay, arrival, nvcsw;
	uint64_t queued_at; /* the kernel enqueued it (woken or preempted) */
	int have_delay;
};

/* A thread forked at `start`: runnable until its first switch-in. */
static void sim_fork(struct sim *s, uint64_t start, int have_delay)
{
	memset(s, 0, sizeof(*s));
	s->have_delay = have_delay;
	s->now = start;
	s->queued_at = start;
	s->th.start_ts = s->th.state_ts = s->th.blk_ts = start;
	s->th.wait_ts = start;
	s->th.sys_nr = CT_SYS_NONE;
	s->th.blk_nr = CT_SYS_NONE;
	s->th.state = CT_ST_RUNNABLE;
}

static struct ct_kread sim_read(const struct sim *s)
{
	struct ct_kread k = {
		.exec = s->exec,
		.delay = s->have_delay ? s->delay : 0,
		.arrival = s->have_delay ? s->arrival : 0,
		.charged_until = s->now,
		.nvcsw = s->nvcsw,
		.have_delay = (__u32)s->have_delay,
	};

	return k;
}

/* It gets the CPU at t (queued since queued_at). `seen`: the switch-in event fires. */
static void sim_in(struct sim *s, uint64_t t, int seen)
{
	struct ct_kread k;

	s->delay += t - s->queued_at;
	s->arrival = t;
	s->now = t;
	if (!seen)
		return;
	k = sim_read(s);
	ct_acct_switch_in(&s->th, &k, t, &s->c);
	ct_acct_running(&s->th, t);
}

/* It leaves the CPU at t: how, and (to block) in which syscall. */
static __u64 sim_out(struct sim *s, uint64_t t, enum ct_out_how how, int nr)
{
	struct ct_kread k;

	s->exec += t - s->now;
	s->now = t;
	if (how == CT_OUT_BLOCK)
		s->nvcsw++;
	else
		s->queued_at = t;
	k = sim_read(s);
	k.how = how;
	k.blk_nr = nr;
	return ct_acct_switch_out(&s->th, &k, t, &s->c);
}

/* sched_waking at t, by waker tid (in task context). */
static void sim_wake(struct sim *s, uint64_t t, uint32_t waker)
{
	s->th.pend_waker_tid = waker;
	s->th.pend_waker_tgid = waker;
	s->th.wake_ts = t;
	s->th.wake_pending = 1;
	s->queued_at = t;
}

/* A snapshot at t: a closed copy of the slot, and what the hooks moved out of it. */
static struct ct_thread sim_snap(const struct sim *s, uint64_t t, struct calls *c)
{
	struct ct_thread copy = s->th;

	*c = s->c;
	ct_acct_close(&copy, t, c);
	return copy;
}

static uint64_t accounted(const struct ct_thread *t)
{
	return t->oncpu_ns + t->stolen_ns + t->runq_ns + t->blocked_ns;
}

/* Run, block in read, get woken, run, be preempted: each time where it belongs. */
static void block_wake_preempt(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 1000, 1);
	sim_in(&s, 1100, 1);
	sim_out(&s, 1300, CT_OUT_BLOCK, 0 /* read */);
	sim_wake(&s, 2000, 42);
	sim_in(&s, 2050, 1);
	sim_out(&s, 2200, CT_OUT_QUEUED, 0);
	t = sim_snap(&s, 2300, &c);
	assert_int_equal(t.oncpu_ns, 200 + 150);
	assert_int_equal(t.runq_ns, 100 + 50 + 100);
	assert_int_equal(t.blocked_ns, 700); /* switch-out at 1300 to the enqueue at 2000 */
	assert_int_equal(accounted(&t), 2300 - 1000);
	assert_int_equal(t.nvcsw, 1);
	assert_int_equal(t.nivcsw, 1);
	assert_int_equal(t.wakeups, 1);
	assert_int_equal(t.wakelat_sum, 50);
	assert_int_equal(t.wakelat_hist[ct_hist_index(50)], 1);
	/* The snapshot moved the caches out: one wakeup by 42, 700 ns in read. */
	assert_int_equal(c.waker_counted, 1);
	assert_int_equal(c.blocked_by_key[0], 700);
	assert_int_equal(c.blocks_by_key[0], 1);
	assert_int_equal(c.missed[CT_MISSED_WAKEUP] + c.missed[CT_MISSED_SWITCH_IN], 0);
	/* The slot itself is untouched by the snapshot. */
	assert_int_equal(s.th.runq_ns, 100 + 50);
	assert_int_equal(s.th.bl[0].count, 1);
}

/* A switch-out of a thread whose switch-in the kernel did not report. */
static void missed_switch_in(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 0, 1);
	sim_in(&s, 10, 1);
	sim_out(&s, 100, CT_OUT_BLOCK, 7 /* poll */);
	sim_wake(&s, 500, 9);
	sim_in(&s, 520, 0); /* not seen */
	sim_out(&s, 600, CT_OUT_QUEUED, 0);
	t = sim_snap(&s, 600, &c);
	assert_int_equal(c.missed[CT_MISSED_SWITCH_IN], 1);
	assert_int_equal(t.wakeups, 1);
	/* The kernel's clocks keep the times exact. */
	assert_int_equal(t.oncpu_ns, 90 + 80);
	assert_int_equal(t.blocked_ns, 400);
	assert_int_equal(t.runq_ns, 10 + 20);
	assert_int_equal(accounted(&t), 600);
	/* The run began its 80 ns of CPU before the switch-out: woken 20 ns before it. */
	assert_int_equal(t.wakelat_sum, 20);
	assert_int_equal(t.wakelat_max, 20);
}

/* A waking while it ran (it had not gone to sleep yet) ends no sleep. */
static void waking_that_ends_no_sleep(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 0, 1);
	sim_in(&s, 0, 1);
	sim_wake(&s, 50, 3);
	sim_out(&s, 100, CT_OUT_QUEUED, 0);
	assert_int_equal(s.th.wake_pending, 0);
	sim_in(&s, 130, 1);
	t = sim_snap(&s, 200, &c);
	assert_int_equal(t.wakeups, 0);
	assert_int_equal(t.runq_ns, 30);
	assert_int_equal(t.oncpu_ns, 170);
	assert_int_equal(c.missed[CT_MISSED_WAKEUP], 0);
}

/* Snapshots inside each state: blocked, woken and queued, running after a wakeup. */
static void snapshot_in_each_state(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 0, 1);
	sim_in(&s, 0, 1);
	s.th.sys_nr = 0; /* --syscalls: in read */
	sim_out(&s, 100, CT_OUT_BLOCK, 0);
	t = sim_snap(&s, 400, &c);
	assert_int_equal(t.blocked_ns, 300);
	assert_int_equal(t.sys_offcpu_ns, 300);
	assert_int_equal(c.blocked_by_key[0], 300);
	/* Woken at 500, still queued at 530. */
	sim_wake(&s, 500, 1);
	t = sim_snap(&s, 530, &c);
	assert_int_equal(t.blocked_ns, 400);
	assert_int_equal(t.runq_ns, 30);
	assert_int_equal(t.sys_offcpu_ns, 430);
	assert_int_equal(accounted(&t), 530);
	/* Running since 560: the block is settled at its switch-out, so the snapshot does it. */
	sim_in(&s, 560, 1);
	t = sim_snap(&s, 600, &c);
	assert_int_equal(t.blocked_ns, 400);
	assert_int_equal(t.runq_ns, 60);
	assert_int_equal(t.oncpu_ns, 100 + 40);
	assert_int_equal(accounted(&t), 600);
	assert_int_equal(c.blocked_by_key[0], 400);
}

/* Without the kernel's run_delay the run-queue wait is measured on our clock. */
static void without_run_delay(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 0, 0);
	sim_in(&s, 40, 1);
	sim_out(&s, 100, CT_OUT_BLOCK, 0);
	sim_wake(&s, 300, 2);
	sim_in(&s, 330, 1);
	sim_out(&s, 400, CT_OUT_QUEUED, 0);
	t = sim_snap(&s, 400, &c);
	assert_int_equal(t.runq_ns, 40 + 30);
	assert_int_equal(t.blocked_ns, 200); /* to the wakeup, not the switch-in */
	assert_int_equal(accounted(&t), 400);
}

/* Blocked time by syscall, kept in the slot for the thread's last CT_RL_SYS keys. */
static void blocked_run_length(void **state)
{
	static const int nrs[] = { 0, 0, 1, 1, 1, 0 };
	struct sim s;
	struct ct_thread t;
	struct calls c;
	uint64_t now = 0;

	(void)state;
	sim_fork(&s, 0, 1);
	sim_in(&s, 0, 1);
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		sim_out(&s, now += 10, CT_OUT_BLOCK, nrs[i]);
		sim_wake(&s, now += 100 * (i + 1), 5);
		sim_in(&s, now, 1);
	}
	/*
	 * Two keys by turns stay in the slot: nothing flushed; the last block
	 * (a read again) is settled at the next switch-out, here the snapshot's.
	 */
	assert_int_equal(s.c.blocked_flushes, 0);
	t = sim_snap(&s, now + 5, &c);
	assert_int_equal(c.blocked_by_key[0], 100 + 200 + 600);
	assert_int_equal(c.blocks_by_key[0], 3);
	assert_int_equal(c.blocked_by_key[1], 300 + 400 + 500);
	assert_int_equal(c.blocks_by_key[1], 3);
	assert_int_equal(t.blocked_ns, 2100);
	/* Each block's end weighs its stack (--stacks) by the time it counted. */
	assert_int_equal(c.block_ends, 6);
	assert_int_equal(c.block_end_ns, 2100);
	/* One waker, consecutive: counted in the slot, moved out once. */
	assert_int_equal(c.waker_flushes, 1);
	assert_int_equal(c.waker_counted, 6);
	/* Three more keys: the fifth moves the oldest entry's (key 0) out. */
	for (int nr = 2; nr < 5; nr++) {
		sim_out(&s, now += 10, CT_OUT_BLOCK, nr);
		sim_wake(&s, now += 1000, 5);
		sim_in(&s, now, 1);
	}
	sim_out(&s, now += 10, CT_OUT_QUEUED, 0);
	assert_int_equal(s.c.blocked_flushes, 1);
	assert_int_equal(s.c.blocked_by_key[0], 100 + 200 + 600);
	assert_int_equal(s.c.blocks_by_key[0], 3);
	/* The snapshot moves the other four out (its calls add to the slot's). */
	t = sim_snap(&s, now, &c);
	for (int nr = 1; nr < 5; nr++)
		assert_int_equal(c.blocks_by_key[nr], nr == 1 ? 3 : 1);
	assert_int_equal(c.blocks_by_key[0], 3);
	assert_int_equal(c.blocked_flushes, 1 + 4);
	assert_int_equal(t.blocked_ns, 2100 + 3000);
}

/*
 * Who had the CPU while it waited: the waits behind each of the last
 * CT_RL_RUNNERS runners add up in the slot; a ninth runner moves the entry
 * taken first out. A snapshot (a copy: the slot keeps them) moves them
 * all; the thread's exit leaves them in the slot, for the snapshots.
 */
static void runner_cache(void **state)
{
	static const uint32_t tids[] = { 7, 7, 8, 7, 9, 10, 11, 12, 13, 14, 15, 8 };
	struct sim s;
	struct ct_thread t;
	struct calls c;
	uint64_t total = 0;

	(void)state;
	assert_int_equal(CT_RL_RUNNERS, 8);
	sim_fork(&s, 0, 1);
	for (size_t i = 0; i < sizeof(tids) / sizeof(tids[0]); i++) {
		ct_acct_runner(&s.th, tids[i], tids[i] == 8 ? 2 : 1, 0, 10 * (i + 1), &s.c);
		total += 10 * (i + 1);
	}
	/* 7 (3 waits: 10 + 20 + 40) made room for 15; 8 found in its entry. */
	assert_int_equal(s.c.runner_flushes, 1);
	assert_int_equal(s.c.runner_ns, 70);
	assert_int_equal(s.th.rl_run[0].tid, 15);
	assert_int_equal(s.th.rl_run[0].waits, 1);
	assert_int_equal(s.th.rl_run[1].tid, 8);
	assert_int_equal(s.th.rl_run[1].waits, 2);
	assert_int_equal(s.th.rl_run[1].ns, 30 + 120);
	assert_int_equal(s.th.rl_run[1].tgid, 2);
	t = sim_snap(&s, 100, &c);
	assert_int_equal(c.runner_flushes, 1 + 8);
	assert_int_equal(c.runner_ns, total);
	for (int i = 0; i < CT_RL_RUNNERS; i++)
		assert_int_equal(t.rl_run[i].waits, 0);
	assert_int_equal(s.th.rl_run[1].ns, 150); /* the slot itself keeps its cache */
	ct_acct_exit(&s.th, 200, &s.c);
	assert_int_equal(s.c.runner_flushes, 1);
	t = sim_snap(&s, 300, &c);
	assert_int_equal(c.runner_flushes, 1 + 8);
	assert_int_equal(c.runner_ns, total);
}

/* The GIL: waiting, holding, released, and blocks and queue waits split by it. */
static void gil_states(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 0, 1);
	sim_in(&s, 0, 1);
	ct_gil_wait(&s.th, 10);
	sim_out(&s, 12, CT_OUT_BLOCK, 202 /* futex: in take_gil */);
	assert_true(s.th.flags & CT_TF_GIL_BLOCKED);
	sim_wake(&s, 30, 8);
	sim_in(&s, 31, 1);
	assert_int_equal(ct_gil_took(&s.th, 32), 22);
	/* A hold no other thread asked for is not the longest hold. */
	ct_gil_released(&s.th, 37);
	ct_gil_wait(&s.th, 37);
	ct_gil_took(&s.th, 37);
	s.th.flags |= CT_TF_GIL_WANTED; /* a forced switch request meanwhile */
	ct_gil_released(&s.th, 82);
	assert_false(s.th.flags & CT_TF_GIL_WANTED);
	sim_out(&s, 90, CT_OUT_BLOCK, 0); /* read, with the GIL released */
	sim_wake(&s, 190, 8);
	sim_in(&s, 200, 1);
	t = sim_snap(&s, 250, &c);
	assert_int_equal(t.gil_wait_ns, 22);
	assert_int_equal(t.gil_takes, 2);
	assert_int_equal(t.gil_waits, 1); /* it slept in take_gil: contended */
	assert_int_equal(t.gil_hold_ns, 50);
	assert_int_equal(t.gil_hold_max, 45);
	assert_int_equal(t.gil_rel_ns, 250 - 82);
	/* Released: the read's 100 ns and the 10 ns it then waited for a CPU. */
	assert_int_equal(t.gil_rel_blocked_ns, 100);
	assert_int_equal(t.gil_rel_runq_ns, 10);
	assert_int_equal(c.blocked_by_key[202 + CT_GIL_SYS_BIAS * CT_GIL_WAITING], 0);
	assert_int_equal(c.blocked_by_key[202], 18); /* waiting: not split */
	assert_int_equal(c.blocked_by_key[0 + CT_GIL_SYS_BIAS * CT_GIL_RELEASED], 100);
	/* A take seen only at its end (it began before tracing) counts no wait. */
	assert_true(ct_gil_took(&t, 260) == CT_NO_WAIT);
	assert_int_equal(t.gil_takes, 2);
}

/* A forked process's thread, as ct_fork_gil() makes it: it forked holding the GIL. */
static void sim_forked_python(struct sim *s)
{
	sim_fork(s, 0, 1);
	s->th.gil_state = CT_GIL_HELD;
	s->th.gil_ts = 0;
	s->th.flags |= CT_TF_GIL_FORKED;
	sim_in(s, 5, 1);
	/* Its first task (300 ns on a CPU), then a read for the next, released: unseen. */
	sim_out(s, 305, CT_OUT_BLOCK, 0);
	sim_wake(s, 1305, 8);
	sim_in(s, 1310, 1);
}

/*
 * A multiprocessing worker whose GIL probes came in after its first task:
 * its first GIL event is the next task's take. It held the GIL while not
 * blocked since its birth: the task and the queue waits around it, not the
 * read (it used to lose the whole hold, 1 run in 4-6), and from the take on
 * as any thread.
 */
static void gil_forked_first_take(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;
	uint64_t busy;

	(void)state;
	sim_forked_python(&s);
	busy = s.th.oncpu_ns + s.th.runq_ns;
	assert_int_equal(s.th.oncpu_ns, 300);
	t = sim_snap(&s, 1310, &c);
	assert_int_equal(t.gil_hold_ns, t.oncpu_ns + t.runq_ns);
	ct_gil_wait(&s.th, 1312);
	assert_false(s.th.flags & CT_TF_GIL_FORKED);
	assert_int_equal(s.th.gil_hold_ns, busy);
	ct_gil_took(&s.th, 1320);
	ct_gil_released(&s.th, 1400);
	assert_int_equal(s.th.gil_hold_ns, busy + 80);
	assert_int_equal(s.th.gil_wait_ns, 8);
	assert_int_equal(s.th.gil_rel_ns, 0);
}

/* Its first GIL event a drop: the read's 1000 ns are no hold (they used to be). */
static void gil_forked_first_drop(void **state)
{
	struct sim s;
	uint64_t busy;

	(void)state;
	sim_forked_python(&s);
	busy = s.th.oncpu_ns + s.th.runq_ns;
	ct_gil_released(&s.th, 1600);
	assert_int_equal(s.th.gil_hold_ns, busy + 290);
	assert_true(s.th.gil_hold_ns < 1000);
	assert_int_equal(s.th.gil_state, CT_GIL_RELEASED);
	/* A forked thread that exits before any GIL event: the same rule. */
	sim_forked_python(&s);
	sim_out(&s, 1410, CT_OUT_DEAD, 0);
	assert_int_equal(s.th.oncpu_ns, 400);
	assert_int_equal(s.th.gil_hold_ns, s.th.oncpu_ns + s.th.runq_ns);
}

/* The exit: the last run, no state left open; its caches stay for the snapshots. */
static void exit_closes(void **state)
{
	struct sim s;
	struct ct_thread t;
	struct calls c;

	(void)state;
	sim_fork(&s, 0, 1);
	sim_in(&s, 0, 1);
	sim_out(&s, 10, CT_OUT_BLOCK, 3);
	sim_wake(&s, 20, 4);
	sim_in(&s, 25, 1);
	ct_gil_wait(&s.th, 25);
	ct_gil_took(&s.th, 26);
	sim_out(&s, 60, CT_OUT_DEAD, 0);
	assert_int_equal(s.th.state, CT_ST_DEAD);
	assert_int_equal(s.th.end_ts, 60);
	assert_int_equal(s.c.exits, 1);
	/* Nothing moved out at the exit: the waker and the block stay cached. */
	assert_int_equal(s.c.waker_flushes, 0);
	assert_int_equal(s.c.blocked_flushes, 0);
	assert_int_equal(s.c.runner_flushes, 0);
	assert_int_equal(s.th.gil_hold_ns, 34);
	/* A snapshot long after moves them out, and changes nothing else. */
	t = sim_snap(&s, 10000, &c);
	assert_int_equal(accounted(&t), 60);
	assert_int_equal(t.gil_hold_ns, 34);
	assert_int_equal(c.waker_flushes, 1);
	assert_int_equal(c.waker_counted, 1);
	assert_int_equal(c.blocked_flushes, 1);
	assert_int_equal(c.blocked_by_key[3], 10);
	assert_int_equal(t.blocked_ns, 10);
	/* The slot keeps them for the next snapshot: each is a whole picture. */
	t = sim_snap(&s, 20000, &c);
	assert_int_equal(c.waker_counted, 1);
	assert_int_equal(c.blocked_by_key[3], 10);
}

/*
 * Random lives: every snapshot's figures add up to the time since the
 * thread's start, and never go down from one snapshot to the next.
 */
static void random_lives(void **state)
{
	(void)state;
	srand(12345);
	for (int life = 0; life < 2000; life++) {
		struct ct_thread prev = { 0 }, t;
		uint64_t now = (uint64_t)(rand() % 1000);
		int where = 1; /* 0 running, 1 queued, 2 blocked, 3 woken */
		struct sim s;
		struct calls c;

		sim_fork(&s, now, rand() % 4 != 0);
		for (int step = 0; step < 60 && s.th.state != CT_ST_DEAD; step++) {
			now += 1 + (uint64_t)(rand() % 500);
			switch (where) {
			case 0:
				if (rand() % 40 == 0) {
					sim_out(&s, now, CT_OUT_DEAD, 0);
				} else if (rand() % 2) {
					sim_out(&s, now, CT_OUT_QUEUED, 0);
					where = 1;
				} else {
					sim_out(&s, now, CT_OUT_BLOCK, rand() % 3);
					where = 2;
				}
				break;
			case 1:
			case 3:
				sim_in(&s, now, rand() % 10 != 0);
				where = 0;
				break;
			default:
				sim_wake(&s, now, (uint32_t)(rand() % 3));
				where = 3;
				break;
			}
			if (rand() % 3)
				continue;
			/* At the last event's time: the next one comes at least 1 ns later. */
			t = sim_snap(&s, now, &c);
			if (t.state != CT_ST_DEAD)
				assert_int_equal(accounted(&t), t.state_ts - t.start_ts);
			assert_true(t.oncpu_ns >= prev.oncpu_ns);
			assert_true(t.runq_ns >= prev.runq_ns);
			assert_true(t.blocked_ns >= prev.blocked_ns);
			assert_true(t.wakeups >= prev.wakeups);
			prev = t;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(block_wake_preempt),
		cmocka_unit_test(missed_switch_in),
		cmocka_unit_test(waking_that_ends_no_sleep),
		cmocka_unit_test(snapshot_in_each_state),
		cmocka_unit_test(without_run_delay),
		cmocka_unit_test(blocked_run_length),
		cmocka_unit_test(runner_cache),
		cmocka_unit_test(gil_states),
		cmocka_unit_test(gil_forked_first_take),
		cmocka_unit_test(gil_forked_first_drop),
		cmocka_unit_test(exit_closes),
		cmocka_unit_test(random_lives),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
