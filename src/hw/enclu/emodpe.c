/* STUB: to be implemented */
#include "../leaf.h"

LEAF(enclu_emodpe)
{
	(void)lp; (void)rbx; (void)rcx; (void)rdx;
	return GP0;
}
