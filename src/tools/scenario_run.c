/*
 * Scenario files: running a parsed program on a fresh machine, one process
 * and one thread bound to the calling host thread.  Each operation prints
 * one trace line "LINE: COMMAND -> OUTCOME"; the first expectation that does
 * not hold stops the run.  Addresses in the trace are enclave offsets, so the
 * same file gives the same trace wherever the host placed the enclaves.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sgx2emu/arch.h"
#include "sgx2emu/selftest.h"
#include "scenario.h"
#include "tools.h"

/* An op struct in untrusted memory (the enclave reads and writes it). */
struct op_buf {
	uint64_t w[8];
	struct op_buf *next;
};

/* The op last entered on a TCS: what ERESUME continues. */
struct pending {
	uint64_t tcs;
	struct op_buf *buf;
};

struct rt_encl {
	struct encl encl;
	bool built;
	struct pending *pend;
	unsigned nr_pend;
};

struct rt {
	const struct sc_program *prog;
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *thread;
	struct rt_encl *encls;
	struct op_buf *bufs;
	FILE *out, *err;
};

struct outcome {
	bool ok;
	int64_t ret;
	int err;
	bool has_count, has_value, has_eaccept_ret, eexit, exception;
	uint64_t count, result, value, eaccept_ret, function, vector, code, addr;
	char text[4096];
};

#define ADD(o, ...) snprintf((o)->text + strlen((o)->text), sizeof((o)->text) - strlen((o)->text), __VA_ARGS__)

static void add_errno(struct outcome *o, int err)
{
	const char *name = sc_errno_name(err);
	if (name)
		ADD(o, "errno=%s", name);
	else
		ADD(o, "errno=%d", err);
}

/* +0xOFF inside enclave cur, NAME+0xOFF inside another, else absolute. */
static void fmt_addr(const struct rt *rt, int cur, uint64_t a, char *buf, size_t len)
{
	for (unsigned i = 0; i < rt->prog->nr_encls; i++) {
		const struct rt_encl *re = &rt->encls[i];
		if (!re->built || a < re->encl.encl_base || a - re->encl.encl_base > re->encl.encl_size)
			continue;
		snprintf(buf, len, "%s+0x%llx", (int)i == cur ? "" : rt->prog->encls[i].name,
			 (unsigned long long)(a - re->encl.encl_base));
		return;
	}
	snprintf(buf, len, "0x%llx", (unsigned long long)a);
}

/* emu_inspect_page's line with every hex number that is an enclave address
 * written as an offset; other addresses (host memory) as "host". */
static void rewrite_addresses(const struct rt *rt, int cur, const char *in, struct outcome *o)
{
	while (*in) {
		if (in[0] == '0' && in[1] == 'x') {
			char *end;
			uint64_t a = strtoull(in + 2, &end, 16);
			char buf[64];
			fmt_addr(rt, cur, a, buf, sizeof(buf));
			ADD(o, "%s", buf[0] == '0' && a >= 0x10000 ? "host" : buf);
			in = end;
		} else {
			ADD(o, "%c", *in++);
		}
	}
}

static struct op_buf *new_buf(struct rt *rt)
{
	struct op_buf *b = calloc(1, sizeof(*b));
	if (b) {
		b->next = rt->bufs;
		rt->bufs = b;
	}
	return b;
}

static struct pending *pending_of(struct rt_encl *re, uint64_t tcs, bool create)
{
	for (unsigned i = 0; i < re->nr_pend; i++)
		if (re->pend[i].tcs == tcs)
			return &re->pend[i];
	if (!create)
		return NULL;
	struct pending *p = realloc(re->pend, (re->nr_pend + 1) * sizeof(*p));
	if (!p)
		return NULL;
	re->pend = p;
	p = &re->pend[re->nr_pend++];
	p->tcs = tcs;
	p->buf = NULL;
	return p;
}

static const char *function_name(uint64_t f)
{
	return f == SGX_EENTER ? "eenter" : f == SGX_ERESUME ? "eresume" : f == SGX_EEXIT ? "eexit" : NULL;
}

/* The outcome of an EENTER/ERESUME through the vDSO contract. */
static void enclave_outcome(const struct rt *rt, int cur, int r, const struct sgx_enclave_run *run,
			    const struct op_buf *b, struct outcome *o)
{
	o->ret = r;
	if (r) {
		const char *name = sc_errno_name(-r);
		if (name)
			ADD(o, "ret=-%s", name);
		else
			ADD(o, "ret=%d", r);
		return;
	}
	o->function = run->function;
	if (run->function == SGX_EEXIT) {
		o->eexit = true;
		ADD(o, "eexit");
		uint64_t type = b ? b->w[0] : ENCL_OP_NOP;
		if (type == ENCL_OP_GET_FROM_BUFFER || type == ENCL_OP_GET_FROM_ADDRESS) {
			o->has_value = true;
			o->value = b->w[1];
			ADD(o, " value=0x%llx", (unsigned long long)o->value);
		} else if (type == ENCL_OP_EACCEPT) {
			o->has_eaccept_ret = true;
			o->eaccept_ret = b->w[3];
			ADD(o, " eaccept-ret=%lld", (long long)o->eaccept_ret);
		}
		o->ok = !o->has_eaccept_ret || o->eaccept_ret == 0;
		return;
	}
	char a[64];
	const char *fn = function_name(run->function);
	o->exception = true;
	o->vector = run->exception_vector;
	o->code = run->exception_error_code;
	o->addr = run->exception_addr;
	fmt_addr(rt, cur, o->addr, a, sizeof(a));
	ADD(o, "exception function=");
	if (fn)
		ADD(o, "%s", fn);
	else
		ADD(o, "%u", run->function);
	ADD(o, " vector=%u code=0x%llx addr=%s", run->exception_vector, (unsigned long long)o->code, a);
}

static void do_enter(struct rt *rt, const struct sc_op *op, struct outcome *o)
{
	struct rt_encl *re = &rt->encls[op->encl];
	uint64_t base = re->encl.encl_base;
	static struct op_buf nop = { .w = { ENCL_OP_NOP } };
	struct sgx_enclave_run run;
	struct op_buf *b;
	unsigned function = op->cmd == SC_ENTER ? SGX_EENTER : SGX_ERESUME;

	if (op->cmd == SC_ENTER) {
		b = new_buf(rt);
		if (!b) {
			ADD(o, "out of memory");
			return;
		}
		b->w[0] = op->type;
		switch (op->flag ? ENCL_OP_MAX : op->type) {
		case ENCL_OP_PUT_TO_BUFFER:
			b->w[1] = op->b;
			break;
		case ENCL_OP_PUT_TO_ADDRESS:
			b->w[1] = op->b;
			b->w[2] = base + op->a;
			break;
		case ENCL_OP_GET_FROM_ADDRESS:
			b->w[2] = base + op->a;
			break;
		case ENCL_OP_EACCEPT:
		case ENCL_OP_EMODPE:
			b->w[1] = base + op->a;
			b->w[2] = op->b;
			break;
		case ENCL_OP_INIT_TCS_PAGE:
			b->w[1] = base + op->a;
			b->w[2] = op->b;
			b->w[3] = op->c;
			break;
		}
	} else {
		struct pending *p = pending_of(re, op->tcs, false);
		b = p && p->buf ? p->buf : &nop;
	}
	memset(&run, 0, sizeof(run));
	run.tcs = base + op->tcs;
	int r = emu_enter_enclave(rt->thread, (unsigned long)(uintptr_t)b, 0, 0, function, 0, 0, &run);
	/* Only an entry that got in leaves something for ERESUME. */
	if (op->cmd == SC_ENTER && r == 0 && run.function != SGX_EENTER) {
		struct pending *p = pending_of(re, op->tcs, true);
		if (p)
			p->buf = b;
	}
	enclave_outcome(rt, op->encl, r, &run, b, o);
}

/* A range ioctl: all-u64 request with offset, length, maybe an argument
 * (permissions or page type) and a result, and a count; where each sits. */
struct range_ioc {
	unsigned long cmd;
	size_t offset, length, arg, result, count;
};
#define NO_FIELD SIZE_MAX
#define RANGE_IOC(c, T, argf, resf) { (c), offsetof(T, offset), offsetof(T, length), (argf), (resf), offsetof(T, count) }
static const struct range_ioc range_iocs[SC_IOC_NR] = {
	[SC_IOC_RESTRICT] = RANGE_IOC(SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, struct sgx_enclave_restrict_permissions,
				      offsetof(struct sgx_enclave_restrict_permissions, permissions),
				      offsetof(struct sgx_enclave_restrict_permissions, result)),
	[SC_IOC_MODT] = RANGE_IOC(SGX_IOC_ENCLAVE_MODIFY_TYPES, struct sgx_enclave_modify_types,
				  offsetof(struct sgx_enclave_modify_types, page_type),
				  offsetof(struct sgx_enclave_modify_types, result)),
	[SC_IOC_REMOVE] = RANGE_IOC(SGX_IOC_ENCLAVE_REMOVE_PAGES, struct sgx_enclave_remove_pages, NO_FIELD, NO_FIELD),
	[SC_IOC_RELAX] = RANGE_IOC(SGX2EMU_IOC_RELAX_PERMISSIONS, struct sgx2emu_relax_permissions,
				   offsetof(struct sgx2emu_relax_permissions, permissions), NO_FIELD),
	[SC_IOC_MODP] = RANGE_IOC(SGX2EMU_IOC_MODIFY_PERMISSIONS, struct sgx2emu_modify_permissions,
				  offsetof(struct sgx2emu_modify_permissions, permissions),
				  offsetof(struct sgx2emu_modify_permissions, result)),
	[SC_IOC_RESET] = RANGE_IOC(SGX2EMU_IOC_RESET_PERMISSIONS, struct sgx2emu_reset_permissions, NO_FIELD,
				   offsetof(struct sgx2emu_reset_permissions, result)),
	[SC_IOC_AUGMENT] = RANGE_IOC(SGX2EMU_IOC_AUGMENT_PAGES, struct sgx2emu_augment_pages, NO_FIELD, NO_FIELD),
};

/* Flow: fill offset, length and the argument (op->a) of a zeroed request,
 * issue it, copy count and result (where the request has one) into o.
 * Returns what emu_ioctl returns. */
static int do_range_ioctl(struct rt *rt, int fd, const struct range_ioc *d, const struct sc_op *op, struct outcome *o)
{
	uint64_t req[8] = { 0 };        /* larger than any of the requests */
	char *b = (char *)req;
	memcpy(b + d->offset, &op->off, sizeof(uint64_t));
	memcpy(b + d->length, &op->len, sizeof(uint64_t));
	if (d->arg != NO_FIELD)
		memcpy(b + d->arg, &op->a, sizeof(uint64_t));
	int ret = emu_ioctl(rt->proc, fd, d->cmd, req);
	memcpy(&o->count, b + d->count, sizeof(uint64_t));
	if (d->result != NO_FIELD)
		memcpy(&o->result, b + d->result, sizeof(uint64_t));
	return ret;
}

static void do_ioctl(struct rt *rt, const struct sc_op *op, struct outcome *o)
{
	struct rt_encl *re = &rt->encls[op->encl];
	int ret = -1;
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	struct sgx_enclave_add_pages add;
	void *src = NULL;
	errno = 0;
	switch (op->ioc) {
	case SC_IOC_RESTRICT:
	case SC_IOC_MODT:
	case SC_IOC_REMOVE:
	case SC_IOC_RELAX:
	case SC_IOC_MODP:
	case SC_IOC_RESET:
	case SC_IOC_AUGMENT:
		ret = do_range_ioctl(rt, re->encl.fd, &range_iocs[op->ioc], op, o);
		break;
	case SC_IOC_ADD: {
		/* The source: zero pages in ambient host memory, as long as the
		 * range (at most the ELRANGE: a longer one is refused before it
		 * is read, and a read past it finds unmapped memory: EFAULT). */
		size_t n = (size_t)(op->len < re->encl.encl_size ? op->len : re->encl.encl_size);
		n = (n + SGX_PAGE_SIZE - 1) & ~(size_t)(SGX_PAGE_SIZE - 1);
		src = aligned_alloc(SGX_PAGE_SIZE, n ? n : SGX_PAGE_SIZE);
		if (!src) {
			ADD(o, "out of memory");
			return;
		}
		memset(src, 0, n);
		memset(&secinfo, 0, sizeof(secinfo));
		secinfo.flags = op->a;
		memset(&add, 0, sizeof(add));
		add.src = (uint64_t)(uintptr_t)src;
		add.offset = op->off;
		add.length = op->len;
		add.secinfo = (uint64_t)(uintptr_t)&secinfo;
		add.flags = op->flag ? SGX_PAGE_MEASURE : 0;
		ret = emu_ioctl(rt->proc, re->encl.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add);
		o->count = add.count;
		break;
	}
	case SC_IOC_NR:
		break;
	}
	o->err = errno;
	free(src);
	o->ret = ret;
	o->ok = ret == 0;
	o->has_count = true;
	ADD(o, "ret=%d ", ret);
	if (ret == -1) {
		add_errno(o, o->err);
		ADD(o, " ");
	}
	ADD(o, "count=%llu", (unsigned long long)o->count);
	if (sc_ioc_has_result(op->ioc))
		ADD(o, " result=%llu", (unsigned long long)o->result);
}

static void do_mem(struct rt *rt, const struct sc_op *op, struct outcome *o)
{
	struct rt_encl *re = &rt->encls[op->encl];
	void *addr = (void *)(uintptr_t)(re->encl.encl_base + op->off);
	int ret;
	errno = 0;
	if (op->cmd == SC_MMAP) {
		int flags = (op->b & MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED) | (int)(op->b & MAP_POPULATE) | MAP_FIXED;
		void *p = emu_mmap(rt->proc, addr, op->len, (int)op->a, flags, re->encl.fd, 0);
		ret = p == addr ? 0 : -1;
	} else if (op->cmd == SC_MPROTECT) {
		ret = emu_mprotect(rt->proc, addr, op->len, (int)op->a);
	} else {
		ret = emu_munmap(rt->proc, addr, op->len);
	}
	o->err = errno;
	o->ret = ret;
	o->ok = ret == 0;
	if (o->ok)
		ADD(o, "ok");
	else
		add_errno(o, o->err);
}

static void do_enclave(struct rt *rt, const struct sc_op *op, struct outcome *o)
{
	const struct sc_encl_def *d = &rt->prog->encls[op->encl];
	struct rt_encl *re = &rt->encls[op->encl];
	if (!setup_test_encl(rt->proc, d->heap, &re->encl)) {
		ADD(o, "failed");
		return;
	}
	re->built = true;
	if (re->encl.encl_size != d->size) {
		/* the parser's idea of the layout must be the loader's */
		ADD(o, "internal error: ELRANGE size 0x%zx, expected 0x%llx", re->encl.encl_size,
		    (unsigned long long)d->size);
		return;
	}
	o->ok = true;
	ADD(o, "ok size=0x%llx end=+0x%llx", (unsigned long long)d->size, (unsigned long long)d->end);
}

static void close_encl(struct rt_encl *re)
{
	if (re->built)
		encl_delete(&re->encl);
	re->built = false;
	free(re->pend);
	re->pend = NULL;
	re->nr_pend = 0;
}

/* An expectation among the kinds in mask, if h asks for any of them, needs
 * cond: true when not asked or cond holds. */
static bool asked_holds(uint32_t h, uint32_t mask, bool cond)
{
	return !(h & mask) || cond;
}

static bool holds(const struct rt *rt, const struct sc_op *op, const struct outcome *o)
{
	const struct sc_expect *ex = &op->ex;
	uint32_t h = ex->have ? ex->have : EXB(EX_OK);
	if (h & EXB(EX_ANY))
		return true;
	if (!asked_holds(h, EXB(EX_OK), o->ok) ||
	    !asked_holds(h, EXB(EX_FAIL), !o->ok) ||
	    !asked_holds(h, EXB(EX_ERRNO), o->ret == -1 && o->err == ex->err) ||
	    !asked_holds(h, EXB(EX_RET), o->ret == ex->ret) ||
	    !asked_holds(h, EXB(EX_COUNT), o->count == ex->count) ||
	    !asked_holds(h, EXB(EX_RESULT), o->result == ex->result) ||
	    !asked_holds(h, EXB(EX_EEXIT) | EXB(EX_VALUE) | EXB(EX_EACCEPT_RET), o->eexit) ||
	    !asked_holds(h, EXB(EX_EXCEPTION) | EXB(EX_VECTOR) | EXB(EX_CODE) | EXB(EX_ADDR), o->exception) ||
	    !asked_holds(h, EXB(EX_FUNCTION), o->function == ex->function) ||
	    !asked_holds(h, EXB(EX_VECTOR), o->vector == ex->vector) ||
	    !asked_holds(h, EXB(EX_CODE), o->code == ex->code))
		return false;
	if (h & EXB(EX_ADDR)) {
		uint64_t want = ex->addr.v;
		if (ex->addr.rel) {
			const struct rt_encl *re = &rt->encls[ex->addr.encl];
			if (!re->built)
				return false;
			want += re->encl.encl_base;
		}
		if (o->addr != want)
			return false;
	}
	if (!asked_holds(h, EXB(EX_VALUE), o->has_value && o->value == ex->value) ||
	    !asked_holds(h, EXB(EX_EACCEPT_RET), o->has_eaccept_ret && o->eaccept_ret == ex->eaccept_ret))
		return false;
	for (const struct sc_match *m = ex->matches; m; m = m->next)
		if (!strstr(o->text, m->text) != m->lacks)
			return false;
	return true;
}

/* One operation: SC_PASS, or SC_FAIL after a message. */
static int run_op(struct rt *rt, const struct sc_op *op, struct outcome *o)
{
	const char *file = rt->prog->file;
	memset(o, 0, sizeof(*o));
	if (op->encl >= 0 && op->cmd != SC_ENCLAVE && !rt->encls[op->encl].built) {
		fprintf(rt->err, "%s:%u: enclave '%s' was not built (line %u)\n", file, op->line,
			rt->prog->encls[op->encl].name, rt->prog->encls[op->encl].line);
		return SC_FAIL;
	}
	switch (op->cmd) {
	case SC_ENCLAVE:
		do_enclave(rt, op, o);
		break;
	case SC_CLOSE:
		close_encl(&rt->encls[op->encl]);
		o->ok = true;
		ADD(o, "ok");
		break;
	case SC_IOCTL:
		do_ioctl(rt, op, o);
		break;
	case SC_MMAP:
	case SC_MPROTECT:
	case SC_MUNMAP:
		do_mem(rt, op, o);
		break;
	case SC_ENTER:
	case SC_RESUME:
		do_enter(rt, op, o);
		break;
	case SC_INSPECT: {
		char line[2048];
		if (!rt->encls[op->a].built) {
			fprintf(rt->err, "%s:%u: enclave '%s' was not built (line %u)\n", file, op->line,
				rt->prog->encls[op->a].name, rt->prog->encls[op->a].line);
			return SC_FAIL;
		}
		emu_inspect_page(rt->proc, rt->encls[op->a].encl.encl_base + op->off, line, sizeof(line));
		rewrite_addresses(rt, op->encl, line, o);
		o->ok = true;
		break;
	}
	case SC_RECLAIM:
		o->count = emu_reclaim_to_high_watermark(rt->emu);
		o->has_count = true;
		o->ok = true;
		ADD(o, "count=%llu", (unsigned long long)o->count);
		break;
	}
	fprintf(rt->out, "%u: %s -> %s\n", op->line, op->text, o->text);
	if (holds(rt, op, o))
		return SC_PASS;
	fprintf(rt->err, "%s:%u: expected %s; got %s\n", file, op->line, op->ex.text ? op->ex.text : "ok", o->text);
	return SC_FAIL;
}

int sc_execute(const struct sc_program *prog, FILE *out, FILE *err)
{
	struct rt rt = { .prog = prog, .out = out, .err = err };
	const struct emu_config *c = &prog->cfg;
	unsigned line = prog->config_line ? prog->config_line : 1;
	int status = SC_PASS;

	rt.encls = calloc(prog->nr_encls ? prog->nr_encls : 1, sizeof(*rt.encls));
	struct outcome *o = malloc(sizeof(*o));
	if (!rt.encls || !o) {
		fprintf(err, "%s: out of memory\n", prog->file);
		free(rt.encls);
		free(o);
		return SC_MALFORMED;
	}
	rt.emu = emu_create(c);
	if (!rt.emu) {
		fprintf(err, "%s:%u: cannot create the machine: %s\n", prog->file, line, strerror(errno));
		free(rt.encls);
		free(o);
		return SC_MALFORMED;
	}
	rt.proc = emu_proc_create(rt.emu);
	rt.thread = rt.proc ? emu_thread_create(rt.proc) : NULL;
	if (!rt.thread) {
		fprintf(err, "%s:%u: cannot create the process: %s\n", prog->file, line, strerror(errno));
		status = SC_MALFORMED;
		goto out;
	}
	emu_thread_bind(rt.thread);
	fprintf(out, "machine epc=0x%llx sections=%u lps=%u sgx2=%s seed=0x%llx batch=%u low=%u high=%u policy=%s",
		(unsigned long long)c->hw.epc_bytes, c->hw.epc_sections, c->hw.nr_lps, c->hw.sgx1_only ? "off" : "on",
		(unsigned long long)c->hw.seed, c->reclaim_batch, c->low_watermark, c->high_watermark,
		emu_policy_name(c->policy));
	/* the switches only when set, so that traces of plain runs stay short */
	if (c->switches.augment)
		fprintf(out, " augment=on");
	if (c->switches.populate_on_mmap)
		fprintf(out, " populate=on");
	if (c->switches.etrack_per_ioctl)
		fprintf(out, " etrack=per-ioctl");
	if (c->switches.fault_around)
		fprintf(out, " fault-around=%u", c->switches.fault_around);
	fprintf(out, "\n");
	unsigned i;
	for (i = 0; i < prog->nr_ops && status == SC_PASS && (!prog->stop || i < prog->stop_after); i++)
		status = run_op(&rt, &prog->ops[i], o);
	if (prog->at_stop) {
		uint64_t bases[SC_MAX_ENCLAVES] = { 0 };
		for (unsigned e = 0; e < prog->nr_encls; e++)
			bases[e] = rt.encls[e].built ? rt.encls[e].encl.encl_base : 0;
		prog->at_stop(prog->at_stop_ctx, rt.proc, bases, prog->nr_encls);
	}
	if (status == SC_PASS)
		fprintf(out, "passed: %u operations\n", i);   /* i < nr_ops: inspect stopped it */
	else
		fprintf(out, "FAILED at line %u\n", prog->ops[i - 1].line);
out:
	for (unsigned e = 0; e < prog->nr_encls; e++)
		close_encl(&rt.encls[e]);
	for (struct op_buf *b = rt.bufs, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	if (rt.thread) {
		emu_thread_bind(NULL);
		emu_thread_destroy(rt.thread);
	}
	if (rt.proc)
		emu_proc_exit(rt.proc);
	emu_destroy(rt.emu);
	free(rt.encls);
	free(o);
	fflush(out);
	return status;
}

/* ---- entry points ---- */

int scenario_run_text(const char *name, const char *text, size_t len, FILE *out, FILE *err)
{
	struct sc_program prog;
	if (sc_parse(&prog, name, text, len, err))
		return SC_MALFORMED;
	int status = sc_execute(&prog, out, err);
	sc_program_free(&prog);
	return status;
}

int scenario_run_file(const char *path, FILE *out, FILE *err)
{
	bool std_in = !strcmp(path, "-");
	const char *name = std_in ? "<stdin>" : path;
	FILE *f = std_in ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(err, "%s: %s\n", name, strerror(errno));
		return SC_MALFORMED;
	}
	/* at most one byte more than the limit, to tell a file that is too large */
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	int status = SC_MALFORMED;
	for (;;) {
		if (!text) {
			fprintf(err, "%s: out of memory\n", name);
			goto out;
		}
		if (len == cap) {
			if (cap > SC_MAX_FILE) {
				fprintf(err, "%s: larger than %u MiB\n", name, SC_MAX_FILE >> 20);
				goto out;
			}
			size_t ncap = cap * 2 > SC_MAX_FILE ? SC_MAX_FILE + 1 : cap * 2;
			char *t = realloc(text, ncap);
			if (!t) {
				free(text);
				text = NULL;
				continue;
			}
			text = t;
			cap = ncap;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(err, "%s: %s\n", name, strerror(errno));
		goto out;
	}
	status = scenario_run_text(name, text, len, out, err);
out:
	free(text);
	if (!std_in)
		fclose(f);
	return status;
}

int cmd_run(int argc, char **argv)
{
	if (argc != 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		fprintf(argc == 1 ? stdout : stderr, "usage: sgx2emu run FILE   (FILE '-' reads standard input)\n"
			"runs a scenario (docs/scenario.md); exit status 0: every expectation held,\n"
			"1: one did not, 2: the file is malformed or cannot be read\n");
		return argc == 1 ? 0 : SC_MALFORMED;
	}
	return scenario_run_file(argv[0], stdout, stderr);
}
