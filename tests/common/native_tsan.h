/*
 * Native execution under ThreadSanitizer (include once per test binary).
 *
 * The handlers of native mode call into the model, which locks and
 * allocates, from SIGILL/SIGSEGV raised by enclave code: safe by design
 * (src/native/native.h: such code never holds a lock of the emulator or of
 * libc), but TSan reports every such call as "signal-unsafe".  That one
 * report is turned off here, for native test binaries only; every race
 * report stays on.
 *
 * TSan also defers asynchronous signals until the thread next calls a
 * function it intercepts.  Enclave code calls none, so an IPI signal to a
 * thread spinning in an enclave is never taken there: tests that need one
 * skip under TSan (NATIVE_UNDER_TSAN) and run in the plain and ASan builds.
 */
#ifndef SGX2EMU_TEST_NATIVE_TSAN_H
#define SGX2EMU_TEST_NATIVE_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define NATIVE_UNDER_TSAN 1
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "report_signal_unsafe=0";
}
#else
#define NATIVE_UNDER_TSAN 0
#endif

#endif
