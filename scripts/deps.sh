#!/usr/bin/env bash
# Makes sure the Debian packages sgx2emu needs are installed.
#
# Fast no-op when everything is there.  As root it installs what is missing
# (apt-get update first: a fresh machine may have no package lists); as
# another user it names the missing packages and the command, and fails.
# Plain bash + dpkg-query only: a fresh machine may not even have make.
set -euo pipefail

# gcc/make/libc headers (build-essential), pkg-config (install check),
# OpenSSL libcrypto + headers, cmocka (tests), kernel UAPI headers (asm/sgx.h).
packages=(build-essential gcc make pkg-config libssl-dev openssl libcmocka-dev linux-libc-dev)

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found: this script knows Debian/Ubuntu only." >&2
	echo "deps.sh: install by hand: a C11 compiler, make, pkg-config, OpenSSL 3 (libcrypto + headers), cmocka." >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
	echo "deps.sh: install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
