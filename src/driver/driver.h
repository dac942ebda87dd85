/*
 * Internal structures of the Linux SGX driver model (see docs/driver.md and
 * ../shared/spec/linux-driver.md §2).  Only src/driver/ and src/exec/ include
 * this file.  Files:
 *   system.c   emu_create/destroy, processes, fd table, threads and LPs
 *   xarray.c   sparse index → pointer map (the kernel's xarray, simplified)
 *   mm.c       address spaces: VMAs, mmap/mprotect/munmap/fork, page tables, cpumask
 *   fault.c    the #PF path: VMA lookup, access_error, anonymous pages, dispatch to encl
 *   epc.c      EPC frame allocator, LRU of reclaimable pages
 *   encl.c     enclave objects, pages, may_map, the enclave VMA fault (incl. EAUG), release
 *   ioctl.c    ioctl dispatch + CREATE, ADD_PAGES, INIT, PROVISION
 *   ioctl_sgx2.c RESTRICT_PERMISSIONS, MODIFY_TYPES, REMOVE_PAGES
 *   ioctl_ext.c  sgx2emu's extension ioctls (SET_POLICY, RELAX, MODIFY, RESET,
 *              AUGMENT) and mprotect-emodpr's EMODPR loop
 *   policy.c   the permission policies' decisions, called from the files above
 *   track.c    ETRACK + IPIs, cpumask of an enclave, PTE zapping across mms
 *   reclaim.c  the reclaimer (EBLOCK/ETRACK/EWB), ELDU on demand, backing store
 *
 * Lock order (as Linux): mm->lock (mmap_lock) → encl->lock → emu->epc_lock →
 * the hardware machine lock (inside hw_encls).  encl->lock is dropped around
 * PTE zapping, which takes mm locks.
 */
#ifndef SGX2EMU_DRIVER_H
#define SGX2EMU_DRIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "sgx2emu/emu.h"

#define DRV_MAX_FDS 256
#define DRV_FD_BASE 3

/* ---- xarray.c: sparse map from a 64-bit index to a pointer ---- */
struct xa {
	void *root;             /* radix tree, 6 bits per level, height grows as needed */
	unsigned height;
	size_t nodes;           /* for memory accounting */
};
void xa_init(struct xa *xa);
void xa_destroy(struct xa *xa);                       /* frees nodes, not the entries */
void *xa_load(const struct xa *xa, uint64_t index);
int xa_store(struct xa *xa, uint64_t index, void *entry);  /* 0, -ENOMEM; entry NULL erases */
int xa_insert(struct xa *xa, uint64_t index, void *entry); /* 0, -EBUSY if present, -ENOMEM */
void *xa_erase(struct xa *xa, uint64_t index);
/* First entry with index in [*index, max]; updates *index.  NULL if none. */
void *xa_find(const struct xa *xa, uint64_t *index, uint64_t max);
size_t xa_bytes(const struct xa *xa);

/* ---- mm.c ---- */
#define DRV_VM_READ   PROT_READ
#define DRV_VM_WRITE  PROT_WRITE
#define DRV_VM_EXEC   PROT_EXEC
#define DRV_VM_PROT   (DRV_VM_READ | DRV_VM_WRITE | DRV_VM_EXEC)

enum drv_vma_flags {
	DRV_VMA_SHARED = 1u << 0,
	DRV_VMA_MAYEXEC = 1u << 1,   /* not from a noexec mount: ADD_PAGES sources need it */
	DRV_VMA_SGX = 1u << 2,       /* a /dev/sgx_enclave mapping (vm_ops = sgx_vm_ops) */
	DRV_VMA_MAYWRITE = 1u << 3,  /* VM_MAYWRITE: clear for a shared map of a file opened read-only */
	DRV_VMA_NOHOST = 1u << 4,    /* inherited by fork: the host mapping is the parent's, never
	                              * host-unmapped or host-mprotected through this mm */
};

struct drv_encl;

struct drv_vma {
	uint64_t start, end;         /* [start, end), page-aligned */
	unsigned prot;               /* DRV_VM_* */
	unsigned flags;              /* enum drv_vma_flags */
	struct drv_encl *encl;       /* vm_private_data for SGX VMAs (NULL after a failed fork) */
	struct drv_file *file;       /* vm_file: SGX VMAs hold a file reference */
	struct drv_vma *next;        /* sorted by start */
};

struct drv_mm {
	struct emu *emu;
	pthread_rwlock_t lock;       /* mmap_lock */
	struct drv_vma *vmas;
	struct hw_pagetable *pt;
	atomic_uint_fast64_t cpumask;   /* bit per LP that ran this mm (mm_cpumask) */
	atomic_int users;            /* mm_users: 0 = exiting (track.c skips it) */
	atomic_int count;            /* mm_count: the struct itself; one for users > 0, one per
	                              * enclave registration (mmgrab of the mmu notifier) */
	pthread_mutex_t notif_lock;  /* innermost: guards notifiers */
	struct drv_mm_encl *notifiers;   /* enclaves whose mm_list holds this mm */
	bool personality_read_implies_exec;
};

/* An mmu notifier: this mm is on encl->mm_list (encl_mm_add succeeded).  It
 * holds an mm_count reference so that an mm on some mm_list is never freed:
 * track.c reads em->mm under encl->mm_lock. */
struct drv_mm_encl {
	struct drv_encl *encl;
	struct drv_mm *mm;
	struct drv_mm_encl *next;
};

struct drv_mm *mm_create(struct emu *emu);
/* mmput: the last user tears the address space down (VMAs, PTEs, host
 * mappings, mm_list registrations: encl_mm_remove). */
void mm_put(struct drv_mm *mm);
void mm_grab(struct drv_mm *mm);             /* mmgrab / mmdrop: the struct only */
void mm_drop(struct drv_mm *mm);
/* dup_mmap: the VMAs (SGX ones registered with their enclave, encl = NULL if
 * that fails, as vma_open leaves it), an empty page table.  NULL + -errno. */
struct drv_mm *mm_fork(struct drv_mm *parent, int *err);
/* Unlink mm's registration with encl, for the release of encl's file, under
 * encl->mm_lock (so the mm, being on mm_list, is alive).  The entry keeps its
 * mm_count reference until the caller, after encl_file_release has drained
 * mm_list, does mm_drop(e->mm) and free(e).  NULL if the mm got there first. */
struct drv_mm_encl *mm_encl_forget(struct drv_mm *mm, struct drv_encl *encl);
/* find_vma: the first VMA with end > addr (it may start above addr); lock held. */
struct drv_vma *mm_find_vma(struct drv_mm *mm, uint64_t addr);
/* Zap the PTEs of [start, end) in this mm (lock held, read or write). */
void mm_zap_range(struct drv_mm *mm, uint64_t start, uint64_t end);
/* copy_from_user / copy_to_user: 0 or -EFAULT.  User memory is host memory;
 * an address is valid if a VMA covers it or the host has it mapped. */
int copy_from_user(struct drv_mm *mm, void *dst, uint64_t src, size_t len);
int copy_to_user(struct drv_mm *mm, uint64_t dst, const void *src, size_t len);

/* ---- fault.c ---- */
enum drv_fault {
	DRV_FAULT_NOPAGE = 0,   /* fixed (or nothing to do): retry the access */
	DRV_FAULT_SIGSEGV,
	DRV_FAULT_SIGBUS,
	DRV_FAULT_OOM,
};
/* do_user_addr_fault for a #PF at addr with this error code, by a thread of mm. */
enum drv_fault drv_handle_fault(struct drv_mm *mm, uint64_t addr, uint32_t error_code);

/* ---- epc.c ---- */
struct drv_page;
struct drv_va_page;
enum drv_epc_flags {
	DRV_EPC_FREE = 1u << 0,
	DRV_EPC_RECLAIMABLE = 1u << 1,   /* on the LRU (SGX_EPC_PAGE_RECLAIMER_TRACKED) */
	DRV_EPC_VA = 1u << 2,
};
struct drv_epc_page {               /* struct sgx_epc_page */
	uint32_t flags;
	void *owner;                     /* struct drv_page *, struct drv_va_page * or NULL */
	uint32_t lru_prev, lru_next;     /* frame numbers; HW_NO_FRAME ends the list */
};
/* Allocate a frame for owner.  reclaim: may run reclaim directly.  Returns the
 * frame, or HW_NO_FRAME with *err = -ENOMEM (nothing reclaimable) / -EBUSY. */
uint32_t epc_alloc(struct emu *emu, void *owner, bool reclaim, int *err);
void epc_free(struct emu *emu, uint32_t frame);      /* EREMOVE must have been done */
void epc_mark_reclaimable(struct emu *emu, uint32_t frame);
int epc_unmark_reclaimable(struct emu *emu, uint32_t frame);  /* 0 or -EBUSY (being reclaimed) */
uint64_t epc_kaddr(struct emu *emu, uint32_t frame);  /* host address for ENCLS operands */
uint32_t epc_nr_free(struct emu *emu);
/* Called by emu_create (after emu->m exists) / emu_destroy: 0 or -ENOMEM. */
int epc_init(struct emu *emu);
void epc_destroy(struct emu *emu);
/* Reclaimer's selection step: up to nr pages off the LRU head into frames[].
 * Each returned page holds a new reference on its enclave (drop it with
 * encl_put) and is "being reclaimed" (epc_unmark_reclaimable → -EBUSY) until
 * epc_putback or epc_free.  Pages of an enclave being released are skipped
 * and lose their RECLAIMABLE flag, so the release path frees them. */
unsigned epc_isolate(struct emu *emu, uint32_t *frames, unsigned nr);
void epc_putback(struct emu *emu, uint32_t frame);   /* isolated page → LRU tail */
uint32_t epc_nr_reclaimable(struct emu *emu);        /* pages on the LRU (tests) */

/* ---- encl.c ---- */
enum drv_encl_flags {               /* bits of drv_encl.flags (Linux SGX_ENCL_*) */
	DRV_ENCL_IOCTL = 1u << 0,
	DRV_ENCL_DEBUG = 1u << 1,
	DRV_ENCL_CREATED = 1u << 2,
	DRV_ENCL_INITIALIZED = 1u << 3,
};
enum drv_page_flags {
	DRV_PAGE_BEING_RECLAIMED = 1u << 0,
	DRV_PAGE_BUSY = 1u << 1,         /* remove / TCS conversion in progress: don't load */
	DRV_PAGE_ADDED = 1u << 2,        /* by ADD_PAGES (invariant K2 applies) */
};

struct drv_page {                    /* struct sgx_encl_page */
	uint64_t addr;                   /* page-aligned linear address */
	uint8_t vm_max_prot_bits;        /* DRV_VM_* */
	uint8_t vm_run_prot_bits;        /* policy v2: the kernel's copy of the EPCM rights */
	uint8_t type;                    /* enum sgx_page_type, as the kernel believes */
	uint8_t flags;                   /* enum drv_page_flags */
	uint32_t epc_frame;              /* HW_NO_FRAME while evicted */
	struct drv_va_page *va_page;     /* while evicted */
	uint16_t va_slot;
	struct drv_encl *encl;
};

struct drv_va_page {
	uint32_t epc_frame;
	uint64_t used[512 / 64];
	struct drv_va_page *next;
};

struct drv_encl_mm {                 /* struct sgx_encl_mm */
	struct drv_mm *mm;
	struct drv_encl_mm *next;
};

struct drv_backing {                 /* one evicted page in the backing store */
	uint8_t contents[4096];
	struct sgx_pcmd pcmd;
};

struct drv_encl {
	struct emu *emu;
	pthread_mutex_t lock;
	atomic_uint flags;               /* enum drv_encl_flags */
	atomic_int refcount;
	uint64_t base, size;
	uint64_t attributes, attributes_mask;
	enum emu_policy policy;          /* from emu_config, or SGX2EMU_IOC_SET_POLICY before CREATE */
	struct emu_switches sw;
	struct drv_page secs;
	struct xa pages;                 /* key: addr >> 12 */
	uint64_t page_cnt;               /* pages incl. SECS, for VA accounting */
	uint64_t secs_child_cnt;         /* resident children */
	struct drv_va_page *va_pages;    /* head has a free slot */
	pthread_mutex_t mm_lock;
	struct drv_encl_mm *mm_list;
	uint64_t mm_list_version;
	struct xa backing;               /* key: page index ((addr - base) >> 12), SECS at size >> 12 */
};

struct drv_encl *encl_create(struct emu *emu);
void encl_get(struct drv_encl *encl);
void encl_put(struct drv_encl *encl);            /* last put releases (EREMOVE everything) */
int encl_mm_add(struct drv_encl *encl, struct drv_mm *mm);   /* sgx_mmap / vma_open */
void encl_mm_remove(struct drv_encl *encl, struct drv_mm *mm);
/* sgx_encl_may_map: 0 or -EACCES */
int encl_may_map(struct drv_encl *encl, uint64_t start, uint64_t end, unsigned prot, struct drv_mm *mm);
/* sgx_vma_fault for an SGX VMA (mm lock held for read) */
enum drv_fault encl_vma_fault(struct drv_mm *mm, struct drv_vma *vma, uint64_t addr);
/* Load a page (ELDU it and its SECS if evicted), encl->lock held.  Returns the
 * page or NULL with *err = -EFAULT (no entry) / -EBUSY (being reclaimed). */
struct drv_page *encl_load_page(struct drv_encl *encl, uint64_t addr, int *err);
/* vm_ops->pfn_mkwrite: a write to a present read-only PTE of a writable SGX
 * VMA (policies v1/v2 narrow PTEs below the VMA); mm lock held for read. */
enum drv_fault encl_vma_pfn_mkwrite(struct drv_mm *mm, struct drv_vma *vma, uint64_t addr);
/* EAUG a page at addr (a hole of an initialized enclave), encl->lock held, no
 * reclaim.  0 and *out; -EBUSY (retry after ksgxd), -ENOMEM (kernel memory),
 * -ENOSPC (no EPC: nothing reclaimable), -EINVAL (not initialized), -EFAULT. */
int encl_eaug(struct drv_encl *encl, uint64_t addr, struct drv_page **out);
/* MAP_POPULATE (switch): EAUG and map the holes of [start, end) of the SGX
 * VMA just made; best effort, mm lock NOT held. */
void encl_populate(struct drv_mm *mm, struct drv_encl *encl, uint64_t start, uint64_t end);
/* Debug access (ptrace, /proc/pid/mem): bytes copied or -errno. */
int encl_access(struct drv_encl *encl, uint64_t addr, void *buf, size_t len, bool write);
/* sgx_release, for the last close of a /dev/sgx_enclave file: drains mm_list
 * (dropping each encl_mm's reference) and drops the file's reference.
 * encl_mm_add takes one enclave reference per mm; the mm gives it back with
 * encl_mm_remove when it exits (mmu_notifier release) or here. */
void encl_file_release(struct drv_encl *encl);
/* CPUID.12H.0:EAX[1] */
bool drv_has_sgx2(struct emu *emu);

/* ---- policy.c: the permission policies' decisions (docs/driver.md "Policies") ---- */
#define POLICY_MAX_FAULT_AROUND 512u   /* pages: a 2 MiB window */
bool policy_config_ok(enum emu_policy p, const struct emu_switches *sw);
bool policy_sgx2(const struct drv_encl *encl);           /* SGX2 ioctls and EAUG usable */
bool policy_ioctl_exists(const struct drv_encl *encl, unsigned long cmd);
unsigned policy_map_limit(const struct drv_page *page);  /* may_map: VMA ⊆ this */
bool policy_fault_vma_ok(const struct drv_page *page, unsigned vm_prot);
unsigned policy_pte_prot(const struct drv_page *page, unsigned vm_prot);
bool policy_pfn_mkwrite(const struct drv_page *page, bool *allowed);
void policy_page_added(struct drv_page *page, uint8_t max);
void policy_page_augmented(struct drv_page *page);
void policy_page_narrow(struct drv_page *page, uint8_t max);
bool policy_tracks_run(const struct drv_encl *encl);
uint8_t policy_restricted_run(const struct drv_page *page, uint64_t perms);
int policy_modp_check(const struct drv_page *page, uint64_t perms);
bool policy_etrack_per_page(const struct drv_encl *encl);
unsigned policy_fault_around(const struct drv_encl *encl);
bool policy_populate(const struct drv_encl *encl);
/* vm_ops->mprotect: may_map (+ EMODPR under mprotect-emodpr); mm lock held for write */
int policy_vma_mprotect(struct drv_encl *encl, uint64_t start, uint64_t end, unsigned prot, struct drv_mm *mm);

/* ---- ioctl.c / ioctl_sgx2.c ----
 * arg is the user pointer given to emu_ioctl: handlers copy_from_user /
 * copy_to_user it.  encl_ioctl does the SGX_ENCL_IOCTL test-and-set (EBUSY)
 * and returns -ENOTTY for unknown commands; the SGX2 handlers check ENODEV
 * (no SGX2) themselves, first, as Linux does. */
long encl_ioctl(struct emu_proc *proc, struct drv_encl *encl, unsigned long cmd, void *arg);
long ioctl_restrict_permissions(struct emu_proc *proc, struct drv_encl *encl, void *arg);
long ioctl_modify_types(struct emu_proc *proc, struct drv_encl *encl, void *arg);
long ioctl_remove_pages(struct emu_proc *proc, struct drv_encl *encl, void *arg);
/* Shared with ioctl_ext.c: sgx_ioc_sgx2_ready (ENODEV, EINVAL), the range rule,
 * and the per-page body of RESTRICT: load, REG only, policy checks, (v2: run
 * and PTE zap), EMODPR, ETRACK unless deferred to sgx2_etrack_deferred.
 * in_mm: from mprotect with the mm lock held (no reclaim, no PTE zap).
 * Takes and drops encl->lock; 0 or -errno, *result set for an SGX code. */
long sgx2_ready(struct drv_encl *encl);
bool encl_validate_offset_length(const struct drv_encl *encl, uint64_t offset, uint64_t length);
long sgx2_emodpr_page(struct drv_encl *encl, uint64_t addr, uint64_t perms, bool in_mm, uint64_t *result);
/* The one ETRACK + IPI round of a call made with the etrack-per-ioctl switch
 * (if it changed a page); returns ret, or the ETRACK failure if ret was 0. */
long sgx2_etrack_deferred(struct drv_encl *encl, bool changed, long ret);

/* ---- ioctl_ext.c: sgx2emu's extension ioctls (include/sgx2emu/policy.h) ----
 * ioctl_ext: -ENOTTY for a command it does not know. */
long ioctl_ext(struct emu_proc *proc, struct drv_encl *encl, unsigned long cmd, void *arg);
/* mprotect-emodpr: EMODPR(prot) + ETRACK on each page of [start, end). */
int ext_mprotect_emodpr(struct drv_encl *encl, uint64_t start, uint64_t end, unsigned prot);

/* ---- track.c ---- */
uint64_t encl_cpumask(struct drv_encl *encl);      /* OR of mm cpumasks of live mms */
int encl_etrack(struct drv_encl *encl);            /* ETRACK (+IPI, retry) then IPI; 0 or -EFAULT */
void encl_zap_ptes(struct drv_encl *encl, uint64_t addr);   /* encl->lock NOT held */
/* Send an IPI to every LP in mask and wait until each has taken it. */
void emu_send_ipis(struct emu *emu, uint64_t mask);

/* ---- reclaim.c ---- */
int reclaim_pages(struct emu *emu, unsigned nr);   /* one batch; number reclaimed */
void reclaim_direct(struct emu *emu);              /* sgx_reclaim_direct: batch if below low watermark */
/* ksgxd, run synchronously by the caller at a point where it holds no lock
 * (the start of a fault, the wait of a debug access): below the low watermark,
 * reclaim until the high one is reached or nothing more can be freed. */
void ksgxd_run(struct emu *emu);
/* VA slots holding the version of an evicted page (tests); encl->lock held. */
unsigned encl_va_slots_used(struct drv_encl *encl);
int encl_eldu(struct drv_encl *encl, struct drv_page *page);   /* 0 or -errno */
int encl_load_secs(struct drv_encl *encl);         /* ELDU the SECS if evicted */
/* VA accounting (sgx_encl_grow): one more page; a new VA page (EPA'd, at the
 * head of va_pages) when page_cnt % 512 == 0.  0, -EBUSY, -ENOMEM, -EFAULT.
 * reclaim = false: encl->lock held (the EAUG fault).  reclaim = true: encl->lock
 * NOT held, since allocating may reclaim pages of this very enclave; the VA
 * page is linked under encl->lock taken inside (CREATE, ADD_PAGES). */
int encl_grow(struct drv_encl *encl, bool reclaim);
void encl_shrink(struct drv_encl *encl);   /* page_cnt--, VA pages kept (REMOVE_PAGES) */
/* Undo the encl_grow just made, on an error path (sgx_encl_shrink with the
 * grown VA page): page_cnt-- and free the VA page that grow allocated, if it
 * is still unused.  encl->lock held. */
void encl_ungrow(struct drv_encl *encl);

/* ---- system.c ---- */
enum drv_file_kind { DRV_FILE_ENCLAVE, DRV_FILE_PROVISION };
struct drv_file {
	enum drv_file_kind kind;
	struct drv_encl *encl;           /* DRV_FILE_ENCLAVE */
	atomic_int refcount;             /* the fd table entries and the VMAs (vm_file) */
	int f_flags;                     /* open flags: O_ACCMODE gives FMODE_READ/FMODE_WRITE */
};
void drv_file_get(struct drv_file *file);
/* fget: the open file of fd with a reference, or NULL (EBADF). */
struct drv_file *drv_fget(struct emu_proc *proc, int fd);
/* fput: the last reference releases the enclave (encl_file_release), after
 * this mm's notifiers for it are unlinked.  Never called with an mm lock held. */
void drv_file_put(struct drv_file *file);

/* reclaim.c counters, read by emu_reclaim_stats (see emu.h for meanings) */
struct drv_reclaim_stats {
	atomic_uint_fast64_t scanned, young, eblock, etrack, ipis, not_tracked;
	atomic_uint_fast64_t ewb, ewb_secs, ewb_failed, eldu, eldu_secs;
};

struct emu {
	struct emu_config cfg;
	struct hw_machine *m;
	struct emu_counters counters;    /* EMU_COUNT(): relaxed atomic adds from any thread */
	struct hw_counters counters_base;  /* counters.c: hardware counts at the last reset */
	uint64_t step;                   /* event sequence number (emu_step), atomic */
	struct inv_state *inv;           /* invariants.c; NULL when checking is off */
	struct drv_reclaim_stats rstats;   /* reclaim.c; zero from calloc */
	/* epc.c */
	pthread_mutex_t epc_lock;
	struct drv_epc_page *epc_pages;
	uint32_t *free_frames;
	uint32_t nr_free;
	uint32_t lru_head, lru_tail;
	/* LPs: threads own one each; ENCLS from a thread-less caller runs on kernel_lp */
	pthread_mutex_t lp_lock;
	bool lp_busy[HW_MAX_LPS];
	struct hw_lp *kernel_lp;
	/* enclaves alive, for the reclaimer's walk and teardown */
	pthread_mutex_t encl_list_lock;
};

struct emu_proc {
	struct emu *emu;
	struct drv_mm *mm;
	pthread_mutex_t files_lock;
	struct drv_file *files[DRV_MAX_FDS];
	atomic_int nr_threads;           /* emu_proc_exit refuses a process with live threads */
	_Atomic(struct exec_proc *) exec;   /* src/exec: entry registry, suspended enclave code */
};

struct exec_proc;
struct exec_thread;   /* unused: suspended enclave code belongs to the process (per TCS) */
struct emu_thread {
	struct emu_proc *proc;
	struct hw_lp *lp;
	unsigned lp_index;
	struct exec_thread *exec;
};

/* ---- counters.c, invariants.c: measurement (include/sgx2emu/counters.h) ----
 * EMU_COUNT*: relaxed atomic adds from any thread; each also advances the
 * run's event sequence number that locates invariant violations. */
#define EMU_COUNT(emu, field) EMU_COUNT_N(emu, field, 1)
#define EMU_COUNT_N(emu, field, n) \
	((void)__atomic_fetch_add(&(emu)->counters.field, (n), __ATOMIC_RELAXED), \
	 (void)__atomic_fetch_add(&(emu)->step, 1, __ATOMIC_RELAXED))

/* The #PF path's kind (faults[]): drv_handle_fault clears drv_fault_eaug,
 * the EAUG fault sets it. */
extern __thread bool drv_fault_eaug;
void drv_count_fault(struct drv_mm *mm, uint64_t addr, uint32_t error_code, enum drv_fault ret);

/* Invariant checks; each returns at once when checking is off.  Locks:
 * inv_check_* take mm->lock for read (the caller holds no mm or enclave
 * lock); inv_gone takes none; inv_after_ioctl: no lock held. */
struct inv_state;
void inv_init(struct emu *emu);        /* emu_create, once emu->m exists */
void inv_destroy(struct emu *emu);     /* emu_destroy */
/* K1/K2/K3 over the VMAs, PTEs and enclave pages of [start, end) after an
 * mmap (fresh: what was there before is gone) or mprotect. */
void inv_check_mapped(struct drv_mm *mm, uint64_t start, uint64_t end, bool fresh);
/* ... over the PTEs a fixed fault at addr installed (fault-around included). */
void inv_check_fault(struct drv_mm *mm, uint64_t addr);
/* PTEs of [start, end) removed (mappings too if vmas): their episodes end. */
void inv_gone(struct drv_mm *mm, uint64_t start, uint64_t end, bool vmas);
/* K3 for the pages whose EPCM rights the ioctl just cut (EMODPR/EMODT seen
 * by the observer on this thread), in every mm of the enclave. */
void inv_after_ioctl(struct drv_encl *encl);

/* The LP the kernel uses for ENCLS on behalf of the calling host thread. */
struct hw_lp *emu_kernel_lp(struct emu *emu);
/* The open file of fd, or NULL.  No reference is taken: valid during a system
 * call of proc (a concurrent close by another thread is not modelled). */
struct drv_file *proc_file(struct emu_proc *proc, int fd);

/* ---- src/exec (registry.c, vdso.c) ----
 * system.c calls exec_proc_release from emu_proc_exit (frees the entry
 * registry and any suspended enclave code) and exec_proc_fork from emu_fork
 * (the child gets the parent's entry registry; 0 or -ENOMEM).
 * Page table of a thread's LP: emu_enter_enclave sets it to proc->mm->pt
 * (hw_lp_set_pagetable) before each EENTER/ERESUME it issues, so system.c need
 * not; setting it when the thread is created or bound as well is harmless. */
void exec_proc_release(struct emu_proc *proc);
int exec_proc_fork(struct emu_proc *child, struct emu_proc *parent);

#endif
