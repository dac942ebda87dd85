/* MRENCLAVE blocks (isa.md §5), shared by the leaves and the software signer. */
#ifndef SGX2EMU_HW_MEASURE_H
#define SGX2EMU_HW_MEASURE_H

#include <stdint.h>

#include <openssl/evp.h>

void measure_ecreate(EVP_MD_CTX *ctx, uint32_t ssa_frame_size, uint64_t size);
void measure_eadd(EVP_MD_CTX *ctx, uint64_t offset, uint64_t secinfo_flags);
void measure_eextend(EVP_MD_CTX *ctx, uint64_t offset, const uint8_t data[256]);

#endif
