# SPDX-License-Identifier: GPL-2.0
"""memmap_on_memory with an ACPI DIMM, and onlining a block with a hwpoisoned page.

memmap_on_memory (behaviour-6.12.md §9): ACPI memhotplug always asks for the memmap in
the added memory, so when memmap_on_memory is usable every 128 MiB block of a DIMM carries
its own memmap (2 MiB = 512 pages, rounded up to whole pageblocks in `force` mode):
PREPARE_ONLINE and FINISH_OFFLINE carry it as the altmap, the other payloads exclude it,
it counts as present but not managed, and MemTotal grows by the block minus it. With
`=1` it is only usable when the 512 pages are whole pageblocks, which needs THP or
hugetlb (512-page pageblocks); the project's kernels have neither (1024-page pageblocks),
so there `=1` adds DIMMs without an altmap and `=force` uses 1024 pages per block.

hwpoison (§3.1): a block with a poisoned page can be offlined but never onlined again
(EHWPOISON, before any notifier event); the poison count goes away with the block.
"""

from guest import block_size, blocks, load_policy, memtotal, sh, uevents, wait_blocks
from ktap import test
from vm import MiB, VM

PAGE = 4096
MMAP = "/sys/module/memory_hotplug/parameters/memmap_on_memory"
# The recorder's debugfs directory and its notifiers (as in test_notifier.py, which is not
# imported: ktap loads every test file once, and an import would register its tests again).
D = "/sys/kernel/debug/memory_notifier_recorder"
ALL = ("high", "default", "low")


def seq(*steps):
    """[(notifier, EVENT)...] for events delivered to the given notifiers, in order."""
    return [(n, event) for event, notifiers in steps for n in notifiers]


def _parse(log):
    """[(notifier, EVENT)...] of a recorder log."""
    return [tuple(line.split()[1:3]) for line in log.splitlines()]


def _events(log):
    """[{event, key: value...}] of a recorder log's lines."""
    out = []
    for line in log.splitlines():
        e = dict(f.split("=", 1) for f in line.split() if "=" in f)
        e["ev"] = line.split()[2]
        out.append(e)
    return out


def _movable(vm):
    """'spanned present managed' of node 0's Movable zone, from /proc/zoneinfo."""
    return sh(vm, r"""awk '/^Node 0, zone/ {z = $4}
        z == "Movable" && $1 ~ /^(spanned|present|managed)$/ {printf "%s=%s ", $1, $2}
        ' /proc/zoneinfo""").strip()


def _hwcorrupted(vm):
    return sh(vm, "awk '/^HardwareCorrupted:/ {print $2 \" \" $3}' /proc/meminfo").strip()


def _memmap_dimm(case, variant, mode, t):
    """One boot with memory_hotplug.memmap_on_memory=`mode`: a 2-block DIMM through
    plug, online_movable, offline and unplug."""
    case.prefix = f"[{variant}] {mode}: "
    t.append(f"=== memory_hotplug.memmap_on_memory={mode}")
    with VM(variant, append=f"memhp_default_state=offline memory_hotplug.memmap_on_memory={mode}"
            ) as vm:
        load_policy(vm)
        read = sh(vm, f"cat {MMAP}").strip()
        want_read = "force" if mode == "force" else "Y"
        case.eq(read, want_read, f"memmap_on_memory reads {want_read}")
        case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "offline",
                "auto_online_blocks is offline")
        sh(vm, "modprobe memory_notifier_recorder")
        bsize = block_size(vm)
        case.eq(bsize, 128 * MiB, "block_size_bytes is 128 MiB")
        bpages = bsize // PAGE
        # The memmap of one block: 64 bytes per page (512 pages for 128 MiB blocks). It must
        # cover whole pageblocks: with `force` it is rounded up to one, otherwise memmap on
        # memory is not used when it does not (§9). A pageblock is 512 pages with THP or
        # hugetlb, and MAX_PAGE_ORDER (1024 pages) in the project's tinyconfig-based kernels.
        pb = int(sh(vm, "awk '/^Pages per block:/ {print $4}' /proc/pagetypeinfo"))
        memmap = bpages * 64 // PAGE
        if mode == "force":
            vm_pages = -(-memmap // pb) * pb
        else:
            vm_pages = memmap if memmap % pb == 0 else 0
        waste = sh(vm, "dmesg | sed -n 's/^\\[[^]]*\\] //; /Memory hotplug will waste/p'"
                   ).strip()
        t.append(f"memmap_on_memory={read}; block pages={bpages:#x} pageblock pages={pb:#x} "
                 f"memmap pages={memmap:#x} -> vmemmap pages per block={vm_pages:#x}; "
                 f"log: {waste or '-'}")
        if mode == "force":
            case.eq(waste, f"Memory hotplug will waste {vm_pages - memmap} pages in each "
                    "memory block", "the boot log tells the pages wasted per block")
            case.check(vm_pages >= memmap, "memmap on memory is used", vm_pages)
        base = blocks(vm)
        before = memtotal(vm)
        t.append(f"boot Movable zone: {_movable(vm)}")

        vm.plug_dimm("d1", 2 * bsize)
        bl = wait_blocks(vm, len(base) + 2)
        new = sorted(set(bl) - set(base))
        ev = uevents(vm, 2)
        t.append(f"plug: {' '.join(f'{i}:{bl[i][0]}:{bl[i][1]}' for i in new)}; "
                 f"uevents {', '.join(ev)}")
        case.eq(ev, [f"add memory{i}" for i in new], "plug: one add uevent per block")
        case.eq([bl[i] for i in new], [("offline", "Normal Movable")] * 2,
                "plug: blocks offline, valid_zones 'Normal Movable'")
        case.eq(memtotal(vm), before, "plug: MemTotal unchanged while offline")

        # Online both blocks to ZONE_MOVABLE, recording the notifier events.
        out = sh(vm, f"echo > {D}/log; " +
                 "; ".join(f"w $M/memory{i}/state online_movable" for i in new) +
                 f"; cat {D}/log")
        lines = out.splitlines()
        res, log = lines[:2], "\n".join(lines[2:]) + "\n"
        t.append(f"online_movable -> {' '.join(res)}")
        t.append("== online log")
        t.append(log.rstrip())
        case.eq(res, ["OK", "OK"], "online_movable of both blocks")
        want = []
        for _ in new:
            want += seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ALL),
                        ("MEM_ONLINE", ALL))
        case.eq(_parse(log), want, "online: PREPARE_ONLINE, GOING_ONLINE, ONLINE per block")
        case.check(all(e["ret"] == "ok" for e in _events(log)), "online: all callbacks ok", log)
        for n, blk in enumerate(new):
            pfn = blk * bpages
            evs = _events(log)[9 * n:9 * n + 9]
            prep = [e for e in evs if e["ev"] == "MEM_PREPARE_ONLINE"]
            case.check(prep and all(e == {
                "ev": "MEM_PREPARE_ONLINE", "start_pfn": f"{pfn + vm_pages:#x}",
                "nr_pages": f"{bpages - vm_pages:#x}", "altmap_start_pfn": f"{pfn:#x}",
                "altmap_nr_pages": f"{vm_pages:#x}", "ret": "ok"} for e in prep),
                f"memory{blk}: PREPARE_ONLINE altmap_start_pfn={pfn:#x} "
                f"altmap_nr_pages={vm_pages:#x} start_pfn={pfn + vm_pages:#x} "
                f"nr_pages={bpages - vm_pages:#x}", log)
            rest = [e for e in evs if e["ev"] != "MEM_PREPARE_ONLINE"]
            case.check(rest and all(e["start_pfn"] == f"{pfn + vm_pages:#x}" and
                                    e["nr_pages"] == f"{bpages - vm_pages:#x}" for e in rest),
                       f"memory{blk}: GOING_ONLINE/ONLINE exclude the vmemmap pages", log)
        grown = memtotal(vm) - before
        bl = blocks(vm)
        mov = _movable(vm)
        t.append(f"online: {' '.join(f'{i}:{bl[i][0]}:{bl[i][1]}' for i in new)}; "
                 f"MemTotal +{grown} kB; Movable zone: {mov}")
        case.eq([bl[i] for i in new], [("online", "Movable")] * 2,
                "online: both blocks online, valid_zones Movable")
        want = 2 * (bpages - vm_pages) * PAGE // 1024
        case.eq(grown, want, f"online: MemTotal grew by the DIMM minus its memmap ({want} kB)")
        case.eq(mov, f"spanned={2 * bpages} present={2 * bpages} "
                     f"managed={2 * (bpages - vm_pages)}",
                "online: vmemmap pages are spanned and present in Movable, not managed")
        case.eq(uevents(vm, 2), [f"online memory{i}" for i in new], "online: uevents")

        # Offline both, recording FINISH_OFFLINE's payload.
        out = sh(vm, f"echo > {D}/log; " +
                 "; ".join(f"w $M/memory{i}/state offline" for i in new) +
                 f"; cat {D}/log")
        lines = out.splitlines()
        res, log = lines[:2], "\n".join(lines[2:]) + "\n"
        t.append(f"offline -> {' '.join(res)}")
        t.append("== offline log")
        t.append(log.rstrip())
        case.eq(res, ["OK", "OK"], "offline of both blocks")
        want = []
        for _ in new:
            want += seq(("MEM_GOING_OFFLINE", ALL), ("MEM_OFFLINE", ALL),
                        ("MEM_FINISH_OFFLINE", ALL))
        case.eq(_parse(log), want, "offline: GOING_OFFLINE, OFFLINE, FINISH_OFFLINE per block")
        for n, blk in enumerate(new):
            pfn = blk * bpages
            evs = _events(log)[9 * n:9 * n + 9]
            fin = [e for e in evs if e["ev"] == "MEM_FINISH_OFFLINE"]
            case.check(fin and all(e == {
                "ev": "MEM_FINISH_OFFLINE", "start_pfn": f"{pfn + vm_pages:#x}",
                "nr_pages": f"{bpages - vm_pages:#x}", "altmap_start_pfn": f"{pfn:#x}",
                "altmap_nr_pages": f"{vm_pages:#x}", "ret": "ok"} for e in fin),
                f"memory{blk}: FINISH_OFFLINE carries the altmap (altmap_nr_pages="
                f"{vm_pages:#x}, start_pfn={pfn + vm_pages:#x})", log)
            going = [e for e in evs if e["ev"] == "MEM_GOING_OFFLINE"]
            case.check(going and all(e["start_pfn"] == f"{pfn + vm_pages:#x}" and
                                     e["nr_pages"] == f"{bpages - vm_pages:#x}" for e in going),
                       f"memory{blk}: GOING_OFFLINE excludes the vmemmap pages", log)
        bl = blocks(vm)
        mov = _movable(vm)
        t.append(f"offline: {' '.join(f'{i}:{bl[i][0]}:{bl[i][1]}' for i in new)}; "
                 f"MemTotal {memtotal(vm) - before:+d} kB; Movable zone: {mov}")
        case.eq([bl[i][0] for i in new], ["offline"] * 2, "offline: blocks read offline")
        case.eq(memtotal(vm), before, "offline: MemTotal back")
        case.check("present=0 managed=0" in mov, "offline: nothing present in Movable", mov)
        case.eq(uevents(vm, 2), [f"offline memory{i}" for i in new], "offline: uevents")

        vm.unplug_dimm("d1")
        bl = wait_blocks(vm, len(base))
        ev = uevents(vm, 2)
        t.append(f"unplug: {len(bl)} blocks; uevents {', '.join(ev)}; "
                 f"MemTotal {memtotal(vm) - before:+d} kB")
        case.eq(sorted(bl), sorted(base), "unplug removes the DIMM's blocks")
        case.check(all(not sh(vm, f"test -e $M/memory{i} && echo present || true").strip()
                       for i in new), "unplug: memoryN directories are gone")
        case.eq(sorted(ev), sorted(f"remove memory{i}" for i in new), "unplug: remove uevents")
        case.eq(memtotal(vm), before, "unplug: MemTotal back")
        sh(vm, "rmmod memory_notifier_recorder")


@test(variants=("c", "rust", "rust-mod", "debug"), compare=True)
def memmap_on_memory_dimm(case, variant):
    """A 2-block ACPI DIMM with memmap_on_memory=1 and =force: the altmap in the
    PREPARE_ONLINE and FINISH_OFFLINE payloads, the ranges of the other events, MemTotal,
    Movable zone counters, offline and unplug."""
    t = []
    for mode in ("1", "force"):
        _memmap_dimm(case, variant, mode, t)
    case.prefix = f"[{variant}] "
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"), compare=True)
def hwpoison_online(case, variant):
    """hard_offline_page in an online Movable block; the block offlines but cannot online
    again (EHWPOISON, no notifier event); soft/hard_offline_page on offline or absent pages."""
    t = []
    with VM(variant, append="memhp_default_state=offline") as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        bsize = block_size(vm)
        base = blocks(vm)
        vm.plug_dimm("d1", 2 * bsize)
        bl = wait_blocks(vm, len(base) + 2)
        new = sorted(set(bl) - set(base))
        uevents(vm, 2)
        res = [sh(vm, f"w $M/memory{i}/state online_movable").strip() for i in new]
        case.eq(res, ["OK", "OK"], "both DIMM blocks online_movable")
        uevents(vm, 2)
        case.eq(_hwcorrupted(vm), "0 kB", "HardwareCorrupted is 0 kB at first")
        # Onlined pages go to the tail of the free lists: the last page of the upper block
        # is the last one the allocator hands out, so it is free.
        blk = new[1]
        addr = (blk + 1) * bsize - PAGE
        t.append(f"block memory{blk}, poisoned address {addr:#x}")

        def wr(path, value, desc, want=None):
            r = sh(vm, f"w {path} {value}").strip()
            t.append(f"{desc}: {r}")
            if want is not None:
                case.eq(r, want, desc)
            return r

        wr("$M/hard_offline_page", f"{addr:#x}",
           "hard_offline_page of a free page in the online block", "OK")
        case.eq(_hwcorrupted(vm), "4 kB", "HardwareCorrupted is 4 kB after the poison")
        wr("$M/hard_offline_page", f"{addr:#x}", "hard_offline_page of the same page again")
        wr("$M/soft_offline_page", f"{addr:#x}", "soft_offline_page of the poisoned page")
        t.append(f"HardwareCorrupted: {_hwcorrupted(vm)}")
        st = sh(vm, f"cat $M/memory{blk}/state $M/memory{blk}/valid_zones").split()
        t.append(f"memory{blk} after poison: {' '.join(st)}")
        case.eq(st, ["online", "Movable"], "the poisoned block stays online in Movable")

        # A poisoned block can be offlined.
        out = sh(vm, f"echo > {D}/log; w $M/memory{blk}/state offline; cat {D}/log")
        r, _, log = out.partition("\n")
        t.append(f"offline of the poisoned block: {r}")
        t.append(log.rstrip())
        case.eq(r, "OK", "the poisoned block offlines")
        case.eq(_parse(log), seq(("MEM_GOING_OFFLINE", ALL), ("MEM_OFFLINE", ALL),
                                 ("MEM_FINISH_OFFLINE", ALL)),
                "offline: the usual event sequence")
        case.eq(uevents(vm, 1), [f"offline memory{blk}"], "offline: one offline uevent")
        case.eq(_hwcorrupted(vm), "4 kB", "HardwareCorrupted stays 4 kB while offline")

        # ... but never onlined again, before any notifier event.
        for path, value in ((f"$M/memory{blk}/state", "online_movable"),
                            (f"$M/memory{blk}/state", "online"),
                            (f"$M/memory{blk}/state", "online_kernel"),
                            (f"$M/memory{blk}/online", "1")):
            out = sh(vm, f"echo > {D}/log; w {path} {value}; cat {D}/log")
            r, _, log = out.partition("\n")
            desc = f"{path.replace('$M/', '')} <- {value} on the poisoned block"
            t.append(f"{desc}: {r}; events: {len(log.splitlines())}")
            # EHWPOISON (133), as strerror() of the guest's libc (glibc) words it.
            case.eq(r, "Memory page has hardware error", f"{desc}: EHWPOISON")
            case.eq(log.strip(), "", f"{desc}: no notifier event")
        st = sh(vm, f"cat $M/memory{blk}/state $M/memory{blk}/online").split()
        ev = uevents(vm)
        t.append(f"memory{blk} after the online attempts: {' '.join(st)}; uevents: {ev}")
        case.eq(st, ["offline", "0"], "the poisoned block stays offline")
        case.eq(ev, [], "no uevent for the failed onlines")

        # soft/hard_offline_page of a page that is not online, or that does not exist.
        wr("$M/soft_offline_page", f"{blk * bsize + 16 * PAGE:#x}",
           "soft_offline_page in the offline block", "Input/output error")
        wr("$M/hard_offline_page", f"{blk * bsize + 16 * PAGE:#x}",
           "hard_offline_page in the offline block", "No such device or address")
        absent = (new[-1] + 8) * bsize
        wr("$M/soft_offline_page", f"{absent:#x}",
           "soft_offline_page above the DIMM (no memory section)", "No such device or address")
        wr("$M/soft_offline_page", "0x4000000000000",
           "soft_offline_page far out of range", "No such device or address")
        wr("$M/hard_offline_page", f"{absent:#x}",
           "hard_offline_page above the DIMM (no memory section)", "No such device or address")
        case.eq(_hwcorrupted(vm), "4 kB", "the failed writes poison nothing more")

        # The other block offlines; unplug removes both and drops the poison count.
        wr(f"$M/memory{new[0]}/state", "offline", "offline of the other block", "OK")
        uevents(vm, 1)
        vm.unplug_dimm("d1")
        bl = wait_blocks(vm, len(base))
        ev = uevents(vm, 2)
        hw = _hwcorrupted(vm)
        t.append(f"unplug: {len(bl)} blocks; uevents {', '.join(ev)}; HardwareCorrupted {hw}")
        case.eq(sorted(bl), sorted(base), "unplug removes the DIMM's blocks")
        case.eq(sorted(ev), sorted(f"remove memory{i}" for i in new), "unplug: remove uevents")
        case.eq(hw, "0 kB", "removing the poisoned block drops HardwareCorrupted to 0 kB")
        sh(vm, "rmmod memory_notifier_recorder")
    return "\n".join(t) + "\n"
