/*
 * Occlum's user-region flows (runtimes-and-peers.md §3; vm_area.rs as
 * described there), on top of the EMM (the Teaclave Rust port has the same
 * OCALLs):
 *
 *   mmap      a VMA in the user region, allocated COMMIT_ON_DEMAND through the
 *             EMM (alloc OCALL: host mmap RW); nothing committed
 *   #PF       in a VMA: commit the faulting 4 KiB page (EACCEPT); once the
 *             VMA has taken PF_NUM_THRESHOLD = 3 such faults, the next one
 *             commits the whole VMA (every page still uncommitted, each
 *             EACCEPT-first)
 *   mprotect  commits what is left of the range, then the EMM's
 *             modify_permissions
 *   munmap    the EMM's dealloc
 *   threads   the SDK's dynamic threads (the EMM's modify_type to TCS)
 *
 * Modelling limit: VMAs are created rw- (Occlum commits other rights with
 * commit_with_data; here they come from a later mprotect).
 */
#include "rt_common.h"

#define PF_NUM_THRESHOLD 3

static int heap_prot(enum emu_policy policy)
{
	(void)policy;
	return 0;
}

static struct rt_region *region_of(struct rt *rt, uint64_t la)
{
	for (unsigned i = 0; i < rt->nr_regions; i++)
		if (la >= rt->regions[i].start && la - rt->regions[i].start < rt->regions[i].len)
			return &rt->regions[i];
	return NULL;
}

static bool plan(struct rt *rt, const struct rt_op *op, struct rt_plan *p)
{
	uint64_t addr = rt->heap + op->off, len = op->len;
	unsigned rights = rt_rights(op->prot);
	int old;
	switch (op->kind) {
	case RT_OP_ALLOC:
		if (rights != SI_RW || rt->nr_regions == RT_MAX_REGIONS) {
			rt_fail(rt, "occlum: mmap with %s: VMAs are modelled rw- (use mprotect), at most %d",
				rt_rights_str(rights), RT_MAX_REGIONS);
			return false;
		}
		rt->regions[rt->nr_regions++] = (struct rt_region){ addr, len, 0 };
		oc_add(p_ocall(p), HOP_MMAP, addr, len, PROT_READ | PROT_WRITE);
		p_set(p, addr, len, PG_ALLOC | PG_LAZY | SI_RW, 0xFF);
		return true;
	case RT_OP_PROTECT:
		p_accept(p, addr, len, SI_REG | SI_RW | SGX_SECINFO_PENDING, 0, F_UNCOMMITTED);
		old = rt_range_rights(rt, addr, len);
		if (old < 0)   /* the pages just committed are rw- */
			old = SI_RW;
		p_set(p, addr, len, PG_COMMITTED, 0);
		return plan_emm_modify(rt, p, addr, len, (unsigned)old, rights);
	case RT_OP_FREE: {
		struct rt_region *r = region_of(rt, addr);
		if (r && r->start == addr && r->len == len)
			*r = rt->regions[--rt->nr_regions];
		plan_trim_runs(rt, p, addr, len, HOP_MPROTECT, PROT_NONE);
		p_set(p, addr, len, 0, 0xFF);
		return true;
	}
	case RT_OP_THREAD:
		return plan_emm_thread(rt, p, addr);
	default:
		rt_fail(rt, "occlum: no such operation (op %d)", op->kind);
		return false;
	}
}

static bool on_fault(struct rt *rt, struct encl_ctx *ctx, uint64_t addr, uint32_t errcd)
{
	uint64_t la = addr & SGX_PAGE_MASK;
	struct rt_region *r = region_of(rt, la);
	if (!rt_lazy_fault_page(rt, addr, errcd) || !r)
		return false;
	if (r->faults < PF_NUM_THRESHOLD) {
		r->faults++;
		return rt_commit_page(rt, ctx, la);
	}
	for (uint64_t a = r->start; a < r->start + r->len; a += SGX_PAGE_SIZE) {
		uint8_t *q = rt_page(rt, a);
		if (!(*q & PG_COMMITTED) && !rt_commit_page(rt, ctx, a))
			return false;
	}
	return true;
}

const struct rt_flows rt_occlum_flows = {
	.name = "occlum",
	.plan = plan,
	.on_fault = on_fault,
	.heap_prot = heap_prot,
	.dynamic_threads = true,
};
