# SPDX-License-Identifier: GPL-2.0
"""The series as it would be posted (`make series`, tools/build/series.py).

It is generated, applied with `git am` to a git repository of the whole pristine tree, and
the result compared with the prepared tree ($MHP_CACHE/src: pristine + patches + overlay) on
every file the project adds or changes. The cover letter must be complete (no template
left), b4 prep must see the series and format the same patches.
"""

import glob
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

from kbuild import CACHE, SRC, TOP, kmake_in
from ktap import test

BASE_DATE = "Mon, 7 Dec 2026 11:00:00 +0000"


def sh(cmd, cwd=None, env=None):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def diff_part(patch_text):
    """The diff of a patch mail: from the first `diff --git` to the signature."""
    body = patch_text[patch_text.find("\ndiff --git "):]
    return re.split(r"\n-- \n|\nbase-commit: ", body)[0].rstrip("\n")


def pristine_repo(case, name, patches):
    """$MHP_CACHE/NAME: a git repository of the whole pristine tree (made once per pristine
    source, reset to it before each run) with `patches` applied by git am; its path, or
    None (the failure checked)."""
    pristine = os.environ.get("KSRC") or os.path.join(CACHE, "pristine")
    tree = os.path.join(CACHE, name)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org",
               GIT_AUTHOR_DATE=BASE_DATE, GIT_COMMITTER_DATE=BASE_DATE,
               GIT_CEILING_DIRECTORIES=CACHE)
    source_id = pristine + ":" + (open(f"{CACHE}/pristine.id").read().strip()
                                  if pristine == os.path.join(CACHE, "pristine") else
                                  str(os.stat(os.path.join(pristine, "Makefile")).st_mtime))
    marker = os.path.join(tree, ".git", "mhp-pristine-id")
    fresh = not os.path.exists(marker) or open(marker).read() != source_id
    if fresh:
        shutil.rmtree(tree, ignore_errors=True)
        # Hard links: git replaces the files it changes (unlink, create), as prepare-tree.sh
        # relies on.
        steps = [["cp", "-al", pristine, tree], ["git", "init", "-q"], ["git", "add", "-A", "-f"],
                 ["git", "commit", "-q", "-m", "pristine"], ["git", "tag", "pristine"],
                 ["git", "checkout", "-q", "-b", "series"]]
    else:
        steps = [["git", "am", "--abort"], ["git", "checkout", "-q", "-f", "-B", "series",
                                             "pristine"],
                 ["git", "clean", "-q", "-f", "-d", "-x"]]
    for cmd in steps:
        r = sh(cmd, cwd=tree if cmd[0] == "git" else None, env=env)
        if cmd[1] != "am" and not case.check(r.returncode == 0, f"pristine repository "
                                             f"({'new' if fresh else 'reset'}): {' '.join(cmd)}",
                                             r.stdout + r.stderr):
            return None
    if fresh:
        with open(marker, "w") as f:
            f.write(source_id)
    files = int(sh(["git", "ls-files"], cwd=tree).stdout.count("\n"))
    case.check(files > 50000, f"the repository holds the whole tree ({files} files)")
    r = sh(["git", "am", "-q", *patches], cwd=tree, env=env)
    if not case.check(r.returncode == 0, f"git am of the {len(patches)} patches",
                      r.stdout[-3000:] + r.stderr[-3000:]):
        sh(["git", "am", "--abort"], cwd=tree, env=env)
        return None
    return tree


@test()
def series_git_am(case):
    """make series: the cover letter and patches apply with git am and give the prepared tree."""
    r = sh([f"{TOP}/tools/build/series.py"])
    if not case.check(r.returncode == 0, "tools/build/series.py exits 0", r.stdout + r.stderr):
        return
    out = r.stdout.strip().splitlines()[-1]
    case.eq(out, os.path.join(CACHE, "series"), "its last line is the series directory")
    mails = sorted(glob.glob(f"{out}/patches/0*.patch"))
    cover_file, patches = mails[0], mails[1:]
    groups = open(f"{TOP}/tools/series/groups").read().count("\n%%\n")
    want = len(glob.glob(f"{TOP}/patches/*.patch")) + groups
    case.eq(len(patches), want, "one mail per patch of patches/ and per commit of "
            "tools/series/groups (the cover's record aside)")
    cover = open(cover_file).read()
    case.check(os.path.basename(cover_file) == "0000-cover-letter.patch"
               and f"Subject: [PATCH 00/{want}] " in cover, f"a cover letter [PATCH 00/{want}]")
    case.check("*** SUBJECT HERE ***" not in cover and "*** BLURB HERE ***" not in cover,
               "the cover letter has no template text left")
    readme = open(f"{TOP}/README.md").read()
    intro = readme.split("\n", 1)[1].strip().split("\n\n")[0].replace("`", "")
    measured = readme.split("## The two commands", 1)[1].split("```\n\n", 1)[1] \
        .split("\n\n")[0].replace("`", "")
    for what, text in (("README's introduction", intro), ("README's measured build and test "
                                                              "times", measured)):
        case.check(" ".join(text.split()) in " ".join(cover.split()),
                   f"the cover letter quotes the {what}")
    for name in ("kunit.py run --arch=x86_64", "TARGETS=memory-hotplug",
                 "million guest instructions"):
        case.check(name in cover, f"the cover letter has '{name}'")
    subjects = []
    for p in patches:
        text = open(p).read()
        m = re.search(r"^Subject: \[PATCH \d+/\d+\] (.*(?:\n .*)*)", text, re.M)
        subjects.append(" ".join(m.group(1).split()) if m else p)
        case.check(re.search(r"^Signed-off-by: .+ <.+>$", text, re.M),
                   f"{os.path.basename(p)} is signed off")
    # git shortlog's block: "Author (N):", a subject per line (two spaces; a wrapped
    # subject goes on with four).
    m = re.search(r"^\S.* \((\d+)\):\n((?:  .*\n)+)", cover, re.M)
    shortlog = re.sub(r"\n    ", " ", m.group(2)).splitlines() if m else []
    case.eq([line.strip() for line in shortlog], subjects,
            f"the cover letter's shortlog lists the {len(subjects)} subjects in order")

    pristine = os.environ.get("KSRC") or os.path.join(CACHE, "pristine")
    tree = pristine_repo(case, "series-am", patches)
    if tree is None:
        return
    log = sh(["git", "log", "--format=%s", "HEAD~%d..HEAD" % len(patches)], cwd=tree).stdout
    case.eq(len(log.splitlines()), len(patches), "one commit per patch")

    # The result against the prepared tree, for every file the project adds or changes.
    overlay = sh([f"{TOP}/tools/build/prepare-tree.sh", "--overlay"]).stdout.split()[1::2]
    touched = set(overlay)
    for p in glob.glob(f"{TOP}/patches/*.patch"):
        touched |= set(re.findall(r"^diff --git a/\S+ b/(\S+)$", open(p).read(), re.M))
    changed = set(sh(["git", "diff", "--name-only", "HEAD~%d" % len(patches), "HEAD"],
                     cwd=tree).stdout.split())
    case.eq(sorted(changed), sorted(touched), f"the series changes exactly the {len(touched)} "
            "files of the overlay and the patches")
    differ = []
    for path in sorted(touched):
        a, b = os.path.join(tree, path), os.path.join(SRC, path)
        if not (os.path.exists(a) and os.path.exists(b)) or \
                open(a, "rb").read() != open(b, "rb").read() or \
                (os.stat(a).st_mode & stat.S_IXUSR) != (os.stat(b).st_mode & stat.S_IXUSR):
            differ.append(path)
    case.check(not differ, f"those {len(touched)} files (content, executable bit) equal the "
               "prepared tree's", "\n".join(differ))
    base = os.path.join(out, "repo")
    untouched = [p for p in sh(["git", "ls-tree", "-r", "--name-only", "base"],
                               cwd=base).stdout.split()
                 if subprocess.run(["git", "show", f"base:{p}"], cwd=base,
                                   capture_output=True).stdout
                 != open(os.path.join(pristine, p), "rb").read()]
    case.check(not untouched, "the pristine tree is unchanged", "\n".join(untouched))

    # b4 prep (deps.sh installs it): the enrolled branch, formatted by b4.
    if not case.check(shutil.which("b4"), "b4 is installed (deps.sh)"):
        return
    sh(["git", "checkout", "-q", "b4/mhp-rust"], cwd=base)
    try:
        info = sh(["b4", "prep", "--show-info"], cwd=base)
        fields = dict(line.split(": ", 1) for line in info.stdout.splitlines() if ": " in line)
        case.eq(fields.get("base-commit"), sh(["git", "rev-parse", "base"], cwd=base)
                .stdout.strip(), "b4 prep --show-info: the base is branch base")
        case.eq(len([k for k in fields if k.startswith("commit-")]), len(patches),
                "b4 prep --show-info: it tracks every patch")
        cover_subject = re.search(r"^Subject: \[PATCH 00/\d+\] (.*(?:\n .*)*)", cover, re.M)
        case.eq(fields.get("cover-subject"), " ".join(cover_subject.group(1).split()),
                "b4 prep --show-info: the cover letter's subject")
        with tempfile.TemporaryDirectory() as tmp:
            r = sh(["b4", "prep", "-p", tmp], cwd=base)
            b4mails = sorted(glob.glob(f"{tmp}/0*.patch"))
            case.check(r.returncode == 0 and len(b4mails) == len(patches) + 1,
                       f"b4 prep -p formats {len(patches)} patches and a cover letter",
                       r.stdout + r.stderr)
            same = [diff_part(open(a).read()) == diff_part(open(b).read())
                    for a, b in zip(b4mails[1:], patches)]
            case.check(same and all(same), "b4's patches carry the same diffs as ours")
    finally:
        sh(["git", "checkout", "-q", "mhp-rust"], cwd=base)


def project_commit():
    r = sh(["git", "-C", TOP, "rev-parse", "HEAD"])
    return r.stdout.strip() if r.returncode == 0 else "unknown"


# Built at each step: the whole kernel and its modules, with the configuration of the
# rust-mod variant (the driver built in, the policy a module: both sides of its exports).
BISECT_CONFIG = "rust-mod"
BISECT_TARGETS = ("vmlinux", "modules")


def series_warnings(log, tree, touched):
    """The compiler warnings of a build log (clang's `FILE:LINE:COL: warning:`, rustc's
    `warning: ...` with its `--> FILE:LINE:COL`) about the files in `touched`."""
    out = []
    for block in re.split(r"\n(?=\S)", log):
        m = (re.match(r"(\S+?):\d+:\d+: warning: ", block)
             or (block.startswith("warning") and re.search(r"^\s*--> (\S+?):\d+:\d+$", block,
                                                             re.M)))
        if m and os.path.relpath(os.path.join(tree, m.group(1)), tree) in touched:
            out.append(block.splitlines()[0] + f" ({m.group(1)})")
    return out


@test()
def series_bisect(case):
    """Every commit of the posted series builds (vmlinux and modules, the rust-mod
    configuration, no warning), so that git bisect can stop anywhere in it. `make bisect`
    (BISECT=all) builds every commit, BISECT=K,... the steps named; `make test` builds one
    that changes from commit to commit of this repository (chosen from its id, printed); the
    last commit is the prepared tree every variant is built from."""
    out = os.path.join(CACHE, "series-bisect-out")
    r = sh([f"{TOP}/tools/build/series.py"], env=dict(os.environ, SERIES_OUT=out))
    if not case.check(r.returncode == 0, "tools/build/series.py exits 0", r.stdout + r.stderr):
        return
    patches = sorted(glob.glob(f"{out}/patches/0*.patch"))[1:]
    tree = pristine_repo(case, "series-bisect", patches)
    if tree is None:
        return
    commits = sh(["git", "rev-list", "--reverse", "pristine..series"], cwd=tree).stdout.split()
    case.eq(len(commits), len(patches), "one commit per patch")
    want = os.environ.get("BISECT", "")
    if want == "all":
        steps = list(range(len(commits)))
    elif want:
        steps = [int(k) - 1 for k in want.split(",") if 0 < int(k) <= len(commits)]
    else:
        commit = project_commit()
        steps = [int(hashlib.sha256(commit.encode()).hexdigest(), 16) % (len(commits) - 1)]
        print(f"# series_bisect: commit {commit[:12]} builds step {steps[0] + 1} of "
              f"{len(commits)} (BISECT=all: every step)", flush=True)
    cfg = os.path.join(CACHE, f"build-{BISECT_CONFIG}", ".config")
    if not case.check(os.path.exists(cfg), f"the {BISECT_CONFIG} variant is configured", cfg):
        return
    # Upstream's own warnings (e.g. -Wframe-larger-than in fs/ with this configuration) are
    # not the series': only those in the files it adds or changes count.
    touched = set(sh(["git", "diff", "--name-only", "pristine", "series"], cwd=tree).stdout.split())
    build = os.path.join(CACHE, "build-bisect")
    os.makedirs(build, exist_ok=True)
    for k in steps:
        subject = sh(["git", "log", "-1", "--format=%s", commits[k]], cwd=tree).stdout.strip()
        what = f"{k + 1}/{len(commits)} '{subject}'"
        r = sh(["git", "checkout", "-q", commits[k]], cwd=tree)
        if not case.check(r.returncode == 0, f"checkout of {what}", r.stderr):
            return
        # The variant's configuration at every step: olddefconfig drops what this step's
        # Kconfig does not know yet, the copy brings it back for the next.
        shutil.copy(cfg, os.path.join(build, ".config"))
        start = time.monotonic()
        rc, log = kmake_in(tree, build, "olddefconfig", *BISECT_TARGETS)
        case.check(rc == 0, f"step {what} builds", log[-3000:])
        warnings = series_warnings(log, tree, touched)
        case.check(not warnings, f"step {what}: no warning in the files the series touches",
                   "\n".join(warnings[:40]))
        case.note(f"step {k + 1}: {time.monotonic() - start:.0f} s")
    sh(["git", "checkout", "-q", "series"], cwd=tree)
