/*
 * system.c: machine configuration and creation, the fd table (open / close /
 * ioctl dispatch with Linux's errno), processes and fork, threads on their
 * own LPs with the kernel's LP reserved, the calling thread's binding, and
 * emu_inspect_page.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/emu_fixture.h"
#include "driver/driver.h"

#define PG SGX_PAGE_SIZE
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static struct efx *F(void **state)
{
	return *state;
}

/* ---- machine ---- */

static void test_config_defaults(void **state)
{
	(void)state;
	struct emu_config c;
	struct hw_config hw;
	memset(&c, 0xa5, sizeof(c));
	emu_config_defaults(&c);
	hw_config_defaults(&hw);
	assert_int_equal(c.reclaim_batch, 16);
	assert_int_equal(c.low_watermark, 32);
	assert_int_equal(c.high_watermark, 64);
	assert_memory_equal(&c.hw, &hw, sizeof(hw));
}

static void test_create_errors(void **state)
{
	(void)state;
	struct emu_config c;
	emu_config_defaults(&c);
	c.reclaim_batch = 0;
	errno = 0;
	assert_null(emu_create(&c));
	assert_int_equal(errno, EINVAL);
	emu_config_defaults(&c);
	c.low_watermark = 65;
	errno = 0;
	assert_null(emu_create(&c));
	assert_int_equal(errno, EINVAL);
	emu_config_defaults(&c);
	c.hw.epc_bytes = 1000;           /* the hardware model refuses it */
	errno = 0;
	assert_null(emu_create(&c));
	assert_int_equal(errno, EINVAL);

	/* NULL: all defaults (64 MiB EPC, 4 LPs), every frame free */
	struct emu *emu = emu_create(NULL);
	assert_non_null(emu);
	assert_int_equal(hw_epc_size(emu_machine(emu)), 64ull << 20);
	assert_int_equal(hw_nr_lps(emu_machine(emu)), 4);
	assert_int_equal(epc_nr_free(emu), hw_epc_frames(emu_machine(emu)));
	assert_int_equal(emu->cfg.low_watermark, 32);
	emu_destroy(emu);
	emu_destroy(NULL);
}

/* ---- files ---- */

static void test_open_close(void **state)
{
	struct efx *f = F(state);
	struct emu_proc *p = f->proc;
	int a = emu_open(p, "/dev/sgx_enclave", O_RDWR);
	int b = emu_open(p, "/dev/sgx_provision", O_RDONLY);
	int c = emu_open(p, "/dev/sgx_enclave", O_RDONLY | O_CLOEXEC);
	assert_int_equal(a, 3);
	assert_int_equal(b, 4);
	assert_int_equal(c, 5);
	assert_int_equal(proc_file(p, a)->kind, DRV_FILE_ENCLAVE);
	assert_non_null(proc_file(p, a)->encl);
	assert_int_equal(proc_file(p, b)->kind, DRV_FILE_PROVISION);
	assert_null(proc_file(p, b)->encl);
	assert_ptr_not_equal(proc_file(p, a)->encl, proc_file(p, c)->encl);   /* an enclave per open */
	assert_int_equal(proc_file(p, c)->f_flags & O_ACCMODE, O_RDONLY);

	assert_errno(emu_open(p, "/dev/sgx_vepc", O_RDWR), ENOENT);
	assert_errno(emu_open(p, "/dev/sgx", O_RDWR), ENOENT);
	assert_errno(emu_open(p, "/dev/sgx_enclave/", O_RDWR), ENOENT);
	assert_errno(emu_open(p, NULL, O_RDWR), EFAULT);
	assert_errno(emu_open(p, "/dev/sgx_enclave", O_RDWR | O_DIRECTORY), ENOTDIR);

	/* the lowest free descriptor is reused */
	assert_int_equal(emu_close(p, b), 0);
	assert_null(proc_file(p, b));
	assert_int_equal(emu_open(p, "/dev/sgx_enclave", O_RDWR), 4);
	assert_errno(emu_close(p, b + 100), EBADF);
	assert_errno(emu_close(p, -1), EBADF);
	assert_errno(emu_close(p, DRV_MAX_FDS), EBADF);
	assert_errno(emu_close(p, 0), EBADF);
	assert_int_equal(emu_close(p, a), 0);
	assert_errno(emu_close(p, a), EBADF);
	assert_null(proc_file(p, -5));
	assert_null(proc_file(p, DRV_MAX_FDS));
}

static void test_fd_table_full(void **state)
{
	struct efx *f = F(state);
	for (int fd = DRV_FD_BASE; fd < DRV_MAX_FDS; fd++)
		assert_int_equal(emu_open(f->proc, "/dev/sgx_provision", O_RDWR), fd);
	assert_errno(emu_open(f->proc, "/dev/sgx_enclave", O_RDWR), EMFILE);
	assert_int_equal(emu_close(f->proc, 100), 0);
	assert_int_equal(emu_open(f->proc, "/dev/sgx_enclave", O_RDWR), 100);
}

static void test_ioctl_dispatch(void **state)
{
	struct efx *f = F(state);
	struct emu_proc *p = f->proc;
	int e = emu_open(p, "/dev/sgx_enclave", O_RDWR);
	int prov = emu_open(p, "/dev/sgx_provision", O_RDWR);
	struct sgx_enclave_create cr = { .src = 0 };

	assert_errno(emu_ioctl(p, 42, SGX_IOC_ENCLAVE_CREATE, &cr), EBADF);
	assert_errno(emu_ioctl(p, -1, SGX_IOC_ENCLAVE_CREATE, &cr), EBADF);
	/* /dev/sgx_provision has no ioctls at all */
	assert_errno(emu_ioctl(p, prov, SGX_IOC_ENCLAVE_CREATE, &cr), ENOTTY);
	assert_errno(emu_ioctl(p, prov, SGX_IOC_ENCLAVE_PROVISION, &cr), ENOTTY);
	/* enclave files: the driver decides (unknown command, bad user pointers) */
	assert_errno(emu_ioctl(p, e, 0xA4ff, &cr), ENOTTY);
	assert_errno(emu_ioctl(p, e, SGX_IOC_ENCLAVE_CREATE, NULL), EFAULT);
	assert_errno(emu_ioctl(p, e, SGX_IOC_ENCLAVE_CREATE, &cr), EFAULT);   /* src = 0 */
	/* the ioctl flag is clear again after each call: no EBUSY */
	assert_int_equal(atomic_load(&proc_file(p, e)->encl->flags) & DRV_ENCL_IOCTL, 0);
}

/* ---- processes ---- */

static void test_fork_files(void **state)
{
	struct efx *f = F(state);
	struct emu_proc *p = f->proc;
	int e = emu_open(p, "/dev/sgx_enclave", O_RDWR);
	int prov = emu_open(p, "/dev/sgx_provision", O_RDWR);
	struct drv_file *file = proc_file(p, e);
	assert_int_equal(atomic_load(&file->refcount), 1);

	struct emu_proc *c = emu_fork(p);
	assert_non_null(c);
	assert_ptr_not_equal(c->mm, p->mm);
	assert_ptr_equal(c->emu, f->emu);
	assert_ptr_equal(proc_file(c, e), file);              /* the same open file */
	assert_ptr_equal(proc_file(c, prov), proc_file(p, prov));
	assert_int_equal(atomic_load(&file->refcount), 2);
	assert_int_equal(emu_close(c, e), 0);
	assert_int_equal(atomic_load(&file->refcount), 1);
	assert_ptr_equal(proc_file(p, e), file);
	/* the child's own opens do not show in the parent */
	assert_int_equal(emu_open(c, "/dev/sgx_enclave", O_RDWR), e);
	assert_ptr_not_equal(proc_file(c, e), file);
	emu_proc_exit(c);
	assert_int_equal(atomic_load(&file->refcount), 1);
	assert_int_equal(proc_file(p, prov)->refcount, 1);
}

static void test_exit_with_threads_aborts(void **state)
{
	struct efx *f = F(state);
	struct emu_thread *t = emu_thread_create(f->proc);
	assert_non_null(t);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		emu_proc_exit(f->proc);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	emu_thread_destroy(t);
}

/* ---- threads and LPs ---- */

static void test_threads_lps(void **state)
{
	(void)state;
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = 64 * PG;
	cfg.hw.nr_lps = 4;
	struct efx *f = efx_new(&cfg);
	struct hw_machine *m = emu_machine(f->emu);
	struct drv_mm *mm = f->proc->mm;

	assert_ptr_equal(emu_kernel_lp(f->emu), hw_lp_get(m, 3));     /* the last LP */
	struct emu_thread *t[3];
	for (unsigned i = 0; i < 3; i++) {
		t[i] = emu_thread_create(f->proc);
		assert_non_null(t[i]);
		assert_ptr_equal(emu_thread_lp(t[i]), hw_lp_get(m, i));
		assert_int_equal(t[i]->lp_index, i);
		assert_ptr_equal(t[i]->proc, f->proc);
		assert_int_equal(atomic_load(&mm->cpumask), (2ull << i) - 1);
	}
	errno = 0;
	assert_null(emu_thread_create(f->proc));
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(atomic_load(&f->proc->nr_threads), 3);

	/* a thread of another process on the same machine: its own mm's mask */
	struct emu_proc *other = emu_proc_create(f->emu);
	emu_thread_destroy(t[1]);
	assert_int_equal(atomic_load(&mm->cpumask), 0x5);
	struct emu_thread *o = emu_thread_create(other);
	assert_non_null(o);
	assert_int_equal(o->lp_index, 1);                           /* the lowest free LP */
	assert_int_equal(atomic_load(&other->mm->cpumask), 0x2);
	assert_int_equal(atomic_load(&mm->cpumask), 0x5);
	emu_thread_destroy(o);
	emu_proc_exit(other);

	/* the LP's page table is the process's: a fault-in by the kernel is seen */
	char *p = emu_mmap(f->proc, NULL, PG, PROT_READ | PROT_WRITE, ANON, -1, 0);
	p[0] = 42;
	assert_int_equal(drv_handle_fault(mm, (uint64_t)(uintptr_t)p, SGX_PFEC_U), DRV_FAULT_NOPAGE);
	uint8_t v = 0;
	struct sgx_result r = hw_lp_read(emu_thread_lp(t[0]), (uint64_t)(uintptr_t)p, &v, 1);
	assert_true(sgx_ok(r));
	assert_int_equal(v, 42);
	/* after destroy, the LP runs no page table of this mm: its TLB is gone */
	struct hw_lp *lp0 = emu_thread_lp(t[0]);
	emu_thread_destroy(t[0]);
	r = hw_lp_read(lp0, (uint64_t)(uintptr_t)p, &v, 1);
	assert_int_equal(r.vector, SGX_VEC_PF);
	emu_thread_destroy(t[2]);
	assert_int_equal(atomic_load(&mm->cpumask), 0);
	assert_int_equal(atomic_load(&f->proc->nr_threads), 0);
	efx_free(f);
}

static void test_single_lp_no_threads(void **state)
{
	(void)state;
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = 64 * PG;
	cfg.hw.nr_lps = 1;
	struct efx *f = efx_new(&cfg);
	assert_ptr_equal(emu_kernel_lp(f->emu), hw_lp_get(emu_machine(f->emu), 0));
	errno = 0;
	assert_null(emu_thread_create(f->proc));
	assert_int_equal(errno, EAGAIN);
	efx_free(f);
}

struct bind_arg {
	struct emu *emu;
	struct emu_thread *seen;
	struct hw_lp *kernel_lp;
};

static void *other_host_thread(void *p)
{
	struct bind_arg *a = p;
	a->seen = emu_current_thread();
	a->kernel_lp = emu_kernel_lp(a->emu);
	return NULL;
}

static void test_bind_current(void **state)
{
	struct efx *f = F(state);
	struct hw_machine *m = emu_machine(f->emu);
	assert_null(emu_current_thread());
	struct emu_thread *t = emu_thread_create(f->proc);
	assert_null(emu_current_thread());           /* creating does not bind */
	emu_thread_bind(t);
	assert_ptr_equal(emu_current_thread(), t);
	/* ENCLS for this caller run on its own LP */
	assert_ptr_equal(emu_kernel_lp(f->emu), emu_thread_lp(t));

	/* the binding is per host thread */
	struct bind_arg a = { .emu = f->emu };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_host_thread, &a), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(a.seen);
	assert_ptr_equal(a.kernel_lp, hw_lp_get(m, hw_nr_lps(m) - 1));

	/* bound to a thread of another machine: this machine's kernel LP */
	struct efx *g = efx_new(NULL);
	assert_ptr_equal(emu_kernel_lp(g->emu), hw_lp_get(emu_machine(g->emu), 3));
	efx_free(g);

	emu_thread_destroy(t);                       /* unbinds the caller */
	assert_null(emu_current_thread());
	assert_ptr_equal(emu_kernel_lp(f->emu), hw_lp_get(m, hw_nr_lps(m) - 1));
	emu_thread_bind(NULL);
	assert_null(emu_current_thread());
}

/* ---- inspection ---- */

static void test_inspect_page(void **state)
{
	struct efx *f = F(state);
	struct drv_mm *mm = f->proc->mm;
	char line[512];
	char *p = emu_mmap(f->proc, NULL, PG, PROT_READ | PROT_WRITE, ANON, -1, 0);
	uint64_t a = (uint64_t)(uintptr_t)p;
	char want[256];

	int n = emu_inspect_page(f->proc, a + 5, line, sizeof(line));
	snprintf(want, sizeof(want), "0x%llx: VMA 0x%llx-0x%llx rw- anon,private,mayexec,maywrite; no PTE",
		 (unsigned long long)a, (unsigned long long)a, (unsigned long long)a + PG);
	assert_string_equal(line, want);
	assert_int_equal(n, strlen(want));
	assert_int_equal(drv_handle_fault(mm, a, SGX_PFEC_U), DRV_FAULT_NOPAGE);
	emu_inspect_page(f->proc, a, line, sizeof(line));
	snprintf(want, sizeof(want), "0x%llx: VMA 0x%llx-0x%llx rw- anon,private,mayexec,maywrite; PTE rw- -> host 0x%llx",
		 (unsigned long long)a, (unsigned long long)a, (unsigned long long)a + PG, (unsigned long long)a);
	assert_string_equal(line, want);
	/* snprintf semantics: truncated, NUL-terminated, full length returned */
	char small[8];
	assert_int_equal(emu_inspect_page(f->proc, a, small, sizeof(small)), strlen(want));
	assert_memory_equal(small, want, 7);
	assert_int_equal(small[7], 0);
	small[0] = 'x';
	assert_int_equal(emu_inspect_page(f->proc, a, small, 0), strlen(want));
	assert_int_equal(small[0], 'x');
	assert_int_equal(emu_inspect_page(f->proc, a, NULL, 0), strlen(want));
	emu_munmap(f->proc, p, PG);
	emu_inspect_page(f->proc, a, line, sizeof(line));
	snprintf(want, sizeof(want), "0x%llx: no VMA; no PTE", (unsigned long long)a);
	assert_string_equal(line, want);
}

static void test_inspect_enclave_page(void **state)
{
	struct efx *f = F(state);
	struct efx_encl e;
	char line[512], epcm[256], want[768];
	assert_int_equal(efx_encl_create(f, &e, 0x10000, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), 0);
	assert_int_equal(efx_encl_add(f, &e, 0x1000, PG, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, NULL, true), 0);
	assert_ptr_equal(efx_encl_map(f, &e, 0, 0x10000, PROT_READ), efx_ptr(e.base));
	uint64_t a = e.base + 0x1000;

	emu_inspect_page(f->proc, a, line, sizeof(line));
	snprintf(want, sizeof(want),
		 "0x%llx: VMA 0x%llx-0x%llx r-- sgx,shared,mayexec,maywrite; no PTE; page max r-- type 2",
		 (unsigned long long)a, (unsigned long long)e.base, (unsigned long long)e.base + 0x10000);
	assert_string_equal(line, want);
	assert_int_equal(drv_handle_fault(f->proc->mm, a, SGX_PFEC_U), DRV_FAULT_NOPAGE);
	struct drv_page *page = xa_load(&proc_file(f->proc, e.fd)->encl->pages, a >> 12);
	uint32_t frame = page->epc_frame;
	hw_epcm_format(emu_machine(f->emu), frame, epcm, sizeof(epcm));
	emu_inspect_page(f->proc, a, line, sizeof(line));
	snprintf(want, sizeof(want),
		 "0x%llx: VMA 0x%llx-0x%llx r-- sgx,shared,mayexec,maywrite; PTE r-- -> EPC frame %u; EPCM %s; "
		 "page max r-- type 2",
		 (unsigned long long)a, (unsigned long long)e.base, (unsigned long long)e.base + 0x10000, frame, epcm);
	assert_string_equal(line, want);
	/* an unbacked page of the enclave (not initialized: no EAUG) */
	emu_inspect_page(f->proc, e.base + 0x2000, line, sizeof(line));
	assert_non_null(strstr(line, "; no PTE; no enclave page"));
	efx_encl_destroy(f, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test_setup_teardown(test_open_close, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_fd_table_full, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_ioctl_dispatch, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_fork_files, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_exit_with_threads_aborts, efx_setup, efx_teardown),
		cmocka_unit_test(test_threads_lps),
		cmocka_unit_test(test_single_lp_no_threads),
		cmocka_unit_test_setup_teardown(test_bind_current, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_inspect_page, efx_setup, efx_teardown),
		cmocka_unit_test_setup_teardown(test_inspect_enclave_page, efx_setup, efx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
