// SPDX-License-Identifier: GPL-2.0-only
/*
 * --stacks: stack records unwound in user space with elfutils' libdwfl, as
 * perf --call-graph dwarf does: the registers and the stack pages the BPF
 * side copied at a futex wait, and the call-frame information (.eh_frame,
 * else .debug_frame, else frame pointers) of the files the process maps,
 * opened as symbols are (tfile_open: inside the target's root, never a
 * FIFO or a device).
 *
 * A thread that waits in a loop waits from the same place with the same
 * stack pointer again and again. An unwind depends only on the registers it
 * starts from and the stack words it reads, so the last unwind from each
 * (process, ip, sp, bp) is kept with the words it read: when they hold the
 * same values in a new record, the unwind would read the same and find the
 * same stack, and it is skipped (a compare of ~50 words instead of ~20 us
 * of libdw). The one assumption: a frame's CFA is computed from rsp or rbp
 * (or memory), not from another register carried over from the wait, which
 * is what compilers emit outside hand-written assembly.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <elfutils/libdwfl.h>

#include "contrace.h"
#include "probe/pyframes.h"
#include "probe/stacks.h"
#include "util/procfs.h"
#include "util/vec.h"

#define STK_MAX_FRAMES 128 /* deeper stacks are cut (counted as partial) */
#define STK_MAX_READS 512 /* words an unwind may read and still be memoised */
#define STK_READ 3 /* u64s per read noted */
/*
 * Bytes a hint asks for beyond what the last unwind read: the same ip and
 * sp reached through callers with longer frames still unwinds whole.
 */
#define STK_HINT_SLACK 512
/* A word within this much above sp may be a frame's address (8 MiB: a thread's default stack). */
#define STK_STACK_SPAN (8ULL << 20)
#define STK_MAX_MODULES 1024
#define STK_MAX_PROCS 256 /* processes with an unwinder at once: then the oldest goes */
#define STK_MEMO 1024 /* memo entries: a power of two (1 KiB of frames each) */
#define STK_NONE 0xffffffffu
/* (thread, stack) pairs kept apart, 40 bytes each (agg_add) */
#define STK_MAX_SPLIT 65536
#define STK_REREAD_NS 100000000ULL

/* An open-addressing index of ids (id + 1 in each slot, 0: free), hashed by the caller. */
struct ix {
	uint32_t *slot;
	size_t mask, n;
};

typedef bool (*ix_eq)(const void *ctx, uint32_t id);

static uint32_t *ix_find(struct ix *x, uint64_t h, ix_eq eq, const void *ctx)
{
	size_t i;

	if (!x->slot)
		return NULL;
	for (i = h & x->mask; x->slot[i]; i = (i + 1) & x->mask)
		if (eq(ctx, x->slot[i] - 1))
			return &x->slot[i];
	return &x->slot[i];
}

/* Room for one more (rehashing by hash(id)). 0 or -ENOMEM. */
static int ix_grow(struct ix *x, uint64_t (*hash)(const void *ctx, uint32_t id), const void *ctx)
{
	size_t cap = x->slot ? 2 * (x->mask + 1) : 1024;
	uint32_t *v;

	if (x->slot && 2 * (x->n + 1) <= x->mask + 1)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; x->slot && i <= x->mask; i++) {
		size_t j;

		if (!x->slot[i])
			continue;
		for (j = hash(ctx, x->slot[i] - 1) & (cap - 1); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = x->slot[i];
	}
	free(x->slot);
	x->slot = v;
	x->mask = cap - 1;
	return 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

/* The unwinder of one process. */
struct stk_proc {
	int pid;
	uint64_t stamp; /* the maps its modules come from */
	uint64_t used; /* last use, to drop the oldest */
	Dwfl *dwfl;
	struct stacks *st;
	const struct ct_stack_rec *rec; /* being unwound */
	bool reads_over; /* read more than STK_MAX_READS words: not memoised */
	uint64_t reread_ns; /* when its maps were last read for want of a module */
};

struct stk_memo {
	uint64_t key[4]; /* pid, ip, sp, bp */
	uint64_t stamp; /* the process's maps when unwound */
	uint32_t stack; /* id, or STK_NONE */
	uint32_t partial;
	uint32_t nreads;
	uint64_t *reads; /* STK_READ words each: address, value, whether it was in the copy */
	uint32_t need; /* bytes above sp it read (0: unknown), for the thread's hint */
	uint32_t npcs;
	uint64_t pcs[STK_MAX_FRAMES]; /* the frames it found */
	size_t cap;
};

/* An interned stack: frames[first .. first + n) of struct stacks. */
struct stk_entry {
	uint32_t pid, n, partial, pad;
	uint64_t first;
};

/* A thread's wait begun with a stack record, whose end is to come; its hint. */
struct stk_pending {
	uint32_t tid, tgid, seq, stack;
	uint32_t holder, holder_tid; /* a GIL wait: its holder's Python stack (or STK_NONE), tid */
	uint64_t uaddr;
	struct ct_stack_hint hint; /* as last given to the BPF side */
	uint32_t hint_next; /* its place to replace next */
};

struct stacks {
	struct symbolizer *sym;
	struct pyframes *py; /* names Python frames; NULL: none */
	uint64_t sample_ns; /* what an on-CPU sample's stack weighs (--sample-hz) */
	int (*sink)(void *ctx, const struct ct_tl_event *e); /* --timeline: the samples */
	void *sink_ctx;
	struct stk_proc *procs[STK_MAX_PROCS];
	size_t nprocs;
	uint64_t clock;
	struct stk_memo memo[STK_MEMO];
	/* The unwind in progress. */
	uint64_t pcs[STK_MAX_FRAMES];
	uint32_t npcs;
	bool cut; /* more frames than STK_MAX_FRAMES */
	uint64_t *reads;
	size_t nreads, reads_cap;
	/* Interned stacks: table[id], their frames in `frames`. */
	struct stk_entry *table;
	size_t ntable, table_cap;
	uint64_t *frames;
	size_t nframes, frames_cap;
	struct ix stack_ix;
	/* Waits by (lock, stack): key.site is the stack id. */
	struct snap_site *agg;
	size_t nagg, agg_cap;
	struct ix agg_ix;
	struct stk_pending *pend;
	size_t npend, pend_cap;
	struct ix pend_ix;
	int hints_fd; /* ct_stack_hints, or -1 */
	uint64_t partial; /* stacks_partial */
	uint64_t none; /* stacks_not_unwound: the process could not be unwound */
	size_t nsplit; /* agg entries kept by thread (STK_MAX_SPLIT) */
	uint64_t py_missing, py_cut; /* pystacks_missing, pystacks_cut */
	uint64_t records, unwinds, hint_writes, bytes, samples;
	uint64_t cpu_ns; /* contrace's time reading and unwinding records (busy_ns) */
};

/* libdwfl's callbacks */

/*
 * Every file comes from dwfl_report_elf() with a descriptor tfile_open()
 * checked; libdwfl is never let open a file by itself: its standard
 * debuginfo search follows a module's path and .gnu_debuglink in
 * contrace's own file system, where a FIFO would block it (a target names
 * its files). Unwinding needs .eh_frame, in the file itself.
 */
static int no_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		  char **file_name, Elf **elfp)
{
	(void)mod;
	(void)userdata;
	(void)name;
	(void)base;
	(void)file_name;
	*elfp = NULL;
	return -1;
}

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod;
	(void)userdata;
	(void)modname;
	(void)base;
	(void)file_name;
	(void)debuglink_file;
	(void)debuglink_crc;
	(void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = no_elf,
	.find_debuginfo = no_debuginfo,
};

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0; /* threads are named one at a time (cb_get_thread) */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)tid;
	*thread_argp = arg;
	return true;
}

/* A word of the copied stack, noted for the memo. */
static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct stk_proc *p = arg;
	const struct ct_stack_rec *r = p->rec;
	struct stacks *st = p->st;
	uint64_t *e;

	bool in = addr >= r->base && addr - r->base <= r->len - sizeof(uint64_t);

	(void)dwfl;
	*result = 0;
	if (in)
		memcpy(result, r->data + (addr - r->base), sizeof(uint64_t));
	/* A read past the copy is noted too: a longer copy may unwind further. */
	if (st->nreads >= STK_MAX_READS ||
	    vec_reserve(st->reads, st->reads_cap, STK_READ * (st->nreads + 1))) {
		p->reads_over = true;
		return in;
	}
	e = &st->reads[STK_READ * st->nreads++];
	e[0] = addr;
	e[1] = *result;
	e[2] = in;
	return in;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct stk_proc *p = arg;
	Dwarf_Word regs[CT_STACK_REGS];

	for (int i = 0; i < CT_STACK_REGS; i++)
		regs[i] = p->rec->regs[i];
	/* rip is the return address column (16); the frame's pc is set apart. */
	if (!dwfl_thread_state_registers(thread, 0, CT_STACK_REGS - 1, regs))
		return false;
	dwfl_thread_state_register_pc(thread, regs[CT_STACK_REGS - 1]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static int cb_frame(Dwfl_Frame *state, void *arg)
{
	struct stacks *st = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (st->npcs >= STK_MAX_FRAMES) {
		st->cut = true;
		return DWARF_CB_ABORT;
	}
	/* A caller's pc is a return address: its call instruction ends just before. */
	st->pcs[st->npcs++] = activation ? pc : pc - 1;
	return DWARF_CB_OK;
}

/* Processes */

static void proc_free(struct stk_proc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	free(p);
}

/* Report the executable files pid maps to a new Dwfl. 0, or -errno. */
static int proc_load(struct stacks *st, struct stk_proc *p)
{
	static struct sym_module mods[STK_MAX_MODULES];
	size_t n = symbolizer_modules(st->sym, p->pid, mods, STK_MAX_MODULES);
	int reported = 0;

	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = dwfl_begin(&dwfl_cbs);
	if (!p->dwfl)
		return -ENOMEM;
	p->stamp = symbolizer_stamp(st->sym, p->pid);
	dwfl_report_begin(p->dwfl);
	for (size_t i = 0; i < n; i++) {
		int fd = symbolizer_open_module(st->sym, p->pid, &mods[i]);

		if (fd < 0)
			continue;
		/* The base is the load bias; libdwfl consumes fd. */
		if (dwfl_report_elf(p->dwfl, mods[i].label, mods[i].path, fd, mods[i].bias, true))
			reported++;
		else
			close(fd);
	}
	dwfl_report_end(p->dwfl, NULL, NULL);
	if (!reported || !dwfl_attach_state(p->dwfl, NULL, p->pid, &thread_cbs, p))
		return -ENOENT;
	return 0;
}

/* The unwinder of pid, its modules as the symbolizer last read them. NULL: none. */
static struct stk_proc *proc_get(struct stacks *st, int pid)
{
	struct stk_proc *p = NULL;
	size_t oldest = 0;

	for (size_t i = 0; i < st->nprocs; i++) {
		if (st->procs[i]->pid == pid)
			p = st->procs[i];
		else if (st->procs[i]->used < st->procs[oldest]->used)
			oldest = i;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pid = pid;
		p->st = st;
		if (st->nprocs == STK_MAX_PROCS) {
			proc_free(st->procs[oldest]);
			st->procs[oldest] = p;
		} else {
			st->procs[st->nprocs++] = p;
		}
	}
	p->used = ++st->clock;
	if (p->dwfl && p->stamp == symbolizer_stamp(st->sym, pid))
		return p;
	if (!proc_load(st, p))
		return p;
	/*
	 * A process that has just started (its maps not read yet) or just
	 * mapped its libraries: read its maps now, at most every 100 ms.
	 */
	if (mono_ns() - p->reread_ns < STK_REREAD_NS)
		return NULL;
	p->reread_ns = mono_ns();
	if (symbolizer_update(st->sym, pid) || proc_load(st, p))
		return NULL;
	return p;
}

/* Interning */

struct stk_probe {
	const struct stacks *st;
	uint32_t pid, n, partial;
	const uint64_t *pcs;
};

static uint64_t stack_hash(uint32_t pid, const uint64_t *pcs, uint32_t n, uint32_t partial)
{
	uint64_t h = mix(pid, (uint64_t)n << 1 | partial);

	for (uint32_t i = 0; i < n; i++)
		h = mix(h, pcs[i]);
	return h;
}

static uint64_t stack_rehash(const void *ctx, uint32_t id)
{
	const struct stacks *st = ctx;
	const struct stk_entry *s = &st->table[id];

	return stack_hash(s->pid, st->frames + s->first, s->n, s->partial);
}

static bool stack_eq(const void *ctx, uint32_t id)
{
	const struct stk_probe *k = ctx;
	const struct stk_entry *s = &k->st->table[id];

	return s->pid == k->pid && s->n == k->n && s->partial == k->partial &&
	       !memcmp(k->st->frames + s->first, k->pcs, k->n * sizeof(*k->pcs));
}

/* The id of the stack just unwound (st->pcs), interned. STK_NONE: out of memory. */
static uint32_t stack_intern(struct stacks *st, uint32_t pid, uint32_t partial)
{
	struct stk_probe k = { st, pid, st->npcs, partial, st->pcs };
	uint64_t h = stack_hash(pid, st->pcs, st->npcs, partial);
	struct stk_entry *s;
	uint32_t *slot;

	if (ix_grow(&st->stack_ix, stack_rehash, st))
		return STK_NONE;
	slot = ix_find(&st->stack_ix, h, stack_eq, &k);
	if (*slot)
		return *slot - 1;
	if (vec_append(st->frames, st->nframes, st->frames_cap, st->pcs, st->npcs))
		return STK_NONE;
	s = vec_push(st->table, st->ntable, st->table_cap);
	if (!s) {
		st->nframes -= st->npcs;
		return STK_NONE;
	}
	s->pid = pid;
	s->n = st->npcs;
	s->partial = partial;
	s->first = st->nframes - st->npcs;
	*slot = (uint32_t)st->ntable;
	st->stack_ix.n++;
	return *slot - 1;
}

/* Unwinding, with the memo */

/* rbp, if it may be a frame pointer (else a register like any other: a counter). */
static uint64_t key_bp(const struct ct_stack_rec *r)
{
	return r->regs[6] >= r->regs[7] && r->regs[6] - r->regs[7] < STK_STACK_SPAN ? r->regs[6] :
										      0;
}

static struct stk_memo *memo_of(struct stacks *st, const struct ct_stack_rec *r)
{
	uint64_t h = mix(mix(mix(r->tgid, r->regs[16]), r->regs[7]), key_bp(r));

	return &st->memo[h & (STK_MEMO - 1)];
}

/*
 * Whether a word an unwind read can change where it goes: a return address
 * it found, or an address in the stack above sp (a saved frame pointer, a
 * realigned frame's pointer to its caller's: what CFA rules compute from).
 * Other words it reads are callee-saved registers being restored (loop
 * counters, pointers into the heap): no CFA rule of compiled code uses
 * them, and a thread waiting in a loop has different ones each time.
 */
static bool steers(const struct stk_memo *m, uint64_t v, uint64_t sp)
{
	if (v >= sp && v - sp < STK_STACK_SPAN)
		return true;
	for (uint32_t i = 0; i < m->npcs; i++)
		if (v == m->pcs[i] + 1 || v == m->pcs[i])
			return true;
	return false;
}

/*
 * Whether an unwind of r would read what m's did: each word it read is in
 * r's copy with the same value, each it could not read is not in it
 * either (whatever the copy's start and length: a hinted copy or pages).
 */
static bool memo_hit(const struct stk_memo *m, const struct ct_stack_rec *r, uint64_t stamp)
{
	if (!m->reads || m->key[0] != r->tgid || m->key[1] != r->regs[16] ||
	    m->key[2] != r->regs[7] || m->key[3] != key_bp(r) || m->stamp != stamp)
		return false;
	for (uint32_t i = 0; i < m->nreads; i++) {
		const uint64_t *e = &m->reads[STK_READ * i];
		bool in = e[0] >= r->base && e[0] - r->base <= r->len - sizeof(uint64_t);
		uint64_t v;

		if (in != (bool)e[2])
			return false;
		if (!in || !steers(m, e[1], r->regs[7]))
			continue;
		memcpy(&v, r->data + (e[0] - r->base), sizeof(v));
		if (v != e[1])
			return false;
	}
	return true;
}

/* The bytes above sp the unwind read (st->reads), with slack; 0 if it read below sp. */
static uint32_t reads_need(const struct stacks *st, uint64_t sp)
{
	uint64_t top = sp;

	for (size_t i = 0; i < st->nreads; i++) {
		const uint64_t *e = &st->reads[STK_READ * i];

		if (!e[2])
			continue;
		if (e[0] < sp)
			return 0;
		if (e[0] + sizeof(uint64_t) > top)
			top = e[0] + sizeof(uint64_t);
	}
	top += STK_HINT_SLACK;
	return top - sp > CT_STACK_BYTES ? CT_STACK_BYTES : (uint32_t)(top - sp);
}

/* Keep the unwind just done (st->reads) in m; if there is no memory for it, m is emptied. */
static void memo_keep(struct stacks *st, struct stk_memo *m, const struct ct_stack_rec *r,
		      uint64_t stamp, uint32_t id, uint32_t partial)
{
	if (vec_reserve(m->reads, m->cap, STK_READ * (st->nreads + 1))) {
		m->key[0] = 0; /* no process has tgid 0: never hit */
		return;
	}
	if (st->nreads)
		memcpy(m->reads, st->reads, STK_READ * st->nreads * sizeof(uint64_t));
	m->nreads = (uint32_t)st->nreads;
	m->need = reads_need(st, r->regs[7]);
	m->npcs = st->npcs;
	memcpy(m->pcs, st->pcs, st->npcs * sizeof(*m->pcs));
	m->key[0] = r->tgid;
	m->key[1] = r->regs[16];
	m->key[2] = r->regs[7];
	m->key[3] = key_bp(r);
	m->stamp = stamp;
	m->stack = id;
	m->partial = partial;
}

/*
 * Whether the frame at pc (a return address less one, as the unwinder looks
 * it up) is a thread's first: its call-frame information says the caller's
 * return address is undefined (the C library's clone3 and _start). elfutils
 * also ends an unwind, with success, where a return address it reads is 0;
 * no first frame on x86_64 ends that way, and a stack that does was cut
 * short at a misread frame (or a thunk that pushed 0): not whole.
 */
static bool first_frame(Dwfl *dwfl, uint64_t pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	Dwarf_CFI *cfi[2];
	Dwarf_Addr bias[2];

	if (!mod)
		return false;
	cfi[0] = dwfl_module_eh_cfi(mod, &bias[0]);
	cfi[1] = dwfl_module_dwarf_cfi(mod, &bias[1]);
	/* The order elfutils' unwinder takes them in: the first with an entry for pc. */
	for (int i = 0; i < 2; i++) {
		Dwarf_Frame *frame;
		Dwarf_Op mem[3], *ops;
		size_t nops;
		bool undefined;
		int ra;

		if (!cfi[i] || dwarf_cfi_addrframe(cfi[i], pc - bias[i], &frame))
			continue;
		ra = dwarf_frame_info(frame, NULL, NULL, NULL);
		undefined = ra >= 0 && !dwarf_frame_register(frame, ra, mem, &ops, &nops) &&
			    nops == 0 && ops == mem;
		free(frame);
		return undefined;
	}
	return false;
}

/* Unwind r into st->pcs. Whether it was cut short. */
static bool unwind_once(struct stacks *st, struct stk_proc *p, const struct ct_stack_rec *r)
{
	int ret;

	st->unwinds++;
	p->rec = r;
	p->reads_over = false;
	st->npcs = 0;
	st->cut = false;
	st->nreads = 0;
	ret = dwfl_getthread_frames(p->dwfl, (pid_t)r->tid, cb_frame, st);
	/* 0: no error, at a first frame or at a return address of 0 (first_frame()). */
	return ret != 0 || st->cut || !st->npcs || !first_frame(p->dwfl, st->pcs[st->npcs - 1]);
}

/*
 * Whether p's maps were read again for an unwind cut short at a pc in no
 * module (a library mapped since: at exec the maps are read before the
 * loader maps the C library), at most every 100 ms.
 */
static bool reread(struct stacks *st, struct stk_proc *p)
{
	if (st->cut || !st->npcs || dwfl_addrmodule(p->dwfl, st->pcs[st->npcs - 1]) ||
	    mono_ns() - p->reread_ns < STK_REREAD_NS)
		return false;
	p->reread_ns = mono_ns();
	return !symbolizer_update(st->sym, p->pid) && !proc_load(st, p);
}

/*
 * The stack id of record r (STK_NONE: nothing unwound), and in *need the
 * bytes above sp the thread's next copy from the same place should hold
 * (0: whole pages, as when there is no hint).
 */
static uint32_t unwind(struct stacks *st, const struct ct_stack_rec *r, uint32_t *need)
{
	struct stk_proc *p = proc_get(st, (int)r->tgid);
	struct stk_memo *m = memo_of(st, r);
	bool hinted = r->base == r->regs[7];
	uint32_t id, partial;

	*need = 0;
	if (!p) {
		st->none++;
		return STK_NONE;
	}
	/*
	 * An on-CPU sample: a new place nearly every time, which would only
	 * push the waits' places out of the memo.
	 */
	if (r->kind == CT_STK_SAMPLE) {
		st->samples++;
		partial = unwind_once(st, p, r);
		if (partial && reread(st, p))
			partial = unwind_once(st, p, r);
		st->partial += partial;
		return st->npcs ? stack_intern(st, r->tgid, partial) : STK_NONE;
	}
	if (m->key[0] && memo_hit(m, r, p->stamp)) {
		st->partial += m->partial;
		*need = m->partial && hinted ? 0 : m->need;
		return m->stack;
	}
	partial = unwind_once(st, p, r);
	if (partial && reread(st, p))
		partial = unwind_once(st, p, r);
	st->partial += partial;
	id = st->npcs ? stack_intern(st, r->tgid, partial) : STK_NONE;
	if (p->reads_over) {
		m->key[0] = 0;
		return id;
	}
	memo_keep(st, m, r, p->stamp, id, partial);
	/* Cut short in a copy the hint made: too short, maybe; pages next time. */
	*need = partial && hinted ? 0 : m->need;
	return id;
}

/* Python */

/* The pc of Python frame f of record r. */
static uint64_t python_pc(struct stacks *st, const struct ct_stack_rec *r,
			  const struct ct_py_frame *f)
{
	return pyframes_pc(st->py, (int)r->tgid, f->code, f->flags >> CT_PYF_STAMP_SHIFT, f->off);
}

/* Python frames py[*i ..] up to the next first frame of an evaluation, as pcs into st->pcs. */
static void python_run(struct stacks *st, const struct ct_stack_rec *r, uint32_t n, uint32_t *i)
{
	while (*i < n) {
		const struct ct_py_frame *f = &r->py[(*i)++];

		if (st->npcs == STK_MAX_FRAMES) {
			st->cut = true;
			return;
		}
		st->pcs[st->npcs++] = python_pc(st, r, f);
		if (f->flags & CT_PYF_ENTRY)
			return;
	}
}

/*
 * The native stack `id` of record r with its Python frames in place of the
 * interpreter's: each native call of the evaluation function gives way to
 * the Python frames it ran, innermost first (frames left over when the
 * native stack ends short go at its end: they are its callers). The merged
 * stack's id; `id` itself if r has no Python frames.
 */
static uint32_t merge_python(struct stacks *st, const struct ct_stack_rec *r, uint32_t id,
			     uint32_t n)
{
	const struct stk_entry *e = &st->table[id];
	uint32_t i = 0, partial = e->partial || r->py_state != CT_PYS_OK;

	st->npcs = 0;
	st->cut = false;
	for (uint32_t k = 0; k < e->n && !st->cut; k++) {
		uint64_t pc = st->frames[e->first + k];

		if (i < n && pyframes_is_eval(st->py, st->sym, (int)r->tgid, pc)) {
			python_run(st, r, n, &i);
		} else if (st->npcs < STK_MAX_FRAMES) {
			st->pcs[st->npcs++] = pc;
		} else {
			st->cut = true;
		}
	}
	while (i < n && !st->cut)
		python_run(st, r, n, &i);
	return stack_intern(st, r->tgid, partial || st->cut);
}

/* The stack of record r: its native stack `id` with its Python frames, if it has any. */
static uint32_t with_python(struct stacks *st, const struct ct_stack_rec *r, uint32_t id)
{
	uint32_t n = r->npy < CT_PY_FRAMES ? r->npy : CT_PY_FRAMES;

	if (!st->py || r->py_state == CT_PYS_NONE)
		return id;
	if (r->py_state == CT_PYS_NO_TSTATE || r->py_state == CT_PYS_UNREAD)
		st->py_missing++;
	else if (r->py_state == CT_PYS_CUT)
		st->py_cut++;
	return n && id != STK_NONE ? merge_python(st, r, id, n) : id;
}

/* Waits in progress and ended */

struct pend_probe {
	const struct stacks *st;
	uint32_t tid;
};

static uint64_t pend_rehash(const void *ctx, uint32_t id)
{
	return mix(0, ((const struct stacks *)ctx)->pend[id].tid);
}

static bool pend_eq(const void *ctx, uint32_t id)
{
	const struct pend_probe *k = ctx;

	return k->st->pend[id].tid == k->tid;
}

static struct stk_pending *pending(struct stacks *st, uint32_t tid, bool add)
{
	struct pend_probe k = { st, tid };
	struct stk_pending *e;
	uint32_t *slot;

	if (add && ix_grow(&st->pend_ix, pend_rehash, st))
		return NULL;
	slot = ix_find(&st->pend_ix, mix(0, tid), pend_eq, &k);
	if (!slot || *slot || !add)
		return slot && *slot ? &st->pend[*slot - 1] : NULL;
	e = vec_push(st->pend, st->npend, st->pend_cap);
	if (!e)
		return NULL;
	e->tid = tid;
	*slot = (uint32_t)st->npend;
	st->pend_ix.n++;
	return e;
}

static uint64_t agg_hash(const struct ct_site_key *k)
{
	return mix(mix(mix(k->tgid, k->uaddr), k->site), k->tid);
}

static uint64_t agg_rehash(const void *ctx, uint32_t id)
{
	return agg_hash(&((const struct stacks *)ctx)->agg[id].key);
}

struct agg_probe {
	const struct stacks *st;
	const struct ct_site_key *key;
};

static bool agg_eq(const void *ctx, uint32_t id)
{
	const struct agg_probe *k = ctx;
	const struct ct_site_key *a = &k->st->agg[id].key;

	return a->tgid == k->key->tgid && a->uaddr == k->key->uaddr && a->site == k->key->site &&
	       a->tid == k->key->tid;
}

/*
 * One more wait (or sample) of thread tid of tgid, on uaddr, from a stack.
 * Kept by thread while there are fewer than STK_MAX_SPLIT (thread, stack)
 * pairs; past that, a new pair goes to the stack alone (tid 0), so that a
 * server making a thread per request does not grow the table per request.
 */
static void agg_add(struct stacks *st, uint32_t tgid, uint32_t tid, uint64_t uaddr, uint32_t stack,
		    uint64_t wait_ns)
{
	struct ct_site_key key = { .tgid = tgid, .tid = tid, .uaddr = uaddr, .site = stack };
	struct agg_probe k = { st, &key };
	struct snap_site *e;
	uint32_t *slot;

	if (ix_grow(&st->agg_ix, agg_rehash, st))
		return;
	slot = ix_find(&st->agg_ix, agg_hash(&key), agg_eq, &k);
	if (!*slot && key.tid && st->nsplit >= STK_MAX_SPLIT) {
		key.tid = 0;
		slot = ix_find(&st->agg_ix, agg_hash(&key), agg_eq, &k);
	}
	if (!*slot) {
		st->nsplit += key.tid != 0;
		e = vec_push(st->agg, st->nagg, st->agg_cap);
		if (!e)
			return;
		e->key = key;
		*slot = (uint32_t)st->nagg;
		st->agg_ix.n++;
	}
	e = &st->agg[*slot - 1];
	e->val.waits++;
	e->val.wait_ns += wait_ns;
}

/*
 * Tell the BPF side how much of the thread's stack its next wait from here
 * needs (0: whole pages): the place of this ip and sp, else the older one.
 */
static void set_hint(struct stacks *st, struct stk_pending *p, const struct ct_stack_rec *r,
		     uint32_t need)
{
	struct ct_stack_hint_place e = { .ip = r->regs[16], .sp = r->regs[7], .len = need };
	struct ct_stack_hint_place *slot = NULL;

	for (int k = 0; k < CT_STACK_HINTS; k++)
		if (p->hint.e[k].ip == e.ip && p->hint.e[k].sp == e.sp)
			slot = &p->hint.e[k];
	if (slot && slot->len == need)
		return;
	if (!slot && !need)
		return; /* no hint for this place: pages already */
	if (!slot)
		slot = &p->hint.e[p->hint_next++ % CT_STACK_HINTS];
	*slot = e;
	/* A failure (the map full) only costs a longer copy. */
	if (st->hints_fd >= 0)
		bpf_map_update_elem(st->hints_fd, &p->tid, &p->hint, BPF_ANY);
	st->hint_writes++;
}

static void on_begin(struct stacks *st, const struct ct_stack_rec *r, size_t size)
{
	struct stk_pending *p;
	uint32_t id, need;

	if (size < offsetof(struct ct_stack_rec, data) + r->len || r->len > CT_STACK_BYTES ||
	    r->len < sizeof(uint64_t)) {
		st->partial++;
		return;
	}
	st->records++;
	st->bytes += r->len;
	id = with_python(st, r, unwind(st, r, &need));
	p = pending(st, r->tid, true);
	if (!p)
		return;
	set_hint(st, p, r, need);
	p->tgid = r->tgid;
	p->seq = r->seq;
	p->uaddr = r->uaddr;
	p->stack = id;
	p->holder = STK_NONE;
}

/* The n Python frames of r alone, interned (STK_NONE: out of memory). */
static uint32_t python_stack(struct stacks *st, const struct ct_stack_rec *r, uint32_t n)
{
	st->npcs = 0;
	for (uint32_t i = 0; i < n; i++)
		st->pcs[st->npcs++] = python_pc(st, r, &r->py[i]);
	return stack_intern(st, r->tgid, r->py_state != CT_PYS_OK);
}

/*
 * The Python frames of the GIL's holder when wait p began: a
 * stack of their own (no native frames: those were not copied), its waits
 * under SNAP_GIL_HOLDER | the holder's tid.
 */
static void on_holder(struct stacks *st, const struct ct_stack_rec *r, size_t size)
{
	struct stk_pending *p = pending(st, r->tid, false);
	uint32_t n = r->npy < CT_PY_FRAMES ? r->npy : CT_PY_FRAMES;

	if (!st->py || !p || p->seq != r->seq || p->tgid != r->tgid || !n ||
	    size < offsetof(struct ct_stack_rec, py) + n * sizeof(r->py[0]))
		return;
	if (r->py_state == CT_PYS_CUT)
		st->py_cut++;
	p->holder = python_stack(st, r, n);
	p->holder_tid = (uint32_t)r->uaddr;
}

/* A sample's stack, id, under SNAP_ONCPU; and to the timeline's sink. */
static void sample_add(struct stacks *st, const struct ct_stack_rec *r, uint32_t id)
{
	struct ct_tl_event e = {
		.ts = r->ts,
		.slot = r->slot,
		.kind = CT_TL_SAMPLE,
		.how = (__u16)r->uaddr,
		.nr = CT_SYS_NONE,
		.other = r->tid,
		.uaddr = id,
	};

	if (id == STK_NONE)
		return;
	agg_add(st, r->tgid, r->tid, SNAP_ONCPU | r->uaddr, id, st->sample_ns);
	if (st->sink)
		st->sink(st->sink_ctx, &e);
}

/* A CPU-clock sample: its stack weighs st->sample_ns under SNAP_ONCPU. */
static void on_sample(struct stacks *st, const struct ct_stack_rec *r, size_t size)
{
	uint32_t n = r->npy < CT_PY_FRAMES ? r->npy : CT_PY_FRAMES, need;

	if (r->uaddr >= CT_SMP_CLASSES)
		return;
	/* A native program's: its stack bytes, unwound. */
	if (r->len) {
		if (size < offsetof(struct ct_stack_rec, data) + r->len ||
		    r->len > CT_STACK_BYTES || r->len < sizeof(uint64_t))
			return;
		sample_add(st, r, unwind(st, r, &need));
		return;
	}
	if (!st->py || !n || size < offsetof(struct ct_stack_rec, py) + n * sizeof(r->py[0]))
		return;
	if (r->py_state == CT_PYS_CUT)
		st->py_cut++;
	sample_add(st, r, python_stack(st, r, n));
}

static void on_end(struct stacks *st, const struct ct_stack_end *e)
{
	struct stk_pending *p = pending(st, e->tid, false);

	/* A wait whose stack was not unwound stays out: the report shows it as such. */
	if (!p || p->seq != e->seq || p->tgid != e->tgid || p->stack == STK_NONE)
		return;
	agg_add(st, p->tgid, p->tid, p->uaddr, p->stack, e->wait_ns);
	if (p->holder != STK_NONE)
		agg_add(st, p->tgid, p->tid, SNAP_GIL_HOLDER | p->holder_tid, p->holder,
			e->wait_ns);
	p->seq = 0;
}

/*
 * The time contrace spends on the records, by the monotonic clock (the
 * vDSO: tens of ns). CLOCK_THREAD_CPUTIME_ID is a syscall: read twice per
 * record it cost more than the memo's answer itself (3.1 s of contrace's
 * CPU for 280,000 records of a Python lock ping-pong, 1.4 s without). The
 * thread is running while it reads them: this is its CPU, unless the
 * kernel preempts it meanwhile.
 */
static uint64_t busy_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct stacks *st = ctx;
	const __u32 *kind = data;
	uint64_t t0 = busy_ns();

	if (size >= sizeof(struct ct_stack_end) && *kind == CT_STK_END)
		on_end(st, data);
	else if (size >= offsetof(struct ct_stack_rec, data) && *kind == CT_STK_BEGIN)
		on_begin(st, data, size);
	else if (size >= offsetof(struct ct_stack_rec, py) && *kind == CT_STK_HOLDER)
		on_holder(st, data, size);
	else if (size >= offsetof(struct ct_stack_rec, py) && *kind == CT_STK_SAMPLE)
		on_sample(st, data, size);
	st->cpu_ns += busy_ns() - t0;
	return 0;
}

/* Interface */

struct stacks *stacks_new(struct symbolizer *sym, struct pyframes *py, uint64_t sample_ns)
{
	struct stacks *st = calloc(1, sizeof(*st));

	if (st) {
		st->sym = sym;
		st->py = py;
		st->sample_ns = sample_ns;
		st->hints_fd = -1;
	}
	return st;
}

void stacks_sample_sink(struct stacks *st, int (*sink)(void *ctx, const struct ct_tl_event *e),
			void *ctx)
{
	st->sink = sink;
	st->sink_ctx = ctx;
}

void stacks_free(struct stacks *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nprocs; i++)
		proc_free(st->procs[i]);
	for (size_t i = 0; i < STK_MEMO; i++)
		free(st->memo[i].reads);
	free(st->reads);
	free(st->table);
	free(st->frames);
	free(st->stack_ix.slot);
	free(st->agg);
	free(st->agg_ix.slot);
	free(st->pend);
	free(st->pend_ix.slot);
	free(st);
}

int stacks_add_ring(struct stacks *st, struct ring_buffer *rb, int fd, int hints_fd)
{
	st->hints_fd = hints_fd;
	return ring_buffer__add(rb, fd, on_record, st);
}

/* The interned stacks as the snapshot's keyed arrays (allocated to their counts). */
static int export_stacks(const struct stacks *st, struct snapshot *s)
{
	s->stacks = calloc(st->ntable, sizeof(*s->stacks));
	s->frames = calloc(st->nframes ? st->nframes : 1, sizeof(*s->frames));
	if (!s->stacks || !s->frames)
		return -ENOMEM;
	for (size_t i = 0; i < st->ntable; i++) {
		const struct stk_entry *e = &st->table[i];

		s->stacks[i] = (struct snap_stack){
			.id = (uint32_t)i, .pid = e->pid, .n = e->n, .partial = e->partial
		};
		for (uint32_t j = 0; j < e->n; j++)
			s->frames[s->nframes++] = (struct snap_frame){
				.stack = (uint32_t)i, .index = j, .pc = st->frames[e->first + j]
			};
	}
	s->nstacks = st->ntable;
	return 0;
}

int stacks_snapshot(struct stacks *st, struct snapshot *s)
{
	size_t cap = 0;

	s->counters.stacks_partial = st->partial;
	s->counters.stacks_none = st->none;
	s->counters.pystacks_missing = st->py_missing;
	s->counters.pystacks_cut = st->py_cut;
	s->counters.pyframes_unnamed = st->py ? pyframes_unnamed(st->py) : 0;
	if (!st->ntable)
		return 0;
	if (vec_append(s->lstacks, s->nlstacks, cap, st->agg, st->nagg))
		return -ENOMEM;
	return export_stacks(st, s);
}

void stacks_count_unnamed(struct snapshot *s)
{
	uint64_t n = 0;

	for (size_t i = 0, f = 0; i < s->nstacks; i++)
		for (; f < s->nframes && s->frames[f].stack <= s->stacks[i].id; f++) {
			const struct snap_sym *y;

			if (s->frames[f].stack != s->stacks[i].id)
				continue;
			y = snapshot_find_sym(s, s->stacks[i].pid, SNAP_SYM_CODE, s->frames[f].pc);
			n += !y || !y->found;
		}
	s->counters.frames_unnamed = n;
}

void stacks_stats(const struct stacks *st, struct stacks_stats *out)
{
	out->records = st->records;
	out->unwinds = st->unwinds;
	out->samples = st->samples;
	out->hint_writes = st->hint_writes;
	out->bytes = st->bytes;
	out->cpu_ns = st->cpu_ns;
}
