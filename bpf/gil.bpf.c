// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPython's GIL, tier A: uprobes on the interpreter's own take_gil (entry
 * and return) and drop_gil (entry), placed by user/gil.c for each Python
 * process whose interpreter has them in .symtab. Each thread's time is cut
 * into waiting for the GIL (in take_gil), holding it, and having released
 * it; the scheduler probes (sched.bpf.c) split the released time into
 * blocked (by syscall) and waiting for a CPU, the rest is on a CPU in native
 * code. All three functions begin with an instruction the kernel emulates.
 */
#include "gil.bpf.h"
#include "timeline.bpf.h"

static const struct ct_gil_hist zero_hist = {};

__noinline int ct_gil_timed_out(struct ct_thread *th, __u64 uaddr, __u64 now)
{
	struct ct_gil_addrs *a;
	__u32 tgid;

	if (!th)
		return 0;
	tgid = th->tgid;
	a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	if (a && a->cond && uaddr >= a->cond && uaddr < a->mutex)
		a->ask_ts = now;
	return 0;
}

/*
 * A time, not a count of requests noted at the take: tier C dates a take
 * it finds later back to the start of the run it happened in (a holder
 * seen only when it drops the GIL, hundreds of ms into a C call that kept
 * it): a count noted then missed every request of the hold.
 */
__noinline int ct_gil_wanted(struct ct_thread *th)
{
	struct ct_gil_addrs *a;
	__u32 tgid;

	if (!th || th->gil_state != CT_GIL_HELD)
		return 0;
	tgid = th->tgid;
	a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	if (a && a->ask_ts > th->gil_ts)
		th->flags |= CT_TF_GIL_WANTED;
	return 0;
}

/* The thread let the GIL go at `now` (acct.h). */
static __always_inline void ct_gil_let_go(struct ct_thread *th, __u64 now)
{
	ct_gil_wanted(th);
	ct_gil_released(th, now);
}

/* The thread has the GIL since `now` (acct.h), and its wait goes in its histogram. */
static __always_inline void ct_gil_acquired(struct ct_thread *th, __u64 now)
{
	__u64 wait = ct_gil_took(th, now);
	struct ct_gil_hist *h;
	__u32 slot, idx;

	th->gil_sn = 0;
	if (wait == CT_NO_WAIT)
		return;
	slot = th->slot;
	h = bpf_map_lookup_elem(&ct_gil_hists, &slot);
	if (!h) {
		bpf_map_update_elem(&ct_gil_hists, &slot, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&ct_gil_hists, &slot);
	}
	idx = ct_hist_index(wait);
	if (h && idx < CT_HIST_BUCKETS)
		h->wait[idx]++;
	else if (!h)
		ct_count(gil_hists_dropped);
}

SEC("uprobe")
int BPF_KPROBE(ct_gil_take)
{
	struct ct_thread *th = ct_uprobe_thread();

	if (!th)
		return 0;
	CT_TL_GIL_AROUND(th, ct_gil_wait(th, bpf_ktime_get_ns()));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ct_gil_taken)
{
	struct ct_thread *th = ct_uprobe_thread();

	if (!th)
		return 0;
	CT_TL_GIL_AROUND(th, ct_gil_acquired(th, bpf_ktime_get_ns()));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gil_drop)
{
	struct ct_thread *th = ct_uprobe_thread();

	if (!th)
		return 0;
	CT_TL_GIL_AROUND(th, ct_gil_let_go(th, bpf_ktime_get_ns()));
	return 0;
}

/*
 * Tier B, for interpreters without symbols: CPython takes and drops the GIL
 * under its mutex, with the C library's functions. take_gil: lock the
 * mutex, wait on the condition variable while the GIL is taken (the wait
 * unlocks and relocks the mutex inside the C library, unseen), unlock: the
 * GIL is ours. drop_gil: lock, signal the condition variable, unlock. So a
 * lock of the GIL's mutex by a thread that does not hold the GIL starts a
 * take, which ends at the unlock; one by the holder is a drop, done at the
 * signal. The probes sit where --holds's do (emulated instructions inside
 * pthread_mutex_lock and pthread_mutex_unlock) and on pthread_cond_signal's
 * first instruction; every mutex of the process passes them, and only the
 * GIL's is looked at.
 */
static __always_inline struct ct_thread *ct_gilb_thread(__u64 addr, int cond)
{
	struct ct_thread *th = ct_uprobe_thread();
	struct ct_gil_addrs *a;
	__u32 tgid;

	if (!th)
		return NULL;
	tgid = th->tgid;
	a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	if (!a || a->exec || addr != (cond ? a->cond : a->mutex))
		return NULL;
	return th;
}

SEC("uprobe")
int BPF_KPROBE(ct_gilb_lock, __u64 mutex)
{
	struct ct_thread *th = ct_gilb_thread(mutex, 0);

	if (th && th->gil_state != CT_GIL_HELD)
		CT_TL_GIL_AROUND(th, ct_gil_wait(th, bpf_ktime_get_ns()));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gilb_unlock, __u64 mutex)
{
	struct ct_thread *th = ct_gilb_thread(mutex, 0);

	if (th && th->gil_state == CT_GIL_WAITING)
		CT_TL_GIL_AROUND(th, ct_gil_acquired(th, bpf_ktime_get_ns()));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ct_gilb_signal, __u64 cond)
{
	struct ct_thread *th = ct_gilb_thread(cond, 1);

	/* A drop; one that began before tracing was taken for a take: no wait counted. */
	if (th && (th->gil_state == CT_GIL_HELD || th->gil_state == CT_GIL_WAITING)) {
		__u32 was = th->gil_state;
		__u64 ts = th->gil_ts;

		if (th->gil_state == CT_GIL_WAITING)
			th->gil_state = CT_GIL_UNKNOWN;
		ct_gil_let_go(th, bpf_ktime_get_ns());
		if (ct_cfg.timeline)
			ct_tl_gil(th, was, ts);
	}
	return 0;
}

/*
 * Tier C (--gil=futex), with no uprobes at all. A contended take blocks on
 * the GIL's condition variable (or its mutex), and a drop that frees it for
 * a waiter wakes one: the scheduler probes see both, with the futex word in
 * the sleeper's registers and the waker in its wake. Everything else (an
 * uncontended take or drop makes no syscall) is read from the GIL itself,
 * at the thread's switch-outs: `locked`, and `last_holder`, which is the
 * holder's PyThreadState, compared with the thread's own (ct_gil_tstates,
 * filled by user space from the interpreter's list of threads, keyed by
 * pthread_t, which is the thread's TLS base on x86_64). So a release is
 * seen at the block it was made for, and a take at the switch-out of the
 * run it happened in, dated at that run's start. docs/design.md lists
 * what this misses.
 */
__u32 ct_gilc_on = 0;
__u32 ct_gil_gen = 0;

/* The GIL's fields that say who has it, and how many times it changed hands. */
struct ct_gil_word {
	__u64 last_holder;
	__s32 locked;
	__u32 pad;
	__u64 switch_number;
};

/*
 * The thread holds the GIL at a switch-out, as its hold began or as it was
 * last seen: if switch_number moved since, another thread took it in
 * between, and this thread took it back, unseen (releases around syscalls
 * that did not block): the "hold" is several, and not the longest hold.
 */
static __always_inline void ct_gilc_still_held(struct ct_thread *th, const struct ct_gil_word *w)
{
	if (th->gil_sn && th->gil_sn != w->switch_number)
		th->flags |= CT_TF_GIL_SPLIT;
	th->gil_sn = w->switch_number;
}

/* The address of the GIL of process tgid if it is followed by tier C, or 0. */
static __always_inline __u64 ct_gilc_addr_of(__u32 tgid)
{
	struct ct_gil_addrs *a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);

	return a && a->futex && !a->exec && a->mutex > CT_GIL_MUTEX ? a->mutex - CT_GIL_MUTEX : 0;
}

/*
 * The same for the current thread, th: from its copy while ct_gil_addrs has
 * not changed since it was made (the lookup was 120 ns, at every switch-out
 * and GIL wakeup of a Python thread; docs/performance.md). The generation
 * is read before the lookup: a change in between leaves the copy stale by
 * a generation, and the next call looks again. keep: a stale copy is made
 * anew. Only the thread's own switch-outs and wakings of others keep it;
 * they do not nest (the sampler, which can interrupt a waking, passes 0):
 * its two words are never of two different lookups.
 */
static __always_inline __u64 ct_gilc_addr(struct ct_thread *th, const bool keep)
{
	__u32 gen = *(volatile __u32 *)&ct_gil_gen + 1;
	__u64 g;

	if (th->gil_g_gen == gen)
		return th->gil_g;
	g = ct_gilc_addr_of(th->tgid);
	if (keep) {
		th->gil_g = g;
		th->gil_g_gen = gen;
	}
	return g;
}

/* Whether a futex word is one take_gil waits on: the condition variable or the mutex. */
static __always_inline int ct_gilc_take_word(__u64 g, __u64 uaddr)
{
	return uaddr >= g + CT_GIL_COND && uaddr <= g + CT_GIL_MUTEX;
}

/* What the current thread (th) sees of the GIL at G: ct_gilc_look(). */
enum ct_gilc_sight {
	CT_GILC_UNREAD = -2, /* the GIL could not be read */
	CT_GILC_UNSURE = -1, /* another thread may hold it: whose PyThreadState is ours, unknown */
	CT_GILC_NOT_MINE = 0,
	CT_GILC_MINE = 1,
};

/*
 * A thread not in ct_gil_tstates yet (younger than the last read of its
 * process's thread list: a thread per request lives a millisecond) and the
 * GIL taken: whose is it? The holder's PyThreadState says (its thread_id is
 * its pthread_t, the TLS base). Holding it, the thread is a Python thread
 * (*known); another's, it may not be one.
 */
static __always_inline int ct_gilc_holder_is(struct ct_thread *th, const struct ct_gil_word *w,
					     __u64 fsbase, int *known)
{
	__u32 tgid = th->tgid;
	struct ct_gil_addrs *a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	__u64 pthread;

	if (!a || !a->tid_off || !w->last_holder ||
	    bpf_probe_read_user(&pthread, sizeof(pthread), (void *)(w->last_holder + a->tid_off)))
		return CT_GILC_UNSURE;
	if (pthread != fsbase)
		return CT_GILC_NOT_MINE;
	*known = 1;
	return CT_GILC_MINE;
}

/*
 * Read the GIL's holder fields into w and compare last_holder with the
 * current thread's PyThreadState. *known: whether that PyThreadState is
 * known (the thread is a Python thread). A thread's own PyThreadState is
 * cached in its slot (gil_tstate) once found: then a look is one compare.
 * Until then, user space's map (ct_gil_tstates, the thread list as last
 * read) says whether it is a Python thread, and while the GIL is taken the
 * holder says whose it is (ct_gilc_holder_is): the map's entry may be of a
 * thread that exited, whose pthread_t (its stack, reused by glibc) this
 * one has now (a thread per request: most of them). verify (the sampler,
 * 1,000 times a second per CPU): a cached PyThreadState that is not the
 * holder's is checked against the holder too (PyGILState_Ensure gives a C
 * thread a new one for each call into Python).
 */
static __always_inline int ct_gilc_look(struct ct_thread *th, __u64 g, struct ct_gil_word *w,
					int *known, int verify)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_gil_tstate_key key = { .tgid = th->tgid, .pthread = cur->thread.fsbase };
	__u64 *tstate;
	int r;

	*known = 0;
	if (bpf_probe_read_user(w, sizeof(*w), (void *)(g + CT_GIL_LAST_HOLDER)))
		return CT_GILC_UNREAD;
	if (th->gil_tstate) {
		*known = 1;
		if (w->locked != 1)
			return CT_GILC_NOT_MINE;
		if (w->last_holder == th->gil_tstate)
			return CT_GILC_MINE;
		if (!verify)
			return CT_GILC_NOT_MINE;
	}
	tstate = th->gil_tstate ? NULL : bpf_map_lookup_elem(&ct_gil_tstates, &key);
	if (tstate && *tstate)
		*known = 1;
	if (w->locked != 1)
		return CT_GILC_NOT_MINE;
	r = ct_gilc_holder_is(th, w, cur->thread.fsbase, known);
	if (r == CT_GILC_MINE)
		th->gil_tstate = w->last_holder;
	return r == CT_GILC_UNSURE && *known ? CT_GILC_NOT_MINE : r;
}

/*
 * A waiter that blocks on one of the GIL's own words, or leaves its CPU,
 * after a run too long for take_gil, with the GIL changed hands since its
 * wait began (switch_number): it took the GIL at that run's start, unseen
 * (its timed wait ran out and the holder's drop woke no one: the
 * handoff between two CPU-bound threads on two CPUs, which made tier C
 * count 0.53 of the time held where tier A counted 0.97).
 */
static __always_inline bool ct_gilc_took_unseen(const struct ct_thread *th,
						const struct ct_gil_word *w, int sight,
						__u64 ran_since, __u64 now)
{
	return th->gil_state == CT_GIL_WAITING && sight != CT_GILC_UNREAD &&
	       now - ran_since >= CT_GILC_TOOK_RUN_NS && w->switch_number != th->gil_sn;
}

/* The thread begins to wait for the GIL at ts: the GIL's switch_number then is noted. */
static __always_inline void ct_gilc_wait(struct ct_thread *th, const struct ct_gil_word *w,
					 int sight, __u64 ts)
{
	ct_gil_wait(th, ts);
	th->gil_sn = sight == CT_GILC_UNREAD ? 0 : w->switch_number;
}

/* A block on a word take_gil waits on: the condition variable or the mutex. */
static __always_inline void ct_gilc_take_block(struct ct_thread *th, __u64 g, __u64 uaddr,
					       const struct ct_gil_word *w, int sight,
					       __u64 ran_since, __u64 now)
{
	bool mutex = uaddr == g + CT_GIL_MUTEX;

	/*
	 * A waiter that holds the GIL now (drop_gil locks the mutex before it
	 * clears `locked`), or that ran too long for take_gil, took it during
	 * this run.
	 */
	if (th->gil_state == CT_GIL_WAITING &&
	    (sight == CT_GILC_MINE || ct_gilc_took_unseen(th, w, sight, ran_since, now)))
		ct_gil_acquired(th, ran_since);
	/*
	 * Blocking on the mutex while holding the GIL is a drop: drop_gil
	 * locks it before it clears `locked`, and the exact tiers' hold ends
	 * at drop_gil's entry (the relock of a waiter handed the GIL, which
	 * does not hold it yet, is a wait: below). Holding it to us and
	 * waiting on the condition variable: it let it go unseen (or was
	 * handed it and lost the race), then asked.
	 */
	if (th->gil_state == CT_GIL_HELD && mutex && sight == CT_GILC_MINE) {
		ct_gil_let_go(th, now);
		return;
	}
	if (th->gil_state == CT_GIL_HELD)
		ct_gil_let_go(th, now);
	if (th->gil_state != CT_GIL_WAITING)
		ct_gilc_wait(th, w, sight, now);
	th->flags |= CT_TF_GIL_BLOCKED;
}

/*
 * A block outside take_gil and drop_gil (a socket's recv, a lock of the
 * program's own) within CT_GILC_READ_EVERY_NS of the thread's last read
 * does not read the GIL: CPython lets it go around such a call
 * (Py_BEGIN_ALLOW_THREADS), and the thread's state moves as a read that
 * found the GIL not its own would move it. What this misses: a hold
 * through such a block (C code that blocks holding the GIL), counted as
 * released; one seen: the first block after a wait for the GIL (a hold's
 * first block), and a block a millisecond or more after the thread's last
 * read (blocks holding the GIL again and again: one in a few is seen, and
 * every one a millisecond apart). Only for a thread whose PyThreadState is
 * known (th->gil_tstate), or that is not a Python thread (not in the
 * interpreter's list as user space last read it), so that the states
 * move as the read would move them.
 */
static __always_inline bool ct_gilc_block_unread(struct ct_thread *th, __u64 ran_since, __u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ct_gil_tstate_key key = { .tgid = th->tgid, .pthread = cur->thread.fsbase };
	__u64 *tstate;

	if (now - th->gil_read_ts >= CT_GILC_READ_EVERY_NS)
		return false;
	if (!th->gil_tstate) {
		tstate = bpf_map_lookup_elem(&ct_gil_tstates, &key);
		if (tstate && *tstate)
			return false;
	}
	if (th->gil_state == CT_GIL_WAITING) {
		/* To make this call it left take_gil: it took the GIL during this run. */
		ct_gil_acquired(th, ran_since);
		ct_gil_let_go(th, ran_since);
	} else if (th->gil_state == CT_GIL_HELD ||
		   (th->gil_state == CT_GIL_UNKNOWN && th->gil_tstate)) {
		ct_gil_let_go(th, now);
	}
	th->gil_blk = th->gil_state;
	return true;
}

__noinline int ct_gilc_switch_out(struct ct_thread *th, __u64 ran_since, int how, __u64 now)
{
	struct ct_gil_word w = {};
	int sight, known, mine, blocked = how & CT_GILC_OUT_BLOCK;
	__u64 g, uaddr;

	if (!th)
		return 0;
	g = ct_gilc_addr(th, true);
	if (!g)
		return 0;
	if (!ran_since || ran_since > now)
		ran_since = now;
	uaddr = blocked ? th->fx_uaddr : 0;
	if (uaddr >= g + CT_GIL_COND && uaddr < g + CT_GIL_END)
		th->flags |= CT_TF_FX_GIL; /* counted, not analysed as a lock (futex.bpf.c) */
	if (blocked && !(how & CT_GILC_OUT_READ) &&
	    (uaddr < g + CT_GIL_COND || uaddr >= g + CT_GIL_END) &&
	    ct_gilc_block_unread(th, ran_since, now))
		return 0;
	th->gil_read_ts = now;
	sight = ct_gilc_look(th, g, &w, &known, 0);
	if (uaddr && ct_gilc_take_word(g, uaddr)) {
		ct_gilc_take_block(th, g, uaddr, &w, sight, ran_since, now);
		th->gil_blk = th->gil_state;
		th->gil_read_ts = 0; /* it takes the GIL next: its next block reads it */
		return 0;
	}
	if (uaddr >= g + CT_GIL_SWITCH_COND && uaddr <= g + CT_GIL_SWITCH_MUTEX) {
		/*
		 * drop_gil waits for a forced switch to happen (switch_cond): it
		 * let go already. Still waiting to us, it took the GIL unseen
		 * during this run (its timed wait ran out, and it found the GIL
		 * free). The switch mutex is locked by a taker and by a forced
		 * dropper alike: a sign only after a run too long for take_gil.
		 */
		if (uaddr != g + CT_GIL_SWITCH_MUTEX ||
		    ct_gilc_took_unseen(th, &w, sight, ran_since, now)) {
			if (th->gil_state == CT_GIL_WAITING)
				ct_gil_acquired(th, ran_since);
			if (th->gil_state == CT_GIL_HELD)
				ct_gil_let_go(th, now);
		}
		th->gil_blk = th->gil_state;
		return 0;
	}
	if (sight == CT_GILC_UNREAD || sight == CT_GILC_UNSURE)
		return 0; /* someone holds it, perhaps this thread */
	mine = sight == CT_GILC_MINE;
	switch (th->gil_state) {
	case CT_GIL_WAITING:
		/*
		 * A waiter sleeps in take_gil; one that ran until now has left it:
		 * it took the GIL during this run. Holding it still, since then;
		 * else it let it go unseen, for a syscall or native code (zlib):
		 * the run counts as released, the hold as too short to place.
		 */
		ct_gil_acquired(th, ran_since);
		if (!mine)
			ct_gil_let_go(th, ran_since);
		else
			ct_gilc_still_held(th, &w);
		break;
	case CT_GIL_HELD:
		if (!mine)
			ct_gil_let_go(th, now);
		else
			ct_gilc_still_held(th, &w);
		break;
	default:
		/* Released or not seen yet: a Python thread holding it took it during this run. */
		if (mine) {
			ct_gil_wait(th, ran_since);
			ct_gil_acquired(th, ran_since);
			ct_gilc_still_held(th, &w);
		} else if (known && th->gil_state == CT_GIL_UNKNOWN) {
			ct_gil_let_go(th, now);
		}
		break;
	}
	if (blocked)
		th->gil_blk = th->gil_state;
	return 0;
}

/*
 * A CPU-clock sample (gilsample.bpf.c) of the current thread, running with
 * the GIL held or released as its events have it: whether it holds the GIL
 * now, -1 if its process is not followed by tier C. The events miss a take
 * and a drop within one run (a read that returned at once, then a write:
 * pipe and socket ping-pong wake no one and make no futex call), and date
 * others at the run's edges: the samples' share that finds the GIL ours
 * splits the thread's time on a CPU held or released (user/model/gil.c).
 * futex: the word of the futex call the thread is in, 0 if none.
 */
__noinline int ct_gilc_sample_mine(struct ct_thread *th, __u64 futex)
{
	struct ct_gil_word w;
	int known;
	__u64 g;

	if (!th)
		return -1;
	g = ct_gilc_addr(th, false);
	if (!g)
		return -1;
	/*
	 * A futex call on one of the GIL's own words is take_gil or drop_gil
	 * at work (the mutex's unlock after a take wakes the next waiter):
	 * the exact tiers count it as the wait or the release, not the hold.
	 */
	if (futex >= g + CT_GIL_COND && futex < g + CT_GIL_END)
		return 0;
	return ct_gilc_look(th, g, &w, &known, 1) == CT_GILC_MINE;
}

/*
 * The current thread (waker) wakes the dropper of a forced switch, which
 * waits on switch_cond until another thread has taken the GIL: take_gil
 * signals it right after taking the GIL. A waker that holds it now took it
 * just now, though it may never have slept (its timed wait ran out).
 */
static __always_inline void ct_gilc_switched(struct ct_thread *waker, __u64 g, __u64 now)
{
	struct ct_gil_word w;
	int known;

	if (waker->gil_state == CT_GIL_HELD ||
	    ct_gilc_look(waker, g, &w, &known, 0) != CT_GILC_MINE)
		return;
	if (waker->gil_state != CT_GIL_WAITING)
		ct_gil_wait(waker, now);
	ct_gil_acquired(waker, now);
	ct_gilc_still_held(waker, &w);
}

__noinline int ct_gilc_waking(struct ct_thread *th, struct ct_thread *waker, __u64 now)
{
	__u64 g;

	if (!th || !waker || waker->tgid != th->tgid)
		return 0;
	g = ct_gilc_addr(waker, true); /* the current thread's copy: th's process too */
	if (!g)
		return 0;
	if (th->pend_fx_uaddr >= g + CT_GIL_SWITCH_COND &&
	    th->pend_fx_uaddr < g + CT_GIL_SWITCH_MUTEX) {
		ct_gilc_switched(waker, g, now);
		return 0;
	}
	/* drop_gil signals the condition variable only after it let the GIL go. */
	if (th->pend_fx_uaddr < g + CT_GIL_COND || th->pend_fx_uaddr >= g + CT_GIL_MUTEX)
		return 0;
	/* A waiter leaving wakes a dropper in the condvar's own quiesce: not a drop. */
	if (th->gil_state != CT_GIL_WAITING)
		return 0;
	/*
	 * A waiter whose futex wait found the word changed never slept: it
	 * took the GIL unseen, during its current run.
	 */
	if (waker->gil_state == CT_GIL_WAITING && waker->state == CT_ST_RUNNING)
		ct_gil_acquired(waker, waker->state_ts < now ? waker->state_ts : now);
	if (waker->gil_state != CT_GIL_RELEASED)
		ct_gil_let_go(waker, now);
	th->gil_handed = 1;
	return 0;
}

static long ct_gilc_forget(struct bpf_map *map, struct ct_gil_tstate_key *key, __u64 *val,
			   __u32 *tgid)
{
	if (key->tgid == *tgid)
		bpf_map_delete_elem(map, key);
	return 0;
}

__noinline int ct_gil_proc_exit(__u32 tgid)
{
	struct ct_gil_addrs *a = bpf_map_lookup_elem(&ct_gil_addrs, &tgid);
	int futex;

	if (!a)
		return 0;
	futex = a->futex;
	bpf_map_delete_elem(&ct_gil_addrs, &tgid);
	ct_gil_addrs_changed();
	if (futex)
		bpf_for_each_map_elem(&ct_gil_tstates, ct_gilc_forget, &tgid, 0);
	return 0;
}

__noinline int ct_gilc_switch_in(struct ct_thread *th, __u64 now)
{
	if (!th)
		return 0;
	th->gil_run = CT_GIL_RUN_NONE;
	if (!th->gil_handed)
		return 0;
	th->gil_handed = 0;
	/*
	 * Taken as it runs again, at its switch-out (dated now, the run's
	 * start), or by a sample that finds it holding: one that loses the
	 * race to another waits again. (A thread preempted right after the
	 * take is holding, as the exact tiers have it once take_gil returned;
	 * counting it waiting when the run was under 20 us cut long holds of
	 * C calls short by the queue wait that followed.)
	 */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
