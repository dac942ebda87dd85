/*
 * Sealing of evicted pages (EWB seals, ELDB/ELDU open; isa.md §4.6, §2.7).
 *
 * AES-128-GCM under the CPU's paging key.  The additional authenticated data
 * is a 128-byte MAC header: PCMD bytes 0..111 as the leaf builds them
 * (SECINFO with PT, RWX, PENDING, MODIFIED, PR; ENCLAVEID; reserved) followed
 * by LINADDR and 8 zero bytes.  So the tag binds the contents, the EPCM
 * attributes, the enclave address and the enclave.
 *
 * The 12-byte IV is the version (the VA-slot value) with a fixed prefix.
 * Versions come from a per-machine counter that starts at 1 and is never
 * reused, so no (key, IV) pair is used twice, and a blob opens only with
 * the version its VA slot still holds: that is the anti-replay property.
 */
#include <errno.h>
#include <string.h>

#include "machine.h"

#define SEAL_HEADER_SIZE 128

static void seal_iv(uint64_t version, uint8_t iv[12])
{
	static const uint8_t prefix[4] = { 'E', 'W', 'B', 0 };
	memcpy(iv, prefix, sizeof(prefix));
	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(version >> (8 * i));
}

static void seal_header(const struct sgx_pcmd *pcmd, uint64_t linaddr, uint8_t hdr[SEAL_HEADER_SIZE])
{
	memset(hdr, 0, SEAL_HEADER_SIZE);
	memcpy(hdr, pcmd, offsetof(struct sgx_pcmd, mac));
	for (int i = 0; i < 8; i++)
		hdr[offsetof(struct sgx_pcmd, mac) + i] = (uint8_t)(linaddr >> (8 * i));
}

/* One GCM pass; for decryption the tag is set before the final step and
 * checked by it.  Returns 0, -EBADMSG (tag mismatch) or -ENOMEM. */
static int gcm(struct hw_machine *m, bool enc, uint64_t version, const struct sgx_pcmd *pcmd, uint64_t linaddr,
	       const uint8_t *in, uint8_t *out, uint8_t tag[16])
{
	uint8_t iv[12], hdr[SEAL_HEADER_SIZE];
	int len, ret = -ENOMEM;
	seal_iv(version, iv);
	seal_header(pcmd, linaddr, hdr);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_CipherInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, sizeof(iv), NULL) ||
	    !EVP_CipherInit_ex(ctx, NULL, NULL, m->paging_key, iv, enc) ||
	    !EVP_CipherUpdate(ctx, NULL, &len, hdr, sizeof(hdr)) ||
	    !EVP_CipherUpdate(ctx, out, &len, in, SGX_PAGE_SIZE))
		goto out;
	if (enc) {
		if (EVP_CipherFinal_ex(ctx, out + len, &len) && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag))
			ret = 0;
	} else {
		if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag))
			goto out;
		ret = EVP_CipherFinal_ex(ctx, out + len, &len) ? 0 : -EBADMSG;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int seal_page(struct hw_machine *m, uint64_t version, const struct sgx_pcmd *pcmd, uint64_t linaddr,
	      const uint8_t *plain, uint8_t *cipher, uint8_t mac[16])
{
	return gcm(m, true, version, pcmd, linaddr, plain, cipher, mac);
}

int unseal_page(struct hw_machine *m, uint64_t version, const struct sgx_pcmd *pcmd, uint64_t linaddr,
		const uint8_t *cipher, uint8_t *plain, const uint8_t mac[16])
{
	uint8_t tag[16];
	memcpy(tag, mac, sizeof(tag));
	return gcm(m, false, version, pcmd, linaddr, cipher, plain, tag);
}
