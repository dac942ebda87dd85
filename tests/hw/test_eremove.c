/*
 * EREMOVE (isa.md §4.5): faults, the VALID = 0 no-op, RC 13 for a SECS with
 * children, RC 14 while an LP is inside the owning enclave, VA pages and
 * accepted TRIM pages freed without that check, and the SECS child count.
 */
#include "common/fixture.h"

#define STD_PAGES 12 /* pages EADDed by fx_build_standard */

static const uint64_t std_pages[STD_PAGES] = {
	FX_TCS, FX_SSA, FX_SSA + 0x1000, FX_DATA, FX_DATA + 0x1000, FX_DATA + 0x2000, FX_DATA + 0x3000,
	FX_DATA + 0x4000, FX_CODE, FX_TCS2, FX_SSA2, FX_SSA2 + 0x1000,
};

static uint8_t *host_of(struct fx *f, uint64_t la)
{
	uint32_t frame = fx_frame_of_la(f, la);
	assert_int_not_equal(frame, HW_NO_FRAME);
	return hw_epc_page(f->m, frame);
}

static struct sgx_result eremove_on(struct hw_lp *lp, const void *page)
{
	return hw_encls(lp, SGX_EREMOVE, 0, fx_addr(page), 0);
}

static struct sgx_result eremove(struct fx *f, const void *page)
{
	return eremove_on(f->lp, page);
}

static struct hw_epcm_entry epcm_at(struct fx *f, const void *page)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(page)), &e));
	return e;
}

/* A removed page's EPCM entry is all zero, with no owner. */
static void assert_epcm_free(struct fx *f, const void *page)
{
	struct hw_epcm_entry e = epcm_at(f, page);
	struct hw_epcm_entry zero = { .secs = HW_NO_FRAME };
	assert_memory_equal(&e, &zero, sizeof(e));
}

static void assert_flags(struct hw_lp *lp, uint64_t rax, bool zf)
{
	struct hw_regs *regs = hw_lp_regs(lp);
	assert_int_equal(regs->rax, rax);
	assert_int_equal(!!(regs->rflags & HW_RFLAGS_ZF), zf);
	assert_false(regs->rflags & HW_RFLAGS_CF);
}

static void test_alignment_and_non_epc(void **state)
{
	struct fx *f = *state;
	uint8_t *page = host_of(f, FX_DATA);
	assert_gp(eremove(f, page + 8));
	assert_gp(eremove(f, page + 0x800));
	assert_true(epcm_at(f, page).valid);
	uint8_t *host = fx_scratch(f, 0);
	assert_pf(eremove(f, host), fx_addr(host), FX_PFEC_ENCLS);
	/* alignment is checked before EPC membership */
	assert_gp(eremove(f, host + 16));
}

static void test_invalid_page_is_noop(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	hw_lp_regs(f->lp)->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF;
	assert_success(eremove(f, frame));
	assert_flags(f->lp, 0, false);
	assert_epcm_free(f, frame);
	/* removing twice: the second EREMOVE finds VALID = 0 */
	uint8_t *page = host_of(f, FX_DATA);
	assert_success(eremove(f, page));
	assert_success(eremove(f, page));
	assert_epcm_free(f, page);
}

/* Uninitialized enclave: REG and TCS pages go without further checks. */
static void test_child_pages_freed(void **state)
{
	struct fx *f = *state;
	uint8_t *reg = host_of(f, FX_CODE), *tcs = host_of(f, FX_TCS);
	assert_true(epcm_at(f, reg).valid);
	assert_success(eremove(f, reg));
	assert_epcm_free(f, reg);
	assert_success(eremove(f, tcs));
	assert_epcm_free(f, tcs);
	assert_flags(f->lp, 0, false);
}

/* RC 13 while any child is resident: the count is exact, and reaching zero
 * frees the SECS and its hidden state; the frame can then hold a new SECS. */
static void test_secs_child_present(void **state)
{
	struct fx *f = *state;
	uint8_t *secs = f->secs;
	uint32_t secs_frame = hw_epc_frame_of(f->m, fx_addr(secs));
	uint64_t eid = 0;
	assert_true(hw_secs_info(f->m, secs_frame, &eid, NULL, NULL, NULL));

	/* two EAUG'd pages count as children too */
	assert_success(fx_eaug(f, FX_HEAP));
	assert_success(fx_eaug(f, FX_HEAP + 0x1000));
	uint8_t *aug0 = host_of(f, FX_HEAP), *aug1 = host_of(f, FX_HEAP + 0x1000);

	assert_rc(eremove(f, secs), SGX_CHILD_PRESENT);
	assert_flags(f->lp, SGX_CHILD_PRESENT, true);
	for (unsigned i = 0; i < STD_PAGES; i++) {
		assert_success(eremove(f, host_of(f, std_pages[i])));
		assert_rc(eremove(f, secs), SGX_CHILD_PRESENT);
	}
	assert_success(eremove(f, aug0));
	assert_rc(eremove(f, secs), SGX_CHILD_PRESENT);
	/* a repeated EREMOVE of a free page must not decrement the count again */
	assert_success(eremove(f, aug0));
	assert_rc(eremove(f, secs), SGX_CHILD_PRESENT);
	assert_true(epcm_at(f, secs).valid);
	assert_true(hw_secs_info(f->m, secs_frame, NULL, NULL, NULL, NULL));

	assert_success(eremove(f, aug1));
	assert_success(eremove(f, secs));
	assert_flags(f->lp, 0, false);
	assert_epcm_free(f, secs);
	assert_false(hw_secs_info(f->m, secs_frame, NULL, NULL, NULL, NULL));

	/* ECREATE into the same frame: a fresh enclave with a new EID */
	static struct sgx_secinfo si;
	static struct sgx_pageinfo pi;
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_SECS) };
	memcpy(fx_scratch(f, 1), &f->secs_src, sizeof(f->secs_src));
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(fx_scratch(f, 1)), .secinfo = fx_addr(&si) };
	assert_success(hw_encls(f->lp, SGX_ECREATE, fx_addr(&pi), fx_addr(secs), 0));
	uint64_t eid2 = 0;
	assert_true(hw_secs_info(f->m, secs_frame, &eid2, NULL, NULL, NULL));
	assert_int_not_equal(eid2, eid);
}

/* An uninitialized enclave's SECS with no children at all. */
static void test_empty_secs_freed(void **state)
{
	struct fx *f = *state;
	assert_success(fx_ecreate(f, FX_BASE, FX_SIZE, FX_ATTRS));
	assert_success(eremove(f, f->secs));
	assert_epcm_free(f, f->secs);
}

/* RC 14 while an LP is inside; the page is untouched; fine after EEXIT. */
static void test_enclave_active(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	uint8_t *data = host_of(f, FX_DATA), *tcs2 = host_of(f, FX_TCS2);
	struct hw_epcm_entry before = epcm_at(f, data);
	assert_success(fx_enter(f, f->lp, FX_TCS));

	assert_rc(eremove_on(lp1, data), SGX_ENCLAVE_ACT);
	assert_flags(lp1, SGX_ENCLAVE_ACT, true);
	struct hw_epcm_entry after = epcm_at(f, data);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_rc(eremove_on(lp1, tcs2), SGX_ENCLAVE_ACT);
	/* the SECS has children: RC 13 wins over the LP inside */
	assert_rc(eremove_on(lp1, f->secs), SGX_CHILD_PRESENT);
	/* a free page is still a no-op */
	assert_success(eremove_on(lp1, fx_frame(f)));

	assert_success(fx_exit(f, f->lp));
	assert_success(eremove_on(lp1, data));
	assert_epcm_free(f, data);
	assert_success(eremove_on(lp1, tcs2));
}

/* An LP inside one enclave does not stop EREMOVE in another. */
static void test_enclave_active_is_per_enclave(void **state)
{
	struct fx *f = *state;
	static struct sgx_secs src __attribute__((aligned(4096)));
	static struct sgx_secinfo si;
	static struct sgx_pageinfo pi;
	static uint8_t zero[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	uint64_t base_b = 0x80000000ull;
	src = (struct sgx_secs){ .base = base_b, .size = 0x10000, .ssa_frame_size = 1 };
	src.attributes.flags = SGX_ATTR_MODE64BIT;
	src.attributes.xfrm = 3;
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_SECS) };
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(&src), .secinfo = fx_addr(&si) };
	uint8_t *secs_b = fx_frame(f), *page_b = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_ECREATE, fx_addr(&pi), fx_addr(secs_b), 0));
	si.flags = FX_REG_RW;
	pi = (struct sgx_pageinfo){ .linaddr = base_b, .srcpge = fx_addr(zero), .secinfo = fx_addr(&si),
				    .secs = fx_addr(secs_b) };
	assert_success(hw_encls(f->lp, SGX_EADD, fx_addr(&pi), fx_addr(page_b), 0));

	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rc(eremove_on(lp1, host_of(f, FX_DATA)), SGX_ENCLAVE_ACT);
	assert_success(eremove_on(lp1, page_b));
	assert_success(eremove_on(lp1, secs_b));
	assert_epcm_free(f, secs_b);
}

/* PENDING (EAUG'd, not accepted) pages are removable, under the same rule. */
static void test_pending_page(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	assert_success(fx_eaug(f, FX_HEAP));
	uint8_t *page = host_of(f, FX_HEAP);
	assert_true(epcm_at(f, page).pending);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_rc(eremove_on(lp1, page), SGX_ENCLAVE_ACT);
	assert_success(fx_exit(f, f->lp));
	assert_success(eremove_on(lp1, page));
	assert_epcm_free(f, page);
}

/* A removed page is gone for the enclave: the next access is an EPCM #PF. */
static void test_removed_page_faults(void **state)
{
	struct fx *f = *state;
	uint64_t la = FX_DATA + 0x1000;
	assert_success(eremove(f, host_of(f, la)));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint64_t v;
	struct sgx_result r = hw_lp_read(f->lp, la + 0x18, &v, sizeof(v));
	assert_true(r.aex);
	assert_pf(r, la, SGX_PFEC_SGX | SGX_PFEC_U | SGX_PFEC_P);
}

static struct sgx_result emodt(struct fx *f, uint64_t la, uint64_t flags)
{
	static struct sgx_secinfo si;
	si = (struct sgx_secinfo){ .flags = flags };
	return hw_encls(hw_lp_get(f->m, 1), SGX_EMODT, fx_addr(&si), fx_addr(host_of(f, la)), 0);
}

/*
 * TRIM: an unaccepted one (MODIFIED = 1) is an ordinary child and waits for
 * the LPs to leave; an accepted one is freed even with an LP inside
 * (isa.md §4.5 decision; the Linux SGX_IOC_ENCLAVE_REMOVE_PAGES flow).
 */
static void test_trim_pages(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	uint64_t trim = SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED;
	uint8_t *a = host_of(f, FX_DATA + 0x3000), *b = host_of(f, FX_DATA + 0x4000);
	assert_success(emodt(f, FX_DATA + 0x3000, SGX_SECINFO_PT(SGX_PT_TRIM)));
	assert_success(emodt(f, FX_DATA + 0x4000, SGX_SECINFO_PT(SGX_PT_TRIM)));
	assert_success(hw_encls(lp1, SGX_ETRACK, 0, fx_addr(f->secs), 0));

	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_eaccept(f, f->lp, FX_DATA + 0x3000, trim));
	struct hw_epcm_entry e = epcm_at(f, a);
	assert_true(e.valid && !e.modified);
	assert_int_equal(e.pt, SGX_PT_TRIM);
	assert_true(epcm_at(f, b).modified);

	assert_success(eremove_on(lp1, a));
	assert_epcm_free(f, a);
	assert_rc(eremove_on(lp1, b), SGX_ENCLAVE_ACT);
	assert_true(epcm_at(f, b).valid);
	assert_success(fx_exit(f, f->lp));
	assert_success(eremove_on(lp1, b));
	assert_epcm_free(f, b);
}

/* VA pages belong to no enclave: freed even while LPs run enclaves. */
static void test_va_page(void **state)
{
	struct fx *f = *state;
	struct hw_lp *lp1 = hw_lp_get(f->m, 1);
	uint8_t *va = fx_frame(f);
	assert_success(hw_encls(lp1, SGX_EPA, SGX_PT_VA, fx_addr(va), 0));
	struct hw_epcm_entry e = epcm_at(f, va);
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_VA);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(eremove_on(lp1, va));
	assert_flags(lp1, 0, false);
	assert_epcm_free(f, va);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alignment_and_non_epc, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_page_is_noop, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_child_pages_freed, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_secs_child_present, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_empty_secs_freed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enclave_active, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enclave_active_is_per_enclave, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending_page, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_removed_page_faults, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_trim_pages, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_va_page, fx_setup_initialized, fx_teardown),
	};
	return cmocka_run_group_tests_name("EREMOVE", tests, NULL, NULL);
}
