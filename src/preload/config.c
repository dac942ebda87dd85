/*
 * The preload's configuration: SGX2EMU_* environment variables (docs/preload.md).
 * An unset or empty variable keeps the default; anything else must be valid,
 * or the program does not start (the message names the variable, the value
 * and what is accepted): running with a configuration the user did not ask
 * for would be silent misbehaviour.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

#define DEFAULT_EPC_BYTES (64ull << 20)
#define DEFAULT_LPS 16u

/* An unsigned number (decimal, 0x hex) with an optional binary suffix K, M,
 * G (KiB, MiB, GiB) when suffix is set.  0 or -1 (syntax, overflow). */
static int parse_u64(const char *s, bool suffix, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;   /* strtoull would accept "-1", " 1", "+1" */
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	if (suffix && *end) {
		const char *units = "KMG";
		const char *u = strchr(units, *end);
		if (!u)
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
		end++;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static const char *value_of(char *(*get)(const char *), const char *name)
{
	const char *v = get(name);
	return v && *v ? v : NULL;
}

static int bad(char *err, size_t errlen, const char *name, const char *value, const char *accepted)
{
	snprintf(err, errlen, "%s='%s': %s", name, value, accepted);
	return -1;
}

/* "0" or "1" into *out. */
static int parse_bool(char *(*get)(const char *), const char *name, bool *out, char *err, size_t errlen)
{
	const char *v = value_of(get, name);
	if (!v)
		return 0;
	if (strcmp(v, "0") && strcmp(v, "1"))
		return bad(err, errlen, name, v, "expected 0 or 1");
	*out = v[0] == '1';
	return 0;
}

/*
 * Defaults: emu_config_defaults with 64 MiB of EPC in one section, 16 LPs
 * (the last is the kernel's), policy upstream, SGX2, quiet, CPUID auto.
 * Then each variable in turn; the first bad one is the message.
 */
int preload_config_read(struct preload_config *c, char *(*get)(const char *), char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	emu_config_defaults(&c->emu);
	c->emu.hw.epc_bytes = DEFAULT_EPC_BYTES;
	c->emu.hw.nr_lps = DEFAULT_LPS;
	c->cpuid = PRELOAD_CPUID_AUTO;

	const char *v;
	uint64_t n;
	if ((v = value_of(get, "SGX2EMU_EPC_BYTES"))) {
		if (parse_u64(v, true, &n) || !n || n % 4096 || n / 4096 >= UINT32_MAX)
			return bad(err, errlen, "SGX2EMU_EPC_BYTES", v,
				   "expected a non-zero multiple of 4096 bytes below 16 TiB, "
				   "optionally with K, M or G (e.g. 64M)");
		c->emu.hw.epc_bytes = n;
	}
	if ((v = value_of(get, "SGX2EMU_EPC_SECTIONS"))) {
		if (parse_u64(v, false, &n) || !n || n > HW_MAX_EPC_SECTIONS)
			return bad(err, errlen, "SGX2EMU_EPC_SECTIONS", v, "expected a number from 1 to 8");
		if ((c->emu.hw.epc_bytes / 4096) % n) {
			char why[128];
			snprintf(why, sizeof(why), "the EPC's %" PRIu64 " pages do not split into %" PRIu64
				 " equal sections", c->emu.hw.epc_bytes / 4096, n);
			return bad(err, errlen, "SGX2EMU_EPC_SECTIONS", v, why);
		}
		c->emu.hw.epc_sections = (unsigned)n;
	}
	if ((v = value_of(get, "SGX2EMU_LPS"))) {
		if (parse_u64(v, false, &n) || n < 2 || n > HW_MAX_LPS)
			return bad(err, errlen, "SGX2EMU_LPS", v,
				   "expected a number of logical processors from 2 to 64 (the last one is the kernel's)");
		c->emu.hw.nr_lps = (unsigned)n;
	}
	if ((v = value_of(get, "SGX2EMU_POLICY"))) {
		if (emu_policy_from_name(v, &c->emu.policy)) {
			char names[128] = "expected one of";
			for (unsigned p = 0; p < EMU_POLICY_COUNT; p++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s %s",
					 p ? "," : "", emu_policy_name((enum emu_policy)p));
			return bad(err, errlen, "SGX2EMU_POLICY", v, names);
		}
	}
	if (parse_bool(get, "SGX2EMU_SGX1", &c->emu.hw.sgx1_only, err, errlen) ||
	    parse_bool(get, "SGX2EMU_VERBOSE", &c->verbose, err, errlen))
		return -1;
	if ((v = value_of(get, "SGX2EMU_CPUID"))) {
		if (!strcmp(v, "auto"))
			c->cpuid = PRELOAD_CPUID_AUTO;
		else if (!strcmp(v, "require"))
			c->cpuid = PRELOAD_CPUID_REQUIRE;
		else if (!strcmp(v, "off"))
			c->cpuid = PRELOAD_CPUID_OFF;
		else
			return bad(err, errlen, "SGX2EMU_CPUID", v, "expected auto, require or off");
	}
	return 0;
}
