// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "probe/elfsym.h"
#include "probe/holds.h"
#include "util/log.h"

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

int holds_find_sites(const char *path, struct holds_sites *sites, char *err, size_t errlen)
{
	struct funcs f = { 0 };
	uint64_t lock_off, unlock_off;
	uint8_t code[CODE_LEN];
	struct elfsym e;
	ssize_t got;
	int ret;

	ret = elfsym_open(&e, path, err, errlen);
	if (ret)
		return ret;
	elfsym_each(&e, SHT_DYNSYM, want_func, &f);
	lock_off = f.lock ? elfsym_file_offset(&e, f.lock, 1) : 0;
	unlock_off = f.unlock ? elfsym_file_offset(&e, f.unlock, 1) : 0;
	if (!lock_off || !unlock_off) {
		snprintf(err, errlen, "%s has no pthread_mutex_lock and pthread_mutex_unlock",
			 path);
		ret = -ENOENT;
		goto out;
	}
	got = pread(e.fd, code, sizeof(code), (off_t)lock_off);
	holds_match_lock(code, got > 0 ? (size_t)got : 0, lock_off, sites);
	got = pread(e.fd, code, sizeof(code), (off_t)unlock_off);
	holds_match_unlock(code, got > 0 ? (size_t)got : 0, unlock_off, sites);
	if (!sites->lock_emulated) {
		/*
		 * The entry is no place to see an acquisition (it precedes the
		 * wait): without the branch there is no exact hold to measure.
		 */
		snprintf(
			err, errlen,
			"%s: pthread_mutex_lock's code is not the glibc code --holds knows (no branch after the owner check)",
			path);
		ret = -ENOTSUP;
	}
out:
	elfsym_close(&e);
	return ret;
}

/*
 * The C library process pid maps, as a path under /proc/PID/root:
 * libpthread (glibc before 2.34, where the mutex functions live) if mapped,
 * else libc. 0, -EAGAIN if the dynamic loader has not mapped it yet,
 * -ENOENT if there is none (static), or -errno.
 */
int holds_find_libc(int pid, char *path, size_t len)
{
	char maps[64], line[4096], libc[4096] = "", pthread[4096] = "";
	bool loader = false;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *base;

		if (!file || !strstr(line, " r-xp "))
			continue;
		file[strcspn(file, "\n")] = 0;
		base = strrchr(file, '/') + 1;
		if (!strncmp(base, "libpthread.so", 13) || !strncmp(base, "libpthread-", 11))
			snprintf(pthread, sizeof(pthread), "%s", file);
		else if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-2.", 7))
			snprintf(libc, sizeof(libc), "%s", file);
		else if (!strncmp(base, "ld-", 3))
			loader = true;
	}
	fclose(f);
	if (!pthread[0] && !libc[0])
		return loader ? -EAGAIN : -ENOENT; /* EAGAIN: not mapped by the loader yet */
	snprintf(path, len, "/proc/%d/root%s", pid, pthread[0] ? pthread : libc);
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

int holds_attach(struct holds *h, int pid, char *err, size_t errlen)
{
	struct holds_proc *p = NULL;
	struct holds_sites sites;
	struct stat st = { 0 };
	char path[4200];
	int ret;

	for (size_t i = 0; i < h->n; i++)
		if (h->procs[i].pid == pid)
			p = &h->procs[i];
	ret = holds_find_libc(pid, path, sizeof(path));
	if (!ret && stat(path, &st))
		ret = -errno;
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
	if (p && (ret || (p->dev == st.st_dev && p->ino == st.st_ino)))
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
		p = &h->procs[h->n++];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		if (ret == -EAGAIN) {
			h->n--; /* the loader is at work: try at the next refresh */
			return 0;
		}
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
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	ret = holds_find_sites(path, &sites, err, errlen);
	if (ret) {
		h->skipped++;
		return ret;
	}
	/* Releases first: an acquisition seen must have its release seen. */
	p->links[1] =
		bpf_program__attach_uprobe(h->release, false, pid, path, (size_t)sites.unlock_off);
	if (p->links[1])
		p->links[0] = bpf_program__attach_uprobe(h->acquired, false, pid, path,
							 (size_t)sites.lock_off);
	if (!p->links[0]) {
		ret = -errno;
		unlink_proc(p);
		h->skipped++;
		snprintf(err, errlen, "--holds: cannot attach uprobes to %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	h->probed++;
	say_cost(h, &sites, path, pid);
	return 1;
}

void holds_detach(struct holds *h)
{
	for (size_t i = 0; i < h->n; i++)
		unlink_proc(&h->procs[i]);
	for (size_t i = 0; i < h->nretired; i++)
		bpf_link__destroy(h->retired[i]);
	h->nretired = 0;
}
