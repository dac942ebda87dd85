/*
 * SGX2 ioctls (linux-driver.md §1.4, §1.5, §4.2-§4.4, §7.4): every validation
 * with its errno, the partial-progress contract (count of completed bytes,
 * result only for SGX codes), the page flows (restrict + EACCEPT, trim +
 * EACCEPT + remove, REG→TCS), the BUSY window around the PTE zap, and pages
 * under reclaim.  The enclave is built through the system-call API
 * (sgx2_fx.h); EACCEPTs run as model-mode enclave code on a thread's LP.
 */
#include <time.h>

#include "sgx2_fx.h"

#define PAGE SGX_PAGE_SIZE
#define REG_PT SGX_SECINFO_PT(SGX_PT_REG)
#define TRIM_ACCEPT (SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED)
#define TCS_ACCEPT (SGX_SECINFO_PT(SGX_PT_TCS) | SGX_SECINFO_MODIFIED)

static int setup(void **state)
{
	*state = sx_new();
	return 0;
}

static int teardown(void **state)
{
	sx_free(*state);
	return 0;
}

/* ---- §1.4 validation ---- */

struct range_case {
	uint64_t offset, length;
};

/* zero length, unaligned offset / length, wrap-around, beyond the enclave */
static const struct range_case bad_ranges[] = {
	{ SX_DATA, 0 },
	{ SX_DATA + 0x800, PAGE },
	{ SX_DATA, PAGE + 1 },
	{ SX_DATA, 0x800 },
	{ 0xfffffffffffff000ull, 2 * PAGE },       /* offset + length wraps to 0x1000 */
	{ PAGE, 0xfffffffffffff000ull },            /* wraps to 0 */
	{ SX_SIZE - PAGE, 2 * PAGE },               /* last page beyond */
	{ SX_SIZE, PAGE },
	{ 0, SX_SIZE + PAGE },
};

static void test_restrict_validation(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions p;

	for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++) {
		p = (struct sgx_enclave_restrict_permissions){ .offset = bad_ranges[i].offset,
			.length = bad_ranges[i].length, .permissions = SGX_SECINFO_R };
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &p), -EINVAL);
		assert_int_equal(p.count, 0);
		assert_int_equal(p.result, 0);
	}
	/* permissions: bits above X, W without R */
	static const uint64_t bad_perms[] = { 8, 0x10, 0x200, 1ull << 63, SGX_SECINFO_W,
					      SGX_SECINFO_W | SGX_SECINFO_X };
	for (size_t i = 0; i < sizeof(bad_perms) / sizeof(bad_perms[0]); i++)
		assert_int_equal(sx_restrict(s, SX_DATA, PAGE, bad_perms[i], &p), -EINVAL);
	/* output fields must be zero on input; not written back on EINVAL */
	p = (struct sgx_enclave_restrict_permissions){ .offset = SX_DATA, .length = PAGE, .permissions = 1, .result = 7 };
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &p), -EINVAL);
	assert_int_equal(p.result, 7);
	p = (struct sgx_enclave_restrict_permissions){ .offset = SX_DATA, .length = PAGE, .permissions = 1, .count = PAGE };
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &p), -EINVAL);
	assert_int_equal(p.count, PAGE);
	/* none of it reached the page */
	struct hw_epcm_entry e = sx_epcm(s, SX_DATA);
	assert_true(e.r && e.w && !e.pr);
	/* the argument itself */
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, NULL), -EFAULT);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, (void *)(uintptr_t)s->base), -EFAULT);
	/* the last page is valid as a range; it is a hole: EFAULT, result 0 */
	assert_int_equal(sx_restrict(s, SX_SIZE - PAGE, PAGE, SGX_SECINFO_R, &p), -EFAULT);
	assert_int_equal(p.count, 0);
	assert_int_equal(p.result, 0);
	/* permissions 0 and R|X are valid */
	assert_int_equal(sx_restrict(s, SX_DATA, PAGE, 0, &p), 0);
	assert_int_equal(sx_restrict(s, SX_CODE, PAGE, SGX_SECINFO_R | SGX_SECINFO_X, &p), 0);
}

static void test_modify_types_validation(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types p;

	for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++) {
		p = (struct sgx_enclave_modify_types){ .offset = bad_ranges[i].offset,
			.length = bad_ranges[i].length, .page_type = SGX_PT_TRIM };
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, &p), -EINVAL);
		assert_int_equal(p.count, 0);
	}
	/* page_type above 0xff, even when the low byte is a good type */
	static const uint64_t big_types[] = { 0x100, 0x104, 0x101, 1ull << 63 };
	for (size_t i = 0; i < sizeof(big_types) / sizeof(big_types[0]); i++)
		assert_int_equal(sx_modt(s, SX_DATA, PAGE, big_types[i], &p), -EINVAL);
	/* only TCS and TRIM are targets */
	static const uint64_t bad_types[] = { SGX_PT_SECS, SGX_PT_REG, SGX_PT_VA, SGX_PT_SS_FIRST, SGX_PT_SS_REST, 0xff };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		assert_int_equal(sx_modt(s, SX_DATA, PAGE, bad_types[i], &p), -EINVAL);
		assert_int_equal(p.count, 0);
		assert_int_equal(p.result, 0);
	}
	p = (struct sgx_enclave_modify_types){ .offset = SX_DATA, .length = PAGE, .page_type = SGX_PT_TRIM, .result = 1 };
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, &p), -EINVAL);
	p = (struct sgx_enclave_modify_types){ .offset = SX_DATA, .length = PAGE, .page_type = SGX_PT_TRIM, .count = 1 };
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, &p), -EINVAL);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, NULL), -EFAULT);
	assert_int_equal(sx_epcm(s, SX_DATA).pt, SGX_PT_REG);
	assert_int_equal(sx_page(s, SX_DATA)->type, SGX_PT_REG);
	assert_int_equal(sx_modt(s, SX_SIZE - PAGE, PAGE, SGX_PT_TRIM, &p), -EFAULT);
	assert_int_equal(p.count, 0);
	assert_int_equal(p.result, 0);
}

static void test_remove_validation(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_remove_pages p;

	for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++) {
		p = (struct sgx_enclave_remove_pages){ .offset = bad_ranges[i].offset, .length = bad_ranges[i].length };
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_REMOVE_PAGES, &p), -EINVAL);
		assert_int_equal(p.count, 0);
	}
	p = (struct sgx_enclave_remove_pages){ .offset = SX_DATA, .length = PAGE, .count = PAGE };
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_REMOVE_PAGES, &p), -EINVAL);
	assert_int_equal(p.count, PAGE);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_REMOVE_PAGES, NULL), -EFAULT);
	assert_int_equal(sx_remove(s, SX_SIZE - PAGE, PAGE, &p), -EFAULT);
	assert_int_equal(p.count, 0);
	/* a REG page is not removable */
	assert_int_equal(sx_remove(s, SX_DATA, PAGE, &p), -EPERM);
	assert_int_equal(p.count, 0);
	assert_non_null(sx_page(s, SX_DATA));
}

/* Before EINIT: EINVAL, checked before the argument is even read. */
static void test_not_initialized(void **state)
{
	(void)state;
	struct sx *s = sx_new_with(NULL, false);
	struct sgx_enclave_restrict_permissions rp;
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;

	assert_int_equal(sx_restrict(s, SX_DATA, PAGE, SGX_SECINFO_R, &rp), -EINVAL);
	assert_int_equal(sx_modt(s, SX_DATA, PAGE, SGX_PT_TRIM, &mt), -EINVAL);
	assert_int_equal(sx_remove(s, SX_DATA, PAGE, &rm), -EINVAL);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, NULL), -EINVAL);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, NULL), -EINVAL);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_REMOVE_PAGES, NULL), -EINVAL);
	sx_free(s);
}

/* Without SGX2: ENODEV first, before "not initialized" and before the argument. */
static void test_enodev_without_sgx2(void **state)
{
	(void)state;
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = 256 * PAGE;
	cfg.hw.sgx1_only = true;
	for (int init = 0; init < 2; init++) {
		struct sx *s = sx_new_with(&cfg, init);
		struct sgx_enclave_restrict_permissions rp;
		struct sgx_enclave_modify_types mt;
		struct sgx_enclave_remove_pages rm;
		assert_int_equal(sx_restrict(s, SX_DATA, PAGE, SGX_SECINFO_R, &rp), -ENODEV);
		assert_int_equal(sx_restrict(s, SX_DATA, 0, SGX_SECINFO_W, &rp), -ENODEV);
		assert_int_equal(sx_modt(s, SX_DATA, PAGE, SGX_PT_TRIM, &mt), -ENODEV);
		assert_int_equal(sx_modt(s, 1, 0, 0x1234, &mt), -ENODEV);
		assert_int_equal(sx_remove(s, SX_DATA, PAGE, &rm), -ENODEV);
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, NULL), -ENODEV);
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, NULL), -ENODEV);
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_REMOVE_PAGES, NULL), -ENODEV);
		assert_int_equal(rm.count, 0);
		sx_free(s);
	}
}

/* ---- RESTRICT_PERMISSIONS ---- */

static void test_restrict_then_accept(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions p;
	unsigned prot;

	/* a PTE installed before: RESTRICT leaves PTEs, VMA and max alone */
	assert_int_equal(sx_fault(s, SX_DATA, 0), DRV_FAULT_NOPAGE);
	uint64_t epoch = sx_epoch(s);
	assert_int_equal(sx_restrict(s, SX_DATA, 4 * PAGE, SGX_SECINFO_R, &p), 0);
	assert_int_equal(p.count, 4 * PAGE);
	assert_int_equal(p.result, 0);
	assert_int_equal(sx_epoch(s), epoch + 4);   /* one ETRACK per page */
	for (uint64_t off = SX_DATA; off < SX_DATA + 4 * PAGE; off += PAGE) {
		struct hw_epcm_entry e = sx_epcm(s, off);
		assert_true(e.valid && e.r && !e.w && !e.x && e.pr && !e.modified && !e.pending);
		assert_int_equal(e.pt, SGX_PT_REG);
		assert_int_equal(sx_page(s, off)->vm_max_prot_bits, DRV_VM_READ | DRV_VM_WRITE);
	}
	assert_true(sx_pte(s->mm, sx_addr(s, SX_DATA), &prot));
	assert_int_equal(prot, HW_PROT_R | HW_PROT_W);
	/* the enclave accepts the restriction: PR clears */
	assert_int_equal(sx_eaccept(s, SX_DATA, REG_PT | SGX_SECINFO_R | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_false(sx_epcm(s, SX_DATA).pr);
	/* a wrong expectation is the enclave's business: RC 19 */
	assert_int_equal(sx_eaccept(s, SX_DATA + PAGE, REG_PT | SX_RW | SGX_SECINFO_PR),
			 SGX_PAGE_ATTRIBUTES_MISMATCH);
	/* restricting a page with PR still set: EMODPR allows it */
	assert_int_equal(sx_restrict(s, SX_DATA + PAGE, PAGE, 0, &p), 0);
	struct hw_epcm_entry e = sx_epcm(s, SX_DATA + PAGE);
	assert_true(!e.r && !e.w && e.pr);
	/* "restricting" to more rights adds nothing */
	assert_int_equal(sx_restrict(s, SX_DATA + 2 * PAGE, PAGE, SGX_SECINFO_RWX, &p), 0);
	e = sx_epcm(s, SX_DATA + 2 * PAGE);
	assert_true(e.r && !e.w && !e.x && e.pr);
}

static void test_restrict_tcs_einval(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions p;

	assert_int_equal(sx_restrict(s, SX_TCS, PAGE, 0, &p), -EINVAL);
	assert_int_equal(p.count, 0);
	assert_int_equal(p.result, 0);
	/* a REG page, then the TCS: the first is done and counted */
	assert_int_equal(sx_restrict(s, SX_RO, 2 * PAGE, 0, &p), -EINVAL);
	assert_int_equal(p.count, PAGE);
	assert_int_equal(p.result, 0);
	assert_true(sx_epcm(s, SX_RO).pr);
	struct hw_epcm_entry tcs = sx_epcm(s, SX_TCS2);
	assert_int_equal(tcs.pt, SGX_PT_TCS);
	assert_false(tcs.pr);
}

static void test_restrict_pending_efault_result(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions p;

	sx_augment(s, SX_HOLES, true);
	sx_augment(s, SX_HOLES + PAGE, false);
	sx_augment(s, SX_HOLES + 2 * PAGE, true);
	assert_int_equal(sx_restrict(s, SX_HOLES, 3 * PAGE, SGX_SECINFO_R, &p), -EFAULT);
	assert_int_equal(p.result, SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(p.count, PAGE);
	assert_true(sx_epcm(s, SX_HOLES).pr);
	assert_false(sx_epcm(s, SX_HOLES + PAGE).pr);
	assert_false(sx_epcm(s, SX_HOLES + 2 * PAGE).pr);   /* never reached */
	/* user space retries the rest after accepting */
	assert_int_equal(sx_eaccept(s, SX_HOLES + PAGE, REG_PT | SX_RW | SGX_SECINFO_PENDING), 0);
	assert_int_equal(sx_restrict(s, SX_HOLES + p.count, 3 * PAGE - p.count, SGX_SECINFO_R, &p), 0);
	assert_int_equal(p.count, 2 * PAGE);
	/* a trimmed page never reaches EMODPR: the driver knows it is TRIM */
	struct sgx_enclave_modify_types mt;
	assert_int_equal(sx_modt(s, SX_DATA, PAGE, SGX_PT_TRIM, &mt), 0);
	assert_int_equal(sx_restrict(s, SX_DATA, PAGE, SGX_SECINFO_R, &p), -EINVAL);
	assert_int_equal(p.result, 0);
	assert_int_equal(p.count, 0);
}

/* The output is copied back even on success; a copy-back fault is EFAULT
 * although the pages were changed. */
static void test_restrict_copy_back_fault(void **state)
{
	struct sx *s = *state;
	void *buf = emu_mmap(s->proc, NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	struct sgx_enclave_restrict_permissions *p = buf;
	*p = (struct sgx_enclave_restrict_permissions){ .offset = SX_DATA, .length = PAGE, .permissions = SGX_SECINFO_R };
	assert_int_equal(emu_mprotect(s->proc, buf, PAGE, PROT_READ), 0);
	assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, p), -EFAULT);
	assert_int_equal(p->count, 0);   /* not written */
	assert_true(sx_epcm(s, SX_DATA).pr);
	assert_int_equal(emu_munmap(s->proc, buf, PAGE), 0);
}

/* ---- MODIFY_TYPES and REMOVE_PAGES ---- */

static void test_trim_accept_remove(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;
	uint64_t addr = sx_addr(s, SX_DATA);

	assert_int_equal(sx_fault(s, SX_DATA, 0), DRV_FAULT_NOPAGE);
	uint64_t epoch = sx_epoch(s);
	assert_int_equal(sx_modt(s, SX_DATA, 2 * PAGE, SGX_PT_TRIM, &mt), 0);
	assert_int_equal(mt.count, 2 * PAGE);
	assert_int_equal(mt.result, 0);
	assert_int_equal(sx_epoch(s), epoch + 2);
	for (uint64_t off = SX_DATA; off < SX_DATA + 2 * PAGE; off += PAGE) {
		struct hw_epcm_entry e = sx_epcm(s, off);
		assert_true(e.valid && e.modified && !e.r && !e.w && !e.x);
		assert_int_equal(e.pt, SGX_PT_TRIM);
		assert_int_equal(sx_page(s, off)->type, SGX_PT_TRIM);
		assert_int_equal(sx_page(s, off)->vm_max_prot_bits, DRV_VM_READ | DRV_VM_WRITE);
	}
	/* trimming does not zap */
	assert_true(sx_pte(s->mm, addr, NULL));

	/* REMOVE before the enclave accepted: EPERM, nothing removed */
	assert_int_equal(sx_remove(s, SX_DATA, 2 * PAGE, &rm), -EPERM);
	assert_int_equal(rm.count, 0);
	assert_non_null(sx_page(s, SX_DATA));

	/* first page accepted, second not: the first goes, then EPERM */
	assert_int_equal(sx_eaccept(s, SX_DATA, TRIM_ACCEPT), SGX_SUCCESS);
	uint32_t frame = sx_page(s, SX_DATA)->epc_frame;
	uint32_t nr_free = epc_nr_free(s->emu);
	uint64_t children = s->encl->secs_child_cnt, page_cnt = s->encl->page_cnt;
	assert_int_equal(sx_remove(s, SX_DATA, 2 * PAGE, &rm), -EPERM);
	assert_int_equal(rm.count, PAGE);
	assert_null(sx_page(s, SX_DATA));
	assert_false(sx_pte(s->mm, addr, NULL));
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(s->emu->m, frame, &e));
	assert_false(e.valid);
	assert_int_equal(epc_nr_free(s->emu), nr_free + 1);
	assert_int_equal(s->encl->secs_child_cnt, children - 1);
	assert_int_equal(s->encl->page_cnt, page_cnt - 1);

	assert_int_equal(sx_eaccept(s, SX_DATA + PAGE, TRIM_ACCEPT), SGX_SUCCESS);
	assert_int_equal(sx_remove(s, SX_DATA + PAGE, PAGE, &rm), 0);
	assert_int_equal(rm.count, PAGE);
	assert_null(sx_page(s, SX_DATA + PAGE));
	/* removing a hole: EFAULT */
	assert_int_equal(sx_remove(s, SX_DATA, PAGE, &rm), -EFAULT);
	assert_int_equal(rm.count, 0);

	/* the hole EAUGs again on the next fault: a fresh PENDING page, max RWX */
	assert_int_equal(sx_fault(s, SX_DATA, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	struct drv_page *pg = sx_page(s, SX_DATA);
	assert_non_null(pg);
	assert_int_equal(pg->type, SGX_PT_REG);
	assert_int_equal(pg->vm_max_prot_bits, DRV_VM_PROT);
	e = sx_epcm(s, SX_DATA);
	assert_true(e.valid && e.pending && e.r && e.w && !e.x);
	assert_true(sx_pte(s->mm, addr, NULL));
	assert_int_equal(sx_eaccept(s, SX_DATA, REG_PT | SX_RW | SGX_SECINFO_PENDING), SGX_SUCCESS);
	/* and it is zero */
	struct emu_thread *t = emu_thread_create(s->proc);
	atomic_store(&sx_value, 1);
	sx_run_on(s, t, sx_addr(s, SX_TCS), SX_OP_READ, addr + 8, 0);
	assert_int_equal(atomic_load(&sx_value), 0);
	emu_thread_destroy(t);
}

static void test_modify_types_transitions(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types p;

	/* TCS → TRIM is allowed, TCS → TCS not */
	assert_int_equal(sx_modt(s, SX_TCS2, PAGE, SGX_PT_TCS, &p), -EINVAL);
	assert_int_equal(p.count, 0);
	assert_int_equal(sx_modt(s, SX_TCS2, PAGE, SGX_PT_TRIM, &p), 0);
	assert_int_equal(sx_epcm(s, SX_TCS2).pt, SGX_PT_TRIM);
	/* TRIM → anything: EINVAL (before EMODT) */
	assert_int_equal(sx_modt(s, SX_TCS2, PAGE, SGX_PT_TRIM, &p), -EINVAL);
	assert_int_equal(sx_modt(s, SX_TCS2, PAGE, SGX_PT_TCS, &p), -EINVAL);
	assert_int_equal(p.result, 0);
	/* REG → TCS needs R and W in the vetted maximum: R-- and R-X are EPERM */
	assert_int_equal(sx_modt(s, SX_RO, PAGE, SGX_PT_TCS, &p), -EPERM);
	assert_int_equal(p.count, 0);
	assert_int_equal(sx_page(s, SX_RO)->vm_max_prot_bits, DRV_VM_READ);
	assert_int_equal(sx_modt(s, SX_CODE, PAGE, SGX_PT_TCS, &p), -EPERM);
	assert_int_equal(sx_page(s, SX_CODE)->vm_max_prot_bits, DRV_VM_READ | DRV_VM_EXEC);
	assert_int_equal(sx_epcm(s, SX_CODE).pt, SGX_PT_REG);
	/* ... but they can be trimmed */
	assert_int_equal(sx_modt(s, SX_CODE, 2 * PAGE, SGX_PT_TRIM, &p), 0);
	assert_int_equal(p.count, 2 * PAGE);
	/* a range stops at the first refusal, the pages before it done */
	assert_int_equal(sx_modt(s, SX_DATA + PAGE, PAGE, SGX_PT_TRIM, &p), 0);
	assert_int_equal(sx_modt(s, SX_DATA, 3 * PAGE, SGX_PT_TRIM, &p), -EINVAL);
	assert_int_equal(p.count, PAGE);
	assert_int_equal(p.result, 0);
	assert_int_equal(sx_page(s, SX_DATA)->type, SGX_PT_TRIM);
	assert_int_equal(sx_page(s, SX_DATA + 2 * PAGE)->type, SGX_PT_REG);
}

static void test_modify_types_pending(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types p;

	sx_augment(s, SX_HOLES, true);
	sx_augment(s, SX_HOLES + PAGE, false);
	assert_int_equal(sx_modt(s, SX_HOLES, 2 * PAGE, SGX_PT_TRIM, &p), -EFAULT);
	assert_int_equal(p.result, SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(p.count, PAGE);
	assert_int_equal(sx_page(s, SX_HOLES + PAGE)->type, SGX_PT_REG);
	/* REG → TCS on a PENDING page: max RWX is narrowed, then restored */
	assert_int_equal(sx_modt(s, SX_HOLES + PAGE, PAGE, SGX_PT_TCS, &p), -EFAULT);
	assert_int_equal(p.result, SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(p.count, 0);
	struct drv_page *pg = sx_page(s, SX_HOLES + PAGE);
	assert_int_equal(pg->type, SGX_PT_REG);
	assert_int_equal(pg->vm_max_prot_bits, DRV_VM_PROT);
	assert_int_equal(pg->flags & DRV_PAGE_BUSY, 0);
	/* a hole: EFAULT, result 0 */
	assert_int_equal(sx_modt(s, SX_HOLES + 2 * PAGE, PAGE, SGX_PT_TRIM, &p), -EFAULT);
	assert_int_equal(p.result, 0);
	assert_int_equal(p.count, 0);
}

/* REG → TCS: max becomes RW and the PTEs go in every mm, so a fault through
 * an RWX VMA SIGBUSes; after mprotect(RW) and EACCEPT the page is a TCS the
 * enclave can be entered on ("add a thread", linux-driver.md §8). */
static void test_reg_to_tcs(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types p;
	uint64_t tcs = sx_addr(s, SX_HOLES);
	unsigned prot;

	assert_int_equal(emu_mprotect(s->proc, (void *)(uintptr_t)tcs, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	sx_augment(s, SX_HOLES, true);
	assert_true(sx_pte(s->mm, tcs, &prot));
	assert_int_equal(prot, HW_PROT_R | HW_PROT_W | HW_PROT_X);
	sx_augment(s, SX_HOLES + PAGE, true);       /* its SSA frames */
	sx_augment(s, SX_HOLES + 2 * PAGE, true);
	struct emu_thread *t = emu_thread_create(s->proc);
	sx_run_on(s, t, sx_addr(s, SX_TCS), SX_OP_WRITE_TCS, tcs, SX_HOLES + PAGE);
	/* a second process maps the enclave too (fork) and faults the page in */
	struct emu_proc *child = emu_fork(s->proc);
	assert_non_null(child);
	assert_int_equal(drv_handle_fault(child->mm, tcs, SX_PF_USER), DRV_FAULT_NOPAGE);
	assert_true(sx_pte(child->mm, tcs, NULL));

	assert_int_equal(sx_modt(s, SX_HOLES, PAGE, SGX_PT_TCS, &p), 0);
	assert_int_equal(p.count, PAGE);
	struct drv_page *pg = sx_page(s, SX_HOLES);
	assert_int_equal(pg->type, SGX_PT_TCS);
	assert_int_equal(pg->vm_max_prot_bits, DRV_VM_READ | DRV_VM_WRITE);
	assert_int_equal(pg->flags & DRV_PAGE_BUSY, 0);
	struct hw_epcm_entry e = sx_epcm(s, SX_HOLES);
	assert_true(e.modified && !e.r && !e.w && !e.x);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_false(sx_pte(s->mm, tcs, NULL));
	assert_false(sx_pte(child->mm, tcs, NULL));
	/* the RWX VMA now exceeds max: SIGBUS, in both processes */
	assert_int_equal(drv_handle_fault(s->mm, tcs, SX_PF_USER), DRV_FAULT_SIGBUS);
	assert_int_equal(drv_handle_fault(child->mm, tcs, SX_PF_USER), DRV_FAULT_SIGBUS);
	emu_proc_exit(child);
	/* mprotect back to RWX is refused now, RW works and faults map it RW */
	assert_int_equal(emu_mprotect(s->proc, (void *)(uintptr_t)tcs, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(emu_mprotect(s->proc, (void *)(uintptr_t)tcs, PAGE, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(drv_handle_fault(s->mm, tcs, SX_PF_USER), DRV_FAULT_NOPAGE);
	assert_true(sx_pte(s->mm, tcs, &prot));
	assert_int_equal(prot, HW_PROT_R | HW_PROT_W);

	/* entering it before EACCEPT fails; the enclave accepts it; then it works */
	struct sgx_enclave_run run = { .tcs = tcs };
	assert_int_equal(emu_enter_enclave(t, SX_OP_READ, sx_addr(s, SX_DATA), 0, SGX_EENTER, 0, 0, &run), 0);
	assert_int_equal(run.exception_vector, SGX_VEC_PF);
	assert_int_equal(run.exception_error_code, SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_U);
	assert_int_equal(run.exception_addr, tcs);
	assert_int_equal(sx_eaccept(s, SX_HOLES, TCS_ACCEPT), SGX_SUCCESS);
	atomic_store(&sx_value, 0);
	sx_run_on(s, t, tcs, SX_OP_READ, sx_addr(s, SX_DATA), 0);
	assert_int_equal(atomic_load(&sx_value), 0x2074612065676170ull);   /* "page at " */
	emu_thread_destroy(t);
	/* and it can be trimmed and removed like any page */
	assert_int_equal(sx_modt(s, SX_HOLES, PAGE, SGX_PT_TRIM, &p), 0);
	assert_int_equal(sx_eaccept(s, SX_HOLES, TRIM_ACCEPT), SGX_SUCCESS);
	struct sgx_enclave_remove_pages rm;
	assert_int_equal(sx_remove(s, SX_HOLES, PAGE, &rm), 0);
	assert_null(sx_page(s, SX_HOLES));
}

/* ---- the BUSY window (linux-driver.md §7.4) ---- */

struct bg_ioctl {
	struct sx *s;
	unsigned long cmd;
	union {
		struct sgx_enclave_modify_types mt;
		struct sgx_enclave_remove_pages rm;
	} u;
	int ret;
};

static void *bg_ioctl_thread(void *arg)
{
	struct bg_ioctl *b = arg;
	b->ret = sx_ioctl(b->s, b->cmd, &b->u);
	return NULL;
}

static bool page_busy(struct sx *s, uint64_t off)
{
	pthread_mutex_lock(&s->encl->lock);
	struct drv_page *pg = sx_page(s, off);
	bool busy = pg && (pg->flags & DRV_PAGE_BUSY);
	pthread_mutex_unlock(&s->encl->lock);
	return busy;
}

/*
 * A forked child maps the enclave too; holding the child's mm lock for write
 * stops the ioctl inside its PTE zap (which walks every mm of mm_list) with
 * encl->lock dropped.  Meanwhile a fault on the page in the parent (what a
 * racing thread does) must back off with NOPAGE and install nothing, and the
 * ioctls' loader must see -EBUSY.  Without the BUSY mark the fault would map
 * the page and leave a PTE to a frame about to be EREMOVEd (§7.4).
 */
static void busy_window(struct sx *s, uint64_t off, struct bg_ioctl *b)
{
	uint64_t addr = sx_addr(s, off);
	pthread_t th;
	struct emu_proc *child = emu_fork(s->proc);
	assert_non_null(child);

	pthread_rwlock_rdlock(&s->mm->lock);
	mm_zap_range(s->mm, addr, addr + PAGE);
	pthread_rwlock_unlock(&s->mm->lock);
	pthread_rwlock_wrlock(&child->mm->lock);
	assert_int_equal(pthread_create(&th, NULL, bg_ioctl_thread, b), 0);
	bool busy = false;
	for (time_t end = time(NULL) + 5; !busy && time(NULL) < end;)
		if (!(busy = page_busy(s, off)))
			sched_yield();
	if (!busy) {   /* let the ioctl finish before failing */
		pthread_rwlock_unlock(&child->mm->lock);
		pthread_join(th, NULL);
		emu_proc_exit(child);
		fail_msg("the page was never marked BUSY while encl->lock was dropped");
	}
	assert_int_equal(sx_fault(s, off, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(sx_fault(s, off, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	assert_false(sx_pte(s->mm, addr, NULL));
	int err = 0;
	pthread_mutex_lock(&s->encl->lock);
	assert_null(encl_load_page(s->encl, addr, &err));
	assert_int_equal(err, -EBUSY);
	pthread_mutex_unlock(&s->encl->lock);
	pthread_rwlock_unlock(&child->mm->lock);
	assert_int_equal(pthread_join(th, NULL), 0);
	emu_proc_exit(child);
}

static void test_busy_during_remove_zap(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types mt;
	assert_int_equal(sx_modt(s, SX_DATA, PAGE, SGX_PT_TRIM, &mt), 0);
	assert_int_equal(sx_eaccept(s, SX_DATA, TRIM_ACCEPT), SGX_SUCCESS);

	struct bg_ioctl b = { .s = s, .cmd = SGX_IOC_ENCLAVE_REMOVE_PAGES,
			      .u.rm = { .offset = SX_DATA, .length = PAGE } };
	busy_window(s, SX_DATA, &b);
	assert_int_equal(b.ret, 0);
	assert_int_equal(b.u.rm.count, PAGE);
	assert_null(sx_page(s, SX_DATA));
	assert_false(sx_pte(s->mm, sx_addr(s, SX_DATA), NULL));
	/* a fault now EAUGs a new page */
	assert_int_equal(sx_fault(s, SX_DATA, 0), DRV_FAULT_NOPAGE);
	assert_true(sx_epcm(s, SX_DATA).pending);
}

static void test_busy_during_tcs_zap(void **state)
{
	struct sx *s = *state;
	sx_augment(s, SX_HOLES, true);
	struct bg_ioctl b = { .s = s, .cmd = SGX_IOC_ENCLAVE_MODIFY_TYPES,
			      .u.mt = { .offset = SX_HOLES, .length = PAGE, .page_type = SGX_PT_TCS } };
	busy_window(s, SX_HOLES, &b);
	assert_int_equal(b.ret, 0);
	assert_int_equal(b.u.mt.count, PAGE);
	struct drv_page *pg = sx_page(s, SX_HOLES);
	assert_int_equal(pg->type, SGX_PT_TCS);
	assert_int_equal(pg->flags & DRV_PAGE_BUSY, 0);
	/* back on the LRU after the window */
	uint32_t frames[1024];
	unsigned n = epc_isolate(s->emu, frames, 1024);
	bool found = false;
	for (unsigned i = 0; i < n; i++) {
		found |= frames[i] == pg->epc_frame;
		epc_putback(s->emu, frames[i]);
		encl_put(s->encl);
	}
	assert_true(found);
}

/* ---- pages under reclaim ---- */

static void set_flag(struct sx *s, uint64_t off, uint8_t flag, bool on)
{
	pthread_mutex_lock(&s->encl->lock);
	struct drv_page *pg = sx_page(s, off);
	pg->flags = on ? (pg->flags | flag) : (pg->flags & ~flag);
	pthread_mutex_unlock(&s->encl->lock);
}

/* A page between selection and EWB (BEING_RECLAIMED): EAGAIN, count so far. */
static void test_being_reclaimed_eagain(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions rp;
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;

	set_flag(s, SX_DATA + PAGE, DRV_PAGE_BEING_RECLAIMED, true);
	assert_int_equal(sx_restrict(s, SX_DATA, 2 * PAGE, SGX_SECINFO_R, &rp), -EAGAIN);
	assert_int_equal(rp.count, PAGE);
	assert_int_equal(rp.result, 0);
	assert_int_equal(sx_modt(s, SX_DATA + PAGE, PAGE, SGX_PT_TRIM, &mt), -EAGAIN);
	assert_int_equal(mt.count, 0);
	assert_int_equal(sx_remove(s, SX_DATA + PAGE, PAGE, &rm), -EAGAIN);
	assert_int_equal(rm.count, 0);
	set_flag(s, SX_DATA + PAGE, DRV_PAGE_BEING_RECLAIMED, false);
	/* the retry from offset + count completes */
	assert_int_equal(sx_restrict(s, SX_DATA + rp.count, PAGE, SGX_SECINFO_R, &rp), 0);
	assert_int_equal(rp.count, PAGE);
}

/* A page the reclaimer has taken off the LRU but not yet marked: REMOVE
 * answers EBUSY (not EAGAIN, as Linux), REG→TCS EAGAIN with max restored. */
static void test_isolated_page(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;

	assert_int_equal(sx_modt(s, SX_DATA, PAGE, SGX_PT_TRIM, &mt), 0);
	assert_int_equal(sx_eaccept(s, SX_DATA, TRIM_ACCEPT), SGX_SUCCESS);
	uint32_t frames[1024];
	unsigned n = epc_isolate(s->emu, frames, 1024);
	assert_true(n > 0);
	assert_int_equal(sx_remove(s, SX_DATA, PAGE, &rm), -EBUSY);
	assert_int_equal(rm.count, 0);
	assert_non_null(sx_page(s, SX_DATA));
	assert_int_equal(sx_modt(s, SX_DATA + PAGE, PAGE, SGX_PT_TCS, &mt), -EAGAIN);
	assert_int_equal(mt.count, 0);
	assert_int_equal(sx_page(s, SX_DATA + PAGE)->vm_max_prot_bits, DRV_VM_READ | DRV_VM_WRITE);
	assert_int_equal(sx_epcm(s, SX_DATA + PAGE).pt, SGX_PT_REG);
	for (unsigned i = 0; i < n; i++) {
		epc_putback(s->emu, frames[i]);
		encl_put(s->encl);
	}
	assert_int_equal(sx_remove(s, SX_DATA, PAGE, &rm), 0);
	assert_int_equal(rm.count, PAGE);
}

/* ---- evicted pages come back first ---- */

/* Reclaim until every page of the enclave, and then its SECS, is evicted. */
static void evict_all(struct sx *s)
{
	for (int i = 0; i < 64 && s->encl->secs.epc_frame != HW_NO_FRAME; i++)
		reclaim_pages(s->emu, 1024);
	assert_int_equal(s->encl->secs.epc_frame, HW_NO_FRAME);
	assert_int_equal(s->encl->secs_child_cnt, 0);
}

static bool resident(struct sx *s, uint64_t off)
{
	return sx_page(s, off)->epc_frame != HW_NO_FRAME;
}

/* sgx_encl_load_page: the ioctls ELDU the SECS and then the page, so
 * restricting, retyping and removing work on evicted pages too. */
static void test_evicted_pages(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions rp;
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;

	evict_all(s);
	assert_false(resident(s, SX_DATA));
	assert_int_equal(sx_restrict(s, SX_DATA, 2 * PAGE, SGX_SECINFO_R, &rp), 0);
	assert_int_equal(rp.count, 2 * PAGE);
	assert_true(s->encl->secs.epc_frame != HW_NO_FRAME);
	assert_true(resident(s, SX_DATA) && resident(s, SX_DATA + PAGE));
	assert_false(resident(s, SX_DATA + 2 * PAGE));
	assert_true(sx_epcm(s, SX_DATA).pr && !sx_epcm(s, SX_DATA).w);
	assert_int_equal(s->encl->secs_child_cnt, 2);

	evict_all(s);
	assert_int_equal(sx_modt(s, SX_DATA + 2 * PAGE, PAGE, SGX_PT_TRIM, &mt), 0);
	assert_int_equal(sx_epcm(s, SX_DATA + 2 * PAGE).pt, SGX_PT_TRIM);
	/* the enclave accepts (its accesses load what it needs) */
	assert_int_equal(sx_eaccept(s, SX_DATA + 2 * PAGE, TRIM_ACCEPT), SGX_SUCCESS);

	/* an accepted TRIM page that was evicted is loaded, then removed */
	evict_all(s);
	uint64_t idx = (SX_DATA + 2 * PAGE) >> 12;
	assert_non_null(xa_load(&s->encl->backing, idx));
	uint32_t nr_free = epc_nr_free(s->emu);
	assert_int_equal(sx_remove(s, SX_DATA + 2 * PAGE, PAGE, &rm), 0);
	assert_int_equal(rm.count, PAGE);
	assert_null(sx_page(s, SX_DATA + 2 * PAGE));
	assert_null(xa_load(&s->encl->backing, idx));
	/* the SECS came back for it and stays: the frame count shows it */
	assert_true(s->encl->secs.epc_frame != HW_NO_FRAME);
	assert_int_equal(s->encl->secs_child_cnt, 0);
	assert_int_equal(epc_nr_free(s->emu), nr_free - 1);
}

/* Below the low watermark every page starts with a direct reclaim batch
 * (sgx_reclaim_direct), which may evict pages of the very range being
 * processed; each is loaded back when its turn comes. */
static void test_reclaim_direct_each_page(void **state)
{
	(void)state;
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = 1024 * PAGE;
	cfg.hw.nr_lps = 8;
	struct sx *s = sx_new_with(&cfg, true);
	struct sgx_enclave_restrict_permissions rp;
	s->emu->cfg.low_watermark = 2048;   /* always "low" from now on */
	s->emu->cfg.reclaim_batch = 4;

	assert_int_equal(sx_restrict(s, SX_SSA, 6 * PAGE, SGX_SECINFO_R, &rp), 0);
	assert_int_equal(rp.count, 6 * PAGE);
	unsigned evicted = 0;
	for (uint64_t off = SX_TCS; off < SX_HOLES; off += PAGE)
		evicted += sx_page(s, off) && !resident(s, off);
	assert_true(evicted > 0);
	assert_int_equal(sx_restrict(s, SX_SSA, 6 * PAGE, 0, &rp), 0);
	assert_int_equal(rp.count, 6 * PAGE);
	s->emu->cfg.low_watermark = 0;
	for (uint64_t off = SX_SSA; off < SX_SSA + 6 * PAGE; off += PAGE) {
		pthread_mutex_lock(&s->encl->lock);
		int err;
		assert_non_null(encl_load_page(s->encl, sx_addr(s, off), &err));
		pthread_mutex_unlock(&s->encl->lock);
		struct hw_epcm_entry e = sx_epcm(s, off);
		assert_true(e.pr && !e.r && !e.w && !e.x);
	}
	sx_free(s);
}

/* ---- another enclave's ioctl in flight ---- */

static void test_concurrent_ioctl_ebusy(void **state)
{
	struct sx *s = *state;
	struct sgx_enclave_restrict_permissions rp;
	atomic_fetch_or(&s->encl->flags, DRV_ENCL_IOCTL);
	assert_int_equal(sx_restrict(s, SX_DATA, PAGE, SGX_SECINFO_R, &rp), -EBUSY);
	atomic_fetch_and(&s->encl->flags, ~(unsigned)DRV_ENCL_IOCTL);
	assert_int_equal(sx_restrict(s, SX_DATA, PAGE, SGX_SECINFO_R, &rp), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_restrict_validation),
		T(test_modify_types_validation),
		T(test_remove_validation),
		cmocka_unit_test(test_not_initialized),
		cmocka_unit_test(test_enodev_without_sgx2),
		T(test_restrict_then_accept),
		T(test_restrict_tcs_einval),
		T(test_restrict_pending_efault_result),
		T(test_restrict_copy_back_fault),
		T(test_trim_accept_remove),
		T(test_modify_types_transitions),
		T(test_modify_types_pending),
		T(test_reg_to_tcs),
		T(test_busy_during_remove_zap),
		T(test_busy_during_tcs_zap),
		T(test_being_reclaimed_eagain),
		T(test_isolated_page),
		T(test_evicted_pages),
		cmocka_unit_test(test_reclaim_direct_each_page),
		T(test_concurrent_ioctl_ebusy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
