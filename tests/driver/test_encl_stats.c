/*
 * emu_encl_stats: the driver's memory for one enclave, as bench_driver
 * reports it.  Counts follow the pages the driver tracks (added, EAUGed,
 * removed), sizes are the structures' own, and the errors are a system
 * call's (EBADF, EINVAL).
 */
#include "driver/sgx2_fx.h"

static int setup(void **state)
{
	*state = sx_new();
	return 0;
}

static int teardown(void **state)
{
	sx_free(*state);
	return 0;
}

#define assert_errno_equal(call, err) do { \
		errno = 0; \
		assert_int_equal((call), -1); \
		assert_int_equal(errno, (err)); \
	} while (0)

#define ADDED_PAGES 13   /* sgx2_fx.h's layout: 2 TCS, 3 SSA, 5 data + scratch, code, read-only */

static void stats(struct sx *s, struct emu_encl_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	assert_int_equal(emu_encl_stats(s->proc, s->fd, st), 0);
}

/* Every field against the driver's structures it stands for. */
static void assert_consistent(struct sx *s, const struct emu_encl_stats *st, uint64_t pages)
{
	assert_int_equal(st->pages, pages);
	assert_int_equal(st->resident, pages);
	assert_int_equal(st->va_pages, 1);   /* CREATE's grow made it; 512 pages fit */
	assert_int_equal(st->page_bytes, pages * sizeof(struct drv_page));
	assert_int_equal(st->xarray_bytes, xa_bytes(&s->encl->pages));
	assert_true(st->xarray_bytes > 0);
	assert_int_equal(st->va_bytes, sizeof(struct drv_va_page));
	assert_int_equal(st->encl_bytes, sizeof(struct drv_encl) + sizeof(struct drv_encl_mm));
	assert_int_equal(st->pt_bytes, hw_pt_bytes(s->mm->pt));
	assert_int_equal(st->backing_bytes, 0);
	assert_int_equal(st->metadata_bytes,
			 st->page_bytes + st->xarray_bytes + st->va_bytes + st->encl_bytes + st->pt_bytes);
}

static void test_added_pages(void **state)
{
	struct sx *s = *state;
	struct emu_encl_stats st;
	stats(s, &st);
	assert_consistent(s, &st, ADDED_PAGES);
}

/* A page EAUGed by a fault counts; once trimmed and removed it no longer does. */
static void test_eaug_then_remove(void **state)
{
	struct sx *s = *state;
	struct emu_encl_stats st;
	sx_augment(s, SX_HOLES, true);
	sx_augment(s, SX_HOLES + SGX_PAGE_SIZE, true);
	stats(s, &st);
	assert_consistent(s, &st, ADDED_PAGES + 2);

	struct sgx_enclave_modify_types mt;
	struct sgx_enclave_remove_pages rp;
	assert_int_equal(sx_modt(s, SX_HOLES, SGX_PAGE_SIZE, SGX_PT_TRIM, &mt), 0);
	assert_int_equal(sx_eaccept(s, SX_HOLES, SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED), 0);
	assert_int_equal(sx_remove(s, SX_HOLES, SGX_PAGE_SIZE, &rp), 0);
	stats(s, &st);
	assert_consistent(s, &st, ADDED_PAGES + 1);
}

/* A second mm mapping the enclave adds its mm_list entry and nothing else. */
static void test_forked_mm(void **state)
{
	struct sx *s = *state;
	struct emu_encl_stats st, child;
	stats(s, &st);
	struct emu_proc *c = emu_fork(s->proc);
	assert_non_null(c);
	memset(&child, 0, sizeof(child));
	assert_int_equal(emu_encl_stats(c, s->fd, &child), 0);
	assert_int_equal(child.pages, st.pages);
	assert_int_equal(child.encl_bytes, st.encl_bytes + sizeof(struct drv_encl_mm));
	assert_int_equal(child.pt_bytes, hw_pt_bytes(c->mm->pt));
	emu_proc_exit(c);
}

static void test_errors(void **state)
{
	struct sx *s = *state;
	struct emu_encl_stats st;
	assert_errno_equal(emu_encl_stats(s->proc, -1, &st), EBADF);
	assert_errno_equal(emu_encl_stats(s->proc, DRV_MAX_FDS, &st), EBADF);
	assert_errno_equal(emu_encl_stats(s->proc, s->fd + 1, &st), EBADF);
	int pfd = emu_open(s->proc, "/dev/sgx_provision", O_RDWR);
	assert_true(pfd >= 0);
	assert_errno_equal(emu_encl_stats(s->proc, pfd, &st), EINVAL);
	assert_errno_equal(emu_encl_stats(s->proc, s->fd, NULL), EINVAL);
	assert_int_equal(emu_close(s->proc, pfd), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_added_pages),
		T(test_eaug_then_remove),
		T(test_forked_mm),
		T(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
