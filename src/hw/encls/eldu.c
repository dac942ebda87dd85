/*
 * ELDU (ENCLS 0x08) — RBX: PAGEINFO, RCX: free EPC page, RDX: VA slot.
 * isa.md §4.6.  Verifies and decrypts a page sealed by EWB into RCX and
 * restores its EPCM entry unblocked.  Checks and outcomes: paging.c.
 */
#include "paging.h"

LEAF(encls_eldu)
{
	return eld_leaf(lp, rbx, rcx, rdx, false);
}
