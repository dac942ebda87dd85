/*
 * Native execution's core (src/native): a tiny enclave written here in
 * machine code runs on the CPU; its ENCLUs, faults and the IPIs it receives
 * go through the model.  Each test checks what the caller of
 * __vdso_sgx_enter_enclave sees (exact run fields) and what the layer
 * counted, which tells the path taken (a page mapped, an AEX fixed by the
 * driver, an exception reported).
 *
 * The enclave is tests/common/mini_encl.h's, 128 KiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "common/native_fx.h"
#include "common/native_tsan.h"
#include "sgx2emu/native.h"

#define ENCL_SIZE 0x20000ull
#define DATA MINI_DATA
#define HOLE MINI_HOLE

static int nt_setup(void **state)
{
	*state = nfx_new(ENCL_SIZE, 0);
	return 0;
}

static int nt_teardown(void **state)
{
	nfx_free(*state);
	return 0;
}

static void assert_eexit(struct nfx *t)
{
	assert_int_equal(t->run.function, SGX_EEXIT);
	assert_int_equal(t->run.exception_vector, 0);
	assert_int_equal(t->run.exception_error_code, 0);
	assert_int_equal(t->run.exception_addr, 0);
}

static void assert_exception(struct nfx *t, unsigned vector, unsigned ec, uint64_t addr)
{
	assert_int_equal(t->run.function, SGX_ERESUME);
	assert_int_equal(t->run.exception_vector, vector);
	assert_int_equal(t->run.exception_error_code, ec);
	assert_int_equal(t->run.exception_addr, addr);
}

/* ---- host access probe: a SIGSEGV handler of "the program" ---- */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probe_signo;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	probe_signo = sig;
	siglongjmp(probe_env, 1);
}

/* Does a host read of addr fault?  Through the program's handler, which
 * native mode must call for a fault it does not own. */
static bool host_read_faults(struct nfx *t, uint64_t addr)
{
	struct sigaction old;
	nfx_handle(t, SIGSEGV, probe_handler, &old);
	probe_signo = 0;
	bool faulted;
	if (sigsetjmp(probe_env, 1)) {
		faulted = true;
	} else {
		(void)*(volatile uint64_t *)(uintptr_t)addr;
		faulted = false;
	}
	assert_int_equal(emu_native_sigaction(t->n, SIGSEGV, &old, NULL), 0);
	return faulted;
}

/* ---- tests ---- */

static void store_load_round_trip(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	uint64_t out = 0;
	assert_int_equal(nfx_call(t, MINI_STORE, 0x1122334455667788ull, t->e.base + DATA + 0x40, NULL), 0);
	assert_eexit(t);
	assert_int_equal(nfx_call(t, MINI_LOAD, 0, t->e.base + DATA + 0x40, &out), 0);
	assert_eexit(t);
	assert_int_equal(out, 0x1122334455667788ull);
	struct emu_native_stats s = nfx_stats(t);
	/* STORE: code mapped, the data page's first touch an AEX (no PTE yet)
	 * that takes the code mapping with it, ERESUME, code and data mapped.
	 * LOAD: code and data mapped.  Every mapping goes at EEXIT. */
	assert_int_equal(s.enclu_by_leaf[SGX_EENTER], 2);
	assert_int_equal(s.enclu_by_leaf[SGX_ERESUME], 1);
	assert_int_equal(s.enclu_by_leaf[SGX_EEXIT], 2);
	assert_int_equal(s.aex, 1);
	assert_int_equal(s.aex_fixed, 1);
	assert_int_equal(s.pages_mapped, 5);
	assert_int_equal(s.pages_revoked, 5);
	/* the code page is filled at each EENTER/ERESUME, so only the data
	 * accesses fault: the first one twice (its AEX, then the fill) */
	assert_int_equal(s.page_faults, 3);
	/* one per process */
	assert_ptr_equal(emu_native_current(), t->n);
	errno = 0;
	assert_null(emu_native_create(t->f->proc, NULL));
	assert_int_equal(errno, EBUSY);
	/* outside enclave mode the host has no access to EPC */
	assert_true(host_read_faults(t, t->e.base + DATA));
	assert_int_equal(probe_signo, SIGSEGV);
	assert_int_equal(nfx_stats(t).forwarded, 1);
}

static void eaccept_on_a_hole_eaugs(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	assert_ptr_not_equal(efx_encl_map(t->f, &t->e, HOLE, 4096, PROT_READ | PROT_WRITE), MAP_FAILED);
	uint64_t ret = 99;
	uint64_t flags = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PENDING;
	assert_int_equal(nfx_call(t, MINI_EACCEPT, flags, t->e.base + HOLE, &ret), 0);
	assert_eexit(t);
	assert_int_equal(ret, 0);
	struct emu_native_stats s = nfx_stats(t);
	/* Two AEXs, each retried through ERESUME: the store of the SECINFO
	 * (the data page had no PTE yet), then EACCEPT on the hole, which the
	 * driver EAUGed; EACCEPT ran twice */
	assert_int_equal(s.aex, 2);
	assert_int_equal(s.aex_fixed, 2);
	assert_int_equal(s.enclu_by_leaf[SGX_ERESUME], 2);
	assert_int_equal(s.enclu_by_leaf[SGX_EACCEPT], 2);
	uint64_t out = 0;
	assert_int_equal(nfx_call(t, MINI_STORE, 42, t->e.base + HOLE + 8, NULL), 0);
	assert_eexit(t);
	assert_int_equal(nfx_call(t, MINI_LOAD, 0, t->e.base + HOLE + 8, &out), 0);
	assert_int_equal(out, 42);
}

static void write_to_pending_page_is_reported(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	assert_ptr_not_equal(efx_encl_map(t->f, &t->e, HOLE, 4096, PROT_READ | PROT_WRITE), MAP_FAILED);
	assert_int_equal(nfx_call(t, MINI_STORE, 1, t->e.base + HOLE + 0x10, NULL), 0);
	/* EAUGed by the first fault, still PENDING at the retry: EPCM #PF */
	assert_exception(t, SGX_VEC_PF, SGX_PFEC_SGX | SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P, t->e.base + HOLE);
	struct emu_native_stats s = nfx_stats(t);
	assert_int_equal(s.aex, 2);
	assert_int_equal(s.aex_fixed, 1);
	assert_int_equal(s.exceptions_reported, 1);
}

static void write_to_read_only_pte_is_reported(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	assert_int_equal(emu_mprotect(t->f->proc, efx_ptr(t->e.base + DATA), 4096, PROT_READ), 0);
	uint64_t out = 7;
	assert_int_equal(nfx_call(t, MINI_LOAD, 0, t->e.base + DATA, &out), 0);
	assert_eexit(t);
	assert_int_equal(out, 0);
	assert_int_equal(nfx_call(t, MINI_STORE, 1, t->e.base + DATA + 8, NULL), 0);
	assert_exception(t, SGX_VEC_PF, SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P, t->e.base + DATA);
}

/* The program's SIGTRAP handler: where it ran, with what. */
static struct {
	int calls, si_code;
	uint64_t rip, trapno;
	bool in_enclave;
} trap_seen;
static struct emu_thread *trap_thread;

static void on_sigtrap(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	trap_seen.calls++;
	trap_seen.si_code = si->si_code;
	trap_seen.rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	trap_seen.trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
	trap_seen.in_enclave = hw_lp_in_enclave(emu_thread_lp(trap_thread));
}

/*
 * #UD is reported through the vDSO; #BP is a SIGTRAP, as Linux delivers it,
 * at the AEP on the AEX's state, and returning from the handler ERESUMEs
 * the enclave after the int3.
 */
static void exceptions_ud_bp_gp(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	assert_int_equal(nfx_call(t, MINI_UD2, 0, 0, NULL), 0);
	assert_exception(t, SGX_VEC_UD, 0, 0);

	struct sigaction old;
	nfx_handle(t, SIGTRAP, on_sigtrap, &old);
	memset(&trap_seen, 0, sizeof(trap_seen));
	trap_thread = t->thread;
	assert_int_equal(nfx_call(t, MINI_INT3, 0, 0, NULL), 0);
	assert_eexit(t);
	assert_int_equal(trap_seen.calls, 1);
	assert_int_equal(trap_seen.si_code, SI_KERNEL);
	assert_int_equal(trap_seen.trapno, SGX_VEC_BP);
	assert_int_equal(trap_seen.rip, (uint64_t)(uintptr_t)emu_elf_lookup(emu_native_vdso_image(t->n),
									     "__sgx2emu_vdso_enclu"));
	assert_false(trap_seen.in_enclave);
	assert_int_equal(emu_native_sigaction(t->n, SIGTRAP, &old, NULL), 0);

	/* a second reported #UD uses the last SSA frame (CSSA = NSSA): EENTER
	 * itself is #GP, reported with the leaf that faulted */
	assert_int_equal(nfx_call(t, MINI_UD2, 0, 0, NULL), 0);
	assert_exception(t, SGX_VEC_UD, 0, 0);
	assert_int_equal(nfx_call(t, MINI_EXIT, 0, 0, NULL), 0);
	assert_int_equal(t->run.function, SGX_EENTER);
	assert_int_equal(t->run.exception_vector, SGX_VEC_GP);
	assert_int_equal(t->run.exception_error_code, 0);
	assert_int_equal(t->run.exception_addr, 0);
}

/* MINI_ENCLU: RAX after the leaf (read back through MINI_LOAD). */
static uint64_t raw_enclu(struct nfx *t, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct sgx_enclave_run *run = &t->run;
	memset(run, 0, sizeof(*run));
	run->tcs = t->e.base;
	assert_int_equal(mini_enter(t->enter, MINI_ENCLU, leaf, rbx, SGX_EENTER, rcx, rdx, run), 0);
	assert_eexit(t);
	uint64_t rax = 99;
	assert_int_equal(nfx_call(t, MINI_LOAD, 0, t->e.base + MINI_RESULT, &rax), 0);
	return rax;
}

/* Copies size bytes of enclave memory at la out, through MINI_LOAD. */
static void encl_read(struct nfx *t, uint64_t la, void *buf, size_t size)
{
	for (size_t i = 0; i < size; i += 8) {
		uint64_t v;
		assert_int_equal(nfx_call(t, MINI_LOAD, 0, la + i, &v), 0);
		memcpy((uint8_t *)buf + i, &v, 8);
	}
}

static const struct sgx_secs *secs_of(struct nfx *t)
{
	struct hw_machine *m = emu_machine(t->f->emu);
	for (uint32_t f = 0; f < hw_epc_frames(m); f++) {
		struct hw_epcm_entry e;
		if (hw_epcm_read(m, f, &e) && e.valid && e.pt == SGX_PT_SECS)
			return (const struct sgx_secs *)hw_epc_page(m, f);
	}
	fail_msg("no SECS");
	return NULL;
}

/* EREPORT and EGETKEY from native code: the report names this enclave. */
static void ereport_and_egetkey(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	uint64_t targetinfo = t->e.base + MINI_DATA + 0x1000, reportdata = t->e.base + MINI_DATA + 0x1400;
	uint64_t report = t->e.base + MINI_DATA + 0x2000;
	assert_int_equal(raw_enclu(t, SGX_EREPORT, targetinfo, reportdata, report), 0);
	struct sgx_report r;
	encl_read(t, report, &r, sizeof(r));
	const struct sgx_secs *secs = secs_of(t);
	assert_memory_equal(r.body.mrenclave, secs->mrenclave, 32);
	assert_memory_equal(r.body.mrsigner, secs->mrsigner, 32);
	assert_int_equal(r.body.attributes.flags, SGX_ATTR_INIT | SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG);

	uint64_t keyreq = t->e.base + MINI_DATA + 0x3000, key = t->e.base + MINI_DATA + 0x3200;
	assert_int_equal(nfx_call(t, MINI_STORE, SGX_KEY_SEAL | (uint64_t)SGX_KEYPOLICY_MRENCLAVE << 16, keyreq, NULL), 0);
	assert_int_equal(raw_enclu(t, SGX_EGETKEY, keyreq, key, 0), 0);
	uint8_t k1[16], k2[16], zero[16] = { 0 };
	encl_read(t, key, k1, 16);
	assert_memory_not_equal(k1, zero, 16);
	assert_int_equal(raw_enclu(t, SGX_EGETKEY, keyreq, key, 0), 0);
	encl_read(t, key, k2, 16);
	assert_memory_equal(k1, k2, 16);
	/* a bad key name is the leaf's error code, with ZF */
	assert_int_equal(nfx_call(t, MINI_STORE, 9, keyreq, NULL), 0);
	assert_int_equal(raw_enclu(t, SGX_EGETKEY, keyreq, key, 0), SGX_INVALID_KEYNAME);
	assert_int_equal(nfx_stats(t).enclu_by_leaf[SGX_EGETKEY], 3);
	/* the TARGETINFO and REPORT pages had no PTE yet: two AEXs, each
	 * retried through ERESUME */
	assert_int_equal(nfx_stats(t).enclu_by_leaf[SGX_EREPORT], 3);
}

/* EACCEPTCOPY into a page EAUGed by a fault, and EMODPE from native code. */
static void eacceptcopy_and_emodpe(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	assert_ptr_not_equal(efx_encl_map(t->f, &t->e, HOLE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC), MAP_FAILED);
	/* the store EAUGs the page (first AEX) and faults on it, pending */
	assert_int_equal(nfx_call(t, MINI_STORE, 1, t->e.base + HOLE, NULL), 0);
	assert_exception(t, SGX_VEC_PF, SGX_PFEC_SGX | SGX_PFEC_U | SGX_PFEC_W | SGX_PFEC_P, t->e.base + HOLE);
	uint64_t src = t->e.base + MINI_DATA + 0x4000, secinfo = t->e.base + MINI_DATA + 0x5000;
	assert_int_equal(nfx_call(t, MINI_STORE, 0xfeedface, src + 0x18, NULL), 0);
	assert_int_equal(nfx_call(t, MINI_STORE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W, secinfo,
			      NULL), 0);
	assert_int_equal(raw_enclu(t, SGX_EACCEPTCOPY, secinfo, t->e.base + HOLE, src), 0);
	uint64_t v = 0;
	assert_int_equal(nfx_call(t, MINI_LOAD, 0, t->e.base + HOLE + 0x18, &v), 0);
	assert_eexit(t);
	assert_int_equal(v, 0xfeedface);
	/* EMODPE adds X; the page's EPCM then says RWX */
	uint64_t ret = 99;
	assert_int_equal(nfx_call(t, MINI_EMODPE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_X, t->e.base + HOLE, &ret), 0);
	assert_eexit(t);
	assert_int_equal(ret, SGX_EMODPE);   /* EMODPE leaves RAX alone: it has no error code */
	char text[256];
	assert_true(emu_inspect_page(t->f->proc, t->e.base + HOLE, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "EPCM frame"));
	assert_non_null(strstr(strstr(text, "EPCM frame"), "REG  rwx"));
}

struct spinner {
	struct nfx *t;
	volatile uint64_t flag, running;   /* adjacent: the enclave gets &flag */
	int ret;
	bool block_all;                    /* enter with every signal blocked but SIGILL (the ENCLU
					    * itself traps: a blocked SIGILL kills, docs/preload.md) */
	struct sgx_enclave_run run;
};

static void *spin_thread(void *p)
{
	struct spinner *s = p;
	s->run.tcs = s->t->e.base;
	if (s->block_all) {
		sigset_t all;
		sigfillset(&all);
		sigdelset(&all, SIGILL);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	s->ret = mini_enter(s->t->enter, MINI_SPIN, 0, 0, SGX_EENTER, (unsigned long)(uintptr_t)&s->flag, 0, &s->run);
	return NULL;
}

static void skip_under_tsan(void)
{
	if (NATIVE_UNDER_TSAN) {
		print_message("[     SKIP ] TSan defers asynchronous signals while enclave code runs "
			      "(common/native_tsan.h)\n");
		skip();
	}
}

/* An ETRACK shootdown while another thread runs enclave code: the IPI
 * reaches it as a signal, its AEX lets the ioctl finish, ERESUME goes on.
 * block_all: that thread blocks every signal, which must not matter (its
 * mask is the program's again only outside enclave mode). */
static void shootdown_while_spinning(void **state, bool block_all)
{
	struct nfx *t = *state;
	skip_under_tsan();
	nfx_start(t);
	struct spinner s = { .t = t, .block_all = block_all };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, spin_thread, &s), 0);
	while (!s.running)
		sched_yield();
	struct sgx_enclave_restrict_permissions rp = { .offset = DATA, .length = 4096, .permissions = SGX_SECINFO_R };
	int ret = emu_ioctl(t->f->proc, t->e.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp);
	/* the spinner stops before anything is asserted, and the counters are
	 * read once it has: the ioctl returns as soon as its LP left enclave
	 * mode, while its handler may still be counting the AEX */
	s.flag = 1;
	pthread_join(th, NULL);
	assert_int_equal(ret, 0);
	assert_int_equal(rp.result, 0);
	assert_int_equal(rp.count, 4096);
	struct emu_native_stats st = nfx_stats(t);
	assert_true(st.ipi_signals >= 1);
	assert_true(st.aex >= 1);
	assert_int_equal(st.aex, st.aex_fixed);
	assert_int_equal(s.ret, 0);
	assert_int_equal(s.run.function, SGX_EEXIT);
	assert_int_equal(s.run.exception_vector, 0);
}

static void ipi_interrupts_enclave_code(void **state)
{
	shootdown_while_spinning(state, false);
}

static void ipi_reaches_a_thread_that_blocks_signals(void **state)
{
	shootdown_while_spinning(state, true);
}

/* A signal of the program's arriving in enclave code: the handler runs on
 * the AEX's state (RIP = AEP, outside enclave mode), then ERESUME goes on. */
static struct {
	volatile int calls;
	uint64_t rip;
	bool in_enclave;
	struct emu_thread *thread;
} usr1_seen;

static void on_sigusr1(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	usr1_seen.rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	usr1_seen.in_enclave = hw_lp_in_enclave(emu_thread_lp(emu_current_thread()));
	usr1_seen.calls++;
}

static void program_signal_in_enclave_code(void **state)
{
	struct nfx *t = *state;
	skip_under_tsan();
	nfx_start(t);
	struct sigaction old;
	nfx_handle(t, SIGUSR1, on_sigusr1, &old);
	memset(&usr1_seen, 0, sizeof(usr1_seen));
	struct spinner s = { .t = t };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, spin_thread, &s), 0);
	while (!s.running)
		sched_yield();
	uint64_t aex_before = nfx_stats(t).aex;
	pthread_kill(th, SIGUSR1);
	while (!usr1_seen.calls)
		sched_yield();
	s.flag = 1;
	pthread_join(th, NULL);
	assert_int_equal(usr1_seen.calls, 1);
	assert_int_equal(usr1_seen.rip, (uint64_t)(uintptr_t)emu_elf_lookup(emu_native_vdso_image(t->n),
									    "__sgx2emu_vdso_enclu"));
	assert_false(usr1_seen.in_enclave);
	assert_true(nfx_stats(t).aex > aex_before);
	assert_int_equal(s.ret, 0);
	assert_int_equal(s.run.function, SGX_EEXIT);
	assert_int_equal(emu_native_sigaction(t->n, SIGUSR1, &old, NULL), 0);
}

/* The program's own use of the IPI signal reaches its handler. */
static volatile int rt_calls;
static void on_rt(int sig)
{
	(void)sig;
	rt_calls++;
}

static void program_use_of_the_ipi_signal(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt;
	assert_int_equal(emu_native_sigaction(t->n, SIGRTMAX - 2, &sa, &old), 0);
	rt_calls = 0;
	raise(SIGRTMAX - 2);
	pthread_kill(pthread_self(), SIGRTMAX - 2);
	assert_int_equal(rt_calls, 2);
	assert_int_equal(nfx_stats(t).forwarded, 2);
	assert_int_equal(emu_native_sigaction(t->n, SIGRTMAX - 2, &old, NULL), 0);
	assert_int_equal(emu_native_sigaction(t->n, SIGKILL, &sa, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

/* A handler of the program's enters the enclave (the SDK's exception path
 * does): it runs with the program's mask, not with this layer's. */
static struct nfx *handler_nt;
static int handler_function;

static void enter_from_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	handler_function = nfx_call(handler_nt, MINI_EXIT, 0, 0, NULL) == 0 ? (int)handler_nt->run.function : -1;
	siglongjmp(probe_env, 1);
}

static void handler_enters_the_enclave(void **state)
{
	struct nfx *t = *state;
	nfx_start(t);
	struct sigaction old;
	nfx_handle(t, SIGSEGV, enter_from_handler, &old);
	handler_nt = t;
	handler_function = 0;
	if (!sigsetjmp(probe_env, 1))
		(void)*(volatile uint64_t *)(uintptr_t)(t->e.base + DATA);   /* outside enclave mode: faults */
	assert_int_equal(emu_native_sigaction(t->n, SIGSEGV, &old, NULL), 0);
	assert_int_equal(handler_function, SGX_EEXIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(store_load_round_trip, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(eaccept_on_a_hole_eaugs, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(write_to_pending_page_is_reported, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(write_to_read_only_pte_is_reported, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(exceptions_ud_bp_gp, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(ereport_and_egetkey, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(eacceptcopy_and_emodpe, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(ipi_interrupts_enclave_code, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(ipi_reaches_a_thread_that_blocks_signals, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(program_signal_in_enclave_code, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(program_use_of_the_ipi_signal, nt_setup, nt_teardown),
		cmocka_unit_test_setup_teardown(handler_enters_the_enclave, nt_setup, nt_teardown),
	};
	return cmocka_run_group_tests_name("native core", tests, NULL, NULL);
}
