/*
 * EPC frame allocator and the LRU of reclaimable pages (Linux main.c:
 * sgx_alloc_epc_page, sgx_free_epc_page, sgx_mark/unmark_page_reclaimable,
 * the isolation step of sgx_reclaim_pages).  linux-driver.md §2, §5.
 *
 * One free list (a stack of frame numbers) stands for Linux's per-node lists:
 * the model has one NUMA node.  The LRU is a doubly linked list threaded
 * through struct drv_epc_page by frame number.  A page is "being reclaimed"
 * when it is flagged DRV_EPC_RECLAIMABLE but not linked (Linux: TRACKED with
 * an empty list node).  Everything here runs under emu->epc_lock, which nests
 * inside encl->lock and never takes another lock (the reclaimer's batch runs
 * outside it).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "driver.h"

/* Rounds of direct reclaim without progress before epc_alloc gives up.
 * Linux loops until a signal (-ERESTARTSYS); the model has no signals, so a
 * reclaimer that cannot free anything would otherwise spin forever. */
#define EPC_RECLAIM_ROUNDS 64

int epc_init(struct emu *emu)
{
	uint32_t n = hw_epc_frames(emu->m);
	emu->epc_pages = calloc(n ? n : 1, sizeof(*emu->epc_pages));
	emu->free_frames = malloc((n ? n : 1) * sizeof(*emu->free_frames));
	if (!emu->epc_pages || !emu->free_frames) {
		free(emu->epc_pages);
		free(emu->free_frames);
		emu->epc_pages = NULL;
		emu->free_frames = NULL;
		return -ENOMEM;
	}
	pthread_mutex_init(&emu->epc_lock, NULL);
	/* Stack with frame 0 on top, so frames are handed out in ascending order. */
	for (uint32_t i = 0; i < n; i++) {
		struct drv_epc_page *p = &emu->epc_pages[i];
		p->flags = DRV_EPC_FREE;
		p->lru_prev = p->lru_next = HW_NO_FRAME;
		emu->free_frames[n - 1 - i] = i;
	}
	emu->nr_free = n;
	emu->lru_head = emu->lru_tail = HW_NO_FRAME;
	return 0;
}

void epc_destroy(struct emu *emu)
{
	if (!emu->epc_pages)
		return;
	pthread_mutex_destroy(&emu->epc_lock);
	free(emu->epc_pages);
	free(emu->free_frames);
	emu->epc_pages = NULL;
	emu->free_frames = NULL;
}

static bool lru_linked(struct emu *emu, uint32_t frame)
{
	return emu->lru_head == frame || emu->epc_pages[frame].lru_prev != HW_NO_FRAME;
}

static void lru_unlink(struct emu *emu, uint32_t frame)
{
	struct drv_epc_page *p = &emu->epc_pages[frame];
	if (p->lru_prev != HW_NO_FRAME)
		emu->epc_pages[p->lru_prev].lru_next = p->lru_next;
	else
		emu->lru_head = p->lru_next;
	if (p->lru_next != HW_NO_FRAME)
		emu->epc_pages[p->lru_next].lru_prev = p->lru_prev;
	else
		emu->lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = HW_NO_FRAME;
}

static void lru_add_tail(struct emu *emu, uint32_t frame)
{
	struct drv_epc_page *p = &emu->epc_pages[frame];
	p->lru_prev = emu->lru_tail;
	p->lru_next = HW_NO_FRAME;
	if (emu->lru_tail != HW_NO_FRAME)
		emu->epc_pages[emu->lru_tail].lru_next = frame;
	else
		emu->lru_head = frame;
	emu->lru_tail = frame;
}

/* __sgx_alloc_epc_page: pop a free frame, or HW_NO_FRAME.  epc_lock held. */
static uint32_t take_free(struct emu *emu, void *owner)
{
	if (!emu->nr_free)
		return HW_NO_FRAME;
	uint32_t frame = emu->free_frames[--emu->nr_free];
	struct drv_epc_page *p = &emu->epc_pages[frame];
	p->flags = 0;
	p->owner = owner;
	p->lru_prev = p->lru_next = HW_NO_FRAME;
	return frame;
}

/*
 * sgx_alloc_epc_page: free list first; then -ENOMEM if nothing is on the
 * LRU (nothing could ever be reclaimed), -EBUSY if the caller may not
 * reclaim (it holds locks the reclaimer needs), else one direct reclaim batch
 * and retry.  Waking the background reclaimer below the low watermark is
 * reclaim.c's business.
 */
uint32_t epc_alloc(struct emu *emu, void *owner, bool reclaim, int *err)
{
	unsigned idle = 0;
	for (;;) {
		pthread_mutex_lock(&emu->epc_lock);
		uint32_t frame = take_free(emu, owner);
		bool lru_empty = emu->lru_head == HW_NO_FRAME;
		pthread_mutex_unlock(&emu->epc_lock);
		if (frame != HW_NO_FRAME) {
			*err = 0;
			return frame;
		}
		if (lru_empty) {
			*err = -ENOMEM;
			return HW_NO_FRAME;
		}
		if (!reclaim) {
			*err = -EBUSY;
			return HW_NO_FRAME;
		}
		if (reclaim_pages(emu, emu->cfg.reclaim_batch ? emu->cfg.reclaim_batch : 16) > 0) {
			idle = 0;
			continue;
		}
		/* Another thread may be mid-batch with the pages we need. */
		if (++idle >= EPC_RECLAIM_ROUNDS) {
			*err = -ENOMEM;
			return HW_NO_FRAME;
		}
		sched_yield();
	}
}

void epc_free(struct emu *emu, uint32_t frame)
{
	pthread_mutex_lock(&emu->epc_lock);
	struct drv_epc_page *p = &emu->epc_pages[frame];
	if (!(p->flags & DRV_EPC_FREE)) {
		if (lru_linked(emu, frame))
			lru_unlink(emu, frame);
		p->flags = DRV_EPC_FREE;
		p->owner = NULL;
		emu->free_frames[emu->nr_free++] = frame;
	}
	pthread_mutex_unlock(&emu->epc_lock);
}

/* sgx_mark_page_reclaimable: to the LRU tail (the reclaimer scans from the head). */
void epc_mark_reclaimable(struct emu *emu, uint32_t frame)
{
	pthread_mutex_lock(&emu->epc_lock);
	struct drv_epc_page *p = &emu->epc_pages[frame];
	if (lru_linked(emu, frame))
		lru_unlink(emu, frame);
	p->flags |= DRV_EPC_RECLAIMABLE;
	lru_add_tail(emu, frame);
	pthread_mutex_unlock(&emu->epc_lock);
}

/* sgx_unmark_page_reclaimable: -EBUSY when the reclaimer has isolated it. */
int epc_unmark_reclaimable(struct emu *emu, uint32_t frame)
{
	int ret = 0;
	pthread_mutex_lock(&emu->epc_lock);
	struct drv_epc_page *p = &emu->epc_pages[frame];
	if (p->flags & DRV_EPC_RECLAIMABLE) {
		if (!lru_linked(emu, frame)) {
			ret = -EBUSY;
		} else {
			lru_unlink(emu, frame);
			p->flags &= ~DRV_EPC_RECLAIMABLE;
		}
	}
	pthread_mutex_unlock(&emu->epc_lock);
	return ret;
}

/*
 * The selection step of sgx_reclaim_pages: take up to nr pages off the LRU
 * head.  Each one whose enclave is still alive gets an enclave reference
 * (kref_get_unless_zero) and stays flagged RECLAIMABLE with no list node:
 * "being reclaimed".  A page whose enclave is being released just loses the
 * flag, so the release path frees it.
 */
unsigned epc_isolate(struct emu *emu, uint32_t *frames, unsigned nr)
{
	unsigned n = 0;
	pthread_mutex_lock(&emu->epc_lock);
	while (n < nr && emu->lru_head != HW_NO_FRAME) {
		uint32_t frame = emu->lru_head;
		struct drv_epc_page *p = &emu->epc_pages[frame];
		lru_unlink(emu, frame);
		struct drv_page *page = p->owner;
		struct drv_encl *encl = page ? page->encl : NULL;
		int ref = encl ? atomic_load(&encl->refcount) : 0;
		while (ref > 0 && !atomic_compare_exchange_weak(&encl->refcount, &ref, ref + 1))
			;
		if (ref > 0)
			frames[n++] = frame;
		else
			p->flags &= ~DRV_EPC_RECLAIMABLE;
	}
	pthread_mutex_unlock(&emu->epc_lock);
	return n;
}

/* An isolated page goes back to the LRU tail (second chance, or EWB failed). */
void epc_putback(struct emu *emu, uint32_t frame)
{
	epc_mark_reclaimable(emu, frame);
}

uint64_t epc_kaddr(struct emu *emu, uint32_t frame)
{
	return (uint64_t)(uintptr_t)hw_epc_page(emu->m, frame);
}

uint32_t epc_nr_free(struct emu *emu)
{
	pthread_mutex_lock(&emu->epc_lock);
	uint32_t n = emu->nr_free;
	pthread_mutex_unlock(&emu->epc_lock);
	return n;
}

uint32_t epc_nr_reclaimable(struct emu *emu)
{
	uint32_t n = 0;
	pthread_mutex_lock(&emu->epc_lock);
	for (uint32_t f = emu->lru_head; f != HW_NO_FRAME; f = emu->epc_pages[f].lru_next)
		n++;
	pthread_mutex_unlock(&emu->epc_lock);
	return n;
}
