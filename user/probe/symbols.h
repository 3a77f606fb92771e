/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for the data and code addresses of traced processes, from
 * /proc/PID/maps and the symbol tables of the ELF files mapped (libelf).
 * What a process maps is captured while it lives and answered from a cache
 * after it exits.
 */
#ifndef CONTRACE_SYMBOLS_H
#define CONTRACE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;

/* A symbolizer with nothing loaded, or NULL (out of memory). */
struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);

/*
 * Read /proc/PID/maps again and load the symbol tables of files mapped since
 * the last call (cached per file: by build-id when the file has one, else by
 * device+inode+size+mtime). Call it at start and now and then while the
 * process lives; later lookups for pid use the last maps read. pid is a
 * process id (tgid). 0 or -errno (-ESRCH if the process is gone or has no
 * memory left, as a zombie: the cached state stays usable).
 */
int symbolizer_update(struct symbolizer *s, int pid);

/*
 * The same with the text of a maps file given instead of /proc/PID/maps
 * (tests, replays). Files are still opened through /proc/PID/root and
 * /proc/PID/map_files. 0, -ESRCH if maps holds no mapping, or -errno.
 */
int symbolizer_load_maps(struct symbolizer *s, int pid, const char *maps, size_t len);

/*
 * Name of a data address of process pid, written to buf ("FILE" is the
 * basename of the mapped file, the executable's included):
 *   "FILE:symbol"          a data object (STT_OBJECT) holding addr
 *   "FILE:symbol+0x8"      inside such an object
 *   "FILE+0x2040"          in a file mapping but in no symbol: offset in the file
 *   "[heap]+0x1a0"         in a named special mapping ([heap], [stack], [stack:TID],
 *                          [vdso], [anon:NAME]...): offset from its start
 *   "[anon]+0x10"          in an anonymous mapping: offset from its start
 *   "0x7f12..."            in no known mapping (or pid never updated)
 * The .bss of a file, often an anonymous mapping right after the file's
 * last one, is named through that file's symbols.
 * Returns 1 if a symbol was found, 0 otherwise (buf is filled either way,
 * truncated to len), -EINVAL if buf is NULL or len is 0.
 */
int symbolizer_name_data(struct symbolizer *s, int pid, uint64_t addr, char *buf, size_t len);

/* The same for a code address, with functions (STT_FUNC, STT_GNU_IFUNC): "demo:flush_batch+0x2a". */
int symbolizer_name_code(struct symbolizer *s, int pid, uint64_t addr, char *buf, size_t len);

/*
 * Whether addr is in an executable mapping of pid whose file is the C
 * library or the dynamic loader (libc.so*, libc-2.*.so, libpthread*,
 * ld-linux*.so*, ld-2.*.so, ld-musl-*): callers skip such frames when
 * looking for the user's call site.
 */
bool symbolizer_is_libc(struct symbolizer *s, int pid, uint64_t addr);

/*
 * The stripped files a name was wanted from and could not be found for want
 * of their debug files, one a line in buf: the file, a tab, and the debug
 * file that would have them ("" if it names none: no build-id, no
 * debuglink). How many (at most 4).
 */
size_t symbolizer_missing(const struct symbolizer *s, char *buf, size_t len);

/*
 * The executable mappings of pid that are not those libraries, nor the
 * kernel's [vdso] and [vsyscall]: [starts[i], ends[i]) in ascending order,
 * adjacent ones merged. Returns how many were stored (at most max).
 */
size_t symbolizer_user_text(struct symbolizer *s, int pid, uint64_t *starts, uint64_t *ends,
			    size_t max);

/* An ELF file mapped executable by a process (for an unwinder). */
struct sym_module {
	uint64_t start, end; /* its executable mapping */
	uint64_t bias; /* load address minus ELF virtual address */
	uint64_t stamp; /* the maps it comes from: changes when the process's maps do */
	const char *path; /* as /proc names it (valid until the next update of pid) */
	const char *label; /* its basename */
};

/*
 * The executable file mappings of pid whose files are ELF, the kernel's
 * [vdso] left out: at most max, in ascending order. How many.
 */
size_t symbolizer_modules(struct symbolizer *s, int pid, struct sym_module *out, size_t max);

/* The maps generation of pid (0: never read): a new one once its maps change. */
uint64_t symbolizer_stamp(struct symbolizer *s, int pid);

/* Open the file of module m of pid as symbols are read (tfile_open): an fd, or -errno. */
int symbolizer_open_module(struct symbolizer *s, int pid, const struct sym_module *m);

#endif
