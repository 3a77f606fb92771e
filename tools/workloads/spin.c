// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU-bound threads, to make threads wait for a CPU: as a hog in another
 * process, or as more threads than CPUs.
 *
 *   spin SECONDS [THREADS]
 *
 * THREADS (1) threads spin for SECONDS of wall time. Output: "thread TID
 * spinner" per thread, then "ready" once they all run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double seconds;
static pthread_barrier_t started;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *spinner(void *arg)
{
	volatile unsigned long x = 0;
	double end;

	(void)arg;
	printf("thread %ld spinner\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	pthread_barrier_wait(&started);
	end = now_s() + seconds;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			x++;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t *t;

	if (argc < 2 || (seconds = atof(argv[1])) <= 0 || n < 1 || n > 1024) {
		fprintf(stderr, "usage: spin SECONDS [THREADS]\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return 1;
	pthread_barrier_init(&started, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, spinner, NULL);
	pthread_barrier_wait(&started);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}
