// SPDX-License-Identifier: GPL-2.0-only
/*
 * Address names for traced processes: /proc/PID/maps parsed into sorted
 * mappings per process, and the ELF files behind them loaded once (libelf)
 * into sorted symbol tables that every mapping of the same file shares.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gelf.h>

#include "probe/elfsym.h"
#include "probe/symbols.h"
#include "probe/tfile.h"
#include "util/procfs.h"
#include "util/vec.h"

/* Bounds on what the processes and files may cost. */
#define SYM_MAX_PROCS 1024 /* then the least recently updated is dropped */
#define SYM_MAX_MAPS (1u << 18) /* mappings per process */
#define SYM_MAX_MAPS_BYTES (64u << 20) /* of /proc/PID/maps text */
#define SYM_MAX_FILE_SYMS (1u << 21) /* symbols per file */
#define SYM_MAX_NAMES_BYTES (64u << 20) /* symbol names per file */
#define SYM_MAX_NAME 512 /* longer symbol names are cut */
#define SYM_MAX_LOADS 16 /* PT_LOAD segments per file */
#define SYM_MAX_NOTE (1u << 20) /* bytes of one note segment read */
#define SYM_MAX_BUILD_ID 64
#define SYM_MAX_BACK 256 /* enclosing symbols a lookup looks back through */

enum map_kind { MK_FILE, MK_ANON, MK_SPECIAL };

#define MP_R 1
#define MP_W 2
#define MP_X 4

struct load {
	uint64_t off, filesz, vaddr, memsz;
	uint32_t flags;
};

struct sym {
	uint64_t start, end;
	uint64_t maxend; /* the largest end of this symbol and all before it */
	uint32_t name; /* offset in the file's names */
	uint8_t rank; /* 0 global, 1 weak, 2 local */
};

struct symtab {
	struct sym *v;
	size_t n, cap;
};

/* A file's identity: its build-id, or (without one) what stat says. */
struct filekey {
	char build_id[2 * SYM_MAX_BUILD_ID + 1];
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_sec, mtime_nsec;
};

struct symfile {
	struct symfile *next;
	size_t refs; /* mappings using it */
	struct filekey key;
	struct load loads[SYM_MAX_LOADS];
	size_t nloads;
	struct symtab data, code;
	char *names;
	size_t names_len, names_cap;
	bool stripped; /* no .symtab, and no debug file found: only .dynsym names */
	char want[160]; /* then, the debug file that would name the rest */
};

/* Stripped files a name was wanted from: said in the report (symbolizer_missing()). */
#define SYM_MISSING 4
#define SYM_MISSING_LEN 320

struct mapping {
	uint64_t start, end, offset, inode;
	unsigned int dev_major, dev_minor;
	uint8_t kind, prot;
	bool deleted; /* the path ended with " (deleted)" */
	bool opened; /* the file was opened (file is NULL if it is not ELF) */
	bool libc; /* the C library or the dynamic loader */
	int64_t size, mtime_ns; /* of the file opened: to notice it rewritten in place */
	char *path; /* as /proc names it, without " (deleted)"; NULL if anonymous */
	const char *label; /* basename of path (or path itself) */
	struct symfile *file;
};

struct symproc {
	int pid;
	uint64_t stamp; /* when it was last updated */
	uint64_t maps_hash; /* of the maps text last loaded, and its length */
	size_t maps_len;
	struct mapping *maps; /* sorted by start */
	size_t n;
	uint64_t named_hash; /* maps_hash when the main executable's label was last set */
	char exe_name[64]; /* that label, when not its file's name: see exe_label() */
};

struct symbolizer {
	struct symproc **procs;
	size_t nprocs, cap;
	struct symfile *files;
	uint64_t clock;
	char missing[SYM_MISSING][SYM_MISSING_LEN];
	size_t nmissing;
};

/* Files: loading, sharing and freeing */

static void symfile_free(struct symfile *f)
{
	free(f->data.v);
	free(f->code.v);
	free(f->names);
	free(f);
}

static void symfile_put(struct symbolizer *s, struct symfile *f)
{
	struct symfile **pp;

	if (!f || --f->refs)
		return;
	for (pp = &s->files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	symfile_free(f);
}

static bool key_equal(const struct filekey *a, const struct filekey *b)
{
	/* The same build, and the same file size: a stripped copy has fewer symbols. */
	if (a->build_id[0] || b->build_id[0])
		return strcmp(a->build_id, b->build_id) == 0 && a->size == b->size;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

static struct symfile *cache_find(const struct symbolizer *s, const struct filekey *key)
{
	for (struct symfile *f = s->files; f; f = f->next)
		if (key_equal(&f->key, key))
			return f;
	return NULL;
}

static void to_hex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* The GNU build-id among the notes of d, as hex in out. */
static bool note_build_id(const Elf_Data *d, char *out)
{
	const unsigned char *base;
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!d || !d->d_buf)
		return false;
	base = d->d_buf;
	while ((next = gelf_getnote((Elf_Data *)d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp(base + name_off, "GNU", 4) == 0 && nh.n_descsz > 0 &&
		    nh.n_descsz <= SYM_MAX_BUILD_ID) {
			to_hex(out, base + desc_off, nh.n_descsz);
			return true;
		}
		off = next;
	}
	return false;
}

/* PT_LOAD segments and build-id (from PT_NOTE, else SHT_NOTE) of an ELF file. */
static void read_headers(struct symfile *f, Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t nph = 0;
	GElf_Shdr sh;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &nph))
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			break;
		if (ph.p_type == PT_LOAD && f->nloads < SYM_MAX_LOADS) {
			f->loads[f->nloads++] = (struct load){
				.off = ph.p_offset,
				.filesz = ph.p_filesz,
				.vaddr = ph.p_vaddr,
				.memsz = ph.p_memsz,
				.flags = ph.p_flags,
			};
		} else if (ph.p_type == PT_NOTE && !f->key.build_id[0] && ph.p_filesz &&
			   ph.p_filesz <= SYM_MAX_NOTE) {
			Elf_Type t = ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR;

			note_build_id(elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
							   t),
				      f->key.build_id);
		}
	}
	while (!f->key.build_id[0] && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		note_build_id(elf_getdata(scn, NULL), f->key.build_id);
	}
}

/* Offset of a copy of name in f->names, or -1. */
static int64_t names_add(struct symfile *f, const char *name)
{
	size_t n = strnlen(name, SYM_MAX_NAME - 1), cap;
	int64_t off;
	char *v;

	if (f->names_len + n + 1 > f->names_cap) {
		cap = f->names_cap ? 2 * f->names_cap : 4096;
		while (cap < f->names_len + n + 1)
			cap *= 2;
		if (cap > SYM_MAX_NAMES_BYTES)
			cap = SYM_MAX_NAMES_BYTES;
		if (f->names_len + n + 1 > cap)
			return -1;
		v = realloc(f->names, cap);
		if (!v)
			return -1;
		f->names = v;
		f->names_cap = cap;
	}
	off = (int64_t)f->names_len;
	memcpy(f->names + f->names_len, name, n);
	f->names[f->names_len + n] = '\0';
	f->names_len += n + 1;
	return off;
}

static int symtab_push(struct symtab *t, const struct sym *y)
{
	struct sym *v = vec_push(t->v, t->n, t->cap);

	if (!v)
		return -ENOMEM;
	*v = *y;
	return 0;
}

/*
 * Objects go to f->data, functions to f->code. Zero-size symbols are left
 * out (linker markers such as _end, hand-written assembly labels), as are
 * undefined, absolute and TLS ones.
 */
static void add_sym(struct symfile *f, Elf *elf, size_t strtab, const GElf_Sym *es)
{
	int type = GELF_ST_TYPE(es->st_info), bind = GELF_ST_BIND(es->st_info);
	struct symtab *t;
	const char *name;
	struct sym y;
	int64_t off;

	if (type == STT_OBJECT)
		t = &f->data;
	else if (type == STT_FUNC || type == STT_GNU_IFUNC)
		t = &f->code;
	else
		return;
	if (!es->st_size || es->st_shndx == SHN_UNDEF ||
	    (es->st_shndx >= SHN_LORESERVE && es->st_shndx != SHN_XINDEX))
		return;
	if (es->st_value + es->st_size < es->st_value)
		return;
	if (f->data.n + f->code.n >= SYM_MAX_FILE_SYMS)
		return;
	name = elf_strptr(elf, strtab, es->st_name);
	if (!name || !*name)
		return;
	off = names_add(f, name);
	if (off < 0)
		return;
	y = (struct sym){
		.start = es->st_value,
		.end = es->st_value + es->st_size,
		.name = (uint32_t)off,
		.rank = bind == STB_GLOBAL ? 0 :
			bind == STB_WEAK   ? 1 :
					     2,
	};
	symtab_push(t, &y);
}

static void read_symbols(struct symfile *f, Elf *elf)
{
	size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn = NULL;
	Elf_Data *d;
	GElf_Shdr sh;
	GElf_Sym es;

	if (!entsize)
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_type != ELF_T_SYM)
			continue;
		for (size_t i = 0; i < d->d_size / entsize; i++) {
			if (!gelf_getsym(d, (int)i, &es))
				break;
			add_sym(f, elf, sh.sh_link, &es);
		}
	}
}

static size_t leading_underscores(const char *name)
{
	size_t n = 0;

	while (name[n] == '_')
		n++;
	return n;
}

/*
 * By start, then the larger first, then the alias to keep first: the public
 * name (getpid, not __getpid), global before weak before local.
 */
static int sym_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sym *a = pa, *b = pb;
	const char *names = ctx, *na = names + a->name, *nb = names + b->name;
	size_t ua, ub;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end > b->end ? -1 : 1;
	/* glibc's internal aliases (__GI_x, from its debug file) name x too. */
	ua = !strncmp(na, "__GI_", 5);
	ub = !strncmp(nb, "__GI_", 5);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	ua = leading_underscores(na);
	ub = leading_underscores(nb);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return strcmp(na, nb);
}

/* Sort, keep one symbol per range, and note how far each prefix reaches. */
static void symtab_finish(struct symtab *t, const char *names)
{
	uint64_t maxend = 0;
	size_t n = 0;
	struct sym *v;

	if (t->n > 1)
		qsort_r(t->v, t->n, sizeof(*t->v), sym_cmp, (void *)names);
	for (size_t i = 0; i < t->n; i++) {
		if (n && t->v[n - 1].start == t->v[i].start && t->v[n - 1].end == t->v[i].end)
			continue;
		t->v[n] = t->v[i];
		if (t->v[n].end > maxend)
			maxend = t->v[n].end;
		t->v[n].maxend = maxend;
		n++;
	}
	t->n = n;
	if (n && n < t->cap) {
		v = realloc(t->v, n * sizeof(*v));
		if (v) {
			t->v = v;
			t->cap = n;
		}
	}
}

/* Keep only the names the remaining symbols use (.symtab and .dynsym repeat most). */
static void names_compact(struct symfile *f)
{
	struct symtab *tabs[] = { &f->data, &f->code };
	struct symfile tmp = { 0 };
	int64_t off;

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < tabs[k]->n; i++) {
			off = names_add(&tmp, f->names + tabs[k]->v[i].name);
			if (off < 0) {
				free(tmp.names);
				return;
			}
			tabs[k]->v[i].name = (uint32_t)off;
		}
	}
	free(f->names);
	f->names = tmp.names;
	f->names_len = tmp.names_len;
	f->names_cap = tmp.names_cap;
}

/* The symbol holding addr: the innermost of those that start nearest below. */
static const struct sym *symtab_find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n, mid;
	const struct sym *y;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, steps = 0; i > 0 && steps < SYM_MAX_BACK; i--, steps++) {
		y = &t->v[i - 1];
		if (y->maxend <= addr)
			break;
		if (addr < y->end)
			return y;
	}
	return NULL;
}

static struct proc_map to_proc_map(const struct mapping *m)
{
	return (struct proc_map){
		.start = m->start,
		.end = m->end,
		.inode = m->inode,
		.dev_major = m->dev_major,
		.dev_minor = m->dev_minor,
		.path = m->path,
		.deleted = m->deleted,
	};
}

/*
 * The file of mapping m, as tfile_open() finds it: through its path inside
 * the process's root when that still leads to the mapped file, else through
 * /proc/PID/map_files (root only; the one way to a deleted file). An fd, or
 * -errno.
 */
static int open_mapped(int pid, const struct mapping *m, struct stat *st)
{
	struct proc_map pm = to_proc_map(m);
	struct tfile f = { .fd = -1 };
	char err[256];
	int ret;

	ret = tfile_open(&f, pid, &pm, err, sizeof(err));
	*st = f.st;
	return ret ? ret : f.fd;
}

/*
 * A stripped file (no .symtab) keeps its other names in a separate debug
 * file, which Debian ships in -dbg and -dbgsym packages: read its symbols,
 * found by build-id or .gnu_debuglink inside the process's root. A debug
 * file with another build-id is not this file's.
 */
static void debug_symbols(struct symfile *f, Elf *elf, int pid, const char *path)
{
	struct tfile_debug d = { .path = path, .build_id = f->key.build_id };
	char link[256], found[256];
	struct symfile other = { 0 };
	int rootfd, fd;
	Elf *dbg;

	if (elfsym_has_symtab(elf))
		return;
	if (!elfsym_debuglink(elf, link, sizeof(link), &d.crc))
		d.link = link;
	rootfd = tfile_root(pid);
	fd = tfile_debug_open(rootfd, &d, found, sizeof(found), f->want, sizeof(f->want));
	if (rootfd >= 0)
		close(rootfd);
	f->stripped = true;
	if (fd < 0)
		return;
	dbg = elf_begin(fd, ELF_C_READ, NULL);
	if (dbg && elf_kind(dbg) == ELF_K_ELF) {
		read_headers(&other, dbg);
		if (!f->key.build_id[0] || !strcmp(other.key.build_id, f->key.build_id)) {
			read_symbols(f, dbg);
			f->stripped = false;
		}
	}
	if (dbg)
		elf_end(dbg);
	close(fd);
}

/*
 * The loaded file behind mapping m, with one more reference, or NULL (not
 * ELF, or out of memory). Notes in m whether and what it could open.
 */
static struct symfile *file_get(struct symbolizer *s, int pid, struct mapping *m)
{
	struct symfile *f, *hit;
	GElf_Ehdr eh;
	struct stat st;
	Elf *elf;
	int fd;

	m->opened = false;
	fd = open_mapped(pid, m, &st);
	if (fd < 0)
		return NULL;
	m->opened = true;
	m->size = st.st_size;
	m->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	f = NULL;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto out;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto out;
	read_headers(f, elf);
	f->key.dev = st.st_dev;
	f->key.ino = st.st_ino;
	f->key.size = st.st_size;
	f->key.mtime_sec = st.st_mtim.tv_sec;
	f->key.mtime_nsec = st.st_mtim.tv_nsec;
	hit = cache_find(s, &f->key);
	if (hit) {
		symfile_free(f);
		f = hit;
		goto out;
	}
	if (eh.e_type == ET_EXEC || eh.e_type == ET_DYN) {
		read_symbols(f, elf);
		debug_symbols(f, elf, pid, m->path);
		symtab_finish(&f->data, f->names);
		symtab_finish(&f->code, f->names);
		names_compact(f);
	}
	f->next = s->files;
	s->files = f;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (f)
		f->refs++;
	return f;
}

/*
 * The ELF virtual address at file offset fo, for a mapping with protection
 * prot: the PT_LOAD holding fo in its file part (or in the zeroed tail of
 * its last page, up to p_memsz), preferring one whose flags match prot when
 * a page belongs to two segments.
 */
static bool file_vaddr(const struct symfile *f, uint64_t fo, uint8_t prot, uint64_t *vaddr)
{
	int best = -1, score;

	for (size_t i = 0; i < f->nloads; i++) {
		const struct load *l = &f->loads[i];
		uint64_t rel = fo - l->off;

		if (fo < l->off)
			continue;
		if (rel < l->filesz)
			score = 8;
		else if (rel < l->memsz)
			score = 4;
		else
			continue;
		if (!(prot & MP_X) == !(l->flags & PF_X))
			score += 2;
		if (!(prot & MP_W) == !(l->flags & PF_W))
			score++;
		if (score > best) {
			best = score;
			*vaddr = l->vaddr + rel;
		}
	}
	return best >= 0;
}

static bool in_load(const struct symfile *f, uint64_t vaddr)
{
	for (size_t i = 0; i < f->nloads; i++)
		if (vaddr >= f->loads[i].vaddr && vaddr - f->loads[i].vaddr < f->loads[i].memsz)
			return true;
	return false;
}

/*
 * For an anonymous mapping right after a file mapping: the ELF virtual
 * address of addr if it falls in that file's segments (the .bss beyond the
 * last file page), with the file mapping in *owner.
 */
static bool anon_vaddr(const struct symproc *p, size_t i, uint64_t addr,
		       const struct mapping **owner, uint64_t *vaddr)
{
	const struct mapping *prev;
	uint64_t last, v;

	if (i == 0)
		return false;
	prev = &p->maps[i - 1];
	if (prev->kind != MK_FILE || !prev->file || prev->end != p->maps[i].start)
		return false;
	last = prev->end - 1;
	if (!file_vaddr(prev->file, last - prev->start + prev->offset, prev->prot, &v))
		return false;
	/* The load bias of the file is last - v. */
	v = addr - (last - v);
	if (!in_load(prev->file, v))
		return false;
	*owner = prev;
	*vaddr = v;
	return true;
}

/* Mappings and processes */

static void maps_free(struct symbolizer *s, struct mapping *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		symfile_put(s, v[i].file);
		free(v[i].path);
	}
	free(v);
}

static bool is_libc_name(const char *name)
{
	static const char *const patterns[] = {
		"libc.so*",	 "libc-[0-9]*.so", "libpthread.so*", "libpthread-[0-9]*.so",
		"ld-linux*.so*", "ld-[0-9]*.so",   "ld-musl-*.so*",
	};

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (!fnmatch(patterns[i], name, 0))
			return true;
	return false;
}

/* One line of /proc/PID/maps into m: 0, 1 to skip it, or -ENOMEM. */
static int parse_line(char *line, struct mapping *m)
{
	struct proc_map pm;
	char *slash;

	if (proc_parse_map(line, &pm))
		return 1;
	memset(m, 0, sizeof(*m));
	m->start = pm.start;
	m->end = pm.end;
	m->offset = pm.offset;
	m->inode = pm.inode;
	m->dev_major = pm.dev_major;
	m->dev_minor = pm.dev_minor;
	m->deleted = pm.deleted;
	m->prot = (pm.perms[0] == 'r' ? MP_R : 0) | (pm.perms[1] == 'w' ? MP_W : 0) |
		  (pm.perms[2] == 'x' ? MP_X : 0);
	if (!pm.path) {
		m->kind = MK_ANON;
		return 0;
	}
	/*
	 * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, System V shared
	 * memory) shows as a deleted /dev/zero or /SYSVkey: no file to name it.
	 */
	if (m->deleted && (!strcmp(pm.path, "/dev/zero") || !strncmp(pm.path, "/SYSV", 5)))
		m->path = strdup("[anon shared]");
	else
		m->path = strdup(pm.path);
	if (!m->path)
		return -ENOMEM;
	m->kind = m->path[0] == '[' ? MK_SPECIAL : MK_FILE;
	slash = strrchr(m->path, '/');
	m->label = m->kind == MK_FILE && slash && slash[1] ? slash + 1 : m->path;
	m->libc = m->kind == MK_FILE && is_libc_name(m->label);
	return 0;
}

static int map_cmp(const void *pa, const void *pb)
{
	const struct mapping *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

/* The mappings of a maps text, sorted: 0, or -errno. */
static int parse_maps(const char *text, size_t len, struct mapping **out, size_t *nout)
{
	struct mapping *v = NULL, m;
	size_t n = 0, cap = 0;
	char *copy, *line, *next;
	bool sorted = true;
	int err = 0;

	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; line && *line && n < SYM_MAX_MAPS; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		err = parse_line(line, &m);
		if (err > 0) {
			err = 0;
			continue;
		}
		if (err)
			break;
		if (vec_reserve(v, cap, n + 1)) {
			free(m.path);
			err = -ENOMEM;
			break;
		}
		if (n && m.start < v[n - 1].start)
			sorted = false;
		v[n++] = m;
	}
	free(copy);
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(v[i].path);
		free(v);
		return err;
	}
	if (!sorted)
		qsort(v, n, sizeof(*v), map_cmp);
	*out = v;
	*nout = n;
	return 0;
}

/*
 * Mappings of one file, found by device, inode and path: those of the
 * previous maps whose file was opened, and those of this update so far.
 */
struct map_index {
	const struct mapping **slots;
	size_t mask;
};

static uint64_t map_hash(const struct mapping *m)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *c = m->path; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	h ^= m->inode * 0x9e3779b97f4a7c15ULL;
	h ^= ((uint64_t)m->dev_major << 32 | m->dev_minor) * 0xc2b2ae3d27d4eb4fULL;
	return h ^ (h >> 29);
}

static bool same_file(const struct mapping *a, const struct mapping *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && !strcmp(a->path, b->path);
}

static const struct mapping **index_slot(struct map_index *x, const struct mapping *m)
{
	size_t i = map_hash(m) & x->mask;

	while (x->slots[i] && !same_file(x->slots[i], m))
		i = (i + 1) & x->mask;
	return &x->slots[i];
}

static bool openable(const struct mapping *m)
{
	return m->kind == MK_FILE && m->inode && m->path[0] == '/';
}

/*
 * Whether the file of a mapping of the previous maps still has the size and
 * time it had; root: the process's root (tfile_root), or -errno.
 */
static bool unchanged(int root, const struct mapping *old)
{
	struct proc_map pm = to_proc_map(old);
	struct stat st;

	/* A path that no longer leads to the mapped file says nothing of it. */
	if (old->deleted || root < 0 || tfile_stat_at(root, old->path, &st) ||
	    !tfile_is_mapped(&st, &pm))
		return true;
	return st.st_size == old->size &&
	       (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == old->mtime_ns;
}

/*
 * Attach to each file mapping of v its loaded file, reusing what old had
 * for the same file (checked once per update) and what this update loaded.
 */
static int attach_files(struct symbolizer *s, int pid, const struct mapping *old, size_t nold,
			struct mapping *v, size_t n)
{
	struct map_index x;
	const struct mapping **slot, *prev;
	bool root_tried = false;
	size_t size = 16;
	int root = -1; /* the process's root, opened at the first file to check */

	while (size < 2 * (nold + n))
		size *= 2;
	x.slots = calloc(size, sizeof(*x.slots));
	if (!x.slots)
		return -ENOMEM;
	x.mask = size - 1;
	for (size_t i = 0; i < nold; i++)
		if (openable(&old[i]) && old[i].opened)
			*index_slot(&x, &old[i]) = &old[i];
	for (size_t i = 0; i < n; i++) {
		if (!openable(&v[i]))
			continue;
		slot = index_slot(&x, &v[i]);
		prev = *slot;
		if (prev && (uintptr_t)prev - (uintptr_t)v >= n * sizeof(*v)) {
			if (!root_tried)
				root = tfile_root(pid);
			root_tried = true;
			if (!unchanged(root, prev))
				prev = NULL;
		}
		if (prev) {
			v[i].file = prev->file;
			v[i].opened = prev->opened;
			v[i].size = prev->size;
			v[i].mtime_ns = prev->mtime_ns;
			if (v[i].file)
				v[i].file->refs++;
		} else {
			v[i].file = file_get(s, pid, &v[i]);
		}
		*slot = &v[i];
	}
	if (root >= 0)
		close(root);
	free(x.slots);
	return 0;
}

static struct symproc *proc_find(const struct symbolizer *s, int pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid)
			return s->procs[i];
	return NULL;
}

static void proc_free(struct symbolizer *s, struct symproc *p)
{
	maps_free(s, p->maps, p->n);
	free(p);
}

/* The entry of pid, made if new (dropping the least recently updated one at the limit). */
static struct symproc *proc_get(struct symbolizer *s, int pid)
{
	struct symproc *p = proc_find(s, pid);
	size_t oldest = 0;

	if (p)
		return p;
	if (s->nprocs == SYM_MAX_PROCS) {
		for (size_t i = 1; i < s->nprocs; i++)
			if (s->procs[i]->stamp < s->procs[oldest]->stamp)
				oldest = i;
		proc_free(s, s->procs[oldest]);
		s->procs[oldest] = s->procs[--s->nprocs];
	}
	if (vec_reserve(s->procs, s->cap, s->nprocs + 1))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	s->procs[s->nprocs++] = p;
	return p;
}

/* The index of the mapping holding addr, or -1. */
static ssize_t map_find(const struct symproc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < p->maps[lo - 1].end)
		return (ssize_t)(lo - 1);
	return -1;
}

static const struct mapping *lookup_map(struct symbolizer *s, int pid, uint64_t addr)
{
	struct symproc *p = s ? proc_find(s, pid) : NULL;
	ssize_t i = p ? map_find(p, addr) : -1;

	return i < 0 ? NULL : &p->maps[i];
}

/* Reading /proc/PID/maps */

static int read_maps(int pid, char **out, size_t *outlen)
{
	size_t len = 0, cap = 1 << 16;
	char path[64], *buf, *nb;
	int fd, err = 0, tid = proc_live_tid(pid);
	ssize_t n;

	/* A main thread that has exited shows no maps: another thread shows the process's. */
	snprintf(path, sizeof(path), "/proc/%d/maps", tid < 0 ? pid : tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= SYM_MAX_MAPS_BYTES) {
				/* Too much: keep the whole lines read so far. */
				while (len && buf[len - 1] != '\n')
					len--;
				break;
			}
			nb = realloc(buf, 2 * cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno == ENOENT ? -ESRCH : -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Interface */

struct symbolizer *symbolizer_new(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		proc_free(s, s->procs[i]);
	free(s->procs);
	/* Every file was released with the last mapping using it. */
	while (s->files) {
		struct symfile *f = s->files;

		s->files = f->next;
		symfile_free(f);
	}
	free(s);
}

/* FNV-1a, 64 bits. */
static uint64_t text_hash(const char *t, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
	return h;
}

/*
 * Processes are read again every 200 ms, and with -f there may be hundreds
 * alive: a map that did not change (the same text) is not parsed and
 * indexed again; its files are only checked (stat), to notice one
 * rewritten in place.
 */
static bool maps_unchanged(const struct symproc *p, int pid, uint64_t hash, size_t len)
{
	bool same = true;
	int root;

	if (!p->n || p->maps_len != len || p->maps_hash != hash)
		return false;
	root = tfile_root(pid);
	/* A file's mappings are adjacent: each file is looked at once. */
	for (size_t i = 0; i < p->n && same; i++)
		if (p->maps[i].opened && !(i && same_file(&p->maps[i - 1], &p->maps[i])))
			same = unchanged(root, &p->maps[i]);
	if (root >= 0)
		close(root);
	return same;
}

int symbolizer_load_maps(struct symbolizer *s, int pid, const char *maps, size_t len)
{
	uint64_t hash = maps ? text_hash(maps, len) : 0;
	struct mapping *v;
	struct symproc *p;
	size_t n;
	int err;

	if (!s || pid <= 0 || (!maps && len))
		return -EINVAL;
	p = proc_find(s, pid);
	if (p && maps_unchanged(p, pid, hash, len)) {
		p->stamp = ++s->clock;
		return 0;
	}
	err = parse_maps(maps ? maps : "", len, &v, &n);
	if (err)
		return err;
	if (!n) {
		free(v);
		return -ESRCH;
	}
	p = proc_get(s, pid);
	if (p)
		err = attach_files(s, pid, p->maps, p->n, v, n);
	if (!p || err) {
		maps_free(s, v, n);
		return err ? err : -ENOMEM;
	}
	maps_free(s, p->maps, p->n);
	p->maps = v;
	p->n = n;
	p->named_hash = 0; /* labels as parsed: the main executable's is set again */
	p->stamp = ++s->clock;
	p->maps_hash = hash;
	p->maps_len = len;
	return 0;
}

/*
 * The name the process runs under, as its PROCESS header names it: its
 * comm, which the kernel takes from the path execve was given (a symlink's
 * name: redis-server, whose file is redis-check-rdb), or argv[0]'s basename
 * when comm is its start (comm keeps 15 bytes). 0, or -1.
 */
static int run_name(int pid, char *buf, size_t len)
{
	char comm[16], cmd[256], *base;

	if (proc_comm(pid, 0, comm, sizeof(comm)) || !comm[0])
		return -1;
	snprintf(buf, len, "%s", comm);
	if (proc_argv0(pid, cmd, sizeof(cmd)))
		return 0;
	base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	if (strlen(base) > strlen(comm) && strlen(base) < len && !strncmp(base, comm, strlen(comm)))
		memcpy(buf, base, strlen(base) + 1);
	return 0;
}

/*
 * The main executable's mappings are labelled with the process's name when
 * the file's own differs (a symlink, a hard link): a lock in redis-server
 * read redis-check-rdb:io_threads_mutex. Libraries keep their file names.
 */
static void exe_label(struct symproc *p, int pid)
{
	char link[64], exe[PATH_MAX], name[64];
	const char *file;
	ssize_t n;
	int tid;

	if (p->named_hash == p->maps_hash)
		return;
	p->named_hash = p->maps_hash;
	tid = proc_live_tid(pid);
	snprintf(link, sizeof(link), "/proc/%d/exe", tid > 0 ? tid : pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0 || run_name(pid, name, sizeof(name)))
		return;
	exe[n] = '\0';
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';
	file = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	/* the same name, or comm cut at 15 bytes of it */
	if (!strncmp(file, name, strlen(name)))
		return;
	snprintf(p->exe_name, sizeof(p->exe_name), "%s", name);
	for (size_t i = 0; i < p->n; i++)
		if (p->maps[i].kind == MK_FILE && !strcmp(p->maps[i].path, exe))
			p->maps[i].label = p->exe_name;
}

int symbolizer_update(struct symbolizer *s, int pid)
{
	struct symproc *p;
	size_t len = 0;
	char *buf = NULL;
	int err;

	if (!s || pid <= 0)
		return -EINVAL;
	err = read_maps(pid, &buf, &len);
	if (err)
		return err;
	err = symbolizer_load_maps(s, pid, buf, len);
	free(buf);
	p = err ? NULL : proc_find(s, pid);
	if (p)
		exe_label(p, pid);
	return err;
}

/* libstdc++'s demangler (C linkage): a malloc'ed name, or NULL. */
char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

static int put_sym(char *buf, size_t len, const char *label, const struct symfile *f,
		   const struct sym *y, uint64_t vaddr)
{
	const char *name = f->names + y->name;
	char *plain = NULL;
	int status = -1;

	/* C++ names (Itanium ABI): app::queue_mutex, not _ZN3app11queue_mutexE. */
	if (!strncmp(name, "_Z", 2)) {
		plain = __cxa_demangle(name, NULL, NULL, &status);
		if (plain && !status)
			name = plain;
	}
	if (vaddr == y->start)
		snprintf(buf, len, "%s:%s", label, name);
	else
		snprintf(buf, len, "%s:%s+0x%" PRIx64, label, name, vaddr - y->start);
	free(plain);
	return 1;
}

/* A name wanted from a stripped file without its debug file: said once in the report. */
static void want_names(struct symbolizer *s, const char *path, const struct symfile *f)
{
	char line[SYM_MISSING_LEN];

	if (!f->stripped)
		return;
	snprintf(line, sizeof(line), "%s\t%s", path, f->want);
	for (size_t i = 0; i < s->nmissing; i++)
		if (!strcmp(s->missing[i], line))
			return;
	if (s->nmissing < SYM_MISSING)
		memcpy(s->missing[s->nmissing++], line, sizeof(line));
}

size_t symbolizer_missing(const struct symbolizer *s, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; s && i < s->nmissing && n + 1 < len; i++) {
		int k = snprintf(buf + n, len - n, "%s%s", i ? "\n" : "", s->missing[i]);

		if (k < 0 || (size_t)k >= len - n)
			break;
		n += (size_t)k;
	}
	return s ? s->nmissing : 0;
}

static int name_addr(struct symbolizer *s, int pid, uint64_t addr, bool code, char *buf, size_t len)
{
	const struct mapping *m, *owner;
	const struct sym *y;
	struct symproc *p;
	uint64_t fo, v;
	ssize_t i;

	if (!buf || !len)
		return -EINVAL;
	p = s ? proc_find(s, pid) : NULL;
	i = p ? map_find(p, addr) : -1;
	if (i < 0) {
		snprintf(buf, len, "0x%" PRIx64, addr);
		return 0;
	}
	m = &p->maps[i];
	if (m->kind == MK_FILE) {
		fo = addr - m->start + m->offset;
		if (m->file && file_vaddr(m->file, fo, m->prot, &v)) {
			y = symtab_find(code ? &m->file->code : &m->file->data, v);
			if (y)
				return put_sym(buf, len, m->label, m->file, y, v);
			/* No symbol (stripped): its ELF address, what nm and addr2line speak. */
			snprintf(buf, len, "%s:0x%" PRIx64, m->label, v);
			want_names(s, m->path, m->file);
			return 0;
		}
		snprintf(buf, len, "%s+0x%" PRIx64, m->label, fo);
		return 0;
	}
	if (anon_vaddr(p, (size_t)i, addr, &owner, &v)) {
		y = symtab_find(code ? &owner->file->code : &owner->file->data, v);
		if (y)
			return put_sym(buf, len, owner->label, owner->file, y, v);
		/* The file's .bss, in no symbol (stripped): its ELF address. */
		snprintf(buf, len, "%s:0x%" PRIx64, owner->label, v);
		want_names(s, owner->path, owner->file);
		return 0;
	}
	snprintf(buf, len, "%s+0x%" PRIx64, m->kind == MK_ANON ? "[anon]" : m->path,
		 addr - m->start);
	return 0;
}

int symbolizer_name_data(struct symbolizer *s, int pid, uint64_t addr, char *buf, size_t len)
{
	return name_addr(s, pid, addr, false, buf, len);
}

int symbolizer_name_code(struct symbolizer *s, int pid, uint64_t addr, char *buf, size_t len)
{
	return name_addr(s, pid, addr, true, buf, len);
}

bool symbolizer_is_libc(struct symbolizer *s, int pid, uint64_t addr)
{
	const struct mapping *m = lookup_map(s, pid, addr);

	return m && m->libc && (m->prot & MP_X);
}

static bool kernel_text(const struct mapping *m)
{
	return m->kind == MK_SPECIAL && strncmp(m->path, "[anon", 5) != 0;
}

size_t symbolizer_user_text(struct symbolizer *s, int pid, uint64_t *starts, uint64_t *ends,
			    size_t max)
{
	struct symproc *p = s ? proc_find(s, pid) : NULL;
	const struct mapping *m;
	size_t n = 0;

	if (!p || !starts || !ends)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		m = &p->maps[i];
		if (!(m->prot & MP_X) || m->libc || kernel_text(m))
			continue;
		if (n && ends[n - 1] == m->start) {
			ends[n - 1] = m->end;
			continue;
		}
		if (n == max)
			break;
		starts[n] = m->start;
		ends[n] = m->end;
		n++;
	}
	return n;
}

uint64_t symbolizer_stamp(struct symbolizer *s, int pid)
{
	struct symproc *p = s ? proc_find(s, pid) : NULL;

	return p ? p->maps_hash : 0;
}

size_t symbolizer_modules(struct symbolizer *s, int pid, struct sym_module *out, size_t max)
{
	struct symproc *p = s ? proc_find(s, pid) : NULL;
	size_t n = 0;
	uint64_t v;

	for (size_t i = 0; p && i < p->n && n < max; i++) {
		const struct mapping *m = &p->maps[i];

		if (!(m->prot & MP_X) || m->kind != MK_FILE || !m->file ||
		    !file_vaddr(m->file, m->offset, m->prot, &v))
			continue;
		out[n++] = (struct sym_module){
			.start = m->start,
			.end = m->end,
			.bias = m->start - v,
			.stamp = p->maps_hash,
			.path = m->path,
			.label = m->label,
		};
	}
	return n;
}

int symbolizer_open_module(struct symbolizer *s, int pid, const struct sym_module *m)
{
	struct symproc *p = s ? proc_find(s, pid) : NULL;
	ssize_t i = p ? map_find(p, m->start) : -1;
	struct stat st;

	if (i < 0 || p->maps[i].start != m->start)
		return -ENOENT;
	return open_mapped(pid, &p->maps[i], &st);
}
