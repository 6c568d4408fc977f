#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build one variant of the kernel incrementally:
#   c      upstream C memory block driver (the oracle)
#   rust   the project's Rust code in
#   rust-mod  rust with the memory_hotplug policy as a loadable module
#   debug  rust-mod + PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, KASAN, kmemleak
#   c-CFG, rust-CFG  c or rust with configs/CFG.config on top (the booted
#          configuration matrix: nonuma, nohotremove)
#
# The build directory is $MHP_CACHE/build-$VARIANT; modules are installed
# (with depmod) under $MHP_CACHE/build-$VARIANT/modroot/lib/modules/<release>.
# The last line printed is the path of the bzImage.
#
# Usage: build-kernel.sh VARIANT [extra make arguments...]
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
variant=${1:?usage: build-kernel.sh c|rust|rust-mod|debug|c-CFG|rust-CFG}
shift
cache=${MHP_CACHE:-/var/cache/mhp-rust}
src=$cache/src
out=$cache/build-$variant

# c-CFG and rust-CFG: c or rust with configs/CFG.config on top, for the booted
# configuration matrix (nonuma, nohotremove).
case "$variant" in
c) fragments=(common c) ;;
rust) fragments=(common rust) ;;
rust-mod) fragments=(common rust rust-mod) ;;
debug) fragments=(common rust rust-mod debug) ;;
c-*|rust-*)
	case "${variant#*-}" in
	c | rust | rust-mod | debug | common)
		echo "build: '$variant': CFG names a configs/CFG.config of its own" >&2; exit 1 ;;
	esac
	fragments=(common "${variant%%-*}" "${variant#*-}") ;;
*) echo "build: unknown variant '$variant' (c, rust, rust-mod, debug, c-CFG, rust-CFG)" >&2; exit 1 ;;
esac
for f in "${fragments[@]}"; do
	[ -f "$top/configs/$f.config" ] ||
		{ echo "build: no configs/$f.config for variant '$variant'" >&2; exit 1; }
done

"$top/tools/build/prepare-tree.sh"
# shellcheck source=tools/build/toolchain.sh
. "$top/tools/build/toolchain.sh"
kmake() { make -C "$src" O="$out" "${KMAKE_ARGS[@]}" "$@"; }

# c and rust-mod differ from rust only in the driver options, which no widely
# included header depends on: start from rust's objects (if built) so that
# only what depends on those options is rebuilt. Likewise c-CFG from rust-CFG,
# and rust-CFG from rust (Kbuild rebuilds what depends on the changed options).
case "$variant" in
c | rust-mod) seed=$cache/build-rust ;;
c-*) seed=$cache/build-rust-${variant#c-} ;;
rust-*) seed=$cache/build-rust ;;
*) seed= ;;
esac
if [ -n "$seed" ] && [ ! -e "$out" ] && [ -f "$seed/vmlinux" ]; then
	echo "build[$variant]: starting from $seed"
	mkdir -p "$out.tmp"
	(cd "$seed" && tar --exclude=./modroot -cf - .) | (cd "$out.tmp" && tar -xf -)
	mv "$out.tmp" "$out"
fi

# Configuration: tinyconfig + kvm_guest.config + the fragments, regenerated
# only when the fragments change.
mkdir -p "$out"
cfg_stamp=$(for f in "${fragments[@]}"; do cat "$top/configs/$f.config"; done |
	sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/.mhp-config-stamp" 2>/dev/null)" != "$cfg_stamp" ] || [ ! -f "$out/.config" ]; then
	echo "build[$variant]: configuring"
	kmake -s tinyconfig >/dev/null
	kmake -s kvm_guest.config >/dev/null
	frag_files=()
	for f in "${fragments[@]}"; do frag_files+=("$top/configs/$f.config"); done
	(cd "$out" && KCONFIG_CONFIG=.config "$src/scripts/kconfig/merge_config.sh" \
		-m -O "$out" .config "${frag_files[@]}" >/dev/null)
	kmake -s olddefconfig >/dev/null
	# Every option we ask for must have made it: a silently dropped option
	# (unmet dependency) would make the variants test something else. A later
	# fragment overrides an earlier one, as in merge_config.sh.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%%=*}
			grep -q "^$sym=" "$out/.config" && { echo "build: $sym is set, wanted n" >&2; bad=1; } ;;
		CONFIG_*) grep -qx "$line" "$out/.config" ||
			{ echo "build: wanted $line, got '$(grep "^${line%%=*}=" "$out/.config" || echo unset)'" >&2; bad=1; } ;;
		esac
	done < <(cat "${frag_files[@]}" | grep -E '^CONFIG_' |
		awk -F= '{ last[$1] = $0; order[NR] = $1 } END {
			for (i = 1; i <= NR; i++) if (!seen[order[i]]++) print last[order[i]] }')
	[ "$bad" = 0 ] || exit 1
	echo "$cfg_stamp" >"$out/.mhp-config-stamp"
fi

# Build with a progress line every 30 seconds; warnings and errors show at once.
log=$out/build.log
echo "build[$variant]: make (log: $log)"
start=$(date +%s)
set +e
kmake -j"$(nproc)" bzImage modules "$@" 2>&1 | tee "$log" | awk -v v="$variant" '
	/warning:|error:|Error [0-9]/ { print; fflush() }
	{ n++; t = systime(); if (t - last >= 30) { printf "build[%s]: %d steps, at %s\n", v, n, $NF; fflush(); last = t } }'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
	echo "build[$variant]: FAILED, last lines of $log:" >&2
	tail -n 40 "$log" >&2
	exit "$rc"
fi

rm -rf "$out/modroot"
kmake -s INSTALL_MOD_PATH="$out/modroot" INSTALL_MOD_STRIP=1 modules_install >/dev/null
echo "build[$variant]: done in $(($(date +%s) - start)) s, modules in $out/modroot"
echo "$out/arch/x86/boot/bzImage"
