/*
 * The enclave side of the Intel Enclave Memory Manager's five entry points
 * (sgx-emm: sgx_mm_primitives.h, sgx_mm_rt_abstraction.h), for enclaves that
 * run against sgx2emu.  docs/emm.md says how to build the real EMM with it.
 *
 *   int do_eaccept(const sec_info_t *si, size_t addr);              ENCLU[EACCEPT]
 *   int do_emodpe(const sec_info_t *si, size_t addr);               ENCLU[EMODPE]
 *   int do_eacceptcopy(const sec_info_t *si, size_t dest, size_t src);  ENCLU[EACCEPTCOPY]
 *   int sgx_mm_alloc_ocall(uint64_t addr, size_t length, int page_type, int alloc_flags);
 *   int sgx_mm_modify_ocall(uint64_t addr, size_t length, int flags_from, int flags_to);
 *
 * Freestanding: without SGX2EMU_EMM_MODEL this header needs nothing beyond
 * <stdint.h> and <stddef.h>, so a -ffreestanding -nostdlib enclave can use it.
 *
 * Two builds of the same code:
 *   native (default)       the primitives are ENCLU instructions (inline asm);
 *                          the OCALLs touch a doorbell page (below).
 *   SGX2EMU_EMM_MODEL      model-mode enclave code (sgx2emu/enclave.h): the
 *                          primitives go through encl_enclu on the encl_ctx
 *                          bound with sgx2emu_emm_model_bind, the OCALLs
 *                          through encl_read/encl_write; the same flows then
 *                          run in model mode (tests/runtime/test_emm_backend.c).
 * Define SGX2EMU_EMM_IMPLEMENT in exactly one translation unit of the enclave
 * before including this header: that unit then defines the five functions
 * under the EMM's names (and the OCALL state).  It must not also include the
 * EMM's sgx_mm_primitives.h: sec_info_t is struct sgx2emu_sec_info here (same
 * layout; SGX2EMU_EMM_CHECK_SDK_CONSTANTS checks it in a unit that includes
 * the EMM's headers and this one, without SGX2EMU_EMM_DECLARE).
 *
 * Return values (what the EMM expects).  do_eaccept / do_eacceptcopy return
 * RAX after the leaf: 0, or the SGX error code (SGX_PAGE_ATTRIBUTES_MISMATCH
 * 19, SGX_NOT_TRACKED 11, ...); the EMM aborts or fails on anything but 0.
 * EMODPE has no error code (it faults instead), so do_emodpe returns 0.  The
 * OCALLs return 0 or EFAULT, as sgx_mm_rt_abstraction.h specifies ("EFAULT for
 * all failures"); the host's own errno (sgx2emu_emm_alloc/_modify, EINVAL for
 * an invalid request, the errno of a failed system call) stays in the
 * request block's ret for whoever wants it.
 *
 * ---- The OCALL convention: a doorbell fault ----
 *
 * The host creates an OCALL area outside ELRANGE (sgx2emu_emm_area_create in
 * sgx2emu/emm_backend.h): three pages, page 0 the request block (RW), pages 1
 * and 2 the doorbells (PROT_NONE).  The enclave learns its address once
 * (sgx2emu_emm_ocall_init) and, for request number seq (counted by the
 * enclave from 0):
 *   1. writes the request block (seq, nr, arguments, ret = SGX2EMU_EMM_RET_NONE);
 *   2. reads 8 bytes of doorbell seq & 1: the page is PROT_NONE, so the read
 *      faults, the thread leaves the enclave by an AEX (SSA frame CSSA used)
 *      and the #PF reaches the host as Linux reports enclave exceptions: the
 *      vDSO's run->function = ERESUME, exception_vector 14, exception_addr =
 *      the doorbell page.  Its user_handler (sgx2emu_emm_user_handler, or the
 *      runtime's own calling sgx2emu_emm_ocall_service) runs the request with
 *      sgx2emu_emm_alloc / sgx2emu_emm_modify, writes ret, makes that doorbell
 *      readable and the other one PROT_NONE again, and returns ERESUME;
 *   3. the read is retried and succeeds; the enclave reads ret once.
 * Why this and not EEXIT + EENTER: re-entering at OENTRY needs a trampoline in
 * the enclave's entry code that restores the interrupted C context; the
 * doorbell needs nothing from the entry code, works the same in model mode
 * (where enclave code is a coroutine that an AEX suspends and ERESUME
 * continues) and natively, and costs the same one exit and one entry.  What
 * it asks: one free SSA frame (CSSA < NSSA) at every OCALL, so not from an
 * exception handler running in the last frame; one OCALL at a time per area
 * (the EMM holds its global lock across every OCALL, which gives that); the
 * host must not make a doorbell readable by itself (a read that does not
 * fault leaves ret = SGX2EMU_EMM_RET_NONE, which the enclave takes as a
 * failure: EFAULT).  The enclave must check that the area lies outside its
 * ELRANGE before sgx2emu_emm_ocall_init (the host chooses the address).
 */
#ifndef SGX2EMU_EMM_ENCLAVE_H
#define SGX2EMU_EMM_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The EMM's constants (sgx_mm.h, sgx_mm_rt_abstraction.h, ema.c) under our
 * own names, same values.  The permission, type and state bits are the
 * SECINFO flags' (Intel SDM Vol. 3D 34.11.1): the EMM builds a SECINFO by
 * OR-ing them, and the host passes the type >> 8 to MODIFY_TYPES.
 * src/runtime/emm_backend.c pins them against <sys/mman.h>, <errno.h> and
 * sgx2emu/arch.h; SGX2EMU_EMM_CHECK_SDK_CONSTANTS pins them against the EMM's
 * own headers where both are visible.
 */
/* alloc_flags, bits 0-7 */
#define SGX2EMU_EMA_ALLOC_FLAGS_MASK    0xFFu
#define SGX2EMU_EMA_RESERVE             0x1u
#define SGX2EMU_EMA_COMMIT_NOW          0x2u
#define SGX2EMU_EMA_COMMIT_ON_DEMAND    0x4u
#define SGX2EMU_EMA_GROWSDOWN           0x10u
#define SGX2EMU_EMA_GROWSUP             0x20u
#define SGX2EMU_EMA_FIXED               0x40u
#define SGX2EMU_EMA_SYSTEM              0x80u   /* sgx_mm_rt_abstraction.h */
/* page types, bits 8-15 (= SECINFO.PAGE_TYPE << 8) */
#define SGX2EMU_EMA_PAGE_TYPE_SHIFT     8
#define SGX2EMU_EMA_PAGE_TYPE_MASK      0xFF00u
#define SGX2EMU_EMA_PAGE_TYPE_TCS       0x100u
#define SGX2EMU_EMA_PAGE_TYPE_REG       0x200u
#define SGX2EMU_EMA_PAGE_TYPE_TRIM      0x400u
#define SGX2EMU_EMA_PAGE_TYPE_SS_FIRST  0x500u
#define SGX2EMU_EMA_PAGE_TYPE_SS_REST   0x600u
/* alignment, bits 24-31 (log2) */
#define SGX2EMU_EMA_ALIGNMENT_SHIFT     24
#define SGX2EMU_EMA_ALIGNMENT_MASK      0xFF000000u
/* permissions (= PROT_* = SECINFO R/W/X) */
#define SGX2EMU_EMA_PROT_NONE           0x0u
#define SGX2EMU_EMA_PROT_READ           0x1u
#define SGX2EMU_EMA_PROT_WRITE          0x2u
#define SGX2EMU_EMA_PROT_EXEC           0x4u
#define SGX2EMU_EMA_PROT_READ_WRITE     0x3u
#define SGX2EMU_EMA_PROT_READ_EXEC      0x5u
#define SGX2EMU_EMA_PROT_MASK           0x7u
/* SECINFO state bits the EMM adds (ema.c's SGX_EMA_STATE_*) */
#define SGX2EMU_EMA_STATE_PENDING       0x8u
#define SGX2EMU_EMA_STATE_MODIFIED      0x10u
#define SGX2EMU_EMA_STATE_PR            0x20u
/* sgx_mm.h: what a #PF handler returns */
#define SGX2EMU_MM_EXCEPTION_CONTINUE_SEARCH     0
#define SGX2EMU_MM_EXCEPTION_CONTINUE_EXECUTION  (-1)

/* ENCLU leaves (RAX) and the one errno the enclave side returns (Linux x86) */
#define SGX2EMU_ENCLU_EACCEPT      5u
#define SGX2EMU_ENCLU_EMODPE       6u
#define SGX2EMU_ENCLU_EACCEPTCOPY  7u
#define SGX2EMU_EMM_EFAULT         14

/* sec_info_t: SECINFO, 64 bytes, 64-byte aligned (the EMM aligns its locals
 * with SGX_SECINFO_ALIGN; the type carries it here). */
struct sgx2emu_sec_info {
	uint64_t flags;
	uint64_t reserved[7];
} __attribute__((aligned(64)));
typedef struct sgx2emu_sec_info sgx2emu_sec_info_t;

/* ---- the OCALL area (layout shared with the host) ---- */
#define SGX2EMU_EMM_PAGE          4096u
#define SGX2EMU_EMM_AREA_SIZE     (3u * SGX2EMU_EMM_PAGE)
/* The doorbell page of request seq. */
#define SGX2EMU_EMM_DOORBELL(area, seq) ((uint64_t)(area) + SGX2EMU_EMM_PAGE * (1u + ((uint64_t)(seq) & 1u)))
enum {
	SGX2EMU_EMM_OCALL_ALLOC = 1,    /* a0 = page_type, a1 = alloc_flags */
	SGX2EMU_EMM_OCALL_MODIFY = 2,   /* a0 = flags_from, a1 = flags_to */
};
/* ret before the host answers: not an errno, so an unanswered request fails */
#define SGX2EMU_EMM_RET_NONE      (-1)

struct sgx2emu_emm_ocall {            /* at the area's first byte */
	uint64_t seq;                  /* enclave: request number (doorbell seq & 1) */
	uint64_t nr;                   /* SGX2EMU_EMM_OCALL_* */
	uint64_t addr, length;
	int32_t a0, a1;
	int32_t ret;                   /* host: 0 or a positive errno */
	int32_t pad;
};

/* The enclave's OCALL state: one area per enclave, requests numbered from 0. */
struct sgx2emu_emm_ocall_state {
	uint64_t area;
	uint64_t seq;
};

/* ---- native primitives ---- */
#ifndef SGX2EMU_EMM_MODEL

/* ENCLU with RAX = leaf, RBX, RCX, RDX; returns RAX after it. */
static inline uint64_t sgx2emu_enclu(uint64_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	uint64_t rax = leaf;
	__asm__ volatile(".byte 0x0f, 0x01, 0xd7" : "+a"(rax) : "b"(rbx), "c"(rcx), "d"(rdx) : "memory", "cc");
	return rax;
}

/* EACCEPT: RBX = SECINFO, RCX = page.  0 or the SGX error code. */
static inline int sgx2emu_eaccept(const struct sgx2emu_sec_info *si, size_t addr)
{
	return (int)sgx2emu_enclu(SGX2EMU_ENCLU_EACCEPT, (uint64_t)(uintptr_t)si, addr, 0);
}

/* EMODPE: RBX = SECINFO, RCX = page.  Faults or succeeds: always 0. */
static inline int sgx2emu_emodpe(const struct sgx2emu_sec_info *si, size_t addr)
{
	(void)sgx2emu_enclu(SGX2EMU_ENCLU_EMODPE, (uint64_t)(uintptr_t)si, addr, 0);
	return 0;
}

/* EACCEPTCOPY: RBX = SECINFO, RCX = destination, RDX = source.  0 or the SGX error code. */
static inline int sgx2emu_eacceptcopy(const struct sgx2emu_sec_info *si, size_t dest, size_t src)
{
	return (int)sgx2emu_enclu(SGX2EMU_ENCLU_EACCEPTCOPY, (uint64_t)(uintptr_t)si, dest, src);
}

/*
 * One OCALL by the doorbell (top of this file): write the request into the
 * untrusted block, fault on the doorbell, read ret once.  0 when the host
 * answered 0; EFAULT otherwise (also when it did not answer).  The compiler
 * barriers keep the block's stores before the doorbell read and the read of
 * ret after it; volatile keeps each access single.
 */
static inline int sgx2emu_emm_ocall(struct sgx2emu_emm_ocall_state *st, uint64_t nr, uint64_t addr,
				    uint64_t length, int a0, int a1)
{
	volatile struct sgx2emu_emm_ocall *req = (volatile struct sgx2emu_emm_ocall *)(uintptr_t)st->area;
	if (!st->area)
		return SGX2EMU_EMM_EFAULT;
	uint64_t seq = st->seq++;
	req->seq = seq;
	req->nr = nr;
	req->addr = addr;
	req->length = length;
	req->a0 = a0;
	req->a1 = a1;
	req->ret = SGX2EMU_EMM_RET_NONE;
	__asm__ volatile("" ::: "memory");
	(void)*(volatile const uint64_t *)(uintptr_t)SGX2EMU_EMM_DOORBELL(st->area, seq);
	__asm__ volatile("" ::: "memory");
	return req->ret == 0 ? 0 : SGX2EMU_EMM_EFAULT;
}

#else /* SGX2EMU_EMM_MODEL */

#include "sgx2emu/enclave.h"

/* Model-mode enclave code's binding: its encl_ctx and a 64-byte-aligned
 * SECINFO slot in an RW REG page of the enclave (the EMM's sec_info_t is a
 * local of C code, which model mode keeps in host memory; the leaves need
 * their SECINFO in enclave memory, so it is copied there first). */
struct sgx2emu_emm_model {
	struct encl_ctx *ctx;
	uint64_t secinfo;
};

static inline uint64_t sgx2emu_model_leaf(const struct sgx2emu_emm_model *m, uint32_t leaf,
					  const struct sgx2emu_sec_info *si, uint64_t rcx, uint64_t rdx)
{
	encl_write(m->ctx, m->secinfo, si, sizeof(*si));
	return encl_enclu(m->ctx, leaf, m->secinfo, rcx, rdx);
}

static inline int sgx2emu_model_eaccept(const struct sgx2emu_emm_model *m, const struct sgx2emu_sec_info *si,
					size_t addr)
{
	return (int)sgx2emu_model_leaf(m, SGX2EMU_ENCLU_EACCEPT, si, addr, 0);
}

static inline int sgx2emu_model_emodpe(const struct sgx2emu_emm_model *m, const struct sgx2emu_sec_info *si,
				       size_t addr)
{
	(void)sgx2emu_model_leaf(m, SGX2EMU_ENCLU_EMODPE, si, addr, 0);
	return 0;
}

static inline int sgx2emu_model_eacceptcopy(const struct sgx2emu_emm_model *m, const struct sgx2emu_sec_info *si,
					    size_t dest, size_t src)
{
	return (int)sgx2emu_model_leaf(m, SGX2EMU_ENCLU_EACCEPTCOPY, si, dest, src);
}

/* The doorbell OCALL with enclave accesses to the untrusted block: the
 * doorbell read is an AEX that suspends this code until the host ERESUMEs. */
static inline int sgx2emu_model_ocall(const struct sgx2emu_emm_model *m, struct sgx2emu_emm_ocall_state *st,
				      uint64_t nr, uint64_t addr, uint64_t length, int a0, int a1)
{
	if (!st->area)
		return SGX2EMU_EMM_EFAULT;
	uint64_t seq = st->seq++;
	struct sgx2emu_emm_ocall req = { seq, nr, addr, length, a0, a1, SGX2EMU_EMM_RET_NONE, 0 };
	int32_t ret;
	encl_write(m->ctx, st->area, &req, sizeof(req));
	(void)encl_read64(m->ctx, SGX2EMU_EMM_DOORBELL(st->area, seq));
	encl_read(m->ctx, st->area + offsetof(struct sgx2emu_emm_ocall, ret), &ret, sizeof(ret));
	return ret == 0 ? 0 : SGX2EMU_EMM_EFAULT;
}

/* Bind the calling host thread's model-mode enclave code (SGX2EMU_EMM_IMPLEMENT unit). */
void sgx2emu_emm_model_bind(struct encl_ctx *ctx, uint64_t secinfo_la);

#endif /* SGX2EMU_EMM_MODEL */

/* ---- the OCALL state and the EMM's names ---- */
extern struct sgx2emu_emm_ocall_state sgx2emu_emm_ocall_state;   /* unless SGX2EMU_EMM_OCALL_STATE */
/* The OCALL area (from the host; checked to be outside ELRANGE by the caller).
 * Once per area: requests are numbered from 0 again. */
void sgx2emu_emm_ocall_init(uint64_t area);
/* The five under the EMM's names, with this header's sec_info_t: declared
 * only on request (SGX2EMU_EMM_DECLARE, or the IMPLEMENT unit), so a unit
 * that includes the EMM's own sgx_mm_primitives.h does not see two
 * declarations of different types. */
#if defined(SGX2EMU_EMM_DECLARE) || defined(SGX2EMU_EMM_IMPLEMENT)
int do_eaccept(const sgx2emu_sec_info_t *si, size_t addr);
int do_emodpe(const sgx2emu_sec_info_t *si, size_t addr);
int do_eacceptcopy(const sgx2emu_sec_info_t *si, size_t dest, size_t src);
int sgx_mm_alloc_ocall(uint64_t addr, size_t length, int page_type, int alloc_flags);
int sgx_mm_modify_ocall(uint64_t addr, size_t length, int flags_from, int flags_to);
#endif

#ifdef SGX2EMU_EMM_IMPLEMENT
/* Where the OCALL state lives: a global of this unit, unless the enclave
 * names another place (an lvalue of struct sgx2emu_emm_ocall_state), e.g.
 * when its data layout is fixed and has no room for a new global. */
#ifndef SGX2EMU_EMM_OCALL_STATE
struct sgx2emu_emm_ocall_state sgx2emu_emm_ocall_state;
#define SGX2EMU_EMM_OCALL_STATE sgx2emu_emm_ocall_state
#endif

void sgx2emu_emm_ocall_init(uint64_t area)
{
	SGX2EMU_EMM_OCALL_STATE.area = area;
	SGX2EMU_EMM_OCALL_STATE.seq = 0;
}

#ifndef SGX2EMU_EMM_MODEL
int do_eaccept(const sgx2emu_sec_info_t *si, size_t addr)
{
	return sgx2emu_eaccept(si, addr);
}

int do_emodpe(const sgx2emu_sec_info_t *si, size_t addr)
{
	return sgx2emu_emodpe(si, addr);
}

int do_eacceptcopy(const sgx2emu_sec_info_t *si, size_t dest, size_t src)
{
	return sgx2emu_eacceptcopy(si, dest, src);
}

int sgx_mm_alloc_ocall(uint64_t addr, size_t length, int page_type, int alloc_flags)
{
	return sgx2emu_emm_ocall(&SGX2EMU_EMM_OCALL_STATE, SGX2EMU_EMM_OCALL_ALLOC, addr, length, page_type,
				 alloc_flags);
}

int sgx_mm_modify_ocall(uint64_t addr, size_t length, int flags_from, int flags_to)
{
	return sgx2emu_emm_ocall(&SGX2EMU_EMM_OCALL_STATE, SGX2EMU_EMM_OCALL_MODIFY, addr, length, flags_from,
				 flags_to);
}
#else
/* One binding per host thread: the thread that runs the enclave code. */
static _Thread_local struct sgx2emu_emm_model sgx2emu_emm_model_current;

void sgx2emu_emm_model_bind(struct encl_ctx *ctx, uint64_t secinfo_la)
{
	sgx2emu_emm_model_current.ctx = ctx;
	sgx2emu_emm_model_current.secinfo = secinfo_la;
}

int do_eaccept(const sgx2emu_sec_info_t *si, size_t addr)
{
	return sgx2emu_model_eaccept(&sgx2emu_emm_model_current, si, addr);
}

int do_emodpe(const sgx2emu_sec_info_t *si, size_t addr)
{
	return sgx2emu_model_emodpe(&sgx2emu_emm_model_current, si, addr);
}

int do_eacceptcopy(const sgx2emu_sec_info_t *si, size_t dest, size_t src)
{
	return sgx2emu_model_eacceptcopy(&sgx2emu_emm_model_current, si, dest, src);
}

int sgx_mm_alloc_ocall(uint64_t addr, size_t length, int page_type, int alloc_flags)
{
	return sgx2emu_model_ocall(&sgx2emu_emm_model_current, &SGX2EMU_EMM_OCALL_STATE, SGX2EMU_EMM_OCALL_ALLOC,
				   addr, length, page_type, alloc_flags);
}

int sgx_mm_modify_ocall(uint64_t addr, size_t length, int flags_from, int flags_to)
{
	return sgx2emu_model_ocall(&sgx2emu_emm_model_current, &SGX2EMU_EMM_OCALL_STATE, SGX2EMU_EMM_OCALL_MODIFY,
				   addr, length, flags_from, flags_to);
}
#endif /* SGX2EMU_EMM_MODEL */
#endif /* SGX2EMU_EMM_IMPLEMENT */

/*
 * In a unit that sees both the EMM's headers (sgx_mm.h, sgx_mm_rt_abstraction.h,
 * sgx_mm_primitives.h) and this one: every constant has the EMM's value and
 * sec_info_t has this layout.  Use at file scope.
 */
#define SGX2EMU_EMM_CHECK_SDK_CONSTANTS() \
	_Static_assert(SGX_EMA_RESERVE == SGX2EMU_EMA_RESERVE && SGX_EMA_COMMIT_NOW == SGX2EMU_EMA_COMMIT_NOW && \
		       SGX_EMA_COMMIT_ON_DEMAND == SGX2EMU_EMA_COMMIT_ON_DEMAND && \
		       SGX_EMA_GROWSDOWN == SGX2EMU_EMA_GROWSDOWN && SGX_EMA_GROWSUP == SGX2EMU_EMA_GROWSUP && \
		       SGX_EMA_FIXED == SGX2EMU_EMA_FIXED && SGX_EMA_SYSTEM == SGX2EMU_EMA_SYSTEM && \
		       SGX_EMA_ALLOC_FLAGS_MASK == SGX2EMU_EMA_ALLOC_FLAGS_MASK, "EMM alloc flags"); \
	_Static_assert(SGX_EMA_PAGE_TYPE_SHIFT == SGX2EMU_EMA_PAGE_TYPE_SHIFT && \
		       SGX_EMA_PAGE_TYPE_MASK == SGX2EMU_EMA_PAGE_TYPE_MASK && \
		       SGX_EMA_PAGE_TYPE_TCS == SGX2EMU_EMA_PAGE_TYPE_TCS && \
		       SGX_EMA_PAGE_TYPE_REG == SGX2EMU_EMA_PAGE_TYPE_REG && \
		       SGX_EMA_PAGE_TYPE_TRIM == SGX2EMU_EMA_PAGE_TYPE_TRIM && \
		       SGX_EMA_PAGE_TYPE_SS_FIRST == SGX2EMU_EMA_PAGE_TYPE_SS_FIRST && \
		       SGX_EMA_PAGE_TYPE_SS_REST == SGX2EMU_EMA_PAGE_TYPE_SS_REST, "EMM page types"); \
	_Static_assert(SGX_EMA_PROT_NONE == SGX2EMU_EMA_PROT_NONE && SGX_EMA_PROT_READ == SGX2EMU_EMA_PROT_READ && \
		       SGX_EMA_PROT_WRITE == SGX2EMU_EMA_PROT_WRITE && SGX_EMA_PROT_EXEC == SGX2EMU_EMA_PROT_EXEC && \
		       SGX_EMA_PROT_MASK == SGX2EMU_EMA_PROT_MASK, "EMM permissions"); \
	_Static_assert(SGX_MM_EXCEPTION_CONTINUE_SEARCH == SGX2EMU_MM_EXCEPTION_CONTINUE_SEARCH && \
		       SGX_MM_EXCEPTION_CONTINUE_EXECUTION == SGX2EMU_MM_EXCEPTION_CONTINUE_EXECUTION, \
		       "EMM handler results"); \
	_Static_assert(sizeof(sec_info_t) == sizeof(struct sgx2emu_sec_info) && \
		       offsetof(sec_info_t, flags) == offsetof(struct sgx2emu_sec_info, flags), "sec_info_t")

#ifdef __cplusplus
}
#endif
#endif
