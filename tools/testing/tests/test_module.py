# SPDX-License-Identifier: GPL-2.0
"""The memory_hotplug policy as a loadable module (the rust-mod variant).

Built in (`rust`) the parameters come from the kernel command line; as a module
(`rust-mod`) from modprobe: its arguments, `/etc/modprobe.d` or `memory_hotplug.X=`
on the kernel command line, which modprobe reads from /proc/cmdline. Both must
give the same parameters and zone decisions.
"""

import time

from guest import MODULAR_POLICY, plug_dimms, runs, sh
from ktap import test
from vm import GiB, MiB, VM

P = "/sys/module/memory_hotplug/parameters"
ARGS = "online_policy=auto-movable auto_movable_ratio=100"
CMDLINE = " ".join(f"memory_hotplug.{a}" for a in ARGS.split())


def _layout(vm):
    params = sh(vm, f"cd {P} && grep . *")
    layout = plug_dimms(vm, 3, 512 * MiB)
    return params + " | ".join(runs(z) for z in layout)


@test(variants=("rust", "rust-mod", "debug"), compare=True)
def policy_builtin_vs_module(case, variant):
    """Command line (built in) = modprobe from /proc/cmdline = modprobe arguments =
    /etc/modprobe.d (module): same parameters, same zones."""
    t = []
    for how in ("cmdline", "args", "modprobe.d"):
        append = "memhp_default_state=online"
        if how == "cmdline" or variant not in MODULAR_POLICY:
            append += " " + CMDLINE
        with VM(variant, mem=1 * GiB, slots=4, maxmem=8 * GiB, append=append) as vm:
            if variant in MODULAR_POLICY:
                case.check(vm.run(f"test -e {P}").rc != 0,
                           f"{how}: no parameters before the module is loaded")
                if how == "cmdline":
                    sh(vm, "modprobe memory_hotplug")
                elif how == "args":
                    sh(vm, f"modprobe memory_hotplug {ARGS}")
                else:
                    sh(vm, f"mkdir -p /etc/modprobe.d && echo 'options memory_hotplug {ARGS}'"
                           " > /etc/modprobe.d/memory_hotplug.conf && modprobe memory_hotplug")
            out = _layout(vm)
            case.check("online_policy:auto-movable" in out and "auto_movable_ratio:100" in out,
                       f"{how}: parameters applied", out)
            t.append(f"{how}: {out}")
    return "\n".join(t) + "\n"


@test(variants=("rust-mod", "debug"))
def policy_module_lifecycle(case, variant):
    """modinfo, bad parameters, load, rmmod fallback to contig-zones, reload, rmmod races."""
    with VM(variant, mem=1 * GiB, slots=4, maxmem=8 * GiB,
            append="memhp_default_state=online") as vm:
        info = sh(vm, "modinfo memory_hotplug")
        for p in ("online_policy", "auto_movable_ratio", "auto_movable_numa_aware",
                  "memmap_on_memory"):
            case.check(f"parm:           {p}:" in info, f"modinfo documents {p}", info)

        for bad, err in (("online_policy=bogus", "Invalid argument"),
                         ("auto_movable_ratio=abc", "Invalid argument"),
                         ("auto_movable_ratio=4294967296", "Numerical result out of range"),
                         ("auto_movable_numa_aware=maybe", "Invalid argument"),
                         ("memmap_on_memory=sometimes", "Invalid argument")):
            r = vm.run(f"modprobe memory_hotplug {bad}")
            case.check(r.rc != 0 and err in r.err, f"modprobe {bad} fails: {err}", r.err)
            case.check(vm.run(f"test -e {P}").rc != 0, f"modprobe {bad}: module not loaded")
        msgs = sh(vm, "dmesg | grep 'memory_hotplug: ' || true")
        case.check("online_policy" in msgs, "the kernel log names the bad parameter", msgs)

        sh(vm, "modprobe memory_hotplug online_policy=auto-movable")
        case.eq(plug_dimms(vm, 1, 256 * MiB), [["Movable"] * 2], "loaded: auto-movable")
        sh(vm, "rmmod memory_hotplug")
        case.check(vm.run("test -e /sys/module/memory_hotplug").rc != 0, "rmmod removes it")
        case.eq(plug_dimms(vm, 1, 256 * MiB), [["Normal"] * 2],
                "unloaded: contig-zones (Normal above every zone)")
        sh(vm, "modprobe memory_hotplug online_policy=auto-movable auto_movable_ratio=0")
        case.eq(plug_dimms(vm, 1, 256 * MiB), [["Normal"] * 2], "reloaded with ratio 0: Normal")
        sh(vm, "rmmod memory_hotplug; modprobe memory_hotplug online_policy=auto-movable")
        case.eq(plug_dimms(vm, 1, 256 * MiB), [["Movable"] * 2], "reloaded: Movable again")

        # Load and unload while blocks are onlined and offlined and valid_zones is read.
        r = vm.run(r"""
            M=/sys/devices/system/memory
            blk=$(ls -d $M/memory* | sort -V | tail -n 1)
            ( for i in $(seq 40); do echo offline > $blk/state; echo online > $blk/state;
              done ) 2>/dev/null &
            ( for i in $(seq 200); do cat $M/memory*/valid_zones > /dev/null; done ) &
            for i in $(seq 20); do rmmod memory_hotplug; modprobe memory_hotplug \
                online_policy=auto-movable; done
            wait
            cat $blk/state; test -e /sys/module/memory_hotplug && echo loaded
        """, timeout=600)
        case.check(r.rc == 0 and "loaded" in r.out,
                   "rmmod/modprobe while onlining, offlining and reading valid_zones", r)
        oops = sh(vm, "dmesg | grep -E 'WARNING|BUG:|Oops|refcount_t|list_(add|del) corruption'"
                      " || true")
        case.eq(oops, "", "no WARN, BUG or Oops in the kernel log")
    return None


@test(variants=("rust-mod", "debug"))
def policy_rmmod_with_altmaps(case, variant):
    """rmmod while memmap_on_memory blocks exist: each block keeps its own altmap, and
    offlining, ACPI eject and removal afterwards free it (no oops, no WARN, no leak of
    MemTotal); memory added after the unload gets its memmap from the kernel again."""
    with VM(variant, mem=1 * GiB, slots=3, maxmem=4 * GiB,
            append="memhp_default_state=offline") as vm:
        sh(vm, "modprobe memory_hotplug memmap_on_memory=force online_policy=auto-movable")
        case.eq(sh(vm, f"cat {P}/memmap_on_memory").strip(), "force", "loaded with force")
        start = int(sh(vm, "memtotal"))
        bsize = int(sh(vm, "cat $M/block_size_bytes"), 16)
        nblocks = GiB // bsize
        vm.plug_dimm("alt1", 1 * GiB)
        bl = _wait_new_blocks(vm, nblocks)
        online = sh(vm, "for b in " + " ".join(f"memory{i}" for i in bl) +
                    "; do w $M/$b/state online; done | sort | uniq -c").strip()
        case.eq(online, f"{nblocks} OK", "online every block of the DIMM")
        grown = int(sh(vm, "memtotal")) - start
        # force: the memmap (64 bytes a page) rounded up to whole pageblocks, in each block.
        pb = int(sh(vm, "awk '/^Pages per block:/ {print $4}' /proc/pagetypeinfo"))
        memmap = bsize // 4096 * 64 // 4096
        vmemmap = -(-memmap // pb) * pb * 4096
        case.eq(grown, (GiB - nblocks * vmemmap) // 1024, "MemTotal grows by the DIMM minus "
                "its in-memory memmap (kB)")
        sh(vm, "rmmod memory_hotplug")
        case.check(vm.run("test -e /sys/module/memory_hotplug").rc != 0, "rmmod removes it")
        offline = sh(vm, "for b in " + " ".join(f"memory{i}" for i in bl) +
                     "; do w $M/$b/state offline; done | sort | uniq -c").strip()
        case.eq(offline, f"{nblocks} OK", "offline every block after rmmod")
        vm.unplug_dimm("alt1")
        gone = sh(vm, "for i in " + " ".join(map(str, bl)) +
                  "; do test -e $M/memory$i && echo left; done; true").strip()
        case.eq(gone, "", "ACPI eject removed every block")
        case.eq(int(sh(vm, "memtotal")), start, "MemTotal back to its value before the plug")
        # After the unload memory is added without memmap_on_memory.
        vm.plug_dimm("alt2", 256 * MiB)
        bl2 = _wait_new_blocks(vm, 256 * MiB // bsize)
        sh(vm, "for b in " + " ".join(f"memory{i}" for i in bl2) + "; do w $M/$b/state online; done")
        case.eq(int(sh(vm, "memtotal")) - start, 256 * 1024,
                "a DIMM plugged after rmmod has its memmap elsewhere (MemTotal grows by all)")
        oops = sh(vm, "dmesg | grep -E 'WARNING|BUG:|Oops|Altmap' || true")
        case.eq(oops, "", "no WARN, BUG, Oops or altmap report in the kernel log")
    return None


def _wait_new_blocks(vm, count, timeout=120):
    """Wait for `count` offline blocks to appear (auto-online off); return their ids."""
    deadline = time.time() + timeout
    while True:
        ids = sh(vm, "for d in $M/memory[0-9]*; do [ $(cat $d/state) = offline ] && "
                     "echo ${d##*memory}; done | sort -n").split()
        if len(ids) >= count:
            return [int(i) for i in ids[-count:]]
        if time.time() > deadline:
            raise AssertionError(f"expected {count} new offline blocks, have {len(ids)}")
        time.sleep(0.5)
