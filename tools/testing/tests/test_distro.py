# SPDX-License-Identifier: GPL-2.0
"""What the distro-like configuration (configs/common.config) brings in, on c and rust:

- ZONE_DMA: boot block 0 spans ZONE_DMA and ZONE_DMA32, so it has no single zone:
  valid_zones reads `none`, offlining it fails with EINVAL before any notifier event;
- hugetlbfs with 2 MiB pages: huge pages in use in a ZONE_MOVABLE block are migrated
  when the block is offlined;
- dax/kmem: an emulated pmem region (memmap=nn!ss) turned into System RAM and back by
  the real user space tools, ndctl and daxctl, with lsmem before and after.
"""

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import GiB, MiB, VM

D = "/sys/kernel/debug/memory_notifier_recorder"


@test(variants=("c", "rust", "debug"), compare=True)
def multi_zone_boot_block(case, variant):
    """memory0 (ZONE_DMA + ZONE_DMA32): valid_zones none, offline EINVAL, no event."""
    t = []
    with VM(variant) as vm:
        zones = sh(vm, r"""awk '/^Node/ {z = $4} $1 == "spanned" && $2 > 0 {print z}' \
                   /proc/zoneinfo | tr '\n' ' '""").strip()
        t.append(f"populated zones: {zones}")
        case.check(zones.startswith("DMA DMA32"), "ZONE_DMA and ZONE_DMA32 exist", zones)
        vz = sh(vm, "cat $M/memory0/valid_zones").strip()
        t.append(f"memory0 valid_zones: {vz}")
        case.eq(vz, "none", "memory0 valid_zones reads none")
        sh(vm, f"modprobe memory_notifier_recorder; echo > {D}/log")
        for f, v in (("memory0/state", "offline"), ("memory0/online", "0")):
            res = sh(vm, f"w $M/{f} {v}").strip()
            t.append(f"{f} <- {v}: {res}")
            case.eq(res, "Invalid argument", f"{f} <- {v}: EINVAL")
        log = sh(vm, f"cat {D}/log").strip()
        t.append(f"notifier events: {log or '-'}")
        case.eq(log, "", "no notifier event for the refused offline")
        case.eq(sh(vm, "cat $M/memory0/state").strip(), "online", "memory0 stays online")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"), compare=True)
def hugetlb_movable_offline(case, variant):
    """Huge pages in use (a hugetlbfs file) in a ZONE_MOVABLE block are migrated when the
    block is offlined; the pool and the file survive."""
    t = []
    with VM(variant, append="memhp_default_state=offline") as vm:
        base = blocks(vm)
        vm.plug_dimm("d1", 256 * MiB)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        res = sh(vm, "; ".join(f"w $M/memory{i}/state online_movable" for i in new))
        case.eq(res.split(), ["OK", "OK"], "online_movable both DIMM blocks")

        def movable_free():
            return int(sh(vm, r"""awk '/^Node 0, zone/ {z = $4}
                          z == "Movable" && $1 == "nr_free_pages" {print $2}' /proc/zoneinfo"""))

        free0 = movable_free()
        # GFP_HIGHUSER_MOVABLE huge pages come from ZONE_MOVABLE first.
        out = sh(vm, "echo 16 > /proc/sys/vm/nr_hugepages; mkdir -p /mnt/huge; "
                     "mount -t hugetlbfs none /mnt/huge; fallocate -l 32M /mnt/huge/f; "
                     "grep -E '^HugePages_(Total|Free)' /proc/meminfo | tr -s ' ' | tr '\\n' ' '")
        t.append(f"after allocating: {out.strip()}")
        case.eq(out.split(), ["HugePages_Total:", "16", "HugePages_Free:", "0"],
                "16 huge pages, all in use by the hugetlbfs file")
        taken = free0 - movable_free()
        case.check(taken >= 16 * 512, "the huge pages are in ZONE_MOVABLE (the DIMM)",
                   f"{taken} pages taken from Movable")
        res = sh(vm, "; ".join(f"w $M/memory{i}/state offline" for i in new))
        t.append(f"offline: {res.split()}")
        case.eq(res.split(), ["OK", "OK"], "offline both blocks: the huge pages migrate")
        out = sh(vm, "grep -E '^HugePages_(Total|Free)' /proc/meminfo | tr -s ' ' | "
                     "tr '\\n' ' '; stat -c %s /mnt/huge/f")
        t.append(f"after offline: {out.strip()}")
        case.eq(out.split(), ["HugePages_Total:", "16", "HugePages_Free:", "0", "33554432"],
                "the pool and the file are intact after the migration")
        case.eq([blocks(vm)[i][0] for i in new], ["offline", "offline"], "blocks offline")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"), compare=True)
def dax_kmem_daxctl(case, variant):
    """dax/kmem with Debian's ndctl/daxctl: a 512 MiB emulated pmem region (memmap=512M!1G)
    as a devdax namespace, then System RAM (daxctl reconfigure-device), offline-memory,
    online-memory and back to devdax; lsmem at each step."""
    t = []
    with VM(variant, mem=2 * GiB, append="memmap=512M!1G") as vm:
        def step(title, cmd):
            r = vm.run("set -o pipefail; " + cmd, timeout=300)
            out = r.out.strip()
            lsmem = sh(vm, "lsmem -o RANGE,SIZE,STATE,BLOCK,ZONES").strip()
            t.append(f"== {title}: rc={r.rc}\n{out}\n{lsmem}")
            case.check(r.rc == 0, f"{title} succeeds", r)
            return out

        step("boot", "cat /proc/iomem | grep -i 'persistent' | sed 's/^ *//'")
        ns = step("ndctl create-namespace devdax",
                  "ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >/dev/null && "
                  "ls /sys/bus/dax/devices/")
        case.check("dax0.0" in ns, "a dax0.0 device exists", ns)
        bl0 = blocks(vm)
        step("daxctl reconfigure-device --mode=system-ram",
             "daxctl reconfigure-device --mode=system-ram dax0.0 >/dev/null && "
             "readlink /sys/bus/dax/devices/dax0.0/driver | sed 's|.*/||'")
        bl = blocks(vm)
        new = sorted(set(bl) - set(bl0))
        case.check(len(new) >= 2, "kmem added memory blocks", new)
        case.check(all(bl[i][0] == "online" for i in new), "daxctl onlined them", bl)
        step("daxctl offline-memory", "daxctl offline-memory dax0.0 2>&1 | tail -n 1")
        case.check(all(blocks(vm)[i][0] == "offline" for i in new), "offline-memory offlined")
        step("daxctl online-memory", "daxctl online-memory dax0.0 2>&1 | tail -n 1")
        case.check(all(blocks(vm)[i][0] == "online" for i in new), "online-memory onlined")
        step("daxctl reconfigure-device --mode=devdax",
             "daxctl offline-memory dax0.0 >/dev/null 2>&1; "
             "daxctl reconfigure-device --mode=devdax dax0.0 >/dev/null && "
             "readlink /sys/bus/dax/devices/dax0.0/driver | sed 's|.*/||'")
        case.eq(sorted(blocks(vm)), sorted(bl0), "back to devdax: the blocks are removed")
    return "\n".join(t) + "\n"
