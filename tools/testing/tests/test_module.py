# SPDX-License-Identifier: GPL-2.0
"""Modules: the memory_hotplug policy as a loadable module (the rust-mod variant), and the
registrations a module leaks.

Built in (`rust`) the parameters come from the kernel command line; as a module
(`rust-mod`) from modprobe: its arguments, `/etc/modprobe.d` or `memory_hotplug.X=`
on the kernel command line, which modprobe reads from /proc/cmdline. Both must
give the same parameters and zone decisions.

A module may leak a registration (safe Rust: `core::mem::forget`); when it is unloaded, the
kernel crate removes what it leaked before its code is freed (`kernel::module_going`).
"""

import time

from guest import MODULAR_POLICY, blocks, plug_dimms, runs, sh, wait_blocks
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


RECORDER = "/sys/kernel/debug/memory_notifier_recorder"


# Not on debug: kmemleak reports the leaked registrations, as it should.
@test(variants=("rust", "rust-mod"))
def module_leak_purged(case, variant):
    """A module that leaks its memory notifiers and debugfs files (the recorder's `leak`):
    unloading it removes them, with a warning naming the module, and onlines, offlines and
    debugfs go on without calling into the freed module (without kernel::module_going, the
    next online called the leaked notifiers' freed code)."""
    with VM(variant, mem=1 * GiB, slots=4, maxmem=8 * GiB,
            allowed=("rust/kernel/module_going.rs",)) as vm:
        base = blocks(vm)
        vm.plug_dimm("d1", 256 * MiB)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        sh(vm, "modprobe memory_notifier_recorder")
        case.eq(sh(vm, f"w $M/memory{new[0]}/state online_movable").strip(), "OK",
                "online with the recorder loaded")
        case.check("MEM_ONLINE" in sh(vm, f"cat {RECORDER}/log"), "the recorder recorded it")
        sh(vm, f"echo leak > {RECORDER}/inject; rmmod memory_notifier_recorder")
        case.check(vm.run("grep -q '^memory_notifier_recorder ' /proc/modules").rc != 0,
                   "the recorder is unloaded")
        log = sh(vm, "dmesg")
        case.check("leaking the notifiers and debugfs files as asked" in log,
                   "the recorder leaked its registrations")
        for what, count in (("memory notifier", 3), ("debugfs file", 2)):
            case.eq(log.count(f"module memory_notifier_recorder leaked a {what} registration: "
                              "removed as the module goes"), count,
                    f"each leaked {what} is removed, with a warning naming the module")
        case.check(vm.run(f"test -e {RECORDER}").rc != 0,
                   "the recorder's debugfs directory is gone (its leaked files held it)")
        res = sh(vm, f"w $M/memory{new[0]}/state offline; "
                     f"w $M/memory{new[1]}/state online_movable; "
                     f"w $M/memory{new[1]}/state offline").split()
        case.eq(res, ["OK"] * 3, "offline and online after the unload")
        # Loaded again, the recorder has its files; unloaded without a leak, nothing warns.
        sh(vm, "modprobe memory_notifier_recorder")
        case.eq(sh(vm, f"ls {RECORDER}").split(), ["inject", "log"],
                "loaded again, the recorder has its debugfs files")
        sh(vm, "rmmod memory_notifier_recorder")
        case.eq(sh(vm, "dmesg").count("leaked a"), 5, "no warning when nothing leaks")
        vm.unplug_dimm("d1")
        case.check(len(wait_blocks(vm, len(base), timeout=120)) == len(base),
                   "the DIMM is ejected")
