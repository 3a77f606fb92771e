// SPDX-License-Identifier: GPL-2.0-only
/* Command line parsing and the number formats it relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/format.h"
#include "cli/opts.h"

static enum opts_result parse(struct opts *o, char *err, ...)
{
	static char *argv[32]; /* o->cmd_argv points into it */
	int argc = 0;
	va_list ap;
	FILE *out = fopen("/dev/null", "w");
	enum opts_result r;

	argv[argc++] = "contrace";
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	r = opts_parse(o, argc, argv, out, err, 256);
	fclose(out);
	return r;
}

static void test_pid(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "-p", "1234", NULL), OPTS_OK);
	assert_int_equal(o.pid, 1234);
	assert_int_equal(o.top, OPTS_DEFAULT_TOP);
	assert_int_equal(o.cmd_argc, 0);
	assert_int_equal(parse(&o, err, "--pid=42", "-d", "2.5", "-f", "-v", "-v", NULL), OPTS_OK);
	assert_int_equal(o.pid, 42);
	assert_true(o.duration == 2.5);
	assert_true(o.follow);
	assert_int_equal(o.verbose, 2);
}

static void test_command(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--json", "-", "--", "python3", "-c", "pass", NULL),
			 OPTS_OK);
	assert_int_equal(o.cmd_argc, 3);
	assert_string_equal(o.cmd_argv[0], "python3");
	assert_string_equal(o.cmd_argv[1], "-c"); /* the command's options stay its own */
	assert_string_equal(o.json_path, "-");
	assert_null(o.cmd_argv[3]);
	/* A recording is output enough for -q. */
	assert_int_equal(parse(&o, err, "-q", "-o", "t.ctr", "-p", "1", NULL), OPTS_OK);
	assert_string_equal(o.output, "t.ctr");
}

static void expect_error(const char *want, ...)
{
	char *argv[32];
	char err[256];
	int argc = 0;
	struct opts o;
	va_list ap;
	FILE *out = fopen("/dev/null", "w");

	argv[argc++] = "contrace";
	va_start(ap, want);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	assert_int_equal(opts_parse(&o, argc, argv, out, err, sizeof(err)), OPTS_ERROR);
	fclose(out);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	assert_null(strchr(err, '\n')); /* one line */
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("nothing to trace", NULL);
	expect_error("invalid pid 'abc'", "-p", "abc", NULL);
	expect_error("invalid pid '0'", "-p", "0", NULL);
	expect_error("invalid pid '-5'", "-p", "-5", NULL);
	expect_error("invalid pid '12x'", "-p", "12x", NULL);
	expect_error("invalid duration '0'", "-p", "1", "-d", "0", NULL);
	expect_error("invalid duration 'abc'", "-p", "1", "-d", "abc", NULL);
	expect_error("invalid duration '-1'", "-p", "1", "-d", "-1", NULL);
	expect_error("invalid duration 'nan'", "-p", "1", "-d", "nan", NULL);
	expect_error("invalid duration 'inf'", "-p", "1", "-d", "inf", NULL);
	expect_error("invalid interval", "-p", "1", "-i", "x", NULL);
	expect_error("too short", "-p", "1", "-i", "0.001", NULL);
	expect_error("invalid --top", "-p", "1", "--top", "-1", NULL);
	expect_error("invalid --max-threads", "-p", "1", "--max-threads", "0", NULL);
	expect_error("not both", "-p", "1", "--", "true", NULL);
	expect_error("no command after '--'", "--", NULL);
	expect_error("put the command to run after '--'", "true", NULL);
	expect_error("unknown option '--bogus'", "--bogus", NULL);
	expect_error("unknown option '-z'", "-z", NULL);
	expect_error("needs a value", "-p", NULL);
	expect_error("-q without --json or -o", "-q", "-p", "1", NULL);
	expect_error("option '--follow' takes no value", "--follow=1", "-p", "1", NULL);
	/* "--" as the value of --json is not the end of the options. */
	expect_error("unexpected argument 'true'", "--json", "--", "true", NULL);
	expect_error("invalid --locks-min-wait '5 parsecs'", "-p", "1", "--locks-min-wait",
		     "5 parsecs", NULL);
	expect_error("invalid --locks-min-wait '1e19'", "-p", "1", "--locks-min-wait", "1e19",
		     NULL);
	expect_error("invalid --locks-min-wait '0x10'", "-p", "1", "--locks-min-wait", "0x10",
		     NULL);
	expect_error("invalid --locks-min-wait ' 5'", "-p", "1", "--locks-min-wait", " 5", NULL);
	expect_error("invalid --locks-min-wait '-1ms'", "-p", "1", "--locks-min-wait", "-1ms",
		     NULL);
	expect_error("invalid --locks-min-wait '18446744073709551616us'", "-p", "1",
		     "--locks-min-wait", "18446744073709551616us", NULL);
}

static void test_help_version(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--help", NULL), OPTS_EXIT);
	assert_int_equal(parse(&o, err, "--version", NULL), OPTS_EXIT);
}

static void test_formats(void **state)
{
	char b[FMT_LEN];
	double d;
	long long v;

	(void)state;
	assert_string_equal(fmt_dur(b, sizeof(b), 0), "0");
	assert_string_equal(fmt_dur(b, sizeof(b), 850), "850ns");
	assert_string_equal(fmt_dur(b, sizeof(b), 1000), "1.00us");
	assert_string_equal(fmt_dur(b, sizeof(b), 12345), "12.3us");
	assert_string_equal(fmt_dur(b, sizeof(b), 999499), "999us");
	assert_string_equal(fmt_dur(b, sizeof(b), 999500), "1.00ms");
	assert_string_equal(fmt_dur(b, sizeof(b), 4560000000ULL), "4.56s");
	assert_string_equal(fmt_dur(b, sizeof(b), 123000000000ULL), "2m03s");
	assert_string_equal(fmt_dur(b, sizeof(b), 3723000000000ULL), "1h02m");
	assert_string_equal(fmt_pct(b, sizeof(b), 0.976), "97.6%");
	assert_string_equal(fmt_pct(b, sizeof(b), 1.0), "100%");
	assert_string_equal(fmt_pct(b, sizeof(b), 0), "0%");
	assert_int_equal(parse_seconds("0.5", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(parse_seconds("1e-3", &d), 0);
	assert_int_equal(parse_seconds("", &d), -1);
	assert_int_equal(parse_seconds("1s", &d), -1);
	assert_int_equal(parse_int("10", 0, 20, &v), 0);
	assert_int_equal(parse_int("21", 0, 20, &v), -1);
	assert_int_equal(parse_int("99999999999999999999", 0, 20, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),	cmocka_unit_test(test_command),
		cmocka_unit_test(test_errors),	cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
