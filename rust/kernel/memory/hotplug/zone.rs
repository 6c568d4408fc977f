// SPDX-License-Identifier: GPL-2.0

//! Memory zones (`struct zone`) and the zone core mm gives a range of pfns.
//!
//! C header: [`include/linux/mmzone.h`](srctree/include/linux/mmzone.h).

use super::{node::node_has_zones, OnlineType};
use crate::{bindings, memory::block::MemoryGroup, prelude::*, str::CStr, types::Opaque};
use core::ptr;

/// A memory zone (`struct zone`) of a node.
///
/// # Invariants
///
/// `self.0` is a zone in a node's `pg_data_t`, which is never freed for a possible node.
#[repr(transparent)]
pub struct Zone(Opaque<bindings::zone>);

// SAFETY: Zones are shared by all CPUs. What `&Zone` gives access to is either fixed once the
// node is initialised (name, node, index) or changed by core mm under `mem_hotplug_lock` (the
// page counters, read here with volatile `READ_ONCE()` loads, and the span, which
// `zone_intersects()` and `populated_zone()` read), as core mm's lockless readers read them;
// nothing is written through `&Zone`.
unsafe impl Sync for Zone {}

impl Zone {
    /// Creates a reference from a raw zone pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or point to a zone of a `pg_data_t`.
    pub unsafe fn from_raw(ptr: *mut bindings::zone) -> Option<&'static Zone> {
        // SAFETY: `Zone` is transparent over the C struct; by the safety requirements it lives
        // for ever.
        unsafe { ptr.cast::<Zone>().as_ref() }
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::zone {
        self.0.get()
    }

    /// Returns the zone's name: `DMA`, `DMA32`, `Normal`, `Movable`, ...
    pub fn name(&self) -> &'static CStr {
        // SAFETY: `name` is set to a static string when the node is initialised.
        unsafe { CStr::from_char_ptr((*self.0.get()).name) }
    }

    /// Returns the node of the zone.
    pub fn nid(&self) -> i32 {
        // SAFETY: `zone_pgdat` points to the zone's `pg_data_t`, which lives for ever; `node_id`
        // is set when the node is initialised.
        unsafe { (*(*self.0.get()).zone_pgdat).node_id }
    }

    /// The number of zone types (`MAX_NR_ZONES`): [`Zone::idx`] is below it.
    pub const MAX_NR_ZONES: usize = bindings::zone_type___MAX_NR_ZONES as usize;

    /// Returns the zone's type (`zone_idx()`): its index in its node, the same for the zones of
    /// a type on every node.
    pub fn idx(&self) -> usize {
        // SAFETY: `self` is a zone of a `pg_data_t` (type invariant).
        unsafe { bindings::zone_idx(self.as_raw()) as usize }
    }

    /// Returns whether this is the node's `ZONE_MOVABLE`.
    pub fn is_movable(&self) -> bool {
        self.idx() == bindings::zone_type_ZONE_MOVABLE as usize
    }

    /// Returns the pages present in the zone (`present_pages`), changed by onlining and
    /// offlining under `mem_hotplug_lock`; read without it, like core mm's policy does.
    pub fn present_pages(&self) -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`, like `READ_ONCE()`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).present_pages)) }
    }

    /// Returns the pages of the zone present at boot (`present_early_pages`).
    pub fn present_early_pages(&self) -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).present_early_pages)) }
    }

    /// Returns the pages of the zone reserved for CMA (`cma_pages`; 0 without CMA).
    pub fn cma_pages(&self) -> usize {
        #[cfg(CONFIG_CMA)]
        // SAFETY: A racy read of an aligned `unsigned long`.
        let pages = unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).cma_pages)) };
        #[cfg(not(CONFIG_CMA))]
        let pages = 0;
        pages
    }

    /// Calls `f` for each populated zone of node `nid`, or of every online node if `nid` is
    /// `None` (`for_each_populated_zone()`). A node that is not online (or no node at all) has
    /// no zones to visit.
    pub fn for_each_populated(nid: Option<i32>, mut f: impl FnMut(&'static Zone)) {
        const MAX: i32 = bindings::MAX_NUMNODES as i32;
        let (mut nid, single) = match nid {
            // SAFETY: `nid` is below `MAX_NUMNODES`.
            Some(nid) if (0..MAX).contains(&nid) && unsafe { bindings::node_online(nid) } => {
                (nid, true)
            }
            Some(_) => return,
            // The online nodes, as `for_each_online_node()`: not every possible node id.
            // SAFETY: `-1` asks for the first node of the online mask.
            None => (unsafe { bindings::next_online_node(-1) }, false),
        };
        while nid < MAX {
            for idx in 0..bindings::zone_type___MAX_NR_ZONES as i32 {
                // SAFETY: The node is online, so `NODE_DATA(nid)` is valid.
                let zone = unsafe { bindings::node_zone(nid, idx) };
                // SAFETY: `zone` is a valid zone of a `pg_data_t`.
                if unsafe { bindings::populated_zone(zone) } {
                    // SAFETY: `zone` is a zone of a `pg_data_t`.
                    f(unsafe { Zone::from_raw(zone) }.expect("a zone is never NULL"));
                }
            }
            if single {
                return;
            }
            // SAFETY: `nid` is below `MAX_NUMNODES`; the result is `MAX_NUMNODES` after the last.
            nid = unsafe { bindings::next_online_node(nid) };
        }
    }

    /// Returns the zone of node `nid` (`NUMA_NO_NODE` without NUMA) that is the only populated
    /// zone intersecting `[start_pfn, start_pfn + nr_pages)`, or `None` if there are several or
    /// none, or if the node is not online.
    pub fn single_zone_for_range(
        nid: i32,
        start_pfn: usize,
        nr_pages: usize,
    ) -> Option<&'static Zone> {
        if !node_has_zones(nid) {
            return None;
        }
        let mut found = None;
        for idx in 0..bindings::zone_type___MAX_NR_ZONES as i32 {
            // SAFETY: The node is online (checked above), so `NODE_DATA(nid)` is valid and `idx`
            // is below `MAX_NR_ZONES`.
            let zone = unsafe { bindings::node_zone(nid, idx) };
            // SAFETY: `zone` is a valid zone.
            let hit = unsafe {
                bindings::populated_zone(zone)
                    && bindings::zone_intersects(zone, start_pfn, nr_pages)
            };
            if hit {
                if found.is_some() {
                    return None;
                }
                // SAFETY: `zone` is a zone of a `pg_data_t`.
                found = unsafe { Zone::from_raw(zone) };
            }
        }
        found
    }

    /// Returns the zone that memory of `[start_pfn, start_pfn + nr_pages)` of node `nid` in
    /// `group` goes to when onlined with `online_type` (`zone_for_pfn_range()`), according to
    /// core mm's contig-zones rules and the current zone spans.
    ///
    /// Fails with `EINVAL` if node `nid` is not online (it has no zones).
    pub fn for_pfn_range(
        online_type: OnlineType,
        nid: i32,
        group: Option<&MemoryGroup>,
        start_pfn: usize,
        nr_pages: usize,
    ) -> Result<&'static Zone> {
        if !node_has_zones(nid) {
            return Err(EINVAL);
        }
        let group = MemoryGroup::raw_or_null(group);
        // SAFETY: `group` is null or a registered group; the node is online, so `NODE_DATA(nid)`
        // is valid; the function only computes with the pfns and always returns one of the
        // node's zones.
        let zone = unsafe {
            bindings::zone_for_pfn_range(online_type.as_raw(), nid, group, start_pfn, nr_pages)
        };
        // SAFETY: `zone_for_pfn_range()` returns a zone of a `pg_data_t`, never null.
        unsafe { Zone::from_raw(zone) }.ok_or(EINVAL)
    }
}
