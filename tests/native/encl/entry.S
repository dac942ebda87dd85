/*
 * The test enclave's TCS pages, entry code and SSA/stack pages
 * (docs/native-test-enclave.md; the protocol of kernel-selftests.md §2.2,
 * written from that description).
 *
 * EENTER hands over RAX = CSSA, RBX = the TCS's address, RCX = the address
 * after the ENCLU (where EEXIT must go), RSP/RBP = the caller's, RDI = the op.
 * The code takes the stack of the entered TCS, saves the untrusted RSP and
 * RBP there (the vDSO finds its frame through RBP after EEXIT), calls the C
 * dispatcher encl_body(RDI, RSI), restores them, clears the caller-saved
 * registers the C code may have left enclave data in, and EEXITs with
 * RAX = 4, RBX = the return address.  Only RIP-relative addressing: the image
 * runs wherever the enclave's base is, with no relocation processing.
 * %fs and %gs are never used (on this emulator they are the host's).
 */

#define ENCLU .byte 0x0f, 0x01, 0xd7
#define EEXIT_LEAF 4

/*
 * Two TCS pages (the field layout of isa.md's TCS): OSSA and OENTRY are
 * enclave offsets, written as distances from encl_tcs1 (the first byte of
 * the image): PC-relative, resolved by the linker, nothing left to relocate.
 */
	.macro tcs ossa
	.quad 0			/* STATE */
	.quad 0			/* FLAGS */
	.quad \ossa - encl_tcs1	/* OSSA */
	.long 0			/* CSSA */
	.long 1			/* NSSA */
	.quad encl_entry - encl_tcs1	/* OENTRY */
	.quad 0			/* AEP */
	.quad 0			/* OFSBASE */
	.quad 0			/* OGSBASE */
	.long 0xffffffff	/* FSLIMIT */
	.long 0xffffffff	/* GSLIMIT */
	.fill 4024, 1, 0	/* reserved */
	.endm

	.section .tcs, "aw"
	.balign 4096
encl_tcs1:
	tcs encl_ssa_tcs1
	tcs encl_ssa_tcs2

	.section .text.encl_entry, "ax"
	.balign 4096
/*
 * The entry of TCS #1 and #2: stack top = encl_stack + (TCS - base), so
 * TCS #1 uses the page below encl_stack and TCS #2 the page above it.
 */
	.global encl_entry
	.type encl_entry, @function
encl_entry:
	lea	__encl_base(%rip), %rax
	sub	%rax, %rbx
	lea	encl_stack(%rip), %rax
	add	%rbx, %rax
	jmp	encl_common
	.size encl_entry, . - encl_entry

/*
 * The entry of a TCS added at run time (tcs_create): the stack is the page
 * just below the TCS, so its top is the TCS's address.
 */
	.balign 64
	.global encl_dyn_entry
	.type encl_dyn_entry, @function
encl_dyn_entry:
	mov	%rbx, %rax
	.size encl_dyn_entry, . - encl_dyn_entry

/* RAX = the stack top (16-byte aligned), RCX = the EEXIT target. */
encl_common:
	xchg	%rax, %rsp		/* RAX = the untrusted RSP */
	push	%rax
	push	%rbp
	push	%rcx
	sub	$8, %rsp		/* RSP 16-byte aligned at the call */
	xor	%ebp, %ebp		/* no frame chain into untrusted memory */
	cld				/* the ABI's DF = 0, whatever the caller left */
	call	encl_body
	add	$8, %rsp
	pop	%rbx			/* EEXIT target */
	pop	%rbp
	pop	%rsp
	/* Nothing computed inside may leave in a scratch register; the
	 * callee-saved ones hold the caller's values again (the C ABI). */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	mov	$EEXIT_LEAF, %eax
	ENCLU
	ud2				/* EEXIT does not return */

/* One SSA frame (SECS.SSAFRAMESIZE = 1) per TCS. */
	.section .encl.ssa, "aw"
	.balign 4096
	.global encl_ssa_tcs1
encl_ssa_tcs1:
	.fill 4096, 1, 0
	.global encl_ssa_tcs2
encl_ssa_tcs2:
	.fill 4096, 1, 0

/* A page of stack per TCS, on either side of encl_stack. */
	.section .encl.stack, "aw"
	.balign 4096
	.fill 4096, 1, 0
	.global encl_stack
encl_stack:
	.fill 4096, 1, 0

	.section .note.GNU-stack, "", @progbits
