/*
 * The native vDSO image beyond what native.h declares: its bytes, the
 * forwarder slots, and the loader with an explicit real vDSO (tests).
 *
 * Dynamic symbols of the image (all version LINUX_2.6, soname
 * linux-vdso.so.1):
 *   __vdso_sgx_enter_enclave   the entry function (src/native/vdso/enter.S)
 *   __sgx2emu_vdso_enclu       its ENCLU: the AEP it passes in RCX
 *   __sgx2emu_vdso_fixup       where an exception on that ENCLU continues
 *   __sgx2emu_vdso_slots       u64[NATIVE_VDSO_NR_SLOTS], the forwarders' targets
 *   __vdso_X and weak X for X in clock_gettime gettimeofday time getcpu
 *   clock_getres getrandom     forwarders (src/native/vdso/forward.S)
 */
#ifndef SGX2EMU_NATIVE_VDSO_H
#define SGX2EMU_NATIVE_VDSO_H

#include "native.h"

/* $(BUILD)/native/vdso.so as built (src/native/vdso_image.S), page-aligned. */
extern const unsigned char native_vdso_image_start[];
extern const unsigned char native_vdso_image_end[];

/* Slot i forwards to the real vDSO's native_vdso_slot_names[i]; the order is
 * the one of forward.S. */
#define NATIVE_VDSO_NR_SLOTS 6
extern const char *const native_vdso_slot_names[NATIVE_VDSO_NR_SLOTS];

/* native_vdso_load with real as the real vDSO (NULL: none, every forwarder
 * takes its fallback).  0 or -errno. */
int native_vdso_load_from(struct native_vdso *v, const void *real);

#endif
