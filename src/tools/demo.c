/*
 * `sgx2emu demo`: one page through the SGX2 life cycle on the hardware model,
 * printing every leaf's outcome, the check that decided it, and the EPCM
 * entry after it.  The OS side runs on LP 1, the enclave thread on LP 0, so
 * the stale TLB that a missing ETRACK/IPI leaves behind can be seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgx2emu/hw.h"
#include "sgx2emu/sign.h"
#include "tools.h"

#define BASE 0x40000000ull
#define SIZE 0x100000ull
#define TCS BASE
#define SSA (BASE + 0x1000)
#define DATA (BASE + 0x3000)
#define SECINFO_SLOT (DATA + 0xfc0)
#define HEAP (BASE + 0x10000)
#define AEP 0x401000ull

struct demo {
	struct hw_machine *m;
	struct hw_lp *os, *cpu;
	struct hw_pagetable *pt;
	uint32_t next_frame;
	uint8_t *secs;
	struct sgx_secs secs_src __attribute__((aligned(4096)));
	uint8_t page[4096] __attribute__((aligned(4096)));
	struct sgx_measurement mr;
	int step;
	bool quiet;
};

static uint8_t *new_frame(struct demo *d)
{
	return hw_epc_page(d->m, d->next_frame++);
}

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void show_page(struct demo *d, uint64_t la)
{
	void *host;
	unsigned prot;
	char line[200];
	if (!hw_pt_lookup(d->pt, la, &host, &prot))
		return;
	hw_epcm_format(d->m, hw_epc_frame_of(d->m, addr(host)), line, sizeof(line));
	printf("        EPCM %s\n", line);
}

/* Prints one step: what was done, the outcome and, if it failed, why. */
static struct sgx_result step(struct demo *d, struct hw_lp *lp, const char *what, struct sgx_result r)
{
	char why[400];
	hw_explain(lp, r, why, sizeof(why));
	printf("%3d  LP%u %-46s %s\n", ++d->step, hw_lp_id(lp), what, why);
	return r;
}

static int must(struct demo *d, struct hw_lp *lp, const char *what, struct sgx_result r)
{
	step(d, lp, what, r);
	if (!sgx_ok(r)) {
		fprintf(stderr, "sgx2emu demo: step %d (%s) failed unexpectedly\n", d->step, what);
		return -1;
	}
	return 0;
}

static struct sgx_result eadd(struct demo *d, uint64_t la, uint64_t flags)
{
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = flags };
	struct sgx_pageinfo pi __attribute__((aligned(32))) = {
		.linaddr = la, .srcpge = addr(d->page), .secinfo = addr(&si), .secs = addr(d->secs)
	};
	uint8_t *frame = new_frame(d);
	struct sgx_result r = hw_encls(d->os, SGX_EADD, addr(&pi), addr(frame), 0);
	if (!sgx_ok(r))
		return r;
	sgx_measure_page(&d->mr, la - BASE, flags, d->page, 1);
	for (int off = 0; off < 4096 && sgx_ok(r); off += 256)
		r = hw_encls(d->os, SGX_EEXTEND, addr(d->secs), addr(frame + off), 0);
	bool tcs = ((flags >> 8) & 0xff) == SGX_PT_TCS;
	hw_pt_map(d->pt, la, frame, tcs ? HW_PROT_R | HW_PROT_W : (unsigned)(flags & 7));
	return r;
}

static int build(struct demo *d)
{
	memset(&d->secs_src, 0, sizeof(d->secs_src));
	d->secs_src.base = BASE;
	d->secs_src.size = SIZE;
	d->secs_src.ssa_frame_size = 1;
	d->secs_src.miscselect = SGX_MISC_EXINFO;
	d->secs_src.attributes.flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	d->secs_src.attributes.xfrm = 3;
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = SGX_SECINFO_PT(SGX_PT_SECS) };
	struct sgx_pageinfo pi __attribute__((aligned(32))) = { .srcpge = addr(&d->secs_src), .secinfo = addr(&si) };
	d->secs = new_frame(d);
	if (must(d, d->os, "ECREATE 1 MiB enclave at 0x40000000", hw_encls(d->os, SGX_ECREATE, addr(&pi), addr(d->secs), 0)))
		return -1;
	if (sgx_measure_init(&d->mr, 1, SIZE))
		return -1;

	struct sgx_tcs *tcs = (struct sgx_tcs *)d->page;
	memset(d->page, 0, sizeof(d->page));
	tcs->ossa = SSA - BASE;
	tcs->nssa = 2;
	tcs->oentry = DATA - BASE;
	if (must(d, d->os, "EADD+EEXTEND TCS", eadd(d, TCS, SGX_SECINFO_PT(SGX_PT_TCS))))
		return -1;
	memset(d->page, 0, sizeof(d->page));
	uint64_t rw = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W;
	for (uint64_t la = SSA; la <= DATA; la += 4096)
		if (must(d, d->os, la == DATA ? "EADD+EEXTEND data page" : "EADD+EEXTEND SSA page", eadd(d, la, rw)))
			return -1;

	struct sgx_sigstruct *ss = aligned_alloc(4096, 4096);
	struct sgx_einittoken token __attribute__((aligned(512))) = { 0 };
	EVP_PKEY *key = sgx_sign_keygen();
	int rc = -1;
	if (ss && key) {
		memset(ss, 0, 4096);
		sgx_measure_final(&d->mr, ss->body.mrenclave);
		ss->body.attributes = d->secs_src.attributes;
		ss->body.attributes_mask.flags = ~0ull;
		ss->body.attributes_mask.xfrm = ~0ull;
		ss->body.miscselect = SGX_MISC_EXINFO;
		ss->body.misc_mask = ~0u;
		uint8_t mrsigner[32];
		if (!sgx_sign_sigstruct(key, ss)) {
			sgx_sigstruct_mrsigner(ss, mrsigner);
			hw_set_lepubkeyhash(d->m, mrsigner);
			rc = must(d, d->os, "EINIT (RSA-3072 SIGSTRUCT, no token)",
				  hw_encls(d->os, SGX_EINIT, addr(ss), addr(d->secs), addr(&token)));
		}
	}
	EVP_PKEY_free(key);
	free(ss);
	return rc;
}

static struct sgx_result eaccept(struct demo *d, uint64_t la, uint64_t flags)
{
	struct sgx_secinfo si = { .flags = flags };
	struct sgx_result r = hw_lp_write(d->cpu, SECINFO_SLOT, &si, sizeof(si));
	if (r.vector != SGX_VEC_NONE || r.aex)
		return r;
	return hw_enclu(d->cpu, SGX_EACCEPT, SECINFO_SLOT, la, 0);
}

static struct sgx_result eresume(struct demo *d)
{
	return hw_enclu(d->cpu, SGX_ERESUME, TCS, AEP, 0);
}

static struct sgx_result write_u64(struct demo *d, uint64_t la, uint64_t v)
{
	return hw_lp_write(d->cpu, la, &v, sizeof(v));
}

static int life_cycle(struct demo *d)
{
	static struct sgx_pageinfo pi __attribute__((aligned(32)));
	static struct sgx_secinfo si __attribute__((aligned(64)));
	uint64_t rw_pending = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PENDING;
	uint8_t *frame = new_frame(d);
	struct sgx_result r;

	printf("\n-- EAUG and EACCEPT --\n");
	hw_lp_regs(d->cpu)->rip = 0x402000;
	if (must(d, d->cpu, "EENTER TCS", hw_enclu(d->cpu, SGX_EENTER, TCS, AEP, 0)))
		return -1;
	pi = (struct sgx_pageinfo){ .linaddr = HEAP, .secs = addr(d->secs) };
	if (must(d, d->os, "EAUG page 0x40010000", hw_encls(d->os, SGX_EAUG, addr(&pi), addr(frame), 0)))
		return -1;
	hw_pt_map(d->pt, HEAP, frame, HW_PROT_R | HW_PROT_W);
	show_page(d, HEAP);
	step(d, d->cpu, "write before EACCEPT", write_u64(d, HEAP, 1));
	if (must(d, d->cpu, "ERESUME", eresume(d)))
		return -1;
	step(d, d->cpu, "EACCEPT as R-- (wrong: EAUG gives RW-)",
	     eaccept(d, HEAP, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PENDING));
	if (must(d, d->cpu, "EACCEPT as RW- PENDING", eaccept(d, HEAP, rw_pending)))
		return -1;
	show_page(d, HEAP);
	if (must(d, d->cpu, "write 0x40010000", write_u64(d, HEAP, 42)))
		return -1;

	printf("\n-- EMODPR without and with ETRACK + IPI --\n");
	si.flags = SGX_SECINFO_R;
	step(d, d->os, "EMODPR to R-- (enclave thread still inside)",
	     hw_encls(d->os, SGX_EMODPR, addr(&si), addr(frame), 0));
	show_page(d, HEAP);
	r = step(d, d->cpu, "write through the stale TLB entry", write_u64(d, HEAP, 43));
	printf("        stale TLB hits on LP0 so far: %llu\n",
	       (unsigned long long)hw_lp_stats(d->cpu)->stale_tlb_hits);
	step(d, d->cpu, "EACCEPT R-- PR before ETRACK",
	     eaccept(d, HEAP, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PR));
	step(d, d->os, "ETRACK", hw_encls(d->os, SGX_ETRACK, 0, addr(d->secs), 0));
	step(d, d->cpu, "EACCEPT again (LP0 entered before ETRACK)",
	     eaccept(d, HEAP, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_PR));
	step(d, d->cpu, "IPI to LP0", hw_lp_interrupt(d->cpu));
	if (must(d, d->cpu, "ERESUME", eresume(d)))
		return -1;
	if (must(d, d->cpu, "EACCEPT R-- PR", eaccept(d, HEAP, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R |
								   SGX_SECINFO_PR)))
		return -1;
	show_page(d, HEAP);
	step(d, d->cpu, "write to the now read-only page", write_u64(d, HEAP, 44));
	if (must(d, d->cpu, "ERESUME", eresume(d)))
		return -1;

	printf("\n-- EMODT to TRIM, EACCEPT, EREMOVE --\n");
	if (must(d, d->cpu, "EEXIT", hw_enclu(d->cpu, SGX_EEXIT, 0x402000, 0, 0)))
		return -1;
	si.flags = SGX_SECINFO_PT(SGX_PT_TRIM);
	step(d, d->os, "EMODT to TRIM", hw_encls(d->os, SGX_EMODT, addr(&si), addr(frame), 0));
	show_page(d, HEAP);
	si.flags = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X;
	step(d, d->os, "EMODPR probe (TRIM not yet accepted)", hw_encls(d->os, SGX_EMODPR, addr(&si), addr(frame), 0));
	step(d, d->os, "ETRACK", hw_encls(d->os, SGX_ETRACK, 0, addr(d->secs), 0));
	if (must(d, d->cpu, "EENTER TCS", hw_enclu(d->cpu, SGX_EENTER, TCS, AEP, 0)))
		return -1;
	step(d, d->cpu, "EACCEPT TRIM MODIFIED",
	     eaccept(d, HEAP, SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED));
	show_page(d, HEAP);
	step(d, d->cpu, "EEXIT", hw_enclu(d->cpu, SGX_EEXIT, 0x402000, 0, 0));
	step(d, d->os, "EMODPR probe (TRIM accepted)", hw_encls(d->os, SGX_EMODPR, addr(&si), addr(frame), 0));
	step(d, d->os, "EREMOVE", hw_encls(d->os, SGX_EREMOVE, 0, addr(frame), 0));
	hw_pt_unmap(d->pt, HEAP);
	char line[200];
	hw_epcm_format(d->m, hw_epc_frame_of(d->m, addr(frame)), line, sizeof(line));
	printf("        EPCM %s\n", line);
	(void)r;
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	struct hw_config cfg;
	hw_config_defaults(&cfg);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--sgx1")) {
			cfg.sgx1_only = true;
		} else {
			fprintf(stderr, "sgx2emu demo: unknown option '%s'\nusage: sgx2emu demo [--sgx1]\n", argv[i]);
			return 2;
		}
	}
	struct demo *d = aligned_alloc(4096, sizeof(*d));
	if (!d)
		return 1;
	memset(d, 0, sizeof(*d));
	d->m = hw_machine_create(&cfg);
	d->pt = hw_pt_create();
	if (!d->m || !d->pt) {
		perror("sgx2emu demo");
		return 1;
	}
	d->cpu = hw_lp_get(d->m, 0);
	d->os = hw_lp_get(d->m, 1);
	hw_lp_set_pagetable(d->cpu, d->pt);
	hw_lp_set_pagetable(d->os, d->pt);
	printf("sgx2emu demo: one enclave page through EAUG, EACCEPT, EMODPR, ETRACK, EMODT and EREMOVE\n"
	       "EPC %llu MiB, %u LPs, SGX2 %s; LP0 runs the enclave thread, LP1 the OS\n\n",
	       (unsigned long long)(hw_epc_size(d->m) >> 20), hw_nr_lps(d->m), cfg.sgx1_only ? "off" : "on");
	int rc = build(d);
	if (!rc)
		rc = life_cycle(d);
	if (d->mr.ctx)
		EVP_MD_CTX_free(d->mr.ctx);
	hw_pt_destroy(d->pt);
	hw_machine_destroy(d->m);
	free(d);
	return rc ? 1 : 0;
}
