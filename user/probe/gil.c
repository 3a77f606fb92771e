// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/gil.h"
#include "probe/bpfmap.h"
#include "probe/elfsym.h"
#include "probe/gil.h"
#include "probe/gil_tstate.h"
#include "probe/pyframes.h"
#include "probe/holds.h"
#include "util/log.h"
#include "probe/syscalls.h"
#include "probe/tfile.h"

/* Detection */

/* The interpreter file a process maps: libpython3.X if any, else its python3.X executable. */
struct interp {
	char path[PATH_MAX]; /* as in /proc/PID/maps */
	char base[64];
	uint64_t start0; /* where its offset-0 mapping begins */
	struct proc_map map; /* one of its mappings (map.path is path) */
	bool lib;
};

static int want_interp(struct proc_map *m, void *ctx)
{
	struct interp *in = ctx;
	const char *base;
	bool ft, is_lib;
	char ver[8];

	if (!m->path || m->path[0] != '/')
		return 0;
	base = strrchr(m->path, '/') + 1;
	if (!gil_parse_name(base, ver, sizeof(ver), &ft))
		return 0;
	is_lib = !strncmp(base, "lib", 3);
	if (in->lib && !is_lib)
		return 0;
	if (strcmp(in->path, m->path) || (is_lib && !in->lib)) {
		snprintf(in->path, sizeof(in->path), "%s", m->path);
		snprintf(in->base, sizeof(in->base), "%s", base);
		in->start0 = 0;
		in->map = *m;
		in->map.path = in->path;
	}
	in->lib = is_lib;
	if (m->offset == 0 && !in->start0)
		in->start0 = m->start;
	return 0;
}

static int find_interp(int pid, struct interp *in)
{
	int ret;

	memset(in, 0, sizeof(*in));
	ret = proc_maps_each(pid, want_interp, in);
	if (ret)
		return ret;
	return in->path[0] ? 0 : -ENOENT;
}

struct gil_syms {
	uint64_t runtime; /* _PyRuntime */
	uint64_t take[2]; /* take_gil and a clone (take_gil.constprop.0) */
	uint64_t drop;
	bool clones_only; /* no take_gil/drop_gil, but LTO clones of them (Debian's build) */
};

static int want_sym(const char *name, const GElf_Sym *sym, int hidden, void *ctx)
{
	struct gil_syms *s = ctx;
	int type = GELF_ST_TYPE(sym->st_info);

	(void)hidden;
	if (type == STT_OBJECT && !strcmp(name, "_PyRuntime"))
		s->runtime = sym->st_value;
	/* A function's cold part (drop_gil.lto_priv.0.cold) is no entry point. */
	if (type != STT_FUNC || strstr(name, ".cold"))
		return 0;
	if (!strcmp(name, "take_gil"))
		s->take[0] = sym->st_value;
	else if (!strncmp(name, "take_gil.", 9) && sym->st_value != s->take[0])
		s->take[1] = sym->st_value;
	else if (!strcmp(name, "drop_gil"))
		s->drop = sym->st_value;
	else if (!strncmp(name, "drop_gil.", 9))
		s->clones_only = true;
	return 0;
}

/* Read the GIL struct's head in the target: interval (us), last_holder, locked. */
static bool gil_valid(int pid, uint64_t addr, uint64_t *interval)
{
	uint64_t head[3];
	struct iovec local = { head, sizeof(head) }, remote = { (void *)addr, sizeof(head) };

	if (!addr || process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(head))
		return false;
	/* locked: 0 or 1; -1 before 3.9 until the first thread starts (GIL not created yet). */
	if (!head[0] || head[0] > 10000000 || head[1] >= 0x800000000000ULL ||
	    ((uint32_t)head[2] > 1 && (uint32_t)head[2] != UINT32_MAX))
		return false;
	*interval = head[0];
	return true;
}

/* Where the GIL is (a supported version); 0 until the interpreter has set its runtime up. */
static uint64_t find_gil(int pid, const char *version, uint64_t runtime, uint64_t *interval)
{
	uint64_t off = gil_runtime_offset(version);

	return off && gil_valid(pid, runtime + off, interval) ? runtime + off : 0;
}

/* No uprobes: --gil=futex. */
static bool futex_only(const struct gil *g)
{
	return g->mode == GIL_FUTEX;
}

/* Tier C first: the default. */
static bool futex_first(const struct gil *g)
{
	return g->mode == GIL_AUTO || g->mode == GIL_FUTEX;
}

/* The exact tiers, A where symbols allow, else B, else C: --gil=uprobe. */
static bool exact_first(const struct gil *g)
{
	return g->mode == GIL_UPROBE;
}

/*
 * The uprobe tiers' price, once (as --holds does): each GIL release and
 * re-take of the target goes through 3 (tier A) or 5 (tier B) uprobe hits
 * (docs/performance.md, "CPython's GIL": +1.83 and +5.08 us per os.read).
 */
static void say_cost(struct gil *g, const struct gil_proc *p)
{
	/* Said when asked for (--gil=uprobe, libc), and when the default falls back to them. */
	if (g->cost_said)
		return;
	g->cost_said = true;
	if (p->info.tier == RPT_GIL_UPROBES)
		log_warn(
			"--gil: uprobes on take_gil and drop_gil in %s add about 1.8 us to each GIL release and re-take of pid %d (a thread doing small I/O calls may run several times slower; measured on a VM); the default, --gil=futex, adds nothing",
			p->info.file, p->info.pid);
	else
		log_warn(
			"--gil: uprobes in the C library's pthread_mutex_lock, pthread_mutex_unlock and pthread_cond_signal add about 5 us to each GIL release and re-take of pid %d (a thread doing small I/O calls may run many times slower; measured on a VM); the default, --gil=futex, adds nothing",
			p->info.pid);
}

/*
 * A uprobe for process pid. The kernel places it in the memory of the
 * thread it is attached to: a live one (a main thread that has exited has
 * none).
 */
static struct bpf_link *probe(struct bpf_program *prog, bool ret, int pid, const char *path,
			      uint64_t off)
{
	int tid = proc_live_tid(pid);

	return off ? bpf_program__attach_uprobe(prog, ret, tid < 0 ? pid : tid, path, (size_t)off) :
		     NULL;
}

static int attach_tier_a(struct gil *g, struct gil_proc *p, const char *path,
			 const struct elfsym *e, const struct gil_syms *s)
{
	uint64_t take0 = elfsym_file_offset(e, s->take[0], 1);
	uint64_t take1 = s->take[1] ? elfsym_file_offset(e, s->take[1], 1) : 0;
	uint64_t drop = elfsym_file_offset(e, s->drop, 1);
	int pid = p->info.pid, n = 0;

	if (!take0 || !drop)
		return -ENOENT;
	/* Releases first, returns before entries: a take seen is seen to its end. */
	p->links[n++] = probe(g->drop, false, pid, path, drop);
	p->links[n++] = probe(g->taken, true, pid, path, take0);
	if (take1)
		p->links[n++] = probe(g->taken, true, pid, path, take1);
	p->links[n++] = probe(g->take, false, pid, path, take0);
	if (take1)
		p->links[n++] = probe(g->take, false, pid, path, take1);
	for (int i = 0; i < n; i++) {
		if (!p->links[i]) {
			int ret = -errno;

			for (int j = 0; j < n; j++)
				bpf_link__destroy(p->links[j]);
			memset(p->links, 0, sizeof(p->links));
			return ret ? ret : -EINVAL;
		}
	}
	return 0;
}

static int want_signal(const char *name, const GElf_Sym *sym, int hidden, void *ctx)
{
	if (!hidden && GELF_ST_TYPE(sym->st_info) == STT_FUNC &&
	    !strcmp(name, "pthread_cond_signal"))
		*(uint64_t *)ctx = sym->st_value;
	return 0;
}

/*
 * Tells the BPF side that the process has a GIL, at its address if known
 * yet: tier B's probes filter on it, and a process the process forks starts
 * out with its thread holding the GIL. 0 or -errno.
 */
static int mark_gil(struct gil *g, const struct gil_proc *p)
{
	struct ct_gil_addrs a = { 0 };
	uint32_t tgid = (uint32_t)p->info.pid;

	/* The last forced switch request stays (a hold open now compares it). */
	if (bpf_map_lookup_elem(g->addrs_fd, &tgid, &a))
		a.ask_ts = 0;
	a = (struct ct_gil_addrs){ .futex = p->info.tier == RPT_GIL_FUTEX,
				   .ask_ts = a.ask_ts,
				   .tid_off = gil_tstate_tid_offset(p->info.version) };
	if (p->info.addr) {
		a.mutex = p->info.addr + 80;
		a.cond = p->info.addr + 32;
	}
	/* --stacks: the BPF side walks its threads' Python frames, found by their thread states. */
	if (g->py) {
		a.py_layout = pyframes_layout(p->info.version);
		if (a.py_layout && pyframes_add_process(g->py, p->info.pid, p->info.version))
			a.py_layout = 0;
		if (a.py_layout && p->runtime)
			gil_tstate_refresh(g->tstates_fd, p->info.pid, p->info.version, p->runtime);
	}
	if (bpf_map_update_elem(g->addrs_fd, &tgid, &a, BPF_ANY))
		return -errno;
	/* After the update: a thread that sees the new generation reads the new entry. */
	__atomic_fetch_add(g->addrs_gen, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * Tier B: the GIL's mutex (G+80) and condition variable (G+32) in the
 * target's C library calls. Needs the GIL's address. 0, or -errno with
 * p->info.why said.
 */
/*
 * Tier B's three uprobes on the C library open at f (path: for messages):
 * pthread_cond_signal's entry and --holds' two sites. 0, or -errno with err
 * said.
 */
static int probe_libc(struct gil *g, struct gil_proc *p, const struct tfile *f, const char *path,
		      char *err, size_t errlen)
{
	struct holds_sites sites;
	uint64_t signal = 0, signal_off;
	struct elfsym e;
	int ret, pid = p->info.pid;

	ret = holds_find_sites(f->fd, path, &sites, err, errlen);
	if (!ret && !sites.unlock_emulated) {
		snprintf(err, errlen,
			 "pthread_mutex_unlock in %s starts with a single-stepped instruction",
			 path);
		ret = -ENOTSUP;
	}
	if (!ret)
		ret = elfsym_open(&e, f->fd, path, err, errlen);
	if (ret)
		return ret;
	elfsym_each(&e, SHT_DYNSYM, want_signal, &signal);
	signal_off = signal ? elfsym_file_offset(&e, signal, 1) : 0;
	elfsym_close(&e);
	if (!signal_off) {
		snprintf(err, errlen, "%s has no pthread_cond_signal", path);
		return -ENOENT;
	}
	p->links[0] = probe(g->signal, false, pid, f->probe_path, signal_off);
	p->links[1] = probe(g->unlock, false, pid, f->probe_path, sites.unlock_off);
	p->links[2] = probe(g->lock, false, pid, f->probe_path, sites.lock_off);
	for (int i = 0; i < 3; i++) {
		if (!p->links[i]) {
			ret = errno ? -errno : -EINVAL;
			snprintf(err, errlen, "cannot attach uprobes to %s: %s", path,
				 strerror(-ret));
			for (int j = 0; j < 3; j++)
				bpf_link__destroy(p->links[j]);
			memset(p->links, 0, sizeof(p->links));
			return ret;
		}
	}
	return 0;
}

static int attach_tier_b(struct gil *g, struct gil_proc *p, char *err, size_t errlen)
{
	struct holds_libc lib;
	struct tfile f = { .fd = -1 };
	int ret, pid = p->info.pid;

	ret = holds_find_libc(pid, &lib);
	if (ret) {
		snprintf(err, errlen, "no C library mapped");
		goto out;
	}
	ret = tfile_open(&f, pid, &lib.map, err, errlen);
	if (ret)
		goto out;
	tfile_warn(&f, "GIL", pid, lib.path);
	ret = mark_gil(g, p);
	if (ret) {
		snprintf(err, errlen, "GIL address table: %s", strerror(-ret));
		goto out;
	}
	ret = probe_libc(g, p, &f, lib.path, err, errlen);
	if (ret)
		goto out;
	tfile_close(&f);
	p->info.tier = RPT_GIL_LIBC;
	say_cost(g, p);
	p->info.why[0] = 0;
	return 0;
out:
	tfile_close(&f);
	snprintf(p->info.why, sizeof(p->info.why), "C library probes: %s", err);
	return ret;
}

/*
 * Tier C: no uprobes. Needs the GIL's address and the interpreter's list of
 * thread states, read again at every refresh. 0, or -errno with
 * p->info.why said.
 */
static int attach_tier_c(struct gil *g, struct gil_proc *p, char *err, size_t errlen)
{
	int ret;

	if (!gil_tstate_known(p->info.version)) {
		snprintf(err, errlen, "no thread state layout known for Python %s",
			 p->info.version);
		ret = -ENOTSUP;
		goto out;
	}
	/*
	 * No interpreter yet (-ENOENT): its threads are read at the next
	 * refresh. Gone already (-ESRCH): nothing to say.
	 */
	ret = gil_tstate_refresh(g->tstates_fd, p->info.pid, p->info.version, p->runtime);
	if (ret < 0 && ret != -ENOENT && ret != -ESRCH) {
		snprintf(err, errlen, "cannot read the interpreter's threads: %s", strerror(-ret));
		goto out;
	}
	p->info.tier = RPT_GIL_FUTEX;
	ret = mark_gil(g, p);
	if (ret) {
		p->info.tier = RPT_GIL_NONE;
		snprintf(err, errlen, "GIL address table: %s", strerror(-ret));
		goto out;
	}
	*g->futex_on = 1;
	p->info.why[0] = 0;
	return 0;
out:
	snprintf(p->info.why, sizeof(p->info.why), "futex tier: %s", err);
	return ret;
}

/*
 * Tier C (the default, --gil=futex), or where it cannot be (the default),
 * tier B; for --gil=uprobe and libc, tier B, or where it cannot be
 * (--gil=uprobe), tier C. 1, or -1 with err said.
 */
static int attach_stripped(struct gil *g, struct gil_proc *p, char *err, size_t errlen)
{
	char why[sizeof(p->info.why)];

	if (futex_first(g)) {
		if (!attach_tier_c(g, p, err, errlen))
			return 1;
		if (futex_only(g))
			return -1;
		snprintf(why, sizeof(why), "%s", p->info.why);
		log_info("GIL of pid %d: %s: probing the C library's calls instead", p->info.pid,
			 why);
		if (!attach_tier_b(g, p, err, errlen))
			return 1;
		snprintf(err, errlen, "%s; %s", why, p->info.why);
		snprintf(p->info.why, sizeof(p->info.why), "%s", err);
		return -1;
	}
	if (!attach_tier_b(g, p, err, errlen))
		return 1;
	if (!exact_first(g))
		return -1;
	snprintf(why, sizeof(why), "%s", p->info.why);
	if (!attach_tier_c(g, p, err, errlen)) {
		/* The report then shows tier C without a reason: -v says it. */
		log_info("GIL of pid %d: %s: following its futex words instead", p->info.pid, why);
		return 1;
	}
	snprintf(err, errlen, "%s; %s", why, p->info.why);
	snprintf(p->info.why, sizeof(p->info.why), "%s", err);
	return -1;
}

/*
 * Whether a probed process has execve'd since (the same interpreter again,
 * mapped where it was: a non-PIE executable): the BPF side marks its GIL
 * table entry, which every probed process has, at the exec.
 */
/* Keep a link of a former image for gil_detach() (now, if there are too many). */
static void bury(struct gil *g, struct bpf_link *link)
{
	if (!link)
		return;
	if (g->ndead == GIL_MAX_DEAD)
		bpf_link__destroy(link);
	else
		g->dead[g->ndead++] = link;
}

static bool image_replaced(const struct gil *g, const struct gil_proc *p)
{
	struct ct_gil_addrs a;
	uint32_t tgid = (uint32_t)p->info.pid;

	return !bpf_map_lookup_elem(g->addrs_fd, &tgid, &a) && a.exec;
}

/* A process probed before, with the same interpreter file: follow its execve and GIL. */
static int gil_again(struct gil *g, struct gil_proc *p, const struct interp *in, char *err,
		     size_t errlen)
{
	int pid = p->info.pid;

	/*
	 * The same interpreter execve'd again: its uprobes stay (they
	 * follow the file into the new image), its runtime moves.
	 */
	if (image_replaced(g, p)) {
		p->runtime = p->runtime_off && in->start0 ? in->start0 + p->runtime_off : 0;
		p->info.addr = 0;
		p->remark = true;
	}
	/* Probed before the interpreter set its runtime up: look again. */
	if (!p->info.addr && p->runtime) {
		p->info.addr = find_gil(pid, p->info.version, p->runtime, &p->info.interval_us);
		if (p->info.addr && (p->remark || p->info.tier == RPT_GIL_UPROBES)) {
			mark_gil(g, p);
			p->remark = false;
		}
	}
	if (p->pending_libc && p->info.addr) {
		p->pending_libc = false;
		return attach_stripped(g, p, err, errlen);
	}
	/* Threads come and go: keep their thread states known. */
	if (p->info.tier == RPT_GIL_FUTEX || g->py)
		gil_tstate_refresh(g->tstates_fd, pid, p->info.version, p->runtime);
	return 0;
}

/* The entry for a new Python process (or NULL: the table is full of live ones). */
static struct gil_proc *new_proc(struct gil *g, int pid)
{
	struct gil_proc *p = NULL;

	/* Full: the entry of a Python process that has exited is reused. */
	for (size_t i = 0; g->n == GIL_MAX_PROCS && i < g->n && !p; i++)
		if (kill(g->procs[i].info.pid, 0) && errno == ESRCH)
			p = &g->procs[i];
	if (!p && g->n == GIL_MAX_PROCS) {
		if (!g->full_said)
			log_warn(
				"more than %d Python processes at once: the GIL of pid %d and later ones is not followed",
				GIL_MAX_PROCS, pid);
		g->full_said = true;
		return NULL;
	}
	return p ? p : &g->procs[g->n++];
}

/* Choose the tier for the interpreter open as e, and place it. 1, or -errno with err said. */
static int gil_place(struct gil *g, struct gil_proc *p, const struct tfile *f,
		     const struct elfsym *e, const struct gil_syms *syms, char *err, size_t errlen)
{
	int ret = 1;

	if (!exact_first(g) || !syms->take[0] || !syms->drop) {
		/* Tiers B and C: need the GIL's address, which may come at a later refresh. */
		snprintf(p->info.why, sizeof(p->info.why), "%s",
			 syms->runtime ? "the GIL was not found in the process's memory" :
					 "no _PyRuntime symbol: the GIL cannot be found");
		p->pending_libc = syms->runtime != 0;
		if (p->info.addr) {
			p->pending_libc = false;
			ret = attach_stripped(g, p, err, errlen);
		} else if (p->pending_libc) {
			/*
			 * Marked now, its GIL's address unknown (0): a fork before the
			 * next refresh finds it (multiprocessing forks its workers
			 * within 200 ms of the start), and its child starts out
			 * holding its GIL.
			 */
			mark_gil(g, p);
		}
	} else {
		ret = attach_tier_a(g, p, f->probe_path, e, syms);
		if (ret) {
			snprintf(err, errlen, "cannot attach uprobes to %s in pid %d: %s",
				 p->info.file, p->info.pid, strerror(-ret));
			snprintf(p->info.why, sizeof(p->info.why), "%s", err);
		} else {
			p->info.tier = RPT_GIL_UPROBES;
			say_cost(g, p);
			ret = 1;
			/* Full table: only forks of this process start out unseen. */
			mark_gil(g, p);
		}
	}
	return ret;
}

/*
 * A stripped interpreter (Debian's /usr/bin/python3.11) with its debug file
 * installed (python3.11-dbg): take_gil and drop_gil from that file's
 * .symtab, found as the symbolizer finds it (tfile_debug_open()), so that
 * it gets tier A as a build with symbols does.
 */
static void debug_syms(int pid, const struct interp *in, const struct elfsym *e,
		       struct gil_syms *syms)
{
	struct tfile_debug d = { .path = in->path };
	char bid[64] = "", link[256], found[256], want[256], err[128];
	struct elfsym dbg;
	int rootfd, fd;

	if (syms->drop || elfsym_has_symtab(e->elf))
		return;
	if (!elfsym_build_id(e->elf, bid, sizeof(bid)))
		d.build_id = bid;
	if (!elfsym_debuglink(e->elf, link, sizeof(link), &d.crc))
		d.link = link;
	rootfd = tfile_root(pid);
	fd = tfile_debug_open(rootfd, &d, found, sizeof(found), want, sizeof(want));
	if (rootfd >= 0)
		close(rootfd);
	if (fd < 0)
		return;
	if (!elfsym_open(&dbg, fd, found, err, sizeof(err))) {
		elfsym_each(&dbg, SHT_SYMTAB, want_sym, syms);
		elfsym_close(&dbg);
	}
	close(fd);
}

/* Read the interpreter's symbols and GIL, and probe it. 1, or -errno with err said. */
static int gil_probe(struct gil *g, struct gil_proc *p, const struct interp *in, char *err,
		     size_t errlen)
{
	struct gil_syms syms = { 0 };
	int ret, pid = p->info.pid;
	struct elfsym e;
	struct tfile f;

	ret = tfile_open(&f, pid, &in->map, err, errlen);
	if (ret) {
		snprintf(p->info.why, sizeof(p->info.why), "%s", err);
		return ret;
	}
	tfile_warn(&f, "GIL", pid, in->path);
	ret = elfsym_open(&e, f.fd, in->path, err, errlen);
	if (ret) {
		snprintf(p->info.why, sizeof(p->info.why), "%s", err);
		tfile_close(&f);
		return ret;
	}
	elfsym_each(&e, SHT_SYMTAB, want_sym, &syms);
	if (!syms.runtime)
		elfsym_each(&e, SHT_DYNSYM, want_sym, &syms);
	debug_syms(pid, in, &e, &syms);
	/*
	 * Debian's LTO build has only take_gil.lto_priv.0 and drop_gil.lto_priv.0:
	 * private clones whose arguments GCC may have moved (tier A's probes read
	 * them). Measured on python3.11 with python3.11-dbg: holds 5% of the time
	 * against 93% from tier B. So tier B for them.
	 */
	syms.clones_only = syms.clones_only && (!syms.take[0] || !syms.drop);
	if (syms.runtime && in->start0) {
		p->runtime = in->start0 - elfsym_first_vaddr(&e) + syms.runtime;
		p->runtime_off = p->runtime - in->start0;
		p->info.addr = find_gil(pid, p->info.version, p->runtime, &p->info.interval_us);
	}
	ret = gil_place(g, p, &f, &e, &syms, err, errlen);
	elfsym_close(&e);
	tfile_close(&f);
	return ret;
}

void gil_note_exec(struct gil *g, int pid)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->procs[i].info.pid == pid)
			g->procs[i].execd = true;
}

int gil_attach(struct gil *g, int pid, char *err, size_t errlen)
{
	struct gil_proc *p = NULL;
	struct interp in;
	uint64_t dev;

	if (!g->enabled)
		return 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->procs[i].info.pid == pid)
			p = &g->procs[i];
	if (find_interp(pid, &in))
		return 0; /* not Python (or gone) */
	/* The file as the process maps it: no path of the target's is looked up for this. */
	dev = makedev(in.map.dev_major, in.map.dev_minor);
	if (p && p->dev == dev && p->ino == in.map.inode) {
		p->execd = false;
		return gil_again(g, p, &in, err, errlen);
	}
	/*
	 * Another file, no execve: an exiting process unmaps its libpython
	 * before its executable. What was found stays. (A file found before
	 * the dynamic loader mapped libpython gave no tier: looked at again.)
	 */
	if (p && !p->execd && (p->info.tier != RPT_GIL_NONE || p->pending_libc))
		return 0;
	if (!p)
		p = new_proc(g, pid);
	if (!p)
		return 0;
	/*
	 * A new process, or a new interpreter after an execve: the old probes
	 * no longer fire. Removing a uprobe takes 100 ms or more: after the
	 * report, not now, while the new interpreter's threads start.
	 */
	for (int j = 0; j < GIL_MAX_LINKS; j++)
		bury(g, p->links[j]);
	memset(p, 0, sizeof(*p));
	p->info.pid = pid;
	p->dev = dev;
	p->ino = in.map.inode;
	snprintf(p->info.file, sizeof(p->info.file), "%s", in.base);
	gil_parse_name(in.base, p->info.version, sizeof(p->info.version), &p->info.free_threaded);
	if (p->info.free_threaded) {
		snprintf(p->info.why, sizeof(p->info.why), "free-threaded build: no GIL");
		return 1;
	}
	/*
	 * 2.7, 3.6 and 3.7 keep the GIL elsewhere with other fields (3.6 was
	 * read as "held 42.9%" from the wrong struct); 3.14 is not known yet.
	 */
	if (!gil_version_supported(p->info.version)) {
		snprintf(p->info.why, sizeof(p->info.why),
			 "CPython %s: GIL analysis not supported (" GIL_VERSIONS " are)",
			 p->info.version);
		return 1;
	}
	return gil_probe(g, p, &in, err, errlen);
}

void gil_detach(struct gil *g)
{
	for (size_t i = 0; i < g->n; i++) {
		for (int j = 0; j < GIL_MAX_LINKS; j++)
			bpf_link__destroy(g->procs[i].links[j]);
		memset(g->procs[i].links, 0, sizeof(g->procs[i].links));
	}
	for (size_t i = 0; i < g->ndead; i++)
		bpf_link__destroy(g->dead[i]);
	g->ndead = 0;
}

size_t gil_infos(const struct gil *g, struct rpt_gil_info *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n && n < max; i++)
		out[n++] = g->procs[i].info;
	return n;
}

/* Snapshots */

int gil_read(struct snapshot *s, int hists_fd)
{
	struct ct_gil_hist *vals;
	uint32_t *keys;
	size_t n;
	int ret;

	ret = bpfmap_dump(hists_fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals,
			  &n);
	if (ret)
		return ret;
	s->gilhists = n ? calloc(n, sizeof(*s->gilhists)) : NULL;
	if (n && !s->gilhists) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		s->gilhists[i].slot = keys[i];
		s->gilhists[i].h = vals[i];
	}
	s->ngilhists = n;
	if (n)
		qsort(s->gilhists, n, sizeof(*s->gilhists), snapshot_cmp_gilhist);
out:
	free(keys);
	free(vals);
	return ret;
}

bool gil_parse_name(const char *base, char *version, size_t len, bool *free_threaded)
{
	const char *p = base;
	int major, minor = 0, digits = 0;

	if (!strncmp(p, "lib", 3))
		p += 3;
	/* python2.7 too: named in the report as a version not supported. */
	if (strncmp(p, "python3.", 8) && strncmp(p, "python2.", 8))
		return false;
	major = p[6] - '0';
	p += 8;
	while (isdigit((unsigned char)*p) && digits < 3) {
		minor = minor * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || isdigit((unsigned char)*p))
		return false;
	*free_threaded = *p == 't';
	if (*p == 't')
		p++;
	/* python3.11, python3.11d, libpython3.11.so.1.0, libpython3.7m.so */
	if (*p && *p != '.' && *p != 'd' && *p != 'm')
		return false;
	snprintf(version, len, "%d.%d", major, minor);
	return true;
}

uint64_t gil_runtime_offset(const char *version)
{
	/* &_PyRuntime to its GIL struct (3.12+: the main interpreter's _gil). */
	static const struct {
		const char *version;
		uint64_t off;
	} table[] = {
		{ "3.8", 1152 }, { "3.9", 352 },    { "3.10", 352 },
		{ "3.11", 360 }, { "3.12", 77432 }, { "3.13", 96104 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].version, version))
			return table[i].off;
	return 0;
}
