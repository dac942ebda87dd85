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
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"

#define PAGE 4096ull
#ifndef PROT_SEM
#define PROT_SEM 0x8   /* <asm-generic/mman-common.h>'s; glibc does not define it */
#endif

struct range {
	uint64_t start, end;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;
static size_t cap;
static _Atomic size_t nr;          /* read without the lock to skip it when 0 */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void fork_done(void)
{
	pthread_mutex_unlock(&lock);
}

static void register_atfork(void)
{
	pthread_atfork(fork_prepare, fork_done, fork_done);
}

/* Takes [start, end) out of the list (lock held); splitting a range may need
 * one more entry: -1 (ENOMEM) if it cannot get one. */
static int ranges_remove(uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < nr; i++) {
		struct range *r = &ranges[i];
		if (r->end <= start || r->start >= end)
			continue;
		if (r->start < start && r->end > end) {   /* split in two */
			if (nr == cap) {
				size_t c = cap ? 2 * cap : 16;
				struct range *n = realloc(ranges, c * sizeof(*n));
				if (!n)
					return -1;
				ranges = n;
				cap = c;
				r = &ranges[i];
			}
			memmove(&ranges[i + 2], &ranges[i + 1], (nr - i - 1) * sizeof(*r));
			ranges[i + 1] = (struct range){ end, r->end };
			r->end = start;
			nr++;
			return 0;
		}
		if (r->start < start) {
			r->end = start;
		} else if (r->end > end) {
			r->start = end;
		} else {   /* wholly inside: gone */
			memmove(r, r + 1, (nr - i - 1) * sizeof(*r));
			nr--;
			i--;
		}
	}
	return 0;
}

/* Adds [start, end) (lock held), keeping the list sorted and disjoint. */
static int ranges_add(uint64_t start, uint64_t end)
{
	if (ranges_remove(start, end))
		return -1;
	if (nr == cap) {
		size_t c = cap ? 2 * cap : 16;
		struct range *n = realloc(ranges, c * sizeof(*n));
		if (!n)
			return -1;
		ranges = n;
		cap = c;
	}
	size_t i = 0;
	while (i < nr && ranges[i].start < start)
		i++;
	memmove(&ranges[i + 1], &ranges[i], (nr - i) * sizeof(*ranges));
	ranges[i] = (struct range){ start, end };
	nr++;
	return 0;
}

/* From at (< end): where the current piece ends, and whether it is enclave
 * memory (lock held). */
static uint64_t piece(uint64_t at, uint64_t end, bool *encl)
{
	for (size_t i = 0; i < nr; i++) {
		if (ranges[i].end <= at)
			continue;
		if (ranges[i].start <= at) {
			*encl = true;
			return ranges[i].end < end ? ranges[i].end : end;
		}
		*encl = false;
		return ranges[i].start < end ? ranges[i].start : end;
	}
	*encl = false;
	return end;
}

bool preload_range_overlaps(uint64_t start, uint64_t end)
{
	if (!nr)
		return false;
	pthread_mutex_lock(&lock);
	bool hit = false;
	for (size_t i = 0; i < nr && !hit; i++)
		hit = ranges[i].start < end && ranges[i].end > start;
	pthread_mutex_unlock(&lock);
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

/* The enclave pieces of [start, end) leave the model (lock held): a
 * MAP_FIXED mapping of something else replaces them. */
static int unmap_enclave_parts(uint64_t start, uint64_t end)
{
	for (uint64_t at = start; at < end;) {
		bool encl;
		uint64_t to = piece(at, end, &encl);
		if (encl && emu_munmap(preload.proc, (void *)(uintptr_t)at, to - at))
			return -1;
		at = to;
	}
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
		pthread_once(&atfork_once, register_atfork);
		pthread_mutex_lock(&lock);
		void *p = emu_mmap(preload.proc, addr, len, prot, flags, efd, off);
		int err = errno;
		if (p != MAP_FAILED && span(p, len, &start, &end) && ranges_add(start, end)) {
			emu_munmap(preload.proc, p, len);   /* cannot track it: do not keep it */
			p = MAP_FAILED;
			err = ENOMEM;
		}
		pthread_mutex_unlock(&lock);
		if (p == MAP_FAILED)
			preload_log("mmap(%p, %#zx, %#x, %#x, %d, %#llx) = -1 %s", addr, len, (unsigned)prot,
				    (unsigned)flags, fd, (unsigned long long)off, preload_errname(err));
		else
			preload_log("mmap(%p, %#zx, %#x, %#x, %d, %#llx) = %p", addr, len, (unsigned)prot,
				    (unsigned)flags, fd, (unsigned long long)off, p);
		errno = err;
		return p;
	}
	if (!(flags & MAP_FIXED) || !nr || preload.forked || !span(addr, len, &start, &end) ||
	    !preload_range_overlaps(start, end))
		return real(addr, len, prot, flags, fd, off);
	pthread_mutex_lock(&lock);
	void *p = MAP_FAILED;
	if (!unmap_enclave_parts(start, end))
		p = real(addr, len, prot, flags, fd, off);
	int err = errno;
	pthread_mutex_unlock(&lock);
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
	if (!nr || preload.forked || !span(addr, len, &start, &end) || !preload_range_overlaps(start, end))
		return REAL(munmap)(addr, len);
	if (start & (PAGE - 1)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&lock);
	int r = 0;
	for (uint64_t at = start; at < end && !r;) {
		bool encl;
		uint64_t to = piece(at, end, &encl);
		void *a = (void *)(uintptr_t)at;
		r = encl ? emu_munmap(preload.proc, a, to - at) : REAL(munmap)(a, to - at);
		at = to;
	}
	int err = errno;
	if (!r && ranges_remove(start, end)) {
		r = -1;
		err = ENOMEM;
	}
	pthread_mutex_unlock(&lock);
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
	if (!nr || preload.forked || !span(addr, len, &start, &end) || !preload_range_overlaps(start, end))
		return REAL(mprotect)(addr, len, prot);
	if ((start & (PAGE - 1)) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) ||
	    (prot & (PROT_GROWSDOWN | PROT_GROWSUP))) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&lock);
	int r = 0;
	for (uint64_t at = start; at < end && !r;) {
		bool encl;
		uint64_t to = piece(at, end, &encl);
		void *a = (void *)(uintptr_t)at;
		r = encl ? emu_mprotect(preload.proc, a, to - at, prot) : REAL(mprotect)(a, to - at, prot);
		at = to;
	}
	int err = errno;
	pthread_mutex_unlock(&lock);
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
	if (!nr || preload.forked || !span(old, old_len ? old_len : 1, &start, &end) ||
	    !preload_range_overlaps(start, end))
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
