/*
 * EADD (ENCLS 0x01) — RBX: PAGEINFO, RCX: target EPC page.  isa.md §4.2.
 * Copies a REG or TCS page into an uninitialized enclave and measures the
 * EADD block.  #GP for malformed operands, a TCS with reserved bits, W
 * without R, LINADDR outside ELRANGE or an initialized enclave; #PF for
 * non-EPC operands, a used target, or a SECS that is not one.
 */
#include "../leaf.h"

LEAF(encls_eadd)
{
	(void)rdx;
	REQUIRE(aligned(rbx, 32), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(target, rcx);
	KERNEL_OPERAND(const struct sgx_pageinfo, pageinfo, rbx);
	REQUIRE(aligned(pageinfo->srcpge, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(pageinfo->secs, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(pageinfo->secinfo, 64), GP0);
	REQUIRE(aligned(pageinfo->linaddr, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(secs_frame, pageinfo->secs);

	KERNEL_OPERAND(const struct sgx_secinfo, secinfo_src, pageinfo->secinfo);
	struct sgx_secinfo secinfo = *secinfo_src;
	uint64_t pt = secinfo_pt(secinfo.flags);
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED) && reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)),
		GP0);
	REQUIRE(pt == SGX_PT_REG || pt == SGX_PT_TCS, GP0);
	/* PENDING, MODIFIED and PR belong to SGX2 flows, never to EADD. */
	REQUIRE(!(secinfo.flags & (SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED | SGX_SECINFO_PR)), GP0);

	struct hw_epcm_entry *epcm = epcm_of(lp->m, target);
	REQUIRE(!epcm->valid, PF(rcx));
	const struct hw_epcm_entry *secs_epcm = epcm_of(lp->m, secs_frame);
	REQUIRE(secs_epcm->valid && secs_epcm->pt == SGX_PT_SECS, PF(pageinfo->secs));
	struct hw_enclave *e = enclave_of_secs(lp->m, secs_frame);
	const struct sgx_secs *secs = secs_page(lp->m, e);

	KERNEL_OPERAND(const uint8_t, src, pageinfo->srcpge);
	uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096))); /* read as a struct sgx_tcs */
	memcpy(page, src, sizeof(page));
	if (pt == SGX_PT_TCS) {
		const struct sgx_tcs *tcs = (const struct sgx_tcs *)page;
		REQUIRE(reserved_zero(tcs->reserved, sizeof(tcs->reserved)), GP0);
		REQUIRE(!(tcs->flags & ~SGX_TCS_DBGOPTIN), GP0);
		if (!(secs->attributes.flags & SGX_ATTR_MODE64BIT))
			REQUIRE((tcs->fslimit & 0xfff) == 0xfff && (tcs->gslimit & 0xfff) == 0xfff, GP0);
	} else {
		REQUIRE(!((secinfo.flags & SGX_SECINFO_W) && !(secinfo.flags & SGX_SECINFO_R)), GP0);
	}
	REQUIRE(in_elrange(secs, pageinfo->linaddr), GP0);
	REQUIRE(!e->initialized, GP0);

	if (pt == SGX_PT_TCS) {
		struct sgx_tcs *tcs = (struct sgx_tcs *)page;
		secinfo.flags &= ~SGX_SECINFO_RWX;
		tcs->flags &= ~SGX_TCS_DBGOPTIN;
		tcs->cssa = 0;
		tcs->aep = 0;
		tcs->state = 0;
	}
	measure_eadd(e->measure, pageinfo->linaddr - secs->base, secinfo.flags);
	memcpy(epc_page_ptr(lp->m, target), page, sizeof(page));
	*epcm = (struct hw_epcm_entry){
		.valid = true,
		.r = secinfo.flags & SGX_SECINFO_R,
		.w = secinfo.flags & SGX_SECINFO_W,
		.x = secinfo.flags & SGX_SECINFO_X,
		.pt = (uint8_t)pt,
		.secs = secs_frame,
		.enclave_address = pageinfo->linaddr,
	};
	e->children++;
	return OK;
}
