/*
 * ELDB (ENCLS 0x07) — RBX: PAGEINFO, RCX: free EPC page, RDX: VA slot.
 * isa.md §4.6.  ELDU, except that a child page (REG/TCS/TRIM) comes back
 * BLOCKED, as if EBLOCKed in the current epoch.  Checks and outcomes: paging.c.
 */
#include "paging.h"

LEAF(encls_eldb)
{
	return eld_leaf(lp, rbx, rcx, rdx, true);
}
