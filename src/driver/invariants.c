/*
 * The invariants of ../shared/spec/policies.md, checked where they can break
 * and every violation counted and located (page, step).  docs/invariants.md
 * says what each policy is expected to give up.
 *
 *   H1  no enclave access succeeds beyond PTE ∩ EPCM: every successful access
 *       the hardware observer reports inside ELRANGE is re-checked here from
 *       the page table and the EPCM entry.  A refused one is a model bug,
 *       unless it is a stale TLB hit (the hardware reports those): then T1.
 *   T1  a stale TLB hit after the page's restriction (EMODPR/EMODT) was
 *       EACCEPTed.  Hardware tracking makes EACCEPT wait (SGX_NOT_TRACKED)
 *       until no LP can hold such an entry, so this is a model bug too; a
 *       kernel that skips the IPI shows the hazard as stale hits before the
 *       EACCEPT (counters.stale_tlb_hits) and as SGX_NOT_TRACKED.
 *   D1  an EAUGed frame is zero; a page's contents are the same after
 *       EWB + ELDU as before (hash at EWB, compare at ELDU); an EPC page is
 *       reached only by its own enclave from inside ELRANGE.
 *   K1  PTE ⊆ VMA (an enclave PTE without a VMA violates it);
 *   K2  VMA ⊆ max for pages added with ADD_PAGES;
 *   K3  PTE ⊆ EPCM for REG pages.
 *       Checked for the affected pages after each PTE install (fault), each
 *       mmap/mprotect, and each ioctl that cut a page's EPCM rights (the
 *       observer notes the EMODPR/EMODT of the calling thread; the pages are
 *       then checked in every mm of the enclave).  A violation is an episode:
 *       counted when a check first finds it, over when a check finds the
 *       relation holds again or the PTE / mapping goes; its length in steps
 *       is the "how long".  An EPCM change the enclave makes itself
 *       (EACCEPTCOPY, EMODPE) is seen at the next check of that PTE.
 *
 * Rights are compared as x86 PTEs express them: any right implies R.
 *
 * Locking: inv->lock is innermost.  Observer callbacks run under the
 * machine lock and take it; the driver-side checks read the page table and
 * the EPCM (which takes the machine lock) first and take inv->lock only to
 * record, so the two orders never meet.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define INV_KEEP 1024          /* violations kept with their location */
#define GONE_LOOKUPS 64        /* a range up to this many pages is closed page by page */

/* ---- a small open-addressing map: (a, b) → v ---- */

struct islot {
	uint64_t a, b, v;
	uint8_t state;         /* 0 empty, 1 used, 2 deleted */
};

struct imap {
	struct islot *s;
	size_t cap, used, live;   /* used: live + deleted */
};

static size_t ihash(uint64_t a, uint64_t b, size_t cap)
{
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static struct islot *imap_find(const struct imap *m, uint64_t a, uint64_t b)
{
	if (!m->live)
		return NULL;
	for (size_t i = ihash(a, b, m->cap);; i = (i + 1) & (m->cap - 1)) {
		struct islot *s = &m->s[i];
		if (s->state == 0)
			return NULL;
		if (s->state == 1 && s->a == a && s->b == b)
			return s;
	}
}

static int imap_grow(struct imap *m)
{
	size_t cap = m->cap ? m->cap : 64;
	if (m->live * 2 >= cap)
		cap *= 2;
	struct islot *s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->s[i].state != 1)
			continue;
		size_t j = ihash(m->s[i].a, m->s[i].b, cap);
		while (s[j].state)
			j = (j + 1) & (cap - 1);
		s[j] = m->s[i];
	}
	free(m->s);
	m->s = s;
	m->cap = cap;
	m->used = m->live;
	return 0;
}

/* A new entry (the key must not be there); NULL without memory. */
static struct islot *imap_add(struct imap *m, uint64_t a, uint64_t b)
{
	if ((m->used + 1) * 4 >= m->cap * 3 && imap_grow(m))
		return NULL;
	size_t i = ihash(a, b, m->cap);
	while (m->s[i].state == 1)
		i = (i + 1) & (m->cap - 1);
	if (m->s[i].state == 0)
		m->used++;
	m->s[i] = (struct islot){ .a = a, .b = b, .state = 1 };
	m->live++;
	return &m->s[i];
}

static void imap_del(struct imap *m, struct islot *s)
{
	s->state = 2;
	m->live--;
}

/* ---- state ---- */

struct pending {               /* an EPCM cut (EMODPR/EMODT) by a thread, for inv_after_ioctl */
	pthread_t thread;
	uint64_t la;
};

struct inv_state {
	struct emu *emu;
	pthread_mutex_t lock;
	struct imap episodes;      /* (pt, la | inv) → step it started */
	struct imap evicted;       /* D1: (eid, la | secs) → hash of the contents at EWB */
	/* T1, per frame (observer only, under the machine lock) */
	uint32_t nr_frames;
	uint64_t *cut_step, *accept_step;
	struct pending *pending;
	size_t nr_pending, cap_pending;
	uint64_t checks[EMU_INV_COUNT], violations[EMU_INV_COUNT], expected[EMU_INV_COUNT];
	uint64_t open[EMU_INV_COUNT], steps[EMU_INV_COUNT];
	struct emu_violation first[INV_KEEP];
	size_t nr_first;
};

enum origin { AT_MAP, AT_FAULT, AT_CUT, AT_AUDIT };

static uint64_t now(const struct inv_state *st)
{
	return emu_step(st->emu);
}

static unsigned rights(unsigned prot)
{
	prot &= HW_PROT_R | HW_PROT_W | HW_PROT_X;
	return prot ? prot | HW_PROT_R : 0;
}

/* inv->lock held */
static void record(struct inv_state *st, enum emu_invariant inv, uint64_t la, uint64_t step, const char *what,
		   bool expected)
{
	st->violations[inv]++;
	if (expected)
		st->expected[inv]++;
	if (st->nr_first < INV_KEEP)
		st->first[st->nr_first++] = (struct emu_violation){
			.inv = inv, .addr = la & SGX_PAGE_MASK, .step = step, .what = what, .expected = expected,
		};
}

/* A relation of (pt, la) checked; inv->lock held. */
static void relation(struct inv_state *st, enum emu_invariant inv, const void *pt, uint64_t la, bool holds,
		     bool expected, const char *what)
{
	uint64_t key = (la & SGX_PAGE_MASK) | inv, step = now(st);
	st->checks[inv]++;
	struct islot *s = imap_find(&st->episodes, (uint64_t)(uintptr_t)pt, key);
	if (holds) {
		if (s) {
			st->steps[inv] += step - s->v;
			st->open[inv]--;
			imap_del(&st->episodes, s);
		}
		return;
	}
	if (s)
		return;   /* the same episode, still going on */
	s = imap_add(&st->episodes, (uint64_t)(uintptr_t)pt, key);
	if (s) {
		s->v = step;
		st->open[inv]++;
	}
	record(st, inv, la, step, what, expected);
}

static void close_slot(struct inv_state *st, struct islot *s, uint64_t step)
{
	enum emu_invariant inv = (enum emu_invariant)(s->b & ~SGX_PAGE_MASK);
	st->steps[inv] += step - s->v;
	st->open[inv]--;
	imap_del(&st->episodes, s);
}

/* ---- expectations per policy (docs/invariants.md) ---- */

static bool k2_expected(enum emu_policy p, enum origin at)
{
	switch (at) {
	case AT_MAP:      /* every policy checks VMA ⊆ max at mmap/mprotect */
		return false;
	case AT_FAULT:    /* v1/v2 fault handlers make no VMA check */
		return p == EMU_POLICY_V1 || p == EMU_POLICY_V2;
	default:          /* max cut under a mapping: the fault path decides */
		return true;
	}
}

/* The kernel's copy of the EPCM rights, where the policy keeps one. */
static bool k3_expected(enum emu_policy p, const struct drv_page *page, unsigned pte)
{
	switch (p) {
	case EMU_POLICY_UPSTREAM:
	case EMU_POLICY_RESET:
	case EMU_POLICY_MPROTECT_EMODPR:
		return true;                     /* EPCM not tracked: given up on purpose */
	case EMU_POLICY_V1:
		return page && !(pte & ~rights(page->vm_max_prot_bits));
	case EMU_POLICY_V2:
		return page && !(pte & ~rights(page->vm_run_prot_bits));
	default:
		return false;
	}
}

/* ---- K1, K2, K3 ---- */

/* What a PTE points at: its rights, and the EPCM entry of an EPC frame. */
struct pte_facts {
	uint64_t la;
	unsigned prot;
	uint32_t frame;
	struct hw_epcm_entry epcm;
};

static bool pte_facts(struct drv_mm *mm, uint64_t la, struct pte_facts *f)
{
	void *host;
	if (!hw_pt_lookup(mm->pt, la, &host, &f->prot))
		return false;
	f->la = la;
	f->frame = hw_epc_frame_of(mm->emu->m, (uint64_t)(uintptr_t)host);
	if (f->frame == HW_NO_FRAME || !hw_epcm_read(mm->emu->m, f->frame, &f->epcm))
		memset(&f->epcm, 0, sizeof(f->epcm));
	return true;
}

static bool epcm_is_reg_at(const struct pte_facts *f)
{
	return f->frame != HW_NO_FRAME && f->epcm.valid && f->epcm.pt == SGX_PT_REG &&
	       f->epcm.enclave_address == f->la;
}

static unsigned epcm_rights(const struct hw_epcm_entry *e)
{
	return rights((e->r ? HW_PROT_R : 0) | (e->w ? HW_PROT_W : 0) | (e->x ? HW_PROT_X : 0));
}

/* PTEs of [from, to) outside any VMA: ambient identity mappings are fine, an
 * EPC frame is not.  mm->lock held. */
static void check_gap(struct inv_state *st, struct drv_mm *mm, uint64_t from, uint64_t to)
{
	for (uint64_t la = from; la < to && hw_pt_next(mm->pt, &la, to); la += SGX_PAGE_SIZE) {
		struct pte_facts f;
		if (!pte_facts(mm, la, &f))
			continue;
		pthread_mutex_lock(&st->lock);
		relation(st, EMU_INV_K1, mm->pt, la, f.frame == HW_NO_FRAME, false, "enclave PTE without a VMA");
		pthread_mutex_unlock(&st->lock);
	}
}

/* [from, to) of VMA v.  mm->lock held; takes the enclave's lock. */
static void check_vma(struct inv_state *st, struct drv_mm *mm, struct drv_vma *v, uint64_t from, uint64_t to,
		      enum origin at)
{
	struct drv_encl *encl = (v->flags & DRV_VMA_SGX) ? v->encl : NULL;
	unsigned vprot = v->prot & DRV_VM_PROT;

	if (encl) {
		pthread_mutex_lock(&encl->lock);
		uint64_t index = from >> 12;
		struct drv_page *page;
		while ((page = xa_find(&encl->pages, &index, (to - 1) >> 12))) {
			if (page->flags & DRV_PAGE_ADDED) {
				bool holds = !(vprot & ~page->vm_max_prot_bits);
				pthread_mutex_lock(&st->lock);
				relation(st, EMU_INV_K2, mm->pt, page->addr, holds, k2_expected(encl->policy, at),
					 "VMA exceeds the page's vetted maximum");
				pthread_mutex_unlock(&st->lock);
			}
			index++;
		}
	}
	for (uint64_t la = from; la < to && hw_pt_next(mm->pt, &la, to); la += SGX_PAGE_SIZE) {
		struct pte_facts f;
		if (!pte_facts(mm, la, &f))
			continue;
		bool k1 = !(f.prot & ~rights(vprot)) && (encl || f.frame == HW_NO_FRAME);
		bool reg = encl && epcm_is_reg_at(&f);
		bool k3 = !reg || !(f.prot & ~epcm_rights(&f.epcm));
		bool k3_exp = !k3 && k3_expected(encl->policy, xa_load(&encl->pages, la >> 12), f.prot);
		pthread_mutex_lock(&st->lock);
		relation(st, EMU_INV_K1, mm->pt, la, k1, false,
			 encl || f.frame == HW_NO_FRAME ? "PTE exceeds its VMA" : "enclave page mapped by a non-enclave VMA");
		if (encl)
			relation(st, EMU_INV_K3, mm->pt, la, k3, k3_exp, "PTE exceeds the EPCM");
		pthread_mutex_unlock(&st->lock);
	}
	if (encl)
		pthread_mutex_unlock(&encl->lock);
}

/* Everything of [start, end) in mm; mm->lock held. */
static void check_range(struct inv_state *st, struct drv_mm *mm, uint64_t start, uint64_t end, enum origin at)
{
	start &= SGX_PAGE_MASK;
	end = (end + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;
	if (end > 1ull << 47)
		end = 1ull << 47;
	struct drv_vma *v = mm_find_vma(mm, start);
	uint64_t at_ = start;
	while (at_ < end) {
		if (!v || v->start >= end) {
			check_gap(st, mm, at_, end);
			break;
		}
		if (v->start > at_)
			check_gap(st, mm, at_, v->start);
		uint64_t from = v->start > at_ ? v->start : at_;
		uint64_t to = v->end < end ? v->end : end;
		check_vma(st, mm, v, from, to, at);
		at_ = to;
		v = v->next;
	}
}

/* The episodes of (pt, [start, end)) of the given invariants end now. */
static void close_range(struct inv_state *st, const void *pt, uint64_t start, uint64_t end, unsigned invs)
{
	uint64_t step = now(st);
	uint64_t a = (uint64_t)(uintptr_t)pt;
	pthread_mutex_lock(&st->lock);
	if (st->episodes.live && (end - start) / SGX_PAGE_SIZE <= GONE_LOOKUPS) {
		for (uint64_t la = start; la < end; la += SGX_PAGE_SIZE)
			for (unsigned inv = 0; inv < EMU_INV_COUNT; inv++) {
				if (!(invs & (1u << inv)))
					continue;
				struct islot *s = imap_find(&st->episodes, a, la | inv);
				if (s)
					close_slot(st, s, step);
			}
	} else if (st->episodes.live) {
		for (size_t i = 0; i < st->episodes.cap; i++) {
			struct islot *s = &st->episodes.s[i];
			uint64_t la = s->b & SGX_PAGE_MASK;
			if (s->state == 1 && s->a == a && la >= start && la < end && (invs & (1u << (s->b & ~SGX_PAGE_MASK))))
				close_slot(st, s, step);
		}
	}
	pthread_mutex_unlock(&st->lock);
}

void inv_gone(struct drv_mm *mm, uint64_t start, uint64_t end, bool vmas)
{
	struct inv_state *st = mm->emu->inv;
	if (!st)
		return;
	unsigned invs = (1u << EMU_INV_K1) | (1u << EMU_INV_K3) | (vmas ? 1u << EMU_INV_K2 : 0);
	close_range(st, mm->pt, start & SGX_PAGE_MASK, end, invs);
}

/* Take this thread's pending EPCM cuts: their addresses (malloc'ed), or NULL. */
static uint64_t *take_pending(struct inv_state *st, size_t *n)
{
	pthread_t self = pthread_self();
	uint64_t *las = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nr_pending; i++)
		if (pthread_equal(st->pending[i].thread, self))
			(*n)++;
	if (*n && (las = malloc(*n * sizeof(*las)))) {
		size_t k = 0, j = 0;
		for (size_t i = 0; i < st->nr_pending; i++) {
			if (pthread_equal(st->pending[i].thread, self))
				las[k++] = st->pending[i].la;
			else
				st->pending[j++] = st->pending[i];
		}
		st->nr_pending = j;
	}
	pthread_mutex_unlock(&st->lock);
	return las;
}

/* The pages just cut, in mm; mm->lock held. */
static void check_cut(struct inv_state *st, struct drv_mm *mm, const uint64_t *las, size_t n)
{
	for (size_t k = 0; k < n; k++)
		check_range(st, mm, las[k], las[k] + SGX_PAGE_SIZE, AT_CUT);
}

void inv_check_mapped(struct drv_mm *mm, uint64_t start, uint64_t end, bool fresh)
{
	struct inv_state *st = mm->emu->inv;
	if (!st)
		return;
	if (fresh)
		inv_gone(mm, start, end, true);
	size_t n;
	uint64_t *cut = take_pending(st, &n);   /* mprotect-emodpr's EMODPRs */
	pthread_rwlock_rdlock(&mm->lock);
	check_cut(st, mm, cut, n);
	check_range(st, mm, start, end, AT_MAP);
	pthread_rwlock_unlock(&mm->lock);
	free(cut);
}

void inv_check_fault(struct drv_mm *mm, uint64_t addr)
{
	struct inv_state *st = mm->emu->inv;
	if (!st)
		return;
	addr &= SGX_PAGE_MASK;
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *v = mm_find_vma(mm, addr);
	uint64_t end = addr + SGX_PAGE_SIZE;
	if (v && v->start <= addr && (v->flags & DRV_VMA_SGX) && v->encl) {
		end = addr + (uint64_t)policy_fault_around(v->encl) * SGX_PAGE_SIZE;
		if (end > v->end)
			end = v->end;
	}
	check_range(st, mm, addr, end, AT_FAULT);
	pthread_rwlock_unlock(&mm->lock);
}

/* mmget_not_zero */
static bool mm_get_live(struct drv_mm *mm)
{
	int users = atomic_load(&mm->users);
	while (users > 0)
		if (atomic_compare_exchange_weak(&mm->users, &users, users + 1))
			return true;
	return false;
}

void inv_after_ioctl(struct drv_encl *encl)
{
	struct inv_state *st = encl->emu->inv;
	if (!st)
		return;
	size_t n, nr_mms = 0, cap = 0;
	uint64_t *cut = take_pending(st, &n);
	if (!cut)
		return;
	pthread_mutex_lock(&encl->mm_lock);
	for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
		cap++;
	struct drv_mm **mms = cap ? malloc(cap * sizeof(*mms)) : NULL;
	if (mms)
		for (struct drv_encl_mm *em = encl->mm_list; em; em = em->next)
			if (mm_get_live(em->mm))
				mms[nr_mms++] = em->mm;
	pthread_mutex_unlock(&encl->mm_lock);
	for (size_t i = 0; i < nr_mms; i++) {
		pthread_rwlock_rdlock(&mms[i]->lock);
		check_cut(st, mms[i], cut, n);
		pthread_rwlock_unlock(&mms[i]->lock);
		mm_put(mms[i]);
	}
	free(mms);
	free(cut);
}

uint64_t emu_check_invariants(struct emu_proc *proc)
{
	struct inv_state *st = proc->emu->inv;
	if (!st)
		return 0;
	uint64_t before, after;
	pthread_mutex_lock(&st->lock);
	before = st->violations[EMU_INV_K1] + st->violations[EMU_INV_K2] + st->violations[EMU_INV_K3];
	pthread_mutex_unlock(&st->lock);
	pthread_rwlock_rdlock(&proc->mm->lock);
	check_range(st, proc->mm, 0, 1ull << 47, AT_AUDIT);
	pthread_rwlock_unlock(&proc->mm->lock);
	pthread_mutex_lock(&st->lock);
	after = st->violations[EMU_INV_K1] + st->violations[EMU_INV_K2] + st->violations[EMU_INV_K3];
	pthread_mutex_unlock(&st->lock);
	return after - before;
}

/* ---- the hardware observer: H1, T1, D1 ---- */

static uint64_t page_hash(const uint8_t *page)
{
	uint64_t h = 0xcbf29ce484222325ull, w;
	for (size_t i = 0; i < SGX_PAGE_SIZE; i += 8) {
		memcpy(&w, page + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 31;
	}
	return h;
}

static bool page_zero(const uint8_t *page)
{
	static const uint8_t zero[SGX_PAGE_SIZE];
	return !memcmp(page, zero, SGX_PAGE_SIZE);
}

static unsigned need(enum hw_access kind)
{
	return kind == HW_WRITE ? HW_PROT_W : kind == HW_FETCH ? HW_PROT_X : HW_PROT_R;
}

static bool in_elrange(const struct sgx_secs *secs, uint64_t la)
{
	return secs && la >= secs->base && la - secs->base < secs->size;
}

static void on_access(void *ctx, const struct hw_access_event *ev)
{
	struct inv_state *st = ctx;
	uint64_t la = ev->la & SGX_PAGE_MASK;
	const struct hw_epcm_entry *e = ev->epcm;
	bool inside = in_elrange(ev->secs, ev->la);

	pthread_mutex_lock(&st->lock);
	if (ev->frame != HW_NO_FRAME) {
		st->checks[EMU_INV_D1]++;
		if (!inside || !e->valid || e->secs != ev->secs_frame)
			record(st, EMU_INV_D1, la, now(st), "EPC page reached from outside its enclave", false);
	}
	if (!inside) {
		pthread_mutex_unlock(&st->lock);
		return;
	}
	void *host;
	unsigned prot;
	bool pte_ok = hw_pt_lookup(ev->pt, la, &host, &prot) && host == ev->page && (prot & need(ev->kind));
	/* the EPCM's own bits: hardware reads only with EPCM.R */
	unsigned epcm = e ? (e->r ? HW_PROT_R : 0) | (e->w ? HW_PROT_W : 0) | (e->x ? HW_PROT_X : 0) : 0;
	bool epcm_ok = e && e->valid && e->secs == ev->secs_frame && e->enclave_address == la &&
		       e->pt == SGX_PT_REG && !e->blocked && !e->pending && !e->modified && (epcm & need(ev->kind));
	st->checks[EMU_INV_H1]++;
	if (!pte_ok || !epcm_ok) {
		if (!ev->stale) {
			record(st, EMU_INV_H1, la, now(st), "access succeeded beyond PTE ∩ EPCM", false);
		} else {
			st->checks[EMU_INV_T1]++;
			if (!epcm_ok && ev->frame != HW_NO_FRAME && st->cut_step[ev->frame] &&
			    st->accept_step[ev->frame] > st->cut_step[ev->frame])
				record(st, EMU_INV_T1, la, now(st), "stale TLB entry used after the restriction was EACCEPTed",
				       false);
		}
	}
	pthread_mutex_unlock(&st->lock);
}

static uint64_t evict_key(const struct hw_epcm_entry *e)
{
	return e->enclave_address | (e->pt == SGX_PT_SECS);
}

static void on_leaf(void *ctx, const struct hw_leaf_event *ev)
{
	struct inv_state *st = ctx;
	uint32_t f = ev->frame;
	bool have = f != HW_NO_FRAME && f < st->nr_frames;

	if (!ev->after) {
		/* EWB: the contents as they leave the EPC */
		if (ev->encls && ev->leaf == SGX_EWB && have && ev->epcm->valid) {
			uint64_t h = page_hash(hw_epc_page(st->emu->m, f));
			pthread_mutex_lock(&st->lock);
			struct islot *s = imap_find(&st->evicted, ev->eid, evict_key(ev->epcm));
			if (!s)
				s = imap_add(&st->evicted, ev->eid, evict_key(ev->epcm));
			if (s)
				s->v = h;
			pthread_mutex_unlock(&st->lock);
		}
		return;
	}
	__atomic_fetch_add(&st->emu->step, 1, __ATOMIC_RELAXED);
	bool ok = ev->r.vector == SGX_VEC_NONE && !ev->r.zf && !ev->r.aex;
	if (!ok || !have)
		return;

	pthread_mutex_lock(&st->lock);
	if (ev->encls) {
		switch (ev->leaf) {
		case SGX_EAUG: {
			const struct sgx_pageinfo *pi = (const struct sgx_pageinfo *)(uintptr_t)ev->rbx;
			st->checks[EMU_INV_D1]++;
			if (!page_zero(hw_epc_page(st->emu->m, f)))
				record(st, EMU_INV_D1, pi->linaddr, now(st), "page not zero after EAUG", false);
			st->cut_step[f] = st->accept_step[f] = 0;
			break;
		}
		case SGX_ELDU:
		case SGX_ELDB: {
			struct islot *s = imap_find(&st->evicted, ev->eid, evict_key(ev->epcm));
			if (s) {
				st->checks[EMU_INV_D1]++;
				if (s->v != page_hash(hw_epc_page(st->emu->m, f)))
					record(st, EMU_INV_D1, ev->epcm->enclave_address, now(st),
					       "contents changed across EWB/ELDU", false);
				imap_del(&st->evicted, s);
			}
			st->cut_step[f] = st->accept_step[f] = 0;
			break;
		}
		case SGX_EMODPR:
		case SGX_EMODT:
			st->cut_step[f] = now(st);
			if (st->nr_pending == st->cap_pending) {
				size_t cap = st->cap_pending ? 2 * st->cap_pending : 64;
				struct pending *p = realloc(st->pending, cap * sizeof(*p));
				if (!p)
					break;
				st->pending = p;
				st->cap_pending = cap;
			}
			st->pending[st->nr_pending++] = (struct pending){ pthread_self(), ev->epcm->enclave_address };
			break;
		case SGX_EREMOVE:
			st->cut_step[f] = st->accept_step[f] = 0;
			break;
		}
	} else if (ev->leaf == SGX_EACCEPT) {
		st->accept_step[f] = now(st);
	}
	pthread_mutex_unlock(&st->lock);
}

/* ---- life cycle and reports ---- */

void inv_init(struct emu *emu)
{
	if (emu->cfg.invariants_off)
		return;
	struct inv_state *st = calloc(1, sizeof(*st));
	if (!st)
		return;   /* no checks rather than no machine */
	st->emu = emu;
	st->nr_frames = hw_epc_frames(emu->m);
	st->cut_step = calloc(st->nr_frames, sizeof(uint64_t));
	st->accept_step = calloc(st->nr_frames, sizeof(uint64_t));
	if (!st->cut_step || !st->accept_step) {
		free(st->cut_step);
		free(st->accept_step);
		free(st);
		return;
	}
	pthread_mutex_init(&st->lock, NULL);
	emu->inv = st;
	struct hw_observer obs = { .ctx = st, .access = on_access, .leaf = on_leaf };
	hw_set_observer(emu->m, &obs);
}

void inv_destroy(struct emu *emu)
{
	struct inv_state *st = emu->inv;
	if (!st)
		return;
	hw_set_observer(emu->m, NULL);
	emu->inv = NULL;
	free(st->episodes.s);
	free(st->evicted.s);
	free(st->pending);
	free(st->cut_step);
	free(st->accept_step);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

const char *emu_invariant_name(enum emu_invariant inv)
{
	static const char *names[EMU_INV_COUNT] = { "H1", "K1", "K2", "K3", "T1", "D1" };
	return (unsigned)inv < EMU_INV_COUNT ? names[inv] : "?";
}

uint64_t emu_violations(struct emu *emu, uint64_t counts[EMU_INV_COUNT], struct emu_violation *first, size_t max)
{
	struct inv_state *st = emu->inv;
	uint64_t total = 0;
	if (counts)
		memset(counts, 0, EMU_INV_COUNT * sizeof(counts[0]));
	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	for (unsigned i = 0; i < EMU_INV_COUNT; i++) {
		total += st->violations[i];
		if (counts)
			counts[i] = st->violations[i];
	}
	if (first)
		memcpy(first, st->first, (max < st->nr_first ? max : st->nr_first) * sizeof(*first));
	pthread_mutex_unlock(&st->lock);
	return total;
}

void emu_invariant_stats(struct emu *emu, struct emu_invariant_stats *out)
{
	struct inv_state *st = emu->inv;
	memset(out, 0, sizeof(*out));
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	uint64_t step = now(st);
	memcpy(out->checks, st->checks, sizeof(out->checks));
	memcpy(out->violations, st->violations, sizeof(out->violations));
	memcpy(out->expected, st->expected, sizeof(out->expected));
	memcpy(out->open, st->open, sizeof(out->open));
	memcpy(out->steps, st->steps, sizeof(out->steps));
	for (size_t i = 0; i < st->episodes.cap; i++) {
		const struct islot *s = &st->episodes.s[i];
		if (s->state == 1)
			out->steps[s->b & ~SGX_PAGE_MASK] += step - s->v;
	}
	pthread_mutex_unlock(&st->lock);
}

void emu_invariants_reset(struct emu *emu)
{
	struct inv_state *st = emu->inv;
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	free(st->episodes.s);
	memset(&st->episodes, 0, sizeof(st->episodes));
	memset(st->checks, 0, sizeof(st->checks));
	memset(st->violations, 0, sizeof(st->violations));
	memset(st->expected, 0, sizeof(st->expected));
	memset(st->open, 0, sizeof(st->open));
	memset(st->steps, 0, sizeof(st->steps));
	st->nr_first = 0;
	pthread_mutex_unlock(&st->lock);
}
