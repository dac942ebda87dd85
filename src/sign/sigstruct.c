/*
 * SIGSTRUCT signing with OpenSSL.  The header constants are the SDM's; the
 * signature, modulus, Q1 and Q2 are stored little-endian.
 * Q1 = floor(S^2 / N), Q2 = floor((S^3 - Q1*S*N) / N): they let hardware check
 * the signature without a division.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "sgx2emu/sign.h"

static const uint8_t header1[16] = { 0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00 };
static const uint8_t header2[16] = { 0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00,
				      0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 };

void sgx_sigstruct_init_header(struct sgx_sigstruct *ss)
{
	memcpy(ss->header.header, header1, 16);
	memcpy(ss->header.header2, header2, 16);
}

EVP_PKEY *sgx_sign_keygen(void)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	BIGNUM *e = BN_new();
	if (ctx && e && BN_set_word(e, 3) && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) > 0 && EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) > 0)
		EVP_PKEY_keygen(ctx, &key);
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static int key_is_sgx(EVP_PKEY *key)
{
	BIGNUM *e = NULL;
	int ok = EVP_PKEY_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) == 3072 &&
		 EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) && BN_is_word(e, 3);
	BN_free(e);
	return ok;
}

EVP_PKEY *sgx_sign_load_key(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key) {
		snprintf(err, errlen, "%s: not a PEM private key", path);
		return NULL;
	}
	if (!key_is_sgx(key)) {
		snprintf(err, errlen, "%s: SGX needs RSA-3072 with exponent 3", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

static int bn_to_le(const BIGNUM *bn, uint8_t out[SGX_MODULUS_SIZE])
{
	return BN_bn2lebinpad(bn, out, SGX_MODULUS_SIZE) == SGX_MODULUS_SIZE ? 0 : -1;
}

int sgx_sign_sigstruct(EVP_PKEY *key, struct sgx_sigstruct *ss)
{
	if (!key_is_sgx(key))
		return -1;
	int rc = -1;
	BIGNUM *n = NULL, *s = NULL, *q1 = BN_new(), *q2 = BN_new(), *tmp = BN_new(), *rem = BN_new();
	BN_CTX *bctx = BN_CTX_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t msg[256], sig[SGX_MODULUS_SIZE];
	size_t siglen = sizeof(sig);

	sgx_sigstruct_init_header(ss);
	ss->exponent = 3;
	memcpy(msg, &ss->header, 128);
	memcpy(msg + 128, &ss->body, 128);
	if (!q1 || !q2 || !tmp || !rem || !bctx || !md)
		goto out;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) <= 0 ||
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) <= 0 || siglen != sizeof(sig))
		goto out;
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n))
		goto out;
	s = BN_bin2bn(sig, (int)siglen, NULL);
	if (!s)
		goto out;
	/* Q1 = S^2 / N ; Q2 = (S^3 - Q1*S*N) / N = ((S^2 mod N) * S) / N */
	if (!BN_sqr(tmp, s, bctx) || !BN_div(q1, rem, tmp, n, bctx) || !BN_mul(tmp, rem, s, bctx) ||
	    !BN_div(q2, NULL, tmp, n, bctx))
		goto out;
	reverse(ss->signature, sig, sizeof(sig));
	if (bn_to_le(n, ss->modulus) || bn_to_le(q1, ss->q1) || bn_to_le(q2, ss->q2))
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	BN_CTX_free(bctx);
	BN_free(n);
	BN_free(s);
	BN_free(q1);
	BN_free(q2);
	BN_free(tmp);
	BN_free(rem);
	return rc;
}

void sgx_sigstruct_mrsigner(const struct sgx_sigstruct *ss, uint8_t mrsigner[32])
{
	EVP_Digest(ss->modulus, SGX_MODULUS_SIZE, mrsigner, NULL, EVP_sha256(), NULL);
}
