/*
 * The host side of the Intel EMM's OCALLs (sgx2emu/emm_backend.h) in model
 * mode: alloc and modify called directly, every transition of the table
 * (the exact system calls, the EPCM / VMA / PTE after them), each invalid
 * request (its errno, no system call, nothing changed), failing system calls
 * and the ioctl loop; then the OCALL convention of sgx2emu/emm_enclave.h
 * (the area, doorbell ping-pong, an unanswered request, what the service
 * leaves alone).  The fixture is emm_fx.h; the EMM's flows are
 * test_emm_flows.c.
 */
#include "runtime/emm_fx.h"

/* SGX2EMU_EMM_CHECK_SDK_CONSTANTS as an enclave unit that includes the EMM's
 * headers uses it: here the names those headers define, with the values
 * sgx_mm.h and sgx_mm_rt_abstraction.h give them (the EMM is not fetched). */
#define SGX_EMA_ALLOC_FLAGS_MASK 0xFF
#define SGX_EMA_RESERVE 0x1
#define SGX_EMA_COMMIT_NOW 0x2
#define SGX_EMA_COMMIT_ON_DEMAND 0x4
#define SGX_EMA_GROWSDOWN 0x10
#define SGX_EMA_GROWSUP 0x20
#define SGX_EMA_FIXED 0x40
#define SGX_EMA_SYSTEM 0x80
#define SGX_EMA_PAGE_TYPE_SHIFT 8
#define SGX_EMA_PAGE_TYPE_MASK (0xFF << 8)
#define SGX_EMA_PAGE_TYPE_TCS (0x1 << 8)
#define SGX_EMA_PAGE_TYPE_REG (0x2 << 8)
#define SGX_EMA_PAGE_TYPE_TRIM (0x4 << 8)
#define SGX_EMA_PAGE_TYPE_SS_FIRST (0x5 << 8)
#define SGX_EMA_PAGE_TYPE_SS_REST (0x6 << 8)
#define SGX_EMA_PROT_NONE 0x0
#define SGX_EMA_PROT_READ 0x1
#define SGX_EMA_PROT_WRITE 0x2
#define SGX_EMA_PROT_EXEC 0x4
#define SGX_EMA_PROT_MASK 0x7
#define SGX_MM_EXCEPTION_CONTINUE_SEARCH 0
#define SGX_MM_EXCEPTION_CONTINUE_EXECUTION -1
typedef struct {
	uint64_t flags;
	uint64_t reserved[7];
} sec_info_t;
SGX2EMU_EMM_CHECK_SDK_CONSTANTS();

/* ---- alloc ---- */

/* Each commit mode and hint maps the range RW, shared, on the enclave fd, and
 * adds no page: Linux EAUGs on the fault only. */
static void alloc_maps_rw(void **state)
{
	struct emm_fx *t = *state;
	static const int flags[] = {
		LAZY, NOW, NOW | SGX2EMU_EMA_GROWSDOWN, LAZY | SGX2EMU_EMA_GROWSUP,
		NOW | SGX2EMU_EMA_FIXED, NOW | SGX2EMU_EMA_SYSTEM,
	};
	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		uint64_t la = hole(t, 2 * i);
		expect_vma(t, la, PROT_NONE, false);
		assert_int_equal(sgx2emu_emm_alloc(&t->host, la, 2 * PAGE, i == 2 ? 0 : (int)REG, flags[i]), 0);
		EXPECT_SYS(t, MMAP_RW(la, 2 * PAGE));
		expect_vma(t, la, PROT_READ | PROT_WRITE, true);
		expect_vma(t, la + PAGE, PROT_READ | PROT_WRITE, true);
		expect_no_page(t, la);
		expect_no_page(t, la + PAGE);
		expect_pte(t, la, -1);
	}
	/* the whole hole area at once, ending at the end of ELRANGE */
	assert_int_equal(sgx2emu_emm_alloc(&t->host, hole(t, 0), NR_HOLES * PAGE, (int)REG, LAZY), 0);
	EXPECT_SYS(t, MMAP_RW(hole(t, 0), NR_HOLES * PAGE));
}

/* Invalid requests: the documented errno, no system call, the VMA as it was. */
static void alloc_invalid(void **state)
{
	struct emm_fx *t = *state;
	uint64_t la = hole(t, 1);
	const struct { uint64_t addr, len; int type, flags, err; } bad[] = {
		{ la, PAGE, (int)REG, SGX2EMU_EMA_RESERVE, EINVAL },          /* RESERVE never reaches the host */
		{ la, PAGE, (int)REG, 0, EINVAL },                            /* no commit mode */
		{ la, PAGE, (int)REG, NOW | LAZY, EINVAL },                   /* two */
		{ la, PAGE, (int)REG, NOW | SGX2EMU_EMA_RESERVE, EINVAL },
		{ la, PAGE, (int)REG, LAZY | SGX2EMU_EMA_GROWSDOWN | SGX2EMU_EMA_GROWSUP, EINVAL },
		{ la, PAGE, (int)REG, NOW | 0x100, EINVAL },                  /* not an alloc flag */
		{ la, PAGE, (int)REG, NOW | (int)SGX2EMU_EMA_ALIGNMENT_MASK, EINVAL },
		{ la, PAGE, (int)REG, -1, EINVAL },
		{ la, PAGE, (int)TCS, NOW, EINVAL },
		{ la, PAGE, (int)TRIM, NOW, EINVAL },
		{ la, PAGE, 0x300, NOW, EINVAL },
		{ la, PAGE, (int)REG | RW, NOW, EINVAL },
		{ la, PAGE, (int)SGX2EMU_EMA_PAGE_TYPE_SS_FIRST, NOW, EFAULT },   /* CET: not supported */
		{ la, PAGE, (int)SGX2EMU_EMA_PAGE_TYPE_SS_REST, LAZY, EFAULT },
		{ la, 0, (int)REG, NOW, EINVAL },
		{ la, PAGE + 1, (int)REG, NOW, EINVAL },
		{ la + 8, PAGE, (int)REG, NOW, EINVAL },
		{ t->base - PAGE, PAGE, (int)REG, NOW, EINVAL },             /* below ELRANGE */
		{ t->base - PAGE, 2 * PAGE, (int)REG, NOW, EINVAL },         /* across its start */
		{ t->base + ELRANGE - PAGE, 2 * PAGE, (int)REG, NOW, EINVAL },   /* across its end */
		{ t->base + ELRANGE, PAGE, (int)REG, NOW, EINVAL },
		{ la, UINT64_MAX & ~(PAGE - 1), (int)REG, NOW, EINVAL },      /* wraps */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = sgx2emu_emm_alloc(&t->host, bad[i].addr, bad[i].len, bad[i].type, bad[i].flags);
		if (ret != bad[i].err)
			fail_msg("request %u: %d, want %d", i, ret, bad[i].err);
		expect_no_sys(t);
		expect_vma(t, la, PROT_NONE, false);
	}
}

/* A failing mmap: its errno. */
static void alloc_mmap_fails(void **state)
{
	struct emm_fx *t = *state;
	t->host.fd = 200;   /* not open */
	assert_int_equal(sgx2emu_emm_alloc(&t->host, hole(t, 0), PAGE, (int)REG, NOW), EBADF);
	EXPECT_SYS(t, MMAP_RW(hole(t, 0), PAGE));
	expect_vma(t, hole(t, 0), PROT_NONE, false);
}

/* ---- modify: each transition of the table ---- */

/* REG|p → REG|p: nothing to do, for every p but NONE. */
static void modify_same(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 1);
	static const unsigned prots[] = { R, RW, RX, RWX, W, X };
	for (unsigned i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), PAGE, (int)(REG | prots[i]),
						    (int)(REG | prots[i])), 0);
		expect_no_sys(t);
	}
	expect_epcm(t, hole(t, 0), SGX_PT_REG, RW, false, false, false);
}

/* REG|RW → REG|R: RESTRICT(R) then mprotect(R); the EMM's EACCEPT clears PR. */
static void modify_restrict(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 2);
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(REG | RW), (int)(REG | R)), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, 2 * PAGE, R), MPROTECT(hole(t, 0), 2 * PAGE, PROT_READ));
	for (unsigned i = 0; i < 2; i++) {
		expect_epcm(t, hole(t, i), SGX_PT_REG, R, false, false, true);
		expect_vma(t, hole(t, i), PROT_READ, true);
		eaccept_ok(t, hole(t, i), REG | R | PR);
		expect_epcm(t, hole(t, i), SGX_PT_REG, R, false, false, false);
	}
}

/* REG|R → REG|NONE: RESTRICT only (EACCEPT still needs the readable PTE),
 * then NONE → NONE is the mprotect. */
static void modify_to_none(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 1);
	uint64_t la = hole(t, 0);
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(REG | RW), (int)(REG | NONE)), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, PAGE, NONE));
	expect_vma(t, la, PROT_READ | PROT_WRITE, true);
	expect_epcm(t, la, SGX_PT_REG, NONE, false, false, true);
	eaccept_ok(t, la, REG | NONE | PR);
	expect_epcm(t, la, SGX_PT_REG, NONE, false, false, false);
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(REG | NONE), (int)(REG | NONE)), 0);
	EXPECT_SYS(t, MPROTECT(la, PAGE, PROT_NONE));
	expect_vma(t, la, PROT_NONE, true);
	expect_pte(t, la, -1);
}

/* REG|RW → REG|RWX: RESTRICT(RWX) changes no right but sets PR (EMODPR
 * always does), mprotect(RWX); EMODPE adds X; the EMM skips the EACCEPT for
 * W+X, so PR stays set. */
static void modify_extend_wx(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 1);
	uint64_t la = hole(t, 0);
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(REG | RW), (int)(REG | RWX)), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, PAGE, RWX), MPROTECT(la, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC));
	expect_epcm(t, la, SGX_PT_REG, RW, false, false, true);
	expect_vma(t, la, PROT_READ | PROT_WRITE | PROT_EXEC, true);
	assert_int_equal(ecall(t, OP_EMODPE, la, REG | RWX | PR, 0, 0, 0), 0);
	expect_epcm(t, la, SGX_PT_REG, RWX, false, false, true);
	ecall(t, OP_FETCH, la, 0, 0, 0, 0);
}

/* REG|p → TRIM|p: MODIFY_TYPES(TRIM); after the EMM's EACCEPT, TRIM → TRIM is
 * REMOVE_PAGES and the range stays mapped as it was (uncommit). */
static void modify_trim_remove(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 2);
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(REG | RW), (int)(TRIM | RW)), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES, 2 * PAGE, SGX_PT_TRIM));
	for (unsigned i = 0; i < 2; i++) {
		expect_epcm(t, hole(t, i), SGX_PT_TRIM, NONE, false, true, false);
		eaccept_ok(t, hole(t, i), TRIM | MODIFIED);
		expect_epcm(t, hole(t, i), SGX_PT_TRIM, NONE, false, false, false);
	}
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(TRIM | RW), (int)(TRIM | RW)), 0);
	EXPECT_SYS(t, IOCTL(REMOVE, HOLES, 2 * PAGE, 0));
	expect_no_page(t, hole(t, 0));
	expect_no_page(t, hole(t, 1));
	expect_vma(t, hole(t, 0), PROT_READ | PROT_WRITE, true);
}

/* Dealloc's form: NONE in both (the PTEs are still RW, so the EACCEPT works),
 * then REMOVE_PAGES and mprotect(NONE). */
static void modify_trim_dealloc(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 3, 1);
	uint64_t la = hole(t, 3);
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(REG | NONE), (int)(TRIM | NONE)), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES + 3 * PAGE, PAGE, SGX_PT_TRIM));
	eaccept_ok(t, la, TRIM | MODIFIED);
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(TRIM | NONE), (int)(TRIM | NONE)), 0);
	EXPECT_SYS(t, IOCTL(REMOVE, HOLES + 3 * PAGE, PAGE, 0), MPROTECT(la, PAGE, PROT_NONE));
	expect_no_page(t, la);
	expect_vma(t, la, PROT_NONE, true);
}

/* REG|RW → TCS|RW: MODIFY_TYPES(TCS); the EACCEPT checks the TCS the enclave
 * wrote; TCS → TRIM is how a TCS page goes. */
static void modify_tcs(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 2);
	uint64_t la = hole(t, 0);
	assert_int_equal(ecall(t, OP_TO_TCS, la, HOLES + PAGE, 0, 0, 0), EFAULT);   /* its OCALL: no area */
	expect_no_sys(t);
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(REG | RW), (int)(TCS | RW)), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES, PAGE, SGX_PT_TCS));
	expect_epcm(t, la, SGX_PT_TCS, NONE, false, true, false);
	eaccept_ok(t, la, TCS | MODIFIED);
	expect_epcm(t, la, SGX_PT_TCS, NONE, false, false, false);
	/* TCS|NONE → TCS|NONE (the final PTE step), then TCS → TRIM */
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(TCS | NONE), (int)(TCS | NONE)), 0);
	EXPECT_SYS(t, MPROTECT(la, PAGE, PROT_NONE));
	assert_int_equal(sgx2emu_emm_modify(&t->host, la, PAGE, (int)(TCS | NONE), (int)(TRIM | NONE)), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES, PAGE, SGX_PT_TRIM));
	expect_epcm(t, la, SGX_PT_TRIM, NONE, false, true, false);
}

/* Invalid changes: EINVAL, no system call, nothing changed. */
static void modify_invalid(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 1);
	uint64_t la = hole(t, 0);
	const struct { uint64_t addr, len; unsigned from, to; } bad[] = {
		{ la, PAGE, TRIM | RW, REG | RW },      /* a trimmed page only goes away */
		{ la, PAGE, TRIM | RW, TCS | RW },
		{ la, PAGE, REG | RW, TRIM | R },       /* type and rights at once */
		{ la, PAGE, REG | RW, TCS | R },
		{ la, PAGE, REG | R, TCS | R },         /* TCS only from REG|RW */
		{ la, PAGE, REG | NONE, TCS | NONE },
		{ la, PAGE, TCS | RW, REG | RW },       /* no TCS → REG */
		{ la, PAGE, TCS | NONE, TCS | R },      /* TCS has no rights to change */
		{ la, PAGE, RW, R },                    /* no type */
		{ la, PAGE, REG | RW, R },
		{ la, PAGE, 0x300 | RW, 0x300 | R },    /* unknown type */
		{ la, PAGE, SGX2EMU_EMA_PAGE_TYPE_SS_FIRST | RW, SGX2EMU_EMA_PAGE_TYPE_SS_FIRST | R },
		{ la, PAGE, REG | RW | PENDING, REG | R },   /* state bits are not the host's */
		{ la, PAGE, REG | RW, REG | R | PR },
		{ la, PAGE, REG | RW, REG | R | 0x10000 },
		{ la, 0, REG | RW, REG | R },
		{ la, PAGE / 2, REG | RW, REG | R },
		{ la + 64, PAGE, REG | RW, REG | R },
		{ t->base + ELRANGE, PAGE, REG | RW, REG | R },
		{ t->base - PAGE, 2 * PAGE, REG | RW, REG | R },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = sgx2emu_emm_modify(&t->host, bad[i].addr, bad[i].len, (int)bad[i].from, (int)bad[i].to);
		if (ret != EINVAL)
			fail_msg("request %u: %d, want EINVAL", i, ret);
		expect_no_sys(t);
		expect_epcm(t, la, SGX_PT_REG, RW, false, false, false);
		expect_vma(t, la, PROT_READ | PROT_WRITE, true);
	}
}

/* ---- modify: failing system calls, the ioctl loop ---- */

/* The errno of the system call that failed; what ran before it stays done. */
static void modify_syscall_errors(void **state)
{
	struct emm_fx *t = *state;
	/* EMODPR on a page that is not there: the ioctl's EFAULT */
	assert_int_equal(sgx2emu_emm_alloc(&t->host, hole(t, 0), PAGE, (int)REG, LAZY), 0);
	t->nr_rec = 0;
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), PAGE, (int)(REG | RW), (int)(REG | R)), EFAULT);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, PAGE, R));
	expect_vma(t, hole(t, 0), PROT_READ | PROT_WRITE, true);
	/* The image's data pages were added RW: RESTRICT passes (PR set), the
	 * mprotect to RWX is refused with EACCES. */
	uint64_t data = t->base + TEST_ENCL_DATA;
	assert_int_equal(sgx2emu_emm_modify(&t->host, data, PAGE, (int)(REG | RW), (int)(REG | RWX)), EACCES);
	EXPECT_SYS(t, IOCTL(RESTRICT, TEST_ENCL_DATA, PAGE, RWX), MPROTECT(data, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC));
	expect_epcm(t, data, SGX_PT_REG, RW, false, false, true);
	/* REMOVE_PAGES of pages that were not trimmed */
	commit_pages(t, 1, 1);
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 1), PAGE, (int)(TRIM | RW), (int)(TRIM | NONE)), EPERM);
	EXPECT_SYS(t, IOCTL(REMOVE, HOLES + PAGE, PAGE, 0));
	expect_vma(t, hole(t, 1), PROT_READ | PROT_WRITE, true);
	expect_epcm(t, hole(t, 1), SGX_PT_REG, RW, false, false, false);
}

/* EBUSY / EAGAIN without progress are asked again; partial progress goes on
 * from where it stopped; an answer without progress ends the loop. */
static void modify_ioctl_loop(void **state)
{
	struct emm_fx *t = *state;
	commit_pages(t, 0, 2);
	t->inject = 2;
	t->inject_errno = EBUSY;
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(REG | RW), (int)(REG | R)), 0);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, 2 * PAGE, R), IOCTL(RESTRICT, HOLES, 2 * PAGE, R),
		   IOCTL(RESTRICT, HOLES, 2 * PAGE, R), MPROTECT(hole(t, 0), 2 * PAGE, PROT_READ));
	expect_epcm(t, hole(t, 1), SGX_PT_REG, R, false, false, true);

	t->shrink = true;
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(REG | R), (int)(TRIM | R)), 0);
	EXPECT_SYS(t, IOCTL(MODT, HOLES, 2 * PAGE, SGX_PT_TRIM), IOCTL(MODT, HOLES + PAGE, PAGE, SGX_PT_TRIM));
	expect_epcm(t, hole(t, 0), SGX_PT_TRIM, NONE, false, true, false);
	expect_epcm(t, hole(t, 1), SGX_PT_TRIM, NONE, false, true, false);

	/* EAGAIN for ever: given up after 64 answers */
	t->inject = 1000;
	t->inject_errno = EAGAIN;
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(TRIM | R), (int)(TRIM | R)), EAGAIN);
	assert_int_equal(t->nr_rec, 64);
	assert_int_equal(t->inject, 1000 - 64);
	t->nr_rec = 0;
	/* another errno with no progress: at once */
	t->inject = 1;
	t->inject_errno = EIO;
	assert_int_equal(sgx2emu_emm_modify(&t->host, hole(t, 0), 2 * PAGE, (int)(REG | RW), (int)(REG | R)), EIO);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, 2 * PAGE, R));
}

/* ---- the OCALL convention ---- */

/* The area: one RW block and two PROT_NONE doorbells, outside ELRANGE. */
static void area_layout(void **state)
{
	struct emm_fx *t = *state;
	assert_int_equal(sgx2emu_emm_area_create(&t->host), 0);
	uint64_t a = t->host.area;
	assert_true(a + SGX2EMU_EMM_AREA_SIZE <= t->base || a >= t->base + ELRANGE);
	EXPECT_SYS(t, { SYS_MMAP, 0, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS },
		   MPROTECT(a, PAGE, PROT_READ | PROT_WRITE));
	assert_int_equal(t->bells, 0);
	expect_vma(t, a, PROT_READ | PROT_WRITE, false);
	expect_vma(t, a + PAGE, PROT_NONE, false);
	expect_vma(t, a + 2 * PAGE, PROT_NONE, false);
	/* the enclave refuses an area inside ELRANGE */
	assert_int_equal(ecall(t, OP_INIT, hole(t, 0), 0, 0, 0, 0), EINVAL);
	assert_int_equal(ecall(t, OP_INIT, t->base - PAGE, 0, 0, 0, 0), EINVAL);
	assert_int_equal(ecall(t, OP_INIT, a, 0, 0, 0, 0), 0);
	sgx2emu_emm_area_destroy(&t->host);
	EXPECT_SYS(t, { SYS_MUNMAP, a, 3 * PAGE, 0, 0 });
	assert_int_equal(t->host.area, 0);
}

/* Requests alternate doorbells; each leaves by the #PF, is answered, and the
 * enclave continues after the read; the caller never sees the exit. */
static void ocall_doorbells(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	struct sgx2emu_emm_ocall *blk = (void *)(uintptr_t)t->host.area;
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(ecall(t, OP_OCALL, SGX2EMU_EMM_OCALL_ALLOC, hole(t, i), PAGE, REG, LAZY), 0);
		EXPECT_SYS(t, MMAP_RW(hole(t, i), PAGE));
		assert_int_equal(t->bells, 2 * (i + 1));
		assert_int_equal(blk->seq, i);
		assert_int_equal(blk->ret, 0);
		expect_vma(t, t->host.area + PAGE * (1 + (i & 1)), PROT_READ, false);
		expect_vma(t, t->host.area + PAGE * (2 - (i & 1)), PROT_NONE, false);
	}
	/* both requests by number: a refused one is EFAULT to the enclave, the
	 * host's errno stays in the block */
	assert_int_equal(ecall(t, OP_OCALL, SGX2EMU_EMM_OCALL_MODIFY, hole(t, 0), PAGE, REG | RW, REG | R), EFAULT);
	EXPECT_SYS(t, IOCTL(RESTRICT, HOLES, PAGE, R));
	assert_int_equal(blk->ret, EFAULT);
	assert_int_equal(ecall(t, OP_OCALL, SGX2EMU_EMM_OCALL_ALLOC, hole(t, 0), PAGE, REG, 0), EFAULT);
	assert_int_equal(blk->ret, EINVAL);
	assert_int_equal(ecall(t, OP_OCALL, 99, hole(t, 0), PAGE, 0, 0), EFAULT);
	assert_int_equal(blk->ret, EINVAL);
	expect_no_sys(t);
	assert_int_equal(t->bells, 16);
}

/* A doorbell the host left readable: the read does not fault, nobody
 * answers, the enclave gets EFAULT. */
static void ocall_unanswered(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	assert_int_equal(emu_mprotect(t->proc, (void *)(uintptr_t)(t->host.area + PAGE), PAGE, PROT_READ), 0);
	assert_int_equal(ecall(t, OP_OCALL, SGX2EMU_EMM_OCALL_ALLOC, hole(t, 0), PAGE, REG, LAZY), EFAULT);
	expect_no_sys(t);
	assert_int_equal(t->bells, 0);
	assert_int_equal(((struct sgx2emu_emm_ocall *)(uintptr_t)t->host.area)->ret, SGX2EMU_EMM_RET_NONE);
	expect_vma(t, hole(t, 0), PROT_NONE, false);
}

/* The service leaves other exits alone, and answers a doorbell whose
 * request names the other doorbell with EINVAL (but opens it: the enclave
 * must not fault for ever). */
static void ocall_service_filters(void **state)
{
	struct emm_fx *t = *state;
	init_area(t);
	uint64_t bell0 = SGX2EMU_EMM_DOORBELL(t->host.area, 0), bell1 = SGX2EMU_EMM_DOORBELL(t->host.area, 1);
	struct sgx2emu_emm_ocall *blk = (void *)(uintptr_t)t->host.area;
	struct sgx_enclave_run run = { .function = SGX_ERESUME, .exception_vector = SGX_VEC_PF,
				       .exception_error_code = 4, .exception_addr = bell0 };
	struct sgx_enclave_run other[] = { run, run, run, run };
	other[0].function = SGX_EEXIT;
	other[1].exception_vector = SGX_VEC_GP;
	other[2].exception_addr = hole(t, 0);
	other[3].exception_addr = t->host.area;
	for (unsigned i = 0; i < 4; i++) {
		struct sgx_enclave_run before = other[i];
		assert_int_equal(sgx2emu_emm_ocall_service(&t->host, &other[i]), 0);
		assert_memory_equal(&before, &other[i], sizeof(before));
	}
	assert_int_equal(sgx2emu_emm_ocall_service(NULL, &run), 0);
	*blk = (struct sgx2emu_emm_ocall){ .seq = 1, .nr = SGX2EMU_EMM_OCALL_ALLOC, .addr = hole(t, 0), .length = PAGE,
					   .a0 = (int)REG, .a1 = LAZY, .ret = SGX2EMU_EMM_RET_NONE };
	assert_int_equal(sgx2emu_emm_ocall_service(&t->host, &run), 1);
	assert_int_equal(blk->ret, EINVAL);
	expect_no_sys(t);
	assert_int_equal(run.exception_vector, 0);
	assert_int_equal(run.exception_error_code, 0);
	assert_int_equal(run.exception_addr, 0);
	expect_vma(t, bell0, PROT_READ, false);
	expect_vma(t, bell1, PROT_NONE, false);
	/* the same through the user handler: ERESUME */
	run.exception_vector = SGX_VEC_PF;
	run.exception_addr = bell1 + 0x10;
	run.user_data = (uintptr_t)&t->host;
	blk->ret = SGX2EMU_EMM_RET_NONE;
	assert_int_equal(sgx2emu_emm_user_handler(0, 0, 0, 0, 0, 0, &run), SGX_ERESUME);
	assert_int_equal(blk->ret, 0);
	EXPECT_SYS(t, MMAP_RW(hole(t, 0), PAGE));
	expect_vma(t, bell0, PROT_NONE, false);
	expect_vma(t, bell1, PROT_READ, false);
	assert_int_equal(t->bells, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(alloc_maps_rw, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(alloc_invalid, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(alloc_mmap_fails, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_same, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_restrict, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_to_none, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_extend_wx, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_trim_remove, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_trim_dealloc, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_tcs, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_invalid, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_syscall_errors, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(modify_ioctl_loop, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(area_layout, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(ocall_doorbells, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(ocall_unanswered, emm_setup, emm_teardown),
		cmocka_unit_test_setup_teardown(ocall_service_filters, emm_setup, emm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
