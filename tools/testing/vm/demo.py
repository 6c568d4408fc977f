#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The main job's demonstration: boot a variant, hot-plug a DIMM, show lsmem.

    demo.py [VARIANT]     (default: rust)
"""

import sys

from vm import MiB, VM


def show(vm, title, cmd):
    print(f"\n### {title}\n$ {cmd}")
    r = vm.run(cmd)
    sys.stdout.write(r.out + r.err)
    sys.stdout.flush()
    return r


def main():
    variant = sys.argv[1] if len(sys.argv) > 1 else "rust"
    print(f"Booting the {variant} kernel under QEMU (TCG) with 1 GiB and 4 DIMM slots...")
    with VM(variant) as vm:
        show(vm, "Kernel", "uname -r; cat /proc/cmdline")
        show(vm, "Boot memory", "lsmem; grep MemTotal /proc/meminfo")
        print("\n### QMP: object-add memory-backend-ram 512M + device_add pc-dimm d1")
        vm.plug_dimm("d1", 512 * MiB)
        vm.run("for i in $(seq 100); do [ -e /sys/devices/system/memory/memory35 ] && break; "
               "sleep 0.2; done")
        show(vm, "After the DIMM plug (auto_online_blocks=offline)",
             "cat /sys/devices/system/memory/auto_online_blocks; lsmem -a -o RANGE,SIZE,STATE,BLOCK,ZONES")
        show(vm, "Online the DIMM to ZONE_MOVABLE with chmem",
             "chmem -e -z Movable 0x100000000-0x11fffffff && lsmem; grep MemTotal /proc/meminfo")
        show(vm, "Offline it again", "chmem -d 0x100000000-0x11fffffff && lsmem")
        print("\n### QMP: device_del d1 (ACPI eject)")
        vm.unplug_dimm("d1")
        show(vm, "After the unplug", "lsmem; grep MemTotal /proc/meminfo")
    print("\ndemo: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
