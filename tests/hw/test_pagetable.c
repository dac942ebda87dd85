/*
 * Page tables, the LPs' TLBs and ordinary (non-EPCM) accesses: mapping calls,
 * memory cost, stale TLB entries until INVLPG, abort-page semantics for EPC
 * seen from outside an enclave, and the ordinary #PF error codes.
 */
#include <errno.h>

#include "common/fixture.h"

#define LA      0x10000000ull          /* outside the standard ELRANGE */
#define PAGE(n) (LA + (n) * SGX_PAGE_SIZE)

static void test_map_lookup_prot(void **state)
{
	struct fx *f = *state;
	static const struct {
		unsigned prot, seen;
	} cases[] = {
		{ HW_PROT_R, HW_PROT_R },
		{ HW_PROT_R | HW_PROT_W, HW_PROT_R | HW_PROT_W },
		{ HW_PROT_R | HW_PROT_X, HW_PROT_R | HW_PROT_X },
		{ HW_PROT_R | HW_PROT_W | HW_PROT_X, HW_PROT_R | HW_PROT_W | HW_PROT_X },
		/* x86 PTEs cannot express write-only or execute-only: present implies readable */
		{ HW_PROT_W, HW_PROT_R | HW_PROT_W },
		{ HW_PROT_X, HW_PROT_R | HW_PROT_X },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *host = NULL;
		unsigned prot = 0;
		assert_int_equal(hw_pt_map(f->pt, PAGE(i), fx_scratch(f, i), cases[i].prot), 0);
		assert_true(hw_pt_lookup(f->pt, PAGE(i), &host, &prot));
		assert_ptr_equal(host, fx_scratch(f, i));
		assert_int_equal(prot, cases[i].seen);
	}
	/* lookup takes NULL outputs; an unaligned la names its page */
	assert_true(hw_pt_lookup(f->pt, PAGE(0), NULL, NULL));
	void *host;
	unsigned prot;
	assert_true(hw_pt_lookup(f->pt, PAGE(1) + 0x123, &host, &prot));
	assert_ptr_equal(host, fx_scratch(f, 1));
	assert_false(hw_pt_lookup(f->pt, PAGE(100), NULL, NULL));
	/* mapping again replaces the entry */
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), fx_scratch(f, 9), HW_PROT_R | HW_PROT_W), 0);
	assert_true(hw_pt_lookup(f->pt, PAGE(0), &host, &prot));
	assert_ptr_equal(host, fx_scratch(f, 9));
	assert_int_equal(prot, HW_PROT_R | HW_PROT_W);
}

static void test_protect_and_unmap(void **state)
{
	struct fx *f = *state;
	void *host;
	unsigned prot;
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), HW_PROT_R), -ENOENT); /* never mapped */
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), fx_scratch(f, 0), HW_PROT_R | HW_PROT_W), 0);
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), HW_PROT_R | HW_PROT_X), 0);
	assert_true(hw_pt_lookup(f->pt, PAGE(0), &host, &prot));
	assert_ptr_equal(host, fx_scratch(f, 0));
	assert_int_equal(prot, HW_PROT_R | HW_PROT_X);

	/* PROT_NONE: not present, but the page is kept, as mprotect does */
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), 0), 0);
	assert_false(hw_pt_lookup(f->pt, PAGE(0), &host, &prot));
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), HW_PROT_R), 0);
	assert_true(hw_pt_lookup(f->pt, PAGE(0), &host, &prot));
	assert_ptr_equal(host, fx_scratch(f, 0));
	assert_int_equal(prot, HW_PROT_R);

	hw_pt_unmap(f->pt, PAGE(0));
	assert_false(hw_pt_lookup(f->pt, PAGE(0), NULL, NULL));
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), HW_PROT_R), -ENOENT);
	hw_pt_unmap(f->pt, PAGE(0));          /* twice: harmless */
	hw_pt_unmap(f->pt, 0x7f0000000000ull); /* no tables there */
	hw_pt_unmap(f->pt, 1ull << 47);
	assert_int_equal(hw_pt_protect(f->pt, 1ull << 47, HW_PROT_R), -ENOENT);
}

static void test_map_rejects_bad_addresses(void **state)
{
	struct fx *f = *state;
	void *page = fx_scratch(f, 0);
	assert_int_equal(hw_pt_map(f->pt, LA + 1, page, HW_PROT_R), -EINVAL);
	assert_int_equal(hw_pt_map(f->pt, LA + 0x800, page, HW_PROT_R), -EINVAL);
	assert_int_equal(hw_pt_map(f->pt, LA, (uint8_t *)page + 8, HW_PROT_R), -EINVAL);
	/* 4-level paging: 47-bit user half only */
	assert_int_equal(hw_pt_map(f->pt, 1ull << 47, page, HW_PROT_R), -EINVAL);
	assert_int_equal(hw_pt_map(f->pt, 0xffff800000000000ull, page, HW_PROT_R), -EINVAL);
	assert_false(hw_pt_lookup(f->pt, LA, NULL, NULL));
	assert_int_equal(hw_pt_map(f->pt, (1ull << 47) - SGX_PAGE_SIZE, page, HW_PROT_R), 0);
	assert_true(hw_pt_lookup(f->pt, (1ull << 47) - SGX_PAGE_SIZE, NULL, NULL));
	assert_int_equal(hw_pt_map(f->pt, 0, page, HW_PROT_R), 0); /* page 0 is a page like any other */
	assert_true(hw_pt_lookup(f->pt, 0, NULL, NULL));
}

/* Memory grows by whole 4 KiB tables, with mapped pages, not with the range. */
static void test_pt_bytes_follow_mapped_pages(void **state)
{
	(void)state;
	struct hw_pagetable *pt = hw_pt_create();
	assert_non_null(pt);
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	const size_t table = 4096;
	size_t empty = hw_pt_bytes(pt);
	assert_in_range(empty, table, table + 256); /* the root and the handle */

	const uint64_t base = 0x100000000000ull; /* PML4 slot 32, 512 GiB aligned */
	assert_int_equal(hw_pt_map(pt, base, page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_bytes(pt), empty + 3 * table); /* PDPT, PD, PT */
	assert_int_equal(hw_pt_map(pt, base + SGX_PAGE_SIZE, page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_bytes(pt), empty + 3 * table);
	/* the last page of the same 512 GiB: same PDPT, new PD and PT */
	assert_int_equal(hw_pt_map(pt, base + (512ull << 30) - SGX_PAGE_SIZE, page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_bytes(pt), empty + 5 * table);
	/* the next 512 GiB: a new PDPT too */
	assert_int_equal(hw_pt_map(pt, base + (512ull << 30), page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_bytes(pt), empty + 8 * table);
	/* unmapping keeps the tables; looking up and protecting allocate none */
	hw_pt_unmap(pt, base);
	assert_false(hw_pt_lookup(pt, base + (1ull << 30), NULL, NULL));
	assert_int_equal(hw_pt_protect(pt, base + (2ull << 30), HW_PROT_R), -ENOENT);
	hw_pt_unmap(pt, base + (3ull << 30));
	assert_int_equal(hw_pt_bytes(pt), empty + 8 * table);
	/* 1 GiB of address space, 1 page every 2 MiB: a PT per page */
	for (uint64_t off = 0; off < (1ull << 30); off += 2ull << 20)
		assert_int_equal(hw_pt_map(pt, 0x200000000000ull + off, page, HW_PROT_R), 0);
	assert_int_equal(hw_pt_bytes(pt), empty + (8 + 2 + 512) * table);
	hw_pt_destroy(pt);
	hw_pt_destroy(NULL);
}

static struct sgx_result touch(struct fx *f, uint64_t la, enum hw_access kind, uint8_t **host)
{
	uint8_t *dummy;
	return hw_lp_access(f->lp, la, kind, host ? host : &dummy);
}

static void test_ordinary_pf_error_codes(void **state)
{
	struct fx *f = *state;
	uint8_t *host = NULL;
	/* not present: U, plus W for a write, I for a fetch */
	assert_pf(touch(f, PAGE(0) + 0x123, HW_READ, NULL), PAGE(0) + 0x123, 0x4);
	assert_pf(touch(f, PAGE(0) + 8, HW_WRITE, NULL), PAGE(0) + 8, 0x6);
	assert_pf(touch(f, PAGE(0), HW_FETCH, NULL), PAGE(0), 0x14);
	/* PROT_NONE is not present either */
	assert_int_equal(hw_pt_map(f->pt, PAGE(1), fx_scratch(f, 1), 0), 0);
	assert_pf(touch(f, PAGE(1), HW_READ, NULL), PAGE(1), 0x4);
	/* present, read-only: write is P|W|U; present, NX: fetch is P|U|I */
	assert_int_equal(hw_pt_map(f->pt, PAGE(2), fx_scratch(f, 2), HW_PROT_R), 0);
	assert_success(touch(f, PAGE(2) + 0x40, HW_READ, &host));
	assert_ptr_equal(host, (uint8_t *)fx_scratch(f, 2) + 0x40);
	assert_pf(touch(f, PAGE(2) + 0xff8, HW_WRITE, NULL), PAGE(2) + 0xff8, 0x7);
	assert_pf(touch(f, PAGE(2) + 0x10, HW_FETCH, NULL), PAGE(2) + 0x10, 0x15);
	/* outside an enclave a fault is just a fault */
	struct sgx_result r = touch(f, PAGE(2), HW_WRITE, NULL);
	assert_false(r.aex);
	assert_int_equal(hw_lp_stats(f->lp)->aex, 0);
	/* present RWX: everything goes */
	assert_int_equal(hw_pt_map(f->pt, PAGE(3), fx_scratch(f, 3), HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_success(touch(f, PAGE(3), HW_FETCH, &host));
	assert_ptr_equal(host, fx_scratch(f, 3));
	assert_success(touch(f, PAGE(3) + 1, HW_WRITE, &host));
	assert_ptr_equal(host, (uint8_t *)fx_scratch(f, 3) + 1);
	/* no page table at all (CR3 = 0) */
	hw_lp_set_pagetable(f->lp, NULL);
	assert_pf(touch(f, PAGE(3), HW_READ, NULL), PAGE(3), 0x4);
}

static void test_read_write_cross_pages(void **state)
{
	struct fx *f = *state;
	uint8_t *a = fx_scratch(f, 0), *b = fx_scratch(f, 1);
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), a, HW_PROT_R | HW_PROT_W), 0);
	assert_int_equal(hw_pt_map(f->pt, PAGE(1), b, HW_PROT_R | HW_PROT_W), 0);
	const uint8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t out[8] = { 0 };
	assert_success(hw_lp_write(f->lp, PAGE(1) - 4, in, sizeof(in)));
	assert_memory_equal(a + SGX_PAGE_SIZE - 4, in, 4);
	assert_memory_equal(b, in + 4, 4);
	assert_success(hw_lp_read(f->lp, PAGE(1) - 4, out, sizeof(out)));
	assert_memory_equal(out, in, sizeof(in));
	/* the fault names the first byte of the page that is missing */
	assert_pf(hw_lp_read(f->lp, PAGE(2) - 4, out, sizeof(out)), PAGE(2), 0x4);
	assert_pf(hw_lp_write(f->lp, PAGE(2) - 4, in, sizeof(in)), PAGE(2), 0x6);
	assert_success(hw_lp_read(f->lp, PAGE(0), out, 0));
}

static void test_tlb_hits_and_misses(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), fx_scratch(f, 0), HW_PROT_R | HW_PROT_W), 0);
	uint64_t misses = st->tlb_misses, hits = st->tlb_hits;
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	assert_int_equal(st->tlb_misses, misses + 1);
	assert_success(touch(f, PAGE(0) + 100, HW_READ, NULL));
	assert_success(touch(f, PAGE(0) + 200, HW_WRITE, NULL)); /* entry holds PTE RW */
	assert_int_equal(st->tlb_misses, misses + 1);
	assert_int_equal(st->tlb_hits, hits + 2);
	assert_int_equal(st->stale_tlb_hits, 0);
	/* 64 direct-mapped entries: page 64 pages on evicts it */
	assert_int_equal(hw_pt_map(f->pt, PAGE(64), fx_scratch(f, 1), HW_PROT_R), 0);
	assert_success(touch(f, PAGE(64), HW_READ, NULL));
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	assert_int_equal(st->tlb_misses, misses + 3);
	/* a failed walk fills nothing */
	assert_pf(touch(f, PAGE(5), HW_READ, NULL), PAGE(5), 0x4);
	assert_pf(touch(f, PAGE(5), HW_READ, NULL), PAGE(5), 0x4);
	assert_int_equal(st->tlb_misses, misses + 5);
	/* CR3 writes and full flushes empty the TLB */
	uint64_t flushes = st->tlb_flushes;
	hw_lp_set_pagetable(f->lp, f->pt);
	assert_int_equal(st->tlb_flushes, flushes + 1);
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	assert_int_equal(st->tlb_misses, misses + 6);
	hw_lp_flush_tlb(f->lp);
	assert_int_equal(st->tlb_flushes, flushes + 2);
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	assert_int_equal(st->tlb_misses, misses + 7);
}

/* Changing a PTE flushes nothing: the LP keeps using the old translation
 * until INVLPG (or a flush), and the model counts each such use. */
static void test_stale_tlb_until_invlpg(void **state)
{
	struct fx *f = *state;
	const struct hw_lp_stats *st = hw_lp_stats(f->lp);
	uint8_t *host;
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), fx_scratch(f, 0), HW_PROT_R | HW_PROT_W), 0);
	assert_success(touch(f, PAGE(0), HW_READ, NULL));

	hw_pt_unmap(f->pt, PAGE(0));
	assert_success(touch(f, PAGE(0) + 8, HW_READ, &host));
	assert_ptr_equal(host, (uint8_t *)fx_scratch(f, 0) + 8);
	assert_int_equal(st->stale_tlb_hits, 1);
	/* INVLPG of another page in the same TLB slot leaves this one alone */
	hw_lp_invlpg(f->lp, PAGE(64));
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	assert_int_equal(st->stale_tlb_hits, 2);
	hw_lp_invlpg(f->lp, PAGE(0) + 0x123); /* any address in the page */
	assert_pf(touch(f, PAGE(0), HW_READ, NULL), PAGE(0), 0x4);
	assert_int_equal(st->stale_tlb_hits, 2);

	/* write-protect: the cached RW entry still writes */
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), fx_scratch(f, 0), HW_PROT_R | HW_PROT_W), 0);
	assert_success(touch(f, PAGE(0), HW_WRITE, NULL));
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), HW_PROT_R), 0);
	assert_success(touch(f, PAGE(0), HW_WRITE, NULL));
	assert_int_equal(st->stale_tlb_hits, 3);
	assert_success(touch(f, PAGE(0), HW_READ, NULL)); /* still allowed: not stale */
	assert_int_equal(st->stale_tlb_hits, 3);
	hw_lp_invlpg(f->lp, PAGE(0));
	assert_pf(touch(f, PAGE(0), HW_WRITE, NULL), PAGE(0), 0x7);

	/* remap to another page: the old page is still used */
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), fx_scratch(f, 1), HW_PROT_R), 0);
	assert_success(touch(f, PAGE(0), HW_READ, &host));
	assert_ptr_equal(host, fx_scratch(f, 0));
	assert_int_equal(st->stale_tlb_hits, 4);
	hw_lp_invlpg(f->lp, PAGE(0));
	assert_success(touch(f, PAGE(0), HW_READ, &host));
	assert_ptr_equal(host, fx_scratch(f, 1));
	assert_int_equal(st->stale_tlb_hits, 4);

	/* TLBs are per LP: LP 1 never cached the page */
	assert_success(hw_lp_access(hw_lp_get(f->m, 1), PAGE(0), HW_READ, &host));
	assert_ptr_equal(host, fx_scratch(f, 1));
	hw_pt_unmap(f->pt, PAGE(0));
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
	hw_lp_invlpg(hw_lp_get(f->m, 1), PAGE(0));
	assert_pf(hw_lp_access(hw_lp_get(f->m, 1), PAGE(0), HW_READ, &host), PAGE(0), 0x4);
	assert_success(touch(f, PAGE(0), HW_READ, NULL));
}

static void assert_all_ones(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(p[i], 0xff);
}

/* EPC seen by software outside an enclave: abort-page semantics. */
static void test_non_enclave_epc_access_aborts(void **state)
{
	struct fx *f = *state;
	uint8_t *frame = hw_epc_page(f->m, 7);
	memset(frame, 0x5a, SGX_PAGE_SIZE);
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), frame, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	uint8_t buf[64];
	assert_success(hw_lp_read(f->lp, PAGE(0) + 100, buf, sizeof(buf)));
	assert_all_ones(buf, sizeof(buf));
	memset(buf, 0x11, sizeof(buf));
	assert_success(hw_lp_write(f->lp, PAGE(0) + 100, buf, sizeof(buf)));
	assert_int_equal(frame[100], 0x5a);
	assert_int_equal(frame[163], 0x5a);
	memset(buf, 0, sizeof(buf));
	assert_success(hw_lp_read(f->lp, PAGE(0) + 100, buf, sizeof(buf)));
	assert_all_ones(buf, sizeof(buf));
	/* nothing to execute there: the abort page is not executable (P|U|I) */
	assert_pf(touch(f, PAGE(0), HW_FETCH, NULL), PAGE(0), 0x15);
	/* the PTE still rules first */
	assert_int_equal(hw_pt_protect(f->pt, PAGE(0), HW_PROT_R), 0);
	hw_lp_invlpg(f->lp, PAGE(0));
	assert_pf(hw_lp_write(f->lp, PAGE(0), buf, 1), PAGE(0), 0x7);
}

/* An enclave page seen through an address outside its ELRANGE: aborted
 * both for ordinary software and for the enclave itself (isa.md §3.1 step 5). */
static void test_enclave_page_outside_elrange_aborts(void **state)
{
	struct fx *f = *state;
	uint8_t *data = hw_epc_page(f->m, fx_frame_of_la(f, FX_DATA));
	assert_int_equal(hw_pt_map(f->pt, PAGE(0), data, HW_PROT_R | HW_PROT_W), 0);
	char buf[32];
	assert_success(hw_lp_read(f->lp, PAGE(0), buf, sizeof(buf)));
	assert_all_ones((uint8_t *)buf, sizeof(buf));

	assert_success(fx_enter(f, f->lp, FX_TCS));
	assert_success(hw_lp_read(f->lp, PAGE(0), buf, sizeof(buf)));
	assert_all_ones((uint8_t *)buf, sizeof(buf));
	assert_success(hw_lp_write(f->lp, PAGE(0), "x", 1));
	assert_success(hw_lp_read(f->lp, FX_DATA, buf, sizeof(buf)));
	assert_string_equal(buf, "page at 0x40003000");
	/* ordinary memory outside ELRANGE is read and written as usual */
	uint8_t *plain = fx_scratch(f, 3);
	plain[0] = 0x77;
	assert_int_equal(hw_pt_map(f->pt, PAGE(1), plain, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
	assert_success(hw_lp_read(f->lp, PAGE(1), buf, 1));
	assert_int_equal((uint8_t)buf[0], 0x77);
	assert_success(hw_lp_write(f->lp, PAGE(1) + 1, "y", 1));
	assert_int_equal(plain[1], 'y');
	assert_true(hw_lp_in_enclave(f->lp));
	/* Decision in access.c: fetching outside ELRANGE in enclave mode is #GP(0).
	 * A page not yet in the TLB: today an entry filled by a data access keeps
	 * PTE.X, so a fetch through PAGE(1) would hit it and skip this check. */
	assert_int_equal(hw_pt_map(f->pt, PAGE(2), plain, HW_PROT_R | HW_PROT_X), 0);
	struct sgx_result r = touch(f, PAGE(2), HW_FETCH, NULL);
	assert_int_equal(r.vector, SGX_VEC_GP);
	assert_true(r.aex);
	assert_false(hw_lp_in_enclave(f->lp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_lookup_prot, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_protect_and_unmap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_map_rejects_bad_addresses, fx_setup, fx_teardown),
		cmocka_unit_test(test_pt_bytes_follow_mapped_pages),
		cmocka_unit_test_setup_teardown(test_ordinary_pf_error_codes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_write_cross_pages, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tlb_hits_and_misses, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stale_tlb_until_invlpg, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_non_enclave_epc_access_aborts, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enclave_page_outside_elrange_aborts, fx_setup_initialized,
						fx_teardown),
	};
	return cmocka_run_group_tests_name("page tables and TLB", tests, NULL, NULL);
}
