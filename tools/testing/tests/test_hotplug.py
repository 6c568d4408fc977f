# SPDX-License-Identifier: GPL-2.0
"""DIMM hot-plug with each auto_online_blocks value, manual online/offline, unplug."""

from guest import blocks, memtotal, sh, wait_blocks
from ktap import test
from vm import MiB, VM

DIMM = 256 * MiB


def _fmt(bl, ids):
    return " ".join(f"{i}:{bl[i][0]}:{bl[i][1].replace(' ', '/')}" for i in ids)


@test(variants=("c", "rust"), compare=True)
def dimm_hotplug(case, variant):
    """Plug a DIMM under each auto_online_blocks value; online, offline, unplug."""
    t = []
    with VM(variant) as vm:
        base = blocks(vm)
        base_total = memtotal(vm)
        bsize = int(sh(vm, "cat $M/block_size_bytes"), 16)
        per_dimm = DIMM // bsize
        case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "offline",
                "auto_online_blocks defaults to offline (MHP_DEFAULT_ONLINE_TYPE_OFFLINE)")
        t.append(f"boot: {len(base)} blocks, block_size_bytes={bsize:x}")

        expect_state = {"offline": "offline", "online": "online",
                        "online_kernel": "online", "online_movable": "online"}
        expect_zone = {"offline": "Normal Movable", "online": "Normal",
                       "online_kernel": "Normal", "online_movable": "Movable"}
        for n, mode in enumerate(("offline", "online", "online_kernel", "online_movable"), 1):
            dimm = f"d{n}"
            case.eq(sh(vm, f"w $M/auto_online_blocks {mode}").strip(), "OK",
                    f"auto_online_blocks={mode} accepted")
            vm.plug_dimm(dimm, DIMM)
            bl = wait_blocks(vm, len(base) + per_dimm)
            new = sorted(set(bl) - set(base))
            t.append(f"{mode}: plug {dimm} -> {_fmt(bl, new)}")
            case.check(all(bl[i][0] == expect_state[mode] for i in new),
                       f"{mode}: the {per_dimm} new blocks are {expect_state[mode]}",
                       _fmt(bl, new))
            case.check(all(bl[i][1] == expect_zone[mode] for i in new),
                       f"{mode}: valid_zones of the new blocks is '{expect_zone[mode]}'",
                       _fmt(bl, new))
            online_kb = (memtotal(vm) - base_total)
            t.append(f"{mode}: MemTotal +{online_kb} kB")

            if mode == "offline":
                case.eq(memtotal(vm), base_total, "offline: MemTotal unchanged")
                # Manual online: one block Movable through `state`, the other through
                # `online` (the policy's zone).
                r1 = sh(vm, f"w $M/memory{new[0]}/state online_movable").strip()
                r2 = sh(vm, f"w $M/memory{new[1]}/online 1").strip()
                case.eq((r1, r2), ("OK", "OK"), "offline: manual online through state and online")
                bl = blocks(vm)
                t.append(f"{mode}: manual online -> {_fmt(bl, new)}")
                case.eq([bl[i][0] for i in new], ["online"] * per_dimm,
                        "offline: manually onlined blocks are online")
                case.eq(bl[new[0]][1], "Movable", "offline: online_movable gives Movable")
                case.check(memtotal(vm) > base_total, "offline: MemTotal grew after online")

            # Manual offline of every block of the DIMM.
            res = [sh(vm, f"w $M/memory{i}/state offline").strip() for i in new]
            t.append(f"{mode}: offline -> {' '.join(res)}")
            case.eq(res, ["OK"] * per_dimm, f"{mode}: the DIMM's blocks offline")
            bl = blocks(vm)
            case.eq([bl[i][0] for i in new], ["offline"] * per_dimm,
                    f"{mode}: blocks read offline")
            case.eq(memtotal(vm), base_total, f"{mode}: MemTotal back after offline")

            vm.unplug_dimm(dimm)
            bl = wait_blocks(vm, len(base))
            case.eq(sorted(bl), sorted(base), f"{mode}: unplug removes the DIMM's blocks")
            case.eq(memtotal(vm), base_total, f"{mode}: MemTotal back after unplug")
            t.append(f"{mode}: unplug -> {len(bl)} blocks, MemTotal {memtotal(vm) - base_total:+d} kB")
        sh(vm, "w $M/auto_online_blocks offline")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust"), compare=True)
def dimm_eject_online(case, variant):
    """ACPI eject of an online Movable DIMM offlines and removes its blocks."""
    t = []
    with VM(variant, append="memhp_default_state=online_movable") as vm:
        base = blocks(vm)
        base_total = memtotal(vm)
        case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "online_movable",
                "memhp_default_state=online_movable sets auto_online_blocks")
        vm.plug_dimm("d1", DIMM)
        bl = wait_blocks(vm, len(base) + 2)
        new = sorted(set(bl) - set(base))
        t.append(f"plug -> {_fmt(bl, new)}")
        case.eq([bl[i] for i in new], [("online", "Movable")] * 2,
                "blocks are online in ZONE_MOVABLE")
        vm.unplug_dimm("d1")
        bl = wait_blocks(vm, len(base))
        case.eq(sorted(bl), sorted(base), "eject removes the blocks")
        case.eq(memtotal(vm), base_total, "MemTotal back after eject")
        t.append(f"eject -> {len(bl)} blocks")
    return "\n".join(t) + "\n"
