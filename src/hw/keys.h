/* The CPU's symmetric keys: AES-CMAC and the derivations EINIT, EREPORT and
 * EGETKEY share (isa.md §4.4, §4.17).  The derivation itself is model-specific:
 * see keys.c. */
#ifndef SGX2EMU_HW_KEYS_H
#define SGX2EMU_HW_KEYS_H

#include "machine.h"

/* AES-128-CMAC of len bytes; 0 on success. */
int aes_cmac(const uint8_t key[16], const void *data, size_t len, uint8_t mac[16]);
/* Launch key (EINITTOKEN MACs) for a KEYID: EINIT checks tokens with it and
 * EGETKEY(EINITTOKEN) hands it to launch enclaves. */
void hw_launch_key(struct hw_machine *m, const uint8_t keyid[32], uint8_t key[16]);
/* Generic derivation: CMAC(root, label ‖ context) */
void hw_derive_key(const uint8_t root[16], const char *label, const void *context, size_t len, uint8_t key[16]);

/* What a key is derived from (the SDM's TMP_KEYDEPENDENCIES; fields a key
 * does not depend on are zero).  Model layout, never software visible. */
struct hw_key_deps {
	uint16_t keyname;
	uint16_t keypolicy;
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint16_t config_svn;
	uint8_t reserved[2];
	uint32_t miscselect;
	uint32_t miscmask;
	uint8_t cpusvn[16];
	struct sgx_attributes attributes;
	struct sgx_attributes attributes_mask;
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint8_t keyid[32];
	uint8_t config_id[64];
	uint8_t isvfamilyid[16];
	uint8_t isvextprodid[16];
} __attribute__((packed));

/* EGETKEY's keys (SEAL, PROVISION, PROVISION_SEAL, REPORT) from their
 * dependencies; the root is chosen by deps->keyname. */
void hw_derive_enclave_key(struct hw_machine *m, const struct hw_key_deps *deps, uint8_t key[16]);
/* CR_REPORT_KEYID: the value EREPORT puts in REPORT.KEYID. */
void hw_report_keyid(struct hw_machine *m, uint8_t keyid[32]);
/* The report key of the enclave with this identity: EREPORT takes it from
 * TARGETINFO, EGETKEY(REPORT) from the caller's SECS, so they agree. */
void hw_report_key(struct hw_machine *m, const uint8_t mrenclave[32], const struct sgx_attributes *attributes,
		   uint32_t miscselect, const uint8_t config_id[64], uint16_t config_svn, const uint8_t keyid[32],
		   uint8_t key[16]);
/* Is a requested CPUSVN beyond this CPU's?  Any component (byte) newer. */
bool hw_cpusvn_beyond(const struct hw_machine *m, const uint8_t cpusvn[16]);

/*
 * A memory operand of EREPORT / EGETKEY (enclave mode): aligned and inside
 * ELRANGE (#GP), mapped with the access the leaf makes (ordinary #PF), and a
 * valid, unblocked, accepted REG page of the current enclave at that address
 * with R (inputs) or W (outputs) in the EPCM (#PF, P|U|SGX).  Declares
 * `host`, the operand's host pointer.
 */
#define KEY_LEAF_OPERAND(host, la, alignment, kind) \
	REQUIRE(aligned((la), (alignment)), GP0); \
	REQUIRE(in_elrange(current_secs(lp), (la)), GP0); \
	ENCLAVE_OPERAND(host, host##_frame_, (la), (kind)); \
	REQUIRE(epcm_usable_reg(lp, host##_frame_, (la), (kind) == HW_READ, (kind) == HW_WRITE), PF(la))

#endif
