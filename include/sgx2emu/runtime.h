/*
 * Enclave runtimes' memory flows (../shared/spec/runtimes-and-peers.md §1–4),
 * as enclave-side libraries that run inside the emulator in model mode.
 *
 * A runtime instance (struct rt) is one process with one enclave built
 * through the system API, a main TCS, and the runtime's code registered at
 * its entry.  A workload is a script of operations (struct rt_op) that
 * rt_run() executes inside the enclave in one ECALL: each operation runs the
 * runtime's own flow (Gramine, Enarx, Intel EMM or Occlum), with its ENCLU
 * leaves issued by the enclave and its kernel requests made by OCALLs (EEXIT,
 * the host's system calls, EENTER again: one runtime exit each).  EPCM faults
 * the runtime handles (lazy / on-demand commit) go to its exception handler
 * (EENTER at CSSA 1, EEXIT, ERESUME).
 *
 * Policies.  Each flow uses what the active driver policy offers
 * (include/sgx2emu/policy.h): RESTRICT under upstream, RELAX for relaxations
 * under v2, RESET under reset, plain mprotect under mprotect-emodpr, MODIFY
 * under v1.  The policy is detected by probing the driver after INIT (as
 * Gramine probes for EDMM), not taken from the configuration.  Where a
 * policy cannot support a flow the run fails loudly: rt_run returns -1 and
 * rt_error() says which step failed, how, and under which policy; nothing
 * is silently skipped.  sgx1 (no EAUG, no SGX2 ioctls) fails at rt_create.
 *
 * Modelling decision: the runtime's trusted bookkeeping (its page tracker,
 * region list, the script and its progress across OCALLs) lives in host
 * memory and is not modelled, like the locals of any model-mode enclave
 * code (enclave.h); every leaf operand (SECINFO, source page) and every
 * access to the enclave's pages goes through the hardware model.
 */
#ifndef SGX2EMU_RUNTIME_H
#define SGX2EMU_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>   /* PROT_* */

#include "sgx2emu/emu.h"
#include "sgx2emu/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rt_kind {
	RT_GRAMINE,   /* EACCEPT-first; mprotect = EMODPE + RESTRICT + EACCEPT; lazy alloc; dynamic TCS */
	RT_ENARX,     /* mmap + EACCEPTCOPY of a zero page; mprotect = RESTRICT(R) + EACCEPT + EMODPE */
	RT_EMM,       /* Intel EMM: RESERVE / COMMIT_NOW / COMMIT_ON_DEMAND, modify_permissions/type, ... */
	RT_OCCLUM,    /* EMM regions on demand; commits a whole region after 3 faults */
	RT_KIND_COUNT
};
const char *rt_kind_name(enum rt_kind k);                   /* "gramine", "enarx", "emm", "occlum" */
int rt_kind_from_name(const char *name, enum rt_kind *out);  /* 0 or -1 */

/* Operations.  Addresses are offsets into the runtime's heap (rt_heap_base),
 * page-aligned; prot is PROT_* (mman.h). */
enum rt_op_kind {
	RT_OP_ALLOC,       /* allocate [off, off+len) with prot; flags RT_F_* below */
	RT_OP_FREE,        /* free (uncommit and release) */
	RT_OP_PROTECT,     /* change the permissions of committed pages to prot */
	RT_OP_TOUCH,       /* one access per page: read, or write (RT_F_WRITE), or fetch (RT_F_EXEC) */
	RT_OP_THREAD,      /* a new TCS at off (+ its SSA pages, RT_THREAD_PAGES in all), entered once
			    * from a new thread */
	RT_OP_COMMIT_DATA, /* EMM: EACCEPTCOPY of data into an on-demand range, then prot */
	RT_OP_UNCOMMIT,    /* EMM: trim but keep the range reserved */
	RT_OP_COUNT
};
#define RT_F_LAZY    0x1u  /* ALLOC: commit on first access (Gramine MAP_NORESERVE, EMM COMMIT_ON_DEMAND,
			    * an Occlum region); without it Occlum also allocates on demand */
#define RT_F_RESERVE 0x2u  /* ALLOC (EMM): address range only, nothing committed */
#define RT_F_WRITE   0x4u  /* TOUCH */
#define RT_F_EXEC    0x8u  /* TOUCH */
#define RT_THREAD_PAGES 3  /* TCS + 2 SSA frames */

struct rt_op {
	enum rt_op_kind kind;
	uint64_t off, len;
	int prot;
	unsigned flags;
};

/* Whether the runtime has that operation at all (Enarx has no dynamic
 * threads nor lazy allocation, only the EMM reserves, uncommits and commits
 * data); a policy's limits show only when the flow runs. */
bool rt_kind_supports(enum rt_kind k, enum rt_op_kind op, unsigned flags);

struct rt_options {
	enum rt_kind kind;
	uint64_t heap_bytes;      /* dynamic area (default 8 MiB) */
};

/* What the runtime library itself saw (the system's counters are in
 * emu_counters). */
struct rt_stats {
	uint64_t ecalls;          /* rt_run calls that entered */
	uint64_t ocalls;          /* runtime exits: EEXIT + host work + EENTER */
	uint64_t host_syscalls;   /* system calls the host made for OCALLs (ioctl, mmap, mprotect, munmap) */
	uint64_t exceptions;      /* exceptions the runtime's handler took (EENTER at CSSA 1) */
	uint64_t enclu[SGX_ENCLU_LEAF_COUNT];   /* leaves the runtime's code issued */
	uint64_t threads;         /* threads started on dynamic TCSs */
};

struct rt;

/* Builds the enclave in a new process of emu (which must outlive it).  NULL
 * on failure with a message in err (e.g. "gramine: policy sgx1 ..."). */
struct rt *rt_create(struct emu *emu, const struct rt_options *opt, char *err, size_t errlen);
void rt_destroy(struct rt *rt);

/* Runs the ops inside the enclave (one ECALL).  0, or -1 with rt_error set;
 * after a failure the instance is dead (later runs fail at once). */
int rt_run(struct rt *rt, const struct rt_op *ops, size_t n);
const char *rt_error(const struct rt *rt);

enum emu_policy rt_policy(const struct rt *rt);   /* as detected */
enum rt_kind rt_kind_of(const struct rt *rt);
uint64_t rt_heap_base(const struct rt *rt);
uint64_t rt_heap_size(const struct rt *rt);
struct emu_proc *rt_proc(const struct rt *rt);
void rt_stats(const struct rt *rt, struct rt_stats *out);

/* Probes the driver through an initialized enclave's fd (as a runtime does):
 * 0 and *out, or -1 if the answers fit no known policy. */
int rt_detect_policy(struct emu_proc *proc, int fd, enum emu_policy *out);

#ifdef __cplusplus
}
#endif
#endif
