/*
 * Coroutines for model-mode enclave code: makecontext/swapcontext on stacks
 * of our own, told to the sanitizers as fibers so that ASan (stack bounds,
 * fake stacks) and TSan (happens-before across switches, threads that resume
 * a coroutine another thread suspended) stay correct.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exec.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXEC_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define EXEC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(EXEC_ASAN)
#define EXEC_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(EXEC_TSAN)
#define EXEC_TSAN 1
#endif

#ifdef EXEC_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef EXEC_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#define GUARD SGX_PAGE_SIZE

struct exec_stack *exec_stack_get(struct exec_proc *xp)
{
	pthread_mutex_lock(&xp->lock);
	struct exec_stack *s = xp->stacks;
	if (s) {
		xp->stacks = s->next;
		xp->nr_stacks--;
	}
	pthread_mutex_unlock(&xp->lock);
	if (s) {
#ifdef EXEC_ASAN
		/* The last coroutine on it never unwound: drop its redzones. */
		__asan_unpoison_memory_region(s->base, s->size);
#endif
		return s;
	}
	s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	uint8_t *p = mmap(NULL, EXEC_STACK_SIZE + GUARD, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED) {
		free(s);
		return NULL;
	}
	mprotect(p, GUARD, PROT_NONE);
	s->base = p + GUARD;
	s->size = EXEC_STACK_SIZE;
	s->next = NULL;
	return s;
}

void exec_stack_free(struct exec_stack *s)
{
	munmap((uint8_t *)s->base - GUARD, s->size + GUARD);
	free(s);
}

void exec_stack_put(struct exec_proc *xp, struct exec_stack *s)
{
	pthread_mutex_lock(&xp->lock);
	if (xp->nr_stacks < EXEC_STACK_CACHE) {
		s->next = xp->stacks;
		xp->stacks = s;
		xp->nr_stacks++;
		s = NULL;
	}
	pthread_mutex_unlock(&xp->lock);
	if (s)
		exec_stack_free(s);
}

/* Entered after a switch into the coroutine (its first, or a resume). */
static void arrived_in(struct encl_ctx *ctx)
{
#ifdef EXEC_ASAN
	__sanitizer_finish_switch_fiber(ctx->asan_fake_stack, &ctx->host_stack_bottom, &ctx->host_stack_size);
#else
	(void)ctx;
#endif
}

static void trampoline(unsigned hi, unsigned lo)
{
	struct encl_ctx *ctx = (struct encl_ctx *)(uintptr_t)(((uint64_t)hi << 32) | lo);
	arrived_in(ctx);
	exec_co_main(ctx);
	/* exec_co_main ends with a final co_switch_out */
	abort();
}

void co_init(struct encl_ctx *ctx)
{
	getcontext(&ctx->uc);
	ctx->uc.uc_stack.ss_sp = ctx->stack->base;
	ctx->uc.uc_stack.ss_size = ctx->stack->size;
	ctx->uc.uc_link = NULL;
	uint64_t p = (uint64_t)(uintptr_t)ctx;
	makecontext(&ctx->uc, (void (*)(void))trampoline, 2, (unsigned)(p >> 32), (unsigned)p);
	ctx->asan_fake_stack = NULL;
#ifdef EXEC_TSAN
	ctx->tsan_fiber = __tsan_create_fiber(0);
#else
	ctx->tsan_fiber = NULL;
#endif
}

void co_switch_in(struct encl_ctx *ctx)
{
	ucontext_t host;
	ctx->host_uc = &host;
#ifdef EXEC_TSAN
	ctx->tsan_host_fiber = __tsan_get_current_fiber();
	__tsan_switch_to_fiber(ctx->tsan_fiber, 0);
#endif
#ifdef EXEC_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(&fake, ctx->stack->base, ctx->stack->size);
#endif
	if (swapcontext(&host, &ctx->uc) != 0) {
		perror("sgx2emu: swapcontext");
		abort();
	}
#ifdef EXEC_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	ctx->host_uc = NULL;
}

void co_switch_out(struct encl_ctx *ctx, bool final)
{
#ifdef EXEC_TSAN
	__tsan_switch_to_fiber(ctx->tsan_host_fiber, 0);
#endif
#ifdef EXEC_ASAN
	/* A coroutine that ends passes NULL so ASan drops its fake stack. */
	__sanitizer_start_switch_fiber(final ? NULL : &ctx->asan_fake_stack, ctx->host_stack_bottom,
				       ctx->host_stack_size);
#else
	(void)final;
#endif
	if (swapcontext(&ctx->uc, ctx->host_uc) != 0) {
		perror("sgx2emu: swapcontext");
		abort();
	}
	arrived_in(ctx);
}

void co_destroy(struct encl_ctx *ctx)
{
#ifdef EXEC_TSAN
	if (ctx->tsan_fiber)
		__tsan_destroy_fiber(ctx->tsan_fiber);
#endif
	ctx->tsan_fiber = NULL;
}
