// SPDX-License-Identifier: GPL-2.0-only
/* The protobuf encoder: varints, fixed64, strings, nested messages and their lengths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/pb.h"

static void varints(void **state)
{
	static const struct {
		uint64_t v;
		size_t len;
		unsigned char bytes[10];
	} cases[] = {
		{ 0, 1, { 0 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x80, 0x01 } },
		{ 300, 2, { 0xac, 0x02 } },
		{ UINT64_MAX, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p = { 0 };

		pb_varint(&p, cases[i].v);
		assert_int_equal(p.err, 0);
		assert_int_equal(p.len, cases[i].len);
		assert_memory_equal(p.b, cases[i].bytes, cases[i].len);
		pb_free(&p);
	}
}

static void fields(void **state)
{
	/* field 1 varint 150; field 2 "hi"; field 3 fixed64 1; field 4 int -1 (ten bytes) */
	static const unsigned char want[] = {
		0x08, 0x96, 0x01, 0x12, 0x02, 'h',  'i',  0x19, 0x01, 0,    0,	  0,	0,   0,
		0,    0,    0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
	};
	struct pb p = { 0 };

	(void)state;
	pb_uint(&p, 1, 150);
	pb_str(&p, 2, "hi");
	pb_fixed64(&p, 3, 1);
	pb_int(&p, 4, -1);
	assert_int_equal(p.len, sizeof(want));
	assert_memory_equal(p.b, want, sizeof(want));
	pb_free(&p);
}

/* Nested messages: their lengths as the shortest varints, the bytes moved back. */
static void nested(void **state)
{
	struct pb p = { 0 };
	size_t outer, inner, small;

	(void)state;
	outer = pb_begin(&p, 1);
	inner = pb_begin(&p, 2);
	for (int i = 0; i < 200; i++)
		pb_uint(&p, 3, 1);
	pb_end(&p, inner);
	small = pb_begin(&p, 4);
	pb_uint(&p, 5, 7);
	pb_end(&p, small);
	pb_end(&p, outer);
	assert_int_equal(p.err, 0);
	/* outer: 3 + 400 (inner) + 2 + 2 (small) = 407 = 0x197: 0x97 0x03 */
	assert_int_equal(p.len, 1 + 2 + 407);
	assert_int_equal(p.b[0], 0x0a);
	assert_int_equal(p.b[1], 0x97);
	assert_int_equal(p.b[2], 0x03);
	/* inner: 400 = 0x190: 0x90 0x03, then its fields */
	assert_int_equal(p.b[3], 0x12);
	assert_int_equal(p.b[4], 0x90);
	assert_int_equal(p.b[5], 0x03);
	assert_int_equal(p.b[6], 0x18);
	assert_int_equal(p.b[7], 0x01);
	/* small, after inner: one byte of length */
	assert_int_equal(p.b[406], 0x22);
	assert_int_equal(p.b[407], 0x02);
	assert_int_equal(p.b[408], 0x28);
	pb_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(varints),
		cmocka_unit_test(fields),
		cmocka_unit_test(nested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
