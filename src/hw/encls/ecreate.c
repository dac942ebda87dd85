/*
 * ECREATE (ENCLS 0x00) — RBX: PAGEINFO, RCX: target EPC page.  isa.md §4.1.
 * Creates a SECS from PAGEINFO.SRCPGE: #GP for any malformed operand or SECS
 * field, #PF(RCX) if RCX is not a free EPC page.  No return codes.
 */
#include "../leaf.h"

static uint32_t xsave_size(uint64_t xfrm)
{
	/* legacy area + XSAVE header, plus AVX state: all the model supports */
	return 512 + 64 + ((xfrm & 4) ? 256 : 0);
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

	if ((s->attributes.xfrm & 3) != 3 || (s->attributes.xfrm & ~c->xfrm_supported))
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
	measure_ecreate(e->measure, secs->ssa_frame_size, secs->size);
	*epcm = (struct hw_epcm_entry){ .valid = true, .pt = SGX_PT_SECS, .secs = HW_NO_FRAME };
	return OK;
}
