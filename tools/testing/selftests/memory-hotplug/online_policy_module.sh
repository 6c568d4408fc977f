#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The online policy as a loadable module (CONFIG_MEMORY_HOTPLUG_RUST_POLICY=m):
# load with parameters, refused bad parameters, unload falling back to core
# mm's contig-zones, unload while the policy's debugfs file is open. Skipped
# where memory_hotplug is built in (the C code, or the Rust policy =y).

source "$(dirname "$(readlink -f "$0")")/memory_hotplug_lib.sh"

MOD=memory_hotplug
POLICY=$DEBUGFS/memory_block/policy

ktap_print_header
require_root
if ! modinfo -F filename "$MOD" 2>/dev/null | grep -q '\.ko'; then
	ktap_skip_all "$MOD is built in (or absent): nothing to load or unload"
	exit "$KSFT_SKIP"
fi
mount_debugfs

# Put back what was there: the module with its parameters, or nothing.
# (modprobe also applies memory_hotplug.* options of the kernel command line:
# run this on a kernel booted without them.)
was_loaded=""
if [ -e /sys/module/$MOD/initstate ]; then
	for p in online_policy auto_movable_ratio auto_movable_numa_aware; do
		was_loaded+=" $p=$(cat "$PARAMS/$p")"
	done
fi
restore() {
	rmmod "$MOD" 2>/dev/null
	[ -z "$was_loaded" ] || modprobe "$MOD" $was_loaded
}
trap restore EXIT

parms=$(modinfo -F parm "$MOD" | cut -d: -f1 | sort | tr '\n' ' ')
check "modinfo lists the parameters" \
	"$(for p in auto_movable_numa_aware auto_movable_ratio memmap_on_memory online_policy; do
		[[ " $parms" == *" $p "* ]] && echo -n "$p "; done)" \
	"auto_movable_numa_aware auto_movable_ratio memmap_on_memory online_policy "

rmmod "$MOD" 2>/dev/null
check "unloaded: no /sys/module/$MOD" "$([ -e /sys/module/$MOD ] && echo present)" ""
if [ -e "$POLICY" ]; then
	check "unloaded: the policy file says core mm decides" \
		"$(head -n 1 "$POLICY")" "policy: none (core mm's contig-zones)"
fi

out=$(modprobe "$MOD" online_policy=bogus 2>&1)
check "online_policy=bogus: modprobe fails" "$?" 1
check "online_policy=bogus: not loaded" "$([ -e /sys/module/$MOD ] && echo present)" ""
out=$(modprobe "$MOD" auto_movable_ratio=-1 2>&1)
check "auto_movable_ratio=-1: modprobe fails" "$?" 1

check "load with parameters" \
	"$(modprobe "$MOD" online_policy=auto-movable auto_movable_ratio=0 \
		auto_movable_numa_aware=N && echo OK)" OK
check "the parameters are the ones given" \
	"$(cat "$PARAMS/online_policy" "$PARAMS/auto_movable_ratio" \
		"$PARAMS/auto_movable_numa_aware" | tr '\n' ' ')" "auto-movable 0 N "
off=$(blocks_in offline | tail -n 1)
if [ -n "$off" ]; then
	first=$(cut -d' ' -f1 <"$SYSMEM/memory$off/valid_zones")
	check "ratio 0: memory$off would go to a kernel zone" \
		"$([ "$first" != Movable ] && echo yes)" yes
else
	ktap_test_skip "ratio 0: no offline block to ask"
fi
if [ -e "$POLICY" ]; then
	check "loaded: the policy file names the policy" \
		"$(head -n 1 "$POLICY" | cut -d' ' -f1-3)" "policy: auto-movable auto_movable_ratio=0"
	# Unload while the file is open: a read afterwards sees no policy, and
	# nothing breaks.
	exec 7<"$POLICY"
	rmmod "$MOD"
	check "unloaded while open: reading it still works" \
		"$(head -n 1 <&7)" "policy: none (core mm's contig-zones)"
	exec 7<&-
else
	ktap_test_skip "no $POLICY (the C driver)"
	rmmod "$MOD"
fi

check "reload with the defaults" "$(modprobe "$MOD" && echo OK)" OK
check "the defaults" \
	"$(cat "$PARAMS/online_policy" "$PARAMS/auto_movable_ratio" \
		"$PARAMS/auto_movable_numa_aware" | tr '\n' ' ')" "contig-zones 301 Y "
check "unload" "$(rmmod "$MOD" && echo OK)" OK

finish
