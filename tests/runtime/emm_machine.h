/*
 * Where every EMM test starts, model mode (emm_fx.c) or native
 * (tests/native/test_emm_native.c): a fresh machine with the default
 * configuration, one process, and one thread bound to the calling host
 * thread, so enclave entries from the test body run on it.
 */
#ifndef SGX2EMU_TEST_EMM_MACHINE_H
#define SGX2EMU_TEST_EMM_MACHINE_H

#include "sgx2emu/emu.h"

/* Creates the three and binds the thread; asserts (cmocka) each exists. */
void emm_machine_create(struct emu **emu, struct emu_proc **proc, struct emu_thread **thread);

/* Unbinds and destroys the thread, exits the process, destroys the machine
 * (whatever lives in the process must be gone or go with it). */
void emm_machine_destroy(struct emu *emu, struct emu_proc *proc, struct emu_thread *thread);

#endif
