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

/* argv[0], then the arguments up to NULL, parsed as subcommand cmd. */
static enum opts_result vparse(struct opts *o, enum opts_cmd cmd, char *err, va_list ap)
{
	static char *argv[32]; /* o->cmd_argv and o->files point into it */
	int argc = 0;
	FILE *out = fopen("/dev/null", "w");
	enum opts_result r;

	argv[argc++] = "contrace";
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	r = opts_parse(o, cmd, argc, argv, out, err, 256);
	fclose(out);
	return r;
}

/* The arguments up to NULL, parsed as subcommand cmd. */
static enum opts_result parse_cmd(struct opts *o, enum opts_cmd cmd, char *err, ...)
{
	enum opts_result r;
	va_list ap;

	va_start(ap, err);
	r = vparse(o, cmd, err, ap);
	va_end(ap);
	return r;
}

static void test_pid(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-p", "1234", NULL), OPTS_OK);
	assert_int_equal(o.pid, 1234);
	assert_int_equal(o.top, OPTS_DEFAULT_TOP);
	assert_int_equal(o.cmd_argc, 0);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--pid=42", "-d", "2.5", "-f", "-v", "-v",
				   NULL),
			 OPTS_OK);
	assert_int_equal(o.pid, 42);
	assert_true(o.duration == 2.5);
	assert_true(o.follow);
	assert_int_equal(o.verbose, 2);
}

/* Stacks are off unless --stacks or one of their outputs, which alone suffices for -q. */
static void test_stacks(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-p", "1", NULL), OPTS_OK);
	assert_false(o.stacks);
	assert_null(o.folded);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--stacks", "-p", "1", NULL), OPTS_OK);
	assert_true(o.stacks);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--stacks", "--no-stacks", "-p", "1", NULL),
			 OPTS_OK);
	assert_false(o.stacks);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-q", "--folded", "w.folded", "-p", "1",
				   NULL),
			 OPTS_OK);
	assert_string_equal(o.folded, "w.folded");
	assert_true(o.quiet && o.stacks);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-q", "--pprof", "w.pb.gz", "-p", "1",
				   NULL),
			 OPTS_OK);
	assert_true(o.stacks);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-q", "--flamegraph", "f.html", "-p", "1",
				   NULL),
			 OPTS_OK);
	assert_string_equal(o.flamegraph, "f.html");
	assert_true(o.stacks && o.quiet);
}

static void test_command(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--json", "-", "--", "python3", "-c",
				   "pass", NULL),
			 OPTS_OK);
	assert_int_equal(o.cmd_argc, 3);
	assert_string_equal(o.cmd_argv[0], "python3");
	assert_string_equal(o.cmd_argv[1], "-c"); /* the command's options stay its own */
	assert_string_equal(o.json_path, "-");
	assert_null(o.cmd_argv[3]);
	/* A recording is output enough for -q. */
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-q", "-o", "t.ctr", "-p", "1", NULL),
			 OPTS_OK);
	assert_string_equal(o.output, "t.ctr");
}

static void expect_error(const char *want, ...)
{
	char err[256];
	struct opts o;
	va_list ap;

	va_start(ap, want);
	assert_int_equal(vparse(&o, OPTS_TRACE, err, ap), OPTS_ERROR);
	va_end(ap);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	assert_null(strchr(err, '\n')); /* one line */
}

static void test_sample_hz(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	/* --sample-hz: a divisor of 1000, or 0; with the stacks it sets the rate of. */
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-p", "1", NULL), OPTS_OK);
	assert_int_equal(o.sample_hz, -1);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--stacks", "--sample-hz", "250", "-p", "1",
				   NULL),
			 OPTS_OK);
	assert_int_equal(o.sample_hz, 250);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--folded", "-", "--sample-hz", "0", "-p",
				   "1", NULL),
			 OPTS_OK);
	assert_int_equal(o.sample_hz, 0);
	expect_error("invalid --sample-hz '300': the samples are every Nth millisecond", "--stacks",
		     "--sample-hz", "300", "-p", "1", NULL);
	expect_error("--sample-hz", "--stacks", "--sample-hz", "2000", "-p", "1", NULL);
	expect_error("--sample-hz", "--stacks", "--sample-hz", "-5", "-p", "1", NULL);
	expect_error("--sample-hz sets the rate of --stacks' on-CPU samples: add --stacks",
		     "--sample-hz", "100", "-p", "1", NULL);
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
	expect_error("-q without --json, --folded, --pprof, --flamegraph or -o", "-q", "-p", "1",
		     NULL);
	expect_error("only one of --json, --folded, --pprof and --flamegraph can be", "--folded",
		     "-", "--json", "-", "-p", "1", NULL);
	expect_error("only one of --json, --folded, --pprof and --flamegraph can be",
		     "--flamegraph", "-", "--pprof", "-", "-p", "1", NULL);
	expect_error("--flamegraph needs a file name", "--flamegraph", "", "-p", "1", NULL);
	expect_error("--flamegraph writes the stacks that --no-stacks turns off", "--flamegraph",
		     "f.html", "--no-stacks", "-p", "1", NULL);
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
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--help", NULL), OPTS_EXIT);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--version", NULL), OPTS_EXIT);
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
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-p", "4194304", "-d", "0.001", "-i",
				   "0.01", "--top", "0", "--max-threads", "4194304",
				   "--locks-min-wait", "1000000s", NULL),
			 OPTS_OK);
	assert_int_equal(o.pid, 4194304);
	assert_true(o.duration == 0.001 && o.interval == 0.01 && o.locks_min_wait == 1e6);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-p", "07", "-d", "1000000000",
				   "--locks-min-wait", "0", NULL),
			 OPTS_OK);
	assert_int_equal(o.pid, 7);
	assert_true(o.duration == 1e9 && o.locks_min_wait == 0);
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "--repeat", "100", "--", "true", NULL),
			 OPTS_OK);
	assert_int_equal(o.repeat, 100);
}

static void test_subcommands(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_cmd(&o, OPTS_REPORT, err, "t.ctr", "-q", "--json", "t.json", "--top",
				   "3", NULL),
			 OPTS_OK);
	assert_int_equal(o.nfiles, 1);
	assert_string_equal(o.files[0], "t.ctr");
	assert_int_equal(o.top, 3);
	/* --top is checked by one rule, whichever subcommand takes it. */
	assert_int_equal(parse_cmd(&o, OPTS_REPORT, err, "t.ctr", "--top", "x", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "invalid --top 'x': expected rows per table"));
	assert_int_equal(parse_cmd(&o, OPTS_REPORT, err, "t.ctr", "-q", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "-q without --json"));
	assert_int_equal(parse_cmd(&o, OPTS_REPORT, err, "a", "b", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "expected one recording"));
	/* A trace's option is not report's. */
	assert_int_equal(parse_cmd(&o, OPTS_REPORT, err, "t.ctr", "-p", "1", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "unknown option '-p'"));

	assert_int_equal(parse_cmd(&o, OPTS_DIFF, err, "a.json", "--fail-on", "runq_ns>+10%",
				   "b.json", "--markdown", "-", NULL),
			 OPTS_OK);
	assert_int_equal(o.nfiles, 2);
	assert_string_equal(o.files[1], "b.json");
	assert_int_equal((int)o.nrules, 1);
	assert_string_equal(o.rules[0].metric, "runq_ns");
	assert_string_equal(o.markdown_path, "-");
	assert_int_equal(parse_cmd(&o, OPTS_DIFF, err, "a", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "expected two reports"));
	assert_int_equal(parse_cmd(&o, OPTS_DIFF, err, "a", "b", "--fail-on", "nope", NULL),
			 OPTS_ERROR);
	assert_int_equal(parse_cmd(&o, OPTS_DIFF, err, "a", "b", "--top", "3", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "unknown option '--top'"));
	assert_int_equal(parse_cmd(&o, OPTS_DIFF, err, "--help", NULL), OPTS_EXIT);
}

/* issue 14 item 3: a command line a shell takes back; whole arguments only when cut. */
static void test_argv_quoted(void **state)
{
	char *argv[] = { "redis-server", "--save", "", "--appendonly", "no", "it's", "a b" };
	char b[64], small[24];

	(void)state;
	assert_string_equal(fmt_argv(b, sizeof(b), argv, 7),
			    "redis-server --save '' --appendonly no 'it'\\''s' 'a b'");
	assert_string_equal(fmt_argv(small, sizeof(small), argv, 7), "redis-server --save ...");
	assert_string_equal(fmt_argv(small, 4, argv, 7), "...");
	assert_string_equal(fmt_argv(small, 3, argv, 7), "");
	assert_string_equal(fmt_argv(b, sizeof(b), argv, 0), "");
}

/* serve: several -p and --comm, a listen address, and its own errors. */
static void test_serve(void **state)
{
	struct opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "-p", "10", "--comm", "gunicorn", "-p",
				   "20", "--listen", "[::1]:9000", "--max-series", "5", NULL),
			 OPTS_OK);
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.pids[0], 10);
	assert_int_equal(o.pids[1], 20);
	assert_int_equal(o.ncomms, 1);
	assert_string_equal(o.comms[0], "gunicorn");
	assert_string_equal(o.listen, "[::1]:9000");
	assert_int_equal(o.max_series, 5);
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "--comm", "x", NULL), OPTS_OK);
	assert_string_equal(o.listen, OPTS_DEFAULT_LISTEN);
	assert_int_equal(o.max_series, OPTS_DEFAULT_MAX_SERIES);
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "nothing to trace"));
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "-p", "1", "--listen", "9000", NULL),
			 OPTS_ERROR);
	assert_non_null(strstr(err, "ADDR:PORT"));
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "--comm", "0123456789abcdef", NULL),
			 OPTS_ERROR);
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "-p", "1", "--json", "x", NULL),
			 OPTS_ERROR);
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "-p", "1", "extra", NULL), OPTS_ERROR);
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "--exe", "/usr/bin/python3.11", "--cgroup",
				   "/system.slice/x.service", NULL),
			 OPTS_OK);
	assert_string_equal(o.exes[0], "/usr/bin/python3.11");
	assert_string_equal(o.cgroups[0], "/system.slice/x.service");
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "--exe", "python3", NULL), OPTS_ERROR);
	assert_non_null(strstr(err, "absolute path"));
	assert_int_equal(parse_cmd(&o, OPTS_SERVE, err, "--cgroup", "x.service", NULL), OPTS_ERROR);
	/* A trace still takes one -p, the last. */
	assert_int_equal(parse_cmd(&o, OPTS_TRACE, err, "-p", "1", "-p", "2", NULL), OPTS_OK);
	assert_int_equal(o.pid, 2);
	assert_int_equal(o.npids, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),	    cmocka_unit_test(test_command),
		cmocka_unit_test(test_errors),	    cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_formats),	    cmocka_unit_test(test_strict_numbers),
		cmocka_unit_test(test_limits_said), cmocka_unit_test(test_limits_accepted),
		cmocka_unit_test(test_subcommands), cmocka_unit_test(test_argv_quoted),
		cmocka_unit_test(test_serve),	    cmocka_unit_test(test_stacks),
		cmocka_unit_test(test_sample_hz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
