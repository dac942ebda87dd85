/*
 * The SGX2 ioctls: RESTRICT_PERMISSIONS (EMODPR), MODIFY_TYPES (EMODT) and
 * REMOVE_PAGES (EREMOVE), linux-driver.md §1.4, §1.5 and §4.2-§4.4.
 *
 * Common contract:
 *   - ENODEV without SGX2 (or under policy sgx1), then EINVAL if the enclave is not initialized
 *     (sgx_ioc_sgx2_ready), both before the argument is even read;
 *   - EFAULT if the argument cannot be copied in; EINVAL for a bad range or
 *     non-zero output fields;
 *   - pages are done one at a time in ascending order, each under encl->lock
 *     after a direct reclaim; `count` is written back, also on error, as the
 *     bytes completed (the failing page not counted); `result` only when the
 *     leaf returned an SGX code (then the ioctl returns EFAULT); a leaf that
 *     faults gives EFAULT with result 0; a page being reclaimed gives EAGAIN
 *     (REMOVE: EBUSY, as Linux).
 *
 * The 2024 fix for REMOVE / REG→TCS racing a fault (linux-driver.md §7.4) is
 * applied: while encl->lock is dropped around the PTE zap the page is marked
 * DRV_PAGE_BUSY, so a concurrent fault backs off with NOPAGE instead of
 * mapping a page that is about to be removed.
 *
 * Policies (policy.c): RESTRICT exists under upstream and v2 (v2 first sets
 * run and zaps the PTEs, seed 000); its per-page body also serves v1's
 * MODIFY, RESET and mprotect-emodpr (ioctl_ext.c).  With the etrack-per-ioctl
 * switch the ETRACK + IPI round is made once, after the last page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define PERM_MASK (SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X)   /* SGX_SECINFO_PERMISSION_MASK */
#define PAGE_TYPE_MASK 0xffull                                      /* SGX_PAGE_TYPE_MASK */

/* sgx_ioc_sgx2_ready */
long sgx2_ready(struct drv_encl *encl)
{
	if (!policy_sgx2(encl))
		return -ENODEV;
	if (!(atomic_load(&encl->flags) & DRV_ENCL_INITIALIZED))
		return -EINVAL;
	return 0;
}

/* An ENCLS leaf on a page, on the LP the kernel uses for the caller. */
static struct sgx_result encls_page(struct drv_encl *encl, uint32_t leaf, const struct sgx_secinfo *secinfo,
				    const struct drv_page *page)
{
	struct emu *emu = encl->emu;
	return hw_encls(emu_kernel_lp(emu), leaf, (uint64_t)(uintptr_t)secinfo, epc_kaddr(emu, page->epc_frame), 0);
}

static bool faulted(struct sgx_result r)
{
	return r.vector != SGX_VEC_NONE;
}

/* ENCLS_WARN: unexpected fault of a leaf whose operands were all checked. */
static void encls_warn(struct sgx_result r, const char *leaf)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&warned))
		return;
	char why[96];
	hw_result_format(r, why, sizeof(why));
	fprintf(stderr, "sgx2emu: %s: %s\n", leaf, why);
}

/* Per-page prologue: sgx_reclaim_direct, lock, sgx_encl_load_page.  Returns
 * the page with encl->lock held, or NULL with the lock held and *ret set. */
static struct drv_page *lock_and_load(struct drv_encl *encl, uint64_t addr, long *ret)
{
	int err = 0;
	reclaim_direct(encl->emu);
	pthread_mutex_lock(&encl->lock);
	struct drv_page *page = encl_load_page(encl, addr, &err);
	if (!page)
		*ret = err == -EBUSY ? -EAGAIN : -EFAULT;
	return page;
}

/*
 * Drop encl->lock, zap the page's PTEs in every mm, take the lock again.  The
 * page is off the LRU (the caller unmarked it) so the reclaimer leaves it
 * alone, and BUSY so faults and loads back off meanwhile.
 */
static void zap_unlocked(struct drv_encl *encl, struct drv_page *page)
{
	page->flags |= DRV_PAGE_BUSY;
	pthread_mutex_unlock(&encl->lock);
	encl_zap_ptes(encl, page->addr);
	pthread_mutex_lock(&encl->lock);
	page->flags &= ~DRV_PAGE_BUSY;
}

/* ---- RESTRICT_PERMISSIONS ---- */

/*
 * One page of RESTRICT (and of v1's MODIFY, RESET, mprotect-emodpr): REG
 * only (EMODPR would #PF on a TCS or TRIM page); v1 refuses rights beyond
 * max; v2 sets run and zaps the PTEs first, restoring run if EMODPR fails.
 */
long sgx2_emodpr_page(struct drv_encl *encl, uint64_t addr, uint64_t perms, bool in_mm, uint64_t *result)
{
	struct emu *emu = encl->emu;
	struct sgx_secinfo secinfo = { .flags = perms & PERM_MASK };
	long ret = 0;
	struct drv_page *page;

	if (in_mm) {
		/* no direct reclaim: it zaps PTEs, which needs the mm lock we hold */
		int err = 0;
		pthread_mutex_lock(&encl->lock);
		page = encl_load_page(encl, addr, &err);
		if (!page)
			ret = err == -EBUSY ? -EAGAIN : -EFAULT;
	} else {
		page = lock_and_load(encl, addr, &ret);
	}
	if (!page)
		goto unlock;
	if (page->type != SGX_PT_REG) {
		ret = -EINVAL;
		goto unlock;
	}
	ret = policy_modp_check(page, perms);
	if (ret)
		goto unlock;
	uint8_t run = page->vm_run_prot_bits;
	if (policy_tracks_run(encl) && !in_mm) {
		page->vm_run_prot_bits = policy_restricted_run(page, perms);
		if (epc_unmark_reclaimable(emu, page->epc_frame)) {
			page->vm_run_prot_bits = run;
			ret = -EAGAIN;
			goto unlock;
		}
		zap_unlocked(encl, page);
		epc_mark_reclaimable(emu, page->epc_frame);
	}
	struct sgx_result r = encls_page(encl, SGX_EMODPR, &secinfo, page);
	if (faulted(r)) {
		encls_warn(r, "EMODPR");
		page->vm_run_prot_bits = run;
		ret = -EFAULT;
		goto unlock;
	}
	if (r.rax) {
		page->vm_run_prot_bits = run;
		*result = r.rax;
		ret = -EFAULT;
		goto unlock;
	}
	if (policy_etrack_per_page(encl) && encl_etrack(encl))
		ret = -EFAULT;
unlock:
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

/*
 * The etrack-per-ioctl switch: one ETRACK + IPI round for all the pages a
 * call changed, also when it stopped on an error.  An evicted SECS means
 * every child was written back since, each after a tracking cycle of the
 * reclaimer: nothing is left to track.  Returns ret, or the ETRACK failure
 * when the call itself had not failed; does nothing unless the call changed
 * a page and the switch is on.
 */
long sgx2_etrack_deferred(struct drv_encl *encl, bool changed, long ret)
{
	if (!changed || policy_etrack_per_page(encl))
		return ret;
	pthread_mutex_lock(&encl->lock);
	if (encl->secs.epc_frame != HW_NO_FRAME && encl_etrack(encl) && !ret)
		ret = -EFAULT;
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

static long restrict_permissions(struct drv_encl *encl, struct sgx_enclave_restrict_permissions *p)
{
	uint64_t c;
	long ret = 0;

	uint64_t result = 0;

	for (c = 0; c < p->length; c += SGX_PAGE_SIZE) {
		ret = sgx2_emodpr_page(encl, encl->base + p->offset + c, p->permissions, false, &result);
		if (ret)
			break;
	}
	p->result = result;
	p->count = c;
	ret = sgx2_etrack_deferred(encl, c, ret);
	return ret;
}

/*
 * What every SGX2 ioctl does first: sgx_ioc_sgx2_ready, the copy of the
 * argument, and sgx_validate_offset_length.  Each argument struct of
 * <asm/sgx.h> starts with offset and length.  0, -ENODEV, -EINVAL, -EFAULT.
 */
static long sgx2_copy_in(struct emu_proc *proc, struct drv_encl *encl, void *arg, void *p, size_t size)
{
	long ret = sgx2_ready(encl);
	uint64_t range[2];

	if (ret)
		return ret;
	if (copy_from_user(proc->mm, p, (uint64_t)(uintptr_t)arg, size))
		return -EFAULT;
	memcpy(range, p, sizeof(range));
	if (!encl_validate_offset_length(encl, range[0], range[1]))
		return -EINVAL;
	return 0;
}
static_assert(offsetof(struct sgx_enclave_restrict_permissions, length) == 8, "offset, length first");
static_assert(offsetof(struct sgx_enclave_modify_types, length) == 8, "offset, length first");
static_assert(offsetof(struct sgx_enclave_remove_pages, length) == 8, "offset, length first");

long ioctl_restrict_permissions(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_restrict_permissions p;
	long ret = sgx2_copy_in(proc, encl, arg, &p, sizeof(p));

	if (ret)
		return ret;
	if (p.permissions & ~PERM_MASK)
		return -EINVAL;
	/* EMODPR would #GP on W without R: refuse it before touching a page */
	if ((p.permissions & SGX_SECINFO_W) && !(p.permissions & SGX_SECINFO_R))
		return -EINVAL;
	if (p.result || p.count)
		return -EINVAL;
	ret = restrict_permissions(encl, &p);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

/* ---- MODIFY_TYPES ---- */

/* The transitions EMODT allows: REG→TCS, REG→TRIM, TCS→TRIM. */
static bool type_change_allowed(uint8_t from, uint64_t to)
{
	return from == SGX_PT_REG || (from == SGX_PT_TCS && to == SGX_PT_TRIM);
}

static long modify_types(struct drv_encl *encl, struct sgx_enclave_modify_types *p)
{
	struct emu *emu = encl->emu;
	uint64_t page_type = p->page_type & PAGE_TYPE_MASK;
	uint64_t c;
	long ret = 0;
	struct drv_page *page = NULL;
	uint8_t max_restore = 0, run_restore = 0;

	if (page_type != SGX_PT_TCS && page_type != SGX_PT_TRIM)
		return -EINVAL;   /* count stays 0 (Linux returns before writing it) */
	struct sgx_secinfo secinfo = { .flags = SGX_SECINFO_PT(page_type) };

	for (c = 0; c < p->length; c += SGX_PAGE_SIZE) {
		page = lock_and_load(encl, encl->base + p->offset + c, &ret);
		if (!page)
			goto unlock;
		if (!type_change_allowed(page->type, page_type)) {
			ret = -EINVAL;
			goto unlock;
		}
		max_restore = page->vm_max_prot_bits;
		run_restore = page->vm_run_prot_bits;
		if (page->type == SGX_PT_REG && page_type == SGX_PT_TCS) {
			/* a TCS is mapped RW: the vetted permissions must cover that */
			if (~page->vm_max_prot_bits & (DRV_VM_READ | DRV_VM_WRITE)) {
				ret = -EPERM;
				goto unlock;
			}
			/* it can never become a REG page again, so never executable */
			policy_page_narrow(page, DRV_VM_READ | DRV_VM_WRITE);
			if (epc_unmark_reclaimable(emu, page->epc_frame)) {
				ret = -EAGAIN;
				goto revert;
			}
			/* PTEs installed under the old max (e.g. RWX) must go: new
			 * faults check the VMA against the narrowed max */
			zap_unlocked(encl, page);
			epc_mark_reclaimable(emu, page->epc_frame);
		}
		struct sgx_result r = encls_page(encl, SGX_EMODT, &secinfo, page);
		if (faulted(r)) {
			encls_warn(r, "EMODT");
			ret = -EFAULT;
			goto revert;
		}
		if (r.rax) {
			p->result = r.rax;
			ret = -EFAULT;
			goto revert;
		}
		/* the EPCM changed: max is not reverted on this failure */
		if (policy_etrack_per_page(encl) && encl_etrack(encl)) {
			ret = -EFAULT;
			goto unlock;
		}
		page->type = (uint8_t)page_type;
		pthread_mutex_unlock(&encl->lock);
	}
	p->count = c;
	goto track;
revert:
	page->vm_max_prot_bits = max_restore;
	page->vm_run_prot_bits = run_restore;
unlock:
	pthread_mutex_unlock(&encl->lock);
	p->count = c;
track:
	ret = sgx2_etrack_deferred(encl, c, ret);
	return ret;
}

long ioctl_modify_types(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_modify_types p;
	long ret = sgx2_copy_in(proc, encl, arg, &p, sizeof(p));

	if (ret)
		return ret;
	if (p.page_type & ~PAGE_TYPE_MASK)
		return -EINVAL;
	if (p.result || p.count)
		return -EINVAL;
	ret = modify_types(encl, &p);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

/* ---- REMOVE_PAGES ---- */

/* sgx_encl_free_epc_page: EREMOVE, then back to the free list.  A page
 * EREMOVE refuses is leaked on purpose (EREMOVE_ERROR_MESSAGE): handing it
 * out again would give another enclave a page still in use. */
static void free_epc_page(struct drv_encl *encl, uint32_t frame)
{
	struct emu *emu = encl->emu;
	struct sgx_result r = hw_encls(emu_kernel_lp(emu), SGX_EREMOVE, 0, epc_kaddr(emu, frame), 0);
	if (!sgx_ok(r)) {
		char why[96];
		hw_result_format(r, why, sizeof(why));
		fprintf(stderr, "sgx2emu: EREMOVE of frame %u: %s; the frame is leaked\n", frame, why);
		return;
	}
	epc_free(emu, frame);
}

static long remove_pages(struct drv_encl *encl, struct sgx_enclave_remove_pages *p)
{
	struct emu *emu = encl->emu;
	/* RWX: a pure probe, EMODPR never restricts anything here */
	const struct sgx_secinfo probe = { .flags = PERM_MASK };
	uint64_t c;
	long ret = 0;

	for (c = 0; c < p->length; c += SGX_PAGE_SIZE) {
		struct drv_page *page = lock_and_load(encl, encl->base + p->offset + c, &ret);
		if (!page)
			goto unlock;
		if (page->type != SGX_PT_TRIM) {
			ret = -EPERM;
			goto unlock;
		}
		/* Was the trim accepted?  EMODPR answers RC 20 on a TRIM page
		 * still MODIFIED, and #PF (not REG) once the enclave EACCEPTed. */
		struct sgx_result r = encls_page(encl, SGX_EMODPR, &probe, page);
		if (r.vector != SGX_VEC_PF) {
			ret = -EPERM;
			goto unlock;
		}
		if (epc_unmark_reclaimable(emu, page->epc_frame)) {
			ret = -EBUSY;
			goto unlock;
		}
		zap_unlocked(encl, page);
		free_epc_page(encl, page->epc_frame);
		encl->secs_child_cnt--;
		page->epc_frame = HW_NO_FRAME;
		xa_erase(&encl->pages, page->addr >> 12);
		encl_shrink(encl);   /* VA pages are kept (Linux passes NULL) */
		free(page);
		pthread_mutex_unlock(&encl->lock);
	}
	p->count = c;
	return 0;
unlock:
	pthread_mutex_unlock(&encl->lock);
	p->count = c;
	return ret;
}

long ioctl_remove_pages(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_remove_pages p;
	long ret = sgx2_copy_in(proc, encl, arg, &p, sizeof(p));

	if (ret)
		return ret;
	if (p.count)
		return -EINVAL;
	ret = remove_pages(encl, &p);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}
