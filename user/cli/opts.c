// SPDX-License-Identifier: GPL-2.0-only
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/format.h"
#include "store/diff.h"
#include "cli/opts.h"

enum {
	OPT_JSON = 256,
	OPT_TOP,
	OPT_MAX_THREADS,
	OPT_BTF,
	OPT_VERSION,
	OPT_LOCKS_MIN_WAIT,
	OPT_HOLDS,
	OPT_GIL,
	OPT_REPEAT,
	OPT_FAIL_ON,
	OPT_MARKDOWN,
	OPT_TIMELINE,
	OPT_PERFETTO,
	OPT_LISTEN,
	OPT_COMM,
	OPT_MAX_SERIES,
	OPT_SAMPLE_HZ,
	OPT_EXE,
	OPT_CGROUP,
	OPT_STACKS,
	OPT_NO_STACKS,
	OPT_FOLDED, /* these three in this order (value_opt) */
	OPT_PPROF,
	OPT_FLAMEGRAPH,
};

#define LIVE (1u << OPTS_TRACE | 1u << OPTS_RECORD)
#define REPORT (1u << OPTS_REPORT)
#define DIFF (1u << OPTS_DIFF)
#define SERVE (1u << OPTS_SERVE)
#define ALL (LIVE | REPORT | DIFF | SERVE)

/* Every option of every subcommand, once: which subcommands take it. */
static const struct optdef {
	struct option opt;
	unsigned int cmds;
} optdefs[] = {
	{ { "pid", required_argument, NULL, 'p' }, LIVE | SERVE },
	{ { "duration", required_argument, NULL, 'd' }, LIVE },
	{ { "interval", required_argument, NULL, 'i' }, LIVE },
	{ { "follow", no_argument, NULL, 'f' }, LIVE },
	{ { "syscalls", no_argument, NULL, 'S' }, LIVE },
	{ { "json", required_argument, NULL, OPT_JSON }, LIVE | REPORT | DIFF },
	{ { "quiet", no_argument, NULL, 'q' }, LIVE | REPORT },
	{ { "top", required_argument, NULL, OPT_TOP }, LIVE | REPORT },
	{ { "verbose", no_argument, NULL, 'v' }, LIVE | REPORT | SERVE },
	{ { "max-threads", required_argument, NULL, OPT_MAX_THREADS }, LIVE | SERVE },
	{ { "btf", required_argument, NULL, OPT_BTF }, LIVE | SERVE },
	{ { "locks-min-wait", required_argument, NULL, OPT_LOCKS_MIN_WAIT }, LIVE },
	{ { "holds", no_argument, NULL, OPT_HOLDS }, LIVE | SERVE },
	{ { "output", required_argument, NULL, 'o' }, LIVE },
	{ { "timeline", no_argument, NULL, OPT_TIMELINE }, LIVE },
	{ { "perfetto", required_argument, NULL, OPT_PERFETTO }, LIVE | REPORT },
	{ { "stacks", no_argument, NULL, OPT_STACKS }, LIVE },
	{ { "no-stacks", no_argument, NULL, OPT_NO_STACKS }, LIVE },
	{ { "folded", required_argument, NULL, OPT_FOLDED }, LIVE | REPORT },
	{ { "pprof", required_argument, NULL, OPT_PPROF }, LIVE | REPORT },
	{ { "flamegraph", required_argument, NULL, OPT_FLAMEGRAPH }, LIVE | REPORT },
	{ { "gil", required_argument, NULL, OPT_GIL }, LIVE | SERVE },
	{ { "listen", required_argument, NULL, OPT_LISTEN }, SERVE },
	{ { "comm", required_argument, NULL, OPT_COMM }, SERVE },
	{ { "exe", required_argument, NULL, OPT_EXE }, SERVE },
	{ { "cgroup", required_argument, NULL, OPT_CGROUP }, SERVE },
	{ { "max-series", required_argument, NULL, OPT_MAX_SERIES }, SERVE },
	{ { "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ }, LIVE },
	{ { "repeat", required_argument, NULL, OPT_REPEAT }, 1u << OPTS_TRACE },
	{ { "fail-on", required_argument, NULL, OPT_FAIL_ON }, DIFF },
	{ { "markdown", required_argument, NULL, OPT_MARKDOWN }, DIFF },
	{ { "help", no_argument, NULL, 'h' }, ALL },
	{ { "version", no_argument, NULL, OPT_VERSION }, LIVE | SERVE },
};

#define NOPTDEFS (sizeof(optdefs) / sizeof(optdefs[0]))

static const char *const cmd_names[] = {
	[OPTS_TRACE] = "contrace",	   [OPTS_RECORD] = "contrace record",
	[OPTS_REPORT] = "contrace report", [OPTS_DIFF] = "contrace diff",
	[OPTS_SERVE] = "contrace serve",
};

const char *opts_cmd_name(enum opts_cmd cmd)
{
	return cmd_names[cmd];
}

/*
 * getopt_long's tables for one subcommand: its long options, and its short
 * ones as "+:p:d:" ('+' where a command to run follows: its options stay its
 * own; ':' to tell a missing value from an unknown option).
 */
static void cmd_table(enum opts_cmd cmd, struct option *longs, char *shorts)
{
	size_t n = 0, k = 0;

	if (cmd == OPTS_TRACE || cmd == OPTS_RECORD)
		shorts[k++] = '+'; /* report, diff: files and options in any order */
	shorts[k++] = ':';
	for (size_t i = 0; i < NOPTDEFS; i++) {
		const struct option *d = &optdefs[i].opt;

		if (!(optdefs[i].cmds & 1u << cmd))
			continue;
		longs[n++] = *d;
		if (d->val < 256) {
			shorts[k++] = (char)d->val;
			if (d->has_arg == required_argument)
				shorts[k++] = ':';
		}
	}
	longs[n] = (struct option){ 0 };
	shorts[k] = 0;
}

/* Is NAME (LEN bytes, maybe abbreviated as getopt_long allows) a long flag without a value? */
static bool known_long(const struct option *longs, const char *name, size_t len)
{
	const struct option *o;

	for (o = longs; o->name; o++)
		if (!strncmp(o->name, name, len) && o->has_arg == no_argument)
			return true;
	return false;
}

static void usage_live(FILE *f)
{
	fputs("Usage: contrace [OPTIONS] -p PID\n"
	      "       contrace [OPTIONS] -- COMMAND [ARGS...]\n"
	      "       contrace record -o FILE [OPTIONS] (-p PID | -- COMMAND...)\n"
	      "       contrace report FILE [--json FILE] [-q] [-v] [--top N]\n"
	      "       contrace diff [--fail-on RULE]... BASE.json NEW.json   (see diff --help)\n"
	      "       contrace serve [--listen ADDR:PORT] (-p PID | --comm NAME)...  (see serve --help)\n"
	      "\n"
	      "Where the threads of one process spend their time, and who makes them wait.\n"
	      "The report goes to standard error: a command's standard output is its own.\n"
	      "\n"
	      "  -p, --pid PID          trace process PID, all its threads, until it exits,\n"
	      "                         Ctrl-C or the duration ends\n"
	      "  -- COMMAND [ARGS...]   run COMMAND traced from its first instruction; exit\n"
	      "                         with its status\n"
	      "  -d, --duration SECS    stop after SECS seconds (a launched command is sent\n"
	      "                         SIGTERM)\n"
	      "  -i, --interval SECS    also print a report of each SECS-second interval\n"
	      "  -f, --follow           also trace child processes (a section per process)\n"
	      "  -S, --syscalls         count every syscall: calls, errors, times (this slows\n"
	      "                         down every syscall on the machine while tracing)\n"
	      "      --locks-min-wait T leave out locks waited for less than T in total\n"
	      "                         (seconds, or with a unit: 10ms, 500us)\n"
	      "      --holds            exact hold times of contended pthread mutexes: uprobes\n"
	      "                         in the target's C library (add ~0.6 us to each lock\n"
	      "                         and unlock of the target)\n"
	      "      --gil MODE         CPython's GIL: auto (default) or uprobe: exact, uprobes\n"
	      "                         on take_gil and drop_gil where the interpreter has\n"
	      "                         symbols, else on the C library's mutex and condvar\n"
	      "                         calls (add 1.8-5 us to each GIL release and re-take);\n"
	      "                         futex: from its futex words, no uprobes, no cost to\n"
	      "                         the target (approximate); libc (C library only); off\n"
	      "      --json FILE        write the report as JSON to FILE ('-': stdout)\n"
	      "      --repeat N         run the command N times: each metric's median and\n"
	      "                         range (--json: all the runs, for contrace diff)\n"
	      "      --stacks           the user stacks (native and Python) of every wait, of\n"
	      "                         the GIL's holder meanwhile, and of on-CPU samples:\n"
	      "                         copied (about 1 us per wait) and unwound by contrace\n"
	      "      --sample-hz HZ     on-CPU samples of --stacks per second of CPU time\n"
	      "                         (default 1000; a divisor of 1000; 0: none)\n"
	      "      --folded FILE      the stacks (waits, GIL holders, on-CPU samples) as folded\n"
	      "                         stacks for flame graphs, in microseconds ('-': stdout;\n"
	      "                         each of these three implies --stacks)\n"
	      "      --pprof FILE       the waits' stacks as a gzipped pprof profile (go tool pprof)\n"
	      "      --flamegraph FILE  the stacks as an interactive flame graph: one HTML file\n"
	      "  -o, --output FILE      also record the trace to FILE, for 'contrace report FILE'\n"
	      "      --timeline         with -o: also record every state change of every thread\n"
	      "                         (a timeline for 'contrace report FILE --perfetto OUT')\n"
	      "      --perfetto FILE    write the timeline as a Perfetto trace to FILE (open it\n"
	      "                         in ui.perfetto.dev); implies --timeline\n"
	      "  -q, --quiet            no text report\n"
	      "      --top N            rows per table (default 10, 0: all)\n"
	      "  -v, --verbose          per-thread histograms; -vv adds libbpf messages\n"
	      "      --max-threads N    threads that can be traced (default 16384)\n"
	      "      --btf FILE         kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
	      "  -h, --help             this help\n"
	      "      --version          print the version\n"
	      "\n"
	      "Examples:\n"
	      "  sudo contrace -p 1234 -d 10\n"
	      "  sudo contrace --json report.json -- python3 server.py\n"
	      "  sudo contrace -f -i 5 -- make -j4\n",
	      f);
}

static void usage_report(FILE *f)
{
	fputs("Usage: contrace report FILE [--json FILE] [--perfetto FILE] [--folded FILE]\n"
	      "                           [--pprof FILE] [--flamegraph FILE] [-q] [-v] [--top N]\n"
	      "\n"
	      "Print the reports of a recording (contrace record -o FILE, or -o on any trace):\n"
	      "the same text and JSON the live run printed.\n"
	      "\n"
	      "      --json FILE        write the reports as JSON to FILE ('-': stdout)\n"
	      "      --folded FILE      its stacks (recorded with --stacks), folded\n"
	      "      --pprof FILE       its waits' stacks as a gzipped pprof profile\n"
	      "      --flamegraph FILE  its stacks as an interactive flame graph (HTML)\n"
	      "      --perfetto FILE    write its timeline (recorded with --timeline) as a\n"
	      "                         Perfetto trace to FILE, for ui.perfetto.dev\n"
	      "  -q, --quiet            no text report\n"
	      "      --top N            rows per table (default 10, 0: all)\n"
	      "  -v, --verbose          per-thread histograms\n"
	      "  -h, --help             this help\n",
	      f);
}

static void usage_diff(FILE *f)
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
	      "\n",
	      f);
	diff_usage_metrics(f);
}

static void usage_serve(FILE *f)
{
	fputs("Usage: contrace serve [--listen ADDR:PORT] (-p PID | --comm NAME | --exe PATH |\n"
	      "                      --cgroup PATH)... [OPTIONS]\n"
	      "\n"
	      "Trace processes continuously and serve their figures as Prometheus metrics:\n"
	      "GET /metrics (text exposition format), GET /healthz. Runs until SIGTERM or\n"
	      "Ctrl-C, which remove every probe.\n"
	      "\n"
	      "      --listen ADDR:PORT address to listen on (default " OPTS_DEFAULT_LISTEN ",\n"
	      "                         loopback only; ':PORT' for every interface)\n"
	      "  -p, --pid PID          trace process PID (several -p allowed)\n"
	      "      --comm NAME        trace every process named NAME (its /proc/PID/comm),\n"
	      "                         those that start later too (several allowed)\n"
	      "      --exe PATH         every process running the executable PATH (its\n"
	      "                         /proc/PID/exe), those that start later too\n"
	      "      --cgroup PATH      every process in the cgroup PATH (v2, from the\n"
	      "                         hierarchy's root: /system.slice/nginx.service, a\n"
	      "                         container's) or below it, those that join later too\n"
	      "      --max-series N     thread names and locks per process (default 20): the\n"
	      "                         rest are summed into one [other] series each\n"
	      "      --gil MODE         CPython's GIL: auto, uprobe, libc, futex, off (see\n"
	      "                         contrace --help)\n"
	      "      --holds            exact mutex hold times (uprobes: ~0.6 us per lock)\n"
	      "      --max-threads N    thread slots of all the processes together (default\n"
	      "                         16384): half taken, the probes are loaded anew\n"
	      "      --btf FILE         kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
	      "  -v, --verbose          say what is attached and dropped; -vv adds libbpf\n"
	      "  -h, --help             this help\n"
	      "      --version          print the version\n"
	      "\n"
	      "Example:\n"
	      "  sudo contrace serve --comm gunicorn --listen 127.0.0.1:9477\n",
	      f);
}

void opts_usage(enum opts_cmd cmd, FILE *f)
{
	if (cmd == OPTS_SERVE)
		usage_serve(f);
	else if (cmd == OPTS_REPORT)
		usage_report(f);
	else if (cmd == OPTS_DIFF)
		usage_diff(f);
	else
		usage_live(f);
}

static enum opts_result fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum opts_result fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return OPTS_ERROR;
}

/*
 * Limits of the numbers on the command line, said in their errors. A pid is
 * at most the kernel's PID_MAX_LIMIT (4M on 64-bit). A trace shorter than
 * 1 ms would show little but contrace's own start; an interval report takes
 * milliseconds to make. Durations end up as 64-bit nanoseconds.
 */
#define PID_MAX 4194304
#define DURATION_MIN 0.001
#define INTERVAL_MIN 0.01
#define SECONDS_MAX 1e9
#define MIN_WAIT_MAX 1e6

/* An integer option: "invalid WHAT 'ARG': expected MEANING from MIN to MAX". */
static enum opts_result int_opt(const char *what, const char *meaning, const char *arg,
				long long min, long long max, long long *out, char *err,
				size_t errlen)
{
	if (parse_int(arg, min, max, out))
		return fail(err, errlen,
			    "invalid %s '%s': expected %s, a decimal number from %lld to %lld",
			    what, arg, meaning, min, max);
	return OPTS_OK;
}

/* Seconds in [min, max]: a decimal number, with the limits said when it is not one. */
static enum opts_result seconds_opt(const char *what, const char *arg, double min, double *out,
				    char *err, size_t errlen)
{
	double v;

	if (parse_seconds(arg, &v) || v <= 0 || v > SECONDS_MAX)
		return fail(
			err, errlen,
			"invalid %s '%s': expected a decimal number of seconds from %g to %.0f, e.g. 10 or 0.5",
			what, arg, min, SECONDS_MAX);
	if (v < min)
		return fail(err, errlen, "invalid %s '%s': too short, at least %g s (%g ms)", what,
			    arg, min, min * 1e3);
	*out = v;
	return OPTS_OK;
}

/* A numeric option: OPTS_OK, or OPTS_ERROR with err said. */
static enum opts_result number_opt(struct opts *o, int c, const char *arg, char *err, size_t errlen)
{
	enum opts_result r = OPTS_OK;
	long long v = 0;

	switch (c) {
	case 'p':
		r = int_opt("pid", "a process id", arg, 1, PID_MAX, &v, err, errlen);
		o->pid = (int)v;
		if (r == OPTS_OK && o->cmd == OPTS_SERVE) {
			if (o->npids == OPTS_MAX_PIDS)
				return fail(err, errlen, "at most %d -p", OPTS_MAX_PIDS);
			o->pids[o->npids++] = (int)v;
		}
		break;
	case OPT_MAX_SERIES:
		r = int_opt("--max-series", "series per process", arg, 1, 10000, &v, err, errlen);
		o->max_series = (int)v;
		break;
	case 'd':
		return seconds_opt("duration", arg, DURATION_MIN, &o->duration, err, errlen);
	case 'i':
		return seconds_opt("interval", arg, INTERVAL_MIN, &o->interval, err, errlen);
	case OPT_TOP:
		r = int_opt("--top", "rows per table (0: all)", arg, 0, 1000000, &v, err, errlen);
		o->top = (int)v;
		break;
	case OPT_SAMPLE_HZ:
		/* Every Nth tick of the GIL sampler's 1 kHz clock: 1000 / N. */
		r = int_opt("--sample-hz", "samples per second of CPU time (0: none)", arg, 0,
			    OPTS_SAMPLE_HZ_MAX, &v, err, errlen);
		if (r == OPTS_OK && v && OPTS_SAMPLE_HZ_MAX % v)
			return fail(
				err, errlen,
				"invalid --sample-hz '%s': the samples are every Nth millisecond of a CPU's time: 1000, 500, 250, 200, 100, 50, 20, 10 ... (a divisor of 1000), or 0 for none",
				arg);
		o->sample_hz = (int)v;
		break;
	case OPT_MAX_THREADS:
		r = int_opt("--max-threads", "a number of threads", arg, 1, 1 << 22, &v, err,
			    errlen);
		o->max_threads = (int)v;
		break;
	case OPT_REPEAT:
		r = int_opt("--repeat", "a number of runs", arg, 2, 100, &v, err, errlen);
		o->repeat = (int)v;
		break;
	case OPT_LOCKS_MIN_WAIT:
		if (parse_duration(arg, &o->locks_min_wait) || o->locks_min_wait > MIN_WAIT_MAX)
			return fail(
				err, errlen,
				"invalid --locks-min-wait '%s': expected a duration from 0 to %.0f s, a decimal number of seconds or with a unit (ns, us, ms, s), e.g. 10ms",
				arg, MIN_WAIT_MAX);
		break;
	}
	return r;
}

/* One more serve selector (--comm, --exe, --cgroup), up to OPTS_MAX_COMMS of each. */
static enum opts_result add_selector(const char **list, size_t *n, const char *what,
				     const char *arg, char *err, size_t errlen)
{
	if (*n == OPTS_MAX_COMMS)
		return fail(err, errlen, "at most %d %s", OPTS_MAX_COMMS, what);
	list[(*n)++] = arg;
	return OPTS_OK;
}

/* The value of an option that takes no number: OPTS_OK, or OPTS_ERROR with err said. */
static enum opts_result value_opt(struct opts *o, int c, const char *arg, char *err, size_t errlen)
{
	static const char *const gil_modes[] = { "auto", "uprobe", "libc", "futex" };

	switch (c) {
	case OPT_JSON:
		if (!*arg)
			return fail(err, errlen, "--json needs a file name or '-'");
		o->json_path = arg;
		break;
	case OPT_MARKDOWN:
		if (!*arg)
			return fail(err, errlen, "--markdown needs a file name or '-'");
		o->markdown_path = arg;
		break;
	case OPT_BTF:
		o->btf_path = arg;
		break;
	case OPT_LISTEN:
		if (!strchr(arg, ':'))
			return fail(
				err, errlen,
				"invalid --listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:9477",
				arg);
		o->listen = arg;
		break;
	case OPT_COMM:
		/* The kernel keeps 15 bytes of a name: a longer one would never match. */
		if (!*arg || strlen(arg) > 15)
			return fail(
				err, errlen,
				"invalid --comm '%s': expected a process name of 1 to 15 bytes, as /proc/PID/comm shows it",
				arg);
		return add_selector(o->comms, &o->ncomms, "--comm", arg, err, errlen);
	case OPT_EXE:
		if (arg[0] != '/')
			return fail(
				err, errlen,
				"invalid --exe '%s': expected an absolute path, as /proc/PID/exe shows it",
				arg);
		return add_selector(o->exes, &o->nexes, "--exe", arg, err, errlen);
	case OPT_CGROUP:
		if (arg[0] != '/')
			return fail(
				err, errlen,
				"invalid --cgroup '%s': expected a cgroup path, e.g. /system.slice/nginx.service",
				arg);
		return add_selector(o->cgroups, &o->ncgroups, "--cgroup", arg, err, errlen);
	case 'o':
		o->output = arg;
		break;
	case OPT_FOLDED:
	case OPT_PPROF:
	case OPT_FLAMEGRAPH: {
		static const char *const names[] = { "--folded", "--pprof", "--flamegraph" };
		const char **dest[] = { &o->folded, &o->pprof, &o->flamegraph };
		int k = c - OPT_FOLDED;

		if (!*arg)
			return fail(err, errlen, "%s needs a file name or '-'", names[k]);
		*dest[k] = arg;
		o->stacks_implied = true;
		break;
	}
	case OPT_PERFETTO:
		if (!*arg || !strcmp(arg, "-"))
			return fail(err, errlen, "--perfetto needs a file name");
		o->perfetto_path = arg;
		o->timeline = true;
		break;
	case OPT_FAIL_ON:
		if (o->nrules == DIFF_MAX_RULES)
			return fail(err, errlen, "at most %d --fail-on rules", DIFF_MAX_RULES);
		if (diff_parse_rule(arg, &o->rules[o->nrules], err, errlen))
			return OPTS_ERROR;
		o->nrules++;
		break;
	case OPT_GIL:
		o->gil = strcmp(arg, "off") != 0;
		for (size_t i = 0; i < sizeof(gil_modes) / sizeof(gil_modes[0]); i++)
			if (!strcmp(arg, gil_modes[i]))
				o->gil_mode = (int)i;
		if (o->gil && strcmp(arg, gil_modes[o->gil_mode]))
			return fail(err, errlen,
				    "invalid --gil '%s': expected auto, uprobe, libc, futex or off",
				    arg);
		break;
	}
	return OPTS_OK;
}

/* A flag: OPTS_OK, or OPTS_EXIT after --help or --version. */
static enum opts_result flag_opt(struct opts *o, int c, FILE *out)
{
	switch (c) {
	case 'f':
		o->follow = true;
		break;
	case 'S':
		o->syscalls = true;
		break;
	case 'q':
		o->quiet = true;
		break;
	case 'v':
		o->verbose++;
		break;
	case OPT_HOLDS:
		o->holds = true;
		break;
	case OPT_TIMELINE:
		o->timeline = true;
		break;
	case OPT_STACKS:
	case OPT_NO_STACKS:
		o->stacks = c == OPT_STACKS;
		o->no_stacks = c == OPT_NO_STACKS;
		break;
	case 'h':
		opts_usage(o->cmd, out);
		return OPTS_EXIT;
	case OPT_VERSION:
		fprintf(out, "contrace %s\n", CONTRACE_VERSION);
		return OPTS_EXIT;
	}
	return OPTS_OK;
}

/* What getopt_long did not know, said in one line. */
static enum opts_result unknown_opt(const struct option *longs, int c, char **argv, char *err,
				    size_t errlen)
{
	const char *arg = argv[optind - 1];
	const char *eq = strchr(arg, '=');

	if (c == ':')
		return fail(err, errlen, "option '%s' needs a value", arg);
	/* getopt_long reports "--flag=value" on a flag like an unknown short option. */
	if (!strncmp(arg, "--", 2) && eq && known_long(longs, arg + 2, eq - arg - 2))
		return fail(err, errlen, "option '%.*s' takes no value", (int)(eq - arg), arg);
	if (optopt && optopt < 256)
		return fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
	return fail(err, errlen, "unknown option '%s' (see --help)", arg);
}

/* The first stacks' output given (--folded, --pprof, --flamegraph), or NULL. */
static const char *stacks_output(const struct opts *o)
{
	return o->folded     ? "--folded" :
	       o->pprof	     ? "--pprof" :
	       o->flamegraph ? "--flamegraph" :
			       NULL;
}

/* One output at most on standard output; the stacks' outputs imply --stacks. */
static enum opts_result check_stdout(struct opts *o, char *err, size_t errlen)
{
	int n = 0;

	n += o->json_path && !strcmp(o->json_path, "-");
	n += o->folded && !strcmp(o->folded, "-");
	n += o->pprof && !strcmp(o->pprof, "-");
	n += o->flamegraph && !strcmp(o->flamegraph, "-");
	if (n > 1)
		return fail(err, errlen,
			    "only one of --json, --folded, --pprof and --flamegraph can be '-'");
	if (o->stacks_implied)
		o->stacks = true;
	return OPTS_OK;
}

/* A trace (or a recording): what follows the options, and which options go together. */
static enum opts_result check_live(struct opts *o, int argc, char **argv, const char *last_value,
				   char *err, size_t errlen)
{
	/* Did getopt stop at a "--" of its own, not at "--" given as a value (--json --)? */
	int i = optind;
	bool dashdash = i > 1 && !strcmp(argv[i - 1], "--") && argv[i - 1] != last_value;

	if (i < argc) {
		if (!dashdash)
			return fail(err, errlen,
				    "unexpected argument '%s': put the command to run after '--'",
				    argv[i]);
		o->cmd_argv = &argv[i];
		o->cmd_argc = argc - i;
	} else if (dashdash) {
		return fail(err, errlen, "no command after '--'");
	}
	if (o->pid && o->cmd_argc)
		return fail(err, errlen, "give either -p PID or a command after '--', not both");
	if (!o->pid && !o->cmd_argc)
		return fail(err, errlen,
			    "nothing to trace: give -p PID or -- COMMAND (see --help)");
	if (o->cmd == OPTS_RECORD && !o->output)
		return fail(err, errlen, "record needs -o FILE");
	if (o->repeat && o->pid)
		return fail(err, errlen, "--repeat runs a command: give -- COMMAND, not -p");
	if (o->repeat && (o->interval || o->output))
		return fail(err, errlen, "--repeat reports totals: not with %s",
			    o->interval ? "-i" : "-o (or record)");
	if (o->quiet && !o->json_path && !o->output && !o->perfetto_path && !stacks_output(o))
		return fail(
			err, errlen,
			"-q without --json, --folded, --pprof, --flamegraph or -o would produce nothing");
	if (o->timeline && !o->output && !o->perfetto_path)
		return fail(err, errlen,
			    "--timeline records to a file: give -o FILE or --perfetto FILE");
	if (o->repeat && o->timeline)
		return fail(err, errlen,
			    "--repeat reports totals: not with --timeline or --perfetto");
	if (stacks_output(o) && o->no_stacks)
		return fail(err, errlen, "%s writes the stacks that --no-stacks turns off",
			    stacks_output(o));
	if (stacks_output(o) && o->repeat)
		return fail(err, errlen, "%s is of one trace: not with --repeat", stacks_output(o));
	if (o->sample_hz >= 0 && !o->stacks && !o->stacks_implied)
		return fail(err, errlen,
			    "--sample-hz sets the rate of --stacks' on-CPU samples: add --stacks");
	return check_stdout(o, err, errlen);
}

/* serve: targets, and no other argument. */
static enum opts_result check_serve(struct opts *o, int argc, char **argv, char *err, size_t errlen)
{
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->npids && !o->ncomms && !o->nexes && !o->ncgroups)
		return fail(
			err, errlen,
			"nothing to trace: give -p PID, --comm NAME, --exe PATH or --cgroup PATH (see --help)");
	if (!o->listen)
		o->listen = OPTS_DEFAULT_LISTEN;
	return OPTS_OK;
}

/* report FILE, diff BASE NEW: the files, and which options go together. */
static enum opts_result check_files(struct opts *o, int argc, char **argv, char *err, size_t errlen)
{
	int want = o->cmd == OPTS_DIFF ? 2 : 1;

	o->files = &argv[optind];
	o->nfiles = argc - optind;
	if (o->nfiles != want)
		return fail(err, errlen, "%s (see --help)",
			    want == 2 ? "expected two reports, BASE and NEW" :
					"expected one recording");
	if (o->cmd == OPTS_REPORT && o->quiet && !o->json_path && !o->perfetto_path &&
	    !stacks_output(o))
		return fail(
			err, errlen,
			"-q without --json, --perfetto, --folded, --pprof or --flamegraph would print nothing");
	return check_stdout(o, err, errlen);
}

enum opts_result opts_parse(struct opts *o, enum opts_cmd cmd, int argc, char **argv, FILE *out,
			    char *err, size_t errlen)
{
	struct option longs[NOPTDEFS + 1];
	char shorts[2 * NOPTDEFS + 3];
	const char *last_value = NULL;
	enum opts_result r;
	int c;

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->top = OPTS_DEFAULT_TOP;
	o->sample_hz = -1;
	o->gil = true;
	o->max_threads = OPTS_DEFAULT_MAX_THREADS;
	o->max_series = OPTS_DEFAULT_MAX_SERIES;
	err[0] = '\0';
	cmd_table(cmd, longs, shorts);

	optind = 0; /* 0, not 1: glibc starts over (a new table, permutation state) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		last_value = optarg; /* glibc resets optarg to NULL for a flag */
		switch (c) {
		case 'p':
		case 'd':
		case 'i':
		case OPT_TOP:
		case OPT_SAMPLE_HZ:
		case OPT_MAX_THREADS:
		case OPT_REPEAT:
		case OPT_LOCKS_MIN_WAIT:
		case OPT_MAX_SERIES:
			r = number_opt(o, c, optarg, err, errlen);
			break;
		case OPT_JSON:
		case OPT_MARKDOWN:
		case OPT_BTF:
		case 'o':
		case OPT_FAIL_ON:
		case OPT_GIL:
		case OPT_PERFETTO:
		case OPT_FOLDED:
		case OPT_PPROF:
		case OPT_FLAMEGRAPH:
		case OPT_LISTEN:
		case OPT_COMM:
		case OPT_EXE:
		case OPT_CGROUP:
			r = value_opt(o, c, optarg, err, errlen);
			break;
		case '?':
		case ':':
			return unknown_opt(longs, c, argv, err, errlen);
		default:
			r = flag_opt(o, c, out);
			break;
		}
		if (r != OPTS_OK)
			return r;
	}
	if (cmd == OPTS_SERVE)
		return check_serve(o, argc, argv, err, errlen);
	if (cmd == OPTS_REPORT || cmd == OPTS_DIFF)
		return check_files(o, argc, argv, err, errlen);
	return check_live(o, argc, argv, last_value, err, errlen);
}
