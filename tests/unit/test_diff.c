// SPDX-License-Identifier: GPL-2.0-only
/* contrace diff's --fail-on grammar and what a rule calls a regression. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "store/diff.h"

static void test_parse(void **state)
{
	struct diff_rule r;
	char err[256];

	(void)state;
	assert_int_equal(diff_parse_rule("gil.wait_fraction>+10%", &r, err, sizeof(err)), 0);
	assert_string_equal(r.metric, "gil.wait_fraction");
	assert_int_equal(r.op, '>');
	assert_false(r.or_equal);
	assert_true(r.relative);
	assert_true(r.change == 10.0);
	assert_int_equal(diff_parse_rule("locks.wait_ns >= +5ms", &r, err, sizeof(err)), 0);
	assert_string_equal(r.metric, "locks.wait_ns");
	assert_true(r.or_equal && !r.relative && r.change == 5e6);
	assert_int_equal(diff_parse_rule("lock[a:b+0x8].waits<-3", &r, err, sizeof(err)), 0);
	assert_string_equal(r.metric, "lock[a:b+0x8].waits");
	assert_true(r.op == '<' && r.change == -3.0);
	assert_int_equal(diff_parse_rule("x>1.5s", &r, err, sizeof(err)), 0);
	assert_true(r.change == 1.5e9);
	assert_int_equal(diff_parse_rule("x>250us", &r, err, sizeof(err)), 0);
	assert_true(r.change == 250e3);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = { "",	    "nope",  ">5",    "x>",   "x>abc",
					   "x>5kg", "x>5%%", "x>nan", "x>inf" };
	struct diff_rule r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(diff_parse_rule(bad[i], &r, err, sizeof(err)), -22);
		assert_non_null(strstr(err, "invalid rule"));
	}
}

static void test_broken(void **state)
{
	struct diff_rule r;
	char err[256];

	(void)state;
	diff_parse_rule("m>+10%", &r, err, sizeof(err));
	assert_false(diff_rule_broken(&r, 100, 110)); /* exactly +10%: not more */
	assert_true(diff_rule_broken(&r, 100, 110.5));
	assert_false(diff_rule_broken(&r, 100, 50));
	assert_true(diff_rule_broken(&r, 0, 1)); /* from nothing: an infinite rise */
	assert_false(diff_rule_broken(&r, 0, 0));
	diff_parse_rule("m>=+10%", &r, err, sizeof(err));
	assert_true(diff_rule_broken(&r, 100, 110));
	diff_parse_rule("m<-20%", &r, err, sizeof(err));
	assert_true(diff_rule_broken(&r, 100, 79));
	assert_false(diff_rule_broken(&r, 100, 81));
	assert_true(diff_rule_broken(&r, 5, 0));
	diff_parse_rule("m>+5ms", &r, err, sizeof(err));
	assert_false(diff_rule_broken(&r, 1e9, 1e9 + 5e6));
	assert_true(diff_rule_broken(&r, 1e9, 1e9 + 5e6 + 1));
	diff_parse_rule("m>0.05", &r, err, sizeof(err));
	assert_true(diff_rule_broken(&r, 0.5, 0.56));
	assert_false(diff_rule_broken(&r, 0.5, 0.54));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
