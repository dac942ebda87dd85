/*
 * EINIT (isa.md §4.4) with a SIGSTRUCT signed by a key that the openssl
 * command line made: acceptance and what is committed, then every kind of
 * bad SIGSTRUCT / token / state with its documented code, the order of the
 * checks where it matters, and that a failed EINIT can be retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>

#include "common/fixture.h"
#include "hw/keys.h"

static EVP_PKEY *cli_key;
static struct sgx_sigstruct sig __attribute__((aligned(4096)));
static uint8_t token_buf[1024] __attribute__((aligned(4096)));
static struct sgx_einittoken *const token = (struct sgx_einittoken *)token_buf;

static int make_cli_key(void **state)
{
	(void)state;
	char dir[] = "/tmp/sgx2emu-einit-XXXXXX", path[64], cmd[160], err[160];
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl genrsa -3 -out %s 3072 2>/dev/null", path);
	int rc = system(cmd);
	cli_key = rc == 0 ? sgx_sign_load_key(path, err, sizeof(err)) : NULL;
	if (!cli_key)
		fprintf(stderr, "openssl genrsa: rc %d; %s\n", rc, rc == 0 ? err : "");
	unlink(path);
	rmdir(dir);
	return cli_key ? 0 : -1;
}

static int free_cli_key(void **state)
{
	(void)state;
	EVP_PKEY_free(cli_key);
	return 0;
}

/* The SIGSTRUCT body that fits the enclave built so far (fixture's running
 * measurement), unsigned. */
static void body_for(struct fx *f, struct sgx_sigstruct *ss)
{
	memset(ss, 0, sizeof(*ss));
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	assert_non_null(copy);
	assert_true(EVP_MD_CTX_copy_ex(copy, f->mr.ctx));
	struct sgx_measurement tmp = { copy };
	sgx_measure_final(&tmp, f->mrenclave);
	ss->header.date = 0x20260315;
	ss->header.swdefined = 0xabcd;
	ss->body.miscselect = f->secs_src.miscselect;
	ss->body.misc_mask = 0xffffffff;
	ss->body.attributes = f->secs_src.attributes;
	ss->body.attributes_mask.flags = ~0ull;
	ss->body.attributes_mask.xfrm = ~0ull;
	memcpy(ss->body.mrenclave, f->mrenclave, 32);
	ss->body.isvprodid = 0x4242;
	ss->body.isvsvn = 3;
}

static void sign(struct sgx_sigstruct *ss)
{
	assert_int_equal(sgx_sign_sigstruct(cli_key, ss), 0);
}

static void good_sig(struct fx *f, struct sgx_sigstruct *ss)
{
	body_for(f, ss);
	sign(ss);
}

static void mrsigner_of(const struct sgx_sigstruct *ss, uint8_t out[32])
{
	SHA256(ss->modulus, SGX_MODULUS_SIZE, out);
}

/* EINIT of ss with the given launch-control hash and token (zero if NULL). */
static struct sgx_result einit_raw(struct fx *f, const struct sgx_sigstruct *ss, const struct sgx_einittoken *tok,
				   const uint8_t lehash[32])
{
	sig = *ss;
	memset(token_buf, 0, sizeof(token_buf));
	if (tok)
		*token = *tok;
	hw_set_lepubkeyhash(f->m, lehash);
	return hw_encls(f->lp, SGX_EINIT, fx_addr(&sig), fx_addr(f->secs), fx_addr(token));
}

/* Launch control set to the signer: no token needed. */
static struct sgx_result einit(struct fx *f, const struct sgx_sigstruct *ss)
{
	uint8_t signer[32];
	mrsigner_of(ss, signer);
	return einit_raw(f, ss, NULL, signer);
}

static bool initialized(struct fx *f)
{
	bool init = true;
	assert_true(hw_secs_info(f->m, hw_epc_frame_of(f->m, fx_addr(f->secs)), NULL, &init, NULL, NULL));
	return init;
}

static void assert_rc_regs(struct fx *f, uint64_t code)
{
	struct hw_regs *regs = hw_lp_regs(f->lp);
	assert_int_equal(regs->rax, code);
	assert_int_equal(!!(regs->rflags & HW_RFLAGS_ZF), code != 0);
	assert_false(regs->rflags & (HW_RFLAGS_CF | HW_RFLAGS_PF | HW_RFLAGS_AF | HW_RFLAGS_SF | HW_RFLAGS_OF));
}

/* Nothing committed by a refused EINIT. */
static void assert_not_committed(struct fx *f)
{
	const struct sgx_secs *secs = (const struct sgx_secs *)f->secs;
	static const uint8_t zero[32];
	assert_false(initialized(f));
	assert_false(secs->attributes.flags & SGX_ATTR_INIT);
	assert_memory_equal(secs->mrenclave, zero, 32);
	assert_memory_equal(secs->mrsigner, zero, 32);
	assert_int_equal(secs->isv_prod_id, 0);
	assert_int_equal(secs->isv_svn, 0);
}

static void test_cli_key_accepted(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss;
	good_sig(f, &ss);

	/* the SIGSTRUCT carries the CLI key's modulus, little-endian */
	BIGNUM *n = NULL;
	uint8_t n_le[SGX_MODULUS_SIZE], expect_signer[32];
	assert_true(EVP_PKEY_get_bn_param(cli_key, OSSL_PKEY_PARAM_RSA_N, &n));
	assert_int_equal(BN_bn2lebinpad(n, n_le, sizeof(n_le)), SGX_MODULUS_SIZE);
	BN_free(n);
	assert_memory_equal(ss.modulus, n_le, SGX_MODULUS_SIZE);
	assert_int_equal(ss.exponent, 3);
	SHA256(n_le, sizeof(n_le), expect_signer);

	hw_lp_regs(f->lp)->rflags = HW_RFLAGS_ZF | HW_RFLAGS_CF | HW_RFLAGS_OF;
	assert_success(einit(f, &ss));
	assert_rc_regs(f, 0);
	const struct sgx_secs *secs = (const struct sgx_secs *)f->secs;
	assert_true(initialized(f));
	assert_int_equal(secs->attributes.flags, FX_ATTRS | SGX_ATTR_INIT);
	assert_memory_equal(secs->mrenclave, f->mrenclave, 32);
	assert_memory_equal(secs->mrsigner, expect_signer, 32);
	assert_int_equal(secs->isv_prod_id, 0x4242);
	assert_int_equal(secs->isv_svn, 3);
}

/*
 * One corruption of a good SIGSTRUCT: byte offset XORed with xor, and byte
 * offset2 with xor2 (xor2 = 0: no second byte); resign says whether the
 * case is also tried with a signature over the changed bytes.
 */
struct sig_flip {
	const char *name;
	size_t offset;
	uint8_t xor;
	bool resign;
	size_t offset2;
	uint8_t xor2;
};

/* EINIT of ss must refuse with rc: no fault, RAX = rc, ZF set.  Fails the
 * test naming what (and how) otherwise; returns nothing. */
static void assert_einit_refused(struct fx *f, const struct sgx_sigstruct *ss, uint64_t rc, const char *what,
				 const char *how)
{
	struct sgx_result r = einit(f, ss);
	if (r.vector != SGX_VEC_NONE || r.rax != rc || !r.zf)
		fail_msg("%s%s: vector %u rax %llu", what, how, r.vector, (unsigned long long)r.rax);
}

/* good with the flip c applied, signed again if resign, must be refused
 * with rc; the result registers are not checked here. */
static void assert_flip_refused(struct fx *f, const struct sgx_sigstruct *good, const struct sig_flip *c, bool resign,
				uint64_t rc)
{
	struct sgx_sigstruct ss = *good;
	uint8_t *b = (uint8_t *)&ss;
	b[c->offset] ^= c->xor;
	b[c->offset2] ^= c->xor2;
	if (resign)
		sign(&ss);
	assert_einit_refused(f, &ss, rc, c->name, resign ? " (signed)" : "");
}

/* VENDOR may be 0 or 0x8086. */
static void test_intel_vendor_accepted(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss;
	body_for(f, &ss);
	ss.header.vendor = 0x8086;
	sign(&ss);
	assert_success(einit(f, &ss));
}

/* RC 1: the constant fields and every reserved area, whether the signature
 * covers the change or not. */
static void test_malformed_sigstruct(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct good;
	good_sig(f, &good);
	const struct sig_flip cases[] = {
		{ "HEADER[0]", 0, 0x01, false },
		{ "HEADER[15]", 15, 0x80, false },
		{ "VENDOR = 1", 16, 0x01, false },
		{ "VENDOR = 0x8087", 16, 0x87, false, 17, 0x80 },
		{ "HEADER2[0]", 24, 0x01, false },
		{ "HEADER2[15]", 39, 0x01, false },
		{ "EXPONENT = 2", 512, 0x01, false },
		{ "EXPONENT = 0x10003", 514, 0x01, false },
		{ "header reserved[0]", 44, 0x01, true },
		{ "header reserved[83]", 127, 0x01, true },
		{ "body reserved[0]", 908, 0x01, true },
		{ "body reserved[19]", 927, 0x01, true },
		{ "body reserved2[0]", 992, 0x01, true },
		{ "body reserved2[31]", 1023, 0x01, true },
		{ "reserved4[0]", 1028, 0x01, false },
		{ "reserved4[11]", 1039, 0x01, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int resign = 0; resign <= (int)cases[i].resign; resign++) {
			assert_flip_refused(f, &good, &cases[i], resign, SGX_INVALID_SIG_STRUCT);
			assert_rc_regs(f, SGX_INVALID_SIG_STRUCT);
		}
	}
	assert_not_committed(f);
	assert_success(einit(f, &good));
}

/* RC 8: anything the signature check catches. */
static void test_bad_signature(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct good, ss;
	good_sig(f, &good);
	const struct sig_flip flips[] = {
		{ "SIGNATURE[0]", 516, 0x01 }, { "SIGNATURE[383]", 516 + 383, 0x01 }, { "SIGNATURE[100]", 616, 0x01 },
		{ "Q1[0]", 1040, 0x01 }, { "Q1[200]", 1240, 0x01 }, { "Q2[0]", 1424, 0x01 }, { "Q2[383]", 1424 + 383, 0x01 },
		{ "MODULUS[0]", 128, 0x01 }, { "DATE", 20, 0x01 }, { "SWDEFINED", 40, 0x01 },
		{ "MISCSELECT", 900, 0x01 }, { "ATTRIBUTEMASK", 944, 0x01 }, { "ENCLAVEHASH", 960, 0x01 },
		{ "ISVSVN", 1026, 0x01 },
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++)
		assert_flip_refused(f, &good, &flips[i], false, SGX_INVALID_SIGNATURE);
	assert_rc_regs(f, SGX_INVALID_SIGNATURE);
	/* S >= N */
	ss = good;
	memcpy(ss.signature, ss.modulus, SGX_MODULUS_SIZE);
	assert_rc(einit(f, &ss), SGX_INVALID_SIGNATURE);
	/* a valid signature by another key over another modulus' header */
	ss = good;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	memcpy(ss.modulus, good.modulus, SGX_MODULUS_SIZE);
	assert_rc(einit(f, &ss), SGX_INVALID_SIGNATURE);
	assert_not_committed(f);
	assert_success(einit(f, &good));
}

/* RC 4, and the enclave stays buildable: the failed EINIT did not consume
 * or finalize the measurement. */
static void test_wrong_measurement_then_retry(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss, before_add;
	body_for(f, &ss);
	ss.body.mrenclave[0] ^= 0x01;
	sign(&ss);
	assert_rc(einit(f, &ss), SGX_INVALID_MEASUREMENT);
	assert_rc_regs(f, SGX_INVALID_MEASUREMENT);
	assert_not_committed(f);

	good_sig(f, &before_add);
	assert_rc(einit(f, &ss), SGX_INVALID_MEASUREMENT); /* the same refusal again */
	assert_success(fx_eadd(f, FX_BASE + 0xC000, FX_REG_RW, NULL, true));
	assert_rc(einit(f, &before_add), SGX_INVALID_MEASUREMENT);
	good_sig(f, &ss);
	assert_success(einit(f, &ss));
	assert_memory_equal(((const struct sgx_secs *)f->secs)->mrenclave, f->mrenclave, 32);
}

/* RC 2: SECS ATTRIBUTES / MISCSELECT against the SIGSTRUCT under its masks. */
static void test_attribute_masks(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss;
	static const char *const names[] = { "DEBUG", "MODE64BIT", "INIT", "XFRM", "MISCSELECT" };
	for (int i = 0; i < 5; i++) {
		body_for(f, &ss);
		switch (i) {
		case 0: ss.body.attributes.flags &= ~SGX_ATTR_DEBUG; break;
		case 1: ss.body.attributes.flags &= ~SGX_ATTR_MODE64BIT; break;
		case 2: ss.body.attributes.flags |= SGX_ATTR_INIT; break;
		case 3: ss.body.attributes.xfrm = 7; break;
		case 4: ss.body.miscselect = 0; break;
		}
		sign(&ss);
		assert_einit_refused(f, &ss, SGX_INVALID_ATTRIBUTE, names[i], " mismatch");
	}
	assert_not_committed(f);
	/* outside the masks the same differences are fine */
	body_for(f, &ss);
	ss.body.attributes.flags = SGX_ATTR_INIT | SGX_ATTR_PROVISIONKEY;
	ss.body.attributes.xfrm = 7;
	ss.body.attributes_mask.flags = ~(SGX_ATTR_INIT | SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY);
	ss.body.attributes_mask.xfrm = 3;
	ss.body.miscselect = 0;
	ss.body.misc_mask = ~SGX_MISC_EXINFO;
	sign(&ss);
	assert_success(einit(f, &ss));
}

static void build_small(struct fx *f, uint64_t attributes)
{
	assert_success(fx_ecreate(f, FX_BASE, FX_SIZE, attributes));
	assert_success(fx_eadd(f, FX_BASE + 0x1000, FX_REG_RW, NULL, true));
}

/* RC 2: EINITTOKENKEY needs the launch-control key, checked before the
 * token (so not RC 16) and after the measurement (RC 4 wins). */
static void test_einittokenkey_needs_le_key(void **state)
{
	struct fx *f = *state;
	build_small(f, FX_ATTRS | SGX_ATTR_EINITTOKENKEY);
	struct sgx_sigstruct ss;
	uint8_t other[32], signer[32];
	memset(other, 0x11, sizeof(other));
	good_sig(f, &ss);
	mrsigner_of(&ss, signer);
	assert_rc(einit_raw(f, &ss, NULL, other), SGX_INVALID_ATTRIBUTE);
	assert_rc_regs(f, SGX_INVALID_ATTRIBUTE);
	struct sgx_sigstruct bad_hash;
	body_for(f, &bad_hash);
	bad_hash.body.mrenclave[5] ^= 0x20;
	sign(&bad_hash);
	assert_rc(einit_raw(f, &bad_hash, NULL, other), SGX_INVALID_MEASUREMENT);
	assert_not_committed(f);
	assert_success(einit_raw(f, &ss, NULL, signer));
}

/* RC 16: no token (VALID = 0) and MRSIGNER ≠ IA32_SGXLEPUBKEYHASH; the
 * attribute masks are checked first. */
static void test_no_token_wrong_signer(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss, masked;
	uint8_t other[32], signer[32];
	memset(other, 0xa5, sizeof(other));
	good_sig(f, &ss);
	mrsigner_of(&ss, signer);
	assert_rc(einit_raw(f, &ss, NULL, other), SGX_INVALID_EINITTOKEN);
	assert_rc_regs(f, SGX_INVALID_EINITTOKEN);
	body_for(f, &masked);
	masked.body.miscselect = 0;
	sign(&masked);
	assert_rc(einit_raw(f, &masked, NULL, other), SGX_INVALID_ATTRIBUTE);
	/* only VALID[0] selects the token path: VALID = 2 is "no token" */
	struct sgx_einittoken tok;
	memset(&tok, 0, sizeof(tok));
	tok.valid = 2;
	memset(tok.mac, 0x77, sizeof(tok.mac));
	assert_rc(einit_raw(f, &ss, &tok, other), SGX_INVALID_EINITTOKEN);
	assert_not_committed(f);
	assert_success(einit_raw(f, &ss, &tok, signer));
}

/* RC 128: an interrupt pending when EINIT opens its event window.  The
 * structure check comes first (RC 1), the signature check after (so a bad
 * signature still reports 128).  The interrupt is taken right after EINIT,
 * so the retry succeeds.  Another LP's interrupt does not matter. */
static void test_pending_interrupt(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss, bad_header, bad_sig;
	good_sig(f, &ss);
	bad_header = ss;
	bad_header.header.header[0] ^= 1;
	bad_sig = ss;
	bad_sig.signature[7] ^= 1;
	const struct hw_lp_stats *stats = hw_lp_stats(f->lp);

	hw_lp_post_interrupt(hw_lp_get(f->m, 1));
	assert_rc(einit(f, &bad_sig), SGX_INVALID_SIGNATURE);

	uint64_t taken = stats->interrupts;
	hw_lp_post_interrupt(f->lp);
	assert_rc(einit(f, &bad_header), SGX_INVALID_SIG_STRUCT);
	assert_int_equal(stats->interrupts, taken + 1);

	hw_lp_post_interrupt(f->lp);
	assert_rc(einit(f, &bad_sig), SGX_UNMASKED_EVENT);
	assert_int_equal(stats->interrupts, taken + 2);

	hw_lp_post_interrupt(f->lp);
	assert_rc(einit(f, &ss), SGX_UNMASKED_EVENT);
	assert_rc_regs(f, SGX_UNMASKED_EVENT);
	assert_int_equal(stats->interrupts, taken + 3);
	assert_not_committed(f);
	assert_success(einit(f, &ss));
	assert_int_equal(stats->interrupts, taken + 3);
	assert_true(initialized(f));
}

/* #GP once initialized; the SIGSTRUCT checks still come first. */
static void test_already_initialized(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss;
	good_sig(f, &ss);
	assert_gp(einit(f, &ss));
	ss.exponent = 5;
	assert_rc(einit(f, &ss), SGX_INVALID_SIG_STRUCT);
	good_sig(f, &ss);
	ss.q2[3] ^= 4;
	assert_rc(einit(f, &ss), SGX_INVALID_SIGNATURE);
	/* the committed identity is untouched */
	assert_int_equal(((const struct sgx_secs *)f->secs)->isv_prod_id, 0x1234);
}

static struct sgx_result einit_ops(struct fx *f, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	return hw_encls(f->lp, SGX_EINIT, rbx, rcx, rdx);
}

static void test_operand_faults(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss;
	good_sig(f, &ss);
	uint8_t signer[32];
	mrsigner_of(&ss, signer);
	hw_set_lepubkeyhash(f->m, signer);
	sig = ss;
	memset(token_buf, 0, sizeof(token_buf));
	uint64_t s = fx_addr(&sig), secs = fx_addr(f->secs), t = fx_addr(token_buf);
	uint8_t *host = fx_scratch(f, 0);

	assert_gp(einit_ops(f, s + 0x800, secs, t));
	assert_gp(einit_ops(f, s + 64, secs, t));
	assert_gp(einit_ops(f, s, secs + 0x100, t));
	assert_gp(einit_ops(f, s, secs, t + 256));
	assert_gp(einit_ops(f, s, fx_addr(host), t + 64)); /* alignment before EPC */
	assert_pf(einit_ops(f, s, fx_addr(host), t), fx_addr(host), FX_PFEC_ENCLS);
	/* unreadable SIGSTRUCT / token: ordinary #PF, after the SECS operand */
	assert_pf(einit_ops(f, 0, secs, t), 0, 0);
	assert_pf(einit_ops(f, s, secs, 0), 0, 0);
	assert_pf(einit_ops(f, 0, fx_addr(host), t), fx_addr(host), FX_PFEC_ENCLS);

	/* RCX in the EPC but no SECS: #PF(RCX), only after the signature check */
	uint8_t *free_frame = fx_frame(f), *reg = hw_epc_page(f->m, fx_frame_of_la(f, FX_DATA));
	assert_pf(einit_ops(f, s, fx_addr(free_frame), t), fx_addr(free_frame), FX_PFEC_ENCLS);
	assert_pf(einit_ops(f, s, fx_addr(reg), t), fx_addr(reg), FX_PFEC_ENCLS);
	sig.signature[0] ^= 1;
	assert_rc(einit_ops(f, s, fx_addr(reg), t), SGX_INVALID_SIGNATURE);
	sig.signature[0] ^= 1;
	assert_not_committed(f);
	assert_success(einit_ops(f, s, secs, t));
}

/* A token from a launch enclave (VALID = 1), MACed with the launch key. */
static void make_token(struct fx *f, const struct sgx_sigstruct *ss, struct sgx_einittoken *tok)
{
	memset(tok, 0, sizeof(*tok));
	tok->valid = 1;
	tok->attributes.flags = f->secs_src.attributes.flags | SGX_ATTR_INIT;
	tok->attributes.xfrm = f->secs_src.attributes.xfrm;
	memcpy(tok->mrenclave, f->mrenclave, 32);
	mrsigner_of(ss, tok->mrsigner);
	memcpy(tok->cpusvn_le, f->m->cpusvn, 16);
	tok->isvsvn_le = 1;
	for (int i = 0; i < 32; i++)
		tok->keyid[i] = (uint8_t)(0x30 + i);
}

static void mac_token(struct fx *f, struct sgx_einittoken *tok)
{
	uint8_t key[16];
	hw_launch_key(f->m, tok->keyid, key);
	assert_int_equal(aes_cmac(key, tok, 192, tok->mac), 0);
}

static void test_token(void **state)
{
	struct fx *f = *state;
	struct sgx_sigstruct ss;
	struct sgx_einittoken good, tok;
	uint8_t le_hash[32];
	memset(le_hash, 0x3c, sizeof(le_hash)); /* the enclave's signer is not the LE key */
	good_sig(f, &ss);
	make_token(f, &ss, &good);
	mac_token(f, &good);

	struct {
		const char *name;
		uint64_t rc;
	} cases[] = {
		{ "bad MAC", SGX_INVALID_EINITTOKEN },
		{ "VALID = 3", SGX_INVALID_EINITTOKEN },
		{ "reserved1", SGX_INVALID_EINITTOKEN },
		{ "reserved4", SGX_INVALID_EINITTOKEN },
		{ "CPUSVN component 0 newer", SGX_INVALID_CPUSVN },
		{ "CPUSVN component 15 newer", SGX_INVALID_CPUSVN },
		{ "CPUSVN newer, bad MAC", SGX_INVALID_CPUSVN },
		{ "reserved and CPUSVN newer", SGX_INVALID_EINITTOKEN },
		{ "MRENCLAVE", SGX_INVALID_MEASUREMENT },
		{ "MRSIGNER", SGX_INVALID_MEASUREMENT },
		{ "MRENCLAVE, bad MAC", SGX_INVALID_EINITTOKEN },
		{ "ATTRIBUTES without INIT", SGX_INVALID_ATTRIBUTE },
		{ "ATTRIBUTES.XFRM", SGX_INVALID_ATTRIBUTE },
		{ "KEYID (other launch key)", SGX_INVALID_EINITTOKEN },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = good;
		bool remac = true;
		switch (i) {
		case 0: tok.mac[0] ^= 1; remac = false; break;
		case 1: tok.valid = 3; break;
		case 2: tok.reserved1[43] = 1; break;
		case 3: tok.reserved4[0] = 1; break;
		case 4: tok.cpusvn_le[0]++; break;
		case 5: tok.cpusvn_le[15] = 1; break;
		case 6: tok.cpusvn_le[0]++; tok.mac[1] ^= 1; remac = false; break;
		case 7: tok.cpusvn_le[0]++; tok.reserved2[0] = 1; break;
		case 8: tok.mrenclave[31] ^= 1; break;
		case 9: tok.mrsigner[0] ^= 1; break;
		case 10: tok.mrenclave[31] ^= 1; tok.mac[15] ^= 1; remac = false; break;
		case 11: tok.attributes.flags &= ~SGX_ATTR_INIT; break;
		case 12: tok.attributes.xfrm = 7; break;
		case 13: mac_token(f, &tok); tok.keyid[0] ^= 1; remac = false; break;
		}
		if (remac)
			mac_token(f, &tok);
		struct sgx_result r = einit_raw(f, &ss, &tok, le_hash);
		if (r.vector != SGX_VEC_NONE || r.rax != cases[i].rc || !r.zf)
			fail_msg("%s: vector %u rax %llu, want %llu", cases[i].name, r.vector,
				 (unsigned long long)r.rax, (unsigned long long)cases[i].rc);
	}
	assert_not_committed(f);
	/* an older CPUSVN in the token is fine */
	tok = good;
	memset(tok.cpusvn_le, 0, 16);
	mac_token(f, &tok);
	assert_success(einit_raw(f, &ss, &tok, le_hash));
	assert_true(initialized(f));
}

/* A token issued by a debug launch enclave cannot launch a production
 * enclave (RC 16 before the MAC is even looked at), but can a debug one. */
static void test_debug_le_token(void **state)
{
	struct fx *f = *state;
	uint8_t le_hash[32];
	memset(le_hash, 0x5e, sizeof(le_hash));
	build_small(f, SGX_ATTR_MODE64BIT);
	struct sgx_sigstruct ss;
	struct sgx_einittoken tok;
	good_sig(f, &ss);
	make_token(f, &ss, &tok);
	tok.masked_attributes_le.flags = SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT;
	mac_token(f, &tok);
	assert_rc(einit_raw(f, &ss, &tok, le_hash), SGX_INVALID_EINITTOKEN);
	tok.reserved1[0] = 1; /* reserved: same code, checked after */
	assert_rc(einit_raw(f, &ss, &tok, le_hash), SGX_INVALID_EINITTOKEN);
	tok.reserved1[0] = 0;
	tok.masked_attributes_le.flags = SGX_ATTR_MODE64BIT;
	mac_token(f, &tok);
	assert_success(einit_raw(f, &ss, &tok, le_hash));

	/* a debug enclave accepts the debug LE's token */
	struct fx *g = fx_new(NULL);
	build_small(g, FX_ATTRS);
	good_sig(g, &ss);
	make_token(g, &ss, &tok);
	tok.masked_attributes_le.flags = SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT;
	mac_token(g, &tok);
	assert_success(einit_raw(g, &ss, &tok, le_hash));
	fx_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cli_key_accepted, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_intel_vendor_accepted, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sigstruct, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_measurement_then_retry, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_attribute_masks, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_einittokenkey_needs_le_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_token_wrong_signer, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending_interrupt, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_already_initialized, fx_setup_initialized, fx_teardown),
		cmocka_unit_test_setup_teardown(test_operand_faults, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_token, fx_setup_enclave, fx_teardown),
		cmocka_unit_test_setup_teardown(test_debug_le_token, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("EINIT", tests, make_cli_key, free_cli_key);
}
