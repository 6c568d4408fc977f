# SPDX-License-Identifier: GPL-2.0
"""The admin guide in the kernel's documentation: `make SPHINXDIRS=admin-guide/mm htmldocs`.

Documentation/memory-hotplug-rust.rst lands as Documentation/admin-guide/mm/, patch 0013 lists
it in that directory's index. A clean build of the directory must give no warning about the
project's documents and no warning that the same build of the pristine tree does not give
(6.12's damon/usage.rst refers to documents outside admin-guide/mm, which a build of that
directory alone cannot resolve).
"""

import os
import re
import shutil
import subprocess

from kbuild import CACHE, SRC, TOP
from ktap import test

SPHINXDIRS = "admin-guide/mm"
PROJECT_DOCS = ("memory-hotplug-rust.rst", "memory-layout-auto-movable.svg",
                "admin-guide/mm/index.rst")


def htmldocs(srctree, out):
    """A clean `make htmldocs` of SPHINXDIRS: (rc, the diagnostics, the whole log)."""
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run(["make", "-s", "-C", srctree, f"O={out}", f"SPHINXDIRS={SPHINXDIRS}",
                        "htmldocs"], capture_output=True, text=True)
    log = r.stdout + r.stderr
    diags = sorted({line.replace(srctree + "/", "").strip() for line in log.splitlines()
                    if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE)\b", line)})
    return r.returncode, diags, log


@test()
def htmldocs_admin_guide(case):
    """make SPHINXDIRS=admin-guide/mm htmldocs: the guide is in the index, no warning about it."""
    if not case.check(shutil.which("sphinx-build"), "sphinx-build is installed (deps.sh)"):
        return
    r = subprocess.run([f"{TOP}/tools/build/prepare-tree.sh"], capture_output=True, text=True)
    if not case.check(r.returncode == 0, "the tree is prepared", r.stdout + r.stderr):
        return
    out = os.path.join(CACHE, "build-docs")
    rc, diags, log = htmldocs(SRC, out)
    with open(os.path.join(CACHE, "htmldocs.log"), "w") as f:
        f.write(log)
    case.eq(rc, 0, f"make SPHINXDIRS={SPHINXDIRS} htmldocs exits 0")
    ours = [d for d in diags if any(p in d for p in PROJECT_DOCS)]
    case.check(not ours, f"no warning names the project's documents ({len(diags)} "
               "diagnostics in all)", "\n".join(ours))
    html = os.path.join(out, "Documentation/output/admin-guide/mm")
    page = os.path.join(html, "memory-hotplug-rust.html")
    case.check(os.path.exists(page), "memory-hotplug-rust.html is generated")
    index = open(os.path.join(html, "index.html")).read() if os.path.exists(
        os.path.join(html, "index.html")) else ""
    case.check('href="memory-hotplug-rust.html"' in index,
               "the admin-guide/mm index links to it (its toctree lists it)")
    case.check(os.path.exists(os.path.join(html, "_images/memory-layout-auto-movable.svg")),
               "its figure is in the output")
    # What the project adds must not bring warnings the pristine tree's build does not have.
    pristine = os.environ.get("KSRC") or os.path.join(CACHE, "pristine")
    prc, pdiags, plog = htmldocs(pristine, os.path.join(CACHE, "build-docs-pristine"))
    case.eq(prc, 0, "the same build of the pristine tree exits 0")
    new = [d for d in diags if d not in pdiags]
    case.check(not new, f"no diagnostic beyond the pristine tree's {len(pdiags)}",
               "\n".join(new))
