# SPDX-License-Identifier: GPL-2.0
"""The memory_hotplug policy as a loadable module (the rust-mod variant).

Built in (`rust`) the parameters come from the kernel command line; as a module
(`rust-mod`) from modprobe: its arguments, `/etc/modprobe.d` or `memory_hotplug.X=`
on the kernel command line, which modprobe reads from /proc/cmdline. Both must
give the same parameters and zone decisions.
"""

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
