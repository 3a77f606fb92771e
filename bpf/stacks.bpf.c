// SPDX-License-Identifier: GPL-2.0-only
/*
 * --stacks: at a blocking futex wait the thread is current and its user
 * registers are saved at the syscall's entry, so its user stack can be
 * read as it stands while it sleeps. The C library and the distributions'
 * binaries keep no frame pointers (Debian's glibc, python3.11), so a
 * frame-pointer walk (bpf_get_stack) would lose the very caller of
 * pthread_mutex_lock: the registers and the stack's pages go to user space,
 * which unwinds them with the binaries' call-frame information (.eh_frame),
 * the way perf --call-graph dwarf does. The wait's end sends its length.
 */
#include "stacks.bpf.h"
#include "gil.bpf.h"
#include "pylayout.h"

/*
 * 16 MiB: about 1,300 stack records. User space is woken when an eighth
 * is used (else at its next refresh): a wakeup per record would add a
 * context switch to every wait of the target.
 */
#define CT_STACKS_RING (16u << 20)
#define CT_STACKS_WAKE (CT_STACKS_RING / 8)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CT_STACKS_RING);
} ct_stacks SEC(".maps");

/* By thread id; LRU: the threads that waited last keep theirs. Sized by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_stack_hint);
} ct_stack_hints SEC(".maps");

/*
 * A record is built here, then copied into the ring as long as it is
 * (bpf_ringbuf_output): entry CT_BUF_WAIT at a futex wait, CT_BUF_SAMPLE in
 * the CPU-clock sampler, which may interrupt a wait's record being built.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct ct_stack_rec);
} ct_stack_buf SEC(".maps");

enum { CT_BUF_WAIT = 0, CT_BUF_SAMPLE = 1 };

static __always_inline __u64 ct_stacks_flags(void)
{
	return bpf_ringbuf_query(&ct_stacks, BPF_RB_AVAIL_DATA) >= CT_STACKS_WAKE ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

/* The registers in DWARF's numbering (CT_STACK_REGS). */
static __always_inline void ct_stack_regs(struct ct_stack_rec *r, const struct pt_regs *regs)
{
	r->regs[0] = regs->ax;
	r->regs[1] = regs->dx;
	r->regs[2] = regs->cx;
	r->regs[3] = regs->bx;
	r->regs[4] = regs->si;
	r->regs[5] = regs->di;
	r->regs[6] = regs->bp;
	r->regs[7] = regs->sp;
	r->regs[8] = regs->r8;
	r->regs[9] = regs->r9;
	r->regs[10] = regs->r10;
	r->regs[11] = regs->r11;
	r->regs[12] = regs->r12;
	r->regs[13] = regs->r13;
	r->regs[14] = regs->r14;
	r->regs[15] = regs->r15;
	r->regs[16] = regs->ip;
}

/*
 * The stack's pages from the one holding sp up: whole pages at fixed
 * offsets (the verifier then checks no arithmetic), each read on its own so
 * that the end of the stack's mapping (a thread's top, the main stack's
 * end) stops the copy there instead of failing all of it. Bytes read.
 */
static __always_inline __u32 ct_stack_copy(struct ct_stack_rec *r, __u64 sp)
{
	__u64 base = sp & ~(__u64)(CT_STACK_PAGE - 1);
	__u32 len = 0;

	r->base = base;
#pragma unroll
	for (int i = 0; i < CT_STACK_PAGES; i++) {
		if (bpf_probe_read_user(r->data + i * CT_STACK_PAGE, CT_STACK_PAGE,
					(void *)(base + i * CT_STACK_PAGE)))
			break;
		len += CT_STACK_PAGE;
	}
	return len;
}

/*
 * A thread that waits again from the place its hint names: the bytes from
 * sp that its last unwind read (hundreds, not pages). 0 if there is no
 * hint or they cannot be read.
 */
static __always_inline __u32 ct_stack_hinted(struct ct_stack_rec *r, __u32 tid, __u64 ip, __u64 sp)
{
	struct ct_stack_hint *h = bpf_map_lookup_elem(&ct_stack_hints, &tid);
	__u32 len = 0;

	if (!h)
		return 0;
	for (int k = 0; k < CT_STACK_HINTS; k++)
		if (h->e[k].ip == ip && h->e[k].sp == sp)
			len = h->e[k].len;
	if (!len || len > CT_STACK_BYTES)
		return 0;
	if (bpf_probe_read_user(r->data, len, (void *)sp))
		return 0;
	r->base = sp;
	return len;
}

/* Frames looked at per wait: CT_PY_FRAMES kept, and 3.12+'s entry shims between them. */
#define CT_PY_WALK (CT_PY_FRAMES + 16)

/* The index of the layout of process tgid's Python frames, CT_PY_LAYOUTS if it has none known. */
static __always_inline __u32 ct_py_layout_of(__u32 tgid)
{
	struct ct_gil_addrs *a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);

	if (!a || !a->py_layout || a->exec || a->py_layout > CT_PY_LAYOUTS)
		return CT_PY_LAYOUTS;
	return a->py_layout - 1;
}

/* A field of a frame read into buf (CT_PY_FRAME_READ bytes): 8 bytes at off, or 1 (byte). */
static __always_inline __u64 ct_py_field(const __u64 *buf, __u32 off, int byte)
{
	__u32 i = off / 8;
	__u64 v;

	/* clang knows the table's offsets and would drop the bound the verifier needs. */
	barrier_var(i);
	if (off == CT_PY_NONE || i >= CT_PY_FRAME_READ / 8)
		return 0;
	v = buf[i];
	return byte ? (v >> ((off % 8) * 8)) & 0xff : v;
}

/* A 4-byte int at off (a multiple of 4) of buf. */
static __always_inline __u32 ct_py_int(const __u64 *buf, __u32 off)
{
	return (__u32)(ct_py_field(buf, off & ~7u, 0) >> ((off % 8) * 8));
}

/* The byte offset of a frame's instruction in its code object's bytecode. */
static __always_inline __s32 ct_py_off(const struct ct_py_layout *L, const __u64 *buf, __u64 code)
{
	__u64 v = ct_py_field(buf, L->f_instr & ~7u, 0);

	if (L->instr == CT_PY_INSTR_PTR)
		return (__s32)(v - (code + L->co_code));
	/* f_lasti, an int */
	v = ct_py_int(buf, L->f_instr);
	return L->instr == CT_PY_LASTI_UNITS ? (__s32)v * 2 : (__s32)v;
}

/*
 * The walk's state, between bpf_loop()'s steps: small, on a stack at the
 * bottom of a deep chain (the record and the layout are looked up again).
 */
struct ct_py_walk {
	__u64 f; /* the frame to read next, 0: the end */
	__u32 n;
	__u16 layout; /* index into ct_py_layouts */
	__u16 buf; /* CT_BUF_WAIT or CT_BUF_SAMPLE: the record's entry of ct_stack_buf */
};

/* One frame: 0 to go on, 1 to stop. */
static long ct_py_step(__u64 i, struct ct_py_walk *w)
{
	const struct ct_py_layout *L;
	struct ct_stack_rec *r;
	__u32 k = w->buf, n = w->n, flags;
	__u64 *buf, code;

	r = bpf_map_lookup_elem(&ct_stack_buf, &k);
	if (!w->f || !r || w->layout >= CT_PY_LAYOUTS)
		return 1;
	L = &ct_py_layouts[w->layout];
	buf = (__u64 *)r->data;
	if (bpf_probe_read_user(buf, CT_PY_FRAME_READ, (void *)w->f)) {
		r->py_state = CT_PYS_UNREAD;
		return 1;
	}
	w->f = ct_py_field(buf, L->f_back, 0);
	if (L->f_owner != CT_PY_NONE && ct_py_field(buf, L->f_owner, 1) == CT_PY_OWNED_BY_CSTACK) {
		if (n > 0 && n <= CT_PY_FRAMES)
			r->py[n - 1].flags |= CT_PYF_ENTRY;
		return 0;
	}
	if (n >= CT_PY_FRAMES) {
		r->py_state = CT_PYS_CUT;
		return 1;
	}
	code = ct_py_field(buf, L->f_code, 0);
	if (L->f_entry != CT_PY_NONE)
		flags = ct_py_field(buf, L->f_entry, 1) ? CT_PYF_ENTRY : 0;
	else
		flags = L->f_owner == CT_PY_NONE ? CT_PYF_ENTRY : 0;
	r->py[n].code = code;
	r->py[n].off = ct_py_off(L, buf, code);
	/* The code object's stamp: its bytes go where the frame's were, read. */
	if (!bpf_probe_read_user(buf, CT_PY_CODE_READ, (void *)(code + CT_PY_CODE_FROM)))
		flags |= ct_py_stamp(ct_py_int(buf, L->co_firstlineno - CT_PY_CODE_FROM),
				     ct_py_field(buf, L->co_name - CT_PY_CODE_FROM, 0))
			 << CT_PYF_STAMP_SHIFT;
	r->py[n].flags = flags;
	w->n = n + 1;
	return 0;
}

/*
 * The Python frames of the current thread, innermost first: one read of
 * each (CT_PY_FRAME_READ bytes: as dear as a word), at most CT_PY_WALK.
 * 3.12+'s entry shims are skipped, their callee marked as the first frame
 * of an evaluation, as 3.11 marks it itself (is_entry) and every frame of
 * 3.8-3.10 is one. Each frame is read into the record's stack bytes, which
 * the stack's copy overwrites after: a BPF program's own stack allows no
 * reads at a variable offset. bpf_loop(): the verifier sees one step.
 */
static __always_inline void ct_py_walk(struct ct_stack_rec *r, __u32 k, __u32 li, __u64 tstate)
{
	const struct ct_py_layout *L = &ct_py_layouts[li];
	struct ct_py_walk w = { .layout = li, .buf = k };

	r->npy = 0;
	r->py_state = CT_PYS_NO_TSTATE;
	if (!tstate)
		return;
	r->py_state = CT_PYS_UNREAD;
	if (bpf_probe_read_user(&w.f, sizeof(w.f), (void *)(tstate + L->tstate_frame)))
		return;
	if (w.f && L->cframe_frame != CT_PY_NONE &&
	    bpf_probe_read_user(&w.f, sizeof(w.f), (void *)(w.f + L->cframe_frame)))
		return;
	r->py_state = CT_PYS_OK;
	bpf_loop(CT_PY_WALK, ct_py_step, &w, 0);
	if (w.f && r->py_state == CT_PYS_OK)
		r->py_state = CT_PYS_CUT;
	r->npy = w.n;
}

/*
 * A wait on one of the GIL's own words (take_gil's condition variable or
 * mutex) of a process whose GIL is known, taken by another thread: that
 * thread's PyThreadState (0 if none), and r->uaddr its tid (0 unknown).
 * The reads go to the record's stack bytes, sent already: the callers'
 * own stack is deep.
 */
static __always_inline __u64 ct_py_gil_holder(struct ct_stack_rec *r, __u64 own,
					      const struct ct_py_layout *L)
{
	__u32 tgid = r->tgid;
	struct ct_gil_addrs *a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	__u64 *gil = (__u64 *)r->data; /* last_holder, then locked (an int) */

	if (!a || !a->mutex || r->uaddr < a->cond || r->uaddr > a->mutex ||
	    bpf_probe_read_user(gil, 16, (void *)ct_gil_holder_addr(a)) || (__u32)gil[1] != 1 ||
	    !gil[0] || gil[0] == own)
		return 0;
	if (L->tstate_tid == CT_PY_NONE ||
	    bpf_probe_read_user(&r->uaddr, sizeof(r->uaddr), (void *)(gil[0] + L->tstate_tid)))
		r->uaddr = 0;
	return gil[0];
}

/*
 * After the record of a wait for the GIL: the Python frames of its holder
 * then, in a record of their own (CT_STK_HOLDER: the record's head and its
 * frames, not its stack bytes). The holder runs on another CPU meanwhile:
 * its frames are read as they change, and a frame left since reads as
 * another (a torn walk names what it finds, or ends unread).
 */
static __always_inline void ct_py_holder_rec(struct ct_stack_rec *r, __u32 li, __u64 own)
{
	__u64 holder = ct_py_gil_holder(r, own, &ct_py_layouts[li]);

	if (!holder)
		return;
	ct_py_walk(r, CT_BUF_WAIT, li, holder);
	if (!r->npy)
		return;
	r->kind = CT_STK_HOLDER;
	r->len = 0;
	if (bpf_ringbuf_output(&ct_stacks, r, offsetof(struct ct_stack_rec, data),
			       ct_stacks_flags()))
		ct_count(stacks_lost);
}

__noinline int ct_stack_begin(struct ct_thread *th, __u64 uaddr)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 own;
	__u32 li;
	struct pt_regs *regs;
	struct ct_stack_rec *r;
	__u32 zero = CT_BUF_WAIT, len;
	__u64 size;

	if (!th)
		return 0;
	th->stk_seq = 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	r = bpf_map_lookup_elem(&ct_stack_buf, &zero);
	if (!regs || !r)
		return 0;
	ct_stack_regs(r, regs);
	li = ct_py_layout_of(th->tgid);
	own = li < CT_PY_LAYOUTS ? ct_py_tstate(th) : 0;
	r->npy = 0;
	r->py_state = CT_PYS_NONE;
	if (li < CT_PY_LAYOUTS)
		ct_py_walk(r, CT_BUF_WAIT, li, own);
	len = ct_stack_hinted(r, th->tid, regs->ip, regs->sp);
	if (!len)
		len = ct_stack_copy(r, regs->sp);
	if (!len) {
		ct_count(stacks_unreadable);
		return 0;
	}
	r->len = len;
	r->kind = CT_STK_BEGIN;
	r->tid = th->tid;
	r->tgid = th->tgid;
	r->seq = th->stk_next + 1;
	r->uaddr = uaddr;
	r->slot = 0; /* a sample's only (a wait's end names its thread) */
	size = offsetof(struct ct_stack_rec, data) + (__u64)len;
	if (size > sizeof(*r))
		return 0;
	/*
	 * A thread's first stack wakes user space at once: it unwinds it while
	 * the process lives, reading its maps if need be (a short program
	 * could be gone by the next refresh, and its libraries with it).
	 */
	if (bpf_ringbuf_output(&ct_stacks, r, size,
			       th->stk_next ? ct_stacks_flags() : BPF_RB_FORCE_WAKEUP)) {
		ct_count(stacks_lost);
		return 0;
	}
	th->stk_seq = ++th->stk_next;
	if (li < CT_PY_LAYOUTS)
		ct_py_holder_rec(r, li, own);
	return 0;
}

/* A sample's record, sent as long as it is. */
static __always_inline void ct_sample_send(struct ct_stack_rec *r, struct ct_thread *th, __u32 cls)
{
	__u64 size = offsetof(struct ct_stack_rec, data) + (__u64)r->len;

	r->kind = CT_STK_SAMPLE;
	r->tid = th->tid;
	r->tgid = th->tgid;
	r->seq = 0;
	r->uaddr = cls;
	r->ts = bpf_ktime_get_ns();
	r->slot = th->slot;
	if (size > sizeof(*r) || bpf_ringbuf_output(&ct_stacks, r, size, ct_stacks_flags()))
		ct_count(samples_lost);
}

/*
 * A thread of a process without Python: its user registers and the pages
 * of its stack, unwound by user space as a wait's are. Interrupted in user
 * space, the entry saved the registers it was interrupted at where a
 * syscall saves its own (bpf_task_pt_regs): either way, where it is in its
 * own code. 0 bytes if unreadable.
 */
static __always_inline void ct_sample_native(struct ct_stack_rec *r)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	r->npy = 0;
	r->py_state = CT_PYS_NONE;
	r->len = 0;
	if (!regs)
		return;
	ct_stack_regs(r, regs);
	r->len = ct_stack_copy(r, r->regs[7]);
}

__noinline int ct_stack_sample(struct ct_thread *th, __u32 cls)
{
	__u32 k = CT_BUF_SAMPLE, li;
	struct ct_stack_rec *r;

	if (!th)
		return 0;
	li = ct_py_layout_of(th->tgid);
	r = bpf_map_lookup_elem(&ct_stack_buf, &k);
	if (!r)
		return 0;
	if (li >= CT_PY_LAYOUTS) {
		ct_sample_native(r);
		if (r->len)
			ct_sample_send(r, th, CT_SMP_RUNNING);
		else
			ct_count(stacks_unreadable);
		return 0;
	}
	/* A Python thread: its Python frames (cheap: no native unwind per sample). */
	if (cls == CT_SMP_OTHER || cls == CT_SMP_RUNNING)
		return 0;
	ct_py_walk(r, CT_BUF_SAMPLE, li, ct_py_tstate(th));
	r->len = 0;
	if (r->npy)
		ct_sample_send(r, th, cls);
	return 0;
}

__noinline int ct_stack_end(struct ct_thread *th, __u64 wait_ns)
{
	struct ct_stack_end *e;

	if (!th || !th->stk_seq)
		return 0;
	e = bpf_ringbuf_reserve(&ct_stacks, sizeof(*e), 0);
	if (!e) {
		ct_count(stacks_lost);
		th->stk_seq = 0;
		return 0;
	}
	e->kind = CT_STK_END;
	e->tid = th->tid;
	e->tgid = th->tgid;
	e->seq = th->stk_seq;
	e->uaddr = th->fx_uaddr;
	e->wait_ns = wait_ns;
	th->stk_seq = 0;
	bpf_ringbuf_submit(e, ct_stacks_flags());
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
