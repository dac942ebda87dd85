/*
 * Architectural constants and byte layouts of SGX (Intel SDM Vol. 3D, ch. 34-38;
 * see ../shared/spec/isa.md §1-§2). Every layout is pinned by static assertions
 * so that a structure can be read straight out of enclave or EPC memory.
 */
#ifndef SGX2EMU_ARCH_H
#define SGX2EMU_ARCH_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define SGX_PAGE_SIZE 4096ULL
#define SGX_PAGE_MASK (~(SGX_PAGE_SIZE - 1))

/* ENCLS leaves (EAX) */
enum sgx_encls_leaf {
	SGX_ECREATE = 0x00, SGX_EADD = 0x01, SGX_EINIT = 0x02, SGX_EREMOVE = 0x03,
	SGX_EDBGRD = 0x04, SGX_EDBGWR = 0x05, SGX_EEXTEND = 0x06, SGX_ELDB = 0x07,
	SGX_ELDU = 0x08, SGX_EBLOCK = 0x09, SGX_EPA = 0x0A, SGX_EWB = 0x0B,
	SGX_ETRACK = 0x0C, SGX_EAUG = 0x0D, SGX_EMODPR = 0x0E, SGX_EMODT = 0x0F,
	SGX_ENCLS_LEAF_COUNT
};

/* ENCLU leaves (EAX) */
enum sgx_enclu_leaf {
	SGX_EREPORT = 0, SGX_EGETKEY = 1, SGX_EENTER = 2, SGX_ERESUME = 3,
	SGX_EEXIT = 4, SGX_EACCEPT = 5, SGX_EMODPE = 6, SGX_EACCEPTCOPY = 7,
	SGX_ENCLU_LEAF_COUNT
};

/* EPCM.PT and SECINFO.FLAGS[15:8] */
enum sgx_page_type {
	SGX_PT_SECS = 0, SGX_PT_TCS = 1, SGX_PT_REG = 2, SGX_PT_VA = 3,
	SGX_PT_TRIM = 4, SGX_PT_SS_FIRST = 5, SGX_PT_SS_REST = 6,
};

/* Return / information codes in EAX (isa.md §1.3) */
enum sgx_return_code {
	SGX_SUCCESS = 0,
	SGX_INVALID_SIG_STRUCT = 1,
	SGX_INVALID_ATTRIBUTE = 2,
	SGX_BLKSTATE = 3,
	SGX_INVALID_MEASUREMENT = 4,
	SGX_NOTBLOCKABLE = 5,
	SGX_PG_INVLD = 6,
	SGX_EPC_PAGE_CONFLICT = 7,
	SGX_INVALID_SIGNATURE = 8,
	SGX_MAC_COMPARE_FAIL = 9,
	SGX_PAGE_NOT_BLOCKED = 10,
	SGX_NOT_TRACKED = 11,
	SGX_VA_SLOT_OCCUPIED = 12,
	SGX_CHILD_PRESENT = 13,
	SGX_ENCLAVE_ACT = 14,
	SGX_ENTRYEPOCH_LOCKED = 15,
	SGX_INVALID_EINITTOKEN = 16,
	SGX_PREV_TRK_INCMPL = 17,
	SGX_PG_IS_SECS = 18,
	SGX_PAGE_ATTRIBUTES_MISMATCH = 19,
	SGX_PAGE_NOT_MODIFIABLE = 20,
	SGX_PAGE_NOT_DEBUGGABLE = 21,
	SGX_INVALID_CPUSVN = 32,
	SGX_INVALID_ISVSVN = 64,
	SGX_UNMASKED_EVENT = 128,
	SGX_INVALID_KEYNAME = 256,
};

/* x86 exception vectors an SGX leaf or an enclave access can raise */
enum sgx_vector {
	SGX_VEC_DE = 0, SGX_VEC_DB = 1, SGX_VEC_BP = 3, SGX_VEC_UD = 6, SGX_VEC_NM = 7, SGX_VEC_NP = 11,
	SGX_VEC_SS = 12, SGX_VEC_GP = 13,
	SGX_VEC_PF = 14, SGX_VEC_MF = 16, SGX_VEC_AC = 17, SGX_VEC_XM = 19,
	SGX_VEC_NONE = 0xff,
};

/* #PF error code bits (Linux arch/x86/include/asm/trap_pf.h) */
#define SGX_PFEC_P    0x0001u
#define SGX_PFEC_W    0x0002u
#define SGX_PFEC_U    0x0004u
#define SGX_PFEC_RSVD 0x0008u
#define SGX_PFEC_I    0x0010u
#define SGX_PFEC_PK   0x0020u
#define SGX_PFEC_SGX  0x8000u

/* SECINFO.FLAGS */
#define SGX_SECINFO_R          0x001ULL
#define SGX_SECINFO_W          0x002ULL
#define SGX_SECINFO_X          0x004ULL
#define SGX_SECINFO_PENDING    0x008ULL
#define SGX_SECINFO_MODIFIED   0x010ULL
#define SGX_SECINFO_PR         0x020ULL
#define SGX_SECINFO_RWX        0x007ULL
#define SGX_SECINFO_PT_SHIFT   8
#define SGX_SECINFO_PT_MASK    0xFF00ULL
#define SGX_SECINFO_PT(t)      ((uint64_t)(t) << SGX_SECINFO_PT_SHIFT)
#define SGX_SECINFO_RESERVED   (~(SGX_SECINFO_RWX | SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED | \
				  SGX_SECINFO_PR | SGX_SECINFO_PT_MASK))

/* SECS.ATTRIBUTES.FLAGS */
#define SGX_ATTR_INIT           0x001ULL
#define SGX_ATTR_DEBUG          0x002ULL
#define SGX_ATTR_MODE64BIT      0x004ULL
#define SGX_ATTR_PROVISIONKEY   0x010ULL
#define SGX_ATTR_EINITTOKENKEY  0x020ULL
#define SGX_ATTR_CET            0x040ULL
#define SGX_ATTR_KSS            0x080ULL
#define SGX_ATTR_AEXNOTIFY      0x400ULL

/* SECS.MISCSELECT */
#define SGX_MISC_EXINFO 0x1u

/* TCS.FLAGS */
#define SGX_TCS_DBGOPTIN 0x1ULL

/* EXITINFO */
#define SGX_EXITINFO_VECTOR_MASK 0xffu
#define SGX_EXITINFO_TYPE_SHIFT  8
#define SGX_EXITINFO_TYPE_HW     3u
#define SGX_EXITINFO_TYPE_SW     6u
#define SGX_EXITINFO_VALID       0x80000000u

/* KEYREQUEST.KEYNAME and KEYPOLICY */
enum sgx_keyname {
	SGX_KEY_EINITTOKEN = 0, SGX_KEY_PROVISION = 1, SGX_KEY_PROVISION_SEAL = 2,
	SGX_KEY_REPORT = 3, SGX_KEY_SEAL = 4,
};
#define SGX_KEYPOLICY_MRENCLAVE 0x1u
#define SGX_KEYPOLICY_MRSIGNER  0x2u

#define SGX_MODULUS_SIZE 384

struct sgx_secinfo {
	uint64_t flags;
	uint8_t reserved[56];
} __attribute__((packed, aligned(64)));

struct sgx_pageinfo {
	uint64_t linaddr;
	uint64_t srcpge;
	uint64_t secinfo; /* or PCMD for EWB/ELDB/ELDU */
	uint64_t secs;
} __attribute__((packed, aligned(32)));

struct sgx_attributes {
	uint64_t flags;
	uint64_t xfrm;
} __attribute__((packed));

struct sgx_secs {
	uint64_t size;
	uint64_t base;
	uint32_t ssa_frame_size;
	uint32_t miscselect;
	uint8_t reserved1[24];
	struct sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t reserved4[3834];
} __attribute__((packed, aligned(4096)));

struct sgx_tcs {
	uint64_t state;
	uint64_t flags;
	uint64_t ossa;
	uint32_t cssa;
	uint32_t nssa;
	uint64_t oentry;
	uint64_t aep;
	uint64_t ofsbase;
	uint64_t ogsbase;
	uint32_t fslimit;
	uint32_t gslimit;
	uint8_t reserved[4024];
} __attribute__((packed, aligned(4096)));

struct sgx_pcmd {
	struct sgx_secinfo secinfo;
	uint64_t enclave_id;
	uint8_t reserved[40];
	uint8_t mac[16];
} __attribute__((packed, aligned(128)));

struct sgx_sigstruct_header {
	uint8_t header[16];
	uint32_t vendor;
	uint32_t date;
	uint8_t header2[16];
	uint32_t swdefined;
	uint8_t reserved[84];
} __attribute__((packed));

struct sgx_sigstruct_body {
	uint32_t miscselect;
	uint32_t misc_mask;
	uint8_t reserved[20];
	struct sgx_attributes attributes;
	struct sgx_attributes attributes_mask;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
} __attribute__((packed));

struct sgx_sigstruct {
	struct sgx_sigstruct_header header;
	uint8_t modulus[SGX_MODULUS_SIZE];
	uint32_t exponent;
	uint8_t signature[SGX_MODULUS_SIZE];
	struct sgx_sigstruct_body body;
	uint8_t reserved4[12];
	uint8_t q1[SGX_MODULUS_SIZE];
	uint8_t q2[SGX_MODULUS_SIZE];
} __attribute__((packed));

struct sgx_einittoken {
	uint32_t valid;
	uint8_t reserved1[44];
	struct sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t cpusvn_le[16];
	uint16_t isvprodid_le;
	uint16_t isvsvn_le;
	uint8_t reserved4[24];
	uint32_t masked_miscselect_le;
	struct sgx_attributes masked_attributes_le;
	uint8_t keyid[32];
	uint8_t mac[16];
} __attribute__((packed, aligned(512)));

/* SSA frame pieces; GPRSGX sits at the very end of a frame, MISC just below it. */
struct sgx_gprsgx {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rflags;
	uint64_t rip;
	uint64_t ursp;
	uint64_t urbp;
	uint32_t exitinfo;
	uint8_t reserved[3];
	uint8_t aexnotify;
	uint64_t fsbase;
	uint64_t gsbase;
} __attribute__((packed));

struct sgx_exinfo {
	uint64_t maddr;
	uint32_t errcd;
	uint32_t reserved;
} __attribute__((packed));

struct sgx_targetinfo {
	uint8_t mrenclave[32];
	struct sgx_attributes attributes;
	uint8_t reserved1[2];
	uint16_t config_svn;
	uint32_t miscselect;
	uint8_t reserved2[8];
	uint8_t config_id[64];
	uint8_t reserved3[384];
} __attribute__((packed, aligned(512)));

struct sgx_report_body {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t reserved1[12];
	uint8_t isv_ext_prod_id[16];
	struct sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t reserved4[42];
	uint8_t isv_family_id[16];
	uint8_t report_data[64];
} __attribute__((packed));

struct sgx_report {
	struct sgx_report_body body;
	uint8_t keyid[32];
	uint8_t mac[16];
} __attribute__((packed, aligned(512)));

struct sgx_keyrequest {
	uint16_t keyname;
	uint16_t keypolicy;
	uint16_t isvsvn;
	uint8_t reserved1[2];
	uint8_t cpusvn[16];
	struct sgx_attributes attribute_mask;
	uint8_t keyid[32];
	uint32_t misc_mask;
	uint16_t config_svn;
	uint8_t reserved2[434];
} __attribute__((packed, aligned(512)));

static_assert(sizeof(struct sgx_secinfo) == 64, "SECINFO is 64 bytes");
static_assert(sizeof(struct sgx_pageinfo) == 32, "PAGEINFO is 32 bytes");
static_assert(sizeof(struct sgx_secs) == 4096, "SECS is one page");
static_assert(offsetof(struct sgx_secs, attributes) == 48, "SECS.ATTRIBUTES @48");
static_assert(offsetof(struct sgx_secs, mrenclave) == 64, "SECS.MRENCLAVE @64");
static_assert(offsetof(struct sgx_secs, mrsigner) == 128, "SECS.MRSIGNER @128");
static_assert(offsetof(struct sgx_secs, config_id) == 192, "SECS.CONFIGID @192");
static_assert(offsetof(struct sgx_secs, isv_prod_id) == 256, "SECS.ISVPRODID @256");
static_assert(offsetof(struct sgx_secs, config_svn) == 260, "SECS.CONFIGSVN @260");
static_assert(offsetof(struct sgx_secs, reserved4) == 262, "SECS reserved @262");
static_assert(sizeof(struct sgx_tcs) == 4096, "TCS is one page");
static_assert(offsetof(struct sgx_tcs, cssa) == 24, "TCS.CSSA @24");
static_assert(offsetof(struct sgx_tcs, oentry) == 32, "TCS.OENTRY @32");
static_assert(offsetof(struct sgx_tcs, fslimit) == 64, "TCS.FSLIMIT @64");
static_assert(offsetof(struct sgx_tcs, reserved) == 72, "TCS reserved @72");
static_assert(sizeof(struct sgx_pcmd) == 128, "PCMD is 128 bytes");
static_assert(offsetof(struct sgx_pcmd, enclave_id) == 64, "PCMD.ENCLAVEID @64");
static_assert(offsetof(struct sgx_pcmd, mac) == 112, "PCMD.MAC @112");
static_assert(sizeof(struct sgx_sigstruct_header) == 128, "SIGSTRUCT header is 128 bytes");
static_assert(sizeof(struct sgx_sigstruct_body) == 128, "SIGSTRUCT body is 128 bytes");
static_assert(offsetof(struct sgx_sigstruct, modulus) == 128, "SIGSTRUCT.MODULUS @128");
static_assert(offsetof(struct sgx_sigstruct, exponent) == 512, "SIGSTRUCT.EXPONENT @512");
static_assert(offsetof(struct sgx_sigstruct, signature) == 516, "SIGSTRUCT.SIGNATURE @516");
static_assert(offsetof(struct sgx_sigstruct, body) == 900, "SIGSTRUCT body @900");
static_assert(offsetof(struct sgx_sigstruct, body.attributes) == 928, "ATTRIBUTES @928");
static_assert(offsetof(struct sgx_sigstruct, body.attributes_mask) == 944, "ATTRIBUTEMASK @944");
static_assert(offsetof(struct sgx_sigstruct, body.mrenclave) == 960, "ENCLAVEHASH @960");
static_assert(offsetof(struct sgx_sigstruct, body.isvprodid) == 1024, "ISVPRODID @1024");
static_assert(offsetof(struct sgx_sigstruct, q1) == 1040, "Q1 @1040");
static_assert(offsetof(struct sgx_sigstruct, q2) == 1424, "Q2 @1424");
static_assert(sizeof(struct sgx_sigstruct) == 1808, "SIGSTRUCT is 1808 bytes");
static_assert(offsetof(struct sgx_einittoken, attributes) == 48, "TOKEN.ATTRIBUTES @48");
static_assert(offsetof(struct sgx_einittoken, mrenclave) == 64, "TOKEN.MRENCLAVE @64");
static_assert(offsetof(struct sgx_einittoken, mrsigner) == 128, "TOKEN.MRSIGNER @128");
static_assert(offsetof(struct sgx_einittoken, cpusvn_le) == 192, "TOKEN.CPUSVNLE @192");
static_assert(offsetof(struct sgx_einittoken, isvprodid_le) == 208, "TOKEN.ISVPRODIDLE @208");
static_assert(offsetof(struct sgx_einittoken, masked_miscselect_le) == 236, "MASKEDMISCSELECTLE @236");
static_assert(offsetof(struct sgx_einittoken, masked_attributes_le) == 240, "MASKEDATTRIBUTESLE @240");
static_assert(offsetof(struct sgx_einittoken, keyid) == 256, "TOKEN.KEYID @256");
static_assert(offsetof(struct sgx_einittoken, mac) == 288, "TOKEN.MAC @288");
static_assert(sizeof(struct sgx_einittoken) == 512, "EINITTOKEN occupies 304 bytes, 512-aligned");
static_assert(sizeof(struct sgx_gprsgx) == 184, "GPRSGX is 184 bytes");
static_assert(offsetof(struct sgx_gprsgx, rflags) == 128, "GPRSGX.RFLAGS @128");
static_assert(offsetof(struct sgx_gprsgx, exitinfo) == 160, "GPRSGX.EXITINFO @160");
static_assert(offsetof(struct sgx_gprsgx, aexnotify) == 167, "GPRSGX.AEXNOTIFY @167");
static_assert(offsetof(struct sgx_gprsgx, fsbase) == 168, "GPRSGX.FSBASE @168");
static_assert(sizeof(struct sgx_exinfo) == 16, "EXINFO is 16 bytes");
static_assert(sizeof(struct sgx_targetinfo) == 512, "TARGETINFO is 512 bytes");
static_assert(offsetof(struct sgx_targetinfo, miscselect) == 52, "TARGETINFO.MISCSELECT @52");
static_assert(offsetof(struct sgx_targetinfo, config_id) == 64, "TARGETINFO.CONFIGID @64");
static_assert(sizeof(struct sgx_report_body) == 384, "REPORT body is 384 bytes");
static_assert(offsetof(struct sgx_report_body, attributes) == 48, "REPORT.ATTRIBUTES @48");
static_assert(offsetof(struct sgx_report_body, mrenclave) == 64, "REPORT.MRENCLAVE @64");
static_assert(offsetof(struct sgx_report_body, mrsigner) == 128, "REPORT.MRSIGNER @128");
static_assert(offsetof(struct sgx_report_body, isv_prod_id) == 256, "REPORT.ISVPRODID @256");
static_assert(offsetof(struct sgx_report_body, report_data) == 320, "REPORT.REPORTDATA @320");
static_assert(offsetof(struct sgx_report, keyid) == 384, "REPORT.KEYID @384");
static_assert(offsetof(struct sgx_report, mac) == 416, "REPORT.MAC @416");
static_assert(sizeof(struct sgx_keyrequest) == 512, "KEYREQUEST is 512 bytes");
static_assert(offsetof(struct sgx_keyrequest, attribute_mask) == 24, "KEYREQUEST.ATTRIBUTEMASK @24");
static_assert(offsetof(struct sgx_keyrequest, keyid) == 40, "KEYREQUEST.KEYID @40");
static_assert(offsetof(struct sgx_keyrequest, misc_mask) == 72, "KEYREQUEST.MISCMASK @72");

#endif
