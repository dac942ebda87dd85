/*
 * `sgx2emu compare`: built-in workloads run by each runtime's flows
 * (include/sgx2emu/runtime.h) under each driver policy, with the counters,
 * modelled time and invariant status of every run (compare.c).  The
 * workloads are shared with `sgx2emu inspect` (inspect.c).
 */
#ifndef SGX2EMU_TOOLS_COMPARE_H
#define SGX2EMU_TOOLS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sgx2emu/counters.h"
#include "sgx2emu/emu.h"
#include "sgx2emu/runtime.h"

struct cmp_workload {
	const char *name;
	const char *what;            /* one line for the table's heading */
	uint64_t heap_bytes;         /* the runtime's heap */
	uint64_t epc_bytes;          /* 0: CMP_EPC_DEFAULT */
	unsigned nr_lps;             /* 0: CMP_LPS_DEFAULT */
	/* Fills ops for runtime k (at most max), returns how many; 0 when k
	 * lacks an operation the workload needs (reported "n/a"). */
	size_t (*build)(enum rt_kind k, struct rt_op *ops, size_t max);
};
#define CMP_EPC_DEFAULT (16ull << 20)
#define CMP_LPS_DEFAULT 4
#define CMP_MAX_OPS 1024

extern const struct cmp_workload cmp_workloads[];
extern const unsigned cmp_nr_workloads;
const struct cmp_workload *cmp_workload_find(const char *name);
/* The machine a workload runs on under policy p. */
void cmp_config(const struct cmp_workload *w, enum emu_policy p, const struct emu_switches *sw, struct emu_config *cfg);

struct cmp_options {
	unsigned workloads;          /* bit per cmp_workloads entry; 0 = all */
	unsigned runtimes;           /* bit per enum rt_kind; 0 = all */
	unsigned policies;           /* bit per enum emu_policy; 0 = all */
	bool json;
	bool progress;               /* a progress line on stderr */
	const char *costs;           /* cost model file, NULL: defaults */
	struct emu_switches switches; /* for every run */
};

/* Runs the selection; the tables (or JSON) go to out, progress and errors to
 * err.  Returns 0, or 1 if an invariant was violated that the run's policy
 * does not give up (an emulator or runtime bug), 2 on a bad cost file.  A
 * policy that cannot support a runtime's flow is a reported result, not an
 * error. */
int cmp_run(const struct cmp_options *opt, FILE *out, FILE *err);

/* The commands with their output streams. */
int compare_main(int argc, char **argv, FILE *out, FILE *err);
int inspect_main(int argc, char **argv, FILE *out, FILE *err);

#endif
