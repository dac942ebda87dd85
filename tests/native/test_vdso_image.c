/*
 * The native vDSO image on its own (src/native/vdso.c, src/native/vdso/):
 * its layout, emu_elf_lookup on it, on the real vDSO and on libc (DT_HASH and
 * DT_GNU_HASH, unrelocated and relocated dynamic tables) and on damaged or
 * fuzzed copies between guard pages, and the forwarders against the real
 * time functions.  Its entry function: test_vdso_entry.c.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/fixture.h"
#include "native/vdso_fx.h"

static const char *const image_names[] = {
	"__vdso_sgx_enter_enclave", "__sgx2emu_vdso_enclu", "__sgx2emu_vdso_fixup", "__sgx2emu_vdso_slots",
	"__vdso_clock_gettime", "clock_gettime", "__vdso_gettimeofday", "gettimeofday", "__vdso_time", "time",
	"__vdso_getcpu", "getcpu", "__vdso_clock_getres", "clock_getres", "__vdso_getrandom", "getrandom",
};
#define NR_NAMES (sizeof(image_names) / sizeof(image_names[0]))

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
	const Elf64_Ehdr *eh = vdso_fx.base;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_type, ET_DYN);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)vdso_fx.base + eh->e_phoff);
	unsigned loads = 0, dynamics = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			loads++;
			assert_int_equal(ph[i].p_flags, PF_R | PF_X);
			assert_int_equal(ph[i].p_offset, 0);
			assert_int_equal(ph[i].p_vaddr, 0);
			assert_true(ph[i].p_memsz <= vdso_fx.size);
		}
		dynamics += ph[i].p_type == PT_DYNAMIC;
	}
	assert_int_equal(loads, 1);
	assert_int_equal(dynamics, 1);
	assert_non_null(find_dyn(vdso_fx.base, DT_HASH));
	assert_non_null(find_dyn(vdso_fx.base, DT_GNU_HASH));
	assert_null(find_dyn(vdso_fx.base, DT_RELA));
	const Elf64_Dyn *soname = find_dyn(vdso_fx.base, DT_SONAME), *strtab = find_dyn(vdso_fx.base, DT_STRTAB);
	assert_non_null(soname);
	assert_string_equal((const char *)vdso_fx.base + strtab->d_un.d_ptr + soname->d_un.d_val, "linux-vdso.so.1");

	char line[512], want[32];
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)vdso_fx.base);
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
	uintptr_t lo = (uintptr_t)vdso_fx.base, hi = lo + vdso_fx.size;
	for (size_t i = 0; i < NR_NAMES; i++) {
		uintptr_t a = (uintptr_t)emu_elf_lookup(vdso_fx.base, image_names[i]);
		assert_true(a > lo && a < hi);
	}
	for (size_t i = 4; i < NR_NAMES; i += 2)
		assert_ptr_equal(emu_elf_lookup(vdso_fx.base, image_names[i]), emu_elf_lookup(vdso_fx.base, image_names[i + 1]));
	assert_ptr_equal(emu_elf_lookup(vdso_fx.base, "__vdso_sgx_enter_enclave"), (void *)vdso_fx.enter);
	assert_int_equal((uintptr_t)emu_elf_lookup(vdso_fx.base, "__sgx2emu_vdso_enclu"), vdso_fx.enclu);
	assert_int_equal((uintptr_t)emu_elf_lookup(vdso_fx.base, "__sgx2emu_vdso_fixup"), vdso_fx.fixup);
	assert_memory_equal((const void *)(uintptr_t)vdso_fx.enclu, "\x0f\x01\xd7", 3);
	assert_true(vdso_fx.fixup > vdso_fx.enclu && vdso_fx.enclu > (uintptr_t)vdso_fx.enter);
	/* Absent, local, the version's ABS symbol, bad arguments. */
	assert_null(emu_elf_lookup(vdso_fx.base, "__vdso_sgx_enter_enclav"));
	assert_null(emu_elf_lookup(vdso_fx.base, "__vdso_sgx_enter_enclavee"));
	assert_null(emu_elf_lookup(vdso_fx.base, "LINUX_2.6"));
	assert_null(emu_elf_lookup(vdso_fx.base, ""));
	assert_null(emu_elf_lookup(vdso_fx.base, NULL));
	assert_null(emu_elf_lookup(NULL, "time"));
	assert_null(emu_elf_lookup((const char *)vdso_fx.base + 1, "time"));
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

/* Hides the copy's dynamic entry of tag: its tag becomes DT_DEBUG, which
 * a lookup passes over. */
static void hide(struct guarded *g, int64_t tag)
{
	dyn_of(g, tag)->d_tag = DT_DEBUG;
}

/* Every name resolves in the copy to the offset it has in the loaded image. */
static void assert_copy_resolves(struct guarded *g)
{
	for (size_t i = 0; i < NR_NAMES; i++) {
		uintptr_t a = (uintptr_t)emu_elf_lookup(g->img, image_names[i]);
		uintptr_t b = (uintptr_t)emu_elf_lookup(vdso_fx.base, image_names[i]);
		assert_int_not_equal(a, 0);
		assert_int_equal(a - (uintptr_t)g->img, b - (uintptr_t)vdso_fx.base);
	}
}

/* Each hash table alone finds every symbol. */
static void test_lookup_each_hash(void **state)
{
	(void)state;
	struct guarded g = guarded_copy();
	assert_copy_resolves(&g);
	hide(&g, DT_GNU_HASH);   /* DT_HASH only */
	assert_copy_resolves(&g);
	guarded_free(&g);

	g = guarded_copy();
	hide(&g, DT_HASH);       /* DT_GNU_HASH only */
	assert_copy_resolves(&g);
	guarded_free(&g);

	g = guarded_copy();
	hide(&g, DT_HASH);
	hide(&g, DT_GNU_HASH);   /* no hash table: nothing */
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
		hide(g, DT_GNU_HASH);
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
	const uint64_t *slots = emu_elf_lookup(vdso_fx.base, "__sgx2emu_vdso_slots");
	for (unsigned i = 0; i < NATIVE_VDSO_NR_SLOTS; i++) {
		void *fn = emu_elf_lookup(real, native_vdso_slot_names[i]);
		if (fn)
			assert_int_equal(slots[i], (uintptr_t)fn);
		else
			assert_true(slots[i] > (uintptr_t)vdso_fx.base && slots[i] < (uintptr_t)vdso_fx.base + vdso_fx.size);
	}
	assert_non_null(emu_elf_lookup(real, "__vdso_clock_gettime"));
	check_forwarders(vdso_fx.base);

	/* getrandom: the same answer to glibc's parameter query as the real one. */
	getrandom_fn ours = (getrandom_fn)emu_elf_lookup(vdso_fx.base, "__vdso_getrandom");
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, vdso_fx_setup, vdso_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_layout),
		T(test_lookup_image),
		T(test_lookup_real_vdso),
		T(test_lookup_libc),
		T(test_lookup_each_hash),
		T(test_lookup_damaged),
		T(test_lookup_fuzzed),
		T(test_forwarders_real),
		T(test_forwarders_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
