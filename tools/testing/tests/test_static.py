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
        r = subprocess.run(["perl", f"{SRC}/scripts/checkpatch.pl", "--strict", p], cwd=SRC,
                           capture_output=True, text=True)
        case.check(r.returncode == 0 and "total: 0 errors, 0 warnings, 0 checks" in r.stdout,
                   f"checkpatch --strict {os.path.basename(p)}", r.stdout[-3000:])


@test()
def clippy(case):
    """A CLIPPY=1 build of the project's Rust code has no warnings."""
    out = os.path.join(CACHE, "build-clippy")
    rust_cfg = os.path.join(CACHE, "build-rust", ".config")
    case.check(os.path.exists(rust_cfg), "the rust variant is configured", rust_cfg)
    os.makedirs(out, exist_ok=True)
    shutil.copy(rust_cfg, os.path.join(out, ".config"))
    env_make = ["bash", "-c",
                f'. {TOP}/tools/build/toolchain.sh; '
                f'make -s -C {SRC} O={out} "${{KMAKE_ARGS[@]}}" CLIPPY=1 -j$(nproc) "$@"', "make"]
    r = subprocess.run(env_make + ["olddefconfig", "prepare"], capture_output=True, text=True)
    case.check(r.returncode == 0, "prepare the clippy build", r.stderr[-3000:])
    # Force the project's Rust units to be checked again.
    for f in ["rust/kernel.o", *glob.glob(f"{out}/drivers/base/memory_rust/*.o")]:
        try:
            os.remove(os.path.join(out, f))
        except OSError:
            pass
    r = subprocess.run(env_make + ["rust/", "drivers/base/memory_rust/"],
                       capture_output=True, text=True)
    log = r.stdout + r.stderr
    case.check(r.returncode == 0, "CLIPPY=1 build of rust/ and drivers/base/memory_rust/",
               log[-3000:])
    ours = [f"rust/{os.path.relpath(f, TOP + '/rust')}" for f in rust_files()]
    ours = [("drivers/base/memory_rust/" + os.path.basename(f)) if f.count("/") == 1 else f
            for f in ours]
    warnings = []
    for block in re.split(r"\n(?=warning|error)", log):
        if block.startswith(("warning", "error")) and any(o in block for o in ours):
            warnings.append(block)
    case.check(not warnings, f"no clippy warnings in the project's {len(ours)} Rust files",
               "\n".join(warnings)[-4000:])
