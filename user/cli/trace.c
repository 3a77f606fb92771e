// SPDX-License-Identifier: GPL-2.0-only
/*
 * contrace [record]: a trace of a live process or a launched command:
 * target, probes, event loop, reports.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "store/record.h"
#include "probe/kernel.h"
#include "util/log.h"
#include "model/model.h"
#include "cli/commands.h"
#include "cli/emit.h"
#include "cli/paths.h"
#include "util/format.h"
#include "util/outfile.h"
#include "util/procfs.h"
#include "util/stopsig.h"
#include "cli/repeat.h"
#include "cli/timeline.h"
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
/*
 * Python threads' names are in the interpreter's memory only while they
 * live: read every NAMES_MS for a while after a process appears, when
 * programs start their threads (a worker that lives 200 ms fell between
 * two refreshes in half the runs of a 0.6 s program). 40 reads of about
 * 1.5 ms of contrace's CPU each for 100 threads, then none.
 */
#define NAMES_MS 50
#define NAMES_WINDOW_MS 2000
/* How long a launched command may take to exit once told to. */
#define EXIT_WAIT_MS 5000

struct run {
	const struct opts *o;
	struct target target;
	struct session *session;
	struct report_meta meta;
	struct emitter out; /* the text report and --json */
	int sigfd;
	int stop_signal; /* SIGINT/SIGTERM/SIGHUP that ended the trace, or 0 */
	bool signal_from_process; /* sent by kill(), not by the terminal */
	struct rpt_gil_info gil[GIL_MAX_PROCS]; /* Python processes, for the report */
	struct recorder rec; /* -o: the recording, or f NULL */
	const char *rec_path; /* its path: -o, or a temporary file for --perfetto alone */
	char tmp_path[64];
	long seeded; /* threads found when tracing began */
	struct snapshot iv_prev; /* -i: the snapshot the next interval starts from */
	int iv_index; /* -i: intervals reported */
};

/* --stacks' on-CPU samples: every Nth tick of the GIL sampler's clock (0: none). */
static uint32_t sample_every(const struct opts *o)
{
	if (!o->stacks || !o->sample_hz)
		return 0;
	return o->sample_hz < 0 ? 1 : (uint32_t)(OPTS_SAMPLE_HZ_MAX / o->sample_hz);
}

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
	m->follow = run->o->follow;
	m->syscalls = run->o->syscalls;
	m->locks = true;
	m->holds = run->o->holds;
	m->stacks = run->o->stacks;
	m->sample_every = sample_every(run->o);
	m->timeline = run->o->timeline;
	m->locks_min_wait_ns = (uint64_t)(run->o->locks_min_wait * 1e9);
	m->interval_ns = (uint64_t)(run->o->interval * 1e9);
	m->exit_status = -1;
	fmt_argv(m->command, sizeof(m->command), run->o->cmd_argv, run->o->cmd_argc);
	for (int i = 0; i < run->o->cmd_argc; i++) {
		size_t n = strlen(run->o->cmd_argv[i]) + 1;

		if (len + n > sizeof(m->argv))
			break; /* whole arguments only */
		memcpy(m->argv + len, run->o->cmd_argv[i], n);
		len += n;
	}
	m->argv_len = (uint32_t)len;
}

/* The metadata that changes while tracing, as of now. */
static void live_meta(struct run *run)
{
	session_meta(run->session, &run->meta, run->gil, GIL_MAX_PROCS);
}

/* The report of a window, not recorded. 0, or -errno (said). */
static int report_only(struct run *run, const struct snapshot *cur, const struct snapshot *prev,
		       int index)
{
	struct report r;
	int ret;

	ret = model_build(&r, &run->meta, cur, prev);
	if (ret) {
		log_error("cannot build the report: %s", strerror(-ret));
		return ret;
	}
	return emitter_print(&run->out, &r, index);
}

static int report_window(struct run *run, const struct snapshot *cur, const struct snapshot *prev,
			 int index)
{
	char err[512];

	live_meta(run);
	if (run->rec.f &&
	    record_snapshot(&run->rec, cur, &run->meta, index ? RECORD_INTERVAL : RECORD_FINAL, err,
			    sizeof(err)) < 0) {
		log_error("%s", err);
		return -EIO;
	}
	return report_only(run, cur, prev, index);
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

/* SIGINT, SIGTERM and SIGHUP, from the very start: see stopsig_fd(). */
static int setup_signals(struct run *run)
{
	run->sigfd = stopsig_fd();
	return run->sigfd < 0 ? run->sigfd : 0;
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
	uint64_t names_until, next_names;
	uint64_t iv_ns = (uint64_t)(run->o->interval * 1e9);
	struct snapshot *prev = &run->iv_prev, cur;
	struct pollfd fds[3];
	int64_t timeout, t;
	int ret = 0;

	if (run->o->duration > 0)
		end = start + (uint64_t)(run->o->duration * 1e9);
	if (iv_ns) {
		next_iv = start + iv_ns;
		ret = session_snapshot(run->session, prev);
		if (ret)
			return ret;
		if (run->rec.f) {
			char err[512];

			live_meta(run);
			if (record_snapshot(&run->rec, prev, &run->meta, RECORD_START, err,
					    sizeof(err))) {
				log_error("%s", err);
				return -EIO;
			}
		}
	}
	quick_until = run->target.launched ? start + QUICK_WINDOW_MS * 1000000ULL : 0;
	next_refresh = start + (quick_until ? QUICK_REFRESH_MS : REFRESH_MS) * 1000000ULL;
	names_until = start + NAMES_WINDOW_MS * 1000000ULL;
	next_names = start + NAMES_MS * 1000000ULL;
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
			ret = report_window(run, &cur, prev, ++run->iv_index);
			snapshot_free(prev);
			*prev = cur;
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
		if (now < names_until && now >= next_names) {
			session_read_names(run->session);
			next_names = now + NAMES_MS * 1000000ULL;
		}
		timeout = ms_until(now, next_refresh);
		if (now < names_until && (t = ms_until(now, next_names)) < timeout)
			timeout = t;
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
			names_until = mono_ns() + NAMES_WINDOW_MS * 1000000ULL;
		}
	}
	return ret;
}

/*
 * -i: the interval from the last one to the end of the trace, which -d,
 * the target's exit or Ctrl-C cut at any moment: reported too, and labelled
 * when short. Not recorded: the final snapshot is, and contrace report
 * makes this interval of it by the same rule. 0, or -errno (said).
 */
static int report_last_interval(struct run *run, const struct snapshot *final)
{
	if (!model_interval_left(run->meta.interval_ns, run->iv_prev.ts, final->ts))
		return 0;
	live_meta(run);
	return report_only(run, final, &run->iv_prev, ++run->iv_index);
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

/*
 * --perfetto without -o: the timeline goes through a recording all the
 * same (memory stays bounded however long the trace), in a temporary file
 * removed at the end.
 */
static int temp_recording(struct run *run)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(run->tmp_path, sizeof(run->tmp_path), "%s/contrace-XXXXXX.ctr",
		 dir && *dir && strlen(dir) < 32 ? dir : "/tmp");
	fd = mkstemps(run->tmp_path, 4);
	if (fd < 0) {
		log_error("cannot make a temporary recording for --perfetto in %s: %s",
			  run->tmp_path, strerror(errno));
		run->tmp_path[0] = 0;
		return -1;
	}
	close(fd);
	run->rec_path = run->tmp_path;
	return 0;
}

static int open_outputs(struct run *run)
{
	char err[512];

	if (emitter_open(&run->out))
		return -1;
	run->rec_path = run->o->output;
	if (run->o->perfetto_path && !run->rec_path && temp_recording(run))
		return -1;
	if (run->rec_path && record_create(&run->rec, run->rec_path, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* --timeline: a record drained from the ring buffer, into the recording. */
static int timeline_sink(void *ctx, const struct ct_tl_event *e)
{
	return record_event(ctx, e);
}

/* --perfetto: the recording's timeline, once it is complete. 0, or the exit status. */
static int write_perfetto(struct run *run)
{
	int code = 0;

	if (run->o->perfetto_path && run->rec_path)
		code = timeline_perfetto(run->rec_path, run->o->perfetto_path);
	if (run->tmp_path[0])
		unlink(run->tmp_path);
	return code;
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
	if (emitter_close(&run->out))
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

	if (run->rec.f && record_begin(&run->rec, &run->meta, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	return run->o->interval > 0 ? emitter_publish(&run->out) : 0;
}

/* What the outputs allow besides paths_check(): where -o - can go. 0, or 2 (usage). */
static int check_outputs(const struct opts *o)
{
	if (paths_check(o))
		return 2;
	if (o->perfetto_path && o->output && !strcmp(o->output, "-")) {
		fprintf(stderr, "contrace: --perfetto reads the recording back: not with -o -\n");
		return 2;
	}
	if (o->output && !strcmp(o->output, "-") && o->cmd_argc) {
		fprintf(stderr, "contrace: -o - puts the recording on standard output, where the "
				"command writes too: use -o FILE, or -p\n");
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
	ret = target_release(&run->target, run->o->cmd_argv[0], err, sizeof(err));
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
		.follow = run->o->follow,
		.syscalls = run->o->syscalls,
		.holds = run->o->holds,
		.stacks = run->o->stacks,
		.stacks_note = !run->o->quiet,
		.sample_every = sample_every(run->o),
		.gil = run->o->gil,
		.gil_mode = run->o->gil_mode,
		.max_threads = (uint32_t)run->o->max_threads,
		.btf_path = run->o->btf_path,
		.timeline_sink = run->o->timeline ? timeline_sink : NULL,
		.timeline_ctx = &run->rec,
	};
	char err[512];
	uint64_t t0 = mono_ns();
	long seeded;
	int ret;

	if (run->o->pid)
		ret = target_attach(&run->target, run->o->pid, err, sizeof(err));
	else
		ret = target_launch(&run->target, run->o->cmd_argv, err, sizeof(err));
	/* As a shell does: 127 for a command not found, 126 for one that cannot run. */
	if (ret)
		return start_failed(run, err,
				    run->o->pid	   ? 1 :
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

/*
 * The start line: with -f, the processes and their threads ("22 processes,
 * 22 threads" read "22 threads" before, for 22 single-threaded processes).
 */
static void say_tracing(struct run *run)
{
	size_t procs = session_processes(run->session);

	if (run->o->follow)
		fprintf(stderr,
			"contrace: tracing pid %d and its children: %zu process%s, %ld thread%s. Ctrl-C to stop.\n",
			run->target.pid, procs, procs == 1 ? "" : "es", run->seeded,
			run->seeded == 1 ? "" : "s");
	else
		fprintf(stderr, "contrace: tracing pid %d (%ld thread%s). Ctrl-C to stop.\n",
			run->target.pid, run->seeded, run->seeded == 1 ? "" : "s");
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

int trace_cmd(const struct opts *o)
{
	struct run run = { .o = o, .sigfd = -1 };
	struct snapshot final = { 0 };
	int ret, code = 1;

	/* First, before anything slow: see setup_signals(). */
	if (!o->repeat && setup_signals(&run)) {
		fprintf(stderr, "contrace: cannot set up signal handling: %s\n", strerror(errno));
		return 1;
	}
	ret = check_outputs(o);
	if (ret)
		return ret;
	if (o->repeat)
		return repeat_main(o);
	log_verbosity = o->verbose > 1 ? 2 : o->verbose;
	session_log_libbpf();
	signal(SIGPIPE, SIG_IGN);
	emitter_init(&run.out, o);

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
	if (!o->quiet && !run.target.launched)
		say_tracing(&run);
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
	if (report_last_interval(&run, &final) == 0 && report_window(&run, &final, NULL, 0) == 0)
		code = exit_code(&run);
	snapshot_free(&final);
out:
	snapshot_free(&run.iv_prev);
	if (close_outputs(&run))
		code = 1;
	else if (run.rec.begun && write_perfetto(&run) && !code)
		code = 1;
	if (run.tmp_path[0])
		unlink(run.tmp_path);
	session_close(run.session);
	target_close(&run.target);
	if (run.sigfd >= 0)
		close(run.sigfd);
	report_own_usage();
	return code;
}
