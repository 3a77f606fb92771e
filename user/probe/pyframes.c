// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrace.h"
#include "pylayout.h"
#include "probe/procmem.h"
#include "probe/pyframes.h"
#include "probe/pynames.h"
#include "util/pyline.h"
#include "util/vec.h"

/* Code objects and frames named, all processes together: then new ones go unnamed (counted). */
#define PF_MAX_ENTRIES (1u << 18)
/* A line table longer than this is not read (CPython's are a few bytes per line). */
#define PF_MAX_LINES (1u << 20)
/* PyCodeObject's fields read at once: the farthest, co_linetable, ends at 144. */
#define PF_CODE_READ 144
#define PF_OFF_TYPE 8 /* PyObject.ob_type */
#define PF_OFF_TP_NAME 24 /* PyTypeObject.tp_name */
#define PF_OFF_BYTES_SIZE 16 /* PyBytesObject.ob_size */
#define PF_OFF_BYTES_DATA 32 /* PyBytesObject.ob_sval */
/* The name of a frame whose code object could not be read. */
#define PF_UNKNOWN "[unknown Python frame]"

enum pf_kind { PF_CODE = 1, PF_FRAME = 2, PF_TYPE = 3, PF_EVAL = 4 };

/* The interpreter's function that runs Python frames (3.8-3.13; exported, so named when stripped). */
#define PF_EVAL_FN "_PyEval_EvalFrameDefault"

/* A hash table entry: key (kind, process, address, line) -> index. */
struct pf_slot {
	uint64_t proc, addr;
	int32_t line;
	uint32_t kind; /* enum pf_kind; 0: free */
	uint32_t idx;
	uint32_t stamp; /* code objects and frames: the code object's stamp (CT_PYF_STAMP_SHIFT) */
};

struct pf_proc {
	int pid;
	uint32_t gen; /* bumped when the pid is seen again: a new process */
	const struct ct_py_layout *layout;
};

struct pf_code {
	char name[SNAP_PYNAME_LEN];
	char file[SNAP_PYNAME_LEN];
	int firstlineno;
	int format; /* enum pyline_format */
	uint8_t *lines;
	uint32_t nlines;
	bool ok;
};

struct pf_frame {
	int pid;
	char name[SNAP_SYM_LEN];
};

struct pyframes {
	struct pf_proc *procs;
	size_t nprocs, cap_procs;
	struct pf_code *codes;
	size_t ncodes, cap_codes;
	struct pf_frame *frames; /* frames[0]: the unknown frame */
	size_t nframes, cap_frames;
	struct pf_slot *slots;
	size_t mask, used;
	uint64_t unnamed;
};

static uint64_t pf_hash(uint64_t proc, uint64_t addr, int32_t line, uint32_t kind, uint32_t stamp)
{
	uint64_t h = proc * 0x9e3779b97f4a7c15ULL ^ addr ^ (uint64_t)stamp << 47;

	h ^= (uint64_t)(uint32_t)line << 32 | kind;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 31);
}

/* The slot of a key: its entry, or the free slot it would take. NULL if the table is empty. */
static struct pf_slot *pf_find(const struct pyframes *pf, uint64_t proc, uint64_t addr,
			       int32_t line, uint32_t kind, uint32_t stamp)
{
	size_t i;

	if (!pf->slots)
		return NULL;
	for (i = pf_hash(proc, addr, line, kind, stamp) & pf->mask; pf->slots[i].kind;
	     i = (i + 1) & pf->mask) {
		const struct pf_slot *s = &pf->slots[i];

		if (s->kind == kind && s->proc == proc && s->addr == addr && s->line == line &&
		    s->stamp == stamp)
			break;
	}
	return &pf->slots[i];
}

/* Room for one more entry (at most half full). 0 or -ENOMEM. */
static int pf_grow(struct pyframes *pf)
{
	size_t cap = pf->slots ? 2 * (pf->mask + 1) : 1024;
	struct pf_slot *old = pf->slots;
	size_t oldn = pf->slots ? pf->mask + 1 : 0;

	if (pf->slots && 2 * (pf->used + 1) <= pf->mask + 1)
		return 0;
	pf->slots = calloc(cap, sizeof(*pf->slots));
	if (!pf->slots) {
		pf->slots = old;
		return -ENOMEM;
	}
	pf->mask = cap - 1;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].kind)
			*pf_find(pf, old[i].proc, old[i].addr, old[i].line, old[i].kind,
				 old[i].stamp) = old[i];
	free(old);
	return 0;
}

/* Add a key known absent: its slot, or NULL (out of memory, or the table at its cap). */
static struct pf_slot *pf_add(struct pyframes *pf, uint64_t proc, uint64_t addr, int32_t line,
			      uint32_t kind, uint32_t stamp, uint32_t idx)
{
	struct pf_slot *s;

	if (pf->used >= PF_MAX_ENTRIES || pf_grow(pf))
		return NULL;
	s = pf_find(pf, proc, addr, line, kind, stamp);
	*s = (struct pf_slot){
		.proc = proc, .addr = addr, .line = line, .kind = kind, .idx = idx, .stamp = stamp
	};
	pf->used++;
	return s;
}

struct pyframes *pyframes_new(void)
{
	struct pyframes *pf = calloc(1, sizeof(*pf));
	struct pf_frame *u;

	if (!pf)
		return NULL;
	u = vec_push(pf->frames, pf->nframes, pf->cap_frames);
	if (!u) {
		free(pf);
		return NULL;
	}
	snprintf(u->name, sizeof(u->name), "%s", PF_UNKNOWN);
	return pf;
}

void pyframes_free(struct pyframes *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->ncodes; i++)
		free(pf->codes[i].lines);
	free(pf->codes);
	free(pf->frames);
	free(pf->procs);
	free(pf->slots);
	free(pf);
}

uint32_t pyframes_layout(const char *version)
{
	for (uint32_t i = 0; i < CT_PY_LAYOUTS; i++)
		if (!strcmp(ct_py_layouts[i].version, version))
			return i + 1;
	return 0;
}

static struct pf_proc *proc_of(const struct pyframes *pf, int pid)
{
	for (size_t i = 0; i < pf->nprocs; i++)
		if (pf->procs[i].pid == pid)
			return &pf->procs[i];
	return NULL;
}

int pyframes_add_process(struct pyframes *pf, int pid, const char *version)
{
	uint32_t l = pyframes_layout(version);
	struct pf_proc *p = proc_of(pf, pid);

	if (!l)
		return 0;
	if (!p) {
		p = vec_push(pf->procs, pf->nprocs, pf->cap_procs);
		if (!p)
			return -ENOMEM;
		p->pid = pid;
		p->gen = 0;
	} else {
		p->gen++; /* a new process with the pid, or a new image: its code objects are new */
	}
	p->layout = &ct_py_layouts[l - 1];
	return 0;
}

static uint64_t proc_key(const struct pf_proc *p)
{
	return (uint64_t)p->gen << 32 | (uint32_t)p->pid;
}

static uint64_t u64_at(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* Whether the object at obj is a code object: its type is named "code" (known per type). */
static bool is_code(struct pyframes *pf, const struct pf_proc *p, uint64_t type)
{
	struct pf_slot *s = pf_find(pf, proc_key(p), type, 0, PF_TYPE, 0);
	uint64_t name;
	char buf[8];

	if (s && s->kind)
		return s->idx;
	if (procmem_u64(p->pid, type + PF_OFF_TP_NAME, &name) || procmem_read(p->pid, name, buf, 5))
		return false; /* unreadable now: asked again next time */
	pf_add(pf, proc_key(p), type, 0, PF_TYPE, 0, !memcmp(buf, "code", 5));
	return !memcmp(buf, "code", 5);
}

/* The last component of a path, in place. */
static void base_name(char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash)
		memmove(path, slash + 1, strlen(slash + 1) + 1);
}

/* Read the code object at addr into c. */
static void code_read(struct pyframes *pf, const struct pf_proc *p, uint64_t addr,
		      struct pf_code *c)
{
	const struct ct_py_layout *L = p->layout;
	const char *version = L->version;
	uint8_t buf[PF_CODE_READ];
	uint64_t lines, size;
	int32_t first;

	memset(c, 0, sizeof(*c));
	c->format = pyline_format_of(version);
	if (procmem_read(p->pid, addr, buf, sizeof(buf)) ||
	    !is_code(pf, p, u64_at(buf, PF_OFF_TYPE)) ||
	    pynames_str(p->pid, version, u64_at(buf, L->co_name), c->name, sizeof(c->name), false) <
		    0 ||
	    pynames_str(p->pid, version, u64_at(buf, L->co_filename), c->file, sizeof(c->file),
			true) < 0)
		return;
	base_name(c->file);
	memcpy(&first, buf + L->co_firstlineno, sizeof(first));
	c->firstlineno = first;
	c->ok = true;
	/* The line table: without it the frame says its function's first line. */
	lines = u64_at(buf, L->co_lines);
	if (procmem_u64(p->pid, lines + PF_OFF_BYTES_SIZE, &size) || !size || size > PF_MAX_LINES)
		return;
	c->lines = malloc(size);
	if (c->lines && !procmem_read(p->pid, lines + PF_OFF_BYTES_DATA, c->lines, size)) {
		c->nlines = (uint32_t)size;
		return;
	}
	free(c->lines);
	c->lines = NULL;
}

/*
 * The code object at addr of process p with that stamp, read the first
 * time it is met. NULL if it cannot be read (not kept: read again when met
 * again) or out of memory.
 */
static const struct pf_code *code_of(struct pyframes *pf, const struct pf_proc *p, uint64_t addr,
				     uint32_t stamp)
{
	struct pf_slot *s = pf_find(pf, proc_key(p), addr, 0, PF_CODE, stamp);
	struct pf_code *c;

	if (s && s->kind)
		return &pf->codes[s->idx];
	c = vec_push(pf->codes, pf->ncodes, pf->cap_codes);
	if (!c)
		return NULL;
	code_read(pf, p, addr, c);
	if (!c->ok ||
	    !pf_add(pf, proc_key(p), addr, 0, PF_CODE, stamp, (uint32_t)(pf->ncodes - 1))) {
		free(c->lines);
		pf->ncodes--;
		return NULL;
	}
	return c;
}

/* The line of the instruction at off; 0 if it has none or the table cannot say. */
static int32_t line_of(const struct pf_code *c, int32_t off)
{
	int line;

	if (off < 0)
		return c->firstlineno; /* not started: its def */
	if (!c->lines || c->format < 0)
		return c->firstlineno;
	line = pyline_at((enum pyline_format)c->format, c->lines, c->nlines, c->firstlineno,
			 (uint32_t)off);
	return line > 0 ? line : 0;
}

uint64_t pyframes_pc(struct pyframes *pf, int pid, uint64_t code, uint32_t stamp, int32_t off)
{
	const struct pf_proc *p = proc_of(pf, pid);
	const struct pf_code *c;
	struct pf_frame *f;
	struct pf_slot *s;
	int32_t line;

	if (!p)
		return 0;
	c = code ? code_of(pf, p, code, stamp) : NULL;
	if (!c) {
		pf->unnamed++;
		return PYFRAME_PC; /* frames[0] */
	}
	line = line_of(c, off);
	s = pf_find(pf, proc_key(p), code, line, PF_FRAME, stamp);
	if (s && s->kind)
		return PYFRAME_PC | s->idx;
	f = vec_push(pf->frames, pf->nframes, pf->cap_frames);
	if (!f ||
	    !pf_add(pf, proc_key(p), code, line, PF_FRAME, stamp, (uint32_t)(pf->nframes - 1))) {
		if (f)
			pf->nframes--;
		pf->unnamed++;
		return PYFRAME_PC;
	}
	f->pid = pid;
	/* At most 60 + 2 + 50 + 1 + 11 + 1 bytes: within SNAP_SYM_LEN, NUL included. */
	if (line)
		snprintf(f->name, sizeof(f->name), "%.60s (%.50s:%d)", c->name, c->file, line);
	else
		snprintf(f->name, sizeof(f->name), "%.60s (%.50s)", c->name, c->file);
	return PYFRAME_PC | (pf->nframes - 1);
}

bool pyframes_is_eval(struct pyframes *pf, struct symbolizer *sym, int pid, uint64_t pc)
{
	const struct pf_proc *p = proc_of(pf, pid);
	size_t n = strlen(PF_EVAL_FN);
	char name[SNAP_SYM_LEN];
	struct pf_slot *s;
	const char *f;
	bool eval;

	if (!p)
		return false;
	s = pf_find(pf, proc_key(p), pc, 0, PF_EVAL, 0);
	if (s && s->kind)
		return s->idx;
	/* "FILE:_PyEval_EvalFrameDefault+0xOFF" */
	eval = symbolizer_name_code(sym, pid, pc, name, sizeof(name)) > 0 &&
	       (f = strchr(name, ':')) && !strncmp(f + 1, PF_EVAL_FN, n) &&
	       (f[1 + n] == '+' || !f[1 + n]);
	pf_add(pf, proc_key(p), pc, 0, PF_EVAL, 0, eval);
	return eval;
}

int pyframes_name(const struct pyframes *pf, int pid, uint64_t pc, char *buf, size_t len)
{
	uint64_t id = pc & ~PYFRAME_PC;

	if (!(pc & PYFRAME_PC) || id >= pf->nframes || (id && pf->frames[id].pid != pid))
		return 0;
	snprintf(buf, len, "%s", pf->frames[id].name);
	return 1;
}

uint64_t pyframes_unnamed(const struct pyframes *pf)
{
	return pf->unnamed;
}
