// SPDX-License-Identifier: GPL-2.0

//! Adding memory: `__add_memory()`, which creates the memory block devices of the range and
//! auto-onlines them.
//!
//! C header: [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h).

use super::{node::node_possible, DeviceHotplugLocked};
use crate::{bindings, error::to_result, prelude::*};

/// `MHP_NONE`: no memory hotplug flags (a `__force` cast in C, which bindgen skips).
const MHP_NONE: bindings::mhp_t = 0;

/// Adds `[start, start + size)` as System RAM of node `nid` (`__add_memory(…, MHP_NONE)`),
/// creating its memory block devices and auto-onlining them.
///
/// # Safety
///
/// `[start, start + size)` must be RAM that nothing else uses: core mm maps it, builds its
/// memmap and gives it to the page allocator. Only the caller can know that, e.g. firmware
/// that reported a memory device, or the administrator writing to `probe`.
pub unsafe fn add_memory(_lock: &DeviceHotplugLocked, nid: i32, start: u64, size: u64) -> Result {
    // Core mm onlines the node: it must be a possible one.
    if !node_possible(nid) {
        return Err(EINVAL);
    }
    // SAFETY: `device_hotplug_lock` is held, as `__add_memory()` requires; the range is unused
    // RAM (safety requirements).
    to_result(unsafe { bindings::__add_memory(nid, start, size, MHP_NONE) })
}
