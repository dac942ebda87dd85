/*
 * The cost model: defaults and their sources, the sum over a run's counters,
 * the `name = ns` file format with every error's exact "FILE:LINE: reason",
 * and a printout that reads back as the same model.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fixture.h"
#include "sgx2emu/counters.h"

static struct emu_cost_model defaults(void)
{
	struct emu_cost_model cm;
	memset(&cm, 0xff, sizeof(cm));
	emu_cost_model_defaults(&cm);
	return cm;
}

static void test_defaults(void **state)
{
	(void)state;
	struct emu_cost_model cm = defaults();
	const double *d = (const double *)&cm;
	for (size_t i = 0; i < sizeof(cm) / sizeof(double); i++)
		assert_true(isfinite(d[i]) && d[i] >= 0);
	/* published figures at 2.5 GHz */
	assert_true(cm.enclave_entry_exit_ns == 3200.0);   /* ECALL ~8,000 cycles */
	assert_true(cm.runtime_exit_ns == 800.0);          /* OCALL ~10,000 - ECALL */
	assert_true(cm.ewb_extra_ns + cm.eldu_extra_ns == 16000.0);   /* VAULT: ~40,000 cycles per swap */
	assert_true(cm.ipi_ns == 1500.0);
	/* charged elsewhere, so 0 here */
	assert_true(cm.enclu_ns[SGX_EENTER] == 0 && cm.enclu_ns[SGX_ERESUME] == 0 && cm.enclu_ns[SGX_EEXIT] == 0);
	assert_true(cm.encls_ns[SGX_EWB] == 0 && cm.encls_ns[SGX_ELDU] == 0 && cm.encls_ns[SGX_EBLOCK] == 0);
	assert_true(cm.encls_ns[SGX_EAUG] == 800.0);
}

/* Every counter is charged with its own cost, once. */
static void test_sum(void **state)
{
	(void)state;
	struct emu_cost_model cm;
	memset(&cm, 0, sizeof(cm));
	struct emu_counters c = { 0 };
	assert_true(emu_cost_model_ns(&cm, &c) == 0);

	double *d = (double *)&cm;
	for (size_t i = 0; i < sizeof(cm) / sizeof(double); i++)
		d[i] = (double)(1ull << (i % 40));   /* distinct powers of two: no term can hide another */
	c.ioctls = 1;
	c.mmaps = 2;
	c.mprotects = 3;
	c.munmaps = 4;
	c.enclave_entries = 5;
	c.enclave_exits = 6;          /* not charged: the entry pays the round trip */
	c.aexs = 7;
	c.runtime_exits = 8;
	c.encls[SGX_EAUG] = 9;
	c.enclu[SGX_EACCEPT] = 10;
	c.etracks = 11;               /* not charged: encls[ETRACK] is */
	c.ipis = 12;
	c.ipi_targets = 13;
	c.tlb_flushes = 14;
	c.pte_zaps = 15;
	c.faults[EMU_FAULT_EPCM] = 16;
	c.ewb = 17;
	c.eldu = 18;
	c.stale_tlb_hits = 19;        /* not charged */
	double expect = 1 * cm.ioctl_ns + (2 + 3 + 4) * cm.syscall_ns + 5 * cm.enclave_entry_exit_ns + 7 * cm.aex_ns +
			8 * cm.runtime_exit_ns + 9 * cm.encls_ns[SGX_EAUG] + 10 * cm.enclu_ns[SGX_EACCEPT] +
			12 * cm.ipi_round_ns + 13 * cm.ipi_ns + 14 * cm.tlb_flush_ns + 15 * cm.pte_zap_ns +
			16 * cm.fault_ns[EMU_FAULT_EPCM] + 17 * cm.ewb_extra_ns + 18 * cm.eldu_extra_ns;
	assert_true(emu_cost_model_ns(&cm, &c) == expect);
}

static int parse(struct emu_cost_model *cm, const char *text, char *err, size_t len)
{
	return emu_cost_model_parse(cm, "costs.txt", text, strlen(text), err, len);
}

static void test_parse(void **state)
{
	(void)state;
	struct emu_cost_model cm = defaults(), before = cm;
	char err[256] = "";
	assert_int_equal(parse(&cm,
			       "# calibrated on a test box\n"
			       "\n"
			       "encls.EAUG = 1234.5\n"
			       "  enclu.eaccept\t=  42   # leaf names in any case\r\n"
			       "ipi=0\n"
			       "fault.EPCM = 1e3\n"
			       "ewb_extra = 7", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(cm.encls_ns[SGX_EAUG] == 1234.5);
	assert_true(cm.enclu_ns[SGX_EACCEPT] == 42);
	assert_true(cm.ipi_ns == 0);
	assert_true(cm.fault_ns[EMU_FAULT_EPCM] == 1000);
	assert_true(cm.ewb_extra_ns == 7);
	/* the rest untouched */
	cm.encls_ns[SGX_EAUG] = before.encls_ns[SGX_EAUG];
	cm.enclu_ns[SGX_EACCEPT] = before.enclu_ns[SGX_EACCEPT];
	cm.ipi_ns = before.ipi_ns;
	cm.fault_ns[EMU_FAULT_EPCM] = before.fault_ns[EMU_FAULT_EPCM];
	cm.ewb_extra_ns = before.ewb_extra_ns;
	assert_memory_equal(&cm, &before, sizeof(cm));
	/* empty text, comments only */
	assert_int_equal(parse(&cm, "", err, sizeof(err)), 0);
	assert_int_equal(parse(&cm, "# nothing\n   \n", err, sizeof(err)), 0);
	assert_memory_equal(&cm, &before, sizeof(cm));
}

#define PARSE_ERR(text, msg) do { \
		struct emu_cost_model cm_ = defaults(), keep_ = cm_; \
		char err_[256] = ""; \
		assert_int_equal(parse(&cm_, (text), err_, sizeof(err_)), -1); \
		assert_string_equal(err_, (msg)); \
		assert_memory_equal(&cm_, &keep_, sizeof(cm_)); \
	} while (0)

static void test_parse_errors(void **state)
{
	(void)state;
	PARSE_ERR("ioctl = 1\n\nfoo = 3\n", "costs.txt:3: unknown name 'foo'");
	PARSE_ERR("encls.EFOO = 3", "costs.txt:1: unknown name 'encls.EFOO'");
	PARSE_ERR("ioctl = abc", "costs.txt:1: bad number 'abc' (a non-negative count of ns)");
	PARSE_ERR("ioctl = -1", "costs.txt:1: bad number '-1' (a non-negative count of ns)");
	PARSE_ERR("ioctl = 12x", "costs.txt:1: bad number '12x' (a non-negative count of ns)");
	PARSE_ERR("ioctl = 1 2", "costs.txt:1: bad number '1 2' (a non-negative count of ns)");
	PARSE_ERR("ioctl = nan", "costs.txt:1: bad number 'nan' (a non-negative count of ns)");
	PARSE_ERR("ioctl = inf", "costs.txt:1: bad number 'inf' (a non-negative count of ns)");
	PARSE_ERR("ioctl = 1e999", "costs.txt:1: bad number '1e999' (a non-negative count of ns)");
	PARSE_ERR("ioctl =", "costs.txt:1: missing number after 'ioctl ='");
	PARSE_ERR("ioctl = # later", "costs.txt:1: missing number after 'ioctl ='");
	PARSE_ERR("ioctl 5", "costs.txt:1: expected 'name = ns', got 'ioctl 5'");
	PARSE_ERR(" = 5", "costs.txt:1: missing name before '='");
	PARSE_ERR("ioctl = 1\nsyscall = 2\nIOCTL = 3", "costs.txt:3: 'ioctl' set again (first on line 1)");
	PARSE_ERR("ioctl = 1111111111111111111111111111111111111111111111111111111111111111111",
		  "costs.txt:1: bad number '1111111111111111111111111111111111111111...'");
	/* the first error wins; nothing is applied, not even the good lines before it */
	PARSE_ERR("ioctl = 9\nbad\nfoo = 1", "costs.txt:2: expected 'name = ns', got 'bad'");
	struct emu_cost_model cm = defaults();
	char err[256];
	assert_int_equal(emu_cost_model_parse(&cm, "bin", "ioctl = 1\0\n", 11, err, sizeof(err)), -1);
	assert_string_equal(err, "bin:1: NUL byte");
	/* a short buffer gets what fits, NUL-terminated; none at all is fine */
	char small[12];
	assert_int_equal(parse(&cm, "foo = 1", small, sizeof(small)), -1);
	assert_string_equal(small, "costs.txt:1");
	assert_int_equal(parse(&cm, "foo = 1", NULL, 0), -1);
}

static void test_load(void **state)
{
	(void)state;
	struct emu_cost_model cm = defaults();
	char err[256];
	assert_int_equal(emu_cost_model_load(&cm, "/nonexistent/costs", err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/costs: No such file or directory");

	char path[] = "/tmp/sgx2emu-costs-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "aex = 11\nbogus = 1\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(emu_cost_model_load(&cm, path, err, sizeof(err)), -1);
	char expect[300];
	snprintf(expect, sizeof(expect), "%s:2: unknown name 'bogus'", path);
	assert_string_equal(err, expect);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("aex = 11\n", f);
	fclose(f);
	assert_int_equal(emu_cost_model_load(&cm, path, err, sizeof(err)), 0);
	assert_true(cm.aex_ns == 11);
	unlink(path);
}

/* The printout: one line per entry with its source, and it loads back. */
static void test_print_round_trip(void **state)
{
	(void)state;
	struct emu_cost_model cm = defaults();
	cm.ipi_ns = 2750.5;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	emu_cost_model_print(&cm, f);
	fclose(f);
	assert_non_null(strstr(buf, "enclave_entry_exit   =    3200.0  # ECALL round trip ~8,000 cycles"));
	assert_non_null(strstr(buf, "ipi                  =    2750.5  # set; default 1500.0: per target LP"));
	assert_non_null(strstr(buf, "encls.EAUG           =     800.0  # estimate: 2,000 cycles, the low end"));
	/* every line names its source or says estimate */
	unsigned lines = 0;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		if (l[0] == '#')
			continue;
		lines++;
		char *src = strstr(l, "# ");
		assert_non_null(src);
		assert_true(strstr(src, "estimate") || strstr(src, "ASPLOS") || strstr(src, "EuroSys") ||
			    strstr(src, "[2nd]") || strstr(src, "charged"));
	}
	assert_int_equal(lines, sizeof(cm) / sizeof(double));
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	emu_cost_model_print(&cm, f);
	fclose(f);
	struct emu_cost_model back;
	emu_cost_model_defaults(&back);
	char err[256] = "";
	assert_int_equal(emu_cost_model_parse(&back, "print", buf, len, err, sizeof(err)), 0);
	assert_memory_equal(&back, &cm, sizeof(cm));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_print_round_trip),
	};
	return cmocka_run_group_tests_name("cost model", tests, NULL, NULL);
}
