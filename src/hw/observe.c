/*
 * Measurement hooks of the hardware model (hw.h "Measurement"): leaf counts,
 * LP statistics summed, and the observer that the invariant checks of the
 * driver layer (src/driver/invariants.c) use to see every access and leaf.
 * Nothing here changes what the model does.
 */
#include <errno.h>
#include <string.h>

#include "machine.h"

void hw_counters_read(struct hw_machine *m, struct hw_counters *out)
{
	hw_lock(m);
	memset(out, 0, sizeof(*out));
	memcpy(out->encls, m->nr_encls, sizeof(out->encls));
	memcpy(out->enclu, m->nr_enclu, sizeof(out->enclu));
	for (unsigned i = 0; i < m->nr_lps; i++) {
		const struct hw_lp_stats *st = &m->lps[i].stats;
		out->tlb_flushes += st->tlb_flushes;
		out->stale_tlb_hits += st->stale_tlb_hits;
		out->aex += st->aex;
		out->interrupts += st->interrupts;
	}
	hw_unlock(m);
}

/* m->lock held */
static void observers_changed(struct hw_machine *m)
{
	m->obs_access = m->obs_leaf = m->obs_ipi = false;
	for (unsigned i = 0; i < HW_MAX_OBSERVERS; i++) {
		m->obs_access |= m->obs[i].access != NULL;
		m->obs_leaf |= m->obs[i].leaf != NULL;
		m->obs_ipi |= m->obs[i].ipi != NULL;
	}
}

static bool observer_empty(const struct hw_observer *o)
{
	return !o->access && !o->leaf && !o->ipi;
}

void hw_set_observer(struct hw_machine *m, const struct hw_observer *obs)
{
	hw_lock(m);
	if (obs)
		m->obs[0] = *obs;
	else
		memset(&m->obs[0], 0, sizeof(m->obs[0]));
	observers_changed(m);
	hw_unlock(m);
}

int hw_add_observer(struct hw_machine *m, const struct hw_observer *obs)
{
	int ret = -ENOSPC;
	hw_lock(m);
	for (unsigned i = 1; i < HW_MAX_OBSERVERS; i++)
		if (observer_empty(&m->obs[i])) {
			m->obs[i] = *obs;
			ret = 0;
			break;
		}
	observers_changed(m);
	hw_unlock(m);
	return ret;
}

void hw_remove_observer(struct hw_machine *m, const struct hw_observer *obs)
{
	hw_lock(m);
	for (unsigned i = 1; i < HW_MAX_OBSERVERS; i++) {
		struct hw_observer *o = &m->obs[i];
		if (o->ctx == obs->ctx && o->access == obs->access && o->leaf == obs->leaf && o->ipi == obs->ipi) {
			memset(o, 0, sizeof(*o));
			break;
		}
	}
	observers_changed(m);
	hw_unlock(m);
}

void observe_ipi(struct hw_lp *lp)
{
	struct hw_machine *m = lp->m;
	for (unsigned i = 0; i < HW_MAX_OBSERVERS; i++)
		if (m->obs[i].ipi)
			m->obs[i].ipi(m->obs[i].ctx, lp);
}

void observe_access(struct hw_lp *lp, uint64_t la, enum hw_access kind, const uint8_t *page, bool tlb_hit,
		    bool stale)
{
	struct hw_machine *m = lp->m;
	if (!m->obs_access)
		return;
	struct hw_access_event ev = {
		.lp = lp, .pt = lp->pt, .la = la, .kind = kind, .page = page,
		.frame = epc_frame(m, (uint64_t)(uintptr_t)page),
		.secs_frame = HW_NO_FRAME, .tlb_hit = tlb_hit, .stale = stale,
	};
	if (ev.frame != HW_NO_FRAME)
		ev.epcm = epcm_of(m, ev.frame);
	if (lp->in_enclave) {
		ev.secs_frame = lp->encl->secs_frame;
		ev.secs = secs_page(m, lp->encl);
	}
	for (unsigned i = 0; i < HW_MAX_OBSERVERS; i++)
		if (m->obs[i].access)
			m->obs[i].access(m->obs[i].ctx, &ev);
}

/* The frame of a leaf's page operand (see struct hw_leaf_event). */
static uint32_t operand_frame(struct hw_lp *lp, bool encls, uint32_t leaf, uint64_t rcx)
{
	if (encls)
		return epc_frame(lp->m, rcx);
	if (leaf != SGX_EACCEPT && leaf != SGX_EMODPE && leaf != SGX_EACCEPTCOPY)
		return HW_NO_FRAME;
	uint8_t *host;
	uint32_t frame;
	if (lp_translate(lp, rcx, HW_READ, &host, &frame).vector != SGX_VEC_NONE)
		return HW_NO_FRAME;
	return frame;
}

static uint64_t owner_eid(struct hw_machine *m, uint32_t frame, const struct hw_epcm_entry *e)
{
	const struct hw_enclave *encl = NULL;
	if (!e->valid)
		return 0;
	if (e->pt == SGX_PT_SECS)
		encl = m->secs_state[frame];
	else if (e->secs != HW_NO_FRAME)
		encl = enclave_of_secs(m, e->secs);
	return encl ? encl->eid : 0;
}

void observe_leaf(struct hw_lp *lp, bool encls, uint32_t leaf, bool after, struct sgx_result r, uint64_t rbx,
		  uint64_t rcx, uint64_t rdx)
{
	struct hw_machine *m = lp->m;
	if (!m->obs_leaf)
		return;
	struct hw_leaf_event ev = {
		.lp = lp, .encls = encls, .leaf = leaf, .after = after, .r = r,
		.rbx = rbx, .rcx = rcx, .rdx = rdx,
		.frame = operand_frame(lp, encls, leaf, rcx),
	};
	if (ev.frame != HW_NO_FRAME) {
		ev.epcm = epcm_of(m, ev.frame);
		ev.eid = owner_eid(m, ev.frame, ev.epcm);
	}
	for (unsigned i = 0; i < HW_MAX_OBSERVERS; i++)
		if (m->obs[i].leaf)
			m->obs[i].leaf(m->obs[i].ctx, &ev);
}
