/*
 * emu_native_create / destroy: native execution for one process, and the
 * hooks that keep the host MMU in step with the model (mmu.c):
 *   page-table notifier  any PTE of the process changed → its host mapping
 *                        goes (the driver changed it: mprotect, munmap, zap)
 *   leaf observer        before a leaf that can take rights away from a
 *                        page (EBLOCK, EMODPR, EMODT, EREMOVE, EWB) → its
 *                        host mapping goes
 *   IPI observer         an interrupt posted to an LP in enclave mode → the
 *                        host thread running it gets the IPI signal (trap.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "native.h"

struct emu_native *_Atomic native_self;

void emu_native_config_defaults(struct emu_native_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ipi_signal = SIGRTMAX - 2;
	cfg->altstack_size = 256 * 1024;
}

static void on_pte_change(void *ctx, uint64_t la)
{
	native_revoke_page(ctx, la);
}

static bool takes_rights_away(uint32_t leaf)
{
	return leaf == SGX_EBLOCK || leaf == SGX_EMODPR || leaf == SGX_EMODT || leaf == SGX_EREMOVE ||
	       leaf == SGX_EWB;
}

/* Under the machine lock: n->lock nests inside it (native.h). */
static void on_leaf(void *ctx, const struct hw_leaf_event *ev)
{
	if (ev->after || !ev->encls || !takes_rights_away(ev->leaf) || !ev->epcm || !ev->epcm->valid)
		return;
	if (ev->epcm->pt == SGX_PT_SECS || ev->epcm->pt == SGX_PT_VA)
		return;
	native_revoke_page(ctx, ev->epcm->enclave_address);
}

static void on_ipi(void *ctx, struct hw_lp *lp)
{
	struct emu_native *n = ctx;
	pid_t tid = atomic_load(&n->lp_tid[hw_lp_id(lp) % HW_MAX_LPS]);
	if (!tid)
		return;   /* no host thread has run enclave code on it natively */
	NATIVE_COUNT(n, ipi_signals);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = n->cfg.ipi_signal;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = NATIVE_IPI_COOKIE;
	syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, n->cfg.ipi_signal, &si);
}

/* trap.c tells which thread runs an LP, so IPIs find it. */
void native_note_lp_thread(struct emu_native *n, struct hw_lp *lp)
{
	atomic_store(&n->lp_tid[hw_lp_id(lp) % HW_MAX_LPS], (pid_t)syscall(SYS_gettid));
}

/*
 * Native execution for proc: the vDSO image, the hooks, the signal handlers.
 * NULL + errno EBUSY (one exists), EINVAL (bad config), ENOMEM or what
 * loading the image failed with.
 */
struct emu_native *emu_native_create(struct emu_proc *proc, const struct emu_native_config *cfg)
{
	struct emu_native_config defaults;
	emu_native_config_defaults(&defaults);
	if (!cfg)
		cfg = &defaults;
	if (!proc || cfg->ipi_signal < SIGRTMIN || cfg->ipi_signal > SIGRTMAX || cfg->altstack_size < (size_t)MINSIGSTKSZ) {
		errno = EINVAL;
		return NULL;
	}
	struct emu_native *n = calloc(1, sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	struct emu_native *none = NULL;
	if (!atomic_compare_exchange_strong(&native_self, &none, n)) {
		free(n);
		errno = EBUSY;
		return NULL;
	}
	n->proc = proc;
	n->emu = proc->emu;
	n->m = emu_machine(n->emu);
	n->cfg = *cfg;
	n->epc_fd = hw_epc_memfd(n->m);
	pthread_mutex_init(&n->lock, NULL);
	int err = native_vdso_load(&n->vdso);
	if (!err)
		err = native_thread_init(n);
	if (err) {
		if (n->vdso.base)
			native_vdso_unload(&n->vdso);
		goto fail;
	}
	n->obs = (struct hw_observer){ .ctx = n, .leaf = on_leaf, .ipi = on_ipi };
	err = hw_add_observer(n->m, &n->obs);
	if (!err)
		err = native_signals_install(n);
	if (err) {
		hw_remove_observer(n->m, &n->obs);
		native_thread_fini(n);
		native_vdso_unload(&n->vdso);
		goto fail;
	}
	hw_pt_set_notifier(proc->mm->pt, on_pte_change, n);
	return n;
fail:
	pthread_mutex_destroy(&n->lock);
	atomic_store(&native_self, NULL);
	free(n);
	errno = -err;
	return NULL;
}

void emu_native_destroy(struct emu_native *n)
{
	if (!n)
		return;
	hw_pt_set_notifier(n->proc->mm->pt, NULL, NULL);
	hw_remove_observer(n->m, &n->obs);
	native_signals_restore(n);
	native_mmu_destroy(n);
	native_thread_fini(n);
	native_vdso_unload(&n->vdso);
	pthread_mutex_destroy(&n->lock);
	atomic_store(&native_self, NULL);
	free(n);
}

struct emu_native *emu_native_current(void)
{
	return atomic_load(&native_self);
}

vdso_sgx_enter_enclave_t emu_native_vdso_enter(struct emu_native *n)
{
	return n->vdso.enter;
}

const void *emu_native_vdso_image(struct emu_native *n)
{
	return n->vdso.base;
}

void emu_native_stats(struct emu_native *n, struct emu_native_stats *out)
{
	memset(out, 0, sizeof(*out));
#define GET(f) out->f = atomic_load_explicit(&n->st.f, memory_order_relaxed)
	GET(enclu_traps);
	GET(page_faults);
	GET(pages_mapped);
	GET(pages_revoked);
	GET(aex);
	GET(aex_fixed);
	GET(exceptions_reported);
	GET(ipi_signals);
	GET(forwarded);
#undef GET
	for (unsigned i = 0; i < SGX_ENCLU_LEAF_COUNT; i++)
		out->enclu_by_leaf[i] = atomic_load_explicit(&n->st.enclu_by_leaf[i], memory_order_relaxed);
}
