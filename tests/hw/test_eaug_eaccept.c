/*
 * EAUG (isa.md §4.8) and EACCEPT (§4.11) edge cases, and SGX_NOT_TRACKED
 * (§4.6): which LPs an ETRACK cycle waits for.  LP 0 runs TCS #1, LP 1 runs
 * TCS #2, LP 3 is the OS.  A fault inside the enclave is an AEX; the tests
 * then ERESUME, so every fault lands in SSA frame 0.
 */
#include "common/fixture_sgx2.h"

#define AUG_FLAGS  (REG | R | W | PENDING)  /* what an EAUG'd page is accepted with */

static struct sgx_result eaug_with(struct fx *f, const struct sgx_pageinfo *src, uint64_t target)
{
	static struct sgx_pageinfo pi;
	pi = *src;
	return hw_encls(OS(f), SGX_EAUG, fx_addr(&pi), target, 0);
}

/* EACCEPT with the SECINFO at secinfo_la, written by the enclave first. */
static struct sgx_result eaccept_at(struct hw_lp *lp, uint64_t secinfo_la, const struct sgx_secinfo *si, uint64_t la)
{
	assert_success(hw_lp_write(lp, secinfo_la, si, sizeof(*si)));
	return hw_enclu(lp, SGX_EACCEPT, secinfo_la, la, 0);
}

static struct sgx_result eaccept(struct hw_lp *lp, uint64_t la, uint64_t flags)
{
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	return eaccept_at(lp, SLOT, &si, la);
}

static void resume(struct fx *f, struct hw_lp *lp, uint64_t tcs)
{
	(void)f;
	assert_success(hw_enclu(lp, SGX_ERESUME, tcs, FX_AEP, 0));
	assert_true(hw_lp_in_enclave(lp));
}

/* A #PF inside the enclave: AEX, CR2 page-masked, the full address and error
 * code in EXINFO; then ERESUME. */
#define assert_aex_pf(f, lp, tcs, expr, addr, ec) do { \
		struct sgx_result r2_ = (expr); \
		assert_true(r2_.aex); \
		assert_false(hw_lp_in_enclave(lp)); \
		assert_pf(r2_, (addr) & SGX_PAGE_MASK, (ec)); \
		assert_int_equal(fx_last_exinfo((f), (tcs))->maddr, (addr)); \
		assert_int_equal(fx_last_exinfo((f), (tcs))->errcd, (ec)); \
		resume((f), (lp), (tcs)); \
	} while (0)

#define assert_aex_gp(f, lp, tcs, expr) do { \
		struct sgx_result r2_ = (expr); \
		assert_true(r2_.aex); \
		assert_gp(r2_); \
		assert_int_equal(fx_last_exinfo((f), (tcs))->maddr, 0); \
		resume((f), (lp), (tcs)); \
	} while (0)

static void assert_pending_rw(struct fx *f, uint64_t la)
{
	struct hw_epcm_entry e = fx_epcm(f, la);
	assert_true(e.valid);
	assert_true(e.pending);
	assert_false(e.modified);
	assert_false(e.pr);
	assert_true(e.r && e.w && !e.x);
	assert_int_equal(e.pt, SGX_PT_REG);
}

/* A REG page of a second enclave (built with LP 0 outside), for "other enclave" checks. */
static uint8_t *foreign_page(struct fx *f)
{
	uint8_t *secs = f->secs;
	uint64_t base = f->base, size = f->size;
	assert_true(sgx_ok(fx_ecreate(f, 0x80000000ull, 0x10000, FX_ATTRS)));
	assert_true(sgx_ok(fx_eadd(f, 0x80000000ull, FX_REG_RW, NULL, false)));
	uint8_t *page = hw_epc_page(f->m, fx_frame_of_la(f, 0x80000000ull));
	f->secs = secs;
	f->base = base;
	f->size = size;
	return page;
}

/* ---- EAUG ---- */

static void test_eaug_adds_zeroed_pending_page(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	memset(frame, 0xa5, SGX_PAGE_SIZE); /* garbage left by a previous owner */
	struct sgx_pageinfo pi = { .linaddr = FX_HEAP + 0x5000, .secs = fx_addr(f->secs) };
	assert_success(eaug_with(f, &pi, fx_addr(frame)));
	static const uint8_t zero[SGX_PAGE_SIZE];
	assert_memory_equal(frame, zero, SGX_PAGE_SIZE);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(frame)), &e));
	assert_true(e.valid && e.pending && e.r && e.w);
	assert_false(e.x || e.modified || e.pr || e.blocked);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_int_equal(e.enclave_address, FX_HEAP + 0x5000);
	assert_int_equal(e.secs, hw_epc_frame_of(f->m, fx_addr(f->secs)));

	/* accepted, the enclave reads zeros too */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x5000, frame, HW_PROT_R | HW_PROT_W), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eaccept(f->lp, FX_HEAP + 0x5000, AUG_FLAGS));
	uint8_t buf[64];
	memset(buf, 0xff, sizeof(buf));
	assert_success(hw_lp_read(f->lp, FX_HEAP + 0x5000 + 0xf00, buf, sizeof(buf)));
	assert_memory_equal(buf, zero, sizeof(buf));
}

static void test_eaug_before_einit_gp(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	struct sgx_pageinfo pi = { .linaddr = FX_HEAP, .secs = fx_addr(f->secs) };
	assert_gp(eaug_with(f, &pi, fx_addr(frame)));
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(frame)), &e));
	assert_false(e.valid);
	/* a used target is #PF even before EINIT: the EPCM check comes first */
	assert_pf(eaug_with(f, &pi, fx_epc_of(f, PAGE)), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);
}

static void test_eadd_after_einit_gp(void **state)
{
	struct fx *f = *state;
	assert_gp(fx_eadd(f, FX_HEAP, FX_REG_RW, NULL, false));
	assert_int_equal(fx_frame_of_la(f, FX_HEAP), HW_NO_FRAME);
}

static void test_eaug_linaddr_outside_elrange_gp(void **state)
{
	struct fx *f = *state;
	struct sgx_pageinfo pi = { .linaddr = FX_BASE + FX_SIZE, .secs = fx_addr(f->secs) };
	assert_gp(eaug_with(f, &pi, fx_addr(fx_frame(f))));
	pi.linaddr = FX_BASE - SGX_PAGE_SIZE;
	assert_gp(eaug_with(f, &pi, fx_addr(fx_frame(f))));
	pi.linaddr = FX_BASE + FX_SIZE - SGX_PAGE_SIZE; /* last page: fine */
	assert_success(eaug_with(f, &pi, fx_addr(fx_frame(f))));
}

static void test_eaug_srcpge_secinfo_gp(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	struct sgx_pageinfo pi = { .linaddr = FX_HEAP, .secs = fx_addr(f->secs), .srcpge = fx_addr(fx_scratch(f, 1)) };
	assert_gp(eaug_with(f, &pi, fx_addr(frame)));
	static struct sgx_secinfo si = { .flags = FX_REG_RW };
	pi.srcpge = 0;
	pi.secinfo = fx_addr(&si);
	assert_gp(eaug_with(f, &pi, fx_addr(frame)));
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(frame)), &e));
	assert_false(e.valid);
}

static void test_eaug_alignment_gp(void **state)
{
	struct fx *f = *state;
	static struct sgx_pageinfo pi[2] __attribute__((aligned(64)));
	uint8_t *frame = fx_frame(f);
	pi[0] = (struct sgx_pageinfo){ .linaddr = FX_HEAP, .secs = fx_addr(f->secs) };
	assert_gp(hw_encls(OS(f), SGX_EAUG, fx_addr(&pi[0]) + 16, fx_addr(frame), 0));
	assert_gp(hw_encls(OS(f), SGX_EAUG, fx_addr(&pi[0]), fx_addr(frame) + 0x800, 0));
	struct sgx_pageinfo bad = { .linaddr = FX_HEAP + 0x10, .secs = fx_addr(f->secs) };
	assert_gp(eaug_with(f, &bad, fx_addr(frame)));
	bad = (struct sgx_pageinfo){ .linaddr = FX_HEAP, .secs = fx_addr(f->secs) + 0x40 };
	assert_gp(eaug_with(f, &bad, fx_addr(frame)));
	/* order: target alignment before the EPC check */
	uint64_t ram = fx_addr(fx_scratch(f, 3));
	assert_gp(hw_encls(OS(f), SGX_EAUG, fx_addr(&pi[0]), ram + 8, 0));
}

static void test_eaug_target_and_secs_pf(void **state)
{
	struct fx *f = *state;
	struct sgx_pageinfo pi = { .linaddr = FX_HEAP, .secs = fx_addr(f->secs) };
	/* target already valid */
	assert_pf(eaug_with(f, &pi, fx_epc_of(f, PAGE)), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);
	assert_pf(eaug_with(f, &pi, fx_addr(f->secs)), fx_addr(f->secs), FX_PFEC_ENCLS);
	/* target not EPC */
	uint64_t ram = fx_addr(fx_scratch(f, 3));
	assert_pf(eaug_with(f, &pi, ram), ram, FX_PFEC_ENCLS);
	/* SECS not EPC, SECS not a SECS */
	uint8_t *frame = fx_frame(f);
	pi.secs = ram;
	assert_pf(eaug_with(f, &pi, fx_addr(frame)), ram, FX_PFEC_ENCLS);
	pi.secs = fx_epc_of(f, PAGE);
	assert_pf(eaug_with(f, &pi, fx_addr(frame)), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);
	uint8_t *free_frame = fx_frame(f);
	pi.secs = fx_addr(free_frame);
	assert_pf(eaug_with(f, &pi, fx_addr(frame)), fx_addr(free_frame), FX_PFEC_ENCLS);
	/* order: a used target is reported before a bad SECS */
	assert_pf(eaug_with(f, &pi, fx_epc_of(f, PAGE)), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);
	/* and SRCPGE ≠ 0 before a SECS outside the EPC */
	pi = (struct sgx_pageinfo){ .linaddr = FX_HEAP, .secs = ram, .srcpge = ram };
	assert_gp(eaug_with(f, &pi, fx_addr(frame)));
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(frame)), &e));
	assert_false(e.valid);
}

/* ---- EACCEPT ---- */

static void test_eaccept_eaug_page(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	struct hw_regs *regs = hw_lp_regs(f->lp);
	regs->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF;
	assert_success(eaccept(f->lp, FX_HEAP, AUG_FLAGS));
	assert_int_equal(regs->rax, 0);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), 0);
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_false(e.pending || e.modified || e.pr);
	assert_true(e.r && e.w && !e.x);
	uint64_t v = 0x55aa, back = 0;
	assert_success(hw_lp_write(f->lp, FX_HEAP + 8, &v, sizeof(v)));
	assert_success(hw_lp_read(f->lp, FX_HEAP + 8, &back, sizeof(back)));
	assert_int_equal(back, v);
	/* accepting again: no longer PENDING, so a mismatch */
	assert_rc(eaccept(f->lp, FX_HEAP, AUG_FLAGS), SGX_PAGE_ATTRIBUTES_MISMATCH);
}

static void test_eaccept_mismatch_each_attribute(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	/* FX_HEAP+0x1000 maps the same frame: its ENCLAVEADDRESS is FX_HEAP */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x1000, hw_epc_page(f->m, fx_frame_of_la(f, FX_HEAP)),
				   HW_PROT_R | HW_PROT_W), 0);
	/* a MODIFIED TRIM page and an accepted TRIM page */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, PAGE));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, FX_DATA + 0x3000));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eaccept(f->lp, FX_DATA + 0x3000, TRIM | MODIFIED));
	struct hw_regs *regs = hw_lp_regs(f->lp);

	assert_rc(eaccept(f->lp, FX_HEAP, REG | W | PENDING), SGX_PAGE_ATTRIBUTES_MISMATCH);        /* R */
	assert_int_equal(regs->rax, SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_ZF);
	assert_rc(eaccept(f->lp, FX_HEAP, REG | R | PENDING), SGX_PAGE_ATTRIBUTES_MISMATCH);        /* W */
	assert_rc(eaccept(f->lp, FX_HEAP, REG | R | W | X | PENDING), SGX_PAGE_ATTRIBUTES_MISMATCH); /* X */
	assert_rc(eaccept(f->lp, FX_HEAP, REG | R | W | PR), SGX_PAGE_ATTRIBUTES_MISMATCH);     /* PENDING */
	assert_rc(eaccept(f->lp, FX_DATA, REG | R | W | PENDING), SGX_PAGE_ATTRIBUTES_MISMATCH); /* PENDING */
	assert_rc(eaccept(f->lp, PAGE, TCS | MODIFIED), SGX_PAGE_ATTRIBUTES_MISMATCH);          /* PT */
	assert_rc(eaccept(f->lp, FX_DATA + 0x3000, TRIM | MODIFIED), SGX_PAGE_ATTRIBUTES_MISMATCH); /* MODIFIED */
	assert_rc(eaccept(f->lp, FX_HEAP + 0x1000, AUG_FLAGS), SGX_PAGE_ATTRIBUTES_MISMATCH);   /* address */
	assert_pending_rw(f, FX_HEAP);
	assert_true(fx_epcm(f, PAGE).modified);
	/* the right SECINFO still works afterwards */
	assert_success(eaccept(f->lp, FX_HEAP, AUG_FLAGS));
	assert_false(fx_epcm(f, FX_HEAP).pending);
}

static void test_eaccept_does_not_compare_pr(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eaccept(f->lp, FX_HEAP, AUG_FLAGS | PR));
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_false(e.pending);
	assert_false(e.pr);
}

/* "Accept as PROT_NONE": an EAUG'd page is RW-, any other rights mismatch. */
static void test_eaccept_prot_none_rc19(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rc(eaccept(f->lp, FX_HEAP, REG | PENDING), SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_rc(eaccept(f->lp, FX_HEAP, REG | R | X | PENDING), SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_pending_rw(f, FX_HEAP);
}

static void test_eaccept_illegal_secinfo_gp(void **state)
{
	struct fx *f = *state;
	static const uint64_t illegal[] = {
		REG | R | W,                        /* REG needs PR or PENDING */
		REG | R | W | PENDING | MODIFIED,
		REG | R | W | PR | MODIFIED,
		TCS,                                /* TCS / TRIM need MODIFIED only */
		TCS | MODIFIED | PR,
		TCS | MODIFIED | PENDING,
		TRIM,
		TRIM | MODIFIED | PENDING,
		TRIM | PR,
		SGX_SECINFO_PT(SGX_PT_SECS) | MODIFIED,
		SGX_SECINFO_PT(SGX_PT_VA) | MODIFIED,
		SGX_SECINFO_PT(SGX_PT_SS_FIRST) | R | W | PENDING,
		AUG_FLAGS | 0x40,                   /* reserved bit 6 */
		AUG_FLAGS | 0x10000,                /* reserved bit 16 */
		AUG_FLAGS | (1ull << 63),
	};
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	for (size_t i = 0; i < sizeof(illegal) / sizeof(illegal[0]); i++)
		assert_aex_gp(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP, illegal[i]));
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = AUG_FLAGS;
	si.reserved[17] = 1;
	assert_aex_gp(f, f->lp, FX_TCS, eaccept_at(f->lp, SLOT, &si, FX_HEAP));
	assert_pending_rw(f, FX_HEAP);
	assert_success(eaccept(f->lp, FX_HEAP, AUG_FLAGS));
}

static void test_eaccept_operands_gp(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	/* an RW page outside ELRANGE, so only the ELRANGE rule can refuse it */
	assert_int_equal(hw_pt_map(f->pt, FX_BASE + FX_SIZE, fx_scratch(f, 4), HW_PROT_R | HW_PROT_W), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = AUG_FLAGS;
	assert_aex_gp(f, f->lp, FX_TCS, eaccept_at(f->lp, FX_BASE + FX_SIZE, &si, FX_HEAP));  /* SECINFO outside */
	assert_aex_gp(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_BASE - 0x40, FX_HEAP, 0));
	assert_aex_gp(f, f->lp, FX_TCS, eaccept_at(f->lp, SLOT + 8, &si, FX_HEAP));          /* misaligned */
	assert_aex_gp(f, f->lp, FX_TCS, eaccept_at(f->lp, SLOT, &si, FX_HEAP + 0x10));
	assert_aex_gp(f, f->lp, FX_TCS, eaccept_at(f->lp, SLOT, &si, FX_BASE + FX_SIZE));     /* target outside */
	/* order: a SECINFO outside ELRANGE is #GP before its page is even looked up */
	assert_aex_gp(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_BASE + 2 * FX_SIZE, FX_HEAP, 0));
	assert_pending_rw(f, FX_HEAP);
}

static void test_eaccept_secinfo_page_pf(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x1000));
	/* FX_DATA + 0x3000 loses R (EMODPR to ---); FX_DATA + 0x4000 becomes a modified TRIM */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, 0, FX_DATA + 0x3000));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, FX_DATA + 0x4000));
	/* an ELRANGE page backed by ordinary memory */
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x2000, fx_scratch(f, 4), HW_PROT_R | HW_PROT_W), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint64_t target = FX_HEAP + 0x1000;

	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_HEAP + 0x40, target, 0), FX_HEAP + 0x40,
		      FX_PFEC_ENCLU);                                                  /* PENDING */
	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_DATA + 0x3080, target, 0), FX_DATA + 0x3080,
		      FX_PFEC_ENCLU);                                                  /* R = 0 */
	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_DATA + 0x4000, target, 0), FX_DATA + 0x4000,
		      FX_PFEC_ENCLU);                                                  /* MODIFIED TRIM */
	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_TCS2 + 0xfc0, target, 0), FX_TCS2 + 0xfc0,
		      FX_PFEC_ENCLU);                                                  /* a TCS */
	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_HEAP + 0x2000, target, 0), FX_HEAP + 0x2000,
		      FX_PFEC_ENCLU);                                                  /* not EPC */
	/* order: the SECINFO page is refused before the (misaligned) target is looked at */
	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_HEAP + 0x40, target + 1, 0), FX_HEAP + 0x40,
		      FX_PFEC_ENCLU);
	assert_pending_rw(f, target);
	assert_success(eaccept(f->lp, target, AUG_FLAGS));
}

/* Linux's EAUG-on-fault: EACCEPT of an address with no PTE takes an ordinary
 * #PF (U only), the kernel EAUGs and maps the page, ERESUME, EACCEPT again. */
static void test_eaccept_unmapped_target_is_ordinary_pf(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	struct sgx_result r = eaccept(f->lp, FX_HEAP + 0x3000, AUG_FLAGS);
	assert_true(r.aex);
	assert_pf(r, FX_HEAP + 0x3000, SGX_PFEC_U);
	assert_int_equal(fx_last_exinfo(f, FX_TCS)->maddr, FX_HEAP + 0x3000);
	assert_int_equal(fx_last_exinfo(f, FX_TCS)->errcd, SGX_PFEC_U);
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_AEP);
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x3000));
	resume(f, f->lp, FX_TCS);
	assert_success(eaccept(f->lp, FX_HEAP + 0x3000, AUG_FLAGS));
	assert_false(fx_epcm(f, FX_HEAP + 0x3000).pending);
}

static void test_eaccept_unmapped_secinfo_cr2_masked(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_aex_pf(f, f->lp, FX_TCS, hw_enclu(f->lp, SGX_EACCEPT, FX_HEAP + 0x7040, FX_HEAP, 0), FX_HEAP + 0x7040,
		      SGX_PFEC_U);
	assert_pending_rw(f, FX_HEAP);
}

static void test_eaccept_target_pf(void **state)
{
	struct fx *f = *state;
	uint8_t *foreign = foreign_page(f);
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP, foreign, HW_PROT_R | HW_PROT_W), 0);
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x1000, fx_scratch(f, 4), HW_PROT_R | HW_PROT_W), 0);
	uint8_t *free_frame = fx_frame(f);
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x2000, free_frame, HW_PROT_R | HW_PROT_W), 0);
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x3000, f->secs, HW_PROT_R | HW_PROT_W), 0);
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(OS(f), SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x4000, va, HW_PROT_R | HW_PROT_W), 0);
	/* a blocked page with an EMODPR pending acceptance */
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_success(hw_encls(OS(f), SGX_EBLOCK, 0, fx_epc_of(f, PAGE), 0));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));

	assert_aex_pf(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP, AUG_FLAGS), FX_HEAP, FX_PFEC_ENCLU);      /* other enclave */
	assert_aex_pf(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP + 0x1000, AUG_FLAGS), FX_HEAP + 0x1000,
		      FX_PFEC_ENCLU);                                                                  /* not EPC */
	assert_aex_pf(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP + 0x2000, AUG_FLAGS), FX_HEAP + 0x2000,
		      FX_PFEC_ENCLU);                                                                  /* not VALID */
	assert_aex_pf(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP + 0x3000, TRIM | MODIFIED), FX_HEAP + 0x3000,
		      FX_PFEC_ENCLU);                                                                  /* SECS */
	assert_aex_pf(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP + 0x4000, TRIM | MODIFIED), FX_HEAP + 0x4000,
		      FX_PFEC_ENCLU);                                                                  /* VA */
	assert_aex_pf(f, f->lp, FX_TCS, eaccept(f->lp, PAGE, REG | R | PR), PAGE, FX_PFEC_ENCLU);       /* BLOCKED */
	/* order: an illegal SECINFO is #GP before the target's EPCM is looked at */
	assert_aex_gp(f, f->lp, FX_TCS, eaccept(f->lp, FX_HEAP + 0x2000, REG | R | W));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_true(e.pr && e.blocked);
}

/* EMODPR / EMODT without a completed ETRACK cycle: RC 11, whoever asks. */
static void test_not_tracked_without_etrack(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TRIM, FX_DATA + 0x3000));
	struct hw_regs *regs = hw_lp_regs(f->lp);
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
	assert_int_equal(regs->rax, SGX_NOT_TRACKED);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_ZF);
	assert_rc(eaccept(f->lp, FX_DATA + 0x3000, TRIM | MODIFIED), SGX_NOT_TRACKED);
	/* leaving and coming back does not help without an ETRACK */
	assert_success(fx_exit(f, f->lp));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_rc(eaccept(LP1(f), PAGE, REG | R | PR), SGX_NOT_TRACKED);
	/* an ETRACK while both are inside: both entered before it */
	assert_success(fx_etrack_on(f, OS(f)));
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
	assert_rc(eaccept(LP1(f), FX_DATA + 0x3000, TRIM | MODIFIED), SGX_NOT_TRACKED);
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_true(e.pr);
	assert_true(fx_epcm(f, FX_DATA + 0x3000).modified);
	assert_success(fx_exit(f, f->lp));
	assert_success(fx_exit(f, LP1(f)));
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_success(eaccept(LP1(f), PAGE, REG | R | PR));
	assert_success(eaccept(LP1(f), FX_DATA + 0x3000, TRIM | MODIFIED));
	e = fx_epcm(f, PAGE);
	assert_false(e.pr);
	assert_true(e.r && !e.w && !e.x);
	assert_false(fx_epcm(f, FX_DATA + 0x3000).modified);
}

/* The accepting LP itself entered before the ETRACK and never left.  (An
 * earlier ETRACK first, so that the epoch EMODPR records is not 0.) */
static void test_not_tracked_until_this_lp_leaves(void **state)
{
	struct fx *f = *state;
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
	assert_success(fx_exit(f, f->lp));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eaccept(f->lp, PAGE, REG | R | PR));
	assert_false(fx_epcm(f, PAGE).pr);
}

/* Another LP still inside from before the ETRACK holds the cycle open; its
 * AEX (the OS's IPI) closes it. */
static void test_not_tracked_while_other_lp_inside(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
	struct sgx_result r = hw_lp_interrupt(LP1(f));
	assert_true(r.aex);
	assert_int_equal(r.vector, SGX_VEC_NONE);
	assert_false(hw_lp_in_enclave(LP1(f)));
	assert_success(eaccept(f->lp, PAGE, REG | R | PR));
	assert_false(fx_epcm(f, PAGE).pr);
}

static void test_eaug_needs_no_tracking(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_success(eaccept(f->lp, FX_HEAP, AUG_FLAGS));
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP + 0x1000));
	assert_success(eaccept(LP1(f), FX_HEAP + 0x1000, AUG_FLAGS | PR));
	assert_false(fx_epcm(f, FX_HEAP).pending);
	assert_false(fx_epcm(f, FX_HEAP + 0x1000).pending);
}

/* RC 19 is decided before tracking is looked at. */
static void test_mismatch_before_not_tracked(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_emod_on(f, OS(f), SGX_EMODPR, R, PAGE));
	assert_rc(eaccept(f->lp, PAGE, REG | R | W | PR), SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_rc(eaccept(f->lp, PAGE, REG | R | PR), SGX_NOT_TRACKED);
}

/* EMODT REG → TCS: the page must look like a TCS EADD would accept. */
static void test_eaccept_tcs_contents_gp(void **state)
{
	struct fx *f = *state;
	enum { BAD_RESERVED, BAD_DBGOPTIN, BAD_CSSA, BAD_AEP, BAD_STATE, GOOD_FLAG1, GOOD, N };
	assert_success(fx_enter(f, f->lp, FX_TCS));
	for (int i = 0; i < N; i++) {
		uint64_t la = FX_HEAP + (uint64_t)i * SGX_PAGE_SIZE;
		assert_success(fx_eaug_on(f, OS(f), la));
		assert_success(eaccept(f->lp, la, AUG_FLAGS));
		struct sgx_tcs tcs;
		memset(&tcs, 0, sizeof(tcs));
		tcs.ossa = FX_SSA2 - FX_BASE;
		tcs.nssa = 1;
		tcs.oentry = FX_CODE - FX_BASE;
		switch (i) {
		case BAD_RESERVED: tcs.reserved[100] = 1; break;
		case BAD_DBGOPTIN: tcs.flags = SGX_TCS_DBGOPTIN; break;
		case BAD_CSSA: tcs.cssa = 1; break;
		case BAD_AEP: tcs.aep = FX_AEP; break;
		case BAD_STATE: tcs.state = 1; break;
		case GOOD_FLAG1: tcs.flags = 2; break;
		}
		assert_success(hw_lp_write(f->lp, la, &tcs, sizeof(tcs)));
		assert_success(fx_emod_on(f, OS(f), SGX_EMODT, TCS, la));
	}
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_exit(f, f->lp));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	for (int i = 0; i < GOOD_FLAG1; i++) {
		uint64_t la = FX_HEAP + (uint64_t)i * SGX_PAGE_SIZE;
		assert_aex_gp(f, f->lp, FX_TCS, eaccept(f->lp, la, TCS | MODIFIED));
		assert_true(fx_epcm(f, la).modified);
	}
	/* Decision: like the SDM, only DBGOPTIN of FLAGS is checked here */
	assert_success(eaccept(f->lp, FX_HEAP + GOOD_FLAG1 * SGX_PAGE_SIZE, TCS | MODIFIED));
	assert_success(eaccept(f->lp, FX_HEAP + GOOD * SGX_PAGE_SIZE, TCS | MODIFIED));
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP + GOOD * SGX_PAGE_SIZE);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_false(e.modified || e.pending || e.pr || e.r || e.w || e.x);
}

static void test_eaccept_outside_enclave_gp(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	struct sgx_result r = hw_enclu(f->lp, SGX_EACCEPT, SLOT, FX_HEAP, 0);
	assert_gp(r);
	assert_false(r.aex);
	assert_pending_rw(f, FX_HEAP);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_eaug_adds_zeroed_pending_page),
		cmocka_unit_test_setup_teardown(test_eaug_before_einit_gp, fx_setup_enclave, fx_teardown),
		T(test_eadd_after_einit_gp),
		T(test_eaug_linaddr_outside_elrange_gp),
		T(test_eaug_srcpge_secinfo_gp),
		T(test_eaug_alignment_gp),
		T(test_eaug_target_and_secs_pf),
		T(test_eaccept_eaug_page),
		T(test_eaccept_mismatch_each_attribute),
		T(test_eaccept_does_not_compare_pr),
		T(test_eaccept_prot_none_rc19),
		T(test_eaccept_illegal_secinfo_gp),
		T(test_eaccept_operands_gp),
		T(test_eaccept_secinfo_page_pf),
		T(test_eaccept_unmapped_target_is_ordinary_pf),
		T(test_eaccept_unmapped_secinfo_cr2_masked),
		T(test_eaccept_target_pf),
		T(test_not_tracked_without_etrack),
		T(test_not_tracked_until_this_lp_leaves),
		T(test_not_tracked_while_other_lp_inside),
		T(test_eaug_needs_no_tracking),
		T(test_mismatch_before_not_tracked),
		T(test_eaccept_tcs_contents_gp),
		T(test_eaccept_outside_enclave_gp),
	};
#undef T
	return cmocka_run_group_tests_name("EAUG / EACCEPT", tests, NULL, NULL);
}
