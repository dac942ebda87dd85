/*
 * The program's own signal handlers.  Native execution owns the handlers of
 * SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP and the IPI signal for as long as
 * it exists; what the program installs for them (emu_native_sigaction, the
 * preload's sigaction) is kept here and called for every signal that is not
 * the emulation's own business, the way the kernel would have called it.
 *
 * Every other signal with a handler (those in place when native mode
 * begins, and those set through emu_native_sigaction) gets
 * native_on_foreign_signal in front of it, with the program's flags and
 * mask plus SA_ONSTACK: arriving while enclave code runs, such a signal is
 * an AEX first (trap.c), and its frame must not land on an enclave stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

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
static bool has_handler(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) || (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

/* Install native_on_foreign_signal in front of the program's handler act. */
static int wrap_foreign(struct emu_native *n, int sig, const struct sigaction *act)
{
	struct sigaction w = *act;
	w.sa_sigaction = native_on_foreign_signal;
	w.sa_flags = act->sa_flags | SA_SIGINFO | SA_ONSTACK;
	if (sigaction(sig, &w, NULL))
		return -1;
	n->foreign[sig] = *act;
	n->foreign_wrapped[sig] = true;
	return 0;
}

static bool ours_or_fixed(const struct emu_native *n, int sig)
{
	return native_signal_index(n, sig) >= 0 || sig == SIGKILL || sig == SIGSTOP;
}

/*
 * Install native_on_signal for our signals; the handlers found become the
 * program's.  Each runs on the alternate stack with all of our signals
 * blocked, so an IPI never interrupts the emulation of an ENCLU.  Every
 * other signal's handler gets the foreign wrapper.  0, or -errno (the
 * handlers already installed are put back).
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
	/* signals glibc keeps to itself refuse sigaction: skipped */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction cur;
		if (!ours_or_fixed(n, sig) && !sigaction(sig, NULL, &cur) && has_handler(&cur))
			wrap_foreign(n, sig, &cur);
	}
	return 0;
}

/* The program's handlers (as it last set them) go back in place. */
void native_signals_restore(struct emu_native *n)
{
	for (int i = 0; i < NATIVE_NR_SIGNALS; i++)
		sigaction(n->signals[i], &n->program[i], NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (n->foreign_wrapped[sig])
			sigaction(sig, &n->foreign[sig], NULL);
}

struct sigaction *native_program_action(struct emu_native *n, int sig)
{
	int i = native_signal_index(n, sig);
	return i >= 0 ? &n->program[i] : &n->foreign[sig];
}

/*
 * sigaction on the program's behalf, for any signal: 0, or -1 + errno
 * (EINVAL for SIGKILL, SIGSTOP, a number out of range, or what the kernel
 * says).  Our signals: only the table changes.  Others: a handler gets the
 * foreign wrapper in front, SIG_DFL and SIG_IGN are installed as they are.
 * The table is read by signal handlers without a lock: a program changing a
 * handler while that very signal is delivered on another thread gets one
 * or the other, as with the kernel's own sigaction.
 */
int emu_native_sigaction(struct emu_native *n, int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!n || sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
		errno = EINVAL;
		return -1;
	}
	int i = native_signal_index(n, sig);
	if (i >= 0) {
		if (old)
			*old = n->program[i];
		if (act)
			n->program[i] = *act;
		return 0;
	}
	struct sigaction prev;
	if (n->foreign_wrapped[sig])
		prev = n->foreign[sig];
	else if (sigaction(sig, NULL, &prev))
		return -1;
	if (act) {
		if (has_handler(act)) {
			if (wrap_foreign(n, sig, act))
				return -1;
		} else {
			if (sigaction(sig, act, NULL))
				return -1;
			n->foreign_wrapped[sig] = false;
		}
	}
	if (old)
		*old = prev;
	return 0;
}

/* The default action, as the kernel takes it: re-raised with SIG_DFL and
 * unblocked.  For the fault signals and the IPI signal that ends the
 * process; a signal whose default is to be ignored returns here, ignored. */
static void take_default_action(int sig)
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
}

/*
 * Deliver sig as the kernel would have delivered it to the program: its
 * handler with its sa_mask (and sig itself unless SA_NODEFER) blocked, and
 * SA_RESETHAND honoured; SIG_DFL takes the default action; SIG_IGN ignores
 * an asynchronous signal but not a fault (si_code > 0 came from the CPU).
 */
void native_forward(struct emu_native *n, int sig, siginfo_t *si, ucontext_t *uc)
{
	struct sigaction *slot = native_program_action(n, sig);
	struct sigaction a = *slot;
	NATIVE_COUNT(n, forwarded);
	bool fault = native_signal_index(n, sig) >= 0 && si->si_code > 0 && sig != n->cfg.ipi_signal;
	/* a blocked or ignored fault is not deliverable: the kernel's
	 * force_sig takes the default action instead */
	if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_IGN) {
		if (fault)
			take_default_action(sig);
		return;
	}
	if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL) {
		take_default_action(sig);
		return;
	}

	if (a.sa_flags & SA_RESETHAND) {
		slot->sa_handler = SIG_DFL;
		slot->sa_flags &= ~SA_SIGINFO;
	}
	/* the mask the kernel would give the handler: the interrupted code's
	 * (uc), its sa_mask, and sig itself unless SA_NODEFER; not ours, which
	 * this layer's own handler blocks */
	sigset_t mask = uc->uc_sigmask, before;
	sigorset(&mask, &mask, &a.sa_mask);
	if (!(a.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_SETMASK, &mask, &before);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
}
