// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/gil_tstate.h"
#include "probe/procmem.h"
#include "probe/pynames.h"
#include "util/vec.h"

/* Entries of one dict read: sys.modules of a large application has a few thousand. */
#define DICT_MAX (1u << 16)

/* A class's shared keys hold its instances' attribute names: a few dozen at most. */
#define DICT_MAX_SHARED 64

/* Names longer than this are cut (the model's limit, NUL included). */
#define NAME_MAX_CHARS (SNAP_PYNAME_LEN - 1)

/* PyTypeObject.tp_flags bits, the same in 3.8-3.13. */
#define TPF_INLINE_VALUES (1ULL << 2) /* 3.13: attributes inside the object */
#define TPF_MANAGED_DICT (1ULL << 4) /* 3.11+: __dict__ before the object */
#define TPF_LONG (1ULL << 24)
#define TPF_UNICODE (1ULL << 28)
#define TPF_DICT (1ULL << 29)

/* Offsets the same in every version read (DWARF of 3.8.18 ... 3.13.0). */
#define OFF_TYPE 8 /* PyObject.ob_type */
#define OFF_TP_BASICSIZE 32
#define OFF_TP_FLAGS 168
#define OFF_TP_DICTOFFSET 288
#define OFF_MA_KEYS 32 /* PyDictObject */
#define OFF_MA_VALUES 40
#define OFF_MD_DICT 16 /* PyModuleObject */
#define OFF_STR_LENGTH 16 /* PyASCIIObject.length */
#define OFF_STR_STATE 32
#define OFF_LONG_SIZE 16 /* ob_size (3.8-3.11), long_value.lv_tag (3.12+) */
#define OFF_LONG_DIGITS 24

/* How dicts, instance attributes and ints are laid out. */
enum layout {
	PY38, /* 3.8-3.10: dk_size, 24-byte entries; __dict__ at tp_dictoffset */
	PY311, /* dk_log2_size, dk_kind; managed dict at obj-24, its values at obj-32 */
	PY312, /* a dict, or values - 1 (odd), at obj-24; ints with lv_tag */
	PY313, /* managed dict at obj-24, else values inline at tp_basicsize */
};

static const struct pyver {
	const char *version;
	enum layout layout;
	uint32_t modules; /* PyInterpreterState.modules (3.12+: imports.modules) */
	uint32_t ascii; /* sizeof(PyASCIIObject): a compact ASCII string's text */
	uint32_t compact; /* sizeof(PyCompactUnicodeObject): other compact strings' */
	uint32_t cached_keys; /* PyHeapTypeObject.ht_cached_keys: an instance's shared keys */
} versions[] = {
	{ "3.8", PY38, 56, 48, 72, 872 },    { "3.9", PY38, 856, 48, 72, 864 },
	{ "3.10", PY38, 856, 48, 72, 872 },  { "3.11", PY311, 888, 48, 72, 872 },
	{ "3.12", PY312, 944, 40, 56, 880 }, { "3.13", PY313, 7656, 40, 56, 880 },
};

struct pyproc {
	int pid;
	uint64_t runtime;
	uint64_t active; /* threading._active, once found */
	size_t modules_n; /* sys.modules' entries when threading was not in it */
	uint64_t k_name, k_nid; /* the interned "_name" and "_native_id" */
	uint64_t last_ns;
};

struct pynames {
	struct pyproc *procs;
	size_t nprocs, cap_procs;
	struct snap_pyname *names; /* sorted by (pid, tid) */
	size_t nnames, cap_names;
};

/* One read of one process. */
struct pyread {
	int pid;
	const struct pyver *v;
	struct pyproc *p;
	/* Fields of the types met (tp_flags, ...), constant while a type lives: this read only. */
	struct {
		uint64_t addr, value;
	} consts[16];
	size_t nconsts;
	/* Shared keys of a class: where its instances keep _name and _native_id. */
	struct {
		uint64_t keys;
		size_t ix[2];
	} shared[4];
	size_t nshared;
};

/* A dict's entries: keys' entries array, and a split table's values (0: combined). */
struct dview {
	uint64_t keys;
	uint64_t entries;
	uint64_t values;
	size_t n;
	uint32_t esize, koff, voff;
};

static const struct pyver *pyver_of(const char *version)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(versions[i].version, version))
			return &versions[i];
	return NULL;
}

bool pynames_known(const char *version)
{
	return pyver_of(version) && gil_tstate_known(version);
}

static uint64_t u64_at(const void *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)buf + off, sizeof(v));
	return v;
}

/* A field of a type at addr, read once per read of the process (a thread's type is its class). */
static int type_field(struct pyread *r, uint64_t addr, uint64_t *v)
{
	for (size_t i = 0; i < r->nconsts; i++)
		if (r->consts[i].addr == addr) {
			*v = r->consts[i].value;
			return 0;
		}
	if (procmem_u64(r->pid, addr, v))
		return -EFAULT;
	if (r->nconsts < sizeof(r->consts) / sizeof(r->consts[0])) {
		r->consts[r->nconsts].addr = addr;
		r->consts[r->nconsts++].value = *v;
	}
	return 0;
}

/* The tp_flags of obj's type (0 if unreadable: no flag matches). */
static uint64_t type_flags(struct pyread *r, uint64_t obj, uint64_t *typep)
{
	uint64_t type, flags;

	if (procmem_u64(r->pid, obj + OFF_TYPE, &type) ||
	    type_field(r, type + OFF_TP_FLAGS, &flags))
		return 0;
	if (typep)
		*typep = type;
	return flags;
}

/* A PyDictKeysObject's entries (values: a split table's, or 0). 0 or -errno. */
static int keys_view(struct pyread *r, uint64_t keys, uint64_t values, struct dview *d)
{
	uint64_t h[5];
	int64_t n;

	if (procmem_read(r->pid, keys, h, sizeof(h)))
		return -EFAULT;
	if (r->v->layout == PY38) {
		uint64_t size = h[1];
		uint32_t ix;

		n = (int64_t)h[4];
		if (size < 8 || size > (1u << 24) || (size & (size - 1)))
			return -EINVAL;
		ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		d->entries = keys + 40 + size * ix;
		d->esize = 24;
		d->koff = 8;
	} else {
		uint8_t log2 = (uint8_t)h[1], log2ix = (uint8_t)(h[1] >> 8),
			kind = (uint8_t)(h[1] >> 16);

		n = (int64_t)h[3];
		if (log2 < 3 || log2 > 24 || log2ix > 27 || kind > 2 ||
		    (uint64_t)n > (1ULL << log2))
			return -EINVAL;
		d->entries = keys + 32 + (1ULL << log2ix);
		/* DICT_KEYS_GENERAL: hash, key, value; unicode and split keys: key, value. */
		d->esize = kind ? 16 : 24;
		d->koff = kind ? 0 : 8;
	}
	if (n < 0 || n > DICT_MAX)
		return -EINVAL;
	d->keys = keys;
	d->n = (size_t)n;
	d->voff = d->koff + 8;
	/* 3.13's PyDictValues starts with capacity, size, embedded, valid. */
	d->values = values && r->v->layout == PY313 ? values + 8 : values;
	return 0;
}

/* A dict object's entries. 0 or -errno (-EINVAL: not a dict). */
static int dict_view(struct pyread *r, uint64_t dict, struct dview *d)
{
	uint64_t h[6];

	if (!(type_flags(r, dict, NULL) & TPF_DICT))
		return -EINVAL;
	if (procmem_read(r->pid, dict, h, sizeof(h)))
		return -EFAULT;
	return keys_view(r, h[OFF_MA_KEYS / 8], h[OFF_MA_VALUES / 8], d);
}

/* An object's attributes (its __dict__, or 3.11+'s values without one). 0 or -errno. */
static int attrs_view(struct pyread *r, uint64_t obj, struct dview *d)
{
	uint64_t type, flags = type_flags(r, obj, &type), w, keys, size;
	int64_t off;

	if (r->v->layout == PY38) {
		if (type_field(r, type + OFF_TP_DICTOFFSET, (uint64_t *)&off) || off <= 0 ||
		    off > 4096 || procmem_u64(r->pid, obj + (uint64_t)off, &w))
			return -EINVAL;
		return dict_view(r, w, d);
	}
	if (!(flags & TPF_MANAGED_DICT) || procmem_u64(r->pid, obj - 24, &w))
		return -EINVAL;
	if (w && !(r->v->layout == PY312 && (w & 1)))
		return dict_view(r, w, d);
	/* No dict: the values with the keys the class shares among its instances. */
	if (type_field(r, type + r->v->cached_keys, &keys))
		return -EINVAL;
	if (r->v->layout == PY311) {
		if (procmem_u64(r->pid, obj - 32, &w) || !w)
			return -EINVAL;
	} else if (r->v->layout == PY312) {
		/* PyDictOrValues: the values' address - 1 (odd: a dict's is 8-aligned). */
		w++;
	} else {
		if (!(flags & TPF_INLINE_VALUES) || type_field(r, type + OFF_TP_BASICSIZE, &size) ||
		    size > 4096)
			return -EINVAL;
		w = obj + size;
	}
	return keys_view(r, keys, w, d);
}

/* Append code point c to out (len used of cap) as UTF-8 (a surrogate as '?'). */
static bool put_char(char *out, size_t *len, size_t cap, uint32_t c)
{
	char b[4];
	size_t n = 1;

	if ((c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
		b[0] = '?';
	else if (c < 0x80)
		b[0] = (char)c;
	else if (c < 0x800)
		n = 2, b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 0x3f));
	else if (c < 0x10000)
		n = 3, b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
		b[2] = (char)(0x80 | (c & 0x3f));
	else
		n = 4, b[0] = (char)(0xf0 | c >> 18), b[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f)), b[3] = (char)(0x80 | (c & 0x3f));
	if (*len + n >= cap)
		return false;
	memcpy(out + *len, b, n);
	*len += n;
	return true;
}

/* Whether `type` (read with an object) has the tp_flags bit `flag`. */
static bool type_has(struct pyread *r, uint64_t type, uint64_t flag)
{
	uint64_t flags;

	return !type_field(r, type + OFF_TP_FLAGS, &flags) && (flags & flag);
}

/*
 * A compact str object as printable UTF-8 in out (cut to fit cap, at most
 * NAME_MAX_CHARS: its start, or with tail its end, as a file's name needs):
 * its length in code points, or -errno (-EINVAL: not a str).
 */
static int str_read_part(struct pyread *r, uint64_t obj, char *out, size_t cap, bool tail)
{
	unsigned char buf[72 + NAME_MAX_CHARS * 4];
	uint32_t state, kind, data;
	size_t used = 0, take;
	int64_t length;
	ssize_t got;

	got = procmem_read_some(r->pid, obj, buf, sizeof(buf));
	if (got < (ssize_t)r->v->compact)
		return -EFAULT;
	if (!type_has(r, u64_at(buf, OFF_TYPE), TPF_UNICODE))
		return -EINVAL;
	length = (int64_t)u64_at(buf, OFF_STR_LENGTH);
	memcpy(&state, buf + OFF_STR_STATE, sizeof(state));
	kind = (state >> 2) & 7;
	/* Only compact strings keep their text after the header (every name is one). */
	if (!((state >> 5) & 1) || length < 0 || length > (1 << 30))
		return -EINVAL;
	data = (state >> 6) & 1 ? r->v->ascii : r->v->compact;
	if ((kind != 1 && kind != 2 && kind != 4) || ((state >> 6) & 1 && kind != 1))
		return -EINVAL;
	take = (size_t)length < NAME_MAX_CHARS ? (size_t)length : NAME_MAX_CHARS;
	if (tail && take < (size_t)length) {
		/* The text's end, over the header and the start read first. */
		got = procmem_read_some(r->pid, obj + data + ((size_t)length - take) * kind,
					buf + data, take * kind);
		if (got < 0)
			return -EFAULT;
		got += data;
	}
	if ((size_t)got < data + take * kind)
		return -EFAULT;
	for (size_t i = 0; i < take; i++) {
		const unsigned char *p = buf + data + i * kind;
		uint32_t c = kind == 1 ? p[0] :
			     kind == 2 ? (uint32_t)(p[0] | p[1] << 8) :
					 (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 |
						    (uint32_t)p[3] << 24);

		if (!put_char(out, &used, cap, c))
			break;
	}
	out[used] = '\0';
	/* Target data: printable before it is printed or put in JSON. */
	snapshot_clean_pyname(out, cap);
	return (int)length;
}

static int str_read(struct pyread *r, uint64_t obj, char *out, size_t cap)
{
	return str_read_part(r, obj, out, cap, false);
}

int pynames_str(int pid, const char *version, uint64_t obj, char *out, size_t cap, bool tail)
{
	struct pyread r = { .pid = pid, .v = pyver_of(version) };

	if (!r.v)
		return -ENOTSUP;
	return str_read_part(&r, obj, out, cap, tail);
}

/* Whether obj is the str `want` (short: at most NAME_MAX_CHARS). */
static bool str_is(struct pyread *r, uint64_t obj, const char *want)
{
	char s[SNAP_PYNAME_LEN];

	return str_read(r, obj, s, sizeof(s)) == (int)strlen(want) && !strcmp(s, want);
}

/* A non-negative int that fits 60 bits (two 30-bit digits), or -errno. */
static int64_t long_read(struct pyread *r, uint64_t obj)
{
	uint32_t digit[2] = { 0, 0 };
	uint64_t h[4];
	int64_t ndigits;

	if (procmem_read(r->pid, obj, h, sizeof(h)) || !type_has(r, h[OFF_TYPE / 8], TPF_LONG))
		return -EINVAL;
	if (r->v->layout >= PY312) {
		uint64_t tag = h[OFF_LONG_SIZE / 8];

		/* lv_tag: digits << 3 | sign (0 positive, 1 zero, 2 negative). */
		if ((tag & 3) == 1)
			return 0;
		ndigits = (tag & 3) ? -1 : (int64_t)(tag >> 3);
	} else {
		ndigits = (int64_t)h[OFF_LONG_SIZE / 8];
	}
	if (ndigits < 0 || ndigits > 2)
		return -EINVAL;
	memcpy(digit, (const char *)h + OFF_LONG_DIGITS, sizeof(digit));
	return (int64_t)(digit[0] & 0x3fffffff) |
	       (ndigits > 1 ? (int64_t)(digit[1] & 0x3fffffff) << 30 : 0);
}

/* The entries of d: keys[i] and vals[i] (NULL key: a deleted entry). n, or -errno. */
static int view_read(struct pyread *r, const struct dview *d, uint64_t **keys, uint64_t **vals)
{
	uint64_t *e = NULL, *k = NULL, *v = NULL;
	size_t n = d->n;
	int ret = -ENOMEM;

	*keys = *vals = NULL;
	if (!n)
		return 0;
	e = malloc(n * d->esize);
	k = calloc(n, sizeof(*k));
	v = calloc(n, sizeof(*v));
	if (!e || !k || !v)
		goto fail;
	ret = procmem_read(r->pid, d->entries, e, n * d->esize);
	if (!ret && d->values)
		ret = procmem_read(r->pid, d->values, v, n * sizeof(*v));
	if (ret)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		k[i] = u64_at(e, i * d->esize + d->koff);
		if (!d->values)
			v[i] = u64_at(e, i * d->esize + d->voff);
	}
	free(e);
	*keys = k;
	*vals = v;
	return (int)n;
fail:
	free(e);
	free(k);
	free(v);
	return ret;
}

/*
 * The values of the keys `want` (nwant of them) in d, 0 if absent, and
 * their entries' index (d->n if absent). known[k]: the key object found
 * before, compared by address first (attribute names are interned), and
 * set when found by its text (NULL: no memory of it). 0 or -errno.
 */
static int view_get(struct pyread *r, const struct dview *d, const char *const *want,
		    uint64_t **known, size_t nwant, uint64_t *value, size_t *ix)
{
	uint64_t *keys, *vals;
	int n = view_read(r, d, &keys, &vals);

	if (n < 0)
		return n;
	for (size_t k = 0; k < nwant; k++) {
		uint64_t *kn = known ? known[k] : NULL;

		value[k] = 0;
		ix[k] = d->n;
		for (int i = 0; i < n && !value[k] && kn && *kn; i++)
			if (keys[i] == *kn)
				value[k] = vals[i], ix[k] = (size_t)i;
		for (int i = 0; i < n && !value[k]; i++)
			if (keys[i] && vals[i] && str_is(r, keys[i], want[k])) {
				value[k] = vals[i], ix[k] = (size_t)i;
				if (kn)
					*kn = keys[i];
			}
	}
	free(keys);
	free(vals);
	return 0;
}

/* A dict's value of one key (0 if absent). 0 or -errno. */
static int dict_get(struct pyread *r, uint64_t dict, const char *want, uint64_t *value)
{
	struct dview d;
	size_t ix;
	int ret = dict_view(r, dict, &d);

	return ret ? ret : view_get(r, &d, &want, NULL, 1, value, &ix);
}

/*
 * PyInterpreterState's modules dict: 3.13+ say where in _Py_DebugOffsets
 * (at _PyRuntime, cookie "xdebugpy": interpreter_state.imports_modules at
 * +88), which a later 3.13.x that moved it would say too; else the table.
 */
static uint64_t modules_offset(struct pyread *r)
{
	char head[96];
	uint64_t off;

	if (r->v->layout < PY313 || procmem_read(r->pid, r->p->runtime, head, sizeof(head)) ||
	    memcmp(head, "xdebugpy", 8))
		return r->v->modules;
	off = u64_at(head, 88);
	return off && off < (1u << 20) ? off : r->v->modules;
}

/* threading._active of the process: a dict. 0 or -errno (-ENOENT: not imported yet). */
static int find_active(struct pyread *r)
{
	uint64_t interp, modules, threading, md_dict, active;
	struct dview d;
	int ret;

	ret = gil_tstate_interp(r->pid, r->v->version, r->p->runtime, &interp);
	if (ret)
		return ret;
	if (procmem_u64(r->pid, interp + modules_offset(r), &modules) || !modules)
		return -ENOENT;
	ret = dict_view(r, modules, &d);
	if (ret)
		return ret;
	/*
	 * Not imported yet: looked for again only once something else was
	 * (a key compared is a read: hundreds of modules, every 50 ms).
	 */
	if (d.n == r->p->modules_n)
		return -ENOENT;
	ret = dict_get(r, modules, "threading", &threading);
	if (!ret && !threading)
		r->p->modules_n = d.n;
	if (ret || !threading)
		return ret ? ret : -ENOENT;
	if (procmem_u64(r->pid, threading + OFF_MD_DICT, &md_dict))
		return -EINVAL;
	ret = dict_get(r, md_dict, "_active", &active);
	if (ret || !active)
		return ret ? ret : -ENOENT;
	if (!(type_flags(r, active, NULL) & TPF_DICT))
		return -EINVAL;
	r->p->active = active;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct snap_pyname *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/*
 * Keep the name of (pid, tid), seen at ts: the first `sorted` names are in
 * order, those after them were added by this read. 1 if it is new, 0 if
 * known (renamed perhaps), -ENOMEM.
 */
static int keep_name(struct pynames *pn, size_t sorted, uint32_t pid, uint32_t tid,
		     const char *name, uint64_t ts)
{
	struct snap_pyname key = { .tid = tid, .pid = pid }, *e;
	bool added = false;

	e = sorted ? bsearch(&key, pn->names, sorted, sizeof(key), cmp_name) : NULL;
	for (size_t i = sorted; !e && i < pn->nnames; i++)
		if (!cmp_name(&key, &pn->names[i]))
			e = &pn->names[i];
	if (!e) {
		e = vec_push(pn->names, pn->nnames, pn->cap_names);
		if (!e)
			return -ENOMEM;
		e->pid = pid;
		e->tid = tid;
		added = true;
	}
	e->ts = ts;
	snprintf(e->name, sizeof(e->name), "%s", name);
	return added;
}

/*
 * A Thread's _name and _native_id (v[0], v[1]; 0 if absent). The instances
 * of a class share their keys: the first one's are searched, the others'
 * two values read where it had them (about 5 reads a thread, not 11).
 */
static int attrs_get(struct pyread *r, const struct dview *d, uint64_t *v)
{
	static const char *const want[2] = { "_name", "_native_id" };
	uint64_t *known[2] = { &r->p->k_name, &r->p->k_nid }, slots[DICT_MAX_SHARED];
	size_t lo, hi, i, ix[2];
	int ret;

	for (i = 0; d->values && i < r->nshared && r->shared[i].keys != d->keys; i++)
		;
	if (!d->values || i == r->nshared) {
		ret = view_get(r, d, want, known, 2, v, ix);
		if (ret || !d->values || r->nshared == sizeof(r->shared) / sizeof(r->shared[0]))
			return ret;
		r->shared[r->nshared].keys = d->keys;
		memcpy(r->shared[r->nshared++].ix, ix, sizeof(ix));
		return 0;
	}
	memcpy(ix, r->shared[i].ix, sizeof(ix));
	v[0] = v[1] = 0;
	if (ix[0] >= d->n || ix[1] >= d->n)
		return 0;
	lo = ix[0] < ix[1] ? ix[0] : ix[1];
	hi = ix[0] < ix[1] ? ix[1] : ix[0];
	if (hi - lo >= DICT_MAX_SHARED)
		return -EINVAL;
	ret = procmem_read(r->pid, d->values + lo * 8, slots, (hi - lo + 1) * 8);
	if (ret)
		return ret;
	v[0] = slots[ix[0] - lo];
	v[1] = slots[ix[1] - lo];
	return 0;
}

/* One Thread object: its _name and _native_id, kept. 1 if named, 0 if not, -errno. */
static int read_thread(struct pyread *r, struct pynames *pn, size_t sorted, uint64_t thread,
		       uint64_t now)
{
	char name[SNAP_PYNAME_LEN];
	uint64_t v[2];
	struct dview d;
	int64_t tid;
	int ret;

	ret = attrs_view(r, thread, &d);
	if (!ret)
		ret = attrs_get(r, &d, v);
	if (ret || !v[0] || !v[1])
		return ret;
	tid = long_read(r, v[1]);
	if (tid <= 0 || tid > UINT32_MAX || str_read(r, v[0], name, sizeof(name)) < 0)
		return 0;
	ret = keep_name(pn, sorted, (uint32_t)r->pid, (uint32_t)tid, name, now);
	return ret < 0 ? ret : 1;
}

static int read_names(struct pyread *r, struct pynames *pn, uint64_t now)
{
	size_t sorted = pn->nnames;
	uint64_t *keys, *vals;
	int n, named = 0, ret = 0;
	struct dview d;

	ret = dict_view(r, r->p->active, &d);
	if (ret)
		return ret;
	n = view_read(r, &d, &keys, &vals);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		int one;

		if (!keys[i] || !vals[i])
			continue;
		one = read_thread(r, pn, sorted, vals[i], now);
		/*
		 * A Thread object caught changing (its attributes' dict resized
		 * while a thread starts) is read again next time; the others
		 * are named now. Only the process gone, or no memory, stops.
		 */
		if (one == -ESRCH || one == -ENOMEM) {
			ret = one;
			break;
		}
		named += one > 0;
	}
	free(keys);
	free(vals);
	if (pn->nnames > sorted)
		qsort(pn->names, pn->nnames, sizeof(*pn->names), cmp_name);
	return ret < 0 ? ret : named;
}

static struct pyproc *proc_of(struct pynames *pn, int pid, uint64_t runtime)
{
	struct pyproc *p;

	for (size_t i = 0; i < pn->nprocs; i++)
		if (pn->procs[i].pid == pid) {
			p = &pn->procs[i];
			/* Another image (an execve): nothing found before holds. */
			if (p->runtime != runtime)
				*p = (struct pyproc){ .pid = pid, .runtime = runtime };
			return p;
		}
	p = vec_push(pn->procs, pn->nprocs, pn->cap_procs);
	if (p) {
		p->pid = pid;
		p->runtime = runtime;
	}
	return p;
}

int pynames_update(struct pynames *pn, int pid, const char *version, uint64_t runtime,
		   uint64_t now_ns, uint64_t min_gap_ns)
{
	struct pyread r = { .pid = pid, .v = pyver_of(version) };
	int ret;

	if (!r.v || !runtime)
		return -ENOTSUP;
	r.p = proc_of(pn, pid, runtime);
	if (!r.p)
		return -ENOMEM;
	if (r.p->last_ns && now_ns - r.p->last_ns < min_gap_ns)
		return 0;
	r.p->last_ns = now_ns;
	if (!r.p->active) {
		ret = find_active(&r);
		if (ret)
			return ret;
	}
	ret = read_names(&r, pn, now_ns);
	/* A dict no longer there (the module reloaded, the memory reused): look again next time. */
	if (ret == -EINVAL || ret == -EFAULT)
		r.p->active = 0;
	return ret;
}

static int cmp_slot(const void *a, const void *b)
{
	const struct ct_thread *x = *(const struct ct_thread *const *)a;
	const struct ct_thread *y = *(const struct ct_thread *const *)b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Whether a thread slot of the snapshot (slots: sorted by tgid, tid) is the one n names. */
static bool named_thread(const struct ct_thread **slots, size_t n, const struct snap_pyname *e)
{
	struct ct_thread key = { .tid = e->tid, .tgid = e->pid };
	const struct ct_thread *k = &key, **t;

	t = bsearch(&k, slots, n, sizeof(*slots), cmp_slot);
	/* A tid reused: the slots of one (tgid, tid) are adjacent, try each. */
	for (; t && t > slots && !cmp_slot(t - 1, &k); t--)
		;
	for (; t && t < slots + n && !cmp_slot(t, &k); t++)
		if (snap_pyname_fits(e, *t))
			return true;
	return false;
}

/*
 * Keep only the names of threads the snapshot still has a slot for: a
 * name can never be given to another thread (model/procs.c checks the
 * time), and a server that makes a thread per request for days would
 * otherwise keep a name per request (the slots are bounded: --max-threads).
 */
static int prune(struct pynames *pn, const struct snapshot *snap)
{
	const struct ct_thread **slots =
		malloc((snap->nthreads ? snap->nthreads : 1) * sizeof(*slots));
	size_t n = 0, kept = 0;

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < snap->nthreads; i++)
		if (snap->threads[i].tid)
			slots[n++] = &snap->threads[i];
	qsort(slots, n, sizeof(*slots), cmp_slot);
	for (size_t i = 0; i < pn->nnames; i++)
		if (named_thread(slots, n, &pn->names[i]))
			pn->names[kept++] = pn->names[i];
	pn->nnames = kept;
	free(slots);
	return 0;
}

int pynames_snapshot(struct pynames *pn, struct snapshot *snap)
{
	int ret;

	if (!pn || !pn->nnames)
		return 0;
	ret = prune(pn, snap);
	if (ret || !pn->nnames)
		return ret;
	snap->pynames = malloc(pn->nnames * sizeof(*snap->pynames));
	if (!snap->pynames)
		return -ENOMEM;
	memcpy(snap->pynames, pn->names, pn->nnames * sizeof(*snap->pynames));
	snap->npynames = pn->nnames;
	return 0;
}

struct pynames *pynames_new(void)
{
	return calloc(1, sizeof(struct pynames));
}

void pynames_free(struct pynames *pn)
{
	if (!pn)
		return;
	free(pn->procs);
	free(pn->names);
	free(pn);
}
