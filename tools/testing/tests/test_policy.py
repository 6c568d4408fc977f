# SPDX-License-Identifier: GPL-2.0
"""Zone decisions of the online policies (memory_hotplug.online_policy=...).

auto-movable with DIMMs is tested at the scale of the auto-movable design
(behaviour-6.12.md §6.3): 4 GiB of boot memory, 4 GiB DIMMs and ratio 301, where
the first three DIMMs go to ZONE_MOVABLE (12 GiB for ~4 GiB of boot kernel
memory) and later ones to ZONE_NORMAL; other ratios, virtio-mem and NUMA at a
quarter of that scale (1 GiB of boot memory).
"""

from guest import grow_virtio_mem, load_policy, plug_dimms, runs, save_layout, sh, zones_of
from ktap import test
from vm import GiB, MiB, VM

AUTO = "memhp_default_state=online memory_hotplug.online_policy=auto-movable"

# The design-scale layouts (auto_movable_dimms, auto_movable_virtio_mem) put 3-5 times the
# boot memory into ZONE_MOVABLE. Under KASAN every hot-plugged byte also needs 1/8 byte of
# shadow plus its memmap in kernel memory, so these guests run out of kernel memory on the
# debug variant whichever driver is in (seen: OOM at the fourth 1 GiB DIMM on 1 GiB boot).
# The debug variant runs the policy through auto_movable_cma, auto_movable_numa,
# policy_runtime_switch and the module tests instead.
LAYOUT_VARIANTS = ("c", "rust", "rust-mod")


@test(variants=LAYOUT_VARIANTS, compare=True)
def auto_movable_dimms(case, variant):
    """auto-movable with DIMMs: all-or-nothing per DIMM, limited by the ratio."""
    t = []
    # (ratio, boot memory, DIMM size, zone of each DIMM in plug order). Kernel memory is the
    # boot memory's present pages, slightly less than its size: 1 GiB DIMMs fill 500% of 1 GiB
    # with the fifth, 256 MiB DIMMs 50% with the second.
    M, N = "Movable", "Normal"
    for ratio, mem, size, want in ((301, 4 * GiB, 4 * GiB, [M, M, M, N]),
                                   (500, 1 * GiB, 1 * GiB, [M, M, M, M, N]),
                                   (50, 1 * GiB, 256 * MiB, [M, N, N]),
                                   (0, 1 * GiB, 1 * GiB, [N, N])):
        with VM(variant, mem=mem, slots=len(want), maxmem=mem + len(want) * size,
                append=f"{AUTO} memory_hotplug.auto_movable_ratio={ratio}") as vm:
            load_policy(vm)
            params = sh(vm, "cd /sys/module/memory_hotplug/parameters && grep . *")
            case.check(f"auto_movable_ratio:{ratio}" in params and
                       "online_policy:auto-movable" in params,
                       f"ratio {ratio}: parameters from the command line", params)
            layout = plug_dimms(vm, len(want), size, case=case)
            save_layout(vm, "auto_movable_dimms", f"ratio{ratio}")
            t.append(f"ratio {ratio}, {mem // GiB} GiB boot, {size // MiB} MiB DIMMs: " +
                     " | ".join(runs(z) for z in layout))
            for n, (zones, w) in enumerate(zip(layout, want)):
                case.check(zones == [w] * len(zones), f"ratio {ratio}: DIMM {n} all {w}",
                           runs(zones))
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "rust-mod", "debug"), compare=True)
def auto_movable_cma(case, variant):
    """auto-movable counts CMA pages as movable, not kernel: with 256 MiB of the 1 GiB boot
    memory in CMA and ratio 100, only one 256 MiB DIMM fits (CMA + DIMM = 512 MiB of
    movable for ~767 MiB of kernel memory), against three without CMA."""
    t = []
    M, N = "Movable", "Normal"
    for cma, want in (("256M", [M, N, N]), ("0", [M, M, M])):
        with VM(variant, mem=1 * GiB, slots=3, maxmem=2 * GiB,
                append=f"{AUTO} memory_hotplug.auto_movable_ratio=100 cma={cma}") as vm:
            load_policy(vm)
            cma_kb = int(sh(vm, "awk '/^CmaTotal:/ {print $2}' /proc/meminfo"))
            case.eq(cma_kb, 0 if cma == "0" else 256 * 1024, f"cma={cma}: CmaTotal")
            layout = plug_dimms(vm, len(want), 256 * MiB, case=case)
            save_layout(vm, "auto_movable_cma", f"cma{cma}")
            t.append(f"cma={cma} (CmaTotal {cma_kb} kB): " + " | ".join(runs(z) for z in layout))
            case.eq([z[0] for z in layout], want, f"cma={cma}: DIMM zones {want}")
            case.check(all(len(set(z)) == 1 for z in layout), f"cma={cma}: DIMMs all-or-nothing",
                       layout)
    return "\n".join(t) + "\n"


@test(variants=LAYOUT_VARIANTS, compare=True)
def auto_movable_virtio_mem(case, variant):
    """auto-movable with virtio-mem: per 128 MiB unit, a device's own kernel memory
    allows more Movable memory in that device only, not in another one."""
    t = []
    with VM(variant, mem=1 * GiB, virtio_mem=(5 * GiB, 1 * GiB), append=AUTO) as vm:
        load_policy(vm)
        zones = zones_of(vm, grow_virtio_mem(vm, 5 * GiB)[0])
        t.append(f"virtio-mem 0, 5 GiB: {runs(zones)}")
        first_normal = zones.index("Normal") if "Normal" in zones else len(zones)
        case.check(20 <= first_normal <= 24 and all(z == "Movable" for z in zones[:first_normal]),
                   "the first ~3 GiB (about 3 x boot memory) go to Movable", runs(zones))
        case.check("Normal" in zones and zones[-1] in ("Movable", "Normal"),
                   "then a Normal unit lets more Movable units follow", runs(zones))
        after = zones[first_normal + 1:first_normal + 4]
        case.check(after and all(z == "Movable" for z in after),
                   "Movable units follow the device's first Normal unit", runs(zones))

        # Device 0's Movable memory used up the boot kernel memory, and its own
        # Normal units only count for itself: device 1 must start with Normal.
        zones1 = zones_of(vm, grow_virtio_mem(vm, 1 * GiB, dev=1)[0])
        t.append(f"virtio-mem 1, 1 GiB: {runs(zones1)}")
        case.eq(zones1[0], "Normal", "device 1 starts Normal: device 0's kernel memory "
                "does not allow Movable memory in device 1")
        case.check(len(zones1) == 8 and all(
            zones1[:i].count("Movable") <= 3 * zones1[:i].count("Normal") for i in range(1, 9)),
            "device 1: only its own Normal units allow Movable ones (at most 3 each)",
            runs(zones1))
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "rust-mod", "debug"), compare=True)
def contig_zones(case, variant):
    """contig-zones (the default): Normal above all zones, Movable with movable_node."""
    t = []
    for extra, want in (("", "Normal"), ("movable_node", "Movable")):
        with VM(variant, append=f"memhp_default_state=online {extra}") as vm:
            load_policy(vm)
            case.eq(sh(vm, "cat /sys/module/memory_hotplug/parameters/online_policy").strip(),
                    "contig-zones", f"{extra or 'default'}: online_policy is contig-zones")
            layout = plug_dimms(vm, 2, 256 * MiB, case=case)
            save_layout(vm, "contig_zones", extra or "default")
            t.append(f"{extra or 'default'}: " + " | ".join(runs(z) for z in layout))
            case.eq(layout, [[want] * 2] * 2, f"{extra or 'default'}: DIMMs go to {want}")
    return "\n".join(t) + "\n"
