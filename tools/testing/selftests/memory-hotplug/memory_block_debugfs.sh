#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Rust memory block driver's observability (Documentation/admin-guide/mm/
# memory-hotplug-rust.rst): /sys/kernel/debug/memory_block/{failures,stats,
# policy} and the memory_block trace events, with an online vetoed by
# memory-notifier-error-inject. Skipped with the C driver, which has none.

source "$(dirname "$(readlink -f "$0")")/memory_hotplug_lib.sh"

D=$DEBUGFS/memory_block
INJECT=$DEBUGFS/notifier-error-inject/memory/actions/MEM_GOING_ONLINE/error

ktap_print_header
require_root
if ! mount_debugfs; then
	ktap_skip_all "no debugfs (CONFIG_DEBUG_FS=n)"
	exit "$KSFT_SKIP"
fi
if [ ! -d "$D" ]; then
	ktap_skip_all "no $D: the C memory block driver has no observability files"
	exit "$KSFT_SKIP"
fi

check "failures, stats and policy are there" \
	"$(ls "$D" | sort | tr '\n' ' ')" "failures policy stats "
check "stats: the header" "$(head -n 1 "$D/stats")" \
	"zone op ok failed total_ns max_ns failures_by_errno"
check "stats: the last line counts the failures logged" \
	"$(tail -n 1 "$D/stats" | sed 's/[0-9][0-9]*$/N/')" "failures_logged N"
check "stats: a write is refused" "$(write_err "$D/stats" 0)" "Invalid argument"
check "policy: the first line names the policy" \
	"$(head -n 1 "$D/policy" | cut -d' ' -f1)" "policy:"

# The policy's answer for every offline block is valid_zones' first zone, and
# every online block's zone is its valid_zones.
bad=""
for id in $(blocks); do
	line=$(grep -E "^memory$id( \(group [0-9]+\))?: " "$D/policy")
	zone=$(sed -E 's/^[^:]*: (online )?([A-Za-z0-9]+).*/\2/' <<<"$line")
	[ "$zone" = "$(cut -d' ' -f1 <"$SYSMEM/memory$id/valid_zones")" ] ||
		bad+=" memory$id:$zone"
done
check "policy: every block's zone is valid_zones' first" "$bad" ""

# A vetoed online: in failures, in stats and in the trace.
off=$(blocks_in offline | tail -n 1)
if [ -z "$off" ]; then
	ktap_test_skip "vetoed online: no offline memory block"
	finish
fi
if ! modprobe memory-notifier-error-inject 2>/dev/null || [ ! -e "$INJECT" ]; then
	ktap_test_fail "vetoed online: memory-notifier-error-inject cannot be loaded"
	finish
fi
T=""
for t in /sys/kernel/tracing "$DEBUGFS/tracing"; do
	[ -d "$t/events/memory_block" ] && T=$t && break
done
logged=$(tail -n 1 "$D/stats" | cut -d' ' -f2)
if [ -n "$T" ]; then
	echo >"$T/trace"
	echo 1 >"$T/events/memory_block/enable"
fi
echo -12 >"$INJECT"
res=$(write_err "$SYSMEM/memory$off/state" online)
echo 0 >"$INJECT"
rmmod memory_notifier_error_inject
check "vetoed online: ENOMEM" "$res" "Cannot allocate memory"
check "vetoed online: logged once more" "$(tail -n 1 "$D/stats" | cut -d' ' -f2)" \
	"$((logged + 1))"
check "vetoed online: the failure names the block, errno and veto" \
	"$(tail -n 1 "$D/failures" | sed -E 's/vetoed by .*/vetoed by/')" \
	"memory$off online ENOMEM: MEM_GOING_ONLINE vetoed by"
if [ -n "$T" ]; then
	echo 0 >"$T/events/memory_block/enable"
	trace=$(cat "$T/trace")
	check "trace: memory_block_online of memory$off with ret=-12" \
		"$(grep -c "memory_block_online: memory$off .* ret=-12 " <<<"$trace")" 1
	check "trace: memory_notify MEM_GOING_ONLINE with ret=-12" \
		"$(grep -c "memory_notify: MEM_GOING_ONLINE .* ret=-12 " <<<"$trace")" 1
else
	ktap_test_fail "trace: no memory_block trace events"
fi
check "vetoed online: the block is still offline" "$(cat "$SYSMEM/memory$off/state")" offline

finish
