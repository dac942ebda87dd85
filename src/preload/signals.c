/*
 * What the native layer owns process-wide: the handlers of SIGILL, SIGSEGV,
 * SIGBUS, SIGFPE, SIGTRAP and its IPI signal, and the vDSO.
 *
 * sigaction/signal set and read the program's handler as the native layer
 * keeps it (emu_native_sigaction), for every signal: for those six the
 * program's handler still gets every such signal not caused by emulated
 * enclave code, and the native layer's handler stays installed; any other
 * handler gets the native layer's wrapper in front, which takes the
 * interrupt's AEX first when the signal arrives in enclave code.  (SIGSEGV
 * goes to cpuid.c while the CPUID hook is in front of the program's
 * handler.)  Before the model exists every signal is libc's.
 *
 * getauxval(AT_SYSINFO_EHDR) is the native layer's vDSO image, which has
 * __vdso_sgx_enter_enclave and forwards clock_gettime & co. to the kernel's
 * vDSO, so a program that looks up its time functions there still gets them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/auxv.h>

#include "preload.h"

/* One of the native layer's signals, the model existing: the program's slot. */
static int program_sigaction(struct emu_native *n, int sig, const struct sigaction *act, struct sigaction *old)
{
	int r = sig == SIGSEGV && preload_cpuid_owns_sigsegv() ? preload_cpuid_sigaction(act, old)
							      : emu_native_sigaction(n, sig, act, old);
	int err = errno;
	if (act)
		preload_log("sigaction(%d, %s) = %d: the program's handler", sig,
			    act->sa_handler == SIG_DFL ? "SIG_DFL" : act->sa_handler == SIG_IGN ? "SIG_IGN" : "handler",
			    r);
	errno = err;
	return r;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct emu_native *n = preload_native();
	if (!n || preload.forked)
		return REAL(sigaction)(sig, act, old);
	return program_sigaction(n, sig, act, old);
}

/*
 * signal() as glibc's (BSD semantics): the handler with SA_RESTART, its own
 * signal blocked while it runs; the old handler, or SIG_ERR + EINVAL.
 */
__sighandler_t signal(int sig, __sighandler_t handler)
{
	struct emu_native *n = preload_native();
	if (!n || preload.forked)
		return REAL(signal)(sig, handler);
	if (handler == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (program_sigaction(n, sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

unsigned long getauxval(unsigned long type)
{
	if (type != AT_SYSINFO_EHDR || preload.forked || !preload_init())
		return REAL(getauxval)(type);
	unsigned long v = (unsigned long)(uintptr_t)emu_native_vdso_image(preload_native());
	preload_log("getauxval(AT_SYSINFO_EHDR) = %#lx: the emulator's vDSO", v);
	return v;
}
