// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPython line tables (see pyline.h). The three formats, as CPython's
 * Objects/lnotab_notes.txt and codeobject.c define them:
 *
 * 3.8, 3.9 co_lnotab: pairs (offset increment: unsigned byte, line increment:
 * signed byte). PyCode_Addr2Line adds pairs while the running offset stays at
 * or below the wanted one; past the last pair it keeps the last line.
 *
 * 3.10 co_linetable: pairs (range length in bytes: unsigned, line delta:
 * signed, -128 = no line). A range of length 0 only carries a line delta
 * (line jumps over 127 are split); the lookup skips it.
 *
 * 3.11-3.13 co_linetable: entries of a first byte 1CCCCLLL (code C, length L+1
 * code units of 2 bytes) and the code's data, whose bytes never have bit 7 set:
 *   0-9    short form: 1 byte of columns; same line
 *   10-12  one-line form: 2 bytes of columns; line + (C - 10)
 *   13     no columns: signed varint line delta
 *   14     long form: signed varint line delta, varints end line delta,
 *          column + 1, end column + 1
 *   15     no location: no data; no line
 * A varint is 6-bit chunks, least significant first, bit 6 set when another
 * chunk follows; a signed varint is (|v| << 1) | sign.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "util/pyline.h"

int pyline_format_of(const char *version)
{
	const char *p;
	int minor = 0;

	/* "3." and 1-2 digits without a leading zero, then the end or ".". */
	if (!version || strncmp(version, "3.", 2) || version[2] < '1' || version[2] > '9')
		return -1;
	for (p = version + 2; *p >= '0' && *p <= '9' && p - version < 4; p++)
		minor = minor * 10 + (*p - '0');
	if (*p && *p != '.')
		return -1;
	if (minor == 8 || minor == 9)
		return PYLINE_LNOTAB;
	if (minor == 10)
		return PYLINE_310;
	if (minor >= 11 && minor <= 13)
		return PYLINE_311;
	return -1;
}

/*
 * CPython keeps lines in an int: a running line outside it is garbage (and
 * stops the walk before an int64 could overflow either).
 */
static bool line_fits(int64_t line)
{
	return line >= INT_MIN && line <= INT_MAX;
}

static int line_result(int64_t line)
{
	return line >= 0 && line <= INT_MAX ? (int)line : -EINVAL;
}

static int lnotab_at(const uint8_t *t, size_t len, int64_t line, uint32_t off)
{
	uint64_t addr = 0;

	/* A real co_lnotab is pairs: an odd size is a torn read. */
	if (len % 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 2) {
		addr += t[i];
		if (addr > off)
			break;
		line += (int8_t)t[i + 1];
		if (!line_fits(line))
			return -EINVAL;
	}
	return line_result(line);
}

static int linetable310_at(const uint8_t *t, size_t len, int64_t line, uint32_t off)
{
	uint64_t start, end = 0;
	bool noline = true;
	size_t i = 0;

	while (end <= off) {
		if (i >= len)
			return 0; /* past the table: CPython's -1 */
		/* One range, after the zero-length ones that only move the line. */
		do {
			if (len - i < 2)
				return -EINVAL;
			start = end;
			end += t[i];
			noline = (int8_t)t[i + 1] == -128;
			if (!noline)
				line += (int8_t)t[i + 1];
			i += 2;
			if (!line_fits(line))
				return -EINVAL;
		} while (start == end);
	}
	return noline ? 0 : line_result(line);
}

struct locreader {
	const uint8_t *t;
	size_t len, i;
};

/* A varint of the entry's data: at most 6 chunks (32 bits, CPython's unsigned int). */
static int read_varint(struct locreader *r, uint32_t *val)
{
	unsigned int shift = 0;
	uint8_t b;

	*val = 0;
	do {
		/* The next entry's first byte (bit 7) inside a varint: torn. */
		if (r->i >= r->len || shift > 30 || (r->t[r->i] & 0x80))
			return -EINVAL;
		b = r->t[r->i++];
		*val |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return 0;
}

static int read_svarint(struct locreader *r, int64_t *val)
{
	uint32_t u;

	if (read_varint(r, &u))
		return -EINVAL;
	*val = u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

static int skip_data(struct locreader *r, size_t n)
{
	if (r->len - r->i < n)
		return -EINVAL;
	for (; n; n--)
		if (r->t[r->i++] & 0x80)
			return -EINVAL;
	return 0;
}

/* The long form's three varints after its line delta. */
static int skip_varints(struct locreader *r, int n)
{
	uint32_t v;

	for (; n; n--)
		if (read_varint(r, &v))
			return -EINVAL;
	return 0;
}

/*
 * Read the entry at r->i (r->i < r->len): its line delta, whether it has no
 * line, its length in bytes of bytecode.
 */
static int loc_entry(struct locreader *r, int64_t *delta, bool *noline, unsigned int *bytes)
{
	uint8_t b = r->t[r->i++];
	unsigned int code = (b >> 3) & 15;

	if (!(b & 0x80))
		return -EINVAL;
	*bytes = ((b & 7) + 1) * 2;
	*delta = 0;
	*noline = code == 15;
	if (code == 15)
		return 0;
	if (code == 13)
		return read_svarint(r, delta);
	if (code == 14)
		return read_svarint(r, delta) ? -EINVAL : skip_varints(r, 3);
	if (code >= 10) {
		*delta = code - 10;
		return skip_data(r, 2);
	}
	return skip_data(r, 1);
}

static int linetable311_at(const uint8_t *t, size_t len, int64_t line, uint32_t off)
{
	struct locreader r = { .t = t, .len = len };
	uint64_t end = 0;
	unsigned int bytes;
	bool noline = true;
	int64_t delta;

	while (end <= off) {
		if (r.i >= len)
			return 0; /* past the table: CPython's -1 */
		if (loc_entry(&r, &delta, &noline, &bytes))
			return -EINVAL;
		line += delta;
		end += bytes;
		if (!line_fits(line))
			return -EINVAL;
	}
	return noline ? 0 : line_result(line);
}

int pyline_at(enum pyline_format f, const uint8_t *table, size_t len, int firstlineno, uint32_t off)
{
	if (!table && len)
		return -EINVAL;
	switch (f) {
	case PYLINE_LNOTAB:
		return lnotab_at(table, len, firstlineno, off);
	case PYLINE_310:
		return linetable310_at(table, len, firstlineno, off);
	case PYLINE_311:
		return linetable311_at(table, len, firstlineno, off);
	}
	return -EINVAL;
}
