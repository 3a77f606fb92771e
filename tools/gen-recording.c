// SPDX-License-Identifier: GPL-2.0-only
/*
 * A large recording made through contrace's own writer (user/store/record.c),
 * for measuring `contrace report` on it (docs/performance.md):
 *
 *   gen-recording FILE MEGABYTES [THREADS]
 *
 * A start snapshot, then -i intervals of THREADS threads (default 2000)
 * that all ran in every interval (each record changes, as a busy program's
 * do), a syscall entry, a waker and a lock per thread, until the file
 * holds MEGABYTES; then the final snapshot. Figures grow by pseudo-random
 * amounts, so the blocks compress as a real trace's do, not better.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/record.h"

static uint64_t state = 88172645463325252ull;

static uint64_t rnd(uint64_t max)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state % max;
}

static void step(struct snapshot *s, uint32_t n, uint64_t ts)
{
	s->ts = ts;
	for (uint32_t i = 0; i < n; i++) {
		struct ct_thread *t = &s->threads[i];
		uint64_t run = rnd(20000000);

		t->tid = 1000 + i;
		t->tgid = 1000;
		t->slot = i;
		t->flags = CT_TF_READY | CT_TF_SEEN | (i ? 0 : CT_TF_PROCESS);
		t->state = CT_ST_BLOCKED;
		t->start_ts = 1000;
		t->state_ts = ts;
		t->sys_nr = t->blk_nr = t->bl_nr = CT_SYS_NONE;
		snprintf(t->comm, sizeof(t->comm), "w%u", i % 1000000);
		t->oncpu_ns += run;
		t->runq_ns += rnd(run + 1);
		t->blocked_ns += 100000000 - run;
		t->nvcsw += rnd(500);
		t->nivcsw += rnd(50);
		t->wakeups += rnd(500);
		t->wakelat_sum += rnd(10000000);
		t->wakelat_hist[40 + rnd(40)] += (uint32_t)rnd(100);
		s->sys[i].st.blocks += rnd(500);
		s->sys[i].st.blocked_ns += 100000000 - run;
		s->wakers[i].val.count += rnd(500);
		s->locks[i].st.waits += rnd(100);
		s->locks[i].st.wait_ns += rnd(10000000);
		s->locks[i].st.wait_hist[40 + rnd(40)] += (uint32_t)rnd(100);
	}
}

static void setup(struct snapshot *s, uint32_t n)
{
	memset(s, 0, sizeof(*s));
	s->nthreads = n;
	s->threads = calloc(n, sizeof(*s->threads));
	s->nsys = s->nwakers = s->nlocks = n;
	s->sys = calloc(n, sizeof(*s->sys));
	s->wakers = calloc(n, sizeof(*s->wakers));
	s->locks = calloc(n, sizeof(*s->locks));
	s->nprocs = 1;
	s->procs = calloc(1, sizeof(*s->procs));
	if (!s->threads || !s->sys || !s->wakers || !s->locks || !s->procs) {
		fprintf(stderr, "gen-recording: out of memory\n");
		exit(1);
	}
	s->procs[0] = (struct snap_proc){ .pid = 1000, .ncpus = 2, .comm = "busy" };
	for (uint32_t i = 0; i < n; i++) {
		s->sys[i].key = (struct ct_sys_key){ .slot = i, .nr = 202 };
		s->wakers[i].key =
			(struct ct_waker_key){ .slot = i, .waker_tid = 1000 + (i + 1) % n };
		s->wakers[i].val.waker_tgid = 1000;
		s->locks[i].key =
			(struct ct_lock_key){ .tgid = 1000, .uaddr = 0x10000 + 64ull * i };
	}
}

int main(int argc, char **argv)
{
	struct report_meta m = { .version = CONTRACE_VERSION,
				 .kernel = "6.18",
				 .hostname = "gen",
				 .ncpus = 2,
				 .target_pid = 1000,
				 .locks = true,
				 .trace_start_ns = 1000000,
				 .exit_status = -1 };
	uint64_t limit, ts = m.trace_start_ns;
	uint32_t n = argc > 3 ? (uint32_t)atol(argv[3]) : 2000;
	struct recorder r;
	struct snapshot s;
	struct stat st = { 0 };
	char err[512];
	int kind = RECORD_START;

	if (argc < 3 || atol(argv[2]) <= 0 || !n) {
		fprintf(stderr, "usage: gen-recording FILE MEGABYTES [THREADS]\n");
		return 2;
	}
	limit = (uint64_t)atol(argv[2]) << 20;
	strcpy(m.command, "gen-recording");
	setup(&s, n);
	if (record_create(&r, argv[1], err, sizeof(err)) || record_begin(&r, &m, err, sizeof(err)))
		goto fail;
	while (!stat(argv[1], &st) && (uint64_t)st.st_size < limit) {
		step(&s, n, ts += 100000000);
		if (record_snapshot(&r, &s, &m, kind, err, sizeof(err)))
			goto fail;
		kind = RECORD_INTERVAL;
	}
	step(&s, n, ts += 100000000);
	if (record_snapshot(&r, &s, &m, RECORD_FINAL, err, sizeof(err)) ||
	    record_close(&r, err, sizeof(err)))
		goto fail;
	snapshot_free(&s);
	return 0;
fail:
	fprintf(stderr, "gen-recording: %s\n", err);
	return 1;
}
