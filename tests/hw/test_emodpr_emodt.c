/*
 * EMODPR and EMODT (isa.md §4.9, §4.10): every outcome, the check order that
 * Linux depends on (EMODPR: RC 20 before the type check; EMODT: the type
 * check before RC 20), and the EPCM after each success.  The OS side runs on
 * LP 3; enclave threads on LP 0 (TCS #1).
 */
#include "common/fixture.h"

#define OS(f)      hw_lp_get((f)->m, 3)
#define PAGE       (FX_DATA + 0x1000)     /* a REG RW- page of the standard enclave */
#define RW         (SGX_SECINFO_R | SGX_SECINFO_W)
#define RWX        (SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X)
#define TRIM       SGX_SECINFO_PT(SGX_PT_TRIM)
#define TCS        SGX_SECINFO_PT(SGX_PT_TCS)

static struct sgx_secinfo secinfo_buf[2];

static uint64_t secinfo(uint64_t flags)
{
	memset(&secinfo_buf[0], 0, sizeof(secinfo_buf[0]));
	secinfo_buf[0].flags = flags;
	return fx_addr(&secinfo_buf[0]);
}

static struct sgx_result emodpr_at(struct fx *f, uint64_t epc, uint64_t flags)
{
	return hw_encls(OS(f), SGX_EMODPR, secinfo(flags), epc, 0);
}

static struct sgx_result emodpr(struct fx *f, uint64_t la, uint64_t flags)
{
	return emodpr_at(f, fx_epc_of(f, la), flags);
}

static struct sgx_result emodt_at(struct fx *f, uint64_t epc, uint64_t flags)
{
	return hw_encls(OS(f), SGX_EMODT, secinfo(flags), epc, 0);
}

static struct sgx_result emodt(struct fx *f, uint64_t la, uint64_t flags)
{
	return emodt_at(f, fx_epc_of(f, la), flags);
}

static uint64_t epoch_of(struct fx *f)
{
	uint64_t epoch = UINT64_MAX;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(f->secs)), NULL, NULL, &epoch, NULL));
	return epoch;
}

static void assert_same_epcm(struct hw_epcm_entry a, struct hw_epcm_entry b)
{
	assert_int_equal(a.valid, b.valid);
	assert_int_equal(a.pt, b.pt);
	fx_assert_rights(a, b.r, b.w, b.x);
	assert_int_equal(a.pending, b.pending);
	assert_int_equal(a.modified, b.modified);
	assert_int_equal(a.pr, b.pr);
	assert_int_equal(a.bepoch, b.bepoch);
}

/* The OS turns PAGE into an accepted TRIM page: EMODT, ETRACK, EACCEPT by
 * a thread that entered after the ETRACK. */
static void trim_and_accept(struct fx *f, uint64_t la)
{
	assert_success(emodt(f, la, TRIM));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaccept(f, f->lp, la, TRIM | SGX_SECINFO_MODIFIED));
	assert_success(fx_exit(f, f->lp));
	struct hw_epcm_entry e = fx_epcm(f, la);
	assert_int_equal(e.pt, SGX_PT_TRIM);
	assert_false(e.modified);
}

/* ---- EMODPR ---- */

static void test_emodpr_restricts_and_sets_pr(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(OS(f));
	regs->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF;
	assert_success(emodpr(f, PAGE, SGX_SECINFO_R | SGX_SECINFO_X));
	assert_int_equal(regs->rax, 0);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), 0);
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_REG);
	fx_assert_rights(e, true, false, false); /* X was not set: EMODPR never adds */
	assert_true(e.pr);
	assert_false(e.pending);
	assert_false(e.modified);
	assert_int_equal(e.enclave_address, PAGE);
}

static void test_emodpr_is_repeatable(void **state)
{
	struct fx *f = *state;
	assert_success(emodpr(f, PAGE, RWX));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, true, false);
	assert_true(e.pr);
	assert_success(emodpr(f, PAGE, SGX_SECINFO_R));
	e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, false, false);
	assert_true(e.pr);
	/* a wider mask later gives nothing back */
	assert_success(emodpr(f, PAGE, RWX));
	fx_assert_rights(fx_epcm(f, PAGE), true, false, false);
	assert_success(emodpr(f, PAGE, 0));
	e = fx_epcm(f, PAGE);
	fx_assert_rights(e, false, false, false);
	assert_true(e.pr);
	/* the code page: R-X restricted to --X is legal (no W) */
	assert_success(emodpr(f, FX_CODE, SGX_SECINFO_X));
	fx_assert_rights(fx_epcm(f, FX_CODE), false, false, true);
}

static void test_emodpr_records_epoch(void **state)
{
	struct fx *f = *state;
	assert_success(emodpr(f, PAGE, SGX_SECINFO_R));
	assert_int_equal(fx_epcm(f, PAGE).bepoch, 0);
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_etrack_on(f, OS(f)));
	assert_int_equal(epoch_of(f), 2);
	assert_success(emodpr(f, PAGE, SGX_SECINFO_R));
	assert_int_equal(fx_epcm(f, PAGE).bepoch, 2);
	assert_success(emodpr(f, FX_DATA, SGX_SECINFO_R));
	assert_int_equal(fx_epcm(f, FX_DATA).bepoch, 2);
}

static void test_emodpr_pending_rc20(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	struct hw_epcm_entry before = fx_epcm(f, FX_HEAP);
	struct hw_regs *regs = hw_lp_regs(OS(f));
	regs->rflags = HW_RFLAGS_CF;
	assert_rc(emodpr(f, FX_HEAP, SGX_SECINFO_R), SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(regs->rax, SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(regs->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF), HW_RFLAGS_ZF);
	struct hw_epcm_entry after = fx_epcm(f, FX_HEAP);
	assert_same_epcm(after, before);
	assert_true(after.pending);
	assert_false(after.pr);
}

/* The Linux REMOVE_PAGES probe: RC 20 while the trim awaits EACCEPT, #PF once accepted. */
static void test_emodpr_trim_probe(void **state)
{
	struct fx *f = *state;
	assert_success(emodt(f, PAGE, TRIM));
	assert_rc(emodpr(f, PAGE, RWX), SGX_PAGE_NOT_MODIFIABLE);
	assert_success(fx_etrack_on(f, OS(f)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaccept(f, f->lp, PAGE, TRIM | SGX_SECINFO_MODIFIED));
	assert_success(fx_exit(f, f->lp));
	assert_pf(emodpr(f, PAGE, RWX), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);
	/* and a modified TCS (EMODT REG→TCS, not accepted) also answers 20 */
	assert_success(emodt(f, FX_DATA + 0x2000, TCS));
	assert_rc(emodpr(f, FX_DATA + 0x2000, RWX), SGX_PAGE_NOT_MODIFIABLE);
}

static void test_emodpr_not_reg_pf(void **state)
{
	struct fx *f = *state;
	assert_pf(emodpr(f, FX_TCS, SGX_SECINFO_R), fx_epc_of(f, FX_TCS), FX_PFEC_ENCLS);
	assert_pf(emodpr_at(f, fx_addr(f->secs), SGX_SECINFO_R), fx_addr(f->secs), FX_PFEC_ENCLS);
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(OS(f), SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	assert_pf(emodpr_at(f, fx_addr(va), SGX_SECINFO_R), fx_addr(va), FX_PFEC_ENCLS);
	/* nothing changed on the TCS */
	struct hw_epcm_entry e = fx_epcm(f, FX_TCS);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_false(e.pr);
}

static void test_emodpr_invalid_or_not_epc_pf(void **state)
{
	struct fx *f = *state;
	uint8_t *free_frame = fx_frame(f);
	assert_pf(emodpr_at(f, fx_addr(free_frame), SGX_SECINFO_R), fx_addr(free_frame), FX_PFEC_ENCLS);
	uint64_t ram = fx_addr(fx_scratch(f, 2));
	assert_pf(emodpr_at(f, ram, SGX_SECINFO_R), ram, FX_PFEC_ENCLS);
	/* order: the EPC check comes before the SECINFO is even looked at */
	assert_pf(emodpr_at(f, ram, SGX_SECINFO_W), ram, FX_PFEC_ENCLS);
	/* and the SECINFO before EPCM.VALID */
	assert_gp(emodpr_at(f, fx_addr(free_frame), SGX_SECINFO_W));
}

static void test_emodpr_operands_gp(void **state)
{
	struct fx *f = *state;
	uint64_t epc = fx_epc_of(f, PAGE);
	assert_gp(hw_encls(OS(f), SGX_EMODPR, secinfo(SGX_SECINFO_R) + 8, epc, 0));
	assert_gp(emodpr_at(f, epc + 0x40, SGX_SECINFO_R));
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_W));                  /* W without R */
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_W | SGX_SECINFO_X));
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_R | 0x40));           /* reserved bit 6 */
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_R | 0x10000));        /* reserved bit 16 */
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_R | (1ull << 63)));
	memset(&secinfo_buf[1], 0, sizeof(secinfo_buf[1]));
	secinfo_buf[1].flags = SGX_SECINFO_R;
	secinfo_buf[1].reserved[55] = 1;
	assert_gp(hw_encls(OS(f), SGX_EMODPR, fx_addr(&secinfo_buf[1]), epc, 0));
	/* none of them touched the page */
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, true, false);
	assert_false(e.pr);
}

/* Decision: PT, PENDING, MODIFIED and PR in EMODPR's SECINFO are ignored. */
static void test_emodpr_ignores_other_secinfo_fields(void **state)
{
	struct fx *f = *state;
	assert_success(emodpr(f, PAGE, TCS | SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED | SGX_SECINFO_R));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_int_equal(e.pt, SGX_PT_REG);
	fx_assert_rights(e, true, false, false);
	assert_true(e.pr);
	assert_false(e.pending);
	assert_false(e.modified);
}

static void test_emodpr_uninitialized_gp(void **state)
{
	struct fx *f = *state;
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_R));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	fx_assert_rights(e, true, true, false);
	assert_false(e.pr);
	/* the type check comes first */
	assert_pf(emodpr(f, FX_TCS, SGX_SECINFO_R), fx_epc_of(f, FX_TCS), FX_PFEC_ENCLS);
}

/* ---- EMODT ---- */

static void test_emodt_reg_to_trim(void **state)
{
	struct fx *f = *state;
	assert_success(emodpr(f, PAGE, SGX_SECINFO_R));
	assert_true(fx_epcm(f, PAGE).pr);
	assert_success(fx_etrack_on(f, OS(f)));
	struct hw_regs *regs = hw_lp_regs(OS(f));
	regs->rflags = HW_RFLAGS_ZF;
	assert_success(emodt(f, PAGE, TRIM));
	assert_int_equal(regs->rax, 0);
	assert_int_equal(regs->rflags & HW_RFLAGS_ZF, 0);
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_TRIM);
	assert_true(e.modified);
	assert_false(e.pr);
	assert_false(e.pending);
	fx_assert_rights(e, false, false, false);
	assert_int_equal(e.bepoch, 1);
	assert_int_equal(e.enclave_address, PAGE);
}

static void test_emodt_reg_to_tcs(void **state)
{
	struct fx *f = *state;
	assert_success(emodt(f, FX_CODE, TCS));
	struct hw_epcm_entry e = fx_epcm(f, FX_CODE);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_true(e.modified);
	fx_assert_rights(e, false, false, false);
	assert_int_equal(e.bepoch, 0);
}

static void test_emodt_tcs_to_trim(void **state)
{
	struct fx *f = *state;
	assert_success(emodt(f, FX_TCS2, TRIM));
	struct hw_epcm_entry e = fx_epcm(f, FX_TCS2);
	assert_int_equal(e.pt, SGX_PT_TRIM);
	assert_true(e.modified);
	fx_assert_rights(e, false, false, false);
	/* the TRIM'd TCS can no longer be entered */
	assert_pf(fx_enter(f, f->lp, FX_TCS2), FX_TCS2, FX_PFEC_ENCLU);
}

static void test_emodt_transition_refused_pf(void **state)
{
	struct fx *f = *state;
	assert_pf(emodt(f, FX_TCS, TCS), fx_epc_of(f, FX_TCS), FX_PFEC_ENCLS);          /* TCS → TCS */
	trim_and_accept(f, PAGE);
	assert_pf(emodt(f, PAGE, TRIM), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);            /* TRIM → TRIM */
	assert_pf(emodt(f, PAGE, TCS), fx_epc_of(f, PAGE), FX_PFEC_ENCLS);             /* TRIM → TCS */
	assert_pf(emodt_at(f, fx_addr(f->secs), TRIM), fx_addr(f->secs), FX_PFEC_ENCLS);
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(OS(f), SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	assert_pf(emodt_at(f, fx_addr(va), TRIM), fx_addr(va), FX_PFEC_ENCLS);
	struct hw_epcm_entry e = fx_epcm(f, FX_TCS);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_false(e.modified);
}

static void test_emodt_pending_or_modified_rc20(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_rc(emodt(f, FX_HEAP, TRIM), SGX_PAGE_NOT_MODIFIABLE);
	assert_rc(emodt(f, FX_HEAP, TCS), SGX_PAGE_NOT_MODIFIABLE);
	struct hw_epcm_entry e = fx_epcm(f, FX_HEAP);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_true(e.pending);
	assert_false(e.modified);
	/* a modified TCS may still go to TRIM as a transition, but is not modifiable */
	assert_success(emodt(f, PAGE, TCS));
	assert_rc(emodt(f, PAGE, TRIM), SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(fx_epcm(f, PAGE).pt, SGX_PT_TCS);
	/* order: for a modified TRIM page the transition check answers first */
	assert_success(emodt(f, FX_DATA, TRIM));
	assert_pf(emodt(f, FX_DATA, TCS), fx_epc_of(f, FX_DATA), FX_PFEC_ENCLS);
	assert_pf(emodt(f, FX_DATA, TRIM), fx_epc_of(f, FX_DATA), FX_PFEC_ENCLS);
}

static void test_emodt_secinfo_gp(void **state)
{
	struct fx *f = *state;
	uint64_t epc = fx_epc_of(f, PAGE);
	assert_gp(emodt(f, PAGE, SGX_SECINFO_PT(SGX_PT_REG)));
	assert_gp(emodt(f, PAGE, SGX_SECINFO_PT(SGX_PT_SECS)));
	assert_gp(emodt(f, PAGE, SGX_SECINFO_PT(SGX_PT_VA)));
	assert_gp(emodt(f, PAGE, SGX_SECINFO_PT(SGX_PT_SS_FIRST)));
	assert_gp(emodt(f, PAGE, SGX_SECINFO_PT(0x80)));
	assert_gp(emodt(f, PAGE, TRIM | 0x80));                     /* reserved bit 7 */
	assert_gp(emodt(f, PAGE, TRIM | 0x20000));                  /* reserved bit 17 */
	memset(&secinfo_buf[1], 0, sizeof(secinfo_buf[1]));
	secinfo_buf[1].flags = TRIM;
	secinfo_buf[1].reserved[0] = 1;
	assert_gp(hw_encls(OS(f), SGX_EMODT, fx_addr(&secinfo_buf[1]), epc, 0));
	assert_gp(hw_encls(OS(f), SGX_EMODT, secinfo(TRIM) + 32, epc, 0));
	assert_gp(emodt_at(f, epc + 8, TRIM));
	/* order: EPC before SECINFO, SECINFO before EPCM.VALID */
	uint64_t ram = fx_addr(fx_scratch(f, 2));
	assert_pf(emodt_at(f, ram, SGX_SECINFO_PT(SGX_PT_REG)), ram, FX_PFEC_ENCLS);
	assert_pf(emodt_at(f, ram, TRIM), ram, FX_PFEC_ENCLS);
	uint8_t *free_frame = fx_frame(f);
	assert_gp(emodt_at(f, fx_addr(free_frame), SGX_SECINFO_PT(SGX_PT_REG)));
	assert_pf(emodt_at(f, fx_addr(free_frame), TRIM), fx_addr(free_frame), FX_PFEC_ENCLS);
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_false(e.modified);
	fx_assert_rights(e, true, true, false);
}

/* Decision: R/W/X, PENDING, MODIFIED and PR in EMODT's SECINFO are ignored. */
static void test_emodt_ignores_other_secinfo_fields(void **state)
{
	struct fx *f = *state;
	assert_success(emodt(f, PAGE, TRIM | RWX | SGX_SECINFO_PR | SGX_SECINFO_PENDING));
	struct hw_epcm_entry e = fx_epcm(f, PAGE);
	assert_int_equal(e.pt, SGX_PT_TRIM);
	fx_assert_rights(e, false, false, false);
	assert_false(e.pr);
	assert_false(e.pending);
	assert_true(e.modified);
}

static void test_emodt_uninitialized_gp(void **state)
{
	struct fx *f = *state;
	assert_gp(emodt(f, PAGE, TRIM));
	assert_gp(emodt(f, FX_TCS, TRIM));
	assert_int_equal(fx_epcm(f, PAGE).pt, SGX_PT_REG);
	assert_int_equal(fx_epcm(f, FX_TCS).pt, SGX_PT_TCS);
	/* the transition check comes first */
	assert_pf(emodt(f, FX_TCS, TCS), fx_epc_of(f, FX_TCS), FX_PFEC_ENCLS);
}

/* ENCLS inside an enclave is #UD (an AEX); on an SGX1-only CPU both are #GP. */
static void test_emodpr_emodt_from_enclave_ud(void **state)
{
	struct fx *f = *state;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	struct sgx_result r = hw_encls(f->lp, SGX_EMODPR, secinfo(SGX_SECINFO_R), fx_epc_of(f, PAGE), 0);
	assert_int_equal(r.vector, SGX_VEC_UD);
	assert_true(r.aex);
	assert_false(fx_epcm(f, PAGE).pr);
}

static void test_sgx1_cpu_gp(void **state)
{
	(void)state;
	struct hw_config cfg;
	hw_config_defaults(&cfg);
	cfg.epc_bytes = 1024 * SGX_PAGE_SIZE;
	cfg.sgx1_only = true;
	struct fx *f = fx_new(&cfg);
	fx_build_standard(f, true);
	assert_gp(emodpr(f, PAGE, SGX_SECINFO_R));
	assert_gp(emodt(f, PAGE, TRIM));
	assert_false(fx_epcm(f, PAGE).pr);
	assert_int_equal(fx_epcm(f, PAGE).pt, SGX_PT_REG);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_emodpr_restricts_and_sets_pr, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_is_repeatable, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_records_epoch, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_pending_rc20, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_trim_probe, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_not_reg_pf, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_invalid_or_not_epc_pf, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_operands_gp, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_ignores_other_secinfo_fields, fx_setup_initialized,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_uninitialized_gp, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_reg_to_trim, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_reg_to_tcs, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_tcs_to_trim, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_transition_refused_pf, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_pending_or_modified_rc20, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_secinfo_gp, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_ignores_other_secinfo_fields, fx_setup_initialized,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodt_uninitialized_gp, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_emodpr_emodt_from_enclave_ud, fx_setup_initialized, fx_teardown),
		cmocka_unit_test(test_sgx1_cpu_gp),
	};
	return cmocka_run_group_tests_name("EMODPR / EMODT", tests, NULL, NULL);
}
