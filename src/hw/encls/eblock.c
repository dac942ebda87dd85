/* STUB: to be implemented */
#include "../leaf.h"

LEAF(encls_eblock)
{
	(void)lp; (void)rbx; (void)rcx; (void)rdx;
	return GP0;
}
