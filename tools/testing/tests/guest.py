# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the tests: guest shell functions and memory block views."""

import os
import re
import sys
import time

from ktap import save
from vm import VMError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "layout"))
import memory_layout  # noqa: E402

# Bash functions available to every guest script run through sh()/run().
PRELUDE = r"""
M=/sys/devices/system/memory
# w FILE VALUE: write VALUE (no newline added) with a single write(2); print OK or the
# error text (strerror of the errno).
w() {
	local e
	if e=$(printf '%s' "$2" | dd of="$1" bs=1M iflag=fullblock conv=notrunc 2>&1 >/dev/null); then
		echo OK
	else
		e=$(echo "$e" | grep -v records | head -n 1)
		echo "${e##*: }"
	fi
}
# blocks: "<id> <state> <valid_zones>" for every memory block, by id.
blocks() {
	local d
	for d in $M/memory[0-9]*; do
		echo "${d##*memory} $(cat $d/state) $(cat $d/valid_zones 2>/dev/null)"
	done | sort -n
}
memtotal() { awk '/^MemTotal:/ {print $2}' /proc/meminfo; }
"""

# A sparse boot layout (x86-64, 4 GiB guest): the e820 map replaced by RAM ranges with holes
# between them (blocks 0-3, 8-9, a partly present 15, 32-39 and 44 of 128 MiB), QEMU's ACPI
# tables kept reserved.
SPARSE_LAYOUT = ("memmap=exactmap memmap=0x9fc00@0 memmap=0x1ff00000@0x100000 "
                 "memmap=0x10000000@0x40000000 memmap=0x7000000@0x78000000 "
                 "memmap=0x20000$0x7ffe0000 memmap=0x40000000@0x100000000 "
                 "memmap=0x8000000@0x160000000")


def sh(vm, script, timeout=120):
    """Run a script with PRELUDE that must succeed; return stdout."""
    return vm.sh(PRELUDE + script, timeout=timeout)


def blocks(vm):
    """{id: (state, valid_zones)} of all memory blocks."""
    out = {}
    for line in sh(vm, "blocks").splitlines():
        parts = line.split(" ", 2)
        out[int(parts[0])] = (parts[1], parts[2] if len(parts) > 2 else "")
    return out


def wait_blocks(vm, count, timeout=60):
    """Wait until the guest has `count` memory blocks; return blocks()."""
    deadline = time.time() + timeout
    while True:
        b = blocks(vm)
        if len(b) == count:
            return b
        if time.time() > deadline:
            raise VMError(f"expected {count} memory blocks, have {len(b)}")
        time.sleep(0.5)


def uevents(vm, want=0, timeout=10):
    """Memory uevents since the last call ("<ACTION> memoryN" lines); waits for `want`."""
    deadline = time.time() + timeout
    while int(sh(vm, "cat /run/uevents 2>/dev/null | wc -l")) < want and time.time() < deadline:
        time.sleep(0.2)
    # The logger opens the file by name for every event: after the rename, new events go to
    # a new file and none is lost.
    return sh(vm, "mv /run/uevents /run/uevents.read 2>/dev/null; "
                  "cat /run/uevents.read 2>/dev/null; rm -f /run/uevents.read").splitlines()


def block_size(vm):
    return int(sh(vm, "cat $M/block_size_bytes"), 16)


def memtotal(vm):
    return int(sh(vm, "memtotal"))


def zones_of(vm, ids):
    bl = blocks(vm)
    return [bl[i][1] if bl[i][0] == "online" else bl[i][0] for i in ids]


def runs(zones):
    """'Movable x8, Normal x8' for a list of zones."""
    out = []
    for z in zones:
        if out and out[-1][0] == z:
            out[-1][1] += 1
        else:
            out.append([z, 1])
    return ", ".join(f"{z} x{n}" for z, n in out)


def plug_dimms(vm, count, size, node=None, case=None):
    """Plug `count` DIMMs (on `node`); return the zone of each block of each DIMM.

    With `case`, each DIMM is plugged with auto-online off, the online policy's explanation
    of its offline blocks is checked against their valid_zones (check_explained), and its
    blocks are onlined with `online` in address order, as auto-online does; the same on
    every variant, so that layouts still compare."""
    base = blocks(vm)
    have = len(base)
    layout = []
    bsize = block_size(vm)
    for _ in range(count):
        # DIMM ids must be unique for the VM's lifetime.
        vm.dimm_serial = getattr(vm, "dimm_serial", 0) + 1
        if case:
            auto = sh(vm, "cat $M/auto_online_blocks").strip()
            sh(vm, "echo offline > $M/auto_online_blocks")
        vm.plug_dimm(f"pd{vm.dimm_serial}", size, node=node)
        bl = wait_blocks(vm, have + size // bsize, timeout=120)
        new = sorted(set(bl) - set(base))[-(size // bsize):]
        have = len(bl)
        if case:
            uevents(vm, len(new))
            check_explained(case, vm, f"DIMM pd{vm.dimm_serial}")
            r = sh(vm, "".join(f"w $M/memory{i}/state online; " for i in new) +
                   f"echo {auto} > $M/auto_online_blocks")
            case.eq(r.split(), ["OK"] * len(new), f"DIMM pd{vm.dimm_serial}: blocks online")
            uevents(vm, len(new))
        else:
            uevents(vm, 2 * len(new))
        layout.append(zones_of(vm, new))
    return layout


# Variants with the Rust driver's debugfs files (/sys/kernel/debug/memory_block/).
RUST_DRIVER = ("rust", "rust-mod", "debug")
POLICY_FILE = "/sys/kernel/debug/memory_block/policy"


def check_explained(case, vm, label):
    """On the Rust driver, the online policy's explanation of each offline block
    (debugfs `policy`) must name the zone valid_zones shows first; there must be offline
    blocks to explain. The explanation is kept in vm.explained."""
    if vm.variant not in RUST_DRIVER:
        return
    out = sh(vm, f"cat {POLICY_FILE}; echo ---; blocks")
    policy, _, listing = out.partition("---\n")
    explained = dict((int(m.group(1)), m.group(2)) for m in
                     re.finditer(r"^memory(\d+)(?: \(group \d+\))?: (\w+) \(", policy, re.M))
    offline = {}
    for line in listing.splitlines():
        f = line.split()
        if len(f) > 2 and f[1] == "offline":
            offline[int(f[0])] = f[2]
    case.check(offline, f"{label}: there are offline blocks to explain", listing)
    case.eq({i: explained.get(i) for i in offline}, offline,
            f"{label}: the policy's explanation names valid_zones' first zone")
    vm.explained = getattr(vm, "explained", []) + [f"# {label}\n{policy}"]


def save_layout(vm, name, label):
    """Draw the guest's layout (tools/layout/memory_layout.py) into the transcripts, as
    NAME.VARIANT.LABEL.layout.txt and .svg, next to the policy's explanations checked so far
    (NAME.VARIANT.LABEL.policy.txt); return the text picture."""
    dump = sh(vm, memory_layout.COLLECTOR)
    size, bl, _ = memory_layout.parse(dump)
    picture = memory_layout.text(size, bl)
    save(name, vm.variant, picture, f"{label}.layout.txt")
    save(name, vm.variant, memory_layout.svg(size, bl, f"{name} {label} ({vm.variant})"),
         f"{label}.layout.svg")
    if getattr(vm, "explained", None):
        save(name, vm.variant, "\n".join(vm.explained), f"{label}.policy.txt")
    return picture


# Variants whose memory_hotplug policy is a loadable module (debug is rust-mod + checkers).
MODULAR_POLICY = ("rust-mod", "debug")


def load_policy(vm):
    """Where the policy is a module, load it as a user would: modprobe takes its parameters
    from the memory_hotplug.* words of /proc/cmdline. Built in (rust) or in core mm (c) the
    policy is there from boot."""
    if vm.variant in MODULAR_POLICY:
        sh(vm, "modprobe memory_hotplug")


def grow_virtio_mem(vm, size, dev=0, timeout=300):
    """Grow virtio-mem device `dev` from 0 to `size`; wait until all its new blocks are
    added and online (the driver onlines a block after adding it). Return (the new
    block ids, blocks())."""
    base = blocks(vm)
    vm.virtio_mem_resize(size, timeout=timeout, dev=dev)
    bl = wait_blocks(vm, len(base) + size // block_size(vm), timeout=timeout)
    new = sorted(set(bl) - set(base))
    deadline = time.time() + timeout
    while any(bl[i][0] != "online" for i in new) and time.time() < deadline:
        time.sleep(0.5)
        bl = blocks(vm)
    return new, bl
