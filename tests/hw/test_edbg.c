/*
 * EDBGRD / EDBGWR (isa.md §4.7): data through RBX, 8-byte alignment, page
 * type and EPCM state checks in SDM order, RC 21 for PENDING / MODIFIED
 * pages, #GP for non-debug enclaves, TCS limits, VA slot semantics.
 */
#include "common/fixture.h"

static uint8_t *host_of(struct fx *f, uint64_t la)
{
	uint32_t frame = fx_frame_of_la(f, la);
	assert_int_not_equal(frame, HW_NO_FRAME);
	return hw_epc_page(f->m, frame);
}

/* EDBGRD on lp with a junk RBX: the leaf's output must replace it. */
static struct sgx_result rd_on(struct hw_lp *lp, const void *p)
{
	return hw_encls(lp, SGX_EDBGRD, 0x5a5a5a5a5a5a5a5aull, fx_addr(p), 0);
}

static struct sgx_result rd(struct fx *f, const void *p)
{
	return rd_on(f->lp, p);
}

static struct sgx_result wr(struct fx *f, const void *p, uint64_t value)
{
	return hw_encls(f->lp, SGX_EDBGWR, value, fx_addr(p), 0);
}

static uint64_t rbx(struct fx *f)
{
	return hw_lp_regs(f->lp)->rbx;
}

/* A second, non-debug enclave: one TCS and two REG pages, initialized. */
#define ND_BASE 0x80000000ull
static void build_non_debug(struct fx *f)
{
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	assert_success(fx_ecreate(f, ND_BASE, 0x10000, SGX_ATTR_MODE64BIT));
	memset(page, 0, sizeof(page));
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	tcs->ossa = 0x1000;
	tcs->nssa = 1;
	assert_success(fx_eadd(f, ND_BASE, FX_TCS_FLAGS, page, true));
	memset(page, 0x11, sizeof(page));
	assert_success(fx_eadd(f, ND_BASE + 0x1000, FX_REG_RW, page, true));
	assert_success(fx_eadd(f, ND_BASE + 0x2000, FX_REG_RW, page, true));
	assert_success(fx_einit(f));
}

static void test_faults(void **state)
{
	struct fx *f = *state;
	uint8_t *data = host_of(f, FX_DATA);
	/* 64-bit mode: 8-byte alignment, checked before EPC membership */
	assert_gp(rd(f, data + 4));
	assert_gp(wr(f, data + 1, 0));
	uint8_t *host = fx_scratch(f, 0);
	assert_gp(rd(f, host + 4));
	assert_pf(rd(f, host), fx_addr(host), FX_PFEC_ENCLS);
	assert_pf(wr(f, host + 8, 0), fx_addr(host + 8), FX_PFEC_ENCLS);
	/* a free EPC page */
	uint8_t *free_page = fx_frame(f);
	assert_pf(rd(f, free_page + 0x10), fx_addr(free_page + 0x10), FX_PFEC_ENCLS);
	assert_pf(wr(f, free_page, 1), fx_addr(free_page), FX_PFEC_ENCLS);
	/* faults leave RBX as the caller set it */
	assert_int_equal(rbx(f), 1);
}

/* Decision (edbgrd.c): a SECS is not readable or writable, #PF(RCX). */
static void test_secs_refused(void **state)
{
	struct fx *f = *state;
	assert_pf(rd(f, f->secs), fx_addr(f->secs), FX_PFEC_ENCLS);
	assert_pf(rd(f, f->secs + 48), fx_addr(f->secs + 48), FX_PFEC_ENCLS);
	assert_pf(wr(f, f->secs + 48, 0), fx_addr(f->secs + 48), FX_PFEC_ENCLS);
	assert_int_equal(((struct sgx_secs *)f->secs)->attributes.flags, FX_ATTRS | SGX_ATTR_INIT);
}

static void test_read_write_reg(void **state)
{
	struct fx *f = *state;
	uint8_t *data = host_of(f, FX_DATA), *code = host_of(f, FX_CODE);
	uint64_t expect;
	memcpy(&expect, "page at ", 8);
	hw_lp_regs(f->lp)->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF;
	struct sgx_result r = rd(f, data);
	assert_success(r);
	assert_int_equal(r.rax, 0);
	assert_int_equal(rbx(f), expect);
	assert_int_equal(hw_lp_regs(f->lp)->rax, 0);
	assert_false(hw_lp_regs(f->lp)->rflags & (HW_RFLAGS_ZF | HW_RFLAGS_CF));

	assert_success(wr(f, data + 0x200, 0x0123456789abcdefull));
	assert_success(rd(f, data + 0x200));
	assert_int_equal(rbx(f), 0x0123456789abcdefull);
	/* only those eight bytes were written */
	assert_success(rd(f, data + 0x208));
	assert_int_equal(rbx(f), 0);
	/* EPCM rights are not consulted: the R-X code page takes a write */
	assert_success(rd(f, code + 0xff8));
	assert_int_equal(rbx(f), 0xc3c3c3c3c3c3c3c3ull);
	assert_success(wr(f, code + 0xff8, 0xcc));
	/* the enclave sees the debugger's writes */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint64_t v = 0;
	assert_success(hw_lp_read(f->lp, FX_DATA + 0x200, &v, sizeof(v)));
	assert_int_equal(v, 0x0123456789abcdefull);
	assert_success(hw_lp_read(f->lp, FX_CODE + 0xff8, &v, sizeof(v)));
	assert_int_equal(v, 0xcc);
	assert_success(fx_exit(f, f->lp));
}

/* Before EINIT the pages are just as readable and writable. */
static void test_uninitialized_enclave(void **state)
{
	struct fx *f = *state;
	uint8_t *ssa = host_of(f, FX_SSA);
	assert_success(wr(f, ssa + 0x100, 42));
	assert_success(rd(f, ssa + 0x100));
	assert_int_equal(rbx(f), 42);
}

/* BLOCKED is not one of the conditions: a blocked page is still debuggable. */
static void test_blocked_page(void **state)
{
	struct fx *f = *state;
	uint8_t *data = host_of(f, FX_DATA + 0x1000);
	assert_success(hw_encls(f->lp, SGX_EBLOCK, 0, fx_addr(data), 0));
	assert_true(fx_epcm(f, FX_DATA + 0x1000).blocked);
	assert_success(wr(f, data + 8, 7));
	assert_success(rd(f, data + 8));
	assert_int_equal(rbx(f), 7);
}

/* PENDING and MODIFIED → RC 21 with ZF, RBX untouched; checked after the
 * page type and before the enclave's DEBUG attribute. */
static void test_not_debuggable(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug(f, FX_HEAP));
	uint8_t *pending = host_of(f, FX_HEAP);
	struct sgx_result r = rd(f, pending);
	assert_rc(r, SGX_PAGE_NOT_DEBUGGABLE);
	assert_int_equal(rbx(f), 0x5a5a5a5a5a5a5a5aull);
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_PAGE_NOT_DEBUGGABLE);
	assert_true(hw_lp_regs(f->lp)->rflags & HW_RFLAGS_ZF);
	assert_rc(wr(f, pending, 9), SGX_PAGE_NOT_DEBUGGABLE);
	uint64_t v;
	memcpy(&v, pending, sizeof(v));
	assert_int_equal(v, 0);

	/* MODIFIED: a REG page being turned into a TCS */
	static struct sgx_secinfo si;
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_TCS) };
	uint8_t *page = host_of(f, FX_DATA + 0x2000);
	assert_success(hw_encls(f->lp, SGX_EMODT, fx_addr(&si), fx_addr(page), 0));
	assert_rc(rd(f, page), SGX_PAGE_NOT_DEBUGGABLE);
	assert_rc(wr(f, page + 8, 1), SGX_PAGE_NOT_DEBUGGABLE);

	/* MODIFIED TRIM: the type check comes first, #PF */
	si.flags = SGX_SECINFO_PT(SGX_PT_TRIM);
	page = host_of(f, FX_DATA + 0x3000);
	assert_success(hw_encls(f->lp, SGX_EMODT, fx_addr(&si), fx_addr(page), 0));
	assert_pf(rd(f, page), fx_addr(page), FX_PFEC_ENCLS);
	assert_pf(wr(f, page, 1), fx_addr(page), FX_PFEC_ENCLS);
}

/* An accepted TRIM page is still not a REG/TCS page: #PF. */
static void test_trim_refused(void **state)
{
	struct fx *f = *state;
	static struct sgx_secinfo si;
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_TRIM) };
	uint8_t *page = host_of(f, FX_DATA + 0x4000);
	assert_success(hw_encls(f->lp, SGX_EMODT, fx_addr(&si), fx_addr(page), 0));
	assert_success(hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(f->secs), 0));
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	assert_success(fx_enter(f, lp1, FX_TCS));
	assert_success(fx_eaccept(f, lp1, FX_DATA + 0x4000, SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED));
	assert_false(fx_epcm(f, FX_DATA + 0x4000).modified);
	assert_pf(rd(f, page), fx_addr(page), FX_PFEC_ENCLS);
	assert_pf(wr(f, page, 1), fx_addr(page), FX_PFEC_ENCLS);
}

/* TCS: EDBGRD below SGX_TCS_LIMIT (72); EDBGWR only at FLAGS (offset 8). */
static void test_tcs(void **state)
{
	struct fx *f = *state;
	uint8_t *tcs = host_of(f, FX_TCS);
	assert_success(rd(f, tcs + 16));
	assert_int_equal(rbx(f), FX_SSA - FX_BASE); /* OSSA */
	assert_success(rd(f, tcs + 24));
	assert_int_equal(rbx(f), 2ull << 32);       /* CSSA 0, NSSA 2 */
	assert_success(rd(f, tcs + 32));
	assert_int_equal(rbx(f), FX_CODE - FX_BASE); /* OENTRY */
	assert_success(rd(f, tcs + 64));            /* FSLIMIT/GSLIMIT, the last field */
	assert_gp(rd(f, tcs + 72));
	assert_gp(rd(f, tcs + 0xff8));

	assert_success(wr(f, tcs + 8, SGX_TCS_DBGOPTIN));
	assert_success(rd(f, tcs + 8));
	assert_int_equal(rbx(f), SGX_TCS_DBGOPTIN);
	assert_int_equal(((struct sgx_tcs *)tcs)->flags, SGX_TCS_DBGOPTIN);
	uint64_t before[9];
	memcpy(before, tcs, sizeof(before));
	assert_gp(wr(f, tcs, 1));          /* STATE */
	assert_gp(wr(f, tcs + 16, 0));     /* OSSA */
	assert_gp(wr(f, tcs + 24, 5));     /* CSSA/NSSA */
	assert_gp(wr(f, tcs + 40, 1));     /* AEP */
	assert_gp(wr(f, tcs + 72, 1));     /* reserved */
	assert_gp(wr(f, tcs + 0xff8, 1));
	assert_memory_equal(before, tcs, sizeof(before));
	static const uint8_t zero[SGX_PAGE_SIZE - 72];
	assert_memory_equal(tcs + 72, zero, sizeof(zero));
}

/* A non-debug enclave refuses both leaves with #GP, on REG and TCS pages;
 * RC 21 for a PENDING page comes before that check. */
static void test_non_debug_enclave(void **state)
{
	struct fx *f = *state;
	build_non_debug(f);
	uint8_t *reg = host_of(f, ND_BASE + 0x1000), *tcs = host_of(f, ND_BASE);
	assert_gp(rd(f, reg));
	assert_int_equal(rbx(f), 0x5a5a5a5a5a5a5a5aull);
	assert_gp(wr(f, reg, 0));
	uint64_t v;
	memcpy(&v, reg, sizeof(v));
	assert_int_equal(v, 0x1111111111111111ull);
	assert_gp(rd(f, tcs + 16));
	assert_gp(wr(f, tcs + 8, 1));
	assert_success(fx_eaug(f, ND_BASE + 0x3000));
	assert_rc(rd(f, host_of(f, ND_BASE + 0x3000)), SGX_PAGE_NOT_DEBUGGABLE);
	assert_rc(wr(f, host_of(f, ND_BASE + 0x3000), 0), SGX_PAGE_NOT_DEBUGGABLE);
}

/* VA slots read as 0 when empty and all-ones when they hold a version (the
 * version itself stays secret); no enclave, so no DEBUG check; never
 * writable. */
static void test_va_page(void **state)
{
	struct fx *f = *state;
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	assert_success(rd(f, va + 16));
	assert_int_equal(rbx(f), 0);

	/* evict a page of the non-debug enclave into slot 2 */
	build_non_debug(f);
	uint8_t *page = host_of(f, ND_BASE + 0x2000);
	static struct sgx_pcmd pcmd;
	static struct sgx_pageinfo pi;
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(fx_scratch(f, 2)), .secinfo = fx_addr(&pcmd) };
	assert_success(hw_encls(f->lp, SGX_EBLOCK, 0, fx_addr(page), 0));
	assert_success(hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(f->secs), 0));
	assert_success(hw_encls(f->lp, SGX_EWB, fx_addr(&pi), fx_addr(page), fx_addr(va + 16)));
	uint64_t slot;
	memcpy(&slot, va + 16, sizeof(slot));
	assert_int_not_equal(slot, 0);
	assert_int_not_equal(slot, ~0ull);
	assert_success(rd(f, va + 16));
	assert_int_equal(rbx(f), ~0ull);
	assert_success(rd(f, va + 8));
	assert_int_equal(rbx(f), 0);
	assert_success(rd(f, va + 24));
	assert_int_equal(rbx(f), 0);

	assert_pf(wr(f, va + 16, 0), fx_addr(va + 16), FX_PFEC_ENCLS);
	memcpy(&slot, va + 16, sizeof(slot));
	assert_int_not_equal(slot, 0);
	assert_gp(rd(f, va + 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_faults, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_secs_refused, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_write_reg, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_uninitialized_enclave, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blocked_page, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_not_debuggable, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_trim_refused, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tcs, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_non_debug_enclave, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_va_page, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("EDBGRD/EDBGWR", tests, NULL, NULL);
}
