// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/format.h"
#include "util/vec.h"
#include "out/prom.h"

/* A thread name of a process: its threads' figures summed. */
struct trow {
	char name[SNAP_PYNAME_LEN];
	struct figs f;
	size_t n; /* threads summed in it */
	uint64_t rank; /* on-CPU + run-queue + GIL wait: the order of the cap */
};

/* A lock, by its label: named locks by symbol, the others by their first call site. */
struct lrow {
	char name[SNAP_SYM_LEN + 8];
	uint64_t waits, wait_ns, holds, hold_ns, timeouts;
	size_t n; /* locks summed in it */
	struct hist wait_hist;
};

/*
 * One process of one report, its rows capped, plus what earlier sessions
 * of the same target counted (a carry: the same struct, without r and p).
 */
struct pview {
	const struct report *r; /* NULL in a carry */
	const struct rpt_process *p; /* idem */
	struct trow *threads;
	size_t nthreads, threads_folded;
	struct lrow *locks;
	size_t nlocks, locks_folded;
	bool has_gil; /* a Python process: gil and gil_wait hold its GIL */
	struct rpt_gil gil; /* the numbers only: no pointers */
	struct hist gil_wait; /* its threads' GIL waits */
	struct hist wakelat;
	uint64_t wakelat_sum, wall_ns;
	bool has_drops; /* the first process of its report: the trace's drops are its */
	struct rpt_drops drops;
};

struct prom_carry {
	struct pview v;
};

uint64_t prom_bucket_le(unsigned int i)
{
	return 1024ULL << (2 * i);
}

/*
 * Waits below `le` ns, le a power of two: the report's buckets below the
 * one starting at le (bucket 4(k-1) starts at 2^k, hist.c). A wait of
 * exactly le ns is counted in the next bound: le means < here, not <=.
 */
static uint64_t hist_below(const struct hist *h, uint64_t le)
{
	unsigned int k = (unsigned int)__builtin_ctzll(le), end = 4 * (k - 1);
	uint64_t n = 0;

	for (unsigned int i = 0; i < end && i < CT_HIST_BUCKETS; i++)
		n += h->b[i];
	return n;
}

void prom_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000ULL),
		(unsigned long long)(ns % 1000000000ULL));
}

/* Text escaped as the format wants: \\ and \n always, \" in label values. */
static void escape(FILE *f, const char *s, int quote)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq_len(p);

		if (*p == '\\' || (quote && *p == '"'))
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (n)
			fwrite(p, 1, n, f);
		else
			fputc('?', f);
		p += n ? n : 1;
	}
}

void prom_label_value(FILE *f, const char *s)
{
	escape(f, s, 1);
}

void prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	escape(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

/* name{process="comm",pid="N"[,key="value"]: the rest of the labels and the value follow. */
static void series(FILE *f, const char *name, const struct pview *v, const char *key,
		   const char *value)
{
	fprintf(f, "%s{process=\"", name);
	prom_label_value(f, v->p->comm);
	fprintf(f, "\",pid=\"%u\"", v->p->pid);
	if (key) {
		fprintf(f, ",%s=\"", key);
		prom_label_value(f, value);
		fputc('"', f);
	}
}

static void sample_u64(FILE *f, uint64_t v)
{
	fprintf(f, "} %llu\n", (unsigned long long)v);
}

static void sample_ns(FILE *f, uint64_t ns)
{
	fputs("} ", f);
	prom_seconds(f, ns);
	fputc('\n', f);
}

/* A histogram's series for one label set: cumulative buckets, +Inf, _sum, _count. */
static void histogram(FILE *f, const char *name, const struct pview *v, const char *key,
		      const char *value, const struct hist *h, uint64_t sum_ns)
{
	char metric[128];
	uint64_t count = hist_count(h);

	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (unsigned int i = 0; i < PROM_BUCKETS; i++) {
		series(f, metric, v, key, value);
		fputs(",le=\"", f);
		prom_seconds(f, prom_bucket_le(i));
		fputc('"', f);
		sample_u64(f, hist_below(h, prom_bucket_le(i)));
	}
	series(f, metric, v, key, value);
	fputs(",le=\"+Inf\"", f);
	sample_u64(f, count);
	snprintf(metric, sizeof(metric), "%s_sum", name);
	series(f, metric, v, key, value);
	sample_ns(f, sum_ns);
	snprintf(metric, sizeof(metric), "%s_count", name);
	series(f, metric, v, key, value);
	sample_u64(f, count);
}

static int cmp_trow_name(const void *a, const void *b)
{
	return strcmp(((const struct trow *)a)->name, ((const struct trow *)b)->name);
}

static int cmp_trow_rank(const void *a, const void *b)
{
	uint64_t x = ((const struct trow *)a)->rank, y = ((const struct trow *)b)->rank;

	return x < y ? 1 : x > y ? -1 : cmp_trow_name(a, b);
}

static void merge_trow(void *kept, const void *other)
{
	struct trow *k = kept;
	const struct trow *o = other;

	figs_add(&k->f, &o->f);
	k->n += o->n;
	k->rank += o->rank;
}

static int cmp_lrow_name(const void *a, const void *b)
{
	return strcmp(((const struct lrow *)a)->name, ((const struct lrow *)b)->name);
}

static int cmp_lrow_wait(const void *a, const void *b)
{
	uint64_t x = ((const struct lrow *)a)->wait_ns, y = ((const struct lrow *)b)->wait_ns;

	return x < y ? 1 : x > y ? -1 : cmp_lrow_name(a, b);
}

static void merge_lrow(void *kept, const void *other)
{
	struct lrow *k = kept;
	const struct lrow *o = other;

	k->n += o->n;
	k->waits += o->waits;
	k->wait_ns += o->wait_ns;
	k->holds += o->holds;
	k->hold_ns += o->hold_ns;
	k->timeouts += o->timeouts;
	hist_merge(&k->wait_hist, &o->wait_hist);
}

/*
 * Keep the first max of n sorted rows; fold the rest into one more row,
 * named [other]. The rows kept (n, or max + 1).
 */
static size_t cap_rows(void *rows, size_t n, size_t size, size_t max, char *other_name,
		       size_t name_len, void (*merge)(void *kept, const void *other))
{
	char *base = rows;

	if (n <= max)
		return n;
	/* The first folded row becomes [other], and takes in the rest. */
	for (size_t i = max + 1; i < n; i++)
		merge(base + max * size, base + i * size);
	snprintf(other_name, name_len, "%s", PROM_OTHER);
	return max + 1;
}

/*
 * A thread's label: its comm, or its Python name with each run of digits
 * as "N". Python numbers its threads for the life of the process
 * ("Thread-4711 (process_request_thread)" for each request of a
 * ThreadingHTTPServer): a label per number would be a new series per
 * thread. "client-N" sums a pool's threads as one comm does.
 */
static void thread_label(char *buf, size_t len, const struct rpt_thread *t)
{
	size_t n = 0;

	if (!t->pyname[0]) {
		snprintf(buf, len, "%s", t->comm);
		return;
	}
	for (const char *c = t->pyname; *c && n + 1 < len; c++) {
		bool digit = *c >= '0' && *c <= '9';

		/* A run's first digit only (n > 0: c[-1] is in the name). */
		if (!digit || !n || c[-1] < '0' || c[-1] > '9')
			buf[n++] = digit ? 'N' : *c;
	}
	buf[n] = '\0';
}

static int view_threads(struct pview *v, const struct pview *c, size_t max)
{
	const struct rpt_process *p = v->p;
	size_t cap = 0;

	if (c && vec_append(v->threads, v->nthreads, cap, c->threads, c->nthreads))
		return -ENOMEM;
	if (c)
		hist_merge(&v->gil_wait, &c->gil_wait);

	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];
		struct trow *row = vec_push(v->threads, v->nthreads, cap);

		if (!row)
			return -ENOMEM;
		thread_label(row->name, sizeof(row->name), t);
		row->f = t->s.f;
		row->n = 1;
		row->rank = t->s.f.oncpu_ns + t->s.f.runq_ns + t->s.f.gil_wait_ns;
		hist_merge(&v->gil_wait, &t->gil.wait_hist);
	}
	if (!v->nthreads)
		return 0;
	qsort(v->threads, v->nthreads, sizeof(*v->threads), cmp_trow_name);
	v->nthreads = vec_uniq(v->threads, v->nthreads, cmp_trow_name, merge_trow);
	qsort(v->threads, v->nthreads, sizeof(*v->threads), cmp_trow_rank);
	v->nthreads = cap_rows(v->threads, v->nthreads, sizeof(*v->threads), max,
			       v->threads[v->nthreads > max ? max : 0].name,
			       sizeof(v->threads->name), merge_trow);
	/* A thread that calls itself [other] joins them: one series per label set. */
	qsort(v->threads, v->nthreads, sizeof(*v->threads), cmp_trow_name);
	v->nthreads = vec_uniq(v->threads, v->nthreads, cmp_trow_name, merge_trow);
	for (size_t i = 0; i < v->nthreads; i++)
		if (!strcmp(v->threads[i].name, PROM_OTHER))
			v->threads_folded = v->threads[i].n;
	return 0;
}

/*
 * A lock's label: its symbol, else where it was waited for most (a heap
 * mutex has no name, and its address changes with every run), else none:
 * folded into [other].
 */
static void lock_label(const struct rpt_lock *l, char *buf, size_t len)
{
	if (l->named)
		snprintf(buf, len, "%s", l->name);
	else if (l->nsites && l->sites[0].addr)
		snprintf(buf, len, "at %s", l->sites[0].name);
	else
		snprintf(buf, len, "%s", PROM_OTHER);
}

static int view_locks(struct pview *v, const struct pview *c, size_t max)
{
	const struct rpt_process *p = v->p;
	size_t cap = 0, n;

	if (c && vec_append(v->locks, v->nlocks, cap, c->locks, c->nlocks))
		return -ENOMEM;

	for (size_t i = 0; i < p->nlocks; i++) {
		const struct rpt_lock *l = &p->locks[i];
		struct lrow *row;

		/* pthread_join is no lock; the GIL's words have the contrace_gil_ metrics. */
		if (l->join || l->gil)
			continue;
		row = vec_push(v->locks, v->nlocks, cap);
		if (!row)
			return -ENOMEM;
		lock_label(l, row->name, sizeof(row->name));
		row->n = 1;
		row->waits = l->waits;
		row->wait_ns = l->wait_ns;
		row->holds = l->holds;
		row->hold_ns = l->hold_ns;
		row->timeouts = l->timeouts;
		row->wait_hist = l->wait_hist;
	}
	if (!v->nlocks)
		return 0;
	qsort(v->locks, v->nlocks, sizeof(*v->locks), cmp_lrow_name);
	v->nlocks = vec_uniq(v->locks, v->nlocks, cmp_lrow_name, merge_lrow);
	qsort(v->locks, v->nlocks, sizeof(*v->locks), cmp_lrow_wait);
	n = v->nlocks;
	v->nlocks = cap_rows(v->locks, n, sizeof(*v->locks), max, v->locks[n > max ? max : 0].name,
			     sizeof(v->locks->name), merge_lrow);
	/* Unnamed locks kept by the cap join the folded ones: one series per label set. */
	qsort(v->locks, v->nlocks, sizeof(*v->locks), cmp_lrow_name);
	v->nlocks = vec_uniq(v->locks, v->nlocks, cmp_lrow_name, merge_lrow);
	for (size_t i = 0; i < v->nlocks; i++)
		if (!strcmp(v->locks[i].name, PROM_OTHER))
			v->locks_folded = v->locks[i].n;
	return 0;
}

/* The GIL's figures that the metrics show (gil_figs below): their offsets in struct rpt_gil. */
static const size_t gil_sums[] = {
	offsetof(struct rpt_gil, hold_ns), offsetof(struct rpt_gil, wait_ns),
	offsetof(struct rpt_gil, rel_ns),  offsetof(struct rpt_gil, takes),
	offsetof(struct rpt_gil, waits),   offsetof(struct rpt_gil, forced),
};

static void gil_add(struct rpt_gil *dst, const struct rpt_gil *src)
{
	for (size_t k = 0; k < sizeof(gil_sums) / sizeof(gil_sums[0]); k++)
		*(uint64_t *)((char *)dst + gil_sums[k]) +=
			*(const uint64_t *)((const char *)src + gil_sums[k]);
}

void prom_drops_add(struct rpt_drops *dst, const struct rpt_drops *src)
{
	for (size_t k = 0; k < DROP_COUNT; k++)
		*rpt_drop(dst, (enum drop_id)k) += rpt_drop_get(src, (enum drop_id)k);
}

/* The sums of v: its process's, plus the carry's. */
static void view_sums(struct pview *v, const struct pview *c, bool first)
{
	const struct rpt_process *p = v->p;

	v->has_gil = p->gil || (c && c->has_gil);
	if (p->gil)
		gil_add(&v->gil, p->gil);
	v->wakelat = p->s.wakelat;
	v->wakelat_sum = p->s.f.wakelat_sum;
	v->wall_ns = p->wall_ns;
	v->has_drops = first;
	if (first)
		v->drops = v->r->drops;
	if (!c)
		return;
	gil_add(&v->gil, &c->gil);
	hist_merge(&v->wakelat, &c->wakelat);
	v->wakelat_sum += c->wakelat_sum;
	v->wall_ns += c->wall_ns;
	prom_drops_add(&v->drops, &c->drops);
}

/* The view of process p of report r, with the carry c (NULL: none); drops: r's are its. */
static int view_build(struct pview *v, const struct report *r, size_t p, const struct pview *c,
		      bool drops, const struct prom_cfg *cfg)
{
	v->r = r;
	v->p = &r->procs[p];
	view_sums(v, c, drops);
	if (view_threads(v, c, cfg->max_threads) || view_locks(v, c, cfg->max_locks))
		return -ENOMEM;
	return 0;
}

/* The index of process pid in r (0: the first), or r->nprocs if it is not there. */
static size_t proc_index(const struct report *r, int pid)
{
	size_t j = 0;

	while (pid && j < r->nprocs && r->procs[j].pid != (uint32_t)pid)
		j++;
	return j;
}

/*
 * The rows of the processes of every target (all of its report's, or the
 * one of its pid); a carry goes with its target's (first) process.
 */
static int views_build(struct pview **out, size_t *nout, const struct prom_target *t, size_t n,
		       const struct prom_cfg *cfg)
{
	size_t cap = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		size_t first = proc_index(t[i].r, t[i].pid);
		size_t end = t[i].pid ? first + (first < t[i].r->nprocs) : t[i].r->nprocs;

		for (size_t j = first; j < end; j++) {
			struct pview *v = vec_push(*out, *nout, cap);
			const struct pview *c = t[i].carry && j == first ? &t[i].carry->v : NULL;
			bool drops = !cfg->drops && j == 0;

			if (!v || view_build(v, t[i].r, j, c, drops, cfg))
				return -ENOMEM;
		}
	}
	return 0;
}

static void views_free(struct pview *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].threads);
		free(v[i].locks);
	}
	free(v);
}

static void write_info(FILE *f, const struct pview *v, size_t n)
{
	prom_family(f, "contrace_target_info", "gauge",
		    "A traced process: its command line, Python version and GIL tier (1)");
	for (size_t i = 0; i < n; i++) {
		const struct rpt_gil *g = v[i].p->gil;

		series(f, "contrace_target_info", &v[i], "command", v[i].p->cmdline);
		fputs(",python_version=\"", f);
		prom_label_value(f, g ? g->info.version : "");
		fprintf(f, "\",gil_tier=\"%s\"", g ? rpt_gil_tier_name(g->info.tier) : "");
		sample_u64(f, 1);
	}
	prom_family(f, "contrace_traced_seconds_total", "counter",
		    "Time the process was traced: the denominator of its ratios");
	for (size_t i = 0; i < n; i++) {
		series(f, "contrace_traced_seconds_total", &v[i], NULL, NULL);
		sample_ns(f, v[i].wall_ns);
	}
	prom_family(f, "contrace_threads", "gauge", "Threads of the process alive now");
	for (size_t i = 0; i < n; i++) {
		size_t alive = 0;

		for (size_t j = 0; j < v[i].p->nthreads; j++)
			alive += !v[i].p->threads[j].exited;
		series(f, "contrace_threads", &v[i], NULL, NULL);
		sample_u64(f, alive);
	}
}

/*
 * The metric name of a figure of figures.def, or 0 if it has none: its
 * process JSON key (else thread key, else field name) with _ns made
 * _seconds, then _total: cpu_ns -> contrace_thread_cpu_seconds_total.
 * Maxima are no counters; a time not in _ns is a histogram's sum.
 */
static int fig_metric(const struct fig_desc *d, char *buf, size_t len)
{
	const char *key = d->pjson ? d->pjson : d->json ? d->json : d->name;
	size_t k = strlen(key);

	if (d->sum != SUM)
		return 0;
	if (d->unit == NS) {
		if (k < 3 || strcmp(key + k - 3, "_ns"))
			return 0;
		snprintf(buf, len, "contrace_thread_%.*s_seconds_total", (int)(k - 3), key);
	} else {
		snprintf(buf, len, "contrace_thread_%s_total", key);
	}
	return 1;
}

static void write_thread_figs(FILE *f, const struct pview *v, size_t n)
{
	char name[128];

	for (size_t id = 0; id < FIG_COUNT; id++) {
		const struct fig_desc *d = &fig_table[id];
		/* The GIL's figures only for Python processes: no zeros for the others. */
		bool gil = !strncmp(d->name, "gil_", 4);

		if (!fig_metric(d, name, sizeof(name)))
			continue;
		prom_family(f, name, "counter", d->doc);
		for (size_t i = 0; i < n; i++) {
			if (gil && !v[i].has_gil)
				continue;
			for (size_t j = 0; j < v[i].nthreads; j++) {
				const struct trow *t = &v[i].threads[j];
				uint64_t x = fig_get(&t->f, d);

				series(f, name, &v[i], "thread", t->name);
				if (d->unit == NS)
					sample_ns(f, x);
				else
					sample_u64(f, x);
			}
		}
	}
}

static void write_folded(FILE *f, const struct pview *v, size_t n)
{
	prom_family(f, "contrace_threads_folded", "gauge",
		    "Threads summed into thread=\"[other]\" by the series cap");
	for (size_t i = 0; i < n; i++) {
		series(f, "contrace_threads_folded", &v[i], NULL, NULL);
		sample_u64(f, v[i].threads_folded);
	}
	prom_family(f, "contrace_locks_folded", "gauge",
		    "Locks summed into lock=\"[other]\" by the series cap, or for want of a name");
	for (size_t i = 0; i < n; i++) {
		series(f, "contrace_locks_folded", &v[i], NULL, NULL);
		sample_u64(f, v[i].locks_folded);
	}
}

static void write_wakeups(FILE *f, const struct pview *v, size_t n)
{
	const char *name = "contrace_wakeup_latency_seconds";

	prom_family(
		f, name, "histogram",
		"From a thread's wakeup to its run on a CPU, per wakeup, over the process's threads");
	for (size_t i = 0; i < n; i++)
		histogram(f, name, &v[i], NULL, NULL, &v[i].wakelat, v[i].wakelat_sum);
}

/* A per-lock figure: its offset in struct lrow. */
static const struct {
	const char *name;
	size_t off;
	bool ns;
	const char *help;
} lock_figs[] = {
	{ "contrace_lock_waits_total", offsetof(struct lrow, waits), false,
	  "Contended waits on the lock (a thread blocked in a futex wait)" },
	{ "contrace_lock_wait_seconds_total", offsetof(struct lrow, wait_ns), true,
	  "Time threads were blocked waiting for the lock, summed over threads" },
	{ "contrace_lock_timeouts_total", offsetof(struct lrow, timeouts), false,
	  "Waits on the lock ended by a timer, not by a release" },
	{ "contrace_lock_holds_total", offsetof(struct lrow, holds), false,
	  "Contended holds: the lock handed to a waiter, then handed on" },
	{ "contrace_lock_hold_seconds_total", offsetof(struct lrow, hold_ns), true,
	  "Time of the contended holds (a lower bound of the time held)" },
};

static void write_locks(FILE *f, const struct pview *v, size_t n)
{
	const char *hname = "contrace_lock_wait_duration_seconds";

	for (size_t k = 0; k < sizeof(lock_figs) / sizeof(lock_figs[0]); k++) {
		prom_family(f, lock_figs[k].name, "counter", lock_figs[k].help);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < v[i].nlocks; j++) {
				const struct lrow *l = &v[i].locks[j];
				uint64_t x =
					*(const uint64_t *)((const char *)l + lock_figs[k].off);

				series(f, lock_figs[k].name, &v[i], "lock", l->name);
				if (lock_figs[k].ns)
					sample_ns(f, x);
				else
					sample_u64(f, x);
			}
	}
	prom_family(f, hname, "histogram", "Contended waits on the lock, per wait");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < v[i].nlocks; j++)
			histogram(f, hname, &v[i], "lock", v[i].locks[j].name,
				  &v[i].locks[j].wait_hist, v[i].locks[j].wait_ns);
}

/* A figure of a process's GIL: its offset in struct rpt_gil. */
static const struct {
	const char *name;
	size_t off;
	bool ns;
	const char *help;
} gil_figs[] = {
	{ "contrace_gil_hold_seconds_total", offsetof(struct rpt_gil, hold_ns), true,
	  "Time the GIL was held: its rate is the held ratio (0-1)" },
	{ "contrace_gil_wait_seconds_total", offsetof(struct rpt_gil, wait_ns), true,
	  "Time threads waited for the GIL, summed: its rate is the threads waiting on average" },
	{ "contrace_gil_released_seconds_total", offsetof(struct rpt_gil, rel_ns), true,
	  "Time Python threads had the GIL released, summed over threads" },
	{ "contrace_gil_takes_total", offsetof(struct rpt_gil, takes), false, "GIL acquisitions" },
	{ "contrace_gil_contended_takes_total", offsetof(struct rpt_gil, waits), false,
	  "GIL acquisitions a thread had to sleep for" },
	{ "contrace_gil_forced_switches_total", offsetof(struct rpt_gil, forced), false,
	  "Drop requests: waits for the GIL that timed out (the switch interval)" },
};

static void write_gil(FILE *f, const struct pview *v, size_t n)
{
	const char *hname = "contrace_gil_wait_duration_seconds";

	for (size_t k = 0; k < sizeof(gil_figs) / sizeof(gil_figs[0]); k++) {
		prom_family(f, gil_figs[k].name, "counter", gil_figs[k].help);
		for (size_t i = 0; i < n; i++) {
			uint64_t x;

			if (!v[i].has_gil)
				continue;
			x = *(const uint64_t *)((const char *)&v[i].gil + gil_figs[k].off);
			series(f, gil_figs[k].name, &v[i], NULL, NULL);
			if (gil_figs[k].ns)
				sample_ns(f, x);
			else
				sample_u64(f, x);
		}
	}
	prom_family(f, hname, "histogram", "Waits for the GIL, per wait");
	for (size_t i = 0; i < n; i++)
		if (v[i].p->gil)
			histogram(f, hname, &v[i], NULL, NULL, &v[i].gil_wait,
				  v[i].p->gil->wait_ns);
}

/*
 * A report's drops, on its first process (the target): drops are counted per
 * trace. Or those of cfg->drops, once, by kind only: serve's one session
 * counts them for all its processes, and none can be told its own.
 */
static void write_drops(FILE *f, const struct pview *v, size_t n, const struct prom_cfg *cfg)
{
	prom_family(f, "contrace_drops_total", "counter",
		    "Events the probes lost or could not see, by kind (see docs/usage.md)");
	for (size_t k = 0; cfg->drops && k < DROP_COUNT; k++)
		fprintf(f, "contrace_drops_total{kind=\"%s\"} %llu\n", drop_table[k].json,
			(unsigned long long)rpt_drop_get(cfg->drops, (enum drop_id)k));
	for (size_t i = 0; i < n; i++) {
		if (!v[i].has_drops)
			continue;
		for (size_t k = 0; k < DROP_COUNT; k++) {
			series(f, "contrace_drops_total", &v[i], "kind", drop_table[k].json);
			sample_u64(f, rpt_drop_get(&v[i].drops, (enum drop_id)k));
		}
	}
}

int prom_carry_fold(struct prom_carry **cp, const struct report *r, const struct prom_cfg *cfg)
{
	return prom_carry_fold_pid(cp, r, 0, cfg);
}

int prom_carry_fold_pid(struct prom_carry **cp, const struct report *r, int pid,
			const struct prom_cfg *cfg)
{
	size_t j = proc_index(r, pid);
	struct prom_carry *c;
	int ret;

	if (j >= r->nprocs)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ret = view_build(&c->v, r, j, *cp ? &(*cp)->v : NULL, !cfg->drops && j == 0, cfg);
	if (ret) {
		prom_carry_free(c);
		return ret;
	}
	c->v.r = NULL;
	c->v.p = NULL;
	prom_carry_free(*cp);
	*cp = c;
	return 0;
}

void prom_carry_free(struct prom_carry *c)
{
	if (!c)
		return;
	free(c->v.threads);
	free(c->v.locks);
	free(c);
}

int prom_write(FILE *f, const struct prom_target *t, size_t n, const struct prom_cfg *cfg)
{
	struct pview *v;
	size_t nv;
	int ret;

	ret = views_build(&v, &nv, t, n, cfg);
	if (!ret) {
		write_info(f, v, nv);
		write_thread_figs(f, v, nv);
		write_folded(f, v, nv);
		write_wakeups(f, v, nv);
		write_locks(f, v, nv);
		write_gil(f, v, nv);
		write_drops(f, v, nv, cfg);
	}
	views_free(v, nv);
	if (ret)
		return ret;
	return ferror(f) ? -EIO : 0;
}
