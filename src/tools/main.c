/* sgx2emu command: placeholder front end, grows with the tools layer. */
#include <stdio.h>
#include <string.h>

#include "sgx2emu/hw.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct hw_machine *m = hw_machine_create(NULL);
	if (!m) {
		perror("sgx2emu: cannot create machine");
		return 1;
	}
	printf("sgx2emu: %u EPC frames\n", hw_epc_frames(m));
	hw_machine_destroy(m);
	return 0;
}
