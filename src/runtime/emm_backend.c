/*
 * The host side of the Intel EMM's OCALLs (include/sgx2emu/emm_backend.h):
 * sgx_mm_alloc_ocall and sgx_mm_modify_ocall as the SDK's untrusted runtime
 * documents them (enclave_alloc / enclave_modify; runtimes-and-peers.md
 * §4.2), through a table of system calls, and the service of the doorbell
 * OCALL convention of include/sgx2emu/emm_enclave.h.  Written from the
 * documented semantics, not from the SDK's code.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "sgx2emu/arch.h"
#include "sgx2emu/emm_backend.h"

/*
 * Where the values come from.  sgx_mm.h (sgx-emm) defines SGX_EMA_* with the
 * numbers of emm_enclave.h; they are the architecture's, which is what is
 * checked here: permissions are PROT_* (the host hands them to mprotect) and
 * SECINFO R/W/X (the EMM builds SECINFOs from them and the host hands them to
 * RESTRICT_PERMISSIONS); page types are SECINFO.PAGE_TYPE << 8 (the host
 * hands type >> 8 to MODIFY_TYPES); ema.c's state bits are SECINFO's; the
 * leaves are ENCLU's; EFAULT is the errno the abstraction layer returns.
 */
_Static_assert(SGX2EMU_EMA_PROT_READ == PROT_READ && SGX2EMU_EMA_PROT_WRITE == PROT_WRITE &&
	       SGX2EMU_EMA_PROT_EXEC == PROT_EXEC && SGX2EMU_EMA_PROT_NONE == PROT_NONE, "PROT_*");
_Static_assert(SGX2EMU_EMA_PROT_READ == SGX_SECINFO_R && SGX2EMU_EMA_PROT_WRITE == SGX_SECINFO_W &&
	       SGX2EMU_EMA_PROT_EXEC == SGX_SECINFO_X && SGX2EMU_EMA_PROT_MASK == SGX_SECINFO_RWX, "SECINFO rights");
_Static_assert(SGX2EMU_EMA_PAGE_TYPE_SHIFT == SGX_SECINFO_PT_SHIFT &&
	       SGX2EMU_EMA_PAGE_TYPE_MASK == SGX_SECINFO_PT_MASK &&
	       SGX2EMU_EMA_PAGE_TYPE_TCS == SGX_SECINFO_PT(SGX_PT_TCS) &&
	       SGX2EMU_EMA_PAGE_TYPE_REG == SGX_SECINFO_PT(SGX_PT_REG) &&
	       SGX2EMU_EMA_PAGE_TYPE_TRIM == SGX_SECINFO_PT(SGX_PT_TRIM) &&
	       SGX2EMU_EMA_PAGE_TYPE_SS_FIRST == SGX_SECINFO_PT(SGX_PT_SS_FIRST) &&
	       SGX2EMU_EMA_PAGE_TYPE_SS_REST == SGX_SECINFO_PT(SGX_PT_SS_REST), "SECINFO page types");
_Static_assert(SGX2EMU_EMA_STATE_PENDING == SGX_SECINFO_PENDING &&
	       SGX2EMU_EMA_STATE_MODIFIED == SGX_SECINFO_MODIFIED && SGX2EMU_EMA_STATE_PR == SGX_SECINFO_PR,
	       "SECINFO state bits");
_Static_assert(SGX2EMU_ENCLU_EACCEPT == SGX_EACCEPT && SGX2EMU_ENCLU_EMODPE == SGX_EMODPE &&
	       SGX2EMU_ENCLU_EACCEPTCOPY == SGX_EACCEPTCOPY, "ENCLU leaves");
_Static_assert(SGX2EMU_EMM_EFAULT == EFAULT, "EFAULT");
_Static_assert(sizeof(struct sgx2emu_sec_info) == sizeof(struct sgx_secinfo) &&
	       _Alignof(struct sgx2emu_sec_info) == 64, "sec_info_t is a SECINFO");
_Static_assert(sizeof(struct sgx2emu_emm_ocall) == 48 && SGX2EMU_EMM_PAGE == SGX_PAGE_SIZE, "OCALL block");

/* ---- the C library's system calls (the model's: emm_sys_model.c) ---- */

/* Each calls the C library's function of the same name (ctx unused); under
 * the preload library those reach the emulator for enclave fds and ranges
 * and the host kernel for everything else, the OCALL area included. */
static int libc_ioctl(void *ctx, int fd, unsigned long cmd, void *arg)
{
	(void)ctx;
	return ioctl(fd, cmd, arg);
}

static void *libc_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	(void)ctx;
	return mmap(addr, len, prot, flags, fd, offset);
}

static int libc_mprotect(void *ctx, void *addr, size_t len, int prot)
{
	(void)ctx;
	return mprotect(addr, len, prot);
}

static int libc_munmap(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	return munmap(addr, len);
}

const struct sgx2emu_emm_sys sgx2emu_emm_sys_libc = { libc_ioctl, libc_mmap, libc_mprotect, libc_munmap };

/* ---- helpers ---- */

/* An address as a pointer. */
static void *ptr(uint64_t a)
{
	return (void *)(uintptr_t)a;
}

/* The range is whole pages of ELRANGE, at least one. */
static bool range_ok(const struct sgx2emu_emm_host *h, uint64_t addr, size_t length)
{
	if (!length || (addr | length) & (SGX_PAGE_SIZE - 1))
		return false;
	return addr >= h->base && addr - h->base <= h->size && length <= h->size - (addr - h->base);
}

/* mprotect through the table: 0 or its errno. */
static int do_mprotect(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, int prot)
{
	return h->sys->mprotect(h->ctx, ptr(addr), length, prot) ? errno : 0;
}

/* Consecutive answers without progress (EBUSY/EAGAIN with count 0) before
 * the errno is given up on; the SDK retries forever. */
#define EMM_IOCTL_RETRIES 64

/*
 * An SGX2 ioctl over [addr, addr + length): offset and length are the first
 * two fields of each of the three structs, count their sixth / fourth (the
 * caller passes where).  Repeated on what remains while an answer makes
 * progress or says EBUSY / EAGAIN.  0, or the errno of an answer without
 * progress.
 */
static int sgx2_ioctl_loop(struct sgx2emu_emm_host *h, unsigned long cmd, uint64_t addr, size_t length,
			   void *ioc, __u64 *offset, __u64 *len, __u64 *count, __u64 *result)
{
	unsigned idle = 0;
	*offset = addr - h->base;
	*len = length;
	while (*len) {
		*count = 0;
		if (result)
			*result = 0;
		int ret = h->sys->ioctl(h->ctx, h->fd, cmd, ioc);
		int err = ret ? errno : 0;
		if (*count > *len)
			return EIO;   /* the kernel's answer cannot be trusted */
		if (*count) {
			idle = 0;
			*offset += *count;
			*len -= *count;
			continue;
		}
		if (!ret)
			return EIO;   /* success without progress: it would never end */
		if ((err != EBUSY && err != EAGAIN) || ++idle >= EMM_IOCTL_RETRIES)
			return err;
	}
	return 0;
}

/* MODIFY_TYPES / RESTRICT_PERMISSIONS / REMOVE_PAGES over the range: what
 * sgx2_ioctl_loop returns. */
static int modify_types(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, uint64_t page_type)
{
	struct sgx_enclave_modify_types ioc = { .page_type = page_type };
	return sgx2_ioctl_loop(h, SGX_IOC_ENCLAVE_MODIFY_TYPES, addr, length, &ioc, &ioc.offset, &ioc.length,
			       &ioc.count, &ioc.result);
}

static int restrict_permissions(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, uint64_t perms)
{
	struct sgx_enclave_restrict_permissions ioc = { .permissions = perms };
	return sgx2_ioctl_loop(h, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, addr, length, &ioc, &ioc.offset,
			       &ioc.length, &ioc.count, &ioc.result);
}

static int remove_pages(struct sgx2emu_emm_host *h, uint64_t addr, size_t length)
{
	struct sgx_enclave_remove_pages ioc = { 0 };
	return sgx2_ioctl_loop(h, SGX_IOC_ENCLAVE_REMOVE_PAGES, addr, length, &ioc, &ioc.offset, &ioc.length,
			       &ioc.count, NULL);
}

/* ---- the two OCALLs ---- */

/* emm_backend.h: the request's checks (EINVAL / EFAULT), then the mmap. */
int sgx2emu_emm_alloc(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, int page_type, int alloc_flags)
{
	unsigned flags = (unsigned)alloc_flags;
	unsigned commit = flags & (SGX2EMU_EMA_RESERVE | SGX2EMU_EMA_COMMIT_NOW | SGX2EMU_EMA_COMMIT_ON_DEMAND);
	unsigned grow = SGX2EMU_EMA_GROWSDOWN | SGX2EMU_EMA_GROWSUP;

	if (!range_ok(h, addr, length))
		return EINVAL;
	if (page_type == (int)SGX2EMU_EMA_PAGE_TYPE_SS_FIRST || page_type == (int)SGX2EMU_EMA_PAGE_TYPE_SS_REST)
		return EFAULT;
	if (page_type != 0 && page_type != (int)SGX2EMU_EMA_PAGE_TYPE_REG)
		return EINVAL;
	if (alloc_flags < 0 || (flags & ~SGX2EMU_EMA_ALLOC_FLAGS_MASK) ||
	    (commit != SGX2EMU_EMA_COMMIT_NOW && commit != SGX2EMU_EMA_COMMIT_ON_DEMAND) ||
	    (flags & grow) == grow)
		return EINVAL;
	void *p = h->sys->mmap(h->ctx, ptr(addr), length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, h->fd, 0);
	return p == MAP_FAILED ? errno : 0;
}

/* The page types a modify may name: REG, TCS, TRIM. */
static bool type_known(unsigned type)
{
	return type == SGX2EMU_EMA_PAGE_TYPE_REG || type == SGX2EMU_EMA_PAGE_TYPE_TCS ||
	       type == SGX2EMU_EMA_PAGE_TYPE_TRIM;
}

/* emm_backend.h: the checks (EINVAL, nothing done), then the table's row
 * for the pair of types and permissions. */
int sgx2emu_emm_modify(struct sgx2emu_emm_host *h, uint64_t addr, size_t length, int flags_from, int flags_to)
{
	unsigned from = (unsigned)flags_from, to = (unsigned)flags_to;
	unsigned valid = SGX2EMU_EMA_PROT_MASK | SGX2EMU_EMA_PAGE_TYPE_MASK;
	unsigned type_from = from & SGX2EMU_EMA_PAGE_TYPE_MASK, type_to = to & SGX2EMU_EMA_PAGE_TYPE_MASK;
	unsigned prot_from = from & SGX2EMU_EMA_PROT_MASK, prot_to = to & SGX2EMU_EMA_PROT_MASK;
	int err;

	if (!range_ok(h, addr, length) || (from & ~valid) || (to & ~valid) || !type_known(type_from) ||
	    !type_known(type_to))
		return EINVAL;
	if (type_from == SGX2EMU_EMA_PAGE_TYPE_TRIM && type_to != SGX2EMU_EMA_PAGE_TYPE_TRIM)
		return EINVAL;   /* a trimmed page only goes away */
	if (type_from != type_to && prot_from != prot_to)
		return EINVAL;   /* one change at a time */

	if (type_from == SGX2EMU_EMA_PAGE_TYPE_TRIM) {
		/* The EMM EACCEPTed the trim: the pages can go. */
		err = remove_pages(h, addr, length);
		if (!err && prot_to == SGX2EMU_EMA_PROT_NONE)
			err = do_mprotect(h, addr, length, PROT_NONE);
		return err;
	}
	if (type_to == SGX2EMU_EMA_PAGE_TYPE_TRIM)
		return modify_types(h, addr, length, SGX_PT_TRIM);
	if (type_to == SGX2EMU_EMA_PAGE_TYPE_TCS && type_from != type_to) {
		if (type_from != SGX2EMU_EMA_PAGE_TYPE_REG || prot_from != SGX2EMU_EMA_PROT_READ_WRITE)
			return EINVAL;
		return modify_types(h, addr, length, SGX_PT_TCS);
	}
	if (type_from != type_to)
		return EINVAL;   /* TCS → REG: no such change */
	if (prot_from == prot_to) {
		/* After an EACCEPT of a restriction to NONE: now the PTEs, too. */
		return prot_to == SGX2EMU_EMA_PROT_NONE ? do_mprotect(h, addr, length, PROT_NONE) : 0;
	}
	if (type_from != SGX2EMU_EMA_PAGE_TYPE_REG)
		return EINVAL;   /* only regular pages have permissions to change */
	err = restrict_permissions(h, addr, length, prot_to);
	/* EACCEPT needs a readable PTE: NONE waits for the NONE → NONE call. */
	if (!err && prot_to != SGX2EMU_EMA_PROT_NONE)
		err = do_mprotect(h, addr, length, (int)prot_to);
	return err;
}

/* ---- the OCALL area ---- */

/* The area PROT_NONE, then its request block RW: 0 or the errno (nothing
 * left mapped). */
int sgx2emu_emm_area_create(struct sgx2emu_emm_host *h)
{
	void *p = h->sys->mmap(h->ctx, NULL, SGX2EMU_EMM_AREA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	if (h->sys->mprotect(h->ctx, p, SGX2EMU_EMM_PAGE, PROT_READ | PROT_WRITE)) {
		int err = errno;
		h->sys->munmap(h->ctx, p, SGX2EMU_EMM_AREA_SIZE);
		return err;
	}
	h->area = (uint64_t)(uintptr_t)p;
	return 0;
}

/* Unmaps the area, if any. */
void sgx2emu_emm_area_destroy(struct sgx2emu_emm_host *h)
{
	if (h->area)
		h->sys->munmap(h->ctx, ptr(h->area), SGX2EMU_EMM_AREA_SIZE);
	h->area = 0;
}

/* The request, read once from untrusted memory the enclave may still write. */
static int run_request(struct sgx2emu_emm_host *h, const volatile struct sgx2emu_emm_ocall *blk, unsigned bell)
{
	uint64_t seq = blk->seq, nr = blk->nr, addr = blk->addr, length = blk->length;
	int a0 = blk->a0, a1 = blk->a1;
	if ((seq & 1) != bell)
		return EINVAL;
	switch (nr) {
	case SGX2EMU_EMM_OCALL_ALLOC:
		return sgx2emu_emm_alloc(h, addr, length, a0, a1);
	case SGX2EMU_EMM_OCALL_MODIFY:
		return sgx2emu_emm_modify(h, addr, length, a0, a1);
	default:
		return EINVAL;
	}
}

/* emm_backend.h: a doorbell's #PF → the request, ret, the doorbells swapped,
 * run's exception cleared: 1; another exit: 0; the mprotects failed: -errno. */
int sgx2emu_emm_ocall_service(struct sgx2emu_emm_host *h, struct sgx_enclave_run *run)
{
	uint64_t page = run->exception_addr & SGX_PAGE_MASK;
	unsigned bell;

	if (!h || !h->area || run->function != SGX_ERESUME || run->exception_vector != SGX_VEC_PF)
		return 0;
	if (page == SGX2EMU_EMM_DOORBELL(h->area, 0))
		bell = 0;
	else if (page == SGX2EMU_EMM_DOORBELL(h->area, 1))
		bell = 1;
	else
		return 0;

	volatile struct sgx2emu_emm_ocall *blk = ptr(h->area);
	blk->ret = run_request(h, blk, bell);
	if (h->sys->mprotect(h->ctx, ptr(SGX2EMU_EMM_DOORBELL(h->area, bell)), SGX2EMU_EMM_PAGE, PROT_READ) ||
	    h->sys->mprotect(h->ctx, ptr(SGX2EMU_EMM_DOORBELL(h->area, !bell)), SGX2EMU_EMM_PAGE, PROT_NONE))
		return -errno;
	/* The enclave never sees this exit: neither does the vDSO's caller. */
	run->exception_vector = 0;
	run->exception_error_code = 0;
	run->exception_addr = 0;
	return 1;
}

/* The service as a vDSO user handler: ERESUME when it answered. */
int sgx2emu_emm_user_handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9, struct sgx_enclave_run *run)
{
	(void)rdi, (void)rsi, (void)rdx, (void)ursp, (void)r8, (void)r9;
	int ret = sgx2emu_emm_ocall_service((struct sgx2emu_emm_host *)(uintptr_t)run->user_data, run);
	return ret == 1 ? SGX_ERESUME : ret;
}
