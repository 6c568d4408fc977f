# SPDX-License-Identifier: GPL-2.0
"""The configuration matrix: the Rust code compiles, without warnings, wherever memory.c does.

Each combination starts from the `rust` variant's configuration, turns one option off (with
what must go with it: an option that selects it, or the user-visible option it follows), runs
olddefconfig and checks that the option is off and the Rust driver and policy are still on.
Then it builds the kernel crate (with the bindings and helpers), the driver's directory and the
C files that call into it, and fails on any warning in the project's files.

An entry takes about 30 s (the host tools are built once per build directory, kept in the
cache). `make test` builds four: `all-off`, every option of the matrix off at once (every
`#[cfg]` branch and every helper stub the single entries reach), and three single entries that
change from commit to commit (chosen from the commit id, printed). `make matrix` (MATRIX=all)
builds every entry, MATRIX=NAME,... the entries named.
"""

import contextlib
import glob
import hashlib
import os
import shutil
import subprocess

from ktap import test
from kbuild import CACHE, SRC, TOP, kmake, ours, read_config

# option -> the symbols to turn off (the option itself, and what selects it or what it
# follows).
SINGLE = {
    "NUMA": ["NUMA"],
    "MEMORY_HOTREMOVE": ["MEMORY_HOTREMOVE"],
    # Selected by NOTIFIER_ERROR_INJECTION and FAULT_INJECTION_DEBUG_FS.
    "DEBUG_FS": ["DEBUG_FS", "NOTIFIER_ERROR_INJECTION", "FAULT_INJECTION_DEBUG_FS"],
    "SYSFS": ["SYSFS"],
    "MEMORY_FAILURE": ["MEMORY_FAILURE"],
    "ARCH_MEMORY_PROBE": ["ARCH_MEMORY_PROBE"],
    "CMA": ["CMA"],
    # Selected by the tracers, which FTRACE enables.
    "TRACING": ["FTRACE", "TRACING"],
    "KUNIT": ["KUNIT"],
    "ACPI": ["ACPI"],
    # def_bool y with SPARSEMEM_VMEMMAP, which X86_5LEVEL selects.
    "MHP_MEMMAP_ON_MEMORY": ["X86_5LEVEL", "SPARSEMEM_VMEMMAP", "MHP_MEMMAP_ON_MEMORY"],
    "CRASH_HOTPLUG": ["CRASH_HOTPLUG"],
    "SYMBOLIC_ERRNAME": ["SYMBOLIC_ERRNAME"],
    # def_bool with SUSPEND or HIBERNATION.
    "PM_SLEEP": ["SUSPEND", "HIBERNATION", "PM_SLEEP"],
    # Nothing is unloaded: kernel::module_going's watches register nothing.
    "MODULES": ["MODULES"],
}

ENTRIES = dict(SINGLE)
ENTRIES["all-off"] = sorted({s for syms in SINGLE.values() for s in syms})

# What stays on in every entry: the Rust driver and its policy.
KEEP = ["MEMORY_HOTPLUG", "MEMORY_HOTPLUG_RUST", "MEMORY_HOTPLUG_RUST_POLICY"]

# Built in each entry: the kernel crate (prepare), and the C code on both sides of the
# driver's ABI with the driver (drivers/base/ holds memory_rust/ and, with NUMA, node.c).
TARGETS = ["prepare", "drivers/base/", "mm/memory_hotplug.o"]


def _commit():
    r = subprocess.run(["git", "-C", TOP, "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def selected():
    """The entries this run builds."""
    want = os.environ.get("MATRIX", "")
    if want == "all":
        return list(ENTRIES)
    if want:
        return [name for name in want.split(",") if name in ENTRIES]
    names = sorted(SINGLE)
    commit = _commit()
    first = int(hashlib.sha256(commit.encode()).hexdigest(), 16) % len(names)
    picks = [names[(first + i) % len(names)] for i in range(3)]
    print(f"# config_matrix: commit {commit[:12]} builds all-off, {', '.join(picks)} "
          f"(MATRIX=all: all {len(ENTRIES)})", flush=True)
    return ["all-off", *picks]


def build_entry(case, name, off):
    """Configure and build entry `name` with the symbols `off` turned off."""
    rust_cfg = os.path.join(CACHE, "build-rust", ".config")
    if not case.check(os.path.exists(rust_cfg), f"{name}: the rust variant is configured",
                      rust_cfg):
        return
    out = os.path.join(CACHE, f"build-cfg-{name}")
    os.makedirs(out, exist_ok=True)
    shutil.copy(rust_cfg, os.path.join(out, ".config"))
    args = [a for s in off for a in ("-d", s)]
    r = subprocess.run([f"{SRC}/scripts/config", "--file", f"{out}/.config", *args],
                       capture_output=True, text=True)
    case.eq(r.returncode, 0, f"{name}: scripts/config {' '.join(args)}")
    rc, log = kmake(out, "olddefconfig")
    case.eq(rc, 0, f"{name}: olddefconfig")
    cfg = read_config(os.path.join(out, ".config"))
    target = name if name in SINGLE else None
    for sym in ([target] if target else off):
        case.check(cfg.get(sym, "n") == "n", f"{name}: CONFIG_{sym} is off",
                   f"CONFIG_{sym}={cfg.get(sym)}")
    for sym in KEEP:
        case.eq(cfg.get(sym), "y", f"{name}: CONFIG_{sym}")
    # The project's objects are compiled again every time, so that their warnings are seen
    # on every run, not only on the one that first compiled them.
    for obj in ["rust/kernel.o", "rust/helpers/helpers.o",
                *glob.glob(f"{out}/drivers/base/memory_rust/*.o")]:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(out, obj))
    rc, log = kmake(out, *TARGETS)
    case.check(rc == 0, f"{name}: build of {' '.join(TARGETS)}", log[-3000:])
    for obj in ("rust/kernel.o", "rust/helpers/helpers.o",
                "drivers/base/memory_rust/memory_block.o",
                "drivers/base/memory_rust/memory_hotplug.o",
                "drivers/base/memory_rust/memory_glue.o"):
        case.check(os.path.exists(os.path.join(out, obj)), f"{name}: {obj} is built")
    warnings = ours(log) + [line for line in log.splitlines()
                             if "warning:" in line and "memory_rust/" in line]
    case.check(not warnings, f"{name}: no warnings in the project's files",
               "\n".join(warnings)[-4000:])


@test()
def config_matrix(case):
    """The Rust code builds without warnings with each option of the matrix off."""
    for name in selected():
        build_entry(case, name, ENTRIES[name])
