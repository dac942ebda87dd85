#!/usr/bin/env bash
# Installs into a temporary DESTDIR, then compiles, links and runs a tiny
# program against the installed headers and shared library using only
# `pkg-config --cflags --libs sgx2emu` — what a user of the library does.
# BUILD=dir selects the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
prefix=/usr/local
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

make -s BUILD="$build" PREFIX="$prefix" DESTDIR="$dest" install >/dev/null
# The .pc file names the final prefix; the sysroot makes pkg-config point
# into the staging directory instead.
export PKG_CONFIG_PATH="$dest$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
pkg-config --exists --print-errors sgx2emu

cat >"$dest/probe.c" <<'PROBE'
#include <stdio.h>
#include <string.h>
#include <sgx2emu/hw.h>
#include <sgx2emu/sign.h>

int main(void)
{
	struct hw_machine *m = hw_machine_create(NULL);
	if (!m)
		return 1;
	uint32_t cpuid[4];
	hw_cpuid(m, 0x12, 0, cpuid);
	static struct sgx_sigstruct ss;
	sgx_sigstruct_init_header(&ss);
	printf("probe: %u EPC frames, SGX2 %s, %s, sigstruct header %02x\n", hw_epc_frames(m),
	       cpuid[0] & 2 ? "yes" : "no", hw_encls_name(SGX_EAUG), ss.header.header[0]);
	hw_machine_destroy(m);
	return 0;
}
PROBE
cc -std=gnu11 -Wall -Werror $(pkg-config --cflags sgx2emu) -o "$dest/probe" "$dest/probe.c" \
	$(pkg-config --libs sgx2emu)
LD_LIBRARY_PATH="$dest$prefix/lib" "$dest/probe"
echo "install check: headers, libsgx2emu.so.0 and sgx2emu.pc work from $prefix (staged in DESTDIR)"
