/*
 * What libsgx2emu-preload.so offers a program besides interposing the SGX
 * system interface (docs/preload.md).
 *
 * CPUID.  Under the preload, the CPUID instruction reports the emulated SGX
 * (leaf 7 SGX/SGX_LC bits, leaf 0x12) only where the host lets CPUID fault
 * (arch_prctl ARCH_SET_CPUID).  Everywhere, a program can ask the preload:
 * sgx2emu_cpuid gives what CPUID would give on the emulated machine: the
 * host's leaves with 7.0 EBX[2] (SGX) and ECX[30] (SGX_LC) set, leaf 0's
 * maximum raised to 0x12 if below, and leaf 0x12 (every subleaf) the
 * model's.  Returns 0 (out = EAX, EBX, ECX, EDX).
 *
 * Find it without linking anything, so the program also runs without the
 * preload:
 *     int (*f)(unsigned, unsigned, unsigned[4]) = dlsym(RTLD_DEFAULT, "sgx2emu_cpuid");
 *     if (f) f(0x12, 0, regs); else __cpuid_count(0x12, 0, ...);
 */
#ifndef SGX2EMU_PRELOAD_H
#define SGX2EMU_PRELOAD_H

#ifdef __cplusplus
extern "C" {
#endif

int sgx2emu_cpuid(unsigned leaf, unsigned subleaf, unsigned out[4]);

#ifdef __cplusplus
}
#endif
#endif
