/*
 * Measurement: event counters for a run, a cost model that turns them into
 * time, and the invariants of ../shared/spec/policies.md (H1, K1, K2, K3, T1,
 * D1) with every violation counted and located.
 */
#ifndef SGX2EMU_COUNTERS_H
#define SGX2EMU_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

#include "sgx2emu/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emu;

enum emu_fault_kind {
	EMU_FAULT_EAUG,          /* hole in an enclave VMA, EAUGed */
	EMU_FAULT_NOT_PRESENT,   /* other not-present fault fixed by the driver (ELDU, PTE install, anon) */
	EMU_FAULT_PTE_PERM,      /* PTE/VMA permission fault (no SGX bit): SIGSEGV/SIGBUS or v2 pfn_mkwrite */
	EMU_FAULT_EPCM,          /* error code bit 15: never reaches the driver */
	EMU_FAULT_KIND_COUNT
};

struct emu_counters {
	uint64_t ioctls, mmaps, mprotects, munmaps;
	uint64_t enclave_entries, enclave_exits, aexs, runtime_exits;  /* runtime_exits: OCALL-style round trips */
	uint64_t encls[SGX_ENCLS_LEAF_COUNT];
	uint64_t enclu[SGX_ENCLU_LEAF_COUNT];
	uint64_t etracks, ipis, ipi_targets, tlb_flushes, pte_zaps;
	uint64_t faults[EMU_FAULT_KIND_COUNT];
	uint64_t ewb, eldu;
};

void emu_counters_read(struct emu *emu, struct emu_counters *out);
void emu_counters_reset(struct emu *emu);
/* a - b, field by field */
void emu_counters_diff(const struct emu_counters *a, const struct emu_counters *b, struct emu_counters *out);

/* Cost model: nanoseconds per event.  Defaults cite their source or say
 * "estimate" (docs/cost-model.md); a file of `name = ns` lines overrides. */
struct emu_cost_model {
	double encls_ns[SGX_ENCLS_LEAF_COUNT];
	double enclu_ns[SGX_ENCLU_LEAF_COUNT];
	double syscall_ns, ioctl_ns, enclave_entry_exit_ns, aex_ns, ipi_ns, tlb_flush_ns, pte_zap_ns;
	double fault_ns[EMU_FAULT_KIND_COUNT];
	double ewb_extra_ns, eldu_extra_ns;
};
void emu_cost_model_defaults(struct emu_cost_model *cm);
/* 0, or -1 with a "FILE:LINE: reason" message in err. */
int emu_cost_model_load(struct emu_cost_model *cm, const char *path, char *err, size_t errlen);
double emu_cost_model_ns(const struct emu_cost_model *cm, const struct emu_counters *c);
/* The table with a source note per entry, for docs and `--costs`. */
void emu_cost_model_print(const struct emu_cost_model *cm, FILE *out);

/* Invariants */
enum emu_invariant { EMU_INV_H1, EMU_INV_K1, EMU_INV_K2, EMU_INV_K3, EMU_INV_T1, EMU_INV_D1, EMU_INV_COUNT };
struct emu_violation {
	enum emu_invariant inv;
	uint64_t addr;           /* page */
	uint64_t step;           /* event sequence number of the run when it was seen */
	const char *what;        /* short description */
};
const char *emu_invariant_name(enum emu_invariant inv);
/* Counts per invariant and the first `max` violations; returns the total count. */
uint64_t emu_violations(struct emu *emu, uint64_t counts[EMU_INV_COUNT], struct emu_violation *first, size_t max);

#ifdef __cplusplus
}
#endif
#endif
