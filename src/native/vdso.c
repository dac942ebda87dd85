/*
 * The native vDSO image: loading it (native_vdso_load) and finding dynamic
 * symbols in it or in any ELF image mapped the way a vDSO is
 * (emu_elf_lookup).
 *
 * The image (mk/vdso.mk, src/native/vdso/) is one R+X PT_LOAD at address 0
 * without relocations: loading is copying it into an anonymous mapping,
 * writing the real vDSO's functions into the forwarder slots, and making the
 * mapping read-only and executable.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "vdso.h"

#define PAGE 4096u

const char *const native_vdso_slot_names[NATIVE_VDSO_NR_SLOTS] = {
	"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time",
	"__vdso_getcpu", "__vdso_clock_getres", "__vdso_getrandom",
};

/*
 * An ELF image as mapped: what may be read is exactly what its PT_LOADs
 * cover (a hole between them may be unmapped).
 */
struct elf_img {
	uintptr_t bias;                 /* address = bias + p_vaddr */
	const Elf64_Phdr *ph;
	unsigned nph;
};

/* Bytes readable from addr up to the end of the PT_LOAD holding it; 0 if none. */
static size_t img_avail(const struct elf_img *im, uintptr_t addr)
{
	for (unsigned i = 0; i < im->nph; i++) {
		const Elf64_Phdr *p = &im->ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		uintptr_t start = im->bias + p->p_vaddr;
		if (addr >= start && addr - start < p->p_memsz)
			return p->p_memsz - (addr - start);
	}
	return 0;
}

static bool img_has(const struct elf_img *im, uintptr_t addr, size_t len)
{
	return img_avail(im, addr) >= len;
}

/*
 * Headers of the image at base: true when they describe a 64-bit
 * little-endian x86-64 ELF object whose header and program headers are
 * 8-byte aligned and lie in the page of base (all that can be read before the PT_LOADs are known) and whose
 * PT_LOADs are sane (sorted, no wrap-around).  im->bias: base - first
 * PT_LOAD's p_vaddr + its p_offset, i.e. where file offset 0 (the header) is.
 */
static bool img_open(struct elf_img *im, const void *base)
{
	uintptr_t b = (uintptr_t)base;
	size_t room = PAGE - (b & (PAGE - 1));
	if (!base || (b & 7) || room < sizeof(Elf64_Ehdr))
		return false;
	const Elf64_Ehdr *eh = base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || (eh->e_type != ET_DYN && eh->e_type != ET_EXEC) ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phoff > room || (eh->e_phoff & 7) || (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > room - eh->e_phoff)
		return false;
	im->ph = (const Elf64_Phdr *)(b + eh->e_phoff);
	im->nph = eh->e_phnum;
	const Elf64_Phdr *first = NULL;
	uint64_t prev_end = 0;
	for (unsigned i = 0; i < im->nph; i++) {
		const Elf64_Phdr *p = &im->ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_vaddr + p->p_memsz < p->p_vaddr ||
		    (first && p->p_vaddr < prev_end))
			return false;
		if (!first)
			first = p;
		prev_end = p->p_vaddr + p->p_memsz;
	}
	if (!first || first->p_offset > first->p_vaddr)
		return false;
	im->bias = b - (first->p_vaddr - first->p_offset);
	/* The header itself must be part of the image. */
	return img_has(im, b, sizeof(Elf64_Ehdr));
}

/*
 * A d_ptr of the dynamic section as an address: unrelocated (a vDSO, or an
 * image copied as it is) is bias + d_ptr; relocated in place by ld.so it is
 * d_ptr itself.  0 when neither lies in the image.
 */
static uintptr_t img_dyn_addr(const struct elf_img *im, uint64_t d_ptr)
{
	if (img_avail(im, im->bias + d_ptr))
		return im->bias + d_ptr;
	if (img_avail(im, d_ptr))
		return d_ptr;
	return 0;
}

struct elf_dyn {
	const Elf64_Sym *symtab;
	const char *strtab;
	size_t strsz;                   /* SIZE_MAX: no DT_STRSZ, the segment bounds */
	const uint32_t *hash, *gnu_hash;
};

/* The tables of PT_DYNAMIC: true if it has a symbol table, a string table
 * and at least one hash table, all inside the image. */
static bool img_dynamic(const struct elf_img *im, struct elf_dyn *d)
{
	memset(d, 0, sizeof(*d));
	d->strsz = SIZE_MAX;
	const Elf64_Dyn *dyn = NULL;
	size_t n = 0;
	for (unsigned i = 0; i < im->nph; i++)
		if (im->ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(im->bias + im->ph[i].p_vaddr);
			n = im->ph[i].p_memsz / sizeof(Elf64_Dyn);
			break;
		}
	if (!dyn || !n || ((uintptr_t)dyn & 7) || !img_has(im, (uintptr_t)dyn, n * sizeof(Elf64_Dyn)))
		return false;
	for (size_t i = 0; i < n && dyn[i].d_tag != DT_NULL; i++) {
		uint64_t v = dyn[i].d_un.d_ptr;
		switch (dyn[i].d_tag) {
		case DT_SYMTAB:
			d->symtab = (const Elf64_Sym *)img_dyn_addr(im, v);
			break;
		case DT_STRTAB:
			d->strtab = (const char *)img_dyn_addr(im, v);
			break;
		case DT_STRSZ:
			d->strsz = v;
			break;
		case DT_SYMENT:
			if (v != sizeof(Elf64_Sym))
				return false;
			break;
		case DT_HASH:
			d->hash = (const uint32_t *)img_dyn_addr(im, v);
			break;
		case DT_GNU_HASH:
			d->gnu_hash = (const uint32_t *)img_dyn_addr(im, v);
			break;
		}
	}
	if (d->strtab && d->strsz != SIZE_MAX && !img_has(im, (uintptr_t)d->strtab, d->strsz))
		return false;
	/* Misaligned tables are not ELF (and not to be read as such). */
	if (((uintptr_t)d->symtab & 7) || ((uintptr_t)d->hash & 3) || ((uintptr_t)d->gnu_hash & 7))
		return false;
	return d->symtab && d->strtab && (d->hash || d->gnu_hash);
}

/* Symbol i if it is a defined global/weak code or data symbol named name. */
static const Elf64_Sym *img_match(const struct elf_img *im, const struct elf_dyn *d, uint32_t i, const char *name,
				  size_t name_len)
{
	const Elf64_Sym *s = &d->symtab[i];
	if (!img_has(im, (uintptr_t)s, sizeof(*s)) || (uintptr_t)s < (uintptr_t)d->symtab)
		return NULL;
	if (s->st_name >= d->strsz || d->strsz - s->st_name <= name_len)
		return NULL;
	const char *str = d->strtab + s->st_name;
	if (!img_has(im, (uintptr_t)str, name_len + 1) || memcmp(str, name, name_len + 1))
		return NULL;
	unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
	if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
		return NULL;
	/* No TLS or IFUNC: their value is not the thing's address. */
	if (type != STT_NOTYPE && type != STT_OBJECT && type != STT_FUNC)
		return NULL;
	if (s->st_shndx == SHN_UNDEF || s->st_shndx == SHN_ABS)
		return NULL;
	return s;
}

static uint32_t sysv_hash(const char *name)
{
	uint32_t h = 0;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		h = (h << 4) + *c;
		uint32_t g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

static uint32_t gnu_hash(const char *name)
{
	uint32_t h = 5381;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	return h;
}

/* DT_HASH: nbucket, nchain, bucket[nbucket], chain[nchain]; nchain is the
 * number of symbols, so a chain longer than that is a loop. */
static const Elf64_Sym *lookup_sysv(const struct elf_img *im, const struct elf_dyn *d, const char *name,
				    size_t name_len)
{
	const uint32_t *h = d->hash;
	if (!img_has(im, (uintptr_t)h, 2 * sizeof(uint32_t)))
		return NULL;
	uint32_t nbucket = h[0], nchain = h[1];
	if (!nbucket || !img_has(im, (uintptr_t)h, (2 + (size_t)nbucket + nchain) * sizeof(uint32_t)))
		return NULL;
	const uint32_t *bucket = h + 2, *chain = bucket + nbucket;
	uint32_t i = bucket[sysv_hash(name) % nbucket];
	for (uint32_t steps = 0; i != STN_UNDEF && i < nchain && steps < nchain; i = chain[i], steps++) {
		const Elf64_Sym *s = img_match(im, d, i, name, name_len);
		if (s)
			return s;
	}
	return NULL;
}

/* DT_GNU_HASH: nbuckets, symoffset, bloom_size, bloom_shift, the bloom
 * filter (u64[bloom_size]), bucket[nbuckets], then one hash per symbol from
 * symoffset on, bit 0 marking the last of a chain.  The bloom filter is only
 * a shortcut and is not consulted. */
static const Elf64_Sym *lookup_gnu(const struct elf_img *im, const struct elf_dyn *d, const char *name,
				   size_t name_len)
{
	const uint32_t *h = d->gnu_hash;
	if (!img_has(im, (uintptr_t)h, 4 * sizeof(uint32_t)))
		return NULL;
	uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
	size_t head = 4 * sizeof(uint32_t) + (size_t)bloom_size * sizeof(uint64_t);
	if (!nbuckets || !img_has(im, (uintptr_t)h, head + (size_t)nbuckets * sizeof(uint32_t)))
		return NULL;
	const uint32_t *bucket = (const uint32_t *)((uintptr_t)h + head);
	const uint32_t *chain = bucket + nbuckets;   /* hash of symbol symoffset + k */
	uint32_t hash = gnu_hash(name);
	uint32_t i = bucket[hash % nbuckets];
	if (i < symoffset)
		return NULL;   /* 0: empty bucket */
	for (;; i++) {
		const uint32_t *hp = chain + (i - symoffset);
		/* Each step reads further into the segment: this ends. */
		if ((uintptr_t)hp < (uintptr_t)chain || !img_has(im, (uintptr_t)hp, sizeof(*hp)))
			return NULL;
		if ((*hp | 1) == (hash | 1)) {
			const Elf64_Sym *s = img_match(im, d, i, name, name_len);
			if (s)
				return s;
		}
		if ((*hp & 1) || i == UINT32_MAX)
			return NULL;
	}
}

/*
 * Flow: the headers (img_open), PT_DYNAMIC's tables, then the name through
 * DT_GNU_HASH if there is one (as ld.so prefers it), else DT_HASH.  Versions
 * are not looked at: the first defined global/weak symbol of that name wins.
 * Returns its address, NULL when absent, not a function/object/untyped
 * symbol, or when anything on the way lies outside the image.
 */
void *emu_elf_lookup(const void *base, const char *name)
{
	struct elf_img im;
	struct elf_dyn d;
	if (!name || !img_open(&im, base) || !img_dynamic(&im, &d))
		return NULL;
	size_t len = strlen(name);
	const Elf64_Sym *s = d.gnu_hash ? lookup_gnu(&im, &d, name, len) : lookup_sysv(&im, &d, name, len);
	return s ? (void *)(im.bias + s->st_value) : NULL;
}

/*
 * Copy the image's PT_LOADs into a fresh anonymous mapping, point each
 * forwarder slot at the real vDSO's function (or leave the fallback whose
 * offset the slot holds), make it R+X and find the entry points.
 * 0, -ENOMEM (mmap), -errno of mprotect, -ENOEXEC (the built image is not
 * what this file expects: a build problem).
 */
int native_vdso_load_from(struct native_vdso *v, const void *real)
{
	const unsigned char *img = native_vdso_image_start;
	size_t img_len = (size_t)(native_vdso_image_end - native_vdso_image_start);
	struct elf_img im;
	memset(v, 0, sizeof(*v));
	if (img_len < sizeof(Elf64_Ehdr) || !img_open(&im, img) || im.bias != (uintptr_t)img)
		return -ENOEXEC;
	size_t size = 0;
	for (unsigned i = 0; i < im.nph; i++) {
		const Elf64_Phdr *p = &im.ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_offset > img_len || p->p_filesz > img_len - p->p_offset)
			return -ENOEXEC;
		if (p->p_vaddr + p->p_memsz > size)
			size = p->p_vaddr + p->p_memsz;
	}
	size = (size + PAGE - 1) & ~(size_t)(PAGE - 1);
	unsigned char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (unsigned i = 0; i < im.nph; i++)
		if (im.ph[i].p_type == PT_LOAD)
			memcpy(base + im.ph[i].p_vaddr, img + im.ph[i].p_offset, im.ph[i].p_filesz);

	int err = -ENOEXEC;
	uint64_t *slots = emu_elf_lookup(base, "__sgx2emu_vdso_slots");
	if (!slots)
		goto fail;
	for (unsigned i = 0; i < NATIVE_VDSO_NR_SLOTS; i++) {
		void *fn = real ? emu_elf_lookup(real, native_vdso_slot_names[i]) : NULL;
		slots[i] = fn ? (uint64_t)(uintptr_t)fn : (uint64_t)(uintptr_t)slots + slots[i];
	}
	if (mprotect(base, size, PROT_READ | PROT_EXEC)) {
		err = -errno;
		goto fail;
	}
	v->enter = (vdso_sgx_enter_enclave_t)emu_elf_lookup(base, "__vdso_sgx_enter_enclave");
	v->enclu = (uint64_t)(uintptr_t)emu_elf_lookup(base, "__sgx2emu_vdso_enclu");
	v->fixup = (uint64_t)(uintptr_t)emu_elf_lookup(base, "__sgx2emu_vdso_fixup");
	if (!v->enter || !v->enclu || !v->fixup) {
		memset(v, 0, sizeof(*v));
		goto fail;
	}
	v->base = base;
	v->size = size;
	return 0;
fail:
	munmap(base, size);
	return err;
}

/* The real vDSO is what the kernel gave this process (AT_SYSINFO_EHDR). */
int native_vdso_load(struct native_vdso *v)
{
	return native_vdso_load_from(v, (const void *)getauxval(AT_SYSINFO_EHDR));
}

/* Unmaps the image; v is zeroed (unloading twice is harmless). */
void native_vdso_unload(struct native_vdso *v)
{
	if (v->base)
		munmap(v->base, v->size);
	memset(v, 0, sizeof(*v));
}
