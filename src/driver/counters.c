/*
 * Event counters of a run (include/sgx2emu/counters.h).  The kernel side
 * counts with EMU_COUNT hooks in src/driver and src/exec (relaxed atomics,
 * any thread); the leaves and the LP statistics come from the hardware model
 * (hw_counters_read), taken relative to a base so that a reset needs no
 * change to the model's own monotonic statistics.
 */
#include <string.h>

#include "driver.h"

#define NR_FIELDS (sizeof(struct emu_counters) / sizeof(uint64_t))
static_assert(sizeof(struct emu_counters) % sizeof(uint64_t) == 0, "emu_counters is an array of uint64_t");

__thread bool drv_fault_eaug;

static uint64_t *fields(struct emu_counters *c)
{
	return (uint64_t *)c;
}

void emu_counters_read(struct emu *emu, struct emu_counters *out)
{
	struct hw_counters hw;
	hw_counters_read(emu->m, &hw);
	for (size_t i = 0; i < NR_FIELDS; i++)
		fields(out)[i] = __atomic_load_n(&fields(&emu->counters)[i], __ATOMIC_RELAXED);
	pthread_mutex_lock(&emu->lp_lock);   /* base: written by reset under the same lock */
	const struct hw_counters *b = &emu->counters_base;
	for (unsigned i = 0; i < SGX_ENCLS_LEAF_COUNT; i++)
		out->encls[i] = hw.encls[i] - b->encls[i];
	for (unsigned i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		out->enclu[i] = hw.enclu[i] - b->enclu[i];
	out->tlb_flushes = hw.tlb_flushes - b->tlb_flushes;
	out->stale_tlb_hits = hw.stale_tlb_hits - b->stale_tlb_hits;
	pthread_mutex_unlock(&emu->lp_lock);
}

void emu_counters_reset(struct emu *emu)
{
	struct hw_counters hw;
	for (size_t i = 0; i < NR_FIELDS; i++)
		__atomic_store_n(&fields(&emu->counters)[i], 0, __ATOMIC_RELAXED);
	hw_counters_read(emu->m, &hw);
	pthread_mutex_lock(&emu->lp_lock);
	emu->counters_base = hw;
	pthread_mutex_unlock(&emu->lp_lock);
}

void emu_counters_diff(const struct emu_counters *a, const struct emu_counters *b, struct emu_counters *out)
{
	const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
	for (size_t i = 0; i < NR_FIELDS; i++)
		fields(out)[i] = x[i] - y[i];
}

void emu_count_runtime_exit(struct emu *emu)
{
	EMU_COUNT(emu, runtime_exits);
}

uint64_t emu_step(struct emu *emu)
{
	return __atomic_load_n(&emu->step, __ATOMIC_RELAXED);
}

static const char *fault_names[EMU_FAULT_KIND_COUNT] = {
	[EMU_FAULT_EAUG] = "eaug",
	[EMU_FAULT_NOT_PRESENT] = "not_present",
	[EMU_FAULT_PTE_PERM] = "pte_perm",
	[EMU_FAULT_EPCM] = "epcm",
};

void emu_counters_print(const struct emu_counters *c, FILE *out)
{
	static const struct {
		const char *name;
		size_t off;
	} plain[] = {
#define F(x) { #x, offsetof(struct emu_counters, x) }
		F(ioctls), F(mmaps), F(mprotects), F(munmaps), F(enclave_entries), F(enclave_exits), F(aexs),
		F(runtime_exits), F(etracks), F(ipis), F(ipi_targets), F(tlb_flushes), F(pte_zaps), F(ewb),
		F(eldu), F(stale_tlb_hits),
#undef F
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		uint64_t v = *(const uint64_t *)((const char *)c + plain[i].off);
		if (v)
			fprintf(out, "%s %llu\n", plain[i].name, (unsigned long long)v);
	}
	for (unsigned i = 0; i < SGX_ENCLS_LEAF_COUNT; i++)
		if (c->encls[i])
			fprintf(out, "encls.%s %llu\n", hw_encls_name(i), (unsigned long long)c->encls[i]);
	for (unsigned i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		if (c->enclu[i])
			fprintf(out, "enclu.%s %llu\n", hw_enclu_name(i), (unsigned long long)c->enclu[i]);
	for (unsigned i = 0; i < EMU_FAULT_KIND_COUNT; i++)
		if (c->faults[i])
			fprintf(out, "fault.%s %llu\n", fault_names[i], (unsigned long long)c->faults[i]);
}

/* Does a VMA of mm cover addr? */
static bool in_vma(struct drv_mm *mm, uint64_t addr)
{
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *v = mm_find_vma(mm, addr);
	bool in = v && v->start <= addr;
	pthread_rwlock_unlock(&mm->lock);
	return in;
}

/*
 * The kind of a #PF the kernel saw (do_user_addr_fault's outcome):
 *   SGX bit                      → EPCM (access_error: SIGSEGV, never the driver)
 *   P bit                        → PTE_PERM (a protection fault: refused, or
 *                                  v1/v2's pfn_mkwrite deciding on a narrow PTE)
 *   fixed by an EAUG             → EAUG
 *   refused inside a mapping     → PTE_PERM (the VMA forbids the access, or the
 *                                  enclave fault handler refuses it: SIGBUS)
 *   anything else                → NOT_PRESENT (PTE installed, page loaded,
 *                                  anonymous or ambient memory; no mapping)
 */
void drv_count_fault(struct drv_mm *mm, uint64_t addr, uint32_t error_code, enum drv_fault ret)
{
	enum emu_fault_kind kind;
	if (error_code & SGX_PFEC_SGX)
		kind = EMU_FAULT_EPCM;
	else if (error_code & SGX_PFEC_P)
		kind = EMU_FAULT_PTE_PERM;
	else if (ret == DRV_FAULT_NOPAGE)
		kind = drv_fault_eaug ? EMU_FAULT_EAUG : EMU_FAULT_NOT_PRESENT;
	else if ((ret == DRV_FAULT_SIGSEGV || ret == DRV_FAULT_SIGBUS) && in_vma(mm, addr))
		kind = EMU_FAULT_PTE_PERM;
	else
		kind = EMU_FAULT_NOT_PRESENT;
	EMU_COUNT(mm->emu, faults[kind]);
}
