#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate the series as it would be posted: `make series`.

The patch series (patches/*.patch) with the project's files (the overlay of
tools/build/prepare-tree.sh) added by commits of their own, each just before the patch
that wires its files in (tools/series/groups), and a cover letter generated from the
repository (README.md, the admin guide, the test modules' docstrings), written with
`git format-patch --cover-letter` into $MHP_CACHE/series/ (or $SERIES_OUT):

    patches/   0000-cover-letter.patch 0001-....patch ...   (git am-able on 6.12.y)
    cover-letter.txt   the cover letter's text
    repo/      a git repository: branch `base` (the pristine files the series touches),
               branch `mhp-rust` (the series; its description is the cover letter, for
               git format-patch --cover-from-description) and, with b4 installed,
               `b4/mhp-rust`: the same commits enrolled with `b4 prep` (its default
               cover strategy, an empty commit holding the cover letter):
               `git checkout b4/mhp-rust; b4 prep -p OUT` or `b4 send`.

The last line printed is the directory.
"""

import email.utils
import fnmatch
import glob
import os
import re
import shutil
import subprocess
import sys
import textwrap

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.environ.get("MHP_CACHE", "/var/cache/mhp-rust")
OUT = os.environ.get("SERIES_OUT") or os.path.join(CACHE, "series")
BRANCH = "mhp-rust"
# Fixed dates: the same repository gives the same commits.
DATE = "Mon, 7 Dec 2026 11:00:00 +0000"


def run(cmd, cwd=None, env=None, stdin=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"series: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def overlay():
    """[(repo path, tree path)] from prepare-tree.sh, the one list of what lands where."""
    out = run([f"{TOP}/tools/build/prepare-tree.sh", "--overlay"])
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]


def patch_paths(patch):
    """The tree paths a patch file touches."""
    paths = []
    for line in open(patch):
        m = re.match(r"^diff --git a/(\S+) b/(\S+)$", line)
        if m:
            paths += [m.group(1), m.group(2)]
    return paths


def groups():
    """The records of tools/series/groups: [{before, paths, subject, body}]."""
    text = "".join(line for line in open(f"{TOP}/tools/series/groups")
                   if not line.startswith("#"))
    out = []
    for rec in text.split("\n%%\n"):
        head, _, body = rec.strip("\n").partition("\n\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        out.append({"before": fields["before"], "paths": fields.get("paths", "").split(),
                    "subject": fields["subject"], "body": body.strip() + "\n"})
    return out


def author():
    """The author of the patch series (its first patch's From:)."""
    first = sorted(glob.glob(f"{TOP}/patches/*.patch"))[0]
    for line in open(first):
        if line.startswith("From: "):
            return email.utils.parseaddr(line[6:].strip())
    sys.exit(f"series: no From: in {first}")


def plain(md):
    """Markdown as plain text for an email: code blocks indented, no backticks."""
    out, code = [], False
    for line in md.splitlines():
        if line.startswith("```"):
            code = not code
            continue
        out.append("  " + line if code else line.replace("`", ""))
    return "\n".join(out)


def readme_section(title):
    """The paragraphs of README.md's section whose heading starts with `title`."""
    text = open(f"{TOP}/README.md").read()
    m = re.search(rf"^## {re.escape(title)}.*?\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        sys.exit(f"series: README.md has no section '{title}'")
    return [p.strip() for p in m.group(1).strip().split("\n\n")]


def readme_intro():
    """README.md's first paragraph: what the project is."""
    text = open(f"{TOP}/README.md").read()
    return text.split("\n", 1)[1].strip().split("\n\n")[0]


def rst_paragraph(start):
    """The paragraph of the admin guide that starts with `start`."""
    text = open(f"{TOP}/Documentation/memory-hotplug-rust.rst").read()
    for para in text.split("\n\n"):
        if para.startswith(start):
            return para.replace("``", "")
    sys.exit(f"series: the admin guide has no paragraph starting '{start}'")


def rst_paragraph_with(needle):
    text = open(f"{TOP}/Documentation/memory-hotplug-rust.rst").read()
    for para in text.split("\n\n"):
        if needle in para:
            return para.replace("``", "")
    sys.exit(f"series: the admin guide has no paragraph with '{needle}'")


def test_modules():
    """`name: first line of the docstring` of every host-side test module."""
    wrap = textwrap.TextWrapper(width=74, subsequent_indent="  ")
    lines = []
    for f in sorted(glob.glob(f"{TOP}/tools/testing/tests/test_*.py")):
        m = re.search(r'^"""(.*?)(?:\n\n|""")', open(f).read(), re.M | re.S)
        if m:
            doc = " ".join(m.group(1).split()).replace("`", "")
            lines += wrap.wrap(f"- {os.path.basename(f)}: {doc}")
    return "\n".join(lines)


def kunit_command():
    cfg = open(f"{TOP}/.kunitconfig").read()
    m = re.search(r"^#\s+(\./tools/testing/kunit/kunit\.py.*?)\n#\n", cfg, re.M | re.S)
    return re.sub(r"^#\s?", "", m.group(1), flags=re.M) if m else None


def cover_letter(grps, version):
    cover = next(g for g in grps if g["before"] == "cover")
    adds = [g for g in grps if g["before"] != "cover"]
    wrap = textwrap.TextWrapper(width=74)
    kunit = kunit_command()
    two = readme_section("The two commands")
    parts = [
        cover["subject"],
        cover["body"].strip(),
        "What and why (README.md)\n========================\n\n" + plain(readme_intro()),
        "Design (the admin guide)\n========================\n\n" + rst_paragraph("The layers:"),
        "The series\n==========\n\n" + "\n".join(wrap.wrap(
            f"Against Linux {version} (Debian's linux-source-6.12). {len(adds)} commits "
            "add the new files, each just before the patch that wires them in (a mod "
            "line of rust/kernel/lib.rs, an include of rust/helpers/helpers.c, the "
            "drivers/base Kconfig and Makefile): until then nothing builds them. The "
            "C changes outside the new files are in the other patches; with "
            "CONFIG_MEMORY_HOTPLUG_RUST unset the kernel is built as before, except "
            "for the auto-online fix (mm/memory_hotplug: online hot-added blocks with "
            "the online type read once), which applies to every configuration. What the "
            "driver needs comes first (error codes, the module! initcall level, the core "
            "mm changes), then the kernel crate's abstractions, then the driver: every "
            "commit builds, vmlinux and modules with the driver on (make bisect).")),
        "How to run the tests (README.md)\n================================\n\n"
        + plain(two[0]),
        "The host-side tests (tools/testing/tests/):\n\n" + test_modules(),
        "In the tree, without the project's host tools: the kselftests\n"
        "(tools/testing/selftests/memory-hotplug/, KTAP; a VM with memory to add)\n\n"
        "  make -C tools/testing/selftests TARGETS=memory-hotplug run_tests",
    ]
    if kunit:
        parts.append("and the KUnit suites (QEMU, no KVM needed; LLVM=1 and the Rust "
                     "toolchain):\n\n" + textwrap.indent(kunit, "  "))
    parts.append("Measured\n========\n\nBuild and test times (README.md):\n\n" + plain(two[1])
                 + "\n\nThe cost of the trace events (the admin guide):\n\n"
                 + rst_paragraph_with("guest instructions"))
    return "\n\n".join(parts) + "\n"


def main():
    run([f"{TOP}/tools/build/prepare-tree.sh"])
    pristine = os.environ.get("KSRC") or os.path.join(CACHE, "pristine")
    version = run(["make", "-s", "-C", pristine, "kernelversion"]).strip()
    patches = sorted(glob.glob(f"{TOP}/patches/*.patch"))
    grps = groups()
    ov = overlay()

    # Every overlay file in exactly one commit.
    owner = {}
    for _, to in ov:
        hits = [g["subject"] for g in grps if any(fnmatch.fnmatch(to, p) for p in g["paths"])]
        if len(hits) != 1:
            sys.exit(f"series: {to} is in {len(hits)} records of tools/series/groups: {hits}")
        owner[to] = hits[0]
    numbers = {os.path.basename(p)[:4] for p in patches}
    for g in grps:
        if g["before"] != "cover" and g["before"] not in numbers:
            sys.exit(f"series: '{g['subject']}' goes before {g['before']}, not a patch")

    name, mail = author()
    env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=mail,
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=mail,
               GIT_AUTHOR_DATE=DATE, GIT_COMMITTER_DATE=DATE,
               GIT_CEILING_DIRECTORIES=CACHE)
    repo = os.path.join(OUT, "repo")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(repo)

    def git(*args, stdin=None, e=env):
        return run(["git", *args], cwd=repo, env=e, stdin=stdin)

    git("init", "-q", "-b", "base")
    git("config", "user.name", name)
    git("config", "user.email", mail)
    # The base: the pristine files the series touches (the rest of the tree plays no part
    # in the patches; the test applies them to a whole pristine tree).
    touched = sorted({p for f in patches for p in patch_paths(f)} | {to for _, to in ov})
    present = [p for p in touched if os.path.exists(os.path.join(pristine, p))]
    for p in present:
        os.makedirs(os.path.dirname(os.path.join(repo, p)), exist_ok=True)
        shutil.copy2(os.path.join(pristine, p), os.path.join(repo, p))
    git("add", "-f", "--", *present)
    git("commit", "-q", "-m", f"Linux {version}\n\nThe files of Debian's linux-source-6.12 "
        "that the series touches.")
    git("checkout", "-q", "-b", BRANCH)

    src = {to: os.path.join(TOP, frm) for frm, to in ov}
    for patch in patches:
        num = os.path.basename(patch)[:4]
        for g in grps:
            if g["before"] != num:
                continue
            files = sorted(t for t, s in owner.items() if s == g["subject"])
            for t in files:
                os.makedirs(os.path.dirname(os.path.join(repo, t)), exist_ok=True)
                shutil.copy2(src[t], os.path.join(repo, t))
            git("add", "-f", "--", *files)
            git("commit", "-q", "-F", "-",
                stdin=f"{g['subject']}\n\n{g['body']}\nSigned-off-by: {name} <{mail}>\n")
        # git am as a maintainer would; the committer date is the author's (reproducible).
        git("am", "-q", "--committer-date-is-author-date", patch)

    cover = cover_letter(grps, version)
    git("config", f"branch.{BRANCH}.description", cover)
    pdir = os.path.join(OUT, "patches")
    git("format-patch", "-q", "--cover-letter", "--cover-from-description=subject",
        "--zero-commit", "-o", pdir, f"base..{BRANCH}")
    with open(os.path.join(OUT, "cover-letter.txt"), "w") as f:
        f.write(cover)
    b4 = shutil.which("b4")
    if b4:
        # b4 prep's own cover strategy (an empty commit at the start of the branch): enroll
        # a copy of the branch and write the cover letter with b4's editor hook.
        git("checkout", "-q", "-b", f"b4/{BRANCH}", BRANCH)
        run([b4, "prep", "-e", "base"], cwd=repo, env=env, stdin="")
        editor = dict(env, GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="core.editor",
                      GIT_CONFIG_VALUE_0=f"cp {os.path.join(OUT, 'cover-letter.txt')}")
        run([b4, "prep", "--edit-cover"], cwd=repo, env=editor, stdin="")
        git("checkout", "-q", BRANCH)
    count = len(glob.glob(f"{pdir}/0*.patch")) - 1
    print(f"series: {count} patches and a cover letter in {pdir}")
    print(f"series: git repository {repo}: branch {BRANCH} (the cover letter is its description)"
          + (f", branch b4/{BRANCH} enrolled with b4 prep (git checkout b4/{BRANCH}; "
             "b4 prep -p DIR, b4 send)" if b4 else "; b4 is not installed"))
    print(OUT)


if __name__ == "__main__":
    main()
