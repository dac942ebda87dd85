/*
 * __vdso_sgx_enter_enclave of the native layer's vDSO image (built on its own
 * by mk/vdso.mk, loaded by src/native/vdso.c).  Written from the documented
 * contract (linux-driver.md §1.6, the comments of <asm/sgx.h>); the model
 * mode version of the same contract is src/exec/vdso.c.
 *
 *   int __vdso_sgx_enter_enclave(rdi, rsi, rdx, unsigned function, r8, r9,
 *                                struct sgx_enclave_run *run);
 *
 * Flow: function not EENTER/ERESUME, or a reserved byte of run non-zero:
 * -EINVAL (checked before every leaf, those a user handler asks for too).
 * Otherwise ENCLU with RAX = function, RBX = run->tcs, RCX = the address of
 * the ENCLU itself (the AEP: an AEX the OS handles comes back there with
 * RAX = ERESUME and simply resumes).  RDI, RSI, RDX, R8-R15 are not touched
 * on the way in or out: the enclave gets the caller's values and the caller
 * the enclave's.
 *   - EEXIT continues after the ENCLU (the enclave's exit target is the RCX
 *     that EENTER gave it): run->function = EAX.
 *   - An exception reported by the OS continues at __sgx2emu_vdso_fixup with
 *     RDI = vector, RSI = error code, RDX = address, RAX = the leaf at the
 *     fault: run->function, exception_vector, _error_code, _addr.
 * Then run->user_handler, if set, is called as
 * handler(rdi, rsi, rdx, rsp at the exit, r8, r9, run) on a 16-byte aligned
 * stack below the exit's RSP (what the enclave left on the untrusted stack
 * stays intact): <= 0 is returned, > 0 is the next leaf, which starts from
 * the exit's RSP again (so an enclave's untrusted stack frame survives).  Without a handler
 * the result is 0.
 *
 * RBP anchors the frame: the enclave restores it at EEXIT and an AEX's
 * synthetic state restores it too, while RSP may come back different.  RBX
 * and RBP are preserved for the caller, EFLAGS.DF is clear on return and at
 * the handler's call; nothing else of the ABI is (no XSAVE state).
 */
#define SGX_EENTER	2
#define SGX_ERESUME	3
#define EINVAL		22

/* struct sgx_enclave_run (<asm/sgx.h>) */
#define RUN_TCS		0
#define RUN_FUNCTION	8
#define RUN_VECTOR	12
#define RUN_ERROR_CODE	14
#define RUN_ADDR	16
#define RUN_HANDLER	24
#define RUN_RESERVED	40
#define RUN_SIZE	256

/* The 7th argument, above the return address and the saved RBP. */
#define ARG_RUN		16(%rbp)
#define SAVED_RBX	-8(%rbp)

	.text
	.globl	__vdso_sgx_enter_enclave
	.type	__vdso_sgx_enter_enclave, @function
	.globl	__sgx2emu_vdso_enclu
	.type	__sgx2emu_vdso_enclu, @function
	.globl	__sgx2emu_vdso_fixup
	.type	__sgx2emu_vdso_fixup, @function
	.balign	16
__vdso_sgx_enter_enclave:
	.cfi_startproc
	endbr64
	push	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	mov	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	push	%rbx
	.cfi_offset %rbx, -24

.Lcheck:
	/* Only RAX and RBX are free: every other register is the enclave's. */
	cmp	$SGX_EENTER, %ecx
	je	1f
	cmp	$SGX_ERESUME, %ecx
	jne	.Linval
1:	mov	ARG_RUN, %rbx
	mov	$RUN_RESERVED, %eax
2:	cmpq	$0, (%rbx, %rax)
	jne	.Linval
	add	$8, %eax
	cmp	$RUN_SIZE, %eax
	jne	2b

	mov	%ecx, %eax
	mov	RUN_TCS(%rbx), %rbx
	lea	.Lenclu(%rip), %rcx
__sgx2emu_vdso_enclu:
.Lenclu:
	.byte	0x0f, 0x01, 0xd7	/* ENCLU */
	.size	__sgx2emu_vdso_enclu, . - __sgx2emu_vdso_enclu

	/* EEXIT: EAX is the leaf (4). */
	mov	ARG_RUN, %rbx
	mov	%eax, RUN_FUNCTION(%rbx)
	jmp	.Lhandler

__sgx2emu_vdso_fixup:
	mov	ARG_RUN, %rbx
	mov	%eax, RUN_FUNCTION(%rbx)
	mov	%di, RUN_VECTOR(%rbx)
	mov	%si, RUN_ERROR_CODE(%rbx)
	mov	%rdx, RUN_ADDR(%rbx)

.Lhandler:
	/* RBX = run.  The enclave may have left DF set. */
	cld
	mov	RUN_HANDLER(%rbx), %rax
	test	%rax, %rax
	jz	.Lzero
	mov	%rsp, %rcx		/* ursp, the 4th argument */
	mov	%rsp, %rbx		/* kept across the call: a next leaf starts from it */
	and	$-16, %rsp
	sub	$8, %rsp
	pushq	ARG_RUN			/* run, the 7th: RSP is 16-byte aligned at the call */
	call	*%rax
	mov	%rbx, %rsp		/* the exit's RSP, as Linux's vDSO restores it */
	test	%eax, %eax
	jle	.Lout
	mov	%eax, %ecx		/* the next leaf */
	jmp	.Lcheck

.Lzero:
	xor	%eax, %eax
.Lout:
	lea	SAVED_RBX, %rsp
	.cfi_remember_state
	pop	%rbx
	.cfi_restore %rbx
	pop	%rbp
	.cfi_def_cfa %rsp, 8
	.cfi_restore %rbp
	ret
	.cfi_restore_state

.Linval:
	mov	$-EINVAL, %eax
	jmp	.Lout
	.cfi_endproc
	.size	__sgx2emu_vdso_fixup, . - __sgx2emu_vdso_fixup
	.size	__vdso_sgx_enter_enclave, . - __vdso_sgx_enter_enclave

	.section .note.GNU-stack, "", @progbits
