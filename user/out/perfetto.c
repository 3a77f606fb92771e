// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/locks.h"
#include "out/perfetto.h"
#include "out/views.h"
#include "util/pb.h"
#include "util/vec.h"

/* Field numbers of Perfetto's protos (protos/perfetto/trace/...). */
enum {
	TRACE_PACKET = 1, /* Trace.packet */
	TP_TIMESTAMP = 8,
	TP_SEQ_ID = 10, /* trusted_packet_sequence_id */
	TP_TRACK_EVENT = 11,
	TP_INTERNED = 12,
	TP_SEQ_FLAGS = 13,
	TP_TRACK_DESC = 60,
	TD_UUID = 1,
	TD_NAME = 2,
	TD_PROCESS = 3,
	TD_THREAD = 4,
	TD_PARENT = 5,
	PD_PID = 1,
	PD_NAME = 6,
	THD_PID = 1,
	THD_TID = 2,
	THD_NAME = 5,
	TE_TYPE = 9,
	TE_NAME_IID = 10,
	TE_TRACK = 11,
	TE_COUNTER_VALUE = 30,
	TD_COUNTER = 8,
	TE_FLOW = 47,
	TE_FLOW_END = 48, /* terminating_flow_ids */
	ID_EVENT_NAMES = 2, /* InternedData.event_names */
	EN_IID = 1,
	EN_NAME = 2,
};

enum { TE_SLICE_BEGIN = 1, TE_SLICE_END = 2, TE_INSTANT = 3, TE_COUNTER = 4 };
/* sequence_flags: the first packet clears the interned names, the others use them. */
enum { SEQ_CLEARED = 1, SEQ_NEEDS = 2 };

#define SEQ_ID 1
/*
 * Track uuids: a kind in the low 3 bits, a pid or a slot above, so that a
 * uuid is a short varint (every track event names its track).
 */
enum {
	UUID_PROC = 1,
	UUID_THREAD = 2,
	UUID_GIL = 3,
	UUID_RUNNABLE = 4, /* a process's runnable threads (counter) */
	UUID_GIL_WAITERS = 5, /* a process's threads waiting for the GIL (counter) */
	UUID_SAMPLES = 6, /* a thread's on-CPU samples (--stacks): instants */
	UUID_LOCKS = 7, /* a thread's contended lock holds: slices */
};
/* A sample's name: its class and its frames, innermost first, cut at this length. */
#define SAMPLE_NAME_MAX 2048
/* Names of (stack id, class) kept by index below this (about 6 per id): past it, looked up. */
#define SAMPLE_CACHE_MAX (1u << 22)

static uint64_t uuid(int kind, uint64_t id)
{
	return id << 3 | (uint64_t)kind;
}
/*
 * Counters change where slices begin and end, and slices are laid out
 * when a thread's next record comes, up to a few run-queue waits in the
 * past: changes wait in a buffer, sorted, until no thread can make an
 * earlier one (the watermark), at most this many (16 MiB).
 */
#define COUNTER_MAX (1u << 20)
#define COUNTER_FLUSH 65536u
/* Records from two CPUs reach the ring out of order by this much at most. */
#define SKEW_NS 1000000ull
/* Packets are written out once this many bytes are encoded. */
#define FLUSH_BYTES (1u << 20)

/* A thread: where its track stands, and its figures at its last record. */
struct pf_thread {
	bool known; /* in the report */
	bool dead;
	uint32_t tid;
	uint32_t pid;
	const struct rpt_thread *rt;
	uint64_t fig[CT_TLF_N]; /* at the last switch-out */
	uint64_t cursor; /* slices on its track end here so far */
	uint64_t blk_name; /* iid of what it sleeps in since its last switch-out, 0: not asleep */
	bool blk_lock; /* that is a lock's wait: its wakeup is the lock's release */
	uint64_t blk_ts; /* when it went to sleep */
	const struct rpt_lock *blk_lk; /* the futex word it sleeps on, as the report has it */
	/*
	 * A contended hold: from the run that ended its wait for a lock to its
	 * release of the lock to a waiter. The run's start is known at its
	 * switch-out, the release often before: whichever comes first waits.
	 */
	uint64_t hold_start; /* the run's start (0: none pending) */
	const struct rpt_lock *hold_lk;
	uint64_t rel_ts; /* its first release to a waiter since its last switch-out */
	const struct rpt_lock *rel_lk; /* the lock it released */
	uint64_t rel_wblk; /* when that waiter had gone to sleep */
	bool locks_track; /* its track of lock holds is described */
	uint64_t locks_cursor; /* its holds' track ends here (holds do not overlap on it) */
	uint64_t wake_ts; /* a wakeup by a traced thread since it slept: when */
	uint64_t woken_ts; /* woken (by anyone) since it slept: when; 0 if not */
	bool queued; /* its last switch-out left it runnable */
	uint32_t waker; /* its slot + 1, 0: none */
	uint32_t gil_state; /* enum ct_gil_state, at the last GIL record */
	uint64_t gil[3]; /* wait, hold, released at that record */
	uint64_t gil_cursor;
	bool samples_track; /* its on-CPU samples' track is described */
};

/*
 * A lock: its "holding lock NAME" name, interned, its last release to a
 * waiter, and the first block on it since (the kernel side's block_ts).
 */
struct pf_held {
	const struct rpt_lock *lk;
	uint64_t iid;
	uint64_t last_rel;
	uint64_t first_block;
};

/* A counter's change: +1 or -1 at ts, on track (a counter's uuid). */
struct pf_change {
	uint64_t ts;
	uint64_t track;
	int64_t d;
};

/* A counter's value now, by track (few: two per process). */
struct pf_counter {
	uint64_t track;
	int64_t value;
};

struct perfetto {
	FILE *f;
	const struct report *r;
	struct pb pb;
	bool first; /* no packet written yet */
	struct pf_thread *th; /* by slot */
	size_t nth;
	char **names; /* interned: iid i + 1 */
	size_t nnames, namecap;
	uint64_t next_flow;
	uint64_t now; /* the latest record's time */
	struct pf_change *chg; /* counter changes not yet written */
	size_t nchg, chgcap;
	size_t chg_next; /* flush when this many are held: twice what a flush left */
	struct pf_counter *ctr;
	size_t nctr, ctrcap;
	uint64_t iid_running, iid_runnable, iid_blocked, iid_gil_wait, iid_gil_hold, iid_wakeup;
	uint64_t iid_release, iid_handoff, iid_gil_blocked, iid_event_wakeup;
	struct pf_held *held; /* "holding lock NAME": its iid by lock */
	size_t nheld, heldcap;
	uint64_t *smp_iid; /* a sample's name iid by stack id * CT_SMP_CLASSES + class; 0: not yet */
	size_t nsmp;
	const struct snapshot *s; /* the final snapshot: its tid index, for the wakers */
	struct perfetto_stats st;
	int err;
};

/* Packets */

static size_t packet_begin(struct perfetto *p, uint64_t ts)
{
	size_t at = pb_begin(&p->pb, TRACE_PACKET);

	if (ts)
		pb_uint(&p->pb, TP_TIMESTAMP, ts);
	pb_uint(&p->pb, TP_SEQ_ID, SEQ_ID);
	pb_uint(&p->pb, TP_SEQ_FLAGS, p->first ? SEQ_CLEARED : SEQ_NEEDS);
	p->first = false;
	return at;
}

static void flush(struct perfetto *p)
{
	if (p->pb.err && !p->err)
		p->err = p->pb.err;
	if (!p->err && p->pb.len && fwrite(p->pb.b, 1, p->pb.len, p->f) != p->pb.len)
		p->err = errno ? -errno : -EIO;
	p->st.bytes += p->pb.len;
	p->pb.len = 0;
}

static void packet_end(struct perfetto *p, size_t at)
{
	pb_end(&p->pb, at);
	if (p->pb.len >= FLUSH_BYTES)
		flush(p);
}

/* The iid of a name; new ones are interned in the packet at `pkt` (open). */
static uint64_t intern(struct perfetto *p, const char *name)
{
	char **slot;

	for (size_t i = 0; i < p->nnames; i++)
		if (!strcmp(p->names[i], name))
			return i + 1;
	slot = vec_push(p->names, p->nnames, p->namecap);
	if (!slot || !(*slot = strdup(name))) {
		if (slot)
			p->nnames--;
		p->err = -ENOMEM;
		return 0;
	}
	return p->nnames;
}

/* A packet declaring one interned name: written before its first use. */
static uint64_t name_iid(struct perfetto *p, const char *name)
{
	size_t before = p->nnames, pkt, in, en;
	uint64_t iid = intern(p, name);

	if (p->nnames == before)
		return iid;
	pkt = packet_begin(p, 0);
	in = pb_begin(&p->pb, TP_INTERNED);
	en = pb_begin(&p->pb, ID_EVENT_NAMES);
	pb_uint(&p->pb, EN_IID, iid);
	pb_str(&p->pb, EN_NAME, name);
	pb_end(&p->pb, en);
	pb_end(&p->pb, in);
	packet_end(p, pkt);
	return iid;
}

/* A track event: a slice's begin or end, or an instant; flows out and in (0: none). */
static void track_event(struct perfetto *p, uint64_t track, uint64_t ts, int type, uint64_t iid,
			uint64_t flow, uint64_t flow_end)
{
	size_t pkt = packet_begin(p, ts), te;

	te = pb_begin(&p->pb, TP_TRACK_EVENT);
	pb_uint(&p->pb, TE_TYPE, (uint64_t)type);
	pb_uint(&p->pb, TE_TRACK, track);
	if (iid)
		pb_uint(&p->pb, TE_NAME_IID, iid);
	if (flow)
		pb_fixed64(&p->pb, TE_FLOW, flow);
	if (flow_end)
		pb_fixed64(&p->pb, TE_FLOW_END, flow_end);
	pb_end(&p->pb, te);
	packet_end(p, pkt);
}

static void change(struct perfetto *p, uint64_t track, uint64_t ts, int64_t d)
{
	struct pf_change *c = vec_push(p->chg, p->nchg, p->chgcap);

	if (!c) {
		p->err = -ENOMEM;
		return;
	}
	*c = (struct pf_change){ ts, track, d };
}

/* A slice that counts: one more on `counter` while it lasts. */
static void counted(struct perfetto *p, uint64_t counter, uint64_t ts, uint64_t dur)
{
	change(p, counter, ts, 1);
	change(p, counter, ts + dur, -1);
}

static void slice(struct perfetto *p, uint64_t track, uint64_t ts, uint64_t dur, uint64_t iid,
		  uint64_t flow_end)
{
	track_event(p, track, ts, TE_SLICE_BEGIN, iid, 0, flow_end);
	track_event(p, track, ts + dur, TE_SLICE_END, 0, 0, 0);
	p->st.slices++;
}

/* Tracks */

static void track_desc(struct perfetto *p, uint64_t uuid, uint64_t parent, const char *name,
		       const struct rpt_process *proc, const struct rpt_thread *t)
{
	size_t pkt = packet_begin(p, 0), td, sub;

	td = pb_begin(&p->pb, TP_TRACK_DESC);
	pb_uint(&p->pb, TD_UUID, uuid);
	if (parent)
		pb_uint(&p->pb, TD_PARENT, parent);
	if (name)
		pb_str(&p->pb, TD_NAME, name);
	if (proc) {
		sub = pb_begin(&p->pb, TD_PROCESS);
		pb_uint(&p->pb, PD_PID, proc->pid);
		pb_str(&p->pb, PD_NAME, proc->comm);
		pb_end(&p->pb, sub);
	}
	if (t) {
		sub = pb_begin(&p->pb, TD_THREAD);
		pb_uint(&p->pb, THD_PID, t->pid);
		pb_uint(&p->pb, THD_TID, t->tid);
		pb_str(&p->pb, THD_NAME, rpt_thread_name(t));
		pb_end(&p->pb, sub);
	}
	pb_end(&p->pb, td);
	packet_end(p, pkt);
}

static void counter_desc(struct perfetto *p, uint64_t uuid, uint64_t parent, const char *name)
{
	size_t pkt = packet_begin(p, 0), td;

	td = pb_begin(&p->pb, TP_TRACK_DESC);
	pb_uint(&p->pb, TD_UUID, uuid);
	pb_uint(&p->pb, TD_PARENT, parent);
	pb_str(&p->pb, TD_NAME, name);
	pb_end(&p->pb, pb_begin(&p->pb, TD_COUNTER)); /* an empty CounterDescriptor */
	pb_end(&p->pb, td);
	packet_end(p, pkt);
}

static bool is_python(const struct rpt_process *proc)
{
	return proc->gil != NULL;
}

static int add_threads(struct perfetto *p, const struct rpt_process *proc)
{
	uint64_t start = p->r->meta->trace_start_ns + p->r->window_start_ns;

	for (size_t k = 0; k < proc->nthreads; k++) {
		const struct rpt_thread *t = &proc->threads[k];
		struct pf_thread *pt;

		if (t->slot >= p->nth)
			continue;
		pt = &p->th[t->slot];
		pt->known = true;
		pt->tid = t->tid;
		pt->pid = t->pid;
		pt->rt = t;
		pt->cursor = pt->gil_cursor = start + t->start_ns;
		track_desc(p, uuid(UUID_THREAD, t->slot), 0, NULL, NULL, t);
		if (is_python(proc))
			track_desc(p, uuid(UUID_GIL, t->slot), uuid(UUID_THREAD, t->slot), "GIL",
				   NULL, NULL);
	}
	return 0;
}

static size_t slots_of(const struct report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nprocs; i++)
		for (size_t k = 0; k < r->procs[i].nthreads; k++)
			if (r->procs[i].threads[k].slot + 1 > n)
				n = r->procs[i].threads[k].slot + 1;
	return n;
}

int perfetto_open(struct perfetto **pp, FILE *f, const struct report *r, const struct snapshot *s)
{
	struct perfetto *p = calloc(1, sizeof(*p));

	*pp = NULL;
	if (!p)
		return -ENOMEM;
	p->f = f;
	p->r = r;
	p->s = s;
	p->first = true;
	p->chg_next = COUNTER_FLUSH;
	p->nth = slots_of(r);
	p->th = calloc(p->nth ? p->nth : 1, sizeof(*p->th));
	if (!p->th) {
		free(p);
		return -ENOMEM;
	}
	p->iid_running = name_iid(p, "running");
	p->iid_runnable = name_iid(p, "runnable");
	p->iid_blocked = name_iid(p, "blocked");
	p->iid_gil_wait = name_iid(p, "waiting for the GIL");
	p->iid_gil_hold = name_iid(p, "holding the GIL");
	p->iid_wakeup = name_iid(p, "wakeup");
	p->iid_release = name_iid(p, "lock release");
	p->iid_handoff = name_iid(p, "GIL handoff");
	p->iid_gil_blocked = name_iid(p, "blocked on the GIL");
	p->iid_event_wakeup = name_iid(p, "signal");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rpt_process *proc = &r->procs[i];

		track_desc(p, uuid(UUID_PROC, proc->pid), 0, NULL, proc, NULL);
		counter_desc(p, uuid(UUID_RUNNABLE, proc->pid), uuid(UUID_PROC, proc->pid),
			     "runnable threads");
		if (is_python(proc))
			counter_desc(p, uuid(UUID_GIL_WAITERS, proc->pid),
				     uuid(UUID_PROC, proc->pid), "threads waiting for the GIL");
		add_threads(p, proc);
	}
	flush(p);
	if (p->err) {
		int ret = p->err;

		perfetto_abort(p);
		return ret;
	}
	*pp = p;
	return 0;
}

/* The thread states */

/* The name of a sleep: the lock it waits for, the syscall, or just blocked. */
static uint64_t sleep_name(struct perfetto *p, struct pf_thread *t, int nr, uint64_t uaddr)
{
	char buf[SNAP_SYM_LEN + 32], sys[32];

	for (size_t i = 0; uaddr && i < p->r->nprocs; i++) {
		const struct rpt_process *proc = &p->r->procs[i];

		if (proc->pid != t->pid)
			continue;
		for (size_t k = 0; k < proc->nlocks; k++) {
			if (proc->locks[k].uaddr != uaddr)
				continue;
			if (proc->locks[k].gil)
				return p->iid_gil_blocked;
			/* A lock's wait ends at a release; an event's (a condvar...) at a signal. */
			t->blk_lock = !proc->locks[k].join && proc->locks[k].kind == RPT_KIND_LOCK;
			t->blk_lk = &proc->locks[k];
			snprintf(buf, sizeof(buf), "%s %s",
				 proc->locks[k].join		      ? "joining" :
				 proc->locks[k].kind == RPT_KIND_LOCK ? "waiting for lock" :
									"waiting for",
				 proc->locks[k].name);
			return name_iid(p, buf);
		}
	}
	if (nr == CT_SYS_NONE)
		return p->iid_blocked;
	snprintf(buf, sizeof(buf), "blocked in %s", syscall_name(nr, sys, sizeof(sys)));
	return name_iid(p, buf);
}

/*
 * Lay out a thread's states since its last record, up to `end`: blocked
 * (if it slept), runnable, running, each as long as its figure grew. They
 * end at `end` (a switch-out: the run ends there), but never begin before
 * the thread's last slice ended (the figures and our clock differ by
 * microseconds).
 */
static uint64_t sched_slices(struct perfetto *p, struct pf_thread *t, uint32_t slot, uint64_t end,
			     const __u64 fig[CT_TLF_N])
{
	uint64_t track = uuid(UUID_THREAD, slot), ts, d[CT_TLF_N], total = 0, flow = 0, run = 0;

	for (int i = 0; i < CT_TLF_N; i++) {
		d[i] = fig[i] > t->fig[i] ? fig[i] - t->fig[i] : 0;
		total += d[i];
		t->fig[i] = fig[i] > t->fig[i] ? fig[i] : t->fig[i];
	}
	ts = end > total && end - total > t->cursor ? end - total : t->cursor;
	if (d[CT_TLF_BLOCKED]) {
		slice(p, track, ts, d[CT_TLF_BLOCKED], t->blk_name ? t->blk_name : p->iid_blocked,
		      0);
		ts += d[CT_TLF_BLOCKED];
	}
	if (d[CT_TLF_RUNQ]) {
		slice(p, track, ts, d[CT_TLF_RUNQ], p->iid_runnable, 0);
		counted(p, uuid(UUID_RUNNABLE, t->pid), ts, d[CT_TLF_RUNQ]);
		ts += d[CT_TLF_RUNQ];
	}
	if (t->waker) {
		/* The wakeup on the waker's track, flowing to the run it caused. */
		flow = ++p->next_flow;
		track_event(p, uuid(UUID_THREAD, (t->waker - 1)), t->wake_ts, TE_INSTANT,
			    t->blk_lock			      ? p->iid_release :
			    t->blk_name == p->iid_gil_blocked ? p->iid_handoff :
			    t->blk_lk && !t->blk_lk->join     ? p->iid_event_wakeup :
								p->iid_wakeup,
			    flow, 0);
		p->st.flows++;
	}
	t->waker = 0;
	if (d[CT_TLF_ONCPU] + d[CT_TLF_STOLEN]) {
		run = ts;
		slice(p, track, ts, d[CT_TLF_ONCPU] + d[CT_TLF_STOLEN], p->iid_running, flow);
		ts += d[CT_TLF_ONCPU] + d[CT_TLF_STOLEN];
	} else if (flow) {
		/* Woken, but no run measured yet: the flow ends where the run would begin. */
		track_event(p, track, ts, TE_INSTANT, p->iid_running, 0, flow);
	}
	t->cursor = ts;
	return run;
}

static struct pf_held *held_of(struct perfetto *p, const struct rpt_lock *lk)
{
	char buf[SNAP_SYM_LEN + 32];
	struct pf_held *h;

	for (size_t i = 0; i < p->nheld; i++)
		if (p->held[i].lk == lk)
			return &p->held[i];
	h = vec_push(p->held, p->nheld, p->heldcap);
	if (!h) {
		p->err = -ENOMEM;
		return NULL;
	}
	snprintf(buf, sizeof(buf), "holding lock %s", lk->name);
	h->lk = lk;
	h->iid = name_iid(p, buf);
	return h;
}

/*
 * A contended hold on the thread's track of lock holds: from the run that
 * ended its wait (or, if later, from when the waiter it released began to
 * wait: it may have let the lock go and taken it again meanwhile, as the
 * kernel side's rule says too) to its release of the lock. A hold that would
 * overlap the thread's previous one (two locks held at once) is left out:
 * slices on a track must nest.
 */
static void hold_slice(struct perfetto *p, struct pf_thread *t, uint32_t slot,
		       const struct rpt_lock *lk, uint64_t start, uint64_t end)
{
	uint64_t track = uuid(UUID_LOCKS, slot);
	struct pf_held *l;

	if (end <= start || start < t->locks_cursor) {
		p->st.holds_left_out++;
		return;
	}
	if (!t->locks_track) {
		track_desc(p, track, uuid(UUID_THREAD, slot), "locks", NULL, NULL);
		t->locks_track = true;
	}
	l = held_of(p, lk);
	if (!l)
		return;
	slice(p, track, start, end - start, l->iid, 0);
	t->locks_cursor = end;
	p->st.holds++;
}

/* A run that ended a wait for lk began at run: a hold, ended by a release seen, or pending. */
static void hold_begins(struct perfetto *p, struct pf_thread *t, uint32_t slot,
			const struct rpt_lock *lk, uint64_t run)
{
	if (t->rel_ts && t->rel_lk == lk && t->rel_ts >= run) {
		hold_slice(p, t, slot, lk, t->rel_wblk > run ? t->rel_wblk : run, t->rel_ts);
		t->hold_start = 0;
		t->hold_lk = NULL;
		return;
	}
	t->hold_start = run;
	t->hold_lk = lk;
}

/*
 * Holder h (at slot) released lk at ts to a waiter asleep since wblk. Its
 * hold began with the run that ended its own wait for lk (that run's start
 * is known at its switch-out: the release waits for it), or, if it took
 * the lock unseen, at least since the first thread blocked on the lock
 * after its previous release, if one did.
 */
static void release(struct perfetto *p, struct pf_thread *h, uint32_t slot,
		    const struct rpt_lock *lk, uint64_t ts, uint64_t wblk)
{
	struct pf_held *l = held_of(p, lk);
	uint64_t start = 0;

	if (!l)
		return;
	if (h->blk_lk == lk && !h->rel_ts) {
		h->rel_ts = ts;
		h->rel_lk = lk;
		h->rel_wblk = wblk;
	} else if (h->hold_lk == lk && ts >= h->hold_start) {
		start = wblk > h->hold_start ? wblk : h->hold_start;
		h->hold_start = 0;
		h->hold_lk = NULL;
	} else if (l->first_block > l->last_rel) {
		start = l->first_block;
	}
	if (start)
		hold_slice(p, h, slot, lk, start, ts);
	l->last_rel = ts;
}

static void switch_out(struct perfetto *p, struct pf_thread *t, const struct ct_tl_event *e)
{
	const struct rpt_lock *waited = t->blk_lock ? t->blk_lk : NULL;
	uint64_t run = sched_slices(p, t, e->slot, e->ts, e->fig);

	if (waited && run)
		hold_begins(p, t, e->slot, waited, run);
	t->rel_ts = 0;
	t->blk_name = 0;
	t->blk_lock = false;
	t->blk_lk = NULL;
	t->woken_ts = 0;
	t->queued = e->how == 0; /* CT_OUT_QUEUED */
	if (e->how == 2) /* CT_OUT_DEAD */
		t->dead = true;
	else if (e->how == 1) /* CT_OUT_BLOCK */
		t->blk_name = sleep_name(p, t, e->nr, e->uaddr);
	t->blk_ts = e->ts;
	if (t->blk_lock) {
		struct pf_held *l = held_of(p, t->blk_lk);

		if (l && l->first_block <= l->last_rel)
			l->first_block = e->ts;
	}
	/* Waiting for the lock it held: it let it go without waking anyone. */
	if (t->hold_lk && t->blk_lk == t->hold_lk) {
		t->hold_start = 0;
		t->hold_lk = NULL;
	}
}

/* The thread of a tid (its last slot), or -1 (another process, an interrupt). */
static long slot_of(const struct perfetto *p, uint32_t tid)
{
	const struct snap_tid *t = tid ? snapshot_find_tid(p->s, tid) : NULL;

	if (!t || t->slot >= p->nth || !p->th[t->slot].known || p->th[t->slot].dead)
		return -1;
	return t->slot;
}

static void waking(struct perfetto *p, struct pf_thread *t, const struct ct_tl_event *e)
{
	long w = slot_of(p, e->other);

	/* A waking while it runs or is queued woke nothing. */
	if (!t->blk_name && t->fig[CT_TLF_ONCPU])
		return;
	/*
	 * The first waking since it slept made it runnable. A later one before
	 * its next switch-out found it running again, about to sleep (its state
	 * set, schedule() not yet called: a lock released to it once more):
	 * taken, it drew the flow from a wakeup after the run it caused began,
	 * by up to a run's length (4.6 ms once in CI, on the demo's workers).
	 */
	if (t->woken_ts)
		return;
	t->waker = w >= 0 ? (uint32_t)w + 1 : 0;
	t->wake_ts = e->ts;
	t->woken_ts = e->ts;
	if (w >= 0 && t->blk_lock)
		release(p, &p->th[w], (uint32_t)w, t->blk_lk, e->ts, t->blk_ts);
}

/*
 * The GIL: the states passed through since the last record, in the order
 * a thread goes through them (waiting, holding, released), from the state
 * it was in, each as long as its figure grew, ending where the new state
 * began.
 */
static void gil_slices(struct perfetto *p, struct pf_thread *t, uint32_t slot, uint64_t end,
		       uint32_t new_state, const __u64 g[3])
{
	/* enum ct_gil_state to an index of g[]: waiting 0, held 1, released 2. */
	static const int order[4] = { 2, 0, 1, 2 };
	uint64_t d[3], total = 0, ts;
	int first = order[t->gil_state < 4 ? t->gil_state : 0];

	for (int i = 0; i < 3; i++) {
		d[i] = g[i] > t->gil[i] ? g[i] - t->gil[i] : 0;
		total += d[i];
		t->gil[i] = g[i] > t->gil[i] ? g[i] : t->gil[i];
	}
	ts = end > total && end - total > t->gil_cursor ? end - total : t->gil_cursor;
	for (int k = 0; k < 3; k++) {
		int i = (first + k) % 3;

		if (d[i] && i != CT_TLF_GIL_REL)
			slice(p, uuid(UUID_GIL, slot), ts, d[i],
			      i == CT_TLF_GIL_WAIT ? p->iid_gil_wait : p->iid_gil_hold, 0);
		if (d[i] && i == CT_TLF_GIL_WAIT)
			counted(p, uuid(UUID_GIL_WAITERS, t->pid), ts, d[i]);
		ts += d[i];
	}
	t->gil_cursor = ts;
	t->gil_state = new_state;
}

/*
 * The earliest time a thread may still make a counter change: where its
 * run-queue wait will begin (if it is queued, or woken and not yet run),
 * where its wait for the GIL began; for the rest, about now.
 */
static uint64_t watermark(const struct perfetto *p)
{
	uint64_t w = p->now > SKEW_NS ? p->now - SKEW_NS : 0;

	for (size_t i = 0; i < p->nth; i++) {
		const struct pf_thread *t = &p->th[i];
		uint64_t b = w;

		if (!t->known || t->dead)
			continue;
		if (t->queued || !t->fig[CT_TLF_ONCPU])
			b = t->cursor; /* queued, or not seen yet: from where its track stands */
		else if (t->woken_ts)
			b = t->woken_ts < t->cursor ? t->cursor : t->woken_ts;
		if (t->gil_state == CT_GIL_WAITING && t->gil_cursor < b)
			b = t->gil_cursor;
		if (b < w)
			w = b;
	}
	return w;
}

static int cmp_change(const void *a, const void *b)
{
	const struct pf_change *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	/* At one moment the ends first: a handoff is not counted twice. */
	return (x->d > y->d) - (x->d < y->d);
}

static struct pf_counter *counter_of(struct perfetto *p, uint64_t track)
{
	struct pf_counter *c;

	for (size_t i = 0; i < p->nctr; i++)
		if (p->ctr[i].track == track)
			return &p->ctr[i];
	c = vec_push(p->ctr, p->nctr, p->ctrcap);
	if (c)
		c->track = track;
	else
		p->err = -ENOMEM;
	return c;
}

static void counter_value(struct perfetto *p, uint64_t track, uint64_t ts, int64_t v)
{
	size_t pkt = packet_begin(p, ts), te;

	te = pb_begin(&p->pb, TP_TRACK_EVENT);
	pb_uint(&p->pb, TE_TYPE, TE_COUNTER);
	pb_uint(&p->pb, TE_TRACK, track);
	pb_int(&p->pb, TE_COUNTER_VALUE, v);
	pb_end(&p->pb, te);
	packet_end(p, pkt);
}

/*
 * Write the counter changes below the watermark (all of them at the end, or
 * when the buffer is full), as each counter's value after the last change
 * at each moment.
 */
static void counters_flush(struct perfetto *p, bool all)
{
	uint64_t w = all || p->nchg >= COUNTER_MAX ? UINT64_MAX : watermark(p);
	size_t i = 0;

	qsort(p->chg, p->nchg, sizeof(*p->chg), cmp_change);
	while (i < p->nchg && p->chg[i].ts <= w && !p->err) {
		struct pf_change *c = &p->chg[i];
		struct pf_counter *k = counter_of(p, c->track);

		if (!k)
			break;
		k->value += c->d;
		i++;
		/* One value per counter and moment. */
		if (i < p->nchg && p->chg[i].ts == c->ts && p->chg[i].track == c->track)
			continue;
		counter_value(p, c->track, c->ts, k->value < 0 ? 0 : k->value);
	}
	memmove(p->chg, p->chg + i, (p->nchg - i) * sizeof(*p->chg));
	p->nchg -= i;
	p->chg_next = p->nchg * 2 > COUNTER_FLUSH ? p->nchg * 2 : COUNTER_FLUSH;
}

/* A sample's name: "holding the GIL: f (app.py:3) <- g (app.py:9) <- ...". */
static void sample_text(char *buf, size_t len, uint32_t cls, const struct rpt_lock_stack *st)
{
	char fn[SNAP_SYM_LEN];
	size_t at;

	at = (size_t)snprintf(buf, len, "%s:", rpt_smp_class_text(cls));
	if (!st->n && at < len)
		at += (size_t)snprintf(buf + at, len - at, " [stack not in the recording]");
	for (uint32_t i = 0; i < st->n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? " <- " : " ",
				       frame_function(st->frames[i], fn, sizeof(fn)));
}

/* The iid of a sample's name, interned once per stack and class. */
static uint64_t sample_iid(struct perfetto *p, uint32_t pid, uint32_t cls, uint64_t id)
{
	uint64_t key = id * CT_SMP_CLASSES + cls, iid;
	struct rpt_lock_stack st = { 0 };
	char name[SAMPLE_NAME_MAX];

	if (key < p->nsmp && p->smp_iid[key])
		return p->smp_iid[key];
	if (locks_stack_named(&st, pid, p->s, id)) {
		p->err = -ENOMEM;
		return 0;
	}
	sample_text(name, sizeof(name), cls, &st);
	free(st.frames);
	iid = name_iid(p, name);
	if (key < SAMPLE_CACHE_MAX && key >= p->nsmp) {
		size_t n = key + 1 > 2 * p->nsmp ? key + 1 : 2 * p->nsmp;
		uint64_t *v = realloc(p->smp_iid, n * sizeof(*v));

		if (!v) {
			p->err = -ENOMEM;
			return iid;
		}
		memset(v + p->nsmp, 0, (n - p->nsmp) * sizeof(*v));
		p->smp_iid = v;
		p->nsmp = n;
	}
	if (key < p->nsmp)
		p->smp_iid[key] = iid;
	return iid;
}

/* An on-CPU sample: an instant named by what ran, on the thread's track of samples. */
static void sample(struct perfetto *p, struct pf_thread *t, const struct ct_tl_event *e)
{
	uint64_t track = uuid(UUID_SAMPLES, e->slot), iid;

	if (e->how >= CT_SMP_CLASSES) {
		p->st.unknown++;
		return;
	}
	if (!t->samples_track) {
		track_desc(p, track, uuid(UUID_THREAD, e->slot), "on-CPU samples", NULL, NULL);
		t->samples_track = true;
	}
	iid = sample_iid(p, t->pid, e->how, e->uaddr);
	if (!iid)
		return;
	track_event(p, track, e->ts, TE_INSTANT, iid, 0, 0);
	p->st.samples++;
}

int perfetto_event(struct perfetto *p, const struct ct_tl_event *e)
{
	struct pf_thread *t = e->slot < p->nth ? &p->th[e->slot] : NULL;

	p->st.events++;
	if (e->ts > p->now)
		p->now = e->ts;
	if (p->nchg >= p->chg_next)
		counters_flush(p, false);
	/*
	 * A sample comes through another ring, unwound first: it may follow its
	 * thread's last switch-out (its exit) in the recording.
	 */
	if (t && t->known && e->kind == CT_TL_SAMPLE) {
		sample(p, t, e);
		return p->err;
	}
	if (!t || !t->known || t->dead) {
		p->st.unknown++;
		return 0;
	}
	if (e->kind == CT_TL_SWITCH_OUT)
		switch_out(p, t, e);
	else if (e->kind == CT_TL_WAKING)
		waking(p, t, e);
	else if (e->kind == CT_TL_GIL && e->how <= CT_GIL_RELEASED)
		gil_slices(p, t, e->slot, e->ts, e->how, e->fig);
	else
		p->st.unknown++;
	return p->err;
}

/* A living thread's states from its last record to the end, from the report's figures. */
static void close_thread(struct perfetto *p, struct pf_thread *t, uint32_t slot, uint64_t end)
{
	const struct rpt_thread *rt = t->rt;
	__u64 fig[CT_TLF_N] = {
		[CT_TLF_ONCPU] = rt->s.f.oncpu_ns,
		[CT_TLF_STOLEN] = rt->s.f.stolen_ns,
		[CT_TLF_RUNQ] = rt->s.f.runq_ns,
		[CT_TLF_BLOCKED] = rt->s.f.blocked_ns,
	};
	__u64 gil[3] = {
		[CT_TLF_GIL_WAIT] = rt->gil.wait_ns,
		[CT_TLF_GIL_HOLD] = rt->gil.hold_ns,
		[CT_TLF_GIL_REL] = rt->gil.rel_ns,
	};

	/* A thread that exited: its last switch-out ended it, its figures are final. */
	if (t->dead)
		return;
	t->waker = 0;
	sched_slices(p, t, slot, end, fig);
	if (rt->gil.seen)
		gil_slices(p, t, slot, end, t->gil_state, gil);
}

int perfetto_close(struct perfetto *p, uint64_t end_ts, struct perfetto_stats *st)
{
	int ret;

	for (size_t i = 0; i < p->nth; i++)
		if (p->th[i].known)
			close_thread(p, &p->th[i], (uint32_t)i, end_ts);
	counters_flush(p, true);
	flush(p);
	if (!p->err && fflush(p->f))
		p->err = errno ? -errno : -EIO;
	ret = p->err;
	if (st)
		*st = p->st;
	perfetto_abort(p);
	return ret;
}

void perfetto_abort(struct perfetto *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	free(p->th);
	free(p->smp_iid);
	free(p->held);
	free(p->chg);
	free(p->ctr);
	pb_free(&p->pb);
	free(p);
}
