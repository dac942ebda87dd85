/* The EMM tests' machine, process and bound thread (emm_machine.h). */
#include "common/fixture.h"
#include "runtime/emm_machine.h"

void emm_machine_create(struct emu **emu, struct emu_proc **proc, struct emu_thread **thread)
{
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	*emu = emu_create(&cfg);
	assert_non_null(*emu);
	*proc = emu_proc_create(*emu);
	*thread = emu_thread_create(*proc);
	assert_non_null(*thread);
	emu_thread_bind(*thread);
}

void emm_machine_destroy(struct emu *emu, struct emu_proc *proc, struct emu_thread *thread)
{
	emu_thread_bind(NULL);
	emu_thread_destroy(thread);
	emu_proc_exit(proc);
	emu_destroy(emu);
}
