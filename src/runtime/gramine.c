/*
 * Gramine's EDMM flows (runtimes-and-peers.md §1, Gramine v1.9's
 * enclave_edmm.c and pal_exception.c, as described there):
 *
 *   heap      the loader maps the whole ELRANGE RWX MAP_SHARED (RW under v1
 *             and v2, whose EAUG'd pages may never be more than RW)
 *   alloc     EACCEPT(REG|RW|PENDING) each page, no OCALL (EACCEPT-first:
 *             the kernel EAUGs on the #PF, the EACCEPT retries); then
 *             EMODPE(prot) if prot has X, and the restriction if it lacks R
 *             or W
 *   lazy      (MAP_NORESERVE) nothing until the first access; the EPCM fault
 *             on the EAUG'd page reaches the handler, which EACCEPTs that one
 *             page (no fault-around)
 *   mprotect  EMODPE(new) each page, RESTRICT(new), EACCEPT(REG|PR|new) each
 *             page — the same sequence whether it relaxes or restricts
 *   free      MODIFY_TYPES(TRIM), EACCEPT(TRIM|MODIFIED), REMOVE_PAGES, over
 *             the committed pages only
 *   thread    commit TCS + SSA pages, write the TCS, MODIFY_TYPES(TCS) and
 *             host mprotect(RW) of the TCS page (the kernel set its maximum
 *             to RW), EACCEPT(TCS|MODIFIED), a new thread enters it
 *
 * Under the other policies the kernel step of "mprotect" is what the policy
 * offers (see plan_protect); the enclave's steps stay Gramine's.
 */
#include "rt_common.h"

#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)

static int heap_prot(enum emu_policy policy)
{
	return policy == EMU_POLICY_V1 || policy == EMU_POLICY_V2 ? PROT_READ | PROT_WRITE : RWX;
}

/* The kernel's part of a restriction to `rights` and the EACCEPT after it. */
static void plan_restrict(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, unsigned rights)
{
	uint64_t pr = SI_REG | SGX_SECINFO_PR;
	switch (rt->policy) {
	case EMU_POLICY_RESET:   /* EMODPR to nothing; the enclave re-extends */
		oc_add(p_ocall(p), HOP_RESET, addr, len, 0);
		p_accept(p, addr, len, pr, 0, F_ALL);
		if (rights)
			p_emodpe(p, addr, len, rights);
		return;
	case EMU_POLICY_V1:
		oc_add(p_ocall(p), HOP_MODIFY, addr, len, rights);
		break;
	case EMU_POLICY_MPROTECT_EMODPR:
		oc_add(p_ocall(p), HOP_MPROTECT, addr, len, rights);
		break;
	default:
		oc_add(p_ocall(p), HOP_RESTRICT, addr, len, rights);
		break;
	}
	p_accept(p, addr, len, pr | rights, 0, F_ALL);
}

static bool plan_protect(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, unsigned rights)
{
	if (rt->policy == EMU_POLICY_V2) {
		/* v2 keeps the kernel's copy of the rights: relaxing must be told
		 * (RELAX), restricting goes through RESTRICT. */
		int old = rt_range_rights(rt, addr, len);
		if (old < 0) {
			rt_fail(rt, "gramine: mprotect of pages that are not all committed with the same rights");
			return false;
		}
		plan_v2_change(p, addr, len, (unsigned)old, rights, false);
	} else if (rt->policy == EMU_POLICY_RESET) {
		plan_restrict(rt, p, addr, len, rights);
	} else {
		p_emodpe(p, addr, len, rights);
		plan_restrict(rt, p, addr, len, rights);
	}
	p_set(p, addr, len, (uint8_t)rights, PG_PERM);
	return true;
}

static bool plan(struct rt *rt, const struct rt_op *op, struct rt_plan *p)
{
	uint64_t addr = rt->heap + op->off, len = op->len;
	unsigned rights = rt_rights(op->prot);
	if (rights & SGX_SECINFO_W)
		rights |= SGX_SECINFO_R;   /* W needs R (hardware rule) */
	switch (op->kind) {
	case RT_OP_ALLOC:
		if (op->flags & RT_F_LAZY) {
			if (rights != SI_RW) {
				rt_fail(rt, "gramine: lazy allocation is modelled for rw- only");
				return false;
			}
			p_set(p, addr, len, PG_ALLOC | PG_LAZY | SI_RW, PG_PERM);
			return true;
		}
		p_accept(p, addr, len, SI_REG | SI_RW | SGX_SECINFO_PENDING, 0, F_UNCOMMITTED);
		p_set(p, addr, len, PG_ALLOC | PG_COMMITTED | SI_RW, PG_PERM);
		if (rights & SGX_SECINFO_X) {
			p_emodpe(p, addr, len, rights);
			if (rt->policy == EMU_POLICY_V2)
				oc_add(p_ocall(p), HOP_RELAX, addr, len, rights | SI_RW);
			p_set(p, addr, len, (uint8_t)(rights | SI_RW), PG_PERM);
		}
		if ((rights & SI_RW) != SI_RW) {
			plan_restrict(rt, p, addr, len, rights);
			p_set(p, addr, len, (uint8_t)rights, PG_PERM);
		}
		return true;
	case RT_OP_PROTECT:
		return plan_protect(rt, p, addr, len, rights);
	case RT_OP_FREE:
		plan_trim_runs(rt, p, addr, len, rt->policy == EMU_POLICY_MPROTECT_EMODPR ? HOP_MPROTECT : -1,
			       (uint64_t)heap_prot(rt->policy));
		p_set(p, addr, len, 0, 0xFF);
		return true;
	case RT_OP_THREAD: {
		uint64_t all = RT_THREAD_PAGES * SGX_PAGE_SIZE;
		p_accept(p, addr, all, SI_REG | SI_RW | SGX_SECINFO_PENDING, 0, F_UNCOMMITTED);
		p_set(p, addr, all, PG_ALLOC | PG_COMMITTED | SI_RW, PG_PERM);
		p_tcs(p, addr);
		/* The host's half of the type change also mprotects the page RW:
		 * the kernel zapped its PTE and lowered its maximum to RW, so in
		 * the RWX heap VMA the EACCEPT's fault would be SIGBUS. */
		struct rt_ocall *oc = p_ocall(p);
		oc_add(oc, HOP_MODT, addr, SGX_PAGE_SIZE, SGX_PT_TCS);
		oc_add(oc, HOP_MPROTECT, addr, SGX_PAGE_SIZE, PROT_READ | PROT_WRITE);
		p_accept(p, addr, SGX_PAGE_SIZE, SI_TCS | SGX_SECINFO_MODIFIED, 0, F_ALL);
		p_set(p, addr, SGX_PAGE_SIZE, PG_TCS, PG_PERM);
		oc_add(p_ocall(p), HOP_THREAD, addr, SGX_PAGE_SIZE, 0);
		return true;
	}
	default:
		rt_fail(rt, "gramine: no such operation in Gramine (op %d)", op->kind);
		return false;
	}
}

/* pal_exception.c: an EPCM fault on a lazily allocated page commits it. */
static bool on_fault(struct rt *rt, struct encl_ctx *ctx, uint64_t addr, uint32_t errcd)
{
	if (!rt_lazy_fault_page(rt, addr, errcd))
		return false;   /* a real violation: forwarded to the application */
	return rt_commit_page(rt, ctx, addr & SGX_PAGE_MASK);
}

const struct rt_flows rt_gramine_flows = {
	.name = "gramine",
	.plan = plan,
	.on_fault = on_fault,
	.heap_prot = heap_prot,
	.dynamic_threads = true,
};
