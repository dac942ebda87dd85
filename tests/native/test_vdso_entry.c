/*
 * __vdso_sgx_enter_enclave of the native vDSO image (src/native/vdso/enter.S)
 * against its contract (docs: linux-driver.md §1.6), with this file's own
 * SIGILL handler playing the CPU and no native layer involved: the caller's
 * registers and what the ENCLU sees, the -EINVAL paths, EEXIT, ERESUME, the
 * exception fixup, and the user handler (its arguments, its result as the
 * next leaf or the return value, and the checks on the leaf it asks for).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "common/fixture.h"
#include "native/vdso_fx.h"

#define TCS       0x7f0000001000ull
#define DF        0x400ull   /* EFLAGS.DF */
#define SENTINEL_VEC  0x1234
#define SENTINEL_ERR  0x5678
#define SENTINEL_ADDR 0x9abcdef0ull

/* ---- calling it as an assembly caller does ---- */

/*
 * Calls fn like an assembly caller would: loads RBX, RBP, R12-R15 with
 * chosen values and the arguments, records what the callee-saved registers,
 * RSP and RFLAGS are on return.
 */
struct call {
	uint64_t fn;                                   /* 0 */
	uint64_t rdi, rsi, rdx, rcx, r8, r9;           /* 8..48 */
	uint64_t run;                                  /* 56 */
	uint64_t rbx, rbp, r12, r13, r14, r15;         /* 64..104: loaded before the call */
	uint64_t o_rbx, o_rbp, o_r12, o_r13, o_r14, o_r15;   /* 112..152: after it */
	uint64_t rsp_before, rsp_after, rflags, ret;   /* 160..184 */
};
void call_vdso(struct call *c);
__asm__(".text\n"
	".globl call_vdso\n"
	".type call_vdso, @function\n"
	"call_vdso:\n"
	"	push %rbp\n	push %rbx\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rdi\n"
	"	mov %rdi, %rax\n"
	"	sub $8, %rsp\n"
	"	push 56(%rax)\n"
	"	mov %rsp, 160(%rax)\n"
	"	mov 64(%rax), %rbx\n	mov 72(%rax), %rbp\n"
	"	mov 80(%rax), %r12\n	mov 88(%rax), %r13\n	mov 96(%rax), %r14\n	mov 104(%rax), %r15\n"
	"	mov 8(%rax), %rdi\n	mov 16(%rax), %rsi\n	mov 24(%rax), %rdx\n	mov 32(%rax), %rcx\n"
	"	mov 40(%rax), %r8\n	mov 48(%rax), %r9\n"
	"	call *(%rax)\n"
	"	pushfq\n"
	"	push %rax\n"
	"	mov 32(%rsp), %rax\n"
	"	mov %rbx, 112(%rax)\n	mov %rbp, 120(%rax)\n	mov %r12, 128(%rax)\n"
	"	mov %r13, 136(%rax)\n	mov %r14, 144(%rax)\n	mov %r15, 152(%rax)\n"
	"	lea 16(%rsp), %rbx\n	mov %rbx, 168(%rax)\n"
	"	pop %rbx\n	movslq %ebx, %rbx\n	mov %rbx, 184(%rax)\n"
	"	pop %rbx\n	mov %rbx, 176(%rax)\n"
	"	add $16, %rsp\n"
	"	pop %rdi\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbx\n	pop %rbp\n"
	"	ret\n"
	".size call_vdso, . - call_vdso\n");

/* ---- this file as the CPU ---- */

/* What the CPU does at the n-th ENCLU. */
enum step_kind { S_EEXIT, S_FAULT };
struct step {
	enum step_kind kind;
	uint64_t rdi, rsi, rdx, r8, r9, r12;   /* EEXIT: the enclave's registers (0: unchanged) */
	int64_t rsp_down;                     /* EEXIT: the enclave leaves RSP this much lower ... */
	uint64_t marker;                      /* ... with this at [RSP] */
	bool set_df;
};

/* What it saw there. */
struct seen {
	uint64_t rax, rbx, rcx, rip, rsp, rdi, rsi, rdx, r8, r9, r10, r11, r12, r13, r14, r15;
};

#define MAX_STEPS 4
static struct {
	struct step step[MAX_STEPS];
	struct seen seen[MAX_STEPS];
	unsigned n;
} cpu;

static uint64_t ursp_expected;

static void on_sigill(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)g[REG_RIP];
	if (ip[0] != 0x0f || ip[1] != 0x01 || ip[2] != 0xd7 || cpu.n >= MAX_STEPS)
		abort();   /* not an ENCLU, or more than the test planned: stop here */
	struct seen *s = &cpu.seen[cpu.n];
	const struct step *st = &cpu.step[cpu.n++];
	*s = (struct seen){ g[REG_RAX], g[REG_RBX], g[REG_RCX], g[REG_RIP], g[REG_RSP], g[REG_RDI], g[REG_RSI],
			    g[REG_RDX], g[REG_R8], g[REG_R9], g[REG_R10], g[REG_R11], g[REG_R12], g[REG_R13],
			    g[REG_R14], g[REG_R15] };
	/* RBX and RCX are the enclave's after either exit: junk. */
	g[REG_RBX] = (greg_t)0xbbbbbbbbbbbbbbbbull;
	if (st->kind == S_FAULT) {
		g[REG_RIP] = (greg_t)vdso_fx.fixup;
		g[REG_RCX] = (greg_t)0xccccccccccccccccull;
		g[REG_RDI] = 14;
		g[REG_RSI] = 0x8007;
		g[REG_RDX] = 0x1000;
		g[REG_RAX] = 3;
		return;
	}
	g[REG_RAX] = SGX_EEXIT;
	g[REG_RIP] = g[REG_RCX] + 3;   /* the enclave returns to EENTER's RCX + 3: after the ENCLU */
	g[REG_RCX] = (greg_t)0xccccccccccccccccull;
	if (st->rdi) {
		g[REG_RDI] = (greg_t)st->rdi;
		g[REG_RSI] = (greg_t)st->rsi;
		g[REG_RDX] = (greg_t)st->rdx;
		g[REG_R8] = (greg_t)st->r8;
		g[REG_R9] = (greg_t)st->r9;
	}
	if (st->r12) {
		g[REG_R12] = (greg_t)st->r12;
		g[REG_R13] = (greg_t)st->r12 + 1;
		g[REG_R14] = (greg_t)st->r12 + 2;
		g[REG_R15] = (greg_t)st->r12 + 3;
	}
	if (st->rsp_down) {
		/* Below RSP, above the red zone the kernel skips for this frame. */
		g[REG_RSP] -= st->rsp_down;
		*(uint64_t *)g[REG_RSP] = st->marker;
		ursp_expected = (uint64_t)g[REG_RSP];
	}
	if (st->set_df)
		g[REG_EFL] |= DF;
}

static struct sigaction old_sigill;

static int setup_cpu(void **state)
{
	memset(&cpu, 0, sizeof(cpu));
	ursp_expected = 0;
	return vdso_fx_setup(state);
}

/*
 * on_sigill until cpu_restore (around each call).  Installed by the test
 * body itself, never by a fixture: cmocka puts its own SIGILL handler in
 * place around a test (and puts back what was there before it when the test
 * ends, also when it fails).
 */
static void cpu_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGILL, &sa, &old_sigill), 0);
}

static void cpu_restore(void)
{
	assert_int_equal(sigaction(SIGILL, &old_sigill, NULL), 0);
}

/* ---- the user handler ---- */

#define MAX_CALLS 4
static struct {
	long rdi, rsi, rdx, ursp, r8, r9;
	struct sgx_enclave_run *run;
	uint32_t function;             /* run->function when called */
	uint64_t entry_rsp, entry_flags;
	uint64_t at_ursp;              /* what [ursp] held */
} hcall[MAX_CALLS];
static unsigned nr_hcalls;
static int hret[MAX_CALLS];        /* what call i returns */
static bool poison_reserved;       /* call 0 sets a reserved byte */
uint64_t handler_entry_rsp, handler_entry_flags;

int user_handler_c(long rdi, long rsi, long rdx, long ursp, long r8, long r9, struct sgx_enclave_run *run);
int user_handler_c(long rdi, long rsi, long rdx, long ursp, long r8, long r9, struct sgx_enclave_run *run)
{
	if (nr_hcalls >= MAX_CALLS)
		abort();
	unsigned i = nr_hcalls++;
	hcall[i].rdi = rdi;
	hcall[i].rsi = rsi;
	hcall[i].rdx = rdx;
	hcall[i].ursp = ursp;
	hcall[i].r8 = r8;
	hcall[i].r9 = r9;
	hcall[i].run = run;
	hcall[i].function = run->function;
	hcall[i].entry_rsp = handler_entry_rsp;
	hcall[i].entry_flags = handler_entry_flags;
	hcall[i].at_ursp = ursp_expected ? *(uint64_t *)ursp : 0;
	if (poison_reserved && i == 0)
		run->reserved[100] = 1;
	return hret[i];
}

/* Records RSP and RFLAGS at the call, then is user_handler_c. */
int user_handler(long, long, long, long, long, long, struct sgx_enclave_run *);
__asm__(".text\n"
	".globl user_handler\n"
	".type user_handler, @function\n"
	"user_handler:\n"
	"	mov %rsp, handler_entry_rsp(%rip)\n"
	"	pushfq\n"
	"	popq handler_entry_flags(%rip)\n"
	"	jmp user_handler_c\n"
	".size user_handler, . - user_handler\n");

static int setup_handler(void **state)
{
	memset(hcall, 0, sizeof(hcall));
	memset(hret, 0, sizeof(hret));
	nr_hcalls = 0;
	poison_reserved = false;
	return setup_cpu(state);
}

/* ---- one call, and what it must leave ---- */

/* The test's call: its run, and the caller's registers before and after. */
static struct sgx_enclave_run run;
static struct call call;

/* A run with sentinels where the vDSO must not write on EEXIT. */
static void run_init(void)
{
	memset(&run, 0, sizeof(run));
	run.tcs = TCS;
	run.function = 0xdead;
	run.exception_vector = SENTINEL_VEC;
	run.exception_error_code = SENTINEL_ERR;
	run.exception_addr = SENTINEL_ADDR;
	run.user_data = 0x5555;
}

/* A fresh run (the test's user handler in it when handled) and the caller's
 * registers for function. */
static void prepare(uint64_t function, bool handled)
{
	run_init();
	if (handled)
		run.user_handler = (uintptr_t)user_handler;
	memset(&call, 0, sizeof(call));
	call.fn = (uintptr_t)vdso_fx.enter;
	call.rdi = 0x1111;
	call.rsi = 0x2222;
	call.rdx = 0x3333;
	call.rcx = function;
	call.r8 = 0x8888;
	call.r9 = 0x9999;
	call.run = (uintptr_t)&run;
	call.rbx = 0xb0b0b0b0;
	call.rbp = 0xbe00be00;   /* any value: the vDSO must keep it for its caller */
	call.r12 = 0x1212;
	call.r13 = 0x1313;
	call.r14 = 0x1414;
	call.r15 = 0x1515;
}

/* The prepared call, with this file as the CPU while it runs. */
static void make_call(void)
{
	cpu_install();
	call_vdso(&call);
	cpu_restore();
}

/* prepare, then make_call. */
static void enter(uint64_t function, bool handled)
{
	prepare(function, handled);
	make_call();
}

/* RBX, RBP and RSP as the caller had them, DF clear. */
static void assert_abi(void)
{
	assert_int_equal(call.o_rbx, call.rbx);
	assert_int_equal(call.o_rbp, call.rbp);
	assert_int_equal(call.rsp_after, call.rsp_before);
	assert_int_equal(call.rflags & DF, 0);
}

/* The call returned ret after enclus ENCLUs, and assert_abi holds. */
static void assert_returned(int64_t ret, unsigned enclus)
{
	assert_int_equal(call.ret, ret);
	assert_int_equal(cpu.n, enclus);
	assert_abi();
}

/* ... and the user handler ran handler_calls times. */
static void assert_handled(int64_t ret, unsigned enclus, unsigned handler_calls)
{
	assert_returned(ret, enclus);
	assert_int_equal(nr_hcalls, handler_calls);
}

/* What run says of the last exit: its function, and the exception fields
 * (the sentinels when the vDSO must not have written them). */
static void assert_run_exit(uint64_t function, uint64_t vector, uint64_t error_code, uint64_t addr)
{
	assert_int_equal(run.function, function);
	assert_int_equal(run.exception_vector, vector);
	assert_int_equal(run.exception_error_code, error_code);
	assert_int_equal(run.exception_addr, addr);
}

/* The CPU's ENCLU n was of leaf on the TCS. */
static void assert_leaf(unsigned n, uint64_t leaf)
{
	assert_int_equal(cpu.seen[n].rax, leaf);
	assert_int_equal(cpu.seen[n].rbx, TCS);
}

/* ... with AEP = that ENCLU itself, where the CPU was. */
static void assert_aep(unsigned n)
{
	assert_int_equal(cpu.seen[n].rcx, vdso_fx.enclu);
	assert_int_equal(cpu.seen[n].rip, vdso_fx.enclu);
}

/* The first ENCLU as the contract says: leaf, TCS, AEP, and the caller's
 * other registers as they were. */
static void assert_first_enclu(uint64_t leaf)
{
	const struct seen *s = &cpu.seen[0];
	assert_leaf(0, leaf);
	assert_aep(0);
	assert_int_equal(s->rdi, call.rdi);
	assert_int_equal(s->rsi, call.rsi);
	assert_int_equal(s->rdx, call.rdx);
	assert_int_equal(s->r8, call.r8);
	assert_int_equal(s->r9, call.r9);
	assert_int_equal(s->r12, call.r12);
	assert_int_equal(s->r13, call.r13);
	assert_int_equal(s->r14, call.r14);
	assert_int_equal(s->r15, call.r15);
}

/* The user handler's call i got RDI, RSI, RDX. */
static void assert_hcall(unsigned i, long rdi, long rsi, long rdx)
{
	assert_int_equal(hcall[i].rdi, rdi);
	assert_int_equal(hcall[i].rsi, rsi);
	assert_int_equal(hcall[i].rdx, rdx);
}

/* ---- the entry function ---- */

/* -EINVAL before any ENCLU: leaves other than EENTER/ERESUME, and each
 * reserved byte non-zero in turn; run is not written. */
static void test_einval(void **state)
{
	(void)state;
	static const uint64_t bad[] = { 0, 1, 4, 5, 0xffffffff, 0x100000000ull };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enter(bad[i], false);
		assert_int_equal(call.ret, -EINVAL);
		assert_abi();
		assert_int_equal(run.function, 0xdead);
	}
	for (size_t i = 0; i < sizeof(run.reserved); i++) {
		prepare(SGX_EENTER, false);
		run.reserved[i] = 0x80;
		make_call();
		assert_int_equal(call.ret, -EINVAL);
		assert_int_equal(run.function, 0xdead);
	}
	assert_int_equal(cpu.n, 0);
	/* And through a C call. */
	run_init();
	cpu_install();
	assert_int_equal(vdso_fx.enter(0, 0, 0, 7, 0, 0, &run), -EINVAL);
	cpu_restore();
	assert_int_equal(cpu.n, 0);
}

/* EENTER + an immediate EEXIT: 0, run->function = EEXIT, exception fields
 * untouched; the caller sees the enclave's R12-R15 but its own RBX/RBP/RSP,
 * and DF clear although the enclave left it set. */
static void test_eenter_eexit(void **state)
{
	(void)state;
	cpu.step[0] = (struct step){ .kind = S_EEXIT, .r12 = 0xe12, .set_df = true };
	enter(SGX_EENTER, false);
	assert_returned(0, 1);
	assert_first_enclu(SGX_EENTER);
	assert_run_exit(SGX_EEXIT, SENTINEL_VEC, SENTINEL_ERR, SENTINEL_ADDR);
	assert_int_equal(run.tcs, TCS);
	assert_int_equal(run.user_data, 0x5555);
	assert_int_equal(call.o_r12, 0xe12);
	assert_int_equal(call.o_r13, 0xe13);
	assert_int_equal(call.o_r14, 0xe14);
	assert_int_equal(call.o_r15, 0xe15);
}

/* ERESUME as the caller's leaf; also the upper half of RCX is ignored. */
static void test_eresume(void **state)
{
	(void)state;
	cpu.step[0] = (struct step){ .kind = S_EEXIT };
	enter(0xabcd000000000000ull | SGX_ERESUME, false);
	assert_returned(0, 1);
	assert_leaf(0, SGX_ERESUME);
	assert_int_equal(run.function, SGX_EEXIT);
}

/* An exception: the fixup's RDI/RSI/RDX/RAX land in run, result 0. */
static void test_exception(void **state)
{
	(void)state;
	cpu.step[0] = (struct step){ .kind = S_FAULT };
	enter(SGX_EENTER, false);
	assert_returned(0, 1);
	assert_first_enclu(SGX_EENTER);
	assert_run_exit(3, 14, 0x8007, 0x1000);
	assert_int_equal(run.tcs, TCS);
}

/* ---- with a user handler ---- */

/* The handler's arguments on EEXIT: the enclave's registers, RSP at the exit
 * (what the enclave put there intact), run; a 16-byte aligned call (RSP + 8)
 * with DF clear.  Its > 0 result is the next leaf (ERESUME seen by the CPU,
 * with RBX = TCS and RCX = AEP again, from the exit's RSP), its <= 0 result
 * is returned. */
static void test_handler_next_leaf(void **state)
{
	(void)state;
	/* 72: RSP at the exit is not 16-byte aligned, the vDSO must align. */
	cpu.step[0] = (struct step){ .kind = S_EEXIT, .rdi = 0xd1, .rsi = 0x51, .rdx = 0xd2, .r8 = 0x88, .r9 = 0x99,
				     .rsp_down = 72, .marker = 0x6d61726b6572, .set_df = true };
	cpu.step[1] = (struct step){ .kind = S_EEXIT, .rdi = 0xd3, .rsi = 0x53, .rdx = 0xd4, .r8 = 0x8a, .r9 = 0x9a };
	hret[0] = SGX_ERESUME;
	hret[1] = -7;
	enter(SGX_EENTER, true);
	assert_handled(-7, 2, 2);

	assert_hcall(0, 0xd1, 0x51, 0xd2);
	assert_int_equal(hcall[0].r8, 0x88);
	assert_int_equal(hcall[0].r9, 0x99);
	assert_int_equal(hcall[0].ursp, ursp_expected);
	assert_int_equal(hcall[0].ursp, cpu.seen[0].rsp - 72);
	assert_int_equal(hcall[0].at_ursp, 0x6d61726b6572);
	assert_ptr_equal(hcall[0].run, &run);
	assert_int_equal(hcall[0].function, SGX_EEXIT);
	assert_int_equal((hcall[0].entry_rsp + 8) % 16, 0);
	assert_true(hcall[0].entry_rsp < (uint64_t)hcall[0].ursp);
	assert_int_equal(hcall[0].entry_flags & DF, 0);

	assert_leaf(1, SGX_ERESUME);
	assert_aep(1);
	/* the next leaf starts from the exit's RSP, as Linux's vDSO does */
	assert_int_equal(cpu.seen[1].rsp, hcall[0].ursp);

	assert_hcall(1, 0xd3, 0x53, 0xd4);
	assert_int_equal(hcall[1].r8, 0x8a);
	assert_int_equal(hcall[1].r9, 0x9a);
	assert_int_equal(hcall[1].ursp, cpu.seen[1].rsp);
	assert_int_equal((hcall[1].entry_rsp + 8) % 16, 0);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, SENTINEL_VEC);
}

/* 0 from the handler is the result; the handler runs once. */
static void test_handler_zero(void **state)
{
	(void)state;
	cpu.step[0] = (struct step){ .kind = S_EEXIT };
	hret[0] = 0;
	enter(SGX_EENTER, true);
	assert_handled(0, 1, 1);
	assert_int_equal(hcall[0].ursp, cpu.seen[0].rsp);
}

/* The leaf a handler asks for is checked like the caller's: 5 is -EINVAL
 * without another ENCLU, so is ERESUME with a reserved byte set. */
static void test_handler_checked(void **state)
{
	(void)state;
	cpu.step[0] = (struct step){ .kind = S_EEXIT };
	hret[0] = 5;
	enter(SGX_EENTER, true);
	assert_handled(-EINVAL, 1, 1);

	cpu.n = 0;
	nr_hcalls = 0;
	poison_reserved = true;
	hret[0] = SGX_ERESUME;
	enter(SGX_EENTER, true);
	assert_handled(-EINVAL, 1, 1);
}

/* An exception with a handler: it gets vector, error code and address in
 * RDI/RSI/RDX, run is filled in before, and its result is returned. */
static void test_handler_exception(void **state)
{
	(void)state;
	cpu.step[0] = (struct step){ .kind = S_FAULT };
	cpu.step[1] = (struct step){ .kind = S_EEXIT };
	hret[0] = SGX_ERESUME;
	hret[1] = -EFAULT;
	enter(SGX_EENTER, true);
	assert_handled(-EFAULT, 2, 2);
	assert_hcall(0, 14, 0x8007, 0x1000);
	assert_int_equal(hcall[0].function, 3);
	assert_leaf(1, SGX_ERESUME);
	/* the last exit; the exception fields from the fault, kept */
	assert_run_exit(SGX_EEXIT, 14, 0x8007, 0x1000);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_cpu, vdso_fx_teardown)
#define T_HANDLER(fn) cmocka_unit_test_setup_teardown(fn, setup_handler, vdso_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_einval),
		T(test_eenter_eexit),
		T(test_eresume),
		T(test_exception),
		T_HANDLER(test_handler_next_leaf),
		T_HANDLER(test_handler_zero),
		T_HANDLER(test_handler_checked),
		T_HANDLER(test_handler_exception),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
