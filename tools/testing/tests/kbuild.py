# SPDX-License-Identifier: GPL-2.0
"""Builds in the prepared kernel tree for the host-side checks (no tests here)."""

import glob
import os
import re
import subprocess
import threading

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CACHE = os.environ.get("MHP_CACHE", "/var/cache/mhp-rust")
SRC = os.path.join(CACHE, "src")
# The test runner runs two units at a time: one build in the tree at a time (two checks
# may build in the same directory).
BUILD_LOCK = threading.Lock()


def rust_files():
    return sorted(glob.glob(f"{TOP}/rust/**/*.rs", recursive=True))


def kmake(out, *args):
    """make in the prepared kernel tree with the project's toolchain; (rc, output)."""
    return kmake_in(SRC, out, *args)


def kmake_in(srctree, out, *args):
    """make in `srctree` with the project's toolchain, one build at a time; (rc, output)."""
    cmd = ["bash", "-c",
           f'. {TOP}/tools/build/toolchain.sh; '
           f'make -s -C {srctree} O={out} "${{KMAKE_ARGS[@]}}" -j$(nproc) "$@"', "make", *args]
    with BUILD_LOCK:
        r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def read_config(path):
    """A .config as {SYMBOL: value} (without CONFIG_; "n" for "is not set")."""
    syms = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("CONFIG_"):
            k, v = line.split("=", 1)
            syms[k[len("CONFIG_"):]] = v
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            syms[line[len("# CONFIG_"):-len(" is not set")]] = "n"
    return syms


def tree_paths():
    """Where the project's Rust files are in the kernel tree."""
    out = []
    for f in rust_files():
        rel = os.path.relpath(f, TOP)
        out.append(rel if rel.startswith("rust/kernel/") else
                   "drivers/base/memory_rust/" + rel[len("rust/"):])
    return out


def ours(log):
    """The warning/error diagnostics of a rustc/clippy/rustdoc log about our files."""
    ours = tree_paths()
    return [b for b in re.split(r"\n(?=warning|error)", log)
            if b.startswith(("warning", "error")) and any(o in b for o in ours)]
