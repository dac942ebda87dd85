/*
 * Native execution, internals (public API: include/sgx2emu/native.h; design:
 * docs/native.md).  Files:
 *   core.c      emu_native_create/destroy/current/stats; hooks into the model
 *               (hw observer: leaves and IPIs; page-table notifier)
 *   mmu.c       host mappings of ELRANGE pages: the host MMU as the TLB of
 *               the LPs in enclave mode (establish on fault, revoke on change)
 *   trap.c      the signal handlers: ENCLU (SIGILL), faults and exceptions in
 *               enclave mode (AEX + the driver's fault handler), the IPI signal
 *   thread.c    host thread ↔ emu_thread + LP, the per-thread signal stack
 *   sigchain.c  the program's own handlers, and passing signals on to them
 *   vdso.S      __vdso_sgx_enter_enclave, built into its own ELF image
 *   vdso.c      loading that image; emu_elf_lookup
 *
 * Locking.  n->lock (a mutex) guards the host mappings and is innermost:
 * it is taken under the driver's locks (page-table notifier) and under the
 * machine lock (leaf observer), and nothing is called with it held that takes
 * another lock.  A mapping is made in two steps, the model's answer first
 * (hw_lp_rights, machine lock) and the host mmap second (n->lock); the
 * generation counter n->gen, bumped by every revocation, tells the second step
 * that the answer may be stale, and it asks again.
 *
 * Signal handlers run on the thread's alternate stack.  They call into the
 * model (which takes mutexes and may allocate) only for signals raised by
 * enclave code or by an ENCLU: such code never holds a lock of the emulator
 * or of libc, so this is safe where a general async-signal handler would not be.
 */
#ifndef SGX2EMU_NATIVE_INTERNAL_H
#define SGX2EMU_NATIVE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <ucontext.h>

#include "sgx2emu/native.h"
#include "../driver/driver.h"

/* ---- vdso.c ---- */
struct native_vdso {
	void *base;                     /* the mapped image: its ELF header */
	size_t size;
	vdso_sgx_enter_enclave_t enter; /* __vdso_sgx_enter_enclave */
	uint64_t enclu;                 /* address of its ENCLU: RCX (the AEP) at EENTER/ERESUME */
	uint64_t fixup;                 /* where an exception on that ENCLU continues, with
					 * RDI = vector, RSI = error code, RDX = address, RAX
					 * as at the exception (Linux's fixup_vdso_exception) */
};
int native_vdso_load(struct native_vdso *v);    /* 0 or -errno */
void native_vdso_unload(struct native_vdso *v);

/* ---- mmu.c ---- */
struct native_encl {                  /* an ELRANGE that has been entered natively */
	uint64_t base, size;
	uint32_t secs_frame;
	unsigned inside;                /* threads in enclave mode in it */
	uint8_t *mapped;                /* bitmap: page i of ELRANGE is host-mapped */
	uint64_t *list;                 /* the host-mapped pages, in mapping order */
	size_t nr, cap;
	struct native_encl *next;
};

/* ---- sigchain.c ---- */
#define NATIVE_NR_SIGNALS 6             /* SIGILL SIGSEGV SIGBUS SIGFPE SIGTRAP + the IPI signal */
/* si_value of the IPI signals this layer queues (core.c), so the program's
 * own use of the same signal is told apart and passed on */
#define NATIVE_IPI_COOKIE 0x53475832    /* "SGX2" */

struct emu_native {
	struct emu_proc *proc;
	struct emu *emu;
	struct hw_machine *m;
	struct emu_native_config cfg;
	struct native_vdso vdso;
	int epc_fd;
	pthread_mutex_t lock;           /* host mappings, encls */
	atomic_uint_fast64_t gen;
	struct native_encl *encls;
	struct hw_observer obs;
	_Atomic pid_t lp_tid[HW_MAX_LPS];  /* the host thread that runs each LP's enclave code (IPIs) */
	pthread_key_t thread_key;       /* the emu_thread this layer made for a host thread */
	/* sigchain.c: the program's handlers, by native_signal_index() */
	int signals[NATIVE_NR_SIGNALS];
	struct sigaction program[NATIVE_NR_SIGNALS];
	struct sigaction installed[NATIVE_NR_SIGNALS];   /* what was there before create */
	/* every other signal whose handler the program set through
	 * emu_native_sigaction, or had when native mode began: its action,
	 * with native_on_foreign_signal installed in front of a handler */
	struct sigaction foreign[NSIG];
	bool foreign_wrapped[NSIG];
	/* counters (relaxed atomics) */
	struct {
		atomic_uint_fast64_t enclu_traps, enclu_by_leaf[SGX_ENCLU_LEAF_COUNT], page_faults,
			pages_mapped, pages_revoked, aex, aex_fixed, exceptions_reported, ipi_signals,
			forwarded;
	} st;
};
#define NATIVE_COUNT(n, field) atomic_fetch_add_explicit(&(n)->st.field, 1, memory_order_relaxed)

/* mmu.c.  native_map: make la (in the ELRANGE of the enclave lp is in)
 * accessible with what the model grants lp now; false when it grants
 * nothing (the caller lets the model raise the fault).  native_revoke_page:
 * the page's PTE or EPCM entry changed, PROT_NONE again (takes n->lock). */
bool native_map(struct emu_native *n, struct hw_lp *lp, uint64_t la);
void native_revoke_page(struct emu_native *n, uint64_t la);
/* The enclave of an LP in enclave mode (created on first use; NULL: ENOMEM). */
struct native_encl *native_encl_of(struct emu_native *n, struct hw_lp *lp);
struct native_encl *native_encl_at(struct emu_native *n, uint64_t la);   /* n->lock held */
/* Mode changes of a thread: entered (EENTER/ERESUME), left (EEXIT/AEX). */
void native_enter(struct emu_native *n, struct native_encl *e);
void native_leave(struct emu_native *n, struct native_encl *e);
void native_mmu_destroy(struct emu_native *n);

/* thread.c */
struct emu_thread *native_thread(struct emu_native *n);   /* the caller's, made on first use; NULL + errno */
int native_thread_init(struct emu_native *n);             /* 0 or -errno */
void native_thread_fini(struct emu_native *n);
void native_altstack_ensure(struct emu_native *n);        /* this thread has a big enough sigaltstack */

/* trap.c */
void native_on_signal(int sig, siginfo_t *si, void *uc);
void native_on_foreign_signal(int sig, siginfo_t *si, void *uc);

/* sigchain.c */
int native_signal_index(const struct emu_native *n, int sig);   /* -1 if not one of ours */
int native_signals_install(struct emu_native *n);               /* 0 or -errno */
void native_signals_restore(struct emu_native *n);
/* The program's action for sig: one of ours or a foreign one. */
struct sigaction *native_program_action(struct emu_native *n, int sig);
/* Pass a signal on as the kernel would deliver it to the program's handler:
 * call it (SA_SIGINFO or not, with its sa_mask), or for SIG_DFL take the
 * default action (re-raise with the default disposition), SIG_IGN: nothing. */
void native_forward(struct emu_native *n, int sig, siginfo_t *si, ucontext_t *uc);

/* core.c */
extern struct emu_native *_Atomic native_self;
void native_note_lp_thread(struct emu_native *n, struct hw_lp *lp);   /* the caller runs lp's enclave code */

/* ucontext ↔ model registers (trap.c) */
void native_regs_from_uc(struct hw_regs *r, const ucontext_t *uc);
void native_regs_to_uc(ucontext_t *uc, const struct hw_regs *r);

#endif
