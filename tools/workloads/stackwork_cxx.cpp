// SPDX-License-Identifier: GPL-2.0-only
/*
 * stackwork.c in C++: a std::mutex taken in a member function, so the
 * chain's names are mangled in the symbol table and must come out
 * demangled:
 *
 *   main -> run_worker -> bank::Ledger::transfer(int) -> pthread_mutex_lock
 *
 * (std::mutex::lock is inlined into transfer). The other threads start in
 * worker_main. Built -O2 -fomit-frame-pointer.
 *
 *   stackwork_cxx [THREADS] [ITERATIONS] [HOLD_US]
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace bank
{
class Ledger {
    public:
	__attribute__((noinline)) void transfer(int amount);
	std::mutex lock;
	volatile unsigned long balance = 0;
	int hold_us = 200;
};

static void spin_us(Ledger *l, int us)
{
	auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);

	while (std::chrono::steady_clock::now() < end)
		l->balance = l->balance + 1;
}

void Ledger::transfer(int amount)
{
	lock.lock();
	spin_us(this, hold_us);
	balance = balance + (unsigned long)amount;
	lock.unlock();
	__asm__ volatile("" ::: "memory");
}
} // namespace bank

static bank::Ledger ledger;
static int iterations = 200;

__attribute__((noinline)) void run_worker(int id)
{
	for (int i = 0; i < iterations; i++) {
		ledger.transfer(id + i);
		bank::spin_us(&ledger, ledger.hold_us / 4);
	}
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void worker_main(int id)
{
	run_worker(id);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	std::vector<std::thread> v;

	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		ledger.hold_us = atoi(argv[3]);
	if (threads < 1 || threads > 64 || iterations < 1) {
		fprintf(stderr, "usage: stackwork_cxx [THREADS<=64] [ITERATIONS] [HOLD_US]\n");
		return 2;
	}
	printf("lock ledger %p\n", (void *)&ledger.lock);
	fflush(stdout);
	for (int i = 1; i < threads; i++)
		v.emplace_back(worker_main, i);
	run_worker(0);
	for (auto &t : v)
		t.join();
	return 0;
}
