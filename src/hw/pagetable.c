/*
 * Page tables the model's LPs walk: a 4-level radix tree of 512-entry tables
 * with x86 PTE bits, so memory grows with mapped pages, not with the address
 * range (a 1 TiB ELRANGE costs nothing until pages are mapped).  Entries are
 * atomics: the OS side writes them while LPs on other threads walk them.
 * Intermediate tables are freed only with the whole tree.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

#define PTE_P   0x1ull
#define PTE_RW  0x2ull
#define PTE_US  0x4ull
#define PTE_A   0x20ull
#define PTE_NX  (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

struct pt_table {
	_Atomic uint64_t e[512];
};

struct hw_pagetable {
	struct pt_table *root;
	atomic_size_t tables;
	_Atomic(hw_pt_notify_fn) notify;
	void *notify_ctx;
};

/* Setting: the context before the function.  Removing clears only the
 * function, so a concurrent change that already loaded it still finds its
 * context (the caller keeps that alive until no change can be running). */
void hw_pt_set_notifier(struct hw_pagetable *pt, hw_pt_notify_fn fn, void *ctx)
{
	if (fn)
		pt->notify_ctx = ctx;
	atomic_store(&pt->notify, fn);
}

static void pt_notify(struct hw_pagetable *pt, uint64_t la)
{
	hw_pt_notify_fn fn = atomic_load_explicit(&pt->notify, memory_order_acquire);
	if (fn)
		fn(pt->notify_ctx, la);
}

/* Tables are page-aligned: a table's address lives in a PTE's address bits. */
static struct pt_table *table_new(void)
{
	struct pt_table *t = aligned_alloc(SGX_PAGE_SIZE, sizeof(*t));
	if (t)
		memset(t, 0, sizeof(*t));
	return t;
}

static unsigned level_index(uint64_t la, int level)
{
	return (unsigned)((la >> (12 + 9 * level)) & 511);
}

struct hw_pagetable *hw_pt_create(void)
{
	struct hw_pagetable *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	pt->root = table_new();
	if (!pt->root) {
		free(pt);
		return NULL;
	}
	atomic_store(&pt->tables, 1);
	return pt;
}

static void free_table(struct pt_table *t, int level)
{
	if (level > 0)
		for (int i = 0; i < 512; i++) {
			uint64_t v = atomic_load(&t->e[i]);
			if (v & PTE_P)
				free_table((struct pt_table *)(uintptr_t)(v & PTE_ADDR), level - 1);
		}
	free(t);
}

void hw_pt_destroy(struct hw_pagetable *pt)
{
	if (!pt)
		return;
	free_table(pt->root, 3);
	free(pt);
}

/* Returns the leaf entry for la, allocating tables on the way if asked. */
static _Atomic uint64_t *pt_slot(const struct hw_pagetable *pt, uint64_t la, bool create)
{
	struct pt_table *t = pt->root;
	for (int level = 3; level > 0; level--) {
		_Atomic uint64_t *e = &t->e[level_index(la, level)];
		uint64_t v = atomic_load_explicit(e, memory_order_acquire);
		if (!(v & PTE_P)) {
			if (!create)
				return NULL;
			struct pt_table *n = table_new();
			if (!n)
				return NULL;
			uint64_t nv = (uint64_t)(uintptr_t)n | PTE_P | PTE_RW | PTE_US;
			if (atomic_compare_exchange_strong(e, &v, nv)) {
				atomic_fetch_add((atomic_size_t *)&pt->tables, 1);
				v = nv;
			} else {
				free(n);
			}
		}
		t = (struct pt_table *)(uintptr_t)(v & PTE_ADDR);
	}
	return &t->e[level_index(la, 0)];
}

static uint64_t make_pte(void *host_page, unsigned prot)
{
	uint64_t v = ((uint64_t)(uintptr_t)host_page & PTE_ADDR) | PTE_US;
	if (prot & (HW_PROT_R | HW_PROT_W | HW_PROT_X))
		v |= PTE_P;
	if (prot & HW_PROT_W)
		v |= PTE_RW;
	if (!(prot & HW_PROT_X))
		v |= PTE_NX;
	return v;
}

/* Maps la to host_page.  prot 0 leaves the entry not present (PROT_NONE).
 * Returns 0, -EINVAL (unaligned or non-canonical), -ENOMEM. */
int hw_pt_map(struct hw_pagetable *pt, uint64_t la, void *host_page, unsigned prot)
{
	if ((la & ~SGX_PAGE_MASK) || ((uintptr_t)host_page & ~SGX_PAGE_MASK) || la >= (1ull << 47))
		return -EINVAL;
	_Atomic uint64_t *slot = pt_slot(pt, la, true);
	if (!slot)
		return -ENOMEM;
	atomic_store_explicit(slot, make_pte(host_page, prot), memory_order_release);
	pt_notify(pt, la);
	return 0;
}

int hw_pt_protect(struct hw_pagetable *pt, uint64_t la, unsigned prot)
{
	_Atomic uint64_t *slot = la < (1ull << 47) ? pt_slot(pt, la, false) : NULL;
	if (!slot)
		return -ENOENT;
	uint64_t v = atomic_load(slot);
	if (!(v & PTE_ADDR))
		return -ENOENT;
	/* change_protection keeps the accessed bit (pte_modify) */
	uint64_t nv = make_pte((void *)(uintptr_t)(v & PTE_ADDR), prot);
	if ((v & PTE_A) && (nv & PTE_P))
		nv |= PTE_A;
	atomic_store_explicit(slot, nv, memory_order_release);
	pt_notify(pt, la);
	return 0;
}

void hw_pt_unmap(struct hw_pagetable *pt, uint64_t la)
{
	_Atomic uint64_t *slot = la < (1ull << 47) ? pt_slot(pt, la, false) : NULL;
	if (slot) {
		atomic_store_explicit(slot, 0, memory_order_release);
		pt_notify(pt, la);
	}
}

bool hw_pt_lookup(const struct hw_pagetable *pt, uint64_t la, void **host_page, unsigned *prot)
{
	_Atomic uint64_t *slot = la < (1ull << 47) ? pt_slot(pt, la, false) : NULL;
	uint64_t v = slot ? atomic_load_explicit(slot, memory_order_acquire) : 0;
	if (!(v & PTE_P))
		return false;
	if (host_page)
		*host_page = (void *)(uintptr_t)(v & PTE_ADDR);
	if (prot)
		*prot = HW_PROT_R | ((v & PTE_RW) ? HW_PROT_W : 0) | ((v & PTE_NX) ? 0 : HW_PROT_X);
	return true;
}

/* The walk of an LP that translated la (a TLB fill, an ENCLU operand) sets the entry's
 * accessed bit, as x86 does when it uses an entry for a translation; TLB hits
 * do not walk, so they leave it alone.  Written only when clear, so hot pages
 * do not keep dirtying the cache line. */
void pt_mark_accessed(struct hw_pagetable *pt, uint64_t la)
{
	_Atomic uint64_t *slot = la < (1ull << 47) ? pt_slot(pt, la & SGX_PAGE_MASK, false) : NULL;
	if (!slot)
		return;
	uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
	if ((v & PTE_P) && !(v & PTE_A))
		atomic_fetch_or_explicit(slot, PTE_A, memory_order_relaxed);
}

bool hw_pt_test_and_clear_young(struct hw_pagetable *pt, uint64_t la)
{
	_Atomic uint64_t *slot = la < (1ull << 47) ? pt_slot(pt, la & SGX_PAGE_MASK, false) : NULL;
	if (!slot || !(atomic_load_explicit(slot, memory_order_relaxed) & PTE_A))
		return false;
	uint64_t old = atomic_fetch_and_explicit(slot, ~PTE_A, memory_order_relaxed);
	bool young = (old & (PTE_P | PTE_A)) == (PTE_P | PTE_A);
	if (young)
		pt_notify(pt, la & SGX_PAGE_MASK);   /* a host mapping must fault again to set A */
	return young;
}

bool hw_pt_young(const struct hw_pagetable *pt, uint64_t la)
{
	_Atomic uint64_t *slot = la < (1ull << 47) ? pt_slot(pt, la & SGX_PAGE_MASK, false) : NULL;
	uint64_t v = slot ? atomic_load_explicit(slot, memory_order_relaxed) : 0;
	return (v & (PTE_P | PTE_A)) == (PTE_P | PTE_A);
}

/* Skips absent tables: walking a sparse 1 TiB range costs its mapped pages. */
bool hw_pt_next(const struct hw_pagetable *pt, uint64_t *la, uint64_t end)
{
	uint64_t a = *la & SGX_PAGE_MASK;
	uint64_t lim = end < (1ull << 47) ? end : (1ull << 47);

	while (a < lim) {
		struct pt_table *t = pt->root;
		int level;
		for (level = 3; level > 0; level--) {
			uint64_t v = atomic_load_explicit(&t->e[level_index(a, level)], memory_order_acquire);
			if (!(v & PTE_P))
				break;
			t = (struct pt_table *)(uintptr_t)(v & PTE_ADDR);
		}
		if (level > 0) {
			uint64_t span = 1ull << (12 + 9 * level);
			a = (a & ~(span - 1)) + span;
			continue;
		}
		for (unsigned i = level_index(a, 0); i < 512 && a < lim; i++, a += SGX_PAGE_SIZE)
			if (atomic_load_explicit(&t->e[i], memory_order_acquire) & PTE_ADDR) {
				*la = a;
				return true;
			}
	}
	return false;
}

size_t hw_pt_bytes(const struct hw_pagetable *pt)
{
	return atomic_load((atomic_size_t *)&pt->tables) * sizeof(struct pt_table) + sizeof(*pt);
}
