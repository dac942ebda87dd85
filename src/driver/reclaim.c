/*
 * PLACEHOLDER for the reclaimer (linux-driver.md §5): written by helper "g"
 * only so that epc.c / encl.c / ioctl.c link and run.  The reclaimer's owner
 * replaces this file.
 *
 * What is real here: VA accounting (encl_grow / encl_shrink / encl_ungrow,
 * linux-driver.md §2 "VA pages": one EPA'd VA page, eagerly, whenever
 * page_cnt % 512 == 0, so an enclave of N pages owns ceil((N+1)/512) VA pages).
 * What is a stub: nothing is ever evicted, so reclaim_pages frees nothing,
 * reclaim_direct does nothing, and ELDU of an evicted page is -EFAULT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"

#define VA_SLOTS 512

int reclaim_pages(struct emu *emu, unsigned nr)
{
	(void)emu;
	(void)nr;
	return 0;
}

void reclaim_direct(struct emu *emu)
{
	(void)emu;
}

int encl_eldu(struct drv_encl *encl, struct drv_page *page)
{
	(void)encl;
	(void)page;
	return -EFAULT;
}

int encl_load_secs(struct drv_encl *encl)
{
	return encl->secs.epc_frame != HW_NO_FRAME ? 0 : -EFAULT;
}

/* sgx_alloc_va_page: a frame (reclaiming if allowed) turned into a VA page. */
static struct drv_va_page *alloc_va_page(struct drv_encl *encl, bool reclaim, int *err)
{
	struct emu *emu = encl->emu;
	struct drv_va_page *va = calloc(1, sizeof(*va));
	if (!va) {
		*err = -ENOMEM;
		return NULL;
	}
	va->epc_frame = epc_alloc(emu, va, reclaim, err);
	if (va->epc_frame == HW_NO_FRAME) {
		free(va);
		return NULL;
	}
	pthread_mutex_lock(&emu->epc_lock);
	emu->epc_pages[va->epc_frame].flags |= DRV_EPC_VA;
	pthread_mutex_unlock(&emu->epc_lock);
	struct sgx_result r = hw_encls(emu_kernel_lp(emu), SGX_EPA, SGX_PT_VA, epc_kaddr(emu, va->epc_frame), 0);
	if (!sgx_ok(r)) {
		epc_free(emu, va->epc_frame);
		free(va);
		*err = -EFAULT;
		return NULL;
	}
	return va;
}

int encl_grow(struct drv_encl *encl, bool reclaim)
{
	struct drv_va_page *va = NULL;
	int err = 0;

	if (reclaim) {
		pthread_mutex_lock(&encl->lock);
		bool need = encl->page_cnt % VA_SLOTS == 0;
		if (!need)
			encl->page_cnt++;
		pthread_mutex_unlock(&encl->lock);
		if (!need)
			return 0;
		va = alloc_va_page(encl, true, &err);
		if (!va)
			return err;
		pthread_mutex_lock(&encl->lock);
		va->next = encl->va_pages;
		encl->va_pages = va;
		encl->page_cnt++;
		pthread_mutex_unlock(&encl->lock);
		return 0;
	}
	if (encl->page_cnt % VA_SLOTS == 0) {
		va = alloc_va_page(encl, false, &err);
		if (!va)
			return err;
		va->next = encl->va_pages;
		encl->va_pages = va;
	}
	encl->page_cnt++;
	return 0;
}

void encl_shrink(struct drv_encl *encl)
{
	encl->page_cnt--;
}

static bool va_unused(const struct drv_va_page *va)
{
	for (unsigned i = 0; i < VA_SLOTS / 64; i++)
		if (va->used[i])
			return false;
	return true;
}

void encl_ungrow(struct drv_encl *encl)
{
	struct emu *emu = encl->emu;
	struct drv_va_page *va = encl->va_pages;

	encl->page_cnt--;
	if (encl->page_cnt % VA_SLOTS || !va || !va_unused(va))
		return;
	struct sgx_result r = hw_encls(emu_kernel_lp(emu), SGX_EREMOVE, 0, epc_kaddr(emu, va->epc_frame), 0);
	if (!sgx_ok(r)) {
		fprintf(stderr, "sgx2emu: EREMOVE of VA frame %u failed; the frame is leaked\n", va->epc_frame);
		return;
	}
	encl->va_pages = va->next;
	epc_free(emu, va->epc_frame);
	free(va);
}
