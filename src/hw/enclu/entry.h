/* Checks shared by EENTER and ERESUME (isa.md §4.14, §4.15). */
#ifndef SGX2EMU_HW_ENCLU_ENTRY_H
#define SGX2EMU_HW_ENCLU_ENTRY_H

#include "../leaf.h"

struct entry_ctx {
	struct sgx_tcs *tcs;
	uint32_t tcs_frame;
	struct hw_enclave *encl;
	struct sgx_secs *secs;
	uint8_t *ssa_last_page;   /* last page of the SSA frame that was checked */
	struct sgx_gprsgx *gpr;   /* GPRSGX at the end of that frame */
};

/* Everything up to and including TCS.STATE; `resume` selects the frame
 * CSSA-1 (and requires CSSA > 0) instead of CSSA, and checks the saved RIP
 * and FS/GS bases instead of OENTRY. */
struct sgx_result entry_checks(struct hw_lp *lp, uint64_t tcs_la, uint64_t aep, bool resume,
			       struct entry_ctx *ctx);
/* Enclave mode off (EEXIT, AEX): TCS inactive, outside FS/GS bases back,
 * deregistered from the tracking epoch, TLB flushed. */
void exit_enclave_mode(struct hw_lp *lp, struct sgx_tcs *tcs);
/* Enclave mode on: TCS active with the AEP saved, FS/GS bases from the TCS
 * (outside ones saved), epoch registration, TLB flush. */
void entry_commit(struct hw_lp *lp, uint64_t tcs_la, uint64_t aep, const struct entry_ctx *ctx);

#endif
