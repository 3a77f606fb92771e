// SPDX-License-Identifier: GPL-2.0-only
/*
 * A workload that is idle until told to work, so a test can compare what
 * contrace saw with the kernel's own per-thread counters over the same
 * window: every thread is blocked before and after a phase.
 *
 *   phased [--spin N] [--sleep N] [--pingpong N] [--syscalls N] [--spawn N]
 *          [--ms M] [--auto P] [--leaderless]
 *
 * Prints "pid P", one "thread TID ROLE" line per thread and "ready", then
 * runs a phase on each SIGUSR1 and prints "done K" once every thread is
 * blocked again; SIGTERM ends it. With --auto P it runs P phases at once and
 * exits. Roles, each for M ms (default 500) per phase:
 *   spin      burn CPU (no syscalls: clock_gettime is a vDSO call)
 *   sleep     sleep 1 ms at a time (clock_nanosleep)
 *   ping/pong exchange one byte through two pipes (read/write)
 *   syscalls  exactly N getppid() and N close(-1) (each fails with EBADF)
 *   spawn     start N threads that each sleep 10 ms and exit, and join them
 * With --leaderless the main thread hands its part to a "conductor" thread
 * (listed instead of "main") and calls pthread_exit(): the process lives on
 * with a zombie thread-group leader.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum role { SPIN, SLEEP, PING, PONG, SYSCALLS, SPAWN };
static const char *const role_names[] = { "spin", "sleep", "ping", "pong", "syscalls", "spawn" };

struct worker {
	pthread_t thread;
	enum role role;
	int rfd, wfd; /* ping/pong pipes */
	pid_t tid;
	long count; /* round trips, sleeps, syscalls made */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long nspawn;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER, idle = PTHREAD_COND_INITIALIZER;
static int phase, running, registered, stopping;
static long phase_ms = 500, nsyscalls;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *short_lived(void *arg)
{
	struct timespec ms10 = { 0, 10000000 };

	(void)arg;
	clock_nanosleep(CLOCK_MONOTONIC, 0, &ms10, NULL);
	return NULL;
}

static void run_role(struct worker *w)
{
	pthread_t t[64];

	double end = now_s() + (double)phase_ms / 1000.0;
	struct timespec ms = { 0, 1000000 };
	volatile unsigned long x = 0;
	char c = 'x';

	switch (w->role) {
	case SPIN:
		while (now_s() < end)
			for (int i = 0; i < 10000; i++)
				x += (unsigned long)i;
		break;
	case SLEEP:
		while (now_s() < end) {
			clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
			w->count++;
		}
		break;
	case PING:
		/* The pinger decides when to stop: it sends 's' to end the pong's loop. */
		while (now_s() < end) {
			if (write(w->wfd, &c, 1) != 1 || read(w->rfd, &c, 1) != 1)
				exit(3);
			w->count++;
		}
		c = 's';
		if (write(w->wfd, &c, 1) != 1)
			exit(3);
		break;
	case PONG:
		for (;;) {
			if (read(w->rfd, &c, 1) != 1)
				exit(3);
			if (c == 's')
				break;
			if (write(w->wfd, &c, 1) != 1)
				exit(3);
			w->count++;
		}
		break;
	case SYSCALLS:
		for (long i = 0; i < nsyscalls; i++) {
			syscall(SYS_getppid);
			syscall(SYS_close, -1);
		}
		w->count += nsyscalls;
		break;
	case SPAWN:
		for (long i = 0; i < nspawn && i < 64; i++)
			if (pthread_create(&t[i], NULL, short_lived, NULL))
				exit(3);
		for (long i = 0; i < nspawn && i < 64; i++)
			pthread_join(t[i], NULL);
		w->count += nspawn;
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int seen = 0;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_lock(&lock);
	registered++;
	pthread_cond_broadcast(&idle);
	for (;;) {
		while (phase == seen && !stopping)
			pthread_cond_wait(&go, &lock);
		if (stopping)
			break;
		seen = phase;
		pthread_mutex_unlock(&lock);
		run_role(w);
		pthread_mutex_lock(&lock);
		if (--running == 0)
			pthread_cond_broadcast(&idle);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Wait until every thread but the caller sleeps (state S), so the kernel's counters rest. */
static void wait_all_asleep(pid_t self)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	int busy;
	FILE *f;
	DIR *dir;

	do {
		busy = 0;
		dir = opendir("/proc/self/task");
		if (!dir)
			return;
		while ((d = readdir(dir))) {
			if (d->d_name[0] == '.' || atoi(d->d_name) == self)
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%s/stat", d->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			/* Z: the leader of a --leaderless process, gone for good. */
			if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[2] != 'S' &&
			    p[2] != 'Z')
				busy = 1;
			fclose(f);
		}
		closedir(dir);
		if (busy)
			usleep(1000);
	} while (busy);
}

static void run_phase(int nworkers, pid_t self)
{
	pthread_mutex_lock(&lock);
	phase++;
	running = nworkers;
	pthread_cond_broadcast(&go);
	while (running > 0)
		pthread_cond_wait(&idle, &lock);
	pthread_mutex_unlock(&lock);
	wait_all_asleep(self);
	printf("done %d\n", phase);
}

struct run {
	struct worker *w;
	int n;
	long autorun;
	sigset_t set;
	int leaderless;
};

/* Phases on each SIGUSR1 (or --auto), then the counts; the end of the process. */
static int conduct(struct run *r)
{
	pid_t self = (pid_t)syscall(SYS_gettid);
	int sig;

	wait_all_asleep(self);
	printf("pid %d\nthread %d %s\n", getpid(), self, r->leaderless ? "conductor" : "main");
	for (int i = 0; i < r->n; i++)
		printf("thread %d %s\n", r->w[i].tid, role_names[r->w[i].role]);
	printf("ready\n");

	if (r->autorun) {
		for (long p = 0; p < r->autorun; p++)
			run_phase(r->n, self);
	} else {
		for (;;) {
			if (sigwait(&r->set, &sig))
				return 1;
			if (sig != SIGUSR1)
				break;
			run_phase(r->n, self);
		}
	}
	for (int i = 0; i < r->n; i++)
		printf("count %d %s %ld\n", r->w[i].tid, role_names[r->w[i].role], r->w[i].count);
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < r->n; i++)
		pthread_join(r->w[i].thread, NULL);
	return 0;
}

static void *conductor_main(void *arg)
{
	exit(conduct(arg));
}

int main(int argc, char **argv)
{
	long nspin = 0, nsleep = 0, npingpong = 0, nsys = 0, spawners = 0;
	struct run r = { 0 };
	struct worker *w;
	pthread_t conductor;
	int n = 0, fds[4];

	for (int i = 1; i < argc; i++) {
		long *dst = NULL;

		if (!strcmp(argv[i], "--leaderless")) {
			r.leaderless = 1;
			continue;
		}
		if (!strcmp(argv[i], "--spin"))
			dst = &nspin;
		else if (!strcmp(argv[i], "--sleep"))
			dst = &nsleep;
		else if (!strcmp(argv[i], "--pingpong"))
			dst = &npingpong;
		else if (!strcmp(argv[i], "--syscalls"))
			dst = &nsys;
		else if (!strcmp(argv[i], "--spawn"))
			dst = &nspawn;
		else if (!strcmp(argv[i], "--ms"))
			dst = &phase_ms;
		else if (!strcmp(argv[i], "--auto"))
			dst = &r.autorun;
		if (!dst || i + 1 >= argc) {
			fprintf(stderr, "usage: phased [--spin N] [--sleep N] [--pingpong N] "
					"[--syscalls N] [--spawn N] [--ms M] [--auto PHASES] "
					"[--leaderless]\n");
			return 2;
		}
		*dst = atol(argv[++i]);
	}
	nsyscalls = nsys;
	spawners = nspawn > 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&r.set);
	sigaddset(&r.set, SIGUSR1);
	sigaddset(&r.set, SIGTERM);
	sigaddset(&r.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &r.set, NULL);

	w = calloc((size_t)(nspin + nsleep + 2 * npingpong + (nsys > 0) + spawners), sizeof(*w));
	if (!w)
		return 1;
	for (long i = 0; i < nspin; i++)
		w[n++].role = SPIN;
	for (long i = 0; i < nsleep; i++)
		w[n++].role = SLEEP;
	for (long i = 0; i < npingpong; i++) {
		if (pipe(fds) || pipe(fds + 2))
			return 1;
		w[n].role = PING;
		w[n].wfd = fds[1];
		w[n++].rfd = fds[2];
		w[n].role = PONG;
		w[n].rfd = fds[0];
		w[n++].wfd = fds[3];
	}
	if (nsys > 0)
		w[n++].role = SYSCALLS;
	if (spawners)
		w[n++].role = SPAWN;
	for (int i = 0; i < n; i++)
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
			return 1;
	pthread_mutex_lock(&lock);
	while (registered < n)
		pthread_cond_wait(&idle, &lock);
	pthread_mutex_unlock(&lock);
	r.w = w;
	r.n = n;
	if (!r.leaderless)
		return conduct(&r);
	if (pthread_create(&conductor, NULL, conductor_main, &r))
		return 1;
	pthread_exit(NULL);
}
