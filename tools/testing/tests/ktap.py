# SPDX-License-Identifier: GPL-2.0
"""A small KTAP test framework for the host-driven VM tests.

A test is a function registered with @test. It receives a Case and makes
checks with it; a failed check does not stop the test, an exception does
(and fails it). Tests registered with `variants` run once per kernel variant
and, with `compare=True`, return a transcript that must be identical across
the variants (with `compare` a tuple of variants: across those of them that run);
that comparison is one more check of the test.
"""

import difflib
import fnmatch
import importlib.util
import os
import sys
import time
import traceback

REGISTRY = []


def test(name=None, variants=None, compare=False):
    """Register a test. `variants`: run fn(case, variant) per variant; `compare`: True or
    the variants whose transcripts must be identical."""
    def deco(fn):
        REGISTRY.append((name or fn.__name__, fn, variants, compare))
        return fn
    return deco


class Case:
    def __init__(self, name):
        self.name = name
        self.results = []  # (ok, description, diagnostic)
        self.prefix = ""

    def check(self, cond, desc, diag=None):
        self.results.append((bool(cond), self.prefix + desc, None if cond else diag))
        return bool(cond)

    def eq(self, got, want, desc):
        return self.check(got == want, desc, f"got {got!r}, want {want!r}")

    def fail(self, desc, diag=None):
        return self.check(False, desc, diag)

    @property
    def ok(self):
        return bool(self.results) and all(r[0] for r in self.results)


def _diag(text, indent):
    return "".join(f"{indent}# {line}\n" for line in str(text).rstrip().splitlines())


def _print_case(case, number, seconds):
    out = sys.stdout
    out.write(f"    KTAP version 1\n    # Subtest: {case.name}\n    1..{len(case.results)}\n")
    for i, (ok, desc, diag) in enumerate(case.results, 1):
        out.write(f"    {'ok' if ok else 'not ok'} {i} {desc}\n")
        if diag:
            out.write(_diag(diag, "    "))
    out.write(f"{'ok' if case.ok else 'not ok'} {number} {case.name} # {seconds:.0f}s\n")
    out.flush()


# Transcripts of the per-variant tests are kept here, for reading or diffing by hand.
TRANSCRIPTS = os.path.join(os.environ.get("MHP_CACHE", "/var/cache/mhp-rust"), "transcripts")


def save(name, variant, text, kind="txt"):
    """Keep `text` as TRANSCRIPTS/NAME.VARIANT.KIND."""
    os.makedirs(TRANSCRIPTS, exist_ok=True)
    with open(os.path.join(TRANSCRIPTS, f"{name}.{variant}.{kind}"), "w") as f:
        f.write(text)


def _save(name, variant, transcript):
    if transcript is not None:
        save(name, variant, transcript)


def run_case(name, fn, variants, compare):
    case = Case(name)
    transcripts = {}
    if variants is None:
        try:
            fn(case)
        except Exception:
            case.fail("completes without an exception", traceback.format_exc())
        return case
    for v in variants:
        case.prefix = f"[{v}] "
        try:
            transcripts[v] = fn(case, v)
            _save(name, v, transcripts[v])
        except Exception:
            case.fail("completes without an exception", traceback.format_exc())
    case.prefix = ""
    compared = [v for v in variants if compare is True or v in compare] if compare else []
    if len(compared) > 1:
        if any(v not in transcripts for v in compared):
            case.fail(f"identical on {' and '.join(compared)}", "a variant did not complete")
        else:
            base = compared[0]
            for v in compared[1:]:
                a, b = transcripts[base], transcripts[v]
                diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                                    base, v))
                case.check(a == b, f"identical on {base} and {v} ({len(a.splitlines())} lines)",
                           diff)
    return case


def load(directory):
    for f in sorted(os.listdir(directory)):
        if f.startswith("test_") and f.endswith(".py"):
            spec = importlib.util.spec_from_file_location(f[:-3], os.path.join(directory, f))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)


def _variants_of(name, tvariants, variants, only):
    """The selected variants test `name` runs on: `only` maps a variant to the globs of the
    tests it is limited to."""
    return [v for v in tvariants if v in variants
            and (v not in only or any(fnmatch.fnmatch(name, p) for p in only[v]))]


def main(directory, patterns, variants, list_only=False, only=None):
    only = only or {}
    load(directory)
    # A per-variant test is part of the run when one of its variants is selected.
    selected = [t for t in REGISTRY
                if (not patterns or any(fnmatch.fnmatch(t[0], p) for p in patterns))
                and (t[2] is None or _variants_of(t[0], t[2], variants, only))]
    if list_only:
        for t in selected:
            print(t[0])
        return 0
    print("KTAP version 1")
    print(f"1..{len(selected)}")
    sys.stdout.flush()
    passed = failed = 0
    for number, (name, fn, tvariants, compare) in enumerate(selected, 1):
        vs = None if tvariants is None else _variants_of(name, tvariants, variants, only)
        start = time.time()
        case = run_case(name, fn, vs, compare if vs is not None else False)
        if not case.results:
            case.fail("made at least one check")
        _print_case(case, number, time.time() - start)
        if case.ok:
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
