/*
 * A tiny enclave in hand-written machine code, for native execution's own
 * tests and benchmarks (the selftests' enclave, tests/native/encl, plays the
 * kernel's test enclave; this one is small enough to count every fault).
 *
 * Layout (enclave offsets):
 *   0x0000          TCS   OENTRY = MINI_CODE, OSSA = MINI_SSA, NSSA = 2
 *   MINI_CODE       R+X   the code below
 *   MINI_DATA       RW    MINI_DATA_PAGES pages (the SECINFO of EACCEPT/EMODPE is
 *                         written at +0, all 64 bytes, before each use)
 *   MINI_SSA        RW    two SSA frames
 *   MINI_HOLE ..    holes up to the enclave size, for EAUG
 *
 * Entry: RDI = op, RSI/RDX/R8/R9 operands (below).  The code never touches
 * RSP or RBP (the vDSO relies on them at EEXIT) and keeps the return address
 * (RCX at EENTER) in R11.
 */
#ifndef SGX2EMU_TEST_MINI_ENCL_H
#define SGX2EMU_TEST_MINI_ENCL_H

#include <asm/sgx.h>

#include "emu_fixture.h"

#define MINI_CODE       0x1000ull
#define MINI_DATA       0x2000ull
#define MINI_DATA_PAGES 16u
#define MINI_SSA        (MINI_DATA + MINI_DATA_PAGES * 0x1000ull)
#define MINI_HOLE       (MINI_SSA + 0x2000ull)

enum mini_op {
	MINI_EXIT,       /* EEXIT at once */
	MINI_STORE,      /* [RDX] = RSI */
	MINI_LOAD,       /* [R8] = [RDX] */
	MINI_EACCEPT,    /* EACCEPT page RDX with SECINFO flags RSI; [R8] = RAX */
	MINI_EMODPE,     /* EMODPE page RDX with SECINFO flags RSI; [R8] = RAX */
	MINI_UD2,        /* #UD */
	MINI_INT3,       /* #BP (then EEXIT if resumed) */
	MINI_SPIN,       /* [R8 + 8] = 1, then spin until [R8] != 0 */
	MINI_COMPUTE,    /* RSI rounds of mini_compute over the qwords at RDX, index mask R9; [R8] = result */
	MINI_AUGMENT,    /* for RSI pages from RDX: EACCEPT(REG|RW|PENDING), write a qword; [R8] = 0 or
			  * the first failing EACCEPT's RAX */
	MINI_ENCLU,      /* any leaf: RAX = RSI, RBX = RDX, RCX = R8, RDX = R9; RAX after it is
			  * stored at MINI_RESULT */
};
#define MINI_RESULT (MINI_DATA + 0x800)

/* The compute loop of MINI_COMPUTE as a host function, the same
 * instructions: the native-speed yardstick. */
uint64_t mini_compute_host(uint64_t rounds, uint64_t *buf, uint64_t mask);

/* Build, EINIT and map (TCS RW, code RX, data and SSA RW) an enclave of size
 * bytes (a power of two >= 128 KiB) in f's process; asserts on failure. */
void mini_encl_build(struct efx *f, struct efx_encl *e, uint64_t size);
/* The same with a second TCS at offset tcs2 (in the holes), its two SSA
 * frames in the pages after it: for a second thread in the enclave. */
void mini_encl_build_with(struct efx *f, struct efx_encl *e, uint64_t size, uint64_t tcs2);

/* Calls fn like __vdso_sgx_enter_enclave(rdi, rsi, rdx, function, r8, r9, run)
 * and keeps RBX, RBP and R12-R15 for the C caller: an AEX whose exception is
 * reported returns with the synthetic state's R8-R15 = 0 (the selftests'
 * call.S does the same). */
int mini_enter(vdso_sgx_enter_enclave_t fn, unsigned long rdi, unsigned long rsi, unsigned long rdx,
	       unsigned int function, unsigned long r8, unsigned long r9, struct sgx_enclave_run *run);

#endif
