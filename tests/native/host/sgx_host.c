/*
 * sgx_host ENCLAVE.elf SCENARIO...: an SGX host program written as one for
 * real SGX hardware and Linux would be.  It uses only the system's
 * interface: open("/dev/sgx_enclave"), the ioctls of <asm/sgx.h>, mmap /
 * mprotect / munmap, getauxval(AT_SYSINFO_EHDR) and its own walk of the
 * vDSO's dynamic symbols to find __vdso_sgx_enter_enclave, and OpenSSL to
 * sign the SIGSTRUCT, whose MRENCLAVE it computes itself from the pages it
 * adds (the measurement rules of isa.md §5).  It never links libsgx2emu:
 * `sgx2emu exec -- sgx_host ...` (or LD_PRELOAD=libsgx2emu-preload.so) runs it
 * against the emulator (tests/native/test_preload.c, docs/preload.md).
 *
 * The enclave is the kernel selftests' kind (kernel-selftests.md §2, built
 * freestanding in tests/native/encl): TCS, text and data PT_LOADs, loaded
 * as the selftests' loader loads it (§3) plus a 4 KiB unmeasured heap.  Each
 * scenario builds a fresh enclave, runs its steps and deletes it.  Every
 * check prints one line "SCENARIO: what: ok" or "...: MISMATCH (...)";
 * addresses are printed as enclave offsets ("+0x4000"), so the output does
 * not depend on where the enclave lands.  Exit status: 0 when every check
 * held, 1 when one did not, 2 for a usage or setup error.
 *
 * Scenarios: putget, augment, augment-fault, restrict, emodpe, mprotect,
 * remove, signals, cpuid, fork, fds, threads, mremap.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asm/sgx.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define PAGE 4096ul
#define MAGIC 0x1122334455667788ull
#define MAGIC2 0x8877665544332211ull

#define EENTER 2
#define ERESUME 3
#define EEXIT 4

/* SECINFO flags (the page-state bits are not in <asm/sgx.h>) */
#define SI_R 0x1ull
#define SI_W 0x2ull
#define SI_X 0x4ull
#define SI_PENDING 0x8ull
#define SI_MODIFIED 0x10ull
#define SI_PR 0x20ull
#define SI_TCS 0x100ull
#define SI_REG 0x200ull
#define SI_TRIM 0x400ull
#define PT_TRIM_TYPE 4

/* ---- the enclave's op protocol (kernel-selftests.md §2.4) ---- */
enum { OP_PUT_TO_BUFFER, OP_GET_FROM_BUFFER, OP_PUT_TO_ADDRESS, OP_GET_FROM_ADDRESS, OP_NOP, OP_EACCEPT, OP_EMODPE };

struct op {
	uint64_t type;
	uint64_t a;      /* value; EACCEPT/EMODPE: epc_addr */
	uint64_t b;      /* addr; EACCEPT/EMODPE: flags */
	uint64_t c;      /* EACCEPT: ret */
};

/* ---- SGX structures this program fills in (isa.md §2) ---- */
struct secs {
	uint64_t size;
	uint64_t base;
	uint32_t ssa_frame_size;
	uint32_t miscselect;
	uint8_t reserved1[24];
	uint64_t attributes;
	uint64_t xfrm;
	uint8_t rest[4096 - 64];
} __attribute__((packed, aligned(4096)));

struct secinfo {
	uint64_t flags;
	uint8_t reserved[56];
} __attribute__((aligned(64)));

struct sigstruct {
	uint8_t header[16];
	uint32_t vendor;
	uint32_t date;
	uint8_t header2[16];
	uint32_t swdefined;
	uint8_t reserved1[84];
	uint8_t modulus[384];
	uint32_t exponent;
	uint8_t signature[384];
	uint32_t miscselect;      /* body: offset 900 */
	uint32_t misc_mask;
	uint8_t reserved2[20];
	uint64_t attributes;
	uint64_t xfrm;
	uint64_t attributes_mask;
	uint64_t xfrm_mask;
	uint8_t mrenclave[32];
	uint8_t reserved3[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t reserved4[12];
	uint8_t q1[384];
	uint8_t q2[384];
} __attribute__((packed));
_Static_assert(sizeof(struct sigstruct) == 1808, "SIGSTRUCT is 1808 bytes");
_Static_assert(__builtin_offsetof(struct sigstruct, miscselect) == 900, "SIGSTRUCT body at 900");

/* A test signing key (RSA-3072, e = 3), generated for this program. */
static const char sign_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIG/AIBADANBgkqhkiG9w0BAQEFAASCBuYwggbiAgEAAoIBgQCscXuuJbiERUyH\n"
	"XqPNCdJKPJF0jTagqDgIgKFQ3J4PO+YBE+tke8zuksq7W3xirJOsaw8GVXMVKbri\n"
	"FXzsumvHcHJE9R7/S70U9DE6Zsvg8YJ7WCtJCAx3lH01YJE9hAhKJXwtt8cZ+N4d\n"
	"nBC4bECby88m5UrzdL6zE1QyNZ7LSuDDnaOqFLqC5A2lDQ9qBpM1Ghlc9lwhPtix\n"
	"MFh+Stjlt4Q/61ePXFjQ0Q6jgvJT3S0eIVAZYT73ywNnppx7q5OuY9VoGqyeEOTx\n"
	"E/FmQa/4QsjRG+6e31ZpK2bhlXPuzhr6Q8o58aXRC13MhjI9IX/y19ereEK9e+pN\n"
	"Ew3Lwh2Mw9/Axu8ULcv/J5eiZmOxRDdBbKpXl9dynOm+2TgNNdQd6yVITdCkvRIw\n"
	"O/btJDBGkli5meuZNFrgkPPkz3ZMdw/1Y/CcrQKmOCj2fCm2EV3DSgOhsbXTggN9\n"
	"4jvnRflEjrh0KbPAMBV/cXwOFoR+vevKojh4rEhhnClDfd8YOm8CAQMCggGAcvZS\n"
	"dBklrYOIWj8X3gaMMX22TbN5wHAlWwBriz2+tNKZVg1HmFKInwyHJ5JS7HMNHZy0\n"
	"ruOiDhvR7A5TSHxH2kr22KNp/4fTY012Ju8ylfZW/OVyMLAIT7hTeOsLflgFhsOo\n"
	"HnqEu/s+vmgLJZ2AZ900xJjcok3Ud2I4IXkUh4dAgmkXxrh8V0Kzw14KRq8MzhFm\n"
	"PfmSwNSQdiA6/tyQmSUC1UePtOg7NeC0bQH24pNzaWuKu5Yp+odXmm8S/R0MBpEf\n"
	"oRFW4oKFPA8LSF9BTIoI6ZlTDru+VJ10bVD86uNYe5EdzYGkJA7YzYSLmh6CzFxA\n"
	"HrCEo68TLKxU7D59USBouxXbQk47GhfR0K6Lidy5DmswyVajx9dxppBvCY+qn0x3\n"
	"koP6ryjVoC6HB/7kviqXlHUAZD2aI9br5WsUS4ctK6RNNs8yEhtB3N29DGuDcOR8\n"
	"J2+4QPovby10lRRAlsI6qH0AjmjK4W+NyZnHog71y6kqwztzQ3vm3oTVk8OLAoHB\n"
	"ANqCxp5uAacTrb+n47Hb1/83yP7OpYiUQbf8CTh9qHlOvpWFHNjJOb42ASXChajc\n"
	"b98pPlZ0sNFhE+KHE9oa6YxN84qLT/pKuOEyghoI+rHL6fdB6Nmq/IsxQU/6h2Km\n"
	"mGuqZW+V+on1MhHaJ9PZY3tFwlC493HbpZy+Qr9DxLhJanGpHRS7BOQ8sQ5IDJYx\n"
	"i5jtPERSnmyB3vaRi0QLcFAOxrOBLvhkx2A82KFrL1pVajtRpiZ/eheXP5qWjIXi\n"
	"ZwKBwQDKB19YEqijOW9XVXzH1vYGO/Jz50yAMXcyQy8FHlAVKlerZQCs5fXcvxdy\n"
	"fNstF0vhJDkm+sr2lDmniXqPSXgGxU8dmtY2bbp20VrPV5ewrTe0ifhP6uU7qH31\n"
	"BgocN7vDTgx88d4UCp+uHASNTHWuDLMKMXOQ/E4OEE9NaxMi4uHCRF+1uzKm0pUc\n"
	"54GNPo0BBg0iN4MFiN1gjIHDnCgSXJnD7QPyLh3NDU6+RKmxUhDd0tItU6Fkyw9b\n"
	"IBI0srkCgcEAkayEaZ6rxLfJKm/tIT06qiUwqd8ZBbgrz/1bev5wUN8puQNokIYm\n"
	"fs6rboGucJL1P3DUOaMgi5YNQa9ikWdGXYlNBweKptx7QMxWvAX8dofxT4FF5nH9\n"
	"siDWNVGvlxm68nGY9Q6nBqN2tpFv4pDs/NksNdCk9pJuaH7XKi0t0DDxoRtouHyt\n"
	"7X3LXtqzDsuyZfN9guG+8wE/TwuyLVz1irSEd6t0pZiE6tM7Fkd05uOcJ4vEGapR\n"
	"ZQ9/vGRdrpbvAoHBAIavlOVhxcImSjo4/dqPTq7SoaKaMwAg+iGCH1i+4A4cOnJD\n"
	"VciZTpMqD6Gokh4Ph+tte29R3KRi0Rpbpwow+q8uNL5nOXmefE82PIo6ZSBzenhb\n"
	"+t/x7ifFqU4EBr16fSzesv32lA1canQSrbOITnQId1wg97X9iV61ijOct2yXQSwt\n"
	"lSPSIcSMY2iaVl4ps1YECMF6V1kF6OsIVoJoGrboZoKeAqF0E94I3ymDG8uMCz6M\n"
	"jB43wO3ctOdqts3MewKBwGw7k1yc2ShXAQBkzBj6e+A0Doa3TEVfJ4rhAUOFIJ/4\n"
	"vk5+ocGVRMTTigaH6gSsr0kH1tRfiffxH6vbwujXpEHZdMgijyCxGOCMotdWUzEm\n"
	"bWngUc2tEg9TTHms+ncLO9tE8Ju1sWwBhVX4r8WqzLZx7yxib/SwRG1pH7HK6xl6\n"
	"FzQp0fSThRQGFltgo0kyBlfwa+SMzk4xiDaGB0qSnIC9QKdjaG/YT5Lo/S+f0k9I\n"
	"x73ujGpcQWtuDZObEQ4W7g==\n"
	"-----END PRIVATE KEY-----\n";

/* ---- output ---- */
static int mismatches;
static const char *scn;       /* the scenario running */

static void line(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s: ", scn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(ok ? ": ok\n" : ": MISMATCH\n");
	mismatches += !ok;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sgx_host: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* ---- the ELF file ---- */
struct segment {
	const uint8_t *src;
	uint64_t offset, size;
	int prot;
	uint64_t flags;
	bool measure;
};

struct image {
	uint8_t *bin;                 /* the file, zero-padded to whole pages */
	size_t bin_size;
	struct segment seg[8];
	unsigned nr;
	uint64_t src_size;            /* the pages added */
	uint64_t data_offset;         /* the first RW segment after the TCS one */
};

/*
 * The selftests' loader's reading of the ELF: PT_LOADs in order, the first
 * must be exactly R|W and is the TCS segment, the others REG with their
 * flags; offsets from page-aligned file offsets; then a 4 KiB heap.
 */
static void image_load(struct image *im, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	im->bin_size = ((size_t)st.st_size + 2 * PAGE - 1) & ~(PAGE - 1);
	im->bin = aligned_alloc(PAGE, im->bin_size);
	if (!im->bin)
		die("out of memory");
	memset(im->bin, 0, im->bin_size);
	if (read(fd, im->bin, (size_t)st.st_size) != st.st_size)
		die("%s: short read", path);
	close(fd);

	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)im->bin;
	if ((size_t)st.st_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > (uint64_t)st.st_size)
		die("%s: not an ELF64 file", path);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(im->bin + eh->e_phoff);
	uint64_t first = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (im->nr == 7 || (ph[i].p_flags & ~(uint32_t)(PF_R | PF_W | PF_X)))
			die("%s: unexpected PT_LOAD %u", path, i);
		uint64_t at = ph[i].p_offset & ~(PAGE - 1);
		if (!im->nr)
			first = at;
		if (ph[i].p_offset + ph[i].p_filesz > (uint64_t)st.st_size)
			die("%s: PT_LOAD %u beyond the file", path, i);
		struct segment *s = &im->seg[im->nr];
		s->src = im->bin + at;
		s->offset = at - first;
		s->size = (ph[i].p_offset - at + ph[i].p_filesz + PAGE - 1) & ~(PAGE - 1);
		s->prot = ((ph[i].p_flags & PF_R) ? PROT_READ : 0) | ((ph[i].p_flags & PF_W) ? PROT_WRITE : 0) |
			  ((ph[i].p_flags & PF_X) ? PROT_EXEC : 0);
		s->measure = true;
		if (!im->nr) {
			if (s->prot != (PROT_READ | PROT_WRITE))
				die("%s: the first PT_LOAD (TCS) must be RW", path);
			s->flags = SI_TCS;
		} else {
			s->flags = SI_REG | (uint64_t)s->prot;   /* PROT_R/W/X are SECINFO R/W/X */
			if (!im->data_offset && s->prot == (PROT_READ | PROT_WRITE))
				im->data_offset = s->offset;
		}
		im->nr++;
	}
	if (!im->nr || !im->data_offset)
		die("%s: no TCS or no data segment", path);
	static const uint8_t zero_page[PAGE] __attribute__((aligned(PAGE)));
	struct segment *last = &im->seg[im->nr - 1], *heap = &im->seg[im->nr++];
	*heap = (struct segment){ .src = zero_page, .offset = last->offset + last->size, .size = PAGE,
				  .prot = PROT_READ | PROT_WRITE, .flags = SI_REG | SI_R | SI_W, .measure = false };
	im->src_size = heap->offset + heap->size;
}

/* ---- measurement and signature ---- */

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);   /* x86-64: little-endian, as SGX's records */
}

/* MRENCLAVE of ECREATE(SSAFRAMESIZE 1, size) and every page added. */
static void measure(const struct image *im, uint64_t encl_size, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t b[64];
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		die("SHA-256 unavailable");
	memset(b, 0, sizeof(b));
	put64(b, 0x0045544145524345ull);   /* "ECREATE\0" */
	uint32_t ssa = 1;
	memcpy(b + 8, &ssa, 4);
	put64(b + 12, encl_size);
	EVP_DigestUpdate(md, b, 64);
	for (unsigned i = 0; i < im->nr; i++) {
		const struct segment *s = &im->seg[i];
		for (uint64_t pg = 0; pg < s->size; pg += PAGE) {
			memset(b, 0, sizeof(b));
			put64(b, 0x44444145ull);           /* "EADD" */
			put64(b + 8, s->offset + pg);
			put64(b + 16, s->flags);
			EVP_DigestUpdate(md, b, 64);
			for (uint64_t c = 0; s->measure && c < PAGE; c += 256) {
				memset(b, 0, sizeof(b));
				put64(b, 0x00444E4554584545ull);   /* "EEXTEND\0" */
				put64(b + 8, s->offset + pg + c);
				EVP_DigestUpdate(md, b, 64);
				EVP_DigestUpdate(md, s->src + pg + c, 256);
			}
		}
	}
	unsigned len = 0;
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
}

static void bn_le(const BIGNUM *bn, uint8_t out[384])
{
	if (BN_bn2lebinpad(bn, out, 384) != 384)
		die("a SIGSTRUCT number does not fit in 384 bytes");
}

/* The SIGSTRUCT: header constants, body (MODE64BIT, XFRM 3, MRENCLAVE),
 * PKCS#1 v1.5 SHA-256 signature of header ‖ body, modulus and signature
 * little-endian, Q1 = floor(S² / N), Q2 = floor(S · (S² mod N) / N). */
static void sign(struct sigstruct *ss, const uint8_t mrenclave[32])
{
	static const uint8_t h1[16] = { 6, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 };
	static const uint8_t h2[16] = { 1, 1, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 1, 0, 0, 0 };
	memset(ss, 0, sizeof(*ss));
	memcpy(ss->header, h1, 16);
	memcpy(ss->header2, h2, 16);
	ss->exponent = 3;
	ss->attributes = 0x4;   /* MODE64BIT */
	ss->xfrm = 3;
	memcpy(ss->mrenclave, mrenclave, 32);

	BIO *bio = BIO_new_mem_buf(sign_key_pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	uint8_t msg[256], sig[384];
	memcpy(msg, ss, 128);
	memcpy(msg + 128, (uint8_t *)ss + 900, 128);
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!key || !md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1 || siglen != 384)
		die("signing the SIGSTRUCT failed");
	EVP_MD_CTX_free(md);

	BIGNUM *n = NULL, *s = BN_bin2bn(sig, 384, NULL), *s2 = BN_new(), *q1 = BN_new(), *r = BN_new(),
	       *t = BN_new(), *q2 = BN_new();
	BN_CTX *bc = BN_CTX_new();
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) || !s || !s2 || !q1 || !r || !t || !q2 || !bc ||
	    !BN_sqr(s2, s, bc) || !BN_div(q1, r, s2, n, bc) || !BN_mul(t, s, r, bc) || !BN_div(q2, NULL, t, n, bc))
		die("computing Q1/Q2 failed");
	bn_le(n, ss->modulus);
	bn_le(s, ss->signature);
	bn_le(q1, ss->q1);
	bn_le(q2, ss->q2);
	BN_free(n), BN_free(s), BN_free(s2), BN_free(q1), BN_free(r), BN_free(t), BN_free(q2);
	BN_CTX_free(bc);
	EVP_PKEY_free(key);
}

/* ---- the vDSO ---- */

static unsigned long sysv_hash(const char *name)
{
	unsigned long h = 0, g;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h = (h << 4) + *p;
		g = h & 0xf0000000ul;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

static uint32_t gnu_hash(const char *name)
{
	uint32_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = h * 33 + *p;
	return h;
}

/*
 * A function of the vDSO at base, by its dynamic symbol table: DT_HASH's
 * buckets and chains when it has them, else DT_GNU_HASH's.  NULL when absent.
 */
static void *vdso_sym(uintptr_t base, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	uintptr_t bias = 0;
	const Elf64_Dyn *dyn = NULL;
	bool have_load = false;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			bias = base + ph[i].p_offset - ph[i].p_vaddr;
			have_load = true;
		}
	}
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(bias + ph[i].p_vaddr);
	if (!have_load || !dyn)
		return NULL;
	const Elf64_Sym *sym = NULL;
	const char *str = NULL;
	const uint32_t *hash = NULL, *gnu = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			hash = (const uint32_t *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_GNU_HASH)
			gnu = (const uint32_t *)(bias + dyn->d_un.d_ptr);
	}
	if (!sym || !str)
		return NULL;
	if (hash) {
		uint32_t nbucket = hash[0];
		const uint32_t *bucket = hash + 2, *chain = bucket + nbucket;
		for (uint32_t i = bucket[sysv_hash(name) % nbucket]; i; i = chain[i])
			if (!strcmp(str + sym[i].st_name, name) && sym[i].st_shndx != SHN_UNDEF)
				return (void *)(bias + sym[i].st_value);
		return NULL;
	}
	if (gnu) {
		uint32_t nbucket = gnu[0], symoff = gnu[1], bloom = gnu[2];
		const uint32_t *bucket = gnu + 4 + 2 * bloom, *chain = bucket + nbucket;
		uint32_t h = gnu_hash(name);
		for (uint32_t i = bucket[h % nbucket]; i >= symoff && i; i++) {
			uint32_t c = chain[i - symoff];
			if ((c | 1) == (h | 1) && !strcmp(str + sym[i].st_name, name) && sym[i].st_shndx != SHN_UNDEF)
				return (void *)(bias + sym[i].st_value);
			if (c & 1)
				break;
		}
	}
	return NULL;
}

/* The vDSO function, called through a wrapper that keeps RBX, RBP and
 * R12–R15 whatever the enclave does to them (the selftests' call.S idea). */
vdso_sgx_enter_enclave_t sgx_host_vdso_enter;
int sgx_host_enter(unsigned long rdi, unsigned long rsi, unsigned long rdx, unsigned int function, unsigned long r8,
		   unsigned long r9, struct sgx_enclave_run *run);
__asm__(".text\n"
	".globl sgx_host_enter\n"
	".type sgx_host_enter, @function\n"
	"sgx_host_enter:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	push 56(%rsp)\n"              /* run, the 7th argument, for the callee */
	"	call *sgx_host_vdso_enter(%rip)\n"
	"	add $8, %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	".size sgx_host_enter, . - sgx_host_enter\n");

/* ---- the enclave ---- */
struct encl {
	struct image *im;
	int fd;
	uint64_t base, size;
	struct sgx_enclave_run run;
};

static const char *errname(int err)
{
	const char *s = strerrorname_np(err);
	return s ? s : "?";
}

/*
 * Open, reserve a naturally aligned range, CREATE, ADD_PAGES per segment,
 * INIT with the SIGSTRUCT of the measured pages, mmap each segment over the
 * reservation.  A failure is a setup error (exit 2) with the step and errno.
 */
static void encl_build(struct encl *e, struct image *im)
{
	memset(e, 0, sizeof(*e));
	e->im = im;
	e->size = PAGE;
	while (e->size < im->src_size)
		e->size <<= 1;
	e->fd = open("/dev/sgx_enclave", O_RDWR);
	if (e->fd < 0)
		die("open /dev/sgx_enclave: %s", strerror(errno));
	uint8_t *area = mmap(NULL, 2 * e->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		die("reserving the enclave's range: %s", strerror(errno));
	uint64_t a = (uint64_t)(uintptr_t)area, base = (a + e->size - 1) & ~(e->size - 1);
	if (base > a)
		munmap(area, base - a);
	if (a + 2 * e->size > base + e->size)
		munmap((void *)(uintptr_t)(base + e->size), a + 2 * e->size - base - e->size);
	e->base = base;

	static struct secs secs;
	memset(&secs, 0, sizeof(secs));
	secs.size = e->size;
	secs.base = e->base;
	secs.ssa_frame_size = 1;
	secs.attributes = 0x4;
	secs.xfrm = 3;
	struct sgx_enclave_create create = { .src = (uint64_t)(uintptr_t)&secs };
	if (ioctl(e->fd, SGX_IOC_ENCLAVE_CREATE, &create))
		die("SGX_IOC_ENCLAVE_CREATE: %s", errname(errno));
	for (unsigned i = 0; i < im->nr; i++) {
		const struct segment *s = &im->seg[i];
		struct secinfo si = { .flags = s->flags };
		struct sgx_enclave_add_pages add = { .src = (uint64_t)(uintptr_t)s->src, .offset = s->offset,
						     .length = s->size, .secinfo = (uint64_t)(uintptr_t)&si,
						     .flags = s->measure ? SGX_PAGE_MEASURE : 0 };
		if (ioctl(e->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add) || add.count != s->size)
			die("SGX_IOC_ENCLAVE_ADD_PAGES segment %u: %s, count %llu", i, errname(errno),
			    (unsigned long long)add.count);
	}
	uint8_t mr[32];
	static struct sigstruct ss;
	measure(im, e->size, mr);
	sign(&ss, mr);
	struct sgx_enclave_init init = { .sigstruct = (uint64_t)(uintptr_t)&ss };
	if (ioctl(e->fd, SGX_IOC_ENCLAVE_INIT, &init))
		die("SGX_IOC_ENCLAVE_INIT: %s", errname(errno));
	for (unsigned i = 0; i < im->nr; i++) {
		const struct segment *s = &im->seg[i];
		void *p = mmap((void *)(uintptr_t)(e->base + s->offset), s->size, s->prot, MAP_SHARED | MAP_FIXED,
			       e->fd, 0);
		if (p == MAP_FAILED)
			die("mmap of segment %u: %s", i, errname(errno));
	}
	e->run.tcs = e->base;
}

static void encl_delete(struct encl *e)
{
	line(munmap((void *)(uintptr_t)e->base, e->size) == 0, "munmap of the enclave's whole range");
	line(close(e->fd) == 0, "close of the enclave fd");
}

/* EENTER (or ERESUME) on run.tcs with the op in RDI; the exception fields
 * are cleared first, so each call reports only its own. */
static int call(struct encl *e, unsigned function, struct op *op)
{
	e->run.function = 0;
	e->run.exception_vector = 0;
	e->run.exception_error_code = 0;
	e->run.exception_addr = 0;
	return sgx_host_enter((unsigned long)(uintptr_t)op, 0, 0, function, 0, 0, &e->run);
}

/* An address as the enclave offset it is ("+0x4000"), 0 as "0". */
static const char *offset_of(const struct encl *e, uint64_t addr)
{
	static char buf[32];
	if (!addr)
		return "0";
	snprintf(buf, sizeof(buf), "+%#llx", (unsigned long long)(addr - e->base));
	return buf;
}

/* "what: EEXIT": the vDSO returned 0 after a normal exit. */
static void expect_eexit(struct encl *e, int ret, const char *what)
{
	bool ok = ret == 0 && e->run.function == EEXIT && !e->run.exception_vector;
	if (ok)
		line(true, "%s: EEXIT", what);
	else
		line(false, "%s: EEXIT expected, got return %d, function %u, vector %u, error code %#x, address %s",
		     what, ret, e->run.function, e->run.exception_vector, e->run.exception_error_code,
		     offset_of(e, e->run.exception_addr));
}

/* "what: ERESUME #vector ec at +offset": an exception reported by the vDSO. */
static void expect_fault(struct encl *e, int ret, const char *what, unsigned vector, unsigned ec, uint64_t offset)
{
	bool ok = ret == 0 && e->run.function == ERESUME && e->run.exception_vector == vector &&
		  e->run.exception_error_code == ec && e->run.exception_addr == e->base + offset;
	line(ok, "%s: ERESUME #%u error code %#x at +%#llx%s", what, vector, ec, (unsigned long long)offset,
	     ok ? "" : " expected");
	if (!ok)
		printf("%s:   got return %d, function %u, #%u error code %#x at %s\n", scn, ret, e->run.function,
		       e->run.exception_vector, e->run.exception_error_code, offset_of(e, e->run.exception_addr));
}

static void put_addr(struct encl *e, uint64_t value, uint64_t offset, const char *what)
{
	struct op op = { OP_PUT_TO_ADDRESS, value, e->base + offset, 0 };
	expect_eexit(e, call(e, EENTER, &op), what);
}

static void get_addr(struct encl *e, uint64_t want, uint64_t offset, const char *what)
{
	struct op op = { OP_GET_FROM_ADDRESS, 0, e->base + offset, 0 };
	expect_eexit(e, call(e, EENTER, &op), what);
	line(op.a == want, "%s: value %#llx", what, (unsigned long long)op.a);
}

static void eaccept(struct encl *e, uint64_t offset, uint64_t flags, const char *what)
{
	struct op op = { OP_EACCEPT, e->base + offset, flags, ~0ull };
	expect_eexit(e, call(e, EENTER, &op), what);
	line(op.c == 0, "%s: EACCEPT returned %lld", what, (long long)op.c);
}

static void expect_ioctl(int ret, int want_errno, uint64_t count, uint64_t want_count, const char *what)
{
	int err = ret ? errno : 0;
	line(err == want_errno && count == want_count, "%s: %s, count %llu", what, ret ? errname(err) : "0",
	     (unsigned long long)count);
}

/* ---- scenarios ---- */

/* PUT_TO_BUFFER then GET_FROM_BUFFER, on TCS #1 and on TCS #2. */
static void sc_putget(struct encl *e)
{
	for (unsigned t = 0; t < 2; t++) {
		e->run.tcs = e->base + t * PAGE;
		struct op put = { OP_PUT_TO_BUFFER, MAGIC + t, 0, 0 }, get = { OP_GET_FROM_BUFFER, 0, 0, 0 };
		expect_eexit(e, call(e, EENTER, &put), t ? "PUT_TO_BUFFER on TCS #2" : "PUT_TO_BUFFER on TCS #1");
		expect_eexit(e, call(e, EENTER, &get), t ? "GET_FROM_BUFFER on TCS #2" : "GET_FROM_BUFFER on TCS #1");
		line(get.a == MAGIC + t, "GET_FROM_BUFFER value %#llx", (unsigned long long)get.a);
	}
}

/* mmap a page past the image; EACCEPT inside faults, the kernel EAUGs, the
 * EACCEPT completes invisibly; then a write and a read of it. */
static void sc_augment(struct encl *e)
{
	uint64_t off = e->im->src_size;
	void *p = mmap((void *)(uintptr_t)(e->base + off), PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       e->fd, 0);
	line(p == (void *)(uintptr_t)(e->base + off), "mmap of the page at +%#llx", (unsigned long long)off);
	eaccept(e, off, SI_R | SI_W | SI_REG | SI_PENDING, "EACCEPT of the new page");
	put_addr(e, MAGIC, off, "PUT_TO_ADDRESS to it");
	get_addr(e, MAGIC, off, "GET_FROM_ADDRESS from it");
	line(munmap(p, PAGE) == 0, "munmap of the page");
}

/* The same page written first: EAUG, then the write hits the PENDING page
 * (#PF 0x8007); EACCEPT through TCS #2, ERESUME of TCS #1 finishes the write. */
static void sc_augment_fault(struct encl *e)
{
	uint64_t off = e->im->src_size;
	void *p = mmap((void *)(uintptr_t)(e->base + off), PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       e->fd, 0);
	line(p == (void *)(uintptr_t)(e->base + off), "mmap of the page at +%#llx", (unsigned long long)off);
	struct op put = { OP_PUT_TO_ADDRESS, MAGIC, e->base + off, 0 };
	expect_fault(e, call(e, EENTER, &put), "PUT_TO_ADDRESS to it", 14, 0x8007, off);
	e->run.tcs = e->base + PAGE;
	eaccept(e, off, SI_R | SI_W | SI_REG | SI_PENDING, "EACCEPT of it on TCS #2");
	e->run.tcs = e->base;
	expect_eexit(e, call(e, ERESUME, &put), "ERESUME of TCS #1");
	get_addr(e, MAGIC, off, "GET_FROM_ADDRESS from it");
	line(munmap(p, PAGE) == 0, "munmap of the page");
}

/* RESTRICT_PERMISSIONS of the data page to R and EACCEPT of it.  Returns
 * the offset of the page.
 *
 * The write that then faults, and the ERESUME that finishes it, are issued by
 * the same function (the scenario's): the enclave's entry code gives the
 * untrusted RSP and RBP of the EENTER back at EEXIT, and the vDSO finds its
 * frame through them, so the ERESUME must come from the same stack depth
 * (the kernel selftests rely on the same). */
static uint64_t restrict_data_page(struct encl *e)
{
	uint64_t off = e->im->data_offset + PAGE;
	put_addr(e, MAGIC, off, "PUT_TO_ADDRESS to the data page");
	get_addr(e, MAGIC, off, "GET_FROM_ADDRESS from it");
	struct sgx_enclave_restrict_permissions rp = { .offset = off, .length = PAGE, .permissions = SI_R };
	int r = ioctl(e->fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp);
	expect_ioctl(r, 0, rp.count, PAGE, "RESTRICT_PERMISSIONS to R");
	line(rp.result == 0, "RESTRICT_PERMISSIONS result %llu", (unsigned long long)rp.result);
	eaccept(e, off, SI_R | SI_REG | SI_PR, "EACCEPT of the restriction");
	return off;
}

/* After the restriction a write faults in the EPCM (#PF 0x8007). */
static void sc_restrict(struct encl *e)
{
	uint64_t off = restrict_data_page(e);
	struct op put = { OP_PUT_TO_ADDRESS, MAGIC2, e->base + off, 0 };
	expect_fault(e, call(e, EENTER, &put), "PUT_TO_ADDRESS to it", 14, 0x8007, off);
}

/* ... then EMODPE back to RW through TCS #2, ERESUME of TCS #1 completes the
 * write, and the value reads back. */
static void sc_emodpe(struct encl *e)
{
	uint64_t off = restrict_data_page(e);
	struct op put = { OP_PUT_TO_ADDRESS, MAGIC2, e->base + off, 0 };
	expect_fault(e, call(e, EENTER, &put), "PUT_TO_ADDRESS to it", 14, 0x8007, off);
	e->run.tcs = e->base + PAGE;
	struct op emodpe = { OP_EMODPE, e->base + off, SI_R | SI_W, 0 };
	expect_eexit(e, call(e, EENTER, &emodpe), "EMODPE to RW on TCS #2");
	e->run.tcs = e->base;
	expect_eexit(e, call(e, ERESUME, &put), "ERESUME of TCS #1");
	get_addr(e, MAGIC2, off, "GET_FROM_ADDRESS from it");
}

/* mprotect of the data page to R: a write faults in the PTE (#PF 0x7, no
 * SGX bit); mprotect back to RW and ERESUME finish it. */
static void sc_mprotect(struct encl *e)
{
	uint64_t off = e->im->data_offset + PAGE;
	void *page = (void *)(uintptr_t)(e->base + off);
	put_addr(e, MAGIC, off, "PUT_TO_ADDRESS to the data page");
	line(mprotect(page, PAGE, PROT_READ) == 0, "mprotect of it to R");
	struct op put = { OP_PUT_TO_ADDRESS, MAGIC2, e->base + off, 0 };
	expect_fault(e, call(e, EENTER, &put), "PUT_TO_ADDRESS to it", 14, 0x7, off);
	line(mprotect(page, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect of it back to RW");
	expect_eexit(e, call(e, ERESUME, &put), "ERESUME of TCS #1");
	get_addr(e, MAGIC2, off, "GET_FROM_ADDRESS from it");
	errno = 0;
	int r = mprotect(page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
	line(r == -1 && errno == EACCES, "mprotect of it to RWX: %s", r ? errname(errno) : "0");

	/* one call over the heap page (enclave) and the page after the image
	 * (the loader's PROT_NONE reservation): each part gets its own */
	uint64_t heap = e->im->src_size - PAGE;
	line(mprotect((void *)(uintptr_t)(e->base + heap), 2 * PAGE, PROT_READ) == 0,
	     "mprotect of the heap page and the page after the image to R");
	line(*(volatile uint64_t *)(uintptr_t)(e->base + heap + PAGE) == 0, "the page after the image reads 0");
	/* never touched, so no PTE: not-present write (0x6), as Linux reports a
	 * write to an unpopulated page of a read-only VMA */
	struct op put2 = { OP_PUT_TO_ADDRESS, MAGIC, e->base + heap, 0 };
	expect_fault(e, call(e, EENTER, &put2), "PUT_TO_ADDRESS to the heap page", 14, 0x6, heap);
}

/* MODIFY_TYPES to TRIM; REMOVE_PAGES before EACCEPT is EPERM; after EACCEPT
 * it removes the page; an EACCEPT of a fresh PENDING page there works and
 * the page reads zero. */
static void sc_remove(struct encl *e)
{
	uint64_t off = e->im->data_offset + PAGE;
	put_addr(e, MAGIC, off, "PUT_TO_ADDRESS to the data page");
	struct sgx_enclave_modify_types mt = { .offset = off, .length = PAGE, .page_type = PT_TRIM_TYPE };
	int r = ioctl(e->fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt);
	expect_ioctl(r, 0, mt.count, PAGE, "MODIFY_TYPES to TRIM");
	struct sgx_enclave_remove_pages rm = { .offset = off, .length = PAGE };
	r = ioctl(e->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
	expect_ioctl(r, EPERM, rm.count, 0, "REMOVE_PAGES before EACCEPT");
	eaccept(e, off, SI_TRIM | SI_MODIFIED, "EACCEPT of the trim");
	rm.count = 0;
	r = ioctl(e->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
	expect_ioctl(r, 0, rm.count, PAGE, "REMOVE_PAGES after EACCEPT");
	eaccept(e, off, SI_R | SI_W | SI_REG | SI_PENDING, "EACCEPT of a new page there");
	get_addr(e, 0, off, "GET_FROM_ADDRESS from it");
}

/* ---- the program's own signal handlers ---- */
static sigjmp_buf segv_jmp;
static volatile void *segv_addr;
static volatile int segv_code, ill_count;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	segv_addr = si->si_addr;
	segv_code = si->si_code;
	siglongjmp(segv_jmp, 1);
}

static void on_ill(int sig)
{
	(void)sig;
	ill_count++;
}

/* The program's SIGSEGV and SIGILL handlers get the program's own faults,
 * sigaction reads back what was set, and the enclave still works. */
static void sc_signals(struct encl *e)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO }, old;
	sigemptyset(&sa.sa_mask);
	line(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction(SIGSEGV) with the program's handler");
	line(sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_sigaction == on_segv && (old.sa_flags & SA_SIGINFO),
	     "sigaction(SIGSEGV) reads it back");
	volatile uint8_t *hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool got = false;
	if (!sigsetjmp(segv_jmp, 1))
		(void)hole[8];
	else
		got = segv_addr == hole + 8 && segv_code == SEGV_ACCERR;
	line(got, "a read of a PROT_NONE page reached the program's SIGSEGV handler (SEGV_ACCERR, its address)");
	munmap((void *)hole, PAGE);

	line(signal(SIGILL, on_ill) == SIG_DFL, "signal(SIGILL) returned the old SIG_DFL");
	raise(SIGILL);
	line(ill_count == 1, "raise(SIGILL) reached the program's handler");
	line(signal(SIGILL, SIG_DFL) == on_ill, "signal(SIGILL) returned the program's handler");

	struct op put = { OP_PUT_TO_BUFFER, MAGIC, 0, 0 }, get = { OP_GET_FROM_BUFFER, 0, 0, 0 };
	expect_eexit(e, call(e, EENTER, &put), "PUT_TO_BUFFER with the handlers in place");
	expect_eexit(e, call(e, EENTER, &get), "GET_FROM_BUFFER");
	line(get.a == MAGIC, "GET_FROM_BUFFER value %#llx", (unsigned long long)get.a);
}

/* What CPUID says of SGX: the instruction (the host's unless CPUID faults)
 * and the preload's sgx2emu_cpuid (found with dlsym, as a program that must
 * also run without the preload would). */
static void sc_cpuid(struct encl *e)
{
	(void)e;
	unsigned a, b, c, d;
	__cpuid_count(7, 0, a, b, c, d);
	printf("%s: CPUID instruction: leaf 7 SGX %u\n", scn, (b >> 2) & 1);
	int (*f)(unsigned, unsigned, unsigned[4]) = (int (*)(unsigned, unsigned, unsigned[4]))dlsym(RTLD_DEFAULT,
												"sgx2emu_cpuid");
	line(f != NULL, "sgx2emu_cpuid found");
	if (!f)
		return;
	unsigned r[4];
	f(7, 0, r);
	line(((r[1] >> 2) & 1) && ((r[2] >> 30) & 1), "sgx2emu_cpuid leaf 7: SGX and SGX_LC");
	f(0x12, 0, r);
	line(r[0] & 1, "sgx2emu_cpuid leaf 0x12.0: SGX1 %u SGX2 %u", r[0] & 1, (r[0] >> 1) & 1);
	f(0x12, 2, r);
	uint64_t size = (r[2] & 0xfffff000ull) | (uint64_t)(r[3] & 0xfffff) << 32;
	line((r[0] & 0xf) == 1 && size, "sgx2emu_cpuid leaf 0x12.2: an EPC section of %llu MiB",
	     (unsigned long long)(size >> 20));
}

/* A fork child gets no SGX (the model is the parent's): ioctl on the
 * inherited enclave fd is EBADF, a new open ENODEV; closing works.  The
 * parent's enclave is untouched. */
static void sc_fork(struct encl *e)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sgx_enclave_remove_pages rm = { .offset = 0, .length = PAGE };
		errno = 0;
		int r = ioctl(e->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
		line(r == -1 && errno == EBADF, "child: ioctl on the inherited enclave fd: %s", r ? errname(errno) : "0");
		errno = 0;
		int fd = open("/dev/sgx_enclave", O_RDWR);
		line(fd == -1 && errno == ENODEV, "child: open of /dev/sgx_enclave: %s", fd < 0 ? errname(errno) : "an fd");
		line(close(e->fd) == 0, "child: close of the inherited enclave fd");
		fflush(stdout);
		_exit(mismatches ? 1 : 0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	line(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's checks held");
	struct op put = { OP_PUT_TO_BUFFER, MAGIC, 0, 0 }, get = { OP_GET_FROM_BUFFER, 0, 0, 0 };
	expect_eexit(e, call(e, EENTER, &put), "PUT_TO_BUFFER in the parent");
	expect_eexit(e, call(e, EENTER, &get), "GET_FROM_BUFFER in the parent");
	line(get.a == MAGIC, "GET_FROM_BUFFER value %#llx", (unsigned long long)get.a);
}

/* Copies of the enclave fd: dup and dup2 stand for the same enclave (an
 * ioctl on them reaches it: EINVAL for a zero length, where a plain file
 * would say ENOTTY), and closing a copy leaves the original working.  Then
 * the fd closed behind the preload's back (a raw close system call) and its
 * number reused by /dev/null: the SGX ioctl on that number reaches /dev/null
 * (ENOTTY), and the enclave lives on while mapped. */
static void sc_fds(struct encl *e)
{
	struct sgx_enclave_remove_pages rm = { .offset = 0, .length = 0 };
	int copy = dup(e->fd);
	errno = 0;
	int r = ioctl(copy, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
	line(r == -1 && errno == EINVAL, "ioctl on a dup of the enclave fd: %s", r ? errname(errno) : "0");
	line(close(copy) == 0, "close of the dup");
	int high = dup2(e->fd, 100);
	errno = 0;
	r = ioctl(high, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
	line(high == 100 && r == -1 && errno == EINVAL, "ioctl on a dup2 of it: %s", r ? errname(errno) : "0");
	line(close(high) == 0, "close of the dup2");
	errno = 0;
	r = ioctl(e->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
	line(r == -1 && errno == EINVAL, "ioctl on the enclave fd: %s", r ? errname(errno) : "0");

	syscall(SYS_close, e->fd);
	int null = open("/dev/null", O_RDWR);
	line(null == e->fd, "/dev/null got the enclave fd's number");
	errno = 0;
	r = ioctl(null, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm);
	line(r == -1 && errno == ENOTTY, "ioctl on it: %s", r ? errname(errno) : "0");
	struct op put = { OP_PUT_TO_BUFFER, MAGIC, 0, 0 }, get = { OP_GET_FROM_BUFFER, 0, 0, 0 };
	expect_eexit(e, call(e, EENTER, &put), "PUT_TO_BUFFER with the enclave fd gone");
	expect_eexit(e, call(e, EENTER, &get), "GET_FROM_BUFFER");
	line(get.a == MAGIC, "GET_FROM_BUFFER value %#llx", (unsigned long long)get.a);
}

/* mremap of enclave memory: growing is EFAULT, moving is not emulated
 * (EINVAL), the same size keeps it, shrinking unmaps the tail: an EACCEPT
 * there then faults as on an address with no mapping (#PF 0x4). */
static void sc_mremap(struct encl *e)
{
	uint64_t off = e->im->src_size;
	void *p = mmap((void *)(uintptr_t)(e->base + off), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       e->fd, 0);
	line(p == (void *)(uintptr_t)(e->base + off), "mmap of 2 pages at +%#llx", (unsigned long long)off);
	errno = 0;
	void *q = mremap(p, 2 * PAGE, 3 * PAGE, 0);
	line(q == MAP_FAILED && errno == EFAULT, "mremap growing them: %s", q == MAP_FAILED ? errname(errno) : "moved");
	errno = 0;
	q = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(uintptr_t)(e->base + off + 0x4000));
	line(q == MAP_FAILED && errno == EINVAL, "mremap moving them: %s", q == MAP_FAILED ? errname(errno) : "moved");
	line(mremap(p, 2 * PAGE, 2 * PAGE, 0) == p, "mremap to the same size: the same address");
	line(mremap(p, 2 * PAGE, PAGE, 0) == p, "mremap shrinking them to 1 page: the same address");
	eaccept(e, off, SI_R | SI_W | SI_REG | SI_PENDING, "EACCEPT of the first page");
	struct op acc = { OP_EACCEPT, e->base + off + PAGE, SI_R | SI_W | SI_REG | SI_PENDING, ~0ull };
	expect_fault(e, call(e, EENTER, &acc), "EACCEPT of the second page", 14, 0x4, off + PAGE);
}

/* Two threads in the enclave at once, one per TCS, each storing to and
 * loading from its own word of the data page many times. */
struct worker {
	struct encl *e;
	unsigned t, bad;
	pthread_t th;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct sgx_enclave_run run = { .tcs = w->e->base + w->t * PAGE };
	uint64_t addr = w->e->base + w->e->im->data_offset + PAGE + 8 * w->t;
	for (uint64_t i = 0; i < 2000; i++) {
		struct op put = { OP_PUT_TO_ADDRESS, (i << 8) | w->t, addr, 0 }, get = { OP_GET_FROM_ADDRESS, 0, addr, 0 };
		int r1 = sgx_host_enter((unsigned long)(uintptr_t)&put, 0, 0, EENTER, 0, 0, &run);
		unsigned f1 = run.function;
		int r2 = sgx_host_enter((unsigned long)(uintptr_t)&get, 0, 0, EENTER, 0, 0, &run);
		w->bad += r1 || r2 || f1 != EEXIT || run.function != EEXIT || get.a != ((i << 8) | w->t);
	}
	return NULL;
}

static void sc_threads(struct encl *e)
{
	struct worker w[2] = { { e, 0, 0, 0 }, { e, 1, 0, 0 } };
	for (unsigned t = 0; t < 2; t++)
		line(pthread_create(&w[t].th, NULL, work, &w[t]) == 0, "thread %u started", t + 1);
	for (unsigned t = 0; t < 2; t++) {
		pthread_join(w[t].th, NULL);
		line(w[t].bad == 0, "thread %u on TCS #%u: 2000 PUT/GET round trips, %u wrong", t + 1, t + 1, w[t].bad);
	}
}

static const struct {
	const char *name;
	void (*run)(struct encl *e);
} scenarios[] = {
	{ "putget", sc_putget },       { "augment", sc_augment }, { "augment-fault", sc_augment_fault },
	{ "restrict", sc_restrict },   { "emodpe", sc_emodpe },   { "mprotect", sc_mprotect },
	{ "remove", sc_remove },       { "signals", sc_signals }, { "cpuid", sc_cpuid },
	{ "fork", sc_fork },           { "fds", sc_fds },         { "threads", sc_threads },
	{ "mremap", sc_mremap },
};

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sgx_host ENCLAVE.elf SCENARIO...\nscenarios:");
		for (unsigned i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			fprintf(stderr, " %s", scenarios[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	static struct image im;
	image_load(&im, argv[1]);
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	sgx_host_vdso_enter = vdso ? (vdso_sgx_enter_enclave_t)vdso_sym(vdso, "__vdso_sgx_enter_enclave") : NULL;
	if (!sgx_host_vdso_enter)
		die("the vDSO has no __vdso_sgx_enter_enclave (is this running under sgx2emu exec?)");
	for (int i = 2; i < argc; i++) {
		unsigned k = 0;
		while (k < sizeof(scenarios) / sizeof(scenarios[0]) && strcmp(scenarios[k].name, argv[i]))
			k++;
		if (k == sizeof(scenarios) / sizeof(scenarios[0]))
			die("unknown scenario '%s'", argv[i]);
		scn = argv[i];
		struct encl e;
		encl_build(&e, &im);
		scenarios[k].run(&e);
		encl_delete(&e);
	}
	free(im.bin);
	return mismatches ? 1 : 0;
}
