/* The CPU's symmetric keys: AES-CMAC and the derivations EINIT, EREPORT and
 * EGETKEY share (isa.md §4.4, §4.17). */
#ifndef SGX2EMU_HW_KEYS_H
#define SGX2EMU_HW_KEYS_H

#include "machine.h"

/* AES-128-CMAC of len bytes; 0 on success. */
int aes_cmac(const uint8_t key[16], const void *data, size_t len, uint8_t mac[16]);
/* Launch key (EINITTOKEN MACs) for a KEYID. */
void hw_launch_key(struct hw_machine *m, const uint8_t keyid[32], uint8_t key[16]);
/* Generic derivation: CMAC(root, label ‖ context) */
void hw_derive_key(const uint8_t root[16], const char *label, const void *context, size_t len, uint8_t key[16]);

#endif
