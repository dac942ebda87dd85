/*
 * libc's functions behind the interposers, and the __wrap_* functions the
 * library objects of this .so call instead of the interposed names (the link
 * passes --wrap=NAME for each, mk/preload.mk): the emulator's own host
 * mappings, protections and signal handlers must reach libc, never the
 * interposers that route the program's calls into the model.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload.h"

struct preload_libc preload_libc;
static pthread_once_t libc_once = PTHREAD_ONCE_INIT;

/* The next definition of name after this .so (libc's, or a sanitizer
 * runtime's placed after us).  Without one the process cannot go on. */
static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		preload_say("libc has no %s: cannot interpose it", name);
		_exit(2);
	}
	return p;
}

/* Resolves every pointer at once: the first caller may be the constructor,
 * an interposer called by another library's constructor, or the native
 * layer; never a signal handler first, since the constructor runs before
 * the handlers exist. */
static void resolve(void)
{
	struct preload_libc *l = &preload_libc;
	l->open = next("open");
	l->open64 = next("open64");
	l->openat = next("openat");
	l->openat64 = next("openat64");
	l->open_2 = next("__open_2");
	l->open64_2 = next("__open64_2");
	l->openat_2 = next("__openat_2");
	l->openat64_2 = next("__openat64_2");
	l->close = next("close");
	l->dup = next("dup");
	l->dup2 = next("dup2");
	l->dup3 = next("dup3");
	l->ioctl = next("ioctl");
	l->mmap = next("mmap");
	l->mmap64 = next("mmap64");
	l->munmap = next("munmap");
	l->mprotect = next("mprotect");
	l->mremap = next("mremap");
	l->getauxval = next("getauxval");
	l->sigaction = next("sigaction");
	l->signal = next("signal");
}

void preload_libc_init(void)
{
	pthread_once(&libc_once, resolve);
}

/* ---- what the library objects call (--wrap) ---- */

int __wrap_open(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
int __wrap_close(int fd);
int __wrap_ioctl(int fd, unsigned long cmd, ...);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);
int __wrap_mprotect(void *addr, size_t len, int prot);
unsigned long __wrap_getauxval(unsigned long type);
int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
__sighandler_t __wrap_signal(int sig, __sighandler_t h);

/* open's mode argument exists only with O_CREAT or O_TMPFILE. */
static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return REAL(open)(path, flags, mode);
}

int __wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return REAL(open64)(path, flags, mode);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return REAL(openat)(dirfd, path, flags, mode);
}

int __wrap_close(int fd)
{
	return REAL(close)(fd);
}

int __wrap_ioctl(int fd, unsigned long cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return REAL(ioctl)(fd, cmd, arg);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return REAL(mmap)(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return REAL(mmap64)(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	return REAL(munmap)(addr, len);
}

int __wrap_mprotect(void *addr, size_t len, int prot)
{
	return REAL(mprotect)(addr, len, prot);
}

unsigned long __wrap_getauxval(unsigned long type)
{
	return REAL(getauxval)(type);
}

int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return REAL(sigaction)(sig, act, old);
}

__sighandler_t __wrap_signal(int sig, __sighandler_t h)
{
	return REAL(signal)(sig, h);
}
