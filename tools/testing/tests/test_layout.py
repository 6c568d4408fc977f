# SPDX-License-Identifier: GPL-2.0
"""The kernel crate's view of the C structs this project's Rust code uses, against C's.

The Rust code reads and writes C structs through bindgen's translation of the headers
(`bindings::zone`, `bindings::memory_notify`, ...). bindgen runs libclang apart from the
compiler that builds the kernel, and where it translates a struct wrongly, Rust reads other
bytes than C writes, silently. For every struct the project's Rust sources name as
`bindings::NAME`, every field's offset and the struct's size are taken twice per variant,
with that variant's configuration: from C (`offsetof()` in a file built by Kbuild against the
variant's build directory) and from Rust (`offset_of!()` on the variant's
bindings_generated.rs, built by the same rustc). They must be equal.

One mismatch is upstream's and known, and is reported, not failed: with SCHEDSTATS=n,
`struct sched_statistics` is empty but ____cacheline_aligned, and bindgen 0.73 drops the
alignment of the empty struct, so the kernel crate's `task_struct` is short by the padding
from `stats` on (the project reads no task_struct field; upstream's Task::pid() and
group_leader() do, and the latter's doctest panics under RUST_DEBUG_ASSERTIONS, which is why
the debug variant has SCHEDSTATS). It must be exactly that: the first field that differs
is `stats`, and only in task_struct; with SCHEDSTATS=y nothing may differ.
"""

import os
import re
import subprocess
import tempfile

from kbuild import CACHE, TOP, kmake, rust_files
from ktap import test

# The variants `make test` builds whose configuration changes the structs (c and rust share
# theirs but are built apart).
VARIANTS = ("c", "rust", "debug", "rust-nonuma", "rust-nohotremove")
# bindgen renames fields that are Rust keywords with a trailing underscore.
KEYWORDS = {"as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else",
            "enum", "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
            "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
            "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
            "unsafe", "use", "where", "while", "yield"}
HEADERS = ("linux/module.h", "linux/sched.h", "linux/memory.h", "linux/memory_hotplug.h",
           "linux/mmzone.h", "linux/device.h", "linux/seq_file.h", "linux/srcu.h",
           "linux/xarray.h", "linux/moduleparam.h", "kunit/test.h", "linux/memremap.h",
           "linux/fs.h", "linux/jump_label.h", "linux/notifier.h", "linux/stddef.h")
# The known upstream mismatch (see above): (struct, first field that differs, option).
KNOWN = ("task_struct", "stats", "CONFIG_SCHEDSTATS")


def _used_structs(generated):
    """The structs of bindings_generated.rs that the project's Rust sources name."""
    names = set()
    for f in rust_files():
        names |= set(re.findall(r"bindings::([a-z_][a-z0-9_]*)", open(f).read()))
    return sorted(n for n in names if re.search(rf"^pub struct {n} \{{", generated, re.M))


def _fields(generated, struct):
    body = re.search(rf"^pub struct {struct} \{{(.*?)^\}}", generated, re.M | re.S).group(1)
    return [f for f in re.findall(r"^\s*pub (\w+):", body, re.M)
            if not f.startswith(("_bitfield", "__bindgen", "_address"))]


def _c_offsets(variant, layout):
    """{key: value} from C, built by Kbuild against the variant's build directory."""
    lines = [f"#include <{h}>" for h in HEADERS]
    lines += ['#define DEF(sym, val) asm volatile("\\n.ascii \\"->" #sym " %0\\"" : : "i" (val))',
              "void layout(void);", "void layout(void)", "{"]
    for struct, fields in layout.items():
        lines.append(f"\tDEF({struct}__SIZE, sizeof(struct {struct}));")
        for f in fields:
            c = f[:-1] if f.endswith("_") and f[:-1] in KEYWORDS else f
            lines.append(f"\tDEF({struct}__{f}, offsetof(struct {struct}, {c}));")
    lines += ["}", 'MODULE_LICENSE("GPL");']
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "layout.c"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(d, "Kbuild"), "w") as f:
            f.write("obj-m := layout.o\n")
        rc, log = kmake(os.path.join(CACHE, f"build-{variant}"), f"M={d}", "layout.s")
        if rc:
            raise RuntimeError(f"C layout of {variant}: {log[-2000:]}")
        asm = open(os.path.join(d, "layout.s")).read()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'"->(\w+) \$(\d+)"', asm)}


def _rust_offsets(variant, layout):
    """{key: value} from Rust: offset_of!() on the variant's bindings, read from the object."""
    generated = os.path.join(CACHE, f"build-{variant}", "rust/bindings/bindings_generated.rs")
    lines = ["#![no_std]", "#![allow(warnings)]", "pub mod ffi { pub use core::ffi::*; }",
             # What rust/bindings/lib.rs defines for the blocklisted types.
             "mod raw { use crate::ffi; type __kernel_size_t = usize; "
             "type __kernel_ssize_t = isize; type __kernel_ptrdiff_t = isize;",
             f'include!("{generated}"); }}', "use raw::*;"]
    for struct, fields in layout.items():
        lines.append(f"#[no_mangle] pub static O_{struct}__SIZE: usize = "
                     f"core::mem::size_of::<{struct}>();")
        lines += [f"#[no_mangle] pub static O_{struct}__{f}: usize = "
                  f"core::mem::offset_of!({struct}, {f});" for f in fields]
    with tempfile.TemporaryDirectory() as d:
        src, obj = os.path.join(d, "layout.rs"), os.path.join(d, "layout.o")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(["bash", "-c", f'. {TOP}/tools/build/toolchain.sh; "${{RUSTC:-rustc}}" '
                        f"--edition 2021 --crate-type lib -O --emit obj -o {obj} {src}"],
                       check=True, capture_output=True, text=True)
        dump = subprocess.run(["llvm-objdump", "-s", obj], check=True, capture_output=True,
                              text=True).stdout
    out = {}
    for m in re.finditer(r"Contents of section \.rodata\.O_(\w+):\n\s*\w+ (\w+) (\w+)", dump):
        out[m.group(1)] = int.from_bytes(bytes.fromhex(m.group(2) + m.group(3)), "little")
    return out


@test()
def bindgen_layout(case):
    """Every field offset and size of the C structs the project's Rust code uses, on each
    configuration make test builds: bindgen's (Rust) equal C's, but upstream's known
    task_struct one."""
    summary = []
    for variant in VARIANTS:
        bdir = os.path.join(CACHE, f"build-{variant}")
        generated = os.path.join(bdir, "rust/bindings/bindings_generated.rs")
        if not case.check(os.path.exists(generated), f"[{variant}] is built with Rust", generated):
            continue
        text = open(generated).read()
        layout = {s: _fields(text, s) for s in _used_structs(text)}
        c, rust = _c_offsets(variant, layout), _rust_offsets(variant, layout)
        n = sum(len(f) + 1 for f in layout.values())
        case.check(len(c) == n and len(rust) == n,
                   f"[{variant}] {n} offsets and sizes of {len(layout)} structs taken from C "
                   f"({len(c)}) and Rust ({len(rust)})")
        diff = {}
        for struct, fields in layout.items():
            d = [f for f in fields + ["SIZE"]
                 if c.get(f"{struct}__{f}") != rust.get(f"{struct}__{f}")]
            if d:
                diff[struct] = d
        schedstats = "CONFIG_SCHEDSTATS=y\n" in open(os.path.join(bdir, ".config")).read()
        known = diff.pop(KNOWN[0], None)
        if known:
            first = known[0]
            case.check(not schedstats and first == KNOWN[1],
                       f"[{variant}] task_struct differs from `{first}` on ({len(known)} "
                       f"fields): upstream's empty aligned sched_statistics, SCHEDSTATS=n",
                       f"C {c.get(KNOWN[0] + '__' + first)}, Rust "
                       f"{rust.get(KNOWN[0] + '__' + first)}")
        elif KNOWN[0] in layout:
            case.check(True, f"[{variant}] task_struct agrees (SCHEDSTATS="
                             f"{'y' if schedstats else 'n'})")
        case.check(not diff, f"[{variant}] every other struct agrees: "
                             f"{', '.join(sorted(set(layout) - {KNOWN[0]}))}",
                   "\n".join(f"{s}.{f}: C {c.get(s + '__' + f)}, Rust {rust.get(s + '__' + f)}"
                             for s, fs in diff.items() for f in fs))
        summary.append(f"{variant}: {len(layout)} structs, {n} offsets; differ: "
                       f"{sorted(diff) or 'none'}; task_struct from "
                       f"{known[0] if known else '-'} (SCHEDSTATS={'y' if schedstats else 'n'})")
    return "\n".join(summary) + "\n"
