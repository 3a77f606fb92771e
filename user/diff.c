// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "diff.h"
#include "format.h"
#include "metrics.h"
#include "readfile.h"
#include "record.h"
#include "report_json.h"

#define D(ns) fmt_dur((char[FMT_LEN]){ 0 }, FMT_LEN, (ns))
#define MAX_RULES 32
#define GROUP_ROWS 10 /* rows per named group (locks, syscalls, threads) in text */
/*
 * The default gate: these, worse by more than 20%, and by more than the
 * noise floor: 10 ms, or 10% of the base's wall time if that is more (the
 * run-queue wait of two identical short runs differs by tens of percent).
 */
#define GATE_FLOOR_NS 10e6
#define GATE_FLOOR_WALL 0.1

/* What a report is: "pid 123, 2.00s, 'cmd'" */
struct side {
	const char *path;
	struct json_object *root;
	struct json_object *runs; /* of a --repeat report: its runs' reports (in root) */
	char what[256];
};

/* A recording: its total report, as `contrace report --json` would write it. */
static int load_recording(struct side *s, const void *data, size_t len, char *err, size_t errlen)
{
	struct recording rec;
	struct report r;
	char msg[256];
	int ret;

	ret = record_parse(data, len, &rec, msg, sizeof(msg));
	if (ret) {
		snprintf(err, errlen, "%s: %s", s->path, msg);
		return ret;
	}
	ret = record_total(&rec, &r);
	if (ret) {
		snprintf(err, errlen, "%s: %s", s->path,
			 ret == -ENODATA ? "the recording ends before its first report" :
					   strerror(-ret));
		record_free(&rec);
		return ret;
	}
	s->root = report_to_json(&r);
	model_free(&r);
	record_free(&rec);
	if (!s->root) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		return -ENOMEM;
	}
	return 0;
}

/* What the report is about, for the table's heading. */
static int describe(struct side *s, char *err, size_t errlen)
{
	struct json_object *procs, *p, *report = s->root;
	size_t nruns = 0;

	if (!strcmp(jstr(s->root, "kind"), "repeat")) {
		s->runs = jarr(s->root, "runs");
		nruns = s->runs ? json_object_array_length(s->runs) : 0;
		if (!nruns) {
			snprintf(err, errlen, "%s: a --repeat report without runs", s->path);
			return -EINVAL;
		}
		for (size_t i = 0; i < nruns; i++)
			if (!json_object_is_type(json_object_array_get_idx(s->runs, i),
						 json_type_object)) {
				snprintf(err, errlen,
					 "%s: run %zu of the --repeat report is no report", s->path,
					 i + 1);
				return -EINVAL;
			}
		report = json_object_array_get_idx(s->runs, 0);
	}
	procs = jarr(report, "processes");
	if (!procs || !json_object_array_length(procs)) {
		snprintf(err, errlen, "%s: the report has no process", s->path);
		return -EINVAL;
	}
	p = json_object_array_get_idx(procs, 0);
	if (nruns)
		snprintf(s->what, sizeof(s->what), "%zu runs, %s", nruns, jstr(p, "cmdline"));
	else
		snprintf(s->what, sizeof(s->what), "pid %d, %s, %s", (int)jnum(p, "pid", NULL),
			 D((uint64_t)jnum(p, "wall_ns", NULL)), jstr(p, "cmdline"));
	return 0;
}

static int collect(struct metrics *m, int side, struct side *s)
{
	return s->runs ? metrics_add_runs(m, side, s->runs) : metrics_add_report(m, side, s->root);
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

static int load(struct side *s, char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	struct json_object *v;
	char *buf;
	size_t len;
	long version;
	int ret;

	/* A report is a few megabytes; a recording can be much larger. */
	ret = read_file(s->path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	if (record_is(buf, len)) {
		ret = load_recording(s, buf, len, err, errlen);
		free(buf);
		if (ret)
			return ret;
		return describe(s, err, errlen);
	}
	s->root = json_tokener_parse_verbose(buf, &jerr);
	free(buf);
	if (!s->root || !json_object_is_type(s->root, json_type_object)) {
		snprintf(err, errlen, "%s: not a contrace JSON report (%s)", s->path,
			 s->root ? "not an object" : json_tokener_error_desc(jerr));
		return -EINVAL;
	}
	if (!json_object_object_get_ex(s->root, "schema_version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: not a contrace JSON report (no schema_version)",
			 s->path);
		return -EINVAL;
	}
	version = (long)json_object_get_int64(v);
	if (version != 1) {
		snprintf(err, errlen,
			 "%s: report schema version %ld; this contrace reads version 1", s->path,
			 version);
		return -EINVAL;
	}
	return describe(s, err, errlen);
}

/* Rules */

int diff_parse_rule(const char *s, struct diff_rule *r, char *err, size_t errlen)
{
	const char *op = strpbrk(s, "<>");
	char *end;
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
	errno = 0;
	r->change = strtod(op, &end);
	if (end == op || errno || !isfinite(r->change)) {
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

static struct json_object *diff_json(const struct metrics *m, const struct diff_rule *rules,
				     const bool *broken, const struct metric *const *noise,
				     size_t nrules, const struct side *s, bool regression)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "base", json_object_new_string(s[0].path));
	json_object_object_add(o, "new", json_object_new_string(s[1].path));
	for (size_t i = 0; i < m->n; i++) {
		struct json_object *e = json_object_new_object();
		const struct metric *x = &m->v[i];

		json_object_object_add(e, "metric", json_object_new_string(x->name));
		json_object_object_add(e, "base",
				       x->in[0] ? json_object_new_double(x->v[0]) : NULL);
		json_object_object_add(e, "new", x->in[1] ? json_object_new_double(x->v[1]) : NULL);
		json_object_object_add(e, "change", json_object_new_double(x->v[1] - x->v[0]));
		json_object_object_add(
			e, "relative",
			x->v[0] != 0 ? json_object_new_double((x->v[1] - x->v[0]) / fabs(x->v[0])) :
				       NULL);
		add_range(e, x, 0);
		add_range(e, x, 1);
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "metrics", a);
	a = json_object_new_array();
	for (size_t i = 0; i < nrules; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "rule", json_object_new_string(rules[i].text));
		json_object_object_add(e, "broken", json_object_new_boolean(broken[i]));
		json_object_object_add(e, "within_spread",
				       json_object_new_boolean(noise[i] != NULL));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "rules", a);
	json_object_object_add(o, "regression", json_object_new_boolean(regression));
	return o;
}

static void usage(FILE *f)
{
	fputs("Usage: contrace diff [OPTIONS] BASE NEW\n"
	      "\n"
	      "Compare two reports of the same program, each a JSON report (contrace --json)\n"
	      "or a recording (contrace record -o; its total report): each metric's change,\n"
	      "and whether it regressed. Exit status: 0 within limits, 1 regression, 2 usage\n"
	      "or input error.\n"
	      "\n"
	      "  --fail-on RULE     METRIC>CHANGE or METRIC<CHANGE (also >=, <=); CHANGE is a\n"
	      "                     percentage of the base (+10%) or an amount (+5ms, +100,\n"
	      "                     -0.05); several allowed. Without any, the default gate:\n"
	      "                     locks.wait_ns, gil.wait_ns or runq_ns worse by more\n"
	      "                     than 20% and by more than 10 ms or 10% of the base's\n"
	      "                     wall time, whichever is more\n"
	      "  --json FILE        also write the comparison as JSON ('-': stdout, no text)\n"
	      "  --markdown FILE    also write the table as Markdown (a CI job summary)\n"
	      "  -h, --help         this help\n"
	      "\n"
	      "Metrics: wall_ns cpu_ns runq_ns blocked_ns cpu_utilization voluntary_switches\n"
	      "involuntary_switches wakeups thread_count; gil.held_fraction gil.avg_waiting\n"
	      "gil.wait_fraction gil.hold_ns gil.wait_ns gil.released_ns gil.contended_takes\n"
	      "gil.forced_switch_requests; locks.wait_ns locks.waits; lock[NAME].wait_ns\n"
	      "lock[NAME].waits; syscall[NAME].blocked_ns syscall[NAME].calls;\n"
	      "thread[NAME].oncpu_ns .runq_ns .blocked_ns. Of the target process (the first\n"
	      "in the report); locks by symbol, threads by name.\n",
	      f);
}

int diff_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fail-on", required_argument, NULL, 'F' },
		{ "json", required_argument, NULL, 'j' },
		{ "markdown", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct diff_rule rules[MAX_RULES + 3];
	bool broken[MAX_RULES + 3] = { false }, missing[MAX_RULES + 3] = { false };
	const struct metric *noise[MAX_RULES + 3] = { NULL };
	bool gate = false, regression = false;
	double floor_ns = GATE_FLOOR_NS;
	const char *json_path = NULL, *md_path = NULL;
	struct side s[2] = { { 0 } };
	struct metrics m = { 0 };
	size_t nrules = 0, nbroken = 0;
	char err[512];
	FILE *out = stdout;
	int c, code = 2;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (nrules == MAX_RULES) {
				fprintf(stderr, "contrace diff: at most %d --fail-on rules\n",
					MAX_RULES);
				return 2;
			}
			if (diff_parse_rule(optarg, &rules[nrules], err, sizeof(err))) {
				fprintf(stderr, "contrace diff: %s\n", err);
				return 2;
			}
			nrules++;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'm':
			md_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr,
				"contrace diff: unknown option '%s' (see contrace diff --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "contrace diff: expected two reports, BASE and NEW (see --help)\n");
		return 2;
	}
	s[0].path = argv[optind];
	s[1].path = argv[optind + 1];
	if (!nrules) {
		static const char *const gate_rules[] = { "locks.wait_ns>+20%", "gil.wait_ns>+20%",
							  "runq_ns>+20%" };

		for (size_t i = 0; i < 3; i++)
			diff_parse_rule(gate_rules[i], &rules[nrules++], err, sizeof(err));
		gate = true;
	}
	for (int i = 0; i < 2; i++) {
		if (load(&s[i], err, sizeof(err))) {
			fprintf(stderr, "contrace diff: %s\n", err);
			goto out;
		}
	}
	if (collect(&m, 0, &s[0]) || collect(&m, 1, &s[1])) {
		fprintf(stderr, "contrace diff: out of memory\n");
		goto out;
	}
	for (size_t j = 0; j < m.n; j++)
		if (!strcmp(m.v[j].name, "wall_ns") && GATE_FLOOR_WALL * m.v[j].v[0] > floor_ns)
			floor_ns = GATE_FLOOR_WALL * m.v[j].v[0];
	metrics_sort(&m);
	for (size_t i = 0; i < nrules; i++) {
		struct metric *e = NULL;

		for (size_t j = 0; j < m.n && !e; j++)
			if (!strcmp(m.v[j].name, rules[i].metric))
				e = &m.v[j];
		if (!e) {
			missing[i] = true;
			if (gate)
				continue; /* e.g. no GIL in these reports */
			fprintf(stderr,
				"contrace diff: --fail-on '%s': no metric '%s' in either report (see --help)\n",
				rules[i].text, rules[i].metric);
			goto out;
		}
		broken[i] = diff_rule_broken(&rules[i], e->v[0], e->v[1]);
		/* The default gate ignores changes within the noise floor. */
		if (gate && fabs(e->v[1] - e->v[0]) <= floor_ns)
			broken[i] = false;
		/* Medians of --repeat runs: a change inside their spread is noise. */
		if (broken[i] && within_spread(e)) {
			broken[i] = false;
			noise[i] = e;
		}
		nbroken += broken[i];
	}
	regression = nbroken > 0;
	if (json_path && !strcmp(json_path, "-"))
		out = NULL;
	if (out) {
		fprintf(out, "contrace diff\n  base  %s: %s\n  new   %s: %s\n\n", s[0].path,
			s[0].what, s[1].path, s[1].what);
		print_table(out, &m, false);
		if (gate)
			fprintf(out,
				"\n  RULES (the default gate: worse by more than 20%% and %s)\n",
				D((uint64_t)floor_ns));
		else
			fprintf(out, "\n  RULES\n");
		for (size_t i = 0; i < nrules; i++) {
			fprintf(out, "  %-5s %s",
				missing[i] ? "n/a" :
				broken[i]  ? "FAIL" :
					     "ok",
				rules[i].text);
			if (noise[i])
				print_spread(out, noise[i]);
			fputc('\n', out);
		}
		fprintf(out, "\n%s\n",
			regression ? "REGRESSION: a rule is broken (exit status 1)" :
				     "within limits (exit status 0)");
	}
	if (md_path) {
		FILE *f = fopen(md_path, "we");

		if (!f) {
			fprintf(stderr, "contrace diff: cannot write '%s': %s\n", md_path,
				strerror(errno));
			goto out;
		}
		print_table(f, &m, true);
		fprintf(f, "\n%s\n", regression ? "**Regression**" : "Within limits");
		for (size_t i = 0; i < nrules; i++) {
			fprintf(f, "- %s `%s`", broken[i] ? "FAIL" : "ok", rules[i].text);
			if (noise[i])
				print_spread(f, noise[i]);
			fputc('\n', f);
		}
		fclose(f);
	}
	if (json_path) {
		struct json_object *o = diff_json(&m, rules, broken, noise, nrules, s, regression);
		FILE *f = strcmp(json_path, "-") ? fopen(json_path, "we") : stdout;

		if (!f) {
			fprintf(stderr, "contrace diff: cannot write '%s': %s\n", json_path,
				strerror(errno));
			json_object_put(o);
			goto out;
		}
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		if (f != stdout)
			fclose(f);
		json_object_put(o);
	}
	code = regression ? 1 : 0;
out:
	metrics_free(&m);
	for (int i = 0; i < 2; i++)
		json_object_put(s[i].root);
	return code;
}
