/*
 * EMODPE (isa.md §4.13) and EACCEPTCOPY (§4.12): the two enclave-initiated
 * SGX2 leaves that need no tracking.  Every outcome, the order of the
 * operand checks, and the rights in effect afterwards.  LP 0 runs TCS #1,
 * LP 1 runs TCS #2, LP 3 is the OS.  After a fault (an AEX) the tests
 * ERESUME, so every fault lands in SSA frame 0.
 */
#include "common/fixture_sgx2.h"

#define SRC        (FX_DATA + 0x3000)        /* EACCEPTCOPY source, REG RW- */

static void put_secinfo(struct hw_lp *lp, uint64_t at, uint64_t flags)
{
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	assert_success(hw_lp_write(lp, at, &si, sizeof(si)));
}

static struct sgx_result emodpe(struct hw_lp *lp, uint64_t la, uint64_t flags)
{
	put_secinfo(lp, SLOT, flags);
	return hw_enclu(lp, SGX_EMODPE, SLOT, la, 0);
}

static struct sgx_result eacceptcopy(struct hw_lp *lp, uint64_t dst, uint64_t src, uint64_t flags)
{
	put_secinfo(lp, SLOT, flags);
	return hw_enclu(lp, SGX_EACCEPTCOPY, SLOT, dst, src);
}

static void resume(struct hw_lp *lp)
{
	assert_success(hw_enclu(lp, SGX_ERESUME, FX_TCS, FX_AEP, 0));
}

/* Faults of LP 0 on TCS #1: AEX, CR2 page-masked, EXINFO full; then ERESUME. */
#define assert_aex_pf(f, expr, addr, ec) do { \
		struct sgx_result r2_ = (expr); \
		assert_true(r2_.aex); \
		assert_pf(r2_, (addr) & SGX_PAGE_MASK, (ec)); \
		assert_int_equal(fx_last_exinfo(f, FX_TCS)->maddr, (addr)); \
		assert_int_equal(fx_last_exinfo(f, FX_TCS)->errcd, (ec)); \
		resume((f)->lp); \
	} while (0)

#define assert_aex_gp(f, expr) do { \
		struct sgx_result r2_ = (expr); \
		assert_true(r2_.aex); \
		assert_gp(r2_); \
		resume((f)->lp); \
	} while (0)

/* A second, initialized enclave over the same ELRANGE (another process's),
 * with an accepted REG page at `added` and a PENDING one at `augd`, mapped
 * in place of ours: only EPCM.ENCLAVESECS tells them apart.  LP 0 must be
 * outside (fx_ecreate/fx_eadd/fx_einit run on it). */
static void foreign_pages(struct fx *f, uint64_t added, uint64_t augd)
{
	uint8_t *secs = f->secs;
	assert_true(sgx_ok(fx_ecreate(f, FX_BASE, FX_SIZE, FX_ATTRS)));
	assert_true(sgx_ok(fx_eadd(f, added, FX_REG_RW, NULL, false)));
	assert_true(sgx_ok(fx_einit(f)));
	assert_success(fx_eaug_on(f, OS(f), augd));
	f->secs = secs;
	struct hw_epcm_entry e = fx_epcm(f, added);
	assert_int_equal(e.enclave_address, added);
	assert_int_not_equal(e.secs, hw_epc_frame_of(f->m, fx_addr(secs)));
	assert_int_equal(fx_epcm(f, augd).enclave_address, augd);
}

/* ---- EMODPE ---- */

static void test_emodpe_extends_only(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(emodpe(f->lp, PAGE, X));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, true, true);
	assert_false(e.pr);
	assert_false(e.pending || e.modified);
	/* nothing to take away: a smaller or empty mask changes nothing */
	assert_success(emodpe(f->lp, PAGE, R));
	assert_success(emodpe(f->lp, PAGE, 0));
	fx_assert_rights(fx_epcm(f, PAGE), true, true, true);
	/* the code page R-X gains W */
	assert_success(emodpe(f->lp, FX_CODE, W));
	fx_assert_rights(fx_epcm(f, FX_CODE), true, true, true);
}

/* PR is neither checked nor changed: the pending EACCEPT must then name the
 * extended rights. */
static void test_emodpe_leaves_pr_alone(void **state)
{
	struct fx *f = *state;
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(emodpe(f->lp, PAGE, W));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, true, false);
	assert_true(e.pr);
	put_secinfo(f->lp, SLOT, REG | R | PR);
	assert_rc(hw_enclu(f->lp, SGX_EACCEPT, SLOT, PAGE, 0), SGX_PAGE_ATTRIBUTES_MISMATCH);
	put_secinfo(f->lp, SLOT, REG | R | W | PR);
	assert_success(hw_enclu(f->lp, SGX_EACCEPT, SLOT, PAGE, 0));
	assert_false(fx_epcm(f, PAGE).pr);
}

/* Extending needs neither ETRACK nor EACCEPT, and another LP inside sees the
 * new right at once (its TLB entry had less, so it refills). */
static void test_emodpe_effective_at_once(void **state)
{
	struct fx *f = *state;
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	uint32_t v = 7;
	assert_success(hw_lp_read(LP1(f), PAGE, &v, sizeof(v)));
	uint8_t *host;
	struct sgx_result r = hw_lp_access(f->lp, PAGE, HW_WRITE, &host);
	assert_true(r.aex);
	assert_pf(r, PAGE, SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_U | SGX_PFEC_W);
	resume(f->lp);
	assert_success(emodpe(f->lp, PAGE, W));
	assert_success(hw_lp_write(LP1(f), PAGE, &v, sizeof(v)));
	assert_success(hw_lp_write(f->lp, PAGE + 4, &v, sizeof(v)));
	assert_int_equal(hw_lp_stats(LP1(f))->stale_tlb_hits, 0);
}

static void test_emodpe_w_without_r_gp(void **state)
{
	struct fx *f = *state;
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, 0, PAGE));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, X, FX_CODE));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_aex_gp(f, emodpe(f->lp, PAGE, W));
	assert_aex_gp(f, emodpe(f->lp, PAGE, W | X));
	assert_aex_gp(f, emodpe(f->lp, FX_CODE, W));
	fx_assert_rights(fx_epcm(f, PAGE), false, false, false);
	fx_assert_rights(fx_epcm(f, FX_CODE), false, false, true);
	assert_success(emodpe(f->lp, PAGE, R | W));
	fx_assert_rights(fx_epcm(f, PAGE), true, true, false);
	/* with R already in the EPCM, W alone is fine */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, FX_DATA + 0x4000));
	assert_success(emodpe(f->lp, FX_DATA + 0x4000, W));
	fx_assert_rights(fx_epcm(f, FX_DATA + 0x4000), true, true, false);
}

static void test_emodpe_target_pf(void **state)
{
	struct fx *f = *state;
	foreign_pages(f, FX_HEAP + 0x1000, FX_HEAP + 0x5000);                             /* other enclave */
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));                                                 /* PENDING */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, FX_DATA + 0x4000));                   /* MODIFIED TRIM */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x2000, fx_scratch(f, 4), PTE_ALL), 0); /* not EPC */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x3000, fx_frame(f), PTE_ALL), 0);    /* not VALID */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x4000, hw_epc_page(f->m, fx_frame_of_la(f, PAGE)), PTE_ALL),
			 0);                                                                /* address mismatch */
	assert_success(hw_encls(OS(f), SGX_EBLOCK, 0, fx_epc_of(f, SRC), 0));                /* BLOCKED */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	static const uint64_t targets[] = { FX_HEAP, FX_DATA + 0x4000, FX_TCS2, FX_HEAP + 0x1000, FX_HEAP + 0x2000,
					    FX_HEAP + 0x3000, FX_HEAP + 0x4000, SRC };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		assert_aex_pf(f, emodpe(f->lp, targets[i], X), targets[i], FX_PFEC_ENCLU);
	fx_assert_rights(fx_epcm(f, FX_HEAP), true, true, false);
	fx_assert_rights(fx_epcm(f, PAGE), true, true, false);
	fx_assert_rights(fx_epcm(f, SRC), true, true, false);
	/* an accepted TRIM page too */
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_exit(f, f->lp));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	put_secinfo(f->lp, SLOT, TRIM | MODIFIED);
	assert_success(hw_enclu(f->lp, SGX_EACCEPT, SLOT, FX_DATA + 0x4000, 0));
	assert_aex_pf(f, emodpe(f->lp, FX_DATA + 0x4000, R), FX_DATA + 0x4000, FX_PFEC_ENCLU);
	fx_assert_rights(fx_epcm(f, FX_DATA + 0x4000), false, false, false);
}

static void test_emodpe_secinfo_checks(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, 0, FX_DATA + 0x4000));
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x2000, fx_scratch(f, 4), PTE_ALL), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x80, PAGE, 0), FX_HEAP + 0x80, FX_PFEC_ENCLU);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_DATA + 0x40c0, PAGE, 0), FX_DATA + 0x40c0, FX_PFEC_ENCLU);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x2040, PAGE, 0), FX_HEAP + 0x2040, FX_PFEC_ENCLU);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x5040, PAGE, 0), FX_HEAP + 0x5040, SGX_PFEC_U);
	assert_aex_gp(f, emodpe(f->lp, PAGE, X | 0x40));
	assert_aex_gp(f, emodpe(f->lp, PAGE, X | SGX_SECINFO_PT_MASK << 8));
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = X;
	si.reserved[30] = 1;
	assert_success(hw_lp_write(f->lp, SLOT, &si, sizeof(si)));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, SLOT, PAGE, 0));
	/* Decision: PT, PENDING, MODIFIED and PR are not reserved: ignored */
	assert_success(emodpe(f->lp, PAGE, X | TCS | PENDING | MODIFIED | PR));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, true, true);
	assert_false(e.pr || e.pending || e.modified);
	assert_int_equal(e.pt, SGX_PT_REG);
}

static void test_emodpe_operand_order(void **state)
{
	struct fx *f = *state;
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x2000, fx_scratch(f, 4), PTE_ALL), 0);
	assert_int_equal(hw_pt_map(f->pt, FX_BASE + FX_SIZE, fx_scratch(f, 5), PTE_ALL), 0);
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x6000));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	put_secinfo(f->lp, SLOT, X);
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, SLOT + 8, PAGE, 0));               /* RBX alignment */
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, SLOT, PAGE + 0x40, 0));            /* RCX alignment */
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, FX_BASE + FX_SIZE, PAGE, 0));      /* RBX outside */
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, SLOT, FX_BASE + FX_SIZE, 0));      /* RCX outside */
	/* alignment and ELRANGE of both come before any translation */
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x5040, PAGE + 8, 0));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x5040, FX_BASE - 0x1000, 0));
	/* RBX translated and found in the EPC before RCX is translated */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x2040, FX_HEAP + 0x5000, 0), FX_HEAP + 0x2040,
		      FX_PFEC_ENCLU);
	/* RCX unmapped: ordinary #PF, even with an unusable SECINFO page */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x6040, FX_HEAP + 0x5000, 0), FX_HEAP + 0x5000,
		      SGX_PFEC_U);
	/* RCX not EPC before the SECINFO page's EPCM */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x6040, FX_HEAP + 0x2000, 0), FX_HEAP + 0x2000,
		      FX_PFEC_ENCLU);
	/* SECINFO page before the target's EPCM */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EMODPE, FX_HEAP + 0x6040, FX_TCS2, 0), FX_HEAP + 0x6040,
		      FX_PFEC_ENCLU);
	/* SECINFO reserved before the target's EPCM */
	put_secinfo(f->lp, SLOT, X | 0x80);
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EMODPE, SLOT, FX_TCS2, 0));
	/* target before W-without-R */
	assert_aex_pf(f, emodpe(f->lp, FX_TCS2, W), FX_TCS2, FX_PFEC_ENCLU);
}

static void test_emodpe_outside_enclave_gp(void **state)
{
	struct fx *f = *state;
	struct sgx_result r = hw_enclu(f->lp, SGX_EMODPE, SLOT, PAGE, 0);
	assert_gp(r);
	assert_false(r.aex);
	fx_assert_rights(fx_epcm(f, PAGE), true, true, false);
}

/* ---- EACCEPTCOPY ---- */

static void fill_source(struct fx *f, uint8_t *pattern)
{
	for (unsigned i = 0; i < SGX_PAGE_SIZE; i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	assert_success(hw_lp_write(f->lp, SRC, pattern, SGX_PAGE_SIZE));
}

/* The point of the leaf: a code page that was never writable. */
static void test_eacceptcopy_makes_rx_code_page(void **state)
{
	struct fx *f = *state;
	static uint8_t pattern[SGX_PAGE_SIZE], back[SGX_PAGE_SIZE];
	assert_success(fx_enter(f, LP1(f), FX_TCS2)); /* inside all along: no tracking needed */
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	fill_source(f, pattern);
	struct hw_regs *regs = hw_lp_regs(f->lp);
	regs->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF;
	assert_success(eacceptcopy(f->lp, FX_HEAP, SRC, REG | R | X));
	assert_int_equal(regs->rax, 0);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), 0);
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_REG);
	fx_assert_rights(e, true, false, true);
	assert_false(e.pending || e.modified || e.pr);
	assert_memory_equal(hw_epc_page(f->m, fx_frame_of_la(f, FX_HEAP)), pattern, SGX_PAGE_SIZE);
	assert_success(hw_lp_read(f->lp, FX_HEAP, back, SGX_PAGE_SIZE));
	assert_memory_equal(back, pattern, SGX_PAGE_SIZE);
	/* the OS maps it executable; it runs, and a write is refused by the EPCM */
	assert_int_equal(hw_pt_protect(f->pt, FX_HEAP, PTE_ALL), 0);
	hw_lp_invlpg(f->lp, FX_HEAP);
	uint8_t *host;
	assert_success(hw_lp_access(f->lp, FX_HEAP + 0x10, HW_FETCH, &host));
	assert_int_equal(*host, pattern[0x10]);
	assert_aex_pf(f, hw_lp_access(f->lp, FX_HEAP + 0x10, HW_WRITE, &host), FX_HEAP + 0x10,
		      SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_U | SGX_PFEC_W);
	/* the source is untouched */
	fx_assert_rights(fx_epcm(f, SRC), true, true, false);
}

static void test_eacceptcopy_any_legal_rights(void **state)
{
	struct fx *f = *state;
	static const uint64_t rights[] = { R | W, R, 0, X, R | W | X };
	static uint8_t pattern[SGX_PAGE_SIZE];
	for (size_t i = 0; i < 5; i++)
		assert_success(fx_eaug_on(f, OS(f), FX_HEAP + i * SGX_PAGE_SIZE));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 5 * SGX_PAGE_SIZE));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	fill_source(f, pattern);
	for (size_t i = 0; i < 5; i++) {
		uint64_t la = FX_HEAP + i * SGX_PAGE_SIZE;
		assert_success(eacceptcopy(f->lp, la, SRC, REG | rights[i]));
		struct hw_epcm_entry e = fx_epcm(f, la);
		fx_assert_rights(e, rights[i] & R, rights[i] & W, rights[i] & X);
		assert_false(e.pending);
		assert_memory_equal(hw_epc_page(f->m, fx_frame_of_la(f, la)), pattern, SGX_PAGE_SIZE);
	}
	/* Decision: SECINFO.PENDING, MODIFIED and PR are not reserved: ignored */
	uint64_t la = FX_HEAP + 5 * SGX_PAGE_SIZE;
	assert_success(eacceptcopy(f->lp, la, SRC, REG | R | PENDING | MODIFIED | PR));
	struct hw_epcm_entry e = fx_epcm(f, la);
	fx_assert_rights(e, true, false, false);
	assert_false(e.pending || e.modified || e.pr);
}

static void test_eacceptcopy_secinfo_gp(void **state)
{
	struct fx *f = *state;
	static const uint64_t bad[] = {
		REG | W, REG | W | X,                        /* W without R */
		TCS | R | W, TRIM | R, SGX_SECINFO_PT(SGX_PT_SECS) | R, SGX_SECINFO_PT(SGX_PT_VA) | R,
		REG | R | 0x40, REG | R | 0x100000,          /* reserved bits */
	};
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_aex_gp(f, eacceptcopy(f->lp, FX_HEAP, SRC, bad[i]));
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = REG | R;
	si.reserved[55] = 0x80;
	assert_success(hw_lp_write(f->lp, SLOT, &si, sizeof(si)));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, SRC));
	/* the SECINFO is refused before the (pending) source is looked at */
	assert_aex_gp(f, eacceptcopy(f->lp, FX_HEAP, FX_HEAP, REG | W));
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_true(e.pending);
	fx_assert_rights(e, true, true, false);
}

static void test_eacceptcopy_operands_gp(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	put_secinfo(f->lp, SLOT, REG | R | X);
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT + 0x20, FX_HEAP, SRC));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP + 0x100, SRC));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, SRC + 0x800));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, FX_BASE + FX_SIZE, FX_HEAP, SRC));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_BASE + FX_SIZE, SRC));
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, FX_BASE - SGX_PAGE_SIZE));
	/* all of them before any translation (FX_HEAP + 0x9000 is unmapped) */
	assert_aex_gp(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, FX_HEAP + 0x9040, FX_HEAP, FX_BASE + FX_SIZE));
	assert_true(fx_epcm(f, FX_HEAP).pending);
}

static void test_eacceptcopy_translation_pf(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x1000)); /* a pending, unusable SECINFO page */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x2000, fx_scratch(f, 4), PTE_ALL), 0);
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x3000));
	assert_int_equal(hw_pt_protect(f->pt, FX_HEAP + 0x3000, HW_PROT_R), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	put_secinfo(f->lp, SLOT, REG | R | X);
	const uint64_t unmapped = FX_HEAP + 0x8000, ram = FX_HEAP + 0x2000;
	/* unmapped operands: ordinary #PF; the destination is a write (decision) */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, unmapped + 0x40, FX_HEAP, SRC), unmapped + 0x40,
		      SGX_PFEC_U);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, unmapped, SRC), unmapped, SGX_PFEC_U | SGX_PFEC_W);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, unmapped), unmapped, SGX_PFEC_U);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP + 0x3000, SRC), FX_HEAP + 0x3000,
		      SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	/* not EPC: EPCM-style #PF, in the order RBX, RCX, RDX */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, ram + 0x40, unmapped, unmapped), ram + 0x40, FX_PFEC_ENCLU);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, ram, unmapped), ram, FX_PFEC_ENCLU);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, ram), ram, FX_PFEC_ENCLU);
	/* all three are translated before the SECINFO page's EPCM is checked */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, FX_HEAP + 0x1040, FX_HEAP, ram), ram, FX_PFEC_ENCLU);
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, FX_HEAP + 0x1040, FX_HEAP, SRC), FX_HEAP + 0x1040,
		      FX_PFEC_ENCLU);
	assert_true(fx_epcm(f, FX_HEAP).pending);
}

static void test_eacceptcopy_source_pf(void **state)
{
	struct fx *f = *state;
	foreign_pages(f, FX_HEAP + 0x2000, FX_HEAP + 0x5000);                             /* other enclave */
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x1000));                                       /* PENDING source */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, 0, FX_DATA + 0x4000));                     /* R = 0 */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, PAGE));                               /* MODIFIED */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x3000, hw_epc_page(f->m, fx_frame_of_la(f, SRC)), PTE_ALL),
			 0);                                                                /* address mismatch */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x4000, fx_frame(f), PTE_ALL), 0);    /* not VALID */
	assert_success(hw_encls(OS(f), SGX_EBLOCK, 0, fx_epc_of(f, FX_CODE), 0));            /* BLOCKED */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	put_secinfo(f->lp, SLOT, REG | R | X);
	static const uint64_t sources[] = { FX_HEAP + 0x1000, FX_DATA + 0x4000, PAGE, FX_TCS2, FX_HEAP + 0x2000,
					    FX_HEAP + 0x3000, FX_HEAP + 0x4000, FX_CODE, FX_HEAP };
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, sources[i]), sources[i],
			      FX_PFEC_ENCLU);
	/* the source is refused before a mismatching destination is looked at */
	assert_aex_pf(f, hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_DATA, FX_HEAP + 0x1000), FX_HEAP + 0x1000,
		      FX_PFEC_ENCLU);
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_true(e.pending);
	fx_assert_rights(e, true, true, false);
}

static void test_eacceptcopy_destination_rc19(void **state)
{
	struct fx *f = *state;
	static const uint8_t zero[SGX_PAGE_SIZE];
	foreign_pages(f, FX_HEAP + 0x5000, FX_HEAP + 0x2000);                             /* other enclave */
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x1000));
	assert_success(hw_encls(OS(f), SGX_EBLOCK, 0, fx_epc_of(f, FX_HEAP + 0x1000), 0));   /* BLOCKED */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, PAGE));                               /* MODIFIED TRIM */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TCS, FX_DATA + 0x4000));                    /* MODIFIED TCS */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x3000, hw_epc_page(f->m, fx_frame_of_la(f, FX_HEAP)),
				   PTE_ALL), 0);                                            /* address mismatch */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x4000, fx_frame(f), PTE_ALL), 0);    /* not VALID */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	put_secinfo(f->lp, SLOT, REG | R | X);
	struct hw_regs *regs = hw_lp_regs(f->lp);
	static const uint64_t dests[] = { FX_DATA, FX_HEAP + 0x1000, PAGE, FX_DATA + 0x4000, FX_TCS2,
					  FX_HEAP + 0x2000, FX_HEAP + 0x3000, FX_HEAP + 0x4000 };
	for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		assert_rc(hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, dests[i], SRC), SGX_PAGE_ATTRIBUTES_MISMATCH);
		assert_int_equal(regs->rax, SGX_PAGE_ATTRIBUTES_MISMATCH);
		assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_ZF);
	}
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_true(e.pending);
	fx_assert_rights(e, true, true, false);
	assert_memory_equal(hw_epc_page(f->m, fx_frame_of_la(f, FX_HEAP)), zero, SGX_PAGE_SIZE);
	assert_true(fx_epcm(f, FX_HEAP + 0x2000).pending);
	fx_assert_rights(fx_epcm(f, FX_DATA), true, true, false);
	assert_success(hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, SRC));
}

static void test_eacceptcopy_outside_enclave_gp(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	struct sgx_result r = hw_enclu(f->lp, SGX_EACCEPTCOPY, SLOT, FX_HEAP, SRC);
	assert_gp(r);
	assert_false(r.aex);
	assert_true(fx_epcm(f, FX_HEAP).pending);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_emodpe_extends_only),
		T(test_emodpe_leaves_pr_alone),
		T(test_emodpe_effective_at_once),
		T(test_emodpe_w_without_r_gp),
		T(test_emodpe_target_pf),
		T(test_emodpe_secinfo_checks),
		T(test_emodpe_operand_order),
		T(test_emodpe_outside_enclave_gp),
		T(test_eacceptcopy_makes_rx_code_page),
		T(test_eacceptcopy_any_legal_rights),
		T(test_eacceptcopy_secinfo_gp),
		T(test_eacceptcopy_operands_gp),
		T(test_eacceptcopy_translation_pf),
		T(test_eacceptcopy_source_pf),
		T(test_eacceptcopy_destination_rc19),
		T(test_eacceptcopy_outside_enclave_gp),
	};
#undef T
	return cmocka_run_group_tests_name("EMODPE / EACCEPTCOPY", tests, NULL, NULL);
}
