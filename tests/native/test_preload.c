/*
 * libsgx2emu-preload.so and `sgx2emu exec`, end to end: the unmodified-style
 * host program (tests/native/host/sgx_host.c: plain libc + libcrypto, never
 * linked with libsgx2emu) runs under `sgx2emu exec` against the freestanding
 * test enclave, scenario by scenario, and must print exactly the expected
 * lines (every one a check of return value, errno, count, leaf, vector, error
 * code or enclave offset) and exit 0; then the ways exec and the preload
 * refuse to run: no program, bad options, a bad SGX2EMU_* value seen by the
 * preload, no library, a program that cannot be run or is statically linked.
 *
 * Paths: everything is found from this binary's own path,
 * BUILD/tests/native/test_preload → BUILD/sgx2emu,
 * BUILD/native/sgx_host and BUILD/native/test_encl.elf (mk/preload.mk makes
 * them prerequisites of this binary), so any BUILD directory works.  Under
 * SAN=thread the preload is not built and every test is skipped.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* SAN=thread builds have no preload (mk/preload.mk). */
#ifdef PRELOAD_NOT_BUILT
#define NEED_PRELOAD() skip()
#else
#define NEED_PRELOAD() ((void)0)
#endif

static char build[PATH_MAX], sgx2emu[PATH_MAX + 16], host[PATH_MAX + 32], elf[PATH_MAX + 32],
	preload_lib[PATH_MAX + 32];

/* What a run gave: exit status (128 + signal when killed), stdout, stderr. */
struct result {
	int status;
	char *out, *err;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* Appends what fd has to *buf (NUL-terminated); false at EOF. */
static bool drain(int fd, char **buf, size_t *len)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n <= 0)
		return false;
	*buf = realloc(*buf, *len + (size_t)n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, chunk, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
	return true;
}

/*
 * Runs argv (NULL-terminated) with a clean SGX environment: LD_PRELOAD and
 * every SGX2EMU_* variable unset, then env's "NAME=VALUE" entries set.  A
 * run that hangs is killed after 60 s (SIGALRM, survives exec).
 */
static void run(struct result *r, const char *const *env, const char *const *argv)
{
	int out[2], err[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char *const vars[] = { "LD_PRELOAD", "SGX2EMU_EPC_BYTES", "SGX2EMU_EPC_SECTIONS",
						    "SGX2EMU_LPS", "SGX2EMU_POLICY", "SGX2EMU_SGX1",
						    "SGX2EMU_VERBOSE", "SGX2EMU_CPUID" };
		for (unsigned i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			unsetenv(vars[i]);
		for (; env && *env; env++)
			putenv((char *)*env);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		alarm(60);
		execv(argv[0], (char *const *)argv);
		_exit(99);
	}
	close(out[1]);
	close(err[1]);
	memset(r, 0, sizeof(*r));
	size_t olen = 0, elen = 0;
	r->out = strdup("");
	r->err = strdup("");
	struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		assert_true(poll(p, 2, -1) > 0);
		if (p[0].revents && !drain(out[0], &r->out, &olen))
			p[0].fd = -1;
		if (p[1].revents && !drain(err[0], &r->err, &elen))
			p[1].fd = -1;
	}
	close(out[0]);
	close(err[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Prints what a run gave when a comparison is about to fail. */
static void show(const struct result *r)
{
	print_message("status %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, r->out, r->err);
}

static void assert_output(const struct result *r, int status, const char *out, const char *err)
{
	if (r->status != status || strcmp(r->out, out) || (err && strcmp(r->err, err))) {
		show(r);
		print_message("--- expected stdout\n%s---\n", out);
		if (err)
			print_message("--- expected stderr\n%s---\n", err);
	}
	assert_int_equal(r->status, status);
	assert_string_equal(r->out, out);
	if (err)
		assert_string_equal(r->err, err);
}

static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* text (r's stdout or stderr) begins with prefix; r is shown when not. */
static void assert_starts_with(const struct result *r, const char *text, const char *prefix)
{
	size_t len = strlen(prefix);
	if (strncmp(text, prefix, len))
		show(r);
	assert_int_equal(strncmp(text, prefix, len), 0);
}

/* text (r's stdout or stderr) ends with suffix; r is shown when not. */
static void assert_ends_with(const struct result *r, const char *text, const char *suffix)
{
	size_t lt = strlen(text), ls = strlen(suffix);
	if (lt < ls || strcmp(text + lt - ls, suffix))
		show(r);
	assert_true(lt >= ls);
	assert_string_equal(text + lt - ls, suffix);
}

/* Runs argv (env as run takes it) and asserts exactly its status, stdout
 * and stderr (printf's err_fmt with the rest). */
static void assert_run(const char *const *env, const char *const *argv, int status, const char *out,
		       const char *err_fmt, ...) __attribute__((format(printf, 5, 6)));
static void assert_run(const char *const *env, const char *const *argv, int status, const char *out,
		       const char *err_fmt, ...)
{
	va_list ap;
	char *err;
	va_start(ap, err_fmt);
	assert_true(vasprintf(&err, err_fmt, ap) >= 0);
	va_end(ap);
	struct result r;
	run(&r, env, argv);
	assert_output(&r, status, out, err);
	free(err);
	result_free(&r);
}

/* Runs argv (env as run takes it): its status, and line somewhere in its
 * stdout. */
static void assert_run_prints(const char *const *env, const char *const *argv, int status, const char *line)
{
	struct result r;
	run(&r, env, argv);
	if (r.status != status || !strstr(r.out, line))
		show(&r);
	assert_int_equal(r.status, status);
	assert_non_null(strstr(r.out, line));
	result_free(&r);
}

/* Whether CPUID faulting can be switched on here (in a child: it would
 * stay on in this process), and the errno when it cannot. */
static bool cpuid_faulting(int *err)
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int e = syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0 ? 0 : errno;
		ssize_t w = write(pipefd[1], &e, sizeof(e));
		_exit(w == sizeof(e) ? 0 : 1);
	}
	int e = -1;
	assert_int_equal(read(pipefd[0], &e, sizeof(e)), (ssize_t)sizeof(e));
	waitpid(pid, NULL, 0);
	close(pipefd[0]);
	close(pipefd[1]);
	*err = e;
	return e == 0;
}

static unsigned host_sgx_bit(void)
{
	unsigned a, b, c, d;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 2) & 1;
}

/* ---- the scenarios ---- */

/* restrict and emodpe begin alike (sgx_host's restrict_data_page, then a
 * write to the page that faults in the EPCM). */
#define RESTRICTED_WRITE_LINES \
	"PUT_TO_ADDRESS to the data page: EEXIT: ok\n" \
	"GET_FROM_ADDRESS from it: EEXIT: ok\n" \
	"GET_FROM_ADDRESS from it: value 0x1122334455667788: ok\n" \
	"RESTRICT_PERMISSIONS to R: 0, count 4096: ok\n" \
	"RESTRICT_PERMISSIONS result 0: ok\n" \
	"EACCEPT of the restriction: EEXIT: ok\n" \
	"EACCEPT of the restriction: EACCEPT returned 0: ok\n" \
	"PUT_TO_ADDRESS to it: ERESUME #14 error code 0x8007 at +0x4000: ok\n"

/* Each scenario's lines without the "NAME: " prefix.  cpuid's first line is
 * the instruction's view: %u is filled in (the host's SGX bit, or 1 where
 * CPUID faults and the preload emulates it). */
static const struct {
	const char *name;
	const char *lines;
} expected[] = {
	{ "putget",
	  "PUT_TO_BUFFER on TCS #1: EEXIT: ok\n"
	  "GET_FROM_BUFFER on TCS #1: EEXIT: ok\n"
	  "GET_FROM_BUFFER value 0x1122334455667788: ok\n"
	  "PUT_TO_BUFFER on TCS #2: EEXIT: ok\n"
	  "GET_FROM_BUFFER on TCS #2: EEXIT: ok\n"
	  "GET_FROM_BUFFER value 0x1122334455667789: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "augment",
	  "mmap of the page at +0xa000: ok\n"
	  "EACCEPT of the new page: EEXIT: ok\n"
	  "EACCEPT of the new page: EACCEPT returned 0: ok\n"
	  "PUT_TO_ADDRESS to it: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: value 0x1122334455667788: ok\n"
	  "munmap of the page: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "augment-fault",
	  "mmap of the page at +0xa000: ok\n"
	  "PUT_TO_ADDRESS to it: ERESUME #14 error code 0x8007 at +0xa000: ok\n"
	  "EACCEPT of it on TCS #2: EEXIT: ok\n"
	  "EACCEPT of it on TCS #2: EACCEPT returned 0: ok\n"
	  "ERESUME of TCS #1: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: value 0x1122334455667788: ok\n"
	  "munmap of the page: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "restrict",
	  RESTRICTED_WRITE_LINES
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "emodpe",
	  RESTRICTED_WRITE_LINES
	  "EMODPE to RW on TCS #2: EEXIT: ok\n"
	  "ERESUME of TCS #1: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: value 0x8877665544332211: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "mprotect",
	  "PUT_TO_ADDRESS to the data page: EEXIT: ok\n"
	  "mprotect of it to R: ok\n"
	  "PUT_TO_ADDRESS to it: ERESUME #14 error code 0x7 at +0x4000: ok\n"
	  "mprotect of it back to RW: ok\n"
	  "ERESUME of TCS #1: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: value 0x8877665544332211: ok\n"
	  "mprotect of it to RWX: EACCES: ok\n"
	  "mprotect of the heap page and the page after the image to R: ok\n"
	  "the page after the image reads 0: ok\n"
	  "PUT_TO_ADDRESS to the heap page: ERESUME #14 error code 0x6 at +0x9000: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "remove",
	  "PUT_TO_ADDRESS to the data page: EEXIT: ok\n"
	  "MODIFY_TYPES to TRIM: 0, count 4096: ok\n"
	  "REMOVE_PAGES before EACCEPT: EPERM, count 0: ok\n"
	  "EACCEPT of the trim: EEXIT: ok\n"
	  "EACCEPT of the trim: EACCEPT returned 0: ok\n"
	  "REMOVE_PAGES after EACCEPT: 0, count 4096: ok\n"
	  "EACCEPT of a new page there: EEXIT: ok\n"
	  "EACCEPT of a new page there: EACCEPT returned 0: ok\n"
	  "GET_FROM_ADDRESS from it: EEXIT: ok\n"
	  "GET_FROM_ADDRESS from it: value 0: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "signals",
	  "sigaction(SIGSEGV) with the program's handler: ok\n"
	  "sigaction(SIGSEGV) reads it back: ok\n"
	  "a read of a PROT_NONE page reached the program's SIGSEGV handler (SEGV_ACCERR, its address): ok\n"
	  "signal(SIGILL) returned the old SIG_DFL: ok\n"
	  "raise(SIGILL) reached the program's handler: ok\n"
	  "signal(SIGILL) returned the program's handler: ok\n"
	  "PUT_TO_BUFFER with the handlers in place: EEXIT: ok\n"
	  "GET_FROM_BUFFER: EEXIT: ok\n"
	  "GET_FROM_BUFFER value 0x1122334455667788: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "cpuid",
	  "CPUID instruction: leaf 7 SGX %u\n"
	  "sgx2emu_cpuid found: ok\n"
	  "sgx2emu_cpuid leaf 7: SGX and SGX_LC: ok\n"
	  "sgx2emu_cpuid leaf 0x12.0: SGX1 1 SGX2 1: ok\n"
	  "sgx2emu_cpuid leaf 0x12.2: an EPC section of 64 MiB: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "fork",
	  "child: ioctl on the inherited enclave fd: EBADF: ok\n"
	  "child: open of /dev/sgx_enclave: ENODEV: ok\n"
	  "child: close of the inherited enclave fd: ok\n"
	  "the child's checks held: ok\n"
	  "PUT_TO_BUFFER in the parent: EEXIT: ok\n"
	  "GET_FROM_BUFFER in the parent: EEXIT: ok\n"
	  "GET_FROM_BUFFER value 0x1122334455667788: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "fds",
	  "ioctl on a dup of the enclave fd: EINVAL: ok\n"
	  "close of the dup: ok\n"
	  "ioctl on a dup2 of it: EINVAL: ok\n"
	  "close of the dup2: ok\n"
	  "ioctl on the enclave fd: EINVAL: ok\n"
	  "/dev/null got the enclave fd's number: ok\n"
	  "ioctl on it: ENOTTY: ok\n"
	  "PUT_TO_BUFFER with the enclave fd gone: EEXIT: ok\n"
	  "GET_FROM_BUFFER: EEXIT: ok\n"
	  "GET_FROM_BUFFER value 0x1122334455667788: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "threads",
	  "thread 1 started: ok\n"
	  "thread 2 started: ok\n"
	  "thread 1 on TCS #1: 2000 PUT/GET round trips, 0 wrong: ok\n"
	  "thread 2 on TCS #2: 2000 PUT/GET round trips, 0 wrong: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
	{ "mremap",
	  "mmap of 2 pages at +0xa000: ok\n"
	  "mremap growing them: EFAULT: ok\n"
	  "mremap moving them: EINVAL: ok\n"
	  "mremap to the same size: the same address: ok\n"
	  "mremap shrinking them to 1 page: the same address: ok\n"
	  "EACCEPT of the first page: EEXIT: ok\n"
	  "EACCEPT of the first page: EACCEPT returned 0: ok\n"
	  "EACCEPT of the second page: ERESUME #14 error code 0x4 at +0xb000: ok\n"
	  "munmap of the enclave's whole range: ok\n"
	  "close of the enclave fd: ok\n"
	},
};

#define NR_SCENARIOS (sizeof(expected) / sizeof(expected[0]))

/* The scenario's expected stdout: each line prefixed with "NAME: ". */
static char *expected_output(unsigned i)
{
	char *lines = NULL, *out = NULL;
	int err;
	unsigned sgx = cpuid_faulting(&err) ? 1 : host_sgx_bit();
	assert_true(asprintf(&lines, expected[i].lines, sgx) > 0);
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	for (char *l = lines, *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		fprintf(f, "%s: %.*s\n", expected[i].name, (int)(nl - l), l);
	}
	fclose(f);
	free(lines);
	return out;
}

/* r is scenario i's run: status 0 and exactly its lines on stdout. */
static void assert_scenario(const struct result *r, unsigned i)
{
	char *out = expected_output(i);
	assert_output(r, 0, out, NULL);
	free(out);
}

static const char *fork_message_start = "sgx2emu: pid ";
static const char *fork_message_end = " is a fork child: SGX is emulated only in the process that loaded the preload "
				      "(an ancestor); exec a program to get an emulator of its own\n";

static const char mremap_message[] = "sgx2emu: mremap moving enclave memory is not emulated (the model has no "
				    "mremap): EINVAL\n";

/* stderr of a run: empty, or (fork) exactly the child's one message, after
 * prefix. */
static void assert_stderr(const struct result *r, const char *prefix, bool fork_message)
{
	assert_starts_with(r, r->err, prefix);
	r = &(struct result){ r->status, r->out, r->err + strlen(prefix) };
	if (!fork_message) {
		if (*r->err)
			show(r);
		assert_string_equal(r->err, "");
		return;
	}
	assert_starts_with(r, r->err, fork_message_start);
	assert_ends_with(r, r->err, fork_message_end);
	if (count(r->err, "\n") != 1)
		show(r);
	assert_int_equal(count(r->err, "\n"), 1);
}

/* Every scenario in a process of its own: its exact lines, status 0. */
static void test_each_scenario(void **state)
{
	(void)state;
	NEED_PRELOAD();
	for (unsigned i = 0; i < NR_SCENARIOS; i++) {
		struct result r;
		const char *argv[] = { sgx2emu, "exec", "--", host, elf, expected[i].name, NULL };
		run(&r, NULL, argv);
		assert_scenario(&r, i);
		assert_stderr(&r, strcmp(expected[i].name, "mremap") ? "" : mremap_message,
			      !strcmp(expected[i].name, "fork"));
		result_free(&r);
	}
}

/* All scenarios one after the other in one process: enclaves come and go,
 * fd numbers and address ranges are reused. */
static void test_all_in_one_process(void **state)
{
	(void)state;
	NEED_PRELOAD();
	const char *argv[NR_SCENARIOS + 6] = { sgx2emu, "exec", "--", host, elf };
	char *all = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&all, &len);
	assert_non_null(f);
	for (unsigned i = 0; i < NR_SCENARIOS; i++) {
		argv[5 + i] = expected[i].name;
		char *out = expected_output(i);
		fputs(out, f);
		free(out);
	}
	fclose(f);
	struct result r;
	run(&r, NULL, argv);
	assert_output(&r, 0, all, NULL);
	/* fork's child's message, then mremap's */
	assert_ends_with(&r, r.err, mremap_message);
	r.err[strlen(r.err) - strlen(mremap_message)] = '\0';
	assert_stderr(&r, "", true);
	free(all);
	result_free(&r);
}

/* --verbose: one line per call routed to the model. */
static void test_verbose(void **state)
{
	(void)state;
	NEED_PRELOAD();
	struct result r;
	const char *argv[] = { sgx2emu, "exec", "--verbose", "--", host, elf, "putget", NULL };
	run(&r, NULL, argv);
	assert_scenario(&r, 0);
	int err;
	if (cpuid_faulting(&err))
		assert_int_equal(count(r.err, "sgx2emu: CPUID faults: leaves 7 and 0x12 are emulated\n"), 1);
	else
		assert_int_equal(count(r.err, "sgx2emu: CPUID cannot be made to fault on this machine"), 1);
	assert_int_equal(count(r.err, "sgx2emu: ready: EPC 67108864 bytes in 1 section(s), 16 LPs, policy upstream, "
				      "SGX2, pid "), 1);
	assert_int_equal(count(r.err, "sgx2emu: getauxval(AT_SYSINFO_EHDR) = 0x"), 1);
	assert_int_equal(count(r.err, "sgx2emu: open(\"/dev/sgx_enclave\", 0x2) = "), 1);
	assert_int_equal(count(r.err, ", SGX_IOC_ENCLAVE_CREATE) = 0\n"), 1);
	assert_int_equal(count(r.err, ", SGX_IOC_ENCLAVE_ADD_PAGES) = 0\n"), 4);   /* TCS, text, data, heap */
	assert_int_equal(count(r.err, ", SGX_IOC_ENCLAVE_INIT) = 0\n"), 1);
	assert_int_equal(count(r.err, "sgx2emu: mmap("), 4);
	assert_int_equal(count(r.err, ", 0x11, "), 4);                            /* MAP_SHARED | MAP_FIXED */
	assert_int_equal(count(r.err, "sgx2emu: munmap("), 1);
	assert_int_equal(count(r.err, "sgx2emu: close("), 1);
	assert_int_equal(count(r.err, "\n"), 16);   /* the lines above */
	result_free(&r);
}

/* exec's options reach the preload as its variables. */
static void test_options(void **state)
{
	(void)state;
	NEED_PRELOAD();
	const char *epc[] = { sgx2emu, "exec", "--epc", "32M", "--", host, elf, "cpuid", NULL };
	assert_run_prints(NULL, epc, 0, "cpuid: sgx2emu_cpuid leaf 0x12.2: an EPC section of 32 MiB: ok\n");

	const char *sgx1[] = { sgx2emu, "exec", "--sgx1", "--", host, elf, "cpuid", NULL };
	assert_run_prints(NULL, sgx1, 0, "cpuid: sgx2emu_cpuid leaf 0x12.0: SGX1 1 SGX2 0: ok\n");

	/* the pre-SGX2 driver: the SGX2 ioctls are ENODEV, and sgx_host says so */
	const char *policy[] = { sgx2emu, "exec", "--policy=sgx1", host, elf, "restrict", NULL };
	assert_run_prints(NULL, policy, 1, "restrict: RESTRICT_PERMISSIONS to R: ENODEV, count 0: MISMATCH\n");

	const char *lps[] = { sgx2emu, "exec", "--lps", "65", "--", host, elf, "putget", NULL };
	assert_run(NULL, lps, 2, "",
		   "sgx2emu: SGX2EMU_LPS='65': expected a number of logical processors from 2 to 64 (the last one "
		   "is the kernel's)\n");
}

/* A bad value in the environment stops the program before main: status 2,
 * the variable, the value and what is accepted. */
static void test_bad_environment(void **state)
{
	(void)state;
	NEED_PRELOAD();
	static const struct {
		const char *setting, *message;
	} cases[] = {
		{ "SGX2EMU_EPC_BYTES=12345", "SGX2EMU_EPC_BYTES='12345': expected a non-zero multiple of 4096 bytes "
					     "below 16 TiB, optionally with K, M or G (e.g. 64M)" },
		{ "SGX2EMU_EPC_BYTES=64X", "SGX2EMU_EPC_BYTES='64X': expected a non-zero multiple of 4096 bytes "
					   "below 16 TiB, optionally with K, M or G (e.g. 64M)" },
		{ "SGX2EMU_EPC_SECTIONS=9", "SGX2EMU_EPC_SECTIONS='9': expected a number from 1 to 8" },
		{ "SGX2EMU_EPC_SECTIONS=3", "SGX2EMU_EPC_SECTIONS='3': the EPC's 16384 pages do not split into 3 "
					    "equal sections" },
		{ "SGX2EMU_LPS=1", "SGX2EMU_LPS='1': expected a number of logical processors from 2 to 64 (the last "
				   "one is the kernel's)" },
		{ "SGX2EMU_LPS=-4", "SGX2EMU_LPS='-4': expected a number of logical processors from 2 to 64 (the last "
				    "one is the kernel's)" },
		{ "SGX2EMU_POLICY=v3", "SGX2EMU_POLICY='v3': expected one of upstream, sgx1, v1, v2, reset, "
				       "mprotect-emodpr" },
		{ "SGX2EMU_SGX1=yes", "SGX2EMU_SGX1='yes': expected 0 or 1" },
		{ "SGX2EMU_VERBOSE=2", "SGX2EMU_VERBOSE='2': expected 0 or 1" },
		{ "SGX2EMU_CPUID=maybe", "SGX2EMU_CPUID='maybe': expected auto, require or off" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { cases[i].setting, NULL };
		const char *argv[] = { sgx2emu, "exec", "--", host, elf, "putget", NULL };
		assert_run(env, argv, 2, "", "sgx2emu: %s\n", cases[i].message);
	}
}

/* SGX2EMU_CPUID=require: where CPUID cannot fault, the program does not
 * start (status 2, why and the alternatives); where it can, the instruction
 * itself reports SGX. */
static void test_cpuid_require(void **state)
{
	(void)state;
	NEED_PRELOAD();
	const char *env[] = { "SGX2EMU_CPUID=require", NULL };
	const char *argv[] = { sgx2emu, "exec", "--", host, elf, "cpuid", NULL };
	int err;
	if (cpuid_faulting(&err))
		assert_run_prints(env, argv, 0, "cpuid: CPUID instruction: leaf 7 SGX 1\n");
	else
		assert_run(env, argv, 2, "",
			   "sgx2emu: CPUID cannot be made to fault on this machine (arch_prctl(ARCH_SET_CPUID, 0): %s): "
			   "the program's CPUID instructions report the host CPU (SGX bit %u), not the emulated one. "
			   "The emulated leaves: `sgx2emu cpuid`, or sgx2emu_cpuid() (<sgx2emu/preload.h>) from the "
			   "program\n",
			   strerror(err), host_sgx_bit());
}

/* exec's own errors, as env(1) reports them. */
static void test_exec_errors(void **state)
{
	(void)state;
	NEED_PRELOAD();
	static const char usage[] = "usage: sgx2emu exec [--epc BYTES] [--policy NAME] [--lps N] [--sgx1] [--verbose] "
				    "[--] PROGRAM [ARGS...]\n";
	const char *none[] = { sgx2emu, "exec", NULL };
	assert_run(NULL, none, 2, "", "sgx2emu exec: no program to run\n%s", usage);

	const char *dashdash[] = { sgx2emu, "exec", "--verbose", "--", NULL };
	assert_run(NULL, dashdash, 2, "", "sgx2emu exec: no program to run\n%s", usage);

	const char *policy[] = { sgx2emu, "exec", "--policy", "v3", "--", host, NULL };
	assert_run(NULL, policy, 2, "",
		   "sgx2emu exec: unknown policy 'v3' (expected one of upstream, sgx1, v1, v2, reset, "
		   "mprotect-emodpr)\n");

	const char *unknown[] = { sgx2emu, "exec", "--fast", "--", host, NULL };
	assert_run(NULL, unknown, 2, "", "sgx2emu exec: unknown option '--fast'\n%s", usage);

	const char *missing[] = { sgx2emu, "exec", "--epc", NULL };
	assert_run(NULL, missing, 2, "", "sgx2emu exec: --epc needs a value\n%s", usage);

	const char *absent[] = { sgx2emu, "exec", "--", "/nonexistent/sgx-program", NULL };
	assert_run(NULL, absent, 127, "", "sgx2emu exec: /nonexistent/sgx-program: No such file or directory\n");

	/* the test enclave is a static-pie ELF: no PT_INTERP, no dynamic loader */
	const char *static_elf[] = { sgx2emu, "exec", "--", elf, NULL };
	assert_run(NULL, static_elf, 126, "",
		   "sgx2emu exec: %s is statically linked: LD_PRELOAD cannot reach it, so it would run without the "
		   "emulator\n",
		   elf);

	const char *dir[] = { sgx2emu, "exec", "--", build, NULL };
	assert_run(NULL, dir, 126, "", "sgx2emu exec: %s: Permission denied\n", build);
}

/* A copy of sgx2emu with no library next to it or in ../lib. */
static void test_library_not_found(void **state)
{
	(void)state;
	NEED_PRELOAD();
	char dir[] = "/tmp/sgx2emu-exec-XXXXXX", copy[64];
	assert_non_null(mkdtemp(dir));
	snprintf(copy, sizeof(copy), "%s/sgx2emu", dir);
	int in = open(sgx2emu, O_RDONLY), out = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0755);
	assert_true(in >= 0 && out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	const char *argv[] = { copy, "exec", "--", host, elf, "putget", NULL };
	assert_run(NULL, argv, 2, "",
		   "sgx2emu exec: libsgx2emu-preload.so not found next to the sgx2emu binary or in ../lib from it\n");
	unlink(copy);
	rmdir(dir);
}

/* LD_PRELOAD keeps what it held, after the library (and, in a SAN=1
 * build, after the ASan runtime before it). */
static void test_ld_preload_kept(void **state)
{
	(void)state;
	NEED_PRELOAD();
	struct result r;
	/* an ASan-built sgx2emu (SAN=1) would refuse to start with anything
	 * but ASan first in LD_PRELOAD; the check is not what is tested here */
	const char *env[] = { "LD_PRELOAD=libc.so.6", "ASAN_OPTIONS=verify_asan_link_order=0", NULL };
	const char *argv[] = { sgx2emu, "exec", "--", "/bin/sh", "-c", "printf '%s' \"$LD_PRELOAD\"", NULL };
	run(&r, env, argv);
	assert_int_equal(r.status, 0);
	char *tail;
	assert_true(asprintf(&tail, "%s:libc.so.6", preload_lib) > 0);
	assert_ends_with(&r, r.out, tail);
	free(tail);
	result_free(&r);
}

/* BUILD from this binary's path (BUILD/tests/native/test_preload). */
static int setup(void **state)
{
	(void)state;
	ssize_t n = readlink("/proc/self/exe", build, sizeof(build) - 1);
	if (n <= 0)
		return -1;
	build[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(build, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	snprintf(sgx2emu, sizeof(sgx2emu), "%s/sgx2emu", build);
	snprintf(host, sizeof(host), "%s/native/sgx_host", build);
	snprintf(elf, sizeof(elf), "%s/native/test_encl.elf", build);
	snprintf(preload_lib, sizeof(preload_lib), "%s/libsgx2emu-preload.so", build);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_scenario),   cmocka_unit_test(test_all_in_one_process),
		cmocka_unit_test(test_verbose),         cmocka_unit_test(test_options),
		cmocka_unit_test(test_bad_environment), cmocka_unit_test(test_cpuid_require),
		cmocka_unit_test(test_exec_errors),     cmocka_unit_test(test_library_not_found),
		cmocka_unit_test(test_ld_preload_kept),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
