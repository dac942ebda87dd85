/*
 * EGETKEY (ENCLU 1) — RBX: KEYREQUEST, RCX: 16-byte output.  isa.md §4.17.
 * Inside enclave mode only (else #GP, checked by the dispatcher; a fault
 * inside is an AEX).  In SDM order:
 *   #GP  KEYREQUEST not 512-aligned or outside ELRANGE; ordinary #PF if not
 *        mapped; #PF (P|U|SGX) unless an accepted readable REG page of this
 *        enclave.  Then the same for the output: 16-aligned, writable.
 *   #GP  reserved bytes or KEYPOLICY bits 15:6 set; without ATTRIBUTES.KSS,
 *        KEYPOLICY bits 5:2 (NOISVPRODID, CONFIGID, ISVFAMILYID,
 *        ISVEXTPRODID) or CONFIGSVN ≠ 0
 *   by KEYNAME (ZF=1, RAX = code, output untouched):
 *     SEAL            RC 32 CPUSVN beyond the CPU's; RC 64 ISVSVN or
 *                     CONFIGSVN above the enclave's
 *     REPORT          no checks
 *     EINITTOKEN      RC 2 without ATTRIBUTES.EINITTOKENKEY; RC 32; RC 64
 *     PROVISION(_SEAL) RC 2 without ATTRIBUTES.PROVISIONKEY; RC 32; RC 64
 *     other           RC 256 SGX_INVALID_KEYNAME
 *   success: 16-byte key at RCX, RAX = 0, ZF = 0 (the dispatcher clears the
 *   other arithmetic flags).
 * Key dependencies follow the SDM's table (keys.c documents the model's
 * derivation).  Attributes always include INIT and DEBUG.  The model keeps
 * no ISVFAMILYID / ISVEXTPRODID, so those policies add zeros.
 */
#include "../keys.h"
#include "../leaf.h"

#define POLICY_NOISVPRODID  0x04u
#define POLICY_CONFIGID     0x08u
#define POLICY_ISVFAMILYID  0x10u
#define POLICY_ISVEXTPRODID 0x20u
#define POLICY_KSS (POLICY_NOISVPRODID | POLICY_CONFIGID | POLICY_ISVFAMILYID | POLICY_ISVEXTPRODID)
#define POLICY_ALL (SGX_KEYPOLICY_MRENCLAVE | SGX_KEYPOLICY_MRSIGNER | POLICY_KSS)

/* The parts SEAL and PROVISION_SEAL take from KEYPOLICY */
static void policy_identity(struct hw_key_deps *d, const struct sgx_keyrequest *req, const struct sgx_secs *secs)
{
	if (!(req->keypolicy & POLICY_NOISVPRODID))
		d->isvprodid = secs->isv_prod_id;
	if (req->keypolicy & POLICY_CONFIGID) {
		memcpy(d->config_id, secs->config_id, 64);
		d->config_svn = req->config_svn;
	}
	d->keypolicy = req->keypolicy;
}

/* SVN checks shared by every key but REPORT; 0 when the request is allowed */
static uint64_t svn_check(struct hw_lp *lp, const struct sgx_keyrequest *req, const struct sgx_secs *secs)
{
	if (hw_cpusvn_beyond(lp->m, req->cpusvn))
		return SGX_INVALID_CPUSVN;
	if (req->isvsvn > secs->isv_svn)
		return SGX_INVALID_ISVSVN;
	return SGX_SUCCESS;
}

LEAF(enclu_egetkey)
{
	(void)rdx;
	KEY_LEAF_OPERAND(req_host, rbx, 512, HW_READ);
	KEY_LEAF_OPERAND(out_host, rcx, 16, HW_WRITE);
	struct sgx_keyrequest req;
	memcpy(&req, req_host, sizeof(req));
	REQUIRE(reserved_zero(req.reserved1, sizeof(req.reserved1)) &&
			reserved_zero(req.reserved2, sizeof(req.reserved2)),
		GP0);
	REQUIRE(!(req.keypolicy & ~POLICY_ALL), GP0);
	const struct sgx_secs *secs = current_secs(lp);
	REQUIRE((secs->attributes.flags & SGX_ATTR_KSS) || (!(req.keypolicy & POLICY_KSS) && req.config_svn == 0),
		GP0);

	struct sgx_attributes attrs = {
		.flags = (req.attribute_mask.flags | SGX_ATTR_INIT | SGX_ATTR_DEBUG) & secs->attributes.flags,
		.xfrm = req.attribute_mask.xfrm & secs->attributes.xfrm,
	};
	uint32_t misc = req.misc_mask & secs->miscselect;
	struct hw_key_deps d;
	memset(&d, 0, sizeof(d));
	d.keyname = req.keyname;
	uint8_t key[16];
	uint64_t code;

	switch (req.keyname) {
	case SGX_KEY_SEAL:
		if ((code = svn_check(lp, &req, secs)) != SGX_SUCCESS)
			return RC(code);
		if (req.config_svn > secs->config_svn)
			return RC(SGX_INVALID_ISVSVN);
		policy_identity(&d, &req, secs);
		if (req.keypolicy & SGX_KEYPOLICY_MRENCLAVE)
			memcpy(d.mrenclave, secs->mrenclave, 32);
		if (req.keypolicy & SGX_KEYPOLICY_MRSIGNER)
			memcpy(d.mrsigner, secs->mrsigner, 32);
		memcpy(d.keyid, req.keyid, 32);
		break;
	case SGX_KEY_REPORT:
		hw_report_key(lp->m, secs->mrenclave, &secs->attributes, secs->miscselect, secs->config_id,
			      secs->config_svn, req.keyid, key);
		memcpy(out_host, key, sizeof(key));
		return OK;
	case SGX_KEY_EINITTOKEN:
		if (!(secs->attributes.flags & SGX_ATTR_EINITTOKENKEY))
			return RC(SGX_INVALID_ATTRIBUTE);
		if ((code = svn_check(lp, &req, secs)) != SGX_SUCCESS)
			return RC(code);
		hw_launch_key(lp->m, req.keyid, key);
		memcpy(out_host, key, sizeof(key));
		return OK;
	case SGX_KEY_PROVISION:
	case SGX_KEY_PROVISION_SEAL:
		if (!(secs->attributes.flags & SGX_ATTR_PROVISIONKEY))
			return RC(SGX_INVALID_ATTRIBUTE);
		if ((code = svn_check(lp, &req, secs)) != SGX_SUCCESS)
			return RC(code);
		if (req.keyname == SGX_KEY_PROVISION_SEAL)
			policy_identity(&d, &req, secs);
		else
			d.isvprodid = secs->isv_prod_id;
		memcpy(d.mrsigner, secs->mrsigner, 32);
		break;
	default:
		return RC(SGX_INVALID_KEYNAME);
	}
	/* common to SEAL, PROVISION, PROVISION_SEAL */
	d.isvsvn = req.isvsvn;
	d.attributes = attrs;
	d.attributes_mask = req.attribute_mask;
	memcpy(d.cpusvn, req.cpusvn, 16);
	d.miscselect = misc;
	d.miscmask = ~req.misc_mask;
	hw_derive_enclave_key(lp->m, &d, key);
	memcpy(out_host, key, sizeof(key));
	return OK;
}
