/*
 * CPUID: what a program sees of the emulated CPU's SGX (leaf 7's SGX and
 * SGX_LC bits, leaf 0x12).
 *
 * Where the kernel can make CPUID fault (arch_prctl(ARCH_SET_CPUID, 0): a
 * CPU with CPUID faulting, shown as cpuid_fault in /proc/cpuinfo), the
 * constructor turns it on for this thread (threads created later inherit
 * it; exec turns it off) and puts a hook in front of the program's SIGSEGV
 * handler: the fault of a CPUID (SIGSEGV, si_code SI_KERNEL, 0f a2 at RIP)
 * is emulated there, RIP steps over it, and the program's handler never sees
 * it; every other SIGSEGV goes on to the program's handler as the kernel
 * would deliver it.  The hook is the handler the native layer calls for
 * SIGSEGVs not caused by enclave code (emu_native_sigaction), and it keeps
 * the program's own: sigaction(SIGSEGV) goes here while it is in place.
 * Emulated CPUID = the host's (run with faulting switched off for that one
 * instruction) with the SGX leaves overlaid (sgx2emu_cpuid).
 *
 * Where it cannot (this is most machines, virtual ones in particular),
 * CPUID reports the host's leaves.  SGX2EMU_CPUID=require makes that fatal
 * (status 2), SGX2EMU_VERBOSE=1 says it once, SGX2EMU_CPUID=off does not
 * try.  The program can ask sgx2emu_cpuid instead, and `sgx2emu cpuid`
 * prints the emulated leaf 0x12.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "sgx2emu/preload.h"
#include "preload.h"

static _Atomic bool faulting;          /* CPUID faults in this process (the hook is in place) */
static struct sigaction program;       /* the program's SIGSEGV action while the hook is in front */

static void raw_cpuid(unsigned leaf, unsigned sub, unsigned out[4])
{
	__asm__ volatile("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(leaf), "c"(sub));
}

static long set_cpuid(unsigned long enabled)
{
	return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled);
}

/* The host's CPUID: with faulting switched off around it when it is on
 * (a system call each way: async-signal-safe, and CPUID is rare). */
static void host_cpuid(unsigned leaf, unsigned sub, unsigned out[4])
{
	bool f = atomic_load(&faulting);
	if (f)
		set_cpuid(1);
	raw_cpuid(leaf, sub, out);
	if (f)
		set_cpuid(0);
}

/* The emulated machine's view of one leaf (see include/sgx2emu/preload.h). */
static void emulated(unsigned leaf, unsigned sub, unsigned out[4])
{
	struct hw_machine *m = emu_machine(preload.emu);
	uint32_t r[4];
	if (leaf == 0x12) {
		hw_cpuid(m, leaf, sub, r);
		memcpy(out, r, sizeof(r));
		return;
	}
	host_cpuid(leaf, sub, out);
	if (leaf == 0 && out[0] < 0x12)
		out[0] = 0x12;
	if (leaf == 7 && sub == 0) {
		hw_cpuid(m, 7, 0, r);
		out[1] |= r[1];
		out[2] |= r[2];
	}
}

int sgx2emu_cpuid(unsigned leaf, unsigned subleaf, unsigned out[4])
{
	preload_init();
	emulated(leaf, subleaf, out);
	return 0;
}

/* The program's action for a SIGSEGV that is not a CPUID, delivered as the
 * kernel would: a handler runs with its mask (and SIGSEGV unless
 * SA_NODEFER) blocked, SA_RESETHAND first resets it; SIG_DFL (and SIG_IGN
 * for a fault, which the kernel does not let be ignored) is the default
 * action: the native layer's slot becomes SIG_DFL and the signal is raised
 * again (a fault also recurs on return). */
static void deliver(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a = program;
	if (a.sa_handler == SIG_IGN && si->si_code <= 0)
		return;   /* sent by a process: ignored */
	if (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		emu_native_sigaction(preload_native(), SIGSEGV, &dfl, NULL);
		atomic_store(&faulting, false);
		raise(sig);
		return;
	}
	if (a.sa_flags & SA_RESETHAND)
		program.sa_handler = SIG_DFL;
	sigset_t mask = a.sa_mask, saved;
	if (!(a.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_BLOCK, &mask, &saved);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/* The hook: a CPUID's fault is emulated and skipped; anything else is the
 * program's. */
static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)(uintptr_t)g[REG_RIP];
	if (atomic_load(&faulting) && si->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
		unsigned r[4];
		emulated((unsigned)g[REG_RAX], (unsigned)g[REG_RCX], r);
		g[REG_RAX] = r[0];
		g[REG_RBX] = r[1];
		g[REG_RCX] = r[2];
		g[REG_RDX] = r[3];
		g[REG_RIP] += 2;
		return;
	}
	deliver(sig, si, ucv);
}

bool preload_cpuid_owns_sigsegv(void)
{
	return atomic_load(&faulting);
}

int preload_cpuid_sigaction(const struct sigaction *act, struct sigaction *old)
{
	if (old)
		*old = program;
	if (act)
		program = *act;
	return 0;
}

void preload_cpuid_init(void)
{
	if (preload.cfg.cpuid == PRELOAD_CPUID_OFF)
		return;
	if (set_cpuid(0) == 0) {
		struct sigaction hook = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
		sigemptyset(&hook.sa_mask);
		if (emu_native_sigaction(preload_native(), SIGSEGV, &hook, &program) == 0) {
			atomic_store(&faulting, true);
			preload_log("CPUID faults: leaves 7 and 0x12 are emulated");
			return;
		}
		set_cpuid(1);
	}
	int err = errno;
	unsigned r[4];
	raw_cpuid(7, 0, r);
	if (preload.cfg.cpuid == PRELOAD_CPUID_REQUIRE || preload.cfg.verbose)
		preload_say("CPUID cannot be made to fault on this machine (arch_prctl(ARCH_SET_CPUID, 0): %s): the "
			    "program's CPUID instructions report the host CPU (SGX bit %u), not the emulated one. "
			    "The emulated leaves: `sgx2emu cpuid`, or sgx2emu_cpuid() (<sgx2emu/preload.h>) "
			    "from the program",
			    strerror(err), (r[1] >> 2) & 1);
	if (preload.cfg.cpuid == PRELOAD_CPUID_REQUIRE)
		_exit(2);
}
