/*
 * The SGX device files: open/openat (and their 64-bit and fortify variants)
 * of /dev/sgx_enclave or /dev/sgx_provision (or the /dev/sgx/enclave and
 * /dev/sgx/provision links udev makes) open the file in the model
 * (emu_open) and give the program a real fd that stands for it: a memfd
 * named like the device, so the fd number is the program's own, select/poll
 * and fcntl work on it, and no other open can get the same number while it
 * is in use.  ioctl and close on such an fd go to the model (same return
 * values and errno as Linux's); mmap goes there too (memory.c).
 *
 * Only absolute paths are recognised (openat's dirfd is then ignored, as the
 * kernel does).  The table maps host fd → model fd and records the memfd's
 * inode: a program that closes the fd behind our back (fclose of an fdopen'd
 * stream, close_range, a raw system call) leaves a stale entry, which the
 * next lookup of that fd number recognises by its different inode and drops
 * (closing the model's file, as the lost close would have).
 *
 * dup, dup2 and dup3 of an SGX fd give another host fd for the same model
 * file (as a dup shares the open file); the model's file is closed with the
 * last of them.  fcntl(F_DUPFD) is not interposed: that copy is a plain
 * memfd, on which SGX ioctls fail with ENOTTY (docs/preload.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload.h"
#include "table.h"

struct sgx_file {
	int fd;           /* the program's */
	int emu_fd;       /* the model's */
	dev_t dev;        /* the memfd's identity */
	ino_t ino;
};

static struct preload_table table = PRELOAD_TABLE_INIT(struct sgx_file, 8);

/* Entry i of the table (lock held). */
static struct sgx_file *file(size_t i)
{
	return (struct sgx_file *)table.items + i;
}

/* The model path for path, or NULL if it is not an SGX device path. */
static const char *device_of(const char *path)
{
	if (!path)
		return NULL;
	if (!strcmp(path, "/dev/sgx_enclave") || !strcmp(path, "/dev/sgx/enclave"))
		return "/dev/sgx_enclave";
	if (!strcmp(path, "/dev/sgx_provision") || !strcmp(path, "/dev/sgx/provision"))
		return "/dev/sgx_provision";
	return NULL;
}

/* Index of fd in the table (lock held), or -1. */
static long find(int fd)
{
	for (size_t i = 0; i < table.nr; i++)
		if (file(i)->fd == fd)
			return (long)i;
	return -1;
}

/* Removes entry i (lock held); returns the model fd to close, or -1 while
 * another host fd still stands for it (a dup). */
static int drop(size_t i)
{
	int efd = file(i)->emu_fd;
	*file(i) = *file(--table.nr);
	for (size_t k = 0; k < table.nr; k++)
		if (file(k)->emu_fd == efd)
			return -1;
	return efd;
}

/* The model's file, unless this is a fork child (whose model is a copy
 * that must not touch the EPC it shares with the parent). */
static void model_close(int efd)
{
	if (efd >= 0 && !preload.forked)
		emu_close(preload.proc, efd);
}

/*
 * Opens device in the model and a memfd for the program.  Returns the
 * program's fd, or -1 with errno as Linux's open would set it (the model's
 * errno; EMFILE/ENFILE/ENOMEM from memfd_create).
 */
static int sgx_open(const char *path, const char *device, int flags)
{
	if (preload.forked)
		return preload_forked_fail(ENODEV);
	preload_init();
	int efd = emu_open(preload.proc, device, flags);
	if (efd < 0) {
		preload_log("open(\"%s\", %#x) = -1 %s", path, (unsigned)flags, preload_errname(errno));
		return -1;
	}
	int fd = memfd_create(strrchr(device, '/') + 1, (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		int err = errno;
		if (fd >= 0)
			REAL(close)(fd);
		emu_close(preload.proc, efd);
		errno = err;
		return -1;
	}
	preload_table_lock(&table);
	long stale = find(fd);
	int stale_efd = stale >= 0 ? drop((size_t)stale) : -1;   /* closed behind our back */
	if (preload_table_reserve(&table)) {
		preload_table_unlock(&table);
		model_close(stale_efd);
		REAL(close)(fd);
		emu_close(preload.proc, efd);
		errno = ENOMEM;
		return -1;
	}
	*file(table.nr++) = (struct sgx_file){ .fd = fd, .emu_fd = efd, .dev = st.st_dev, .ino = st.st_ino };
	preload_table_unlock(&table);
	model_close(stale_efd);
	preload_log("open(\"%s\", %#x) = %d (model fd %d)", path, (unsigned)flags, fd, efd);
	return fd;
}

int preload_fd_lookup(int fd)
{
	if (fd < 0 || preload_table_empty(&table))   /* every file mmap asks: no lock while there are no SGX fds */
		return -1;
	preload_table_lock(&table);
	long i = find(fd);
	int efd = -1, stale = -1;
	if (i >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_dev == file(i)->dev && st.st_ino == file(i)->ino) {
			efd = file(i)->emu_fd;
		} else {
			stale = drop((size_t)i);
		}
	}
	preload_table_unlock(&table);
	model_close(stale);
	return efd;
}

/* open's mode argument exists only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, mode)                                                           \
	do {                                                                            \
		va_list ap_;                                                            \
		va_start(ap_, flags);                                                   \
		mode = ((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE ? va_arg(ap_, mode_t) : 0; \
		va_end(ap_);                                                            \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode;
	MODE_ARG(flags, mode);
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode;
	MODE_ARG(flags, mode);
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(open64)(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;
	MODE_ARG(flags, mode);
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(openat)(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;
	MODE_ARG(flags, mode);
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(openat64)(dirfd, path, flags, mode);
}

/* The fortify variants (-D_FORTIFY_SOURCE): open without O_CREAT. */
int __open_2(const char *path, int flags)
{
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(open_2)(path, flags);
}

int __open64_2(const char *path, int flags)
{
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(open64_2)(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(openat_2)(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	const char *dev = device_of(path);
	return dev ? sgx_open(path, dev, flags) : REAL(openat64_2)(dirfd, path, flags);
}

/*
 * close: an SGX fd closes the model's file too (the enclave lives on while
 * mapped, as in Linux), then the memfd; the result is the host close's.
 */
/* fd stops standing for its model file (lock taken here); true if it did. */
static bool forget(int fd)
{
	if (preload_table_empty(&table))   /* unlocked peek: the common case takes no lock */
		return false;
	preload_table_lock(&table);
	long i = find(fd);
	int efd = i >= 0 ? file(i)->emu_fd : -1, last = i >= 0 ? drop((size_t)i) : -1;
	preload_table_unlock(&table);
	if (last >= 0 && !preload.forked) {
		int r = emu_close(preload.proc, last);
		preload_log("close(%d) = %d (model fd %d)", fd, r, last);
	} else if (efd >= 0) {
		preload_log("close(%d) (model fd %d stays open: another fd stands for it)", fd, efd);
	}
	return i >= 0;
}

int close(int fd)
{
	forget(fd);
	return REAL(close)(fd);
}

/* newfd now also stands for oldfd's model file (if oldfd has one). */
static void alias(int oldfd, int newfd)
{
	if (preload_table_empty(&table))
		return;
	preload_table_lock(&table);
	long i = find(oldfd);
	if (i >= 0 && !preload_table_reserve(&table)) {
		struct sgx_file f = *file((size_t)i);
		f.fd = newfd;
		*file(table.nr++) = f;
		preload_log("dup(%d) = %d (model fd %d)", oldfd, newfd, f.emu_fd);
	}
	preload_table_unlock(&table);
}

/*
 * dup/dup2/dup3: the copy stands for the same model file.  dup2/dup3 close
 * newfd first if it was an SGX fd (as the kernel closes it).  Failing to
 * record the copy (no memory) leaves it a plain memfd: its SGX ioctls fail
 * with ENOTTY, never touching another file.
 */
int dup(int oldfd)
{
	int fd = REAL(dup)(oldfd);
	if (fd >= 0)
		alias(oldfd, fd);
	return fd;
}

int dup2(int oldfd, int newfd)
{
	if (oldfd == newfd)
		return REAL(dup2)(oldfd, newfd);
	int fd = REAL(dup2)(oldfd, newfd);
	if (fd >= 0) {
		forget(newfd);
		alias(oldfd, newfd);
	}
	return fd;
}

int dup3(int oldfd, int newfd, int flags)
{
	int fd = REAL(dup3)(oldfd, newfd, flags);
	if (fd >= 0) {
		forget(newfd);
		alias(oldfd, newfd);
	}
	return fd;
}

static const char *ioctl_name(unsigned long cmd)
{
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE: return "SGX_IOC_ENCLAVE_CREATE";
	case SGX_IOC_ENCLAVE_ADD_PAGES: return "SGX_IOC_ENCLAVE_ADD_PAGES";
	case SGX_IOC_ENCLAVE_INIT: return "SGX_IOC_ENCLAVE_INIT";
	case SGX_IOC_ENCLAVE_PROVISION: return "SGX_IOC_ENCLAVE_PROVISION";
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS: return "SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS";
	case SGX_IOC_ENCLAVE_MODIFY_TYPES: return "SGX_IOC_ENCLAVE_MODIFY_TYPES";
	case SGX_IOC_ENCLAVE_REMOVE_PAGES: return "SGX_IOC_ENCLAVE_REMOVE_PAGES";
	default: return "?";
	}
}

/*
 * ioctl on an SGX fd: emu_ioctl.  SGX_IOC_ENCLAVE_PROVISION carries an fd,
 * which is translated to the model's (a host fd that is not an SGX file
 * becomes one the model rejects with EINVAL, as Linux rejects it).
 */
int ioctl(int fd, unsigned long cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int efd = preload_fd_lookup(fd);
	if (efd < 0)
		return REAL(ioctl)(fd, cmd, arg);
	if (preload.forked)
		return preload_forked_fail(EBADF);
	struct sgx_enclave_provision prov;
	struct iovec mine = { &prov, sizeof(prov) }, theirs = { arg, sizeof(prov) };
	/* an unreadable argument is left to the model, which says EFAULT */
	if (cmd == SGX_IOC_ENCLAVE_PROVISION &&
	    process_vm_readv(getpid(), &mine, 1, &theirs, 1, 0) == (ssize_t)sizeof(prov)) {
		int pfd = prov.fd <= 0x7fffffff ? preload_fd_lookup((int)prov.fd) : -1;
		prov.fd = pfd >= 0 ? (uint64_t)pfd : UINT64_MAX;
		arg = &prov;
	}
	int r = emu_ioctl(preload.proc, efd, cmd, arg);
	if (r < 0)
		preload_log("ioctl(%d, %s) = -1 %s", fd, ioctl_name(cmd), preload_errname(errno));
	else
		preload_log("ioctl(%d, %s) = %d", fd, ioctl_name(cmd), r);
	return r;
}
