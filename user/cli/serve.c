// SPDX-License-Identifier: GPL-2.0-only
/*
 * contrace serve: processes traced continuously, their figures served as
 * Prometheus metrics. One session (one set of probes and maps) traces them
 * all: the scheduler programs run on every context switch of the machine,
 * so a session per process would make each switch pay once per target
 * (10 idle targets made `perf bench sched pipe` 2.3x slower). A process is
 * added by its tgid (the seeding iterator claims its threads: no BPF load)
 * and removed at its exit. A scrape takes one snapshot and builds the
 * report since the session's tracing began (counters only grow), of which
 * out/prom.c renders the targets' processes. One thread: poll() on the
 * signals, the listening socket, the clients, the targets' pidfds and the
 * session's event rings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cgroup.h"
#include "util/http.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/stopsig.h"
#include "util/vec.h"
#include "model/model.h"
#include "out/prom.h"
#include "probe/kernel.h"
#include "probe/session.h"
#include "probe/target.h"
#include "cli/commands.h"

/* How often sessions read /proc for new images, as trace.c does. */
#define REFRESH_MS 200
/* How often /proc is scanned for new processes of a --comm name. */
#define SCAN_MS 1000
/*
 * Clients at once, and how long one may take to send its request and to
 * read the response: one that stops reading must not keep its slot.
 */
#define MAX_CONNS 32
#define CONN_TIMEOUT_MS 10000
/* Processes a scan adds at once (see add_batch). */
#define ADD_BATCH 32

struct starget {
	struct target target;
	struct prom_carry *carry; /* what the replaced sessions counted of it */
	bool by_comm; /* found by --comm (else -p) */
};

struct conn {
	int fd;
	uint64_t deadline;
	size_t nin;
	char in[HTTP_MAX_HEAD];
	char *out; /* the response, while it is sent */
	size_t nout, sent;
};

struct serve {
	const struct opts *o;
	int sigfd, lfd;
	struct session *session; /* of every target */
	uint64_t retry_ns; /* a failed replacement is tried again from then */
	int fatal; /* -errno: the old session detached, the new one failed: serve stops */
	struct report_meta meta;
	struct rpt_gil_info gil[GIL_MAX_PROCS];
	struct rpt_drops drops; /* what the replaced sessions dropped */
	struct starget **targets;
	size_t ntargets, targets_cap;
	int *failed; /* --comm processes that could not be traced: not tried again */
	size_t nfailed, failed_cap;
	int *gone; /* targets exited since the session began: their threads are in it */
	size_t ngone, gone_cap;
	struct conn conns[MAX_CONNS];
	size_t nconns;
	uint64_t scrapes, scrape_ns, attach_failures, exited, replaced;
	char hostname[65], kernel[65];
};

/* Listen on "ADDR:PORT" ("[V6]:PORT"; ":PORT" for every interface). The socket, or -1 (said). */
static int listen_on(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
			*res = NULL;
	const char *colon = strrchr(spec, ':');
	char host[256];
	int fd = -1, one = 1, ret;
	size_t hl = (size_t)(colon - spec);

	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		log_error("invalid --listen '%s': address too long", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	ret = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
	if (ret) {
		log_error("invalid --listen '%s': %s", spec, gai_strerror(ret));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		log_error("cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void target_free(struct starget *t)
{
	prom_carry_free(t->carry);
	target_close(&t->target);
	free(t);
}

static struct session_cfg session_cfg_of(const struct opts *o)
{
	return (struct session_cfg){
		.multi = true,
		.holds = o->holds,
		.gil = o->gil,
		.gil_mode = o->gil_mode,
		.max_threads = (uint32_t)o->max_threads,
		.btf_path = o->btf_path,
	};
}

/* A new session, loaded and attached, into *sp (its start into meta). 0, or -errno with err. */
static int open_session(struct serve *sv, struct session **sp, char *err, size_t errlen)
{
	struct session_cfg cfg = session_cfg_of(sv->o);
	int ret = session_open(sp, &cfg, err, errlen);

	if (ret)
		return ret;
	ret = session_attach(*sp, err, errlen);
	if (ret) {
		session_close(*sp);
		*sp = NULL;
		return ret;
	}
	sv->meta.trace_start_ns = mono_ns();
	sv->meta.trace_start_real_ns = real_ns();
	session_holds_ready(*sp, true);
	return 0;
}

/* Its threads found by the seeding just done: 0, or -errno with err said. */
static int target_seeded(struct session *s, int pid, char *err, size_t errlen)
{
	int ret;

	if (session_target_seeded(s, pid) > 0)
		return 0;
	ret = target_unseen(pid, err, errlen);
	if (!ret) {
		snprintf(err, errlen, "pid %d exited before tracing started", pid);
		ret = -ESRCH;
	}
	return ret;
}

static int replace_session(struct serve *sv);

static bool gone_before(const struct serve *sv, int pid)
{
	for (size_t i = 0; i < sv->ngone; i++)
		if (sv->gone[i] == pid)
			return true;
	return false;
}

/*
 * A process that reuses the pid of a target exited in this session would
 * be one process to the report, the dead one's counts in its series: if
 * one of pids does, the session is replaced first (a load, as rare as
 * pids wrap around).
 */
static void fresh_pids(struct serve *sv, const int *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (gone_before(sv, pids[i])) {
			log_info("pid %d was a target's: the session is replaced first", pids[i]);
			replace_session(sv);
			return;
		}
}

/* Adding pid, first: its pidfd, and into the session's set. 0, or -errno with err said. */
static int target_begin(struct serve *sv, int pid, bool by_comm, struct starget **tp, char *err,
			size_t errlen)
{
	struct starget *t = calloc(1, sizeof(*t));
	int ret;

	*tp = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->by_comm = by_comm;
	t->target.pidfd = -1;
	ret = target_attach(&t->target, pid, err, errlen);
	if (!ret && gone_before(sv, t->target.pid)) {
		snprintf(err, errlen,
			 "pid %d reuses an exited target's pid: not before a new session",
			 t->target.pid);
		ret = -EBUSY;
	}
	if (!ret)
		ret = session_target_add(sv->session, t->target.pid, err, errlen);
	if (ret) {
		target_free(t);
		return ret;
	}
	*tp = t;
	return 0;
}

/*
 * Then, after the seeding (seed: what session_seed() returned): traced, or
 * out of the set and freed. 0, or -errno with err said.
 */
static int target_finish(struct serve *sv, struct starget *t, long seed, char *err, size_t errlen)
{
	struct starget **slot = NULL;
	int ret = seed < 0 ? (int)seed : target_seeded(sv->session, t->target.pid, err, errlen);

	if (!ret) {
		slot = vec_push(sv->targets, sv->ntargets, sv->targets_cap);
		ret = slot ? 0 : -ENOMEM;
		if (ret)
			snprintf(err, errlen, "out of memory");
	}
	if (ret) {
		session_target_remove(sv->session, t->target.pid);
		target_free(t);
		return ret;
	}
	*slot = t;
	session_refresh_pid(sv->session, t->target.pid);
	log_info("tracing pid %d (%ld threads)", t->target.pid,
		 session_target_seeded(sv->session, t->target.pid));
	return 0;
}

/* Trace process pid: added to the session and seeded. 0, or -errno with err said. */
static int target_add(struct serve *sv, int pid, bool by_comm, char *err, size_t errlen)
{
	struct starget *t;
	int ret;

	fresh_pids(sv, &pid, 1);
	ret = target_begin(sv, pid, by_comm, &t, err, errlen);
	if (ret)
		return ret;
	return target_finish(sv, t, session_seed(sv->session, err, errlen), err, errlen);
}

static void target_remove(struct serve *sv, size_t i)
{
	int pid = sv->targets[i]->target.pid, *g = vec_push(sv->gone, sv->ngone, sv->gone_cap);

	log_info("pid %d exited: no longer traced", pid);
	if (g)
		*g = pid;
	session_target_remove(sv->session, pid);
	target_free(sv->targets[i]);
	sv->targets[i] = sv->targets[--sv->ntargets];
	sv->exited++;
}

static bool traced(const struct serve *sv, int pid)
{
	for (size_t i = 0; i < sv->ntargets; i++)
		if (sv->targets[i]->target.pid == pid)
			return true;
	return false;
}

static bool comm_wanted(const struct opts *o, int pid)
{
	char comm[32];

	if (!o->ncomms || proc_comm(pid, 0, comm, sizeof(comm)))
		return false;
	for (size_t i = 0; i < o->ncomms; i++)
		if (!strcmp(comm, o->comms[i]))
			return true;
	return false;
}

static bool exe_wanted(const struct opts *o, int pid)
{
	char path[64], exe[4096];
	ssize_t n;

	if (!o->nexes)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (size_t i = 0; i < o->nexes; i++)
		if (!strcmp(exe, o->exes[i]))
			return true;
	return false;
}

/* Is cgroup path `cg` at `want` or below it? */
static bool cgroup_under(const char *cg, const char *want)
{
	size_t n = strlen(want);

	while (n > 1 && want[n - 1] == '/')
		n--;
	if (n == 1)
		return true; /* the root: everything */
	return !strncmp(cg, want, n) && (cg[n] == '\0' || cg[n] == '/');
}

/* Its cgroup v2 path (the "0::" line of /proc/PID/cgroup) at or below a --cgroup. */
static bool cgroup_wanted(const struct opts *o, int pid)
{
	char cg[4096];

	if (!o->ncgroups || proc_cgroup(pid, cg, sizeof(cg)))
		return false;
	for (size_t i = 0; i < o->ncgroups; i++)
		if (cgroup_under(cg, o->cgroups[i]))
			return true;
	return false;
}

/* A process that --comm, --exe or --cgroup selects (never a kernel thread). */
static bool wanted(const struct opts *o, int pid)
{
	struct proc_stat st;

	if (!comm_wanted(o, pid) && !exe_wanted(o, pid) && !cgroup_wanted(o, pid))
		return false;
	return !proc_read_stat(pid, 0, &st) && !(st.flags & PROC_PF_KTHREAD) && st.state != 'Z';
}

/* A selected process that could not be traced: remembered (not retried) while it lives. */
static bool failed_before(struct serve *sv, int pid, bool *alive, size_t nold)
{
	for (size_t i = 0; i < nold; i++)
		if (sv->failed[i] == pid) {
			alive[i] = true;
			return true;
		}
	return false;
}

/*
 * Forget failed processes not seen in this scan (alive[i] for the first
 * nold, which were there before it): the list lasts no longer than they.
 */
static void failed_prune(struct serve *sv, const bool *alive, size_t nold)
{
	size_t k = 0;

	for (size_t i = 0; i < sv->nfailed; i++)
		if (i >= nold || alive[i])
			sv->failed[k++] = sv->failed[i];
	sv->nfailed = k;
}

/* A selected process that could not be traced: said, counted, not tried again while it lives. */
static void comm_failed(struct serve *sv, int pid, const char *err)
{
	int *f;

	log_warn("cannot trace pid %d: %s", pid, err);
	sv->attach_failures++;
	f = vec_push(sv->failed, sv->nfailed, sv->failed_cap);
	if (f)
		*f = pid;
}

/*
 * Processes a scan selected, added at once: one seeding (two walks of the
 * machine's tasks or so, ~1 ms per 1,000 tasks) finds all their threads.
 */
static void add_batch(struct serve *sv, const int *pids, size_t n)
{
	struct starget *ts[ADD_BATCH];
	char err[512], serr[512] = "";
	size_t k = 0;
	long seed;

	fresh_pids(sv, pids, n);
	for (size_t i = 0; i < n && i < ADD_BATCH; i++) {
		if (target_begin(sv, pids[i], true, &ts[k], err, sizeof(err)))
			comm_failed(sv, pids[i], err);
		else
			k++;
	}
	if (!k)
		return;
	seed = session_seed(sv->session, serr, sizeof(serr));
	for (size_t i = 0; i < k; i++) {
		int pid = ts[i]->target.pid;

		snprintf(err, sizeof(err), "%s", serr);
		if (target_finish(sv, ts[i], seed, err, sizeof(err)))
			comm_failed(sv, pid, err);
	}
}

/*
 * --comm, --exe, --cgroup: trace the processes they select that are not
 * traced yet, ADD_BATCH at most per call: each costs a few /proc reads
 * (its maps, its symbols), and a scrape must not wait for a thousand of
 * them. True if more are waiting: call again once the clients have been
 * served.
 */
static bool scan_comms(struct serve *sv)
{
	bool more = false;
	bool *alive = calloc(sv->nfailed + 1, sizeof(*alive));
	size_t nfailed = sv->nfailed, n = 0;
	int pids[ADD_BATCH];
	struct dirent *de;
	DIR *d;

	if (!alive || !(d = opendir("/proc"))) {
		free(alive);
		return false;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid() || traced(sv, (int)pid))
			continue;
		if (!wanted(sv->o, (int)pid) || failed_before(sv, (int)pid, alive, nfailed))
			continue;
		/* The pass goes on to the end: failed_prune() needs to see them all. */
		if (n == ADD_BATCH) {
			more = true;
			continue;
		}
		pids[n++] = (int)pid;
	}
	closedir(d);
	failed_prune(sv, alive, nfailed);
	free(alive);
	add_batch(sv, pids, n);
	return more;
}

static struct prom_cfg prom_cfg_of(const struct serve *sv, const struct rpt_drops *drops)
{
	return (struct prom_cfg){ .max_threads = (size_t)sv->o->max_series,
				  .max_locks = (size_t)sv->o->max_series,
				  .drops = drops };
}

/* The report of session s since it began, into r (snap: its snapshot). 0, or -errno. */
static int report_of(struct serve *sv, struct session *s, struct snapshot *snap, struct report *r)
{
	int ret = session_snapshot(s, snap);

	if (ret)
		return ret;
	session_meta(s, &sv->meta, sv->gil, GIL_MAX_PROCS);
	ret = model_build(r, &sv->meta, snap, NULL);
	if (ret)
		snapshot_free(snap);
	return ret;
}

/* Fold the final report of the ended session old into each target's carry. 0, or -errno. */
static int carry_session(struct serve *sv, struct session *old)
{
	struct prom_cfg cfg = prom_cfg_of(sv, &sv->drops);
	struct snapshot snap;
	struct report r;
	int ret;

	ret = report_of(sv, old, &snap, &r);
	if (ret)
		return ret;
	prom_drops_add(&sv->drops, &r.drops);
	for (size_t i = 0; i < sv->ntargets && !ret; i++)
		ret = prom_carry_fold_pid(&sv->targets[i]->carry, &r, sv->targets[i]->target.pid,
					  &cfg);
	model_free(&r);
	snapshot_free(&snap);
	return ret;
}

/* The targets, into the new session s, seeded. 0, or -errno with err said. */
static int targets_into(struct serve *sv, struct session *s, char *err, size_t errlen)
{
	long seeded;

	for (size_t i = 0; i < sv->ntargets; i++) {
		int ret = session_target_add(s, sv->targets[i]->target.pid, err, errlen);

		if (ret)
			return ret;
	}
	seeded = session_seed(s, err, errlen);
	return seeded < 0 ? (int)seeded : 0;
}

/*
 * Replace the session by a new one: every thread takes a slot for the
 * session's life (and every Python process an entry of its GIL table), so
 * targets that keep creating threads or processes would fill it, and the
 * entries of exited ones are only given back with the session. The new
 * one is loaded first; the old one is detached just before the new one
 * attaches and seeds (a gap of milliseconds, not counted), and its totals
 * are carried into each target's series. 0, or -errno (said, and in
 * sv->fatal: nothing is traced any more, serve stops).
 */
static int replace_session(struct serve *sv)
{
	struct session_cfg cfg = session_cfg_of(sv->o);
	struct session *old = sv->session, *s;
	uint64_t start, start_real;
	char err[512];
	int ret;

	ret = session_open(&s, &cfg, err, sizeof(err));
	if (ret) {
		log_warn("cannot replace the full session: %s", err);
		sv->retry_ns = mono_ns() + 60 * 1000000000ULL;
		return 0;
	}
	session_detach(old);
	ret = session_attach(s, err, sizeof(err));
	if (!ret)
		ret = targets_into(sv, s, err, sizeof(err));
	start = mono_ns();
	start_real = real_ns();
	if (ret) {
		log_error("cannot replace the full session: %s", err);
		session_close(s);
		sv->fatal = ret;
		return ret;
	}
	/* The old session's report with its own start: its window is its life. */
	if (carry_session(sv, old))
		log_warn("the counts of the replaced session are lost");
	session_close(old);
	/*
	 * Loading a session parses the kernel's BTF (megabytes, freed once
	 * loaded): give freed memory back now, so that RSS says what serve
	 * holds rather than how fragmented its heap got.
	 */
	malloc_trim(0);
	sv->meta.trace_start_ns = start;
	sv->meta.trace_start_real_ns = start_real;
	sv->session = s;
	sv->replaced++;
	sv->ngone = 0;
	/* Exited meanwhile: dropped. */
	for (size_t i = sv->ntargets; i-- > 0;)
		if (session_target_seeded(s, sv->targets[i]->target.pid) <= 0)
			target_remove(sv, i);
	session_holds_ready(s, true);
	session_refresh(s);
	log_info("session replaced (%zu processes)", sv->ntargets);
	return 0;
}

/* The session half full (see replace_session): replaced. 0, or -errno. */
static int replace_full(struct serve *sv)
{
	if (!session_half_full(sv->session) || mono_ns() < sv->retry_ns)
		return 0;
	return replace_session(sv);
}

/* The metrics of contrace serve itself. */
static void write_self(FILE *f, const struct serve *sv)
{
	prom_family(f, "contrace_targets", "gauge", "Processes traced now");
	fprintf(f, "contrace_targets %zu\n", sv->ntargets);
	prom_family(f, "contrace_targets_exited_total", "counter",
		    "Traced processes that exited: their probes and maps were released");
	fprintf(f, "contrace_targets_exited_total %llu\n", (unsigned long long)sv->exited);
	prom_family(
		f, "contrace_attach_failures_total", "counter",
		"Processes selected by --comm, --exe or --cgroup that could not be traced (said on stderr)");
	fprintf(f, "contrace_attach_failures_total %llu\n",
		(unsigned long long)sv->attach_failures);
	prom_family(f, "contrace_sessions_replaced_total", "counter",
		    "Sessions replaced for want of thread slots (their counts carried on)");
	fprintf(f, "contrace_sessions_replaced_total %llu\n", (unsigned long long)sv->replaced);
	prom_family(f, "contrace_scrapes_total", "counter", "Scrapes of /metrics answered");
	fprintf(f, "contrace_scrapes_total %llu\n", (unsigned long long)sv->scrapes);
	prom_family(f, "contrace_last_scrape_duration_seconds", "gauge",
		    "Time the previous scrape took to read the probes and write the metrics");
	fputs("contrace_last_scrape_duration_seconds ", f);
	prom_seconds(f, sv->scrape_ns);
	fputc('\n', f);
}

/* The body of /metrics into *buf (malloc'd). 0, or -errno. */
static int scrape(struct serve *sv, char **buf, size_t *len)
{
	struct prom_target *rp = calloc(sv->ntargets + 1, sizeof(*rp));
	struct rpt_drops drops = sv->drops;
	struct prom_cfg cfg = prom_cfg_of(sv, &drops);
	uint64_t t0 = mono_ns();
	struct snapshot snap;
	struct report r;
	FILE *f = NULL;
	int ret = -ENOMEM;

	if (!rp || !(f = open_memstream(buf, len))) {
		free(rp);
		if (f)
			fclose(f);
		return ret;
	}
	/* A process exiting meanwhile is still in the session: it reports until it is reaped. */
	ret = report_of(sv, sv->session, &snap, &r);
	if (!ret) {
		prom_drops_add(&drops, &r.drops);
		for (size_t i = 0; i < sv->ntargets; i++)
			rp[i] = (struct prom_target){ .r = &r,
						      .pid = sv->targets[i]->target.pid,
						      .carry = sv->targets[i]->carry };
		ret = prom_write(f, rp, sv->ntargets, &cfg);
		model_free(&r);
		snapshot_free(&snap);
	}
	sv->scrape_ns = mono_ns() - t0;
	sv->scrapes++;
	if (!ret)
		write_self(f, sv);
	if (fclose(f) && !ret)
		ret = -EIO;
	free(rp);
	return ret;
}

/* The response to send on c: a head and maybe a body (free'd here). */
static void respond(struct conn *c, int status, const char *type, char *body, size_t blen,
		    bool head_only)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (f) {
		fprintf(f,
			"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n%s\r\n",
			status, http_reason(status), type, blen,
			status == 405 ? "Allow: GET, HEAD\r\n" : "");
		if (!head_only && blen)
			fwrite(body, 1, blen, f);
		if (fclose(f)) {
			free(out);
			out = NULL;
			n = 0;
		}
	}
	free(body);
	c->out = out;
	c->nout = out ? n : 0;
	c->sent = 0;
}

static void respond_text(struct conn *c, int status, const char *text, bool head_only)
{
	respond(c, status, "text/plain; charset=utf-8", strdup(text), strlen(text), head_only);
}

/* Route a complete request. */
static void handle(struct serve *sv, struct conn *c, const struct http_req *r)
{
	char msg[128], *body = NULL;
	size_t len = 0;
	int ret;

	if (r->status) {
		snprintf(msg, sizeof(msg), "%d %s\n", r->status, http_reason(r->status));
		respond_text(c, r->status, msg, false);
	} else if (!strcmp(r->path, "/metrics")) {
		ret = scrape(sv, &body, &len);
		if (ret) {
			free(body);
			log_error("scrape failed: %s", strerror(-ret));
			respond_text(c, 500, "scrape failed\n", r->head);
			return;
		}
		respond(c, 200, PROM_CONTENT_TYPE, body, len, r->head);
	} else if (!strcmp(r->path, "/healthz")) {
		snprintf(msg, sizeof(msg), "ok: %zu processes traced\n", sv->ntargets);
		respond_text(c, 200, msg, r->head);
	} else {
		respond_text(c, 404, "not found: try /metrics or /healthz\n", r->head);
	}
}

static void conn_close(struct serve *sv, size_t i)
{
	close(sv->conns[i].fd);
	free(sv->conns[i].out);
	sv->conns[i] = sv->conns[--sv->nconns];
}

static void accept_conns(struct serve *sv)
{
	int fd;

	while ((fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct conn *c;

		/* Full: the newcomer is turned away, those being served go on. */
		if (sv->nconns == MAX_CONNS) {
			close(fd);
			continue;
		}
		c = &sv->conns[sv->nconns++];
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->out = NULL;
		c->nout = c->sent = 0;
		c->deadline = mono_ns() + CONN_TIMEOUT_MS * 1000000ULL;
	}
}

/* Read what c sent, or send it what is due. False when c is done with. */
static bool conn_io(struct serve *sv, struct conn *c, short revents)
{
	struct http_req r;
	ssize_t n;

	if (c->out) {
		n = send(c->fd, c->out + c->sent, c->nout - c->sent, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->sent += (size_t)n;
		return c->sent < c->nout;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return true;
	n = recv(c->fd, c->in + c->nin, sizeof(c->in) - c->nin, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false; /* gone before its request was complete */
	c->nin += (size_t)n;
	if (!http_parse(c->in, c->nin, &r))
		return true;
	handle(sv, c, &r);
	c->deadline = mono_ns() + CONN_TIMEOUT_MS * 1000000ULL;
	return c->out != NULL;
}

static int64_t ms_until(uint64_t now, uint64_t t)
{
	return t > now ? (int64_t)((t - now + 999999) / 1000000) : 0;
}

/* The poll set: signals, listener, the session's events, clients, then each target's pidfd. */
static size_t poll_set(struct serve *sv, struct pollfd *fds)
{
	size_t n = 0;

	fds[n++] = (struct pollfd){ .fd = sv->sigfd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = sv->lfd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = session_events_fd(sv->session), .events = POLLIN };
	for (size_t i = 0; i < sv->nconns; i++)
		fds[n++] = (struct pollfd){ .fd = sv->conns[i].fd,
					    .events = sv->conns[i].out ? POLLOUT : POLLIN };
	for (size_t i = 0; i < sv->ntargets; i++)
		fds[n++] = (struct pollfd){ .fd = sv->targets[i]->target.pidfd, .events = POLLIN };
	return n;
}

/* After poll: clients first (in the order polled), then targets. */
static void poll_done(struct serve *sv, const struct pollfd *fds, size_t nconns, size_t ntargets)
{
	uint64_t now = mono_ns();

	for (size_t i = nconns; i-- > 0;)
		if ((fds[3 + i].revents && !conn_io(sv, &sv->conns[i], fds[3 + i].revents)) ||
		    now > sv->conns[i].deadline)
			conn_close(sv, i);
	for (size_t i = ntargets; i-- > 0;)
		if (fds[3 + nconns + i].revents & (POLLIN | POLLHUP))
			target_remove(sv, i);
	if ((fds[2].revents & POLLIN) && session_consume_events(sv->session))
		session_refresh(sv->session);
	if (fds[1].revents & POLLIN)
		accept_conns(sv);
}

/* Are processes selected by what they are (scanned for), not only by -p? */
static bool selecting(const struct opts *o)
{
	return o->ncomms || o->nexes || o->ncgroups;
}

static int serve_loop(struct serve *sv)
{
	uint64_t now = mono_ns(), next_refresh = now, next_scan = now;
	struct pollfd *fds = NULL;
	size_t cap = 0;

	for (;;) {
		size_t n, nconns, ntargets;
		int64_t timeout;

		if (sv->fatal)
			break;
		now = mono_ns();
		if (selecting(sv->o) && now >= next_scan) {
			/* More to load: after the clients waiting now are served. */
			next_scan = mono_ns() + (scan_comms(sv) ? 0 : SCAN_MS * 1000000ULL);
		}
		if (now >= next_refresh) {
			if (replace_full(sv))
				break;
			session_refresh(sv->session);
			next_refresh = mono_ns() + REFRESH_MS * 1000000ULL;
		}
		nconns = sv->nconns;
		ntargets = sv->ntargets;
		if (vec_reserve(fds, cap, 3 + nconns + ntargets)) {
			free(fds);
			return -ENOMEM;
		}
		n = poll_set(sv, fds);
		timeout = ms_until(mono_ns(), next_refresh);
		if (selecting(sv->o) && ms_until(mono_ns(), next_scan) < timeout)
			timeout = ms_until(mono_ns(), next_scan);
		if (poll(fds, n, (int)timeout) < 0 && errno != EINTR) {
			free(fds);
			return -errno;
		}
		if (fds[0].revents & POLLIN)
			break;
		poll_done(sv, fds, nconns, ntargets);
	}
	free(fds);
	return sv->fatal;
}

/* The report's metadata and the session, loaded and attached. 0, or -1 (said). */
static int serve_meta(struct serve *sv)
{
	char err[512];

	sv->meta.version = CONTRACE_VERSION;
	memcpy(sv->meta.kernel, sv->kernel, sizeof(sv->meta.kernel));
	memcpy(sv->meta.hostname, sv->hostname, sizeof(sv->meta.hostname));
	sv->meta.ncpus = sys_ncpus();
	sv->meta.locks = true;
	sv->meta.holds = sv->o->holds;
	sv->meta.exit_status = -1;
	if (open_session(sv, &sv->session, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* -p targets, all or nothing: a pid that cannot be traced is an error at start. */
static int add_pids(struct serve *sv)
{
	char err[512];

	for (size_t i = 0; i < sv->o->npids; i++) {
		if (traced(sv, sv->o->pids[i]))
			continue;
		if (target_add(sv, sv->o->pids[i], false, err, sizeof(err))) {
			log_error("%s", err);
			return -1;
		}
	}
	return 0;
}

static void serve_free(struct serve *sv)
{
	while (sv->nconns)
		conn_close(sv, sv->nconns - 1);
	for (size_t i = 0; i < sv->ntargets; i++)
		target_free(sv->targets[i]);
	session_close(sv->session);
	free(sv->targets);
	free(sv->failed);
	free(sv->gone);
	if (sv->lfd >= 0)
		close(sv->lfd);
	if (sv->sigfd >= 0)
		close(sv->sigfd);
}

int serve_cmd(const struct opts *o)
{
	static struct serve sv; /* large: the clients' buffers */
	int ret, code = 1;

	memset(&sv, 0, sizeof(sv));
	sv.o = o;
	sv.sigfd = sv.lfd = -1;
	sv.sigfd = stopsig_fd();
	if (sv.sigfd < 0) {
		fprintf(stderr, "contrace: cannot set up signal handling: %s\n",
			strerror(-sv.sigfd));
		return 1;
	}
	log_verbosity = o->verbose > 1 ? 2 : o->verbose;
	session_log_libbpf();
	signal(SIGPIPE, SIG_IGN);
	if (!kernel_may_trace()) {
		log_error(
			"permission denied: contrace must run as root (or with CAP_BPF and CAP_PERFMON)");
		goto out;
	}
	kernel_release(sv.kernel, sizeof(sv.kernel));
	if (gethostname(sv.hostname, sizeof(sv.hostname)))
		strcpy(sv.hostname, "unknown");
	sv.hostname[sizeof(sv.hostname) - 1] = '\0';
	sv.lfd = listen_on(o->listen);
	if (sv.lfd < 0 || serve_meta(&sv) || add_pids(&sv))
		goto out;
	/* Scripts and service managers wait for this line: the metrics are being served. */
	fprintf(stderr, "contrace: serving metrics on http://%s/metrics (%zu processes)\n",
		o->listen, sv.ntargets);
	ret = serve_loop(&sv);
	if (ret)
		log_error("serving failed: %s", strerror(-ret));
	else
		code = 0;
out:
	serve_free(&sv);
	return code;
}
