/*
 * The host MMU as the TLB of the LPs in enclave mode.
 *
 * Invariant: a page of an ELRANGE is accessible in the host only while some
 * thread of this process is in enclave mode in that enclave, and then with at
 * most the rights hw_lp_rights grants there (the model's PTE ∩ EPCM), backed
 * by the EPC frame the model's page table maps it to (the memfd at frame *
 * 4 KiB).  Every other ELRANGE page is PROT_NONE: the anonymous reservation
 * emu_mmap made for the enclave VMA.
 *
 * Like a TLB, a mapping is made on demand (native_map, from the fault of the
 * first access) and taken away when what it was made from changes: a PTE
 * (page-table notifier), the page's EPCM entry (leaf observer), or the mode
 * (the last thread leaves enclave mode).  Unlike a TLB, nothing is stale:
 * a restriction takes effect at once, where hardware may keep a stale entry
 * until ETRACK's shootdown (docs/native.md).
 *
 * Decision: x86 page tables cannot express execute-only or write-only, so a
 * page with EPCM/PTE X but not R is readable in the host, and W implies R.
 * EPCM never holds W without R (EADD/EAUG/EMODPE refuse it); X without R is
 * the one visible difference, listed in docs/native.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "native.h"

static int host_prot(unsigned rights)
{
	return (rights & HW_PROT_R ? PROT_READ : 0) | (rights & HW_PROT_W ? PROT_WRITE | PROT_READ : 0) |
	       (rights & HW_PROT_X ? PROT_EXEC : 0);
}

static uint64_t page_index(const struct native_encl *e, uint64_t la)
{
	return (la - e->base) >> 12;
}

static bool is_mapped(const struct native_encl *e, uint64_t i)
{
	return e->mapped[i / 8] & (1u << (i % 8));
}

struct native_encl *native_encl_at(struct emu_native *n, uint64_t la)
{
	for (struct native_encl *e = n->encls; e; e = e->next)
		if (la >= e->base && la - e->base < e->size)
			return e;
	return NULL;
}

/*
 * The record of the enclave lp is in (by its ELRANGE; made on first use,
 * its bitmap an anonymous mapping so a huge ELRANGE costs only what it
 * touches).  NULL when out of memory.
 */
static void revoke_all_locked(struct emu_native *n, struct native_encl *e);

/* n->lock held: unlink e, take its mappings away, free it. */
static void encl_free_locked(struct emu_native *n, struct native_encl *e)
{
	for (struct native_encl **pp = &n->encls; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	revoke_all_locked(n, e);
	munmap(e->mapped, (e->size >> 15) + 1);
	free(e->list);
	free(e);
}

/*
 * The record of the enclave lp is in (by its ELRANGE; made on first use,
 * its bitmap an anonymous mapping so a huge ELRANGE costs only what it
 * touches).  NULL when out of memory.
 */
struct native_encl *native_encl_of(struct emu_native *n, struct hw_lp *lp)
{
	uint32_t secs_frame = hw_lp_secs_frame(lp);
	const struct sgx_secs *secs = (const struct sgx_secs *)hw_epc_page(n->m, secs_frame);
	pthread_mutex_lock(&n->lock);
	struct native_encl *e = native_encl_at(n, secs->base);
	if (e && (e->base != secs->base || e->size != secs->size) && !e->inside) {
		/* an enclave of another shape where an old one was: that one is gone */
		encl_free_locked(n, e);
		e = NULL;
	}
	if (!e && (e = calloc(1, sizeof(*e)))) {
		size_t bitmap = (secs->size >> 15) + 1;
		e->mapped = mmap(NULL, bitmap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		if (e->mapped == MAP_FAILED) {
			free(e);
			e = NULL;
		} else {
			e->base = secs->base;
			e->size = secs->size;
			e->next = n->encls;
			n->encls = e;
		}
	}
	if (e)
		e->secs_frame = secs_frame;
	pthread_mutex_unlock(&n->lock);
	return e;
}

static _Noreturn void host_mmu_failed(const char *what, uint64_t la)
{
	fprintf(stderr, "sgx2emu: native mode cannot %s the enclave page at 0x%llx: %s "
		"(vm.max_map_count?); stopping rather than running with a wrong view of the EPC\n",
		what, (unsigned long long)la, strerror(errno));
	abort();
}

/* n->lock held.  The page goes back to the reservation's PROT_NONE. */
static void revoke_run(struct emu_native *n, uint64_t la, uint64_t pages)
{
	void *p = mmap((void *)(uintptr_t)la, pages << 12, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		host_mmu_failed("take away", la);
	atomic_fetch_add_explicit(&n->st.pages_revoked, pages, memory_order_relaxed);
}

/*
 * The generation moves on every call, mapped page or not: a fill that asked
 * the model before this change must ask again, even if it has not mapped
 * the page yet (it would map the rights from before the change).
 */
static void revoke_page_locked(struct emu_native *n, uint64_t la)
{
	la &= SGX_PAGE_MASK;
	atomic_fetch_add(&n->gen, 1);
	struct native_encl *e = native_encl_at(n, la);
	if (!e || !e->mapped)
		return;
	uint64_t i = page_index(e, la);
	if (!is_mapped(e, i))
		return;
	revoke_run(n, la, 1);
	e->mapped[i / 8] &= (uint8_t)~(1u << (i % 8));
}

void native_revoke_page(struct emu_native *n, uint64_t la)
{
	pthread_mutex_lock(&n->lock);
	revoke_page_locked(n, la);
	pthread_mutex_unlock(&n->lock);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* n->lock held.  Every host-mapped page of e, in maximal runs. */
static void revoke_all_locked(struct emu_native *n, struct native_encl *e)
{
	if (!e->nr)
		return;
	atomic_fetch_add(&n->gen, 1);
	qsort(e->list, e->nr, sizeof(e->list[0]), cmp_u64);
	uint64_t run_start = 0, run_pages = 0;
	for (size_t k = 0; k < e->nr; k++) {
		uint64_t la = e->list[k];
		uint64_t i = page_index(e, la);
		if (!is_mapped(e, i))
			continue;   /* revoked on its own since */
		e->mapped[i / 8] &= (uint8_t)~(1u << (i % 8));
		if (run_pages && la == run_start + (run_pages << 12)) {
			run_pages++;
			continue;
		}
		if (run_pages)
			revoke_run(n, run_start, run_pages);
		run_start = la;
		run_pages = 1;
	}
	if (run_pages)
		revoke_run(n, run_start, run_pages);
	e->nr = 0;
}


/*
 * A TLB fill: map the page of la with the rights the model grants lp now.
 * Asks the model first (machine lock), maps second (n->lock); if anything
 * was revoked in between, asks again.  false when the model grants nothing
 * or the page is not in an enclave this thread is in.
 */
bool native_map(struct emu_native *n, struct hw_lp *lp, uint64_t la)
{
	la &= SGX_PAGE_MASK;
	for (;;) {
		uint64_t gen = atomic_load(&n->gen);
		uint32_t frame;
		unsigned rights = hw_lp_rights(lp, la, &frame);
		if (!rights || frame == HW_NO_FRAME)
			return false;
		pthread_mutex_lock(&n->lock);
		if (gen != atomic_load(&n->gen)) {
			pthread_mutex_unlock(&n->lock);
			continue;
		}
		struct native_encl *e = native_encl_at(n, la);
		if (!e || !e->inside) {
			pthread_mutex_unlock(&n->lock);
			return false;
		}
		uint64_t i = page_index(e, la);
		void *p = mmap((void *)(uintptr_t)la, SGX_PAGE_SIZE, host_prot(rights), MAP_SHARED | MAP_FIXED,
			       n->epc_fd, (off_t)frame << 12);
		if (p == MAP_FAILED)
			host_mmu_failed("map", la);
		if (!is_mapped(e, i)) {
			if (e->nr == e->cap) {
				size_t cap = e->cap ? 2 * e->cap : 64;
				uint64_t *l = realloc(e->list, cap * sizeof(*l));
				if (!l)
					host_mmu_failed("track", la);
				e->list = l;
				e->cap = cap;
			}
			e->list[e->nr++] = la;
			e->mapped[i / 8] |= (uint8_t)(1u << (i % 8));
		}
		NATIVE_COUNT(n, pages_mapped);
		pthread_mutex_unlock(&n->lock);
		return true;
	}
}

void native_enter(struct emu_native *n, struct native_encl *e)
{
	pthread_mutex_lock(&n->lock);
	e->inside++;
	pthread_mutex_unlock(&n->lock);
}

/* The last thread out takes every mapping with it: outside enclave mode no
 * access to EPC.  Other threads still inside keep them (the host MMU is
 * per process, not per thread: docs/native.md). */
void native_leave(struct emu_native *n, struct native_encl *e)
{
	pthread_mutex_lock(&n->lock);
	if (e->inside && !--e->inside)
		revoke_all_locked(n, e);
	pthread_mutex_unlock(&n->lock);
}

void native_mmu_destroy(struct emu_native *n)
{
	pthread_mutex_lock(&n->lock);
	while (n->encls)
		encl_free_locked(n, n->encls);
	pthread_mutex_unlock(&n->lock);
}
