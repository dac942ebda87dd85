/* The fixture of native_fx.h. */
#include <stdlib.h>
#include <string.h>

#include "native_fx.h"

struct nfx *nfx_new(uint64_t size, uint64_t tcs2)
{
	struct nfx *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = 1024 * SGX_PAGE_SIZE;
	cfg.hw.nr_lps = 8;
	t->f = efx_new(&cfg);
	mini_encl_build_with(t->f, &t->e, size, tcs2);
	t->thread = emu_thread_create(t->f->proc);
	assert_non_null(t->thread);
	emu_thread_bind(t->thread);
	return t;
}

void nfx_free(struct nfx *t)
{
	emu_native_destroy(t->n);
	emu_thread_bind(NULL);
	emu_thread_destroy(t->thread);
	efx_encl_destroy(t->f, &t->e);
	efx_free(t->f);
	free(t);
}

int nfx_call(struct nfx *t, enum mini_op op, uint64_t rsi, uint64_t rdx, void *r8)
{
	memset(&t->run, 0, sizeof(t->run));
	t->run.tcs = t->e.base;
	return mini_enter(t->enter, op, rsi, rdx, SGX_EENTER, (unsigned long)(uintptr_t)r8, 0, &t->run);
}

void nfx_start(struct nfx *t)
{
	t->n = emu_native_create(t->f->proc, NULL);
	assert_non_null(t->n);
	t->enter = emu_native_vdso_enter(t->n);
	assert_non_null(t->enter);
	assert_int_equal(nfx_call(t, MINI_EXIT, 0, 0, NULL), 0);
	assert_int_equal(t->run.function, SGX_EEXIT);
	emu_native_stats(t->n, &t->base);
	assert_int_equal(t->base.enclu_by_leaf[SGX_EENTER], 3);   /* #PF on TCS, #PF on SSA, entered */
	assert_int_equal(t->base.aex, 1);                         /* the code page's PTE */
	assert_int_equal(t->base.aex_fixed, 1);
}

struct emu_native_stats nfx_stats(struct nfx *t)
{
	struct emu_native_stats s;
	emu_native_stats(t->n, &s);
	const uint64_t *b = (const uint64_t *)&t->base;
	uint64_t *v = (uint64_t *)&s;
	for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
		v[i] -= b[i];
	return s;
}

void nfx_handle(struct nfx *t, int sig, void (*fn)(int, siginfo_t *, void *), struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	assert_int_equal(emu_native_sigaction(t->n, sig, &sa, old), 0);
}
