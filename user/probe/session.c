// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "contrace.h"
#include "contrace.skel.h"
#include "probe/kernel.h"
#include "util/format.h"
#include "util/log.h"
#include "util/procfs.h"
#include "probe/sched.h"
#include "probe/session.h"
#include "probe/futex.h"
#include "probe/gil.h"
#include "probe/gilsample.h"
#include "probe/holds.h"
#include "probe/pyframes.h"
#include "probe/pynames.h"
#include "probe/stacks.h"
#include "probe/symbols.h"
#include "probe/target.h"
#include "probe/task.h"
#include "probe/syscalls.h"
#include "util/vec.h"

struct session {
	struct contrace_bpf *skel;
	const struct ct_thread *slots; /* ct_threads, mapped read-only */
	size_t slots_len;
	uint32_t max_threads;
	uint32_t warmed; /* slots [0, warmed) written to once (warm_slots) */
	uint32_t warm_next; /* the next slot to be claimed at the last refresh */
	uint64_t detach_ts; /* monotonic time the probes were removed, 0 while live */
	struct proc_cache procs;
	struct snapshot names; /* names of wakers outside the trace */
	struct symbolizer *sym; /* names of lock words and call sites */
	struct snapshot syms; /* those names, kept across snapshots */
	struct ring_buffer *events; /* ct_events: exec and new processes; and ct_timeline */
	int (*timeline_sink)(void *ctx, const struct ct_tl_event *e);
	void *timeline_ctx;
	bool refresh_due; /* an event asked for a refresh */
	int *news; /* processes an event named (a new image, a new process): read first */
	size_t nnews, news_cap;
	bool holds_on; /* --holds requested */
	bool holds_ready; /* the target runs its own image: probe its C library */
	struct holds holds;
	struct gil gil;
	struct gilsample gilsample; /* the released GIL time's split, with the GIL */
	struct pynames *pynames; /* Python threads' names, once a Python process is found */
	struct stacks *stacks; /* --stacks, or NULL */
	struct pyframes *pyframes; /* --stacks: Python frames' names, or NULL */
	bool stacks_note; /* say what they cost at the end */
	uint64_t storage_failed; /* ct_counters.storage_failed the last re-seed answered */
	bool reseed_again; /* one more pass: a thread may enter the task list after its fork probe */
	bool multi; /* the processes of ct_targets (session_target_add) */
	uint32_t tgid_mask; /* ct_cfg.tgid_mask */
	int *pending; /* multi: processes added, not seeded yet */
	size_t npending, pending_cap;
};

/* Entries of the hash maps, per possible thread: most threads use a few syscalls. */
#define SYS_PER_THREAD 8
#define WAKERS_PER_THREAD 4
/* Who had the CPU while a thread waited: its siblings, a few other processes. */
#define RUNNERS_PER_THREAD 8
/* Locks: contended futex words; edges: (lock, waiter, holder); sites: (lock, call site). */
#define MAX_LOCKS 4096
#define MAX_EDGES 16384
#define MAX_SITES 8192
/* Multi mode: processes traced at once (ct_targets). */
#define MAX_TARGETS 4096
#define MAP_MIN_ENTRIES 4096
#define MAP_MAX_ENTRIES (1u << 20)

/*
 * CONTRACE_TEST_FAIL_CLAIMS=N (tests only): every Nth new thread's claim of
 * its kernel task storage fails, as it does for real when the storage is
 * busy at a fork (another storage operation on that CPU, preempted there)
 * or exhausted: about one thread in 10^5 of a process churning threads.
 */
static uint32_t test_fail_claims(void)
{
	const char *v = getenv("CONTRACE_TEST_FAIL_CLAIMS");
	double n;

	if (!v || parse_decimal(v, false, &n, NULL) || n < 1 || n > 1e6)
		return 0;
	return (uint32_t)n;
}

/*
 * CONTRACE_TEST_TGID_BITS=N (tests only; a power of two, 64 to
 * CT_TGID_BITS): multi mode's filter with N bits, so that targets whose
 * pids are N apart share one (with pid_max at 32768 none share the 65536).
 */
static uint32_t test_tgid_bits(void)
{
	const char *v = getenv("CONTRACE_TEST_TGID_BITS");
	double n;

	if (!v || parse_decimal(v, false, &n, NULL) || n < 64 || n > CT_TGID_BITS)
		return CT_TGID_BITS;
	if ((uint32_t)n & ((uint32_t)n - 1))
		return CT_TGID_BITS;
	return (uint32_t)n;
}

static uint32_t map_entries(uint32_t threads, uint32_t per_thread)
{
	uint64_t n = (uint64_t)threads * per_thread;

	if (n < MAP_MIN_ENTRIES)
		n = MAP_MIN_ENTRIES;
	if (n > MAP_MAX_ENTRIES)
		n = MAP_MAX_ENTRIES;
	return (uint32_t)n;
}

static void load_error(char *err, size_t errlen, int ret)
{
	if (ret == -EPERM || ret == -EACCES)
		snprintf(
			err, errlen,
			"permission denied loading BPF programs: run as root (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)");
	else
		snprintf(err, errlen,
			 "cannot load the BPF programs: %s (run with -vv for the verifier's log)",
			 strerror(-ret));
}

/* A record of ct_events: remember that a refresh is due. */
static void reseed(struct session *s);

static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	const struct ct_event *e = data;

	if (size < sizeof(*e))
		return 0;
	if (e->kind == CT_EV_UNTRACED)
		return 0; /* session_consume_events re-seeds */
	s->refresh_due = true;
	if (e->kind == CT_EV_EXEC) {
		task_proc_exec(&s->procs, e->pid);
		gil_note_exec(&s->gil, (int)e->pid);
	}
	if (e->kind == CT_EV_EXEC || e->kind == CT_EV_PROCESS) {
		int *p = vec_push(s->news, s->nnews, s->news_cap);

		if (p)
			*p = (int)e->pid;
	}
	return 0;
}

/* A record of ct_timeline: to the sink. */
static int on_timeline(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	if (size < sizeof(struct ct_tl_event))
		return 0;
	/* A sink that failed (the disk is full) says so itself, at the next snapshot. */
	s->timeline_sink(s->timeline_ctx, data);
	return 0;
}

static void session_release(struct session *s);

/*
 * Slots written to ahead of the claims (warm_slots): this many at the start,
 * and at each refresh at least WARM_AHEAD past the next one to be claimed,
 * or four times the slots the last period claimed if more.
 */
#define WARM_START 1024
#define WARM_AHEAD 256

/*
 * Slots [warmed, to) written to once, before forks claim them (ct_warm,
 * task.bpf.c). Without it a fork's first writes into a new slot's pages
 * took 3.2 us, in the forking thread: with a thread per request, a Python
 * server's main thread, holding the GIL. Here it is paid in contrace's own
 * thread, each slot once: all of them at the start would add 40 ms to it
 * (16,384 slots). A failure costs only that time.
 */
static void warm_slots(struct session *s, uint32_t to)
{
	struct ct_warm_args args;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));

	if (to > s->max_threads)
		to = s->max_threads;
	while (s->warmed < to) {
		args.from = s->warmed;
		args.to = to - s->warmed > CT_WARM_MAX ? s->warmed + CT_WARM_MAX : to;
		if (bpf_prog_test_run_opts(bpf_program__fd(s->skel->progs.ct_warm), &opts))
			return;
		s->warmed = args.to;
	}
}

/* At a refresh: the slots the next period may claim. */
static void warm_ahead(struct session *s, uint32_t next)
{
	uint32_t claimed = next - (next >= s->warm_next ? s->warm_next : next);
	uint32_t ahead = claimed > WARM_AHEAD / 4 ? 4 * claimed : WARM_AHEAD;

	s->warm_next = next;
	warm_slots(s, next + (ahead < CT_WARM_MAX ? ahead : CT_WARM_MAX));
}

static int session_init(struct session *s, const struct session_cfg *cfg, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = cfg->btf_path);
	struct contrace_bpf *skel;
	struct ct_config *c;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *m;
	int ret;

	memset(s, 0, sizeof(*s));
	if (cfg->btf_path) {
		/* libbpf's own errors say "Input/output error" or "Unknown error 4001". */
		ret = kernel_btf_check(cfg->btf_path, err, errlen);
		if (ret)
			return ret;
	} else if (access(KERNEL_BTF_PATH, R_OK)) {
		snprintf(
			err, errlen,
			"kernel BTF not found at %s: contrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or --btf FILE",
			KERNEL_BTF_PATH);
		return -ENOENT;
	}

	skel = contrace_bpf__open_opts(&oo);
	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	s->skel = skel;
	s->max_threads = cfg->max_threads;

	c = (struct ct_config *)&skel->rodata->ct_cfg;
	c->targ_tgid = (uint32_t)cfg->target_pid;
	c->follow = cfg->follow;
	c->gate_tgid = cfg->gate ? (uint32_t)cfg->target_pid : 0;
	c->max_threads = cfg->max_threads;
	c->thread_size = kernel_thread_size();
	c->syscalls = cfg->syscalls;
	c->sample_every = cfg->stacks ? cfg->sample_every : 0;
	c->holds = cfg->holds;
	s->holds_on = cfg->holds;
	s->holds.acquired = skel->progs.ct_mutex_acquired;
	s->holds.release = skel->progs.ct_mutex_release;
	s->gil.enabled = cfg->gil;
	s->gil.take = skel->progs.ct_gil_take;
	s->gil.taken = skel->progs.ct_gil_taken;
	s->gil.drop = skel->progs.ct_gil_drop;
	s->gil.lock = skel->progs.ct_gilb_lock;
	s->gil.unlock = skel->progs.ct_gilb_unlock;
	s->gil.signal = skel->progs.ct_gilb_signal;
	/*
	 * A timeline draws each GIL hold as a slice: the default's holds on a
	 * CPU are sampled (tier C), so a timeline's default is the exact
	 * tiers, with their price said (--gil=futex still asks for tier C).
	 */
	s->gil.mode = cfg->gil_mode == GIL_AUTO && cfg->timeline_sink ? GIL_UPROBE : cfg->gil_mode;
	c->gil = cfg->gil;
	c->timeline = cfg->timeline_sink != NULL;
	/* One variant of each scheduler program: without --timeline, the one without it. */
	bpf_program__set_autoload(skel->progs.ct_sched_switch, !c->timeline);
	bpf_program__set_autoload(skel->progs.ct_sched_waking, !c->timeline);
	bpf_program__set_autoload(skel->progs.ct_switch_tl, c->timeline);
	bpf_program__set_autoload(skel->progs.ct_waking_tl, c->timeline);
	/* The local APIC timer's tracepoints are x86's. */
#if !defined(__x86_64__) && !defined(__i386__)
	bpf_program__set_autoload(skel->progs.ct_timer_irq_entry, false);
	bpf_program__set_autoload(skel->progs.ct_timer_irq_exit, false);
#endif
	s->timeline_sink = cfg->timeline_sink;
	s->timeline_ctx = cfg->timeline_ctx;
	/* Without --timeline nothing is written there: the smallest ring. */
	bpf_map__set_max_entries(skel->maps.ct_timeline,
				 c->timeline ? CT_TL_RING_BYTES : (uint32_t)page);
	c->stacks = cfg->stacks;
	c->fail_claims = test_fail_claims();
	c->multi = cfg->multi;
	s->multi = cfg->multi;
	c->tgid_mask = s->tgid_mask = test_tgid_bits() - 1;
	bpf_map__set_max_entries(skel->maps.ct_targets, cfg->multi ? MAX_TARGETS : 1);
	/* The smallest ring buffer there is (a page) when no stack is copied. */
	if (!cfg->stacks)
		bpf_map__set_max_entries(skel->maps.ct_stacks, (uint32_t)page);
	bpf_map__set_max_entries(skel->maps.ct_stack_hints, cfg->stacks ? cfg->max_threads : 1);
	if (!cfg->gil) {
		bpf_program__set_autoload(skel->progs.ct_gil_take, false);
		bpf_program__set_autoload(skel->progs.ct_gil_taken, false);
		bpf_program__set_autoload(skel->progs.ct_gil_drop, false);
		bpf_program__set_autoload(skel->progs.ct_gilb_lock, false);
		bpf_program__set_autoload(skel->progs.ct_gilb_unlock, false);
		bpf_program__set_autoload(skel->progs.ct_gilb_signal, false);
		bpf_program__set_autoload(skel->progs.ct_gil_sample, false);
	}
	if (!s->holds_on) {
		bpf_program__set_autoload(skel->progs.ct_mutex_acquired, false);
		bpf_program__set_autoload(skel->progs.ct_mutex_release, false);
	}
	if (!cfg->syscalls) {
		/* Not even loaded: an attached syscall tracepoint slows every syscall. */
		bpf_program__set_autoload(skel->progs.ct_sys_enter, false);
		bpf_program__set_autoload(skel->progs.ct_sys_exit, false);
	}

	bpf_map__set_max_entries(skel->maps.ct_threads, cfg->max_threads);
	bpf_map__set_max_entries(skel->maps.ct_sysstats,
				 map_entries(cfg->max_threads, SYS_PER_THREAD));
	bpf_map__set_max_entries(skel->maps.ct_wakers,
				 map_entries(cfg->max_threads, WAKERS_PER_THREAD));
	bpf_map__set_max_entries(skel->maps.ct_runners,
				 map_entries(cfg->max_threads, RUNNERS_PER_THREAD));
	bpf_map__set_max_entries(skel->maps.ct_locks, MAX_LOCKS);
	bpf_map__set_max_entries(skel->maps.ct_edges, MAX_EDGES);
	bpf_map__set_max_entries(skel->maps.ct_sites, MAX_SITES);
	bpf_map__set_max_entries(skel->maps.ct_gil_hists, cfg->max_threads);
	s->sym = symbolizer_new();
	if (!s->sym) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	ret = contrace_bpf__load(skel);
	if (ret) {
		load_error(err, errlen, ret);
		goto fail;
	}

	s->slots_len =
		((size_t)cfg->max_threads * sizeof(struct ct_thread) + page - 1) / page * page;
	m = mmap(NULL, s->slots_len, PROT_READ, MAP_SHARED, bpf_map__fd(skel->maps.ct_threads), 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot map the thread table: %s", strerror(errno));
		goto fail;
	}
	s->slots = m;
	warm_slots(s, WARM_START);
	s->gil.addrs_fd = bpf_map__fd(skel->maps.ct_gil_addrs);
	s->gil.tstates_fd = bpf_map__fd(skel->maps.ct_gil_tstates);
	s->gil.futex_on = &skel->bss->ct_gilc_on;
	s->gil.addrs_gen = &skel->bss->ct_gil_gen;
	{
		static struct ct_text blank;
		__u32 zero = 0;

		memset(&blank, 0xff, sizeof(blank));
		bpf_map_update_elem(bpf_map__fd(skel->maps.ct_text_blank), &zero, &blank, BPF_ANY);
	}
	s->events = ring_buffer__new(bpf_map__fd(skel->maps.ct_events), on_event, s, NULL);
	if (!s->events) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the event ring buffer: %s", strerror(errno));
		goto fail;
	}
	if (s->timeline_sink) {
		ret = ring_buffer__add(s->events, bpf_map__fd(skel->maps.ct_timeline), on_timeline,
				       s);
		if (ret) {
			snprintf(err, errlen, "cannot open the timeline ring buffer: %s",
				 strerror(-ret));
			goto fail;
		}
	}
	if (cfg->stacks) {
		s->stacks_note = cfg->stacks_note;
		s->pyframes = pyframes_new();
		s->gil.py = s->pyframes;
		s->stacks = s->pyframes ? stacks_new(s->sym, s->pyframes,
						     cfg->sample_every * CT_GIL_SAMPLE_NS) :
					  NULL;
		if (s->stacks && s->timeline_sink)
			stacks_sample_sink(s->stacks, s->timeline_sink, s->timeline_ctx);
		ret = s->stacks ? stacks_add_ring(s->stacks, s->events,
						  bpf_map__fd(skel->maps.ct_stacks),
						  bpf_map__fd(skel->maps.ct_stack_hints)) :
				  -ENOMEM;
		if (ret) {
			snprintf(err, errlen, "cannot open the stack ring buffer: %s",
				 strerror(-ret));
			goto fail;
		}
	}
	return 0;
fail:
	session_release(s);
	return ret;
}

int session_open(struct session **sp, const struct session_cfg *cfg, char *err, size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));
	int ret;

	*sp = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = session_init(s, cfg, err, errlen);
	if (ret) {
		free(s);
		return ret;
	}
	*sp = s;
	return 0;
}

int session_events_fd(const struct session *s)
{
	return ring_buffer__epoll_fd(s->events);
}

bool session_consume_events(struct session *s)
{
	bool due;

	ring_buffer__consume(s->events);
	reseed(s);
	due = s->refresh_due;
	s->refresh_due = false;
	return due;
}

int session_attach(struct session *s, char *err, size_t errlen)
{
	int ret = contrace_bpf__attach(s->skel);

	if (ret) {
		snprintf(err, errlen, "cannot attach the probes: %s", strerror(-ret));
		return ret;
	}
	/* Without the samples, released time on a CPU is reported whole, not split. */
	if (s->gil.enabled &&
	    gilsample_attach(&s->gilsample, s->skel->progs.ct_gil_sample, err, errlen))
		log_warn(
			"%s: the GIL's released time on a CPU is not split into syscalls and native code",
			err);
	return 0;
}

static int seed_pass(struct session *s)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = bpf_iter_create(bpf_link__fd(s->skel->links.ct_seed));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/*
 * A thread whose storage could not be claimed at its fork (storage_failed)
 * is not traced; the seeding iterator finds it, if it still lives, and it
 * is traced from now on (seeded_late): one pass per snapshot that follows
 * new failures and one more, a walk of the machine's tasks (~1 ms per
 * 1,000 tasks).
 */
static void reseed(struct session *s)
{
	volatile struct ct_counters *c = &s->skel->bss->ct_counters;
	uint64_t failed = c->storage_failed;

	if ((failed == s->storage_failed && !s->reseed_again) || s->detach_ts)
		return;
	s->reseed_again = failed != s->storage_failed;
	s->storage_failed = failed;
	seed_pass(s); /* a failure here leaves the thread untraced, as counted */
}

static int targets_fd(const struct session *s)
{
	return bpf_map__fd(s->skel->maps.ct_targets);
}

int session_target_add(struct session *s, int pid, char *err, size_t errlen)
{
	struct ct_target tg = { .seeding = 1 };
	uint32_t key = (uint32_t)pid;
	int *p;

	if (!s->multi || s->detach_ts)
		return -EINVAL;
	p = vec_push(s->pending, s->npending, s->pending_cap);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (bpf_map_update_elem(targets_fd(s), &key, &tg, BPF_NOEXIST)) {
		int ret = -errno;

		s->npending--;
		if (ret == -E2BIG)
			snprintf(err, errlen, "pid %d: %d processes are traced already", pid,
				 MAX_TARGETS);
		else
			snprintf(err, errlen, "pid %d: cannot add it to the targets: %s", pid,
				 strerror(-ret));
		return ret;
	}
	*p = pid;
	/* Before its threads are seeded: a thread with a slot always passes the filter. */
	s->skel->bss->ct_tgid_bits[ct_tgid_word(key, s->tgid_mask)] |= ct_tgid_mask(key);
	return 0;
}

void session_target_remove(struct session *s, int pid)
{
	uint32_t key = (uint32_t)pid, next, w = ct_tgid_word(key, s->tgid_mask);
	__u64 m = ct_tgid_mask(key);
	bool shared = false;
	void *k = NULL;

	if (!s->multi || bpf_map_delete_elem(targets_fd(s), &key))
		return;
	/* Its bit goes, unless another target has it too (cleared first, it would miss events). */
	while (!shared && !bpf_map_get_next_key(targets_fd(s), k, &next)) {
		shared = ct_tgid_word(next, s->tgid_mask) == w && ct_tgid_mask(next) == m;
		key = next;
		k = &key;
	}
	if (!shared)
		s->skel->bss->ct_tgid_bits[w] &= ~m;
}

long session_target_seeded(const struct session *s, int pid)
{
	uint32_t key = (uint32_t)pid;
	struct ct_target tg;

	if (!s->multi || bpf_map_lookup_elem(targets_fd(s), &key, &tg))
		return 0;
	return tg.seeded;
}

/*
 * Multi mode, after the passes: the processes added since the last seed are
 * seeded; a thread of theirs found later is a late one. Threads seeded now.
 */
static long seed_done(struct session *s)
{
	struct ct_target tg;
	long n = 0;

	for (size_t i = 0; i < s->npending; i++) {
		uint32_t key = (uint32_t)s->pending[i];

		if (bpf_map_lookup_elem(targets_fd(s), &key, &tg))
			continue;
		tg.seeding = 0;
		/* Only the iterator counts, in passes run here: no count is lost. */
		bpf_map_update_elem(targets_fd(s), &key, &tg, BPF_EXIST);
		n += tg.seeded;
	}
	s->npending = 0;
	return n;
}

long session_seed(struct session *s, char *err, size_t errlen)
{
	volatile struct ct_counters *c = &s->skel->bss->ct_counters;
	uint64_t before;
	int ret;

	/* A thread created by a not yet seeded thread during a pass is found by the next. */
	for (int pass = 0; pass < 16; pass++) {
		before = c->seeded;
		ret = seed_pass(s);
		if (ret) {
			snprintf(err, errlen, "cannot list the target's threads: %s",
				 strerror(-ret));
			return ret;
		}
		if (c->seeded == before)
			break;
	}
	if (s->multi)
		return seed_done(s);
	/*
	 * None, and claims failed: the task storage was busy on that CPU (any
	 * BPF program's, a second contrace seeding at once: CI saw it once).
	 * A few more passes, 5 ms apart, before calling the target hidden.
	 */
	for (int retry = 0; !c->seeded && c->storage_failed && retry < 20; retry++) {
		usleep(5000);
		ret = seed_pass(s);
		if (ret) {
			snprintf(err, errlen, "cannot list the target's threads: %s",
				 strerror(-ret));
			return ret;
		}
	}
	/* None: the target exited (the caller says so), or the kernel hid it. */
	if (!c->seeded) {
		ret = target_unseen((int)s->skel->rodata->ct_cfg.targ_tgid, err, errlen);
		if (ret)
			return ret;
	}
	s->skel->bss->ct_seeding_done = 1;
	return (long)c->seeded;
}

static uint32_t used_slots(const struct session *s)
{
	uint32_t n = *(volatile uint32_t *)&s->skel->bss->ct_next_slot;

	return n < s->max_threads ? n : s->max_threads;
}

uint32_t session_slots_used(const struct session *s, uint32_t *max)
{
	*max = s->max_threads;
	return used_slots(s);
}

bool session_half_full(const struct session *s)
{
	uint32_t max, used = session_slots_used(s, &max);

	return used >= max / 2 || s->gil.n >= GIL_MAX_PROCS / 2 ||
	       s->holds.n >= HOLDS_MAX_PROCS / 2;
}

void session_probe_holds(struct session *s, int pid)
{
	char err[512];

	if (s->holds_on && !s->detach_ts && holds_attach(&s->holds, pid, err, sizeof(err)) < 0)
		log_warn("%s", err);
}

static int cmp_pid(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The processes with a thread still alive among the slots: sorted, each once. */
static size_t live_pids(const struct session *s, int **out)
{
	uint32_t nslots = used_slots(s);
	size_t n = 0, cap = 0, k = 0;
	int *v = NULL;

	for (uint32_t i = 0; i < nslots; i++) {
		const struct ct_thread *t = &s->slots[i];
		int *e;

		if (!task_accounted(t) || t->state == CT_ST_DEAD)
			continue;
		e = vec_push(v, n, cap);
		if (!e)
			break;
		*e = (int)t->tgid;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_pid);
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	*out = v;
	return k;
}

/* The throttling counts of the live processes' CPU quotas, for the snapshot. */
static void snapshot_quotas(struct session *s)
{
	int *pids = NULL;
	size_t n = live_pids(s, &pids);

	task_read_quotas(&s->procs, pids, n, true);
	free(pids);
}

size_t session_processes(const struct session *s)
{
	int *v = NULL;
	size_t n = live_pids(s, &v);

	free(v);
	return n;
}

/*
 * The processes an event named (a new image, a new process): their maps
 * and text now, before a short program is gone. The newest first, and at
 * most `budget` of them: a first look at a process costs about 1 ms (5 ms
 * under ASan), and after hundreds of forks the one that matters is the
 * latest. Called between the processes of a long pass too; what is left
 * waits for the next call.
 */
static void refresh_news(struct session *s, size_t budget)
{
	int done[16];
	size_t ndone = 0;

	ring_buffer__consume(s->events);
	if (budget > sizeof(done) / sizeof(done[0]))
		budget = sizeof(done) / sizeof(done[0]);
	while (s->nnews && ndone < budget) {
		int pid = s->news[--s->nnews];
		bool seen = false;

		for (size_t i = 0; i < ndone && !seen; i++)
			seen = done[i] == pid;
		if (seen)
			continue;
		symbolizer_update(s->sym, pid);
		done[ndone++] = pid;
	}
	futex_update_text(bpf_map__fd(s->skel->maps.ct_text), s->sym, done, ndone, false);
}

/*
 * Python threads' names: read with the refreshes (every 200 ms, every 5 ms
 * after a new process), every 50 ms for 2 s after a process appears
 * (session_read_names), at most every PYNAMES_GAP_MS per process, and at
 * each snapshot. Measured on 100 threads: 6 (3.12, 3.13) to 8 (3.8)
 * process_vm_readv calls per thread, 1.2-1.7 ms of contrace's CPU per
 * read on this 2-CPU VM under load: under 1% of a CPU at 200 ms.
 */
#define PYNAMES_GAP_MS 50

static void read_pynames(struct session *s, uint64_t gap_ns)
{
	uint64_t now = mono_ns();

	for (size_t i = 0; i < s->gil.n; i++) {
		const struct gil_proc *p = &s->gil.procs[i];

		if (!p->runtime || !pynames_known(p->info.version))
			continue;
		if (!s->pynames)
			s->pynames = pynames_new();
		if (!s->pynames)
			return;
		/* Not Python yet, gone, or not the memory expected: no names, nothing else lost. */
		int ret = pynames_update(s->pynames, p->info.pid, p->info.version, p->runtime, now,
					 gap_ns);

		if (ret < 0 && ret != -ENOENT && ret != -ESRCH)
			log_debug("pid %d: Python thread names not read: %s", p->info.pid,
				  strerror(-ret));
	}
}

void session_read_names(struct session *s)
{
	read_pynames(s, PYNAMES_GAP_MS * 1000000ULL);
}

/*
 * Now and then while tracing: /proc facts of new processes, and the maps and
 * symbols of the live ones, so that names resolve even after they exit, and
 * the BPF side knows where user code is (for call sites). Exited processes
 * keep what was read while they lived; only the live ones are read again
 * (with -f, hundreds may live at once, and thousands come and go).
 */
/* --holds and the GIL: probe process pid if it needs it. */
static void probe_process(struct session *s, int pid)
{
	char err[512];

	session_probe_holds(s, pid);
	if (s->gil.enabled && gil_attach(&s->gil, pid, err, sizeof(err)) < 0)
		log_warn("%s", err);
}

void session_refresh(struct session *s)
{
	int *pids = NULL;
	size_t n;

	reseed(s);
	warm_ahead(s, used_slots(s));
	task_refresh_procs(&s->procs, s->slots, used_slots(s));
	refresh_news(s, 16);
	n = live_pids(s, &pids);
	/* So that a process that exits has its throttling counted up to shortly before. */
	task_read_quotas(&s->procs, pids, n, false);
	/* A failed update (a process exiting) keeps what was read before. */
	for (size_t i = 0; i < n; i++) {
		symbolizer_update(s->sym, pids[i]);
		if (i % 4 == 3)
			refresh_news(s, 4);
	}
	free(pids);
	read_pynames(s, PYNAMES_GAP_MS * 1000000ULL);
	/* Text ranges for call sites: the live processes' (a full table takes no more). */
	n = live_pids(s, &pids);
	futex_update_text(bpf_map__fd(s->skel->maps.ct_text), s->sym, pids, n, true);
	free(pids);
	pids = NULL;
	/* Last: placing or removing uprobes can take milliseconds. */
	if (!s->holds_ready || s->detach_ts)
		return;
	n = live_pids(s, &pids);
	for (size_t i = 0; i < n; i++) {
		probe_process(s, pids[i]);
		if (i % 4 == 3)
			refresh_news(s, 4);
	}
	free(pids);
}

void session_refresh_pid(struct session *s, int pid)
{
	task_refresh_procs(&s->procs, s->slots, used_slots(s));
	symbolizer_update(s->sym, pid);
	futex_update_text(bpf_map__fd(s->skel->maps.ct_text), s->sym, &pid, 1, false);
	if (s->holds_ready && !s->detach_ts)
		probe_process(s, pid);
}

/*
 * While the probes run, a thread's caches (wakers, runners, blocked time)
 * and its syscall in progress move into the maps now and then. Reading the
 * maps first and the slots after can only see such a move late (counted in
 * the next snapshot), never twice: interval figures stay non-negative and
 * add up. Once detached, everything is still.
 */
int session_snapshot(struct session *s, struct snapshot *snap)
{
	int ret;

	reseed(s);
	/* The timeline's records up to now go before the snapshot. */
	if (s->timeline_sink)
		ring_buffer__consume(s->events);
	memset(snap, 0, sizeof(*snap));
	/* --stacks: the waits ended so far, as the lock tables read next count them. */
	if (s->stacks)
		ring_buffer__consume(s->events);
	ret = syscalls_read(snap, bpf_map__fd(s->skel->maps.ct_sysstats));
	if (!ret)
		ret = sched_read_wakers(snap, bpf_map__fd(s->skel->maps.ct_wakers));
	if (!ret)
		ret = sched_read_runners(snap, bpf_map__fd(s->skel->maps.ct_runners));
	if (!ret) {
		struct futex_fds fds = {
			.locks = bpf_map__fd(s->skel->maps.ct_locks),
			.edges = bpf_map__fd(s->skel->maps.ct_edges),
			.sites = bpf_map__fd(s->skel->maps.ct_sites),
		};

		ret = futex_read(snap, &fds);
	}
	if (!ret && s->gil.enabled)
		ret = gil_read(snap, bpf_map__fd(s->skel->maps.ct_gil_hists));
	if (!ret && s->gil.enabled)
		ret = gilsample_read(snap, bpf_map__fd(s->skel->maps.ct_native));
	if (ret)
		goto fail;
	snap->ts = s->detach_ts ? s->detach_ts : mono_ns();
	ret = task_read(snap, s->slots, used_slots(s));
	if (ret)
		goto fail;
	memcpy(&snap->counters, (const void *)&s->skel->bss->ct_counters, sizeof(snap->counters));
	if (s->stacks && stacks_snapshot(s->stacks, snap)) {
		ret = -ENOMEM;
		goto fail;
	}
	task_refresh_procs(&s->procs, snap->threads, snap->nthreads);
	snapshot_quotas(s);
	/* After the probes are gone too: a thread renamed before -d ran out. */
	read_pynames(s, 0);
	ret = task_copy_procs(&s->procs, snap);
	if (!ret)
		ret = pynames_snapshot(s->pynames, snap);
	if (!ret)
		ret = sched_close(snap);
	if (!ret)
		ret = syscalls_close(snap);
	if (!ret)
		ret = futex_name(snap, s->sym, s->pyframes, &s->syms);
	if (ret)
		goto fail;
	if (s->stacks)
		stacks_count_unnamed(snap);
	snapshot_normalize(snap);
	futex_owners(snap);
	ret = sched_resolve_names(&s->names, snap);
	if (ret)
		goto fail;
	return 0;
fail:
	snapshot_free(snap);
	return ret;
}

/*
 * A thread that exits is released (its tid gone) before its last switch
 * off the CPU, which is where its exit is accounted: a launched command's
 * exit can be reaped in between. Before the probes go, such threads (slot
 * live, tid gone) are given up to 100 ms to make it: else the report would
 * call them alive (seen 6 times in 12 runs of three threads under load).
 */
static void settle_exits(const struct session *s)
{
	uint32_t n = used_slots(s);
	bool pending = true;

	for (int ms = 0; ms < 100 && pending; ms++) {
		pending = false;
		for (uint32_t i = 0; i < n && !pending; i++) {
			const volatile struct ct_thread *th = &s->slots[i];

			if (!(th->flags & CT_TF_READY) || th->state == CT_ST_DEAD || !th->tid)
				continue;
			pending = syscall(SYS_tgkill, (int)th->tgid, (int)th->tid, 0) &&
				  errno == ESRCH;
		}
		if (pending)
			usleep(1000);
	}
}

void session_detach(struct session *s)
{
	if (!s->skel || s->detach_ts)
		return;
	settle_exits(s);
	/* The uprobes go at session_close (slow); from now on they do nothing. */
	s->skel->bss->ct_uprobes_off = 1;
	gilsample_detach(&s->gilsample);
	contrace_bpf__detach(s->skel);
	s->detach_ts = mono_ns();
}

static void session_release(struct session *s)
{
	holds_detach(&s->holds);
	gilsample_detach(&s->gilsample);
	gil_detach(&s->gil);
	ring_buffer__free(s->events);
	stacks_free(s->stacks);
	pyframes_free(s->pyframes);
	if (s->slots)
		munmap((void *)s->slots, s->slots_len);
	contrace_bpf__destroy(s->skel);
	task_free_procs(&s->procs);
	snapshot_free(&s->names);
	snapshot_free(&s->syms);
	symbolizer_free(s->sym);
	pynames_free(s->pynames);
	free(s->news);
	free(s->pending);
	memset(s, 0, sizeof(*s));
}

/* What --stacks cost: said on standard error unless -q (stacks are opt-in for their cost). */
static void stacks_log(const struct session *s)
{
	struct stacks_stats ss;

	if (!s->stacks || (!s->stacks_note && log_verbosity < 1))
		return;
	stacks_stats(s->stacks, &ss);
	fprintf(stderr,
		"contrace: --stacks: %llu stacks copied (%llu bytes on average; about 1 us per wait "
		"in the kernel), %llu unwound with libdw, the rest from its memo; %llu native "
		"on-CPU samples unwound: %.1f ms of contrace's CPU\n",
		(unsigned long long)ss.records,
		(unsigned long long)(ss.records ? ss.bytes / ss.records : 0),
		(unsigned long long)(ss.unwinds - ss.samples), (unsigned long long)ss.samples,
		(double)ss.cpu_ns / 1e6);
	log_info("--stacks: %llu copy hints given", (unsigned long long)ss.hint_writes);
}

void session_close(struct session *s)
{
	if (!s)
		return;
	stacks_log(s);
	session_release(s);
	free(s);
}

void session_holds_ready(struct session *s, bool ready)
{
	s->holds_ready = ready;
}

void session_meta(const struct session *s, struct report_meta *m, struct rpt_gil_info *gil,
		  size_t max)
{
	m->holds_probed = s->holds.probed;
	m->holds_unprobed = s->holds.skipped;
	m->ngil = gil_infos(&s->gil, gil, max);
	m->gil = gil;
	symbolizer_missing(s->sym, m->names_missing, sizeof(m->names_missing));
}

static int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbosity < 2)
		return 0;
	if (level != LIBBPF_DEBUG && log_verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void session_log_libbpf(void)
{
	libbpf_set_print(log_libbpf);
}
