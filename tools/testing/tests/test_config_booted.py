# SPDX-License-Identifier: GPL-2.0
"""The booted configuration matrix: c and rust built without NUMA (`c-nonuma`, `rust-nonuma`)
and without MEMORY_HOTREMOVE (`c-nohotremove`, `rust-nohotremove`), each pair compared.

These are the configurations where memory.c relies on the headers' stubs (node links, node
registration; offline_pages() failing with -EINVAL, no valid_zones): the guest's memory sysfs
before and after a DIMM is plugged, onlined in each mode and offlined, and a second DIMM
ejected (without MEMORY_HOTREMOVE: an eject that cannot offline), the result
(errno text) of a corpus of bad writes, the uevents, and the KUnit suites both drivers run
must be identical on c and rust. Any failed KUnit case, WARN, BUG or Oops fails the test.
"""

import re

from guest import block_size, blocks, sh, uevents, wait_blocks
from ktap import test
from vm import VM, VMError

# Every file of every block and the root files, with their modes.
SNAPSHOT = r"""
for f in $M/block_size_bytes $M/auto_online_blocks $M/probe $M/soft_offline_page \
	$M/hard_offline_page $M/crash_hotplug; do
	[ -e $f ] || { echo "${f##*/}: absent"; continue; }
	echo "${f##*/} $(stat -c %a $f) $(cat $f 2>/dev/null || echo write-only)"
done
for d in $(ls -d $M/memory[0-9]* | sort -V); do
	echo "${d##*/}: $(for f in state online phys_index phys_device removable valid_zones; do
		[ -e $d/$f ] && printf '%s=%s ' $f "$(cat $d/$f 2>&1)" || printf '%s=absent ' $f
	done)nodes=$(ls -d $d/node* 2>/dev/null | sed 's|.*/||' | tr '\n' ,)"
done
ls /sys/devices/system/node 2>/dev/null | grep -c '^node[0-9]' | sed 's/^/nodes: /'
ls /sys/module/memory_hotplug/parameters 2>/dev/null | tr '\n' ' ' | sed 's/^/params: /'; echo
"""

# (file, value) written to the two blocks of a hot-plugged DIMM, BLK and BLK + 1 (relative to
# $M): the result of each is recorded, whatever it is. BLK is offlined only from
# ZONE_MOVABLE, and its last online, a plain one (the policy's zone), is not undone; BLK + 1
# is onlined to the kernel zone. An offline of kernel-zone memory may fail with EBUSY or not,
# depending on where the kernel's allocations went: the corpus never asks for one.
def corpus(blk, free_addr):
    b, k = f"memory{blk}", f"memory{blk + 1}"
    return [
        (f"{b}/state", "online_movable"), (f"{b}/state", "online_movable"),
        (f"{b}/online", "1"), (f"{b}/online", "2"), (f"{b}/online", "0"), (f"{b}/online", "0"),
        (f"{b}/state", "offline"), (f"{b}/state", "online"), (f"{b}/state", "online_kernel"),
        (f"{k}/state", "online_kernel"), (f"{k}/state", "online_movable"),
        (f"{b}/state", "bogus"), (f"{b}/state", ""), (f"{b}/state", "online_movable\n\n"),
        (f"{b}/state", "x" * 5000), (f"{b}/phys_index", "1"), (f"{b}/removable", "1"),
        ("block_size_bytes", "1"), ("auto_online_blocks", "bogus"),
        ("auto_online_blocks", "online_movable"), ("auto_online_blocks", "offline"),
        ("probe", "0x1"), ("probe", "bogus"), ("probe", f"{free_addr:#x}"),
        ("soft_offline_page", "bogus"), ("hard_offline_page", "-1"),
    ]


def kunit_results(log):
    """The top-level KUnit results {suite: ok} in the kernel log."""
    return {m.group(2): m.group(1) == "ok"
            for m in re.finditer(r"^\[\s*[\d.]+\] (not ok|ok) \d+ (\S+)", log, re.M)}


def barrier_uevents(vm):
    """The memory uevents up to now: a `change` of memory0, asked for last, ends them."""
    sh(vm, "echo change > $M/memory0/uevent")
    ev = []
    for _ in range(50):
        ev += uevents(vm, 1)
        if "change memory0" in ev:
            break
    return [e for e in ev if e != "change memory0"]


def booted(case, variant, eject_ok):
    t = []
    with VM(variant) as vm:
        log = sh(vm, "dmesg")
        kunit = kunit_results(log)
        case.check(kunit.get("memory_auto_movable"), "KUnit memory_auto_movable passed", kunit)
        case.check(all(kunit.values()), "no KUnit suite failed",
                   [k for k, v in kunit.items() if not v])
        t.append(f"kunit memory_auto_movable: {kunit.get('memory_auto_movable')}")
        t.append("boot:\n" + sh(vm, SNAPSHOT))
        size = block_size(vm)
        base = blocks(vm)
        barrier_uevents(vm)
        vm.plug_dimm("d1", 2 * size)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        case.eq(len(new), 2, "the DIMM adds two blocks")
        t.append(f"plug: {', '.join(barrier_uevents(vm))}")
        t.append("plugged:\n" + sh(vm, SNAPSHOT))
        free_addr = (new[-1] + 8) * size
        for f, v in corpus(new[0], free_addr):
            res = sh(vm, f"w $M/{f} $'{v}'").strip()
            shown = v if len(v) < 40 else v[:10] + f"...({len(v)} bytes)"
            t.append(f"{f} <- {shown!r}: {res}")
        t.append(f"uevents: {', '.join(barrier_uevents(vm))}")
        t.append("after the corpus:\n" + sh(vm, SNAPSHOT))
        # A second DIMM, never onlined: its eject offlines nothing and removes its blocks.
        now = blocks(vm)
        vm.plug_dimm("d2", 2 * size)
        untouched = sorted(set(wait_blocks(vm, len(now) + 2)) - set(now))
        t.append(f"plug d2: {', '.join(barrier_uevents(vm))}")
        if eject_ok:
            vm.unplug_dimm("d2")
            gone = sorted(set(untouched) - set(blocks(vm)))
            case.eq(gone, untouched, "ejecting the untouched DIMM removes its blocks")
            t.append(f"eject d2: {', '.join(barrier_uevents(vm))}")
        else:
            # Without MEMORY_HOTREMOVE nothing can be removed: eject the DIMM with an online
            # block, whose offline fails (C's stub), and wait for ACPI's failure report.
            vm.qmp("device_del", id="d1")
            try:
                vm.wait_event("ACPI_DEVICE_OST", timeout=60)
                t.append("eject d1: the guest reported its status (_OST)")
            except VMError:
                t.append("eject d1: no _OST within 60 s")
            t.append(f"eject d1: {', '.join(barrier_uevents(vm))}")
            case.check(not any(e.get("event") == "DEVICE_DELETED" for e in vm.events),
                       "the DIMM with an online block is not removed", vm.events)
        t.append("after the eject:\n" + sh(vm, SNAPSHOT))
        log = sh(vm, "dmesg")
        for bad in ("WARNING:", "BUG:", "Oops", "Call Trace"):
            case.check(bad not in log, f"no '{bad}' in the kernel log", log[-3000:])
    return "\n".join(t) + "\n"


@test(variants=("c-nonuma", "rust-nonuma"), compare=True)
def config_booted_nonuma(case, variant):
    """Without NUMA: sysfs, hotplug, bad input, uevents and KUnit identical on c and rust."""
    return booted(case, variant, eject_ok=True)


@test(variants=("c-nohotremove", "rust-nohotremove"), compare=True)
def config_booted_nohotremove(case, variant):
    """Without MEMORY_HOTREMOVE: sysfs, hotplug (no offline), bad input, uevents and KUnit
    identical on c and rust."""
    return booted(case, variant, eject_ok=False)
