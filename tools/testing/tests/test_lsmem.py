# SPDX-License-Identifier: GPL-2.0
"""util-linux lsmem and chmem, the main consumers of the memory sysfs ABI."""

from guest import blocks, sh, uevents, wait_blocks
from ktap import test
from vm import MiB, VM

LSMEM = [
    "lsmem",
    "lsmem -a",
    "lsmem -b",
    "lsmem -r -n",
    "lsmem -J",
    "lsmem -a -J -o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES",
    "lsmem -a -P -o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES",
    "lsmem --split=STATE,ZONES -o RANGE,SIZE,STATE,ZONES",
    "lsmem -s",
]


def _run(vm, cmd):
    r = vm.run(cmd)
    return f"$ {cmd}  [exit {r.rc}]\n{r.out}{r.err}"


@test(variants=("c", "rust", "debug"), compare=True)
def lsmem_chmem(case, variant):
    """lsmem in several output modes and chmem -e/-d with their exit codes."""
    t = []
    with VM(variant, numa=True) as vm:
        base = blocks(vm)
        vm.plug_dimm("d1", 256 * MiB, node=0)
        vm.plug_dimm("d2", 256 * MiB, node=1)
        bl = wait_blocks(vm, len(base) + 4)
        new = sorted(set(bl) - set(base))
        uevents(vm, 4)

        for cmd in LSMEM:
            t.append(_run(vm, cmd))
        case.check('"state": "offline"' in sh(vm, "lsmem -a -J"), "lsmem -J shows offline blocks")

        # chmem: online by size into Movable, by block range, offline, and failures.
        steps = [
            (f"chmem -v -e -z Movable -b {new[0]}-{new[1]}", 0),
            (f"chmem -v -e -b {new[2]}", 0),
            (f"chmem -v -e -b {new[2]}", None),  # already online
            (f"chmem -v -d -b {new[0]}-{new[2]}", 0),
            ("chmem -v -e 256M", 0),
            ("chmem -v -d -b 0", 1),              # boot memory with unmovable pages
            ("chmem -v -e -b 999", 1),            # no such block
            (f"chmem -v -d -b {new[0]}-{new[3]}", None),
        ]
        for cmd, want in steps:
            r = vm.run(cmd)
            t.append(f"$ {cmd}  [exit {r.rc}]\n{r.out}{r.err}")
            if want is not None:
                case.eq(r.rc, want, f"{cmd}: exit {want}")
            t.append(_run(vm, "lsmem -a -o RANGE,STATE,BLOCK,NODE,ZONES"))
        case.eq(sorted(blocks(vm)[i][0] for i in new), ["offline"] * 4,
                "the DIMM blocks end offline")
    return "\n".join(t) + "\n"
