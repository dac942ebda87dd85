/*
 * EPA (ENCLS 0x0A) — RBX: PT_VA, RCX: target EPC page.  isa.md §4.6.
 * Turns a free EPC page into an empty version array (512 zero slots).
 * #GP if RBX ≠ PT_VA or RCX is not 4K-aligned; #PF(RCX) if RCX is not EPC or
 * already VALID.  No return codes.
 */
#include "../leaf.h"

LEAF(encls_epa)
{
	(void)rdx;
	REQUIRE(rbx == SGX_PT_VA, GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(target, rcx);
	struct hw_epcm_entry *epcm = epcm_of(lp->m, target);
	REQUIRE(!epcm->valid, PF(rcx));

	memset(epc_page_ptr(lp->m, target), 0, SGX_PAGE_SIZE);
	*epcm = (struct hw_epcm_entry){ .valid = true, .pt = SGX_PT_VA, .secs = HW_NO_FRAME };
	return OK;
}
