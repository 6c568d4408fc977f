# SPDX-License-Identifier: GPL-2.0
"""The memory-hotplug kselftests as the kselftest runner reports them: which run where, the
parser of run_kselftest.sh's output and the checks of its results (test_kselftest.py runs
them in the project's guests, test_vng.py under virtme-ng)."""

import re

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


def check(case, variant, rc, out, dmesg):
    """Checks run_kselftest.sh's exit status `rc` and output `out` on `variant`, and the
    kernel log; returns the transcript of the compared tests' results."""
    case.eq(rc, 0, "run_kselftest.sh exits 0")
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
