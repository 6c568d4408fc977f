# SPDX-License-Identifier: GPL-2.0
"""Kernel stack used by the online and offline paths, Rust against C.

The memory notifier callbacks run at the deepest point of onlining and offlining: under
the sysfs store (or ACPI's hot-add worker), the driver, device_online()/device_offline(),
online_pages()/offline_pages() and memory_notify()'s chain. gdb (QEMU's stub) stops the
guest at the entry of SLUB's callback (slab_memory_callback(), registered in every
variant) and reads the stack pointer: the stack in use there is THREAD_SIZE minus the
stack pointer's offset in its THREAD_SIZE-aligned stack. The same write or plug is made
on c and rust, and the difference must stay below LIMIT bytes.

Measured (x86-64, clang, 16 KiB stacks): C uses 736-928 bytes on the sysfs paths and
1600-1720 under ACPI's worker; the Rust driver 288-520 bytes more (it was about 2.3 KiB more
with a 256-byte callback name recorded in every notifier call and the failure log inlined
into the online path). What remains are the Rust frames C does not have (the bus callback,
`Subsystem::online`, `online_block`, the chain's reporting call): LIMIT bounds it so that a
regression of that kind fails.
"""

from guest import block_size, blocks, sh, uevents, wait_blocks
from ktap import test
from vm import GiB, VM

THREAD_SIZE = 16384  # x86-64 without KASAN
LIMIT = 576
CALLBACK = "slab_memory_callback"
ONLINE = ("MEM_GOING_ONLINE", "MEM_ONLINE")
OFFLINE = ("MEM_GOING_OFFLINE", "MEM_OFFLINE")


def _used(stops, actions):
    """[(action, bytes in use, the return addresses found on the stack)] of the stops."""
    return [(action, THREAD_SIZE - (sp & (THREAD_SIZE - 1)),
             "\n".join(f"{THREAD_SIZE - (sp & (THREAD_SIZE - 1)) - off:5d} {sym}"
                       for off, sym in scan))
            for action, (_, _, sp, _, scan) in zip(actions, stops)]


def _measure(variant):
    """{path: [(action, bytes of stack in use)]} of the paths on one variant."""
    out = {}
    with VM(variant, mem=1 * GiB, slots=2, maxmem=4 * GiB, cpus=1, gdb=True) as vm:
        bs = block_size(vm)
        base = blocks(vm)
        vm.plug_dimm("d1", 3 * bs)
        a, b, c = sorted(set(wait_blocks(vm, len(base) + 3)) - set(base))
        uevents(vm, 3)
        out["sysfs state online_movable"] = _used(vm.stops_at(
            [CALLBACK], 2, lambda: sh(vm, f"echo online_movable > $M/memory{a}/state"),
            stack=THREAD_SIZE), ONLINE)
        # Between two Movable blocks, contig-zones puts b in Movable too.
        sh(vm, f"echo online_movable > $M/memory{c}/state")
        out["sysfs online 1"] = _used(vm.stops_at(
            [CALLBACK], 2, lambda: sh(vm, f"echo 1 > $M/memory{b}/online"),
            stack=THREAD_SIZE), ONLINE)
        out["sysfs state offline"] = _used(vm.stops_at(
            [CALLBACK], 2, lambda: sh(vm, f"echo offline > $M/memory{a}/state"),
            stack=THREAD_SIZE), OFFLINE)
        out["sysfs online 0"] = _used(vm.stops_at(
            [CALLBACK], 2, lambda: sh(vm, f"echo 0 > $M/memory{b}/online"),
            stack=THREAD_SIZE), OFFLINE)
        sh(vm, "echo online_movable > $M/auto_online_blocks")

        def plug():
            vm.plug_dimm("d2", bs)
            wait_blocks(vm, len(base) + 4)
        out["DIMM plug, auto-online (ACPI worker)"] = _used(
            vm.stops_at([CALLBACK], 2, plug, stack=THREAD_SIZE), ONLINE)
    return out


@test()
def stack_depth(case):
    """The stack in use at the memory notifier callbacks: Rust at most LIMIT bytes above C
    on every path (sysfs online and offline, auto-online of a hot-plugged DIMM)."""
    res = {v: _measure(v) for v in ("c", "rust")}
    for path, c in res["c"].items():
        for (action, cb, cscan), (_, rb, rscan) in zip(c, res["rust"][path]):
            case.check(rb - cb <= LIMIT, f"{path}: {action}: c {cb} bytes, rust {rb} bytes, "
                                         f"rust - c {rb - cb:+d}",
                       f"limit {LIMIT}; the return addresses on the stacks (the depth at "
                       f"which each is), a scan:\nc:\n{cscan}\nrust:\n{rscan}")
