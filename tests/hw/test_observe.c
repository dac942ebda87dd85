/*
 * Measurement hooks of the hardware model: per-leaf counts (every executed
 * leaf whatever its outcome, none for an undefined leaf or one pre-empted by
 * an interrupt), LP statistics summed, and the observer's access and leaf
 * events with their exact contents.
 */
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
	};
#undef T
	return cmocka_run_group_tests_name("measurement hooks", tests, NULL, NULL);
}
