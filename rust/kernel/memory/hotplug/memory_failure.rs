// SPDX-License-Identifier: GPL-2.0

//! Memory failure handling (hwpoison), `mm/memory-failure.c`: the soft and hard offline of a
//! page that the subsystem's `soft_offline_page` and `hard_offline_page` files ask for.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h).

use crate::{bindings, error::to_result, prelude::*};

/// Soft-offlines the page at `pfn` (`soft_offline_page(pfn, 0)`): migrates its content and
/// takes it out of use.
pub fn soft_offline_page(pfn: usize) -> Result {
    // SAFETY: The function validates `pfn`.
    to_result(unsafe { bindings::soft_offline_page(pfn, 0) })
}

/// Handles the page at `pfn` as if it had a hardware memory error
/// (`memory_failure(pfn, MF_SW_SIMULATED)`).
pub fn memory_failure_simulated(pfn: usize) -> Result {
    // SAFETY: The function validates `pfn`.
    to_result(unsafe { bindings::memory_failure(pfn, bindings::mf_flags_MF_SW_SIMULATED as _) })
}

/// Subtracts `nr` from the global count of poisoned pages (`num_poisoned_pages_sub(-1UL,
/// nr)`), as done when the memory that holds them is removed.
pub fn num_poisoned_pages_sub(nr: isize) {
    // SAFETY: The pfn `-1UL` means "no memory block to update".
    unsafe { bindings::num_poisoned_pages_sub(usize::MAX, nr as _) };
}

/// Returns whether the current task has `CAP_SYS_ADMIN` (`capable(CAP_SYS_ADMIN)`).
pub fn capable_sys_admin() -> bool {
    // SAFETY: Called from process context.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as _) }
}
