#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the project needs on a Debian 12 host, skipping what is
# already there: the 6.12 kernel source, Debian's rustc 1.96 with rust-src,
# clippy and rustfmt, clang/lld/llvm 14, QEMU, busybox, util-linux and
# ndctl/daxctl and udev for the guest, and bindgen-cli pinned to one version (built from crates.io).
set -euo pipefail

BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}
BINDGEN_ROOT=${BINDGEN_ROOT:-/opt/mhp-rust/bindgen-$BINDGEN_VERSION}

PACKAGES=(
	# Kernel build.
	make gcc flex bison bc libelf-dev libssl-dev cpio kmod xz-utils rsync python3 git
	clang lld llvm libclang-dev
	# Debian's Rust toolchain matching 6.12 (rustup's has no rust-src here).
	rustc-web rust-web-src rust-web-clippy rustfmt-web
	# The default kernel source.
	linux-source-6.12
	# VM and guest userland.
	qemu-system-x86 busybox-static util-linux bash ndctl daxctl udev
	# Instruction counts at kernel functions during boot (test_bench.py).
	gdb
	# The admin guide's HTML build (make htmldocs; dot for its figures), sparse (C=1) and b4
	# (make series' output is a b4 prep branch).
	python3-sphinx python3-sphinx-rtd-theme graphviz sparse b4
)

SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$BINDGEN_ROOT/bin/bindgen" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	echo "deps: building bindgen-cli $BINDGEN_VERSION (about 2-3 minutes)"
	cargo=$(command -v cargo || true)
	[ -n "$cargo" ] || cargo=$HOME/.cargo/bin/cargo
	if [ ! -x "$cargo" ]; then
		# No rustup here: Debian's cargo matching rustc-web.
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
			--no-install-recommends cargo-web >/dev/null
		cargo=/usr/bin/cargo
	fi
	"$cargo" install --quiet --locked bindgen-cli --version "$BINDGEN_VERSION" \
		--root "$BINDGEN_ROOT"
fi
