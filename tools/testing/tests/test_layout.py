# SPDX-License-Identifier: GPL-2.0
"""The kernel crate's view of the C structs this project's Rust code uses, against C's.

The Rust code reads and writes C structs through bindgen's translation of the headers
(`bindings::zone`, `bindings::memory_notify`, ...). bindgen runs libclang apart from the
compiler that builds the kernel, and where it translates a struct wrongly, Rust reads other
bytes than C writes, silently. For every struct the project's Rust sources name as
`bindings::NAME`, the offset of every member (those of its anonymous structs and unions
too, e.g. memory_group's `s.max_pages`) and the struct's size are taken twice per variant,
with that variant's configuration: from C (`offsetof()` in a file built by Kbuild against
the variant's build directory) and from Rust (`offset_of!()` on the variant's
bindings_generated.rs, built by the kernel's rustc for the kernel's target). They must be
equal. Bitfields are not members offset_of!() can name: bindgen's storage units for them
are left out (their neighbours' offsets bound them).

One mismatch is upstream's and known, and is reported, not failed: with SCHEDSTATS=n,
`struct sched_statistics` is empty but ____cacheline_aligned, and bindgen 0.73 drops the
alignment of the empty struct, so the kernel crate's `task_struct` is short by the padding
from `stats` on (C: `pid` at 1024, Rust: 1008). The project reads no task_struct field;
upstream's Task::pid() and group_leader() do, and the latter's doctest panics under
RUST_DEBUG_ASSERTIONS, which is why the debug variant has SCHEDSTATS. It must be exactly
that: nothing before `stats` differs, C puts `stats` on a 64-byte boundary, and everything
from it on that differs is shifted by the same 0 < d < 64 bytes; with SCHEDSTATS=y nothing
may differ.
"""

import os
import re
import subprocess
import tempfile

from kbuild import CACHE, TOP, kmake, read_config, rust_files
from ktap import test

# The variants `make test` builds whose configuration changes the structs (c and rust share
# theirs but are built apart).
VARIANTS = ("c", "rust", "debug", "rust-nonuma", "rust-nohotremove")
# bindgen renames members named as a Rust keyword or primitive type with a trailing
# underscore (its rust_mangle()).
KEYWORDS = {"abstract", "alignof", "as", "async", "await", "become", "bool", "box", "break",
            "char", "const", "continue", "crate", "do", "dyn", "else", "enum", "extern",
            "f32", "f64", "false", "final", "fn", "for", "gen", "i128", "i16", "i32", "i64",
            "i8", "if", "impl", "in", "isize", "let", "loop", "macro", "match", "mod", "move",
            "mut", "offsetof", "override", "priv", "proc", "pub", "pure", "ref", "return",
            "self", "sizeof", "static", "str", "struct", "super", "trait", "true", "try",
            "type", "typeof", "u128", "u16", "u32", "u64", "u8", "unsafe", "unsized", "use",
            "usize", "virtual", "where", "while", "yield"}
HEADERS = ("linux/module.h", "linux/sched.h", "linux/memory.h", "linux/memory_hotplug.h",
           "linux/mmzone.h", "linux/device.h", "linux/seq_file.h", "linux/srcu.h",
           "linux/xarray.h", "linux/moduleparam.h", "kunit/test.h", "linux/memremap.h",
           "linux/fs.h", "linux/jump_label.h", "linux/notifier.h", "linux/stddef.h")
# The struct of the known upstream mismatch (see above; _known()).
KNOWN = ("task_struct",)


def _used_structs(generated):
    """The structs of bindings_generated.rs that the project's Rust sources name."""
    names = set()
    for f in rust_files():
        names |= set(re.findall(r"bindings::([a-z_][a-z0-9_]*)", open(f).read()))
    return sorted(n for n in names if re.search(rf"^pub struct {n} \{{", generated, re.M))


def _body(generated, name):
    m = re.search(rf"^pub (?:struct|union) {name} \{{(.*?)^\}}", generated, re.M | re.S)
    return m.group(1) if m else ""


def _members(generated, name, rpath="", cpath="", depth=0):
    """(Rust path, C path) of every member of struct or union `name`, with the members of
    its anonymous structs and unions (bindgen's `__bindgen_anon_N` fields, and the
    `NAME__bindgen_ty_N` types of named members declared in place) down to four levels.
    Bitfields and bindgen's padding are left out; an opaque struct has none."""
    body = _body(generated, name)
    if "_bindgen_opaque_blob" in body:
        return
    # A type may go on over several lines (function pointers): only its first is needed.
    for field, ty in re.findall(r"^\s*pub (\w+): ([^\n]*)", body, re.M):
        ty = ty.strip().rstrip(",")
        if field.startswith(("_bitfield", "__bindgen_padding", "_address", "_bindgen_align")):
            continue
        anon = field.startswith("__bindgen_anon_")
        rp = f"{rpath}.{field}" if rpath else field
        c = field[:-1] if field.endswith("_") and field[:-1] in KEYWORDS else field
        cp = cpath if anon else (f"{cpath}.{c}" if cpath else c)
        if not anon:
            yield rp, cp
        if depth < 4 and re.fullmatch(r"\w+__bindgen_ty_\d+", ty):
            yield from _members(generated, ty, rp, cp, depth + 1)


def _c_offsets(variant, layout):
    """[value] from C, built by Kbuild against the variant's build directory: for each
    struct its size, then each member's offset."""
    lines = [f"#include <{h}>" for h in HEADERS]
    lines += ['#define DEF(sym, val) asm volatile("\\n.ascii \\"->" #sym " %0\\"" : : "i" (val))',
              "void layout(void);", "void layout(void)", "{"]
    n = 0
    for struct, members in layout.items():
        lines.append(f"\tDEF(v{n}, sizeof(struct {struct}));")
        n += 1
        for _, cp in members:
            lines.append(f"\tDEF(v{n}, offsetof(struct {struct}, {cp}));")
            n += 1
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
    vals = {int(m.group(1)): int(m.group(2))
            for m in re.finditer(r'"->v(\d+) \$(\d+)"', asm)}
    return [vals.get(i) for i in range(n)]


def _rust_offsets(variant, layout):
    """[value] from Rust, in the order of _c_offsets(): size_of!() and offset_of!() on the
    variant's bindings, compiled by the kernel's rustc for the kernel's target (its
    target.json and its `core`) and read from the object."""
    bdir = os.path.join(CACHE, f"build-{variant}")
    generated = os.path.join(bdir, "rust/bindings/bindings_generated.rs")
    lines = ["#![no_std]", "#![allow(warnings)]", "pub mod ffi { pub use core::ffi::*; }",
             # What rust/bindings/lib.rs defines for the blocklisted types.
             "mod raw { use crate::ffi; type __kernel_size_t = usize; "
             "type __kernel_ssize_t = isize; type __kernel_ptrdiff_t = isize;",
             f'include!("{generated}"); }}', "use raw::*;"]
    n = 0
    for struct, members in layout.items():
        lines.append(f"#[no_mangle] pub static V{n}: usize = core::mem::size_of::<{struct}>();")
        n += 1
        for rp, _ in members:
            lines.append(f"#[no_mangle] pub static V{n}: usize = "
                         f"core::mem::offset_of!({struct}, {rp});")
            n += 1
    with tempfile.TemporaryDirectory() as d:
        src, obj = os.path.join(d, "layout.rs"), os.path.join(d, "layout.o")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run(
            ["bash", "-c", f". {TOP}/tools/build/toolchain.sh; "
             'for a in "${KMAKE_ARGS[@]}"; do case $a in RUSTC=*) rustc=${a#RUSTC=};; esac; done; '
             f'RUSTC_BOOTSTRAP=1 "${{rustc:?}}" -Zunstable-options --edition 2021 '
             f"--crate-type lib --target {bdir}/scripts/target.json --sysroot=/dev/null "
             # Constants only: a KASAN build's core differs in ABI, not in layout.
             "-Cunsafe-allow-abi-mismatch=sanitizer "
             f"-L {bdir}/rust -O --emit obj -o {obj} {src}"],
            capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"Rust layout of {variant}: {r.stderr[-3000:]}")
        dump = subprocess.run(["llvm-objdump", "-s", obj], check=True, capture_output=True,
                              text=True).stdout
    vals = {}
    for m in re.finditer(r"Contents of section \.rodata\.V(\d+):\n\s*\w+ (\w+) (\w+)", dump):
        vals[int(m.group(1))] = int.from_bytes(bytes.fromhex(m.group(2) + m.group(3)), "little")
    return [vals.get(i) for i in range(n)]


def _known(rows):
    """Whether task_struct's differences are upstream's known one: the same shift d
    (0 < d < 64) of `stats`, which C puts on a 64-byte boundary, and of every member after it
    that differs, and no member before it differs."""
    names = [name for name, _, _ in rows]
    if "stats" not in names:
        return False
    at = names.index("stats")
    c_stats, r_stats = rows[at][1], rows[at][2]
    d = c_stats - r_stats
    return (0 < d < 64 and c_stats % 64 == 0
            and all(c == r for _, c, r in rows[:at])
            and all(c - r in (0, d) for name, c, r in rows[at:] if name != "SIZE"))


@test()
def bindgen_layout(case):
    """Every member offset (anonymous structs and unions included) and size of the C
    structs the project's Rust code names, on each configuration make test builds:
    bindgen's (Rust) equal C's, but upstream's known task_struct one."""
    summary = []
    for variant in VARIANTS:
        bdir = os.path.join(CACHE, f"build-{variant}")
        generated = os.path.join(bdir, "rust/bindings/bindings_generated.rs")
        if not case.check(os.path.exists(generated), f"[{variant}] is built with Rust", generated):
            continue
        text = open(generated).read()
        layout = {s: list(_members(text, s)) for s in _used_structs(text)}
        c, rust = _c_offsets(variant, layout), _rust_offsets(variant, layout)
        n = sum(len(m) + 1 for m in layout.values())
        case.check(None not in c and None not in rust and len(c) == len(rust) == n,
                   f"[{variant}] {n} offsets and sizes of {len(layout)} structs taken from C "
                   "and Rust")
        diff, i = {}, 0
        for struct, members in layout.items():
            rows = [("SIZE", c[i], rust[i])]
            rows += [(rp, c[i + 1 + k], rust[i + 1 + k]) for k, (rp, _) in enumerate(members)]
            i += 1 + len(members)
            if any(cv != rv for _, cv, rv in rows):
                diff[struct] = rows
        schedstats = read_config(os.path.join(bdir, ".config")).get("SCHEDSTATS") == "y"
        known = diff.pop(KNOWN[0], None)
        if known:
            first = next((name for name, cv, rv in known[1:] if cv != rv), "SIZE")
            complete = all(None not in (cv, rv) for _, cv, rv in known)
            case.check(not schedstats and complete and _known(known[1:]),
                       f"[{variant}] task_struct is shifted from `{first}` on: upstream's "
                       "empty aligned sched_statistics, SCHEDSTATS=n",
                       "\n".join(f"{m}: C {cv}, Rust {rv}" for m, cv, rv in known if cv != rv))
        elif KNOWN[0] in layout:
            case.check(True, f"[{variant}] task_struct agrees (SCHEDSTATS="
                             f"{'y' if schedstats else 'n'})")
        case.check(not diff, f"[{variant}] every other struct agrees: "
                             f"{', '.join(sorted(set(layout) - {KNOWN[0]}))}",
                   "\n".join(f"{s}.{m}: C {cv}, Rust {rv}"
                             for s, rows in diff.items() for m, cv, rv in rows if cv != rv))
        summary.append(f"{variant}: {len(layout)} structs, {n} offsets and sizes; differ: "
                       f"{sorted(diff) or 'none'}; task_struct "
                       f"{'shifted' if known else 'agrees'} (SCHEDSTATS="
                       f"{'y' if schedstats else 'n'})")
    return "\n".join(summary) + "\n"
