#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest initramfs for one variant: static busybox, bash, util-linux
# lsmem/chmem, kmod (modprobe, modinfo, rmmod, lsmod), Debian's udev
# (systemd-udevd, udevadm and the rules it ships), the variant's modules,
# the memory-hotplug selftests (as the tree has them, and installed for the
# kselftest runner) and the guest agent (guest/init).
#
# Usage: initramfs.sh MODROOT SRCTREE OUTPUT
#   MODROOT  the variant's INSTALL_MOD_PATH (holds lib/modules/<release>)
#   SRCTREE  the prepared kernel tree (for tools/testing/selftests)
set -euo pipefail

modroot=${1:?MODROOT}
srctree=${2:?SRCTREE}
output=${3:?OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp makes the directory 0700: the guest's / and what is made below must be usable by
# an unprivileged user too.
chmod 755 "$root"
umask 022

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,run,root,mnt}
mkdir -p "$root/sys/kernel/debug" "$root/opt/selftests"

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	case "$applet" in
	busybox | bash | modprobe | modinfo | rmmod | insmod | lsmod | depmod) ;;
	*) ln -sf busybox "$root/bin/$applet" ;;
	esac
done

# Dynamic binaries from the host, with their libraries.
copy_bin() {
	local bin=$1 dest=$2 lib
	cp -L "$bin" "$root/$dest"
	for lib in $(ldd "$bin" | grep -o '/[^ )]*'); do
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
}
copy_bin /bin/bash bin/bash
copy_bin /usr/bin/lsmem usr/bin/lsmem
copy_bin /usr/sbin/chmem usr/sbin/chmem
copy_bin /bin/kmod bin/kmod
# Runs tests as an unprivileged user or without a capability (busybox has a
# setpriv applet without these options: tests call /usr/bin/setpriv).
copy_bin /usr/bin/setpriv usr/bin/setpriv
# dax/kmem's user space: ndctl makes a devdax namespace, daxctl turns it into System RAM.
copy_bin /usr/bin/ndctl usr/bin/ndctl
copy_bin /usr/bin/daxctl usr/bin/daxctl
# Debian's udev: systemd-udevd (a name of udevadm), udevadm, the rules and helpers it
# ships, as a distribution boots them (tests add their own rules in /etc/udev/rules.d).
copy_bin /bin/udevadm bin/udevadm
mkdir -p "$root/lib/systemd" "$root/lib/udev" "$root/etc/udev/rules.d"
ln -sf /bin/udevadm "$root/lib/systemd/systemd-udevd"
cp -a /lib/udev/rules.d "$root/lib/udev/"
for helper in /lib/udev/*; do
	[ -f "$helper" ] && [ -x "$helper" ] && copy_bin "$helper" "lib/udev/${helper##*/}"
done
cp /etc/udev/udev.conf "$root/etc/udev/"
for t in modprobe modinfo rmmod insmod lsmod depmod; do
	ln -sf kmod "$root/bin/$t"
	ln -sf ../bin/kmod "$root/sbin/$t"
done

# Modules of this variant.
if [ -d "$modroot/lib/modules" ]; then
	cp -a "$modroot/lib/modules" "$root/lib/"
fi

# The upstream selftest.
cp -a "$srctree/tools/testing/selftests/memory-hotplug" "$root/opt/selftests/"
if [ -d "$here/../selftests/memory-hotplug" ]; then
	cp -a "$here/../selftests/memory-hotplug/." "$root/opt/selftests/memory-hotplug/"
fi

# The memory-hotplug kselftests, installed as kselftest_install.sh installs the
# selftests (make install with KSFT_INSTALL_PATH), for this target only: run
# them with /opt/kselftest/run_kselftest.sh.
make -s -C "$srctree/tools/testing/selftests" TARGETS=memory-hotplug \
	KSFT_INSTALL_PATH="$root/opt/kselftest" install >/dev/null

cp "$here/guest/init" "$root/init"
chmod 755 "$root/init"
printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' 'nobody:x:65534:65534:nobody:/:/bin/sh' \
	>"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
# The host's (Debian's) system groups, which udev's rules name (tty, disk, dialout...).
grep -v '^root:\|^nogroup:' /etc/group | cut -d: -f1-3 | sed 's/$/:/' >>"$root/etc/group"

chmod 1777 "$root/tmp"
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) |
	gzip -1 >"$output.tmp"
mv "$output.tmp" "$output"
