/*
 * `sgx2emu compare` (issue 4, "The command"): each built-in workload, run by
 * each runtime's flows under each driver policy on a fresh machine, with a
 * table per workload: round trips (enclave exits + ioctls + other system
 * calls), leaf counts (ENCLS as executed; ENCLU as the runtime issued
 * them, the JSON also has them as executed, faulting tries included), ETRACK
 * and IPIs, host faults by kind, EWB/ELDU,
 * modelled time (cost model, docs/cost-model.md) and invariant status
 * (policies.md H1 K1 K2 K3 T1 D1: violations counted, "!" marking those the
 * policy does not give up, docs/invariants.md; any of those makes the exit
 * status 1).  Counters cover the workload only: they
 * are read after the enclave is built and again after the run.
 *
 * A run a policy cannot support fails loudly: status FAIL and the runtime's
 * message (which step, how, under which policy) below the table.  "n/a"
 * means the runtime itself has no such operation (Enarx: dynamic threads).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "tools.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define RX (PROT_READ | PROT_EXEC)

/* ---- workloads ---- */

static size_t add(struct rt_op *ops, size_t n, size_t max, enum rt_op_kind kind, uint64_t off, uint64_t len,
		  int prot, unsigned flags)
{
	if (n < max)
		ops[n] = (struct rt_op){ kind, off, len, prot, flags };
	return n + 1;
}

/* 64 allocations of 16 KiB, each written: the runtime's default growth path
 * (Gramine EACCEPT-first, Enarx mmap + EACCEPTCOPY, EMM COMMIT_NOW, Occlum
 * regions committed on demand). */
static size_t w_heap(enum rt_kind k, struct rt_op *ops, size_t max)
{
	(void)k;
	size_t n = 0;
	for (uint64_t i = 0; i < 64; i++) {
		n = add(ops, n, max, RT_OP_ALLOC, i * 16 * KiB, 16 * KiB, RW, 0);
		n = add(ops, n, max, RT_OP_TOUCH, i * 16 * KiB, 16 * KiB, 0, RT_F_WRITE);
	}
	return n;
}

/* One 1 MiB lazy mapping, every page written once. */
static size_t w_lazy(enum rt_kind k, struct rt_op *ops, size_t max)
{
	if (!rt_kind_supports(k, RT_OP_ALLOC, RT_F_LAZY))
		return 0;
	size_t n = add(ops, 0, max, RT_OP_ALLOC, 0, 1 * MiB, RW, RT_F_LAZY);
	return add(ops, n, max, RT_OP_TOUCH, 0, 1 * MiB, 0, RT_F_WRITE);
}

/* A JIT's W^X discipline: write code, make it RX, run it, make it RW again. */
static size_t w_jit(enum rt_kind k, struct rt_op *ops, size_t max)
{
	(void)k;
	size_t n = add(ops, 0, max, RT_OP_ALLOC, 0, 8 * PG, RW, 0);
	for (int i = 0; i < 16; i++) {
		n = add(ops, n, max, RT_OP_TOUCH, 0, 8 * PG, 0, RT_F_WRITE);
		n = add(ops, n, max, RT_OP_PROTECT, 0, 8 * PG, RX, 0);
		n = add(ops, n, max, RT_OP_TOUCH, 0, 8 * PG, 0, RT_F_EXEC);
		n = add(ops, n, max, RT_OP_PROTECT, 0, 8 * PG, RW, 0);
	}
	return n;
}

/* Write-protect churn (a GC's or a snapshot's): restrict to R and relax back
 * to RW again and again, the case where a relax ioctl, a reset or EMODPR in
 * mprotect differ most from always restricting. */
static size_t w_wp_churn(enum rt_kind k, struct rt_op *ops, size_t max)
{
	(void)k;
	size_t n = add(ops, 0, max, RT_OP_ALLOC, 0, 8 * PG, RW, 0);
	for (int i = 0; i < 16; i++) {
		n = add(ops, n, max, RT_OP_TOUCH, 0, 8 * PG, 0, RT_F_WRITE);
		n = add(ops, n, max, RT_OP_PROTECT, 0, 8 * PG, PROT_READ, 0);
		n = add(ops, n, max, RT_OP_TOUCH, 0, 8 * PG, 0, 0);
		n = add(ops, n, max, RT_OP_PROTECT, 0, 8 * PG, RW, 0);
	}
	return n;
}

/* The same churn with three more threads on the enclave's mm: each ETRACK's
 * IPIs reach their LPs too. */
static size_t w_wp_churn_mt(enum rt_kind k, struct rt_op *ops, size_t max)
{
	if (!rt_kind_supports(k, RT_OP_THREAD, 0))
		return 0;
	size_t n = 0;
	for (uint64_t i = 0; i < 3; i++)
		n = add(ops, n, max, RT_OP_THREAD, 64 * PG + i * 4 * PG, RT_THREAD_PAGES * PG, 0, 0);
	return n + w_wp_churn(k, ops + n, max > n ? max - n : 0);
}

/* Four threads on dynamic TCSs, each entered once; then a restriction, whose
 * IPIs now reach every LP the enclave ran on. */
static size_t w_threads(enum rt_kind k, struct rt_op *ops, size_t max)
{
	if (!rt_kind_supports(k, RT_OP_THREAD, 0))
		return 0;
	size_t n = 0;
	for (uint64_t i = 0; i < 4; i++)
		n = add(ops, n, max, RT_OP_THREAD, i * 4 * PG, RT_THREAD_PAGES * PG, 0, 0);
	n = add(ops, n, max, RT_OP_ALLOC, 64 * PG, 4 * PG, RW, 0);
	n = add(ops, n, max, RT_OP_TOUCH, 64 * PG, 4 * PG, 0, RT_F_WRITE);
	return add(ops, n, max, RT_OP_PROTECT, 64 * PG, 4 * PG, PROT_READ, 0);
}

/* An allocator that returns memory to the kernel and asks again. */
static size_t w_free_realloc(enum rt_kind k, struct rt_op *ops, size_t max)
{
	(void)k;
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		n = add(ops, n, max, RT_OP_ALLOC, 0, 32 * PG, RW, 0);
		n = add(ops, n, max, RT_OP_TOUCH, 0, 32 * PG, 0, RT_F_WRITE);
		n = add(ops, n, max, RT_OP_FREE, 0, 32 * PG, 0, 0);
	}
	return n;
}

/* 2 MiB of heap on a 1 MiB EPC: allocated and written in 32-page chunks,
 * then all read again (the reclaimer writes back and loads). */
static size_t w_oversub(enum rt_kind k, struct rt_op *ops, size_t max)
{
	(void)k;
	size_t n = 0;
	for (uint64_t off = 0; off < 2 * MiB; off += 32 * PG) {
		n = add(ops, n, max, RT_OP_ALLOC, off, 32 * PG, RW, 0);
		n = add(ops, n, max, RT_OP_TOUCH, off, 32 * PG, 0, RT_F_WRITE);
	}
	return add(ops, n, max, RT_OP_TOUCH, 0, 2 * MiB, 0, 0);
}

const struct cmp_workload cmp_workloads[] = {
	{ "heap", "heap growth: 64 allocations of 16 KiB, each written", 2 * MiB, 0, 0, w_heap },
	{ "lazy", "lazy allocation: one 1 MiB mapping committed on first access, every page written", 2 * MiB, 0, 0,
	  w_lazy },
	{ "jit", "W^X JIT churn: 8 pages, 16 x (write, mprotect RW->RX, run, mprotect RX->RW)", 1 * MiB, 0, 0, w_jit },
	{ "wp-churn", "write-protect churn: 8 pages, 16 x (write, mprotect RW->R, read, mprotect R->RW)", 1 * MiB, 0, 0,
	  w_wp_churn },
	{ "wp-churn-mt", "the same churn with 3 more threads (dynamic TCSs) on the enclave's mm", 1 * MiB, 0, 8,
	  w_wp_churn_mt },
	{ "threads", "thread creation: 4 dynamic TCSs entered once each, then 4 pages restricted to R", 1 * MiB, 0, 8,
	  w_threads },
	{ "free-realloc", "free and re-allocate: 8 x (allocate 32 pages, write them, free them)", 1 * MiB, 0, 0,
	  w_free_realloc },
	{ "oversubscribed", "oversubscribed: 2 MiB written in 32-page allocations on a 1 MiB EPC, then read again",
	  4 * MiB, 1 * MiB, 0, w_oversub },
};
const unsigned cmp_nr_workloads = sizeof(cmp_workloads) / sizeof(cmp_workloads[0]);

const struct cmp_workload *cmp_workload_find(const char *name)
{
	for (unsigned i = 0; i < cmp_nr_workloads; i++)
		if (!strcmp(cmp_workloads[i].name, name))
			return &cmp_workloads[i];
	return NULL;
}

void cmp_config(const struct cmp_workload *w, enum emu_policy p, const struct emu_switches *sw, struct emu_config *cfg)
{
	emu_config_defaults(cfg);
	if (sw)
		cfg->switches = *sw;
	cfg->hw.epc_bytes = w->epc_bytes ? w->epc_bytes : CMP_EPC_DEFAULT;
	cfg->hw.nr_lps = w->nr_lps ? w->nr_lps : CMP_LPS_DEFAULT;
	cfg->policy = p;
}

/* ---- one run ---- */

enum cell_status { CELL_OK, CELL_FAIL, CELL_NA };

struct cell {
	const struct cmp_workload *w;
	enum rt_kind kind;
	enum emu_policy policy;
	enum cell_status status;
	bool ran;                    /* the enclave was built and the workload started */
	char err[512];
	struct emu_counters c;
	struct rt_stats rs;
	double ns;
	uint64_t inv[EMU_INV_COUNT], inv_expected[EMU_INV_COUNT], nr_violations;
	struct emu_violation first[4];
};

static void run_cell(struct cell *cell, const struct emu_cost_model *cm, const struct emu_switches *sw,
		     struct rt_op *ops)
{
	size_t n = cell->w->build(cell->kind, ops, CMP_MAX_OPS);
	if (!n) {
		cell->status = CELL_NA;
		snprintf(cell->err, sizeof(cell->err), "%s has no such operation", rt_kind_name(cell->kind));
		return;
	}
	struct emu_config cfg;
	cmp_config(cell->w, cell->policy, sw, &cfg);
	struct emu *emu = emu_create(&cfg);
	if (!emu) {
		cell->status = CELL_FAIL;
		snprintf(cell->err, sizeof(cell->err), "emu_create: %s", strerror(errno));
		return;
	}
	struct rt_options o = { .kind = cell->kind, .heap_bytes = cell->w->heap_bytes };
	struct rt *rt = rt_create(emu, &o, cell->err, sizeof(cell->err));
	if (!rt) {
		cell->status = CELL_FAIL;
	} else {
		struct emu_counters before, after;
		emu_counters_read(emu, &before);
		cell->ran = true;
		int r = rt_run(rt, ops, n);
		emu_counters_read(emu, &after);
		emu_counters_diff(&after, &before, &cell->c);
		rt_stats(rt, &cell->rs);
		cell->status = r ? CELL_FAIL : CELL_OK;
		if (r)
			snprintf(cell->err, sizeof(cell->err), "%s", rt_error(rt));
		cell->ns = emu_cost_model_ns(cm, &cell->c);
		cell->nr_violations = emu_violations(emu, cell->inv, cell->first, 4);
		struct emu_invariant_stats ist;
		emu_invariant_stats(emu, &ist);
		memcpy(cell->inv_expected, ist.expected, sizeof(cell->inv_expected));
		rt_destroy(rt);
	}
	emu_destroy(emu);
}

/* ---- output ---- */

static uint64_t syscalls(const struct emu_counters *c)
{
	return c->mmaps + c->mprotects + c->munmaps;
}

static uint64_t exits(const struct emu_counters *c)
{
	return c->enclave_exits + c->aexs;
}

static uint64_t trips(const struct emu_counters *c)
{
	return exits(c) + c->ioctls + syscalls(c);
}

/* "ok", or per invariant its violations, marked when the policy does not
 * give that invariant up: "K3:256" (all expected), "T1:3!" (3 unexpected). */
static uint64_t unexpected(const struct cell *cell)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < EMU_INV_COUNT; i++)
		n += cell->inv[i] - cell->inv_expected[i];
	return n;
}

static void inv_text(const struct cell *cell, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < EMU_INV_COUNT; i++) {
		if (!cell->inv[i] || o >= len)
			continue;
		uint64_t bad = cell->inv[i] - cell->inv_expected[i];
		o += (size_t)snprintf(buf + o, len - o, "%s%s:%llu", o ? " " : "", emu_invariant_name(i),
				      (unsigned long long)cell->inv[i]);
		if (bad && o < len)
			o += (size_t)snprintf(buf + o, len - o, "(%llu!)", (unsigned long long)bad);
	}
	if (!o)
		snprintf(buf, len, cell->ran ? "ok" : "-");
}

static const char *status_text(const struct cell *cell, unsigned note)
{
	static char buf[16];
	if (cell->status == CELL_OK)
		return "ok";
	if (cell->status == CELL_NA)
		return "n/a";
	snprintf(buf, sizeof(buf), "FAIL[%u]", note);
	return buf;
}

static void print_table(FILE *out, const struct cmp_workload *w, const struct cell *cells, size_t n)
{
	fprintf(out, "== %s: %s\n", w->name, w->what);
	fprintf(out, "%-8s %-15s %-8s %6s %6s %6s %5s %6s | %5s %7s %6s %7s %6s %5s %7s | %6s %9s | %s | %5s %5s | %10s | %s\n",
		"runtime", "policy", "status", "ocalls", "exits", "ioctls", "sysc", "trips", "EAUG", "EACCEPT", "EMODPE",
		"ACCCOPY", "EMODPR", "EMODT", "EREMOVE", "ETRACK", "IPIs(tgt)", "faults eaug/np/pte/epcm", "EWB",
		"ELDU", "time(us)", "invariants");
	unsigned notes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cell *c = &cells[i];
		const struct emu_counters *k = &c->c;
		char ipis[32], faults[48], inv[128];
		snprintf(ipis, sizeof(ipis), "%llu(%llu)", (unsigned long long)k->ipis,
			 (unsigned long long)k->ipi_targets);
		snprintf(faults, sizeof(faults), "%llu/%llu/%llu/%llu", (unsigned long long)k->faults[EMU_FAULT_EAUG],
			 (unsigned long long)k->faults[EMU_FAULT_NOT_PRESENT],
			 (unsigned long long)k->faults[EMU_FAULT_PTE_PERM], (unsigned long long)k->faults[EMU_FAULT_EPCM]);
		inv_text(c, inv, sizeof(inv));
		unsigned note = c->status == CELL_FAIL ? ++notes : 0;
		if (!c->ran) {
			fprintf(out, "%-8s %-15s %-8s %6s %6s %6s %5s %6s | %5s %7s %6s %7s %6s %5s %7s | %6s %9s | %23s | %5s %5s | %10s | %s\n",
				rt_kind_name(c->kind), emu_policy_name(c->policy), status_text(c, note), "-", "-", "-", "-",
				"-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-");
			continue;
		}
		fprintf(out,
			"%-8s %-15s %-8s %6llu %6llu %6llu %5llu %6llu | %5llu %7llu %6llu %7llu %6llu %5llu %7llu | %6llu %9s | %23s | %5llu %5llu | %10.1f | %s\n",
			rt_kind_name(c->kind), emu_policy_name(c->policy), status_text(c, note),
			(unsigned long long)k->runtime_exits, (unsigned long long)exits(k), (unsigned long long)k->ioctls,
			(unsigned long long)syscalls(k), (unsigned long long)trips(k),
			(unsigned long long)k->encls[SGX_EAUG], (unsigned long long)c->rs.enclu[SGX_EACCEPT],
			(unsigned long long)c->rs.enclu[SGX_EMODPE], (unsigned long long)c->rs.enclu[SGX_EACCEPTCOPY],
			(unsigned long long)k->encls[SGX_EMODPR], (unsigned long long)k->encls[SGX_EMODT],
			(unsigned long long)k->encls[SGX_EREMOVE], (unsigned long long)k->etracks, ipis, faults,
			(unsigned long long)k->ewb, (unsigned long long)k->eldu, c->ns / 1000.0, inv);
	}
	notes = 0;
	for (size_t i = 0; i < n; i++)
		if (cells[i].status == CELL_FAIL)
			fprintf(out, "  [%u] %s\n", ++notes, cells[i].err);
	fputc('\n', out);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void json_leaves(FILE *out, const char *key, const uint64_t *v, unsigned n, const char *(*name)(uint32_t))
{
	fprintf(out, "\"%s\":{", key);
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", name(i), (unsigned long long)v[i]);
	fputc('}', out);
}

static void json_cell(FILE *out, const struct cell *c, bool first)
{
	const struct emu_counters *k = &c->c;
	static const char *const st[] = { "ok", "fail", "n/a" };
	fprintf(out, "%s\n{\"workload\":", first ? "" : ",");
	json_str(out, c->w->name);
	fprintf(out, ",\"runtime\":\"%s\",\"policy\":\"%s\",\"status\":\"%s\",\"error\":", rt_kind_name(c->kind),
		emu_policy_name(c->policy), st[c->status]);
	if (c->status == CELL_OK)
		fputs("null", out);
	else
		json_str(out, c->err);
	fprintf(out,
		",\"runtime_exits\":%llu,\"enclave_entries\":%llu,\"enclave_exits\":%llu,\"aexs\":%llu,\"ioctls\":%llu,"
		"\"mmaps\":%llu,\"mprotects\":%llu,\"munmaps\":%llu,\"syscalls\":%llu,\"round_trips\":%llu,",
		(unsigned long long)k->runtime_exits, (unsigned long long)k->enclave_entries,
		(unsigned long long)k->enclave_exits, (unsigned long long)k->aexs, (unsigned long long)k->ioctls,
		(unsigned long long)k->mmaps, (unsigned long long)k->mprotects, (unsigned long long)k->munmaps,
		(unsigned long long)syscalls(k), (unsigned long long)trips(k));
	json_leaves(out, "encls", k->encls, SGX_ENCLS_LEAF_COUNT, hw_encls_name);
	fputc(',', out);
	json_leaves(out, "enclu", k->enclu, SGX_ENCLU_LEAF_COUNT, hw_enclu_name);
	fputc(',', out);
	json_leaves(out, "enclu_issued", c->rs.enclu, SGX_ENCLU_LEAF_COUNT, hw_enclu_name);
	fprintf(out,
		",\"etracks\":%llu,\"ipis\":%llu,\"ipi_targets\":%llu,\"tlb_flushes\":%llu,\"pte_zaps\":%llu,"
		"\"faults\":{\"eaug\":%llu,\"not_present\":%llu,\"pte_perm\":%llu,\"epcm\":%llu},\"ewb\":%llu,\"eldu\":%llu,"
		"\"exceptions_handled\":%llu,\"time_ns\":%.1f,\"invariants\":{",
		(unsigned long long)k->etracks, (unsigned long long)k->ipis, (unsigned long long)k->ipi_targets,
		(unsigned long long)k->tlb_flushes, (unsigned long long)k->pte_zaps,
		(unsigned long long)k->faults[EMU_FAULT_EAUG], (unsigned long long)k->faults[EMU_FAULT_NOT_PRESENT],
		(unsigned long long)k->faults[EMU_FAULT_PTE_PERM], (unsigned long long)k->faults[EMU_FAULT_EPCM],
		(unsigned long long)k->ewb, (unsigned long long)k->eldu, (unsigned long long)c->rs.exceptions, c->ns);
	for (unsigned i = 0; i < EMU_INV_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", emu_invariant_name(i), (unsigned long long)c->inv[i]);
	fputs("},\"invariants_expected\":{", out);
	for (unsigned i = 0; i < EMU_INV_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", emu_invariant_name(i), (unsigned long long)c->inv_expected[i]);
	fputs("},\"violations\":[", out);
	size_t shown = c->nr_violations < 4 ? (size_t)c->nr_violations : 4;
	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "%s{\"invariant\":\"%s\",\"addr\":\"0x%llx\",\"step\":%llu,\"expected\":%s,\"what\":",
			i ? "," : "", emu_invariant_name(c->first[i].inv), (unsigned long long)c->first[i].addr,
			(unsigned long long)c->first[i].step, c->first[i].expected ? "true" : "false");
		json_str(out, c->first[i].what ? c->first[i].what : "");
		fputc('}', out);
	}
	fputs("]}", out);
}

/* ---- the command ---- */

int cmp_run(const struct cmp_options *opt, FILE *out, FILE *err)
{
	struct emu_cost_model cm;
	emu_cost_model_defaults(&cm);
	if (opt->costs) {
		char msg[256];
		if (emu_cost_model_load(&cm, opt->costs, msg, sizeof(msg))) {
			fprintf(err, "sgx2emu compare: %s\n", msg);
			return 2;
		}
	}
	unsigned total = 0;
	for (unsigned w = 0; w < cmp_nr_workloads; w++)
		for (unsigned k = 0; k < RT_KIND_COUNT; k++)
			for (unsigned p = 0; p < EMU_POLICY_COUNT; p++)
				total += (!opt->workloads || (opt->workloads >> w & 1)) &&
					 (!opt->runtimes || (opt->runtimes >> k & 1)) &&
					 (!opt->policies || (opt->policies >> p & 1));
	struct rt_op *ops = calloc(CMP_MAX_OPS, sizeof(*ops));
	struct cell *cells = calloc(RT_KIND_COUNT * EMU_POLICY_COUNT, sizeof(*cells));
	if (!ops || !cells) {
		free(ops);
		free(cells);
		fprintf(err, "sgx2emu compare: out of memory\n");
		return 2;
	}
	const struct emu_switches *sw = &opt->switches;
	if (opt->json) {
		fprintf(out, "{\"version\":1,\"switches\":{\"augment\":%s,\"populate\":%s,\"etrack_per_ioctl\":%s,"
			     "\"fault_around\":%u},\"cost_model\":",
			sw->augment ? "true" : "false", sw->populate_on_mmap ? "true" : "false",
			sw->etrack_per_ioctl ? "true" : "false", sw->fault_around);
		json_str(out, opt->costs ? opt->costs : "defaults");
		fputs(",\"results\":[", out);
	} else if (sw->augment || sw->populate_on_mmap || sw->etrack_per_ioctl || sw->fault_around) {
		fprintf(out, "switches:%s%s%s", sw->augment ? " augment" : "", sw->populate_on_mmap ? " populate" : "",
			sw->etrack_per_ioctl ? " etrack-per-ioctl" : "");
		if (sw->fault_around)
			fprintf(out, " fault-around=%u", sw->fault_around);
		fputs("\n\n", out);
	}
	unsigned done = 0;
	bool first = true;
	uint64_t bad = 0;
	for (unsigned w = 0; w < cmp_nr_workloads; w++) {
		if (opt->workloads && !(opt->workloads >> w & 1))
			continue;
		size_t n = 0;
		for (unsigned k = 0; k < RT_KIND_COUNT; k++) {
			if (opt->runtimes && !(opt->runtimes >> k & 1))
				continue;
			for (unsigned p = 0; p < EMU_POLICY_COUNT; p++) {
				if (opt->policies && !(opt->policies >> p & 1))
					continue;
				struct cell *c = &cells[n++];
				memset(c, 0, sizeof(*c));
				c->w = &cmp_workloads[w];
				c->kind = (enum rt_kind)k;
				c->policy = (enum emu_policy)p;
				if (opt->progress)
					fprintf(err, "\rcompare: [%3u/%3u] %-14s %-8s %-15s", ++done, total, c->w->name,
						rt_kind_name(c->kind), emu_policy_name(c->policy));
				run_cell(c, &cm, &opt->switches, ops);
			}
		}
		for (size_t i = 0; i < n; i++)
			bad += unexpected(&cells[i]);
		for (size_t i = 0; i < n && opt->json; i++, first = false)
			json_cell(out, &cells[i], first);
		if (!opt->json)
			print_table(out, &cmp_workloads[w], cells, n);
		fflush(out);
	}
	if (opt->json)
		fputs("\n]}\n", out);
	if (opt->progress)
		fprintf(err, "\r%*s\r", 72, "");
	free(ops);
	free(cells);
	if (bad) {
		fprintf(err, "sgx2emu compare: %llu invariant violation(s) the policies do not give up (marked !)\n",
			(unsigned long long)bad);
		return 1;
	}
	return 0;
}

static int parse_list(const char *arg, unsigned *mask, int (*lookup)(const char *, unsigned *), const char *what,
		      FILE *err)
{
	char *copy = strdup(arg);
	if (!copy)
		return -1;
	int ret = 0;
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;
		if (lookup(tok, &i)) {
			fprintf(err, "sgx2emu compare: unknown %s '%s'\n", what, tok);
			ret = -1;
			break;
		}
		*mask |= 1u << i;
	}
	free(copy);
	return ret;
}

/* augment | populate | etrack-per-ioctl | fault-around=N */
static int parse_switch(const char *v, struct emu_switches *sw, FILE *err)
{
	char *end;
	if (!strcmp(v, "augment"))
		sw->augment = true;
	else if (!strcmp(v, "populate"))
		sw->populate_on_mmap = true;
	else if (!strcmp(v, "etrack-per-ioctl"))
		sw->etrack_per_ioctl = true;
	else if (!strncmp(v, "fault-around=", 13) && v[13] >= '0' && v[13] <= '9' &&
		 (sw->fault_around = (unsigned)strtoul(v + 13, &end, 10), !*end) && sw->fault_around <= 512)
		;
	else {
		fprintf(err, "sgx2emu compare: unknown switch '%s'\n", v);
		return -1;
	}
	return 0;
}

static int find_workload(const char *name, unsigned *i)
{
	const struct cmp_workload *w = cmp_workload_find(name);
	if (!w)
		return -1;
	*i = (unsigned)(w - cmp_workloads);
	return 0;
}

static int find_runtime(const char *name, unsigned *i)
{
	enum rt_kind k;
	if (rt_kind_from_name(name, &k))
		return -1;
	*i = (unsigned)k;
	return 0;
}

static int find_policy(const char *name, unsigned *i)
{
	enum emu_policy p;
	if (emu_policy_from_name(name, &p))
		return -1;
	*i = (unsigned)p;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: sgx2emu compare [--workload W[,W..]] [--runtime R[,R..]] [--policy P[,P..]]\n"
		     "                        [--switch S]... [--json] [--progress] [--costs FILE]\n"
		     "workloads:");
	for (unsigned i = 0; i < cmp_nr_workloads; i++)
		fprintf(out, " %s", cmp_workloads[i].name);
	fprintf(out, "\nruntimes:");
	for (unsigned k = 0; k < RT_KIND_COUNT; k++)
		fprintf(out, " %s", rt_kind_name(k));
	fprintf(out, "\npolicies:");
	for (unsigned p = 0; p < EMU_POLICY_COUNT; p++)
		fprintf(out, " %s", emu_policy_name(p));
	fprintf(out, "\nswitches (kernel alternatives, for every run): augment populate etrack-per-ioctl\n"
		     "    fault-around=N\n"
		     "Default: everything.  Options may repeat; lists are comma-separated.\n"
		     "A progress line goes to stderr when it is a terminal, or with --progress.\n");
}

int compare_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct cmp_options opt = { .progress = isatty(2) };
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;
		if (!strcmp(a, "--json")) {
			opt.json = true;
			continue;
		} else if (!strcmp(a, "--progress")) {
			opt.progress = true;
			continue;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(out);
			return 0;
		} else if (v && !strcmp(a, "--workload")) {
			r = parse_list(v, &opt.workloads, find_workload, "workload", err);
		} else if (v && !strcmp(a, "--runtime")) {
			r = parse_list(v, &opt.runtimes, find_runtime, "runtime", err);
		} else if (v && !strcmp(a, "--policy")) {
			r = parse_list(v, &opt.policies, find_policy, "policy", err);
		} else if (v && !strcmp(a, "--costs")) {
			opt.costs = v;
		} else if (v && !strcmp(a, "--switch")) {
			r = parse_switch(v, &opt.switches, err);
		} else {
			fprintf(err, "sgx2emu compare: bad option '%s'%s\n", a, v ? "" : " (or its value missing)");
			r = -1;
		}
		if (r) {
			usage(err);
			return 2;
		}
		i++;
	}
	return cmp_run(&opt, out, err);
}

int cmd_compare(int argc, char **argv)
{
	return compare_main(argc, argv, stdout, stderr);
}
