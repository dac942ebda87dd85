/*
 * EAUG (ENCLS 0x0D, SGX2) — RBX: PAGEINFO, RCX: target EPC page.  isa.md §4.8.
 * Adds a zeroed, PENDING, RW- REG page to an initialized enclave; the enclave
 * must EACCEPT (or EACCEPTCOPY) it before use.  Not measured, no tracking
 * needed.  #GP / #PF only, no codes.
 *
 * Flow, first failing check wins (#PF error code P|SGX = 0x8001):
 *   RBX not 32-byte aligned, RCX not 4K aligned         #GP(0)
 *   RCX not in the EPC                                   #PF(RCX)
 *   PAGEINFO.SECS or LINADDR not 4K aligned              #GP(0)
 *   PAGEINFO.SRCPGE ≠ 0, PAGEINFO.SECINFO ≠ 0            #GP(0)
 *   SECS not in the EPC                                  #PF(SECS)
 *   EPCM(RCX).VALID = 1                                  #PF(RCX)
 *   EPCM(SECS) not a valid PT_SECS                       #PF(SECS)
 *   enclave not initialized (EADD is for that)           #GP(0)
 *   LINADDR outside ELRANGE                              #GP(0)
 *   else page zeroed, EPCM ← {REG, RW-, PENDING}         ok
 * Decision: PAGEINFO.SECINFO must be 0 (2018 SDM; the model has no CET shadow
 * stacks, so the CET-era SECINFO for PT_SS_* is refused with #GP).
 */
#include "../leaf.h"

LEAF(encls_eaug)
{
	(void)rdx;
	REQUIRE(aligned(rbx, 32), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(target, rcx);
	KERNEL_OPERAND(const struct sgx_pageinfo, pageinfo, rbx);
	REQUIRE(aligned(pageinfo->secs, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(pageinfo->linaddr, SGX_PAGE_SIZE), GP0);
	REQUIRE(pageinfo->srcpge == 0, GP0);
	REQUIRE(pageinfo->secinfo == 0, GP0);
	EPC_OPERAND(secs_frame, pageinfo->secs);

	struct hw_epcm_entry *epcm = epcm_of(lp->m, target);
	REQUIRE(!epcm->valid, PF(rcx));
	const struct hw_epcm_entry *secs_epcm = epcm_of(lp->m, secs_frame);
	REQUIRE(secs_epcm->valid, PF(pageinfo->secs));
	REQUIRE(secs_epcm->pt == SGX_PT_SECS, PF(pageinfo->secs));
	struct hw_enclave *e = enclave_of_secs(lp->m, secs_frame);
	REQUIRE(e->initialized, GP0);
	REQUIRE(in_elrange(secs_page(lp->m, e), pageinfo->linaddr), GP0);

	memset(epc_page_ptr(lp->m, target), 0, SGX_PAGE_SIZE);
	*epcm = (struct hw_epcm_entry){
		.valid = true, .r = true, .w = true, .pending = true,
		.pt = SGX_PT_REG,
		.secs = secs_frame,
		.enclave_address = pageinfo->linaddr,
	};
	e->children++;
	return OK;
}
