/*
 * The invariants of policies.md (src/driver/invariants.c): each violation
 * detected in a constructed situation and located (page, step), marked
 * expected or not under the enclave's policy; episodes of K1/K2/K3 that end;
 * the checks at the points where they can break; checking switched off.
 *
 * Situations the kernel or the hardware never create on their own (an
 * access beyond PTE ∩ EPCM, a frame not zeroed by EAUG, contents changed
 * across EWB/ELDU, an EPC page reached from outside) are handed to the
 * checker as the hardware observer would report them.
 */
#include "common/emu_fixture.h"
#include "driver/sgx2_fx.h"
#include "hw/machine.h"
#include "sgx2emu/policy.h"

#define PAGE SGX_PAGE_SIZE
#define REG_PT SGX_SECINFO_PT(SGX_PT_REG)
#define R_ SGX_SECINFO_R
#define RW_ (SGX_SECINFO_R | SGX_SECINFO_W)
#define RWX_ (SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X)

static struct sx *sx_policy(enum emu_policy p)
{
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = 1024 * PAGE;
	c.hw.nr_lps = 8;
	c.policy = p;
	return sx_new_with(&c, true);
}

static struct emu_violation only_violation(struct sx *s, enum emu_invariant inv)
{
	uint64_t counts[EMU_INV_COUNT];
	struct emu_violation v[4];
	uint64_t total = emu_violations(s->emu, counts, v, 4);
	for (unsigned i = 0; i < EMU_INV_COUNT; i++)
		if (counts[i] != (i == inv))
			fail_msg("%s: %llu violation(s)", emu_invariant_name(i), (unsigned long long)counts[i]);
	assert_int_equal(total, 1);
	assert_int_equal(v[0].inv, inv);
	return v[0];
}

static void assert_no_violation(struct sx *s)
{
	uint64_t counts[EMU_INV_COUNT];
	struct emu_violation v[1];
	if (emu_violations(s->emu, counts, v, 1))
		fail_msg("%s at %#llx: %s", emu_invariant_name(v[0].inv), (unsigned long long)v[0].addr, v[0].what);
}

/* ---- K3 ---- */

/* Upstream: RESTRICT leaves the writable PTE (EPCM not tracked): K3 fails,
 * as the policy means to; the episode ends when mprotect narrows the PTE. */
static void test_k3_upstream_restrict(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_UPSTREAM);
	sx_augment(s, SX_HOLES, true);
	assert_no_violation(s);
	struct sgx_enclave_restrict_permissions rp;
	assert_int_equal(sx_restrict(s, SX_HOLES, PAGE, R_, &rp), 0);
	uint64_t start = emu_step(s->emu);
	struct emu_violation v = only_violation(s, EMU_INV_K3);
	assert_int_equal(v.addr, sx_addr(s, SX_HOLES));
	assert_int_equal(v.step, start);
	assert_true(v.expected);
	assert_string_equal(v.what, "PTE exceeds the EPCM");
	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	assert_int_equal(st.violations[EMU_INV_K3], 1);
	assert_int_equal(st.expected[EMU_INV_K3], 1);
	assert_int_equal(st.open[EMU_INV_K3], 1);
	assert_true(st.checks[EMU_INV_K3] >= 2);   /* the EAUG fault's PTE, the RESTRICT */

	/* a write through it is the EPCM fault the policy accepts */
	assert_int_equal(sx_eaccept(s, SX_HOLES, REG_PT | R_ | SGX_SECINFO_PR), 0);
	struct emu_counters c0, c1;
	emu_counters_read(s->emu, &c0);
	assert_int_equal(sx_fault(s, SX_HOLES, SGX_PFEC_SGX | SGX_PFEC_P | SGX_PFEC_W), DRV_FAULT_SIGSEGV);
	emu_counters_read(s->emu, &c1);
	assert_int_equal(c1.faults[EMU_FAULT_EPCM] - c0.faults[EMU_FAULT_EPCM], 1);

	uint64_t before = emu_step(s->emu);
	assert_int_equal(emu_mprotect(s->proc, efx_ptr(sx_addr(s, SX_HOLES)), PAGE, PROT_READ), 0);
	emu_invariant_stats(s->emu, &st);
	assert_int_equal(st.open[EMU_INV_K3], 0);
	assert_int_equal(st.steps[EMU_INV_K3], before + 1 - start);   /* closed by mprotect's check */
	assert_int_equal(emu_violations(s->emu, NULL, NULL, 0), 1);
	sx_free(s);
}

/* v2: RESTRICT zaps the PTE first; the refault maps VMA ∩ run = R: K3 holds. */
static void test_k3_v2_restrict_holds(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_V2);
	sx_augment(s, SX_HOLES, true);
	struct sgx_enclave_restrict_permissions rp;
	assert_int_equal(sx_restrict(s, SX_HOLES, PAGE, R_, &rp), 0);
	unsigned prot;
	assert_false(sx_pte(s->mm, sx_addr(s, SX_HOLES), &prot));
	assert_int_equal(sx_fault(s, SX_HOLES, 0), DRV_FAULT_NOPAGE);
	assert_true(sx_pte(s->mm, sx_addr(s, SX_HOLES), &prot));
	assert_int_equal(prot, HW_PROT_R);
	assert_no_violation(s);
	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	assert_true(st.checks[EMU_INV_K3] >= 2);

	/* a PTE wider than the kernel's copy (run R) is not v2's doing: unexpected */
	void *epc = hw_epc_page(s->emu->m, sx_page(s, SX_HOLES)->epc_frame);
	assert_int_equal(hw_pt_map(s->mm->pt, sx_addr(s, SX_HOLES), epc, HW_PROT_R | HW_PROT_W), 0);
	assert_int_equal(emu_check_invariants(s->proc), 1);
	struct emu_violation v = only_violation(s, EMU_INV_K3);
	assert_int_equal(v.addr, sx_addr(s, SX_HOLES));
	assert_false(v.expected);
	assert_int_equal(v.step, emu_step(s->emu));
	sx_free(s);
}

/* v1: MODIFY(R) keeps max RW, so the PTE (VMA ∩ max) stays RW over EPCM R:
 * the kernel's copy is stale, which seed 001 allows ("as far as it knows"). */
static void test_k3_v1_modify_expected(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_V1);
	sx_augment(s, SX_HOLES, true);
	struct sgx2emu_modify_permissions mp = { .offset = SX_HOLES, .length = PAGE, .permissions = R_ };
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_MODIFY_PERMISSIONS, &mp), 0);
	struct emu_violation v = only_violation(s, EMU_INV_K3);
	assert_int_equal(v.addr, sx_addr(s, SX_HOLES));
	assert_int_equal(v.step, emu_step(s->emu));
	assert_true(v.expected);
	sx_free(s);
}

/* mprotect-emodpr: mprotect(RW) of a page the EPCM holds at R makes the PTE
 * RW before the enclave's EMODPE: K3 fails, expected; EMODPE + audit ends it. */
static void test_k3_mprotect_emodpr(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_MPROTECT_EMODPR);
	sx_augment(s, SX_HOLES, true);
	void *p = efx_ptr(sx_addr(s, SX_HOLES));
	assert_int_equal(emu_mprotect(s->proc, p, PAGE, PROT_READ), 0);
	assert_int_equal(sx_eaccept(s, SX_HOLES, REG_PT | R_ | SGX_SECINFO_PR), 0);
	assert_int_equal(sx_fault(s, SX_HOLES, 0), DRV_FAULT_NOPAGE);
	assert_no_violation(s);
	assert_int_equal(emu_mprotect(s->proc, p, PAGE, PROT_READ | PROT_WRITE), 0);
	struct emu_violation v = only_violation(s, EMU_INV_K3);
	assert_int_equal(v.addr, sx_addr(s, SX_HOLES));
	assert_int_equal(v.step, emu_step(s->emu));
	assert_true(v.expected);
	sx_free(s);
}

/* ---- K1 ---- */

/* A PTE forced wider than its VMA, and an enclave PTE outside every VMA:
 * the audit finds both; fixing them ends the episodes. */
static void test_k1_forced_pte(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_UPSTREAM);
	uint64_t ro = sx_addr(s, SX_RO);
	void *epc = hw_epc_page(s->emu->m, sx_page(s, SX_RO)->epc_frame);
	assert_int_equal(sx_fault(s, SX_RO, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(emu_check_invariants(s->proc), 0);

	assert_int_equal(hw_pt_map(s->mm->pt, ro, epc, HW_PROT_R | HW_PROT_W), 0);   /* VMA: R */
	uint64_t step = emu_step(s->emu);
	assert_int_equal(emu_check_invariants(s->proc), 2);   /* K1, and K3 (EPCM R) */
	uint64_t counts[EMU_INV_COUNT];
	struct emu_violation v[4];
	assert_int_equal(emu_violations(s->emu, counts, v, 4), 2);
	assert_int_equal(counts[EMU_INV_K1], 1);
	assert_int_equal(counts[EMU_INV_K3], 1);
	assert_int_equal(v[0].inv, EMU_INV_K1);
	assert_int_equal(v[0].addr, ro);
	assert_int_equal(v[0].step, step);
	assert_false(v[0].expected);
	assert_string_equal(v[0].what, "PTE exceeds its VMA");
	assert_int_equal(v[1].inv, EMU_INV_K3);
	assert_true(v[1].expected);   /* upstream */
	/* the same episode: a second audit counts nothing new */
	assert_int_equal(emu_check_invariants(s->proc), 0);

	/* an EPC frame mapped where no VMA is */
	uint64_t outside = s->base + SX_SIZE;
	assert_int_equal(hw_pt_map(s->mm->pt, outside, epc, HW_PROT_R), 0);
	assert_int_equal(emu_check_invariants(s->proc), 1);
	assert_int_equal(emu_violations(s->emu, counts, v, 4), 3);
	assert_int_equal(v[2].inv, EMU_INV_K1);
	assert_int_equal(v[2].addr, outside);
	assert_string_equal(v[2].what, "enclave PTE without a VMA");

	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	assert_int_equal(st.open[EMU_INV_K1], 2);
	assert_int_equal(hw_pt_map(s->mm->pt, ro, epc, HW_PROT_R), 0);
	assert_int_equal(emu_check_invariants(s->proc), 0);
	assert_int_equal(emu_munmap(s->proc, efx_ptr(outside), PAGE), 0);   /* zaps the stray PTE */
	emu_invariant_stats(s->emu, &st);
	assert_int_equal(st.open[EMU_INV_K1], 0);
	assert_int_equal(st.open[EMU_INV_K3], 0);
	assert_int_equal(st.violations[EMU_INV_K1], 2);
	sx_free(s);
}

/* ---- K2 ---- */

/* An enclave with one more added page, RWX, at SX_HOLES. */
static struct sx *sx_with_rwx_page(enum emu_policy p)
{
	static uint8_t page[PAGE] __attribute__((aligned(4096)));
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = 1024 * PAGE;
	c.hw.nr_lps = 8;
	c.policy = p;
	struct sx *s = sx_new_with(&c, false);
	memset(page, 0, sizeof(page));
	sx_add(s, SX_HOLES, REG_PT | RWX_, page);

	static struct sgx_sigstruct ss __attribute__((aligned(4096)));
	memset(&ss, 0, sizeof(ss));
	sgx_measure_final(&s->mr, ss.body.mrenclave);
	s->mr.ctx = NULL;
	ss.header.date = 0x20261122;
	ss.body.miscselect = SGX_MISC_EXINFO;
	ss.body.misc_mask = 0xffffffff;
	ss.body.attributes.flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	ss.body.attributes.xfrm = 3;
	ss.body.attributes_mask.flags = ~0ull;
	ss.body.attributes_mask.xfrm = ~0ull;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	struct sgx_enclave_init in = { .sigstruct = (uint64_t)(uintptr_t)&ss };
	assert_int_equal(emu_ioctl(s->proc, s->fd, SGX_IOC_ENCLAVE_INIT, &in), 0);
	return s;
}

/* REG→TCS cuts max to RW under an RWX VMA: K2 lapses (counted, expected: the
 * fault path decides), located at the MODIFY_TYPES; mprotect(RW) ends it. */
static void test_k2_tcs_conversion(void **state)
{
	(void)state;
	static const enum emu_policy policies[] = { EMU_POLICY_UPSTREAM, EMU_POLICY_V1 };
	for (unsigned i = 0; i < 2; i++) {
		enum emu_policy p = policies[i];
		struct sx *s = sx_with_rwx_page(p);
		void *addr = efx_ptr(sx_addr(s, SX_HOLES));
		assert_int_equal(emu_mprotect(s->proc, addr, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
		assert_int_equal(sx_fault(s, SX_HOLES, SGX_PFEC_W), DRV_FAULT_NOPAGE);
		assert_no_violation(s);
		struct sgx_enclave_modify_types mt;
		assert_int_equal(sx_modt(s, SX_HOLES, PAGE, SGX_PT_TCS, &mt), 0);
		struct emu_violation v = only_violation(s, EMU_INV_K2);
		assert_int_equal(v.addr, sx_addr(s, SX_HOLES));
		assert_int_equal(v.step, emu_step(s->emu));
		assert_true(v.expected);
		assert_string_equal(v.what, "VMA exceeds the page's vetted maximum");
		/* upstream refuses the fault (SIGBUS); v1 maps VMA ∩ max: the same episode */
		enum drv_fault f = sx_fault(s, SX_HOLES, 0);
		assert_int_equal(f, p == EMU_POLICY_V1 ? DRV_FAULT_NOPAGE : DRV_FAULT_SIGBUS);
		assert_int_equal(emu_violations(s->emu, NULL, NULL, 0), 1);
		assert_int_equal(emu_mprotect(s->proc, addr, PAGE, PROT_READ | PROT_WRITE), 0);
		struct emu_invariant_stats st;
		emu_invariant_stats(s->emu, &st);
		assert_int_equal(st.open[EMU_INV_K2], 0);
		assert_true(st.steps[EMU_INV_K2] > 0);
		sx_free(s);
	}
}

/* ---- T1 ---- */

static struct sgx_result enter(struct hw_lp *lp, uint64_t tcs)
{
	hw_lp_regs(lp)->rip = 0x402000;
	return hw_enclu(lp, SGX_EENTER, tcs, 0x401000, 0);
}

static struct sgx_result eaccept(struct sx *s, struct hw_lp *lp, uint64_t off, uint64_t flags)
{
	struct sgx_secinfo si = { .flags = flags };
	struct sgx_result r = hw_lp_write(lp, sx_addr(s, SX_SCRATCH), &si, sizeof(si));
	if (r.vector != SGX_VEC_NONE)
		return r;
	return hw_enclu(lp, SGX_EACCEPT, sx_addr(s, SX_SCRATCH), sx_addr(s, off), 0);
}

/*
 * A kernel that skips the IPI after EMODPR + ETRACK: LP 0, inside since
 * before, keeps writing through its TLB entry.  That window is legal until
 * the restriction is accepted, and hardware tracking keeps EACCEPT from
 * succeeding while LP 0 is inside (SGX_NOT_TRACKED).  Made to succeed anyway
 * (a tracker that forgot LP 0), the next stale write is a T1 violation.
 */
static void test_t1_skipped_ipi(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_UPSTREAM);
	struct hw_machine *m = s->emu->m;
	struct hw_lp *lp0 = hw_lp_get(m, 0), *lp1 = hw_lp_get(m, 1), *os = emu_kernel_lp(s->emu);
	static const uint64_t w[] = { SX_TCS, SX_SSA, SX_SSA + PAGE, SX_DATA, SX_TCS2, SX_SSA2, SX_SSA2 + PAGE, SX_SCRATCH };
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		assert_int_equal(sx_fault(s, w[i], SGX_PFEC_W), DRV_FAULT_NOPAGE);
	hw_lp_set_pagetable(lp0, s->mm->pt);
	hw_lp_set_pagetable(lp1, s->mm->pt);
	uint64_t data = sx_addr(s, SX_DATA), v = 7;
	assert_success(enter(lp0, sx_addr(s, SX_TCS)));
	assert_success(hw_lp_write(lp0, data, &v, sizeof(v)));

	static struct sgx_secinfo si __attribute__((aligned(64)));
	si = (struct sgx_secinfo){ .flags = REG_PT | R_ };
	uint64_t frame = (uint64_t)(uintptr_t)hw_epc_page(m, sx_page(s, SX_DATA)->epc_frame);
	uint64_t secs = (uint64_t)(uintptr_t)hw_epc_page(m, s->encl->secs.epc_frame);
	assert_success(hw_encls(os, SGX_EMODPR, (uint64_t)(uintptr_t)&si, frame, 0));
	assert_success(hw_encls(os, SGX_ETRACK, 0, secs, 0));
	/* no IPI: the stale write goes through, not yet a violation */
	assert_success(hw_lp_write(lp0, data, &v, sizeof(v)));
	assert_no_violation(s);

	assert_success(enter(lp1, sx_addr(s, SX_TCS2)));
	assert_rc(eaccept(s, lp1, SX_DATA, REG_PT | R_ | SGX_SECINFO_PR), SGX_NOT_TRACKED);
	lp0->entry_epoch = lp0->encl->epoch;   /* the tracker forgets LP 0 */
	assert_success(eaccept(s, lp1, SX_DATA, REG_PT | R_ | SGX_SECINFO_PR));
	assert_success(hw_lp_write(lp0, data, &v, sizeof(v)));
	struct emu_violation t = only_violation(s, EMU_INV_T1);
	assert_int_equal(t.addr, data);
	assert_int_equal(t.step, emu_step(s->emu));
	assert_false(t.expected);
	struct emu_counters c;
	emu_counters_read(s->emu, &c);
	assert_int_equal(c.stale_tlb_hits, 2);
	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	assert_int_equal(st.checks[EMU_INV_T1], 2);

	assert_success(hw_enclu(lp0, SGX_EEXIT, 0x402000, 0, 0));
	assert_success(hw_enclu(lp1, SGX_EEXIT, 0x402000, 0, 0));
	sx_free(s);
}

/* ---- H1 and D1, as the observer would report them ---- */

static void report_access(struct sx *s, const struct hw_access_event *ev)
{
	struct hw_machine *m = s->emu->m;
	m->obs[0].access(m->obs[0].ctx, ev);
}

static void report_leaf(struct sx *s, const struct hw_leaf_event *ev)
{
	struct hw_machine *m = s->emu->m;
	m->obs[0].leaf(m->obs[0].ctx, ev);
}

/* A fetch from the data page (PTE RW-NX, EPCM RW) that "succeeded". */
static void test_h1(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_UPSTREAM);
	struct hw_machine *m = s->emu->m;
	assert_int_equal(sx_fault(s, SX_DATA, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	uint32_t frame = sx_page(s, SX_DATA)->epc_frame;
	struct hw_access_event ev = {
		.lp = hw_lp_get(m, 0), .pt = s->mm->pt, .la = sx_addr(s, SX_DATA) + 0x10, .kind = HW_WRITE,
		.page = hw_epc_page(m, frame), .frame = frame, .epcm = epcm_of(m, frame),
		.secs_frame = s->encl->secs.epc_frame,
		.secs = (const struct sgx_secs *)hw_epc_page(m, s->encl->secs.epc_frame),
	};
	report_access(s, &ev);   /* a write: allowed */
	assert_no_violation(s);
	ev.kind = HW_FETCH;
	report_access(s, &ev);
	struct emu_violation v = only_violation(s, EMU_INV_H1);
	assert_int_equal(v.addr, sx_addr(s, SX_DATA));
	assert_int_equal(v.step, emu_step(s->emu));
	assert_string_equal(v.what, "access succeeded beyond PTE ∩ EPCM");
	/* the same as a stale TLB hit is the T1 question, not H1 (not accepted: none) */
	ev.stale = true;
	report_access(s, &ev);
	assert_int_equal(emu_violations(s->emu, NULL, NULL, 0), 1);
	sx_free(s);
}

/* D1: real EAUG and EWB/ELDU pass; a dirty EAUG frame, changed contents and
 * an EPC page reached from outside its enclave are violations. */
static void test_d1(void **state)
{
	(void)state;
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = 64 * PAGE;
	c.hw.nr_lps = 4;
	c.low_watermark = 4;
	c.high_watermark = 40;
	struct sx *s = sx_new_with(&c, true);
	struct hw_machine *m = s->emu->m;
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 20 * PAGE; off += PAGE)
		assert_int_equal(sx_fault(s, off, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	assert_true(emu_reclaim_to_high_watermark(s->emu) > 0);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 20 * PAGE; off += PAGE)
		assert_int_equal(sx_fault(s, off, 0), DRV_FAULT_NOPAGE);
	assert_no_violation(s);
	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	struct emu_counters cnt;
	emu_counters_read(s->emu, &cnt);
	assert_true(cnt.eldu > 0);
	assert_int_equal(st.checks[EMU_INV_D1], 20 + cnt.eldu);   /* each EAUG, each ELDU of an EWB'd page */

	/* a frame EAUG left dirty */
	uint32_t f = sx_page(s, SX_HOLES)->epc_frame;
	assert_int_not_equal(f, HW_NO_FRAME);
	struct hw_epcm_entry e = *epcm_of(m, f);
	uint8_t *frame = hw_epc_page(m, f), saved[PAGE];
	memcpy(saved, frame, PAGE);
	memset(frame, 0, PAGE);
	frame[100] = 1;
	struct sgx_pageinfo pi = { .linaddr = sx_addr(s, SX_HOLES) };
	struct hw_leaf_event lev = {
		.lp = emu_kernel_lp(s->emu), .encls = true, .leaf = SGX_EAUG, .after = true,
		.r = { .vector = SGX_VEC_NONE }, .rbx = (uint64_t)(uintptr_t)&pi, .frame = f, .epcm = &e, .eid = 1,
	};
	report_leaf(s, &lev);
	struct emu_violation v = only_violation(s, EMU_INV_D1);
	assert_int_equal(v.addr, sx_addr(s, SX_HOLES));
	assert_string_equal(v.what, "page not zero after EAUG");

	/* contents changed between EWB and ELDU */
	lev = (struct hw_leaf_event){ .lp = emu_kernel_lp(s->emu), .encls = true, .leaf = SGX_EWB, .after = false,
				      .r = { .vector = SGX_VEC_NONE }, .frame = f, .epcm = &e, .eid = 1 };
	report_leaf(s, &lev);
	frame[200] = 2;
	lev.leaf = SGX_ELDU;
	lev.after = true;
	report_leaf(s, &lev);
	struct emu_violation vs[3];
	assert_int_equal(emu_violations(s->emu, NULL, vs, 3), 2);
	assert_int_equal(vs[1].inv, EMU_INV_D1);
	assert_int_equal(vs[1].addr, sx_addr(s, SX_HOLES));
	assert_string_equal(vs[1].what, "contents changed across EWB/ELDU");
	assert_int_equal(vs[1].step, emu_step(s->emu));
	memcpy(frame, saved, PAGE);

	/* the page reached by code outside any enclave */
	struct hw_access_event aev = {
		.lp = hw_lp_get(m, 0), .pt = s->mm->pt, .la = sx_addr(s, SX_HOLES), .kind = HW_READ,
		.page = frame, .frame = f, .epcm = &e, .secs_frame = HW_NO_FRAME,
	};
	report_access(s, &aev);
	assert_int_equal(emu_violations(s->emu, NULL, vs, 3), 3);
	assert_int_equal(vs[2].inv, EMU_INV_D1);
	assert_string_equal(vs[2].what, "EPC page reached from outside its enclave");
	sx_free(s);
}

/* ---- everything else ---- */

/* A workload under upstream with nothing to report: EACCEPT-first commit,
 * trim, accept, remove. */
static void test_clean_run_and_reset(void **state)
{
	(void)state;
	struct sx *s = sx_policy(EMU_POLICY_UPSTREAM);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 3 * PAGE; off += PAGE)
		sx_augment(s, off, true);
	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rm;
	assert_int_equal(sx_modt(s, SX_HOLES, 3 * PAGE, SGX_PT_TRIM, &mt), 0);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 3 * PAGE; off += PAGE)
		assert_int_equal(sx_eaccept(s, off, SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED), 0);
	assert_int_equal(sx_remove(s, SX_HOLES, 3 * PAGE, &rm), 0);
	assert_no_violation(s);
	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	assert_true(st.checks[EMU_INV_H1] > 0);
	assert_true(st.checks[EMU_INV_K1] > 0);
	assert_true(st.checks[EMU_INV_D1] >= 3);

	assert_int_equal(emu_check_invariants(s->proc), 0);
	emu_invariants_reset(s->emu);
	emu_invariant_stats(s->emu, &st);
	struct emu_invariant_stats zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&st, &zero, sizeof(st));
	sx_free(s);
}

/* Checking off: no observer, nothing counted or reported; counters still run. */
static void test_off(void **state)
{
	(void)state;
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = 1024 * PAGE;
	c.hw.nr_lps = 8;
	c.invariants_off = true;
	struct sx *s = sx_new_with(&c, true);
	assert_null(s->emu->inv);
	assert_null(s->emu->m->obs[0].access);
	assert_null(s->emu->m->obs[0].leaf);
	sx_augment(s, SX_HOLES, true);
	struct sgx_enclave_restrict_permissions rp;
	assert_int_equal(sx_restrict(s, SX_HOLES, PAGE, R_, &rp), 0);
	void *epc = hw_epc_page(s->emu->m, sx_page(s, SX_RO)->epc_frame);
	assert_int_equal(hw_pt_map(s->mm->pt, sx_addr(s, SX_RO), epc, HW_PROT_R | HW_PROT_W), 0);
	assert_int_equal(emu_check_invariants(s->proc), 0);
	uint64_t counts[EMU_INV_COUNT] = { 1, 1, 1, 1, 1, 1 };
	assert_int_equal(emu_violations(s->emu, counts, NULL, 0), 0);
	for (unsigned i = 0; i < EMU_INV_COUNT; i++)
		assert_int_equal(counts[i], 0);
	struct emu_invariant_stats st;
	emu_invariant_stats(s->emu, &st);
	assert_int_equal(st.checks[EMU_INV_H1] + st.checks[EMU_INV_K3], 0);
	emu_invariants_reset(s->emu);
	struct emu_counters cnt;
	emu_counters_read(s->emu, &cnt);
	assert_int_equal(cnt.encls[SGX_EMODPR], 1);
	assert_int_equal(cnt.faults[EMU_FAULT_EAUG], 1);
	sx_free(s);
}

static void test_names(void **state)
{
	(void)state;
	const char *names[] = { "H1", "K1", "K2", "K3", "T1", "D1" };
	for (unsigned i = 0; i < EMU_INV_COUNT; i++)
		assert_string_equal(emu_invariant_name((enum emu_invariant)i), names[i]);
	assert_string_equal(emu_invariant_name(EMU_INV_COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k3_upstream_restrict),
		cmocka_unit_test(test_k3_v2_restrict_holds),
		cmocka_unit_test(test_k3_v1_modify_expected),
		cmocka_unit_test(test_k3_mprotect_emodpr),
		cmocka_unit_test(test_k1_forced_pte),
		cmocka_unit_test(test_k2_tcs_conversion),
		cmocka_unit_test(test_t1_skipped_ipi),
		cmocka_unit_test(test_h1),
		cmocka_unit_test(test_d1),
		cmocka_unit_test(test_clean_run_and_reset),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("invariants", tests, NULL, NULL);
}
