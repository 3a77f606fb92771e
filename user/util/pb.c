// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/pb.h"
#include "util/vec.h"

static unsigned char *room(struct pb *p, size_t n)
{
	if (p->err)
		return NULL;
	if (vec_reserve(p->b, p->cap, p->len + n)) {
		p->err = -ENOMEM;
		return NULL;
	}
	p->len += n;
	return p->b + p->len - n;
}

void pb_varint(struct pb *p, uint64_t v)
{
	unsigned char tmp[10], *d;
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	d = room(p, n);
	if (d)
		memcpy(d, tmp, n);
}

static void tag(struct pb *p, uint32_t field, enum pb_wire w)
{
	pb_varint(p, (uint64_t)field << 3 | w);
}

void pb_uint(struct pb *p, uint32_t field, uint64_t v)
{
	tag(p, field, PB_VARINT);
	pb_varint(p, v);
}

void pb_int(struct pb *p, uint32_t field, int64_t v)
{
	pb_uint(p, field, (uint64_t)v);
}

void pb_fixed64(struct pb *p, uint32_t field, uint64_t v)
{
	unsigned char *d;

	tag(p, field, PB_FIXED64);
	d = room(p, 8);
	for (int i = 0; d && i < 8; i++)
		d[i] = (unsigned char)(v >> (8 * i));
}

void pb_bytes(struct pb *p, uint32_t field, const void *data, size_t n)
{
	unsigned char *d;

	tag(p, field, PB_LEN);
	pb_varint(p, n);
	d = room(p, n);
	if (d && n)
		memcpy(d, data, n);
}

void pb_str(struct pb *p, uint32_t field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

size_t pb_begin(struct pb *p, uint32_t field)
{
	tag(p, field, PB_LEN);
	room(p, 4);
	return p->len;
}

void pb_end(struct pb *p, size_t at)
{
	size_t n = p->len - at, k = 1;

	if (p->err || at < 4 || at > p->len)
		return;
	if (n > PB_NESTED_MAX) {
		p->err = -EFBIG;
		return;
	}
	while (k < 4 && n >> (7 * k))
		k++;
	for (size_t i = 0; i < k; i++)
		p->b[at - 4 + i] = (unsigned char)((n >> (7 * i)) & 0x7f) | (i + 1 < k ? 0x80 : 0);
	/* The message moves back over the length's unused bytes (most are under 128). */
	memmove(p->b + at - 4 + k, p->b + at, n);
	p->len -= 4 - k;
}

void pb_free(struct pb *p)
{
	free(p->b);
	memset(p, 0, sizeof(*p));
}
