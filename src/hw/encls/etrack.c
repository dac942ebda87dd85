/*
 * ETRACK (ENCLS 0x0C) — RCX: SECS.  isa.md §4.6.
 * Starts a new tracking epoch.  The cycle it starts is complete once every LP
 * that was inside the enclave at this point has left it (EEXIT or AEX); EWB
 * and EACCEPT then see the blocked / modified pages as tracked.
 * #GP unaligned, #PF not an EPC SECS; RC 17 (SGX_PREV_TRK_INCMPL) while the
 * previous cycle still has LPs inside.
 */
#include "../leaf.h"

LEAF(encls_etrack)
{
	(void)rbx;
	(void)rdx;
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(secs_frame, rcx);
	const struct hw_epcm_entry *epcm = epcm_of(lp->m, secs_frame);
	REQUIRE(epcm->valid && epcm->pt == SGX_PT_SECS, PF(rcx));
	struct hw_enclave *e = enclave_of_secs(lp->m, secs_frame);
	if (!tracking_cycle_complete(lp->m, e))
		return RC(SGX_PREV_TRK_INCMPL);
	e->epoch++;
	e->tracked_epoch = e->epoch;
	return OK;
}
