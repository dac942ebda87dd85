/*
 * The test enclave's op dispatcher (kernel-selftests.md §2.4; the same
 * protocol as the model's src/runtime/selftest_encl.c), freestanding: no
 * libc, no relocations, no %fs/%gs, general-purpose registers only.
 *
 * RDI points at an op in untrusted memory; its first u64 is the type.  Every
 * field is read and written with plain loads and stores, so a fault on the
 * op or on an op's address is the fault of that one instruction, and ERESUME
 * after an AEX re-executes it.  EACCEPT and EMODPE are real ENCLUs.
 */
#include <stddef.h>
#include <stdint.h>

/* include/sgx2emu/selftest.h's ops (that header is the host's; the values
 * are checked by the selftests, which fail if they disagree). */
enum {
	ENCL_OP_PUT_TO_BUFFER,
	ENCL_OP_GET_FROM_BUFFER,
	ENCL_OP_PUT_TO_ADDRESS,
	ENCL_OP_GET_FROM_ADDRESS,
	ENCL_OP_NOP,
	ENCL_OP_EACCEPT,
	ENCL_OP_EMODPE,
	ENCL_OP_INIT_TCS_PAGE,
	ENCL_OP_MAX,
};

struct op_value {              /* PUT/GET_FROM_BUFFER */
	uint64_t type, value;
};

struct op_addr {               /* PUT/GET_FROM_ADDRESS */
	uint64_t type, value, addr;
};

struct op_eaccept {
	uint64_t type, epc_addr, flags, ret;
};

struct op_emodpe {
	uint64_t type, epc_addr, flags;
};

struct op_init_tcs_page {
	uint64_t type, tcs_page, ssa, entry;
};

_Static_assert(offsetof(struct op_addr, addr) == 16, "op layout");
_Static_assert(offsetof(struct op_eaccept, ret) == 24, "op layout");
_Static_assert(offsetof(struct op_init_tcs_page, entry) == 24, "op layout");

#define ENCLU_EACCEPT 5
#define ENCLU_EMODPE  6

struct secinfo {
	uint64_t flags;
	uint64_t reserved[7];
} __attribute__((aligned(64)));

/* The buffer PUT/GET_FROM_BUFFER use, first in .data (= TEST_ENCL_BUFFER);
 * {1} keeps it out of .bss, as upstream's. */
uint8_t encl_buffer[8192] __attribute__((used, section(".data.encl_buffer"), aligned(4096))) = { 1 };

/*
 * sgx2emu's EMM entry points (include/sgx2emu/emm_enclave.h, built here as
 * a real enclave builds them) for tests/native/test_emm_native.c.  Not an
 * upstream op: its type is far above ENCL_OP_MAX, so the selftests never
 * send it.  The data layout is fixed (encl.lds), so the OCALL state lives in
 * the last 64 bytes of encl_buffer instead of a global of its own.
 */
#define ENCL_OP_EMM 0x454d4dull   /* "EMM" */
enum { EMM_INIT, EMM_EACCEPT, EMM_EMODPE, EMM_EACCEPTCOPY, EMM_ALLOC_OCALL, EMM_MODIFY_OCALL };
struct op_emm {                /* ret = the entry point's int, sign-extended */
	uint64_t type, fn, a0, a1, a2, a3, ret;
};
#define SGX2EMU_EMM_IMPLEMENT
#define SGX2EMU_EMM_OCALL_STATE \
	(*(struct sgx2emu_emm_ocall_state *)(encl_buffer + sizeof(encl_buffer) - 64))
#include "../../../include/sgx2emu/emm_enclave.h"

void encl_body(void *rdi, void *rsi);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

/* The compiler may emit calls to these even freestanding.  String
 * instructions, so that they cannot be turned back into calls to themselves. */
void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

/* Exactly one 8-byte load or store (volatile: never split, merged or moved). */
static uint64_t load64(uint64_t addr)
{
	return *(volatile uint64_t *)addr;
}

static void store64(uint64_t addr, uint64_t value)
{
	*(volatile uint64_t *)addr = value;
}

/* ENCLU[leaf] with RBX = the SECINFO, RCX = the page; RAX out.  The SECINFO
 * is a zeroed 64-byte-aligned local, as the leaves require. */
static uint64_t enclu_secinfo(uint64_t leaf, uint64_t flags, uint64_t epc_addr)
{
	struct secinfo si;
	uint64_t rax = leaf;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	__asm__ volatile(".byte 0x0f, 0x01, 0xd7"
			 : "+a"(rax)
			 : "b"(&si), "c"(epc_addr)
			 : "memory", "cc");
	return rax;
}

/* INIT_TCS_PAGE: the TCS image field by field (OSSA and OENTRY are offsets):
 * 16 zero bytes, OSSA, CSSA = 0, NSSA = 1, OENTRY, AEP/OFSBASE/OGSBASE = 0,
 * FSLIMIT = GSLIMIT = ~0, the rest zero. */
static void init_tcs_page(const struct op_init_tcs_page *op)
{
	uint8_t *tcs = (uint8_t *)op->tcs_page;
	uint64_t ssa = op->ssa, entry = op->entry;
	memset(tcs, 0, 4096);
	*(volatile uint64_t *)(tcs + 16) = ssa;
	*(volatile uint32_t *)(tcs + 24) = 0;
	*(volatile uint32_t *)(tcs + 28) = 1;
	*(volatile uint64_t *)(tcs + 32) = entry;
	*(volatile uint32_t *)(tcs + 64) = 0xffffffff;
	*(volatile uint32_t *)(tcs + 68) = 0xffffffff;
}

/* ENCL_OP_EMM: fn with a0..a3 as the entry point's arguments (INIT: the
 * OCALL area; EACCEPT / EMODPE: page, SECINFO flags; EACCEPTCOPY: dest,
 * src, flags; ALLOC: addr, length, page_type, alloc_flags; MODIFY: addr,
 * length, flags_from, flags_to); its result into ret. */
static void emm_op(uint64_t op)
{
	uint64_t fn = load64(op + offsetof(struct op_emm, fn));
	uint64_t a0 = load64(op + offsetof(struct op_emm, a0)), a1 = load64(op + offsetof(struct op_emm, a1));
	uint64_t a2 = load64(op + offsetof(struct op_emm, a2)), a3 = load64(op + offsetof(struct op_emm, a3));
	sgx2emu_sec_info_t si;
	int ret = -1;

	memset(&si, 0, sizeof(si));
	switch (fn) {
	case EMM_INIT:
		sgx2emu_emm_ocall_init(a0);
		ret = 0;
		break;
	case EMM_EACCEPT:
		si.flags = a1;
		ret = do_eaccept(&si, a0);
		break;
	case EMM_EMODPE:
		si.flags = a1;
		ret = do_emodpe(&si, a0);
		break;
	case EMM_EACCEPTCOPY:
		si.flags = a2;
		ret = do_eacceptcopy(&si, a0, a1);
		break;
	case EMM_ALLOC_OCALL:
		ret = sgx_mm_alloc_ocall(a0, a1, (int)a2, (int)a3);
		break;
	case EMM_MODIFY_OCALL:
		ret = sgx_mm_modify_ocall(a0, a1, (int)a2, (int)a3);
		break;
	}
	store64(op + offsetof(struct op_emm, ret), (uint64_t)(int64_t)ret);
}

/*
 * Called by entry.S on the TCS's stack.  Reads the type; a type >=
 * ENCL_OP_MAX is ignored (as upstream); otherwise runs the op.  No return
 * value: results go into the op.
 */
void encl_body(void *rdi, void *rsi)
{
	(void)rsi;
	uint64_t op = (uint64_t)rdi;

	switch (load64(op)) {
	case ENCL_OP_PUT_TO_BUFFER:
		store64((uint64_t)encl_buffer, load64(op + offsetof(struct op_value, value)));
		break;
	case ENCL_OP_GET_FROM_BUFFER:
		store64(op + offsetof(struct op_value, value), load64((uint64_t)encl_buffer));
		break;
	case ENCL_OP_PUT_TO_ADDRESS:
		store64(load64(op + offsetof(struct op_addr, addr)), load64(op + offsetof(struct op_addr, value)));
		break;
	case ENCL_OP_GET_FROM_ADDRESS:
		store64(op + offsetof(struct op_addr, value), load64(load64(op + offsetof(struct op_addr, addr))));
		break;
	case ENCL_OP_EACCEPT: {
		uint64_t rax = enclu_secinfo(ENCLU_EACCEPT, load64(op + offsetof(struct op_eaccept, flags)),
					     load64(op + offsetof(struct op_eaccept, epc_addr)));
		/* upstream keeps RAX in an int: stored sign-extended */
		store64(op + offsetof(struct op_eaccept, ret), (uint64_t)(int64_t)(int32_t)rax);
		break;
	}
	case ENCL_OP_EMODPE:
		enclu_secinfo(ENCLU_EMODPE, load64(op + offsetof(struct op_emodpe, flags)),
			      load64(op + offsetof(struct op_emodpe, epc_addr)));
		break;
	case ENCL_OP_INIT_TCS_PAGE:
		init_tcs_page(rdi);
		break;
	case ENCL_OP_EMM:
		emm_op(op);
		break;
	case ENCL_OP_NOP:
	default:
		break;
	}
}
