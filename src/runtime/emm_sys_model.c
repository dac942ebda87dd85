/*
 * sgx2emu_emm_sys_model (include/sgx2emu/emm_backend.h): the EMM backend's
 * system calls as the model's system API of an emu_proc.  Its own unit, so
 * that a program which only uses the C library's table (under the preload
 * library) does not pull the whole model in from libsgx2emu.a.
 */
#include "sgx2emu/emm_backend.h"

/* Each forwards to the call of the same name on the emu_proc ctx. */
static int model_ioctl(void *ctx, int fd, unsigned long cmd, void *arg)
{
	return emu_ioctl(ctx, fd, cmd, arg);
}

static void *model_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	return emu_mmap(ctx, addr, len, prot, flags, fd, offset);
}

static int model_mprotect(void *ctx, void *addr, size_t len, int prot)
{
	return emu_mprotect(ctx, addr, len, prot);
}

static int model_munmap(void *ctx, void *addr, size_t len)
{
	return emu_munmap(ctx, addr, len);
}

const struct sgx2emu_emm_sys sgx2emu_emm_sys_model = { model_ioctl, model_mmap, model_mprotect, model_munmap };
