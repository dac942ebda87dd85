/*
 * Fixture for native execution's tests: a machine (1024 EPC frames, 8 LPs),
 * the mini enclave (mini_encl.h) and a thread bound to the caller.  Native
 * mode starts in the test body (nfx_start): cmocka puts its own fault
 * handlers in place around every test and fixture and restores them after.
 */
#ifndef SGX2EMU_TEST_NATIVE_FX_H
#define SGX2EMU_TEST_NATIVE_FX_H

#include <signal.h>

#include "mini_encl.h"
#include "sgx2emu/native.h"

struct nfx {
	struct efx *f;
	struct efx_encl e;
	struct emu_thread *thread;
	struct emu_native *n;              /* after nfx_start */
	vdso_sgx_enter_enclave_t enter;
	struct sgx_enclave_run run;        /* of the last nfx_call */
	struct emu_native_stats base;      /* after nfx_start's warm-up entry */
};

/* The mini enclave of size bytes, with a second TCS at tcs2 when not 0. */
struct nfx *nfx_new(uint64_t size, uint64_t tcs2);
void nfx_free(struct nfx *t);          /* native mode too, if started */
/*
 * Native mode, then one entry that only exits, so the TCS, SSA and code
 * PTEs exist (as in Linux each first touch is a fault the driver fixes:
 * EENTER's #PF on the TCS and the SSA retried, the code fetch an AEX) and
 * nfx_stats counts only what comes after.
 */
void nfx_start(struct nfx *t);
/* EENTER of TCS #1 with op and its operands (R9 = 0); run in t->run. */
int nfx_call(struct nfx *t, enum mini_op op, uint64_t rsi, uint64_t rdx, void *r8);
/* Counters since the warm-up entry. */
struct emu_native_stats nfx_stats(struct nfx *t);
/* The program's SA_SIGINFO handler for sig (emu_native_sigaction); the one
 * before in *old (may be NULL). */
void nfx_handle(struct nfx *t, int sig, void (*fn)(int, siginfo_t *, void *), struct sigaction *old);

#endif
