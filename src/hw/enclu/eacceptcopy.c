/* STUB: to be implemented */
#include "../leaf.h"

LEAF(enclu_eacceptcopy)
{
	(void)lp; (void)rbx; (void)rcx; (void)rdx;
	return GP0;
}
