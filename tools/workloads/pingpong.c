// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two threads hand a turn to each other ROUNDS times through a mutex and a
 * condition variable: every turn is a futex wait and a wake, the cost of
 * what contrace does per wait (--stacks) shows as time per round trip.
 * Run it on one CPU (taskset -c 0) so that each wait is a switch.
 *
 *   pingpong ROUNDS
 *
 * Output: "ns_per_round NS".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static int turn, rounds;

static void *player(void *arg)
{
	int me = (int)(long)arg;

	for (int i = 0; i < rounds; i++) {
		pthread_mutex_lock(&turn_lock);
		while (turn != me)
			pthread_cond_wait(&turn_cond, &turn_lock);
		turn = !me;
		pthread_cond_signal(&turn_cond);
		pthread_mutex_unlock(&turn_lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_t t;

	rounds = argc > 1 ? atoi(argv[1]) : 10000;
	if (rounds < 1) {
		fprintf(stderr, "usage: pingpong ROUNDS\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pthread_create(&t, NULL, player, (void *)1L);
	player(NULL);
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns_per_round %.0f\n",
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / rounds);
	return 0;
}
