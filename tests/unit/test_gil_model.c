// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GIL model (gil_model, through model_build) from synthetic snapshots:
 * per-thread figures and their differences over an interval, the released
 * time's split, the process's sums and ratios, and each verdict with the
 * figures it cites; free-threaded and unprobed interpreters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/gil.h"
#include "model/gil.h"
#include "model/model.h"
#include "snapfake.h"

#define MS 1000000ULL
#define T0 1000ULL
#define WALL (1000 * MS) /* every snapshot here is 1 s after tracing began */
#define PID 100
#define GIL 0x7f0000001000ULL
#define NR_READ 0
#define NR_NANOSLEEP 230
#define NR_EPOLL 232

static struct rpt_gil_info info;
static struct report_meta meta;

static int setup(void **state)
{
	(void)state;
	memset(&info, 0, sizeof(info));
	info.pid = PID;
	snprintf(info.file, sizeof(info.file), "libpython3.12.so.1.0");
	snprintf(info.version, sizeof(info.version), "3.12");
	info.tier = RPT_GIL_UPROBES;
	info.addr = GIL;
	info.interval_us = 5000;
	fake_meta(&meta, PID, T0);
	meta.ngil = 1;
	meta.gil = &info;
	return 0;
}

/* A thread's GIL figures as the BPF side leaves them in its slot (in ms). */
struct gil_figs {
	uint64_t hold, wait, rel, runq, blocked; /* blocked: gil_rel_blocked_ns */
	uint64_t takes, waits, hold_max;
};

static struct ct_thread *py_thread(struct snapshot *s, uint32_t i, uint32_t tid, const char *comm,
				   const struct gil_figs *f)
{
	struct ct_thread *t = fake_thread(s, i, tid, PID, comm, T0);

	t->gil_state = CT_GIL_HELD;
	t->gil_ts = s->ts; /* nothing open: closing the snapshot adds nothing */
	t->gil_hold_ns = f->hold * MS;
	t->gil_hold_max = f->hold_max * MS;
	t->gil_wait_ns = f->wait * MS;
	t->gil_rel_ns = f->rel * MS;
	t->gil_rel_runq_ns = f->runq * MS;
	t->gil_rel_blocked_ns = f->blocked * MS;
	t->gil_takes = f->takes;
	t->gil_waits = f->waits;
	return t;
}

/* Blocked `ms` in syscall nr `blocks` times while the GIL was in state gil. */
static void py_block(struct snapshot *s, uint32_t slot, int nr, uint32_t gil, uint64_t blocks,
		     uint64_t ms)
{
	fake_sys(s, slot, ct_gil_sys_key(nr, gil), blocks, ms * MS);
}

static const struct rpt_thread *thread(const struct report *r, uint32_t tid)
{
	for (size_t i = 0; i < r->procs[0].nthreads; i++)
		if (r->procs[0].threads[i].tid == tid)
			return &r->procs[0].threads[i];
	return NULL;
}

static const struct rpt_syscall *sys_of(const struct rpt_syscall *v, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].nr == nr)
			return &v[i];
	return NULL;
}

/*
 * Four CPU-bound threads: each held the GIL 225 ms, waited 600 ms (40
 * times contended of 50 takes), and had it released 50 ms: 10 ms waiting
 * for a CPU, 10 ms blocked in futex, 10 ms in read, 20 ms running native
 * code. Thread 101 asked for a forced switch 10 times (timer-ended waits
 * on the GIL's condition variable words).
 */
static void cpu_bound(struct snapshot *s, uint64_t scale_pct)
{
	struct gil_figs f = { .hold = 225,
			      .wait = 600,
			      .rel = 50,
			      .runq = 10,
			      .blocked = 20,
			      .takes = 50,
			      .waits = 40,
			      .hold_max = 6 };
	struct snap_gilhist *h;

	f.hold = f.hold * scale_pct / 100;
	f.wait = f.wait * scale_pct / 100;
	f.rel = f.rel * scale_pct / 100;
	f.runq = f.runq * scale_pct / 100;
	f.blocked = f.blocked * scale_pct / 100;
	f.takes = f.takes * scale_pct / 100;
	f.waits = f.waits * scale_pct / 100;
	fake_init(s, T0 + WALL * scale_pct / 100, 5);
	for (uint32_t i = 0; i < 4; i++) {
		char comm[16];

		snprintf(comm, sizeof(comm), "t%u", i + 1);
		py_thread(s, i, PID + 1 + i, comm, &f);
		py_block(s, i, CT_NR_FUTEX, CT_GIL_RELEASED, 5, 10 * scale_pct / 100);
		py_block(s, i, NR_READ, CT_GIL_RELEASED, 5, 10 * scale_pct / 100);
	}
	fake_thread(s, 4, PID + 5, PID, "not-python", T0);
	s->gilhists = calloc(1, sizeof(*s->gilhists));
	s->ngilhists = 1;
	h = &s->gilhists[0];
	h->slot = 0;
	h->h.wait[ct_hist_index(15 * MS)] = (uint32_t)f.waits;
	fake_edge(s, PID, GIL + CT_GIL_COND, PID + 1, CT_WAKER_IRQ, 7 * scale_pct / 100, 35 * MS);
	fake_edge(s, PID, GIL + CT_GIL_COND + 4, PID + 1, CT_WAKER_IRQ, 3 * scale_pct / 100,
		  15 * MS);
	/* Not forced switches: a wake by a thread, the GIL's mutex, another process. */
	fake_edge(s, PID, GIL + CT_GIL_COND, PID + 1, PID + 2, 4, 1 * MS);
	fake_edge(s, PID, GIL + CT_GIL_MUTEX, PID + 1, CT_WAKER_IRQ, 4, 1 * MS);
	fake_edge(s, PID + 1000, GIL + CT_GIL_COND, PID + 1, CT_WAKER_IRQ, 4, 1 * MS);
	assert_int_equal(fake_close(s), 0);
}

static void test_cpu_bound(void **state)
{
	const struct rpt_thread *t;
	const struct rpt_gil *g;
	struct snapshot s;
	struct report r;

	(void)state;
	cpu_bound(&s, 100);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	g = r.procs[0].gil;
	assert_non_null(g);
	assert_string_equal(g->info.version, "3.12");
	assert_int_equal(g->nthreads, 4);
	t = thread(&r, PID + 1);
	assert_true(t->gil.seen);
	assert_int_equal(t->gil.hold_ns, 225 * MS);
	assert_int_equal(t->gil.wait_ns, 600 * MS);
	assert_int_equal(t->gil.takes, 50);
	assert_int_equal(t->gil.waits, 40);
	assert_int_equal(t->gil.rel_ns, 50 * MS);
	assert_int_equal(t->gil.rel_runq_ns, 10 * MS);
	assert_int_equal(t->gil.rel_blocked_ns, 20 * MS);
	assert_int_equal(t->gil.rel_oncpu_ns, 20 * MS); /* the rest */
	assert_int_equal(hist_count(&t->gil.wait_hist), 40);
	assert_int_equal(t->gil.forced, 10);
	assert_int_equal(thread(&r, PID + 2)->gil.forced, 0);
	assert_int_equal(hist_count(&thread(&r, PID + 2)->gil.wait_hist), 0);
	assert_false(thread(&r, PID + 5)->gil.seen);
	/* Released blocks by syscall, and in the thread's plain rows. */
	assert_int_equal(t->gil.nrel_sys, 2);
	assert_int_equal(sys_of(t->gil.rel_sys, t->gil.nrel_sys, NR_READ)->blocked_ns, 10 * MS);
	assert_int_equal(t->gil.nheld_sys, 0);
	assert_int_equal(sys_of(t->sys, t->nsys, CT_NR_FUTEX)->blocks, 5);

	assert_int_equal(g->hold_ns, 900 * MS);
	assert_int_equal(g->wait_ns, 2400 * MS);
	assert_int_equal(g->takes, 200);
	assert_int_equal(g->waits, 160);
	assert_int_equal(g->forced, 10);
	assert_int_equal(g->rel_ns, 200 * MS);
	assert_int_equal(g->rel_runq_ns, 40 * MS);
	assert_int_equal(g->rel_blocked_ns, 80 * MS);
	assert_int_equal(g->rel_oncpu_ns, 80 * MS);
	assert_int_equal(g->rel_sync_ns, 40 * MS); /* futex */
	assert_int_equal(g->rel_io_ns, 40 * MS);
	assert_int_equal(g->nrel_sys, 2);
	assert_int_equal(g->rel_sys[0].nr, NR_READ); /* equal times: by number */
	assert_int_equal(g->rel_sys[1].blocked_ns, 40 * MS);
	assert_float_equal(g->held_fraction, 0.9, 1e-9);
	assert_float_equal(g->avg_waiting, 2.4, 1e-9);
	assert_float_equal(g->takes_per_s, 160, 1e-9);
	assert_float_equal(g->parallelism, 0.98, 1e-9);
	assert_int_equal(g->nverdicts, 1);
	assert_string_equal(
		g->verdicts[0],
		"CPU-bound threads serialised by the GIL: it was held 90% of the time while 2.4 threads waited for it on average, so Python code ran on one CPU at a time (parallelism 0.98). Use processes (multiprocessing, ProcessPoolExecutor) or native code that releases the GIL");
	model_free(&r);
	snapshot_free(&s);
}

/* From 0.5 s to 1 s: half of everything; a slot reused by another thread counts whole. */
static void test_interval(void **state)
{
	const struct rpt_thread *t;
	struct snapshot a, b;
	struct report r;

	(void)state;
	cpu_bound(&a, 50);
	cpu_bound(&b, 100);
	a.threads[3].tid = 999; /* slot 3 held another thread then */
	snapshot_normalize(&a);
	assert_int_equal(model_build(&r, &meta, &b, &a), 0);
	t = thread(&r, PID + 1);
	assert_int_equal(t->gil.hold_ns, (225 - 112) * MS);
	assert_int_equal(t->gil.takes, 25);
	assert_int_equal(t->gil.rel_oncpu_ns, 10 * MS);
	assert_int_equal(hist_count(&t->gil.wait_hist), 20);
	assert_int_equal(t->gil.forced, 10 - (3 + 1)); /* 7 and 3 halved, rounded down */
	assert_int_equal(thread(&r, PID + 4)->gil.hold_ns, 225 * MS);
	assert_int_equal(thread(&r, PID + 4)->gil.takes, 50);
	model_free(&r);
	snapshot_free(&a);
	snapshot_free(&b);
}

/* A GIL state still open at the snapshot is closed into its figure; a dead thread's is not. */
static void test_close(void **state)
{
	struct gil_figs f = { 0 };
	struct snapshot s;

	(void)state;
	fake_init(&s, T0 + WALL, 4);
	py_thread(&s, 0, PID + 1, "h", &f)->gil_ts = T0 + WALL - 7 * MS;
	py_thread(&s, 1, PID + 2, "w", &f)->gil_state = CT_GIL_WAITING;
	s.threads[1].gil_ts = T0 + WALL - 5 * MS;
	py_thread(&s, 2, PID + 3, "r", &f)->gil_state = CT_GIL_RELEASED;
	s.threads[2].gil_ts = T0 + WALL - 3 * MS;
	py_thread(&s, 3, PID + 4, "d", &f)->gil_ts = T0;
	s.threads[3].state = CT_ST_DEAD;
	s.threads[3].end_ts = T0 + 1 * MS;
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(s.threads[0].gil_hold_ns, 7 * MS);
	assert_int_equal(s.threads[1].gil_wait_ns, 5 * MS);
	assert_int_equal(s.threads[2].gil_rel_ns, 3 * MS);
	assert_int_equal(s.threads[3].gil_hold_ns, 0);
	assert_int_equal(s.threads[0].gil_ts, T0 + WALL);
	snapshot_free(&s);
}

/* Three threads blocked in read most of the time, the GIL released. */
static void test_io_bound(void **state)
{
	struct gil_figs f = { .hold = 20, .wait = 5, .rel = 500, .blocked = 400, .takes = 9 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 3);
	for (uint32_t i = 0; i < 3; i++) {
		py_thread(&s, i, PID + 1 + i, "io", &f);
		py_block(&s, i, NR_READ, CT_GIL_RELEASED, 40, 400);
	}
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	/* Busy 1,575 ms, 1,200 of it in read: 76%; held 60 of 1,000 ms. */
	assert_int_equal(r.procs[0].gil->nverdicts, 1);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"I/O-bound threads: 76% of their busy time they were in syscalls with the GIL released (blocked 76%, running or waiting for a CPU in them 0%), most in read 76%; the GIL was held only 6% of the time: threads (or asyncio) are fine here");
	model_free(&r);
	snapshot_free(&s);
}

#define NR_SENDTO 44
#define NR_RECVFROM 45

/* Samples of released time on a CPU: in syscall nr (CT_SYS_NONE: user space), or kernel (-2). */
static void py_samples(struct snapshot *s, uint32_t slot, int nr, uint64_t n)
{
	struct ct_thread *t = &s->threads[slot];
	struct snap_sys *e;

	if (nr == CT_SYS_NONE) {
		t->gil_rel_smp_user += n;
		return;
	}
	if (nr == -2) {
		t->gil_rel_smp_kern += n;
		return;
	}
	t->gil_rel_smp_sys += n;
	/* The entry py_block made, if any: the snapshot is not sorted yet. */
	for (size_t i = 0; i < s->nsys; i++)
		if (s->sys[i].key.slot == slot &&
		    s->sys[i].key.nr == ct_gil_sys_key(nr, CT_GIL_RELEASED)) {
			s->sys[i].st.samples += n;
			return;
		}
	e = snapshot_add_sys(s, slot, ct_gil_sys_key(nr, CT_GIL_RELEASED));
	if (!e)
		abort();
	memset(&e->st, 0, sizeof(e->st));
	e->open = 0;
	e->st.samples = n;
}

/*
 * Socket ping-pong (issue 13): four threads whose send and recv did not
 * block, on a CPU with the GIL released 600 ms each, 100 ms of it waiting
 * for a CPU, 100 ms blocked in recvfrom. Their samples: 300 in sendto, 200
 * in recvfrom, 60 in user space, 40 in the kernel outside syscalls. It is
 * I/O, not native code (the verdict of main said "Native code ... no
 * syscall", 55%).
 */
static void test_socket_pingpong(void **state)
{
	struct gil_figs f = {
		.hold = 100, .wait = 20, .rel = 800, .runq = 100, .blocked = 100, .takes = 9
	};
	const struct rpt_thread_gil *tg;
	const struct rpt_syscall *send;
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 4);
	for (uint32_t i = 0; i < 4; i++) {
		py_thread(&s, i, PID + 1 + i, "pp", &f);
		py_block(&s, i, NR_RECVFROM, CT_GIL_RELEASED, 50, 100);
		py_samples(&s, i, NR_SENDTO, 300);
		py_samples(&s, i, NR_RECVFROM, 200);
		py_samples(&s, i, CT_SYS_NONE, 60);
		py_samples(&s, i, -2, 40);
	}
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	/* Each thread's 600 ms on a CPU: 500/600 in syscalls, 60/600 native, 40/600 kernel. */
	tg = &thread(&r, PID + 1)->gil;
	assert_int_equal(tg->rel_oncpu_ns, 600 * MS);
	assert_int_equal(tg->split.samples, 600);
	assert_int_equal(tg->split.sys_ns, 500 * MS);
	assert_int_equal(tg->split.kernel_ns, 40 * MS);
	assert_int_equal(tg->split.native_ns, 60 * MS);
	send = sys_of(tg->rel_sys, tg->nrel_sys, NR_SENDTO);
	assert_non_null(send);
	assert_int_equal(send->oncpu_ns, 300 * MS);
	assert_int_equal(send->blocked_ns, 0);
	assert_int_equal(r.procs[0].gil->split.sys_ns, 4 * 500 * MS);
	assert_int_equal(r.procs[0].gil->rel_io_cpu_ns, 4 * 500 * MS);
	/*
	 * Busy 4 x 920 ms. I/O: 400 blocked + 2,000 on a CPU + 2,000/2,400
	 * of 400 ms run-queue = 2,733 ms, 74%; sendto 1,200 ms, 33%;
	 * recvfrom 400 blocked + 800 on a CPU, 33%.
	 */
	assert_int_equal(r.procs[0].gil->nverdicts, 1);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"I/O-bound threads: 74% of their busy time they were in syscalls with the GIL released (blocked 11%, running or waiting for a CPU in them 63%), most in sendto 33%, recvfrom 33%; the GIL was held only 40% of the time: threads (or asyncio) are fine here");
	model_free(&r);
	snapshot_free(&s);
}

/*
 * Tier C's samples divide time on a CPU. A thread's events say: held 300
 * ms (20 of it queued, 30 blocked), waited 200 ms (150 blocked, 10
 * queued), released 500 ms (100 queued, 200 blocked); the kernel says it
 * ran 490 ms. Its 490 samples: 294 found the GIL its own, 49 found it in
 * take_gil, 98 in user space, 49 in sendto. So held 294 ms on a CPU (344
 * in all), waiting 49 (209), released 147 (447), split 98 native and 49
 * in sendto. Two threads of a millisecond each (a thread per request),
 * 1 and 0 samples: divided by their pool's shares, 1 of 1 held. In tier A
 * the same figures stand as the events say.
 */
static void test_futex_tier_samples_divide_oncpu(void **state)
{
	struct gil_figs f = {
		.hold = 300, .wait = 200, .rel = 500, .runq = 100, .blocked = 200, .takes = 50
	};
	struct gil_figs tiny = { .rel = 1 };
	const struct rpt_thread_gil *tg;
	struct ct_thread *t;
	struct snapshot s;
	struct report r;

	(void)state;
	info.tier = RPT_GIL_FUTEX;
	fake_init(&s, T0 + WALL, 3);
	t = py_thread(&s, 0, PID + 1, "srv", &f);
	t->oncpu_ns = 490 * MS;
	t->state_ts = s.ts; /* its figures are whole: nothing open */
	t->gil_hold_runq_ns = 20 * MS;
	t->gil_hold_blocked_ns = 30 * MS;
	t->gil_wait_runq_ns = 10 * MS;
	t->gil_wait_blocked_ns = 150 * MS;
	t->gil_rel_smp_held = 294;
	t->gil_rel_smp_taking = 49;
	py_samples(&s, 0, CT_SYS_NONE, 98);
	py_samples(&s, 0, NR_SENDTO, 49);
	for (uint32_t i = 1; i < 3; i++) {
		t = py_thread(&s, i, PID + 1 + i, "req", &tiny);
		t->oncpu_ns = MS;
		t->state_ts = s.ts;
		t->gil_state = CT_GIL_RELEASED;
	}
	s.threads[1].gil_rel_smp_held = 1;
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	tg = &thread(&r, PID + 1)->gil;
	assert_int_equal(tg->split.held_ns, 294 * MS);
	assert_int_equal(tg->split.taking_ns, 49 * MS);
	assert_int_equal(tg->hold_ns, 344 * MS);
	assert_int_equal(tg->wait_ns, 209 * MS);
	assert_int_equal(tg->rel_oncpu_ns, 147 * MS);
	assert_int_equal(tg->rel_ns, 447 * MS);
	assert_int_equal(tg->split.native_ns, 98 * MS);
	assert_int_equal(tg->split.sys_ns, 49 * MS);
	/* The short-lived ones: their pool's one sample found the GIL held. */
	for (uint32_t i = 2; i < 4; i++) {
		tg = &thread(&r, PID + i)->gil;
		assert_true(tg->seen);
		assert_int_equal(tg->hold_ns, MS);
		assert_int_equal(tg->rel_oncpu_ns, 0);
	}
	assert_int_equal(r.procs[0].gil->hold_ns, 346 * MS);
	model_free(&r);
	snapshot_free(&s);

	/* The exact tiers: the events stand. */
	info.tier = RPT_GIL_UPROBES;
	fake_init(&s, T0 + WALL, 1);
	t = py_thread(&s, 0, PID + 1, "srv", &f);
	t->oncpu_ns = 490 * MS;
	t->state_ts = s.ts;
	py_samples(&s, 0, CT_SYS_NONE, 98);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	tg = &thread(&r, PID + 1)->gil;
	assert_int_equal(tg->hold_ns, 300 * MS);
	assert_int_equal(tg->wait_ns, 200 * MS);
	assert_int_equal(tg->rel_oncpu_ns, 200 * MS);
	assert_int_equal(tg->split.held_ns, 0);
	model_free(&r);
	snapshot_free(&s);
}

/* zlib threads, sampled: nearly all their samples in user space stay native code. */
/* Two threads running zlib: 790 samples each in native code, `in_sys` in a syscall. */
static void zip_threads(struct snapshot *s, uint64_t in_sys)
{
	static const struct gil_figs f = { .hold = 50, .rel = 800, .takes = 3 };

	fake_init(s, T0 + WALL, 2);
	for (uint32_t i = 0; i < 2; i++) {
		py_thread(s, i, PID + 1 + i, "zip", &f);
		py_samples(s, i, CT_SYS_NONE, 790);
		if (in_sys)
			py_samples(s, i, -2, in_sys);
	}
}

static void test_native_sampled(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	zip_threads(&s, 10);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].gil->split.native_ns, 2 * 790 * MS);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"Native code runs in parallel: 93% of their busy time the threads ran (or waited for a CPU) with the GIL released outside syscalls: C code such as zlib or hashlib that releases the GIL; parallelism 1.70: threads are fine here");
	model_free(&r);
	snapshot_free(&s);
}

static void native_at(struct snapshot *s, uint64_t ip, uint64_t samples, const char *name,
		      int found)
{
	struct snap_native *e = snapshot_add_native(s);

	assert_non_null(e);
	e->key.tgid = PID;
	e->key.ip = ip;
	e->samples = samples;
	if (name)
		fake_sym(s, PID, SNAP_SYM_CODE, ip, name, found);
}

/*
 * Where the native code ran: addresses grouped by function (offsets cut),
 * a stripped library's addresses without a symbol by the library, an
 * address in no mapping apart; most first, each its share of the native
 * time; a window counts only its own samples; the verdict names the first.
 */
static void test_native_functions(void **state)
{
	const struct rpt_gil *g;
	struct snapshot s, o;
	struct report r;

	(void)state;
	zip_threads(&s, 0);
	native_at(&s, 0x7f0000005e03, 500, "libz.so.1.2.13:0x5e03", 0);
	native_at(&s, 0x7f0000004a26, 300, "libz.so.1.2.13:0x4a26", 0);
	native_at(&s, 0x7f0000001010, 200, "libz.so.1.2.13:adler32_z+0x10", 1);
	native_at(&s, 0x7f0000001040, 100, "libz.so.1.2.13:adler32_z+0x40", 1);
	native_at(&s, 0x1234, 50, "0x1234", 0);
	native_at(&s, 0x7f0000009000, 30, NULL, 0);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	g = r.procs[0].gil;
	assert_int_equal(g->nnative, 3);
	assert_string_equal(g->native[0].name, "libz.so.1.2.13");
	assert_int_equal(g->native[0].samples, 800);
	assert_false(g->native[0].found);
	/* All 790 samples of each thread native: its 800 ms released on a CPU. */
	assert_int_equal(g->native[0].ns, 2 * 800 * MS * 800 / 1180);
	assert_string_equal(g->native[1].name, "libz.so.1.2.13:adler32_z");
	assert_int_equal(g->native[1].samples, 300);
	assert_true(g->native[1].found);
	assert_string_equal(g->native[2].name, "[unknown]");
	assert_int_equal(g->native[2].samples, 80);
	assert_int_equal(g->native_other, 0);
	assert_non_null(strstr(g->verdicts[0], "C code that releases the GIL, most in "
					       "libz.so.1.2.13 (68% of its samples)"));
	model_free(&r);

	/* A window from o: only the samples since. */
	fake_init(&o, T0 + WALL / 2, 2);
	for (uint32_t i = 0; i < 2; i++)
		py_thread(&o, i, PID + 1 + i, "zip", &(struct gil_figs){ .takes = 1 });
	native_at(&o, 0x7f0000005e03, 500, NULL, 0);
	native_at(&o, 0x7f0000001010, 150, NULL, 0);
	assert_int_equal(fake_close(&o), 0);
	assert_int_equal(model_build(&r, &meta, &s, &o), 0);
	g = r.procs[0].gil;
	assert_string_equal(g->native[0].name, "libz.so.1.2.13");
	assert_int_equal(g->native[0].samples, 300);
	assert_string_equal(g->native[1].name, "libz.so.1.2.13:adler32_z");
	assert_int_equal(g->native[1].samples, 150);
	model_free(&r);
	snapshot_free(&o);
	snapshot_free(&s);
}

/* Half I/O, half native code: neither alone half the busy time; both named. */
static void test_io_native_mix(void **state)
{
	struct gil_figs f = { .hold = 100, .rel = 800, .takes = 3 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 2);
	for (uint32_t i = 0; i < 2; i++) {
		py_thread(&s, i, PID + 1 + i, "mix", &f);
		py_samples(&s, i, NR_READ, 400);
		py_samples(&s, i, CT_SYS_NONE, 400);
	}
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"I/O and native code mix: with the GIL released, 44% of their busy time went to syscalls (most in read 44%) and 44% to native code outside syscalls; the GIL was held 20% of the time: threads are fine here");
	model_free(&r);
	snapshot_free(&s);
}

/* Two threads running native code with the GIL released (zlib): parallel. */
static void test_native(void **state)
{
	struct gil_figs f = { .hold = 50, .rel = 800, .takes = 3 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 2);
	py_thread(&s, 0, PID + 1, "zip1", &f);
	py_thread(&s, 1, PID + 2, "zip2", &f);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_float_equal(r.procs[0].gil->parallelism, 1.7, 1e-9);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"Native code runs in parallel: 94% of their busy time the threads ran (or waited for a CPU) with the GIL released and no blocking syscall (not split from non-blocking ones: no samples): C code such as zlib or hashlib that releases the GIL; parallelism 1.70: threads are fine here");
	model_free(&r);
	snapshot_free(&s);

	/* The same, mostly waiting for a CPU: more threads than CPUs. */
	f.runq = 500;
	fake_init(&s, T0 + WALL, 2);
	py_thread(&s, 0, PID + 1, "zip1", &f);
	py_thread(&s, 1, PID + 2, "zip2", &f);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_non_null(strstr(r.procs[0].gil->verdicts[0],
			       "parallelism 0.70: threads are fine here, up to the number of CPUs "
			       "(they also waited for one)"));
	model_free(&r);
	snapshot_free(&s);
}

/* Short holds, long waits, 1,500 contended handoffs a second. */
static void test_handoff_storm(void **state)
{
	struct gil_figs f = {
		.hold = 200, .wait = 350, .rel = 150, .blocked = 100, .takes = 800, .waits = 750
	};
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 2);
	for (uint32_t i = 0; i < 2; i++) {
		py_thread(&s, i, PID + 1 + i, "h", &f);
		py_block(&s, i, NR_READ, CT_GIL_RELEASED, 700, 100);
	}
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_float_equal(r.procs[0].gil->takes_per_s, 1500, 1e-9);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"I/O-bound threads wait for the GIL 50% of their busy time although it is held only 40% of the time: 1500 handoffs per second between short releases for I/O (14% of their busy time, most in read 14%) cost more than the work they allow; fewer, larger I/O calls (or asyncio) would help");
	model_free(&r);
	snapshot_free(&s);
}

/* One hold of 150 ms (a C call that keeps the GIL) while another thread asked 12 times. */
static void test_long_c_call(void **state)
{
	struct gil_figs f = { .hold = 300, .wait = 10, .takes = 5, .hold_max = 150 };
	struct gil_figs g = { .hold = 100, .wait = 400, .takes = 50, .waits = 40, .hold_max = 5 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 2);
	py_thread(&s, 0, PID + 1, "crunch", &f);
	py_thread(&s, 1, PID + 2, "ui", &g);
	fake_edge(&s, PID, GIL + CT_GIL_COND, PID + 2, CT_WAKER_IRQ, 12, 60 * MS);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].gil->nverdicts, 1);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"thread 101 (crunch) held the GIL for 150 ms at once while other threads asked for it 12 times: a C call that keeps the GIL (no Py_BEGIN_ALLOW_THREADS) starves them; release the GIL in that code, or run it in a process");
	model_free(&r);

	/* 150 ms is under 20 switch intervals of 10 ms: not a long hold. */
	info.interval_us = 10000;
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].gil->nverdicts, 0);
	model_free(&r);
	snapshot_free(&s);
}

/* An asyncio loop (one Python thread) that sleeps 30 ms in time.sleep. */
static void test_event_loop(void **state)
{
	struct gil_figs f = { .hold = 60, .rel = 200, .blocked = 150, .takes = 14 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 1);
	py_thread(&s, 0, PID, "loop", &f);
	py_block(&s, 0, NR_EPOLL, CT_GIL_RELEASED, 10, 100);
	py_block(&s, 0, NR_NANOSLEEP, CT_GIL_RELEASED, 3, 30);
	py_block(&s, 0, NR_READ, CT_GIL_RELEASED, 2, 10);
	py_block(&s, 0, CT_NR_FUTEX, CT_GIL_RELEASED, 1, 10); /* not a stall of the loop */
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].gil->nverdicts, 1);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"thread 100 (loop) runs an event loop (it waited in epoll_wait 10 times) but also blocked 40 ms in other calls, most in clock_nanosleep (30 ms, 3 calls): while it blocks there, no task of the loop runs; use the loop's own waits (await asyncio.sleep, loop.run_in_executor for files)");
	model_free(&r);
	snapshot_free(&s);

	/* Four polls only: not a loop worth naming. */
	fake_init(&s, T0 + WALL, 1);
	py_thread(&s, 0, PID, "loop", &f);
	py_block(&s, 0, NR_EPOLL, CT_GIL_RELEASED, 4, 100);
	py_block(&s, 0, NR_NANOSLEEP, CT_GIL_RELEASED, 3, 30);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].gil->nverdicts, 0);
	model_free(&r);
	snapshot_free(&s);
}

/* A thread blocked 15 ms in read while holding the GIL (a 5 ms block and futex are not named). */
static void test_blocked_holding(void **state)
{
	struct gil_figs f = { .hold = 300, .wait = 100, .takes = 20, .waits = 10 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 2);
	py_thread(&s, 0, PID + 1, "a", &f);
	py_thread(&s, 1, PID + 2, "b", &f);
	py_block(&s, 1, NR_READ, CT_GIL_HELD, 3, 15);
	py_block(&s, 1, NR_NANOSLEEP, CT_GIL_HELD, 1, 5);
	py_block(&s, 0, CT_NR_FUTEX, CT_GIL_HELD, 9, 90);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(thread(&r, PID + 2)->gil.nheld_sys, 2);
	assert_int_equal(r.procs[0].gil->nverdicts, 1);
	assert_string_equal(
		r.procs[0].gil->verdicts[0],
		"thread 102 (b) was blocked 15 ms in read while holding the GIL: no other Python thread could run meanwhile; release the GIL around that call (Py_BEGIN_ALLOW_THREADS) or move it out of the thread");
	model_free(&r);
	snapshot_free(&s);
}

/* Under 100 ms of busy time, or one Python thread: no verdict, whatever the shape. */
static void test_thin_evidence(void **state)
{
	struct gil_figs f = { .hold = 30, .wait = 15, .takes = 5, .waits = 5 };
	struct gil_figs one = { .hold = 950, .wait = 0, .takes = 5 };
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + 50 * MS, 2);
	py_thread(&s, 0, PID + 1, "a", &f);
	py_thread(&s, 1, PID + 2, "b", &f);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	/* Held 60 of 50 ms, 0.6 threads waiting: CPU-bound by the ratios, on 90 ms of evidence. */
	assert_true(r.procs[0].gil->held_fraction >= 0.8);
	assert_int_equal(r.procs[0].gil->nverdicts, 0);
	model_free(&r);
	snapshot_free(&s);

	fake_init(&s, T0 + WALL, 1);
	py_thread(&s, 0, PID + 1, "a", &one);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_int_equal(r.procs[0].gil->nverdicts, 0);
	model_free(&r);
	snapshot_free(&s);
}

/* A free-threaded build, and an interpreter not probed: the process's GIL part says so, empty. */
static void test_no_gil_figures(void **state)
{
	struct snapshot s;
	struct report r;

	(void)state;
	info.free_threaded = true;
	info.tier = RPT_GIL_NONE;
	info.addr = 0;
	snprintf(info.version, sizeof(info.version), "3.13");
	snprintf(info.why, sizeof(info.why), "free-threaded build: no GIL");
	fake_init(&s, T0 + WALL, 3);
	fake_thread(&s, 0, PID, PID, "python3.13t", T0)->oncpu_ns = 900 * MS;
	fake_thread(&s, 1, PID + 1, PID, "worker", T0)->oncpu_ns = 900 * MS;
	fake_thread(&s, 2, 300, 300, "sh", T0);
	fake_lock_wait(fake_lock(&s, PID, 0x601000, CT_FUTEX_WAIT), 1 * MS, PID);
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	assert_non_null(r.procs[0].gil);
	assert_true(r.procs[0].gil->info.free_threaded);
	assert_int_equal(r.procs[0].gil->info.tier, RPT_GIL_NONE);
	assert_string_equal(r.procs[0].gil->info.why, "free-threaded build: no GIL");
	assert_int_equal(r.procs[0].gil->nthreads, 0);
	assert_int_equal(r.procs[0].gil->hold_ns, 0);
	assert_float_equal(r.procs[0].gil->held_fraction, 0, 0);
	assert_int_equal(r.procs[0].gil->nverdicts, 0);
	assert_false(r.procs[0].locks[0].gil); /* no GIL address: no word is the GIL's */
	assert_null(r.procs[1].gil); /* not a Python process */
	model_free(&r);
	snapshot_free(&s);
}

/*
 * Five CPU-bound threads, each blocked 20 ms in read while holding the GIL:
 * five findings about single threads, and the process's verdict, which
 * must not be crowded out of the report's RPT_VERDICTS lines.
 */
static void test_verdicts_overflow(void **state)
{
	struct gil_figs f = { .hold = 180, .wait = 700, .takes = 50, .waits = 40 };
	const struct rpt_gil *g;
	struct snapshot s;
	struct report r;

	(void)state;
	fake_init(&s, T0 + WALL, 5);
	for (uint32_t i = 0; i < 5; i++) {
		py_thread(&s, i, PID + 1 + i, "t", &f);
		py_block(&s, i, NR_READ, CT_GIL_HELD, 2, 20);
	}
	assert_int_equal(fake_close(&s), 0);
	assert_int_equal(model_build(&r, &meta, &s, NULL), 0);
	g = r.procs[0].gil;
	assert_int_equal(g->nverdicts, RPT_VERDICTS);
	assert_non_null(strstr(g->verdicts[0], "thread 101 (t) was blocked 20 ms in read"));
	assert_non_null(strstr(g->verdicts[1], "thread 102 (t) was blocked 20 ms in read"));
	/* The rest counted, not dropped in silence. */
	assert_string_equal(
		g->verdicts[2],
		"3 more findings about single threads are left out (a GIL held while blocked in a syscall, a long hold, an event loop's stall)");
	assert_non_null(
		strstr(g->verdicts[3], "CPU-bound threads serialised by the GIL: it was held 90%"));
	model_free(&r);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cpu_bound, setup),
		cmocka_unit_test_setup(test_interval, setup),
		cmocka_unit_test_setup(test_close, setup),
		cmocka_unit_test_setup(test_io_bound, setup),
		cmocka_unit_test_setup(test_native, setup),
		cmocka_unit_test_setup(test_socket_pingpong, setup),
		cmocka_unit_test_setup(test_native_sampled, setup),
		cmocka_unit_test_setup(test_native_functions, setup),
		cmocka_unit_test_setup(test_futex_tier_samples_divide_oncpu, setup),
		cmocka_unit_test_setup(test_io_native_mix, setup),
		cmocka_unit_test_setup(test_handoff_storm, setup),
		cmocka_unit_test_setup(test_long_c_call, setup),
		cmocka_unit_test_setup(test_event_loop, setup),
		cmocka_unit_test_setup(test_blocked_holding, setup),
		cmocka_unit_test_setup(test_thin_evidence, setup),
		cmocka_unit_test_setup(test_no_gil_figures, setup),
		cmocka_unit_test_setup(test_verdicts_overflow, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
