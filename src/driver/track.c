/*
 * Keeping LPs and page tables in step with EPCM changes (linux-driver.md §4.1):
 * the enclave's cpumask, ETRACK followed by IPIs, and PTE zapping in every mm
 * that maps the enclave.
 *
 * mm_list is read under encl->mm_lock instead of SRCU.  mm->lock must not be
 * taken with mm_lock held (sgx_mmap holds mmap_lock and then adds to the
 * list), so the zap walk takes a reference on each live mm under mm_lock
 * (mmget_not_zero), drops mm_lock, and then locks each mm on its own.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"

/* mmget_not_zero: a dying mm (users already 0) is skipped, not revived. */
static bool mm_get_not_zero(struct drv_mm *mm)
{
	int users = atomic_load(&mm->users);
	while (users > 0)
		if (atomic_compare_exchange_weak(&mm->users, &users, users + 1))
			return true;
	return false;
}

/*
 * sgx_encl_cpumask.  Called after ETRACK by encl_etrack, so an LP that enters
 * the enclave later (and so already sees the new epoch) may be missing from
 * the mask without harm.  No mm reference is taken: an mm stays on mm_list
 * until it is removed under mm_lock, which we hold.
 */
uint64_t encl_cpumask(struct drv_encl *encl)
{
	uint64_t mask = 0;

	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		if (atomic_load(&em->mm->users) > 0)
			mask |= atomic_load(&em->mm->cpumask);
	pthread_mutex_unlock(&encl->mm_lock);
	return mask;
}

/*
 * on_each_cpu_mask(mask, empty callback, wait = 1).  An LP outside enclave
 * mode takes the IPI at once (a TLB flush).  One inside has it posted and
 * takes it, as an AEX, at its next instruction boundary on its own host
 * thread; we wait until it has, or until it left enclave mode some other way
 * (EEXIT), which is what the IPI is for.  The caller's own LP cannot be inside
 * an enclave while its thread is in the kernel, so it is never waited for.
 */
void emu_send_ipis(struct emu *emu, uint64_t mask)
{
	unsigned nr = hw_nr_lps(emu->m);
	uint64_t posted = 0;
	struct emu_thread *self = emu_current_thread();
	struct hw_lp *own = self ? self->lp : NULL;
	unsigned targets = 0;

	for (unsigned i = 0; i < nr && i < 64; i++) {
		if (!(mask & (1ull << i)))
			continue;
		struct hw_lp *lp = hw_lp_get(emu->m, i);
		targets += lp != own;
		if (!hw_lp_send_ipi(lp) && lp != own)
			posted |= 1ull << i;
	}
	if (mask) {   /* one round; the caller's own LP runs it without an interrupt */
		EMU_COUNT(emu, ipis);
		EMU_COUNT_N(emu, ipi_targets, targets);
	}
	for (unsigned i = 0; i < nr && i < 64; i++) {
		if (!(posted & (1ull << i)))
			continue;
		struct hw_lp *lp = hw_lp_get(emu->m, i);
		while (hw_lp_ipi_outstanding(lp))
			sched_yield();
	}
}

static struct sgx_result etrack(struct drv_encl *encl)
{
	struct emu *emu = encl->emu;
	EMU_COUNT(emu, etracks);
	return hw_encls(emu_kernel_lp(emu), SGX_ETRACK, 0, epc_kaddr(emu, encl->secs.epc_frame), 0);
}

/*
 * sgx_enclave_etrack, encl->lock held (with the EMODPR/EMODT just done).  The
 * SECS is resident: a child page was loaded under the same lock.  ETRACK
 * fails (RC 17) while an LP from the previous cycle is still inside; the IPI
 * makes it leave and the retry succeeds.  The final IPI forces every LP
 * inside out (AEX), so the cycle this ETRACK started completes and the
 * enclave's EACCEPT after re-entry does not see SGX_NOT_TRACKED.  The kernel
 * does not itself wait for tracking beyond that.
 */
int encl_etrack(struct drv_encl *encl)
{
	struct sgx_result r = etrack(encl);

	if (!sgx_ok(r)) {
		static atomic_flag warned = ATOMIC_FLAG_INIT;
		if (!atomic_flag_test_and_set(&warned)) {
			char why[96];
			hw_result_format(r, why, sizeof(why));
			fprintf(stderr, "sgx2emu: ETRACK: %s, retrying after IPIs\n", why);
		}
		emu_send_ipis(encl->emu, encl_cpumask(encl));
		if (!sgx_ok(etrack(encl)))
			return -EFAULT;
	}
	emu_send_ipis(encl->emu, encl_cpumask(encl));
	return 0;
}

/* Live mms of mm_list, each with a reference; *version: mm_list_version read
 * under the same lock.  NULL with *nr = 0 when there are none (or no memory:
 * then *nr is SIZE_MAX and the caller retries). */
static struct drv_mm **snapshot_mms(struct drv_encl *encl, size_t *nr, uint64_t *version)
{
	struct drv_mm **mms = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&encl->mm_lock);
	*version = encl->mm_list_version;
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		cap++;
	if (cap) {
		mms = malloc(cap * sizeof(*mms));
		if (!mms) {
			pthread_mutex_unlock(&encl->mm_lock);
			*nr = SIZE_MAX;
			return NULL;
		}
	}
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		if (mm_get_not_zero(em->mm))
			mms[n++] = em->mm;
	pthread_mutex_unlock(&encl->mm_lock);
	*nr = n;
	return mms;
}

static void zap_in_mm(struct drv_encl *encl, struct drv_mm *mm, uint64_t addr)
{
	pthread_rwlock_rdlock(&mm->lock);
	/* sgx_encl_find: an SGX VMA of this very enclave covering addr */
	struct drv_vma *vma = mm_find_vma(mm, addr);
	if (vma && vma->start <= addr && addr < vma->end && (vma->flags & DRV_VMA_SGX) && vma->encl == encl)
		mm_zap_range(mm, addr, addr + SGX_PAGE_SIZE);
	pthread_rwlock_unlock(&mm->lock);
}

/*
 * sgx_zap_enclave_ptes, encl->lock NOT held (lock order: mm->lock before
 * encl->lock).  An mm added while we walked (fork, a new mmap) may have
 * copied the PTE we are removing, so the walk repeats until mm_list_version
 * is unchanged across it.
 */
void encl_zap_ptes(struct drv_encl *encl, uint64_t addr)
{
	uint64_t version, now;

	do {
		size_t nr;
		struct drv_mm **mms = snapshot_mms(encl, &nr, &version);
		if (nr == SIZE_MAX) {
			sched_yield();
			now = version + 1;   /* retry */
			continue;
		}
		for (size_t i = 0; i < nr; i++) {
			zap_in_mm(encl, mms[i], addr);
			mm_put(mms[i]);
		}
		free(mms);
		pthread_mutex_lock(&encl->mm_lock);
		now = encl->mm_list_version;
		pthread_mutex_unlock(&encl->mm_lock);
	} while (now != version);
}
