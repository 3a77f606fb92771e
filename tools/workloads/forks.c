// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many processes, a few of them busy: the -f summary across processes
 * (issue 15) has something to rank.
 *
 *   forks N SECS    (N may be 0: the parent alone)
 *
 * Forks N children that run SECS seconds each, by their index i:
 *   i % 10 == 0  "burner": spins on a CPU
 *   i % 10 == 1  "contender": two threads take contend_lock, holding it
 *                200 us and working 100 us outside it
 *   i % 10 == 2  "waiter": a thread waits on work_cond, which the main
 *                thread signals every 10 ms (an event, not contention)
 *   otherwise    "sleeper": sleeps SECS in clock_nanosleep
 * then waits for them all. Prints "child PID ROLE" per child.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t contend_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t work_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static int work_items;
static double deadline;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin_us(double us)
{
	double end = now() + us / 1e6;

	while (now() < end)
		;
}

static void *contend(void *arg)
{
	(void)arg;
	while (now() < deadline) {
		pthread_mutex_lock(&contend_lock);
		spin_us(200);
		pthread_mutex_unlock(&contend_lock);
		spin_us(100);
	}
	return NULL;
}

static void *wait_work(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&work_mutex);
	while (now() < deadline) {
		while (!work_items && now() < deadline)
			pthread_cond_wait(&work_cond, &work_mutex);
		work_items = 0;
	}
	pthread_mutex_unlock(&work_mutex);
	return NULL;
}

static void two_threads(void *(*fn)(void *), const char *name)
{
	pthread_t t[2];

	prctl(PR_SET_NAME, name);
	pthread_create(&t[0], NULL, fn, NULL);
	pthread_create(&t[1], NULL, fn, NULL);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
}

static void signaller(void)
{
	pthread_t t;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	prctl(PR_SET_NAME, "waiter");
	pthread_create(&t, NULL, wait_work, NULL);
	while (now() < deadline + 0.05) {
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&work_mutex);
		work_items = 1;
		pthread_cond_signal(&work_cond);
		pthread_mutex_unlock(&work_mutex);
	}
	pthread_join(t, NULL);
}

static void child(int i, double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };

	deadline = now() + secs;
	if (i % 10 == 0) {
		prctl(PR_SET_NAME, "burner");
		spin_us(secs * 1e6);
	} else if (i % 10 == 1) {
		two_threads(contend, "contender");
	} else if (i % 10 == 2) {
		signaller();
	} else {
		prctl(PR_SET_NAME, "sleeper");
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	static const char *const roles[] = { "burner", "contender", "waiter" };

	if (n < 0 || secs <= 0) {
		fprintf(stderr, "usage: forks N SECS\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid)
			child(i, secs);
		printf("child %d %s\n", (int)pid, i % 10 < 3 ? roles[i % 10] : "sleeper");
	}
	fflush(stdout);
	while (wait(NULL) > 0)
		;
	return 0;
}
