// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPython interpreter names as /proc/PID/maps shows them, and the GIL's
 * offsets from _PyRuntime per version (checked against live interpreters
 * by tests/e2e/test_gil.py).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "probe/gil.h"
#include "probe/gil_tstate.h"
#include "model/gil.h"

static void test_names(void **state)
{
	static const struct {
		const char *name;
		bool ok;
		const char *version;
		bool ft;
	} cases[] = {
		{ "python3.11", true, "3.11", false },
		{ "libpython3.11.so.1.0", true, "3.11", false },
		{ "libpython3.8.so.1.0", true, "3.8", false },
		{ "libpython3.7m.so.1.0", true, "3.7", false },
		{ "python3.13t", true, "3.13", true },
		{ "libpython3.13t.so.1.0", true, "3.13", true },
		{ "python3.12d", true, "3.12", false },
		{ "python3", false, NULL, false },
		{ "python2.7", true, "2.7", false },
		{ "libpython2.7.so.1.0", true, "2.7", false },
		{ "python4.0", false, NULL, false },
		{ "python3.11-config", false, NULL, false },
		{ "python3.1234", false, NULL, false },
		{ "libpython3.so", false, NULL, false },
		{ "mypython3.11", false, NULL, false },
		{ "", false, NULL, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char v[8] = "";
		bool ft = false;

		assert_int_equal(gil_parse_name(cases[i].name, v, sizeof(v), &ft), cases[i].ok);
		if (!cases[i].ok)
			continue;
		assert_string_equal(v, cases[i].version);
		assert_int_equal(ft, cases[i].ft);
	}
}

static void test_offsets(void **state)
{
	(void)state;
	assert_int_equal(gil_runtime_offset("3.8"), 1152);
	assert_int_equal(gil_runtime_offset("3.9"), 352);
	assert_int_equal(gil_runtime_offset("3.10"), 352);
	assert_int_equal(gil_runtime_offset("3.11"), 360);
	assert_int_equal(gil_runtime_offset("3.12"), 77432);
	assert_int_equal(gil_runtime_offset("3.13"), 96104);
	assert_int_equal(gil_runtime_offset("3.7"), 0);
	assert_int_equal(gil_runtime_offset("3.14"), 0);
}

/* The versions followed are those whose GIL and thread-state layouts are known. */
static void test_versions(void **state)
{
	static const char *const yes[] = { "3.8", "3.9", "3.10", "3.11", "3.12", "3.13" };
	static const char *const no[] = { "2.7", "3.6", "3.7", "3.14", "3.", "3.8x", "", "4.8" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_true(gil_version_supported(yes[i]));
		assert_true(gil_runtime_offset(yes[i]) != 0);
		assert_true(gil_tstate_known(yes[i]));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(gil_version_supported(no[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
