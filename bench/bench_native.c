/*
 * Native execution (src/native), each figure beside a yardstick measured in
 * the same run:
 *
 *   native_compute     a compute-and-memory loop inside the enclave (one
 *                      EENTER, its first-touch faults included) per
 *                      iteration, vs the same instructions outside
 *                      (mini_compute_host).  Goal: ratio 1.
 *   native_eaug_fault  per page, the enclave EACCEPTs a hole and writes it:
 *                      EACCEPT traps, its #PF is an AEX, the driver EAUGs,
 *                      ERESUME and EACCEPT trap again, the write maps the
 *                      page; vs a bare SIGSEGV round trip whose handler
 *                      mprotects the page (the least any user-space
 *                      demand-paging scheme costs).
 *   native_entry_exit  EENTER + EEXIT of an enclave that exits at once,
 *                      through __vdso_sgx_enter_enclave; vs a bare SIGILL
 *                      round trip (ud2 whose handler skips it): the
 *                      mechanism's floor is two of those.
 *
 * Each reports the median over runs.  stdout: one JSON object per line;
 * stderr: a table.  BENCH_QUICK=1: few runs and iterations (CI).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "common/mini_encl.h"
#include "sgx2emu/native.h"
#include "bench_util.h"

#define MAX_RUNS 9
#define ENCL_SIZE (16ull << 20)
#define COMPUTE_QWORDS (MINI_DATA_PAGES * 512u)

static struct {
	unsigned runs;
	uint64_t rounds;        /* compute iterations per entry */
	unsigned pages;         /* EAUG pages per run */
	unsigned entries;       /* entry+exit round trips per run */
} cfg;

struct figure {
	const char *name, *what, *unit, *baseline_what;
	double value, baseline;
	unsigned iterations, runs;
};

static void report(const struct figure *f)
{
	printf("{\"name\":");
	json_string(f->name);
	printf(",\"operation\":");
	json_string(f->what);
	printf(",\"unit\":");
	json_string(f->unit);
	printf(",\"status\":\"ok\",\"value\":%.2f,\"iterations\":%u,\"runs\":%u,\"baseline\":", f->value,
	       f->iterations, f->runs);
	json_string(f->baseline_what);
	printf(",\"baseline_value\":%.2f,\"ratio_to_baseline\":%.2f}\n", f->baseline, f->value / f->baseline);
	fprintf(stderr, "  %-18s %10.2f %-9s %10.2f %7.2fx  %s\n", f->name, f->value, f->unit, f->baseline,
		f->value / f->baseline, f->what);
}

/* ---- the yardsticks, before native mode owns the fault signals ---- */

static char *segv_region;

static void install(int sig, void (*fn)(int, siginfo_t *, void *), struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, old);
}

static void segv_mprotect(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	char *page = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)4095);
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static double bare_sigsegv_mprotect_ns(void)
{
	struct sigaction old;
	install(SIGSEGV, segv_mprotect, &old);
	double per_run[MAX_RUNS];
	for (unsigned run = 0; run < cfg.runs; run++) {
		segv_region = mmap(NULL, (size_t)cfg.pages * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (segv_region == MAP_FAILED)
			abort();
		double t0 = now_ns();
		for (unsigned i = 0; i < cfg.pages; i++)
			*(volatile uint64_t *)(segv_region + (size_t)i * 4096) = i;
		per_run[run] = (now_ns() - t0) / cfg.pages;
		munmap(segv_region, (size_t)cfg.pages * 4096);
	}
	sigaction(SIGSEGV, &old, NULL);
	return median(per_run, cfg.runs);
}

static void sigill_skip(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] += 2;   /* ud2 */
}

static double bare_sigill_ns(void)
{
	struct sigaction old;
	install(SIGILL, sigill_skip, &old);
	double per_run[MAX_RUNS];
	for (unsigned run = 0; run < cfg.runs; run++) {
		double t0 = now_ns();
		for (unsigned i = 0; i < cfg.entries; i++)
			__asm__ volatile("ud2" ::: "memory");
		per_run[run] = (now_ns() - t0) / cfg.entries;
	}
	sigaction(SIGILL, &old, NULL);
	return median(per_run, cfg.runs);
}

static double host_compute_ns(void)
{
	static uint64_t buf[COMPUTE_QWORDS];
	double per_run[MAX_RUNS];
	volatile uint64_t sink;
	for (unsigned run = 0; run < cfg.runs; run++) {
		double t0 = now_ns();
		sink = mini_compute_host(cfg.rounds, buf, COMPUTE_QWORDS - 1);
		per_run[run] = (now_ns() - t0) / (double)cfg.rounds;
	}
	(void)sink;
	return median(per_run, cfg.runs);
}

/* ---- native ---- */

struct bench {
	struct efx *f;
	struct efx_encl e;
	struct emu_thread *thread;
	struct emu_native *n;
	vdso_sgx_enter_enclave_t enter;
};

static int enter(struct bench *b, enum mini_op op, uint64_t rsi, uint64_t rdx, void *r8, uint64_t r9)
{
	struct sgx_enclave_run run;
	memset(&run, 0, sizeof(run));
	run.tcs = b->e.base;
	int ret = mini_enter(b->enter, op, rsi, rdx, SGX_EENTER, (unsigned long)(uintptr_t)r8, r9, &run);
	if (ret || run.function != SGX_EEXIT) {
		fprintf(stderr, "bench_native: op %d: ret %d, function %u, exception %u/%#x at %#llx\n", op, ret,
			run.function, run.exception_vector, run.exception_error_code,
			(unsigned long long)run.exception_addr);
		exit(1);
	}
	return ret;
}

static double native_compute_ns(struct bench *b)
{
	double per_run[MAX_RUNS];
	uint64_t out;
	for (unsigned run = 0; run < cfg.runs; run++) {
		double t0 = now_ns();
		enter(b, MINI_COMPUTE, cfg.rounds, b->e.base + MINI_DATA, &out, COMPUTE_QWORDS - 1);
		per_run[run] = (now_ns() - t0) / (double)cfg.rounds;
	}
	return median(per_run, cfg.runs);
}

static double native_eaug_ns(struct bench *b)
{
	double per_run[MAX_RUNS];
	uint64_t hole = b->e.base + MINI_HOLE;
	for (unsigned run = 0; run < cfg.runs; run++) {
		uint64_t out = 1;
		double t0 = now_ns();
		enter(b, MINI_AUGMENT, cfg.pages, hole, &out, 0);
		per_run[run] = (now_ns() - t0) / cfg.pages;
		if (out) {
			fprintf(stderr, "bench_native: EACCEPT returned %llu\n", (unsigned long long)out);
			exit(1);
		}
		hole += (uint64_t)cfg.pages * 4096;
	}
	return median(per_run, cfg.runs);
}

static double native_entry_exit_ns(struct bench *b)
{
	double per_run[MAX_RUNS];
	enter(b, MINI_EXIT, 0, 0, NULL, 0);   /* TCS, SSA and code faulted in */
	for (unsigned run = 0; run < cfg.runs; run++) {
		double t0 = now_ns();
		for (unsigned i = 0; i < cfg.entries; i++)
			enter(b, MINI_EXIT, 0, 0, NULL, 0);
		per_run[run] = (now_ns() - t0) / cfg.entries;
	}
	return median(per_run, cfg.runs);
}

int main(void)
{
	const char *quick = getenv("BENCH_QUICK");
	bool is_quick = quick && *quick && strcmp(quick, "0") != 0;
	cfg.runs = is_quick ? 3 : MAX_RUNS;
	cfg.rounds = is_quick ? 1000000 : 50000000;
	cfg.pages = is_quick ? 64 : 400;
	cfg.entries = is_quick ? 500 : 20000;

	double segv_ns = bare_sigsegv_mprotect_ns();
	double sigill_ns = bare_sigill_ns();
	double host_ns = host_compute_ns();

	struct emu_config ec;
	emu_config_defaults(&ec);
	ec.hw.epc_bytes = 64ull << 20;
	ec.hw.nr_lps = 4;
	ec.invariants_off = true;      /* the invariant checker's observer is not what is measured */
	struct bench b = { .f = efx_new(&ec) };
	mini_encl_build(b.f, &b.e, ENCL_SIZE);
	efx_encl_map(b.f, &b.e, MINI_HOLE, ENCL_SIZE - MINI_HOLE, PROT_READ | PROT_WRITE);
	b.thread = emu_thread_create(b.f->proc);
	emu_thread_bind(b.thread);
	b.n = emu_native_create(b.f->proc, NULL);
	if (!b.n || !(b.enter = emu_native_vdso_enter(b.n))) {
		perror("emu_native_create");
		return 1;
	}

	fprintf(stderr, "  %-18s %10s %-9s %10s %8s  %s\n", "benchmark", "value", "unit", "baseline", "ratio",
		"operation");
	struct figure compute = {
		.name = "native_compute", .unit = "ns/iter",
		.what = "compute+memory loop over 64 KiB inside the enclave (one EENTER, faults included)",
		.baseline_what = "the same loop outside the enclave", .value = native_compute_ns(&b),
		.baseline = host_ns, .iterations = (unsigned)(cfg.rounds / 1000) * cfg.runs, .runs = cfg.runs,
	};
	report(&compute);
	struct figure eaug = {
		.name = "native_eaug_fault", .unit = "ns/page",
		.what = "EACCEPT of a hole (trap, AEX, driver EAUG, ERESUME, EACCEPT) + first write",
		.baseline_what = "bare SIGSEGV round trip + mprotect per page", .value = native_eaug_ns(&b),
		.baseline = segv_ns, .iterations = cfg.pages * cfg.runs, .runs = cfg.runs,
	};
	report(&eaug);
	struct figure entry = {
		.name = "native_entry_exit", .unit = "ns",
		.what = "EENTER + EEXIT round trip through __vdso_sgx_enter_enclave",
		.baseline_what = "bare SIGILL round trip (ud2 skipped by a handler)", .value = native_entry_exit_ns(&b),
		.baseline = sigill_ns, .iterations = cfg.entries * cfg.runs, .runs = cfg.runs,
	};
	report(&entry);

	emu_native_destroy(b.n);
	emu_thread_bind(NULL);
	emu_thread_destroy(b.thread);
	efx_encl_destroy(b.f, &b.e);
	efx_free(b.f);
	return 0;
}
