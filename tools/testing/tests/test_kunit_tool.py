# SPDX-License-Identifier: GPL-2.0
"""KUnit the way upstream developers run it: tools/testing/kunit/kunit.py with the driver's
.kunitconfig (drivers/base/memory_rust/.kunitconfig), x86_64 under QEMU without KVM.

kunit.py configures and builds its own kernel (x86_64 defaults + the .kunitconfig: no SMP, no
NUMA, no DEBUG_FS, a configuration none of the variants has) in $MHP_CACHE/kunit, boots it
and parses the KTAP report. Every suite the project declares must run every case it declares,
and pass; the kernel crate's doctests too.
"""

import glob
import json
import os
import re
import subprocess

from kbuild import CACHE, SRC, TOP
from ktap import test

BUILD = os.path.join(CACHE, "kunit")


def declared_suites():
    """{suite: [case, ...]} of every kunit_test_suite! in the project's Rust sources."""
    suites = {}
    for f in glob.glob(f"{TOP}/rust/**/*.rs", recursive=True):
        # Code only: the macro's documentation has an example suite.
        text = "\n".join(line for line in open(f).read().splitlines()
                         if not line.lstrip().startswith("//"))
        for m in re.finditer(r'kunit_test_suite!\(\s*"(\w+)",\s*\[([^\]]*)\]', text):
            suites[m.group(1)] = [c.strip() for c in m.group(2).split(",") if c.strip()]
    return suites


def make_options():
    """The toolchain of every build (toolchain.sh's KMAKE_ARGS) as kunit.py --make_options."""
    out = subprocess.run(["bash", "-c", f'. {TOP}/tools/build/toolchain.sh; '
                          'printf "%s\\n" "${KMAKE_ARGS[@]}"'],
                         capture_output=True, text=True, check=True).stdout
    opts = []
    for arg in out.splitlines():
        opts += ["--make_options", arg]
    return opts


def cases(group):
    """[(suite, case, status)] of a kunit.py JSON group, recursively."""
    out = [(group["name"], c["name"], c["status"]) for c in group.get("test_cases", [])]
    for sub in group.get("sub_groups", []):
        out += cases(sub)
    return out


@test()
def kunit_tool(case):
    """kunit.py run --kunitconfig=drivers/base/memory_rust passes on x86_64 under QEMU (TCG)."""
    r = subprocess.run([f"{TOP}/tools/build/prepare-tree.sh"], capture_output=True, text=True)
    if not case.check(r.returncode == 0, "the tree is prepared", r.stdout + r.stderr):
        return
    kunitconfig = os.path.join(SRC, "drivers/base/memory_rust/.kunitconfig")
    if not case.check(os.path.exists(kunitconfig), "drivers/base/memory_rust/.kunitconfig is "
                      "in the tree"):
        return
    want = declared_suites()
    case.check({"memory_auto_movable", "memory_block"} <= set(want),
               f"the project declares its suites ({', '.join(sorted(want))})")
    results = os.path.join(BUILD, "results.json")
    if os.path.exists(results):
        os.remove(results)
    cmd = ["python3", "tools/testing/kunit/kunit.py", "run", "--arch=x86_64",
           "--kunitconfig=drivers/base/memory_rust", f"--build_dir={BUILD}",
           f"--jobs={os.cpu_count()}", "--timeout=1200", f"--json={results}", *make_options()]
    r = subprocess.run(cmd, cwd=SRC, capture_output=True, text=True)
    log = r.stdout + r.stderr
    with open(os.path.join(CACHE, "kunit-tool.log"), "w") as f:
        f.write(" ".join(cmd) + "\n" + log)
    case.eq(r.returncode, 0, "kunit.py run exits 0")
    qemu = [line for line in log.splitlines() if line.startswith("$ qemu-system-x86_64")]
    case.check(qemu and not any("kvm" in q for q in qemu),
               "the kernel ran in qemu-system-x86_64 without KVM (TCG)", "\n".join(qemu))
    m = re.search(r"Testing complete\. Ran (\d+) tests: passed: (\d+)$", log, re.M)
    case.check(m and m.group(1) == m.group(2),
               f"summary: {m.group(0) if m else 'none'} (all passed, none failed, skipped "
               "or crashed)", log[-3000:])
    if not case.check(os.path.exists(results), "kunit.py wrote its JSON results"):
        return
    ran = cases(json.load(open(results)))
    by_suite = {}
    for suite, name, status in ran:
        by_suite.setdefault(suite, {})[name] = status
    for suite, declared in sorted(want.items()):
        got = by_suite.get(suite, {})
        passed = sorted(c for c, s in got.items() if s == "PASS")
        case.check(sorted(declared) == passed and len(got) == len(declared),
                   f"suite {suite}: {len(passed)} passed of the {len(declared)} cases it "
                   f"declares, 0 failed", f"declared {declared}, ran {got}")
    docs = by_suite.get("rust_doctests_kernel", {})
    bad = [c for c, s in docs.items() if s != "PASS"]
    case.check(len(docs) >= 100 and not bad,
               f"suite rust_doctests_kernel: {len(docs) - len(bad)} passed, {len(bad)} not",
               "\n".join(bad))
    ours = [c for c in docs if c.startswith(("rust_doctest_kernel_memory_",
                                             "rust_doctest_kernel_sysfs_rs",
                                             "rust_doctest_kernel_kunit_suite_rs"))]
    case.check(len(ours) >= 15, f"{len(ours)} of them are the project's abstractions' examples "
               "(at least 15)")
    case.eq(sorted(by_suite), sorted(set(want) | {"rust_doctests_kernel"}),
            "no other suite ran")
