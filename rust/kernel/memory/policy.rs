// SPDX-License-Identifier: GPL-2.0

//! The online policy: which zone a memory block goes to when it is onlined without a zone
//! (`online`, `echo 1 > online`, auto-online with `online`), and what `valid_zones` shows
//! first.
//!
//! One policy can be registered at a time, by a module such as `memory_hotplug`, like a
//! cpufreq governor. Without one, core mm's `zone_for_pfn_range()` decides (contig-zones with
//! C's defaults). Unregistering waits until no online or `valid_zones` read is inside the
//! policy, so a module can be removed at any time.
//!
//! A policy also says why it chose a zone (`/sys/kernel/debug/memory_block/policy`): the
//! decision that onlines a block and shows `valid_zones` is the one that explains it, so the
//! explanation cannot disagree with them.

use super::{
    block::{GroupKind, MemoryGroup},
    hotplug::{DeviceHotplugLocked, OnlineType, Zone},
};
use crate::{bindings, error::Error, init::PinInit, module_going::Watch, prelude::*};
use core::{
    ffi::c_void,
    fmt::{self, Write},
    marker::PhantomPinned,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

/// The explanation of a policy's zone choice: where the policy writes why it chose a zone,
/// nowhere when it onlines a block or shows `valid_zones`, the driver's debugfs file when it
/// explains the choice.
pub struct Explanation<'a>(Option<&'a mut dyn Write>);

impl<'a> Explanation<'a> {
    /// Discards the reasons.
    pub fn none() -> Self {
        Self(None)
    }

    /// Writes the reasons to `w`.
    pub fn to(w: &'a mut dyn Write) -> Self {
        Self(Some(w))
    }

    /// Adds a reason; formats nothing unless the reasons are wanted. What the writer cannot take
    /// is dropped (the driver's explanation keeps one line of 256 bytes and marks a cut).
    pub fn note(&mut self, args: fmt::Arguments<'_>) {
        if let Some(w) = self.0.as_mut() {
            let _ = w.write_fmt(args);
        }
    }
}

/// Where an online policy puts memory onlined without a zone. Core mm turns the choice into a
/// zone of the memory's node, as it does for an explicit online, so a policy can choose neither
/// another node nor a zone the memory must not go to (e.g. `ZONE_DMA` for memory above
/// 16 MiB): like C's policies, it chooses between the kernel zones and `ZONE_MOVABLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneChoice {
    /// What core mm chooses without a policy (contig-zones, `default_zone_for_pfn()`).
    Default,
    /// The node's default kernel zone for `[start_pfn, start_pfn + nr_pages)`, as for
    /// `online_kernel` (`default_kernel_zone_for_pfn()`). The range must be of the kind C's
    /// auto-movable policy passes: it starts at the memory's first pfn or, in a dynamic memory
    /// group, at a section boundary of the group's unit that holds the memory, up to the unit's
    /// end; it has at most as many pages as the memory, its static group or its unit. Other
    /// ranges are refused with `EINVAL`: starting elsewhere, they could choose a kernel zone
    /// the memory is not in. (The bounds are looser than C's exact values, which depend on the
    /// group's online pages.)
    Kernel {
        /// First pfn.
        start_pfn: usize,
        /// Number of pages.
        nr_pages: usize,
    },
    /// The node's `ZONE_MOVABLE`, as for `online_movable`.
    Movable,
}

/// An online policy.
pub trait OnlinePolicy: Send + Sync + 'static {
    /// Returns where a plain online (`MMOP_ONLINE`) puts `[start_pfn, start_pfn + nr_pages)`
    /// of node `nid` in `group`, and notes in `why` what decided it (one line's worth, without
    /// a newline, e.g. `movable 1536M + 128M <= 301% of kernel 1024M`).
    ///
    /// Called with `device_hotplug_lock` held (`lock`: onlines, `valid_zones`, the
    /// explanation), so no memory is added or removed meanwhile; without `mem_hotplug_lock`, so
    /// zones' page counts may change (as for C's `zone_for_pfn_range()`), in process context
    /// (it may sleep) and inside an SRCU read-side critical section of the registration.
    fn zone_for_online(
        &self,
        lock: &DeviceHotplugLocked,
        nid: i32,
        group: Option<&MemoryGroup>,
        start_pfn: usize,
        nr_pages: usize,
        why: &mut Explanation<'_>,
    ) -> Result<ZoneChoice>;

    /// Writes the policy's name and parameters, then what it decides with (e.g. its page
    /// counts system-wide and per node), as lines. Called in process context (it may sleep),
    /// inside an SRCU read-side critical section of the registration, without
    /// `device_hotplug_lock`.
    fn show(&self, w: &mut dyn Write) -> fmt::Result;
}

/// [`OnlinePolicy::zone_for_online`] of a type-erased policy.
type ZoneForOnlineFn = unsafe fn(
    *const (),
    &DeviceHotplugLocked,
    i32,
    Option<&MemoryGroup>,
    usize,
    usize,
    &mut Explanation<'_>,
) -> Result<ZoneChoice>;

/// The registered policy, type-erased.
struct Entry {
    data: *const (),
    zone_for_online: ZoneForOnlineFn,
    show: unsafe fn(*const (), &mut dyn Write) -> fmt::Result,
}

/// The registered policy's entry, or null.
static ACTIVE: AtomicPtr<Entry> = AtomicPtr::new(ptr::null_mut());

// Only the address of the SRCU domain is used, so the layout of `srcu_struct` (zero-sized
// `lockdep_map` without lockdep) does not matter.
#[allow(improper_ctypes)]
extern "C" {
    /// The readers of `ACTIVE` (`DEFINE_SRCU(memory_policy_srcu)` in the driver's C glue):
    /// unregistering waits for a grace period, which a stream of new readers cannot delay,
    /// and the policy may sleep.
    static mut memory_policy_srcu: bindings::srcu_struct;
}

/// Returns the SRCU domain of the registered policy.
// Taking the address of an extern static is safe only from Rust 1.82 on; the kernel's minimum
// Rust version needs the `unsafe` block.
#[allow(unused_unsafe)]
fn srcu() -> *mut bindings::srcu_struct {
    // SAFETY: Only the address of the static is taken; the C side initialised it statically.
    unsafe { ptr::addr_of_mut!(memory_policy_srcu) }
}

/// Calls `f` with the registered policy's entry, or `None`, inside an SRCU read-side critical
/// section.
fn with_active<R>(f: impl FnOnce(Option<&Entry>) -> R) -> R {
    // SAFETY: `srcu()` is a statically initialised SRCU domain.
    let idx = unsafe { bindings::srcu_read_lock(srcu()) };
    let entry = ACTIVE.load(Ordering::Acquire);
    // SAFETY: A non-null entry belongs to a live `Registration`: its drop unpublishes the entry
    // and then waits for an SRCU grace period, which ends only after this reader unlocks.
    let ret = f(unsafe { entry.as_ref() });
    // SAFETY: `idx` is this reader's index from `srcu_read_lock()` above.
    unsafe { bindings::srcu_read_unlock(srcu(), idx) };
    ret
}

/// A zone resolved by [`zone_for_pfn_range`] for the memory of one pfn range: the only zone
/// [`online_block`] accepts, so that a block is onlined only into a zone the policy or core mm
/// chose for it (never `ZONE_DEVICE` or another node's zone).
///
/// # Invariants
///
/// `zone` is the zone `zone_for_pfn_range()` (core mm's or the policy's, checked) returned for
/// `[start_pfn, start_pfn + nr_pages)`.
///
/// [`online_block`]: crate::memory::hotplug::online_block
pub struct ZoneForOnline {
    zone: &'static Zone,
    start_pfn: usize,
    nr_pages: usize,
}

impl ZoneForOnline {
    /// Returns the zone.
    pub fn zone(&self) -> &'static Zone {
        self.zone
    }

    /// Returns the first pfn and the number of pages of the range the zone was resolved for.
    pub fn pfn_range(&self) -> (usize, usize) {
        (self.start_pfn, self.nr_pages)
    }
}

/// Returns the zone memory of `[start_pfn, start_pfn + nr_pages)` of node `nid` in `group` goes
/// to when onlined with `online_type`: the policy decides for [`OnlineType::Online`], core mm
/// for an explicit kernel or movable online. Fails with `EINVAL` if the node is not online.
pub fn zone_for_pfn_range(
    lock: &DeviceHotplugLocked,
    online_type: OnlineType,
    nid: i32,
    group: Option<&MemoryGroup>,
    start_pfn: usize,
    nr_pages: usize,
) -> Result<ZoneForOnline> {
    let zone = if online_type != OnlineType::Online {
        Zone::for_pfn_range(online_type, nid, group, start_pfn, nr_pages)?
    } else {
        let mut why = Explanation::none();
        zone_for_online(lock, nid, group, start_pfn, nr_pages, &mut why)?
    };
    // INVARIANT: `zone` was resolved for this range just above.
    Ok(ZoneForOnline {
        zone,
        start_pfn,
        nr_pages,
    })
}

/// Returns the zone of a plain online, as [`zone_for_pfn_range`] does, and writes to `w` what
/// decided it.
pub fn explain_zone_for_online(
    lock: &DeviceHotplugLocked,
    nid: i32,
    group: Option<&MemoryGroup>,
    start_pfn: usize,
    nr_pages: usize,
    w: &mut dyn Write,
) -> Result<&'static Zone> {
    let mut why = Explanation::to(w);
    zone_for_online(lock, nid, group, start_pfn, nr_pages, &mut why)
}

fn zone_for_online(
    lock: &DeviceHotplugLocked,
    nid: i32,
    group: Option<&MemoryGroup>,
    start_pfn: usize,
    nr_pages: usize,
    why: &mut Explanation<'_>,
) -> Result<&'static Zone> {
    let choice = with_active(|entry| match entry {
        // SAFETY: `data` is the policy of the registration that owns `entry`, of the type
        // `zone_for_online` was instantiated for.
        Some(e) => unsafe {
            (e.zone_for_online)(e.data, lock, nid, group, start_pfn, nr_pages, why)
        },
        None => {
            why.note(format_args!(
                "no policy: core mm keeps the zones contiguous"
            ));
            Ok(ZoneChoice::Default)
        }
    })?;
    let (online_type, range_pfn, range_pages) = match choice {
        ZoneChoice::Default => (OnlineType::Online, start_pfn, nr_pages),
        ZoneChoice::Movable => (OnlineType::OnlineMovable, start_pfn, nr_pages),
        ZoneChoice::Kernel {
            start_pfn: kernel_pfn,
            nr_pages: kernel_pages,
        } => {
            let kind = group.map(MemoryGroup::kind);
            let max_pages = match kind {
                Some(GroupKind::Static { max_pages }) => max_pages.max(nr_pages),
                Some(GroupKind::Dynamic { unit_pages }) => unit_pages.max(nr_pages),
                None => nr_pages,
            };
            let in_unit = match kind {
                Some(GroupKind::Dynamic { unit_pages: u }) if u.is_power_of_two() => {
                    let first = start_pfn & !(u - 1);
                    kernel_pfn % super::hotplug::section::PAGES == 0
                        && (first..=first.saturating_add(u)).contains(&kernel_pfn)
                }
                _ => false,
            };
            // A policy is free code: a range elsewhere could choose another kernel zone.
            if crate::warn_on_once!(
                kernel_pages > max_pages || (kernel_pfn != start_pfn && !in_unit)
            ) {
                return Err(EINVAL);
            }
            (OnlineType::OnlineKernel, kernel_pfn, kernel_pages)
        }
    };
    Zone::for_pfn_range(online_type, nid, group, range_pfn, range_pages)
}

/// Writes the registered policy's name, parameters and what it decides with
/// ([`OnlinePolicy::show`]), or that there is none.
pub fn show(w: &mut dyn Write) -> fmt::Result {
    with_active(|entry| match entry {
        // SAFETY: As in `zone_for_online`.
        Some(e) => unsafe { (e.show)(e.data, w) },
        None => writeln!(w, "policy: none (core mm's contig-zones)"),
    })
}

/// Calls `T::zone_for_online`.
///
/// # Safety
///
/// `data` must point to a live `T`.
unsafe fn call<T: OnlinePolicy>(
    data: *const (),
    lock: &DeviceHotplugLocked,
    nid: i32,
    group: Option<&MemoryGroup>,
    start_pfn: usize,
    nr_pages: usize,
    why: &mut Explanation<'_>,
) -> Result<ZoneChoice> {
    // SAFETY: Guaranteed by the safety requirements.
    let policy = unsafe { &*data.cast::<T>() };
    policy.zone_for_online(lock, nid, group, start_pfn, nr_pages, why)
}

/// Calls `T::show`.
///
/// # Safety
///
/// `data` must point to a live `T`.
unsafe fn call_show<T: OnlinePolicy>(data: *const (), w: &mut dyn Write) -> fmt::Result {
    // SAFETY: Guaranteed by the safety requirements.
    unsafe { &*data.cast::<T>() }.show(w)
}

/// A registered online policy; unregistered on drop.
///
/// # Invariants
///
/// `entry` is published in `ACTIVE` and points to `policy` until `drop` has unpublished it and
/// waited for its users, or `_watch` has if the module holding `call::<T>` went before that.
///
/// A registration that a module leaked is unpublished, with a warning, when the module goes
/// ([`crate::module_going`]).
#[pin_data(PinnedDrop)]
pub struct Registration<T: OnlinePolicy> {
    policy: T,
    entry: Entry,
    // Dropped after `drop` unpublished `entry`.
    _watch: Pin<KBox<Watch>>,
    #[pin]
    _pin: PhantomPinned,
}

/// Unpublishes `entry` if it is the active one and waits until no reader uses it.
fn unpublish(entry: *mut Entry) {
    let _ = ACTIVE.compare_exchange(entry, ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
    // Readers that loaded the entry before it was cleared are inside an SRCU read-side
    // critical section that started before this grace period.
    // SAFETY: `srcu()` is a statically initialised SRCU domain; this runs in process context
    // (a module's exit, an error path of its init or its unloading), outside any of its
    // read-side sections.
    unsafe { bindings::synchronize_srcu(srcu()) };
}

/// The [`Purge`](crate::module_going::Purge) of a leaked [`Registration`]: `ctx` is its entry.
///
/// # Safety
///
/// Any `ctx`: it is only compared with the published entry.
unsafe fn unpublish_leaked(ctx: *mut c_void) {
    unpublish(ctx.cast());
}

// SAFETY: The raw pointer in `entry` only points to `policy`, which is `Send + Sync`.
unsafe impl<T: OnlinePolicy> Send for Registration<T> {}
// SAFETY: See `Send`.
unsafe impl<T: OnlinePolicy> Sync for Registration<T> {}

impl<T: OnlinePolicy> Registration<T> {
    /// Registers `policy`; fails with `EBUSY` if another policy is registered.
    pub fn new(policy: T) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes and pinned.
            unsafe {
                ptr::addr_of_mut!((*slot).policy).write(policy);
                ptr::addr_of_mut!((*slot).entry).write(Entry {
                    data: ptr::addr_of!((*slot).policy).cast(),
                    zone_for_online: call::<T>,
                    show: call_show::<T>,
                });
            }
            // SAFETY: In-bounds projection of a pinned slot.
            let entry = unsafe { ptr::addr_of_mut!((*slot).entry) };
            let callback: ZoneForOnlineFn = call::<T>;
            // SAFETY: `unpublish_leaked` is sound for any context.
            let watch = unsafe {
                Watch::new(
                    callback as usize,
                    "online policy",
                    entry.cast(),
                    unpublish_leaked,
                )
            };
            let watch = match watch {
                Ok(watch) => watch,
                Err(e) => {
                    // SAFETY: `policy` was initialised above and is not published.
                    unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*slot).policy)) };
                    return Err(e);
                }
            };
            // SAFETY: `slot` is valid for writes and pinned.
            unsafe { ptr::addr_of_mut!((*slot)._watch).write(watch) };
            if ACTIVE
                .compare_exchange(ptr::null_mut(), entry, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // SAFETY: `policy` and `_watch` were initialised above and are not published.
                unsafe {
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot)._watch));
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).policy));
                }
                return Err(EBUSY);
            }
            // INVARIANT: The entry is published and points to `policy`.
            Ok(())
        };
        // SAFETY: On success every field is initialised (`_pin` is a ZST); on error nothing is
        // left initialised.
        unsafe { crate::init::pin_init_from_closure(init) }
    }
}

#[pinned_drop]
impl<T: OnlinePolicy> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        unpublish(ptr::from_ref(&self.entry).cast_mut());
    }
}
