// SPDX-License-Identifier: GPL-2.0-only
/* Histogram buckets, quantiles and rendering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/hist.h"

/* Every value lands in the bucket whose [lo, hi) holds it. */
static void test_bucket_bounds(void **state)
{
	uint64_t v;
	unsigned int i;

	(void)state;
	for (v = 0; v < 100000; v++) {
		i = ct_hist_index(v);
		assert_true(hist_lo(i) <= v);
		assert_true(v < hist_hi(i));
	}
	for (int shift = 17; shift < 41; shift++) {
		for (uint64_t off = 0; off < 8; off++) {
			v = (1ULL << shift) + off * ((1ULL << shift) / 8) - 1;
			i = ct_hist_index(v);
			assert_true(hist_lo(i) <= v && v < hist_hi(i));
		}
	}
	/* Contiguous: each bucket starts where the previous one ends. */
	for (i = 1; i < CT_HIST_BUCKETS; i++)
		assert_int_equal(hist_lo(i), hist_hi(i - 1));
	/* Beyond 2^41 ns everything is in the last bucket. */
	assert_int_equal(ct_hist_index(1ULL << 41), CT_HIST_BUCKETS - 1);
	assert_int_equal(ct_hist_index(UINT64_MAX), CT_HIST_BUCKETS - 1);
}

static void test_log2(void **state)
{
	(void)state;
	assert_int_equal(ct_log2_u64(1), 0);
	assert_int_equal(ct_log2_u64(2), 1);
	assert_int_equal(ct_log2_u64(3), 1);
	assert_int_equal(ct_log2_u64(4), 2);
	assert_int_equal(ct_log2_u64(1023), 9);
	assert_int_equal(ct_log2_u64(1024), 10);
	assert_int_equal(ct_log2_u64(1ULL << 40), 40);
	assert_int_equal(ct_log2_u64(UINT64_MAX), 63);
}

/* Quantiles of a known distribution stay within a bucket's width (25%). */
static void test_quantiles(void **state)
{
	struct hist h = { 0 };
	uint64_t p50, p99;

	(void)state;
	assert_int_equal(hist_quantile(&h, 0.5, 0), 0);
	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(&h, v * 10); /* uniform 10 ns .. 1 ms */
	assert_int_equal(hist_count(&h), 100000);
	p50 = hist_quantile(&h, 0.5, 1000000);
	p99 = hist_quantile(&h, 0.99, 1000000);
	assert_true(p50 > 500000 * 0.75 && p50 < 500000 * 1.25);
	assert_true(p99 > 990000 * 0.75 && p99 <= 1000000);
	/* Capped at the known maximum. */
	assert_true(hist_quantile(&h, 1.0, 1000000) <= 1000000);
}

static void test_single_value(void **state)
{
	struct hist h = { 0 };

	(void)state;
	for (int i = 0; i < 10; i++)
		hist_record(&h, 5000);
	assert_true(hist_quantile(&h, 0.5, 5000) <= 5000);
	assert_true(hist_quantile(&h, 0.5, 5000) >= hist_lo(ct_hist_index(5000)));
}

static void test_merge_sub(void **state)
{
	struct hist a = { 0 }, b = { 0 };
	uint32_t raw[CT_HIST_BUCKETS] = { 0 };

	(void)state;
	hist_record(&a, 100);
	hist_record(&a, 100);
	hist_record(&b, 100);
	hist_record(&b, 1000000);
	hist_merge(&a, &b);
	assert_int_equal(hist_count(&a), 4);
	hist_sub(&a, &b);
	assert_int_equal(hist_count(&a), 2);
	hist_sub(&a, &b); /* saturates */
	assert_int_equal(a.b[ct_hist_index(1000000)], 0);
	raw[3] = 7;
	hist_add_u32(&a, raw);
	assert_int_equal(a.b[3], 7);
}

static void test_print(void **state)
{
	struct hist h = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	hist_print(f, &h, 2);
	fclose(f);
	assert_string_equal(buf, "  (no samples)\n");
	free(buf);

	hist_record(&h, 1500); /* 1.02us -> 2.05us */
	hist_record(&h, 1600);
	hist_record(&h, 5000); /* 4.10us -> 8.19us */
	f = open_memstream(&buf, &len);
	hist_print(f, &h, 0);
	fclose(f);
	assert_non_null(strstr(
		buf,
		"1.02us -> 2.05us       : 2          |****************************************|"));
	assert_non_null(strstr(
		buf,
		"2.05us -> 4.10us       : 0          |                                        |"));
	assert_non_null(strstr(
		buf,
		"4.10us -> 8.19us       : 1          |********************                    |"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds), cmocka_unit_test(test_log2),
		cmocka_unit_test(test_quantiles),     cmocka_unit_test(test_single_value),
		cmocka_unit_test(test_merge_sub),     cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
