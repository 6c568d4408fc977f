# SPDX-License-Identifier: GPL-2.0
"""Allocation failures injected into memory hotplug operations, compared with C.

failslab and fail_page_alloc (in every variant, inert until armed) are limited by their
stack-trace filter (require-start/require-end) to the allocations made under the
operation's entry point, a C function of every variant that calls (not tail-calls) the
rest: `kernfs_fop_write_iter` for the sysfs writes (probe, online, offline; its own
buffer is the first allocation), `__x64_sys_finit_module` for modprobe (load_module and
the module's init), and, for a DIMM plug, which ACPI's kworker runs, the part of
`acpi_memory_device_add` from its call to memory_group_register_static on (memory group
registration, block creation with memmap_on_memory, auto-online; not ACPI's binding of
the blocks), and, for a virtio-mem resize, which virtio-mem's kworker runs,
`add_memory_resource` (the device's bookkeeping and its resource are outside it: a failed
resource allocation looks like a conflict, -EEXIST, which marks a virtio-mem device broken
for good, on c as on rust). One attribute is armed at a time, the other's filter matches
nothing.
x86's alloc_low_pages() (page tables of the direct map) is excluded (reject-start/end):
it uses a failed allocation as a page table. Under that filter:

- a write or a modprobe fails its j-th allocation through /proc/thread-self/fail-nth, a
  counter of the task's own, set just before the write;
- a DIMM plug or a virtio-mem resize, which no task filter reaches, fails the j-th one
  through the attribute's interval counter (times=1, no task filter).

j steps from 1 until an attempt completes without an injected failure: the first
EXHAUSTIVE allocations of the operation fail in turn, later ones are sampled (j grows by
half each step). The filter sees at most 32 frames: deeper allocations are not eligible.
Each attempt ends with OK or an errno, never a crash or WARN (splats are checked at the
end, and on debug kmemleak too); the system stays consistent (a block exists with all its files
or not at all, a module is loaded with its files or not at all); after a failure the
same operation succeeds.

On c and rust the same allocations are eligible wherever they are C's (core mm, the
driver core, kernfs, ACPI): the failslab steps of the sysfs writes are compared, and of a
virtio-mem resize the errnos its failed adds returned (the DIMM plug's, modprobe's and
fail_page_alloc's steps are checked, not compared; see fault_injection). The virtio-mem
resize runs in a guest of its own, where the interval counter starts at 0.
rust-mod and debug run the modprobe steps (the policy is a module there: its load and
init error paths), debug under lockdep, KASAN and kmemleak; `make test-debug` runs all
steps on debug. KASAN's shadow and kmemleak's metadata are allocated under the same
entry points, so debug's sequence differs and is not compared.
"""

import os
import re
import subprocess
import time

import ktap
from guest import MODULAR_POLICY, blocks, load_policy, sh
from ktap import test
from vm import CACHE, MiB, VM, VMError, build_dir

F = "/sys/kernel/debug"
ATTRS = ("failslab", "fail_page_alloc")
# Steps 1..EXHAUSTIVE, then each one half again as far; an attempt without an injected
# failure ends the steps (the operation has fewer allocations). The sysfs writes have at
# most about 40 eligible allocations, so nearly all of theirs fail in turn; modprobe (up
# to about 60) and offline under fail_page_alloc (migration targets, over 100) are
# sampled beyond the 40th. A DIMM plug (2 blocks, about 41) fails its first
# DIMM_EXHAUSTIVE in turn: the group and the whole first block; the second block's are
# the same sites again, and a sample of them fails its creation after the first block's
# (each attempt is a plug and an eject, the slowest step here).
EXHAUSTIVE = 40
DIMM_EXHAUSTIVE = 22
# A virtio-mem resize to 2 blocks: about 80 allocations (c and rust alike); the first 25 in
# turn (the first block's add, 23, and what auto-online absorbs), the rest sampled.
VIRTIO_MEM_EXHAUSTIVE = 25
LIMIT = 10000


def steps(exhaustive=EXHAUSTIVE):
    j = 1
    while j <= LIMIT:
        yield j
        j = j + 1 if j < exhaustive else j * 3 // 2


def text_range(variant, func):
    """[start, end) of `func`'s text in the variant's System.map: the kernel runs where it
    was linked (RANDOMIZE_BASE is off, checked)."""
    with open(os.path.join(build_dir(variant), ".config")) as f:
        if "CONFIG_RANDOMIZE_BASE=y" in f.read():
            raise VMError("System.map addresses need RANDOMIZE_BASE=n")
    syms = []
    with open(os.path.join(build_dir(variant), "System.map")) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            syms.append((int(addr, 16), kind, name))
    syms.sort()
    for i, (addr, kind, name) in enumerate(syms):
        if name == func and kind in "tT":
            return addr, next(a for a, _, _ in syms[i + 1:] if a > addr)
    raise VMError(f"{func} is not in System.map")


def call_site_range(variant, func, first, last):
    """[the call to `first` in `func`, the next call to `last` after it): an allocation has
    a return address in it when it is made under one of the calls from the first to the
    one before the last."""
    start, end = text_range(variant, func)
    out = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn",
                          f"--start-address={start:#x}", f"--stop-address={end:#x}",
                          os.path.join(build_dir(variant), "vmlinux")],
                         capture_output=True, text=True, check=True).stdout
    calls = re.findall(r"^\s*([0-9a-f]+):\s+call\w*\s.*<([\w.]+)>", out, re.M)
    try:
        i = next(n for n, (_, name) in enumerate(calls) if name == first)
        j = next(n for n in range(i + 1, len(calls)) if calls[n][1] == last)
    except StopIteration:
        raise VMError(f"no call to {first} then {last} in {func}") from None
    return int(calls[i][0], 16), int(calls[j][0], 16)


# filter ATTR START END: ATTR fails only under [START, END), outside alloc_low_pages
# ($LOW_START, $LOW_END), and only what fail-nth or the interval asks for; the other
# attribute fails nothing. `times` 1 tells whether a failure was injected (`injected`
# prints the attribute whose times went to 0, or none).
HELPERS = r"""
filter() {
	local a start end
	for a in failslab fail_page_alloc; do
		start=0 end=0
		if [ $a = $1 ]; then start=$2 end=$3; fi
		echo 0 > $F/$a/times
		echo 0 > $F/$a/probability
		echo N > $F/$a/task-filter
		echo N > $F/$a/ignore-gfp-wait
		echo 0 > $F/$a/space
		echo 1 > $F/$a/interval
		echo 0 > $F/$a/verbose
		echo 32 > $F/$a/stacktrace-depth
		echo $start > $F/$a/require-start
		echo $end > $F/$a/require-end
		echo $LOW_START > $F/$a/reject-start
		echo $LOW_END > $F/$a/reject-end
		echo 1 > $F/$a/times
	done
	echo N > $F/fail_page_alloc/ignore-gfp-highmem
	echo 0 > $F/fail_page_alloc/min-order
}
injected() {
	local a r=none
	for a in failslab fail_page_alloc; do [ "$(cat $F/$a/times)" = 0 ] && r=$a; done
	echo $r
}
# nth J FILE VALUE: write VALUE with one write(2) whose J-th eligible allocation fails.
nth() {
	local e
	if e=$( (echo $1 > /proc/thread-self/fail-nth && printf '%s' "$3" > "$2") 2>&1); then
		echo OK
	else
		echo "${e##*: }"
	fi
}
# modnth J MODULE: modprobe MODULE, its J-th eligible allocation failing.
modnth() {
	local e
	if e=$(bash -c 'echo $1 > /proc/self/fail-nth && exec modprobe $2' modnth "$1" "$2" 2>&1)
	then
		echo OK
	else
		echo "${e##*: }"
	fi
}
files() {
	ls $M/memory$1 2>/dev/null |
		grep -cE '^(state|online|valid_zones|phys_index|phys_device|removable)$' || true
}
"""

# Steps of one sysfs operation in the guest, one line per attempt:
# "<j> <result> <injected> <state after> <retry result or ->", until one is not injected.
# The operation is set up by SETUP, performed by ATTEMPT (prints the result), checked by
# STATE, retried without injection by RETRY and undone by UNDO, all with $j set.
LOOP = r"""
for j in %(steps)s; do
	%(setup)s
	filter %(attr)s %(start)s %(end)s
	r=$(%(attempt)s)
	i=$(injected)
	s=$(%(state)s)
	t=-
	if [ "$r" != OK ]; then t=$(%(retry)s); fi
	echo "$j ${r// /_} $i $s ${t// /_}"
	%(undo)s
	[ $i = none ] && break
done
"""


def _env(variant):
    low = text_range(variant, "alloc_low_pages")
    return f"F={F}\nLOW_START={low[0]:#x}\nLOW_END={low[1]:#x}\n{HELPERS}\n"


def _loop(vm, variant, attr, rng, **parts):
    step_list = " ".join(str(j) for j in steps())
    out = sh(vm, _env(variant) + LOOP % dict(parts, steps=step_list, attr=attr,
                                             start=hex(rng[0]), end=hex(rng[1])),
             timeout=3600)
    return [ln.split() for ln in out.splitlines()]


def _tally(tally, res):
    tally[res] = tally.get(res, 0) + 1


class Run:
    """One variant's run: its guest, the compared transcript (`compared`: the failslab
    steps of the sysfs writes, the errnos of the virtio-mem resize), every step of every
    operation (`detail`) and the results' tally."""

    def __init__(self, case, vm, variant):
        self.case, self.vm, self.variant = case, vm, variant
        self.compared, self.detail, self.tally = [], [], {}


# probe: each attempt adds a new block, above everything the guest has (never onlined:
# auto-online is off), and a failed attempt is retried at the same address (what it had
# set up is gone). Each attribute's pass has its own range, below 1 TiB: x86 adds memory
# below the CPU's physical address width only (QEMU's default CPU: 40 bits).
PROBE_BASE = {"failslab": 64 << 30, "fail_page_alloc": 192 << 30}


def _sysfs_ops(run, attr):
    """probe, online and offline, each allocation under kernfs_fop_write_iter failed in
    turn (online with fail_page_alloc is not run: with memmap_on_memory, onlining a block
    allocates no page)."""
    vm, variant = run.vm, run.variant
    rng = text_range(variant, "kernfs_fop_write_iter")
    bs = 128 * MiB
    rows = _loop(vm, variant, attr, rng,
                 setup=f"a=$(( {PROBE_BASE[attr]} + j * {bs} )); b=$(( a / {bs} ))",
                 attempt="nth $j $M/probe $(printf 0x%x $a)",
                 state="files $b",
                 retry="w $M/probe $(printf 0x%x $a)",
                 undo=":")
    _check_rows(run, attr, "probe", rows,
                lambda r: r[3] == ("6" if r[1] == "OK" else "0"),
                "memory block with all 6 files if OK, none otherwise")
    # online and offline of a DIMM block.
    base = blocks(vm)
    vm.plug_dimm(f"on-{attr}", bs)
    blk = _wait_new(vm, base, 1)[0]
    st = f"$M/memory{blk}/state"
    if attr == "failslab":
        rows = _loop(vm, variant, attr, rng, setup=":",
                     attempt=f"nth $j {st} online_movable",
                     state=f"cat {st}", retry=f"w {st} online_movable",
                     undo=f"echo offline > {st}")
        _check_rows(run, attr, "online", rows,
                    lambda r: r[3] == ("online" if r[1] == "OK" else "offline"),
                    "online if OK, offline otherwise")
    rows = _loop(vm, variant, attr, rng, setup=f"echo online_movable > {st}",
                 attempt=f"nth $j {st} offline",
                 state=f"cat {st}", retry=f"w {st} offline", undo=f"echo offline > {st}")
    _check_rows(run, attr, "offline", rows,
                lambda r: r[3] == ("offline" if r[1] == "OK" else "online"),
                "offline if OK, online otherwise")
    vm.unplug_dimm(f"on-{attr}")


def _module_ops(run, attr):
    """modprobe of the recorder and (where it is a module) the policy, each allocation of
    finit_module (loading and the module's init) failed in turn. The recorder may load
    without its debugfs files: as debugfs' users are told to, it goes on when they cannot
    be created (after a failure there, the files are missing until it is reloaded)."""
    vm, variant = run.vm, run.variant
    rng = text_range(variant, "__x64_sys_finit_module")
    mods = [("memory_notifier_recorder", f"{F}/memory_notifier_recorder/inject", "10")]
    if variant in MODULAR_POLICY:
        sh(vm, "rmmod memory_hotplug")
        mods.append(("memory_hotplug", "/sys/module/memory_hotplug/parameters/online_policy",
                     None))
    for mod, probe, degraded in mods:
        state = (f"echo $(grep -c '^{mod} ' /proc/modules)$(test -e {probe} && echo 1 || "
                 "echo 0)")
        rows = _loop(vm, variant, attr, rng, setup=":", attempt=f"modnth $j {mod}",
                     state=state, retry=f"modprobe {mod} 2>&1 && echo OK",
                     undo=f"rmmod {mod} 2>/dev/null || true")
        _check_rows(run, attr, f"modprobe {mod}", rows,
                    lambda r, d=degraded: (r[3] == "00" if r[1] != "OK" else
                                           r[3] == "11" or (r[3] == d and r[2] != "none")),
                    "loaded with its files if OK, neither otherwise", compared=False)
    if variant in MODULAR_POLICY:
        load_policy(vm)


def _check_rows(run, attr, op, rows, consistent, what, compared=True):
    """Checks the attempts of one operation run with `attr`, each of which fails one
    allocation (the operation makes some), until one that fails none succeeds. Keeps
    every step in run.detail, and the compared ones (failslab) in run.compared too."""
    case, name = run.case, f"{op}, {attr}"
    lines = [f"== {name}"] + [" ".join(r) for r in rows]
    run.detail += lines
    if compared and attr == "failslab":
        run.compared += lines
    for r in rows:
        if len(r) == 5:
            _tally(run.tally, r[1])
    injected = [r for r in rows if len(r) == 5 and r[2] != "none"]
    bad = [r for r in rows if len(r) != 5 or not consistent(r)
           or (r[1] != "OK" and r[4] != "OK")]
    case.check(injected and rows[-1][2:3] == ["none"] and rows[-1][1] == "OK",
               f"{name}: {len(injected)} allocations failed in turn, then an attempt without "
               "failure succeeds", rows[-3:])
    case.check(not bad, f"{name}: every attempt ends with an errno or OK, {what}; a failed "
                        "one succeeds once injection stops", bad)


def _wait_new(vm, base, n, timeout=120):
    deadline = time.time() + timeout
    while True:
        new = sorted(set(blocks(vm)) - set(base))
        if len(new) >= n or time.time() > deadline:
            return new
        time.sleep(0.5)


# State of the blocks of a DIMM: "<files>:<state>:<bound>" per block (bound: ACPI gave it a
# firmware_node link, the last step of a successful plug).
DIMM_STATE = r"""
for b in %(ids)s; do
	echo "$(files $b):$(cat $M/memory$b/state 2>/dev/null || echo -):$(test -e $M/memory$b/firmware_node && echo bound || echo unbound)"
done | tr '\n' ' '
"""


def _block_state(vm, env, ids):
    """DIMM_STATE of the blocks `ids`, one "<files>:<state>:<bound>" each."""
    return sh(vm, env + DIMM_STATE % {"ids": " ".join(map(str, ids))}).split() if ids else []


def _arm_interval(vm, env, attr, rng, k):
    """Arms `attr` under [rng) to fail the k-th eligible allocation the interval counter
    sees from now on (times=1, no task filter): for the kworkers' operations."""
    sh(vm, env + f"filter {attr} {rng[0]:#x} {rng[1]:#x}\n"
           f"a=$F/{attr}; echo 0 > $a/times; echo 100 > $a/probability; "
           f"echo {k} > $a/interval; echo 1 > $a/times")


def _dimm_ops(run, attr, base):
    """DIMM plug (ACPI kworker, auto-online), each allocation of acpi_memory_device_add
    from its memory group registration to its binding of the blocks failed in turn: the
    group, __add_memory() (blocks, memmap_on_memory, auto-online). Before the group,
    ACPI's interpreter evaluates _CRS and _STA with hundreds of allocations of its own;
    the binding is ACPI's, and when it fails ACPI keeps memory it no longer owns (not
    ejectable): neither is what this tests. `base`: the blocks not to count as the
    DIMM's."""
    case, vm, variant = run.case, run.vm, run.variant
    rng = call_site_range(variant, "acpi_memory_device_add", "memory_group_register_static",
                          "walk_memory_blocks")
    env = _env(variant)
    bs = 128 * MiB
    nblk = 2
    lock = min(b for b in base)  # a boot block: writing 1 to its `online` does nothing
    sh(vm, "echo online_movable > $M/auto_online_blocks")
    # The attribute's interval counter only grows (by one per eligible allocation while
    # armed): failing the j-th of this attempt takes an interval of count + j.
    count = 0
    rows = []

    for j in steps(DIMM_EXHAUSTIVE):
        k = count + j
        dimm = f"{attr}-{j}"
        _arm_interval(vm, env, attr, rng, k)
        vm.plug_dimm(dimm, nblk * bs)
        # Done when the kworker bound every block (success), or, once a failure was
        # injected, when it lets go of the device hotplug lock (ACPI's hotplug work holds
        # it throughout), which a write to a block's `online` waits for.
        inj, state, ids = "none", [], []
        deadline = time.time() + 300
        while time.time() < deadline:
            inj = sh(vm, env + "injected").strip()
            if inj != "none":
                sh(vm, f"echo 1 > $M/memory{lock}/online")
            ids = sorted(set(blocks(vm)) - base)
            state = _block_state(vm, env, ids)
            if inj != "none" or (len(ids) == nblk and all(x.endswith(":bound") for x in state)):
                break
            time.sleep(1)
        sh(vm, f"echo 0 > {F}/{attr}/times; echo 0 > {F}/{attr}/probability")
        if inj != "none":
            count = k if k > 1 else count
        bound = len(ids) == nblk and all(x == "6:online:bound" for x in state)
        res = "OK" if bound else "failed"
        row = [str(j), res, inj, ",".join(state) or "no-blocks"]
        if not state or all(x.endswith(":bound") for x in state):
            vm.unplug_dimm(dimm, timeout=300)
            row.append("ejected")
        else:
            row.append("kept")  # ACPI did not bind its blocks: not ejectable (a failure)
            base |= set(ids)
        ids_left = sorted(set(blocks(vm)) - base)
        if ids_left:
            row.append(f"left:{ids_left}")
        rows.append(row)
        _tally(run.tally, res)
        if inj == "none":
            break
    run.detail.append(f"== DIMM plug, {attr}")
    run.detail += [" ".join(r) for r in rows]
    full = re.compile(r"6:(online|offline):bound")
    bad = [r for r in rows if len(r) != 5
           or (r[3] != "no-blocks" and not all(full.fullmatch(x) for x in r[3].split(",")))]
    injected = [r for r in rows if r[2] != "none"]
    case.check(injected and rows[-1][2] == "none"
               and rows[-1][1] == "OK",
               f"DIMM plug, {attr}: {len(injected)} allocations failed in turn, then a plug "
               "without failure onlines and binds every block", rows[-3:])
    case.check(not bad, f"DIMM plug, {attr}: every attempt completes; each block exists with "
                        "all its files or not at all; every DIMM can be ejected", bad)


# virtio-mem's own report of a failed add, with add_memory_driver_managed()'s errno.
ADD_FAILED = re.compile(r"virtio_mem virtio\d+: adding memory failed: (-\d+)")
BROKEN = "unknown error, marking device broken"


def _virtio_mem_ops(run, attr, base):
    """virtio-mem resize from 0 to two blocks (its kworker, virtio_mem_run_wq(), which no
    task filter reaches), each allocation of add_memory_resource() failed in turn: the
    memmap's section data, the blocks (driver core, kernfs, the driver's own) and
    auto-online. Each attempt is undone by a resize to 0 (the device offlines and removes
    what it added). The result of an attempt is the errno virtio-mem reports for the
    failed add ("adding memory failed: -12"): on -ENOMEM it retries later, on any other it
    marks the device broken for good, so an errno C does not return there would show as a
    device that never shrinks. The errnos seen and the outcome are compared with c; the
    steps are kept with the others (today they are the same on c and rust). The counter
    must start at 0: a guest of its own."""
    case, vm, variant = run.case, run.vm, run.variant
    rng = text_range(variant, "add_memory_resource")
    env = _env(variant)
    bs = 128 * MiB
    nblk = 2
    count = 0
    rows = []
    sh(vm, "echo online_movable > $M/auto_online_blocks")
    for j in steps(VIRTIO_MEM_EXHAUSTIVE):
        k = count + j
        reports = len(ADD_FAILED.findall(vm.console()))
        _arm_interval(vm, env, attr, rng, k)
        vm.qmp("qom-set", path="/machine/peripheral/vm0", property="requested-size",
               value=nblk * bs)
        # Done when every block is added and online (success) or, once a failure was
        # injected, when virtio-mem reported it (the worker then stops until the retry
        # timer, 50 s, or a config change).
        # A failure in auto-online fails no add: the block stays offline, the device goes
        # on; done when every block is there and the state is the same in two polls. The
        # console is read before `injected`: a failure reported in between is injected.
        inj, errno, state, ids, prev = "none", None, [], [], None
        deadline = time.time() + 120
        while time.time() < deadline:
            found = ADD_FAILED.findall(vm.console())[reports:]
            errno = found[0] if found else None
            inj = sh(vm, env + "injected").strip()
            ids = sorted(set(blocks(vm)) - base)
            state = _block_state(vm, env, ids)
            added = len(ids) == nblk and all(x.startswith("6:") for x in state)
            if errno or (added and inj == "none" and all(":online:" in x for x in state)) \
                    or (added and inj != "none" and state == prev):
                break
            prev = state
            time.sleep(0.5)
        inj = sh(vm, env + "injected").strip()  # before disarming, which reads as injected
        sh(vm, f"echo 0 > {F}/{attr}/times; echo 0 > {F}/{attr}/probability")
        if inj != "none":
            count = k if k > 1 else count
        if BROKEN in vm.console():
            res = "broken"  # virtio-mem gave up on the device (an errno it does not retry)
        else:
            res = errno or ("OK" if len(ids) == nblk else "timeout")
        row = [str(j), res, inj, ",".join(s.rsplit(":", 1)[0] for s in state) or "no-blocks"]
        try:
            # The device reports size 0 once its memory is unplugged; Linux removes the
            # last block right after.
            vm.virtio_mem_resize(0, timeout=120)
            deadline = time.time() + 60
            while (left := sorted(set(blocks(vm)) - base)) and time.time() < deadline:
                time.sleep(0.5)
            row.append("shrunk" if not left else f"left:{left}")
        except VMError:
            row.append("stuck")  # the device is broken: nothing more can be done with it
        rows.append(row)
        _tally(run.tally, res)
        if inj == "none" or row[4] != "shrunk":
            break
    run.detail.append(f"== virtio-mem resize, {attr}")
    run.detail += [" ".join(r) for r in rows]
    full = re.compile(r"6:(online|offline)")
    # -ENOMEM (which virtio-mem retries) only with an injected failure (one that fails an
    # online or that the code absorbs fails no add); without one, every block added and
    # online. Any other errno marks the device broken: a failure.
    bad = [r for r in rows if len(r) != 5 or r[4] != "shrunk"
           or r[1] not in ("OK", "-12") or (r[1] != "OK" and r[2] == "none")
           or (r[2] == "none" and r[3] != ",".join(["6:online"] * nblk))
           or (r[3] != "no-blocks" and not all(full.fullmatch(x) for x in r[3].split(",")))]
    injected = [r for r in rows if r[2] != "none"]
    case.check(injected and rows[-1][2] == "none" and rows[-1][1] == "OK",
               f"virtio-mem resize, {attr}: {len(injected)} allocations failed in turn, then "
               "a resize without failure adds and onlines every block", rows[-3:])
    case.check(not bad, f"virtio-mem resize, {attr}: each failure is reported with an errno, "
                        "each block exists with all its files or not at all, the device "
                        "shrinks to 0 after every attempt", bad)
    errnos = sorted({r[1] for r in injected if r[1] != "OK"})
    run.compared.append(f"== virtio-mem resize, {attr}: errnos of the failed adds {errnos}, "
                        f"device shrunk after each: {not bad}")


def _warn_at(path, start, needle):
    """"PATH:N " of the first line containing `needle` in the function whose first line
    starts with `start`, in the tree: what a WARN there prints (C after "at ", Rust after
    the tree's absolute path), whatever the patches moved."""
    lines = open(os.path.join(CACHE, "src", path)).read().split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.startswith(start))
    n = next(i for i in range(first, first + 40) if needle in lines[i])
    return f"{path}:{n + 1} "


def _add_pages_warn():
    """add_pages()' WARN_ON_ONCE(ret)."""
    return _warn_at("arch/x86/mm/init_64.c", "int add_pages(", "WARN_ON_ONCE(ret);")


@test(variants=("c", "rust", "rust-mod", "debug"), compare=("c", "rust"))
def fault_injection(case, variant):
    """Each allocation of probe, online, offline, modprobe, DIMM plug (memory group,
    blocks with memmap_on_memory, auto-online) and virtio-mem resize (blocks, auto-online)
    failed in turn: an errno, a consistent
    system, success once injection stops; c and rust alike. rust-mod and debug run the
    modprobe steps only (the policy module's load and init error paths, on debug under
    kmemleak, KASAN and lockdep; their sysfs and DIMM paths are rust's), unless
    FAULTS_FULL=1 (`make test-debug`)."""
    # Compared: the failslab steps of the sysfs writes. fail_page_alloc also counts the
    # pages slab caches refill with, and module loading allocates a vmap_area from its
    # slab only when the CPU's preloaded one is used up: both depend on per-CPU state. And
    # a DIMM plug's own allocations differ between the drivers (group registration: Rust
    # allocates the group and its tree node, C the group and, when its xarray needs one, a
    # node), which offsets the steps of c and rust after them: the same sites fail at
    # other steps. So those steps are checked and kept in their own transcript
    # (fault_injection.<variant>.steps.txt), not compared.
    # x86's add_pages() WARNs (once) when __add_pages() fails, which an allocation failure
    # under probe or a DIMM plug makes it do: upstream's, on c as on rust. It is allowed
    # throughout, and it must be that line.
    #
    # And upstream's, on c exactly as on rust: when the allocation of the DIMM's iomem
    # resource fails, __request_region() returns NULL as for a conflict and
    # register_memory_resource() reports -EEXIST; ACPI takes -EEXIST for memory the kernel
    # already has and binds the device with none added. Its eject then removes a range
    # that was never added: WARN_ON_ONCE(!mem) in remove_memory_block_devices()
    # (C: memory.c; Rust: the same check, in remove_range() of memory_block.rs) and
    # !valid_section() in sparse_remove_section(). (probe shows the same -EEXIST.) These
    # are allowed in the DIMM phase only.
    eject_warns = (_warn_at("drivers/base/memory.c", "void remove_memory_block_devices(",
                            "WARN_ON_ONCE(!mem)"),
                   _warn_at("drivers/base/memory_rust/memory_block.rs", "    fn remove_range(",
                            "warn_on_once!(true)"),
                   _warn_at("mm/sparse-vmemmap.c", "void sparse_remove_section(",
                            "WARN_ON_ONCE(!valid_section(ms))"))
    with VM(variant, mem=2048 * MiB, slots=16, maxmem=32 << 30, allowed=(_add_pages_warn(),),
            append="memhp_default_state=offline memory_hotplug.memmap_on_memory=1") as vm:
        load_policy(vm)
        run = Run(case, vm, variant)
        for attr in ATTRS:
            case.check(sh(vm, f"test -d {F}/{attr} && echo yes || echo no").strip() == "yes",
                       f"{attr} is available")
        full = variant in ("c", "rust") or os.environ.get("FAULTS_FULL") == "1"
        for attr in ATTRS:
            if full:
                _sysfs_ops(run, attr)
            _module_ops(run, attr)
        base = set(blocks(vm))  # with the probed blocks
        if full:
            case.eq(vm.splats(), [], "no kernel report before the DIMM phase but add_pages()' "
                                     "WARN")
            vm.allowed += eject_warns
            # A DIMM's memmap is in its blocks (memmap_on_memory): the plug's own page
            # allocations are the slab caches' refills, which per-CPU state decides. So only
            # failslab is armed.
            _dimm_ops(run, "failslab", base)
    if full:
        # In a guest of its own: the attribute's interval counter, which nothing can read
        # or reset, must start at 0 (the DIMM phase's last attempt counted allocations
        # without failing one).
        with VM(variant, mem=2048 * MiB, virtio_mem=1 << 30, allowed=(_add_pages_warn(),),
                append="memhp_default_state=offline") as vm:
            load_policy(vm)
            run.vm = vm
            _virtio_mem_ops(run, "failslab", set(blocks(vm)))
    case.check(len(run.tally) > 1, f"results: {run.tally}")
    os.makedirs(ktap.TRANSCRIPTS, exist_ok=True)
    with open(os.path.join(ktap.TRANSCRIPTS, f"fault_injection.{variant}.steps.txt"), "w") as f:
        f.write("\n".join(run.detail) + "\n")
    return "\n".join(run.compared) + "\n"
