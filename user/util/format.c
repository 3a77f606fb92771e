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

static const char shell_safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789_@%+=:,./-";

/* The length of an argument's shell-quoted form. */
static size_t shell_len(const char *arg)
{
	size_t n = 2;

	if (*arg && strspn(arg, shell_safe) == strlen(arg))
		return strlen(arg);
	for (const char *p = arg; *p; p++)
		n += *p == '\'' ? 4 : 1;
	return n;
}

/* Its shell-quoted form at buf, which has room for shell_len(arg) bytes. */
static void shell_put(char *buf, const char *arg)
{
	size_t n = 0;

	if (*arg && strspn(arg, shell_safe) == strlen(arg)) {
		memcpy(buf, arg, strlen(arg));
		return;
	}
	buf[n++] = '\'';
	for (const char *p = arg; *p; p++) {
		if (*p == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = '\'';
}

const char *fmt_argv(char *buf, size_t len, char *const *argv, int argc)
{
	size_t n = 0, sep, w;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (int i = 0; i < argc; i++) {
		sep = i ? 1 : 0;
		w = shell_len(argv[i]);
		/* room kept for " ..." and the NUL */
		if (n + sep + w + 5 > len) {
			if (n + sep + 4 <= len)
				snprintf(buf + n, len - n, "%s...", sep ? " " : "");
			return buf;
		}
		if (sep)
			buf[n] = ' ';
		shell_put(buf + n + sep, argv[i]);
		n += sep + w;
		buf[n] = '\0';
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

int parse_decimal(const char *s, bool sign, double *out, const char **end)
{
	const char *p = s;
	bool dot = false;
	size_t digits = 0;
	char buf[64];

	if (!s)
		return -1;
	if (sign && (*p == '+' || *p == '-'))
		p++;
	for (; isdigit((unsigned char)*p) || (*p == '.' && !dot); p++) {
		if (*p == '.')
			dot = true;
		else
			digits++;
	}
	if (!digits || (size_t)(p - s) >= sizeof(buf))
		return -1;
	/* strtod of the checked characters only: "5e3" is 5 followed by "e3". */
	memcpy(buf, s, (size_t)(p - s));
	buf[p - s] = '\0';
	*out = strtod(buf, NULL);
	if (end)
		*end = p;
	return 0;
}

int parse_seconds(const char *s, double *out)
{
	const char *end;
	double v;

	if (parse_decimal(s, false, &v, &end) || *end)
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
	const char *end;
	double v;

	if (parse_decimal(s, false, &v, &end))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].unit)) {
			*seconds = v * units[i].scale;
			return 0;
		}
	}
	return -1;
}

int parse_int(const char *s, long long min, long long max, long long *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (!s)
		return -1;
	if (*p == '-' && min < 0)
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

size_t utf8_seq_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}
