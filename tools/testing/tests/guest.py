# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the tests: guest shell functions and memory block views."""

import time

from vm import VMError

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


def plug_dimms(vm, count, size, node=None):
    """Plug `count` DIMMs (on `node`); return the zone of each block of each DIMM."""
    base = blocks(vm)
    have = len(base)
    layout = []
    bsize = block_size(vm)
    for _ in range(count):
        # DIMM ids must be unique for the VM's lifetime.
        vm.dimm_serial = getattr(vm, "dimm_serial", 0) + 1
        vm.plug_dimm(f"pd{vm.dimm_serial}", size, node=node)
        bl = wait_blocks(vm, have + size // bsize, timeout=120)
        new = sorted(set(bl) - set(base))[-(size // bsize):]
        have = len(bl)
        uevents(vm, 2 * len(new))
        layout.append(zones_of(vm, new))
    return layout


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
