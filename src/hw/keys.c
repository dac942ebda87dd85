/*
 * Key derivation of the model CPU.  Real parts derive keys from fused secrets
 * with an undocumented function; the model uses AES-CMAC under per-machine
 * roots derived from hw_config.seed, so keys are stable for a given seed.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "keys.h"

int aes_cmac(const uint8_t key[16], const void *data, size_t len, uint8_t mac[16])
{
	int rc = -1;
	size_t maclen = 0;
	EVP_MAC *alg = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *ctx = alg ? EVP_MAC_CTX_new(alg) : NULL;
	char cipher[] = "AES-128-CBC";
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
				OSSL_PARAM_construct_end() };
	if (ctx && EVP_MAC_init(ctx, key, 16, params) && EVP_MAC_update(ctx, data, len) &&
	    EVP_MAC_final(ctx, mac, &maclen, 16) && maclen == 16)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(alg);
	return rc;
}

void hw_derive_key(const uint8_t root[16], const char *label, const void *context, size_t len, uint8_t key[16])
{
	uint8_t buf[512] = { 0 };
	size_t l = strlen(label);
	if (l > 64)
		l = 64;
	memcpy(buf, label, l);
	if (len > sizeof(buf) - 64)
		len = sizeof(buf) - 64;
	if (context && len)
		memcpy(buf + 64, context, len);
	aes_cmac(root, buf, 64 + len, key);
}

void hw_launch_key(struct hw_machine *m, const uint8_t keyid[32], uint8_t key[16])
{
	hw_derive_key(m->seal_key_root, "launch", keyid, 32, key);
}
