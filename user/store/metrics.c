// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/figs.h"
#include "util/format.h"
#include "store/metrics.h"
#include "util/vec.h"

/*
 * The largest value read: the schema's integers are int64 (9.2e18 ns is
 * 292 years); anything above is no measurement, and would overflow the
 * conversions that print it.
 */
#define MAX_VALUE 1e19
#define AT_LEN 192 /* a JSON path: "runs[99].processes[0].locks[4095]" */

/* Metrics */

static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The slot of name: where it is, or the free one where it goes. */
static size_t *slot(struct metrics *m, const char *name)
{
	size_t mask = m->nslots - 1, i = (size_t)hash(name) & mask;

	while (m->slots[i] && strcmp(m->v[m->slots[i] - 1].name, name))
		i = (i + 1) & mask;
	return &m->slots[i];
}

/* An index with room for n metrics, at most half full (probes stay short). 0, or -ENOMEM. */
static int reindex(struct metrics *m, size_t n)
{
	size_t nslots = 64, *slots;

	if (m->nslots >= 2 * n)
		return 0;
	while (nslots < 2 * n)
		nslots *= 2;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	for (size_t i = 0; i < m->n; i++)
		*slot(m, m->v[i].name) = i + 1;
	return 0;
}

struct metric *metrics_find(struct metrics *m, const char *name)
{
	size_t s;

	if (!m->n)
		return NULL;
	if (reindex(m, m->n)) {
		/* No memory for an index: look the slow way. */
		for (size_t i = 0; i < m->n; i++)
			if (!strcmp(m->v[i].name, name))
				return &m->v[i];
		return NULL;
	}
	s = *slot(m, name);
	return s ? &m->v[s - 1] : NULL;
}

/* The metric of that name, made if new (a hash: reports have thousands of locks). */
static struct metric *metric_at(struct metrics *m, const char *name, enum unit unit, int group)
{
	struct metric *nv;
	size_t *s;

	if (reindex(m, m->n + 1))
		return NULL;
	s = slot(m, name);
	if (*s)
		return &m->v[*s - 1];
	nv = vec_push(m->v, m->n, m->cap);
	if (!nv)
		return NULL;
	snprintf(nv->name, sizeof(nv->name), "%s", name);
	nv->unit = unit;
	nv->group = group;
	*s = m->n;
	return nv;
}

/* Reading a report, every value checked; the first problem is kept with its JSON path. */
struct reader {
	struct metrics *m;
	int side;
	char *err;
	size_t errlen;
	int ret; /* 0, or the first problem's -EINVAL or -ENOMEM */
};

static bool bad(struct reader *r, const char *at, const char *key, const char *what)
{
	snprintf(r->err, r->errlen, "%s%s%s: %s", at, *at && key ? "." : "", key ? key : "", what);
	r->ret = -EINVAL;
	return false;
}

/* The member key of o (which may be JSON null), or false if it is missing. */
static bool member(struct reader *r, const char *at, struct json_object *o, const char *key,
		   struct json_object **v)
{
	return json_object_object_get_ex(o, key, v) || bad(r, at, key, "missing");
}

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/*
 * A number, finite and not negative: every figure of a report is one. Times
 * and counts (unit U_NS, U_COUNT) are the schema's integers: 1.5 ns is no
 * measurement (1.0, which JSON writers may print for 1, is one); ratios
 * (U_RATIO) are any number.
 */
static bool number_of(struct reader *r, const char *at, const char *key, struct json_object *v,
		      enum unit unit, double *out)
{
	double d;

	if (!is_number(v))
		return bad(r, at, key, "not a number");
	d = json_object_get_double(v);
	if (!isfinite(d))
		return bad(r, at, key, "not a finite number");
	if (d < 0)
		return bad(r, at, key, "negative");
	if (d > MAX_VALUE)
		return bad(r, at, key, "out of range");
	if (unit != U_RATIO && d != floor(d))
		return bad(r, at, key, "not a whole number");
	*out = d;
	return true;
}

static bool get_num(struct reader *r, const char *at, struct json_object *o, const char *key,
		    enum unit unit, double *out)
{
	struct json_object *v;

	return member(r, at, o, key, &v) && number_of(r, at, key, v, unit, out);
}

/*
 * A number or null (counts traced only with -S): *present says which. With
 * may_lack, a missing member is null too: a figure newer than the report.
 */
static bool get_num_or_null(struct reader *r, const char *at, struct json_object *o,
			    const char *key, enum unit unit, double *out, bool *present,
			    bool may_lack)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) && !may_lack)
		return bad(r, at, key, "missing");
	*present = v != NULL;
	*out = 0;
	return !v || number_of(r, at, key, v, unit, out);
}

static bool get_str(struct reader *r, const char *at, struct json_object *o, const char *key,
		    const char **out)
{
	struct json_object *v;

	if (!member(r, at, o, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_string))
		return bad(r, at, key, "not a string");
	*out = json_object_get_string(v);
	return true;
}

static bool get_bool(struct reader *r, const char *at, struct json_object *o, const char *key,
		     bool *out)
{
	struct json_object *v;

	if (!member(r, at, o, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(r, at, key, "not true or false");
	*out = json_object_get_boolean(v);
	return true;
}

static bool get_array(struct reader *r, const char *at, struct json_object *o, const char *key,
		      struct json_object **out)
{
	if (!member(r, at, o, key, out))
		return false;
	return json_object_is_type(*out, json_type_array) || bad(r, at, key, "not an array");
}

/* The path of member key of the value at `at` (its element i if i >= 0) into out[AT_LEN]. */
static void path_of(char *out, const char *at, const char *key, long i)
{
	int n = snprintf(out, AT_LEN, "%s%s%s", at, *at ? "." : "", key);

	if (n >= 0 && n < AT_LEN && i >= 0)
		n = snprintf(out + n, (size_t)(AT_LEN - n), "[%ld]", i);
	if (n < 0 || n >= AT_LEN)
		snprintf(out, AT_LEN, "...%s", key); /* no deeper than schema's paths: never */
}

/* Element i of the array at at.key, an object; its path in item_at. */
static bool get_item(struct reader *r, const char *at, const char *key, struct json_object *arr,
		     size_t i, struct json_object **out, char *item_at)
{
	path_of(item_at, at, key, (long)i);
	*out = json_object_array_get_idx(arr, i);
	return json_object_is_type(*out, json_type_object) ||
	       bad(r, item_at, NULL, "not an object");
}

/* Add v to a metric of the side (summing: thread names repeat); names without control characters. */
static bool put(struct reader *r, const char *name, enum unit unit, int group, double v)
{
	char clean[METRIC_NAME_LEN];
	struct metric *e;

	snprintf(clean, sizeof(clean), "%s", name);
	metrics_printable(clean);
	e = metric_at(r->m, clean, unit, group);
	if (!e) {
		snprintf(r->err, r->errlen, "out of memory");
		r->ret = -ENOMEM;
		return false;
	}
	e->v[r->side] += v;
	e->in[r->side] = true;
	return true;
}

struct key {
	const char *key;
	enum unit unit;
};

/*
 * A figure of bpf/figures.def, as metric `name` of group `group`. A
 * NULLABLE one may be null or missing (a recording or a report made before
 * the figure existed did not measure it): then it is no metric.
 */
static bool put_fig(struct reader *r, const char *at, struct json_object *o, const char *key,
		    const char *name, const struct fig_desc *d, int group)
{
	enum unit unit = d->unit == NS ? U_NS : U_COUNT;
	bool present;
	double v;

	if (!(d->flags & NULLABLE)) {
		if (!get_num(r, at, o, key, unit, &v))
			return false;
		present = true;
	} else if (!get_num_or_null(r, at, o, key, unit, &v, &present, true)) {
		return false;
	}
	return !present || put(r, name, unit, group, v);
}

static bool add_process(struct reader *r, const char *at, struct json_object *p)
{
	/* Besides the figures of bpf/figures.def that diff compares (DIFF_P). */
	static const struct key keys[] = {
		{ "wall_ns", U_NS },
		{ "cpu_utilization", U_RATIO },
		{ "thread_count", U_COUNT },
	};
	const char *s;
	double v;

	/* Not metrics, but the heading names them. */
	if (!get_num(r, at, p, "pid", U_COUNT, &v) || !get_str(r, at, p, "cmdline", &s))
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!get_num(r, at, p, keys[i].key, keys[i].unit, &v) ||
		    !put(r, keys[i].key, keys[i].unit, 0, v))
			return false;
	for (int i = 0; i < FIG_COUNT; i++)
		if ((fig_table[i].flags & DIFF_P) &&
		    !put_fig(r, at, p, fig_table[i].pjson, fig_table[i].pjson, &fig_table[i], 0))
			return false;
	return true;
}

static bool add_gil(struct reader *r, const char *at, struct json_object *p)
{
	static const struct key keys[] = {
		{ "held_fraction", U_RATIO },
		{ "avg_waiting", U_RATIO },
		{ "hold_ns", U_NS },
		{ "wait_ns", U_NS },
		{ "released_ns", U_NS },
		{ "contended_takes", U_COUNT },
		{ "forced_switch_requests", U_COUNT },
	};
	double v[sizeof(keys) / sizeof(keys[0])], busy;
	char name[METRIC_NAME_LEN], gat[AT_LEN];
	struct json_object *g;
	const char *tier;

	if (!member(r, at, p, "gil", &g))
		return false;
	if (!g)
		return true; /* not a Python process */
	if (!json_object_is_type(g, json_type_object))
		return bad(r, at, "gil", "not an object or null");
	path_of(gat, at, "gil", -1);
	if (!get_str(r, gat, g, "tier", &tier))
		return false;
	if (!strcmp(tier, "none"))
		return true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(name, sizeof(name), "gil.%s", keys[i].key);
		if (!get_num(r, gat, g, keys[i].key, keys[i].unit, &v[i]) ||
		    !put(r, name, keys[i].unit, 1, v[i]))
			return false;
	}
	/* The share of the Python threads' time spent waiting for the GIL. */
	busy = v[2] + v[3] + v[4];
	return put(r, "gil.wait_fraction", U_RATIO, 1, busy > 0 ? v[3] / busy : 0);
}

/* The address of the process's GIL struct from its report, 0 if none. */
static uint64_t gil_address(struct json_object *p)
{
	struct json_object *g, *a;

	if (!json_object_object_get_ex(p, "gil", &g) || !g ||
	    !json_object_object_get_ex(g, "address", &a) || !a ||
	    !json_object_is_type(a, json_type_string))
		return 0;
	return strtoull(json_object_get_string(a), NULL, 16);
}

/* Which of the GIL's words (at g) a lock at address `addr` ("0x...") is. */
static const char *gil_word(uint64_t g, const char *addr)
{
	uint64_t off = strtoull(addr, NULL, 16) - g;

	if (!g || off >= CT_GIL_SWITCH_MUTEX + 40)
		return "other";
	if (off >= CT_GIL_COND && off < CT_GIL_MUTEX)
		return "cond";
	if (off >= CT_GIL_MUTEX && off < CT_GIL_SWITCH_COND)
		return "mutex";
	if (off >= CT_GIL_SWITCH_COND && off < CT_GIL_SWITCH_MUTEX)
		return "switch_cond";
	return off >= CT_GIL_SWITCH_MUTEX ? "switch_mutex" : "other";
}

/*
 * A word of the GIL: gil.lock[cond], gil.lock[mutex], ... (a name like
 * libpython3.12.so.1.0:_PyRuntime+0x12ec0 broke the table's columns), and
 * not in locks.*: its waits are gil.wait_ns's, one cause for one rule.
 */
static bool add_gil_word(struct reader *r, const char *at, struct json_object *l, uint64_t g,
			 double w, double n)
{
	char name[METRIC_NAME_LEN];
	const char *addr, *word;

	if (!get_str(r, at, l, "address", &addr))
		return false;
	word = gil_word(g, addr);
	snprintf(name, sizeof(name), "gil.lock[%s].wait_ns", word);
	if (!put(r, name, U_NS, 1, w))
		return false;
	snprintf(name, sizeof(name), "gil.lock[%s].waits", word);
	return put(r, name, U_COUNT, 1, n);
}

/*
 * One lock: into the totals, and by name where it is a symbol. Joins and
 * events (waiting for work, "kind": "event") are not contention: left out.
 * A report older than the "kind" field has none: its rows count as locks.
 * The GIL's words go to gil.lock[...] (one cause, one rule).
 */
static bool add_lock(struct reader *r, const char *at, struct json_object *l, uint64_t g,
		     double *wait, double *waits)
{
	char name[METRIC_NAME_LEN];
	struct json_object *kind;
	bool join, named, gil = false;
	const char *lname;
	struct json_object *v;
	double w, n;

	if (!get_bool(r, at, l, "thread_join", &join) || !get_bool(r, at, l, "named", &named) ||
	    !get_str(r, at, l, "name", &lname) || !get_num(r, at, l, "wait_ns", U_NS, &w) ||
	    !get_num(r, at, l, "waits", U_COUNT, &n))
		return false;
	/* Reports made before locks said whether they are the GIL's have no "gil". */
	if (json_object_object_get_ex(l, "gil", &v) && !get_bool(r, at, l, "gil", &gil))
		return false;
	if (join)
		return true;
	if (gil)
		return add_gil_word(r, at, l, g, w, n);
	if (json_object_object_get_ex(l, "kind", &kind) &&
	    json_object_is_type(kind, json_type_string) &&
	    !strcmp(json_object_get_string(kind), "event"))
		return true;
	*wait += w;
	*waits += n;
	/* By name only where it is a symbol: addresses change from run to run. */
	if (!named)
		return true;
	snprintf(name, sizeof(name), "lock[%s].wait_ns", lname);
	if (!put(r, name, U_NS, 3, w))
		return false;
	snprintf(name, sizeof(name), "lock[%s].waits", lname);
	return put(r, name, U_COUNT, 3, n);
}

static bool add_locks(struct reader *r, const char *at, struct json_object *p)
{
	struct json_object *locks, *l;
	double wait = 0, waits = 0;
	uint64_t g = gil_address(p);
	char lat[AT_LEN];

	if (!get_array(r, at, p, "locks", &locks))
		return false;
	for (size_t i = 0; i < json_object_array_length(locks); i++)
		if (!get_item(r, at, "locks", locks, i, &l, lat) ||
		    !add_lock(r, lat, l, g, &wait, &waits))
			return false;
	return put(r, "locks.wait_ns", U_NS, 2, wait) && put(r, "locks.waits", U_COUNT, 2, waits);
}

static bool add_syscalls(struct reader *r, const char *at, struct json_object *p)
{
	struct json_object *sys, *s;
	char name[METRIC_NAME_LEN], sat[AT_LEN];
	const char *sname;
	double blocked, calls;
	bool traced;

	if (!get_array(r, at, p, "syscalls", &sys))
		return false;
	for (size_t i = 0; i < json_object_array_length(sys); i++) {
		if (!get_item(r, at, "syscalls", sys, i, &s, sat) ||
		    !get_str(r, sat, s, "name", &sname) ||
		    !get_num(r, sat, s, "blocked_ns", U_NS, &blocked) ||
		    !get_num_or_null(r, sat, s, "calls", U_COUNT, &calls, &traced, false))
			return false;
		snprintf(name, sizeof(name), "syscall[%s].blocked_ns", sname);
		if (!put(r, name, U_NS, 4, blocked))
			return false;
		/* Calls are counted with -S only (null without). */
		snprintf(name, sizeof(name), "syscall[%s].calls", sname);
		if (traced && !put(r, name, U_COUNT, 4, calls))
			return false;
	}
	return true;
}

static bool add_threads(struct reader *r, const char *at, struct json_object *p)
{
	struct json_object *threads, *t;
	char name[METRIC_NAME_LEN], tat[AT_LEN];
	const char *comm;

	if (!get_array(r, at, p, "threads", &threads))
		return false;
	/* Thread roles by name: tids change from run to run. */
	for (size_t i = 0; i < json_object_array_length(threads); i++) {
		if (!get_item(r, at, "threads", threads, i, &t, tat) ||
		    !get_str(r, tat, t, "comm", &comm))
			return false;
		for (int k = 0; k < FIG_COUNT; k++) {
			const struct fig_desc *d = &fig_table[k];

			if (!(d->flags & DIFF_T))
				continue;
			snprintf(name, sizeof(name), "thread[%s].%s", comm, d->json);
			if (!put_fig(r, tat, t, d->json, name, d, 5))
				return false;
		}
	}
	return true;
}

/* Whether the trace was cut short: a recording's last whole snapshot. */
static bool add_truncated(struct reader *r, const char *at, struct json_object *report)
{
	struct json_object *trace;
	char tat[AT_LEN];
	bool truncated;

	if (!member(r, at, report, "trace", &trace))
		return false;
	if (!json_object_is_type(trace, json_type_object))
		return bad(r, at, "trace", "not an object");
	path_of(tat, at, "trace", -1);
	if (!get_bool(r, tat, trace, "truncated", &truncated))
		return false;
	r->m->truncated[r->side] += truncated;
	return true;
}

/* The report at path `at` ("" for a document, "runs[2]" for a run). */
static int add_report(struct reader *r, const char *at, struct json_object *report)
{
	struct json_object *procs, *p;
	char pat[AT_LEN];

	if (!get_array(r, at, report, "processes", &procs))
		return r->ret;
	if (!json_object_array_length(procs)) {
		bad(r, at, "processes", "empty: the report has no process");
		return r->ret;
	}
	if (get_item(r, at, "processes", procs, 0, &p, pat) && add_truncated(r, at, report) &&
	    add_process(r, pat, p) && add_gil(r, pat, p) && add_locks(r, pat, p) &&
	    add_syscalls(r, pat, p))
		add_threads(r, pat, p);
	return r->ret;
}

int metrics_add_report(struct metrics *m, int side, struct json_object *report, char *err,
		       size_t errlen)
{
	struct reader r = { .m = m, .side = side, .err = err, .errlen = errlen };

	if (add_report(&r, "", report))
		return r.ret;
	for (size_t i = 0; i < m->n; i++) {
		struct metric *e = &m->v[i];

		if (e->in[side] && !e->runs[side]) {
			e->lo[side] = e->hi[side] = e->v[side];
			e->runs[side] = 1;
		}
	}
	return 0;
}

/* One run's value of one metric (index into the side's metrics). */
struct sample {
	size_t metric;
	double v;
};

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	if (x->metric != y->metric)
		return x->metric < y->metric ? -1 : 1;
	return x->v < y->v ? -1 : x->v > y->v;
}

/* Run k's metrics, as samples of the side's metrics of m (made if new). */
static int sample_run(struct metrics *m, int side, struct json_object *runs, size_t k,
		      struct sample **s, size_t *ns, size_t *cap, char *err, size_t errlen)
{
	struct metrics one = { 0 };
	struct reader r = { .m = &one, .side = 0, .err = err, .errlen = errlen };
	struct json_object *run;
	char at[AT_LEN];

	if (get_item(&r, "", "runs", runs, k, &run, at))
		add_report(&r, at, run);
	for (size_t i = 0; i < one.n && !r.ret; i++) {
		struct metric *e = metric_at(m, one.v[i].name, one.v[i].unit, one.v[i].group);
		struct sample *x = e ? vec_push(*s, *ns, *cap) : NULL;

		if (!x) {
			snprintf(err, errlen, "out of memory");
			r.ret = -ENOMEM;
			break;
		}
		*x = (struct sample){ .metric = (size_t)(e - m->v), .v = one.v[i].v[0] };
	}
	m->truncated[side] += one.truncated[0];
	metrics_free(&one);
	return r.ret;
}

/* The median, smallest and largest of n runs: the sorted samples s, and zeros for the rest. */
static void set_range(struct metric *e, int side, const struct sample *s, size_t ns, size_t n)
{
	size_t zeros = n - ns;
#define AT(i) ((i) < zeros ? 0.0 : s[(i)-zeros].v)
	e->v[side] = n % 2 ? AT(n / 2) : (AT(n / 2 - 1) + AT(n / 2)) / 2;
	e->lo[side] = AT(0);
	e->hi[side] = AT(n - 1);
#undef AT
	e->runs[side] = (unsigned)n;
	e->in[side] = true;
}

int metrics_add_runs(struct metrics *m, int side, struct json_object *runs, char *err,
		     size_t errlen)
{
	size_t n, ns = 0, cap = 0, j;
	struct sample *s = NULL;
	int ret = 0;

	if (!json_object_is_type(runs, json_type_array)) {
		snprintf(err, errlen, "runs: not an array");
		return -EINVAL;
	}
	n = json_object_array_length(runs);

	/*
	 * Every run's metrics as samples, sorted by metric and value: each
	 * metric's median and range from its run of samples, in O(N log N)
	 * for N values in all (10,000 runs of 1,000 locks are no hang).
	 */
	for (size_t k = 0; k < n && !ret; k++)
		ret = sample_run(m, side, runs, k, &s, &ns, &cap, err, errlen);
	if (!ret) {
		qsort(s, ns, sizeof(*s), cmp_sample);
		for (size_t i = 0; i < ns; i = j) {
			for (j = i; j < ns && s[j].metric == s[i].metric; j++)
				;
			set_range(&m->v[s[i].metric], side, s + i, j - i, n);
		}
	}
	free(s);
	return ret;
}

void metrics_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

const char *metrics_value(char *buf, size_t len, enum unit u, double v)
{
	if (u == U_NS && fabs(v) >= 1e18) {
		/* Beyond what a duration prints (and converts to 64 bits): seconds. */
		snprintf(buf, len, "%.3gs", v / 1e9);
	} else if (u == U_NS) {
		if (v < 0) {
			buf[0] = '-';
			fmt_dur(buf + 1, len - 1, (uint64_t)-v);
		} else {
			fmt_dur(buf, len, (uint64_t)v);
		}
	} else if (u == U_COUNT) {
		snprintf(buf, len, "%.0f", v);
	} else {
		snprintf(buf, len, "%.3f", v);
	}
	return buf;
}

static int cmp_metric(const void *a, const void *b)
{
	const struct metric *x = a, *y = b;
	double mx = fmax(x->v[0], x->v[1]), my = fmax(y->v[0], y->v[1]);

	if (x->group != y->group)
		return x->group - y->group;
	if (x->group < 3)
		return 0;
	return mx > my ? -1 : mx < my;
}

void metrics_sort(struct metrics *m)
{
	qsort(m->v, m->n, sizeof(*m->v), cmp_metric);
	/* The index points at the old order: made again when next needed. */
	free(m->slots);
	m->slots = NULL;
	m->nslots = 0;
}

void metrics_free(struct metrics *m)
{
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* Reading a member without checks: for values metrics_add_report() has checked. */

double jnum(struct json_object *o, const char *key, bool *ok)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !is_number(v)) {
		if (ok)
			*ok = false;
		return 0;
	}
	if (ok)
		*ok = true;
	return json_object_get_double(v);
}

const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

struct json_object *jarr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}
