/*
 * The small vocabulary that ENCLS/ENCLU leaves are written in, so that a leaf
 * reads like the SDM's pseudocode: each check is one line, in the SDM's order,
 * and names the outcome when it fails.
 *
 *   REQUIRE(aligned(rbx, 32), GP0);
 *   EPC_OPERAND(target, rcx);                 // #PF(rcx) unless rcx is in the EPC
 *   REQUIRE(!epcm->valid, PF(rcx));
 *   if (epcm->pending) return RC(SGX_PAGE_NOT_MODIFIABLE);
 *
 * Every leaf has the signature LEAF(name) and an implicit `lp`.
 */
#ifndef SGX2EMU_HW_LEAF_H
#define SGX2EMU_HW_LEAF_H

#include <string.h>

#include "machine.h"

static inline struct sgx_result leaf_ok(void)
{
	return (struct sgx_result){ .vector = SGX_VEC_NONE };
}

/* Return code with ZF=1 */
static inline struct sgx_result leaf_rc(uint64_t code)
{
	return (struct sgx_result){ .vector = SGX_VEC_NONE, .rax = code, .zf = true };
}

/* Informational code with CF=1 (EBLOCK, EWB) */
static inline struct sgx_result leaf_info(uint64_t code)
{
	return (struct sgx_result){ .vector = SGX_VEC_NONE, .rax = code, .cf = true };
}

static inline struct sgx_result leaf_gp(void)
{
	return (struct sgx_result){ .vector = SGX_VEC_GP };
}

static inline struct sgx_result leaf_pf(uint64_t address, uint32_t error_code)
{
	return (struct sgx_result){ .vector = SGX_VEC_PF, .address = address, .error_code = error_code };
}

/*
 * #PF raised by a leaf because an operand does not resolve to the EPC or its
 * EPCM entry is in the wrong state.  Decision (isa.md §1.4 "to be confirmed"):
 * the error code is P|SGX, plus U when the leaf is an ENCLU leaf (CPL 3).
 */
static inline uint32_t leaf_epcm_pfec(const struct hw_lp *lp)
{
	return SGX_PFEC_SGX | SGX_PFEC_P | (lp->in_enclave ? SGX_PFEC_U : 0);
}

/* Remember which check decided the outcome, for hw_lp_why() / hw_explain(). */
static inline void leaf_note(struct hw_lp *lp, const char *file, int line, const char *check)
{
	lp->why.file = file;
	lp->why.line = line;
	lp->why.check = check;
}

/* EENTER and ERESUME run outside enclave mode but, like every ENCLU leaf, at
 * CPL 3: their EPCM #PF carries U as well (leaf_epcm_pfec cannot tell). */
#define PF_ENCLU(addr) leaf_pf((addr), SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_U)

#define GP0          leaf_gp()
#define PF(addr)     leaf_pf((addr), leaf_epcm_pfec(lp))
#define RC(code)     (leaf_note(lp, __FILE__, __LINE__, "return code"), leaf_rc(code))
#define INFO(code)   (leaf_note(lp, __FILE__, __LINE__, "information code"), leaf_info(code))
#define OK           leaf_ok()

/* The first failing check wins; its text and place are kept for inspection. */
#define REQUIRE(cond, outcome) \
	do { \
		if (!(cond)) { \
			struct sgx_result outcome_ = (outcome); \
			leaf_note(lp, __FILE__, __LINE__, #cond); \
			return outcome_; \
		} \
	} while (0)

static inline bool aligned(uint64_t x, uint64_t n)
{
	return (x & (n - 1)) == 0;
}

static inline bool canonical(uint64_t x)
{
	/* shift as unsigned: a signed left shift that overflows is undefined */
	return (uint64_t)((int64_t)(x << 16) >> 16) == x;
}

/* A kernel (CPL 0) operand outside the EPC: a host address.  The null page and
 * non-canonical addresses fault like an unmapped kernel address. */
#define KERNEL_OPERAND(type, var, addr) \
	REQUIRE((addr) >= SGX_PAGE_SIZE && canonical(addr), leaf_pf((addr), 0)); \
	type *var = (type *)(uintptr_t)(addr)

/* An operand that must be an EPC page (or a location inside one) */
#define EPC_OPERAND(frame, addr) \
	uint32_t frame = epc_frame(lp->m, (addr)); \
	REQUIRE(frame != HW_NO_FRAME, PF(addr))

/* An enclave (CPL 3) operand: translated through the LP's page table; a paging
 * failure is an ordinary #PF.  Yields the host pointer and the EPC frame
 * (HW_NO_FRAME if the page is not EPC). */
#define ENCLAVE_OPERAND(host, frame, la, kind) \
	uint8_t *host; \
	uint32_t frame; \
	do { \
		struct sgx_result tr_ = lp_translate(lp, (la), (kind), &host, &frame); \
		if (tr_.vector != SGX_VEC_NONE) { \
			leaf_note(lp, __FILE__, __LINE__, "page tables map " #la); \
			return tr_; \
		} \
		pt_mark_accessed(lp->pt, (la)); \
	} while (0)

static inline uint64_t secinfo_pt(uint64_t flags)
{
	return (flags & SGX_SECINFO_PT_MASK) >> SGX_SECINFO_PT_SHIFT;
}

static inline bool reserved_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Is this EPCM entry one of the page types that belong to an enclave's ELRANGE? */
static inline bool is_child_type(uint8_t pt)
{
	return pt == SGX_PT_REG || pt == SGX_PT_TCS || pt == SGX_PT_TRIM || pt == SGX_PT_SS_FIRST ||
	       pt == SGX_PT_SS_REST;
}

/*
 * EPCM conditions for an enclave's own data operand (SECINFO of EACCEPT,
 * source of EACCEPTCOPY, SSA pages, ...): a valid, unblocked, accepted REG
 * page of the current enclave at this address, with the rights asked for.
 */
static inline bool epcm_usable_reg(struct hw_lp *lp, uint32_t frame, uint64_t la, bool need_r, bool need_w)
{
	if (frame == HW_NO_FRAME)
		return false;
	const struct hw_epcm_entry *ep = epcm_of(lp->m, frame);
	return ep->valid && !ep->blocked && !ep->pending && !ep->modified && ep->pt == SGX_PT_REG &&
	       ep->secs == lp->encl->secs_frame && ep->enclave_address == (la & SGX_PAGE_MASK) &&
	       (!need_r || ep->r) && (!need_w || ep->w);
}

static inline struct sgx_secs *current_secs(struct hw_lp *lp)
{
	return secs_page(lp->m, lp->encl);
}

#endif
