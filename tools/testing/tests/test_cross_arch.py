# SPDX-License-Identifier: GPL-2.0
"""The Rust driver compiles, without warnings, on the other architectures of 6.12 that have
both memory hotplug and Rust: arm64 with 4 KiB and with 64 KiB pages (512 MiB memory blocks),
and riscv64 (compile-only; x86-64 is what the other tests boot).

Each entry starts from the architecture's `defconfig`, as a user of that architecture does,
and turns on what the driver needs (RUST, which 6.12 allows only without MODVERSIONS and
BTF; MEMORY_HOTPLUG, MEMORY_HOTREMOVE) and the driver, its policy and the notifier recorder,
checks after olddefconfig that they are on, and builds the kernel crate (with the bindings
and helpers of that architecture), the driver's directory and the core mm file that calls
into it. Any warning in the project's files fails the entry. The build directories
($MHP_CACHE/build-arch-NAME) are kept: the first build of an entry takes 1 to 3 minutes
(host tools, generated headers, the kernel crate); later ones build again the project's
objects (so that their warnings are seen on every run) and what changed.

LoongArch is not here yet: 6.12 builds it with LLVM 18 or later (scripts/min-tool-version.sh),
the project's toolchain is Debian 12's clang 14.
"""

import contextlib
import glob
import os
import subprocess

from kbuild import CACHE, SRC, kmake, ours, read_config
from ktap import test

# name -> (ARCH, options set on top of defconfig)
COMMON = {"RUST": "y", "MODVERSIONS": "n", "DEBUG_INFO_BTF": "n", "MEMORY_HOTPLUG": "y",
          "MEMORY_HOTREMOVE": "y", "MEMORY_HOTPLUG_RUST": "y", "MEMORY_HOTPLUG_RUST_POLICY": "y",
          "DEBUG_FS": "y", "MEMORY_NOTIFIER_RECORDER": "m"}
ENTRIES = {
    "arm64": ("arm64", {}),
    "arm64-64k": ("arm64", {"ARM64_4K_PAGES": "n", "ARM64_64K_PAGES": "y"}),
    "riscv64": ("riscv", {"SPARSEMEM_VMEMMAP": "y"}),
}
# The C the project writes or patches that these targets compile: the driver's glue, its
# helpers of the kernel crate, its header, core mm's memory_hotplug.c.
PROJECT_C = ("memory_rust/", "memory_rust.h", "rust/helpers/", "mm/memory_hotplug.c")
TARGETS = ["prepare", "drivers/base/memory_rust/", "mm/memory_hotplug.o"]
OBJS = ("rust/kernel.o", "rust/helpers/helpers.o", "drivers/base/memory_rust/memory_block.o",
        "drivers/base/memory_rust/memory_hotplug.o", "drivers/base/memory_rust/memory_glue.o",
        "drivers/base/memory_rust/memory_notifier_recorder.o", "mm/memory_hotplug.o")


def build_arch(case, name):
    arch, extra = ENTRIES[name]
    out = os.path.join(CACHE, f"build-arch-{name}")
    os.makedirs(out, exist_ok=True)
    want = dict(COMMON, **extra)
    rc, log = kmake(out, f"ARCH={arch}", "defconfig")
    case.check(rc == 0, f"{name}: defconfig", log[-2000:])
    args = []
    for sym, v in want.items():
        args += {"y": ["-e", sym], "m": ["-m", sym], "n": ["-d", sym]}[v]
    r = subprocess.run([f"{SRC}/scripts/config", "--file", f"{out}/.config", *args],
                       capture_output=True, text=True)
    case.eq(r.returncode, 0, f"{name}: scripts/config")
    rc, log = kmake(out, f"ARCH={arch}", "olddefconfig")
    case.check(rc == 0, f"{name}: olddefconfig", log[-2000:])
    cfg = read_config(os.path.join(out, ".config"))
    wrong = {s: cfg.get(s, "n") for s, v in want.items() if cfg.get(s, "n") != v}
    case.check(not wrong, f"{name}: {', '.join(f'{s}={v}' for s, v in want.items())} "
                          "after olddefconfig", wrong)
    # The project's objects are compiled every time: their warnings are seen on every run.
    for obj in ["rust/kernel.o", "rust/helpers/helpers.o", "mm/memory_hotplug.o",
                *glob.glob(f"{out}/drivers/base/memory_rust/*.o")]:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(out, obj))
    rc, log = kmake(out, f"ARCH={arch}", *TARGETS)
    case.check(rc == 0, f"{name}: build of {' '.join(TARGETS)}", log[-3000:])
    missing = [o for o in OBJS if not os.path.exists(os.path.join(out, o))]
    case.check(not missing, f"{name}: the kernel crate, the driver, the policy, the recorder "
                            "and memory_hotplug.o are built", missing)
    warnings = ours(log) + [line for line in log.splitlines()
                             if "warning:" in line and any(p in line for p in PROJECT_C)]
    case.check(not warnings, f"{name}: no warnings in the project's files",
               "\n".join(warnings)[-4000:])
    return f"{name}: ARCH={arch} defconfig, PAGE_SHIFT {cfg.get('PAGE_SHIFT', '?')}, " \
           f"built {len(OBJS) - len(missing)} of {len(OBJS)} objects\n"


@test()
def cross_arch_build(case):
    """The kernel crate and the Rust driver compile without warnings from arm64 (4 KiB and
    64 KiB pages) and riscv64 defconfigs."""
    return "".join(build_arch(case, name) for name in ENTRIES)
