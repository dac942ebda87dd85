/* Subcommands of the sgx2emu command. */
#ifndef SGX2EMU_TOOLS_H
#define SGX2EMU_TOOLS_H

int cmd_demo(int argc, char **argv);
int cmd_cpuid(int argc, char **argv);
int cmd_run(int argc, char **argv);        /* scenario_run.c */
int cmd_compare(int argc, char **argv);    /* compare.c */
int cmd_inspect(int argc, char **argv);    /* inspect.c */
int cmd_exec(int argc, char **argv);       /* exec.c */

#endif
