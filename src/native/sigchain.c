/*
 * The program's own signal handlers.  Native execution owns the handlers of
 * SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP and the IPI signal for as long as
 * it exists; what the program installs for them (emu_native_sigaction, the
 * preload's sigaction) is kept here and called for every signal that is not
 * the emulation's own business, the way the kernel would have called it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "native.h"

static const int fault_signals[NATIVE_NR_SIGNALS - 1] = { SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP };

int native_signal_index(const struct emu_native *n, int sig)
{
	for (int i = 0; i < NATIVE_NR_SIGNALS; i++)
		if (n->signals[i] == sig)
			return i;
	return -1;
}

/*
 * Install native_on_signal for our signals; the handlers found become the
 * program's.  Each runs on the alternate stack with all of our signals
 * blocked, so an IPI never interrupts the emulation of an ENCLU.
 * 0, or -errno (the handlers already installed are put back).
 */
int native_signals_install(struct emu_native *n)
{
	for (int i = 0; i < NATIVE_NR_SIGNALS - 1; i++)
		n->signals[i] = fault_signals[i];
	n->signals[NATIVE_NR_SIGNALS - 1] = n->cfg.ipi_signal;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = native_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < NATIVE_NR_SIGNALS; i++)
		sigaddset(&sa.sa_mask, n->signals[i]);
	for (int i = 0; i < NATIVE_NR_SIGNALS; i++) {
		if (sigaction(n->signals[i], &sa, &n->installed[i])) {
			int err = errno;
			while (i-- > 0)
				sigaction(n->signals[i], &n->installed[i], NULL);
			return -err;
		}
		n->program[i] = n->installed[i];
	}
	return 0;
}

/* The program's handlers (as it last set them) go back in place. */
void native_signals_restore(struct emu_native *n)
{
	for (int i = 0; i < NATIVE_NR_SIGNALS; i++)
		sigaction(n->signals[i], &n->program[i], NULL);
}

/*
 * sigaction for one of our signals, on the program's behalf: 0, or -1 +
 * EINVAL for a signal that is not ours.  The table is read by signal
 * handlers without a lock: a program changing a handler while that very
 * signal is delivered on another thread gets one or the other, as with the
 * kernel's own sigaction.
 */
int emu_native_sigaction(struct emu_native *n, int sig, const struct sigaction *act, struct sigaction *old)
{
	int i = n ? native_signal_index(n, sig) : -1;
	if (i < 0) {
		errno = EINVAL;
		return -1;
	}
	if (old)
		*old = n->program[i];
	if (act)
		n->program[i] = *act;
	return 0;
}

/* The kernel's force_sig for a fault: a blocked or ignored synchronous
 * signal is not deliverable, so the default action (termination) is taken. */
static _Noreturn void take_default_action(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* a signal whose default action is to ignore it (the IPI signal is not
	 * one, nor are the fault signals), or a stopped-then-continued process */
	_exit(128 + sig);
}

/*
 * Deliver sig as the kernel would have delivered it to the program: its
 * handler with its sa_mask (and sig itself unless SA_NODEFER) blocked, and
 * SA_RESETHAND honoured; SIG_DFL takes the default action; SIG_IGN ignores
 * an asynchronous signal but not a fault (si_code > 0 came from the CPU).
 */
void native_forward(struct emu_native *n, int sig, siginfo_t *si, ucontext_t *uc)
{
	int i = native_signal_index(n, sig);
	struct sigaction a = n->program[i];
	NATIVE_COUNT(n, forwarded);
	bool fault = si->si_code > 0 && sig != n->cfg.ipi_signal;
	if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_IGN) {
		if (!fault)
			return;
		take_default_action(sig);
	}
	if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL)
		take_default_action(sig);

	if (a.sa_flags & SA_RESETHAND) {
		n->program[i].sa_handler = SIG_DFL;
		n->program[i].sa_flags &= ~SA_SIGINFO;
	}
	sigset_t block = a.sa_mask, before;
	if (!(a.sa_flags & SA_NODEFER))
		sigaddset(&block, sig);
	pthread_sigmask(SIG_BLOCK, &block, &before);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
}
