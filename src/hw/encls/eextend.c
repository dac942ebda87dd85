/*
 * EEXTEND (ENCLS 0x06) — RBX: SECS, RCX: 256-byte chunk of an EPC page.
 * isa.md §4.3.  Adds the chunk to MRENCLAVE: header block (offset of the
 * chunk in the enclave) and four 64-byte data blocks.  Faults only.
 */
#include "../leaf.h"

LEAF(encls_eextend)
{
	(void)rdx;
	REQUIRE(aligned(rbx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(secs_frame, rbx);
	REQUIRE(aligned(rcx, 256), GP0);
	EPC_OPERAND(page_frame, rcx);
	const struct hw_epcm_entry *epcm = epcm_of(lp->m, page_frame);
	REQUIRE(epcm->valid, PF(rcx));
	REQUIRE(epcm->pt == SGX_PT_REG || epcm->pt == SGX_PT_TCS, PF(rcx));
	REQUIRE(epcm->secs == secs_frame, GP0);
	struct hw_enclave *e = enclave_of_secs(lp->m, secs_frame);
	REQUIRE(!e->initialized, GP0);

	uint64_t offset = epcm->enclave_address - secs_page(lp->m, e)->base + (rcx & ~SGX_PAGE_MASK);
	measure_eextend(e->measure, offset, (const uint8_t *)(uintptr_t)rcx);
	return OK;
}
