/*
 * Model-mode execution (include/sgx2emu/enclave.h) and the vDSO-equivalent
 * entry (emu_enter_enclave).  Files:
 *   registry.c  per-process state: entry registry, TCS table, stack cache
 *   coro.c      coroutines: ucontext stacks with the sanitizer fiber hooks
 *   vdso.c      emu_enter_enclave: __vdso_sgx_enter_enclave + the kernel's
 *               share (interrupts, fixable #PF) around hw_enclu
 *   enclave.c   the enclave side: encl_read/write/enclu/eexit, the code that
 *               runs on a coroutine from EENTER to EEXIT
 *
 * Model.  Enclave code is a C function (encl_entry_fn) found by BASE+OENTRY
 * in the process's registry.  Each EENTER starts it on a coroutine of its
 * own; every access or ENCLU leaf it makes goes through the hardware model on
 * the LP that currently runs the TCS.  When one of them ends in an AEX the
 * coroutine switches back to the entry function (the "AEP"), which either
 * handles the event as the kernel would (interrupt, #PF the fault handler
 * fixes) and ERESUMEs, or reports it.  ERESUME switches back into the
 * suspended coroutine, which then retries the access that took the AEX.
 *
 * One coroutine per SSA level per TCS: a TCS with CSSA = n has suspended
 * coroutines at levels 0..n-1 (one per AEX not yet resumed; a level is
 * empty if its code EEXITed) and EENTER starts a new one at level CSSA,
 * the exception handler entry of SGX.  ERESUME continues the highest
 * suspended level, which is the frame CSSA-1 it restores.
 *
 * Locking.  A TCS's coroutine slots are guarded by exec_tcs.busy, held by the
 * host thread whose LP entered that TCS from the moment its EENTER/ERESUME
 * succeeded until the coroutine has left enclave mode and been filed away.
 * Hardware makes the TCS exclusive while it is active (TCS.STATE); the mutex
 * only covers the short bookkeeping window after it became inactive, so
 * nothing is ever done with it held that waits for another LP.
 */
#ifndef SGX2EMU_EXEC_H
#define SGX2EMU_EXEC_H

#include <stdatomic.h>
#include <ucontext.h>

#include "sgx2emu/enclave.h"
#include "../driver/driver.h"

/*
 * The entry function's addresses as the enclave sees them.  Decision: they lie
 * in the last page of the canonical lower half, [0x7ffffffff000, 2^47), which
 * Linux never lets user space map (TASK_SIZE_MAX), so no enclave can cover
 * them.  EXEC_AEP is "the ENCLU instruction" (RCX at EENTER/ERESUME, as in
 * the vDSO, where the AEP is the ENCLU itself); EXEC_EXIT_IP is the address
 * after it (RIP when ENCLU executes, hence RCX inside the enclave after
 * EENTER, and so the EEXIT target of code that returns).
 */
#define EXEC_AEP     0x7ffffffff100ull
#define EXEC_EXIT_IP (EXEC_AEP + 3)

#define EXEC_STACK_SIZE (512u * 1024u)   /* per coroutine, plus a guard page */
#define EXEC_STACK_CACHE 8               /* spare stacks kept per process */

/* ---- coro.c ---- */
struct exec_stack {
	void *base;                  /* lowest usable byte (above the guard page) */
	size_t size;
	struct exec_stack *next;     /* in the cache */
};

enum co_state {
	CO_RUNNING,                  /* its code runs (in enclave mode) */
	CO_AEX,                      /* left through an AEX; result in aex */
	CO_EXITED,                   /* left through EEXIT; never runs again */
};

struct encl_ctx {                    /* one coroutine: enclave code at one SSA level */
	struct emu_proc *proc;
	struct hw_lp *lp;            /* LP running it (may change across ERESUMEs) */
	struct hw_machine *m;
	encl_entry_fn fn;            /* NULL: no code at BASE+OENTRY (#UD) */
	uint64_t base, tcs, exit_target;
	unsigned level;              /* SSA level = CSSA at its EENTER */
	enum co_state state;
	struct sgx_result aex;       /* the AEX that suspended it */
	/* coroutine machinery */
	ucontext_t uc;
	ucontext_t *host_uc;         /* the entry function that switched in */
	struct exec_stack *stack;
	void *asan_fake_stack;       /* ASan: fake stack of whichever side is switched away */
	const void *host_stack_bottom;
	size_t host_stack_size;
	void *tsan_fiber, *tsan_host_fiber;
};

struct exec_stack *exec_stack_get(struct exec_proc *xp);
void exec_stack_put(struct exec_proc *xp, struct exec_stack *s);
void exec_stack_free(struct exec_stack *s);
/* Prepare ctx (stack set) to run exec_co_main(ctx) when first switched to. */
void co_init(struct encl_ctx *ctx);
/* Host side: run ctx until it switches back (AEX or EEXIT). */
void co_switch_in(struct encl_ctx *ctx);
/* Coroutine side: back to the host; returns when switched in again.
 * final: the coroutine will never run again (its stack may be reused). */
void co_switch_out(struct encl_ctx *ctx, bool final);
void co_destroy(struct encl_ctx *ctx);   /* sanitizer state only */

/* ---- registry.c ---- */
struct exec_entry {
	uint64_t addr;
	encl_entry_fn fn;
};

struct exec_tcs {
	uint64_t la;
	pthread_mutex_t busy;
	struct encl_ctx **slots;     /* by SSA level; NULL = empty */
	unsigned nr_slots;
	struct exec_tcs *next;
};

struct exec_proc {
	pthread_mutex_t lock;        /* entries, tcs list, stack cache */
	struct exec_entry *entries;  /* sorted by addr */
	size_t nr_entries, cap_entries;
	struct exec_tcs *tcs_list;
	struct exec_stack *stacks;
	unsigned nr_stacks;
};

struct exec_proc *exec_proc_get(struct emu_proc *proc);    /* created on first use; NULL: ENOMEM */
encl_entry_fn exec_lookup_entry(struct exec_proc *xp, uint64_t addr);
struct exec_tcs *exec_tcs_get(struct exec_proc *xp, uint64_t la);   /* NULL: ENOMEM */
/* Slot of a level, grown as needed (busy held); NULL: ENOMEM. */
struct encl_ctx **exec_tcs_slot(struct exec_tcs *xt, unsigned level);
void exec_ctx_free(struct exec_proc *xp, struct encl_ctx *ctx);

/* ---- enclave.c ---- */
/* Code at BASE+OENTRY from EENTER to EEXIT, on the coroutine. */
void exec_co_main(struct encl_ctx *ctx);

#endif
