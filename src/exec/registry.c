/*
 * Per-process execution state: which C function is the code at which
 * enclave address (emu_register_entry), the coroutines suspended on each
 * TCS, and a small cache of coroutine stacks.  Created on first use, freed
 * by exec_proc_release (emu_proc_exit), copied (entries only) by
 * exec_proc_fork.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static struct exec_proc *exec_proc_new(void)
{
	struct exec_proc *xp = calloc(1, sizeof(*xp));
	if (xp)
		pthread_mutex_init(&xp->lock, NULL);
	return xp;
}

struct exec_proc *exec_proc_get(struct emu_proc *proc)
{
	struct exec_proc *xp = atomic_load_explicit(&proc->exec, memory_order_acquire);
	if (xp)
		return xp;
	struct exec_proc *fresh = exec_proc_new();
	if (!fresh)
		return NULL;
	xp = NULL;
	if (atomic_compare_exchange_strong(&proc->exec, &xp, fresh))
		return fresh;
	/* Another thread won the race. */
	pthread_mutex_destroy(&fresh->lock);
	free(fresh);
	return xp;
}

/* Index of the first entry with addr >= a. */
static size_t entry_index(const struct exec_proc *xp, uint64_t a)
{
	size_t lo = 0, hi = xp->nr_entries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (xp->entries[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int insert_entry(struct exec_proc *xp, uint64_t addr, encl_entry_fn fn)
{
	size_t i = entry_index(xp, addr);
	if (i < xp->nr_entries && xp->entries[i].addr == addr) {
		xp->entries[i].fn = fn;
		return 0;
	}
	if (xp->nr_entries == xp->cap_entries) {
		size_t cap = xp->cap_entries ? 2 * xp->cap_entries : 8;
		struct exec_entry *e = realloc(xp->entries, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		xp->entries = e;
		xp->cap_entries = cap;
	}
	memmove(&xp->entries[i + 1], &xp->entries[i], (xp->nr_entries - i) * sizeof(xp->entries[0]));
	xp->entries[i] = (struct exec_entry){ .addr = addr, .fn = fn };
	xp->nr_entries++;
	return 0;
}

/* Registering an address again replaces its function. */
int emu_register_entry(struct emu_proc *proc, uint64_t addr, encl_entry_fn fn)
{
	/* An entry point is BASE+OENTRY, which EENTER requires to be canonical. */
	bool canonical = (uint64_t)((int64_t)(addr << 16) >> 16) == addr;
	if (!proc || !fn || !canonical) {
		errno = EINVAL;
		return -1;
	}
	struct exec_proc *xp = exec_proc_get(proc);
	if (!xp) {
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&xp->lock);
	int err = insert_entry(xp, addr, fn);
	pthread_mutex_unlock(&xp->lock);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

encl_entry_fn exec_lookup_entry(struct exec_proc *xp, uint64_t addr)
{
	encl_entry_fn fn = NULL;
	pthread_mutex_lock(&xp->lock);
	size_t i = entry_index(xp, addr);
	if (i < xp->nr_entries && xp->entries[i].addr == addr)
		fn = xp->entries[i].fn;
	pthread_mutex_unlock(&xp->lock);
	return fn;
}

struct exec_tcs *exec_tcs_get(struct exec_proc *xp, uint64_t la)
{
	pthread_mutex_lock(&xp->lock);
	struct exec_tcs *xt;
	for (xt = xp->tcs_list; xt; xt = xt->next)
		if (xt->la == la)
			break;
	if (!xt) {
		xt = calloc(1, sizeof(*xt));
		if (xt) {
			xt->la = la;
			pthread_mutex_init(&xt->busy, NULL);
			xt->next = xp->tcs_list;
			xp->tcs_list = xt;
		}
	}
	pthread_mutex_unlock(&xp->lock);
	return xt;
}

struct encl_ctx **exec_tcs_slot(struct exec_tcs *xt, unsigned level)
{
	if (level >= xt->nr_slots) {
		unsigned n = level + 1;
		struct encl_ctx **s = realloc(xt->slots, n * sizeof(*s));
		if (!s)
			return NULL;
		memset(&s[xt->nr_slots], 0, (n - xt->nr_slots) * sizeof(*s));
		xt->slots = s;
		xt->nr_slots = n;
	}
	return &xt->slots[level];
}

void exec_ctx_free(struct exec_proc *xp, struct encl_ctx *ctx)
{
	co_destroy(ctx);
	if (ctx->stack)
		exec_stack_put(xp, ctx->stack);
	free(ctx);
}

/* Called by emu_proc_exit (system.c).  Suspended enclave code is dropped
 * without running further, as when a process dies with a TCS mid-AEX. */
void exec_proc_release(struct emu_proc *proc)
{
	struct exec_proc *xp = atomic_exchange(&proc->exec, NULL);
	if (!xp)
		return;
	while (xp->tcs_list) {
		struct exec_tcs *xt = xp->tcs_list;
		xp->tcs_list = xt->next;
		for (unsigned i = 0; i < xt->nr_slots; i++)
			if (xt->slots[i])
				exec_ctx_free(xp, xt->slots[i]);
		free(xt->slots);
		pthread_mutex_destroy(&xt->busy);
		free(xt);
	}
	while (xp->stacks) {
		struct exec_stack *s = xp->stacks;
		xp->stacks = s->next;
		exec_stack_free(s);
	}
	free(xp->entries);
	pthread_mutex_destroy(&xp->lock);
	free(xp);
}

/* Called by emu_fork (system.c): the child has the parent's enclave mappings,
 * so it has the same code at the same addresses.  Suspended coroutines stay
 * with the parent (the child's threads did not run them).  0 or -ENOMEM. */
int exec_proc_fork(struct emu_proc *child, struct emu_proc *parent)
{
	struct exec_proc *pxp = atomic_load(&parent->exec);
	if (!pxp)
		return 0;
	struct exec_proc *xp = exec_proc_get(child);
	if (!xp)
		return -ENOMEM;
	int err = 0;
	pthread_mutex_lock(&pxp->lock);
	pthread_mutex_lock(&xp->lock);
	for (size_t i = 0; i < pxp->nr_entries && !err; i++)
		err = insert_entry(xp, pxp->entries[i].addr, pxp->entries[i].fn);
	pthread_mutex_unlock(&xp->lock);
	pthread_mutex_unlock(&pxp->lock);
	return err;
}
