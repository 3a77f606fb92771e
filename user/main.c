// SPDX-License-Identifier: GPL-2.0-only
/*
 * contrace: where the threads of one process spend their time, and who makes
 * them wait. This file runs a trace: target, probes, event loop, reports.
 */
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "diff.h"
#include "record.h"
#include "kernel.h"
#include "log.h"
#include "model.h"
#include "opts.h"
#include "procfs.h"
#include "report_json.h"
#include "repeat.h"
#include "report_text.h"
#include "session.h"
#include "target.h"

/* How often /proc is read for new processes (command lines of -f children). */
#define REFRESH_MS 200
/*
 * After an execve, a program's loader maps its libraries within
 * milliseconds: refresh often for a while, so that an interpreter (the GIL
 * probes) is found before its threads start.
 */
#define QUICK_REFRESH_MS 5
#define QUICK_WINDOW_MS 300
/* How long a launched command may take to exit once told to. */
#define EXIT_WAIT_MS 5000

struct run {
	struct opts o;
	struct target target;
	struct session session;
	struct report_meta meta;
	FILE *json;
	bool text;
	int sigfd;
	int stop_signal; /* SIGINT/SIGTERM/SIGHUP that ended the trace, or 0 */
	bool signal_from_process; /* sent by kill(), not by the terminal */
	struct rpt_gil_info gil[GIL_MAX_PROCS]; /* Python processes, for the report */
	struct recorder rec; /* -o: the recording, or f NULL */
	bool replay; /* contrace report: meta comes from the recording */
};

static void fill_meta(struct run *run)
{
	struct report_meta *m = &run->meta;
	size_t len = 0;

	m->version = CONTRACE_VERSION;
	kernel_release(m->kernel, sizeof(m->kernel));
	if (gethostname(m->hostname, sizeof(m->hostname)))
		strcpy(m->hostname, "unknown");
	m->hostname[sizeof(m->hostname) - 1] = '\0';
	m->ncpus = sys_ncpus();
	m->target_pid = run->target.pid;
	m->launched = run->target.launched;
	m->follow = run->o.follow;
	m->syscalls = run->o.syscalls;
	m->locks = true;
	m->holds = run->o.holds;
	m->locks_min_wait_ns = (uint64_t)(run->o.locks_min_wait * 1e9);
	m->exit_status = -1;
	for (int i = 0; i < run->o.cmd_argc && len + 1 < sizeof(m->command); i++) {
		int n = snprintf(m->command + len, sizeof(m->command) - len, "%s%s", i ? " " : "",
				 run->o.cmd_argv[i]);

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static int emit(struct run *run, const struct report *r)
{
	struct text_opts to = { .top = run->o.top, .verbose = run->o.verbose };
	int ret = 0;

	if (run->text) {
		report_text(stdout, r, &to);
		if (ferror(stdout))
			ret = -EIO;
	}
	if (run->json && report_json(run->json, r, run->o.interval == 0))
		ret = -EIO;
	return ret;
}

/* The metadata that changes while tracing, as of now. */
static void live_meta(struct run *run)
{
	run->meta.holds_probed = run->session.holds.probed;
	run->meta.holds_unprobed = run->session.holds.skipped;
	run->meta.ngil = gil_infos(&run->session.gil, run->gil, GIL_MAX_PROCS);
	run->meta.gil = run->gil;
}

/* Print a built report (the -i interval `index`, 0 for the total), and free it. */
static int print_report(struct run *run, struct report *r, int index)
{
	int ret;

	r->index = index;
	if (run->text && index > 0)
		printf("\n");
	ret = emit(run, r);
	model_free(r);
	if (ret)
		log_error("cannot write the report: %s", strerror(-ret));
	return ret;
}

static int report_window(struct run *run, const struct snapshot *cur, const struct snapshot *prev,
			 int index)
{
	struct report r;
	int ret;

	char err[512];

	if (!run->replay)
		live_meta(run);
	if (run->rec.f &&
	    record_snapshot(&run->rec, cur, &run->meta, index ? RECORD_INTERVAL : RECORD_FINAL, err,
			    sizeof(err)) < 0) {
		log_error("%s", err);
		return -EIO;
	}
	ret = model_build(&r, &run->meta, cur, prev);
	if (ret) {
		log_error("cannot build the report: %s", strerror(-ret));
		return ret;
	}
	return print_report(run, &r, index);
}

/*
 * A checkpoint: a snapshot recorded, not reported, so that a recording
 * whose contrace is killed still has the trace up to a few seconds ago.
 */
static int checkpoint(struct run *run)
{
	uint64_t t0 = mono_ns();
	struct snapshot s;
	char err[512];
	int ret;

	ret = session_snapshot(&run->session, &s);
	if (ret)
		return ret;
	live_meta(run);
	ret = record_snapshot(&run->rec, &s, &run->meta, RECORD_CHECKPOINT, err, sizeof(err));
	log_debug("checkpoint of %u threads: %.1f ms", s.nthreads, (double)(mono_ns() - t0) / 1e6);
	snapshot_free(&s);
	if (ret)
		log_error("%s", err);
	return ret ? -EIO : 0;
}

static int setup_signals(struct run *run)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	run->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return run->sigfd < 0 ? -errno : 0;
}

static int64_t ms_until(uint64_t now, uint64_t deadline)
{
	if (!deadline)
		return INT32_MAX;
	return deadline > now ? (int64_t)((deadline - now + 999999) / 1000000) : 0;
}

/* Trace until the target exits, a signal, or the duration; print interval reports. */
static int trace_loop(struct run *run)
{
	uint64_t start = mono_ns(), now, end = 0, next_iv = 0, next_refresh, quick_until;
	uint64_t iv_ns = (uint64_t)(run->o.interval * 1e9);
	struct snapshot prev = { 0 }, cur;
	struct pollfd fds[3];
	struct signalfd_siginfo si;
	int64_t timeout, t;
	int index = 0, ret = 0;

	if (run->o.duration > 0)
		end = start + (uint64_t)(run->o.duration * 1e9);
	if (iv_ns) {
		next_iv = start + iv_ns;
		ret = session_snapshot(&run->session, &prev);
		if (ret)
			return ret;
		if (run->rec.f) {
			char err[512];

			live_meta(run);
			if (record_snapshot(&run->rec, &prev, &run->meta, RECORD_START, err,
					    sizeof(err))) {
				log_error("%s", err);
				snapshot_free(&prev);
				return -EIO;
			}
		}
	}
	quick_until = run->target.launched ? start + QUICK_WINDOW_MS * 1000000ULL : 0;
	next_refresh = start + (quick_until ? QUICK_REFRESH_MS : REFRESH_MS) * 1000000ULL;
	fds[0] = (struct pollfd){ .fd = run->sigfd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = run->target.pidfd, .events = POLLIN };
	fds[2] = (struct pollfd){ .fd = session_events_fd(&run->session), .events = POLLIN };

	for (;;) {
		now = mono_ns();
		if (end && now >= end)
			break;
		if (next_iv && now >= next_iv) {
			ret = session_snapshot(&run->session, &cur);
			if (ret)
				break;
			ret = report_window(run, &cur, &prev, ++index);
			snapshot_free(&prev);
			prev = cur;
			if (ret)
				break;
			/*
			 * The next interval from when this one's report is out: an
			 * interval shorter than a report takes to make must not starve
			 * the poll below (signals, the target's exit).
			 */
			next_iv += iv_ns;
			now = mono_ns();
			if (next_iv <= now)
				next_iv = now + iv_ns;
		}
		if (run->rec.f && now >= record_checkpoint_due(&run->rec)) {
			ret = checkpoint(run);
			if (ret)
				break;
		}
		if (now >= next_refresh) {
			session_refresh(&run->session);
			next_refresh = now + (now < quick_until ? QUICK_REFRESH_MS : REFRESH_MS) *
						     1000000ULL;
		}
		timeout = ms_until(now, next_refresh);
		if ((t = ms_until(now, end)) < timeout)
			timeout = t;
		if ((t = ms_until(now, next_iv)) < timeout)
			timeout = t;
		if ((t = ms_until(now, record_checkpoint_due(&run->rec))) < timeout)
			timeout = t;
		if (poll(fds, 3, (int)timeout) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (fds[0].revents & POLLIN) {
			if (read(run->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				run->stop_signal = (int)si.ssi_signo;
				run->signal_from_process = si.ssi_code == SI_USER ||
							   si.ssi_code == SI_QUEUE;
				break;
			}
		}
		if (fds[1].revents & (POLLIN | POLLHUP))
			break;
		/* A new image (exec) or process: its symbols and text, before it is gone. */
		if ((fds[2].revents & POLLIN) && session_consume_events(&run->session)) {
			session_refresh(&run->session);
			quick_until = mono_ns() + QUICK_WINDOW_MS * 1000000ULL;
			next_refresh = mono_ns() + QUICK_REFRESH_MS * 1000000ULL;
		}
	}
	snapshot_free(&prev);
	return ret;
}

/* After the trace: make a launched command end, and collect its status. */
static void finish_command(struct run *run)
{
	struct target *t = &run->target;

	if (!t->launched || target_reap(t, 0))
		return;
	if (run->stop_signal) {
		/*
		 * A terminal's Ctrl-C reached the command too (same process group):
		 * a second one could cut its shutdown short. One sent to contrace
		 * alone with kill() is passed on.
		 */
		if (run->signal_from_process)
			target_signal(t, run->stop_signal);
	} else if (!target_exited(t)) {
		log_info("duration over: sending SIGTERM to pid %d", t->pid);
		target_signal(t, SIGTERM);
	}
	if (!target_reap(t, EXIT_WAIT_MS))
		log_warn("the command (pid %d) is still running; leaving it", t->pid);
}

static int exit_code(const struct run *run)
{
	const struct target *t = &run->target;

	if (t->launched && t->reaped)
		return t->exit_signal ? 128 + t->exit_signal : t->exit_status;
	if (t->launched && run->stop_signal)
		return 128 + run->stop_signal;
	if (t->launched)
		return 1; /* it outlived the duration and SIGTERM: no status to give */
	return 0;
}

static int open_json(struct run *run)
{
	if (!run->o.json_path)
		return 0;
	if (!strcmp(run->o.json_path, "-")) {
		run->json = stdout;
		return 0;
	}
	/* Close-on-exec: a launched command must not inherit it. */
	run->json = fopen(run->o.json_path, "we");
	if (!run->json) {
		log_error("cannot write JSON to '%s': %s", run->o.json_path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int start(struct run *run)
{
	struct session_cfg cfg = {
		.follow = run->o.follow,
		.syscalls = run->o.syscalls,
		.holds = run->o.holds,
		.gil = run->o.gil,
		.gil_mode = run->o.gil_mode,
		.max_threads = (uint32_t)run->o.max_threads,
		.btf_path = run->o.btf_path,
	};
	char err[512];
	uint64_t t0 = mono_ns();
	long seeded;
	int ret;

	if (run->o.pid)
		ret = target_attach(&run->target, run->o.pid, err, sizeof(err));
	else
		ret = target_launch(&run->target, run->o.cmd_argv, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		/* As a shell does: 127 for a command not found, 126 for one that cannot run. */
		if (!run->o.pid && ret == -ENOENT)
			return 127;
		if (!run->o.pid && ret == -EACCES)
			return 126;
		return 1;
	}
	cfg.target_pid = run->target.pid;
	cfg.gate = run->target.launched;
	fill_meta(run);

	ret = session_open(&run->session, &cfg, err, sizeof(err));
	if (!ret)
		ret = session_attach(&run->session, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		return 1;
	}
	run->meta.trace_start_ns = mono_ns();
	run->meta.trace_start_real_ns = real_ns();
	seeded = session_seed(&run->session, err, sizeof(err));
	if (seeded < 0) {
		log_error("%s", err);
		return 1;
	}
	if (seeded == 0) {
		if (run->target.launched)
			log_error("the command (pid %d) exited before tracing started",
				  run->target.pid);
		else
			log_error("pid %d exited before tracing started", run->target.pid);
		return 1;
	}
	if (setup_signals(run)) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		return 1;
	}
	run->session.holds_ready = !run->target.launched;
	session_refresh(&run->session);
	if (run->target.launched) {
		session_probe_holds(&run->session, run->target.pid);
		run->meta.trace_start_ns = mono_ns();
		run->meta.trace_start_real_ns = real_ns();
		ret = target_release(&run->target, run->o.cmd_argv[0], err, sizeof(err));
		if (ret) {
			log_error("%s", err);
			return ret == -ENOENT ? 127 : 126;
		}
		/* The command's own image is mapped now: read its symbols while it lives. */
		run->session.holds_ready = true;
		session_refresh(&run->session);
	}
	log_info("probes live after %.1f ms", (double)(mono_ns() - t0) / 1e6);
	if (!run->o.quiet && !run->target.launched)
		fprintf(stderr, "contrace: tracing pid %d (%ld threads)%s. Ctrl-C to stop.\n",
			run->target.pid, seeded, run->o.follow ? " and its children" : "");
	return 0;
}

/* With -v: what contrace itself cost (its probes run in the traced threads' time). */
static void report_own_usage(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	log_info("own CPU %.1f ms (user %.1f, system %.1f), max RSS %ld KiB",
		 (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
		 (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3,
		 (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3,
		 ru.ru_maxrss);
}

/* The first report: the JSON file is opened only now, with something to write. */
static int replay_emit(struct run *run, struct report *r, int index, bool *opened)
{
	if (!*opened && open_json(run)) {
		model_free(r);
		return -EIO;
	}
	*opened = true;
	return print_report(run, r, index);
}

/*
 * The reports of a recording, as it is read: each -i interval's (two
 * snapshots in memory at a time, whatever the file's length), then the
 * total, of its final snapshot or of its last whole one. 0, 1 (a write
 * error) or 2 (a bad recording, after a one-line message).
 */
static int replay(struct run *run, const char *path)
{
	struct recording rec;
	struct report r;
	bool opened = false;
	char err[512];
	int index = 0, code = 0, ret;

	ret = record_open(path, &rec, err, sizeof(err));
	while (!ret && !code && (ret = record_next(&rec, err, sizeof(err))) > 0) {
		ret = 0;
		if (rec.cur.kind != RECORD_INTERVAL)
			continue;
		run->o.interval = 1; /* JSON lines: each interval's report, then the total */
		run->meta = rec.meta;
		ret = model_build(&r, &run->meta, &rec.cur.s, rec.has_base ? &rec.base.s : NULL);
		if (ret)
			break;
		code = replay_emit(run, &r, ++index, &opened) ? 1 : 0;
	}
	if (!ret && !code && record_total(&rec, &r) == -ENODATA) {
		snprintf(err, sizeof(err),
			 "%s: the recording was cut off before its first whole snapshot: "
			 "nothing to report",
			 path);
		ret = -ENODATA;
	} else if (!ret && !code) {
		if (rec.truncated)
			log_warn("%s was cut short: reporting up to its last whole snapshot", path);
		code = replay_emit(run, &r, 0, &opened) ? 1 : 0;
	}
	if (ret == -ENOMEM)
		log_error("%s: out of memory", path);
	else if (ret)
		fprintf(stderr, "contrace report: %s\n", err);
	if (rec.rd)
		record_free(&rec);
	return ret == -ENOMEM ? 1 : ret ? 2 : code;
}

static void replay_usage(FILE *f)
{
	fputs("Usage: contrace report FILE [--json FILE] [-q] [-v] [--top N]\n"
	      "\n"
	      "Print the reports of a recording (contrace record -o FILE, or -o on any trace):\n"
	      "the same text and JSON the live run printed.\n",
	      f);
}

/* contrace report FILE: the reports of a recording, through the live run's renderers. */
static int replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", required_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },	  { "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },	  { NULL, 0, NULL, 0 },
	};
	struct run run = { .sigfd = -1, .replay = true };
	char *end;
	int c, code;
	long top;

	run.o.top = OPTS_DEFAULT_TOP;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			run.o.json_path = optarg;
			break;
		case 'q':
			run.o.quiet = true;
			break;
		case 'v':
			run.o.verbose++;
			break;
		case 't':
			top = strtol(optarg, &end, 10);
			if (*end || end == optarg || top < 0 || top > 1000000) {
				fprintf(stderr, "contrace report: invalid --top '%s'\n", optarg);
				return 2;
			}
			run.o.top = (int)top;
			break;
		case 'h':
			replay_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "contrace report: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "contrace report: expected one recording (see --help)\n");
		return 2;
	}
	if (run.o.quiet && !run.o.json_path) {
		fprintf(stderr, "contrace report: -q without --json would print nothing\n");
		return 2;
	}
	/*
	 * One report after another builds and frees the same large JSON trees
	 * and buffers: keep the freed memory (no mmap, no trim, no fastbin
	 * consolidation) instead of faulting it in again each time. A 400-thread
	 * recording reported as JSON went from 0.56 s to 0.35 s.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MXFAST, 0);
	run.text = !run.o.quiet && !(run.o.json_path && !strcmp(run.o.json_path, "-"));
	code = replay(&run, argv[optind]);
	if (run.json && run.json != stdout && fclose(run.json)) {
		log_error("cannot write JSON to '%s': %s", run.o.json_path, strerror(errno));
		code = 1;
	}
	return code;
}

int main(int argc, char **argv)
{
	struct run run = { .sigfd = -1 };
	struct snapshot final = { 0 };
	bool record = false;
	char err[512];
	int ret, code = 1;

	if (argc > 1 && !strcmp(argv[1], "diff"))
		return diff_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return replay_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "record")) {
		record = true;
		argc--;
		argv++;
	}
	switch (opts_parse(&run.o, argc, argv, stdout, err, sizeof(err))) {
	case OPTS_EXIT:
		return 0;
	case OPTS_ERROR:
		fprintf(stderr, "contrace: %s\n", err);
		return 2;
	case OPTS_OK:
		break;
	}
	if (record && !run.o.output) {
		fprintf(stderr, "contrace: record needs -o FILE\n");
		return 2;
	}
	if (run.o.repeat)
		return repeat_main(&run.o);
	log_verbosity = run.o.verbose > 1 ? 2 : run.o.verbose;
	libbpf_set_print(log_libbpf);
	signal(SIGPIPE, SIG_IGN);
	run.text = !run.o.quiet && !(run.o.json_path && !strcmp(run.o.json_path, "-"));

	if (!kernel_may_trace()) {
		log_error(
			"permission denied: contrace must run as root (or with CAP_BPF and CAP_PERFMON)");
		return 1;
	}
	if (open_json(&run))
		return 1;
	if (run.o.output && record_create(&run.rec, run.o.output, err, sizeof(err))) {
		log_error("%s", err);
		return 1;
	}

	ret = start(&run);
	if (ret) {
		code = ret;
		goto out;
	}
	if (run.rec.f && record_begin(&run.rec, &run.meta, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	ret = trace_loop(&run);
	session_detach(&run.session);
	if (ret) {
		log_error("tracing failed: %s", strerror(-ret));
		finish_command(&run);
		goto out;
	}
	/*
	 * The results, before a command still running is stopped: the owners
	 * of the locks its threads wait for are read from its memory.
	 */
	ret = session_snapshot(&run.session, &final);
	finish_command(&run);
	run.meta.exit_status = run.target.exit_status;
	run.meta.exit_signal = run.target.exit_signal;
	if (ret) {
		log_error("cannot read the results: %s", strerror(-ret));
		goto out;
	}
	if (report_window(&run, &final, NULL, 0) == 0)
		code = exit_code(&run);
	snapshot_free(&final);
out:
	if (run.rec.f && record_close(&run.rec, err, sizeof(err))) {
		log_error("%s", err);
		code = 1;
	}
	session_close(&run.session);
	target_close(&run.target);
	if (run.json && run.json != stdout && fclose(run.json)) {
		log_error("cannot write JSON to '%s': %s", run.o.json_path, strerror(errno));
		code = 1;
	}
	if (run.sigfd >= 0)
		close(run.sigfd);
	report_own_usage();
	return code;
}
