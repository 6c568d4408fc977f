# SPDX-License-Identifier: GPL-2.0
"""Memory notifier events on every path that onlines or offlines memory, c against rust.

test_notifier.py drives sysfs writes; here the memory comes and goes the other
ways: auto-online when a DIMM is plugged, ACPI eject of online blocks, probe,
virtio-mem growing and shrinking, each also with a veto, a veto with
memmap_on_memory, and NOTIFY_BAD at MEM_ONLINE (ignored, as in C). The
recorder's full log of each step is compared between the variants.
"""

import time

from guest import blocks, grow_virtio_mem, sh, wait_blocks
from ktap import test
from vm import GiB, MiB, VM, VMError

D = "/sys/kernel/debug/memory_notifier_recorder"


def _step(vm, t, name, inject=None):
    """Starts a step: clears the log, sets the injection."""
    sh(vm, f"echo > {D}/log; echo clear > {D}/inject" +
       (f"; echo '{inject}' > {D}/inject" if inject else ""))
    t.append(f"== {name}" + (f" ({inject})" if inject else ""))


def _end(vm, t):
    """Ends a step: the log and the blocks' states go to the transcript; returns the log."""
    log = sh(vm, f"echo clear > {D}/inject; cat {D}/log")
    t.append(log.rstrip())
    t.append("blocks: " + " ".join(f"{i}:{s}" for i, (s, _) in sorted(blocks(vm).items())))
    return log


def _events(log):
    return [line.split()[1:3] for line in log.splitlines()]


def _wait_log(vm, text, timeout=120):
    deadline = time.time() + timeout
    while text not in sh(vm, f"cat {D}/log"):
        if time.time() > deadline:
            raise VMError(f"no '{text}' in the recorder's log")
        time.sleep(0.5)


@test(variants=("c", "rust", "c-kcsan", "rust-kcsan"), compare=True)
def notifier_paths_acpi(case, variant):
    """Auto-online at plug, eject, their vetoes, probe, NOTIFY_BAD at MEM_ONLINE."""
    t = []
    with VM(variant, append="memhp_default_state=online_movable") as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        base = blocks(vm)

        _step(vm, t, "plug with auto-online")
        vm.plug_dimm("d1", 256 * MiB)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        _wait_log(vm, f"low MEM_ONLINE start_pfn={new[1] * 128 * MiB // 4096:#x}")
        log = _end(vm, t)
        case.eq([e for e in _events(log) if e[0] == "low"],
                [["low", "MEM_PREPARE_ONLINE"], ["low", "MEM_GOING_ONLINE"],
                 ["low", "MEM_ONLINE"]] * 2, "plug: both blocks onlined, in order")

        _step(vm, t, "eject of online blocks")
        vm.unplug_dimm("d1")
        wait_blocks(vm, len(base))
        log = _end(vm, t)
        case.eq([e for e in _events(log) if e[0] == "low"],
                [["low", "MEM_GOING_OFFLINE"], ["low", "MEM_OFFLINE"],
                 ["low", "MEM_FINISH_OFFLINE"]] * 2, "eject: both blocks offlined")

        _step(vm, t, "plug with a veto of auto-online", "default MEM_GOING_ONLINE -16")
        vm.plug_dimm("d2", 256 * MiB)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        # Core mm's walk over the new blocks stops at the first failed online: only the
        # first block sees events.
        _wait_log(vm, f"low MEM_FINISH_OFFLINE start_pfn={new[0] * 128 * MiB // 4096:#x}")
        time.sleep(2)
        log = _end(vm, t)
        case.check(f"start_pfn={new[1] * 128 * MiB // 4096:#x}" not in log,
                   "vetoed auto-online: the walk stops at the first block", log)
        bl = blocks(vm)
        case.eq([bl[i][0] for i in new], ["offline"] * 2,
                "vetoed auto-online: the blocks are added, offline")

        for i in new:
            sh(vm, f"w $M/memory{i}/state online_movable")
        _step(vm, t, "eject with a veto of the offline", "default MEM_GOING_OFFLINE -16")
        vm.qmp("device_del", id="d2")
        _wait_log(vm, "low MEM_CANCEL_OFFLINE")
        time.sleep(2)
        _end(vm, t)
        bl = blocks(vm)
        case.eq([bl[i][0] for i in new], ["online"] * 2,
                "vetoed eject: the blocks stay, online")

        _step(vm, t, "eject once the veto is gone")
        vm.unplug_dimm("d2")
        wait_blocks(vm, len(base))
        _end(vm, t)

        _step(vm, t, "probe (auto-online off): no event")
        free = (max(new) + 8) * 128 * MiB
        res = sh(vm, f"echo offline > $M/auto_online_blocks; w $M/probe {free:#x}").strip()
        case.eq(res, "OK", "probe adds a block")
        log = _end(vm, t)
        case.eq(log.strip(), "", "adding memory sends no notifier event")

        _step(vm, t, "NOTIFY_BAD at MEM_ONLINE", "default MEM_ONLINE bad")
        vm.plug_dimm("d3", 128 * MiB)
        blk = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base) - {free // (128 * MiB)})[0]
        res = sh(vm, f"w $M/memory{blk}/state online_movable").strip()
        log = _end(vm, t)
        case.eq(res, "OK", "the online succeeds: MEM_ONLINE's answer is ignored")
        case.check(" default MEM_ONLINE " in log and " low MEM_ONLINE " not in log,
                   "NOTIFY_BAD stops the MEM_ONLINE chain", log)
        sh(vm, f"w $M/memory{blk}/state offline")
        vm.unplug_dimm("d3")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "c-kcsan", "rust-kcsan"), compare=True)
def notifier_paths_memmap(case, variant):
    """memmap_on_memory blocks: a vetoed online, an online and an offline."""
    t = []
    with VM(variant, append="memhp_default_state=offline "
                            "memory_hotplug.memmap_on_memory=force") as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        base = blocks(vm)
        vm.plug_dimm("d1", 128 * MiB)
        blk = sorted(set(wait_blocks(vm, len(base) + 1)) - set(base))[0]
        st = f"$M/memory{blk}/state"
        _step(vm, t, "vetoed online", "default MEM_GOING_ONLINE -12")
        case.eq(sh(vm, f"w {st} online_movable").strip(), "Cannot allocate memory",
                "the veto fails the online")
        log = _end(vm, t)
        prep = [ln for ln in log.splitlines() if " MEM_PREPARE_ONLINE " in ln]
        case.check(prep and "altmap_nr_pages=0x0" not in prep[0],
                   "MEM_PREPARE_ONLINE carries the block's vmemmap pages", log)
        case.check(" low MEM_FINISH_OFFLINE " in log, "MEM_FINISH_OFFLINE undoes it", log)
        for op in ("online_movable", "offline"):
            _step(vm, t, op)
            case.eq(sh(vm, f"w {st} {op}").strip(), "OK", f"{op} succeeds")
            _end(vm, t)
        vm.unplug_dimm("d1")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "c-kcsan", "rust-kcsan"), compare=True)
def notifier_paths_virtio_mem(case, variant):
    """virtio-mem grows and shrinks; a veto holds a shrink back until it is gone."""
    t = []
    with VM(variant, virtio_mem=1 * GiB, append="memhp_default_state=online_movable") as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        base = blocks(vm)
        _step(vm, t, "grow by 256 MiB")
        new, _ = grow_virtio_mem(vm, 256 * MiB)
        _end(vm, t)
        _step(vm, t, "shrink to 0")
        vm.virtio_mem_resize(0)
        wait_blocks(vm, len(base))
        log = _end(vm, t)
        case.check(log.count(" low MEM_OFFLINE ") == 2, "shrink: both blocks offlined", log)

        new, _ = grow_virtio_mem(vm, 256 * MiB)
        _step(vm, t, "shrink with a veto of the offline", "default MEM_GOING_OFFLINE -16")
        path = "/machine/peripheral/vm0"
        vm.qmp("qom-set", path=path, property="requested-size", value=0)
        _wait_log(vm, "low MEM_CANCEL_OFFLINE")
        time.sleep(2)
        # virtio-mem retries on its own timer: only the first attempt is compared.
        log = sh(vm, f"cat {D}/log")
        first = log.split(" low MEM_CANCEL_OFFLINE ")[0].rstrip().rsplit("\n", 1)[0]
        t.append(first)
        bl = blocks(vm)
        case.check(any(bl.get(i, ("gone",))[0] == "online" for i in new),
                   "vetoed shrink: memory stays online", bl)
        sh(vm, f"echo clear > {D}/inject")
        # A new request makes virtio-mem retry now rather than on its timer.
        vm.virtio_mem_resize(0, timeout=300)
        wait_blocks(vm, len(base))
        t.append("after the veto is gone: " + " ".join(
            f"{i}:{s}" for i, (s, _) in sorted(blocks(vm).items())))
    return "\n".join(t) + "\n"
