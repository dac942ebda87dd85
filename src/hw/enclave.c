/*
 * Hidden SECS state and the ETRACK tracking model (isa.md §4.6).
 *
 * Tracking, as Costan & Devadas describe it and as every Linux flow assumes:
 * ETRACK starts epoch+1; an LP records the epoch it entered at.  A change made
 * in epoch B (EBLOCK, EMODPR, EMODT record B in EPCM.bepoch) is "tracked" once
 * an ETRACK has started a later epoch and no LP that entered in epoch <= B is
 * still inside: only those LPs can hold a TLB entry from before the change.
 */
#include <stdlib.h>

#include "machine.h"

struct hw_enclave *enclave_of_secs(struct hw_machine *m, uint32_t secs_frame)
{
	return secs_frame < m->nr_frames ? m->secs_state[secs_frame] : NULL;
}

struct hw_enclave *enclave_by_eid(struct hw_machine *m, uint64_t eid)
{
	for (struct hw_enclave *e = m->enclaves; e; e = e->next)
		if (e->eid == eid)
			return e;
	return NULL;
}

/* Allocates hidden state with a fresh EID for a SECS at secs_frame (ECREATE). */
struct hw_enclave *enclave_new(struct hw_machine *m, uint32_t secs_frame)
{
	struct hw_enclave *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->measure = EVP_MD_CTX_new();
	if (!e->measure || !EVP_DigestInit_ex(e->measure, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(e->measure);
		free(e);
		return NULL;
	}
	e->eid = m->next_eid++;
	e->secs_frame = secs_frame;
	e->next = m->enclaves;
	m->enclaves = e;
	m->secs_state[secs_frame] = e;
	return e;
}

/* Forgets an enclave entirely (EREMOVE of its SECS). */
void enclave_free(struct hw_machine *m, struct hw_enclave *e)
{
	for (struct hw_enclave **p = &m->enclaves; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	if (e->secs_frame != HW_NO_FRAME && m->secs_state[e->secs_frame] == e)
		m->secs_state[e->secs_frame] = NULL;
	EVP_MD_CTX_free(e->measure);
	free(e);
}

bool hw_discard_evicted_secs(struct hw_machine *m, uint64_t eid)
{
	hw_lock(m);
	struct hw_enclave *e = enclave_by_eid(m, eid);
	bool evicted = e && e->secs_frame == HW_NO_FRAME;
	if (evicted)
		enclave_free(m, e);
	hw_unlock(m);
	return evicted;
}

unsigned hw_nr_enclaves(struct hw_machine *m)
{
	unsigned n = 0;
	hw_lock(m);
	for (struct hw_enclave *e = m->enclaves; e; e = e->next)
		n++;
	hw_unlock(m);
	return n;
}

static bool lp_inside_since_or_before(struct hw_machine *m, const struct hw_enclave *e, uint64_t epoch)
{
	for (unsigned i = 0; i < m->nr_lps; i++) {
		const struct hw_lp *lp = &m->lps[i];
		if (lp->in_enclave && lp->encl == e && lp->entry_epoch <= epoch)
			return true;
	}
	return false;
}

bool enclave_has_lp_inside(struct hw_machine *m, const struct hw_enclave *e)
{
	return lp_inside_since_or_before(m, e, UINT64_MAX);
}

/* The cycle started by the latest ETRACK is complete when every LP that was
 * inside at that ETRACK (entered before the new epoch) has left. */
bool tracking_cycle_complete(struct hw_machine *m, const struct hw_enclave *e)
{
	if (e->tracked_epoch == 0)
		return true;
	return !lp_inside_since_or_before(m, e, e->tracked_epoch - 1);
}

bool tracking_done_since(struct hw_machine *m, const struct hw_enclave *e, uint64_t since)
{
	return e->tracked_epoch > since && !lp_inside_since_or_before(m, e, since);
}
