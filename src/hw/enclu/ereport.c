/*
 * EREPORT (ENCLU 0) — RBX: TARGETINFO, RCX: REPORTDATA, RDX: output REPORT.
 * isa.md §4.17.  Inside enclave mode only (else #GP, checked by the
 * dispatcher; a fault inside is an AEX).
 *
 * Each operand in turn, RBX then RCX then RDX (KEY_LEAF_OPERAND, keys.h):
 *   #GP  not aligned (TARGETINFO 512, REPORTDATA 128, REPORT 512) or
 *        outside ELRANGE
 *   #PF  not mapped / not mapped writable (RDX): ordinary, from the page table
 *   #PF  not an accepted REG page of this enclave with R (RBX, RCX) or W
 *        (RDX) in the EPCM: P|U|SGX
 * Effects: REPORT body from the current SECS (CPUSVN of the CPU, MISCSELECT,
 * ATTRIBUTES, MRENCLAVE, MRSIGNER, CONFIGID, ISVPRODID, ISVSVN, CONFIGSVN)
 * and the 64 bytes of REPORTDATA, reserved fields zero; KEYID =
 * CR_REPORT_KEYID; MAC = AES-CMAC over the 384-byte body under the report key
 * of the TARGETINFO enclave (keys.c).  432 bytes are written.  No return
 * codes, no flags.  The model keeps no ISVFAMILYID / ISVEXTPRODID: zero.
 */
#include "../keys.h"
#include "../leaf.h"

#define REPORT_BYTES (offsetof(struct sgx_report, mac) + 16)

LEAF(enclu_ereport)
{
	struct hw_machine *m = lp->m;
	KEY_LEAF_OPERAND(ti_host, rbx, 512, HW_READ);
	KEY_LEAF_OPERAND(rd_host, rcx, 128, HW_READ);
	KEY_LEAF_OPERAND(out_host, rdx, 512, HW_WRITE);

	const struct sgx_secs *secs = current_secs(lp);
	struct sgx_targetinfo ti;
	memcpy(&ti, ti_host, sizeof(ti));
	struct sgx_report rep;
	memset(&rep, 0, sizeof(rep));
	memcpy(rep.body.cpusvn, m->cpusvn, 16);
	rep.body.miscselect = secs->miscselect;
	rep.body.attributes = secs->attributes;
	memcpy(rep.body.mrenclave, secs->mrenclave, 32);
	memcpy(rep.body.mrsigner, secs->mrsigner, 32);
	memcpy(rep.body.config_id, secs->config_id, 64);
	rep.body.isv_prod_id = secs->isv_prod_id;
	rep.body.isv_svn = secs->isv_svn;
	rep.body.config_svn = secs->config_svn;
	memcpy(rep.body.report_data, rd_host, 64);
	hw_report_keyid(m, rep.keyid);

	uint8_t key[16];
	hw_report_key(m, ti.mrenclave, &ti.attributes, ti.miscselect, ti.config_id, ti.config_svn, rep.keyid, key);
	aes_cmac(key, &rep.body, sizeof(rep.body), rep.mac);
	memcpy(out_host, &rep, REPORT_BYTES);
	return OK;
}
