# SPDX-License-Identifier: GPL-2.0
"""Source checks: rustfmt, clippy, rustdoc, checkpatch, W=1 and sparse."""

import glob
import os
import re
import shutil
import subprocess

from kbuild import CACHE, SRC, TOP, kmake, kmake_in, ours, rust_files, tree_paths
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


# `file:line[:col]: warning|error: message` of clang, sparse and kernel-doc.
DIAG = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:\d+:)? (?P<kind>warning|error): "
                  r"(?P<msg>.*)$", re.M)


def _diagnostics(log, srctree):
    """{(file relative to srctree, message)} of a build log's C diagnostics."""
    out = set()
    for m in DIAG.finditer(log):
        f = m.group("file")
        for prefix in (srctree + "/", "./"):
            if f.startswith(prefix):
                f = f[len(prefix):]
        out.add((f, f"{m.group('kind')}: {m.group('msg').strip()}"))
    return out


def _check_tree(case, name, variant, srctree, disable_rust=False):
    """$MHP_CACHE/build-NAME with the configuration of `variant`'s build (RUST off if asked:
    for checks of C files that do not depend on it, without building the kernel crate)."""
    out = os.path.join(CACHE, f"build-{name}")
    cfg = os.path.join(CACHE, f"build-{variant}", ".config")
    if not case.check(os.path.exists(cfg), f"the {variant} variant is configured", cfg):
        return None
    os.makedirs(out, exist_ok=True)
    shutil.copy(cfg, os.path.join(out, ".config"))
    if disable_rust:
        subprocess.run([f"{srctree}/scripts/config", "--file", os.path.join(out, ".config"),
                        "-d", "RUST"], check=True)
    return out


def _rebuild(out, objs):
    for o in objs:
        for f in glob.glob(os.path.join(out, o)):
            os.remove(f)


def _project_files():
    """The tree paths of the project's own files, and of the upstream files its patches change."""
    own = subprocess.run([f"{TOP}/tools/build/prepare-tree.sh", "--overlay"], capture_output=True,
                         text=True, check=True).stdout.split()[1::2]
    patched = set()
    for p in glob.glob(f"{TOP}/patches/*.patch"):
        patched |= set(re.findall(r"^diff --git a/\S+ b/(\S+)$", open(p).read(), re.M))
    return set(own), patched - set(own)


# What the C patches change that is compiled, and the project's C and Rust: rebuilt with W=1
# and sparse. (patterns to remove first, objects that must be built again)
RUST_OBJS = ("rust/kernel.o", "rust/helpers/helpers.o", "drivers/base/memory_rust/*.o",
             "mm/memory_hotplug.o")
RUST_BUILT = ("rust/kernel.o", "rust/helpers/helpers.o", "drivers/base/memory_rust/memory_glue.o",
              "drivers/base/memory_rust/memory_trace.o", "drivers/base/memory_rust/memory_block.o",
              "drivers/base/memory_rust/memory_hotplug.o", "mm/memory_hotplug.o")
C_OBJS = ("drivers/base/memory.o", "mm/memory_hotplug.o")
# Sparse as CHECK, writing down the file it checks.
SPARSE = """#!/bin/sh
for a; do last=$a; done
echo "$last" >>"$SPARSE_LOG"
exec sparse "$@"
"""


RUSTC_AT = re.compile(r"^\s*--> (\S+?):\d+:\d+$", re.M)


def _rustc_warnings(log, srctree):
    """{(file relative to srctree, first line)} of a build log's rustc diagnostics."""
    out = set()
    for block in re.split(r"\n(?=warning|error)", log):
        at = RUSTC_AT.search(block)
        if block.startswith(("warning", "error")) and at:
            f = at.group(1)
            for prefix in (srctree + "/", "./"):
                if f.startswith(prefix):
                    f = f[len(prefix):]
            out.add((f, block.splitlines()[0]))
    return out


def _w1_sparse_build(case, srctree, out, objs, built, targets, what):
    """A W=1 C=1 build of `targets` in `out` after removing `objs`: (C diagnostics, rustc
    diagnostics, files sparse checked)."""
    _rebuild(out, objs)
    wrapper = os.path.join(CACHE, "sparse-logged")
    with open(wrapper, "w") as f:
        f.write(SPARSE)
    os.chmod(wrapper, 0o755)
    slog = os.path.join(out, "sparse-checked.txt")
    if os.path.exists(slog):
        os.remove(slog)
    os.environ["SPARSE_LOG"] = slog
    rc, log = kmake_in(srctree, out, "W=1", "C=1", f"CHECK={wrapper}", "olddefconfig", *targets)
    case.check(rc == 0, f"W=1 C=1 build of {', '.join(targets[1:])} ({what})", log[-3000:])
    with open(os.path.join(CACHE, f"w1-sparse.{os.path.basename(out)}.log"), "w") as f:
        f.write(log)
    missing = [o for o in built if not os.path.exists(os.path.join(out, o))]
    case.check(not missing, f"{len(built)} objects built again ({what})", "\n".join(missing))
    checked = set()
    if os.path.exists(slog):
        for line in open(slog):
            checked.add(line.strip().replace(srctree + "/", ""))
    return _diagnostics(log, srctree), _rustc_warnings(log, srctree), checked


@test()
def w1_sparse(case):
    """W=1 and sparse (C=1), as the 0-day robot builds: the project's C and Rust files have no
    diagnostic, the upstream files its patches change none that the pristine tree lacks."""
    if not case.check(shutil.which("sparse"), "sparse is installed (deps.sh)"):
        return
    r = subprocess.run([f"{TOP}/tools/build/prepare-tree.sh"], capture_output=True, text=True)
    if not case.check(r.returncode == 0, "the tree is prepared", r.stdout + r.stderr):
        return
    own, patched = _project_files()
    found, rust_found, checked = set(), set(), set()
    # The Rust driver's configuration: the kernel crate, the helpers, the driver and its glue,
    # core mm with the Rust policy; then the C driver's (RUST off: memory.c does not need it).
    for name, variant, objs, built, targets, no_rust in (
            ("check", "rust", RUST_OBJS, RUST_BUILT,
             ("prepare", "drivers/base/memory_rust/", "mm/memory_hotplug.o"), False),
            ("check-c", "c", C_OBJS, C_OBJS, ("prepare", *C_OBJS), True)):
        out = _check_tree(case, name, variant, SRC, no_rust)
        if out is None:
            return
        d, w, c = _w1_sparse_build(case, SRC, out, objs, built, targets, f"{variant} config")
        found, rust_found, checked = found | d, rust_found | w, checked | c
    want = {"drivers/base/memory_rust/memory_glue.c", "drivers/base/memory_rust/memory_trace.c",
            "rust/helpers/helpers.c", "mm/memory_hotplug.c", "drivers/base/memory.c"}
    case.check(want <= checked, f"sparse checked {', '.join(sorted(want))}",
               f"checked: {sorted(checked)}")
    # Ours: in the project's files, or naming a function they define (sparse reports a
    # helper's lock imbalance at the header of the lock it calls).
    helpers = set()
    for f in own:
        if f.startswith("rust/helpers/"):
            helpers |= set(re.findall(r"^\w[\w\s*]*\b(rust_helper_\w+)\(",
                                      open(os.path.join(SRC, f)).read(), re.M))
    mine = {(f, m) for f, m in found
            if f in own or set(re.findall(r"'(\w+)'", m)) & helpers}
    # Helpers have no prototypes by design (rust/Makefile builds helpers.o without
    # -Wmissing-prototypes; bindgen reads the definitions): sparse's "not declared" is given
    # for every upstream helper too, and is only accepted where it is.
    nodecl = re.compile(r"warning: symbol 'rust_helper_\w+' was not declared\. "
                        r"Should it be static\?")
    upstream = any(f.startswith("rust/helpers/") and f not in own and nodecl.fullmatch(m)
                   for f, m in found)
    accepted = sorted(d for d in mine if nodecl.fullmatch(d[1]))
    if accepted:
        case.check(upstream, f"sparse's 'not declared' of {len(accepted)} of the project's "
                   "helpers is accepted: upstream's helpers get it too")
    bad = sorted(f"{f}: {m}" for f, m in mine - set(accepted if upstream else []))
    case.check(not bad, f"no other W=1 or sparse diagnostic in the project's {len(own)} files",
               "\n".join(bad))
    rust_own = sorted(f"{f}: {m}" for f, m in rust_found if f in own)
    case.check(not rust_own, "no rustc warning in the project's Rust files", "\n".join(rust_own))
    # rustc's W=1 lints on the upstream Rust files the patches change (the kernel crate's
    # lib.rs, error.rs, the module! macro, ...): none beyond the pristine kernel crate's,
    # built with the same configuration and flags.
    rust_patched = {d for d in rust_found if d[0] in patched}
    pristine = os.environ.get("KSRC") or os.path.join(CACHE, "pristine")
    rs_patched = sorted(f for f in patched if f.endswith(".rs"))
    case.check(rs_patched, "the patches change upstream Rust files", "")
    if rust_patched:
        out = _check_tree(case, "check-pristine-rust", "rust", pristine)
        if out is None:
            return
        rust_before = _w1_sparse_build(case, pristine, out, ("rust/kernel.o",),
                                       ("rust/kernel.o",), ("prepare", "rust/"),
                                       "pristine tree, rust config")[1]
        rust_patched -= rust_before
    case.check(not rust_patched, f"no rustc W=1 diagnostic in the {len(rs_patched)} upstream "
               "Rust files the patches change beyond the pristine kernel crate's",
               "\n".join(f"{f}: {m}" for f, m in sorted(rust_patched)))
    # The same files of the pristine tree, same configuration (the C driver's, RUST off).
    pristine = os.environ.get("KSRC") or os.path.join(CACHE, "pristine")
    out = _check_tree(case, "check-pristine", "c", pristine, True)
    if out is None:
        return
    before, _, _ = _w1_sparse_build(case, pristine, out, C_OBJS, C_OBJS, ("prepare", *C_OBJS),
                                    "pristine tree, c config")
    new = sorted(f"{f}: {m}" for f, m in found if f in patched and (f, m) not in before)
    case.check(not new, f"no diagnostic in the {len(patched)} files the patches change beyond "
               f"the pristine tree's ({len([d for d in before if d[0] in patched])})",
               "\n".join(new))
