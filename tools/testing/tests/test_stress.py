# SPDX-License-Identifier: GPL-2.0
"""Concurrent stress: everything a user and the host can do to memory hotplug, at once.

In the guest, loops run in parallel for STRESS_DURATION seconds (default: 120 on debug and the
kcsan variants, 30 on rust): online
and offline of a DIMM's blocks, readers of every memory sysfs file, writes of the
policy's parameters and of auto_online_blocks, and (where the policy is a module)
modprobe/rmmod of memory_hotplug with parameters. Meanwhile the host plugs and ejects
a second DIMM and grows and shrinks a virtio-mem device. Afterwards: no splat (and,
on debug, no kmemleak report), MemTotal back to its start, and the memory block
devices consistent with the bus. `make stress DURATION=600 VARIANTS=debug` runs it
longer.
"""

import os
import time

from guest import MODULAR_POLICY, blocks, sh, wait_blocks
from ktap import test
from vm import GiB, MiB, VM, VMError

# Seconds of stress: STRESS_DURATION, else 2 minutes on debug (the checkers are what
# finds bugs here) and 30 s on rust.
DURATIONS = {"debug": 120, "rust": 30, "c-kcsan": 120, "rust-kcsan": 120}


def _duration(variant):
    return int(os.environ.get("STRESS_DURATION", DURATIONS.get(variant, 30)))

# Each loop runs until $end and then writes "<name> <ok> <failed>" to /tmp/stress/<name>.
LOOPS = r"""
mkdir -p /tmp/stress; rm -f /tmp/stress/*
end=$(( $(cut -d. -f1 /proc/uptime) + %(duration)d ))
P=/sys/module/memory_hotplug/parameters
loop() {
	local name=$1 ok=0 bad=0; shift
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
		if eval "$@" >/dev/null 2>&1; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	done
	echo "$name $ok $bad" > /tmp/stress/$name
}
loop onoff 'for b in %(blocks)s; do echo online_movable > $M/memory$b/state; done;
	for b in %(blocks)s; do echo offline > $M/memory$b/state; done' &
loop read 'cat $M/memory*/state $M/memory*/valid_zones $M/memory*/phys_device \
	$M/memory*/removable $M/memory*/online $M/memory*/phys_index $M/block_size_bytes \
	$M/auto_online_blocks $P/* ; lsmem' &
loop params 'echo auto-movable > $P/online_policy; echo $((RANDOM %% 500)) > $P/auto_movable_ratio;
	echo N > $P/auto_movable_numa_aware; echo contig-zones > $P/online_policy;
	echo Y > $P/auto_movable_numa_aware' &
loop autoonline 'echo offline > $M/auto_online_blocks; sleep 0.3;
	echo online_movable > $M/auto_online_blocks; sleep 0.3' &
if [ %(modular)d = 1 ]; then
	loop module 'modprobe memory_hotplug online_policy=auto-movable \
		auto_movable_ratio=$((RANDOM %% 400)); sleep 0.2; rmmod memory_hotplug' &
fi
"""


def _settle(vm, base, timeout=300):
    """Waits until only the blocks in `base` are left."""
    deadline = time.time() + timeout
    while sorted(blocks(vm)) != sorted(base):
        if time.time() > deadline:
            raise VMError("hot-plugged blocks are still there")
        time.sleep(1)


@test(variants=("rust", "debug", "c-kcsan", "rust-kcsan"))
def stress(case, variant):
    """Parallel onlines/offlines, readers, parameter writes, module load/unload, DIMM
    plug/eject and virtio-mem resizes: no splat, memory and devices consistent after."""
    modular = variant in MODULAR_POLICY
    duration = _duration(variant)
    with VM(variant, mem=2 * GiB, slots=4, maxmem=8 * GiB, virtio_mem=1 * GiB,
            append="memhp_default_state=online_movable") as vm:
        if modular:
            sh(vm, "modprobe memory_hotplug")
        start_total = int(sh(vm, "memtotal"))
        base = blocks(vm)
        vm.plug_dimm("a", 256 * MiB)
        mine = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        sh(vm, LOOPS % {"duration": duration, "blocks": " ".join(map(str, mine)),
                        "modular": int(modular)})
        deadline = time.time() + duration
        host = {"dimm": 0, "dimm_failed": 0, "virtio_mem": 0, "virtio_mem_failed": 0}
        errors, leftover = [], []  # what failed on the host side; DIMMs not ejected in time
        n = 0
        while time.time() < deadline:
            n += 1
            try:
                vm.plug_dimm(f"b{n}", 256 * MiB)
                time.sleep(1)
            except VMError as e:
                errors.append(f"plug b{n}: {e}")
                host["dimm_failed"] += 1
                continue
            try:
                vm.unplug_dimm(f"b{n}", timeout=120)
                host["dimm"] += 1
            except VMError as e:
                errors.append(f"eject b{n}: {e}")
                leftover.append(f"b{n}")
                host["dimm_failed"] += 1
            try:
                vm.virtio_mem_resize(256 * MiB, timeout=120)
                vm.virtio_mem_resize(0, timeout=120)
                host["virtio_mem"] += 1
            except VMError as e:
                errors.append(f"virtio-mem: {e}")
                host["virtio_mem_failed"] += 1
        # The guest's loops end by themselves at the same time.
        done = ""
        for _ in range(120):
            done = sh(vm, "cat /tmp/stress/* 2>/dev/null || true")
            if len(done.splitlines()) == 4 + modular:
                break
            time.sleep(2)
        counts = {ln.split()[0]: tuple(map(int, ln.split()[1:])) for ln in done.splitlines()}
        case.eq(len(counts), 4 + modular, f"{4 + modular} guest loops finished: {counts}")
        case.check(all(ok > 0 for ok, _ in counts.values()),
                   f"every loop made progress in {duration} s")
        case.check(host["dimm"] > 0 and host["virtio_mem"] > 0, f"host operations: {host}",
                   "\n".join(errors))
        # Clean up: the policy loaded as at the start, the stressed blocks offline, all
        # hot-plugged memory gone.
        if modular:
            sh(vm, "modprobe memory_hotplug || true")
        vm.virtio_mem_resize(0, timeout=300)
        for b in mine:
            sh(vm, f"echo offline > $M/memory{b}/state 2>/dev/null || true")
        vm.unplug_dimm("a", timeout=300)
        # A DIMM whose eject did not finish in the loop is ejected again now that nothing
        # else runs: the guest must be able to give its memory back.
        for d in leftover:
            try:
                vm.unplug_dimm(d, timeout=300)
            except VMError as e:
                errors.append(f"eject {d} again: {e}")
        try:
            _settle(vm, base)
        except VMError as e:
            case.fail("all hot-plugged memory is gone after the stress",
                      "\n".join([str(e), "host errors:", *errors, "ACPI _OST events: " +
                                  str([ev for ev in vm.events if ev["event"] == "ACPI_DEVICE_OST"]),
                                  "blocks:", sh(vm, "blocks"), "kernel log (memory, ACPI):"] +
                                 [ln for ln in vm.console().splitlines()
                                  if any(k in ln.lower() for k in ("memory", "acpi", "offlin"))][-40:]))
            raise
        case.eq(int(sh(vm, "memtotal")), start_total, "MemTotal is back to its start")
        case.eq(blocks(vm), base, "the boot blocks are as they were")
        bus = sh(vm, "ls /sys/bus/memory/devices | sort")
        dirs = sh(vm, "cd $M && ls -d memory[0-9]* | sort")
        case.eq(bus, dirs, "the bus lists exactly the block devices")
        case.check(sh(vm, "lsmem >/dev/null && echo ok").strip() == "ok", "lsmem works")
