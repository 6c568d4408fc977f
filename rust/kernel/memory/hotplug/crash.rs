// SPDX-License-Identifier: GPL-2.0

//! Crash kernel support for memory hotplug (`crash_hotplug`).
//!
//! C header: [`include/linux/crash_core.h`](srctree/include/linux/crash_core.h).

use crate::bindings;

/// Returns whether a crash kernel is loaded that supports memory hotplug
/// (`crash_check_hotplug_support()`).
pub fn crash_check_hotplug_support() -> i32 {
    // SAFETY: No requirements.
    unsafe { bindings::crash_check_hotplug_support() }
}
