# SPDX-License-Identifier: GPL-2.0
# Sourced by the build scripts: the toolchain every kernel build uses.
# Debian's rustc 1.96 (with rust-src), its clippy and rustfmt, clang/lld 14
# and the pinned bindgen-cli. rustup's tools may come first in PATH and have
# no rust-src, so everything is named by absolute path.
BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}
BINDGEN=${BINDGEN:-/opt/mhp-rust/bindgen-$BINDGEN_VERSION/bin/bindgen}
KMAKE_ARGS=(
	LLVM=1
	RUSTC=/usr/bin/rustc
	RUSTDOC=/usr/bin/rustdoc
	RUSTFMT=/usr/bin/rustfmt
	CLIPPY_DRIVER=/usr/bin/clippy-driver
	BINDGEN="$BINDGEN"
)
