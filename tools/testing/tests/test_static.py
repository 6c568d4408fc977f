# SPDX-License-Identifier: GPL-2.0
"""Source checks: rustfmt, clippy, checkpatch."""

import glob
import os
import shutil
import subprocess

from kbuild import CACHE, SRC, TOP, kmake, ours, rust_files, tree_paths
from ktap import test


@test()
def rustfmt(case):
    """The project's Rust code is formatted with the kernel's rustfmt settings."""
    files = rust_files()
    case.check(files, "there are Rust files")
    r = subprocess.run(["/usr/bin/rustfmt", "--check", "--edition", "2021",
                        "--config-path", f"{SRC}/.rustfmt.toml", *files],
                       capture_output=True, text=True)
    case.eq(r.returncode, 0, f"rustfmt --check on {len(files)} files")
    if r.returncode:
        case.fail("rustfmt diff", r.stdout[-3000:] + r.stderr[-1000:])


@test()
def checkpatch(case):
    """The patch series is clean under checkpatch.pl --strict."""
    patches = sorted(glob.glob(f"{TOP}/patches/*.patch"))
    case.check(patches, "there are patches")
    for p in patches:
        # A release tarball has no git history: checkpatch cannot look up the commit of a
        # Fixes: tag there, so it would warn about every one (UNKNOWN_COMMIT_ID).
        nogit = [] if os.path.exists(f"{SRC}/.git") else ["--ignore", "UNKNOWN_COMMIT_ID"]
        r = subprocess.run(["perl", f"{SRC}/scripts/checkpatch.pl", "--strict", *nogit, p],
                           cwd=SRC, capture_output=True, text=True)
        case.check(r.returncode == 0 and "total: 0 errors, 0 warnings, 0 checks" in r.stdout,
                   f"checkpatch --strict {os.path.basename(p)}", r.stdout[-3000:])


def _clippy_tree(case):
    """A build directory with the rust variant's configuration, for checks."""
    out = os.path.join(CACHE, "build-check")
    rust_cfg = os.path.join(CACHE, "build-rust", ".config")
    if not case.check(os.path.exists(rust_cfg), "the rust variant is configured", rust_cfg):
        return None
    os.makedirs(out, exist_ok=True)
    shutil.copy(rust_cfg, os.path.join(out, ".config"))
    return out


@test()
def clippy(case):
    """A CLIPPY=1 build of the project's Rust code has no warnings."""
    out = _clippy_tree(case)
    if out is None:
        return
    # Force the project's Rust units to be compiled (and so linted) again.
    for f in ["rust/kernel.o", *glob.glob(f"{out}/drivers/base/memory_rust/*.o")]:
        try:
            os.remove(os.path.join(out, f))
        except OSError:
            pass
    rc, log = kmake(out, "CLIPPY=1", "olddefconfig", "prepare", "drivers/base/memory_rust/")
    case.check(rc == 0, "CLIPPY=1 build of rust/ and drivers/base/memory_rust/", log[-3000:])
    case.check("clippy-driver" in open(os.path.join(out, "rust", ".kernel.o.cmd")).read(),
               "the kernel crate was built by clippy-driver")
    warnings = ours(log)
    case.check(not warnings, f"no clippy warnings in the project's {len(tree_paths())} Rust files",
               "\n".join(warnings)[-4000:])


@test()
def rustdoc(case):
    """The kernel crate's documentation, with the project's modules, builds without warnings."""
    out = _clippy_tree(case)
    if out is None:
        return
    rc, log = kmake(out, "olddefconfig", "rustdoc")
    case.check(rc == 0, "make rustdoc", log[-3000:])
    for page in ("kernel/memory/notifier/index.html", "kernel/memory/block/index.html",
                 "kernel/memory/hotplug/index.html", "kernel/memory/subsys/index.html",
                 "kernel/memory/subsys/attrs/index.html", "kernel/memory/late_init/index.html",
                 "kernel/macro.memory_block_subsys.html",
                 "kernel/memory/policy/index.html", "kernel/sysfs/index.html",
                 "kernel/module_param/index.html", "kernel/debugfs/index.html",
                 "kernel/seq_file/index.html"):
        case.check(os.path.exists(os.path.join(out, "Documentation/output/rust/rustdoc", page))
                   or os.path.exists(os.path.join(out, "rust/doc", page)),
                   f"{page} is generated")
    warnings = ours(log)
    case.check(not warnings, "no rustdoc warnings in the project's files",
               "\n".join(warnings)[-4000:])


@test()
def warn_once_section(case):
    """Every Rust warn_on_once! flag is in .data..once, which clear_warn_once re-arms."""
    vmlinux = os.path.join(CACHE, "build-rust", "vmlinux")
    if not case.check(os.path.exists(vmlinux), "the rust variant is built", vmlinux):
        return
    syms = {}
    flags = []
    for line in subprocess.run(["nm", vmlinux], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) != 3:
            continue
        addr, _, name = fields
        if name in ("__start_once", "__end_once"):
            syms[name] = int(addr, 16)
        elif name.startswith("_R") and name.endswith("6WARNED"):
            flags.append((int(addr, 16), name))
    case.check(len(syms) == 2, "vmlinux has __start_once and __end_once", syms)
    case.check(len(flags) >= 4, f"{len(flags)} warn_on_once! flags in vmlinux")
    outside = [n for a, n in flags if not syms.get("__start_once", 0) <= a < syms.get(
        "__end_once", 0)]
    case.check(syms and not outside, "all of them are between __start_once and __end_once",
               "\n".join(outside))
    r = subprocess.run(["readelf", "-SW", vmlinux], capture_output=True, text=True, check=True)
    case.check(" .data.once " not in r.stdout, "no orphan .data.once section")
