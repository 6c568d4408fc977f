// SPDX-License-Identifier: GPL-2.0

//! Which callback of the memory notifier chain vetoed an online or offline.
//!
//! Core mm's `online_pages()` and `offline_pages()` tell only the errno of a veto. The memory
//! block driver runs them inside `record_veto()`, and [`super::chain::call`] hands every veto
//! of the recording thread to `recorded()`. A [`Veto`] is small (the callback's address,
//! priority and errno): it is carried by every online and offline call chain, while the
//! callback's name is looked up only for a veto that is reported
//! ([`Veto::callback_name`]).

use super::Action;
use crate::{bindings, error::Error, ffi::c_void, memory::hotplug::MemHotplugGuard};
use core::{
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

/// A callback of the memory notifier chain that vetoed an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Veto {
    /// The event it vetoed.
    pub action: Action,
    /// The address of the callback (its `notifier_call`).
    pub callback: usize,
    /// The priority it was registered with: a callback registered several times (e.g. the
    /// generic callback of [`super::Registration`]) is told apart by it.
    pub priority: i32,
    /// The error it vetoed with (`notifier_to_errno()`).
    pub error: Error,
}

// What every online and offline carries: three words, not the callback's name.
const _: () = assert!(core::mem::size_of::<Option<Veto>>() <= 3 * core::mem::size_of::<u64>());

impl Veto {
    /// Writes the callback's symbol as `%ps` prints it (`name`, `name [module]`, or the address
    /// if it has none) into `buf`, cut to what fits with a NUL, and returns what was written.
    ///
    /// Look it up as soon as the veto is reported: the symbol of a callback in a module goes
    /// with the module, and once it is unloaded `%ps` prints the address.
    pub fn callback_name<'a>(&self, buf: &'a mut [u8]) -> &'a [u8] {
        if buf.is_empty() {
            return buf;
        }
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes, which `snprintf()` does not
        // exceed (it NUL-terminates within them); `%ps` takes one pointer, which it only looks
        // up among the kernel's symbols.
        let n = unsafe {
            bindings::snprintf(
                buf.as_mut_ptr().cast(),
                buf.len(),
                crate::c_str!("%ps").as_char_ptr(),
                self.callback as *const c_void,
            )
        };
        let len = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
        &buf[..len]
    }
}

/// The thread that records vetoes ([`record_veto`]), or null.
static VETO_OWNER: AtomicPtr<bindings::task_struct> = AtomicPtr::new(ptr::null_mut());

/// Where the vetoes of [`VETO_OWNER`]'s chain calls go while it records them.
static VETO_SLOT: AtomicPtr<Option<Veto>> = AtomicPtr::new(ptr::null_mut());

/// Runs `f` and returns, with its result, the last callback that vetoed an event of the memory
/// notifier chain sent by this thread during `f` (core mm's `online_pages()` and
/// `offline_pages()` tell only the errno).
///
/// `mem_hotplug_lock` serialises the recordings: only the thread that holds it publishes and
/// restores the slot, and the guard proving it cannot be sent or shared (it is `!Send` and
/// `!Sync`), so two recordings never interleave; the current thread's identity keeps chain
/// calls of other threads (which would have to call `memory_notify()` without that lock) out of
/// the slot.
pub(crate) fn record_veto<R>(_lock: &MemHotplugGuard, f: impl FnOnce() -> R) -> (R, Option<Veto>) {
    let mut veto = None;
    // SAFETY: Returns the current task, which outlives this function.
    let me = unsafe { bindings::get_current() };
    // Nested recordings of the same thread restore the outer one.
    let outer_slot = VETO_SLOT.swap(&mut veto, Ordering::Relaxed);
    let outer_owner = VETO_OWNER.swap(me, Ordering::Relaxed);
    let ret = f();
    VETO_OWNER.store(outer_owner, Ordering::Relaxed);
    VETO_SLOT.store(outer_slot, Ordering::Relaxed);
    (ret, veto)
}

/// Records `veto` for the current thread if it is recording ([`record_veto`]).
pub(super) fn recorded(veto: Veto) {
    // SAFETY: Returns the current task.
    let me = unsafe { bindings::get_current() };
    if VETO_OWNER.load(Ordering::Relaxed) != me {
        return;
    }
    // Only the owner publishes and unpublishes the slot, in program order around `f`, so this
    // thread reads its own live slot.
    let slot = VETO_SLOT.load(Ordering::Relaxed);
    // SAFETY: `slot` is the `veto` of the `record_veto` frame of this thread that is running
    // (see above); nothing else accesses it meanwhile.
    if let Some(slot) = unsafe { slot.as_mut() } {
        *slot = Some(veto);
    }
}
