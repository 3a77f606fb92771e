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

#include "store/diff.h"
#include "store/record.h"
#include "probe/kernel.h"
#include "util/log.h"
#include "model/model.h"
#include "cli/opts.h"
#include "util/outfile.h"
#include "util/procfs.h"
#include "out/folded.h"
#include "out/pprof.h"
#include "out/report_json.h"
#include "cli/repeat.h"
#include "out/report_text.h"
#include "probe/session.h"
#include "probe/target.h"

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
	struct session *session;
	struct report_meta meta;
	struct outfile json_out; /* --json */
	FILE *json; /* json_out's stream, while open */
	bool json_written; /* a report went to it: it is put in place at the end */
	bool json_failed; /* a write error (said): it is not */
	bool text;
	int sigfd;
	int stop_signal; /* SIGINT/SIGTERM/SIGHUP that ended the trace, or 0 */
	bool signal_from_process; /* sent by kill(), not by the terminal */
	struct rpt_gil_info gil[GIL_MAX_PROCS]; /* Python processes, for the report */
	struct recorder rec; /* -o: the recording, or f NULL */
	bool replay; /* contrace report: meta comes from the recording */
	long seeded; /* threads found when tracing began */
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
	m->stacks = run->o.stacks;
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

/* One message for every failure of --json. */
static void json_error(const struct run *run, int e)
{
	if (strcmp(run->o.json_path, "-"))
		log_error("cannot write JSON to '%s': %s", run->o.json_path, strerror(e));
	else
		log_error("cannot write the JSON report to standard output: %s", strerror(e));
}

/* --folded, --pprof: the whole trace's lock stacks, put in place once written. 0 or -EIO. */
static int write_stacks(const char *path, const char *what, const struct report *r,
			int (*render)(FILE *, const struct report *))
{
	struct outfile of;
	char err[512];
	int ret;

	if (!path || r->interval)
		return 0;
	if (outfile_open(&of, path, err, sizeof(err))) {
		log_error("%s", err);
		return -EIO;
	}
	ret = render(of.f, r);
	if (ret) {
		log_error("cannot write %s to '%s': %s", what, path, strerror(-ret));
		outfile_abort(&of);
		return -EIO;
	}
	if (outfile_close(&of, err, sizeof(err))) {
		log_error("%s", err);
		return -EIO;
	}
	return 0;
}

static int emit(struct run *run, const struct report *r)
{
	struct text_opts to = { .top = run->o.top, .verbose = run->o.verbose };
	int ret = 0;

	if (run->text) {
		errno = 0;
		report_text(stdout, r, &to);
		/* Now, not at exit: a full disk or a closed pipe fails the run (exit 1). */
		if (fflush(stdout) || ferror(stdout)) {
			log_error("cannot write the report to standard output: %s",
				  strerror(errno ? errno : EIO));
			ret = -EIO;
		}
	}
	if (run->json && !run->json_failed) {
		run->json_written = true;
		errno = 0;
		if (report_json(run->json, r, run->o.interval == 0)) {
			json_error(run, errno ? errno : EIO);
			run->json_failed = true; /* and not put in place */
			ret = -EIO;
		}
	}
	if (write_stacks(run->o.folded, "folded stacks", r, report_folded) ||
	    write_stacks(run->o.pprof, "the pprof profile", r, report_pprof))
		ret = -EIO;
	return ret;
}

/* The metadata that changes while tracing, as of now. */
static void live_meta(struct run *run)
{
	session_meta(run->session, &run->meta, run->gil, GIL_MAX_PROCS);
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

	ret = session_snapshot(run->session, &s);
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

/*
 * SIGINT, SIGTERM and SIGHUP are blocked and read from a signalfd from the
 * very start: one that comes while the probes load (the first 100-300 ms)
 * is seen at the next step of the start, instead of killing contrace with
 * no report. A launched command unblocks them before its execve.
 */
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

/* Whether a signal came (without waiting): it ends the trace, or the start. */
static bool signalled(struct run *run)
{
	struct signalfd_siginfo si;

	if (run->stop_signal)
		return true;
	if (read(run->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	run->stop_signal = (int)si.ssi_signo;
	run->signal_from_process = si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE;
	return true;
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
	int64_t timeout, t;
	int index = 0, ret = 0;

	if (run->o.duration > 0)
		end = start + (uint64_t)(run->o.duration * 1e9);
	if (iv_ns) {
		next_iv = start + iv_ns;
		ret = session_snapshot(run->session, &prev);
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
	fds[2] = (struct pollfd){ .fd = session_events_fd(run->session), .events = POLLIN };

	for (;;) {
		now = mono_ns();
		if (end && now >= end)
			break;
		if (next_iv && now >= next_iv) {
			ret = session_snapshot(run->session, &cur);
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
			session_refresh(run->session);
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
		if ((fds[0].revents & POLLIN) && signalled(run))
			break;
		if (fds[1].revents & (POLLIN | POLLHUP))
			break;
		/* A new image (exec) or process: its symbols and text, before it is gone. */
		if ((fds[2].revents & POLLIN) && session_consume_events(run->session)) {
			session_refresh(run->session);
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

/* --json: put in place once a report is written to it (close_json). */
static int open_json(struct run *run)
{
	char err[512];
	int ret;

	if (!run->o.json_path)
		return 0;
	ret = outfile_open(&run->json_out, run->o.json_path, err, sizeof(err));
	if (ret) {
		json_error(run, -ret);
		return -1;
	}
	run->json = run->json_out.f;
	return 0;
}

/*
 * Put --json in place if a report went to it, or leave the destination as
 * it was: a run that reported nothing does not replace a user's file with
 * an empty one. 0, or -errno (a write error).
 */
static int close_json(struct run *run)
{
	char err[512];
	int ret = 0;

	if (!run->json)
		return 0;
	if (run->json_written && !run->json_failed)
		ret = outfile_close(&run->json_out, err, sizeof(err));
	else
		outfile_abort(&run->json_out);
	run->json = NULL;
	if (ret)
		json_error(run, -ret);
	return run->json_failed ? -EIO : ret;
}

static int open_outputs(struct run *run)
{
	char err[512];

	if (open_json(run))
		return -1;
	if (run->o.output && record_create(&run->rec, run->o.output, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* Both outputs closed: 0, or -EIO if either could not be written. */
static int close_outputs(struct run *run)
{
	char err[512];
	int ret = 0;

	if (run->rec.f && record_close(&run->rec, err, sizeof(err))) {
		log_error("%s", err);
		ret = -EIO;
	}
	if (close_json(run))
		ret = -EIO;
	return ret;
}

/*
 * Tracing has begun: the recording is put in place (readable while the
 * trace goes, and after contrace is killed), and so are -i's JSON Lines,
 * which grow as the trace goes. 0, or -1 (said why).
 */
static int begin_outputs(struct run *run)
{
	char err[512];
	int ret;

	if (run->rec.f && record_begin(&run->rec, &run->meta, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (run->json && run->o.interval > 0) {
		ret = outfile_publish(&run->json_out, err, sizeof(err));
		if (ret) {
			json_error(run, -ret);
			return -1;
		}
	}
	return 0;
}

/* Two outputs in one file would be one written over the other. 0, or 2 (usage). */
static int check_outputs(const struct opts *o)
{
	if (o->output && o->json_path && outfile_same(o->output, o->json_path)) {
		fprintf(stderr, "contrace: -o and --json name the same file '%s'\n", o->output);
		return 2;
	}
	if (o->output && !strcmp(o->output, "-") && !o->quiet) {
		fprintf(stderr, "contrace: -o - puts the recording on standard output, where the "
				"text report goes: add -q\n");
		return 2;
	}
	return 0;
}

/* A signal before tracing began: nothing to report, no output file touched, 128+N. */
static int stopped_early(struct run *run)
{
	const char *name = sigabbrev_np(run->stop_signal);

	if (run->target.launched)
		fprintf(stderr,
			"contrace: stopped by SIG%s before the command started: it did not run; no report\n",
			name);
	else
		fprintf(stderr, "contrace: stopped by SIG%s before tracing began: no report\n",
			name);
	return 128 + run->stop_signal;
}

/*
 * A step of the start failed: say why, unless a signal came meanwhile (a
 * terminal's Ctrl-C also kills a command waiting to start, which makes the
 * start fail): then that is what stopped it.
 */
static int start_failed(struct run *run, const char *err, int code)
{
	if (signalled(run))
		return stopped_early(run);
	log_error("%s", err);
	return code;
}

static int exited_early(struct run *run)
{
	char err[128];

	if (run->target.launched)
		snprintf(err, sizeof(err), "the command (pid %d) exited before tracing started",
			 run->target.pid);
	else
		snprintf(err, sizeof(err), "pid %d exited before tracing started", run->target.pid);
	return start_failed(run, err, 1);
}

/* Let a launched command run: the trace begins. 0, or the exit status. */
static int release_command(struct run *run)
{
	char err[512];
	int ret;

	session_probe_holds(run->session, run->target.pid);
	/* The last moment a signal stops the command from running at all. */
	if (signalled(run))
		return stopped_early(run);
	run->meta.trace_start_ns = mono_ns();
	run->meta.trace_start_real_ns = real_ns();
	ret = target_release(&run->target, run->o.cmd_argv[0], err, sizeof(err));
	if (ret)
		return start_failed(run, err, ret == -ENOENT ? 127 : 126);
	/* The command's own image is mapped now: read its symbols while it lives. */
	session_holds_ready(run->session, true);
	session_refresh(run->session);
	return 0;
}

/* The target, the outputs, the probes. 0, or the exit status; a signal is checked at each step. */
static int start(struct run *run)
{
	struct session_cfg cfg = {
		.follow = run->o.follow,
		.syscalls = run->o.syscalls,
		.holds = run->o.holds,
		.stacks = run->o.stacks,
		.stacks_note = !run->o.quiet,
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
	/* As a shell does: 127 for a command not found, 126 for one that cannot run. */
	if (ret)
		return start_failed(run, err,
				    run->o.pid	   ? 1 :
				    ret == -ENOENT ? 127 :
				    ret == -EACCES ? 126 :
						     1);
	if (signalled(run))
		return stopped_early(run);
	if (open_outputs(run))
		return 1;
	cfg.target_pid = run->target.pid;
	cfg.gate = run->target.launched;
	fill_meta(run);

	ret = session_open(&run->session, &cfg, err, sizeof(err));
	/* Loading took 100-300 ms: a signal meanwhile means the user gave up waiting. */
	if (!ret && signalled(run))
		return stopped_early(run);
	if (!ret)
		ret = session_attach(run->session, err, sizeof(err));
	if (ret)
		return start_failed(run, err, 1);
	/* -p: tracing has begun; a signal from now on is read by the trace loop, which reports. */
	run->meta.trace_start_ns = mono_ns();
	run->meta.trace_start_real_ns = real_ns();
	seeded = session_seed(run->session, err, sizeof(err));
	if (seeded < 0)
		return start_failed(run, err, 1);
	if (seeded == 0)
		return exited_early(run);
	session_holds_ready(run->session, !run->target.launched);
	session_refresh(run->session);
	if (run->target.launched) {
		ret = release_command(run);
		if (ret)
			return ret;
	}
	log_info("probes live after %.1f ms", (double)(mono_ns() - t0) / 1e6);
	run->seeded = seeded;
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
	fputs("Usage: contrace report FILE [--json FILE] [--folded FILE] [--pprof FILE] [-q] [-v] [--top N]\n"
	      "\n"
	      "Print the reports of a recording (contrace record -o FILE, or -o on any trace):\n"
	      "the same text and JSON the live run printed.\n",
	      f);
}

/* contrace report FILE: the reports of a recording, through the live run's renderers. */
static int replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "folded", required_argument, NULL, 'F' },
		{ "pprof", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
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
		case 'F':
			run.o.folded = optarg;
			break;
		case 'P':
			run.o.pprof = optarg;
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
	if (run.o.quiet && !run.o.json_path && !run.o.folded && !run.o.pprof) {
		fprintf(stderr, "contrace report: -q without --json, --folded or --pprof would "
				"print nothing\n");
		return 2;
	}
	if (run.o.json_path && outfile_same(run.o.json_path, argv[optind])) {
		fprintf(stderr, "contrace report: --json '%s' is the recording itself\n",
			run.o.json_path);
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
	run.text = !run.o.quiet && !(run.o.json_path && !strcmp(run.o.json_path, "-")) &&
		   !(run.o.folded && !strcmp(run.o.folded, "-")) &&
		   !(run.o.pprof && !strcmp(run.o.pprof, "-"));
	code = replay(&run, argv[optind]);
	if (close_json(&run))
		code = 1;
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
	/* First, before anything slow: see setup_signals(). */
	if (setup_signals(&run)) {
		fprintf(stderr, "contrace: cannot set up signal handling: %s\n", strerror(errno));
		return 1;
	}
	ret = check_outputs(&run.o);
	if (ret)
		return ret;
	log_verbosity = run.o.verbose > 1 ? 2 : run.o.verbose;
	session_log_libbpf();
	signal(SIGPIPE, SIG_IGN);
	run.text = !run.o.quiet && !(run.o.json_path && !strcmp(run.o.json_path, "-")) &&
		   !(run.o.folded && !strcmp(run.o.folded, "-")) &&
		   !(run.o.pprof && !strcmp(run.o.pprof, "-"));

	if (!kernel_may_trace()) {
		log_error(
			"permission denied: contrace must run as root (or with CAP_BPF and CAP_PERFMON)");
		return 1;
	}
	ret = start(&run);
	if (ret) {
		code = ret;
		goto out;
	}
	if (begin_outputs(&run)) {
		finish_command(&run);
		goto out;
	}
	/* Once all is in place: scripts wait for this line to know the trace runs. */
	if (!run.o.quiet && !run.target.launched)
		fprintf(stderr, "contrace: tracing pid %d (%ld threads)%s. Ctrl-C to stop.\n",
			run.target.pid, run.seeded, run.o.follow ? " and its children" : "");
	ret = trace_loop(&run);
	session_detach(run.session);
	if (ret) {
		log_error("tracing failed: %s", strerror(-ret));
		finish_command(&run);
		goto out;
	}
	/*
	 * The results, before a command still running is stopped: the owners
	 * of the locks its threads wait for are read from its memory.
	 */
	ret = session_snapshot(run.session, &final);
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
	if (close_outputs(&run))
		code = 1;
	session_close(run.session);
	target_close(&run.target);
	if (run.sigfd >= 0)
		close(run.sigfd);
	report_own_usage();
	return code;
}
