/*
 * Enclave memory: mmap of an SGX fd is emu_mmap (the model reserves the host
 * range itself, PROT_NONE, at the address it chooses or the one MAP_FIXED
 * gives, and the native layer maps EPC into it while enclave code runs);
 * munmap and mprotect of a range that overlaps enclave mappings are
 * emu_munmap / emu_mprotect for those parts and libc's for the rest, piece
 * by piece in address order, stopping at the first error as Linux does VMA by
 * VMA.  A MAP_FIXED mapping of anything else over an enclave mapping first
 * unmaps that part in the model (Linux replaces the VMA).
 *
 * Which host ranges are enclave mappings: a sorted list of [start, end) kept
 * here, in step with the model's SGX VMAs (only these calls create or
 * remove them).  mremap of enclave memory: growing it is EFAULT (Linux's
 * answer for a VM_PFNMAP mapping), shrinking it in place unmaps the tail;
 * moving it is not emulated (the model has no mremap): EINVAL and a message.
 * madvise and raw system calls are not interposed (docs/preload.md).  The list's lock is held across the model call, so a
 * range and its model state change together.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"
#include "table.h"

#define PAGE 4096ull
#ifndef PROT_SEM
#define PROT_SEM 0x8   /* <asm-generic/mman-common.h>'s; glibc does not define it */
#endif

struct range {
	uint64_t start, end;
};

static struct preload_table table = PRELOAD_TABLE_INIT(struct range, 16);

/* Range i of the list (lock held). */
static struct range *range(size_t i)
{
	return (struct range *)table.items + i;
}

/* Takes [start, end) out of the list (lock held); splitting a range may need
 * one more entry: -1 (ENOMEM) if it cannot get one. */
static int ranges_remove(uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < table.nr; i++) {
		struct range *r = range(i);
		if (r->end <= start || r->start >= end)
			continue;
		if (r->start < start && r->end > end) {   /* split in two */
			if (preload_table_reserve(&table))
				return -1;
			r = range(i);
			memmove(range(i + 2), range(i + 1), (table.nr - i - 1) * sizeof(*r));
			*range(i + 1) = (struct range){ end, r->end };
			r->end = start;
			table.nr++;
			return 0;
		}
		if (r->start < start) {
			r->end = start;
		} else if (r->end > end) {
			r->start = end;
		} else {   /* wholly inside: gone */
			memmove(r, r + 1, (table.nr - i - 1) * sizeof(*r));
			table.nr--;
			i--;
		}
	}
	return 0;
}

/* Adds [start, end) (lock held), keeping the list sorted and disjoint. */
static int ranges_add(uint64_t start, uint64_t end)
{
	if (ranges_remove(start, end) || preload_table_reserve(&table))
		return -1;
	size_t i = 0;
	while (i < table.nr && range(i)->start < start)
		i++;
	memmove(range(i + 1), range(i), (table.nr - i) * sizeof(struct range));
	*range(i) = (struct range){ start, end };
	table.nr++;
	return 0;
}

/* From at (< end): where the current piece ends, and whether it is enclave
 * memory (lock held). */
static uint64_t piece(uint64_t at, uint64_t end, bool *encl)
{
	for (size_t i = 0; i < table.nr; i++) {
		const struct range *r = range(i);
		if (r->end <= at)
			continue;
		if (r->start <= at) {
			*encl = true;
			return r->end < end ? r->end : end;
		}
		*encl = false;
		return r->start < end ? r->start : end;
	}
	*encl = false;
	return end;
}

bool preload_range_overlaps(uint64_t start, uint64_t end)
{
	if (preload_table_empty(&table))
		return false;
	preload_table_lock(&table);
	bool hit = false;
	for (size_t i = 0; i < table.nr && !hit; i++)
		hit = range(i)->start < end && range(i)->end > start;
	preload_table_unlock(&table);
	return hit;
}

/* [addr, addr + len rounded up to pages) or false when it wraps or is empty. */
static bool span(const void *addr, size_t len, uint64_t *start, uint64_t *end)
{
	*start = (uint64_t)(uintptr_t)addr;
	uint64_t size = (len + PAGE - 1) & ~(PAGE - 1);
	*end = *start + size;
	return size && *end > *start;
}

/* [addr, addr + len) as pages [*start, *end), and true when they overlap
 * enclave memory of this process's model (never in a fork child, whose
 * calls are all libc's). */
static bool over_enclave(const void *addr, size_t len, uint64_t *start, uint64_t *end)
{
	return !preload_table_empty(&table) && !preload.forked && span(addr, len, start, end) &&
	       preload_range_overlaps(*start, *end);
}

/* What a call does to one piece of its range: enclave memory or not. */
typedef int piece_fn(void *addr, size_t len, bool encl, int prot);

/* op on each piece of [start, end) in address order (lock held), stopping
 * at the first that fails, as Linux stops at the first VMA that fails:
 * 0, or that piece's result (errno is its). */
static int each_piece(uint64_t start, uint64_t end, piece_fn *op, int prot)
{
	int r = 0;
	for (uint64_t at = start; at < end && !r;) {
		bool encl;
		uint64_t to = piece(at, end, &encl);
		r = op((void *)(uintptr_t)at, to - at, encl, prot);
		at = to;
	}
	return r;
}

/* MAP_FIXED over enclave memory: the model unmaps its pieces, the new
 * mapping then replaces the rest. */
static int unmap_enclave_piece(void *addr, size_t len, bool encl, int prot)
{
	(void)prot;
	return encl ? emu_munmap(preload.proc, addr, len) : 0;
}

/* munmap's: the model's for enclave memory, libc's for the rest. */
static int unmap_piece(void *addr, size_t len, bool encl, int prot)
{
	(void)prot;
	return encl ? emu_munmap(preload.proc, addr, len) : REAL(munmap)(addr, len);
}

/* mprotect's: the same split. */
static int protect_piece(void *addr, size_t len, bool encl, int prot)
{
	return encl ? emu_mprotect(preload.proc, addr, len, prot) : REAL(mprotect)(addr, len, prot);
}

/* The enclave pieces of [start, end) leave the model (lock held): a
 * MAP_FIXED mapping of something else replaces them.  0, or -1 (errno). */
static int unmap_enclave_parts(uint64_t start, uint64_t end)
{
	if (each_piece(start, end, unmap_enclave_piece, 0))
		return -1;
	return ranges_remove(start, end);
}

static void *do_mmap(void *(*real)(void *, size_t, int, int, int, off_t), void *addr, size_t len, int prot,
		     int flags, int fd, off_t off)
{
	int efd = !(flags & MAP_ANONYMOUS) ? preload_fd_lookup(fd) : -1;
	uint64_t start, end;
	if (efd >= 0) {
		if (preload.forked) {
			preload_forked_fail(EBADF);
			return MAP_FAILED;
		}
		preload_table_lock(&table);
		void *p = emu_mmap(preload.proc, addr, len, prot, flags, efd, off);
		int err = errno;
		if (p != MAP_FAILED && span(p, len, &start, &end) && ranges_add(start, end)) {
			emu_munmap(preload.proc, p, len);   /* cannot track it: do not keep it */
			p = MAP_FAILED;
			err = ENOMEM;
		}
		preload_table_unlock(&table);
		if (p == MAP_FAILED)
			preload_log("mmap(%p, %#zx, %#x, %#x, %d, %#llx) = -1 %s", addr, len, (unsigned)prot,
				    (unsigned)flags, fd, (unsigned long long)off, preload_errname(err));
		else
			preload_log("mmap(%p, %#zx, %#x, %#x, %d, %#llx) = %p", addr, len, (unsigned)prot,
				    (unsigned)flags, fd, (unsigned long long)off, p);
		errno = err;
		return p;
	}
	if (!(flags & MAP_FIXED) || !over_enclave(addr, len, &start, &end))
		return real(addr, len, prot, flags, fd, off);
	preload_table_lock(&table);
	void *p = MAP_FAILED;
	if (!unmap_enclave_parts(start, end))
		p = real(addr, len, prot, flags, fd, off);
	int err = errno;
	preload_table_unlock(&table);
	preload_log("mmap(%p, %#zx, %#x, %#x, %d, %#llx) over enclave memory = %p", addr, len, (unsigned)prot,
		    (unsigned)flags, fd, (unsigned long long)off, p);
	errno = err;
	return p;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(REAL(mmap), addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(REAL(mmap64), addr, len, prot, flags, fd, off);
}

/* munmap over enclave memory: the model's for those pieces, libc's for the
 * others.  Linux's argument checks first (EINVAL), as it makes them. */
static int do_munmap(void *addr, size_t len)
{
	uint64_t start, end;
	if (!over_enclave(addr, len, &start, &end))
		return REAL(munmap)(addr, len);
	if (start & (PAGE - 1)) {
		errno = EINVAL;
		return -1;
	}
	preload_table_lock(&table);
	int r = each_piece(start, end, unmap_piece, 0);
	int err = errno;
	if (!r && ranges_remove(start, end)) {
		r = -1;
		err = ENOMEM;
	}
	preload_table_unlock(&table);
	if (r)
		preload_log("munmap(%p, %#zx) = -1 %s", addr, len, preload_errname(err));
	else
		preload_log("munmap(%p, %#zx) = 0", addr, len);
	errno = err;
	return r;
}

int munmap(void *addr, size_t len)
{
	return do_munmap(addr, len);
}

/* mprotect over enclave memory: piece by piece from addr; the checks Linux
 * makes before touching any VMA come first. */
int mprotect(void *addr, size_t len, int prot)
{
	uint64_t start, end;
	if (!over_enclave(addr, len, &start, &end))
		return REAL(mprotect)(addr, len, prot);
	if ((start & (PAGE - 1)) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) ||
	    (prot & (PROT_GROWSDOWN | PROT_GROWSUP))) {
		errno = EINVAL;
		return -1;
	}
	preload_table_lock(&table);
	int r = each_piece(start, end, protect_piece, prot);
	int err = errno;
	preload_table_unlock(&table);
	if (r)
		preload_log("mprotect(%p, %#zx, %#x) = -1 %s", addr, len, (unsigned)prot, preload_errname(err));
	else
		preload_log("mprotect(%p, %#zx, %#x) = 0", addr, len, (unsigned)prot);
	errno = err;
	return r;
}

/*
 * mremap over enclave memory (docs/preload.md): growing → EFAULT; a move
 * asked for (MREMAP_FIXED, MREMAP_DONTUNMAP) → EINVAL with a message;
 * otherwise the mapping stays where it is: same size → the same address,
 * smaller → the tail unmapped as munmap does.  Anything else is libc's.
 */
void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	uint64_t start, end;
	if (!over_enclave(old, old_len ? old_len : 1, &start, &end))
		return REAL(mremap)(old, old_len, new_len, flags, new_addr);
	void *r = MAP_FAILED;
	if (new_len > old_len) {
		errno = EFAULT;
	} else if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		preload_say("mremap moving enclave memory is not emulated (the model has no mremap): EINVAL");
		errno = EINVAL;
	} else {
		uint64_t keep = (new_len + PAGE - 1) & ~(PAGE - 1), was = (old_len + PAGE - 1) & ~(PAGE - 1);
		if (start & (PAGE - 1) || !new_len)
			errno = EINVAL;
		else if (keep == was || do_munmap((void *)(uintptr_t)(start + keep), was - keep) == 0)
			r = old;
	}
	preload_log("mremap(%p, %#zx, %#zx, %#x) over enclave memory = %p", old, old_len, new_len, (unsigned)flags, r);
	return r;
}
