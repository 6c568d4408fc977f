// SPDX-License-Identifier: GPL-2.0

//! Sparse memory sections: the unit memory blocks are made of.
//!
//! # Examples
//!
//! ```
//! use kernel::memory::hotplug::{memory_block_size_bytes, section};
//! use kernel::page::PAGE_SIZE;
//!
//! assert_eq!(section::PAGES * PAGE_SIZE, section::SIZE);
//! // A memory block is a whole number of sections; block N starts at section N * that.
//! let sections_per_block = memory_block_size_bytes() / section::SIZE;
//! assert!(sections_per_block >= 1);
//! assert_eq!(memory_block_size_bytes() % section::SIZE, 0);
//! let block = 5;
//! let pfn = section::nr_to_pfn(block * sections_per_block);
//! assert_eq!(pfn * PAGE_SIZE, block * memory_block_size_bytes());
//! assert_eq!(section::pfn_to_nr(pfn + section::PAGES - 1), block * sections_per_block);
//! assert_eq!(section::pfn_to_nr(pfn + section::PAGES), block * sections_per_block + 1);
//! ```

use super::DeviceHotplugLocked;
use crate::bindings;

/// Returns whether the section of `pfn` is online and in `ZONE_MOVABLE`, or `None` if it is
/// not online (`pfn_to_online_page()`, `is_zone_movable_page()`).
///
/// `device_hotplug_lock` keeps the answer's page alive: memory is removed, and its memmap
/// freed, only under that lock (`remove_memory()`, `offline_and_remove_memory()`), so a page
/// `pfn_to_online_page()` found stays readable until the lock is released. Without it the
/// section could be offlined and removed between the two calls.
pub fn online_zone_is_movable(_lock: &DeviceHotplugLocked, pfn: usize) -> Option<bool> {
    // SAFETY: `pfn_to_online_page()` validates `pfn`.
    let page = unsafe { bindings::pfn_to_online_page(pfn) };
    // SAFETY: A non-null result is an initialised page of an online section, whose memmap
    // `device_hotplug_lock` (held, `_lock`) keeps from being freed.
    (!page.is_null()).then(|| unsafe { bindings::is_zone_movable_page(page) })
}

/// The size of a section in bytes (`MIN_MEMORY_BLOCK_SIZE`).
pub const SIZE: usize = 1 << bindings::SECTION_SIZE_BITS;

/// The number of pages in a section (`PAGES_PER_SECTION`).
pub const PAGES: usize = SIZE >> bindings::PAGE_SHIFT;

/// Returns the first pfn of section `nr`.
pub fn nr_to_pfn(nr: usize) -> usize {
    // SAFETY: Pure arithmetic.
    unsafe { bindings::section_nr_to_pfn(nr) }
}

/// Returns the section of `pfn`.
pub fn pfn_to_nr(pfn: usize) -> usize {
    // SAFETY: Pure arithmetic.
    unsafe { bindings::pfn_to_section_nr(pfn) }
}

/// Returns whether section `nr` has memory present.
pub fn is_present(nr: usize) -> bool {
    // SAFETY: `present_section_nr()` checks the bounds of `nr`.
    unsafe { bindings::present_section_nr(nr) }
}

/// Returns the first section at or after `start` with memory present, if any
/// (`next_present_section_nr(start - 1)`, the step of `for_each_present_section_nr()`):
/// only sections up to [`highest_present`] are looked at.
pub fn first_present_from(start: usize) -> Option<usize> {
    (start..=highest_present()).find(|&nr| is_present(nr))
}

/// Returns the highest section with memory present (core mm raises it when memory is
/// added).
pub fn highest_present() -> usize {
    // SAFETY: A racy read of an aligned `unsigned long`, which core mm only raises
    // (`section_mark_present()`), as its own readers (`next_present_section_nr()`) do.
    unsafe { bindings::highest_present_section_nr() }
}
