/*
 * Kernel permission policies (../shared/spec/policies.md): the designs of the
 * 2021–22 debate, selectable per run (emu_config) and per enclave (the
 * SGX2EMU_IOC_SET_POLICY extension ioctl, before CREATE), plus switches that
 * combine with any policy.  Extension ioctls use numbers of sgx2emu's own on
 * the SGX magic, above the upstream range 0x00–0x07.
 */
#ifndef SGX2EMU_POLICY_H
#define SGX2EMU_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/ioctl.h>

#include <asm/sgx.h>

#ifdef __cplusplus
extern "C" {
#endif

enum emu_policy {
	EMU_POLICY_UPSTREAM = 0,        /* merged, Linux >= 6.0 */
	EMU_POLICY_SGX1,                /* pre-SGX2 driver: no EAUG, SGX2 ioctls ENODEV */
	EMU_POLICY_V1,                  /* seed 001 (Dec 2021): MODP always EMODPR */
	EMU_POLICY_V2,                  /* seed 000 (Feb 2022): vm_run_prot_bits, RELAX */
	EMU_POLICY_RESET,               /* seed 004: RESET = EMODPR to none */
	EMU_POLICY_MPROTECT_EMODPR,     /* seed 003/004: mprotect runs EMODPR */
	EMU_POLICY_COUNT
};

struct emu_switches {
	bool augment;                   /* SGX2EMU_IOC_AUGMENT_PAGES available */
	bool populate_on_mmap;          /* MAP_POPULATE on the device EAUGs the mapped holes */
	bool etrack_per_ioctl;          /* one ETRACK + IPI round per ioctl, not per page */
	unsigned fault_around;          /* EAUG up to N pages per fault (0 or 1 = one page) */
};

/* "upstream", "sgx1", "v1", "v2", "reset", "mprotect-emodpr" */
const char *emu_policy_name(enum emu_policy p);
int emu_policy_from_name(const char *name, enum emu_policy *out);  /* 0 or -1 */

/* Extension ioctls (docs/driver.md "Policies").  One a policy lacks is
 * ENOTTY, like an unknown command. */
/* Before CREATE only (EINVAL after, or for an unknown policy, unknown switch
 * bits, fault_around > 512); emu_create applies the same limits to emu_config. */
struct sgx2emu_set_policy {
	uint64_t policy;                /* enum emu_policy */
	uint64_t switches;              /* SGX2EMU_SW_* bits */
	uint64_t fault_around;          /* as emu_switches.fault_around, at most 512 */
};
#define SGX2EMU_SW_AUGMENT          0x1ull
#define SGX2EMU_SW_POPULATE         0x2ull
#define SGX2EMU_SW_ETRACK_PER_IOCTL 0x4ull

/* v2: RELAX_PERMISSIONS (seed 000): new ⊆ max else EPERM; run ← new; PTEs
 * zapped; no ENCLS, no EACCEPT.  Only under EMU_POLICY_V2, else ENOTTY. */
struct sgx2emu_relax_permissions {
	uint64_t offset;
	uint64_t length;
	uint64_t permissions;
	uint64_t count;                 /* out */
};
/* v1: MODIFY_PERMISSIONS (seed 001 "MODP"): EMODPR to exactly `permissions`
 * (restricting and relaxing both set PR and need EACCEPT).  Only under V1. */
struct sgx2emu_modify_permissions {
	uint64_t offset;
	uint64_t length;
	uint64_t permissions;
	uint64_t result;                /* out */
	uint64_t count;                 /* out */
};
/* reset: RESET_PERMISSIONS (seed 004): EMODPR to no permissions + ETRACK + IPI. */
struct sgx2emu_reset_permissions {
	uint64_t offset;
	uint64_t length;
	uint64_t result;                /* out */
	uint64_t count;                 /* out */
};
/* AUGMENT_PAGES (Jarkko's RFC): EAUG a range of holes in one call; pages
 * that exist are skipped (and counted); no PTE is installed.  Only with the
 * augment switch, else ENOTTY. */
struct sgx2emu_augment_pages {
	uint64_t offset;
	uint64_t length;
	uint64_t count;                 /* out */
};

#define SGX2EMU_IOC_SET_POLICY          _IOW(SGX_MAGIC, 0x80, struct sgx2emu_set_policy)
#define SGX2EMU_IOC_RELAX_PERMISSIONS   _IOWR(SGX_MAGIC, 0x81, struct sgx2emu_relax_permissions)
#define SGX2EMU_IOC_MODIFY_PERMISSIONS  _IOWR(SGX_MAGIC, 0x82, struct sgx2emu_modify_permissions)
#define SGX2EMU_IOC_RESET_PERMISSIONS   _IOWR(SGX_MAGIC, 0x83, struct sgx2emu_reset_permissions)
#define SGX2EMU_IOC_AUGMENT_PAGES       _IOWR(SGX_MAGIC, 0x84, struct sgx2emu_augment_pages)

#ifdef __cplusplus
}
#endif
#endif
