// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/format.h"
#include "model/locks.h"
#include "out/json_stacks.h"
#include "out/report_json.h"

/*
 * Every key of the report is a string literal: json-c need not copy it (and
 * free the copy). A report of 400 threads per interval spent a third of its
 * JSON time in those copies and their frees.
 */
static void put(struct json_object *o, const char *literal_key, struct json_object *v)
{
	json_object_object_add_ex(o, literal_key, v, JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	put(o, k, json_object_new_uint64(v));
}

static void add_int(struct json_object *o, const char *k, int64_t v)
{
	put(o, k, json_object_new_int64(v));
}

/*
 * Thread names and command lines are bytes, cut by the kernel at 15 or by
 * us at 255, maybe inside a character: JSON must be UTF-8, so every byte
 * that starts no valid sequence becomes '?'.
 */
static struct json_object *utf8_string(const char *v)
{
	size_t len = strlen(v), i = 0, n;
	char *clean = malloc(len + 1);
	struct json_object *s;

	if (!clean)
		return NULL;
	while (i < len) {
		n = utf8_seq_len((const unsigned char *)v + i);
		if (!n) {
			clean[i++] = '?';
			continue;
		}
		memcpy(clean + i, v + i, n);
		i += n;
	}
	clean[len] = '\0';
	s = json_object_new_string(clean);
	free(clean);
	return s;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	put(o, k, utf8_string(v));
}

/* The launched command's arguments; [] with -p; null if not known (an older recording). */
/* Stripped files names were wanted from: [{file, debug_file}] (debug_file null: none to look for). */
static struct json_object *names_missing(const struct report_meta *m)
{
	struct json_object *a = json_object_new_array(), *o;
	char line[sizeof(m->names_missing)], *tab;
	const char *p = m->names_missing, *nl;
	size_t n;

	for (; a && *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		memcpy(line, p, n);
		line[n] = '\0';
		tab = strchr(line, '\t');
		if (tab)
			*tab++ = '\0';
		o = json_object_new_object();
		if (!o)
			break;
		add_str(o, "file", line);
		put(o, "debug_file", tab && *tab ? utf8_string(tab) : NULL);
		json_object_array_add(a, o);
	}
	return a;
}

/* The SUMMARY's findings, as the text has them: first, by the time they explain. */
static struct json_object *findings(const struct report *r)
{
	static const char *const kinds[] = {
		[RPT_FIND_NONE] = "none", [RPT_FIND_DEADLOCK] = "deadlock",
		[RPT_FIND_LOCK] = "lock", [RPT_FIND_GIL] = "gil",
		[RPT_FIND_CPU] = "cpu",
	};
	struct json_object *a = json_object_new_array(), *f;

	for (size_t i = 0; a && i < r->nfindings; i++) {
		const struct rpt_finding *x = &r->findings[i];

		f = json_object_new_object();
		if (!f)
			break;
		add_str(f, "kind", kinds[x->kind]);
		put(f, "pid", x->kind == RPT_FIND_NONE ? NULL : json_object_new_int64(x->pid));
		add_u64(f, "time_ns", x->ns);
		put(f, "section", x->section[0] ? json_object_new_string(x->section) : NULL);
		add_str(f, "finding", x->text);
		json_object_array_add(a, f);
	}
	return a;
}

static struct json_object *argv_array(const struct report_meta *m)
{
	struct json_object *a;

	if (m->launched && !m->argv_len)
		return NULL;
	a = json_object_new_array();
	for (size_t i = 0; a && i < m->argv_len; i += strlen(m->argv + i) + 1)
		json_object_array_add(a, utf8_string(m->argv + i));
	return a;
}

static void add_bool(struct json_object *o, const char *k, bool v)
{
	put(o, k, json_object_new_boolean(v));
}

static void add_double(struct json_object *o, const char *k, double v)
{
	put(o, k, json_object_new_double(v));
}

static struct json_object *hist_json(const struct hist *h, uint64_t sum, uint64_t max)
{
	struct json_object *o = json_object_new_object(), *b;
	int n = 0;

	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++)
		n += h->b[i] != 0;
	/* Sized: a default array has room for 32 (a histogram has thousands of rows). */
	b = json_object_new_array_ext(n);
	add_u64(o, "count", hist_count(h));
	add_u64(o, "sum_ns", sum);
	add_u64(o, "max_ns", max);
	add_u64(o, "p50_ns", hist_quantile(h, 0.5, max));
	add_u64(o, "p90_ns", hist_quantile(h, 0.9, max));
	add_u64(o, "p99_ns", hist_quantile(h, 0.99, max));
	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++) {
		struct json_object *row;

		if (!h->b[i])
			continue;
		row = json_object_new_array_ext(3);
		json_object_array_add(row, json_object_new_uint64(hist_lo(i)));
		json_object_array_add(
			row, i == CT_HIST_BUCKETS - 1 ? NULL : json_object_new_uint64(hist_hi(i)));
		json_object_array_add(row, json_object_new_uint64(h->b[i]));
		json_object_array_add(b, row);
	}
	put(o, "buckets", b);
	return o;
}

/* Calls and times only with --syscalls; null without, not a misleading 0. */
static void add_traced(struct json_object *o, const char *k, uint64_t v, bool traced)
{
	put(o, k, traced ? json_object_new_uint64(v) : NULL);
}

/*
 * Per syscall: blocks and blocked time, and with `full` the --syscalls
 * figures (null when not traced). Without `full`: the GIL release splits.
 */
static struct json_object *sys_rows(const struct rpt_syscall *s, size_t n, bool full, bool traced)
{
	struct json_object *a = json_object_new_array();
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		add_str(o, "name", syscall_name(s[i].nr, buf, sizeof(buf)));
		add_int(o, "nr", s[i].nr);
		add_u64(o, "blocks", s[i].blocks);
		add_u64(o, "blocked_ns", s[i].blocked_ns);
		if (full) {
			add_traced(o, "calls", s[i].calls, traced);
			add_traced(o, "errors", s[i].errors, traced);
			add_traced(o, "in_progress_at_start", s[i].partial, traced);
			add_traced(o, "in_progress_at_end", s[i].open, traced);
			add_traced(o, "total_ns", s[i].total_ns, traced);
			add_traced(o, "max_ns", s[i].max_ns, traced);
			add_traced(o, "offcpu_ns", s[i].offcpu_ns, traced);
		}
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *syscalls_json(const struct rpt_syscall *s, size_t n, bool traced)
{
	return sys_rows(s, n, true, traced);
}

static struct json_object *blocks_json(const struct rpt_syscall *s, size_t n)
{
	return sys_rows(s, n, false, false);
}

/* Rows of released time: blocked, and on a CPU from samples (null: not sampled, `absent`). */
static struct json_object *released_rows(const struct rpt_syscall *s, size_t n, bool absent)
{
	struct json_object *a = blocks_json(s, n);

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);

		put(o, "oncpu_ns", absent ? NULL : json_object_new_uint64(s[i].oncpu_ns));
		put(o, "samples", absent ? NULL : json_object_new_uint64(s[i].samples));
	}
	return a;
}

/*
 * The released on-CPU time's split (rpt_gil_split) into o: a thread's keys
 * in its `released` object, or the process's with a released_ prefix.
 */
static void split_json(struct json_object *o, bool proc, const struct rpt_gil_split *sp)
{
	static const char *const keys[2][4] = {
		{ "syscalls_oncpu_ns", "native_ns", "kernel_other_ns", "samples" },
		{ "released_syscalls_oncpu_ns", "released_native_ns", "released_kernel_other_ns",
		  "released_samples" },
	};
	uint64_t v[] = { sp->sys_ns, sp->native_ns, sp->kernel_ns, sp->samples };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		put(o, keys[proc][i], sp->absent ? NULL : json_object_new_uint64(v[i]));
}

/* Tier C: of hold_ns and wait_ns, the time on a CPU the samples gave them (0 in tiers A, B). */
static void sampled_holds_json(struct json_object *o, const struct rpt_gil_split *sp)
{
	put(o, "hold_sampled_ns", sp->absent ? NULL : json_object_new_uint64(sp->held_ns));
	put(o, "wait_sampled_ns", sp->absent ? NULL : json_object_new_uint64(sp->taking_ns));
}

static struct json_object *thread_gil_json(const struct rpt_thread_gil *g)
{
	struct json_object *o, *rel;

	if (!g->seen)
		return NULL;
	o = json_object_new_object();
	add_u64(o, "hold_ns", g->hold_ns);
	sampled_holds_json(o, &g->split);
	add_u64(o, "hold_max_ns", g->hold_max);
	add_u64(o, "wait_ns", g->wait_ns);
	put(o, "wait", hist_json(&g->wait_hist, g->wait_ns, g->wait_max));
	add_u64(o, "takes", g->takes);
	add_u64(o, "contended_takes", g->waits);
	add_u64(o, "forced_switch_requests", g->forced);
	rel = json_object_new_object();
	add_u64(rel, "total_ns", g->rel_ns);
	add_u64(rel, "blocked_ns", g->rel_blocked_ns);
	add_u64(rel, "runq_ns", g->rel_runq_ns);
	add_u64(rel, "oncpu_ns", g->rel_oncpu_ns);
	split_json(rel, false, &g->split);
	put(rel, "syscalls", released_rows(g->rel_sys, g->nrel_sys, g->split.absent));
	put(o, "released", rel);
	put(o, "blocked_holding", blocks_json(g->held_sys, g->nheld_sys));
	return o;
}

/*
 * A GIL not observed (its version not supported, no probe placed) has no
 * figures: null, not zeros that read as measured. Its head stays.
 */
static void null_gil_figures(struct json_object *o)
{
	static const char *const head[] = { "interpreter", "version", "free_threaded",	   "tier",
					    "why",	   "address", "switch_interval_us" };

	json_object_object_foreach(o, key, val)
	{
		bool keep = false;

		for (size_t i = 0; i < sizeof(head) / sizeof(head[0]) && !keep; i++)
			keep = !strcmp(key, head[i]);
		/* Replacing a member's value leaves the walk's entries in place. */
		if (!keep && val)
			json_object_object_add_ex(o, key, NULL, JSON_C_OBJECT_ADD_CONSTANT_KEY);
	}
}

/* Where native code ran, by function (null: not recorded). */
static struct json_object *native_json(const struct rpt_gil *g)
{
	struct json_object *a;

	if (g->native_absent || g->split.absent)
		return NULL;
	a = json_object_new_array();
	for (size_t i = 0; i < g->nnative; i++) {
		const struct rpt_native *n = &g->native[i];
		struct json_object *o = json_object_new_object();

		add_str(o, "function", n->name);
		add_bool(o, "symbol_found", n->found);
		add_u64(o, "samples", n->samples);
		add_u64(o, "ns", n->ns);
		json_object_array_add(a, o);
	}
	return a;
}

/* What a tagged stack's tag stands for (rpt_tagged_stack), and its count's and time's keys. */
enum tagged_kind { TAGGED_HOLDER, TAGGED_ONCPU, TAGGED_SYSCALL };

static const struct {
	const char *count, *ns;
} tagged_keys[] = {
	[TAGGED_HOLDER] = { "waits", "wait_ns" },
	[TAGGED_ONCPU] = { "samples", "ns" },
	[TAGGED_SYSCALL] = { "blocks", "blocked_ns" },
};

static void tag_json(struct json_object *e, enum tagged_kind kind, uint32_t tag,
		     const struct rpt_process *p)
{
	const struct rpt_thread *t;
	char name[32];

	switch (kind) {
	case TAGGED_HOLDER:
		t = rpt_thread_of(p, tag);
		put(e, "holder_tid", tag ? json_object_new_uint64(tag) : NULL);
		put(e, "holder", t ? json_object_new_string(rpt_thread_name(t)) : NULL);
		break;
	case TAGGED_ONCPU:
		add_str(e, "doing", rpt_smp_class_name(tag));
		break;
	case TAGGED_SYSCALL:
		add_str(e, "syscall", syscall_name((int)tag, name, sizeof(name)));
		break;
	}
}

/* A stack's waits or samples by thread (rpt_lock_stack.threads). */
static struct json_object *stack_threads_json(const struct rpt_lock_stack *st,
					      const struct rpt_process *p)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < st->nthreads; i++) {
		const struct rpt_stack_thread *th = &st->threads[i];
		const struct rpt_thread *t = rpt_thread_of(p, th->tid);
		struct json_object *e = json_object_new_object();

		add_u64(e, "tid", th->tid);
		put(e, "thread", t ? json_object_new_string(rpt_thread_name(t)) : NULL);
		add_u64(e, "count", th->waits);
		add_u64(e, "ns", th->wait_ns);
		json_object_array_add(a, e);
	}
	return a;
}

/*
 * --stacks: the GIL's waits by its holder's Python stack, a process's
 * on-CPU samples or its blocks in syscalls, by stack (null without --stacks).
 */
static struct json_object *tagged_json(const struct rpt_tagged_stack *v, size_t n,
				       enum tagged_kind kind, const struct rpt_process *p,
				       const struct jstacks *js)
{
	struct json_object *a;

	if (!js)
		return NULL;
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		int64_t k = jstacks_find(js, &v[i].st);

		tag_json(e, kind, v[i].tag, p);
		put(e, "stack", k < 0 ? NULL : json_object_new_int64(k));
		add_u64(e, tagged_keys[kind].count, v[i].st.waits);
		add_u64(e, tagged_keys[kind].ns, v[i].st.wait_ns);
		put(e, "threads", stack_threads_json(&v[i].st, p));
		json_object_array_add(a, e);
	}
	return a;
}

static struct json_object *gil_json(const struct rpt_gil *g, const struct rpt_process *p,
				    const struct jstacks *js)
{
	struct json_object *o, *v;
	char addr[32];

	if (!g)
		return NULL;
	o = json_object_new_object();
	add_str(o, "interpreter", g->info.file);
	add_str(o, "version", g->info.version);
	add_bool(o, "free_threaded", g->info.free_threaded);
	add_str(o, "tier", rpt_gil_tier_name(g->info.tier));
	add_str(o, "why", g->info.why);
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)g->info.addr);
	put(o, "address", g->info.addr ? json_object_new_string(addr) : NULL);
	put(o, "switch_interval_us",
	    g->info.interval_us ? json_object_new_uint64(g->info.interval_us) : NULL);
	add_u64(o, "threads", g->nthreads);
	add_u64(o, "hold_ns", g->hold_ns);
	sampled_holds_json(o, &g->split);
	add_double(o, "held_fraction", g->held_fraction);
	add_u64(o, "wait_ns", g->wait_ns);
	add_double(o, "avg_waiting", g->avg_waiting);
	add_u64(o, "takes", g->takes);
	add_u64(o, "contended_takes", g->waits);
	add_double(o, "contended_takes_per_s", g->takes_per_s);
	add_u64(o, "forced_switch_requests", g->forced);
	add_u64(o, "released_ns", g->rel_ns);
	add_u64(o, "released_blocked_ns", g->rel_blocked_ns);
	add_u64(o, "released_runq_ns", g->rel_runq_ns);
	add_u64(o, "released_oncpu_ns", g->rel_oncpu_ns);
	add_u64(o, "released_sync_ns", g->rel_sync_ns);
	add_u64(o, "released_io_ns", g->rel_io_ns);
	put(o, "released_io_oncpu_ns",
	    g->split.absent ? NULL : json_object_new_uint64(g->rel_io_cpu_ns));
	split_json(o, true, &g->split);
	add_double(o, "parallelism", g->parallelism);
	put(o, "released_syscalls", released_rows(g->rel_sys, g->nrel_sys, g->split.absent));
	put(o, "native_code", native_json(g));
	put(o, "native_code_other_ns",
	    g->native_absent || g->split.absent ? NULL :
						  json_object_new_uint64(g->native_other_ns));
	put(o, "holder_stacks", tagged_json(g->holders, g->nholders, TAGGED_HOLDER, p, js));
	v = json_object_new_array();
	for (size_t i = 0; i < g->nverdicts; i++)
		json_object_array_add(v, json_object_new_string(g->verdicts[i]));
	put(o, "verdicts", v);
	if (g->info.tier == RPT_GIL_NONE)
		null_gil_figures(o);
	return o;
}

/*
 * The figures of bpf/figures.def with a JSON key, for a thread or (process:
 * their process keys) a process; null for one not measured (an older
 * recording).
 */
static void figs_json(struct json_object *o, const struct rpt_sched *s, bool process)
{
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct fig_desc *d = &fig_table[i];
		const char *key = process ? d->pjson : d->json;

		if (!key)
			continue;
		if (fig_absent(&s->f, (enum fig_id)i))
			put(o, key, NULL);
		else
			add_u64(o, key, fig_get(&s->f, d));
	}
	put(o, "wakeup_latency", hist_json(&s->wakelat, s->f.wakelat_sum, s->f.wakelat_max));
}

static const char *const runner_kinds[] = {
	[RPT_RUN_SIBLING] = "own_thread",
	[RPT_RUN_PROCESS] = "process",
	[RPT_RUN_KERNEL] = "kernel_thread",
	[RPT_RUN_IRQ] = "interrupts",
	[RPT_RUN_IDLE] = "idle",
	[RPT_RUN_UNKNOWN] = "unknown",
};

/* Who had the CPU while the thread or process waited in the run queue. */
static struct json_object *runners_json(const struct rpt_runner *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		add_str(o, "kind", runner_kinds[v[i].kind]);
		/* None for idle, interrupts and the runs before the ring's oldest ("unknown"). */
		put(o, "tid",
		    v[i].tid && v[i].kind != RPT_RUN_UNKNOWN && v[i].kind != RPT_RUN_IRQ ?
			    json_object_new_int64(v[i].tid) :
			    NULL);
		put(o, "pid", v[i].pid ? json_object_new_int64(v[i].pid) : NULL);
		add_str(o, "comm", v[i].comm);
		add_u64(o, "ns", v[i].ns);
		add_u64(o, "waits", v[i].waits);
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *thread_json(const struct rpt_thread *t, bool traced)
{
	struct json_object *o = json_object_new_object(), *w = json_object_new_array();

	add_int(o, "tid", t->tid);
	add_str(o, "comm", t->comm);
	/* threading.Thread.name, read from the process's memory (sanitised there). */
	put(o, "python_name", t->pyname[0] ? utf8_string(t->pyname) : NULL);
	add_bool(o, "started", t->started);
	add_bool(o, "exited", t->exited);
	add_u64(o, "start_offset_ns", t->start_ns);
	add_u64(o, "alive_ns", t->alive_ns);
	figs_json(o, &t->s, false);
	for (size_t i = 0; i < t->nwakers; i++) {
		struct json_object *e = json_object_new_object();

		const struct rpt_waker *rw = &t->wakers[i];
		bool special = rw->tid == CT_WAKER_IRQ || rw->tid == CT_WAKER_UNKNOWN;

		add_str(e, "kind",
			rw->tid == CT_WAKER_IRQ	    ? "interrupt" :
			rw->tid == CT_WAKER_UNKNOWN ? "unknown" :
			rw->softirq		    ? "softirq" :
						      "thread");
		add_int(e, "tid", special ? 0 : rw->tid);
		add_int(e, "pid", special ? 0 : rw->pid);
		add_str(e, "comm", rw->comm);
		add_u64(e, "count", t->wakers[i].count);
		json_object_array_add(w, e);
	}
	put(o, "wakers", w);
	put(o, "preempted_by", runners_json(t->runners, t->nrunners));
	put(o, "syscalls", syscalls_json(t->sys, t->nsys, traced));
	put(o, "gil", thread_gil_json(&t->gil));
	return o;
}

static struct json_object *party_json(const struct rpt_lock_party *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		uint32_t tid = v[i].tid;

		add_str(o, "kind",
			tid == CT_WAKER_IRQ	? "timer" :
			tid == CT_WAKER_UNKNOWN ? "unknown" :
						  "thread");
		add_int(o, "tid", tid == CT_WAKER_IRQ || tid == CT_WAKER_UNKNOWN ? 0 : tid);
		add_str(o, "comm", v[i].comm);
		add_u64(o, "waits", v[i].waits);
		add_u64(o, "wait_ns", v[i].wait_ns);
		json_object_array_add(a, o);
	}
	return a;
}

/* --stacks: the lock's waits by stack (null: the waits without one). */
static struct json_object *lock_stacks_json(const struct rpt_lock *l, const struct rpt_process *p,
					    const struct jstacks *js)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < l->nstacks; i++) {
		struct json_object *e = json_object_new_object();
		int64_t k = jstacks_find(js, &l->stacks[i]);

		put(e, "stack", k < 0 ? NULL : json_object_new_int64(k));
		add_u64(e, "waits", l->stacks[i].waits);
		add_u64(e, "wait_ns", l->stacks[i].wait_ns);
		put(e, "threads", stack_threads_json(&l->stacks[i], p));
		json_object_array_add(a, e);
	}
	return a;
}

static struct json_object *lock_json(const struct rpt_lock *l, const struct rpt_process *p,
				     bool traced, const struct jstacks *js)
{
	struct json_object *o = json_object_new_object(), *a;
	char addr[24];

	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)l->uaddr);
	add_str(o, "address", addr);
	add_str(o, "name", l->name);
	add_bool(o, "named", l->named);
	add_str(o, "futex_op", futex_kind(l->op));
	add_str(o, "kind", l->kind == RPT_KIND_LOCK ? "lock" : "event");
	add_str(o, "kind_why", lock_why_key(l->why));
	add_bool(o, "condvar", l->condvar);
	add_bool(o, "gil", l->gil);
	add_u64(o, "waits", l->waits);
	add_u64(o, "wait_ns", l->wait_ns);
	put(o, "wait", hist_json(&l->wait_hist, l->wait_ns, l->wait_max));
	add_u64(o, "wakes", l->wakes);
	add_u64(o, "timer_wakes", l->timeouts);
	add_u64(o, "other_wakes", l->other_wakes);
	add_u64(o, "exit_wakes", l->exit_wakes);
	add_bool(o, "thread_join", l->join);
	add_u64(o, "holds", l->holds);
	add_u64(o, "hold_ns", l->hold_ns);
	put(o, "hold", hist_json(&l->hold_hist, l->hold_ns, l->hold_max));
	add_u64(o, "contended_ns", l->contended_ns);
	put(o, "exact_holds",
	    l->exact ? hist_json(&l->xhold_hist, l->xhold_ns, l->xhold_max) : NULL);
	add_traced(o, "retries", l->retries, traced);
	add_traced(o, "timeouts", l->timeouts_ret, traced);
	add_traced(o, "wake_calls", l->wake_calls, traced);
	add_traced(o, "woken", l->woken, traced);
	add_double(o, "held_fraction", l->held_fraction);
	add_double(o, "avg_waiting", l->avg_waiting);
	add_bool(o, "serialising", l->serialising);
	put(o, "parallelism_bound",
	    l->held_fraction > 0 ? json_object_new_double(1.0 / l->held_fraction) : NULL);
	put(o, "waiters", party_json(l->waiters, l->nwaiters));
	/* An event has no holder: the threads that woke its waiters signalled it. */
	put(o, "holders", party_json(l->holders, l->kind == RPT_KIND_LOCK ? l->nholders : 0));
	put(o, "signallers", party_json(l->holders, l->kind == RPT_KIND_EVENT ? l->nholders : 0));
	add_u64(o, "wait_threads", l->nwait_threads);
	a = json_object_new_array();
	for (size_t i = 0; i < l->nchains; i++) {
		const struct rpt_lock_chain *c = &l->chains[i];
		struct json_object *e = json_object_new_object();

		add_int(e, "waiter", c->waiter);
		add_str(e, "waiter_comm", c->waiter_comm);
		add_str(e, "holder_kind",
			c->holder == CT_WAKER_IRQ     ? "timer" :
			c->holder == CT_WAKER_UNKNOWN ? "unknown" :
							"thread");
		add_int(e, "holder",
			c->holder == CT_WAKER_IRQ || c->holder == CT_WAKER_UNKNOWN ? 0 : c->holder);
		add_str(e, "holder_comm", c->holder_comm);
		add_u64(e, "waits", c->waits);
		add_u64(e, "wait_ns", c->wait_ns);
		add_str(e, "holder_site", c->holder_site);
		add_str(e, "waiter_site", c->waiter_site);
		json_object_array_add(a, e);
	}
	put(o, "chains", a);
	a = json_object_new_array();
	for (size_t i = 0; i < l->nsites; i++) {
		struct json_object *e = json_object_new_object();

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)l->sites[i].addr);
		add_str(e, "name", l->sites[i].name);
		add_str(e, "address", addr);
		add_u64(e, "waits", l->sites[i].waits);
		add_u64(e, "wait_ns", l->sites[i].wait_ns);
		json_object_array_add(a, e);
	}
	put(o, "call_sites", a);
	a = json_object_new_array();
	for (size_t i = 0; i < l->nnow; i++) {
		const struct rpt_lock_now *w = &l->now[i];
		struct json_object *e = json_object_new_object();

		add_int(e, "tid", w->tid);
		add_str(e, "comm", w->comm);
		add_u64(e, "wait_ns", w->wait_ns);
		add_bool(e, "began_before_trace", w->before);
		add_bool(e, "idle", w->idle);
		put(e, "for_tid", w->owner ? json_object_new_int64(w->owner) : NULL);
		add_str(e, "for_comm", w->owner_comm);
		add_str(e, "for_kind", !w->owner ? "unknown" : w->join ? "join" : "owner");
		add_str(e, "call_site", w->site);
		json_object_array_add(a, e);
	}
	put(o, "waiting_now", a);
	add_u64(o, "waiting_now_ns", l->now_ns);
	if (js)
		put(o, "stacks", lock_stacks_json(l, p, js));
	return o;
}

static struct json_object *deadlocks_json(const struct rpt_process *p)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < p->ndeadlocks; i++) {
		const struct rpt_deadlock *d = &p->deadlocks[i];
		struct json_object *c = json_object_new_array();

		for (size_t m = 0; m < d->n; m++) {
			struct json_object *e = json_object_new_object();

			add_int(e, "tid", d->m[m].tid);
			add_str(e, "comm", d->m[m].comm);
			add_str(e, "lock", d->m[m].lock);
			add_int(e, "held_by", d->m[m].owner);
			json_object_array_add(c, e);
		}
		json_object_array_add(a, c);
	}
	return a;
}

/* The cgroup CPU quota that limits it and its throttling in the window; null without one. */
static struct json_object *quota_json(const struct rpt_quota *q)
{
	struct json_object *o;

	if (!q->set)
		return NULL;
	o = json_object_new_object();
	add_str(o, "cgroup", q->cgroup);
	add_str(o, "file", q->v1 ? "cpu.cfs_quota_us" : "cpu.max");
	add_u64(o, "quota_us", q->quota_us);
	add_u64(o, "period_us", q->period_us);
	add_u64(o, "periods", q->periods);
	add_u64(o, "throttled_periods", q->throttled);
	add_u64(o, "throttled_ns", q->throttled_ns);
	return o;
}

static struct json_object *process_json(const struct rpt_process *p, bool with_threads, bool traced,
					const struct jstacks *js)
{
	struct json_object *o = json_object_new_object();
	uint64_t cap = p->wall_ns * (uint64_t)(p->ncpus > 0 ? p->ncpus : 1);

	if (with_threads) {
		add_int(o, "pid", p->pid);
		add_str(o, "comm", p->comm);
		add_str(o, "cmdline", p->cmdline);
		add_bool(o, "exited", p->exited);
	}
	add_int(o, "ncpus", p->ncpus);
	add_u64(o, "wall_ns", p->wall_ns);
	add_double(o, "cpu_utilization", cap ? (double)p->s.f.oncpu_ns / (double)cap : 0.0);
	figs_json(o, &p->s, true);
	add_u64(o, "thread_count", p->nthreads);
	add_u64(o, "threads_started", p->threads_started);
	add_u64(o, "threads_exited", p->threads_exited);
	put(o, "syscalls", syscalls_json(p->sys, p->nsys, traced));
	if (with_threads) {
		struct json_object *a = json_object_new_array();

		put(o, "gil", gil_json(p->gil, p, js));
		put(o, "oncpu_stacks", tagged_json(p->oncpu, p->noncpu, TAGGED_ONCPU, p, js));
		put(o, "blocked_stacks",
		    tagged_json(p->sysstacks, p->nsysstacks, TAGGED_SYSCALL, p, js));
		put(o, "preempted_by", runners_json(p->runners, p->nrunners));
		put(o, "cpu_quota", quota_json(&p->quota));
		add_u64(o, "busy_threads", p->busy_threads);
		add_double(o, "runnable_avg", p->runnable_avg);
		for (size_t i = 0; i < p->nrunq_verdicts; i++)
			json_object_array_add(a, json_object_new_string(p->runq_verdicts[i]));
		put(o, "runq_verdicts", a);
		a = json_object_new_array();
		for (size_t i = 0; i < p->nlocks; i++)
			json_object_array_add(a, lock_json(&p->locks[i], p, traced, js));
		put(o, "locks", a);
		add_u64(o, "idle_threads", p->nidle);
		add_u64(o, "idle_ns", p->idle_ns);
		put(o, "deadlocks", deadlocks_json(p));
		a = json_object_new_array();
		for (size_t i = 0; i < p->nthreads; i++)
			json_object_array_add(a, thread_json(&p->threads[i], traced));
		put(o, "threads", a);
	}
	return o;
}

static struct json_object *across_procs_json(const struct rpt_process *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		add_int(e, "pid", v[i]->pid);
		add_str(e, "comm", v[i]->comm);
		add_u64(e, "cpu_ns", v[i]->s.f.oncpu_ns);
		add_u64(e, "runq_ns", v[i]->s.f.runq_ns);
		add_u64(e, "blocked_ns", v[i]->s.f.blocked_ns);
		add_u64(e, "thread_count", v[i]->nthreads);
		json_object_array_add(a, e);
	}
	return a;
}

/* Rows naming their process: `name` is "lock", "syscall" or "event", `count` "waits" or "blocks". */
static struct json_object *across_rows_json(const struct rpt_across_row *v, size_t n,
					    const char *name, const char *count, const char *time)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		add_int(e, "pid", v[i].pid);
		add_str(e, "comm", v[i].comm);
		add_str(e, name, v[i].name);
		add_u64(e, count, v[i].count);
		add_u64(e, time, v[i].ns);
		json_object_array_add(a, e);
	}
	return a;
}

/* -f with several processes: the text's ACROSS section; null otherwise. */
static struct json_object *across_json(const struct report *r)
{
	const struct rpt_across *a = r->across;
	struct json_object *o;

	if (!a)
		return NULL;
	o = json_object_new_object();
	add_u64(o, "process_count", a->nprocs);
	put(o, "by_cpu", across_procs_json(a->by_cpu, a->nprocs));
	put(o, "by_runq", across_procs_json(a->by_runq, a->nprocs));
	put(o, "locks", across_rows_json(a->locks, a->nlocks, "lock", "waits", "wait_ns"));
	put(o, "syscalls", across_rows_json(a->sys, a->nsys, "syscall", "blocks", "blocked_ns"));
	put(o, "events", across_rows_json(a->events, a->nevents, "event", "waits", "wait_ns"));
	return o;
}

static void iso8601(char *buf, size_t len, uint64_t real_ns)
{
	time_t t = (time_t)(real_ns / 1000000000ULL);
	struct tm tm;
	char date[32];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03uZ", date, (unsigned int)(real_ns / 1000000 % 1000));
}

struct json_object *report_to_json(const struct report *r)
{
	const struct report_meta *m = r->meta;
	struct json_object *o = json_object_new_object(), *host, *trace, *drops, *procs;
	struct jstacks js = { 0 };
	char when[40];

	if (!o)
		return NULL;
	add_int(o, "schema_version", REPORT_SCHEMA_VERSION);
	add_str(o, "contrace_version", m->version);
	add_str(o, "kind", r->interval ? "interval" : "total");
	add_int(o, "interval_index", r->interval ? r->index : 0);

	host = json_object_new_object();
	add_str(host, "hostname", m->hostname);
	add_str(host, "kernel", m->kernel);
	add_int(host, "ncpus", m->ncpus);
	put(o, "host", host);

	trace = json_object_new_object();
	iso8601(when, sizeof(when), m->trace_start_real_ns + r->window_start_ns);
	add_str(trace, "started_at", when);
	add_u64(trace, "window_start_ns", r->window_start_ns);
	add_u64(trace, "duration_ns", r->duration_ns);
	/* null without -i, and in a recording made before -i was stored */
	put(trace, "interval_ns", m->interval_ns ? json_object_new_uint64(m->interval_ns) : NULL);
	put(trace, "short_interval",
	    m->interval_ns ? json_object_new_boolean(model_interval_short(r)) : NULL);
	add_str(trace, "mode", m->launched ? "command" : "pid");
	add_int(trace, "target_pid", m->target_pid);
	add_str(trace, "command", m->command);
	put(trace, "argv", argv_array(m));
	put(trace, "names_missing", m->names_unknown ? NULL : names_missing(m));
	add_bool(trace, "follow", m->follow);
	add_bool(trace, "syscalls", m->syscalls);
	add_bool(trace, "holds", m->holds);
	add_bool(trace, "truncated", m->truncated);
	add_u64(trace, "holds_probed", m->holds_probed);
	add_u64(trace, "threads_at_start", r->threads_seeded);
	add_u64(trace, "threads_found_late", r->threads_late);
	put(trace, "threads_claimed_late",
	    r->threads_claimed_late_absent ? NULL :
					     json_object_new_uint64(r->threads_claimed_late));
	if (m->launched && !r->interval && (m->exit_status >= 0 || m->exit_signal)) {
		add_int(trace, "exit_status", m->exit_status);
		add_int(trace, "exit_signal", m->exit_signal);
	}
	put(o, "trace", trace);
	put(o, "summary", findings(r));
	put(o, "across", across_json(r));

	drops = json_object_new_object();
	add_bool(drops, "any", model_has_drops(r));
	add_bool(drops, "warning", model_has_warnings(r));
	for (int i = 0; i < DROP_COUNT; i++) {
		/* Not measured: absent from the recording, or the stacks' without --stacks. */
		if ((r->drops.absent & 1ULL << i) ||
		    (!r->meta->stacks && i >= DROP_stacks_lost && i <= DROP_pyframes_unnamed))
			json_object_object_add(drops, drop_table[i].json, NULL);
		else
			add_u64(drops, drop_table[i].json,
				rpt_drop_get(&r->drops, (enum drop_id)i));
	}
	add_u64(drops, "holds_unprobed", r->drops.holds_unprobed);
	put(o, "drops", drops);

	if (m->stacks && jstacks_build(&js, r)) {
		json_object_put(o);
		return NULL;
	}
	procs = json_object_new_array();
	for (size_t i = 0; i < r->nprocs; i++)
		json_object_array_add(procs, process_json(&r->procs[i], true, m->syscalls,
							  m->stacks ? &js : NULL));
	put(o, "processes", procs);
	put(o, "total", process_json(&r->total, false, m->syscalls, m->stacks ? &js : NULL));
	if (m->stacks) {
		put(o, "stacks", jstacks_json(&js));
		jstacks_free(&js);
	}
	return o;
}

int report_json(FILE *f, const struct report *r, bool pretty)
{
	struct json_object *o = report_to_json(r);
	const char *s;
	int ret = 0;

	if (!o)
		return -1;
	s = json_object_to_json_string_ext(o, (pretty ? JSON_C_TO_STRING_PRETTY : 0) |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || fprintf(f, "%s\n", s) < 0 || fflush(f))
		ret = -1;
	json_object_put(o);
	return ret;
}
