/*
 * EINIT (ENCLS 0x02) — RBX: SIGSTRUCT, RCX: SECS, RDX: EINITTOKEN.  isa.md §4.4.
 *
 * Flow, in SDM order:
 *   #GP  RBX or RCX not 4K-, RDX not 512-aligned
 *   #PF  RCX not EPC (EPCM error code); SIGSTRUCT / token unreadable (0)
 *   RC 1   header, HEADER2, VENDOR, EXPONENT or a reserved field wrong
 *   RC 128 interrupt pending (SGX_UNMASKED_EVENT): the OS takes it and retries
 *   RC 8   RSA signature, Q1 or Q2 wrong
 *   #PF  RCX not a valid SECS;  #GP  enclave already initialized
 *   RC 4   MRENCLAVE ≠ ENCLAVEHASH
 *   RC 2   EINITTOKENKEY set and MRSIGNER ≠ IA32_SGXLEPUBKEYHASH; ATTRIBUTES
 *          or MISCSELECT differ under the SIGSTRUCT's masks
 *   token VALID[0] = 0: RC 16 unless MRSIGNER = IA32_SGXLEPUBKEYHASH
 *   token VALID[0] = 1: RC 16 debug LE token for a production enclave,
 *          reserved bits (VALID[31:1] included); RC 32 token CPUSVN newer
 *          than the CPU's; RC 16 bad MAC; RC 4 token MRENCLAVE/MRSIGNER; RC 2
 *          token ATTRIBUTES ≠ the enclave's
 *   then commit MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN and INIT.
 * A failed EINIT changes nothing: the measurement is finalized on a copy.
 *
 * Launch control is flexible: IA32_SGXLEPUBKEYHASH is whatever the OS wrote
 * (hw_set_lepubkeyhash), and an enclave whose MRSIGNER matches it needs no
 * token.  Decisions: the token MAC is AES-CMAC over its first 192 bytes under
 * the CPU's launch key for its KEYID (what EGETKEY hands out for KEYNAME =
 * EINITTOKEN), without the LE's ISVSVN in the derivation; a token's
 * ATTRIBUTES are those of the initialized enclave, INIT included.
 * Deviation: the model keeps no ISVFAMILYID / ISVEXTPRODID (KSS), so those
 * SIGSTRUCT bytes count as reserved and give RC 1 even with KSS = 1.
 */
#include <openssl/bn.h>

#include "../keys.h"
#include "../leaf.h"

static const uint8_t header1[16] = { 0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00 };
static const uint8_t header2[16] = { 0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00,
				      0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 };

static bool sigstruct_well_formed(const struct sgx_sigstruct *ss)
{
	return !memcmp(ss->header.header, header1, 16) && !memcmp(ss->header.header2, header2, 16) &&
	       (ss->header.vendor == 0 || ss->header.vendor == 0x8086) && ss->exponent == 3 &&
	       reserved_zero(ss->header.reserved, sizeof(ss->header.reserved)) &&
	       reserved_zero(ss->body.reserved, sizeof(ss->body.reserved)) &&
	       reserved_zero(ss->body.reserved2, sizeof(ss->body.reserved2)) &&
	       reserved_zero(ss->reserved4, sizeof(ss->reserved4));
}

static BIGNUM *le_bn(const uint8_t *le)
{
	return BN_lebin2bn(le, SGX_MODULUS_SIZE, NULL);
}

/* PKCS#1 v1.5 encoding of SHA-256(header ‖ body), big-endian, 384 bytes. */
static void expected_em(const struct sgx_sigstruct *ss, uint8_t em[SGX_MODULUS_SIZE])
{
	static const uint8_t digest_info[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
						 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	uint8_t msg[256];
	memcpy(msg, &ss->header, 128);
	memcpy(msg + 128, &ss->body, 128);
	size_t pad = SGX_MODULUS_SIZE - 3 - sizeof(digest_info) - 32;
	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xff, pad);
	em[2 + pad] = 0x00;
	memcpy(em + 3 + pad, digest_info, sizeof(digest_info));
	EVP_Digest(msg, sizeof(msg), em + SGX_MODULUS_SIZE - 32, NULL, EVP_sha256(), NULL);
}

/* S^3 mod N must equal the encoded message, and Q1, Q2 must be the quotients
 * the hardware's division-free check relies on. */
static bool signature_valid(const struct sgx_sigstruct *ss)
{
	bool ok = false;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *n = le_bn(ss->modulus), *s = le_bn(ss->signature), *q1 = le_bn(ss->q1), *q2 = le_bn(ss->q2);
	BIGNUM *t = BN_new(), *r = BN_new(), *em = NULL, *three = BN_new();
	uint8_t em_bytes[SGX_MODULUS_SIZE];
	if (!ctx || !n || !s || !q1 || !q2 || !t || !r || !three || BN_is_zero(n) || BN_cmp(s, n) >= 0)
		goto out;
	/* Q1 = floor(S^2 / N), remainder R1 */
	if (!BN_sqr(t, s, ctx) || !BN_div(t, r, t, n, ctx) || BN_cmp(t, q1))
		goto out;
	/* Q2 = floor(R1 * S / N), remainder = S^3 mod N */
	if (!BN_mul(t, r, s, ctx) || !BN_div(t, r, t, n, ctx) || BN_cmp(t, q2))
		goto out;
	expected_em(ss, em_bytes);
	em = BN_bin2bn(em_bytes, sizeof(em_bytes), NULL);
	ok = em && !BN_cmp(r, em);
out:
	BN_free(n); BN_free(s); BN_free(q1); BN_free(q2); BN_free(t); BN_free(r); BN_free(em); BN_free(three);
	BN_CTX_free(ctx);
	return ok;
}

static bool masked_equal(uint64_t a, uint64_t b, uint64_t mask)
{
	return (a & mask) == (b & mask);
}

/* CPUSVN is a vector of component SVNs: a token is from the future if any
 * component is newer than this CPU's. */
static bool cpusvn_newer(const uint8_t token[16], const uint8_t cpu[16])
{
	for (int i = 0; i < 16; i++)
		if (token[i] > cpu[i])
			return true;
	return false;
}

/* Step 8 for a token with VALID[0] = 1, in SDM order. */
static uint64_t check_token(struct hw_machine *m, const struct sgx_einittoken *tok, const uint8_t mrenclave[32],
			    const uint8_t mrsigner[32], const struct sgx_secs *secs)
{
	if ((tok->masked_attributes_le.flags & SGX_ATTR_DEBUG) && !(secs->attributes.flags & SGX_ATTR_DEBUG))
		return SGX_INVALID_EINITTOKEN;
	if ((tok->valid & ~1u) || !reserved_zero(tok->reserved1, sizeof(tok->reserved1)) ||
	    !reserved_zero(tok->reserved2, sizeof(tok->reserved2)) ||
	    !reserved_zero(tok->reserved3, sizeof(tok->reserved3)) ||
	    !reserved_zero(tok->reserved4, sizeof(tok->reserved4)))
		return SGX_INVALID_EINITTOKEN;
	if (cpusvn_newer(tok->cpusvn_le, m->cpusvn))
		return SGX_INVALID_CPUSVN;
	uint8_t key[16], mac[16];
	hw_launch_key(m, tok->keyid, key);
	if (aes_cmac(key, tok, 192, mac) || memcmp(mac, tok->mac, 16))
		return SGX_INVALID_EINITTOKEN;
	if (memcmp(tok->mrenclave, mrenclave, 32) || memcmp(tok->mrsigner, mrsigner, 32))
		return SGX_INVALID_MEASUREMENT;
	/* SGX_INVALID_EINIT_ATTRIBUTE of the 2018 SDM is not in the code table: 2 */
	if (tok->attributes.flags != (secs->attributes.flags | SGX_ATTR_INIT) ||
	    tok->attributes.xfrm != secs->attributes.xfrm)
		return SGX_INVALID_ATTRIBUTE;
	return SGX_SUCCESS;
}

LEAF(encls_einit)
{
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(rbx, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(rdx, 512), GP0);
	EPC_OPERAND(secs_frame, rcx);
	KERNEL_OPERAND(const struct sgx_sigstruct, ss_src, rbx);
	KERNEL_OPERAND(const struct sgx_einittoken, tok_src, rdx);
	struct sgx_sigstruct ss = *ss_src;
	struct sgx_einittoken tok = *tok_src;

	if (!sigstruct_well_formed(&ss))
		return RC(SGX_INVALID_SIG_STRUCT);
	if (atomic_load(&lp->pending_interrupt))
		return RC(SGX_UNMASKED_EVENT);
	if (!signature_valid(&ss))
		return RC(SGX_INVALID_SIGNATURE);

	const struct hw_epcm_entry *epcm = epcm_of(m, secs_frame);
	REQUIRE(epcm->valid && epcm->pt == SGX_PT_SECS, PF(rcx));
	struct hw_enclave *e = enclave_of_secs(m, secs_frame);
	REQUIRE(!e->initialized, GP0);
	struct sgx_secs *secs = secs_page(m, e);

	/* Finalize on a copy: a failed EINIT leaves the measurement usable. */
	uint8_t mrenclave[32], mrsigner[32];
	EVP_MD_CTX *fin = EVP_MD_CTX_new();
	REQUIRE(fin && EVP_MD_CTX_copy_ex(fin, e->measure), (EVP_MD_CTX_free(fin), GP0));
	EVP_DigestFinal_ex(fin, mrenclave, NULL);
	EVP_MD_CTX_free(fin);
	if (memcmp(mrenclave, ss.body.mrenclave, 32))
		return RC(SGX_INVALID_MEASUREMENT);

	EVP_Digest(ss.modulus, SGX_MODULUS_SIZE, mrsigner, NULL, EVP_sha256(), NULL);
	if ((secs->attributes.flags & SGX_ATTR_EINITTOKENKEY) && memcmp(mrsigner, m->lepubkeyhash, 32))
		return RC(SGX_INVALID_ATTRIBUTE);
	if (!masked_equal(secs->attributes.flags, ss.body.attributes.flags, ss.body.attributes_mask.flags) ||
	    !masked_equal(secs->attributes.xfrm, ss.body.attributes.xfrm, ss.body.attributes_mask.xfrm) ||
	    !masked_equal(secs->miscselect, ss.body.miscselect, ss.body.misc_mask))
		return RC(SGX_INVALID_ATTRIBUTE);
	if (!(tok.valid & 1)) {
		if (memcmp(mrsigner, m->lepubkeyhash, 32))
			return RC(SGX_INVALID_EINITTOKEN);
	} else {
		uint64_t code = check_token(m, &tok, mrenclave, mrsigner, secs);
		if (code != SGX_SUCCESS)
			return RC(code);
	}

	memcpy(secs->mrenclave, mrenclave, 32);
	memcpy(secs->mrsigner, mrsigner, 32);
	secs->isv_prod_id = ss.body.isvprodid;
	secs->isv_svn = ss.body.isvsvn;
	secs->attributes.flags |= SGX_ATTR_INIT;
	e->initialized = true;
	EVP_MD_CTX_free(e->measure);
	e->measure = NULL;
	return OK;
}
