/*
 * The reclaimer and the backing store (Linux main.c: ksgxd,
 * sgx_reclaim_pages, sgx_reclaim_direct; encl.c: sgx_encl_ewb,
 * __sgx_encl_eldu, sgx_encl_load_secs, sgx_encl_grow/shrink).
 * linux-driver.md §2 (VA pages), §5, §7 items 1, 2 and 5.
 *
 * One batch (reclaim_pages), in Linux's phases so that a single ETRACK
 * covers every page the batch blocked:
 *   select  epc_isolate: up to nr pages off the LRU head, each with an
 *           enclave reference, "being reclaimed" for epc_unmark_reclaimable;
 *   age     a page whose PTE was accessed in some mm of its enclave since the
 *           last scan (x86 accessed bit, cleared here) goes back to the tail;
 *   prepare under encl->lock: the backing entry, BEING_RECLAIMED (faults and
 *           loads now back off with NOPAGE / -EBUSY);
 *   block   PTEs zapped in every mm (encl->lock dropped: mm->lock comes
 *           first), then EBLOCK;
 *   write   under encl->lock: a VA slot from the first VA page, EWB; on
 *           SGX_NOT_TRACKED ETRACK and EWB again; still SGX_NOT_TRACKED: IPI
 *           every LP in the enclave's cpumask (an LP inside takes an AEX) and
 *           EWB a third time.  When the last resident child of an initialized
 *           enclave goes, its SECS is written back too (SECS last).
 *
 * Backing store: one struct drv_backing (contents + PCMD) per evicted page in
 * encl->backing, keyed by the page index (addr - base) >> 12, the SECS at
 * size >> 12, as Linux lays out its shmem file.  ELDU frees the entry (Linux
 * truncates the shmem page and, once empty, the PCMD page).  The model keeps
 * contents and PCMD together, so §7.5's races on a shared PCMD page cannot
 * arise; entries are allocated under encl->lock (§7.5: "obtain backing
 * storage with the enclave mutex held").
 *
 * Where ksgxd runs (decision): synchronously, on the thread that needs it,
 * so that a run is deterministic — from epc_alloc when the caller may reclaim
 * (CREATE, ADD_PAGES, VA pages), from reclaim_direct before each page of the
 * SGX2 ioctls, from ksgxd_run at points where the caller holds no lock (at
 * the start of every page fault, while a debug access waits for a busy page)
 * and from emu_reclaim_to_high_watermark.  A fault that found no free frame
 * returns NOPAGE (EBUSY); the retried access faults again, and the ksgxd_run
 * at the start of that fault frees frames first.  There is no background
 * thread.
 *
 * Decision: an EWB that still fails after the IPIs (Linux WARNs and loses the
 * page) leaves the page resident, blocked, on the LRU tail, where the next
 * scan retries it (EBLOCK then reports SGX_BLKSTATE, which is fine).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define VA_SLOTS 512
#define RECLAIM_CHUNK 64     /* pages per pass of reclaim_pages; nr is split into chunks */

static struct sgx_result encls(struct emu *emu, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	return hw_encls(emu_kernel_lp(emu), leaf, rbx, rcx, rdx);
}

static void count(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void warn(const char *what, struct sgx_result r)
{
	char why[96];
	hw_result_format(r, why, sizeof(why));
	fprintf(stderr, "sgx2emu: reclaimer: %s: %s\n", what, why);
}

/* ---- VA pages and slots ---- */

static bool va_unused(const struct drv_va_page *va)
{
	for (unsigned i = 0; i < VA_SLOTS / 64; i++)
		if (va->used[i])
			return false;
	return true;
}

static int va_find_free(const struct drv_va_page *va)
{
	for (unsigned i = 0; i < VA_SLOTS / 64; i++)
		if (~va->used[i])
			return (int)(i * 64 + (unsigned)__builtin_ctzll(~va->used[i]));
	return -1;
}

/*
 * sgx_alloc_va_slot on the first VA page with room (Linux keeps one with a
 * free slot at the head: eager VA accounting guarantees there is one).  A VA
 * page that becomes full goes to the tail.  encl->lock held.
 */
static struct drv_va_page *va_take_slot(struct drv_encl *encl, uint16_t *slot)
{
	for (struct drv_va_page **pp = &encl->va_pages; *pp; pp = &(*pp)->next) {
		struct drv_va_page *va = *pp;
		int s = va_find_free(va);
		if (s < 0)
			continue;
		va->used[s / 64] |= 1ull << (s % 64);
		*slot = (uint16_t)s;
		if (va_find_free(va) < 0 && va->next) {
			*pp = va->next;
			struct drv_va_page **tail = pp;
			while (*tail)
				tail = &(*tail)->next;
			*tail = va;
			va->next = NULL;
		}
		return va;
	}
	return NULL;
}

/* sgx_free_va_slot, and the VA page moves to the head (it has room). */
static void va_put_slot(struct drv_encl *encl, struct drv_va_page *va, uint16_t slot)
{
	va->used[slot / 64] &= ~(1ull << (slot % 64));
	for (struct drv_va_page **pp = &encl->va_pages; *pp; pp = &(*pp)->next)
		if (*pp == va) {
			*pp = va->next;
			va->next = encl->va_pages;
			encl->va_pages = va;
			break;
		}
}

static uint64_t va_slot_kaddr(struct emu *emu, const struct drv_va_page *va, uint16_t slot)
{
	return epc_kaddr(emu, va->epc_frame) + (uint64_t)slot * 8;
}

unsigned encl_va_slots_used(struct drv_encl *encl)
{
	unsigned n = 0;
	for (const struct drv_va_page *va = encl->va_pages; va; va = va->next)
		for (unsigned i = 0; i < VA_SLOTS / 64; i++)
			n += (unsigned)__builtin_popcountll(va->used[i]);
	return n;
}

/* sgx_alloc_va_page: a frame (reclaiming if allowed) turned into a VA page. */
static struct drv_va_page *alloc_va_page(struct drv_encl *encl, bool reclaim, int *err)
{
	struct emu *emu = encl->emu;
	struct drv_va_page *va = calloc(1, sizeof(*va));
	if (!va) {
		*err = -ENOMEM;
		return NULL;
	}
	va->epc_frame = epc_alloc(emu, va, reclaim, err);
	if (va->epc_frame == HW_NO_FRAME) {
		free(va);
		return NULL;
	}
	pthread_mutex_lock(&emu->epc_lock);
	emu->epc_pages[va->epc_frame].flags |= DRV_EPC_VA;
	pthread_mutex_unlock(&emu->epc_lock);
	struct sgx_result r = encls(emu, SGX_EPA, SGX_PT_VA, epc_kaddr(emu, va->epc_frame), 0);
	if (!sgx_ok(r)) {
		epc_free(emu, va->epc_frame);
		free(va);
		*err = -EFAULT;
		return NULL;
	}
	return va;
}

/*
 * sgx_encl_grow.  Eager: every 512th page (the SECS counts) brings a VA page,
 * so EWB always finds a slot.  reclaim = true runs without encl->lock, since
 * the allocation may reclaim pages of this enclave.
 */
int encl_grow(struct drv_encl *encl, bool reclaim)
{
	struct drv_va_page *va = NULL;
	int err = 0;

	if (reclaim) {
		pthread_mutex_lock(&encl->lock);
		bool need = encl->page_cnt % VA_SLOTS == 0;
		if (!need)
			encl->page_cnt++;
		pthread_mutex_unlock(&encl->lock);
		if (!need)
			return 0;
		va = alloc_va_page(encl, true, &err);
		if (!va)
			return err;
		pthread_mutex_lock(&encl->lock);
		va->next = encl->va_pages;
		encl->va_pages = va;
		encl->page_cnt++;
		pthread_mutex_unlock(&encl->lock);
		return 0;
	}
	if (encl->page_cnt % VA_SLOTS == 0) {
		va = alloc_va_page(encl, false, &err);
		if (!va)
			return err;
		va->next = encl->va_pages;
		encl->va_pages = va;
	}
	encl->page_cnt++;
	return 0;
}

/* sgx_encl_shrink(encl, NULL): VA pages are never given back while the
 * enclave lives (a documented inefficiency of Linux). */
void encl_shrink(struct drv_encl *encl)
{
	encl->page_cnt--;
}

void encl_ungrow(struct drv_encl *encl)
{
	struct emu *emu = encl->emu;
	struct drv_va_page *va = encl->va_pages;

	encl->page_cnt--;
	if (encl->page_cnt % VA_SLOTS || !va || !va_unused(va))
		return;
	struct sgx_result r = encls(emu, SGX_EREMOVE, 0, epc_kaddr(emu, va->epc_frame), 0);
	if (!sgx_ok(r)) {
		fprintf(stderr, "sgx2emu: EREMOVE of VA frame %u failed; the frame is leaked\n", va->epc_frame);
		return;
	}
	encl->va_pages = va->next;
	epc_free(emu, va->epc_frame);
	free(va);
}

/* ---- backing store ---- */

static uint64_t backing_index(const struct drv_encl *encl, const struct drv_page *page)
{
	return page == &encl->secs ? encl->size >> 12 : (page->addr - encl->base) >> 12;
}

/* sgx_encl_alloc_backing: the entry for page, new if needed.  encl->lock held. */
static struct drv_backing *backing_get(struct drv_encl *encl, const struct drv_page *page)
{
	uint64_t index = backing_index(encl, page);
	struct drv_backing *b = xa_load(&encl->backing, index);
	if (b)
		return b;
	void *mem = NULL;
	/* EWB wants a 4K-aligned SRCPGE and a 128-aligned PCMD */
	if (posix_memalign(&mem, SGX_PAGE_SIZE, sizeof(*b)))
		return NULL;
	b = mem;
	if (xa_store(&encl->backing, index, b)) {
		free(b);
		return NULL;
	}
	return b;
}

static void backing_drop(struct drv_encl *encl, const struct drv_page *page)
{
	free(xa_erase(&encl->backing, backing_index(encl, page)));
}

/* ---- EWB ---- */

/*
 * sgx_encl_ewb, encl->lock held, page blocked: EWB into b with a VA slot; on
 * SGX_NOT_TRACKED, ETRACK and retry; then IPIs (cpumask taken after the
 * ETRACK, so LPs entering later already see the new epoch) and a last try.
 * On success the page records its VA slot.
 */
static struct sgx_result ewb(struct drv_encl *encl, struct drv_page *page, uint32_t frame, struct drv_backing *b)
{
	struct emu *emu = encl->emu;
	struct drv_reclaim_stats *st = &emu->rstats;
	uint16_t slot;
	struct drv_va_page *va = va_take_slot(encl, &slot);
	if (!va)
		return (struct sgx_result){ .vector = SGX_VEC_GP };   /* cannot happen: eager VA accounting */

	struct sgx_pageinfo pi = { .srcpge = (uint64_t)(uintptr_t)b->contents, .secinfo = (uint64_t)(uintptr_t)&b->pcmd };
	uint64_t epc = epc_kaddr(emu, frame), vaddr = va_slot_kaddr(emu, va, slot);
	struct sgx_result r = encls(emu, SGX_EWB, (uint64_t)(uintptr_t)&pi, epc, vaddr);
	if (r.vector == SGX_VEC_NONE && r.rax == SGX_NOT_TRACKED) {
		count(&st->not_tracked);
		count(&st->etrack);
		EMU_COUNT(emu, etracks);
		struct sgx_result t = encls(emu, SGX_ETRACK, 0, epc_kaddr(emu, encl->secs.epc_frame), 0);
		if (!sgx_ok(t))
			warn("ETRACK", t);
		pi = (struct sgx_pageinfo){ .srcpge = (uint64_t)(uintptr_t)b->contents,
					    .secinfo = (uint64_t)(uintptr_t)&b->pcmd };
		r = encls(emu, SGX_EWB, (uint64_t)(uintptr_t)&pi, epc, vaddr);
		if (r.vector == SGX_VEC_NONE && r.rax == SGX_NOT_TRACKED) {
			count(&st->not_tracked);
			count(&st->ipis);
			emu_send_ipis(emu, encl_cpumask(encl));
			pi = (struct sgx_pageinfo){ .srcpge = (uint64_t)(uintptr_t)b->contents,
						    .secinfo = (uint64_t)(uintptr_t)&b->pcmd };
			r = encls(emu, SGX_EWB, (uint64_t)(uintptr_t)&pi, epc, vaddr);
		}
	}
	/* CF=1 SGX_VA_SLOT_OCCUPIED still wrote the page back, but it means a
	 * version was lost: a driver bug, reported, the page kept as evicted. */
	if (r.vector == SGX_VEC_NONE && !r.zf && (r.rax == 0 || r.rax == SGX_VA_SLOT_OCCUPIED)) {
		if (r.rax)
			warn("EWB found its VA slot occupied", r);
		page->va_page = va;
		page->va_slot = slot;
		count(&st->ewb);
		EMU_COUNT(emu, ewb);
		return (struct sgx_result){ .vector = SGX_VEC_NONE };
	}
	va_put_slot(encl, va, slot);
	return r;
}

/* SECS last: written back once its last child is gone, if the enclave is
 * initialized (an uninitialized SECS is never evicted).  encl->lock held. */
static bool evict_secs(struct drv_encl *encl)
{
	struct emu *emu = encl->emu;
	uint32_t frame = encl->secs.epc_frame;

	if (encl->secs_child_cnt || frame == HW_NO_FRAME || !(atomic_load(&encl->flags) & DRV_ENCL_INITIALIZED))
		return false;
	struct drv_backing *b = backing_get(encl, &encl->secs);
	if (!b)
		return false;
	struct sgx_result r = ewb(encl, &encl->secs, frame, b);
	if (!sgx_ok(r)) {
		warn("EWB of the SECS", r);
		backing_drop(encl, &encl->secs);
		return false;
	}
	count(&emu->rstats.ewb_secs);
	encl->secs.epc_frame = HW_NO_FRAME;
	epc_free(emu, frame);   /* EWB left the frame invalid: no EREMOVE needed */
	return true;
}

/* ---- one batch ---- */

struct victim {
	uint32_t frame;
	struct drv_page *page;       /* NULL once the page left the batch */
	struct drv_backing *backing;
};

/* sgx_reclaimer_age: true if some live mm of the enclave accessed the page
 * (its PTE maps this frame and is young); the bit is cleared on the way.
 * mm->pt lives as long as the mm is on mm_list (mm_count), and PTE bits are
 * atomic, so mm_lock is all that is needed. */
static bool page_young(struct drv_encl *encl, const struct drv_page *page, uint32_t frame)
{
	void *epc = hw_epc_page(encl->emu->m, frame);
	bool young = false;

	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm *em = encl->mm_list; em && !young; em = em->next) {
		void *host;
		if (atomic_load(&em->mm->users) <= 0)
			continue;
		if (hw_pt_lookup(em->mm->pt, page->addr, &host, NULL) && host == epc)
			young = hw_pt_test_and_clear_young(em->mm->pt, page->addr);
	}
	pthread_mutex_unlock(&encl->mm_lock);
	return young;
}

static void drop(struct emu *emu, struct victim *v)
{
	struct drv_encl *encl = v->page->encl;
	epc_putback(emu, v->frame);
	v->page = NULL;
	encl_put(encl);
}

/* sgx_reclaimer_write for one page: EWB, SECS last.  Returns the frames
 * freed besides the page's own: -1 if the page was not written back, 1 if
 * the SECS went too, else 0. */
static int write_page(struct emu *emu, struct victim *v)
{
	struct drv_page *page = v->page;
	struct drv_encl *encl = page->encl;
	int more = 0;

	pthread_mutex_lock(&encl->lock);
	page->flags &= ~DRV_PAGE_BEING_RECLAIMED;
	struct sgx_result r = ewb(encl, page, v->frame, v->backing);
	if (!sgx_ok(r)) {
		count(&emu->rstats.ewb_failed);
		warn("EWB", r);
		backing_drop(encl, page);
		pthread_mutex_unlock(&encl->lock);
		return -1;
	}
	page->epc_frame = HW_NO_FRAME;
	encl->secs_child_cnt--;
	if (evict_secs(encl))
		more = 1;
	pthread_mutex_unlock(&encl->lock);
	return more;
}

static int reclaim_chunk(struct emu *emu, unsigned nr, unsigned *isolated)
{
	uint32_t frames[RECLAIM_CHUNK];
	struct victim v[RECLAIM_CHUNK];
	unsigned n = epc_isolate(emu, frames, nr);
	int freed = 0;

	*isolated = n;
	for (unsigned i = 0; i < n; i++) {
		count(&emu->rstats.scanned);
		pthread_mutex_lock(&emu->epc_lock);
		v[i] = (struct victim){ .frame = frames[i], .page = emu->epc_pages[frames[i]].owner };
		pthread_mutex_unlock(&emu->epc_lock);
		if (page_young(v[i].page->encl, v[i].page, v[i].frame)) {
			count(&emu->rstats.young);
			drop(emu, &v[i]);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct drv_page *page = v[i].page;
		if (!page)
			continue;
		struct drv_encl *encl = page->encl;
		pthread_mutex_lock(&encl->lock);
		bool ok = !(page->flags & DRV_PAGE_BUSY) && page->epc_frame == v[i].frame;
		if (ok)
			v[i].backing = backing_get(encl, page);
		if (ok && v[i].backing)
			page->flags |= DRV_PAGE_BEING_RECLAIMED;
		pthread_mutex_unlock(&encl->lock);
		if (!ok || !v[i].backing)
			drop(emu, &v[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		struct drv_page *page = v[i].page;
		if (!page)
			continue;
		encl_zap_ptes(page->encl, page->addr);
		pthread_mutex_lock(&page->encl->lock);
		struct sgx_result r = encls(emu, SGX_EBLOCK, 0, epc_kaddr(emu, v[i].frame), 0);
		count(&emu->rstats.eblock);
		/* already blocked (an earlier EWB failed) is as good */
		if (!sgx_ok(r) && !(r.cf && r.rax == SGX_BLKSTATE))
			warn("EBLOCK", r);
		pthread_mutex_unlock(&page->encl->lock);
	}
	for (unsigned i = 0; i < n; i++) {
		struct drv_page *page = v[i].page;
		if (!page)
			continue;
		struct drv_encl *encl = page->encl;
		int more = write_page(emu, &v[i]);
		if (more < 0) {
			drop(emu, &v[i]);
			continue;
		}
		freed += 1 + more;
		epc_free(emu, v[i].frame);
		encl_put(encl);
	}
	return freed;
}

/* sgx_reclaim_pages: up to nr pages (RECLAIM_CHUNK at a time); the number
 * of EPC frames freed (an evicted SECS counts). */
static int reclaim(struct emu *emu, unsigned nr, unsigned *isolated)
{
	int freed = 0;
	*isolated = 0;
	while (nr) {
		unsigned k = nr < RECLAIM_CHUNK ? nr : RECLAIM_CHUNK, got;
		freed += reclaim_chunk(emu, k, &got);
		*isolated += got;
		if (got < k)
			break;
		nr -= k;
	}
	return freed;
}

int reclaim_pages(struct emu *emu, unsigned nr)
{
	unsigned isolated;
	return reclaim(emu, nr, &isolated);
}

static unsigned batch(const struct emu *emu)
{
	return emu->cfg.reclaim_batch ? emu->cfg.reclaim_batch : 16;
}

/*
 * Batches until target frames are free, the LRU is empty, or one pass over
 * the pages that were on the LRU when the run began has been made.  The pass
 * limit (decision) gives a young page its second chance until the next run:
 * ksgxd runs at the start of a fault, so it must not keep cycling until it
 * has also evicted the TCS and SSA pages the faulting thread just used
 * (their accessed bits, set by its last EENTER/ERESUME, are what save them).
 */
static unsigned long reclaim_until(struct emu *emu, uint32_t target)
{
	unsigned long freed = 0, scanned = 0, budget = epc_nr_reclaimable(emu);

	while (scanned < budget && epc_nr_free(emu) < target) {
		unsigned isolated;
		freed += (unsigned long)reclaim(emu, batch(emu), &isolated);
		if (!isolated)
			break;
		scanned += isolated;
	}
	return freed;
}

/* sgx_reclaim_direct: one batch if free frames are below the low watermark. */
void reclaim_direct(struct emu *emu)
{
	if (epc_nr_free(emu) < emu->cfg.low_watermark)
		reclaim_pages(emu, batch(emu));
}

/*
 * ksgxd: woken below the low watermark, it reclaims up to the high one.
 * Decision: the watermarks count as at least FAULT_FRAMES, the most one
 * fault allocates without reclaim (an evicted SECS, the page, a VA page for
 * an EAUG): with smaller ones (configurable, unlike Linux's 32 / 64) a fault
 * could find too few frames, return NOPAGE, and be retried forever.
 */
#define FAULT_FRAMES 3u

void ksgxd_run(struct emu *emu)
{
	uint32_t low = emu->cfg.low_watermark > FAULT_FRAMES ? emu->cfg.low_watermark : FAULT_FRAMES;
	uint32_t high = emu->cfg.high_watermark > low ? emu->cfg.high_watermark : low;
	if (epc_nr_free(emu) >= low)
		return;
	reclaim_until(emu, high);
}

unsigned long emu_reclaim_to_high_watermark(struct emu *emu)
{
	return reclaim_until(emu, emu->cfg.high_watermark);
}

void emu_reclaim_stats(struct emu *emu, struct emu_reclaim_stats *out)
{
	struct drv_reclaim_stats *s = &emu->rstats;
	*out = (struct emu_reclaim_stats){
		.scanned = atomic_load(&s->scanned),
		.young = atomic_load(&s->young),
		.eblock = atomic_load(&s->eblock),
		.etrack = atomic_load(&s->etrack),
		.ipis = atomic_load(&s->ipis),
		.not_tracked = atomic_load(&s->not_tracked),
		.ewb = atomic_load(&s->ewb),
		.ewb_secs = atomic_load(&s->ewb_secs),
		.ewb_failed = atomic_load(&s->ewb_failed),
		.eldu = atomic_load(&s->eldu),
		.eldu_secs = atomic_load(&s->eldu_secs),
	};
}

/* ---- ELDU ---- */

/*
 * __sgx_encl_eldu, encl->lock held, page evicted: a frame without reclaim
 * (-EBUSY: the caller backs off, ksgxd frees frames; -ENOMEM: nothing
 * reclaimable), ELDU from the backing store with the page's VA slot (any
 * failure is -EFAULT: SIGBUS in a fault), then the backing entry and the slot
 * are freed.  A child needs its SECS resident: loaded first if it is not.
 */
static int eldu(struct drv_encl *encl, struct drv_page *page)
{
	struct emu *emu = encl->emu;
	bool secs = page == &encl->secs;
	int err;

	if (!secs && encl->secs.epc_frame == HW_NO_FRAME) {
		err = encl_load_secs(encl);
		if (err)
			return err;
	}
	struct drv_backing *b = xa_load(&encl->backing, backing_index(encl, page));
	if (!b || !page->va_page)
		return -EFAULT;
	uint32_t frame = epc_alloc(emu, page, false, &err);
	if (frame == HW_NO_FRAME)
		return err;
	struct sgx_pageinfo pi = {
		.linaddr = page->addr,
		.srcpge = (uint64_t)(uintptr_t)b->contents,
		.secinfo = (uint64_t)(uintptr_t)&b->pcmd,
		.secs = secs ? 0 : epc_kaddr(emu, encl->secs.epc_frame),
	};
	struct sgx_result r = encls(emu, SGX_ELDU, (uint64_t)(uintptr_t)&pi, epc_kaddr(emu, frame),
				    va_slot_kaddr(emu, page->va_page, page->va_slot));
	if (!sgx_ok(r)) {
		warn("ELDU", r);
		epc_free(emu, frame);   /* not made valid: nothing to EREMOVE */
		return -EFAULT;
	}
	backing_drop(encl, page);
	va_put_slot(encl, page->va_page, page->va_slot);
	page->va_page = NULL;
	page->va_slot = 0;
	page->epc_frame = frame;
	count(&emu->rstats.eldu);
	EMU_COUNT(emu, eldu);
	if (secs)
		count(&emu->rstats.eldu_secs);
	return 0;
}

/* The caller (encl.c load_entry) counts the child and marks it reclaimable. */
int encl_eldu(struct drv_encl *encl, struct drv_page *page)
{
	return eldu(encl, page);
}

/* sgx_encl_load_secs (v6.6, §7.1): the EAUG and ELDU paths reload an
 * evicted SECS under encl->lock before they use it. */
int encl_load_secs(struct drv_encl *encl)
{
	if (encl->secs.epc_frame != HW_NO_FRAME)
		return 0;
	return eldu(encl, &encl->secs);
}
