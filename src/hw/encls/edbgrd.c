/*
 * EDBGRD (ENCLS 0x04) — RCX: address in the EPC; the quadword read goes to
 * RBX (RAX/ZF carry the return code).  isa.md §4.7.
 *
 * Flow: RCX 8-byte aligned (#GP; the model's kernel is always in 64-bit
 * mode), in the EPC (#PF(RCX)); EPCM VALID (#PF(RCX)); PT ∈ {REG, TCS, VA}
 * (#PF(RCX)); PENDING or MODIFIED → RC 21 (SGX_PAGE_NOT_DEBUGGABLE); in a
 * TCS only below SGX_TCS_LIMIT (#GP); REG/TCS page of a non-debug enclave
 * (#GP).  A VA slot reads as all-ones when occupied, 0 when empty: the
 * version itself never leaves the CPU.  EPCM R/W/X are not consulted.
 *
 * Decisions:
 * - A SECS page is refused with #PF(RCX), as the SDM's EDBGRD pseudocode has
 *   it (its prose exception list says #GP; isa.md §4.7 follows the
 *   pseudocode).  A debugger reads SECS fields through REPORT-like paths,
 *   not EDBGRD; a TRIM page (and any other type) is refused the same way.
 * - SGX_TCS_LIMIT, "the architectural size of the TCS", is taken as the end
 *   of its defined fields (72, where TCS.RESERVED starts).
 * - The model has no CET shadow-stack pages, so PT_SS_* cannot occur.
 */
#include "../leaf.h"

#define SGX_TCS_LIMIT offsetof(struct sgx_tcs, reserved)

LEAF(encls_edbgrd)
{
	(void)rbx;
	(void)rdx;
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(rcx, 8), GP0);
	EPC_OPERAND(frame, rcx);
	const struct hw_epcm_entry *epcm = epcm_of(m, frame);
	REQUIRE(epcm->valid, PF(rcx));
	REQUIRE(epcm->pt == SGX_PT_REG || epcm->pt == SGX_PT_TCS || epcm->pt == SGX_PT_VA, PF(rcx));
	if (epcm->pending || epcm->modified)
		return RC(SGX_PAGE_NOT_DEBUGGABLE);
	REQUIRE(epcm->pt != SGX_PT_TCS || (rcx & ~SGX_PAGE_MASK) < SGX_TCS_LIMIT, GP0);

	uint64_t value;
	memcpy(&value, (const void *)(uintptr_t)rcx, sizeof(value));
	if (epcm->pt == SGX_PT_VA) {
		lp->regs.rbx = value ? ~0ull : 0;
		return OK;
	}
	const struct hw_enclave *e = enclave_of_secs(m, epcm->secs);
	REQUIRE(e && (secs_page(m, e)->attributes.flags & SGX_ATTR_DEBUG), GP0);
	lp->regs.rbx = value;
	return OK;
}
