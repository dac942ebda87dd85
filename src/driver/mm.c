/*
 * Address spaces (Linux core mm, as far as the SGX driver sees it): VMAs with
 * mmap / mprotect / munmap / fork semantics and errno, the simulated page
 * table the LPs walk, mm_cpumask, and copy_{from,to}_user.
 *
 * User addresses are host addresses.  An anonymous VMA is a real host
 * mapping at the same address with the same protection; its PTEs map the host
 * page at that address (identity), installed on fault.  A /dev/sgx_enclave VMA
 * reserves its host range with a PROT_NONE, MAP_NORESERVE host mapping, so no
 * host allocation lands there; its PTEs map EPC frames (encl_vma_fault).
 * Invariant, as upstream: a PTE has exactly its VMA's protection (policies v1
 * and v2 narrow an enclave PTE to VMA ∩ the page's rights: policy.c).
 *
 * Host memory outside every VMA ("ambient": the program's stack, heap,
 * globals) is valid user memory too; see copy_from_user and fault.c.
 *
 * Modelling decisions (Linux behaviour where it is observable):
 * - A failed MAP_FIXED mmap (EACCES from sgx_encl_may_map, ENOMEM) leaves the
 *   old mappings in place, as Linux >= 6.12 does (older kernels unmapped them
 *   first).
 * - SGX VMAs never merge (VM_PFNMAP | VM_IO are VM_SPECIAL); private
 *   anonymous VMAs merge with equal neighbours after mmap and mprotect.
 *   Shared anonymous VMAs are each their own shmem object and are not merged.
 * - fork copies the VMAs but no PTE: every page faults in again in the child
 *   (Linux copies the PTEs of VM_PFNMAP VMAs; the difference is one fault).
 *   The model has one host process, so the child shares the parent's host
 *   memory instead of getting a copy-on-write copy.  Inherited VMAs are
 *   DRV_VMA_NOHOST: the child's munmap/mprotect/exit change only its VMAs
 *   and PTEs, never the parent's host mapping, and the parent must keep the
 *   host memory mapped while a child uses it.
 * - mm->cpumask gets the bit of an LP when a thread of the mm is created on
 *   it (system.c) and loses it when the thread ends (CR3 switched away).
 * - PTE changes are followed by IPIs to the LPs of mm_cpumask (TLB shootdown;
 *   an LP inside an enclave takes it as an AEX), as flush_tlb_mm_range does.
 */
#define _GNU_SOURCE   /* process_vm_readv */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "driver.h"

#define TASK_SIZE ((1ull << 47) - SGX_PAGE_SIZE)
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
/* the flags MAP_SHARED accepts silently and MAP_SHARED_VALIDATE accepts at all */
#define LEGACY_MAP_MASK (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | \
			 MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | \
			 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB)

static uint64_t page_align(uint64_t len)
{
	return (len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;   /* 0 on overflow */
}

/* ---- mm lifetime ---- */

struct drv_mm *mm_create(struct emu *emu)
{
	struct drv_mm *mm = calloc(1, sizeof(*mm));
	if (!mm)
		return NULL;
	mm->pt = hw_pt_create();
	if (!mm->pt) {
		free(mm);
		return NULL;
	}
	mm->emu = emu;
	pthread_rwlock_init(&mm->lock, NULL);
	pthread_mutex_init(&mm->notif_lock, NULL);
	atomic_init(&mm->cpumask, 0);
	atomic_init(&mm->users, 1);
	atomic_init(&mm->count, 1);
	return mm;
}

void mm_grab(struct drv_mm *mm)
{
	atomic_fetch_add(&mm->count, 1);
}

void mm_drop(struct drv_mm *mm)
{
	if (atomic_fetch_sub(&mm->count, 1) != 1)
		return;
	hw_pt_destroy(mm->pt);
	pthread_mutex_destroy(&mm->notif_lock);
	pthread_rwlock_destroy(&mm->lock);
	free(mm);
}

struct drv_vma *mm_find_vma(struct drv_mm *mm, uint64_t addr)
{
	struct drv_vma *v = mm->vmas;
	while (v && v->end <= addr)
		v = v->next;
	return v;
}

/* ---- enclave registrations (the mmu notifiers of sgx_encl_mm_add) ----
 * Lock order: encl->mm_lock → mm->notif_lock; notif_lock is never held while
 * calling into encl.c. */

/* Register mm on encl's mm_list once.  The caller holds a reference on the
 * enclave's file (mmap: the fd; fork: the VMA), so the enclave cannot be
 * released meanwhile. */
static int mm_encl_register(struct drv_mm *mm, struct drv_encl *encl)
{
	pthread_mutex_lock(&mm->notif_lock);
	for (struct drv_mm_encl *e = mm->notifiers; e; e = e->next)
		if (e->encl == encl) {
			pthread_mutex_unlock(&mm->notif_lock);
			return 0;
		}
	pthread_mutex_unlock(&mm->notif_lock);

	struct drv_mm_encl *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	int ret = encl_mm_add(encl, mm);
	if (ret) {
		free(e);
		return ret;
	}
	e->encl = encl;
	e->mm = mm;
	mm_grab(mm);
	pthread_mutex_lock(&mm->notif_lock);
	e->next = mm->notifiers;
	mm->notifiers = e;
	pthread_mutex_unlock(&mm->notif_lock);
	return 0;
}

struct drv_mm_encl *mm_encl_forget(struct drv_mm *mm, struct drv_encl *encl)
{
	struct drv_mm_encl *found = NULL;
	pthread_mutex_lock(&mm->notif_lock);
	for (struct drv_mm_encl **pp = &mm->notifiers; *pp; pp = &(*pp)->next)
		if ((*pp)->encl == encl) {
			found = *pp;
			*pp = found->next;
			break;
		}
	pthread_mutex_unlock(&mm->notif_lock);
	return found;
}

/*
 * mmu_notifier_release at exit: leave every mm_list.  The entry proves the
 * enclave still holds this mm's encl_mm reference (a file release unlinks the
 * entry before it drains mm_list), so taking a reference under notif_lock is
 * safe, and it keeps the enclave alive across encl_mm_remove.
 */
static void mm_release_notifiers(struct drv_mm *mm)
{
	for (;;) {
		pthread_mutex_lock(&mm->notif_lock);
		struct drv_mm_encl *e = mm->notifiers;
		if (e) {
			mm->notifiers = e->next;
			encl_get(e->encl);
		}
		pthread_mutex_unlock(&mm->notif_lock);
		if (!e)
			return;
		encl_mm_remove(e->encl, mm);
		encl_put(e->encl);
		free(e);
		mm_drop(mm);
	}
}

/* ---- VMAs ---- */

static struct drv_vma *vma_dup(const struct drv_vma *v)
{
	struct drv_vma *n = malloc(sizeof(*n));
	if (!n)
		return NULL;
	*n = *v;
	n->next = NULL;
	if (n->file)
		drv_file_get(n->file);
	return n;
}

/* __split_vma: v keeps [start, addr), a new VMA after it gets [addr, end).
 * For an SGX VMA this is vma_open: the mm is on mm_list already. */
static int vma_split(struct drv_vma *v, uint64_t addr)
{
	struct drv_vma *n = vma_dup(v);
	if (!n)
		return -ENOMEM;
	n->start = addr;
	v->end = addr;
	n->next = v->next;
	v->next = n;
	return 0;
}

/* Dropping a file reference may release an enclave: never under mm->lock. */
static void vmas_free(struct drv_vma *v)
{
	while (v) {
		struct drv_vma *next = v->next;
		if (v->file)
			drv_file_put(v->file);
		free(v);
		v = next;
	}
}

static void vma_insert(struct drv_mm *mm, struct drv_vma *v)
{
	struct drv_vma **pp = &mm->vmas;
	while (*pp && (*pp)->start < v->start)
		pp = &(*pp)->next;
	v->next = *pp;
	*pp = v;
}

static bool vma_mergeable(const struct drv_vma *a, const struct drv_vma *b)
{
	return a->end == b->start && !(a->flags & (DRV_VMA_SGX | DRV_VMA_SHARED)) && a->flags == b->flags &&
	       a->prot == b->prot && !a->file && !b->file;
}

/* vma_merge around [start, end]: join equal private anonymous neighbours. */
static void vma_merge_range(struct drv_mm *mm, uint64_t start, uint64_t end)
{
	struct drv_vma *v = mm->vmas;
	while (v && v->start <= end) {
		struct drv_vma *n = v->next;
		if (n && v->end >= start && vma_mergeable(v, n)) {
			v->end = n->end;
			v->next = n->next;
			free(n);
			continue;
		}
		v = n;
	}
}

/*
 * Take the VMAs of [start, end) out of the list, splitting those that cross
 * an edge; they are returned in *out, sorted.  -ENOMEM if a split fails (the
 * list is then unchanged, up to a split that vma_merge_range undoes).
 */
static int vma_detach(struct drv_mm *mm, uint64_t start, uint64_t end, struct drv_vma **out)
{
	struct drv_vma **pp = &mm->vmas;
	*out = NULL;
	while (*pp && (*pp)->end <= start)
		pp = &(*pp)->next;
	struct drv_vma *v = *pp;
	if (!v || v->start >= end)
		return 0;
	if (v->start < start) {
		if (vma_split(v, start))
			return -ENOMEM;
		pp = &v->next;
		v = *pp;
	}
	struct drv_vma *last = v;
	while (last->next && last->next->start < end)
		last = last->next;
	if (last->end > end && vma_split(last, end)) {
		vma_merge_range(mm, start, start);
		return -ENOMEM;
	}
	*pp = last->next;
	last->next = NULL;
	*out = v;
	return 0;
}

/* Give back what vma_detach took (an mmap that failed after detaching). */
static void vma_reattach(struct drv_mm *mm, struct drv_vma *v)
{
	while (v) {
		struct drv_vma *next = v->next;
		vma_insert(mm, v);
		v = next;
	}
}

/* ---- PTEs ---- */

/* TLB shootdown to every LP that ran this mm. */
static void flush_tlbs(struct drv_mm *mm)
{
	uint64_t mask = atomic_load(&mm->cpumask);
	if (mask)
		emu_send_ipis(mm->emu, mask);
}

/* Clear the PTEs of [start, end); true if there was any. */
static bool zap_ptes(struct drv_mm *mm, uint64_t start, uint64_t end)
{
	bool any = false;
	uint64_t la = start;
	while (la < end && hw_pt_next(mm->pt, &la, end)) {
		hw_pt_unmap(mm->pt, la);
		EMU_COUNT(mm->emu, pte_zaps);
		any = true;
		la += SGX_PAGE_SIZE;
	}
	if (any)
		inv_gone(mm, start, end, false);
	return any;
}

void mm_zap_range(struct drv_mm *mm, uint64_t start, uint64_t end)
{
	if (zap_ptes(mm, start, end))
		flush_tlbs(mm);
}

/* change_protection: PTE = VMA, also for PTEs kept with no rights (PROT_NONE). */
static bool protect_ptes(struct drv_mm *mm, uint64_t start, uint64_t end, unsigned prot)
{
	bool any = false;
	uint64_t la = start;
	while (la < end && hw_pt_next(mm->pt, &la, end)) {
		hw_pt_protect(mm->pt, la, prot & DRV_VM_PROT);
		any = true;
		la += SGX_PAGE_SIZE;
	}
	return any;
}

/* ---- host side ---- */

static void host_unmap_vmas(const struct drv_vma *v)
{
	for (; v; v = v->next)
		if (!(v->flags & DRV_VMA_NOHOST))
			munmap((void *)(uintptr_t)v->start, v->end - v->start);
}

static void *host_reserve(uint64_t addr, uint64_t size, int fixed)
{
	return mmap((void *)(uintptr_t)addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixed,
		    -1, 0);
}

/* ---- mmap ---- */

static void *fail(int err)
{
	errno = err;
	return MAP_FAILED;
}

/* An anonymous mapping: the host makes it (and checks flags, prot, address
 * as Linux does, being Linux); the mm records it. */
static void *mmap_anon(struct drv_mm *mm, uint64_t addr, uint64_t size, int prot, int flags, off_t offset)
{
	void *p = mmap((void *)(uintptr_t)addr, size, prot, flags, -1, offset);
	if (p == MAP_FAILED)
		return p;
	uint64_t start = (uint64_t)(uintptr_t)p, end = start + size;

	struct drv_vma *v = calloc(1, sizeof(*v));
	if (!v) {
		munmap(p, size);
		return fail(ENOMEM);
	}
	v->start = start;
	v->end = end;
	v->prot = (unsigned)prot & DRV_VM_PROT;
	v->flags = DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE;
	if ((flags & MAP_TYPE) != MAP_PRIVATE)
		v->flags |= DRV_VMA_SHARED;

	pthread_rwlock_wrlock(&mm->lock);
	struct drv_vma *old;
	/* MAP_FIXED replaced whatever the mm had there */
	if (vma_detach(mm, start, end, &old)) {
		pthread_rwlock_unlock(&mm->lock);
		munmap(p, size);
		free(v);
		return fail(ENOMEM);
	}
	if (zap_ptes(mm, start, end))
		flush_tlbs(mm);
	vma_insert(mm, v);
	vma_merge_range(mm, start, end);
	pthread_rwlock_unlock(&mm->lock);
	vmas_free(old);
	return p;
}

/*
 * do_mmap + mmap_region for a file of ours, in Linux's order: the file's
 * get_unmapped_area (sgx_get_unmapped_area: MAP_PRIVATE → EINVAL, MAP_FIXED
 * as given), address checks, mapping type and file mode checks, then the
 * driver's mmap (sgx_mmap: sgx_encl_may_map → EACCES, sgx_encl_mm_add).
 */
static void *mmap_file(struct drv_mm *mm, struct drv_file *file, uint64_t addr, uint64_t size, int prot, int flags,
		       uint64_t pgoff)
{
	bool noreplace = flags & MAP_FIXED_NOREPLACE;
	bool fixed = (flags & MAP_FIXED) || noreplace;
	bool reserved = false;
	int acc = file->f_flags & O_ACCMODE;
	bool fmode_read = acc == O_RDONLY || acc == O_RDWR;
	bool fmode_write = acc == O_WRONLY || acc == O_RDWR;
	int err;

	if (size > TASK_SIZE)
		return fail(ENOMEM);
	if (file->kind == DRV_FILE_ENCLAVE) {
		if ((flags & MAP_TYPE) == MAP_PRIVATE)
			return fail(EINVAL);
		if (!fixed) {
			void *p = host_reserve(addr, size, 0);
			if (p == MAP_FAILED)
				return fail(ENOMEM);
			addr = (uint64_t)(uintptr_t)p;
			reserved = true;
		}
	} else if (!fixed) {
		addr = SGX_PAGE_SIZE;   /* generic area: any address; ENODEV follows */
	}
	err = 0;
	if (addr > TASK_SIZE - size)
		err = ENOMEM;
	else if (addr & ~SGX_PAGE_MASK)
		err = EINVAL;
	if (!err && noreplace) {
		pthread_rwlock_rdlock(&mm->lock);
		struct drv_vma *v = mm_find_vma(mm, addr);
		if (v && v->start < addr + size)
			err = EEXIST;
		pthread_rwlock_unlock(&mm->lock);
		/* ambient host memory counts as a mapping too: the host says EEXIST */
		if (!err && file->kind == DRV_FILE_ENCLAVE) {
			if (host_reserve(addr, size, MAP_FIXED_NOREPLACE) == MAP_FAILED)
				err = errno == EEXIST ? EEXIST : ENOMEM;
			else
				reserved = true;
		}
	}
	unsigned vflags = DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE;
	/* file_mmap_ok: a character device's offsets end at ULONG_MAX, so a
	 * "negative" offset is EOVERFLOW even where the offset is ignored */
	if (!err && pgoff > (UINT64_MAX - size) >> 12)
		err = EOVERFLOW;
	if (!err) {
		switch (flags & MAP_TYPE) {
		case MAP_SHARED:
			flags &= LEGACY_MAP_MASK;
			/* fallthrough */
		case MAP_SHARED_VALIDATE:
			if (flags & ~LEGACY_MAP_MASK) {
				err = EOPNOTSUPP;
				break;
			}
			if ((prot & PROT_WRITE) && !fmode_write) {
				err = EACCES;
				break;
			}
			vflags |= DRV_VMA_SHARED;
			if (!fmode_write)
				vflags &= ~DRV_VMA_MAYWRITE;
			/* fallthrough */
		case MAP_PRIVATE:
			if (!fmode_read)
				err = EACCES;
			else if (file->kind != DRV_FILE_ENCLAVE)
				err = ENODEV;      /* /dev/sgx_provision has no mmap */
			else if (flags & MAP_GROWSDOWN)
				err = EINVAL;
			break;
		default:
			err = EINVAL;
		}
	}
	if (err) {
		if (reserved)
			munmap((void *)(uintptr_t)addr, size);
		return fail(err);
	}

	uint64_t start = addr, end = addr + size;
	struct drv_vma *v = calloc(1, sizeof(*v));
	if (!v) {
		err = ENOMEM;
		goto out_unreserve;
	}
	v->start = start;
	v->end = end;
	v->prot = (unsigned)prot & DRV_VM_PROT;
	v->flags = vflags | DRV_VMA_SGX;
	v->encl = file->encl;
	v->file = file;

	pthread_rwlock_wrlock(&mm->lock);
	err = -encl_may_map(file->encl, start, end, v->prot, mm);
	if (!err)
		err = -mm_encl_register(mm, file->encl);
	struct drv_vma *old = NULL;
	if (!err && vma_detach(mm, start, end, &old))
		err = ENOMEM;
	if (!err && fixed && !reserved) {
		/* MAP_FIXED over whatever the host had there (the loader's reservation) */
		if (host_reserve(start, size, MAP_FIXED) == MAP_FAILED) {
			vma_reattach(mm, old);
			old = NULL;
			err = ENOMEM;
		}
	}
	if (err) {
		pthread_rwlock_unlock(&mm->lock);
		free(v);
		goto out_unreserve;
	}
	drv_file_get(file);
	if (zap_ptes(mm, start, end))
		flush_tlbs(mm);
	vma_insert(mm, v);
	pthread_rwlock_unlock(&mm->lock);
	vmas_free(old);
	/* __mm_populate, after the lock is dropped (policy switch) */
	if ((flags & MAP_POPULATE) && policy_populate(file->encl))
		encl_populate(mm, file->encl, start, end);
	return (void *)(uintptr_t)start;

out_unreserve:
	if (reserved)
		munmap((void *)(uintptr_t)addr, size);
	return fail(err);
}

void *emu_mmap(struct emu_proc *proc, void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	struct drv_mm *mm = proc->mm;
	struct drv_file *file = NULL;

	EMU_COUNT(mm->emu, mmaps);
	/* sys_mmap, ksys_mmap_pgoff */
	if ((uint64_t)offset & ~SGX_PAGE_MASK)
		return fail(EINVAL);
	if (!(flags & MAP_ANONYMOUS)) {
		file = drv_fget(proc, fd);   /* the mapping is made with the file held */
		if (!file)
			return fail(EBADF);
	}
	/* do_mmap */
	void *ret;
	uint64_t size = page_align(len);
	uint64_t pgoff = (uint64_t)offset >> 12;
	if (!len)
		ret = fail(EINVAL);
	else if (!size)
		ret = fail(ENOMEM);
	else {
		if ((prot & PROT_READ) && mm->personality_read_implies_exec)
			prot |= PROT_EXEC;
		uint64_t a = (uint64_t)(uintptr_t)addr;
		if (file)
			ret = mmap_file(mm, file, a, size, prot, flags, pgoff);
		else
			ret = mmap_anon(mm, a, size, prot, flags, offset);
		if (ret != MAP_FAILED)
			inv_check_mapped(mm, (uint64_t)(uintptr_t)ret, (uint64_t)(uintptr_t)ret + size, true);
	}
	if (file) {
		int saved = errno;
		drv_file_put(file);
		errno = saved;
	}
	return ret;
}

/* ---- munmap ---- */

int emu_munmap(struct emu_proc *proc, void *addr, size_t len)
{
	struct drv_mm *mm = proc->mm;
	uint64_t start = (uint64_t)(uintptr_t)addr;
	uint64_t size = page_align(len);

	EMU_COUNT(mm->emu, munmaps);
	if ((start & ~SGX_PAGE_MASK) || start > TASK_SIZE || len > TASK_SIZE - start || !size) {
		errno = EINVAL;
		return -1;
	}
	uint64_t end = start + size;
	struct drv_vma *old;

	pthread_rwlock_wrlock(&mm->lock);
	if (vma_detach(mm, start, end, &old)) {
		pthread_rwlock_unlock(&mm->lock);
		errno = ENOMEM;
		return -1;
	}
	/* PTEs (also identity PTEs of ambient memory in the range) go before the
	 * host memory does, so no LP reaches freed memory through its TLB */
	if (zap_ptes(mm, start, end))
		flush_tlbs(mm);
	inv_gone(mm, start, end, true);
	host_unmap_vmas(old);
	pthread_rwlock_unlock(&mm->lock);
	vmas_free(old);
	return 0;
}

/* ---- mprotect ---- */

/*
 * do_mprotect_pkey: VMA by VMA from start; a hole is ENOMEM, a right the VMA
 * may not have (VM_MAY*) or that sgx_encl_may_map refuses is EACCES.  VMAs
 * before the failing one keep their new protection (Linux does not roll back).
 */
int emu_mprotect(struct emu_proc *proc, void *addr, size_t len, int prot)
{
	struct drv_mm *mm = proc->mm;
	uint64_t start = (uint64_t)(uintptr_t)addr;
	int err = 0;

	EMU_COUNT(mm->emu, mprotects);
	if (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) {
		/* no VMA here grows: VM_GROWSDOWN is never set */
		errno = EINVAL;
		return -1;
	}
	if (start & ~SGX_PAGE_MASK) {
		errno = EINVAL;
		return -1;
	}
	if (!len)
		return 0;
	uint64_t size = page_align(len);
	uint64_t end = start + size;
	if (!size || end <= start) {
		errno = ENOMEM;
		return -1;
	}
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) {
		errno = EINVAL;
		return -1;
	}

	bool flush = false;
	pthread_rwlock_wrlock(&mm->lock);
	struct drv_vma *v = mm_find_vma(mm, start);
	if (!v || v->start > start) {
		err = ENOMEM;
		goto out;
	}
	uint64_t at = start;
	while (v && v->start < end) {
		if (v->start > at) {
			err = ENOMEM;      /* a hole */
			break;
		}
		unsigned want = (unsigned)prot & DRV_VM_PROT;
		if (mm->personality_read_implies_exec && (prot & PROT_READ) && (v->flags & DRV_VMA_MAYEXEC))
			want |= DRV_VM_EXEC;
		if (((want & DRV_VM_WRITE) && !(v->flags & DRV_VMA_MAYWRITE)) ||
		    ((want & DRV_VM_EXEC) && !(v->flags & DRV_VMA_MAYEXEC))) {
			err = EACCES;
			break;
		}
		uint64_t to = v->end < end ? v->end : end;
		/* vm_ops->mprotect = sgx_vma_mprotect (+ EMODPR under mprotect-emodpr) */
		if ((v->flags & DRV_VMA_SGX) && v->encl) {
			err = -policy_vma_mprotect(v->encl, at, to, want, mm);
			if (err)
				break;
		}
		/* mprotect_fixup: split off the parts outside [at, to) */
		if (v->start < at) {
			if (vma_split(v, at)) {
				err = ENOMEM;
				break;
			}
			v = v->next;
		}
		if (v->end > to && vma_split(v, to)) {
			err = ENOMEM;
			break;
		}
		if (!(v->flags & (DRV_VMA_SGX | DRV_VMA_NOHOST)) &&
		    mprotect((void *)(uintptr_t)at, to - at, (int)want) != 0) {
			err = errno;
			break;
		}
		v->prot = want;
		flush |= protect_ptes(mm, at, to, want);
		at = to;
		v = v->next;
	}
	if (!err && at < end)
		err = ENOMEM;
	vma_merge_range(mm, start, end);
out:
	if (flush)
		flush_tlbs(mm);
	pthread_rwlock_unlock(&mm->lock);
	inv_check_mapped(mm, start, err ? start : end, false);   /* a failed mprotect vetted nothing */
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- fork and exit ---- */

struct drv_mm *mm_fork(struct drv_mm *parent, int *err)
{
	struct drv_mm *child = mm_create(parent->emu);
	if (!child) {
		*err = -ENOMEM;
		return NULL;
	}
	child->personality_read_implies_exec = parent->personality_read_implies_exec;

	struct drv_vma **tail = &child->vmas;
	*err = 0;
	pthread_rwlock_wrlock(&parent->lock);
	for (struct drv_vma *v = parent->vmas; v; v = v->next) {
		struct drv_vma *n = vma_dup(v);
		if (!n) {
			*err = -ENOMEM;
			break;
		}
		n->flags |= DRV_VMA_NOHOST;
		/* vma_open: a failed sgx_encl_mm_add leaves the VMA without an
		 * enclave, so that its faults are SIGBUS */
		if ((n->flags & DRV_VMA_SGX) && n->encl && mm_encl_register(child, n->encl))
			n->encl = NULL;
		*tail = n;
		tail = &n->next;
	}
	pthread_rwlock_unlock(&parent->lock);
	if (*err) {
		mm_put(child);
		return NULL;
	}
	return child;
}

/* exit_mmap: notifiers first (sgx_mmu_notifier_release), then the VMAs. */
static void mm_exit(struct drv_mm *mm)
{
	mm_release_notifiers(mm);
	pthread_rwlock_wrlock(&mm->lock);
	struct drv_vma *old = mm->vmas;
	mm->vmas = NULL;
	if (zap_ptes(mm, 0, 1ull << 47))
		flush_tlbs(mm);
	inv_gone(mm, 0, 1ull << 47, true);
	host_unmap_vmas(old);
	pthread_rwlock_unlock(&mm->lock);
	vmas_free(old);
}

void mm_put(struct drv_mm *mm)
{
	if (atomic_fetch_sub(&mm->users, 1) != 1)
		return;
	mm_exit(mm);
	mm_drop(mm);
}

/* ---- user copies ---- */

/* A page the host has mapped (mincore fails with ENOMEM on a hole). */
static bool host_mapped(uint64_t page)
{
	unsigned char v;
	return mincore((void *)(uintptr_t)page, SGX_PAGE_SIZE, &v) == 0;
}

/*
 * Ambient memory.  process_vm_readv/writev on ourselves copies exactly what
 * the host lets a user access, and fails with EFAULT instead of crashing on
 * a PROT_NONE or read-only page.  Where those calls are not available, the
 * mincore check decides (a mapped page is assumed accessible).  EPC is never
 * user memory, although the host has the EPC memfd mapped.
 */
static int ambient_copy(struct drv_mm *mm, void *kbuf, uint64_t uaddr, size_t len, bool write)
{
	struct hw_machine *m = mm->emu->m;
	uint64_t epc = (uint64_t)(uintptr_t)hw_epc_base(m), epc_end = epc + hw_epc_size(m);
	if (uaddr < epc_end && uaddr + len > epc)
		return -EFAULT;

	struct iovec local = { kbuf, len }, remote = { (void *)(uintptr_t)uaddr, len };
	ssize_t n = write ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
			  : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || (errno != ENOSYS && errno != EPERM))
		return -EFAULT;
	for (uint64_t p = uaddr & SGX_PAGE_MASK; p < uaddr + len; p += SGX_PAGE_SIZE)
		if (!host_mapped(p))
			return -EFAULT;
	if (write)
		memcpy((void *)(uintptr_t)uaddr, kbuf, len);
	else
		memcpy(kbuf, (const void *)(uintptr_t)uaddr, len);
	return 0;
}

/*
 * The access_ok + fault rules of a user copy, range by range: a VMA must
 * allow the access (write: VM_WRITE; read: any right, as x86 reads whatever
 * is mapped); enclave VMAs are not copied from or to (Linux would see the
 * abort page or EAUG a page: the model says EFAULT); ambient memory as above.
 */
static int user_copy(struct drv_mm *mm, void *kbuf, uint64_t uaddr, size_t len, bool write)
{
	if (!len)
		return 0;
	if (uaddr + len < uaddr || uaddr + len > (1ull << 47))
		return -EFAULT;
	int ret = 0;
	uint64_t end = uaddr + len;
	uint8_t *k = kbuf;

	pthread_rwlock_rdlock(&mm->lock);
	for (uint64_t at = uaddr; at < end && !ret;) {
		struct drv_vma *v = mm_find_vma(mm, at);
		uint64_t to;
		if (v && v->start <= at) {
			to = v->end < end ? v->end : end;
			if ((v->flags & DRV_VMA_SGX) || (write ? !(v->prot & DRV_VM_WRITE) : !v->prot)) {
				ret = -EFAULT;
				break;
			}
			if (write)
				memcpy((void *)(uintptr_t)at, k + (at - uaddr), to - at);
			else
				memcpy(k + (at - uaddr), (const void *)(uintptr_t)at, to - at);
		} else {
			to = v && v->start < end ? v->start : end;
			ret = ambient_copy(mm, k + (at - uaddr), at, to - at, write);
		}
		at = to;
	}
	pthread_rwlock_unlock(&mm->lock);
	return ret;
}

int copy_from_user(struct drv_mm *mm, void *dst, uint64_t src, size_t len)
{
	return user_copy(mm, dst, src, len, false);
}

int copy_to_user(struct drv_mm *mm, uint64_t dst, const void *src, size_t len)
{
	return user_copy(mm, (void *)(uintptr_t)src, dst, len, true);
}
