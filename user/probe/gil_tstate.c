// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "probe/bpfmap.h"
#include "contrace.h"
#include "probe/gil_tstate.h"
#include "probe/procmem.h"

#define MAX_TSTATES CT_GIL_TSTATES

/*
 * _PyRuntime.interpreters.main, PyInterpreterState's first thread state
 * (tstate_head, 3.11+: threads.head), PyThreadState.next and .thread_id
 * (pthread_self() of its thread).
 */
static const struct tstate_offsets {
	const char *version;
	uint64_t main, head, next, thread_id;
} offsets[] = {
	{ "3.8", 40, 8, 8, 176 },   { "3.9", 40, 8, 8, 176 },	{ "3.10", 40, 8, 8, 176 },
	{ "3.11", 48, 16, 8, 152 }, { "3.12", 48, 72, 8, 136 }, { "3.13", 640, 7344, 8, 152 },
};

static const struct tstate_offsets *offsets_of(const char *version)
{
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		if (!strcmp(offsets[i].version, version))
			return &offsets[i];
	return NULL;
}

bool gil_tstate_known(const char *version)
{
	return offsets_of(version) != NULL;
}

uint64_t gil_tstate_tid_offset(const char *version)
{
	const struct tstate_offsets *o = offsets_of(version);

	return o ? o->thread_id : 0;
}

int gil_tstate_interp(int pid, const char *version, uint64_t runtime, uint64_t *interp)
{
	const struct tstate_offsets *o = offsets_of(version);
	int ret;

	if (!o)
		return -ENOTSUP;
	ret = procmem_u64(pid, runtime + o->main, interp);
	if (ret)
		return ret;
	return *interp ? 0 : -ENOENT;
}

int gil_tstate_read(int pid, const char *version, uint64_t runtime, uint64_t (*pairs)[2],
		    size_t max)
{
	const struct tstate_offsets *o = offsets_of(version);
	uint64_t interp, t, next, tid;
	size_t n = 0;
	int ret;

	ret = gil_tstate_interp(pid, version, runtime, &interp);
	if (ret)
		return ret;
	ret = procmem_u64(pid, interp + o->head, &t);
	if (ret)
		return ret;
	/* Threads come and go while this reads: a list that does not end is not one. */
	while (t) {
		if (n == max)
			return -EINVAL;
		ret = procmem_u64(pid, t + o->next, &next);
		if (!ret)
			ret = procmem_u64(pid, t + o->thread_id, &tid);
		if (ret)
			return ret;
		if (tid) {
			pairs[n][0] = tid;
			pairs[n][1] = t;
			n++;
		}
		t = next;
	}
	return (int)n;
}

static bool has_pair(uint64_t (*pairs)[2], size_t n, uint64_t tid, uint64_t tstate)
{
	for (size_t i = 0; i < n; i++)
		if (pairs[i][0] == tid && pairs[i][1] == tstate)
			return true;
	return false;
}

int gil_tstate_refresh(int fd, int pid, const char *version, uint64_t runtime)
{
	struct ct_gil_tstate_key *keys = NULL;
	uint64_t(*pairs)[2], *vals = NULL;
	size_t nkeys = 0;
	int n, ret;

	pairs = calloc(MAX_TSTATES, sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	n = gil_tstate_read(pid, version, runtime, pairs, MAX_TSTATES);
	if (n < 0) {
		ret = n;
		goto out;
	}
	ret = bpfmap_dump(fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &nkeys);
	if (ret)
		goto out;
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].tgid == (uint32_t)pid &&
		    !has_pair(pairs, (size_t)n, keys[i].pthread, vals[i]))
			bpf_map_delete_elem(fd, &keys[i]);
	for (int i = 0; i < n; i++) {
		struct ct_gil_tstate_key k = { .tgid = (uint32_t)pid, .pthread = pairs[i][0] };

		if (bpf_map_update_elem(fd, &k, &pairs[i][1], BPF_ANY)) {
			ret = -errno;
			goto out;
		}
	}
	ret = n;
out:
	free(keys);
	free(vals);
	free(pairs);
	return ret;
}
