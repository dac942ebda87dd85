/*
 * The enclave side of model-mode execution: what runs on a coroutine from
 * EENTER to EEXIT, and the encl_* API its C code uses.
 *
 * Every access and leaf goes through the hardware model on ctx->lp.  When one
 * ends in an AEX, suspend() hands the AEX to the entry function and returns
 * only after an ERESUME has put the LP back in enclave mode on this TCS (the
 * LP may then be another thread's); the caller retries the same access, as
 * the CPU re-executes the faulting instruction.
 *
 * Granularity (decision): an access of at most 16 bytes is one instruction —
 * every page it touches is checked before any byte moves, so a fault on the
 * second page leaves the first untouched.  A longer one is a string copy
 * (rep movs), restartable page by page: pages done before a fault stay done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define ONE_INSN_BYTES 16

static void suspend(struct encl_ctx *ctx, struct sgx_result r)
{
	ctx->aex = r;
	ctx->state = CO_AEX;
	co_switch_out(ctx, false);
	/* ERESUMEd: ctx->lp is in enclave mode on our TCS, state CO_RUNNING. */
}

static _Noreturn void internal_error(const char *what, struct sgx_result r)
{
	fprintf(stderr, "sgx2emu: %s: fault without AEX in enclave mode (vector %u, ec %#x)\n", what,
		r.vector, r.error_code);
	abort();
}

/* One access; false if it took an AEX (already resumed: start over). */
static bool try_access(struct encl_ctx *ctx, uint64_t la, enum hw_access kind, uint8_t **host)
{
	struct sgx_result r = hw_lp_access(ctx->lp, la, kind, host);
	if (r.aex) {
		suspend(ctx, r);
		return false;
	}
	if (r.vector != SGX_VEC_NONE)
		internal_error("access", r);
	return true;
}

static void access_range(struct encl_ctx *ctx, uint64_t la, uint8_t *buf, size_t len, enum hw_access kind)
{
	uint64_t in_page = SGX_PAGE_SIZE - (la & ~SGX_PAGE_MASK);
	if (len <= ONE_INSN_BYTES && len > in_page) {
		uint8_t *h1, *h2;
		while (!try_access(ctx, la, kind, &h1) || !try_access(ctx, la + in_page, kind, &h2))
			;
		if (kind == HW_WRITE) {
			memcpy(h1, buf, in_page);
			memcpy(h2, buf + in_page, len - in_page);
		} else {
			memcpy(buf, h1, in_page);
			memcpy(buf + in_page, h2, len - in_page);
		}
		return;
	}
	while (len) {
		size_t chunk = SGX_PAGE_SIZE - (la & ~SGX_PAGE_MASK);
		if (chunk > len)
			chunk = len;
		uint8_t *host;
		while (!try_access(ctx, la, kind, &host))
			;
		if (kind == HW_WRITE)
			memcpy(host, buf, chunk);
		else
			memcpy(buf, host, chunk);
		la += chunk;
		buf += chunk;
		len -= chunk;
	}
}

void encl_read(struct encl_ctx *ctx, uint64_t addr, void *buf, size_t len)
{
	access_range(ctx, addr, buf, len, HW_READ);
}

void encl_write(struct encl_ctx *ctx, uint64_t addr, const void *buf, size_t len)
{
	access_range(ctx, addr, (uint8_t *)buf, len, HW_WRITE);
}

uint64_t encl_read64(struct encl_ctx *ctx, uint64_t addr)
{
	uint64_t v;
	encl_read(ctx, addr, &v, sizeof(v));
	return v;
}

void encl_write64(struct encl_ctx *ctx, uint64_t addr, uint64_t value)
{
	encl_write(ctx, addr, &value, sizeof(value));
}

void encl_fetch(struct encl_ctx *ctx, uint64_t addr)
{
	uint8_t *host;
	while (!try_access(ctx, addr, HW_FETCH, &host))
		;
}

struct hw_regs *encl_regs(struct encl_ctx *ctx)
{
	return hw_lp_regs(ctx->lp);
}

uint64_t encl_base(struct encl_ctx *ctx)
{
	return ctx->base;
}

uint64_t encl_tcs(struct encl_ctx *ctx)
{
	return ctx->tcs;
}

_Noreturn void encl_eexit(struct encl_ctx *ctx, uint64_t target)
{
	for (;;) {
		/* EEXIT consumes RBX only; RCX and RDX keep what the code left
		 * (hw_enclu loads its operands into the registers). */
		struct hw_regs *regs = hw_lp_regs(ctx->lp);
		struct sgx_result r = hw_enclu(ctx->lp, SGX_EEXIT, target, regs->rcx, regs->rdx);
		if (r.aex) {   /* non-canonical target: #GP inside the enclave */
			suspend(ctx, r);
			continue;
		}
		if (r.vector != SGX_VEC_NONE)
			internal_error("EEXIT", r);
		break;
	}
	ctx->state = CO_EXITED;
	co_switch_out(ctx, true);
	abort(); /* never switched back in */
}

uint64_t encl_enclu(struct encl_ctx *ctx, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	if (leaf == SGX_EEXIT)
		encl_eexit(ctx, rbx);
	for (;;) {
		struct sgx_result r = hw_enclu(ctx->lp, leaf, rbx, rcx, rdx);
		if (r.aex) {
			suspend(ctx, r);
			continue;
		}
		if (r.vector != SGX_VEC_NONE)
			internal_error(hw_enclu_name(leaf), r);
		return hw_lp_regs(ctx->lp)->rax;
	}
}

/*
 * From EENTER: the CPU fetches the first instruction at BASE+OENTRY (so a
 * code page the EPCM or the PTE does not let it execute faults here, as on
 * hardware), then the registered C function runs.  With none registered the
 * bytes there mean nothing to the model: #UD, again after every ERESUME.
 * Returning from the function is EEXIT to RCX as EENTER left it.
 */
void exec_co_main(struct encl_ctx *ctx)
{
	uint64_t rip = hw_lp_regs(ctx->lp)->rip;
	uint8_t *host;
	while (!try_access(ctx, rip, HW_FETCH, &host))
		;
	while (!ctx->fn) {
		struct sgx_result r = hw_lp_exception(ctx->lp, SGX_VEC_UD, 0, 0);
		if (!r.aex)
			internal_error("#UD", r);
		suspend(ctx, r);
	}
	ctx->fn(ctx);
	encl_eexit(ctx, ctx->exit_target);
}
