// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "store/diff.h"
#include "model/figs.h"
#include "util/format.h"
#include "store/metrics.h"
#include "store/record.h"
#include "out/report_json.h"

#define D(ns) fmt_dur((char[FMT_LEN]){ 0 }, FMT_LEN, (ns))
#define GROUP_ROWS 10 /* rows per named group (locks, syscalls, threads) in text */
/*
 * The default gate: these, worse by more than 20%, and by more than the
 * noise floor: 10 ms, or 10% of the base's wall time if that is more (the
 * run-queue wait of two identical short runs differs by tens of percent).
 */
#define GATE_FLOOR_NS 10e6
#define GATE_FLOOR_WALL 0.1

/* One side: its document, and what it is ("pid 123, 2.00s, cmd") for the heading. */
struct side {
	const char *path;
	struct json_object *root;
	struct json_object *runs; /* of a --repeat report: its runs' reports (in root) */
	char what[256];
	char warning[256]; /* why its figures may mislead (cut short), or "" */
};

/* A comparison: both sides' metrics, and what the rules made of them. */
struct diff {
	struct side s[2];
	struct metrics m;
	const struct diff_rule *rules;
	size_t nrules;
	bool gate; /* the default rules */
	double floor_ns; /* the default gate's noise floor */
	bool broken[DIFF_MAX_RULES + 3], missing[DIFF_MAX_RULES + 3];
	const struct metric *noise[DIFF_MAX_RULES + 3]; /* broken, but within the runs' spread */
	bool regression;
};

/*
 * A recording: its total report, as `contrace report --json` would write
 * it. From a file, read as a stream: two snapshots in memory, whatever its
 * length.
 */
static int load_recording(struct side *s, const struct diff_input *in, char *err, size_t errlen)
{
	struct recording rec = { 0 };
	struct report r;
	char msg[384];
	bool named;
	int ret;

	if (in->data)
		ret = record_open_mem(in->data, in->len, &rec, msg, sizeof(msg));
	else
		ret = record_open(in->name, &rec, msg, sizeof(msg));
	while (!ret && (ret = record_next(&rec, msg, sizeof(msg))) > 0)
		ret = 0;
	/* The reader's messages name a file it opened. */
	named = ret && !in->data;
	if (!ret) {
		ret = record_total(&rec, &r);
		if (ret == -ENODATA)
			snprintf(msg, sizeof(msg), "the recording ends before its first report");
		else if (ret)
			snprintf(msg, sizeof(msg), "%s", strerror(-ret));
	}
	if (!ret) {
		/* The report points into the recording: made JSON before it is freed. */
		s->root = report_to_json(&r);
		model_free(&r);
		if (!s->root) {
			snprintf(msg, sizeof(msg), "out of memory");
			ret = -ENOMEM;
		}
	}
	if (rec.rd)
		record_free(&rec);
	if (ret)
		snprintf(err, errlen, "%s%s%s", named ? "" : s->path, named ? "" : ": ", msg);
	return ret;
}

static int not_a_report(struct side *s, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: not a contrace JSON report (%s)", s->path, why);
	return -EINVAL;
}

int diff_check_start(const char *name, const void *head, size_t len, uint64_t size, char *err,
		     size_t errlen)
{
	if (size > DIFF_MAX_JSON) {
		snprintf(err, errlen, "%s: %llu bytes: larger than a JSON report can be (%llu MiB)",
			 name, (unsigned long long)size, (unsigned long long)(DIFF_MAX_JSON >> 20));
		return -EFBIG;
	}
	/* json-c would take a NUL byte for the end of the text, and read what comes before. */
	if (memchr(head, 0, len)) {
		snprintf(err, errlen, "%s: not a contrace JSON report (a NUL byte: binary data)",
			 name);
		return -EINVAL;
	}
	return 0;
}

/* The next JSON document from data + *off (after white space): it, or NULL at the end or on an error. */
static struct json_object *next_doc(struct json_tokener *tok, const char *data, size_t len,
				    size_t *off, enum json_tokener_error *jerr)
{
	struct json_object *o;
	size_t left;

	while (*off < len && strchr(" \t\r\n", data[*off]))
		(*off)++;
	if (*off == len)
		return NULL;
	left = len - *off;
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, data + *off, left > INT32_MAX ? INT32_MAX : (int)left);
	*jerr = json_tokener_get_error(tok);
	if (o && *jerr == json_tokener_success) {
		*off += json_tokener_get_parse_end(tok);
		return o;
	}
	json_object_put(o);
	/* A document that stops short: the tokener waits for more. */
	if (*jerr == json_tokener_success || *jerr == json_tokener_continue)
		*jerr = json_tokener_error_parse_eof;
	return NULL;
}

/*
 * The JSON document; of several (the JSON Lines of -i: its intervals,
 * then the total), the last, which must be the total.
 */
static int parse_json(struct side *s, const char *data, size_t len, char *err, size_t errlen)
{
	enum json_tokener_error jerr = json_tokener_success;
	struct json_tokener *tok;
	struct json_object *o;
	size_t off = 0, ndocs = 0;
	int ret;

	ret = diff_check_start(s->path, data, len, len, err, errlen);
	if (ret)
		return ret;
	tok = json_tokener_new();
	if (!tok)
		return not_a_report(s, "out of memory", err, errlen);
	while ((o = next_doc(tok, data, len, &off, &jerr))) {
		json_object_put(s->root);
		s->root = o;
		ndocs++;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success)
		return not_a_report(s, json_tokener_error_desc(jerr), err, errlen);
	if (!ndocs)
		return not_a_report(s, "empty", err, errlen);
	if (!json_object_is_type(s->root, json_type_object))
		return not_a_report(s, "not an object", err, errlen);
	if (ndocs > 1 && strcmp(jstr(s->root, "kind"), "total")) {
		snprintf(err, errlen, "%s: %zu JSON documents, and the last is no total report",
			 s->path, ndocs);
		return -EINVAL;
	}
	return 0;
}

/* The metrics of a report or of a --repeat document's runs, every value checked. */
static int collect(struct diff *d, int side, char *err, size_t errlen)
{
	struct side *s = &d->s[side];
	struct json_object *v = NULL;
	const char *kind;
	char msg[384];
	int ret;

	if (!json_object_object_get_ex(s->root, "schema_version", &v) ||
	    !json_object_is_type(v, json_type_int))
		return not_a_report(s, "no schema_version", err, errlen);
	if (json_object_get_int64(v) != 1) {
		snprintf(err, errlen,
			 "%s: report schema version %lld; this contrace reads version 1", s->path,
			 (long long)json_object_get_int64(v));
		return -EINVAL;
	}
	if (!json_object_object_get_ex(s->root, "kind", &v)) {
		snprintf(err, errlen, "%s: kind: missing", s->path);
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s: kind: not a string", s->path);
		return -EINVAL;
	}
	kind = json_object_get_string(v);
	if (!strcmp(kind, "repeat")) {
		s->runs = jarr(s->root, "runs");
		if (!s->runs || !json_object_array_length(s->runs)) {
			snprintf(err, errlen, "%s: a --repeat report without runs", s->path);
			return -EINVAL;
		}
		ret = metrics_add_runs(&d->m, side, s->runs, msg, sizeof(msg));
	} else if (!strcmp(kind, "total") || !strcmp(kind, "interval")) {
		ret = metrics_add_report(&d->m, side, s->root, msg, sizeof(msg));
	} else {
		snprintf(msg, sizeof(msg), "kind: '%.64s' is no report", kind);
		ret = -EINVAL;
	}
	if (ret)
		snprintf(err, errlen, "%s: %s", s->path, msg);
	return ret;
}

/* What the report is about, for the heading (its values checked by collect()). */
static void describe(struct diff *d, int side)
{
	struct side *s = &d->s[side];
	struct json_object *report = s->runs ? json_object_array_get_idx(s->runs, 0) : s->root;
	struct json_object *p = json_object_array_get_idx(jarr(report, "processes"), 0);
	char wall[FMT_LEN];
	unsigned cut = d->m.truncated[side];

	if (s->runs)
		snprintf(s->what, sizeof(s->what), "%zu runs, %s",
			 json_object_array_length(s->runs), jstr(p, "cmdline"));
	else
		snprintf(s->what, sizeof(s->what), "pid %.0f, %s, %s", jnum(p, "pid", NULL),
			 metrics_value(wall, sizeof(wall), U_NS, jnum(p, "wall_ns", NULL)),
			 jstr(p, "cmdline"));
	metrics_printable(s->what);
	if (cut && s->runs)
		snprintf(
			s->warning, sizeof(s->warning),
			"%s %s: %u of its %zu runs %s cut short (a recording's last whole snapshot): they cover less than the whole run",
			side ? "new" : "base", s->path, cut, json_object_array_length(s->runs),
			cut > 1 ? "were" : "was");
	else if (cut)
		snprintf(
			s->warning, sizeof(s->warning),
			"%s %s was cut short (a recording's last whole snapshot): it covers less than the whole run",
			side ? "new" : "base", s->path);
	metrics_printable(s->warning);
}

static int load(struct diff *d, int side, const struct diff_input *in, char *err, size_t errlen)
{
	struct side *s = &d->s[side];
	int ret;

	s->path = in->name;
	if (!in->data || record_is(in->data, in->len))
		ret = load_recording(s, in, err, errlen);
	else
		ret = parse_json(s, in->data, in->len, err, errlen);
	if (!ret)
		ret = collect(d, side, err, errlen);
	if (!ret)
		describe(d, side);
	return ret;
}

/* Rules */

int diff_parse_rule(const char *s, struct diff_rule *r, char *err, size_t errlen)
{
	const char *op = strpbrk(s, "<>"), *end;
	size_t mlen;

	memset(r, 0, sizeof(*r));
	snprintf(r->text, sizeof(r->text), "%s", s);
	if (!op) {
		snprintf(
			err, errlen,
			"invalid rule '%s': expected METRIC>CHANGE or METRIC<CHANGE, e.g. gil.wait_fraction>+10%%",
			s);
		return -EINVAL;
	}
	mlen = (size_t)(op - s);
	while (mlen && s[mlen - 1] == ' ')
		mlen--;
	if (!mlen || mlen >= sizeof(r->metric)) {
		snprintf(err, errlen, "invalid rule '%s': no metric before '%c'", s, *op);
		return -EINVAL;
	}
	memcpy(r->metric, s, mlen);
	r->op = *op++;
	if (*op == '=') {
		r->or_equal = true;
		op++;
	}
	while (*op == ' ')
		op++;
	/* Signed decimal only: strtod took "+0x10%" as +16% and "+1e1%" as +10%. */
	if (parse_decimal(op, true, &r->change, &end)) {
		snprintf(err, errlen, "invalid rule '%s': expected a change such as +10%% or +5ms",
			 s);
		return -EINVAL;
	}
	if (!strcmp(end, "%")) {
		r->relative = true;
	} else if (!strcmp(end, "ns") || !*end) {
		/* nanoseconds, or a plain number (counts, fractions) */
	} else if (!strcmp(end, "us")) {
		r->change *= 1e3;
	} else if (!strcmp(end, "ms")) {
		r->change *= 1e6;
	} else if (!strcmp(end, "s")) {
		r->change *= 1e9;
	} else {
		snprintf(err, errlen, "invalid rule '%s': unknown unit '%s' (%%, ns, us, ms, s)", s,
			 end);
		return -EINVAL;
	}
	return 0;
}

/* The change the rule looks at: percent of base (+-inf from 0), or absolute. */
static double rule_change(const struct diff_rule *r, double base, double new)
{
	double d = new - base;

	if (!r->relative)
		return d;
	if (base == 0)
		return d > 0 ? INFINITY : d < 0 ? -INFINITY : 0;
	return 100.0 * d / fabs(base);
}

bool diff_rule_broken(const struct diff_rule *r, double base, double new)
{
	double c = rule_change(r, base, new);

	if (r->op == '>')
		return r->or_equal ? c >= r->change : c > r->change;
	return r->or_equal ? c <= r->change : c < r->change;
}

/* Output */

static const char *pct(char *buf, size_t len, double base, double new)
{
	if (base == 0)
		snprintf(buf, len, "%s", new == 0 ? "0%" : "new");
	else
		snprintf(buf, len, "%+.1f%%", 100.0 * (new - base) / fabs(base));
	return buf;
}

static void print_table(FILE *f, const struct metrics *m, bool markdown)
{
	char a[32], b[32], c[32], p[32];
	int group = -1;
	size_t in_group = 0;

	if (markdown)
		fprintf(f, "| metric | base | new | change | %% |\n|---|---:|---:|---:|---:|\n");
	else
		fprintf(f, "  %-44s %10s %10s %10s %8s\n", "METRIC", "BASE", "NEW", "CHANGE", "%");
	for (size_t i = 0; i < m->n; i++) {
		const struct metric *e = &m->v[i];

		if (e->group != group) {
			group = e->group;
			in_group = 0;
		}
		if (e->v[0] == 0 && e->v[1] == 0)
			continue;
		if (e->group >= 3 && ++in_group > GROUP_ROWS)
			continue;
		metrics_value(a, sizeof(a), e->unit, e->v[0]);
		metrics_value(b, sizeof(b), e->unit, e->v[1]);
		metrics_value(c, sizeof(c), e->unit, e->v[1] - e->v[0]);
		if (e->v[1] >= e->v[0]) {
			memmove(c + 1, c, strlen(c) + 1);
			c[0] = '+';
		}
		pct(p, sizeof(p), e->v[0], e->v[1]);
		if (markdown)
			fprintf(f, "| `%s` | %s | %s | %s | %s |\n", e->name, a, b, c, p);
		else
			fprintf(f, "  %-44s %10s %10s %10s %8s\n", e->name, a, b, c, p);
	}
}

/* Why a broken rule is not a regression: the runs' ranges overlap. */
static void print_spread(FILE *f, const struct metric *e)
{
	char a[32], b[32], c[32], d[32];

	fprintf(f,
		" (broken by the medians, but within the measured spread: base %s..%s, new %s..%s; not a regression)",
		metrics_value(a, sizeof(a), e->unit, e->lo[0]),
		metrics_value(b, sizeof(b), e->unit, e->hi[0]),
		metrics_value(c, sizeof(c), e->unit, e->lo[1]),
		metrics_value(d, sizeof(d), e->unit, e->hi[1]));
}

static void add_range(struct json_object *o, const struct metric *x, int side)
{
	static const char *const keys[2][3] = { { "base_runs", "base_min", "base_max" },
						{ "new_runs", "new_min", "new_max" } };

	if (x->runs[side] < 2)
		return;
	json_object_object_add(o, keys[side][0], json_object_new_int((int)x->runs[side]));
	json_object_object_add(o, keys[side][1], json_object_new_double(x->lo[side]));
	json_object_object_add(o, keys[side][2], json_object_new_double(x->hi[side]));
}

static struct json_object *metric_json(const struct metric *x)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "metric", json_object_new_string(x->name));
	json_object_object_add(e, "base", x->in[0] ? json_object_new_double(x->v[0]) : NULL);
	json_object_object_add(e, "new", x->in[1] ? json_object_new_double(x->v[1]) : NULL);
	json_object_object_add(e, "change", json_object_new_double(x->v[1] - x->v[0]));
	json_object_object_add(
		e, "relative",
		x->v[0] != 0 ? json_object_new_double((x->v[1] - x->v[0]) / fabs(x->v[0])) : NULL);
	add_range(e, x, 0);
	add_range(e, x, 1);
	return e;
}

static struct json_object *diff_json(const struct diff *d)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct json_object *w = json_object_new_array();

	json_object_object_add(o, "base", json_object_new_string(d->s[0].path));
	json_object_object_add(o, "new", json_object_new_string(d->s[1].path));
	json_object_object_add(o, "base_truncated", json_object_new_boolean(d->m.truncated[0]));
	json_object_object_add(o, "new_truncated", json_object_new_boolean(d->m.truncated[1]));
	for (int i = 0; i < 2; i++)
		if (d->s[i].warning[0])
			json_object_array_add(w, json_object_new_string(d->s[i].warning));
	json_object_object_add(o, "warnings", w);
	for (size_t i = 0; i < d->m.n; i++)
		json_object_array_add(a, metric_json(&d->m.v[i]));
	json_object_object_add(o, "metrics", a);
	a = json_object_new_array();
	for (size_t i = 0; i < d->nrules; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "rule", json_object_new_string(d->rules[i].text));
		json_object_object_add(e, "broken", json_object_new_boolean(d->broken[i]));
		json_object_object_add(e, "within_spread",
				       json_object_new_boolean(d->noise[i] != NULL));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "rules", a);
	json_object_object_add(o, "regression", json_object_new_boolean(d->regression));
	return o;
}

/* A rule's outcome, as text and Markdown print it. */
static const char *rule_label(const struct diff *d, size_t i)
{
	return d->missing[i] ? "n/a" : d->broken[i] ? "FAIL" : "ok";
}

static void print_text(FILE *f, const struct diff *d)
{
	fprintf(f, "contrace diff\n  base  %s: %s\n  new   %s: %s\n", d->s[0].path, d->s[0].what,
		d->s[1].path, d->s[1].what);
	for (int i = 0; i < 2; i++)
		if (d->s[i].warning[0])
			fprintf(f, "  WARNING: %s\n", d->s[i].warning);
	fputc('\n', f);
	print_table(f, &d->m, false);
	if (d->gate)
		fprintf(f, "\n  RULES (the default gate: worse by more than 20%% and %s)\n",
			D((uint64_t)d->floor_ns));
	else
		fprintf(f, "\n  RULES\n");
	for (size_t i = 0; i < d->nrules; i++) {
		fprintf(f, "  %-5s %s", rule_label(d, i), d->rules[i].text);
		if (d->noise[i])
			print_spread(f, d->noise[i]);
		fputc('\n', f);
	}
	fprintf(f, "\n%s\n",
		d->regression ? "REGRESSION: a rule is broken (exit status 1)" :
				"within limits (exit status 0)");
}

static void print_markdown(FILE *f, const struct diff *d)
{
	for (int i = 0; i < 2; i++)
		if (d->s[i].warning[0])
			fprintf(f, "> **Warning**: %s\n\n", d->s[i].warning);
	print_table(f, &d->m, true);
	fprintf(f, "\n%s\n", d->regression ? "**Regression**" : "Within limits");
	for (size_t i = 0; i < d->nrules; i++) {
		fprintf(f, "- %s `%s`", rule_label(d, i), d->rules[i].text);
		if (d->noise[i])
			print_spread(f, d->noise[i]);
		fputc('\n', f);
	}
}

/*
 * Whether the change of a metric lies inside the spread measured by
 * --repeat: one side's median is within the range of the other side's runs.
 */
static bool within_spread(const struct metric *e)
{
	if (e->runs[0] < 2 && e->runs[1] < 2)
		return false;
	return (e->runs[0] > 1 && e->v[1] >= e->lo[0] && e->v[1] <= e->hi[0]) ||
	       (e->runs[1] > 1 && e->v[0] >= e->lo[1] && e->v[0] <= e->hi[1]);
}

/* Each rule against its metric: broken, missing (the gate's only), or noise. 0, or 2. */
static int judge(struct diff *d, char *err, size_t errlen)
{
	struct metric *e;

	d->floor_ns = GATE_FLOOR_NS;
	e = metrics_find(&d->m, "wall_ns");
	if (e && GATE_FLOOR_WALL * e->v[0] > d->floor_ns)
		d->floor_ns = GATE_FLOOR_WALL * e->v[0];
	for (size_t i = 0; i < d->nrules; i++) {
		e = metrics_find(&d->m, d->rules[i].metric);
		if (!e && !d->gate) {
			snprintf(err, errlen,
				 "--fail-on '%s': no metric '%s' in either report (see --help)",
				 d->rules[i].text, d->rules[i].metric);
			return 2;
		}
		d->missing[i] = !e; /* the gate's: e.g. no GIL in these reports */
		if (!e)
			continue;
		d->broken[i] = diff_rule_broken(&d->rules[i], e->v[0], e->v[1]);
		/* The default gate ignores changes within the noise floor. */
		if (d->gate && fabs(e->v[1] - e->v[0]) <= d->floor_ns)
			d->broken[i] = false;
		/* Medians of --repeat runs: a change inside their spread is noise. */
		if (d->broken[i] && within_spread(e)) {
			d->broken[i] = false;
			d->noise[i] = e;
		}
		d->regression |= d->broken[i];
	}
	return 0;
}

static void write_outputs(const struct diff *d, const struct diff_outputs *out)
{
	for (int i = 0; i < 2 && out->warn; i++)
		if (d->s[i].warning[0])
			fprintf(out->warn, "contrace diff: warning: %s\n", d->s[i].warning);
	if (out->text)
		print_text(out->text, d);
	if (out->markdown)
		print_markdown(out->markdown, d);
	if (out->json) {
		struct json_object *o = diff_json(d);

		fprintf(out->json, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	}
}

int diff_run(const struct diff_input in[2], const struct diff_rule *rules, size_t nrules,
	     const struct diff_outputs *out, char *err, size_t errlen)
{
	static struct diff_rule gate_rules[3];
	static const char *const gate_text[] = { "locks.wait_ns>+20%", "gil.wait_ns>+20%",
						 "runq_ns>+20%" };
	struct diff *d = calloc(1, sizeof(*d));
	int code = 2;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return 2;
	}
	if (nrules > DIFF_MAX_RULES) {
		snprintf(err, errlen, "at most %d --fail-on rules", DIFF_MAX_RULES);
		goto out;
	}
	d->rules = rules;
	d->nrules = nrules;
	if (!nrules) {
		for (size_t i = 0; i < 3; i++)
			diff_parse_rule(gate_text[i], &gate_rules[i], err, errlen);
		d->rules = gate_rules;
		d->nrules = 3;
		d->gate = true;
	}
	if (load(d, 0, &in[0], err, errlen) || load(d, 1, &in[1], err, errlen))
		goto out;
	metrics_sort(&d->m);
	if (judge(d, err, errlen))
		goto out;
	write_outputs(d, out);
	code = d->regression ? 1 : 0;
out:
	/*
	 * One line whatever the input put in it: a "kind" of "tot\nal" was
	 * quoted with its newlines (found by the fuzzer).
	 */
	if (code == 2)
		metrics_printable(err);
	metrics_free(&d->m);
	for (int i = 0; i < 2; i++)
		json_object_put(d->s[i].root);
	free(d);
	return code;
}

/* The metric names diff knows: the figures of bpf/figures.def (DIFF_P, DIFF_T) and the rest. */
void diff_usage_metrics(FILE *f)
{
	fputs("Metrics, of the target process (the first in the report): wall_ns\n"
	      "cpu_utilization thread_count",
	      f);
	for (int i = 0; i < FIG_COUNT; i++)
		if (fig_table[i].flags & DIFF_P)
			fprintf(f, " %s", fig_table[i].pjson);
	fputs(";\ngil.held_fraction gil.avg_waiting gil.wait_fraction gil.hold_ns gil.wait_ns\n"
	      "gil.released_ns gil.contended_takes gil.forced_switch_requests;\n"
	      "gil.lock[WORD].wait_ns gil.lock[WORD].waits (the GIL's cond, mutex,\n"
	      "switch_cond, switch_mutex); locks.wait_ns locks.waits (locks but the GIL);\n"
	      "lock[NAME].wait_ns lock[NAME].waits (locks by symbol);\n"
	      "syscall[NAME].blocked_ns syscall[NAME].calls; thread[NAME] (threads by name):",
	      f);
	for (int i = 0; i < FIG_COUNT; i++)
		if (fig_table[i].flags & DIFF_T)
			fprintf(f, " .%s", fig_table[i].json);
	fputs("\n", f);
}
