/* STUB: to be implemented (EWB/ELDU sealing) */
#include "machine.h"

int seal_page(struct hw_machine *m, uint64_t version, const struct sgx_pcmd *header_in, const uint8_t *plain,
	      uint8_t *cipher, uint8_t mac[16])
{
	(void)m; (void)version; (void)header_in; (void)plain; (void)cipher; (void)mac;
	return -1;
}

int unseal_page(struct hw_machine *m, uint64_t version, const struct sgx_pcmd *header_in, const uint8_t *cipher,
		uint8_t *plain, const uint8_t mac[16])
{
	(void)m; (void)version; (void)header_in; (void)cipher; (void)plain; (void)mac;
	return -1;
}
