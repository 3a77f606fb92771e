// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the recording reader: any bytes must give either a
 * recording or an error message, never a crash, a hang or an unbounded
 * allocation; a recording read must then build its reports (the model
 * trusts what the reader hands it) and render them.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "record.h"
#include "report_json.h"
#include "report_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text_opts to = { .top = 10, .verbose = 1 };
	struct recording rec;
	char err[256];
	FILE *null;

	if (record_parse(data, size, &rec, err, sizeof(err))) {
		/* A message is always given, one line. */
		if (!err[0] || strchr(err, '\n'))
			__builtin_trap();
		return 0;
	}
	null = fopen("/dev/null", "w");
	for (size_t i = 0; i < rec.nsnaps && null; i++) {
		struct report r;

		record_meta_at(&rec, i);
		if (model_build(&r, &rec.meta, &rec.snaps[i], i ? &rec.snaps[i - 1] : NULL))
			continue;
		report_text(null, &r, &to);
		report_json(null, &r, true);
		model_free(&r);
	}
	if (null)
		fclose(null);
	record_free(&rec);
	return 0;
}
