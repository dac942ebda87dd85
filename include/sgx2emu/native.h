/*
 * Native execution (execution layer, src/native/): enclave code runs on the
 * host CPU at full speed while the model decides everything SGX decides.
 * See docs/native.md.
 *
 * How.  The EPC is one memfd (hw_epc_memfd).  Inside enclave mode a page of
 * ELRANGE is mapped into the host process from that memfd, at the frame the
 * model's page table gives, with exactly the rights hw_lp_rights grants
 * (PTE ∩ EPCM); every other ELRANGE page, and all of them while no thread is
 * in enclave mode, is PROT_NONE.  Mappings are made lazily: the first access
 * to a page faults (SIGSEGV), the handler asks the model, and either maps the
 * page and retries (what a TLB fill is) or turns the fault into an AEX.  They
 * are taken away when the model's page table changes (hw_pt_set_notifier),
 * when a leaf changes the page's EPCM entry (observer), and when the last
 * thread of the enclave leaves enclave mode (EEXIT, AEX).
 *
 * ENCLU raises #UD on a CPU without SGX (SIGILL).  The handler reads the
 * registers from the signal context, runs the leaf on the thread's LP
 * (hw_enclu) and writes the registers back: EENTER/ERESUME switch the
 * context to enclave code, EEXIT back to the host, EACCEPT & co. continue
 * after the ENCLU.  A fault in enclave mode is an AEX (SSA written from the
 * signal context, synthetic state, RIP = AEP); the driver model's fault
 * handler runs as Linux's would, and what it fixes (EAUG, ELDU, a missing
 * PTE) is retried through the AEP's ERESUME, invisibly to the enclave.
 * What it does not fix is reported as Linux reports it: through the vDSO
 * exception fixup when the AEP is this layer's __vdso_sgx_enter_enclave,
 * else as a signal to the program with the AEX's synthetic state.
 *
 * The OS's IPIs (ETRACK shootdowns, the reclaimer) reach a thread running
 * enclave code as a real-time signal (ipi_signal), taken as an AEX.
 *
 * Threads.  A host thread gets an emu_thread (and LP) of proc at its first
 * ENCLU, unless one is bound already (emu_thread_bind); it is given back
 * when the host thread exits.  At most hw_config.nr_lps threads at once.
 */
#ifndef SGX2EMU_NATIVE_H
#define SGX2EMU_NATIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <asm/sgx.h>

#include "sgx2emu/emu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emu_native;

struct emu_native_config {
	int ipi_signal;        /* the OS's IPI as a signal (default SIGRTMAX - 2) */
	size_t altstack_size;  /* per-thread signal stack, so no signal frame ever lands on an
				* enclave stack (default 256 KiB; a thread's own sigaltstack of at
				* least this size is kept) */
};
void emu_native_config_defaults(struct emu_native_config *cfg);

/*
 * Native execution for proc, which stands for this host process.  Installs
 * the handlers of SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP and ipi_signal
 * (SA_SIGINFO | SA_ONSTACK); the handlers in place before become the
 * program's, to which every signal not caused by emulated enclave code is
 * passed on (emu_native_sigaction changes them).  NULL + errno: EBUSY (one
 * already exists in this process: the handlers are process-wide), ENOMEM,
 * EINVAL (bad config).
 */
struct emu_native *emu_native_create(struct emu_proc *proc, const struct emu_native_config *cfg);
/* Restores the handlers, takes away every host mapping of EPC.  No thread
 * may be in enclave mode. */
void emu_native_destroy(struct emu_native *n);
/* The one of this process, NULL if none. */
struct emu_native *emu_native_current(void);

/* This layer's __vdso_sgx_enter_enclave (same contract as Linux's) in an
 * ELF image laid out as a vDSO: what getauxval(AT_SYSINFO_EHDR) returns under
 * the preload, so a program finds the function the way it finds Linux's. */
vdso_sgx_enter_enclave_t emu_native_vdso_enter(struct emu_native *n);
const void *emu_native_vdso_image(struct emu_native *n);
/* A dynamic symbol of an ELF image mapped at base, by DT_HASH or DT_GNU_HASH
 * (what programs do with the vDSO).  NULL when absent or not an ELF image. */
void *emu_elf_lookup(const void *base, const char *name);

/* The program's handler for sig as emu_native installs it (sigaction's
 * contract: 0, or -1 + errno EINVAL).  Signals the emulation does not take
 * go to it, as the kernel would deliver them. */
int emu_native_sigaction(struct emu_native *n, int sig, const struct sigaction *act, struct sigaction *old);

/* Counters since emu_native_create (monotonic; read without stopping threads). */
struct emu_native_stats {
	uint64_t enclu_traps;       /* SIGILLs on an ENCLU that were emulated */
	uint64_t enclu_by_leaf[SGX_ENCLU_LEAF_COUNT];
	uint64_t page_faults;       /* SIGSEGVs on ELRANGE in enclave mode */
	uint64_t pages_mapped;      /* host mappings made (a fault that the model allowed) */
	uint64_t pages_revoked;     /* ... taken away again (a page counts once per revocation) */
	uint64_t aex;               /* AEXs: faults the model refused, exceptions, IPIs */
	uint64_t aex_fixed;         /* ... that the driver model's fault handler fixed (retried) */
	uint64_t exceptions_reported; /* through the vDSO fixup or as a signal to the program */
	uint64_t ipi_signals;       /* IPI signals sent */
	uint64_t forwarded;         /* signals passed on to the program's handlers */
};
void emu_native_stats(struct emu_native *n, struct emu_native_stats *out);

#ifdef __cplusplus
}
#endif
#endif
