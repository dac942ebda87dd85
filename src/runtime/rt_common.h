/*
 * Runtime flows (include/sgx2emu/runtime.h): what the runtimes share.
 *
 *   rt_common.c  host side: the enclave builder, policy detection, the ECALL
 *                loop (OCALLs, exception handler entries, ERESUME) and the
 *                host half of every OCALL (the system calls)
 *   rt_encl.c    enclave side: the entry point, the plan interpreter (ENCLU
 *                leaves page by page, OCALL requests), plan helpers
 *   gramine.c, enarx.c, emm.c, occlum.c   each runtime's flows, as planners
 *
 * How an operation runs.  Inside the enclave, the runtime's planner turns one
 * rt_op into a plan: a short list of actions (EACCEPT / EMODPE / EACCEPTCOPY
 * over a range, an OCALL with up to three host actions, a tracker update).
 * The interpreter runs the actions in order; an OCALL action EEXITs with the
 * request, and the next EENTER continues after it.  A plan is the runtime's
 * published sequence for that operation under the active policy, written out
 * in its file as a table of cases, so the flows can be read and compared.
 */
#ifndef SGX2EMU_RUNTIME_RT_COMMON_H
#define SGX2EMU_RUNTIME_RT_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "sgx2emu/enclave.h"
#include "sgx2emu/runtime.h"

/* Enclave layout (offsets).  TCS #0 with three SSA frames (an EPCM fault at
 * level 0, the handler at level 1, the handler's own EAUG fault at level 2). */
#define RT_TCS        0x0000ull
#define RT_SSA        0x1000ull
#define RT_NSSA       3u
#define RT_CODE       0x4000ull      /* OENTRY */
#define RT_DATA       0x5000ull      /* RW: SECINFO slot */
#define RT_ZERO       0x6000ull      /* R: zero page, EACCEPTCOPY source */
#define RT_IMAGE_END  0x7000ull
#define RT_HEAP       0x10000ull
#define RT_HEAP_DEFAULT (8ull << 20)

/* Why the host entered (RDI at EENTER) */
enum { RT_ENTER_ECALL = 1, RT_ENTER_OCALL_RET, RT_ENTER_EXCEPTION, RT_ENTER_NOP };

/* The trusted page tracker: one byte per heap page. */
#define PG_PERM      0x07u   /* EPCM rights as the runtime set them (R W X) */
#define PG_COMMITTED 0x08u
#define PG_LAZY      0x10u   /* commit on fault */
#define PG_ALLOC     0x20u   /* allocated / reserved range */
#define PG_TCS       0x40u

/* Host half of an OCALL */
enum rt_hop {
	HOP_RESTRICT,     /* SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS(arg) */
	HOP_MODT,         /* SGX_IOC_ENCLAVE_MODIFY_TYPES(arg = page type) */
	HOP_REMOVE,       /* SGX_IOC_ENCLAVE_REMOVE_PAGES */
	HOP_RELAX,        /* v2: SGX2EMU_IOC_RELAX_PERMISSIONS(arg) */
	HOP_RESET,        /* reset: SGX2EMU_IOC_RESET_PERMISSIONS */
	HOP_MODIFY,       /* v1: SGX2EMU_IOC_MODIFY_PERMISSIONS(arg) */
	HOP_MPROTECT,     /* mprotect(arg = PROT_*) */
	HOP_MMAP,         /* mmap(arg = PROT_*, MAP_SHARED | MAP_FIXED, enclave fd) */
	HOP_UNMAP,        /* munmap, then a PROT_NONE reservation so nothing else lands there */
	HOP_THREAD,       /* a new host thread EENTERs the TCS at addr and returns */
};
#define RT_OCALL_MAX 3
struct rt_hostop {
	enum rt_hop kind;
	uint64_t addr, len, arg;
};
struct rt_ocall {
	unsigned n;
	struct rt_hostop op[RT_OCALL_MAX];
	/* out */
	int err;                  /* errno of the first failing action, 0 */
	unsigned failed;          /* its index */
	uint64_t result;          /* its ioctl result (EPCM leaf code), if any */
	uint64_t count;           /* its bytes processed */
};

enum rt_act { A_ACCEPT, A_EMODPE, A_COPY, A_OCALL, A_SET, A_TCS };
enum rt_filter { F_ALL, F_UNCOMMITTED, F_COMMITTED };
struct rt_action {
	enum rt_act kind;
	uint64_t addr, len;       /* linear addresses */
	uint64_t flags;           /* SECINFO flags (ACCEPT, COPY), rights (EMODPE) */
	uint64_t keep;            /* ACCEPT: | (tracked rights & keep), per page */
	enum rt_filter filter;
	bool down;                /* highest page first */
	uint8_t set, clear;       /* SET */
	struct rt_ocall oc;       /* OCALL */
};

#define RT_PLAN_MAX 64
struct rt_plan {
	unsigned n;
	struct rt_action a[RT_PLAN_MAX];
	bool overflow;
};

struct rt_region {                /* Occlum's VMAs */
	uint64_t start, len;
	unsigned faults;
};
#define RT_MAX_REGIONS 64

struct rt;

struct rt_flows {
	const char *name;
	/* Inside the enclave: the plan for op, or false after rt_fail(). */
	bool (*plan)(struct rt *rt, const struct rt_op *op, struct rt_plan *p);
	/* The exception handler: true if handled (the host ERESUMEs). */
	bool (*on_fault)(struct rt *rt, struct encl_ctx *ctx, uint64_t addr, uint32_t errcd);
	/* How the loader maps the heap (0: left reserved; alloc OCALLs map it). */
	int (*heap_prot)(enum emu_policy policy);
	bool dynamic_threads;
};
extern const struct rt_flows rt_gramine_flows, rt_enarx_flows, rt_emm_flows, rt_occlum_flows;

struct rt {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *thread;
	struct emu_thread *extra[HW_MAX_LPS];
	unsigned nr_extra;
	enum rt_kind kind;
	enum emu_policy policy;
	const struct rt_flows *flows;
	int fd;
	uint64_t base, size, heap, heap_len;
	void *reservation;
	size_t reservation_len;
	struct rt_stats stats;
	bool dead;
	char err[512];

	/* ---- trusted state (enclave-private; see runtime.h) ---- */
	uint8_t *pages;                   /* tracker, heap_len / 4096 bytes */
	struct rt_region regions[RT_MAX_REGIONS];
	unsigned nr_regions;
	const struct rt_op *ops;          /* the script of the current ECALL */
	size_t nr_ops, next_op;
	struct rt_plan plan;
	bool planned;
	unsigned next_action;
	struct rt_ocall *pending;         /* OCALL requested at the last EEXIT */
	int status;                       /* of the ECALL: 0, -1 */
	bool handled;                     /* exception handler's answer */
};

/* ---- enclave side (rt_encl.c) ---- */
void rt_encl_entry(struct encl_ctx *ctx);
/* Records the first failure (printf-style), marks the ECALL failed. */
void rt_fail(struct rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint8_t *rt_page(struct rt *rt, uint64_t la);          /* tracker byte, NULL outside the heap */
bool rt_in_heap(const struct rt *rt, uint64_t la, uint64_t len);
/* ENCLU with a SECINFO (slot in the data page); returns RAX, counts the leaf. */
uint64_t rt_eaccept(struct rt *rt, struct encl_ctx *ctx, uint64_t la, uint64_t flags);
void rt_emodpe(struct rt *rt, struct encl_ctx *ctx, uint64_t la, uint64_t rights);
uint64_t rt_eacceptcopy(struct rt *rt, struct encl_ctx *ctx, uint64_t la, uint64_t flags, uint64_t src);
/* Commit one page EACCEPT-first with REG|RW|PENDING; false after rt_fail. */
bool rt_commit_page(struct rt *rt, struct encl_ctx *ctx, uint64_t la);
/*
 * The tracker byte of the page an EPCM fault (#PF with PFEC.SGX) at addr hit,
 * if that page is on demand and not committed yet, else NULL: the faults every
 * runtime's handler may own (each adds its own conditions), the rest are real
 * violations.
 */
uint8_t *rt_lazy_fault_page(struct rt *rt, uint64_t addr, uint32_t errcd);

/* Plan building */
struct rt_action *p_add(struct rt_plan *p, enum rt_act kind, uint64_t addr, uint64_t len);
void p_accept(struct rt_plan *p, uint64_t addr, uint64_t len, uint64_t flags, uint64_t keep, enum rt_filter f);
void p_emodpe(struct rt_plan *p, uint64_t addr, uint64_t len, unsigned rights);
void p_copy(struct rt_plan *p, uint64_t addr, uint64_t len, uint64_t flags);
void p_set(struct rt_plan *p, uint64_t addr, uint64_t len, uint8_t set, uint8_t clear);
struct rt_ocall *p_ocall(struct rt_plan *p);
void oc_add(struct rt_ocall *oc, enum rt_hop kind, uint64_t addr, uint64_t len, uint64_t arg);
/* TCS image for a dynamic thread at addr (SSA frames follow it). */
void p_tcs(struct rt_plan *p, uint64_t addr);
/* v2: a change of rights from old to new: the restricting part through
 * RESTRICT + EACCEPT, the relaxing part through EMODPE + RELAX, then
 * mprotect(new) if host_mprotect. */
void plan_v2_change(struct rt_plan *p, uint64_t addr, uint64_t len, unsigned old, unsigned new, bool host_mprotect);
/* Trim and remove the committed pages of a range, one maximal run of
 * committed pages at a time (the EMM's batching): OCALL MODIFY_TYPES(TRIM),
 * EACCEPT(TRIM|MODIFIED) each page, OCALL REMOVE_PAGES (+ extra, if
 * extra_kind >= 0, over the run).  The pages become uncommitted. */
void plan_trim_runs(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, int extra_kind, uint64_t extra_arg);
/* EMM flows shared with Occlum (emm.c) */
bool plan_emm_modify(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, unsigned old, unsigned new);
bool plan_emm_thread(struct rt *rt, struct rt_plan *p, uint64_t addr);
/* The tracked rights of a range, or -1 if they differ between pages or a
 * page is not committed. */
int rt_range_rights(struct rt *rt, uint64_t addr, uint64_t len);
bool rt_range_all(struct rt *rt, uint64_t addr, uint64_t len, uint8_t mask, uint8_t want);

/* PROT_* <-> SECINFO rights are the same bits (R 1, W 2, X 4). */
static inline unsigned rt_rights(int prot)
{
	return (unsigned)prot & 7u;
}
const char *rt_rights_str(unsigned rights);   /* "rw-" (static buffers, 4 in rotation) */
const char *rt_hop_name(enum rt_hop kind);

#define SI_REG   SGX_SECINFO_PT(SGX_PT_REG)
#define SI_TCS   SGX_SECINFO_PT(SGX_PT_TCS)
#define SI_TRIM  SGX_SECINFO_PT(SGX_PT_TRIM)
#define SI_RW    (SGX_SECINFO_R | SGX_SECINFO_W)

/* ---- host side (rt_common.c) ---- */
void rt_host_ocall(struct rt *rt, struct rt_ocall *oc);

#endif
