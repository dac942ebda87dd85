/*
 * MRENCLAVE in software, for loaders that must know the hash before EINIT.
 * The blocks are the hardware model's own (src/hw/measure.c).
 */
#include "sgx2emu/sign.h"
#include "../hw/measure.h"

int sgx_measure_init(struct sgx_measurement *mm, uint32_t ssa_frame_size, uint64_t size)
{
	mm->ctx = EVP_MD_CTX_new();
	if (!mm->ctx || !EVP_DigestInit_ex(mm->ctx, EVP_sha256(), NULL))
		return -1;
	measure_ecreate(mm->ctx, ssa_frame_size, size);
	return 0;
}

void sgx_measure_eadd(struct sgx_measurement *mm, uint64_t offset, uint64_t secinfo_flags)
{
	measure_eadd(mm->ctx, offset, secinfo_flags);
}

void sgx_measure_eextend(struct sgx_measurement *mm, uint64_t offset, const uint8_t data[256])
{
	measure_eextend(mm->ctx, offset, data);
}

void sgx_measure_page(struct sgx_measurement *mm, uint64_t offset, uint64_t secinfo_flags, const uint8_t *page,
		      int measured)
{
	if (((secinfo_flags & SGX_SECINFO_PT_MASK) >> SGX_SECINFO_PT_SHIFT) == SGX_PT_TCS)
		secinfo_flags &= ~SGX_SECINFO_RWX;
	measure_eadd(mm->ctx, offset, secinfo_flags);
	if (measured)
		for (uint64_t off = 0; off < SGX_PAGE_SIZE; off += 256)
			measure_eextend(mm->ctx, offset + off, page + off);
}

void sgx_measure_final(struct sgx_measurement *mm, uint8_t mrenclave[32])
{
	EVP_DigestFinal_ex(mm->ctx, mrenclave, NULL);
	EVP_MD_CTX_free(mm->ctx);
	mm->ctx = NULL;
}
