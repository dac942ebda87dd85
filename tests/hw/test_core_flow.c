/*
 * The core chain end to end: ECREATE, EADD, EEXTEND, EINIT, EENTER, enclave
 * accesses, EAUG, EACCEPT, EEXIT.  Leaf-by-leaf edge cases live in the
 * per-leaf test files.
 */
#include "common/fixture.h"

static void test_einit_commits_measurement(void **state)
{
	struct fx *f = *state;
	const struct sgx_secs *secs = (const struct sgx_secs *)f->secs;
	bool init = false;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(f->secs)), NULL, &init, NULL, NULL));
	assert_true(init);
	assert_memory_equal(secs->mrenclave, f->mrenclave, 32);
	assert_int_equal(secs->isv_prod_id, 0x1234);
	assert_int_equal(secs->isv_svn, 7);
	assert_true(secs->attributes.flags & SGX_ATTR_INIT);
}

static void test_enter_read_write_exit(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	regs->rsp = 0x7ff000;
	regs->rbp = 0x7ff100;
	struct sgx_result r = fx_enter(f, f->lp, FX_TCS);
	assert_success(r);
	assert_true(hw_lp_in_enclave(f->lp));
	assert_int_equal(regs->rip, FX_CODE);
	assert_int_equal(regs->rcx, FX_RETURN);
	assert_int_equal(regs->rax, 0); /* CSSA */
	assert_int_equal(regs->fsbase, FX_BASE);

	char buf[32] = { 0 };
	assert_success(hw_lp_read(f->lp, FX_DATA, buf, sizeof(buf)));
	assert_string_equal(buf, "page at 0x40003000");
	uint64_t v = 0x1122334455667788ull, back = 0;
	assert_success(hw_lp_write(f->lp, FX_DATA + 0x100, &v, sizeof(v)));
	assert_success(hw_lp_read(f->lp, FX_DATA + 0x100, &back, sizeof(back)));
	assert_int_equal(back, v);

	/* code page: the PTE (R-X) refuses a write first, an ordinary #PF */
	r = hw_lp_write(f->lp, FX_CODE, &v, sizeof(v));
	assert_true(r.aex);
	assert_pf(r, FX_CODE, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_int_equal(regs->rax, SGX_ERESUME);

	/* with a writable PTE the EPCM (R-X) refuses it: bit 15 */
	assert_int_equal(hw_pt_protect(f->pt, FX_CODE, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_int_equal(regs->rax, 1); /* CSSA after one AEX */
	r = hw_lp_write(f->lp, FX_CODE, &v, sizeof(v));
	assert_true(r.aex);
	assert_pf(r, FX_CODE, SGX_PFEC_SGX | SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_false(hw_lp_in_enclave(f->lp));
	assert_int_equal(regs->rip, FX_AEP);
	assert_int_equal(regs->rax, SGX_ERESUME);
	assert_int_equal(regs->rbx, FX_TCS);
	assert_int_equal(regs->rsp, 0x7ff000);
	assert_int_equal(regs->rbp, 0x7ff100);
}

static void test_eaug_eaccept(void **state)
{
	struct fx *f = *state;
	uint64_t la = FX_HEAP;
	assert_success(fx_eaug(f, la));
	struct hw_epcm_entry e = fx_epcm(f, la);
	assert_true(e.valid && e.pending && e.r && e.w && !e.x);
	assert_int_equal(e.pt, SGX_PT_REG);

	assert_success(fx_enter(f, f->lp, FX_TCS));
	struct sgx_result r = fx_eaccept(f, f->lp, la, FX_REG_RW | SGX_SECINFO_PENDING);
	assert_success(r);
	e = fx_epcm(f, la);
	assert_false(e.pending);
	uint32_t v = 42, back = 0;
	assert_success(hw_lp_write(f->lp, la, &v, sizeof(v)));
	assert_success(hw_lp_read(f->lp, la, &back, sizeof(back)));
	assert_int_equal(back, 42);
	assert_success(fx_exit(f, f->lp));
	assert_false(hw_lp_in_enclave(f->lp));
	assert_int_equal(hw_lp_regs(f->lp)->rip, FX_RETURN);
	assert_int_equal(hw_lp_regs(f->lp)->rcx, FX_AEP);
}

static void test_pending_page_faults_0x8007(void **state)
{
	struct fx *f = *state;
	assert_success(fx_eaug(f, FX_HEAP));
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint32_t v = 1;
	struct sgx_result r = hw_lp_write(f->lp, FX_HEAP + 8, &v, sizeof(v));
	assert_true(r.aex);
	/* the OS sees CR2 page-masked; EXINFO has the full address */
	assert_pf(r, FX_HEAP, 0x8007);
	const struct sgx_exinfo *exinfo =
		(const struct sgx_exinfo *)(hw_epc_page(f->m, fx_frame_of_la(f, FX_SSA)) + SGX_PAGE_SIZE -
					    sizeof(struct sgx_gprsgx) - sizeof(struct sgx_exinfo));
	assert_int_equal(exinfo->maddr, FX_HEAP + 8);
	assert_int_equal(exinfo->errcd, 0x8007);
}

/* Outside ELRANGE an enclave may read and write normal memory but not fetch
 * from it (#GP), also when a data access has already put the page in the TLB. */
static void test_fetch_outside_elrange_after_read(void **state)
{
	struct fx *f = *state;
	uint8_t *host = fx_scratch(f, 3);
	uint64_t la = 0x7000000;
	assert_int_equal(hw_pt_map(f->pt, la, host, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	host[5] = 0x5a;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint8_t *p;
	assert_success(hw_lp_access(f->lp, la + 5, HW_READ, &p));
	assert_int_equal(*p, 0x5a);
	struct sgx_result r = hw_lp_access(f->lp, la + 5, HW_FETCH, &p);
	assert_gp(r);
	assert_true(r.aex);
}

/* EDBGRD's data comes back in the result, so kernel code sharing an LP
 * between host threads need not read the LP's RBX after the lock is gone. */
static void test_edbgrd_data_in_result(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = hw_epc_page(f->m, fx_frame_of_la(f, FX_DATA));
	uint64_t want;
	memcpy(&want, frame + 8, 8);
	struct sgx_result r = hw_encls(f->lp, SGX_EDBGRD, 0, fx_addr(frame + 8), 0);
	assert_success(r);
	assert_int_equal(r.rbx, want);
	assert_int_equal(hw_lp_regs(f->lp)->rbx, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_einit_commits_measurement, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enter_read_write_exit, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_eaug_eaccept, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending_page_faults_0x8007, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fetch_outside_elrange_after_read, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_edbgrd_data_in_result, fx_setup_initialized, fx_teardown),
	};
	return cmocka_run_group_tests_name("core flow", tests, NULL, NULL);
}
