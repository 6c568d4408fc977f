// SPDX-License-Identifier: GPL-2.0

//! memmap_on_memory: the mode (`memory_hotplug.memmap_on_memory`) and the vmemmap pages at the
//! start of a block added with it, initialised, accounted and released around its online and
//! offline.
//!
//! C header: [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h).

use super::{MemHotplugGuard, Zone};
use crate::{
    bindings,
    error::to_result,
    memory::block::{LockedBlock, MemoryGroup},
    prelude::*,
};

/// Where the memmap of hot-added memory goes (`memory_hotplug.memmap_on_memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemmapOnMemory {
    /// Allocated from other memory (`N`).
    Disabled,
    /// Inside the added memory itself where its size allows (`Y`).
    Enabled,
    /// Inside the added memory, rounded up to full pageblocks, wasting memory where needed
    /// (`force`).
    Force,
}

/// Sets memmap_on_memory for memory added from now on (`mhp_set_memmap_on_memory()`).
///
/// Core mm reads the mode when memory is added, under `mem_hotplug_lock`. Blocks added earlier
/// keep their altmap whatever the mode becomes: their removal frees it.
#[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
pub fn set_memmap_on_memory(_lock: &MemHotplugGuard, mode: MemmapOnMemory) {
    // SAFETY: `mem_hotplug_lock` is held for write (the guard), as the function requires.
    unsafe {
        bindings::mhp_set_memmap_on_memory(
            mode != MemmapOnMemory::Disabled,
            mode == MemmapOnMemory::Force,
        )
    };
}

/// Initialises the vmemmap pages at the start of a memmap_on_memory block and adds them to
/// `zone` (`mhp_init_memmap_on_memory()`); nothing to do for a block without them.
// Not inlined: its frame would stay under the notifier callbacks of the operation.
#[inline(never)]
pub(super) fn init_memmap_on_memory(
    _lock: &MemHotplugGuard,
    mem: &LockedBlock<'_>,
    zone: &Zone,
) -> Result {
    let Some((vmemmap_pages, inaccessible)) = mem.altmap() else {
        return Ok(());
    };
    // SAFETY: `mem_hotplug_lock` is held for write; the range is the altmap range of an offline
    // block, which core mm mapped when it added the block.
    to_result(unsafe {
        bindings::mhp_init_memmap_on_memory(
            mem.pfns().start_pfn,
            vmemmap_pages,
            zone.as_raw(),
            inaccessible,
        )
    })
}

/// Undoes [`init_memmap_on_memory`] (`mhp_deinit_memmap_on_memory()`), when the block's memory
/// was not onlined or has been offlined.
// Not inlined: its frame would stay under the notifier callbacks of the operation.
#[inline(never)]
pub(super) fn deinit_memmap_on_memory(_lock: &MemHotplugGuard, mem: &LockedBlock<'_>) {
    let Some((vmemmap_pages, _)) = mem.altmap() else {
        return;
    };
    // SAFETY: `mem_hotplug_lock` is held for write; the range is the block's initialised altmap
    // range, whose memory is offline.
    unsafe { bindings::mhp_deinit_memmap_on_memory(mem.pfns().start_pfn, vmemmap_pages) };
}

/// Adds (`add`) or removes the vmemmap pages of a memmap_on_memory block to or from the
/// present pages of its zone, node and group (`adjust_present_page_count()`); nothing to do for
/// a block without them. Their memmap is initialised (the block is being onlined or offlined).
// Not inlined: its frame would stay under the notifier callbacks of the operation.
#[inline(never)]
pub(super) fn adjust_present_page_count(_lock: &MemHotplugGuard, mem: &LockedBlock<'_>, add: bool) {
    let Some((vmemmap_pages, _)) = mem.altmap() else {
        return;
    };
    let nr_pages = if add {
        vmemmap_pages as isize
    } else {
        -(vmemmap_pages as isize)
    };
    // SAFETY: The block's first pfn has an initialised memmap (its vmemmap pages were
    // initialised), so `pfn_to_page()` is valid; `mem_hotplug_lock` is held for write.
    unsafe {
        bindings::adjust_present_page_count(
            bindings::pfn_to_page(mem.pfns().start_pfn),
            MemoryGroup::raw_or_null(mem.group()),
            nr_pages as _,
        )
    };
}
