/*
 * Several host threads drive several LPs at once: two enclave threads write
 * and read their own pages while the OS thread posts IPIs, EAUGs pages and
 * runs ETRACK.  Interrupts are taken at the enclave thread's next access
 * (an AEX); the thread ERESUMEs and retries exactly that access.  Run under
 * SAN=thread to check the locking.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common/fixture.h"

#define ITERATIONS 3000

struct worker {
	struct fx *f;
	struct hw_lp *lp;
	uint64_t tcs;
	uint64_t page;
	uint64_t aex_seen;
	int errors;
};

static atomic_int workers_done;
static pthread_barrier_t entered;

/* One access, retried after every interrupt AEX the way an AEP that just
 * ERESUMEs does; any other fault is an error. */
static bool access_retry(struct worker *w, uint64_t la, void *buf, bool write)
{
	for (;;) {
		struct sgx_result r = write ? hw_lp_write(w->lp, la, buf, 8) : hw_lp_read(w->lp, la, buf, 8);
		if (sgx_ok(r) && !r.aex)
			return true;
		if (!r.aex || r.vector != SGX_VEC_NONE)
			return false;
		w->aex_seen++;
		r = hw_enclu(w->lp, SGX_ERESUME, w->tcs, FX_AEP, 0);
		if (r.aex) {        /* an interrupt taken at the ERESUME itself */
			w->aex_seen++;
			r = hw_enclu(w->lp, SGX_ERESUME, w->tcs, FX_AEP, 0);
		}
		if (!sgx_ok(r))
			return false;
	}
}

static void *enclave_thread(void *arg)
{
	struct worker *w = arg;
	hw_lp_regs(w->lp)->rip = FX_RETURN;
	struct sgx_result r = hw_enclu(w->lp, SGX_EENTER, w->tcs, FX_AEP, 0);
	if (!sgx_ok(r))
		w->errors++;
	pthread_barrier_wait(&entered); /* the OS thread posts a first IPI to every LP inside */
	pthread_barrier_wait(&entered);
	for (uint64_t i = 0; i < ITERATIONS && !w->errors; i++) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull, back = 0;
		if (!access_retry(w, w->page + (i % 512) * 8, &v, true) ||
		    !access_retry(w, w->page + (i % 512) * 8, &back, false) || back != v)
			w->errors++;
	}
	for (;;) { /* EEXIT, unless an interrupt gets there first */
		r = hw_enclu(w->lp, SGX_EEXIT, FX_RETURN, 0, 0);
		if (!r.aex)
			break;
		w->aex_seen++;
		if (!sgx_ok(hw_enclu(w->lp, SGX_ERESUME, w->tcs, FX_AEP, 0))) {
			w->errors++;
			break;
		}
	}
	if (!sgx_ok(r))
		w->errors++;
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

static void test_lps_on_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[2] = {
		{ .f = f, .lp = hw_lp_get(f->m, 0), .tcs = FX_TCS, .page = FX_DATA + 0x1000 },
		{ .f = f, .lp = hw_lp_get(f->m, 1), .tcs = FX_TCS2, .page = FX_DATA + 0x2000 },
	};
	struct hw_lp *os = hw_lp_get(f->m, 2);
	f->lp = os; /* fixture leaves run on the OS LP */
	pthread_t t[2];
	atomic_store(&workers_done, 0);
	assert_int_equal(pthread_barrier_init(&entered, NULL, 3), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, enclave_thread, &w[i]), 0);
	pthread_barrier_wait(&entered);
	hw_lp_post_interrupt(w[0].lp);
	hw_lp_post_interrupt(w[1].lp);
	/* first tracking cycle: both LPs inside, nothing earlier to wait for */
	assert_success(hw_encls(os, SGX_ETRACK, 0, fx_addr(f->secs), 0));
	pthread_barrier_wait(&entered);

	unsigned posted = 0, posted_to[2] = { 1, 1 }, augmented = 0;
	while (atomic_load(&workers_done) < 2) {
		hw_lp_post_interrupt(w[posted % 2].lp);
		posted_to[posted % 2]++;
		posted++;
		if (augmented < 64) {
			assert_success(fx_eaug(f, FX_HEAP + augmented * SGX_PAGE_SIZE));
			augmented++;
		}
		/* ok, or RC 17 while an LP from the previous cycle is still inside */
		struct sgx_result r = hw_encls(os, SGX_ETRACK, 0, fx_addr(f->secs), 0);
		assert_int_equal(r.vector, SGX_VEC_NONE);
		assert_true(r.rax == SGX_SUCCESS || (r.rax == SGX_PREV_TRK_INCMPL && r.zf));
		sched_yield();
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	pthread_barrier_destroy(&entered);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w[i].errors, 0);
		assert_true(w[i].aex_seen >= 1); /* at least the IPI posted while it was inside */
		assert_false(hw_lp_in_enclave(w[i].lp));
		/* every AEX the thread saw is one the LP counted, all from interrupts */
		assert_int_equal(hw_lp_stats(w[i].lp)->aex, w[i].aex_seen);
		assert_true(hw_lp_stats(w[i].lp)->interrupts <= posted_to[i]);
	}
	for (unsigned i = 0; i < augmented; i++) {
		struct hw_epcm_entry e = fx_epcm(f, FX_HEAP + i * SGX_PAGE_SIZE);
		assert_true(e.valid && e.pending);
	}
	/* both threads left: the last tracking cycle is complete */
	assert_success(hw_encls(os, SGX_ETRACK, 0, fx_addr(f->secs), 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lps_on_threads, fx_setup_initialized, fx_teardown),
	};
	return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
