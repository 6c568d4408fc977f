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


@test(variants=("c", "rust", "debug"), compare=True)
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
