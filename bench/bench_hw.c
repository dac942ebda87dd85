/*
 * Cost of the hardware model's hot operations, each beside the cost of a
 * 4 KiB memset measured in the same process: EAUG + EACCEPT (into EPC
 * frames the host has committed, and into fresh ones), EMODPR +
 * ETRACK, EACCEPT of a restriction, a checked access (TLB hit and miss) and
 * EWB + ELDU of one page.
 *
 * Each benchmark repeats a run (fresh standard enclave from the test
 * fixture, untimed setup, timed loop of `ops` operations) and reports the
 * median ns per operation over the runs.  A leaf that fails makes its
 * benchmark "unavailable" with the outcome, never a number.
 *
 * stdout: one JSON object per benchmark and line (make bench joins them);
 * stderr: a table.  BENCH_QUICK=1 cuts runs and iterations (CI).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/fixture.h"
#include "bench_util.h"

#define MAX_RUNS 15
#define MAX_PAGES 200           /* heap pages of the standard 1 MiB ELRANGE: 240 */
#define SECINFO_LA (FX_DATA + SGX_PAGE_SIZE)   /* enclave SECINFO for EACCEPT */
#define MISS_LA (FX_DATA + 64 * SGX_PAGE_SIZE) /* same TLB slot as FX_DATA */

static struct {
	unsigned runs, pages, accesses;
} cfg;

struct result {
	const char *name;
	const char *what;       /* the operation, for people */
	double ns_per_op;
	unsigned ops_per_run, runs;
	double memset_ns;
	char unavailable[160];  /* why, when a leaf failed */
};

/* The yardstick: writing one page of ordinary memory. */
static double memset_4k_ns(void)
{
	static uint8_t buf[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	double per_run[MAX_RUNS];
	const unsigned n = 2000;
	for (unsigned run = 0; run < cfg.runs; run++) {
		double t0 = now_ns();
		for (unsigned i = 0; i < n; i++) {
			memset(buf, (int)i, sizeof(buf));
			__asm__ volatile("" : : "r"(buf) : "memory"); /* keep every memset */
		}
		per_run[run] = (now_ns() - t0) / n;
	}
	return median(per_run, cfg.runs);
}

/* Records the first failing step; returns false then. */
static bool ok(struct result *res, const char *leaf, struct sgx_result r)
{
	if (sgx_ok(r) && !r.aex)
		return true;
	if (!res->unavailable[0]) {
		char out[120];
		hw_result_format(r, out, sizeof(out));
		snprintf(res->unavailable, sizeof(res->unavailable), "%s: %s", leaf, out);
	}
	return false;
}

/* Per-run state: a standard initialized enclave, LP0 driving the enclave,
 * LP1 playing the OS on another CPU. */
struct run {
	struct fx *f;
	struct hw_lp *os;
	uint64_t la[MAX_PAGES];
	uint8_t *frame[MAX_PAGES];
	struct sgx_pageinfo pageinfo[MAX_PAGES];
	struct sgx_secinfo secinfo;   /* kernel-side SECINFO for EMODPR */
};

static struct run *run_new(void)
{
	struct run *r = aligned_alloc(_Alignof(struct run), sizeof(struct run));
	assert_non_null(r);
	memset(r, 0, sizeof(*r));
	r->f = fx_new(NULL);
	fx_build_standard(r->f, true);
	r->os = hw_lp_get(r->f->m, 1);
	return r;
}

static void run_free(struct run *r)
{
	fx_free(r->f);
	free(r);
}

static bool write_secinfo(struct result *res, struct run *r, uint64_t flags)
{
	struct sgx_secinfo si = { .flags = flags };
	return ok(res, "SECINFO write", hw_lp_write(r->f->lp, SECINFO_LA, &si, sizeof(si)));
}

/* A fresh frame for la, mapped RW in the page table, and its PAGEINFO for
 * EAUG.  The EPC memfd commits a frame on first write, which costs a host
 * page fault (microseconds in a VM): `warm` takes that fault now, outside
 * the timing. */
static void prepare_page(struct run *r, unsigned i, uint64_t la, bool warm)
{
	r->la[i] = la;
	r->frame[i] = fx_frame(r->f);
	if (warm)
		memset(r->frame[i], 0, SGX_PAGE_SIZE);
	assert_int_equal(hw_pt_map(r->f->pt, la, r->frame[i], HW_PROT_R | HW_PROT_W), 0);
	r->pageinfo[i] = (struct sgx_pageinfo){ .linaddr = la, .secs = fx_addr(r->f->secs) };
}

static void prepare_pages(struct run *r, unsigned n, bool warm)
{
	for (unsigned i = 0; i < n; i++)
		prepare_page(r, i, FX_HEAP + i * SGX_PAGE_SIZE, warm);
}

static bool eaug_eaccept(struct result *res, struct run *r, unsigned i)
{
	return ok(res, "EAUG", hw_encls(r->os, SGX_EAUG, fx_addr(&r->pageinfo[i]), fx_addr(r->frame[i]), 0)) &&
	       ok(res, "EACCEPT", hw_enclu(r->f->lp, SGX_EACCEPT, SECINFO_LA, r->la[i], 0));
}

/* LP0 inside, n accepted RW heap pages. */
static bool setup_heap(struct result *res, struct run *r, unsigned n)
{
	prepare_pages(r, n, true);
	if (!ok(res, "EENTER", fx_enter(r->f, r->f->lp, FX_TCS)) ||
	    !write_secinfo(res, r, FX_REG_RW | SGX_SECINFO_PENDING))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (!eaug_eaccept(res, r, i))
			return false;
	return true;
}

/* One run of a benchmark: untimed setup, then *ns for `ops` operations. */
typedef bool (*run_fn)(struct result *res, struct run *r, double *ns);

static bool eaug_eaccept_loop(struct result *res, struct run *r, double *ns, bool warm)
{
	prepare_pages(r, cfg.pages, warm);
	if (!ok(res, "EENTER", fx_enter(r->f, r->f->lp, FX_TCS)) ||
	    !write_secinfo(res, r, FX_REG_RW | SGX_SECINFO_PENDING))
		return false;
	double t0 = now_ns();
	for (unsigned i = 0; i < cfg.pages; i++)
		if (!eaug_eaccept(res, r, i))
			return false;
	*ns = now_ns() - t0;
	return true;
}

static bool run_eaug_eaccept(struct result *res, struct run *r, double *ns)
{
	return eaug_eaccept_loop(res, r, ns, true);
}

static bool run_eaug_eaccept_cold(struct result *res, struct run *r, double *ns)
{
	return eaug_eaccept_loop(res, r, ns, false);
}

/* EMODPR (RW -> R) then ETRACK per page, as a driver restricting one page at a time. */
static bool run_emodpr_etrack(struct result *res, struct run *r, double *ns)
{
	if (!setup_heap(res, r, cfg.pages) || !ok(res, "EEXIT", fx_exit(r->f, r->f->lp)))
		return false;
	r->secinfo.flags = SGX_SECINFO_R;
	double t0 = now_ns();
	for (unsigned i = 0; i < cfg.pages; i++)
		if (!ok(res, "EMODPR", hw_encls(r->os, SGX_EMODPR, fx_addr(&r->secinfo), fx_addr(r->frame[i]), 0)) ||
		    !ok(res, "ETRACK", hw_encls(r->os, SGX_ETRACK, 0, fx_addr(r->f->secs), 0)))
			return false;
	*ns = now_ns() - t0;
	return true;
}

/* The enclave's half of a restriction: EACCEPT(PR) of each page. */
static bool run_eaccept_pr(struct result *res, struct run *r, double *ns)
{
	double untimed;
	if (!run_emodpr_etrack(res, r, &untimed) || !ok(res, "EENTER", fx_enter(r->f, r->f->lp, FX_TCS)) ||
	    !write_secinfo(res, r, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PR))
		return false;
	double t0 = now_ns();
	for (unsigned i = 0; i < cfg.pages; i++)
		if (!ok(res, "EACCEPT", hw_enclu(r->f->lp, SGX_EACCEPT, SECINFO_LA, r->la[i], 0)))
			return false;
	*ns = now_ns() - t0;
	return true;
}

/* Enclave reads; `alternate` switches between two pages of one TLB slot so
 * that every access misses. */
static bool accesses(struct result *res, struct run *r, double *ns, bool alternate)
{
	static const uint64_t la[2] = { FX_DATA, MISS_LA };
	prepare_page(r, 0, MISS_LA, true);
	if (!ok(res, "EENTER", fx_enter(r->f, r->f->lp, FX_TCS)) ||
	    !write_secinfo(res, r, FX_REG_RW | SGX_SECINFO_PENDING) || !eaug_eaccept(res, r, 0))
		return false;
	const struct hw_lp_stats *st = hw_lp_stats(r->f->lp);
	uint64_t misses = st->tlb_misses;
	uint8_t *host;
	double t0 = now_ns();
	for (unsigned i = 0; i < cfg.accesses; i++)
		if (!ok(res, "read access", hw_lp_access(r->f->lp, la[alternate ? i & 1 : 0], HW_READ, &host)))
			return false;
	*ns = now_ns() - t0;
	/* make sure the loop measured what its name says (EENTER flushed the
	 * TLB, so even the hit loop starts with one miss) */
	uint64_t expect = alternate ? cfg.accesses : 1;
	if (st->tlb_misses - misses != expect) {
		snprintf(res->unavailable, sizeof(res->unavailable), "TLB: %llu misses in %u accesses",
			 (unsigned long long)(st->tlb_misses - misses), cfg.accesses);
		return false;
	}
	return true;
}

static bool run_access_hit(struct result *res, struct run *r, double *ns)
{
	return accesses(res, r, ns, false);
}

static bool run_access_miss(struct result *res, struct run *r, double *ns)
{
	return accesses(res, r, ns, true);
}

/* Evicts each (blocked, tracked) page with EWB and loads it back with ELDU. */
static bool run_ewb_eldu(struct result *res, struct run *r, double *ns)
{
	unsigned n = cfg.pages;
	bool done = false;
	uint8_t *blobs = aligned_alloc(SGX_PAGE_SIZE, (size_t)n * SGX_PAGE_SIZE);
	struct sgx_pcmd *pcmd = aligned_alloc(_Alignof(struct sgx_pcmd), n * sizeof(*pcmd));
	struct sgx_pageinfo *ld = aligned_alloc(_Alignof(struct sgx_pageinfo), n * sizeof(*ld));
	uint8_t *va = fx_frame(r->f);
	assert_true(blobs && pcmd && ld);
	memset(blobs, 0, (size_t)n * SGX_PAGE_SIZE); /* host page faults outside the timing */
	memset(pcmd, 0, n * sizeof(*pcmd));
	if (!setup_heap(res, r, n) || !ok(res, "EEXIT", fx_exit(r->f, r->f->lp)) ||
	    !ok(res, "EPA", hw_encls(r->os, SGX_EPA, SGX_PT_VA, fx_addr(va), 0)))
		goto out;
	for (unsigned i = 0; i < n; i++) {
		if (!ok(res, "EBLOCK", hw_encls(r->os, SGX_EBLOCK, 0, fx_addr(r->frame[i]), 0)))
			goto out;
		r->pageinfo[i] = (struct sgx_pageinfo){ .srcpge = fx_addr(blobs + (size_t)i * SGX_PAGE_SIZE),
							.secinfo = fx_addr(&pcmd[i]) };
		ld[i] = (struct sgx_pageinfo){ .linaddr = r->la[i], .srcpge = r->pageinfo[i].srcpge,
					       .secinfo = fx_addr(&pcmd[i]), .secs = fx_addr(r->f->secs) };
	}
	if (!ok(res, "ETRACK", hw_encls(r->os, SGX_ETRACK, 0, fx_addr(r->f->secs), 0)))
		goto out;
	double t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t slot = fx_addr(va) + 8 * i;
		if (!ok(res, "EWB", hw_encls(r->os, SGX_EWB, fx_addr(&r->pageinfo[i]), fx_addr(r->frame[i]), slot)) ||
		    !ok(res, "ELDU", hw_encls(r->os, SGX_ELDU, fx_addr(&ld[i]), fx_addr(r->frame[i]), slot)))
			goto out;
	}
	*ns = now_ns() - t0;
	done = true;
out:
	free(blobs);
	free(pcmd);
	free(ld);
	return done;
}

static void measure(struct result *res, run_fn fn, unsigned ops)
{
	double per_op[MAX_RUNS];
	res->memset_ns = memset_4k_ns();
	res->ops_per_run = ops;
	res->runs = 0;
	for (unsigned i = 0; i < cfg.runs; i++) {
		struct run *r = run_new();
		double ns = 0;
		bool good = fn(res, r, &ns);
		run_free(r);
		if (!good)
			return;
		per_op[res->runs++] = ns / ops;
	}
	res->ns_per_op = median(per_op, res->runs);
}

static void report(const struct result *res)
{
	printf("{\"name\":");
	json_string(res->name);
	printf(",\"operation\":");
	json_string(res->what);
	if (res->unavailable[0]) {
		printf(",\"status\":\"unavailable\",\"reason\":");
		json_string(res->unavailable);
		printf(",\"ns_per_op\":null,\"iterations\":0,\"runs\":0,\"memset_4k_ns\":%.1f,"
		       "\"ratio_to_memset\":null}\n", res->memset_ns);
		fprintf(stderr, "  %-16s %10s %9.1f %8s  unavailable: %s\n", res->name, "-", res->memset_ns, "-",
			res->unavailable);
		return;
	}
	double ratio = res->ns_per_op / res->memset_ns;
	printf(",\"status\":\"ok\",\"ns_per_op\":%.1f,\"iterations\":%u,\"runs\":%u,\"memset_4k_ns\":%.1f,"
	       "\"ratio_to_memset\":%.2f}\n",
	       res->ns_per_op, res->ops_per_run * res->runs, res->runs, res->memset_ns, ratio);
	fprintf(stderr, "  %-16s %10.1f %9.1f %7.1fx  %s\n", res->name, res->ns_per_op, res->memset_ns, ratio,
		res->what);
}

int main(void)
{
	const char *quick = getenv("BENCH_QUICK");
	bool is_quick = quick && *quick && strcmp(quick, "0") != 0;
	cfg.runs = is_quick ? 3 : 9;
	cfg.pages = is_quick ? 16 : MAX_PAGES;
	cfg.accesses = is_quick ? 1000 : 50000;

	static const struct {
		const char *name, *what;
		run_fn fn;
		bool per_access;
	} benches[] = {
		{ "eaug_eaccept", "EAUG (OS) + EACCEPT (enclave) of one page", run_eaug_eaccept, false },
		{ "eaug_eaccept_cold", "the same into never-written EPC frames (host page fault)",
		  run_eaug_eaccept_cold, false },
		{ "emodpr_etrack", "EMODPR RW->R + ETRACK of one page", run_emodpr_etrack, false },
		{ "eaccept_pr", "EACCEPT of one restricted page (after EMODPR + ETRACK)", run_eaccept_pr, false },
		{ "access_tlb_hit", "hw_lp_access read in an enclave, TLB hit", run_access_hit, true },
		{ "access_tlb_miss", "hw_lp_access read in an enclave, TLB miss", run_access_miss, true },
		{ "ewb_eldu", "EWB + ELDU of one blocked, tracked page", run_ewb_eldu, false },
	};
	fprintf(stderr, "sgx2emu hardware model (%s: %u runs, median)\n", is_quick ? "quick" : "full", cfg.runs);
	fprintf(stderr, "  %-16s %10s %9s %8s\n", "benchmark", "ns/op", "memset4K", "ratio");
	for (unsigned i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		struct result res = { .name = benches[i].name, .what = benches[i].what };
		measure(&res, benches[i].fn, benches[i].per_access ? cfg.accesses : cfg.pages);
		report(&res);
	}
	return 0;
}
