/*
 * Test fixture for the hardware model: a small machine, one page table, a
 * frame allocator, and a standard enclave built with real ECREATE / EADD /
 * EEXTEND / EINIT and a real RSA-3072 signature.
 *
 * Standard layout (FX_BASE, 1 MiB ELRANGE, SSAFRAMESIZE 1, MISCSELECT EXINFO):
 *   +0x0000 TCS #1 (OSSA 0x1000, NSSA 2, OENTRY 0x8000)
 *   +0x1000 +0x2000 SSA frames of TCS #1        REG RW-
 *   +0x3000 .. +0x7000 data (5 pages)           REG RW-
 *   +0x8000 code                                REG R-X
 *   +0x9000 TCS #2 (OSSA 0xA000, NSSA 2)
 *   +0xA000 +0xB000 SSA frames of TCS #2        REG RW-
 *   +0x10000 .. end: unbacked (for EAUG)
 * Every added page is mapped in the page table with its EPCM rights.
 */
#ifndef SGX2EMU_TEST_FIXTURE_H
#define SGX2EMU_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sgx2emu/hw.h"
#include "sgx2emu/sign.h"

#define FX_BASE     0x40000000ull
#define FX_SIZE     0x100000ull
#define FX_TCS      (FX_BASE + 0x0000)
#define FX_SSA      (FX_BASE + 0x1000)
#define FX_DATA     (FX_BASE + 0x3000)
#define FX_CODE     (FX_BASE + 0x8000)
#define FX_TCS2     (FX_BASE + 0x9000)
#define FX_SSA2     (FX_BASE + 0xA000)
#define FX_HEAP     (FX_BASE + 0x10000)
#define FX_AEP      0x401000ull
#define FX_RETURN   0x402000ull   /* RIP of the host when it executes ENCLU */
#define FX_ATTRS    (SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG)

#define FX_REG_RW   (SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W)
#define FX_REG_RX   (SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_X)
#define FX_TCS_FLAGS SGX_SECINFO_PT(SGX_PT_TCS)

struct fx {
	struct hw_machine *m;
	struct hw_lp *lp;            /* LP 0 */
	struct hw_pagetable *pt;
	uint32_t next_frame;
	uint64_t base, size;
	uint8_t *secs;               /* host address of the SECS frame */
	struct sgx_secs secs_src;
	struct sgx_measurement mr;   /* the test's own MRENCLAVE, kept beside the model's */
	uint8_t mrenclave[32];
	void *scratch;               /* 64 KiB of 4K-aligned host memory for operands */
};

/* Machine with 1024 EPC frames and 4 LPs (cfg NULL) or the given config. */
struct fx *fx_new(const struct hw_config *cfg);
void fx_free(struct fx *f);
int fx_setup(void **state);      /* cmocka: fx_new(NULL) */
int fx_setup_enclave(void **state);      /* + standard enclave, not initialized */
int fx_setup_initialized(void **state);  /* + standard enclave, EINIT done */
int fx_teardown(void **state);

/* Host address of a frame never handed out before. */
uint8_t *fx_frame(struct fx *f);
uint64_t fx_addr(const void *p);
/* Host memory for operands: 4 KiB-aligned, zeroed, 16 pages. */
void *fx_scratch(struct fx *f, unsigned page);

/* Leaves with the standard operands; each asserts nothing, returns the result. */
struct sgx_result fx_ecreate(struct fx *f, uint64_t base, uint64_t size, uint64_t attributes);
/* EADD (+16 EEXTEND if measure) of src (zero page if NULL) at la, and maps la. */
struct sgx_result fx_eadd(struct fx *f, uint64_t la, uint64_t secinfo_flags, const void *src, bool measure);
/* The SIGSTRUCT that fits the enclave built so far. */
void fx_sigstruct(struct fx *f, struct sgx_sigstruct *ss);
struct sgx_result fx_einit_with(struct fx *f, const struct sgx_sigstruct *ss);
struct sgx_result fx_einit(struct fx *f);
/* EAUG a fresh frame at la and map it RW (PTE) in the page table. */
struct sgx_result fx_eaug(struct fx *f, uint64_t la);
/*
 * The same from a given LP: fx_eaug uses LP 0, which the tests of SGX2 keep
 * inside the enclave while "the OS" (another LP) adds and changes pages.
 */
struct sgx_result fx_eaug_on(struct fx *f, struct hw_lp *lp, uint64_t la);
/* EAUG the given frame at la from lp and map it with prot (HW_PROT_*). */
struct sgx_result fx_eaug_frame_on(struct fx *f, struct hw_lp *lp, uint64_t la, uint8_t *frame, unsigned prot);
/* EMODPR or EMODT (leaf) from lp on the page at la with a SECINFO of flags. */
struct sgx_result fx_emod_on(struct fx *f, struct hw_lp *lp, uint32_t leaf, uint64_t flags, uint64_t la);
/* ETRACK of the fixture's enclave from lp. */
struct sgx_result fx_etrack_on(struct fx *f, struct hw_lp *lp);

/* Standard enclave (layout above), asserting each step. */
void fx_build_standard(struct fx *f, bool initialize);
/* EENTER tcs on lp (sets RIP to FX_RETURN first). */
struct sgx_result fx_enter(struct fx *f, struct hw_lp *lp, uint64_t tcs);
struct sgx_result fx_exit(struct fx *f, struct hw_lp *lp);
/* EACCEPT from inside: writes SECINFO flags to a scratch slot in the data area. */
struct sgx_result fx_eaccept(struct fx *f, struct hw_lp *lp, uint64_t la, uint64_t flags);

/* EPC frame that backs la in the page table (HW_NO_FRAME if none). */
uint32_t fx_frame_of_la(struct fx *f, uint64_t la);
/* Host address of the EPC frame that backs la; asserts there is one. */
uint64_t fx_epc_of(struct fx *f, uint64_t la);
struct hw_epcm_entry fx_epcm(struct fx *f, uint64_t la);
/* The EPC page of the TCS at la (FX_TCS or FX_TCS2). */
struct sgx_tcs *fx_tcs_page(struct fx *f, uint64_t tcs);
/* EXINFO of the SSA frame the last AEX on tcs (FX_TCS or FX_TCS2) wrote; asserts CSSA > 0. */
const struct sgx_exinfo *fx_last_exinfo(struct fx *f, uint64_t tcs);
/* Asserts the EPCM R, W and X bits. */
void fx_assert_rights(struct hw_epcm_entry e, bool r, bool w, bool x);

/* Shared test key (generated once per process). */
EVP_PKEY *fx_key(void);

/* Each macro evaluates its result argument exactly once. */
#define assert_fault(expr, vec) do { \
		struct sgx_result r_ = (expr); \
		assert_int_equal(r_.vector, (vec)); \
	} while (0)
#define assert_gp(expr) assert_fault(expr, SGX_VEC_GP)
#define assert_pf(expr, addr, ec) do { \
		struct sgx_result r_ = (expr); \
		assert_int_equal(r_.vector, SGX_VEC_PF); \
		assert_int_equal(r_.address, (addr)); \
		assert_int_equal(r_.error_code, (ec)); \
	} while (0)
#define assert_rc(expr, code) do { \
		struct sgx_result r_ = (expr); \
		assert_int_equal(r_.vector, SGX_VEC_NONE); \
		assert_int_equal(r_.rax, (code)); \
		assert_true(r_.zf); \
		assert_false(r_.cf); \
	} while (0)
#define assert_info(expr, code) do { \
		struct sgx_result r_ = (expr); \
		assert_int_equal(r_.vector, SGX_VEC_NONE); \
		assert_int_equal(r_.rax, (code)); \
		assert_true(r_.cf); \
		assert_false(r_.zf); \
	} while (0)
#define assert_success(expr) do { \
		struct sgx_result r_ = (expr); \
		assert_int_equal(r_.vector, SGX_VEC_NONE); \
		assert_int_equal(r_.rax, 0); \
		assert_false(r_.zf); \
		assert_false(r_.cf); \
		assert_false(r_.aex); \
	} while (0)

/* EPCM #PF error codes as leaves raise them (see src/hw/leaf.h) */
#define FX_PFEC_ENCLS (SGX_PFEC_SGX | SGX_PFEC_P)
#define FX_PFEC_ENCLU (SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_U)

#endif
