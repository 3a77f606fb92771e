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

#include "bpfmap.h"
#include "elfsym.h"
#include "gil.h"
#include "gil_tstate.h"
#include "holds.h"
#include "log.h"
#include "syscalls.h"
#include "tfile.h"

/* Detection */

bool gil_parse_name(const char *base, char *version, size_t len, bool *free_threaded)
{
	const char *p = base;
	int minor = 0, digits = 0;

	if (!strncmp(p, "lib", 3))
		p += 3;
	if (strncmp(p, "python3.", 8))
		return false;
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
	snprintf(version, len, "3.%d", minor);
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
};

static int want_sym(const char *name, const GElf_Sym *sym, int hidden, void *ctx)
{
	struct gil_syms *s = ctx;
	int type = GELF_ST_TYPE(sym->st_info);

	(void)hidden;
	if (type == STT_OBJECT && !strcmp(name, "_PyRuntime"))
		s->runtime = sym->st_value;
	if (type != STT_FUNC)
		return 0;
	if (!strcmp(name, "take_gil"))
		s->take[0] = sym->st_value;
	else if (!strncmp(name, "take_gil.", 9) && sym->st_value != s->take[0])
		s->take[1] = sym->st_value;
	else if (!strcmp(name, "drop_gil"))
		s->drop = sym->st_value;
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

/*
 * Where the GIL is: the table's offset for the version; for a version the
 * table does not know, any of the table's offsets whose struct looks right.
 * 0 until the interpreter has set its runtime up (then asked again).
 */
static uint64_t find_gil(int pid, const char *version, uint64_t runtime, uint64_t *interval)
{
	static const char *const versions[] = { "3.8", "3.9", "3.11", "3.12", "3.13" };
	uint64_t off = gil_runtime_offset(version);

	if (off)
		return gil_valid(pid, runtime + off, interval) ? runtime + off : 0;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		off = gil_runtime_offset(versions[i]);
		if (gil_valid(pid, runtime + off, interval))
			return runtime + off;
	}
	return 0;
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
	struct ct_gil_addrs a = { .futex = p->info.tier == RPT_GIL_FUTEX };
	uint32_t tgid = (uint32_t)p->info.pid;

	if (p->info.addr) {
		a.mutex = p->info.addr + 80;
		a.cond = p->info.addr + 32;
	}
	return bpf_map_update_elem(g->addrs_fd, &tgid, &a, BPF_ANY) ? -errno : 0;
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

/* Tier B, or where it cannot be (--gil=auto), tier C. 1, or -1 with err said. */
static int attach_stripped(struct gil *g, struct gil_proc *p, char *err, size_t errlen)
{
	char why[sizeof(p->info.why)];

	if (g->mode == GIL_FUTEX)
		return attach_tier_c(g, p, err, errlen) ? -1 : 1;
	if (!attach_tier_b(g, p, err, errlen))
		return 1;
	if (g->mode != GIL_AUTO)
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
	if (p->info.tier == RPT_GIL_FUTEX)
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

	if (g->mode == GIL_LIBC || g->mode == GIL_FUTEX ||
	    (g->mode == GIL_AUTO && (!syms->take[0] || !syms->drop))) {
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
	} else if (!syms->take[0] || !syms->drop) {
		snprintf(p->info.why, sizeof(p->info.why),
			 "%s has no take_gil/drop_gil symbols (stripped build)", p->info.file);
	} else {
		ret = attach_tier_a(g, p, f->probe_path, e, syms);
		if (ret) {
			snprintf(err, errlen, "cannot attach uprobes to %s in pid %d: %s",
				 p->info.file, p->info.pid, strerror(-ret));
			snprintf(p->info.why, sizeof(p->info.why), "%s", err);
		} else {
			p->info.tier = RPT_GIL_UPROBES;
			ret = 1;
			/* Full table: only forks of this process start out unseen. */
			mark_gil(g, p);
		}
	}
	return ret;
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

static int cmp_hist(const void *a, const void *b)
{
	const struct snap_gilhist *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

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
		qsort(s->gilhists, n, sizeof(*s->gilhists), cmp_hist);
out:
	free(keys);
	free(vals);
	return ret;
}

static const struct snap_gilhist *find_hist(const struct snapshot *s, uint32_t slot)
{
	struct snap_gilhist key = { .slot = slot };

	if (!s || !s->ngilhists)
		return NULL;
	return bsearch(&key, s->gilhists, s->ngilhists, sizeof(key), cmp_hist);
}

/* Model */

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static const struct rpt_gil_info *info_of(const struct report_meta *m, uint32_t pid)
{
	for (size_t i = 0; i < m->ngil; i++)
		if ((uint32_t)m->gil[i].pid == pid)
			return &m->gil[i];
	return NULL;
}

/*
 * Waits of a thread on the GIL's condition variable that a timer ended:
 * forced switch requests. Per word of [G+32, G+80), one lookup of the
 * edge (thread, timer) in the sorted edges: a scan of every edge per
 * thread was quadratic.
 */
static uint64_t forced_of(const struct snapshot *s, const struct rpt_gil_info *gi, uint32_t tid)
{
	struct ct_edge_key k = { .tgid = (uint32_t)gi->pid, .waiter = tid, .holder = CT_WAKER_IRQ };
	const struct snap_edge *e;
	uint64_t n = 0;

	if (!s || !gi->addr)
		return 0;
	for (size_t i = snapshot_edge_from(s, k.tgid, gi->addr + CT_GIL_COND); i < s->nedges;
	     i = snapshot_edge_from(s, k.tgid, k.uaddr + 1)) {
		k.uaddr = s->edges[i].key.uaddr;
		if (s->edges[i].key.tgid != k.tgid || k.uaddr >= gi->addr + CT_GIL_MUTEX)
			break;
		e = snapshot_find_edge(s, &k);
		if (e)
			n += e->val.waits;
	}
	return n;
}

static void thread_gil(struct rpt_thread *rt, const struct rpt_gil_info *gi,
		       const struct snapshot *cur, const struct snapshot *prev)
{
	const struct ct_thread *c = &cur->threads[rt->slot];
	const struct ct_thread *o = prev && rt->slot < prev->nthreads ? &prev->threads[rt->slot] :
									NULL;
	const struct snap_gilhist *hc = find_hist(cur, rt->slot), *ho = find_hist(prev, rt->slot);
	struct rpt_thread_gil *g = &rt->gil;
	struct hist h = { 0 };
	uint64_t accounted;

	/* A slot reused by another thread since prev: nothing of it counts. */
	if (o && o->tid != c->tid)
		o = NULL;
	g->seen = c->gil_state != CT_GIL_UNKNOWN;
	if (!g->seen)
		return;
	g->hold_ns = sub(c->gil_hold_ns, o ? o->gil_hold_ns : 0);
	g->hold_max = c->gil_hold_max;
	g->wait_ns = sub(c->gil_wait_ns, o ? o->gil_wait_ns : 0);
	g->wait_max = c->gil_wait_max;
	g->takes = sub(c->gil_takes, o ? o->gil_takes : 0);
	g->waits = sub(c->gil_waits, o ? o->gil_waits : 0);
	g->rel_ns = sub(c->gil_rel_ns, o ? o->gil_rel_ns : 0);
	g->rel_runq_ns = sub(c->gil_rel_runq_ns, o ? o->gil_rel_runq_ns : 0);
	g->rel_blocked_ns = sub(c->gil_rel_blocked_ns, o ? o->gil_rel_blocked_ns : 0);
	accounted = g->rel_runq_ns + g->rel_blocked_ns;
	g->rel_oncpu_ns = sub(g->rel_ns, accounted);
	if (hc)
		hist_add_u32(&g->wait_hist, hc->h.wait);
	if (hc && ho && o) {
		hist_add_u32(&h, ho->h.wait);
		hist_sub(&g->wait_hist, &h);
	}
	g->forced = sub(forced_of(cur, gi, rt->tid), o ? forced_of(prev, gi, rt->tid) : 0);
}

static int cmp_sys_blocked(const void *a, const void *b)
{
	const struct rpt_syscall *x = a, *y = b;

	if (x->blocked_ns != y->blocked_ns)
		return x->blocked_ns > y->blocked_ns ? -1 : 1;
	return x->nr - y->nr;
}

static void say(struct rpt_gil *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct rpt_gil *g, const char *fmt, ...)
{
	va_list ap;

	if (g->nverdicts == RPT_VERDICTS)
		return;
	va_start(ap, fmt);
	vsnprintf(g->verdicts[g->nverdicts++], RPT_VERDICT_LEN, fmt, ap);
	va_end(ap);
}

/*
 * Findings about single threads take at most RPT_VERDICTS - 1 lines: the
 * last is kept for the process's verdict (five threads blocked while
 * holding the GIL used to crowd it out in silence). Findings past the last
 * of their lines are counted in it instead.
 */
#define THREAD_LINES (RPT_VERDICTS - 1)

static void say_thread(struct rpt_gil *g, size_t *found, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say_thread(struct rpt_gil *g, size_t *found, const char *fmt, ...)
{
	va_list ap;

	if (++*found > THREAD_LINES) {
		snprintf(
			g->verdicts[THREAD_LINES - 1], RPT_VERDICT_LEN,
			"%zu more findings about single threads are left out (a GIL held while blocked in a syscall, a long hold, an event loop's stall)",
			*found - (THREAD_LINES - 1));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(g->verdicts[g->nverdicts++], RPT_VERDICT_LEN, fmt, ap);
	va_end(ap);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

static bool is_epoll(int nr)
{
	return nr == CT_NR_EPOLL_WAIT || nr == CT_NR_EPOLL_PWAIT || nr == CT_NR_EPOLL_PWAIT2;
}

/*
 * An asyncio-style event loop (a thread that blocks in epoll_wait with the
 * GIL released) that also blocks in other syscalls (time.sleep, file I/O):
 * each such call stalls every task of the loop. futex is left out (a
 * run_in_executor future, a lock).
 */
#define LOOP_MIN_POLLS 5
#define LOOP_MIN_BLOCKED_NS 20000000ULL

static void event_loops(struct rpt_gil *g, const struct rpt_process *p, size_t *found)
{
	char sys[32];

	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];
		const struct rpt_syscall *worst = NULL;
		uint64_t polls = 0, blocked = 0;

		for (size_t j = 0; j < t->gil.nrel_sys; j++) {
			const struct rpt_syscall *s = &t->gil.rel_sys[j];

			if (is_epoll(s->nr)) {
				polls += s->blocks;
			} else if (s->nr != CT_NR_FUTEX) {
				blocked += s->blocked_ns;
				if (!worst || s->blocked_ns > worst->blocked_ns)
					worst = s;
			}
		}
		if (polls < LOOP_MIN_POLLS || blocked < LOOP_MIN_BLOCKED_NS)
			continue;
		say_thread(
			g, found,
			"thread %u (%s) runs an event loop (it waited in epoll_wait %llu times) but also blocked %.0f ms in other calls, most in %s (%.0f ms, %llu calls): while it blocks there, no task of the loop runs; use the loop's own waits (await asyncio.sleep, loop.run_in_executor for files)",
			t->tid, t->comm, (unsigned long long)polls, (double)blocked / 1e6,
			syscall_name(worst->nr, sys, sizeof(sys)), (double)worst->blocked_ns / 1e6,
			(unsigned long long)worst->blocks);
	}
}

/*
 * A hold far longer than the switch interval while other threads asked for
 * the GIL: C code that neither releases it nor lets the eval loop honour
 * the drop request (the interval alone would end a Python hold).
 */
#define LONG_HOLD_MIN_NS 50000000ULL

static void long_holds(struct rpt_gil *g, const struct rpt_process *p, size_t *found)
{
	uint64_t limit = g->info.interval_us * 1000 * 20;

	if (limit < LONG_HOLD_MIN_NS)
		limit = LONG_HOLD_MIN_NS;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];
		/* The other threads' requests: all of them (g->forced) but its own. */
		uint64_t asked = g->forced - t->gil.forced;

		if (t->gil.hold_max < limit || !asked)
			continue;
		say_thread(
			g, found,
			"thread %u (%s) held the GIL for %.0f ms at once while other threads asked for it %llu times: a C call that keeps the GIL (no Py_BEGIN_ALLOW_THREADS) starves them; release the GIL in that code, or run it in a process",
			t->tid, t->comm, (double)t->gil.hold_max / 1e6, (unsigned long long)asked);
	}
}

/*
 * The verdict: the standard remedies, each with the figures it rests on,
 * and nothing when the evidence is thin (under 100 ms of Python threads'
 * busy time, or a single Python thread). Busy time leaves out the waits
 * for other threads while the GIL is released (futex: a threading.Lock,
 * a Condition, a queue), which say nothing about the GIL.
 */
#define VERDICT_MIN_NS 100000000ULL
#define HANDOFF_BOUND_PER_S 1000
#define LONG_HELD_BLOCK_NS 10000000ULL

static void verdict(struct rpt_gil *g, const struct rpt_process *p)
{
	uint64_t busy = sub(g->hold_ns + g->wait_ns + g->rel_ns, g->rel_sync_ns);
	uint64_t native = g->rel_oncpu_ns + g->rel_runq_ns;
	const struct rpt_syscall *io = NULL;
	size_t found = 0;
	char sys[32];

	if (busy < VERDICT_MIN_NS)
		return;
	event_loops(g, p, &found);
	long_holds(g, p, &found);
	if (g->nthreads < 2)
		return;
	for (size_t i = 0; i < g->nrel_sys && !io; i++)
		if (g->rel_sys[i].nr != CT_NR_FUTEX)
			io = &g->rel_sys[i];
	/* A thread blocked in a syscall while holding the GIL starves the others. */
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct rpt_thread *t = &p->threads[i];

		for (size_t j = 0; j < t->gil.nheld_sys; j++) {
			const struct rpt_syscall *s = &t->gil.held_sys[j];

			if (s->blocked_ns < LONG_HELD_BLOCK_NS || s->nr == CT_NR_FUTEX)
				continue;
			say_thread(
				g, &found,
				"thread %u (%s) was blocked %.0f ms in %s while holding the GIL: no other Python thread could run meanwhile; release the GIL around that call (Py_BEGIN_ALLOW_THREADS) or move it out of the thread",
				t->tid, t->comm, (double)s->blocked_ns / 1e6,
				syscall_name(s->nr, sys, sizeof(sys)));
		}
	}
	if (g->held_fraction >= 0.8 && g->avg_waiting >= 0.5) {
		say(g,
		    "CPU-bound threads serialised by the GIL: it was held %.0f%% of the time while %.1f threads waited for it on average, so Python code ran on one CPU at a time (parallelism %.2f). Use processes (multiprocessing, ProcessPoolExecutor) or native code that releases the GIL",
		    100 * g->held_fraction, g->avg_waiting, g->parallelism);
	} else if (g->rel_io_ns >= busy / 2 && io) {
		say(g,
		    "I/O-bound threads: %.0f%% of their busy time they were blocked in syscalls with the GIL released (most in %s, %.0f ms), and the GIL was held only %.0f%% of the time: threads (or asyncio) are fine here",
		    pct(g->rel_io_ns, busy), syscall_name(io->nr, sys, sizeof(sys)),
		    (double)io->blocked_ns / 1e6, 100 * g->held_fraction);
	} else if (native >= busy / 2) {
		say(g,
		    "Native code runs in parallel: %.0f%% of their busy time the threads ran (or waited for a CPU) with the GIL released and no syscall: C code such as zlib or hashlib that releases the GIL; parallelism %.2f: threads are fine here%s",
		    pct(native, busy), g->parallelism,
		    g->rel_runq_ns > g->rel_oncpu_ns / 2 ?
			    ", up to the number of CPUs (they also waited for one)" :
			    "");
	} else if (g->avg_waiting >= 0.5 && g->takes_per_s >= HANDOFF_BOUND_PER_S) {
		say(g,
		    "Threads wait for the GIL %.0f%% of their busy time although it is held only %.0f%% of the time: %.0f handoffs per second between short releases cost more than the work they allow; fewer, larger I/O calls (or asyncio) would help",
		    pct(g->wait_ns, busy), 100 * g->held_fraction, g->takes_per_s);
	}
}

int gil_model(struct report *r, const struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rpt_process *p = &r->procs[i];
		const struct rpt_gil_info *gi = info_of(r->meta, p->pid);
		struct rpt_gil *g;

		if (!gi)
			continue;
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		p->gil = g;
		g->info = *gi;
		for (size_t j = 0; j < p->nthreads; j++) {
			struct rpt_thread *t = &p->threads[j];

			thread_gil(t, gi, cur, prev);
			if (!t->gil.seen)
				continue;
			g->nthreads++;
			g->hold_ns += t->gil.hold_ns;
			g->wait_ns += t->gil.wait_ns;
			g->takes += t->gil.takes;
			g->waits += t->gil.waits;
			g->forced += t->gil.forced;
			g->rel_ns += t->gil.rel_ns;
			g->rel_blocked_ns += t->gil.rel_blocked_ns;
			g->rel_runq_ns += t->gil.rel_runq_ns;
			g->rel_oncpu_ns += t->gil.rel_oncpu_ns;
			if (syscalls_merge(&g->rel_sys, &g->nrel_sys, t->gil.rel_sys,
					   t->gil.nrel_sys))
				return -ENOMEM;
		}
		if (g->nrel_sys)
			qsort(g->rel_sys, g->nrel_sys, sizeof(*g->rel_sys), cmp_sys_blocked);
		for (size_t j = 0; j < g->nrel_sys; j++) {
			if (g->rel_sys[j].nr == CT_NR_FUTEX)
				g->rel_sync_ns += g->rel_sys[j].blocked_ns;
			else
				g->rel_io_ns += g->rel_sys[j].blocked_ns;
		}
		if (p->wall_ns) {
			double wall = (double)p->wall_ns;

			g->held_fraction = (double)g->hold_ns / wall;
			g->avg_waiting = (double)g->wait_ns / wall;
			g->takes_per_s = (double)g->waits / (wall / 1e9);
			g->parallelism = (double)(g->hold_ns + g->rel_oncpu_ns) / wall;
		}
		verdict(g, p);
	}
	return 0;
}
