// SPDX-License-Identifier: GPL-2.0-only
/* The growable array: contents kept, capacity doubling, overflow refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/vec.h"

struct elem {
	uint64_t a;
	uint32_t b;
};

static void push_keeps_contents(void **state)
{
	struct elem *v = NULL, *e;
	size_t n = 0, cap = 0, reallocs = 0, last_cap = 0;

	(void)state;
	for (uint32_t i = 0; i < 100000; i++) {
		e = vec_push(v, n, cap);
		assert_non_null(e);
		assert_int_equal(e->a, 0); /* zeroed */
		e->a = i * 3ULL;
		e->b = i;
		if (cap != last_cap) {
			reallocs++;
			last_cap = cap;
		}
	}
	assert_int_equal(n, 100000);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(v[i].a, i * 3ULL);
		assert_int_equal(v[i].b, i);
	}
	/* Doubling from 8: 15 growths for 100,000 elements, not 100,000. */
	assert_true(reallocs <= 15);
	assert_true(cap >= n && cap < 2 * n);
	free(v);
}

static void append_and_reserve(void **state)
{
	uint32_t src[5] = { 1, 2, 3, 4, 5 }, *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	assert_int_equal(vec_append(v, n, cap, src, 0), 0);
	assert_null(v);
	for (int i = 0; i < 10; i++)
		assert_int_equal(vec_append(v, n, cap, src, 5), 0);
	assert_int_equal(n, 50);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i], src[i % 5]);
	assert_int_equal(vec_reserve(v, cap, 1000), 0);
	assert_true(cap >= 1000);
	assert_int_equal(n, 50);
	/* A size that would overflow is refused, and the array is left alone. */
	assert_int_equal(vec_reserve(v, cap, SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(n, 50);
	assert_int_equal(v[49], 5);
	free(v);
}

static int cmp_a(const void *x, const void *y)
{
	const struct elem *a = x, *b = y;

	return a->a < b->a ? -1 : a->a > b->a;
}

static void add_b(void *kept, const void *other)
{
	((struct elem *)kept)->b += ((const struct elem *)other)->b;
}

/* Runs of equal keys fold into one, summed or dropped; the result is sorted. */
static void uniq_folds_runs(void **state)
{
	struct elem v[] = { { 5, 1 }, { 2, 10 }, { 5, 100 }, { 9, 1000 }, { 2, 10000 }, { 5, 7 } };
	struct elem w[4] = { { 3, 1 }, { 3, 2 }, { 3, 3 }, { 1, 4 } };
	size_t n;

	(void)state;
	n = vec_uniq(v, 6, cmp_a, add_b);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].a, 2);
	assert_int_equal(v[0].b, 10010);
	assert_int_equal(v[1].a, 5);
	assert_int_equal(v[1].b, 108);
	assert_int_equal(v[2].a, 9);
	assert_int_equal(v[2].b, 1000);
	n = vec_uniq(w, 4, cmp_a, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(w[0].a, 1);
	assert_int_equal(w[1].a, 3);
	assert_int_equal(vec_uniq(w, 1, cmp_a, NULL), 1);
	assert_int_equal(vec_uniq(w, 0, cmp_a, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_keeps_contents),
		cmocka_unit_test(append_and_reserve),
		cmocka_unit_test(uniq_folds_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
