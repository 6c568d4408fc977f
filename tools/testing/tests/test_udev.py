# SPDX-License-Identifier: GPL-2.0
"""systemd-udevd onlines hot-added memory, as distributions do.

Debian's udev (its systemd-udevd, udevadm and rules, copied into the guest by
initramfs.sh) runs with one rule more, the one distributions ship for memory hot-add:

    SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="<type>"

udevd is started as a distribution's boot does (daemon, `udevadm trigger`, `udevadm
settle`); then DIMMs are plugged and ejected and a virtio-mem device grows. Compared
between c and rust: the zone of every block, `udevadm info` of the new blocks (their
properties and attributes, as udev's database has them) and what udevd logged as failed.

- `udev_online_movable`: the rule onlines to ZONE_MOVABLE (contig-zones policy), so the
  DIMMs can be ejected again.
- `udev_online_auto_movable`: the rule writes a plain `online` and the auto-movable policy
  picks the zone of each block (at ratio 50 %: ZONE_MOVABLE first, then the kernel zone).
- `udev_with_auto_online`: the kernel's own auto-online (`auto_online_blocks`) is on at
  the same time, the race users hit. The kernel onlines the blocks of an add under
  device_hotplug_lock, which udevd's write to `state` takes too, so udevd finds them online
  (its rule does not match) or its write fails with EINVAL: the kernel wins every block it
  adds. Switched off at run time (`echo offline > auto_online_blocks`), udevd onlines the
  next DIMM; switched on again, the kernel onlines virtio-mem's blocks. udevd's debug log
  says, for each block, whether it wrote `state` and whether the write failed: who onlined
  which block is compared between c and rust, every block ends online in Movable, no WARN
  (the VM fails on any kernel report).
"""

import re

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import GiB, MiB, VM

RULE = ('SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", '
        'ATTR{state}="%s"\n')
RULES_FILE = "/etc/udev/rules.d/80-memory-online.rules"


def start_udevd(case, vm, online_type):
    """Install the rule and start systemd-udevd as Debian's init script does (`--daemon`:
    it returns once its sockets are set up; its log goes to the kernel log), then trigger
    the devices present and wait until it is idle. One worker: with several, the blocks of a
    device are onlined in the order the workers happen to run, and under a ratio-bound
    policy the zones depend on that order, so c and rust would not compare."""
    rule = RULE % online_type
    sh(vm, f"printf '%s' '{rule}' >{RULES_FILE}; mkdir -p /run/udev; "
           "SYSTEMD_LOG_TARGET=kmsg /lib/systemd/systemd-udevd --daemon --children-max=1")
    case.check("Starting systemd-udevd" in sh(vm, "dmesg | grep -a udevd || true"),
               "systemd-udevd started, logging to the kernel log")
    sh(vm, "udevadm trigger --type=subsystems --action=add; "
           "udevadm trigger --type=devices --action=add; udevadm settle --timeout=60",
       timeout=180)


def settle(vm):
    sh(vm, "udevadm settle --timeout=120", timeout=180)


def wait_online(vm, ids, timeout=120):
    """Wait until udevd onlined the blocks `ids`; return blocks()."""
    sh(vm, "for i in $(seq %d); do n=0; for b in %s; do "
           "[ \"$(cat $M/memory$b/state)\" = online ] || n=1; done; "
           "[ $n = 0 ] && break; sleep 0.2; done" % (timeout * 5, " ".join(map(str, ids))),
       timeout=timeout + 30)
    settle(vm)
    return blocks(vm)


def zones(bl, ids):
    return " ".join(f"{i}:{bl[i][1] if bl[i][0] == 'online' else bl[i][0]}" for i in ids)


def udev_info(vm, ids):
    """`udevadm info` of the blocks: properties (not the time udev saw them) and, for the
    first one, the attribute walk up to the memory subsystem's root."""
    out = []
    for i in ids:
        for line in sh(vm, f"udevadm info -q property -p /devices/system/memory/memory{i}"
                       ).splitlines():
            if not line.startswith("USEC_INITIALIZED="):
                out.append(f"memory{i}: {line}")
    if ids:
        walk = sh(vm, f"udevadm info -a -p /devices/system/memory/memory{ids[0]}")
        out += [f"walk: {line.strip()}" for line in walk.splitlines() if line.strip()]
    return out


def udevd_failures(vm):
    """What udevd and its workers (`(udev-worker)`) logged as failed or erroneous since it
    started (in the kernel log, not rate-limited: printk.devkmsg=on), without times and
    process ids."""
    log = sh(vm, "dmesg | grep -a 'udev' || true")
    # "Invalid sender uid 65534" is udevd ignoring a control message (udevadm settle's ping)
    # whose credentials it did not get (user space, on c and rust alike; udevadm retries).
    return [re.sub(r"\[\s*[\d.]+\]|\[\d+\]", "", line).strip() for line in log.splitlines()
            if re.search(r"[Ff]ail|[Ee]rror|[Ii]nvalid|denied", line)
            and "Invalid sender uid" not in line]


def plug(vm, dimm, size, have):
    """Plug a DIMM; return the ids of its blocks once they exist."""
    vm.plug_dimm(dimm, size)
    bsize = int(sh(vm, "cat $M/block_size_bytes"), 16)
    bl = wait_blocks(vm, len(have) + size // bsize, timeout=120)
    return sorted(set(bl) - set(have))


def grow(vm, size, have):
    """Grow the virtio-mem device to `size`; return the ids of its new blocks."""
    vm.virtio_mem_resize(size, timeout=300)
    bsize = int(sh(vm, "cat $M/block_size_bytes"), 16)
    bl = wait_blocks(vm, len(have) + size // bsize, timeout=300)
    return sorted(set(bl) - set(have))


def dimms_and_virtio_mem(case, vm, t, online_type, eject):
    """Plug two DIMMs, eject the first if `eject`, grow virtio-mem; udevd onlines it all."""
    base = blocks(vm)
    case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "offline",
            "the kernel does not online hot-added memory itself")
    start_udevd(case, vm, online_type)
    have = blocks(vm)
    case.eq(have, base, "udevd's start changed no boot block (the rule matches only offline "
                        "blocks being added)")
    d1 = plug(vm, "d1", 512 * MiB, have)
    bl = wait_online(vm, d1)
    t.append(f"d1 512M -> {zones(bl, d1)}")
    case.check(all(bl[i][0] == "online" for i in d1), "udevd onlined every block of d1",
               zones(bl, d1))
    d2 = plug(vm, "d2", 256 * MiB, bl)
    bl = wait_online(vm, d2)
    t.append(f"d2 256M -> {zones(bl, d2)}")
    case.check(all(bl[i][0] == "online" for i in d2), "udevd onlined every block of d2",
               zones(bl, d2))
    t += udev_info(vm, d1 + d2)
    if eject:
        vm.unplug_dimm("d1")
        bl = wait_blocks(vm, len(bl) - len(d1), timeout=120)
        settle(vm)
        case.check(not set(d1) & set(bl), "the ejected DIMM's blocks are gone", sorted(bl))
        t.append(f"eject d1 -> {len(bl)} blocks")
    vmem = grow(vm, 512 * MiB, bl)
    bl = wait_online(vm, vmem)
    t.append(f"virtio-mem 512M -> {zones(bl, vmem)}")
    case.check(all(bl[i][0] == "online" for i in vmem),
               "udevd onlined every block virtio-mem added", zones(bl, vmem))
    t += udev_info(vm, vmem[:1])
    bad = udevd_failures(vm)
    t += [f"udevd: {line}" for line in bad]
    return bl, ([] if eject else d1) + d2 + vmem


@test(variants=("c", "rust"), compare=True)
def udev_online_movable(case, variant):
    """A udev rule onlines hot-added DIMMs and virtio-mem memory to ZONE_MOVABLE."""
    t = []
    with VM(variant, virtio_mem=1 * GiB, append="printk.devkmsg=on") as vm:
        bl, ids = dimms_and_virtio_mem(case, vm, t, "online_movable", eject=True)
        case.check(all(bl[i] == ("online", "Movable") for i in ids),
                   "every hot-added block is online in Movable", zones(bl, ids))
        case.eq(udevd_failures(vm), [], "udevd reports no failure")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust"), compare=True)
def udev_online_auto_movable(case, variant):
    """A udev rule writes `online`; the auto-movable policy picks each block's zone."""
    t = []
    with VM(variant, virtio_mem=1 * GiB,
            append="printk.devkmsg=on memory_hotplug.online_policy=auto-movable "
                   "memory_hotplug.auto_movable_ratio=50") as vm:
        bl, ids = dimms_and_virtio_mem(case, vm, t, "online", eject=False)
        # 1 GiB of boot memory, 1.25 GiB hot-added: at a ratio of 50 % the policy puts the
        # first 512 MiB in Movable and the rest in the kernel zone (compared with c).
        found = {bl[i][1] for i in ids}
        case.check(found == {"Movable", "Normal"}, "auto-movable put hot-added blocks in "
                   "Movable and, past the ratio, in Normal", zones(bl, ids))
        case.eq(udevd_failures(vm), [], "udevd reports no failure")
    return "\n".join(t) + "\n"


def writers(vm, ids):
    """Who onlined each block of `ids`, from udevd's debug log: `udevd` (its rule wrote
    `state`), `kernel` (the rule did not match: the block was online when udevd read it) or
    `kernel, udevd EINVAL` (udevd read it offline, then its write found it online)."""
    log = sh(vm, "dmesg | grep -a 'ATTR' || true")
    out = {}
    for i in ids:
        path = f"/sys/devices/system/memory/memory{i}/state"
        wrote = re.search(rf"ATTR '{path}' writing", log)
        failed = re.search(rf"Failed to write ATTR{{{path}}}, ignoring: (.*)", log)
        out[i] = ("kernel" if not wrote else
                  f"kernel, udevd {'EINVAL' if 'Invalid argument' in failed.group(1) else failed.group(1)}"
                  if failed else "udevd")
    return out


@test(variants=("c", "rust"), compare=True)
def udev_with_auto_online(case, variant):
    """udevd's rule and the kernel's auto-online at the same time: the kernel wins the blocks
    it adds while auto_online_blocks is on, udevd onlines them while it is off; all end
    online in Movable, nothing WARNs."""
    t = []
    with VM(variant, virtio_mem=1 * GiB,
            append="printk.devkmsg=on log_buf_len=4M memhp_default_state=online_movable") as vm:
        case.eq(sh(vm, "cat $M/auto_online_blocks").strip(), "online_movable",
                "auto_online_blocks=online_movable from the command line")
        start_udevd(case, vm, "online_movable")
        sh(vm, "udevadm control --log-level=debug")
        have = blocks(vm)
        who = {}
        for n, auto in ((1, "online_movable"), (2, "online_movable"), (3, "offline")):
            sh(vm, f"echo {auto} >$M/auto_online_blocks")
            new = plug(vm, f"d{n}", 256 * MiB, have)
            have = wait_online(vm, new)
            who.update(writers(vm, new))
            # Timing decides only whether udevd's rule matched; either way the kernel onlined.
            t.append(f"d{n} 256M, auto_online_blocks={auto} -> {zones(have, new)}, onlined by "
                     + " ".join(f"{i}:{who[i].split(',')[0]}" for i in new))
            case.check(all(have[i] == ("online", "Movable") for i in new),
                       f"d{n}: every block online in Movable", zones(have, new))
            want = "udevd" if auto == "offline" else "kernel"
            case.check(all(who[i].split(",")[0] == want for i in new),
                       f"d{n}: {want} onlined every block (auto_online_blocks={auto})",
                       " ".join(f"{i}:{who[i]}" for i in new))
        sh(vm, "echo online_movable >$M/auto_online_blocks")
        new = grow(vm, 512 * MiB, have)
        have = wait_online(vm, new)
        who.update(writers(vm, new))
        t.append(f"virtio-mem 512M -> {zones(have, new)}, onlined by "
                 + " ".join(f"{i}:{who[i].split(',')[0]}" for i in new))
        case.check(all(have[i] == ("online", "Movable") for i in new),
                   "virtio-mem: every block online in Movable", zones(have, new))
        case.check(all(who[i].split(",")[0] == "kernel" for i in new),
                   "virtio-mem: the kernel onlined every block", str(who))
        lost = sorted(i for i, w in who.items() if "udevd" in w and w != "udevd")
        case.note(f"blocks whose uevent udevd handled before the kernel onlined them (its "
                  f"write then failed): {lost or 'none'}")
        for n in range(1, 4):
            vm.unplug_dimm(f"d{n}")
        have = wait_blocks(vm, len(have) - 6, timeout=120)
        t.append(f"eject d1-d3 -> {len(have)} blocks")
        # A lost race is udevd's write failing with EINVAL, as a write of `online_movable` to
        # an online block does: the only failure allowed.
        bad = udevd_failures(vm)
        case.check(all("Invalid argument" in line for line in bad),
                   "udevd's only failures are writes to blocks auto-online had onlined",
                   "\n".join(bad))
    return "\n".join(t) + "\n"
