/*
 * MRENCLAVE: SHA-256 over 64-byte blocks in leaf order (isa.md §5).  EINIT
 * applies the final padding.  All integers little-endian.
 */
#include <string.h>

#include "measure.h"

static void measure_block(EVP_MD_CTX *ctx, const uint8_t block[64])
{
	EVP_DigestUpdate(ctx, block, 64);
}

void measure_ecreate(EVP_MD_CTX *ctx, uint32_t ssa_frame_size, uint64_t size)
{
	uint8_t block[64] = "ECREATE";
	memcpy(block + 8, &ssa_frame_size, 4);
	memcpy(block + 12, &size, 8);
	measure_block(ctx, block);
}

/* EADD measures the page offset and the first 48 bytes of SECINFO (FLAGS plus
 * 40 reserved bytes, which EADD has already required to be zero). */
void measure_eadd(EVP_MD_CTX *ctx, uint64_t offset, uint64_t secinfo_flags)
{
	uint8_t block[64] = "EADD";
	memcpy(block + 8, &offset, 8);
	memcpy(block + 16, &secinfo_flags, 8);
	measure_block(ctx, block);
}

void measure_eextend(EVP_MD_CTX *ctx, uint64_t offset, const uint8_t data[256])
{
	uint8_t block[64] = "EEXTEND";
	memcpy(block + 8, &offset, 8);
	measure_block(ctx, block);
	for (int i = 0; i < 4; i++)
		measure_block(ctx, data + 64 * i);
}
