/*
 * The #PF path of a user thread (x86 do_user_addr_fault + handle_mm_fault, as
 * far as SGX and the model's memory need it):
 *
 *   SGX bit (0x8000) in the error code   → SIGSEGV.  access_error() treats an
 *       EPCM fault as fatal; it never reaches the driver.
 *   no VMA at addr                       → ambient host memory (below), else SIGSEGV
 *   the VMA forbids the access           → SIGSEGV: a write to a VMA without
 *       VM_WRITE, a fetch from one without VM_EXEC, anything on PROT_NONE, and
 *       a read or fetch of a page that is present (a protection fault)
 *   SGX VMA, write to a present PTE      → do_wp_page: vm_ops->pfn_mkwrite
 *       (encl_vma_pfn_mkwrite; only policies v1/v2 make PTEs narrower than
 *       their VMA, so only they get here in practice)
 *   SGX VMA                              → sgx_vma_fault (encl_vma_fault)
 *   anonymous VMA                        → map the host page at addr (identity)
 *                                          with the VMA's protection
 *
 * The fetch check is made on the first fault: Linux maps the page NX and
 * SIGSEGVs the refault, with the same end result.
 *
 * Ambient memory (modelling decision): an address outside every VMA that the
 * host process has mapped readable is the program's own memory (stack, heap,
 * globals) and is mapped identity, NX, readable, and writable only if the host
 * page is writable (design: "RW and NX"; a read-only host page such as .rodata
 * is mapped read-only so that an enclave write gets #PF instead of crashing
 * the host).  A fetch from it is SIGSEGV.  The EPC is never ambient memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* Host protection of the page at addr from /proc/self/maps: PROT_READ and
 * PROT_WRITE bits, or -1 when the host has nothing there. */
static int host_prot(uint64_t addr)
{
	unsigned char v;
	if (mincore((void *)(uintptr_t)(addr & SGX_PAGE_MASK), SGX_PAGE_SIZE, &v) != 0)
		return -1;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return PROT_READ | PROT_WRITE;   /* mapped; assume the design's RW */
	char *line = NULL;
	size_t cap = 0;
	int prot = -1;
	while (getline(&line, &cap, f) > 0) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3)
			continue;
		if (addr >= lo && addr < hi) {
			prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0);
			break;
		}
	}
	free(line);
	fclose(f);
	return prot;
}

static bool in_epc(struct drv_mm *mm, uint64_t addr)
{
	return hw_epc_frame_of(mm->emu->m, addr) != HW_NO_FRAME;
}

static enum drv_fault map_identity(struct drv_mm *mm, uint64_t page, unsigned prot)
{
	int ret = hw_pt_map(mm->pt, page, (void *)(uintptr_t)page, prot);
	if (ret == -ENOMEM)
		return DRV_FAULT_OOM;
	return ret ? DRV_FAULT_SIGSEGV : DRV_FAULT_NOPAGE;
}

static enum drv_fault ambient_fault(struct drv_mm *mm, uint64_t addr, uint32_t error_code)
{
	if (in_epc(mm, addr) || (error_code & (SGX_PFEC_I | SGX_PFEC_P)))
		return DRV_FAULT_SIGSEGV;
	int hp = host_prot(addr);
	if (hp < 0 || !(hp & PROT_READ))
		return DRV_FAULT_SIGSEGV;
	if ((error_code & SGX_PFEC_W) && !(hp & PROT_WRITE))
		return DRV_FAULT_SIGSEGV;
	return map_identity(mm, addr & SGX_PAGE_MASK, HW_PROT_R | (hp & PROT_WRITE ? HW_PROT_W : 0));
}

/* x86 access_error, with the fetch check of the refault folded in. */
static bool access_error(const struct drv_vma *vma, uint32_t error_code)
{
	if (error_code & SGX_PFEC_W)
		return !(vma->prot & DRV_VM_WRITE);
	if (error_code & SGX_PFEC_P)
		return true;
	if ((error_code & SGX_PFEC_I) && !(vma->prot & DRV_VM_EXEC))
		return true;
	return !(vma->prot & DRV_VM_PROT);
}

static enum drv_fault handle_fault(struct drv_mm *mm, uint64_t addr, uint32_t error_code)
{
	enum drv_fault ret;

	if (error_code & SGX_PFEC_SGX)
		return DRV_FAULT_SIGSEGV;
	if (addr >= (1ull << 47))
		return DRV_FAULT_SIGSEGV;

	/* ksgxd, woken by an EPC allocation below the low watermark, runs here
	 * while no lock is held (reclaim.c), before this fault allocates. */
	ksgxd_run(mm->emu);
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *vma = mm_find_vma(mm, addr);
	if (!vma || vma->start > addr)
		ret = ambient_fault(mm, addr, error_code);
	else if (access_error(vma, error_code))
		ret = DRV_FAULT_SIGSEGV;
	else if ((vma->flags & DRV_VMA_SGX) && (error_code & (SGX_PFEC_P | SGX_PFEC_W)) == (SGX_PFEC_P | SGX_PFEC_W))
		ret = encl_vma_pfn_mkwrite(mm, vma, addr & SGX_PAGE_MASK);
	else if (vma->flags & DRV_VMA_SGX)
		ret = encl_vma_fault(mm, vma, addr & SGX_PAGE_MASK);
	else
		ret = map_identity(mm, addr & SGX_PAGE_MASK, vma->prot & DRV_VM_PROT);
	pthread_rwlock_unlock(&mm->lock);
	return ret;
}

/* The fault, counted by kind and the PTEs it installed checked (measurement). */
enum drv_fault drv_handle_fault(struct drv_mm *mm, uint64_t addr, uint32_t error_code)
{
	drv_fault_eaug = false;
	enum drv_fault ret = handle_fault(mm, addr, error_code);
	drv_count_fault(mm, addr, error_code, ret);
	if (ret == DRV_FAULT_NOPAGE)
		inv_check_fault(mm, addr);
	return ret;
}
