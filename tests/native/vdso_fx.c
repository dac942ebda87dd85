/* The loaded native vDSO image of the vDSO tests (vdso_fx.h). */
#include "native/vdso_fx.h"

struct native_vdso vdso_fx;

int vdso_fx_setup(void **state)
{
	(void)state;
	return native_vdso_load(&vdso_fx);
}

int vdso_fx_teardown(void **state)
{
	(void)state;
	native_vdso_unload(&vdso_fx);
	return 0;
}
