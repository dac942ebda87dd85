/*
 * `sgx2emu run FILE`: scenarios of host and enclave operations with expected
 * outcomes (docs/scenario.md).  A file is parsed and checked completely
 * (scenario.c) before anything runs (scenario_run.c), so a malformed file
 * leaves nothing half-done.
 */
#ifndef SGX2EMU_TOOLS_SCENARIO_H
#define SGX2EMU_TOOLS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sgx2emu/emu.h"

/* Exit statuses */
enum { SC_PASS = 0, SC_FAIL = 1, SC_MALFORMED = 2 };

/* Runs a scenario: the trace goes to out, diagnostics ("FILE:LINE: reason")
 * to err.  name is the file name used in messages. */
int scenario_run_file(const char *path, FILE *out, FILE *err);
int scenario_run_text(const char *name, const char *text, size_t len, FILE *out, FILE *err);

/* ---- the parsed program (between scenario.c and scenario_run.c) ---- */

#define SC_MAX_FILE      (64u << 20)   /* bytes */
#define SC_MAX_LINE      4096          /* characters, without the newline */
#define SC_MAX_WORDS     256
#define SC_MAX_OPS       100000
#define SC_MAX_ENCLAVES  64
#define SC_NAME_MAX      31
#define SC_MAX_HEAP      (1ull << 30)
#define SC_MAX_EPC       (4ull << 30)

enum sc_cmd {
	SC_ENCLAVE, SC_CLOSE, SC_IOCTL, SC_MMAP, SC_MPROTECT, SC_MUNMAP,
	SC_ENTER, SC_RESUME, SC_INSPECT, SC_RECLAIM,
};

/* The upstream SGX2 ioctls and ADD_PAGES, then sgx2emu's policy extensions
 * (policy.h: RELAX under v2, MODIFY_PERMISSIONS under v1, RESET, AUGMENT_PAGES) */
enum sc_ioc {
	SC_IOC_RESTRICT, SC_IOC_MODT, SC_IOC_REMOVE, SC_IOC_ADD,
	SC_IOC_RELAX, SC_IOC_MODP, SC_IOC_RESET, SC_IOC_AUGMENT, SC_IOC_NR,
};
#define SC_IOC_LIST "restrict, modify-types, remove, add-pages, relax, modify-permissions, reset, augment"

/* Whether the ioctl's struct has a result field (an SGX code). */
static inline bool sc_ioc_has_result(enum sc_ioc ioc)
{
	return ioc == SC_IOC_RESTRICT || ioc == SC_IOC_MODT || ioc == SC_IOC_MODP || ioc == SC_IOC_RESET;
}

/* Expectation items */
enum {
	EX_OK, EX_FAIL, EX_ANY, EX_ERRNO, EX_RET, EX_COUNT, EX_RESULT,
	EX_EEXIT, EX_EXCEPTION, EX_FUNCTION, EX_VECTOR, EX_CODE, EX_ADDR,
	EX_VALUE, EX_EACCEPT_RET, EX_HAS, EX_LACKS, EX_NR,
};
#define EXB(x) (1u << (x))

/* An address: an offset from enclave encl's base, or (rel false) absolute. */
struct sc_loc {
	int encl;
	bool rel;
	uint64_t v;
};

struct sc_match {
	bool lacks;
	char *text;
	struct sc_match *next;
};

struct sc_expect {
	uint32_t have;            /* EXB(EX_*); 0 = none written: EX_OK */
	int err;
	int64_t ret;
	uint64_t count, result, function, vector, code, value, eaccept_ret;
	struct sc_loc addr;
	struct sc_match *matches;
	char *text;               /* the items as written, for messages */
};

struct sc_op {
	unsigned line;
	enum sc_cmd cmd;
	int encl;                 /* index into the program's enclaves, -1: none */
	enum sc_ioc ioc;
	uint64_t type;            /* enter: op type, ENCL_OP_* or any number */
	uint64_t tcs;             /* enter/resume: TCS, enclave offset */
	uint64_t off, len;        /* location (enclave offset) or ioctl offset; length */
	uint64_t a, b, c;         /* enter: addr, value/flags/ssa, entry; ioctl: perm/type/secinfo;
				   * mmap/mprotect: prot, MAP_PRIVATE/MAP_POPULATE;
				   * inspect: a = the enclave of the address */
	bool flag;                /* add-pages: measure; enter: raw op=N */
	char *text;               /* the command as written (words joined by one space) */
	struct sc_expect ex;
};

struct sc_encl_def {
	char name[SC_NAME_MAX + 1];
	unsigned line;
	uint64_t heap, size, end;    /* heap bytes, ELRANGE size, end of the loaded pages */
	unsigned closed_line;        /* 0: open */
};

struct sc_program {
	const char *file;
	struct emu_config cfg;
	unsigned config_line;        /* 0: defaults */
	struct sc_encl_def encls[SC_MAX_ENCLAVES];
	unsigned nr_encls;
	struct sc_op *ops;
	unsigned nr_ops, cap_ops;
	/* `sgx2emu inspect` (set after sc_parse): with stop, run only the first
	 * stop_after operations; then call at_stop, if set, with each enclave's
	 * base (0 if not built). */
	bool stop;
	unsigned stop_after;
	void (*at_stop)(void *ctx, struct emu_proc *proc, const uint64_t *bases, unsigned nr_encls);
	void *at_stop_ctx;
};

/* scenario.c: 0, or -1 after writing "FILE:LINE: reason" to err. */
int sc_parse(struct sc_program *prog, const char *name, const char *text, size_t len, FILE *err);
void sc_program_free(struct sc_program *prog);

/* scenario_run.c: SC_PASS, SC_FAIL or SC_MALFORMED (the machine could not be
 * created from the configuration). */
int sc_execute(const struct sc_program *prog, FILE *out, FILE *err);

/* Names, shared by the parser and the runner */
const char *sc_errno_name(int err);      /* "EINVAL", or NULL */

#endif
