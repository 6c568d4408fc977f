// SPDX-License-Identifier: GPL-2.0

//! The trace events of memory hotplug: the system `memory_block`.
//!
//! C header: [`include/trace/events/memory_block.h`](srctree/include/trace/events/memory_block.h),
//! which documents each field. The events are defined by the Rust memory block driver's C glue
//! (`drivers/base/memory_rust/memory_trace.c`); enable them with
//! `echo 1 > /sys/kernel/tracing/events/memory_block/enable` or `trace-cmd record -e
//! memory_block`.

use super::hotplug::{OnlineType, Zone};
use crate::{
    c_str,
    error::Error,
    ffi::{c_char, c_int, c_ulong, c_void},
    prelude::*,
    str::CStr,
};

mod raw {
    use super::*;

    crate::declare_trace! {
        /// Fires `memory_block:memory_block_online`.
        pub(super) unsafe fn memory_block_online(
            id: c_ulong,
            start_pfn: c_ulong,
            nr_pages: c_ulong,
            online_type: c_int,
            zone: *const c_char,
            ret: c_int,
            duration_ns: u64,
        );
        /// Fires `memory_block:memory_block_offline`.
        pub(super) unsafe fn memory_block_offline(
            id: c_ulong,
            start_pfn: c_ulong,
            nr_pages: c_ulong,
            zone: *const c_char,
            ret: c_int,
            reason: *const c_char,
            duration_ns: u64,
        );
        /// Fires `memory_block:memory_notify`.
        pub(super) unsafe fn memory_notify(
            action: c_ulong,
            start_pfn: c_ulong,
            nr_pages: c_ulong,
            ret: c_int,
            stopped_by: *mut c_void,
        );
    }
}

/// The negative errno of `result`, 0 on success.
fn errno(result: &Result<(), Error>) -> c_int {
    result.as_ref().map_or_else(|e| e.to_errno(), |()| 0)
}

/// The name of `zone`, `none` without one.
fn zone_name(zone: Option<&Zone>) -> &'static CStr {
    zone.map_or(c_str!("none"), Zone::name)
}

/// An online of block `id`, `[start_pfn, start_pfn + nr_pages)`, requested as `online_type`,
/// into `zone` (`None` if no zone could be chosen), ended with `result` after `duration_ns`.
pub fn memory_block_online(
    id: usize,
    (start_pfn, nr_pages): (usize, usize),
    online_type: OnlineType,
    zone: Option<&Zone>,
    result: Result,
    duration_ns: u64,
) {
    // SAFETY: The zone name is a static NUL-terminated string; the other arguments are values.
    unsafe {
        raw::memory_block_online(
            id,
            start_pfn,
            nr_pages,
            online_type.as_raw() as c_int,
            zone_name(zone).as_char_ptr(),
            errno(&result),
            duration_ns,
        )
    }
}

/// An offline of block `id`, `[start_pfn, start_pfn + nr_pages)`, online in `zone` (`None` if
/// it spans several), ended with `result` and, on failure, core mm's `reason` (empty if none)
/// after `duration_ns`.
pub fn memory_block_offline(
    id: usize,
    (start_pfn, nr_pages): (usize, usize),
    zone: Option<&Zone>,
    result: Result,
    reason: &CStr,
    duration_ns: u64,
) {
    // SAFETY: Both strings are NUL-terminated and outlive the call; the other arguments are
    // values.
    unsafe {
        raw::memory_block_offline(
            id,
            start_pfn,
            nr_pages,
            zone_name(zone).as_char_ptr(),
            errno(&result),
            reason.as_char_ptr(),
            duration_ns,
        )
    }
}

/// A call of the memory notifier chain with event `action` (`MEM_*`) for `[start_pfn,
/// start_pfn + nr_pages)`, which ended with `result`, stopped by the callback at `stopped_by`
/// (0 if none).
pub(crate) fn memory_notify(
    action: c_ulong,
    (start_pfn, nr_pages): (usize, usize),
    result: Result,
    stopped_by: usize,
) {
    // SAFETY: All arguments are values; the event only prints `stopped_by` with `%ps`.
    unsafe {
        raw::memory_notify(
            action,
            start_pfn,
            nr_pages,
            errno(&result),
            stopped_by as *mut c_void,
        )
    }
}
