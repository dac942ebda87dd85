/*
 * The native vDSO image loaded for a test (test_vdso_image.c: the image and
 * lookups in it; test_vdso_entry.c: its entry function): native_vdso_load
 * before each test, native_vdso_unload after it.
 */
#ifndef SGX2EMU_TEST_VDSO_FX_H
#define SGX2EMU_TEST_VDSO_FX_H

#include "native/vdso.h"

/* The loaded image: base, size, the entry function, its ENCLU and fixup. */
extern struct native_vdso vdso_fx;

/* cmocka: loads vdso_fx (native_vdso_load's result: 0 or -errno fails the
 * test), unloads it. */
int vdso_fx_setup(void **state);
int vdso_fx_teardown(void **state);

#endif
