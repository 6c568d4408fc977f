// SPDX-License-Identifier: GPL-2.0

//! The memory notifier chain itself (`BLOCKING_NOTIFIER_HEAD(memory_chain)`), for the memory
//! block driver that provides `register_memory_notifier()`, `unregister_memory_notifier()` and
//! `memory_notify()`.
//!
//! The head is defined in C (`drivers/base/memory_rust/memory_glue.c`) because it must be
//! statically initialised: slub registers its callback before any Rust code runs. The glue's
//! `memory_chain_call()` walks the chain like `blocking_notifier_call_chain()` and also tells
//! which callback stopped it, which [`call`] traces and hands to [`super::veto`].

use super::{veto, Action};
use crate::{
    bindings,
    error::to_result,
    ffi::c_ulong,
    memory::{block::LockedBlock, hotplug::MemHotplugGuard},
    prelude::*,
};
use core::{ffi::c_void, ptr};

// Without SMP and spinlock debugging the head's `arch_spinlock_t` has no fields, which rustc
// calls not FFI-safe; Rust only takes the address of the head.
#[allow(improper_ctypes)]
extern "C" {
    static mut memory_chain: bindings::blocking_notifier_head;
}

/// `register_memory_notifier()`: adds `nb`, ordered by descending priority.
///
/// # Safety
///
/// `nb` must be valid and stay registered only while it is alive.
pub unsafe fn register(nb: *mut bindings::notifier_block) -> i32 {
    // SAFETY: The chain head is statically initialised; `nb` is valid (safety
    // requirements).
    unsafe { bindings::blocking_notifier_chain_register(ptr::addr_of_mut!(memory_chain), nb) }
}

/// `unregister_memory_notifier()`.
///
/// # Safety
///
/// `nb` must be null or a pointer passed to [`register`].
pub unsafe fn unregister(nb: *mut bindings::notifier_block) {
    // SAFETY: The chain head is statically initialised; the chain ignores unknown blocks.
    unsafe { bindings::blocking_notifier_chain_unregister(ptr::addr_of_mut!(memory_chain), nb) };
}

/// `memory_notify()`: calls the chain with event `val` and payload `v`, fires the
/// `memory_block:memory_notify` trace event and, if a callback vetoed the event, records it
/// for the current thread's `veto::record_veto()`.
///
/// # Safety
///
/// `v` must point to a `struct memory_notify` valid for event `val`; the caller must not
/// hold locks the callbacks take (it holds `mem_hotplug_lock` for write).
pub unsafe fn call(val: c_ulong, v: *mut c_void) -> i32 {
    // The frame of this function is under every callback: only what the call needs.
    let mut stopped_by: bindings::notifier_fn_t = None;
    let mut priority = 0;
    // SAFETY: The chain head is statically initialised; the payload is valid (safety
    // requirements); `stopped_by` and `priority` are valid for writes.
    let ret = unsafe { bindings::memory_chain_call(val, v, &mut stopped_by, &mut priority) };
    // SAFETY: `v` points to a valid `struct memory_notify` (safety requirements).
    unsafe { called(val, v, ret, stopped_by, priority) };
    ret
}

/// After the chain returned `ret` for event `val` and payload `v`: the trace event and the
/// record of a veto by `stopped_by` (registered with `priority`). Not inlined into [`call`],
/// whose frame the callbacks run above (`test_stack.py`).
///
/// # Safety
///
/// `v` must point to a valid `struct memory_notify`.
#[inline(never)]
unsafe fn called(
    val: c_ulong,
    v: *mut c_void,
    ret: i32,
    stopped_by: bindings::notifier_fn_t,
    priority: i32,
) {
    let callback = stopped_by.map_or(0, |f| f as usize);
    // SAFETY: `v` points to a valid `struct memory_notify` (safety requirements).
    let range = unsafe {
        let arg = v.cast::<bindings::memory_notify>();
        ((*arg).start_pfn, (*arg).nr_pages)
    };
    // SAFETY: Pure function.
    let result = to_result(unsafe { bindings::notifier_to_errno(ret) });
    crate::memory::trace::memory_notify(val, range, result, callback);
    // A veto stops the chain with an errno; NOTIFY_STOP only hides the event from the
    // callbacks of lower priority.
    if let (Some(action), Err(error)) = (Action::from_raw(val), result) {
        if callback != 0 && action.is_vetoable() {
            veto::recorded(veto::Veto {
                action,
                callback,
                priority,
                error,
            });
        }
    }
}

/// Sends `action` for the block `mem` to the memory notifier chain (`memory_notify()`), and
/// returns the error of the first callback that vetoed it (`notifier_to_errno()`).
///
/// Only the events that carry an altmap payload (`MEM_PREPARE_ONLINE`, `MEM_FINISH_OFFLINE`) can
/// be sent this way, for the whole block with its memmap_on_memory (altmap) part; the others are
/// sent by core mm (`online_pages()`, `offline_pages()`).
pub(crate) fn notify(_lock: &MemHotplugGuard, action: Action, mem: &LockedBlock<'_>) -> Result {
    if !action.has_altmap() {
        return Err(EINVAL);
    }
    let pfns = mem.pfns();
    let mut arg = bindings::memory_notify {
        altmap_start_pfn: pfns.start_pfn,
        altmap_nr_pages: pfns.vmemmap_pages,
        start_pfn: pfns.memory_start_pfn(),
        nr_pages: pfns.memory_nr_pages(),
        // Not part of these events; C leaves them uninitialised, they read as "no change".
        status_change_nid_normal: bindings::NUMA_NO_NODE,
        status_change_nid: bindings::NUMA_NO_NODE,
    };
    // SAFETY: `arg` is a valid payload for `action`, the range of a registered block whose
    // device lock is held; `mem_hotplug_lock` is held as the chain's callbacks expect.
    let ret = unsafe { call(action.as_raw() as _, ptr::addr_of_mut!(arg).cast()) };
    // SAFETY: Pure function.
    to_result(unsafe { bindings::notifier_to_errno(ret) })
}
