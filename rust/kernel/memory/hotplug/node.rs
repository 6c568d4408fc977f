// SPDX-License-Identifier: GPL-2.0

//! NUMA nodes as memory hotplug sees them: which exist, which have zones, and which node an
//! address belongs to.
//!
//! C header: [`include/linux/nodemask.h`](srctree/include/linux/nodemask.h).

use crate::bindings;

/// No node (`NUMA_NO_NODE`): the node of a memory block before it is linked to one.
pub const NUMA_NO_NODE: i32 = bindings::NUMA_NO_NODE;

/// Returns whether node `nid` is possible (`node_possible()`); false for negative ids.
pub fn node_possible(nid: i32) -> bool {
    // SAFETY: The helper checks a bit of a static nodemask; `nid` is in range.
    nid >= 0 && nid < bindings::MAX_NUMNODES as i32 && unsafe { bindings::node_possible(nid) }
}

/// Returns whether `nid` is an online node, whose `NODE_DATA()` and zones exist. Without NUMA
/// there is one node whatever the id (`NODE_DATA()` ignores it).
pub fn node_has_zones(nid: i32) -> bool {
    if !cfg!(CONFIG_NUMA) {
        return true;
    }
    // SAFETY: `nid` is below `MAX_NUMNODES`.
    (0..bindings::MAX_NUMNODES as i32).contains(&nid) && unsafe { bindings::node_online(nid) }
}

/// Returns the node that memory at physical address `addr` would be added to.
pub fn memory_add_physaddr_to_nid(addr: u64) -> i32 {
    // SAFETY: No requirements.
    unsafe { bindings::memory_add_physaddr_to_nid(addr) }
}
