/*
 * EACCEPTCOPY (ENCLU 7, SGX2) — RBX: SECINFO, RCX: destination (an EAUG'd,
 * still PENDING page), RDX: source; all enclave memory.  isa.md §4.12.
 * Initializes the destination with a copy of the source and gives it the
 * SECINFO's rights in one step, so an enclave can create a code page (R-X)
 * that was never writable.  No tracking: a PENDING page has no TLB entries.
 *
 * Flow, first failing check wins (operands are translated through the LP's
 * page tables: unmapped is an ordinary #PF; EPCM refusals are #PF 0x8005):
 *   RBX not 64-byte aligned, RCX or RDX not 4K aligned  #GP(0)
 *   RBX, RCX or RDX outside ELRANGE                     #GP(0)
 *   RBX, RCX, RDX (in that order) not mapped / not EPC  #PF(that operand)
 *   SECINFO page not a readable, accepted REG page of
 *   this enclave at RBX                                 #PF(RBX)
 *   SECINFO reserved set, W without R, PT ≠ PT_REG      #GP(0)
 *   source not a readable, accepted, unblocked REG page
 *   of this enclave at RDX                              #PF(RDX)
 *   destination not VALID, not PENDING, MODIFIED,
 *   BLOCKED, not PT_REG, other enclave, rights ≠ RW-,
 *   or not at RCX                                       RC 19 SGX_PAGE_ATTRIBUTES_MISMATCH
 *   else copy 4 KiB, RWX ← SECINFO.RWX, PENDING ← 0     RAX 0, ZF 0
 * A fault inside the enclave becomes an AEX (dispatcher).
 *
 * Decisions: the SDM's two destination checks (before and after taking the
 * page lock) are one here, since leaves are serialized.  SECINFO.PENDING,
 * MODIFIED and PR are defined fields, not reserved: ignored.  The destination
 * is translated as a write (the leaf writes it), RBX and RDX as reads.
 */
#include "../leaf.h"

LEAF(enclu_eacceptcopy)
{
	const struct sgx_secs *secs = current_secs(lp);
	REQUIRE(aligned(rbx, 64), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(rdx, SGX_PAGE_SIZE), GP0);
	REQUIRE(in_elrange(secs, rbx), GP0);
	REQUIRE(in_elrange(secs, rcx), GP0);
	REQUIRE(in_elrange(secs, rdx), GP0);
	ENCLAVE_OPERAND(secinfo_host, secinfo_frame, rbx, HW_READ);
	REQUIRE(secinfo_frame != HW_NO_FRAME, PF(rbx));
	ENCLAVE_OPERAND(dst_host, dst_frame, rcx, HW_WRITE);
	REQUIRE(dst_frame != HW_NO_FRAME, PF(rcx));
	ENCLAVE_OPERAND(src_host, src_frame, rdx, HW_READ);
	REQUIRE(src_frame != HW_NO_FRAME, PF(rdx));
	REQUIRE(epcm_usable_reg(lp, secinfo_frame, rbx, true, false), PF(rbx));
	struct sgx_secinfo secinfo;
	memcpy(&secinfo, secinfo_host, sizeof(secinfo));
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED), GP0);
	REQUIRE(reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)), GP0);
	REQUIRE((secinfo.flags & SGX_SECINFO_R) || !(secinfo.flags & SGX_SECINFO_W), GP0);
	REQUIRE(secinfo_pt(secinfo.flags) == SGX_PT_REG, GP0);
	REQUIRE(epcm_usable_reg(lp, src_frame, rdx, true, false), PF(rdx));

	struct hw_epcm_entry *dst = epcm_of(lp->m, dst_frame);
	bool match = dst->valid && dst->pending && !dst->modified && !dst->blocked && dst->pt == SGX_PT_REG &&
		     dst->secs == lp->encl->secs_frame && dst->r && dst->w && !dst->x && dst->enclave_address == rcx;
	if (!match)
		return RC(SGX_PAGE_ATTRIBUTES_MISMATCH);

	memcpy(dst_host, src_host, SGX_PAGE_SIZE);
	dst->r = secinfo.flags & SGX_SECINFO_R;
	dst->w = secinfo.flags & SGX_SECINFO_W;
	dst->x = secinfo.flags & SGX_SECINFO_X;
	dst->pending = false;
	return OK;
}
