/*
 * EPC paging: EPA, EBLOCK, EWB, ELDB, ELDU (isa.md §4.6, §2.7).  Round trips
 * of every page type and state, replay and tamper detection, every return
 * code and every operand fault of each leaf.  Tracking with LPs inside the
 * enclave is in test_etrack.c.
 */
#include "common/fixture.h"

#define PF_ENCLS FX_PFEC_ENCLS

/* Output of one EWB: blob, PCMD, and the PAGEINFO used to write / load it. */
struct blob {
	uint8_t data[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	struct sgx_pcmd pcmd;
	struct sgx_pageinfo pi;
};
static struct blob blobs[4];

static uint64_t secs_addr(struct fx *f)
{
	return fx_addr(f->secs);
}

static uint32_t secs_frame(struct fx *f)
{
	return hw_epc_frame_of(f->m, fx_addr(f->secs));
}

static uint64_t eid_of(struct fx *f)
{
	uint64_t eid = 0;
	assert_true(hw_secs_info(f->m, secs_frame(f), &eid, NULL, NULL, NULL));
	return eid;
}

static struct hw_epcm_entry epcm_at(struct fx *f, uint64_t addr)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, addr), &e));
	return e;
}

static uint8_t *new_va(struct fx *f)
{
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	return va;
}

static uint64_t slot_addr(uint8_t *va, unsigned i)
{
	return fx_addr(va) + 8 * i;
}

static uint64_t slot_value(uint8_t *va, unsigned i)
{
	uint64_t v;
	memcpy(&v, va + 8 * i, sizeof(v));
	return v;
}

static struct sgx_result eblock(struct fx *f, uint64_t page)
{
	return hw_encls(f->lp, SGX_EBLOCK, 0, page, 0);
}

static struct sgx_result ewb(struct fx *f, struct blob *b, uint64_t page, uint64_t slot)
{
	memset(b, 0, sizeof(*b));
	b->pi = (struct sgx_pageinfo){ .srcpge = fx_addr(b->data), .secinfo = fx_addr(&b->pcmd) };
	return hw_encls(f->lp, SGX_EWB, fx_addr(&b->pi), page, slot);
}

static struct sgx_result eld(struct fx *f, uint32_t leaf, struct blob *b, uint64_t linaddr, uint64_t secs,
			     uint64_t target, uint64_t slot)
{
	b->pi = (struct sgx_pageinfo){ .linaddr = linaddr, .srcpge = fx_addr(b->data), .secinfo = fx_addr(&b->pcmd),
				       .secs = secs };
	return hw_encls(f->lp, leaf, fx_addr(&b->pi), target, slot);
}

/* EBLOCK + ETRACK + EWB of the page at la (no LP inside). */
static void evict(struct fx *f, uint64_t la, struct blob *b, uint64_t slot)
{
	uint64_t page = fx_epc_of(f, la);
	assert_success(eblock(f, page));
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(ewb(f, b, page, slot));
	assert_int_equal(b->pi.linaddr, la);
}

/* ELDU of la's blob into a fresh frame, mapped again at la with prot. */
static uint64_t reload(struct fx *f, uint64_t la, struct blob *b, uint64_t slot, unsigned prot)
{
	uint8_t *target = fx_frame(f);
	assert_success(eld(f, SGX_ELDU, b, la, secs_addr(f), fx_addr(target), slot));
	assert_int_equal(hw_pt_map(f->pt, la, target, prot), 0);
	return fx_addr(target);
}

static void assert_pcmd(const struct blob *b, uint64_t flags, uint64_t eid)
{
	assert_int_equal(b->pcmd.secinfo.flags, flags);
	uint8_t zero[56] = { 0 };
	assert_memory_equal(b->pcmd.secinfo.reserved, zero, sizeof(b->pcmd.secinfo.reserved));
	assert_int_equal(b->pcmd.enclave_id, eid);
	assert_memory_equal(b->pcmd.reserved, zero, sizeof(b->pcmd.reserved));
}

/* ---- EPA ---- */

static void test_epa_creates_empty_va(void **state)
{
	struct fx *f = *state;
	uint8_t *page = fx_frame(f);
	memset(page, 0x5a, SGX_PAGE_SIZE);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(page), 0));
	uint8_t zero[SGX_PAGE_SIZE] = { 0 };
	assert_memory_equal(page, zero, SGX_PAGE_SIZE);
	struct hw_epcm_entry e = epcm_at(f, fx_addr(page));
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_VA);
	assert_false(e.r || e.w || e.x || e.blocked || e.pending || e.modified || e.pr);
	assert_int_equal(e.enclave_address, 0);
	assert_int_equal(e.secs, HW_NO_FRAME);
}

static void test_epa_faults(void **state)
{
	struct fx *f = *state;
	uint8_t *page = fx_frame(f);
	uint64_t host = fx_addr(fx_scratch(f, 0));
	assert_gp(hw_encls(f->lp, SGX_EPA, SGX_PT_REG, fx_addr(page), 0));
	assert_gp(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(page) + 8, 0));
	/* RBX is checked before RCX resolves */
	assert_gp(hw_encls(f->lp, SGX_EPA, SGX_PT_SECS, host, 0));
	assert_pf(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, host, 0), host, PF_ENCLS);
	assert_pf(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, secs_addr(f), 0), secs_addr(f), PF_ENCLS);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(page), 0));
	assert_pf(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(page), 0), fx_addr(page), PF_ENCLS);
	/* the failed EPA did not touch the SECS */
	assert_int_equal(epcm_at(f, secs_addr(f)).pt, SGX_PT_SECS);
}

/* ---- EBLOCK ---- */

static void test_eblock_blocks_and_records_epoch(void **state)
{
	struct fx *f = *state;
	uint64_t page = fx_epc_of(f, FX_DATA);
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(eblock(f, page));
	struct hw_epcm_entry e = epcm_at(f, page);
	assert_true(e.valid && e.blocked && e.r && e.w);
	assert_int_equal(e.bepoch, 2);
	/* TCS and PENDING pages are blockable too */
	assert_success(eblock(f, fx_epc_of(f, FX_TCS)));
	assert_true(epcm_at(f, fx_epc_of(f, FX_TCS)).blocked);
	assert_success(fx_eaug(f, FX_HEAP));
	assert_success(eblock(f, fx_epc_of(f, FX_HEAP)));
	e = fx_epcm(f, FX_HEAP);
	assert_true(e.blocked && e.pending);
}

static void test_eblock_codes(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	uint64_t page = fx_epc_of(f, FX_DATA);

	uint8_t *free_page = fx_frame(f);
	assert_rc(eblock(f, fx_addr(free_page)), SGX_PG_INVLD);
	assert_int_equal(regs->rax, SGX_PG_INVLD);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_ZF);

	assert_info(eblock(f, secs_addr(f)), SGX_PG_IS_SECS);
	assert_int_equal(regs->rax, SGX_PG_IS_SECS);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_CF);
	assert_false(epcm_at(f, secs_addr(f)).blocked);

	uint8_t *va = new_va(f);
	assert_info(eblock(f, fx_addr(va)), SGX_NOTBLOCKABLE);
	assert_false(epcm_at(f, fx_addr(va)).blocked);

	assert_success(eblock(f, page));
	assert_int_equal(regs->rax, 0);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), 0);
	assert_success(fx_etrack_on(f, f->lp));
	/* already blocked: informational, the first block's epoch stays */
	assert_info(eblock(f, page), SGX_BLKSTATE);
	struct hw_epcm_entry e = epcm_at(f, page);
	assert_true(e.blocked);
	assert_int_equal(e.bepoch, 0);
}

static void test_eblock_faults(void **state)
{
	struct fx *f = *state;
	uint64_t page = fx_epc_of(f, FX_DATA);
	uint64_t host = fx_addr(fx_scratch(f, 0));
	assert_gp(eblock(f, page + 0x800));
	assert_gp(eblock(f, host + 0x10));
	assert_pf(eblock(f, host), host, PF_ENCLS);
	assert_pf(eblock(f, 0), 0, PF_ENCLS);
	assert_false(epcm_at(f, page).blocked);
}

/* ---- EWB / ELDU round trips ---- */

static void test_round_trip_reg_page(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t old = fx_epc_of(f, FX_DATA);
	uint8_t before[SGX_PAGE_SIZE];
	memcpy(before, (void *)(uintptr_t)old, sizeof(before));

	evict(f, FX_DATA, &blobs[0], slot_addr(va, 3));
	assert_false(epcm_at(f, old).valid);
	assert_pcmd(&blobs[0], FX_REG_RW, eid_of(f));
	/* the blob is ciphertext, not the page */
	assert_memory_not_equal(blobs[0].data, before, 32);
	uint64_t version = slot_value(va, 3);
	assert_int_not_equal(version, 0);

	uint64_t now = reload(f, FX_DATA, &blobs[0], slot_addr(va, 3), HW_PROT_R | HW_PROT_W);
	assert_int_equal(slot_value(va, 3), 0);
	assert_memory_equal((void *)(uintptr_t)now, before, SGX_PAGE_SIZE);
	struct hw_epcm_entry e = epcm_at(f, now);
	assert_true(e.valid && e.r && e.w);
	assert_false(e.x || e.blocked || e.pending || e.modified || e.pr);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_int_equal(e.enclave_address, FX_DATA);
	assert_int_equal(e.secs, secs_frame(f));

	/* the enclave uses the reloaded page as before */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	char buf[32] = { 0 };
	assert_success(hw_lp_read(f->lp, FX_DATA, buf, sizeof(buf)));
	assert_string_equal(buf, "page at 0x40003000");
	assert_success(fx_exit(f, f->lp));

	/* a second eviction takes a new, larger version */
	evict(f, FX_DATA, &blobs[1], slot_addr(va, 3));
	assert_true(slot_value(va, 3) > version);
}

static void test_round_trip_pending_page(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	assert_success(fx_eaug(f, FX_HEAP));
	evict(f, FX_HEAP, &blobs[0], slot_addr(va, 0));
	assert_pcmd(&blobs[0], FX_REG_RW | SGX_SECINFO_PENDING, eid_of(f));
	reload(f, FX_HEAP, &blobs[0], slot_addr(va, 0), HW_PROT_R | HW_PROT_W);
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_true(e.valid && e.pending && e.r && e.w && !e.x && !e.blocked);
	assert_int_equal(e.enclave_address, FX_HEAP);
	/* still pending: the enclave accepts it after the round trip */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaccept(f, f->lp, FX_HEAP, FX_REG_RW | SGX_SECINFO_PENDING));
	assert_false(fx_epcm(f, FX_HEAP).pending);
	assert_success(fx_exit(f, f->lp));
}

static void test_round_trip_pr_page(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t la = FX_DATA + 0x1000;
	static struct sgx_secinfo si __attribute__((aligned(64)));
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_R;
	assert_success(hw_encls(f->lp, SGX_EMODPR, fx_addr(&si), fx_epc_of(f, la), 0));
	evict(f, la, &blobs[0], slot_addr(va, 1));
	uint64_t flags = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PR;
	assert_pcmd(&blobs[0], flags, eid_of(f));
	reload(f, la, &blobs[0], slot_addr(va, 1), HW_PROT_R);
	struct hw_epcm_entry e = fx_epcm(f, la);
	assert_true(e.valid && e.pr && e.r && !e.w && !e.x && !e.pending && !e.modified);
	/* the restriction is still to be accepted, and can be */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaccept(f, f->lp, la, flags));
	assert_false(fx_epcm(f, la).pr);
	assert_success(fx_exit(f, f->lp));
}

static void test_round_trip_tcs(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	evict(f, FX_TCS2, &blobs[0], slot_addr(va, 0));
	assert_pcmd(&blobs[0], FX_TCS_FLAGS, eid_of(f));
	/* the evicted TCS cannot be entered */
	assert_pf(fx_enter(f, f->lp, FX_TCS2), FX_TCS2, FX_PFEC_ENCLU);
	uint64_t now = reload(f, FX_TCS2, &blobs[0], slot_addr(va, 0), HW_PROT_R | HW_PROT_W);
	struct hw_epcm_entry e = epcm_at(f, now);
	assert_true(e.valid && !e.r && !e.w && !e.x && !e.blocked);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_int_equal(e.enclave_address, FX_TCS2);
	const struct sgx_tcs *tcs = (const struct sgx_tcs *)(uintptr_t)now;
	assert_int_equal(tcs->ossa, FX_SSA2 - FX_BASE);
	assert_int_equal(tcs->nssa, 2);
	assert_int_equal(tcs->oentry, FX_CODE - FX_BASE);
	assert_success(fx_enter(f, f->lp, FX_TCS2));
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_CODE);
	assert_success(fx_exit(f, f->lp));
}

static void test_round_trip_trim_page(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t la = FX_DATA + 0x2000;
	static struct sgx_secinfo si __attribute__((aligned(64)));
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_PT(SGX_PT_TRIM);
	assert_success(hw_encls(f->lp, SGX_EMODT, fx_addr(&si), fx_epc_of(f, la), 0));
	evict(f, la, &blobs[0], slot_addr(va, 0));
	uint64_t flags = SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED;
	assert_pcmd(&blobs[0], flags, eid_of(f));
	reload(f, la, &blobs[0], slot_addr(va, 0), HW_PROT_R | HW_PROT_W);
	struct hw_epcm_entry e = fx_epcm(f, la);
	assert_true(e.valid && e.modified && !e.r && !e.w && !e.x && !e.pending && !e.pr && !e.blocked);
	assert_int_equal(e.pt, SGX_PT_TRIM);
	assert_int_equal(e.enclave_address, la);
	/* the trim is still to be accepted, and can be */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaccept(f, f->lp, la, flags));
	assert_false(fx_epcm(f, la).modified);
	assert_success(fx_exit(f, f->lp));
}

/* Every child of the standard enclave, with the rights it is mapped with. */
static const struct {
	uint64_t la;
	unsigned prot;
} children[] = {
	{ FX_TCS, HW_PROT_R | HW_PROT_W },
	{ FX_SSA, HW_PROT_R | HW_PROT_W },
	{ FX_SSA + 0x1000, HW_PROT_R | HW_PROT_W },
	{ FX_DATA, HW_PROT_R | HW_PROT_W },
	{ FX_DATA + 0x1000, HW_PROT_R | HW_PROT_W },
	{ FX_DATA + 0x2000, HW_PROT_R | HW_PROT_W },
	{ FX_DATA + 0x3000, HW_PROT_R | HW_PROT_W },
	{ FX_DATA + 0x4000, HW_PROT_R | HW_PROT_W },
	{ FX_CODE, HW_PROT_R | HW_PROT_X },
	{ FX_TCS2, HW_PROT_R | HW_PROT_W },
	{ FX_SSA2, HW_PROT_R | HW_PROT_W },
	{ FX_SSA2 + 0x1000, HW_PROT_R | HW_PROT_W },
};
#define NR_CHILDREN (sizeof(children) / sizeof(children[0]))
static struct blob child_blobs[NR_CHILDREN];

static void test_round_trip_secs(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t eid = eid_of(f);
	uint64_t old_secs = secs_addr(f);
	uint8_t before[SGX_PAGE_SIZE];
	memcpy(before, f->secs, sizeof(before));

	assert_rc(ewb(f, &blobs[0], old_secs, slot_addr(va, 511)), SGX_CHILD_PRESENT);
	for (unsigned i = 0; i < NR_CHILDREN; i++) {
		evict(f, children[i].la, &child_blobs[i], slot_addr(va, i));
		if (i + 1 < NR_CHILDREN) /* one child is enough to keep the SECS */
			assert_rc(ewb(f, &blobs[0], old_secs, slot_addr(va, 511)), SGX_CHILD_PRESENT);
	}
	assert_int_equal(slot_value(va, 511), 0);
	assert_true(epcm_at(f, old_secs).valid);

	assert_success(ewb(f, &blobs[0], old_secs, slot_addr(va, 511)));
	assert_pcmd(&blobs[0], SGX_SECINFO_PT(SGX_PT_SECS), eid);
	assert_int_equal(blobs[0].pi.linaddr, 0);
	assert_false(epcm_at(f, old_secs).valid);
	assert_false(hw_secs_info(f->m, hw_epc_frame_of(f->m, old_secs), NULL, NULL, NULL, NULL));

	/* a SECS blob names no parent SECS */
	uint8_t *target = fx_frame(f);
	assert_gp(eld(f, SGX_ELDU, &blobs[0], 0, old_secs, fx_addr(target), slot_addr(va, 511)));
	assert_success(eld(f, SGX_ELDU, &blobs[0], 0, 0, fx_addr(target), slot_addr(va, 511)));
	f->secs = target;
	assert_memory_equal(target, before, SGX_PAGE_SIZE);
	struct hw_epcm_entry e = epcm_at(f, fx_addr(target));
	assert_true(e.valid && !e.blocked);
	assert_int_equal(e.pt, SGX_PT_SECS);
	assert_int_equal(e.secs, HW_NO_FRAME);
	uint64_t eid_now = 0;
	bool init = false;
	assert_true(hw_secs_info(f->m, secs_frame(f), &eid_now, &init, NULL, NULL));
	assert_int_equal(eid_now, eid);
	assert_true(init);

	/* children come back under the new SECS frame, and the enclave runs */
	for (unsigned i = 0; i < NR_CHILDREN; i++) {
		uint64_t page = reload(f, children[i].la, &child_blobs[i], slot_addr(va, i), children[i].prot);
		assert_int_equal(epcm_at(f, page).secs, secs_frame(f));
	}
	assert_rc(ewb(f, &blobs[1], secs_addr(f), slot_addr(va, 511)), SGX_CHILD_PRESENT);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	char buf[32] = { 0 };
	assert_success(hw_lp_read(f->lp, FX_DATA + 0x2000, buf, sizeof(buf)));
	assert_string_equal(buf, "page at 0x40005000");
	assert_success(fx_exit(f, f->lp));
}

/* An OS that drops an evicted SECS's blob tells the model, which frees the
 * hidden state kept by EID: the blob then no longer loads. */
static void test_discard_evicted_secs(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t eid = eid_of(f);
	uint64_t old_secs = secs_addr(f);
	assert_false(hw_discard_evicted_secs(f->m, eid)); /* resident: EREMOVE's job */
	for (unsigned i = 0; i < NR_CHILDREN; i++)
		evict(f, children[i].la, &child_blobs[i], slot_addr(va, i));
	assert_success(ewb(f, &blobs[0], old_secs, slot_addr(va, 511)));
	assert_true(hw_discard_evicted_secs(f->m, eid));
	assert_false(hw_discard_evicted_secs(f->m, eid));
	assert_rc(eld(f, SGX_ELDU, &blobs[0], 0, 0, fx_addr(fx_frame(f)), slot_addr(va, 511)),
		  SGX_MAC_COMPARE_FAIL);
}

static void test_round_trip_va_page(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint8_t *va2 = new_va(f);
	evict(f, FX_DATA, &blobs[0], slot_addr(va, 7));
	uint64_t version = slot_value(va, 7);

	/* a VA page is evicted without EBLOCK, into a slot of another VA page */
	assert_success(ewb(f, &blobs[1], fx_addr(va), slot_addr(va2, 0)));
	assert_pcmd(&blobs[1], SGX_SECINFO_PT(SGX_PT_VA), 0);
	assert_int_equal(blobs[1].pi.linaddr, 0);
	assert_false(epcm_at(f, fx_addr(va)).valid);

	/* a child blob needs a VA slot to load: va is gone */
	uint8_t *target = fx_frame(f);
	assert_pf(eld(f, SGX_ELDU, &blobs[0], FX_DATA, secs_addr(f), fx_addr(target), slot_addr(va, 7)),
		  slot_addr(va, 7), PF_ENCLS);
	/* a VA blob names no SECS */
	uint8_t *va_back = fx_frame(f);
	assert_gp(eld(f, SGX_ELDU, &blobs[1], 0, secs_addr(f), fx_addr(va_back), slot_addr(va2, 0)));
	assert_success(eld(f, SGX_ELDU, &blobs[1], 0, 0, fx_addr(va_back), slot_addr(va2, 0)));
	struct hw_epcm_entry e = epcm_at(f, fx_addr(va_back));
	assert_true(e.valid && !e.blocked);
	assert_int_equal(e.pt, SGX_PT_VA);
	assert_int_equal(e.secs, HW_NO_FRAME);
	assert_int_equal(slot_value(va_back, 7), version);
	assert_int_equal(slot_value(va2, 0), 0);

	reload(f, FX_DATA, &blobs[0], slot_addr(va_back, 7), HW_PROT_R | HW_PROT_W);
	assert_int_equal(slot_value(va_back, 7), 0);
}

/* ---- replay and tampering ---- */

static void test_replayed_blob_fails(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	evict(f, FX_DATA, &blobs[0], slot_addr(va, 0));
	reload(f, FX_DATA, &blobs[0], slot_addr(va, 0), HW_PROT_R | HW_PROT_W);
	/* the page changes, is evicted again into the same slot */
	memset((void *)(uintptr_t)fx_epc_of(f, FX_DATA), 0x77, 16);
	evict(f, FX_DATA, &blobs[1], slot_addr(va, 0));
	uint64_t v2 = slot_value(va, 0);

	uint8_t *target = fx_frame(f);
	assert_rc(eld(f, SGX_ELDU, &blobs[0], FX_DATA, secs_addr(f), fx_addr(target), slot_addr(va, 0)),
		  SGX_MAC_COMPARE_FAIL);
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_MAC_COMPARE_FAIL);
	assert_true(hw_lp_regs(f->lp)->rflags & HW_RFLAGS_ZF);
	assert_false(epcm_at(f, fx_addr(target)).valid);
	assert_int_equal(slot_value(va, 0), v2);

	assert_success(eld(f, SGX_ELDU, &blobs[1], FX_DATA, secs_addr(f), fx_addr(target), slot_addr(va, 0)));
	uint8_t want[16];
	memset(want, 0x77, sizeof(want));
	assert_memory_equal(target, want, sizeof(want));

	/* the slot was consumed: neither blob loads again (slot 0 decision) */
	assert_int_equal(slot_value(va, 0), 0);
	uint8_t *again = fx_frame(f);
	assert_rc(eld(f, SGX_ELDU, &blobs[1], FX_DATA, secs_addr(f), fx_addr(again), slot_addr(va, 0)),
		  SGX_MAC_COMPARE_FAIL);
	assert_rc(eld(f, SGX_ELDU, &blobs[0], FX_DATA, secs_addr(f), fx_addr(again), slot_addr(va, 0)),
		  SGX_MAC_COMPARE_FAIL);
	assert_false(epcm_at(f, fx_addr(again)).valid);
}

/* Loads blob with one thing changed; must be RC 9 with nothing changed. */
static void assert_mac_fail(struct fx *f, struct blob *b, uint64_t linaddr, uint64_t secs, uint64_t slot)
{
	uint8_t *target = fx_frame(f);
	memset(target, 0xee, SGX_PAGE_SIZE);
	uint64_t version;
	memcpy(&version, (void *)(uintptr_t)slot, sizeof(version));
	assert_rc(eld(f, SGX_ELDU, b, linaddr, secs, fx_addr(target), slot), SGX_MAC_COMPARE_FAIL);
	assert_false(epcm_at(f, fx_addr(target)).valid);
	assert_int_equal(target[0], 0xee);
	assert_int_equal(target[SGX_PAGE_SIZE - 1], 0xee);
	assert_memory_equal((void *)(uintptr_t)slot, &version, sizeof(version));
}

static void test_tampered_blob_fails(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t slot = slot_addr(va, 0);
	struct blob *b = &blobs[0];
	evict(f, FX_DATA, b, slot);

	b->data[100] ^= 1;
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->data[100] ^= 1;

	b->pcmd.secinfo.flags |= SGX_SECINFO_X; /* grant X to the reloaded page */
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->pcmd.secinfo.flags &= ~SGX_SECINFO_X;

	b->pcmd.secinfo.flags |= SGX_SECINFO_PENDING;
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->pcmd.secinfo.flags &= ~SGX_SECINFO_PENDING;

	b->pcmd.secinfo.reserved[0] = 1;
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->pcmd.secinfo.reserved[0] = 0;

	b->pcmd.reserved[39] = 1;
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->pcmd.reserved[39] = 0;

	b->pcmd.mac[15] ^= 0x80;
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->pcmd.mac[15] ^= 0x80;

	/* another address in the same enclave */
	assert_mac_fail(f, b, FX_DATA + 0x1000, secs_addr(f), slot);

	/* PCMD.ENCLAVEID naming another enclave than the SECS operand */
	b->pcmd.enclave_id += 1;
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot);
	b->pcmd.enclave_id -= 1;

	/* another enclave's SECS (another EID) */
	uint8_t *mine = f->secs;
	assert_success(fx_ecreate(f, FX_BASE + 0x10000000, FX_SIZE, FX_ATTRS));
	uint64_t other = fx_addr(f->secs);
	f->secs = mine;
	assert_mac_fail(f, b, FX_DATA, other, slot);

	/* another version: the blob in a slot that holds a different one */
	evict(f, FX_DATA + 0x1000, &blobs[1], slot_addr(va, 1));
	assert_mac_fail(f, b, FX_DATA, secs_addr(f), slot_addr(va, 1));

	/* untouched, it still loads */
	reload(f, FX_DATA, b, slot, HW_PROT_R | HW_PROT_W);
	assert_true(fx_epcm(f, FX_DATA).valid);
}

/* ---- EWB return codes ---- */

static void test_ewb_page_not_blocked(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t page = fx_epc_of(f, FX_DATA);
	assert_success(fx_etrack_on(f, f->lp));
	assert_rc(ewb(f, &blobs[0], page, slot_addr(va, 0)), SGX_PAGE_NOT_BLOCKED);
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_PAGE_NOT_BLOCKED);
	assert_true(epcm_at(f, page).valid);
	assert_int_equal(slot_value(va, 0), 0);
	assert_int_equal(blobs[0].pcmd.secinfo.flags, 0);
	assert_int_equal(blobs[0].pi.linaddr, 0);
}

static void test_ewb_not_tracked(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t page = fx_epc_of(f, FX_DATA);
	/* an ETRACK before the block does not count */
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(eblock(f, page));
	assert_rc(ewb(f, &blobs[0], page, slot_addr(va, 0)), SGX_NOT_TRACKED);
	assert_true(epcm_at(f, page).valid);
	assert_int_equal(slot_value(va, 0), 0);
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(ewb(f, &blobs[0], page, slot_addr(va, 0)));
}

static void test_ewb_va_slot_occupied(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	uint8_t *va = new_va(f);
	uint64_t slot = slot_addr(va, 9);
	evict(f, FX_DATA, &blobs[0], slot);
	uint64_t v1 = slot_value(va, 9);

	uint64_t page = fx_epc_of(f, FX_DATA + 0x1000);
	assert_success(eblock(f, page));
	assert_success(fx_etrack_on(f, f->lp));
	/* informational: the page IS evicted, the slot overwritten */
	assert_info(ewb(f, &blobs[1], page, slot), SGX_VA_SLOT_OCCUPIED);
	assert_int_equal(regs->rax, SGX_VA_SLOT_OCCUPIED);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_CF);
	assert_false(epcm_at(f, page).valid);
	assert_int_equal(blobs[1].pi.linaddr, FX_DATA + 0x1000);
	assert_pcmd(&blobs[1], FX_REG_RW, eid_of(f));
	uint64_t v2 = slot_value(va, 9);
	assert_int_not_equal(v2, v1);
	assert_int_not_equal(v2, 0);

	/* the first page's blob is lost, the second loads */
	assert_mac_fail(f, &blobs[0], FX_DATA, secs_addr(f), slot);
	reload(f, FX_DATA + 0x1000, &blobs[1], slot, HW_PROT_R | HW_PROT_W);
}

/* ---- ELDB ---- */

static void test_eldb_loads_blocked(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	evict(f, FX_DATA, &blobs[0], slot_addr(va, 0));
	assert_success(fx_etrack_on(f, f->lp));
	uint64_t epoch = 0;
	assert_true(hw_secs_info(f->m, secs_frame(f), NULL, NULL, &epoch, NULL));
	assert_int_equal(epoch, 2);

	uint8_t *target = fx_frame(f);
	assert_success(eld(f, SGX_ELDB, &blobs[0], FX_DATA, secs_addr(f), fx_addr(target), slot_addr(va, 0)));
	assert_int_equal(hw_pt_map(f->pt, FX_DATA, target, HW_PROT_R | HW_PROT_W), 0);
	struct hw_epcm_entry e = fx_epcm(f, FX_DATA);
	assert_true(e.valid && e.blocked && e.r && e.w);
	assert_int_equal(e.bepoch, 2);
	assert_int_equal(slot_value(va, 0), 0);
	assert_info(eblock(f, fx_addr(target)), SGX_BLKSTATE);

	/* blocked: the enclave cannot use it */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint8_t *host;
	struct sgx_result r = hw_lp_access(f->lp, FX_DATA, HW_READ, &host);
	assert_true(r.aex);
	assert_pf(r, FX_DATA, 0x8005);

	/* decision: evicting it again needs an ETRACK after the load */
	assert_rc(ewb(f, &blobs[1], fx_addr(target), slot_addr(va, 0)), SGX_NOT_TRACKED);
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(ewb(f, &blobs[1], fx_addr(target), slot_addr(va, 0)));
}

static void test_eldb_secs_and_va_not_blocked(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint8_t *va2 = new_va(f);
	assert_success(ewb(f, &blobs[0], fx_addr(va2), slot_addr(va, 0)));
	uint8_t *target = fx_frame(f);
	assert_success(eld(f, SGX_ELDB, &blobs[0], 0, 0, fx_addr(target), slot_addr(va, 0)));
	struct hw_epcm_entry e = epcm_at(f, fx_addr(target));
	assert_true(e.valid && !e.blocked);
	assert_int_equal(e.pt, SGX_PT_VA);

	/* a SECS of an enclave without children */
	uint8_t *mine = f->secs;
	assert_success(fx_ecreate(f, FX_BASE + 0x10000000, FX_SIZE, FX_ATTRS));
	uint64_t other = fx_addr(f->secs);
	f->secs = mine;
	assert_success(ewb(f, &blobs[1], other, slot_addr(va, 1)));
	uint8_t *secs_back = fx_frame(f);
	assert_success(eld(f, SGX_ELDB, &blobs[1], 0, 0, fx_addr(secs_back), slot_addr(va, 1)));
	e = epcm_at(f, fx_addr(secs_back));
	assert_true(e.valid && !e.blocked);
	assert_int_equal(e.pt, SGX_PT_SECS);
	uint64_t eid = 0;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(secs_back)), &eid, NULL, NULL, NULL));
	assert_int_equal(eid, blobs[1].pcmd.enclave_id);
	assert_int_not_equal(eid, eid_of(f));
}

/* ---- operand faults ---- */

static void test_ewb_faults(void **state)
{
	struct fx *f = *state;
	uint8_t *va = new_va(f);
	uint64_t slot = slot_addr(va, 2);
	uint64_t page = fx_epc_of(f, FX_DATA);
	uint64_t host = fx_addr(fx_scratch(f, 0));
	uint8_t *free_page = fx_frame(f);
	struct blob *b = &blobs[0];
	assert_success(eblock(f, page));
	assert_success(fx_etrack_on(f, f->lp));
	b->pi = (struct sgx_pageinfo){ .srcpge = fx_addr(b->data), .secinfo = fx_addr(&b->pcmd) };
	uint64_t pi = fx_addr(&b->pi);

	assert_gp(hw_encls(f->lp, SGX_EWB, pi + 8, page, slot));
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, page + 0x100, slot));
	assert_gp(hw_encls(f->lp, SGX_EWB, pi + 8, host, slot));          /* alignment before EPC */
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, host, slot), host, PF_ENCLS);
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, host, slot + 4), host, PF_ENCLS); /* RCX before RDX */
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, page, slot + 4));
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, page, host + 8), host + 8, PF_ENCLS);
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, fx_addr(va), slot));       /* page and slot in one page */
	assert_pf(hw_encls(f->lp, SGX_EWB, 0x20, page, slot), 0x20, 0);  /* PAGEINFO unmapped */

	b->pi.linaddr = FX_DATA;
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, page, slot));
	b->pi.linaddr = 0;
	b->pi.secs = secs_addr(f);
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, page, slot));
	b->pi.secs = 0;
	b->pi.secinfo += 64;
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, page, slot));
	b->pi.secinfo -= 64;
	b->pi.srcpge += 0x800;
	assert_gp(hw_encls(f->lp, SGX_EWB, pi, page, slot));
	b->pi.srcpge = 0;
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, page, slot), 0, 0);       /* SRCPGE unmapped */
	b->pi.srcpge = fx_addr(b->data);
	b->pi.secinfo = 0x80;
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, page, slot), 0x80, 0);    /* PCMD unmapped */
	b->pi.secinfo = fx_addr(&b->pcmd);

	assert_pf(hw_encls(f->lp, SGX_EWB, pi, fx_addr(free_page), slot), fx_addr(free_page), PF_ENCLS);
	/* the VA slot must be in a VALID VA page */
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, page, fx_addr(free_page) + 8), fx_addr(free_page) + 8, PF_ENCLS);
	uint64_t reg = fx_epc_of(f, FX_DATA + 0x1000);
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, page, reg + 16), reg + 16, PF_ENCLS);
	/* an invalid page is reported before a bad VA slot */
	assert_pf(hw_encls(f->lp, SGX_EWB, pi, fx_addr(free_page), reg), fx_addr(free_page), PF_ENCLS);

	/* nothing happened; the proper call works */
	assert_true(epcm_at(f, page).valid);
	assert_int_equal(slot_value(va, 2), 0);
	assert_success(hw_encls(f->lp, SGX_EWB, pi, page, slot));
	assert_int_equal(b->pi.linaddr, FX_DATA);
}

static void test_eld_faults(void **state)
{
	struct fx *f = *state;
	for (uint32_t leaf = SGX_ELDB; leaf <= SGX_ELDU; leaf++) {
		uint8_t *va = new_va(f);
		uint64_t slot = slot_addr(va, 5);
		uint64_t host = fx_addr(fx_scratch(f, 0));
		struct blob *b = &blobs[0];
		uint64_t la = leaf == SGX_ELDB ? FX_DATA : FX_DATA + 0x1000;
		evict(f, la, b, slot);
		uint64_t target = fx_addr(fx_frame(f));
		b->pi = (struct sgx_pageinfo){ .linaddr = la, .srcpge = fx_addr(b->data),
					       .secinfo = fx_addr(&b->pcmd), .secs = secs_addr(f) };
		uint64_t pi = fx_addr(&b->pi);

		assert_gp(hw_encls(f->lp, leaf, pi + 16, target, slot));
		assert_gp(hw_encls(f->lp, leaf, pi, target + 0x10, slot));
		assert_gp(hw_encls(f->lp, leaf, pi + 16, host, slot));
		assert_pf(hw_encls(f->lp, leaf, pi, host, slot), host, PF_ENCLS);
		assert_pf(hw_encls(f->lp, leaf, pi, host, slot + 1), host, PF_ENCLS);
		assert_gp(hw_encls(f->lp, leaf, pi, target, slot + 1));
		assert_pf(hw_encls(f->lp, leaf, pi, target, host + 8), host + 8, PF_ENCLS);
		assert_pf(hw_encls(f->lp, leaf, 0x40, target, slot), 0x40, 0);

		b->pi.secinfo += 32;
		assert_gp(hw_encls(f->lp, leaf, pi, target, slot));
		b->pi.secinfo -= 32;
		b->pi.srcpge += 8;
		assert_gp(hw_encls(f->lp, leaf, pi, target, slot));
		b->pi.srcpge = 0;
		assert_pf(hw_encls(f->lp, leaf, pi, target, slot), 0, 0);
		b->pi.srcpge = fx_addr(b->data);
		b->pi.secinfo = 0x100;
		assert_pf(hw_encls(f->lp, leaf, pi, target, slot), 0x100, 0);
		b->pi.secinfo = fx_addr(&b->pcmd);

		/* target in use; slot not in a VA page (target checked first) */
		uint64_t used = fx_epc_of(f, FX_DATA + 0x2000);
		assert_pf(hw_encls(f->lp, leaf, pi, used, slot), used, PF_ENCLS);
		assert_pf(hw_encls(f->lp, leaf, pi, used, used + 8), used, PF_ENCLS);
		assert_pf(hw_encls(f->lp, leaf, pi, target, used + 8), used + 8, PF_ENCLS);
		assert_pf(hw_encls(f->lp, leaf, pi, target, target + 8), target + 8, PF_ENCLS);

		/* the parent SECS of a child page */
		b->pi.secs = secs_addr(f) + 0x40;
		assert_gp(hw_encls(f->lp, leaf, pi, target, slot));
		b->pi.secs = host;
		assert_pf(hw_encls(f->lp, leaf, pi, target, slot), host, PF_ENCLS);
		b->pi.secs = used;
		assert_pf(hw_encls(f->lp, leaf, pi, target, slot), used, PF_ENCLS);
		b->pi.secs = fx_addr(va);
		assert_pf(hw_encls(f->lp, leaf, pi, target, slot), fx_addr(va), PF_ENCLS);
		b->pi.secs = secs_addr(f);

		/* a page type EWB never writes */
		b->pcmd.secinfo.flags = SGX_SECINFO_PT(7) | SGX_SECINFO_R;
		assert_gp(hw_encls(f->lp, leaf, pi, target, slot));
		b->pcmd.secinfo.flags = FX_REG_RW;

		assert_false(epcm_at(f, target).valid);
		assert_int_not_equal(slot_value(va, 5), 0);
		assert_success(hw_encls(f->lp, leaf, pi, target, slot));
		struct hw_epcm_entry e = epcm_at(f, target);
		assert_true(e.valid);
		assert_int_equal(e.blocked, leaf == SGX_ELDB);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_epa_creates_empty_va),
		T(test_epa_faults),
		T(test_eblock_blocks_and_records_epoch),
		T(test_eblock_codes),
		T(test_eblock_faults),
		T(test_round_trip_reg_page),
		T(test_round_trip_pending_page),
		T(test_round_trip_pr_page),
		T(test_round_trip_tcs),
		T(test_round_trip_trim_page),
		T(test_round_trip_secs),
		T(test_discard_evicted_secs),
		T(test_round_trip_va_page),
		T(test_replayed_blob_fails),
		T(test_tampered_blob_fails),
		T(test_ewb_page_not_blocked),
		T(test_ewb_not_tracked),
		T(test_ewb_va_slot_occupied),
		T(test_eldb_loads_blocked),
		T(test_eldb_secs_and_va_not_blocked),
		T(test_ewb_faults),
		T(test_eld_faults),
	};
	return cmocka_run_group_tests_name("paging", tests, NULL, NULL);
}
