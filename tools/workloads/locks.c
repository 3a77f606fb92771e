// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lock contention with known answers. Each waiting thread times its own
 * lock calls with clock_gettime and prints the total, so a test can compare
 * contrace's per-lock wait times with the truth.
 *
 *   locks MODE [THREADS] [ITERATIONS] [HOLD_US]
 *
 * MODE:
 *   mutex    THREADS threads take queue_lock ITERATIONS times, holding it
 *            HOLD_US and working HOLD_US/2 outside; one more thread takes
 *            quiet_lock alone (never contended)
 *   owner    one thread holds owner_lock for HOLD_US at a time, ITERATIONS
 *            times, with a pause between; THREADS waiters want it meanwhile
 *   rwlock   a writer holds rw_lock for writing HOLD_US at a time; THREADS
 *            readers take it for reading
 *   condvar  THREADS consumers wait on work_cond for items a producer posts
 *            every HOLD_US
 *   tcondvar the same with pthread_cond_timedwait (a deeper frame in glibc)
 *   sem      THREADS threads wait on work_sem; a poster posts every HOLD_US
 *   pi       like mutex, with a priority-inheritance mutex (pi_lock)
 *   timed    like mutex, with pthread_mutex_timedlock (a FUTEX_WAIT_BITSET
 *            wait) and a deadline far away
 *   many     one thread holds each of ITERATIONS distinct mutexes (an array
 *            on the heap) for HOLD_US while THREADS others block on it: one
 *            contended wait per thread and mutex
 *   barrier  THREADS threads meet at phase_barrier ITERATIONS times; the
 *            first works HOLD_US before each, the others HOLD_US/10 (a
 *            load imbalance, not a lock)
 *   deadlock two threads take deadlock_a and deadlock_b in opposite orders
 *            and never return (the test kills the process)
 *   relock   one thread takes deadlock_a twice (a normal mutex: it waits
 *            for itself forever)
 *   loop     THREADS threads lock and unlock quiet_lock ITERATIONS times in
 *            a tight loop (the cost of a lock/unlock pair; HOLD_US unused)
 *
 * Output: "thread TID ROLE", then "waited TID NS" per thread (its lock wait),
 * "held TID NS MAX_NS" (how long it held a mutex: mutex, pi, owner modes),
 * "total_waited NS", "lock NAME ADDRESS" for each global lock, and in loop
 * mode "loop TID NS" (nanoseconds per lock/unlock pair); first, "elapsed_ns NS":
 * from the threads' creation to the last one's end.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t rw_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
sem_t work_sem;
pthread_mutex_t pi_lock;
pthread_mutex_t deadlock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t deadlock_b = PTHREAD_MUTEX_INITIALIZER;
pthread_barrier_t phase_barrier;
static pthread_mutex_t *many;
static volatile int many_held = -1;

static int nthreads = 3, iterations = 200, hold_us = 1000;
static volatile int stop, items;
static volatile unsigned long sink;
static pthread_barrier_t start;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_us(int us)
{
	long long end = now_ns() + us * 1000LL;

	while (now_ns() < end)
		sink++;
}

static void sleep_us(int us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	nanosleep(&ts, NULL);
}

struct worker {
	pthread_t thread;
	const char *role;
	pid_t tid;
	long long waited; /* ns spent in lock calls */
	long long held, held_max; /* ns from having a lock to unlocking it */
	long long loop_ns; /* loop mode: the whole loop */
};

static void note_hold(struct worker *w, long long since)
{
	long long d = now_ns() - since;

	w->held += d;
	if (d > w->held_max)
		w->held_max = d;
}

static struct worker *workers;

/* Time one blocking lock call. */
#define TIMED(w, call)                         \
	do {                                   \
		long long t0_ = now_ns();      \
		call;                          \
		(w)->waited += now_ns() - t0_; \
	} while (0)

static void *mutex_worker(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_t *m = strcmp(w->role, "pi") ? &queue_lock : &pi_lock;
	int timed = !strcmp(w->role, "timed");
	struct timespec far;

	w->tid = (pid_t)syscall(SYS_gettid);
	clock_gettime(CLOCK_REALTIME, &far);
	far.tv_sec += 3600;
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		long long t;

		if (timed)
			TIMED(w, pthread_mutex_timedlock(m, &far));
		else
			TIMED(w, pthread_mutex_lock(m));
		t = now_ns();
		spin_us(hold_us);
		note_hold(w, t);
		pthread_mutex_unlock(m);
		spin_us(hold_us / 2);
	}
	return NULL;
}

static void *quiet_worker(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		TIMED(w, pthread_mutex_lock(&quiet_lock));
		sink++;
		pthread_mutex_unlock(&quiet_lock);
		sleep_us(hold_us);
	}
	return NULL;
}

static void *loop_worker(void *arg)
{
	struct worker *w = arg;
	long long t0;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (int i = 0; i < iterations; i++) {
		pthread_mutex_lock(&quiet_lock);
		sink++;
		pthread_mutex_unlock(&quiet_lock);
	}
	w->loop_ns = now_ns() - t0;
	return NULL;
}

static void *many_holder(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		long long t;

		pthread_mutex_lock(&many[i]);
		t = now_ns();
		__atomic_store_n(&many_held, i, __ATOMIC_SEQ_CST);
		sleep_us(hold_us); /* the waiters block on many[i] meanwhile */
		note_hold(w, t);
		pthread_mutex_unlock(&many[i]);
		pthread_barrier_wait(&start); /* all waiters had their turn */
	}
	return NULL;
}

static void *many_waiter(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		while (__atomic_load_n(&many_held, __ATOMIC_SEQ_CST) < i)
			sched_yield();
		TIMED(w, pthread_mutex_lock(&many[i]));
		pthread_mutex_unlock(&many[i]);
		pthread_barrier_wait(&start);
	}
	return NULL;
}

static void *barrier_worker(void *arg)
{
	struct worker *w = arg;
	int slow = w == &workers[0];

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		spin_us(slow ? hold_us : hold_us / 10);
		TIMED(w, pthread_barrier_wait(&phase_barrier));
	}
	return NULL;
}

static void *relocker(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_lock(&deadlock_a);
	printf("holds %d deadlock_a\n", w->tid);
	pthread_barrier_wait(&start);
	printf("waits %d\n", w->tid);
	pthread_mutex_lock(&deadlock_a); /* never returns */
	return NULL;
}

static void *deadlocker(void *arg)
{
	struct worker *w = arg;
	int first = !strcmp(w->role, "deadlock_a");
	pthread_mutex_t *mine = first ? &deadlock_a : &deadlock_b;
	pthread_mutex_t *other = first ? &deadlock_b : &deadlock_a;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_lock(mine);
	printf("holds %d %s\n", w->tid, w->role);
	pthread_barrier_wait(&start);
	printf("waits %d\n", w->tid);
	pthread_mutex_lock(other); /* never returns: the other thread holds it */
	return NULL;
}

static void *owner_holder(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		long long t;

		pthread_mutex_lock(&owner_lock);
		t = now_ns();
		sleep_us(hold_us); /* the known hold: waiters block meanwhile */
		note_hold(w, t);
		pthread_mutex_unlock(&owner_lock);
		sleep_us(hold_us / 4);
	}
	stop = 1;
	return NULL;
}

static void *owner_waiter(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	while (!stop) {
		long long t;

		TIMED(w, pthread_mutex_lock(&owner_lock));
		t = now_ns();
		note_hold(w, t);
		pthread_mutex_unlock(&owner_lock);
		sleep_us(hold_us / 2);
	}
	return NULL;
}

static void *rw_writer(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		pthread_rwlock_wrlock(&rw_lock);
		spin_us(hold_us);
		pthread_rwlock_unlock(&rw_lock);
		sleep_us(hold_us / 2);
	}
	stop = 1;
	return NULL;
}

static void *rw_reader(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	while (!stop) {
		TIMED(w, pthread_rwlock_rdlock(&rw_lock));
		spin_us(hold_us / 10);
		pthread_rwlock_unlock(&rw_lock);
		sleep_us(hold_us / 4);
	}
	return NULL;
}

static void *cond_producer(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		sleep_us(hold_us);
		pthread_mutex_lock(&cond_mutex);
		items++;
		pthread_cond_signal(&work_cond);
		pthread_mutex_unlock(&cond_mutex);
	}
	pthread_mutex_lock(&cond_mutex);
	stop = 1;
	pthread_cond_broadcast(&work_cond);
	pthread_mutex_unlock(&cond_mutex);
	return NULL;
}

static void *cond_consumer(void *arg)
{
	struct worker *w = arg;

	int timed = !strcmp(w->role, "tconsumer");
	struct timespec far;

	w->tid = (pid_t)syscall(SYS_gettid);
	clock_gettime(CLOCK_REALTIME, &far);
	far.tv_sec += 3600;
	pthread_barrier_wait(&start);
	pthread_mutex_lock(&cond_mutex);
	while (!stop) {
		while (!items && !stop) {
			if (timed)
				TIMED(w, pthread_cond_timedwait(&work_cond, &cond_mutex, &far));
			else
				TIMED(w, pthread_cond_wait(&work_cond, &cond_mutex));
		}
		if (items)
			items--;
	}
	pthread_mutex_unlock(&cond_mutex);
	return NULL;
}

static void *sem_poster(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	for (int i = 0; i < iterations; i++) {
		sleep_us(hold_us);
		sem_post(&work_sem);
	}
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		sem_post(&work_sem);
	return NULL;
}

static void *sem_waiter(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start);
	while (!stop)
		TIMED(w, sem_wait(&work_sem));
	return NULL;
}

int main(int argc, char **argv)
{
	void *(*lead)(void *) = NULL, *(*rest)(void *) = NULL;
	const char *mode = argc > 1 ? argv[1] : "mutex", *lead_role = NULL, *rest_role = NULL;
	pthread_mutexattr_t pi;
	long long total = 0, t0;
	int n;

	if (argc > 2)
		nthreads = atoi(argv[2]);
	if (argc > 3)
		iterations = atoi(argv[3]);
	if (argc > 4)
		hold_us = atoi(argv[4]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_init(&work_sem, 0, 0);
	pthread_mutexattr_init(&pi);
	pthread_mutexattr_setprotocol(&pi, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&pi_lock, &pi);

	if (!strcmp(mode, "mutex") || !strcmp(mode, "pi")) {
		rest = mutex_worker;
		rest_role = mode;
		if (!strcmp(mode, "mutex")) {
			lead = quiet_worker;
			lead_role = "quiet";
		}
	} else if (!strcmp(mode, "owner")) {
		lead = owner_holder;
		lead_role = "holder";
		rest = owner_waiter;
		rest_role = "waiter";
	} else if (!strcmp(mode, "rwlock")) {
		lead = rw_writer;
		lead_role = "writer";
		rest = rw_reader;
		rest_role = "reader";
	} else if (!strcmp(mode, "condvar")) {
		lead = cond_producer;
		lead_role = "producer";
		rest = cond_consumer;
		rest_role = "consumer";
	} else if (!strcmp(mode, "tcondvar")) {
		lead = cond_producer;
		lead_role = "producer";
		rest = cond_consumer;
		rest_role = "tconsumer";
	} else if (!strcmp(mode, "sem")) {
		lead = sem_poster;
		lead_role = "poster";
		rest = sem_waiter;
		rest_role = "waiter";
	} else if (!strcmp(mode, "timed")) {
		rest = mutex_worker;
		rest_role = mode;
	} else if (!strcmp(mode, "many")) {
		many = calloc((size_t)(iterations > 0 ? iterations : 1), sizeof(*many));
		if (!many)
			return 1;
		for (int i = 0; i < iterations; i++)
			pthread_mutex_init(&many[i], NULL);
		lead = many_holder;
		lead_role = "holder";
		rest = many_waiter;
		rest_role = "waiter";
	} else if (!strcmp(mode, "barrier")) {
		rest = barrier_worker;
		rest_role = mode;
		pthread_barrier_init(&phase_barrier, NULL, (unsigned)nthreads);
	} else if (!strcmp(mode, "relock")) {
		nthreads = 1;
		rest = relocker;
		rest_role = mode;
	} else if (!strcmp(mode, "deadlock")) {
		nthreads = 1;
		lead = deadlocker;
		lead_role = "deadlock_a";
		rest = deadlocker;
		rest_role = "deadlock_b";
	} else if (!strcmp(mode, "loop")) {
		rest = loop_worker;
		rest_role = "loop";
	} else {
		fprintf(stderr, "locks: unknown mode %s\n", mode);
		return 2;
	}
	n = nthreads + (lead != NULL);
	workers = calloc((size_t)n, sizeof(*workers));
	if (!workers)
		return 1;
	pthread_barrier_init(&start, NULL, (unsigned)n);
	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		int is_lead = lead && i == 0;

		workers[i].role = is_lead ? lead_role : rest_role;
		pthread_create(&workers[i].thread, NULL, is_lead ? lead : rest, &workers[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(workers[i].thread, NULL);
	printf("elapsed_ns %lld\n", now_ns() - t0);
	for (int i = 0; i < n; i++) {
		printf("thread %d %s\n", workers[i].tid, workers[i].role);
		printf("waited %d %lld\n", workers[i].tid, workers[i].waited);
		printf("held %d %lld %lld\n", workers[i].tid, workers[i].held, workers[i].held_max);
		if (workers[i].loop_ns && iterations > 0)
			printf("loop %d %.1f\n", workers[i].tid,
			       (double)workers[i].loop_ns / iterations);
		total += workers[i].waited;
	}
	printf("total_waited %lld\n", total);
	printf("lock queue_lock %p\nlock quiet_lock %p\nlock owner_lock %p\n", (void *)&queue_lock,
	       (void *)&quiet_lock, (void *)&owner_lock);
	printf("lock rw_lock %p\nlock work_cond %p\nlock work_sem %p\nlock pi_lock %p\n",
	       (void *)&rw_lock, (void *)&work_cond, (void *)&work_sem, (void *)&pi_lock);
	if (many)
		printf("lock many %p\n", (void *)many);
	return 0;
}
