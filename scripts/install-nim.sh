#!/usr/bin/env bash
# Installs Debian's Nim compiler (package nim, 1.6 on bookworm) for the Nim smoke test of
# the C ABI (bindings/nim), unless a nim is already on PATH.
set -euo pipefail
if command -v nim >/dev/null 2>&1; then
	exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends nim >/dev/null 2>&1; then
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y --no-install-recommends nim >/dev/null
fi
nim --version | head -1
