// SPDX-License-Identifier: GPL-2.0-only
/*
 * C++ lock contention: a std::mutex in a namespace, taken by worker threads
 * in a namespaced function (their names are mangled in the symbol table).
 *
 *   cxxlocks [THREADS] [ITERATIONS] [HOLD_US]
 *
 * Output: "waited TID NS" per thread (its time in std::mutex::lock) and
 * "lock app::queue_mutex ADDRESS".
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#include <sys/syscall.h>
#include <unistd.h>

namespace app
{
std::mutex queue_mutex;
volatile unsigned long sink;

static long long now_ns()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

__attribute__((noinline)) void worker(int iterations, int hold_us, long long *waited, pid_t *tid)
{
	*tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < iterations; i++) {
		long long t0 = now_ns();

		queue_mutex.lock();
		*waited += now_ns() - t0;
		long long end = now_ns() + hold_us * 1000LL;
		while (now_ns() < end)
			sink = sink + 1;
		queue_mutex.unlock();
		end = now_ns() + hold_us * 500LL;
		while (now_ns() < end)
			sink = sink + 1;
	}
}
} // namespace app

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	int iterations = argc > 2 ? atoi(argv[2]) : 200;
	int hold_us = argc > 3 ? atoi(argv[3]) : 1000;
	std::vector<long long> waited(n);
	std::vector<pid_t> tids(n);
	std::vector<std::thread> threads;

	for (int i = 0; i < n; i++)
		threads.emplace_back(app::worker, iterations, hold_us, &waited[i], &tids[i]);
	for (auto &t : threads)
		t.join();
	for (int i = 0; i < n; i++)
		printf("waited %d %lld\n", tids[i], waited[i]);
	printf("lock app::queue_mutex %p\n", (void *)&app::queue_mutex);
	return 0;
}
