/*
 * The freestanding test enclave (tests/native/encl, embedded by encl_blob.S)
 * and test_encl_image_from_elf (src/runtime/selftest_elf.c):
 *   - the built ELF: three PT_LOADs with the TEST_ENCL_* layout and flags,
 *     TCS pages identical to the model image's, the symbols at the model's
 *     offsets, nothing to relocate;
 *   - in model mode: the loader builds it (EINIT accepts the SIGSTRUCT, so the
 *     hardware model measured what the loader measured) and its MRENCLAVE is
 *     the one this test computes from the ELF by itself;
 *   - malformed files are rejected with EINVAL: each check of the adapter.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "native/encl_blob.h"
#include "sgx2emu/emu.h"
#include "sgx2emu/selftest.h"
#include "sgx2emu/sign.h"

/* ---- helpers ---- */

static const struct test_encl_image *built_image(void)
{
	const struct test_encl_image *img = test_encl_image_from_elf(test_encl_elf_start, test_encl_elf_size());
	assert_non_null(img);
	return img;
}

static uint64_t sym(const struct test_encl_image *img, const char *name)
{
	for (unsigned i = 0; i < img->nr_syms; i++)
		if (!strcmp(img->syms[i].name, name))
			return img->syms[i].value;
	fail_msg("no symbol %s", name);
	return 0;
}

static bool has_sym(const struct test_encl_image *img, const char *name)
{
	for (unsigned i = 0; i < img->nr_syms; i++)
		if (!strcmp(img->syms[i].name, name))
			return true;
	return false;
}

/* A private copy of the built ELF, to damage. */
static uint8_t *elf_copy(size_t *size)
{
	*size = test_encl_elf_size();
	uint8_t *p = malloc(*size);
	assert_non_null(p);
	memcpy(p, test_encl_elf_start, *size);
	return p;
}

static Elf64_Ehdr *ehdr(uint8_t *elf)
{
	return (Elf64_Ehdr *)elf;
}

static Elf64_Phdr *phdr(uint8_t *elf, unsigned i)
{
	return (Elf64_Phdr *)(elf + ehdr(elf)->e_phoff) + i;
}

static Elf64_Shdr *shdr_of_type(uint8_t *elf, uint32_t type)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(elf + ehdr(elf)->e_shoff);
	for (unsigned i = 0; i < ehdr(elf)->e_shnum; i++)
		if (sh[i].sh_type == type)
			return &sh[i];
	return NULL;
}

/* The adapter rejects elf[0..size): NULL, errno EINVAL. */
static void expect_rejected(const uint8_t *elf, size_t size)
{
	errno = 0;
	assert_null(test_encl_image_from_elf(elf, size));
	assert_int_equal(errno, EINVAL);
}

/* ---- the built ELF ---- */

static void elf_has_three_segments_at_the_model_layout(void **state)
{
	(void)state;
	const struct test_encl_image *img = built_image();
	assert_int_equal(img->nr_phdrs, 3);
	uint64_t first = img->phdrs[0].offset;
	assert_int_equal(img->phdrs[0].offset - first, TEST_ENCL_TCS1);
	assert_int_equal(img->phdrs[0].filesz, TEST_ENCL_TEXT - TEST_ENCL_TCS1);
	assert_int_equal(img->phdrs[0].flags, PF_R | PF_W);
	assert_int_equal(img->phdrs[1].offset - first, TEST_ENCL_TEXT);
	assert_int_equal(img->phdrs[1].filesz, TEST_ENCL_DATA - TEST_ENCL_TEXT);
	assert_int_equal(img->phdrs[1].flags, PF_R | PF_X);
	assert_int_equal(img->phdrs[2].offset - first, TEST_ENCL_DATA);
	assert_int_equal(img->phdrs[2].filesz, TEST_ENCL_IMAGE_SIZE - TEST_ENCL_DATA);
	assert_int_equal(img->phdrs[2].flags, PF_R | PF_W);
	assert_int_equal(img->bin_size, TEST_ENCL_IMAGE_SIZE);
	assert_int_equal((uintptr_t)img->bin % 4096, 0);
	/* a copy: the image's bytes are the file's, somewhere else */
	assert_ptr_not_equal(img->bin, test_encl_elf_start + first);
	assert_memory_equal(img->bin, test_encl_elf_start + first, TEST_ENCL_IMAGE_SIZE);
	test_encl_image_free(img);
}

/* Both TCS pages, field for field, are the model image's (OSSA = the SSA
 * offsets, NSSA 1, OENTRY = encl_entry, FS/GS limits ~0, the rest 0). */
static void elf_tcs_pages_equal_the_models(void **state)
{
	(void)state;
	const struct test_encl_image *img = built_image();
	const struct test_encl_image *model = test_encl_image();
	assert_memory_equal(img->bin + TEST_ENCL_TCS1, model->bin + TEST_ENCL_TCS1, 2 * 4096);
	uint64_t ossa, oentry;
	uint32_t nssa;
	memcpy(&ossa, img->bin + TEST_ENCL_TCS2 + 16, 8);
	memcpy(&nssa, img->bin + TEST_ENCL_TCS2 + 28, 4);
	memcpy(&oentry, img->bin + TEST_ENCL_TCS2 + 32, 8);
	assert_int_equal(ossa, TEST_ENCL_SSA2);
	assert_int_equal(nssa, 1);
	assert_int_equal(oentry, TEST_ENCL_ENTRY);
	/* encl_buffer = {1}, SSAs and stacks zero */
	assert_int_equal(img->bin[TEST_ENCL_BUFFER], 1);
	for (uint64_t i = TEST_ENCL_SSA1; i < TEST_ENCL_IMAGE_SIZE; i++)
		if (img->bin[i])
			fail_msg("byte %#llx of the SSAs/stacks is %#x", (unsigned long long)i, img->bin[i]);
	test_encl_image_free(img);
}

static void elf_symbols_at_the_model_offsets(void **state)
{
	(void)state;
	const struct test_encl_image *img = built_image();
	assert_int_equal(sym(img, "encl_entry"), TEST_ENCL_ENTRY);
	assert_int_equal(sym(img, "encl_dyn_entry"), TEST_ENCL_DYN_ENTRY);
	assert_int_equal(sym(img, "encl_buffer"), TEST_ENCL_BUFFER);
	assert_int_equal(sym(img, "encl_ssa_tcs1"), TEST_ENCL_SSA1);
	assert_int_equal(sym(img, "encl_ssa_tcs2"), TEST_ENCL_SSA2);
	assert_int_equal(sym(img, "encl_stack"), TEST_ENCL_STACK);
	assert_int_equal(sym(img, "__encl_base"), 0);
	uint64_t body = sym(img, "encl_body");
	assert_true(body >= TEST_ENCL_TEXT && body < TEST_ENCL_DATA);
	/* file and section symbols are not listed; no model code */
	assert_false(has_sym(img, "entry.o"));
	assert_false(has_sym(img, "encl.c"));
	for (unsigned i = 0; i < img->nr_syms; i++) {
		assert_null(img->syms[i].fn);
		assert_true(img->syms[i].name[0] != '\0');
	}
	test_encl_image_free(img);
}

/* The code: the EEXIT (mov $4, %eax; ENCLU) is there, the first bytes of
 * encl_entry are the RIP-relative lea of the base; nothing to relocate or
 * link dynamically (mk/encl.mk fails the build otherwise: this pins it). */
static void elf_code_is_position_independent(void **state)
{
	(void)state;
	size_t size;
	uint8_t *elf = elf_copy(&size);
	const struct test_encl_image *img = built_image();
	static const uint8_t eexit[] = { 0xb8, 0x04, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd7 };
	assert_non_null(memmem(img->bin + TEST_ENCL_TEXT, TEST_ENCL_DATA - TEST_ENCL_TEXT, eexit, sizeof(eexit)));
	static const uint8_t lea_rip_rax[] = { 0x48, 0x8d, 0x05 };
	assert_memory_equal(img->bin + TEST_ENCL_ENTRY, lea_rip_rax, sizeof(lea_rip_rax));
	int32_t disp;
	memcpy(&disp, img->bin + TEST_ENCL_ENTRY + 3, 4);
	assert_int_equal(TEST_ENCL_ENTRY + 7 + disp, 0);   /* lea __encl_base(%rip), %rax */
	assert_null(shdr_of_type(elf, SHT_RELA));
	assert_null(shdr_of_type(elf, SHT_REL));
	assert_null(shdr_of_type(elf, SHT_DYNAMIC));
	for (unsigned i = 0; i < ehdr(elf)->e_phnum; i++)
		assert_int_equal(phdr(elf, i)->p_type, PT_LOAD);
	test_encl_image_free(img);
	free(elf);
}

/* ---- loading it in model mode ---- */

/* MRENCLAVE as the loader must measure it, from the ELF alone: ECREATE
 * (SSA frame 1 page, the enclave size), the TCS pages as TCS, text R-X, data
 * RW-, all measured, one zero heap page RW- added unmeasured. */
static void expected_mrenclave(uint64_t encl_size, uint8_t out[32])
{
	static uint8_t zero[4096];
	size_t size;
	uint8_t *elf = elf_copy(&size);
	struct sgx_measurement mr;
	assert_int_equal(sgx_measure_init(&mr, 1, encl_size), 0);
	uint64_t first = phdr(elf, 0)->p_offset;
	for (unsigned i = 0; i < 3; i++) {
		const Elf64_Phdr *p = phdr(elf, i);
		uint64_t flags = i == 0 ? SGX_SECINFO_PT(SGX_PT_TCS) :
			SGX_SECINFO_PT(SGX_PT_REG) | (p->p_flags & PF_R ? SGX_SECINFO_R : 0) |
			(p->p_flags & PF_W ? SGX_SECINFO_W : 0) | (p->p_flags & PF_X ? SGX_SECINFO_X : 0);
		for (uint64_t off = 0; off < p->p_filesz; off += 4096)
			sgx_measure_page(&mr, p->p_offset - first + off, flags, elf + p->p_offset + off, 1);
	}
	sgx_measure_page(&mr, TEST_ENCL_IMAGE_SIZE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_W,
			 zero, 0);
	sgx_measure_final(&mr, out);
	free(elf);
}

static void elf_loads_and_initializes_in_model_mode(void **state)
{
	(void)state;
	const struct test_encl_image *img = built_image();
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	struct emu *emu = emu_create(&cfg);
	assert_non_null(emu);
	struct emu_proc *proc = emu_proc_create(emu);
	assert_non_null(proc);
	struct encl encl;
	/* load, measure, ECREATE/EADD/EEXTEND, EINIT, mmap the segments */
	assert_true(setup_test_encl_image(proc, img, ENCL_HEAP_SIZE_DEFAULT, &encl));
	assert_int_equal(encl.nr_segments, 4);
	assert_int_equal(encl.encl_size, 0x10000);
	assert_int_equal(encl.encl_base % encl.encl_size, 0);
	static const struct {
		uint64_t offset, size, flags;
		int prot;
		bool measure;
	} want[4] = {
		{ TEST_ENCL_TCS1, 0x2000, 0x100, PROT_READ | PROT_WRITE, true },
		{ TEST_ENCL_TEXT, 0x1000, 0x205, PROT_READ | PROT_EXEC, true },
		{ TEST_ENCL_DATA, 0x6000, 0x203, PROT_READ | PROT_WRITE, true },
		{ TEST_ENCL_IMAGE_SIZE, 0x1000, 0x203, PROT_READ | PROT_WRITE, false },
	};
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(encl.segment_tbl[i].offset, want[i].offset);
		assert_int_equal(encl.segment_tbl[i].size, want[i].size);
		assert_int_equal(encl.segment_tbl[i].flags, want[i].flags);
		assert_int_equal(encl.segment_tbl[i].prot, want[i].prot);
		assert_int_equal(encl.segment_tbl[i].measure, want[i].measure);
	}
	uint8_t mrenclave[32];
	expected_mrenclave(encl.encl_size, mrenclave);
	assert_memory_equal(encl.sigstruct.body.mrenclave, mrenclave, 32);
	/* not the model image's: different code, different measurement */
	struct encl model;
	assert_true(setup_test_encl(proc, ENCL_HEAP_SIZE_DEFAULT, &model));
	assert_memory_not_equal(model.sigstruct.body.mrenclave, mrenclave, 32);
	encl_delete(&model);

	assert_int_equal(encl_get_entry(&encl, "encl_dyn_entry"), TEST_ENCL_DYN_ENTRY);
	assert_int_equal(encl_get_entry(&encl, "no_such_symbol"), 0);
	assert_int_equal(encl_get_tcs_offset(&encl), 0);
	assert_int_equal(encl_get_data_offset(&encl), TEST_ENCL_DATA);
	encl_delete(&encl);
	emu_proc_exit(proc);
	emu_destroy(emu);
	test_encl_image_free(img);
}

/* ---- malformed files ---- */

static void rejects_bad_headers(void **state)
{
	(void)state;
	size_t size;
	uint8_t *elf = elf_copy(&size);
	expect_rejected(NULL, size);
	expect_rejected(elf, sizeof(Elf64_Ehdr) - 1);
	expect_rejected(elf, 0);

	elf[EI_MAG1] = 'X';                             /* bad magic */
	expect_rejected(elf, size);
	elf[EI_MAG1] = ELFMAG1;
	elf[EI_CLASS] = ELFCLASS32;
	expect_rejected(elf, size);
	elf[EI_CLASS] = ELFCLASS64;
	elf[EI_DATA] = ELFDATA2MSB;
	expect_rejected(elf, size);
	elf[EI_DATA] = ELFDATA2LSB;
	ehdr(elf)->e_machine = EM_386;
	expect_rejected(elf, size);
	ehdr(elf)->e_machine = EM_X86_64;
	ehdr(elf)->e_type = ET_REL;
	expect_rejected(elf, size);
	ehdr(elf)->e_type = ET_DYN;
	ehdr(elf)->e_phentsize = sizeof(Elf64_Phdr) - 8;
	expect_rejected(elf, size);
	ehdr(elf)->e_phentsize = sizeof(Elf64_Phdr);

	/* the program headers cut off by the end of the file (truncated) */
	uint64_t ph_end = ehdr(elf)->e_phoff + ehdr(elf)->e_phnum * sizeof(Elf64_Phdr);
	expect_rejected(elf, ph_end - 1);
	ehdr(elf)->e_phoff = size - sizeof(Elf64_Phdr);
	expect_rejected(elf, size);
	ehdr(elf)->e_phoff = UINT64_MAX - 8;            /* offset + length overflows */
	expect_rejected(elf, size);
	free(elf);
}

/* Each PT_LOAD damage alone, on a fresh copy; the undamaged copy loads. */
static void rejects_bad_segments(void **state)
{
	(void)state;
	enum { NO_LOAD, UNALIGNED_OFFSET, UNALIGNED_ADDR, ADDR_NOT_OFFSET, FIRST_NOT_AT_0, OVERLAP, OUT_OF_ORDER,
	       BEYOND_FILE, EMPTY, BSS_BEYOND_FILE, TRUNCATED_SEGMENT, NR_CASES };
	for (int c = 0; c < NR_CASES; c++) {
		size_t size;
		uint8_t *elf = elf_copy(&size);
		Elf64_Phdr *tcs = phdr(elf, 0), *text = phdr(elf, 1), *data = phdr(elf, 2);
		switch (c) {
		case NO_LOAD:
			tcs->p_type = text->p_type = data->p_type = PT_NOTE;
			break;
		case UNALIGNED_OFFSET:
			text->p_offset += 0x10;
			text->p_vaddr += 0x10;
			break;
		case UNALIGNED_ADDR:
			data->p_vaddr += 8;
			break;
		case ADDR_NOT_OFFSET:
			data->p_vaddr += 0x1000;
			break;
		case FIRST_NOT_AT_0:
			tcs->p_vaddr = 0x1000;
			break;
		case OVERLAP:                   /* text runs into data */
			text->p_filesz += 1;
			break;
		case OUT_OF_ORDER: {            /* data before text in the table */
			Elf64_Phdr t = *text;
			*text = *data;
			*data = t;
			break;
		}
		case BEYOND_FILE:
			data->p_filesz = size;
			break;
		case EMPTY:
			text->p_filesz = 0;
			break;
		case BSS_BEYOND_FILE:           /* memory the loader would never add */
			data->p_memsz = data->p_filesz + 0x1000;
			break;
		case TRUNCATED_SEGMENT:
			size = data->p_offset + data->p_filesz - 1;
			break;
		}
		expect_rejected(elf, size);
		free(elf);
	}
	size_t size;
	uint8_t *elf = elf_copy(&size);
	const struct test_encl_image *img = test_encl_image_from_elf(elf, size);
	assert_non_null(img);
	test_encl_image_free(img);
	free(elf);
}

static void rejects_bad_symbol_tables(void **state)
{
	(void)state;
	for (int c = 0; c < 5; c++) {
		size_t size;
		uint8_t *elf = elf_copy(&size);
		Elf64_Shdr *symtab = shdr_of_type(elf, SHT_SYMTAB);
		assert_non_null(symtab);
		Elf64_Shdr *strtab = (Elf64_Shdr *)(elf + ehdr(elf)->e_shoff) + symtab->sh_link;
		switch (c) {
		case 0:
			symtab->sh_entsize = 16;
			break;
		case 1:
			symtab->sh_size = size;         /* beyond the file */
			break;
		case 2:
			symtab->sh_link = ehdr(elf)->e_shnum;
			break;
		case 3:                                 /* names not terminated */
			elf[strtab->sh_offset + strtab->sh_size - 1] = 'x';
			break;
		case 4:
			ehdr(elf)->e_shoff = size - 8;  /* section headers cut off */
			break;
		}
		expect_rejected(elf, size);
		free(elf);
	}
}

/* Without section headers (stripped) the image has no symbols but loads. */
static void stripped_elf_has_no_symbols(void **state)
{
	(void)state;
	size_t size;
	uint8_t *elf = elf_copy(&size);
	ehdr(elf)->e_shoff = 0;
	ehdr(elf)->e_shnum = 0;
	const struct test_encl_image *img = test_encl_image_from_elf(elf, size);
	assert_non_null(img);
	assert_int_equal(img->nr_phdrs, 3);
	assert_int_equal(img->nr_syms, 0);
	/* the copy does not depend on the caller's buffer */
	memset(elf, 0xa5, size);
	assert_memory_equal(img->bin, test_encl_elf_start + phdr((uint8_t *)test_encl_elf_start, 0)->p_offset,
			    TEST_ENCL_IMAGE_SIZE);
	test_encl_image_free(img);
	test_encl_image_free(NULL);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(elf_has_three_segments_at_the_model_layout),
		cmocka_unit_test(elf_tcs_pages_equal_the_models),
		cmocka_unit_test(elf_symbols_at_the_model_offsets),
		cmocka_unit_test(elf_code_is_position_independent),
		cmocka_unit_test(elf_loads_and_initializes_in_model_mode),
		cmocka_unit_test(rejects_bad_headers),
		cmocka_unit_test(rejects_bad_segments),
		cmocka_unit_test(rejects_bad_symbol_tables),
		cmocka_unit_test(stripped_elf_has_no_symbols),
	};
	return cmocka_run_group_tests_name("test enclave ELF", tests, NULL, NULL);
}
