// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "util/http.h"

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* The end of the head (the blank line), or NULL. */
static const char *head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return buf + i + 2;
		if (i + 3 < len && !memcmp(buf + i, "\r\n\r\n", 4))
			return buf + i + 4;
	}
	return NULL;
}

/* A printable token without spaces or control bytes, of at most max bytes. */
static int token_len(const char *s, const char *end, size_t max)
{
	const char *p = s;

	while (p<end && * p> ' ' && *p < 127)
		p++;
	return p > s && (size_t)(p - s) <= max ? (int)(p - s) : -1;
}

/* "METHOD SP TARGET SP HTTP/1.x": r->status says what is wrong, 0 if nothing. */
static void request_line(const char *buf, const char *eol, struct http_req *r)
{
	int m = token_len(buf, eol, 16), t, v;
	const char *target, *version, *q;

	r->status = 400;
	if (m < 0 || buf[m] != ' ')
		return;
	target = buf + m + 1;
	t = token_len(target, eol, sizeof(r->path) - 1);
	if (t < 0 || target[0] != '/' || target[t] != ' ')
		return;
	version = target + t + 1;
	v = token_len(version, eol, 8);
	if (v != 8 || version + v != eol || strncmp(version, "HTTP/", 5))
		return;
	if (strncmp(version, "HTTP/1.", 7) || version[7] < '0' || version[7] > '9') {
		r->status = 505;
		return;
	}
	q = memchr(target, '?', (size_t)t);
	memcpy(r->path, target, (size_t)((q ? q : target + t) - target));
	r->head = m == 4 && !memcmp(buf, "HEAD", 4);
	r->status = (m == 3 && !memcmp(buf, "GET", 3)) || r->head ? 0 : 405;
}

int http_parse(const char *buf, size_t len, struct http_req *r)
{
	const char *end = head_end(buf, len), *eol;

	memset(r, 0, sizeof(*r));
	if (!end) {
		if (len < HTTP_MAX_HEAD)
			return 0;
		r->status = 431;
		return 1;
	}
	eol = memchr(buf, '\n', (size_t)(end - buf));
	if (eol > buf && eol[-1] == '\r')
		eol--;
	request_line(buf, eol, r);
	return 1;
}
