// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "util/format.h"
#include "util/hist.h"

uint64_t hist_lo(unsigned int i)
{
	unsigned int o, sub;

	if (i < 4)
		return i;
	o = i / 4 + 1;
	sub = i % 4;
	return (uint64_t)(4 + sub) << (o - 2);
}

uint64_t hist_hi(unsigned int i)
{
	if (i < 4)
		return i + 1;
	if (i == CT_HIST_BUCKETS - 1)
		return UINT64_MAX;
	return hist_lo(i) + (1ULL << (i / 4 - 1));
}

void hist_add_u32(struct hist *h, const uint32_t *src)
{
	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++)
		h->b[i] += src[i];
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

void hist_sub(struct hist *dst, const struct hist *src)
{
	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++)
		dst->b[i] = dst->b[i] > src->b[i] ? dst->b[i] - src->b[i] : 0;
}

void hist_record(struct hist *h, uint64_t v)
{
	h->b[ct_hist_index(v)]++;
}

uint64_t hist_count(const struct hist *h)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++)
		n += h->b[i];
	return n;
}

uint64_t hist_quantile(const struct hist *h, double p, uint64_t max)
{
	uint64_t n = hist_count(h), seen = 0, lo, hi, v;
	double rank;

	if (!n)
		return 0;
	if (p <= 0)
		p = 1e-9;
	if (p > 1)
		p = 1;
	rank = p * (double)n;
	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		if ((double)(seen + h->b[i]) >= rank) {
			lo = hist_lo(i);
			hi = i == CT_HIST_BUCKETS - 1 ? (max > lo ? max : lo) : hist_hi(i);
			v = lo +
			    (uint64_t)((double)(hi - lo) * (rank - (double)seen) / (double)h->b[i]);
			if (max && v > max)
				v = max;
			return v;
		}
		seen += h->b[i];
	}
	return max;
}

/* Counts per power of two: row 0 holds values 0..3, row k >= 1 holds [2^(k+1), 2^(k+2)). */
#define HIST_ROWS (CT_HIST_BUCKETS / 4)

static uint64_t row_lo(unsigned int r)
{
	return r ? hist_lo(r * 4) : 0;
}

static uint64_t row_hi(unsigned int r)
{
	return r == HIST_ROWS - 1 ? UINT64_MAX : hist_lo((r + 1) * 4);
}

void hist_print(FILE *f, const struct hist *h, int indent)
{
	uint64_t rows[HIST_ROWS] = { 0 }, top = 0;
	int first = -1, last = -1;
	char a[FMT_LEN], b[FMT_LEN], range[2 * FMT_LEN + 8];
	int stars;

	for (unsigned int i = 0; i < CT_HIST_BUCKETS; i++)
		rows[i / 4] += h->b[i];
	for (int r = 0; r < HIST_ROWS; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > top)
			top = rows[r];
	}
	if (first < 0) {
		fprintf(f, "%*s(no samples)\n", indent, "");
		return;
	}
	fprintf(f, "%*s%-22s : %-10s distribution\n", indent, "", "range", "count");
	for (int r = first; r <= last; r++) {
		fmt_dur(a, sizeof(a), row_lo(r));
		if (row_hi(r) == UINT64_MAX)
			snprintf(range, sizeof(range), "%s ->", a);
		else
			snprintf(range, sizeof(range), "%s -> %s", a,
				 fmt_dur(b, sizeof(b), row_hi(r)));
		stars = (int)((rows[r] * 40 + top - 1) / top);
		if (!rows[r])
			stars = 0;
		fprintf(f, "%*s%-22s : %-10llu |%-40.*s|\n", indent, "", range,
			(unsigned long long)rows[r], stars,
			"****************************************");
	}
}
