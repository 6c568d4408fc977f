# SPDX-License-Identifier: GPL-2.0
"""The memory-hotplug kselftests (tools/testing/selftests/memory-hotplug), run in the guest by
the kselftest runner as kselftest_install.sh installs them (/opt/kselftest/run_kselftest.sh).

The host only sets the machine up (two DIMMs whose blocks stay offline, the policy module loaded
on rust-mod); the tests need nothing from it. A test skipped where it should run, or a result
inside a test skipped, fails: only the tests of what a variant does not have are skipped, and
the sysfs and parameter tests' results are compared between the variants.
"""

import ksft
from guest import blocks, sh, wait_blocks
from ktap import test
from vm import MiB, VM


@test(variants=("c", "rust", "rust-mod"), compare=True)
def kselftests(case, variant):
    """run_kselftest.sh runs the memory-hotplug kselftests: all pass, skips only where due."""
    with VM(variant) as vm:
        base = blocks(vm)
        # Two DIMMs left offline: the onlines of the sysfs test take the highest blocks (and
        # may leave one online in a kernel zone), the policy tests ask about the lowest.
        vm.plug_dimm("d1", 512 * MiB)
        vm.plug_dimm("d2", 512 * MiB)
        wait_blocks(vm, len(base) + 8)
        if variant == "rust-mod":
            sh(vm, "modprobe memory_hotplug")
        listed = sh(vm, "cat /opt/kselftest/kselftest-list.txt")
        for t in ksft.TESTS:
            case.check(f"memory-hotplug:{t}" in listed, f"{t} is installed for the runner")
        # The runner appends each test's output to /dev/stdout: what that is must be opened
        # for appending too, or the runner's own lines overwrite it.
        r = vm.run(": >/tmp/ksft.out; cd /opt/kselftest && ./run_kselftest.sh "
                   + " ".join(f"-t memory-hotplug:{t}" for t in ksft.TESTS)
                   + " >>/tmp/ksft.out 2>&1; rc=$?; cat /tmp/ksft.out; exit $rc", timeout=900)
        dmesg = sh(vm, "dmesg")
    return ksft.check(case, variant, r.rc, r.out + r.err, dmesg)
