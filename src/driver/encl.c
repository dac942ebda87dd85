/*
 * Enclave objects (Linux encl.c, linux-driver.md §2, §3): lifetime and
 * release, the list of mms that map the enclave, sgx_encl_may_map, the
 * enclave VMA fault handler with EAUG on fault, page loading, debug access.
 *
 * Page lookups happen under encl->lock: the model's xarray is not RCU-safe,
 * so the fault handler takes the lock before its first lookup.  That is also
 * the 2024 fix for two threads faulting on the same hole (§7.3): the second
 * one finds the winner's entry and takes the ordinary path (NOPAGE), never
 * reaching a failing xa_insert (SIGBUS).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static_assert(DRV_VM_READ == HW_PROT_R && DRV_VM_WRITE == HW_PROT_W && DRV_VM_EXEC == HW_PROT_X,
	      "a VMA's protection is used as the PTE's");
static_assert(DRV_VM_READ == SGX_SECINFO_R && DRV_VM_WRITE == SGX_SECINFO_W && DRV_VM_EXEC == SGX_SECINFO_X,
	      "SECINFO permissions are VM_* bits");

bool drv_has_sgx2(struct emu *emu)
{
	uint32_t r[4];
	hw_cpuid(emu->m, 0x12, 0, r);
	return r[0] & 2;
}

static struct sgx_result encls(struct emu *emu, uint32_t leaf, uint64_t rbx, uint64_t rcx)
{
	return hw_encls(emu_kernel_lp(emu), leaf, rbx, rcx, 0);
}

struct drv_encl *encl_create(struct emu *emu)
{
	struct drv_encl *encl = calloc(1, sizeof(*encl));
	if (!encl)
		return NULL;
	encl->emu = emu;
	pthread_mutex_init(&encl->lock, NULL);
	pthread_mutex_init(&encl->mm_lock, NULL);
	atomic_init(&encl->flags, 0);
	atomic_init(&encl->refcount, 1);
	encl->policy = emu->cfg.policy;
	encl->sw = emu->cfg.switches;
	encl->secs.epc_frame = HW_NO_FRAME;
	encl->secs.type = SGX_PT_SECS;
	encl->secs.encl = encl;
	xa_init(&encl->pages);
	xa_init(&encl->backing);
	return encl;
}

void encl_get(struct drv_encl *encl)
{
	atomic_fetch_add(&encl->refcount, 1);
}

/* sgx_encl_free_epc_page: EREMOVE, then back to the free list.  A frame
 * EREMOVE refuses is leaked (Linux's EREMOVE_ERROR_MESSAGE): reusing it
 * would hand out a page the hardware still considers in use. */
static void free_epc_page(struct emu *emu, uint32_t frame)
{
	struct sgx_result r = encls(emu, SGX_EREMOVE, 0, epc_kaddr(emu, frame));
	if (!sgx_ok(r)) {
		char why[96];
		hw_result_format(r, why, sizeof(why));
		fprintf(stderr, "sgx2emu: EREMOVE of frame %u: %s; the frame is leaked\n", frame, why);
		return;
	}
	epc_free(emu, frame);
}

/*
 * sgx_encl_release: every resident page EREMOVEd and freed, then the SECS
 * once no child is left, then the VA pages and the backing store.  A page
 * the reclaimer has isolated would be left to it, as in Linux; with the
 * count at 0 there is none (epc_isolate only isolates pages of enclaves it
 * could take a reference on).
 */
static void encl_release(struct drv_encl *encl)
{
	struct emu *emu = encl->emu;
	uint64_t index = 0;
	struct drv_page *page;

	while ((page = xa_find(&encl->pages, &index, UINT64_MAX))) {
		bool keep = false;
		if (page->epc_frame != HW_NO_FRAME) {
			if (epc_unmark_reclaimable(emu, page->epc_frame)) {
				keep = true;
			} else {
				free_epc_page(emu, page->epc_frame);
				encl->secs_child_cnt--;
				page->epc_frame = HW_NO_FRAME;
			}
		}
		if (!keep)
			free(page);
		index++;
	}
	xa_destroy(&encl->pages);

	if (!encl->secs_child_cnt && encl->secs.epc_frame != HW_NO_FRAME) {
		free_epc_page(emu, encl->secs.epc_frame);
		encl->secs.epc_frame = HW_NO_FRAME;
	}
	while (encl->va_pages) {
		struct drv_va_page *va = encl->va_pages;
		encl->va_pages = va->next;
		free_epc_page(emu, va->epc_frame);
		free(va);
	}

	index = 0;
	struct drv_backing *b;
	while ((b = xa_find(&encl->backing, &index, UINT64_MAX))) {
		/* The SECS's blob is dropped for good: let the model free the
		 * hidden state it keeps for the EID the blob carries. */
		if (index == encl->size >> 12)
			hw_discard_evicted_secs(emu->m, b->pcmd.enclave_id);
		free(b);
		index++;
	}
	xa_destroy(&encl->backing);

	while (encl->mm_list) {
		struct drv_encl_mm *em = encl->mm_list;
		encl->mm_list = em->next;
		free(em);
	}
	pthread_mutex_destroy(&encl->mm_lock);
	pthread_mutex_destroy(&encl->lock);
	free(encl);
}

void encl_put(struct drv_encl *encl)
{
	if (atomic_fetch_sub(&encl->refcount, 1) == 1)
		encl_release(encl);
}

/* sgx_encl_mm_add: an mm appears once however many VMAs it has. */
int encl_mm_add(struct drv_encl *encl, struct drv_mm *mm)
{
	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		if (em->mm == mm) {
			pthread_mutex_unlock(&encl->mm_lock);
			return 0;
		}
	struct drv_encl_mm *em = calloc(1, sizeof(*em));
	if (!em) {
		pthread_mutex_unlock(&encl->mm_lock);
		return -ENOMEM;
	}
	em->mm = mm;
	encl_get(encl);
	em->next = encl->mm_list;
	encl->mm_list = em;
	encl->mm_list_version++;
	pthread_mutex_unlock(&encl->mm_lock);
	return 0;
}

static struct drv_encl_mm *mm_list_take(struct drv_encl *encl, struct drv_mm *mm)
{
	struct drv_encl_mm *em = NULL;
	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm **pp = &encl->mm_list; *pp; pp = &(*pp)->next)
		if (!mm || (*pp)->mm == mm) {
			em = *pp;
			*pp = em->next;
			break;
		}
	pthread_mutex_unlock(&encl->mm_lock);
	return em;
}

/* sgx_mmu_notifier_release: the mm is going away. */
void encl_mm_remove(struct drv_encl *encl, struct drv_mm *mm)
{
	struct drv_encl_mm *em = mm_list_take(encl, mm);
	if (em) {
		free(em);
		encl_put(encl);
	}
}

void encl_file_release(struct drv_encl *encl)
{
	struct drv_encl_mm *em;
	while ((em = mm_list_take(encl, NULL))) {
		free(em);
		encl_put(encl);
	}
	encl_put(encl);
}

/*
 * sgx_encl_may_map (mmap and mprotect): -EACCES if the enclave is
 * initialized and the range leaves ELRANGE, for a READ_IMPLIES_EXEC
 * process, or if an existing page's vetted maximum (policy v2: its run
 * rights) lacks a requested right.  Holes are not checked: EAUG'd pages may
 * have any protection.
 */
int encl_may_map(struct drv_encl *encl, uint64_t start, uint64_t end, unsigned prot, struct drv_mm *mm)
{
	unsigned want = prot & DRV_VM_PROT;
	int ret = 0;

	if ((atomic_load(&encl->flags) & DRV_ENCL_INITIALIZED) &&
	    (start < encl->base || end > encl->base + encl->size))
		return -EACCES;
	if (mm && mm->personality_read_implies_exec)
		return -EACCES;
	if (end <= start)
		return 0;

	pthread_mutex_lock(&encl->lock);
	uint64_t index = start >> 12;
	struct drv_page *page;
	while ((page = xa_find(&encl->pages, &index, (end - 1) >> 12))) {
		if (want & ~policy_map_limit(page)) {
			ret = -EACCES;
			break;
		}
		index++;
	}
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

/*
 * __sgx_encl_load_page, encl->lock held: a resident page being reclaimed, or
 * one under removal / TCS conversion (DRV_PAGE_BUSY, the 2024 fix), is
 * -EBUSY; an evicted page comes back with ELDU, its SECS first.
 */
static int load_entry(struct drv_encl *encl, struct drv_page *page)
{
	if (page->flags & DRV_PAGE_BUSY)
		return -EBUSY;
	if (page->epc_frame != HW_NO_FRAME)
		return (page->flags & DRV_PAGE_BEING_RECLAIMED) ? -EBUSY : 0;
	int ret = encl_load_secs(encl);
	if (ret)
		return ret;
	ret = encl_eldu(encl, page);
	if (ret)
		return ret;
	encl->secs_child_cnt++;
	epc_mark_reclaimable(encl->emu, page->epc_frame);
	return 0;
}

/* sgx_encl_load_page: no VMA check (the ioctls). */
struct drv_page *encl_load_page(struct drv_encl *encl, uint64_t addr, int *err)
{
	struct drv_page *page = xa_load(&encl->pages, addr >> 12);
	if (!page) {
		*err = -EFAULT;
		return NULL;
	}
	*err = load_entry(encl, page);
	return *err ? NULL : page;
}

/* sgx_encl_load_page_in_vma: the VMA may not exceed the vetted maximum
 * (policies v1/v2 drop this check). */
static struct drv_page *load_page_in_vma(struct drv_encl *encl, uint64_t addr, unsigned vm_prot, int *err)
{
	struct drv_page *page = xa_load(&encl->pages, addr >> 12);
	if (!page) {
		*err = -EFAULT;
		return NULL;
	}
	if (!policy_fault_vma_ok(page, vm_prot)) {
		*err = -EFAULT;
		return NULL;
	}
	*err = load_entry(encl, page);
	return *err ? NULL : page;
}

/* PTE = VMA as upstream; narrower under policies v1/v2. */
static int map_page(struct drv_mm *mm, struct drv_vma *vma, struct drv_page *page)
{
	void *host = (void *)(uintptr_t)epc_kaddr(page->encl->emu, page->epc_frame);
	return hw_pt_map(mm->pt, page->addr, host, policy_pte_prot(page, vma->prot));
}

/*
 * sgx_encl_eaug_page up to the PTE, encl->lock held and no entry at addr.
 * Steps as linux-driver.md §3.3 with the v6.6 SECS reload and the v6.0-rc8
 * VA fix: not initialized → -EINVAL; SECS evicted and busy, no free frame
 * but reclaimable ones, VA page allocation busy → -EBUSY (retry); nothing
 * reclaimable → -ENOSPC; EAUG failure → -EFAULT.  The page's max comes from
 * the policy (upstream RWX: the enclave decides its rights with
 * EACCEPT/EMODPE, the VMA with mprotect).  Shared by the fault, fault-around,
 * MAP_POPULATE and AUGMENT_PAGES.
 */
int encl_eaug(struct drv_encl *encl, uint64_t addr, struct drv_page **out)
{
	struct emu *emu = encl->emu;
	uint32_t frame = HW_NO_FRAME;
	int err;

	if (!(atomic_load(&encl->flags) & DRV_ENCL_INITIALIZED))
		return -EINVAL;
	struct drv_page *page = calloc(1, sizeof(*page));
	if (!page)
		return -ENOMEM;
	page->addr = addr;
	page->encl = encl;
	page->epc_frame = HW_NO_FRAME;
	policy_page_augmented(page);

	err = encl_load_secs(encl);
	if (err)
		goto out_free;
	/* No direct reclaim: the mm lock may be held. */
	frame = epc_alloc(emu, page, false, &err);
	if (frame == HW_NO_FRAME)
		goto out_free;
	err = encl_grow(encl, false);
	if (err)
		goto out_frame;
	if (xa_insert(&encl->pages, addr >> 12, page)) {
		err = -EFAULT;
		goto out_shrink;
	}

	struct sgx_pageinfo pginfo = {
		.linaddr = addr,
		.secs = epc_kaddr(emu, encl->secs.epc_frame),
	};
	struct sgx_result r = encls(emu, SGX_EAUG, (uint64_t)(uintptr_t)&pginfo, epc_kaddr(emu, frame));
	if (!sgx_ok(r)) {
		xa_erase(&encl->pages, addr >> 12);
		err = -EFAULT;
		goto out_shrink;
	}
	page->epc_frame = frame;
	page->type = SGX_PT_REG;
	encl->secs_child_cnt++;
	epc_mark_reclaimable(emu, frame);
	*out = page;
	return 0;

out_shrink:
	encl_ungrow(encl);
out_frame:
	epc_free(emu, frame);
out_free:
	free(page);
	if (err == -EBUSY)
		return -EBUSY;
	return err == -ENOMEM ? -ENOSPC : -EFAULT;
}

/*
 * Fault-around (switch): EAUG and map the holes among the pages after addr,
 * up to policy_fault_around() pages counted from addr, never beyond the VMA
 * or ELRANGE.  Best effort: the first failure ends it quietly, the faulting
 * page being done.  encl->lock held.
 */
static void eaug_around(struct drv_mm *mm, struct drv_vma *vma, struct drv_encl *encl, uint64_t addr)
{
	uint64_t end = addr + (uint64_t)policy_fault_around(encl) * SGX_PAGE_SIZE;
	if (end > vma->end)
		end = vma->end;
	if (end > encl->base + encl->size)
		end = encl->base + encl->size;
	for (uint64_t a = addr + SGX_PAGE_SIZE; a < end; a += SGX_PAGE_SIZE) {
		struct drv_page *page;
		if (xa_load(&encl->pages, a >> 12))
			continue;
		if (encl_eaug(encl, a, &page))
			break;
		(void)map_page(mm, vma, page);   /* no PTE: the page faults in later */
	}
}

/* The EAUG fault: a failed PTE insert keeps the page (the next fault maps it)
 * but is SIGBUS. */
static enum drv_fault eaug_page(struct drv_mm *mm, struct drv_vma *vma, struct drv_encl *encl, uint64_t addr)
{
	struct drv_page *page;
	int err = encl_eaug(encl, addr, &page);
	if (err == -EBUSY)
		return DRV_FAULT_NOPAGE;
	if (err == -ENOMEM)
		return DRV_FAULT_OOM;
	if (err)
		return DRV_FAULT_SIGBUS;
	drv_fault_eaug = true;
	if (map_page(mm, vma, page))
		return DRV_FAULT_SIGBUS;
	eaug_around(mm, vma, encl, addr);
	return DRV_FAULT_NOPAGE;
}

/*
 * sgx_vma_fault: SIGBUS without an enclave (failed fork bookkeeping); a
 * hole on an SGX2 CPU is EAUGed (not under policy sgx1); otherwise the page
 * must exist and the VMA stay within its vetted maximum (else SIGBUS; no
 * check under v1/v2), busy pages give NOPAGE.  One PTE (more with
 * fault-around), protection = the VMA's (narrower under v1/v2).  The mm
 * lock is held for read.
 */
enum drv_fault encl_vma_fault(struct drv_mm *mm, struct drv_vma *vma, uint64_t addr)
{
	struct drv_encl *encl = vma->encl;
	enum drv_fault ret;
	int err;

	if (!encl)
		return DRV_FAULT_SIGBUS;
	addr &= SGX_PAGE_MASK;

	pthread_mutex_lock(&encl->lock);
	if (policy_sgx2(encl) && !xa_load(&encl->pages, addr >> 12)) {
		ret = eaug_page(mm, vma, encl, addr);
		pthread_mutex_unlock(&encl->lock);
		return ret;
	}
	struct drv_page *page = load_page_in_vma(encl, addr, vma->prot, &err);
	if (!page)
		ret = err == -EBUSY ? DRV_FAULT_NOPAGE : DRV_FAULT_SIGBUS;
	else
		ret = map_page(mm, vma, page) ? DRV_FAULT_SIGBUS : DRV_FAULT_NOPAGE;
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

/*
 * sgx_vma_pfn_mkwrite (SGX2 V1/V2 only): core mm's do_wp_page on a shared
 * VM_PFNMAP mapping asks the driver before it makes a read-only PTE of a
 * writable VMA writable.  Under v1/v2 the answer is SIGBUS unless the page
 * may be written (max / run has W): the enclave sees an ordinary #PF 0x7.
 * Without a handler (the other policies) the PTE is simply made writable
 * (wp_page_reuse): re-inserted with the policy's protection.  A page being
 * reclaimed or removed meanwhile gives NOPAGE: its PTE is about to go.
 */
enum drv_fault encl_vma_pfn_mkwrite(struct drv_mm *mm, struct drv_vma *vma, uint64_t addr)
{
	struct drv_encl *encl = vma->encl;
	enum drv_fault ret = DRV_FAULT_NOPAGE;
	bool allowed = true;

	if (!encl)
		return DRV_FAULT_SIGBUS;
	addr &= SGX_PAGE_MASK;
	pthread_mutex_lock(&encl->lock);
	struct drv_page *page = xa_load(&encl->pages, addr >> 12);
	if (!page) {
		ret = DRV_FAULT_SIGBUS;
	} else if (policy_pfn_mkwrite(page, &allowed) && !allowed) {
		ret = DRV_FAULT_SIGBUS;
	} else if (page->epc_frame == HW_NO_FRAME || (page->flags & (DRV_PAGE_BUSY | DRV_PAGE_BEING_RECLAIMED))) {
		ret = DRV_FAULT_NOPAGE;
	} else if (map_page(mm, vma, page)) {
		ret = DRV_FAULT_SIGBUS;
	}
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

/*
 * MAP_POPULATE (switch): each hole of [start, end) ∩ ELRANGE is EAUGed and
 * mapped as a fault would, page by page under the mm lock (read) and
 * encl->lock, without counting as a fault.  A busy EPC (-EBUSY) runs ksgxd
 * with no lock held and retries; anything else ends the population quietly
 * (MAP_POPULATE never fails an mmap).  Pages that exist are left to fault.
 */
void encl_populate(struct drv_mm *mm, struct drv_encl *encl, uint64_t start, uint64_t end)
{
	if (start < encl->base)
		start = encl->base;
	if (end > encl->base + encl->size)
		end = encl->base + encl->size;
	unsigned busy = 0;
	for (uint64_t a = start; a < end;) {
		int err = 0;
		pthread_rwlock_rdlock(&mm->lock);
		struct drv_vma *vma = mm_find_vma(mm, a);
		if (!vma || vma->start > a || !(vma->flags & DRV_VMA_SGX) || vma->encl != encl ||
		    !(vma->prot & DRV_VM_PROT)) {
			pthread_rwlock_unlock(&mm->lock);
			return;
		}
		pthread_mutex_lock(&encl->lock);
		struct drv_page *page;
		if (!xa_load(&encl->pages, a >> 12)) {
			err = encl_eaug(encl, a, &page);
			if (!err)
				(void)map_page(mm, vma, page);
		}
		pthread_mutex_unlock(&encl->lock);
		pthread_rwlock_unlock(&mm->lock);
		if (err == -EBUSY && ++busy < 1000) {
			ksgxd_run(encl->emu);
			sched_yield();
			continue;
		}
		if (err)
			return;
		busy = 0;
		a += SGX_PAGE_SIZE;
	}
}

/* sgx_encl_reserve_page: lock and load, waiting out a busy page.  Returns
 * with encl->lock held either way. */
static struct drv_page *reserve_page(struct drv_encl *encl, uint64_t addr, int *err)
{
	for (;;) {
		pthread_mutex_lock(&encl->lock);
		struct drv_page *page = encl_load_page(encl, addr, err);
		if (*err != -EBUSY)
			return page;
		pthread_mutex_unlock(&encl->lock);
		ksgxd_run(encl->emu);   /* no free frame for ELDU: reclaim.c */
		sched_yield();
	}
}

/*
 * sgx_vma_access: debug enclaves only (-EFAULT otherwise), in aligned 8-byte
 * words: EDBGRD, and for a write the merged word back with EDBGWR; a failed
 * leaf is -EIO.  Never EAUGs (a hole is -EFAULT).  An error ends the copy
 * and is what is returned, even after some bytes went through (as Linux).
 * Decision: no VMA ⊆ max check, since the caller passes no VMA (Linux checks
 * the VMA the debugger reaches the page through).
 */
int encl_access(struct drv_encl *encl, uint64_t addr, void *buf, size_t len, bool write)
{
	struct emu *emu = encl->emu;
	uint8_t *bytes = buf;
	size_t i, cnt;
	int ret = 0;

	if (!(atomic_load(&encl->flags) & DRV_ENCL_DEBUG))
		return -EFAULT;
	for (i = 0; i < len; i += cnt) {
		uint64_t a = addr + i;
		uint64_t word = a & ~7ull;
		size_t off = a & 7;
		cnt = 8 - off < len - i ? 8 - off : len - i;

		struct drv_page *page = reserve_page(encl, a & SGX_PAGE_MASK, &ret);
		if (!page) {
			pthread_mutex_unlock(&encl->lock);
			break;
		}
		uint64_t kaddr = epc_kaddr(emu, page->epc_frame) + (word & ~SGX_PAGE_MASK);
		struct hw_lp *lp = emu_kernel_lp(emu);
		struct sgx_result r = hw_encls(lp, SGX_EDBGRD, 0, kaddr, 0);
		uint8_t data[8];
		uint64_t v = r.rbx;
		memcpy(data, &v, 8);
		if (!sgx_ok(r)) {
			ret = -EIO;
		} else if (write) {
			memcpy(data + off, bytes + i, cnt);
			memcpy(&v, data, 8);
			if (!sgx_ok(hw_encls(lp, SGX_EDBGWR, v, kaddr, 0)))
				ret = -EIO;
		} else {
			memcpy(bytes + i, data + off, cnt);
		}
		pthread_mutex_unlock(&encl->lock);
		if (ret)
			break;
	}
	return ret < 0 ? ret : (int)i;
}
