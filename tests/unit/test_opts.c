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

/* Stacks are off unless --stacks, --folded or --pprof; --folded and --pprof alone suffice for -q. */
static void test_stacks(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "-p", "1", NULL), OPTS_OK);
	assert_false(o.stacks);
	assert_null(o.folded);
	assert_int_equal(parse(&o, err, "--stacks", "-p", "1", NULL), OPTS_OK);
	assert_true(o.stacks);
	assert_int_equal(parse(&o, err, "--stacks", "--no-stacks", "-p", "1", NULL), OPTS_OK);
	assert_false(o.stacks);
	assert_int_equal(parse(&o, err, "-q", "--folded", "w.folded", "-p", "1", NULL), OPTS_OK);
	assert_string_equal(o.folded, "w.folded");
	assert_true(o.quiet && o.stacks);
	assert_int_equal(parse(&o, err, "-q", "--pprof", "w.pb.gz", "-p", "1", NULL), OPTS_OK);
	assert_true(o.stacks);
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
	expect_error("-q without --json, --folded, --pprof or -o", "-q", "-p", "1", NULL);
	expect_error("--folded - and --json - cannot", "--folded", "-", "--json", "-", "-p", "1",
		     NULL);
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
	assert_int_equal(parse_seconds("", &d), -1);
	assert_int_equal(parse_seconds("1s", &d), -1);
	assert_int_equal(parse_int("10", 0, 20, &v), 0);
	assert_int_equal(parse_int("21", 0, 20, &v), -1);
	assert_int_equal(parse_int("99999999999999999999", 0, 20, &v), -1);
}

/* What strtod and strtoll take that a user does not mean as a number. */
static const char *const not_decimal[] = {
	"",	    " 5",
	"5 ",	    "\t5",
	"5\n",	    "0x10",
	"0X1A",	    "1e-300",
	"1e3",	    "1E3",
	"5e",	    "inf",
	"nan",	    "-inf",
	"infinity", "+5",
	"-5",	    "1.2.3",
	".",	    "..5",
	"5..",	    "1,5",
	"\xd9\xa1", /* an Arabic-Indic one: a digit to Unicode, not to us */
	"0x",	    "1_000",
	"5s5",	    "0b101",
	"e5",	    "--5",
	"+-5",	    "12345678901234567890123456789012345678901234567890123456789012345",
};

static void test_strict_numbers(void **state)
{
	const char *end;
	long long v;
	double d;

	(void)state;
	for (size_t i = 0; i < sizeof(not_decimal) / sizeof(not_decimal[0]); i++) {
		const char *s = not_decimal[i];

		if (!parse_seconds(s, &d))
			fail_msg("parse_seconds took '%s'", s);
		if (!parse_duration(s, &d))
			fail_msg("parse_duration took '%s'", s);
		if (!parse_int(s, 0, 1000000, &v))
			fail_msg("parse_int took '%s'", s);
	}
	/* Plain decimals, with a fraction or not. */
	assert_int_equal(parse_seconds("10", &d), 0);
	assert_true(d == 10);
	assert_int_equal(parse_seconds(".5", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(parse_seconds("2.", &d), 0);
	assert_true(d == 2);
	assert_int_equal(parse_seconds("007", &d), 0);
	assert_true(d == 7);
	assert_int_equal(parse_duration("10ms", &d), 0);
	assert_true(d == 0.01);
	assert_int_equal(parse_duration("2.5us", &d), 0);
	assert_true(d > 2.4999e-6 && d < 2.5001e-6);
	assert_int_equal(parse_duration("0", &d), 0);
	assert_true(d == 0);
	assert_int_equal(parse_duration("5 ms", &d), -1);
	assert_int_equal(parse_duration("5e3ms", &d), -1);
	assert_int_equal(parse_int("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_int("-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(parse_int("-3", 0, 5, &v), -1);
	/* A signed decimal followed by a unit, for diff's rules: "+10%", "-5ms". */
	assert_int_equal(parse_decimal("+10%", true, &d, &end), 0);
	assert_true(d == 10);
	assert_string_equal(end, "%");
	assert_int_equal(parse_decimal("-5ms", true, &d, &end), 0);
	assert_true(d == -5);
	assert_string_equal(end, "ms");
	assert_int_equal(parse_decimal("5e3", true, &d, &end), 0); /* 5, then "e3": not a unit */
	assert_true(d == 5);
	assert_string_equal(end, "e3");
	assert_int_equal(parse_decimal("0x10", true, &d, &end), 0);
	assert_true(d == 0);
	assert_string_equal(end, "x10");
	assert_int_equal(parse_decimal("+", true, &d, &end), -1);
	assert_int_equal(parse_decimal("+5", false, &d, &end), -1);
	assert_int_equal(parse_decimal(" 5", true, &d, &end), -1);
}

/* Each option's error says its limits, in one line. */
static void test_limits_said(void **state)
{
	(void)state;
	expect_error("invalid pid ' 5': expected a process id, a decimal number from 1 to 4194304",
		     "-p", " 5", NULL);
	expect_error("invalid pid '0x10'", "-p", "0x10", NULL);
	expect_error("invalid pid '4194305'", "-p", "4194305", NULL);
	expect_error(
		"invalid duration '1e-300': expected a decimal number of seconds from 0.001 to 1000000000",
		"-p", "1", "-d", "1e-300", NULL);
	expect_error("invalid duration '0x10'", "-p", "1", "-d", "0x10", NULL);
	expect_error("invalid duration '5 '", "-p", "1", "-d", "5 ", NULL);
	expect_error("invalid duration '+5'", "-p", "1", "-d", "+5", NULL);
	expect_error("invalid duration '1000000001'", "-p", "1", "-d", "1000000001", NULL);
	expect_error("invalid duration '0.0009': too short, at least 0.001 s (1 ms)", "-p", "1",
		     "-d", "0.0009", NULL);
	expect_error("invalid interval '0.005': too short, at least 0.01 s (10 ms)", "-p", "1",
		     "-i", "0.005", NULL);
	expect_error("invalid interval '1e1'", "-p", "1", "-i", "1e1", NULL);
	expect_error(
		"invalid --top ' 5': expected rows per table (0: all), a decimal number from 0 to 1000000",
		"-p", "1", "--top", " 5", NULL);
	expect_error(
		"invalid --max-threads '1e3': expected a number of threads, a decimal number from 1 to 4194304",
		"-p", "1", "--max-threads", "1e3", NULL);
	expect_error(
		"invalid --repeat '0x3': expected a number of runs, a decimal number from 2 to 100",
		"--repeat", "0x3", "--", "true", NULL);
	expect_error("invalid --repeat '101'", "--repeat", "101", "--", "true", NULL);
	expect_error("invalid --locks-min-wait '1e-3': expected a duration from 0 to 1000000 s",
		     "-p", "1", "--locks-min-wait", "1e-3", NULL);
	expect_error("invalid --locks-min-wait 'inf'", "-p", "1", "--locks-min-wait", "inf", NULL);
}

static void test_limits_accepted(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "-p", "4194304", "-d", "0.001", "-i", "0.01", "--top", "0",
			       "--max-threads", "4194304", "--locks-min-wait", "1000000s", NULL),
			 OPTS_OK);
	assert_int_equal(o.pid, 4194304);
	assert_true(o.duration == 0.001 && o.interval == 0.01 && o.locks_min_wait == 1e6);
	assert_int_equal(parse(&o, err, "-p", "07", "-d", "1000000000", "--locks-min-wait", "0",
			       NULL),
			 OPTS_OK);
	assert_int_equal(o.pid, 7);
	assert_true(o.duration == 1e9 && o.locks_min_wait == 0);
	assert_int_equal(parse(&o, err, "--repeat", "100", "--", "true", NULL), OPTS_OK);
	assert_int_equal(o.repeat, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_stacks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_strict_numbers),
		cmocka_unit_test(test_limits_said),
		cmocka_unit_test(test_limits_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
