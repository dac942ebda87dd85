/*
 * ECREATE (ENCLS 0x00) — RBX: PAGEINFO, RCX: target EPC page.  isa.md §4.1.
 * Creates an uninitialized SECS from PAGEINFO.SRCPGE.  No return codes:
 *   #GP  PAGEINFO not 32-, RCX not 4K-aligned; SRCPGE not 4K-, SECINFO not
 *        64-aligned; PAGEINFO.LINADDR or .SECS ≠ 0; SECINFO reserved bits or
 *        PT ≠ PT_SECS; then each SECS rule of step 5: XFRM (x87|SSE, CPUID
 *        mask, XSETBV consistency), MISCSELECT, SSAFRAMESIZE too small for
 *        XSAVE + GPRSGX + MISC, BASEADDR (canonical / < 4 GiB), SIZE (power
 *        of two, ≥ 8 KiB, below CPUID's limit), BASEADDR aligned to SIZE,
 *        ATTRIBUTES (INIT or outside CPUID's mask), reserved fields,
 *        CONFIGID/CONFIGSVN without KSS
 *   #PF  RCX not EPC or already VALID (EPCM error code); PAGEINFO, SECINFO
 *        or SRCPGE unreadable (error code 0)
 */
#include "../leaf.h"

/* Standard-format XSAVE area for XFRM: legacy area and header, then each
 * enabled component at its CPUID.(EAX=0DH,ECX=i) offset. */
static uint32_t xsave_size(uint64_t xfrm)
{
	static const struct { uint32_t offset, size; } comp[19] = {
		[2] = { 576, 256 },    /* AVX */
		[3] = { 960, 64 },     /* MPX BNDREGS */
		[4] = { 1024, 64 },    /* MPX BNDCSR */
		[5] = { 1088, 64 },    /* AVX-512 opmask */
		[6] = { 1152, 512 },   /* AVX-512 ZMM_Hi256 */
		[7] = { 1664, 1024 },  /* AVX-512 Hi16_ZMM */
		[9] = { 2688, 8 },     /* PKRU */
		[17] = { 2752, 64 },   /* AMX TILECFG */
		[18] = { 2816, 8192 }, /* AMX TILEDATA */
	};
	uint32_t size = 512 + 64;
	for (unsigned i = 2; i < 19; i++)
		if (((xfrm >> i) & 1) && comp[i].offset + comp[i].size > size)
			size = comp[i].offset + comp[i].size;
	return size;
}

/* The XSETBV consistency rules an XFRM must also obey: x87 and SSE always;
 * AVX-512 all three or none, and only with AVX; MPX and AMX pairs together. */
static bool xfrm_consistent(uint64_t xfrm)
{
	const uint64_t avx512 = 0xe0, mpx = 0x18, amx = 3ull << 17;
	if ((xfrm & 3) != 3)
		return false;
	if ((xfrm & avx512) && ((xfrm & avx512) != avx512 || !(xfrm & 4)))
		return false;
	if ((xfrm & mpx) && (xfrm & mpx) != mpx)
		return false;
	return !(xfrm & amx) || (xfrm & amx) == amx;
}

static uint32_t misc_size(uint32_t miscselect)
{
	return (miscselect & SGX_MISC_EXINFO) ? sizeof(struct sgx_exinfo) : 0;
}

static bool secs_is_valid(const struct hw_machine *m, const struct sgx_secs *s)
{
	const struct hw_config *c = &m->cfg;
	uint32_t id[4];
	hw_cpuid((struct hw_machine *)m, 0x12, 0, id);
	unsigned max_size_bits = (s->attributes.flags & SGX_ATTR_MODE64BIT) ? (id[3] >> 8) & 0xff : id[3] & 0xff;

	if (!xfrm_consistent(s->attributes.xfrm) || (s->attributes.xfrm & ~c->xfrm_supported))
		return false;
	if (s->miscselect & ~c->miscselect_supported)
		return false;
	if ((uint64_t)s->ssa_frame_size * SGX_PAGE_SIZE <
	    xsave_size(s->attributes.xfrm) + sizeof(struct sgx_gprsgx) + misc_size(s->miscselect))
		return false;
	if ((s->attributes.flags & SGX_ATTR_MODE64BIT) ? !canonical(s->base) : s->base >= (1ull << 32))
		return false;
	if (s->size < 2 * SGX_PAGE_SIZE || (s->size & (s->size - 1)) || s->size >= (1ull << max_size_bits))
		return false;
	if (s->base & (s->size - 1))
		return false;
	if (s->attributes.flags & (SGX_ATTR_INIT | ~c->attributes_supported))
		return false;
	if (!reserved_zero(s->reserved1, sizeof(s->reserved1)) || !reserved_zero(s->reserved2, sizeof(s->reserved2)) ||
	    !reserved_zero(s->reserved3, sizeof(s->reserved3)) || !reserved_zero(s->reserved4, sizeof(s->reserved4)))
		return false;
	if (!(s->attributes.flags & SGX_ATTR_KSS) &&
	    (!reserved_zero(s->config_id, sizeof(s->config_id)) || s->config_svn))
		return false;
	return true;
}

LEAF(encls_ecreate)
{
	(void)rdx;
	REQUIRE(aligned(rbx, 32), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(target, rcx);
	KERNEL_OPERAND(const struct sgx_pageinfo, pageinfo, rbx);
	REQUIRE(aligned(pageinfo->srcpge, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(pageinfo->secinfo, 64), GP0);
	REQUIRE(pageinfo->linaddr == 0 && pageinfo->secs == 0, GP0);
	KERNEL_OPERAND(const struct sgx_secinfo, secinfo, pageinfo->secinfo);
	REQUIRE(!(secinfo->flags & SGX_SECINFO_RESERVED) && reserved_zero(secinfo->reserved, sizeof(secinfo->reserved)),
		GP0);
	REQUIRE(secinfo_pt(secinfo->flags) == SGX_PT_SECS, GP0);
	struct hw_epcm_entry *epcm = epcm_of(lp->m, target);
	REQUIRE(!epcm->valid, PF(rcx));

	KERNEL_OPERAND(const struct sgx_secs, src, pageinfo->srcpge);
	struct sgx_secs *secs = (struct sgx_secs *)epc_page_ptr(lp->m, target);
	memcpy(secs, src, sizeof(*secs));
	REQUIRE(secs_is_valid(lp->m, secs), GP0);

	struct hw_enclave *e = enclave_new(lp->m, target);
	REQUIRE(e != NULL, GP0); /* host out of memory: the model refuses like a busy leaf */
	secs->isv_prod_id = 0;
	secs->isv_svn = 0;
	/* The SDM keeps the hash in progress here; the model keeps it in e->measure
	 * and leaves no stale source bytes in its place until EINIT commits it. */
	memset(secs->mrenclave, 0, sizeof(secs->mrenclave));
	measure_ecreate(e->measure, secs->ssa_frame_size, secs->size);
	*epcm = (struct hw_epcm_entry){ .valid = true, .pt = SGX_PT_SECS, .secs = HW_NO_FRAME };
	return OK;
}
