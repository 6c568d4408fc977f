# SPDX-License-Identifier: GPL-2.0
"""The upstream kselftest tools/testing/selftests/memory-hotplug/mem-on-off-test.sh."""

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import MiB, VM

SELFTEST = "/opt/selftests/memory-hotplug/mem-on-off-test.sh"
D = "/sys/kernel/debug/memory_notifier_recorder"


@test(variants=("c", "rust", "debug"))
def mem_on_off_test(case, variant):
    """mem-on-off-test.sh with memory-notifier-error-inject passes (exit 0, not skipped)."""
    with VM(variant) as vm:
        # Give the test blocks that offline reliably: a DIMM onlined to ZONE_MOVABLE.
        base = blocks(vm)
        vm.plug_dimm("d1", 512 * MiB)
        bl = wait_blocks(vm, len(base) + 4)
        for i in sorted(set(bl) - set(base)):
            sh(vm, f"w $M/memory{i}/state online_movable")
        case.check(sh(vm, "modinfo -F name memory-notifier-error-inject").strip()
                   == "memory_notifier_error_inject", "memory-notifier-error-inject is installed")
        # -r 10: offline 10% of the blocks, as the selftest's run_full_test does. Its
        # error-injection phase picks the blocks it offlines and fails at random, so a run
        # can inject nothing. The recorder proves the injection: a GOING_ONLINE/OFFLINE that
        # its INT_MAX notifier saw and its INT_MIN one did not was stopped by the injector
        # (priority 0) and followed by a CANCEL. The selftest runs again until both kinds
        # of veto were seen.
        sh(vm, "modprobe memory_notifier_recorder")
        seen = set()
        runs = 0
        while seen != {"ONLINE", "OFFLINE"} and runs < 6:
            runs += 1
            sh(vm, f"echo > {D}/log")
            r = vm.run(f"bash {SELFTEST} -r 10", timeout=900)
            tail = (r.out + r.err)[-4000:]
            case.check(r.rc != 4, f"run {runs}: the selftest is not skipped (exit 4)", tail)
            case.eq(r.rc, 0, f"run {runs}: mem-on-off-test.sh exits 0")
            case.check("Test with memory notifier error injection" in r.out,
                       f"run {runs}: the error-injection phase started", tail)
            log = sh(vm, f"cat {D}/log")
            for op in ("ONLINE", "OFFLINE"):
                going = [log.count(f" {n} MEM_GOING_{op} ") for n in ("high", "low")]
                if going[0] > going[1] and f" low MEM_CANCEL_{op} " in log:
                    seen.add(op)
        case.check("ONLINE" in seen, f"an injected online failure was observed ({runs} runs)")
        case.check("OFFLINE" in seen, f"an injected offline failure was observed ({runs} runs)")
        sh(vm, "rmmod memory_notifier_recorder")
        dmesg = sh(vm, "dmesg")
        for bad in ("WARNING:", "BUG:", "Oops", "Call Trace"):
            case.check(bad not in dmesg, f"no '{bad}' in the kernel log", dmesg[-3000:])
