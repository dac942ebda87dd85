/*
 * The machine: EPC (one memfd, mapped once as the kernel's view of it), the
 * EPCM, the logical processors, the CPU's keys and CPUID leaf 0x12.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "machine.h"

void hw_config_defaults(struct hw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->epc_bytes = 64ull << 20;
	cfg->epc_sections = 1;
	cfg->nr_lps = 4;
	cfg->seed = 0x5367583245;
	cfg->miscselect_supported = SGX_MISC_EXINFO;
	cfg->attributes_supported = SGX_ATTR_INIT | SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY |
				    SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS;
	cfg->xfrm_supported = 0x3;
}

static void derive_key(uint64_t seed, const char *label, uint8_t *out, size_t len)
{
	uint8_t digest[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, &seed, sizeof(seed));
	EVP_DigestUpdate(ctx, label, strlen(label));
	EVP_DigestFinal_ex(ctx, digest, NULL);
	EVP_MD_CTX_free(ctx);
	memcpy(out, digest, len);
}

static int validate_config(const struct hw_config *cfg)
{
	if (cfg->epc_bytes == 0 || cfg->epc_bytes % SGX_PAGE_SIZE || cfg->epc_bytes / SGX_PAGE_SIZE >= UINT32_MAX)
		return -EINVAL;
	if (cfg->epc_sections == 0 || cfg->epc_sections > HW_MAX_EPC_SECTIONS ||
	    (cfg->epc_bytes / SGX_PAGE_SIZE) % cfg->epc_sections)
		return -EINVAL;
	if (cfg->nr_lps == 0 || cfg->nr_lps > HW_MAX_LPS)
		return -EINVAL;
	if ((cfg->xfrm_supported & 3) != 3)
		return -EINVAL;
	return 0;
}

/*
 * Creates a machine.  The EPC is a memfd: its pages are committed by the host
 * only when first written, and a later native mode can map the same frames at
 * enclave addresses.  Returns NULL with errno EINVAL (bad config) or ENOMEM.
 */
struct hw_machine *hw_machine_create(const struct hw_config *cfg_in)
{
	struct hw_config cfg;
	if (cfg_in)
		cfg = *cfg_in;
	else
		hw_config_defaults(&cfg);
	int err = validate_config(&cfg);
	if (err) {
		errno = -err;
		return NULL;
	}

	struct hw_machine *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = cfg;
	m->epc_fd = -1;
	m->epc = MAP_FAILED;
	m->abort_page = MAP_FAILED;
	m->nr_frames = (uint32_t)(cfg.epc_bytes / SGX_PAGE_SIZE);
	m->next_eid = 1;
	m->next_version = 1;
	pthread_mutex_init(&m->lock, NULL);

	/* MFD_EXEC: native execution maps EPC frames executable, which
	 * vm.memfd_noexec would refuse for a memfd created without it; kernels
	 * before 6.3 do not know the flag (EINVAL) and need none */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010u
#endif
	m->epc_fd = memfd_create("sgx2emu-epc", MFD_CLOEXEC | MFD_EXEC);
	if (m->epc_fd < 0 && errno == EINVAL)
		m->epc_fd = memfd_create("sgx2emu-epc", MFD_CLOEXEC);
	if (m->epc_fd < 0 || ftruncate(m->epc_fd, (off_t)cfg.epc_bytes) < 0)
		goto fail;
	m->epc = mmap(NULL, cfg.epc_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->epc_fd, 0);
	if (m->epc == MAP_FAILED)
		goto fail;
	m->epcm = calloc(m->nr_frames, sizeof(*m->epcm));
	m->secs_state = calloc(m->nr_frames, sizeof(*m->secs_state));
	m->lps = calloc(cfg.nr_lps, sizeof(*m->lps));
	if (!m->epcm || !m->secs_state || !m->lps)
		goto fail;
	for (uint32_t f = 0; f < m->nr_frames; f++) {
		m->epcm[f].secs = HW_NO_FRAME;
	}
	m->abort_page = mmap(NULL, SGX_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->abort_page == MAP_FAILED)
		goto fail;
	memset(m->abort_page, 0xff, SGX_PAGE_SIZE);
	mprotect(m->abort_page, SGX_PAGE_SIZE, PROT_READ);

	m->nr_lps = cfg.nr_lps;
	for (unsigned i = 0; i < cfg.nr_lps; i++) {
		struct hw_lp *lp = &m->lps[i];
		lp->m = m;
		lp->id = i;
		lp->tcs_frame = HW_NO_FRAME;
		lp->sink_page = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
		if (!lp->sink_page)
			goto fail;
		lp_tlb_flush(lp);
		lp->stats.tlb_flushes = 0;
	}

	derive_key(cfg.seed, "paging", m->paging_key, sizeof(m->paging_key));
	derive_key(cfg.seed, "report", m->report_key_root, sizeof(m->report_key_root));
	derive_key(cfg.seed, "seal", m->seal_key_root, sizeof(m->seal_key_root));
	memset(m->cpusvn, 0, sizeof(m->cpusvn));
	m->cpusvn[0] = 1;
	return m;
fail:
	err = errno ? errno : ENOMEM;
	hw_machine_destroy(m);
	errno = err;
	return NULL;
}

void hw_machine_destroy(struct hw_machine *m)
{
	if (!m)
		return;
	while (m->enclaves)
		enclave_free(m, m->enclaves);
	if (m->lps)
		for (unsigned i = 0; i < m->cfg.nr_lps; i++)
			free(m->lps[i].sink_page);
	free(m->lps);
	free(m->secs_state);
	free(m->epcm);
	if (m->abort_page != MAP_FAILED)
		munmap(m->abort_page, SGX_PAGE_SIZE);
	if (m->epc != MAP_FAILED)
		munmap(m->epc, m->cfg.epc_bytes);
	if (m->epc_fd >= 0)
		close(m->epc_fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const struct hw_config *hw_machine_config(const struct hw_machine *m)
{
	return &m->cfg;
}

void hw_lock(struct hw_machine *m)
{
	pthread_mutex_lock(&m->lock);
}

void hw_unlock(struct hw_machine *m)
{
	pthread_mutex_unlock(&m->lock);
}

void hw_set_lepubkeyhash(struct hw_machine *m, const uint8_t hash[32])
{
	hw_lock(m);
	memcpy(m->lepubkeyhash, hash, 32);
	hw_unlock(m);
}

/*
 * CPUID as far as SGX is concerned: leaf 7 (SGX and SGX_LC bits) and leaf 0x12
 * (capabilities, attributes, EPC sections).  Other leaves read as zero.
 * Section base addresses are the host addresses of the EPC mapping, which is
 * what the model uses as physical addresses.
 */
void hw_cpuid(struct hw_machine *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	memset(out, 0, 4 * sizeof(uint32_t));
	if (leaf == 7 && subleaf == 0) {
		out[1] = 1u << 2;   /* EBX.SGX */
		out[2] = 1u << 30;  /* ECX.SGX_LC */
		return;
	}
	if (leaf != 0x12)
		return;
	if (subleaf == 0) {
		out[0] = 1u | (m->cfg.sgx1_only ? 0 : 2u);
		out[1] = m->cfg.miscselect_supported;
		out[3] = 31u | (47u << 8);  /* max enclave size: 2^31 (32-bit), 2^47 (64-bit) */
	} else if (subleaf == 1) {
		out[0] = (uint32_t)m->cfg.attributes_supported;
		out[1] = (uint32_t)(m->cfg.attributes_supported >> 32);
		out[2] = (uint32_t)m->cfg.xfrm_supported;
		out[3] = (uint32_t)(m->cfg.xfrm_supported >> 32);
	} else if (subleaf - 2 < m->cfg.epc_sections) {
		uint64_t section = m->cfg.epc_bytes / m->cfg.epc_sections;
		uint64_t base = (uint64_t)(uintptr_t)m->epc + (subleaf - 2) * section;
		out[0] = 1u | (uint32_t)(base & 0xfffff000u);
		out[1] = (uint32_t)(base >> 32) & 0xfffffu;
		out[2] = 1u | (uint32_t)(section & 0xfffff000u);
		out[3] = (uint32_t)(section >> 32) & 0xfffffu;
	}
}

uint8_t *hw_epc_base(const struct hw_machine *m)
{
	return m->epc;
}

uint64_t hw_epc_size(const struct hw_machine *m)
{
	return m->cfg.epc_bytes;
}

uint32_t hw_epc_frames(const struct hw_machine *m)
{
	return m->nr_frames;
}

int hw_epc_memfd(const struct hw_machine *m)
{
	return m->epc_fd;
}

uint8_t *hw_epc_page(const struct hw_machine *m, uint32_t frame)
{
	return frame < m->nr_frames ? epc_page_ptr(m, frame) : NULL;
}

uint32_t epc_frame(const struct hw_machine *m, uint64_t host_address)
{
	uint64_t base = (uint64_t)(uintptr_t)m->epc;
	if (host_address < base || host_address - base >= m->cfg.epc_bytes)
		return HW_NO_FRAME;
	return (uint32_t)((host_address - base) / SGX_PAGE_SIZE);
}

uint32_t hw_epc_frame_of(const struct hw_machine *m, uint64_t host_address)
{
	return epc_frame(m, host_address);
}

bool hw_epcm_read(const struct hw_machine *m, uint32_t frame, struct hw_epcm_entry *out)
{
	if (frame >= m->nr_frames)
		return false;
	struct hw_machine *mm = (struct hw_machine *)m;
	hw_lock(mm);
	*out = m->epcm[frame];
	hw_unlock(mm);
	return true;
}

bool hw_secs_info(const struct hw_machine *m, uint32_t secs_frame, uint64_t *eid, bool *initialized,
		  uint64_t *epoch, uint64_t *tracked_epoch)
{
	struct hw_machine *mm = (struct hw_machine *)m;
	hw_lock(mm);
	struct hw_enclave *e = secs_frame < m->nr_frames ? m->secs_state[secs_frame] : NULL;
	if (e) {
		if (eid)
			*eid = e->eid;
		if (initialized)
			*initialized = e->initialized;
		if (epoch)
			*epoch = e->epoch;
		if (tracked_epoch)
			*tracked_epoch = e->tracked_epoch;
	}
	hw_unlock(mm);
	return e != NULL;
}

unsigned hw_nr_lps(const struct hw_machine *m)
{
	return m->nr_lps;
}

struct hw_lp *hw_lp_get(struct hw_machine *m, unsigned index)
{
	return index < m->nr_lps ? &m->lps[index] : NULL;
}
