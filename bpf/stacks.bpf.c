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

/* A record is built here, then copied into the ring as long as it is (bpf_ringbuf_output). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_stack_rec);
} ct_stack_buf SEC(".maps");

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

__noinline int ct_stack_begin(struct ct_thread *th, __u64 uaddr)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;
	struct ct_stack_rec *r;
	__u32 zero = 0, len;
	__u64 size;

	if (!th)
		return 0;
	th->stk_seq = 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	r = bpf_map_lookup_elem(&ct_stack_buf, &zero);
	if (!regs || !r)
		return 0;
	ct_stack_regs(r, regs);
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
	r->pad = 0;
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
