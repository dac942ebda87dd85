/*
 * Measurement: event counters for a run, a cost model that turns them into
 * time, and the invariants of ../shared/spec/policies.md (H1, K1, K2, K3, T1,
 * D1) with every violation counted and located.  docs/cost-model.md has the
 * cost table and its sources, docs/invariants.md what each policy is
 * expected to violate.
 */
#ifndef SGX2EMU_COUNTERS_H
#define SGX2EMU_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sgx2emu/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emu;
struct emu_proc;

enum emu_fault_kind {
	EMU_FAULT_EAUG,          /* hole in an enclave VMA, EAUGed */
	EMU_FAULT_NOT_PRESENT,   /* other not-present fault fixed by the driver (ELDU, PTE install, anon) */
	EMU_FAULT_PTE_PERM,      /* PTE/VMA permission fault (no SGX bit): SIGSEGV/SIGBUS or v2 pfn_mkwrite */
	EMU_FAULT_EPCM,          /* error code bit 15: never reaches the driver */
	EMU_FAULT_KIND_COUNT
};

/*
 * Counters (all uint64_t, so a struct can be treated as an array):
 *   ioctls, mmaps, mprotects, munmaps   system calls made (whatever their result)
 *   enclave_entries   EENTER/ERESUME that entered (model-mode execution, src/exec)
 *   enclave_exits     EEXITs;  aexs: AEXs taken while running enclave code
 *   runtime_exits     OCALL-style round trips a runtime reports (emu_count_runtime_exit);
 *                     their EEXIT and EENTER are counted as well
 *   encls[], enclu[]  leaves executed by the hardware model, any outcome (hw_counters)
 *   etracks           ETRACKs the kernel issued (RESTRICT/MODIFY_TYPES tracking, reclaim)
 *   ipis              IPI rounds (on_each_cpu_mask with a non-empty mask);
 *   ipi_targets       LPs interrupted by them, the caller's own LP not counted
 *                     (Linux runs the callback locally without an interrupt)
 *   tlb_flushes       full TLB flushes of all LPs (IPIs, CR3 writes, enclave entry/exit)
 *   pte_zaps          PTEs removed (zap, munmap, mmap over a mapping, exit)
 *   faults[]          #PFs handled by the kernel, by kind (enum emu_fault_kind)
 *   ewb, eldu         pages written back / loaded back by the kernel (SECS included)
 *   stale_tlb_hits    TLB hits the current PTE ∩ EPCM would refuse: the window that
 *                     ETRACK + IPIs close (a kernel skipping the IPI makes it visible)
 */
struct emu_counters {
	uint64_t ioctls, mmaps, mprotects, munmaps;
	uint64_t enclave_entries, enclave_exits, aexs, runtime_exits;  /* runtime_exits: OCALL-style round trips */
	uint64_t encls[SGX_ENCLS_LEAF_COUNT];
	uint64_t enclu[SGX_ENCLU_LEAF_COUNT];
	uint64_t etracks, ipis, ipi_targets, tlb_flushes, pte_zaps;
	uint64_t faults[EMU_FAULT_KIND_COUNT];
	uint64_t ewb, eldu;
	uint64_t stale_tlb_hits;
};

/* Since emu_create or the last reset. */
void emu_counters_read(struct emu *emu, struct emu_counters *out);
void emu_counters_reset(struct emu *emu);
/* a - b, field by field */
void emu_counters_diff(const struct emu_counters *a, const struct emu_counters *b, struct emu_counters *out);
/* For the runtimes layer: one round trip its enclave made to the host. */
void emu_count_runtime_exit(struct emu *emu);
/* The run's event sequence number: advanced by every counted kernel event and,
 * while invariant checking is on, every leaf.  emu_violation.step is one. */
uint64_t emu_step(struct emu *emu);
/* One line per non-zero counter ("ioctls 3", "encls.EAUG 3", ...). */
void emu_counters_print(const struct emu_counters *c, FILE *out);

/* Cost model: nanoseconds per event.  Defaults cite their source or say
 * "estimate" (docs/cost-model.md); a file of `name = ns` lines overrides. */
struct emu_cost_model {
	double encls_ns[SGX_ENCLS_LEAF_COUNT];
	double enclu_ns[SGX_ENCLU_LEAF_COUNT];
	double syscall_ns, ioctl_ns, enclave_entry_exit_ns, aex_ns, ipi_ns, tlb_flush_ns, pte_zap_ns;
	double fault_ns[EMU_FAULT_KIND_COUNT];
	double ewb_extra_ns, eldu_extra_ns;
	double runtime_exit_ns;      /* per runtime exit, beyond its EEXIT/EENTER */
	double ipi_round_ns;         /* per IPI round; ipi_ns is per target */
};
void emu_cost_model_defaults(struct emu_cost_model *cm);
/* 0, or -1 with a "FILE:LINE: reason" message in err. */
int emu_cost_model_load(struct emu_cost_model *cm, const char *path, char *err, size_t errlen);
/* The same from text in memory; name is the FILE of messages. */
int emu_cost_model_parse(struct emu_cost_model *cm, const char *name, const char *text, size_t len, char *err,
			 size_t errlen);
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
	bool expected;           /* the enclave's policy gives this up (docs/invariants.md):
				  * counted, not a failure */
};
const char *emu_invariant_name(enum emu_invariant inv);
/* Counts per invariant and the first `max` violations; returns the total count. */
uint64_t emu_violations(struct emu *emu, uint64_t counts[EMU_INV_COUNT], struct emu_violation *first, size_t max);

/* K1, K2 and K3 are relations that hold or not over time: a violation is an
 * episode, counted when it starts and over when a later check finds the
 * relation holds again (or the PTE / mapping is gone).  H1, T1, D1 are events. */
struct emu_invariant_stats {
	uint64_t checks[EMU_INV_COUNT];       /* checks made */
	uint64_t violations[EMU_INV_COUNT];   /* as emu_violations' counts */
	uint64_t expected[EMU_INV_COUNT];     /* ... of which expected under the policy */
	uint64_t open[EMU_INV_COUNT];         /* episodes not over yet */
	uint64_t steps[EMU_INV_COUNT];        /* steps the episodes lasted, open ones up to now */
};
void emu_invariant_stats(struct emu *emu, struct emu_invariant_stats *out);
/* Forget violations, episodes and statistics (the checks go on). */
void emu_invariants_reset(struct emu *emu);
/* Audit: K1/K2/K3 over every mapping and PTE of proc now, as at the points
 * where they can break; returns the violations this audit started.  0 when
 * checking is off (emu_config.invariants_off). */
uint64_t emu_check_invariants(struct emu_proc *proc);

#ifdef __cplusplus
}
#endif
#endif
