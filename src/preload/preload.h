/*
 * libsgx2emu-preload.so, internals (usage: docs/preload.md).  An unmodified
 * SGX host program runs against the emulator: its calls of the SGX system
 * interface (open of /dev/sgx_enclave, ioctl, mmap/mprotect/munmap of the
 * enclave, the vDSO through getauxval, the signals the native layer needs)
 * are interposed here and routed to the model; everything else goes to libc.
 *
 * Files:
 *   preload.c   state, the constructor (config → emu, proc, native), logging, fork
 *   config.c    the SGX2EMU_* environment variables
 *   real.c      libc's functions (dlsym RTLD_NEXT), and the __wrap_* the
 *               library objects inside this .so call instead of ours
 *   files.c     open/openat/close/ioctl: host fd ↔ model fd
 *   memory.c    mmap/munmap/mprotect: the host ranges that are enclave mappings
 *   table.c     the lock, fork handling and growth both tables above share
 *   signals.c   sigaction/signal/getauxval
 *   cpuid.c     CPUID faulting where the host has it; sgx2emu_cpuid
 *
 * The library's own calls.  The library objects linked into this .so call
 * mmap, mprotect, sigaction, ... for themselves (host reservations of enclave
 * ranges, the native layer's host mappings of EPC, its signal handlers).
 * Those must reach libc, not the interposers here: the link uses
 * --wrap=NAME for every interposed NAME, so the library's undefined
 * references become __wrap_NAME (real.c), which call libc.  The interposers
 * themselves never call an interposed name directly either: always REAL().
 */
#ifndef SGX2EMU_PRELOAD_INTERNAL_H
#define SGX2EMU_PRELOAD_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sgx2emu/emu.h"
#include "sgx2emu/native.h"

/* ---- config.c ---- */
enum preload_cpuid { PRELOAD_CPUID_AUTO, PRELOAD_CPUID_REQUIRE, PRELOAD_CPUID_OFF };

struct preload_config {
	struct emu_config emu;
	bool verbose;
	enum preload_cpuid cpuid;
};

/* Reads the SGX2EMU_* variables with get (getenv).  0, or -1 with a message
 * naming the variable, its value and the accepted values in err. */
int preload_config_read(struct preload_config *c, char *(*get)(const char *), char *err, size_t errlen);

/* ---- preload.c ---- */
struct preload_state {
	struct preload_config cfg;
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_native *native;
	bool forked;                    /* this process is a fork child of the one that has the model */
};
extern struct preload_state preload;

/* Creates the model once (constructor, or the first SGX call before it):
 * returns true when it exists.  A bad config or a failure to create it
 * prints why and ends the process with status 2. */
bool preload_init(void);
/* The model when it exists (never initialises): NULL before the constructor. */
struct emu_native *preload_native(void);
/* One line "sgx2emu: ..." on stderr when SGX2EMU_VERBOSE=1 (write(2), no stdio). */
void preload_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always (errors): the same format. */
void preload_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* In a fork child: once, why SGX does not work there; sets errno to err, returns -1. */
int preload_forked_fail(int err);
/* errno as its name, for log lines ("EINVAL"). */
const char *preload_errname(int err);

/* ---- real.c ---- */
/* libc's definitions of the interposed names (dlsym RTLD_NEXT), resolved
 * once, by the constructor or by the first interposed call before it.  A name
 * libc lacks ends the process with a message. */
struct preload_libc {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*ioctl)(int, unsigned long, ...);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*mprotect)(void *, size_t, int);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	unsigned long (*getauxval)(unsigned long);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	__sighandler_t (*signal)(int, __sighandler_t);
};
extern struct preload_libc preload_libc;
void preload_libc_init(void);
#define REAL(name) (preload_libc_init(), preload_libc.name)

/* ---- files.c ---- */
/* The model fd a host fd stands for, or -1 (also for a host fd whose entry
 * is stale: the program closed it behind our back, e.g. by fclose). */
int preload_fd_lookup(int fd);

/* ---- memory.c ---- */
/* [start, end) overlaps an enclave mapping (page-granular). */
bool preload_range_overlaps(uint64_t start, uint64_t end);

/* ---- signals.c / cpuid.c ---- */
/* cpuid.c: at init, try to make CPUID fault and hook SIGSEGV (see there). */
void preload_cpuid_init(void);
/* cpuid.c: SIGSEGV is the CPUID hook's: sigaction on it goes to cpuid.c. */
bool preload_cpuid_owns_sigsegv(void);
int preload_cpuid_sigaction(const struct sigaction *act, struct sigaction *old);

/* The interposers without prototypes in the system headers (fortify). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#endif
