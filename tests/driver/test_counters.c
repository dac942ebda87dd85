/*
 * The counters of a run (include/sgx2emu/counters.h): exact values for known
 * sequences — the kernel selftests' enclave committing pages EACCEPT-first
 * and restricting one, faults of each kind, IPI rounds and their targets,
 * reclaim — and the read / reset / diff / print contract.
 */
#include "common/emu_fixture.h"
#include "driver/sgx2_fx.h"
#include "sgx2emu/selftest.h"

#define PAGE SGX_PAGE_SIZE
#define PENDING_RW (SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_PENDING)

/* ---- the selftest enclave ---- */

struct st {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *t;
	struct encl encl;
	uint64_t heap;           /* first page after the image */
};

/* The op structs live in one page, faulted in (ambient memory) by the
 * warm-up, so that the counted calls take no fault on them. */
static union {
	uint8_t page[PAGE];
	struct encl_op_eaccept eaccept;
	struct encl_op_header nop;
	struct encl_op_put_to_addr put;
} ops __attribute__((aligned(4096)));

static int st_setup(void **state)
{
	struct st *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	s->emu = emu_create(&cfg);
	assert_non_null(s->emu);
	s->proc = emu_proc_create(s->emu);
	assert_non_null(s->proc);
	s->t = emu_thread_create(s->proc);
	assert_non_null(s->t);
	emu_thread_bind(s->t);
	assert_true(setup_test_encl(s->proc, ENCL_HEAP_SIZE_DEFAULT, &s->encl));
	uint64_t total = 0;
	for (unsigned i = 0; i < s->encl.nr_segments; i++)
		total += s->encl.segment_tbl[i].size;
	s->heap = s->encl.encl_base + total;
	*state = s;
	return 0;
}

static int st_teardown(void **state)
{
	struct st *s = *state;
	encl_delete(&s->encl);
	emu_thread_bind(NULL);
	emu_thread_destroy(s->t);
	emu_proc_exit(s->proc);
	emu_destroy(s->emu);
	free(s);
	return 0;
}

static void call(struct st *s, void *op, struct sgx_enclave_run *run)
{
	memset(run, 0, sizeof(*run));
	run->tcs = s->encl.encl_base;
	assert_int_equal(emu_vdso_sgx_enter_enclave((unsigned long)op, 0, 0, SGX_EENTER, 0, 0, run), 0);
}

static void call_ok(struct st *s, void *op)
{
	struct sgx_enclave_run run;
	call(s, op, &run);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, 0);
}

static void eaccept_ok(struct st *s, uint64_t la, uint64_t flags)
{
	ops.eaccept = (struct encl_op_eaccept){ { ENCL_OP_EACCEPT }, la, flags, UINT64_MAX };
	call_ok(s, &ops.eaccept);
	assert_int_equal(ops.eaccept.ret, 0);
}

static void warm_up(struct st *s)
{
	ops.nop.type = ENCL_OP_NOP;
	call_ok(s, &ops.nop);
}

/* Every field zero except those listed (checked by the caller first). */
static void assert_rest_zero(const struct emu_counters *c, const struct emu_counters *expect)
{
	const uint64_t *a = (const uint64_t *)c, *b = (const uint64_t *)expect;
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		if (a[i] != b[i])
			fail_msg("counter word %zu: %llu, expected %llu", i, (unsigned long long)a[i],
				 (unsigned long long)b[i]);
}

/*
 * 3 pages committed EACCEPT-first, then one restricted to R and accepted:
 *   mmap: 1 system call;
 *   per page: EENTER; EACCEPT on the hole #PFs (AEX); the kernel EAUGs on
 *   the fault (one EAUG fault, one EAUG); ERESUME retries EACCEPT, which
 *   succeeds; EEXIT.  TLB flushes: the CR3 load before each of EENTER and
 *   ERESUME, each entry, the AEX and the EEXIT: 6;
 *   RESTRICT: 1 ioctl, EMODPR + ETRACK, one IPI round to the enclave's
 *   cpumask = the caller's own LP (no interrupt sent, its TLB flushed);
 *   then EACCEPT(R|PR): EENTER, EACCEPT, EEXIT, 3 flushes.
 */
static void test_selftest_commit_and_restrict(void **state)
{
	struct st *s = *state;
	warm_up(s);
	emu_counters_reset(s->emu);

	void *p = emu_mmap(s->proc, efx_ptr(s->heap), 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			   s->encl.fd, 0);
	assert_ptr_equal(p, efx_ptr(s->heap));
	for (unsigned i = 0; i < 3; i++)
		eaccept_ok(s, s->heap + i * PAGE, PENDING_RW);

	struct emu_counters c, e = { 0 };
	emu_counters_read(s->emu, &c);
	e.mmaps = 1;
	e.enclave_entries = 6;
	e.enclave_exits = 3;
	e.aexs = 3;
	e.faults[EMU_FAULT_EAUG] = 3;
	e.encls[SGX_EAUG] = 3;
	e.enclu[SGX_EENTER] = 3;
	e.enclu[SGX_ERESUME] = 3;
	e.enclu[SGX_EACCEPT] = 6;
	e.enclu[SGX_EEXIT] = 3;
	e.tlb_flushes = 18;
	assert_int_equal(c.faults[EMU_FAULT_EAUG], 3);
	assert_int_equal(c.encls[SGX_EAUG], 3);
	assert_rest_zero(&c, &e);

	struct sgx_enclave_restrict_permissions rp = {
		.offset = s->heap - s->encl.encl_base, .length = PAGE, .permissions = SGX_SECINFO_R,
	};
	assert_int_equal(emu_ioctl(s->proc, s->encl.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp), 0);
	eaccept_ok(s, s->heap, SGX_SECINFO_R | SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_PR);

	emu_counters_read(s->emu, &c);
	e.ioctls = 1;
	e.encls[SGX_EMODPR] = 1;
	e.encls[SGX_ETRACK] = 1;
	e.etracks = 1;
	e.ipis = 1;
	e.ipi_targets = 0;
	e.enclave_entries += 1;
	e.enclave_exits += 1;
	e.enclu[SGX_EENTER] += 1;
	e.enclu[SGX_EACCEPT] += 1;
	e.enclu[SGX_EEXIT] += 1;
	e.tlb_flushes += 1 + 3;
	assert_int_equal(c.ioctls, 1);
	assert_int_equal(c.encls[SGX_EMODPR], 1);
	assert_int_equal(c.ipis, 1);
	assert_rest_zero(&c, &e);
}

/* A write to the restricted page: an EPCM fault, reported, never the driver's. */
static void test_selftest_epcm_fault(void **state)
{
	struct st *s = *state;
	void *p = emu_mmap(s->proc, efx_ptr(s->heap), PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			   s->encl.fd, 0);
	assert_ptr_equal(p, efx_ptr(s->heap));
	warm_up(s);
	eaccept_ok(s, s->heap, PENDING_RW);
	struct sgx_enclave_restrict_permissions rp = {
		.offset = s->heap - s->encl.encl_base, .length = PAGE, .permissions = SGX_SECINFO_R,
	};
	assert_int_equal(emu_ioctl(s->proc, s->encl.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp), 0);
	eaccept_ok(s, s->heap, SGX_SECINFO_R | SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_PR);

	struct emu_counters before, after, d;
	emu_counters_read(s->emu, &before);
	ops.put = (struct encl_op_put_to_addr){ { ENCL_OP_PUT_TO_ADDRESS }, 0x1234, s->heap };
	struct sgx_enclave_run run;
	call(s, &ops.put, &run);
	assert_int_equal(run.function, SGX_ERESUME);
	assert_int_equal(run.exception_vector, SGX_VEC_PF);
	assert_int_equal(run.exception_error_code, SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_W | SGX_PFEC_U);
	emu_counters_read(s->emu, &after);
	emu_counters_diff(&after, &before, &d);
	assert_int_equal(d.faults[EMU_FAULT_EPCM], 1);
	assert_int_equal(d.faults[EMU_FAULT_EAUG] + d.faults[EMU_FAULT_NOT_PRESENT] + d.faults[EMU_FAULT_PTE_PERM], 0);
	assert_int_equal(d.aexs, 1);
	assert_int_equal(d.enclave_entries, 1);
	assert_int_equal(d.enclave_exits, 0);
	assert_int_equal(d.ioctls, 0);
}

/* ---- the sgx2_fx enclave ---- */

static int sx_setup(void **state)
{
	*state = sx_new();
	return 0;
}

static int sx_teardown(void **state)
{
	sx_free(*state);
	return 0;
}

static uint64_t fault_delta(struct sx *s, uint64_t off, uint32_t ec, enum drv_fault expect, enum emu_fault_kind *kind)
{
	struct emu_counters a, b;
	emu_counters_read(s->emu, &a);
	assert_int_equal(drv_handle_fault(s->mm, sx_addr(s, off), ec | SX_PF_USER), expect);
	emu_counters_read(s->emu, &b);
	uint64_t total = 0;
	for (unsigned k = 0; k < EMU_FAULT_KIND_COUNT; k++) {
		total += b.faults[k] - a.faults[k];
		if (b.faults[k] != a.faults[k])
			*kind = (enum emu_fault_kind)k;
	}
	return total;
}

#define ASSERT_KIND(s, off, ec, ret, k) do { \
		enum emu_fault_kind kind_ = EMU_FAULT_KIND_COUNT; \
		assert_int_equal(fault_delta((s), (off), (ec), (ret), &kind_), 1); \
		assert_int_equal(kind_, (k)); \
	} while (0)

static void test_fault_kinds(void **state)
{
	struct sx *s = *state;
	ASSERT_KIND(s, SX_HOLES, SGX_PFEC_W, DRV_FAULT_NOPAGE, EMU_FAULT_EAUG);           /* hole: EAUG */
	ASSERT_KIND(s, SX_DATA, 0, DRV_FAULT_NOPAGE, EMU_FAULT_NOT_PRESENT);             /* PTE installed */
	ASSERT_KIND(s, SX_DATA, SGX_PFEC_P | SGX_PFEC_I, DRV_FAULT_SIGSEGV, EMU_FAULT_PTE_PERM);
	ASSERT_KIND(s, SX_RO, SGX_PFEC_W, DRV_FAULT_SIGSEGV, EMU_FAULT_PTE_PERM);        /* VMA R, no PTE */
	ASSERT_KIND(s, SX_DATA, SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_W, DRV_FAULT_SIGSEGV, EMU_FAULT_EPCM);
	/* the same hole again: the page exists now, only its PTE is missing */
	emu_munmap(s->proc, efx_ptr(sx_addr(s, SX_HOLES)), PAGE);
	sx_map(s, SX_HOLES, PAGE, PROT_READ | PROT_WRITE);
	ASSERT_KIND(s, SX_HOLES, SGX_PFEC_W, DRV_FAULT_NOPAGE, EMU_FAULT_NOT_PRESENT);
	/* nothing mapped, not host memory either */
	struct emu_counters a, b;
	emu_counters_read(s->emu, &a);
	assert_int_equal(drv_handle_fault(s->mm, 0x1000, SX_PF_USER), DRV_FAULT_SIGSEGV);
	emu_counters_read(s->emu, &b);
	assert_int_equal(b.faults[EMU_FAULT_NOT_PRESENT] - a.faults[EMU_FAULT_NOT_PRESENT], 1);
}

/* System calls count whatever their outcome; each counted event is a step. */
static void test_syscalls_and_steps(void **state)
{
	struct sx *s = *state;
	emu_counters_reset(s->emu);
	uint64_t step = emu_step(s->emu);
	assert_map_errno(emu_mmap(s->proc, NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	assert_errno(emu_munmap(s->proc, efx_ptr(1), PAGE), EINVAL);
	assert_errno(emu_mprotect(s->proc, efx_ptr(1), PAGE, PROT_READ), EINVAL);
	assert_errno(emu_ioctl(s->proc, 99, SGX_IOC_ENCLAVE_INIT, NULL), EBADF);
	emu_count_runtime_exit(s->emu);
	emu_count_runtime_exit(s->emu);
	struct emu_counters c, e = { 0 };
	emu_counters_read(s->emu, &c);
	e.mmaps = e.munmaps = e.mprotects = e.ioctls = 1;
	e.runtime_exits = 2;
	assert_int_equal(c.runtime_exits, 2);
	assert_rest_zero(&c, &e);
	assert_int_equal(emu_step(s->emu), step + 6);
}

/* IPI rounds and targets: the enclave's cpumask, the caller's LP not counted. */
static void test_ipi_targets(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions rp;
	struct emu_thread *t1 = emu_thread_create(s->proc);
	struct emu_thread *t2 = emu_thread_create(s->proc);
	assert_non_null(t1);
	assert_non_null(t2);

	/* the caller has no thread: the kernel LP, both threads' LPs are targets */
	emu_counters_reset(s->emu);
	assert_int_equal(sx_restrict(s, SX_DATA, 2 * PAGE, SGX_SECINFO_R, &rp), 0);
	struct emu_counters c;
	emu_counters_read(s->emu, &c);
	assert_int_equal(c.etracks, 2);
	assert_int_equal(c.encls[SGX_ETRACK], 2);
	assert_int_equal(c.encls[SGX_EMODPR], 2);
	assert_int_equal(c.ipis, 2);
	assert_int_equal(c.ipi_targets, 4);
	assert_int_equal(c.tlb_flushes, 4);
	assert_int_equal(c.pte_zaps, 0);

	/* from t1: its own LP runs the round without an interrupt */
	emu_thread_bind(t1);
	emu_counters_reset(s->emu);
	assert_int_equal(sx_restrict(s, SX_DATA + 2 * PAGE, PAGE, SGX_SECINFO_R, &rp), 0);
	emu_counters_read(s->emu, &c);
	assert_int_equal(c.ipis, 1);
	assert_int_equal(c.ipi_targets, 1);
	assert_int_equal(c.tlb_flushes, 2);
	emu_thread_bind(NULL);
	emu_thread_destroy(t2);
	emu_thread_destroy(t1);
}

/* PTE zaps: one per PTE removed (munmap, MODIFY_TYPES(TCS)); their TLB shootdowns are IPI rounds. */
static void test_pte_zaps(void **state)
{
	struct sx *s = *state;
	for (uint64_t off = SX_DATA; off < SX_DATA + 3 * PAGE; off += PAGE)
		assert_int_equal(sx_fault(s, off, 0), DRV_FAULT_NOPAGE);
	sx_augment(s, SX_HOLES, true);
	emu_counters_reset(s->emu);
	struct sgx_enclave_modify_types mt;
	assert_int_equal(sx_modt(s, SX_HOLES, PAGE, SGX_PT_TCS, &mt), 0);
	struct emu_counters c;
	emu_counters_read(s->emu, &c);
	assert_int_equal(c.pte_zaps, 1);
	assert_int_equal(c.encls[SGX_EMODT], 1);
	assert_int_equal(c.etracks, 1);
	assert_int_equal(c.ipis, 0);   /* no thread has run the mm: empty cpumask */

	emu_counters_reset(s->emu);
	assert_int_equal(emu_munmap(s->proc, efx_ptr(sx_addr(s, SX_DATA)), 4 * PAGE), 0);
	emu_counters_read(s->emu, &c);
	assert_int_equal(c.munmaps, 1);
	assert_int_equal(c.pte_zaps, 3);
}

/* Reset: counts restart from 0, the hardware's own statistics are untouched. */
static void test_reset_and_diff(void **state)
{
	struct sx *s = *state;
	assert_int_equal(sx_eaccept(s, SX_HOLES, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PENDING),
			 SGX_PAGE_ATTRIBUTES_MISMATCH);
	struct emu_counters c, d, zero = { 0 };
	emu_counters_read(s->emu, &c);
	assert_int_equal(c.encls[SGX_EADD], 13);
	assert_int_equal(c.encls[SGX_ECREATE], 1);
	assert_int_equal(c.encls[SGX_EINIT], 1);
	assert_int_equal(c.ioctls, 1 + 13 + 1);   /* CREATE, ADD_PAGES x 13, INIT */
	uint64_t lp_flushes = hw_lp_stats(hw_lp_get(s->emu->m, 0))->tlb_flushes;
	emu_counters_reset(s->emu);
	emu_counters_read(s->emu, &d);
	assert_memory_equal(&d, &zero, sizeof(d));
	assert_int_equal(hw_lp_stats(hw_lp_get(s->emu->m, 0))->tlb_flushes, lp_flushes);

	emu_counters_diff(&c, &zero, &d);
	assert_memory_equal(&d, &c, sizeof(d));
	struct emu_counters a = { .ioctls = 5, .encls = { [SGX_EAUG] = 7 }, .stale_tlb_hits = 3 };
	struct emu_counters b = { .ioctls = 2, .encls = { [SGX_EAUG] = 4 }, .stale_tlb_hits = 1 };
	emu_counters_diff(&a, &b, &d);
	assert_int_equal(d.ioctls, 3);
	assert_int_equal(d.encls[SGX_EAUG], 3);
	assert_int_equal(d.stale_tlb_hits, 2);
}

static void test_print(void **state)
{
	(void)state;
	struct emu_counters c = { .ioctls = 3, .encls = { [SGX_EAUG] = 2 }, .enclu = { [SGX_EACCEPT] = 4 },
				  .faults = { [EMU_FAULT_EPCM] = 1 }, .stale_tlb_hits = 9 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	emu_counters_print(&c, f);
	fclose(f);
	assert_string_equal(buf, "ioctls 3\nstale_tlb_hits 9\nencls.EAUG 2\nenclu.EACCEPT 4\nfault.epcm 1\n");
	free(buf);
}

/* ---- reclaim: EWB/ELDU as the reclaimer's own statistics count them ---- */

static void test_reclaim(void **state)
{
	(void)state;
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = 64 * PAGE;
	cfg.hw.nr_lps = 4;
	cfg.low_watermark = 4;
	cfg.high_watermark = 40;
	struct sx *s = sx_new_with(&cfg, true);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 20 * PAGE; off += PAGE)
		assert_int_equal(sx_fault(s, off, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	emu_counters_reset(s->emu);
	struct emu_reclaim_stats r0, r1;
	emu_reclaim_stats(s->emu, &r0);
	assert_true(emu_reclaim_to_high_watermark(s->emu) > 0);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 20 * PAGE; off += PAGE)
		assert_int_equal(sx_fault(s, off, 0), DRV_FAULT_NOPAGE);
	emu_reclaim_stats(s->emu, &r1);
	struct emu_counters c;
	emu_counters_read(s->emu, &c);
	assert_true(c.ewb > 0 && c.eldu > 0);
	assert_int_equal(c.ewb, r1.ewb - r0.ewb);
	assert_int_equal(c.eldu, r1.eldu - r0.eldu);
	assert_int_equal(c.etracks, r1.etrack - r0.etrack);
	assert_int_equal(c.encls[SGX_EBLOCK], r1.eblock - r0.eblock);
	assert_true(c.encls[SGX_EWB] >= c.ewb);
	assert_int_equal(c.encls[SGX_ELDU], c.eldu);
	sx_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_selftest_commit_and_restrict, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_selftest_epcm_fault, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_fault_kinds, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_syscalls_and_steps, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_ipi_targets, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_pte_zaps, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_diff, sx_setup, sx_teardown),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_reclaim),
	};
	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
