// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "out/folded.h"
#include "out/json_stacks.h"
#include "util/vec.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_jstack(const void *a, const void *b)
{
	const struct jstack *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	if (x->partial != y->partial)
		return x->partial < y->partial ? -1 : 1;
	for (uint32_t i = 0; i < x->n; i++)
		if (x->frames[i] != y->frames[i])
			return x->frames[i] < y->frames[i] ? -1 : 1;
	return 0;
}

/* Every lock stack of r with frames, in turn. */
#define FOR_STACKS(r, st)                                                                     \
	for (size_t pi_ = 0; pi_ < (r)->nprocs; pi_++)                                        \
		for (size_t li_ = 0; li_ < (r)->procs[pi_].nlocks; li_++)                     \
			for (size_t si_ = 0; si_ < (r)->procs[pi_].locks[li_].nstacks; si_++) \
				if (((st) = &(r)->procs[pi_].locks[li_].stacks[si_])->n)

static int collect_names(struct jstacks *js, const struct report *r)
{
	const struct rpt_lock_stack *st;
	size_t cap = 0;

	FOR_STACKS(r, st)
	for (uint32_t i = 0; i < st->n; i++) {
		const char **e = vec_push(js->names, js->nnames, cap);

		if (!e)
			return -ENOMEM;
		*e = st->frames[i];
	}
	js->nnames = vec_uniq(js->names, js->nnames, cmp_str, NULL);
	return 0;
}

/* st's frames as indices into js->names, into k (frames malloc'ed). 0 or -ENOMEM. */
static int to_jstack(const struct jstacks *js, const struct rpt_lock_stack *st, struct jstack *k)
{
	k->n = st->n;
	k->partial = st->partial;
	k->frames = malloc(st->n * sizeof(*k->frames));
	if (!k->frames)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n; i++) {
		const char *name = st->frames[i];

		k->frames[i] = (uint32_t)vec_lower_bound(js->names, js->nnames, &name, cmp_str);
	}
	return 0;
}

static void jstack_drop(void *kept, const void *other)
{
	(void)kept;
	free(((const struct jstack *)other)->frames);
}

int jstacks_build(struct jstacks *js, const struct report *r)
{
	const struct rpt_lock_stack *st;
	size_t cap = 0;

	memset(js, 0, sizeof(*js));
	if (collect_names(js, r))
		goto fail;
	FOR_STACKS(r, st)
	{
		struct jstack *k = vec_push(js->v, js->n, cap);

		if (!k || to_jstack(js, st, k)) {
			if (k)
				js->n--;
			goto fail;
		}
	}
	js->n = vec_uniq(js->v, js->n, cmp_jstack, jstack_drop);
	return 0;
fail:
	jstacks_free(js);
	return -ENOMEM;
}

void jstacks_free(struct jstacks *js)
{
	for (size_t i = 0; i < js->n; i++)
		free(js->v[i].frames);
	free(js->v);
	free(js->names);
	memset(js, 0, sizeof(*js));
}

int64_t jstacks_find(const struct jstacks *js, const struct rpt_lock_stack *st)
{
	struct jstack k;
	size_t i;

	if (!st->n || to_jstack(js, st, &k))
		return -1;
	i = vec_lower_bound(js->v, js->n, &k, cmp_jstack);
	if (i < js->n && cmp_jstack(&js->v[i], &k))
		i = js->n;
	free(k.frames);
	return i < js->n ? (int64_t)i : -1;
}

struct json_object *jstacks_json(const struct jstacks *js)
{
	struct json_object *o = json_object_new_object(), *frames = json_object_new_array();
	struct json_object *stacks = json_object_new_array();
	char buf[SNAP_SYM_LEN];

	for (size_t i = 0; i < js->nnames; i++) {
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "name", json_object_new_string(js->names[i]));
		json_object_object_add(
			f, "function",
			json_object_new_string(frame_function(js->names[i], buf, sizeof(buf))));
		json_object_array_add(frames, f);
	}
	for (size_t i = 0; i < js->n; i++) {
		struct json_object *s = json_object_new_object(), *a = json_object_new_array();

		for (uint32_t j = 0; j < js->v[i].n; j++)
			json_object_array_add(a, json_object_new_int64(js->v[i].frames[j]));
		json_object_object_add(s, "frames", a);
		json_object_object_add(s, "partial", json_object_new_boolean(js->v[i].partial));
		json_object_array_add(stacks, s);
	}
	json_object_object_add(o, "frames", frames);
	json_object_object_add(o, "stacks", stacks);
	return o;
}
