/*
 * Address spaces (mm.c, fault.c): mmap / mprotect / munmap / fork with the
 * exact errno of Linux's checks, VMA splitting and merging, PTE = VMA, TLB
 * shootdowns, the #PF path (access_error, anonymous and ambient memory, the
 * SGX bit), user copies, and /dev/sgx_enclave mappings (MAP_PRIVATE, file
 * modes, sgx_encl_may_map, PTEs of EPC frames, mm_list across fork).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/emu_fixture.h"
#include "driver/driver.h"

#define PG SGX_PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define PF_U SGX_PFEC_U
#define PF_W SGX_PFEC_W
#define PF_P SGX_PFEC_P
#define PF_I SGX_PFEC_I
#define REG(p) (SGX_SECINFO_PT(SGX_PT_REG) | (p))
#define ATTRS (SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG)

static struct efx *F(void **state)
{
	return *state;
}

static struct drv_mm *MM(void **state)
{
	return F(state)->proc->mm;
}

static uint64_t A(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* The VMA containing addr, or NULL. */
static struct drv_vma *vma_at(struct drv_mm *mm, uint64_t addr)
{
	struct drv_vma *v = mm_find_vma(mm, addr);
	return v && v->start <= addr ? v : NULL;
}

static void assert_vma(struct drv_mm *mm, uint64_t addr, uint64_t start, uint64_t end, unsigned prot, unsigned flags)
{
	struct drv_vma *v = vma_at(mm, addr);
	assert_non_null(v);
	assert_int_equal(v->start, start);
	assert_int_equal(v->end, end);
	assert_int_equal(v->prot, prot);
	assert_int_equal(v->flags, flags);
}

/* An anonymous private mapping of pages (3 or more) pages: the first RW,
 * the second read-only, the third PROT_NONE, the rest RW. */
static char *map_rw_r_none(struct efx *f, unsigned pages)
{
	char *p = emu_mmap(f->proc, NULL, pages * PG, RW, ANON, -1, 0);
	assert_int_equal(emu_mprotect(f->proc, p + PG, PG, PROT_READ), 0);
	assert_int_equal(emu_mprotect(f->proc, p + 2 * PG, PG, PROT_NONE), 0);
	return p;
}

static unsigned nr_vmas(struct drv_mm *mm, uint64_t start, uint64_t end)
{
	unsigned n = 0;
	for (struct drv_vma *v = mm->vmas; v; v = v->next)
		if (v->end > start && v->start < end)
			n++;
	return n;
}

static bool host_mapped(uint64_t a)
{
	unsigned char v;
	return mincore(efx_ptr(a & ~(PG - 1)), PG, &v) == 0;
}

/* PTE protection (HW_PROT_*), or -1 when not present. */
static int pte(struct drv_mm *mm, uint64_t a)
{
	void *host;
	unsigned prot;
	if (!hw_pt_lookup(mm->pt, a, &host, &prot))
		return -1;
	return (int)prot;
}

static void *pte_host(struct drv_mm *mm, uint64_t a)
{
	void *host = NULL;
	assert_true(hw_pt_lookup(mm->pt, a, &host, NULL));
	return host;
}

#define ANON_FLAGS (DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE)

/* ---- anonymous mappings ---- */

static void test_anon_mmap_munmap(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = emu_mmap(f->proc, NULL, 3 * PG - 100, RW, ANON, -1, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(A(p) % PG, 0);
	assert_vma(mm, A(p), A(p), A(p) + 3 * PG, RW, ANON_FLAGS);
	p[0] = 1;                               /* real host memory */
	p[3 * PG - 1] = 2;
	assert_int_equal(emu_munmap(f->proc, p + PG, PG), 0);
	assert_vma(mm, A(p), A(p), A(p) + PG, RW, ANON_FLAGS);
	assert_vma(mm, A(p) + 2 * PG, A(p) + 2 * PG, A(p) + 3 * PG, RW, ANON_FLAGS);
	assert_null(vma_at(mm, A(p) + PG));
	assert_false(host_mapped(A(p) + PG));
	assert_true(host_mapped(A(p)));
	assert_int_equal(emu_munmap(f->proc, p, 3 * PG), 0);
	assert_int_equal(nr_vmas(mm, A(p), A(p) + 3 * PG), 0);
	assert_false(host_mapped(A(p)));
	/* unmapping nothing is no error */
	assert_int_equal(emu_munmap(f->proc, p, 3 * PG), 0);

	char *s = emu_mmap(f->proc, NULL, PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(s, MAP_FAILED);
	assert_vma(mm, A(s), A(s), A(s) + PG, RW, ANON_FLAGS | DRV_VMA_SHARED);
	assert_int_equal(emu_munmap(f->proc, s, PG), 0);
}

static void test_mmap_errors(void **state)
{
	struct efx *f = F(state);
	assert_map_errno(emu_mmap(f->proc, NULL, 0, RW, ANON, -1, 0), EINVAL);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, RW, ANON, -1, 100), EINVAL);      /* offset */
	assert_map_errno(emu_mmap(f->proc, NULL, SIZE_MAX - 10, RW, ANON, -1, 0), ENOMEM);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, RW, MAP_SHARED, 77, 0), EBADF);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, RW, MAP_SHARED, -1, 0), EBADF);
	/* the host checks anonymous mappings as Linux does, being Linux */
	assert_map_errno(emu_mmap(f->proc, NULL, PG, RW, MAP_ANONYMOUS, -1, 0), EINVAL);     /* no type */
	assert_map_errno(emu_mmap(f->proc, efx_ptr(0x10001), PG, RW, ANON | MAP_FIXED, -1, 0), EINVAL);
	assert_null(f->proc->mm->vmas);
}

/* MAP_FIXED replaces the overlapped part of a VMA and its PTEs. */
static void test_anon_map_fixed_replaces(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = emu_mmap(f->proc, NULL, 4 * PG, RW, ANON, -1, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(drv_handle_fault(mm, A(p) + PG, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, A(p) + PG), HW_PROT_R | HW_PROT_W);

	char *q = emu_mmap(f->proc, p + PG, 2 * PG, PROT_READ, ANON | MAP_FIXED, -1, 0);
	assert_ptr_equal(q, p + PG);
	assert_int_equal(nr_vmas(mm, A(p), A(p) + 4 * PG), 3);
	assert_vma(mm, A(p), A(p), A(p) + PG, RW, ANON_FLAGS);
	assert_vma(mm, A(q), A(q), A(q) + 2 * PG, PROT_READ, ANON_FLAGS);
	assert_vma(mm, A(p) + 3 * PG, A(p) + 3 * PG, A(p) + 4 * PG, RW, ANON_FLAGS);
	assert_int_equal(pte(mm, A(p) + PG), -1);             /* zapped */

	/* same protection again: the three merge back into one */
	assert_ptr_equal(emu_mmap(f->proc, q, 2 * PG, RW, ANON | MAP_FIXED, -1, 0), q);
	assert_int_equal(nr_vmas(mm, A(p), A(p) + 4 * PG), 1);
	assert_vma(mm, A(p), A(p), A(p) + 4 * PG, RW, ANON_FLAGS);
	assert_int_equal(emu_munmap(f->proc, p, 4 * PG), 0);
}

static void test_mprotect_split_merge_ptes(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = emu_mmap(f->proc, NULL, 3 * PG, RW, ANON, -1, 0);
	uint64_t mid = A(p) + PG;
	assert_int_equal(drv_handle_fault(mm, mid, PF_U | PF_W), DRV_FAULT_NOPAGE);
	assert_ptr_equal(pte_host(mm, mid), efx_ptr(mid));    /* identity */
	assert_int_equal(pte(mm, mid), HW_PROT_R | HW_PROT_W);

	assert_int_equal(emu_mprotect(f->proc, efx_ptr(mid), PG, PROT_READ), 0);
	assert_int_equal(nr_vmas(mm, A(p), A(p) + 3 * PG), 3);
	assert_vma(mm, mid, mid, mid + PG, PROT_READ, ANON_FLAGS);
	assert_int_equal(pte(mm, mid), HW_PROT_R);            /* PTE = VMA */

	/* PROT_NONE keeps the entry without rights; RW brings it back */
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(mid), PG, PROT_NONE), 0);
	assert_int_equal(pte(mm, mid), -1);
	uint64_t la = A(p);
	assert_true(hw_pt_next(mm->pt, &la, A(p) + 3 * PG));
	assert_int_equal(la, mid);
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(mid), PG, PROT_READ | PROT_EXEC), 0);
	assert_int_equal(pte(mm, mid), HW_PROT_R | HW_PROT_X);
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(mid), 1, RW), 0);   /* len rounds up */
	assert_int_equal(pte(mm, mid), HW_PROT_R | HW_PROT_W);
	assert_int_equal(nr_vmas(mm, A(p), A(p) + 3 * PG), 1);
	assert_vma(mm, A(p), A(p), A(p) + 3 * PG, RW, ANON_FLAGS);

	/* the host mapping follows (anonymous VMAs are real host memory) */
	assert_int_equal(emu_mprotect(f->proc, p, 3 * PG, PROT_READ), 0);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);   /* not cmocka's handler */
		p[0] = 1;                   /* must crash: the host page is read-only now */
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	assert_int_equal(emu_munmap(f->proc, p, 3 * PG), 0);
}

static void test_mprotect_errors(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = emu_mmap(f->proc, NULL, 4 * PG, RW, ANON, -1, 0);
	assert_int_equal(emu_munmap(f->proc, p + 2 * PG, PG), 0);    /* a hole at +2 */

	assert_errno(emu_mprotect(f->proc, p + 1, PG, PROT_READ), EINVAL);
	assert_errno(emu_mprotect(f->proc, p, PG, 0x40), EINVAL);          /* unknown bit */
	assert_errno(emu_mprotect(f->proc, p, PG, PROT_READ | PROT_GROWSDOWN), EINVAL);
	assert_int_equal(emu_mprotect(f->proc, p, 0, PROT_READ), 0);
	assert_errno(emu_mprotect(f->proc, p, SIZE_MAX - 10, PROT_READ), ENOMEM);
	/* starting in the hole */
	assert_errno(emu_mprotect(f->proc, p + 2 * PG, 2 * PG, PROT_READ), ENOMEM);
	assert_vma(mm, A(p) + 3 * PG, A(p) + 3 * PG, A(p) + 4 * PG, RW, ANON_FLAGS);
	/* across the hole: what comes before it is changed, as Linux leaves it */
	assert_errno(emu_mprotect(f->proc, p + PG, 3 * PG, PROT_READ), ENOMEM);
	assert_vma(mm, A(p) + PG, A(p) + PG, A(p) + 2 * PG, PROT_READ, ANON_FLAGS);
	assert_vma(mm, A(p), A(p), A(p) + PG, RW, ANON_FLAGS);
	assert_vma(mm, A(p) + 3 * PG, A(p) + 3 * PG, A(p) + 4 * PG, RW, ANON_FLAGS);
	/* running past the last VMA */
	assert_errno(emu_mprotect(f->proc, p + 3 * PG, 2 * PG, PROT_READ), ENOMEM);
	assert_vma(mm, A(p) + 3 * PG, A(p) + 3 * PG, A(p) + 4 * PG, PROT_READ, ANON_FLAGS);
	/* no VMA at all */
	assert_errno(emu_mprotect(f->proc, efx_ptr(0x10000), PG, PROT_READ), ENOMEM);

	/* VM_MAYEXEC missing (as for a noexec mount): EACCES, nothing changed */
	vma_at(mm, A(p))->flags &= ~DRV_VMA_MAYEXEC;
	assert_errno(emu_mprotect(f->proc, p, PG, PROT_READ | PROT_EXEC), EACCES);
	assert_int_equal(vma_at(mm, A(p))->prot, RW);
	assert_int_equal(emu_mprotect(f->proc, p, PG, PROT_READ), 0);
	assert_int_equal(emu_munmap(f->proc, p, 4 * PG), 0);
}

static void test_munmap_errors(void **state)
{
	struct efx *f = F(state);
	char *p = emu_mmap(f->proc, NULL, PG, RW, ANON, -1, 0);
	assert_errno(emu_munmap(f->proc, p + 1, PG), EINVAL);
	assert_errno(emu_munmap(f->proc, p, 0), EINVAL);
	assert_errno(emu_munmap(f->proc, efx_ptr(1ull << 47), PG), EINVAL);
	assert_errno(emu_munmap(f->proc, efx_ptr((1ull << 47) - PG), 2 * PG), EINVAL);
	assert_errno(emu_munmap(f->proc, p, SIZE_MAX), EINVAL);
	assert_non_null(vma_at(f->proc->mm, A(p)));
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);
}

/* PTE changes are shot down on the LPs that ran the mm, and only then. */
static void test_tlb_shootdown(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	struct emu_thread *t = emu_thread_create(f->proc);
	assert_non_null(t);
	const struct hw_lp_stats *st = hw_lp_stats(emu_thread_lp(t));
	char *p = emu_mmap(f->proc, NULL, 2 * PG, RW, ANON, -1, 0);
	uint64_t flushes = st->tlb_flushes;

	assert_int_equal(emu_mprotect(f->proc, p, 2 * PG, PROT_READ), 0);   /* no PTE: no IPI */
	assert_int_equal(st->tlb_flushes, flushes);
	assert_int_equal(drv_handle_fault(mm, A(p), PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(emu_mprotect(f->proc, p, 2 * PG, RW), 0);
	assert_int_equal(st->tlb_flushes, flushes + 1);
	mm_zap_range(mm, A(p), A(p) + 2 * PG);
	assert_int_equal(pte(mm, A(p)), -1);
	assert_int_equal(st->tlb_flushes, flushes + 2);
	mm_zap_range(mm, A(p), A(p) + 2 * PG);                /* nothing left */
	assert_int_equal(st->tlb_flushes, flushes + 2);
	assert_int_equal(drv_handle_fault(mm, A(p) + PG, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(emu_munmap(f->proc, p, 2 * PG), 0);
	assert_int_equal(pte(mm, A(p) + PG), -1);
	assert_int_equal(st->tlb_flushes, flushes + 3);
	emu_thread_destroy(t);
}

/* hw_pt_next visits exactly the entries, across tables, in a huge range. */
static void test_pt_next_sparse(void **state)
{
	(void)state;
	struct hw_pagetable *pt = hw_pt_create();
	static uint8_t page[PG] __attribute__((aligned(4096)));
	const uint64_t las[] = { 0x1000, 0x200000, 0x40000000ull, 0x7f0000001000ull, (1ull << 47) - PG };
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(hw_pt_map(pt, las[i], page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_protect(pt, las[2], 0), 0);    /* kept without rights */
	uint64_t la = 0;
	for (unsigned i = 0; i < 5; i++) {
		assert_true(hw_pt_next(pt, &la, UINT64_MAX));
		assert_int_equal(la, las[i]);
		la += PG;
	}
	assert_false(hw_pt_next(pt, &la, UINT64_MAX));
	la = 0x1001;
	assert_true(hw_pt_next(pt, &la, 0x200001));
	assert_int_equal(la, 0x1000);
	la = 0x2000;
	assert_true(hw_pt_next(pt, &la, 0x200001));
	assert_int_equal(la, 0x200000);
	la = 0x2000;
	assert_false(hw_pt_next(pt, &la, 0x200000));         /* end is exclusive */
	hw_pt_destroy(pt);
}

/* ---- the fault path ---- */

static void test_fault_anon(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = map_rw_r_none(f, 4);
	assert_int_equal(emu_mprotect(f->proc, p + 3 * PG, PG, PROT_READ | PROT_EXEC), 0);
	uint64_t rw = A(p), ro = rw + PG, none = rw + 2 * PG, rx = rw + 3 * PG;

	/* the SGX bit is fatal before anything else, VMA or not */
	assert_int_equal(drv_handle_fault(mm, rw, SGX_PFEC_SGX | PF_U | PF_W | PF_P), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, rw), -1);
	assert_int_equal(drv_handle_fault(mm, rw + 8, PF_U | PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, rw), HW_PROT_R | HW_PROT_W);
	assert_ptr_equal(pte_host(mm, rw), p);

	assert_int_equal(drv_handle_fault(mm, ro, PF_U | PF_W), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, ro), -1);
	assert_int_equal(drv_handle_fault(mm, ro, PF_U | PF_I), DRV_FAULT_SIGSEGV);   /* fetch, NX */
	assert_int_equal(drv_handle_fault(mm, ro, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, ro), HW_PROT_R);
	/* a read of a present page is a protection fault */
	assert_int_equal(drv_handle_fault(mm, ro, PF_U | PF_P), DRV_FAULT_SIGSEGV);

	assert_int_equal(drv_handle_fault(mm, none, PF_U), DRV_FAULT_SIGSEGV);
	assert_int_equal(drv_handle_fault(mm, none, PF_U | PF_W), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, none), -1);

	assert_int_equal(drv_handle_fault(mm, rx, PF_U | PF_I), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, rx), HW_PROT_R | HW_PROT_X);
	assert_int_equal(drv_handle_fault(mm, rx, PF_U | PF_I | PF_P), DRV_FAULT_SIGSEGV);

	assert_int_equal(drv_handle_fault(mm, 1ull << 47, PF_U), DRV_FAULT_SIGSEGV);
	assert_int_equal(emu_munmap(f->proc, p, 4 * PG), 0);
}

static const char rodata_page[PG] __attribute__((aligned(4096))) = "read-only";

static void test_fault_ambient(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	uint8_t *heap = aligned_alloc(PG, 2 * PG);
	assert_non_null(heap);
	memset(heap, 0, 2 * PG);
	uint64_t h = A(heap);

	/* the program's own memory: identity, RW, NX */
	assert_int_equal(drv_handle_fault(mm, h + 5, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, h), HW_PROT_R | HW_PROT_W);
	assert_ptr_equal(pte_host(mm, h), heap);
	assert_int_equal(drv_handle_fault(mm, h + PG, PF_U | PF_I), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, h + PG), -1);
	assert_int_equal(drv_handle_fault(mm, h, PF_U | PF_W | PF_P), DRV_FAULT_SIGSEGV);  /* P: not a miss */

	/* read-only host memory is mapped read-only; a write is SIGSEGV */
	uint64_t ro = A(rodata_page);
	assert_int_equal(drv_handle_fault(mm, ro, PF_U | PF_W), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, ro), -1);
	assert_int_equal(drv_handle_fault(mm, ro, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, ro), HW_PROT_R);

	/* nothing there, or PROT_NONE on the host, or the EPC */
	uint8_t *hole = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(hole, MAP_FAILED);
	assert_int_equal(munmap(hole + PG, PG), 0);
	assert_int_equal(drv_handle_fault(mm, A(hole), PF_U), DRV_FAULT_SIGSEGV);
	assert_int_equal(drv_handle_fault(mm, A(hole) + PG, PF_U), DRV_FAULT_SIGSEGV);
	assert_int_equal(drv_handle_fault(mm, A(hw_epc_base(f->emu->m)), PF_U), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, A(hole)), -1);
	assert_int_equal(munmap(hole, PG), 0);

	/* munmap over ambient memory zaps its PTEs but leaves the host memory */
	assert_int_equal(emu_munmap(f->proc, heap, PG), 0);
	assert_int_equal(pte(mm, h), -1);
	heap[0] = 7;
	free(heap);
}

/* ---- user copies ---- */

static void test_user_copies(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = map_rw_r_none(f, 3);
	char buf[64];

	memcpy(p, "hello", 6);
	assert_int_equal(copy_from_user(mm, buf, A(p), 6), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(copy_to_user(mm, A(p) + 100, "world", 6), 0);
	assert_string_equal(p + 100, "world");
	assert_int_equal(copy_from_user(mm, buf, A(p) + PG, 8), 0);            /* R */
	assert_int_equal(copy_to_user(mm, A(p) + PG, "x", 1), -EFAULT);        /* R: no write */
	assert_int_equal(copy_from_user(mm, buf, A(p) + 2 * PG, 1), -EFAULT);  /* PROT_NONE */
	assert_int_equal(copy_from_user(mm, buf, A(p) + PG - 4, 8), 0);       /* RW then R */
	assert_int_equal(copy_to_user(mm, A(p) + PG - 4, "12345678", 8), -EFAULT);
	assert_int_equal(copy_from_user(mm, buf, 0, 0), 0);
	assert_int_equal(copy_from_user(mm, buf, UINT64_MAX - 2, 8), -EFAULT);  /* wraps */
	assert_int_equal(copy_from_user(mm, buf, (1ull << 47) - 4, 8), -EFAULT);

	/* ambient: the stack, a host PROT_NONE page, a hole, a read-only page, the EPC */
	char local[16] = "on the stack";
	assert_int_equal(copy_from_user(mm, buf, A(local), sizeof(local)), 0);
	assert_string_equal(buf, "on the stack");
	assert_int_equal(copy_to_user(mm, A(local), "changed", 8), 0);
	assert_string_equal(local, "changed");
	uint8_t *h = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_int_equal(munmap(h + PG, PG), 0);
	assert_int_equal(copy_from_user(mm, buf, A(h), 8), -EFAULT);
	assert_int_equal(copy_from_user(mm, buf, A(h) + PG, 8), -EFAULT);
	assert_int_equal(munmap(h, PG), 0);
	assert_int_equal(copy_from_user(mm, buf, A(rodata_page), 10), 0);
	assert_string_equal(buf, "read-only");
	assert_int_equal(copy_to_user(mm, A(rodata_page), "x", 1), -EFAULT);
	assert_string_equal(rodata_page, "read-only");
	assert_int_equal(copy_from_user(mm, buf, A(hw_epc_base(f->emu->m)), 8), -EFAULT);
	assert_int_equal(emu_munmap(f->proc, p, 3 * PG), 0);
}

/* ---- READ_IMPLIES_EXEC ---- */

static void test_read_implies_exec(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	mm->personality_read_implies_exec = true;
	char *p = emu_mmap(f->proc, NULL, PG, PROT_READ, ANON, -1, 0);
	assert_vma(mm, A(p), A(p), A(p) + PG, PROT_READ | PROT_EXEC, ANON_FLAGS);
	assert_int_equal(emu_mprotect(f->proc, p, PG, RW), 0);
	assert_int_equal(vma_at(mm, A(p))->prot, RW | PROT_EXEC);
	assert_int_equal(emu_mprotect(f->proc, p, PG, PROT_WRITE), 0);    /* no READ: no EXEC */
	assert_int_equal(vma_at(mm, A(p))->prot, PROT_WRITE);
	mm->personality_read_implies_exec = false;
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);
}

/* ---- fork (anonymous part) ---- */

static void test_fork_anon(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	char *p = emu_mmap(f->proc, NULL, 2 * PG, RW, ANON, -1, 0);
	assert_int_equal(drv_handle_fault(mm, A(p), PF_U), DRV_FAULT_NOPAGE);

	struct emu_proc *c = emu_fork(f->proc);
	assert_non_null(c);
	struct drv_mm *cm = c->mm;
	assert_ptr_not_equal(cm, mm);
	assert_vma(cm, A(p), A(p), A(p) + 2 * PG, RW, ANON_FLAGS | DRV_VMA_NOHOST);
	assert_int_equal(pte(cm, A(p)), -1);                  /* no PTE is copied */
	assert_int_equal(pte(mm, A(p)), HW_PROT_R | HW_PROT_W);
	assert_int_equal(atomic_load(&cm->cpumask), 0);
	assert_int_equal(drv_handle_fault(cm, A(p), PF_U | PF_W), DRV_FAULT_NOPAGE);
	assert_ptr_equal(pte_host(cm, A(p)), p);               /* the same host memory */

	/* the child's mprotect / munmap / exit never touch the parent's host mapping */
	assert_int_equal(emu_mprotect(c, p, PG, PROT_READ), 0);
	assert_int_equal(pte(cm, A(p)), HW_PROT_R);
	p[0] = 1;                                             /* still writable on the host */
	assert_int_equal(emu_munmap(c, p + PG, PG), 0);
	assert_true(host_mapped(A(p) + PG));
	assert_vma(mm, A(p), A(p), A(p) + 2 * PG, RW, ANON_FLAGS);
	emu_proc_exit(c);
	assert_true(host_mapped(A(p)));
	assert_int_equal(pte(mm, A(p)), HW_PROT_R | HW_PROT_W);
	assert_int_equal(emu_munmap(f->proc, p, 2 * PG), 0);
	assert_false(host_mapped(A(p)));
}

/* ---- /dev/sgx_enclave mappings ---- */

/* Probes before CREATE (the selftests' encl_load) and the device's rules. */
static void test_encl_mmap_rules(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	int fd = emu_open(f->proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(fd >= 0);
	struct drv_encl *encl = proc_file(f->proc, fd)->encl;

	void *p = emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_vma(mm, A(p), A(p), A(p) + PG, PROT_READ,
		   DRV_VMA_SGX | DRV_VMA_SHARED | DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE);
	assert_ptr_equal(vma_at(mm, A(p))->encl, encl);
	assert_ptr_equal(vma_at(mm, A(p))->file, proc_file(f->proc, fd));
	/* the host range is reserved, never accessible */
	assert_true(host_mapped(A(p)));
	char c;
	assert_int_equal(copy_from_user(mm, &c, A(p), 1), -EFAULT);
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);
	assert_false(host_mapped(A(p)));
	p = emu_mmap(f->proc, NULL, PG, PROT_EXEC, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);
	/* this mm is on the enclave's mm_list, once */
	assert_non_null(encl->mm_list);
	assert_ptr_equal(encl->mm_list->mm, mm);
	assert_null(encl->mm_list->next);

	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), EINVAL);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED, fd, 0x123), EINVAL);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED, fd, -(off_t)PG), EOVERFLOW);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED | MAP_GROWSDOWN, fd, 0), EINVAL);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0), EOPNOTSUPP);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, 0, fd, 0), EINVAL);      /* no type */
	assert_map_errno(emu_mmap(f->proc, efx_ptr(0x7000001), PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0), EINVAL);
	assert_map_errno(emu_mmap(f->proc, efx_ptr(1ull << 47), PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0), ENOMEM);
	assert_map_errno(emu_mmap(f->proc, NULL, 1ull << 47, PROT_READ, MAP_SHARED, fd, 0), ENOMEM);
	/* the file offset is otherwise ignored */
	p = emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED_VALIDATE, fd, 0x5000);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);

	/* MAP_FIXED_NOREPLACE: an emu VMA or ambient host memory is in the way */
	char *anon = emu_mmap(f->proc, NULL, PG, RW, ANON, -1, 0);
	assert_map_errno(emu_mmap(f->proc, anon, PG, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0), EEXIST);
	assert_map_errno(emu_mmap(f->proc, (void *)rodata_page, PG, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0),
			 EEXIST);
	assert_int_equal(emu_munmap(f->proc, anon, PG), 0);
	p = emu_mmap(f->proc, anon, PG, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	assert_ptr_equal(p, anon);
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);
	assert_int_equal(emu_close(f->proc, fd), 0);
}

static void test_encl_mmap_file_modes(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	int ro = emu_open(f->proc, "/dev/sgx_enclave", O_RDONLY);
	int wo = emu_open(f->proc, "/dev/sgx_enclave", O_WRONLY);
	int prov = emu_open(f->proc, "/dev/sgx_provision", O_RDONLY);

	assert_map_errno(emu_mmap(f->proc, NULL, PG, RW, MAP_SHARED, ro, 0), EACCES);
	void *p = emu_mmap(f->proc, NULL, PG, PROT_READ | PROT_EXEC, MAP_SHARED, ro, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_vma(mm, A(p), A(p), A(p) + PG, PROT_READ | PROT_EXEC, DRV_VMA_SGX | DRV_VMA_SHARED | DRV_VMA_MAYEXEC);
	assert_errno(emu_mprotect(f->proc, p, PG, RW), EACCES);          /* no VM_MAYWRITE */
	assert_int_equal(emu_mprotect(f->proc, p, PG, PROT_READ), 0);
	assert_int_equal(emu_munmap(f->proc, p, PG), 0);

	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED, wo, 0), EACCES);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_SHARED, prov, 0), ENODEV);
	assert_map_errno(emu_mmap(f->proc, NULL, PG, PROT_READ, MAP_PRIVATE, prov, 0), ENODEV);
	assert_null(mm->vmas);
	emu_close(f->proc, ro);
	emu_close(f->proc, wo);
	emu_close(f->proc, prov);
}

/* An enclave with pages of each kind of maximum protection, initialized
 * when init; returns its base. */
#define E_SIZE 0x40000ull
#define E_TCS  0x0000
#define E_RW   0x1000        /* 2 pages RW */
#define E_RX   0x3000
#define E_R    0x4000
#define E_HOLE 0x10000

static uint64_t build(struct efx *f, struct efx_encl *e, bool init)
{
	static uint8_t tcs[PG] __attribute__((aligned(4096)));
	memset(tcs, 0, sizeof(tcs));
	((struct sgx_tcs *)tcs)->ossa = E_RW;
	((struct sgx_tcs *)tcs)->nssa = 1;
	((struct sgx_tcs *)tcs)->oentry = E_RX;
	assert_int_equal(efx_encl_create(f, e, E_SIZE, ATTRS), 0);
	assert_int_equal(efx_encl_add(f, e, E_TCS, PG, SGX_SECINFO_PT(SGX_PT_TCS), tcs, true), 0);
	assert_int_equal(efx_encl_add(f, e, E_RW, 2 * PG, REG(SGX_SECINFO_R | SGX_SECINFO_W), NULL, true), 0);
	assert_int_equal(efx_encl_add(f, e, E_RX, PG, REG(SGX_SECINFO_R | SGX_SECINFO_X), NULL, true), 0);
	assert_int_equal(efx_encl_add(f, e, E_R, PG, REG(SGX_SECINFO_R), NULL, true), 0);
	if (init)
		assert_int_equal(efx_encl_init(f, e), 0);
	return e->base;
}

/* The driver's enclave behind e's fd. */
static struct drv_encl *encl_of(struct efx *f, struct efx_encl *e)
{
	return proc_file(f->proc, e->fd)->encl;
}

static void test_encl_may_map(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	struct efx_encl e;
	uint64_t b = build(f, &e, false);

	/* the reservation is one anonymous PROT_NONE VMA around ELRANGE */
	assert_vma(mm, b, e.reservation, e.reservation + 2 * E_SIZE, PROT_NONE, ANON_FLAGS);
	/* a right above a page's maximum: EACCES, and the reservation stays */
	assert_map_errno(efx_encl_map(f, &e, E_RX, PG, RW), EACCES);
	assert_map_errno(efx_encl_map(f, &e, E_R, PG, PROT_READ | PROT_EXEC), EACCES);
	assert_map_errno(efx_encl_map(f, &e, 0, E_SIZE, PROT_READ | PROT_WRITE), EACCES);
	assert_vma(mm, b, e.reservation, e.reservation + 2 * E_SIZE, PROT_NONE, ANON_FLAGS);
	/* the TCS maps RW (its maximum), holes any way; before INIT beyond ELRANGE too */
	assert_ptr_equal(efx_encl_map(f, &e, E_TCS, PG, RW), efx_ptr(b));
	assert_ptr_equal(efx_encl_map(f, &e, E_HOLE, PG, RW | PROT_EXEC), efx_ptr(b + E_HOLE));
	assert_ptr_equal(efx_encl_map(f, &e, E_SIZE, PG, RW | PROT_EXEC), efx_ptr(b + E_SIZE));
	assert_ptr_equal(efx_encl_map(f, &e, E_RX, PG, PROT_READ | PROT_EXEC), efx_ptr(b + E_RX));
	assert_vma(mm, b + E_RX, b + E_RX, b + E_RX + PG, PROT_READ | PROT_EXEC,
		   DRV_VMA_SGX | DRV_VMA_SHARED | DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE);
	/* the reservation was split around the SGX VMAs */
	assert_vma(mm, b + PG, b + PG, b + E_RX, PROT_NONE, ANON_FLAGS);

	assert_int_equal(efx_encl_init(f, &e), 0);
	/* after INIT: not beyond ELRANGE, even over a hole */
	assert_map_errno(efx_encl_map(f, &e, E_SIZE - PG, 2 * PG, PROT_READ), EACCES);
	assert_map_errno(efx_encl_map(f, &e, E_SIZE, PG, PROT_READ), EACCES);
	assert_vma(mm, b + E_SIZE, b + E_SIZE, b + E_SIZE + PG, RW | PROT_EXEC,
		   DRV_VMA_SGX | DRV_VMA_SHARED | DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE);
	/* READ_IMPLIES_EXEC processes may not map enclaves at all */
	mm->personality_read_implies_exec = true;
	assert_map_errno(efx_encl_map(f, &e, E_HOLE + PG, PG, PROT_READ), EACCES);
	mm->personality_read_implies_exec = false;
	efx_encl_destroy(f, &e);
	assert_null(mm->vmas);
}

static void test_encl_mprotect_split(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	struct efx_encl e;
	uint64_t b = build(f, &e, true);
	const unsigned sgxf = DRV_VMA_SGX | DRV_VMA_SHARED | DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE;

	assert_ptr_equal(efx_encl_map(f, &e, E_RW, 2 * PG, RW), efx_ptr(b + E_RW));
	assert_ptr_equal(efx_encl_map(f, &e, E_HOLE, 3 * PG, RW), efx_ptr(b + E_HOLE));
	/* fault the RW pages in: PTEs map EPC frames with the VMA's rights */
	assert_int_equal(drv_handle_fault(mm, b + E_RW, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(drv_handle_fault(mm, b + E_RW + PG, PF_U | PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, b + E_RW), HW_PROT_R | HW_PROT_W);
	assert_int_not_equal(hw_epc_frame_of(f->emu->m, A(pte_host(mm, b + E_RW))), HW_NO_FRAME);

	assert_int_equal(emu_mprotect(f->proc, efx_ptr(b + E_RW + PG), PG, PROT_READ), 0);
	assert_vma(mm, b + E_RW, b + E_RW, b + E_RW + PG, RW, sgxf);
	assert_vma(mm, b + E_RW + PG, b + E_RW + PG, b + E_RW + 2 * PG, PROT_READ, sgxf);
	assert_int_equal(pte(mm, b + E_RW + PG), HW_PROT_R);
	assert_int_equal(pte(mm, b + E_RW), HW_PROT_R | HW_PROT_W);
	/* back to RW: SGX VMAs (VM_PFNMAP | VM_IO) never merge */
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(b + E_RW + PG), PG, RW), 0);
	assert_int_equal(nr_vmas(mm, b + E_RW, b + E_RW + 2 * PG), 2);
	assert_int_equal(pte(mm, b + E_RW + PG), HW_PROT_R | HW_PROT_W);

	/* mprotect is checked against the pages' maximum (sgx_vma_mprotect) */
	assert_errno(emu_mprotect(f->proc, efx_ptr(b + E_RW), PG, RW | PROT_EXEC), EACCES);
	assert_int_equal(vma_at(mm, b + E_RW)->prot, RW);
	/* the middle of three hole pages: any protection, split in three */
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(b + E_HOLE + PG), PG, RW | PROT_EXEC), 0);
	assert_int_equal(nr_vmas(mm, b + E_HOLE, b + E_HOLE + 3 * PG), 3);
	assert_vma(mm, b + E_HOLE + PG, b + E_HOLE + PG, b + E_HOLE + 2 * PG, RW | PROT_EXEC, sgxf);
	/* a range over an SGX VMA and the reservation: each VMA by its own rules */
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(b + E_RW + PG), 2 * PG, PROT_READ), 0);
	assert_vma(mm, b + E_RX, b + E_RX, b + E_RX + PG, PROT_READ, ANON_FLAGS);
	/* PROT_NONE on an SGX VMA keeps the PTE without rights */
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(b + E_RW), PG, PROT_NONE), 0);
	assert_int_equal(pte(mm, b + E_RW), -1);
	assert_int_equal(drv_handle_fault(mm, b + E_RW, PF_U), DRV_FAULT_SIGSEGV);
	assert_int_equal(emu_mprotect(f->proc, efx_ptr(b + E_RW), PG, PROT_READ), 0);
	assert_int_equal(pte(mm, b + E_RW), HW_PROT_R);
	efx_encl_destroy(f, &e);
}

static struct drv_page *encl_page(struct drv_encl *encl, uint64_t a)
{
	pthread_mutex_lock(&encl->lock);
	struct drv_page *p = xa_load(&encl->pages, a >> 12);
	pthread_mutex_unlock(&encl->lock);
	return p;
}

static void test_encl_fault_munmap(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	struct efx_encl e;
	uint64_t b = build(f, &e, true);
	struct drv_encl *encl = encl_of(f, &e);

	assert_ptr_equal(efx_encl_map(f, &e, 0, E_SIZE, PROT_READ), efx_ptr(b));
	/* access_error comes before the enclave: a write to an R VMA */
	assert_int_equal(drv_handle_fault(mm, b + E_RW, PF_U | PF_W), DRV_FAULT_SIGSEGV);
	assert_int_equal(drv_handle_fault(mm, b + E_RX, PF_U | PF_I), DRV_FAULT_SIGSEGV);
	assert_int_equal(drv_handle_fault(mm, b + E_RW, SGX_PFEC_SGX | PF_U | PF_P), DRV_FAULT_SIGSEGV);
	assert_int_equal(pte(mm, b + E_RW), -1);
	assert_int_equal(drv_handle_fault(mm, b + E_RW + 0x123, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(mm, b + E_RW), HW_PROT_R);
	uint32_t frame = hw_epc_frame_of(f->emu->m, A(pte_host(mm, b + E_RW)));
	assert_int_equal(frame, encl_page(encl, b + E_RW)->epc_frame);
	/* a hole of an initialized enclave: EAUG on fault */
	assert_null(encl_page(encl, b + E_HOLE));
	assert_int_equal(drv_handle_fault(mm, b + E_HOLE, PF_U), DRV_FAULT_NOPAGE);
	assert_non_null(encl_page(encl, b + E_HOLE));
	assert_int_equal(pte(mm, b + E_HOLE), HW_PROT_R);

	char line[512];
	assert_true(emu_inspect_page(f->proc, b + E_RW, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "sgx"));
	assert_non_null(strstr(line, "EPC frame"));

	/* munmap drops the PTEs and the VMA; the enclave pages stay */
	assert_int_equal(emu_munmap(f->proc, efx_ptr(b), E_SIZE), 0);
	assert_int_equal(pte(mm, b + E_RW), -1);
	assert_int_equal(pte(mm, b + E_HOLE), -1);
	assert_null(vma_at(mm, b));
	assert_false(host_mapped(b));
	assert_non_null(encl_page(encl, b + E_RW));
	assert_int_equal(encl_page(encl, b + E_RW)->epc_frame, frame);
	assert_int_equal(drv_handle_fault(mm, b + E_RW, PF_U), DRV_FAULT_SIGSEGV);   /* nothing there now */
	efx_encl_destroy(f, &e);
}

static bool on_mm_list(struct drv_encl *encl, struct drv_mm *mm)
{
	bool found = false;
	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		found |= em->mm == mm;
	pthread_mutex_unlock(&encl->mm_lock);
	return found;
}

static void test_encl_fork(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	struct efx_encl e;
	uint64_t b = build(f, &e, true);
	struct drv_encl *encl = encl_of(f, &e);
	assert_ptr_equal(efx_encl_map(f, &e, E_RW, 2 * PG, RW), efx_ptr(b + E_RW));
	assert_int_equal(drv_handle_fault(mm, b + E_RW, PF_U), DRV_FAULT_NOPAGE);
	assert_true(on_mm_list(encl, mm));

	struct emu_proc *c = emu_fork(f->proc);
	assert_non_null(c);
	struct drv_mm *cm = c->mm;
	assert_true(on_mm_list(encl, cm));
	assert_true(on_mm_list(encl, mm));
	assert_vma(cm, b + E_RW, b + E_RW, b + E_RW + 2 * PG, RW,
		   DRV_VMA_SGX | DRV_VMA_SHARED | DRV_VMA_MAYEXEC | DRV_VMA_MAYWRITE | DRV_VMA_NOHOST);
	assert_ptr_equal(vma_at(cm, b + E_RW)->encl, encl);
	/* the child's pages fault in again, onto the same EPC frame */
	assert_int_equal(pte(cm, b + E_RW), -1);
	assert_int_equal(drv_handle_fault(cm, b + E_RW, PF_U | PF_W), DRV_FAULT_NOPAGE);
	assert_ptr_equal(pte_host(cm, b + E_RW), pte_host(mm, b + E_RW));
	/* the child's munmap does not free the parent's host reservation */
	assert_int_equal(emu_munmap(c, efx_ptr(b + E_RW), 2 * PG), 0);
	assert_true(host_mapped(b + E_RW));
	assert_true(on_mm_list(encl, cm));     /* until exit, as Linux */
	emu_proc_exit(c);
	assert_false(on_mm_list(encl, cm));
	assert_true(on_mm_list(encl, mm));
	assert_int_equal(pte(mm, b + E_RW), HW_PROT_R | HW_PROT_W);
	efx_encl_destroy(f, &e);
}

/* The enclave lives while the fd or a mapping does; then its EPC is free. */
static void test_encl_lifetime(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = MM(state);
	uint32_t free0 = epc_nr_free(f->emu);
	struct efx_encl e;
	uint64_t b = build(f, &e, true);
	assert_true(epc_nr_free(f->emu) < free0);
	struct drv_encl *encl = encl_of(f, &e);
	assert_ptr_equal(efx_encl_map(f, &e, E_RW, PG, RW), efx_ptr(b + E_RW));

	assert_int_equal(emu_close(f->proc, e.fd), 0);
	assert_true(epc_nr_free(f->emu) < free0);
	assert_true(on_mm_list(encl, mm));
	assert_int_equal(drv_handle_fault(mm, b + E_RW, PF_U), DRV_FAULT_NOPAGE);   /* still works */
	assert_int_equal(emu_munmap(f->proc, efx_ptr(b + E_RW), PG), 0);
	assert_int_equal(epc_nr_free(f->emu), free0);          /* released */
	assert_null(mm->notifiers);
	assert_int_equal(emu_munmap(f->proc, efx_ptr(e.reservation), 2 * E_SIZE), 0);
	EVP_MD_CTX_free(e.mr.ctx);
}

/* A process exiting with the mapping: the mm leaves mm_list, the enclave is
 * released once the last fd goes. */
static void test_encl_exit_then_close(void **state)
{
	struct efx *f = F(state);
	uint32_t free0 = epc_nr_free(f->emu);
	struct efx_encl e;
	build(f, &e, true);
	assert_ptr_equal(efx_encl_map(f, &e, E_RW, PG, RW), efx_ptr(e.base + E_RW));
	struct emu_proc *c = emu_fork(f->proc);
	assert_non_null(c);
	/* parent: unmap and close; the child still has a mapping and the fd */
	assert_int_equal(emu_munmap(f->proc, efx_ptr(e.reservation), 2 * E_SIZE), 0);
	assert_int_equal(emu_close(f->proc, e.fd), 0);
	assert_true(epc_nr_free(f->emu) < free0);
	struct drv_encl *encl = proc_file(c, e.fd)->encl;
	assert_int_equal(drv_handle_fault(c->mm, e.base + E_RW, PF_U), DRV_FAULT_NOPAGE);
	assert_true(on_mm_list(encl, c->mm));
	emu_proc_exit(c);
	assert_int_equal(epc_nr_free(f->emu), free0);
	EVP_MD_CTX_free(e.mr.ctx);
}

/*
 * Teardown races: a child exiting, the parent unmapping and closing, and a
 * PTE zap walking mm_list, all at once.  Whoever drops the last file
 * reference releases the enclave; every EPC frame comes back, and the
 * sanitizers see no use of a freed mm or enclave.
 */
struct race {
	struct efx *f;
	struct efx_encl *e;
	struct emu_proc *child;
	struct drv_encl *encl;
	pthread_barrier_t go;
};

static void *race_child_exit(void *p)
{
	struct race *r = p;
	pthread_barrier_wait(&r->go);
	emu_proc_exit(r->child);
	return NULL;
}

static void *race_zap(void *p)
{
	struct race *r = p;
	pthread_barrier_wait(&r->go);
	for (int i = 0; i < 20; i++)
		encl_zap_ptes(r->encl, r->e->base);
	(void)encl_cpumask(r->encl);
	encl_put(r->encl);
	return NULL;
}

static void test_encl_teardown_races(void **state)
{
	struct efx *f = F(state);
	uint32_t free0 = epc_nr_free(f->emu);
	for (int round = 0; round < 30; round++) {
		struct efx_encl e;
		assert_int_equal(efx_encl_create(f, &e, 0x10000, ATTRS), 0);
		assert_int_equal(efx_encl_add(f, &e, 0, PG, REG(SGX_SECINFO_R | SGX_SECINFO_W), NULL, false), 0);
		assert_ptr_equal(efx_encl_map(f, &e, 0, PG, RW), efx_ptr(e.base));
		assert_int_equal(drv_handle_fault(f->proc->mm, e.base, PF_U), DRV_FAULT_NOPAGE);
		struct race r = { .f = f, .e = &e, .encl = encl_of(f, &e) };
		r.child = emu_fork(f->proc);
		assert_non_null(r.child);
		assert_int_equal(drv_handle_fault(r.child->mm, e.base, PF_U | PF_W), DRV_FAULT_NOPAGE);
		encl_get(r.encl);
		pthread_barrier_init(&r.go, NULL, 3);
		pthread_t a, b;
		assert_int_equal(pthread_create(&a, NULL, race_child_exit, &r), 0);
		assert_int_equal(pthread_create(&b, NULL, race_zap, &r), 0);
		pthread_barrier_wait(&r.go);
		if (round & 1) {
			assert_int_equal(emu_close(f->proc, e.fd), 0);
			assert_int_equal(emu_munmap(f->proc, efx_ptr(e.reservation), 2 * 0x10000), 0);
		} else {
			assert_int_equal(emu_munmap(f->proc, efx_ptr(e.reservation), 2 * 0x10000), 0);
			assert_int_equal(emu_close(f->proc, e.fd), 0);
		}
		assert_int_equal(pthread_join(a, NULL), 0);
		assert_int_equal(pthread_join(b, NULL), 0);
		pthread_barrier_destroy(&r.go);
		EVP_MD_CTX_free(e.mr.ctx);
		assert_int_equal(epc_nr_free(f->emu), free0);
		assert_null(f->proc->mm->notifiers);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_anon_mmap_munmap, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_mmap_errors, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_anon_map_fixed_replaces, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_split_merge_ptes, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_errors, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_munmap_errors, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_tlb_shootdown, efx_setup, efx_teardown),
		cmocka_unit_test(test_pt_next_sparse),
		cmocka_unit_test_setup_teardown(test_fault_anon, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_fault_ambient, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_user_copies, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_read_implies_exec, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_fork_anon, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_mmap_rules, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_mmap_file_modes, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_may_map, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_mprotect_split, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_fault_munmap, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_fork, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_lifetime, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_exit_then_close, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_encl_teardown_races, efx_setup, efx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
