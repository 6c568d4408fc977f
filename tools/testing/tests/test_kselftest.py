# SPDX-License-Identifier: GPL-2.0
"""The memory-hotplug kselftests (tools/testing/selftests/memory-hotplug), run in the guest by
the kselftest runner as kselftest_install.sh installs them (/opt/kselftest/run_kselftest.sh).

The host only sets the machine up (two DIMMs whose blocks stay offline, the policy module loaded
on rust-mod); the tests need nothing from it. A test skipped where it should run, or a result
inside a test skipped, fails: only the tests of what a variant does not have are skipped, and
the sysfs and parameter tests' results are compared between the variants.
"""

import re

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import MiB, VM

TESTS = ("memory_block_sysfs.sh", "online_policy_params.sh", "online_policy_module.sh",
         "memory_block_debugfs.sh")
# The tests each variant skips as a whole, and why.
SKIPPED = {
    "c": {"online_policy_module.sh": "built in", "memory_block_debugfs.sh": "C memory block"},
    "rust": {"online_policy_module.sh": "built in"},
    "rust-mod": {},
}
COMPARED = ("memory_block_sysfs.sh", "online_policy_params.sh")


def parse(out):
    """Returns {test: (top-level line, [inner result lines])} of run_kselftest.sh's output, and
    {test: its `1..0 # SKIP reason` line} for the tests skipped as a whole."""
    tests, inner, current, skip_reasons = {}, {}, None, {}
    for line in out.splitlines():
        m = re.match(r"^# selftests: memory-hotplug: (\S+)$", line)
        if m:
            current = m.group(1)
            inner[current] = []
            continue
        if current and line.startswith("# 1..0 # SKIP"):
            skip_reasons[current] = line
            continue
        m = re.match(r"^(not ok|ok) \d+ selftests: memory-hotplug: (\S+)(.*)$", line)
        if m:
            tests[m.group(2)] = line
            current = None
            continue
        if current and re.match(r"^# (not ok|ok) \d+ ", line):
            inner[current].append(line[2:])
    return {t: (tests.get(t), inner.get(t, [])) for t in set(tests) | set(inner)}, skip_reasons


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
        for t in TESTS:
            case.check(f"memory-hotplug:{t}" in listed, f"{t} is installed for the runner")
        # The runner appends each test's output to /dev/stdout: what that is must be opened
        # for appending too, or the runner's own lines overwrite it.
        r = vm.run(": >/tmp/ksft.out; cd /opt/kselftest && ./run_kselftest.sh "
                   + " ".join(f"-t memory-hotplug:{t}" for t in TESTS)
                   + " >>/tmp/ksft.out 2>&1; rc=$?; cat /tmp/ksft.out; exit $rc", timeout=900)
        dmesg = sh(vm, "dmesg")
    out = r.out + r.err
    case.eq(r.rc, 0, "run_kselftest.sh exits 0")
    results, skip_reasons = parse(out)
    transcript = []
    for t in TESTS:
        top, inner = results.get(t, (None, []))
        if not case.check(top is not None, f"{t} ran", out[-3000:]):
            continue
        skipped = top.rstrip().endswith("# SKIP")
        why = SKIPPED[variant].get(t)
        if why:
            case.check(top.startswith("ok ") and skipped, f"{t} is skipped ({why})", top)
            reason = skip_reasons.get(t, "")
            case.check(why in reason, f"{t}: the skip says why", reason or out[-3000:])
            continue
        passed = [x for x in inner if x.startswith("ok ") and "# SKIP" not in x]
        bad = [x for x in inner if not x.startswith("ok ") or "# SKIP" in x]
        case.check(top.startswith("ok ") and not skipped and inner and not bad,
                   f"{t}: {len(passed)} passed, {len(bad)} failed or skipped", "\n".join(bad)
                   or out[-3000:])
        if t in COMPARED:
            transcript += [f"{t}: {x}" for x in inner]
    for bad in ("WARNING:", "BUG:", "Oops", "Call Trace"):
        case.check(bad not in dmesg, f"no '{bad}' in the kernel log", dmesg[-3000:])
    return "\n".join(transcript) + "\n"
