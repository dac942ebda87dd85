/*
 * Memory accesses by a logical processor (isa.md §3.1): page tables first
 * (ordinary #PF), then, in enclave mode inside ELRANGE, the EPCM (#PF with
 * bit 15).  The result is cached in the LP's TLB with PTE ∩ EPCM, and that
 * entry keeps working until a flush, EENTER/ERESUME/EEXIT or an AEX — which is
 * exactly the window that ETRACK and the OS's IPIs exist to close.
 */
#include <string.h>

#include "leaf.h"

static uint64_t vpn_of(uint64_t la)
{
	return la >> 12;
}

void lp_tlb_flush(struct hw_lp *lp)
{
	for (unsigned i = 0; i < HW_TLB_ENTRIES; i++)
		lp->tlb[i].vpn = UINT64_MAX;
	lp->stats.tlb_flushes++;
}

static unsigned access_prot(enum hw_access kind)
{
	return kind == HW_WRITE ? HW_PROT_W : kind == HW_FETCH ? HW_PROT_X : HW_PROT_R;
}

static uint32_t access_pfec(enum hw_access kind)
{
	return SGX_PFEC_U | (kind == HW_WRITE ? SGX_PFEC_W : 0) | (kind == HW_FETCH ? SGX_PFEC_I : 0);
}

/* Page walk only.  *host points at the byte at la; *frame is its EPC frame. */
struct sgx_result lp_translate(struct hw_lp *lp, uint64_t la, enum hw_access kind, uint8_t **host,
			       uint32_t *frame)
{
	void *page;
	unsigned prot;
	if (!lp->pt || !hw_pt_lookup(lp->pt, la & SGX_PAGE_MASK, &page, &prot))
		return leaf_pf(la, access_pfec(kind));
	if (!(prot & access_prot(kind)))
		return leaf_pf(la, access_pfec(kind) | SGX_PFEC_P);
	*host = (uint8_t *)page + (la & ~SGX_PAGE_MASK);
	*frame = epc_frame(lp->m, (uint64_t)(uintptr_t)page);
	return leaf_ok();
}

/* The EPCM conditions for an enclave access to la through frame (§3.1 step 3).
 * Returns NULL when allowed, else the condition that failed. */
static const char *epcm_refusal(struct hw_lp *lp, uint32_t frame, uint64_t la, enum hw_access kind,
				unsigned *epcm_prot)
{
	if (frame == HW_NO_FRAME)
		return "page in ELRANGE maps to EPC";
	const struct hw_epcm_entry *ep = epcm_of(lp->m, frame);
	*epcm_prot = (ep->r ? HW_PROT_R : 0) | (ep->w ? HW_PROT_W : 0) | (ep->x ? HW_PROT_X : 0);
	if (!ep->valid)
		return "EPCM.VALID";
	if (ep->secs != lp->encl->secs_frame)
		return "EPCM.ENCLAVESECS == current enclave";
	if (ep->enclave_address != (la & SGX_PAGE_MASK))
		return "EPCM.ENCLAVEADDRESS == linear address";
	if (ep->pt != SGX_PT_REG)
		return "EPCM.PT == PT_REG";
	if (ep->blocked)
		return "!EPCM.BLOCKED";
	if (ep->pending)
		return "!EPCM.PENDING";
	if (ep->modified)
		return "!EPCM.MODIFIED";
	if (!(*epcm_prot & access_prot(kind)))
		return kind == HW_WRITE ? "EPCM.W" : kind == HW_FETCH ? "EPCM.X" : "EPCM.R";
	return NULL;
}

/* Full check of one access; fills *out (a TLB entry) on success. */
static struct sgx_result check_access(struct hw_lp *lp, uint64_t la, enum hw_access kind, struct hw_tlb_entry *out)
{
	uint8_t *host;
	uint32_t frame;
	struct sgx_result r = lp_translate(lp, la, kind, &host, &frame);
	if (r.vector != SGX_VEC_NONE) {
		leaf_note(lp, __FILE__, __LINE__, r.error_code & SGX_PFEC_P ? "PTE permits the access" : "PTE present");
		return r;
	}
	void *page;
	unsigned pte_prot;
	hw_pt_lookup(lp->pt, la & SGX_PAGE_MASK, &page, &pte_prot);

	out->vpn = vpn_of(la);
	out->frame = frame;
	out->write_abort = false;
	out->host = (uint8_t *)page;
	out->prot = (uint8_t)pte_prot;
	if (lp->in_enclave && in_elrange(secs_page(lp->m, lp->encl), la)) {
		unsigned epcm_prot = 0;
		const char *refusal = epcm_refusal(lp, frame, la, kind, &epcm_prot);
		if (refusal) {
			leaf_note(lp, __FILE__, __LINE__, refusal);
			return leaf_pf(la, access_pfec(kind) | SGX_PFEC_P | SGX_PFEC_SGX);
		}
		out->prot = (uint8_t)(pte_prot & epcm_prot);
		return leaf_ok();
	}
	/* Decision (isa.md §3.1 step 5, "to be confirmed"): an instruction fetch
	 * outside ELRANGE in enclave mode is #GP(0). */
	if (lp->in_enclave && kind == HW_FETCH) {
		leaf_note(lp, __FILE__, __LINE__, "fetch inside ELRANGE");
		return leaf_gp();
	}
	if (lp->in_enclave)
		out->prot &= (uint8_t)~HW_PROT_X; /* so a later fetch cannot hit this entry */
	if (frame != HW_NO_FRAME) {
		/* Abort-page semantics: reads all-ones, writes dropped. */
		out->host = lp->m->abort_page;
		out->write_abort = true;
		out->prot = (uint8_t)(pte_prot & (HW_PROT_R | HW_PROT_W));
	}
	return leaf_ok();
}

unsigned hw_lp_rights(struct hw_lp *lp, uint64_t la, uint32_t *frame)
{
	static const enum hw_access kinds[] = { HW_READ, HW_WRITE, HW_FETCH };
	unsigned rights = 0;
	uint32_t found = HW_NO_FRAME;
	hw_lock(lp->m);
	struct hw_why keep = lp->why;
	for (unsigned i = 0; i < 3; i++) {
		struct hw_tlb_entry e;
		if (check_access(lp, la, kinds[i], &e).vector != SGX_VEC_NONE)
			continue;
		found = e.frame;
		/* an abort-page entry grants nothing real */
		if (!e.write_abort)
			rights |= e.prot & access_prot(kinds[i]);
	}
	lp->why = keep;
	if (found == HW_NO_FRAME) {
		uint8_t *host;
		if (lp_translate(lp, la, HW_READ, &host, &found).vector != SGX_VEC_NONE)
			found = HW_NO_FRAME;
	}
	hw_unlock(lp->m);
	if (frame)
		*frame = found;
	return rights;
}

struct sgx_result lp_service(struct hw_lp *lp)
{
	if (atomic_exchange(&lp->pending_interrupt, 0)) {
		lp->stats.interrupts++;
		lp->why = (struct hw_why){ .what = "interrupt" };
		if (lp->in_enclave)
			return hw_aex(lp, (struct sgx_result){ .vector = SGX_VEC_NONE });
	}
	return leaf_ok();
}

/*
 * One access.  Returns success with *host set, or the fault; a fault in
 * enclave mode has already caused the AEX (result.aex).  A pending interrupt
 * is taken first, before the access happens.
 */
struct sgx_result hw_lp_access(struct hw_lp *lp, uint64_t la, enum hw_access kind, uint8_t **host)
{
	struct hw_machine *m = lp->m;
	hw_lock(m);
	struct sgx_result r = lp_service(lp);
	if (r.aex) {
		hw_unlock(m);
		return r;
	}
	lp->why = (struct hw_why){ .what = kind == HW_WRITE ? "write access" : kind == HW_FETCH ? "fetch" : "read access" };
	struct hw_tlb_entry *e = &lp->tlb[vpn_of(la) % HW_TLB_ENTRIES];
	bool hit = e->vpn == vpn_of(la) && (e->prot & access_prot(kind)), stale = false;
	if (hit) {
		struct hw_tlb_entry fresh;
		lp->stats.tlb_hits++;
		struct hw_why keep = lp->why;
		bool refused = check_access(lp, la, kind, &fresh).vector != SGX_VEC_NONE;
		lp->why = keep;
		stale = refused || !(fresh.prot & access_prot(kind)) || fresh.host != e->host;
		if (stale)
			lp->stats.stale_tlb_hits++;
	} else {
		struct hw_tlb_entry fill;
		lp->stats.tlb_misses++;
		r = check_access(lp, la, kind, &fill);
		if (r.vector != SGX_VEC_NONE) {
			if (lp->in_enclave)
				r = hw_aex(lp, r);
			hw_unlock(m);
			return r;
		}
		*e = fill;
		/* The walk that filled the TLB; the check of a TLB hit above is
		 * the model's stale-entry detector, not a walk: it leaves A. */
		pt_mark_accessed(lp->pt, la);
		if (!(e->prot & access_prot(kind))) {
			/* Only reachable for an abort-page fetch: no such access. */
			e->vpn = UINT64_MAX;
			hw_unlock(m);
			return leaf_pf(la, access_pfec(kind) | SGX_PFEC_P);
		}
	}
	uint64_t off = la & ~SGX_PAGE_MASK;
	*host = (e->write_abort && kind == HW_WRITE ? lp->sink_page : e->host) + off;
	if (m->obs_access)
		observe_access(lp, la, kind, *host - off, hit, stale);
	hw_unlock(m);
	return leaf_ok();
}

static struct sgx_result copy_access(struct hw_lp *lp, uint64_t la, uint8_t *buf, size_t len, enum hw_access kind)
{
	while (len) {
		size_t chunk = SGX_PAGE_SIZE - (la & ~SGX_PAGE_MASK);
		if (chunk > len)
			chunk = len;
		uint8_t *host;
		struct sgx_result r = hw_lp_access(lp, la, kind, &host);
		if (r.vector != SGX_VEC_NONE || r.aex)
			return r;
		if (kind == HW_WRITE)
			memcpy(host, buf, chunk);
		else
			memcpy(buf, host, chunk);
		la += chunk;
		buf += chunk;
		len -= chunk;
	}
	return leaf_ok();
}

struct sgx_result hw_lp_read(struct hw_lp *lp, uint64_t la, void *buf, size_t len)
{
	return copy_access(lp, la, buf, len, HW_READ);
}

struct sgx_result hw_lp_write(struct hw_lp *lp, uint64_t la, const void *buf, size_t len)
{
	return copy_access(lp, la, (uint8_t *)buf, len, HW_WRITE);
}

void hw_lp_invlpg(struct hw_lp *lp, uint64_t la)
{
	hw_lock(lp->m);
	struct hw_tlb_entry *e = &lp->tlb[vpn_of(la) % HW_TLB_ENTRIES];
	if (e->vpn == vpn_of(la))
		e->vpn = UINT64_MAX;
	hw_unlock(lp->m);
}

void hw_lp_flush_tlb(struct hw_lp *lp)
{
	hw_lock(lp->m);
	lp_tlb_flush(lp);
	hw_unlock(lp->m);
}

void hw_lp_set_pagetable(struct hw_lp *lp, struct hw_pagetable *pt)
{
	hw_lock(lp->m);
	lp->pt = pt;
	lp_tlb_flush(lp);
	hw_unlock(lp->m);
}

void hw_lp_post_interrupt(struct hw_lp *lp)
{
	atomic_store(&lp->pending_interrupt, 1);
}

bool hw_lp_send_ipi(struct hw_lp *lp)
{
	hw_lock(lp->m);
	bool taken = !lp->in_enclave;
	if (taken) {
		lp->stats.interrupts++;
		lp_tlb_flush(lp);
	} else {
		atomic_store(&lp->pending_interrupt, 1);
		if (lp->m->obs_ipi)
			observe_ipi(lp);
	}
	hw_unlock(lp->m);
	return taken;
}

bool hw_lp_interrupt_pending(const struct hw_lp *lp)
{
	return atomic_load(&((struct hw_lp *)lp)->pending_interrupt) != 0;
}

bool hw_lp_ipi_outstanding(struct hw_lp *lp)
{
	hw_lock(lp->m);
	bool owed = lp->in_enclave && atomic_load(&lp->pending_interrupt);
	hw_unlock(lp->m);
	return owed;
}

struct sgx_result hw_lp_interrupt(struct hw_lp *lp)
{
	hw_lp_post_interrupt(lp);
	hw_lock(lp->m);
	struct sgx_result r = lp_service(lp);
	hw_unlock(lp->m);
	return r;
}

unsigned hw_lp_id(const struct hw_lp *lp)
{
	return lp->id;
}

struct hw_regs *hw_lp_regs(struct hw_lp *lp)
{
	return &lp->regs;
}

bool hw_lp_in_enclave(const struct hw_lp *lp)
{
	return lp->in_enclave;
}

uint32_t hw_lp_secs_frame(const struct hw_lp *lp)
{
	return lp->in_enclave ? lp->encl->secs_frame : HW_NO_FRAME;
}

uint64_t hw_lp_tcs(const struct hw_lp *lp)
{
	return lp->in_enclave ? lp->tcs_la : 0;
}

const struct hw_lp_stats *hw_lp_stats(const struct hw_lp *lp)
{
	return &lp->stats;
}
