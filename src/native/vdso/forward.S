/*
 * The rest of a vDSO, so that a program that takes its whole vDSO from this
 * image (getauxval(AT_SYSINFO_EHDR) under the preload) still finds the time
 * functions: __vdso_X (and the weak alias X, as the real vDSO has) jumps
 * through slot i of __sgx2emu_vdso_slots.  native_vdso_load writes the real
 * vDSO's __vdso_X there before it makes the image read-only.
 *
 * In the image each slot holds the offset, from the table, of the fallback
 * for a real vDSO without the function: the system call, as the real vDSO
 * itself falls back to (-ENOSYS for getrandom, whose vDSO-only state
 * arguments have no system call; glibc then does not use it).
 *
 * Slot order (NATIVE_VDSO_SLOTS in src/native/vdso.h must match):
 *   0 clock_gettime  1 gettimeofday  2 time  3 getcpu  4 clock_getres
 *   5 getrandom
 */
#define ENOSYS	38

	.text
	.balign	8
	.globl	__sgx2emu_vdso_slots
	.type	__sgx2emu_vdso_slots, @object
__sgx2emu_vdso_slots:
.Lslots:
	.quad	.Lsys_clock_gettime - .Lslots
	.quad	.Lsys_gettimeofday - .Lslots
	.quad	.Lsys_time - .Lslots
	.quad	.Lsys_getcpu - .Lslots
	.quad	.Lsys_clock_getres - .Lslots
	.quad	.Lenosys - .Lslots
	.size	__sgx2emu_vdso_slots, . - __sgx2emu_vdso_slots

/* __vdso_<name> and its weak alias <name>: a jump through slot idx. */
.macro	forward name, idx
	.globl	__vdso_\name
	.type	__vdso_\name, @function
	.balign	16
__vdso_\name:
	.cfi_startproc
	endbr64
	jmp	*.Lslots + 8 * \idx (%rip)
	.cfi_endproc
	.size	__vdso_\name, . - __vdso_\name
	.weak	\name
	.type	\name, @function
	.set	\name, __vdso_\name
	.size	\name, . - __vdso_\name
.endm

/* The fallback: the system call (arguments already where it wants them). */
.macro	syscall_fallback name, nr
	.balign	16
.Lsys_\name:
	.cfi_startproc
	endbr64
	mov	$\nr, %eax
	syscall
	ret
	.cfi_endproc
.endm

	forward	clock_gettime, 0
	forward	gettimeofday, 1
	forward	time, 2
	forward	getcpu, 3
	forward	clock_getres, 4
	forward	getrandom, 5

	syscall_fallback clock_gettime, 228
	syscall_fallback gettimeofday, 96
	syscall_fallback time, 201
	syscall_fallback getcpu, 309
	syscall_fallback clock_getres, 229

	.balign	16
.Lenosys:
	.cfi_startproc
	endbr64
	mov	$-ENOSYS, %rax		/* ssize_t: all 64 bits */
	ret
	.cfi_endproc

	.section .note.GNU-stack, "", @progbits
