/*
 * The Intel Enclave Memory Manager's flows (runtimes-and-peers.md §4.3, EMM
 * ema.c / sgx_mm.c and the host's enclave_alloc / enclave_modify, as
 * described there):
 *
 *   RESERVE           address range only: no OCALL, no EPC
 *   COMMIT_NOW        sgx_mm_alloc_ocall (host mmap RW MAP_SHARED|MAP_FIXED on
 *                     the enclave fd), then EACCEPT(REG|RW|PENDING) each page,
 *                     highest page first (EACCEPT-first); new regions are RW
 *   COMMIT_ON_DEMAND  the alloc OCALL only; the EPCM fault on the EAUG'd page
 *                     reaches the EMM's handler, which EACCEPTs that page
 *   modify_permissions  sgx_mm_modify_ocall(old, new): the host runs
 *                     RESTRICT(new) and mprotect(new); then EMODPE(new) each
 *                     page if new adds rights, and EACCEPT(REG|PR|new) each page
 *                     unless new is W+X (the EMM skips it there)
 *   modify_type(TCS)  OCALL (host MODIFY_TYPES(TCS)), EACCEPT(TCS|MODIFIED)
 *   uncommit/dealloc  per maximal run of committed pages: OCALL (TRIM),
 *                     EACCEPT(TRIM|MODIFIED) each page, OCALL (REMOVE_PAGES;
 *                     dealloc also mprotect(NONE))
 *   commit_data       EACCEPTCOPY(REG|prot) each page of an on-demand range,
 *                     then modify_permissions so the PTEs match
 *
 * Under the other policies sgx_mm_modify_ocall does what the policy offers.
 * Decision: commit_data copies the enclave's zero page (the source is any
 * readable enclave page; its contents do not change the flow).
 */
#include "rt_common.h"

static int heap_prot(enum emu_policy policy)
{
	(void)policy;
	return 0;   /* sgx_mm_alloc_ocall maps each region */
}

bool plan_emm_modify(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, unsigned old, unsigned new)
{
	uint64_t pr = SI_REG | SGX_SECINFO_PR;
	bool wx = (new & SGX_SECINFO_W) && (new & SGX_SECINFO_X);
	struct rt_ocall *oc;
	if ((new & SGX_SECINFO_X) && !(new & SGX_SECINFO_R)) {
		rt_fail(rt, "%s: modify_permissions(%s): EINVAL (X without R)", rt->flows->name, rt_rights_str(new));
		return false;
	}
	switch (rt->policy) {
	case EMU_POLICY_V2:
		plan_v2_change(p, addr, len, old, new, true);
		break;
	case EMU_POLICY_RESET:
		oc = p_ocall(p);
		oc_add(oc, HOP_RESET, addr, len, 0);
		oc_add(oc, HOP_MPROTECT, addr, len, new);
		p_accept(p, addr, len, pr, 0, F_ALL);
		p_emodpe(p, addr, len, new);
		break;
	default:
		oc = p_ocall(p);
		if (rt->policy == EMU_POLICY_V1)
			oc_add(oc, HOP_MODIFY, addr, len, new);
		else if (rt->policy != EMU_POLICY_MPROTECT_EMODPR)
			oc_add(oc, HOP_RESTRICT, addr, len, new);
		oc_add(oc, HOP_MPROTECT, addr, len, new);   /* under mprotect-emodpr it runs EMODPR */
		if (new & ~old)
			p_emodpe(p, addr, len, new);
		if (!wx)
			p_accept(p, addr, len, pr | new, 0, F_ALL);
		break;
	}
	p_set(p, addr, len, (uint8_t)new, PG_PERM);
	return true;
}

bool plan_emm_thread(struct rt *rt, struct rt_plan *p, uint64_t addr)
{
	uint64_t all = RT_THREAD_PAGES * SGX_PAGE_SIZE;
	(void)rt;
	/* do_add_thread: mm_commit of the pieces, the TCS template, modify_type */
	oc_add(p_ocall(p), HOP_MMAP, addr, all, PROT_READ | PROT_WRITE);
	struct rt_action *a = p_add(p, A_ACCEPT, addr, all);
	a->flags = SI_REG | SI_RW | SGX_SECINFO_PENDING;
	a->down = true;
	p_set(p, addr, all, PG_ALLOC | PG_COMMITTED | SI_RW, PG_PERM);
	p_tcs(p, addr);
	oc_add(p_ocall(p), HOP_MODT, addr, SGX_PAGE_SIZE, SGX_PT_TCS);
	p_accept(p, addr, SGX_PAGE_SIZE, SI_TCS | SGX_SECINFO_MODIFIED, 0, F_ALL);
	p_set(p, addr, SGX_PAGE_SIZE, PG_TCS, PG_PERM);
	oc_add(p_ocall(p), HOP_THREAD, addr, SGX_PAGE_SIZE, 0);
	return true;
}

static bool plan(struct rt *rt, const struct rt_op *op, struct rt_plan *p)
{
	uint64_t addr = rt->heap + op->off, len = op->len;
	unsigned rights = rt_rights(op->prot);
	int old;
	switch (op->kind) {
	case RT_OP_ALLOC:
		if (op->flags & RT_F_RESERVE) {
			p_set(p, addr, len, PG_ALLOC, 0xFF);
			return true;
		}
		oc_add(p_ocall(p), HOP_MMAP, addr, len, PROT_READ | PROT_WRITE);
		if (op->flags & RT_F_LAZY) {
			p_set(p, addr, len, PG_ALLOC | PG_LAZY | SI_RW, 0xFF);
			if (rights != SI_RW) {
				rt_fail(rt, "emm: modify_permissions of an on-demand range with uncommitted pages: EINVAL");
				return false;
			}
			return true;
		}
		struct rt_action *a = p_add(p, A_ACCEPT, addr, len);
		a->flags = SI_REG | SI_RW | SGX_SECINFO_PENDING;
		a->down = true;   /* ema.c commits from the highest page down */
		p_set(p, addr, len, PG_ALLOC | PG_COMMITTED | SI_RW, 0xFF);
		return rights == SI_RW || plan_emm_modify(rt, p, addr, len, SI_RW, rights);
	case RT_OP_PROTECT:
		old = rt_range_rights(rt, addr, len);
		if (old < 0) {
			rt_fail(rt, "emm: modify_permissions: EINVAL (pages not all committed with the same rights)");
			return false;
		}
		return plan_emm_modify(rt, p, addr, len, (unsigned)old, rights);
	case RT_OP_FREE:
		plan_trim_runs(rt, p, addr, len, HOP_MPROTECT, PROT_NONE);
		p_set(p, addr, len, 0, 0xFF);
		return true;
	case RT_OP_UNCOMMIT:
		plan_trim_runs(rt, p, addr, len, -1, 0);
		return true;
	case RT_OP_THREAD:
		return plan_emm_thread(rt, p, addr);
	case RT_OP_COMMIT_DATA:
		if (!rt_range_all(rt, addr, len, PG_LAZY | PG_COMMITTED, PG_LAZY)) {
			rt_fail(rt, "emm: commit_data: EACCES (not an on-demand range, or a page is committed)");
			return false;
		}
		p_copy(p, addr, len, SI_REG | rights);
		p_set(p, addr, len, (uint8_t)(PG_COMMITTED | rights), PG_PERM);
		/* the kernel last set RW (EAUG): that is what the PTEs must leave */
		return plan_emm_modify(rt, p, addr, len, SI_RW, rights);
	default:
		rt_fail(rt, "emm: no such operation (op %d)", op->kind);
		return false;
	}
}

/* sgx_mm_enclave_pfhandler: commit a page of an on-demand range.  The EMM
 * treats a fault on a committed page whose access the range allows as
 * spurious (another thread committed it first) and continues; one thread
 * cannot race itself, so here such a fault would repeat forever: it is
 * refused instead, like every other fault the EMM does not own. */
static bool on_fault(struct rt *rt, struct encl_ctx *ctx, uint64_t addr, uint32_t errcd)
{
	uint8_t *pg = rt_lazy_fault_page(rt, addr, errcd);
	if (!pg || !(*pg & PG_ALLOC))
		return false;   /* ema.c aborts on a fault in a range that is not on demand */
	return rt_commit_page(rt, ctx, addr & SGX_PAGE_MASK);
}

const struct rt_flows rt_emm_flows = {
	.name = "emm",
	.plan = plan,
	.on_fault = on_fault,
	.heap_prot = heap_prot,
	.dynamic_threads = true,
};
