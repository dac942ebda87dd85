/*
 * Measurement hooks of the hardware model: per-leaf counts (every executed
 * leaf whatever its outcome, none for an undefined leaf or one pre-empted by
 * an interrupt), LP statistics summed, and the observer's access and leaf
 * events with their exact contents.
 */
#include <errno.h>

#include "common/fixture.h"

#define OS(f)   hw_lp_get((f)->m, 3)
#define LP1(f)  hw_lp_get((f)->m, 1)
#define PAGE    (FX_DATA + 0x1000)
#define SLOT    (FX_DATA + 0x2000 + 0x40)

struct rec {
	unsigned nr_access, nr_leaf;
	struct hw_access_event access[16];
	struct hw_epcm_entry access_epcm[16];
	struct hw_leaf_event leaf[16];
	bool leaf_has_epcm[16];
	struct hw_epcm_entry leaf_epcm[16];
};

static void on_access(void *ctx, const struct hw_access_event *ev)
{
	struct rec *r = ctx;
	if (r->nr_access < 16) {
		r->access[r->nr_access] = *ev;
		if (ev->epcm)
			r->access_epcm[r->nr_access] = *ev->epcm;
	}
	r->nr_access++;
}

static void on_leaf(void *ctx, const struct hw_leaf_event *ev)
{
	struct rec *r = ctx;
	if (r->nr_leaf < 16) {
		r->leaf[r->nr_leaf] = *ev;
		r->leaf_has_epcm[r->nr_leaf] = ev->epcm != NULL;
		if (ev->epcm)
			r->leaf_epcm[r->nr_leaf] = *ev->epcm;
	}
	r->nr_leaf++;
}

static void observe(struct fx *f, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	struct hw_observer obs = { .ctx = r, .access = on_access, .leaf = on_leaf };
	hw_set_observer(f->m, &obs);
}

static uint64_t lp_stat_sum(struct fx *f, size_t offset)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < hw_nr_lps(f->m); i++)
		sum += *(const uint64_t *)((const uint8_t *)hw_lp_stats(hw_lp_get(f->m, i)) + offset);
	return sum;
}

static struct sgx_result emodpr(struct fx *f, uint64_t flags, uint64_t la)
{
	static struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	return hw_encls(OS(f), SGX_EMODPR, fx_addr(&si), fx_addr(hw_epc_page(f->m, fx_frame_of_la(f, la))), 0);
}

/* The standard enclave's build: ECREATE, 12 EADDs, 16 EEXTENDs each, EINIT. */
static void test_build_counts(void **state)
{
	struct fx *f = *state;
	struct hw_counters c;
	hw_counters_read(f->m, &c);
	assert_int_equal(c.encls[SGX_ECREATE], 1);
	assert_int_equal(c.encls[SGX_EADD], 12);
	assert_int_equal(c.encls[SGX_EEXTEND], 12 * 16);
	assert_int_equal(c.encls[SGX_EINIT], 1);
	uint64_t total = 0;
	for (unsigned i = 0; i < SGX_ENCLS_LEAF_COUNT; i++)
		total += c.encls[i];
	assert_int_equal(total, 1 + 12 + 12 * 16 + 1);
	for (unsigned i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		assert_int_equal(c.enclu[i], 0);
}

/* Faults and error codes count; an undefined leaf, a pre-empted leaf do not. */
static void test_leaf_count_rules(void **state)
{
	struct fx *f = *state;
	struct hw_counters a, b;
	hw_counters_read(f->m, &a);

	assert_pf(hw_encls(OS(f), SGX_EMODPR, 0, 0x1000, 0), 0x1000, FX_PFEC_ENCLS);   /* #PF: counts */
	assert_rc(hw_encls(OS(f), SGX_EREMOVE, 0, fx_addr(f->secs), 0), SGX_CHILD_PRESENT); /* RC: counts */
	assert_gp(hw_encls(OS(f), 99, 0, 0, 0));                                           /* undefined */
	assert_gp(hw_enclu(f->lp, SGX_EEXIT, 0, 0, 0));                                    /* outside: #GP, counts */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_true(hw_encls(f->lp, SGX_ETRACK, 0, fx_addr(f->secs), 0).aex);              /* #UD inside: counts */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	hw_lp_post_interrupt(f->lp);
	assert_true(hw_enclu(f->lp, SGX_EEXIT, FX_RETURN, 0, 0).aex);                       /* pre-empted */
	hw_counters_read(f->m, &b);

	assert_int_equal(b.encls[SGX_EMODPR] - a.encls[SGX_EMODPR], 1);
	assert_int_equal(b.encls[SGX_EREMOVE] - a.encls[SGX_EREMOVE], 1);
	assert_int_equal(b.encls[SGX_ETRACK] - a.encls[SGX_ETRACK], 1);
	assert_int_equal(b.enclu[SGX_EEXIT] - a.enclu[SGX_EEXIT], 1);
	assert_int_equal(b.enclu[SGX_EENTER] - a.enclu[SGX_EENTER], 2);
	assert_int_equal(b.aex - a.aex, 2);
	assert_int_equal(b.interrupts - a.interrupts, 1);
}

/* The LP statistics are the sums of hw_lp_stats over all LPs. */
static void test_lp_sums(void **state)
{
	struct fx *f = *state;
	uint32_t v = 7;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(fx_enter(f, LP1(f), FX_TCS2));
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_success(emodpr(f, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, PAGE));
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));     /* stale */
	assert_success(fx_exit(f, LP1(f)));
	struct hw_counters c;
	hw_counters_read(f->m, &c);
	assert_int_equal(c.stale_tlb_hits, 1);
	assert_int_equal(c.tlb_flushes, lp_stat_sum(f, offsetof(struct hw_lp_stats, tlb_flushes)));
	assert_int_equal(c.aex, lp_stat_sum(f, offsetof(struct hw_lp_stats, aex)));
	assert_int_equal(c.interrupts, lp_stat_sum(f, offsetof(struct hw_lp_stats, interrupts)));
	assert_true(c.tlb_flushes >= 3);   /* 2 entries + 1 exit at least */
}

/* Access events: a miss then a hit inside, the same access's page, frame
 * and EPCM entry; a stale hit flagged; nothing for a faulting access. */
static void test_access_events(void **state)
{
	struct fx *f = *state;
	struct rec r;
	uint32_t v = 1;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	observe(f, &r);
	assert_success(hw_lp_write(f->lp, PAGE + 8, &v, sizeof(v)));
	assert_success(hw_lp_read(f->lp, PAGE + 8, &v, sizeof(v)));
	assert_int_equal(r.nr_access, 2);
	uint32_t frame = fx_frame_of_la(f, PAGE);
	const struct hw_access_event *e = &r.access[0];
	assert_ptr_equal(e->lp, f->lp);
	assert_ptr_equal(e->pt, f->pt);
	assert_int_equal(e->la, PAGE + 8);
	assert_int_equal(e->kind, HW_WRITE);
	assert_ptr_equal(e->page, hw_epc_page(f->m, frame));
	assert_int_equal(e->frame, frame);
	assert_true(r.access_epcm[0].valid && r.access_epcm[0].w);
	assert_int_equal(e->secs_frame, hw_epc_frame_of(f->m, fx_addr(f->secs)));
	assert_ptr_equal(e->secs, (const struct sgx_secs *)f->secs);
	assert_false(e->tlb_hit);
	assert_false(e->stale);
	assert_int_equal(r.access[1].kind, HW_READ);
	assert_true(r.access[1].tlb_hit);
	assert_false(r.access[1].stale);

	assert_success(emodpr(f, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, PAGE));
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_int_equal(r.nr_access, 3);
	assert_true(r.access[2].tlb_hit);
	assert_true(r.access[2].stale);
	assert_false(r.access_epcm[2].w);
	assert_true(r.access_epcm[2].pr);

	/* a faulting access (fresh walk, EPCM refuses the write) is no event */
	hw_lp_invlpg(f->lp, PAGE);
	assert_true(hw_lp_write(f->lp, PAGE, &v, sizeof(v)).aex);
	assert_int_equal(r.nr_access, 3);
	hw_set_observer(f->m, NULL);
}

/* A non-enclave access to EPC reaches the abort page: frame none. */
static void test_access_outside(void **state)
{
	struct fx *f = *state;
	struct rec r;
	uint32_t v = 0;
	hw_lp_set_pagetable(f->lp, f->pt);
	observe(f, &r);
	assert_success(hw_lp_read(f->lp, PAGE, &v, sizeof(v)));
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(r.nr_access, 1);
	assert_int_equal(r.access[0].frame, HW_NO_FRAME);
	assert_null(r.access[0].secs);
	assert_int_equal(r.access[0].secs_frame, HW_NO_FRAME);
	assert_true(hw_epc_frame_of(f->m, fx_addr(r.access[0].page)) == HW_NO_FRAME);
	hw_set_observer(f->m, NULL);
}

/* Leaf events: before and after, the page operand's frame, entry and EID;
 * ENCLU EACCEPT resolves RCX through the page table. */
static void test_leaf_events(void **state)
{
	struct fx *f = *state;
	struct rec r;
	assert_success(fx_enter(f, f->lp, FX_TCS));
	observe(f, &r);
	assert_success(emodpr(f, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, PAGE));
	uint32_t frame = fx_frame_of_la(f, PAGE);
	assert_int_equal(r.nr_leaf, 2);
	assert_true(r.leaf[0].encls && !r.leaf[0].after && r.leaf[1].after);
	assert_int_equal(r.leaf[0].leaf, SGX_EMODPR);
	assert_int_equal(r.leaf[0].frame, frame);
	assert_true(r.leaf_has_epcm[0] && r.leaf_epcm[0].r && r.leaf_epcm[0].w && !r.leaf_epcm[0].pr);
	assert_true(r.leaf_epcm[1].pr && !r.leaf_epcm[1].w);   /* the entry as the leaf left it */
	assert_int_not_equal(r.leaf[0].eid, 0);
	assert_int_equal(r.leaf[1].eid, r.leaf[0].eid);
	assert_true(sgx_ok(r.leaf[1].r));

	/* ETRACK's page operand is the SECS: its own EID */
	assert_success(hw_encls(OS(f), SGX_ETRACK, 0, fx_addr(f->secs), 0));
	assert_int_equal(r.leaf[3].leaf, SGX_ETRACK);
	assert_int_equal(r.leaf[3].frame, hw_epc_frame_of(f->m, fx_addr(f->secs)));
	assert_int_equal(r.leaf[3].eid, r.leaf[0].eid);

	assert_success(fx_exit(f, f->lp));     /* ETRACK's cycle completes */
	assert_success(fx_enter(f, f->lp, FX_TCS));
	unsigned before = r.nr_leaf;
	assert_success(fx_eaccept(f, f->lp, PAGE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PR));
	assert_int_equal(r.nr_leaf, before + 2);
	const struct hw_leaf_event *e = &r.leaf[before + 1];
	assert_false(e->encls);
	assert_int_equal(e->leaf, SGX_EACCEPT);
	assert_true(e->after);
	assert_int_equal(e->rcx, PAGE);
	assert_int_equal(e->frame, frame);
	assert_false(r.leaf_epcm[before + 1].pr);
	assert_true(sgx_ok(e->r));

	/* EEXIT has no page operand */
	assert_success(fx_exit(f, f->lp));
	e = &r.leaf[before + 3];
	assert_int_equal(e->leaf, SGX_EEXIT);
	assert_int_equal(e->frame, HW_NO_FRAME);
	assert_false(r.leaf_has_epcm[before + 3]);
	assert_int_equal(e->eid, 0);

	/* gone with the observer */
	hw_set_observer(f->m, NULL);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_int_equal(r.nr_leaf, before + 4);
}

/* ---- several observers, the IPI callback ---- */

struct ipis {
	unsigned nr;
	struct hw_lp *lp;
};

static void on_ipi(void *ctx, struct hw_lp *lp)
{
	struct ipis *i = ctx;
	i->nr++;
	i->lp = lp;
}

/* hw_set_observer's slot and added ones all see each event, in order; the
 * IPI callback hears only of interrupts posted to an LP in enclave mode. */
static void test_observers_chain(void **state)
{
	struct fx *f = *state;
	struct rec primary, second;
	struct ipis ipis = { 0 };
	observe(f, &primary);
	memset(&second, 0, sizeof(second));
	struct hw_observer obs2 = { .ctx = &second, .leaf = on_leaf };
	struct hw_observer obs3 = { .ctx = &ipis, .ipi = on_ipi };
	assert_int_equal(hw_add_observer(f->m, &obs2), 0);
	assert_int_equal(hw_add_observer(f->m, &obs3), 0);
	struct hw_observer full = { .ctx = &ipis, .ipi = on_ipi, .leaf = on_leaf };
	assert_int_equal(hw_add_observer(f->m, &full), 0);
	assert_int_equal(hw_add_observer(f->m, &full), -ENOSPC);   /* slot 0 + 3 */
	hw_remove_observer(f->m, &full);

	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_int_equal(primary.nr_leaf, 2);     /* before and after */
	assert_int_equal(second.nr_leaf, 2);
	assert_int_equal(second.leaf[1].leaf, SGX_EENTER);
	assert_true(second.leaf[1].after);

	/* an LP outside enclave mode takes an IPI at once: no callback */
	assert_true(hw_lp_send_ipi(OS(f)));
	assert_int_equal(ipis.nr, 0);
	/* inside: posted, and the callback names the LP */
	assert_false(hw_lp_send_ipi(f->lp));
	assert_int_equal(ipis.nr, 1);
	assert_ptr_equal(ipis.lp, f->lp);
	assert_true(hw_lp_interrupt(f->lp).aex);

	/* removed: no more events; hw_set_observer(NULL) leaves the others */
	hw_remove_observer(f->m, &obs2);
	hw_set_observer(f->m, NULL);
	assert_success(hw_enclu(f->lp, SGX_ERESUME, FX_TCS, FX_AEP, 0));
	assert_int_equal(primary.nr_leaf, 2);
	assert_int_equal(second.nr_leaf, 2);
	assert_false(hw_lp_send_ipi(f->lp));
	assert_int_equal(ipis.nr, 2);
	hw_remove_observer(f->m, &obs3);
	assert_true(hw_lp_interrupt(f->lp).aex);
	assert_success(hw_enclu(f->lp, SGX_ERESUME, FX_TCS, FX_AEP, 0));
	assert_false(hw_lp_send_ipi(f->lp));
	assert_int_equal(ipis.nr, 2);
}

/* hw_lp_rights: what a fresh walk would grant, with no side effect. */
static void test_lp_rights(void **state)
{
	struct fx *f = *state;
	uint32_t frame = 7;
	/* outside enclave mode, no PTE: nothing, no frame */
	assert_int_equal(hw_lp_rights(f->lp, FX_HEAP, &frame), 0);
	assert_int_equal(frame, HW_NO_FRAME);
	assert_success(fx_enter(f, f->lp, FX_TCS));
	uint64_t misses = hw_lp_stats(f->lp)->tlb_misses;
	assert_int_equal(hw_lp_rights(f->lp, PAGE, &frame), HW_PROT_R | HW_PROT_W);
	assert_int_equal(frame, fx_frame_of_la(f, PAGE));
	assert_int_equal(hw_lp_rights(f->lp, FX_CODE, NULL), HW_PROT_R | HW_PROT_X);
	/* the TCS is no page enclave code may touch: EPCM.PT != REG */
	assert_int_equal(hw_lp_rights(f->lp, FX_TCS, &frame), 0);
	assert_int_equal(frame, fx_frame_of_la(f, FX_TCS));
	assert_int_equal(hw_lp_stats(f->lp)->tlb_misses, misses);   /* no TLB fill */
	assert_false(hw_pt_young(f->pt, FX_CODE));                  /* no walk */

	/* after EMODPR: R only at once (a TLB entry may still be stale) */
	uint32_t v = 1;
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));
	assert_success(emodpr(f, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, PAGE));
	assert_int_equal(hw_lp_rights(f->lp, PAGE, NULL), HW_PROT_R);
	assert_success(hw_lp_write(f->lp, PAGE, &v, sizeof(v)));     /* the stale entry still works */
	/* the PTE narrows it too */
	assert_int_equal(hw_pt_protect(f->pt, FX_CODE, HW_PROT_R), 0);
	assert_int_equal(hw_lp_rights(f->lp, FX_CODE, NULL), HW_PROT_R);
	/* a pending page grants nothing */
	assert_success(fx_eaug_on(f, OS(f), FX_HEAP));
	assert_int_equal(hw_lp_rights(f->lp, FX_HEAP, &frame), 0);
	assert_int_equal(frame, fx_frame_of_la(f, FX_HEAP));
}

struct pt_changes {
	unsigned nr;
	uint64_t la[8];
};

static void on_pt_change(void *ctx, uint64_t la)
{
	struct pt_changes *c = ctx;
	if (c->nr < 8)
		c->la[c->nr] = la;
	c->nr++;
}

/* The page-table notifier hears of each map, protect and unmap. */
static void test_pt_notifier(void **state)
{
	struct fx *f = *state;
	struct pt_changes c = { 0 };
	hw_pt_set_notifier(f->pt, on_pt_change, &c);
	uint8_t *page = fx_scratch(f, 0);
	assert_int_equal(hw_pt_map(f->pt, 0x500000, page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_protect(f->pt, 0x500000, HW_PROT_R | HW_PROT_W), 0);
	hw_pt_unmap(f->pt, 0x500000);
	assert_int_equal(hw_pt_protect(f->pt, 0x501000, HW_PROT_R), -ENOENT);   /* nothing changed */
	assert_int_equal(hw_pt_map(f->pt, 0x500001, page, HW_PROT_R), -EINVAL);
	assert_int_equal(c.nr, 3);
	assert_int_equal(c.la[0], 0x500000);
	assert_int_equal(c.la[1], 0x500000);
	assert_int_equal(c.la[2], 0x500000);
	hw_pt_set_notifier(f->pt, NULL, NULL);
	assert_int_equal(hw_pt_map(f->pt, 0x500000, page, HW_PROT_R), 0);
	assert_int_equal(c.nr, 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_initialized, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_build_counts),
		T(test_leaf_count_rules),
		T(test_lp_sums),
		T(test_access_events),
		T(test_access_outside),
		T(test_leaf_events),
		T(test_observers_chain),
		T(test_lp_rights),
		T(test_pt_notifier),
	};
#undef T
	return cmocka_run_group_tests_name("measurement hooks", tests, NULL, NULL);
}
