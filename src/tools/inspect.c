/*
 * `sgx2emu inspect`: the VMA, PTE and EPCM state of a range of enclave pages
 * (emu_inspect_page) at any step of
 *   - a scenario file (`sgx2emu run`'s format, docs/scenario.md): the first
 *     N operations run, then the pages of one of its enclaves are shown;
 *   - a built-in workload of `sgx2emu compare`, run by a runtime under a
 *     policy, so a row of its table can be looked at page by page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "scenario.h"
#include "tools.h"

static int parse_u64(const char *s, uint64_t *v);

static void dump(FILE *out, struct emu_proc *proc, uint64_t base, uint64_t off, uint64_t len, const char *label)
{
	for (uint64_t a = off & ~4095ull; a < off + len; a += 4096) {
		char line[1024];
		emu_inspect_page(proc, base + a, line, sizeof(line));
		fprintf(out, "  %s+%#-8llx %s\n", label, (unsigned long long)a, line);
	}
}

/* ---- scenario files ---- */

struct sc_inspect {
	const struct sc_program *prog;
	int encl;                    /* index, -1: the first */
	uint64_t off, len;
	bool have_range;
	FILE *out;
};

static void sc_stop(void *ctx, struct emu_proc *proc, const uint64_t *bases, unsigned nr)
{
	struct sc_inspect *si = ctx;
	unsigned e = si->encl >= 0 ? (unsigned)si->encl : 0;
	const struct sc_encl_def *d = &si->prog->encls[e];
	if (e >= nr || !bases[e]) {
		fprintf(si->out, "inspect: enclave %s is not built at this step\n", nr ? d->name : "(none)");
		return;
	}
	uint64_t off = si->have_range ? si->off : 0, len = si->have_range ? si->len : d->end;
	if (off >= d->size)
		len = 0;
	else if (len > d->size - off)
		len = d->size - off;
	fprintf(si->out, "inspect: enclave %s at %#llx, after %u operation(s); pages %s+%#llx..+%#llx:\n", d->name,
		(unsigned long long)bases[e], si->prog->stop ? si->prog->stop_after : si->prog->nr_ops, d->name,
		(unsigned long long)off, (unsigned long long)(off + len));
	dump(si->out, proc, bases[e], off, len, d->name);
}

/* RANGE is [ENCLAVE:]OFF[:LEN] */
static int inspect_scenario(const char *path, uint64_t step, const char *range, FILE *out, FILE *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "sgx2emu inspect: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char *text = malloc(SC_MAX_FILE + 1);
	size_t len = text ? fread(text, 1, SC_MAX_FILE + 1, f) : 0;
	fclose(f);
	if (!text || len > SC_MAX_FILE) {
		fprintf(err, "sgx2emu inspect: %s: too large or out of memory\n", path);
		free(text);
		return 2;
	}
	struct sc_program prog;
	if (sc_parse(&prog, path, text, len, err)) {
		free(text);
		return 2;
	}
	struct sc_inspect si = { .prog = &prog, .encl = -1, .out = out };
	int status = 0;
	if (range) {
		char buf[128], *p = buf;
		snprintf(buf, sizeof(buf), "%s", range);
		char *c1 = strchr(buf, ':');
		if (c1 && !(buf[0] >= '0' && buf[0] <= '9')) {
			*c1 = 0;
			for (unsigned e = 0; e < prog.nr_encls; e++)
				if (!strcmp(prog.encls[e].name, buf))
					si.encl = (int)e;
			if (si.encl < 0) {
				fprintf(err, "sgx2emu inspect: no enclave '%s' in %s\n", buf, path);
				status = 2;
			}
			p = c1 + 1;
		}
		char *c2 = strchr(p, ':');
		if (c2)
			*c2 = 0;
		si.len = 4096;
		if (parse_u64(p, &si.off) || (c2 && parse_u64(c2 + 1, &si.len))) {
			fprintf(err, "sgx2emu inspect: bad range '%s' ([ENCLAVE:]OFF[:LEN])\n", range);
			status = 2;
		}
		si.have_range = true;
	}
	if (!status) {
		prog.stop = step != UINT64_MAX;
		prog.stop_after = step > prog.nr_ops ? prog.nr_ops : (unsigned)step;
		prog.at_stop = sc_stop;
		prog.at_stop_ctx = &si;
		status = sc_execute(&prog, out, err) == SC_MALFORMED ? 2 : 0;
	}
	sc_program_free(&prog);
	free(text);
	return status;
}

/* ---- built-in workloads ---- */

static const char *op_names[RT_OP_COUNT] = { "alloc", "free", "protect", "touch", "thread", "commit_data", "uncommit" };

static void print_op(FILE *out, unsigned i, const struct rt_op *op, bool here)
{
	char prot[4] = { op->prot & PROT_READ ? 'r' : '-', op->prot & PROT_WRITE ? 'w' : '-',
			 op->prot & PROT_EXEC ? 'x' : '-', 0 };
	fprintf(out, "  %4u %-11s heap+%#-8llx len %#-8llx", i + 1, op_names[op->kind], (unsigned long long)op->off,
		(unsigned long long)op->len);
	if (op->kind == RT_OP_ALLOC || op->kind == RT_OP_PROTECT || op->kind == RT_OP_COMMIT_DATA)
		fprintf(out, " %s", prot);
	if (op->flags & RT_F_LAZY)
		fprintf(out, " lazy");
	if (op->flags & RT_F_RESERVE)
		fprintf(out, " reserve");
	if (op->kind == RT_OP_TOUCH)
		fprintf(out, " %s", op->flags & RT_F_EXEC ? "fetch" : op->flags & RT_F_WRITE ? "write" : "read");
	fprintf(out, "%s\n", here ? "   <- state below is after this step" : "");
}

static void usage(FILE *out)
{
	fprintf(out, "usage: sgx2emu inspect FILE [--step N] [--range [ENCLAVE:]OFF[:LEN]]\n"
		     "       sgx2emu inspect [--workload W] [--runtime R] [--policy P] [--step N]\n"
		     "                       [--range OFF[:LEN]] [--list]\n"
		     "Runs the first N steps (default: all) of a scenario file, or of a `compare` workload\n"
		     "(default jit) with a runtime (default gramine) under a policy (default upstream),\n"
		     "then prints VMA, PTE and EPCM of each page of the range: enclave offsets of a\n"
		     "scenario's enclave (default: the first, its loaded pages), or heap offsets of the\n"
		     "workload's runtime (default: the last step's range).  --list prints the steps only.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

int inspect_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *wname = "jit";
	enum rt_kind kind = RT_GRAMINE;
	enum emu_policy policy = EMU_POLICY_UPSTREAM;
	uint64_t step = UINT64_MAX, off = 0, len = 0;
	bool have_range = false, list = false;
	const char *file = NULL, *range = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (a[0] != '-' && !file) {
			file = a;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(out);
			return 0;
		}
		if (!strcmp(a, "--list")) {
			list = true;
			continue;
		}
		bool bad = !v;
		if (v && !strcmp(a, "--workload")) {
			wname = v;
		} else if (v && !strcmp(a, "--runtime")) {
			bad = rt_kind_from_name(v, &kind) != 0;
		} else if (v && !strcmp(a, "--policy")) {
			bad = emu_policy_from_name(v, &policy) != 0;
		} else if (v && !strcmp(a, "--step")) {
			bad = parse_u64(v, &step) != 0;
		} else if (v && !strcmp(a, "--range")) {
			range = v;
		} else {
			bad = true;
		}
		if (bad) {
			fprintf(err, "sgx2emu inspect: bad option or value '%s%s%s'\n", a, v ? " " : "", v ? v : "");
			usage(err);
			return 2;
		}
		i++;
	}
	if (file)
		return inspect_scenario(file, step, range, out, err);
	if (range) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", range);
		char *colon = strchr(buf, ':');
		if (colon)
			*colon = 0;
		len = 4096;
		if (parse_u64(buf, &off) || (colon && parse_u64(colon + 1, &len)) || !len) {
			fprintf(err, "sgx2emu inspect: bad range '%s' (OFF[:LEN])\n", range);
			return 2;
		}
		have_range = true;
	}
	const struct cmp_workload *w = cmp_workload_find(wname);
	if (!w) {
		fprintf(err, "sgx2emu inspect: unknown workload '%s'\n", wname);
		return 2;
	}
	struct rt_op *ops = calloc(CMP_MAX_OPS, sizeof(*ops));
	if (!ops)
		return 2;
	size_t n = w->build(kind, ops, CMP_MAX_OPS);
	int status = 0;
	if (!n) {
		fprintf(err, "sgx2emu inspect: %s has no operation the %s workload needs\n", rt_kind_name(kind), w->name);
		free(ops);
		return 1;
	}
	if (step > n)
		step = n;
	fprintf(out, "workload %s (%s), runtime %s, policy %s: %llu of %zu steps\n", w->name, w->what, rt_kind_name(kind),
	       emu_policy_name(policy), (unsigned long long)step, n);
	for (size_t i = 0; i < (list ? n : step); i++)
		print_op(out, (unsigned)i, &ops[i], !list && i + 1 == step);
	if (list) {
		free(ops);
		return 0;
	}
	if (!have_range) {
		const struct rt_op *last = &ops[step ? step - 1 : 0];
		off = last->off;
		len = last->len ? last->len : 4096;
	}
	struct emu_config cfg;
	cmp_config(w, policy, NULL, &cfg);
	struct emu *emu = emu_create(&cfg);
	char msg[512];
	struct rt_options o = { .kind = kind, .heap_bytes = w->heap_bytes };
	struct rt *rt = emu ? rt_create(emu, &o, msg, sizeof(msg)) : NULL;
	if (!rt) {
		fprintf(err, "sgx2emu inspect: %s\n", emu ? msg : strerror(errno));
		status = 1;
		goto out;
	}
	if (step && rt_run(rt, ops, step)) {
		fprintf(out, "the run failed: %s\n(state below is where it stopped)\n", rt_error(rt));
		status = 1;
	}
	off &= ~4095ull;
	if (off >= rt_heap_size(rt) || len > rt_heap_size(rt) - off)
		len = off < rt_heap_size(rt) ? rt_heap_size(rt) - off : 0;
	fprintf(out, "heap at %#llx; pages heap+%#llx..+%#llx:\n", (unsigned long long)rt_heap_base(rt),
	       (unsigned long long)off, (unsigned long long)(off + len));
	dump(out, rt_proc(rt), rt_heap_base(rt), off, len, "heap");
out:
	rt_destroy(rt);
	if (emu)
		emu_destroy(emu);
	free(ops);
	return status;
}

int cmd_inspect(int argc, char **argv)
{
	return inspect_main(argc, argv, stdout, stderr);
}
