/* `sgx2emu cpuid`: the emulated CPUID leaf 0x12 and what it means. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgx2emu/hw.h"
#include "tools.h"

int cmd_cpuid(int argc, char **argv)
{
	struct hw_config cfg;
	hw_config_defaults(&cfg);
	for (int i = 0; i < argc; i++) {
		char *end = NULL;
		if (!strcmp(argv[i], "--sgx1")) {
			cfg.sgx1_only = true;
		} else if (!strcmp(argv[i], "--epc-mib") && i + 1 < argc) {
			cfg.epc_bytes = strtoull(argv[++i], &end, 0) << 20;
			if (!end || *end) {
				fprintf(stderr, "sgx2emu cpuid: --epc-mib needs a number\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--sections") && i + 1 < argc) {
			cfg.epc_sections = (unsigned)strtoul(argv[++i], &end, 0);
			if (!end || *end) {
				fprintf(stderr, "sgx2emu cpuid: --sections needs a number\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: sgx2emu cpuid [--sgx1] [--epc-mib N] [--sections N]\n");
			return 2;
		}
	}
	struct hw_machine *m = hw_machine_create(&cfg);
	if (!m) {
		perror("sgx2emu cpuid: invalid machine configuration");
		return 2;
	}
	uint32_t r[4];
	hw_cpuid(m, 0x12, 0, r);
	printf("CPUID.12H.0: eax=%#010x ebx=%#010x ecx=%#010x edx=%#010x  SGX1=%u SGX2=%u MISCSELECT=%#x "
	       "MaxEnclaveSize64=2^%u\n",
	       r[0], r[1], r[2], r[3], r[0] & 1, (r[0] >> 1) & 1, r[1], (r[3] >> 8) & 0xff);
	hw_cpuid(m, 0x12, 1, r);
	printf("CPUID.12H.1: eax=%#010x ebx=%#010x ecx=%#010x edx=%#010x  ATTRIBUTES=%#llx XFRM=%#llx\n", r[0], r[1],
	       r[2], r[3], (unsigned long long)r[0] | (unsigned long long)r[1] << 32,
	       (unsigned long long)r[2] | (unsigned long long)r[3] << 32);
	for (uint32_t sub = 2;; sub++) {
		hw_cpuid(m, 0x12, sub, r);
		if ((r[0] & 0xf) != 1)
			break;
		unsigned long long base = (r[0] & 0xfffff000ull) | (unsigned long long)(r[1] & 0xfffff) << 32;
		unsigned long long size = (r[2] & 0xfffff000ull) | (unsigned long long)(r[3] & 0xfffff) << 32;
		printf("CPUID.12H.%u: EPC section base=%#llx size=%llu MiB\n", sub, base, size >> 20);
	}
	hw_machine_destroy(m);
	return 0;
}
