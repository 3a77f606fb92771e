/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The little of HTTP/1.x that contrace serve needs: the head of a request
 * read, checked and routed, and a response head. One request per
 * connection: the response closes it.
 */
#ifndef CONTRACE_HTTP_H
#define CONTRACE_HTTP_H

#include <stddef.h>

/* A request head (request line and headers) longer than this gets 431. */
#define HTTP_MAX_HEAD 8192

struct http_req {
	int status; /* 0: a GET or HEAD to route; else the error status to answer */
	int head; /* a HEAD request: headers only */
	char path[256]; /* without its query string */
};

/*
 * Parse the request head in buf[0..len). 0: incomplete, read more (unless
 * len reached HTTP_MAX_HEAD: then r->status is 431 and it returns 1);
 * 1: complete (or malformed), with r filled.
 */
int http_parse(const char *buf, size_t len, struct http_req *r);

/* The reason phrase of a status: "OK", "Not Found", ... */
const char *http_reason(int status);

#endif
