/*
 * Enarx's shim-sgx flows (runtimes-and-peers.md §2, as described there):
 *
 *   rights    only r--, rw- and r-x (W+X and none are refused)
 *   mmap      OCALL MmapHost: the backend maps the range RW MAP_SHARED on the
 *             enclave fd; then EACCEPTCOPY(REG|prot) of a zero page into each
 *             page (the first touch faults, the kernel EAUGs, the leaf
 *             retries: commit and rights in one step); rights other than rw-
 *             go through mprotect to fix the PTEs
 *   mprotect  OCALL MprotectHost: host mprotect(new), RESTRICT(R); then
 *             EACCEPT(REG|R|PR) and EMODPE(new) each page
 *   munmap    MODIFY_TYPES(TRIM), EACCEPT(TRIM|MODIFIED) each page, OCALL
 *             MunmapHost: host munmap, REMOVE_PAGES
 *   threads   a fixed number of TCSs (dynamic TCS is not implemented)
 *
 * Under the other policies MprotectHost does what the policy offers.
 */
#include "rt_common.h"

static int heap_prot(enum emu_policy policy)
{
	(void)policy;
	return 0;   /* each mmap maps its range */
}

static bool allowed(unsigned rights)
{
	return rights == SGX_SECINFO_R || rights == SI_RW || rights == (SGX_SECINFO_R | SGX_SECINFO_X);
}

/* mprotect from `old` (the rights the kernel last set) to `new`. */
static void plan_protect(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, unsigned old, unsigned new)
{
	uint64_t r_pr = SI_REG | SGX_SECINFO_R | SGX_SECINFO_PR;
	struct rt_ocall *oc;
	switch (rt->policy) {
	case EMU_POLICY_V2:
		plan_v2_change(p, addr, len, old, new, true);
		break;
	case EMU_POLICY_RESET:   /* jarkkojs's "sanest pattern": to none, accept, extend */
		oc = p_ocall(p);
		oc_add(oc, HOP_MPROTECT, addr, len, new);
		oc_add(oc, HOP_RESET, addr, len, 0);
		p_accept(p, addr, len, SI_REG | SGX_SECINFO_PR, 0, F_ALL);
		p_emodpe(p, addr, len, new);
		break;
	case EMU_POLICY_MPROTECT_EMODPR:   /* mprotect itself runs EMODPR(new) */
		oc_add(p_ocall(p), HOP_MPROTECT, addr, len, new);
		p_accept(p, addr, len, SI_REG | SGX_SECINFO_PR, new, F_ALL);
		p_emodpe(p, addr, len, new);
		break;
	case EMU_POLICY_V1:
		oc = p_ocall(p);
		oc_add(oc, HOP_MPROTECT, addr, len, new);
		oc_add(oc, HOP_MODIFY, addr, len, SGX_SECINFO_R);
		p_accept(p, addr, len, r_pr, 0, F_ALL);
		p_emodpe(p, addr, len, new);
		break;
	default:
		oc = p_ocall(p);
		oc_add(oc, HOP_MPROTECT, addr, len, new);
		oc_add(oc, HOP_RESTRICT, addr, len, SGX_SECINFO_R);
		p_accept(p, addr, len, r_pr, 0, F_ALL);
		p_emodpe(p, addr, len, new);
		break;
	}
	p_set(p, addr, len, (uint8_t)new, PG_PERM);
}

static bool plan(struct rt *rt, const struct rt_op *op, struct rt_plan *p)
{
	uint64_t addr = rt->heap + op->off, len = op->len;
	unsigned rights = rt_rights(op->prot) | SGX_SECINFO_R;   /* prot |= PROT_READ */
	int old;
	switch (op->kind) {
	case RT_OP_ALLOC:
		if (!allowed(rights) || (op->flags & (RT_F_LAZY | RT_F_RESERVE)))
			goto refused;
		oc_add(p_ocall(p), HOP_MMAP, addr, len, PROT_READ | PROT_WRITE);
		p_copy(p, addr, len, SI_REG | rights);
		p_set(p, addr, len, (uint8_t)(PG_ALLOC | PG_COMMITTED | rights), PG_PERM);
		if (rights != SI_RW)
			plan_protect(rt, p, addr, len, SI_RW, rights);
		return true;
	case RT_OP_PROTECT:
		old = rt_range_rights(rt, addr, len);
		if (!allowed(rights) || old < 0)
			goto refused;
		plan_protect(rt, p, addr, len, (unsigned)old, rights);
		return true;
	case RT_OP_FREE:
		if (!rt_range_all(rt, addr, len, PG_COMMITTED, PG_COMMITTED))
			goto refused;
		oc_add(p_ocall(p), HOP_MODT, addr, len, SGX_PT_TRIM);
		p_accept(p, addr, len, SI_TRIM | SGX_SECINFO_MODIFIED, 0, F_ALL);
		struct rt_ocall *oc = p_ocall(p);
		oc_add(oc, HOP_UNMAP, addr, len, 0);
		oc_add(oc, HOP_REMOVE, addr, len, 0);
		p_set(p, addr, len, 0, 0xFF);
		return true;
	case RT_OP_THREAD:
		rt_fail(rt, "enarx: no dynamic threads (a fixed MAX_THREADS of TCSs; enarx#2200)");
		return false;
	default:
		break;
	}
refused:
	rt_fail(rt, "enarx: refused: op %d with rights %s (the shim allows r--, rw-, r-x on whole mappings)", op->kind,
		rt_rights_str(rights));
	return false;
}

const struct rt_flows rt_enarx_flows = {
	.name = "enarx",
	.plan = plan,
	.heap_prot = heap_prot,
};
