#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The memory_hotplug.* parameters (Documentation/admin-guide/mm/
# memory-hotplug.rst): their values, the errors of bad writes, and that a
# runtime write of the policy changes the zone an offline block would go to.
# Every value is restored at the end.

source "$(dirname "$(readlink -f "$0")")/memory_hotplug_lib.sh"

ktap_print_header
require_root
if [ ! -d "$PARAMS" ]; then
	ktap_skip_all "no $PARAMS: the memory_hotplug policy module is not loaded"
	exit "$KSFT_SKIP"
fi

policy=$(cat "$PARAMS/online_policy")
ratio=$(cat "$PARAMS/auto_movable_ratio")
numa=$(cat "$PARAMS/auto_movable_numa_aware" 2>/dev/null)
restore() {
	printf '%s\n' "$policy" >"$PARAMS/online_policy"
	printf '%s\n' "$ratio" >"$PARAMS/auto_movable_ratio"
	[ -z "$numa" ] || printf '%s\n' "$numa" >"$PARAMS/auto_movable_numa_aware"
}
trap restore EXIT

check "online_policy is contig-zones or auto-movable" \
	"$([[ $policy =~ ^(contig-zones|auto-movable)$ ]] && echo yes)" yes
check "auto_movable_ratio is a number" "$([[ $ratio =~ ^[0-9]+$ ]] && echo yes)" yes
if [ -e "$PARAMS/auto_movable_numa_aware" ]; then
	check "auto_movable_numa_aware is Y or N" "$([[ $numa =~ ^[YN]$ ]] && echo yes)" yes
else
	ktap_test_skip "auto_movable_numa_aware: not there (CONFIG_NUMA=n)"
fi
if [ -e "$PARAMS/memmap_on_memory" ]; then
	mom=$(cat "$PARAMS/memmap_on_memory")
	check "memmap_on_memory is Y, N or force" \
		"$([[ $mom =~ ^(Y|N|force)$ ]] && echo yes)" yes
	check "memmap_on_memory is read-only" \
		"$(write_err "$PARAMS/memmap_on_memory" Y)" "Permission denied"
else
	ktap_test_skip "memmap_on_memory: not there (CONFIG_MHP_MEMMAP_ON_MEMORY=n)"
fi

# online_policy: the two names, with a newline or not; anything else is EINVAL.
for v in auto-movable contig-zones; do
	check "online_policy: '$v' is taken" \
		"$(write_err "$PARAMS/online_policy" "$v") $(cat "$PARAMS/online_policy")" "OK $v"
done
for v in bogus Auto-Movable "auto-movable " ""; do
	check "online_policy: '$v' is EINVAL" \
		"$(write_err "$PARAMS/online_policy" "$v")" "Invalid argument"
done
check "online_policy is unchanged by bad writes" "$(cat "$PARAMS/online_policy")" contig-zones

# auto_movable_ratio: a uint.
for v in 0 100 0x20 4294967295 301; do
	check "auto_movable_ratio: '$v' is taken" \
		"$(write_err "$PARAMS/auto_movable_ratio" "$v") $(cat "$PARAMS/auto_movable_ratio")" \
		"OK $((v))"
done
for v in -1 bogus 1.5 ""; do
	check "auto_movable_ratio: '$v' is EINVAL" \
		"$(write_err "$PARAMS/auto_movable_ratio" "$v")" "Invalid argument"
done
check "auto_movable_ratio: 4294967296 is ERANGE" \
	"$(write_err "$PARAMS/auto_movable_ratio" 4294967296)" "Numerical result out of range"

# auto_movable_numa_aware: a bool.
if [ -e "$PARAMS/auto_movable_numa_aware" ]; then
	for v in n:N 1:Y off:N yes:Y Y:Y; do
		check "auto_movable_numa_aware: '${v%%:*}' reads back ${v##*:}" \
			"$(write_err "$PARAMS/auto_movable_numa_aware" "${v%%:*}") \
$(cat "$PARAMS/auto_movable_numa_aware")" "OK ${v##*:}"
	done
	check "auto_movable_numa_aware: 'maybe' is EINVAL" \
		"$(write_err "$PARAMS/auto_movable_numa_aware" maybe)" "Invalid argument"
fi

# A runtime write takes effect: the first zone of an offline block's
# valid_zones is the zone a plain online would choose now.
# The lowest offline block. Precondition: the memory device it belongs to has
# no memory online in a kernel zone (which keeps a DIMM's blocks out of
# Movable), as after adding DIMMs and leaving them offline.
off=$(blocks_in offline | head -n 1)
if [ -n "$off" ] && grep -qw Movable "$SYSMEM/memory$off/valid_zones"; then
	vz=$SYSMEM/memory$off/valid_zones
	printf 'auto-movable\n' >"$PARAMS/online_policy"
	printf '0\n' >"$PARAMS/auto_movable_ratio"
	check "auto-movable with ratio 0: memory$off would go to a kernel zone" \
		"$(cut -d' ' -f1 <"$vz" | grep -vx Movable)" "$(cut -d' ' -f1 <"$vz")"
	printf '4294967295\n' >"$PARAMS/auto_movable_ratio"
	printf 'N\n' >"$PARAMS/auto_movable_numa_aware" 2>/dev/null
	check "auto-movable with a huge ratio: memory$off would go to Movable" \
		"$(cut -d' ' -f1 <"$vz")" Movable
	restore
else
	ktap_test_skip "runtime policy change: no offline block that may go to Movable"
fi

finish
