// SPDX-License-Identifier: GPL-2.0

//! The memory notifier chain.
//!
//! Memory hotplug tells interested code about every online and offline of a memory block
//! through a blocking notifier chain (`register_memory_notifier()`). Callbacks run in process
//! context, in descending order of priority, with `mem_hotplug_lock` held for write; they may
//! sleep, but must not take the device hotplug lock, `get_online_mems()`, or (un)register
//! memory notifiers.
//!
//! C header: [`include/linux/memory.h`](srctree/include/linux/memory.h)
//!
//! This file is the interface of the chain's users: the events, their payload and
//! [`Registration`]. With the Rust memory block driver, the chain itself is in [`chain`]
//! (`register_memory_notifier()`, `memory_notify()`), and [`veto`] records which callback vetoed
//! an online or offline.
//!
//! # Examples
//!
//! ```
//! use kernel::memory::notifier::{Action, MemoryNotifier, MemoryNotify, NotifyResult};
//! use kernel::memory::notifier::{priority, Registration};
//! use kernel::prelude::*;
//!
//! struct OnlineLogger;
//!
//! impl MemoryNotifier for OnlineLogger {
//!     fn notify(&self, action: Action, arg: &MemoryNotify) -> NotifyResult {
//!         if action == Action::Online {
//!             pr_info!("{} pages online at pfn {:#x}\n", arg.nr_pages, arg.start_pfn);
//!         }
//!         NotifyResult::Ok
//!     }
//! }
//!
//! let reg = KBox::pin_init(Registration::new(OnlineLogger, priority::DEFAULT), GFP_KERNEL)?;
//! // The notifier is unregistered when `reg` is dropped.
//! # drop(reg);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    error::{to_result, Error},
    init::{self, PinInit},
    module_going::Watch,
    prelude::*,
    types::Opaque,
};
use core::{ffi::c_void, ptr};

/// The type of a notifier callback (`notifier_fn_t`).
type NotifierFn =
    unsafe extern "C" fn(*mut bindings::notifier_block, crate::ffi::c_ulong, *mut c_void) -> i32;

#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod chain;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod veto;

/// Notifier priorities of the in-tree users, from `include/linux/memory.h`.
///
/// Callbacks run in descending order of priority; callbacks of equal priority run in the order
/// they were registered.
pub mod priority {
    /// The default priority (`DEFAULT_CALLBACK_PRI`).
    pub const DEFAULT: i32 = bindings::DEFAULT_CALLBACK_PRI as i32;
    /// The slab allocator (`SLAB_CALLBACK_PRI`).
    pub const SLAB: i32 = bindings::SLAB_CALLBACK_PRI as i32;
    /// Heterogeneous memory attributes (`HMAT_CALLBACK_PRI`).
    pub const HMAT: i32 = bindings::HMAT_CALLBACK_PRI as i32;
    /// CXL regions (`CXL_CALLBACK_PRI`).
    pub const CXL: i32 = bindings::CXL_CALLBACK_PRI as i32;
    /// Memory tiers (`MEMTIER_HOTPLUG_PRI`).
    pub const MEMTIER: i32 = bindings::MEMTIER_HOTPLUG_PRI as i32;
    /// Kernel samepage merging (`KSM_CALLBACK_PRI`).
    pub const KSM: i32 = bindings::KSM_CALLBACK_PRI as i32;
}

/// A memory hotplug event: the `action` a memory notifier is called with.
///
/// The values are those of `enum memory_block_state` (`MEM_ONLINE` = 0 ... `MEM_FINISH_OFFLINE`
/// = 7); callbacks in C modules see the same numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Action {
    /// `MEM_ONLINE`: the range is online. The return value is ignored.
    Online = bindings::memory_block_state_MEM_ONLINE,
    /// `MEM_GOING_OFFLINE`: the range is about to go offline. A veto aborts the offline.
    GoingOffline = bindings::memory_block_state_MEM_GOING_OFFLINE,
    /// `MEM_OFFLINE`: the range is offline. The return value is ignored.
    Offline = bindings::memory_block_state_MEM_OFFLINE,
    /// `MEM_GOING_ONLINE`: the range is about to go online. A veto aborts the online.
    GoingOnline = bindings::memory_block_state_MEM_GOING_ONLINE,
    /// `MEM_CANCEL_ONLINE`: an online was aborted after `MEM_GOING_ONLINE`.
    CancelOnline = bindings::memory_block_state_MEM_CANCEL_ONLINE,
    /// `MEM_CANCEL_OFFLINE`: an offline was aborted after `MEM_GOING_OFFLINE`.
    CancelOffline = bindings::memory_block_state_MEM_CANCEL_OFFLINE,
    /// `MEM_PREPARE_ONLINE`: make the memory block accessible. A veto aborts the online.
    PrepareOnline = bindings::memory_block_state_MEM_PREPARE_ONLINE,
    /// `MEM_FINISH_OFFLINE`: the memory block may be made inaccessible again.
    FinishOffline = bindings::memory_block_state_MEM_FINISH_OFFLINE,
}

impl Action {
    /// Every event, in the order of their values.
    pub const ALL: [Action; 8] = [
        Action::Online,
        Action::GoingOffline,
        Action::Offline,
        Action::GoingOnline,
        Action::CancelOnline,
        Action::CancelOffline,
        Action::PrepareOnline,
        Action::FinishOffline,
    ];

    /// Returns the event with the C value `value`, if there is one.
    pub fn from_raw(value: crate::ffi::c_ulong) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_raw() as crate::ffi::c_ulong == value)
    }

    /// Returns the C value of the event.
    pub fn as_raw(self) -> u32 {
        self as u32
    }

    /// Returns the C name of the event, e.g. `"MEM_GOING_ONLINE"`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Online => "MEM_ONLINE",
            Action::GoingOffline => "MEM_GOING_OFFLINE",
            Action::Offline => "MEM_OFFLINE",
            Action::GoingOnline => "MEM_GOING_ONLINE",
            Action::CancelOnline => "MEM_CANCEL_ONLINE",
            Action::CancelOffline => "MEM_CANCEL_OFFLINE",
            Action::PrepareOnline => "MEM_PREPARE_ONLINE",
            Action::FinishOffline => "MEM_FINISH_OFFLINE",
        }
    }

    /// Returns the event whose C name is `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::notifier::Action;
    ///
    /// let action = Action::from_name(b"MEM_GOING_OFFLINE");
    /// assert_eq!(action, Some(Action::GoingOffline));
    /// assert!(Action::GoingOffline.is_vetoable() && !Action::Offline.is_vetoable());
    /// assert_eq!(Action::from_name(b"MEM_going_offline"), None);
    /// // Every event's name and value lead back to it.
    /// for a in Action::ALL {
    ///     assert_eq!(Action::from_name(a.name().as_bytes()), Some(a));
    ///     assert_eq!(Action::from_raw(a.as_raw() as _), Some(a));
    /// }
    /// ```
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name().as_bytes() == name)
    }

    /// Whether a callback can abort the operation by failing this event.
    pub fn is_vetoable(self) -> bool {
        matches!(
            self,
            Action::PrepareOnline | Action::GoingOnline | Action::GoingOffline
        )
    }

    /// Whether the event carries the altmap (vmemmap) range of a memory block rather than node
    /// status changes.
    pub fn has_altmap(self) -> bool {
        matches!(self, Action::PrepareOnline | Action::FinishOffline)
    }
}

/// What changes with an event besides the range, depending on the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// For [`Action::PrepareOnline`] and [`Action::FinishOffline`]: the part of the memory block
    /// that holds its own memmap (memmap_on_memory); `nr_pages` is 0 without it.
    Altmap {
        /// First pfn of the memory block (and of its vmemmap).
        start_pfn: usize,
        /// Number of vmemmap pages at the start of the block.
        nr_pages: usize,
    },
    /// For the other events: the node whose memory state changes, if any.
    NodeStatus {
        /// The node that gets its first memory (going online) or loses its last memory (going
        /// offline).
        nid: Option<i32>,
        /// The node that gets its first (or loses its last) memory in a zone up to
        /// `ZONE_NORMAL`.
        nid_normal: Option<i32>,
    },
}

/// The payload of a memory notifier event (`struct memory_notify`).
///
/// Only the fields that the C code initialises for the event are read: `altmap_*` for
/// `MEM_PREPARE_ONLINE` and `MEM_FINISH_OFFLINE`, `status_change_*` for the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryNotify {
    /// First pfn of the range (after the vmemmap pages, if any).
    pub start_pfn: usize,
    /// Number of pages in the range (without the vmemmap pages).
    pub nr_pages: usize,
    /// The event-specific part.
    pub change: Change,
}

impl MemoryNotify {
    /// Reads the payload of `action`.
    ///
    /// # Safety
    ///
    /// `arg` must point to a valid `struct memory_notify` whose fields for `action` are
    /// initialised, as `memory_notify()` passes it.
    unsafe fn from_raw(action: Action, arg: *const bindings::memory_notify) -> Self {
        let nid = |n: i32| if n < 0 { None } else { Some(n) };
        // SAFETY: The caller guarantees `arg` is valid and that the fields read for `action`
        // are initialised.
        unsafe {
            let change = if action.has_altmap() {
                Change::Altmap {
                    start_pfn: (*arg).altmap_start_pfn,
                    nr_pages: (*arg).altmap_nr_pages,
                }
            } else {
                Change::NodeStatus {
                    nid: nid((*arg).status_change_nid),
                    nid_normal: nid((*arg).status_change_nid_normal),
                }
            };
            Self {
                start_pfn: (*arg).start_pfn,
                nr_pages: (*arg).nr_pages,
                change,
            }
        }
    }
}

/// What a memory notifier callback returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyResult {
    /// `NOTIFY_DONE`: not interested.
    Done,
    /// `NOTIFY_OK`: handled.
    Ok,
    /// `NOTIFY_STOP`: handled; lower-priority callbacks do not see the event, but the operation
    /// goes on.
    Stop,
    /// `NOTIFY_BAD`: veto (`EPERM` for the operation); lower-priority callbacks do not see the
    /// event.
    Bad,
    /// `notifier_from_errno(err)`: veto with `err`; lower-priority callbacks do not see the event.
    Error(Error),
}

impl NotifyResult {
    /// Returns the C value (`NOTIFY_*` or `notifier_from_errno()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::notifier::NotifyResult;
    ///
    /// assert_eq!(NotifyResult::Done.to_raw(), 0); // NOTIFY_DONE
    /// assert_eq!(NotifyResult::Ok.to_raw(), 1); // NOTIFY_OK
    /// assert_eq!(NotifyResult::Stop.to_raw(), 0x8001); // NOTIFY_STOP
    /// assert_eq!(NotifyResult::Bad.to_raw(), 0x8002); // NOTIFY_BAD
    /// // notifier_from_errno(-EBUSY): NOTIFY_STOP_MASK | (NOTIFY_OK + 16).
    /// assert_eq!(NotifyResult::Error(EBUSY).to_raw(), 0x8011);
    /// ```
    pub fn to_raw(self) -> i32 {
        match self {
            NotifyResult::Done => bindings::NOTIFY_DONE as i32,
            NotifyResult::Ok => bindings::NOTIFY_OK as i32,
            NotifyResult::Stop => (bindings::NOTIFY_OK | bindings::NOTIFY_STOP_MASK) as i32,
            NotifyResult::Bad => (bindings::NOTIFY_BAD | bindings::NOTIFY_STOP_MASK) as i32,
            // Same encoding as `notifier_from_errno()`.
            NotifyResult::Error(e) => {
                bindings::NOTIFY_STOP_MASK as i32 | (bindings::NOTIFY_OK as i32 - e.to_errno())
            }
        }
    }

    /// Returns the errno the operation fails with when a callback returns `self` for a
    /// vetoable event (`notifier_to_errno()`), or `None` if it does not fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::notifier::NotifyResult;
    ///
    /// assert_eq!(NotifyResult::Ok.to_errno(), None);
    /// // NOTIFY_STOP hides the event from later callbacks but does not fail the operation.
    /// assert_eq!(NotifyResult::Stop.to_errno(), None);
    /// // A bare NOTIFY_BAD fails the online or offline with EPERM.
    /// assert_eq!(NotifyResult::Bad.to_errno(), Some(EPERM));
    /// assert_eq!(NotifyResult::Error(ENOMEM).to_errno(), Some(ENOMEM));
    /// ```
    pub fn to_errno(self) -> Option<Error> {
        match self {
            NotifyResult::Done | NotifyResult::Ok | NotifyResult::Stop => None,
            NotifyResult::Bad => Some(EPERM),
            NotifyResult::Error(e) => Some(e),
        }
    }
}

/// A subscriber to the memory notifier chain.
///
/// `'static` because a [`Registration`] that is leaked stays registered for ever (or, made by a
/// module, until the module goes: [`crate::module_going`]).
pub trait MemoryNotifier: Send + Sync + 'static {
    /// Called for every memory hotplug event, with `mem_hotplug_lock` held for write.
    fn notify(&self, action: Action, arg: &MemoryNotify) -> NotifyResult;
}

/// A registration of a [`MemoryNotifier`] on the memory notifier chain.
///
/// The notifier is unregistered when the registration is dropped; dropping waits for callbacks
/// that are running. Do not drop a registration from a memory notifier callback: the chain's
/// lock is held there, and unregistering would deadlock.
///
/// A registration that a module leaked is unregistered, with a warning, when the module goes
/// ([`crate::module_going`]).
///
/// # Invariants
///
/// `nb` is registered on the memory notifier chain with `Self::notifier_call` as its
/// callback, from the moment initialisation succeeds until `drop` unregisters it, or until
/// `_watch` does if the module holding `Self::notifier_call` goes before that.
#[pin_data(PinnedDrop)]
pub struct Registration<T: MemoryNotifier> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    notifier: T,
    // Dropped after `drop` unregistered `nb`.
    _watch: Pin<KBox<Watch>>,
}

/// The [`Purge`](crate::module_going::Purge) of a leaked [`Registration`]: `ctx` is its `nb`.
///
/// # Safety
///
/// `ctx` must be the `nb` of a registration that is still registered.
unsafe fn unregister_leaked(ctx: *mut c_void) {
    // SAFETY: `ctx` is a registered `notifier_block` (safety requirements). The registration
    // was leaked, so its memory stays; no callback uses it once this returns.
    unsafe { bindings::unregister_memory_notifier(ctx.cast()) };
}

// SAFETY: `nb` is only touched by the notifier core, under the chain's lock, and by `drop`; `T`
// is `Send`.
unsafe impl<T: MemoryNotifier> Send for Registration<T> {}

// SAFETY: No method gives access to `nb`; shared access to `T` is fine since `T: Sync`.
unsafe impl<T: MemoryNotifier> Sync for Registration<T> {}

impl<T: MemoryNotifier> Registration<T> {
    /// Registers `notifier` on the memory notifier chain with `priority` (see [`priority`]).
    pub fn new(notifier: T, priority: i32) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes and pinned (pin-init contract).
            unsafe { ptr::addr_of_mut!((*slot).notifier).write(notifier) };
            // SAFETY: As above; `nb` is within `slot`.
            let nb = unsafe { Opaque::raw_get(ptr::addr_of!((*slot).nb)) };
            // SAFETY: `nb` is valid for writes.
            unsafe {
                nb.write(bindings::notifier_block {
                    notifier_call: Some(Self::notifier_call),
                    next: ptr::null_mut(),
                    priority,
                })
            };
            let callback: NotifierFn = Self::notifier_call;
            // SAFETY: `unregister_leaked(nb)` unregisters `nb`, registered below until `drop`
            // unregisters it, before the watch is dropped (a field, after `drop`).
            let watch = unsafe {
                Watch::new(
                    callback as usize,
                    "memory notifier",
                    nb.cast(),
                    unregister_leaked,
                )
            };
            let ret = watch.and_then(|watch| {
                // SAFETY: `slot` is valid for writes and pinned.
                unsafe { ptr::addr_of_mut!((*slot)._watch).write(watch) };
                // SAFETY: `nb` is initialised and pinned, and stays registered until `drop`;
                // the callback only runs once the notifier is fully initialised.
                let ret = to_result(unsafe { bindings::register_memory_notifier(nb) });
                if ret.is_err() {
                    // SAFETY: `_watch` was initialised above and is not used any more.
                    unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*slot)._watch)) };
                }
                ret
            });
            if ret.is_err() {
                // SAFETY: `notifier` was initialised above and is not used any more.
                unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*slot).notifier)) };
            }
            // INVARIANT: On success `nb` is registered with `notifier_call`.
            ret
        };
        // SAFETY: On success every field is initialised; on failure nothing is left initialised
        // and nothing was registered.
        unsafe { init::pin_init_from_closure(init) }
    }

    /// # Safety
    ///
    /// Called by the notifier core only, for a `nb` registered by [`Self::new`], with the
    /// `struct memory_notify` that `memory_notify()` passes as `data`.
    unsafe extern "C" fn notifier_call(
        nb: *mut bindings::notifier_block,
        action: crate::ffi::c_ulong,
        data: *mut c_void,
    ) -> i32 {
        let Some(action) = Action::from_raw(action) else {
            return bindings::NOTIFY_DONE as i32;
        };
        // SAFETY: `nb` is the `nb` field of a live `Registration<T>` (type invariants: it is
        // registered only while the registration exists, and `drop` waits for running calls).
        let this = unsafe {
            &*crate::container_of!(nb.cast::<Opaque<bindings::notifier_block>>(), Self, nb)
        };
        // SAFETY: `memory_notify()` passes a valid `struct memory_notify` with the fields of
        // `action` initialised.
        let arg = unsafe { MemoryNotify::from_raw(action, data.cast()) };
        this.notifier.notify(action, &arg).to_raw()
    }
}

#[pinned_drop]
impl<T: MemoryNotifier> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariants `nb` is registered. Unregistering takes the chain's lock
        // for write, so no callback uses `self` once it returns.
        unsafe { bindings::unregister_memory_notifier(self.nb.get()) };
    }
}
