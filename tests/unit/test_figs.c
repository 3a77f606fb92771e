// SPDX-License-Identifier: GPL-2.0-only
/*
 * The figure table (bpf/figures.def, user/model/figs.c): what it declares is
 * what the JSON schema and the user's documentation say, and the generic
 * operations give each row's window and sum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "model/figs.h"
#include "util/readfile.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

static struct json_object *schema_def(struct json_object *schema, const char *name)
{
	struct json_object *defs, *d;

	assert_true(json_object_object_get_ex(schema, "$defs", &defs));
	assert_true(json_object_object_get_ex(defs, name, &d));
	return d;
}

/*
 * Whether `key` is a required property of def whose type is the figure's
 * unit, or null too if and only if the figure is NULLABLE.
 */
static void check_property(struct json_object *def, const char *where, const char *key,
			   enum fig_unit unit, bool nullable)
{
	const char *want = unit == NS ? "#/$defs/ns" : "#/$defs/count";
	struct json_object *props, *p, *req, *ref, *any;
	bool required = false, typed = false, null = false;

	assert_true(json_object_object_get_ex(def, "properties", &props));
	if (!json_object_object_get_ex(props, key, &p))
		fail_msg("docs/report.schema.json: %s has no property %s", where, key);
	assert_true(json_object_object_get_ex(def, "required", &req));
	for (size_t i = 0; i < json_object_array_length(req); i++)
		required |= !strcmp(json_object_get_string(json_object_array_get_idx(req, i)), key);
	if (!required)
		fail_msg("docs/report.schema.json: %s.%s is not required", where, key);
	if (json_object_object_get_ex(p, "$ref", &ref))
		typed = !strcmp(json_object_get_string(ref), want);
	/* A figure an older recording may lack: its unit or null. */
	if (json_object_object_get_ex(p, "anyOf", &any)) {
		for (size_t i = 0; i < json_object_array_length(any); i++) {
			struct json_object *alt = json_object_array_get_idx(any, i), *type;

			if (json_object_object_get_ex(alt, "$ref", &ref))
				typed |= !strcmp(json_object_get_string(ref), want);
			if (json_object_object_get_ex(alt, "type", &type))
				null |= !strcmp(json_object_get_string(type), "null");
		}
	}
	if (!typed)
		fail_msg("docs/report.schema.json: %s.%s is not %s", where, key, want);
	if (null != nullable)
		fail_msg("docs/report.schema.json: %s.%s %s null, the figure is%s NULLABLE", where,
			 key, null ? "allows" : "does not allow", nullable ? "" : " not");
}

static void schema_has_every_figure(void **state)
{
	char path[512], err[256], *text;
	struct json_object *schema;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/report.schema.json", SRCDIR);
	assert_int_equal(read_file(path, &text, &len, err, sizeof(err)), 0);
	schema = json_tokener_parse(text);
	assert_non_null(schema);
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct fig_desc *d = &fig_table[i];

		if (d->json)
			check_property(schema_def(schema, "thread"), "thread", d->json, d->unit,
				       d->flags & NULLABLE);
		if (d->pjson)
			check_property(schema_def(schema, "totals"), "totals", d->pjson, d->unit,
				       d->flags & NULLABLE);
	}
	json_object_put(schema);
	free(text);
}

/* Every JSON key of a figure is explained in docs/usage.md, in backquotes. */
static void usage_explains_every_figure(void **state)
{
	char path[512], err[256], key[80], *text;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/usage.md", SRCDIR);
	assert_int_equal(read_file(path, &text, &len, err, sizeof(err)), 0);
	for (int i = 0; i < FIG_COUNT; i++) {
		const char *keys[2] = { fig_table[i].json, fig_table[i].pjson };

		for (int k = 0; k < 2; k++) {
			if (!keys[k])
				continue;
			snprintf(key, sizeof(key), "`%s`", keys[k]);
			if (!strstr(text, key))
				fail_msg("docs/usage.md does not explain %s (figure %s)", key,
					 fig_table[i].name);
		}
	}
	free(text);
}

/*
 * Every drop counter of bpf/drops.def is a required count of the report's
 * drops object, and has a row in docs/usage.md's table of data that was lost.
 */
static void drops_in_schema_and_usage(void **state)
{
	char path[512], err[256], row[128], *text, *usage;
	struct json_object *schema, *props, *drops, *p, *req;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/report.schema.json", SRCDIR);
	assert_int_equal(read_file(path, &text, &len, err, sizeof(err)), 0);
	schema = json_tokener_parse(text);
	assert_non_null(schema);
	assert_true(json_object_object_get_ex(schema, "properties", &props));
	assert_true(json_object_object_get_ex(props, "drops", &drops));
	assert_true(json_object_object_get_ex(drops, "required", &req));
	assert_true(json_object_object_get_ex(drops, "properties", &props));
	snprintf(path, sizeof(path), "%s/docs/usage.md", SRCDIR);
	assert_int_equal(read_file(path, &usage, &len, err, sizeof(err)), 0);
	for (int i = 0; i < DROP_COUNT; i++) {
		const struct drop_desc *d = &drop_table[i];
		bool required = false;

		if (!json_object_object_get_ex(props, d->json, &p))
			fail_msg("docs/report.schema.json: drops has no %s", d->json);
		for (size_t k = 0; k < json_object_array_length(req); k++)
			required |= !strcmp(
				json_object_get_string(json_object_array_get_idx(req, k)), d->json);
		assert_true(required);
		/* The table's row starts as the text line does, up to its colon. */
		snprintf(row, sizeof(row), "| %.*s", (int)strcspn(d->text, ":"), d->text);
		if (!strstr(usage, row))
			fail_msg("docs/usage.md has no row '%s' for the drop %s", row, d->name);
	}
	json_object_put(schema);
	free(text);
	free(usage);
}

/* Each row names its own fields: offsets and names agree, and no two rows share one. */
static void rows_are_consistent(void **state)
{
	(void)state;
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct fig_desc *d = &fig_table[i];

		assert_non_null(d->name);
		assert_non_null(d->doc);
		assert_true(d->off == (size_t)i * sizeof(uint64_t));
		assert_true(d->heading == NULL || d->width >= (int)strlen(d->heading));
		assert_true(d->flags == 0 || (d->flags & DIFF_P ? d->pjson != NULL : 1));
		assert_true(d->flags == 0 || (d->flags & DIFF_T ? d->json != NULL : 1));
		for (int j = 0; j < i; j++) {
			assert_true(d->slot_off != fig_table[j].slot_off);
			assert_true(!d->json || !fig_table[j].json ||
				    strcmp(d->json, fig_table[j].json));
		}
	}
}

/* A window grows; a maximum is since the start; sums add and take the largest. */
static void window_and_sum(void **state)
{
	struct ct_thread a = { 0 }, b = { 0 };
	struct figs w1, w2, total = { 0 };

	(void)state;
	a.oncpu_ns = 100;
	a.wakeups = 3;
	a.wakelat_max = 50;
	b = a;
	b.oncpu_ns = 250;
	b.wakeups = 5;
	b.wakelat_max = 70;
	figs_window(&w1, &b, &a, 0);
	assert_int_equal(w1.oncpu_ns, 150);
	assert_int_equal(w1.wakeups, 2);
	assert_int_equal(w1.wakelat_max, 70);
	figs_window(&w2, &b, NULL, 0);
	assert_int_equal(w2.oncpu_ns, 250);
	/* A counter that went back (a race) gives 0, not a huge number. */
	figs_window(&w1, &a, &b, 0);
	assert_int_equal(w1.oncpu_ns, 0);
	figs_window(&w1, &b, &a, 1ULL << FIG_wakeups);
	assert_true(fig_absent(&w1, FIG_wakeups));
	assert_int_equal(w1.wakeups, 0);
	figs_add(&total, &w1);
	figs_add(&total, &w2);
	assert_int_equal(total.oncpu_ns, 150 + 250);
	assert_int_equal(total.wakelat_max, 70);
	assert_true(fig_absent(&total, FIG_wakeups));
	assert_false(fig_absent(&total, FIG_oncpu_ns));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schema_has_every_figure),
		cmocka_unit_test(usage_explains_every_figure),
		cmocka_unit_test(drops_in_schema_and_usage),
		cmocka_unit_test(rows_are_consistent),
		cmocka_unit_test(window_and_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
