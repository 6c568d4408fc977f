# SPDX-License-Identifier: GPL-2.0
"""Memory notifier event sequences and payloads, seen by memory_notifier_recorder.

The recorder has three notifiers: high (INT_MAX), default (0) and low (INT_MIN).
Each scenario clears the log, does one operation on a hot-plugged block and
compares the recorded (notifier, event) sequence with the protocol of
behaviour-6.12.md §10.3; the full log, payloads included, must be identical
on every variant.
"""

from guest import blocks, sh, wait_blocks
from ktap import test
from vm import MiB, VM

D = "/sys/kernel/debug/memory_notifier_recorder"
ALL = ("high", "default", "low")


def seq(*steps):
    """[(notifier, EVENT)...] for events delivered to the given notifiers, in order."""
    out = []
    for event, notifiers in steps:
        out += [(n, event) for n in notifiers]
    return out


def _log(vm):
    return sh(vm, f"cat {D}/log")


def _parse(log):
    out = []
    for line in log.splitlines():
        f = line.split()
        out.append((f[1], f[2]))
    return out


def _rets(log):
    return [line.split()[-1] for line in log.splitlines()]


# name, injection (or None), operation, expected errno text, expected sequence,
# expected state afterwards.
def scenarios(blk):
    st = f"$M/memory{blk}/state"
    return [
        ("online", None, (st, "online_movable"), "OK",
         seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ALL), ("MEM_ONLINE", ALL)),
         "online"),
        ("offline", None, (st, "offline"), "OK",
         seq(("MEM_GOING_OFFLINE", ALL), ("MEM_OFFLINE", ALL), ("MEM_FINISH_OFFLINE", ALL)),
         "offline"),
        # A veto at GOING_ONLINE stops the chain there; CANCEL_ONLINE and FINISH_OFFLINE go
        # to the whole chain.
        ("veto GOING_ONLINE at default (-ENOMEM)", "default MEM_GOING_ONLINE -12",
         (st, "online_movable"), "Cannot allocate memory",
         seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ("high", "default")),
             ("MEM_CANCEL_ONLINE", ALL), ("MEM_FINISH_OFFLINE", ALL)),
         "offline"),
        ("veto GOING_ONLINE at high (NOTIFY_BAD)", "high MEM_GOING_ONLINE bad",
         (st, "online_movable"), "Operation not permitted",
         seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ("high",)),
             ("MEM_CANCEL_ONLINE", ALL), ("MEM_FINISH_OFFLINE", ALL)),
         "offline"),
        ("veto GOING_ONLINE at low (-EBUSY)", "low MEM_GOING_ONLINE -16",
         (st, "online_movable"), "Device or resource busy",
         seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ALL),
             ("MEM_CANCEL_ONLINE", ALL), ("MEM_FINISH_OFFLINE", ALL)),
         "offline"),
        # A veto at PREPARE_ONLINE: no further event at all.
        ("veto PREPARE_ONLINE at default (-EIO)", "default MEM_PREPARE_ONLINE -5",
         (st, "online_movable"), "Input/output error",
         seq(("MEM_PREPARE_ONLINE", ("high", "default"))),
         "offline"),
        # NOTIFY_STOP hides the event from lower priorities, the operation goes on. (Not at
        # `high`: KASAN allocates the block's shadow in GOING_ONLINE at priority 0, and a
        # KASAN kernel crashes when the online goes on without it.)
        ("NOTIFY_STOP at default for GOING_ONLINE", "default MEM_GOING_ONLINE stop",
         (st, "online_movable"), "OK",
         seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ("high", "default")),
             ("MEM_ONLINE", ALL)),
         "online"),
        ("online of an online block", None, (st, "online"), "Invalid argument", [], "online"),
        ("veto GOING_OFFLINE at default (-EBUSY)", "default MEM_GOING_OFFLINE -16",
         (st, "offline"), "Device or resource busy",
         seq(("MEM_GOING_OFFLINE", ("high", "default")), ("MEM_CANCEL_OFFLINE", ALL)),
         "online"),
        ("veto GOING_OFFLINE at high (NOTIFY_BAD)", "high MEM_GOING_OFFLINE bad",
         (st, "offline"), "Operation not permitted",
         seq(("MEM_GOING_OFFLINE", ("high",)), ("MEM_CANCEL_OFFLINE", ALL)),
         "online"),
        ("NOTIFY_STOP at default for OFFLINE", "default MEM_OFFLINE stop",
         (st, "offline"), "OK",
         seq(("MEM_GOING_OFFLINE", ALL), ("MEM_OFFLINE", ("high", "default")),
             ("MEM_FINISH_OFFLINE", ALL)),
         "offline"),
        ("offline of an offline block", None, (st, "offline"), "Invalid argument", [],
         "offline"),
        ("online through `online` (policy zone)", None, (f"$M/memory{blk}/online", "1"), "OK",
         seq(("MEM_PREPARE_ONLINE", ALL), ("MEM_GOING_ONLINE", ALL), ("MEM_ONLINE", ALL)),
         "online"),
        ("`online` 1 on an online block is a no-op", None, (f"$M/memory{blk}/online", "1"),
         "OK", [], "online"),
        ("offline through `online`", None, (f"$M/memory{blk}/online", "0"), "OK",
         seq(("MEM_GOING_OFFLINE", ALL), ("MEM_OFFLINE", ALL), ("MEM_FINISH_OFFLINE", ALL)),
         "offline"),
    ]


@test(variants=("c", "rust", "debug", "c-kcsan", "rust-kcsan"), compare=True)
def notifier_sequences(case, variant):
    """Event order, chain truncation, vetoes and payloads for online/offline."""
    t = []
    with VM(variant) as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        base = blocks(vm)
        # A 3-block DIMM; the outer blocks go to ZONE_MOVABLE first, so the policy (`online`)
        # also picks Movable for the middle one, which is the one under test: memory in
        # Movable offlines reliably.
        vm.plug_dimm("d1", 384 * MiB)
        bl = wait_blocks(vm, len(base) + 3)
        new = sorted(set(bl) - set(base))
        blk = new[1]
        for i in (new[0], new[2]):
            sh(vm, f"w $M/memory{i}/state online_movable")
        t.append(f"block memory{blk}")
        for name, inject, (path, value), want_err, want_seq, want_state in scenarios(blk):
            cmd = f"echo > {D}/log; echo clear > {D}/inject; "
            if inject:
                cmd += f"echo '{inject}' > {D}/inject; "
            cmd += f"w {path} {value}; echo clear > {D}/inject; cat {D}/log"
            out = sh(vm, cmd)
            res, _, log = out.partition("\n")
            state = blocks(vm)[blk][0]
            case.eq(res, want_err, f"{name}: write result")
            case.eq(_parse(log), want_seq, f"{name}: event sequence")
            case.eq(state, want_state, f"{name}: state afterwards")
            t.append(f"== {name}: {res}, state {state}")
            t.append(log.rstrip())

        # Payload checks on a plain online: PREPARE carries the altmap fields, the others
        # the node status; the range is the whole 128 MiB block.
        out = sh(vm, f"echo > {D}/log; w $M/memory{blk}/state online_movable; cat {D}/log")
        log = out.partition("\n")[2]
        lines = [ln.split() for ln in log.splitlines()]
        pfn = blk * (128 * MiB // 4096)
        prep = [ln for ln in lines if ln[2] == "MEM_PREPARE_ONLINE"]
        going = [ln for ln in lines if ln[2] == "MEM_GOING_ONLINE"]
        case.check(prep and prep[0][3] == f"start_pfn={pfn:#x}" and
                   prep[0][5] == f"altmap_start_pfn={pfn:#x}",
                   "PREPARE_ONLINE payload: start_pfn and altmap_start_pfn are the block's", log)
        case.check(going and going[0][4] == f"nr_pages={128 * MiB // 4096:#x}" and
                   going[0][5].startswith("nid="),
                   "GOING_ONLINE payload: the whole block and the node status", log)
        case.check(all(r == "ret=ok" for r in _rets(log)), "all callbacks returned ok", log)
        t.append("== payload")
        t.append(log.rstrip())
        for i in new:
            sh(vm, f"w $M/memory{i}/state offline")
        sh(vm, "rmmod memory_notifier_recorder")
        case.eq(sh(vm, f"test -e {D} && echo present || echo gone").strip(), "gone",
                "rmmod removes the debugfs directory")
    return "\n".join(t) + "\n"


@test(variants=("c", "rust", "debug"))
def recorder_controls(case, variant):
    """Bad writes to the recorder's inject file fail with EINVAL; good ones show up."""
    with VM(variant) as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        for bad in ("", "high", "high MEM_GOING_ONLINE", "nosuch MEM_GOING_ONLINE -12",
                    "high MEM_NOPE -12", "high MEM_GOING_ONLINE -4096",
                    "high MEM_GOING_ONLINE 5", "high MEM_GOING_ONLINE -12 extra",
                    "clear extra", "high mem_going_online -12"):
            res = sh(vm, f"w {D}/inject '{bad}'").strip()
            # An empty write never reaches the file (sysfs/debugfs semantics): it succeeds.
            want = "OK" if bad == "" else "Invalid argument"
            case.eq(res, want, f"inject '{bad}' -> {want}")
        sh(vm, f"echo 'low MEM_OFFLINE stop' > {D}/inject; "
               f"echo 'high MEM_PREPARE_ONLINE -22' > {D}/inject")
        case.eq(sh(vm, f"cat {D}/inject"),
                "high MEM_PREPARE_ONLINE -22\nlow MEM_OFFLINE stop\n",
                "injections are listed by notifier, then by event")
        sh(vm, f"echo 'low MEM_OFFLINE ok' > {D}/inject")
        case.eq(sh(vm, f"cat {D}/inject"), "high MEM_PREPARE_ONLINE -22\n",
                "'ok' removes an injection")
        sh(vm, f"echo clear > {D}/inject")
        case.eq(sh(vm, f"cat {D}/inject"), "", "clear removes all injections")
        case.eq(sh(vm, "rmmod memory_notifier_recorder && echo ok").strip(), "ok",
                "the module unloads")


@test(variants=("c", "rust"), compare=True)
def recorder_log_limit(case, variant):
    """Past its 16384 entries the recorder counts events as dropped, without a WARN.

    40000 onlines vetoed at MEM_PREPARE_ONLINE by `high`: one event each, the cheapest
    event there is. The log grows to its limit (the allocation stays within
    KMALLOC_MAX_SIZE), the rest is counted, and clearing it starts over.
    """
    tries, limit = 40000, 1 << 14
    with VM(variant) as vm:
        sh(vm, "modprobe memory_notifier_recorder")
        base = blocks(vm)
        vm.plug_dimm("d1", 128 * MiB)
        blk = sorted(set(wait_blocks(vm, len(base) + 1)) - set(base))[0]
        st = f"$M/memory{blk}/state"
        out = sh(vm, f"echo > {D}/log; echo 'high MEM_PREPARE_ONLINE -16' > {D}/inject; "
                     f"fail=0; for i in $(seq {tries}); do "
                     f"echo online_movable 2>/dev/null > {st} || fail=$((fail + 1)); done; "
                     f"echo clear > {D}/inject; echo $fail; cat {st}; "
                     f"cat {D}/log > /tmp/log; wc -l < /tmp/log; head -n 1 /tmp/log; "
                     f"tail -n 2 /tmp/log", timeout=900)
        fail, state, lines, first, last, dropped = out.splitlines()[:6]
        case.eq(int(fail), tries, f"all {tries} onlines failed")
        case.eq(state, "offline", "the block stayed offline")
        case.eq(int(lines), limit + 1, f"the log has {limit} entries and the dropped count")
        case.check(first.startswith("0 high MEM_PREPARE_ONLINE ") and first.endswith("ret=-16"),
                   "the first entry is event 0, the veto", first)
        case.check(last.startswith(f"{limit - 1} high MEM_PREPARE_ONLINE "),
                   f"the last entry is event {limit - 1}", last)
        case.eq(dropped, f"dropped {tries - limit}", "the other events are counted as dropped")
        out = sh(vm, f"echo > {D}/log; w {st} online_movable; cat {D}/log | wc -l; "
                     f"head -n 1 {D}/log | cut -d' ' -f1-3; w {st} offline")
        case.eq(out.split(), ["OK", "9", "0", "high", "MEM_PREPARE_ONLINE", "OK"],
                "cleared, the log records from event 0 again")
        sh(vm, "rmmod memory_notifier_recorder")
    return f"{fail} failed, state {state}, {lines} lines\n{first}\n{last}\n{dropped}\n"
