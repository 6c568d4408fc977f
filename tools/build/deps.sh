#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the project needs on a Debian 12 host, skipping what is
# already there: the 6.12 kernel source, Debian's rustc 1.96 with rust-src,
# clippy and rustfmt, clang/lld/llvm 14, QEMU, busybox, util-linux and
# ndctl/daxctl and udev for the guest, gdb, bindgen-cli pinned to one version (built from
# crates.io) and virtme-ng (from PyPI).
set -euo pipefail

BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}
BINDGEN_ROOT=${BINDGEN_ROOT:-/opt/mhp-rust/bindgen-$BINDGEN_VERSION}
# virtme-ng (vng), from PyPI, in a virtual environment of its own (test_vng.py).
VNG_VERSION=${VNG_VERSION:-1.42}
VNG_ROOT=${VNG_ROOT:-/opt/mhp-rust/vng}

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
	# virtme-ng's virtual environment.
	python3-venv
	# The admin guide's HTML build (make htmldocs; dot for its figures), sparse (C=1) and b4
	# (make series' output is a b4 prep branch).
	python3-sphinx python3-sphinx-rtd-theme graphviz sparse b4
	# htmldocs runs tools/net/ynl/ynl-gen-rst.py (import yaml) whatever SPHINXDIRS says.
	python3-yaml
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

if ! "$VNG_ROOT/bin/vng" --version 2>/dev/null | grep -qx "virtme-ng $VNG_VERSION"; then
	echo "deps: installing virtme-ng $VNG_VERSION"
	rm -rf "$VNG_ROOT"
	/usr/bin/python3 -m venv "$VNG_ROOT"
	"$VNG_ROOT/bin/pip" install --quiet "virtme-ng==$VNG_VERSION"
fi
