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
