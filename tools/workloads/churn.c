// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threads that come and go: rounds of N threads that each spin for a
 * moment, sleep LIFE ms and exit, joined before the next round, for SECONDS
 * (0: until killed). What a recording of a churning program holds.
 *
 *   churn N LIFE_MS SECONDS
 *
 * Prints "threads K" (the threads it started) at the end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long life_ms;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	struct timespec life = { life_ms / 1000, (life_ms % 1000) * 1000000 };
	volatile unsigned long x = 0;

	(void)arg;
	for (int i = 0; i < 100000; i++)
		x += (unsigned long)i;
	clock_nanosleep(CLOCK_MONOTONIC, 0, &life, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[256];
	long n, seconds, started = 0;
	double end;

	if (argc != 4 || (n = atol(argv[1])) < 1 || n > 256 || (life_ms = atol(argv[2])) < 0 ||
	    (seconds = atol(argv[3])) < 0) {
		fprintf(stderr, "usage: churn N(1-256) LIFE_MS SECONDS\n");
		return 2;
	}
	end = now_s() + (double)seconds;
	while (!seconds || now_s() < end) {
		for (long i = 0; i < n; i++)
			if (pthread_create(&t[i], NULL, worker, NULL))
				return 1;
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		started += n;
	}
	printf("threads %ld\n", started);
	return 0;
}
