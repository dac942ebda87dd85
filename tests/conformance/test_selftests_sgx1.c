/*
 * The selftests of test_selftests.c on an SGX1 machine (hw_config.sgx1_only:
 * CPUID.12H.0:EAX[1] clear): the tests that need SGX2 must skip for the
 * reason upstream gives on such a machine, the others pass as on SGX2.
 */
#define SELFTESTS_SGX1 1
#include "test_selftests.c"
