/*
 * The sgx2emu command.  Without a command it runs `compare` with its
 * built-in defaults: every workload by every runtime under every policy.
 */
#include <stdio.h>
#include <string.h>

#include "tools.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: sgx2emu [COMMAND] [OPTIONS]\n"
		     "\n"
		     "commands:\n"
		     "  demo [--sgx1]      one enclave page through EAUG, EACCEPT, EMODPR, ETRACK, EMODT and\n"
		     "                     EREMOVE, showing each outcome, why, and the EPCM\n"
		     "  cpuid [--sgx1] [--epc-mib N] [--sections N]\n"
		     "                     the emulated CPUID leaf 0x12\n"
		     "  run FILE           a scenario of host and enclave operations with expected outcomes\n"
		     "                     (docs/scenario.md): one trace line per operation; exit status 0 when\n"
		     "                     every expectation holds, 1 when one does not, 2 for a malformed file\n"
		     "  compare [--workload W] [--runtime R] [--policy P] [--json] ...\n"
		     "                     built-in workloads by each runtime's flows under each policy: a table\n"
		     "                     of round trips, leaves, ETRACK/IPIs, faults, modelled time, invariants\n"
		     "                     (the default when no command is given)\n"
		     "  inspect [FILE] [--step N] [--range ...]\n"
		     "                     VMA, PTE and EPCM of enclave pages after step N of a scenario or workload\n"
		     "  exec [--epc BYTES] [--policy P] [--lps N] [--sgx1] [--verbose] [--] PROGRAM [ARGS]\n"
		     "                     run an unmodified SGX program against the emulator\n"
		     "                     (libsgx2emu-preload.so, docs/preload.md)\n"
		     "  help               this text\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cmd_compare(0, NULL);
	const char *cmd = argv[1];
	if (!strcmp(cmd, "demo"))
		return cmd_demo(argc - 2, argv + 2);
	if (!strcmp(cmd, "cpuid"))
		return cmd_cpuid(argc - 2, argv + 2);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(cmd, "compare"))
		return cmd_compare(argc - 2, argv + 2);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 2, argv + 2);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc - 2, argv + 2);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "sgx2emu: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
