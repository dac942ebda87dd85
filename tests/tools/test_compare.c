/*
 * `sgx2emu compare` and `sgx2emu inspect`: the JSON output parses (a strict
 * little parser here) and has every key with the right type; a quick
 * workload has the non-zero counts its flows imply; a policy that cannot
 * support a runtime's flow reports a failure with the runtime's message; the
 * table shows the same; options are checked; inspect shows a workload's and
 * a scenario's pages at a step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/compare.h"
#include "tools/tools.h"

/* ---- a small strict JSON parser ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	double num;
	char *str;               /* J_STR */
	struct jval **items;     /* J_ARR, J_OBJ (values) */
	char **keys;             /* J_OBJ */
	size_t n;
};

struct jp {
	const char *s;
	bool err;
};

static void ws(struct jp *p)
{
	while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
		p->s++;
}

static struct jval *jnew(enum jtype t)
{
	struct jval *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	v->type = t;
	return v;
}

static char *jstring(struct jp *p)
{
	if (*p->s != '"') {
		p->err = true;
		return NULL;
	}
	p->s++;
	size_t cap = 64, n = 0;
	char *out = malloc(cap);
	while (*p->s && *p->s != '"') {
		char c = *p->s++;
		if ((unsigned char)c < 0x20) {
			p->err = true;
			break;
		}
		if (c == '\\') {
			c = *p->s++;
			if (c == 'u') {
				unsigned x;
				if (sscanf(p->s, "%4x", &x) != 1) {
					p->err = true;
					break;
				}
				p->s += 4;
				c = (char)x;
			} else if (c == 'n') {
				c = '\n';
			} else if (c != '"' && c != '\\' && c != '/') {
				p->err = true;
				break;
			}
		}
		if (n + 2 > cap)
			out = realloc(out, cap *= 2);
		out[n++] = c;
	}
	out[n] = 0;
	if (*p->s != '"')
		p->err = true;
	else
		p->s++;
	return out;
}

static struct jval *jparse(struct jp *p);

static void jpush(struct jval *v, char *key, struct jval *item)
{
	v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
	v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
	v->items[v->n] = item;
	v->keys[v->n] = key;
	v->n++;
}

static struct jval *jparse(struct jp *p)
{
	ws(p);
	struct jval *v;
	if (*p->s == '{' || *p->s == '[') {
		bool obj = *p->s == '{';
		v = jnew(obj ? J_OBJ : J_ARR);
		p->s++;
		ws(p);
		if (*p->s == (obj ? '}' : ']')) {
			p->s++;
			return v;
		}
		for (;;) {
			char *key = NULL;
			if (obj) {
				ws(p);
				key = jstring(p);
				ws(p);
				if (*p->s++ != ':')
					p->err = true;
			}
			jpush(v, key, jparse(p));
			ws(p);
			if (*p->s == ',') {
				p->s++;
				continue;
			}
			if (*p->s++ != (obj ? '}' : ']'))
				p->err = true;
			return v;
		}
	}
	if (*p->s == '"') {
		v = jnew(J_STR);
		v->str = jstring(p);
		return v;
	}
	if (!strncmp(p->s, "null", 4)) {
		p->s += 4;
		return jnew(J_NULL);
	}
	if (!strncmp(p->s, "true", 4) || !strncmp(p->s, "false", 5)) {
		v = jnew(J_BOOL);
		v->num = *p->s == 't';
		p->s += *p->s == 't' ? 4 : 5;
		return v;
	}
	char *end;
	v = jnew(J_NUM);
	v->num = strtod(p->s, &end);
	if (end == p->s)
		p->err = true;
	p->s = end;
	return v;
}

static struct jval *jparse_all(const char *text)
{
	struct jp p = { text, false };
	struct jval *v = jparse(&p);
	ws(&p);
	if (p.err || *p.s)
		fail_msg("JSON does not parse near offset %zu: %.40s", (size_t)(p.s - text), p.s);
	return v;
}

static void jfree(struct jval *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jfree(v->items[i]);
		free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static struct jval *jget(const struct jval *o, const char *key)
{
	assert_int_equal(o->type, J_OBJ);
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return o->items[i];
	fail_msg("no key \"%s\"", key);
	return NULL;
}

static double jnum(const struct jval *o, const char *key)
{
	struct jval *v = jget(o, key);
	assert_int_equal(v->type, J_NUM);
	return v->num;
}

static const char *jstr(const struct jval *o, const char *key)
{
	struct jval *v = jget(o, key);
	if (v->type == J_NULL)
		return NULL;
	assert_int_equal(v->type, J_STR);
	return v->str;
}

/* ---- running the command ---- */

struct out {
	char *text, *err;
	int status;
};

static void run_cmp(const struct cmp_options *opt, struct out *o)
{
	size_t len, elen;
	FILE *f = open_memstream(&o->text, &len), *e = open_memstream(&o->err, &elen);
	o->status = cmp_run(opt, f, e);
	fclose(f);
	fclose(e);
}

/* A command's main (compare_main, inspect_main) with its output and errors
 * captured in o: its status, also kept in o. */
static int run_main(int (*main_fn)(int, char **, FILE *, FILE *), int argc, char **argv, struct out *o)
{
	size_t len, elen;
	FILE *f = open_memstream(&o->text, &len), *e = open_memstream(&o->err, &elen);
	o->status = main_fn(argc, argv, f, e);
	fclose(f);
	fclose(e);
	return o->status;
}

/* Each of the strings, NULL-terminated, occurs in text: one assertion each. */
#define assert_contains(text, ...) assert_contains_all((text), (const char *const[]){ __VA_ARGS__, NULL })
static void assert_contains_all(const char *text, const char *const *want)
{
	for (; *want; want++)
		assert_non_null(strstr(text, *want));
}

static void out_free(struct out *o)
{
	free(o->text);
	free(o->err);
}

static unsigned bit_workload(const char *name)
{
	const struct cmp_workload *w = cmp_workload_find(name);
	assert_non_null(w);
	return 1u << (w - cmp_workloads);
}

static const struct jval *find(const struct jval *results, const char *w, const char *rt, const char *policy)
{
	for (size_t i = 0; i < results->n; i++) {
		const struct jval *r = results->items[i];
		if (!strcmp(jstr(r, "workload"), w) && !strcmp(jstr(r, "runtime"), rt) && !strcmp(jstr(r, "policy"), policy))
			return r;
	}
	fail_msg("no result %s/%s/%s", w, rt, policy);
	return NULL;
}

static const char *const result_keys[] = {
	"workload", "runtime", "policy", "status", "error", "runtime_exits", "enclave_entries", "enclave_exits", "aexs",
	"ioctls", "mmaps", "mprotects", "munmaps", "syscalls", "round_trips", "encls", "enclu", "enclu_issued",
	"etracks", "ipis", "ipi_targets", "tlb_flushes", "pte_zaps", "faults", "ewb", "eldu", "exceptions_handled",
	"time_ns", "invariants", "invariants_expected", "violations",
};

static void check_shape(const struct jval *r)
{
	assert_int_equal(r->n, sizeof(result_keys) / sizeof(result_keys[0]));
	for (size_t i = 0; i < r->n; i++)
		assert_string_equal(r->keys[i], result_keys[i]);
	const struct jval *encls = jget(r, "encls"), *enclu = jget(r, "enclu"), *inv = jget(r, "invariants");
	assert_int_equal(encls->n, SGX_ENCLS_LEAF_COUNT);
	assert_int_equal(enclu->n, SGX_ENCLU_LEAF_COUNT);
	assert_int_equal(jget(r, "enclu_issued")->n, SGX_ENCLU_LEAF_COUNT);
	for (unsigned i = 0; i < SGX_ENCLS_LEAF_COUNT; i++)
		assert_string_equal(encls->keys[i], hw_encls_name(i));
	for (unsigned i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		assert_string_equal(enclu->keys[i], hw_enclu_name(i));
	assert_int_equal(inv->n, EMU_INV_COUNT);
	const struct jval *exp = jget(r, "invariants_expected");
	assert_int_equal(exp->n, EMU_INV_COUNT);
	for (unsigned i = 0; i < EMU_INV_COUNT; i++) {
		assert_string_equal(inv->keys[i], emu_invariant_name(i));
		assert_string_equal(exp->keys[i], emu_invariant_name(i));
		assert_true(exp->items[i]->num <= inv->items[i]->num);
	}
	const struct jval *f = jget(r, "faults");
	assert_int_equal(f->n, 4);
	assert_string_equal(f->keys[0], "eaug");
	assert_string_equal(f->keys[3], "epcm");
	assert_int_equal(jget(r, "violations")->type, J_ARR);
}

/* heap for gramine and emm under upstream, v2 and sgx1 */
static void test_json_heap(void **state)
{
	(void)state;
	struct cmp_options opt = {
		.workloads = bit_workload("heap"),
		.runtimes = 1u << RT_GRAMINE | 1u << RT_EMM,
		.policies = 1u << EMU_POLICY_UPSTREAM | 1u << EMU_POLICY_V2 | 1u << EMU_POLICY_SGX1,
		.json = true,
	};
	struct out o;
	run_cmp(&opt, &o);
	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	struct jval *root = jparse_all(o.text);
	assert_int_equal(root->n, 4);
	assert_string_equal(root->keys[0], "version");
	assert_string_equal(root->keys[1], "switches");
	assert_string_equal(root->keys[2], "cost_model");
	assert_string_equal(root->keys[3], "results");
	assert_int_equal(jnum(root, "version"), 1);
	assert_string_equal(jstr(root, "cost_model"), "defaults");
	assert_int_equal(jnum(jget(root, "switches"), "fault_around"), 0);
	assert_int_equal(jget(jget(root, "switches"), "etrack_per_ioctl")->type, J_BOOL);
	const struct jval *results = jget(root, "results");
	assert_int_equal(results->type, J_ARR);
	assert_int_equal(results->n, 6);
	for (size_t i = 0; i < results->n; i++)
		check_shape(results->items[i]);

	/* Gramine: 256 pages EACCEPT-first, no OCALL, no ioctl */
	const struct jval *g = find(results, "heap", "gramine", "upstream");
	assert_string_equal(jstr(g, "status"), "ok");
	assert_null(jstr(g, "error"));
	assert_int_equal(jnum(jget(g, "encls"), "EAUG"), 256);
	assert_int_equal(jnum(jget(g, "enclu_issued"), "EACCEPT"), 256);
	assert_int_equal(jnum(jget(g, "enclu"), "EACCEPT"), 512);   /* each faulted once first */
	assert_int_equal(jnum(g, "runtime_exits"), 0);
	assert_int_equal(jnum(g, "ioctls"), 0);
	/* one ECALL; its EENTER faults first on the TCS's PTE, then the SSA's */
	assert_int_equal(jnum(jget(g, "enclu"), "EENTER"), 3);
	assert_int_equal(jnum(jget(g, "faults"), "eaug"), 256);
	assert_true(jnum(g, "round_trips") >= 256);    /* an AEX per EAUG */
	assert_true(jnum(g, "time_ns") > 0);
	/* upstream maps the heap RWX and never tracks the EPCM: PTE > EPCM for
	 * every page, which it gives up on purpose; v2 keeps it */
	assert_int_equal(jnum(jget(g, "invariants"), "K3"), 256);
	assert_int_equal(jnum(jget(g, "invariants_expected"), "K3"), 256);
	assert_int_equal(jnum(jget(g, "invariants"), "H1"), 0);
	assert_int_equal(jnum(jget(find(results, "heap", "gramine", "v2"), "invariants"), "K3"), 0);

	/* EMM: one alloc OCALL (mmap) per allocation */
	const struct jval *e = find(results, "heap", "emm", "upstream");
	assert_string_equal(jstr(e, "status"), "ok");
	assert_int_equal(jnum(e, "runtime_exits"), 64);
	assert_int_equal(jnum(e, "mmaps"), 64);
	assert_int_equal(jnum(e, "syscalls"), 64);
	assert_int_equal(jnum(jget(e, "encls"), "EAUG"), 256);
	assert_int_equal(jnum(jget(e, "enclu"), "EEXIT"), 65);
	assert_string_equal(jstr(find(results, "heap", "emm", "v2"), "status"), "ok");

	/* sgx1 cannot run either: loud, with the runtime's reason */
	const struct jval *s = find(results, "heap", "gramine", "sgx1");
	assert_string_equal(jstr(s, "status"), "fail");
	assert_non_null(strstr(jstr(s, "error"), "gramine: policy sgx1: the driver has no SGX2"));
	assert_int_equal(jnum(s, "round_trips"), 0);
	jfree(root);
	out_free(&o);
}

/* A JIT under v2 fails at the first relaxation to X; enarx has no threads. */
static void test_json_failures(void **state)
{
	(void)state;
	struct cmp_options opt = {
		.workloads = bit_workload("jit") | bit_workload("threads"),
		.runtimes = 1u << RT_ENARX | 1u << RT_EMM,
		.policies = 1u << EMU_POLICY_V2 | 1u << EMU_POLICY_RESET,
		.json = true,
	};
	struct out o;
	run_cmp(&opt, &o);
	assert_int_equal(o.status, 0);
	struct jval *root = jparse_all(o.text);
	const struct jval *results = jget(root, "results");
	assert_int_equal(results->n, 8);
	const struct jval *r = find(results, "jit", "emm", "v2");
	assert_string_equal(jstr(r, "status"), "fail");
	assert_string_equal(jstr(r, "error"),
			    "emm: protect: OCALL RELAX_PERMISSIONS(0x10000, 0x8000, 0x5) failed: Operation not permitted "
			    "(result 0, count 0) under policy v2");
	assert_true(jnum(r, "runtime_exits") > 0);   /* what ran before the failure is counted */
	assert_string_equal(jstr(find(results, "jit", "emm", "reset"), "status"), "ok");
	const struct jval *t = find(results, "threads", "enarx", "reset");
	assert_string_equal(jstr(t, "status"), "n/a");
	assert_non_null(strstr(jstr(t, "error"), "enarx has no such operation"));
	const struct jval *et = find(results, "threads", "emm", "reset");
	assert_string_equal(jstr(et, "status"), "ok");
	assert_true(jnum(et, "ipi_targets") > 0);   /* the threads' LPs get the IPIs */
	jfree(root);
	out_free(&o);
}

static void test_table(void **state)
{
	(void)state;
	struct cmp_options opt = {
		.workloads = bit_workload("jit"),
		.runtimes = 1u << RT_GRAMINE,
		.policies = 1u << EMU_POLICY_UPSTREAM | 1u << EMU_POLICY_V1 | 1u << EMU_POLICY_SGX1,
		.progress = true,
	};
	struct out o;
	run_cmp(&opt, &o);
	assert_int_equal(o.status, 0);
	assert_contains(o.err,
			"\rcompare: [  1/  3] jit            gramine  upstream",
			"\rcompare: [  3/  3] jit            gramine  v1");
	assert_null(strstr(o.text, "compare: ["));
	assert_contains(o.text,
			"== jit: W^X JIT churn",
			"\ngramine  upstream        ok ",
			"\ngramine  sgx1            FAIL[1] ",
			"\ngramine  v1              FAIL[2] ",
			"\n  [1] gramine: policy sgx1: ",
			"\n  [2] gramine: protect: OCALL MODIFY_PERMISSIONS(0x10000, 0x8000, 0x5) failed");
	out_free(&o);
}

static void test_options(void **state)
{
	(void)state;
	char *bad[][3] = {
		{ "--workload", "nope", NULL }, { "--runtime", "graphene", NULL }, { "--policy", "v3", NULL },
		{ "--frobnicate", NULL, NULL }, { "--policy", NULL, NULL },
	};
	static const char *const why[] = { "unknown workload 'nope'", "unknown runtime 'graphene'", "unknown policy 'v3'",
					   "bad option '--frobnicate'", "bad option '--policy' (or its value missing)" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = bad[i][1] ? 2 : 1;
		struct out o;
		assert_int_equal(run_main(compare_main, argc, bad[i], &o), 2);
		assert_string_equal(o.text, "");
		assert_non_null(strstr(o.err, why[i]));
		assert_non_null(strstr(o.err, "usage: sgx2emu compare"));
		out_free(&o);
	}
	char *sw[] = { "--switch", "fault-around=4x" };
	struct out o;
	assert_int_equal(run_main(compare_main, 2, sw, &o), 2);
	assert_non_null(strstr(o.err, "unknown switch 'fault-around=4x'"));
	out_free(&o);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/sgx2emu-costs-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A cost file changes the modelled time by exactly its change times the
 * count; a bad one stops the command with its FILE:LINE. */
static void test_costs(void **state)
{
	(void)state;
	struct cmp_options opt = { .workloads = bit_workload("heap"), .runtimes = 1u << RT_GRAMINE,
				   .policies = 1u << EMU_POLICY_UPSTREAM, .json = true };
	struct out a, b;
	run_cmp(&opt, &a);
	char *path = write_tmp("# EACCEPT made expensive\nenclu.EACCEPT = 100000\n");
	opt.costs = path;
	run_cmp(&opt, &b);
	unlink(path);
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	struct jval *ja = jparse_all(a.text), *jb = jparse_all(b.text);
	const struct jval *ra = jget(ja, "results")->items[0], *rb = jget(jb, "results")->items[0];
	assert_string_equal(jstr(jb, "cost_model"), path);
	double eaccepts = jnum(jget(rb, "enclu"), "EACCEPT");
	assert_int_equal(eaccepts, 512);
	assert_true(jnum(rb, "time_ns") - jnum(ra, "time_ns") == (100000.0 - 800.0) * eaccepts);
	jfree(ja);
	jfree(jb);
	out_free(&a);
	out_free(&b);

	path = write_tmp("enclu.EACCEPT = 1\nno_such_event = 3\n");
	opt.costs = path;
	run_cmp(&opt, &a);
	unlink(path);
	assert_int_equal(a.status, 2);
	assert_string_equal(a.text, "");
	char want[96];
	snprintf(want, sizeof(want), "sgx2emu compare: %s:2: ", path);
	assert_non_null(strstr(a.err, want));
	out_free(&a);
}

static int run_inspect(int argc, char **argv, struct out *o)
{
	return run_main(inspect_main, argc, argv, o);
}

static void test_inspect_workload(void **state)
{
	(void)state;
	struct out o;
	/* wp-churn under v2 with enarx: after alloc, write, mprotect(R) the
	 * kernel's copy is R, so the PTE is r-- like the EPCM */
	char *argv[] = { "--workload", "wp-churn", "--runtime", "enarx", "--policy", "v2", "--step", "3", "--range",
			 "0x1000:0x2000" };
	assert_int_equal(run_inspect(10, argv, &o), 0);
	assert_contains(o.text,
			"workload wp-churn (",
			"runtime enarx, policy v2: 3 of 65 steps\n",
			"   3 protect     heap+0        len 0x8000   r--   <- state below is after this step\n",
			"pages heap+0x1000..+0x3000:\n",
			"  heap+0x1000   0x",
			"  heap+0x2000   0x");
	assert_null(strstr(o.text, "  heap+0x3000   0x"));
	assert_contains(o.text,
			"; PTE r-- -> EPC frame ",
			": REG  r-- addr=");
	out_free(&o);

	char *list[] = { "--workload", "threads", "--list" };
	assert_int_equal(run_inspect(3, list, &o), 0);
	assert_non_null(strstr(o.text, "   7 protect     heap+0x40000  len 0x4000   r--\n"));
	assert_null(strstr(o.text, "EPCM"));
	out_free(&o);

	char *bad[][2] = { { "--runtime", "nope" }, { "--range", "x" }, { "--workload", "nope" }, { "--step", "-" } };
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(run_inspect(2, bad[i], &o), 2);
		assert_string_not_equal(o.err, "");
		out_free(&o);
	}
	/* enarx cannot run the threads workload */
	char *na[] = { "--workload", "threads", "--runtime", "enarx" };
	assert_int_equal(run_inspect(4, na, &o), 1);
	out_free(&o);
}

/* A scenario file stopped after its RESTRICT: EPCM r-- PR before the EACCEPT. */
static void test_inspect_scenario(void **state)
{
	(void)state;
	struct out o;
	char *argv[] = { "docs/scenarios/restrict.sgx", "--step", "3", "--range", "e:0x4000" };
	assert_int_equal(run_inspect(5, argv, &o), 0);
	assert_contains(o.text,
			"inspect: enclave e at 0x",
			", after 3 operation(s); pages e+0x4000..+0x5000:\n",
			": REG  r-- PR addr=",
			"passed: 3 operations\n");
	out_free(&o);
	char *before[] = { "docs/scenarios/restrict.sgx", "--step", "0" };
	assert_int_equal(run_inspect(3, before, &o), 0);
	assert_non_null(strstr(o.text, "inspect: enclave e is not built at this step\n"));
	out_free(&o);
	char *missing[] = { "docs/scenarios/nonexistent.sgx" };
	assert_int_equal(run_inspect(1, missing, &o), 2);
	out_free(&o);
	char *noencl[] = { "docs/scenarios/restrict.sgx", "--range", "zz:0" };
	assert_int_equal(run_inspect(3, noencl, &o), 2);
	assert_non_null(strstr(o.err, "no enclave 'zz'"));
	out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_heap),
		cmocka_unit_test(test_json_failures),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_costs),
		cmocka_unit_test(test_inspect_workload),
		cmocka_unit_test(test_inspect_scenario),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
