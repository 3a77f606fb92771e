// SPDX-License-Identifier: GPL-2.0-only
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/format.h"
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
	OPT_STACKS,
	OPT_NO_STACKS,
	OPT_FOLDED,
	OPT_PPROF,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "follow", no_argument, NULL, 'f' },
	{ "syscalls", no_argument, NULL, 'S' },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "max-threads", required_argument, NULL, OPT_MAX_THREADS },
	{ "btf", required_argument, NULL, OPT_BTF },
	{ "locks-min-wait", required_argument, NULL, OPT_LOCKS_MIN_WAIT },
	{ "holds", no_argument, NULL, OPT_HOLDS },
	{ "output", required_argument, NULL, 'o' },
	{ "gil", required_argument, NULL, OPT_GIL },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "stacks", no_argument, NULL, OPT_STACKS },
	{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "pprof", required_argument, NULL, OPT_PPROF },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Is NAME (LEN bytes, maybe abbreviated as getopt_long allows) a long flag without a value? */
static bool known_long(const char *name, size_t len)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (!strncmp(o->name, name, len) && o->has_arg == no_argument)
			return true;
	return false;
}

void opts_usage(FILE *f)
{
	fputs("Usage: contrace [OPTIONS] -p PID\n"
	      "       contrace [OPTIONS] -- COMMAND [ARGS...]\n"
	      "       contrace record -o FILE [OPTIONS] (-p PID | -- COMMAND...)\n"
	      "       contrace report FILE [--json FILE] [-q] [-v] [--top N]\n"
	      "       contrace diff [--fail-on RULE]... BASE.json NEW.json   (see diff --help)\n"
	      "\n"
	      "Where the threads of one process spend their time, and who makes them wait.\n"
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
	      "      --stacks           the user stack of every lock wait, by wait time: copied\n"
	      "                         (about 1 us per wait) and unwound by contrace\n"
	      "      --folded FILE      the lock waits' stacks as folded stacks for flame graphs,\n"
	      "                         in microseconds ('-': stdout; implies --stacks)\n"
	      "      --pprof FILE       the same as a gzipped pprof profile (go tool pprof;\n"
	      "                         implies --stacks)\n"
	      "      --gil MODE         CPython's GIL: auto (default: uprobes on take_gil and\n"
	      "                         drop_gil where the interpreter has symbols, else on\n"
	      "                         the C library's mutex and condvar calls, else from\n"
	      "                         its futex words), uprobe (symbols only), libc (C\n"
	      "                         library only), futex (no uprobes), off\n"
	      "      --json FILE        write the report as JSON to FILE ('-': stdout)\n"
	      "      --repeat N         run the command N times: each metric's median and\n"
	      "                         range (--json: all the runs, for contrace diff)\n"
	      "  -o, --output FILE      also record the trace to FILE, for 'contrace report FILE'\n"
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
		break;
	case 'd':
		return seconds_opt("duration", arg, DURATION_MIN, &o->duration, err, errlen);
	case 'i':
		return seconds_opt("interval", arg, INTERVAL_MIN, &o->interval, err, errlen);
	case OPT_TOP:
		r = int_opt("--top", "rows per table (0: all)", arg, 0, 1000000, &v, err, errlen);
		o->top = (int)v;
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

enum opts_result opts_parse(struct opts *o, int argc, char **argv, FILE *out, char *err,
			    size_t errlen)
{
	const char *last_value = NULL;
	bool dashdash;
	int c, i;

	memset(o, 0, sizeof(*o));
	o->top = OPTS_DEFAULT_TOP;
	o->gil = true;
	o->max_threads = OPTS_DEFAULT_MAX_THREADS;
	err[0] = '\0';

	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option, so a command's own options stay its own. */
	while ((c = getopt_long(argc, argv, "+:p:d:i:o:fSqvh", long_opts, NULL)) != -1) {
		last_value = optarg; /* glibc resets optarg to NULL for a flag */
		switch (c) {
		case 'p':
		case 'd':
		case 'i':
		case OPT_TOP:
		case OPT_MAX_THREADS:
		case OPT_REPEAT:
		case OPT_LOCKS_MIN_WAIT:
			if (number_opt(o, c, optarg, err, errlen))
				return OPTS_ERROR;
			break;
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
		case OPT_JSON:
			if (!*optarg)
				return fail(err, errlen, "--json needs a file name or '-'");
			o->json_path = optarg;
			break;
		case OPT_BTF:
			o->btf_path = optarg;
			break;
		case OPT_HOLDS:
			o->holds = true;
			break;
		case OPT_STACKS:
			o->stacks = true;
			o->no_stacks = false;
			break;
		case OPT_NO_STACKS:
			o->stacks = false;
			o->no_stacks = true;
			break;
		case OPT_FOLDED:
			if (!*optarg)
				return fail(err, errlen, "--folded needs a file name or '-'");
			o->folded = optarg;
			o->stacks_implied = true;
			break;
		case OPT_PPROF:
			if (!*optarg)
				return fail(err, errlen, "--pprof needs a file name or '-'");
			o->pprof = optarg;
			o->stacks_implied = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_GIL:
			o->gil = true;
			if (!strcmp(optarg, "auto"))
				o->gil_mode = 0;
			else if (!strcmp(optarg, "uprobe"))
				o->gil_mode = 1;
			else if (!strcmp(optarg, "libc"))
				o->gil_mode = 2;
			else if (!strcmp(optarg, "off"))
				o->gil = false;
			else if (!strcmp(optarg, "futex"))
				o->gil_mode = 3;
			else
				return fail(
					err, errlen,
					"invalid --gil '%s': expected auto, uprobe, libc, futex or off",
					optarg);
			break;
		case 'h':
			opts_usage(out);
			return OPTS_EXIT;
		case OPT_VERSION:
			fprintf(out, "contrace %s\n", CONTRACE_VERSION);
			return OPTS_EXIT;
		case ':':
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default: {
			const char *arg = argv[optind - 1];
			const char *eq = strchr(arg, '=');

			/* getopt_long reports "--flag=value" on a flag like an unknown short option. */
			if (!strncmp(arg, "--", 2) && eq && known_long(arg + 2, eq - arg - 2))
				return fail(err, errlen, "option '%.*s' takes no value",
					    (int)(eq - arg), arg);
			if (optopt && optopt < 256)
				return fail(err, errlen, "unknown option '-%c' (see --help)",
					    optopt);
			return fail(err, errlen, "unknown option '%s' (see --help)", arg);
		}
		}
	}

	/* Did getopt stop at a "--" of its own, not at "--" given as a value (--json --)? */
	i = optind;
	dashdash = i > 1 && !strcmp(argv[i - 1], "--") && argv[i - 1] != last_value;
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
	if (o->repeat && o->pid)
		return fail(err, errlen, "--repeat runs a command: give -- COMMAND, not -p");
	if (o->repeat && (o->interval || o->output))
		return fail(err, errlen, "--repeat reports totals: not with %s",
			    o->interval ? "-i" : "-o (or record)");
	if (o->quiet && !o->json_path && !o->output && !o->folded && !o->pprof)
		return fail(err, errlen,
			    "-q without --json, --folded, --pprof or -o would produce nothing");
	if (o->pprof && !strcmp(o->pprof, "-") &&
	    ((o->json_path && !strcmp(o->json_path, "-")) ||
	     (o->folded && !strcmp(o->folded, "-"))))
		return fail(err, errlen, "only one of --pprof, --folded and --json can be '-'");
	if (o->folded && !strcmp(o->folded, "-") && o->json_path && !strcmp(o->json_path, "-"))
		return fail(err, errlen,
			    "--folded - and --json - cannot both go to standard output");
	if ((o->folded || o->pprof) && o->no_stacks)
		return fail(err, errlen, "%s writes the stacks that --no-stacks turns off",
			    o->folded ? "--folded" : "--pprof");
	if (o->stacks_implied)
		o->stacks = true;
	if ((o->folded || o->pprof) && o->repeat)
		return fail(err, errlen, "%s is of one trace: not with --repeat",
			    o->folded ? "--folded" : "--pprof");
	return OPTS_OK;
}
