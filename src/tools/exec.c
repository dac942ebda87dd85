/*
 * `sgx2emu exec [OPTIONS] [--] PROGRAM [ARGS...]`: runs PROGRAM against the
 * emulator, through libsgx2emu-preload.so (docs/preload.md).  The options
 * become the preload's environment variables; LD_PRELOAD gets the library
 * in front of what it held; then PROGRAM replaces this process (execvp).
 *
 * The library is the one next to this binary (the build directory) or in
 * ../lib from it (an installed bin/sgx2emu and lib/libsgx2emu-preload.so).
 * In a sanitizer build the ASan runtime goes first in LD_PRELOAD (the
 * preload is built with it, and ASan must be loaded before anything else).
 *
 * A statically linked PROGRAM (an ELF without PT_INTERP) is refused: the
 * dynamic loader never runs for it, so LD_PRELOAD would be ignored and it
 * would run without the emulator.
 *
 * Exit status, as env(1): 2 for a usage error or no library; 127 when
 * PROGRAM is not found, 126 when it cannot be run (or is static);
 * otherwise PROGRAM's.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgx2emu/policy.h"
#include "tools.h"

#define PRELOAD_NAME "libsgx2emu-preload.so"

static int usage(void)
{
	fprintf(stderr, "usage: sgx2emu exec [--epc BYTES] [--policy NAME] [--lps N] [--sgx1] [--verbose] [--] "
			"PROGRAM [ARGS...]\n");
	return 2;
}

/* The preload library's path into buf: next to /proc/self/exe, else in
 * ../lib from there.  0, or -1 when neither exists. */
static int find_library(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	static const char *const where[] = { "%s/" PRELOAD_NAME, "%s/../lib/" PRELOAD_NAME };
	for (unsigned i = 0; i < 2; i++) {
		if ((size_t)snprintf(buf, len, where[i], exe) >= len)
			continue;
		if (access(buf, R_OK) == 0)
			return 0;
	}
	return -1;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (and *i moved
 * past it), or NULL if argv[*i] is not that option. */
static const char *option(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t len = strlen(name);
	if (strncmp(argv[*i], name, len))
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* prog's file as execvp would find it (PATH, default /bin:/usr/bin) into
 * buf: 0, or -1 when there is none (execvp then says why). */
static int resolve(const char *prog, char *buf, size_t len)
{
	if (strchr(prog, '/'))
		return (size_t)snprintf(buf, len, "%s", prog) < len ? 0 : -1;
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		const char *colon = strchrnul(p, ':');
		int n = (int)(colon - p);
		if ((size_t)snprintf(buf, len, "%.*s%s%s", n, p, n ? "/" : "", prog) < len &&
		    access(buf, X_OK) == 0)
			return 0;
		if (!*colon)
			return -1;
		p = colon;
	}
}

/* Whether path is an ELF64 executable without PT_INTERP (statically
 * linked).  Anything unreadable or not ELF64 is left to execvp. */
static bool is_static_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf64_Ehdr eh;
	bool is_static = false;
	if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
	    (eh.e_type == ET_EXEC || eh.e_type == ET_DYN)) {
		is_static = true;
		for (unsigned i = 0; i < eh.e_phnum && is_static; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
				is_static = false;   /* damaged: execvp's to judge */
			else if (ph.p_type == PT_INTERP)
				is_static = false;
		}
	}
	close(fd);
	return is_static;
}

static int set(const char *name, const char *value)
{
	if (setenv(name, value, 1)) {
		perror("sgx2emu exec: setenv");
		return -1;
	}
	return 0;
}

int cmd_exec(int argc, char **argv)
{
	int i = 0;
	for (; i < argc; i++) {
		const char *a = argv[i], *v;
		bool missing = false;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if ((v = option(argc, argv, &i, "--epc", &missing))) {
			if (set("SGX2EMU_EPC_BYTES", v))
				return 2;
		} else if ((v = option(argc, argv, &i, "--lps", &missing))) {
			if (set("SGX2EMU_LPS", v))
				return 2;
		} else if ((v = option(argc, argv, &i, "--policy", &missing))) {
			enum emu_policy p;
			if (emu_policy_from_name(v, &p)) {
				fprintf(stderr, "sgx2emu exec: unknown policy '%s' (expected one of", v);
				for (unsigned k = 0; k < EMU_POLICY_COUNT; k++)
					fprintf(stderr, "%s %s", k ? "," : "", emu_policy_name((enum emu_policy)k));
				fprintf(stderr, ")\n");
				return 2;
			}
			if (set("SGX2EMU_POLICY", v))
				return 2;
		} else if (!strcmp(a, "--sgx1")) {
			if (set("SGX2EMU_SGX1", "1"))
				return 2;
		} else if (!strcmp(a, "--verbose")) {
			if (set("SGX2EMU_VERBOSE", "1"))
				return 2;
		} else {
			if (missing)
				fprintf(stderr, "sgx2emu exec: %s needs a value\n", a);
			else
				fprintf(stderr, "sgx2emu exec: unknown option '%s'\n", a);
			return usage();
		}
	}
	if (i >= argc) {
		fprintf(stderr, "sgx2emu exec: no program to run\n");
		return usage();
	}

	char lib[PATH_MAX];
	if (find_library(lib, sizeof(lib))) {
		fprintf(stderr, "sgx2emu exec: " PRELOAD_NAME " not found next to the sgx2emu binary or in ../lib "
				"from it\n");
		return 2;
	}
	const char *old = getenv("LD_PRELOAD");
	char *preload = NULL;
#ifdef SGX2EMU_SAN_PRELOAD
	const char *first = SGX2EMU_SAN_PRELOAD ":";
#else
	const char *first = "";
#endif
	if (asprintf(&preload, "%s%s%s%s", first, lib, old && *old ? ":" : "", old ? old : "") < 0 ||
	    set("LD_PRELOAD", preload))
		return 2;
	free(preload);

	char path[PATH_MAX];
	if (!resolve(argv[i], path, sizeof(path)) && is_static_elf(path)) {
		fprintf(stderr, "sgx2emu exec: %s is statically linked: LD_PRELOAD cannot reach it, so it would run "
				"without the emulator\n", argv[i]);
		return 126;
	}
	execvp(argv[i], argv + i);
	int err = errno;
	fprintf(stderr, "sgx2emu exec: %s: %s\n", argv[i], strerror(err));
	return err == ENOENT ? 127 : 126;
}
