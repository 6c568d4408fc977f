# SPDX-License-Identifier: GPL-2.0
"""Checks under the debug variant (lockdep, KASAN, kmemleak, atomic-sleep checks).

Run with `make test-debug`. Every VM also fails its test when the kernel log
reports a WARN, BUG, lockdep or KASAN splat (vm.VM.__exit__).
"""

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import MiB, VM

D = "/sys/kernel/debug/memory_notifier_recorder"


@test(variants=("debug",))
def recorder_under_checkers(case, variant):
    """Recorder load, vetoed and successful online/offline, unload: no splat, no leak."""
    with VM(variant, mem=2048 * MiB) as vm:
        case.check("kmemleak" in sh(vm, "ls /sys/kernel/debug"), "kmemleak is available")
        base = blocks(vm)
        vm.plug_dimm("d1", 256 * MiB)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        for round_ in range(3):
            sh(vm, "modprobe memory_notifier_recorder")
            res = [
                sh(vm, f"echo 'default MEM_GOING_ONLINE -12' > {D}/inject; "
                       f"w $M/memory{new[0]}/state online_movable").strip(),
                sh(vm, f"echo clear > {D}/inject; w $M/memory{new[0]}/state online_movable; "
                       f"w $M/memory{new[1]}/state online_movable").strip(),
                sh(vm, f"echo 'high MEM_GOING_OFFLINE bad' > {D}/inject; "
                       f"w $M/memory{new[0]}/state offline").strip(),
                sh(vm, f"echo clear > {D}/inject; cat {D}/log > /dev/null; "
                       f"w $M/memory{new[0]}/state offline; w $M/memory{new[1]}/state offline"
                   ).strip(),
            ]
            case.eq(res, ["Cannot allocate memory", "OK\nOK", "Operation not permitted",
                          "OK\nOK"], f"round {round_}: online/offline results")
            # Unload while a reader holds the log open: closing it afterwards is safe.
            sh(vm, f"exec 7<{D}/log; rmmod memory_notifier_recorder; cat <&7 >/dev/null; "
                   "exec 7<&-")
        vm.unplug_dimm("d1")
        leaks = sh(vm, "echo scan > /sys/kernel/debug/kmemleak; sleep 5; "
                       "echo scan > /sys/kernel/debug/kmemleak; cat /sys/kernel/debug/kmemleak")
        case.check("unreferenced object" not in leaks, "kmemleak reports no leak", leaks[-3000:])
