/*
 * The machine and kernel (struct emu), processes, their file tables, threads
 * and logical processors, and page inspection.
 *
 * Files.  /dev/sgx_enclave is a misc device: every open creates an enclave
 * (sgx_open), with any open flags (the access mode is kept: a shared mapping
 * with PROT_WRITE needs FMODE_WRITE, any mapping FMODE_READ).  The file is
 * referenced by fd table entries (dup'ed by fork) and by the SGX VMAs made
 * from it (vm_file); the last reference releases the enclave (sgx_release).
 * /dev/sgx_provision has no operations: an ioctl on it is ENOTTY, an mmap
 * ENODEV; it only serves as the fd of SGX_IOC_ENCLAVE_PROVISION.  Any other
 * path is ENOENT (/dev/sgx_vepc is not modelled).
 *
 * LPs.  A thread owns one LP while it lives.  The last LP is reserved for
 * ENCLS the kernel issues for callers without a bound thread (and for the
 * reclaimer), so threads get LPs 0 .. nr_lps - 2; with one LP, no thread can
 * be created (EAGAIN).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define ENOIOCTLCMD 515   /* kernel-internal; user space sees ENOTTY */

static __thread struct emu_thread *current_thread;

/* ---- machine ---- */

void emu_config_defaults(struct emu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	hw_config_defaults(&cfg->hw);
	cfg->reclaim_batch = 16;      /* SGX_NR_TO_SCAN */
	cfg->low_watermark = 32;      /* SGX_NR_LOW_PAGES */
	cfg->high_watermark = 64;     /* SGX_NR_HIGH_PAGES */
}

struct emu *emu_create(const struct emu_config *cfg)
{
	struct emu_config c;
	if (cfg)
		c = *cfg;
	else
		emu_config_defaults(&c);
	if (!c.reclaim_batch || c.low_watermark > c.high_watermark || !policy_config_ok(c.policy, &c.switches)) {
		errno = EINVAL;
		return NULL;
	}
	struct emu *emu = calloc(1, sizeof(*emu));
	if (!emu) {
		errno = ENOMEM;
		return NULL;
	}
	emu->cfg = c;
	emu->m = hw_machine_create(&c.hw);
	if (!emu->m) {
		int e = errno;
		free(emu);
		errno = e;
		return NULL;
	}
	emu->cfg.hw = *hw_machine_config(emu->m);
	pthread_mutex_init(&emu->lp_lock, NULL);
	pthread_mutex_init(&emu->encl_list_lock, NULL);
	unsigned last = hw_nr_lps(emu->m) - 1;
	emu->kernel_lp = hw_lp_get(emu->m, last);
	emu->lp_busy[last] = true;
	int ret = epc_init(emu);
	if (ret) {
		pthread_mutex_destroy(&emu->encl_list_lock);
		pthread_mutex_destroy(&emu->lp_lock);
		hw_machine_destroy(emu->m);
		free(emu);
		errno = -ret;
		return NULL;
	}
	inv_init(emu);
	return emu;
}

/* Every process must have exited (their enclaves are then released). */
void emu_destroy(struct emu *emu)
{
	if (!emu)
		return;
	inv_destroy(emu);
	epc_destroy(emu);
	pthread_mutex_destroy(&emu->encl_list_lock);
	pthread_mutex_destroy(&emu->lp_lock);
	hw_machine_destroy(emu->m);
	free(emu);
}

struct hw_machine *emu_machine(struct emu *emu)
{
	return emu->m;
}

/* ---- files ---- */

void drv_file_get(struct drv_file *file)
{
	atomic_fetch_add(&file->refcount, 1);
}

/*
 * sgx_release.  Each mm still on mm_list first has its registration (mmu
 * notifier) unlinked, under encl->mm_lock so the mm cannot be freed
 * meanwhile; encl_file_release then drains mm_list and drops the file's
 * enclave reference.  The unlinked entries keep their mm alive until the
 * drain is over, since the reclaimer or an ETRACK may be reading mm_list.
 */
void drv_file_put(struct drv_file *file)
{
	if (atomic_fetch_sub(&file->refcount, 1) != 1)
		return;
	if (file->kind == DRV_FILE_ENCLAVE) {
		struct drv_encl *encl = file->encl;
		struct drv_mm_encl *forgotten = NULL;
		pthread_mutex_lock(&encl->mm_lock);
		for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next) {
			struct drv_mm_encl *e = mm_encl_forget(em->mm, encl);
			if (e) {
				e->next = forgotten;
				forgotten = e;
			}
		}
		pthread_mutex_unlock(&encl->mm_lock);
		encl_file_release(encl);
		while (forgotten) {
			struct drv_mm_encl *e = forgotten;
			forgotten = e->next;
			mm_drop(e->mm);
			free(e);
		}
	}
	free(file);
}

struct drv_file *proc_file(struct emu_proc *proc, int fd)
{
	if (fd < 0 || fd >= DRV_MAX_FDS)
		return NULL;
	pthread_mutex_lock(&proc->files_lock);
	struct drv_file *file = proc->files[fd];
	pthread_mutex_unlock(&proc->files_lock);
	return file;
}

struct drv_file *drv_fget(struct emu_proc *proc, int fd)
{
	if (fd < 0 || fd >= DRV_MAX_FDS)
		return NULL;
	pthread_mutex_lock(&proc->files_lock);
	struct drv_file *file = proc->files[fd];
	if (file)
		drv_file_get(file);
	pthread_mutex_unlock(&proc->files_lock);
	return file;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

int emu_open(struct emu_proc *proc, const char *path, int flags)
{
	enum drv_file_kind kind;

	if (!path)
		return fail(EFAULT);
	if (!strcmp(path, "/dev/sgx_enclave"))
		kind = DRV_FILE_ENCLAVE;
	else if (!strcmp(path, "/dev/sgx_provision"))
		kind = DRV_FILE_PROVISION;
	else
		return fail(ENOENT);
	if (flags & O_DIRECTORY)
		return fail(ENOTDIR);

	struct drv_file *file = calloc(1, sizeof(*file));
	if (!file)
		return fail(ENOMEM);
	file->kind = kind;
	file->f_flags = flags;
	atomic_init(&file->refcount, 1);

	/* the lowest free descriptor, as open(2) */
	pthread_mutex_lock(&proc->files_lock);
	int fd = DRV_FD_BASE;
	while (fd < DRV_MAX_FDS && proc->files[fd])
		fd++;
	if (fd == DRV_MAX_FDS) {
		pthread_mutex_unlock(&proc->files_lock);
		free(file);
		return fail(EMFILE);
	}
	if (kind == DRV_FILE_ENCLAVE) {
		file->encl = encl_create(proc->emu);
		if (!file->encl) {
			pthread_mutex_unlock(&proc->files_lock);
			free(file);
			return fail(ENOMEM);
		}
	}
	proc->files[fd] = file;
	pthread_mutex_unlock(&proc->files_lock);
	return fd;
}

int emu_close(struct emu_proc *proc, int fd)
{
	if (fd < 0 || fd >= DRV_MAX_FDS)
		return fail(EBADF);
	pthread_mutex_lock(&proc->files_lock);
	struct drv_file *file = proc->files[fd];
	proc->files[fd] = NULL;
	pthread_mutex_unlock(&proc->files_lock);
	if (!file)
		return fail(EBADF);
	drv_file_put(file);
	return 0;
}

int emu_ioctl(struct emu_proc *proc, int fd, unsigned long cmd, void *arg)
{
	EMU_COUNT(proc->emu, ioctls);
	struct drv_file *file = drv_fget(proc, fd);
	long ret;

	if (!file)
		return fail(EBADF);
	if (file->kind == DRV_FILE_ENCLAVE) {
		ret = encl_ioctl(proc, file->encl, cmd, arg);
		inv_after_ioctl(file->encl);
	} else
		ret = -ENOTTY;      /* no unlocked_ioctl */
	drv_file_put(file);
	if (ret == -ENOIOCTLCMD)
		ret = -ENOTTY;
	if (ret < 0)
		return fail((int)-ret);
	return (int)ret;
}

/* ---- processes ---- */

static struct emu_proc *proc_alloc(struct emu *emu)
{
	struct emu_proc *proc = calloc(1, sizeof(*proc));
	if (!proc)
		return NULL;
	proc->emu = emu;
	pthread_mutex_init(&proc->files_lock, NULL);
	atomic_init(&proc->nr_threads, 0);
	atomic_init(&proc->exec, NULL);
	return proc;
}

static void proc_free(struct emu_proc *proc)
{
	pthread_mutex_destroy(&proc->files_lock);
	free(proc);
}

struct emu_proc *emu_proc_create(struct emu *emu)
{
	struct emu_proc *proc = proc_alloc(emu);
	if (!proc) {
		errno = ENOMEM;
		return NULL;
	}
	proc->mm = mm_create(emu);
	if (!proc->mm) {
		proc_free(proc);
		errno = ENOMEM;
		return NULL;
	}
	return proc;
}

static void close_all(struct emu_proc *proc)
{
	for (int fd = 0; fd < DRV_MAX_FDS; fd++)
		if (proc->files[fd])
			emu_close(proc, fd);
}

/* fork: the address space is copied (mm_fork: no PTEs, host memory shared,
 * see mm.c), the file table duplicated (same open files), the entry registry
 * of model-mode code inherited.  Threads are not: the child has none. */
struct emu_proc *emu_fork(struct emu_proc *parent)
{
	struct emu_proc *child = proc_alloc(parent->emu);
	if (!child) {
		errno = ENOMEM;
		return NULL;
	}
	int err;
	child->mm = mm_fork(parent->mm, &err);
	if (!child->mm) {
		proc_free(child);
		errno = -err;
		return NULL;
	}
	pthread_mutex_lock(&parent->files_lock);
	for (int fd = 0; fd < DRV_MAX_FDS; fd++) {
		child->files[fd] = parent->files[fd];
		if (child->files[fd])
			drv_file_get(child->files[fd]);
	}
	pthread_mutex_unlock(&parent->files_lock);
	err = exec_proc_fork(child, parent);
	if (err) {
		mm_put(child->mm);
		close_all(child);
		proc_free(child);
		errno = -err;
		return NULL;
	}
	return child;
}

/* do_exit: exit_mm (mmput) before exit_files, as Linux. */
void emu_proc_exit(struct emu_proc *proc)
{
	if (!proc)
		return;
	if (atomic_load(&proc->nr_threads)) {
		fprintf(stderr, "sgx2emu: emu_proc_exit with %d live thread(s): destroy them first\n",
			atomic_load(&proc->nr_threads));
		abort();
	}
	exec_proc_release(proc);
	mm_put(proc->mm);
	close_all(proc);
	proc_free(proc);
}

/* ---- threads and LPs ---- */

struct emu_thread *emu_thread_create(struct emu_proc *proc)
{
	struct emu *emu = proc->emu;
	struct emu_thread *t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&emu->lp_lock);
	unsigned nr = hw_nr_lps(emu->m), i = 0;
	while (i < nr && emu->lp_busy[i])
		i++;
	if (i == nr) {
		pthread_mutex_unlock(&emu->lp_lock);
		free(t);
		errno = EAGAIN;
		return NULL;
	}
	emu->lp_busy[i] = true;
	pthread_mutex_unlock(&emu->lp_lock);

	t->proc = proc;
	t->lp_index = i;
	t->lp = hw_lp_get(emu->m, i);
	atomic_fetch_add(&proc->nr_threads, 1);
	/* the thread "runs" on its LP from now on: CR3 and mm_cpumask */
	hw_lp_set_pagetable(t->lp, proc->mm->pt);
	atomic_fetch_or(&proc->mm->cpumask, 1ull << i);
	return t;
}

/* A thread bound on another host thread must be unbound there first. */
void emu_thread_destroy(struct emu_thread *t)
{
	if (!t)
		return;
	struct emu_proc *proc = t->proc;
	struct emu *emu = proc->emu;
	if (current_thread == t)
		current_thread = NULL;
	/* switching away: CR3 (TLB flushed), then out of mm_cpumask */
	hw_lp_set_pagetable(t->lp, NULL);
	atomic_fetch_and(&proc->mm->cpumask, ~(1ull << t->lp_index));
	pthread_mutex_lock(&emu->lp_lock);
	emu->lp_busy[t->lp_index] = false;
	pthread_mutex_unlock(&emu->lp_lock);
	atomic_fetch_sub(&proc->nr_threads, 1);
	free(t);
}

struct hw_lp *emu_thread_lp(struct emu_thread *t)
{
	return t->lp;
}

void emu_thread_bind(struct emu_thread *t)
{
	current_thread = t;
}

struct emu_thread *emu_current_thread(void)
{
	return current_thread;
}

struct hw_lp *emu_kernel_lp(struct emu *emu)
{
	struct emu_thread *t = current_thread;
	if (t && t->proc->emu == emu)
		return t->lp;
	return emu->kernel_lp;
}

/* ---- inspection ---- */

struct out {
	char *buf;
	size_t len;
	int n;
};

__attribute__((format(printf, 2, 3)))
static void out(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t at = (size_t)o->n < o->len ? (size_t)o->n : o->len;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf ? o->buf + at : NULL, o->len - at, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += k;
}

static void rwx(char s[4], unsigned prot)
{
	s[0] = prot & DRV_VM_READ ? 'r' : '-';
	s[1] = prot & DRV_VM_WRITE ? 'w' : '-';
	s[2] = prot & DRV_VM_EXEC ? 'x' : '-';
	s[3] = 0;
}

/*
 * One line: the VMA covering addr, the PTE, what it maps (EPC frame and its
 * EPCM entry, or a host page), and the driver's record of the enclave page.
 * Returns what snprintf returns.
 */
int emu_inspect_page(struct emu_proc *proc, uint64_t addr, char *buf, size_t len)
{
	struct drv_mm *mm = proc->mm;
	struct hw_machine *m = proc->emu->m;
	struct out o = { buf, buf ? len : 0, 0 };
	char p[4];

	if (buf && len)
		buf[0] = 0;
	addr &= SGX_PAGE_MASK;
	out(&o, "0x%llx:", (unsigned long long)addr);
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *v = mm_find_vma(mm, addr);
	if (v && v->start > addr)
		v = NULL;
	if (v) {
		rwx(p, v->prot);
		out(&o, " VMA 0x%llx-0x%llx %s %s%s%s%s%s", (unsigned long long)v->start, (unsigned long long)v->end, p,
		    v->flags & DRV_VMA_SGX ? "sgx" : "anon", v->flags & DRV_VMA_SHARED ? ",shared" : ",private",
		    v->flags & DRV_VMA_MAYEXEC ? ",mayexec" : "", v->flags & DRV_VMA_MAYWRITE ? ",maywrite" : "",
		    v->flags & DRV_VMA_NOHOST ? ",nohost" : "");
		if ((v->flags & DRV_VMA_SGX) && !v->encl)
			out(&o, " (no enclave)");
	} else {
		out(&o, " no VMA");
	}

	void *host;
	unsigned prot;
	uint32_t frame = HW_NO_FRAME;
	if (hw_pt_lookup(mm->pt, addr, &host, &prot)) {
		rwx(p, prot);
		frame = hw_epc_frame_of(m, (uint64_t)(uintptr_t)host);
		if (frame != HW_NO_FRAME)
			out(&o, "; PTE %s -> EPC frame %u", p, frame);
		else
			out(&o, "; PTE %s -> host 0x%llx", p, (unsigned long long)(uintptr_t)host);
	} else {
		out(&o, "; no PTE");
	}
	if (frame != HW_NO_FRAME) {
		char line[256];
		hw_epcm_format(m, frame, line, sizeof(line));
		out(&o, "; EPCM %s", line);
	}

	if (v && (v->flags & DRV_VMA_SGX) && v->encl) {
		struct drv_encl *encl = v->encl;
		pthread_mutex_lock(&encl->lock);
		struct drv_page *page = xa_load(&encl->pages, addr >> 12);
		if (page) {
			rwx(p, page->vm_max_prot_bits);
			out(&o, "; page max %s type %u%s%s", p, page->type,
			    page->epc_frame == HW_NO_FRAME ? " evicted" : "",
			    page->flags & DRV_PAGE_BUSY ? " busy" : "");
		} else {
			out(&o, "; no enclave page");
		}
		pthread_mutex_unlock(&encl->lock);
	}
	pthread_rwlock_unlock(&mm->lock);
	return o.n;
}

/*
 * The driver's memory for one enclave.  Structures are counted by size, not
 * by what the allocator rounds them to, so the figure compares with the
 * kernel's per-page structures; page tables are the whole mm's, as only the
 * mm has them.  Locks are taken one after the other (mm, then enclave), never
 * nested, so this cannot deadlock with a fault or an ioctl.
 */
int emu_encl_stats(struct emu_proc *proc, int fd, struct emu_encl_stats *st)
{
	struct drv_file *file = proc_file(proc, fd);
	if (!file) {
		errno = EBADF;
		return -1;
	}
	if (file->kind != DRV_FILE_ENCLAVE || !st) {
		errno = EINVAL;
		return -1;
	}
	struct drv_encl *encl = file->encl;
	memset(st, 0, sizeof(*st));

	pthread_rwlock_rdlock(&proc->mm->lock);
	st->pt_bytes = hw_pt_bytes(proc->mm->pt);
	pthread_rwlock_unlock(&proc->mm->lock);

	pthread_mutex_lock(&encl->lock);
	uint64_t index = 0;
	struct drv_page *page;
	while ((page = xa_find(&encl->pages, &index, UINT64_MAX))) {
		st->pages++;
		if (page->epc_frame != HW_NO_FRAME)
			st->resident++;
		index++;
	}
	for (struct drv_va_page *va = encl->va_pages; va; va = va->next)
		st->va_pages++;
	index = 0;
	while (xa_find(&encl->backing, &index, UINT64_MAX)) {
		st->backing_bytes += sizeof(struct drv_backing);
		index++;
	}
	st->xarray_bytes = xa_bytes(&encl->pages) + xa_bytes(&encl->backing);
	pthread_mutex_unlock(&encl->lock);

	st->encl_bytes = sizeof(*encl);
	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		st->encl_bytes += sizeof(*em);
	pthread_mutex_unlock(&encl->mm_lock);

	st->page_bytes = st->pages * sizeof(struct drv_page);
	st->va_bytes = st->va_pages * sizeof(struct drv_va_page);
	st->metadata_bytes = st->page_bytes + st->xarray_bytes + st->va_bytes + st->encl_bytes + st->pt_bytes;
	return 0;
}
