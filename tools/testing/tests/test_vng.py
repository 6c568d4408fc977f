# SPDX-License-Identifier: GPL-2.0
"""The memory-hotplug kselftests under virtme-ng, as an mm developer runs them on a laptop.

`vng` (PyPI virtme-ng, installed by deps.sh) boots a variant's kernel with the host's root
file system over 9p, under TCG (no KVM here), with two DIMMs cold-plugged into hot-pluggable
slots (QEMU options given to vng) whose blocks stay offline, and runs the kselftest runner
from the kselftests installed on the host (`make install` of tools/testing/selftests for the
memory-hotplug target). The variant's modules are where vng looks for them
(<build>/.virtme_mods). The results are checked as test_kselftest.py checks them, and the
compared tests' results must be identical on c and rust. The README gives the same commands
to run by hand.
"""

import os
import shutil
import subprocess

import ksft
from ktap import test
from vm import CACHE, build_dir, kernel_image

VNG = os.environ.get("VNG", "/opt/mhp-rust/vng/bin/vng")
QEMU_OPTS = ("-m 1G,slots=4,maxmem=8G "
             "-object memory-backend-ram,id=d1m,size=512M -device pc-dimm,id=d1,memdev=d1m "
             "-object memory-backend-ram,id=d2m,size=512M -device pc-dimm,id=d2,memdev=d2m")


def vng_command(variant, kdir, script):
    """The vng command line that runs `script` in a guest of `variant` that sees the host
    directory `kdir` and the variant's modules (vng overlays /var, /tmp, ... with the guest's
    own: share them as they are)."""
    return [VNG, "--run", kernel_image(variant), "--disable-kvm", "--disable-microvm",
            "--force-9p", "-m", "1G", "-p", "1", f"--rwdir={kdir}",
            f"--rwdir={build_dir(variant)}", f"--qemu-opts={QEMU_OPTS}", "--exec", script]


def install_kselftests(variant):
    """The memory-hotplug kselftests installed for the runner, on the host."""
    out = os.path.join(CACHE, "kselftest-vng", variant)
    subprocess.run(["rm", "-rf", out], check=True)
    subprocess.run(["make", "-s", "-C", os.path.join(CACHE, "src", "tools", "testing",
                                                    "selftests"),
                    "TARGETS=memory-hotplug", f"KSFT_INSTALL_PATH={out}", "install"],
                   check=True, capture_output=True)
    return out


def link_modules(variant):
    """vng takes the modules of a kernel run from a build directory from
    <build>/.virtme_mods/lib/modules/0.0.0: point it at the variant's installed modules."""
    root = os.path.join(build_dir(variant), "modroot", "lib", "modules")
    release = sorted(os.listdir(root))[-1]
    link = os.path.join(build_dir(variant), ".virtme_mods", "lib", "modules", "0.0.0")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link):
        os.remove(link)
    elif os.path.exists(link):  # vng made it (make modules_install, for a source tree)
        shutil.rmtree(link)
    os.symlink(os.path.join(root, release), link)


@test(variants=("c", "rust"), compare=True)
def vng_kselftests(case, variant):
    """vng boots the variant under TCG and the kselftest runner runs the memory-hotplug
    kselftests: all pass, skips only where due, the same results on c and rust."""
    if not case.check(os.access(VNG, os.X_OK), f"vng is installed ({VNG})",
                      "run tools/build/deps.sh"):
        return None
    kdir = install_kselftests(variant)
    link_modules(variant)
    tests = " ".join(f"-t memory-hotplug:{t}" for t in ksft.TESTS)
    # The runner appends each test's output to /dev/stdout, which vng points at a console
    # port of its own: point it at the script's stdout, a file opened for appending (as
    # test_kselftest.py does), so that the runner's lines and the tests' stay in order.
    script = (": >/tmp/ksft.out; ln -sfn /proc/self/fd/1 /dev/stdout; "
              f"cd {kdir} && ./run_kselftest.sh {tests} >>/tmp/ksft.out 2>&1; rc=$?; "
              "cat /tmp/ksft.out; echo RC=$rc; echo DMESG; dmesg")
    # vng runs its helpers (virtme-run) from its own bin directory.
    env = dict(os.environ, PATH=os.path.dirname(VNG) + ":" + os.environ["PATH"])
    r = subprocess.run(vng_command(variant, kdir, script), capture_output=True, text=True,
                       timeout=900, cwd="/tmp", env=env)
    # The guest's console output comes with CRLF line ends.
    out = r.stdout.replace("\r\n", "\n")
    case.check(r.returncode == 0, f"vng exits 0 ({r.returncode})",
               r.stderr[-3000:] + out[-3000:])
    if not case.check("RC=" in out and "DMESG" in out, "the script ran to its end in the guest",
                      r.stderr[-3000:] + out[-3000:]):
        return None
    ksft_out, _, rest = out.partition("RC=")
    rc, _, dmesg = rest.partition("DMESG")
    case.check("virtme-ng" in dmesg or "virtme" in dmesg, "the guest is vng's (its init ran)",
               dmesg[-2000:])
    return ksft.check(case, variant, int(rc.strip() or -1), ksft_out, dmesg)
