#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw a guest's memory layout: memory blocks by node, coloured by zone, with their groups.

The guest has no Python: run the collector there (``memory_layout.py --collector`` prints
it) and give its output to this tool on the host::

    memory_layout.py --collector > collect.sh      # then in the guest: sh collect.sh > dump
    memory_layout.py dump                           # the text picture
    memory_layout.py --svg layout.svg dump          # and an SVG

The collector reads sysfs (state, valid_zones, node links of each memoryN) and, where the
Rust driver's debugfs file /sys/kernel/debug/memory_block/policy exists, the memory group
of each block. An online block is drawn in its zone, an offline one grey with the zone a
plain ``online`` would choose now, a block spanning zones (valid_zones ``none``) red.
"""

import argparse
import html
import re
import sys

COLLECTOR = r"""M=/sys/devices/system/memory
echo "block_size $(cat $M/block_size_bytes)"
for d in $M/memory[0-9]*; do
	n=
	for l in $d/node[0-9]*; do [ -e "$l" ] && n="$n${n:+,}${l##*node}"; done
	echo "block ${d##*memory} $(cat $d/state) ${n:--} $(cat $d/valid_zones 2>/dev/null)"
done
P=/sys/kernel/debug/memory_block/policy
[ -r $P ] && sed 's/^/policy /' $P
true
"""

# One letter per zone in the text picture; colours in the SVG.
ZONES = {
    "DMA": ("D", "#9467bd"),
    "DMA32": ("d", "#8c564b"),
    "Normal": ("N", "#1f77b4"),
    "Movable": ("M", "#2ca02c"),
    "Device": ("V", "#e377c2"),
    "none": ("x", "#d62728"),
}
OFFLINE = "#d9d9d9"
PER_ROW = 64


class Block:
    def __init__(self, bid, state, nodes, zones):
        self.id = bid
        self.state = state
        self.nodes = nodes
        # Online: the zone; offline: the zones it may go to, the default first.
        self.zones = zones
        self.group = None

    @property
    def zone(self):
        return self.zones[0] if self.zones else "none"

    @property
    def node(self):
        return self.nodes[0] if self.nodes else -1


def parse(text):
    """(block size, {id: Block}, policy lines) from the collector's output."""
    size, blocks, policy = 0, {}, []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "block_size":
            size = int(f[1], 16)
        elif f[0] == "block" and len(f) >= 4:
            nodes = [] if f[3] == "-" else [int(n) for n in f[3].split(",")]
            blocks[int(f[1])] = Block(int(f[1]), f[2], nodes, f[4:])
        elif f[0] == "policy":
            policy.append(line[len("policy "):])
    for line in policy:
        m = re.match(r"memory(\d+) \(group (\d+)\)", line)
        if m and int(m.group(1)) in blocks:
            blocks[int(m.group(1))].group = int(m.group(2))
    return size, blocks, policy


def _rows(blocks):
    """Per node, rows of up to PER_ROW consecutive block ids: [(node, [Block or None])]."""
    rows = []
    for node in sorted({b.node for b in blocks.values()}):
        ids = sorted(b.id for b in blocks.values() if b.node == node)
        start = ids[0] - ids[0] % PER_ROW
        while start <= ids[-1]:
            row = [blocks.get(i) if i in blocks and blocks[i].node == node else None
                   for i in range(start, start + PER_ROW)]
            if any(row):
                rows.append((node, start, row))
            start += PER_ROW
    return rows


def _groups(blocks):
    """{group: (node, [ids])}."""
    out = {}
    for b in sorted(blocks.values(), key=lambda b: b.id):
        if b.group is not None:
            out.setdefault(b.group, (b.node, []))[1].append(b.id)
    return out


def _ranges(ids):
    out, start, prev = [], None, None
    for i in ids:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            out.append((start, prev))
            start = prev = i
    if start is not None:
        out.append((start, prev))
    return ", ".join(f"memory{a}" if a == b else f"memory{a}-{b}" for a, b in out)


def text(size, blocks):
    """The layout as text: a letter per block (lower case: offline, choice of `online`)."""
    out = [f"{len(blocks)} memory blocks of {size >> 20} MiB; " +
           ", ".join(f"{z[0]} {n}" for n, z in ZONES.items()) +
           "; lower case: offline (the zone `online` would choose); '-': no block"]
    for node, start, row in _rows(blocks):
        cells = ""
        for b in row:
            if b is None:
                cells += "-"
            else:
                letter = ZONES.get(b.zone, ("?",))[0]
                cells += letter.lower() if b.state != "online" else letter
        out.append(f"{f'node {node} memory{start}':<20} {cells.rstrip('-')}")
    for g, (node, ids) in sorted(_groups(blocks).items()):
        out.append(f"group {g} (node {node}): {_ranges(ids)}")
    return "\n".join(out) + "\n"


def svg(size, blocks, title=""):
    """The layout as SVG: a cell per block, coloured by zone, a stripe per group."""
    cell, gap, left, top = 12, 2, 150, 40
    rows = _rows(blocks)
    groups = sorted(_groups(blocks))
    palette = ["#ff7f0e", "#17becf", "#bcbd22", "#7f7f7f", "#e377c2", "#393b79"]
    width = left + PER_ROW * (cell + gap) + 20
    height = top + len(rows) * (cell + 8) + 60
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="monospace" font-size="11">',
         f'<text x="4" y="16" font-size="13">{html.escape(title)} '
         f'({len(blocks)} blocks of {size >> 20} MiB)</text>']
    for r, (node, start, row) in enumerate(rows):
        y = top + r * (cell + 8)
        o.append(f'<text x="4" y="{y + cell - 2}">node {node} memory{start}</text>')
        for c, b in enumerate(row):
            if b is None:
                continue
            x = left + c * (cell + gap)
            colour = ZONES.get(b.zone, ("?", "#000000"))[1]
            fill = colour if b.state == "online" else OFFLINE
            o.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                     f'stroke="{colour}" stroke-width="2"><title>memory{b.id} {b.state} '
                     f'{" ".join(b.zones)}</title></rect>')
            if b.group is not None:
                g = palette[groups.index(b.group) % len(palette)]
                o.append(f'<rect x="{x}" y="{y + cell + 1}" width="{cell}" height="3" '
                         f'fill="{g}"/>')
    y = top + len(rows) * (cell + 8) + 16
    x = 4
    for name, (_, colour) in ZONES.items():
        o.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                 f'<text x="{x + 14}" y="{y}">{name}</text>')
        x += 14 + 8 * len(name) + 12
    o.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{OFFLINE}" '
             f'stroke="#1f77b4" stroke-width="2"/><text x="{x + 14}" y="{y}">offline '
             f'(border: zone of `online`)</text>')
    for i, g in enumerate(groups):
        node, ids = _groups(blocks)[g]
        o.append(f'<rect x="4" y="{y + 8 + 14 * i}" width="10" height="3" '
                 f'fill="{palette[i % len(palette)]}"/><text x="18" y="{y + 14 + 14 * i}">'
                 f'group {g} (node {node}): {html.escape(_ranges(ids))}</text>')
    o.append("</svg>")
    # Grow the picture for the group legend.
    o[0] = o[0].replace(f'height="{height}"', f'height="{height + 14 * len(groups)}"')
    return "\n".join(o) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", nargs="?", help="the collector's output (default: stdin)")
    ap.add_argument("--collector", action="store_true", help="print the guest-side collector")
    ap.add_argument("--svg", metavar="FILE", help="also write the layout as SVG")
    ap.add_argument("--title", default="", help="the SVG's title")
    args = ap.parse_args()
    if args.collector:
        sys.stdout.write(COLLECTOR)
        return 0
    dump = open(args.dump).read() if args.dump else sys.stdin.read()
    size, blocks, _ = parse(dump)
    if not blocks:
        sys.exit("memory_layout: no memory blocks in the input")
    sys.stdout.write(text(size, blocks))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(size, blocks, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
