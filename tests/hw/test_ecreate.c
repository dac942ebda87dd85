/*
 * ECREATE (isa.md §4.1): success effects, then every fault on its own —
 * operand alignment and residency, PAGEINFO / SECINFO, a used target, and
 * each SECS validity rule of step 5 — with the boundary values that pass.
 */
#include <stdlib.h>

#include "common/fixture.h"

static struct sgx_secs src;
static struct sgx_secinfo si;
static struct sgx_pageinfo pi;

/* A valid request: the standard enclave's SECS. */
static void reset(void)
{
	memset(&src, 0, sizeof(src));
	src.base = FX_BASE;
	src.size = FX_SIZE;
	src.ssa_frame_size = 1;
	src.miscselect = SGX_MISC_EXINFO;
	src.attributes.flags = FX_ATTRS;
	src.attributes.xfrm = 3;
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_SECS) };
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(&src), .secinfo = fx_addr(&si) };
}

static struct sgx_result ecreate_at(struct fx *f, const void *target)
{
	return hw_encls(f->lp, SGX_ECREATE, fx_addr(&pi), fx_addr(target), 0);
}

static struct hw_epcm_entry epcm_at(struct fx *f, const void *page)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(f->m, hw_epc_frame_of(f->m, fx_addr(page)), &e));
	return e;
}

/* A refused ECREATE leaves the frame free and creates no enclave. */
static void assert_untouched(struct fx *f, const void *frame)
{
	assert_false(epcm_at(f, frame).valid);
	assert_false(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(frame)), NULL, NULL, NULL, NULL));
}

static int setup(void **state)
{
	reset();
	return fx_setup(state);
}

static void test_success(void **state)
{
	struct fx *f = *state;
	src.isv_prod_id = 0x55;
	src.isv_svn = 0x66;
	memset(src.mrenclave, 0xee, sizeof(src.mrenclave)); /* not a reserved field */
	uint8_t *a = fx_frame(f), *b = fx_frame(f);
	hw_lp_regs(f->lp)->rflags = HW_RFLAGS_ZF;
	hw_lp_regs(f->lp)->rax = 77;
	assert_success(ecreate_at(f, a));
	/* ECREATE reports no code: RAX and RFLAGS are not written */
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_ECREATE);

	struct hw_epcm_entry e = epcm_at(f, a);
	struct hw_epcm_entry want = { .valid = true, .pt = SGX_PT_SECS, .secs = HW_NO_FRAME };
	assert_memory_equal(&e, &want, sizeof(e));
	const struct sgx_secs *secs = (const struct sgx_secs *)a;
	assert_int_equal(secs->base, FX_BASE);
	assert_int_equal(secs->size, FX_SIZE);
	assert_int_equal(secs->ssa_frame_size, 1);
	assert_int_equal(secs->miscselect, SGX_MISC_EXINFO);
	assert_int_equal(secs->attributes.flags, FX_ATTRS);
	assert_int_equal(secs->attributes.xfrm, 3);
	assert_int_equal(secs->isv_prod_id, 0);
	assert_int_equal(secs->isv_svn, 0);
	static const uint8_t zero[32];
	assert_memory_equal(secs->mrenclave, zero, 32);

	uint64_t eid_a = 0, eid_b = 0;
	bool init = true;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(a)), &eid_a, &init, NULL, NULL));
	assert_false(init);
	assert_success(ecreate_at(f, b));
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(b)), &eid_b, NULL, NULL, NULL));
	assert_int_not_equal(eid_a, 0);
	assert_int_not_equal(eid_a, eid_b);
}

/* Step 1: PAGEINFO 32-aligned, RCX 4K-aligned (#GP), RCX in the EPC (#PF). */
static void test_operands(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	uint8_t *host = fx_scratch(f, 0);
	assert_gp(ecreate_at(f, frame + 0x800));
	assert_gp(ecreate_at(f, frame + 8));
	assert_pf(ecreate_at(f, host), fx_addr(host), FX_PFEC_ENCLS);
	assert_gp(ecreate_at(f, host + 8)); /* alignment first */

	static struct sgx_pageinfo pis[2] __attribute__((aligned(32)));
	pis[0] = pi;
	assert_gp(hw_encls(f->lp, SGX_ECREATE, fx_addr(&pis[0]) + 16, fx_addr(frame), 0));
	/* PAGEINFO alignment comes before the EPC check of RCX */
	assert_gp(hw_encls(f->lp, SGX_ECREATE, fx_addr(&pis[0]) + 8, fx_addr(host), 0));
	/* an unreadable PAGEINFO: an ordinary #PF on the kernel address, after
	 * RCX has been found in the EPC */
	assert_pf(hw_encls(f->lp, SGX_ECREATE, 0x20, fx_addr(frame), 0), 0x20, 0);
	assert_pf(hw_encls(f->lp, SGX_ECREATE, 0x20, fx_addr(host), 0), fx_addr(host), FX_PFEC_ENCLS);
	assert_untouched(f, frame);
	assert_success(ecreate_at(f, frame));
}

/* Step 2 and 3: PAGEINFO fields and SECINFO. */
static void test_pageinfo_secinfo(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	static struct sgx_secinfo si2[2];

	pi.srcpge = fx_addr(&src) + 64;
	assert_gp(ecreate_at(f, frame));
	reset();
	pi.secinfo = fx_addr(&si) + 32;
	assert_gp(ecreate_at(f, frame));
	reset();
	pi.linaddr = FX_BASE;
	assert_gp(ecreate_at(f, frame));
	reset();
	pi.secs = fx_addr(frame);
	assert_gp(ecreate_at(f, frame));
	reset();
	pi.secinfo = 0; /* aligned but unreadable */
	assert_pf(ecreate_at(f, frame), 0, 0);
	reset();

	uint64_t bad_flags[] = {
		SGX_SECINFO_PT(SGX_PT_REG), SGX_SECINFO_PT(SGX_PT_TCS), SGX_SECINFO_PT(SGX_PT_VA),
		SGX_SECINFO_PT(SGX_PT_SECS) | 0x40,       /* bit 6 reserved */
		SGX_SECINFO_PT(SGX_PT_SECS) | 0x80,       /* bit 7 reserved */
		SGX_SECINFO_PT(SGX_PT_SECS) | (1ull << 16),
		SGX_SECINFO_PT(SGX_PT_SECS) | (1ull << 63),
	};
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		si.flags = bad_flags[i];
		struct sgx_result r = ecreate_at(f, frame);
		if (r.vector != SGX_VEC_GP)
			fail_msg("SECINFO.FLAGS %#llx: vector %u", (unsigned long long)bad_flags[i], r.vector);
	}
	reset();
	si.reserved[0] = 1;
	assert_gp(ecreate_at(f, frame));
	reset();
	si.reserved[55] = 0x80;
	assert_gp(ecreate_at(f, frame));
	/* R/W/X are not reserved bits: accepted, and the SECS still gets no rights */
	reset();
	si.flags |= SGX_SECINFO_RWX;
	uint8_t *rwx = fx_frame(f);
	assert_success(ecreate_at(f, rwx));
	struct hw_epcm_entry e = epcm_at(f, rwx);
	assert_false(e.r || e.w || e.x);
	/* SECINFO is read through PAGEINFO.SECINFO, wherever it is */
	reset();
	si2[1] = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_SECS) };
	pi.secinfo = fx_addr(&si2[1]);
	si.flags = 0xdead; /* the default slot is not consulted */
	assert_untouched(f, frame);
	assert_success(ecreate_at(f, frame));
}

/* Step 4: the target must be free: #PF(RCX) with the ENCLS EPCM error code,
 * before the SECS is even read. */
static void test_target_in_use(void **state)
{
	struct fx *f = *state;
	fx_build_standard(f, false);
	uint8_t before[SGX_PAGE_SIZE];
	memcpy(before, f->secs, sizeof(before));
	assert_pf(ecreate_at(f, f->secs), fx_addr(f->secs), FX_PFEC_ENCLS);
	assert_memory_equal(before, f->secs, sizeof(before));
	uint8_t *reg = hw_epc_page(f->m, fx_frame_of_la(f, FX_DATA));
	assert_pf(ecreate_at(f, reg), fx_addr(reg), FX_PFEC_ENCLS);
	/* a used target wins over a bad SECS */
	src.size = 3;
	assert_pf(ecreate_at(f, reg), fx_addr(reg), FX_PFEC_ENCLS);
	/* but SECINFO is checked before the target */
	reset();
	si.flags = SGX_SECINFO_PT(SGX_PT_REG);
	assert_gp(ecreate_at(f, reg));
}

/* Step 5: each rule of the SECS on its own → #GP, nothing created. */
struct secs_case {
	const char *name;
	void (*mutate)(struct sgx_secs *s);
};

static void xfrm_1(struct sgx_secs *s) { s->attributes.xfrm = 1; }
static void xfrm_2(struct sgx_secs *s) { s->attributes.xfrm = 2; }
static void xfrm_0(struct sgx_secs *s) { s->attributes.xfrm = 0; }
static void xfrm_avx(struct sgx_secs *s) { s->attributes.xfrm = 7; }         /* not in CPUID's mask */
static void xfrm_high(struct sgx_secs *s) { s->attributes.xfrm = 3 | (1ull << 40); }
static void misc_cpinfo(struct sgx_secs *s) { s->miscselect = 2; }
static void misc_high(struct sgx_secs *s) { s->miscselect = SGX_MISC_EXINFO | 0x80000000u; }
static void ssa_zero(struct sgx_secs *s) { s->ssa_frame_size = 0; }
static void base_noncanonical(struct sgx_secs *s) { s->base = 0x0000800000000000ull; }
static void base_noncanonical_hi(struct sgx_secs *s) { s->base = 0xfff0000000000000ull; }
static void base32_above_4g(struct sgx_secs *s)
{
	s->attributes.flags &= ~SGX_ATTR_MODE64BIT;
	s->base = 1ull << 32;
}
static void size32_too_large(struct sgx_secs *s)
{
	s->attributes.flags &= ~SGX_ATTR_MODE64BIT;
	s->base = 0;
	s->size = 1ull << 31;           /* CPUID.12H.0:EDX[7:0] = 31 */
}
static void size64_too_large(struct sgx_secs *s)
{
	s->base = 0;
	s->size = 1ull << 47;           /* CPUID.12H.0:EDX[15:8] = 47 */
}
static void size_zero(struct sgx_secs *s) { s->size = 0; }
static void size_one_page(struct sgx_secs *s) { s->size = 4096; }
static void size_not_pow2(struct sgx_secs *s) { s->size = 3 * 4096; }
static void size_not_pow2_big(struct sgx_secs *s) { s->size = FX_SIZE + 4096; }
static void base_misaligned(struct sgx_secs *s) { s->base = FX_BASE + 0x1000; }
static void base_half_aligned(struct sgx_secs *s) { s->base = FX_BASE + FX_SIZE / 2; }
static void attr_init(struct sgx_secs *s) { s->attributes.flags |= SGX_ATTR_INIT; }
static void attr_bit3(struct sgx_secs *s) { s->attributes.flags |= 0x8; }
static void attr_cet(struct sgx_secs *s) { s->attributes.flags |= SGX_ATTR_CET; }
static void attr_aexnotify(struct sgx_secs *s) { s->attributes.flags |= SGX_ATTR_AEXNOTIFY; }
static void attr_bit63(struct sgx_secs *s) { s->attributes.flags |= 1ull << 63; }
static void res1_first(struct sgx_secs *s) { s->reserved1[0] = 1; }
static void res1_last(struct sgx_secs *s) { s->reserved1[23] = 1; }
static void res2(struct sgx_secs *s) { s->reserved2[31] = 1; }
static void res3(struct sgx_secs *s) { s->reserved3[0] = 1; }
static void res4_first(struct sgx_secs *s) { s->reserved4[0] = 1; }
static void res4_last(struct sgx_secs *s) { s->reserved4[sizeof(s->reserved4) - 1] = 1; }
static void configid_no_kss(struct sgx_secs *s) { s->config_id[63] = 1; }
static void configsvn_no_kss(struct sgx_secs *s) { s->config_svn = 1; }

static const struct secs_case gp_cases[] = {
	{ "XFRM = 1 (no SSE)", xfrm_1 },
	{ "XFRM = 2 (no x87)", xfrm_2 },
	{ "XFRM = 0", xfrm_0 },
	{ "XFRM AVX unsupported", xfrm_avx },
	{ "XFRM bit 40", xfrm_high },
	{ "MISCSELECT CPINFO unsupported", misc_cpinfo },
	{ "MISCSELECT bit 31", misc_high },
	{ "SSAFRAMESIZE 0 too small", ssa_zero },
	{ "BASEADDR non-canonical", base_noncanonical },
	{ "BASEADDR non-canonical (high)", base_noncanonical_hi },
	{ "32-bit BASEADDR >= 4 GiB", base32_above_4g },
	{ "32-bit SIZE 2^31", size32_too_large },
	{ "64-bit SIZE 2^47", size64_too_large },
	{ "SIZE 0", size_zero },
	{ "SIZE 4096 < 8192", size_one_page },
	{ "SIZE 3 pages", size_not_pow2 },
	{ "SIZE 1 MiB + 4 KiB", size_not_pow2_big },
	{ "BASEADDR misaligned", base_misaligned },
	{ "BASEADDR aligned to SIZE/2", base_half_aligned },
	{ "ATTRIBUTES.INIT", attr_init },
	{ "ATTRIBUTES bit 3", attr_bit3 },
	{ "ATTRIBUTES.CET unsupported", attr_cet },
	{ "ATTRIBUTES.AEXNOTIFY unsupported", attr_aexnotify },
	{ "ATTRIBUTES bit 63", attr_bit63 },
	{ "RESERVED1[0]", res1_first },
	{ "RESERVED1[23]", res1_last },
	{ "RESERVED2", res2 },
	{ "RESERVED3", res3 },
	{ "RESERVED4[0]", res4_first },
	{ "RESERVED4[last]", res4_last },
	{ "CONFIGID without KSS", configid_no_kss },
	{ "CONFIGSVN without KSS", configsvn_no_kss },
};

static void test_secs_rules(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = fx_frame(f);
	for (size_t i = 0; i < sizeof(gp_cases) / sizeof(gp_cases[0]); i++) {
		reset();
		gp_cases[i].mutate(&src);
		struct sgx_result r = ecreate_at(f, frame);
		if (r.vector != SGX_VEC_GP)
			fail_msg("%s: vector %u, want #GP", gp_cases[i].name, r.vector);
		assert_untouched(f, frame);
	}
	reset();
	assert_success(ecreate_at(f, frame));
}

/* The limits themselves are accepted. */
static void small_enclave(struct sgx_secs *s) { s->size = 8192; s->base = 0x2000; }
static void base_zero(struct sgx_secs *s) { s->base = 0; }
static void canonical_high(struct sgx_secs *s) { s->base = 0xffff800000000000ull; }
static void size64_max(struct sgx_secs *s) { s->base = 0; s->size = 1ull << 46; }
static void size32_max(struct sgx_secs *s)
{
	s->attributes.flags &= ~SGX_ATTR_MODE64BIT;
	s->base = 0x80000000ull;
	s->size = 1ull << 30;
}
static void base32_top(struct sgx_secs *s)
{
	s->attributes.flags &= ~SGX_ATTR_MODE64BIT;
	s->base = 0xfff00000ull;
}
static void no_misc(struct sgx_secs *s) { s->miscselect = 0; }
static void big_ssa(struct sgx_secs *s) { s->ssa_frame_size = 4; }
static void kss_config(struct sgx_secs *s)
{
	s->attributes.flags |= SGX_ATTR_KSS;
	s->config_id[0] = 0xaa;
	s->config_id[63] = 0xbb;
	s->config_svn = 9;
}
static void all_supported(struct sgx_secs *s)
{
	s->attributes.flags |= SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS;
}

static const struct secs_case ok_cases[] = {
	{ "SIZE 8192", small_enclave },
	{ "BASEADDR 0", base_zero },
	{ "BASEADDR canonical high half", canonical_high },
	{ "64-bit SIZE 2^46", size64_max },
	{ "32-bit SIZE 2^30", size32_max },
	{ "32-bit BASEADDR just below 4 GiB", base32_top },
	{ "MISCSELECT 0", no_misc },
	{ "SSAFRAMESIZE 4", big_ssa },
	{ "CONFIGID/CONFIGSVN with KSS", kss_config },
	{ "every supported attribute", all_supported },
};

static void test_secs_limits_accepted(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		reset();
		ok_cases[i].mutate(&src);
		uint8_t *frame = fx_frame(f);
		struct sgx_result r = ecreate_at(f, frame);
		if (!sgx_ok(r))
			fail_msg("%s: vector %u rax %llu, want success", ok_cases[i].name, r.vector,
				 (unsigned long long)r.rax);
		const struct sgx_secs *secs = (const struct sgx_secs *)frame;
		assert_memory_equal(secs->config_id, src.config_id, sizeof(src.config_id));
		assert_int_equal(secs->config_svn, src.config_svn);
	}
}

/* The masks are CPUID's, not constants: a CPU with AVX accepts XFRM = 7, one
 * without PROVISIONKEY refuses it, one with CPINFO accepts MISCSELECT 2. */
static void test_cpuid_masks(void **state)
{
	(void)state;
	struct hw_config c;
	hw_config_defaults(&c);
	c.epc_bytes = 64 * SGX_PAGE_SIZE;
	c.xfrm_supported = 7;
	c.miscselect_supported = 3;
	c.attributes_supported &= ~SGX_ATTR_PROVISIONKEY;
	struct fx *f = fx_new(&c);
	uint8_t *frame = fx_frame(f);
	reset();
	src.attributes.xfrm = 7;
	src.miscselect = 3;
	assert_success(ecreate_at(f, fx_frame(f)));
	reset();
	src.attributes.xfrm = 5; /* AVX without SSE */
	assert_gp(ecreate_at(f, frame));
	reset();
	src.attributes.flags |= SGX_ATTR_PROVISIONKEY;
	assert_gp(ecreate_at(f, frame));
	assert_untouched(f, frame);
	fx_free(f);
}

/* XFRM consistency (the XSETBV rules) and SSAFRAMESIZE against the real
 * XSAVE size, on a CPU that supports AVX-512, MPX, PKRU and AMX. */
static void test_xfrm_and_ssa_size(void **state)
{
	(void)state;
	struct hw_config c;
	hw_config_defaults(&c);
	c.epc_bytes = 64 * SGX_PAGE_SIZE;
	c.xfrm_supported = 0x602ff;
	struct fx *f = fx_new(&c);
	uint8_t *frame = fx_frame(f);
	static const uint64_t bad[] = {
		0x23,    /* AVX-512 opmask alone */
		0xe3,    /* AVX-512 without AVX */
		0x67,    /* two of the three AVX-512 components */
		0x0b,    /* MPX BNDREGS without BNDCSR */
		0x13,    /* MPX BNDCSR without BNDREGS */
		0x20003, /* AMX TILECFG without TILEDATA */
		0x40003, /* AMX TILEDATA without TILECFG */
		0x100003, /* bit 20: not supported */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset();
		src.attributes.xfrm = bad[i];
		struct sgx_result r = ecreate_at(f, frame);
		if (r.vector != SGX_VEC_GP)
			fail_msg("XFRM %#llx: vector %u, want #GP", (unsigned long long)bad[i], r.vector);
	}
	static const uint64_t good[] = { 0x7, 0xe7, 0x1b, 0x203, 0x2ff };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		reset();
		src.attributes.xfrm = good[i]; /* everything but AMX fits one page */
		struct sgx_result r = ecreate_at(f, fx_frame(f));
		if (!sgx_ok(r))
			fail_msg("XFRM %#llx: vector %u, want success", (unsigned long long)good[i], r.vector);
	}
	/* AMX: 2816 + 8192 bytes of XSAVE + 184 GPRSGX + 16 EXINFO needs 3 pages */
	reset();
	src.attributes.xfrm = 0x60003;
	src.ssa_frame_size = 2;
	assert_gp(ecreate_at(f, frame));
	src.ssa_frame_size = 3;
	assert_success(ecreate_at(f, frame));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_operands, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pageinfo_secinfo, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_target_in_use, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_secs_rules, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_secs_limits_accepted, setup, fx_teardown),
		cmocka_unit_test(test_cpuid_masks),
		cmocka_unit_test(test_xfrm_and_ssa_size),
	};
	return cmocka_run_group_tests_name("ECREATE", tests, NULL, NULL);
}
