/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A protobuf encoder, for the few messages contrace writes (Perfetto's
 * trace format): varints, fixed64, length-delimited fields and nested
 * messages into a growing buffer. A nested message's length is not known
 * when it begins: pb_begin() reserves 4 bytes for it (messages up to 256
 * MiB) and pb_end() writes it as the shortest varint and moves the message
 * back over the bytes left (a memmove of tens of bytes: 6 bytes saved per
 * Perfetto packet, 20% of the trace). Nothing is encoded twice.
 */
#ifndef CONTRACE_PB_H
#define CONTRACE_PB_H

#include <stddef.h>
#include <stdint.h>

enum pb_wire { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2 };

struct pb {
	unsigned char *b;
	size_t len, cap;
	int err; /* -ENOMEM once an append failed: the buffer is incomplete */
};

#define PB_NESTED_MAX ((1u << 28) - 1) /* what a 4-byte length holds */

void pb_varint(struct pb *p, uint64_t v);
void pb_uint(struct pb *p, uint32_t field, uint64_t v);
/* A signed integer as int64 (two's complement), not zigzag (sint64). */
void pb_int(struct pb *p, uint32_t field, int64_t v);
void pb_fixed64(struct pb *p, uint32_t field, uint64_t v);
void pb_bytes(struct pb *p, uint32_t field, const void *data, size_t n);
void pb_str(struct pb *p, uint32_t field, const char *s);
/* Begin a nested message as field: the offset to give pb_end(). */
size_t pb_begin(struct pb *p, uint32_t field);
void pb_end(struct pb *p, size_t at);
void pb_free(struct pb *p);

#endif
