# SPDX-License-Identifier: GPL-2.0
"""KUnit at boot: the kernel crate's doctests (CONFIG_RUST_KERNEL_DOCTESTS) and the memory_*
suites written in Rust (kernel::kunit_test_suite!), read from the guest's kernel log.

Every variant has CONFIG_KUNIT=y: the suites run before init, and their KTAP report is in the
log. Any failed or missing suite, or a failed case, fails the test.
"""

import re

from guest import sh
from ktap import test
from vm import VM

# Suites every variant runs, and those of the Rust driver only.
SUITES = ("rust_doctests_kernel", "memory_auto_movable")
RUST_SUITES = ("memory_block",)
# Doctests of the project's abstractions (file name prefixes of the generated doctest names).
PROJECT_DOCTESTS = ("rust_doctest_kernel_memory_", "rust_doctest_kernel_sysfs_rs",
                    "rust_doctest_kernel_bug_rs", "rust_doctest_kernel_kunit_suite_rs")
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\] ")


def parse(log):
    """Returns the top-level results {suite: ok} in order, each suite's cases {name: ok}, its
    totals line and its diagnostics ('# ...' lines)."""
    results, cases, totals, notes = {}, {}, {}, {}
    suite = None
    for raw in log.splitlines():
        line = TIMESTAMP.sub("", raw).rstrip()
        m = re.match(r"^    # Subtest: (\S+)$", line)
        if m:
            suite = m.group(1)
            cases[suite], notes[suite] = {}, []
            continue
        m = re.match(r"^(not ok|ok) \d+ (\S+)", line)
        if m:
            results[m.group(2)] = m.group(1) == "ok"
            suite = None
            continue
        if suite is None:
            continue
        m = re.match(r"^    (not ok|ok) \d+ (\S+)", line)
        if m:
            cases[suite][m.group(2)] = m.group(1) == "ok"
            continue
        m = re.match(r"^# (\S+): pass:(\d+) fail:(\d+) skip:(\d+) total:(\d+)$", line)
        if m and m.group(1) == suite:
            totals[suite] = tuple(int(x) for x in m.group(2, 3, 4, 5))
            continue
        if line.startswith("    # "):
            notes[suite].append(line.strip())
    return results, cases, totals, notes


@test(variants=("c", "rust", "rust-mod", "debug"))
def kunit_boot(case, variant):
    """Every KUnit suite of the boot log passes: doctests and memory_* suites, with counts."""
    with VM(variant) as vm:
        log = sh(vm, "dmesg")
    results, cases, totals, notes = parse(log)
    case.check("KTAP version 1" in log, "the kernel log has a KTAP report", log[-3000:])
    want = SUITES + (RUST_SUITES if variant != "c" else ())
    for suite in want:
        case.check(suite in results, f"suite {suite} ran")
    for suite, ok in results.items():
        p, f, s, t = totals.get(suite, (0, -1, 0, 0))
        bad = [c for c, c_ok in cases.get(suite, {}).items() if not c_ok]
        case.check(ok and f == 0 and p + s == t and not bad,
                   f"suite {suite}: ok, {p} passed, {f} failed, {s} skipped of {t}",
                   "\n".join(bad + notes.get(suite, []))[-3000:])
        case.check(s == 0, f"suite {suite}: nothing skipped")
    doctests = cases.get("rust_doctests_kernel", {})
    ours = sorted(c for c in doctests if c.startswith(PROJECT_DOCTESTS))
    case.check(len(ours) >= 15,
               f"{len(ours)} doctests of the project's abstractions ran (at least 15)",
               "\n".join(ours))
    generated = [n for n in notes.get("memory_auto_movable", []) if "generated cases" in n]
    m = re.search(r"(\d+) generated cases, \d+ movable, (\d+) mismatches", " ".join(generated))
    case.check(m is not None and int(m.group(1)) >= 100000 and m.group(2) == "0",
               "memory_auto_movable: at least 10^5 generated cases, no mismatch",
               "\n".join(notes.get("memory_auto_movable", [])))
    summary = [f"{s}: {totals.get(s)}" for s in results] + generated
    return "\n".join(summary) + "\n"
