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

bool elfsym_has_symtab(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			return true;
	return false;
}

int elfsym_debuglink(Elf *elf, char *name, size_t len, uint32_t *crc)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, n;
	const char *sname;
	Elf_Data *d;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".gnu_debuglink"))
			continue;
		d = elf_getdata(scn, NULL);
		/* the name, NUL, padding to 4 bytes, then the CRC32 */
		if (!d || !d->d_buf || d->d_size < 8)
			return -1;
		n = strnlen(d->d_buf, d->d_size);
		if (!n || n >= len || (n + 4) / 4 * 4 + 4 > d->d_size)
			return -1;
		memcpy(name, d->d_buf, n + 1);
		memcpy(crc, (const char *)d->d_buf + (n + 4) / 4 * 4, 4);
		return 0;
	}
	return -1;
}

int elfsym_build_id(Elf *elf, char *out, size_t len)
{
	size_t off, next, name_off, desc_off;
	const unsigned char *b;
	Elf_Scn *scn = NULL;
	GElf_Nhdr nh;
	GElf_Shdr sh;
	Elf_Data *d;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		for (off = 0;
		     d && d->d_buf && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0;
		     off = next) {
			b = d->d_buf;
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp(b + name_off, "GNU", 4) || !nh.n_descsz ||
			    2 * nh.n_descsz + 1 > len)
				continue;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(out + 2 * i, 3, "%02x", b[desc_off + i]);
			return 0;
		}
	}
	return -1;
}
