# SPDX-License-Identifier: GPL-2.0
"""Allocation failures injected into memory hotplug operations (debug variant).

failslab and fail_page_alloc are armed for the test's own task only
(task-filter, /proc/self/make-it-fail) with times=1 and a stepped interval, so
that each attempt fails one allocation, a different one as the interval grows
(the fault attribute's call counter carries over between attempts). Each
attempt must end with OK or an errno, never a crash, WARN or leak (the guest
is checked for splats and scanned by kmemleak at the end); afterwards the
system is consistent (a block exists with all its files or not at all, a
module is loaded with its files or not at all) and the same operation succeeds
once injection stops.

Memory group registration and DIMM plug run in ACPI's and virtio-mem's
kworkers, outside any task filter: they are not covered here.
"""

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import MiB, VM

F = "/sys/kernel/debug"
# Intervals tried: small ones fail the first allocations, larger ones reach further in.
INTERVALS = (2, 5, 9, 14)

# arm ATTR INTERVAL: fail the INTERVAL-th (counter-wise) allocation of tasks that opted in.
# run CMD...: run CMD in a task that opted in; print OK or the errno text, then whether a
# failure was injected (the armed attribute's `times`, $ARMED, went from 1 to 0).
HELPERS = r"""
arm() {
	local a=$F/$1
	echo 0 > $a/times
	echo Y > $a/task-filter
	echo N > $a/ignore-gfp-wait
	echo 100 > $a/probability
	echo 0 > $a/verbose
	echo $2 > $a/interval
	echo 1 > $a/times
}
disarm() { echo 0 > $F/failslab/times; echo 0 > $F/fail_page_alloc/times; }
run() {
	local e
	if e=$(bash -c 'echo 1 > /proc/self/make-it-fail; exec "$@"' run "$@" 2>&1 >/dev/null); then
		echo OK
	else
		e=$(echo "$e" | grep -v records | tail -n 1)
		echo "${e##*: }"
	fi
	if [ "$(cat $F/$ARMED/times)" = 1 ]; then
		echo none
	else
		echo injected
	fi
	disarm
}
"""

# `dd` writes the value with one write(2), as the `w` helper does.
WRITE = "dd of={f} bs=1M iflag=fullblock conv=notrunc status=none <<< '{v}'"


def _attempt(vm, attr, interval, cmd):
    """(result, "injected" or "none") of `cmd` with `attr` armed at `interval`."""
    out = sh(vm, f"F={F}\nARMED={attr}\n{HELPERS}\narm {attr} {interval}\nrun {cmd}"
             ).split("\n")
    INJECTED[out[1] == "injected"] += 1
    return out[0], out[1]


def _plain(vm, cmd):
    """The result of `cmd` without injection."""
    return sh(vm, f"F={F}\nARMED=failslab\n{HELPERS}\ndisarm\nrun {cmd}").split("\n")[0]


# Attempts without and with an injected failure.
INJECTED = [0, 0]


def _block_files(vm, blk):
    return sh(vm, f"ls $M/memory{blk} 2>/dev/null | grep -cE "
                  "'^(state|online|valid_zones|phys_index|phys_device|removable)$' || true").strip()


@test(variants=("debug",))
def fault_injection(case, variant):
    """Each allocation of probe, online, offline and module load failed in turn: an errno,
    a consistent system, and success once injection stops."""
    with VM(variant, mem=2048 * MiB, append="movable_node memhp_default_state=offline") as vm:
        for attr in ("failslab", "fail_page_alloc"):
            case.check(sh(vm, f"test -d {F}/{attr} && echo yes || echo no").strip() == "yes",
                       f"{attr} is available")
        base = blocks(vm)
        vm.plug_dimm("d1", 128 * MiB)
        dimm = sorted(set(wait_blocks(vm, len(base) + 1)) - set(base))[0]
        st = f"/sys/devices/system/memory/memory{dimm}/state"
        # probe: a new aligned range each time, never onlined (auto-online is off).
        next_addr = (dimm + 16) * 128 * MiB
        tally = {}
        for attr in ("failslab", "fail_page_alloc"):
            for n in INTERVALS:
                blk = next_addr // (128 * MiB)
                res, inj = _attempt(vm, attr, n, WRITE.format(
                    f="/sys/devices/system/memory/probe", v=hex(next_addr)))
                tally[res] = tally.get(res, 0) + 1
                files = _block_files(vm, blk)
                if res == "OK":
                    case.eq(files, "6", f"probe, {attr} interval {n} ({inj}): OK, memory{blk} "
                                        "has its files")
                    next_addr += 128 * MiB
                    continue
                case.eq(files, "0", f"probe, {attr} interval {n}: {res}, no memory{blk}")
                again = _plain(vm, WRITE.format(f="/sys/devices/system/memory/probe",
                                                v=hex(next_addr)))
                case.eq(again, "OK", f"probe, {attr} interval {n}: succeeds without injection")
                next_addr += 128 * MiB
            # online and offline of the DIMM's block: (op, word, state if OK, state if not).
            for n in INTERVALS:
                for op, word, ok, kept in (("online", "online_movable", "online", "offline"),
                                           ("offline", "offline", "offline", "online")):
                    res, inj = _attempt(vm, attr, n, WRITE.format(f=st, v=word))
                    tally[res] = tally.get(res, 0) + 1
                    state = sh(vm, f"cat {st}").strip()
                    case.eq(state, ok if res == "OK" else kept,
                            f"{op}, {attr} interval {n} ({inj}): {res}, state {state}")
                    if res != "OK":
                        again = _plain(vm, WRITE.format(f=st, v=word))
                        case.eq(again, "OK", f"{op}, {attr} interval {n}: succeeds afterwards")
            # Module load: the recorder and (modular here) the policy.
            for mod, probe in (("memory_notifier_recorder",
                                f"{F}/memory_notifier_recorder/inject"),
                               ("memory_hotplug", "/sys/module/memory_hotplug/parameters/"
                                                  "online_policy")):
                for n in INTERVALS:
                    res, inj = _attempt(vm, attr, n, f"modprobe {mod}")
                    tally[res] = tally.get(res, 0) + 1
                    loaded = sh(vm, f"grep -c '^{mod} ' /proc/modules || true").strip()
                    there = sh(vm, f"test -e {probe} && echo 1 || echo 0").strip()
                    want = "1" if res == "OK" else "0"
                    case.check((loaded, there) == (want, want),
                               f"modprobe {mod}, {attr} interval {n} ({inj}): {res}, "
                               f"loaded {loaded}, files {there}")
                    if res != "OK":
                        again = _plain(vm, f"modprobe {mod}")
                        case.eq(again, "OK", f"modprobe {mod}, {attr} interval {n}: "
                                             "succeeds afterwards")
                    sh(vm, f"rmmod {mod}")
        case.check(len(tally) > 1, f"results: {tally}")
        case.check(INJECTED[1] > 0, f"{INJECTED[1]} attempts had a failure injected, "
                                    f"{INJECTED[0]} did not")
        case.eq(sh(vm, f"w {st} offline").strip(), "Invalid argument",
                "the DIMM's block ends offline")
        vm.unplug_dimm("d1")

