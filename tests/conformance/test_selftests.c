/*
 * The 16 Linux SGX selftests (tools/testing/selftests/sgx/main.c, as
 * kernel-selftests.md §6 describes them, in source order) against the
 * emulator in model mode, through the public API only: the system calls of
 * emu.h, emu_vdso_sgx_enter_enclave for the vDSO, hw_cpuid for CPUID.  Each
 * test asserts every value the upstream test asserts, with the same steps in
 * the same order; the comments name the upstream step where it helps.
 *
 * Machine.  Each test gets a fresh machine + kernel, one process and one
 * thread bound to the calling host thread (upstream forks a child per test).
 * FIXTURE_SETUP is empty upstream, so each test builds its enclave itself with
 * setup_test_encl (sgx2emu/selftest.h) and the heap size it wants.  The two
 * oversubscribed tests run on a small EPC (OVERSUB_EPC_BYTES, two sections so
 * get_total_epc_mem's walk adds them up): the heap is the whole EPC, so the
 * enclave only fits because the reclaimer evicts pages (EWB) while it is
 * built and loads them back (ELDU) as the enclave and the ioctls touch them.
 *
 * Two runs.  This file is the SGX2 machine; test_selftests_sgx1.c includes it
 * with SELFTESTS_SGX1 = 1 for a machine with CPUID.12H.0:EAX[1] clear
 * (hw_config.sgx1_only).  A conformance run must not pass by skipping, so:
 *   - on the SGX2 machine any skip upstream would take is a failure
 *     (the probe must give EINVAL, the runtime fault signatures never occur);
 *   - on the SGX1 machine the tests that need SGX2 (3, 8-16) must skip, for
 *     the reason upstream gives on such a machine (ENODEV from the probe after
 *     ASSERT ret == -1, or the CPUID check of the augment tests); a test that
 *     completes there fails.  Tests 1, 2 and 4-7 run the same on both.
 * The SGX1 run adds two tests that upstream does not have: the augment flows
 * without their CPUID gate, to pin what an SGX1 machine shows instead (a
 * plain #PF 0x6 on the write, #GP on EACCEPT).
 *
 * Native run.  test_selftests_native.c includes this file with
 * SELFTESTS_NATIVE = 1: the same tests with the same expectations, but the
 * enclave is the freestanding test_encl.elf (tests/native/encl) run on the
 * CPU (sgx2emu/native.h), entered through the native vDSO found by its
 * symbol, as upstream finds it in the real vDSO.  See load_test_encl for
 * where native execution is set up and why there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/fixture.h"
#include "sgx2emu/selftest.h"
#include "sgx2emu/emu.h"

#ifndef SELFTESTS_SGX1
#define SELFTESTS_SGX1 0
#endif
#ifndef SELFTESTS_NATIVE
#define SELFTESTS_NATIVE 0
#endif

#if SELFTESTS_NATIVE
#include "native/encl_blob.h"
#include "sgx2emu/native.h"

/* test_encl.elf as the loader's image (made once, in main). */
static const struct test_encl_image *native_image;
#endif

#define OVERSUB_EPC_BYTES (256 * 4096ull)
#define OVERSUB_EPC_SECTIONS 2

/* main.c's constants and the kernel header names it uses */
#define MAGIC  0x1122334455667788ULL
#define MAGIC2 0x8877665544332211ULL
#define PAGE_SIZE 4096ul
#define EENTER  SGX_EENTER
#define ERESUME SGX_ERESUME
#define EEXIT   SGX_EEXIT
#define SGX_SECINFO_TCS  SGX_SECINFO_PT(SGX_PT_TCS)
#define SGX_SECINFO_REG  SGX_SECINFO_PT(SGX_PT_REG)
#define SGX_SECINFO_TRIM SGX_SECINFO_PT(SGX_PT_TRIM)
#define SGX_PAGE_TYPE_TCS  SGX_PT_TCS
#define SGX_PAGE_TYPE_TRIM SGX_PT_TRIM

/* FIXTURE(enclave) */
struct self {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *thread;
	struct encl encl;
	struct sgx_enclave_run run;
	void (*body)(void **state);    /* the test, for must_skip */
#if SELFTESTS_NATIVE
	struct emu_native *native;
#endif
};

/* ---- the vDSO and call.S ---- */

/* setup_test_encl's vDSO lookup result. */
static vdso_sgx_enter_enclave_t vdso_sgx_enter_enclave = emu_vdso_sgx_enter_enclave;

/* call.S: the "unclobbered" path, which saves the callee-saved registers
 * around a call through the global pointer.  A C call preserves them by the
 * ABI, so the model keeps only the indirection. */
static __attribute__((noinline)) int sgx_enter_enclave(void *rdi, void *rsi, long rdx, uint32_t function,
							void *r8, void *r9, struct sgx_enclave_run *run)
{
	return vdso_sgx_enter_enclave((unsigned long)rdi, (unsigned long)rsi, (unsigned long)rdx, function,
				      (unsigned long)r8, (unsigned long)r9, run);
}

#if SELFTESTS_NATIVE
/* __vdso_sgx_enter_enclave of the native vDSO image. */
static vdso_sgx_enter_enclave_t native_vdso;

/*
 * The native vDSO keeps Linux's contract: RBX and RBP are preserved for the
 * caller, nothing else of the ABI is.  R12-R15 come back as the enclave left
 * them at EEXIT, and zero after an AEX that is reported (the synthetic state,
 * isa.md §3.3).  Upstream's test_sgx can call it directly from C because it
 * is built at -O0, so no value lives in R12-R15 across a call, and call.S
 * saves them on the wrapper path.  This harness is built optimised, so in
 * the native run vdso_sgx_enter_enclave is this function: the real vDSO,
 * called with the compiler told what it clobbers (R12-R15, the vector
 * registers; RBX is the asm's own scratch).  RSP is kept in RBX, which the
 * vDSO preserves; the red zone is skipped and RSP 16-byte aligned at the call,
 * with run as the 7th argument on the stack.  The model run needs none of
 * this: emu_vdso_sgx_enter_enclave is a C function.
 */
static __attribute__((noinline)) int native_vdso_call(unsigned long rdi, unsigned long rsi, unsigned long rdx,
						      unsigned int function, unsigned long r8, unsigned long r9,
						      struct sgx_enclave_run *run)
{
	/* Read before the register variables are set: a sanitizer's hook for
	 * this load is a call, which may clobber them (GCC's documented caveat
	 * for local register variables). */
	vdso_sgx_enter_enclave_t fn = native_vdso;
	register unsigned long a_rdi __asm__("rdi") = rdi;
	register unsigned long a_rsi __asm__("rsi") = rsi;
	register unsigned long a_rdx __asm__("rdx") = rdx;
	register unsigned long a_rcx __asm__("rcx") = function;
	register unsigned long a_r8 __asm__("r8") = r8;
	register unsigned long a_r9 __asm__("r9") = r9;
	register struct sgx_enclave_run *a_run __asm__("r10") = run;
	register vdso_sgx_enter_enclave_t a_fn __asm__("r11") = fn;
	unsigned long ret;
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "sub $128, %%rsp\n\t"
			 "and $-16, %%rsp\n\t"
			 "sub $8, %%rsp\n\t"
			 "push %%r10\n\t"
			 "call *%%r11\n\t"
			 "mov %%rbx, %%rsp"
			 : "=a"(ret), "+r"(a_rdi), "+r"(a_rsi), "+r"(a_rdx), "+r"(a_rcx), "+r"(a_r8), "+r"(a_r9),
			   "+r"(a_run), "+r"(a_fn)
			 :
			 : "rbx", "r12", "r13", "r14", "r15", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
			   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return (int)ret;
}
#endif

#define ENCL_CALL(op, run, clobbered) \
	((clobbered) ? vdso_sgx_enter_enclave((unsigned long)(op), 0, 0, EENTER, 0, 0, (run)) \
		     : sgx_enter_enclave((void *)(op), NULL, 0, EENTER, NULL, NULL, (run)))

#define EXPECT_EEXIT(run) do { \
		if ((run)->function != EEXIT) \
			print_error("function %u, exception 0x%02x 0x%02x 0x%016llx\n", (run)->function, \
				    (run)->exception_vector, (run)->exception_error_code, \
				    (unsigned long long)(run)->exception_addr); \
		assert_int_equal((run)->function, EEXIT); \
	} while (0)

#define EXPECT_NO_EXCEPTION(run) do { \
		assert_int_equal((run)->exception_vector, 0); \
		assert_int_equal((run)->exception_error_code, 0); \
		assert_int_equal((run)->exception_addr, 0); \
	} while (0)

/* "Entered normally": returned 0 (checked by the caller), EEXIT, no exception. */
#define EXPECT_NORMAL(run) do { \
		EXPECT_EEXIT(run); \
		EXPECT_NO_EXCEPTION(run); \
	} while (0)

#define CLEAR_EXCEPTION(run) do { \
		(run)->exception_vector = 0; \
		(run)->exception_error_code = 0; \
		(run)->exception_addr = 0; \
	} while (0)

/* SKIP(statement, reason): where upstream skips.  Only right on the SGX1
 * machine; on the SGX2 machine it means the emulator lacks something. */
#define SKIP(statement, reason) do { \
		if (!SELFTESTS_SGX1) \
			fail_msg("would skip on an SGX2 machine: %s", reason); \
		print_message("[     SKIP ] %s\n", reason); \
		statement; \
		skip(); \
	} while (0)

/* ---- main.c's helpers ---- */

static struct hw_machine *machine(struct self *self)
{
	return emu_machine(self->emu);
}

static bool sgx2_supported(struct self *self)
{
	uint32_t r[4];
	hw_cpuid(machine(self), 0x12, 0, r);
	return r[0] & 2;
}

static unsigned long get_total_epc_mem(struct self *self)
{
	unsigned long total_size = 0;
	for (uint32_t section = 0;; section++) {
		uint32_t r[4];
		hw_cpuid(machine(self), 0x12, 2 + section, r);
		if ((r[0] & 0xf) != 1)     /* 0: no more sections; anything else is not an EPC section */
			break;
		total_size += ((unsigned long)(r[3] & 0xfffff) << 32) | (r[2] & 0xfffff000);
	}
	return total_size;
}

static int encl_ioctl(struct self *self, unsigned long cmd, void *arg)
{
	return emu_ioctl(self->proc, self->encl.fd, cmd, arg);
}

static size_t total_size_of(struct self *self)
{
	size_t total_size = 0;
	for (unsigned i = 0; i < self->encl.nr_segments; i++)
		total_size += self->encl.segment_tbl[i].size;
	return total_size;
}

static int test_handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9, struct sgx_enclave_run *run)
{
	(void)rdi, (void)rsi, (void)rdx, (void)ursp, (void)r8, (void)r9;
	run->user_data = 0;
	return 0;
}

/* The SGX2 probe with a zeroed struct.  tcs_permissions and epcm_permissions
 * ASSERT ret == -1 before looking at errno (assert_ret), the others EXPECT it
 * after the skips. */
#define SGX2_PROBE(self, cmd, ioc, name, assert_ret) do { \
		memset(&(ioc), 0, sizeof(ioc)); \
		int probe_ret = encl_ioctl((self), (cmd), &(ioc)); \
		int probe_errno = probe_ret == -1 ? errno : 0; \
		if (assert_ret) \
			assert_int_equal(probe_ret, -1); \
		/* upstream skips ("Kernel does not support " name " ioctl()"); \
		 * the emulator is a kernel that has it */ \
		if (probe_ret == -1 && probe_errno == ENOTTY) \
			fail_msg("ENOTTY from " name); \
		else if (probe_ret == -1 && probe_errno == ENODEV) \
			SKIP(, "System does not support SGX2"); \
		assert_int_equal(probe_ret, -1); \
		/* what else upstream accepts: in practice EINVAL (length 0) */ \
		assert_int_equal(probe_errno, EINVAL); \
	} while (0)

#define PROBE_RESTRICT(self) do { \
		struct sgx_enclave_restrict_permissions probe_ioc; \
		SGX2_PROBE(self, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, probe_ioc, \
			   "SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS", true); \
	} while (0)
#define PROBE_MODT(self) do { \
		struct sgx_enclave_modify_types probe_ioc; \
		SGX2_PROBE(self, SGX_IOC_ENCLAVE_MODIFY_TYPES, probe_ioc, "SGX_IOC_ENCLAVE_MODIFY_TYPES", false); \
	} while (0)

/*
 * setup_test_encl for the run: the model's image, or in the native run
 * test_encl.elf, with native execution set up first and the vDSO looked up
 * in its image.
 *
 * Why here, in the test body, and not in the machine's setup fixture:
 * cmocka 1.1 installs its own handlers of SIGFPE, SIGILL, SIGSEGV, SIGBUS
 * and SIGSYS (signal()) around each test and each fixture and puts back what
 * was there before when that function returns.  Handlers installed by
 * emu_native_create in a fixture would be undone when the fixture returns
 * and then covered by cmocka's during the test.  Installed in the test body,
 * they stay for the test and take cmocka's handlers as the program's (so a
 * crash of host code still fails the test through cmocka); cmocka undoes
 * them when the test returns, and teardown's emu_native_destroy puts back
 * the ones it found.  Every test calls this before its first ENCL_CALL.
 */
static bool load_test_encl(struct self *self, size_t heap_size)
{
#if SELFTESTS_NATIVE
	assert_null(self->native);
	self->native = emu_native_create(self->proc, NULL);
	if (!self->native)
		fail_msg("emu_native_create: %s", strerror(errno));
	native_vdso = (vdso_sgx_enter_enclave_t)emu_elf_lookup(emu_native_vdso_image(self->native),
							       "__vdso_sgx_enter_enclave");
	assert_non_null(native_vdso);
	vdso_sgx_enter_enclave = native_vdso_call;
	return setup_test_encl_image(self->proc, native_image, heap_size, &self->encl);
#else
	return setup_test_encl(self->proc, heap_size, &self->encl);
#endif
}

/* The common prologue: setup_test_encl, zero run, TCS #1. */
static void setup_default(struct self *self, size_t heap_size)
{
	assert_true(load_test_encl(self, heap_size));
	memset(&self->run, 0, sizeof(self->run));
	self->run.tcs = self->encl.encl_base;
}

static uint64_t data_start_of(struct self *self)
{
	return self->encl.encl_base + encl_get_data_offset(&self->encl) + PAGE_SIZE;
}

/* PUT_TO_ADDRESS(value, addr) then GET_FROM_ADDRESS(addr) == value, both
 * entered normally through the direct vDSO call. */
static void put_get_addr(struct self *self, uint64_t addr, uint64_t value)
{
	struct encl_op_put_to_addr put_addr_op = { { ENCL_OP_PUT_TO_ADDRESS }, value, addr };
	assert_int_equal(ENCL_CALL(&put_addr_op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);

	struct encl_op_get_from_addr get_addr_op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, addr };
	assert_int_equal(ENCL_CALL(&get_addr_op, &self->run, true), 0);
	assert_int_equal(get_addr_op.value, value);
	EXPECT_NORMAL(&self->run);
}

/* EACCEPT(addr, flags) entered normally with ret 0. */
static void eaccept_ok(struct self *self, uint64_t addr, uint64_t flags)
{
	struct encl_op_eaccept eaccept_op = { { ENCL_OP_EACCEPT }, addr, flags, 0 };
	assert_int_equal(ENCL_CALL(&eaccept_op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);
	assert_int_equal(eaccept_op.ret, 0);
}

/* MODIFY_TYPES(offset, length, type): ret 0, errno 0, result 0, count length. */
static void modify_types_ok(struct self *self, uint64_t offset, uint64_t length, uint64_t page_type)
{
	struct sgx_enclave_modify_types modt_ioc;
	memset(&modt_ioc, 0, sizeof(modt_ioc));
	modt_ioc.offset = offset;
	modt_ioc.length = length;
	modt_ioc.page_type = page_type;
	int ret = encl_ioctl(self, SGX_IOC_ENCLAVE_MODIFY_TYPES, &modt_ioc);
	int errno_save = ret == -1 ? errno : 0;
	assert_int_equal(ret, 0);
	assert_int_equal(errno_save, 0);
	assert_int_equal(modt_ioc.result, 0);
	assert_int_equal(modt_ioc.count, length);
}

/* REMOVE_PAGES(offset, length): ret, errno, count as given. */
static void remove_pages(struct self *self, uint64_t offset, uint64_t length, int want_ret, int want_errno,
			 uint64_t want_count)
{
	struct sgx_enclave_remove_pages remove_ioc;
	memset(&remove_ioc, 0, sizeof(remove_ioc));
	remove_ioc.offset = offset;
	remove_ioc.length = length;
	int ret = encl_ioctl(self, SGX_IOC_ENCLAVE_REMOVE_PAGES, &remove_ioc);
	int errno_save = ret == -1 ? errno : 0;
	assert_int_equal(ret, want_ret);
	assert_int_equal(errno_save, want_errno);
	assert_int_equal(remove_ioc.count, want_count);
}

/* ---- tests 1-6: entry, the vDSO, oversubscription ---- */

/* Test 1 (and the run of test 2/3 after setup): PUT/GET of MAGIC through
 * the buffer, wrapper or direct. */
static void put_get_buffer(struct self *self, bool clobbered)
{
	struct encl_op_put_to_buf put_op = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC };
	assert_int_equal(ENCL_CALL(&put_op, &self->run, clobbered), 0);
	EXPECT_EEXIT(&self->run);
	assert_int_equal(self->run.user_data, 0);

	struct encl_op_get_from_buf get_op = { { ENCL_OP_GET_FROM_BUFFER }, 0 };
	assert_int_equal(ENCL_CALL(&get_op, &self->run, clobbered), 0);
	assert_int_equal(get_op.value, MAGIC);
	EXPECT_EEXIT(&self->run);
	assert_int_equal(self->run.user_data, 0);
}

static void unclobbered_vdso(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	put_get_buffer(self, false);
}

/* Not upstream: the oversubscribed tests did oversubscribe (pages written
 * back and loaded again, none left resident by a failed EWB). */
static void expect_reclaimed(struct self *self)
{
	struct emu_reclaim_stats st;
	emu_reclaim_stats(self->emu, &st);
	assert_true(st.ewb > 0);
	assert_true(st.eldu > 0);
	assert_int_equal(st.ewb_failed, 0);
}

static void unclobbered_vdso_oversubscribed(void **state)
{
	struct self *self = *state;
	unsigned long total_mem = get_total_epc_mem(self);
	assert_int_not_equal(total_mem, 0);
	assert_int_equal(total_mem, OVERSUB_EPC_BYTES);   /* the sections add up */
	setup_default(self, total_mem);
	assert_true(self->encl.encl_size > OVERSUB_EPC_BYTES);
	put_get_buffer(self, false);
	expect_reclaimed(self);
}

static void unclobbered_vdso_oversubscribed_remove(void **state)
{
	struct self *self = *state;
	unsigned long total_mem = get_total_epc_mem(self);
	assert_int_not_equal(total_mem, 0);
	print_message("Creating an enclave with %lu bytes heap may take a while ...\n", total_mem);
	assert_true(load_test_encl(self, total_mem));
	PROBE_MODT(self);

	memset(&self->run, 0, sizeof(self->run));
	self->run.tcs = self->encl.encl_base;
	const struct encl_segment *heap = &self->encl.segment_tbl[self->encl.nr_segments - 1];
	put_get_buffer(self, false);

	/* Trim the entire heap. */
	modify_types_ok(self, (uint64_t)heap->offset, heap->size, SGX_PAGE_TYPE_TRIM);

	/* EACCEPT every removed page. */
	uint64_t addr = self->encl.encl_base + (uint64_t)heap->offset;
	struct encl_op_eaccept eaccept_op = { { ENCL_OP_EACCEPT }, 0, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED, 0 };
	for (uint64_t i = 0; i < heap->size; i += 4096) {
		eaccept_op.epc_addr = addr + i;
		eaccept_op.ret = 0;
		assert_int_equal(ENCL_CALL(&eaccept_op, &self->run, true), 0);
		EXPECT_NO_EXCEPTION(&self->run);
		assert_int_equal(eaccept_op.ret, 0);
		assert_int_equal(self->run.function, EEXIT);
	}

	/* Complete the removal. */
	remove_pages(self, (uint64_t)heap->offset, heap->size, 0, 0, heap->size);
	expect_reclaimed(self);
}

static void clobbered_vdso(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	put_get_buffer(self, true);
}

static void clobbered_vdso_and_user_function(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	self->run.user_handler = (uint64_t)(uintptr_t)test_handler;
	self->run.user_data = 0xdeadbeef;
	/* user_data 0 after each call proves the handler ran */
	put_get_buffer(self, true);
}

static void tcs_entry(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	struct encl_op_header op = { ENCL_OP_NOP };
	assert_int_equal(ENCL_CALL(&op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);

	/* Move to the next TCS. */
	self->run.tcs = self->encl.encl_base + PAGE_SIZE;
	assert_int_equal(ENCL_CALL(&op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);
}

/* ---- test 7: PTE permissions (SGX1) ---- */

static void pte_permissions(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	uint64_t data_start = data_start_of(self);

	/* Writing to and reading from the page works. */
	put_get_addr(self, data_start, MAGIC);

	/* PTE read-only, EPCM still RW: the write faults on the PTE. */
	if (emu_mprotect(self->proc, (void *)(uintptr_t)data_start, PAGE_SIZE, PROT_READ))
		perror("mprotect");
	struct encl_op_put_to_addr put_addr_op = { { ENCL_OP_PUT_TO_ADDRESS }, MAGIC2, data_start };
	assert_int_equal(ENCL_CALL(&put_addr_op, &self->run, true), 0);
	assert_int_equal(self->run.exception_vector, 14);
	assert_int_equal(self->run.exception_error_code, 0x7);
	assert_int_equal(self->run.exception_addr, data_start);
	CLEAR_EXCEPTION(&self->run);

	/* PTE writable again: ERESUME re-executes the store. */
	if (emu_mprotect(self->proc, (void *)(uintptr_t)data_start, PAGE_SIZE, PROT_READ | PROT_WRITE))
		perror("mprotect");
	assert_int_equal(vdso_sgx_enter_enclave((unsigned long)&put_addr_op, 0, 0, ERESUME, 0, 0, &self->run), 0);
	EXPECT_NORMAL(&self->run);

	struct encl_op_get_from_addr get_addr_op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, data_start };
	assert_int_equal(ENCL_CALL(&get_addr_op, &self->run, true), 0);
	assert_int_equal(get_addr_op.value, MAGIC2);
	EXPECT_NORMAL(&self->run);
}

/* ---- tests 8-9: EPCM permissions (SGX2) ---- */

static void tcs_permissions(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	PROBE_RESTRICT(self);

	/* Making the TCS page read-only is refused. */
	struct sgx_enclave_restrict_permissions ioc;
	memset(&ioc, 0, sizeof(ioc));
	ioc.offset = encl_get_tcs_offset(&self->encl);
	ioc.length = PAGE_SIZE;
	ioc.permissions = SGX_SECINFO_R;
	int ret = encl_ioctl(self, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &ioc);
	int errno_save = ret == -1 ? errno : 0;
	assert_int_equal(ret, -1);
	assert_int_equal(errno_save, EINVAL);
	assert_int_equal(ioc.result, 0);
	assert_int_equal(ioc.count, 0);
}

static void epcm_permissions(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	PROBE_RESTRICT(self);
	uint64_t data_start = data_start_of(self);
	put_get_addr(self, data_start, MAGIC);

	/* EPCM read-only from the kernel ... */
	struct sgx_enclave_restrict_permissions restrict_ioc;
	memset(&restrict_ioc, 0, sizeof(restrict_ioc));
	restrict_ioc.offset = encl_get_data_offset(&self->encl) + PAGE_SIZE;
	restrict_ioc.length = PAGE_SIZE;
	restrict_ioc.permissions = SGX_SECINFO_R;
	int ret = encl_ioctl(self, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &restrict_ioc);
	int errno_save = ret == -1 ? errno : 0;
	assert_int_equal(ret, 0);
	assert_int_equal(errno_save, 0);
	assert_int_equal(restrict_ioc.result, 0);
	assert_int_equal(restrict_ioc.count, 4096);

	/* ... accepted by the enclave. */
	eaccept_ok(self, data_start, SGX_SECINFO_R | SGX_SECINFO_REG | SGX_SECINFO_PR);

	/* A write now faults on the EPCM. */
	struct encl_op_put_to_addr put_addr_op = { { ENCL_OP_PUT_TO_ADDRESS }, MAGIC2, data_start };
	assert_int_equal(ENCL_CALL(&put_addr_op, &self->run, true), 0);
	assert_int_equal(self->run.function, ERESUME);
	assert_int_equal(self->run.exception_vector, 14);
	assert_int_equal(self->run.exception_error_code, 0x8007);
	assert_int_equal(self->run.exception_addr, data_start);
	CLEAR_EXCEPTION(&self->run);

	/* TCS #1 is suspended (NSSA 1): fix the permissions through TCS #2. */
	self->run.tcs = self->encl.encl_base + PAGE_SIZE;
	struct encl_op_emodpe emodpe_op = { { ENCL_OP_EMODPE }, data_start, SGX_SECINFO_R | SGX_SECINFO_W };
	assert_int_equal(ENCL_CALL(&emodpe_op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);

	/* Resume TCS #1 at the faulting store. */
	self->run.tcs = self->encl.encl_base;
	assert_int_equal(vdso_sgx_enter_enclave((unsigned long)&put_addr_op, 0, 0, ERESUME, 0, 0, &self->run), 0);
	EXPECT_NORMAL(&self->run);

	struct encl_op_get_from_addr get_addr_op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, data_start };
	assert_int_equal(ENCL_CALL(&get_addr_op, &self->run, true), 0);
	assert_int_equal(get_addr_op.value, MAGIC2);
	EXPECT_EEXIT(&self->run);
	assert_int_equal(self->run.user_data, 0);
	EXPECT_NO_EXCEPTION(&self->run);
}

/* ---- tests 10-12: EAUG ---- */

/* The mapping after the image used by the augment tests. */
static void *map_after_image(struct self *self, size_t total_size, size_t len, int prot)
{
	void *addr = emu_mmap(self->proc, (void *)(uintptr_t)(self->encl.encl_base + total_size), len, prot,
			      MAP_SHARED | MAP_FIXED, self->encl.fd, 0);
	assert_ptr_not_equal(addr, MAP_FAILED);
	return addr;
}

/*
 * The start of the augment tests: upstream's skip where the CPU has no SGX2,
 * then the default enclave with one RWX page mapped after the image and the
 * exception fields cleared.  Returns that mapping; *total_size is the
 * image's size (the page's offset).  Asserts each step.
 */
static void *augment_setup(struct self *self, size_t *total_size)
{
	if (!sgx2_supported(self))
		SKIP(, "SGX2 not supported");
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	*total_size = total_size_of(self);
	assert_true(*total_size + PAGE_SIZE < self->encl.encl_size);
	void *addr = map_after_image(self, *total_size, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	CLEAR_EXCEPTION(&self->run);
	return addr;
}

/*
 * eaccept_ok() for the first EACCEPT of a page the kernel must add on the
 * #PF: upstream's skip when it cannot (the #PF, error code 4, at addr
 * reaches the caller), releasing the mapping map, len first.  Otherwise a
 * normal EEXIT and EACCEPT's 0 are asserted.
 */
static void eaccept_added_ok(struct self *self, uint64_t addr, uint64_t flags, void *map, size_t len)
{
	struct encl_op_eaccept eaccept_op = { { ENCL_OP_EACCEPT }, addr, flags, 0 };
	assert_int_equal(ENCL_CALL(&eaccept_op, &self->run, true), 0);
	if (self->run.exception_vector == 14 && self->run.exception_error_code == 4 &&
	    self->run.exception_addr == addr)
		SKIP(emu_munmap(self->proc, map, len),
		     "Kernel does not support adding pages to initialized enclave");
	EXPECT_NORMAL(&self->run);
	assert_int_equal(eaccept_op.ret, 0);
}

static void augment(void **state)
{
	struct self *self = *state;
	size_t total_size;
	void *addr = augment_setup(self, &total_size);

	/* The first #PF EAUGs the page; the retried store then hits the
	 * PENDING page: the second #PF, with the SGX bit, is what is reported. */
	struct encl_op_put_to_addr put_addr_op = { { ENCL_OP_PUT_TO_ADDRESS }, MAGIC, (uintptr_t)addr };
	assert_int_equal(ENCL_CALL(&put_addr_op, &self->run, true), 0);
	assert_int_equal(self->run.function, ERESUME);
	assert_int_equal(self->run.exception_vector, 14);
	assert_int_equal(self->run.exception_addr, (uintptr_t)addr);
	if (self->run.exception_error_code == 0x6)
		SKIP(emu_munmap(self->proc, addr, PAGE_SIZE),
		     "Kernel does not support adding pages to initialized enclave");
	assert_int_equal(self->run.exception_error_code, 0x8007);
	CLEAR_EXCEPTION(&self->run);

	/* EACCEPT from TCS #2 ... */
	self->run.tcs = self->encl.encl_base + PAGE_SIZE;
	eaccept_ok(self, self->encl.encl_base + total_size,
		   SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_REG | SGX_SECINFO_PENDING);

	/* ... then resume TCS #1's store. */
	self->run.tcs = self->encl.encl_base;
	assert_int_equal(vdso_sgx_enter_enclave((unsigned long)&put_addr_op, 0, 0, ERESUME, 0, 0, &self->run), 0);
	EXPECT_NORMAL(&self->run);

	struct encl_op_get_from_addr get_addr_op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, (uintptr_t)addr };
	assert_int_equal(ENCL_CALL(&get_addr_op, &self->run, true), 0);
	assert_int_equal(get_addr_op.value, MAGIC);
	EXPECT_NORMAL(&self->run);
	emu_munmap(self->proc, addr, PAGE_SIZE);
}

static void augment_via_eaccept(void **state)
{
	struct self *self = *state;
	size_t total_size;
	void *addr = augment_setup(self, &total_size);

	/* #PF → EAUG → EACCEPT again, all invisible to the caller. */
	eaccept_added_ok(self, self->encl.encl_base + total_size,
			 SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_REG | SGX_SECINFO_PENDING, addr, PAGE_SIZE);

	put_get_addr(self, (uintptr_t)addr, MAGIC);
	emu_munmap(self->proc, addr, PAGE_SIZE);
}

static void tcs_create(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	PROBE_MODT(self);

	memset(&self->run, 0, sizeof(self->run));
	self->run.tcs = self->encl.encl_base;
	size_t total_size = total_size_of(self);
	assert_true(total_size + 3 * PAGE_SIZE < self->encl.encl_size);
	void *addr = map_after_image(self, total_size, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	CLEAR_EXCEPTION(&self->run);

	uint64_t stack_end = self->encl.encl_base + total_size;
	uint64_t tcs = stack_end + PAGE_SIZE;
	uint64_t ssa = stack_end + 2 * PAGE_SIZE;
	const uint64_t pending = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_REG | SGX_SECINFO_PENDING;

	/* The stack, SSA and TCS pages, accepted as regular pages. */
	eaccept_added_ok(self, stack_end, pending, addr, 3 * PAGE_SIZE);
	eaccept_ok(self, ssa, pending);
	eaccept_ok(self, tcs, pending);

	/* The TCS image, written by the enclave. */
	uint64_t val_64 = encl_get_entry(&self->encl, "encl_dyn_entry");
	assert_int_not_equal(val_64, 0);
	struct encl_op_init_tcs_page init_tcs_page_op = { { ENCL_OP_INIT_TCS_PAGE }, tcs,
							  (uint64_t)total_size + 2 * PAGE_SIZE, val_64 };
	assert_int_equal(ENCL_CALL(&init_tcs_page_op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);

	/* REG → TCS, accepted as TCS|MODIFIED. */
	modify_types_ok(self, total_size + PAGE_SIZE, PAGE_SIZE, SGX_PAGE_TYPE_TCS);
	eaccept_ok(self, tcs, SGX_SECINFO_TCS | SGX_SECINFO_MODIFIED);

	/* A workload through the new TCS. */
	self->run.tcs = tcs;
	struct encl_op_put_to_buf put_buf_op = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC };
	assert_int_equal(ENCL_CALL(&put_buf_op, &self->run, true), 0);
	EXPECT_NORMAL(&self->run);
	struct encl_op_get_from_buf get_buf_op = { { ENCL_OP_GET_FROM_BUFFER }, 0 };
	assert_int_equal(ENCL_CALL(&get_buf_op, &self->run, true), 0);
	assert_int_equal(get_buf_op.value, MAGIC);
	EXPECT_NORMAL(&self->run);

	/* Phase 2: remove the three pages and reuse the TCS's address as a
	 * regular page. */
	modify_types_ok(self, total_size, 3 * PAGE_SIZE, SGX_PAGE_TYPE_TRIM);
	self->run.tcs = self->encl.encl_base;
	eaccept_ok(self, stack_end, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED);
	eaccept_ok(self, tcs, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED);
	eaccept_ok(self, ssa, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED);
	remove_pages(self, total_size, 3 * PAGE_SIZE, 0, 0, 3 * PAGE_SIZE);

	/* EAUG again where the TCS was. */
	eaccept_ok(self, tcs, pending);
	put_get_addr(self, tcs, MAGIC);
	emu_munmap(self->proc, addr, 3 * PAGE_SIZE);
}

/* ---- tests 13-16: page removal ---- */

/* The first steps of tests 13-15: setup, probe, PUT/GET at data_start, TRIM. */
static uint64_t trim_data_page(struct self *self)
{
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	PROBE_MODT(self);
	uint64_t data_start = data_start_of(self);
	put_get_addr(self, data_start, MAGIC);
	modify_types_ok(self, encl_get_data_offset(&self->encl) + PAGE_SIZE, PAGE_SIZE, SGX_PAGE_TYPE_TRIM);
	return data_start;
}

static void remove_added_page_no_eaccept(void **state)
{
	struct self *self = *state;
	trim_data_page(self);
	/* No EACCEPT: the removal is not permitted. */
	remove_pages(self, encl_get_data_offset(&self->encl) + PAGE_SIZE, PAGE_SIZE, -1, EPERM, 0);
}

/* A read of the trimmed page faults on the EPCM. */
static void expect_trimmed_read_faults(struct self *self, uint64_t data_start)
{
	struct encl_op_get_from_addr get_addr_op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, data_start };
	assert_int_equal(ENCL_CALL(&get_addr_op, &self->run, true), 0);
	assert_int_equal(self->run.function, ERESUME);
	assert_int_equal(self->run.exception_vector, 14);
	assert_int_equal(self->run.exception_error_code, 0x8005);
	assert_int_equal(self->run.exception_addr, data_start);
}

static void remove_added_page_invalid_access(void **state)
{
	struct self *self = *state;
	uint64_t data_start = trim_data_page(self);
	expect_trimmed_read_faults(self, data_start);
}

static void remove_added_page_invalid_access_after_eaccept(void **state)
{
	struct self *self = *state;
	uint64_t data_start = trim_data_page(self);
	eaccept_ok(self, data_start, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED);
	/* No REMOVE_PAGES. */
	expect_trimmed_read_faults(self, data_start);
}

static void remove_untouched_page(void **state)
{
	struct self *self = *state;
	assert_true(load_test_encl(self, ENCL_HEAP_SIZE_DEFAULT));
	PROBE_MODT(self);
	memset(&self->run, 0, sizeof(self->run));
	self->run.tcs = self->encl.encl_base;
	uint64_t data_start = data_start_of(self);

	/* Never touched: no PTE for data_start until EACCEPT faults it in. */
	modify_types_ok(self, encl_get_data_offset(&self->encl) + PAGE_SIZE, PAGE_SIZE, SGX_PAGE_TYPE_TRIM);
	eaccept_ok(self, data_start, SGX_SECINFO_TRIM | SGX_SECINFO_MODIFIED);
	remove_pages(self, encl_get_data_offset(&self->encl) + PAGE_SIZE, PAGE_SIZE, 0, 0, PAGE_SIZE);
}

/* ---- SGX1 machine only: the augment flows without their CPUID gate ---- */

/* The write to an unbacked page: no EAUG, so the fault handler's SIGBUS
 * reaches the vDSO as the plain not-present write #PF (0x6) upstream's
 * augment takes as "the kernel cannot add pages". */
static __attribute__((unused)) void sgx1_augment_write_faults_0x6(void **state)
{
	struct self *self = *state;
	assert_false(sgx2_supported(self));
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	size_t total_size = total_size_of(self);
	void *addr = map_after_image(self, total_size, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	struct encl_op_put_to_addr put_addr_op = { { ENCL_OP_PUT_TO_ADDRESS }, MAGIC, (uintptr_t)addr };
	assert_int_equal(ENCL_CALL(&put_addr_op, &self->run, true), 0);
	assert_int_equal(self->run.function, ERESUME);
	assert_int_equal(self->run.exception_vector, 14);
	assert_int_equal(self->run.exception_error_code, 0x6);
	assert_int_equal(self->run.exception_addr, (uintptr_t)addr);
	emu_munmap(self->proc, addr, PAGE_SIZE);
}

/* EACCEPT is not a leaf of an SGX1 CPU: #GP(0) inside the enclave, reported
 * as vector 13 with error code and address 0, before any access to the
 * target page (so never upstream's (14, 4, page) signature). */
static __attribute__((unused)) void sgx1_eaccept_is_gp(void **state)
{
	struct self *self = *state;
	setup_default(self, ENCL_HEAP_SIZE_DEFAULT);
	size_t total_size = total_size_of(self);
	void *addr = map_after_image(self, total_size, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	struct encl_op_eaccept eaccept_op = { { ENCL_OP_EACCEPT }, self->encl.encl_base + total_size,
					      SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_REG | SGX_SECINFO_PENDING,
					      0x5a5a };
	assert_int_equal(ENCL_CALL(&eaccept_op, &self->run, true), 0);
	assert_int_equal(self->run.function, ERESUME);
	assert_int_equal(self->run.exception_vector, 13);
	assert_int_equal(self->run.exception_error_code, 0);
	assert_int_equal(self->run.exception_addr, 0);
	assert_int_equal(eaccept_op.ret, 0x5a5a);   /* the handler never got to store RAX */
	emu_munmap(self->proc, addr, PAGE_SIZE);
}

/* ---- the machine ---- */

static int machine_setup(void **state, bool small_epc)
{
	struct self *self = calloc(1, sizeof(*self));
	assert_non_null(self);
	self->body = (void (*)(void **))*state;   /* prestate: the test, for must_skip */
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.sgx1_only = SELFTESTS_SGX1;
	if (small_epc) {
		cfg.hw.epc_bytes = OVERSUB_EPC_BYTES;
		cfg.hw.epc_sections = OVERSUB_EPC_SECTIONS;
	}
	self->emu = emu_create(&cfg);
	assert_non_null(self->emu);
	self->proc = emu_proc_create(self->emu);
	assert_non_null(self->proc);
	self->thread = emu_thread_create(self->proc);
	assert_non_null(self->thread);
	emu_thread_bind(self->thread);
	*state = self;
	return 0;
}

static int setup(void **state)
{
	return machine_setup(state, false);
}

static int setup_small_epc(void **state)
{
	return machine_setup(state, true);
}

/* FIXTURE_TEARDOWN: encl_delete; then the machine goes (native execution
 * before the process it stands for). */
static int teardown(void **state)
{
	struct self *self = *state;
	encl_delete(&self->encl);
#if SELFTESTS_NATIVE
	emu_native_destroy(self->native);
	native_vdso = NULL;   /* it was in the image that went */
#endif
	emu_thread_bind(NULL);
	emu_thread_destroy(self->thread);
	emu_proc_exit(self->proc);
	emu_destroy(self->emu);
	free(self);
	return 0;
}

/* On the SGX1 machine a test that needs SGX2 must skip (skip() leaves through
 * cmocka's longjmp); getting to the end is a failure. */
static __attribute__((unused)) void must_skip(void **state)
{
	struct self *self = *state;
	self->body(state);
	fail_msg("completed on an SGX1 machine: it should have skipped");
}

/* Each test gets its own machine; the prestate carries the test for must_skip. */
#define TEST_ENTRY(fn, run, set_up) { .name = #fn, .test_func = (run), .setup_func = (set_up), \
				      .teardown_func = teardown, .initial_state = (void *)(fn) }
#define T(fn) TEST_ENTRY(fn, fn, setup)
#define T_SMALL(fn) TEST_ENTRY(fn, fn, setup_small_epc)
/* A test upstream skips on an SGX1 machine: there it must skip. */
#define T_SGX2(fn) TEST_ENTRY(fn, SELFTESTS_SGX1 ? must_skip : (fn), setup)
#define T_SGX2_SMALL(fn) TEST_ENTRY(fn, SELFTESTS_SGX1 ? must_skip : (fn), setup_small_epc)

int main(void)
{
#if SELFTESTS_NATIVE
	native_image = test_encl_image_from_elf(test_encl_elf_start, test_encl_elf_size());
	if (!native_image)
		return 1;
#endif
	const struct CMUnitTest tests[] = {
		T(unclobbered_vdso),
		T_SMALL(unclobbered_vdso_oversubscribed),
		T_SGX2_SMALL(unclobbered_vdso_oversubscribed_remove),
		T(clobbered_vdso),
		T(clobbered_vdso_and_user_function),
		T(tcs_entry),
		T(pte_permissions),
		T_SGX2(tcs_permissions),
		T_SGX2(epcm_permissions),
		T_SGX2(augment),
		T_SGX2(augment_via_eaccept),
		T_SGX2(tcs_create),
		T_SGX2(remove_added_page_no_eaccept),
		T_SGX2(remove_added_page_invalid_access),
		T_SGX2(remove_added_page_invalid_access_after_eaccept),
		T_SGX2(remove_untouched_page),
#if SELFTESTS_SGX1
		T(sgx1_augment_write_faults_0x6),
		T(sgx1_eaccept_is_gp),
#endif
	};
#if SELFTESTS_NATIVE
	int failed = cmocka_run_group_tests_name("selftests, native", tests, NULL, NULL);
	test_encl_image_free(native_image);
	return failed;
#else
	return cmocka_run_group_tests_name(SELFTESTS_SGX1 ? "selftests on an SGX1 machine" : "selftests",
					   tests, NULL, NULL);
#endif
}
