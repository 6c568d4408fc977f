# SPDX-License-Identifier: GPL-2.0
"""DIMM hot-plug with each auto_online_blocks value, manual online/offline, unplug."""

import time

from guest import block_size, blocks, memtotal, sh, uevents, wait_blocks
from ktap import test
from vm import MiB, VM

def _fmt(bl, ids):
    return " ".join(f"{i}:{bl[i][0]}:{bl[i][1].replace(' ', '/')}" for i in ids)


@test(variants=("c", "rust", "debug"), compare=True)
def dimm_hotplug(case, variant):
    """Plug DIMMs under each auto_online_blocks value; online, offline, unplug.

    Memory onlined to a kernel zone cannot be offlined reliably (the kernel
    allocates from it at once), so only the DIMMs in ZONE_MOVABLE are
    offlined and unplugged; the kernel-zone DIMMs stay.
    """
    t = []
    with VM(variant) as vm:
        base = blocks(vm)
        base_total = memtotal(vm)
        bsize = block_size(vm)
        case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "offline",
                "auto_online_blocks defaults to offline (MHP_DEFAULT_ONLINE_TYPE_OFFLINE)")
        # Absolute MemTotal depends on the kernel image size, which differs between the
        # variants; only changes of MemTotal are compared.
        case.check(base_total > 0, "MemTotal read at boot", base_total)
        t.append(f"boot: {len(base)} blocks, block_size_bytes={bsize:x}")
        have = dict(base)

        def plug(mode, dimm, size):
            case.eq(sh(vm, f"w $M/auto_online_blocks {mode}").strip(), "OK",
                    f"{mode}: auto_online_blocks={mode} accepted")
            before = memtotal(vm)
            vm.plug_dimm(dimm, size)
            bl = wait_blocks(vm, len(have) + size // bsize)
            new = sorted(set(bl) - set(have))
            have.update({i: bl[i] for i in new})
            t.append(f"{mode}: plug {dimm} -> {_fmt(bl, new)}, MemTotal +{memtotal(vm) - before} kB")
            want = [f"add memory{i}" for i in new]
            if mode != "offline":
                want += [f"online memory{i}" for i in new]
            ev = uevents(vm, len(want))
            t.append(f"{mode}: uevents {', '.join(ev)}")
            case.eq(ev, want, f"{mode}: add uevents in block order, then online uevents")
            return bl, new, before

        def offline_unplug(mode, dimm, new, before):
            res = [sh(vm, f"w $M/memory{i}/state offline").strip() for i in new]
            t.append(f"{mode}: offline -> {' '.join(res)}")
            case.eq(res, ["OK"] * len(new), f"{mode}: the DIMM's blocks offline")
            bl = blocks(vm)
            case.eq([bl[i][0] for i in new], ["offline"] * len(new), f"{mode}: blocks read offline")
            case.eq(memtotal(vm), before, f"{mode}: MemTotal back after offline")
            case.eq(uevents(vm, len(new)), [f"offline memory{i}" for i in new],
                    f"{mode}: one offline uevent per block")
            vm.unplug_dimm(dimm)
            for i in new:
                del have[i]
            bl = wait_blocks(vm, len(have))
            case.eq(sorted(bl), sorted(have), f"{mode}: unplug removes the DIMM's blocks")
            case.eq(memtotal(vm), before, f"{mode}: MemTotal back after unplug")
            case.eq(uevents(vm, len(new)), [f"remove memory{i}" for i in new],
                    f"{mode}: one remove uevent per block")
            t.append(f"{mode}: unplug -> {len(bl)} blocks, MemTotal {memtotal(vm) - before:+d} kB")

        # offline: the blocks appear offline; online them by hand. The outer two go to
        # ZONE_MOVABLE through `state`; the middle one through `online`, where the
        # contig-zones policy picks Movable because the Movable span now covers it.
        bl, new, before = plug("offline", "d1", 3 * bsize)
        case.eq([bl[i] for i in new], [("offline", "Normal Movable")] * 3,
                "offline: 3 new blocks, offline, valid_zones 'Normal Movable'")
        case.eq(memtotal(vm), before, "offline: MemTotal unchanged")
        res = [sh(vm, f"w $M/memory{new[0]}/state online_movable").strip(),
               sh(vm, f"w $M/memory{new[2]}/state online_movable").strip()]
        mid = sh(vm, f"cat $M/memory{new[1]}/valid_zones").strip()
        res.append(sh(vm, f"w $M/memory{new[1]}/online 1").strip())
        bl = blocks(vm)
        t.append(f"offline: manual online -> {' '.join(res)}; middle valid_zones was '{mid}'; "
                 f"{_fmt(bl, new)}")
        case.eq(res, ["OK"] * 3, "offline: manual online through state and online")
        case.eq(uevents(vm, 3), [f"online memory{i}" for i in (new[0], new[2], new[1])],
                "offline: one online uevent per manual online")
        case.eq(mid, "Movable Normal", "offline: inside the Movable span, Movable comes first")
        case.eq([bl[i] for i in new], [("online", "Movable")] * 3,
                "offline: the blocks are online in Movable")
        case.eq(memtotal(vm) - before, 3 * bsize // 1024, "offline: MemTotal grew by the DIMM")
        offline_unplug("offline", "d1", new, before)

        # online_movable: auto-onlined to ZONE_MOVABLE.
        bl, new, before = plug("online_movable", "d2", 2 * bsize)
        case.eq([bl[i] for i in new], [("online", "Movable")] * 2,
                "online_movable: blocks online in Movable")
        case.eq(memtotal(vm) - before, 2 * bsize // 1024, "online_movable: MemTotal grew")
        offline_unplug("online_movable", "d2", new, before)

        # online and online_kernel: auto-onlined to ZONE_NORMAL (contig-zones default).
        for n, mode in enumerate(("online", "online_kernel"), 3):
            bl, new, before = plug(mode, f"d{n}", 2 * bsize)
            case.eq([bl[i] for i in new], [("online", "Normal")] * 2,
                    f"{mode}: blocks online in Normal")
            case.eq(memtotal(vm) - before, 2 * bsize // 1024, f"{mode}: MemTotal grew")
        sh(vm, "w $M/auto_online_blocks offline")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"), compare=True)
def dimm_eject_online(case, variant):
    """ACPI eject of an online Movable DIMM offlines and removes its blocks."""
    t = []
    with VM(variant, append="memhp_default_state=online_movable") as vm:
        base = blocks(vm)
        base_total = memtotal(vm)
        case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "online_movable",
                "memhp_default_state=online_movable sets auto_online_blocks")
        vm.plug_dimm("d1", 256 * MiB)
        bl = wait_blocks(vm, len(base) + 2)
        new = sorted(set(bl) - set(base))
        t.append(f"plug -> {_fmt(bl, new)}")
        case.eq([bl[i] for i in new], [("online", "Movable")] * 2,
                "blocks are online in ZONE_MOVABLE")
        case.eq(uevents(vm, 4), [f"{a} memory{i}" for a in ("add", "online") for i in new],
                "plug: add then online uevents")
        vm.unplug_dimm("d1")
        bl = wait_blocks(vm, len(base))
        ev = uevents(vm, 4)
        t.append(f"eject uevents: {', '.join(ev)}")
        case.eq(sorted(ev), sorted(f"{a} memory{i}" for a in ("offline", "remove") for i in new),
                "eject: offline and remove uevents for each block")
        case.eq(sorted(bl), sorted(base), "eject removes the blocks")
        case.eq(memtotal(vm), base_total, "MemTotal back after eject")
        t.append(f"eject -> {len(bl)} blocks")
    return "\n".join(t) + "\n"


# Writes auto_online_blocks as fast as bash can, alternating two values, until killed.
TOGGLER = r"""
(while :; do
	echo offline > $M/auto_online_blocks
	echo online_movable > $M/auto_online_blocks
done) >/dev/null 2>&1 </dev/null &
echo $!
"""
PLUGS = 12


@test(variants=("c", "rust"))
def auto_online_race(case, variant):
    """DIMMs plugged while auto_online_blocks flips between offline and online_movable:
    each DIMM's blocks are all offline or all online Movable, never in a kernel zone
    (core mm read the online type once per plug only with patch 0004)."""
    with VM(variant, slots=2, append="memhp_default_state=online_movable") as vm:
        base = blocks(vm)
        bsize = block_size(vm)
        seen = {}
        for n in range(PLUGS):
            pid = sh(vm, TOGGLER).strip()
            vm.plug_dimm(f"r{n}", 4 * bsize)
            new = sorted(set(wait_blocks(vm, len(base) + 4)) - set(base))
            # ACPI's kworker adds and onlines the blocks (__add_memory()), then links each
            # to the DIMM's device: once every block has its firmware_node, the plug is done.
            links = " && ".join(f"test -e $M/memory{i}/firmware_node" for i in new)
            deadline = time.time() + 60
            while sh(vm, f"{links} && echo bound || echo no").strip() != "bound":
                if time.time() > deadline:
                    case.fail(f"plug {n}: ACPI links the DIMM's blocks to it", blocks(vm))
                    return
                time.sleep(0.5)
            sh(vm, f"kill {pid}; wait {pid} 2>/dev/null; true")
            bl = blocks(vm)
            zones = tuple(bl[i][1] if bl[i][0] == "online" else "offline" for i in new)
            seen[zones] = seen.get(zones, 0) + 1
            if not case.check(zones in (("offline",) * 4, ("Movable",) * 4),
                              f"plug {n}: the DIMM's blocks are {', '.join(zones)}"):
                return  # a block in a kernel zone may not offline: no eject
            vm.unplug_dimm(f"r{n}", timeout=120)
            wait_blocks(vm, len(base))
        # The toggler really raced the plugs: some plugs found it at each value.
        case.check(len(seen) > 1, f"outcomes of {PLUGS} plugs: {seen}")
