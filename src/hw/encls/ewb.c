/*
 * EWB (ENCLS 0x0B) — RBX: PAGEINFO (SRCPGE = output blob, PCMD = output
 * PCMD, LINADDR and SECS = 0), RCX: EPC page, RDX: VA slot.  isa.md §4.6.
 * Seals the page under a fresh version, writes blob, PCMD and
 * PAGEINFO.LINADDR, stores the version in the VA slot and frees the page.
 *
 *   #GP  RBX not 32-, RCX not 4K-, RDX not 8-aligned; RCX and RDX in the
 *        same page; PAGEINFO.LINADDR or .SECS ≠ 0; PCMD not 128-, SRCPGE not
 *        4K-aligned
 *   #PF  RCX or RDX not EPC; RCX not VALID; RDX not a VA page; PAGEINFO,
 *        PCMD or SRCPGE not writable (error code 0)
 *   RC 10 SGX_PAGE_NOT_BLOCKED  child page not blocked
 *   RC 11 SGX_NOT_TRACKED       no completed ETRACK cycle since the block
 *   RC 13 SGX_CHILD_PRESENT     SECS with child pages still in the EPC
 *   CF=1 RC 12 SGX_VA_SLOT_OCCUPIED  the slot held a version: the page IS
 *        evicted and the old version overwritten (that blob is lost)
 * A VA page may be evicted (enclave ID 0).  An evicted SECS keeps its hidden
 * state, unlinked from any frame; its PCMD.ENCLAVEID names it for ELDU.
 * The SDM's "EBLOCK not correct → #GP" has no defined condition and no
 * counterpart in the model.
 */
#include "paging.h"

LEAF(encls_ewb)
{
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(rbx, 32), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(page, rcx);
	REQUIRE(aligned(rdx, 8), GP0);
	EPC_OPERAND(va, rdx);
	REQUIRE(page != va, GP0);
	KERNEL_OPERAND(struct sgx_pageinfo, pageinfo, rbx);
	uint64_t srcpge = pageinfo->srcpge, pcmd_addr = pageinfo->secinfo;
	REQUIRE(pageinfo->linaddr == 0 && pageinfo->secs == 0, GP0);
	REQUIRE(aligned(pcmd_addr, 128), GP0);
	REQUIRE(aligned(srcpge, SGX_PAGE_SIZE), GP0);
	KERNEL_OPERAND(struct sgx_pcmd, pcmd, pcmd_addr);
	KERNEL_OPERAND(uint8_t, out, srcpge);

	struct hw_epcm_entry *epcm = epcm_of(m, page);
	REQUIRE(epcm->valid, PF(rcx));
	const struct hw_epcm_entry *va_epcm = epcm_of(m, va);
	REQUIRE(va_epcm->valid && va_epcm->pt == SGX_PT_VA, PF(rdx));

	struct hw_enclave *e = NULL;
	struct sgx_pcmd hdr = { 0 };
	if (is_child_type(epcm->pt)) {
		e = enclave_of_secs(m, epcm->secs);
		if (!epcm->blocked)
			return RC(SGX_PAGE_NOT_BLOCKED);
		if (!tracking_done_since(m, e, epcm->bepoch))
			return RC(SGX_NOT_TRACKED);
		hdr.enclave_id = e->eid;
	} else if (epcm->pt == SGX_PT_SECS) {
		e = enclave_of_secs(m, page);
		if (e->children)
			return RC(SGX_CHILD_PRESENT);
		/* The SDM MACs EID 0 for a SECS; the model binds its own EID
		 * because ELDU re-links the hidden state by it. */
		hdr.enclave_id = e->eid;
	}
	hdr.secinfo.flags = pcmd_flags_of(epcm);

	uint64_t version = m->next_version;
	uint8_t cipher[SGX_PAGE_SIZE];
	int err = seal_page(m, version, &hdr, epcm->enclave_address, epc_page_ptr(m, page), cipher, hdr.mac);
	REQUIRE(err == 0, GP0); /* host out of memory: refused like a busy leaf */
	m->next_version++;

	memcpy(out, cipher, sizeof(cipher));
	*pcmd = hdr;
	pageinfo->linaddr = epcm->enclave_address;
	uint64_t *slot = va_slot(rdx);
	bool occupied = *slot != 0;
	*slot = version;

	if (is_child_type(epcm->pt)) {
		e->children--;
	} else if (epcm->pt == SGX_PT_SECS) {
		e->secs_frame = HW_NO_FRAME;
		m->secs_state[page] = NULL;
	}
	*epcm = (struct hw_epcm_entry){ .secs = HW_NO_FRAME };
	return occupied ? INFO(SGX_VA_SLOT_OCCUPIED) : OK;
}
