# SPDX-License-Identifier: GPL-2.0
"""Two NUMA nodes and virtio-mem: grow and shrink, node links, zones."""

from guest import blocks, grow_virtio_mem, memtotal, sh, wait_blocks
from ktap import test
from vm import GiB, MiB, VM, VMError


def _node_links(vm, ids):
    return {i: sh(vm, f"cd $M/memory{i} && ls -d node* 2>/dev/null | tr '\\n' ' '").strip()
            for i in ids}


@test(variants=("c", "rust", "debug"), compare=True)
def numa_virtio_mem(case, variant):
    """virtio-mem on node 1 of a two-node guest: grow by 256 MiB, then shrink to 0."""
    t = []
    with VM(variant, numa=True, virtio_mem=1 * GiB,
            append="memhp_default_state=online_movable") as vm:
        nodes = sh(vm, "cd /sys/devices/system/node && echo node*").split()
        case.eq(nodes, ["node0", "node1"], "the guest has two NUMA nodes")
        base = blocks(vm)
        links = _node_links(vm, sorted(base))
        per_node = {n: sorted(i for i, v in links.items() if v == n) for n in nodes}
        case.check(per_node["node0"] and per_node["node1"],
                   "boot blocks are linked to node0 and node1", links)
        t.append(f"boot: {len(base)} blocks; node0 {per_node['node0']} node1 {per_node['node1']}")
        base_total = memtotal(vm)

        new, bl = grow_virtio_mem(vm, 256 * MiB)
        t.append(f"grow: {' '.join(f'{i}:{bl[i][0]}:{bl[i][1]}' for i in new)}")
        case.eq([bl[i] for i in new], [("online", "Movable")] * 2,
                "grow: two new blocks online in Movable")
        case.eq(_node_links(vm, new), {i: "node1" for i in new},
                "grow: the new blocks are linked to node1")
        case.eq(memtotal(vm) - base_total, 256 * 1024, "grow: MemTotal +256 MiB")
        case.check("System RAM (virtio_mem)" in sh(vm, "cat /proc/iomem"),
                   "grow: /proc/iomem has System RAM (virtio_mem)")

        vm.virtio_mem_resize(0)
        try:
            bl = wait_blocks(vm, len(base))
        except VMError as e:
            case.fail("shrink: the blocks are removed", str(e))
            bl = blocks(vm)
        case.eq(sorted(bl), sorted(base), "shrink: back to the boot blocks")
        case.eq(memtotal(vm), base_total, "shrink: MemTotal back")
        t.append(f"shrink: {len(bl)} blocks, MemTotal {memtotal(vm) - base_total:+d} kB")
    return "\n".join(t) + "\n"
