/*
 * The native vDSO image on its own (src/native/vdso.c, src/native/vdso/):
 * its layout, emu_elf_lookup on it, on the real vDSO and on libc (DT_HASH and
 * DT_GNU_HASH, unrelocated and relocated dynamic tables) and on damaged
 * copies between guard pages; the forwarders against the real time
 * functions; and __vdso_sgx_enter_enclave against its contract with this
 * file's own SIGILL handler playing the CPU (no native layer involved): the
 * -EINVAL paths, EEXIT, ERESUME, the exception fixup and the user handler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "common/fixture.h"
#include "native/vdso.h"

#define TCS       0x7f0000001000ull
#define DF        0x400ull   /* EFLAGS.DF */
#define SENTINEL_VEC  0x1234
#define SENTINEL_ERR  0x5678
#define SENTINEL_ADDR 0x9abcdef0ull

static const char *const image_names[] = {
	"__vdso_sgx_enter_enclave", "__sgx2emu_vdso_enclu", "__sgx2emu_vdso_fixup", "__sgx2emu_vdso_slots",
	"__vdso_clock_gettime", "clock_gettime", "__vdso_gettimeofday", "gettimeofday", "__vdso_time", "time",
	"__vdso_getcpu", "getcpu", "__vdso_clock_getres", "clock_getres", "__vdso_getrandom", "getrandom",
};
#define NR_NAMES (sizeof(image_names) / sizeof(image_names[0]))

static struct native_vdso V;

static int setup(void **state)
{
	(void)state;
	return native_vdso_load(&V);
}

static int teardown(void **state)
{
	(void)state;
	native_vdso_unload(&V);
	return 0;
}

/* ---- the image and emu_elf_lookup ---- */

static const Elf64_Dyn *find_dyn(const void *base, int64_t tag)
{
	const Elf64_Ehdr *eh = base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)base + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			for (const Elf64_Dyn *d = (const Elf64_Dyn *)((const char *)base + ph[i].p_vaddr); d->d_tag; d++)
				if (d->d_tag == tag)
					return d;
	return NULL;
}

/* One R+X PT_LOAD from offset 0 at address 0, DT_HASH and DT_GNU_HASH, the
 * vDSO's soname, and mapped read-only + executable. */
static void test_layout(void **state)
{
	(void)state;
	const Elf64_Ehdr *eh = V.base;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_type, ET_DYN);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)V.base + eh->e_phoff);
	unsigned loads = 0, dynamics = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			loads++;
			assert_int_equal(ph[i].p_flags, PF_R | PF_X);
			assert_int_equal(ph[i].p_offset, 0);
			assert_int_equal(ph[i].p_vaddr, 0);
			assert_true(ph[i].p_memsz <= V.size);
		}
		dynamics += ph[i].p_type == PT_DYNAMIC;
	}
	assert_int_equal(loads, 1);
	assert_int_equal(dynamics, 1);
	assert_non_null(find_dyn(V.base, DT_HASH));
	assert_non_null(find_dyn(V.base, DT_GNU_HASH));
	assert_null(find_dyn(V.base, DT_RELA));
	const Elf64_Dyn *soname = find_dyn(V.base, DT_SONAME), *strtab = find_dyn(V.base, DT_STRTAB);
	assert_non_null(soname);
	assert_string_equal((const char *)V.base + strtab->d_un.d_ptr + soname->d_un.d_val, "linux-vdso.so.1");

	char line[512], want[32];
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)V.base);
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	bool found = false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want))) {
			found = true;
			assert_memory_equal(strchr(line, ' ') + 1, "r-xp", 4);
		}
	fclose(f);
	assert_true(found);
}

/* Every exported name is found inside the image; the aliases are the
 * __vdso_ functions; the entry points are where native_vdso_load says. */
static void test_lookup_image(void **state)
{
	(void)state;
	uintptr_t lo = (uintptr_t)V.base, hi = lo + V.size;
	for (size_t i = 0; i < NR_NAMES; i++) {
		uintptr_t a = (uintptr_t)emu_elf_lookup(V.base, image_names[i]);
		assert_true(a > lo && a < hi);
	}
	for (size_t i = 4; i < NR_NAMES; i += 2)
		assert_ptr_equal(emu_elf_lookup(V.base, image_names[i]), emu_elf_lookup(V.base, image_names[i + 1]));
	assert_ptr_equal(emu_elf_lookup(V.base, "__vdso_sgx_enter_enclave"), (void *)V.enter);
	assert_int_equal((uintptr_t)emu_elf_lookup(V.base, "__sgx2emu_vdso_enclu"), V.enclu);
	assert_int_equal((uintptr_t)emu_elf_lookup(V.base, "__sgx2emu_vdso_fixup"), V.fixup);
	assert_memory_equal((const void *)(uintptr_t)V.enclu, "\x0f\x01\xd7", 3);
	assert_true(V.fixup > V.enclu && V.enclu > (uintptr_t)V.enter);
	/* Absent, local, the version's ABS symbol, bad arguments. */
	assert_null(emu_elf_lookup(V.base, "__vdso_sgx_enter_enclav"));
	assert_null(emu_elf_lookup(V.base, "__vdso_sgx_enter_enclavee"));
	assert_null(emu_elf_lookup(V.base, "LINUX_2.6"));
	assert_null(emu_elf_lookup(V.base, ""));
	assert_null(emu_elf_lookup(V.base, NULL));
	assert_null(emu_elf_lookup(NULL, "time"));
	assert_null(emu_elf_lookup((const char *)V.base + 1, "time"));
}

/* The real vDSO: found as glibc finds it, and without the SGX entry (which
 * is why this image exists). */
static void test_lookup_real_vdso(void **state)
{
	(void)state;
	const void *real = (const void *)getauxval(AT_SYSINFO_EHDR);
	assert_non_null(real);
	void *h = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
	assert_non_null(h);
	void *ct = emu_elf_lookup(real, "__vdso_clock_gettime");
	assert_non_null(ct);
	assert_ptr_equal(ct, dlsym(h, "__vdso_clock_gettime"));
	assert_ptr_equal(emu_elf_lookup(real, "clock_gettime"), ct);
	assert_ptr_equal(emu_elf_lookup(real, "__vdso_getcpu"), dlsym(h, "__vdso_getcpu"));
	assert_null(emu_elf_lookup(real, "__vdso_sgx_enter_enclave"));
	dlclose(h);
}

/* libc as ld.so mapped it: dynamic tables relocated in place, gaps between
 * segments. */
static void test_lookup_libc(void **state)
{
	(void)state;
	Dl_info info;
	assert_true(dladdr((void *)getauxval, &info));
	void *h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	assert_non_null(h);
	assert_ptr_equal(emu_elf_lookup(info.dli_fbase, "getauxval"), dlsym(h, "getauxval"));
	assert_ptr_equal(emu_elf_lookup(info.dli_fbase, "qsort"), dlsym(h, "qsort"));
	assert_null(emu_elf_lookup(info.dli_fbase, "no_such_function_in_libc"));
	dlclose(h);
}

/* The bytes of the image's (one) PT_LOAD: what a loader copies. */
static size_t image_load_size(void)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)native_vdso_image_start;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(native_vdso_image_start + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			return ph[i].p_filesz;
	return 0;
}

/*
 * A copy of the image in the middle of three pages, the outer two PROT_NONE:
 * a lookup that reads outside the image crashes the test.  The PT_LOAD is
 * widened to the whole page so that "outside" is exactly the guard pages.
 */
struct guarded {
	unsigned char *map;
	unsigned char *img;
};

static struct guarded guarded_copy(void)
{
	struct guarded g;
	g.map = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g.map != MAP_FAILED);
	g.img = g.map + 4096;
	assert_int_equal(mprotect(g.img, 4096, PROT_READ | PROT_WRITE), 0);
	size_t len = image_load_size();
	assert_true(len > 0 && len <= 4096);
	memcpy(g.img, native_vdso_image_start, len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)g.img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(g.img + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			ph[i].p_filesz = ph[i].p_memsz = 4096;
	return g;
}

static void guarded_free(struct guarded *g)
{
	munmap(g->map, 3 * 4096);
}

static Elf64_Dyn *dyn_of(struct guarded *g, int64_t tag)
{
	return (Elf64_Dyn *)find_dyn(g->img, tag);
}

static void *dyn_ptr(struct guarded *g, int64_t tag)
{
	return g->img + dyn_of(g, tag)->d_un.d_ptr;
}

/* Every name resolves in the copy to the offset it has in the loaded image. */
static void assert_copy_resolves(struct guarded *g)
{
	for (size_t i = 0; i < NR_NAMES; i++) {
		uintptr_t a = (uintptr_t)emu_elf_lookup(g->img, image_names[i]);
		uintptr_t b = (uintptr_t)emu_elf_lookup(V.base, image_names[i]);
		assert_int_not_equal(a, 0);
		assert_int_equal(a - (uintptr_t)g->img, b - (uintptr_t)V.base);
	}
}

/* Each hash table alone finds every symbol. */
static void test_lookup_each_hash(void **state)
{
	(void)state;
	struct guarded g = guarded_copy();
	assert_copy_resolves(&g);
	dyn_of(&g, DT_GNU_HASH)->d_tag = DT_DEBUG;   /* DT_HASH only */
	assert_copy_resolves(&g);
	guarded_free(&g);

	g = guarded_copy();
	dyn_of(&g, DT_HASH)->d_tag = DT_DEBUG;       /* DT_GNU_HASH only */
	assert_copy_resolves(&g);
	guarded_free(&g);

	g = guarded_copy();
	dyn_of(&g, DT_HASH)->d_tag = DT_DEBUG;
	dyn_of(&g, DT_GNU_HASH)->d_tag = DT_DEBUG;   /* no hash table: nothing */
	assert_null(emu_elf_lookup(g.img, "__vdso_time"));
	guarded_free(&g);
}

enum damage {
	D_MAGIC, D_CLASS, D_MACHINE, D_PHENTSIZE, D_PHNUM, D_PHOFF, D_FILESZ, D_LOAD_ORDER, D_DYNAMIC_AT,
	D_NO_DYNAMIC, D_STRTAB_AT, D_STRSZ, D_SYMTAB_AT, D_SYMTAB_ODD, D_SYMENT, D_SYMS_NAMES, D_SYSV_NCHAIN, D_SYSV_LOOP,
	D_SYSV_NBUCKET, D_GNU_NBUCKETS, D_GNU_BLOOM, D_GNU_BUCKET, D_GNU_ENDLESS, D_NR
};

/* Break the copy in one way; sysv: the DT_HASH path is taken (no GNU). */
static void damage(struct guarded *g, enum damage d)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)g->img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(g->img + eh->e_phoff);
	uint32_t *sysv = dyn_ptr(g, DT_HASH), *gnu = dyn_ptr(g, DT_GNU_HASH);
	Elf64_Sym *syms = dyn_ptr(g, DT_SYMTAB);
	unsigned nsyms = sysv[1];
	if (d >= D_SYSV_NCHAIN && d <= D_SYSV_NBUCKET)
		dyn_of(g, DT_GNU_HASH)->d_tag = DT_DEBUG;
	switch (d) {
	case D_MAGIC: eh->e_ident[EI_MAG1] = 'F'; break;
	case D_CLASS: eh->e_ident[EI_CLASS] = ELFCLASS32; break;
	case D_MACHINE: eh->e_machine = EM_386; break;
	case D_PHENTSIZE: eh->e_phentsize = 32; break;
	case D_PHNUM: eh->e_phnum = 0xffff; break;
	case D_PHOFF: eh->e_phoff = 4096 - sizeof(Elf64_Phdr); break;
	case D_FILESZ: ph[0].p_filesz = ph[0].p_memsz + 1; break;
	case D_LOAD_ORDER: /* a second PT_LOAD below the first */
		for (unsigned i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_GNU_EH_FRAME)
				ph[i].p_type = PT_LOAD;
		ph[0].p_vaddr = 0x10000;
		break;
	case D_DYNAMIC_AT:
		for (unsigned i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_DYNAMIC)
				ph[i].p_vaddr = 4096 - 8;
		break;
	case D_NO_DYNAMIC:
		for (unsigned i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_DYNAMIC)
				ph[i].p_type = PT_NOTE;
		break;
	case D_STRTAB_AT: dyn_of(g, DT_STRTAB)->d_un.d_ptr = 0x100000; break;
	case D_STRSZ: dyn_of(g, DT_STRSZ)->d_un.d_val = 0x100000; break;
	case D_SYMTAB_AT: dyn_of(g, DT_SYMTAB)->d_un.d_ptr = 4096 + 24; break;
	case D_SYMTAB_ODD: dyn_of(g, DT_SYMTAB)->d_un.d_ptr += 4; break;
	case D_SYMENT: dyn_of(g, DT_SYMENT)->d_un.d_val = 16; break;
	case D_SYMS_NAMES:
		for (unsigned i = 0; i < nsyms; i++)
			syms[i].st_name = 0xfffffff0u;
		break;
	case D_SYSV_NCHAIN: sysv[1] = 0x10000000; break;
	case D_SYSV_LOOP: /* every bucket and chain → symbol 1 → itself */
		for (unsigned i = 0; i < sysv[0] + sysv[1]; i++)
			sysv[2 + i] = 1;
		syms[1].st_name = 0;   /* "" matches nothing looked up */
		break;
	case D_SYSV_NBUCKET: sysv[0] = 0; break;
	case D_GNU_NBUCKETS: gnu[0] = 0; break;
	case D_GNU_BLOOM: gnu[2] = 0x40000000; break;
	case D_GNU_BUCKET: /* every bucket → symbol 0xfffffff0 */
		for (unsigned i = 0; i < gnu[0]; i++)
			gnu[4 + 2 * gnu[2] + i] = 0xfffffff0u;
		break;
	case D_GNU_ENDLESS: { /* every bucket → a chain in the zeros at the page's end: no end bit */
		uint32_t *chain = gnu + 4 + 2 * gnu[2] + gnu[0];
		uint32_t start = gnu[1] + (uint32_t)((g->img + 4096 - 64 - (unsigned char *)chain) / 4);
		for (unsigned i = 0; i < gnu[0]; i++)
			gnu[4 + 2 * gnu[2] + i] = start;
		break;
	}
	case D_NR: break;
	}
}

/* Each damage alone makes every name unfindable, and reads stay in the image. */
static void test_lookup_damaged(void **state)
{
	(void)state;
	for (int d = 0; d < D_NR; d++) {
		struct guarded g = guarded_copy();
		damage(&g, (enum damage)d);
		for (size_t i = 0; i < NR_NAMES; i++)
			if (emu_elf_lookup(g.img, image_names[i])) {
				print_error("damage %d: %s found\n", d, image_names[i]);
				fail();
			}
		guarded_free(&g);
	}
}

/* Random bytes anywhere in the image: any answer, but never a read outside
 * it, and an answer is always an address in the image. */
static void test_lookup_fuzzed(void **state)
{
	(void)state;
	size_t len = image_load_size();
	/* Not the headers: what the PT_LOADs say is readable is trusted. */
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)native_vdso_image_start;
	size_t from = eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr);
	unsigned seed = 12345;
	for (int round = 0; round < 3000; round++) {
		struct guarded g = guarded_copy();
		int flips = 1 + round % 8;
		for (int k = 0; k < flips; k++) {
			size_t at = from + (size_t)rand_r(&seed) % (len - from);
			g.img[at] = (unsigned char)rand_r(&seed);
		}
		for (size_t i = 0; i < NR_NAMES; i++) {
			uintptr_t a = (uintptr_t)emu_elf_lookup(g.img, image_names[i]);
			(void)a;   /* the value may be junk (a flipped st_value); reading stayed inside */
		}
		guarded_free(&g);
	}
}

/* ---- the forwarders ---- */

typedef int (*clock_fn)(clockid_t, struct timespec *);
typedef int (*tod_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
typedef ssize_t (*getrandom_fn)(void *, size_t, unsigned, void *, size_t);

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The time functions of the image at base agree with libc's. */
static void check_forwarders(const void *base)
{
	clock_fn ct = (clock_fn)emu_elf_lookup(base, "__vdso_clock_gettime");
	clock_fn cr = (clock_fn)emu_elf_lookup(base, "clock_getres");
	tod_fn tod = (tod_fn)emu_elf_lookup(base, "gettimeofday");
	time_fn tm = (time_fn)emu_elf_lookup(base, "__vdso_time");
	getcpu_fn gc = (getcpu_fn)emu_elf_lookup(base, "getcpu");
	assert_true(ct && cr && tod && tm && gc);

	struct timespec a, b, ours;
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &a), 0);
	assert_int_equal(ct(CLOCK_MONOTONIC, &ours), 0);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &b), 0);
	assert_true(ns(&a) <= ns(&ours) && ns(&ours) <= ns(&b));
	assert_int_equal(ct(1000, &ours), -EINVAL);   /* no such clock */

	struct timespec res, ours_res;
	assert_int_equal(clock_getres(CLOCK_MONOTONIC, &res), 0);
	assert_int_equal(cr(CLOCK_MONOTONIC, &ours_res), 0);
	assert_int_equal(ns(&res), ns(&ours_res));

	/* time() is the coarse clock: it may lag CLOCK_REALTIME by a tick. */
	struct timeval tv;
	struct timespec coarse;
	assert_int_equal(clock_gettime(CLOCK_REALTIME_COARSE, &coarse), 0);
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &a), 0);
	assert_int_equal(tod(&tv, NULL), 0);
	time_t t = tm(NULL);
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &b), 0);
	int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	assert_true(ns(&a) / 1000 * 1000 <= tv_ns && tv_ns <= ns(&b));
	assert_true(coarse.tv_sec <= t && t <= b.tv_sec);
	time_t t2 = 0;
	t = tm(&t2);
	assert_int_equal(t, t2);

	unsigned cpu = ~0u, node = ~0u;
	assert_int_equal(gc(&cpu, &node, NULL), 0);
	assert_true(cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF));
	assert_true(node != ~0u);
}

/* Forwarding to the real vDSO: the slots hold its functions exactly. */
static void test_forwarders_real(void **state)
{
	(void)state;
	const void *real = (const void *)getauxval(AT_SYSINFO_EHDR);
	const uint64_t *slots = emu_elf_lookup(V.base, "__sgx2emu_vdso_slots");
	for (unsigned i = 0; i < NATIVE_VDSO_NR_SLOTS; i++) {
		void *fn = emu_elf_lookup(real, native_vdso_slot_names[i]);
		if (fn)
			assert_int_equal(slots[i], (uintptr_t)fn);
		else
			assert_true(slots[i] > (uintptr_t)V.base && slots[i] < (uintptr_t)V.base + V.size);
	}
	assert_non_null(emu_elf_lookup(real, "__vdso_clock_gettime"));
	check_forwarders(V.base);

	/* getrandom: the same answer to glibc's parameter query as the real one. */
	getrandom_fn ours = (getrandom_fn)emu_elf_lookup(V.base, "__vdso_getrandom");
	getrandom_fn theirs = (getrandom_fn)emu_elf_lookup(real, "__vdso_getrandom");
	unsigned char p1[64], p2[64];
	memset(p1, 0, sizeof(p1));
	memset(p2, 0, sizeof(p2));
	ssize_t r1 = ours(p1, 0, 0, NULL, ~(size_t)0);
	if (theirs) {
		assert_int_equal(r1, theirs(p2, 0, 0, NULL, ~(size_t)0));
		assert_memory_equal(p1, p2, sizeof(p1));
	} else {
		assert_int_equal(r1, -ENOSYS);
	}
}

/* Without a real vDSO every forwarder takes its fallback (the system call;
 * -ENOSYS for getrandom), inside the image. */
static void test_forwarders_fallback(void **state)
{
	(void)state;
	struct native_vdso v2;
	assert_int_equal(native_vdso_load_from(&v2, NULL), 0);
	const uint64_t *slots = emu_elf_lookup(v2.base, "__sgx2emu_vdso_slots");
	for (unsigned i = 0; i < NATIVE_VDSO_NR_SLOTS; i++)
		assert_true(slots[i] > (uintptr_t)v2.base && slots[i] < (uintptr_t)v2.base + v2.size);
	check_forwarders(v2.base);
	getrandom_fn gr = (getrandom_fn)emu_elf_lookup(v2.base, "getrandom");
	unsigned char buf[16];
	assert_int_equal(gr(buf, sizeof(buf), 0, NULL, 0), -ENOSYS);
	native_vdso_unload(&v2);
	assert_null(v2.base);
	native_vdso_unload(&v2);   /* twice: harmless */
}

/* ---- __vdso_sgx_enter_enclave, with this file as the CPU ---- */

/*
 * Calls fn like an assembly caller would: loads RBX, RBP, R12-R15 with
 * chosen values and the arguments, records what the callee-saved registers,
 * RSP and RFLAGS are on return.
 */
struct call {
	uint64_t fn;                                   /* 0 */
	uint64_t rdi, rsi, rdx, rcx, r8, r9;           /* 8..48 */
	uint64_t run;                                  /* 56 */
	uint64_t rbx, rbp, r12, r13, r14, r15;         /* 64..104: loaded before the call */
	uint64_t o_rbx, o_rbp, o_r12, o_r13, o_r14, o_r15;   /* 112..152: after it */
	uint64_t rsp_before, rsp_after, rflags, ret;   /* 160..184 */
};
void call_vdso(struct call *c);
__asm__(".text\n"
	".globl call_vdso\n"
	".type call_vdso, @function\n"
	"call_vdso:\n"
	"	push %rbp\n	push %rbx\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rdi\n"
	"	mov %rdi, %rax\n"
	"	sub $8, %rsp\n"
	"	push 56(%rax)\n"
	"	mov %rsp, 160(%rax)\n"
	"	mov 64(%rax), %rbx\n	mov 72(%rax), %rbp\n"
	"	mov 80(%rax), %r12\n	mov 88(%rax), %r13\n	mov 96(%rax), %r14\n	mov 104(%rax), %r15\n"
	"	mov 8(%rax), %rdi\n	mov 16(%rax), %rsi\n	mov 24(%rax), %rdx\n	mov 32(%rax), %rcx\n"
	"	mov 40(%rax), %r8\n	mov 48(%rax), %r9\n"
	"	call *(%rax)\n"
	"	pushfq\n"
	"	push %rax\n"
	"	mov 32(%rsp), %rax\n"
	"	mov %rbx, 112(%rax)\n	mov %rbp, 120(%rax)\n	mov %r12, 128(%rax)\n"
	"	mov %r13, 136(%rax)\n	mov %r14, 144(%rax)\n	mov %r15, 152(%rax)\n"
	"	lea 16(%rsp), %rbx\n	mov %rbx, 168(%rax)\n"
	"	pop %rbx\n	movslq %ebx, %rbx\n	mov %rbx, 184(%rax)\n"
	"	pop %rbx\n	mov %rbx, 176(%rax)\n"
	"	add $16, %rsp\n"
	"	pop %rdi\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbx\n	pop %rbp\n"
	"	ret\n"
	".size call_vdso, . - call_vdso\n");

/* What the CPU does at the n-th ENCLU. */
enum step_kind { S_EEXIT, S_FAULT };
struct step {
	enum step_kind kind;
	uint64_t rdi, rsi, rdx, r8, r9, r12;   /* EEXIT: the enclave's registers (0: unchanged) */
	int64_t rsp_down;                     /* EEXIT: the enclave leaves RSP this much lower ... */
	uint64_t marker;                      /* ... with this at [RSP] */
	bool set_df;
};

/* What it saw there. */
struct seen {
	uint64_t rax, rbx, rcx, rip, rsp, rdi, rsi, rdx, r8, r9, r10, r11, r12, r13, r14, r15;
};

#define MAX_STEPS 4
static struct {
	struct step step[MAX_STEPS];
	struct seen seen[MAX_STEPS];
	unsigned n;
} cpu;

static uint64_t ursp_expected;

static void on_sigill(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)g[REG_RIP];
	if (ip[0] != 0x0f || ip[1] != 0x01 || ip[2] != 0xd7 || cpu.n >= MAX_STEPS)
		abort();   /* not an ENCLU, or more than the test planned: stop here */
	struct seen *s = &cpu.seen[cpu.n];
	const struct step *st = &cpu.step[cpu.n++];
	*s = (struct seen){ g[REG_RAX], g[REG_RBX], g[REG_RCX], g[REG_RIP], g[REG_RSP], g[REG_RDI], g[REG_RSI],
			    g[REG_RDX], g[REG_R8], g[REG_R9], g[REG_R10], g[REG_R11], g[REG_R12], g[REG_R13],
			    g[REG_R14], g[REG_R15] };
	/* RBX and RCX are the enclave's after either exit: junk. */
	g[REG_RBX] = (greg_t)0xbbbbbbbbbbbbbbbbull;
	if (st->kind == S_FAULT) {
		g[REG_RIP] = (greg_t)V.fixup;
		g[REG_RCX] = (greg_t)0xccccccccccccccccull;
		g[REG_RDI] = 14;
		g[REG_RSI] = 0x8007;
		g[REG_RDX] = 0x1000;
		g[REG_RAX] = 3;
		return;
	}
	g[REG_RAX] = SGX_EEXIT;
	g[REG_RIP] = g[REG_RCX] + 3;   /* the enclave returns to EENTER's RCX + 3: after the ENCLU */
	g[REG_RCX] = (greg_t)0xccccccccccccccccull;
	if (st->rdi) {
		g[REG_RDI] = (greg_t)st->rdi;
		g[REG_RSI] = (greg_t)st->rsi;
		g[REG_RDX] = (greg_t)st->rdx;
		g[REG_R8] = (greg_t)st->r8;
		g[REG_R9] = (greg_t)st->r9;
	}
	if (st->r12) {
		g[REG_R12] = (greg_t)st->r12;
		g[REG_R13] = (greg_t)st->r12 + 1;
		g[REG_R14] = (greg_t)st->r12 + 2;
		g[REG_R15] = (greg_t)st->r12 + 3;
	}
	if (st->rsp_down) {
		/* Below RSP, above the red zone the kernel skips for this frame. */
		g[REG_RSP] -= st->rsp_down;
		*(uint64_t *)g[REG_RSP] = st->marker;
		ursp_expected = (uint64_t)g[REG_RSP];
	}
	if (st->set_df)
		g[REG_EFL] |= DF;
}

static struct sigaction old_sigill;

static int setup_cpu(void **state)
{
	memset(&cpu, 0, sizeof(cpu));
	ursp_expected = 0;
	return setup(state);
}

/*
 * on_sigill for the rest of the test.  Installed by the test body itself:
 * cmocka puts its own SIGILL handler in place around a test (and puts back
 * what was there before it when the test ends, also when it fails).
 */
static void cpu_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGILL, &sa, &old_sigill), 0);
}

static void cpu_restore(void)
{
	assert_int_equal(sigaction(SIGILL, &old_sigill, NULL), 0);
}

/* A run with sentinels where the vDSO must not write on EEXIT. */
static void run_init(struct sgx_enclave_run *run)
{
	memset(run, 0, sizeof(*run));
	run->tcs = TCS;
	run->function = 0xdead;
	run->exception_vector = SENTINEL_VEC;
	run->exception_error_code = SENTINEL_ERR;
	run->exception_addr = SENTINEL_ADDR;
	run->user_data = 0x5555;
}

static void call_init(struct call *c, uint64_t function, struct sgx_enclave_run *run)
{
	memset(c, 0, sizeof(*c));
	c->fn = (uintptr_t)V.enter;
	c->rdi = 0x1111;
	c->rsi = 0x2222;
	c->rdx = 0x3333;
	c->rcx = function;
	c->r8 = 0x8888;
	c->r9 = 0x9999;
	c->run = (uintptr_t)run;
	c->rbx = 0xb0b0b0b0;
	c->rbp = 0xbe00be00;   /* any value: the vDSO must keep it for its caller */
	c->r12 = 0x1212;
	c->r13 = 0x1313;
	c->r14 = 0x1414;
	c->r15 = 0x1515;
}

/* RBX, RBP and RSP as the caller had them, DF clear. */
static void assert_abi(const struct call *c)
{
	assert_int_equal(c->o_rbx, c->rbx);
	assert_int_equal(c->o_rbp, c->rbp);
	assert_int_equal(c->rsp_after, c->rsp_before);
	assert_int_equal(c->rflags & DF, 0);
}

/* The ENCLU as the contract says: leaf, TCS, AEP = the ENCLU itself, and
 * the caller's other registers as they were. */
static void assert_enclu(const struct seen *s, uint64_t leaf, const struct call *c)
{
	assert_int_equal(s->rax, leaf);
	assert_int_equal(s->rbx, TCS);
	assert_int_equal(s->rcx, V.enclu);
	assert_int_equal(s->rip, V.enclu);
	assert_int_equal(s->rdi, c->rdi);
	assert_int_equal(s->rsi, c->rsi);
	assert_int_equal(s->rdx, c->rdx);
	assert_int_equal(s->r8, c->r8);
	assert_int_equal(s->r9, c->r9);
	assert_int_equal(s->r12, c->r12);
	assert_int_equal(s->r13, c->r13);
	assert_int_equal(s->r14, c->r14);
	assert_int_equal(s->r15, c->r15);
}

/* -EINVAL before any ENCLU: leaves other than EENTER/ERESUME, and each
 * reserved byte non-zero in turn; run is not written. */
static void test_einval(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	static const uint64_t bad[] = { 0, 1, 4, 5, 0xffffffff, 0x100000000ull };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_init(&run);
		call_init(&c, bad[i], &run);
		call_vdso(&c);
		assert_int_equal(c.ret, -EINVAL);
		assert_abi(&c);
		assert_int_equal(run.function, 0xdead);
	}
	for (size_t i = 0; i < sizeof(run.reserved); i++) {
		run_init(&run);
		run.reserved[i] = 0x80;
		call_init(&c, SGX_EENTER, &run);
		call_vdso(&c);
		assert_int_equal(c.ret, -EINVAL);
		assert_int_equal(run.function, 0xdead);
	}
	assert_int_equal(cpu.n, 0);
	/* And through a C call. */
	run_init(&run);
	assert_int_equal(V.enter(0, 0, 0, 7, 0, 0, &run), -EINVAL);
	assert_int_equal(cpu.n, 0);
	cpu_restore();
}

/* EENTER + an immediate EEXIT: 0, run->function = EEXIT, exception fields
 * untouched; the caller sees the enclave's R12-R15 but its own RBX/RBP/RSP,
 * and DF clear although the enclave left it set. */
static void test_eenter_eexit(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	call_init(&c, SGX_EENTER, &run);
	cpu.step[0] = (struct step){ .kind = S_EEXIT, .r12 = 0xe12, .set_df = true };
	call_vdso(&c);
	assert_int_equal(c.ret, 0);
	assert_int_equal(cpu.n, 1);
	assert_enclu(&cpu.seen[0], SGX_EENTER, &c);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, SENTINEL_VEC);
	assert_int_equal(run.exception_error_code, SENTINEL_ERR);
	assert_int_equal(run.exception_addr, SENTINEL_ADDR);
	assert_int_equal(run.tcs, TCS);
	assert_int_equal(run.user_data, 0x5555);
	assert_abi(&c);
	assert_int_equal(c.o_r12, 0xe12);
	assert_int_equal(c.o_r13, 0xe13);
	assert_int_equal(c.o_r14, 0xe14);
	assert_int_equal(c.o_r15, 0xe15);
	cpu_restore();
}

/* ERESUME as the caller's leaf; also the upper half of RCX is ignored. */
static void test_eresume(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	call_init(&c, 0xabcd000000000000ull | SGX_ERESUME, &run);
	cpu.step[0] = (struct step){ .kind = S_EEXIT };
	call_vdso(&c);
	assert_int_equal(c.ret, 0);
	assert_int_equal(cpu.n, 1);
	assert_int_equal(cpu.seen[0].rax, SGX_ERESUME);
	assert_int_equal(cpu.seen[0].rbx, TCS);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_abi(&c);
	cpu_restore();
}

/* An exception: the fixup's RDI/RSI/RDX/RAX land in run, result 0. */
static void test_exception(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	call_init(&c, SGX_EENTER, &run);
	cpu.step[0] = (struct step){ .kind = S_FAULT };
	call_vdso(&c);
	assert_int_equal(c.ret, 0);
	assert_int_equal(cpu.n, 1);
	assert_enclu(&cpu.seen[0], SGX_EENTER, &c);
	assert_int_equal(run.function, 3);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x8007);
	assert_int_equal(run.exception_addr, 0x1000);
	assert_int_equal(run.tcs, TCS);
	assert_abi(&c);
	cpu_restore();
}

/* ---- the user handler ---- */

#define MAX_CALLS 4
static struct {
	long rdi, rsi, rdx, ursp, r8, r9;
	struct sgx_enclave_run *run;
	uint32_t function;             /* run->function when called */
	uint64_t entry_rsp, entry_flags;
	uint64_t at_ursp;              /* what [ursp] held */
} hcall[MAX_CALLS];
static unsigned nr_hcalls;
static int hret[MAX_CALLS];        /* what call i returns */
static bool poison_reserved;       /* call 0 sets a reserved byte */
uint64_t handler_entry_rsp, handler_entry_flags;

int user_handler_c(long rdi, long rsi, long rdx, long ursp, long r8, long r9, struct sgx_enclave_run *run);
int user_handler_c(long rdi, long rsi, long rdx, long ursp, long r8, long r9, struct sgx_enclave_run *run)
{
	if (nr_hcalls >= MAX_CALLS)
		abort();
	unsigned i = nr_hcalls++;
	hcall[i].rdi = rdi;
	hcall[i].rsi = rsi;
	hcall[i].rdx = rdx;
	hcall[i].ursp = ursp;
	hcall[i].r8 = r8;
	hcall[i].r9 = r9;
	hcall[i].run = run;
	hcall[i].function = run->function;
	hcall[i].entry_rsp = handler_entry_rsp;
	hcall[i].entry_flags = handler_entry_flags;
	hcall[i].at_ursp = ursp_expected ? *(uint64_t *)ursp : 0;
	if (poison_reserved && i == 0)
		run->reserved[100] = 1;
	return hret[i];
}

/* Records RSP and RFLAGS at the call, then is user_handler_c. */
int user_handler(long, long, long, long, long, long, struct sgx_enclave_run *);
__asm__(".text\n"
	".globl user_handler\n"
	".type user_handler, @function\n"
	"user_handler:\n"
	"	mov %rsp, handler_entry_rsp(%rip)\n"
	"	pushfq\n"
	"	popq handler_entry_flags(%rip)\n"
	"	jmp user_handler_c\n"
	".size user_handler, . - user_handler\n");

static int setup_handler(void **state)
{
	memset(hcall, 0, sizeof(hcall));
	memset(hret, 0, sizeof(hret));
	nr_hcalls = 0;
	poison_reserved = false;
	return setup_cpu(state);
}

/* The handler's arguments on EEXIT: the enclave's registers, RSP at the exit
 * (what the enclave put there intact), run; a 16-byte aligned call (RSP + 8)
 * with DF clear.  Its > 0 result is the next leaf (ERESUME seen by the CPU,
 * with RBX = TCS and RCX = AEP again), its <= 0 result is returned. */
static void test_handler_next_leaf(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	run.user_handler = (uintptr_t)user_handler;
	call_init(&c, SGX_EENTER, &run);
	/* 72: RSP at the exit is not 16-byte aligned, the vDSO must align. */
	cpu.step[0] = (struct step){ .kind = S_EEXIT, .rdi = 0xd1, .rsi = 0x51, .rdx = 0xd2, .r8 = 0x88, .r9 = 0x99,
				     .rsp_down = 72, .marker = 0x6d61726b6572, .set_df = true };
	cpu.step[1] = (struct step){ .kind = S_EEXIT, .rdi = 0xd3, .rsi = 0x53, .rdx = 0xd4, .r8 = 0x8a, .r9 = 0x9a };
	hret[0] = SGX_ERESUME;
	hret[1] = -7;
	call_vdso(&c);
	assert_int_equal(c.ret, -7);
	assert_int_equal(cpu.n, 2);
	assert_int_equal(nr_hcalls, 2);

	assert_int_equal(hcall[0].rdi, 0xd1);
	assert_int_equal(hcall[0].rsi, 0x51);
	assert_int_equal(hcall[0].rdx, 0xd2);
	assert_int_equal(hcall[0].r8, 0x88);
	assert_int_equal(hcall[0].r9, 0x99);
	assert_int_equal(hcall[0].ursp, ursp_expected);
	assert_int_equal(hcall[0].ursp, cpu.seen[0].rsp - 72);
	assert_int_equal(hcall[0].at_ursp, 0x6d61726b6572);
	assert_ptr_equal(hcall[0].run, &run);
	assert_int_equal(hcall[0].function, SGX_EEXIT);
	assert_int_equal((hcall[0].entry_rsp + 8) % 16, 0);
	assert_true(hcall[0].entry_rsp < (uint64_t)hcall[0].ursp);
	assert_int_equal(hcall[0].entry_flags & DF, 0);

	assert_int_equal(cpu.seen[1].rax, SGX_ERESUME);
	assert_int_equal(cpu.seen[1].rbx, TCS);
	assert_int_equal(cpu.seen[1].rcx, V.enclu);
	assert_int_equal(cpu.seen[1].rip, V.enclu);

	assert_int_equal(hcall[1].rdi, 0xd3);
	assert_int_equal(hcall[1].rsi, 0x53);
	assert_int_equal(hcall[1].rdx, 0xd4);
	assert_int_equal(hcall[1].r8, 0x8a);
	assert_int_equal(hcall[1].r9, 0x9a);
	assert_int_equal(hcall[1].ursp, cpu.seen[1].rsp);
	assert_int_equal((hcall[1].entry_rsp + 8) % 16, 0);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, SENTINEL_VEC);
	assert_abi(&c);
	cpu_restore();
}

/* 0 from the handler is the result; the handler runs once. */
static void test_handler_zero(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	run.user_handler = (uintptr_t)user_handler;
	call_init(&c, SGX_EENTER, &run);
	cpu.step[0] = (struct step){ .kind = S_EEXIT };
	hret[0] = 0;
	call_vdso(&c);
	assert_int_equal(c.ret, 0);
	assert_int_equal(cpu.n, 1);
	assert_int_equal(nr_hcalls, 1);
	assert_int_equal(hcall[0].ursp, cpu.seen[0].rsp);
	assert_abi(&c);
	cpu_restore();
}

/* The leaf a handler asks for is checked like the caller's: 5 is -EINVAL
 * without another ENCLU, so is ERESUME with a reserved byte set. */
static void test_handler_checked(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	run.user_handler = (uintptr_t)user_handler;
	call_init(&c, SGX_EENTER, &run);
	cpu.step[0] = (struct step){ .kind = S_EEXIT };
	hret[0] = 5;
	call_vdso(&c);
	assert_int_equal(c.ret, -EINVAL);
	assert_int_equal(cpu.n, 1);
	assert_int_equal(nr_hcalls, 1);
	assert_abi(&c);

	cpu.n = 0;
	nr_hcalls = 0;
	poison_reserved = true;
	run_init(&run);
	run.user_handler = (uintptr_t)user_handler;
	call_init(&c, SGX_EENTER, &run);
	hret[0] = SGX_ERESUME;
	call_vdso(&c);
	assert_int_equal(c.ret, -EINVAL);
	assert_int_equal(cpu.n, 1);
	assert_int_equal(nr_hcalls, 1);
	assert_abi(&c);
	cpu_restore();
}

/* An exception with a handler: it gets vector, error code and address in
 * RDI/RSI/RDX, run is filled in before, and its result is returned. */
static void test_handler_exception(void **state)
{
	(void)state;
	cpu_install();
	struct sgx_enclave_run run;
	struct call c;
	run_init(&run);
	run.user_handler = (uintptr_t)user_handler;
	call_init(&c, SGX_EENTER, &run);
	cpu.step[0] = (struct step){ .kind = S_FAULT };
	cpu.step[1] = (struct step){ .kind = S_EEXIT };
	hret[0] = SGX_ERESUME;
	hret[1] = -EFAULT;
	call_vdso(&c);
	assert_int_equal(c.ret, -EFAULT);
	assert_int_equal(cpu.n, 2);
	assert_int_equal(nr_hcalls, 2);
	assert_int_equal(hcall[0].rdi, 14);
	assert_int_equal(hcall[0].rsi, 0x8007);
	assert_int_equal(hcall[0].rdx, 0x1000);
	assert_int_equal(hcall[0].function, 3);
	assert_int_equal(cpu.seen[1].rax, SGX_ERESUME);
	assert_int_equal(cpu.seen[1].rbx, TCS);
	assert_int_equal(run.function, SGX_EEXIT);   /* the last exit */
	assert_int_equal(run.exception_vector, 14);   /* from the fault, kept */
	assert_int_equal(run.exception_error_code, 0x8007);
	assert_int_equal(run.exception_addr, 0x1000);
	assert_abi(&c);
	cpu_restore();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_real_vdso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_libc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_each_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_fuzzed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwarders_real, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwarders_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einval, setup_cpu, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_eexit, setup_cpu, teardown),
		cmocka_unit_test_setup_teardown(test_eresume, setup_cpu, teardown),
		cmocka_unit_test_setup_teardown(test_exception, setup_cpu, teardown),
		cmocka_unit_test_setup_teardown(test_handler_next_leaf, setup_handler, teardown),
		cmocka_unit_test_setup_teardown(test_handler_zero, setup_handler, teardown),
		cmocka_unit_test_setup_teardown(test_handler_checked, setup_handler, teardown),
		cmocka_unit_test_setup_teardown(test_handler_exception, setup_handler, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
