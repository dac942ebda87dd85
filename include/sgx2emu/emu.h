/*
 * sgx2emu system API: the Linux SGX driver model on top of the hardware model,
 * reached through calls that mirror the system calls a host program makes
 * (open, ioctl, mmap, mprotect, munmap, close) and an entry function with the
 * contract of __vdso_sgx_enter_enclave.  The uAPI structs and ioctl numbers
 * are the system's <asm/sgx.h>.
 *
 * Addresses.  A simulated process's user addresses are host addresses: an
 * anonymous emu_mmap() is a real host mapping at the same address, and user
 * pointers passed to ioctls are read from host memory after the same checks
 * the kernel makes.  A mapping of /dev/sgx_enclave reserves its host range
 * (PROT_NONE) so nothing else can land there; enclave pages themselves are EPC
 * frames reached through the process's simulated page table.
 *
 * Errors.  Every call returns what the system call returns (-1 / MAP_FAILED)
 * and sets errno to what Linux would set.
 */
#ifndef SGX2EMU_EMU_H
#define SGX2EMU_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <asm/sgx.h>

#include "sgx2emu/counters.h"
#include "sgx2emu/hw.h"
#include "sgx2emu/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emu;          /* one emulated machine + kernel */
struct emu_proc;     /* a process: address space (mm) and file table */
struct emu_thread;   /* a thread of a process, running on one logical processor */

struct emu_config {
	struct hw_config hw;
	unsigned reclaim_batch;     /* pages per reclaim batch (Linux SGX_NR_TO_SCAN = 16) */
	unsigned low_watermark;     /* free frames below which reclaim starts (Linux 32) */
	unsigned high_watermark;    /* ... and stops (Linux 64) */
	enum emu_policy policy;     /* default for new enclaves (EMU_POLICY_UPSTREAM) */
	struct emu_switches switches;
	bool invariants_off;        /* skip the invariant checks of counters.h (on by default) */
};

void emu_config_defaults(struct emu_config *cfg);
struct emu *emu_create(const struct emu_config *cfg);   /* NULL + errno */
void emu_destroy(struct emu *emu);
struct hw_machine *emu_machine(struct emu *emu);

/* Processes */
struct emu_proc *emu_proc_create(struct emu *emu);
struct emu_proc *emu_fork(struct emu_proc *parent);     /* copies VMAs; enclave fds are shared */
void emu_proc_exit(struct emu_proc *proc);              /* closes fds, unmaps everything */

/* System calls of a process */
int emu_open(struct emu_proc *proc, const char *path, int flags);  /* "/dev/sgx_enclave", "/dev/sgx_provision" */
int emu_close(struct emu_proc *proc, int fd);
int emu_ioctl(struct emu_proc *proc, int fd, unsigned long cmd, void *arg);
void *emu_mmap(struct emu_proc *proc, void *addr, size_t len, int prot, int flags, int fd, off_t offset);
int emu_mprotect(struct emu_proc *proc, void *addr, size_t len, int prot);
int emu_munmap(struct emu_proc *proc, void *addr, size_t len);

/* Threads.  A thread runs on a logical processor of its own while it exists
 * (at most hw_config.nr_lps threads at once). */
struct emu_thread *emu_thread_create(struct emu_proc *proc);    /* NULL + errno EAGAIN when no LP is free */
void emu_thread_destroy(struct emu_thread *t);
struct hw_lp *emu_thread_lp(struct emu_thread *t);
/* The calling host thread's emulated thread (set by emu_thread_bind). */
void emu_thread_bind(struct emu_thread *t);
struct emu_thread *emu_current_thread(void);

/* __vdso_sgx_enter_enclave for the calling host thread's bound emu_thread:
 * same arguments, same return values, same use of struct sgx_enclave_run.
 * Model only: -ESRCH when no emu_thread is bound; -EINVAL for a NULL thread
 * or run; -ENOMEM when no coroutine can be allocated for an EENTER.  The AEP
 * and the return address the enclave sees are constants in the last,
 * never-mappable page below 2^47 (src/exec/exec.h). */
int emu_vdso_sgx_enter_enclave(unsigned long rdi, unsigned long rsi, unsigned long rdx, unsigned int function,
			       unsigned long r8, unsigned long r9, struct sgx_enclave_run *run);
/* The same on an explicit thread. */
int emu_enter_enclave(struct emu_thread *t, unsigned long rdi, unsigned long rsi, unsigned long rdx,
		      unsigned int function, unsigned long r8, unsigned long r9, struct sgx_enclave_run *run);

/* The reclaimer (ksgxd) runs synchronously, on the calling thread: directly
 * from EPC allocations that may reclaim (CREATE, ADD_PAGES), before each page
 * of the SGX2 ioctls when free frames are below the low watermark, at the
 * start of a page fault when they are below it, and when called here.  This
 * call reclaims batches until the high watermark is reached, the LRU is
 * empty, or it has scanned each page that was on the LRU once (a page
 * accessed since the last scan gets a second chance); it returns the number
 * of EPC frames it freed (an evicted SECS counts). */
unsigned long emu_reclaim_to_high_watermark(struct emu *emu);
/* Counters since emu_create. */
struct emu_reclaim_stats {
	uint64_t scanned;      /* pages taken off the LRU by the reclaimer */
	uint64_t young;        /* ... and put back because a PTE had been accessed */
	uint64_t eblock;       /* EBLOCKs */
	uint64_t etrack;       /* ETRACKs issued because EWB said SGX_NOT_TRACKED */
	uint64_t ipis;         /* IPI rounds sent because EWB still said SGX_NOT_TRACKED */
	uint64_t not_tracked;  /* EWBs that returned SGX_NOT_TRACKED */
	uint64_t ewb;          /* pages written back (SECS included) */
	uint64_t ewb_secs;     /* ... of which SECS pages */
	uint64_t ewb_failed;   /* pages that EWB could not write back (left resident) */
	uint64_t eldu;         /* pages loaded back (SECS included) */
	uint64_t eldu_secs;    /* ... of which SECS pages */
};
void emu_reclaim_stats(struct emu *emu, struct emu_reclaim_stats *out);

/* Inspection of a process's view of one enclave page: VMA, PTE and EPCM. */
int emu_inspect_page(struct emu_proc *proc, uint64_t addr, char *buf, size_t len);

/* The driver's own memory for the enclave of fd (a /dev/sgx_enclave file of
 * proc), by what each structure occupies (sizeof, allocator overhead not
 * included): what a benchmark compares with Linux's per-page cost.  0, or -1
 * with errno EBADF (no such fd) / EINVAL (not an enclave file, out NULL). */
struct emu_encl_stats {
	uint64_t pages;          /* enclave pages the driver tracks (SECS not counted) */
	uint64_t resident;       /* ... of which hold an EPC frame */
	uint64_t va_pages;       /* VA pages (EPC frames for eviction versions) */
	uint64_t page_bytes;     /* pages * sizeof(struct drv_page) */
	uint64_t xarray_bytes;   /* nodes of the page index and the backing-store index */
	uint64_t va_bytes;       /* va_pages * the driver's VA page struct (the EPC frames not counted) */
	uint64_t encl_bytes;     /* the enclave object and its mm list entries */
	uint64_t pt_bytes;       /* proc's page tables (all its mappings, not only this enclave's) */
	uint64_t backing_bytes;  /* evicted pages' contents + PCMD (Linux: shmem, not kernel memory) */
	uint64_t metadata_bytes; /* page + xarray + va + encl + pt bytes */
};
int emu_encl_stats(struct emu_proc *proc, int fd, struct emu_encl_stats *out);

#ifdef __cplusplus
}
#endif
#endif
