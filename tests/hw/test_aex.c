/*
 * Asynchronous enclave exits (isa.md §3.3) and ERESUME back into the saved
 * state (§4.15): what AEX saves (GPRSGX, EXITINFO, EXINFO with and without
 * MISCSELECT.EXINFO), the synthetic state it loads, the SSA stack (CSSA,
 * NSSA exhaustion, the frame the next AEX uses), interrupts taken now or at
 * the next instruction boundary, and TLB flushes.
 */
#include "common/fixture.h"
#include "hw/machine.h" /* hw_aex, for exceptions the model never raises itself */

#define PATTERN 0xa5
#define FLAGS_ARITH (HW_RFLAGS_CF | HW_RFLAGS_PF | HW_RFLAGS_AF | HW_RFLAGS_ZF | HW_RFLAGS_SF | HW_RFLAGS_OF)
#define RFLAGS_RF 0x10000ull
#define RFLAGS_DF 0x400ull
#define RFLAGS_IF 0x200ull
#define EXITINFO(type, vec) (SGX_EXITINFO_VALID | ((type) << SGX_EXITINFO_TYPE_SHIFT) | (vec))

static uint8_t *ssa_page(struct fx *f, uint64_t la)
{
	return hw_epc_page(f->m, fx_frame_of_la(f, la));
}

static struct sgx_gprsgx *gpr_at(struct fx *f, uint64_t la)
{
	return (struct sgx_gprsgx *)(ssa_page(f, la) + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx));
}

static struct sgx_exinfo *exinfo_at(struct fx *f, uint64_t la)
{
	return (struct sgx_exinfo *)((uint8_t *)gpr_at(f, la) - sizeof(struct sgx_exinfo));
}

static struct sgx_tcs *tcs(struct fx *f)
{
	return (struct sgx_tcs *)hw_epc_page(f->m, fx_frame_of_la(f, FX_TCS));
}

static void fill_exinfo(struct fx *f, uint64_t la)
{
	memset(exinfo_at(f, la), PATTERN, sizeof(struct sgx_exinfo));
}

static void assert_exinfo_untouched(struct fx *f, uint64_t la)
{
	const uint8_t *p = (const uint8_t *)exinfo_at(f, la);
	for (size_t i = 0; i < sizeof(struct sgx_exinfo); i++)
		assert_int_equal(p[i], PATTERN);
}

static void enter(struct fx *f)
{
	assert_success(fx_enter(f, f->lp, FX_TCS));
}

static struct sgx_result eresume(struct fx *f, struct hw_lp *lp)
{
	(void)f;
	hw_lp_regs(lp)->rip = FX_RETURN;
	return hw_enclu(lp, SGX_ERESUME, FX_TCS, FX_AEP, 0);
}

/* Distinct values in every register the enclave can hold */
static void load_pattern(struct hw_regs *r)
{
	uint64_t *v = &r->rax;
	for (unsigned i = 0; i < 16; i++)
		v[i] = 0x1000 + i * 0x111;
	r->rflags = FLAGS_ARITH | RFLAGS_DF | RFLAGS_IF | RFLAGS_RF | 0x2;
	r->rip = FX_CODE + 0x40;
}

/*
 * The standard layout (TCS, two SSA frames, data, code) with a chosen
 * MISCSELECT: fx_ecreate always asks for EXINFO.
 */
static void build_with_miscselect(struct fx *f, uint32_t miscselect)
{
	static struct sgx_pageinfo pi;
	static struct sgx_secinfo si;
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	memset(&f->secs_src, 0, sizeof(f->secs_src));
	f->secs_src.base = FX_BASE;
	f->secs_src.size = FX_SIZE;
	f->secs_src.ssa_frame_size = 1;
	f->secs_src.miscselect = miscselect;
	f->secs_src.attributes.flags = FX_ATTRS;
	f->secs_src.attributes.xfrm = 3;
	memcpy(fx_scratch(f, 14), &f->secs_src, sizeof(f->secs_src));
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_PT(SGX_PT_SECS);
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(fx_scratch(f, 14)), .secinfo = fx_addr(&si) };
	uint8_t *frame = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_ECREATE, fx_addr(&pi), fx_addr(frame), 0));
	f->secs = frame;
	f->base = FX_BASE;
	f->size = FX_SIZE;
	assert_int_equal(sgx_measure_init(&f->mr, 1, FX_SIZE), 0);

	struct sgx_tcs *t = (struct sgx_tcs *)page;
	memset(page, 0, sizeof(page));
	t->ossa = FX_SSA - FX_BASE;
	t->nssa = 2;
	t->oentry = FX_CODE - FX_BASE;
	assert_success(fx_eadd(f, FX_TCS, FX_TCS_FLAGS, page, true));
	for (uint64_t la = FX_SSA; la < FX_CODE; la += SGX_PAGE_SIZE)
		assert_success(fx_eadd(f, la, FX_REG_RW, NULL, true));
	assert_success(fx_eadd(f, FX_CODE, FX_REG_RX, NULL, true));
	assert_success(fx_einit(f));
}

static int setup_misc0(void **state)
{
	struct fx *f = fx_new(NULL);
	build_with_miscselect(f, 0);
	*state = f;
	return 0;
}

/* ---- what AEX saves ---- */

/* EPCM #PF with EXINFO: vector 14, type 3; MADDR full, ERRCD with bit 15 */
static void test_pf_epcm_exinfo(void **state)
{
	struct fx *f = *state;
	assert_int_equal(hw_pt_protect(f->pt, FX_CODE, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	memset(exinfo_at(f, FX_SSA), PATTERN, sizeof(struct sgx_exinfo));
	enter(f);
	hw_lp_regs(f->lp)->rip = FX_CODE + 0x20;
	uint8_t v = 1;
	struct sgx_result r = hw_lp_write(f->lp, FX_CODE + 0x123, &v, 1);
	assert_true(r.aex);
	assert_pf(r, FX_CODE, 0x8007); /* the OS sees CR2 page-masked */
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, EXITINFO(3u, 14u));
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x20);
	assert_int_equal(exinfo_at(f, FX_SSA)->maddr, FX_CODE + 0x123);
	assert_int_equal(exinfo_at(f, FX_SSA)->errcd, 0x8007);
	assert_int_equal(exinfo_at(f, FX_SSA)->reserved, 0);
}

/* Page-table #PFs are reported the same way, without bit 15 */
static void test_pf_ordinary_exinfo(void **state)
{
	struct fx *f = *state;
	enter(f);
	uint8_t v;
	struct sgx_result r = hw_lp_read(f->lp, FX_HEAP + 0x18, &v, 1);
	assert_true(r.aex);
	assert_pf(r, FX_HEAP, SGX_PFEC_U);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, EXITINFO(3u, 14u));
	assert_int_equal(exinfo_at(f, FX_SSA)->maddr, FX_HEAP + 0x18);
	assert_int_equal(exinfo_at(f, FX_SSA)->errcd, SGX_PFEC_U);

	/* a fetch from the data page: PTE has no X (I|P|U), then EPCM has no X */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint8_t *host;
	r = hw_lp_access(f->lp, FX_DATA + 0x20, HW_FETCH, &host);
	assert_pf(r, FX_DATA, SGX_PFEC_U | SGX_PFEC_I | SGX_PFEC_P);
	assert_int_equal(exinfo_at(f, FX_SSA + 0x1000)->errcd, SGX_PFEC_U | SGX_PFEC_I | SGX_PFEC_P);
	assert_int_equal(exinfo_at(f, FX_SSA + 0x1000)->maddr, FX_DATA + 0x20);
}

/* #GP inside (fetch outside ELRANGE): vector 13; MADDR and ERRCD 0 */
static void test_gp_exinfo(void **state)
{
	struct fx *f = *state;
	uint64_t outside = 0x30000000;
	assert_int_equal(hw_pt_map(f->pt, outside, fx_scratch(f, 0), HW_PROT_R | HW_PROT_X), 0);
	fill_exinfo(f, FX_SSA);
	enter(f);
	uint8_t *host;
	struct sgx_result r = hw_lp_access(f->lp, outside + 8, HW_FETCH, &host);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	assert_int_equal(r.error_code, 0);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, EXITINFO(3u, 13u));
	assert_int_equal(exinfo_at(f, FX_SSA)->maddr, 0);
	assert_int_equal(exinfo_at(f, FX_SSA)->errcd, 0);
	assert_int_equal(exinfo_at(f, FX_SSA)->reserved, 0);
	/* a data read of the same outside page is fine */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(hw_lp_access(f->lp, outside + 8, HW_READ, &host));
}

/* ENCLS inside an enclave is #UD: reported (vector 6) but no EXINFO */
static void test_ud_encls_inside(void **state)
{
	struct fx *f = *state;
	fill_exinfo(f, FX_SSA);
	enter(f);
	uint8_t *page = fx_frame(f);
	struct sgx_result r = hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(page), 0);
	assert_int_equal(r.vector, SGX_VEC_UD);
	assert_true(r.aex);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, EXITINFO(3u, 6u));
	assert_int_equal(gpr_at(f, FX_SSA)->rax, SGX_EPA); /* the instruction's operands were saved */
	assert_int_equal(gpr_at(f, FX_SSA)->rbx, SGX_PT_VA);
	assert_int_equal(gpr_at(f, FX_SSA)->rcx, fx_addr(page));
	assert_exinfo_untouched(f, FX_SSA);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(page)), &e));
	assert_false(e.valid); /* EPA did not run */
}

/* MISCSELECT = 0: #PF and #GP are not reported, EXINFO stays as it was */
static void test_misc0_pf_gp_not_reported(void **state)
{
	struct fx *f = *state;
	fill_exinfo(f, FX_SSA);
	gpr_at(f, FX_SSA)->exitinfo = 0xdeadbeef;
	enter(f);
	uint8_t v;
	struct sgx_result r = hw_lp_read(f->lp, FX_HEAP, &v, 1);
	assert_true(r.aex);
	assert_pf(r, FX_HEAP, SGX_PFEC_U);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, 0);
	assert_exinfo_untouched(f, FX_SSA);

	/* #GP: EEXIT to a non-canonical address (frame 1) */
	fill_exinfo(f, FX_SSA + 0x1000);
	gpr_at(f, FX_SSA + 0x1000)->exitinfo = 0xdeadbeef;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	r = hw_enclu(f->lp, SGX_EEXIT, 0x8000000000000000ull, 0, 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->exitinfo, 0);
	assert_exinfo_untouched(f, FX_SSA + 0x1000);
	assert_int_equal(tcs(f)->cssa, 2);
}

/* MISCSELECT = 0 still reports #UD */
static void test_misc0_ud_reported(void **state)
{
	struct fx *f = *state;
	fill_exinfo(f, FX_SSA);
	enter(f);
	struct sgx_result r = hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(f->secs), 0);
	assert_int_equal(r.vector, SGX_VEC_UD);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, EXITINFO(3u, 6u));
	assert_exinfo_untouched(f, FX_SSA);
}

/* Which exceptions EXITINFO reports, and with which type */
static void test_exitinfo_kinds(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint8_t vector;
		uint32_t exitinfo;
	} cases[] = {
		{ 0, EXITINFO(3u, 0u) },   /* #DE */
		{ 3, EXITINFO(6u, 3u) },   /* #BP: software exception */
		{ 7, 0 },                  /* #NM: not reported */
		{ 17, EXITINFO(3u, 17u) }, /* #AC */
		{ 19, EXITINFO(3u, 19u) }, /* #XM */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enter(f);
		fill_exinfo(f, FX_SSA);
		struct sgx_result r = hw_aex(f->lp, (struct sgx_result){ .vector = cases[i].vector });
		assert_true(r.aex);
		assert_int_equal(r.vector, cases[i].vector);
		assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, cases[i].exitinfo);
		assert_exinfo_untouched(f, FX_SSA);
		assert_success(eresume(f, f->lp));
		assert_success(fx_exit(f, f->lp));
	}
}

/* ---- the synthetic state ---- */

static void test_synthetic_state(void **state)
{
	struct fx *f = *state;
	struct hw_regs *r = hw_lp_regs(f->lp);
	r->rsp = 0x7ff000;
	r->rbp = 0x7ff100;
	r->fsbase = 0x11000;
	r->gsbase = 0x22000;
	enter(f);
	load_pattern(r);
	struct hw_regs inside = *r;
	uint8_t v;
	assert_true(hw_lp_read(f->lp, FX_HEAP, &v, 1).aex);

	const struct sgx_gprsgx *g = gpr_at(f, FX_SSA);
	uint64_t saved[16];
	memcpy(saved, g, sizeof(saved)); /* RAX..R15 lead GPRSGX in hw_regs order */
	const uint64_t *want = &inside.rax;
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(saved[i], want[i]);
	assert_int_equal(g->rflags, inside.rflags);
	assert_int_equal(g->rip, FX_CODE + 0x40);
	assert_int_equal(g->fsbase, FX_BASE);
	assert_int_equal(g->gsbase, FX_BASE);
	assert_int_equal(g->ursp, 0x7ff000);
	assert_int_equal(g->urbp, 0x7ff100);

	assert_int_equal(r->rax, SGX_ERESUME);
	assert_int_equal(r->rbx, FX_TCS);
	assert_int_equal(r->rcx, FX_AEP);
	assert_int_equal(r->rip, FX_AEP);
	assert_int_equal(r->rsp, 0x7ff000);
	assert_int_equal(r->rbp, 0x7ff100);
	assert_int_equal(r->rdx, 0);
	assert_int_equal(r->rsi, 0);
	assert_int_equal(r->rdi, 0);
	const uint64_t *hi = &r->r8;
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(hi[i], 0);
	assert_int_equal(r->rflags, RFLAGS_DF | RFLAGS_IF | 0x2); /* CF PF AF ZF SF OF RF cleared */
	assert_int_equal(r->fsbase, 0x11000);
	assert_int_equal(r->gsbase, 0x22000);
	assert_false(hw_lp_in_enclave(f->lp));
	assert_int_equal(tcs(f)->state, 0);
	assert_int_equal(hw_lp_stats(f->lp)->aex, 1);
}

/* ---- the SSA stack ---- */

static void test_cssa_and_nssa_exhaustion(void **state)
{
	struct fx *f = *state;
	struct hw_regs *r = hw_lp_regs(f->lp);
	enter(f);
	assert_int_equal(r->rax, 0);
	r->rip = FX_CODE + 0x10;
	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_int_equal(tcs(f)->cssa, 1);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x10);

	enter(f); /* the enclave's exception handler, on frame 1 */
	assert_int_equal(r->rax, 1);
	r->rip = FX_CODE + 0x20;
	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_int_equal(tcs(f)->cssa, 2);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->rip, FX_CODE + 0x20);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x10);

	/* NSSA = 2 frames used: EENTER refuses, ERESUME pops */
	assert_gp(fx_enter(f, f->lp, FX_TCS));
	assert_false(hw_lp_in_enclave(f->lp));
	assert_success(eresume(f, f->lp));
	assert_int_equal(r->rip, FX_CODE + 0x20);
	assert_int_equal(tcs(f)->cssa, 1);
	assert_success(fx_exit(f, f->lp));
	assert_success(eresume(f, f->lp));
	assert_int_equal(r->rip, FX_CODE + 0x10);
	assert_int_equal(tcs(f)->cssa, 0);
	assert_gp(eresume(f, hw_lp_get(f->m, 1))); /* busy (and CSSA = 0 anyway) */
}

/* After ERESUME the next AEX saves into frame CSSA (the one just popped) */
static void test_aex_after_eresume_uses_popped_frame(void **state)
{
	struct fx *f = *state;
	struct hw_regs *r = hw_lp_regs(f->lp);
	enter(f);
	r->rip = FX_CODE + 0x10;
	assert_true(hw_lp_interrupt(f->lp).aex);
	/* the handler (EENTER on frame 1) redirects the interrupted flow */
	enter(f);
	uint64_t new_rip = FX_CODE + 0x300;
	uint64_t rip_la = FX_SSA + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx) + offsetof(struct sgx_gprsgx, rip);
	assert_success(hw_lp_write(f->lp, rip_la, &new_rip, sizeof(new_rip)));
	assert_success(fx_exit(f, f->lp));
	gpr_at(f, FX_SSA + 0x1000)->rip = 0x5a5a;
	assert_success(eresume(f, f->lp));
	assert_int_equal(r->rip, FX_CODE + 0x300);
	assert_int_equal(tcs(f)->cssa, 0);
	r->rip = FX_CODE + 0x308;
	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x308);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->rip, 0x5a5a);
	assert_int_equal(tcs(f)->cssa, 1);

	/* the same one frame up: resume from frame 1, fault, frame 1 again */
	enter(f);
	r->rip = FX_CODE + 0x400;
	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_success(eresume(f, f->lp));
	assert_int_equal(tcs(f)->cssa, 1);
	r->rip = FX_CODE + 0x408;
	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_int_equal(gpr_at(f, FX_SSA + 0x1000)->rip, FX_CODE + 0x408);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x308);
	assert_int_equal(tcs(f)->cssa, 2);
}

/* ERESUME restores exactly what AEX saved; the faulting write then works */
static void test_eresume_restores_and_retries(void **state)
{
	struct fx *f = *state;
	struct hw_regs *r = hw_lp_regs(f->lp);
	r->fsbase = 0x11000;
	r->gsbase = 0x22000;
	assert_int_equal(hw_pt_protect(f->pt, FX_DATA, HW_PROT_R), 0);
	enter(f);
	load_pattern(r);
	r->fsbase = FX_BASE + 0x5000; /* as if the enclave had moved them (WRFSBASE) */
	r->gsbase = FX_BASE + 0x6000;
	struct hw_regs inside = *r;
	uint32_t v = 0xc0ffee;
	struct sgx_result res = hw_lp_write(f->lp, FX_DATA + 0x10, &v, sizeof(v));
	assert_true(res.aex);
	assert_pf(res, FX_DATA, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);

	/* the OS fixes the PTE and resumes; TF/IF stay as the host has them */
	assert_int_equal(hw_pt_protect(f->pt, FX_DATA, HW_PROT_R | HW_PROT_W), 0);
	r->rflags = 0x2;
	assert_success(eresume(f, f->lp));
	assert_true(hw_lp_in_enclave(f->lp));
	const uint64_t *now = &r->rax, *want = &inside.rax;
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(now[i], want[i]);
	assert_int_equal(r->rip, inside.rip);
	/* restorable flags come back (RF too); IF only with IOPL 3 */
	assert_int_equal(r->rflags, FLAGS_ARITH | RFLAGS_DF | RFLAGS_RF | 0x2);
	assert_int_equal(r->fsbase, FX_BASE + 0x5000);
	assert_int_equal(r->gsbase, FX_BASE + 0x6000);
	assert_int_equal(tcs(f)->cssa, 0);
	assert_int_equal(tcs(f)->state, 1);

	assert_success(hw_lp_write(f->lp, FX_DATA + 0x10, &v, sizeof(v)));
	uint32_t back = 0;
	assert_success(hw_lp_read(f->lp, FX_DATA + 0x10, &back, sizeof(back)));
	assert_int_equal(back, 0xc0ffee);

	/* outside FS/GS were saved again by ERESUME and come back at EEXIT */
	r->fsbase = FX_BASE; /* EEXIT uses the values saved at entry, not these */
	assert_success(fx_exit(f, f->lp));
	assert_int_equal(r->fsbase, 0x11000);
	assert_int_equal(r->gsbase, 0x22000);
}

/* IF comes from the frame when IOPL = 3; VM is always cleared */
static void test_eresume_if_with_iopl3(void **state)
{
	struct fx *f = *state;
	struct hw_regs *r = hw_lp_regs(f->lp);
	enter(f);
	r->rflags = RFLAGS_IF | 0x2;
	assert_true(hw_lp_interrupt(f->lp).aex);
	r->rflags = 0x3000 | 0x20000 | 0x2; /* IOPL 3, VM, IF clear */
	assert_success(eresume(f, f->lp));
	assert_int_equal(r->rflags, 0x3000 | RFLAGS_IF | 0x2);
}

/* ---- interrupts ---- */

static void test_interrupt_now(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	struct sgx_result r = hw_lp_interrupt(f->lp); /* outside: just taken */
	assert_false(r.aex);
	assert_int_equal(r.vector, SGX_VEC_NONE);
	assert_int_equal(st->interrupts, 1);
	assert_int_equal(st->aex, 0);

	fill_exinfo(f, FX_SSA);
	gpr_at(f, FX_SSA)->exitinfo = 0xdeadbeef;
	enter(f);
	hw_lp_regs(f->lp)->rip = FX_CODE + 0x66;
	r = hw_lp_interrupt(f->lp);
	assert_true(r.aex);
	assert_int_equal(r.vector, SGX_VEC_NONE);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, 0);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x66);
	assert_exinfo_untouched(f, FX_SSA);
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_AEP);
	assert_int_equal(st->interrupts, 2);
	assert_int_equal(st->aex, 1);
}

/* Posted: nothing happens until the LP's next access, which does not run */
static void test_interrupt_posted_access(void **state)
{
	struct fx *f = *state;
	enter(f);
	hw_lp_regs(f->lp)->rip = FX_CODE + 0x70;
	hw_lp_post_interrupt(f->lp);
	assert_true(hw_lp_in_enclave(f->lp));
	uint8_t buf[4] = { 0 };
	struct sgx_result r = hw_lp_read(f->lp, FX_DATA, buf, sizeof(buf));
	assert_true(r.aex);
	assert_int_equal(r.vector, SGX_VEC_NONE);
	assert_int_equal(buf[0], 0); /* the read did not happen */
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, 0);
	assert_int_equal(gpr_at(f, FX_SSA)->rip, FX_CODE + 0x70);
	assert_int_equal(tcs(f)->cssa, 1);
	/* taken once only */
	assert_success(eresume(f, f->lp));
	assert_success(hw_lp_read(f->lp, FX_DATA, buf, sizeof(buf)));
	assert_memory_equal(buf, "page", 4);
}

/* Posted: the next ENCLU is not executed, the interrupt is taken before it */
static void test_interrupt_posted_enclu(void **state)
{
	struct fx *f = *state;
	struct hw_regs *r = hw_lp_regs(f->lp);
	enter(f);
	r->rax = 0x77;
	hw_lp_post_interrupt(f->lp);
	struct sgx_result res = hw_enclu(f->lp, SGX_EEXIT, FX_RETURN, 0, 0);
	assert_true(res.aex);
	assert_int_equal(res.vector, SGX_VEC_NONE);
	assert_int_equal(r->rip, FX_AEP); /* not FX_RETURN: EEXIT did not run */
	assert_int_equal(gpr_at(f, FX_SSA)->rax, 0x77);
	assert_int_equal(gpr_at(f, FX_SSA)->exitinfo, 0);
	assert_int_equal(tcs(f)->cssa, 1);
}

/* The OS's IPI to an LP running another thread of the enclave */
static void test_interrupt_other_lp(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	assert_success(fx_enter(f, lp1, FX_TCS2));
	enter(f);
	hw_lp_post_interrupt(lp1);
	uint8_t v;
	assert_success(hw_lp_read(f->lp, FX_DATA, &v, 1)); /* LP 0 is not disturbed */
	assert_true(hw_lp_in_enclave(lp1));
	struct sgx_result r = hw_lp_read(lp1, FX_DATA, &v, 1);
	assert_true(r.aex);
	assert_false(hw_lp_in_enclave(lp1));
	assert_true(hw_lp_in_enclave(f->lp));
	assert_int_equal(hw_lp_regs(lp1)->rbx, FX_TCS2);
	assert_int_equal(((struct sgx_tcs *)hw_epc_page(f->m, fx_frame_of_la(f, FX_TCS2)))->cssa, 1);
	assert_int_equal(hw_lp_stats(lp1)->aex, 1);
	assert_int_equal(hw_lp_stats(f->lp)->aex, 0);
}

/* ---- TLB ---- */

static void test_tlb_flushed_at_entry_exit_aex(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	uint8_t v;
	uint64_t flushes = st->tlb_flushes;
	enter(f);
	assert_int_equal(st->tlb_flushes, flushes + 1);
	assert_success(hw_lp_read(f->lp, FX_DATA, &v, 1));
	uint64_t misses = st->tlb_misses, hits = st->tlb_hits;
	assert_success(hw_lp_read(f->lp, FX_DATA, &v, 1));
	assert_int_equal(st->tlb_hits, hits + 1);

	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_int_equal(st->tlb_flushes, flushes + 2);
	assert_success(eresume(f, f->lp));
	assert_int_equal(st->tlb_flushes, flushes + 3);
	assert_success(hw_lp_read(f->lp, FX_DATA, &v, 1));
	assert_int_equal(st->tlb_misses, misses + 1); /* the entry did not survive */

	assert_success(fx_exit(f, f->lp));
	assert_int_equal(st->tlb_flushes, flushes + 4);
	assert_success(hw_lp_read(f->lp, FX_DATA, &v, 1)); /* outside: abort page */
	assert_int_equal(v, 0xff);
	assert_int_equal(st->tlb_misses, misses + 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
#define T_MISC0(fn) cmocka_unit_test_setup_teardown(fn, setup_misc0, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pf_epcm_exinfo),
		T(test_pf_ordinary_exinfo),
		T(test_gp_exinfo),
		T(test_ud_encls_inside),
		T_MISC0(test_misc0_pf_gp_not_reported),
		T_MISC0(test_misc0_ud_reported),
		T(test_exitinfo_kinds),
		T(test_synthetic_state),
		T(test_cssa_and_nssa_exhaustion),
		T(test_aex_after_eresume_uses_popped_frame),
		T(test_eresume_restores_and_retries),
		T(test_eresume_if_with_iopl3),
		T(test_interrupt_now),
		T(test_interrupt_posted_access),
		T(test_interrupt_posted_enclu),
		T(test_interrupt_other_lp),
		T(test_tlb_flushed_at_entry_exit_aex),
	};
	return cmocka_run_group_tests_name("AEX and ERESUME", tests, NULL, NULL);
}
