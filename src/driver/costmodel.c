/*
 * The cost model (include/sgx2emu/counters.h, docs/cost-model.md): time per
 * counted event, each default citing its source or saying "estimate".
 * Published figures (../shared/spec/runtimes-and-peers.md §7) are in cycles
 * or microseconds; cycles are converted at 2.5 GHz (0.4 ns per cycle), a
 * server clock chosen here: itself an estimate.
 *
 * What is charged where, so nothing is counted twice:
 *   - an enclave entry (EENTER/ERESUME) pays one entry + exit round trip;
 *     the EENTER/ERESUME/EEXIT leaves themselves cost 0;
 *   - an AEX pays only what it adds (the exception / interrupt entry); the
 *     ERESUME after it is an entry;
 *   - a runtime exit (OCALL) pays what an OCALL costs beyond that round trip;
 *   - the EPC swap figure covers EBLOCK, EWB, ELDU and the OS's work around
 *     them: those leaves cost 0, ewb_extra / eldu_extra carry it;
 *   - a fault pays the kernel's #PF path; its leaves (EAUG, ELDU), AEX and
 *     entry are charged on their own.
 *
 * File format: one `name = ns` per line, `#` starts a comment, blank lines
 * are fine; names as emu_cost_model_print writes them (leaf names in any
 * case).  Errors are "FILE:LINE: reason" and leave the model unchanged.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"

#define CYCLES(n) ((n) * 2.0 / 5.0)   /* exact for whole cycle counts */

struct cost_entry {
	const char *name;
	size_t off;                 /* of the double in struct emu_cost_model */
	double def;
	const char *source;
};

#define CM(field) offsetof(struct emu_cost_model, field)
#define LS(leaf) CM(encls_ns) + (leaf) * sizeof(double)
#define LU(leaf) CM(enclu_ns) + (leaf) * sizeof(double)
#define FK(kind) CM(fault_ns) + (kind) * sizeof(double)

static const char ELEOS[] = "estimate: 2,000 cycles, the low end of \"thousands of cycles\" (Eleos, "
			    "EuroSys'17); no per-leaf figure is published";
static const char VAULT[] = "0: inside the ~40,000 cycles per EPC page swap (VAULT, ASPLOS'18), "
			    "charged as ewb_extra + eldu_extra";
static const char ENTRY[] = "0: charged per enclave entry (enclave_entry_exit)";

static const struct cost_entry table[] = {
	{ "encls.ECREATE", LS(SGX_ECREATE), CYCLES(2000), ELEOS },
	{ "encls.EADD", LS(SGX_EADD), CYCLES(4000), "estimate: a page copied into the EPC and its EPCM entry" },
	{ "encls.EINIT", LS(SGX_EINIT), CYCLES(100000), "estimate: RSA-3072 signature check of SIGSTRUCT" },
	{ "encls.EREMOVE", LS(SGX_EREMOVE), CYCLES(1000), "estimate" },
	{ "encls.EDBGRD", LS(SGX_EDBGRD), CYCLES(1000), "estimate" },
	{ "encls.EDBGWR", LS(SGX_EDBGWR), CYCLES(1000), "estimate" },
	{ "encls.EEXTEND", LS(SGX_EEXTEND), CYCLES(500), "estimate: SHA-256 over 256 bytes" },
	{ "encls.ELDB", LS(SGX_ELDB), 0, VAULT },
	{ "encls.ELDU", LS(SGX_ELDU), 0, VAULT },
	{ "encls.EBLOCK", LS(SGX_EBLOCK), 0, VAULT },
	{ "encls.EPA", LS(SGX_EPA), CYCLES(2000), ELEOS },
	{ "encls.EWB", LS(SGX_EWB), 0, VAULT },
	{ "encls.ETRACK", LS(SGX_ETRACK), CYCLES(2000), ELEOS },
	{ "encls.EAUG", LS(SGX_EAUG), CYCLES(2000), ELEOS },
	{ "encls.EMODPR", LS(SGX_EMODPR), CYCLES(2000), ELEOS },
	{ "encls.EMODT", LS(SGX_EMODT), CYCLES(2000), ELEOS },
	{ "enclu.EREPORT", LU(SGX_EREPORT), CYCLES(5000), "estimate: a MAC over the report" },
	{ "enclu.EGETKEY", LU(SGX_EGETKEY), CYCLES(5000), "estimate: a key derivation" },
	{ "enclu.EENTER", LU(SGX_EENTER), 0, ENTRY },
	{ "enclu.ERESUME", LU(SGX_ERESUME), 0, ENTRY },
	{ "enclu.EEXIT", LU(SGX_EEXIT), 0, ENTRY },
	{ "enclu.EACCEPT", LU(SGX_EACCEPT), CYCLES(2000), ELEOS },
	{ "enclu.EMODPE", LU(SGX_EMODPE), CYCLES(1000), "estimate: an EPCM update, no tracking check" },
	{ "enclu.EACCEPTCOPY", LU(SGX_EACCEPTCOPY), CYCLES(3000), "estimate: EACCEPT plus a page copy" },
	{ "syscall", CM(syscall_ns), 1000,
	  "estimate: VMA work of mmap/mprotect/munmap; the kernel entry itself is ~150 cycles "
	  "(survey summarizing HotCalls/Eleos-era work [2nd])" },
	{ "ioctl", CM(ioctl_ns), 500,
	  "estimate: ~150-cycle kernel entry [2nd survey] plus argument copies and the enclave lock; "
	  "the ioctl's leaves, IPIs and zaps are charged on their own" },
	{ "enclave_entry_exit", CM(enclave_entry_exit_ns), CYCLES(8000),
	  "ECALL round trip ~8,000 cycles, SGX1 SDK (survey summarizing HotCalls/Eleos-era work [2nd])" },
	{ "aex", CM(aex_ns), 1000,
	  "estimate: the AEX's state save and the kernel's exception/interrupt entry; Eleos (EuroSys'17) "
	  "adds indirect TLB and LLC costs per exit, not modelled" },
	{ "runtime_exit", CM(runtime_exit_ns), CYCLES(2000),
	  "OCALL ~10,000 minus ECALL ~8,000 cycles (survey [2nd]): what an OCALL adds to the "
	  "EEXIT/EENTER it is made of" },
	{ "ipi", CM(ipi_ns), 1500,
	  "per target LP: ~1-3 us per IPI round trip, ~1.5-2 us x cores (blog-level sources [2nd]); "
	  "LATR (ASPLOS'18) for why shootdowns matter" },
	{ "ipi_round", CM(ipi_round_ns), 0,
	  "estimate: a round whose only LP is the caller's runs locally; its flush is a tlb_flush" },
	{ "tlb_flush", CM(tlb_flush_ns), 100, "estimate: a full flush; refills not modelled" },
	{ "pte_zap", CM(pte_zap_ns), 200, "estimate: page-table walk under mmap_lock; its shootdown is an IPI round" },
	{ "fault.eaug", FK(EMU_FAULT_EAUG), 1500,
	  "estimate: #PF entry, sgx_vma_fault under the enclave lock, EPC allocation, xarray insert, PTE "
	  "(EAUG, AEX and ERESUME charged on their own)" },
	{ "fault.not_present", FK(EMU_FAULT_NOT_PRESENT), 1000, "estimate: #PF entry, VMA lookup, PTE install" },
	{ "fault.pte_perm", FK(EMU_FAULT_PTE_PERM), 2000, "estimate: #PF entry and a signal to the process" },
	{ "fault.epcm", FK(EMU_FAULT_EPCM), 2000,
	  "estimate: #PF entry and a signal to the runtime's handler" },
	{ "ewb_extra", CM(ewb_extra_ns), CYCLES(20000),
	  "half of ~40,000 cycles per EPC page swap incl. the OS (VAULT, ASPLOS'18)" },
	{ "eldu_extra", CM(eldu_extra_ns), CYCLES(20000),
	  "half of ~40,000 cycles per EPC page swap incl. the OS (VAULT, ASPLOS'18)" },
};
#define NR_ENTRIES (sizeof(table) / sizeof(table[0]))
static_assert(NR_ENTRIES == SGX_ENCLS_LEAF_COUNT + SGX_ENCLU_LEAF_COUNT + 11 + EMU_FAULT_KIND_COUNT,
	      "every field of struct emu_cost_model has a table entry");
static_assert(sizeof(struct emu_cost_model) == NR_ENTRIES * sizeof(double), "emu_cost_model holds only the table");

static double *slot(struct emu_cost_model *cm, const struct cost_entry *e)
{
	return (double *)((char *)cm + e->off);
}

static double value(const struct emu_cost_model *cm, const struct cost_entry *e)
{
	return *(const double *)((const char *)cm + e->off);
}

void emu_cost_model_defaults(struct emu_cost_model *cm)
{
	for (size_t i = 0; i < NR_ENTRIES; i++)
		*slot(cm, &table[i]) = table[i].def;
}

static const struct cost_entry *find(const char *name, size_t len)
{
	for (size_t i = 0; i < NR_ENTRIES; i++)
		if (strlen(table[i].name) == len && !strncasecmp(table[i].name, name, len))
			return &table[i];
	return NULL;
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int __attribute__((format(printf, 5, 6)))
fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s:%u: ", file, line);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

int emu_cost_model_parse(struct emu_cost_model *cm, const char *file, const char *text, size_t len, char *err,
			 size_t errlen)
{
	struct emu_cost_model next = *cm;
	unsigned set_on[NR_ENTRIES] = { 0 };
	const char *p = text, *end = text + len;

	for (unsigned line = 1; p < end; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *hash = memchr(p, '#', (size_t)(eol - p));
		const char *q = p, *stop = hash ? hash : eol;
		p = eol + 1;
		if (memchr(q, '\0', (size_t)(stop - q)))
			return fail(err, errlen, file, line, "NUL byte");
		while (q < stop && space(*q))
			q++;
		while (stop > q && space(stop[-1]))
			stop--;
		if (q == stop)
			continue;
		const char *eq = memchr(q, '=', (size_t)(stop - q));
		if (!eq)
			return fail(err, errlen, file, line, "expected 'name = ns', got '%.*s'", (int)(stop - q), q);
		const char *ne = eq;
		while (ne > q && space(ne[-1]))
			ne--;
		if (ne == q)
			return fail(err, errlen, file, line, "missing name before '='");
		const struct cost_entry *e = find(q, (size_t)(ne - q));
		if (!e)
			return fail(err, errlen, file, line, "unknown name '%.*s'", (int)(ne - q), q);
		const char *v = eq + 1;
		while (v < stop && space(*v))
			v++;
		char num[64];
		size_t vl = (size_t)(stop - v);
		if (!vl)
			return fail(err, errlen, file, line, "missing number after '%.*s ='", (int)(ne - q), q);
		if (vl >= sizeof(num))
			return fail(err, errlen, file, line, "bad number '%.*s...'", 40, v);
		memcpy(num, v, vl);
		num[vl] = '\0';
		char *after;
		errno = 0;
		double d = strtod(num, &after);
		if (after == num || *after || errno == ERANGE || !isfinite(d) || d < 0)
			return fail(err, errlen, file, line, "bad number '%.*s' (a non-negative count of ns)", (int)vl, v);
		size_t idx = (size_t)(e - table);
		if (set_on[idx])
			return fail(err, errlen, file, line, "'%s' set again (first on line %u)", e->name, set_on[idx]);
		set_on[idx] = line;
		*slot(&next, e) = d;
	}
	*cm = next;
	return 0;
}

int emu_cost_model_load(struct emu_cost_model *cm, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			if (cap > (16u << 20)) {
				free(text);
				fclose(f);
				if (err && errlen)
					snprintf(err, errlen, "%s: larger than 16 MiB", path);
				return -1;
			}
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				if (err && errlen)
					snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
				return -1;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	int ret;
	if (bad) {
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		ret = -1;
	} else {
		ret = emu_cost_model_parse(cm, path, text, len, err, errlen);
	}
	free(text);
	return ret;
}

double emu_cost_model_ns(const struct emu_cost_model *cm, const struct emu_counters *c)
{
	double ns = 0;
	for (unsigned i = 0; i < SGX_ENCLS_LEAF_COUNT; i++)
		ns += (double)c->encls[i] * cm->encls_ns[i];
	for (unsigned i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		ns += (double)c->enclu[i] * cm->enclu_ns[i];
	for (unsigned i = 0; i < EMU_FAULT_KIND_COUNT; i++)
		ns += (double)c->faults[i] * cm->fault_ns[i];
	ns += (double)(c->mmaps + c->mprotects + c->munmaps) * cm->syscall_ns;
	ns += (double)c->ioctls * cm->ioctl_ns;
	ns += (double)c->enclave_entries * cm->enclave_entry_exit_ns;
	ns += (double)c->aexs * cm->aex_ns;
	ns += (double)c->runtime_exits * cm->runtime_exit_ns;
	ns += (double)c->ipis * cm->ipi_round_ns + (double)c->ipi_targets * cm->ipi_ns;
	ns += (double)c->tlb_flushes * cm->tlb_flush_ns;
	ns += (double)c->pte_zaps * cm->pte_zap_ns;
	ns += (double)c->ewb * cm->ewb_extra_ns + (double)c->eldu * cm->eldu_extra_ns;
	return ns;
}

/* Aligned with one decimal where that is exact, else every digit, so the
 * printout reads back as the same model. */
static void print_value(FILE *out, double v)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%.1f", v);
	if (strtod(buf, NULL) == v)
		fprintf(out, "%9s", buf);
	else
		fprintf(out, "%.17g", v);
}

/* The printout is itself a file emu_cost_model_load reads back. */
void emu_cost_model_print(const struct emu_cost_model *cm, FILE *out)
{
	fprintf(out, "# sgx2emu cost model: ns per event (docs/cost-model.md); cycle figures at 2.5 GHz\n");
	for (size_t i = 0; i < NR_ENTRIES; i++) {
		double v = value(cm, &table[i]);
		fprintf(out, "%-20s = ", table[i].name);
		print_value(out, v);
		if (v == table[i].def)
			fprintf(out, "  # %s\n", table[i].source);
		else
			fprintf(out, "  # set; default %.1f: %s\n", table[i].def, table[i].source);
	}
}
