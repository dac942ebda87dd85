/*
 * Host threads and the model's threads.  A host thread that executes ENCLU
 * needs an emu_thread (an LP) of the native process: the one bound to it
 * (emu_thread_bind) if any, else one made here at its first ENCLU and given
 * back when the host thread exits (a pthread key destructor).
 *
 * Every such thread also needs an alternate signal stack: a signal taken
 * while enclave code runs would otherwise push its frame onto the enclave's
 * stack, i.e. into EPC, which SGX never lets the OS touch (the CPU switches
 * to the untrusted stack at an AEX before the OS sees anything).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "native.h"

struct native_thread_state {
	struct emu_thread *made;     /* made here (else NULL: the caller's binding) */
	void *altstack;              /* mapped here, with one guard page below */
	size_t altstack_size;
	stack_t previous;            /* the thread's stack before ours */
};

static __thread struct native_thread_state thread_state;

/* The thread's previous signal stack comes back; ours goes. */
static void altstack_release(void)
{
	if (!thread_state.altstack)
		return;
	sigaltstack(&thread_state.previous, NULL);
	munmap((char *)thread_state.altstack - SGX_PAGE_SIZE, thread_state.altstack_size + SGX_PAGE_SIZE);
	thread_state.altstack = NULL;
}

/* Key destructor: the host thread is exiting. */
static void thread_gone(void *p)
{
	struct emu_thread *t = p;
	if (emu_current_thread() == t)
		emu_thread_bind(NULL);
	emu_thread_destroy(t);
	thread_state.made = NULL;
	altstack_release();
}

int native_thread_init(struct emu_native *n)
{
	return -pthread_key_create(&n->thread_key, thread_gone);
}

/* The calling thread's own emu_thread goes now; other threads' when they exit
 * (their key destructor is gone with the key, so they are destroyed with the
 * process: emu_native_destroy's contract says no thread is in an enclave). */
void native_thread_fini(struct emu_native *n)
{
	struct emu_thread *t = pthread_getspecific(n->thread_key);
	if (t) {
		pthread_setspecific(n->thread_key, NULL);
		thread_gone(t);
	}
	altstack_release();
	pthread_key_delete(n->thread_key);
}

/*
 * The caller's emu_thread: its binding, else a new one (bound, and released at
 * thread exit).  NULL + errno EAGAIN when every LP is taken, ENOMEM.
 */
struct emu_thread *native_thread(struct emu_native *n)
{
	struct emu_thread *t = emu_current_thread();
	if (t)
		return t;
	t = emu_thread_create(n->proc);
	if (!t)
		return NULL;
	if (pthread_setspecific(n->thread_key, t)) {
		emu_thread_destroy(t);
		errno = ENOMEM;
		return NULL;
	}
	emu_thread_bind(t);
	thread_state.made = t;
	return t;
}

/*
 * Make sure this thread has a signal stack of at least cfg.altstack_size
 * (one of its own that big is kept).  Called from the ENCLU handler each
 * time the thread enters an enclave from outside, i.e. while it is still on
 * its own stack, where sigaltstack may be changed; a program that disabled
 * or shrank it since gets ours back.  Failure leaves things as they were:
 * signals then land on the current stack.
 */
void native_altstack_ensure(struct emu_native *n)
{
	stack_t cur;
	if (sigaltstack(NULL, &cur))
		return;
	if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= n->cfg.altstack_size)
		return;   /* the thread's own (or ours, still in place) */
	if (cur.ss_flags & SS_ONSTACK)
		return;
	if (thread_state.altstack) {
		/* the program changed it since: ours goes back */
		stack_t ss = { .ss_sp = thread_state.altstack, .ss_size = thread_state.altstack_size };
		sigaltstack(&ss, NULL);
		return;
	}
	size_t size = (n->cfg.altstack_size + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;
	char *p = mmap(NULL, size + SGX_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	mprotect(p, SGX_PAGE_SIZE, PROT_NONE);
	stack_t ss = { .ss_sp = p + SGX_PAGE_SIZE, .ss_size = size };
	if (sigaltstack(&ss, NULL)) {
		munmap(p, size + SGX_PAGE_SIZE);
		return;
	}
	thread_state.previous = cur;
	if (cur.ss_flags & SS_DISABLE)
		thread_state.previous = (stack_t){ .ss_flags = SS_DISABLE };
	thread_state.altstack = ss.ss_sp;
	thread_state.altstack_size = size;
}
