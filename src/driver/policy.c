/*
 * Kernel permission policies (../shared/spec/policies.md, docs/driver.md
 * "Policies").  Every decision in which the designs of the 2021–22 debate
 * differ is taken here, behind small functions that the Linux-shaped code
 * paths call (encl.c, mm.c, fault.c, ioctl.c, ioctl_sgx2.c); the extension
 * ioctls are in ioctl_ext.c.
 *
 *   policy     may_map       fault-path VMA check  PTE        EAUG'd max  permission ioctls
 *   upstream   VMA ⊆ max     VMA ⊆ max (SIGBUS)    VMA        RWX         RESTRICT
 *   sgx1       VMA ⊆ max     VMA ⊆ max (SIGBUS)    VMA        no EAUG     — (SGX2 ioctls ENODEV)
 *   v1         VMA ⊆ max     none                  VMA ∩ max  RW          MODIFY (always EMODPR)
 *   v2         VMA ⊆ run     none                  VMA ∩ run  RW = run    RESTRICT, RELAX
 *   reset      VMA ⊆ max     VMA ⊆ max (SIGBUS)    VMA        RWX         RESET
 *   mprotect-emodpr  as upstream; mprotect runs EMODPR + ETRACK       RWX  —
 * may_map never checks holes.  MODIFY_TYPES and REMOVE_PAGES exist under
 * every policy (ENODEV under sgx1).  v1 and v2 have a pfn_mkwrite handler: a
 * write through a read-only PTE of a writable VMA is SIGBUS unless max (v1) /
 * run (v2) has W, so the enclave sees an ordinary #PF (0x7), not an EPCM one.
 *
 * Switches (any policy): AUGMENT_PAGES, MAP_POPULATE on the device, one
 * ETRACK + IPI round per call instead of per page, fault-around.
 *
 * encl->policy and encl->sw change only before CREATE (SET_POLICY, under
 * encl->lock); readers either hold encl->lock or run after CREATE.
 */
#include <errno.h>
#include <string.h>

#include "driver.h"

static const char *const names[EMU_POLICY_COUNT] = {
	[EMU_POLICY_UPSTREAM] = "upstream",
	[EMU_POLICY_SGX1] = "sgx1",
	[EMU_POLICY_V1] = "v1",
	[EMU_POLICY_V2] = "v2",
	[EMU_POLICY_RESET] = "reset",
	[EMU_POLICY_MPROTECT_EMODPR] = "mprotect-emodpr",
};

const char *emu_policy_name(enum emu_policy p)
{
	return (unsigned)p < EMU_POLICY_COUNT ? names[p] : "unknown";
}

int emu_policy_from_name(const char *name, enum emu_policy *out)
{
	for (unsigned i = 0; name && i < EMU_POLICY_COUNT; i++)
		if (!strcmp(name, names[i])) {
			*out = (enum emu_policy)i;
			return 0;
		}
	return -1;
}

bool policy_config_ok(enum emu_policy p, const struct emu_switches *sw)
{
	return (unsigned)p < EMU_POLICY_COUNT && sw->fault_around <= POLICY_MAX_FAULT_AROUND;
}

/* ---- which operations exist ---- */

bool policy_sgx2(const struct drv_encl *encl)
{
	return encl->policy != EMU_POLICY_SGX1 && drv_has_sgx2(encl->emu);
}

/*
 * false: the ioctl does not exist under this enclave's policy, and is ENOTTY
 * exactly like an unknown command (after the EBUSY test, as Linux's switch).
 * The SGX2 ioctls of upstream exist under sgx1 (they answer ENODEV there, as
 * on an SGX1 CPU); AUGMENT exists where its switch is on.
 */
bool policy_ioctl_exists(const struct drv_encl *encl, unsigned long cmd)
{
	enum emu_policy p = encl->policy;

	switch (cmd) {
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		return p == EMU_POLICY_UPSTREAM || p == EMU_POLICY_SGX1 || p == EMU_POLICY_V2;
	case SGX2EMU_IOC_RELAX_PERMISSIONS:
		return p == EMU_POLICY_V2;
	case SGX2EMU_IOC_MODIFY_PERMISSIONS:
		return p == EMU_POLICY_V1;
	case SGX2EMU_IOC_RESET_PERMISSIONS:
		return p == EMU_POLICY_RESET;
	case SGX2EMU_IOC_AUGMENT_PAGES:
		return encl->sw.augment;
	default:
		return true;
	}
}

/* ---- permissions of a page ---- */

/* What sgx_encl_may_map compares a new VMA with: v2's kernel copy of the
 * EPCM rights, everyone else the vetted maximum. */
unsigned policy_map_limit(const struct drv_page *page)
{
	return page->encl->policy == EMU_POLICY_V2 ? page->vm_run_prot_bits : page->vm_max_prot_bits;
}

/* v1 and v2 let an existing VMA exceed what the page allows now (seed 001):
 * the PTE is narrowed instead.  The others SIGBUS a VMA beyond max. */
bool policy_fault_vma_ok(const struct drv_page *page, unsigned vm_prot)
{
	enum emu_policy p = page->encl->policy;
	if (p == EMU_POLICY_V1 || p == EMU_POLICY_V2)
		return true;
	return !((vm_prot & DRV_VM_PROT) & ~page->vm_max_prot_bits);
}

/* The PTE of a page mapped through a VMA with vm_prot.  The mapping is
 * shared, so a PTE that may be writable is writable at once (VM_SHARED). */
unsigned policy_pte_prot(const struct drv_page *page, unsigned vm_prot)
{
	unsigned prot = vm_prot & DRV_VM_PROT;
	switch (page->encl->policy) {
	case EMU_POLICY_V1:
		return prot & page->vm_max_prot_bits;
	case EMU_POLICY_V2:
		return prot & page->vm_run_prot_bits;
	default:
		return prot;
	}
}

/* vm_ops->pfn_mkwrite: absent (false, *allowed untouched) except under v1
 * and v2, where a write needs W in max / run. */
bool policy_pfn_mkwrite(const struct drv_page *page, bool *allowed)
{
	switch (page->encl->policy) {
	case EMU_POLICY_V1:
		*allowed = page->vm_max_prot_bits & DRV_VM_WRITE;
		return true;
	case EMU_POLICY_V2:
		*allowed = page->vm_run_prot_bits & DRV_VM_WRITE;
		return true;
	default:
		return false;
	}
}

/* ADD_PAGES: run starts equal to max (seed 000 step 1). */
void policy_page_added(struct drv_page *page, uint8_t max)
{
	page->vm_max_prot_bits = max;
	page->vm_run_prot_bits = max;
}

/* EAUG'd pages: RW in v1/v2 (executable dynamic pages were left "TBD"),
 * RWX otherwise (the enclave decides with EACCEPT/EMODPE, Linux 6.0). */
void policy_page_augmented(struct drv_page *page)
{
	enum emu_policy p = page->encl->policy;
	uint8_t max = (p == EMU_POLICY_V1 || p == EMU_POLICY_V2) ? DRV_VM_READ | DRV_VM_WRITE : DRV_VM_PROT;
	policy_page_added(page, max);
}

/* MODIFY_TYPES REG→TCS narrows max; run may never exceed it. */
void policy_page_narrow(struct drv_page *page, uint8_t max)
{
	page->vm_max_prot_bits = max;
	page->vm_run_prot_bits &= max;
}

/* ---- permission changes ---- */

/* v2: RESTRICT updates run and zaps PTEs before its EMODPR. */
bool policy_tracks_run(const struct drv_encl *encl)
{
	return encl->policy == EMU_POLICY_V2;
}

/*
 * run after RESTRICT(perms).  Decision: run ← run ∩ perms, which is the
 * table's "run ← new" for every real restriction (perms ⊆ run) and, for a
 * perms with rights the page does not have, what EMODPR leaves in the EPCM
 * (it only clears rights): the kernel's copy never claims more than the CPU.
 */
uint8_t policy_restricted_run(const struct drv_page *page, uint64_t perms)
{
	return page->vm_run_prot_bits & (perms & DRV_VM_PROT);
}

/* EMODPR-issuing calls: v1's MODIFY may not go beyond the vetted maximum
 * (decision: as V1's MODP, seed 002's intent); 0 or -EPERM. */
int policy_modp_check(const struct drv_page *page, uint64_t perms)
{
	if (page->encl->policy == EMU_POLICY_V1 && (perms & DRV_VM_PROT & ~page->vm_max_prot_bits))
		return -EPERM;
	return 0;
}

bool policy_etrack_per_page(const struct drv_encl *encl)
{
	return !encl->sw.etrack_per_ioctl;
}

/* ---- EAUG ---- */

/* Pages EAUGed per EAUG fault, the faulting one included. */
unsigned policy_fault_around(const struct drv_encl *encl)
{
	return encl->sw.fault_around > 1 ? encl->sw.fault_around : 1;
}

/* MAP_POPULATE of the device EAUGs the mapped holes (switch; initialized
 * enclave with EAUG).  Without the switch Linux ignores MAP_POPULATE on a
 * VM_PFNMAP | VM_IO mapping. */
bool policy_populate(const struct drv_encl *encl)
{
	return (atomic_load(&encl->flags) & DRV_ENCL_INITIALIZED) && encl->sw.populate_on_mmap && policy_sgx2(encl);
}

/* ---- mprotect ---- */

/*
 * vm_ops->mprotect (sgx_vma_mprotect) for [start, end) of an enclave VMA:
 * sgx_encl_may_map, and under mprotect-emodpr EMODPR(prot) + ETRACK on every
 * page of the range (ioctl_ext.c).  Called before the VMA is split or
 * changed, as Linux calls the hook, so an EMODPR failure leaves the VMA as it
 * was with the pages before it already restricted.  0 or -errno.
 */
int policy_vma_mprotect(struct drv_encl *encl, uint64_t start, uint64_t end, unsigned prot, struct drv_mm *mm)
{
	int ret = encl_may_map(encl, start, end, prot, mm);
	if (ret || encl->policy != EMU_POLICY_MPROTECT_EMODPR)
		return ret;
	return ext_mprotect_emodpr(encl, start, end, prot);
}
