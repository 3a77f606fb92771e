/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small libelf helpers for the probes placed in a target's files (--holds,
 * the GIL): walk a symbol table, turn a symbol's address into the file
 * offset a uprobe takes, tell a file's first loaded address.
 */
#ifndef CONTRACE_ELFSYM_H
#define CONTRACE_ELFSYM_H

#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

/* An ELF file open for reading. */
struct elfsym {
	int fd; /* the caller's: a file of a target is opened by tfile_open() */
	Elf *elf;
};

/* Read the ELF file open at fd (name: for messages). 0, or -ENOEXEC with a message in err. */
int elfsym_open(struct elfsym *e, int fd, const char *name, char *err, size_t errlen);

/* End the reading; the fd stays open. */
void elfsym_close(struct elfsym *e);

/*
 * Call fn for each named symbol with a value in the table of type shtype
 * (SHT_SYMTAB or SHT_DYNSYM); stop when fn returns non-zero. `hidden` is set
 * for a .dynsym symbol of a non-default version (pthread_cond_signal@GLIBC_2.2.5
 * beside pthread_cond_signal@@GLIBC_2.3.2). Returns what fn returned last,
 * 0 if the table is missing.
 */
int elfsym_each(const struct elfsym *e, uint32_t shtype,
		int (*fn)(const char *name, const GElf_Sym *sym, int hidden, void *ctx), void *ctx);

/* File offset of virtual address vaddr in a loaded segment (exec: only executable ones); 0 if none. */
uint64_t elfsym_file_offset(const struct elfsym *e, uint64_t vaddr, int exec);

/* The lowest PT_LOAD virtual address, rounded down to its page: the load bias is the mapping of offset 0 minus it. */
uint64_t elfsym_first_vaddr(const struct elfsym *e);

/* Its GNU build-id as hex in out (len >= 2 * 20 + 1). 0, or -1 if it has none. */
int elfsym_build_id(Elf *elf, char *out, size_t len);

/* Whether the ELF file has a .symtab (not stripped). */
bool elfsym_has_symtab(Elf *elf);

/*
 * Its .gnu_debuglink: the debug file's name (in name) and CRC32. 0, or -1
 * if it has none.
 */
int elfsym_debuglink(Elf *elf, char *name, size_t len, uint32_t *crc);

#endif
