/*
 * The enclave side shared by the runtimes: the entry point (ECALL, OCALL
 * return, exception handler), the plan interpreter and the plan helpers.
 * Everything here runs inside the enclave on the exec layer's coroutine; its
 * leaves and accesses go through encl_enclu/encl_read/encl_write.
 */
#include <stdio.h>
#include <string.h>

#include "rt_common.h"

/* ---- failures ---- */

void rt_fail(struct rt *rt, const char *fmt, ...)
{
	rt->status = -1;
	if (rt->err[0])
		return;   /* the first failure is the cause */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rt->err, sizeof(rt->err), fmt, ap);
	va_end(ap);
}

const char *rt_rights_str(unsigned rights)
{
	static __thread char buf[4][4];
	static __thread unsigned next;
	char *b = buf[next++ % 4];
	b[0] = rights & 1 ? 'r' : '-';
	b[1] = rights & 2 ? 'w' : '-';
	b[2] = rights & 4 ? 'x' : '-';
	b[3] = 0;
	return b;
}

static const char *rc_name(uint64_t rc)
{
	switch (rc) {
	case 0: return "SUCCESS";
	case SGX_NOT_TRACKED: return "SGX_NOT_TRACKED";
	case SGX_PAGE_ATTRIBUTES_MISMATCH: return "SGX_PAGE_ATTRIBUTES_MISMATCH";
	case SGX_PAGE_NOT_MODIFIABLE: return "SGX_PAGE_NOT_MODIFIABLE";
	default: return "error";
	}
}

static const char *secinfo_str(uint64_t flags)
{
	static __thread char buf[2][64];
	static __thread unsigned next;
	char *b = buf[next++ % 2];
	unsigned pt = (unsigned)((flags & SGX_SECINFO_PT_MASK) >> SGX_SECINFO_PT_SHIFT);
	snprintf(b, 64, "%s|%s%s%s%s", pt == SGX_PT_TCS ? "TCS" : pt == SGX_PT_TRIM ? "TRIM" : "REG",
		 rt_rights_str((unsigned)flags & 7u), flags & SGX_SECINFO_PENDING ? "|PENDING" : "",
		 flags & SGX_SECINFO_MODIFIED ? "|MODIFIED" : "", flags & SGX_SECINFO_PR ? "|PR" : "");
	return b;
}

/* ---- tracker ---- */

bool rt_in_heap(const struct rt *rt, uint64_t la, uint64_t len)
{
	return la >= rt->heap && len <= rt->heap_len && la - rt->heap <= rt->heap_len - len;
}

uint8_t *rt_page(struct rt *rt, uint64_t la)
{
	if (!rt_in_heap(rt, la, 1))
		return NULL;
	return &rt->pages[(la - rt->heap) / SGX_PAGE_SIZE];
}

int rt_range_rights(struct rt *rt, uint64_t addr, uint64_t len)
{
	int rights = -1;
	for (uint64_t la = addr; la < addr + len; la += SGX_PAGE_SIZE) {
		uint8_t *pg = rt_page(rt, la);
		if (!pg || !(*pg & PG_COMMITTED))
			return -1;
		if (rights >= 0 && rights != (int)(*pg & PG_PERM))
			return -1;
		rights = *pg & PG_PERM;
	}
	return rights;
}

bool rt_range_all(struct rt *rt, uint64_t addr, uint64_t len, uint8_t mask, uint8_t want)
{
	for (uint64_t la = addr; la < addr + len; la += SGX_PAGE_SIZE) {
		uint8_t *pg = rt_page(rt, la);
		if (!pg || (*pg & mask) != want)
			return false;
	}
	return true;
}

/* ---- leaves ---- */

/* The SECINFO lives in the data page: a 64-byte-aligned, readable, accepted
 * REG page of the enclave, as the leaves require. */
static uint64_t secinfo(struct encl_ctx *ctx, uint64_t flags)
{
	uint64_t si[8] = { flags };
	uint64_t la = encl_base(ctx) + RT_DATA;
	encl_write(ctx, la, si, sizeof(si));
	return la;
}

uint64_t rt_eaccept(struct rt *rt, struct encl_ctx *ctx, uint64_t la, uint64_t flags)
{
	rt->stats.enclu[SGX_EACCEPT]++;
	return encl_enclu(ctx, SGX_EACCEPT, secinfo(ctx, flags), la, 0);
}

void rt_emodpe(struct rt *rt, struct encl_ctx *ctx, uint64_t la, uint64_t rights)
{
	rt->stats.enclu[SGX_EMODPE]++;
	encl_enclu(ctx, SGX_EMODPE, secinfo(ctx, rights & 7u), la, 0);
}

uint64_t rt_eacceptcopy(struct rt *rt, struct encl_ctx *ctx, uint64_t la, uint64_t flags, uint64_t src)
{
	rt->stats.enclu[SGX_EACCEPTCOPY]++;
	return encl_enclu(ctx, SGX_EACCEPTCOPY, secinfo(ctx, flags), la, src);
}

uint8_t *rt_lazy_fault_page(struct rt *rt, uint64_t addr, uint32_t errcd)
{
	uint8_t *pg = rt_page(rt, addr & SGX_PAGE_MASK);
	if (!(errcd & SGX_PFEC_SGX) || !pg || !(*pg & PG_LAZY) || (*pg & PG_COMMITTED))
		return NULL;
	return pg;
}

bool rt_commit_page(struct rt *rt, struct encl_ctx *ctx, uint64_t la)
{
	uint64_t rc = rt_eaccept(rt, ctx, la, SI_REG | SI_RW | SGX_SECINFO_PENDING);
	if (rc) {
		rt_fail(rt, "%s: EACCEPT(REG|rw-|PENDING) of %#llx returned %s (%llu) under policy %s",
			rt->flows->name, (unsigned long long)la, rc_name(rc), (unsigned long long)rc,
			emu_policy_name(rt->policy));
		return false;
	}
	uint8_t *pg = rt_page(rt, la);
	if (pg)
		*pg = (uint8_t)((*pg & ~PG_PERM) | PG_COMMITTED | SI_RW);
	return true;
}

/* ---- plans ---- */

struct rt_action *p_add(struct rt_plan *p, enum rt_act kind, uint64_t addr, uint64_t len)
{
	static struct rt_action spill;
	if (p->n == RT_PLAN_MAX) {
		p->overflow = true;
		return memset(&spill, 0, sizeof(spill));
	}
	struct rt_action *a = &p->a[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->addr = addr;
	a->len = len;
	return a;
}

void p_accept(struct rt_plan *p, uint64_t addr, uint64_t len, uint64_t flags, uint64_t keep, enum rt_filter f)
{
	struct rt_action *a = p_add(p, A_ACCEPT, addr, len);
	a->flags = flags;
	a->keep = keep;
	a->filter = f;
}

void p_emodpe(struct rt_plan *p, uint64_t addr, uint64_t len, unsigned rights)
{
	p_add(p, A_EMODPE, addr, len)->flags = rights;
}

void p_copy(struct rt_plan *p, uint64_t addr, uint64_t len, uint64_t flags)
{
	p_add(p, A_COPY, addr, len)->flags = flags;
}

void p_set(struct rt_plan *p, uint64_t addr, uint64_t len, uint8_t set, uint8_t clear)
{
	struct rt_action *a = p_add(p, A_SET, addr, len);
	a->set = set;
	a->clear = clear;
}

struct rt_ocall *p_ocall(struct rt_plan *p)
{
	return &p_add(p, A_OCALL, 0, 0)->oc;
}

void oc_add(struct rt_ocall *oc, enum rt_hop kind, uint64_t addr, uint64_t len, uint64_t arg)
{
	if (oc->n == RT_OCALL_MAX)
		return;   /* planners never ask for more; a bug would show as a missing step */
	oc->op[oc->n++] = (struct rt_hostop){ kind, addr, len, arg };
}

void p_tcs(struct rt_plan *p, uint64_t addr)
{
	p_add(p, A_TCS, addr, SGX_PAGE_SIZE);
}

void plan_v2_change(struct rt_plan *p, uint64_t addr, uint64_t len, unsigned old, unsigned new, bool host_mprotect)
{
	unsigned keep = old & new;
	bool restrict_ = old & ~new, relax = new & ~old;
	if (restrict_) {
		struct rt_ocall *oc = p_ocall(p);
		oc_add(oc, HOP_RESTRICT, addr, len, keep);
		if (!relax && host_mprotect)
			oc_add(oc, HOP_MPROTECT, addr, len, new);
		p_accept(p, addr, len, SI_REG | SGX_SECINFO_PR | keep, 0, F_ALL);
	}
	if (relax) {
		p_emodpe(p, addr, len, new);
		struct rt_ocall *oc = p_ocall(p);
		oc_add(oc, HOP_RELAX, addr, len, new);
		if (host_mprotect)
			oc_add(oc, HOP_MPROTECT, addr, len, new);
	}
	if (!restrict_ && !relax && host_mprotect)
		oc_add(p_ocall(p), HOP_MPROTECT, addr, len, new);
}

void plan_trim_runs(struct rt *rt, struct rt_plan *p, uint64_t addr, uint64_t len, int extra_kind, uint64_t extra_arg)
{
	uint64_t end = addr + len;
	for (uint64_t la = addr; la < end;) {
		uint8_t *pg = rt_page(rt, la);
		if (!pg || !(*pg & PG_COMMITTED)) {
			la += SGX_PAGE_SIZE;
			continue;
		}
		uint64_t run = la;
		while (la < end && (pg = rt_page(rt, la)) && (*pg & PG_COMMITTED))
			la += SGX_PAGE_SIZE;
		oc_add(p_ocall(p), HOP_MODT, run, la - run, SGX_PT_TRIM);
		p_accept(p, run, la - run, SI_TRIM | SGX_SECINFO_MODIFIED, 0, F_ALL);
		struct rt_ocall *oc = p_ocall(p);
		oc_add(oc, HOP_REMOVE, run, la - run, 0);
		if (extra_kind >= 0)
			oc_add(oc, (enum rt_hop)extra_kind, run, la - run, extra_arg);
		p_set(p, run, la - run, 0, PG_COMMITTED | PG_PERM);
	}
}

/* ---- the interpreter ---- */

static bool filtered_out(struct rt *rt, uint64_t la, enum rt_filter f)
{
	uint8_t *pg = rt_page(rt, la);
	if (!pg || f == F_ALL)
		return false;
	bool committed = *pg & PG_COMMITTED;
	return f == F_UNCOMMITTED ? committed : !committed;
}

static void write_tcs(struct encl_ctx *ctx, uint64_t la)
{
	static const uint8_t zero[SGX_PAGE_SIZE];
	struct sgx_tcs tcs;
	memset(&tcs, 0, sizeof(tcs));
	tcs.ossa = la + SGX_PAGE_SIZE - encl_base(ctx);
	tcs.nssa = RT_THREAD_PAGES - 1;
	tcs.oentry = RT_CODE;
	tcs.fslimit = tcs.gslimit = 0xFFFFFFFF;
	encl_write(ctx, la, zero, sizeof(zero));
	encl_write(ctx, la, &tcs, 80);
}

static bool run_action(struct rt *rt, struct encl_ctx *ctx, const struct rt_action *a)
{
	uint64_t n = a->len / SGX_PAGE_SIZE;
	for (uint64_t i = 0; i < n && a->kind != A_OCALL; i++) {
		uint64_t la = a->down ? a->addr + (n - 1 - i) * SGX_PAGE_SIZE : a->addr + i * SGX_PAGE_SIZE;
		uint8_t *pg = rt_page(rt, la);
		uint64_t flags = a->flags, rc = 0;
		const char *leaf = NULL;
		switch (a->kind) {
		case A_ACCEPT:
			if (filtered_out(rt, la, a->filter))
				continue;
			if (pg)
				flags |= *pg & PG_PERM & a->keep;
			rc = rt_eaccept(rt, ctx, la, flags);
			leaf = "EACCEPT";
			break;
		case A_EMODPE:
			rt_emodpe(rt, ctx, la, flags);
			break;
		case A_COPY:
			if (filtered_out(rt, la, F_UNCOMMITTED))
				continue;
			rc = rt_eacceptcopy(rt, ctx, la, flags, encl_base(ctx) + RT_ZERO);
			leaf = "EACCEPTCOPY";
			break;
		case A_SET:
			if (pg)
				*pg = (uint8_t)((*pg & ~a->clear) | a->set);
			break;
		case A_TCS:
			write_tcs(ctx, la);
			break;
		case A_OCALL:
			break;
		}
		if (rc) {
			rt_fail(rt, "%s: %s(%s) of %#llx returned %s (%llu) under policy %s", rt->flows->name, leaf,
				secinfo_str(flags), (unsigned long long)la, rc_name(rc), (unsigned long long)rc,
				emu_policy_name(rt->policy));
			return false;
		}
	}
	return true;
}

static const char *op_name(enum rt_op_kind k)
{
	static const char *const names[RT_OP_COUNT] = { "alloc", "free", "protect", "touch", "thread",
							"commit_data", "uncommit" };
	return k < RT_OP_COUNT ? names[k] : "?";
}

/* TOUCH is the application, not the runtime: plain accesses. */
static void touch(struct rt *rt, struct encl_ctx *ctx, const struct rt_op *op)
{
	for (uint64_t off = 0; off < op->len; off += SGX_PAGE_SIZE) {
		uint64_t la = rt->heap + op->off + off;
		if (op->flags & RT_F_EXEC) {
			encl_fetch(ctx, la);
		} else if (op->flags & RT_F_WRITE) {
			uint8_t v = 0xA5;
			encl_write(ctx, la, &v, 1);
		} else {
			uint8_t v;
			encl_read(ctx, la, &v, 1);
		}
	}
}

static void report_ocall_failure(struct rt *rt, const struct rt_ocall *oc)
{
	const struct rt_hostop *h = &oc->op[oc->failed];
	rt_fail(rt, "%s: %s: OCALL %s(%#llx, %#llx, %#llx) failed: %s (result %llu, count %#llx) under policy %s",
		rt->flows->name, op_name(rt->ops[rt->next_op].kind), rt_hop_name(h->kind),
		(unsigned long long)(h->addr - rt->base), (unsigned long long)h->len, (unsigned long long)h->arg,
		strerror(oc->err), (unsigned long long)oc->result, (unsigned long long)oc->count,
		emu_policy_name(rt->policy));
}

/* Runs the script from where it stopped; returns at an OCALL or the end. */
static void run_script(struct rt *rt, struct encl_ctx *ctx)
{
	while (rt->next_op < rt->nr_ops) {
		const struct rt_op *op = &rt->ops[rt->next_op];
		if (!rt->planned) {
			if (op->kind == RT_OP_TOUCH) {
				touch(rt, ctx, op);
				rt->next_op++;
				continue;
			}
			memset(&rt->plan, 0, sizeof(rt->plan));
			if (!rt->flows->plan(rt, op, &rt->plan))
				return;
			if (rt->plan.overflow) {
				rt_fail(rt, "%s: %s: more than %d steps (split the operation)", rt->flows->name,
					op_name(op->kind), RT_PLAN_MAX);
				return;
			}
			rt->planned = true;
			rt->next_action = 0;
		}
		while (rt->next_action < rt->plan.n) {
			struct rt_action *a = &rt->plan.a[rt->next_action++];
			if (a->kind == A_OCALL) {
				a->oc.err = 0;
				rt->pending = &a->oc;
				return;   /* EEXIT with the request */
			}
			if (!run_action(rt, ctx, a))
				return;
		}
		rt->planned = false;
		rt->next_op++;
	}
}

/* EXINFO of the frame the AEX saved (CSSA - 1). */
static void read_exinfo(struct encl_ctx *ctx, uint64_t cssa, struct sgx_exinfo *exinfo, uint32_t *exitinfo)
{
	uint64_t frame = encl_base(ctx) + RT_SSA + (cssa - 1) * SGX_PAGE_SIZE;
	uint64_t gpr = frame + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx);
	encl_read(ctx, gpr - sizeof(*exinfo), exinfo, sizeof(*exinfo));
	encl_read(ctx, gpr + offsetof(struct sgx_gprsgx, exitinfo), exitinfo, sizeof(*exitinfo));
}

void rt_encl_entry(struct encl_ctx *ctx)
{
	struct hw_regs *r = encl_regs(ctx);
	struct rt *rt = (struct rt *)(uintptr_t)r->rsi;
	uint64_t why = r->rdi, cssa = r->rax;
	if (encl_tcs(ctx) != encl_base(ctx) + RT_TCS)
		return;   /* a dynamic thread's first entry: it returns at once */
	if (cssa > 0) {
		struct sgx_exinfo exinfo;
		uint32_t exitinfo;
		read_exinfo(ctx, cssa, &exinfo, &exitinfo);
		rt->handled = false;
		if ((exitinfo & SGX_EXITINFO_VALID) && (exitinfo & SGX_EXITINFO_VECTOR_MASK) == SGX_VEC_PF &&
		    rt->flows->on_fault)
			rt->handled = rt->flows->on_fault(rt, ctx, exinfo.maddr, exinfo.errcd);
		return;
	}
	if (why == RT_ENTER_ECALL) {
		rt->next_op = 0;
		rt->planned = false;
		rt->status = 0;
	} else if (why == RT_ENTER_OCALL_RET) {
		struct rt_ocall *oc = rt->pending;
		if (oc && oc->err) {
			rt->pending = NULL;
			report_ocall_failure(rt, oc);
			return;
		}
	} else {
		return;
	}
	rt->pending = NULL;
	run_script(rt, ctx);
}
