/* STUB: to be implemented */
#include "../leaf.h"

LEAF(encls_epa)
{
	(void)lp; (void)rbx; (void)rcx; (void)rdx;
	return GP0;
}
