/*
 * The machine as a whole: configuration checks, CPUID, leaf dispatch (SGX1
 * vs SGX2, undefined leaves, wrong mode), lazily committed EPC memory and the
 * name tables.  Leaf semantics live in the per-leaf test files.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/fixture.h"

static struct hw_config small_config(void)
{
	struct hw_config c;
	hw_config_defaults(&c);
	c.epc_bytes = 64 * SGX_PAGE_SIZE;
	return c;
}

static void assert_config_rejected(const struct hw_config *c)
{
	errno = 0;
	struct hw_machine *m = hw_machine_create(c);
	assert_null(m);
	assert_int_equal(errno, EINVAL);
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct hw_config c;
	hw_config_defaults(&c);
	assert_int_equal(c.epc_bytes, 64ull << 20);
	assert_int_equal(c.epc_sections, 1);
	assert_int_equal(c.nr_lps, 4);
	assert_false(c.sgx1_only);
	assert_int_equal(c.miscselect_supported, SGX_MISC_EXINFO);
	assert_int_equal(c.attributes_supported, SGX_ATTR_INIT | SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT |
							 SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS);
	assert_int_equal(c.xfrm_supported, 3);

	struct hw_machine *m = hw_machine_create(NULL); /* NULL: the defaults */
	assert_non_null(m);
	assert_int_equal(hw_epc_size(m), 64ull << 20);
	assert_int_equal(hw_epc_frames(m), (64ull << 20) / SGX_PAGE_SIZE);
	assert_int_equal(hw_nr_lps(m), 4);
	assert_int_equal(hw_machine_config(m)->seed, c.seed);
	hw_machine_destroy(m);
}

static void test_config_rejects_bad_sizes(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	c.epc_bytes = 0;
	assert_config_rejected(&c);
	c.epc_bytes = 64 * SGX_PAGE_SIZE + 1;
	assert_config_rejected(&c);
	c.epc_bytes = SGX_PAGE_SIZE / 2;
	assert_config_rejected(&c);
	/* frame numbers are 32-bit with UINT32_MAX meaning "no frame" */
	c.epc_bytes = (uint64_t)UINT32_MAX * SGX_PAGE_SIZE;
	assert_config_rejected(&c);
}

static void test_config_rejects_bad_sections(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	c.epc_sections = 0;
	assert_config_rejected(&c);
	c.epc_sections = HW_MAX_EPC_SECTIONS + 1;
	assert_config_rejected(&c);
	c.epc_sections = 3; /* 64 frames do not split into 3 equal sections */
	assert_config_rejected(&c);

	c.epc_sections = HW_MAX_EPC_SECTIONS;
	struct hw_machine *m = hw_machine_create(&c);
	assert_non_null(m);
	hw_machine_destroy(m);
}

static void test_config_rejects_bad_lp_counts(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	c.nr_lps = 0;
	assert_config_rejected(&c);
	c.nr_lps = HW_MAX_LPS + 1;
	assert_config_rejected(&c);

	c.nr_lps = HW_MAX_LPS;
	struct hw_machine *m = hw_machine_create(&c);
	assert_non_null(m);
	assert_int_equal(hw_nr_lps(m), HW_MAX_LPS);
	assert_non_null(hw_lp_get(m, HW_MAX_LPS - 1));
	assert_null(hw_lp_get(m, HW_MAX_LPS));
	assert_int_equal(hw_lp_id(hw_lp_get(m, 7)), 7);
	hw_machine_destroy(m);
}

static void test_config_rejects_xfrm_without_x87_sse(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	c.xfrm_supported = 1; /* XFRM[1:0] must be supported: every enclave has them */
	assert_config_rejected(&c);
	c.xfrm_supported = 2;
	assert_config_rejected(&c);
}

static void cpuid(struct hw_machine *m, uint32_t leaf, uint32_t subleaf, uint32_t e[4])
{
	/* poison first: hw_cpuid must write every register */
	e[0] = e[1] = e[2] = e[3] = 0xdeadbeef;
	hw_cpuid(m, leaf, subleaf, e);
}

static void assert_regs(const uint32_t e[4], uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	assert_int_equal(e[0], eax);
	assert_int_equal(e[1], ebx);
	assert_int_equal(e[2], ecx);
	assert_int_equal(e[3], edx);
}

static void test_cpuid_feature_leaves(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	c.attributes_supported = 0x1000000b7ull;
	c.xfrm_supported = 0x200000007ull;
	c.miscselect_supported = 0x3;
	struct hw_machine *m = hw_machine_create(&c);
	assert_non_null(m);
	uint32_t e[4];

	cpuid(m, 7, 0, e);
	assert_regs(e, 0, 1u << 2 /* SGX */, 1u << 30 /* SGX_LC */, 0);
	cpuid(m, 7, 1, e);
	assert_regs(e, 0, 0, 0, 0);
	cpuid(m, 0, 0, e); /* leaves other than 7 and 0x12 read as zero */
	assert_regs(e, 0, 0, 0, 0);
	cpuid(m, 0x13, 0, e);
	assert_regs(e, 0, 0, 0, 0);

	cpuid(m, 0x12, 0, e);
	/* SGX1|SGX2, MISCSELECT, max enclave size 2^31 (32-bit) and 2^47 (64-bit) */
	assert_regs(e, 0x3, 0x3, 0, 0x2f1f);
	cpuid(m, 0x12, 1, e);
	assert_regs(e, 0xb7, 0x1, 0x7, 0x2);
	hw_machine_destroy(m);

	c.sgx1_only = true;
	m = hw_machine_create(&c);
	assert_non_null(m);
	cpuid(m, 0x12, 0, e);
	assert_regs(e, 0x1, 0x3, 0, 0x2f1f);
	cpuid(m, 7, 0, e);
	assert_regs(e, 0, 1u << 2, 1u << 30, 0);
	hw_machine_destroy(m);
}

/* Decodes CPUID.12H subleaf 2+i: type 1 = an EPC section. */
static uint32_t section(struct hw_machine *m, unsigned i, uint64_t *base, uint64_t *size)
{
	uint32_t e[4];
	cpuid(m, 0x12, 2 + i, e);
	*base = (e[0] & 0xfffff000u) | ((uint64_t)(e[1] & 0xfffffu) << 32);
	*size = (e[2] & 0xfffff000u) | ((uint64_t)(e[3] & 0xfffffu) << 32);
	assert_int_equal(e[1] & ~0xfffffu, 0);
	assert_int_equal(e[3] & ~0xfffffu, 0);
	assert_int_equal(e[0] & 0xf, e[2] & 0xf); /* type in EAX, property in ECX */
	return e[0] & 0xf;
}

static void assert_sections(struct hw_machine *m, unsigned n)
{
	uint64_t base, size;
	uint64_t expect_base = fx_addr(hw_epc_base(m));
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(section(m, i, &base, &size), 1);
		assert_int_equal(base, expect_base);
		assert_int_equal(size, hw_epc_size(m) / n);
		expect_base += size;
	}
	assert_int_equal(expect_base, fx_addr(hw_epc_base(m)) + hw_epc_size(m));
	uint32_t e[4];
	cpuid(m, 0x12, 2 + n, e); /* first subleaf past the last section: type 0, all zero */
	assert_regs(e, 0, 0, 0, 0);
	cpuid(m, 0x12, 2 + HW_MAX_EPC_SECTIONS + 5, e);
	assert_regs(e, 0, 0, 0, 0);
}

static void test_cpuid_epc_sections(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	struct hw_machine *m = hw_machine_create(&c);
	assert_non_null(m);
	assert_sections(m, 1);
	hw_machine_destroy(m);

	c.epc_sections = 4;
	m = hw_machine_create(&c);
	assert_non_null(m);
	assert_sections(m, 4);
	hw_machine_destroy(m);
}

/* 8 GiB in two sections: each size is 2^32, so only the high field (EDX) is set. */
static void test_cpuid_large_sections_use_high_bits(void **state)
{
	(void)state;
	struct hw_config c = small_config();
	c.epc_bytes = 8ull << 30;
	c.epc_sections = 2;
	struct hw_machine *m = hw_machine_create(&c);
	assert_non_null(m);
	uint32_t e[4];
	cpuid(m, 0x12, 2, e);
	assert_int_equal(e[2], 1);
	assert_int_equal(e[3], 1);
	assert_sections(m, 2);
	hw_machine_destroy(m);
}

static void test_epc_frame_lookup(void **state)
{
	struct fx *f = *state;
	uint64_t base = fx_addr(hw_epc_base(f->m));
	assert_int_equal(hw_epc_frames(f->m), 1024);
	assert_int_equal(hw_epc_frame_of(f->m, base), 0);
	assert_int_equal(hw_epc_frame_of(f->m, base + 5 * SGX_PAGE_SIZE + 17), 5);
	assert_int_equal(hw_epc_frame_of(f->m, base + hw_epc_size(f->m) - 1), 1023);
	assert_int_equal(hw_epc_frame_of(f->m, base + hw_epc_size(f->m)), HW_NO_FRAME);
	assert_int_equal(hw_epc_frame_of(f->m, base - 1), HW_NO_FRAME);
	assert_ptr_equal(hw_epc_page(f->m, 3), hw_epc_base(f->m) + 3 * SGX_PAGE_SIZE);
	assert_null(hw_epc_page(f->m, 1024));
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, 1023, &e));
	assert_false(e.valid);
	assert_int_equal(e.secs, HW_NO_FRAME);
	assert_false(hw_epcm_read(f->m, 1024, &e));
	assert_false(hw_secs_info(f->m, 0, NULL, NULL, NULL, NULL)); /* no SECS yet */
	assert_false(hw_secs_info(f->m, 1024, NULL, NULL, NULL, NULL));
}

/* Bytes the host has committed to the EPC memfd. */
static uint64_t epc_committed(struct hw_machine *m)
{
	struct stat st;
	assert_int_equal(fstat(hw_epc_memfd(m), &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* With shmem transparent huge pages the host commits 2 MiB at a time. */
static bool shmem_thp(void)
{
	char buf[128] = "";
	FILE *fp = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");
	if (fp) {
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = 0;
		fclose(fp);
	}
	return strstr(buf, "[always]") || strstr(buf, "[within_size]") || strstr(buf, "[force]");
}

/* A 1 GiB EPC costs the host nothing until frames are written. */
static void test_epc_committed_only_when_used(void **state)
{
	(void)state;
	struct hw_config c;
	hw_config_defaults(&c);
	c.epc_bytes = 1ull << 30;
	struct fx *f = fx_new(&c);
	assert_int_equal(hw_epc_size(f->m), 1ull << 30);
	assert_int_equal(epc_committed(f->m), 0);

	fx_build_standard(f, true); /* SECS + 12 pages, from frame 0 up */
	assert_success(fx_eaug(f, FX_HEAP));
	uint64_t used = epc_committed(f->m);
	uint64_t touched = (uint64_t)f->next_frame * SGX_PAGE_SIZE;
	assert_int_equal(f->next_frame, 14);
	if (shmem_thp())
		assert_in_range(used, touched, 2ull << 20);
	else
		assert_int_equal(used, touched);

	/* a frame far away commits one more page, not the range up to it */
	memset(hw_epc_page(f->m, hw_epc_frames(f->m) - 1), 0x5a, SGX_PAGE_SIZE);
	if (!shmem_thp())
		assert_int_equal(epc_committed(f->m), touched + SGX_PAGE_SIZE);
	fx_free(f);
}

/* The standard enclave on an SGX2 machine, or on one with SGX1 only. */
static struct fx *enclave_on(bool sgx1_only)
{
	struct hw_config c;
	hw_config_defaults(&c);
	c.epc_bytes = 1024 * SGX_PAGE_SIZE;
	c.sgx1_only = sgx1_only;
	struct fx *f = fx_new(&c);
	fx_build_standard(f, true); /* SGX1 leaves all work */
	return f;
}

/* The GPRSGX area of SSA frame `index` of TCS #1 */
static struct sgx_gprsgx *gprsgx(struct fx *f, unsigned index)
{
	uint8_t *page = hw_epc_page(f->m, fx_frame_of_la(f, FX_SSA + index * SGX_PAGE_SIZE));
	return (struct sgx_gprsgx *)(page + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx));
}

/* r was raised inside the enclave: it must have left through an AEX. */
static void assert_aex(struct fx *f, struct sgx_result r, uint8_t vector)
{
	assert_int_equal(r.vector, vector);
	assert_true(r.aex);
	assert_false(hw_lp_in_enclave(f->lp));
	struct hw_regs *regs = hw_lp_regs(f->lp);
	assert_int_equal(regs->rax, SGX_ERESUME);
	assert_int_equal(regs->rbx, FX_TCS);
	assert_int_equal(regs->rip, FX_AEP);
	assert_int_equal(gprsgx(f, 0)->exitinfo, SGX_EXITINFO_VALID | (SGX_EXITINFO_TYPE_HW << 8) | vector);
}

/*
 * Each SGX2 leaf runs with the same operands on an SGX2 machine, where it
 * succeeds (so the operands are good), and on an SGX1-only one, where it is
 * #GP(0) and changes nothing.  `page` is the la whose EPCM entry the leaf
 * changes; ENCLU leaves run inside the enclave, where the #GP is an AEX.
 */
struct sgx2_case {
	uint32_t leaf;
	bool enclu;
	uint64_t page;
	struct sgx_result (*run)(struct fx *f);
	void (*check_sgx2)(struct hw_epcm_entry e); /* the change on an SGX2 machine */
};

static struct sgx_result encls_on_data(struct fx *f, uint32_t leaf, uint64_t flags)
{
	struct sgx_secinfo *si = fx_scratch(f, 0);
	si->flags = flags;
	return hw_encls(f->lp, leaf, fx_addr(si), fx_addr(hw_epc_page(f->m, fx_frame_of_la(f, FX_DATA))), 0);
}

static struct sgx_result run_emodpr(struct fx *f)
{
	return encls_on_data(f, SGX_EMODPR, SGX_SECINFO_R);
}

static void check_emodpr(struct hw_epcm_entry e)
{
	assert_true(e.r && !e.w && e.pr);
}

static struct sgx_result run_emodt(struct fx *f)
{
	return encls_on_data(f, SGX_EMODT, SGX_SECINFO_PT(SGX_PT_TRIM));
}

static void check_emodt(struct hw_epcm_entry e)
{
	assert_true(e.modified && e.pt == SGX_PT_TRIM);
}

static struct sgx_result run_eaccept(struct fx *f)
{
	/* an unchanged page accepted as RW- with PR: PR is not compared */
	return fx_eaccept(f, f->lp, FX_DATA, FX_REG_RW | SGX_SECINFO_PR);
}

static void check_eaccept(struct hw_epcm_entry e)
{
	assert_true(e.r && e.w && !e.pr);
}

static struct sgx_result run_emodpe(struct fx *f)
{
	uint64_t flags = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_X;
	assert_success(hw_lp_write(f->lp, FX_DATA + 0x40, &flags, sizeof(flags)));
	return hw_enclu(f->lp, SGX_EMODPE, FX_DATA + 0x40, FX_DATA + SGX_PAGE_SIZE, 0);
}

static void check_emodpe(struct hw_epcm_entry e)
{
	assert_true(e.x);
}

static struct sgx_result run_eacceptcopy(struct fx *f)
{
	uint64_t flags = FX_REG_RX;
	assert_success(hw_lp_write(f->lp, FX_DATA + 0x40, &flags, sizeof(flags)));
	return hw_enclu(f->lp, SGX_EACCEPTCOPY, FX_DATA + 0x40, FX_HEAP, FX_CODE);
}

static void check_eacceptcopy(struct hw_epcm_entry e)
{
	assert_true(e.r && !e.w && e.x && !e.pending);
}

static void sgx2_leaf_case(const struct sgx2_case *c)
{
	for (int sgx1 = 0; sgx1 <= 1; sgx1++) {
		struct fx *f = enclave_on(sgx1);
		if (c->leaf == SGX_EACCEPTCOPY) {
			/* the destination: EAUG'd where EAUG exists, else mapped only */
			if (sgx1)
				assert_int_equal(hw_pt_map(f->pt, FX_HEAP, fx_frame(f), HW_PROT_R | HW_PROT_W), 0);
			else
				assert_success(fx_eaug(f, FX_HEAP));
		}
		if (c->enclu)
			assert_success(fx_enter(f, f->lp, FX_TCS));
		uint32_t frame = fx_frame_of_la(f, c->page);
		struct hw_epcm_entry before, after;
		assert_true(hw_epcm_read(f->m, frame, &before));
		hw_lp_regs(f->lp)->rax = 0x1234;
		struct sgx_result r = c->run(f);
		assert_true(hw_epcm_read(f->m, frame, &after));
		if (!sgx1) {
			assert_success(r);
			c->check_sgx2(after);
		} else if (c->enclu) {
			assert_aex(f, r, SGX_VEC_GP);
			assert_memory_equal(&before, &after, sizeof(before));
		} else {
			assert_gp(r);
			assert_false(r.aex);
			assert_memory_equal(&before, &after, sizeof(before));
			/* a fault writes no return code: RAX holds the leaf number */
			assert_int_equal(hw_lp_regs(f->lp)->rax, c->leaf);
		}
		fx_free(f);
	}
}

static void test_sgx1_only_eaug_gp(void **state)
{
	(void)state;
	for (int sgx1 = 0; sgx1 <= 1; sgx1++) {
		struct fx *f = enclave_on(sgx1);
		struct hw_epcm_entry e;
		struct sgx_result r = fx_eaug(f, FX_HEAP);
		assert_true(hw_epcm_read(f->m, f->next_frame - 1, &e));
		if (sgx1) {
			assert_gp(r);
			assert_false(e.valid);
		} else {
			assert_success(r);
			assert_true(e.valid && e.pending);
		}
		fx_free(f);
	}
}

static void test_sgx1_only_emodpr_gp(void **state)
{
	(void)state;
	sgx2_leaf_case(&(struct sgx2_case){ SGX_EMODPR, false, FX_DATA, run_emodpr, check_emodpr });
}

static void test_sgx1_only_emodt_gp(void **state)
{
	(void)state;
	sgx2_leaf_case(&(struct sgx2_case){ SGX_EMODT, false, FX_DATA, run_emodt, check_emodt });
}

static void test_sgx1_only_eaccept_gp_aex(void **state)
{
	(void)state;
	sgx2_leaf_case(&(struct sgx2_case){ SGX_EACCEPT, true, FX_DATA, run_eaccept, check_eaccept });
}

static void test_sgx1_only_emodpe_gp_aex(void **state)
{
	(void)state;
	sgx2_leaf_case(&(struct sgx2_case){ SGX_EMODPE, true, FX_DATA + SGX_PAGE_SIZE, run_emodpe, check_emodpe });
}

static void test_sgx1_only_eacceptcopy_gp_aex(void **state)
{
	(void)state;
	sgx2_leaf_case(&(struct sgx2_case){ SGX_EACCEPTCOPY, true, FX_HEAP, run_eacceptcopy, check_eacceptcopy });
}

static void test_undefined_encls_leaves_gp(void **state)
{
	struct fx *f = *state;
	const uint32_t leaves[] = { SGX_ENCLS_LEAF_COUNT, 0x11, 0x12, 0x13, 0x18, 0x7fffffff, 0xffffffff };
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		struct sgx_result r = hw_encls(f->lp, leaves[i], fx_addr(fx_scratch(f, 0)), fx_addr(f->secs), 0);
		assert_gp(r);
		assert_false(r.aex);
	}
}

static void test_undefined_enclu_leaves_gp(void **state)
{
	struct fx *f = *state;
	const uint32_t leaves[] = { SGX_ENCLU_LEAF_COUNT, 9, 0x10, 0xffffffff };
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		struct sgx_result r = hw_enclu(f->lp, leaves[i], FX_TCS, FX_AEP, 0);
		assert_gp(r);
		assert_false(r.aex);
	}
	/* inside an enclave the #GP is an AEX */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_aex(f, hw_enclu(f->lp, 9, 0, 0, 0), SGX_VEC_GP);
	struct sgx_exinfo *exinfo = (struct sgx_exinfo *)gprsgx(f, 0) - 1;
	assert_int_equal(exinfo->maddr, 0);
	assert_int_equal(exinfo->errcd, 0);
}

static void test_enclu_mode_checks(void **state)
{
	struct fx *f = *state;
	/* leaves for enclave mode, outside it: #GP, no AEX */
	const uint32_t inside_only[] = { SGX_EREPORT, SGX_EGETKEY, SGX_EEXIT, SGX_EACCEPT, SGX_EMODPE,
					 SGX_EACCEPTCOPY };
	for (size_t i = 0; i < sizeof(inside_only) / sizeof(inside_only[0]); i++) {
		struct sgx_result r = hw_enclu(f->lp, inside_only[i], FX_DATA, FX_DATA, FX_DATA);
		assert_gp(r);
		assert_false(r.aex);
	}
	/* EENTER inside an enclave: #GP, taken as an AEX (CSSA 0 -> 1) */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_aex(f, hw_enclu(f->lp, SGX_EENTER, FX_TCS2, FX_AEP, 0), SGX_VEC_GP);
	/* ERESUME inside an enclave likewise (CSSA 1 -> 2) */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_int_equal(hw_lp_regs(f->lp)->rax, 1);
	struct sgx_result r = hw_enclu(f->lp, SGX_ERESUME, FX_TCS2, FX_AEP, 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	assert_false(hw_lp_in_enclave(f->lp));
	assert_int_equal(gprsgx(f, 1)->exitinfo, SGX_EXITINFO_VALID | (SGX_EXITINFO_TYPE_HW << 8) | SGX_VEC_GP);
	/* CSSA = NSSA = 2 now: a third entry is refused */
	assert_gp(fx_enter(f, f->lp, FX_TCS));
}

/* ENCLS is CPL 0: from an enclave (CPL 3) it is #UD, and so an AEX. */
static void test_encls_inside_enclave_ud_aex(void **state)
{
	struct fx *f = *state;
	struct hw_regs *regs = hw_lp_regs(f->lp);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	regs->rsi = 0x5151;
	regs->rip = FX_CODE + 0x10;
	struct sgx_result r = hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(f->secs), 0);
	assert_aex(f, r, SGX_VEC_UD);
	assert_int_equal(r.error_code, 0);
	assert_int_equal(regs->rsi, 0); /* synthetic state */
	struct sgx_gprsgx *gpr = gprsgx(f, 0);
	assert_int_equal(gpr->rip, FX_CODE + 0x10);
	assert_int_equal(gpr->rsi, 0x5151);
	assert_int_equal(gpr->rax, SGX_ETRACK);
	/* the leaf did not run: no ETRACK epoch was started */
	uint64_t epoch = 99;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(f->secs)), NULL, NULL, &epoch, NULL));
	assert_int_equal(epoch, 0);
	/* any leaf number, even an undefined one, is #UD first */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_int_equal(hw_encls(f->lp, 0xffff, 0, 0, 0).vector, SGX_VEC_UD);
	assert_false(hw_lp_in_enclave(f->lp));
}

static void test_rc_names(void **state)
{
	(void)state;
	static const struct {
		uint64_t rc;
		const char *name;
	} names[] = {
		{ SGX_SUCCESS, "SGX_SUCCESS" },
		{ SGX_INVALID_SIG_STRUCT, "SGX_INVALID_SIG_STRUCT" },
		{ SGX_INVALID_ATTRIBUTE, "SGX_INVALID_ATTRIBUTE" },
		{ SGX_BLKSTATE, "SGX_BLKSTATE" },
		{ SGX_INVALID_MEASUREMENT, "SGX_INVALID_MEASUREMENT" },
		{ SGX_NOTBLOCKABLE, "SGX_NOTBLOCKABLE" },
		{ SGX_PG_INVLD, "SGX_PG_INVLD" },
		{ SGX_EPC_PAGE_CONFLICT, "SGX_EPC_PAGE_CONFLICT" },
		{ SGX_INVALID_SIGNATURE, "SGX_INVALID_SIGNATURE" },
		{ SGX_MAC_COMPARE_FAIL, "SGX_MAC_COMPARE_FAIL" },
		{ SGX_PAGE_NOT_BLOCKED, "SGX_PAGE_NOT_BLOCKED" },
		{ SGX_NOT_TRACKED, "SGX_NOT_TRACKED" },
		{ SGX_VA_SLOT_OCCUPIED, "SGX_VA_SLOT_OCCUPIED" },
		{ SGX_CHILD_PRESENT, "SGX_CHILD_PRESENT" },
		{ SGX_ENCLAVE_ACT, "SGX_ENCLAVE_ACT" },
		{ SGX_ENTRYEPOCH_LOCKED, "SGX_ENTRYEPOCH_LOCKED" },
		{ SGX_INVALID_EINITTOKEN, "SGX_INVALID_EINITTOKEN" },
		{ SGX_PREV_TRK_INCMPL, "SGX_PREV_TRK_INCMPL" },
		{ SGX_PG_IS_SECS, "SGX_PG_IS_SECS" },
		{ SGX_PAGE_ATTRIBUTES_MISMATCH, "SGX_PAGE_ATTRIBUTES_MISMATCH" },
		{ SGX_PAGE_NOT_MODIFIABLE, "SGX_PAGE_NOT_MODIFIABLE" },
		{ SGX_PAGE_NOT_DEBUGGABLE, "SGX_PAGE_NOT_DEBUGGABLE" },
		{ SGX_INVALID_CPUSVN, "SGX_INVALID_CPUSVN" },
		{ SGX_INVALID_ISVSVN, "SGX_INVALID_ISVSVN" },
		{ SGX_UNMASKED_EVENT, "SGX_UNMASKED_EVENT" },
		{ SGX_INVALID_KEYNAME, "SGX_INVALID_KEYNAME" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(hw_rc_name(names[i].rc), names[i].name);
	/* unassigned values (isa.md §1.3) */
	const uint64_t unknown[] = { 22, 23, 24, 28, 33, 65, 129, 257, UINT64_MAX };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_string_equal(hw_rc_name(unknown[i]), "SGX_(unknown)");
}

static void test_leaf_names(void **state)
{
	(void)state;
	static const char *const encls[] = { "ECREATE", "EADD", "EINIT", "EREMOVE", "EDBGRD", "EDBGWR",
					     "EEXTEND", "ELDB", "ELDU", "EBLOCK", "EPA", "EWB",
					     "ETRACK", "EAUG", "EMODPR", "EMODT" };
	static const char *const enclu[] = { "EREPORT", "EGETKEY", "EENTER", "ERESUME",
					     "EEXIT", "EACCEPT", "EMODPE", "EACCEPTCOPY" };
	assert_int_equal(sizeof(encls) / sizeof(encls[0]), SGX_ENCLS_LEAF_COUNT);
	assert_int_equal(sizeof(enclu) / sizeof(enclu[0]), SGX_ENCLU_LEAF_COUNT);
	for (uint32_t i = 0; i < SGX_ENCLS_LEAF_COUNT; i++)
		assert_string_equal(hw_encls_name(i), encls[i]);
	for (uint32_t i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		assert_string_equal(hw_enclu_name(i), enclu[i]);
	assert_string_equal(hw_encls_name(SGX_ENCLS_LEAF_COUNT), "ENCLS(?)");
	assert_string_equal(hw_encls_name(UINT32_MAX), "ENCLS(?)");
	assert_string_equal(hw_enclu_name(SGX_ENCLU_LEAF_COUNT), "ENCLU(?)");
	assert_string_equal(hw_enclu_name(UINT32_MAX), "ENCLU(?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_rejects_bad_sizes),
		cmocka_unit_test(test_config_rejects_bad_sections),
		cmocka_unit_test(test_config_rejects_bad_lp_counts),
		cmocka_unit_test(test_config_rejects_xfrm_without_x87_sse),
		cmocka_unit_test(test_cpuid_feature_leaves),
		cmocka_unit_test(test_cpuid_epc_sections),
		cmocka_unit_test(test_cpuid_large_sections_use_high_bits),
		cmocka_unit_test_setup_teardown(test_epc_frame_lookup, fx_setup, fx_teardown),
		cmocka_unit_test(test_epc_committed_only_when_used),
		cmocka_unit_test(test_sgx1_only_eaug_gp),
		cmocka_unit_test(test_sgx1_only_emodpr_gp),
		cmocka_unit_test(test_sgx1_only_emodt_gp),
		cmocka_unit_test(test_sgx1_only_eaccept_gp_aex),
		cmocka_unit_test(test_sgx1_only_emodpe_gp_aex),
		cmocka_unit_test(test_sgx1_only_eacceptcopy_gp_aex),
		cmocka_unit_test_setup_teardown(test_undefined_encls_leaves_gp, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_undefined_enclu_leaves_gp, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enclu_mode_checks, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_encls_inside_enclave_ud_aex, fx_setup_initialized, fx_teardown),
		cmocka_unit_test(test_rc_names),
		cmocka_unit_test(test_leaf_names),
	};
	return cmocka_run_group_tests_name("machine", tests, NULL, NULL);
}
