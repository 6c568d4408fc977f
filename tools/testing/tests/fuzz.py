# SPDX-License-Identifier: GPL-2.0
"""A seeded fuzzer of the memory hotplug sysfs, parameter and recorder files.

`writes(seed, count, layout, phase)` returns the same list of (file, payload) pairs
for the same arguments: valid words of each file, mutated (case, whitespace,
prefixes and suffixes, NUL, non-UTF-8 bytes, numeric edges, truncation,
over-long). Each payload is written with one write(2) in the guest by
`run(vm, ...)`, which returns the result of each write (OK or the errno
text).

Writes that could add or poison memory are kept harmless: a `probe` value
that the kernel would parse as a number is replaced unless it is unaligned,
inside boot memory (EEXIST) or out of range, and the page-offline files only
get numbers whose pfn is beyond any memory (ENXIO). Nothing else is filtered:
blocks go online and offline, the policy and its parameters change, the
recorder injects notifier errors.
"""

import random
import re

# Numbers at the edges of what the parsers take (kstrtoint, kstrtouint, kstrtoull,
# kstrtobool), and strings that look like numbers.
NUMERIC = ["0", "1", "-1", "-0", "+1", "00", "0777", "08", "0x", "0x7fffffff", "2147483647",
           "2147483648", "-2147483648", "4294967295", "4294967296", "18446744073709551615",
           "18446744073709551616", "1e3", "1.5", "99999999999999999999999"]
BOOL = ["Y", "N", "y", "n", "1", "0", "yes", "no", "on", "off", "true", "false"]
NOTIFIERS = ["high", "default", "low"]
EVENTS = ["MEM_PREPARE_ONLINE", "MEM_GOING_ONLINE", "MEM_ONLINE", "MEM_CANCEL_ONLINE",
          "MEM_GOING_OFFLINE", "MEM_OFFLINE", "MEM_CANCEL_OFFLINE", "MEM_FINISH_OFFLINE"]
# No `stop`: NOTIFY_STOP at `high` for GOING_ONLINE hides the event from KASAN's notifier,
# and a KASAN kernel then onlines memory without its shadow (a test artefact, not a bug).
# No -22 either: an injected EINVAL would look like a parser's.
RESULTS = ["-12", "-16", "-5", "bad", "done", "ok"]
OVERLONG = 5000

_NUMBER = re.compile(r"\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\n?")


def kstrtoull(payload):
    """The value kstrtoull(payload, 0) returns, or None if it fails. The kernel parses the
    payload as a C string: up to its first NUL."""
    try:
        text = payload.split(b"\0")[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    m = _NUMBER.fullmatch(text)
    if not m:
        return None
    digits = m.group(1)
    # Leading zeros do not overflow; more than 22 significant digits always do (ERANGE).
    if len(re.sub(r"^(0[xX])?0*", "", digits)) > 22:
        return None
    v = int(m.group(1), 0) if not re.fullmatch(r"0[0-7]+", m.group(1)) else int(m.group(1), 8)
    return v if v < 1 << 64 else None


def files(layout, phase):
    """{file: valid words} for a guest layout: `blocks` (the fuzzed block ids), `bs` (block
    size), `boot` (bytes of boot memory).

    Phase "params" writes the policy's parameters and no block file; phase "blocks" the
    blocks' files and not the parameters, which are reset in between: every online then
    goes to ZONE_MOVABLE (contig-zones with movable_node), so that offlines do not depend
    on where the kernel happened to allocate.
    """
    out = {}
    if phase == "blocks":
        for b in layout["blocks"]:
            out[f"$M/memory{b}/state"] = ["online", "offline", "online_movable"]
            out[f"$M/memory{b}/online"] = ["0", "1"] + BOOL
            out[f"$M/memory{b}/valid_zones"] = ["Movable"]
    else:
        out["$P/online_policy"] = ["contig-zones", "auto-movable"]
        out["$P/auto_movable_ratio"] = ["301", "0", "100", "4294967295"]
        out["$P/auto_movable_numa_aware"] = BOOL
        out["$P/memmap_on_memory"] = BOOL + ["force"]
    out["$M/auto_online_blocks"] = ["online", "offline", "online_kernel", "online_movable"]
    out["$M/block_size_bytes"] = ["8000000"]
    out["$M/probe"] = [hex(layout["bs"]), hex(layout["bs"] + 1), "0x0"]
    out["$M/soft_offline_page"] = ["0x10000000000000", "0xfffffffffffff000"]
    out["$M/hard_offline_page"] = ["0x10000000000000", "0xfffffffffffff000"]
    inject = [f"{n} {e} {r}" for n in NOTIFIERS for e in EVENTS for r in RESULTS]
    # A third of the recorder's writes clear its injections: the blocks' onlines and
    # offlines then mostly go through, and sometimes meet a veto.
    out["$R/inject"] = inject + ["clear"] * (len(inject) // 2)
    out["$R/log"] = ["", "x"]
    return out


def _mutate(rng, word):
    w = word.encode()
    op = rng.randrange(14)
    if op <= 2:
        return w
    if op == 3:
        return w + b"\n"
    if op == 4 and w:
        i = rng.randrange(len(w))
        return w[:i] + w[i:i + 1].swapcase() + w[i + 1:]
    if op == 5:
        ws = rng.choice([b" ", b"\t", b"\n", b"\n\n", b"\r\n"])
        return rng.choice([ws + w, w + ws, ws + w + ws])
    if op == 6:
        c = bytes([rng.choice(b"x-+_.,;:/=0123456789abcdefABCDEF%$#")])
        return rng.choice([c + w, w + c])
    if op == 7:
        i = rng.randrange(len(w) + 1)
        return w[:i] + b"\0" + w[i:]
    if op == 8:
        i = rng.randrange(len(w) + 1)
        return w[:i] + rng.choice([b"\xff", b"\xc3", b"\x80", b"\xe2\x82"]) + w[i:]
    if op == 9:
        return rng.choice(NUMERIC).encode()
    if op == 10 and w:
        return w[:rng.randrange(len(w))]
    if op == 11:
        return w + b" " + w
    if op == 12 and rng.randrange(4) == 0:
        return (w or b"x") * (OVERLONG // max(1, len(w)) + 1)
    return b""


def _harmless(path, payload, layout):
    """Whether the write cannot add memory or poison a page."""
    v = kstrtoull(payload)
    if v is None:
        return True
    if path.endswith("/probe"):
        return v % layout["bs"] != 0 or v < layout["boot"]
    if path.endswith("_offline_page"):
        return v >> 12 >= 1 << 40
    return True


def writes(seed, count, layout, phase):
    """`count` (file, payload) pairs for `seed` and `phase`."""
    rng = random.Random(f"{seed}-{phase}")
    table = files(layout, phase)
    names = sorted(table)
    out = []
    while len(out) < count:
        path = rng.choice(names)
        payload = _mutate(rng, rng.choice(table[path]))
        if not _harmless(path, payload, layout):
            payload = b"0x"  # EINVAL everywhere
        out.append((path, payload))
    return out


def _escape(payload):
    return "".join(chr(c) if c < 0x80 and (chr(c).isalnum() or chr(c) in "_.:+-=,/%")
                   else f"\\x{c:02x}"
                   for c in payload)


ROOTS = {"$M": "/sys/devices/system/memory", "$P": "/sys/module/memory_hotplug/parameters",
         "$R": "/sys/kernel/debug/memory_notifier_recorder"}

# Writes each "<S|L> <path> <payload as printf %b escapes>" line with one write(2) and prints
# "<µs> <result>" for each: the guest's time for the write and its result. Bash's printf
# builtin forks nothing and writes a payload at once if it is at most 4096 bytes with no
# newline before its end (S); others (L) go through dd, which writes its 1 MiB block at
# once.
RUN = r"""
while read -r k f p; do
	a=${EPOCHREALTIME/./}
	if [ "$k" = S ]; then
		printf '%%b' "$p" 2>/tmp/fuzz.err > "$f"
	else
		printf '%%b' "$p" | dd of="$f" bs=1M iflag=fullblock conv=notrunc 2>/tmp/fuzz.err >/dev/null
	fi
	if [ $? = 0 ]; then
		e=OK
	else
		while read -r e; do case "$e" in *records*) ;; *) break ;; esac; done < /tmp/fuzz.err
		e=${e##*: }
	fi
	b=${EPOCHREALTIME/./}
	echo "$((b - a)) $e"
done <<'EOF_WRITES'
%s
EOF_WRITES
"""


def _one_printf(payload):
    """Whether bash's printf writes the payload at once: its stdout flushes at each newline
    and every 4096 bytes."""
    return len(payload) <= 4096 and b"\n" not in payload[:-1]


def expand(path):
    """The guest path of a file name of `files()`."""
    return ROOTS[path[:2]] + path[2:]


def run(vm, sh, pairs, chunk=500):
    """Performs the writes in the guest; returns the result of each and the guest's time
    for it in µs."""
    results, times = [], []
    for i in range(0, len(pairs), chunk):
        body = "\n".join(f"{'S' if _one_printf(d) else 'L'} {expand(p)} {_escape(d)}"
                          for p, d in pairs[i:i + chunk])
        for line in sh(vm, RUN % body, timeout=1800).splitlines():
            us, _, res = line.partition(" ")
            times.append(int(us))
            results.append(res)
    return results, times


def profile(pairs, results, times):
    """Lines "<s> <writes> <file> <result>" of the guest's time by file and result, the
    costliest first (block files are counted together)."""
    acc = {}
    for (path, _), res, us in zip(pairs, results, times):
        key = (re.sub(r"memory\d+", "memoryN", path), res)
        n, total = acc.get(key, (0, 0))
        acc[key] = (n + 1, total + us)
    return [f"{total / 1e6:8.2f} {n:6d} {path} {res}"
            for (path, res), (n, total) in sorted(acc.items(), key=lambda kv: -kv[1][1])]


def shown(payload):
    """A short printable form of a payload, for transcripts."""
    text = repr(payload)[2:-1]
    return text if len(text) <= 40 else text[:20] + f"...({len(payload)} bytes)"
