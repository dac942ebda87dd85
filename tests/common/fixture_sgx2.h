/*
 * Short names shared by the SGX2 tests of the hardware model that run the
 * standard enclave with LP 0 on TCS #1, LP 1 on TCS #2 and LP 3 as the OS
 * (test_state_machine.c, test_emodpe_eacceptcopy.c, test_eaug_eaccept.c).  Kept out of
 * fixture.h: one-letter names such as R, W and X would clash elsewhere.
 */
#ifndef SGX2EMU_TEST_FIXTURE_SGX2_H
#define SGX2EMU_TEST_FIXTURE_SGX2_H

#include "common/fixture.h"

#define OS(f)      hw_lp_get((f)->m, 3)
#define LP1(f)     hw_lp_get((f)->m, 1)
#define PAGE       (FX_DATA + 0x1000)        /* a REG RW- page */
#define SLOT       (FX_DATA + 0x2000 + 0x40) /* the tests' SECINFO */
#define REG        SGX_SECINFO_PT(SGX_PT_REG)
#define TCS        SGX_SECINFO_PT(SGX_PT_TCS)
#define TRIM       SGX_SECINFO_PT(SGX_PT_TRIM)
#define R          SGX_SECINFO_R
#define W          SGX_SECINFO_W
#define X          SGX_SECINFO_X
#define PENDING    SGX_SECINFO_PENDING
#define MODIFIED   SGX_SECINFO_MODIFIED
#define PR         SGX_SECINFO_PR
#define PTE_ALL    (HW_PROT_R | HW_PROT_W | HW_PROT_X)

#endif
