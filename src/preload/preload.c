/*
 * The preload's state and start-up: at load (constructor) the configuration
 * from the environment, then the emulated machine and kernel (emu_create),
 * the process that stands for this one (emu_proc_create) and native
 * execution (emu_native_create: the signal handlers, the vDSO image).  A
 * bad configuration or a failure here ends the program with status 2 and a
 * message: it was started to run against the emulator, and running it
 * without would only fail later and less clearly.
 *
 * fork: the model lives in this process's memory, and its EPC is one
 * MAP_SHARED memfd, so a child's copy would share EPC frames with ours
 * while believing it owns them.  A child therefore gets no SGX: opening the
 * device fails with ENODEV, ioctl and mmap on the enclave fds it inherited
 * fail with EBADF (closing them works), each after one message.  A child
 * that execs gets a fresh emulator of its own (LD_PRELOAD is inherited).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

struct preload_state preload;
static struct emu_native *_Atomic ready;     /* set once everything exists */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static _Atomic bool fork_said;

static void vsay(const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "sgx2emu: ");
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* one write per line: lines of several threads do not interleave */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void preload_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void preload_log(const char *fmt, ...)
{
	if (!preload.cfg.verbose)
		return;
	int saved = errno;   /* a log line never changes what the caller sees */
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	errno = saved;
}

const char *preload_errname(int err)
{
	const char *s = strerrorname_np(err);
	return s ? s : "E?";
}

int preload_forked_fail(int err)
{
	if (!atomic_exchange(&fork_said, true))
		preload_say("pid %d is a fork child: SGX is emulated only in the process that loaded the preload "
			    "(an ancestor); exec a program to get an emulator of its own",
			    (int)getpid());
	errno = err;
	return -1;
}

static void in_child(void)
{
	preload.forked = true;
}

/* The failure message and exit(2) of start-up. */
static void die(const char *what, int err)
{
	preload_say("%s: %s", what, strerror(err));
	_exit(2);
}

/*
 * Config, emu, proc, native, CPUID; in that order, each failure fatal.  Runs
 * once (pthread_once), normally from the constructor.
 */
static void init(void)
{
	char err[256];
	preload_libc_init();
	if (preload_config_read(&preload.cfg, getenv, err, sizeof(err))) {
		preload_say("%s", err);
		_exit(2);
	}
	preload.emu = emu_create(&preload.cfg.emu);
	if (!preload.emu)
		die("cannot create the emulated machine", errno);
	preload.proc = emu_proc_create(preload.emu);
	if (!preload.proc)
		die("cannot create the emulated process", errno);
	struct emu_native_config ncfg;
	emu_native_config_defaults(&ncfg);
	preload.native = emu_native_create(preload.proc, &ncfg);
	if (!preload.native)
		die(errno == EBUSY ? "native execution already exists in this process (is the program linked with "
				     "libsgx2emu and using it itself?)"
				   : "cannot start native execution",
		    errno);
	pthread_atfork(NULL, NULL, in_child);
	atomic_store(&ready, preload.native);
	preload_cpuid_init();
	const struct hw_config *hc = &preload.cfg.emu.hw;
	preload_log("ready: EPC %llu bytes in %u section(s), %u LPs, policy %s, %s, pid %d",
		    (unsigned long long)hc->epc_bytes, hc->epc_sections, hc->nr_lps,
		    emu_policy_name(preload.cfg.emu.policy), hc->sgx1_only ? "SGX1 only" : "SGX2", (int)getpid());
}

bool preload_init(void)
{
	pthread_once(&init_once, init);
	return atomic_load(&ready) != NULL;
}

struct emu_native *preload_native(void)
{
	return atomic_load(&ready);
}


__attribute__((constructor)) static void preload_constructor(void)
{
	preload_init();
}
