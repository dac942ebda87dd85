/*
 * EADD (isa.md §4.2) and EEXTEND (§4.3): success effects and every fault,
 * with the check order where two faults compete.
 */
#include "common/fixture.h"

static struct sgx_pageinfo pi;
static struct sgx_secinfo si;
static uint8_t srcpage[SGX_PAGE_SIZE] __attribute__((aligned(4096)));

static struct sgx_tcs *src_tcs(void)
{
	return (struct sgx_tcs *)srcpage;
}

/* A valid EADD of la into the fixture's enclave. */
static void reset(struct fx *f, uint64_t la, uint64_t flags)
{
	memset(srcpage, 0, sizeof(srcpage));
	si = (struct sgx_secinfo){ .flags = flags };
	pi = (struct sgx_pageinfo){ .linaddr = la, .srcpge = fx_addr(srcpage), .secinfo = fx_addr(&si),
				    .secs = fx_addr(f->secs) };
}

static struct sgx_result eadd_at(struct fx *f, const void *target)
{
	return hw_encls(f->lp, SGX_EADD, fx_addr(&pi), fx_addr(target), 0);
}

static struct sgx_result eextend(struct fx *f, const void *secs, const void *chunk)
{
	return hw_encls(f->lp, SGX_EEXTEND, fx_addr(secs), fx_addr(chunk), 0);
}

static struct hw_epcm_entry epcm_at(struct fx *f, const void *page)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(page)), &e));
	return e;
}

static uint8_t *host_of(struct fx *f, uint64_t la)
{
	uint32_t frame = fx_frame_of_la(f, la);
	assert_int_not_equal(frame, HW_NO_FRAME);
	return hw_epc_page(f->m, frame);
}

static int setup_created(void **state)
{
	struct fx *f = fx_new(NULL);
	assert_success(fx_ecreate(f, FX_BASE, FX_SIZE, FX_ATTRS));
	*state = f;
	return 0;
}

/* ---- EADD ---- */

static void test_eadd_reg(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f);
	reset(f, FX_BASE + 0x5000, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_X);
	for (unsigned i = 0; i < sizeof(srcpage); i++)
		srcpage[i] = (uint8_t)(i * 7);
	hw_lp_regs(f->lp)->rax = 99;
	assert_success(eadd_at(f, target));
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_EADD); /* no code written */
	assert_memory_equal(target, srcpage, SGX_PAGE_SIZE);
	struct hw_epcm_entry e = epcm_at(f, target);
	struct hw_epcm_entry want = { .valid = true, .r = true, .x = true, .pt = SGX_PT_REG,
				      .secs = hw_epc_frame_of(f->m, fx_addr(f->secs)),
				      .enclave_address = FX_BASE + 0x5000 };
	assert_memory_equal(&e, &want, sizeof(e));

	/* X without R is legal; only W without R is not */
	reset(f, FX_BASE + 0x6000, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_X);
	assert_success(eadd_at(f, fx_frame(f)));
	/* the last page of ELRANGE; and the same LINADDR twice is not checked */
	reset(f, FX_BASE + FX_SIZE - 0x1000, FX_REG_RW);
	assert_success(eadd_at(f, fx_frame(f)));
	assert_success(eadd_at(f, fx_frame(f)));
	reset(f, FX_BASE, SGX_SECINFO_PT(SGX_PT_REG));
	assert_success(eadd_at(f, target = fx_frame(f)));
	e = epcm_at(f, target);
	assert_false(e.r || e.w || e.x);
}

/* TCS: RWX forced to 0, DBGOPTIN/CSSA/AEP/STATE cleared, the rest kept. */
static void test_eadd_tcs(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f);
	reset(f, FX_BASE, SGX_SECINFO_PT(SGX_PT_TCS) | SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X);
	struct sgx_tcs *t = src_tcs();
	t->state = 1;
	t->flags = SGX_TCS_DBGOPTIN;
	t->ossa = 0x1000;
	t->cssa = 1;
	t->nssa = 3;
	t->oentry = 0x8000;
	t->aep = 0x401000;
	t->ofsbase = 0x2000;
	t->ogsbase = 0x3000;
	t->fslimit = 0x123;
	t->gslimit = 0x456;
	assert_success(eadd_at(f, target));
	const struct sgx_tcs *tcs = (const struct sgx_tcs *)target;
	assert_int_equal(tcs->state, 0);
	assert_int_equal(tcs->flags, 0);
	assert_int_equal(tcs->cssa, 0);
	assert_int_equal(tcs->aep, 0);
	assert_int_equal(tcs->ossa, 0x1000);
	assert_int_equal(tcs->nssa, 3);
	assert_int_equal(tcs->oentry, 0x8000);
	assert_int_equal(tcs->ofsbase, 0x2000);
	assert_int_equal(tcs->ogsbase, 0x3000);
	assert_int_equal(tcs->fslimit, 0x123); /* 64-bit enclave: limits unchecked */
	assert_int_equal(tcs->gslimit, 0x456);
	struct hw_epcm_entry e = epcm_at(f, target);
	assert_true(e.valid);
	assert_false(e.r || e.w || e.x);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_int_equal(e.enclave_address, FX_BASE);
}

/* Step 1 and 2: alignment, EPC residency, PAGEINFO fields. */
static void test_eadd_operands(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f), *host = fx_scratch(f, 0);
	reset(f, FX_BASE, FX_REG_RW);
	assert_gp(eadd_at(f, target + 0x100));
	assert_pf(eadd_at(f, host), fx_addr(host), FX_PFEC_ENCLS);
	static struct sgx_pageinfo two[2];
	two[0] = pi;
	assert_gp(hw_encls(f->lp, SGX_EADD, fx_addr(&two[0]) + 8, fx_addr(target), 0));
	assert_gp(hw_encls(f->lp, SGX_EADD, fx_addr(&two[0]) + 8, fx_addr(host), 0));
	/* PAGEINFO read only after RCX is known to be EPC */
	assert_pf(hw_encls(f->lp, SGX_EADD, 0x40, fx_addr(host), 0), fx_addr(host), FX_PFEC_ENCLS);
	assert_pf(hw_encls(f->lp, SGX_EADD, 0x40, fx_addr(target), 0), 0x40, 0);

	pi.srcpge += 0x800;
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, FX_REG_RW);
	pi.secs += 0x40;
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, FX_REG_RW);
	pi.secinfo += 8;
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE + 0x10, FX_REG_RW);
	assert_gp(eadd_at(f, target));
	/* SECS not in the EPC: #PF(SECS), after all the alignment checks */
	reset(f, FX_BASE, FX_REG_RW);
	pi.secs = fx_addr(host);
	assert_pf(eadd_at(f, target), fx_addr(host), FX_PFEC_ENCLS);
	pi.linaddr += 8;
	assert_gp(eadd_at(f, target));
	/* SECINFO / source page unreadable: ordinary #PF, error code 0 */
	reset(f, FX_BASE, FX_REG_RW);
	pi.secinfo = 0;
	assert_pf(eadd_at(f, target), 0, 0);
	reset(f, FX_BASE, FX_REG_RW);
	pi.srcpge = 0;
	assert_pf(eadd_at(f, target), 0, 0);
	assert_false(epcm_at(f, target).valid);
	reset(f, FX_BASE, FX_REG_RW);
	assert_success(eadd_at(f, target));
}

/* Step 3: SECINFO. */
static void test_eadd_secinfo(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f);
	static const uint64_t bad[] = {
		SGX_SECINFO_PT(SGX_PT_SECS) | SGX_SECINFO_R,
		SGX_SECINFO_PT(SGX_PT_VA) | SGX_SECINFO_R,
		SGX_SECINFO_PT(SGX_PT_TRIM),
		SGX_SECINFO_PT(SGX_PT_SS_FIRST) | SGX_SECINFO_R | SGX_SECINFO_W,
		SGX_SECINFO_PT(0xff) | SGX_SECINFO_R,
		FX_REG_RW | 0x40,                 /* reserved bit 6 */
		FX_REG_RW | 0x80,                 /* reserved bit 7 */
		FX_REG_RW | (1ull << 16),
		FX_REG_RW | (1ull << 63),
		/* decision (eadd.c): the SGX2 state bits are never EADD's */
		FX_REG_RW | SGX_SECINFO_PENDING,
		FX_REG_RW | SGX_SECINFO_MODIFIED,
		FX_REG_RW | SGX_SECINFO_PR,
		FX_TCS_FLAGS | SGX_SECINFO_MODIFIED,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset(f, FX_BASE, bad[i]);
		struct sgx_result r = eadd_at(f, target);
		if (r.vector != SGX_VEC_GP)
			fail_msg("SECINFO.FLAGS %#llx: vector %u, want #GP", (unsigned long long)bad[i], r.vector);
	}
	reset(f, FX_BASE, FX_REG_RW);
	si.reserved[0] = 1;
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, FX_REG_RW);
	si.reserved[55] = 1;
	assert_gp(eadd_at(f, target));
	/* SECINFO is checked before the target's EPCM entry */
	uint8_t *used = f->secs;
	reset(f, FX_BASE, FX_REG_RW | 0x40);
	assert_gp(eadd_at(f, used));
	assert_false(epcm_at(f, target).valid);
}

/* Step 4: target free (#PF(RCX)) before SECS valid and a SECS (#PF(SECS)). */
static void test_eadd_epcm_state(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f), *other = fx_frame(f);
	reset(f, FX_BASE, FX_REG_RW);
	assert_success(eadd_at(f, target));
	reset(f, FX_BASE + 0x1000, FX_REG_RW);
	assert_pf(eadd_at(f, target), fx_addr(target), FX_PFEC_ENCLS);
	assert_pf(eadd_at(f, f->secs), fx_addr(f->secs), FX_PFEC_ENCLS);

	/* SECS frame free, or holding a REG page */
	uint8_t *free_frame = fx_frame(f);
	pi.secs = fx_addr(free_frame);
	assert_pf(eadd_at(f, other), fx_addr(free_frame), FX_PFEC_ENCLS);
	pi.secs = fx_addr(target);
	assert_pf(eadd_at(f, other), fx_addr(target), FX_PFEC_ENCLS);
	/* both wrong: the target is checked first */
	assert_pf(eadd_at(f, target), fx_addr(target), FX_PFEC_ENCLS);
	/* a VA page is no SECS either */
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	pi.secs = fx_addr(va);
	assert_pf(eadd_at(f, other), fx_addr(va), FX_PFEC_ENCLS);
	assert_false(epcm_at(f, other).valid);
}

/* Step 5: TCS contents and W without R. */
static void test_eadd_page_contents(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f);
	reset(f, FX_BASE, FX_TCS_FLAGS);
	src_tcs()->reserved[0] = 1;
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, FX_TCS_FLAGS);
	src_tcs()->reserved[sizeof(src_tcs()->reserved) - 1] = 0x80;
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, FX_TCS_FLAGS);
	src_tcs()->flags = 2; /* AEXNOTIFY: not supported by the model's CPU */
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, FX_TCS_FLAGS);
	src_tcs()->flags = 1ull << 63;
	assert_gp(eadd_at(f, target));
	/* a TCS with a reserved byte set, on a used target: #PF first */
	reset(f, FX_BASE, FX_TCS_FLAGS);
	src_tcs()->reserved[0] = 1;
	assert_pf(eadd_at(f, f->secs), fx_addr(f->secs), FX_PFEC_ENCLS);

	reset(f, FX_BASE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_W);
	assert_gp(eadd_at(f, target));
	reset(f, FX_BASE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_W | SGX_SECINFO_X);
	assert_gp(eadd_at(f, target));
	/* W without R is a REG rule: a TCS's SECINFO RWX are simply dropped */
	reset(f, FX_BASE, FX_TCS_FLAGS | SGX_SECINFO_W);
	assert_success(eadd_at(f, target));
}

/* 32-bit enclaves: FSLIMIT and GSLIMIT must end in 0xFFF. */
static void test_eadd_tcs_32bit(void **state)
{
	struct fx *f = *state;
	assert_success(fx_ecreate(f, 0x10000000, 0x100000, SGX_ATTR_DEBUG));
	uint8_t *target = fx_frame(f);
	reset(f, 0x10000000, FX_TCS_FLAGS);
	src_tcs()->fslimit = 0xffe;
	src_tcs()->gslimit = 0xfff;
	assert_gp(eadd_at(f, target));
	src_tcs()->fslimit = 0x1fff;
	src_tcs()->gslimit = 0x0;
	assert_gp(eadd_at(f, target));
	src_tcs()->gslimit = 0xabcfff;
	assert_success(eadd_at(f, target));
}

/* Step 6: LINADDR in ELRANGE, enclave not initialized. */
static void test_eadd_elrange_and_init(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f);
	static const uint64_t outside[] = { FX_BASE - 0x1000, FX_BASE + FX_SIZE, 0, FX_BASE + 2 * FX_SIZE };
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		reset(f, outside[i], FX_REG_RW);
		assert_gp(eadd_at(f, target));
		reset(f, outside[i], FX_TCS_FLAGS);
		assert_gp(eadd_at(f, target));
	}
	assert_false(epcm_at(f, target).valid);
	reset(f, FX_BASE + 0x2000, FX_REG_RW);
	assert_success(eadd_at(f, target));
}

static void test_eadd_after_einit(void **state)
{
	struct fx *f = *state;
	uint8_t *target = fx_frame(f);
	reset(f, FX_HEAP, FX_REG_RW);
	assert_gp(eadd_at(f, target));
	reset(f, FX_HEAP, FX_TCS_FLAGS);
	assert_gp(eadd_at(f, target));
	/* a used target still wins: step 4 comes before step 6 */
	assert_pf(eadd_at(f, f->secs), fx_addr(f->secs), FX_PFEC_ENCLS);
	assert_false(epcm_at(f, target).valid);
}

/* ---- EEXTEND ---- */

static void test_eextend_success(void **state)
{
	struct fx *f = *state;
	uint8_t *data = host_of(f, FX_DATA), *tcs = host_of(f, FX_TCS);
	hw_lp_regs(f->lp)->rax = 99;
	assert_success(eextend(f, f->secs, data));
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_EEXTEND);
	assert_success(eextend(f, f->secs, data + 0xf00));
	assert_success(eextend(f, f->secs, tcs + 0x100));
	/* the chunk is measured, not modified */
	assert_string_equal((const char *)data, "page at 0x40003000");
}

static void test_eextend_faults(void **state)
{
	struct fx *f = *state;
	uint8_t *data = host_of(f, FX_DATA), *host = fx_scratch(f, 0);
	/* RBX: 4K-aligned (#GP), then EPC (#PF) */
	assert_gp(eextend(f, f->secs + 0x100, data));
	assert_pf(eextend(f, host, data), fx_addr(host), FX_PFEC_ENCLS);
	/* RBX is checked before RCX */
	assert_gp(eextend(f, f->secs + 8, data + 1));
	assert_pf(eextend(f, host, data + 1), fx_addr(host), FX_PFEC_ENCLS);
	/* RCX: 256-aligned (#GP), then EPC (#PF) */
	assert_gp(eextend(f, f->secs, data + 0x80));
	assert_gp(eextend(f, f->secs, data + 1));
	assert_pf(eextend(f, f->secs, host + 0x100), fx_addr(host + 0x100), FX_PFEC_ENCLS);
	/* RCX page: VALID, then REG/TCS */
	uint8_t *free_frame = fx_frame(f);
	assert_pf(eextend(f, f->secs, free_frame + 0x300), fx_addr(free_frame + 0x300), FX_PFEC_ENCLS);
	assert_pf(eextend(f, f->secs, f->secs + 0x100), fx_addr(f->secs + 0x100), FX_PFEC_ENCLS);
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	assert_pf(eextend(f, f->secs, va), fx_addr(va), FX_PFEC_ENCLS);
	/* RBX must be the page's own SECS: #GP otherwise */
	assert_gp(eextend(f, data, data));
	assert_gp(eextend(f, free_frame, data));
	assert_gp(eextend(f, va, data));
}

static void test_eextend_other_enclave(void **state)
{
	struct fx *f = *state;
	uint8_t *secs_a = f->secs, *data_a = host_of(f, FX_DATA);
	assert_success(fx_ecreate(f, 0x80000000ull, 0x10000, FX_ATTRS));
	uint8_t *secs_b = f->secs;
	assert_success(fx_eadd(f, 0x80000000ull, FX_REG_RW, NULL, false));
	uint8_t *data_b = host_of(f, 0x80000000ull);
	assert_gp(eextend(f, secs_b, data_a));
	assert_gp(eextend(f, secs_a, data_b));
	assert_success(eextend(f, secs_a, data_a));
	assert_success(eextend(f, secs_b, data_b));
}

static void test_eextend_after_einit(void **state)
{
	struct fx *f = *state;
	uint8_t *data = host_of(f, FX_DATA);
	assert_gp(eextend(f, f->secs, data));
	assert_gp(eextend(f, f->secs, host_of(f, FX_TCS)));
	/* EPCM faults come before the initialized check */
	assert_pf(eextend(f, f->secs, f->secs), fx_addr(f->secs), FX_PFEC_ENCLS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eadd_reg, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_tcs, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_operands, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_secinfo, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_epcm_state, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_page_contents, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_tcs_32bit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_elrange_and_init, setup_created, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eadd_after_einit, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eextend_success, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eextend_faults, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eextend_other_enclave, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eextend_after_einit, fx_setup_initialized, fx_teardown),
	};
	return cmocka_run_group_tests_name("EADD/EEXTEND", tests, NULL, NULL);
}
