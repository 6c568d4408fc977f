# SPDX-License-Identifier: GPL-2.0
"""The Rust driver's observability (beyond C): the memory_block trace events, the
failures log and the statistics in /sys/kernel/debug/memory_block/.

A notifier veto (the recorder's injection) and a real failure of core mm (offlining a
DIMM block onlined to the kernel zone and filled with slab, which cannot be migrated)
must each appear in `failures` and in the trace with the block, the errno and the
reason; `stats` must count exactly the operations done. The c variant has none of
this: the test runs on rust and debug only.
"""

import re

from guest import block_size, blocks, sh, wait_blocks
from ktap import test
from vm import VM

D = "/sys/kernel/debug/memory_block"
T = "/sys/kernel/tracing"


def _stats(vm):
    """{(zone, op): (ok, failed, errnos)} from `stats`."""
    out = {}
    for line in sh(vm, f"cat {D}/stats").splitlines()[1:]:
        f = line.split()
        if f[0] == "failures_logged":
            continue
        out[(f[0], f[1])] = (int(f[2]), int(f[3]), f[6])
    return out


def _durations(vm):
    """[(total_ns, max_ns)] of every line of `stats`."""
    return [(int(f[4]), int(f[5])) for f in
            (line.split() for line in sh(vm, f"cat {D}/stats").splitlines()[1:])
            if f[0] != "failures_logged"]


@test(variants=("rust", "debug"))
def observe_failures_trace(case, variant):
    """Veto and unmovable-page failures in `failures`, the trace and `stats`."""
    with VM(variant) as vm:
        sh(vm, f"mountpoint -q {T} || mount -t tracefs nodev {T}; "
               f"echo 1 > {T}/events/memory_block/enable; echo > {T}/trace; "
               "modprobe memory_notifier_recorder")
        case.eq(sh(vm, f"cat {D}/failures"), "", "no failure logged at boot")
        base = blocks(vm)
        vm.plug_dimm("d1", block_size(vm))
        blk = max(set(wait_blocks(vm, len(base) + 1)) - set(base))
        # 1. A veto of MEM_GOING_ONLINE by the recorder's default notifier.
        sh(vm, "echo 'default MEM_GOING_ONLINE -12' > "
               "/sys/kernel/debug/memory_notifier_recorder/inject")
        case.eq(sh(vm, f"w $M/memory{blk}/state online_movable").strip(),
                "Cannot allocate memory", "vetoed online fails with ENOMEM")
        sh(vm, "echo clear > /sys/kernel/debug/memory_notifier_recorder/inject")
        case.eq(sh(vm, f"w $M/memory{blk}/state online_movable").strip(), "OK",
                "online without the veto")
        # 2. A veto of MEM_GOING_OFFLINE (sent once the Movable range is isolated): core mm's
        # reason and the vetoing callback both.
        sh(vm, "echo 'default MEM_GOING_OFFLINE -16' > "
               "/sys/kernel/debug/memory_notifier_recorder/inject")
        r = sh(vm, f"w $M/memory{blk}/state offline").strip()
        sh(vm, "echo clear > /sys/kernel/debug/memory_notifier_recorder/inject")
        case.eq(r, "Device or resource busy", "vetoed offline fails with EBUSY")
        case.eq(sh(vm, f"w $M/memory{blk}/state offline").strip(), "OK", "offline")
        # 3. Online the block into the kernel zone and fill kernel memory with dentries and
        # inodes (slab: unmovable); offlining it then fails to isolate the range.
        case.eq(sh(vm, f"w $M/memory{blk}/state online_kernel").strip(), "OK", "online_kernel")
        sh(vm, "mkdir -p /tmp/x && cd /tmp/x && for ((i = 0; i < 20000; i++)); do "
               ": > f$i; done", timeout=300)
        r = sh(vm, f"w $M/memory{blk}/state offline").strip()
        case.eq(r, "Device or resource busy", "offline of the filled kernel block: EBUSY")
        failures = sh(vm, f"cat {D}/failures").splitlines()
        case.eq(len(failures), 3, "the three failures logged")
        case.check(re.fullmatch(
            rf"memory{blk} online ENOMEM: MEM_GOING_ONLINE vetoed by "
            r".*notifier_call.* \[memory_notifier_recorder\]", failures[0] if failures else ""),
            "the veto names the event and the recorder's callback", failures)
        if len(failures) == 3:
            case.check(re.fullmatch(
                rf"memory{blk} offline EBUSY: notifier failure \(MEM_GOING_OFFLINE vetoed by "
                r".*notifier_call.* \[memory_notifier_recorder\]\)", failures[1]),
                "the vetoed offline names core mm's reason and the callback", failures)
            case.eq(failures[2], f"memory{blk} offline EBUSY: failure to isolate range",
                    "the unmovable block's failure names core mm's reason")
        trace = sh(vm, f"grep -v '^#' {T}/trace")
        case.check(re.search(rf"memory_notify: MEM_GOING_ONLINE start_pfn=\S+ nr_pages=\S+ "
                             r"ret=-12 stopped_by=\S*notifier_call", trace),
                   "the trace names the vetoing callback", trace[-2000:])
        case.check(re.search(rf"memory_block_online: memory{blk} .* online_type=online_movable "
                             r"zone=Movable ret=-12 duration_ns=\d+", trace),
                   "the trace has the failed online", trace[-2000:])
        case.check(re.search(rf"memory_block_offline: memory{blk} .* ret=-16 "
                             r'reason="failure to isolate range"', trace),
                   "the trace has the failed offline with its reason", trace[-2000:])
        # 4. The counts: Movable online 1 ok + 1 ENOMEM, offline 1 ok + 1 EBUSY; Normal online
        # 1 ok, offline 1 EBUSY; every operation took time, the longest at most all of them.
        st = _stats(vm)
        case.eq(st.get(("Movable", "online")), (1, 1, "ENOMEM:1"), "Movable onlines")
        case.eq(st.get(("Movable", "offline")), (1, 1, "EBUSY:1"), "Movable offlines")
        case.eq(st.get(("Normal", "online")), (1, 0, "-"), "Normal onlines")
        case.eq(st.get(("Normal", "offline")), (0, 1, "EBUSY:1"), "Normal offlines")
        durations = _durations(vm)
        case.check(durations and all(0 < mx <= total for total, mx in durations),
                   "durations: 0 < max_ns <= total_ns", durations)
        # Kept in the transcript for the admin guide: the files and the trace as they were.
        return (f"# cat {D}/failures\n" + "\n".join(failures) + "\n"
                f"# cat {D}/stats\n" + sh(vm, f"cat {D}/stats") +
                f"# cat {T}/trace\n" + trace)
