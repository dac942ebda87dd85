/*
 * `sgx2emu run`: the shipped examples give their documented status and
 * trace (docs/scenarios/NAME.trace, byte for byte: written by another process,
 * so the trace does not depend on where the host put the enclaves); every
 * class of malformed input gives its exact "FILE:LINE: reason" and runs
 * nothing; failed expectations give their exact message; hostile files are
 * rejected or run without crashing.
 *
 * Run from the top of the tree (make check does).  With
 * SCENARIO_UPDATE_TRACES=1 the example test rewrites the .trace files instead
 * of comparing them (check the diff before committing it).
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/scenario.h"

#define EXAMPLES "docs/scenarios"

static const char *self_path;

struct cap {
	char *out, *err;
	size_t out_len, err_len;
	int status;
};

static void cap_text(struct cap *c, const char *text, size_t len)
{
	FILE *o = open_memstream(&c->out, &c->out_len), *e = open_memstream(&c->err, &c->err_len);
	assert_non_null(o);
	assert_non_null(e);
	c->status = scenario_run_text("t.sgx", text, len, o, e);
	fclose(o);
	fclose(e);
}

static void cap_str(struct cap *c, const char *text)
{
	cap_text(c, text, strlen(text));
}

static void cap_file(struct cap *c, const char *path)
{
	FILE *o = open_memstream(&c->out, &c->out_len), *e = open_memstream(&c->err, &c->err_len);
	assert_non_null(o);
	assert_non_null(e);
	c->status = scenario_run_file(path, o, e);
	fclose(o);
	fclose(e);
}

static void cap_free(struct cap *c)
{
	free(c->out);
	free(c->err);
	memset(c, 0, sizeof(*c));
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

/* ---- the shipped examples ---- */

static const struct {
	const char *name;
	int status;
	const char *err;      /* standard error, exactly */
} examples[] = {
	{ "augment", 0, "" },
	{ "augment_via_eaccept", 0, "" },
	{ "policy_upstream", 0, "" },
	{ "policy_v2", 0, "" },
	{ "pte_permissions", 0, "" },
	{ "restrict", 0, "" },
	{ "sgx1", 0, "" },
	{ "tcs_create", 0, "" },
	{ "trim_remove", 0, "" },
	{ "wrong_expectation", 1,
	  EXAMPLES "/wrong_expectation.sgx:8: expected eexit; got exception function=eresume vector=14 "
		   "code=0x8007 addr=+0x4000\n" },
};
#define NR_EXAMPLES (sizeof(examples) / sizeof(examples[0]))

static void test_examples(void **state)
{
	(void)state;
	bool update = getenv("SCENARIO_UPDATE_TRACES") != NULL;
	for (unsigned i = 0; i < NR_EXAMPLES; i++) {
		char path[256], trace_path[256];
		struct cap c = { 0 };
		snprintf(path, sizeof(path), EXAMPLES "/%s.sgx", examples[i].name);
		snprintf(trace_path, sizeof(trace_path), EXAMPLES "/%s.trace", examples[i].name);
		cap_file(&c, path);
		print_message("%s: exit %d\n", path, c.status);
		assert_int_equal(c.status, examples[i].status);
		assert_string_equal(c.err, examples[i].err);
		if (update) {
			FILE *f = fopen(trace_path, "w");
			assert_non_null(f);
			fwrite(c.out, 1, c.out_len, f);
			fclose(f);
		} else {
			char *want = read_all(trace_path, NULL);
			if (!want)
				fail_msg("%s: missing (run from the top of the tree)", trace_path);
			assert_string_equal(c.out, want);
			free(want);
		}
		/* the last line says how it ended */
		assert_non_null(strstr(c.out, examples[i].status ? "\nFAILED at line " : "\npassed: "));
		cap_free(&c);
	}
}

/* Every .sgx in the directory is in the table (so it is run), with a trace. */
static void test_examples_all_listed(void **state)
{
	(void)state;
	DIR *d = opendir(EXAMPLES);
	if (!d)
		fail_msg(EXAMPLES ": cannot open (run from the top of the tree)");
	unsigned found = 0;
	for (struct dirent *de; (de = readdir(d));) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".sgx"))
			continue;
		unsigned i;
		for (i = 0; i < NR_EXAMPLES; i++)
			if (strlen(examples[i].name) == n - 4 && !strncmp(examples[i].name, de->d_name, n - 4))
				break;
		if (i == NR_EXAMPLES)
			fail_msg("%s is not in this test's table", de->d_name);
		found++;
	}
	closedir(d);
	assert_int_equal(found, NR_EXAMPLES);
	/* and docs/scenario.md lists each with its status */
	char *doc = read_all("docs/scenario.md", NULL);
	assert_non_null(doc);
	for (unsigned i = 0; i < NR_EXAMPLES; i++) {
		char row[128];
		snprintf(row, sizeof(row), "| `%s.sgx` |", examples[i].name);
		char *p = strstr(doc, row);
		if (!p)
			fail_msg("docs/scenario.md has no row for %s", examples[i].name);
		char *eol = strchr(p, '\n');
		char status[8];
		snprintf(status, sizeof(status), "| %d |", examples[i].status);
		assert_true(eol - p > 6 && !strncmp(eol - 5, status, 5));
	}
	free(doc);
}

/* ---- malformed input: exact message, nothing run ---- */

static const struct {
	const char *text;
	const char *err;      /* after "t.sgx:" */
} malformed[] = {
	/* unknown command, key, item, name */
	{ "frobnicate e\n", "1: unknown command 'frobnicate'\n" },
	{ "enclave e\nioctl e remove offset=0 length=4K colour=red\n",
	  "2: unknown key 'colour' (ioctl remove takes offset= length=)\n" },
	{ "enclave e\nioctl e frob offset=0\n", "2: unknown ioctl 'frob' (restrict, modify-types, remove, add-pages, "
	  "relax, modify-permissions, reset, augment)\n" },
	{ "enclave e\nenter e op=jump\n", "2: unknown op 'jump' (put, get, nop, eaccept, emodpe, init-tcs, or a number)\n" },
	{ "enclave e\nexpect happy\n", "2: unknown expect item 'happy'\n" },
	{ "enclave e\nenter e op=get addr=nowhere\n", "2: unknown symbol 'nowhere'\n" },
	{ "enclave e\nenter e op=eaccept addr=end flags=r|sticky\n", "2: unknown flag 'sticky' in 'r|sticky'\n" },
	{ "enclave e\nioctl e modify-types offset=0 length=4K type=blue\n", "2: unknown page type 'blue'\n" },
	{ "enclave e\nmmap e end 4K rwq\n", "2: bad protection 'rwq' (letters r, w, x, or none)\n" },
	{ "enclave e\nmmap e end 4K rw shared\n",
	  "2: unexpected word 'shared' (mmap NAME ADDRESS LENGTH PROT [private] [populate])\n" },
	{ "enclave e\nmmap e end 4K rw private populate private\n",
	  "2: unexpected word 'private' (mmap NAME ADDRESS LENGTH PROT [private] [populate])\n" },
	{ "enclave e\nmunmap e end 4K populate\n", "2: unexpected word 'populate' (munmap NAME ADDRESS LENGTH)\n" },
	{ "config sgx3=on\n", "1: unknown key 'sgx3' (config takes epc= sections= lps= sgx2= seed= batch= low= high= "
	  "policy= augment= populate= etrack= fault-around=)\n" },
	{ "config policy=v3\n", "1: unknown policy 'v3' (upstream, sgx1, v1, v2, reset, mprotect-emodpr)\n" },
	{ "config etrack=sometimes\n", "1: etrack is per-page or per-ioctl, not 'sometimes'\n" },
	{ "config augment=yes\n", "1: augment is on or off, not 'yes'\n" },
	{ "config fault-around=4294967296\n", "1: number out of range '4294967296'\n" },
	{ "enclave e\nioctl e relax offset=0 length=4K perm=r\nexpect result=0\n",
	  "3: expect item 'result' does not apply to ioctl\n" },
	{ "enclave e\nioctl e augment offset=0 length=4K perm=r\n",
	  "2: unknown key 'perm' (ioctl augment takes offset= length=)\n" },
	/* bad numbers */
	{ "enclave e heap=12Q\n", "1: bad number '12Q'\n" },
	{ "enclave e heap=0x\n", "1: bad number '0x'\n" },
	{ "enclave e heap=\n", "1: bad number ''\n" },
	{ "enclave e heap=4KK\n", "1: bad number '4KK'\n" },
	{ "enclave e heap=99999999999999999999\n", "1: number out of range '99999999999999999999'\n" },
	{ "enclave e heap=0x10000000000000000\n", "1: number out of range '0x10000000000000000'\n" },
	{ "enclave e heap=17179869184G\n", "1: number out of range '17179869184G'\n" },
	{ "enclave e\nenter e op=put value=-1\n", "2: bad number '-1'\n" },
	{ "enclave e heap=6K\n", "1: heap must be a multiple of 4K, at most 1G\n" },
	{ "config epc=6K\n", "1: epc must be a multiple of 4K, at most 4G\n" },
	{ "config lps=1\n", "1: lps must be between 2 and 64 (the last one is the kernel's)\n" },
	{ "config epc=12K sections=2\n", "1: 2 sections do not divide the EPC's 3 pages\n" },
	{ "config low=10 high=5\n", "1: low (10) must not exceed high (5)\n" },
	{ "config sgx2=maybe\n", "1: sgx2 is on or off, not 'maybe'\n" },
	/* enclaves */
	{ "enter f op=nop\n", "1: unknown enclave 'f'\n" },
	{ "enter op=nop\n", "1: enter needs an enclave name\n" },
	{ "enclave e\nmunmap f end 4K\n", "2: unknown enclave 'f'\n" },
	{ "enclave e\nenclave f\nenter e op=get addr=g:data_start\n", "3: unknown enclave 'g'\n" },
	{ "# one\n\nenclave e\nenclave e\n", "4: duplicate enclave name 'e' (first at line 3)\n" },
	{ "enclave 9e\n", "1: bad enclave name '9e' (a letter or _, then letters, digits, _; at most 31)\n" },
	{ "enclave e\nclose e\ninspect e data_start\n", "3: enclave 'e' was closed at line 2\n" },
	/* expect */
	{ "expect ok\n", "1: expect without an operation\n" },
	{ "config lps=4\nexpect ok\n", "2: expect without an operation\n" },
	{ "enclave e\nexpect\n", "2: expect needs at least one item\n" },
	{ "enclave e\nmmap e end 4K rw\nexpect value=1\n", "3: expect item 'value' does not apply to mmap\n" },
	{ "enclave e\nenter e op=put value=1\nexpect value=1\n", "3: expect item 'value' does not apply to enter op=this op\n" },
	{ "enclave e\nexpect ok fail\n", "2: 'fail' contradicts 'ok'\n" },
	{ "enclave e\nenter e op=get\nexpect vector=PF eexit\n", "3: 'vector' contradicts 'eexit'\n" },
	{ "enclave e\nenter e op=get\nexpect any ok\n", "3: 'any' cannot be combined with other items\n" },
	{ "enclave e\nenter e op=get\nexpect value=1\nexpect value=2\n", "4: duplicate expect item 'value'\n" },
	{ "enclave e\nenter e op=get\nexpect eexit=1\n", "3: expect item 'eexit' takes no value\n" },
	{ "enclave e\nenter e op=get\nexpect value\n", "3: expect item 'value' needs a value (value=...)\n" },
	{ "enclave e\nioctl e remove offset=0 length=4K\nexpect errno=EWHAT\n", "3: unknown errno 'EWHAT'\n" },
	{ "enclave e\nenter e op=get\nexpect vector=XX\n", "3: unknown vector 'XX'\n" },
	/* strings */
	{ "enclave e\ninspect e end\nexpect has=\"PENDING\n", "3: unterminated string\n" },
	{ "enclave e\ninspect e end\nexpect has=\"a\\qb\"\n", "3: bad escape '\\q' in a string (only \\\" and \\\\)\n" },
	{ "enclave e\ninspect e end\nexpect has=\"a\"b\n", "3: text after the closing quote\n" },
	/* missing and duplicate keys, arguments */
	{ "enclave e\nenter e op=eaccept addr=end\n", "2: op=eaccept needs flags=\n" },
	{ "enclave e\nenter e\n", "2: enter needs op= (put, get, nop, eaccept, emodpe, init-tcs, or a number)\n" },
	{ "enclave e\nioctl e restrict offset=0 length=4K\n", "2: ioctl restrict needs perm=\n" },
	{ "enclave e\nioctl e remove offset=0 offset=4K length=4K\n", "2: duplicate key 'offset='\n" },
	{ "config lps=4\nconfig lps=8\n", "2: duplicate key 'lps' (set at line 1)\n" },
	{ "enclave e\nenter e op=get value=3\n", "2: key 'value=' does not apply to op=get\n" },
	{ "enclave e\nmmap e end 4K\n", "2: missing arguments: mmap NAME ADDRESS LENGTH PROT [private] [populate]\n" },
	{ "enclave e\nreclaim now\n", "2: unexpected word 'now' (reclaim takes nothing)\n" },
	/* addresses */
	{ "enclave e\nenter e op=put addr=0x4000 value=1\n",
	  "2: bad address '0x4000': write +0x4000 for an offset in the enclave\n" },
	{ "enclave e\nmmap e limit 4K rw\n", "2: mmap +0x10000 (length 0x1000) is outside enclave 'e' [+0x0, +0x10000)\n" },
	{ "enclave e\nenter e op=get addr=limit-4\n", "2: addr +0xfffc (length 0x8) is outside enclave 'e' [+0x0, +0x10000)\n" },
	{ "enclave e\nmunmap e +0x1000 0xffffffffffffffff\n",
	  "2: munmap +0x1000 (length 0xffffffffffffffff) is outside enclave 'e' [+0x0, +0x10000)\n" },
	{ "enclave e\nenter e op=get addr=data_start-0x5000\n", "2: address out of range 'data_start-0x5000'\n" },
	{ "enclave e\nenter e op=get addr=+0xffffffffffffffff+1\n", "2: address out of range '+0xffffffffffffffff+1'\n" },
	{ "enclave e\nenter e op=get addr=+\n", "2: bad address '+'\n" },
	{ "enclave e\nenter e op=get addr=end++8\n", "2: bad address 'end++8'\n" },
	{ "enclave e\nenclave f\nenter e op=get addr=f:data_start\n", "3: addr 'f:data_start' is in another enclave\n" },
	/* config placement */
	{ "enclave e\nconfig lps=2\n", "2: config after the first operation\n" },
};

static void test_malformed(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct cap c = { 0 };
		char want[512];
		cap_str(&c, malformed[i].text);
		snprintf(want, sizeof(want), "t.sgx:%s", malformed[i].err);
		if (strcmp(c.err, want) || c.status != SC_MALFORMED)
			fail_msg("case %u:\n%s\ngot status %d: %s", i, malformed[i].text, c.status, c.err);
		assert_int_equal(c.out_len, 0);     /* nothing ran: not even the machine line */
		cap_free(&c);
	}
}

/* A mistake on the last line: the valid lines before it do not run. */
static void test_malformed_runs_nothing(void **state)
{
	(void)state;
	struct cap c = { 0 };
	cap_str(&c, "enclave e\nenter e op=put value=5\nenter e op=get\nexpect value=5\nmunmap e end 4K junk\n");
	assert_int_equal(c.status, SC_MALFORMED);
	assert_string_equal(c.err, "t.sgx:5: unexpected word 'junk' (munmap NAME ADDRESS LENGTH)\n");
	assert_int_equal(c.out_len, 0);
	cap_free(&c);
}

/* Bytes the file cannot show are escaped and long words cut in messages. */
static void test_malformed_message_escapes(void **state)
{
	(void)state;
	struct cap c = { 0 };
	cap_str(&c, "\xc3\xa9t\xe9 e\n");
	assert_string_equal(c.err, "t.sgx:1: unknown command '\\xc3\\xa9t\\xe9'\n");
	cap_free(&c);
	cap_str(&c, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n");
	assert_string_equal(c.err, "t.sgx:1: unknown command 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn...'\n");
	cap_free(&c);
}

/* ---- expectations that do not hold ---- */

static const struct {
	const char *text;
	const char *err;      /* after "t.sgx:" */
	unsigned line;        /* of "FAILED at line" */
} failing[] = {
	/* encl_buffer starts as 1 */
	{ "enclave e\nenter e op=get\nexpect value=2\n", "2: expected value=2; got eexit value=0x1\n", 2 },
	{ "enclave e\nioctl e remove offset=data_start length=4K\nexpect errno=EINVAL\n",
	  "2: expected errno=EINVAL; got ret=-1 errno=EPERM count=0\n", 2 },
	{ "enclave e\nioctl e restrict offset=data_start length=4K perm=r\nexpect count=8192\n",
	  "2: expected count=8192; got ret=0 count=4096 result=0\n", 2 },
	{ "enclave e\nioctl e restrict offset=data_start length=4K perm=r\nexpect fail\n",
	  "2: expected fail; got ret=0 count=4096 result=0\n", 2 },
	/* no expect: must succeed.  A REG page as the TCS: EENTER's EPCM #PF (SGX, read); a TCS
	 * address that is not page-aligned: #GP */
	{ "enclave e\nenter e tcs=+0x3000 op=nop\n",
	  "2: expected ok; got exception function=eenter vector=14 code=0x8005 addr=+0x3000\n", 2 },
	{ "enclave e\nenter e tcs=+0x1008 op=nop\n",
	  "2: expected ok; got exception function=eenter vector=13 code=0x0 addr=0x0\n", 2 },
	{ "enclave e\nenter e op=get\nexpect exception\n", "2: expected exception; got eexit value=0x1\n", 2 },
	{ "enclave e\nenter e op=eaccept addr=data_start flags=r|w|reg|pending\n",
	  "2: expected ok; got eexit eaccept-ret=19\n", 2 },
	{ "enclave e\nenter e op=eaccept addr=data_start flags=r|w|reg|pending\nexpect eaccept-ret=SGX_NOT_TRACKED\n",
	  "2: expected eaccept-ret=SGX_NOT_TRACKED; got eexit eaccept-ret=19\n", 2 },
	/* an untouched page has no PTE: the write fault is "not present", 0x6 */
	{ "enclave e\nmprotect e data_start 4K r\nenter e op=put addr=data_start value=1\nexpect code=0x8007\n",
	  "3: expected code=0x8007; got exception function=eresume vector=14 code=0x6 addr=+0x4000\n", 3 },
	{ "enclave e\nmprotect e data_start 4K r\nenter e op=put addr=data_start value=1\nexpect addr=+0x5000\n",
	  "3: expected addr=+0x5000; got exception function=eresume vector=14 code=0x6 addr=+0x4000\n", 3 },
	{ "enclave e\ninspect e data_start\nexpect has=PENDING\n",
	  "2: expected has=PENDING; got +0x4000: VMA +0x3000-+0x9000 rw- sgx,shared,mayexec,maywrite; no PTE; "
	  "page max rw- type 2\n", 2 },
	{ "enclave e\ninspect e data_start\nexpect lacks=\"no PTE\"\n",
	  "2: expected lacks=\"no PTE\"; got +0x4000: VMA +0x3000-+0x9000 rw- sgx,shared,mayexec,maywrite; no PTE; "
	  "page max rw- type 2\n", 2 },
	{ "enclave e\nreclaim\nexpect count=1\n", "2: expected count=1; got count=0\n", 2 },
	{ "enclave e\nmmap e end 4K rw\nmmap e end 4K rw private\n", "3: expected ok; got errno=EINVAL\n", 3 },
	/* the first failure stops the run: line 4 is not reached */
	{ "enclave e\nenter e op=get\nexpect value=7\nenter e op=nop\nexpect exception\n",
	  "2: expected value=7; got eexit value=0x1\n", 2 },
	/* an enclave that could not be built (one EPC page: no room for a SECS and a VA page) */
	{ "config epc=4K\nenclave e\nexpect fail\nenter e op=nop\n", "4: enclave 'e' was not built (line 2)\n", 4 },
};

static void test_failing_expectations(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		struct cap c = { 0 };
		char want[1024], last[64];
		cap_str(&c, failing[i].text);
		snprintf(want, sizeof(want), "t.sgx:%s", failing[i].err);
		if (strcmp(c.err, want) || c.status != SC_FAIL)
			fail_msg("case %u:\n%s\ngot status %d: %s", i, failing[i].text, c.status, c.err);
		snprintf(last, sizeof(last), "FAILED at line %u\n", failing[i].line);
		assert_true(c.out_len >= strlen(last));
		assert_string_equal(c.out + c.out_len - strlen(last), last);
		cap_free(&c);
	}
}

/* ---- expectations that hold, and the finer points of the syntax ---- */

static void test_items_hold(void **state)
{
	(void)state;
	struct cap c = { 0 };
	static const char scenario[] =
		"# CRLF line ends, tabs, comments after commands\r\n"
		"config\tepc=16M lps=2 seed=7 batch=4 low=8 high=16   # small\r\n"
		"enclave e heap=8K\n"
		"expect ok\n"
		"enclave f\n"
		"# an expect applies across comments and blank lines\n"
		"\n"
		"expect ok\n"
		"enter e op=put value=0x10\n"
		"enter e op=get\n"
		"expect eexit\n"
		"expect value=16 function=eexit ret=0\n"
		"enter e op=put addr=heap+8K-8 value=3\n"
		"enter e op=get addr=heap+0x1ff8\n"
		"expect value=3\n"
		"enter e tcs=tcs2 op=put addr=+0x4000 value=0x44\n"
		"enter e tcs=2 op=get addr=data_start\n"
		"expect value=0x44\n"
		"enter e op=7\n"                                 /* INIT_TCS_PAGE with zero fields: writes at 0 */
		"expect exception function=eresume vector=PF code=0x6 addr=0\n"
		"enter e tcs=2 op=100\n"                         /* not an op: ignored */
		"resume e tcs=2\n"                               /* nothing suspended: EENTER's CSSA is 0 */
		"expect exception function=eresume vector=GP code=0 addr=0x0\n"
		"ioctl e add-pages offset=end length=4K secinfo=reg|r|w measure\n"
		"expect errno=EINVAL ret=-1 count=0\n"
		"ioctl e modify-types offset=data_start length=4K type=trim\n"
		"expect ok result=SGX_SUCCESS count=4K\n"
		"ioctl e remove offset=0xffffffffffffffff length=0xffffffffffffffff\n"
		"expect errno=22 count=0\n"
		"inspect e data_start\n"
		"expect has=\"TRIM ---\" has=\"type 4\" lacks=PENDING lacks=\"with \\\"quotes\\\" \\\\\"\n"
		"inspect e f:data_start\n"
		"expect has=\"f+0x4000: VMA f+0x3000-f+0x9000 rw- sgx\"\n"
		"inspect f limit\n"
		"expect has=\"+0x10000: no VMA; no PTE\"\n"
		"mprotect e buffer 4K none\n"
		"mprotect e buffer 4K rw\n"
		"munmap f +0 limit\n"
		"close f\n"
		"reclaim\n"
		"expect count=0\n"
		"mmap e limit-4K 4K r--\n"
		"expect ok\n";
	cap_str(&c, scenario);
	if (c.status != SC_PASS)
		fail_msg("status %d: %s\n%s", c.status, c.err, c.out);
	assert_string_equal(c.err, "");
	assert_non_null(strstr(c.out, "\npassed: 23 operations\n"));
	/* the trace echoes each command with its words joined by one space */
	assert_non_null(strstr(c.out, "machine epc=0x1000000 sections=1 lps=2 sgx2=on seed=0x7 batch=4 low=8 high=16 "
				      "policy=upstream\n"));
	assert_non_null(strstr(c.out, "\n3: enclave e heap=8K -> ok size=0x10000 end=+0xb000\n"));
	assert_non_null(strstr(c.out, "\n10: enter e op=get -> eexit value=0x10\n"));
	assert_non_null(strstr(c.out, "\n32: inspect e f:data_start -> f+0x4000: VMA f+0x3000-f+0x9000 rw- sgx,"));
	assert_non_null(strstr(c.out, "\n28: ioctl e remove offset=0xffffffffffffffff length=0xffffffffffffffff -> "
				      "ret=-1 errno=EINVAL count=0\n"));
	cap_free(&c);
}

/* The policy and its switches, and sgx2emu's extension ioctls. */
static void test_policy_switches(void **state)
{
	(void)state;
	struct cap c = { 0 };
	cap_str(&c, "config augment=on populate=on etrack=per-ioctl fault-around=4 policy=reset\n"
		    "enclave e heap=64K\n"
		    "mmap e end 16K rw\n"
		    "ioctl e augment offset=end length=8K\n"      /* EAUGed, not mapped */
		    "expect ret=0 count=8192\n"
		    "inspect e end+4K\n"
		    "expect has=\"no PTE; page max rwx type 2\"\n"
		    "mmap e end+16K 8K rw populate\n"             /* EAUGed and mapped */
		    "inspect e end+20K\n"
		    "expect has=\"PTE rw- -> EPC frame\" has=\"REG  rw- PENDING\"\n"
		    "enter e op=get addr=data_start\n"             /* a PTE, so inspect shows the EPCM */
		    "ioctl e reset offset=data_start length=4K\n"
		    "expect ret=0 count=4096 result=0\n"
		    "inspect e data_start\n"
		    "expect has=\"REG  --- PR\"\n"
		    "ioctl e relax offset=data_start length=4K perm=r\n"
		    "expect errno=ENOTTY\n"
		    "ioctl e modify-permissions offset=data_start length=4K perm=r\n"
		    "expect errno=ENOTTY count=0 result=0\n");
	if (c.status != SC_PASS)
		fail_msg("status %d: %s\n%s", c.status, c.err, c.out);
	assert_non_null(strstr(c.out, "machine epc=0x4000000 sections=1 lps=4 sgx2=on seed=0x5367583245 batch=16 low=32 "
				      "high=64 policy=reset augment=on populate=on etrack=per-ioctl fault-around=4\n"));
	cap_free(&c);
	/* without the switch, no AUGMENT ioctl */
	cap_str(&c, "enclave e\nioctl e augment offset=end length=4K\nexpect errno=ENOTTY\n");
	assert_int_equal(c.status, SC_PASS);
	cap_free(&c);
	/* fault-around beyond the driver's maximum: the machine is refused, nothing runs */
	cap_str(&c, "config fault-around=100000\nenclave e\n");
	assert_int_equal(c.status, SC_MALFORMED);
	assert_string_equal(c.err, "t.sgx:1: cannot create the machine: Invalid argument\n");
	assert_int_equal(c.out_len, 0);
	cap_free(&c);
}

/* The same file twice in one process: the same trace (the second machine's
 * enclaves land elsewhere). */
static void test_deterministic(void **state)
{
	(void)state;
	struct cap a = { 0 }, b = { 0 };
	cap_file(&a, EXAMPLES "/tcs_create.sgx");
	cap_file(&b, EXAMPLES "/tcs_create.sgx");
	assert_int_equal(a.status, 0);
	assert_string_equal(a.out, b.out);
	cap_free(&a);
	cap_free(&b);
}

/* ---- files ---- */

static void test_file_errors(void **state)
{
	(void)state;
	struct cap c = { 0 };
	cap_file(&c, "/nonexistent/x.sgx");
	assert_int_equal(c.status, SC_MALFORMED);
	assert_string_equal(c.err, "/nonexistent/x.sgx: No such file or directory\n");
	cap_free(&c);
	cap_file(&c, "/");                           /* a directory: fread fails */
	assert_int_equal(c.status, SC_MALFORMED);
	assert_string_equal(c.err, "/: Is a directory\n");
	cap_free(&c);

	/* 64 MiB + 1 byte (sparse: zeros) */
	char path[] = "/tmp/test_scenario_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SC_MAX_FILE + 1), 0);
	close(fd);
	cap_file(&c, path);
	assert_int_equal(c.status, SC_MALFORMED);
	char want[128];
	snprintf(want, sizeof(want), "%s: larger than 64 MiB\n", path);
	assert_string_equal(c.err, want);
	cap_free(&c);
	/* exactly 64 MiB of zeros: read, then refused at its first line */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SC_MAX_FILE), 0);
	close(fd);
	cap_file(&c, path);
	snprintf(want, sizeof(want), "%s:1: line longer than 4096 characters\n", path);
	assert_string_equal(c.err, want);
	cap_free(&c);
	unlink(path);
}

/* ---- hostile input ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A million lines: comments and blank lines cost nothing; 1000 of them
 * are entries, which run. */
static void test_million_lines(void **state)
{
	(void)state;
	size_t cap = 32u << 20, len = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	len += (size_t)sprintf(t + len, "enclave e\n");
	for (unsigned i = 2; i <= 1000000; i++) {
		if (i % 1000 == 0)
			len += (size_t)sprintf(t + len, "enter e op=nop\n");
		else if (i % 3)
			len += (size_t)sprintf(t + len, "# line %u\n", i);
		else
			t[len++] = '\n';
	}
	struct cap c = { 0 };
	cap_text(&c, t, len);
	assert_int_equal(c.status, SC_PASS);
	assert_non_null(strstr(c.out, "\n1000000: enter e op=nop -> eexit\npassed: 1001 operations\n"));
	cap_free(&c);

	/* a million operations: refused at the first one over the limit */
	len = (size_t)sprintf(t, "enclave e\n");
	for (unsigned i = 2; i <= 1000000; i++)
		len += (size_t)sprintf(t + len, "enter e op=nop\n");
	cap_text(&c, t, len);
	assert_int_equal(c.status, SC_MALFORMED);
	assert_string_equal(c.err, "t.sgx:100001: more than 100000 operations\n");
	assert_int_equal(c.out_len, 0);
	cap_free(&c);
	free(t);
}

static void test_long_lines(void **state)
{
	(void)state;
	struct cap c = { 0 };
	size_t n = 10u << 20;
	char *t = malloc(n + 16);
	assert_non_null(t);
	/* 10 MiB without a newline */
	memset(t, 'a', n);
	cap_text(&c, t, n);
	assert_string_equal(c.err, "t.sgx:1: line longer than 4096 characters\n");
	cap_free(&c);
	/* a 4096-character comment is fine, 4097 is not */
	t[0] = '#';
	memset(t + 1, 'x', 4095);
	t[4096] = '\n';
	memcpy(t + 4097, "enclave e\n", 10);
	cap_text(&c, t, 4107);
	assert_int_equal(c.status, SC_PASS);
	cap_free(&c);
	memset(t + 1, 'x', 4096);
	t[4097] = '\n';
	cap_text(&c, t, 4098);
	assert_string_equal(c.err, "t.sgx:1: line longer than 4096 characters\n");
	cap_free(&c);
	/* CR before LF does not count */
	memset(t + 1, 'x', 4095);
	t[4096] = '\r';
	t[4097] = '\n';
	cap_text(&c, t, 4098);
	assert_int_equal(c.status, SC_PASS);
	cap_free(&c);
	/* 300 words */
	size_t len = (size_t)sprintf(t, "enclave e\nexpect");
	for (unsigned i = 0; i < 300; i++)
		len += (size_t)sprintf(t + len, " ok");
	cap_text(&c, t, len);
	assert_string_equal(c.err, "t.sgx:2: more than 256 words on a line\n");
	cap_free(&c);
	/* an address of 1800 terms (a line of about 3700 characters) */
	len = (size_t)sprintf(t, "enclave e\nenter e op=get addr=+0");
	for (unsigned i = 0; i < 900; i++)
		len += (size_t)sprintf(t + len, "+1-1");
	len += (size_t)sprintf(t + len, "+data_start\nexpect value=0\n");
	cap_text(&c, t, len);
	assert_int_equal(c.status, SC_PASS);
	cap_free(&c);
	/* 65 enclaves */
	len = 0;
	for (unsigned i = 0; i < 65; i++)
		len += (size_t)sprintf(t + len, "enclave e%u\n", i);
	cap_text(&c, t, len);
	assert_string_equal(c.err, "t.sgx:65: more than 64 enclaves\n");
	cap_free(&c);
	free(t);
}

static void test_binary(void **state)
{
	(void)state;
	size_t n = 1u << 20;
	char *t = malloc(n);
	assert_non_null(t);
	for (unsigned round = 0; round < 20; round++) {
		for (size_t i = 0; i < n; i++)
			t[i] = (char)rnd();
		struct cap c = { 0 };
		cap_text(&c, t, n);
		assert_int_equal(c.status, SC_MALFORMED);
		assert_int_equal(strncmp(c.err, "t.sgx:", 6), 0);
		assert_int_equal(c.out_len, 0);
		cap_free(&c);
	}
	free(t);
	struct cap c = { 0 };
	cap_str(&c, "enclave e\nenter e op=get\x7f\n");
	assert_string_equal(c.err, "t.sgx:2: control character 0x7f\n");
	cap_free(&c);
	cap_text(&c, "enclave e\0\n", 11);
	assert_string_equal(c.err, "t.sgx:1: control character 0x00\n");
	cap_free(&c);
}

static void test_huge_numbers(void **state)
{
	(void)state;
	static const char *const refused[] = {
		"config epc=0xffffffffffffffff\n",
		"config seed=0x1ffffffffffffffff\n",
		"config lps=4294967297\n",
		"config high=4294967296\n",
		"enclave e heap=1G\nenclave f heap=0x40001000\n",
		"enclave e\nenter e op=put addr=+0xffffffffffffffff value=1\n",
		"enclave e\nenter e op=put value=18446744073709551616\n",
		"enclave e\nmmap e +0xfffffffffffff000 4K rw\n",
		"enclave e\nenter e op=get\nexpect ret=-9223372036854775809\n",
		"enclave e\nenter e op=get\nexpect value=0x1ffffffffffffffff\n",
		"enclave e\nioctl e remove offset=0 length=4K\nexpect errno=100000\n",
	};
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct cap c = { 0 };
		cap_str(&c, refused[i]);
		if (c.status != SC_MALFORMED)
			fail_msg("case %u: %s: status %d", i, refused[i], c.status);
		assert_int_equal(c.out_len, 0);
		cap_free(&c);
	}
	/* Values the kernel and hardware check themselves run. */
	struct cap c = { 0 };
	cap_str(&c, "enclave e\n"
		    "ioctl e restrict offset=0xfffffffffffff000 length=0xfffffffffffff000 perm=0xffffffffffffffff\n"
		    "expect errno=EINVAL\n"
		    "ioctl e modify-types offset=0 length=4K type=0xffffffffffffffff\n"
		    "expect errno=EINVAL\n"
		    "enter e op=eaccept addr=+0xffffffffffffffff flags=0xffffffffffffffff\n"
		    "expect exception\n"
		    "enter e tcs=2 op=0xffffffffffffffff\n"
		    "resume e tcs=+0xfffffffffffff000\n"
		    "expect exception function=eresume\n");
	if (c.status != SC_PASS)
		fail_msg("status %d: %s\n%s", c.status, c.err, c.out);
	cap_free(&c);
}

/* Mutations of the examples: parsed, and run when they parse (with small
 * machines), without crashing or leaking; every message is FILE:LINE. */
static void test_fuzz(void **state)
{
	(void)state;
	static const char *const words[] = {
		"0xffffffffffffffff", "99999999999999999999999", "-1", "", "#", "\"", "=", "expect", "+", "limit",
		"end+8K", "e:", "tcs=2", "op=7", "op=0", "op=2", "op=3", "op=5", "enter e op=1", "\t", "\xff", "\x01", "expect any", "resume e", "close e",
		"config policy=v2 augment=on populate=on fault-around=3\n", "populate", "ioctl e relax offset=0 length=4K perm=r\n",
		"ioctl e augment offset=end length=8K\n", "ioctl e reset offset=data_start length=4K\n",
	};
	char *texts[NR_EXAMPLES];
	size_t lens[NR_EXAMPLES];
	for (unsigned i = 0; i < NR_EXAMPLES; i++) {
		char path[256];
		snprintf(path, sizeof(path), EXAMPLES "/%s.sgx", examples[i].name);
		texts[i] = read_all(path, &lens[i]);
		assert_non_null(texts[i]);
	}
	unsigned ran = 0, counts[3] = { 0 };
	for (unsigned iter = 0; iter < 1500; iter++) {
		unsigned which = (unsigned)(rnd() % NR_EXAMPLES);
		size_t cap = lens[which] * 2 + 1024, len = lens[which];
		char *t = malloc(cap);
		assert_non_null(t);
		memcpy(t, texts[which], len);
		for (unsigned m = 1 + (unsigned)(rnd() % 4); m--;) {
			size_t at = len ? (size_t)(rnd() % len) : 0;
			switch (rnd() % 4) {
			case 0:         /* a byte */
				if (len)
					t[at] = (char)(0x20 + rnd() % 0x5f);
				break;
			case 1: {       /* insert a word */
				const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
				size_t wl = strlen(w);
				if (len + wl + 2 < cap) {
					memmove(t + at + wl + 1, t + at, len - at);
					memcpy(t + at, w, wl);
					t[at + wl] = ' ';
					len += wl + 1;
				}
				break;
			}
			case 2: {       /* delete a stretch */
				size_t n = (size_t)(rnd() % 40);
				if (at + n > len)
					n = len - at;
				memmove(t + at, t + at + n, len - at - n);
				len -= n;
				break;
			}
			case 3: {       /* copy a stretch of the example elsewhere */
				size_t from = (size_t)(rnd() % lens[which]), n = (size_t)(rnd() % 80);
				size_t to = len ? (size_t)(rnd() % len) : 0;
				if (from + n > lens[which])
					n = lens[which] - from;
				if (len + n < cap) {
					memmove(t + to + n, t + to, len - to);
					memcpy(t + to, texts[which] + from, n);
					len += n;
				}
				break;
			}
			}
		}
		struct sc_program prog;
		FILE *o = fopen("/dev/null", "w"), *e;
		char *err = NULL;
		size_t err_len = 0;
		e = open_memstream(&err, &err_len);
		assert_non_null(o);
		assert_non_null(e);
		int status;
		if (sc_parse(&prog, "t.sgx", t, len, e)) {
			status = SC_MALFORMED;
		} else {
			/* keep runs short: a small EPC, small heaps */
			bool small = prog.cfg.hw.epc_bytes <= (64u << 20);
			for (unsigned i = 0; i < prog.nr_encls; i++)
				small = small && prog.encls[i].heap <= (64u << 10);
			status = SC_PASS;
			if (small && ran < 400) {
				ran++;
				status = sc_execute(&prog, o, e);
			}
			sc_program_free(&prog);
		}
		fclose(o);
		fclose(e);
		assert_true(status == SC_PASS || status == SC_FAIL || status == SC_MALFORMED);
		counts[status]++;
		if (status != SC_PASS) {
			assert_int_equal(strncmp(err, "t.sgx:", 6), 0);
			assert_int_equal(err[err_len - 1], '\n');
			assert_null(memchr(err, '\n', err_len - 1));    /* one line */
		} else {
			assert_int_equal(err_len, 0);
		}
		free(err);
		free(t);
	}
	print_message("mutated scenarios: %u held every expectation, %u stopped at one, %u rejected as malformed; %u ran\n",
		      counts[0], counts[1], counts[2], ran);
	assert_true(ran > 50);
	for (unsigned i = 0; i < NR_EXAMPLES; i++)
		free(texts[i]);
}

/* ---- the command ---- */

static int command(const char *args)
{
	char bin[512], cmd[1024];
	const char *p = strstr(self_path, "/tests/tools/");
	if (!p)
		return -1;
	snprintf(bin, sizeof(bin), "%.*s/sgx2emu", (int)(p - self_path), self_path);
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", bin, args);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command(void **state)
{
	(void)state;
	if (!strstr(self_path, "/tests/tools/"))
		skip();
	assert_int_equal(command("run " EXAMPLES "/augment.sgx"), 0);
	assert_int_equal(command("run " EXAMPLES "/wrong_expectation.sgx"), 1);
	assert_int_equal(command("run /nonexistent.sgx"), 2);
	assert_int_equal(command("run"), 2);
	assert_int_equal(command("run a b"), 2);
	assert_int_equal(command("run --help"), 0);
	assert_int_equal(command("run - < " EXAMPLES "/restrict.sgx"), 0);
	assert_int_equal(command("run - < /dev/null"), 0);
	assert_int_equal(command("help | grep -q '^  run FILE'"), 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	self_path = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_examples_all_listed),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_runs_nothing),
		cmocka_unit_test(test_malformed_message_escapes),
		cmocka_unit_test(test_failing_expectations),
		cmocka_unit_test(test_items_hold),
		cmocka_unit_test(test_policy_switches),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_million_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_command),
	};
	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
