/*
 * Key derivation of the model CPU.  Real parts derive keys from fused secrets
 * with an undocumented function; the model's is its own, stable for a given
 * hw_config.seed (machine.c derives the roots from it):
 *
 *   key = AES-128-CMAC(root, label padded to 64 bytes ‖ context)
 *
 * Roots and contexts:
 * - SEAL and PROVISION_SEAL keys: root seal_key_root (the SDM's SEAL_KEY
 *   FUSES), context struct hw_key_deps filled as the SDM's EGETKEY fills
 *   TMP_KEYDEPENDENCIES.
 * - PROVISION key: root report_key_root — the SDM derives it without the
 *   seal fuses, so it must not depend on seal_key_root — same context rule.
 * - REPORT key: root report_key_root, context hw_key_deps with KEYNAME =
 *   REPORT, the target's MRENCLAVE, ATTRIBUTES, MISCSELECT, CONFIGID,
 *   CONFIGSVN, the CPU's CPUSVN and the KEYID (EREPORT: CR_REPORT_KEYID;
 *   EGETKEY: KEYREQUEST.KEYID, which a verifier copies from REPORT.KEYID).
 * - EINITTOKEN (launch) key: root seal_key_root, label "launch", context the
 *   KEYID alone.  Deviation: the SDM also mixes in the LE's ISVPRODID,
 *   ISVSVN, CPUSVN, attributes and MRSIGNER; EINIT (encls/einit.c) only has
 *   the token's KEYID to rebuild it, so the model keys it on KEYID alone.
 *   EINIT's MRSIGNER = IA32_SGXLEPUBKEYHASH rule for EINITTOKENKEY enclaves
 *   still confines the key to launch enclaves of the OS-chosen signer.
 * - CR_REPORT_KEYID: 32 bytes derived from report_key_root ("statistically
 *   unique per boot" on hardware; per seed here).
 * There is no owner epoch (it would be a constant zero).
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

void hw_derive_enclave_key(struct hw_machine *m, const struct hw_key_deps *deps, uint8_t key[16])
{
	const uint8_t *root = m->seal_key_root;
	if (deps->keyname == SGX_KEY_REPORT || deps->keyname == SGX_KEY_PROVISION)
		root = m->report_key_root;
	hw_derive_key(root, "enclave key", deps, sizeof(*deps), key);
}

void hw_report_keyid(struct hw_machine *m, uint8_t keyid[32])
{
	hw_derive_key(m->report_key_root, "report keyid 0", NULL, 0, keyid);
	hw_derive_key(m->report_key_root, "report keyid 1", NULL, 0, keyid + 16);
}

void hw_report_key(struct hw_machine *m, const uint8_t mrenclave[32], const struct sgx_attributes *attributes,
		   uint32_t miscselect, const uint8_t config_id[64], uint16_t config_svn, const uint8_t keyid[32],
		   uint8_t key[16])
{
	struct hw_key_deps d;
	memset(&d, 0, sizeof(d));
	d.keyname = SGX_KEY_REPORT;
	memcpy(d.mrenclave, mrenclave, 32);
	d.attributes = *attributes;
	d.miscselect = miscselect;
	memcpy(d.config_id, config_id, 64);
	d.config_svn = config_svn;
	memcpy(d.keyid, keyid, 32);
	memcpy(d.cpusvn, m->cpusvn, 16);
	hw_derive_enclave_key(m, &d, key);
}

bool hw_cpusvn_beyond(const struct hw_machine *m, const uint8_t cpusvn[16])
{
	for (int i = 0; i < 16; i++)
		if (cpusvn[i] > m->cpusvn[i])
			return true;
	return false;
}
