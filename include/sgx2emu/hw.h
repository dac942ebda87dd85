/*
 * sgx2emu hardware model: EPC, EPCM, logical processors with TLBs, page tables
 * and the ENCLS/ENCLU leaves (see docs/hardware.md and ../shared/spec/isa.md).
 *
 * Addresses.  Host memory is the model's "physical" memory: a page-table entry
 * holds the host address of the page it maps, and the EPC is one host mapping
 * of a memfd.  ENCLS runs at CPL 0, so its operands are host addresses (the
 * kernel's linear map): an operand "resolves to EPC" when it points into
 * hw_epc_base()..+hw_epc_size().  ENCLU and enclave accesses run at CPL 3 and
 * use enclave linear addresses that are translated through the LP's page table.
 *
 * Concurrency.  Leaves and accesses are serialized by one machine lock, so
 * SGX_EPC_PAGE_CONFLICT / SGX_ENTRYEPOCH_LOCKED never arise.  A TLB hit is
 * also checked against the current PTE ∩ EPCM, only to count stale hits
 * (hw_lp_stats); the access still goes through, as on hardware.  An
 * interrupt posted to another LP is taken at that LP's next leaf or access
 * (an instruction boundary).
 */
#ifndef SGX2EMU_HW_H
#define SGX2EMU_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sgx2emu/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HW_MAX_LPS 64
#define HW_MAX_EPC_SECTIONS 8
#define HW_NO_FRAME UINT32_MAX

struct hw_config {
	uint64_t epc_bytes;        /* total EPC, a multiple of 4 KiB (default 64 MiB) */
	unsigned epc_sections;     /* EPC split into this many equal sections (default 1) */
	unsigned nr_lps;           /* logical processors (default 4) */
	bool sgx1_only;            /* clear CPUID.12H.0:EAX[1]: SGX2 leaves raise #UD-equivalent #GP */
	uint64_t seed;             /* derives the CPU's keys: same seed, same sealed blobs */
	uint32_t miscselect_supported; /* CPUID.12H.0:EBX (default: EXINFO) */
	uint64_t attributes_supported; /* CPUID.12H.1:EAX..EBX (default: DEBUG|MODE64BIT|PROVISIONKEY|EINITTOKENKEY|KSS) */
	uint64_t xfrm_supported;   /* CPUID.12H.1:ECX..EDX (default: x87|SSE = 3) */
};

struct hw_machine;
struct hw_lp;
struct hw_pagetable;

/* Outcome of a leaf or of an access.  Exactly one of: a fault (vector != NONE),
 * a return code (zf or cf set, rax = code), or success (rax = 0, flags clear). */
struct sgx_result {
	uint8_t vector;        /* enum sgx_vector; SGX_VEC_NONE when no fault */
	bool aex;              /* the LP left the enclave through an AEX */
	uint32_t error_code;   /* #PF error code (with SGX_PFEC_SGX for EPCM faults), #GP: 0 */
	uint64_t address;      /* #PF linear address as the faulting code saw it */
	uint64_t rax;          /* return code, or leaf output in RAX */
	uint64_t rbx;          /* ENCLS: RBX after the leaf (EDBGRD's data), read under the
				* machine lock so callers sharing an LP do not race on it */
	bool zf, cf;
};

static inline bool sgx_ok(struct sgx_result r)
{
	return r.vector == SGX_VEC_NONE && !r.zf && !r.cf && r.rax == 0;
}

/* One EPCM entry (isa.md §2.1) plus the model's tracking fields. */
struct hw_epcm_entry {
	bool valid, r, w, x, pending, modified, pr, blocked;
	uint8_t pt;
	uint32_t secs;             /* ENCLAVESECS: frame of the owning SECS, HW_NO_FRAME if none */
	uint64_t enclave_address;  /* ENCLAVEADDRESS */
	uint64_t bepoch;           /* model: tracking epoch when blocked / modified */
};

/* Machine */
void hw_config_defaults(struct hw_config *cfg);
struct hw_machine *hw_machine_create(const struct hw_config *cfg); /* NULL + errno on failure */
void hw_machine_destroy(struct hw_machine *m);
const struct hw_config *hw_machine_config(const struct hw_machine *m);
void hw_cpuid(struct hw_machine *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* IA32_SGXLEPUBKEYHASH0..3 (flexible launch control: writable by the OS) */
void hw_set_lepubkeyhash(struct hw_machine *m, const uint8_t hash[32]);

/* EPC */
uint8_t *hw_epc_base(const struct hw_machine *m);
uint64_t hw_epc_size(const struct hw_machine *m);
uint32_t hw_epc_frames(const struct hw_machine *m);
int hw_epc_memfd(const struct hw_machine *m);
uint8_t *hw_epc_page(const struct hw_machine *m, uint32_t frame);
uint32_t hw_epc_frame_of(const struct hw_machine *m, uint64_t host_address); /* HW_NO_FRAME if not EPC */
bool hw_epcm_read(const struct hw_machine *m, uint32_t frame, struct hw_epcm_entry *out);
/* SECS hidden state, for inspection: enclave ID, initialized flag, tracking epochs. */
bool hw_secs_info(const struct hw_machine *m, uint32_t secs_frame, uint64_t *eid, bool *initialized,
		  uint64_t *epoch, uint64_t *tracked_epoch);
/* Model housekeeping, no hardware counterpart: the OS dropped the sealed blob
 * of an evicted SECS (enclave released while its SECS was out of the EPC), so
 * the enclave's hidden state (kept by EID, see src/hw/machine.h) can never be
 * reloaded and is freed.  Returns false if eid is unknown or its SECS is
 * resident (EREMOVE frees that one). */
bool hw_discard_evicted_secs(struct hw_machine *m, uint64_t eid);
/* Enclaves whose hidden SECS state the model holds (resident or evicted). */
unsigned hw_nr_enclaves(struct hw_machine *m);

/* Page tables: 4-level radix tree, x86 PTE bits.  The host address of the mapped
 * page plays the physical address.  Changing a PTE does not flush any TLB. */
#define HW_PROT_R 1u
#define HW_PROT_W 2u
#define HW_PROT_X 4u
struct hw_pagetable *hw_pt_create(void);
void hw_pt_destroy(struct hw_pagetable *pt);
int hw_pt_map(struct hw_pagetable *pt, uint64_t la, void *host_page, unsigned prot); /* 0 or -errno */
int hw_pt_protect(struct hw_pagetable *pt, uint64_t la, unsigned prot);             /* 0 or -ENOENT */
void hw_pt_unmap(struct hw_pagetable *pt, uint64_t la);
/* Returns true and fills host/prot when la is mapped. */
bool hw_pt_lookup(const struct hw_pagetable *pt, uint64_t la, void **host_page, unsigned *prot);
size_t hw_pt_bytes(const struct hw_pagetable *pt);
/* The first page at or after *la, below end, whose entry holds a page (mapped,
 * or kept without rights by hw_pt_protect(.., 0)): true and *la set to it. */
bool hw_pt_next(const struct hw_pagetable *pt, uint64_t *la, uint64_t end);
/* The accessed bit (x86 PTE bit 5): set by an LP's page walk when it
 * translates la (a TLB hit does not walk), kept by hw_pt_protect, cleared by
 * mapping anew.  test_and_clear: was the present entry at la accessed since
 * the last call?  It does not flush any TLB (ptep_test_and_clear_young). */
bool hw_pt_test_and_clear_young(struct hw_pagetable *pt, uint64_t la);
bool hw_pt_young(const struct hw_pagetable *pt, uint64_t la);
/* Called after every hw_pt_map, hw_pt_protect and hw_pt_unmap of la, and
 * after hw_pt_test_and_clear_young cleared a set accessed bit, on the thread
 * that made the change (with whatever locks it holds): how native execution
 * keeps the host MMU in step with the model's page tables (a host mapping
 * must fault again for the next access to set A).  One notifier per table;
 * NULL fn removes it, keeping ctx for a call already under way.  Costs a
 * load when none is set. */
typedef void (*hw_pt_notify_fn)(void *ctx, uint64_t la);
void hw_pt_set_notifier(struct hw_pagetable *pt, hw_pt_notify_fn fn, void *ctx);

/* Logical processors */
struct hw_regs {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rflags, rip, fsbase, gsbase;
};
#define HW_RFLAGS_CF 0x001ull
#define HW_RFLAGS_PF 0x004ull
#define HW_RFLAGS_AF 0x010ull
#define HW_RFLAGS_ZF 0x040ull
#define HW_RFLAGS_SF 0x080ull
#define HW_RFLAGS_OF 0x800ull

struct hw_lp_stats {
	uint64_t tlb_hits, tlb_misses, tlb_flushes;
	uint64_t stale_tlb_hits;   /* a TLB hit that the current PTE ∩ EPCM would refuse */
	uint64_t aex, interrupts;
};

unsigned hw_nr_lps(const struct hw_machine *m);
struct hw_lp *hw_lp_get(struct hw_machine *m, unsigned index);
unsigned hw_lp_id(const struct hw_lp *lp);
struct hw_regs *hw_lp_regs(struct hw_lp *lp);
void hw_lp_set_pagetable(struct hw_lp *lp, struct hw_pagetable *pt); /* CR3 write: flushes the TLB */
bool hw_lp_in_enclave(const struct hw_lp *lp);
uint32_t hw_lp_secs_frame(const struct hw_lp *lp);   /* CR_ACTIVE_SECS, HW_NO_FRAME outside */
uint64_t hw_lp_tcs(const struct hw_lp *lp);          /* linear address of the current TCS */
const struct hw_lp_stats *hw_lp_stats(const struct hw_lp *lp);
void hw_lp_invlpg(struct hw_lp *lp, uint64_t la);
void hw_lp_flush_tlb(struct hw_lp *lp);

/* Interrupts (the OS's IPI).  post: set pending, taken at the LP's next
 * instruction boundary.  interrupt: post and take it now (caller drives the LP).
 * Taking an interrupt inside an enclave is an AEX. */
void hw_lp_post_interrupt(struct hw_lp *lp);
struct sgx_result hw_lp_interrupt(struct hw_lp *lp);
/* An IPI from another thread: an LP outside enclave mode takes it at once
 * (TLB flushed, returns true); an LP in enclave mode gets it posted and takes
 * it (AEX) at its next instruction boundary on its own thread (returns false;
 * poll hw_lp_interrupt_pending to wait). */
bool hw_lp_send_ipi(struct hw_lp *lp);
bool hw_lp_interrupt_pending(const struct hw_lp *lp);
/* A posted IPI is still owed: the LP is in enclave mode and has not taken it
 * yet.  Once false, the LP has left the enclave since the IPI (AEX or EEXIT):
 * what the OS waits for after an IPI.  Reads the LP's state under the machine
 * lock, so another thread may poll it. */
bool hw_lp_ipi_outstanding(struct hw_lp *lp);

/* Leaves: operands as in RBX, RCX, RDX; results also written to the LP's RAX,
 * RFLAGS (and RBX for EDBGRD, RCX for EENTER/ERESUME/EEXIT). */
struct sgx_result hw_encls(struct hw_lp *lp, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx);
struct sgx_result hw_enclu(struct hw_lp *lp, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx);
const char *hw_encls_name(uint32_t leaf);
const char *hw_enclu_name(uint32_t leaf);
const char *hw_rc_name(uint64_t rc);

/* Memory access by an LP at linear address la.  On success *host points at the
 * byte to use (for a non-enclave access to EPC: the abort page — reads give
 * all-ones, writes go nowhere).  A fault inside an enclave is an AEX. */
enum hw_access { HW_READ = 0, HW_WRITE = 1, HW_FETCH = 2 };
struct sgx_result hw_lp_access(struct hw_lp *lp, uint64_t la, enum hw_access kind, uint8_t **host);
struct sgx_result hw_lp_read(struct hw_lp *lp, uint64_t la, void *buf, size_t len);
struct sgx_result hw_lp_write(struct hw_lp *lp, uint64_t la, const void *buf, size_t len);
/* An exception raised by the code the LP runs (vector, error code, CR2), for
 * code the model does not execute itself, e.g. #UD for model-mode enclave code
 * with nothing registered at its entry.  Inside an enclave it is an AEX. */
struct sgx_result hw_lp_exception(struct hw_lp *lp, uint8_t vector, uint32_t error_code, uint64_t address);
/* The rights (HW_PROT_*) an access by lp to the page of la would be granted
 * now, from the page table and, in enclave mode inside ELRANGE, the EPCM:
 * what hw_lp_access would put in a fresh TLB entry, without touching the
 * TLB, the accessed bit, the LP's registers or its hw_lp_why.  0 when no
 * access would succeed.  *frame (may be NULL): the EPC frame the page table
 * maps la to, HW_NO_FRAME if none.  Native execution maps pages into the
 * host with exactly these rights. */
unsigned hw_lp_rights(struct hw_lp *lp, uint64_t la, uint32_t *frame);

/* Inspection.  Real hardware shows none of this; explaining a failed EACCEPT
 * is one reason sgx2emu exists. */
/* One frame's EPCM entry as a line of text; returns what snprintf returns. */
int hw_epcm_format(const struct hw_machine *m, uint32_t frame, char *buf, size_t len);
/* The check that decided the LP's last leaf or access outcome: the leaf or
 * access kind, the source place of the check (one line per SDM check), and
 * the condition that did not hold.  check is NULL after a success. */
struct hw_why {
	const char *what;    /* "EACCEPT", "ENCLS", "read access", ... */
	const char *file;
	int line;
	const char *check;
};
const struct hw_why *hw_lp_why(const struct hw_lp *lp);
/* "EACCEPT: SGX_PAGE_ATTRIBUTES_MISMATCH (19), decided by eaccept.c:61 (...)"
 * for an outcome r of this LP; returns what snprintf returns. */
int hw_explain(const struct hw_lp *lp, struct sgx_result r, char *buf, size_t len);
/* A short text for an outcome: "ok", "#GP(0)", "#PF(0x..., ec 0x8005)", "RC 19 SGX_...". */
int hw_result_format(struct sgx_result r, char *buf, size_t len);

/*
 * Measurement (no hardware counterpart; src/hw/observe.c).  Leaf counts are
 * instructions executed with a defined leaf number, whatever their outcome
 * (a fault, an error code), not counting one pre-empted by a pending
 * interrupt.  The LP statistics are summed over all LPs.  Read under the
 * machine lock; monotonic since hw_machine_create.
 */
struct hw_counters {
	uint64_t encls[SGX_ENCLS_LEAF_COUNT];
	uint64_t enclu[SGX_ENCLU_LEAF_COUNT];
	uint64_t tlb_flushes, stale_tlb_hits, aex, interrupts;
};
void hw_counters_read(struct hw_machine *m, struct hw_counters *out);

/*
 * An observer sees every successful memory access and every leaf, for the
 * invariant checks above the model.  Callbacks run under the machine lock on
 * the thread of the LP: they must not call hw functions that take it
 * (hw_epcm_read, hw_encls, ...); hw_pt_lookup, hw_epc_page and the event's
 * pointers are fine.  Costs nothing while no observer is set.
 */
struct hw_access_event {
	struct hw_lp *lp;
	const struct hw_pagetable *pt;      /* the LP's CR3 */
	uint64_t la;
	enum hw_access kind;
	const uint8_t *page;                /* host page the access reached (abort/sink page for EPC
					     * outside its enclave) */
	uint32_t frame;                     /* EPC frame of page, HW_NO_FRAME */
	const struct hw_epcm_entry *epcm;   /* its entry now, NULL when not EPC */
	uint32_t secs_frame;                /* CR_ACTIVE_SECS, HW_NO_FRAME outside enclave mode */
	const struct sgx_secs *secs;        /* that SECS, NULL outside enclave mode */
	bool tlb_hit;
	bool stale;                         /* a TLB hit the current PTE ∩ EPCM would refuse */
};
struct hw_leaf_event {
	struct hw_lp *lp;
	bool encls;
	uint32_t leaf;
	bool after;                         /* false: about to run; true: ran, outcome in r */
	struct sgx_result r;
	uint64_t rbx, rcx, rdx;
	/* The EPC page operand: RCX for ENCLS, the page at linear address RCX
	 * for EACCEPT/EMODPE/EACCEPTCOPY; HW_NO_FRAME when there is none. */
	uint32_t frame;
	const struct hw_epcm_entry *epcm;   /* its entry now, NULL when frame is none */
	uint64_t eid;                       /* enclave owning it (a SECS: its own), 0 if none */
};
struct hw_observer {
	void *ctx;
	void (*access)(void *ctx, const struct hw_access_event *ev);
	void (*leaf)(void *ctx, const struct hw_leaf_event *ev);
	/* An interrupt was posted to lp, which is in enclave mode and takes it
	 * at its next instruction boundary (hw_lp_send_ipi returned false).
	 * Native execution turns this into a signal to the host thread that
	 * runs lp's enclave code, since that code never reaches a boundary
	 * of the model by itself. */
	void (*ipi)(void *ctx, struct hw_lp *lp);
};
/* Up to HW_MAX_OBSERVERS observers at once, each called in the order added.
 * hw_set_observer owns one slot of its own (the invariant checks use it):
 * it replaces what that slot held (NULL: empties it) and leaves the others.
 * hw_add_observer returns 0 or -ENOSPC; hw_remove_observer removes the
 * observer with the same ctx and callbacks. */
#define HW_MAX_OBSERVERS 4
void hw_set_observer(struct hw_machine *m, const struct hw_observer *obs);
int hw_add_observer(struct hw_machine *m, const struct hw_observer *obs);
void hw_remove_observer(struct hw_machine *m, const struct hw_observer *obs);

#ifdef __cplusplus
}
#endif
#endif
