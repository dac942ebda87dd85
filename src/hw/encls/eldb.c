/* STUB: to be implemented */
#include "../leaf.h"

LEAF(encls_eldb)
{
	(void)lp; (void)rbx; (void)rcx; (void)rdx;
	return GP0;
}
