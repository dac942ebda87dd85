/*
 * Model-mode port of the selftests' test_encl.c and test_encl_bootstrap.S
 * (kernel-selftests.md §2.2, §2.4), written from the description, not from
 * the kernel's code.
 *
 * The bootstrap is modelled with its stack traffic, in enclave memory:
 * encl_entry takes the stack top encl_stack + (TCS - base) (TCS #1 → the page
 * below encl_stack, TCS #2 → the page above), encl_dyn_entry takes TCS - 1;
 * both swap RSP, push the untrusted RSP and RCX, "call" encl_body (pushing a
 * return address), then pop the EEXIT target and the untrusted RSP and EEXIT.
 * Op handlers that need a SECINFO build it, zeroed and 64-byte aligned, below
 * RSP on that stack, as the C compiler places the real one's local.  All op
 * fields are read and written with enclave accesses to untrusted memory.
 */
#include <elf.h>
#include <pthread.h>
#include <string.h>

#include "sgx2emu/selftest.h"

/* ---- enclave stack ---- */

static void push(struct encl_ctx *ctx, uint64_t value)
{
	uint64_t rsp = encl_regs(ctx)->rsp - 8;
	encl_write64(ctx, rsp, value);
	encl_regs(ctx)->rsp = rsp;   /* a faulting push leaves RSP alone */
}

static uint64_t pop(struct encl_ctx *ctx)
{
	uint64_t rsp = encl_regs(ctx)->rsp;
	uint64_t value = encl_read64(ctx, rsp);
	encl_regs(ctx)->rsp = rsp + 8;
	return value;
}

/* A zeroed SECINFO with flags in a 64-byte-aligned local of the handler. */
static uint64_t secinfo_local(struct encl_ctx *ctx, uint64_t flags)
{
	uint64_t la = (encl_regs(ctx)->rsp - 64) & ~63ull;
	uint64_t secinfo[8] = { flags };
	encl_write(ctx, la, secinfo, sizeof(secinfo));
	return la;
}

/* ---- op handlers ---- */

static uint64_t buffer(struct encl_ctx *ctx)
{
	return encl_base(ctx) + TEST_ENCL_BUFFER;
}

static void do_put_to_buf(struct encl_ctx *ctx, uint64_t op)
{
	encl_write64(ctx, buffer(ctx), encl_read64(ctx, op + 8));
}

static void do_get_from_buf(struct encl_ctx *ctx, uint64_t op)
{
	encl_write64(ctx, op + 8, encl_read64(ctx, buffer(ctx)));
}

static void do_put_to_addr(struct encl_ctx *ctx, uint64_t op)
{
	uint64_t value = encl_read64(ctx, op + 8);
	encl_write64(ctx, encl_read64(ctx, op + 16), value);
}

static void do_get_from_addr(struct encl_ctx *ctx, uint64_t op)
{
	uint64_t addr = encl_read64(ctx, op + 16);
	encl_write64(ctx, op + 8, encl_read64(ctx, addr));
}

static void do_nop(struct encl_ctx *ctx, uint64_t op)
{
	(void)ctx;
	(void)op;
}

static void do_eaccept(struct encl_ctx *ctx, uint64_t op)
{
	uint64_t secinfo = secinfo_local(ctx, encl_read64(ctx, op + 16));
	uint64_t epc_addr = encl_read64(ctx, op + 8);
	int rax = (int)encl_enclu(ctx, SGX_EACCEPT, secinfo, epc_addr, 0);
	encl_write64(ctx, op + 24, (uint64_t)(int64_t)rax);   /* int stored in a u64: sign-extended */
}

static void do_emodpe(struct encl_ctx *ctx, uint64_t op)
{
	uint64_t secinfo = secinfo_local(ctx, encl_read64(ctx, op + 16));
	encl_enclu(ctx, SGX_EMODPE, secinfo, encl_read64(ctx, op + 8), 0);
}

/* The TCS image field by field: 16 zero bytes, OSSA, CSSA = 0, NSSA = 1,
 * OENTRY, AEP/OFSBASE/OGSBASE = 0, FSLIMIT = GSLIMIT = ~0, reserved zero. */
static void do_init_tcs_page(struct encl_ctx *ctx, uint64_t op)
{
	static const uint8_t zero[4024];
	uint64_t tcs = encl_read64(ctx, op + 8);
	uint32_t one = 1, limit = 0xFFFFFFFF, zero32 = 0;
	encl_write(ctx, tcs + 0, zero, 16);
	encl_write64(ctx, tcs + 16, encl_read64(ctx, op + 16));
	encl_write(ctx, tcs + 24, &zero32, 4);
	encl_write(ctx, tcs + 28, &one, 4);
	encl_write64(ctx, tcs + 32, encl_read64(ctx, op + 24));
	encl_write(ctx, tcs + 40, zero, 24);
	encl_write(ctx, tcs + 64, &limit, 4);
	encl_write(ctx, tcs + 68, &limit, 4);
	encl_write(ctx, tcs + 72, zero, sizeof(zero));
}

typedef void (*encl_op_fn)(struct encl_ctx *ctx, uint64_t op);

static const encl_op_fn encl_op_array[ENCL_OP_MAX] = {
	[ENCL_OP_PUT_TO_BUFFER] = do_put_to_buf,
	[ENCL_OP_GET_FROM_BUFFER] = do_get_from_buf,
	[ENCL_OP_PUT_TO_ADDRESS] = do_put_to_addr,
	[ENCL_OP_GET_FROM_ADDRESS] = do_get_from_addr,
	[ENCL_OP_NOP] = do_nop,
	[ENCL_OP_EACCEPT] = do_eaccept,
	[ENCL_OP_EMODPE] = do_emodpe,
	[ENCL_OP_INIT_TCS_PAGE] = do_init_tcs_page,
};

static void encl_body(struct encl_ctx *ctx, uint64_t rdi, uint64_t rsi)
{
	(void)rsi;
	uint64_t type = encl_read64(ctx, rdi);
	if (type >= ENCL_OP_MAX)
		return;
	encl_op_array[type](ctx, rdi);
}

/* ---- bootstrap ---- */

static void bootstrap(struct encl_ctx *ctx, uint64_t stack_top)
{
	struct hw_regs *r = encl_regs(ctx);
	uint64_t rdi = r->rdi, rsi = r->rsi, rcx = r->rcx, untrusted_rsp = r->rsp;
	r->rsp = stack_top;
	push(ctx, untrusted_rsp);
	push(ctx, rcx);
	push(ctx, encl_base(ctx) + TEST_ENCL_BODY);   /* call encl_body */
	encl_body(ctx, rdi, rsi);
	pop(ctx);                                      /* ret */
	uint64_t target = pop(ctx);
	encl_regs(ctx)->rsp = pop(ctx);
	encl_eexit(ctx, target);
}

static void encl_entry(struct encl_ctx *ctx)
{
	uint64_t base = encl_base(ctx);
	bootstrap(ctx, base + TEST_ENCL_STACK + (encl_regs(ctx)->rbx - base));
}

static void encl_dyn_entry(struct encl_ctx *ctx)
{
	bootstrap(ctx, encl_regs(ctx)->rbx - 1);
}

/* ---- the image ---- */

static uint8_t image[TEST_ENCL_IMAGE_SIZE] __attribute__((aligned(4096)));

static const struct test_encl_phdr phdrs[] = {
	{ TEST_ENCL_TCS1, TEST_ENCL_TEXT - TEST_ENCL_TCS1, PF_R | PF_W },
	{ TEST_ENCL_TEXT, TEST_ENCL_DATA - TEST_ENCL_TEXT, PF_R | PF_X },
	{ TEST_ENCL_DATA, TEST_ENCL_IMAGE_SIZE - TEST_ENCL_DATA, PF_R | PF_W },
};

static const struct test_encl_sym syms[] = {
	{ "encl_entry", TEST_ENCL_ENTRY, encl_entry },
	{ "encl_dyn_entry", TEST_ENCL_DYN_ENTRY, encl_dyn_entry },
	{ "encl_body", TEST_ENCL_BODY, NULL },
	{ "encl_buffer", TEST_ENCL_BUFFER, NULL },
	{ "encl_ssa_tcs1", TEST_ENCL_SSA1, NULL },
	{ "encl_ssa_tcs2", TEST_ENCL_SSA2, NULL },
	{ "encl_stack", TEST_ENCL_STACK, NULL },
};

static const struct test_encl_image the_image = {
	.bin = image,
	.bin_size = sizeof(image),
	.phdrs = phdrs,
	.nr_phdrs = sizeof(phdrs) / sizeof(phdrs[0]),
	.syms = syms,
	.nr_syms = sizeof(syms) / sizeof(syms[0]),
};

static void put_tcs(uint8_t *page, uint64_t ossa)
{
	uint32_t nssa = 1, limit = 0xFFFFFFFF;
	uint64_t oentry = TEST_ENCL_ENTRY;
	memset(page, 0, SGX_PAGE_SIZE);
	memcpy(page + 16, &ossa, 8);
	memcpy(page + 28, &nssa, 4);
	memcpy(page + 32, &oentry, 8);
	memcpy(page + 64, &limit, 4);
	memcpy(page + 68, &limit, 4);
}

static void build_image(void)
{
	put_tcs(image + TEST_ENCL_TCS1, TEST_ENCL_SSA1);
	put_tcs(image + TEST_ENCL_TCS2, TEST_ENCL_SSA2);
	/* .text: the code's place is taken by its name at each symbol, the rest
	 * is the linker script's 0xDEADBEEF fill. */
	static const uint8_t fill[4] = { 0xEF, 0xBE, 0xAD, 0xDE };
	for (uint64_t i = TEST_ENCL_TEXT; i < TEST_ENCL_DATA; i++)
		image[i] = fill[i % 4];
	for (unsigned i = 0; i < the_image.nr_syms; i++)
		if (syms[i].value >= TEST_ENCL_TEXT && syms[i].value < TEST_ENCL_DATA)
			memcpy(image + syms[i].value, syms[i].name, strlen(syms[i].name) + 1);
	/* .data: encl_buffer = {1}, the rest (SSAs, stacks) zero */
	image[TEST_ENCL_BUFFER] = 1;
}

const struct test_encl_image *test_encl_image(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, build_image);
	return &the_image;
}
