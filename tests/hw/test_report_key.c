/*
 * EREPORT and EGETKEY (isa.md §4.17, layouts §2.8): every fault, every return
 * code, and the keys themselves — a REPORT from enclave A for enclave B is
 * verified in the test with OpenSSL under the key B gets from EGETKEY(REPORT);
 * seal keys follow KEYPOLICY; the EINITTOKEN key MACs tokens EINIT accepts.
 */
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "common/fixture.h"
#include "hw/keys.h" /* hw_launch_key: the key EINIT checks tokens with */

#define OPS          0x4000ull  /* page of each test enclave for operands */
#define TI_OFF       0x000ull   /* TARGETINFO */
#define RD_OFF       0x200ull   /* REPORTDATA */
#define REP_OFF      0x400ull   /* REPORT */
#define KR_OFF       0x600ull   /* KEYREQUEST */
#define KEY_OFF      0x800ull   /* key output */
#define REPORT_BYTES 432
#define OUTSIDE      0x30000000ull /* a mapped non-enclave page */

struct encl {
	uint64_t base;
	uint8_t *secs;
};

static uint16_t build_isvprodid = 0x1234; /* ISVPRODID of the next build() */

static const struct sgx_secs *secs_of(const struct encl *e)
{
	return (const struct sgx_secs *)e->secs;
}

static uint64_t ops(const struct encl *e, uint64_t off)
{
	return e->base + OPS + off;
}

/*
 * A small enclave at base: TCS (OSSA 0x1000, NSSA 2, OENTRY 0x5000), SSA
 * frames at +0x1000/+0x2000, data at +0x3000 (holding `variant`, so MRENCLAVE
 * differs), operand page at +0x4000, code at +0x5000.  Signed by `key`
 * (fx_key() if NULL) with ISVSVN 7; EINIT sets IA32_SGXLEPUBKEYHASH to the
 * signer, so EINITTOKENKEY is allowed.
 */
static void build(struct fx *f, struct encl *e, uint64_t base, uint64_t attrs, uint8_t variant, EVP_PKEY *key)
{
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	assert_success(fx_ecreate(f, base, FX_SIZE, attrs));
	memset(page, 0, sizeof(page));
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	tcs->ossa = 0x1000;
	tcs->nssa = 2;
	tcs->oentry = 0x5000;
	assert_success(fx_eadd(f, base, FX_TCS_FLAGS, page, true));
	assert_success(fx_eadd(f, base + 0x1000, FX_REG_RW, NULL, true));
	assert_success(fx_eadd(f, base + 0x2000, FX_REG_RW, NULL, true));
	memset(page, variant, sizeof(page));
	assert_success(fx_eadd(f, base + 0x3000, FX_REG_RW, page, true));
	assert_success(fx_eadd(f, base + OPS, FX_REG_RW, NULL, true));
	memset(page, 0xc3, sizeof(page));
	assert_success(fx_eadd(f, base + 0x5000, FX_REG_RX, page, true));
	static struct sgx_sigstruct ss;
	fx_sigstruct(f, &ss);
	ss.body.isvprodid = build_isvprodid;
	if (key || build_isvprodid != 0x1234)
		assert_int_equal(sgx_sign_sigstruct(key ? key : fx_key(), &ss), 0);
	assert_success(fx_einit_with(f, &ss));
	e->base = base;
	e->secs = f->secs;
}

static EVP_PKEY *other_key(void)
{
	static EVP_PKEY *key;
	if (!key)
		key = sgx_sign_keygen();
	assert_non_null(key);
	return key;
}

static void enter(struct fx *f, const struct encl *e)
{
	assert_success(fx_enter(f, f->lp, e->base));
}

/* Back into the enclave after a fault's AEX: the frame is popped again. */
static void resume(struct fx *f, const struct encl *e)
{
	assert_success(hw_enclu(f->lp, SGX_ERESUME, e->base, FX_AEP, 0));
}

static void put(struct fx *f, uint64_t la, const void *p, size_t n)
{
	assert_success(hw_lp_write(f->lp, la, p, n));
}

static void get(struct fx *f, uint64_t la, void *p, size_t n)
{
	assert_success(hw_lp_read(f->lp, la, p, n));
}

static void targetinfo_of(const struct encl *t, struct sgx_targetinfo *ti)
{
	memset(ti, 0, sizeof(*ti));
	memcpy(ti->mrenclave, secs_of(t)->mrenclave, 32);
	ti->attributes = secs_of(t)->attributes;
	ti->miscselect = secs_of(t)->miscselect;
	ti->config_svn = secs_of(t)->config_svn;
	memcpy(ti->config_id, secs_of(t)->config_id, 64);
}

/* EREPORT inside e (the LP must be inside e) for target, with REPORTDATA rd */
static struct sgx_result ereport_ti(struct fx *f, const struct encl *e, const struct sgx_targetinfo *ti,
				    uint8_t rd_byte, struct sgx_report *out)
{
	uint8_t rd[64];
	memset(rd, rd_byte, sizeof(rd));
	put(f, ops(e, TI_OFF), ti, sizeof(*ti));
	put(f, ops(e, RD_OFF), rd, sizeof(rd));
	struct sgx_result r = hw_enclu(f->lp, SGX_EREPORT, ops(e, TI_OFF), ops(e, RD_OFF), ops(e, REP_OFF));
	if (sgx_ok(r) && out) {
		memset(out, 0, sizeof(*out));
		get(f, ops(e, REP_OFF), out, REPORT_BYTES);
	}
	return r;
}

static struct sgx_result ereport(struct fx *f, const struct encl *e, const struct encl *target, uint8_t rd_byte,
				 struct sgx_report *out)
{
	struct sgx_targetinfo ti;
	targetinfo_of(target, &ti);
	return ereport_ti(f, e, &ti, rd_byte, out);
}

static void keyrequest(struct sgx_keyrequest *kr, uint16_t name, uint16_t policy)
{
	memset(kr, 0, sizeof(*kr));
	kr->keyname = name;
	kr->keypolicy = policy;
	kr->isvsvn = 7;
	kr->cpusvn[0] = 1;
}

/* EGETKEY inside e; the key is read back only on success */
static struct sgx_result egetkey(struct fx *f, const struct encl *e, const struct sgx_keyrequest *kr, uint8_t key[16])
{
	put(f, ops(e, KR_OFF), kr, sizeof(*kr));
	struct sgx_result r = hw_enclu(f->lp, SGX_EGETKEY, ops(e, KR_OFF), ops(e, KEY_OFF), 0);
	if (sgx_ok(r) && key)
		get(f, ops(e, KEY_OFF), key, 16);
	return r;
}

/* A key that must be granted */
static void key_of(struct fx *f, const struct encl *e, const struct sgx_keyrequest *kr, uint8_t key[16])
{
	assert_success(egetkey(f, e, kr, key));
}

/* The test's own AES-128-CMAC, straight from OpenSSL */
static void cmac(const uint8_t key[16], const void *data, size_t len, uint8_t out[16])
{
	EVP_MAC *alg = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(alg);
	char cipher[] = "AES-128-CBC";
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
				OSSL_PARAM_construct_end() };
	size_t n = 0;
	assert_true(EVP_MAC_init(ctx, key, 16, params));
	assert_true(EVP_MAC_update(ctx, data, len));
	assert_true(EVP_MAC_final(ctx, out, &n, 16));
	assert_int_equal(n, 16);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(alg);
}

static bool report_verifies(const struct sgx_report *rep, const uint8_t key[16])
{
	uint8_t mac[16];
	cmac(key, &rep->body, sizeof(rep->body), mac);
	return memcmp(mac, rep->mac, 16) == 0;
}

/* The report key e gets for a REPORT's KEYID */
static void report_key(struct fx *f, const struct encl *e, const struct sgx_report *rep, uint8_t key[16])
{
	struct sgx_keyrequest kr;
	keyrequest(&kr, SGX_KEY_REPORT, 0);
	memcpy(kr.keyid, rep->keyid, 32);
	key_of(f, e, &kr, key);
}

/* A fault inside a key leaf: an AEX with the full address in EXINFO */
static void assert_aex_pf(struct fx *f, const struct encl *e, struct sgx_result r, uint64_t la, uint32_t ec)
{
	assert_true(r.aex);
	assert_pf(r, la & SGX_PAGE_MASK, ec);
	const uint8_t *ssa = hw_epc_page(f->m, fx_frame_of_la(f, e->base + 0x1000));
	const struct sgx_exinfo *x =
		(const struct sgx_exinfo *)(ssa + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx) - sizeof(struct sgx_exinfo));
	assert_int_equal(x->maddr, la);
	assert_int_equal(x->errcd, ec);
	resume(f, e);
}

static void assert_aex_gp(struct fx *f, const struct encl *e, struct sgx_result r)
{
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	resume(f, e);
}

/* fx_setup plus enclaves A (B at 0x50000000 when needed) */
struct two {
	struct fx *f;
	struct encl a, b;
};

static int setup_two(void **state)
{
	static struct two t;
	t.f = fx_new(NULL);
	build(t.f, &t.a, 0x40000000, FX_ATTRS, 'A', NULL);
	build(t.f, &t.b, 0x50000000, FX_ATTRS, 'B', NULL);
	assert_int_equal(hw_pt_map(t.f->pt, OUTSIDE, fx_scratch(t.f, 0), HW_PROT_R | HW_PROT_W), 0);
	*state = &t;
	return 0;
}

static int teardown_two(void **state)
{
	struct two *t = *state;
	fx_free(t->f);
	return 0;
}

/* ---- EREPORT ---- */

static void test_ereport_body(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	uint8_t fill[512];
	memset(fill, 0xee, sizeof(fill));
	enter(f, &t->a);
	put(f, ops(&t->a, REP_OFF), fill, sizeof(fill));
	struct sgx_report rep;
	assert_success(ereport(f, &t->a, &t->b, 0x5c, &rep));
	const struct sgx_report_body *b = &rep.body;
	const struct sgx_secs *s = secs_of(&t->a);
	uint8_t cpusvn[16] = { 1 };
	assert_memory_equal(b->cpusvn, cpusvn, 16);
	assert_int_equal(b->miscselect, SGX_MISC_EXINFO);
	assert_int_equal(b->attributes.flags, FX_ATTRS | SGX_ATTR_INIT);
	assert_int_equal(b->attributes.xfrm, 3);
	assert_memory_equal(b->mrenclave, s->mrenclave, 32);
	assert_memory_equal(b->mrsigner, s->mrsigner, 32);
	assert_int_equal(b->isv_prod_id, 0x1234);
	assert_int_equal(b->isv_svn, 7);
	assert_int_equal(b->config_svn, 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(b->report_data[i], 0x5c);
	static const uint8_t zero[64];
	assert_memory_equal(b->reserved1, zero, sizeof(b->reserved1));
	assert_memory_equal(b->reserved2, zero, sizeof(b->reserved2));
	assert_memory_equal(b->reserved3, zero, sizeof(b->reserved3));
	assert_memory_equal(b->reserved4, zero, sizeof(b->reserved4));
	assert_memory_equal(b->config_id, zero, 64);
	assert_memory_not_equal(rep.keyid, zero, 32);
	/* exactly 432 bytes written */
	uint8_t tail[512 - REPORT_BYTES];
	get(f, ops(&t->a, REP_OFF) + REPORT_BYTES, tail, sizeof(tail));
	assert_memory_equal(tail, fill, sizeof(tail));
	/* the same KEYID every time (CR_REPORT_KEYID), the MAC covers REPORTDATA */
	struct sgx_report rep2;
	assert_success(ereport(f, &t->a, &t->b, 0x5d, &rep2));
	assert_memory_equal(rep2.keyid, rep.keyid, 32);
	assert_memory_not_equal(rep2.mac, rep.mac, 16);
	/* EREPORT is not a code-reporting leaf: RAX and flags untouched */
	assert_int_equal(hw_lp_regs(f->lp)->rax, SGX_EREPORT);
}

/* A's REPORT for B: B's EGETKEY(REPORT) key verifies it; A's key does not */
static void test_report_verified_by_target(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_report rep, self;
	enter(f, &t->a);
	assert_success(ereport(f, &t->a, &t->b, 1, &rep));
	assert_success(ereport(f, &t->a, &t->a, 1, &self));
	uint8_t key_a[16];
	report_key(f, &t->a, &rep, key_a);
	assert_success(fx_exit(f, f->lp));

	enter(f, &t->b);
	uint8_t key_b[16];
	report_key(f, &t->b, &rep, key_b);
	assert_true(report_verifies(&rep, key_b));
	assert_false(report_verifies(&rep, key_a));
	assert_true(report_verifies(&self, key_a));
	assert_false(report_verifies(&self, key_b));
	/* a tampered body fails */
	rep.body.isv_svn++;
	assert_false(report_verifies(&rep, key_b));
	rep.body.isv_svn--;
	/* the KEYID is part of the key */
	struct sgx_keyrequest kr;
	keyrequest(&kr, SGX_KEY_REPORT, 0);
	memcpy(kr.keyid, rep.keyid, 32);
	kr.keyid[31] ^= 1;
	uint8_t other[16];
	key_of(f, &t->b, &kr, other);
	assert_false(report_verifies(&rep, other));
}

/* The report key is the target's: wrong ATTRIBUTES/MISCSELECT/MRENCLAVE in
 * TARGETINFO give a MAC the target cannot verify */
static void test_report_key_follows_targetinfo(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_targetinfo ti;
	struct sgx_report good, bad_attr, bad_misc, bad_mr;
	enter(f, &t->a);
	targetinfo_of(&t->b, &ti);
	assert_success(ereport_ti(f, &t->a, &ti, 0, &good));
	ti.attributes.flags &= ~SGX_ATTR_INIT;
	assert_success(ereport_ti(f, &t->a, &ti, 0, &bad_attr));
	targetinfo_of(&t->b, &ti);
	ti.miscselect = 0;
	assert_success(ereport_ti(f, &t->a, &ti, 0, &bad_misc));
	targetinfo_of(&t->b, &ti);
	ti.mrenclave[0] ^= 1;
	assert_success(ereport_ti(f, &t->a, &ti, 0, &bad_mr));
	assert_success(fx_exit(f, f->lp));
	enter(f, &t->b);
	uint8_t key[16];
	report_key(f, &t->b, &good, key);
	assert_true(report_verifies(&good, key));
	assert_false(report_verifies(&bad_attr, key));
	assert_false(report_verifies(&bad_misc, key));
	assert_false(report_verifies(&bad_mr, key));
	/* the REPORT key has no SVN checks: any ISVSVN / CPUSVN, same key */
	struct sgx_keyrequest kr;
	keyrequest(&kr, SGX_KEY_REPORT, 0);
	memcpy(kr.keyid, good.keyid, 32);
	kr.isvsvn = 100;
	memset(kr.cpusvn, 9, 16);
	uint8_t same[16];
	key_of(f, &t->b, &kr, same);
	assert_memory_equal(same, key, 16);
}

static void test_ereport_alignment_and_elrange(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl *a = &t->a;
	enter(f, a);
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, ops(a, TI_OFF) + 0x40, ops(a, RD_OFF), ops(a, REP_OFF)));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, ops(a, TI_OFF), ops(a, RD_OFF) + 0x40, ops(a, REP_OFF)));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, ops(a, TI_OFF), ops(a, RD_OFF), ops(a, REP_OFF) + 0x100));
	/* outside ELRANGE, even though mapped and readable */
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, OUTSIDE, ops(a, RD_OFF), ops(a, REP_OFF)));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, ops(a, TI_OFF), OUTSIDE, ops(a, REP_OFF)));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, ops(a, TI_OFF), ops(a, RD_OFF), OUTSIDE));
	/* another enclave's memory is outside ELRANGE too */
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EREPORT, ops(&t->b, TI_OFF), ops(a, RD_OFF), ops(a, REP_OFF)));
	/* the output was never written */
	uint8_t out[16], zero[16] = { 0 };
	get(f, ops(a, REP_OFF), out, sizeof(out));
	assert_memory_equal(out, zero, 16);
}

static void test_ereport_page_faults(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl *a = &t->a;
	uint64_t ti = ops(a, TI_OFF), rd = ops(a, RD_OFF), rep = ops(a, REP_OFF);
	uint64_t unmapped = a->base + 0x10000, code = a->base + 0x5000;
	enter(f, a);
	/* not mapped: ordinary #PF (read for inputs, write for the output) */
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, unmapped, rd, rep), unmapped, SGX_PFEC_U);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, unmapped + 0x80, rep), unmapped + 0x80, SGX_PFEC_U);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, rd, unmapped + 0x200), unmapped + 0x200,
		      SGX_PFEC_U | SGX_PFEC_W);
	/* order: TARGETINFO is checked completely before REPORTDATA's alignment */
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, unmapped, rd + 8, rep), unmapped, SGX_PFEC_U);
	/* the TCS: EPCM #PF */
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, a->base, rd, rep), a->base, FX_PFEC_ENCLU);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, a->base + 0x80, rep), a->base + 0x80, FX_PFEC_ENCLU);
	/* the output on the R-X code page: PTE first, then EPCM.W */
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, rd, code + 0x200), code + 0x200,
		      SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
	assert_int_equal(hw_pt_protect(f->pt, code, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, rd, code + 0x200), code + 0x200, FX_PFEC_ENCLU);
	/* inputs may be read from the code page */
	assert_success(hw_enclu(f->lp, SGX_EREPORT, code, code + 0x80, rep));
	/* a pending (EAUG'd) page */
	uint64_t aug = a->base + 0x20000;
	assert_success(fx_exit(f, f->lp));
	f->secs = a->secs;
	assert_success(fx_eaug(f, aug));
	enter(f, a);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, aug + 0x100, rep), aug + 0x100, FX_PFEC_ENCLU);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EREPORT, ti, rd, aug), aug, FX_PFEC_ENCLU);
}

static void test_ereport_outside_enclave(void **state)
{
	struct two *t = *state;
	struct sgx_result r = hw_enclu(t->f->lp, SGX_EREPORT, ops(&t->a, TI_OFF), ops(&t->a, RD_OFF),
				       ops(&t->a, REP_OFF));
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_false(r.aex);
	r = hw_enclu(t->f->lp, SGX_EGETKEY, ops(&t->a, KR_OFF), ops(&t->a, KEY_OFF), 0);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_false(r.aex);
}

/* A CPUSVN update (TCB recovery) changes the report key: old REPORTs no
 * longer verify, new ones carry the new CPUSVN; SEAL may now ask for it */
static void test_cpusvn_update(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_report before, after;
	uint8_t k_before[16], k_after[16];
	enter(f, &t->a);
	assert_success(ereport(f, &t->a, &t->b, 3, &before));
	assert_success(fx_exit(f, f->lp));
	enter(f, &t->b);
	report_key(f, &t->b, &before, k_before);
	assert_true(report_verifies(&before, k_before));
	assert_success(fx_exit(f, f->lp));

	f->m->cpusvn[0] = 2;
	enter(f, &t->a);
	assert_success(ereport(f, &t->a, &t->b, 3, &after));
	assert_int_equal(after.body.cpusvn[0], 2);
	assert_success(fx_exit(f, f->lp));
	enter(f, &t->b);
	report_key(f, &t->b, &after, k_after);
	assert_true(report_verifies(&after, k_after));
	assert_false(report_verifies(&before, k_after));
	struct sgx_keyrequest kr;
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	kr.cpusvn[0] = 2;
	assert_success(egetkey(f, &t->b, &kr, NULL));
}

/* ---- EGETKEY: faults ---- */

static void test_egetkey_operand_faults(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl *a = &t->a;
	uint64_t kr = ops(a, KR_OFF), out = ops(a, KEY_OFF), unmapped = a->base + 0x10000;
	uint64_t code = a->base + 0x5000;
	struct sgx_keyrequest req;
	keyrequest(&req, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	enter(f, a);
	put(f, kr, &req, sizeof(req));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EGETKEY, kr + 0x100, out, 0));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EGETKEY, OUTSIDE, out, 0));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EGETKEY, kr, out + 8, 0));
	assert_aex_gp(f, a, hw_enclu(f->lp, SGX_EGETKEY, kr, OUTSIDE, 0));
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EGETKEY, unmapped, out, 0), unmapped, SGX_PFEC_U);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EGETKEY, kr, unmapped + 0x10, 0), unmapped + 0x10,
		      SGX_PFEC_U | SGX_PFEC_W);
	/* KEYREQUEST is checked before the output's alignment */
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EGETKEY, unmapped, out + 1, 0), unmapped, SGX_PFEC_U);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EGETKEY, a->base + 0x200, out, 0), a->base + 0x200, FX_PFEC_ENCLU);
	assert_int_equal(hw_pt_protect(f->pt, code, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_aex_pf(f, a, hw_enclu(f->lp, SGX_EGETKEY, kr, code + 0x40, 0), code + 0x40, FX_PFEC_ENCLU);
	/* the SSA frame is a fine place for a key (R/W REG) */
	assert_success(hw_enclu(f->lp, SGX_EGETKEY, kr, a->base + 0x2000, 0));
}

/* Reserved fields and policy bits: #GP, output untouched */
static void test_egetkey_reserved_gp(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl *a = &t->a;
	struct sgx_keyrequest kr;
	uint8_t marker[16], out[16];
	memset(marker, 0x3c, sizeof(marker));
	enter(f, a);
	put(f, ops(a, KEY_OFF), marker, 16);

	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	kr.reserved1[1] = 1;
	assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	kr.reserved2[433] = 0x80;
	assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	/* reserved before the key name: an unknown name with reserved bits is #GP */
	kr.keyname = 9;
	assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	keyrequest(&kr, SGX_KEY_SEAL, 0x40);
	assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	keyrequest(&kr, SGX_KEY_SEAL, 0x8000 | SGX_KEYPOLICY_MRENCLAVE);
	assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	/* KSS policies and CONFIGSVN need ATTRIBUTES.KSS */
	for (uint16_t bit = 0x04; bit <= 0x20; bit <<= 1) {
		keyrequest(&kr, SGX_KEY_SEAL, bit);
		assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	}
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	kr.config_svn = 1;
	assert_aex_gp(f, a, egetkey(f, a, &kr, NULL));
	get(f, ops(a, KEY_OFF), out, 16);
	assert_memory_equal(out, marker, 16);
}

/* ---- EGETKEY: return codes ---- */

static void assert_rc_untouched(struct fx *f, const struct encl *e, const struct sgx_keyrequest *kr, uint64_t code)
{
	uint8_t marker[16], out[16];
	memset(marker, 0x3c, sizeof(marker));
	put(f, ops(e, KEY_OFF), marker, 16);
	hw_lp_regs(f->lp)->rflags = HW_RFLAGS_CF | HW_RFLAGS_SF | 0x2;
	assert_rc(egetkey(f, e, kr, NULL), code);
	assert_int_equal(hw_lp_regs(f->lp)->rax, code);
	assert_int_equal(hw_lp_regs(f->lp)->rflags, HW_RFLAGS_ZF | 0x2);
	assert_true(hw_lp_in_enclave(f->lp));
	get(f, ops(e, KEY_OFF), out, 16);
	assert_memory_equal(out, marker, 16);
}

static void test_egetkey_invalid_keyname(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_keyrequest kr;
	enter(f, &t->a);
	keyrequest(&kr, 5, 0);
	assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_KEYNAME);
	keyrequest(&kr, 0xffff, SGX_KEYPOLICY_MRENCLAVE);
	assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_KEYNAME);
	/* success afterwards clears ZF and the other arithmetic flags */
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	hw_lp_regs(f->lp)->rflags = HW_RFLAGS_ZF | HW_RFLAGS_OF | 0x2;
	assert_success(egetkey(f, &t->a, &kr, NULL));
	assert_int_equal(hw_lp_regs(f->lp)->rax, 0);
	assert_int_equal(hw_lp_regs(f->lp)->rflags, 0x2);
}

/* PROVISION / PROVISION_SEAL / EINITTOKEN without their attribute: RC 2,
 * checked before the SVNs */
static void test_egetkey_attribute_not_granted(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_keyrequest kr;
	enter(f, &t->a);
	static const uint16_t names[] = { SGX_KEY_PROVISION, SGX_KEY_PROVISION_SEAL, SGX_KEY_EINITTOKEN };
	for (size_t i = 0; i < 3; i++) {
		keyrequest(&kr, names[i], 0);
		assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_ATTRIBUTE);
		kr.cpusvn[0] = 2;
		kr.isvsvn = 8;
		assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_ATTRIBUTE);
	}
}

static void test_egetkey_svn_codes(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_keyrequest kr;
	enter(f, &t->a);
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRENCLAVE);
	kr.cpusvn[0] = 2;
	assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_CPUSVN);
	kr.cpusvn[0] = 1;
	kr.cpusvn[15] = 1; /* any component beyond the CPU's */
	assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_CPUSVN);
	kr.cpusvn[15] = 0;
	kr.isvsvn = 8;
	assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_ISVSVN);
	kr.cpusvn[0] = 2; /* CPUSVN first */
	assert_rc_untouched(f, &t->a, &kr, SGX_INVALID_CPUSVN);

	/* older SVNs are allowed and give other keys */
	uint8_t now[16], old_isv[16], old_cpu[16];
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRENCLAVE);
	key_of(f, &t->a, &kr, now);
	kr.isvsvn = 6;
	key_of(f, &t->a, &kr, old_isv);
	kr.isvsvn = 7;
	kr.cpusvn[0] = 0;
	key_of(f, &t->a, &kr, old_cpu);
	assert_memory_not_equal(now, old_isv, 16);
	assert_memory_not_equal(now, old_cpu, 16);
	assert_memory_not_equal(old_isv, old_cpu, 16);
}

/* ---- seal keys and policies ---- */

static void seal_key(struct fx *f, const struct encl *e, uint16_t policy, uint8_t key[16])
{
	struct sgx_keyrequest kr;
	keyrequest(&kr, SGX_KEY_SEAL, policy);
	enter(f, e);
	key_of(f, e, &kr, key);
	assert_success(fx_exit(f, f->lp));
}

static void test_seal_key_policies(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl c;
	build(f, &c, 0x60000000, FX_ATTRS, 'A', other_key()); /* A's content, other signer */
	assert_memory_equal(secs_of(&c)->mrenclave, secs_of(&t->a)->mrenclave, 32);

	uint8_t a_sig[16], b_sig[16], c_sig[16], a_enc[16], b_enc[16], c_enc[16], a_none[16], c_none[16];
	seal_key(f, &t->a, SGX_KEYPOLICY_MRSIGNER, a_sig);
	seal_key(f, &t->b, SGX_KEYPOLICY_MRSIGNER, b_sig);
	seal_key(f, &c, SGX_KEYPOLICY_MRSIGNER, c_sig);
	seal_key(f, &t->a, SGX_KEYPOLICY_MRENCLAVE, a_enc);
	seal_key(f, &t->b, SGX_KEYPOLICY_MRENCLAVE, b_enc);
	seal_key(f, &c, SGX_KEYPOLICY_MRENCLAVE, c_enc);
	seal_key(f, &t->a, 0, a_none);
	seal_key(f, &c, 0, c_none);
	/* same signer, different enclaves */
	assert_memory_equal(a_sig, b_sig, 16);
	assert_memory_not_equal(a_enc, b_enc, 16);
	/* same enclave, different signers */
	assert_memory_not_equal(a_sig, c_sig, 16);
	assert_memory_equal(a_enc, c_enc, 16);
	/* neither: only ISVPRODID, SVNs, attributes... identify the enclave */
	assert_memory_equal(a_none, c_none, 16);
	assert_memory_not_equal(a_none, a_sig, 16);
	assert_memory_not_equal(a_enc, a_sig, 16);
	/* both bits is yet another key */
	uint8_t a_both[16];
	seal_key(f, &t->a, SGX_KEYPOLICY_MRENCLAVE | SGX_KEYPOLICY_MRSIGNER, a_both);
	assert_memory_not_equal(a_both, a_sig, 16);
	assert_memory_not_equal(a_both, a_enc, 16);
}

/* KEYID, ATTRIBUTEMASK (INIT and DEBUG always in) and MISCMASK */
static void test_seal_key_request_fields(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_keyrequest kr;
	uint8_t base[16], k[16];
	enter(f, &t->a);
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	key_of(f, &t->a, &kr, base);
	key_of(f, &t->a, &kr, k);
	assert_memory_equal(base, k, 16); /* deterministic */
	kr.keyid[5] = 1;
	key_of(f, &t->a, &kr, k);
	assert_memory_not_equal(base, k, 16);

	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	kr.attribute_mask.flags = SGX_ATTR_MODE64BIT;
	key_of(f, &t->a, &kr, k);
	assert_memory_not_equal(base, k, 16);
	kr.attribute_mask.flags = SGX_ATTR_DEBUG | SGX_ATTR_INIT; /* already implied... */
	key_of(f, &t->a, &kr, k);
	assert_memory_not_equal(base, k, 16); /* ...but the mask itself is a dependency */

	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	kr.misc_mask = SGX_MISC_EXINFO;
	key_of(f, &t->a, &kr, k);
	assert_memory_not_equal(base, k, 16);
	/* a MISCMASK bit the enclave does not have still changes the key */
	kr.misc_mask = 0x2;
	key_of(f, &t->a, &kr, k);
	assert_memory_not_equal(base, k, 16);
}

/*
 * Which SECS fields a seal key takes, and through which mask.  The SECS is
 * edited in place (a test backdoor) to stand for an otherwise identical
 * enclave that differs in one field.
 */
static void test_seal_key_follows_secs(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct sgx_secs *secs = (struct sgx_secs *)t->a.secs;
	struct sgx_keyrequest plain, misc, cfg;
	keyrequest(&plain, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	misc = plain;
	misc.misc_mask = SGX_MISC_EXINFO;
	uint8_t k0[16], m0[16], k[16];
	enter(f, &t->a);
	key_of(f, &t->a, &plain, k0);
	key_of(f, &t->a, &misc, m0);
	assert_success(fx_exit(f, f->lp));

	/* MISCSELECT counts only under MISCMASK */
	secs->miscselect = 0;
	enter(f, &t->a);
	key_of(f, &t->a, &plain, k);
	assert_memory_equal(k, k0, 16);
	key_of(f, &t->a, &misc, k);
	assert_memory_not_equal(k, m0, 16);
	assert_success(fx_exit(f, f->lp));
	secs->miscselect = SGX_MISC_EXINFO;

	/* DEBUG counts even with ATTRIBUTEMASK = 0, other attributes only under it */
	secs->attributes.flags &= ~SGX_ATTR_DEBUG;
	enter(f, &t->a);
	key_of(f, &t->a, &plain, k);
	assert_memory_not_equal(k, k0, 16);
	assert_success(fx_exit(f, f->lp));
	secs->attributes.flags |= SGX_ATTR_DEBUG;
	secs->attributes.flags |= SGX_ATTR_PROVISIONKEY; /* not in the mask: no change */
	enter(f, &t->a);
	key_of(f, &t->a, &plain, k);
	assert_memory_equal(k, k0, 16);
	assert_success(fx_exit(f, f->lp));
	secs->attributes.flags &= ~SGX_ATTR_PROVISIONKEY;

	/* CONFIGID (KSS) counts only with the CONFIGID policy */
	secs->attributes.flags |= SGX_ATTR_KSS;
	cfg = plain;
	cfg.keypolicy |= 0x08;
	uint8_t c0[16], fam[16];
	plain.attribute_mask.flags = 0; /* KSS is not in the mask: same plain key */
	enter(f, &t->a);
	key_of(f, &t->a, &plain, k);
	assert_memory_equal(k, k0, 16);
	key_of(f, &t->a, &cfg, c0);
	/* ISVFAMILYID: nothing to add in the model, but the policy is a dependency */
	struct sgx_keyrequest family = plain;
	family.keypolicy |= 0x10;
	key_of(f, &t->a, &family, fam);
	assert_memory_not_equal(fam, k0, 16);
	assert_success(fx_exit(f, f->lp));
	secs->config_id[0] = 1;
	enter(f, &t->a);
	key_of(f, &t->a, &plain, k);
	assert_memory_equal(k, k0, 16);
	key_of(f, &t->a, &cfg, k);
	assert_memory_not_equal(k, c0, 16);
}

/* Same seed, same keys on another machine; another seed, other keys */
static void test_seal_key_stable_per_seed(void **state)
{
	struct two *t = *state;
	uint8_t here[16], there[16], other[16];
	seal_key(t->f, &t->a, SGX_KEYPOLICY_MRENCLAVE, here);

	struct hw_config cfg;
	hw_config_defaults(&cfg);
	cfg.epc_bytes = 256 * SGX_PAGE_SIZE;
	struct encl e;
	struct fx *g = fx_new(&cfg);
	build(g, &e, 0x40000000, FX_ATTRS, 'A', NULL);
	seal_key(g, &e, SGX_KEYPOLICY_MRENCLAVE, there);
	fx_free(g);
	cfg.seed ^= 1;
	g = fx_new(&cfg);
	build(g, &e, 0x40000000, FX_ATTRS, 'A', NULL);
	seal_key(g, &e, SGX_KEYPOLICY_MRENCLAVE, other);
	fx_free(g);
	assert_memory_equal(here, there, 16);
	assert_memory_not_equal(here, other, 16);
}

/* ---- KSS ---- */

static void test_kss_policies(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl k, k2;
	build(f, &k, 0x70000000, FX_ATTRS | SGX_ATTR_KSS, 'K', NULL);
	build_isvprodid = 0x5678;
	build(f, &k2, 0x60000000, FX_ATTRS | SGX_ATTR_KSS, 'K', NULL);
	build_isvprodid = 0x1234;
	/* NOISVPRODID: one key for every product of the signer */
	uint8_t p1[16], p2[16], n1[16], n2[16];
	seal_key(f, &k, SGX_KEYPOLICY_MRSIGNER, p1);
	seal_key(f, &k2, SGX_KEYPOLICY_MRSIGNER, p2);
	seal_key(f, &k, SGX_KEYPOLICY_MRSIGNER | 0x04, n1);
	seal_key(f, &k2, SGX_KEYPOLICY_MRSIGNER | 0x04, n2);
	assert_memory_not_equal(p1, p2, 16);
	assert_memory_equal(n1, n2, 16);

	struct sgx_keyrequest kr;
	uint8_t plain[16], noprod[16], cfgid[16];
	enter(f, &k);
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	key_of(f, &k, &kr, plain);
	kr.keypolicy |= 0x04; /* NOISVPRODID */
	key_of(f, &k, &kr, noprod);
	kr.keypolicy = SGX_KEYPOLICY_MRSIGNER | 0x08; /* CONFIGID */
	key_of(f, &k, &kr, cfgid);
	assert_memory_not_equal(plain, noprod, 16);
	assert_memory_not_equal(plain, cfgid, 16);
	kr.keypolicy = SGX_KEYPOLICY_MRSIGNER | 0x10 | 0x20;
	assert_success(egetkey(f, &k, &kr, NULL));
	/* CONFIGSVN above the enclave's (0) */
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER | 0x08);
	kr.config_svn = 1;
	assert_rc_untouched(f, &k, &kr, SGX_INVALID_ISVSVN);
	/* bits 15:6 stay reserved with KSS */
	keyrequest(&kr, SGX_KEY_SEAL, 0x40);
	assert_aex_gp(f, &k, egetkey(f, &k, &kr, NULL));
}

/* ---- PROVISION keys ---- */

static void test_provision_keys(void **state)
{
	struct two *t = *state;
	struct fx *f = t->f;
	struct encl p;
	build(f, &p, 0x60000000, FX_ATTRS | SGX_ATTR_PROVISIONKEY, 'P', NULL);
	struct sgx_keyrequest kr;
	uint8_t prov[16], k[16], pseal[16];
	enter(f, &p);
	keyrequest(&kr, SGX_KEY_PROVISION, 0);
	key_of(f, &p, &kr, prov);
	/* no KEYID, no MRENCLAVE: neither changes the key */
	kr.keyid[0] = 0x99;
	kr.keypolicy = SGX_KEYPOLICY_MRENCLAVE;
	key_of(f, &p, &kr, k);
	assert_memory_equal(prov, k, 16);
	kr.isvsvn = 6;
	key_of(f, &p, &kr, k);
	assert_memory_not_equal(prov, k, 16);
	kr.isvsvn = 8;
	assert_rc_untouched(f, &p, &kr, SGX_INVALID_ISVSVN);
	kr.isvsvn = 7;
	kr.cpusvn[1] = 1;
	assert_rc_untouched(f, &p, &kr, SGX_INVALID_CPUSVN);

	keyrequest(&kr, SGX_KEY_PROVISION_SEAL, 0);
	key_of(f, &p, &kr, pseal);
	assert_memory_not_equal(prov, pseal, 16);
	/* unlike PROVISION, PROVISION_SEAL depends on KEYPOLICY (not on KEYID) */
	kr.keyid[3] = 7;
	key_of(f, &p, &kr, k);
	assert_memory_equal(pseal, k, 16);
	kr.keypolicy = SGX_KEYPOLICY_MRENCLAVE;
	key_of(f, &p, &kr, k);
	assert_memory_not_equal(pseal, k, 16);
	kr.keypolicy = 0;
	kr.isvsvn = 8;
	assert_rc_untouched(f, &p, &kr, SGX_INVALID_ISVSVN);
	/* and it is not a SEAL key with MRSIGNER either */
	keyrequest(&kr, SGX_KEY_SEAL, SGX_KEYPOLICY_MRSIGNER);
	key_of(f, &p, &kr, k);
	assert_memory_not_equal(pseal, k, 16);
}

/* ---- EINITTOKEN key: a launch enclave's tokens pass EINIT ---- */

static void test_einittoken_key_launches(void **state)
{
	struct fx *f = fx_new(NULL);
	struct encl le;
	build(f, &le, 0x40000000, FX_ATTRS | SGX_ATTR_EINITTOKENKEY, 'L', NULL);
	uint8_t le_signer[32];
	memcpy(le_signer, secs_of(&le)->mrsigner, 32);

	struct sgx_keyrequest kr;
	uint8_t key[16], k2[16], want[16];
	keyrequest(&kr, SGX_KEY_EINITTOKEN, 0);
	memset(kr.keyid, 0x42, 32);
	enter(f, &le);
	key_of(f, &le, &kr, key);
	hw_launch_key(f->m, kr.keyid, want);
	assert_memory_equal(key, want, 16);
	kr.keyid[0] = 0x43;
	key_of(f, &le, &kr, k2);
	assert_memory_not_equal(key, k2, 16);
	kr.keyid[0] = 0x42;
	kr.isvsvn = 8;
	assert_rc_untouched(f, &le, &kr, SGX_INVALID_ISVSVN);
	kr.isvsvn = 7;
	kr.cpusvn[0] = 2;
	assert_rc_untouched(f, &le, &kr, SGX_INVALID_CPUSVN);
	assert_success(fx_exit(f, f->lp));

	/* an application enclave by another signer: needs a token */
	static struct sgx_sigstruct ss __attribute__((aligned(4096)));
	static struct sgx_einittoken tok;
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	assert_success(fx_ecreate(f, 0x50000000, FX_SIZE, FX_ATTRS));
	memset(page, 0, sizeof(page));
	((struct sgx_tcs *)page)->nssa = 1;
	((struct sgx_tcs *)page)->ossa = 0x1000;
	assert_success(fx_eadd(f, 0x50000000, FX_TCS_FLAGS, page, true));
	assert_success(fx_eadd(f, 0x50001000, FX_REG_RW, NULL, true));
	fx_sigstruct(f, &ss);
	assert_int_equal(sgx_sign_sigstruct(other_key(), &ss), 0);
	memset(&tok, 0, sizeof(tok));
	tok.valid = 1;
	tok.attributes.flags = FX_ATTRS | SGX_ATTR_INIT;
	tok.attributes.xfrm = 3;
	memcpy(tok.mrenclave, ss.body.mrenclave, 32);
	sgx_sigstruct_mrsigner(&ss, tok.mrsigner);
	memset(tok.keyid, 0x42, 32);
	/* a MAC under the wrong KEYID's key is refused */
	cmac(k2, &tok, 192, tok.mac);
	assert_rc(hw_encls(f->lp, SGX_EINIT, fx_addr(&ss), fx_addr(f->secs), fx_addr(&tok)), SGX_INVALID_EINITTOKEN);
	/* the launch enclave's key is accepted (IA32_SGXLEPUBKEYHASH is still the LE's signer) */
	cmac(key, &tok, 192, tok.mac);
	assert_success(hw_encls(f->lp, SGX_EINIT, fx_addr(&ss), fx_addr(f->secs), fx_addr(&tok)));
	assert_memory_not_equal(((struct sgx_secs *)f->secs)->mrsigner, le_signer, 32);
	fx_free(f);
	(void)state;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_two, teardown_two)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ereport_body),
		T(test_report_verified_by_target),
		T(test_report_key_follows_targetinfo),
		T(test_ereport_alignment_and_elrange),
		T(test_ereport_page_faults),
		T(test_ereport_outside_enclave),
		T(test_cpusvn_update),
		T(test_egetkey_operand_faults),
		T(test_egetkey_reserved_gp),
		T(test_egetkey_invalid_keyname),
		T(test_egetkey_attribute_not_granted),
		T(test_egetkey_svn_codes),
		T(test_seal_key_policies),
		T(test_seal_key_request_fields),
		T(test_seal_key_follows_secs),
		T(test_seal_key_stable_per_seed),
		T(test_kss_policies),
		T(test_provision_keys),
		cmocka_unit_test(test_einittoken_key_launches),
	};
	return cmocka_run_group_tests_name("EREPORT and EGETKEY", tests, NULL, NULL);
}
