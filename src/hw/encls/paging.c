/*
 * ELDB / ELDU (ENCLS 0x07 / 0x08) — RBX: PAGEINFO (LINADDR, SRCPGE = sealed
 * page, PCMD, SECS = parent SECS for child pages), RCX: free EPC page,
 * RDX: VA slot.  isa.md §4.6.  One flow; ELDB leaves a child page BLOCKED.
 *
 *   #GP  RBX not 32-, RCX not 4K-, RDX not 8-aligned; PCMD not 128-, SRCPGE
 *        not 4K-aligned; PCMD.SECINFO.PT not a loadable type; child page with
 *        SECS not 4K-aligned; SECS or VA page with PAGEINFO.SECS ≠ 0
 *   #PF  RCX, RDX or SECS not EPC; RCX VALID; RDX not a VA page; SECS not a
 *        VALID SECS; PAGEINFO, PCMD or SRCPGE unreadable (error code 0)
 *   RC 9 SGX_MAC_COMPARE_FAIL: the blob, PCMD, LINADDR, SECS (enclave ID) or
 *        version does not match what EWB sealed, or the VA slot holds 0
 *        (consumed or never written); nothing changes
 * Checks run in the order listed in isa.md §4.6, as written below.
 *   ok   EPCM restored from PCMD.SECINFO at LINADDR, VA slot cleared so the
 *        blob cannot be loaded again, enclave's child count + 1; a SECS is
 *        re-linked to its hidden state by the EID it was sealed with.
 */
#include <errno.h>

#include "paging.h"

/* Page types EWB can produce a blob for. */
static bool loadable_type(uint64_t pt)
{
	return is_child_type((uint8_t)pt) || pt == SGX_PT_SECS || pt == SGX_PT_VA;
}

struct sgx_result eld_leaf(struct hw_lp *lp, uint64_t rbx, uint64_t rcx, uint64_t rdx, bool blocked)
{
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(rbx, 32), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(target, rcx);
	REQUIRE(aligned(rdx, 8), GP0);
	EPC_OPERAND(va, rdx);
	KERNEL_OPERAND(const struct sgx_pageinfo, pageinfo, rbx);
	const struct sgx_pageinfo pi = *pageinfo;
	REQUIRE(aligned(pi.secinfo, 128), GP0);
	REQUIRE(aligned(pi.srcpge, SGX_PAGE_SIZE), GP0);
	KERNEL_OPERAND(const struct sgx_pcmd, pcmd_src, pi.secinfo);
	KERNEL_OPERAND(const uint8_t, blob, pi.srcpge);

	struct hw_epcm_entry *epcm = epcm_of(m, target);
	REQUIRE(!epcm->valid, PF(rcx));
	const struct hw_epcm_entry *va_epcm = epcm_of(m, va);
	REQUIRE(va_epcm->valid && va_epcm->pt == SGX_PT_VA, PF(rdx));

	/* The MAC header is the PCMD as given (EWB wrote it), and the enclave
	 * this load binds to is the parent SECS's for a child page, the sealed
	 * SECS itself (PCMD.ENCLAVEID) for a SECS, none (0) for a VA page. */
	struct sgx_pcmd hdr = *pcmd_src;
	uint64_t pt = secinfo_pt(hdr.secinfo.flags);
	REQUIRE(loadable_type(pt), GP0);
	bool child = is_child_type((uint8_t)pt);
	struct hw_enclave *e = NULL;
	uint32_t secs_frame = HW_NO_FRAME;
	if (child) {
		REQUIRE(aligned(pi.secs, SGX_PAGE_SIZE), GP0);
		EPC_OPERAND(parent, pi.secs);
		const struct hw_epcm_entry *secs_epcm = epcm_of(m, parent);
		REQUIRE(secs_epcm->valid && secs_epcm->pt == SGX_PT_SECS, PF(pi.secs));
		secs_frame = parent;
		e = enclave_of_secs(m, parent);
	} else {
		REQUIRE(pi.secs == 0, GP0);
	}
	uint64_t eid = child ? e->eid : pt == SGX_PT_SECS ? hdr.enclave_id : 0;

	/* Decision (isa.md §4.6 ELDU step 5, "to be confirmed"): a VA slot
	 * holding 0 gives RC 9.  EWB never issues version 0, so no blob can
	 * open under it: the cipher would say the same. */
	uint64_t *slot = va_slot(rdx);
	uint64_t version = *slot;
	if (version == 0)
		return RC(SGX_MAC_COMPARE_FAIL);
	/* EWB sealed the EID of the page's enclave into the header: a blob
	 * offered to another enclave (another SECS) cannot match. */
	if (hdr.enclave_id != eid)
		return RC(SGX_MAC_COMPARE_FAIL);
	uint8_t plain[SGX_PAGE_SIZE];
	int err = unseal_page(m, version, &hdr, pi.linaddr, blob, plain, hdr.mac);
	REQUIRE(err != -ENOMEM, GP0); /* host out of memory: refused like a busy leaf */
	if (err)
		return RC(SGX_MAC_COMPARE_FAIL);
	if (pt == SGX_PT_SECS) {
		/* Authentic, so sealed by EWB from a SECS whose hidden state is
		 * kept, evicted, until this load: anything else is a lost blob. */
		e = enclave_by_eid(m, eid);
		if (!e || e->secs_frame != HW_NO_FRAME)
			return RC(SGX_MAC_COMPARE_FAIL);
	}

	memcpy(epc_page_ptr(m, target), plain, sizeof(plain));
	*slot = 0;
	uint64_t flags = hdr.secinfo.flags;
	*epcm = (struct hw_epcm_entry){
		.valid = true,
		.r = flags & SGX_SECINFO_R,
		.w = flags & SGX_SECINFO_W,
		.x = flags & SGX_SECINFO_X,
		.pending = flags & SGX_SECINFO_PENDING,
		.modified = flags & SGX_SECINFO_MODIFIED,
		.pr = flags & SGX_SECINFO_PR,
		.pt = (uint8_t)pt,
		.secs = secs_frame,
		.enclave_address = pi.linaddr,
		/* Decision: ELDB counts as a block in the current epoch, so
		 * evicting the page again needs an ETRACK after the load, as
		 * after an EBLOCK. */
		.blocked = blocked && child,
		.bepoch = blocked && child ? e->epoch : 0,
	};
	if (child) {
		e->children++;
	} else if (pt == SGX_PT_SECS) {
		e->secs_frame = target;
		m->secs_state[target] = e;
	}
	return OK;
}
