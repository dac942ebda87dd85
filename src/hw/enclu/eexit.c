/*
 * EEXIT (ENCLU 4) — RBX: target address outside the enclave.  isa.md §4.16.
 * Inside enclave mode only (else #GP, checked by the dispatcher).
 *   RBX non-canonical → #GP (inside the enclave, so an AEX).
 * Effects: RIP ← RBX, RCX ← AEP, outside FS/GS restored, TCS inactive,
 * enclave mode off (which deregisters the LP from its epoch), TLB flushed.
 * GPRs (RSP/RBP included) are not scrubbed or restored: that is enclave
 * software's job.  No return codes, no flags.
 */
#include "entry.h"

LEAF(enclu_eexit)
{
	(void)rcx;
	(void)rdx;
	REQUIRE(canonical(rbx), GP0);
	struct sgx_tcs *tcs = (struct sgx_tcs *)epc_page_ptr(lp->m, lp->tcs_frame);
	lp->regs.rip = rbx;
	lp->regs.rcx = tcs->aep;
	exit_enclave_mode(lp, tcs);
	return OK;
}
