# SPDX-License-Identifier: GPL-2.0
"""Memory added during boot: DIMMs present when the guest starts (ACPI adds and onlines
them from acpi_init, a subsys_initcall) and virtio-mem devices with a requested size at
boot (plugged from the driver's probe). The memory_hotplug.* values on the command line
govern these onlines as they govern later ones: C reads its parameters wherever it
decides; the built-in Rust policy registers from a core_initcall, before any of these adds.

Where the policy is a module (rust-mod), memory onlined before `modprobe memory_hotplug`
uses contig-zones (the policy is not there yet); memory onlined after it follows the
module's parameters. That is tested on its own, not compared with c.
"""

import time

from guest import SPARSE_LAYOUT, blocks, block_size, load_policy, plug_dimms, runs, sh
from ktap import test
from vm import GiB, MiB, VM, VMError

AUTO = "memhp_default_state=online memory_hotplug.online_policy=auto-movable"
M, N = "Movable", "Normal"


def _boot_layout(vm, boot_blocks, count, timeout=300):
    """Wait until `count` blocks above the boot memory exist and are online (virtio-mem adds
    them one by one from a workqueue); return their zones by id."""
    deadline = time.time() + timeout
    while True:
        bl = blocks(vm)
        extra = {i: v for i, v in bl.items() if i >= boot_blocks}
        if len(extra) >= count and all(state == "online" for state, _ in extra.values()):
            return {i: zones for i, (_, zones) in extra.items()}
        if time.time() > deadline:
            raise VMError(f"boot-time memory: want {count} online blocks, have {extra}")
        time.sleep(0.5)


def _zones_per_dimm(layout, dimm_sizes, bsize):
    """Split the zones of the blocks above boot memory into one list per DIMM, in order."""
    ids = sorted(layout)
    out = []
    for size in dimm_sizes:
        n = size // bsize
        out.append([layout[i] for i in ids[:n]])
        ids = ids[n:]
    return out


# (name, boot memory, [(DIMM size, node)], NUMA, extra command line, zones of each DIMM).
# Kernel memory is the boot memory's present pages, slightly less than its size.
DIMM_CASES = (
    ("ratio 301, 1 GiB DIMM", 1 * GiB, [(1 * GiB, None)], False, AUTO, [M]),
    ("ratio 301, two 2 GiB DIMMs", 1 * GiB, [(2 * GiB, None), (2 * GiB, None)], False, AUTO,
     [M, N]),
    ("ratio 100, two 512 MiB DIMMs", 1 * GiB, [(512 * MiB, None), (512 * MiB, None)], False,
     AUTO + " memory_hotplug.auto_movable_ratio=100", [M, N]),
    ("ratio 0", 1 * GiB, [(512 * MiB, None)], False,
     AUTO + " memory_hotplug.auto_movable_ratio=0", [N]),
    ("contig-zones", 1 * GiB, [(512 * MiB, None)], False, "memhp_default_state=online", [N]),
    ("contig-zones, movable_node", 1 * GiB, [(512 * MiB, None)], False,
     "memhp_default_state=online movable_node", [M]),
    ("online_movable", 1 * GiB, [(512 * MiB, None)], False,
     "memhp_default_state=online_movable memory_hotplug.online_policy=auto-movable", [M]),
    # Node 1 has ~512 MiB of kernel memory: 1 GiB is within 150% system-wide, not on node 1.
    ("NUMA ratio 150, numa_aware", 1 * GiB, [(1 * GiB, 1)], True,
     AUTO + " memory_hotplug.auto_movable_ratio=150", [N]),
    ("NUMA ratio 150, not numa_aware", 1 * GiB, [(1 * GiB, 1)], True,
     AUTO + " memory_hotplug.auto_movable_ratio=150 memory_hotplug.auto_movable_numa_aware=N",
     [M]),
    ("memmap_on_memory=force", 1 * GiB, [(512 * MiB, None)], False,
     AUTO + " memory_hotplug.memmap_on_memory=force", [M]),
)

BOOT_VARIANTS = ("c", "rust")


@test(variants=BOOT_VARIANTS, compare=True)
def boot_cold_dimms(case, variant):
    """DIMMs present at boot are onlined under the command line's policy, as C does."""
    t = []
    for name, mem, dimms, numa, append, want in DIMM_CASES:
        case.prefix = f"[{variant}] {name}: "
        total = sum(size for size, _ in dimms)
        with VM(variant, mem=mem, numa=numa, slots=len(dimms), maxmem=mem + total,
                cold_dimms=dimms, append=append) as vm:
            bsize = block_size(vm)
            boot_blocks = -(-mem // bsize)
            layout = _boot_layout(vm, boot_blocks, total // bsize)
            per_dimm = _zones_per_dimm(layout, [s for s, _ in dimms], bsize)
            case.eq(len(layout), total // bsize, "every DIMM block exists")
            for n, (zones, w) in enumerate(zip(per_dimm, want)):
                case.check(zones == [w] * len(zones), f"DIMM {n} all {w}", runs(zones))
            zoneinfo = sh(vm, r"""awk '/^Node/ {z = $2 $4} $1 == "present" {print z, $2}' \
                          /proc/zoneinfo""")
            t.append(f"{name}: " + " | ".join(runs(z) for z in per_dimm))
            t.append("  present pages by node,zone: " + " ".join(zoneinfo.split("\n")))
    return "\n".join(t) + "\n"


@test(variants=BOOT_VARIANTS, compare=True)
def boot_virtio_mem(case, variant):
    """A virtio-mem device with a requested size at boot is onlined under the command
    line's policy: per 128 MiB unit, Movable while the ratio allows, then Normal."""
    t = []
    for name, size, req, append in (
            ("ratio 301", 4 * GiB, 4 * GiB, AUTO),
            ("ratio 100", 2 * GiB, 2 * GiB, AUTO + " memory_hotplug.auto_movable_ratio=100"),
            ("contig-zones", 1 * GiB, 512 * MiB, "memhp_default_state=online")):
        case.prefix = f"[{variant}] {name}: "
        with VM(variant, mem=1 * GiB, virtio_mem=size, virtio_mem_boot=req,
                append=append) as vm:
            bsize = block_size(vm)
            layout = _boot_layout(vm, GiB // bsize, req // bsize)
            case.eq(len(layout), req // bsize, "every requested block exists")
            zones = [layout[i] for i in sorted(layout)]
            t.append(f"{name}: {runs(zones)}")
            if name == "contig-zones":
                case.check(set(zones) == {N}, "all Normal", runs(zones))
            else:
                case.check(zones[0] == M, "starts Movable", runs(zones))
                case.check(N in zones, "kernel memory once the ratio is reached", runs(zones))
    return "\n".join(t) + "\n"


# Every file of a block, and its node link, read at boot.
BLOCK_FILES = r"""cd $M
for d in memory[0-9]*; do
	echo "$d: $(cat $d/state) $(cat $d/online) $(cat $d/phys_index) $(cat $d/phys_device)" \
		"$(cat $d/removable) [$(cat $d/valid_zones)] $(ls -d $d/node* 2>/dev/null)"
done | sort -V
"""


@test(variants=BOOT_VARIANTS, compare=True)
def boot_sparse_layout(case, variant):
    """A boot layout with holes (memmap=exactmap): the same blocks as C, no block for a
    hole, one for a partly present block, each with its node link; then a hole is probed."""
    with VM(variant, mem=4 * GiB, append=SPARSE_LAYOUT) as vm:
        bl = blocks(vm)
        case.eq(sorted(bl), [0, 1, 2, 3, 8, 9, 15] + list(range(32, 40)) + [44],
                "a block for each 128 MiB with present memory, none for the holes")
        files = sh(vm, BLOCK_FILES)
        # Memory of a hole added at run time: probe writes an address inside one.
        probed = sh(vm, "w $M/probe 0x50000000; w $M/probe 0x100000000; "
                        "cat $M/memory10/state $M/memory10/valid_zones")
        case.eq(probed.splitlines()[:2], ["OK", "File exists"],
                "a hole is probed; a present block is not (EEXIST)")
    return files + probed


@test(variants=("rust-mod", "debug"))
def boot_before_modprobe(case, variant):
    """rust-mod: memory onlined during boot, before the policy module is loaded, uses
    contig-zones whatever memory_hotplug.* says; once it is loaded (taking its parameters
    from /proc/cmdline) the next DIMM follows auto-movable."""
    with VM(variant, mem=1 * GiB, slots=2, maxmem=2 * GiB, cold_dimms=[(512 * MiB, None)],
            append=AUTO) as vm:
        bsize = block_size(vm)
        layout = _boot_layout(vm, GiB // bsize, 512 * MiB // bsize)
        zones = [layout[i] for i in sorted(layout)]
        case.check(zones and set(zones) == {N}, "boot-time DIMM: contig-zones (Normal)",
                   runs(zones))
        case.eq(sh(vm, "test -d /sys/module/memory_hotplug && echo yes || echo no").strip(),
                "no", "the policy module is not loaded at boot")
        load_policy(vm)
        case.eq(sh(vm, "cat /sys/module/memory_hotplug/parameters/online_policy").strip(),
                "auto-movable", "modprobe took online_policy from the command line")
        later = plug_dimms(vm, 1, 256 * MiB)[0]
        case.check(set(later) == {M}, "DIMM plugged after modprobe: auto-movable (Movable)",
                   runs(later))
