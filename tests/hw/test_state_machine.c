/*
 * The page state machine of isa.md §4.19 end to end, with the EPCM bits and
 * the outcome of an enclave read / write / fetch (isa.md §3.2) checked in
 * every state, and the stale-TLB window that ETRACK and the OS's IPIs exist
 * to close (§3.1): a TLB entry filled before EMODPR/EMODT keeps the old
 * rights until its LP leaves the enclave.
 *
 * LP 0 runs TCS #1, LP 1 runs TCS #2, LP 3 is the OS.  As in Linux, the OS
 * changes pages while the enclave thread is out (an OCALL) unless a test is
 * about an LP that stays inside.  The page tables map the pages under test
 * RWX so that the EPCM alone decides.  After a fault (an AEX) the tests
 * ERESUME.
 */
#include "common/fixture_sgx2.h"

/* EPCM #PF error codes of an enclave access: P|U|SGX plus W or I */
#define EC_READ    (SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_U)
#define EC_WRITE   (EC_READ | SGX_PFEC_W)
#define EC_FETCH   (EC_READ | SGX_PFEC_I)
#define OK_ACCESS  0u

static struct sgx_result eremove(struct fx *f, uint64_t la)
{
	return hw_encls(OS(f), SGX_EREMOVE, 0, fx_epc_of(f, la), 0);
}

static struct sgx_result enclu_secinfo(struct hw_lp *lp, uint32_t leaf, uint64_t flags, uint64_t rcx, uint64_t rdx)
{
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	assert_success(hw_lp_write(lp, SLOT, &si, sizeof(si)));
	return hw_enclu(lp, leaf, SLOT, rcx, rdx);
}

static struct sgx_result eaccept(struct hw_lp *lp, uint64_t la, uint64_t flags)
{
	return enclu_secinfo(lp, SGX_EACCEPT, flags, la, 0);
}

static uint64_t epoch_of(struct fx *f)
{
	uint64_t epoch = UINT64_MAX;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(f->secs)), NULL, NULL, &epoch, NULL));
	return epoch;
}

static void resume(struct hw_lp *lp, uint64_t tcs)
{
	assert_success(hw_enclu(lp, SGX_ERESUME, tcs, FX_AEP, 0));
}

/* One access by lp (inside, on tcs): ec = OK_ACCESS must succeed, else a #PF
 * with that error code, an AEX (CR2 page-masked) and then ERESUME. */
#define assert_access(lp, tcs, la, kind, ec) do { \
		uint8_t *h_; \
		struct sgx_result a_ = hw_lp_access((lp), (la), (kind), &h_); \
		if ((ec) == OK_ACCESS) { \
			assert_success(a_); \
		} else { \
			assert_true(a_.aex); \
			assert_pf(a_, (la) & SGX_PAGE_MASK, (ec)); \
			resume((lp), (tcs)); \
		} \
	} while (0)

/* Read, write and fetch by LP 0 on TCS #1. */
#define assert_rwx_outcome(f, la, er, ew, ex) do { \
		assert_access((f)->lp, FX_TCS, (la) + 0x18, HW_READ, (er)); \
		assert_access((f)->lp, FX_TCS, (la) + 0x28, HW_WRITE, (ew)); \
		assert_access((f)->lp, FX_TCS, (la) + 0x38, HW_FETCH, (ex)); \
	} while (0)

struct epcm_want {
	bool valid;
	uint8_t pt;
	bool r, w, x, pending, modified, pr;
};

static void assert_epcm_frame(struct fx *f, uint32_t frame, struct epcm_want want)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, frame, &e));
	assert_int_equal(e.valid, want.valid);
	if (!want.valid)
		return;
	assert_int_equal(e.pt, want.pt);
	assert_int_equal(e.r, want.r);
	assert_int_equal(e.w, want.w);
	assert_int_equal(e.x, want.x);
	assert_int_equal(e.pending, want.pending);
	assert_int_equal(e.modified, want.modified);
	assert_int_equal(e.pr, want.pr);
	assert_false(e.blocked);
}

#define assert_epcm(f, la, ...) \
	assert_epcm_frame((f), fx_frame_of_la((f), (la)), (struct epcm_want){ .valid = true, __VA_ARGS__ })

/*
 * FREE → EAUG → EACCEPT → EMODPR → ETRACK → EACCEPT → EMODPE → EMODT(TRIM)
 * → ETRACK → EACCEPT(TRIM|MODIFIED) → EREMOVE → FREE (and EAUG again).
 */
static void test_reg_page_life_cycle(void **state)
{
	struct fx *f = *state;
	const uint64_t la = FX_HEAP;
	uint8_t *frame = fx_frame(f);
	uint32_t fno = hw_epc_frame_of(f->m, fx_addr(frame));
	struct sgx_result r;

	/* FREE: mapped, but no valid EPCM entry */
	assert_epcm_frame(f, fno, (struct epcm_want){ .valid = false });
	assert_int_equal(hw_pt_map(f->pt, la, frame, PTE_ALL), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);
	assert_success(fx_exit(f, f->lp));

	/* EAUG → REG{RW-, PENDING}: no access until accepted */
	assert_success(fx_eaug_frame_on(f, OS(f), la, frame, PTE_ALL));
	assert_epcm(f, la, .pt = SGX_PT_REG, .r = true, .w = true, .pending = true);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);

	/* EACCEPT → REG{RW-} */
	assert_success(eaccept(f->lp, la, REG | R | W | PENDING));
	assert_epcm(f, la, .pt = SGX_PT_REG, .r = true, .w = true);
	assert_rwx_outcome(f, la, OK_ACCESS, OK_ACCESS, EC_FETCH);
	assert_success(fx_exit(f, f->lp));

	/* EMODPR(R) → REG{R--, PR}: PR itself blocks nothing, the rights do */
	uint64_t epoch = epoch_of(f);
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, la));
	assert_epcm(f, la, .pt = SGX_PT_REG, .r = true, .pr = true);
	assert_int_equal(fx_epcm(f, la).bepoch, epoch);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, OK_ACCESS, EC_WRITE, EC_FETCH);
	assert_rc(eaccept(f->lp, la, REG | R | PR), SGX_NOT_TRACKED);
	assert_success(fx_exit(f, f->lp));

	/* ETRACK, re-entry, EACCEPT(REG|PR|R--) → REG{R--} */
	assert_success(fx_etrack_on(f, OS(f)));
	assert_int_equal(epoch_of(f), epoch + 1);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eaccept(f->lp, la, REG | R | PR));
	assert_epcm(f, la, .pt = SGX_PT_REG, .r = true);
	assert_rwx_outcome(f, la, OK_ACCESS, EC_WRITE, EC_FETCH);

	/* EMODPE(X) → REG{R-X}, effective at once, no ETRACK / EACCEPT */
	r = enclu_secinfo(f->lp, SGX_EMODPE, X, la, 0);
	assert_success(r);
	assert_epcm(f, la, .pt = SGX_PT_REG, .r = true, .x = true);
	assert_rwx_outcome(f, la, OK_ACCESS, EC_WRITE, OK_ACCESS);
	assert_success(fx_exit(f, f->lp));

	/* EMODT(TRIM) → TRIM{---, MODIFIED}: nothing reaches it; EMODPR says 20 */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, la));
	assert_epcm(f, la, .pt = SGX_PT_TRIM, .modified = true);
	assert_int_equal(fx_epcm(f, la).bepoch, epoch + 1);
	assert_rc(fx_emod_on(f, OS(f), SGX_EMODPR, R | W | X, la), SGX_PAGE_NOT_MODIFIABLE);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);
	assert_rc(eaccept(f->lp, la, TRIM | MODIFIED), SGX_NOT_TRACKED);
	assert_success(fx_exit(f, f->lp));

	/* ETRACK, re-entry, EACCEPT(TRIM|MODIFIED) → TRIM{---}: still no access */
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eaccept(f->lp, la, TRIM | MODIFIED));
	assert_epcm(f, la, .pt = SGX_PT_TRIM);
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);
	assert_success(fx_exit(f, f->lp));
	/* the Linux REMOVE_PAGES probe: an accepted trim is #PF for EMODPR */
	assert_pf(fx_emod_on(f, OS(f), SGX_EMODPR, R | W | X, la), fx_addr(frame), SGX_PFEC_SGX | SGX_PFEC_P);

	/* EREMOVE → FREE */
	assert_success(eremove(f, la));
	assert_epcm_frame(f, fno, (struct epcm_want){ .valid = false });
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);
	assert_success(fx_exit(f, f->lp));

	/* a free frame can be EAUG'd again, here at another address */
	assert_success(fx_eaug_frame_on(f, OS(f), la + 0x1000, frame, PTE_ALL));
	assert_epcm(f, la + 0x1000, .pt = SGX_PT_REG, .r = true, .w = true, .pending = true);
	assert_int_equal(fx_epcm(f, la + 0x1000).enclave_address, la + 0x1000);
}

/* REG → TCS via EMODT + EACCEPT, then a thread enters through the new TCS;
 * finally TCS → TRIM. */
static void test_reg_to_tcs_and_enter(void **state)
{
	struct fx *f = *state;
	const uint64_t tcs_la = FX_HEAP + 0x1000, ssa_la = FX_HEAP + 0x2000;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaug_frame_on(f, OS(f), tcs_la, fx_frame(f), PTE_ALL));
	assert_success(fx_eaug_frame_on(f, OS(f), ssa_la, fx_frame(f), PTE_ALL));
	assert_success(eaccept(f->lp, tcs_la, REG | R | W | PENDING));
	assert_success(eaccept(f->lp, ssa_la, REG | R | W | PENDING));
	struct sgx_tcs tcs;
	memset(&tcs, 0, sizeof(tcs));
	tcs.ossa = ssa_la - FX_BASE;
	tcs.nssa = 1;
	tcs.oentry = FX_CODE - FX_BASE;
	assert_success(hw_lp_write(f->lp, tcs_la, &tcs, sizeof(tcs)));
	assert_success(fx_exit(f, f->lp));

	/* EMODT(TCS) → TCS{---, MODIFIED}: neither data nor an entry point yet */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TCS, tcs_la));
	assert_epcm(f, tcs_la, .pt = SGX_PT_TCS, .modified = true);
	assert_pf(fx_enter(f, LP1(f), tcs_la), tcs_la, EC_READ);
	assert_false(hw_lp_in_enclave(LP1(f)));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_access(f->lp, FX_TCS, tcs_la, HW_READ, EC_READ);
	assert_rc(eaccept(f->lp, tcs_la, REG | R | W | PR), SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_success(eaccept(f->lp, tcs_la, TCS | MODIFIED));
	assert_epcm(f, tcs_la, .pt = SGX_PT_TCS);
	/* an accepted TCS is never data */
	assert_access(f->lp, FX_TCS, tcs_la, HW_READ, EC_READ);
	assert_access(f->lp, FX_TCS, tcs_la + 8, HW_WRITE, EC_WRITE);
	assert_success(fx_exit(f, f->lp));

	/* a second thread enters through it */
	struct hw_regs *regs = hw_lp_regs(LP1(f));
	assert_success(fx_enter(f, LP1(f), tcs_la));
	assert_true(hw_lp_in_enclave(LP1(f)));
	assert_int_equal(hw_lp_tcs(LP1(f)), tcs_la);
	assert_int_equal(regs->rip, FX_CODE);
	assert_int_equal(regs->rax, 0);
	char buf[19] = { 0 };
	assert_success(hw_lp_read(LP1(f), FX_DATA, buf, sizeof(buf) - 1));
	assert_string_equal(buf, "page at 0x40003000");
	/* busy while LP 1 is inside */
	assert_gp(fx_enter(f, f->lp, tcs_la));
	/* its AEX uses the new SSA frame */
	assert_access(LP1(f), tcs_la, tcs_la + 8, HW_WRITE, EC_WRITE);
	struct hw_epcm_entry ssa = fx_epcm(f, ssa_la);
	const struct sgx_exinfo *exinfo = (const struct sgx_exinfo *)(hw_epc_page(f->m, fx_frame_of_la(f, ssa_la)) +
		SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx) - sizeof(struct sgx_exinfo));
	assert_true(ssa.r && ssa.w);
	assert_int_equal(exinfo->maddr, tcs_la + 8);
	assert_int_equal(exinfo->errcd, EC_WRITE);
	assert_success(fx_exit(f, LP1(f)));

	/* TCS → TRIM: it can no longer be entered */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, tcs_la));
	assert_epcm(f, tcs_la, .pt = SGX_PT_TRIM, .modified = true);
	assert_pf(fx_enter(f, LP1(f), tcs_la), tcs_la, EC_READ);
}

/* REG{PENDING} --EACCEPTCOPY(R-X)--> REG{R-X}: a code page never writable,
 * then restricted, trimmed and removed. */
static void test_eacceptcopy_code_page_life_cycle(void **state)
{
	struct fx *f = *state;
	const uint64_t la = FX_HEAP + 0x3000;
	static uint8_t code[SGX_PAGE_SIZE];
	memset(code, 0x90, sizeof(code));
	code[0x100] = 0xc3;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(hw_lp_write(f->lp, PAGE, code, sizeof(code)));
	assert_success(fx_eaug_frame_on(f, OS(f), la, fx_frame(f), PTE_ALL));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);
	assert_success(enclu_secinfo(f->lp, SGX_EACCEPTCOPY, REG | R | X, la, PAGE));
	assert_epcm(f, la, .pt = SGX_PT_REG, .r = true, .x = true);
	assert_memory_equal(hw_epc_page(f->m, fx_frame_of_la(f, la)), code, SGX_PAGE_SIZE);
	assert_rwx_outcome(f, la, OK_ACCESS, EC_WRITE, OK_ACCESS);
	uint8_t *host;
	assert_success(hw_lp_access(f->lp, la + 0x100, HW_FETCH, &host));
	assert_int_equal(*host, 0xc3);
	assert_success(fx_exit(f, f->lp));

	/* EMODPR(X) → --X{PR}: executable, no longer readable */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, X, la));
	assert_epcm(f, la, .pt = SGX_PT_REG, .x = true, .pr = true);
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, OK_ACCESS);
	assert_success(eaccept(f->lp, la, REG | X | PR));
	assert_epcm(f, la, .pt = SGX_PT_REG, .x = true);
	assert_success(fx_exit(f, f->lp));

	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, la));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rwx_outcome(f, la, EC_READ, EC_WRITE, EC_FETCH);
	assert_success(eaccept(f->lp, la, TRIM | MODIFIED));
	assert_success(fx_exit(f, f->lp));
	assert_success(eremove(f, la));
	assert_epcm_frame(f, fx_frame_of_la(f, la), (struct epcm_want){ .valid = false });
}

/* An EADD'd TCS: TCS --EMODT(TRIM)--> TRIM{MODIFIED} --EACCEPT--> TRIM --EREMOVE--> FREE */
static void test_eadd_tcs_trimmed_and_removed(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_success(fx_exit(f, LP1(f)));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, FX_TCS2));
	assert_epcm(f, FX_TCS2, .pt = SGX_PT_TRIM, .modified = true);
	assert_pf(fx_enter(f, LP1(f), FX_TCS2), FX_TCS2, EC_READ);
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rc(eaccept(f->lp, FX_TCS2, TCS | MODIFIED), SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_success(eaccept(f->lp, FX_TCS2, TRIM | MODIFIED));
	assert_epcm(f, FX_TCS2, .pt = SGX_PT_TRIM);
	assert_access(f->lp, FX_TCS, FX_TCS2, HW_READ, EC_READ);
	/* Decision of EREMOVE (isa.md §4.5): an accepted TRIM goes even while
	 * a thread is inside */
	assert_success(eremove(f, FX_TCS2));
	assert_epcm_frame(f, fx_frame_of_la(f, FX_TCS2), (struct epcm_want){ .valid = false });
	assert_pf(fx_enter(f, LP1(f), FX_TCS2), FX_TCS2, EC_READ);
}

/* ---- stale TLB ---- */

/*
 * The start of the stale-TLB tests: LP 0 enters TCS #1 and writes v to PAGE,
 * so its TLB holds the page's RW rights; then the OS (LP 3) runs leaf
 * (EMODPR or EMODT) with SECINFO flags on PAGE, leaving LP 0 inside with
 * the old entry.  Asserts each step; returns nothing.
 */
static void write_then_emod(struct fx *f, uint32_t v, uint32_t leaf, uint64_t flags)
{
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_success(fx_emod_on(f, OS(f), leaf, flags, PAGE));
}

/* LP 0 wrote PAGE (its TLB holds RW); the OS restricts it to R--.  LP 0's
 * writes keep landing until it leaves; LP 1, entering later, is refused. */
static void test_stale_tlb_after_emodpr_until_eexit(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	uint32_t v = 1;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	uint64_t stale0 = st->stale_tlb_hits;
	assert_int_equal(stale0, 0);
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));

	v = 2;
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_int_equal(st->stale_tlb_hits, stale0 + 1);
	v = 3;
	assert_success(hw_lp_write(f->lp, PAGE + 0x10, &v, sizeof(v)));
	assert_int_equal(st->stale_tlb_hits, stale0 + 2);
	/* the writes really happened: the old rights are still in force */
	uint32_t seen;
	memcpy(&seen, hw_epc_page(f->m, fx_frame_of_la(f, PAGE)) + 0x10, sizeof(seen));
	assert_int_equal(seen, 3);
	/* a read is allowed by the new rights too: not stale */
	assert_success(hw_lp_read(f->lp, PAGE, &seen, sizeof(seen)));
	assert_int_equal(seen, 2);
	assert_int_equal(st->stale_tlb_hits, stale0 + 2);

	/* another LP has no such entry */
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_access(LP1(f), FX_TCS2, PAGE + 0x20, HW_WRITE, EC_WRITE);
	assert_int_equal(hw_lp_stats(LP1(f))->stale_tlb_hits, 0);

	assert_success(fx_exit(f, f->lp));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_access(f->lp, FX_TCS, PAGE, HW_WRITE, EC_WRITE);
	assert_int_equal(st->stale_tlb_hits, stale0 + 2);
	memcpy(&seen, hw_epc_page(f->m, fx_frame_of_la(f, PAGE)), sizeof(seen));
	assert_int_equal(seen, 2);
}

/* The same window closed by an interrupt: the AEX flushes the TLB. */
static void test_stale_tlb_after_emodpr_until_aex(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	uint32_t v = 1;
	write_then_emod(f, v, SGX_EMODPR, R);
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_int_equal(st->stale_tlb_hits, 1);
	uint64_t aex = st->aex;
	struct sgx_result r = hw_lp_interrupt(f->lp);
	assert_true(r.aex);
	assert_int_equal(r.vector, SGX_VEC_NONE);
	assert_int_equal(st->aex, aex + 1);
	assert_false(hw_lp_in_enclave(f->lp));
	resume(f->lp, FX_TCS);
	assert_access(f->lp, FX_TCS, PAGE, HW_WRITE, EC_WRITE);
	assert_int_equal(st->stale_tlb_hits, 1);
}

/* "A missing ETRACK or IPI is observable as a stale-TLB access": after
 * EMODPR + ETRACK without the IPI, LP 0 (inside since before) still writes,
 * and that is exactly why EACCEPT on LP 1 says SGX_NOT_TRACKED.  The IPI
 * (an AEX of LP 0) closes both. */
static void test_missing_ipi_is_a_stale_access(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	uint32_t v = 1;
	write_then_emod(f, v, SGX_EMODPR, R);
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_rc(eaccept(LP1(f), PAGE, REG | R | PR), SGX_NOT_TRACKED);
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_int_equal(st->stale_tlb_hits, 1);

	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_success(eaccept(LP1(f), PAGE, REG | R | PR));
	assert_epcm(f, PAGE, .pt = SGX_PT_REG, .r = true);
	resume(f->lp, FX_TCS);
	assert_access(f->lp, FX_TCS, PAGE, HW_WRITE, EC_WRITE);
	assert_int_equal(st->stale_tlb_hits, 1);
}

/* EMODT(TRIM) leaves the same window: a TLB entry still reaches the page. */
static void test_stale_tlb_after_emodt(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	uint32_t v = 5, seen = 0;
	write_then_emod(f, v, SGX_EMODT, TRIM);
	assert_success(hw_lp_read(f->lp, PAGE, &seen, sizeof(seen)));
	assert_int_equal(seen, 5);
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_int_equal(st->stale_tlb_hits, 2);
	assert_success(fx_exit(f, f->lp));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_access(f->lp, FX_TCS, PAGE, HW_READ, EC_READ);
	assert_int_equal(st->stale_tlb_hits, 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_reg_page_life_cycle),
		T(test_reg_to_tcs_and_enter),
		T(test_eacceptcopy_code_page_life_cycle),
		T(test_eadd_tcs_trimmed_and_removed),
		T(test_stale_tlb_after_emodpr_until_eexit),
		T(test_stale_tlb_after_emodpr_until_aex),
		T(test_missing_ipi_is_a_stale_access),
		T(test_stale_tlb_after_emodt),
	};
#undef T
	return cmocka_run_group_tests_name("SGX2 page state machine", tests, NULL, NULL);
}
