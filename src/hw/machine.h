/*
 * Internal state of the hardware model.  Only src/hw/ includes this file;
 * everything above the hardware layer goes through include/sgx2emu/hw.h.
 */
#ifndef SGX2EMU_HW_MACHINE_H
#define SGX2EMU_HW_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/evp.h>

#include "sgx2emu/hw.h"

#define HW_TLB_ENTRIES 64   /* direct-mapped, indexed by the low bits of the page number */

/* Hidden part of a SECS (enclave ID, measurement in progress, tracking).  It is
 * kept in a CPU-internal table keyed by EID rather than in the page itself, so
 * it survives EWB/ELDU of the SECS page: the sealed page carries the EID. */
struct hw_enclave {
	uint64_t eid;
	uint32_t secs_frame;     /* HW_NO_FRAME while the SECS is evicted */
	bool initialized;
	EVP_MD_CTX *measure;     /* MRENCLAVE in progress; NULL after EINIT */
	uint32_t children;       /* child pages (REG/TCS/TRIM) resident in EPC */
	/* ETRACK model (isa.md §4.6): each ETRACK starts epoch+1; LPs register the
	 * epoch they entered at. */
	uint64_t epoch;
	uint64_t tracked_epoch;  /* epoch started by the latest ETRACK, 0 = none yet */
	struct hw_enclave *next;
};

struct hw_tlb_entry {
	uint64_t vpn;            /* linear page number; UINT64_MAX = empty */
	uint8_t *host;           /* host address of the page (abort page for aborted accesses) */
	uint32_t frame;          /* EPC frame or HW_NO_FRAME */
	uint8_t prot;            /* HW_PROT_* granted by PTE ∩ EPCM at fill time */
	bool write_abort;        /* writes go to the LP's sink page */
};

struct hw_lp {
	struct hw_machine *m;
	unsigned id;
	struct hw_regs regs;
	struct hw_pagetable *pt;             /* CR3 */
	bool in_enclave;
	struct hw_enclave *encl;             /* CR_ACTIVE_SECS */
	uint64_t tcs_la;                     /* linear address of the current TCS */
	uint32_t tcs_frame;
	uint64_t entry_epoch;                /* tracking epoch the LP entered at */
	uint64_t outside_fsbase, outside_gsbase;
	uint8_t *ssa_last_page;              /* host address of the last page of SSA frame[CSSA],
					      * resolved and checked at entry as hardware does */
	atomic_int pending_interrupt;
	struct hw_tlb_entry tlb[HW_TLB_ENTRIES];
	struct hw_lp_stats stats;
	struct hw_why why;                   /* the check that decided the last outcome */
	uint8_t *sink_page;                  /* destination of aborted writes */
};

struct hw_machine {
	struct hw_config cfg;
	int epc_fd;
	uint8_t *epc;
	uint32_t nr_frames;
	struct hw_epcm_entry *epcm;
	struct hw_enclave **secs_state;      /* per frame: hidden state of a resident SECS */
	struct hw_enclave *enclaves;         /* all enclaves with hidden state, by EID */
	uint64_t next_eid;
	uint64_t next_version;               /* EWB version counter (never 0) */
	pthread_mutex_t lock;
	struct hw_lp *lps;
	unsigned nr_lps;
	uint8_t lepubkeyhash[32];
	uint8_t paging_key[16];              /* EWB/ELDU AES-GCM key */
	uint8_t report_key_root[16];         /* EREPORT/EGETKEY derivation root */
	uint8_t seal_key_root[16];
	uint8_t cpusvn[16];
	uint8_t *abort_page;                 /* all-ones, read-only */
	/* measurement (observe.c), under lock */
	uint64_t nr_encls[SGX_ENCLS_LEAF_COUNT];
	uint64_t nr_enclu[SGX_ENCLU_LEAF_COUNT];
	/* obs[0]: hw_set_observer's slot; the rest: hw_add_observer.  The
	 * flags say whether any observer has that callback. */
	struct hw_observer obs[HW_MAX_OBSERVERS];
	bool obs_access, obs_leaf, obs_ipi;
};

/* Locking: every leaf and every TLB fill runs under m->lock. */
void hw_lock(struct hw_machine *m);
void hw_unlock(struct hw_machine *m);

/* EPC frames */
static inline uint8_t *epc_page_ptr(const struct hw_machine *m, uint32_t frame)
{
	return m->epc + (uint64_t)frame * SGX_PAGE_SIZE;
}
uint32_t epc_frame(const struct hw_machine *m, uint64_t host_address);
static inline struct hw_epcm_entry *epcm_of(struct hw_machine *m, uint32_t frame)
{
	return &m->epcm[frame];
}
/* The hidden SECS state of the enclave owning an EPCM entry (NULL if none). */
struct hw_enclave *enclave_of_secs(struct hw_machine *m, uint32_t secs_frame);
struct hw_enclave *enclave_by_eid(struct hw_machine *m, uint64_t eid);
struct hw_enclave *enclave_new(struct hw_machine *m, uint32_t secs_frame);
void enclave_free(struct hw_machine *m, struct hw_enclave *e);
static inline struct sgx_secs *secs_page(struct hw_machine *m, const struct hw_enclave *e)
{
	return (struct sgx_secs *)epc_page_ptr(m, e->secs_frame);
}
static inline bool in_elrange(const struct sgx_secs *secs, uint64_t la)
{
	return la >= secs->base && la - secs->base < secs->size;
}

#include "measure.h"

/* Tracking (isa.md §4.6) */
bool tracking_cycle_complete(struct hw_machine *m, const struct hw_enclave *e);
/* Has a completed ETRACK cycle closed epoch `since` (recorded by EBLOCK/EMODPR/EMODT)? */
bool tracking_done_since(struct hw_machine *m, const struct hw_enclave *e, uint64_t since);
bool enclave_has_lp_inside(struct hw_machine *m, const struct hw_enclave *e);

/* Translation through the LP's page table (no EPCM check).  Fills *host and
 * *frame, or returns an ordinary #PF (error code without SGX_PFEC_SGX). */
struct sgx_result lp_translate(struct hw_lp *lp, uint64_t la, enum hw_access kind, uint8_t **host,
			       uint32_t *frame);
void lp_tlb_flush(struct hw_lp *lp);
/* Set the accessed bit of the entry a walk for la used (pagetable.c): a TLB
 * fill in hw_lp_access and the ENCLU operands (ENCLAVE_OPERAND) do; plain
 * lp_translate does not, since the TLB-hit stale check uses it too. */
void pt_mark_accessed(struct hw_pagetable *pt, uint64_t la);
/* observe.c: hand an event to the observer, if one is set (m->lock held). */
void observe_access(struct hw_lp *lp, uint64_t la, enum hw_access kind, const uint8_t *page, bool tlb_hit,
		    bool stale);
/* An interrupt posted to lp in enclave mode (m->lock held). */
void observe_ipi(struct hw_lp *lp);
void observe_leaf(struct hw_lp *lp, bool encls, uint32_t leaf, bool after, struct sgx_result r, uint64_t rbx,
		  uint64_t rcx, uint64_t rdx);
/* Take pending interrupt / flush requests; returns the AEX result if one happened. */
struct sgx_result lp_service(struct hw_lp *lp);

/* AEX (isa.md §3.3): save state to SSA[CSSA], load synthetic state, leave the
 * enclave.  `exc` is the exception (SGX_VEC_NONE for an interrupt).  Returns
 * the exception as the OS sees it (CR2 page-masked) with aex = true. */
struct sgx_result hw_aex(struct hw_lp *lp, struct sgx_result exc);

/* Sealing of evicted pages (EWB/ELDB/ELDU, seal.c).  The MAC binds the page,
 * PCMD bytes 0..111 (SECINFO, ENCLAVEID, reserved) and linaddr; the IV comes
 * from version.  Return 0, -EBADMSG (unseal: MAC mismatch) or -ENOMEM. */
int seal_page(struct hw_machine *m, uint64_t version, const struct sgx_pcmd *pcmd, uint64_t linaddr,
	      const uint8_t *plain, uint8_t *cipher, uint8_t mac[16]);
int unseal_page(struct hw_machine *m, uint64_t version, const struct sgx_pcmd *pcmd, uint64_t linaddr,
		const uint8_t *cipher, uint8_t *plain, const uint8_t mac[16]);

/* Leaf functions: one file each under src/hw/encls and src/hw/enclu. */
typedef struct sgx_result (*hw_leaf_fn)(struct hw_lp *lp, uint64_t rbx, uint64_t rcx, uint64_t rdx);
#define LEAF(name) struct sgx_result name(struct hw_lp *lp, uint64_t rbx, uint64_t rcx, uint64_t rdx)
LEAF(encls_ecreate); LEAF(encls_eadd); LEAF(encls_einit); LEAF(encls_eremove);
LEAF(encls_edbgrd); LEAF(encls_edbgwr); LEAF(encls_eextend); LEAF(encls_eldb);
LEAF(encls_eldu); LEAF(encls_eblock); LEAF(encls_epa); LEAF(encls_ewb);
LEAF(encls_etrack); LEAF(encls_eaug); LEAF(encls_emodpr); LEAF(encls_emodt);
LEAF(enclu_ereport); LEAF(enclu_egetkey); LEAF(enclu_eenter); LEAF(enclu_eresume);
LEAF(enclu_eexit); LEAF(enclu_eaccept); LEAF(enclu_emodpe); LEAF(enclu_eacceptcopy);

#endif
