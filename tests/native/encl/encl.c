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
	case ENCL_OP_NOP:
	default:
		break;
	}
}
