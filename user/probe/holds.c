// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "probe/elfsym.h"
#include "probe/holds.h"
#include "util/log.h"
#include "probe/tfile.h"

#define CODE_LEN 512 /* bytes of each function searched */

/* A conditional jump "jne": 0x75 rel8 or 0x0f 0x85 rel32. Its length, or 0. */
static size_t jne_len(const uint8_t *p, size_t left)
{
	if (left >= 2 && p[0] == 0x75)
		return 2;
	if (left >= 6 && p[0] == 0x0f && p[1] == 0x85)
		return 6;
	return 0;
}

void holds_match_lock(const uint8_t *code, size_t len, uint64_t off, struct holds_sites *sites)
{
	/* lock cmpxchg %edx,(%rdi) */
	static const uint8_t cas[] = { 0xf0, 0x0f, 0xb1, 0x17 };
	/* mov 0x8(%rdi),%ecx; test %ecx,%ecx: assert the mutex has no owner yet */
	static const uint8_t owner[] = { 0x8b, 0x4f, 0x08, 0x85, 0xc9 };

	sites->lock_off = off;
	sites->lock_emulated = false;
	for (size_t i = 0; i + sizeof(cas) < len; i++) {
		size_t j = i + sizeof(cas), n;

		if (memcmp(code + i, cas, sizeof(cas)))
			continue;
		n = jne_len(code + j, len - j);
		if (!n)
			continue;
		j += n;
		if (j + sizeof(owner) > len || memcmp(code + j, owner, sizeof(owner)))
			continue;
		j += sizeof(owner);
		if (!jne_len(code + j, len - j))
			continue;
		sites->lock_off = off + j;
		sites->lock_emulated = true;
		return;
	}
}

void holds_match_unlock(const uint8_t *code, size_t len, uint64_t off, struct holds_sites *sites)
{
	/* mov $0x1,%esi (decrement the user count), then jmp to the common code */
	static const uint8_t usercnt[] = { 0xbe, 0x01, 0x00, 0x00, 0x00 };

	sites->unlock_off = off;
	sites->unlock_emulated = false;
	if (len > sizeof(usercnt) && !memcmp(code, usercnt, sizeof(usercnt)) &&
	    (code[5] == 0xe9 || code[5] == 0xeb)) {
		sites->unlock_off = off + sizeof(usercnt);
		sites->unlock_emulated = true;
	} else if (len && (code[0] == 0x55 || code[0] == 0x53)) {
		sites->unlock_emulated = true; /* push %rbp / push %rbx */
	}
}

/* Values of the two functions in .dynsym. */
struct funcs {
	uint64_t lock, unlock;
};

static int want_func(const char *name, const GElf_Sym *sym, int hidden, void *ctx)
{
	struct funcs *f = ctx;

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || hidden)
		return 0;
	if (!strcmp(name, "pthread_mutex_lock"))
		f->lock = sym->st_value;
	else if (!strcmp(name, "pthread_mutex_unlock"))
		f->unlock = sym->st_value;
	return 0;
}

int holds_find_sites(int fd, const char *name, struct holds_sites *sites, char *err, size_t errlen)
{
	struct funcs f = { 0 };
	uint64_t lock_off, unlock_off;
	uint8_t code[CODE_LEN];
	struct elfsym e;
	ssize_t got;
	int ret;

	ret = elfsym_open(&e, fd, name, err, errlen);
	if (ret)
		return ret;
	elfsym_each(&e, SHT_DYNSYM, want_func, &f);
	lock_off = f.lock ? elfsym_file_offset(&e, f.lock, 1) : 0;
	unlock_off = f.unlock ? elfsym_file_offset(&e, f.unlock, 1) : 0;
	if (!lock_off || !unlock_off) {
		snprintf(err, errlen, "%s has no pthread_mutex_lock and pthread_mutex_unlock",
			 name);
		ret = -ENOENT;
		goto out;
	}
	got = pread(fd, code, sizeof(code), (off_t)lock_off);
	holds_match_lock(code, got > 0 ? (size_t)got : 0, lock_off, sites);
	got = pread(fd, code, sizeof(code), (off_t)unlock_off);
	holds_match_unlock(code, got > 0 ? (size_t)got : 0, unlock_off, sites);
	if (!sites->lock_emulated) {
		/*
		 * The entry is no place to see an acquisition (it precedes the
		 * wait): without the branch there is no exact hold to measure.
		 */
		snprintf(
			err, errlen,
			"%s: pthread_mutex_lock's code is not the glibc code --holds knows (no branch after the owner check)",
			name);
		ret = -ENOTSUP;
	}
out:
	elfsym_close(&e);
	return ret;
}

struct libc_search {
	struct holds_libc *lib;
	bool pthread, libc, loader;
};

static void keep_map(struct holds_libc *lib, const struct proc_map *m)
{
	lib->map = *m;
	snprintf(lib->path, sizeof(lib->path), "%s", m->path);
	lib->map.path = lib->path;
}

static int want_libc(struct proc_map *m, void *ctx)
{
	struct libc_search *s = ctx;
	const char *base;

	if (!m->path || m->path[0] != '/' || strcmp(m->perms, "r-xp"))
		return 0;
	base = strrchr(m->path, '/') + 1;
	if (!strncmp(base, "libpthread.so", 13) || !strncmp(base, "libpthread-", 11)) {
		keep_map(s->lib, m);
		s->pthread = true;
	} else if ((!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-2.", 7)) && !s->pthread) {
		keep_map(s->lib, m);
		s->libc = true;
	} else if (!strncmp(base, "ld-", 3)) {
		s->loader = true;
	}
	return 0;
}

int holds_find_libc(int pid, struct holds_libc *lib)
{
	struct libc_search s = { .lib = lib };
	int ret = proc_maps_each(pid, want_libc, &s);

	if (ret)
		return ret;
	if (!s.pthread && !s.libc)
		return s.loader ? -EAGAIN : -ENOENT; /* EAGAIN: not mapped by the loader yet */
	return 0;
}

static void unlink_proc(struct holds_proc *p)
{
	bpf_link__destroy(p->links[0]);
	bpf_link__destroy(p->links[1]);
	p->links[0] = p->links[1] = NULL;
}

/*
 * Removing a uprobe waits for the kernel to quiesce (100 ms and more here):
 * links of a process that replaced its image are kept until the end.
 */
static void retire_proc(struct holds *h, struct holds_proc *p)
{
	if (h->nretired + 2 > sizeof(h->retired) / sizeof(h->retired[0])) {
		unlink_proc(p);
		return;
	}
	h->retired[h->nretired++] = p->links[0];
	h->retired[h->nretired++] = p->links[1];
	p->links[0] = p->links[1] = NULL;
}

static void say_cost(struct holds *h, const struct holds_sites *sites, const char *path, int pid)
{
	char copy[4200];

	if (h->warned)
		return;
	h->warned = true;
	snprintf(copy, sizeof(copy), "%s", path);
	if (sites->unlock_emulated)
		log_warn(
			"--holds: uprobes in %s's pthread_mutex_lock (+0x%llx) and pthread_mutex_unlock (+0x%llx) add about 0.6 us to every lock and unlock of pid %d (1.2 us a pair, measured on a VM)",
			basename(copy), (unsigned long long)sites->lock_off,
			(unsigned long long)sites->unlock_off, pid);
	else
		log_warn(
			"--holds: pthread_mutex_unlock in %s begins with an instruction the kernel single-steps: each unlock of pid %d may cost tens of microseconds",
			basename(copy), pid);
}

/* Attach the two uprobes of process p to the C library open at f. 0, or -errno with err said. */
static int attach_sites(struct holds *h, struct holds_proc *p, const struct tfile *f,
			const struct holds_libc *lib, char *err, size_t errlen)
{
	struct holds_sites sites;
	int ret, tid = proc_live_tid(p->pid);
	char why[512];

	/* Attached to a live thread: one that has exited has no memory to probe. */
	if (tid < 0)
		tid = p->pid;
	ret = holds_find_sites(f->fd, lib->path, &sites, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "--holds: %s", why);
		return ret;
	}
	/*
	 * On the file checked and open, not on a path: the kernel resolves a
	 * uprobe's path itself, and /proc/self/fd/N is this very inode.
	 * Releases first: an acquisition seen must have its release seen.
	 */
	p->links[1] = bpf_program__attach_uprobe(h->release, false, tid, f->probe_path,
						 (size_t)sites.unlock_off);
	if (p->links[1])
		p->links[0] = bpf_program__attach_uprobe(h->acquired, false, tid, f->probe_path,
							 (size_t)sites.lock_off);
	if (!p->links[0]) {
		ret = -errno;
		unlink_proc(p);
		snprintf(err, errlen, "--holds: cannot attach uprobes to %s: %s", lib->path,
			 strerror(-ret));
		return ret;
	}
	say_cost(h, &sites, lib->path, p->pid);
	return 0;
}

/* Probe the C library lib of process p. 1, or -errno with err said. */
static int probe_libc(struct holds *h, struct holds_proc *p, const struct holds_libc *lib,
		      char *err, size_t errlen)
{
	struct tfile f;
	char why[512];
	int ret;

	p->dev = makedev(lib->map.dev_major, lib->map.dev_minor);
	p->ino = lib->map.inode;
	ret = tfile_open(&f, p->pid, &lib->map, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "--holds: %s: no exact holds for it", why);
		h->skipped++;
		return ret;
	}
	tfile_warn(&f, "--holds", p->pid, lib->path);
	ret = attach_sites(h, p, &f, lib, err, errlen);
	tfile_close(&f);
	if (ret) {
		h->skipped++;
		return ret;
	}
	h->probed++;
	return 1;
}

int holds_attach(struct holds *h, int pid, char *err, size_t errlen)
{
	struct holds_proc *p = NULL;
	struct holds_libc lib;
	uint64_t dev;
	int ret;

	for (size_t i = 0; i < h->n; i++)
		if (h->procs[i].pid == pid)
			p = &h->procs[i];
	ret = holds_find_libc(pid, &lib);
	dev = ret ? 0 : makedev(lib.map.dev_major, lib.map.dev_minor);
	if (p && ret == -ENOENT && p->links[0]) {
		/* Probed before its execve; the new image maps no C library. */
		retire_proc(h, p);
		h->probed--;
		h->skipped++;
		p->dev = p->ino = 0;
		snprintf(
			err, errlen,
			"--holds: pid %d maps no C library since its execve (statically linked?): no exact holds for it",
			pid);
		return ret;
	}
	if (p && (ret || (p->dev == dev && p->ino == lib.map.inode)))
		return 0; /* tried already; or probed, and it maps the same library */
	if (!p) {
		if (h->n == HOLDS_MAX_PROCS) {
			if (h->full)
				return 0;
			h->full = true;
			h->skipped++;
			snprintf(err, errlen, "--holds: more than %d processes, pid %d not probed",
				 HOLDS_MAX_PROCS, pid);
			return -ENOSPC;
		}
		if (ret == -EAGAIN)
			return 0; /* the loader is at work: try at the next refresh */
		p = &h->procs[h->n++];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		if (ret) {
			h->skipped++;
			snprintf(err, errlen, "--holds: pid %d maps no C library: %s", pid,
				 ret == -ENOENT ? "statically linked?" : strerror(-ret));
			return ret;
		}
	} else if (p->links[0]) {
		/* It runs another image now, with another C library. */
		retire_proc(h, p);
		h->probed--;
	} else {
		h->skipped--; /* it failed before; it is tried again below */
	}
	return probe_libc(h, p, &lib, err, errlen);
}

void holds_detach(struct holds *h)
{
	for (size_t i = 0; i < h->n; i++)
		unlink_proc(&h->procs[i]);
	for (size_t i = 0; i < h->nretired; i++)
		bpf_link__destroy(h->retired[i]);
	h->nretired = 0;
}
