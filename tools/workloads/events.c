// SPDX-License-Identifier: GPL-2.0-only
/*
 * Waiting for work next to real contention, with known answers.
 *
 *   events SECONDS [HOLD_US]
 *
 * Four "idler" threads wait on idle_cond (pthread_cond_wait under
 * idle_mutex) for the whole run: nothing signals it until the end. Two
 * "worker" threads take work_lock in turn for SECONDS, each holding it
 * HOLD_US (1000) in a sleep and working HOLD_US/2 outside: the other one
 * blocks on it. The main thread joins the workers and exits: the idlers
 * are never woken (a broadcast would make them contend for idle_mutex).
 *
 * Output: "thread TID ROLE" per thread, "lock NAME ADDRESS" for work_lock,
 * idle_cond and idle_mutex, "waited TID NS" per worker (its time in
 * pthread_mutex_lock), then "ready" once every thread has started (the
 * idlers are waiting, or about to); "done" at the end.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define IDLERS 4
#define WORKERS 2

pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t idle_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;

static long hold_us = 1000;
static double seconds;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One write per line, no lock: the report must show work_lock as the only contended lock. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) != n)
		exit(1);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void *idler(void *arg)
{
	(void)arg;
	say("thread %ld idler\n", syscall(SYS_gettid));
	pthread_mutex_lock(&idle_mutex);
	for (;;)
		pthread_cond_wait(&idle_cond, &idle_mutex);
	return NULL;
}

static void *worker(void *arg)
{
	unsigned long long end = *(unsigned long long *)arg, waited = 0, t0;
	long tid = syscall(SYS_gettid);

	say("thread %ld worker\n", tid);
	while (now_ns() < end) {
		t0 = now_ns();
		pthread_mutex_lock(&work_lock);
		waited += now_ns() - t0;
		sleep_us(hold_us);
		pthread_mutex_unlock(&work_lock);
		sleep_us(hold_us / 2);
	}
	say("waited %ld %llu\n", tid, waited);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t idlers[IDLERS], workers[WORKERS];
	unsigned long long end;

	if (argc < 2 || (seconds = atof(argv[1])) <= 0) {
		fprintf(stderr, "usage: events SECONDS [HOLD_US]\n");
		return 2;
	}
	if (argc > 2)
		hold_us = atol(argv[2]);
	say("lock work_lock %p\nlock idle_cond %p\nlock idle_mutex %p\n", (void *)&work_lock,
	    (void *)&idle_cond, (void *)&idle_mutex);
	for (int i = 0; i < IDLERS; i++)
		pthread_create(&idlers[i], NULL, idler, NULL);
	/* The idlers block first: the workers' run is all contention, their whole run idle. */
	sleep_us(20000);
	end = now_ns() + (unsigned long long)(seconds * 1e9);
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, worker, &end);
	say("ready\n");
	for (int i = 0; i < WORKERS; i++)
		pthread_join(workers[i], NULL);
	/* The idlers are never woken: exit ends them (a broadcast would make them contend idle_mutex). */
	say("done\n");
	(void)idlers;
	return 0;
}
