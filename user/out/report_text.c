// SPDX-License-Identifier: GPL-2.0-only
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/format.h"
#include "model/gil.h"
#include "model/locks.h"
#include "out/views.h"
#include "out/report_text.h"

#define D(ns) fmt_dur((char[FMT_LEN]){ 0 }, FMT_LEN, (ns))
#define P(r) fmt_pct((char[FMT_LEN]){ 0 }, FMT_LEN, (r))

static size_t rows(size_t n, const struct text_opts *o)
{
	return o->top > 0 && (size_t)o->top < n ? (size_t)o->top : n;
}

static void heading(FILE *f, const char *title, size_t shown, size_t n, const char *order)
{
	if (shown < n)
		fprintf(f, "\n  %s (top %zu of %zu, by %s)\n", title, shown, n, order);
	else
		fprintf(f, "\n  %s (by %s)\n", title, order);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_header(FILE *f, const struct report *r)
{
	const struct report_meta *m = r->meta;

	fprintf(f, "contrace %s: ", m->version);
	if (m->launched)
		fprintf(f, "command [%s] (pid %d)", m->command, m->target_pid);
	else
		fprintf(f, "pid %d", m->target_pid);
	if (m->follow)
		fprintf(f, " and its children");
	fprintf(f, ", %s on %d CPUs, Linux %s\n", D(r->duration_ns), m->ncpus, m->kernel);
	if (r->interval && model_interval_short(r))
		fprintf(f, "interval %d: %s to %s after tracing began (short: %s of %s)\n",
			r->index, D(r->window_start_ns), D(r->window_start_ns + r->duration_ns),
			D(r->duration_ns), D(m->interval_ns));
	else if (r->interval)
		fprintf(f, "interval %d: %s to %s after tracing began\n", r->index,
			D(r->window_start_ns), D(r->window_start_ns + r->duration_ns));
	if (m->truncated)
		fprintf(f,
			"TRUNCATED: the recording was cut short; this is its last whole snapshot\n");
}

/* The wakeups of the window, over its processes: what a wakeup-latency loss is a share of. */
static uint64_t wakeups_of(const struct report *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->nprocs; i++)
		n += r->procs[i].s.f.wakeups;
	return n;
}

/*
 * Names shown as file:0xADDR for want of a stripped file's debug symbols:
 * which file, and the debug file that would name them.
 */
static void print_names_missing(FILE *f, const struct report_meta *m)
{
	const char *p = m->names_missing, *nl, *tab;
	int n, k;

	for (; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		n = nl ? (int)(nl - p) : (int)strlen(p);
		tab = memchr(p, '\t', (size_t)n);
		k = tab ? (int)(tab - p) : n;
		if (tab && tab + 1 < p + n)
			fprintf(f,
				"note: names in %.*s shown as addresses: its debug symbols, %.*s, are not installed (Debian: its -dbg or -dbgsym package)\n",
				k, p, n - k - 1, tab + 1);
		else
			fprintf(f,
				"note: names in %.*s shown as addresses: it is stripped, with no build-id or debuglink to find its debug symbols by\n",
				k, p);
	}
}

/*
 * Losses, graded (drops.def): those that leave a figure shown short under
 * one WARNING naming the figures; those that only thin a sample (a few
 * wakeup latencies on almost every run) as a note with their share.
 */
static void print_drops(FILE *f, const struct report *r)
{
	const struct rpt_drops *d = &r->drops;
	uint64_t n;

	if (model_has_warnings(r))
		fprintf(f, "WARNING: some data was lost; these figures are incomplete:\n");
	for (int i = 0; i < DROP_COUNT; i++) {
		if (!(drop_table[i].grade & DROP_WARN) || !(n = rpt_drop_get(d, (enum drop_id)i)))
			continue;
		fprintf(f, "  %llu %s\n", (unsigned long long)n, drop_table[i].text);
		if (i == DROP_storage_failed && r->threads_late)
			fprintf(f, "    (%llu of them found alive later, traced from then on)\n",
				(unsigned long long)r->threads_late);
	}
	if (d->holds_unprobed)
		fprintf(f,
			"  %llu processes without exact holds: their C library was not probed; no 'holds' lines for them\n",
			(unsigned long long)d->holds_unprobed);
	print_names_missing(f, r->meta);
	for (int i = 0; i < DROP_COUNT; i++) {
		if (!(drop_table[i].grade & DROP_NOTE) || !(n = rpt_drop_get(d, (enum drop_id)i)))
			continue;
		if (drop_table[i].grade & DROP_OF_WAKEUPS)
			fprintf(f, "note: %llu of %llu %s\n", (unsigned long long)n,
				(unsigned long long)wakeups_of(r), drop_table[i].text);
		else
			fprintf(f, "note: %llu %s\n", (unsigned long long)n, drop_table[i].text);
	}
}

static void print_summary(FILE *f, const struct rpt_process *p)
{
	fprintf(f, "  wall %s   CPU %s = %s of %d CPU%s   run-queue wait %s   blocked %s\n",
		D(p->wall_ns), D(p->s.f.oncpu_ns),
		P(ratio(p->s.f.oncpu_ns, p->wall_ns * (uint64_t)p->ncpus)), p->ncpus,
		p->ncpus == 1 ? "" : "s", D(p->s.f.runq_ns), D(p->s.f.blocked_ns));
	if (p->s.f.stolen_ns)
		fprintf(f,
			"  while running, %s of CPU time went to the hypervisor (steal) or IRQs\n",
			D(p->s.f.stolen_ns));
	fprintf(f,
		"  threads %zu (%zu started, %zu exited)   switches %llu voluntary, %llu involuntary   wakeups %llu\n",
		p->nthreads, p->threads_started, p->threads_exited,
		(unsigned long long)p->s.f.nvcsw, (unsigned long long)p->s.f.nivcsw,
		(unsigned long long)p->s.f.wakeups);
	if (p->quota.set)
		fprintf(f,
			"  CPU quota %s per %s (%s of %s): throttled in %llu of %llu periods, %s\n",
			D(p->quota.quota_us * 1000), D(p->quota.period_us * 1000),
			p->quota.v1 ? "cpu.cfs_quota_us" : "cpu.max", p->quota.cgroup,
			(unsigned long long)p->quota.throttled,
			(unsigned long long)p->quota.periods, D(p->quota.throttled_ns));
}

/*
 * Whether a figure has a THREADS column: one, and measured (a recording
 * older than the figure gets no column of dashes).
 */
static bool fig_shown(const struct rpt_process *p, int k)
{
	return fig_table[k].heading && !fig_absent(&p->s.f, (enum fig_id)k);
}

/* A figure's THREADS column: a time, a count, or "-" when not measured. */
static void fig_column(FILE *f, const struct figs *v, int k)
{
	const struct fig_desc *d = &fig_table[k];
	char buf[32];

	if (fig_absent(v, (enum fig_id)k))
		fprintf(f, " %*s", d->width, "-");
	else if (d->unit == NS)
		fprintf(f, " %*s", d->width, fmt_dur(buf, sizeof(buf), fig_get(v, d)));
	else
		fprintf(f, " %*llu", d->width, (unsigned long long)fig_get(v, d));
}

/* "tid name" of a lock's party: a tid and a Python thread's name. */
#define PARTY_LEN (16 + SNAP_PYNAME_LEN)

/*
 * The NAME column of a process's thread tables: a comm fits in 16; a Python
 * thread's name (threading.Thread.name) may be longer, up to NAME_MAX_W
 * ("ThreadPoolExecutor-12_3" is 23), cut with a '~' beyond.
 */
#define NAME_MIN_W 16
#define NAME_MAX_W 24

static int name_width(const struct rpt_process *p)
{
	size_t w = NAME_MIN_W;

	for (size_t i = 0; i < p->nthreads; i++) {
		size_t n = strlen(rpt_thread_name(&p->threads[i]));

		if (n > w)
			w = n < NAME_MAX_W ? n : NAME_MAX_W;
	}
	return (int)w;
}

/* A thread's name cut to w bytes (a UTF-8 sequence is not split), ending in '~' if cut. */
static const char *name_cut(char *buf, size_t len, const char *name, int w)
{
	size_t n = strlen(name);

	if (n <= (size_t)w || len < (size_t)w + 1)
		return name;
	n = (size_t)w - 1;
	while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s~", (int)n, name);
	return buf;
}

/* The name of thread tid as p's thread tables show it: its Python name if it has one. */
static const char *tid_name(const struct rpt_process *p, uint32_t tid, const char *comm)
{
	for (size_t i = 0; p && i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return rpt_thread_name(&p->threads[i]);
	return comm;
}

/*
 * Threads of one role are one row of THREADS when GROUP_MIN or more share
 * it: a server's 1,756 short-lived threads, a pool's workers. The role is
 * the name without a trailing number (worker-12 and worker-3: "worker-").
 * -v or --top 0 shows every thread; JSON always does.
 */
#define GROUP_MIN 8

struct role {
	const char *name;
	size_t len; /* of the role: the name without its trailing digits */
	size_t count; /* threads */
	size_t first; /* index of its first thread in the process's order */
	size_t started, exited;
	uint64_t alive_ns;
	struct rpt_sched sum;
	uint64_t *oncpu, *runq; /* per thread, sorted, for percentiles */
};

static size_t role_len(const char *name)
{
	size_t n = strlen(name);

	while (n && name[n - 1] >= '0' && name[n - 1] <= '9')
		n--;
	return n ? n : strlen(name);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void free_roles(struct role *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].oncpu);
		free(v[i].runq);
	}
	free(v);
}

/* The role of each thread (role_of[i]: its index in the roles), and the roles. */
static struct role *find_roles(const struct rpt_process *p, size_t *role_of, size_t *nroles)
{
	struct role *v = calloc(p->nthreads ? p->nthreads : 1, sizeof(*v));
	size_t n = 0, k;

	if (!v)
		return NULL;
	/* A role per new name prefix: quadratic in roles, which are few when it matters. */
	for (size_t i = 0; i < p->nthreads; i++) {
		const char *name = rpt_thread_name(&p->threads[i]);
		size_t len = role_len(name);

		for (k = 0; k < n && !(v[k].len == len && !strncmp(v[k].name, name, len)); k++)
			;
		if (k == n && n < 64) {
			v[n].name = name;
			v[n].len = len;
			v[n++].first = i;
		} else if (k == n) {
			k = SIZE_MAX; /* too many roles: the rest stand alone */
		}
		role_of[i] = k;
		if (k != SIZE_MAX)
			v[k].count++;
	}
	*nroles = n;
	return v;
}

/* Sums and per-thread figures of the roles with GROUP_MIN threads or more. 0 or -ENOMEM. */
static int fill_roles(const struct rpt_process *p, const size_t *role_of, struct role *v, size_t n)
{
	size_t *fill = calloc(n ? n : 1, sizeof(*fill));

	if (!fill)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (v[k].count < GROUP_MIN)
			continue;
		v[k].oncpu = calloc(v[k].count, sizeof(uint64_t));
		v[k].runq = calloc(v[k].count, sizeof(uint64_t));
		if (!v[k].oncpu || !v[k].runq) {
			free(fill);
			return -1;
		}
	}
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];
		struct role *r = role_of[i] < n ? &v[role_of[i]] : NULL;

		if (!r || r->count < GROUP_MIN)
			continue;
		rpt_sched_add(&r->sum, &t->s);
		r->alive_ns += t->alive_ns;
		r->started += t->started;
		r->exited += t->exited;
		r->oncpu[fill[role_of[i]]] = t->s.f.oncpu_ns;
		r->runq[fill[role_of[i]]++] = t->s.f.runq_ns;
	}
	free(fill);
	for (size_t k = 0; k < n; k++) {
		if (v[k].count < GROUP_MIN)
			continue;
		qsort(v[k].oncpu, v[k].count, sizeof(uint64_t), cmp_u64);
		qsort(v[k].runq, v[k].count, sizeof(uint64_t), cmp_u64);
	}
	return 0;
}

/* The row of one thread, or of a role's threads (tid "[N]", name "role*"). */
static void thread_row(FILE *f, const struct rpt_process *p, const char *tid, char mark,
		       const char *name, uint64_t alive, const struct rpt_sched *ts)
{
	bool lat = hist_count(&ts->wakelat) > 0;
	int w = name_width(p);
	char cut[NAME_MAX_W + 8];

	fprintf(f, "  %8s%c%-*s %8s", tid, mark, w, name_cut(cut, sizeof(cut), name, w), D(alive));
	for (int k = 0; k < FIG_COUNT; k++)
		if (fig_shown(p, k))
			fig_column(f, &ts->f, k);
	fprintf(f, " %8s %8s %8s\n",
		lat ? D(hist_quantile(&ts->wakelat, 0.5, ts->f.wakelat_max)) : "-",
		lat ? D(hist_quantile(&ts->wakelat, 0.99, ts->f.wakelat_max)) : "-",
		lat ? D(ts->f.wakelat_max) : "-");
}

static void role_row(FILE *f, const struct rpt_process *p, const struct role *r)
{
	char tid[24], name[SNAP_PYNAME_LEN + 2];
	size_t mid = (r->count - 1) / 2;

	snprintf(tid, sizeof(tid), "[%zu]", r->count);
	snprintf(name, sizeof(name), "%.*s*", (int)r->len, r->name);
	thread_row(f, p, tid, ' ', name, r->alive_ns, &r->sum);
	fprintf(f,
		"  %8s %zu threads (%zu started, %zu exited): per thread on-CPU p50 %s max %s, run-queue wait p50 %s max %s\n",
		"", r->count, r->started, r->exited, D(r->oncpu[mid]), D(r->oncpu[r->count - 1]),
		D(r->runq[mid]), D(r->runq[r->count - 1]));
}

static void print_threads(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	bool group = !o->verbose && o->top != 0;
	size_t *role_of = group ? calloc(p->nthreads ? p->nthreads : 1, sizeof(*role_of)) : NULL;
	size_t nroles = 0, nrows = 0, shown = 0, grouped = 0;
	struct role *roles = role_of ? find_roles(p, role_of, &nroles) : NULL;
	char tid[16];

	if (roles && fill_roles(p, role_of, roles, nroles)) {
		free_roles(roles, nroles);
		roles = NULL;
	}
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct role *r = roles && role_of[i] < nroles ? &roles[role_of[i]] : NULL;
		bool in_group = r && r->count >= GROUP_MIN;

		grouped += in_group;
		nrows += !in_group || r->first == i;
	}
	if (grouped)
		fprintf(f,
			"\n  THREADS (%zu rows of %zu threads, threads of one name as one row: -v or --top 0 shows each; by on-CPU + run-queue wait)\n",
			rows(nrows, o), p->nthreads);
	else
		heading(f, "THREADS", rows(nrows, o), nrows, "on-CPU + run-queue wait");
	fprintf(f, "  %8s %-*s %8s", "TID", name_width(p), "NAME", "ALIVE");
	for (int k = 0; k < FIG_COUNT; k++)
		if (fig_shown(p, k))
			fprintf(f, " %*s", fig_table[k].width, fig_table[k].heading);
	fprintf(f, " %8s %8s %8s\n", "WAKE-p50", "WAKE-p99", "WAKE-MAX");
	for (size_t i = 0; i < p->nthreads && shown < rows(nrows, o); i++) {
		const struct rpt_thread *t = &p->threads[i];
		const struct role *r = roles && role_of[i] < nroles ? &roles[role_of[i]] : NULL;
		char mark = t->started ? (t->exited ? '*' : '+') : (t->exited ? '-' : ' ');

		if (r && r->count >= GROUP_MIN) {
			/* A role's row stands where its busiest thread would. */
			if (r->first == i) {
				role_row(f, p, r);
				shown++;
			}
			continue;
		}
		snprintf(tid, sizeof(tid), "%u", t->tid);
		thread_row(f, p, tid, mark, rpt_thread_name(t), t->alive_ns, &t->s);
		shown++;
	}
	fprintf(f, "  (+ started during the trace, - exited, * both)\n");
	if (roles)
		free_roles(roles, nroles);
	free(role_of);
}

#define NOT_IN_SYSCALL (-2)

struct blocked_row {
	const struct rpt_thread *t;
	int nr; /* NOT_IN_SYSCALL for blocked time outside syscalls */
	uint64_t ns;
};

static int cmp_blocked(const void *a, const void *b)
{
	const struct blocked_row *x = a, *y = b;

	return x->ns == y->ns ? 0 : x->ns > y->ns ? -1 : 1;
}

static void print_blocked(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	char buf[32], cut[NAME_MAX_W + 8];
	int w = name_width(p);
	struct blocked_row *v;
	size_t n = 0, cap = 0, shown;

	for (size_t i = 0; i < p->nthreads; i++)
		cap += p->threads[i].nsys + 1;
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];

		for (size_t j = 0; j < t->nsys; j++) {
			if (!t->sys[j].blocked_ns)
				continue;
			v[n].t = t;
			v[n].ns = t->sys[j].blocked_ns;
			v[n].nr = t->sys[j].nr;
			n++;
		}
		if (t->s.f.blocked_nosys_ns) {
			v[n].t = t;
			v[n].ns = t->s.f.blocked_nosys_ns;
			v[n].nr = NOT_IN_SYSCALL;
			n++;
		}
	}
	if (n) {
		qsort(v, n, sizeof(*v), cmp_blocked);
		shown = rows(n, o);
		heading(f, "BLOCKED IN", shown, n, "blocked time");
		fprintf(f, "  %8s %-*s %-20s %9s %8s\n", "TID", w, "NAME", "SYSCALL", "BLOCKED",
			"% ALIVE");
		for (size_t i = 0; i < shown; i++)
			fprintf(f, "  %8u %-*s %-20s %9s %8s\n", v[i].t->tid, w,
				name_cut(cut, sizeof(cut), rpt_thread_name(v[i].t), w),
				v[i].nr == NOT_IN_SYSCALL ? "(not in a syscall)" :
							    syscall_name(v[i].nr, buf, sizeof(buf)),
				D(v[i].ns), P(ratio(v[i].ns, v[i].t->alive_ns)));
	}
	free(v);
}

/* With --syscalls: every call; without: only the blocking ones, from the scheduler. */
static void print_syscalls(FILE *f, const struct rpt_syscall *s, size_t nsys,
			   const struct text_opts *o, bool traced, int indent)
{
	size_t n = rows(nsys, o);
	char buf[32];

	if (!nsys)
		return;
	if (!traced) {
		fprintf(f, "%*s%-20s %9s %9s %9s\n", indent, "", "SYSCALL", "BLOCKS", "BLOCKED",
			"AVG");
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%*s%-20s %9llu %9s %9s\n", indent, "",
				syscall_name(s[i].nr, buf, sizeof(buf)),
				(unsigned long long)s[i].blocks, D(s[i].blocked_ns),
				s[i].blocks ? D(s[i].blocked_ns / s[i].blocks) : "-");
		return;
	}
	fprintf(f, "%*s%-20s %9s %8s %9s %9s %9s %9s %9s\n", indent, "", "SYSCALL", "CALLS",
		"ERRORS", "TOTAL", "AVG", "MAX", "OFF-CPU", "BLOCKED");
	for (size_t i = 0; i < n; i++) {
		uint64_t calls = s[i].calls;

		fprintf(f, "%*s%-20s %9llu %8llu %9s %9s %9s %9s %9s%s\n", indent, "",
			syscall_name(s[i].nr, buf, sizeof(buf)), (unsigned long long)calls,
			(unsigned long long)s[i].errors, D(s[i].total_ns),
			calls ? D(s[i].total_ns / (calls + s[i].partial + s[i].open)) : "-",
			D(s[i].max_ns), D(s[i].offcpu_ns), D(s[i].blocked_ns),
			s[i].partial || s[i].open ? "  (+ in progress at start/end)" : "");
	}
}

static void syscalls_section(FILE *f, const struct rpt_syscall *s, size_t nsys,
			     const struct text_opts *o, bool traced)
{
	if (!nsys)
		return;
	if (traced)
		heading(f, "SYSCALLS", rows(nsys, o), nsys, "total time");
	else
		heading(f, "SYSCALLS THAT BLOCKED (-S also counts the calls that did not)",
			rows(nsys, o), nsys, "blocked time");
	print_syscalls(f, s, nsys, o, traced, 2);
}

static const char *runner_kind(enum rpt_runner_kind k)
{
	switch (k) {
	case RPT_RUN_SIBLING:
		return "its own threads";
	case RPT_RUN_PROCESS:
		return "process";
	case RPT_RUN_KERNEL:
		return "kernel thread";
	case RPT_RUN_IRQ:
		return "interrupts";
	case RPT_RUN_IDLE:
		return "nobody (CPU idle)";
	default:
		return "not seen";
	}
}

/* Who had the CPU while the process's threads waited in the run queue, and why they waited. */
static void print_runq_verdicts(FILE *f, const struct rpt_process *p)
{
	for (size_t i = 0; i < p->nrunq_verdicts; i++)
		fprintf(f, "  VERDICT: %s.\n", p->runq_verdicts[i]);
}

static void print_runners(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	size_t n = rows(p->nrunners, o);
	char who[64];

	if (!p->nrunners) {
		/* A quota's verdict rests on the kernel's count, not on the split. */
		print_runq_verdicts(f, p);
		return;
	}
	heading(f, "PREEMPTED BY: who had the CPU while its threads waited for one", n, p->nrunners,
		"time");
	fprintf(f, "  %-18s %-32s %9s %7s %7s\n", "KIND", "WHO", "TIME", "% RUNQ", "WAITS");
	for (size_t i = 0; i < n; i++) {
		const struct rpt_runner *r = &p->runners[i];

		if (r->kind == RPT_RUN_PROCESS || r->kind == RPT_RUN_KERNEL)
			snprintf(who, sizeof(who), "%s (pid %u)", r->comm, r->pid);
		else
			snprintf(who, sizeof(who), "%s",
				 r->kind == RPT_RUN_SIBLING ? r->comm : "-");
		fprintf(f, "  %-18s %-32s %9s %7s %7llu\n", runner_kind(r->kind), who, D(r->ns),
			P(ratio(r->ns, p->runners_ns)), (unsigned long long)r->waits);
	}
	print_runq_verdicts(f, p);
}

static void print_wakers(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	char cut[NAME_MAX_W + 8];
	int nw = name_width(p);
	const struct rpt_thread **v;
	size_t n = 0, shown;

	v = calloc(p->nthreads ? p->nthreads : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].nwakers)
			v[n++] = &p->threads[i];
	if (n) {
		shown = rows(n, o);
		heading(f, "WAKEUPS: WHO WOKE WHOM", shown, n, "thread order above");
		fprintf(f, "  %8s %-*s %8s  %s\n", "TID", nw, "NAME", "WAKEUPS",
			"WOKEN BY (count)");
		for (size_t i = 0; i < shown; i++) {
			const struct rpt_thread *t = v[i];
			size_t k = t->nwakers < 3 ? t->nwakers : 3;

			fprintf(f, "  %8u %-*s %8llu  ", t->tid, nw,
				name_cut(cut, sizeof(cut), rpt_thread_name(t), nw),
				(unsigned long long)t->s.f.wakeups);
			for (size_t j = 0; j < k; j++) {
				const struct rpt_waker *w = &t->wakers[j];

				if (w->tid != CT_WAKER_IRQ && w->tid != CT_WAKER_UNKNOWN)
					fprintf(f, "%s%u %s%s (%llu)", j ? ", " : "", w->tid,
						w->pid == p->pid ? tid_name(p, w->tid, w->comm) :
								   w->comm,
						w->softirq ? " via softirq" : "",
						(unsigned long long)w->count);
				else
					fprintf(f, "%s%s (%llu)", j ? ", " : "", w->comm,
						(unsigned long long)w->count);
			}
			if (t->nwakers > k)
				fprintf(f, ", %zu more", t->nwakers - k);
			fputc('\n', f);
		}
	}
	free(v);
}

/* "tid name" of a thread of p (or another process's), or a bracketed waker ("[timer]"). */
static const char *party(const struct rpt_process *p, char *buf, size_t len, uint32_t tid,
			 const char *comm)
{
	if (tid == CT_WAKER_IRQ || tid == CT_WAKER_UNKNOWN)
		snprintf(buf, len, "%s", comm);
	else
		snprintf(buf, len, "%u %s", tid, tid_name(p, tid, comm));
	return buf;
}

/* Stacks shown per lock, and frames per stack (-v: more of both). */
#define TEXT_STACKS 3
#define TEXT_STACKS_V 10
#define TEXT_FRAMES 8

/* A stack's frames, leaf first, by function, and the line's end. */
static void print_frames(FILE *f, const struct rpt_lock_stack *st, int verbose)
{
	uint32_t shown = verbose || st->n <= TEXT_FRAMES ? st->n : TEXT_FRAMES;
	char buf[SNAP_SYM_LEN];

	if (!st->n)
		fputs("(stack not copied or not unwound: see drops)", f);
	for (uint32_t j = 0; j < shown; j++)
		fprintf(f, "%s%s", j ? " <- " : "",
			frame_function(st->frames[j], buf, sizeof(buf)));
	if (shown < st->n)
		fprintf(f, " <- ... %u more", st->n - shown);
	fputs(st->partial ? " (cut short)\n" : "\n", f);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* --stacks: a lock's top stacks, leaf first, by function. */
static void print_lock_stacks(FILE *f, const struct rpt_lock *l, int verbose)
{
	size_t k = verbose ? TEXT_STACKS_V : TEXT_STACKS;

	for (size_t i = 0; i < l->nstacks && i < k; i++) {
		const struct rpt_lock_stack *st = &l->stacks[i];

		fprintf(f, "      %-11s %.0f%% (%s, %llu waits): ", i ? "" : "stacks",
			share(st->wait_ns, l->wait_ns), D(st->wait_ns),
			(unsigned long long)st->waits);
		print_frames(f, st, verbose);
	}
	if (l->nstacks > k)
		fprintf(f, "      %-11s %zu more stacks (-v, --json)\n", "", l->nstacks - k);
}

/*
 * --stacks: what the GIL's holder ran while the others waited, by wait:
 * "while Thread-1 (caller) ran: caller (app.py:116) <- run (threading.py:999)".
 */
static void print_gil_holders(FILE *f, const struct rpt_process *p, const struct rpt_gil *g,
			      int verbose)
{
	size_t k = verbose ? TEXT_STACKS_V : TEXT_STACKS;
	uint64_t all = 0;

	for (size_t i = 0; i < g->nholders; i++)
		all += g->holders[i].st.wait_ns;
	for (size_t i = 0; i < g->nholders && i < k; i++) {
		const struct rpt_tagged_stack *h = &g->holders[i];
		const struct rpt_thread *t = rpt_thread_of(p, h->tag);

		fprintf(f, "    %s %.0f%% (%s, %llu waits) while %s ran: ",
			i ? "           " : "waits for  ", share(h->st.wait_ns, all),
			D(h->st.wait_ns), (unsigned long long)h->st.waits,
			t ? rpt_thread_name(t) : "its holder");
		print_frames(f, &h->st, verbose);
	}
	if (g->nholders > k)
		fprintf(f, "    %-11s %zu more stacks (-v, --json)\n", "", g->nholders - k);
}

/* The waits in progress on l (k at most), labels `width` wide. */
static void print_now(FILE *f, const struct rpt_process *p, const struct rpt_lock *l, size_t k,
		      int width)
{
	char b[PARTY_LEN];

	for (size_t i = 0; i < l->nnow && i < k; i++) {
		const struct rpt_lock_now *w = &l->now[i];

		fprintf(f, "      %-*s %s, %s so far%s", width, i ? "" : "waiting now",
			party(p, b, sizeof(b), w->tid, w->comm), D(w->wait_ns),
			w->before ? " (since before tracing began)" : "");
		if (w->owner)
			fprintf(f, ", for %u %s (%s)", w->owner,
				tid_name(p, w->owner, w->owner_comm),
				w->join ? "pthread_join: until it exits" : "it owns the lock");
		fprintf(f, "%s%s\n", w->site[0] ? " in " : "", w->site);
	}
	if (l->nnow > k)
		fprintf(f, "      %-*s %zu more\n", width, "", l->nnow - k);
}

/* A list of parties: "12 main (1.2s), 13 worker (0.4s), 3 more". */
static void print_parties(FILE *f, const struct rpt_process *p, const char *label, int width,
			  const struct rpt_lock_party *v, size_t n, size_t k)
{
	char b[PARTY_LEN];

	if (!n)
		return;
	fprintf(f, "      %-*s ", width, label);
	for (size_t i = 0; i < n && i < k; i++)
		fprintf(f, "%s%s (%s)", i ? ", " : "", party(p, b, sizeof(b), v[i].tid, v[i].comm),
			D(v[i].wait_ns));
	if (n > k)
		fprintf(f, ", %zu more", n - k);
	fputc('\n', f);
}

/* Where l's waits came from, and its waiters. */
static void print_sites_parties(FILE *f, const struct rpt_process *p, const struct rpt_lock *l,
				size_t k, int width)
{
	for (size_t i = 0; i < l->nsites && i < k; i++)
		fprintf(f, "      %-*s %s (%llu waits, %s)\n", width, i ? "" : "waited in",
			l->sites[i].name, (unsigned long long)l->sites[i].waits,
			D(l->sites[i].wait_ns));
	print_parties(f, p, "waiters", width, l->waiters, l->nwaiters, k);
}

static void print_lock_details(FILE *f, const struct rpt_process *p, const struct rpt_lock *l,
			       bool traced, int verbose)
{
	size_t k = verbose ? SIZE_MAX : 3;
	char b[PARTY_LEN];

	print_now(f, p, l, k, 11);
	if (!l->waits && !l->holds && !l->retries && !l->wake_calls)
		return;
	fprintf(f, "      %s%s%s: woken %llu times by a release, %llu by a timer",
		l->gil ? "CPython's GIL, " : "", l->condvar ? "condition variable (2 words), " : "",
		futex_kind(l->op), (unsigned long long)l->wakes, (unsigned long long)l->timeouts);
	if (l->other_wakes)
		fprintf(f, ", %llu otherwise (thread exit, signal)",
			(unsigned long long)l->other_wakes);
	if (traced && (l->op == CT_FUTEX_LOCK_PI || l->op == CT_FUTEX_LOCK_PI2))
		fprintf(f, "; %llu timed out, %llu unlock calls",
			(unsigned long long)l->timeouts_ret, (unsigned long long)l->wake_calls);
	else if (traced)
		fprintf(f, "; %llu retries (EAGAIN), %llu timed out, %llu wake calls woke %llu",
			(unsigned long long)l->retries, (unsigned long long)l->timeouts_ret,
			(unsigned long long)l->wake_calls, (unsigned long long)l->woken);
	fputc('\n', f);
	/* Tier C counts the GIL's own waits only (design.md, Locks). */
	if (l->gil && l->waits && !l->nwaiters)
		fprintf(f,
			"      %-11s the GIL section per thread (the default GIL mode does not"
			" look for their call sites and chains)\n",
			"who waited");
	if (l->exact && l->xholds)
		fprintf(f,
			"      %-11s %llu, avg %s, p50 %s, p99 %s, max %s (every lock to unlock)\n",
			"holds", (unsigned long long)l->xholds, D(l->xhold_ns / l->xholds),
			D(hist_quantile(&l->xhold_hist, 0.5, l->xhold_max)),
			D(hist_quantile(&l->xhold_hist, 0.99, l->xhold_max)), D(l->xhold_max));
	print_sites_parties(f, p, l, k, 11);
	print_lock_stacks(f, l, verbose);
	print_parties(f, p, "held by", 11, l->holders, l->nholders, k);
	for (size_t i = 0; i < l->nchains && i < k; i++) {
		const struct rpt_lock_chain *c = &l->chains[i];
		char w[PARTY_LEN];

		party(p, w, sizeof(w), c->waiter, c->waiter_comm);
		if (c->holder == CT_WAKER_IRQ)
			fprintf(f, "      %-11s %s waited %s until its timeout\n",
				i ? "" : "chains", w, D(c->wait_ns));
		else if (c->holder == CT_WAKER_UNKNOWN)
			fprintf(f, "      %-11s %s waited %s, woken unseen\n", i ? "" : "chains", w,
				D(c->wait_ns));
		else
			fprintf(f, "      %-11s %s waited %s for %s%s%s\n", i ? "" : "chains", w,
				D(c->wait_ns), party(p, b, sizeof(b), c->holder, c->holder_comm),
				c->holder_site[0] ? " in " : "", c->holder_site);
	}
	if (l->serialising)
		fprintf(f,
			"      SERIALISES THE PROCESS: held %s of the time, %.1f threads waiting on average: at most %.2f threads can run at once\n",
			P(l->held_fraction), l->avg_waiting, 1.0 / l->held_fraction);
}

static void print_locks(FILE *f, const struct rpt_process *p, const struct text_opts *o,
			bool traced)
{
	size_t nlocks = 0, n, shown = 0;

	for (size_t i = 0; i < p->nlocks; i++)
		nlocks += p->locks[i].kind == RPT_KIND_LOCK;
	if (!nlocks && !p->ndeadlocks)
		return;
	n = rows(nlocks, o);
	heading(f, "LOCKS, contended waits only", n, nlocks, "total wait");
	for (size_t i = 0; i < p->ndeadlocks; i++) {
		const struct rpt_deadlock *d = &p->deadlocks[i];

		fprintf(f, "  DEADLOCK: %u %s", d->m[0].tid,
			tid_name(p, d->m[0].tid, d->m[0].comm));
		if (d->n == 1) {
			fprintf(f, " waits for %s, which it holds itself\n", d->m[0].lock);
			continue;
		}
		for (size_t m = 0; m < d->n; m++)
			fprintf(f, "%s waits for %s, held by %u %s", m ? ", which" : "",
				d->m[m].lock, d->m[m].owner,
				tid_name(p, d->m[m].owner, d->m[(m + 1) % d->n].comm));
		fprintf(f, "\n");
	}
	fprintf(f, "  %-32s %7s %9s %9s %9s %9s %9s %6s %9s %9s %7s\n", "LOCK", "WAITS", "WAITED",
		"AVG", "P50", "P99", "MAX", "HOLDS", "HOLD-AVG", "HOLD-MAX", "WAITERS");
	for (size_t i = 0; i < p->nlocks && shown < n; i++) {
		const struct rpt_lock *l = &p->locks[i];

		if (l->kind != RPT_KIND_LOCK)
			continue;
		shown++;
		fprintf(f, "  %-32s %7llu %9s %9s %9s %9s %9s %6llu %9s %9s %7zu\n", l->name,
			(unsigned long long)l->waits, D(l->wait_ns),
			l->waits ? D(l->wait_ns / l->waits) : "-",
			l->waits ? D(hist_quantile(&l->wait_hist, 0.5, l->wait_max)) : "-",
			l->waits ? D(hist_quantile(&l->wait_hist, 0.99, l->wait_max)) : "-",
			l->waits ? D(l->wait_max) : "-", (unsigned long long)l->holds,
			l->holds ? D(l->hold_ns / l->holds) : "-", l->holds ? D(l->hold_max) : "-",
			l->nwaiters);
		print_lock_details(f, p, l, traced, o->verbose);
	}
}

static void print_event_details(FILE *f, const struct rpt_process *p, const struct rpt_lock *l,
				int verbose)
{
	size_t k = verbose ? SIZE_MAX : 3;

	print_now(f, p, l, k, 12);
	print_sites_parties(f, p, l, k, 12);
	print_parties(f, p, "signalled by", 12, l->holders, l->nholders, k);
}

/* The threads idle on an event the whole window, in one line. */
static void print_idle(FILE *f, const struct rpt_process *p)
{
	size_t named = 0;
	char b[PARTY_LEN];

	if (!p->nidle)
		return;
	fprintf(f, "  %zu thread%s idle the whole time, waiting for work (%s): ", p->nidle,
		p->nidle == 1 ? "" : "s", D(p->idle_ns));
	for (size_t i = 0; i < p->nlocks && named < 4; i++) {
		const struct rpt_lock *l = &p->locks[i];

		for (size_t k = 0; l->kind == RPT_KIND_EVENT && k < l->nnow && named < 4; k++)
			if (l->now[k].idle)
				fprintf(f, "%s%s", named++ ? ", " : "",
					party(p, b, sizeof(b), l->now[k].tid, l->now[k].comm));
	}
	fprintf(f, "%s\n", p->nidle > named ? ", ..." : "");
}

/* Waits for an event: condition variables, semaphores, queues, futures, joins. */
static void print_events(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	size_t nev = 0, n, shown = 0;

	for (size_t i = 0; i < p->nlocks; i++)
		nev += lock_event_row(&p->locks[i]);
	if (!nev && !p->nidle)
		return;
	n = rows(nev, o);
	heading(f, "EVENTS, waiting for work or a signal (not contention)", n, nev, "total wait");
	if (nev)
		fprintf(f, "  %-32s %-20s %7s %9s %9s %9s %7s\n", "EVENT", "KIND", "WAITS",
			"WAITED", "AVG", "MAX", "WAITERS");
	for (size_t i = 0; i < p->nlocks && shown < n; i++) {
		const struct rpt_lock *l = &p->locks[i];

		if (!lock_event_row(l))
			continue;
		shown++;
		fprintf(f, "  %-32s %-20s %7llu %9s %9s %9s %7zu\n", l->name,
			l->why == RPT_WHY_CONDVAR ? "condition variable" :
			l->why == RPT_WHY_JOIN	  ? "thread exit (join)" :
						    "signalled word",
			(unsigned long long)l->waits, D(l->wait_ns + l->now_ns),
			l->waits ? D(l->wait_ns / l->waits) : "-", l->waits ? D(l->wait_max) : "-",
			l->nwait_threads);
		print_event_details(f, p, l, o->verbose);
	}
	print_idle(f, p);
}

static void print_wakelat(FILE *f, const char *who, const struct hist *h, uint64_t max)
{
	uint64_t n = hist_count(h);

	if (!n)
		return;
	fprintf(f,
		"\n  WAKEUP LATENCY (wakeup to running), %s: %llu wakeups, p50 %s, p99 %s, max %s\n",
		who, (unsigned long long)n, D(hist_quantile(h, 0.5, max)),
		D(hist_quantile(h, 0.99, max)), D(max));
	hist_print(f, h, 4);
}

/* The released time's split, as "blocked 1.2s (read 1.0s, futex 0.2s), run-queue 3ms, ". */
static void print_released(FILE *f, const struct rpt_syscall *s, size_t n, uint64_t blocked,
			   uint64_t runq)
{
	char buf[32];
	size_t shown = 0;

	fprintf(f, "blocked %s", D(blocked));
	for (size_t i = 0; i < n && shown < 3; i++)
		if (s[i].blocked_ns)
			fprintf(f, "%s%s %s", shown++ ? ", " : " (",
				syscall_name(s[i].nr, buf, sizeof(buf)), D(s[i].blocked_ns));
	fprintf(f, "%s, run-queue %s, ", shown ? ")" : "", D(runq));
}

/*
 * Its time on a CPU, split by samples: "on a CPU 2.0s: in syscalls 1.6s
 * (sendto 0.9s, recvfrom 0.7s), native code 0.4s (2,000 samples)".
 */
/*
 * The released row with the most time on a CPU after `after` (NULL: the
 * first), in the order (time descending, then position); NULL when none is
 * left with any. The rows are sorted by blocked plus on-CPU time.
 */
static const struct rpt_syscall *top_oncpu(const struct rpt_gil *g, const struct rpt_syscall *after)
{
	const struct rpt_syscall *best = NULL;

	for (size_t i = 0; i < g->nrel_sys; i++) {
		const struct rpt_syscall *s = &g->rel_sys[i];

		if (!s->oncpu_ns || (after && (s->oncpu_ns > after->oncpu_ns ||
					       (s->oncpu_ns == after->oncpu_ns && s <= after))))
			continue;
		if (!best || s->oncpu_ns > best->oncpu_ns)
			best = s;
	}
	return best;
}

static void print_released_cpu(FILE *f, const struct rpt_gil *g)
{
	const struct rpt_syscall *s_prev = NULL;
	const struct rpt_gil_split *sp = &g->split;
	char buf[32];
	size_t shown = 0;

	if (!sp->samples) {
		fprintf(f, "on a CPU %s (not split between syscalls and native code: %s)\n",
			D(g->rel_oncpu_ns),
			sp->absent ? "the recording predates the samples" : "no samples");
		return;
	}
	fprintf(f, "on a CPU %s: in syscalls %s", D(g->rel_oncpu_ns), D(sp->sys_ns));
	for (const struct rpt_syscall *s; shown < 3 && (s = top_oncpu(g, s_prev)); shown++) {
		fprintf(f, "%s%s %s", shown ? ", " : " (", syscall_name(s->nr, buf, sizeof(buf)),
			D(s->oncpu_ns));
		s_prev = s;
	}
	fprintf(f, "%s, native code %s", shown ? ")" : "", D(sp->native_ns));
	if (sp->kernel_ns)
		fprintf(f, ", kernel outside syscalls %s", D(sp->kernel_ns));
	fprintf(f, " (%llu samples)\n", (unsigned long long)sp->samples);
}

/*
 * Where the native code ran, by samples: "native code in libz.so.1.2.13
 * 1.82s, libc.so.6:__memcpy_avx_unaligned_erms 28.9ms, others 1.2ms".
 */
static void print_native(FILE *f, const struct rpt_gil *g)
{
	if (!g->nnative)
		return;
	fprintf(f, "    native code in");
	for (size_t i = 0; i < g->nnative; i++)
		fprintf(f, "%s %s %s", i ? "," : "", g->native[i].name, D(g->native[i].ns));
	if (g->native_other)
		fprintf(f, ", others %s", D(g->native_other_ns));
	fprintf(f, "\n");
}

static void print_gil(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	const struct rpt_gil *g = p->gil;
	char cut[NAME_MAX_W + 8];
	int nw = name_width(p);
	size_t n = 0, shown = 0;

	if (!g)
		return;
	if (!gil_version_supported(g->info.version)) {
		fprintf(f, "\n  GIL  %s\n", g->info.why);
		return;
	}
	fprintf(f, "\n  GIL  CPython %s (%s)", g->info.version, g->info.file);
	if (g->info.free_threaded) {
		fprintf(f, ": free-threaded build, no GIL (lock contention shows under LOCKS)\n");
		return;
	}
	if (g->info.tier == RPT_GIL_NONE) {
		fprintf(f, ": not observed: %s\n", g->info.why);
		return;
	}
	if (g->info.tier == RPT_GIL_UPROBES)
		fprintf(f, ", uprobes on take_gil/drop_gil");
	else if (g->info.tier == RPT_GIL_LIBC)
		fprintf(f, ", uprobes on the C library's mutex and condvar calls (no symbols)");
	else
		fprintf(f,
			", no uprobes: its futex words, and who holds it at 1 kHz samples (--gil=uprobe times each hold)");
	if (g->info.interval_us)
		fprintf(f, ", switch interval %s", D(g->info.interval_us * 1000));
	fputc('\n', f);
	if (!g->nthreads) {
		fprintf(f, "    no thread took or dropped the GIL while traced\n");
		return;
	}
	fprintf(f,
		"    held %s of the time, %.1f threads waiting on average, %.0f contended takes/s, %llu forced switch requests, parallelism %.2f\n",
		P(g->held_fraction), g->avg_waiting, g->takes_per_s, (unsigned long long)g->forced,
		g->parallelism);
	fprintf(f, "    released %s: ", D(g->rel_ns));
	print_released(f, g->rel_sys, g->nrel_sys, g->rel_blocked_ns, g->rel_runq_ns);
	print_released_cpu(f, g);
	print_native(f, g);
	print_gil_holders(f, p, g, o->verbose);
	for (size_t i = 0; i < p->nthreads; i++)
		n += p->threads[i].gil.seen;
	fprintf(f, "  %8s %-*s %8s %8s %8s %8s %8s %7s %7s %7s %8s %8s %8s %8s %8s\n", "TID", nw,
		"NAME", "HELD", "WAITED", "WAIT-p50", "WAIT-p99", "WAIT-MAX", "TAKES", "CONTEND",
		"FORCED", "RELEASED", "BLOCKED", "RUN-Q", "IN-SYS", "NATIVE");
	for (size_t i = 0; i < p->nthreads && shown < rows(n, o); i++) {
		const struct rpt_thread *t = &p->threads[i];
		const struct rpt_thread_gil *tg = &t->gil;
		bool w = hist_count(&tg->wait_hist) > 0;

		if (!tg->seen)
			continue;
		shown++;
		fprintf(f, "  %8u %-*s %8s %8s %8s %8s %8s %7llu %7llu %7llu %8s %8s %8s %8s %8s\n",
			t->tid, nw, name_cut(cut, sizeof(cut), rpt_thread_name(t), nw),
			D(tg->hold_ns), D(tg->wait_ns),
			w ? D(hist_quantile(&tg->wait_hist, 0.5, tg->wait_max)) : "-",
			w ? D(hist_quantile(&tg->wait_hist, 0.99, tg->wait_max)) : "-",
			w ? D(tg->wait_max) : "-", (unsigned long long)tg->takes,
			(unsigned long long)tg->waits, (unsigned long long)tg->forced,
			D(tg->rel_ns), D(tg->rel_blocked_ns), D(tg->rel_runq_ns),
			D(tg->split.sys_ns), D(tg->split.native_ns + tg->split.kernel_ns));
	}
	if (shown < n)
		fprintf(f, "  (top %zu of %zu Python threads)\n", shown, n);
	for (size_t i = 0; i < g->nverdicts; i++)
		fprintf(f, "  VERDICT: %s.\n", g->verdicts[i]);
	if (!g->nverdicts)
		fprintf(f, "  (no verdict: too little evidence, or no pattern the remedies fit)\n");
}

/*
 * --stacks: where the process's threads ran, by sample: "62% (620ms, 620
 * samples) holding the GIL: work (app.py:12) <- run (threading.py:999)",
 * a native program's "96% (1.89s, 1889 samples) running: spinner <- ...".
 */
static void print_oncpu(FILE *f, const struct rpt_process *p, const struct text_opts *o,
			uint64_t sample_ns)
{
	size_t k = o->verbose ? TEXT_STACKS_V : TEXT_STACKS;
	uint64_t all = 0;

	if (!p->noncpu)
		return;
	for (size_t i = 0; i < p->noncpu; i++)
		all += p->oncpu[i].st.wait_ns;
	fprintf(f, "\n  ON-CPU  sampled every %s of a CPU's time: %s\n", D(sample_ns), D(all));
	for (size_t i = 0; i < p->noncpu && i < k; i++) {
		const struct rpt_tagged_stack *s = &p->oncpu[i];

		fprintf(f, "    %.0f%% (%s, %llu samples) %s: ", share(s->st.wait_ns, all),
			D(s->st.wait_ns), (unsigned long long)s->st.waits,
			rpt_smp_class_text(s->tag));
		print_frames(f, &s->st, o->verbose);
	}
	if (p->noncpu > k)
		fprintf(f, "    %zu more stacks (-v, --json)\n", p->noncpu - k);
}

/* --stacks: the process's blocks in syscalls other than futex waits, by stack. */
static void print_sysstacks(FILE *f, const struct rpt_process *p, const struct text_opts *o)
{
	size_t k = o->verbose ? TEXT_STACKS_V : TEXT_STACKS;
	uint64_t all = 0;
	char name[32];

	if (!p->nsysstacks)
		return;
	for (size_t i = 0; i < p->nsysstacks; i++)
		all += p->sysstacks[i].st.wait_ns;
	fprintf(f, "\n  BLOCKED IN SYSCALLS, by stack (futex waits: under LOCKS): %s\n", D(all));
	for (size_t i = 0; i < p->nsysstacks && i < k; i++) {
		const struct rpt_tagged_stack *s = &p->sysstacks[i];

		fprintf(f, "    %.0f%% (%s, %llu blocks) in %s: ", share(s->st.wait_ns, all),
			D(s->st.wait_ns), (unsigned long long)s->st.waits,
			syscall_name((int)s->tag, name, sizeof(name)));
		print_frames(f, &s->st, o->verbose);
	}
	if (p->nsysstacks > k)
		fprintf(f, "    %zu more stacks (-v, --json)\n", p->nsysstacks - k);
}

static void print_process(FILE *f, const struct rpt_process *p, const struct text_opts *o,
			  const struct report_meta *m)
{
	bool traced = m->syscalls;
	char who[SNAP_PYNAME_LEN + 32];

	fprintf(f, "\nPROCESS %u %s%s%s%s\n", p->pid, p->comm, p->cmdline[0] ? "  [" : "",
		p->cmdline, p->cmdline[0] ? "]" : "");
	print_summary(f, p);
	print_gil(f, p, o);
	print_oncpu(f, p, o, rpt_sample_ns(m));
	print_sysstacks(f, p, o);
	print_threads(f, p, o);
	print_blocked(f, p, o);
	print_runners(f, p, o);
	syscalls_section(f, p->sys, p->nsys, o, traced);
	print_locks(f, p, o, traced);
	print_events(f, p, o);
	print_wakers(f, p, o);
	print_wakelat(f, "all threads", &p->s.wakelat, p->s.f.wakelat_max);
	if (o->verbose < 1)
		return;
	for (size_t i = 0; i < rows(p->nthreads, o); i++) {
		const struct rpt_thread *t = &p->threads[i];

		snprintf(who, sizeof(who), "thread %u %s", t->tid, rpt_thread_name(t));
		if (t->nsys) {
			fprintf(f, "\n  SYSCALLS of thread %u %s\n", t->tid, rpt_thread_name(t));
			print_syscalls(f, t->sys, t->nsys, o, traced, 4);
		}
		print_wakelat(f, who, &t->s.wakelat, t->s.f.wakelat_max);
	}
}

static void across_procs(FILE *f, const char *order, const struct rpt_process *const *v, size_t n,
			 const struct text_opts *o)
{
	size_t shown = rows(n, o);

	heading(f, "PROCESSES", shown, n, order);
	fprintf(f, "  %8s %-16s %9s %9s %9s %7s\n", "PID", "NAME", "ON-CPU", "RUN-Q", "BLOCKED",
		"THREADS");
	for (size_t i = 0; i < shown; i++)
		fprintf(f, "  %8u %-16s %9s %9s %9s %7zu\n", v[i]->pid, v[i]->comm,
			D(v[i]->s.f.oncpu_ns), D(v[i]->s.f.runq_ns), D(v[i]->s.f.blocked_ns),
			v[i]->nthreads);
}

static void across_rows(FILE *f, const char *title, const char *what, const char *count,
			const char *time, const struct rpt_across_row *v, size_t n,
			const struct text_opts *o)
{
	size_t shown = rows(n, o);

	if (!n)
		return;
	heading(f, title, shown, n, "total time");
	fprintf(f, "  %8s %-16s %-32s %7s %9s\n", "PID", "NAME", what, count, time);
	for (size_t i = 0; i < shown; i++)
		fprintf(f, "  %8u %-16s %-32s %7llu %9s\n", v[i].pid, v[i].comm, v[i].name,
			(unsigned long long)v[i].count, D(v[i].ns));
}

/* With -f: which processes and which of their locks, syscalls and events matter most. */
static void print_across(FILE *f, const struct report *r, const struct text_opts *o)
{
	const struct rpt_across *a = r->across;
	const struct rpt_process *t = &r->total;

	if (!a)
		return;
	fprintf(f,
		"\nACROSS %zu PROCESSES: CPU %s, run-queue wait %s, blocked %s (each row is a figure of its process's section below)\n",
		a->nprocs, D(t->s.f.oncpu_ns), D(t->s.f.runq_ns), D(t->s.f.blocked_ns));
	across_procs(f, "on-CPU time", a->by_cpu, a->nprocs, o);
	across_procs(f, "run-queue wait", a->by_runq, a->nprocs, o);
	across_rows(f, "CONTENDED LOCKS", "LOCK", "WAITS", "WAITED", a->locks, a->nlocks, o);
	across_rows(f, "BLOCKED IN SYSCALLS", "SYSCALL", "BLOCKS", "BLOCKED", a->sys, a->nsys, o);
	across_rows(f, "EVENT WAITS (not contention)", "EVENT", "WAITS", "WAITED", a->events,
		    a->nevents, o);
}

/* The findings first: where the time went wrong, and where to read more. */
static void print_findings(FILE *f, const struct report *r)
{
	fprintf(f, "SUMMARY\n");
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct rpt_finding *x = &r->findings[i];

		if (x->kind == RPT_FIND_NONE)
			fprintf(f, "  %s\n", x->text);
		else
			fprintf(f, "  %zu. %s (see %s)\n", i + 1, x->text, x->section);
	}
}

void report_text(FILE *f, const struct report *r, const struct text_opts *o)
{
	const struct report_meta *m = r->meta;

	print_header(f, r);
	print_findings(f, r);
	print_drops(f, r);
	print_across(f, r, o);
	if (!r->nprocs)
		fprintf(f, "\nNo thread of the target ran while traced.\n");
	for (size_t i = 0; i < r->nprocs; i++)
		print_process(f, &r->procs[i], o, m);
	if (r->nprocs > 1) {
		fprintf(f, "\nTOTAL of %zu processes\n", r->nprocs);
		print_summary(f, &r->total);
		syscalls_section(f, r->total.sys, r->total.nsys, o, m->syscalls);
	}
	if (!r->interval && m->launched) {
		if (m->exit_signal)
			fprintf(f, "\nThe command was killed by signal %d (%s).\n", m->exit_signal,
				strsignal(m->exit_signal));
		else if (m->exit_status >= 0)
			fprintf(f, "\nThe command exited with status %d.\n", m->exit_status);
	}
	fflush(f);
}
