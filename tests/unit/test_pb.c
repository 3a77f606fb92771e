// SPDX-License-Identifier: GPL-2.0-only
/* The protobuf encoder: varints, fixed64, strings, nested messages with padded lengths. */
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

/* A nested message: its length in 4 bytes, continuation bits set on the first three. */
static void nested(void **state)
{
	struct pb p = { 0 };
	size_t outer, inner;

	(void)state;
	outer = pb_begin(&p, 1);
	inner = pb_begin(&p, 2);
	for (int i = 0; i < 200; i++)
		pb_uint(&p, 3, 1);
	pb_end(&p, inner);
	pb_end(&p, outer);
	assert_int_equal(p.err, 0);
	assert_int_equal(p.len, 1 + 4 + 1 + 4 + 400);
	/* outer: 405 bytes = 0x195: 0x95 0x83 0x80 0x00 */
	assert_int_equal(p.b[0], 0x0a);
	assert_int_equal(p.b[1], 0x95);
	assert_int_equal(p.b[2], 0x83);
	assert_int_equal(p.b[3], 0x80);
	assert_int_equal(p.b[4], 0x00);
	/* inner: 400 = 0x190 */
	assert_int_equal(p.b[5], 0x12);
	assert_int_equal(p.b[6], 0x90);
	assert_int_equal(p.b[7], 0x83);
	assert_int_equal(p.b[8], 0x80);
	assert_int_equal(p.b[9], 0x00);
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
