/*
 * The driver's dynamic-memory paths at scale (issue 3), through the public
 * API only: enclaves built with emu_open/emu_ioctl/emu_mmap and a model-mode
 * entry function that runs the enclave's EACCEPT loops.
 *
 *   driver_eaug_fault       EACCEPT of every page of a 1 GiB RW hole, in
 *                           order: each first touch is a #PF the driver
 *                           fixes invisibly (EAUG + PTE), EACCEPT retries
 *   driver_trim_remove      that 1 GiB back: MODIFY_TYPES(TRIM), the
 *                           enclave's EACCEPT(TRIM|MODIFIED), REMOVE_PAGES,
 *                           alternating per 2 MiB chunk as a runtime does
 *   driver_metadata         the driver's bytes per committed page after the
 *                           first benchmark (emu_encl_stats), beside Linux's
 *   driver_eaug_fault_warm  the first benchmark again after the second, into
 *                           EPC frames the host has already committed: the
 *                           emulator's own cost without the host's first
 *                           touch of each frame (dear in a VM)
 *   driver_elrange_1tib     a 1 TiB ELRANGE (Gramine's EDMM default) and a
 *   driver_elrange_64gib    64 GiB one, each with 1 GiB committed: driver
 *                           metadata and process RSS growth, which should
 *                           follow the committed pages, not the range
 *   host_first_touch        the yardstick, in the same run: first-touch page
 *                           faults of 1 GiB of anonymous host memory
 *
 * Each benchmark runs once (a 1 GiB pass averages out per-page noise, and
 * the whole run must stay under about two minutes); the baseline is
 * measured first.  Times per page are given as wall time (ns_per_op,
 * pages_per_s) and as this thread's CPU time (cpu_ns_per_op), steadier on
 * a loaded machine, each with its ratio to the baseline's.  The two ELRANGE
 * benchmarks each start from a fresh machine, so both pay the same host
 * first touch of their EPC frames.  A step that fails makes its benchmark
 * "unavailable" with the reason, never a number.
 *
 * stdout: one JSON object per benchmark and line (make bench joins them);
 * stderr: a table.  BENCH_QUICK=1 commits 16 MiB instead of 1 GiB (CI).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sgx2emu/emu.h"
#include "sgx2emu/enclave.h"
#include "sgx2emu/sign.h"

#define PAGE SGX_PAGE_SIZE
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define TIB (1ull << 40)

/* Enclave layout: four added pages, then nothing up to a hole that runs to
 * the end of ELRANGE and is mapped RW (pages EAUGed there on first touch). */
#define TCS_OFF  0x0000ull
#define SSA_OFF  0x1000ull
#define DATA_OFF 0x2000ull      /* the SECINFO the enclave's EACCEPTs use */
#define CODE_OFF 0x3000ull      /* OENTRY: the model-mode entry function */
#define HOLE_OFF (2 * MIB)      /* 2 MiB-aligned, so trim chunks are too */

#define TRIM_CHUNK (2 * MIB)    /* bytes per MODIFY_TYPES / REMOVE_PAGES ioctl */
/* Linux's kernel RAM per enclave page (linux-driver.md §2, "Approximate
 * memory cost"): sgx_encl_page in kmalloc-64, its xarray share, the VA struct
 * share.  PTEs not included. */
#define LINUX_BYTES_PER_PAGE 75

static struct {
	bool quick;
	uint64_t commit;         /* bytes committed by each EAUG pass */
} cfg;

static EVP_PKEY *sign_key;

/* CPU time of this thread, user + system (everything here runs on it).  On
 * a loaded machine it is steadier than wall time; a VM's host-side cost of
 * first touching guest memory is in neither. */
static double cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

struct span {
	double wall, cpu;
};

static struct span span_now(void)
{
	return (struct span){ now_ns(), cpu_ns() };
}

static void span_add(struct span *acc, struct span from, struct span to)
{
	acc->wall += to.wall - from.wall;
	acc->cpu += to.cpu - from.cpu;
}

/* Resident set size from /proc/self/statm (anonymous, file and shmem pages:
 * the EPC memfd's committed frames count, as the memory they are). */
static uint64_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return 0;
	int n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* ---- output ---- */

struct field {
	const char *key;
	double value;
	const char *fmt;         /* "%.0f" by default */
	const char *str;         /* a string field instead */
};

struct result {
	const char *name, *what;
	char unavailable[200];
	struct field f[24];
	unsigned nr;
};

static void set(struct result *res, const char *key, double value, const char *fmt)
{
	if (res->nr < sizeof(res->f) / sizeof(res->f[0]))
		res->f[res->nr++] = (struct field){ key, value, fmt ? fmt : "%.0f", NULL };
}

static void set_str(struct result *res, const char *key, const char *str)
{
	if (res->nr < sizeof(res->f) / sizeof(res->f[0]))
		res->f[res->nr++] = (struct field){ key, 0, NULL, str };
}

__attribute__((format(printf, 2, 3)))
static bool failed(struct result *res, const char *fmt, ...)
{
	if (!res->unavailable[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(res->unavailable, sizeof(res->unavailable), fmt, ap);
		va_end(ap);
	}
	return false;
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
		printf(",\"iterations\":0}\n");
		fprintf(stderr, "  %-22s unavailable: %s\n", res->name, res->unavailable);
		return;
	}
	printf(",\"status\":\"ok\"");
	fprintf(stderr, "  %-22s %s\n", res->name, res->what);
	for (unsigned i = 0; i < res->nr; i++) {
		char num[64];
		if (res->f[i].str)
			snprintf(num, sizeof(num), "\"%s\"", res->f[i].str);
		else
			snprintf(num, sizeof(num), res->f[i].fmt, res->f[i].value);
		printf(",\"%s\":%s", res->f[i].key, num);
		fprintf(stderr, "  %24s %-28s %s\n", "", res->f[i].key, num);
	}
	printf("}\n");
	fflush(stdout);
}

/* ---- the host baseline ---- */

struct baseline {
	struct span per_page;
	uint64_t rss_growth;
};

/* Time per page (wall and CPU), pages per second (wall), and the ratios to
 * the host baseline when there is one. */
static void set_rate(struct result *res, struct span t, uint64_t pages, const struct baseline *b)
{
	set(res, "ns_per_op", t.wall / pages, "%.1f");
	set(res, "cpu_ns_per_op", t.cpu / pages, "%.1f");
	set(res, "pages_per_s", pages / (t.wall / 1e9), NULL);
	set(res, "iterations", pages, NULL);
	if (!b)
		return;
	set(res, "baseline_host_fault_ns", b->per_page.wall, "%.1f");
	set(res, "baseline_host_fault_cpu_ns", b->per_page.cpu, "%.1f");
	set(res, "ratio_to_host_fault", t.wall / pages / b->per_page.wall, "%.2f");
	set(res, "cpu_ratio_to_host_fault", t.cpu / pages / b->per_page.cpu, "%.2f");
}

/* First-touch faults of anonymous memory, one per 4 KiB page: huge pages
 * are refused so that every page faults, as every enclave page does. */
static void host_first_touch(struct result *res, struct baseline *b)
{
	uint64_t pages = cfg.commit / PAGE;
	uint8_t *p = mmap(NULL, cfg.commit, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		failed(res, "mmap: %s", strerror(errno));
		return;
	}
	madvise(p, cfg.commit, MADV_NOHUGEPAGE);
	uint64_t rss0 = rss_bytes();
	struct span t = { 0 }, t0 = span_now();
	for (uint64_t i = 0; i < pages; i++)
		((volatile uint8_t *)p)[i * PAGE] = 1;
	span_add(&t, t0, span_now());
	b->rss_growth = rss_bytes() - rss0;
	munmap(p, cfg.commit);
	b->per_page = (struct span){ t.wall / pages, t.cpu / pages };
	set_rate(res, t, pages, NULL);
	set(res, "bytes", cfg.commit, NULL);
	set(res, "rss_growth_bytes", b->rss_growth, NULL);
}

/* ---- an enclave through the system-call API ---- */

enum { OP_NONE, OP_ACCEPT_AUG, OP_ACCEPT_TRIM };

/*
 * The enclave's side: rdi = operation, rsi = first page, rdx = page count.
 * EACCEPTs the pages in order with one SECINFO in the data page; returns
 * (EEXIT) rdi = pages accepted, rsi = RAX of the EACCEPT that stopped it.
 */
static void bench_entry(struct encl_ctx *ctx)
{
	struct hw_regs *r = encl_regs(ctx);
	uint64_t op = r->rdi, start = r->rsi, n = r->rdx;
	uint64_t secinfo_la = encl_base(ctx) + DATA_OFF;
	uint64_t secinfo[8] = { 0 };
	uint64_t done = 0, rax = 0;

	if (op == OP_ACCEPT_AUG)
		secinfo[0] = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PENDING;
	else if (op == OP_ACCEPT_TRIM)
		secinfo[0] = SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED;
	encl_write(ctx, secinfo_la, secinfo, sizeof(secinfo));
	if (op != OP_NONE)
		for (; done < n; done++) {
			rax = encl_enclu(ctx, SGX_EACCEPT, secinfo_la, start + done * PAGE, 0);
			if (rax)
				break;
		}
	r->rdi = done;
	r->rsi = rax;
}

struct world {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *t;
	int fd;
	uint64_t base, size;
	bool mapped;
};

static void world_free(struct world *w)
{
	if (w->mapped)
		emu_munmap(w->proc, (void *)(uintptr_t)w->base, w->size);
	if (w->fd >= 0)
		emu_close(w->proc, w->fd);
	if (w->t) {
		emu_thread_bind(NULL);
		emu_thread_destroy(w->t);
	}
	if (w->proc)
		emu_proc_exit(w->proc);
	if (w->emu)
		emu_destroy(w->emu);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	malloc_trim(0);   /* so the next world's allocations show up in RSS */
}

/* A machine with EPC for the committed pages, their VA pages and slack
 * above the reclaimer's watermarks (nothing is evicted), one process, one
 * bound thread. */
static bool world_new(struct result *res, struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = cfg.commit + 8 * MIB;
	if (!(w->emu = emu_create(&c)))
		return failed(res, "emu_create: %s", strerror(errno));
	if (!(w->proc = emu_proc_create(w->emu)))
		return failed(res, "emu_proc_create: %s", strerror(errno));
	if (!(w->t = emu_thread_create(w->proc)))
		return failed(res, "emu_thread_create: %s", strerror(errno));
	emu_thread_bind(w->t);
	return true;
}

static bool add_page(struct result *res, struct world *w, struct sgx_measurement *mr, uint64_t offset,
		     uint64_t flags, const void *src)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = flags;
	struct sgx_enclave_add_pages ap = {
		.src = (uint64_t)(uintptr_t)src, .offset = offset, .length = PAGE,
		.secinfo = (uint64_t)(uintptr_t)&secinfo, .flags = SGX_PAGE_MEASURE,
	};
	if (emu_ioctl(w->proc, w->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &ap))
		return failed(res, "ADD_PAGES at %#llx: %s", (unsigned long long)offset, strerror(errno));
	sgx_measure_page(mr, offset, flags, src, 1);
	return true;
}

static bool map_device(struct result *res, struct world *w, uint64_t offset, uint64_t len, int prot)
{
	void *want = (void *)(uintptr_t)(w->base + offset);
	if (emu_mmap(w->proc, want, len, prot, MAP_SHARED | MAP_FIXED, w->fd, 0) != want)
		return failed(res, "mmap of the device at +%#llx: %s", (unsigned long long)offset, strerror(errno));
	return true;
}

/*
 * An initialized enclave of `size` bytes (a power of two) at a base aligned
 * to its size, as a loader builds it: reserve twice the size PROT_NONE
 * (MAP_NORESERVE: a 2 TiB reservation costs nothing), trim it to the aligned
 * range, CREATE, ADD_PAGES, INIT with a SIGSTRUCT measured and signed in
 * software, then MAP_SHARED|MAP_FIXED mappings of the device: the added
 * pages, and the hole from HOLE_OFF to the end of ELRANGE RW.
 */
static bool build_enclave(struct result *res, struct world *w, uint64_t size)
{
	static uint8_t pages[4][PAGE] __attribute__((aligned(4096)));
	struct sgx_sigstruct *ss = NULL;
	struct sgx_secs *secs = NULL;
	struct sgx_measurement mr = { 0 };
	bool ok = false;

	w->size = size;
	w->fd = emu_open(w->proc, "/dev/sgx_enclave", O_RDWR);
	if (w->fd < 0)
		return failed(res, "open /dev/sgx_enclave: %s", strerror(errno));
	uint8_t *area = emu_mmap(w->proc, NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
	if (area == MAP_FAILED)
		return failed(res, "reserving 2 x %llu GiB: %s", (unsigned long long)(size / GIB), strerror(errno));
	uint8_t *base = (uint8_t *)(((uintptr_t)area + size - 1) & ~(uintptr_t)(size - 1));
	if (base > area)
		emu_munmap(w->proc, area, (size_t)(base - area));
	if (area + 2 * size > base + size)
		emu_munmap(w->proc, base + size, (size_t)(area + 2 * size - (base + size)));
	w->base = (uint64_t)(uintptr_t)base;
	w->mapped = true;

	secs = aligned_alloc(PAGE, sizeof(*secs));
	ss = aligned_alloc(PAGE, (sizeof(*ss) + PAGE - 1) & ~(PAGE - 1));
	if (!secs || !ss) {
		failed(res, "out of memory");
		goto out;
	}
	memset(secs, 0, sizeof(*secs));
	secs->base = w->base;
	secs->size = size;
	secs->ssa_frame_size = 1;
	secs->miscselect = SGX_MISC_EXINFO;
	secs->attributes.flags = SGX_ATTR_MODE64BIT;
	secs->attributes.xfrm = 3;
	struct sgx_enclave_create cr = { .src = (uint64_t)(uintptr_t)secs };
	if (emu_ioctl(w->proc, w->fd, SGX_IOC_ENCLAVE_CREATE, &cr)) {
		failed(res, "CREATE of %llu GiB at %#llx: %s", (unsigned long long)(size / GIB),
		       (unsigned long long)w->base, strerror(errno));
		goto out;
	}
	if (sgx_measure_init(&mr, 1, size)) {
		failed(res, "sgx_measure_init");
		goto out;
	}

	struct sgx_tcs *tcs = (struct sgx_tcs *)pages[0];
	memset(pages, 0, sizeof(pages));
	tcs->ossa = SSA_OFF;
	tcs->nssa = 1;
	tcs->oentry = CODE_OFF;
	tcs->fslimit = tcs->gslimit = 0xffffffff;
	const uint64_t rw = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W;
	if (!add_page(res, w, &mr, TCS_OFF, SGX_SECINFO_PT(SGX_PT_TCS), pages[0]) ||
	    !add_page(res, w, &mr, SSA_OFF, rw, pages[1]) || !add_page(res, w, &mr, DATA_OFF, rw, pages[2]) ||
	    !add_page(res, w, &mr, CODE_OFF, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_X, pages[3]))
		goto out;

	memset(ss, 0, sizeof(*ss));
	sgx_sigstruct_init_header(ss);
	sgx_measure_final(&mr, ss->body.mrenclave);
	mr.ctx = NULL;
	ss->header.date = 0x20260101;
	ss->body.miscselect = SGX_MISC_EXINFO;
	ss->body.misc_mask = 0xffffffff;
	ss->body.attributes.flags = SGX_ATTR_MODE64BIT;
	ss->body.attributes.xfrm = 3;
	ss->body.attributes_mask.flags = ~0ull;
	ss->body.attributes_mask.xfrm = ~0ull;
	if (sgx_sign_sigstruct(sign_key, ss)) {
		failed(res, "signing the SIGSTRUCT");
		goto out;
	}
	struct sgx_enclave_init in = { .sigstruct = (uint64_t)(uintptr_t)ss };
	if (emu_ioctl(w->proc, w->fd, SGX_IOC_ENCLAVE_INIT, &in)) {
		failed(res, "INIT: %s", strerror(errno));
		goto out;
	}
	if (!map_device(res, w, TCS_OFF, CODE_OFF - TCS_OFF, PROT_READ | PROT_WRITE) ||
	    !map_device(res, w, CODE_OFF, PAGE, PROT_READ | PROT_EXEC) ||
	    !map_device(res, w, HOLE_OFF, size - HOLE_OFF, PROT_READ | PROT_WRITE))
		goto out;
	if (emu_register_entry(w->proc, w->base + CODE_OFF, bench_entry)) {
		failed(res, "emu_register_entry: %s", strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (mr.ctx)
		EVP_MD_CTX_free(mr.ctx);
	free(secs);
	free(ss);
	return ok;
}

/* One call into the enclave: EENTER, the entry function, EEXIT.  Anything
 * but an EEXIT (an exception the driver did not fix) is a failure. */
static bool encl_call(struct result *res, struct world *w, uint64_t op, uint64_t start, uint64_t n,
		      uint64_t *done)
{
	struct sgx_enclave_run run = { .tcs = w->base + TCS_OFF };
	int ret = emu_enter_enclave(w->t, op, start, n, SGX_EENTER, 0, 0, &run);
	if (ret)
		return failed(res, "emu_enter_enclave: %d", ret);
	if (run.function != SGX_EEXIT)
		return failed(res, "enclave exception: vector %u, error code %#x at %#llx", run.exception_vector,
			      run.exception_error_code, (unsigned long long)run.exception_addr);
	struct hw_regs *r = hw_lp_regs(emu_thread_lp(w->t));
	*done = r->rdi;
	if (*done != n)
		return failed(res, "EACCEPT of page %llu of %llu at %#llx: RAX %llu (%s)", (unsigned long long)*done,
			      (unsigned long long)n, (unsigned long long)(start + *done * PAGE),
			      (unsigned long long)r->rsi, hw_rc_name(r->rsi));
	return true;
}

static uint64_t aex_count(struct world *w)
{
	return hw_lp_stats(emu_thread_lp(w->t))->aex;
}

/* Commit cfg.commit bytes at the start of the hole by the EAUG-on-fault
 * path; *ns, *faults = AEXs taken (each a #PF the driver fixed). */
static bool commit_by_fault(struct result *res, struct world *w, struct span *t, uint64_t *faults)
{
	uint64_t pages = cfg.commit / PAGE, done;
	/* The first entry faults in the TCS, SSA and data pages: not timed. */
	if (!encl_call(res, w, OP_NONE, 0, 0, &done))
		return false;
	uint64_t aex0 = aex_count(w);
	struct span t0 = span_now();
	if (!encl_call(res, w, OP_ACCEPT_AUG, w->base + HOLE_OFF, pages, &done))
		return false;
	*t = (struct span){ 0 };
	span_add(t, t0, span_now());
	*faults = aex_count(w) - aex0;
	return true;
}

/* ---- the benchmarks ---- */

static void eaug_fault(struct result *res, struct world *w, const struct baseline *b)
{
	uint64_t pages = cfg.commit / PAGE, faults;
	struct span t;
	if (!world_new(res, w) || !build_enclave(res, w, 2 * GIB) || !commit_by_fault(res, w, &t, &faults))
		return;
	set_rate(res, t, pages, b);
	set(res, "bytes", cfg.commit, NULL);
	set(res, "faults_handled", faults, NULL);
}

/* Pure sizes per page, and with glibc's rounding of the page struct (its
 * chunk: size + 8 rounded up to 16), which is how Linux's 75 B counts
 * (kmalloc-64). */
static void metadata(struct result *res, struct world *w)
{
	struct emu_encl_stats st;
	if (!w->emu || res->unavailable[0])
		return;
	if (emu_encl_stats(w->proc, w->fd, &st)) {
		failed(res, "emu_encl_stats: %s", strerror(errno));
		return;
	}
	double pages = (double)st.resident;
	uint64_t page_struct = st.pages ? st.page_bytes / st.pages : 0;
	uint64_t chunk = (page_struct + 8 + 15) & ~15ull;
	double no_pt = (double)(st.metadata_bytes - st.pt_bytes);
	set(res, "value", st.metadata_bytes / pages, "%.1f");
	set_str(res, "unit", "B/page");
	set(res, "iterations", st.resident, NULL);
	set(res, "bytes_per_page_without_pte", no_pt / pages, "%.1f");
	set(res, "bytes_per_page_glibc_rounded", (no_pt + (double)st.pages * (chunk - page_struct)) / pages, "%.1f");
	set(res, "linux_bytes_per_page", LINUX_BYTES_PER_PAGE, NULL);
	set(res, "epcm_entry_bytes", sizeof(struct hw_epcm_entry), NULL);
	set(res, "page_struct_bytes", page_struct, NULL);
	set(res, "page_bytes", st.page_bytes, NULL);
	set(res, "xarray_bytes", st.xarray_bytes, NULL);
	set(res, "va_pages", st.va_pages, NULL);
	set(res, "va_bytes", st.va_bytes, NULL);
	set(res, "pt_bytes", st.pt_bytes, NULL);
	set(res, "encl_bytes", st.encl_bytes, NULL);
	set(res, "metadata_bytes", st.metadata_bytes, NULL);
}

/* Chunk by chunk: MODIFY_TYPES(TRIM) → the enclave EACCEPTs the chunk →
 * REMOVE_PAGES, each phase timed on its own. */
static void trim_remove(struct result *res, struct world *w, const struct baseline *b)
{
	uint64_t pages = cfg.commit / PAGE, done;
	struct span t_modify = { 0 }, t_accept = { 0 }, t_remove = { 0 };
	if (!w->emu || res->unavailable[0])
		return;
	uint64_t aex0 = aex_count(w);
	for (uint64_t off = HOLE_OFF; off < HOLE_OFF + cfg.commit; off += TRIM_CHUNK) {
		struct sgx_enclave_modify_types mt = { .offset = off, .length = TRIM_CHUNK, .page_type = SGX_PT_TRIM };
		struct sgx_enclave_remove_pages rp = { .offset = off, .length = TRIM_CHUNK };
		struct span t0 = span_now();
		if (emu_ioctl(w->proc, w->fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt) || mt.count != TRIM_CHUNK) {
			failed(res, "MODIFY_TYPES at +%#llx: %s, count %#llx, result %llu", (unsigned long long)off,
			       strerror(errno), (unsigned long long)mt.count, (unsigned long long)mt.result);
			return;
		}
		struct span t1 = span_now();
		if (!encl_call(res, w, OP_ACCEPT_TRIM, w->base + off, TRIM_CHUNK / PAGE, &done))
			return;
		struct span t2 = span_now();
		if (emu_ioctl(w->proc, w->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rp) || rp.count != TRIM_CHUNK) {
			failed(res, "REMOVE_PAGES at +%#llx: %s, count %#llx", (unsigned long long)off, strerror(errno),
			       (unsigned long long)rp.count);
			return;
		}
		struct span t3 = span_now();
		span_add(&t_modify, t0, t1);
		span_add(&t_accept, t1, t2);
		span_add(&t_remove, t2, t3);
	}
	struct span t = { t_modify.wall + t_accept.wall + t_remove.wall, t_modify.cpu + t_accept.cpu + t_remove.cpu };
	struct emu_encl_stats st;
	if (emu_encl_stats(w->proc, w->fd, &st) == 0 && st.pages != 4) {
		failed(res, "%llu pages left after removing the hole", (unsigned long long)st.pages);
		return;
	}
	set_rate(res, t, pages, b);
	set(res, "bytes", cfg.commit, NULL);
	set(res, "chunk_bytes", TRIM_CHUNK, NULL);
	set(res, "modify_types_ns_per_page", t_modify.wall / pages, "%.1f");
	set(res, "eaccept_trim_ns_per_page", t_accept.wall / pages, "%.1f");
	set(res, "remove_pages_ns_per_page", t_remove.wall / pages, "%.1f");
	set(res, "faults_handled", aex_count(w) - aex0, NULL);
}

/* The fault path again over the range just removed: the driver's and the
 * model's own cost, without the host's first touch of each EPC frame (the
 * frames come back from the free list already committed by the host). */
static void eaug_fault_warm(struct result *res, struct world *w, const struct baseline *b)
{
	uint64_t pages = cfg.commit / PAGE, faults;
	struct span t;
	if (!w->emu || res->unavailable[0] || !commit_by_fault(res, w, &t, &faults))
		return;
	set_rate(res, t, pages, b);
	set(res, "bytes", cfg.commit, NULL);
	set(res, "faults_handled", faults, NULL);
}

struct elrange {
	uint64_t metadata, rss_growth;
};

/* A fresh machine (so RSS starts from the same state), an enclave of `size`,
 * cfg.commit bytes committed by the fault path. */
static void elrange(struct result *res, uint64_t size, struct elrange *out)
{
	struct world w;
	uint64_t pages = cfg.commit / PAGE, faults;
	struct emu_encl_stats st;
	struct span t;
	if (!world_new(res, &w))
		goto out;
	uint64_t rss_empty = rss_bytes();
	if (!build_enclave(res, &w, size))
		goto out;
	uint64_t rss0 = rss_bytes();
	if (!commit_by_fault(res, &w, &t, &faults))
		goto out;
	uint64_t rss1 = rss_bytes();
	if (emu_encl_stats(w.proc, w.fd, &st)) {
		failed(res, "emu_encl_stats: %s", strerror(errno));
		goto out;
	}
	out->metadata = st.metadata_bytes;
	out->rss_growth = rss1 - rss0;
	set(res, "value", st.metadata_bytes, NULL);
	set_str(res, "unit", "B");
	set(res, "iterations", pages, NULL);
	set(res, "elrange_bytes", size, NULL);
	set(res, "committed_bytes", cfg.commit, NULL);
	set(res, "metadata_bytes", st.metadata_bytes, NULL);
	set(res, "metadata_bytes_per_page", (double)st.metadata_bytes / pages, "%.1f");
	set(res, "pt_bytes", st.pt_bytes, NULL);
	set(res, "xarray_bytes", st.xarray_bytes, NULL);
	set(res, "rss_growth_bytes", out->rss_growth, NULL);
	set(res, "rss_growth_per_committed_byte", (double)out->rss_growth / cfg.commit, "%.4f");
	/* beyond the EPC frame itself: driver metadata, allocator overhead,
	 * and the model's EPCM entries (calloc'ed, touched as frames are used) */
	set(res, "rss_growth_per_page_beyond_frame", ((double)out->rss_growth - (double)cfg.commit) / pages, "%.1f");
	/* the reservation and mappings of the whole ELRANGE: nothing committed */
	set(res, "rss_of_building_bytes", (double)rss0 - (double)rss_empty, NULL);
	set(res, "faults_handled", faults, NULL);
	set(res, "ns_per_op", t.wall / pages, "%.1f");
	set(res, "cpu_ns_per_op", t.cpu / pages, "%.1f");
out:
	world_free(&w);
}

int main(void)
{
	const char *quick = getenv("BENCH_QUICK");
	cfg.quick = quick && *quick && strcmp(quick, "0") != 0;
	cfg.commit = cfg.quick ? 16 * MIB : GIB;

	fprintf(stderr, "sgx2emu driver (%s: %llu MiB committed per pass)\n", cfg.quick ? "quick" : "full",
		(unsigned long long)(cfg.commit / MIB));
	sign_key = sgx_sign_keygen();
	if (!sign_key) {
		fprintf(stderr, "bench_driver: no signing key\n");
		return 1;
	}

	struct baseline b = { 0 };
	struct result base = { "host_first_touch", "first-touch page fault of anonymous host memory, per 4 KiB page" };
	host_first_touch(&base, &b);
	report(&base);

	struct world w = { .fd = -1 };
	struct result aug = { "driver_eaug_fault", "enclave EACCEPT of a hole page: #PF, EAUG + PTE by the driver, "
						   "ERESUME, EACCEPT again (per page)" };
	struct result meta = { "driver_metadata", "driver bytes per committed page after driver_eaug_fault" };
	struct result trim = { "driver_trim_remove", "MODIFY_TYPES(TRIM) + EACCEPT(TRIM|MODIFIED) + REMOVE_PAGES "
						     "per page, 2 MiB per ioctl" };
	eaug_fault(&aug, &w, &b);
	report(&aug);
	if (aug.unavailable[0])
		failed(&meta, "driver_eaug_fault did not run");
	metadata(&meta, &w);
	report(&meta);
	if (aug.unavailable[0])
		failed(&trim, "driver_eaug_fault did not run");
	trim_remove(&trim, &w, &b);
	report(&trim);
	struct result warm = { "driver_eaug_fault_warm", "driver_eaug_fault again after driver_trim_remove, into EPC "
							 "frames the host has committed (per page)" };
	if (trim.unavailable[0])
		failed(&warm, "driver_trim_remove did not run");
	eaug_fault_warm(&warm, &w, &b);
	report(&warm);
	world_free(&w);

	struct elrange big = { 0 }, small = { 0 };
	struct result r_big = { "driver_elrange_1tib", "1 TiB ELRANGE with the committed bytes EAUGed: driver "
						      "metadata and process RSS growth" };
	struct result r_small = { "driver_elrange_64gib", "64 GiB ELRANGE, same commit: should match the 1 TiB one" };
	elrange(&r_big, TIB, &big);
	elrange(&r_small, 64 * GIB, &small);
	if (!r_big.unavailable[0] && !r_small.unavailable[0]) {
		set(&r_small, "metadata_ratio_1tib_to_64gib", (double)big.metadata / small.metadata, "%.4f");
		set(&r_small, "rss_ratio_1tib_to_64gib", (double)big.rss_growth / small.rss_growth, "%.4f");
	}
	report(&r_big);
	report(&r_small);
	EVP_PKEY_free(sign_key);
	return 0;
}
