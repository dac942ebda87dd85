/*
 * ETRACK and the tracking model (isa.md §4.6): epochs, RC 17 while the
 * previous cycle has LPs inside, and what EWB sees — SGX_NOT_TRACKED until an
 * ETRACK after the EBLOCK has completed, i.e. every LP inside at that ETRACK
 * has left by EEXIT or AEX.  Also the reason for it all: a TLB entry filled
 * before EBLOCK keeps working until its LP leaves the enclave.
 */
#include "common/fixture.h"

static uint32_t secs_frame(struct fx *f)
{
	return hw_epc_frame_of(f->m, fx_addr(f->secs));
}

static void epochs(struct fx *f, uint64_t *epoch, uint64_t *tracked)
{
	assert_true(hw_secs_info(f->m, secs_frame(f), NULL, NULL, epoch, tracked));
}

/* ENCLS from inside an enclave is #UD: the OS runs on an LP of its own. */
static struct hw_lp *os_lp(struct fx *f)
{
	return hw_lp_get(f->m, 3);
}

static struct sgx_result eblock(struct fx *f, uint64_t la)
{
	return hw_encls(os_lp(f), SGX_EBLOCK, 0, fx_epc_of(f, la), 0);
}

/* EWB of the page at la into slot 0 of a fresh VA page. */
static struct sgx_result ewb(struct fx *f, struct hw_lp *lp, uint64_t la)
{
	static uint8_t blob[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	static struct sgx_pcmd pcmd;
	static struct sgx_pageinfo pi;
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(os_lp(f), SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(blob), .secinfo = fx_addr(&pcmd) };
	return hw_encls(lp, SGX_EWB, fx_addr(&pi), fx_epc_of(f, la), fx_addr(va));
}

static bool resident(struct fx *f, uint64_t la)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, fx_frame_of_la(f, la), &e));
	return e.valid;
}

/* ---- ETRACK itself ---- */

static void test_etrack_faults(void **state)
{
	struct fx *f = *state;
	uint64_t host = fx_addr(fx_scratch(f, 0));
	uint64_t secs = fx_addr(f->secs);
	uint8_t *free_page = fx_frame(f);
	assert_gp(hw_encls(f->lp, SGX_ETRACK, 0, secs + 0x200, 0));
	assert_gp(hw_encls(f->lp, SGX_ETRACK, 0, host + 8, 0));
	assert_pf(hw_encls(f->lp, SGX_ETRACK, 0, host, 0), host, FX_PFEC_ENCLS);
	assert_pf(hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(free_page), 0), fx_addr(free_page), FX_PFEC_ENCLS);
	assert_pf(hw_encls(f->lp, SGX_ETRACK, 0, fx_epc_of(f, FX_DATA), 0), fx_epc_of(f, FX_DATA), FX_PFEC_ENCLS);
	assert_pf(hw_encls(f->lp, SGX_ETRACK, 0, fx_epc_of(f, FX_TCS), 0), fx_epc_of(f, FX_TCS), FX_PFEC_ENCLS);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(free_page), 0));
	assert_pf(hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(free_page), 0), fx_addr(free_page), FX_PFEC_ENCLS);
	uint64_t epoch = 9, tracked = 9;
	epochs(f, &epoch, &tracked);
	assert_int_equal(epoch, 0);
	assert_int_equal(tracked, 0);
}

static void test_etrack_starts_new_epoch(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	uint64_t epoch, tracked;
	regs->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF;
	assert_success(fx_etrack_on(f, f->lp));
	assert_int_equal(regs->rax, 0);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), 0);
	epochs(f, &epoch, &tracked);
	assert_int_equal(epoch, 1);
	assert_int_equal(tracked, 1);
	/* no LP inside: every cycle completes at once */
	assert_success(fx_etrack_on(f, hw_lp_get(f->m, 2)));
	epochs(f, &epoch, &tracked);
	assert_int_equal(epoch, 2);
	assert_int_equal(tracked, 2);
}

static void test_etrack_prev_trk_incmpl(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp, *lp1 = hw_lp_get(f->m, 1), *os = os_lp(f);
	struct hw_regs *regs = hw_lp_regs(os);
	uint64_t epoch, tracked;

	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(fx_etrack_on(f, os));
	/* lp0 was inside at that ETRACK and still is */
	assert_rc(fx_etrack_on(f, os), SGX_PREV_TRK_INCMPL);
	assert_int_equal(regs->rax, SGX_PREV_TRK_INCMPL);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_ZF);
	epochs(f, &epoch, &tracked);
	assert_int_equal(epoch, 1);
	assert_int_equal(tracked, 1);

	/* lp1 enters in the new epoch: it does not hold the cycle up */
	assert_success(fx_enter(f, lp1, FX_TCS2));
	assert_rc(fx_etrack_on(f, os), SGX_PREV_TRK_INCMPL);
	assert_success(fx_exit(f, lp0));
	assert_success(fx_etrack_on(f, os));
	epochs(f, &epoch, &tracked);
	assert_int_equal(epoch, 2);
	assert_int_equal(tracked, 2);

	/* now lp1 was inside at the ETRACK; an AEX lets the cycle complete */
	assert_rc(fx_etrack_on(f, os), SGX_PREV_TRK_INCMPL);
	struct sgx_result r = hw_lp_interrupt(lp1);
	assert_true(r.aex);
	assert_false(hw_lp_in_enclave(lp1));
	assert_success(fx_etrack_on(f, os));
	epochs(f, &epoch, &tracked);
	assert_int_equal(epoch, 3);
}

/* ---- EWB and tracking ---- */

static void test_ewb_without_etrack_not_tracked(void **state)
{
	struct fx *f = *state;
	assert_success(eblock(f, FX_DATA));
	assert_rc(ewb(f, f->lp, FX_DATA), SGX_NOT_TRACKED);
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_NOT_TRACKED);
	assert_true(resident(f, FX_DATA));
	assert_success(fx_etrack_on(f, f->lp));
	assert_success(ewb(f, f->lp, FX_DATA));
	assert_false(resident(f, FX_DATA));
}

static void test_ewb_waits_for_lp_to_exit(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp, *os = os_lp(f);
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(eblock(f, FX_DATA));
	assert_success(fx_etrack_on(f, os));
	assert_rc(ewb(f, os, FX_DATA), SGX_NOT_TRACKED);
	assert_true(resident(f, FX_DATA));
	assert_success(fx_exit(f, lp0));
	assert_success(ewb(f, os, FX_DATA));
	assert_false(resident(f, FX_DATA));
}

static void test_ewb_waits_for_aex(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp, *lp1 = hw_lp_get(f->m, 1), *os = os_lp(f);
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(eblock(f, FX_DATA));
	assert_success(fx_etrack_on(f, os));
	/* lp1 enters after the ETRACK: it cannot hold a stale entry */
	assert_success(fx_enter(f, lp1, FX_TCS2));
	assert_rc(ewb(f, os, FX_DATA), SGX_NOT_TRACKED);
	/* the OS's IPI: lp0 takes an AEX */
	struct sgx_result r = hw_lp_interrupt(lp0);
	assert_true(r.aex);
	assert_int_equal(hw_lp_stats(lp0)->aex, 1);
	assert_success(ewb(f, os, FX_DATA));
	assert_true(hw_lp_in_enclave(lp1));
}

static void test_ewb_waits_for_every_lp(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp, *lp1 = hw_lp_get(f->m, 1), *os = os_lp(f);
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(fx_enter(f, lp1, FX_TCS2));
	assert_success(eblock(f, FX_DATA));
	assert_success(fx_etrack_on(f, os));
	assert_success(fx_exit(f, lp0));
	assert_rc(ewb(f, os, FX_DATA), SGX_NOT_TRACKED);
	/* re-entering puts lp0 in the new epoch: it does not count */
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_true(hw_lp_interrupt(lp1).aex);
	assert_success(ewb(f, os, FX_DATA));
}

static void test_entry_in_block_epoch_counts(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp, *os = os_lp(f);
	/* lp0 enters after the EBLOCK but in the same epoch: epochs cannot
	 * tell it from an LP that entered before, so it must leave too */
	assert_success(eblock(f, FX_DATA));
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(fx_etrack_on(f, os));
	assert_rc(ewb(f, os, FX_DATA), SGX_NOT_TRACKED);
	assert_success(fx_exit(f, lp0));
	assert_success(ewb(f, os, FX_DATA));
}

/* ---- the stale TLB entry that tracking exists for ---- */

static void test_stale_tlb_survives_eblock(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp, *lp1 = hw_lp_get(f->m, 1);
	const struct hw_lp_stats *st = hw_lp_stats(lp0);
	uint8_t *host;
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(hw_lp_access(lp0, FX_DATA, HW_READ, &host));
	assert_int_equal(st->stale_tlb_hits, 0);

	assert_success(eblock(f, FX_DATA));
	/* the entry filled before the block still works, and is counted stale */
	uint64_t hits = st->tlb_hits;
	assert_success(hw_lp_access(lp0, FX_DATA, HW_READ, &host));
	assert_int_equal(st->stale_tlb_hits, 1);
	assert_int_equal(st->tlb_hits, hits + 1);
	char buf[32] = { 0 };
	assert_success(hw_lp_read(lp0, FX_DATA, buf, sizeof(buf)));
	assert_string_equal(buf, "page at 0x40003000");
	assert_int_equal(st->stale_tlb_hits, 2);
	assert_success(hw_lp_access(lp0, FX_DATA, HW_WRITE, &host));
	assert_int_equal(st->stale_tlb_hits, 3);

	/* another LP without the entry faults at once */
	assert_success(fx_enter(f, lp1, FX_TCS2));
	struct sgx_result r = hw_lp_access(lp1, FX_DATA + 0x10, HW_READ, &host);
	assert_true(r.aex);
	assert_pf(r, FX_DATA, 0x8005);
	assert_int_equal(hw_lp_stats(lp1)->stale_tlb_hits, 0);

	/* leaving flushes it: after EEXIT and re-entry, lp0 faults as well */
	assert_success(fx_exit(f, lp0));
	assert_success(fx_enter(f, lp0, FX_TCS));
	r = hw_lp_access(lp0, FX_DATA, HW_READ, &host);
	assert_true(r.aex);
	assert_pf(r, FX_DATA, 0x8005);
	assert_int_equal(st->stale_tlb_hits, 3);
}

static void test_stale_tlb_gone_after_aex(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp0 = f->lp;
	const struct hw_lp_stats *st = hw_lp_stats(lp0);
	uint8_t *host;
	assert_success(fx_enter(f, lp0, FX_TCS));
	assert_success(hw_lp_access(lp0, FX_DATA, HW_WRITE, &host));
	assert_success(eblock(f, FX_DATA));
	assert_success(hw_lp_access(lp0, FX_DATA, HW_WRITE, &host));
	assert_int_equal(st->stale_tlb_hits, 1);
	assert_true(hw_lp_interrupt(lp0).aex);
	assert_success(fx_enter(f, lp0, FX_TCS));
	struct sgx_result r = hw_lp_access(lp0, FX_DATA, HW_WRITE, &host);
	assert_true(r.aex);
	assert_pf(r, FX_DATA, 0x8007);
	assert_int_equal(st->stale_tlb_hits, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_etrack_faults),
		T(test_etrack_starts_new_epoch),
		T(test_etrack_prev_trk_incmpl),
		T(test_ewb_without_etrack_not_tracked),
		T(test_ewb_waits_for_lp_to_exit),
		T(test_ewb_waits_for_aex),
		T(test_ewb_waits_for_every_lp),
		T(test_entry_in_block_epoch_counts),
		T(test_stale_tlb_survives_eblock),
		T(test_stale_tlb_gone_after_aex),
	};
	return cmocka_run_group_tests_name("etrack", tests, NULL, NULL);
}
