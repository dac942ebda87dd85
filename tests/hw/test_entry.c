/*
 * EENTER, ERESUME and EEXIT (isa.md §4.14–§4.16): every #GP and #PF cause of
 * the shared entry checks, in order where two causes meet, and the register
 * and TCS state each leaf leaves behind.  AEX itself is in test_aex.c.
 */
#include "common/fixture.h"
#include "hw/machine.h" /* EPCM states no leaf can produce (a PENDING TCS) */

#define NONCANON_OFF (0x0000800000000000ull - FX_BASE) /* BASE + this is not canonical */
#define PFEC_WRITE_NP (SGX_PFEC_U | SGX_PFEC_W)        /* ordinary #PF: not present, write, user */

/* GPRSGX at the end of the one-page SSA frame at la */
static struct sgx_gprsgx *gpr_at(struct fx *f, uint64_t la)
{
	return (struct sgx_gprsgx *)(hw_epc_page(f->m, fx_frame_of_la(f, la)) + SGX_PAGE_SIZE -
				     sizeof(struct sgx_gprsgx));
}

static struct hw_epcm_entry *epcm_poke(struct fx *f, uint64_t la)
{
	return &f->m->epcm[fx_frame_of_la(f, la)];
}

static struct sgx_result eenter(struct hw_lp *lp, uint64_t tcs, uint64_t aep)
{
	hw_lp_regs(lp)->rip = FX_RETURN;
	return hw_enclu(lp, SGX_EENTER, tcs, aep, 0);
}

static struct sgx_result eresume(struct hw_lp *lp, uint64_t tcs, uint64_t aep)
{
	hw_lp_regs(lp)->rip = FX_RETURN;
	return hw_enclu(lp, SGX_ERESUME, tcs, aep, 0);
}

/* An AEX from inside: an interrupt */
static void aex(struct fx *f)
{
	struct sgx_result r = hw_lp_interrupt(f->lp);
	assert_true(r.aex);
	assert_false(hw_lp_in_enclave(f->lp));
}

/* The EENTER #GP leaves the LP outside and the TCS untouched */
static void assert_not_entered(struct fx *f, uint64_t tcs_la)
{
	assert_false(hw_lp_in_enclave(f->lp));
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_RETURN);
	if (fx_frame_of_la(f, tcs_la) != HW_NO_FRAME)
		assert_int_equal(fx_tcs_page(f, tcs_la)->state, 0);
}

/* ---- EENTER: success ---- */

static void test_eenter_state(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	struct sgx_tcs *tcs = fx_tcs_page(f, FX_TCS);
	tcs->ofsbase = 0x3000;
	tcs->ogsbase = 0x4000;
	regs->rsp = 0x7ff000;
	regs->rbp = 0x7ff100;
	regs->fsbase = 0x11000;
	regs->gsbase = 0x22000;
	regs->rdx = 0x5555;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	assert_true(hw_lp_in_enclave(f->lp));
	assert_int_equal(regs->rax, 0); /* CSSA */
	assert_int_equal(regs->rcx, FX_RETURN);
	assert_int_equal(regs->rip, FX_CODE);
	assert_int_equal(regs->rbx, FX_TCS);
	assert_int_equal(regs->rdx, 0); /* RDX was the (unused) operand */
	assert_int_equal(regs->fsbase, FX_BASE + 0x3000);
	assert_int_equal(regs->gsbase, FX_BASE + 0x4000);
	assert_int_equal(regs->rsp, 0x7ff000); /* EENTER does not switch stacks */
	assert_int_equal(gpr_at(f, FX_SSA)->ursp, 0x7ff000);
	assert_int_equal(gpr_at(f, FX_SSA)->urbp, 0x7ff100);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->ursp, 0);
	assert_int_equal(tcs->state, 1);
	assert_int_equal(tcs->aep, FX_AEP);
	assert_int_equal(tcs->cssa, 0);
	assert_int_equal(hw_lp_tcs(f->lp), FX_TCS);
	assert_int_equal(hw_lp_secs_frame(f->lp), hw_epc_frame_of(f->m, fx_addr(f->secs)));
}

/* With CSSA = 1, EENTER reports it in RAX and saves URSP/URBP in frame 1 */
static void test_eenter_second_frame(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	aex(f);
	regs->rsp = 0x6000;
	regs->rbp = 0x6100;
	assert_success(eenter(f->lp, FX_TCS, 0x403000));
	assert_int_equal(regs->rax, 1);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->ursp, 0x6000);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->urbp, 0x6100);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->aep, 0x403000);
}

/* TCS.FLAGS may have DBGOPTIN */
static void test_eenter_dbgoptin_allowed(void **state)
{
	struct fx *f = *state;
	fx_tcs_page(f, FX_TCS)->flags = SGX_TCS_DBGOPTIN;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
}

/* ---- EENTER: faults, in the order of the checks ---- */

static void test_eenter_tcs_misaligned(void **state)
{
	struct fx *f = *state;
	assert_gp(eenter(f->lp, FX_TCS + 8, FX_AEP));
	/* alignment comes before translation: an unmapped misaligned TCS is #GP */
	assert_gp(eenter(f->lp, FX_HEAP + 0x800, FX_AEP));
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_tcs_unmapped(void **state)
{
	struct fx *f = *state;
	assert_pf(eenter(f->lp, FX_HEAP, FX_AEP), FX_HEAP, PFEC_WRITE_NP);
	/* mapped read-only: the TCS is written, so a protection #PF */
	assert_int_equal(hw_pt_protect(f->pt, FX_TCS, HW_PROT_R), 0);
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_TCS, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_tcs_not_epc(void **state)
{
	struct fx *f = *state;
	uint64_t la = 0x30000000;
	assert_int_equal(hw_pt_map(f->pt, la, fx_scratch(f, 0), HW_PROT_R | HW_PROT_W), 0);
	assert_pf(eenter(f->lp, la, FX_AEP), la, FX_PFEC_ENCLU);
	/* the EPC check comes before the AEP check */
	assert_pf(eenter(f->lp, la, 0x0000800000000000ull), la, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_aep_noncanonical(void **state)
{
	struct fx *f = *state;
	assert_gp(eenter(f->lp, FX_TCS, 0x0000800000000000ull));
	assert_gp(eenter(f->lp, FX_TCS, 0xffff7fffffffffffull));
	/* the AEP check comes before the EPCM checks of the TCS */
	assert_gp(eenter(f->lp, FX_DATA, 0x0000800000000000ull));
	assert_not_entered(f, FX_TCS);
	assert_success(eenter(f->lp, FX_TCS, 0xffff800000000000ull)); /* canonical high half */
}

static void test_eenter_epcm_not_tcs(void **state)
{
	struct fx *f = *state;
	assert_pf(eenter(f->lp, FX_DATA, FX_AEP), FX_DATA, FX_PFEC_ENCLU);
	assert_pf(eenter(f->lp, FX_SSA, FX_AEP), FX_SSA, FX_PFEC_ENCLU);
	/* the code page's PTE is R-X: the TCS write faults in the page table first */
	assert_pf(eenter(f->lp, FX_CODE, FX_AEP), FX_CODE, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_int_equal(hw_pt_protect(f->pt, FX_CODE, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_pf(eenter(f->lp, FX_CODE, FX_AEP), FX_CODE, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_epcm_invalid(void **state)
{
	struct fx *f = *state;
	uint8_t *page = hw_epc_page(f->m, fx_frame_of_la(f, FX_TCS2));
	assert_success(hw_encls(f->lp, SGX_EREMOVE, 0, fx_addr(page), 0));
	assert_pf(eenter(f->lp, FX_TCS2, FX_AEP), FX_TCS2, FX_PFEC_ENCLU);
	assert_false(hw_lp_in_enclave(f->lp));
}

static void test_eenter_epcm_blocked(void **state)
{
	struct fx *f = *state;
	uint8_t *page = hw_epc_page(f->m, fx_frame_of_la(f, FX_TCS2));
	assert_success(hw_encls(f->lp, SGX_EBLOCK, 0, fx_addr(page), 0));
	assert_pf(eenter(f->lp, FX_TCS2, FX_AEP), FX_TCS2, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS2);
}

static void test_eenter_epcm_pending_modified(void **state)
{
	struct fx *f = *state;
	epcm_poke(f, FX_TCS)->pending = true;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_TCS, FX_PFEC_ENCLU);
	epcm_poke(f, FX_TCS)->pending = false;
	epcm_poke(f, FX_TCS)->modified = true;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_TCS, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS);
	epcm_poke(f, FX_TCS)->modified = false;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
}

/* The TCS page seen through another linear address: ENCLAVEADDRESS differs */
static void test_eenter_epcm_wrong_address(void **state)
{
	struct fx *f = *state;
	uint8_t *page = hw_epc_page(f->m, fx_frame_of_la(f, FX_TCS));
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP, page, HW_PROT_R | HW_PROT_W), 0);
	assert_pf(eenter(f->lp, FX_HEAP, FX_AEP), FX_HEAP, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_offsets_misaligned(void **state)
{
	struct fx *f = *state;
	struct sgx_tcs *tcs = fx_tcs_page(f, FX_TCS);
	tcs->ossa = 0x1008;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	tcs->ossa = 0x1000;
	tcs->ofsbase = 0x10;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	tcs->ofsbase = 0;
	tcs->ogsbase = 0x800;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
	tcs->ogsbase = 0;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
}

static void test_eenter_fsgs_noncanonical(void **state)
{
	struct fx *f = *state;
	struct sgx_tcs *tcs = fx_tcs_page(f, FX_TCS);
	tcs->ofsbase = NONCANON_OFF;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	tcs->ofsbase = 0;
	tcs->ogsbase = NONCANON_OFF;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_flags_reserved(void **state)
{
	struct fx *f = *state;
	fx_tcs_page(f, FX_TCS)->flags = 2; /* AEXNOTIFY: not supported by the model */
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	fx_tcs_page(f, FX_TCS)->flags = 1ull << 63;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
}

/* fx_setup_enclave: built but not EINITed */
static void test_eenter_uninitialized(void **state)
{
	struct fx *f = *state;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
	assert_true(sgx_ok(fx_einit(f)));
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
}

/* A 32-bit enclave (MODE64BIT = 0) on the model's 64-bit LPs */
static void test_eenter_32bit_enclave(void **state)
{
	struct fx *f = *state;
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	assert_true(sgx_ok(fx_ecreate(f, FX_BASE, FX_SIZE, SGX_ATTR_DEBUG)));
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	tcs->ossa = 0x1000;
	tcs->nssa = 1;
	tcs->oentry = 0x2000;
	tcs->fslimit = 0xfff;
	tcs->gslimit = 0xfff;
	assert_true(sgx_ok(fx_eadd(f, FX_BASE, FX_TCS_FLAGS, page, true)));
	assert_true(sgx_ok(fx_eadd(f, FX_BASE + 0x1000, FX_REG_RW, NULL, true)));
	assert_true(sgx_ok(fx_eadd(f, FX_BASE + 0x2000, FX_REG_RX, NULL, true)));
	assert_true(sgx_ok(fx_einit(f)));
	assert_gp(eenter(f->lp, FX_BASE, FX_AEP));
	assert_not_entered(f, FX_BASE);
}

static void test_eenter_cssa_ge_nssa(void **state)
{
	struct fx *f = *state;
	struct sgx_tcs *tcs = fx_tcs_page(f, FX_TCS);
	tcs->cssa = 2;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	tcs->cssa = 7;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
	tcs->cssa = 1;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	assert_int_equal(hw_lp_regs(f->lp)->rax, 1);
}

static void test_eenter_ssa_unmapped(void **state)
{
	struct fx *f = *state;
	uint8_t *ssa = hw_epc_page(f->m, fx_frame_of_la(f, FX_SSA));
	hw_pt_unmap(f->pt, FX_SSA);
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_SSA, PFEC_WRITE_NP);
	/* read-only PTE: protection fault on the write */
	assert_int_equal(hw_pt_map(f->pt, FX_SSA, ssa, HW_PROT_R), 0);
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_SSA, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_not_entered(f, FX_TCS);
}

/* The SSA frame must be a readable, writable REG page of this enclave */
static void test_eenter_ssa_not_rw_reg(void **state)
{
	struct fx *f = *state;
	struct sgx_tcs *tcs = fx_tcs_page(f, FX_TCS);
	/* PTE read-only: an ordinary protection #PF first */
	tcs->ossa = FX_CODE - FX_BASE;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_CODE, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	/* PTE writable, EPCM R-X */
	assert_int_equal(hw_pt_protect(f->pt, FX_CODE, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_CODE, FX_PFEC_ENCLU);
	/* a TCS page */
	tcs->ossa = FX_TCS2 - FX_BASE;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_TCS2, FX_PFEC_ENCLU);
	/* a pending (EAUG'd, not accepted) page */
	assert_success(fx_eaug(f, FX_HEAP));
	tcs->ossa = FX_HEAP - FX_BASE;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_HEAP, FX_PFEC_ENCLU);
	/* not EPC at all */
	tcs->ossa = FX_HEAP + 0x1000 - FX_BASE;
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP + 0x1000, fx_scratch(f, 1), HW_PROT_R | HW_PROT_W), 0);
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_HEAP + 0x1000, FX_PFEC_ENCLU);
	/* the second frame is checked when CSSA = 1 */
	tcs->ossa = FX_SSA - FX_BASE;
	tcs->cssa = 1;
	epcm_poke(f, FX_SSA + 0x1000)->w = false;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_SSA + 0x1000, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS);
}

/* A page of another enclave at the SSA address: ENCLAVESECS differs */
static void test_eenter_ssa_other_enclave(void **state)
{
	struct fx *f = *state;
	/* TCS2's SSA page mapped at FX_HEAP: same enclave but wrong address */
	uint8_t *ssa2 = hw_epc_page(f->m, fx_frame_of_la(f, FX_SSA2));
	assert_int_equal(hw_pt_map(f->pt, FX_HEAP, ssa2, HW_PROT_R | HW_PROT_W), 0);
	fx_tcs_page(f, FX_TCS)->ossa = FX_HEAP - FX_BASE;
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_HEAP, FX_PFEC_ENCLU);
	/* right address, other enclave */
	fx_tcs_page(f, FX_TCS)->ossa = FX_SSA2 - FX_BASE;
	epcm_poke(f, FX_SSA2)->secs = fx_frame_of_la(f, FX_TCS); /* any frame but our SECS */
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_SSA2, FX_PFEC_ENCLU);
	assert_not_entered(f, FX_TCS);
}

static void test_eenter_oentry_noncanonical(void **state)
{
	struct fx *f = *state;
	fx_tcs_page(f, FX_TCS)->oentry = NONCANON_OFF;
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
}

/* TCS active on another LP: #GP, and it is the last check (an SSA #PF wins) */
static void test_eenter_tcs_busy(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	assert_success(eenter(lp1, FX_TCS, FX_AEP));
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_false(hw_lp_in_enclave(f->lp));
	assert_true(hw_lp_in_enclave(lp1));
	/* the other TCS is free */
	assert_success(eenter(f->lp, FX_TCS2, FX_AEP));
	assert_success(fx_exit(f, f->lp));
	uint8_t *ssa = hw_epc_page(f->m, fx_frame_of_la(f, FX_SSA));
	hw_pt_unmap(f->pt, FX_SSA);
	assert_pf(eenter(f->lp, FX_TCS, FX_AEP), FX_SSA, PFEC_WRITE_NP);
	assert_int_equal(hw_pt_map(f->pt, FX_SSA, ssa, HW_PROT_R | HW_PROT_W), 0);
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	/* once LP1 leaves, the TCS can be entered again */
	assert_success(fx_exit(f, lp1));
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
}

static void test_eenter_inside_enclave(void **state)
{
	struct fx *f = *state;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	struct sgx_result r = hw_enclu(f->lp, SGX_EENTER, FX_TCS2, FX_AEP, 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, SGX_EXITINFO_VALID | (3u << 8) | SGX_VEC_GP);
	assert_int_equal(fx_tcs_page(f, FX_TCS2)->state, 0);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 1);
	r = hw_enclu(f->lp, SGX_ERESUME, FX_TCS, FX_AEP, 0);
	assert_success(r); /* outside again: ERESUME is legal */
	r = hw_enclu(f->lp, SGX_ERESUME, FX_TCS, FX_AEP, 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
}

/* ---- ERESUME ---- */

static void test_eresume_cssa_zero(void **state)
{
	struct fx *f = *state;
	assert_gp(eresume(f->lp, FX_TCS, FX_AEP));
	assert_not_entered(f, FX_TCS);
}

/* The shared checks apply to ERESUME too */
static void test_eresume_shared_checks(void **state)
{
	struct fx *f = *state;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	aex(f);
	assert_gp(eresume(f->lp, FX_TCS + 0x10, FX_AEP));
	assert_pf(eresume(f->lp, FX_HEAP, FX_AEP), FX_HEAP, PFEC_WRITE_NP);
	assert_gp(eresume(f->lp, FX_TCS, 0x0001000000000000ull));
	assert_pf(eresume(f->lp, FX_DATA, FX_AEP), FX_DATA, FX_PFEC_ENCLU);
	fx_tcs_page(f, FX_TCS)->flags = 4;
	assert_gp(eresume(f->lp, FX_TCS, FX_AEP));
	fx_tcs_page(f, FX_TCS)->flags = 0;
	epcm_poke(f, FX_SSA)->pending = true;
	assert_pf(eresume(f->lp, FX_TCS, FX_AEP), FX_SSA, FX_PFEC_ENCLU);
	epcm_poke(f, FX_SSA)->pending = false;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	fx_tcs_page(f, FX_TCS)->state = 1; /* as if another LP were inside on it */
	assert_gp(eresume(lp1, FX_TCS, FX_AEP));
	fx_tcs_page(f, FX_TCS)->state = 0;
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 1);
	assert_success(eresume(f->lp, FX_TCS, FX_AEP));
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 0);
}

/* ERESUME has no CSSA < NSSA check: a TCS with every frame used resumes */
static void test_eresume_all_frames_used(void **state)
{
	struct fx *f = *state;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	aex(f);
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	hw_lp_regs(f->lp)->rip = FX_CODE + 0x40;
	aex(f);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 2);
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
	assert_success(eresume(f->lp, FX_TCS, FX_AEP));
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_CODE + 0x40); /* from frame 1 */
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 1);
}

/* The target is the saved RIP, and FS/GS come from the frame, not the TCS */
static void test_eresume_target_and_fsgs_checks(void **state)
{
	struct fx *f = *state;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	aex(f);
	struct sgx_gprsgx *g = gpr_at(f, FX_SSA);
	uint64_t rip = g->rip, fs = g->fsbase;
	g->rip = 0x0000800000000000ull;
	assert_gp(eresume(f->lp, FX_TCS, FX_AEP));
	g->rip = rip;
	g->fsbase = 0x0000800000000000ull;
	assert_gp(eresume(f->lp, FX_TCS, FX_AEP));
	g->fsbase = fs;
	g->gsbase = 0xfff0000000000000ull;
	assert_gp(eresume(f->lp, FX_TCS, FX_AEP));
	g->gsbase = 0x7000;
	assert_not_entered(f, FX_TCS);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 1);
	/* a non-canonical BASE+OFSBASE stops EENTER only */
	fx_tcs_page(f, FX_TCS)->ofsbase = NONCANON_OFF;
	assert_success(eresume(f->lp, FX_TCS, FX_AEP));
	assert_int_equal(hw_lp_regs(f->lp)->fsbase, fs);
	assert_int_equal(hw_lp_regs(f->lp)->gsbase, 0x7000);
	aex(f);
	assert_gp(eenter(f->lp, FX_TCS, FX_AEP));
}

/* ERESUME saves its RCX as the new AEP */
static void test_eresume_saves_aep(void **state)
{
	struct fx *f = *state;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	aex(f);
	assert_success(eresume(f->lp, FX_TCS, 0x403000));
	assert_int_equal(fx_tcs_page(f, FX_TCS)->aep, 0x403000);
	aex(f);
	assert_int_equal(hw_lp_regs(f->lp)->rip, 0x403000);
	assert_int_equal(hw_lp_regs(f->lp)->rcx, 0x403000);
}

/* ERESUME registers the LP in the current epoch: ETRACK waits for it */
static void test_eresume_registers_epoch(void **state)
{
	struct fx *f = *state;
	uint64_t secs = fx_addr(f->secs);
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	aex(f);
	assert_success(eresume(f->lp, FX_TCS, FX_AEP));
	assert_success(hw_encls(hw_lp_get(f->m, 1), SGX_ETRACK, 0, secs, 0));
	assert_rc(hw_encls(hw_lp_get(f->m, 1), SGX_ETRACK, 0, secs, 0), SGX_PREV_TRK_INCMPL);
	assert_success(fx_exit(f, f->lp));
	assert_success(hw_encls(hw_lp_get(f->m, 1), SGX_ETRACK, 0, secs, 0));
}

/* ---- EEXIT ---- */

static void test_eexit_state(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	regs->fsbase = 0x11000;
	regs->gsbase = 0x22000;
	regs->rsp = 0x7ff000;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	regs->rsp = FX_DATA + 0x800; /* enclave stack */
	regs->r12 = 0xabcdef;
	assert_success(hw_enclu(f->lp, SGX_EEXIT, 0x405000, 0, 0));
	assert_false(hw_lp_in_enclave(f->lp));
	assert_int_equal(regs->rip, 0x405000);
	assert_int_equal(regs->rcx, FX_AEP);
	assert_int_equal(regs->fsbase, 0x11000);
	assert_int_equal(regs->gsbase, 0x22000);
	/* not scrubbed, not restored */
	assert_int_equal(regs->r12, 0xabcdef);
	assert_int_equal(regs->rsp, FX_DATA + 0x800);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->state, 0);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 0);
	assert_int_equal(hw_lp_tcs(f->lp), 0);
	assert_int_equal(hw_lp_secs_frame(f->lp), HW_NO_FRAME);
	/* the TCS is free again */
	assert_success(eenter(hw_lp_get(f->m, 1), FX_TCS, FX_AEP));
}

static void test_eexit_outside(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	regs->rip = 0x1234000;
	struct sgx_result r = hw_enclu(f->lp, SGX_EEXIT, FX_RETURN, 0, 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_false(r.aex);
	assert_int_equal(regs->rip, 0x1234000);
}

static void test_eexit_noncanonical(void **state)
{
	struct fx *f = *state;
	assert_success(eenter(f->lp, FX_TCS, FX_AEP));
	hw_lp_regs(f->lp)->rip = FX_CODE + 0x10;
	struct sgx_result r = hw_enclu(f->lp, SGX_EEXIT, 0x0000800000000000ull, 0, 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_AEP);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x10);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, SGX_EXITINFO_VALID | (3u << 8) | SGX_VEC_GP);
	assert_int_equal(fx_tcs_page(f, FX_TCS)->cssa, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
#define T_UNINIT(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_enclave, fx_teardown)
#define T_BARE(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_eenter_state),
		T(test_eenter_second_frame),
		T(test_eenter_dbgoptin_allowed),
		T(test_eenter_tcs_misaligned),
		T(test_eenter_tcs_unmapped),
		T(test_eenter_tcs_not_epc),
		T(test_eenter_aep_noncanonical),
		T(test_eenter_epcm_not_tcs),
		T(test_eenter_epcm_invalid),
		T(test_eenter_epcm_blocked),
		T(test_eenter_epcm_pending_modified),
		T(test_eenter_epcm_wrong_address),
		T(test_eenter_offsets_misaligned),
		T(test_eenter_fsgs_noncanonical),
		T(test_eenter_flags_reserved),
		T_UNINIT(test_eenter_uninitialized),
		T_BARE(test_eenter_32bit_enclave),
		T(test_eenter_cssa_ge_nssa),
		T(test_eenter_ssa_unmapped),
		T(test_eenter_ssa_not_rw_reg),
		T(test_eenter_ssa_other_enclave),
		T(test_eenter_oentry_noncanonical),
		T(test_eenter_tcs_busy),
		T(test_eenter_inside_enclave),
		T(test_eresume_cssa_zero),
		T(test_eresume_shared_checks),
		T(test_eresume_all_frames_used),
		T(test_eresume_target_and_fsgs_checks),
		T(test_eresume_saves_aep),
		T(test_eresume_registers_epoch),
		T(test_eexit_state),
		T(test_eexit_outside),
		T(test_eexit_noncanonical),
	};
	return cmocka_run_group_tests_name("enclave entry and exit", tests, NULL, NULL);
}
