#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared by the memory-hotplug selftests: KTAP helpers and sysfs access.

DIR=$(dirname "$(readlink -f "$0")")
source "$DIR/../kselftest/ktap_helpers.sh"

SYSMEM=/sys/devices/system/memory
PARAMS=/sys/module/memory_hotplug/parameters
DEBUGFS=/sys/kernel/debug

# write_err FILE VALUE: writes VALUE to FILE; prints "OK" or the error's text
# (e.g. "Invalid argument").
write_err() {
	local out
	if out=$( { printf '%s\n' "$2" >"$1"; } 2>&1 ); then
		echo OK
	else
		echo "${out##*: }"
	fi
}

# check DESCRIPTION GOT WANT: one KTAP result, with both values on failure.
check() {
	if [ "$2" = "$3" ]; then
		ktap_test_pass "$1"
	else
		ktap_print_msg "$1: got '$2', want '$3'"
		ktap_test_fail "$1"
	fi
}

# require_root: skip the whole test without root, it cannot write sysfs.
require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		ktap_skip_all "must be run as root"
		exit "$KSFT_SKIP"
	fi
}

# mount_debugfs: mounts debugfs if it is not; false if there is none.
mount_debugfs() {
	[ -e "$DEBUGFS/.." ] || return 1
	grep -qs " $DEBUGFS debugfs " /proc/mounts && return 0
	mount -t debugfs none "$DEBUGFS" 2>/dev/null
}

# The ids of the memory blocks, and of those in a state.
blocks() {
	local b
	for b in "$SYSMEM"/memory[0-9]*; do echo "${b##*memory}"; done | sort -n
}

blocks_in() {
	local id
	for id in $(blocks); do
		[ "$(cat "$SYSMEM/memory$id/state")" = "$1" ] && echo "$id"
	done
}

# finish: prints the plan (at the end: the number of results depends on the
# machine) and the totals, and exits with the kselftest status.
finish() {
	ktap_set_plan $((KTAP_TESTNO - 1))
	ktap_finished
}
