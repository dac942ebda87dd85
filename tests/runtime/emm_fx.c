/*
 * The EMM backend tests' fixture (emm_fx.h): the recording system-call
 * table, the enclave (a small EMM over the five entry points, model mode)
 * and the state checks.
 */
#define SGX2EMU_EMM_MODEL
#define SGX2EMU_EMM_IMPLEMENT
#include "sgx2emu/emm_enclave.h"

#include "runtime/emm_fx.h"
#include "runtime/emm_machine.h"

/* ---- recording system-call table ---- */

/* Appends one call to the log (asserts there is room). */
static void record(struct emm_fx *t, enum sys_kind kind, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	assert_true(t->nr_rec < MAX_REC);
	t->rec[t->nr_rec++] = (struct sys_rec){ kind, a, b, c, d };
}

/* ioctl, logged with its offset, length and permissions / page type; then
 * answered by an injected errno, or run with only its first page (shrink),
 * or run as asked.  What emu_ioctl returns. */
static int rec_ioctl(void *ctx, int fd, unsigned long cmd, void *arg)
{
	struct emm_fx *t = ctx;
	uint64_t *f = arg;   /* offset, length, then per struct */
	uint64_t what = cmd == SGX_IOC_ENCLAVE_REMOVE_PAGES ? 0 : f[2];
	record(t, SYS_IOCTL, cmd, f[0], f[1], what);
	if (t->inject > 0) {
		t->inject--;
		errno = t->inject_errno;
		return -1;
	}
	if (t->shrink && f[1] > PAGE) {
		/* Partial progress as the kernel gives it when it stops early. */
		uint64_t len = f[1];
		t->shrink = false;
		f[1] = PAGE;
		int ret = emu_ioctl(t->proc, fd, cmd, arg);
		f[1] = len;
		return ret;
	}
	return emu_ioctl(t->proc, fd, cmd, arg);
}

/* mmap, logged; what emu_mmap returns. */
static void *rec_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	struct emm_fx *t = ctx;
	assert_int_equal(offset, 0);
	record(t, SYS_MMAP, (uintptr_t)addr, len, (unsigned)prot, (unsigned)flags);
	return emu_mmap(t->proc, addr, len, prot, flags, fd, offset);
}

/* mprotect: a doorbell's is counted in bells, any other logged; what
 * emu_mprotect returns. */
static int rec_mprotect(void *ctx, void *addr, size_t len, int prot)
{
	struct emm_fx *t = ctx;
	uint64_t a = (uintptr_t)addr;
	if (t->host.area && (a == SGX2EMU_EMM_DOORBELL(t->host.area, 0) || a == SGX2EMU_EMM_DOORBELL(t->host.area, 1)))
		t->bells++;
	else
		record(t, SYS_MPROTECT, a, len, (unsigned)prot, 0);
	return emu_mprotect(t->proc, addr, len, prot);
}

/* munmap, logged; what emu_munmap returns. */
static int rec_munmap(void *ctx, void *addr, size_t len)
{
	struct emm_fx *t = ctx;
	record(t, SYS_MUNMAP, (uintptr_t)addr, len, 0, 0);
	return emu_munmap(t->proc, addr, len);
}

static const struct sgx2emu_emm_sys rec_sys = { rec_ioctl, rec_mmap, rec_mprotect, rec_munmap };

/* Asserts the log field by field, then its length; clears it. */
void expect_sys(struct emm_fx *t, const struct sys_rec *want, unsigned n)
{
	for (unsigned i = 0; i < n && i < t->nr_rec; i++) {
		assert_int_equal(t->rec[i].kind, want[i].kind);
		assert_int_equal(t->rec[i].a, want[i].a);
		assert_int_equal(t->rec[i].b, want[i].b);
		assert_int_equal(t->rec[i].c, want[i].c);
		assert_int_equal(t->rec[i].d, want[i].d);
	}
	assert_int_equal(t->nr_rec, n);
	t->nr_rec = 0;
}

/* Asserts an empty log. */
void expect_no_sys(struct emm_fx *t)
{
	assert_int_equal(t->nr_rec, 0);
}

/* ---- the enclave: a small EMM in the EMM's words, over the five entry points ---- */

struct emm_call call;

struct emm_state ema;

/* Index of the hole page la (asserts it is one). */
static unsigned pg(uint64_t la)
{
	uint64_t i = (la - ema.base - HOLES) / PAGE;
	assert_true(i < NR_HOLES);
	return (unsigned)i;
}

/* Records a leaf's RAX for page la and its place in the order. */
static void note_leaf(uint64_t la, int ret)
{
	call.leaf_ret[pg(la)] = ret;
	call.leaf_order[call.nr_leaves++ % NR_HOLES] = la;
}

/* do_eaccept with a SECINFO of flags, recorded; its RAX. */
static int accept(uint64_t la, uint64_t flags)
{
	sgx2emu_sec_info_t si = { .flags = flags };
	int ret = do_eaccept(&si, la);
	note_leaf(la, ret);
	return ret;
}

/* ema_do_alloc: the OCALL, then for COMMIT_NOW EACCEPT(REG|RW|PENDING) every
 * page: from the top down unless GROWSDOWN (the EMM's own order). */
static int emm_alloc(uint64_t addr, uint64_t len, unsigned flags)
{
	int ret = sgx_mm_alloc_ocall(addr, len, (int)REG, (int)flags);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < len / PAGE; i++) {
		ema.committed[pg(addr) + i] = false;
		ema.prot[pg(addr) + i] = RW;
		ema.alloc[pg(addr) + i] = flags;
	}
	if (!(flags & NOW))
		return 0;
	for (uint64_t i = 0; i < len / PAGE; i++) {
		uint64_t la = flags & SGX2EMU_EMA_GROWSDOWN ? addr + i * PAGE : addr + len - (i + 1) * PAGE;
		if (accept(la, REG | RW | PENDING))
			return EFAULT;
		ema.committed[pg(la)] = true;
	}
	return 0;
}

/* sgx_mm_enclave_pfhandler without a custom handler. */
static int emm_pfhandler(uint64_t addr, uint32_t pfec)
{
	uint64_t la = addr & ~(PAGE - 1);
	unsigned i = pg(la);
	bool write = pfec & SGX_PFEC_W;
	if (!(ema.prot[i] & (write ? W : R)))
		return SGX2EMU_MM_EXCEPTION_CONTINUE_SEARCH;
	if (ema.committed[i])
		return SGX2EMU_MM_EXCEPTION_CONTINUE_EXECUTION;   /* spurious: another thread committed it */
	if (!(ema.alloc[i] & LAZY) || accept(la, REG | RW | PENDING))
		return SGX2EMU_MM_EXCEPTION_CONTINUE_SEARCH;      /* the EMM aborts here */
	ema.committed[i] = true;
	return SGX2EMU_MM_EXCEPTION_CONTINUE_EXECUTION;
}

/* ema_modify_permissions: OCALL(old → new), then per page EMODPE if new adds
 * rights and EACCEPT(new|REG|PR) unless new is W+X; NONE also takes the PTEs
 * away with a second OCALL. */
static int emm_protect(uint64_t addr, uint64_t len, unsigned prot)
{
	unsigned old = ema.prot[pg(addr)];
	if (old == prot)
		return 0;
	if (sgx_mm_modify_ocall(addr, len, (int)(old | REG), (int)(prot | REG)))
		return EFAULT;
	sgx2emu_sec_info_t si = { .flags = prot | REG | PR };
	for (uint64_t la = addr; la < addr + len; la += PAGE) {
		if ((prot | old) != old)
			do_emodpe(&si, la);
		if ((prot & (W | X)) != (W | X) && accept(la, prot | REG | PR))
			return EFAULT;
		ema.prot[pg(la)] = prot;
	}
	if (prot == NONE && sgx_mm_modify_ocall(addr, len, (int)(NONE | REG), (int)(NONE | REG)))
		return EFAULT;
	return 0;
}

/* do_add_thread's TCS template, then ema_change_to_tcs (which refuses a
 * page that is not committed REG RW before anything else). */
static int emm_to_tcs(struct encl_ctx *ctx, uint64_t la, uint64_t ossa)
{
	static struct sgx_tcs tcs;
	if (!ema.committed[pg(la)] || ema.prot[pg(la)] != RW)
		return EACCES;
	memset(&tcs, 0, sizeof(tcs));
	tcs.ossa = ossa;
	tcs.nssa = 1;
	tcs.oentry = TEST_ENCL_ENTRY;
	tcs.fslimit = tcs.gslimit = 0xFFFFFFFF;
	encl_write(ctx, la, &tcs, sizeof(tcs));
	if (sgx_mm_modify_ocall(la, PAGE, (int)(RW | REG), (int)(RW | TCS)))
		return EFAULT;
	if (accept(la, TCS | MODIFIED))
		return EFAULT;
	ema.prot[pg(la)] = NONE;
	return 0;
}

/* ema_do_uncommit_real: per maximal run of committed pages, OCALL(type →
 * TRIM), EACCEPT(TRIM|MODIFIED) each page, OCALL(TRIM → TRIM).  prot is the
 * region's (NONE for dealloc). */
static int emm_trim(uint64_t addr, uint64_t len, unsigned prot)
{
	uint64_t end = addr + len;
	for (uint64_t start = addr; start < end;) {
		while (start < end && !ema.committed[pg(start)])
			start += PAGE;
		if (start == end)
			break;
		uint64_t stop = start + PAGE;
		while (stop < end && ema.committed[pg(stop)])
			stop += PAGE;
		if (sgx_mm_modify_ocall(start, stop - start, (int)(prot | REG), (int)(prot | TRIM)))
			return EFAULT;
		for (uint64_t la = start; la < stop; la += PAGE)
			if (accept(la, TRIM | MODIFIED))
				return EFAULT;
		for (uint64_t la = start; la < stop; la += PAGE)
			ema.committed[pg(la)] = false;
		if (sgx_mm_modify_ocall(start, stop - start, (int)(prot | TRIM), (int)(prot | TRIM)))
			return EFAULT;
		start = stop;
	}
	return 0;
}

/* ema_do_commit_data: EACCEPTCOPY(prot|REG) each page, then the permission
 * change from the region's RW so the PTEs match. */
static int emm_commit_data(uint64_t addr, uint64_t len, uint64_t src, unsigned prot)
{
	sgx2emu_sec_info_t si = { .flags = prot | REG };
	for (uint64_t i = 0; i < len / PAGE; i++) {
		if (ema.committed[pg(addr) + i] || !(ema.alloc[pg(addr) + i] & LAZY))
			return EACCES;
	}
	for (uint64_t off = 0; off < len; off += PAGE) {
		int ret = do_eacceptcopy(&si, addr + off, src + off);
		note_leaf(addr + off, ret);
		if (ret)
			return EFAULT;
		ema.committed[pg(addr + off)] = true;
	}
	return emm_protect(addr, len, prot);
}

/* OENTRY of both TCSs: bind the primitives to this code, run the op of
 * RDI with call.a, leave the result in call.ret; returning is EEXIT. */
static void emm_entry(struct encl_ctx *ctx)
{
	uint64_t base = encl_base(ctx);
	uint64_t *a = call.a;
	sgx2emu_emm_model_bind(ctx, base + SLOT);
	ema.base = base;
	switch (encl_regs(ctx)->rdi) {
	case OP_INIT:
		/* the host picks the area: it must not be enclave memory */
		if (a[0] + SGX2EMU_EMM_AREA_SIZE > base && a[0] < base + ELRANGE) {
			call.ret = EINVAL;
			break;
		}
		sgx2emu_emm_ocall_init(a[0]);
		call.ret = 0;
		break;
	case OP_EACCEPT:
		call.ret = accept(a[0], a[1]);
		break;
	case OP_EMODPE: {
		sgx2emu_sec_info_t si = { .flags = a[1] };
		call.ret = do_emodpe(&si, a[0]);
		break;
	}
	case OP_WRITE:
		encl_write64(ctx, a[0], a[1]);
		break;
	case OP_READ:
		call.ret = (int64_t)encl_read64(ctx, a[0]);
		break;
	case OP_FETCH:
		encl_fetch(ctx, a[0]);
		break;
	case OP_OCALL:
		call.ret = sgx2emu_model_ocall(&(struct sgx2emu_emm_model){ ctx, base + SLOT }, &sgx2emu_emm_ocall_state,
					       a[0], a[1], a[2], (int)a[3], (int)a[4]);
		break;
	case OP_ALLOC:
		call.ret = emm_alloc(a[0], a[1], (unsigned)a[2]);
		break;
	case OP_PFHANDLER:
		call.ret = emm_pfhandler(a[0], (uint32_t)a[1]);
		break;
	case OP_PROTECT:
		call.ret = emm_protect(a[0], a[1], (unsigned)a[2]);
		break;
	case OP_TO_TCS:
		call.ret = emm_to_tcs(ctx, a[0], a[1]);
		break;
	case OP_UNCOMMIT:
		call.ret = emm_trim(a[0], a[1], ema.prot[pg(a[0])]);
		break;
	case OP_DEALLOC:
		call.ret = emm_trim(a[0], a[1], NONE);
		if (!call.ret && sgx_mm_modify_ocall(a[0], a[1], (int)(NONE | REG), (int)(NONE | REG)))
			call.ret = EFAULT;
		break;
	case OP_COMMIT_DATA:
		call.ret = emm_commit_data(a[0], a[1], a[2], (unsigned)a[3]);
		break;
	}
}

/* ---- fixture ---- */

/* See emm_fx.h. */
int emm_setup(void **state)
{
	struct emm_fx *t = calloc(1, sizeof(*t));
	emm_machine_create(&t->emu, &t->proc, &t->thread);
	assert_true(setup_test_encl(t->proc, HEAP_SZ, &t->encl));
	t->base = t->encl.encl_base;
	assert_int_equal(t->encl.encl_size, ELRANGE);
	size_t total = 0;
	for (unsigned i = 0; i < t->encl.nr_segments; i++)
		total += t->encl.segment_tbl[i].size;
	assert_int_equal(total, HOLES);
	assert_int_equal(emu_register_entry(t->proc, t->base + TEST_ENCL_ENTRY, emm_entry), 0);
	t->host = (struct sgx2emu_emm_host){ &rec_sys, t, t->encl.fd, t->base, ELRANGE, 0 };
	memset(&call, 0, sizeof(call));
	memset(&ema, 0, sizeof(ema));
	sgx2emu_emm_ocall_init(0);
	*state = t;
	return 0;
}

int emm_teardown(void **state)
{
	struct emm_fx *t = *state;
	encl_delete(&t->encl);
	emm_machine_destroy(t->emu, t->proc, t->thread);
	free(t);
	return 0;
}

uint64_t hole(struct emm_fx *t, unsigned i)
{
	return t->base + HOLES + i * PAGE;
}

int enter_on(struct emm_fx *t, uint64_t tcs, enum op op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	     uint64_t a4)
{
	call = (struct emm_call){ .a = { a0, a1, a2, a3, a4 }, .ret = -12345 };
	for (unsigned i = 0; i < NR_HOLES; i++)
		call.leaf_ret[i] = -1;   /* no leaf yet */
	memset(&t->run, 0, sizeof(t->run));
	t->run.tcs = tcs;
	t->run.user_handler = (uintptr_t)sgx2emu_emm_user_handler;
	t->run.user_data = (uintptr_t)&t->host;
	return emu_vdso_sgx_enter_enclave(op, 0, 0, SGX_EENTER, 0, 0, &t->run);
}

int64_t ecall(struct emm_fx *t, enum op op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	assert_int_equal(enter_on(t, t->base + TEST_ENCL_TCS1, op, a0, a1, a2, a3, a4), 0);
	EXPECT_EEXIT(t);
	return call.ret;
}

void init_area(struct emm_fx *t)
{
	assert_int_equal(sgx2emu_emm_area_create(&t->host), 0);
	t->nr_rec = 0;
	assert_int_equal(ecall(t, OP_INIT, t->host.area, 0, 0, 0, 0), 0);
}

/* ---- state ---- */

struct drv_page *page_of(struct emm_fx *t, uint64_t la)
{
	struct drv_file *f = proc_file(t->proc, t->encl.fd);
	assert_non_null(f);
	return xa_load(&f->encl->pages, la >> 12);
}

/* The EPCM entry of the enclave page at la (asserts it is resident and valid). */
static struct hw_epcm_entry epcm(struct emm_fx *t, uint64_t la)
{
	struct hw_epcm_entry e = { 0 };
	struct drv_page *p = page_of(t, la);
	assert_non_null(p);
	assert_int_not_equal(p->epc_frame, HW_NO_FRAME);
	assert_true(hw_epcm_read(emu_machine(t->emu), p->epc_frame, &e));
	assert_true(e.valid);
	assert_int_equal(e.enclave_address, la);
	return e;
}

/* EPCM: type, R W X, PENDING, MODIFIED, PR */
void expect_epcm(struct emm_fx *t, uint64_t la, unsigned pt, unsigned rwx, bool pending, bool modified, bool pr)
{
	struct hw_epcm_entry e = epcm(t, la);
	assert_int_equal(e.pt, pt);
	assert_int_equal(e.r, !!(rwx & R));
	assert_int_equal(e.w, !!(rwx & W));
	assert_int_equal(e.x, !!(rwx & X));
	assert_int_equal(e.pending, pending);
	assert_int_equal(e.modified, modified);
	assert_int_equal(e.pr, pr);
}

void expect_no_page(struct emm_fx *t, uint64_t la)
{
	assert_null(page_of(t, la));
}

/* The VMA at la: prot, and whether it maps the enclave (shared, sgx). */
void expect_vma(struct emm_fx *t, uint64_t la, unsigned prot, bool sgx)
{
	struct drv_vma *v = mm_find_vma(t->proc->mm, la);
	assert_non_null(v);
	assert_true(v->start <= la);
	assert_int_equal(v->prot, prot);
	assert_int_equal(!!(v->flags & DRV_VMA_SGX), sgx);
	assert_int_equal(!!(v->flags & DRV_VMA_SHARED), sgx);
}

/* The PTE of la: present with prot, or not present (prot < 0). */
void expect_pte(struct emm_fx *t, uint64_t la, int prot)
{
	void *host;
	unsigned p = 0;
	bool present = hw_pt_lookup(t->proc->mm->pt, la, &host, &p);
	assert_int_equal(present, prot >= 0);
	if (prot >= 0)
		assert_int_equal(p, (unsigned)prot);
}

/* Pages [first, first + n) of the holes committed REG RW, by EACCEPT ops. */
void commit_pages(struct emm_fx *t, unsigned first, unsigned n)
{
	assert_int_equal(sgx2emu_emm_alloc(&t->host, hole(t, first), n * PAGE, (int)REG, (int)LAZY), 0);
	for (unsigned i = first; i < first + n; i++) {
		assert_int_equal(ecall(t, OP_EACCEPT, hole(t, i), REG | RW | PENDING, 0, 0, 0), 0);
		ema.committed[i] = true;
		ema.prot[i] = RW;
		ema.alloc[i] = LAZY;
	}
	t->nr_rec = 0;
}

void eaccept_ok(struct emm_fx *t, uint64_t la, uint64_t flags)
{
	assert_int_equal(ecall(t, OP_EACCEPT, la, flags, 0, 0, 0), 0);
}


