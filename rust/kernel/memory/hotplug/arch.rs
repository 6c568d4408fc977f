// SPDX-License-Identifier: GPL-2.0

//! What the architecture decides about memory blocks (`__weak` functions it may override): the
//! block size and a block's physical device.
//!
//! C header: [`include/linux/memory.h`](srctree/include/linux/memory.h).

use crate::bindings;

/// Returns the memory block size in bytes (`memory_block_size_bytes()`), which the
/// architecture may override.
pub fn memory_block_size_bytes() -> usize {
    // SAFETY: No requirements.
    unsafe { bindings::memory_block_size_bytes() }
}

/// Returns the physical device of the memory at `start_pfn` (`arch_get_memory_phys_device()`;
/// 0 except on s390).
pub fn arch_get_memory_phys_device(start_pfn: usize) -> i32 {
    // SAFETY: No requirements.
    unsafe { bindings::arch_get_memory_phys_device(start_pfn) }
}
