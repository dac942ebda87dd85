/*
 * The host side of the Intel Enclave Memory Manager's two OCALLs
 * (runtimes layer, src/runtime/emm_backend.c): what the untrusted runtime
 * does for sgx_mm_alloc_ocall and sgx_mm_modify_ocall (sgx-emm's
 * sgx_mm_rt_abstraction.h; the SDK's enclave_alloc / enclave_modify,
 * runtimes-and-peers.md §4.2), written for sgx2emu from their documented
 * semantics.  The enclave side is sgx2emu/emm_enclave.h; docs/emm.md puts
 * the two together.
 *
 * The same code runs against the model's system API (emu_ioctl & co. of an
 * emu_proc: sgx2emu_emm_sys_model) or against the C library's calls of a
 * program running under the LD_PRELOAD library (sgx2emu_emm_sys_libc), by a
 * table of system calls.  Only the upstream uAPI is used (MODIFY_TYPES,
 * RESTRICT_PERMISSIONS, REMOVE_PAGES of <asm/sgx.h>, mmap, mprotect).
 *
 * Return values: 0, or a positive errno, as the SDK's host functions return
 * them: EINVAL for a request that is not valid (nothing is done then), else
 * the errno of the system call that failed (what succeeded before it stays
 * done).  The enclave side turns every non-zero answer into EFAULT, which is
 * what sgx_mm_rt_abstraction.h promises the EMM.
 */
#ifndef SGX2EMU_EMM_BACKEND_H
#define SGX2EMU_EMM_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sgx2emu/emm_enclave.h"
#include "sgx2emu/emu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The system calls, each with the C library's contract (-1 / MAP_FAILED and
 * errno); ctx is the table's own (an emu_proc for the model table). */
struct sgx2emu_emm_sys {
	int (*ioctl)(void *ctx, int fd, unsigned long cmd, void *arg);
	void *(*mmap)(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t offset);
	int (*mprotect)(void *ctx, void *addr, size_t len, int prot);
	int (*munmap)(void *ctx, void *addr, size_t len);
};
extern const struct sgx2emu_emm_sys sgx2emu_emm_sys_model;   /* ctx: struct emu_proc * */
extern const struct sgx2emu_emm_sys sgx2emu_emm_sys_libc;    /* ctx: unused */

/* One enclave as the host sees it. */
struct sgx2emu_emm_host {
	const struct sgx2emu_emm_sys *sys;
	void *ctx;
	int fd;                 /* the enclave's /dev/sgx_enclave file */
	uint64_t base, size;    /* ELRANGE */
	uint64_t area;          /* OCALL area (sgx2emu_emm_area_create), 0 if none */
};

/*
 * sgx_mm_alloc_ocall: make [addr, addr + length) EAUG-able.
 *   request   addr page-aligned, length a non-zero multiple of 4096, the range
 *             inside ELRANGE; page_type REG (or 0, REG by default);
 *             alloc_flags within bits 0-7 with exactly one of COMMIT_NOW and
 *             COMMIT_ON_DEMAND (RESERVE never reaches the host: no EPC, no
 *             OCALL) and not both GROWSDOWN and GROWSUP     else EINVAL
 *             page_type SS_FIRST / SS_REST (CET shadow stacks; the SDK's
 *             host does not support them either)          EFAULT
 *   action    mmap(addr, length, RW, MAP_SHARED | MAP_FIXED, fd, 0); its
 *             errno on failure.  Every commit mode maps the same way: Linux
 *             EAUGs on the fault only, so COMMIT_NOW's pages are added by the
 *             EACCEPTs that follow, and GROWSDOWN / GROWSUP are hints the
 *             kernel has no way to take (FIXED, SYSTEM: nothing for the host).
 */
int sgx2emu_emm_alloc(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, int page_type, int alloc_flags);

/*
 * sgx_mm_modify_ocall: the host's half of a change from flags_from to
 * flags_to (each PROT_* | one PAGE_TYPE_*).  Checks, in this order, each
 * EINVAL with nothing done: the range as for alloc; no bits outside
 * PROT_MASK | PAGE_TYPE_MASK; both types one of REG, TCS, TRIM; TRIM only to
 * TRIM; not both the type and the permissions changing.  Then:
 *
 *   from → to                       host action
 *   TRIM|p → TRIM|q                 REMOVE_PAGES (the EMM has EACCEPTed the
 *                                   trim), then mprotect(NONE) if q is NONE
 *   REG|p or TCS|p → TRIM|p         MODIFY_TYPES(TRIM)
 *   REG|RW → TCS|RW                 MODIFY_TYPES(TCS); from anything but
 *                                   REG|RW: EINVAL
 *   T|NONE → T|NONE  (T REG, TCS)   mprotect(NONE): the final PTE step after
 *                                   the EMM EACCEPTed a restriction to NONE
 *                                   (EACCEPT needs a readable PTE)
 *   T|p → T|p                       nothing
 *   REG|p → REG|q  (p != q)         RESTRICT_PERMISSIONS(q), then mprotect(q)
 *                                   unless q is NONE; the EMM then EMODPEs
 *                                   and EACCEPTs (its permission-change flow)
 *   TCS|p → TCS|q  (p != q)         EINVAL
 *
 * The ioctls are repeated over what remains while they make progress or fail
 * with EBUSY / EAGAIN (as the SDK's loops do; a bounded number of times
 * without progress here, instead of forever).
 */
int sgx2emu_emm_modify(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, int flags_from, int flags_to);

/*
 * The OCALL area (sgx2emu/emm_enclave.h, "the OCALL convention"): three pages
 * of anonymous memory, the request block RW and both doorbells PROT_NONE,
 * mapped through h->sys.  0 and h->area set, or the errno of mmap/mprotect.
 * Destroy unmaps it (h->area = 0).
 */
int sgx2emu_emm_area_create(struct sgx2emu_emm_host *h);
void sgx2emu_emm_area_destroy(struct sgx2emu_emm_host *h);

/*
 * After an exit of the vDSO: if it is the #PF of a doorbell of h's area
 * (run->function ERESUME, exception_vector 14, exception_addr a doorbell
 * page), run the request in the block (sgx2emu_emm_alloc / _modify by nr;
 * EINVAL for an unknown nr or a seq whose doorbell is the other one), store
 * its result in ret, make this doorbell readable and the other PROT_NONE,
 * clear run's exception fields and return 1: the caller ERESUMEs.  0 if the
 * exit is something else (run untouched); -errno if the doorbells could not
 * be changed (resuming would fault again).
 */
int sgx2emu_emm_ocall_service(struct sgx2emu_emm_host *h, struct sgx_enclave_run *run);

/* A vDSO user_handler with run->user_data = a struct sgx2emu_emm_host *:
 * SGX_ERESUME after sgx2emu_emm_ocall_service answered a request, else what
 * it returned (0: back to the caller of the vDSO with the exception). */
int sgx2emu_emm_user_handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
			     struct sgx_enclave_run *run);

#ifdef __cplusplus
}
#endif
#endif
