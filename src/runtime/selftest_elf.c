/*
 * test_encl_image_from_elf: a test_encl_image (sgx2emu/selftest.h) from a
 * real ELF file of the selftests' test enclave kind, so that the loader
 * (selftest_loader.c) loads it as load.c loads test_encl.elf: PT_LOADs by
 * file offset, symbols from the first SHT_SYMTAB.
 *
 * Every header is checked against the file's size before it is read (the
 * bytes may come from anywhere); the checks are those the loader and the
 * enclave's code rely on, see selftest.h.  The result is one allocation for
 * the descriptors and names (struct elf_image) and one page-aligned copy of
 * the file from its first PT_LOAD's page on.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgx2emu/selftest.h"

#define PAGE 4096ull

struct elf_image {
	struct test_encl_image img;     /* first: what callers see */
	uint8_t *bin;                   /* the page-aligned copy */
	struct test_encl_phdr *phdrs;
	struct test_encl_sym *syms;
	char *names;
};

/* Prints why the ELF is rejected and sets errno = EINVAL; returns NULL. */
static __attribute__((format(printf, 1, 2))) void *reject(const char *fmt, ...)
{
	va_list ap;
	fputs("test_encl ELF: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errno = EINVAL;
	return NULL;
}

/* [off, off + len) lies inside a file of size bytes (no overflow). */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static uint64_t page_up(uint64_t n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

/* The ELF header: magic, ELF64, little-endian, x86-64, ET_EXEC or ET_DYN,
 * program headers of the expected size inside the file.  NULL: reported. */
static const Elf64_Ehdr *check_ehdr(const uint8_t *elf, size_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (!elf || size < sizeof(*eh))
		return reject("%zu bytes: shorter than an ELF header", elf ? size : 0);
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return reject("bad magic");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return reject("not a little-endian ELF64 file");
	if (eh->e_machine != EM_X86_64 || (eh->e_type != ET_EXEC && eh->e_type != ET_DYN))
		return reject("not an x86-64 executable (machine %u, type %u)", eh->e_machine, eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return reject("program header size %u", eh->e_phentsize);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return reject("program headers (%u at %#llx) outside the file", eh->e_phnum,
			      (unsigned long long)eh->e_phoff);
	return eh;
}

/* The PT_LOADs of eh into phdrs (room for e_phnum); their number, or -1
 * when one is unusable (reported). */
static int collect_loads(const uint8_t *elf, size_t size, const Elf64_Ehdr *eh, struct test_encl_phdr *phdrs)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff);
	uint64_t first_off = 0, end = 0;
	int n = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_offset % PAGE || p->p_vaddr % PAGE) {
			reject("PT_LOAD %d: offset %#llx / address %#llx not page-aligned", n,
			       (unsigned long long)p->p_offset, (unsigned long long)p->p_vaddr);
			return -1;
		}
		if (!p->p_filesz || !in_file(p->p_offset, p->p_filesz, size)) {
			reject("PT_LOAD %d: %#llx bytes at %#llx: empty or outside the file", n,
			       (unsigned long long)p->p_filesz, (unsigned long long)p->p_offset);
			return -1;
		}
		if (p->p_memsz > page_up(p->p_filesz)) {
			reject("PT_LOAD %d: memory size %#llx beyond its file pages (%#llx bytes)", n,
			       (unsigned long long)p->p_memsz, (unsigned long long)p->p_filesz);
			return -1;
		}
		if (n == 0)
			first_off = p->p_offset;
		/* Enclave offsets come from file offsets (the loader), the code
		 * was linked by address: the two must agree, from 0. */
		if (p->p_vaddr != p->p_offset - first_off) {
			reject("PT_LOAD %d: address %#llx is not its file offset's %#llx", n,
			       (unsigned long long)p->p_vaddr, (unsigned long long)(p->p_offset - first_off));
			return -1;
		}
		if (n > 0 && p->p_offset < end) {
			reject("PT_LOAD %d at %#llx overlaps the one before (ends at %#llx)", n,
			       (unsigned long long)p->p_offset, (unsigned long long)end);
			return -1;
		}
		end = p->p_offset + page_up(p->p_filesz);
		phdrs[n++] = (struct test_encl_phdr){ p->p_offset, p->p_filesz, p->p_flags };
	}
	if (!n)
		reject("no PT_LOAD");
	return n ? n : -1;
}

/* The first SHT_SYMTAB and its string table (sh_link), checked; *symtab =
 * NULL when the file has no section headers or no symbol table (not an
 * error: the image then has no symbols).  false: reported. */
static bool find_symtab(const uint8_t *elf, size_t size, const Elf64_Ehdr *eh, const Elf64_Shdr **symtab,
			const Elf64_Shdr **strtab)
{
	*symtab = *strtab = NULL;
	if (!eh->e_shoff || !eh->e_shnum)
		return true;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size)) {
		reject("section headers (%u of %u bytes at %#llx) unusable", eh->e_shnum, eh->e_shentsize,
		       (unsigned long long)eh->e_shoff);
		return false;
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		if (sh[i].sh_entsize != sizeof(Elf64_Sym) || !in_file(sh[i].sh_offset, sh[i].sh_size, size) ||
		    sh[i].sh_link >= eh->e_shnum) {
			reject("symbol table (section %u) unusable", i);
			return false;
		}
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (str->sh_type != SHT_STRTAB || !str->sh_size || !in_file(str->sh_offset, str->sh_size, size) ||
		    elf[str->sh_offset + str->sh_size - 1] != '\0') {
			reject("string table (section %u) of the symbol table unusable", sh[i].sh_link);
			return false;
		}
		*symtab = &sh[i];
		*strtab = str;
		return true;
	}
	return true;
}

/* A symbol the image lists: defined, named, not a section or file symbol. */
static bool wanted(const Elf64_Sym *s, const Elf64_Shdr *strtab)
{
	unsigned type = ELF64_ST_TYPE(s->st_info);
	return s->st_shndx != SHN_UNDEF && s->st_name && s->st_name < strtab->sh_size && type != STT_SECTION &&
	       type != STT_FILE;
}

static void elf_image_free(struct elf_image *e)
{
	if (!e)
		return;
	free(e->bin);
	free(e->phdrs);
	free(e->syms);
	free(e->names);
	free(e);
}

/* img is the first member of the elf_image it came from. */
void test_encl_image_free(const struct test_encl_image *img)
{
	elf_image_free((struct elf_image *)img);
}

/*
 * Flow: check the ELF header, collect and check the PT_LOADs, find the
 * symbol table, then copy: the file from the first PT_LOAD's page to the end
 * of the last PT_LOAD's last page (zero beyond the file), the descriptors,
 * the wanted symbols with their names.  NULL + EINVAL (reported) or ENOMEM.
 */
const struct test_encl_image *test_encl_image_from_elf(const void *elf_v, size_t size)
{
	const uint8_t *elf = elf_v;
	const Elf64_Ehdr *eh = check_ehdr(elf, size);
	if (!eh)
		return NULL;
	struct elf_image *e = calloc(1, sizeof(*e));
	if (!e || !(e->phdrs = calloc(eh->e_phnum ? eh->e_phnum : 1, sizeof(*e->phdrs))))
		goto nomem;
	int nr = collect_loads(elf, size, eh, e->phdrs);
	const Elf64_Shdr *symtab, *strtab;
	if (nr < 0 || !find_symtab(elf, size, eh, &symtab, &strtab))
		goto inval;

	uint64_t first = e->phdrs[0].offset, last_end = 0;
	for (int i = 0; i < nr; i++)
		last_end = e->phdrs[i].offset + page_up(e->phdrs[i].filesz);
	size_t bin_size = (size_t)(last_end - first);
	if (!(e->bin = aligned_alloc(PAGE, bin_size)))
		goto nomem;
	memset(e->bin, 0, bin_size);
	memcpy(e->bin, elf + first, (size_t)(size - first < bin_size ? size - first : bin_size));

	unsigned nr_syms = 0;
	size_t names_len = 0;
	const Elf64_Sym *sym = symtab ? (const Elf64_Sym *)(elf + symtab->sh_offset) : NULL;
	size_t nsym = symtab ? symtab->sh_size / sizeof(Elf64_Sym) : 0;
	for (size_t i = 0; i < nsym; i++)
		if (wanted(&sym[i], strtab)) {
			nr_syms++;
			names_len += strlen((const char *)elf + strtab->sh_offset + sym[i].st_name) + 1;
		}
	e->syms = calloc(nr_syms ? nr_syms : 1, sizeof(*e->syms));
	e->names = malloc(names_len ? names_len : 1);
	if (!e->syms || !e->names)
		goto nomem;
	char *name = e->names;
	unsigned k = 0;
	for (size_t i = 0; i < nsym; i++) {
		if (!wanted(&sym[i], strtab))
			continue;
		const char *src = (const char *)elf + strtab->sh_offset + sym[i].st_name;
		size_t len = strlen(src) + 1;
		memcpy(name, src, len);
		e->syms[k++] = (struct test_encl_sym){ name, sym[i].st_value, NULL };
		name += len;
	}

	e->img = (struct test_encl_image){
		.bin = e->bin,
		.bin_size = bin_size,
		.phdrs = e->phdrs,
		.nr_phdrs = (unsigned)nr,
		.syms = e->syms,
		.nr_syms = nr_syms,
	};
	return &e->img;
nomem:
	elf_image_free(e);
	fprintf(stderr, "test_encl ELF: out of memory\n");
	errno = ENOMEM;
	return NULL;
inval:
	elf_image_free(e);
	errno = EINVAL;
	return NULL;
}
