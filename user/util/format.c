// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/format.h"

static const char *fmt_sig3(char *buf, size_t len, double v, const char *unit)
{
	if (v < 9.995)
		snprintf(buf, len, "%.2f%s", v, unit);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%s", v, unit);
	else
		snprintf(buf, len, "%.0f%s", v, unit);
	return buf;
}

const char *fmt_dur(char *buf, size_t len, uint64_t ns)
{
	uint64_t s;

	if (ns == 0) {
		snprintf(buf, len, "0");
	} else if (ns < 1000) {
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	} else if (ns < 999500) {
		fmt_sig3(buf, len, ns / 1e3, "us");
	} else if (ns < 999500000) {
		fmt_sig3(buf, len, ns / 1e6, "ms");
	} else if (ns < 59995000000ULL) {
		fmt_sig3(buf, len, ns / 1e9, "s");
	} else {
		s = (ns + 500000000) / 1000000000;
		if (s < 3600)
			snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
				 (unsigned long long)(s % 60));
		else
			snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
				 (unsigned long long)(s / 60 % 60));
	}
	return buf;
}

const char *fmt_pct(char *buf, size_t len, double ratio)
{
	double p = ratio * 100.0;

	if (!isfinite(p))
		snprintf(buf, len, "-");
	else if (p >= 99.95 || p == 0.0)
		snprintf(buf, len, "%.0f%%", p);
	else
		snprintf(buf, len, "%.1f%%", p);
	return buf;
}

int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

int parse_duration(const char *s, double *seconds)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = { { "ns", 1e-9 }, { "us", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "", 1 } };
	char *end;
	double v;

	/* Plain decimal only: strtod would also take " 5", "0x10" (16) and "inf". */
	if (!s || !(isdigit((unsigned char)*s) || *s == '.') || strpbrk(s, "xXpP"))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].unit)) {
			v *= units[i].scale;
			/* At most a million seconds (11 days): it becomes nanoseconds in 64 bits. */
			if (v > 1e6)
				return -1;
			*seconds = v;
			return 0;
		}
	}
	return -1;
}

int parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
