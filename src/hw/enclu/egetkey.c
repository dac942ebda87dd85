/* STUB: to be implemented */
#include "../leaf.h"

LEAF(enclu_egetkey)
{
	(void)lp; (void)rbx; (void)rcx; (void)rdx;
	return GP0;
}
