# SPDX-License-Identifier: GPL-2.0
"""The seeded sysfs fuzzer (fuzz.py) on c and rust: same seed, same results.

FUZZ_SEED (default 1) and FUZZ_WRITES choose the run; any run is reproduced with
`make fuzz SEED=<seed> WRITES=<n> VARIANTS=c,rust`. Without FUZZ_WRITES, c and rust
make 2000 writes each and are compared, and debug makes 10^4 under its checkers (not
compared, as c and rust make fewer); with it, every variant
makes that many and all are compared. Where the guest's time went, by file and result,
is kept in the transcripts (sysfs_fuzz.<variant>.time.txt).
"""

import os
import re

import fuzz
import ktap
from guest import blocks, load_policy, sh, wait_blocks
from ktap import test
from vm import MiB, VM

SEED = int(os.environ.get("FUZZ_SEED", "1"))
WRITES = {"c": 2000, "rust": 2000, "debug": 10000, "c-kcsan": 2000, "rust-kcsan": 2000}
COMPARED = ("c", "rust", "c-kcsan", "rust-kcsan")
if "FUZZ_WRITES" in os.environ:
    WRITES = {v: int(os.environ["FUZZ_WRITES"]) for v in WRITES}
    COMPARED = True

# The state the writes leave behind, compared between the variants.
STATE = r"""
P=/sys/module/memory_hotplug/parameters
R=/sys/kernel/debug/memory_notifier_recorder
blocks
echo "auto_online_blocks $(cat $M/auto_online_blocks)"
for p in online_policy auto_movable_ratio auto_movable_numa_aware memmap_on_memory; do
	echo "$p $(cat $P/$p)"
done
echo "inject:"; cat $R/inject
echo "log: $(wc -l < $R/log) lines"
grep -E '^HardwareCorrupted:' /proc/meminfo
"""


# Between the phases: the policy as at boot (the C defaults), auto-online off.
RESET = ("P=/sys/module/memory_hotplug/parameters; echo contig-zones > $P/online_policy; "
         "echo 301 > $P/auto_movable_ratio; echo Y > $P/auto_movable_numa_aware; "
         "echo offline > $M/auto_online_blocks")


@test(variants=("c", "rust", "debug", "c-kcsan", "rust-kcsan"), compare=COMPARED)
def sysfs_fuzz(case, variant):
    """Seeded writes to every writable memory hotplug file: C's errno for each, same state."""
    writes = WRITES[variant]
    t = [f"seed {SEED}, {writes} writes"]
    # movable_node: every block the writes online is in ZONE_MOVABLE (online_kernel is not
    # among the words of `state`), so offlines succeed or fail the same way everywhere.
    with VM(variant, append="movable_node memhp_default_state=offline") as vm:
        load_policy(vm)  # where it is a module: its parameters are fuzzed too
        sh(vm, "modprobe memory_notifier_recorder")
        base = blocks(vm)
        vm.plug_dimm("d1", 256 * MiB)
        new = sorted(set(wait_blocks(vm, len(base) + 2)) - set(base))
        memtotal = int(sh(vm, "memtotal"))
        layout = {"blocks": new, "bs": 128 * MiB, "boot": 1024 * MiB}
        pairs = fuzz.writes(SEED, writes // 2, layout, "params")
        results, times = fuzz.run(vm, sh, pairs)
        sh(vm, RESET)
        blk = fuzz.writes(SEED, writes - writes // 2, layout, "blocks")
        pairs += blk
        res, tim = fuzz.run(vm, sh, blk)
        results += res
        times += tim
        case.eq(len(results), len(pairs), f"{len(pairs)} writes performed")
        # The recorder injects any errno below 4096, so a write may end with any of them:
        # strerror()'s text of a known one (the guest's glibc is the host's, whose texts
        # os.strerror() gives) after its last ": " (fuzz.RUN keeps that part: "cannot
        # splice" of ETOOMANYREFS), or "Unknown error N".
        known = {"OK"} | {os.strerror(e).rsplit(": ", 1)[-1] for e in range(1, 4096)}
        odd = sorted(r for r in set(results) - known if not re.fullmatch(r"Unknown error \d+", r))
        case.check(not odd, "every write ends with OK or an errno", odd)
        counts = {}
        for i, ((path, payload), res) in enumerate(zip(pairs, results)):
            if i in (0, writes // 2):
                t.append(f"== phase {'params' if i == 0 else 'blocks'}")
            t.append(f"{path} <- {fuzz.shown(payload)}: {res}")
            counts[res] = counts.get(res, 0) + 1
        # Kept even if a later step fails, to find the write that broke something.
        os.makedirs(ktap.TRANSCRIPTS, exist_ok=True)
        with open(os.path.join(ktap.TRANSCRIPTS, f"sysfs_fuzz.{variant}.writes.txt"), "w") as f:
            f.write("\n".join(t) + "\n")
        # Where the guest's time went (seconds, writes, file, result): not compared.
        with open(os.path.join(ktap.TRANSCRIPTS, f"sysfs_fuzz.{variant}.time.txt"), "w") as f:
            f.write("\n".join(fuzz.profile(pairs, results, times)) + "\n")
        case.check(counts.get("OK", 0) > writes // 20, f"results: {counts}")
        # Leave the recorder harmless, then read the state.
        sh(vm, "echo clear > /sys/kernel/debug/memory_notifier_recorder/inject")
        t.append(sh(vm, STATE))
        t.append(f"MemTotal change: {int(sh(vm, 'memtotal')) - memtotal} kB")
        for b in new:
            sh(vm, f"w $M/memory{b}/state offline > /dev/null")
        case.eq([blocks(vm)[b][0] for b in new], ["offline"] * len(new),
                "the fuzzed blocks can be offlined afterwards")
        vm.unplug_dimm("d1")
        case.eq(sorted(wait_blocks(vm, len(base))), sorted(base), "the DIMM can be ejected")
    return "\n".join(t) + "\n"
