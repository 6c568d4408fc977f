# SPDX-License-Identifier: GPL-2.0
"""Zone decisions of the online policies (memory_hotplug.online_policy=...).

The layouts are those of the auto-movable design (behaviour-6.12.md §6.3) at a
quarter of the scale: 1 GiB of boot memory and 1 GiB DIMMs instead of 4 GiB
and 4 GiB. With ratio 301 the first three DIMMs go to ZONE_MOVABLE (3 GiB of
Movable for ~1 GiB of boot kernel memory) and later ones to ZONE_NORMAL.
"""

import time

from guest import blocks, plug_dimms, runs, sh, wait_blocks, zones_of
from ktap import test
from vm import GiB, MiB, VM

AUTO = "memhp_default_state=online memory_hotplug.online_policy=auto-movable"


@test(variants=("c", "rust", "debug"), compare=True)
def auto_movable_dimms(case, variant):
    """auto-movable with DIMMs: all-or-nothing per DIMM, limited by the ratio."""
    t = []
    for ratio, want in ((301, ["Movable", "Movable", "Movable", "Normal"]),
                        (0, ["Normal"] * 2)):
        with VM(variant, mem=1 * GiB, slots=4, maxmem=8 * GiB,
                append=f"{AUTO} memory_hotplug.auto_movable_ratio={ratio}") as vm:
            params = sh(vm, "cd /sys/module/memory_hotplug/parameters && grep . *")
            case.check(f"auto_movable_ratio:{ratio}" in params and
                       "online_policy:auto-movable" in params,
                       f"ratio {ratio}: parameters from the command line", params)
            layout = plug_dimms(vm, len(want), 1 * GiB)
            t.append(f"ratio {ratio}: " + " | ".join(runs(z) for z in layout))
            for n, (zones, w) in enumerate(zip(layout, want)):
                case.check(zones == [w] * len(zones), f"ratio {ratio}: DIMM {n} all {w}",
                           runs(zones))
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"), compare=True)
def auto_movable_virtio_mem(case, variant):
    """auto-movable with virtio-mem: per 128 MiB unit, the device's own kernel memory
    allows more Movable memory in the same device."""
    t = []
    with VM(variant, mem=1 * GiB, virtio_mem=5 * GiB, append=AUTO) as vm:
        base = blocks(vm)
        vm.virtio_mem_resize(5 * GiB, timeout=300)
        bl = wait_blocks(vm, len(base) + 40, timeout=300)
        new = sorted(set(bl) - set(base))
        deadline = time.time() + 120
        while any(blocks(vm)[i][0] != "online" for i in new) and time.time() < deadline:
            time.sleep(1)
        zones = zones_of(vm, new)
        t.append(f"virtio-mem 5 GiB: {runs(zones)}")
        first_normal = zones.index("Normal") if "Normal" in zones else len(zones)
        case.check(20 <= first_normal <= 24 and all(z == "Movable" for z in zones[:first_normal]),
                   "the first ~3 GiB (about 3 x boot memory) go to Movable", runs(zones))
        case.check("Normal" in zones and zones[-1] in ("Movable", "Normal"),
                   "then a Normal unit lets more Movable units follow", runs(zones))
        after = zones[first_normal + 1:first_normal + 4]
        case.check(after and all(z == "Movable" for z in after),
                   "Movable units follow the device's first Normal unit", runs(zones))
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"), compare=True)
def contig_zones(case, variant):
    """contig-zones (the default): Normal above all zones, Movable with movable_node."""
    t = []
    for extra, want in (("", "Normal"), ("movable_node", "Movable")):
        with VM(variant, append=f"memhp_default_state=online {extra}") as vm:
            case.eq(sh(vm, "cat /sys/module/memory_hotplug/parameters/online_policy").strip(),
                    "contig-zones", f"{extra or 'default'}: online_policy is contig-zones")
            layout = plug_dimms(vm, 2, 256 * MiB)
            t.append(f"{extra or 'default'}: " + " | ".join(runs(z) for z in layout))
            case.eq(layout, [[want] * 2] * 2, f"{extra or 'default'}: DIMMs go to {want}")
    return "\n".join(t) + "\n"
