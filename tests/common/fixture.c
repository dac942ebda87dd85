#include <stdlib.h>

#include "fixture.h"

#define FX_SECINFO_SLOT (FX_DATA + 0x1000 - 64) /* last 64 bytes of the first data page */

EVP_PKEY *fx_key(void)
{
	static EVP_PKEY *key;
	if (!key)
		key = sgx_sign_keygen();
	assert_non_null(key);
	return key;
}

struct fx *fx_new(const struct hw_config *cfg)
{
	struct hw_config c;
	if (cfg) {
		c = *cfg;
	} else {
		hw_config_defaults(&c);
		c.epc_bytes = 1024 * SGX_PAGE_SIZE;
	}
	/* struct fx holds a struct sgx_secs, which is 4096-aligned: calloc's
	 * alignment is not enough (UBSan: misaligned member access). */
	struct fx *f = aligned_alloc(_Alignof(struct fx), sizeof(*f));
	assert_non_null(f);
	memset(f, 0, sizeof(*f));
	f->m = hw_machine_create(&c);
	assert_non_null(f->m);
	f->lp = hw_lp_get(f->m, 0);
	f->pt = hw_pt_create();
	assert_non_null(f->pt);
	for (unsigned i = 0; i < hw_nr_lps(f->m); i++)
		hw_lp_set_pagetable(hw_lp_get(f->m, i), f->pt);
	f->scratch = aligned_alloc(SGX_PAGE_SIZE, 16 * SGX_PAGE_SIZE);
	assert_non_null(f->scratch);
	memset(f->scratch, 0, 16 * SGX_PAGE_SIZE);
	return f;
}

void fx_free(struct fx *f)
{
	if (!f)
		return;
	if (f->mr.ctx)
		EVP_MD_CTX_free(f->mr.ctx);
	hw_pt_destroy(f->pt);
	hw_machine_destroy(f->m);
	free(f->scratch);
	free(f);
}

int fx_setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

int fx_setup_enclave(void **state)
{
	struct fx *f = fx_new(NULL);
	fx_build_standard(f, false);
	*state = f;
	return 0;
}

int fx_setup_initialized(void **state)
{
	struct fx *f = fx_new(NULL);
	fx_build_standard(f, true);
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

uint8_t *fx_frame(struct fx *f)
{
	assert_true(f->next_frame < hw_epc_frames(f->m));
	return hw_epc_page(f->m, f->next_frame++);
}

uint64_t fx_addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

void *fx_scratch(struct fx *f, unsigned page)
{
	assert_true(page < 16);
	return (uint8_t *)f->scratch + page * SGX_PAGE_SIZE;
}

struct sgx_result fx_ecreate(struct fx *f, uint64_t base, uint64_t size, uint64_t attributes)
{
	static struct sgx_pageinfo pi;
	static struct sgx_secinfo si;
	memset(&f->secs_src, 0, sizeof(f->secs_src));
	f->secs_src.base = base;
	f->secs_src.size = size;
	f->secs_src.ssa_frame_size = 1;
	f->secs_src.miscselect = SGX_MISC_EXINFO;
	f->secs_src.attributes.flags = attributes;
	f->secs_src.attributes.xfrm = 3;
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_PT(SGX_PT_SECS);
	memcpy(fx_scratch(f, 14), &f->secs_src, sizeof(f->secs_src));
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(fx_scratch(f, 14)), .secinfo = fx_addr(&si) };
	uint8_t *frame = fx_frame(f);
	struct sgx_result r = hw_encls(f->lp, SGX_ECREATE, fx_addr(&pi), fx_addr(frame), 0);
	if (sgx_ok(r)) {
		f->secs = frame;
		f->base = base;
		f->size = size;
		if (f->mr.ctx)
			EVP_MD_CTX_free(f->mr.ctx);
		assert_int_equal(sgx_measure_init(&f->mr, 1, size), 0);
	}
	return r;
}

static unsigned prot_of(uint64_t flags)
{
	return (unsigned)(flags & SGX_SECINFO_RWX); /* SECINFO R/W/X = HW_PROT_R/W/X */
}

struct sgx_result fx_eadd(struct fx *f, uint64_t la, uint64_t secinfo_flags, const void *src, bool measure)
{
	static uint8_t zero[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	static struct sgx_secinfo si;
	static struct sgx_pageinfo pi;
	uint8_t *page = fx_scratch(f, 15);
	memcpy(page, src ? src : zero, SGX_PAGE_SIZE);
	memset(&si, 0, sizeof(si));
	si.flags = secinfo_flags;
	pi = (struct sgx_pageinfo){ .linaddr = la, .srcpge = fx_addr(page), .secinfo = fx_addr(&si),
				    .secs = fx_addr(f->secs) };
	uint8_t *frame = fx_frame(f);
	struct sgx_result r = hw_encls(f->lp, SGX_EADD, fx_addr(&pi), fx_addr(frame), 0);
	if (!sgx_ok(r))
		return r;
	sgx_measure_page(&f->mr, la - f->base, secinfo_flags, page, 0);
	if (measure) {
		for (uint64_t off = 0; off < SGX_PAGE_SIZE; off += 256) {
			r = hw_encls(f->lp, SGX_EEXTEND, fx_addr(f->secs), fx_addr(frame + off), 0);
			if (!sgx_ok(r))
				return r;
			sgx_measure_eextend(&f->mr, la - f->base + off, page + off);
		}
	}
	bool tcs = ((secinfo_flags & SGX_SECINFO_PT_MASK) >> SGX_SECINFO_PT_SHIFT) == SGX_PT_TCS;
	assert_int_equal(hw_pt_map(f->pt, la, frame, tcs ? HW_PROT_R | HW_PROT_W : prot_of(secinfo_flags)), 0);
	return r;
}

void fx_sigstruct(struct fx *f, struct sgx_sigstruct *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (f->mr.ctx) {
		EVP_MD_CTX *copy = EVP_MD_CTX_new();
		EVP_MD_CTX_copy_ex(copy, f->mr.ctx);
		struct sgx_measurement tmp = { copy };
		sgx_measure_final(&tmp, f->mrenclave);
	}
	ss->header.date = 0x20261122;
	ss->body.miscselect = f->secs_src.miscselect;
	ss->body.misc_mask = 0xffffffff;
	ss->body.attributes = f->secs_src.attributes;
	ss->body.attributes_mask.flags = ~0ull;
	ss->body.attributes_mask.xfrm = ~0ull;
	memcpy(ss->body.mrenclave, f->mrenclave, 32);
	ss->body.isvprodid = 0x1234;
	ss->body.isvsvn = 7;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), ss), 0);
}

struct sgx_result fx_einit_with(struct fx *f, const struct sgx_sigstruct *ss)
{
	static struct sgx_sigstruct sig __attribute__((aligned(4096)));
	static struct sgx_einittoken token;
	uint8_t mrsigner[32];
	sig = *ss;
	memset(&token, 0, sizeof(token));
	sgx_sigstruct_mrsigner(&sig, mrsigner);
	hw_set_lepubkeyhash(f->m, mrsigner);
	return hw_encls(f->lp, SGX_EINIT, fx_addr(&sig), fx_addr(f->secs), fx_addr(&token));
}

struct sgx_result fx_einit(struct fx *f)
{
	static struct sgx_sigstruct ss;
	fx_sigstruct(f, &ss);
	return fx_einit_with(f, &ss);
}

struct sgx_result fx_eaug_frame_on(struct fx *f, struct hw_lp *lp, uint64_t la, uint8_t *frame, unsigned prot)
{
	static struct sgx_pageinfo pi;
	pi = (struct sgx_pageinfo){ .linaddr = la, .secs = fx_addr(f->secs) };
	struct sgx_result r = hw_encls(lp, SGX_EAUG, fx_addr(&pi), fx_addr(frame), 0);
	if (sgx_ok(r))
		assert_int_equal(hw_pt_map(f->pt, la, frame, prot), 0);
	return r;
}

struct sgx_result fx_eaug_on(struct fx *f, struct hw_lp *lp, uint64_t la)
{
	return fx_eaug_frame_on(f, lp, la, fx_frame(f), HW_PROT_R | HW_PROT_W);
}

struct sgx_result fx_eaug(struct fx *f, uint64_t la)
{
	return fx_eaug_on(f, f->lp, la);
}

struct sgx_result fx_emod_on(struct fx *f, struct hw_lp *lp, uint32_t leaf, uint64_t flags, uint64_t la)
{
	static struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	return hw_encls(lp, leaf, fx_addr(&si), fx_epc_of(f, la), 0);
}

struct sgx_result fx_etrack_on(struct fx *f, struct hw_lp *lp)
{
	return hw_encls(lp, SGX_ETRACK, 0, fx_addr(f->secs), 0);
}

static void fill_tcs(uint8_t *page, uint64_t ossa)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	memset(page, 0, SGX_PAGE_SIZE);
	tcs->ossa = ossa;
	tcs->nssa = 2;
	tcs->oentry = FX_CODE - FX_BASE;
}

void fx_build_standard(struct fx *f, bool initialize)
{
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	assert_true(sgx_ok(fx_ecreate(f, FX_BASE, FX_SIZE, FX_ATTRS)));
	fill_tcs(page, FX_SSA - FX_BASE);
	assert_true(sgx_ok(fx_eadd(f, FX_TCS, FX_TCS_FLAGS, page, true)));
	for (uint64_t la = FX_SSA; la < FX_CODE; la += SGX_PAGE_SIZE) {
		memset(page, 0, sizeof(page));
		snprintf((char *)page, sizeof(page), "page at %#llx", (unsigned long long)la);
		assert_true(sgx_ok(fx_eadd(f, la, FX_REG_RW, page, true)));
	}
	memset(page, 0xc3, sizeof(page)); /* ret */
	assert_true(sgx_ok(fx_eadd(f, FX_CODE, FX_REG_RX, page, true)));
	fill_tcs(page, FX_SSA2 - FX_BASE);
	assert_true(sgx_ok(fx_eadd(f, FX_TCS2, FX_TCS_FLAGS, page, true)));
	for (uint64_t la = FX_SSA2; la < FX_SSA2 + 2 * SGX_PAGE_SIZE; la += SGX_PAGE_SIZE)
		assert_true(sgx_ok(fx_eadd(f, la, FX_REG_RW, NULL, true)));
	if (initialize)
		assert_true(sgx_ok(fx_einit(f)));
}

struct sgx_result fx_enter(struct fx *f, struct hw_lp *lp, uint64_t tcs)
{
	(void)f;
	hw_lp_regs(lp)->rip = FX_RETURN;
	return hw_enclu(lp, SGX_EENTER, tcs, FX_AEP, 0);
}

struct sgx_result fx_exit(struct fx *f, struct hw_lp *lp)
{
	(void)f;
	return hw_enclu(lp, SGX_EEXIT, FX_RETURN, 0, 0);
}

struct sgx_result fx_eaccept(struct fx *f, struct hw_lp *lp, uint64_t la, uint64_t flags)
{
	(void)f;
	struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	struct sgx_result r = hw_lp_write(lp, FX_SECINFO_SLOT, &si, sizeof(si));
	if (r.vector != SGX_VEC_NONE || r.aex)
		return r;
	return hw_enclu(lp, SGX_EACCEPT, FX_SECINFO_SLOT, la, 0);
}

uint32_t fx_frame_of_la(struct fx *f, uint64_t la)
{
	void *page;
	unsigned prot;
	if (!hw_pt_lookup(f->pt, la & SGX_PAGE_MASK, &page, &prot))
		return HW_NO_FRAME;
	return hw_epc_frame_of(f->m, fx_addr(page));
}

uint64_t fx_epc_of(struct fx *f, uint64_t la)
{
	uint32_t frame = fx_frame_of_la(f, la);
	assert_int_not_equal(frame, HW_NO_FRAME);
	return fx_addr(hw_epc_page(f->m, frame));
}

struct hw_epcm_entry fx_epcm(struct fx *f, uint64_t la)
{
	struct hw_epcm_entry e;
	uint32_t frame = fx_frame_of_la(f, la);
	assert_int_not_equal(frame, HW_NO_FRAME);
	assert_true(hw_epcm_read(f->m, frame, &e));
	return e;
}

struct sgx_tcs *fx_tcs_page(struct fx *f, uint64_t tcs)
{
	return (struct sgx_tcs *)hw_epc_page(f->m, fx_frame_of_la(f, tcs));
}

const struct sgx_exinfo *fx_last_exinfo(struct fx *f, uint64_t tcs)
{
	uint64_t ssa = tcs == FX_TCS ? FX_SSA : FX_SSA2;
	uint32_t cssa = fx_tcs_page(f, tcs)->cssa;
	assert_true(cssa > 0);
	uint8_t *page = hw_epc_page(f->m, fx_frame_of_la(f, ssa + (cssa - 1) * SGX_PAGE_SIZE));
	return (const struct sgx_exinfo *)(page + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx) - sizeof(struct sgx_exinfo));
}

void fx_assert_rights(struct hw_epcm_entry e, bool r, bool w, bool x)
{
	assert_int_equal(e.r, r);
	assert_int_equal(e.w, w);
	assert_int_equal(e.x, x);
}
