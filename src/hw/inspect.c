/*
 * Inspection: what the EPCM holds and which SDM check decided an outcome.
 * The "why" is recorded by the check vocabulary in leaf.h (every REQUIRE
 * that fails, every return code) and by the access path in access.c.
 */
#include <stdio.h>
#include <string.h>

#include "machine.h"

static const char *pt_name(uint8_t pt)
{
	static const char *names[] = { "SECS", "TCS", "REG", "VA", "TRIM", "SS_FIRST", "SS_REST" };
	return pt < sizeof(names) / sizeof(names[0]) ? names[pt] : "PT?";
}

int hw_epcm_format(const struct hw_machine *m, uint32_t frame, char *buf, size_t len)
{
	struct hw_epcm_entry e;
	if (!hw_epcm_read(m, frame, &e))
		return snprintf(buf, len, "frame %u: not an EPC frame", frame);
	if (!e.valid)
		return snprintf(buf, len, "frame %5u: free", frame);
	char owner[64] = "";
	if (e.secs != HW_NO_FRAME) {
		uint64_t eid = 0;
		if (hw_secs_info(m, e.secs, &eid, NULL, NULL, NULL))
			snprintf(owner, sizeof(owner), " secs=%u (eid %llu)", e.secs, (unsigned long long)eid);
		else
			snprintf(owner, sizeof(owner), " secs=%u", e.secs);
	} else if (e.pt == SGX_PT_SECS) {
		uint64_t eid = 0, epoch = 0, tracked = 0;
		bool init = false;
		if (hw_secs_info(m, frame, &eid, &init, &epoch, &tracked))
			snprintf(owner, sizeof(owner), " eid %llu %s epoch %llu", (unsigned long long)eid,
				 init ? "initialized" : "uninitialized", (unsigned long long)epoch);
	}
	return snprintf(buf, len, "frame %5u: %-4s %c%c%c%s%s%s%s addr=%#llx%s bepoch=%llu", frame, pt_name(e.pt),
			e.r ? 'r' : '-', e.w ? 'w' : '-', e.x ? 'x' : '-', e.pending ? " PENDING" : "",
			e.modified ? " MODIFIED" : "", e.pr ? " PR" : "", e.blocked ? " BLOCKED" : "",
			(unsigned long long)e.enclave_address, owner, (unsigned long long)e.bepoch);
}

const struct hw_why *hw_lp_why(const struct hw_lp *lp)
{
	return &lp->why;
}

int hw_result_format(struct sgx_result r, char *buf, size_t len)
{
	const char *aex = r.aex ? " (AEX)" : "";
	switch (r.vector) {
	case SGX_VEC_NONE:
		if (r.aex)
			return snprintf(buf, len, "interrupt (AEX)");
		if (r.zf || r.cf)
			return snprintf(buf, len, "%s %llu %s", r.cf ? "info" : "RC", (unsigned long long)r.rax,
					hw_rc_name(r.rax));
		return snprintf(buf, len, "ok");
	case SGX_VEC_PF:
		return snprintf(buf, len, "#PF(%#llx, error code %#x%s)%s", (unsigned long long)r.address,
				r.error_code, (r.error_code & SGX_PFEC_SGX) ? " SGX" : "", aex);
	case SGX_VEC_GP:
		return snprintf(buf, len, "#GP(0)%s", aex);
	case SGX_VEC_UD:
		return snprintf(buf, len, "#UD%s", aex);
	default:
		return snprintf(buf, len, "exception %u%s", r.vector, aex);
	}
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int hw_explain(const struct hw_lp *lp, struct sgx_result r, char *buf, size_t len)
{
	char outcome[96];
	hw_result_format(r, outcome, sizeof(outcome));
	const struct hw_why *w = &lp->why;
	const char *what = w->what ? w->what : "last operation";
	if (!w->check)
		return snprintf(buf, len, "%s: %s", what, outcome);
	if (r.vector == SGX_VEC_NONE && !r.zf && !r.cf && !r.aex)
		return snprintf(buf, len, "%s: %s", what, outcome);
	if (!strcmp(w->check, "return code") || !strcmp(w->check, "information code"))
		return snprintf(buf, len, "%s: %s, returned at %s:%d", what, outcome, basename_of(w->file), w->line);
	return snprintf(buf, len, "%s: %s, because this check failed at %s:%d: %s", what, outcome,
			basename_of(w->file), w->line, w->check);
}
