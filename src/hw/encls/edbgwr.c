/*
 * EDBGWR (ENCLS 0x05) — RBX: quadword to write, RCX: address in the EPC.
 * isa.md §4.7.
 *
 * Flow: RCX 8-byte aligned (#GP; 64-bit mode), in the EPC (#PF(RCX)); EPCM
 * VALID (#PF(RCX)); PT ∈ {REG, TCS} (#PF(RCX): SECS, VA and TRIM pages can
 * never be written); PENDING or MODIFIED → RC 21 (SGX_PAGE_NOT_DEBUGGABLE);
 * in a TCS only the FLAGS quadword (#GP) — a debugger may set DBGOPTIN, never
 * the CPU-owned STATE/CSSA/AEP; enclave not in debug mode (#GP).  EPCM R/W/X
 * are not consulted, and an initialized enclave is as writable as one being
 * built.  (No CET shadow-stack pages exist in the model, so PT_SS_* cannot
 * occur.)
 */
#include "../leaf.h"

LEAF(encls_edbgwr)
{
	(void)rdx;
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(rcx, 8), GP0);
	EPC_OPERAND(frame, rcx);
	const struct hw_epcm_entry *epcm = epcm_of(m, frame);
	REQUIRE(epcm->valid, PF(rcx));
	REQUIRE(epcm->pt == SGX_PT_REG || epcm->pt == SGX_PT_TCS, PF(rcx));
	if (epcm->pending || epcm->modified)
		return RC(SGX_PAGE_NOT_DEBUGGABLE);
	REQUIRE(epcm->pt != SGX_PT_TCS || (rcx & ~SGX_PAGE_MASK) == offsetof(struct sgx_tcs, flags), GP0);
	const struct hw_enclave *e = enclave_of_secs(m, epcm->secs);
	REQUIRE(e && (secs_page(m, e)->attributes.flags & SGX_ATTR_DEBUG), GP0);

	memcpy((void *)(uintptr_t)rcx, &rbx, sizeof(rbx));
	return OK;
}
