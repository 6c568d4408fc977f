#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The sysfs ABI of the memory subsystem (Documentation/ABI/testing/
# sysfs-devices-memory): the root files, every memory block's files and their
# formats, the errors of bad writes, and onlines and offlines in every online
# mode. Needs no host: it uses the blocks the machine has (the onlines need
# three offline blocks, e.g. a DIMM added without onlining).

source "$(dirname "$(readlink -f "$0")")/memory_hotplug_lib.sh"

ktap_print_header
require_root
if [ ! -d "$SYSMEM" ]; then
	ktap_skip_all "no $SYSMEM (CONFIG_MEMORY_HOTPLUG=n)"
	exit "$KSFT_SKIP"
fi

ONLINE_TYPES="offline online online_kernel online_movable"

# The root files.
bs=$(cat "$SYSMEM/block_size_bytes")
check "block_size_bytes is hex without 0x" "$([[ $bs =~ ^[0-9a-f]+$ ]] && echo yes)" yes
bytes=$((16#$bs))
check "block_size_bytes is a power of two" "$((bytes & (bytes - 1)))" 0
aob=$(cat "$SYSMEM/auto_online_blocks")
check "auto_online_blocks is an online type" \
	"$([[ " $ONLINE_TYPES " == *" $aob "* ]] && echo yes)" yes
check "auto_online_blocks: a bad value is EINVAL" \
	"$(write_err "$SYSMEM/auto_online_blocks" bogus)" "Invalid argument"
check "auto_online_blocks: 'Online' is EINVAL (case matters)" \
	"$(write_err "$SYSMEM/auto_online_blocks" Online)" "Invalid argument"
check "auto_online_blocks: the current value can be written back" \
	"$(write_err "$SYSMEM/auto_online_blocks" "$aob")" OK
check "auto_online_blocks is unchanged" "$(cat "$SYSMEM/auto_online_blocks")" "$aob"
perms="" want=""
for f in block_size_bytes:444 auto_online_blocks:644 probe:200 \
	soft_offline_page:200 hard_offline_page:200; do
	[ -e "$SYSMEM/${f%%:*}" ] || continue
	perms+="$(stat -c %n:%a "$SYSMEM/${f%%:*}" | sed 's|.*/||') "
	want+="$f "
done
check "root files' permissions: $perms" "$perms" "$want"
if [ -e "$SYSMEM/probe" ]; then
	check "probe: an unaligned address is EINVAL" \
		"$(write_err "$SYSMEM/probe" 0x1)" "Invalid argument"
	check "probe: not a number is EINVAL" \
		"$(write_err "$SYSMEM/probe" bogus)" "Invalid argument"
else
	ktap_test_skip "probe: no probe file (CONFIG_ARCH_MEMORY_PROBE=n)"
fi

# Every block's files.
ids=$(blocks)
check "there are memory blocks" "$([ -n "$ids" ] && echo yes)" yes
bad_state="" bad_index="" bad_online="" bad_zones="" bad_removable=""
bad_device="" bad_node="" bad_perm=""
for id in $ids; do
	m=$SYSMEM/memory$id
	state=$(cat "$m/state")
	[[ " online offline going-offline " == *" $state "* ]] || bad_state+=" $id:$state"
	[ "$(cat "$m/phys_index")" = "$(printf %08x "$id")" ] || bad_index+=" $id"
	online=$(cat "$m/online")
	[ "$online" = "$([ "$state" = online ] && echo 1 || echo 0)" ] ||
		bad_online+=" $id:$state:$online"
	zones=$(cat "$m/valid_zones")
	if [ "$state" = online ]; then
		[[ $zones =~ ^(DMA|DMA32|Normal|Movable|none)$ ]] || bad_zones+=" $id:$zones"
	else
		[[ $zones =~ ^(DMA|DMA32|Normal|Movable|none)( (Normal|Movable))*$ ]] ||
			bad_zones+=" $id:$zones"
	fi
	[[ $(cat "$m/removable") =~ ^[01]$ ]] || bad_removable+=" $id"
	[[ $(cat "$m/phys_device") =~ ^[0-9]+$ ]] || bad_device+=" $id"
	if [ -d /sys/devices/system/node/node0 ]; then
		links=$(find "$m" -maxdepth 1 -name 'node[0-9]*' | wc -l)
		[ "$links" -ge 1 ] || bad_node+=" $id"
	fi
	p=$(stat -c %a "$m/state" "$m/online" "$m/phys_index" "$m/valid_zones" \
		"$m/removable" "$m/phys_device" | tr '\n' ' ')
	[ "$p" = "644 644 444 444 444 444 " ] || bad_perm+=" $id:$p"
done
check "every block's state is online, offline or going-offline" "$bad_state" ""
check "every block's phys_index is its id in %08x" "$bad_index" ""
check "every block's online is 1 exactly when its state is online" "$bad_online" ""
check "every block's valid_zones lists zones (one if online)" "$bad_zones" ""
check "every block's removable is 0 or 1" "$bad_removable" ""
check "every block's phys_device is a number" "$bad_device" ""
check "every block links to its node" "$bad_node" ""
check "every block's files' permissions" "$bad_perm" ""

# Bad writes, on an online block: the errors are the C driver's.
on=$(blocks_in online | tail -n 1)
if [ -n "$on" ]; then
	m=$SYSMEM/memory$on
	check "state: an unknown online type is EINVAL" \
		"$(write_err "$m/state" bogus)" "Invalid argument"
	check "state: 'online' when online is EINVAL" \
		"$(write_err "$m/state" online)" "Invalid argument"
	check "state: 'going-offline' is EINVAL" \
		"$(write_err "$m/state" going-offline)" "Invalid argument"
	check "online: '2' is EINVAL" "$(write_err "$m/online" 2)" "Invalid argument"
	check "online: '1' when online succeeds" "$(write_err "$m/online" 1)" OK
	check "phys_index is read-only" "$(write_err "$m/phys_index" 0)" "Permission denied"
else
	ktap_test_fail "bad writes: no online memory block"
fi

# Onlines and offlines, one offline block per online mode (from the highest):
# Movable memory goes offline again; memory in a kernel zone may be in use by
# the kernel as soon as it is online, so EBUSY is a correct answer there (the
# block then stays online).
off=($(blocks_in offline | sort -rn))
if [ "${#off[@]}" -ge 3 ]; then
	m=$SYSMEM/memory${off[0]}
	check "state: 'offline' when offline is EINVAL" \
		"$(write_err "$m/state" offline)" "Invalid argument"
	i=0
	for mode in online_movable online_kernel online; do
		id=${off[$i]}
		i=$((i + 1))
		m=$SYSMEM/memory$id
		zones=$(cat "$m/valid_zones")
		case $mode in
		online_movable) want=Movable ;;
		online_kernel) want=$(tr ' ' '\n' <<<"$zones" | grep -vx Movable | head -n 1) ;;
		online) want=${zones%% *} ;;
		esac
		res=$(write_err "$m/state" "$mode")
		check "$mode: an offline block goes online into valid_zones' $mode zone" \
			"$res $(cat "$m/state") $(cat "$m/valid_zones") $(cat "$m/online")" \
			"OK online $want 1"
		res=$(write_err "$m/state" offline)
		if [ "$want" = Movable ]; then
			check "$mode: it goes offline again" "$res $(cat "$m/state")" "OK offline"
		else
			ktap_print_msg "$mode: memory$id offline: $res"
			check "$mode: it goes offline again or is busy" \
				"$(case $res in OK | "Device or resource busy") echo yes ;; esac)" yes
		fi
	done
	m=$SYSMEM/memory${off[0]}
	check "online: '1' onlines an offline block" \
		"$(write_err "$m/online" 1) $(cat "$m/state")" "OK online"
	res=$(write_err "$m/online" 0)
	ktap_print_msg "online: memory${off[0]} offline: $res"
	check "online: '0' offlines it again or it is busy" \
		"$(case $res in OK | "Device or resource busy") echo yes ;; esac)" yes
else
	ktap_test_skip "onlines and offlines: fewer than 3 offline memory blocks"
fi

finish
