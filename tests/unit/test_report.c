// SPDX-License-Identifier: GPL-2.0-only
/* Text and JSON rendering of one report model. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "model/model.h"
#include "out/report_json.h"
#include "out/report_text.h"
#include "textrows.h"

static struct report_meta meta = {
	.version = "9.9.9",
	.kernel = "6.18.0-test",
	.hostname = "testhost",
	.ncpus = 2,
	.target_pid = 4242,
	.trace_start_ns = 0,
	.trace_start_real_ns = 1700000000123456789ULL,
	.command = "./prog --fast",
	.launched = true,
	.syscalls = true,
	.exit_status = 3,
};

static struct rpt_syscall syscalls[] = {
	{ .nr = 202,
	  .blocks = 90,
	  .calls = 100,
	  .errors = 7,
	  .total_ns = 2000000000,
	  .max_ns = 50000000,
	  .offcpu_ns = 1900000000,
	  .blocked_ns = 1800000000 },
	{ .nr = 0, .calls = 10, .total_ns = 1000000, .max_ns = 200000 },
};

static struct rpt_waker wakers[] = {
	{ .tid = 4243, .pid = 4242, .comm = "worker", .count = 90 },
	{ .tid = 0, .comm = "[interrupt]", .count = 10 },
};

static struct rpt_thread threads[2];
static struct rpt_process proc;
static struct report rep;

static void make_report(void)
{
	memset(threads, 0, sizeof(threads));
	threads[0] = (struct rpt_thread){
		.tid = 4243,
		.pid = 4242,
		.comm = "worker",
		.alive_ns = 3000000000,
		.s.f = { .oncpu_ns = 2500000000,
			 .runq_ns = 400000000,
			 .blocked_ns = 100000000,
			 .nvcsw = 12,
			 .nivcsw = 600,
			 .wakeups = 12 },
		.started = true,
	};
	threads[1] = (struct rpt_thread){
		.tid = 4242,
		.pid = 4242,
		.comm = "prog",
		.alive_ns = 3000000000,
		.s.f = { .blocked_ns = 2990000000,
			 .blocked_nosys_ns = 1000000,
			 .nvcsw = 100,
			 .wakeups = 100,
			 .wakelat_max = 8000,
			 .wakelat_sum = 300000 },
		.nsys = 2,
		.sys = syscalls,
		.nwakers = 2,
		.wakers = wakers,
	};
	for (int i = 0; i < 100; i++)
		hist_record(&threads[1].s.wakelat, 3000);
	proc = (struct rpt_process){
		.pid = 4242,
		.comm = "prog",
		.cmdline = "./prog --fast",
		.ncpus = 2,
		.wall_ns = 3000000000,
		.threads_started = 1,
		.nthreads = 2,
		.threads = threads,
		.nsys = 2,
		.sys = syscalls,
	};
	rpt_sched_add(&proc.s, &threads[0].s);
	rpt_sched_add(&proc.s, &threads[1].s);
	memset(&rep, 0, sizeof(rep));
	rep.meta = &meta;
	rep.duration_ns = 3000000000;
	rep.nprocs = 1;
	rep.procs = &proc;
	rep.total = proc;
	rep.total.threads = NULL;
	rep.threads_seeded = 1;
}

static void test_text(void **state)
{
	char *t;

	(void)state;
	make_report();
	t = render_text(&rep, 10);
	assert_non_null(
		strstr(t, "contrace 9.9.9: command [./prog --fast] (pid 4242), 3.00s on 2 CPUs"));
	assert_non_null(strstr(t, "PROCESS 4242 prog  [./prog --fast]"));
	assert_non_null(strstr(t, "CPU 2.50s = 41.7% of 2 CPUs"));
	/* Rows: tid, start/exit mark, name, times, switch counts. */
	assert_true(has_row(t, "4243+worker 3.00s 2.50s 400ms 100ms 12 600 12", "- - -"));
	assert_non_null(strstr(
		t,
		"futex                      100        7     2.00s    20.0ms    50.0ms     1.90s     1.80s"));
	assert_non_null(strstr(t, "(not in a syscall)"));
	assert_non_null(strstr(t, "4243 worker (90), [interrupt] (10)"));
	assert_non_null(strstr(t, "WAKEUP LATENCY (wakeup to running), all threads: 100 wakeups"));
	assert_non_null(strstr(t, "The command exited with status 3."));
	assert_null(strstr(t, "WARNING"));
	free(t);

	/* Any drop is announced before the figures. */
	rep.drops.sys_dropped = 5;
	t = render_text(&rep, 10);
	assert_non_null(strstr(t, "WARNING: some data was lost"));
	assert_non_null(strstr(t, "5 syscalls not counted"));
	assert_true(strstr(t, "WARNING") < strstr(t, "PROCESS"));
	free(t);
}

static void test_text_top(void **state)
{
	char *t;

	(void)state;
	make_report();
	t = render_text(&rep, 1);
	assert_non_null(strstr(t, "THREADS (top 1 of 2"));
	assert_null(strstr(t, "4242 prog                3.00s")); /* second thread row cut */
	assert_non_null(strstr(t, "4243+worker              3.00s"));
	assert_non_null(strstr(t, "SYSCALLS (top 1 of 2"));
	free(t);
}

static struct json_object *get(struct json_object *o, const char *path);

/* Without --syscalls: only blocking syscalls, and no call counts to show. */
static void test_without_syscalls(void **state)
{
	struct json_object *o;
	char *t;

	(void)state;
	make_report();
	meta.syscalls = false;
	t = render_text(&rep, 10);
	o = report_to_json(&rep);
	meta.syscalls = true;
	assert_non_null(strstr(t, "SYSCALLS THAT BLOCKED (-S also counts the calls that did not)"));
	assert_non_null(strstr(t, "futex                       90     1.80s    20.0ms"));
	assert_null(strstr(t, "ERRORS"));
	free(t);
	assert_false(json_object_get_boolean(get(o, "trace.syscalls")));
	assert_int_equal(json_object_get_int(get(o, "processes.0.syscalls.0.blocks")), 90);
	/* Not measured: null, not 0. */
	assert_true(json_object_object_get_ex(get(o, "processes.0.syscalls.0"), "calls", NULL));
	assert_null(get(o, "processes.0.syscalls.0.calls"));
	json_object_put(o);
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL, *k;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(k));
		else if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	}
	return o;
}

static void test_json(void **state)
{
	struct json_object *o, *back;
	const char *s;

	(void)state;
	make_report();
	o = report_to_json(&rep);
	s = json_object_to_json_string(o);
	back = json_tokener_parse(s);
	assert_non_null(back);
	assert_int_equal(json_object_get_int(get(back, "schema_version")), REPORT_SCHEMA_VERSION);
	assert_string_equal(json_object_get_string(get(back, "kind")), "total");
	assert_string_equal(json_object_get_string(get(back, "trace.mode")), "command");
	assert_string_equal(json_object_get_string(get(back, "trace.started_at")),
			    "2023-11-14T22:13:20.123Z");
	assert_int_equal(json_object_get_int(get(back, "trace.exit_status")), 3);
	assert_false(json_object_get_boolean(get(back, "drops.any")));
	assert_int_equal(json_object_get_int(get(back, "processes.0.pid")), 4242);
	assert_int_equal(json_object_get_uint64(get(back, "processes.0.threads.0.oncpu_ns")),
			 2500000000ULL);
	assert_int_equal(
		json_object_get_int(get(back, "processes.0.threads.0.involuntary_switches")), 600);
	assert_true(json_object_get_boolean(get(back, "processes.0.threads.0.started")));
	assert_string_equal(
		json_object_get_string(get(back, "processes.0.threads.1.syscalls.0.name")),
		"futex");
	assert_int_equal(json_object_get_int(get(back, "processes.0.threads.1.syscalls.0.errors")),
			 7);
	assert_string_equal(
		json_object_get_string(get(back, "processes.0.threads.1.wakers.1.kind")),
		"interrupt");
	assert_string_equal(
		json_object_get_string(get(back, "processes.0.threads.1.wakers.0.kind")), "thread");
	assert_int_equal(
		json_object_get_int(get(back, "processes.0.threads.1.wakeup_latency.count")), 100);
	/* Buckets are [lo, hi, count] with 3000 ns inside [lo, hi). */
	assert_true(json_object_get_int(
			    get(back, "processes.0.threads.1.wakeup_latency.buckets.0.0")) <= 3000);
	assert_true(json_object_get_int(
			    get(back, "processes.0.threads.1.wakeup_latency.buckets.0.1")) > 3000);
	assert_int_equal(
		json_object_get_int(get(back, "processes.0.threads.1.wakeup_latency.buckets.0.2")),
		100);
	assert_true(json_object_get_double(get(back, "processes.0.cpu_utilization")) > 0.41);
	assert_null(get(back, "total.threads"));
	assert_int_equal(json_object_get_int(get(back, "total.thread_count")), 2);
	json_object_put(back);
	json_object_put(o);
}

/* Text and JSON show the same figures: compare a few that both print. */
static void test_same_model(void **state)
{
	struct json_object *o;
	char *t, row[64];

	(void)state;
	make_report();
	o = report_to_json(&rep);
	t = render_text(&rep, 0);
	snprintf(row, sizeof(row), "switches %d voluntary, %d involuntary",
		 json_object_get_int(get(o, "processes.0.voluntary_switches")),
		 json_object_get_int(get(o, "processes.0.involuntary_switches")));
	assert_non_null(strstr(t, row));
	snprintf(row, sizeof(row), "threads %d (%d started, %d exited)",
		 json_object_get_int(get(o, "processes.0.thread_count")),
		 json_object_get_int(get(o, "processes.0.threads_started")),
		 json_object_get_int(get(o, "processes.0.threads_exited")));
	assert_non_null(strstr(t, row));
	free(t);
	json_object_put(o);
}

static struct rpt_lock_party waiters[] = {
	{ .tid = 4243, .comm = "worker", .waits = 30, .wait_ns = 900000000 },
	{ .tid = 4244, .comm = "worker2", .waits = 10, .wait_ns = 300000000 },
};

static struct rpt_lock_party holders[] = {
	{ .tid = 4242, .comm = "prog", .waits = 40, .wait_ns = 1200000000 },
};

static struct rpt_lock_chain chains[] = {
	{ .waiter = 4243,
	  .holder = 4242,
	  .waiter_comm = "worker",
	  .holder_comm = "prog",
	  .waits = 30,
	  .wait_ns = 900000000,
	  .holder_site = "prog:flush_batch+0x5c",
	  .waiter_site = "prog:enqueue+0x10" },
	{ .waiter = 4244,
	  .holder = CT_WAKER_IRQ,
	  .waiter_comm = "worker2",
	  .holder_comm = "[timer]",
	  .waits = 10,
	  .wait_ns = 300000000 },
};

static struct rpt_lock_site sites[] = {
	{ .addr = 0x401010, .name = "prog:enqueue+0x10", .waits = 40, .wait_ns = 1200000000 },
};

/* A serialising lock with its waiters, holders, chains and call site; and a join. */
static void add_locks(struct rpt_lock *locks)
{
	memset(locks, 0, 2 * sizeof(*locks));
	locks[0] = (struct rpt_lock){
		.uaddr = 0x404040,
		.name = "prog:queue_lock",
		.named = true,
		.op = CT_FUTEX_WAIT,
		.waits = 40,
		.wait_ns = 1200000000,
		.wait_max = 50000000,
		.wakes = 30,
		.timeouts = 10,
		.holds = 30,
		.hold_ns = 2400000000,
		.hold_max = 90000000,
		.held_fraction = 0.8,
		.avg_waiting = 1.5,
		.serialising = true,
		.nwaiters = 2,
		.waiters = waiters,
		.nholders = 1,
		.holders = holders,
		.nchains = 2,
		.chains = chains,
		.nsites = 1,
		.sites = sites,
	};
	for (int i = 0; i < 40; i++)
		hist_record(&locks[0].wait_hist, 30000000);
	locks[1] = (struct rpt_lock){
		.uaddr = 0x7f0000001990,
		.name = "0x7f0000001990 [anon]",
		.op = CT_FUTEX_WAIT_BITSET,
		.waits = 2,
		.wait_ns = 2000000000,
		.other_wakes = 2,
		.exit_wakes = 2,
		.join = true,
		.kind = RPT_KIND_EVENT,
		.why = RPT_WHY_JOIN,
	};
	proc.nlocks = 2;
	proc.locks = locks;
}

/* Threads of one role are one THREADS row when there are 8 or more; every thread with -v. */
static void test_thread_groups(void **state)
{
	struct rpt_thread many[11];
	struct text_opts v = { .top = 20, .verbose = 1 };
	char *t, *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	make_report();
	memset(many, 0, sizeof(many));
	many[0] = threads[0]; /* "worker": a role of its own, 1 thread */
	many[1] = threads[1];
	for (int i = 2; i < 11; i++) {
		many[i].tid = 5000 + (uint32_t)i;
		many[i].pid = 4242;
		snprintf(many[i].comm, sizeof(many[i].comm), "pool-%d", i % 100);
		many[i].alive_ns = 1000000000;
		many[i].s.f.oncpu_ns = (uint64_t)i * 1000000; /* 2..10 ms */
		many[i].s.f.runq_ns = 1000000;
		many[i].exited = true;
	}
	proc.nthreads = 11;
	proc.threads = many;
	t = render_text(&rep, 10);
	assert_non_null(strstr(t, "THREADS (3 rows of 11 threads, threads of one name as one row"));
	assert_non_null(strstr(t, "     [9] pool-*"));
	/* Sums: 9 threads alive 1 s each; on-CPU 2+3+...+10 = 54 ms; p50 of 2..10 ms is 6 ms. */
	assert_true(has_row(t, "[9] pool-* 9.00s 54.0ms 9.00ms", ""));
	assert_non_null(strstr(t,
			       "9 threads (0 started, 9 exited): per thread on-CPU p50 6.00ms max "
			       "10.0ms, run-queue wait p50 1.00ms max 1.00ms"));
	assert_null(strstr(t, "pool-5"));
	assert_non_null(strstr(t, "4243+worker"));
	free(t);
	f = open_memstream(&buf, &len);
	report_text(f, &rep, &v);
	fclose(f);
	assert_null(strstr(buf, "[9] pool-*"));
	for (int i = 2; i < 11; i++) {
		char row[48];

		snprintf(row, sizeof(row), "%u-pool-%d", 5000 + i, i);
		assert_non_null(strstr(buf, row));
	}
	free(buf);
}

static void test_locks(void **state)
{
	struct rpt_lock locks[2];
	struct json_object *o;
	char *t, *ev;

	(void)state;
	make_report();
	add_locks(locks);
	t = render_text(&rep, 10);
	assert_non_null(strstr(
		t,
		"  prog:queue_lock                       40     1.20s    30.0ms    31.5ms    33.5ms    50.0ms     30    80.0ms    90.0ms       2"));
	assert_non_null(strstr(t, "FUTEX_WAIT: woken 30 times by a release, 10 by a timer; "));
	assert_non_null(strstr(t, "waited in   prog:enqueue+0x10 (40 waits, 1.20s)"));
	assert_non_null(strstr(t, "waiters     4243 worker (900ms), 4244 worker2 (300ms)"));
	assert_non_null(strstr(t, "held by     4242 prog (1.20s)"));
	assert_non_null(
		strstr(t, "4243 worker waited 900ms for 4242 prog in prog:flush_batch+0x5c"));
	assert_non_null(strstr(t, "4244 worker2 waited 300ms until its timeout"));
	assert_non_null(strstr(t, "SERIALISES THE PROCESS: held 80.0% of the time, 1.5 threads "
				  "waiting on average: at most 1.25 threads can run at once"));
	/* The join is not a lock: a row of EVENTS, after the LOCKS table. */
	ev = strstr(t, "EVENTS, waiting for work or a signal (not contention)");
	assert_non_null(ev);
	assert_true(strstr(t, "0x7f0000001990 [anon]") > ev);
	assert_non_null(
		strstr(ev, "0x7f0000001990 [anon]            thread exit (join)         2"));
	free(t);

	o = report_to_json(&rep);
	assert_string_equal(json_object_get_string(get(o, "processes.0.locks.0.name")),
			    "prog:queue_lock");
	assert_string_equal(json_object_get_string(get(o, "processes.0.locks.0.address")),
			    "0x404040");
	assert_true(json_object_get_boolean(get(o, "processes.0.locks.0.serialising")));
	assert_true(json_object_get_double(get(o, "processes.0.locks.0.parallelism_bound")) ==
		    1.25);
	assert_int_equal(json_object_get_int(get(o, "processes.0.locks.0.retries")), 0);
	assert_string_equal(
		json_object_get_string(get(o, "processes.0.locks.0.chains.1.holder_kind")),
		"timer");
	assert_string_equal(
		json_object_get_string(get(o, "processes.0.locks.0.chains.0.holder_site")),
		"prog:flush_batch+0x5c");
	assert_true(json_object_get_boolean(get(o, "processes.0.locks.1.thread_join")));
	assert_int_equal(json_object_get_int(get(o, "processes.0.locks.1.exit_wakes")), 2);
	json_object_put(o);

	/* Without -S the syscall-only figures are not measured: null, and not in the text. */
	meta.syscalls = false;
	t = render_text(&rep, 10);
	o = report_to_json(&rep);
	meta.syscalls = true;
	assert_null(strstr(t, "retries"));
	assert_true(json_object_object_get_ex(get(o, "processes.0.locks.0"), "retries", NULL));
	assert_null(get(o, "processes.0.locks.0.retries"));
	free(t);
	json_object_put(o);
	proc.nlocks = 0;
	proc.locks = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_top),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_same_model),
		cmocka_unit_test(test_without_syscalls),
		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_thread_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
