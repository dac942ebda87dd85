/*
 * SIGSTRUCT signing and MRENCLAVE computation in software, for building test
 * enclaves and for loaders.  RSA-3072, public exponent 3, PKCS#1 v1.5 over
 * SHA-256(header ‖ body), big numbers little-endian (isa.md §2.8).
 */
#ifndef SGX2EMU_SIGN_H
#define SGX2EMU_SIGN_H

#include <stdint.h>

#include <openssl/evp.h>

#include "sgx2emu/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A fresh RSA-3072 key with e = 3 (NULL on failure). */
EVP_PKEY *sgx_sign_keygen(void);
/* Loads a PEM private key (RSA-3072, e = 3); NULL with a message in err. */
EVP_PKEY *sgx_sign_load_key(const char *path, char *err, size_t errlen);

/* Fills the header constants, modulus, exponent, signature, Q1 and Q2 of ss;
 * the caller has filled ss->header.date/swdefined/vendor and ss->body.
 * Returns 0, or -1 if the key is not RSA-3072 with e = 3 or signing failed. */
int sgx_sign_sigstruct(EVP_PKEY *key, struct sgx_sigstruct *ss);
void sgx_sigstruct_init_header(struct sgx_sigstruct *ss);
/* MRSIGNER = SHA-256 of the little-endian modulus. */
void sgx_sigstruct_mrsigner(const struct sgx_sigstruct *ss, uint8_t mrsigner[32]);

/* Software MRENCLAVE, block for block as ECREATE/EADD/EEXTEND measure. */
struct sgx_measurement {
	EVP_MD_CTX *ctx;
};
int sgx_measure_init(struct sgx_measurement *mm, uint32_t ssa_frame_size, uint64_t size);
void sgx_measure_eadd(struct sgx_measurement *mm, uint64_t offset, uint64_t secinfo_flags);
void sgx_measure_eextend(struct sgx_measurement *mm, uint64_t offset, const uint8_t data[256]);
/* Adds a whole page: EADD, then 16 EEXTENDs if measured. */
void sgx_measure_page(struct sgx_measurement *mm, uint64_t offset, uint64_t secinfo_flags, const uint8_t *page,
		      int measured);
void sgx_measure_final(struct sgx_measurement *mm, uint8_t mrenclave[32]);

#ifdef __cplusplus
}
#endif
#endif
