#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run the project's tests: KTAP output, ending with `N passed, N failed`.

    run.py [-k PATTERN ...] [--variants c,rust,rust-mod] [--only VARIANT=PATTERN,...] [--list]

The kernels of the variants must have been built (`make kernel VARIANT=...`);
`make test` builds them and then runs this.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "vm"))

import ktap  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="run only tests whose name matches this glob (repeatable)")
    ap.add_argument("--variants", default="c,rust,rust-mod",
                    help="comma-separated variants for per-variant tests (default c,rust,rust-mod)")
    ap.add_argument("--only", action="append", default=[], metavar="VARIANT=PATTERN,...",
                    help="run VARIANT only in the tests matching one of the globs (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    a = ap.parse_args()
    only = {}
    for spec in a.only:
        variant, _, patterns = spec.partition("=")
        only[variant] = [p.strip() for p in patterns.split(",")]
    return ktap.main(HERE, a.k, a.variants.split(","), a.list, only)


if __name__ == "__main__":
    sys.exit(main())
