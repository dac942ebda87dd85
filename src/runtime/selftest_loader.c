/*
 * Loader of the model-mode selftest enclave through the system API, step for step
 * as the selftests' load.c / main.c (kernel-selftests.md §3, §4, §8), written
 * from that description.
 */
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sgx2emu/selftest.h"
#include "sgx2emu/sign.h"

static EVP_PKEY *sign_key;

static void keygen(void)
{
	sign_key = sgx_sign_keygen();
}

EVP_PKEY *encl_sign_key(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, keygen);
	return sign_key;
}

static void fail(const char *what)
{
	fprintf(stderr, "test_encl loader: %s: %s\n", what, strerror(errno));
}

/* The device must take both probe mappings before ECREATE. */
static bool probe_device(struct encl *encl)
{
	static const int prots[] = { PROT_READ, PROT_EXEC };
	for (unsigned i = 0; i < 2; i++) {
		void *p = emu_mmap(encl->proc, NULL, 4096, prots[i], MAP_SHARED, encl->fd, 0);
		if (p == MAP_FAILED) {
			fail(i ? "mmap(PROT_EXEC) of /dev/sgx_enclave (is /dev mounted noexec?)" :
				 "mmap(PROT_READ) of /dev/sgx_enclave");
			return false;
		}
		emu_munmap(encl->proc, p, 4096);
	}
	return true;
}

static size_t page_up(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* load.c's encl_load for img (the model's image or an ELF's). */
static bool encl_load_image(struct emu_proc *proc, const struct test_encl_image *img, struct encl *encl,
			    size_t heap_size)
{
	memset(encl, 0, sizeof(*encl));
	encl->proc = proc;
	encl->fd = emu_open(proc, "/dev/sgx_enclave", O_RDWR);
	if (encl->fd < 0) {
		fail("open /dev/sgx_enclave");
		return false;
	}
	if (!probe_device(encl))
		goto err;

	encl->image = img;
	encl->nr_segments = img->nr_phdrs + 1;   /* + heap */
	encl->segment_tbl = calloc(encl->nr_segments, sizeof(*encl->segment_tbl));
	if (!encl->segment_tbl)
		goto err;
	uint64_t first = img->phdrs[0].offset & ~4095ull;
	for (unsigned i = 0; i < img->nr_phdrs; i++) {
		const struct test_encl_phdr *ph = &img->phdrs[i];
		struct encl_segment *seg = &encl->segment_tbl[i];
		if (ph->flags & ~(uint32_t)(PF_R | PF_W | PF_X)) {
			fprintf(stderr, "test_encl loader: segment %u: flags %#x\n", i, ph->flags);
			goto err;
		}
		if (i == 0) {
			if (ph->flags != (PF_R | PF_W)) {
				fprintf(stderr, "test_encl loader: TCS segment is not RW\n");
				goto err;
			}
			seg->prot = PROT_READ | PROT_WRITE;
			seg->flags = SGX_SECINFO_PT(SGX_PT_TCS);
		} else {
			seg->prot = (ph->flags & PF_R ? PROT_READ : 0) | (ph->flags & PF_W ? PROT_WRITE : 0) |
				    (ph->flags & PF_X ? PROT_EXEC : 0);
			seg->flags = SGX_SECINFO_PT(SGX_PT_REG) | (uint64_t)seg->prot;
		}
		seg->offset = (off_t)((ph->offset & ~4095ull) - first);
		seg->src = (void *)(img->bin + seg->offset);
		seg->size = page_up(ph->filesz);
		seg->measure = true;
	}
	encl->src = img->bin;

	struct encl_segment *last = &encl->segment_tbl[img->nr_phdrs - 1];
	struct encl_segment *heap = &encl->segment_tbl[img->nr_phdrs];
	encl->heap = emu_mmap(proc, NULL, heap_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (encl->heap == MAP_FAILED) {
		encl->heap = NULL;
		fail("mmap of the heap source");
		goto err;
	}
	encl->heap_size = heap_size;
	heap->offset = last->offset + (off_t)last->size;
	heap->size = heap_size;
	heap->src = encl->heap;
	heap->prot = PROT_READ | PROT_WRITE;
	heap->flags = SGX_SECINFO_PT(SGX_PT_REG) | (uint64_t)heap->prot;
	heap->measure = false;

	encl->src_size = (size_t)heap->offset + heap->size;
	for (encl->encl_size = 4096; encl->encl_size < encl->src_size;)
		encl->encl_size <<= 1;
	return true;
err:
	encl_delete(encl);
	return false;
}

bool encl_load(struct emu_proc *proc, struct encl *encl, size_t heap_size)
{
	return encl_load_image(proc, test_encl_image(), encl, heap_size);
}

bool encl_measure(struct encl *encl)
{
	struct sgx_sigstruct *ss = &encl->sigstruct;
	struct sgx_measurement mr;
	memset(ss, 0, sizeof(*ss));
	sgx_sigstruct_init_header(ss);
	ss->body.attributes.flags = SGX_ATTR_MODE64BIT;
	ss->body.attributes.xfrm = 3;
	if (sgx_measure_init(&mr, 1, encl->encl_size)) {
		fprintf(stderr, "test_encl loader: sgx_measure_init failed\n");
		return false;
	}
	for (unsigned i = 0; i < encl->nr_segments; i++) {
		const struct encl_segment *seg = &encl->segment_tbl[i];
		for (size_t off = 0; off < seg->size; off += 4096)
			sgx_measure_page(&mr, (uint64_t)seg->offset + off, seg->flags, (const uint8_t *)seg->src + off,
					 seg->measure);
	}
	sgx_measure_final(&mr, ss->body.mrenclave);
	EVP_PKEY *key = encl_sign_key();
	if (!key || sgx_sign_sigstruct(key, ss)) {
		fprintf(stderr, "test_encl loader: signing the SIGSTRUCT failed\n");
		return false;
	}
	return true;
}

/* 2 * size of PROT_NONE, trimmed to a naturally aligned [base, base + size). */
static bool encl_map_area(struct encl *encl)
{
	size_t size = encl->encl_size;
	uint8_t *area = emu_mmap(encl->proc, NULL, size * 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		fail("reserving the enclave area");
		return false;
	}
	uint8_t *base = (uint8_t *)(((uintptr_t)area + size - 1) & ~(uintptr_t)(size - 1));
	if (base > area)
		emu_munmap(encl->proc, area, (size_t)(base - area));
	if (area + 2 * size > base + size)
		emu_munmap(encl->proc, base + size, (size_t)(area + 2 * size - (base + size)));
	encl->encl_base = (uint64_t)(uintptr_t)base;
	return true;
}

bool encl_build(struct encl *encl)
{
	if (!encl_map_area(encl))
		return false;
	encl->secs = aligned_alloc(4096, sizeof(*encl->secs));
	if (!encl->secs)
		return false;
	memset(encl->secs, 0, sizeof(*encl->secs));
	encl->secs->ssa_frame_size = 1;
	encl->secs->attributes.flags = SGX_ATTR_MODE64BIT;
	encl->secs->attributes.xfrm = 3;
	encl->secs->base = encl->encl_base;
	encl->secs->size = encl->encl_size;
	struct sgx_enclave_create create = { .src = (uint64_t)(uintptr_t)encl->secs };
	if (emu_ioctl(encl->proc, encl->fd, SGX_IOC_ENCLAVE_CREATE, &create)) {
		fail("SGX_IOC_ENCLAVE_CREATE");
		emu_munmap(encl->proc, (void *)(uintptr_t)encl->encl_base, encl->encl_size);
		return false;
	}
	for (unsigned i = 0; i < encl->nr_segments; i++) {
		const struct encl_segment *seg = &encl->segment_tbl[i];
		struct sgx_secinfo secinfo __attribute__((aligned(64)));
		memset(&secinfo, 0, sizeof(secinfo));
		secinfo.flags = seg->flags;
		struct sgx_enclave_add_pages add = {
			.src = (uint64_t)(uintptr_t)seg->src,
			.offset = (uint64_t)seg->offset,
			.length = seg->size,
			.secinfo = (uint64_t)(uintptr_t)&secinfo,
			.flags = seg->measure ? SGX_PAGE_MEASURE : 0,
		};
		if (emu_ioctl(encl->proc, encl->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add)) {
			fprintf(stderr, "test_encl loader: SGX_IOC_ENCLAVE_ADD_PAGES of segment %u: %s (count %#llx)\n",
				i, strerror(errno), (unsigned long long)add.count);
			return false;
		}
	}
	struct sgx_enclave_init init = { .sigstruct = (uint64_t)(uintptr_t)&encl->sigstruct };
	if (emu_ioctl(encl->proc, encl->fd, SGX_IOC_ENCLAVE_INIT, &init)) {
		fail("SGX_IOC_ENCLAVE_INIT");
		return false;
	}
	return true;
}

void encl_delete(struct encl *encl)
{
	if (encl->encl_base)
		emu_munmap(encl->proc, (void *)(uintptr_t)encl->encl_base, encl->encl_size);
	if (encl->fd > 0)
		emu_close(encl->proc, encl->fd);
	if (encl->heap)
		emu_munmap(encl->proc, encl->heap, encl->heap_size);
	free(encl->segment_tbl);
	free(encl->secs);
	memset(encl, 0, sizeof(*encl));
}

uint64_t encl_get_entry(struct encl *encl, const char *symbol)
{
	for (unsigned i = 0; i < encl->image->nr_syms; i++)
		if (!strcmp(encl->image->syms[i].name, symbol))
			return encl->image->syms[i].value;
	return 0;
}

uint64_t encl_get_tcs_offset(const struct encl *encl)
{
	if (encl->nr_segments && encl->segment_tbl[0].prot == (PROT_READ | PROT_WRITE))
		return (uint64_t)encl->segment_tbl[0].offset;
	return UINT64_MAX;
}

uint64_t encl_get_data_offset(const struct encl *encl)
{
	for (unsigned i = 1; i < encl->nr_segments; i++)
		if (encl->segment_tbl[i].prot == (PROT_READ | PROT_WRITE))
			return (uint64_t)encl->segment_tbl[i].offset;
	return UINT64_MAX;
}

static void dump_segments(const struct encl *encl)
{
	for (unsigned i = 0; i < encl->nr_segments; i++) {
		const struct encl_segment *seg = &encl->segment_tbl[i];
		fprintf(stderr, "  segment %u: offset %#llx size %#zx prot %c%c%c flags %#llx%s\n", i,
			(unsigned long long)seg->offset, seg->size, seg->prot & PROT_READ ? 'r' : '-',
			seg->prot & PROT_WRITE ? 'w' : '-', seg->prot & PROT_EXEC ? 'x' : '-',
			(unsigned long long)seg->flags, seg->measure ? "" : " (unmeasured)");
	}
}

bool setup_test_encl_image(struct emu_proc *proc, const struct test_encl_image *img, size_t heap_size,
			   struct encl *encl)
{
	if (!encl_load_image(proc, img, encl, heap_size))
		return false;
	if (!encl_measure(encl) || !encl_build(encl))
		goto err;
	for (unsigned i = 0; i < encl->nr_segments; i++) {
		const struct encl_segment *seg = &encl->segment_tbl[i];
		void *want = (void *)(uintptr_t)(encl->encl_base + (uint64_t)seg->offset);
		void *got = emu_mmap(proc, want, seg->size, seg->prot, MAP_SHARED | MAP_FIXED, encl->fd, 0);
		if (got != want) {
			fprintf(stderr, "test_encl loader: mmap of segment %u: %s\n", i, strerror(errno));
			goto err;
		}
	}
	for (unsigned i = 0; i < encl->image->nr_syms; i++) {
		const struct test_encl_sym *sym = &encl->image->syms[i];
		if (sym->fn && emu_register_entry(proc, encl->encl_base + sym->value, sym->fn)) {
			fail("emu_register_entry");
			goto err;
		}
	}
	return true;
err:
	fprintf(stderr, "test_encl loader: enclave at %#llx, size %#zx:\n", (unsigned long long)encl->encl_base,
		encl->encl_size);
	dump_segments(encl);
	encl_delete(encl);
	return false;
}

bool setup_test_encl(struct emu_proc *proc, size_t heap_size, struct encl *encl)
{
	return setup_test_encl_image(proc, test_encl_image(), heap_size, encl);
}
