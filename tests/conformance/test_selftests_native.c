/*
 * The selftests of test_selftests.c with native execution (sgx2emu/native.h):
 * the freestanding test enclave (tests/native/encl) runs on the CPU, its
 * ENCLUs and faults are trapped and emulated, and it is entered through the
 * native vDSO.  Every expectation is the model run's: a difference is a
 * defect of native execution.
 */
#define SELFTESTS_NATIVE 1
#include "test_selftests.c"

/* Under TSan: the one report that native handlers trip by design is off. */
#include "common/native_tsan.h"
