/* Inspection: EPCM formatting and the explanation of an outcome. */
#include "common/fixture.h"

static void test_epcm_format_lines(void **state)
{
	struct fx *f = *state;
	char buf[256];
	assert_success(fx_eaug(f, FX_HEAP));
	hw_epcm_format(f->m, fx_frame_of_la(f, FX_HEAP), buf, sizeof(buf));
	uint32_t secs_frame = hw_epc_frame_of(f->m, fx_addr(f->secs));
	char want[256];
	snprintf(want, sizeof(want), "frame %5u: REG  rw- PENDING addr=0x40010000 secs=%u (eid 1) bepoch=0",
		 fx_frame_of_la(f, FX_HEAP), secs_frame);
	assert_string_equal(buf, want);

	hw_epcm_format(f->m, fx_frame_of_la(f, FX_TCS), buf, sizeof(buf));
	snprintf(want, sizeof(want), "frame %5u: TCS  --- addr=0x40000000 secs=%u (eid 1) bepoch=0",
		 fx_frame_of_la(f, FX_TCS), secs_frame);
	assert_string_equal(buf, want);

	hw_epcm_format(f->m, secs_frame, buf, sizeof(buf));
	snprintf(want, sizeof(want), "frame %5u: SECS --- addr=0 eid 1 initialized epoch 0 bepoch=0", secs_frame);
	assert_string_equal(buf, want);

	hw_epcm_format(f->m, hw_epc_frames(f->m) - 1, buf, sizeof(buf));
	snprintf(want, sizeof(want), "frame %5u: free", hw_epc_frames(f->m) - 1);
	assert_string_equal(buf, want);
	hw_epcm_format(f->m, hw_epc_frames(f->m), buf, sizeof(buf));
	snprintf(want, sizeof(want), "frame %u: not an EPC frame", hw_epc_frames(f->m));
	assert_string_equal(buf, want);
}

static void test_explain_eaccept_mismatch(void **state)
{
	struct fx *f = *state;
	char buf[512];
	assert_success(fx_eaug(f, FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	/* accepting an EAUG'd page as read-only: the SECINFO does not describe it */
	struct sgx_result r = fx_eaccept(f, f->lp, FX_HEAP, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R |
							      SGX_SECINFO_PENDING);
	assert_rc(r, SGX_PAGE_ATTRIBUTES_MISMATCH);
	hw_explain(f->lp, r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "EACCEPT: RC 19 SGX_PAGE_ATTRIBUTES_MISMATCH, returned at eaccept.c:"));
	assert_string_equal(hw_lp_why(f->lp)->what, "EACCEPT");
}

static void test_explain_access_fault(void **state)
{
	struct fx *f = *state;
	char buf[512];
	assert_success(fx_eaug(f, FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint8_t *host;
	struct sgx_result r = hw_lp_access(f->lp, FX_HEAP + 0x10, HW_READ, &host);
	assert_pf(r, FX_HEAP, 0x8005);
	hw_explain(f->lp, r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "read access: #PF(0x40010000, error code 0x8005 SGX) (AEX), because this check "
				    "failed at access.c:"));
	assert_non_null(strstr(buf, ": !EPCM.PENDING"));
}

static void test_explain_leaf_gp(void **state)
{
	struct fx *f = *state;
	char buf[512];
	/* EAUG with an unaligned target: the first check of the leaf decides */
	struct sgx_pageinfo pi __attribute__((aligned(32))) = { .linaddr = FX_HEAP, .secs = fx_addr(f->secs) };
	struct sgx_result r = hw_encls(f->lp, SGX_EAUG, fx_addr(&pi), fx_addr(fx_frame(f)) + 8, 0);
	assert_gp(r);
	hw_explain(f->lp, r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "EAUG: #GP(0), because this check failed at eaug.c:"));
	assert_non_null(strstr(buf, ": aligned(rcx, SGX_PAGE_SIZE)"));

	r = hw_encls(f->lp, SGX_EAUG, fx_addr(&pi), fx_addr(fx_frame(f)), 0);
	assert_success(r);
	assert_null(hw_lp_why(f->lp)->check);
	hw_explain(f->lp, r, buf, sizeof(buf));
	assert_string_equal(buf, "EAUG: ok");
}

static void test_result_format(void **state)
{
	(void)state;
	char buf[128];
	hw_result_format((struct sgx_result){ .vector = SGX_VEC_NONE }, buf, sizeof(buf));
	assert_string_equal(buf, "ok");
	hw_result_format((struct sgx_result){ .vector = SGX_VEC_NONE, .rax = 11, .zf = true }, buf, sizeof(buf));
	assert_string_equal(buf, "RC 11 SGX_NOT_TRACKED");
	hw_result_format((struct sgx_result){ .vector = SGX_VEC_NONE, .rax = 12, .cf = true }, buf, sizeof(buf));
	assert_string_equal(buf, "info 12 SGX_VA_SLOT_OCCUPIED");
	hw_result_format((struct sgx_result){ .vector = SGX_VEC_GP }, buf, sizeof(buf));
	assert_string_equal(buf, "#GP(0)");
	hw_result_format((struct sgx_result){ .vector = SGX_VEC_PF, .address = 0x1000, .error_code = 0x6 }, buf,
			 sizeof(buf));
	assert_string_equal(buf, "#PF(0x1000, error code 0x6)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_epcm_format_lines, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_explain_eaccept_mismatch, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_explain_access_fault, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_explain_leaf_gp, fx_setup_initialized, fx_teardown),
		cmocka_unit_test(test_result_format),
	};
	return cmocka_run_group_tests_name("inspection", tests, NULL, NULL);
}
