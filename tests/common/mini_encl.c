/* The mini enclave of mini_encl.h: its code, the host twin of its compute
 * loop, the builder and the register-keeping trampoline. */
#include <string.h>

#include "mini_encl.h"

/* The compute loop: RSI rounds over qwords at RDX, index masked by R9;
 * result in RAX.  Uses RAX, RCX, R10. */
#define COMPUTE_LOOP \
	"	xor %eax, %eax\n" \
	"	xor %ecx, %ecx\n" \
	"100:	mov (%rdx,%rcx,8), %r10\n" \
	"	add %r10, %rax\n" \
	"	xor %rcx, %rax\n" \
	"	rol $7, %rax\n" \
	"	mov %rax, (%rdx,%rcx,8)\n" \
	"	inc %rcx\n" \
	"	and %r9, %rcx\n" \
	"	dec %rsi\n" \
	"	jnz 100b\n"

/* Bytes 8..63 of the SECINFO at RBX: reserved, must be zero. */
#define ZERO_SECINFO_TAIL \
	"	movq $0, 8(%rbx)\n" \
	"	movq $0, 16(%rbx)\n" \
	"	movq $0, 24(%rbx)\n" \
	"	movq $0, 32(%rbx)\n" \
	"	movq $0, 40(%rbx)\n" \
	"	movq $0, 48(%rbx)\n" \
	"	movq $0, 56(%rbx)\n"

__asm__(".section .rodata\n"
	".balign 4096\n"
	".globl mini_encl_code_start\n"
	"mini_encl_code_start:\n"
	"	mov %rcx, %r11\n"
	"	cmp $1, %rdi; je 1f\n"
	"	cmp $2, %rdi; je 2f\n"
	"	cmp $3, %rdi; je 3f\n"
	"	cmp $4, %rdi; je 4f\n"
	"	cmp $5, %rdi; je 5f\n"
	"	cmp $6, %rdi; je 6f\n"
	"	cmp $7, %rdi; je 7f\n"
	"	cmp $8, %rdi; je 8f\n"
	"	cmp $9, %rdi; je 10f\n"
	"	cmp $10, %rdi; je 20f\n"
	"	jmp 99f\n"
	"1:	mov %rsi, (%rdx)\n"
	"	jmp 99f\n"
	"2:	mov (%rdx), %rax\n"
	"	mov %rax, (%r8)\n"
	"	jmp 99f\n"
	"3:	mov $5, %eax\n"
	"	jmp 30f\n"
	"4:	mov $6, %eax\n"
	"30:	lea mini_encl_code_start+0x1000(%rip), %rbx\n"
	"	mov %rsi, (%rbx)\n"
	ZERO_SECINFO_TAIL
	"	mov %rdx, %rcx\n"
	"	.byte 0x0f, 0x01, 0xd7\n"
	"	mov %rax, (%r8)\n"
	"	jmp 99f\n"
	"5:	ud2\n"
	"6:	int3\n"
	"	jmp 99f\n"
	"7:	movq $1, 8(%r8)\n"
	"70:	cmpq $0, (%r8)\n"
	"	pause\n"
	"	je 70b\n"
	"	jmp 99f\n"
	"8:\n"
	COMPUTE_LOOP
	"	mov %rax, (%r8)\n"
	"	jmp 99f\n"
	/* MINI_AUGMENT: RDX page, RSI count */
	"10:	lea mini_encl_code_start+0x1000(%rip), %rbx\n"
	"	movq $0x20b, (%rbx)\n"          /* PT_REG | PENDING | W | R */
	ZERO_SECINFO_TAIL
	"	mov %rdx, %r10\n"
	"	xor %eax, %eax\n"
	"	test %rsi, %rsi\n"
	"	jz 12f\n"
	"11:	mov $5, %eax\n"
	"	mov %r10, %rcx\n"
	"	.byte 0x0f, 0x01, 0xd7\n"
	"	test %rax, %rax\n"
	"	jnz 12f\n"
	"	mov %rsi, (%r10)\n"
	"	add $0x1000, %r10\n"
	"	dec %rsi\n"
	"	jnz 11b\n"
	"12:	mov %rax, (%r8)\n"
	"	jmp 99f\n"
	/* MINI_ENCLU: RAX = RSI, RBX = RDX, RCX = R8, RDX = R9 */
	"20:	mov %rsi, %rax\n"
	"	mov %rdx, %rbx\n"
	"	mov %r8, %rcx\n"
	"	mov %r9, %rdx\n"
	"	.byte 0x0f, 0x01, 0xd7\n"
	"	lea mini_encl_code_start+0x1800(%rip), %rbx\n"
	"	mov %rax, (%rbx)\n"
	"99:	mov %r11, %rbx\n"
	"	mov $4, %eax\n"
	"	.byte 0x0f, 0x01, 0xd7\n"
	".globl mini_encl_code_end\n"
	"mini_encl_code_end:\n"
	".text\n"
	".globl mini_compute_host\n"
	"mini_compute_host:\n"
	"	push %r9\n"
	"	mov %rdx, %r9\n"
	"	mov %rsi, %rdx\n"
	"	mov %rdi, %rsi\n"
	COMPUTE_LOOP
	"	pop %r9\n"
	"	ret\n"
	".globl mini_enter\n"
	"mini_enter:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rdi, %rax\n"
	"	pushq 24(%rbp)\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	mov %r8d, %ecx\n"
	"	mov %r9, %r8\n"
	"	mov 16(%rbp), %r9\n"
	"	call *%rax\n"
	"	lea -40(%rbp), %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n");
extern const uint8_t mini_encl_code_start[], mini_encl_code_end[];

static void add_tcs(struct efx *f, struct efx_encl *e, uint64_t offset, uint64_t ossa)
{
	static struct sgx_tcs tcs;
	memset(&tcs, 0, sizeof(tcs));
	tcs.oentry = MINI_CODE;
	tcs.ossa = ossa;
	tcs.nssa = 2;
	assert_int_equal(efx_encl_add(f, e, offset, 4096, SGX_SECINFO_PT(SGX_PT_TCS), &tcs, true), 0);
}

void mini_encl_build_with(struct efx *f, struct efx_encl *e, uint64_t size, uint64_t tcs2)
{
	assert_int_equal(efx_encl_create(f, e, size, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), 0);
	static uint8_t code[4096] __attribute__((aligned(4096)));
	assert_true(mini_encl_code_end - mini_encl_code_start <= (long)sizeof(code));
	memcpy(code, mini_encl_code_start, (size_t)(mini_encl_code_end - mini_encl_code_start));
	const uint64_t reg = SGX_SECINFO_PT(SGX_PT_REG), rw = reg | SGX_SECINFO_R | SGX_SECINFO_W;
	add_tcs(f, e, 0, MINI_SSA);
	assert_int_equal(efx_encl_add(f, e, MINI_CODE, 4096, reg | SGX_SECINFO_R | SGX_SECINFO_X, code, true), 0);
	assert_int_equal(efx_encl_add(f, e, MINI_DATA, MINI_HOLE - MINI_DATA, rw, NULL, true), 0);
	if (tcs2) {
		add_tcs(f, e, tcs2, tcs2 + 0x1000);
		assert_int_equal(efx_encl_add(f, e, tcs2 + 0x1000, 0x2000, rw, NULL, true), 0);
	}
	assert_int_equal(efx_encl_init(f, e), 0);
	assert_ptr_not_equal(efx_encl_map(f, e, 0, 4096, PROT_READ | PROT_WRITE), MAP_FAILED);
	assert_ptr_not_equal(efx_encl_map(f, e, MINI_CODE, 4096, PROT_READ | PROT_EXEC), MAP_FAILED);
	assert_ptr_not_equal(efx_encl_map(f, e, MINI_DATA, MINI_HOLE - MINI_DATA, PROT_READ | PROT_WRITE), MAP_FAILED);
	if (tcs2)
		assert_ptr_not_equal(efx_encl_map(f, e, tcs2, 0x3000, PROT_READ | PROT_WRITE), MAP_FAILED);
}

void mini_encl_build(struct efx *f, struct efx_encl *e, uint64_t size)
{
	mini_encl_build_with(f, e, size, 0);
}
