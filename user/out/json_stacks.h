/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --stacks in JSON: every frame name and every stack of a report once,
 * the locks referring to them by index (a stack under several locks, a
 * frame in several stacks, is written once).
 */
#ifndef CONTRACE_JSON_STACKS_H
#define CONTRACE_JSON_STACKS_H

#include <json-c/json.h>
#include <stdint.h>

#include "model/model.h"

struct jstack {
	uint32_t n;
	uint32_t partial;
	uint32_t *frames; /* indices into jstacks.names, leaf first */
};

struct jstacks {
	const char **names; /* sorted, each once (pointing into the report) */
	size_t nnames;
	struct jstack *v; /* sorted, each once */
	size_t n;
};

/* Intern r's lock stacks. 0 or -ENOMEM (js is then empty). */
int jstacks_build(struct jstacks *js, const struct report *r);
void jstacks_free(struct jstacks *js);

/* The index of a lock's stack, or -1 (the waits without a stack). */
int64_t jstacks_find(const struct jstacks *js, const struct rpt_lock_stack *st);

/* The report's "stacks" object: {"frames": [...], "stacks": [...]}. */
struct json_object *jstacks_json(const struct jstacks *js);

#endif
