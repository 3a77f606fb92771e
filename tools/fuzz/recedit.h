/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Editing a recording's blocks (docs/recording-format.md), for the fuzz
 * target's mutator and the unit tests: split a file into its header and
 * blocks, inflated; change, drop, repeat or move blocks; join them again
 * with valid lengths and checksums, so that the reader gets past its
 * framing to what the blocks hold.
 */
#ifndef CONTRACE_RECEDIT_H
#define CONTRACE_RECEDIT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define RECEDIT_HEADER 24
#define RECEDIT_BLOCK 16 /* a block's header: type, raw length, compressed length, CRC */
#define RECEDIT_MAX_RAW (8u << 20) /* larger blocks are kept compressed, as they are */

struct recedit_block {
	uint32_t type;
	unsigned char *data; /* raw bytes; or, if opaque, the block's compressed bytes */
	size_t len;
	int opaque; /* not inflated (damaged, or too large): written back unchanged */
	uint32_t raw_len, crc; /* of an opaque block */
};

struct recedit {
	unsigned char header[RECEDIT_HEADER];
	size_t n, cap;
	struct recedit_block *b;
	unsigned char *tail; /* bytes after the last whole block */
	size_t tail_len;
};

static inline void recedit_free(struct recedit *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->b[i].data);
	free(e->b);
	free(e->tail);
	memset(e, 0, sizeof(*e));
}

static inline struct recedit_block *recedit_add(struct recedit *e)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct recedit_block *b = realloc(e->b, cap * sizeof(*b));

		if (!b)
			return NULL;
		e->b = b;
		e->cap = cap;
	}
	memset(&e->b[e->n], 0, sizeof(e->b[0]));
	return &e->b[e->n++];
}

static inline uint32_t recedit_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One block at p (whole): inflated if it inflates to its raw length, else opaque. */
static inline int recedit_take(struct recedit_block *b, const unsigned char *p)
{
	uint32_t raw = recedit_u32(p + 4), comp = recedit_u32(p + 8);
	uLongf rlen = raw;

	b->type = recedit_u32(p);
	b->raw_len = raw;
	b->crc = recedit_u32(p + 12);
	if (raw <= RECEDIT_MAX_RAW && (b->data = malloc(raw ? raw : 1)) &&
	    uncompress(b->data, &rlen, p + RECEDIT_BLOCK, comp) == Z_OK && rlen == raw) {
		b->len = raw;
		return 0;
	}
	free(b->data);
	b->opaque = 1;
	b->len = comp;
	b->data = malloc(comp ? comp : 1);
	if (!b->data)
		return -1;
	memcpy(b->data, p + RECEDIT_BLOCK, comp);
	return 0;
}

/* Split a recording (its header must be whole). 0, or -1. */
static inline int recedit_split(const unsigned char *d, size_t size, struct recedit *e)
{
	size_t off = RECEDIT_HEADER;

	memset(e, 0, sizeof(*e));
	if (size < RECEDIT_HEADER)
		return -1;
	memcpy(e->header, d, RECEDIT_HEADER);
	while (size - off >= RECEDIT_BLOCK &&
	       size - off - RECEDIT_BLOCK >= recedit_u32(d + off + 8)) {
		struct recedit_block *b = recedit_add(e);

		if (!b || recedit_take(b, d + off)) {
			recedit_free(e);
			return -1;
		}
		off += RECEDIT_BLOCK + recedit_u32(d + off + 8);
	}
	e->tail_len = size - off;
	e->tail = malloc(e->tail_len ? e->tail_len : 1);
	if (!e->tail) {
		recedit_free(e);
		return -1;
	}
	memcpy(e->tail, d + off, e->tail_len);
	return 0;
}

/*
 * Join the blocks again, each compressed anew (level 1: fast) with its
 * lengths and CRC. The size written, or 0 if it exceeds max.
 */
static inline size_t recedit_join(const struct recedit *e, unsigned char *out, size_t max)
{
	size_t off = RECEDIT_HEADER;

	if (max < RECEDIT_HEADER)
		return 0;
	memcpy(out, e->header, RECEDIT_HEADER);
	for (size_t i = 0; i < e->n; i++) {
		const struct recedit_block *b = &e->b[i];
		uint32_t h[4] = { b->type, b->raw_len, (uint32_t)b->len, b->crc };
		uLongf clen;

		if (max - off < RECEDIT_BLOCK)
			return 0;
		if (b->opaque) {
			if (max - off - RECEDIT_BLOCK < b->len)
				return 0;
			memcpy(out + off + RECEDIT_BLOCK, b->data, b->len);
		} else {
			clen = max - off - RECEDIT_BLOCK;
			if (compress2(out + off + RECEDIT_BLOCK, &clen, b->data, b->len, 1) != Z_OK)
				return 0;
			h[1] = (uint32_t)b->len;
			h[2] = (uint32_t)clen;
			h[3] = (uint32_t)crc32(0L, b->data, (uInt)b->len);
		}
		memcpy(out + off, h, sizeof(h));
		off += RECEDIT_BLOCK + h[2];
	}
	if (max - off < e->tail_len)
		return 0;
	memcpy(out + off, e->tail, e->tail_len);
	return off + e->tail_len;
}

#endif
