/*
 * The Intel EMM's flows (ema.c, runtimes-and-peers.md §4.3) written with its
 * five entry points against sgx2emu in model mode: the enclave's small EMM
 * (emm_fx.c) makes the primitives and OCALLs, the host answers through
 * sgx2emu_emm_user_handler.  Commit now (both orders), commit on demand
 * through the fault, permission changes with EMODPE / EACCEPT, to TCS and
 * entering through it, trim + remove by runs, dealloc, commit_data; each
 * with the exact system calls and the EPCM / VMA / PTE after it.
 */
#include "runtime/emm_fx.h"

/* ---- the EMM's flows through the five entry points ---- */

/* COMMIT_NOW: the OCALL maps, each EACCEPT faults, the kernel EAUGs, the
 * EACCEPT is retried and returns 0; from the top page down, or from the
 * bottom up with GROWSDOWN (the frames the EAUGs took tell the order). */
static void flow_commit_now(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	assert_int_equal(ecall(t, OP_ALLOC, hole(t, 0), 3 * PAGE, NOW, 0, 0), 0);
	EXPECT_SYS(t, MMAP_RW(hole(t, 0), 3 * PAGE));
	assert_int_equal(t->bells, 2);
	assert_int_equal(call.nr_leaves, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(call.leaf_order[i], hole(t, 2 - i));
		assert_int_equal(call.leaf_ret[i], 0);
		expect_epcm(t, hole(t, i), SGX_PT_REG, RW, false, false, false);
		expect_pte(t, hole(t, i), PROT_READ | PROT_WRITE);
	}
	uint32_t f0 = page_of(t, hole(t, 0))->epc_frame, f2 = page_of(t, hole(t, 2))->epc_frame;
	assert_int_not_equal(f0, f2);

	assert_int_equal(ecall(t, OP_ALLOC, hole(t, 4), 3 * PAGE, NOW | SGX2EMU_EMA_GROWSDOWN, 0, 0), 0);
	EXPECT_SYS(t, MMAP_RW(hole(t, 4), 3 * PAGE));
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(call.leaf_order[i], hole(t, 4 + i));
	uint32_t g0 = page_of(t, hole(t, 4))->epc_frame, g2 = page_of(t, hole(t, 6))->epc_frame;
	/* the first EAUG of each run took the frame the allocator gives first */
	assert_true((f2 < f0) == (g0 < g2));

	ecall(t, OP_WRITE, hole(t, 5), 0x1122334455667788ull, 0, 0, 0);
	assert_int_equal(ecall(t, OP_READ, hole(t, 5), 0, 0, 0, 0), 0x1122334455667788ll);
}

/* COMMIT_ON_DEMAND: the OCALL only maps; the first write EAUGs (invisibly)
 * and then hits the PENDING page: the EPCM #PF is reported; the EMM's
 * handler (from TCS #2, TCS #1 has no free SSA frame) EACCEPTs that page;
 * ERESUME finishes the write.  The other page stays without EPC. */
static void flow_commit_on_demand(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	assert_int_equal(ecall(t, OP_ALLOC, hole(t, 0), 2 * PAGE, LAZY, 0, 0), 0);
	EXPECT_SYS(t, MMAP_RW(hole(t, 0), 2 * PAGE));
	assert_int_equal(call.nr_leaves, 0);
	expect_no_page(t, hole(t, 1));

	uint64_t la = hole(t, 1) + 8;
	assert_int_equal(enter_on(t, t->base + TEST_ENCL_TCS1, OP_WRITE, la, 0xfeed, 0, 0, 0), 0);
	assert_int_equal(t->run.function, SGX_ERESUME);
	assert_int_equal(t->run.exception_vector, SGX_VEC_PF);
	assert_int_equal(t->run.exception_error_code, SGX_PFEC_SGX | SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_int_equal(t->run.exception_addr, hole(t, 1));
	expect_epcm(t, hole(t, 1), SGX_PT_REG, RW, true, false, false);

	assert_int_equal(enter_on(t, t->base + TEST_ENCL_TCS2, OP_PFHANDLER, t->run.exception_addr, 0x8007, 0, 0, 0),
			 0);
	EXPECT_EEXIT(t);
	assert_int_equal(call.ret, SGX2EMU_MM_EXCEPTION_CONTINUE_EXECUTION);
	assert_int_equal(call.leaf_ret[1], 0);
	expect_epcm(t, hole(t, 1), SGX_PT_REG, RW, false, false, false);

	memset(&t->run, 0, sizeof(t->run));
	t->run.tcs = t->base + TEST_ENCL_TCS1;
	t->run.user_handler = (uintptr_t)sgx2emu_emm_user_handler;
	t->run.user_data = (uintptr_t)&t->host;
	assert_int_equal(emu_vdso_sgx_enter_enclave(0, 0, 0, SGX_ERESUME, 0, 0, &t->run), 0);
	EXPECT_EEXIT(t);
	assert_int_equal(ecall(t, OP_READ, la, 0, 0, 0, 0), 0xfeed);
	expect_no_page(t, hole(t, 0));
	/* a second fault on the page now committed is spurious: no leaf */
	assert_int_equal(ecall(t, OP_PFHANDLER, la, 0x8007, 0, 0, 0), SGX2EMU_MM_EXCEPTION_CONTINUE_EXECUTION);
	assert_int_equal(call.nr_leaves, 0);
	expect_no_sys(t);
	assert_int_equal(t->bells, 2);
}

/* Permission changes as modify_permissions makes them: RW → R (RESTRICT,
 * mprotect, EACCEPT), R → RW (RESTRICT, mprotect, EMODPE, EACCEPT), RW → RWX
 * (no EACCEPT: PR stays), RWX → NONE (EACCEPT, then the PTE OCALL).  A write
 * to the R page is the #PF of a read-only PTE. */
static void flow_permissions(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	uint64_t a = hole(t, 0), len = 2 * PAGE;
	assert_int_equal(ecall(t, OP_ALLOC, a, len, NOW, 0, 0), 0);
	t->nr_rec = 0;

	assert_int_equal(ecall(t, OP_PROTECT, a, len, R, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, len, R), MPROTECT(a, len, PROT_READ));
	assert_int_equal(call.nr_leaves, 2);
	for (unsigned i = 0; i < 2; i++) {
		expect_epcm(t, hole(t, i), SGX_PT_REG, R, false, false, false);
		expect_vma(t, hole(t, i), PROT_READ, true);
	}

	assert_int_equal(ecall(t, OP_PROTECT, a, len, RW, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, len, RW), MPROTECT(a, len, PROT_READ | PROT_WRITE));
	for (unsigned i = 0; i < 2; i++)
		expect_epcm(t, hole(t, i), SGX_PT_REG, RW, false, false, false);
	ecall(t, OP_WRITE, a + PAGE, 7, 0, 0, 0);

	assert_int_equal(ecall(t, OP_PROTECT, a, len, RWX, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, len, RWX), MPROTECT(a, len, PROT_READ | PROT_WRITE | PROT_EXEC));
	assert_int_equal(call.nr_leaves, 0);
	for (unsigned i = 0; i < 2; i++)
		expect_epcm(t, hole(t, i), SGX_PT_REG, RWX, false, false, true);
	ecall(t, OP_FETCH, a + PAGE, 0, 0, 0, 0);

	assert_int_equal(ecall(t, OP_PROTECT, a, len, NONE, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, len, NONE), MPROTECT(a, len, PROT_NONE));
	assert_int_equal(call.nr_leaves, 2);
	for (unsigned i = 0; i < 2; i++) {
		expect_epcm(t, hole(t, i), SGX_PT_REG, NONE, false, false, false);
		expect_vma(t, hole(t, i), PROT_NONE, true);
		expect_pte(t, hole(t, i), -1);
	}
	assert_int_equal(t->bells, 2 * 6);   /* alloc, four changes, NONE's PTE step */

	/* back to R, then a write: the PTE says no */
	assert_int_equal(ecall(t, OP_PROTECT, a, len, R, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, len, R), MPROTECT(a, len, PROT_READ));
	expect_epcm(t, a, SGX_PT_REG, R, false, false, false);
	assert_int_equal(ecall(t, OP_READ, a + PAGE, 0, 0, 0, 0), 7);
	assert_int_equal(enter_on(t, t->base + TEST_ENCL_TCS2, OP_WRITE, a, 1, 0, 0, 0), 0);
	assert_int_equal(t->run.function, SGX_ERESUME);
	assert_int_equal(t->run.exception_vector, SGX_VEC_PF);
	assert_int_equal(t->run.exception_error_code, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_int_equal(t->run.exception_addr, a);
}

/* modify_type(TCS) of a committed RW page holding a TCS image: the OCALL,
 * EACCEPT(TCS|MODIFIED); then an EENTER through the new TCS works. */
static void flow_to_tcs(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	assert_int_equal(ecall(t, OP_ALLOC, hole(t, 0), 2 * PAGE, NOW, 0, 0), 0);
	t->nr_rec = 0;
	assert_int_equal(ecall(t, OP_TO_TCS, hole(t, 0), HOLES + PAGE, 0, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES, PAGE, SGX_PT_TCS));
	assert_int_equal(call.leaf_ret[0], 0);
	expect_epcm(t, hole(t, 0), SGX_PT_TCS, NONE, false, false, false);
	expect_epcm(t, hole(t, 1), SGX_PT_REG, RW, false, false, false);

	assert_int_equal(enter_on(t, hole(t, 0), OP_READ, t->base + TEST_ENCL_BUFFER, 0, 0, 0, 0), 0);
	EXPECT_EEXIT(t);
	assert_int_equal(call.ret, 1);   /* encl_buffer's first byte */
	/* a TCS page is not regular: it cannot become a TCS again */
	assert_int_equal(ecall(t, OP_TO_TCS, hole(t, 0), HOLES + PAGE, 0, 0, 0), EACCES);
	expect_no_sys(t);
}

/* uncommit: one trim round per maximal run of committed pages (the pages
 * EACCEPTed forward), the range stays mapped RW; then dealloc of the whole
 * range: NONE in the OCALLs and the PTE step at the end. */
static void flow_trim(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	uint64_t a = hole(t, 0);
	assert_int_equal(ecall(t, OP_ALLOC, a, 4 * PAGE, NOW, 0, 0), 0);
	t->nr_rec = 0;
	assert_int_equal(ecall(t, OP_UNCOMMIT, hole(t, 1), 2 * PAGE, 0, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES + PAGE, 2 * PAGE, SGX_PT_TRIM), IOCTL(REMOVE, HOLES + PAGE, 2 * PAGE, 0));
	assert_int_equal(call.nr_leaves, 2);
	assert_int_equal(call.leaf_order[0], hole(t, 1));
	assert_int_equal(call.leaf_order[1], hole(t, 2));
	expect_no_page(t, hole(t, 1));
	expect_no_page(t, hole(t, 2));
	expect_epcm(t, hole(t, 0), SGX_PT_REG, RW, false, false, false);
	expect_epcm(t, hole(t, 3), SGX_PT_REG, RW, false, false, false);
	expect_vma(t, hole(t, 1), PROT_READ | PROT_WRITE, true);
	/* the same again: nothing committed, nothing done */
	assert_int_equal(ecall(t, OP_UNCOMMIT, hole(t, 1), 2 * PAGE, 0, 0, 0), 0);
	expect_no_sys(t);
	/* commit a trimmed page again: EACCEPT, EAUG on its fault */
	assert_int_equal(ecall(t, OP_EACCEPT, hole(t, 2), REG | RW | PENDING, 0, 0, 0), 0);
	ema.committed[2] = true;
	expect_epcm(t, hole(t, 2), SGX_PT_REG, RW, false, false, false);

	unsigned bells = t->bells;
	assert_int_equal(ecall(t, OP_DEALLOC, a, 4 * PAGE, 0, 0, 0), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES, PAGE, SGX_PT_TRIM), IOCTL(REMOVE, HOLES, PAGE, 0),
		   MPROTECT(a, PAGE, PROT_NONE),
		   IOCTL(MODT, HOLES + 2 * PAGE, 2 * PAGE, SGX_PT_TRIM), IOCTL(REMOVE, HOLES + 2 * PAGE, 2 * PAGE, 0),
		   MPROTECT(hole(t, 2), 2 * PAGE, PROT_NONE), MPROTECT(a, 4 * PAGE, PROT_NONE));
	assert_int_equal(t->bells - bells, 2 * 5);
	for (unsigned i = 0; i < 4; i++) {
		expect_no_page(t, hole(t, i));
		expect_vma(t, hole(t, i), PROT_NONE, true);
	}
}

/* commit_data: EACCEPTCOPY(REG|RX) of two pages from the enclave's heap,
 * then modify_permissions(RW → RX): RESTRICT, mprotect, EMODPE (RX adds X to
 * the region's RW), EACCEPT(REG|RX|PR).  The pages hold the copies and run. */
static void flow_commit_data(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	uint64_t a = hole(t, 0), src = t->base + TEST_ENCL_IMAGE_SIZE;
	ecall(t, OP_WRITE, src, 0xc0de0001, 0, 0, 0);
	ecall(t, OP_WRITE, src + PAGE + 16, 0xc0de0002, 0, 0, 0);
	assert_int_equal(ecall(t, OP_ALLOC, a, 2 * PAGE, LAZY, 0, 0), 0);
	t->nr_rec = 0;
	assert_int_equal(ecall(t, OP_COMMIT_DATA, a, 2 * PAGE, src, RX, 0), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, 2 * PAGE, RX), MPROTECT(a, 2 * PAGE, PROT_READ | PROT_EXEC));
	assert_int_equal(call.nr_leaves, 4);   /* two EACCEPTCOPYs, two EACCEPTs */
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(call.leaf_ret[i], 0);
		expect_epcm(t, hole(t, i), SGX_PT_REG, RX, false, false, false);
		expect_vma(t, hole(t, i), PROT_READ | PROT_EXEC, true);
	}
	assert_int_equal(ecall(t, OP_READ, a, 0, 0, 0, 0), 0xc0de0001);
	assert_int_equal(ecall(t, OP_READ, a + PAGE + 16, 0, 0, 0, 0), 0xc0de0002);
	ecall(t, OP_FETCH, a + PAGE, 0, 0, 0, 0);
	/* committed pages take no data */
	assert_int_equal(ecall(t, OP_COMMIT_DATA, a, PAGE, src, RX, 0), EACCES);
	expect_no_sys(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(flow_commit_now, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(flow_commit_on_demand, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(flow_permissions, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(flow_to_tcs, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(flow_trim, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(flow_commit_data, emm_setup, emm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
