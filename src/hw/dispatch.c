/*
 * ENCLS and ENCLU: leaf selection, the checks common to all leaves (isa.md
 * §1.1), serialization, and writing the outcome back to RAX/RFLAGS.
 */
#include "leaf.h"

struct leaf_desc {
	const char *name;
	hw_leaf_fn fn;
	bool sgx2;        /* CPUID.12H.0:EAX[1] */
	bool reports_rc;  /* writes a code to RAX and sets ZF/CF */
};

static const struct leaf_desc encls_leaves[SGX_ENCLS_LEAF_COUNT] = {
	[SGX_ECREATE] = { "ECREATE", encls_ecreate, false, false },
	[SGX_EADD] = { "EADD", encls_eadd, false, false },
	[SGX_EINIT] = { "EINIT", encls_einit, false, true },
	[SGX_EREMOVE] = { "EREMOVE", encls_eremove, false, true },
	[SGX_EDBGRD] = { "EDBGRD", encls_edbgrd, false, true },
	[SGX_EDBGWR] = { "EDBGWR", encls_edbgwr, false, true },
	[SGX_EEXTEND] = { "EEXTEND", encls_eextend, false, false },
	[SGX_ELDB] = { "ELDB", encls_eldb, false, true },
	[SGX_ELDU] = { "ELDU", encls_eldu, false, true },
	[SGX_EBLOCK] = { "EBLOCK", encls_eblock, false, true },
	[SGX_EPA] = { "EPA", encls_epa, false, false },
	[SGX_EWB] = { "EWB", encls_ewb, false, true },
	[SGX_ETRACK] = { "ETRACK", encls_etrack, false, true },
	[SGX_EAUG] = { "EAUG", encls_eaug, true, false },
	[SGX_EMODPR] = { "EMODPR", encls_emodpr, true, true },
	[SGX_EMODT] = { "EMODT", encls_emodt, true, true },
};

static const struct leaf_desc enclu_leaves[SGX_ENCLU_LEAF_COUNT] = {
	[SGX_EREPORT] = { "EREPORT", enclu_ereport, false, false },
	[SGX_EGETKEY] = { "EGETKEY", enclu_egetkey, false, true },
	[SGX_EENTER] = { "EENTER", enclu_eenter, false, false },
	[SGX_ERESUME] = { "ERESUME", enclu_eresume, false, false },
	[SGX_EEXIT] = { "EEXIT", enclu_eexit, false, false },
	[SGX_EACCEPT] = { "EACCEPT", enclu_eaccept, true, true },
	[SGX_EMODPE] = { "EMODPE", enclu_emodpe, true, false },
	[SGX_EACCEPTCOPY] = { "EACCEPTCOPY", enclu_eacceptcopy, true, true },
};

const char *hw_encls_name(uint32_t leaf)
{
	return leaf < SGX_ENCLS_LEAF_COUNT ? encls_leaves[leaf].name : "ENCLS(?)";
}

const char *hw_enclu_name(uint32_t leaf)
{
	return leaf < SGX_ENCLU_LEAF_COUNT ? enclu_leaves[leaf].name : "ENCLU(?)";
}

const char *hw_rc_name(uint64_t rc)
{
	switch (rc) {
	case SGX_SUCCESS: return "SGX_SUCCESS";
	case SGX_INVALID_SIG_STRUCT: return "SGX_INVALID_SIG_STRUCT";
	case SGX_INVALID_ATTRIBUTE: return "SGX_INVALID_ATTRIBUTE";
	case SGX_BLKSTATE: return "SGX_BLKSTATE";
	case SGX_INVALID_MEASUREMENT: return "SGX_INVALID_MEASUREMENT";
	case SGX_NOTBLOCKABLE: return "SGX_NOTBLOCKABLE";
	case SGX_PG_INVLD: return "SGX_PG_INVLD";
	case SGX_EPC_PAGE_CONFLICT: return "SGX_EPC_PAGE_CONFLICT";
	case SGX_INVALID_SIGNATURE: return "SGX_INVALID_SIGNATURE";
	case SGX_MAC_COMPARE_FAIL: return "SGX_MAC_COMPARE_FAIL";
	case SGX_PAGE_NOT_BLOCKED: return "SGX_PAGE_NOT_BLOCKED";
	case SGX_NOT_TRACKED: return "SGX_NOT_TRACKED";
	case SGX_VA_SLOT_OCCUPIED: return "SGX_VA_SLOT_OCCUPIED";
	case SGX_CHILD_PRESENT: return "SGX_CHILD_PRESENT";
	case SGX_ENCLAVE_ACT: return "SGX_ENCLAVE_ACT";
	case SGX_ENTRYEPOCH_LOCKED: return "SGX_ENTRYEPOCH_LOCKED";
	case SGX_INVALID_EINITTOKEN: return "SGX_INVALID_EINITTOKEN";
	case SGX_PREV_TRK_INCMPL: return "SGX_PREV_TRK_INCMPL";
	case SGX_PG_IS_SECS: return "SGX_PG_IS_SECS";
	case SGX_PAGE_ATTRIBUTES_MISMATCH: return "SGX_PAGE_ATTRIBUTES_MISMATCH";
	case SGX_PAGE_NOT_MODIFIABLE: return "SGX_PAGE_NOT_MODIFIABLE";
	case SGX_PAGE_NOT_DEBUGGABLE: return "SGX_PAGE_NOT_DEBUGGABLE";
	case SGX_INVALID_CPUSVN: return "SGX_INVALID_CPUSVN";
	case SGX_INVALID_ISVSVN: return "SGX_INVALID_ISVSVN";
	case SGX_UNMASKED_EVENT: return "SGX_UNMASKED_EVENT";
	case SGX_INVALID_KEYNAME: return "SGX_INVALID_KEYNAME";
	default: return "SGX_(unknown)";
	}
}

static void write_back(struct hw_lp *lp, const struct leaf_desc *d, struct sgx_result r)
{
	if (r.vector != SGX_VEC_NONE || !d->reports_rc)
		return;
	lp->regs.rax = r.rax;
	lp->regs.rflags &= ~(HW_RFLAGS_CF | HW_RFLAGS_PF | HW_RFLAGS_AF | HW_RFLAGS_ZF | HW_RFLAGS_SF | HW_RFLAGS_OF);
	if (r.zf)
		lp->regs.rflags |= HW_RFLAGS_ZF;
	if (r.cf)
		lp->regs.rflags |= HW_RFLAGS_CF;
}

/*
 * ENCLS (CPL 0).  Inside an enclave the LP runs at CPL 3: #UD (and so an AEX).
 * An undefined leaf, or an SGX2 leaf on an SGX1-only CPU, is #GP(0).
 */
struct sgx_result hw_encls(struct hw_lp *lp, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct hw_machine *m = lp->m;
	hw_lock(m);
	/* EINIT's signature check is interruptible: an interrupt pending as it
	 * starts is recognized inside it (RC 128, isa.md §4.4) and taken at the
	 * boundary after it.  Every other leaf takes it first. */
	bool einit = leaf == SGX_EINIT && !lp->in_enclave;
	struct sgx_result r = einit ? leaf_ok() : lp_service(lp);
	if (!r.aex) {
		lp->regs.rax = leaf;
		lp->regs.rbx = rbx;
		lp->regs.rcx = rcx;
		lp->regs.rdx = rdx;
		const struct leaf_desc *d = leaf < SGX_ENCLS_LEAF_COUNT ? &encls_leaves[leaf] : NULL;
		lp->why = (struct hw_why){ .what = d ? d->name : "ENCLS" };
		if (lp->in_enclave) {
			leaf_note(lp, __FILE__, __LINE__, "not in enclave mode (ENCLS at CPL 3 is #UD)");
			r = hw_aex(lp, (struct sgx_result){ .vector = SGX_VEC_UD });
		} else if (!d || (d->sgx2 && m->cfg.sgx1_only)) {
			leaf_note(lp, __FILE__, __LINE__, "leaf defined (SGX2 leaves need CPUID.12H.0:EAX[1])");
			r = leaf_gp();
		} else {
			if (m->obs_leaf)
				observe_leaf(lp, true, leaf, false, r, rbx, rcx, rdx);
			r = d->fn(lp, rbx, rcx, rdx);
			write_back(lp, d, r);
			if (r.vector == SGX_VEC_NONE)
				r.rbx = lp->regs.rbx;
			if (m->obs_leaf)
				observe_leaf(lp, true, leaf, true, r, rbx, rcx, rdx);
		}
		if (d)
			m->nr_encls[leaf]++;
	}
	if (einit)
		lp_service(lp); /* outside enclave mode: never an AEX */
	hw_unlock(m);
	return r;
}

/*
 * ENCLU (CPL 3).  EENTER/ERESUME inside an enclave, or any other leaf outside,
 * is #GP(0).  A fault raised inside an enclave is an AEX.
 */
struct sgx_result hw_enclu(struct hw_lp *lp, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct hw_machine *m = lp->m;
	hw_lock(m);
	struct sgx_result r = lp_service(lp);
	if (!r.aex) {
		lp->regs.rax = leaf;
		lp->regs.rbx = rbx;
		lp->regs.rcx = rcx;
		lp->regs.rdx = rdx;
		const struct leaf_desc *d = leaf < SGX_ENCLU_LEAF_COUNT ? &enclu_leaves[leaf] : NULL;
		bool entry = leaf == SGX_EENTER || leaf == SGX_ERESUME;
		lp->why = (struct hw_why){ .what = d ? d->name : "ENCLU" };
		if (!d || (d->sgx2 && m->cfg.sgx1_only)) {
			leaf_note(lp, __FILE__, __LINE__, "leaf defined (SGX2 leaves need CPUID.12H.0:EAX[1])");
			r = leaf_gp();
		} else if (entry == lp->in_enclave) {
			leaf_note(lp, __FILE__, __LINE__,
				  entry ? "not in enclave mode" : "in enclave mode");
			r = leaf_gp();
		} else {
			if (m->obs_leaf)
				observe_leaf(lp, false, leaf, false, r, rbx, rcx, rdx);
			r = d->fn(lp, rbx, rcx, rdx);
			write_back(lp, d, r);
		}
		if (r.vector != SGX_VEC_NONE && lp->in_enclave)
			r = hw_aex(lp, r);
		if (d)
			m->nr_enclu[leaf]++;
		if (d && m->obs_leaf)
			observe_leaf(lp, false, leaf, true, r, rbx, rcx, rdx);
	}
	hw_unlock(m);
	return r;
}
