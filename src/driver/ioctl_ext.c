/*
 * sgx2emu's extension ioctls (include/sgx2emu/policy.h, numbers 0x80-0x84 on
 * SGX_MAGIC, outside upstream's 0x00-0x07), and the EMODPR loop that policy
 * mprotect-emodpr runs inside mprotect.  They make the designs of the
 * 2021-22 debate (../shared/spec/policies.md) runnable:
 *
 *   SET_POLICY          any policy, before CREATE only
 *   RELAX_PERMISSIONS   v2 (seed 000): new ⊆ max else EPERM, run ← new, PTEs
 *                       zapped; no ENCLS, no EACCEPT
 *   MODIFY_PERMISSIONS  v1 (seed 001's MODP): EMODPR to exactly the new
 *                       rights, relaxing too (sets PR: the enclave EACCEPTs)
 *   RESET_PERMISSIONS   reset (seed 004): EMODPR to no rights + ETRACK + IPI;
 *                       the enclave then EACCEPTs and EMODPEs what it wants
 *   AUGMENT_PAGES       the augment switch (Jarkko's RFC): EAUG a range
 *
 * A command the enclave's policy (or switches) lacks never gets here: it is
 * ENOTTY in encl_ioctl.  The others follow the SGX2 ioctls' contract
 * (ioctl_sgx2.c): ENODEV without SGX2 or under sgx1, EINVAL before INIT,
 * EFAULT for the argument, EINVAL for a bad range or non-zero output fields,
 * pages in ascending order, `count` = bytes done (written back also on
 * error), `result` = the SGX code of a failed leaf (then EFAULT).
 */
#include <errno.h>
#include <sched.h>

#include "driver.h"

#define PERM_MASK (SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X)
#define SW_MASK (SGX2EMU_SW_AUGMENT | SGX2EMU_SW_POPULATE | SGX2EMU_SW_ETRACK_PER_IOCTL)
/* EAUG retries of one page while the EPC is busy (frames being reclaimed) */
#define AUGMENT_BUSY_RETRIES 1000

static bool perms_ok(uint64_t perms)
{
	if (perms & ~PERM_MASK)
		return false;
	/* EMODPR would #GP on W without R; a PTE cannot be write-only */
	return !((perms & SGX_SECINFO_W) && !(perms & SGX_SECINFO_R));
}

/* The caller's range of pages through the per-page EMODPR body, with the
 * etrack-per-ioctl switch's single round at the end. */
static long emodpr_range(struct drv_encl *encl, uint64_t offset, uint64_t length, uint64_t perms, uint64_t *result,
			 uint64_t *count)
{
	uint64_t c;
	long ret = 0;

	for (c = 0; c < length; c += SGX_PAGE_SIZE) {
		ret = sgx2_emodpr_page(encl, encl->base + offset + c, perms, false, result);
		if (ret)
			break;
	}
	*count = c;
	ret = sgx2_etrack_deferred(encl, c, ret);
	return ret;
}

/* ---- SET_POLICY ---- */

/* Before CREATE only (EINVAL after): the policy and switches of this
 * enclave, replacing the run's defaults from emu_config.  EINVAL for an
 * unknown policy, unknown switch bits or fault_around above
 * POLICY_MAX_FAULT_AROUND. */
static long ioc_set_policy(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx2emu_set_policy p;

	if (atomic_load(&encl->flags) & DRV_ENCL_CREATED)
		return -EINVAL;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	if (p.policy >= EMU_POLICY_COUNT || (p.switches & ~SW_MASK) || p.fault_around > POLICY_MAX_FAULT_AROUND)
		return -EINVAL;
	pthread_mutex_lock(&encl->lock);
	encl->policy = (enum emu_policy)p.policy;
	encl->sw = (struct emu_switches){
		.augment = p.switches & SGX2EMU_SW_AUGMENT,
		.populate_on_mmap = p.switches & SGX2EMU_SW_POPULATE,
		.etrack_per_ioctl = p.switches & SGX2EMU_SW_ETRACK_PER_IOCTL,
		.fault_around = (unsigned)p.fault_around,
	};
	pthread_mutex_unlock(&encl->lock);
	return 0;
}

/* ---- RELAX_PERMISSIONS (v2) ---- */

/*
 * Per page: an entry must exist (EFAULT) and be REG (EINVAL); the new rights
 * must be within max (EPERM); run ← new; the page's PTEs are zapped so the
 * next fault installs VMA ∩ run.  Kernel bookkeeping only: the page is not
 * loaded (an evicted page stays evicted), no leaf runs.
 */
static long relax_permissions(struct drv_encl *encl, struct sgx2emu_relax_permissions *p)
{
	uint64_t c;
	long ret = 0;

	for (c = 0; c < p->length; c += SGX_PAGE_SIZE) {
		uint64_t addr = encl->base + p->offset + c;
		pthread_mutex_lock(&encl->lock);
		struct drv_page *page = xa_load(&encl->pages, addr >> 12);
		if (!page)
			ret = -EFAULT;
		else if (page->type != SGX_PT_REG)
			ret = -EINVAL;
		else if (p->permissions & ~page->vm_max_prot_bits)
			ret = -EPERM;
		else
			page->vm_run_prot_bits = (uint8_t)p->permissions;
		pthread_mutex_unlock(&encl->lock);
		if (ret)
			break;
		encl_zap_ptes(encl, addr);
	}
	p->count = c;
	return ret;
}

static long ioc_relax(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx2emu_relax_permissions p;
	long ret = sgx2_ready(encl);

	if (ret)
		return ret;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	if (!encl_validate_offset_length(encl, p.offset, p.length) || !perms_ok(p.permissions) || p.count)
		return -EINVAL;
	ret = relax_permissions(encl, &p);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

/* ---- MODIFY_PERMISSIONS (v1) ---- */

static long ioc_modify(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx2emu_modify_permissions p;
	long ret = sgx2_ready(encl);

	if (ret)
		return ret;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	if (!encl_validate_offset_length(encl, p.offset, p.length) || !perms_ok(p.permissions) || p.result || p.count)
		return -EINVAL;
	ret = emodpr_range(encl, p.offset, p.length, p.permissions, &p.result, &p.count);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

/* ---- RESET_PERMISSIONS (reset) ---- */

static long ioc_reset(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx2emu_reset_permissions p;
	long ret = sgx2_ready(encl);

	if (ret)
		return ret;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	if (!encl_validate_offset_length(encl, p.offset, p.length) || p.result || p.count)
		return -EINVAL;
	ret = emodpr_range(encl, p.offset, p.length, 0, &p.result, &p.count);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

/* ---- AUGMENT_PAGES (switch) ---- */

/*
 * EAUG every hole of the range (pages that exist are skipped and count as
 * done); no PTE is installed: the enclave's EACCEPT maps each page with one
 * not-present fault and no EAUG.  Per page: direct reclaim, then EAUG under
 * encl->lock; a busy EPC runs ksgxd and retries (EAGAIN after
 * AUGMENT_BUSY_RETRIES); no EPC left is ENOMEM; a failed EAUG EFAULT.
 */
static long augment_pages(struct drv_encl *encl, struct sgx2emu_augment_pages *p)
{
	struct emu *emu = encl->emu;
	uint64_t c;
	long ret = 0;
	unsigned busy = 0;

	for (c = 0; c < p->length;) {
		uint64_t addr = encl->base + p->offset + c;
		struct drv_page *page;
		int err = 0;
		reclaim_direct(emu);
		pthread_mutex_lock(&encl->lock);
		if (!xa_load(&encl->pages, addr >> 12))
			err = encl_eaug(encl, addr, &page);
		pthread_mutex_unlock(&encl->lock);
		if (err == -EBUSY) {
			if (++busy == AUGMENT_BUSY_RETRIES) {
				ret = -EAGAIN;
				break;
			}
			ksgxd_run(emu);
			sched_yield();
			continue;
		}
		if (err) {
			ret = err == -ENOSPC ? -ENOMEM : err;
			break;
		}
		busy = 0;
		c += SGX_PAGE_SIZE;
	}
	p->count = c;
	return ret;
}

static long ioc_augment(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx2emu_augment_pages p;
	long ret = sgx2_ready(encl);

	if (ret)
		return ret;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	if (!encl_validate_offset_length(encl, p.offset, p.length) || p.count)
		return -EINVAL;
	ret = augment_pages(encl, &p);
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

long ioctl_ext(struct emu_proc *proc, struct drv_encl *encl, unsigned long cmd, void *arg)
{
	switch (cmd) {
	case SGX2EMU_IOC_SET_POLICY:
		return ioc_set_policy(proc, encl, arg);
	case SGX2EMU_IOC_RELAX_PERMISSIONS:
		return ioc_relax(proc, encl, arg);
	case SGX2EMU_IOC_MODIFY_PERMISSIONS:
		return ioc_modify(proc, encl, arg);
	case SGX2EMU_IOC_RESET_PERMISSIONS:
		return ioc_reset(proc, encl, arg);
	case SGX2EMU_IOC_AUGMENT_PAGES:
		return ioc_augment(proc, encl, arg);
	default:
		return -ENOTTY;
	}
}

/* ---- mprotect-emodpr ---- */

/*
 * EMODPR(prot) + ETRACK on each REG page the enclave has in [start, end)
 * (holes, TCS and TRIM pages are skipped), mm lock held for write.  W implies
 * R as on x86.  Nothing to do before INIT (the loader's own mprotects) or on
 * an SGX1 CPU.  Errors cannot be told apart per page as an ioctl's
 * result/count would (seed 003): the first one ends the loop and is the
 * errno of the whole mprotect — EFAULT for an SGX code (PENDING or MODIFIED
 * page) or a faulting leaf, EAGAIN for a page being reclaimed.
 */
int ext_mprotect_emodpr(struct drv_encl *encl, uint64_t start, uint64_t end, unsigned prot)
{
	uint64_t perms = prot & PERM_MASK;
	uint64_t result = 0;
	bool any = false;
	long ret = 0;

	if (perms & SGX_SECINFO_W)
		perms |= SGX_SECINFO_R;
	if (!(atomic_load(&encl->flags) & DRV_ENCL_INITIALIZED) || !policy_sgx2(encl))
		return 0;
	for (uint64_t index = start >> 12; index <= (end - 1) >> 12; index++) {
		pthread_mutex_lock(&encl->lock);
		struct drv_page *page = xa_find(&encl->pages, &index, (end - 1) >> 12);
		bool reg = page && page->type == SGX_PT_REG;
		pthread_mutex_unlock(&encl->lock);
		if (!page)
			break;
		if (!reg)
			continue;
		ret = sgx2_emodpr_page(encl, index << 12, perms, true, &result);
		if (ret)
			break;
		any = true;
	}
	ret = sgx2_etrack_deferred(encl, any, ret);
	return (int)ret;
}
