// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "out/views.h"
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

/* each_stack()'s function, and its context. */
struct each_ctx {
	int (*fn)(void *, const struct rpt_lock_stack *);
	void *ctx;
};

static int with_frames(void *ctx, const struct view_stack *v)
{
	const struct each_ctx *c = ctx;

	return v->st->n ? c->fn(c->ctx, v->st) : 0;
}

/* Every stack of r with frames, in every view (out/views.h). */
static int each_stack(const struct report *r, int (*fn)(void *, const struct rpt_lock_stack *),
		      void *ctx)
{
	struct each_ctx c = { fn, ctx };

	return each_view_stack(r, with_frames, &c);
}

/* What each_stack()'s functions fill: js, and the capacity of the array they grow. */
struct fill_ctx {
	struct jstacks *js;
	size_t cap;
};

static int add_names(void *ctx, const struct rpt_lock_stack *st)
{
	struct fill_ctx *c = ctx;

	for (uint32_t i = 0; i < st->n; i++) {
		const char **e = vec_push(c->js->names, c->js->nnames, c->cap);

		if (!e)
			return -ENOMEM;
		*e = st->frames[i];
	}
	return 0;
}

static int collect_names(struct jstacks *js, const struct report *r)
{
	struct fill_ctx c = { js, 0 };
	int ret = each_stack(r, add_names, &c);

	js->nnames = vec_uniq(js->names, js->nnames, cmp_str, NULL);
	return ret;
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

static int add_stack(void *ctx, const struct rpt_lock_stack *st)
{
	struct fill_ctx *c = ctx;
	struct jstack *k = vec_push(c->js->v, c->js->n, c->cap);

	if (!k)
		return -ENOMEM;
	if (to_jstack(c->js, st, k)) {
		c->js->n--;
		return -ENOMEM;
	}
	return 0;
}

int jstacks_build(struct jstacks *js, const struct report *r)
{
	struct fill_ctx c = { js, 0 };

	memset(js, 0, sizeof(*js));
	if (collect_names(js, r) || each_stack(r, add_stack, &c)) {
		jstacks_free(js);
		return -ENOMEM;
	}
	js->n = vec_uniq(js->v, js->n, cmp_jstack, jstack_drop);
	return 0;
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
