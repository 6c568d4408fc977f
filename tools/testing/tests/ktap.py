# SPDX-License-Identifier: GPL-2.0
"""A small KTAP test framework for the host-driven VM tests.

A test is a function registered with @test. It receives a Case and makes
checks with it; a failed check does not stop the test, an exception does
(and fails it). Tests registered with `variants` run once per kernel variant
and, with `compare=True`, return a transcript that must be identical across
the variants (with `compare` a tuple of variants: across those of them that run);
that comparison is one more check of the test.

The run is split into units, one per (test, variant) and one per test without variants, and
JOBS units run at a time (`MHP_JOBS`, default 2: the machine has 2 cores and a guest is
mostly one busy vCPU). A test registered with `alone=True` (a wall-clock measurement) runs
with nothing else. Results are printed in the order of the tests, each test once all of its
units are done.
"""

import concurrent.futures
import difflib
import fnmatch
import importlib.util
import os
import sys
import time
import traceback

REGISTRY = []
JOBS = max(1, int(os.environ.get("MHP_JOBS", "2")))


def test(name=None, variants=None, compare=False, alone=False):
    """Register a test. `variants`: run fn(case, variant) per variant; `compare`: True or
    the variants whose transcripts must be identical; `alone`: run with no other unit (a
    wall-clock measurement)."""
    def deco(fn):
        REGISTRY.append((name or fn.__name__, fn, variants, compare, alone))
        return fn
    return deco


class Case:
    def __init__(self, name):
        self.name = name
        self.results = []  # (ok, description, diagnostic)
        self.notes = []  # what a test reports without checking it (timing, figures)
        self.prefix = ""

    def check(self, cond, desc, diag=None):
        self.results.append((bool(cond), self.prefix + desc, None if cond else diag))
        return bool(cond)

    def eq(self, got, want, desc):
        return self.check(got == want, desc, f"got {got!r}, want {want!r}")

    def note(self, text):
        self.notes.append(self.prefix + text)

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
    out.write(_diag("\n".join(case.notes), "    ") if case.notes else "")
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


def run_unit(name, fn, variant):
    """Run one unit: the test without variants (`variant` None) or its run on one variant.
    Returns (results, notes, transcript or None if it raised, start, end)."""
    case = Case(name)
    case.prefix = "" if variant is None else f"[{variant}] "
    transcript = None
    start = time.time()
    try:
        if variant is None:
            fn(case)
        else:
            transcript = fn(case, variant)
            _save(name, variant, transcript)
            transcript = (transcript,)
    except Exception:
        transcript = None
        case.fail("completes without an exception", traceback.format_exc())
    return case.results, case.notes, transcript, start, time.time()


def finish_case(name, variants, compare, units):
    """The test's case from its units' outcomes ({variant or None: run_unit()'s result}):
    their checks in the order of the variants, then the comparison of the transcripts."""
    case = Case(name)
    transcripts = {}
    for v in (variants if variants is not None else [None]):
        results, notes, transcript, _, _ = units[v]
        case.results += results
        case.notes += notes
        if v is not None and transcript is not None and transcript[0] is not None:
            transcripts[v] = transcript[0]
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
    tests = []  # (name, fn, variants or None, compare, alone)
    for name, fn, tvariants, compare, alone in selected:
        vs = None if tvariants is None else _variants_of(name, tvariants, variants, only)
        tests.append((name, fn, vs, compare if vs is not None else False, alone))
    outcomes = [{} for _ in tests]  # per test: {variant or None: future}
    counts = {"passed": 0, "failed": 0}
    printed = 0

    def print_done():
        nonlocal printed
        while printed < len(tests):
            name, _, vs, compare, _ = tests[printed]
            futures = outcomes[printed]
            keys = vs if vs is not None else [None]
            if len(futures) < len(keys) or not all(futures[k].done() for k in keys):
                return
            units = {k: futures[k].result() for k in keys}
            case = finish_case(name, vs, compare, units)
            if not case.results:
                case.fail("made at least one check")
            seconds = (max(u[4] for u in units.values()) - min(u[3] for u in units.values())
                       if units else 0)
            _print_case(case, printed + 1, seconds)
            counts["passed" if case.ok else "failed"] += 1
            printed += 1

    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        running = set()
        for i, (name, fn, vs, _, alone) in enumerate(tests):
            for v in (vs if vs is not None else [None]):
                if alone:
                    concurrent.futures.wait(running)
                    running.clear()
                while len(running) >= (1 if alone else JOBS):
                    _, running = concurrent.futures.wait(
                        running, return_when=concurrent.futures.FIRST_COMPLETED)
                    print_done()
                future = pool.submit(run_unit, name, fn, v)
                outcomes[i][v] = future
                running.add(future)
                if alone:
                    concurrent.futures.wait(running)
                    running.clear()
                print_done()
        concurrent.futures.wait(running)
        print_done()
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    return 0 if counts["failed"] == 0 else 1
