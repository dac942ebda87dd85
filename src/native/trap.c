/*
 * The CPU's side of native execution, from signal handlers.
 *
 *   SIGILL at ENCLU (0f 01 d7)   the leaf on the thread's LP, registers from
 *                                and back to the signal context (enclu_trap)
 *   SIGSEGV on ELRANGE, in       the model decides: the access is allowed (map
 *   enclave mode                 the page, retry) or it is a #PF and an AEX
 *   any other fault or trap in   an AEX with that vector
 *   enclave mode
 *   the IPI signal in enclave    the interrupt's AEX
 *   code
 *   anything else                the program's handler (sigchain.c)
 *
 * After an AEX the kernel's share runs as Linux's does (src/exec/vdso.c
 * has the model-mode twin): an interrupt returns to the AEP; a #PF without
 * the SGX bit goes to the driver model's fault handler, and if that fixes it
 * the thread returns to the AEP too, whose ERESUME retries the access.  What
 * is not fixed is reported: at the AEP of this layer's vDSO through its
 * exception fixup (RDI/RSI/RDX = vector, error code, address), elsewhere as
 * the signal Linux would send, with the AEX's synthetic state.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "native.h"

/* Per host thread: the enclave its LP is in, as this layer last saw it. */
struct native_tls {
	struct native_encl *encl;    /* NULL outside enclave mode */
	sigset_t program_mask;       /* the thread's signal mask outside enclave mode */
	bool have_gsbase;
	uint64_t host_gsbase;        /* GS base of the thread outside the enclave (read once:
				      * nothing in the host changes it, glibc uses FS) */
};
static __thread struct native_tls tls;

static const int gregs_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

/* What the model decides of RFLAGS: the arithmetic flags, DF and AC (an
 * ERESUME restores the enclave's from the SSA). */
#define MODEL_FLAGS (HW_RFLAGS_CF | HW_RFLAGS_PF | HW_RFLAGS_AF | HW_RFLAGS_ZF | HW_RFLAGS_SF | HW_RFLAGS_OF | \
		     0x400ull /* DF */ | 0x40000ull /* AC */)

void native_regs_from_uc(struct hw_regs *r, const ucontext_t *uc)
{
	uint64_t *gpr = &r->rax;   /* rax .. r15 in hardware order */
	for (int i = 0; i < 16; i++)
		gpr[i] = (uint64_t)uc->uc_mcontext.gregs[gregs_of[i]];
	r->rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	r->rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
}

/* The flags of MODEL_FLAGS come from the model; the system flags (TF,
 * IF, ...) stay the host's. */
void native_regs_to_uc(ucontext_t *uc, const struct hw_regs *r)
{
	const uint64_t *gpr = &r->rax;
	for (int i = 0; i < 16; i++)
		uc->uc_mcontext.gregs[gregs_of[i]] = (greg_t)gpr[i];
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)r->rip;
	uint64_t efl = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	uc->uc_mcontext.gregs[REG_EFL] = (greg_t)((efl & ~MODEL_FLAGS) | (r->rflags & MODEL_FLAGS));
}

static uint64_t host_gsbase(void)
{
	if (!tls.have_gsbase) {
		unsigned long v = 0;
		syscall(SYS_arch_prctl, ARCH_GET_GS, &v);
		tls.host_gsbase = v;
		tls.have_gsbase = true;
	}
	return tls.host_gsbase;
}

/* No FSGSBASE instructions assumed (this machine has none): a system call,
 * so only when the value changes. */
static void set_gsbase(uint64_t v)
{
	if (v != host_gsbase() || tls.encl)
		syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)v);
}

/*
 * Bring the host in step with the LP's mode after a leaf, an access or an
 * AEX; uc is the context the thread returns to.  Entering: the enclave's
 * mappings may be made from now on, GS base is the enclave's (TCS.OGSBASGX;
 * FS stays the host's, which glibc owns: docs/native.md), and the signals
 * this layer needs are unblocked while enclave code runs (a thread that
 * blocks its IPI signal would hang every shootdown; one that blocks SIGSEGV
 * would die at its first fill).  Leaving: the last thread out takes the
 * mappings away, and the program's mask comes back.
 */
static void sync_mode(struct emu_native *n, struct hw_lp *lp, ucontext_t *uc)
{
	bool inside = hw_lp_in_enclave(lp);
	if (inside && !tls.encl) {
		struct native_encl *e = native_encl_of(n, lp);
		if (!e) {
			fprintf(stderr, "sgx2emu: out of memory entering an enclave natively\n");
			abort();
		}
		native_enter(n, e);
		native_note_lp_thread(n, lp);
		set_gsbase(hw_lp_regs(lp)->gsbase);
		tls.encl = e;
		tls.program_mask = uc->uc_sigmask;
		for (int i = 0; i < NATIVE_NR_SIGNALS; i++)
			sigdelset(&uc->uc_sigmask, n->signals[i]);
		/* The first fetch is certain: fill its TLB entry now instead of
		 * taking its fault (nothing if the model grants nothing there). */
		native_map(n, lp, hw_lp_regs(lp)->rip);
	} else if (!inside && tls.encl) {
		native_leave(n, tls.encl);
		set_gsbase(host_gsbase());
		tls.encl = NULL;
		uc->uc_sigmask = tls.program_mask;
	}
}

static int signal_of_vector(uint8_t vector)
{
	switch (vector) {
	case SGX_VEC_DE: case SGX_VEC_MF: case SGX_VEC_XM: return SIGFPE;
	case SGX_VEC_DB: case SGX_VEC_BP: return SIGTRAP;
	case SGX_VEC_UD: return SIGILL;
	case SGX_VEC_AC: case SGX_VEC_NP: case SGX_VEC_SS: return SIGBUS;
	default: return SIGSEGV;
	}
}

static int si_code_of(uint8_t vector, uint32_t error_code, int sig)
{
	if (vector == SGX_VEC_PF)
		return error_code & SGX_PFEC_P ? SEGV_ACCERR : SEGV_MAPERR;
	if (vector == SGX_VEC_DB)
		return TRAP_TRACE;
	if (sig == SIGSEGV || sig == SIGBUS || vector == SGX_VEC_BP)
		return SI_KERNEL;
	return sig == SIGILL ? ILL_ILLOPN : sig == SIGFPE ? FPE_INTDIV : 0;
}

/*
 * An exception the kernel does not fix: the vDSO's fixup if the AEP is its
 * ENCLU (Linux's fixup_vdso_exception), else the signal Linux would send;
 * #DB and #BP are always signals, as in Linux.  uc already holds the
 * registers to report with (the AEX's synthetic state, or the state at a
 * faulting EENTER/ERESUME).
 */
static void report(struct emu_native *n, ucontext_t *uc, struct sgx_result r)
{
	NATIVE_COUNT(n, exceptions_reported);
	greg_t *g = uc->uc_mcontext.gregs;
	bool debug = r.vector == SGX_VEC_DB || r.vector == SGX_VEC_BP;
	if ((uint64_t)g[REG_RIP] == n->vdso.enclu && !debug) {
		g[REG_RIP] = (greg_t)n->vdso.fixup;
		g[REG_RDI] = r.vector;
		g[REG_RSI] = r.error_code;
		g[REG_RDX] = (greg_t)r.address;
		return;
	}
	int sig = signal_of_vector(r.vector);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = si_code_of(r.vector, r.error_code, sig);
	/* the address of the fault for #PF, of the instruction (the AEP) for
	 * #UD, #DE and their kind */
	si.si_addr = (void *)(uintptr_t)(r.vector == SGX_VEC_PF ? r.address :
					 sig == SIGILL || sig == SIGFPE ? (uint64_t)g[REG_RIP] : 0);
	g[REG_TRAPNO] = r.vector;
	g[REG_ERR] = r.error_code;
	g[REG_CR2] = (greg_t)r.address;
	native_forward(n, sig, &si, uc);
}

/*
 * After an AEX (LP registers = the synthetic state, RIP = AEP): the kernel's
 * share.  driver: whether the driver's fault handler may see a #PF (not for
 * an address the host kernel already refused outside ELRANGE).
 */
static void after_aex(struct emu_native *n, struct emu_thread *t, ucontext_t *uc, struct sgx_result r, bool driver)
{
	struct hw_lp *lp = emu_thread_lp(t);
	NATIVE_COUNT(n, aex);
	sync_mode(n, lp, uc);
	native_regs_to_uc(uc, hw_lp_regs(lp));
	bool fixed = r.vector == SGX_VEC_NONE ||
		     (driver && r.vector == SGX_VEC_PF &&
		      drv_handle_fault(t->proc->mm, r.address, r.error_code) == DRV_FAULT_NOPAGE);
	if (fixed) {
		NATIVE_COUNT(n, aex_fixed);
		return;   /* to the AEP, which ERESUMEs */
	}
	report(n, uc, r);
}

/* SIGILL at an ENCLU: the leaf, on this thread's LP. */
static void enclu_trap(struct emu_native *n, siginfo_t *si, ucontext_t *uc)
{
	struct emu_thread *t = native_thread(n);
	if (!t) {
		fprintf(stderr, "sgx2emu: no logical processor free for this thread's ENCLU (%s); "
			"raise hw_config.nr_lps (SGX2EMU_LPS)\n", strerror(errno));
		native_forward(n, SIGILL, si, uc);
		return;
	}
	struct hw_lp *lp = emu_thread_lp(t);
	struct hw_regs *regs = hw_lp_regs(lp);
	if (!tls.encl) {
		/* sigreturn restores the signal stack saved at delivery: the one
		 * set now must be in the context, or it is undone on return */
		native_altstack_ensure(n);
		stack_t cur;
		if (!sigaltstack(NULL, &cur)) {
			cur.ss_flags &= ~SS_ONSTACK;
			uc->uc_stack = cur;
		}
	}
	native_regs_from_uc(regs, uc);
	uint64_t enclu_ip = regs->rip;
	uint32_t leaf = (uint32_t)regs->rax;
	bool inside = hw_lp_in_enclave(lp);
	/* Outside, RIP after the ENCLU is what EENTER hands the enclave in RCX.
	 * Inside, RIP stays at the ENCLU during the leaf, so an AEX saves the
	 * instruction to restart, and moves past it when the leaf completes. */
	regs->rip = inside ? enclu_ip : enclu_ip + 3;
	if (!inside) {
		hw_lp_set_pagetable(lp, t->proc->mm->pt);
		regs->gsbase = host_gsbase();
	}
	NATIVE_COUNT(n, enclu_traps);
	if (leaf < SGX_ENCLU_LEAF_COUNT)
		NATIVE_COUNT(n, enclu_by_leaf[leaf]);

	struct sgx_result r = hw_enclu(lp, leaf, regs->rbx, regs->rcx, regs->rdx);
	if (r.aex) {
		after_aex(n, t, uc, r, true);
		return;
	}
	if (r.vector != SGX_VEC_NONE) {
		/* outside enclave mode: a fault of the ENCLU itself (EENTER's TCS
		 * not mapped yet, a bad operand) */
		if (r.vector == SGX_VEC_PF &&
		    drv_handle_fault(t->proc->mm, r.address, r.error_code) == DRV_FAULT_NOPAGE)
			return;   /* retried: RIP still at the ENCLU */
		report(n, uc, r);
		return;
	}
	if (inside && leaf != SGX_EEXIT)
		regs->rip = enclu_ip + 3;
	sync_mode(n, lp, uc);
	native_regs_to_uc(uc, regs);
}

static enum hw_access access_kind(uint64_t pfec)
{
	return pfec & SGX_PFEC_I ? HW_FETCH : pfec & SGX_PFEC_W ? HW_WRITE : HW_READ;
}

/*
 * A fault or trap of enclave code.  A #PF in ELRANGE is the model's to
 * decide: allowed (map and retry) or its own #PF (with the SGX bit when the
 * EPCM refused).  Any other exception is an AEX with its vector; a #PF
 * outside ELRANGE too, without asking the driver, since the host kernel
 * already refused it.
 */
static void enclave_exception(struct emu_native *n, int sig, siginfo_t *si, ucontext_t *uc)
{
	struct emu_thread *t = emu_current_thread();
	struct hw_lp *lp = emu_thread_lp(t);
	struct native_encl *e = tls.encl;
	uint8_t vector = (uint8_t)uc->uc_mcontext.gregs[REG_TRAPNO];
	uint32_t pfec = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];
	uint64_t la = (uint64_t)(uintptr_t)si->si_addr;
	native_regs_from_uc(hw_lp_regs(lp), uc);

	if (sig == SIGSEGV && vector == SGX_VEC_PF && la >= e->base && la - e->base < e->size) {
		NATIVE_COUNT(n, page_faults);
		hw_lp_invlpg(lp, la);   /* no stale entries natively: ask the EPCM */
		uint8_t *host;
		struct sgx_result r = hw_lp_access(lp, la, access_kind(pfec), &host);
		if (!r.aex && r.vector == SGX_VEC_NONE) {
			native_map(n, lp, la);
			return;   /* retry the access */
		}
		after_aex(n, t, uc, r, true);
		return;
	}
	if (sig == SIGSEGV && vector == SGX_VEC_PF)
		pfec |= SGX_PFEC_U;
	else
		la = 0;
	if (sig == SIGTRAP && vector != SGX_VEC_DB && vector != SGX_VEC_BP)
		vector = SGX_VEC_BP;
	struct sgx_result r = hw_lp_exception(lp, vector, vector == SGX_VEC_PF ? pfec : 0, la);
	after_aex(n, t, uc, r, false);
}

static bool in_enclave_code(const ucontext_t *uc)
{
	return tls.encl && (uint64_t)uc->uc_mcontext.gregs[REG_RIP] - tls.encl->base < tls.encl->size;
}

/* A signal for the program while this thread runs enclave code: the
 * interrupt's AEX first, as hardware takes it before the OS sees the event. */
static void foreign_interrupt(struct emu_native *n, ucontext_t *uc)
{
	if (!in_enclave_code(uc))
		return;
	struct emu_thread *t = emu_current_thread();
	struct hw_lp *lp = emu_thread_lp(t);
	native_regs_from_uc(hw_lp_regs(lp), uc);
	struct sgx_result r = hw_lp_interrupt(lp);
	if (r.aex)
		after_aex(n, t, uc, r, false);
}

/* The IPI signal: an interrupt for an LP running enclave code is its AEX. */
static void ipi_taken(struct emu_native *n, ucontext_t *uc)
{
	struct emu_thread *t = emu_current_thread();
	if (!t || !tls.encl)
		return;
	struct hw_lp *lp = emu_thread_lp(t);
	if (!hw_lp_interrupt_pending(lp) || !in_enclave_code(uc))
		return;   /* taken already, or at the thread's next ENCLU or fault */
	native_regs_from_uc(hw_lp_regs(lp), uc);
	struct sgx_result r = hw_lp_interrupt(lp);
	if (r.aex)
		after_aex(n, t, uc, r, false);
}

/*
 * Is the instruction at RIP an ENCLU?  Read without touching the page
 * (process_vm_readv): another thread may have taken the mapping away since
 * the #UD, and a fault here, with SIGSEGV blocked, would kill the process.
 * *readable false: it could not be read; returning re-executes it, and its
 * fetch faults and is filled like any other.
 */
static bool at_enclu(const ucontext_t *uc, bool *readable)
{
	uint8_t ip[3];
	struct iovec local = { ip, sizeof(ip) };
	struct iovec remote = { (void *)(uintptr_t)uc->uc_mcontext.gregs[REG_RIP], sizeof(ip) };
	*readable = process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof(ip);
	return *readable && ip[0] == 0x0f && ip[1] == 0x01 && ip[2] == 0xd7;
}

/* A host access to a page of an ELRANGE outside enclave mode. */
static void say_host_access(struct emu_native *n, siginfo_t *si)
{
	uint64_t la = (uint64_t)(uintptr_t)si->si_addr;
	if (pthread_mutex_trylock(&n->lock))
		return;   /* this thread may hold it: a bug of ours, say nothing more */
	bool epc = native_encl_at(n, la) != NULL;
	pthread_mutex_unlock(&n->lock);
	if (epc)
		fprintf(stderr, "sgx2emu: access to enclave memory at 0x%llx outside enclave mode: on SGX hardware "
			"it reads all-ones and drops writes (abort page); native mode cannot, so it faults "
			"(docs/native.md)\n", (unsigned long long)la);
}

/* An IPI this layer sent (core.c): queued with its cookie by this process. */
static bool is_our_ipi(const struct emu_native *n, int sig, const siginfo_t *si)
{
	return sig == n->cfg.ipi_signal && si->si_code == SI_QUEUE && si->si_pid == getpid() &&
	       si->si_value.sival_int == NATIVE_IPI_COOKIE;
}

void native_on_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct emu_native *n = atomic_load(&native_self);
	int saved_errno = errno;
	bool readable = true;
	if (!n) {
		signal(sig, SIG_DFL);
		raise(sig);
	} else if (is_our_ipi(n, sig, si)) {
		ipi_taken(n, uc);
	} else if (sig == SIGILL && si->si_code > 0 && at_enclu(uc, &readable)) {
		enclu_trap(n, si, uc);
	} else if (!readable && in_enclave_code(uc)) {
		/* the code page went while the #UD was on its way: fetch again */
	} else if (in_enclave_code(uc) && sig != n->cfg.ipi_signal && si->si_code > 0) {
		enclave_exception(n, sig, si, uc);
	} else {
		if (sig == SIGSEGV)
			say_host_access(n, si);
		foreign_interrupt(n, uc);
		native_forward(n, sig, si, uc);
	}
	errno = saved_errno;
}

/*
 * Any other signal the program handles (emu_native_sigaction installs this
 * in front of its handler): if it arrives while enclave code runs, the CPU
 * would take the interrupt as an AEX before the OS delivers anything, so the
 * handler runs on the AEX's synthetic state (RIP = AEP, the untrusted stack,
 * outside enclave mode) and may even siglongjmp out, as on Linux.
 */
void native_on_foreign_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct emu_native *n = atomic_load(&native_self);
	int saved_errno = errno;
	if (n) {
		foreign_interrupt(n, uc);
		native_forward(n, sig, si, uc);
	}
	errno = saved_errno;
}
