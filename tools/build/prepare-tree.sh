#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make $MHP_CACHE/src: a pristine 6.12.y tree with the project's patch series
# applied and its files laid in. Idempotent and deterministic: the tree is
# re-created from the pristine copy whenever the patches, the overlay or the
# source change, and synced by content so that only files whose bytes changed
# get a new mtime (incremental kernel builds stay incremental).
#
# Environment:
#   MHP_CACHE  cache directory (default /var/cache/mhp-rust)
#   KSRC       a 6.12.y source tree to use instead of Debian's linux-source-6.12
#   KTARBALL   the tarball to use (default /usr/src/linux-source-6.12.tar.xz)
#
# `prepare-tree.sh --overlay` prints the overlay (repo path, tree path) and exits.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
# What lands in the tree, and where (repo path -> tree path); `prepare-tree.sh --overlay`
# prints it (make series reads it).
overlay() {
	local f
	for f in Kbuild Kconfig .kunitconfig rust/*.rs glue/*.c; do
		if [ -e "$f" ]; then echo "$f drivers/base/memory_rust/$(basename "$f")"; fi
	done
	for f in rust/memory_block/*.rs; do
		if [ -e "$f" ]; then echo "$f drivers/base/memory_rust/memory_block/$(basename "$f")"; fi
	done
	for d in rust/kernel rust/helpers include tools/testing/selftests; do
		if [ -d "$d" ]; then find "$d" -type f | sort | sed 's/.*/& &/'; fi
	done
	for f in Documentation/*.rst Documentation/*.svg; do
		if [ -e "$f" ]; then echo "Documentation/$(basename "$f") Documentation/admin-guide/mm/$(basename "$f")"; fi
	done
	return 0
}

if [ "${1:-}" = --overlay ]; then
	overlay
	exit 0
fi

cache=${MHP_CACHE:-/var/cache/mhp-rust}
tarball=${KTARBALL:-/usr/src/linux-source-6.12.tar.xz}
mkdir -p "$cache"
# One at a time: tests running side by side may each prepare the tree.
exec 9>"$cache/.prepare-tree.lock"
flock 9

# 1. The pristine source.
if [ -n "${KSRC:-}" ]; then
	pristine=$(cd "$KSRC" && pwd)
	src_id="dir:$pristine:$(make -s -C "$pristine" kernelversion 2>/dev/null)"
else
	pristine=$cache/pristine
	src_id="tar:$tarball:$(stat -c '%s:%Y' "$tarball")"
	if [ "$(cat "$cache/pristine.id" 2>/dev/null)" != "$src_id" ]; then
		echo "tree: extracting $tarball (about 30 s)"
		rm -rf "$pristine" "$cache/pristine.tmp" "$cache/pristine.id"
		mkdir -p "$cache/pristine.tmp"
		tar -xf "$tarball" -C "$cache/pristine.tmp" --strip-components=1
		mv "$cache/pristine.tmp" "$pristine"
		echo "$src_id" >"$cache/pristine.id"
	fi
fi
version=$(make -s -C "$pristine" kernelversion)
case "$version" in
6.12.*) ;;
*) echo "tree: $pristine is Linux $version, not 6.12.y" >&2; exit 1 ;;
esac

stamp=$({
	echo "$src_id"
	cat "$0"
	overlay
	cd "$top"
	cat patches/*.patch
	overlay | while read -r from _; do cat "$from"; done
} | sha256sum | cut -d' ' -f1)

src=$cache/src
if [ "$(cat "$src/.mhp-stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

# 2. Stage: pristine + patches + overlay.
stage=$cache/stage
echo "tree: preparing $src from Linux $version"
rm -rf "$stage"
if [ "$pristine" = "$cache/pristine" ]; then
	cp -al "$pristine" "$stage"	# hard links; git apply replaces files
else
	rsync -a --exclude=.git "$pristine/" "$stage/"
fi
# git apply, as git am does: no fuzz, so the series stays one that applies
# with git am. It replaces the files it changes (unlink, then create: never a
# write through the hard links into pristine). GIT_CEILING_DIRECTORIES keeps
# it from taking a git checkout around the cache for the tree's top, where it
# would skip every path (and still succeed); -v shows such a skip.
for p in "$top"/patches/*.patch; do
	out=$(cd "$stage" && GIT_CEILING_DIRECTORIES=$cache git apply -v --whitespace=nowarn "$p" 2>&1) &&
		! grep -q '^Skipped patch' <<<"$out" ||
		{ echo "tree: $(basename "$p") does not apply (git apply):" >&2; echo "$out" >&2; exit 1; }
done
overlay | while read -r from to; do
	mkdir -p "$stage/$(dirname "$to")"
	rm -f "$stage/$to"	# never write through a hard link into pristine
	cp "$top/$from" "$stage/$to"
done

# 3. Sync by content; changed files get the current time.
mkdir -p "$src"
rsync -rl --checksum --delete --exclude=/.mhp-stamp "$stage/" "$src/"
rm -rf "$stage"
echo "$stamp" >"$src/.mhp-stamp"
