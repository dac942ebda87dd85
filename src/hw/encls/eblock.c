/*
 * EBLOCK (ENCLS 0x09) — RCX: EPC page.  isa.md §4.6.
 * Marks a child page BLOCKED: new TLB fills of it fault, entries already in
 * some LP's TLB keep working until that LP leaves the enclave, which is what
 * ETRACK then waits for before EWB.  The epoch of the block is recorded in
 * EPCM.bepoch.
 *   #GP RCX not 4K-aligned; #PF(RCX) not EPC.  Then codes only:
 *   RC 6 SGX_PG_INVLD (ZF): page not VALID;
 *   CF=1 RC 18 SGX_PG_IS_SECS / RC 5 SGX_NOTBLOCKABLE: SECS / VA page;
 *   CF=1 RC 3 SGX_BLKSTATE: already blocked (epoch of the first block kept).
 * RC 7 and RC 15 need concurrent leaves, which the machine lock excludes.
 */
#include "../leaf.h"

LEAF(encls_eblock)
{
	(void)rbx;
	(void)rdx;
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(frame, rcx);
	struct hw_epcm_entry *epcm = epcm_of(lp->m, frame);
	if (!epcm->valid)
		return RC(SGX_PG_INVLD);
	if (!is_child_type(epcm->pt))
		return INFO(epcm->pt == SGX_PT_SECS ? SGX_PG_IS_SECS : SGX_NOTBLOCKABLE);
	if (epcm->blocked)
		return INFO(SGX_BLKSTATE);
	epcm->blocked = true;
	epcm->bepoch = enclave_of_secs(lp->m, epcm->secs)->epoch;
	return OK;
}
