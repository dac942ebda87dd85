/*
 * The host side of the runtimes: building the enclave through the system API,
 * probing the driver's policy, the ECALL loop and the host half of OCALLs.
 *
 * The ECALL loop is what a runtime's untrusted part does around
 * __vdso_sgx_enter_enclave: EENTER; on EEXIT with an OCALL request, make the
 * system calls and EENTER again (one runtime exit); on an exception the
 * kernel did not fix, EENTER the enclave's handler (CSSA 1) and, if it
 * handled it, ERESUME; anything else fails the run loudly.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_common.h"
#include "sgx2emu/selftest.h"
#include "sgx2emu/sign.h"

const char *rt_kind_name(enum rt_kind k)
{
	static const char *const names[RT_KIND_COUNT] = { "gramine", "enarx", "emm", "occlum" };
	return (unsigned)k < RT_KIND_COUNT ? names[k] : NULL;
}

int rt_kind_from_name(const char *name, enum rt_kind *out)
{
	for (unsigned k = 0; k < RT_KIND_COUNT; k++)
		if (!strcmp(name, rt_kind_name(k))) {
			*out = (enum rt_kind)k;
			return 0;
		}
	return -1;
}

bool rt_kind_supports(enum rt_kind k, enum rt_op_kind op, unsigned flags)
{
	switch (op) {
	case RT_OP_ALLOC:
		if (flags & RT_F_RESERVE)
			return k == RT_EMM;
		return !(flags & RT_F_LAZY) || k != RT_ENARX;
	case RT_OP_THREAD:
		return k != RT_ENARX;
	case RT_OP_COMMIT_DATA:
	case RT_OP_UNCOMMIT:
		return k == RT_EMM;
	case RT_OP_FREE:
	case RT_OP_PROTECT:
	case RT_OP_TOUCH:
		return k < RT_KIND_COUNT;
	default:
		return false;
	}
}

const char *rt_hop_name(enum rt_hop kind)
{
	static const char *const names[] = {
		[HOP_RESTRICT] = "RESTRICT_PERMISSIONS", [HOP_MODT] = "MODIFY_TYPES",
		[HOP_REMOVE] = "REMOVE_PAGES", [HOP_RELAX] = "RELAX_PERMISSIONS",
		[HOP_RESET] = "RESET_PERMISSIONS", [HOP_MODIFY] = "MODIFY_PERMISSIONS",
		[HOP_MPROTECT] = "mprotect", [HOP_MMAP] = "mmap", [HOP_UNMAP] = "munmap",
		[HOP_THREAD] = "thread_start",
	};
	return names[kind];
}

static const struct rt_flows *flows_of(enum rt_kind k)
{
	switch (k) {
	case RT_GRAMINE: return &rt_gramine_flows;
	case RT_ENARX: return &rt_enarx_flows;
	case RT_EMM: return &rt_emm_flows;
	case RT_OCCLUM: return &rt_occlum_flows;
	default: return NULL;
	}
}

/* ---- policy detection ---- */

/* An ioctl the driver knows answers something other than ENOTTY (a zero
 * length is EINVAL where it exists); ENODEV means no SGX2. */
static int probe(struct emu_proc *proc, int fd, unsigned long cmd)
{
	union {
		struct sgx_enclave_remove_pages rm;
		struct sgx_enclave_restrict_permissions rp;
		struct sgx2emu_relax_permissions relax;
		struct sgx2emu_modify_permissions modify;
		struct sgx2emu_reset_permissions reset;
	} arg;
	memset(&arg, 0, sizeof(arg));
	if (!emu_ioctl(proc, fd, cmd, &arg))
		return 0;
	return errno;
}

int rt_detect_policy(struct emu_proc *proc, int fd, enum emu_policy *out)
{
	int e = probe(proc, fd, SGX_IOC_ENCLAVE_REMOVE_PAGES);
	if (e == ENODEV || e == ENOTTY) {
		*out = EMU_POLICY_SGX1;   /* Gramine's EDMM probe: no SGX2 */
		return 0;
	}
	if (probe(proc, fd, SGX2EMU_IOC_MODIFY_PERMISSIONS) != ENOTTY)
		*out = EMU_POLICY_V1;
	else if (probe(proc, fd, SGX2EMU_IOC_RELAX_PERMISSIONS) != ENOTTY)
		*out = EMU_POLICY_V2;
	else if (probe(proc, fd, SGX2EMU_IOC_RESET_PERMISSIONS) != ENOTTY)
		*out = EMU_POLICY_RESET;
	else if (probe(proc, fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS) == ENOTTY)
		*out = EMU_POLICY_MPROTECT_EMODPR;   /* no permission ioctl: mprotect does it */
	else
		*out = EMU_POLICY_UPSTREAM;
	return 0;
}

/* ---- the enclave image ---- */

struct rt_segment {
	uint64_t offset, len, flags;
	int prot;
};

static const struct rt_segment segments[] = {
	{ RT_TCS, SGX_PAGE_SIZE, SI_TCS, PROT_READ | PROT_WRITE },
	{ RT_SSA, RT_NSSA * SGX_PAGE_SIZE, SI_REG | SI_RW, PROT_READ | PROT_WRITE },
	{ RT_CODE, SGX_PAGE_SIZE, SI_REG | SGX_SECINFO_R | SGX_SECINFO_X, PROT_READ | PROT_EXEC },
	{ RT_DATA, SGX_PAGE_SIZE, SI_REG | SI_RW, PROT_READ | PROT_WRITE },
	{ RT_ZERO, SGX_PAGE_SIZE, SI_REG | SGX_SECINFO_R, PROT_READ },
};
#define NR_SEGMENTS (sizeof(segments) / sizeof(segments[0]))

static uint8_t image[RT_IMAGE_END] __attribute__((aligned(4096)));

static void build_image(void)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)(image + RT_TCS);
	tcs->ossa = RT_SSA;
	tcs->nssa = RT_NSSA;
	tcs->oentry = RT_CODE;
	tcs->fslimit = tcs->gslimit = 0xFFFFFFFF;
	memcpy(image + RT_CODE, "sgx2emu runtime flows", 22);   /* stands for the code */
}

static int herr(struct rt *rt, const char *what)
{
	snprintf(rt->err, sizeof(rt->err), "%s: %s: %s", rt->flows->name, what, strerror(errno));
	return -1;
}

static int build(struct rt *rt)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, build_image);

	rt->fd = emu_open(rt->proc, "/dev/sgx_enclave", O_RDWR);
	if (rt->fd < 0)
		return herr(rt, "open /dev/sgx_enclave");
	for (rt->size = RT_HEAP; rt->size < RT_HEAP + rt->heap_len;)
		rt->size <<= 1;
	/* 2 * size of PROT_NONE, trimmed to a naturally aligned range. */
	uint8_t *area = emu_mmap(rt->proc, NULL, rt->size * 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
	if (area == MAP_FAILED)
		return herr(rt, "reserving the enclave range");
	uint8_t *base = (uint8_t *)(((uintptr_t)area + rt->size - 1) & ~(uintptr_t)(rt->size - 1));
	if (base > area)
		emu_munmap(rt->proc, area, (size_t)(base - area));
	if (area + 2 * rt->size > base + rt->size)
		emu_munmap(rt->proc, base + rt->size, (size_t)(area + 2 * rt->size - (base + rt->size)));
	rt->base = (uint64_t)(uintptr_t)base;
	rt->heap = rt->base + RT_HEAP;

	struct sgx_secs *secs = aligned_alloc(4096, sizeof(*secs));
	if (!secs)
		return herr(rt, "SECS");
	memset(secs, 0, sizeof(*secs));
	secs->base = rt->base;
	secs->size = rt->size;
	secs->ssa_frame_size = 1;
	secs->miscselect = SGX_MISC_EXINFO;   /* the handler needs the #PF address */
	secs->attributes.flags = SGX_ATTR_MODE64BIT;
	secs->attributes.xfrm = 3;
	struct sgx_enclave_create create = { .src = (uint64_t)(uintptr_t)secs };
	int ret = emu_ioctl(rt->proc, rt->fd, SGX_IOC_ENCLAVE_CREATE, &create);
	free(secs);
	if (ret)
		return herr(rt, "SGX_IOC_ENCLAVE_CREATE");

	struct sgx_sigstruct *ss = calloc(1, sizeof(*ss));
	struct sgx_measurement mr;
	if (!ss || sgx_measure_init(&mr, 1, rt->size)) {
		free(ss);
		return herr(rt, "measurement");
	}
	for (unsigned i = 0; i < NR_SEGMENTS; i++) {
		const struct rt_segment *s = &segments[i];
		struct sgx_secinfo si __attribute__((aligned(64)));
		memset(&si, 0, sizeof(si));
		si.flags = s->flags;
		struct sgx_enclave_add_pages add = {
			.src = (uint64_t)(uintptr_t)(image + s->offset), .offset = s->offset, .length = s->len,
			.secinfo = (uint64_t)(uintptr_t)&si, .flags = SGX_PAGE_MEASURE,
		};
		if (emu_ioctl(rt->proc, rt->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add)) {
			sgx_measure_final(&mr, ss->body.mrenclave);
			free(ss);
			return herr(rt, "SGX_IOC_ENCLAVE_ADD_PAGES");
		}
		for (uint64_t off = 0; off < s->len; off += SGX_PAGE_SIZE)
			sgx_measure_page(&mr, s->offset + off, s->flags, image + s->offset + off, 1);
	}
	sgx_sigstruct_init_header(ss);
	ss->body.attributes.flags = SGX_ATTR_MODE64BIT;
	ss->body.attributes.xfrm = 3;
	ss->body.miscselect = SGX_MISC_EXINFO;
	sgx_measure_final(&mr, ss->body.mrenclave);
	EVP_PKEY *key = encl_sign_key();
	if (!key || sgx_sign_sigstruct(key, ss)) {
		free(ss);
		errno = EINVAL;
		return herr(rt, "signing the SIGSTRUCT");
	}
	struct sgx_enclave_init init = { .sigstruct = (uint64_t)(uintptr_t)ss };
	ret = emu_ioctl(rt->proc, rt->fd, SGX_IOC_ENCLAVE_INIT, &init);
	free(ss);
	if (ret)
		return herr(rt, "SGX_IOC_ENCLAVE_INIT");
	return 0;
}

static int map(struct rt *rt)
{
	for (unsigned i = 0; i < NR_SEGMENTS; i++) {
		const struct rt_segment *s = &segments[i];
		void *want = (void *)(uintptr_t)(rt->base + s->offset);
		if (emu_mmap(rt->proc, want, s->len, s->prot, MAP_SHARED | MAP_FIXED, rt->fd, 0) != want)
			return herr(rt, "mmap of the enclave image");
	}
	int prot = rt->flows->heap_prot(rt->policy);
	if (prot) {
		void *want = (void *)(uintptr_t)rt->heap;
		if (emu_mmap(rt->proc, want, rt->heap_len, prot, MAP_SHARED | MAP_FIXED, rt->fd, 0) != want)
			return herr(rt, "mmap of the heap");
	}
	if (emu_register_entry(rt->proc, rt->base + RT_CODE, rt_encl_entry))
		return herr(rt, "emu_register_entry");
	return 0;
}

struct rt *rt_create(struct emu *emu, const struct rt_options *opt, char *err, size_t errlen)
{
	struct rt *rt = calloc(1, sizeof(*rt));
	if (!rt || !(rt->flows = flows_of(opt->kind))) {
		snprintf(err, errlen, "runtime: %s", rt ? "unknown runtime" : strerror(ENOMEM));
		free(rt);
		return NULL;
	}
	rt->emu = emu;
	rt->kind = opt->kind;
	rt->fd = -1;
	rt->heap_len = opt->heap_bytes ? (opt->heap_bytes + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK : RT_HEAP_DEFAULT;
	rt->pages = calloc(rt->heap_len / SGX_PAGE_SIZE, 1);
	rt->proc = emu_proc_create(emu);
	if (!rt->pages || !rt->proc) {
		herr(rt, "process");
		goto fail;
	}
	rt->thread = emu_thread_create(rt->proc);
	if (!rt->thread) {
		herr(rt, "thread");
		goto fail;
	}
	if (build(rt))
		goto fail;
	rt_detect_policy(rt->proc, rt->fd, &rt->policy);
	if (rt->policy == EMU_POLICY_SGX1) {
		snprintf(rt->err, sizeof(rt->err),
			 "%s: policy sgx1: the driver has no SGX2 (REMOVE_PAGES probe: ENODEV; no EAUG on fault), "
			 "so the runtime's EDMM flows cannot run",
			 rt->flows->name);
		goto fail;
	}
	if (map(rt))
		goto fail;
	return rt;
fail:
	snprintf(err, errlen, "%s", rt->err);
	rt_destroy(rt);
	return NULL;
}

void rt_destroy(struct rt *rt)
{
	if (!rt)
		return;
	for (unsigned i = 0; i < rt->nr_extra; i++)
		emu_thread_destroy(rt->extra[i]);
	if (rt->thread)
		emu_thread_destroy(rt->thread);
	if (rt->proc)
		emu_proc_exit(rt->proc);   /* closes the fd, unmaps everything */
	free(rt->pages);
	free(rt);
}

const char *rt_error(const struct rt *rt)
{
	return rt->err;
}

enum emu_policy rt_policy(const struct rt *rt)
{
	return rt->policy;
}

enum rt_kind rt_kind_of(const struct rt *rt)
{
	return rt->kind;
}

uint64_t rt_heap_base(const struct rt *rt)
{
	return rt->heap;
}

uint64_t rt_heap_size(const struct rt *rt)
{
	return rt->heap_len;
}

struct emu_proc *rt_proc(const struct rt *rt)
{
	return rt->proc;
}

void rt_stats(const struct rt *rt, struct rt_stats *out)
{
	*out = rt->stats;
}

/* ---- OCALLs: the host half ---- */

/* An SGX2 ioctl over a range, continued from `count` on EBUSY/EAGAIN/EINTR
 * as the runtimes' hosts do.  Returns 0 or errno; *result and *count from
 * the failing call. */
#define RETRY_MAX 1000
static int range_ioctl(struct rt *rt, unsigned long cmd, uint64_t off, uint64_t len, uint64_t arg, uint64_t *result,
		       uint64_t *count)
{
	for (unsigned tries = 0;; tries++) {
		union {
			struct sgx_enclave_restrict_permissions rp;
			struct sgx_enclave_modify_types mt;
			struct sgx_enclave_remove_pages rm;
			struct sgx2emu_relax_permissions relax;
			struct sgx2emu_modify_permissions modify;
			struct sgx2emu_reset_permissions reset;
		} a;
		memset(&a, 0, sizeof(a));
		switch (cmd) {
		case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
			a.rp = (struct sgx_enclave_restrict_permissions){ off, len, arg, 0, 0 };
			break;
		case SGX_IOC_ENCLAVE_MODIFY_TYPES:
			a.mt = (struct sgx_enclave_modify_types){ off, len, arg, 0, 0 };
			break;
		case SGX_IOC_ENCLAVE_REMOVE_PAGES:
			a.rm = (struct sgx_enclave_remove_pages){ off, len, 0 };
			break;
		case SGX2EMU_IOC_RELAX_PERMISSIONS:
			a.relax = (struct sgx2emu_relax_permissions){ off, len, arg, 0 };
			break;
		case SGX2EMU_IOC_MODIFY_PERMISSIONS:
			a.modify = (struct sgx2emu_modify_permissions){ off, len, arg, 0, 0 };
			break;
		default:
			a.reset = (struct sgx2emu_reset_permissions){ off, len, 0, 0 };
			break;
		}
		rt->stats.host_syscalls++;
		if (!emu_ioctl(rt->proc, rt->fd, cmd, &a))
			return 0;
		int e = errno;
		switch (cmd) {
		case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS: *result = a.rp.result, *count = a.rp.count; break;
		case SGX_IOC_ENCLAVE_MODIFY_TYPES: *result = a.mt.result, *count = a.mt.count; break;
		case SGX_IOC_ENCLAVE_REMOVE_PAGES: *result = 0, *count = a.rm.count; break;
		case SGX2EMU_IOC_RELAX_PERMISSIONS: *result = 0, *count = a.relax.count; break;
		case SGX2EMU_IOC_MODIFY_PERMISSIONS: *result = a.modify.result, *count = a.modify.count; break;
		default: *result = a.reset.result, *count = a.reset.count; break;
		}
		if ((e == EBUSY || e == EAGAIN || e == EINTR) && tries < RETRY_MAX && *count <= len) {
			off += *count;
			len -= *count;
			if (len)
				continue;
			return 0;
		}
		return e;
	}
}

static int start_thread(struct rt *rt, uint64_t tcs)
{
	if (rt->nr_extra == HW_MAX_LPS)
		return EAGAIN;
	struct emu_thread *t = emu_thread_create(rt->proc);
	if (!t)
		return errno;
	rt->extra[rt->nr_extra++] = t;
	struct sgx_enclave_run run;
	memset(&run, 0, sizeof(run));
	run.tcs = tcs;
	int r = emu_enter_enclave(t, RT_ENTER_NOP, (uintptr_t)rt, 0, SGX_EENTER, 0, 0, &run);
	if (r)
		return -r;
	if (run.function != SGX_EEXIT)
		return EFAULT;   /* the entry faulted: reported as the OCALL's failure */
	rt->stats.threads++;
	return 0;
}

static int host_op(struct rt *rt, const struct rt_hostop *h, uint64_t *result, uint64_t *count)
{
	uint64_t off = h->addr - rt->base;
	void *p = (void *)(uintptr_t)h->addr;
	switch (h->kind) {
	case HOP_RESTRICT:
		return range_ioctl(rt, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, off, h->len, h->arg, result, count);
	case HOP_MODT:
		return range_ioctl(rt, SGX_IOC_ENCLAVE_MODIFY_TYPES, off, h->len, h->arg, result, count);
	case HOP_REMOVE:
		return range_ioctl(rt, SGX_IOC_ENCLAVE_REMOVE_PAGES, off, h->len, 0, result, count);
	case HOP_RELAX:
		return range_ioctl(rt, SGX2EMU_IOC_RELAX_PERMISSIONS, off, h->len, h->arg, result, count);
	case HOP_RESET:
		return range_ioctl(rt, SGX2EMU_IOC_RESET_PERMISSIONS, off, h->len, 0, result, count);
	case HOP_MODIFY:
		return range_ioctl(rt, SGX2EMU_IOC_MODIFY_PERMISSIONS, off, h->len, h->arg, result, count);
	case HOP_MPROTECT:
		rt->stats.host_syscalls++;
		return emu_mprotect(rt->proc, p, h->len, (int)h->arg) ? errno : 0;
	case HOP_MMAP:
		rt->stats.host_syscalls++;
		return emu_mmap(rt->proc, p, h->len, (int)h->arg, MAP_SHARED | MAP_FIXED, rt->fd, 0) == p ? 0 : errno;
	case HOP_UNMAP:
		rt->stats.host_syscalls += 2;
		if (emu_munmap(rt->proc, p, h->len))
			return errno;
		return emu_mmap(rt->proc, p, h->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
				-1, 0) == p ? 0 : errno;
	case HOP_THREAD:
		return start_thread(rt, h->addr);
	}
	return EINVAL;
}

void rt_host_ocall(struct rt *rt, struct rt_ocall *oc)
{
	oc->err = 0;
	for (unsigned i = 0; i < oc->n; i++) {
		uint64_t result = 0, count = 0;
		int e = host_op(rt, &oc->op[i], &result, &count);
		if (e) {
			oc->err = e;
			oc->failed = i;
			oc->result = result;
			oc->count = count;
			return;
		}
	}
}

/* ---- the ECALL loop ---- */

static int enter(struct rt *rt, uint64_t why, unsigned function, struct sgx_enclave_run *run)
{
	memset(run, 0, sizeof(*run));
	run->tcs = rt->base + RT_TCS;
	int r = emu_enter_enclave(rt->thread, why, (uintptr_t)rt, 0, function, 0, 0, run);
	if (r) {
		errno = -r;
		herr(rt, "emu_enter_enclave");
	}
	return r;
}

static const char *pf_kind(uint32_t ec)
{
	if (ec & SGX_PFEC_SGX)
		return "an EPCM fault (error code bit 15)";
	if (!(ec & SGX_PFEC_P))
		return "a not-present fault the kernel did not fix (SIGBUS/SIGSEGV)";
	return "a page-table permission fault the kernel did not fix (SIGSEGV/SIGBUS)";
}

static void fail_exception(struct rt *rt, const struct sgx_enclave_run *run, const char *why)
{
	const char *op = "?";
	static const char *const names[RT_OP_COUNT] = { "alloc", "free", "protect", "touch", "thread",
							"commit_data", "uncommit" };
	if (rt->next_op < rt->nr_ops && rt->ops[rt->next_op].kind < RT_OP_COUNT)
		op = names[rt->ops[rt->next_op].kind];
	if (run->exception_vector == SGX_VEC_PF)
		rt_fail(rt, "%s: %s: #PF at %#llx (error code %#x: %s) %s, under policy %s", rt->flows->name, op,
			(unsigned long long)run->exception_addr, run->exception_error_code,
			pf_kind(run->exception_error_code), why, emu_policy_name(rt->policy));
	else
		rt_fail(rt, "%s: %s: exception vector %u %s, under policy %s", rt->flows->name, op,
			run->exception_vector, why, emu_policy_name(rt->policy));
}

/* An exception reported by the vDSO contract: the enclave's handler. */
static bool handle_exception(struct rt *rt, const struct sgx_enclave_run *run)
{
	if (run->exception_vector != SGX_VEC_PF || !rt->flows->on_fault) {
		fail_exception(rt, run, "that the runtime does not handle");
		return false;
	}
	rt->stats.exceptions++;
	struct sgx_enclave_run hrun;
	if (enter(rt, RT_ENTER_EXCEPTION, SGX_EENTER, &hrun))
		return false;
	if (hrun.function != SGX_EEXIT) {
		fail_exception(rt, &hrun, "inside the exception handler");
		return false;
	}
	if (!rt->handled) {
		fail_exception(rt, run, "that the runtime's handler refused");
		return false;
	}
	return true;
}

static int run(struct rt *rt);

int rt_run(struct rt *rt, const struct rt_op *ops, size_t n)
{
	if (rt->dead)
		return -1;
	rt->ops = ops;
	rt->nr_ops = n;
	rt->next_op = 0;
	rt->pending = NULL;
	rt->stats.ecalls++;
	/* The host's system calls come from the thread that runs the enclave,
	 * so the kernel works on that thread's LP (its IPIs are local there). */
	struct emu_thread *prev = emu_current_thread();
	emu_thread_bind(rt->thread);
	int ret = run(rt);
	emu_thread_bind(prev);
	return ret;
}

static int run(struct rt *rt)
{
	uint64_t why = RT_ENTER_ECALL;
	unsigned function = SGX_EENTER;
	for (;;) {
		struct sgx_enclave_run run;
		if (enter(rt, why, function, &run))
			break;
		if (run.function != SGX_EEXIT) {
			if (!handle_exception(rt, &run))
				break;
			function = SGX_ERESUME;
			continue;
		}
		if (rt->pending) {
			rt_host_ocall(rt, rt->pending);
			rt->stats.ocalls++;
			emu_count_runtime_exit(rt->emu);
			why = RT_ENTER_OCALL_RET;
			function = SGX_EENTER;
			continue;
		}
		if (rt->status)
			break;
		return 0;
	}
	rt->dead = true;
	if (!rt->err[0])
		snprintf(rt->err, sizeof(rt->err), "%s: the ECALL failed", rt->flows->name);
	return -1;
}
