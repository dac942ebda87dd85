/*
 * The Intel EMM's five entry points natively: the freestanding test enclave
 * (tests/native/encl) built with include/sgx2emu/emm_enclave.h runs
 * do_eaccept, do_emodpe and do_eacceptcopy as real ENCLU instructions, and
 * sgx_mm_alloc_ocall / sgx_mm_modify_ocall by the doorbell convention: a
 * real load that faults in enclave mode, an AEX reported through the native
 * vDSO, sgx2emu_emm_user_handler answering with the model's system calls
 * (sgx2emu_emm_sys_model: the doorbells' mprotects reach the host MMU) and
 * ERESUME retrying the load.  Each step is checked in the EPCM, the VMA and
 * the native layer's counters (leaves trapped, exceptions reported).
 *
 * Native execution is set up in the test body, not in a fixture (cmocka
 * swaps the signal handlers around each fixture; see test_selftests.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/fixture.h"
#include "common/mini_encl.h"
#include "common/native_tsan.h"
#include "driver/driver.h"
#include "native/encl_blob.h"
#include "runtime/emm_machine.h"
#include "sgx2emu/emm_backend.h"
#include "sgx2emu/native.h"
#include "sgx2emu/selftest.h"

#define PAGE    4096ull
#define HEAP_SZ 0x8000ull
#define HOLES   0x11000ull    /* image 0x9000 + heap; ELRANGE 0x20000 */

#define REG   SGX2EMU_EMA_PAGE_TYPE_REG
#define TRIM  SGX2EMU_EMA_PAGE_TYPE_TRIM
#define TCS   SGX2EMU_EMA_PAGE_TYPE_TCS
#define R     SGX2EMU_EMA_PROT_READ
#define RW    SGX2EMU_EMA_PROT_READ_WRITE
#define RX    SGX2EMU_EMA_PROT_READ_EXEC

/* tests/native/encl/encl.c's ENCL_OP_EMM */
#define ENCL_OP_EMM 0x454d4dull
enum { EMM_INIT, EMM_EACCEPT, EMM_EMODPE, EMM_EACCEPTCOPY, EMM_ALLOC_OCALL, EMM_MODIFY_OCALL };
struct op_emm {
	uint64_t type, fn, a0, a1, a2, a3, ret;
};

static const struct test_encl_image *image;

struct nt {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *thread;
	struct emu_native *native;
	vdso_sgx_enter_enclave_t vdso;
	struct encl encl;
	bool loaded;
	uint64_t base;
	struct sgx2emu_emm_host host;
	struct sgx_enclave_run run;
	struct emu_native_stats st0;
};

/* cmocka: machine, process, thread bound to this host thread. */
static int setup(void **state)
{
	struct nt *t = calloc(1, sizeof(*t));
	emm_machine_create(&t->emu, &t->proc, &t->thread);
	*state = t;
	return 0;
}

/* The enclave and its area, native execution (before the process it stands
 * for), then the machine. */
static int teardown(void **state)
{
	struct nt *t = *state;
	if (t->loaded) {
		sgx2emu_emm_area_destroy(&t->host);
		encl_delete(&t->encl);
	}
	if (t->native)
		emu_native_destroy(t->native);
	emm_machine_destroy(t->emu, t->proc, t->thread);
	free(t);
	return 0;
}

/* One EENTER of TCS #1 with op through the native vDSO (registers kept by
 * mini_enter), the EMM's OCALL service as user handler; asserts it ends in
 * EEXIT without an exception left in run. */
static void enter(struct nt *t, void *op)
{
	memset(&t->run, 0, sizeof(t->run));
	t->run.tcs = t->base + TEST_ENCL_TCS1;
	t->run.user_handler = (uintptr_t)sgx2emu_emm_user_handler;
	t->run.user_data = (uintptr_t)&t->host;
	assert_int_equal(mini_enter(t->vdso, (unsigned long)op, 0, 0, SGX_EENTER, 0, 0, &t->run), 0);
	assert_int_equal(t->run.function, SGX_EEXIT);
	assert_int_equal(t->run.exception_vector, 0);
	assert_int_equal(t->run.exception_addr, 0);
}

/* An entry point in the enclave; what it returned. */
static int64_t emm(struct nt *t, uint64_t fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct op_emm op = { ENCL_OP_EMM, fn, a0, a1, a2, a3, 0x5555 };
	enter(t, &op);
	return (int64_t)op.ret;
}

/* The enclave's 8 bytes at addr (the selftests' GET_FROM_ADDRESS). */
static uint64_t encl_peek(struct nt *t, uint64_t addr)
{
	struct encl_op_get_from_addr op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, addr };
	enter(t, &op);
	return op.value;
}

/* Native execution, the enclave with an 8-page heap, the host over the
 * model's system calls, the OCALL area given to the enclave. */
static void start(struct nt *t)
{
	t->native = emu_native_create(t->proc, NULL);
	if (!t->native)
		fail_msg("emu_native_create: %s", strerror(errno));
	t->vdso = (vdso_sgx_enter_enclave_t)emu_elf_lookup(emu_native_vdso_image(t->native),
							   "__vdso_sgx_enter_enclave");
	assert_non_null(t->vdso);
	assert_true(setup_test_encl_image(t->proc, image, HEAP_SZ, &t->encl));
	t->loaded = true;
	t->base = t->encl.encl_base;
	assert_int_equal(t->encl.encl_size, 0x20000);
	t->host = (struct sgx2emu_emm_host){ &sgx2emu_emm_sys_model, t->proc, t->encl.fd, t->base, 0x20000, 0 };
	assert_int_equal(sgx2emu_emm_area_create(&t->host), 0);
	assert_int_equal(emm(t, EMM_INIT, t->host.area, 0, 0, 0), 0);
	emu_native_stats(t->native, &t->st0);
}

/* Linear address of hole page i. */
static uint64_t hole(struct nt *t, unsigned i)
{
	return t->base + HOLES + i * PAGE;
}

/* EPCM of the enclave page at la: type, R W X, PR (asserts valid, not PENDING / MODIFIED). */
static void expect_epcm(struct nt *t, uint64_t la, unsigned pt, unsigned rwx, bool pr)
{
	struct drv_file *f = proc_file(t->proc, t->encl.fd);
	struct drv_page *p = xa_load(&f->encl->pages, la >> 12);
	struct hw_epcm_entry e;
	assert_non_null(p);
	assert_true(hw_epcm_read(emu_machine(t->emu), p->epc_frame, &e));
	assert_true(e.valid);
	assert_int_equal(e.pt, pt);
	assert_int_equal(e.r, !!(rwx & 1));
	assert_int_equal(e.w, !!(rwx & 2));
	assert_int_equal(e.x, !!(rwx & 4));
	assert_false(e.pending);
	assert_false(e.modified);
	assert_int_equal(e.pr, pr);
}

/* The model's VMA at la: its prot (asserts there is one). */
static unsigned vma_prot(struct nt *t, uint64_t la)
{
	struct drv_vma *v = mm_find_vma(t->proc->mm, la);
	assert_non_null(v);
	assert_true(v->start <= la);
	return v->prot;
}

/* Counter deltas since start: ENCLU traps of a leaf, AEXs the kernel fixed,
 * exceptions reported. */
static uint64_t leaves(struct nt *t, unsigned leaf)
{
	struct emu_native_stats st;
	emu_native_stats(t->native, &st);
	return st.enclu_by_leaf[leaf] - t->st0.enclu_by_leaf[leaf];
}

static uint64_t fixed(struct nt *t)
{
	struct emu_native_stats st;
	emu_native_stats(t->native, &st);
	return st.aex_fixed - t->st0.aex_fixed;
}

static uint64_t reported(struct nt *t)
{
	struct emu_native_stats st;
	emu_native_stats(t->native, &st);
	return st.exceptions_reported - t->st0.exceptions_reported;
}

/* COMMIT_NOW (OCALL, EACCEPT each page: faults, EAUG, retried), then the
 * permission change RW → R → RW with its OCALLs, EACCEPT(PR) and EMODPE;
 * an EACCEPT that does not match is its RAX (19); a refused OCALL is EFAULT
 * to the enclave with the host's EINVAL in the block. */
static void native_commit_and_permissions(void **state)
{
	struct nt *t = *state;
	start(t);
	struct sgx2emu_emm_ocall *blk = (void *)(uintptr_t)t->host.area;
	uint64_t a = hole(t, 0);

	assert_int_equal(emm(t, EMM_ALLOC_OCALL, a, 2 * PAGE, REG, SGX2EMU_EMA_COMMIT_NOW), 0);
	assert_int_equal(blk->seq, 0);
	assert_int_equal(blk->ret, 0);
	assert_int_equal(vma_prot(t, a + PAGE), PROT_READ | PROT_WRITE);
	assert_int_equal(reported(t), 1);   /* the doorbell, answered */
	assert_int_equal(emm(t, EMM_EACCEPT, a + PAGE, REG | RW | SGX2EMU_EMA_STATE_PENDING, 0, 0), 0);
	assert_int_equal(emm(t, EMM_EACCEPT, a, REG | RW | SGX2EMU_EMA_STATE_PENDING, 0, 0), 0);
	expect_epcm(t, a, SGX_PT_REG, RW, false);
	expect_epcm(t, a + PAGE, SGX_PT_REG, RW, false);
	assert_int_equal(leaves(t, SGX_EACCEPT), 4);   /* each faulted once on the hole, then passed */
	assert_int_equal(reported(t), 1);              /* the EAUG faults were the kernel's to fix */

	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, REG | RW, REG | R), 0);
	assert_int_equal(blk->seq, 1);
	assert_int_equal(vma_prot(t, a), PROT_READ);
	expect_epcm(t, a, SGX_PT_REG, R, true);
	assert_int_equal(emm(t, EMM_EACCEPT, a, REG | R | SGX2EMU_EMA_STATE_PR, 0, 0), 0);
	expect_epcm(t, a, SGX_PT_REG, R, false);

	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, REG | R, REG | RW), 0);
	assert_int_equal(vma_prot(t, a), PROT_READ | PROT_WRITE);
	assert_int_equal(emm(t, EMM_EMODPE, a, REG | RW | SGX2EMU_EMA_STATE_PR, 0, 0), 0);
	expect_epcm(t, a, SGX_PT_REG, RW, true);
	assert_int_equal(emm(t, EMM_EACCEPT, a, REG | RW | SGX2EMU_EMA_STATE_PR, 0, 0), 0);
	expect_epcm(t, a, SGX_PT_REG, RW, false);
	assert_int_equal(leaves(t, SGX_EMODPE), 1);

	assert_int_equal(emm(t, EMM_EACCEPT, a, REG | RW | 4 | SGX2EMU_EMA_STATE_PR, 0, 0),
			 SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, REG | RW, TCS | R), SGX2EMU_EMM_EFAULT);
	assert_int_equal(blk->ret, EINVAL);
	assert_int_equal(blk->seq, 3);
	assert_int_equal(reported(t), 4);   /* one per OCALL, nothing else */
	expect_epcm(t, a, SGX_PT_REG, RW, false);
}

/* commit_data's leaf: EACCEPTCOPY(REG|RX) of encl_buffer's page into an
 * on-demand page (EAUGed on its fault); then the trim: OCALL (MODIFY_TYPES),
 * EACCEPT(TRIM|MODIFIED), OCALL (REMOVE_PAGES): the page is gone. */
static void native_copy_and_trim(void **state)
{
	struct nt *t = *state;
	start(t);
	uint64_t a = hole(t, 3);
	assert_int_equal(emm(t, EMM_ALLOC_OCALL, a, PAGE, REG, SGX2EMU_EMA_COMMIT_ON_DEMAND), 0);
	assert_int_equal(emm(t, EMM_EACCEPTCOPY, a, t->base + TEST_ENCL_BUFFER, REG | RX, 0), 0);
	expect_epcm(t, a, SGX_PT_REG, RX, false);
	assert_int_equal(encl_peek(t, a), 1);   /* encl_buffer = { 1 } */
	/* trapped three times: the destination's #PF (the kernel EAUGs), the
	 * source's (its PTE is made on first use), then the leaf itself */
	assert_int_equal(leaves(t, SGX_EACCEPTCOPY), 3);
	assert_int_equal(fixed(t), 2);

	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, REG | RX, TRIM | RX), 0);
	struct drv_file *f = proc_file(t->proc, t->encl.fd);
	assert_non_null(xa_load(&f->encl->pages, a >> 12));
	assert_int_equal(emm(t, EMM_EACCEPT, a, TRIM | SGX2EMU_EMA_STATE_MODIFIED, 0, 0), 0);
	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, TRIM | RX, TRIM | RX), 0);
	assert_null(xa_load(&f->encl->pages, a >> 12));
	assert_int_equal(vma_prot(t, a), PROT_READ | PROT_WRITE);
	assert_int_equal(reported(t), 3);
}

/*
 * The routing the preload library does, as a table: the enclave's fd and
 * ELRANGE go to the model, everything else to the C library's table, so the
 * OCALL area is a real anonymous mapping the model never sees and the
 * doorbells' mprotects are real ones.
 */
static struct nt *routed;

/* a is in the routed enclave's ELRANGE. */
static bool in_elrange(uint64_t a)
{
	return a >= routed->base && a - routed->base < 0x20000;
}

/* Each: the model's call for the enclave's fd or ELRANGE, else the C library's. */
static int route_ioctl(void *ctx, int fd, unsigned long cmd, void *arg)
{
	(void)ctx;
	return sgx2emu_emm_sys_model.ioctl(routed->proc, fd, cmd, arg);
}

static void *route_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fd == routed->encl.fd)
		return sgx2emu_emm_sys_model.mmap(routed->proc, addr, len, prot, flags, fd, off);
	return sgx2emu_emm_sys_libc.mmap(ctx, addr, len, prot, flags, fd, off);
}

static int route_mprotect(void *ctx, void *addr, size_t len, int prot)
{
	if (in_elrange((uintptr_t)addr))
		return sgx2emu_emm_sys_model.mprotect(routed->proc, addr, len, prot);
	return sgx2emu_emm_sys_libc.mprotect(ctx, addr, len, prot);
}

static int route_munmap(void *ctx, void *addr, size_t len)
{
	if (in_elrange((uintptr_t)addr))
		return sgx2emu_emm_sys_model.munmap(routed->proc, addr, len);
	return sgx2emu_emm_sys_libc.munmap(ctx, addr, len);
}

static const struct sgx2emu_emm_sys route_sys = { route_ioctl, route_mmap, route_mprotect, route_munmap };

/* The area through the C library: the model has no VMA there, the host
 * kernel has the mapping; three OCALLs ping-pong its doorbells with real
 * mprotects, and the flow they serve works as with the model's table. */
static void native_libc_area(void **state)
{
	struct nt *t = *state;
	start(t);
	routed = t;
	sgx2emu_emm_area_destroy(&t->host);
	t->host.sys = &route_sys;
	assert_int_equal(sgx2emu_emm_area_create(&t->host), 0);
	uint64_t area = t->host.area;
	struct drv_vma *v = mm_find_vma(t->proc->mm, area);
	assert_true(!v || v->start >= area + SGX2EMU_EMM_AREA_SIZE);
	unsigned char vec[3];
	assert_int_equal(mincore((void *)(uintptr_t)area, SGX2EMU_EMM_AREA_SIZE, vec), 0);
	assert_int_equal(emm(t, EMM_INIT, area, 0, 0, 0), 0);

	uint64_t a = hole(t, 5);
	assert_int_equal(emm(t, EMM_ALLOC_OCALL, a, PAGE, REG, SGX2EMU_EMA_COMMIT_ON_DEMAND), 0);
	assert_int_equal(emm(t, EMM_EACCEPT, a, REG | RW | SGX2EMU_EMA_STATE_PENDING, 0, 0), 0);
	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, REG | RW, REG | R), 0);
	assert_int_equal(emm(t, EMM_EACCEPT, a, REG | R | SGX2EMU_EMA_STATE_PR, 0, 0), 0);
	assert_int_equal(emm(t, EMM_MODIFY_OCALL, a, PAGE, REG | R, REG | R), 0);
	expect_epcm(t, a, SGX_PT_REG, R, false);
	assert_int_equal(vma_prot(t, a), PROT_READ);
	assert_int_equal(((struct sgx2emu_emm_ocall *)(uintptr_t)area)->seq, 2);
	assert_int_equal(reported(t), 3);   /* one per OCALL */
	sgx2emu_emm_area_destroy(&t->host);
	assert_int_equal(mincore((void *)(uintptr_t)area, SGX2EMU_EMM_AREA_SIZE, vec), -1);
	assert_int_equal(errno, ENOMEM);
	routed = NULL;
}

int main(void)
{
	image = test_encl_image_from_elf(test_encl_elf_start, test_encl_elf_size());
	if (!image)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(native_commit_and_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(native_copy_and_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(native_libc_area, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("EMM entry points, native", tests, NULL, NULL);
	test_encl_image_free(image);
	return failed;
}
