// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPython line tables against the interpreters' own answers
 * (tests/unit/pyline_vectors.h, from tools/gen-pyline-vectors.py), and
 * malformed tables.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/pyline.h"
#include "pyline_vectors.h"

#define NVECTORS (sizeof(pyline_vectors) / sizeof(pyline_vectors[0]))
#define PAST_END 8 /* the generator's: runs go 8 bytes past the bytecode */

/* The vector's table in a heap block of its exact size, so ASan sees any overread. */
static uint8_t *table_of(const struct pyline_vector *v, size_t *len)
{
	size_t n = strlen(v->table_hex) / 2;
	uint8_t *t = malloc(n ? n : 1);
	unsigned int byte;

	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sscanf(v->table_hex + 2 * i, "%2x", &byte), 1);
		t[i] = byte;
	}
	*len = n;
	return t;
}

static enum pyline_format format_of(const struct pyline_vector *v)
{
	int f = pyline_format_of(v->version);

	assert_true(f >= 0);
	return f;
}

/* Every byte offset of every code object, PAST_END bytes past its end included. */
static void test_vectors(void **state)
{
	unsigned int per_minor[14] = { 0 };

	(void)state;
	for (size_t k = 0; k < NVECTORS; k++) {
		const struct pyline_vector *v = &pyline_vectors[k];
		const int *run = pyline_runs + 2 * v->first_run;
		uint32_t off = 0;
		size_t len;
		uint8_t *t = table_of(v, &len);

		for (unsigned int r = 0; r < v->nruns; r++, run += 2) {
			for (; off < (uint32_t)run[0]; off++) {
				int got = pyline_at(format_of(v), t, len, v->firstlineno, off);

				if (got != run[1])
					fail_msg("%s %s offset %u: line %d, CPython says %d",
						 v->version, v->name, off, got, run[1]);
			}
		}
		assert_int_equal(off, v->code_len + PAST_END);
		per_minor[atoi(v->version + 2)]++;
		free(t);
	}
	/* Each interpreter gave its code objects (3.12+ inline list comprehensions). */
	for (int minor = 8; minor <= 13; minor++)
		assert_true(per_minor[minor] >= 15);
}

/*
 * Every prefix of every real table, as a torn read gives it: no read past it
 * (ASan), and the line is the whole table's, or 0 (past what the prefix
 * covers), or -EINVAL (cut inside an entry the lookup needs). co_lnotab has no
 * entry markers: a prefix gives an earlier line, never a negative one.
 */
static void test_torn_prefixes(void **state)
{
	(void)state;
	for (size_t k = 0; k < NVECTORS; k++) {
		const struct pyline_vector *v = &pyline_vectors[k];
		enum pyline_format f = format_of(v);
		size_t len;
		uint8_t *full = table_of(v, &len);

		for (size_t n = 0; n < len; n++) {
			uint8_t *t = malloc(n ? n : 1);

			assert_non_null(t);
			memcpy(t, full, n);
			for (uint32_t off = 0; off < v->code_len + PAST_END; off += 2) {
				int want = pyline_at(f, full, len, v->firstlineno, off);
				int got = pyline_at(f, t, n, v->firstlineno, off);

				if (f == PYLINE_LNOTAB)
					assert_true(got >= 0 || got == -EINVAL);
				else if (got != want && got != 0 && got != -EINVAL)
					fail_msg("%s %s cut at %zu, offset %u: %d, whole %d",
						 v->version, v->name, n, off, got, want);
			}
			free(t);
		}
		free(full);
	}
}

static int at(enum pyline_format f, const uint8_t *t, size_t len, int first, uint32_t off)
{
	/* Through an exact-size copy: ASan catches a read past len. */
	uint8_t *copy = malloc(len ? len : 1);
	int line;

	assert_non_null(copy);
	if (len)
		memcpy(copy, t, len);
	line = pyline_at(f, copy, len, first, off);
	free(copy);
	return line;
}

static void test_empty(void **state)
{
	(void)state;
	/* CPython 3.8: no pair, the first line everywhere; 3.10+: past the table. */
	assert_int_equal(at(PYLINE_LNOTAB, NULL, 0, 7, 0), 7);
	assert_int_equal(at(PYLINE_LNOTAB, NULL, 0, 7, 100), 7);
	assert_int_equal(at(PYLINE_310, NULL, 0, 7, 0), 0);
	assert_int_equal(at(PYLINE_311, NULL, 0, 7, 0), 0);
	assert_int_equal(pyline_at(PYLINE_311, NULL, 4, 7, 0), -EINVAL);
	assert_int_equal(pyline_at((enum pyline_format)3, (const uint8_t *)"", 0, 7, 0), -EINVAL);
}

static void test_lnotab(void **state)
{
	/* 4 bytes on line 10; 300 bytes later, 200 lines later (split), back 3 lines. */
	static const uint8_t t[] = { 4, 0, 255, 127, 45, 73, 6, 0xfd };

	(void)state;
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 0), 10);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 3), 10);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 4), 10);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 258), 10);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 259), 137);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 304), 210);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 309), 210);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 310), 207);
	/* Past the end: the last line, like CPython. */
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 10, 100000), 207);
	/* A torn pair; a line below 0; a line past INT_MAX. */
	assert_int_equal(at(PYLINE_LNOTAB, t, 7, 10, 0), -EINVAL);
	assert_int_equal(at(PYLINE_LNOTAB, (const uint8_t[]){ 2, 0xfd }, 2, 1, 2), -EINVAL);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), INT_MAX - 100, 259), -EINVAL);
	/* firstlineno 0. */
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 0, 0), 0);
	assert_int_equal(at(PYLINE_LNOTAB, t, sizeof(t), 0, 259), 127);
}

static void test_310(void **state)
{
	/* 6 bytes on line 5; no line for 2 bytes; +300 lines (split) for 260 bytes (split). */
	static const uint8_t t[] = { 6, 0, 2, 0x80, 0, 127, 0, 127, 254, 46, 6, 0 };

	(void)state;
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 0), 5);
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 5), 5);
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 6), 0);
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 7), 0);
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 8), 305);
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 267), 305);
	/* Past the end: CPython's -1. */
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 5, 268), 0);
	/* A pair cut in half; zero-length ranges that end the table. */
	assert_int_equal(at(PYLINE_310, t, 3, 5, 7), -EINVAL);
	assert_int_equal(at(PYLINE_310, t, 6, 5, 8), -EINVAL);
	/* The cut is past the lookup: the right line. */
	assert_int_equal(at(PYLINE_310, t, 3, 5, 2), 5);
	/* firstlineno 0, and a line below it. */
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 0, 0), 0);
	assert_int_equal(at(PYLINE_310, t, sizeof(t), 0, 8), 300);
	assert_int_equal(at(PYLINE_310, (const uint8_t[]){ 2, 0xff }, 2, 0, 0), -EINVAL);
}

/* Entries: 1 code unit each unless said. */
static void test_311_forms(void **state)
{
	static const uint8_t t[] = {
		0x80 | 13 << 3,
		0x06, /* no columns, +3 */
		0x80 | 1 << 3 | 1,
		0x12, /* short form, 2 units, same line */
		0x80 | 11 << 3,
		4,
		9, /* one-line form, +1 */
		0x80 | 12 << 3,
		4,
		9, /* one-line form, +2 */
		0x80 | 15 << 3 | 2, /* no location, 3 units */
		0x80 | 10 << 3,
		4,
		9, /* one-line form, +0 (back on the line) */
		0x80 | 14 << 3,
		0x43,
		0x02,
		0,
		0x41,
		0x01,
		0x5f,
		0x02, /* long, -65, 3 varints */
		0x80 | 13 << 3,
		0x40,
		0x40,
		0x40,
		0x40,
		0x40,
		0x02, /* +2^30 in 6 chunks */
	};

	(void)state;
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 0), 103);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 2), 103);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 5), 103);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 6), 104);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 8), 106);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 10), 0);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 15), 0);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 16), 106);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 18), 41);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 20), 41 + (1 << 30));
	/* Past the end: CPython's -1. */
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 100, 22), 0);
	/* firstlineno 0; a line past INT_MAX. */
	assert_int_equal(at(PYLINE_311, t, sizeof(t), 0, 0), 3);
	assert_int_equal(at(PYLINE_311, t, sizeof(t), INT_MAX - 1000, 20), -EINVAL);
	/* Torn inside the long form, or before the one-line form's 2nd byte. */
	assert_int_equal(at(PYLINE_311, t, 19, 100, 18), -EINVAL);
	assert_int_equal(at(PYLINE_311, t, 6, 100, 6), -EINVAL);
	assert_int_equal(at(PYLINE_311, t, 6, 100, 4), 103);
}

static void test_311_malformed(void **state)
{
	/* A truncated varint, then one running into the next entry's first byte. */
	static const uint8_t trunc[] = { 0x80 | 13 << 3, 0x41 };
	static const uint8_t into[] = { 0x80 | 13 << 3, 0x41, 0x80 | 15 << 3 };
	/* Seven chunks: over CPython's 32-bit unsigned int. */
	static const uint8_t wide[] = { 0x80 | 13 << 3, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01 };
	/* An entry without its marker bit; a short form's column byte with it. */
	static const uint8_t nomark[] = { 0x80 | 15 << 3, 0x68, 0x02 };
	static const uint8_t marked[] = { 0x80 | 1 << 3, 0x92 };

	(void)state;
	assert_int_equal(at(PYLINE_311, trunc, sizeof(trunc), 1, 0), -EINVAL);
	assert_int_equal(at(PYLINE_311, into, sizeof(into), 1, 0), -EINVAL);
	assert_int_equal(at(PYLINE_311, wide, sizeof(wide), 1, 0), -EINVAL);
	assert_int_equal(at(PYLINE_311, nomark, sizeof(nomark), 1, 0), 0);
	assert_int_equal(at(PYLINE_311, nomark, sizeof(nomark), 1, 2), -EINVAL);
	assert_int_equal(at(PYLINE_311, marked, sizeof(marked), 1, 0), -EINVAL);
	/* A short form missing its data byte. */
	assert_int_equal(at(PYLINE_311, marked, 1, 1, 0), -EINVAL);
}

/*
 * Garbage of every length up to 300 bytes: any answer, no read out of bounds
 * (ASan), no hang: 60,000 lookups at offsets up to 4 KiB.
 */
static void test_garbage(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint8_t buf[300];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len = i % (sizeof(buf) + 1);

		for (size_t j = 0; j < len; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[j] = x;
			if (i % 2) /* half of them look like 3.11 entries */
				buf[j] = j % 3 ? buf[j] & 0x7f : buf[j] | 0x80;
		}
		for (int f = PYLINE_LNOTAB; f <= PYLINE_311; f++) {
			int line = at(f, buf, len, (int)(x >> 40) - (1 << 23), x % 4096);

			assert_true(line >= 0 || line == -EINVAL);
		}
	}
}

static void test_format_of(void **state)
{
	static const char *const bad[] = { NULL,    "",	     "3",    "3.",    "3.7",
					   "3.14",  "2.7",   "3.1",  "3.08",  "3.11x",
					   "13.11", "3.111", "4.10", " 3.10", "3.10rc1" };

	(void)state;
	assert_int_equal(pyline_format_of("3.8"), PYLINE_LNOTAB);
	assert_int_equal(pyline_format_of("3.9.18"), PYLINE_LNOTAB);
	assert_int_equal(pyline_format_of("3.10"), PYLINE_310);
	assert_int_equal(pyline_format_of("3.10.13"), PYLINE_310);
	assert_int_equal(pyline_format_of("3.11.2"), PYLINE_311);
	assert_int_equal(pyline_format_of("3.12"), PYLINE_311);
	assert_int_equal(pyline_format_of("3.13.0"), PYLINE_311);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pyline_format_of(bad[i]) != -1)
			fail_msg("\"%s\" has a format", bad[i] ? bad[i] : "(null)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),	      cmocka_unit_test(test_torn_prefixes),
		cmocka_unit_test(test_empty),	      cmocka_unit_test(test_lnotab),
		cmocka_unit_test(test_310),	      cmocka_unit_test(test_311_forms),
		cmocka_unit_test(test_311_malformed), cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_format_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
