/*
 * MRENCLAVE (isa.md §5) computed independently: the test writes every
 * 64-byte block by hand and hashes the stream with OpenSSL's SHA256(), then
 * requires EINIT to accept exactly that hash and to commit it to the SECS.
 * Nothing from src/sign or src/hw is used for the expected value.
 *
 * Layout (BASE, 64 KiB, SSAFRAMESIZE 2):
 *   +0x0000 TCS, SECINFO R|W given (measured as 0x100), 16 EEXTENDs
 *   +0x1000 REG RWX (0x207), 16 EEXTENDs
 *   +0x2000 REG RW- (0x203), not measured
 *   +0x3000 REG R-- (0x201), chunks 0x800 then 0x100 only
 */
#include <openssl/sha.h>

#include "common/fixture.h"

#define BASE 0x7f0000000000ull
#define SIZE 0x10000ull
#define SSA_FRAME_SIZE 2

/* ---- the independent computation ---- */

static uint8_t stream[64 * 256];
static size_t stream_len;

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *new_block(void)
{
	assert_true(stream_len + 64 <= sizeof(stream));
	uint8_t *b = stream + stream_len;
	memset(b, 0, 64);
	stream_len += 64;
	return b;
}

static void hand_ecreate(uint32_t ssa_frame_size, uint64_t size)
{
	uint8_t *b = new_block();
	/* "ECREATE\0" = u64 0x0045544145524345 */
	const uint8_t tag[8] = { 0x45, 0x43, 0x52, 0x45, 0x41, 0x54, 0x45, 0x00 };
	memcpy(b, tag, 8);
	put_le(b + 8, ssa_frame_size, 4);
	put_le(b + 12, size, 8);
}

static void hand_eadd(uint64_t offset, uint64_t secinfo_flags)
{
	uint8_t *b = new_block();
	/* "EADD\0\0\0\0" = u64 0x44444145 */
	const uint8_t tag[8] = { 0x45, 0x41, 0x44, 0x44, 0, 0, 0, 0 };
	memcpy(b, tag, 8);
	put_le(b + 8, offset, 8);
	put_le(b + 16, secinfo_flags, 8); /* + 40 zero reserved SECINFO bytes */
}

static void hand_eextend(uint64_t offset, const uint8_t *chunk)
{
	uint8_t *b = new_block();
	/* "EEXTEND\0" = u64 0x00444E4554584545 */
	const uint8_t tag[8] = { 0x45, 0x45, 0x58, 0x54, 0x45, 0x4e, 0x44, 0x00 };
	memcpy(b, tag, 8);
	put_le(b + 8, offset, 8);
	for (int i = 0; i < 4; i++)
		memcpy(new_block(), chunk + 64 * i, 64);
}

static void test_tags_are_the_documented_integers(void **state)
{
	(void)state;
	uint8_t le[8];
	stream_len = 0;
	hand_ecreate(0, 0);
	put_le(le, 0x0045544145524345ull, 8);
	assert_memory_equal(stream, le, 8);
	hand_eadd(0, 0);
	put_le(le, 0x44444145ull, 8);
	assert_memory_equal(stream + 64, le, 8);
	static const uint8_t zero[256];
	hand_eextend(0, zero);
	put_le(le, 0x00444E4554584545ull, 8);
	assert_memory_equal(stream + 128, le, 8);
	assert_int_equal(stream_len, 64 * 7);
}

/* ---- the model ---- */

static struct sgx_secinfo si;
static struct sgx_pageinfo pi;
static uint8_t src[SGX_PAGE_SIZE] __attribute__((aligned(4096)));

static uint8_t *eadd(struct fx *f, uint64_t offset, uint64_t flags)
{
	uint8_t *frame = fx_frame(f);
	si = (struct sgx_secinfo){ .flags = flags };
	pi = (struct sgx_pageinfo){ .linaddr = BASE + offset, .srcpge = fx_addr(src), .secinfo = fx_addr(&si),
				    .secs = fx_addr(f->secs) };
	assert_success(hw_encls(f->lp, SGX_EADD, fx_addr(&pi), fx_addr(frame), 0));
	return frame;
}

static void eextend(struct fx *f, const uint8_t *chunk)
{
	assert_success(hw_encls(f->lp, SGX_EEXTEND, fx_addr(f->secs), fx_addr(chunk), 0));
}

static void fill(uint8_t seed)
{
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

static struct sgx_result einit_with_hash(struct fx *f, const uint8_t hash[32])
{
	static struct sgx_sigstruct ss;
	memset(&ss, 0, sizeof(ss));
	ss.header.date = 0x20260101;
	ss.body.miscselect = 0;
	ss.body.misc_mask = 0xffffffff;
	ss.body.attributes.flags = FX_ATTRS;
	ss.body.attributes.xfrm = 3;
	ss.body.attributes_mask.flags = ~0ull;
	ss.body.attributes_mask.xfrm = ~0ull;
	memcpy(ss.body.mrenclave, hash, 32);
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	return fx_einit_with(f, &ss);
}

static void test_mrenclave_matches_hand_computation(void **state)
{
	struct fx *f = *state;
	stream_len = 0;

	/* ECREATE */
	static struct sgx_secs secs_src;
	memset(&secs_src, 0, sizeof(secs_src));
	secs_src.base = BASE;
	secs_src.size = SIZE;
	secs_src.ssa_frame_size = SSA_FRAME_SIZE;
	secs_src.attributes.flags = FX_ATTRS;
	secs_src.attributes.xfrm = 3;
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_PT(SGX_PT_SECS) };
	pi = (struct sgx_pageinfo){ .srcpge = fx_addr(&secs_src), .secinfo = fx_addr(&si) };
	f->secs = fx_frame(f);
	assert_success(hw_encls(f->lp, SGX_ECREATE, fx_addr(&pi), fx_addr(f->secs), 0));
	hand_ecreate(SSA_FRAME_SIZE, SIZE);

	/* TCS: the measured bytes are the EPC copy, with the fields EADD clears */
	memset(src, 0, sizeof(src));
	struct sgx_tcs *tcs = (struct sgx_tcs *)src;
	tcs->state = 5;
	tcs->flags = SGX_TCS_DBGOPTIN;
	tcs->ossa = 0x4000;
	tcs->cssa = 1;
	tcs->nssa = 2;
	tcs->oentry = 0x1000;
	tcs->aep = 0x1234;
	uint8_t *tcs_page = eadd(f, 0, SGX_SECINFO_PT(SGX_PT_TCS) | SGX_SECINFO_R | SGX_SECINFO_W);
	hand_eadd(0, 0x100);
	uint8_t expect_tcs[SGX_PAGE_SIZE] = { 0 };
	put_le(expect_tcs + 16, 0x4000, 8); /* OSSA */
	put_le(expect_tcs + 28, 2, 4);      /* NSSA */
	put_le(expect_tcs + 32, 0x1000, 8); /* OENTRY */
	assert_memory_equal(tcs_page, expect_tcs, sizeof(expect_tcs));
	for (unsigned off = 0; off < SGX_PAGE_SIZE; off += 256) {
		eextend(f, tcs_page + off);
		hand_eextend(off, expect_tcs + off);
	}

	/* REG RWX, fully measured */
	fill(1);
	uint8_t *reg = eadd(f, 0x1000, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_RWX);
	hand_eadd(0x1000, 0x207);
	for (unsigned off = 0; off < SGX_PAGE_SIZE; off += 256) {
		eextend(f, reg + off);
		hand_eextend(0x1000 + off, src + off);
	}

	/* REG RW-, EADD only */
	fill(2);
	eadd(f, 0x2000, FX_REG_RW);
	hand_eadd(0x2000, 0x203);

	/* REG R--, two chunks out of order */
	fill(3);
	uint8_t *part = eadd(f, 0x3000, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R);
	hand_eadd(0x3000, 0x201);
	eextend(f, part + 0x800);
	hand_eextend(0x3800, src + 0x800);
	eextend(f, part + 0x100);
	hand_eextend(0x3100, src + 0x100);

	/* refused leaves measure nothing */
	assert_gp(hw_encls(f->lp, SGX_EEXTEND, fx_addr(f->secs), fx_addr(part + 0x80), 0));
	si = (struct sgx_secinfo){ .flags = FX_REG_RW };
	pi = (struct sgx_pageinfo){ .linaddr = BASE + SIZE, .srcpge = fx_addr(src), .secinfo = fx_addr(&si),
				    .secs = fx_addr(f->secs) };
	assert_gp(hw_encls(f->lp, SGX_EADD, fx_addr(&pi), fx_addr(fx_frame(f)), 0));

	assert_int_equal(stream_len, 64 * (1 + 1 + 16 * 5 + 1 + 16 * 5 + 1 + 1 + 2 * 5));
	uint8_t expect[32];
	SHA256(stream, stream_len, expect);

	/* a hash that differs in one bit is refused ... */
	uint8_t wrong[32];
	memcpy(wrong, expect, 32);
	wrong[31] ^= 1;
	assert_rc(einit_with_hash(f, wrong), SGX_INVALID_MEASUREMENT);
	/* ... the hand-computed one is accepted and committed */
	assert_success(einit_with_hash(f, expect));
	assert_memory_equal(((const struct sgx_secs *)f->secs)->mrenclave, expect, 32);
}

/* The software signer used by loaders agrees with the hand computation. */
static void test_sign_library_agrees(void **state)
{
	(void)state;
	stream_len = 0;
	hand_ecreate(SSA_FRAME_SIZE, SIZE);
	hand_eadd(0x1000, 0x207);
	fill(4);
	for (unsigned off = 0; off < SGX_PAGE_SIZE; off += 256)
		hand_eextend(0x1000 + off, src + off);
	hand_eadd(0, 0x100); /* a TCS given R|W: the library must drop them too */
	uint8_t expect[32], got[32];
	SHA256(stream, stream_len, expect);

	struct sgx_measurement mm;
	assert_int_equal(sgx_measure_init(&mm, SSA_FRAME_SIZE, SIZE), 0);
	sgx_measure_page(&mm, 0x1000, 0x207, src, 1);
	sgx_measure_page(&mm, 0, SGX_SECINFO_PT(SGX_PT_TCS) | SGX_SECINFO_R | SGX_SECINFO_W, src, 0);
	sgx_measure_final(&mm, got);
	assert_memory_equal(got, expect, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_are_the_documented_integers),
		cmocka_unit_test_setup_teardown(test_mrenclave_matches_hand_computation, fx_setup, fx_teardown),
		cmocka_unit_test(test_sign_library_agrees),
	};
	return cmocka_run_group_tests_name("MRENCLAVE", tests, NULL, NULL);
}
