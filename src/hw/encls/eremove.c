/*
 * EREMOVE (ENCLS 0x03) — RCX: EPC page.  isa.md §4.5.
 *
 * Flow: RCX 4K-aligned (#GP), in the EPC (#PF(RCX)); VALID = 0 → success,
 * nothing to do; PT_VA or an accepted PT_TRIM → freed; PT_SECS → RC 13
 * (SGX_CHILD_PRESENT) while any child page is resident, else freed together
 * with the enclave's hidden state; any other page → RC 14 (SGX_ENCLAVE_ACT)
 * while an LP executes inside the owning enclave, else freed.
 *
 * Decision (isa.md §4.5, the SDM's "already unused" test also names an
 * accepted TRIM page, which would make it a no-op): an accepted TRIM page
 * (PT_TRIM, MODIFIED = 0) is FREED, without the active-thread check.  Its
 * EACCEPT already proved that no LP can reach it, and Linux's
 * SGX_IOC_ENCLAVE_REMOVE_PAGES relies on the page going away.
 */
#include "../leaf.h"

static struct sgx_result free_page(struct hw_machine *m, struct hw_epcm_entry *epcm)
{
	if (is_child_type(epcm->pt)) {
		struct hw_enclave *e = enclave_of_secs(m, epcm->secs);
		if (e)
			e->children--;
	}
	*epcm = (struct hw_epcm_entry){ .secs = HW_NO_FRAME };
	return OK;
}

LEAF(encls_eremove)
{
	(void)rbx;
	(void)rdx;
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(frame, rcx);
	struct hw_epcm_entry *epcm = epcm_of(m, frame);

	if (!epcm->valid)
		return OK;
	if (epcm->pt == SGX_PT_VA || (epcm->pt == SGX_PT_TRIM && !epcm->modified))
		return free_page(m, epcm);
	if (epcm->pt == SGX_PT_SECS) {
		struct hw_enclave *e = enclave_of_secs(m, frame);
		if (e && e->children)
			return RC(SGX_CHILD_PRESENT);
		if (e)
			enclave_free(m, e);
		return free_page(m, epcm);
	}
	struct hw_enclave *owner = enclave_of_secs(m, epcm->secs);
	if (owner && enclave_has_lp_inside(m, owner))
		return RC(SGX_ENCLAVE_ACT);
	return free_page(m, epcm);
}
