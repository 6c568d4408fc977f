# SPDX-License-Identifier: GPL-2.0
"""Source checks: rustfmt, clippy, checkpatch."""

import glob
import os
import re
import shutil
import subprocess

from ktap import test

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CACHE = os.environ.get("MHP_CACHE", "/var/cache/mhp-rust")
SRC = os.path.join(CACHE, "src")


def rust_files():
    return sorted(glob.glob(f"{TOP}/rust/**/*.rs", recursive=True))


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


def _kmake(out, *args):
    """make in the kernel tree with the project's toolchain; (rc, output)."""
    cmd = ["bash", "-c",
           f'. {TOP}/tools/build/toolchain.sh; '
           f'make -s -C {SRC} O={out} "${{KMAKE_ARGS[@]}}" -j$(nproc) "$@"', "make", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def _tree_paths():
    """Where the project's Rust files are in the kernel tree."""
    out = []
    for f in rust_files():
        rel = os.path.relpath(f, TOP)
        out.append(rel if rel.startswith("rust/kernel/") else
                   "drivers/base/memory_rust/" + os.path.basename(rel))
    return out


def _ours(log):
    """The warning/error diagnostics of a rustc/clippy/rustdoc log about our files."""
    ours = _tree_paths()
    return [b for b in re.split(r"\n(?=warning|error)", log)
            if b.startswith(("warning", "error")) and any(o in b for o in ours)]


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
    rc, log = _kmake(out, "CLIPPY=1", "olddefconfig", "prepare", "drivers/base/memory_rust/")
    case.check(rc == 0, "CLIPPY=1 build of rust/ and drivers/base/memory_rust/", log[-3000:])
    case.check("clippy-driver" in open(os.path.join(out, "rust", ".kernel.o.cmd")).read(),
               "the kernel crate was built by clippy-driver")
    warnings = _ours(log)
    case.check(not warnings, f"no clippy warnings in the project's {len(_tree_paths())} Rust files",
               "\n".join(warnings)[-4000:])


@test()
def rustdoc(case):
    """The kernel crate's documentation, with the project's modules, builds without warnings."""
    out = _clippy_tree(case)
    if out is None:
        return
    rc, log = _kmake(out, "olddefconfig", "rustdoc")
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
    warnings = _ours(log)
    case.check(not warnings, "no rustdoc warnings in the project's files",
               "\n".join(warnings)[-4000:])


@test()
def nosysfs_build(case):
    """The kernel crate's abstractions and the driver build with CONFIG_SYSFS=n."""
    rust_cfg = os.path.join(CACHE, "build-rust", ".config")
    if not case.check(os.path.exists(rust_cfg), "the rust variant is configured", rust_cfg):
        return
    out = os.path.join(CACHE, "build-nosysfs")
    os.makedirs(out, exist_ok=True)
    shutil.copy(rust_cfg, os.path.join(out, ".config"))
    r = subprocess.run([f"{SRC}/scripts/config", "--file", f"{out}/.config", "-d", "SYSFS"],
                       capture_output=True, text=True)
    case.eq(r.returncode, 0, "scripts/config -d SYSFS")
    rc, log = _kmake(out, "olddefconfig", "prepare", "rust/", "drivers/base/memory_rust/")
    config = open(os.path.join(out, ".config")).read()
    case.check("# CONFIG_SYSFS is not set" in config and "CONFIG_MEMORY_HOTPLUG_RUST=y" in config,
               "the configuration has SYSFS=n and the Rust driver")
    case.check(rc == 0, "build of rust/ and drivers/base/memory_rust/ with SYSFS=n", log[-3000:])
    for obj in ("rust/kernel.o", "drivers/base/memory_rust/memory_block.o",
                "drivers/base/memory_rust/memory_hotplug.o"):
        case.check(os.path.exists(os.path.join(out, obj)), f"{obj} is built")
    warnings = _ours(log)
    case.check(not warnings, "no warnings in the project's files", "\n".join(warnings)[-4000:])


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
