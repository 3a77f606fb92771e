// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "model/figs.h"

const struct fig_desc fig_table[FIG_COUNT] = {
#define ROW(nm, kern, sm, js, pjs, head, wid, un, df, dc)          \
	[FIG_##nm] = { .name = #nm,                                \
		       .slot_off = offsetof(struct ct_thread, nm), \
		       .off = offsetof(struct figs, nm),           \
		       .sum = sm,                                  \
		       .json = js,                                 \
		       .pjson = pjs,                               \
		       .heading = head,                            \
		       .width = wid,                               \
		       .unit = un,                                 \
		       .flags = df,                                \
		       .kernel = kern,                             \
		       .doc = dc },
#define CT_FIG(nm, sm, js, pjs, head, wid, un, df, dc) \
	ROW(nm, false, sm, js, pjs, head, wid, un, df, dc)
#define CT_KFIG(nm, kf, sm, js, pjs, head, wid, un, df, dc) \
	ROW(nm, true, sm, js, pjs, head, wid, un, df, dc)
#include "figures.def"
#undef CT_FIG
#undef CT_KFIG
#undef ROW
};

const struct drop_desc drop_table[DROP_COUNT] = {
#define CT_DROP(nm, js, gr, tx)                                          \
	[DROP_##nm] = { .name = #nm,                                     \
			.counter_off = offsetof(struct ct_counters, nm), \
			.json = js,                                      \
			.grade = gr,                                     \
			.text = tx },
#include "drops.def"
#undef CT_DROP
};

static uint64_t slot_get(const struct ct_thread *t, const struct fig_desc *d)
{
	return *(const uint64_t *)((const char *)t + d->slot_off);
}

static void fig_set(struct figs *f, const struct fig_desc *d, uint64_t v)
{
	*(uint64_t *)((char *)f + d->off) = v;
}

void figs_window(struct figs *dst, const struct ct_thread *cur, const struct ct_thread *prev,
		 uint64_t absent)
{
	memset(dst, 0, sizeof(*dst));
	dst->absent = absent;
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct fig_desc *d = &fig_table[i];
		uint64_t c = slot_get(cur, d), p = prev ? slot_get(prev, d) : 0;

		if (absent & (1ULL << i))
			continue;
		/* A maximum is since tracing began; a count grows (never below 0: races). */
		fig_set(dst, d, d->sum == MAX ? c : c > p ? c - p : 0);
	}
}

void figs_add(struct figs *dst, const struct figs *src)
{
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct fig_desc *d = &fig_table[i];
		uint64_t a = fig_get(dst, d), b = fig_get(src, d);

		fig_set(dst, d, d->sum == MAX ? (a > b ? a : b) : a + b);
	}
	/* Not measured anywhere: absent from the sum too. */
	dst->absent |= src->absent;
}
