/*
 * /dev/sgx_enclave ioctls (Linux ioctl.c, linux-driver.md §1.4): dispatch,
 * CREATE, ADD_PAGES, INIT, PROVISION.  The SGX2 ones are in ioctl_sgx2.c.
 *
 * User data is copied into kernel buffers (copy_from_user) and ENCLS gets
 * host addresses of those buffers and of EPC frames, on the LP the kernel
 * uses for the caller.  The model has no signals: the -ERESTARTSYS exits of
 * Linux (ADD_PAGES before the first page, EINIT's sleeps, reclaim) never
 * happen.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sgx2emu/sign.h"
#include "driver.h"

/* Attributes an enclave may have without asking (SGX_ATTR_UNPRIV_MASK). */
#define ATTR_UNPRIV_MASK (SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY)
/* SGX_ATTR_RESERVED_MASK: bits 3, 6, 8, 9 and 63:11 have no meaning to the driver. */
#define ATTR_RESERVED_MASK ((1ull << 3) | (1ull << 6) | (3ull << 8) | ~((1ull << 11) - 1))
/* SGX_SECINFO_*: only R/W/X and the page type may be set in ADD_PAGES. */
#define SECINFO_PERM_MASK SGX_SECINFO_RWX
#define SECINFO_RESERVED_MASK (~(SGX_SECINFO_RWX | SGX_SECINFO_PT_MASK))
/* EINIT retries on SGX_UNMASKED_EVENT (driver.h of Linux). */
#define EINIT_SPIN_COUNT 20
#define EINIT_SLEEP_COUNT 50
#define EINIT_SLEEP_MS 20

/* IA32_SGXLEPUBKEYHASH is one machine-wide value in the model, so writing it
 * and running EINIT must not interleave with another INIT (Linux: per-CPU
 * MSRs written with preemption disabled). */
static pthread_mutex_t einit_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static struct sgx_result encls(struct emu *emu, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	return hw_encls(emu_kernel_lp(emu), leaf, rbx, rcx, rdx);
}

/* sgx_validate_offset_length (with the 2022 wrap-around fix), for
 * ADD_PAGES and every SGX2 and extension ioctl. */
bool encl_validate_offset_length(const struct drv_encl *encl, uint64_t offset, uint64_t length)
{
	if (offset & (SGX_PAGE_SIZE - 1))
		return false;
	if (!length || (length & (SGX_PAGE_SIZE - 1)))
		return false;
	if (offset + length < offset)
		return false;
	return offset + length - SGX_PAGE_SIZE < encl->size;
}

/* ---- CREATE ---- */

/* sgx_encl_create: VA accounting, then the SECS frame and ECREATE with an
 * all-zero SECINFO.  The backing store is allocated page by page when the
 * reclaimer evicts, so there is nothing to size here. */
static long create_enclave(struct drv_encl *encl, const struct sgx_secs *secs)
{
	struct emu *emu = encl->emu;
	int err;

	/* In software, so that size arithmetic (backing size, ELRANGE end)
	 * cannot overflow; ECREATE would refuse it anyway. */
	if (!is_power_of_2(secs->size))
		return -EINVAL;
	err = encl_grow(encl, true);
	if (err)
		return err;
	uint32_t frame = epc_alloc(emu, &encl->secs, true, &err);
	if (frame == HW_NO_FRAME)
		goto out_ungrow;

	static const struct sgx_secinfo secinfo;   /* PT_SECS, no rights */
	struct sgx_pageinfo pginfo = {
		.srcpge = (uint64_t)(uintptr_t)secs,
		.secinfo = (uint64_t)(uintptr_t)&secinfo,
	};
	if (!sgx_ok(encls(emu, SGX_ECREATE, (uint64_t)(uintptr_t)&pginfo, epc_kaddr(emu, frame), 0))) {
		epc_free(emu, frame);   /* never became VALID: nothing to EREMOVE */
		err = -EIO;
		goto out_ungrow;
	}
	if (secs->attributes.flags & SGX_ATTR_DEBUG)
		atomic_fetch_or(&encl->flags, DRV_ENCL_DEBUG);
	encl->secs.epc_frame = frame;
	encl->base = secs->base;
	encl->size = secs->size;
	encl->attributes = secs->attributes.flags;
	encl->attributes_mask = ATTR_UNPRIV_MASK;
	/* last: the other ioctls test it without encl->lock */
	atomic_fetch_or(&encl->flags, DRV_ENCL_CREATED);
	return 0;

out_ungrow:
	pthread_mutex_lock(&encl->lock);
	encl_ungrow(encl);
	pthread_mutex_unlock(&encl->lock);
	return err;
}

static long ioc_create(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_create p;

	if (atomic_load(&encl->flags) & DRV_ENCL_CREATED)
		return -EINVAL;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	if (!secs)
		return -ENOMEM;
	long ret;
	if (copy_from_user(proc->mm, secs, p.src, sizeof(*secs)))
		ret = -EFAULT;
	else
		ret = create_enclave(encl, secs);
	free(secs);
	return ret;
}

/* ---- ADD_PAGES ---- */

/* sgx_validate_secinfo */
static bool secinfo_ok(const struct sgx_secinfo *secinfo)
{
	uint64_t perm = secinfo->flags & SECINFO_PERM_MASK;
	uint64_t pt = (secinfo->flags & SGX_SECINFO_PT_MASK) >> SGX_SECINFO_PT_SHIFT;

	if (pt != SGX_PT_REG && pt != SGX_PT_TCS)
		return false;
	if ((perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R))
		return false;
	/* The CPU zeroes a TCS's EPCM rights, so rights given here would make
	 * the measurement differ from what the signer computed. */
	if (pt == SGX_PT_TCS && perm)
		return false;
	if (secinfo->flags & SECINFO_RESERVED_MASK)
		return false;
	for (size_t i = 0; i < sizeof(secinfo->reserved); i++)
		if (secinfo->reserved[i])
			return false;
	return true;
}

/*
 * The source checks of __sgx_encl_add_page: the VMA holding src must allow
 * exec mappings (not from a noexec mount: -EACCES) and be pinnable for
 * reading (get_user_pages: -EFAULT for PROT_NONE, exec-only or VM_PFNMAP
 * enclave mappings).  Ambient host memory (no emu VMA) counts as MAYEXEC; a
 * hole in the host is -EFAULT from the copy.  0 or -errno.
 */
static int source_check(struct drv_mm *mm, uint64_t src)
{
	int ret = 0;
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *vma = mm_find_vma(mm, src);
	if (vma && vma->start <= src && src < vma->end) {
		if (!(vma->flags & DRV_VMA_MAYEXEC))
			ret = -EACCES;
		else if ((vma->flags & DRV_VMA_SGX) || !(vma->prot & DRV_VM_READ))
			ret = -EFAULT;
	}
	pthread_rwlock_unlock(&mm->lock);
	return ret;
}

/* EADD, then EEXTEND 256 bytes at a time when measured. */
static long eadd_page(struct drv_encl *encl, struct drv_page *page, uint32_t frame, const void *contents,
		      const struct sgx_secinfo *secinfo, uint64_t flags)
{
	struct emu *emu = encl->emu;
	uint64_t secs = epc_kaddr(emu, encl->secs.epc_frame);
	struct sgx_pageinfo pginfo = {
		.linaddr = page->addr,
		.srcpge = (uint64_t)(uintptr_t)contents,
		.secinfo = (uint64_t)(uintptr_t)secinfo,
		.secs = secs,
	};
	if (!sgx_ok(encls(emu, SGX_EADD, (uint64_t)(uintptr_t)&pginfo, epc_kaddr(emu, frame), 0)))
		return -EIO;
	/* Complete the add before extending: an EEXTEND failure then leaves a
	 * consistent (if unusable) enclave. */
	page->epc_frame = frame;
	page->type = (uint8_t)((secinfo->flags & SGX_SECINFO_PT_MASK) >> SGX_SECINFO_PT_SHIFT);
	encl->secs_child_cnt++;
	if (flags & SGX_PAGE_MEASURE)
		for (unsigned i = 0; i < SGX_PAGE_SIZE; i += 256)
			if (!sgx_ok(encls(emu, SGX_EEXTEND, secs, epc_kaddr(emu, frame) + i, 0)))
				return -EIO;
	return 0;
}

/*
 * sgx_encl_add_page.  Frame and VA slot first (they may reclaim, so without
 * encl->lock); then, under the lock, the xarray slot (-EBUSY if the page
 * exists), the source checks and EADD/EEXTEND (-EIO).  The source is copied
 * before the lock is taken; its verdict is reported in Linux's order.
 */
static long add_page(struct emu_proc *proc, struct drv_encl *encl, uint64_t src, uint64_t offset,
		     const struct sgx_secinfo *secinfo, uint64_t flags, uint8_t *kpage)
{
	struct emu *emu = encl->emu;
	int err;

	struct drv_page *page = calloc(1, sizeof(*page));
	if (!page)
		return -ENOMEM;
	page->addr = encl->base + offset;
	page->encl = encl;
	page->epc_frame = HW_NO_FRAME;
	if ((secinfo->flags & SGX_SECINFO_PT_MASK) == SGX_SECINFO_PT(SGX_PT_TCS))
		policy_page_added(page, DRV_VM_READ | DRV_VM_WRITE);   /* the kernel must map a TCS RW */
	else
		policy_page_added(page, secinfo->flags & SECINFO_PERM_MASK);
	page->flags |= DRV_PAGE_ADDED;

	uint32_t frame = epc_alloc(emu, page, true, &err);
	if (frame == HW_NO_FRAME) {
		free(page);
		return err;
	}
	err = encl_grow(encl, true);
	if (err) {
		epc_free(emu, frame);
		free(page);
		return err;
	}

	int src_err = source_check(proc->mm, src);
	if (!src_err && copy_from_user(proc->mm, kpage, src, SGX_PAGE_SIZE))
		src_err = -EFAULT;

	long ret;
	pthread_mutex_lock(&encl->lock);
	ret = xa_insert(&encl->pages, page->addr >> 12, page);
	if (ret)
		goto out_ungrow;
	ret = src_err;
	if (!ret)
		ret = eadd_page(encl, page, frame, kpage, secinfo, flags);
	if (ret)
		goto out_erase;
	epc_mark_reclaimable(emu, frame);
	pthread_mutex_unlock(&encl->lock);
	return 0;

out_erase:
	xa_erase(&encl->pages, page->addr >> 12);
	if (page->epc_frame != HW_NO_FRAME)
		encl->secs_child_cnt--;
out_ungrow:
	encl_ungrow(encl);
	pthread_mutex_unlock(&encl->lock);
	if (page->epc_frame != HW_NO_FRAME) {
		/* EEXTEND failed after EADD: the page must be EREMOVEd */
		if (sgx_ok(encls(emu, SGX_EREMOVE, 0, epc_kaddr(emu, frame), 0)))
			epc_free(emu, frame);
	} else {
		epc_free(emu, frame);
	}
	free(page);
	return ret;
}

static long ioc_add_pages(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_add_pages p;
	struct sgx_secinfo secinfo;
	unsigned flags = atomic_load(&encl->flags);

	if (!(flags & DRV_ENCL_CREATED) || (flags & DRV_ENCL_INITIALIZED))
		return -EINVAL;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	if (p.src & (SGX_PAGE_SIZE - 1))
		return -EINVAL;
	if (!encl_validate_offset_length(encl, p.offset, p.length))
		return -EINVAL;
	if (copy_from_user(proc->mm, &secinfo, p.secinfo, sizeof(secinfo)))
		return -EFAULT;
	if (!secinfo_ok(&secinfo))
		return -EINVAL;

	uint8_t *kpage = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!kpage)
		return -ENOMEM;
	long ret = 0;
	uint64_t c;
	for (c = 0; c < p.length; c += SGX_PAGE_SIZE) {
		ret = add_page(proc, encl, p.src + c, p.offset + c, &secinfo, p.flags, kpage);
		if (ret)
			break;
	}
	free(kpage);
	p.count = c;
	if (copy_to_user(proc->mm, (uint64_t)(uintptr_t)arg, &p, sizeof(p)))
		return -EFAULT;
	return ret;
}

/* ---- INIT ---- */

/* The reserved masks Linux derives from CPUID.12H at boot. */
static void reserved_masks(struct emu *emu, uint64_t *attr, uint32_t *misc, uint64_t *xfrm)
{
	uint32_t r[4];
	hw_cpuid(emu->m, 0x12, 0, r);
	*misc = ~r[1];
	hw_cpuid(emu->m, 0x12, 1, r);
	*attr = ~((uint64_t)r[1] << 32 | r[0]) | ATTR_RESERVED_MASK;
	*xfrm = ~((uint64_t)r[3] << 32 | r[2]);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* sgx_encl_init: policy checks, then EINIT with MRSIGNER in the launch
 * hash MSRs, retried while an interrupt cuts it short. */
static long init_enclave(struct drv_encl *encl, const struct sgx_sigstruct *ss, const void *token)
{
	struct emu *emu = encl->emu;
	uint64_t attr_res, xfrm_res;
	uint32_t misc_res;
	uint8_t mrsigner[32];

	/* PROVISIONKEY (and anything else not granted) must have been allowed. */
	if (encl->attributes & ~encl->attributes_mask)
		return -EACCES;
	/* Only bits the SIGSTRUCT enforces count: an enclave signed with a
	 * feature bit it does not insist on still loads without it. */
	reserved_masks(emu, &attr_res, &misc_res, &xfrm_res);
	if (ss->body.attributes.flags & ss->body.attributes_mask.flags & attr_res)
		return -EINVAL;
	if (ss->body.miscselect & ss->body.misc_mask & misc_res)
		return -EINVAL;
	if (ss->body.attributes.xfrm & ss->body.attributes_mask.xfrm & xfrm_res)
		return -EINVAL;
	sgx_sigstruct_mrsigner(ss, mrsigner);

	pthread_mutex_lock(&encl->lock);
	struct sgx_result r = { 0 };
	for (unsigned i = 0; i < EINIT_SLEEP_COUNT; i++) {
		for (unsigned j = 0; j < EINIT_SPIN_COUNT; j++) {
			pthread_mutex_lock(&einit_lock);
			hw_set_lepubkeyhash(emu->m, mrsigner);
			r = encls(emu, SGX_EINIT, (uint64_t)(uintptr_t)ss, epc_kaddr(emu, encl->secs.epc_frame),
				  (uint64_t)(uintptr_t)token);
			pthread_mutex_unlock(&einit_lock);
			if (r.vector != SGX_VEC_NONE || r.rax != SGX_UNMASKED_EVENT)
				break;
		}
		if (r.vector != SGX_VEC_NONE || r.rax != SGX_UNMASKED_EVENT)
			break;
		sleep_ms(EINIT_SLEEP_MS);
	}
	long ret = 0;
	if (r.vector != SGX_VEC_NONE)
		ret = -EIO;
	else if (r.rax)
		ret = -EPERM;
	else
		atomic_fetch_or(&encl->flags, DRV_ENCL_INITIALIZED);
	pthread_mutex_unlock(&encl->lock);
	return ret;
}

static long ioc_init(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_init p;
	unsigned flags = atomic_load(&encl->flags);

	if (!(flags & DRV_ENCL_CREATED) || (flags & DRV_ENCL_INITIALIZED))
		return -EINVAL;
	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	/* One page: SIGSTRUCT at 0 (4K-aligned for EINIT), a zero token at
	 * 2048 (512-aligned): the model, like Linux, launches without tokens. */
	uint8_t *kpage = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!kpage)
		return -ENOMEM;
	memset(kpage, 0, SGX_PAGE_SIZE);
	struct sgx_sigstruct *ss = (struct sgx_sigstruct *)kpage;
	long ret;
	if (copy_from_user(proc->mm, ss, p.sigstruct, sizeof(*ss)))
		ret = -EFAULT;
	else if (ss->header.vendor != 0x0000 && ss->header.vendor != 0x8086)
		ret = -EINVAL;   /* the only values the CPU accepts; meaningless otherwise */
	else
		ret = init_enclave(encl, ss, kpage + SGX_PAGE_SIZE / 2);
	free(kpage);
	return ret;
}

/* ---- PROVISION ---- */

/* sgx_set_attribute: the fd (an unsigned int in Linux) must be an open
 * /dev/sgx_provision of the calling process. */
static long ioc_provision(struct emu_proc *proc, struct drv_encl *encl, void *arg)
{
	struct sgx_enclave_provision p;

	if (copy_from_user(proc->mm, &p, (uint64_t)(uintptr_t)arg, sizeof(p)))
		return -EFAULT;
	unsigned int fd = (unsigned int)p.fd;
	if (fd > INT_MAX)
		return -EINVAL;
	struct drv_file *file = proc_file(proc, (int)fd);
	if (!file || file->kind != DRV_FILE_PROVISION)
		return -EINVAL;
	encl->attributes_mask |= SGX_ATTR_PROVISIONKEY;
	return 0;
}

/* sgx_ioctl: one ioctl at a time per enclave; a concurrent one is -EBUSY at
 * once, never queued.  A command the enclave's policy does not have is
 * -ENOTTY like an unknown one; sgx2emu's extension commands are in
 * ioctl_ext.c. */
long encl_ioctl(struct emu_proc *proc, struct drv_encl *encl, unsigned long cmd, void *arg)
{
	long ret;

	if (atomic_fetch_or(&encl->flags, DRV_ENCL_IOCTL) & DRV_ENCL_IOCTL)
		return -EBUSY;
	if (!policy_ioctl_exists(encl, cmd))
		cmd = 0;   /* matches no command: -ENOTTY below */
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE:
		ret = ioc_create(proc, encl, arg);
		break;
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		ret = ioc_add_pages(proc, encl, arg);
		break;
	case SGX_IOC_ENCLAVE_INIT:
		ret = ioc_init(proc, encl, arg);
		break;
	case SGX_IOC_ENCLAVE_PROVISION:
		ret = ioc_provision(proc, encl, arg);
		break;
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		ret = ioctl_restrict_permissions(proc, encl, arg);
		break;
	case SGX_IOC_ENCLAVE_MODIFY_TYPES:
		ret = ioctl_modify_types(proc, encl, arg);
		break;
	case SGX_IOC_ENCLAVE_REMOVE_PAGES:
		ret = ioctl_remove_pages(proc, encl, arg);
		break;
	case 0:
		ret = -ENOTTY;   /* -ENOIOCTLCMD, as user space sees it */
		break;
	default:
		ret = ioctl_ext(proc, encl, cmd, arg);   /* or -ENOTTY */
		break;
	}
	atomic_fetch_and(&encl->flags, ~(unsigned)DRV_ENCL_IOCTL);
	return ret;
}
