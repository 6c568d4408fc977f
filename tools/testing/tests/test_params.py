# SPDX-License-Identifier: GPL-2.0
"""The memory_hotplug.* parameters: modes, defaults, accepted values and errors.

On `c` they are core mm's; on `rust` the memory_hotplug module's (built in), on
`rust-mod` the same module loaded with modprobe after boot (which takes the
memory_hotplug.* words of the kernel command line). Every read and every write
result is compared between the variants. policy_cmdline is not run on rust-mod
(nor debug, which is rust-mod with the checkers):
there a bad value fails the whole load, as for any module (test_module.py).
"""

import os

from guest import load_policy, plug_dimms, runs, save_layout, sh
from ktap import test
from vm import CACHE, GiB, MiB, VM

P = "/sys/module/memory_hotplug/parameters"

# (parameter, values written one by one; each followed by a read-back)
WRITES = {
    "online_policy": ["auto-movable", "contig-zones\n", "auto-movable\n\n", "Auto-movable",
                      " contig-zones", "contig-zones ", "", "contig", "auto-movable-x",
                      "auto-movable\n", "contig-zones"],
    "auto_movable_ratio": ["0", "100\n", "0x20", "010", "-1", "4294967295", "4294967296",
                           "99999999999999999999", "12abc", " 5", "5 ", "+7", "", "301"],
    "auto_movable_numa_aware": ["n", "Y", "0", "1", "off", "on", "of", "yes", "no", "t", "f",
                                "x", "2", "", "Y"],
    "memmap_on_memory": ["Y", "force", "N"],
}


def _params(vm):
    return sh(vm, f"cd {P} && for f in *; do echo \"$(stat -c '%a' $f) $f $(cat $f)\"; done")


@test(variants=("c", "rust", "rust-mod", "debug"), compare=True)
def policy_params(case, variant):
    """Defaults, modes and the result of every write to each parameter."""
    t = []
    with VM(variant) as vm:
        load_policy(vm)
        params = _params(vm)
        t.append(params)
        for want in ("644 online_policy contig-zones", "644 auto_movable_ratio 301",
                     "644 auto_movable_numa_aware Y", "444 memmap_on_memory N"):
            case.check(want in params.splitlines(), f"default: {want}", params)
        for name, values in WRITES.items():
            for v in values:
                script = f"r=$(w {P}/{name} '{v}'); echo \"$r -> $(cat {P}/{name})\""
                t.append(f"{name} {v!r}: {sh(vm, script).strip()}")
        out = "\n".join(t)
        case.check("online_policy 'Auto-movable': Invalid argument -> contig-zones" in out,
                   "online_policy is case-sensitive (EINVAL)")
        case.check("auto_movable_ratio '4294967296': Numerical result out of range" in out,
                   "auto_movable_ratio overflow is ERANGE")
        case.check("auto_movable_ratio '0x20': OK -> 32" in out, "auto_movable_ratio base 0")
        case.check("memmap_on_memory 'Y': Permission denied" in out,
                   "memmap_on_memory is read-only")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust"), compare=True)
def policy_cmdline(case, variant):
    """Command-line forms: bare names, bad values, force."""
    t = []
    for append in ("memory_hotplug.auto_movable_numa_aware=0 memory_hotplug.memmap_on_memory",
                   "memory_hotplug.auto_movable_numa_aware memory_hotplug.memmap_on_memory=force "
                   "memory_hotplug.online_policy=bogus memory_hotplug.auto_movable_ratio=-3",
                   "memory_hotplug.memmap_on_memory=1 memory_hotplug.online_policy=auto-movable "
                   "memory_hotplug.auto_movable_ratio=0x40"):
        with VM(variant, append=append) as vm:
            params = _params(vm)
            msgs = sh(vm, "dmesg | grep -o 'Memory hotplug will waste.*' || true")
            t.append(f"{append}:\n{params}{msgs}")
    out = "\n".join(t)
    case.check("444 memmap_on_memory force" in out, "memmap_on_memory=force from the command line")
    case.check("644 auto_movable_ratio 64" in out, "auto_movable_ratio=0x40 from the command line")
    return out + "\n"


@test(variants=("c", "rust", "rust-mod", "debug"), compare=True)
def policy_runtime_switch(case, variant):
    """Writes at run time apply to blocks onlined afterwards."""
    t = []
    with VM(variant, mem=1 * GiB, slots=4, maxmem=8 * GiB,
            append="memhp_default_state=online") as vm:
        load_policy(vm)
        first = plug_dimms(vm, 1, 512 * MiB, case=case)
        sh(vm, f"echo auto-movable > {P}/online_policy")
        second = plug_dimms(vm, 1, 512 * MiB, case=case)
        sh(vm, f"echo 0 > {P}/auto_movable_ratio")
        third = plug_dimms(vm, 1, 512 * MiB, case=case)
        sh(vm, f"echo 301 > {P}/auto_movable_ratio; echo contig-zones > {P}/online_policy")
        fourth = plug_dimms(vm, 1, 512 * MiB, case=case)
        save_layout(vm, "policy_runtime_switch", "end")
        for what, layout in (("contig-zones", first), ("auto-movable", second),
                              ("ratio 0", third), ("contig-zones again", fourth)):
            t.append(f"{what}: " + " | ".join(runs(z) for z in layout))
        case.eq(second, [["Movable"] * 4], "auto-movable written at run time: DIMM Movable")
        case.eq(third, [["Normal"] * 4], "ratio 0 written at run time: DIMM Normal")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "rust-mod", "debug"), compare=True)
def auto_movable_numa(case, variant):
    """auto-movable on two nodes (512 MiB each), ratio 100: NUMA-aware on and off.

    Node 1's boot memory alone limits its Movable memory when NUMA-aware (one 256 MiB
    DIMM); system-wide statistics allow about 1 GiB when not.
    """
    t = []
    layouts = {}
    for aware in ("Y", "N"):
        with VM(variant, mem=1 * GiB, numa=True, slots=4, maxmem=8 * GiB,
                append="memhp_default_state=online memory_hotplug.online_policy=auto-movable "
                       "memory_hotplug.auto_movable_ratio=100 "
                       f"memory_hotplug.auto_movable_numa_aware={aware}") as vm:
            load_policy(vm)
            layouts[aware] = plug_dimms(vm, 4, 256 * MiB, node=1, case=case)
            save_layout(vm, "auto_movable_numa", f"aware{aware}")
            t.append(f"numa_aware={aware}: " + " | ".join(runs(z) for z in layouts[aware]))
    case.check(layouts["Y"] != layouts["N"], "NUMA awareness changes the layout", t)
    return "\n".join(t) + "\n"


@test(variants=("c", "rust"), compare=True)
def policy_builtin_modinfo(case, variant):
    """The memory_hotplug.* entries of modules.builtin.modinfo (what `modinfo` shows for a
    built-in module): parameter descriptions and types, as C emits them. Sorted: the order
    of .modinfo entries within an object is the compiler's."""
    path = os.path.join(CACHE, f"build-{variant}", "modules.builtin.modinfo")
    with open(path, "rb") as f:
        entries = [e.decode() for e in f.read().split(b"\0") if e.startswith(b"memory_hotplug.")]
    # The C parameters are part of core mm (no author, description or file of a module).
    params = sorted(e for e in entries if e.split("=", 1)[0] in (
        "memory_hotplug.parm", "memory_hotplug.parmtype"))
    case.check(len(params) >= 4, "parameter descriptions present", entries)
    for p, t in (("auto_movable_ratio", "uint"), ("auto_movable_numa_aware", "bool")):
        case.check(f"memory_hotplug.parmtype={p}:{t}" in params, f"parmtype {p}:{t}", params)
    return "\n".join(params) + "\n"
