// SPDX-License-Identifier: GPL-2.0-only
/* The Prometheus exposition of a report model (out/prom.c). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"
#include "out/prom.h"

static struct rpt_thread threads[5];
static struct rpt_lock locks[3];
static struct rpt_lock_site site = { .addr = 0x401234, .name = "prog:worker+0x6e" };
static struct rpt_gil gil;
static struct rpt_process proc;
static struct report rep;

static void thread(int i, const char *comm, uint64_t oncpu, uint64_t runq)
{
	threads[i] = (struct rpt_thread){ .tid = 100 + i, .pid = 100 };
	snprintf(threads[i].comm, sizeof(threads[i].comm), "%s", comm);
	threads[i].s.f.oncpu_ns = oncpu;
	threads[i].s.f.runq_ns = runq;
	threads[i].s.f.nvcsw = 1;
}

/* Locks: a named one, a heap one known by its call site, a nameless one. */
static void make_locks(void)
{
	memset(locks, 0, sizeof(locks));
	snprintf(locks[0].name, sizeof(locks[0].name), "prog:queue_lock");
	locks[0].named = true;
	locks[0].waits = 3;
	locks[0].wait_ns = 3500000; /* 1 ms, 2 ms, 500 us */
	hist_record(&locks[0].wait_hist, 1000000);
	hist_record(&locks[0].wait_hist, 2000000);
	hist_record(&locks[0].wait_hist, 500000);
	snprintf(locks[1].name, sizeof(locks[1].name), "0x55d0c0de [heap]");
	locks[1].nsites = 1;
	locks[1].sites = &site;
	locks[1].waits = 1;
	locks[1].wait_ns = 1000;
	hist_record(&locks[1].wait_hist, 1000);
	snprintf(locks[2].name, sizeof(locks[2].name), "0x7fff0000 [stack]");
	locks[2].waits = 2;
	locks[2].wait_ns = 10;
}

static void make_report(void)
{
	thread(0, "prog", 1000, 0);
	thread(1, "worker", 2000000000, 500000000);
	thread(2, "worker", 1000000000, 0);
	thread(3, "evil\"na\\me\n", 5, 0);
	thread(4, "bad\xff", 1, 0);
	make_locks();
	memset(&gil, 0, sizeof(gil));
	gil.hold_ns = 1500000000;
	snprintf(gil.info.version, sizeof(gil.info.version), "3.12");
	gil.info.tier = RPT_GIL_UPROBES;
	memset(&proc, 0, sizeof(proc));
	proc.pid = 100;
	snprintf(proc.comm, sizeof(proc.comm), "prog");
	snprintf(proc.cmdline, sizeof(proc.cmdline), "./prog --x=\"1\"");
	proc.threads = threads;
	proc.nthreads = 5;
	proc.locks = locks;
	proc.nlocks = 3;
	proc.gil = &gil;
	proc.wall_ns = 2000000000;
	hist_record(&proc.s.wakelat, 3000);
	proc.s.f.wakelat_sum = 3000;
	memset(&rep, 0, sizeof(rep));
	rep.procs = &proc;
	rep.nprocs = 1;
	rep.drops.threads_dropped = 7;
}

static char *render_carry(size_t max_threads, size_t max_locks, const struct prom_carry *carry)
{
	struct prom_target t = { .r = &rep, .carry = carry };
	struct prom_cfg cfg = { .max_threads = max_threads, .max_locks = max_locks };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(prom_write(f, &t, 1, &cfg), 0);
	fclose(f);
	return buf;
}

static char *render(size_t max_threads, size_t max_locks)
{
	return render_carry(max_threads, max_locks, NULL);
}

/* The line that starts with `head`, exactly `line` (head + value). */
static void has_line(const char *text, const char *line)
{
	char *want = malloc(strlen(line) + 3);

	sprintf(want, "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
	free(want);
}

static void test_names_units(void **state)
{
	char *t;

	(void)state;
	make_report();
	t = render(10, 10);
	has_line(t, "# TYPE contrace_thread_cpu_seconds_total counter");
	/* Threads of one name are one series: 2 s + 1 s on a CPU. */
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"worker\"} 3.000000000");
	has_line(t, "contrace_thread_runq_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"worker\"} 0.500000000");
	has_line(t, "contrace_thread_voluntary_switches_total{process=\"prog\",pid=\"100\","
		    "thread=\"worker\"} 2");
	has_line(t, "contrace_gil_hold_seconds_total{process=\"prog\",pid=\"100\"} 1.500000000");
	has_line(t, "contrace_target_info{process=\"prog\",pid=\"100\",command=\"./prog "
		    "--x=\\\"1\\\"\",python_version=\"3.12\",gil_tier=\"uprobes\"} 1");
	has_line(t, "contrace_drops_total{process=\"prog\",pid=\"100\","
		    "kind=\"threads_dropped\"} 7");
	/* No tid and no raw address anywhere. */
	assert_null(strstr(t, "tid="));
	assert_null(strstr(t, "0x55d0c0de"));
	assert_null(strstr(t, "0x7fff0000"));
	/* Maxima are no counters. */
	assert_null(strstr(t, "wakelat_max"));
	free(t);
}

static void test_escaping(void **state)
{
	char *t;

	(void)state;
	make_report();
	t = render(10, 10);
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"evil\\\"na\\\\me\\n\"} 0.000000005");
	/* A byte that starts no UTF-8 sequence: '?'. */
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"bad?\"} 0.000000001");
	free(t);
}

/*
 * Python threads by the names the program gave them, each run of digits as
 * N: a pool's workers are one series, a thread per request no new one.
 */
static void test_python_names(void **state)
{
	char *t;

	(void)state;
	make_report();
	snprintf(threads[1].pyname, sizeof(threads[1].pyname), "client-0");
	snprintf(threads[2].pyname, sizeof(threads[2].pyname), "client-12");
	snprintf(threads[3].pyname, sizeof(threads[3].pyname), "Thread-4711 (serve)");
	t = render(10, 10);
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"client-N\"} 3.000000000");
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"Thread-N (serve)\"} 0.000000005");
	/* A thread without a Python name keeps its comm. */
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"prog\"} 0.000001000");
	assert_null(strstr(t, "thread=\"worker\""));
	free(t);
}

static void test_histogram(void **state)
{
	const char *h = "contrace_lock_wait_duration_seconds";
	char line[256], *t;

	(void)state;
	make_report();
	t = render(10, 10);
	has_line(t, "# TYPE contrace_lock_wait_duration_seconds histogram");
	/* 500 us, 1 ms, 2 ms: none below 262 us, one below 1.05 ms, all below 4.2 ms. */
	snprintf(
		line, sizeof(line),
		"%s_bucket{process=\"prog\",pid=\"100\",lock=\"prog:queue_lock\",le=\"0.000262144\"} 0",
		h);
	has_line(t, line);
	snprintf(
		line, sizeof(line),
		"%s_bucket{process=\"prog\",pid=\"100\",lock=\"prog:queue_lock\",le=\"0.001048576\"} 2",
		h);
	has_line(t, line);
	snprintf(
		line, sizeof(line),
		"%s_bucket{process=\"prog\",pid=\"100\",lock=\"prog:queue_lock\",le=\"0.004194304\"} 3",
		h);
	has_line(t, line);
	snprintf(line, sizeof(line),
		 "%s_bucket{process=\"prog\",pid=\"100\",lock=\"prog:queue_lock\",le=\"+Inf\"} 3",
		 h);
	has_line(t, line);
	snprintf(line, sizeof(line),
		 "%s_sum{process=\"prog\",pid=\"100\",lock=\"prog:queue_lock\"} 0.003500000", h);
	has_line(t, line);
	snprintf(line, sizeof(line),
		 "%s_count{process=\"prog\",pid=\"100\",lock=\"prog:queue_lock\"} 3", h);
	has_line(t, line);
	/* The heap lock by its call site. */
	has_line(t, "contrace_lock_waits_total{process=\"prog\",pid=\"100\","
		    "lock=\"at prog:worker+0x6e\"} 1");
	/* Bounds: powers of 4 from 1024 ns, increasing. */
	for (unsigned int i = 1; i < PROM_BUCKETS; i++)
		assert_int_equal(prom_bucket_le(i), 4 * prom_bucket_le(i - 1));
	free(t);
}

static void test_cap(void **state)
{
	char *t;

	(void)state;
	make_report();
	/* Top 1 thread name by on-CPU + run-queue: worker; the other 3 names summed. */
	t = render(1, 1);
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"worker\"} 3.000000000");
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"[other]\"} 0.000001006");
	has_line(t, "contrace_threads_folded{process=\"prog\",pid=\"100\"} 3");
	assert_null(strstr(t, "thread=\"prog\""));
	/* Locks: queue_lock kept; the heap lock folded and the nameless one too. */
	has_line(t, "contrace_lock_waits_total{process=\"prog\",pid=\"100\","
		    "lock=\"prog:queue_lock\"} 3");
	has_line(t, "contrace_lock_waits_total{process=\"prog\",pid=\"100\",lock=\"[other]\"} 3");
	has_line(t, "contrace_locks_folded{process=\"prog\",pid=\"100\"} 2");
	free(t);
}

/* Every sample line's metric is declared by the # TYPE line before it, once. */
static void test_grouped(void **state)
{
	char *t, *save = NULL, family[128] = "";
	int types = 0;

	(void)state;
	make_report();
	t = render(2, 1);
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "# TYPE ", 7)) {
			sscanf(l + 7, "%127s", family);
			types++;
			continue;
		}
		if (l[0] == '#')
			continue;
		if (strncmp(l, family, strlen(family)))
			fail_msg("'%s' outside its family (%s)", l, family);
	}
	assert_true(types > 20);
	free(t);
}

/*
 * A target whose session was replaced: its earlier session's counts are
 * carried, so every counter is the sum of both sessions' and only grows.
 */
static void test_carry(void **state)
{
	struct prom_cfg cfg = { .max_threads = 10, .max_locks = 10 };
	struct prom_carry *c = NULL;
	char *t;

	(void)state;
	make_report();
	assert_int_equal(prom_carry_fold(&c, &rep, &cfg), 0);
	assert_int_equal(prom_carry_fold(&c, &rep, &cfg), 0);
	t = render_carry(10, 10, c);
	/* Three sessions of the same figures: two carried, one live. */
	has_line(t, "contrace_thread_cpu_seconds_total{process=\"prog\",pid=\"100\","
		    "thread=\"worker\"} 9.000000000");
	has_line(t, "contrace_gil_hold_seconds_total{process=\"prog\",pid=\"100\"} 4.500000000");
	has_line(t, "contrace_lock_waits_total{process=\"prog\",pid=\"100\","
		    "lock=\"prog:queue_lock\"} 9");
	has_line(t, "contrace_lock_wait_duration_seconds_count{process=\"prog\",pid=\"100\","
		    "lock=\"prog:queue_lock\"} 9");
	has_line(t, "contrace_drops_total{process=\"prog\",pid=\"100\","
		    "kind=\"threads_dropped\"} 21");
	has_line(t, "contrace_traced_seconds_total{process=\"prog\",pid=\"100\"} 6.000000000");
	has_line(t, "contrace_wakeup_latency_seconds_count{process=\"prog\",pid=\"100\"} 3");
	free(t);
	prom_carry_free(c);
}

/*
 * contrace serve's one session: a report of several processes, of which a
 * target renders its own (pid) with its carry; the session's drops once,
 * by kind only.
 */
static void test_shared_report(void **state)
{
	struct rpt_drops drops = { .threads_dropped = 5 };
	struct prom_cfg cfg = { .max_threads = 10, .max_locks = 10, .drops = &drops };
	struct rpt_thread other_thread = { .tid = 201, .pid = 200, .comm = "w" };
	struct rpt_process procs[2];
	struct prom_carry *c = NULL;
	struct prom_target t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	make_report();
	other_thread.s.f.oncpu_ns = 250000000;
	procs[0] = proc;
	procs[1] = (struct rpt_process){ .pid = 200,
					 .comm = "other",
					 .threads = &other_thread,
					 .nthreads = 1,
					 .wall_ns = 1000000000 };
	rep.procs = procs;
	rep.nprocs = 2;
	assert_int_equal(prom_carry_fold_pid(&c, &rep, 200, &cfg), 0);
	t = (struct prom_target){ .r = &rep, .pid = 200, .carry = c };
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(prom_write(f, &t, 1, &cfg), 0);
	fclose(f);
	/* Its carried session and the live one. */
	has_line(buf, "contrace_thread_cpu_seconds_total{process=\"other\",pid=\"200\","
		      "thread=\"w\"} 0.500000000");
	has_line(buf, "contrace_traced_seconds_total{process=\"other\",pid=\"200\"} 2.000000000");
	has_line(buf, "contrace_drops_total{kind=\"threads_dropped\"} 5");
	/* Not a target: process 100 is not rendered; no drop is a process's. */
	assert_null(strstr(buf, "pid=\"100\""));
	assert_null(strstr(buf, "contrace_drops_total{process="));
	free(buf);
	prom_carry_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_units),  cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_python_names), cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_cap),	     cmocka_unit_test(test_grouped),
		cmocka_unit_test(test_carry),	     cmocka_unit_test(test_shared_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
