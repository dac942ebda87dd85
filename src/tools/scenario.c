/*
 * Scenario files (docs/scenario.md): the parser.  The whole file is read,
 * split into lines and words, and every command, address and expectation is
 * checked here, so that running it (scenario_run.c) cannot meet a malformed
 * line half-way.  Enclave layouts are known statically (the selftest image
 * plus the heap), so symbols and ELRANGE bounds resolve to offsets here too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sgx2emu/arch.h"
#include "sgx2emu/selftest.h"
#include "scenario.h"

struct parser {
	struct sc_program *prog;
	unsigned line;
	char msg[512];
	unsigned key_line[32];       /* config keys: where each was set */
	int last_op;                 /* op an expect line adds to, -1: none */
};

/* ---- messages ---- */

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->msg, sizeof(ps->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A word of the file for a message: at most 40 characters, bytes outside
 * printable ASCII as \xNN.  Four buffers, so a message can show several. */
static const char *show(const char *s)
{
	static char bufs[4][200];
	static unsigned next;
	char *b = bufs[next++ % 4], *p = b;
	unsigned n = 0;
	for (; *s && n < 40; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f)
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	if (*s)
		p += sprintf(p, "...");
	*p = 0;
	return b;
}

/* ---- numbers and names ---- */

/* Decimal or 0x hex, optional K/M/G (binary) suffix.  0, -1 syntax, -2 range. */
static int num_parse(const char *s, uint64_t *out)
{
	unsigned base = 10, shift = 0;
	bool range = false, any = false;
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		any = true;
		if (v > (UINT64_MAX - d) / base)
			range = true;
		v = v * base + d;
	}
	switch (*s) {
	case 'K': case 'k': shift = 10; s++; break;
	case 'M': case 'm': shift = 20; s++; break;
	case 'G': case 'g': shift = 30; s++; break;
	}
	if (!any || *s)
		return -1;
	if (range || (shift && v > UINT64_MAX >> shift))
		return -2;
	*out = v << shift;
	return 0;
}

static int number(struct parser *ps, const char *s, uint64_t *out)
{
	int r = num_parse(s, out);
	if (r == -1)
		return perr(ps, "bad number '%s'", show(s));
	if (r == -2)
		return perr(ps, "number out of range '%s'", show(s));
	return 0;
}

struct name_value {
	const char *name;
	uint64_t value;
};

static const struct name_value errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "ESRCH", ESRCH }, { "EINTR", EINTR },
	{ "EIO", EIO }, { "ENXIO", ENXIO }, { "E2BIG", E2BIG }, { "EBADF", EBADF },
	{ "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EACCES", EACCES }, { "EFAULT", EFAULT },
	{ "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "ENODEV", ENODEV }, { "EINVAL", EINVAL },
	{ "ENFILE", ENFILE }, { "EMFILE", EMFILE }, { "ENOTTY", ENOTTY }, { "ENOSPC", ENOSPC },
	{ "ESPIPE", ESPIPE }, { "ERANGE", ERANGE }, { "ENOSYS", ENOSYS }, { "EOVERFLOW", EOVERFLOW },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "ECANCELED", ECANCELED }, { "EHWPOISON", EHWPOISON },
	{ NULL, 0 }
};

/* SGX return codes, for result= and eaccept-ret= */
static const struct name_value sgx_codes[] = {
	{ "SGX_SUCCESS", SGX_SUCCESS }, { "SGX_INVALID_SIG_STRUCT", SGX_INVALID_SIG_STRUCT },
	{ "SGX_INVALID_ATTRIBUTE", SGX_INVALID_ATTRIBUTE }, { "SGX_BLKSTATE", SGX_BLKSTATE },
	{ "SGX_INVALID_MEASUREMENT", SGX_INVALID_MEASUREMENT }, { "SGX_NOTBLOCKABLE", SGX_NOTBLOCKABLE },
	{ "SGX_PG_INVLD", SGX_PG_INVLD }, { "SGX_EPC_PAGE_CONFLICT", SGX_EPC_PAGE_CONFLICT },
	{ "SGX_INVALID_SIGNATURE", SGX_INVALID_SIGNATURE }, { "SGX_MAC_COMPARE_FAIL", SGX_MAC_COMPARE_FAIL },
	{ "SGX_PAGE_NOT_BLOCKED", SGX_PAGE_NOT_BLOCKED }, { "SGX_NOT_TRACKED", SGX_NOT_TRACKED },
	{ "SGX_VA_SLOT_OCCUPIED", SGX_VA_SLOT_OCCUPIED }, { "SGX_CHILD_PRESENT", SGX_CHILD_PRESENT },
	{ "SGX_ENCLAVE_ACT", SGX_ENCLAVE_ACT }, { "SGX_ENTRYEPOCH_LOCKED", SGX_ENTRYEPOCH_LOCKED },
	{ "SGX_INVALID_EINITTOKEN", SGX_INVALID_EINITTOKEN }, { "SGX_PREV_TRK_INCMPL", SGX_PREV_TRK_INCMPL },
	{ "SGX_PG_IS_SECS", SGX_PG_IS_SECS }, { "SGX_PAGE_ATTRIBUTES_MISMATCH", SGX_PAGE_ATTRIBUTES_MISMATCH },
	{ "SGX_PAGE_NOT_MODIFIABLE", SGX_PAGE_NOT_MODIFIABLE }, { "SGX_PAGE_NOT_DEBUGGABLE", SGX_PAGE_NOT_DEBUGGABLE },
	{ NULL, 0 }
};

static const struct name_value vectors[] = {
	{ "DE", SGX_VEC_DE }, { "UD", SGX_VEC_UD }, { "NM", SGX_VEC_NM }, { "GP", SGX_VEC_GP },
	{ "PF", SGX_VEC_PF }, { NULL, 0 }
};

static const struct name_value functions[] = {
	{ "eenter", SGX_EENTER }, { "eresume", SGX_ERESUME }, { "eexit", SGX_EEXIT }, { NULL, 0 }
};

static const struct name_value page_types[] = {
	{ "secs", SGX_PT_SECS }, { "tcs", SGX_PT_TCS }, { "reg", SGX_PT_REG }, { "va", SGX_PT_VA },
	{ "trim", SGX_PT_TRIM }, { NULL, 0 }
};

static const struct name_value secinfo_bits[] = {
	{ "r", SGX_SECINFO_R }, { "w", SGX_SECINFO_W }, { "x", SGX_SECINFO_X },
	{ "pending", SGX_SECINFO_PENDING }, { "modified", SGX_SECINFO_MODIFIED }, { "pr", SGX_SECINFO_PR },
	{ NULL, 0 }
};

static const struct name_value *lookup(const struct name_value *t, const char *name)
{
	for (; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

const char *sc_errno_name(int err)
{
	for (const struct name_value *t = errnos; t->name; t++)
		if ((int)t->value == err)
			return t->name;
	return NULL;
}

/* A name from table t, or a number. */
static int named_number(struct parser *ps, const struct name_value *t, const char *s, const char *what,
			uint64_t *out)
{
	const struct name_value *nv = lookup(t, s);
	if (nv) {
		*out = nv->value;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9')
		return number(ps, s, out);
	return perr(ps, "unknown %s '%s'", what, show(s));
}

/* SECINFO flags: names (r w x pending modified pr, one page type) or numbers,
 * joined by '|' or ','. */
static int secinfo_flags(struct parser *ps, const char *s, uint64_t *out)
{
	char buf[SC_MAX_LINE + 1];
	snprintf(buf, sizeof(buf), "%s", s);
	uint64_t v = 0;
	bool have_type = false;
	char *save = NULL;
	if (!*s || strchr("|,", s[0]) || strchr("|,", s[strlen(s) - 1]) || strstr(s, "||") || strstr(s, ",,"))
		return perr(ps, "bad flags '%s'", show(s));
	for (char *f = strtok_r(buf, "|,", &save); f; f = strtok_r(NULL, "|,", &save)) {
		const struct name_value *nv;
		uint64_t n;
		if ((nv = lookup(secinfo_bits, f))) {
			v |= nv->value;
		} else if ((nv = lookup(page_types, f))) {
			if (have_type)
				return perr(ps, "two page types in '%s'", show(s));
			have_type = true;
			v |= SGX_SECINFO_PT(nv->value);
		} else if (f[0] >= '0' && f[0] <= '9') {
			if (number(ps, f, &n))
				return -1;
			v |= n;
		} else {
			return perr(ps, "unknown flag '%s' in '%s'", show(f), show(s));
		}
	}
	*out = v;
	return 0;
}

/* PROT_*: letters r w x (and '-') in any order, or "none". */
static int prot(struct parser *ps, const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!strcmp(s, "none")) {
		*out = PROT_NONE;
		return 0;
	}
	for (const char *p = s; *p; p++) {
		uint64_t bit = *p == 'r' ? PROT_READ : *p == 'w' ? PROT_WRITE : *p == 'x' ? PROT_EXEC : 0;
		if (*p == '-')
			continue;
		if (!bit || (v & bit))
			return perr(ps, "bad protection '%s' (letters r, w, x, or none)", show(s));
		v |= bit;
	}
	if (!*s)
		return perr(ps, "bad protection '' (letters r, w, x, or none)");
	*out = v;
	return 0;
}

/* ---- enclaves, symbols, addresses ---- */

static int find_encl(struct parser *ps, const char *name)
{
	struct sc_program *prog = ps->prog;
	for (unsigned i = 0; i < prog->nr_encls; i++) {
		if (strcmp(prog->encls[i].name, name))
			continue;
		if (prog->encls[i].closed_line)
			return perr(ps, "enclave '%s' was closed at line %u", show(name), prog->encls[i].closed_line);
		return (int)i;
	}
	return perr(ps, "unknown enclave '%s'", show(name));
}

static bool symbol(const struct sc_encl_def *d, const char *name, uint64_t *out)
{
	const struct name_value syms[] = {
		{ "base", 0 }, { "tcs1", TEST_ENCL_TCS1 }, { "tcs2", TEST_ENCL_TCS2 },
		{ "text", TEST_ENCL_TEXT }, { "entry", TEST_ENCL_ENTRY }, { "dyn_entry", TEST_ENCL_DYN_ENTRY },
		{ "buffer", TEST_ENCL_BUFFER }, { "data_start", TEST_ENCL_DATA + SGX_PAGE_SIZE },
		{ "ssa1", TEST_ENCL_SSA1 }, { "ssa2", TEST_ENCL_SSA2 }, { "stack", TEST_ENCL_STACK },
		{ "heap", TEST_ENCL_IMAGE_SIZE }, { "end", d->end }, { "limit", d->size }, { NULL, 0 }
	};
	const struct name_value *nv = lookup(syms, name);
	if (nv)
		*out = nv->value;
	return nv != NULL;
}

enum loc_mode {
	LOC_OFFSET,     /* a bare number is an offset too (ioctl fields, lengths) */
	LOC_ADDRESS,    /* +OFF or a symbol; a bare number is refused */
	LOC_ANY,        /* a bare number is an absolute address (expect addr=) */
};

/* [NAME:][+]TERM{(+|-)TERM}, TERM a number or a symbol of the enclave. */
static int loc_parse(struct parser *ps, const char *s, int encl, enum loc_mode mode, struct sc_loc *out)
{
	const char *whole = s, *colon = strchr(s, ':');
	char term[SC_MAX_LINE + 1];
	__int128 v = 0;
	bool rel = false;
	if (colon) {
		size_t n = (size_t)(colon - s);
		if (n > SC_NAME_MAX)
			return perr(ps, "unknown enclave '%.*s'", (int)n, show(s));
		char name[SC_NAME_MAX + 1];
		memcpy(name, s, n);
		name[n] = 0;
		if ((encl = find_encl(ps, name)) < 0)
			return -1;
		s = colon + 1;
		rel = true;
	}
	int sign = 1;
	if (*s == '+') {
		rel = true;
		s++;
	}
	if (!*s)
		return perr(ps, "bad address '%s'", show(whole));
	for (;;) {
		size_t n = strcspn(s, "+-");
		if (!n)
			return perr(ps, "bad address '%s'", show(whole));
		memcpy(term, s, n);
		term[n] = 0;
		uint64_t t;
		if (term[0] >= '0' && term[0] <= '9') {
			if (number(ps, term, &t))
				return -1;
		} else {
			if (encl < 0)
				return perr(ps, "unknown symbol '%s' (no enclave here)", show(term));
			if (!symbol(&ps->prog->encls[encl], term, &t))
				return perr(ps, "unknown symbol '%s'", show(term));
			rel = true;
		}
		v += sign * (__int128)t;
		s += n;
		if (!*s)
			break;
		sign = *s == '+' ? 1 : -1;
		s++;
	}
	if (v < 0 || v > (__int128)UINT64_MAX)
		return perr(ps, "address out of range '%s'", show(whole));
	if (!rel) {
		if (mode == LOC_OFFSET)
			rel = true;
		else if (mode == LOC_ADDRESS)
			return perr(ps, "bad address '%s': write +%s for an offset in the enclave", show(whole),
				    show(whole));
	}
	if (rel && encl < 0)
		return perr(ps, "address '%s' needs an enclave", show(whole));
	out->encl = encl;
	out->rel = rel;
	out->v = (uint64_t)v;
	return 0;
}

/* An address the tool itself touches: [off, off + len) inside the ELRANGE.
 * (MAP_FIXED or an enclave store outside it would hit the tool's own memory.) */
static int inside(struct parser *ps, int encl, const char *what, uint64_t off, uint64_t len)
{
	const struct sc_encl_def *d = &ps->prog->encls[encl];
	if (off > d->size || len > d->size - off)
		return perr(ps, "%s +0x%llx (length 0x%llx) is outside enclave '%s' [+0x0, +0x%llx)", what,
			    (unsigned long long)off, (unsigned long long)len, d->name, (unsigned long long)d->size);
	return 0;
}

/* An address inside the op's enclave (enclave offset). */
static int addr_in(struct parser *ps, const char *s, int encl, const char *what, uint64_t len, uint64_t *off)
{
	struct sc_loc l;
	if (loc_parse(ps, s, encl, LOC_ADDRESS, &l))
		return -1;
	if (l.encl != encl)
		return perr(ps, "%s '%s' is in another enclave", what, show(s));
	*off = l.v;
	return inside(ps, encl, what, l.v, len);
}

/* ---- key=value words ---- */

/* keys: NULL-terminated; "k=" takes a value, "k" is a bare word.  vals[i] is
 * the value (or "" for a bare word), NULL when absent. */
static int keys(struct parser *ps, char **w, unsigned n, const char *const *names, const char **vals,
		const char *what)
{
	unsigned nr = 0;
	while (names[nr])
		nr++;
	for (unsigned i = 0; i < nr; i++)
		vals[i] = NULL;
	for (unsigned i = 0; i < n; i++) {
		const char *eq = strchr(w[i], '=');
		size_t klen = eq ? (size_t)(eq - w[i]) + 1 : strlen(w[i]);
		unsigned k;
		for (k = 0; k < nr; k++)
			if (strlen(names[k]) == klen && !strncmp(names[k], w[i], klen))
				break;
		if (k == nr) {
			char list[256] = "";
			for (unsigned j = 0; j < nr; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? " " : "", names[j]);
			if (eq)
				return perr(ps, "unknown key '%.*s' (%s takes %s)", (int)(eq - w[i]), show(w[i]), what, list);
			return perr(ps, "unexpected word '%s' (%s takes %s)", show(w[i]), what, list);
		}
		if (vals[k])
			return perr(ps, "duplicate key '%s'", names[k]);
		vals[k] = eq ? eq + 1 : "";
	}
	return 0;
}

/* ---- commands ---- */

static struct sc_op *new_op(struct parser *ps, enum sc_cmd cmd, char **w, unsigned n)
{
	struct sc_program *prog = ps->prog;
	if (prog->nr_ops == SC_MAX_OPS) {
		perr(ps, "more than %d operations", SC_MAX_OPS);
		return NULL;
	}
	if (prog->nr_ops == prog->cap_ops) {
		unsigned cap = prog->cap_ops ? prog->cap_ops * 2 : 64;
		struct sc_op *ops = realloc(prog->ops, cap * sizeof(*ops));
		if (!ops) {
			perr(ps, "out of memory");
			return NULL;
		}
		prog->ops = ops;
		prog->cap_ops = cap;
	}
	size_t len = 1;
	for (unsigned i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	char *text = malloc(len);
	if (!text) {
		perr(ps, "out of memory");
		return NULL;
	}
	text[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i)
			strcat(text, " ");
		strcat(text, w[i]);
	}
	struct sc_op *op = &prog->ops[prog->nr_ops++];
	memset(op, 0, sizeof(*op));
	op->line = ps->line;
	op->cmd = cmd;
	op->encl = -1;
	op->text = text;
	ps->last_op = (int)prog->nr_ops - 1;
	return op;
}

static int on_off(struct parser *ps, const char *key, const char *v, bool *out)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return perr(ps, "%s is on or off, not '%s'", key, show(v));
	*out = !strcmp(v, "on");
	return 0;
}

static int cmd_config(struct parser *ps, char **w, unsigned n)
{
	enum { K_EPC, K_SECTIONS, K_LPS, K_SGX2, K_SEED, K_BATCH, K_LOW, K_HIGH, K_POLICY, K_AUGMENT,
	       K_POPULATE, K_ETRACK, K_FAULT_AROUND, K_NR };
	static const char *const names[] = { "epc=", "sections=", "lps=", "sgx2=", "seed=", "batch=", "low=",
					     "high=", "policy=", "augment=", "populate=", "etrack=", "fault-around=",
					     NULL };
	const char *v[K_NR];
	struct emu_config *cfg = &ps->prog->cfg;
	uint64_t x;
	bool b;
	if (ps->prog->nr_ops)
		return perr(ps, "config after the first operation");
	if (keys(ps, w + 1, n - 1, names, v, "config"))
		return -1;
	for (unsigned k = 0; k < K_NR; k++) {
		if (!v[k])
			continue;
		if (ps->key_line[k])
			return perr(ps, "duplicate key '%.*s' (set at line %u)", (int)strlen(names[k]) - 1, names[k],
				    ps->key_line[k]);
		ps->key_line[k] = ps->line;
		switch (k) {
		case K_SGX2:
			if (on_off(ps, "sgx2", v[k], &b))
				return -1;
			cfg->hw.sgx1_only = !b;
			continue;
		case K_AUGMENT:
		case K_POPULATE:
			if (on_off(ps, k == K_AUGMENT ? "augment" : "populate", v[k], &b))
				return -1;
			*(k == K_AUGMENT ? &cfg->switches.augment : &cfg->switches.populate_on_mmap) = b;
			continue;
		case K_POLICY:
			if (emu_policy_from_name(v[k], &cfg->policy))
				return perr(ps, "unknown policy '%s' (upstream, sgx1, v1, v2, reset, mprotect-emodpr)",
					    show(v[k]));
			continue;
		case K_ETRACK:
			if (strcmp(v[k], "per-page") && strcmp(v[k], "per-ioctl"))
				return perr(ps, "etrack is per-page or per-ioctl, not '%s'", show(v[k]));
			cfg->switches.etrack_per_ioctl = !strcmp(v[k], "per-ioctl");
			continue;
		}
		if (number(ps, v[k], &x))
			return -1;
		switch (k) {
		case K_EPC:
			if (!x || x % SGX_PAGE_SIZE || x > SC_MAX_EPC)
				return perr(ps, "epc must be a multiple of 4K, at most 4G");
			cfg->hw.epc_bytes = x;
			break;
		case K_SECTIONS:
			if (!x || x > HW_MAX_EPC_SECTIONS)
				return perr(ps, "sections must be between 1 and %d", HW_MAX_EPC_SECTIONS);
			cfg->hw.epc_sections = (unsigned)x;
			break;
		case K_LPS:
			if (x < 2 || x > HW_MAX_LPS)
				return perr(ps, "lps must be between 2 and %d (the last one is the kernel's)", HW_MAX_LPS);
			cfg->hw.nr_lps = (unsigned)x;
			break;
		case K_SEED:
			cfg->hw.seed = x;
			break;
		case K_BATCH:
			if (!x || x > 1u << 20)
				return perr(ps, "batch must be between 1 and 1M");
			cfg->reclaim_batch = (unsigned)x;
			break;
		case K_LOW:
		case K_HIGH:
		case K_FAULT_AROUND:
			if (x > UINT32_MAX)
				return perr(ps, "number out of range '%s'", show(v[k]));
			*(k == K_LOW ? &cfg->low_watermark : k == K_HIGH ? &cfg->high_watermark :
			  &cfg->switches.fault_around) = (unsigned)x;
			break;
		}
	}
	if ((cfg->hw.epc_bytes / SGX_PAGE_SIZE) % cfg->hw.epc_sections)
		return perr(ps, "%u sections do not divide the EPC's %llu pages", cfg->hw.epc_sections,
			    (unsigned long long)(cfg->hw.epc_bytes / SGX_PAGE_SIZE));
	if (cfg->low_watermark > cfg->high_watermark)
		return perr(ps, "low (%u) must not exceed high (%u)", cfg->low_watermark, cfg->high_watermark);
	ps->prog->config_line = ps->line;
	return 0;
}

static bool good_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int cmd_enclave(struct parser *ps, char **w, unsigned n)
{
	static const char *const names[] = { "heap=", NULL };
	struct sc_program *prog = ps->prog;
	const char *v[1];
	uint64_t heap = ENCL_HEAP_SIZE_DEFAULT;
	if (n < 2)
		return perr(ps, "enclave needs a name");
	if (!good_name(w[1]) || strlen(w[1]) > SC_NAME_MAX)
		return perr(ps, "bad enclave name '%s' (a letter or _, then letters, digits, _; at most %d)",
			    show(w[1]), SC_NAME_MAX);
	for (unsigned i = 0; i < prog->nr_encls; i++)
		if (!strcmp(prog->encls[i].name, w[1]))
			return perr(ps, "duplicate enclave name '%s' (first at line %u)", w[1], prog->encls[i].line);
	if (prog->nr_encls == SC_MAX_ENCLAVES)
		return perr(ps, "more than %d enclaves", SC_MAX_ENCLAVES);
	if (keys(ps, w + 2, n - 2, names, v, "enclave"))
		return -1;
	if (v[0] && number(ps, v[0], &heap))
		return -1;
	if (!heap || heap % SGX_PAGE_SIZE || heap > SC_MAX_HEAP)
		return perr(ps, "heap must be a multiple of 4K, at most 1G");
	struct sc_op *op = new_op(ps, SC_ENCLAVE, w, n);
	if (!op)
		return -1;
	struct sc_encl_def *d = &prog->encls[prog->nr_encls];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", w[1]);
	d->line = ps->line;
	d->heap = heap;
	d->end = TEST_ENCL_IMAGE_SIZE + heap;     /* the loader: segments, then the heap */
	for (d->size = SGX_PAGE_SIZE; d->size < d->end;)
		d->size <<= 1;
	op->encl = (int)prog->nr_encls++;
	return 0;
}

/* NAME of a command that works on an enclave. */
static int encl_arg(struct parser *ps, char **w, unsigned n)
{
	if (n < 2 || strchr(w[1], '='))
		return perr(ps, "%s needs an enclave name", w[0]);
	return find_encl(ps, w[1]);
}

static int cmd_close(struct parser *ps, char **w, unsigned n)
{
	int e = encl_arg(ps, w, n);
	if (e < 0)
		return -1;
	if (n > 2)
		return perr(ps, "unexpected word '%s' (close takes a name)", show(w[2]));
	struct sc_op *op = new_op(ps, SC_CLOSE, w, n);
	if (!op)
		return -1;
	op->encl = e;
	ps->prog->encls[e].closed_line = ps->line;
	return 0;
}

static int cmd_ioctl(struct parser *ps, char **w, unsigned n)
{
	static const char *const kinds[SC_IOC_NR] = {
		[SC_IOC_RESTRICT] = "restrict", [SC_IOC_MODT] = "modify-types", [SC_IOC_REMOVE] = "remove",
		[SC_IOC_ADD] = "add-pages", [SC_IOC_RELAX] = "relax", [SC_IOC_MODP] = "modify-permissions",
		[SC_IOC_RESET] = "reset", [SC_IOC_AUGMENT] = "augment",
	};
	static const char *const perm_keys[] = { "offset=", "length=", "perm=", NULL };
	static const char *const modt_keys[] = { "offset=", "length=", "type=", NULL };
	static const char *const range_keys[] = { "offset=", "length=", NULL };
	static const char *const add_keys[] = { "offset=", "length=", "secinfo=", "measure", NULL };
	static const char *const *const kind_keys[SC_IOC_NR] = {
		[SC_IOC_RESTRICT] = perm_keys, [SC_IOC_MODT] = modt_keys, [SC_IOC_REMOVE] = range_keys,
		[SC_IOC_ADD] = add_keys, [SC_IOC_RELAX] = perm_keys, [SC_IOC_MODP] = perm_keys,
		[SC_IOC_RESET] = range_keys, [SC_IOC_AUGMENT] = range_keys,
	};
	const char *v[4];
	char what[64];
	struct sc_loc l;
	int e = encl_arg(ps, w, n);
	if (e < 0)
		return -1;
	if (n < 3)
		return perr(ps, "ioctl needs a request (" SC_IOC_LIST ")");
	unsigned k;
	for (k = 0; k < SC_IOC_NR; k++)
		if (!strcmp(w[2], kinds[k]))
			break;
	if (k == SC_IOC_NR)
		return perr(ps, "unknown ioctl '%s' (" SC_IOC_LIST ")", show(w[2]));
	snprintf(what, sizeof(what), "ioctl %s", kinds[k]);
	if (keys(ps, w + 3, n - 3, kind_keys[k], v, what))
		return -1;
	for (unsigned i = 0; kind_keys[k][i]; i++)
		if (!v[i] && strcmp(kind_keys[k][i], "secinfo=") && strcmp(kind_keys[k][i], "measure"))
			return perr(ps, "%s needs %s", what, kind_keys[k][i]);
	struct sc_op op = { .encl = e, .ioc = (enum sc_ioc)k };
	if (loc_parse(ps, v[0], e, LOC_OFFSET, &l))
		return -1;
	if (l.encl != e)
		return perr(ps, "offset '%s' is in another enclave", show(v[0]));
	op.off = l.v;
	if (loc_parse(ps, v[1], e, LOC_OFFSET, &l))
		return -1;
	op.len = l.v;
	switch (k) {
	case SC_IOC_RESTRICT:
	case SC_IOC_RELAX:
	case SC_IOC_MODP:
		if (secinfo_flags(ps, v[2], &op.a))
			return -1;
		break;
	case SC_IOC_MODT:
		if (named_number(ps, page_types, v[2], "page type", &op.a))
			return -1;
		break;
	case SC_IOC_ADD:
		op.a = SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W;
		if (v[2] && secinfo_flags(ps, v[2], &op.a))
			return -1;
		op.flag = v[3] != NULL;
		break;
	}
	struct sc_op *o = new_op(ps, SC_IOCTL, w, n);
	if (!o)
		return -1;
	char *text = o->text;
	*o = op;
	o->cmd = SC_IOCTL;
	o->line = ps->line;
	o->text = text;
	return 0;
}

/* mmap NAME ADDR LEN PROT [private] [populate] / mprotect NAME ADDR LEN PROT / munmap NAME ADDR LEN */
static int cmd_mem(struct parser *ps, enum sc_cmd cmd, char **w, unsigned n)
{
	static const char *const usage[] = {
		[SC_MMAP] = "mmap NAME ADDRESS LENGTH PROT [private] [populate]",
		[SC_MPROTECT] = "mprotect NAME ADDRESS LENGTH PROT",
		[SC_MUNMAP] = "munmap NAME ADDRESS LENGTH",
	};
	unsigned want = cmd == SC_MUNMAP ? 4 : 5;
	struct sc_loc l;
	uint64_t off, p = 0, flags = 0;
	int e = encl_arg(ps, w, n);
	if (e < 0)
		return -1;
	if (n < want)
		return perr(ps, "missing arguments: %s", usage[cmd]);
	for (unsigned i = want; i < n; i++) {
		uint64_t f = cmd != SC_MMAP ? 0 : !strcmp(w[i], "private") ? MAP_PRIVATE :
			     !strcmp(w[i], "populate") ? MAP_POPULATE : 0;
		if (!f || (flags & f))
			return perr(ps, "unexpected word '%s' (%s)", show(w[i]), usage[cmd]);
		flags |= f;
	}
	if (loc_parse(ps, w[3], e, LOC_OFFSET, &l))
		return -1;
	if (cmd != SC_MUNMAP && prot(ps, w[4], &p))
		return -1;
	if (addr_in(ps, w[2], e, w[0], l.v, &off))
		return -1;
	struct sc_op *op = new_op(ps, cmd, w, n);
	if (!op)
		return -1;
	op->encl = e;
	op->off = off;
	op->len = l.v;
	op->a = p;
	op->b = flags;
	return 0;
}

static int tcs_arg(struct parser *ps, const char *s, int e, uint64_t *out)
{
	struct sc_loc l;
	if (!s || !strcmp(s, "1")) {
		*out = TEST_ENCL_TCS1;
		return 0;
	}
	if (!strcmp(s, "2")) {
		*out = TEST_ENCL_TCS2;
		return 0;
	}
	if (loc_parse(ps, s, e, LOC_ADDRESS, &l))
		return -1;
	if (l.encl != e)
		return perr(ps, "tcs '%s' is in another enclave", show(s));
	*out = l.v;
	return 0;
}

static int cmd_enter(struct parser *ps, char **w, unsigned n)
{
	enum { K_TCS, K_OP, K_ADDR, K_VALUE, K_FLAGS, K_PAGE, K_SSA, K_ENTRY, K_NR };
	static const char *const names[] = { "tcs=", "op=", "addr=", "value=", "flags=", "page=", "ssa=", "entry=",
					     NULL };
	static const struct { const char *name; uint64_t type; unsigned need, may; } ops[] = {
		{ "put", ENCL_OP_PUT_TO_BUFFER, 1u << K_VALUE, 1u << K_ADDR },
		{ "get", ENCL_OP_GET_FROM_BUFFER, 0, 1u << K_ADDR },
		{ "nop", ENCL_OP_NOP, 0, 0 },
		{ "eaccept", ENCL_OP_EACCEPT, 1u << K_ADDR | 1u << K_FLAGS, 0 },
		{ "emodpe", ENCL_OP_EMODPE, 1u << K_ADDR | 1u << K_FLAGS, 0 },
		{ "init-tcs", ENCL_OP_INIT_TCS_PAGE, 1u << K_PAGE | 1u << K_SSA, 1u << K_ENTRY },
	};
	const char *v[K_NR];
	struct sc_loc l;
	int e = encl_arg(ps, w, n);
	if (e < 0)
		return -1;
	if (keys(ps, w + 2, n - 2, names, v, "enter"))
		return -1;
	if (!v[K_OP])
		return perr(ps, "enter needs op= (put, get, nop, eaccept, emodpe, init-tcs, or a number)");
	struct sc_op op = { .encl = e };
	if (tcs_arg(ps, v[K_TCS], e, &op.tcs))
		return -1;
	unsigned need = 0, may = 0, i;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(v[K_OP], ops[i].name))
			break;
	if (i < sizeof(ops) / sizeof(ops[0])) {
		op.type = ops[i].type;
		need = ops[i].need;
		may = ops[i].may;
	} else if (v[K_OP][0] >= '0' && v[K_OP][0] <= '9') {
		/* raw: an op struct of that type with every other field zero,
		 * whatever the type (the enclave's accesses to address 0 fault) */
		if (number(ps, v[K_OP], &op.type))
			return -1;
		op.flag = true;
	} else {
		return perr(ps, "unknown op '%s' (put, get, nop, eaccept, emodpe, init-tcs, or a number)",
			    show(v[K_OP]));
	}
	for (unsigned k = K_ADDR; k < K_NR; k++) {
		if (v[k] && !((need | may) & (1u << k)))
			return perr(ps, "key '%s' does not apply to op=%s", names[k], show(v[K_OP]));
		if (!v[k] && (need & (1u << k)))
			return perr(ps, "op=%s needs %s", v[K_OP], names[k]);
	}
	switch (op.flag ? ENCL_OP_MAX : op.type) {
	case ENCL_OP_PUT_TO_BUFFER:
	case ENCL_OP_GET_FROM_BUFFER:
		if (op.type == ENCL_OP_PUT_TO_BUFFER && number(ps, v[K_VALUE], &op.b))
			return -1;
		if (v[K_ADDR]) {
			/* the enclave's 8-byte access must stay in its ELRANGE */
			if (addr_in(ps, v[K_ADDR], e, "addr", 8, &op.a))
				return -1;
			op.type = op.type == ENCL_OP_PUT_TO_BUFFER ? ENCL_OP_PUT_TO_ADDRESS : ENCL_OP_GET_FROM_ADDRESS;
		}
		break;
	case ENCL_OP_EACCEPT:
	case ENCL_OP_EMODPE:
		/* an ENCLU operand: the hardware checks it, any value is safe */
		if (loc_parse(ps, v[K_ADDR], e, LOC_ADDRESS, &l))
			return -1;
		if (l.encl != e)
			return perr(ps, "addr '%s' is in another enclave", show(v[K_ADDR]));
		op.a = l.v;
		if (secinfo_flags(ps, v[K_FLAGS], &op.b))
			return -1;
		break;
	case ENCL_OP_INIT_TCS_PAGE:
		if (addr_in(ps, v[K_PAGE], e, "page", SGX_PAGE_SIZE, &op.a))
			return -1;
		if (loc_parse(ps, v[K_SSA], e, LOC_OFFSET, &l))
			return -1;
		op.b = l.v;
		op.c = TEST_ENCL_DYN_ENTRY;
		if (v[K_ENTRY]) {
			if (loc_parse(ps, v[K_ENTRY], e, LOC_OFFSET, &l))
				return -1;
			op.c = l.v;
		}
		break;
	}
	struct sc_op *o = new_op(ps, SC_ENTER, w, n);
	if (!o)
		return -1;
	char *text = o->text;
	*o = op;
	o->cmd = SC_ENTER;
	o->line = ps->line;
	o->text = text;
	return 0;
}

static int cmd_resume(struct parser *ps, char **w, unsigned n)
{
	static const char *const names[] = { "tcs=", NULL };
	const char *v[1];
	uint64_t tcs;
	int e = encl_arg(ps, w, n);
	if (e < 0 || keys(ps, w + 2, n - 2, names, v, "resume") || tcs_arg(ps, v[0], e, &tcs))
		return -1;
	struct sc_op *op = new_op(ps, SC_RESUME, w, n);
	if (!op)
		return -1;
	op->encl = e;
	op->tcs = tcs;
	return 0;
}

static int cmd_inspect(struct parser *ps, char **w, unsigned n)
{
	struct sc_loc l;
	int e = encl_arg(ps, w, n);
	if (e < 0)
		return -1;
	if (n != 3)
		return perr(ps, n < 3 ? "missing arguments: inspect NAME ADDRESS" :
			    "unexpected word (inspect NAME ADDRESS)");
	if (loc_parse(ps, w[2], e, LOC_ADDRESS, &l))
		return -1;
	struct sc_op *op = new_op(ps, SC_INSPECT, w, n);
	if (!op)
		return -1;
	op->encl = e;                  /* addresses print relative to it */
	op->a = (uint64_t)l.encl;      /* the enclave of the address */
	op->off = l.v;
	return 0;
}

static int cmd_reclaim(struct parser *ps, char **w, unsigned n)
{
	if (n > 1)
		return perr(ps, "unexpected word '%s' (reclaim takes nothing)", show(w[1]));
	return new_op(ps, SC_RECLAIM, w, n) ? 0 : -1;
}

/* ---- expect ---- */

/* Which items each command's outcome has */
static uint32_t expect_allowed(const struct sc_op *op)
{
	const uint32_t base = EXB(EX_OK) | EXB(EX_FAIL) | EXB(EX_ANY);
	switch (op->cmd) {
	case SC_ENCLAVE:
		return base;
	case SC_CLOSE:
		return EXB(EX_OK) | EXB(EX_ANY);
	case SC_IOCTL:
		return base | EXB(EX_ERRNO) | EXB(EX_RET) | EXB(EX_COUNT) |
		       (sc_ioc_has_result(op->ioc) ? EXB(EX_RESULT) : 0);
	case SC_MMAP:
	case SC_MPROTECT:
	case SC_MUNMAP:
		return base | EXB(EX_ERRNO);
	case SC_ENTER:
	case SC_RESUME: {
		uint32_t m = base | EXB(EX_RET) | EXB(EX_EEXIT) | EXB(EX_EXCEPTION) | EXB(EX_FUNCTION) |
			     EXB(EX_VECTOR) | EXB(EX_CODE) | EXB(EX_ADDR);
		/* a resumed op is whatever was suspended on that TCS */
		if (op->cmd == SC_RESUME || op->type == ENCL_OP_GET_FROM_BUFFER || op->type == ENCL_OP_GET_FROM_ADDRESS)
			m |= EXB(EX_VALUE);
		if (op->cmd == SC_RESUME || op->type == ENCL_OP_EACCEPT)
			m |= EXB(EX_EACCEPT_RET);
		return m;
	}
	case SC_INSPECT:
		return EXB(EX_OK) | EXB(EX_ANY) | EXB(EX_HAS) | EXB(EX_LACKS);
	case SC_RECLAIM:
		return EXB(EX_OK) | EXB(EX_ANY) | EXB(EX_COUNT);
	}
	return 0;
}

static const char *const cmd_names[] = {
	[SC_ENCLAVE] = "enclave", [SC_CLOSE] = "close", [SC_IOCTL] = "ioctl", [SC_MMAP] = "mmap",
	[SC_MPROTECT] = "mprotect", [SC_MUNMAP] = "munmap", [SC_ENTER] = "enter", [SC_RESUME] = "resume",
	[SC_INSPECT] = "inspect", [SC_RECLAIM] = "reclaim",
};

static const char *const ex_names[EX_NR] = {
	[EX_OK] = "ok", [EX_FAIL] = "fail", [EX_ANY] = "any", [EX_ERRNO] = "errno", [EX_RET] = "ret",
	[EX_COUNT] = "count", [EX_RESULT] = "result", [EX_EEXIT] = "eexit", [EX_EXCEPTION] = "exception",
	[EX_FUNCTION] = "function", [EX_VECTOR] = "vector", [EX_CODE] = "code", [EX_ADDR] = "addr",
	[EX_VALUE] = "value", [EX_EACCEPT_RET] = "eaccept-ret", [EX_HAS] = "has", [EX_LACKS] = "lacks",
};

/* A quoted string ("..." with \" and \\) or a plain word. */
static int string_value(struct parser *ps, const char *s, char **out)
{
	size_t n = strlen(s);
	char *b = malloc(n + 1), *p = b;
	if (!b)
		return perr(ps, "out of memory");
	if (s[0] != '"') {
		memcpy(b, s, n + 1);
		*out = b;
		return 0;
	}
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\') {
			s++;
			if (*s != '"' && *s != '\\') {
				free(b);
				return perr(ps, "bad escape '\\%s' in a string (only \\\" and \\\\)", show((char[]){ *s, 0 }));
			}
		}
		*p++ = *s;
	}
	*p = 0;
	if (*s != '"' || s[1]) {
		free(b);
		return perr(ps, "text after the closing quote");
	}
	*out = b;
	return 0;
}

static int expect_item(struct parser *ps, struct sc_op *op, const char *w)
{
	struct sc_expect *ex = &op->ex;
	const char *eq = strchr(w, '=');
	size_t klen = eq ? (size_t)(eq - w) : strlen(w);
	unsigned k;
	for (k = 0; k < EX_NR; k++)
		if (strlen(ex_names[k]) == klen && !strncmp(ex_names[k], w, klen))
			break;
	/* bare words and key=value items */
	const uint32_t bare = EXB(EX_OK) | EXB(EX_FAIL) | EXB(EX_ANY) | EXB(EX_EEXIT) | EXB(EX_EXCEPTION);
	if (k == EX_NR || !eq != !!(bare & EXB(k))) {
		if (k < EX_NR)
			return perr(ps, eq ? "expect item '%s' takes no value" : "expect item '%s' needs a value (%s=...)",
				    ex_names[k], ex_names[k]);
		return perr(ps, "unknown expect item '%s'", show(w));
	}
	if (!(expect_allowed(op) & EXB(k)))
		return perr(ps, "expect item '%s' does not apply to %s%s%s", ex_names[k], cmd_names[op->cmd],
			    op->cmd == SC_ENTER ? " op=" : "",
			    op->cmd == SC_ENTER ? (op->type == ENCL_OP_EACCEPT ? "eaccept" : "this op") : "");
	if ((ex->have & EXB(k)) && k != EX_HAS && k != EX_LACKS)
		return perr(ps, "duplicate expect item '%s'", ex_names[k]);
	ex->have |= EXB(k);
	const char *v = eq ? eq + 1 : NULL;
	uint64_t x;
	switch (k) {
	case EX_ERRNO: {
		const struct name_value *nv = lookup(errnos, v);
		if (nv) {
			ex->err = (int)nv->value;
			break;
		}
		if (!(v[0] >= '0' && v[0] <= '9'))
			return perr(ps, "unknown errno '%s'", show(v));
		if (number(ps, v, &x))
			return -1;
		if (x > 4095)
			return perr(ps, "number out of range '%s'", show(v));
		ex->err = (int)x;
		break;
	}
	case EX_RET: {
		/* N, -N or -ENAME (the vDSO's negative errno) */
		bool neg = v[0] == '-';
		const struct name_value *nv = neg ? lookup(errnos, v + 1) : NULL;
		if (nv) {
			x = nv->value;
		} else if (number(ps, v + neg, &x)) {
			return -1;
		} else if (x > (uint64_t)INT64_MAX) {
			return perr(ps, "number out of range '%s'", show(v));
		}
		ex->ret = neg ? -(int64_t)x : (int64_t)x;
		break;
	}
	case EX_COUNT:
		if (number(ps, v, &ex->count))
			return -1;
		break;
	case EX_RESULT:
		if (named_number(ps, sgx_codes, v, "SGX code", &ex->result))
			return -1;
		break;
	case EX_EACCEPT_RET:
		if (named_number(ps, sgx_codes, v, "SGX code", &ex->eaccept_ret))
			return -1;
		break;
	case EX_FUNCTION:
		if (named_number(ps, functions, v, "function", &ex->function))
			return -1;
		break;
	case EX_VECTOR:
		if (named_number(ps, vectors, v, "vector", &ex->vector))
			return -1;
		break;
	case EX_CODE:
		if (number(ps, v, &ex->code))
			return -1;
		break;
	case EX_VALUE:
		if (number(ps, v, &ex->value))
			return -1;
		break;
	case EX_ADDR:
		if (loc_parse(ps, v, op->encl, LOC_ANY, &ex->addr))
			return -1;
		break;
	case EX_HAS:
	case EX_LACKS: {
		struct sc_match *m = calloc(1, sizeof(*m));
		if (!m)
			return perr(ps, "out of memory");
		if (string_value(ps, v, &m->text)) {
			free(m);
			return -1;
		}
		m->lacks = k == EX_LACKS;
		m->next = ex->matches;
		ex->matches = m;
		break;
	}
	}
	return 0;
}

/* Items that cannot all hold at once. */
static int expect_conflicts(struct parser *ps, const struct sc_expect *ex)
{
	static const struct { unsigned a; uint32_t b; } rules[] = {
		{ EX_OK, EXB(EX_FAIL) | EXB(EX_ERRNO) | EXB(EX_EXCEPTION) | EXB(EX_VECTOR) | EXB(EX_CODE) | EXB(EX_ADDR) },
		{ EX_EEXIT, EXB(EX_EXCEPTION) | EXB(EX_VECTOR) | EXB(EX_CODE) | EXB(EX_ADDR) },
		{ EX_EXCEPTION, EXB(EX_VALUE) | EXB(EX_EACCEPT_RET) },
	};
	if ((ex->have & EXB(EX_ANY)) && ex->have != EXB(EX_ANY))
		return perr(ps, "'any' cannot be combined with other items");
	for (unsigned r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		if (!(ex->have & EXB(rules[r].a)))
			continue;
		for (unsigned k = 0; k < EX_NR; k++)
			if (ex->have & rules[r].b & EXB(k))
				return perr(ps, "'%s' contradicts '%s'", ex_names[k], ex_names[rules[r].a]);
	}
	return 0;
}

static int cmd_expect(struct parser *ps, char **w, unsigned n)
{
	if (ps->last_op < 0)
		return perr(ps, "expect without an operation");
	struct sc_op *op = &ps->prog->ops[ps->last_op];
	if (n < 2)
		return perr(ps, "expect needs at least one item");
	for (unsigned i = 1; i < n; i++)
		if (expect_item(ps, op, w[i]))
			return -1;
	if (expect_conflicts(ps, &op->ex))
		return -1;
	size_t len = (op->ex.text ? strlen(op->ex.text) + 1 : 0) + 1;
	for (unsigned i = 1; i < n; i++)
		len += strlen(w[i]) + 1;
	char *t = realloc(op->ex.text, len);
	if (!t)
		return perr(ps, "out of memory");
	if (!op->ex.text)
		t[0] = 0;
	op->ex.text = t;
	for (unsigned i = 1; i < n; i++) {
		if (t[0])
			strcat(t, " ");
		strcat(t, w[i]);
	}
	return 0;
}

/* ---- lines ---- */

/* Words of a line, in place; '#' outside a string starts a comment. */
static int split(struct parser *ps, char *s, char **w, unsigned *n)
{
	*n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			return 0;
		if (*n == SC_MAX_WORDS)
			return perr(ps, "more than %d words on a line", SC_MAX_WORDS);
		w[(*n)++] = s;
		bool quoted = false;
		for (; *s; s++) {
			if (quoted) {
				if (*s == '\\' && s[1])
					s++;
				else if (*s == '"')
					quoted = false;
			} else if (*s == '"') {
				quoted = true;
			} else if (*s == ' ' || *s == '\t' || *s == '#') {
				break;
			}
		}
		if (quoted)
			return perr(ps, "unterminated string");
		if (*s == '#') {
			*s = 0;
			return 0;
		}
		if (*s)
			*s++ = 0;
	}
}

static int parse_line(struct parser *ps, char *line)
{
	char *w[SC_MAX_WORDS];
	unsigned n;
	if (split(ps, line, w, &n))
		return -1;
	if (!n)
		return 0;
	const char *c = w[0];
	if (!strcmp(c, "expect"))
		return cmd_expect(ps, w, n);
	if (!strcmp(c, "config"))
		return cmd_config(ps, w, n);
	if (!strcmp(c, "enclave"))
		return cmd_enclave(ps, w, n);
	if (!strcmp(c, "close"))
		return cmd_close(ps, w, n);
	if (!strcmp(c, "ioctl"))
		return cmd_ioctl(ps, w, n);
	if (!strcmp(c, "mmap"))
		return cmd_mem(ps, SC_MMAP, w, n);
	if (!strcmp(c, "mprotect"))
		return cmd_mem(ps, SC_MPROTECT, w, n);
	if (!strcmp(c, "munmap"))
		return cmd_mem(ps, SC_MUNMAP, w, n);
	if (!strcmp(c, "enter"))
		return cmd_enter(ps, w, n);
	if (!strcmp(c, "resume"))
		return cmd_resume(ps, w, n);
	if (!strcmp(c, "inspect"))
		return cmd_inspect(ps, w, n);
	if (!strcmp(c, "reclaim"))
		return cmd_reclaim(ps, w, n);
	return perr(ps, "unknown command '%s'", show(c));
}

void sc_program_free(struct sc_program *prog)
{
	for (unsigned i = 0; i < prog->nr_ops; i++) {
		struct sc_op *op = &prog->ops[i];
		free(op->text);
		free(op->ex.text);
		for (struct sc_match *m = op->ex.matches, *next; m; m = next) {
			next = m->next;
			free(m->text);
			free(m);
		}
	}
	free(prog->ops);
	memset(prog, 0, sizeof(*prog));
}

int sc_parse(struct sc_program *prog, const char *name, const char *text, size_t len, FILE *err)
{
	struct parser ps = { .prog = prog, .last_op = -1 };
	memset(prog, 0, sizeof(*prog));
	prog->file = name;
	emu_config_defaults(&prog->cfg);
	char *linebuf = malloc(SC_MAX_LINE + 1);
	if (!linebuf) {
		fprintf(err, "%s: out of memory\n", name);
		return -1;
	}
	size_t pos = 0;
	int ret = 0;
	while (pos < len) {
		ps.line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
		if (n && text[end - 1] == '\r')
			n--;
		if (n > SC_MAX_LINE) {
			ret = perr(&ps, "line longer than %d characters", SC_MAX_LINE);
			break;
		}
		for (size_t i = 0; i < n && !ret; i++) {
			unsigned char ch = (unsigned char)text[pos + i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				ret = perr(&ps, "control character 0x%02x", ch);
		}
		if (ret)
			break;
		memcpy(linebuf, text + pos, n);
		linebuf[n] = 0;
		if ((ret = parse_line(&ps, linebuf)))
			break;
		pos = end + 1;
	}
	free(linebuf);
	if (ret) {
		fprintf(err, "%s:%u: %s\n", name, ps.line, ps.msg);
		sc_program_free(prog);
		return -1;
	}
	return 0;
}
