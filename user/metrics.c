// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "metrics.h"

static struct metric *metric_at(struct metrics *m, const char *name, enum unit unit, int group)
{
	struct metric *nv;

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].name, name))
			return &m->v[i];
	nv = realloc(m->v, (m->n + 1) * sizeof(*m->v));
	if (!nv)
		return NULL;
	m->v = nv;
	nv = &m->v[m->n++];
	memset(nv, 0, sizeof(*nv));
	snprintf(nv->name, sizeof(nv->name), "%s", name);
	nv->unit = unit;
	nv->group = group;
	return nv;
}

/* Add v to a metric of report `side` (summing: thread names repeat). */
static int put(struct metrics *m, int side, const char *name, enum unit unit, int group, double v)
{
	struct metric *e = metric_at(m, name, unit, group);

	if (!e)
		return -ENOMEM;
	e->v[side] += v;
	e->in[side] = true;
	return 0;
}

double jnum(struct json_object *o, const char *key, bool *ok)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v ||
	    (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))) {
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

static int add_process(struct metrics *m, int side, struct json_object *p)
{
	static const struct {
		const char *key;
		enum unit unit;
	} keys[] = {
		{ "wall_ns", U_NS },
		{ "cpu_ns", U_NS },
		{ "runq_ns", U_NS },
		{ "blocked_ns", U_NS },
		{ "cpu_utilization", U_RATIO },
		{ "voluntary_switches", U_COUNT },
		{ "involuntary_switches", U_COUNT },
		{ "wakeups", U_COUNT },
		{ "thread_count", U_COUNT },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !ret; i++)
		ret = put(m, side, keys[i].key, keys[i].unit, 0, jnum(p, keys[i].key, NULL));
	return ret;
}

static int add_gil(struct metrics *m, int side, struct json_object *p)
{
	static const struct {
		const char *key;
		enum unit unit;
	} keys[] = {
		{ "held_fraction", U_RATIO },
		{ "avg_waiting", U_RATIO },
		{ "hold_ns", U_NS },
		{ "wait_ns", U_NS },
		{ "released_ns", U_NS },
		{ "contended_takes", U_COUNT },
		{ "forced_switch_requests", U_COUNT },
	};
	struct json_object *g;
	char name[160];
	double busy;
	int ret = 0;

	if (!json_object_object_get_ex(p, "gil", &g) || !g || !strcmp(jstr(g, "tier"), "none"))
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !ret; i++) {
		snprintf(name, sizeof(name), "gil.%s", keys[i].key);
		ret = put(m, side, name, keys[i].unit, 1, jnum(g, keys[i].key, NULL));
	}
	/* The share of the Python threads' time spent waiting for the GIL. */
	busy = jnum(g, "hold_ns", NULL) + jnum(g, "wait_ns", NULL) + jnum(g, "released_ns", NULL);
	if (!ret)
		ret = put(m, side, "gil.wait_fraction", U_RATIO, 1,
			  busy > 0 ? jnum(g, "wait_ns", NULL) / busy : 0);
	return ret;
}

static int add_locks(struct metrics *m, int side, struct json_object *p)
{
	struct json_object *locks = jarr(p, "locks"), *j;
	double wait = 0, waits = 0;
	char name[160];
	int ret = 0;

	for (size_t i = 0; locks && i < json_object_array_length(locks) && !ret; i++) {
		struct json_object *l = json_object_array_get_idx(locks, i);

		if (json_object_object_get_ex(l, "thread_join", &j) && json_object_get_boolean(j))
			continue;
		wait += jnum(l, "wait_ns", NULL);
		waits += jnum(l, "waits", NULL);
		/* By name only where it is a symbol: addresses change from run to run. */
		if (!json_object_object_get_ex(l, "named", &j) || !json_object_get_boolean(j))
			continue;
		snprintf(name, sizeof(name), "lock[%s].wait_ns", jstr(l, "name"));
		ret = put(m, side, name, U_NS, 3, jnum(l, "wait_ns", NULL));
		snprintf(name, sizeof(name), "lock[%s].waits", jstr(l, "name"));
		if (!ret)
			ret = put(m, side, name, U_COUNT, 3, jnum(l, "waits", NULL));
	}
	if (!ret)
		ret = put(m, side, "locks.wait_ns", U_NS, 2, wait);
	if (!ret)
		ret = put(m, side, "locks.waits", U_COUNT, 2, waits);
	return ret;
}

static int add_syscalls(struct metrics *m, int side, struct json_object *p)
{
	struct json_object *sys = jarr(p, "syscalls");
	char name[160];
	bool ok;
	int ret = 0;

	for (size_t i = 0; sys && i < json_object_array_length(sys) && !ret; i++) {
		struct json_object *s = json_object_array_get_idx(sys, i);
		double calls = jnum(s, "calls", &ok);

		snprintf(name, sizeof(name), "syscall[%s].blocked_ns", jstr(s, "name"));
		ret = put(m, side, name, U_NS, 4, jnum(s, "blocked_ns", NULL));
		if (!ret && ok) {
			snprintf(name, sizeof(name), "syscall[%s].calls", jstr(s, "name"));
			ret = put(m, side, name, U_COUNT, 4, calls);
		}
	}
	return ret;
}

static int add_threads(struct metrics *m, int side, struct json_object *p)
{
	static const char *const keys[] = { "oncpu_ns", "runq_ns", "blocked_ns" };
	struct json_object *threads = jarr(p, "threads");
	char name[160];
	int ret = 0;

	/* Thread roles by name: tids change from run to run. */
	for (size_t i = 0; threads && i < json_object_array_length(threads) && !ret; i++) {
		struct json_object *t = json_object_array_get_idx(threads, i);

		for (size_t k = 0; k < 3 && !ret; k++) {
			snprintf(name, sizeof(name), "thread[%s].%s", jstr(t, "comm"), keys[k]);
			ret = put(m, side, name, U_NS, 5, jnum(t, keys[k], NULL));
		}
	}
	return ret;
}

int metrics_add_report(struct metrics *m, int side, struct json_object *report)
{
	struct json_object *p = json_object_array_get_idx(jarr(report, "processes"), 0);
	int ret = add_process(m, side, p);

	if (!ret)
		ret = add_gil(m, side, p);
	if (!ret)
		ret = add_locks(m, side, p);
	if (!ret)
		ret = add_syscalls(m, side, p);
	if (!ret)
		ret = add_threads(m, side, p);
	for (size_t i = 0; i < m->n; i++) {
		struct metric *e = &m->v[i];

		if (e->in[side] && !e->runs[side]) {
			e->lo[side] = e->hi[side] = e->v[side];
			e->runs[side] = 1;
		}
	}
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int metrics_add_runs(struct metrics *m, int side, struct json_object *runs)
{
	size_t n = json_object_array_length(runs);
	struct metrics *per = calloc(n ? n : 1, sizeof(*per));
	double *vals = calloc(n ? n : 1, sizeof(*vals));
	int ret = per && vals ? 0 : -ENOMEM;

	for (size_t k = 0; k < n && !ret; k++)
		ret = metrics_add_report(&per[k], 0, json_object_array_get_idx(runs, k));
	/* Every metric any run has, in the order the runs first have them. */
	for (size_t k = 0; k < n && !ret; k++) {
		for (size_t i = 0; i < per[k].n && !ret; i++) {
			const struct metric *x = &per[k].v[i];
			struct metric *e = metric_at(m, x->name, x->unit, x->group);

			if (!e) {
				ret = -ENOMEM;
				break;
			}
			if (e->in[side])
				continue;
			for (size_t r = 0; r < n; r++) {
				const struct metric *y = NULL;

				for (size_t j = 0; j < per[r].n && !y; j++)
					if (!strcmp(per[r].v[j].name, x->name))
						y = &per[r].v[j];
				vals[r] = y ? y->v[0] : 0;
			}
			qsort(vals, n, sizeof(*vals), cmp_double);
			e->v[side] = n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
			e->lo[side] = vals[0];
			e->hi[side] = vals[n - 1];
			e->runs[side] = (unsigned)n;
			e->in[side] = true;
		}
	}
	for (size_t k = 0; per && k < n; k++)
		metrics_free(&per[k]);
	free(per);
	free(vals);
	return ret;
}

const char *metrics_value(char *buf, size_t len, enum unit u, double v)
{
	if (u == U_NS) {
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
}

void metrics_free(struct metrics *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
