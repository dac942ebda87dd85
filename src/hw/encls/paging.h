/*
 * What EWB, ELDB and ELDU share (isa.md §4.6): VA slots, the PCMD SECINFO of
 * an EPCM entry, and the one load flow behind ELDB and ELDU.
 */
#ifndef SGX2EMU_HW_ENCLS_PAGING_H
#define SGX2EMU_HW_ENCLS_PAGING_H

#include "../leaf.h"

/* The VA slot an 8-byte aligned, EPC-resolved RDX names (host address). */
static inline uint64_t *va_slot(uint64_t rdx)
{
	return (uint64_t *)(uintptr_t)rdx;
}

/* SECINFO.FLAGS describing an EPCM entry: PT, RWX, PENDING, MODIFIED, PR. */
static inline uint64_t pcmd_flags_of(const struct hw_epcm_entry *e)
{
	return SGX_SECINFO_PT(e->pt) | (e->r ? SGX_SECINFO_R : 0) | (e->w ? SGX_SECINFO_W : 0) |
	       (e->x ? SGX_SECINFO_X : 0) | (e->pending ? SGX_SECINFO_PENDING : 0) |
	       (e->modified ? SGX_SECINFO_MODIFIED : 0) | (e->pr ? SGX_SECINFO_PR : 0);
}

/* ELDB (blocked = true) and ELDU (blocked = false). */
struct sgx_result eld_leaf(struct hw_lp *lp, uint64_t rbx, uint64_t rcx, uint64_t rdx, bool blocked);

#endif
