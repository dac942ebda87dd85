/*
 * Model-mode enclave code: ordinary C that stands for the code of an enclave
 * and runs "inside" it.  Its loads, stores and ENCLU leaves go through the
 * hardware model on the thread's logical processor; an AEX suspends the code
 * at that access and ERESUME retries exactly that access, so the code never
 * sees an AEX.  Locals of the C function live in host memory and are not
 * modelled: only what goes through encl_read/encl_write touches the enclave.
 * Deterministic: the same inputs give the same sequence of leaves and accesses.
 */
#ifndef SGX2EMU_ENCLAVE_H
#define SGX2EMU_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#include "sgx2emu/emu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct encl_ctx;

/* Code at an entry point.  On entry the registers are those EENTER leaves
 * (RAX = CSSA, RBX = TCS, RCX = return address, RDI/RSI/RDX/R8/R9 from the
 * caller).  Returning from it is EEXIT to the address that was in RCX at entry,
 * with the registers as encl_regs() holds them. */
typedef void (*encl_entry_fn)(struct encl_ctx *ctx);

/* Host side: the C function for the code at linear address addr (BASE+OENTRY)
 * in this process.  0, or -1 with errno EINVAL / ENOMEM. */
int emu_register_entry(struct emu_proc *proc, uint64_t addr, encl_entry_fn fn);

/* Enclave side */
struct hw_regs *encl_regs(struct encl_ctx *ctx);
uint64_t encl_base(struct encl_ctx *ctx);      /* ELRANGE base of the current enclave */
uint64_t encl_tcs(struct encl_ctx *ctx);       /* linear address of the TCS entered */
void encl_read(struct encl_ctx *ctx, uint64_t addr, void *buf, size_t len);
void encl_write(struct encl_ctx *ctx, uint64_t addr, const void *buf, size_t len);
uint64_t encl_read64(struct encl_ctx *ctx, uint64_t addr);
void encl_write64(struct encl_ctx *ctx, uint64_t addr, uint64_t value);
/* An instruction fetch at addr (running code there): faults as the CPU's would. */
void encl_fetch(struct encl_ctx *ctx, uint64_t addr);
/* An ENCLU leaf (EACCEPT, EMODPE, EACCEPTCOPY, EREPORT, EGETKEY); returns RAX. */
uint64_t encl_enclu(struct encl_ctx *ctx, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx);
/* EEXIT now to target (does not return). */
_Noreturn void encl_eexit(struct encl_ctx *ctx, uint64_t target);

#ifdef __cplusplus
}
#endif
#endif
