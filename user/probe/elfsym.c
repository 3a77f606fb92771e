// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe/elfsym.h"

int elfsym_open(struct elfsym *e, int fd, const char *name, char *err, size_t errlen)
{
	e->elf = NULL;
	e->fd = fd;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	e->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s is not an ELF file", name);
		elfsym_close(e);
		return -ENOEXEC;
	}
	return 0;
}

void elfsym_close(struct elfsym *e)
{
	if (e->elf)
		elf_end(e->elf);
	e->elf = NULL;
}

/* The data of the symbol version section (.gnu.version), or NULL. */
static Elf_Data *versym_data(const struct elfsym *e)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

int elfsym_each(const struct elfsym *e, uint32_t shtype,
		int (*fn)(const char *name, const GElf_Sym *sym, int hidden, void *ctx), void *ctx)
{
	Elf_Data *vd = shtype == SHT_DYNSYM ? versym_data(e) : NULL;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		int ret = 0;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != shtype || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			return 0;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && !ret; i++) {
			GElf_Versym vs = 0;
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, (int)i, &sym) || !sym.st_value || !sym.st_name)
				continue;
			if (vd && !gelf_getversym(vd, (int)i, &vs))
				vs = 0;
			name = elf_strptr(e->elf, sh.sh_link, sym.st_name);
			if (name)
				ret = fn(name, &sym, (vs & 0x8000) != 0, ctx);
		}
		return ret;
	}
	return 0;
}

uint64_t elfsym_file_offset(const struct elfsym *e, uint64_t vaddr, int exec)
{
	size_t n;

	if (elf_getphdrnum(e->elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    (exec && !(ph.p_flags & PF_X)))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

uint64_t elfsym_first_vaddr(const struct elfsym *e)
{
	uint64_t low = UINT64_MAX;
	size_t n;

	if (elf_getphdrnum(e->elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e->elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < low)
			low = ph.p_vaddr;
	}
	return low == UINT64_MAX ? 0 : low & ~(uint64_t)0xfff;
}
