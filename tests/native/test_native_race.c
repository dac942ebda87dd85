/*
 * A restriction that lands between a fill's question to the model
 * (hw_lp_rights) and its host mapping, on a page not mapped yet, while a
 * second thread keeps the enclave's mappings alive: the fill must ask again
 * and map the new rights, never the old ones (src/native/mmu.c, the
 * generation counter).  The restriction is made from inside hw_lp_rights
 * (wrapped at link time, mk/native-tests.mk), which is the one place that
 * window can be hit every time.
 *
 *   by mprotect(R)       the page-table notifier
 *   by EMODPR(R)         the leaf observer; made by another thread through
 *                        the RESTRICT_PERMISSIONS ioctl (ETRACK + IPIs)
 *
 * Either way the store after it is the #PF it is on hardware.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "common/native_fx.h"
#include "common/native_tsan.h"
#include "sgx2emu/native.h"

#define ENCL_SIZE 0x20000ull
#define TCS2 MINI_HOLE                     /* a second TCS, with its two SSA pages after it */
#define PAGE (MINI_DATA + 0x3000)

static struct {
	struct nfx *t;
	_Atomic uint64_t armed;            /* the page whose next fill is interrupted */
	int how;                           /* 1: mprotect, 2: EMODPR from another thread */
	_Atomic int emodpr_go;
	_Atomic uint64_t watched;          /* host mappings of this page made after the restriction */
	_Atomic int watched_prot;          /* ... the union of their protections */
	_Atomic unsigned watched_maps;
} rx;

/*
 * Every mmap the library makes (mk/native-tests.mk wraps it too): a host
 * mapping of the watched page records its protection.  Whether the store
 * later faults also depends on other threads' AEXs (the last one out takes
 * every mapping away), so the mapping itself is what the tests check.
 */
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	uint64_t page = rx.watched;
	if (page && (uint64_t)(uintptr_t)addr == page && (flags & MAP_SHARED)) {
		atomic_fetch_or(&rx.watched_prot, prot);
		rx.watched_maps++;
	}
	return __real_mmap(addr, len, prot, flags, fd, offset);
}

/* The EPCM entry of la no longer has W (EMODPR ran). */
static bool epcm_restricted(uint64_t la)
{
	struct hw_machine *m = emu_machine(rx.t->f->emu);
	for (uint32_t f = 0; f < hw_epc_frames(m); f++) {
		struct hw_epcm_entry e;
		if (hw_epcm_read(m, f, &e) && e.valid && e.enclave_address == la)
			return !e.w;
	}
	return false;
}

unsigned __real_hw_lp_rights(struct hw_lp *lp, uint64_t la, uint32_t *frame);
unsigned __wrap_hw_lp_rights(struct hw_lp *lp, uint64_t la, uint32_t *frame);

/* The model answered; before the caller maps, the restriction happens. */
unsigned __wrap_hw_lp_rights(struct hw_lp *lp, uint64_t la, uint32_t *frame)
{
	unsigned rights = __real_hw_lp_rights(lp, la, frame);
	uint64_t page = rx.armed;
	if (page && (la & SGX_PAGE_MASK) == page) {
		rx.armed = 0;
		rx.watched = page;
		if (rx.how == 1) {
			emu_mprotect(rx.t->f->proc, efx_ptr(page), SGX_PAGE_SIZE, PROT_READ);
		} else {
			/* until the EPCM says R, not until the ioctl returns: its
			 * ETRACK waits for this very LP, which is in enclave mode
			 * and takes the IPI only when this fill is done */
			rx.emodpr_go = 1;
			while (!epcm_restricted(page))
				sched_yield();
		}
	}
	return rights;
}

static void *emodpr_thread(void *p)
{
	(void)p;
	while (!rx.emodpr_go)
		sched_yield();
	struct sgx_enclave_restrict_permissions rp = { .offset = PAGE, .length = SGX_PAGE_SIZE,
						       .permissions = SGX_SECINFO_R };
	emu_ioctl(rx.t->f->proc, rx.t->e.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp);
	return NULL;
}

struct spinner {
	volatile uint64_t flag, running;   /* adjacent: the enclave gets &flag */
	int ret;
	struct sgx_enclave_run run;
};

static void *spin_thread(void *p)
{
	struct spinner *s = p;
	s->run.tcs = rx.t->e.base + TCS2;
	s->ret = mini_enter(rx.t->enter, MINI_SPIN, 0, 0, SGX_EENTER, (unsigned long)(uintptr_t)&s->flag, 0, &s->run);
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	memset(&rx, 0, sizeof(rx));
	rx.t = nfx_new(ENCL_SIZE, TCS2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nfx_free(rx.t);
	return 0;
}

static void restriction_in_the_window(int how, unsigned want_ec)
{
	if (NATIVE_UNDER_TSAN) {
		print_message("[     SKIP ] TSan defers the IPI signal while enclave code runs (common/native_tsan.h)\n");
		skip();
	}
	rx.how = how;
	nfx_start(rx.t);

	struct spinner s = { 0 };
	pthread_t spinner, other;
	assert_int_equal(pthread_create(&spinner, NULL, spin_thread, &s), 0);
	while (!s.running)
		sched_yield();
	if (how == 2)
		assert_int_equal(pthread_create(&other, NULL, emodpr_thread, NULL), 0);
	rx.armed = rx.t->e.base + PAGE;
	int ret = nfx_call(rx.t, MINI_STORE, 0x55, rx.t->e.base + PAGE + 8, NULL);
	/* what to check is recorded; the other threads stop before any assert
	 * can leave this function */
	unsigned maps = rx.watched_maps;
	int prot = rx.watched_prot;
	struct sgx_enclave_run run = rx.t->run;
	rx.watched = 0;
	if (how == 2)
		pthread_join(other, NULL);
	s.flag = 1;
	pthread_join(spinner, NULL);
	assert_int_equal(ret, 0);
	/* the fill asked again and mapped R */
	assert_true(maps >= 1);
	assert_int_equal(prot, PROT_READ);
	assert_int_equal(run.function, SGX_ERESUME);
	assert_int_equal(run.exception_vector, SGX_VEC_PF);
	assert_int_equal(run.exception_error_code, want_ec);
	assert_int_equal(run.exception_addr, rx.t->e.base + PAGE);
	assert_int_equal(s.ret, 0);
	assert_int_equal(s.run.function, SGX_EEXIT);
	uint64_t value = 1;
	assert_int_equal(nfx_call(rx.t, MINI_LOAD, 0, rx.t->e.base + PAGE + 8, &value), 0);
	assert_int_equal(rx.t->run.function, SGX_EEXIT);
	assert_int_equal(value, 0);   /* the store never happened */
}

static void mprotect_in_the_window(void **state)
{
	(void)state;
	restriction_in_the_window(1, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
}

static void emodpr_in_the_window(void **state)
{
	(void)state;
	restriction_in_the_window(2, SGX_PFEC_SGX | SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(mprotect_in_the_window, setup, teardown),
		cmocka_unit_test_setup_teardown(emodpr_in_the_window, setup, teardown),
	};
	return cmocka_run_group_tests_name("native fill races", tests, NULL, NULL);
}
