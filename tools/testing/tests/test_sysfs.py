# SPDX-License-Identifier: GPL-2.0
"""The memory sysfs ABI: full snapshots, and the errno of every bad write.

Everything here is compared between the variants byte for byte; a few
values are also checked against behaviour-6.12.md so that a test which
agrees with a wrong oracle still fails.
"""

from guest import blocks, sh, uevents, wait_blocks
from ktap import test
from vm import MiB, VM

# Every file and link under the memory subsystem's directories: path, type, mode and
# content (or link target). Write-only files are listed without content.
SNAPSHOT = r"""
snap() {
	local root=$1 f
	find "$root" -mindepth 1 | sort | while read -r f; do
		if [ -L "$f" ]; then
			echo "L ${f#$root/} -> $(readlink "$f" | sed 's|^\(\.\./\)*||')"
		elif [ -d "$f" ]; then
			echo "D ${f#$root/} $(stat -c %a "$f")"
		else
			mode=$(stat -c %a "$f")
			case "$mode" in
			*[4-7]??) echo "F ${f#$root/} $mode: $(cat "$f" 2>&1 | tr '\n' '|')" ;;
			*) echo "F ${f#$root/} $mode" ;;
			esac
		fi
	done
}
snap /sys/devices/system/memory
echo "== /sys/bus/memory"
snap /sys/bus/memory
"""


@test(variants=("c", "rust", "debug"), compare=True)
def sysfs_snapshot(case, variant):
    """Files, modes, contents and links of the memory subsystem: boot, DIMM plug, online."""
    t = []
    with VM(variant, numa=True) as vm:
        snap = sh(vm, SNAPSHOT)
        t.append("== boot, two NUMA nodes")
        t.append(snap)
        lines = snap.splitlines()
        case.check("F block_size_bytes 444: 8000000|" in lines, "block_size_bytes is 8000000", snap)
        case.check("F auto_online_blocks 644: offline|" in lines, "auto_online_blocks is 644")
        case.check("F probe 200" in lines, "probe is write-only (0200)")
        case.check("F soft_offline_page 200" in lines and "F hard_offline_page 200" in lines,
                   "soft/hard_offline_page are write-only (0200)")
        case.check("F memory0/phys_index 444: 00000000|" in lines, "memory0/phys_index")
        case.check("F memory0/removable 444: 1|" in lines, "removable reads 1")
        case.check("F memory0/state 644: online|" in lines, "boot memory is online")
        case.check("F memory0/online 644: 1|" in lines, "online reads 1")
        case.check(any(ln.startswith("L memory0/node0 -> ") for ln in lines),
                   "memory0 links to node0")
        case.check(any(ln.startswith("L memory7/node1 -> ") for ln in lines),
                   "memory7 links to node1")
        # The distro-like configuration's files: PM_SLEEP's power/ directories, crash_hotplug.
        case.check("D memory0/power 755" in lines,
                   "memory block devices have a power/ directory (PM_SLEEP)", snap)
        case.check(any(ln.startswith("F crash_hotplug 444: ") for ln in lines),
                   "crash_hotplug is 0444 (CRASH_HOTPLUG)", snap)
        # ZONE_DMA: block 0 spans DMA and DMA32, so it has no single zone.
        case.check("F memory0/valid_zones 444: none|" in lines,
                   "memory0 spans two zones: valid_zones reads none", snap)

        base = blocks(vm)
        vm.plug_dimm("d1", 256 * MiB, node=1)
        wait_blocks(vm, len(base) + 2)
        uevents(vm, 2)
        snap = sh(vm, SNAPSHOT)
        t.append("== DIMM of 256 MiB plugged on node 1")
        t.append(snap)
        case.check("F memory32/state 644: offline|" in snap.splitlines(),
                   "the plugged block reads offline", snap)
        case.check("F memory32/valid_zones 444: Normal Movable|" in snap.splitlines(),
                   "its valid_zones reads 'Normal Movable'")
        case.check(any(ln.startswith("L memory33/node1 -> ") for ln in snap.splitlines()),
                   "it links to node1")
        sh(vm, "w $M/memory32/state online_movable; w $M/memory33/state online_kernel")
        snap = sh(vm, SNAPSHOT)
        t.append("== one block online_movable, one online_kernel")
        t.append(snap)
        case.check("F memory33/valid_zones 444: Normal|" in snap.splitlines(),
                   "the online_kernel block reads Normal", snap)
    return "\n".join(t) + "\n"


# Writes whose errno is checked: file, value (bash $'...' syntax), and the result C
# gives where behaviour-6.12.md states it (None: only compared between variants).
def corpus(free_addr, blk):
    st = f"memory{blk}/state"
    on = f"memory{blk}/online"
    long = "o" * 5000
    out = []
    for v, want in [("", "OK"), (" ", "Invalid argument"), ("\\n", "Invalid argument"),
                    ("online", "OK"), ("online\\n", "OK"), ("online\\n\\n", "Invalid argument"),
                    ("Online", "Invalid argument"), (" online", "Invalid argument"),
                    ("online ", "Invalid argument"), ("onlinex", "Invalid argument"),
                    ("online_movable", "OK"), ("online_kernel", "OK"), ("offline", "OK"),
                    ("1", "Invalid argument"), (long, "Invalid argument")]:
        out.append(("auto_online_blocks", v, want))
    out.append(("auto_online_blocks", "offline", "OK"))
    for v, want in [("0x", "Invalid argument"), ("junk", "Invalid argument"),
                    ("-1", "Invalid argument"), ("0x100000001", "Invalid argument"),
                    ("0x10000000000000000", "Numerical result out of range"),
                    ("0x0", "File exists"), ("0x8000000", "File exists"),
                    ("0x4000000000000", None), (long, "Invalid argument"),
                    (f"{free_addr:#x} ", "Invalid argument"), (f"{free_addr:#x}\\n", "OK"),
                    (f"{free_addr:#x}", "File exists")]:
        out.append(("probe", v, want))
    for f in ("soft_offline_page", "hard_offline_page"):
        for v, want in [("junk", "Invalid argument"), ("0x", "Invalid argument"),
                        ("0x10000000000000000", "Invalid argument"),
                        ("0x4000000000000", "No such device or address")]:
            out.append((f, v, want))
    for v, want in [("", "OK"), ("offline", "Invalid argument"), ("bogus", "Invalid argument"),
                    ("Online", "Invalid argument"), ("online\\n\\n", "Invalid argument"),
                    (long, "Invalid argument"),
                    ("online_movable", "OK"), ("online", "Invalid argument"),
                    ("online_kernel", "Invalid argument"), ("online_movable", "Invalid argument"),
                    ("offline\\n", "OK"), ("offline", "Invalid argument")]:
        out.append((st, v, want))
    for v, want in [("2", "Invalid argument"), ("x", "Invalid argument"), ("", "OK"),
                    ("0", "OK"), ("no", "OK"), ("off", "OK"), ("1", "OK"), ("yes", "OK"),
                    ("on", "OK"), ("online_movable", "OK"), ("0", "OK"),
                    ("o", "Invalid argument"), ("  1", "Invalid argument")]:
        out.append((on, v, want))
    # Boot memory with unmovable pages cannot be offlined.
    out.append(("memory0/state", "offline", None))
    return out


@test(variants=("c", "rust", "debug"), compare=True)
def sysfs_bad_input(case, variant):
    """The result (errno text) of every write in the corpus, including probe."""
    t = []
    # movable_node: the policy puts hot-plugged memory in ZONE_MOVABLE, so that the
    # block under test offlines reliably whichever way it was onlined.
    with VM(variant, append="movable_node") as vm:
        base = blocks(vm)
        vm.plug_dimm("d1", 128 * MiB)
        blk = sorted(set(wait_blocks(vm, len(base) + 1)) - set(base))[0]
        # A free, aligned range for probe: above the DIMM.
        free_addr = (blk + 8) * 128 * MiB
        for f, v, want in corpus(free_addr, blk):
            res = sh(vm, f"w $M/{f} $'{v}'").strip()
            shown = v if len(v) < 40 else v[:10] + f"...({len(v)} bytes)"
            t.append(f"{f} <- {shown!r}: {res}")
            if want is not None:
                case.eq(res, want, f"{f} <- {shown!r}")
        t.append(f"after: {sorted(blocks(vm).items())}")
        ev = uevents(vm)
        t.append(f"uevents: {', '.join(ev)}")
        case.check(f"add memory{blk + 8}" in ev, "probe adds a block (add uevent)", ev)
        dmesg = sh(vm, "dmesg")
        for bad in ("WARNING:", "BUG:", "Oops"):
            case.check(bad not in dmesg, f"no '{bad}' in the kernel log", dmesg[-3000:])
    return "\n".join(t) + "\n"


# As `nobody`: read and write each file (a write that would be valid for root), and print
# the result (OK or the error text) of each.
NONROOT = r"""
declare -f w > /tmp/w.sh
P=/sys/module/memory_hotplug/parameters
/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups bash -c '
. /tmp/w.sh
id -u
while read -r f v; do
	r=$(cat "$f" 2>&1 >/dev/null | head -n 1)
	echo "$f read=${r:-OK} write=$(w "$f" "$v")"
done' <<EOF2
%(files)s
EOF2
"""


@test(variants=("c", "rust"), compare=True)
def sysfs_nonroot(case, variant):
    """An unprivileged user reads what is world-readable and writes nothing; without
    CAP_SYS_ADMIN root cannot soft/hard-offline a page (EPERM), as on C."""
    with VM(variant) as vm:
        base = blocks(vm)
        vm.plug_dimm("d1", 128 * MiB)
        blk = sorted(set(wait_blocks(vm, len(base) + 1)) - set(base))[0]
        addr = blk * 128 * MiB
        b = f"/sys/devices/system/memory/memory{blk}"
        files = [(f"{b}/state", "online_movable"), (f"{b}/online", "1"),
                 (f"{b}/valid_zones", "x"), (f"{b}/phys_index", "x"),
                 (f"{b}/phys_device", "x"), (f"{b}/removable", "x"),
                 ("$M/block_size_bytes", "x"), ("$M/auto_online_blocks", "online"),
                 ("$M/probe", f"{addr:#x}"), ("$M/soft_offline_page", f"{addr:#x}"),
                 ("$M/hard_offline_page", f"{addr:#x}"),
                 ("$P/online_policy", "auto-movable"), ("$P/auto_movable_ratio", "100"),
                 ("$P/auto_movable_numa_aware", "N"), ("$P/memmap_on_memory", "Y")]
        body = "\n".join(f"{f.replace('$M', '/sys/devices/system/memory')} {v}"
                         for f, v in files)
        out = sh(vm, NONROOT % {"files": body.replace("$P", "/sys/module/memory_hotplug/"
                                                               "parameters")})
        lines = out.splitlines()
        case.eq(lines[0], "65534", "the commands run as uid 65534")
        res = {ln.split()[0]: ln.split(" ", 1)[1] for ln in lines[1:]}
        case.eq(len(res), len(files), f"{len(files)} files tried")
        for path, r in res.items():
            case.check(r.endswith("write=Permission denied"),
                       f"{path.split('/')[-1]}: the write is refused (EACCES)", r)
            mode_readable = not path.endswith(("probe", "offline_page"))
            case.check(r.startswith("read=OK") == mode_readable,
                       f"{path.split('/')[-1]}: read {'allowed' if mode_readable else 'refused'}",
                       r)
        case.eq(blocks(vm)[blk][0], "offline", "the block is still offline")
        capless = sh(vm, "for f in soft_offline_page hard_offline_page; do "
                         "/usr/bin/setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "
                         # No real page: were the check missing, nothing is poisoned.
                         "bash -c \"$(declare -f w); w $M/$f 0xfffffffffffff000\"; done"
                         ).split("\n")
        case.eq(capless[:2], ["Operation not permitted"] * 2,
                "root without CAP_SYS_ADMIN: soft/hard_offline_page fail with EPERM")
    return out + "\n".join(capless)
