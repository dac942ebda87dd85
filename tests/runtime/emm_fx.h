/*
 * Fixture of the EMM backend tests (test_emm_backend.c, test_emm_flows.c),
 * model mode.
 *
 * Machine.  Each test: a fresh machine + kernel, one process, one thread
 * bound to the calling host thread, the selftest enclave (setup_test_encl)
 * with an 8-page heap, so ELRANGE is 128 KiB and [0x11000, 0x20000) are
 * holes for the EMM.  The enclave code is emm_fx.c's entry, registered over
 * the selftest's OENTRY (both TCSs enter there): it runs one op per EENTER,
 * with the EMM's primitives (do_eaccept, do_emodpe, do_eacceptcopy) and
 * OCALLs (sgx_mm_alloc_ocall, sgx_mm_modify_ocall) built in model mode from
 * sgx2emu/emm_enclave.h, and a small EMM written in the EMM's words over them
 * (ema.c's flows as runtimes-and-peers.md §4.3 describes them).  Its
 * arguments and results are host memory (emm_call), which model-mode enclave
 * code may use as the C locals it stands for.
 *
 * The host side is emm_backend.c over a recording copy of the model's
 * system-call table: tests assert the exact system calls each request made
 * (the OCALL convention's doorbell mprotects are counted apart).
 */
#ifndef SGX2EMU_TEST_EMM_FX_H
#define SGX2EMU_TEST_EMM_FX_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/fixture.h"
#include "driver/driver.h"
#include "sgx2emu/emm_backend.h"
#include "sgx2emu/selftest.h"

#define PAGE     4096ull
#define HEAP_SZ  0x8000ull                    /* EADDed RW: the commit_data source */
#define HOLES    0x11000ull                   /* image 0x9000 + heap */
#define ELRANGE  0x20000ull
#define NR_HOLES ((ELRANGE - HOLES) / PAGE)
#define SLOT     (TEST_ENCL_BUFFER + PAGE)    /* the model's SECINFO slot */

#define REG   SGX2EMU_EMA_PAGE_TYPE_REG
#define TCS   SGX2EMU_EMA_PAGE_TYPE_TCS
#define TRIM  SGX2EMU_EMA_PAGE_TYPE_TRIM
#define NONE  SGX2EMU_EMA_PROT_NONE
#define R     SGX2EMU_EMA_PROT_READ
#define W     SGX2EMU_EMA_PROT_WRITE
#define X     SGX2EMU_EMA_PROT_EXEC
#define RW    (R | W)
#define RX    (R | X)
#define RWX   (R | W | X)
#define NOW   SGX2EMU_EMA_COMMIT_NOW
#define LAZY  SGX2EMU_EMA_COMMIT_ON_DEMAND
#define PENDING  SGX2EMU_EMA_STATE_PENDING
#define MODIFIED SGX2EMU_EMA_STATE_MODIFIED
#define PR       SGX2EMU_EMA_STATE_PR

/* ---- recording system-call table ---- */

enum sys_kind { SYS_IOCTL = 1, SYS_MMAP, SYS_MPROTECT, SYS_MUNMAP };
struct sys_rec {
	enum sys_kind kind;
	uint64_t a, b, c, d;   /* ioctl: cmd, offset, length, permissions / page_type; mmap: addr, len, prot,
				* flags; mprotect: addr, len, prot; munmap: addr, len */
};
#define MAX_REC 64

struct emm_fx {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *thread;
	struct encl encl;
	uint64_t base;
	struct sgx2emu_emm_host host;
	struct sgx_enclave_run run;
	struct sys_rec rec[MAX_REC];
	unsigned nr_rec;
	unsigned bells;          /* mprotects of the doorbells */
	int inject;              /* ioctls to answer -1 / inject_errno without calling */
	int inject_errno;
	bool shrink;             /* next ioctl: only its first page reaches the kernel */
};

/* The log is exactly these calls (then it is cleared). */
#define EXPECT_SYS(t, ...) do { \
		const struct sys_rec want_[] = { __VA_ARGS__ }; \
		expect_sys((t), want_, sizeof(want_) / sizeof(want_[0])); \
	} while (0)
#define IOCTL(cmd, off, len, what) { SYS_IOCTL, (cmd), (off), (len), (what) }
#define MMAP_RW(addr, len) { SYS_MMAP, (addr), (len), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED }
#define MPROTECT(addr, len, prot) { SYS_MPROTECT, (addr), (len), (prot), 0 }
#define RESTRICT SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS
#define MODT     SGX_IOC_ENCLAVE_MODIFY_TYPES
#define REMOVE   SGX_IOC_ENCLAVE_REMOVE_PAGES

/* The log is want[0..n) (asserted field by field), then cleared; or empty. */
void expect_sys(struct emm_fx *t, const struct sys_rec *want, unsigned n);
void expect_no_sys(struct emm_fx *t);

/* ---- the enclave ---- */

enum op {
	OP_INIT = 1,     /* a0 = OCALL area: ELRANGE check, sgx2emu_emm_ocall_init */
	OP_EACCEPT,      /* a0 = page, a1 = SECINFO flags */
	OP_EMODPE,       /* a0 = page, a1 = SECINFO flags */
	OP_WRITE,        /* a0 = address, a1 = value */
	OP_READ,         /* a0 = address → ret */
	OP_FETCH,        /* a0 = address (an instruction fetch) */
	OP_OCALL,        /* a0 = nr, a1 = addr, a2 = length, a3, a4 = arguments */
	OP_ALLOC,        /* a0 = addr, a1 = length, a2 = alloc flags */
	OP_PFHANDLER,    /* a0 = faulting address, a1 = PFEC → SGX2EMU_MM_EXCEPTION_* */
	OP_PROTECT,      /* a0 = addr, a1 = length, a2 = new prot (from the tracked one) */
	OP_TO_TCS,       /* a0 = page (its TCS image written first: OSSA a1) */
	OP_UNCOMMIT,     /* a0 = addr, a1 = length */
	OP_DEALLOC,      /* a0 = addr, a1 = length */
	OP_COMMIT_DATA,  /* a0 = addr, a1 = length, a2 = enclave source, a3 = prot */
};

/* One op's arguments and results (reset by every enter_on). */
struct emm_call {
	uint64_t a[5];
	int64_t ret;               /* -12345 until the op sets it */
	int leaf_ret[NR_HOLES];    /* per page: its last EACCEPT / EACCEPTCOPY's RAX, -1 if none */
	uint64_t leaf_order[NR_HOLES];
	unsigned nr_leaves;
};
extern struct emm_call call;

/* The small EMM's per-page state for the holes: its EACCEPT bitmap, prot and
 * how each range was allocated (ema_t, collapsed to pages). */
struct emm_state {
	bool committed[NR_HOLES];
	unsigned prot[NR_HOLES];
	unsigned alloc[NR_HOLES];
	uint64_t base;
};
extern struct emm_state ema;

/* ---- fixture and state ---- */

/* cmocka: the machine, process, thread and enclave above (asserting each
 * step), emm_entry registered, the host over the recording table, no OCALL
 * area; teardown deletes them in reverse. */
int emm_setup(void **state);
int emm_teardown(void **state);
/* Linear address of hole page i. */
uint64_t hole(struct emm_fx *t, unsigned i);
/* EENTER tcs with op; returns what the vDSO returns.  The user handler is
 * the EMM's OCALL service. */
int enter_on(struct emm_fx *t, uint64_t tcs, enum op op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	     uint64_t a4);
/* An op on TCS #1 that ends in EEXIT; returns call.ret. */
int64_t ecall(struct emm_fx *t, enum op op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);
/* The OCALL area, created and given to the enclave. */
void init_area(struct emm_fx *t);

#define EXPECT_EEXIT(t) do { \
		assert_int_equal((t)->run.function, SGX_EEXIT); \
		assert_int_equal((t)->run.exception_vector, 0); \
		assert_int_equal((t)->run.exception_addr, 0); \
	} while (0)

/* The driver's page at la, NULL if the enclave has none there. */
struct drv_page *page_of(struct emm_fx *t, uint64_t la);
/* EPCM: type, R W X, PENDING, MODIFIED, PR */
void expect_epcm(struct emm_fx *t, uint64_t la, unsigned pt, unsigned rwx, bool pending, bool modified, bool pr);
/* No enclave page (no EPC) at la. */
void expect_no_page(struct emm_fx *t, uint64_t la);
/* The VMA at la: prot, and whether it maps the enclave (shared, sgx). */
void expect_vma(struct emm_fx *t, uint64_t la, unsigned prot, bool sgx);
/* The PTE of la: present with prot, or not present (prot < 0). */
void expect_pte(struct emm_fx *t, uint64_t la, int prot);
/* Pages [first, first + n) of the holes committed REG RW, by EACCEPT ops. */
void commit_pages(struct emm_fx *t, unsigned first, unsigned n);
/* An EACCEPT op on la with a SECINFO of flags that returns 0. */
void eaccept_ok(struct emm_fx *t, uint64_t la, uint64_t flags);

#endif
