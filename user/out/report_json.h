/* SPDX-License-Identifier: GPL-2.0-only */
/* The JSON report: the same model as the text, schema in docs/json-schema.md. */
#ifndef CONTRACE_REPORT_JSON_H
#define CONTRACE_REPORT_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

#include "model/model.h"

#define REPORT_SCHEMA_VERSION 1

/* A new JSON object for the report (caller puts it), or NULL when out of memory. */
struct json_object *report_to_json(const struct report *r);

/* Write the report: pretty, or on one line (JSON Lines for -i). 0, or -1 on error. */
int report_json(FILE *f, const struct report *r, bool pretty);

#endif
