// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lock contention from the scheduler probes, without syscall hooks.
 *
 *   block     a thread that blocks in a futex wait has the futex word and
 *             command in its saved registers, its call site on its stack;
 *   waking    the thread that wakes it from a futex wake released the lock
 *             (for a mutex: it held it until then);
 *   wait end  the waiter runs again: the wait, who caused it, the hold.
 *
 * Per lock (futex word of a process), per waiter and holder of a lock, per
 * call site of a lock. The functions are global BPF functions: each is
 * verified once, not at every call site in the scheduler probes.
 */
#include "futex.bpf.h"
#include "gil.bpf.h"
#include "stacks.bpf.h"

struct ct_locks_map ct_locks SEC(".maps");
struct ct_edges_map ct_edges SEC(".maps");
struct ct_sites_map ct_sites SEC(".maps");
struct ct_text_map ct_text SEC(".maps");

/* One struct ct_text with no range (all ~0), filled by user space: a blank to copy. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_text);
} ct_text_blank SEC(".maps");

/*
 * The stack words a call-site search reads: 512 bytes, the whole BPF stack,
 * so a per-CPU buffer (the scheduler probes that search run with
 * interrupts off: one at a time per CPU).
 */
struct ct_stack_words {
	__u64 w[CT_SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_stack_words);
} ct_scan_buf SEC(".maps");

/*
 * Where call sites were found, per process and syscall return address (see
 * ct_user_site): up to CT_SITE_HINTS sites, each with its distance above the
 * stack pointer in words in the top byte (user addresses use 47 bits), so
 * that a thread reads and writes an entry whole. LRU: the entries of
 * processes gone fall out.
 */
#define CT_SITE_HINTS 4 /* a power of two */
#define CT_SITE_OFF_SHIFT 56
#define CT_SITE_MASK ((1ULL << CT_SITE_OFF_SHIFT) - 1)

struct ct_hint_key {
	__u32 tgid;
	__u32 pad;
	__u64 ip;
};

struct ct_site_hints {
	__u64 e[CT_SITE_HINTS];
	__u32 next; /* the entry to replace next */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ct_hint_key);
	__type(value, struct ct_site_hints);
} ct_site_hints SEC(".maps");

struct ct_scan {
	struct ct_stack_words *words;
	__u64 found;
	__u32 index; /* of the word found */
	struct ct_text *text;
};

/*
 * Whether the instruction bytes before address w end in a call (x86_64):
 * a return address does; a stale function pointer left on the stack does
 * not. The forms compilers emit: e8 rel32; ff /2 through a register
 * (ff d0), a register with disp8 (ff 50 xx), rip-relative or disp32
 * (ff 15 / ff 90 + 4 bytes), and their SIB variants one byte longer.
 */
static __always_inline int ct_after_call(__u64 w)
{
	__u8 b[8];

	if (bpf_probe_read_user(b, sizeof(b), (void *)(w - 8)))
		return 0;
	if (b[3] == 0xe8)
		return 1;
	if (b[6] == 0xff && (b[7] & 0xf8) == 0xd0)
		return 1; /* call *%reg */
	if (b[5] == 0xff && (b[6] & 0xf8) == 0x50)
		return 1; /* call *disp8(%reg) */
	if (b[4] == 0xff && b[5] == 0x54)
		return 1; /* call *disp8(sib) */
	if (b[2] == 0xff && ((b[3] & 0xf8) == 0x90 || b[3] == 0x15))
		return 1; /* call *disp32(%reg), call *disp32(%rip) */
	if (b[1] == 0xff && b[2] == 0x94)
		return 1; /* call *disp32(sib) */
	/* A REX prefix (41 ff d0: call *%r8) moves the forms one byte back. */
	if (b[5] == 0x41 && b[6] == 0xff && (b[7] & 0xf8) == 0xd0)
		return 1;
	if (b[4] == 0x41 && b[5] == 0xff && (b[6] & 0xf8) == 0x50)
		return 1;
	return 0;
}

/*
 * Whether w lies in one of the sorted ranges of t: a binary search of fixed
 * steps (unused entries start at ~0). Written so that the verifier follows
 * one path, not one per outcome: the position starts as a number it cannot
 * know (the last entry's end is always ~0, plus one is 0), so it tracks a
 * range, not 2^8 constant offsets; and no comparison involves it.
 */
static __always_inline int ct_in_text(const struct ct_text *t, __u64 w)
{
	__u32 pos = (__u32)(t->r[CT_TEXT_RANGES - 1].end + 1);

#pragma unroll
	for (__u32 step = CT_TEXT_RANGES / 2; step; step /= 2)
		if (t->r[(pos + step - 1) & (CT_TEXT_RANGES - 1)].start <= w)
			pos += step;
	/* pos: the ranges that start at or below w (the last entry is never one). */
	return pos && w < t->r[(pos - 1) & (CT_TEXT_RANGES - 1)].end;
}

/* bpf_loop() callback: stop at the first stack word that is a return address into user text. */
static long ct_scan_word(__u32 i, void *ctx)
{
	struct ct_scan *scan = ctx;
	__u64 w;

	if (i >= CT_SCAN_WORDS || !scan->text || !scan->words)
		return 1;
	w = scan->words->w[i];
	if (!ct_in_text(scan->text, w) || !ct_after_call(w))
		return 0;
	scan->found = w;
	scan->index = i;
	return 1;
}

/*
 * The current thread's call site: the innermost word of its user stack that
 * is a return address into user text (not libc). The C library keeps no
 * frame pointers, so a frame-pointer walk would skip the very caller of
 * pthread_mutex_lock; the return address into it lies in the few words
 * above the stack pointer. 0 if none is found or the stack cannot be read
 * (counted). bpf_loop keeps the verifier from walking 64 x 8 comparisons.
 *
 * A search that misses costs microseconds (64 words, each a binary search
 * and maybe a read of the code before it); a thread that locks in a loop
 * calls from the same few places again and again, and its process's other
 * threads from the same places too. Between a syscall's return address (ip)
 * in the C library and the call site lie the library's own frames, the
 * same for the same ip, so the site lies at the same distance above the
 * stack pointer whatever the depth of the caller's stack: ct_site_hints
 * keeps, per process and ip, the sites found and where; the word there
 * being that site confirms it. A Python thread blocks and wakes at eight or
 * ten such places (take_gil's wait and mutex, drop_gil's signal and
 * unlock, each from a few callers): a cache of a thread's last two or four
 * answers missed half of the calls, and the search cost 400-500 ns per
 * switch and per waking on average (docs/performance.md).
 */
static __always_inline __u64 ct_user_site(struct task_struct *cur)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	struct ct_hint_key hk = { .tgid = cur->tgid };
	struct ct_scan scan = {};
	struct ct_site_hints *h;
	__u32 tgid = cur->tgid, zero = 0;
	__u64 sp, w;

	if (!regs)
		goto none;
	sp = regs->sp;
	hk.ip = regs->ip;
	h = bpf_map_lookup_elem(&ct_site_hints, &hk);
	for (int k = 0; h && k < CT_SITE_HINTS; k++) {
		__u64 e = h->e[k];

		if (e &&
		    !bpf_probe_read_user(&w, sizeof(w),
					 (void *)(sp + (e >> CT_SITE_OFF_SHIFT) * 8)) &&
		    w == (e & CT_SITE_MASK))
			return w;
	}
	scan.text = bpf_map_lookup_elem(&ct_text, &tgid);
	scan.words = bpf_map_lookup_elem(&ct_scan_buf, &zero);
	if (!scan.text || !scan.words ||
	    bpf_probe_read_user(scan.words->w, sizeof(scan.words->w), (void *)sp))
		goto none;
	bpf_loop(CT_SCAN_WORDS, ct_scan_word, &scan, 0);
	if (!scan.found)
		goto none;
	w = scan.found | (__u64)(scan.index & (CT_SCAN_WORDS - 1)) << CT_SITE_OFF_SHIFT;
	if (h) {
		h->e[h->next++ & (CT_SITE_HINTS - 1)] = w;
	} else {
		struct ct_site_hints fresh = { .e = { w }, .next = 1 };

		bpf_map_update_elem(&ct_site_hints, &hk, &fresh, BPF_NOEXIST);
	}
	return scan.found;
none:
	ct_count(sites_unknown);
	return 0;
}

/*
 * The entry of a key in a hash map, created zeroed if missing; NULL when
 * full. The caller counts the loss, once per wait (a wait touches the lock,
 * chain and call-site tables, and begins and ends).
 */
static __always_inline void *ct_lock_entry(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static const struct ct_lock_stat zero_lock = {};
static const struct ct_edge_val zero_edge = {};
static const struct ct_site_val zero_site = {};

__noinline int ct_futex_block(struct ct_thread *th, int nr, __u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 uaddr;
	__u32 op = 0, val;

	if (!th)
		return 0;
	th->fx_uaddr = 0;
	th->flags &= ~(CT_TF_FX_BUSY | CT_TF_FX_LOCK | CT_TF_FX_FUTILE | CT_TF_FX_GIL);
	if (nr != CT_NR_FUTEX && nr != CT_NR_FUTEX_WAIT && nr != CT_NR_FUTEX_WAITV)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	if (!regs)
		return 0;
	uaddr = ct_futex_args(regs, nr, &op);
	if (!uaddr || !ct_futex_op_waits(op))
		return 0;
	val = ct_futex_val(regs, nr);
	if (th->rw_uaddr == uaddr && th->rw_val == val && now - th->rw_ts < CT_FUTILE_NS)
		th->flags |= CT_TF_FX_FUTILE;
	th->rw_uaddr = 0;
	th->fx_uaddr = uaddr;
	th->fx_op = op;
	th->fx_val = val;
	th->fx_start = now;
	th->fx_site = 0;
	if (ct_cfg.stacks)
		ct_stack_begin(th, uaddr);
	return 0;
}

__noinline int ct_futex_block_lock(struct ct_thread *th, __u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_lock_key lk = {};
	struct ct_lock_stat *ls;

	if (!th || !th->fx_uaddr || (th->flags & CT_TF_FX_GIL))
		return 0;
	th->fx_site = ct_user_site(cur);
	if (!ct_futex_op_locks(th->fx_op, th->fx_val))
		return 0;
	th->flags |= CT_TF_FX_LOCK;
	/*
	 * The lock is taken now. Its holder keeps it until the next release,
	 * which must wake a waiter: the first such block after a release
	 * starts a hold that is certain.
	 */
	lk.tgid = th->tgid;
	lk.uaddr = th->fx_uaddr;
	ls = ct_lock_entry(&ct_locks, &lk, &zero_lock);
	if (!ls)
		return 0;
	if (ls->block_ts <= ls->release_ts)
		ls->block_ts = now;
	if (__sync_fetch_and_add(&ls->nblocked, 1) == 0)
		ls->busy_since = now;
	th->flags |= CT_TF_FX_BUSY;
	return 0;
}

/* A thread blocked on a mutex-like word was woken at @end: the word may be free. */
static __always_inline void ct_busy_end(struct ct_thread *th, struct ct_lock_stat *ls, __u64 end)
{
	__u64 since;

	th->flags &= ~CT_TF_FX_BUSY;
	if (__sync_fetch_and_add(&ls->nblocked, -1) != 1)
		return;
	since = ls->busy_since;
	if (since && end > since)
		__sync_fetch_and_add(&ls->busy_ns, end - since);
}

__noinline int ct_futex_waking(struct ct_thread *th, struct ct_thread *waker, int nr, __u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_lock_key lk = {};
	struct ct_release *e;
	struct ct_lock_stat *ls;
	struct pt_regs *regs;
	__u64 uaddr, site, since = 0;
	__u32 op = 0, i, newest;

	if (!th)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	if (!regs)
		return 0;
	uaddr = ct_futex_args(regs, nr, &op);
	if (!ct_futex_op_wakes(op))
		return 0;
	if ((th->flags & CT_TF_FX_GIL) && th->fx_uaddr == uaddr) {
		th->pend_fx_uaddr = uaddr; /* a GIL wait: only counted (ct_futex_wait_end) */
		return 0;
	}
	if (waker && waker->rw_uaddr == uaddr)
		waker->rw_uaddr = 0; /* it passes the word on: its next wait is not futile */
	site = ct_user_site(cur);
	th->pend_fx_uaddr = uaddr;
	th->pend_waker_site = site;
	lk.tgid = th->tgid;
	lk.uaddr = uaddr;
	ls = bpf_map_lookup_elem(&ct_locks, &lk);
	if (!ls)
		return 0;
	/*
	 * Since when the waker held the lock. If it was handed the lock while
	 * this waiter already waited, since the handoff: its first release had
	 * to wake a waiter. Else it took the lock unseen (glibc's release
	 * forgets the other waiters, so one can take it while a woken waiter
	 * is yet to run), and held it at least since the first waiter blocked
	 * after the previous release. A second wake of one release (wake-all)
	 * has neither. Only for mutex-like commands: a condvar or a semaphore
	 * is not held.
	 */
	if (th->fx_uaddr == uaddr && (th->flags & CT_TF_FX_LOCK)) {
		if (ls->owner_tid == cur->pid && ls->owner_since && th->fx_start <= ls->owner_since)
			since = ls->owner_since;
		else if (ls->block_ts > ls->release_ts)
			since = ls->block_ts;
	}
	th->pend_hold_since = since;
	/* Woken from this word and now waking its next waiter: a pass (counted once). */
	if (ls->pass_tid == cur->pid && ls->pass_since && now > ls->pass_since) {
		__sync_fetch_and_add(&ls->passes, 1);
		__sync_fetch_and_add(&ls->pass_ns, now - ls->pass_since);
		ls->pass_tid = 0;
	}
	/* Remember the release, in the order releases happen (wakers may run later). */
	i = ls->rel_next;
	newest = (i - 1) & (CT_RELEASES - 1);
	if (since || ls->rel[newest].tid != cur->pid) {
		e = &ls->rel[i & (CT_RELEASES - 1)];
		e->ts = now;
		e->start = since;
		e->site = site;
		e->tid = cur->pid;
		ls->rel_next = i + 1;
	} else {
		ls->rel[newest].ts = now;
	}
	if (now > ls->release_ts)
		ls->release_ts = now;
	return 0;
}

/*
 * Part of a wait of `th` that `holder` caused, holding the lock at `site`;
 * `ended`: the holder's release ended the wait (each wait is counted once).
 * 1 if the chain table is full.
 */
__noinline int ct_edge_add(struct ct_thread *th, __u32 holder, __u64 ns, __u64 site, int ended)
{
	struct ct_edge_key ek = {};
	struct ct_edge_val *ev;

	if (!th)
		return 0;
	ek.tgid = th->tgid;
	ek.waiter = th->tid;
	ek.uaddr = th->fx_uaddr;
	ek.holder = holder;
	ev = ct_lock_entry(&ct_edges, &ek, &zero_edge);
	if (!ev)
		return 1;
	if (ended)
		ev->waits++;
	ev->wait_ns += ns;
	if (site)
		ev->holder_site = site;
	ev->waiter_site = th->fx_site;
	return 0;
}

/*
 * A wait on a word of the GIL that tier C follows ends: how it ended, and
 * a timer's end in the chain table (the thread's forced switch requests,
 * user/model/gil.c). Tier C has who waited and who held the GIL when; the
 * call site (take_gil, drop_gil), the holds, the passes and the other
 * chains are not looked for: 100 ns of a Python thread's switch and of
 * its waking, and a server that starts a thread per request filled the
 * chain table with the GIL's (docs/performance.md). 1 if it is full.
 */
static __always_inline int ct_gil_wait_end(struct ct_thread *th, struct ct_lock_stat *ls,
					   __u32 waker, __u64 wait, __u64 now)
{
	if (waker == CT_WAKER_IRQ) {
		__sync_fetch_and_add(&ls->timeouts, 1);
		ct_gil_timed_out(th, th->fx_uaddr, now);
		return ct_edge_add(th, waker, wait, 0, 1);
	}
	if (waker != CT_WAKER_UNKNOWN && th->pend_fx_uaddr) {
		__sync_fetch_and_add(&ls->wakes, 1);
	} else if (th->pend_exit && waker != CT_WAKER_UNKNOWN) {
		__sync_fetch_and_add(&ls->exit_wakes, 1);
	}
	return 0;
}

/*
 * Who made the wait [fx_start, now] of `th` last: the waker from its hold's
 * start, and before that the holders of the releases before it, newest
 * first (glibc hands a mutex on through its waiters: a long hold delays the
 * later waiters too, who are woken by the short holds in between). The gap
 * between a release and the next hold goes to the earlier holder.
 */
static __always_inline int ct_blame(struct ct_thread *th, struct ct_lock_stat *ls, __u32 waker,
				    __u64 now)
{
	__u64 cursor = now, start, site = th->pend_waker_site;
	__u32 i = ls->rel_next, who = waker;
	int ended = 1, lost = 0;

	for (__u32 k = 0; k < CT_RELEASES && cursor > th->fx_start; k++) {
		struct ct_release *e = &ls->rel[(i - 1 - k) & (CT_RELEASES - 1)];

		if (!e->tid || e->ts > th->wake_ts)
			continue; /* later than the wake that ended this wait */
		if (e->ts <= th->fx_start)
			break; /* released before this wait began */
		start = e->start > th->fx_start ? e->start : th->fx_start;
		who = e->tid;
		site = e->site;
		if (start < cursor) {
			lost |= ct_edge_add(th, who, cursor - start, site, ended);
			ended = 0;
			cursor = start;
		}
	}
	if (cursor > th->fx_start || ended)
		lost |= ct_edge_add(th, who, cursor - th->fx_start, site, ended);
	return lost;
}

__noinline int ct_futex_wait_end(struct ct_thread *th, __u64 now)
{
	struct ct_lock_key lk = {};
	struct ct_site_key sk = {};
	struct ct_lock_stat *ls;
	struct ct_site_val *sv;
	__u64 wait, since, hold;
	__u32 waker;
	int lost = 0;

	if (!th || !th->fx_uaddr)
		return 0;
	waker = th->wake_pending ? th->pend_waker_tid : CT_WAKER_UNKNOWN;
	if (waker != CT_WAKER_UNKNOWN && (waker & CT_WAKER_SOFTIRQ))
		waker = CT_WAKER_IRQ; /* no lock's holder: a softirq ended the wait */
	wait = ct_delta(now, th->fx_start);
	lk.tgid = th->tgid;
	lk.uaddr = th->fx_uaddr;
	ls = ct_lock_entry(&ct_locks, &lk, &zero_lock);
	if (!ls) {
		lost = 1;
		goto out;
	}
	if (th->flags & CT_TF_FX_BUSY)
		ct_busy_end(th, ls, th->wake_pending && th->wake_ts ? th->wake_ts : now);
	__sync_fetch_and_add(&ls->waits, 1);
	__sync_fetch_and_add(&ls->wait_ns, wait);
	if (th->flags & CT_TF_FX_FUTILE) {
		__sync_fetch_and_add(&ls->futile, 1);
		__sync_fetch_and_add(&ls->futile_ns, wait);
	}
	if (ct_cfg.stacks)
		ct_stack_end(th, wait);
	if (wait > ls->wait_max)
		ls->wait_max = wait;
	ct_hist_add(ls->wait_hist, wait);
	ls->op = th->fx_op;
	if (th->flags & CT_TF_FX_GIL) {
		lost = ct_gil_wait_end(th, ls, waker, wait, now);
		goto out;
	}
	if (waker == CT_WAKER_IRQ) {
		__sync_fetch_and_add(&ls->timeouts, 1);
		ct_gil_timed_out(th, th->fx_uaddr, now);
		lost |= ct_edge_add(th, waker, wait, 0, 1);
	} else if (waker != CT_WAKER_UNKNOWN && th->pend_fx_uaddr) {
		__sync_fetch_and_add(&ls->wakes, 1);
		if (th->pend_fx_uaddr != th->fx_uaddr) {
			/* Woken through another word (futex_waitv, a requeue). */
			lost |= ct_edge_add(th, waker, wait, th->pend_waker_site, 1);
			goto site;
		}
		/* A contended hold ends at this wake (see ct_futex_waking). */
		since = th->pend_hold_since;
		if (since && th->wake_ts > since) {
			hold = th->wake_ts - since;
			__sync_fetch_and_add(&ls->holds, 1);
			__sync_fetch_and_add(&ls->hold_ns, hold);
			if (hold > ls->hold_max)
				ls->hold_max = hold;
			ct_hist_add(ls->hold_hist, hold);
		}
		ls->owner_tid = th->tid;
		ls->owner_since = now;
		ls->pass_tid = th->tid;
		ls->pass_since = now;
		th->rw_uaddr = th->fx_uaddr;
		th->rw_val = th->fx_val;
		th->rw_ts = now;
		lost |= ct_blame(th, ls, waker, now);
	} else {
		/* Woken otherwise: a thread's exit, a signal, a waker not seen. */
		if (th->pend_exit && waker != CT_WAKER_UNKNOWN)
			__sync_fetch_and_add(&ls->exit_wakes, 1);
		lost |= ct_edge_add(th, waker, wait, th->pend_waker_site, 1);
	}
site:
	sk.tgid = th->tgid;
	sk.uaddr = th->fx_uaddr;
	sk.site = th->fx_site;
	sv = ct_lock_entry(&ct_sites, &sk, &zero_site);
	if (sv) {
		__sync_fetch_and_add(&sv->waits, 1);
		__sync_fetch_and_add(&sv->wait_ns, wait);
	} else {
		lost = 1;
	}
out:
	if (lost)
		ct_count(locks_dropped);
	th->fx_uaddr = 0;
	return 0;
}

/*
 * --syscalls: what only the return value of a futex call tells: a wait that
 * did not block because the word had changed (-EAGAIN) or that timed out,
 * and how many threads a wake woke (including wakes that woke none).
 */
__noinline int ct_futex_return(struct ct_thread *th, long ret)
{
	struct ct_lock_key lk = {};
	struct ct_lock_stat *ls;
	__u32 op, nr_wake;

	if (!th)
		return 0;
	op = th->sys_fx_op & CT_FUTEX_OP_MASK;
	nr_wake = th->sys_fx_op >> CT_FUTEX_NR_WAKE_SHIFT;
	lk.tgid = th->tgid;
	lk.uaddr = th->sys_fx_uaddr;
	th->sys_fx_uaddr = 0;
	if (!lk.uaddr)
		return 0;
	if (ct_futex_op_waits(op) || op == CT_FUTEX_TRYLOCK_PI) {
		if (ret != -11 && ret != -110) /* EAGAIN, ETIMEDOUT */
			return 0;
		ls = ct_lock_entry(&ct_locks, &lk, &zero_lock);
		if (!ls) {
			ct_count(locks_dropped);
			return 0;
		}
		if (!ls->waits)
			ls->op = op;
		if (ret == -11)
			__sync_fetch_and_add(&ls->retries, 1);
		else
			__sync_fetch_and_add(&ls->timeouts_ret, 1);
	} else if (ct_futex_op_wakes(op)) {
		ls = ct_lock_entry(&ct_locks, &lk, &zero_lock);
		if (!ls) {
			ct_count(locks_dropped);
			return 0;
		}
		__sync_fetch_and_add(&ls->wake_calls, 1);
		/*
		 * FUTEX_UNLOCK_PI returns 0: the kernel hands the lock to one waiter.
		 * A requeue's count includes the threads moved: at most nr_wake
		 * were woken. FUTEX_WAKE_OP's count is split between two words in
		 * a way it does not tell: not counted.
		 */
		if (ret > 0 && (op == CT_FUTEX_REQUEUE || op == CT_FUTEX_CMP_REQUEUE ||
				op == CT_FUTEX_CMP_REQUEUE_PI || op == CT_FUTEX_OP_REQUEUE2))
			ret = ret < nr_wake ? ret : nr_wake;
		if (ret > 0 && op != CT_FUTEX_UNLOCK_PI && op != CT_FUTEX_WAKE_OP)
			__sync_fetch_and_add(&ls->woken, ret);
	}
	return 0;
}

__noinline int ct_text_exec(__u32 tgid, __u64 start, __u64 end)
{
	struct ct_text *blank, *t;
	__u32 zero = 0;

	blank = bpf_map_lookup_elem(&ct_text_blank, &zero);
	if (!blank || bpf_map_update_elem(&ct_text, &tgid, blank, BPF_ANY))
		return 0;
	t = bpf_map_lookup_elem(&ct_text, &tgid);
	if (t) {
		t->r[0].start = start;
		t->r[0].end = end;
	}
	return 0;
}

__noinline int ct_text_fork(__u32 parent_tgid, __u32 child_tgid)
{
	struct ct_text *t;

	t = bpf_map_lookup_elem(&ct_text, &parent_tgid);
	if (t)
		bpf_map_update_elem(&ct_text, &child_tgid, t, BPF_ANY);
	return 0;
}

__noinline int ct_text_exit(__u32 tgid)
{
	bpf_map_delete_elem(&ct_text, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
