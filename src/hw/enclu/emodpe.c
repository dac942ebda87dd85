/*
 * EMODPE (ENCLU 6, SGX2) — RBX: SECINFO (enclave memory), RCX: page.
 * isa.md §4.13.  The enclave extends the rights of one of its own accepted
 * REG pages: R/W/X |= SECINFO.R/W/X.  Extending needs no tracking (no TLB
 * entry can hold more than the new rights), so there is no EACCEPT step and
 * no return code; PR is neither checked nor changed.  The OS's page tables
 * must allow the access separately (mprotect).
 *
 * Flow, first failing check wins (operands are translated through the LP's
 * page tables: an unmapped operand is an ordinary #PF, error code without
 * bit 15; EPCM refusals are #PF with P|U|SGX = 0x8005):
 *   RBX not 64-byte aligned, RCX not 4K aligned        #GP(0)
 *   RBX or RCX outside ELRANGE                          #GP(0)
 *   RBX not mapped / not EPC                            #PF(RBX)
 *   RCX not mapped / not EPC                            #PF(RCX)
 *   SECINFO page not a readable, accepted REG page of
 *   this enclave at RBX                                 #PF(RBX)
 *   SECINFO reserved bits or bytes set                  #GP(0)
 *   target not VALID, PENDING, MODIFIED, BLOCKED, not
 *   PT_REG, other enclave, or not at RCX                #PF(RCX)
 *   EPCM.R = 0 and SECINFO gives W without R            #GP(0)
 *   else rights extended                                ok
 * A fault inside the enclave becomes an AEX (dispatcher).
 *
 * Decision: SECINFO.PT, PENDING, MODIFIED and PR are defined fields, not
 * reserved ones; EMODPE reads only R/W/X and ignores the rest (SDM 2018).
 * The target's ENCLAVEADDRESS is compared as in the SDM's re-check.
 */
#include "../leaf.h"

LEAF(enclu_emodpe)
{
	(void)rdx;
	const struct sgx_secs *secs = current_secs(lp);
	REQUIRE(aligned(rbx, 64), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	REQUIRE(in_elrange(secs, rbx), GP0);
	REQUIRE(in_elrange(secs, rcx), GP0);
	ENCLAVE_OPERAND(secinfo_host, secinfo_frame, rbx, HW_READ);
	REQUIRE(secinfo_frame != HW_NO_FRAME, PF(rbx));
	ENCLAVE_OPERAND(page_host, page_frame, rcx, HW_READ);
	(void)page_host;
	REQUIRE(page_frame != HW_NO_FRAME, PF(rcx));
	REQUIRE(epcm_usable_reg(lp, secinfo_frame, rbx, true, false), PF(rbx));
	struct sgx_secinfo secinfo;
	memcpy(&secinfo, secinfo_host, sizeof(secinfo));
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED), GP0);
	REQUIRE(reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)), GP0);

	struct hw_epcm_entry *ep = epcm_of(lp->m, page_frame);
	REQUIRE(ep->valid, PF(rcx));
	REQUIRE(!ep->pending, PF(rcx));
	REQUIRE(!ep->modified, PF(rcx));
	REQUIRE(!ep->blocked, PF(rcx));
	REQUIRE(ep->pt == SGX_PT_REG, PF(rcx));
	REQUIRE(ep->secs == lp->encl->secs_frame, PF(rcx));
	REQUIRE(ep->enclave_address == rcx, PF(rcx));
	REQUIRE(ep->r || (secinfo.flags & SGX_SECINFO_R) || !(secinfo.flags & SGX_SECINFO_W), GP0);

	ep->r = ep->r || (secinfo.flags & SGX_SECINFO_R);
	ep->w = ep->w || (secinfo.flags & SGX_SECINFO_W);
	ep->x = ep->x || (secinfo.flags & SGX_SECINFO_X);
	return OK;
}
