// SPDX-License-Identifier: GPL-2.0

//! XArray: a sparse array indexed by `usize`, read without locks (`struct xarray`).
//!
//! C header: [`include/linux/xarray.h`](srctree/include/linux/xarray.h).
//!
//! This holds owned references ([`OwnedRef`], e.g. [`ARef`]) to counted objects whose memory
//! outlives their count by an RCU grace period ([`RcuRefCounted`]). A lookup takes a new
//! reference under RCU if the count is not zero, like C's `xa_load()` followed by
//! `kobject_get_unless_zero()`, and never blocks on writers. A removal drops the entry's
//! reference at once: it never waits for a grace period. Writers are serialised by the
//! xarray's own lock and may sleep (allocation), so they run in process context.

use crate::{
    alloc::Flags,
    bindings,
    error::to_result,
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{marker::PhantomData, ptr::NonNull};

/// Matches every present entry of `xa_find()` (`XA_PRESENT`, a `__force` cast bindgen skips).
const XA_PRESENT: bindings::xa_mark_t = 8;

/// A reference-counted object that RCU readers may find after its last reference is gone: a
/// reader that found a pointer to it in an RCU-protected structure may try to take a
/// reference, which fails once the count has dropped to zero.
///
/// # Safety
///
/// `try_inc_ref` takes a new reference and returns `true` if and only if the count was not
/// zero. Once the count drops to zero, the object's memory stays valid until an RCU grace
/// period that starts after that has elapsed (e.g. it is freed with `call_rcu()`), so that
/// `try_inc_ref` may be called on it from any RCU read-side critical section that found it
/// before it was unpublished. An implementor whose RCU callback (the one that frees the
/// object) is in a loadable module must wait for it (`rcu_barrier()`) before the module is
/// unloaded.
pub unsafe trait RcuRefCounted: AlwaysRefCounted {
    /// Takes a new reference unless the count is zero (`kref_get_unless_zero()`).
    fn try_inc_ref(&self) -> bool;
}

/// An owned reference to a reference-counted object, which an [`XArray`] entry can hold: an
/// [`ARef`], or a type that stands for one particular reference (e.g. a registration).
///
/// # Safety
///
/// `into_raw` gives up one reference to the object, as a pointer to it (aligned as `Target`,
/// which [`XArray`] checks is at least 4 bytes), and `from_raw` takes that same reference back.
pub unsafe trait OwnedRef: Sized {
    /// The reference-counted object.
    type Target: RcuRefCounted;

    /// Gives up the reference, as a pointer to the object.
    fn into_raw(self) -> NonNull<Self::Target>;

    /// Takes back a reference given up by [`OwnedRef::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` must come from `into_raw` of this type, and be taken back only once.
    unsafe fn from_raw(ptr: NonNull<Self::Target>) -> Self;
}

// SAFETY: `ARef::into_raw` and `ARef::from_raw` give up and take back one reference; an `XArray`
// checks at build time that its targets are at least 4-byte aligned.
unsafe impl<T: RcuRefCounted> OwnedRef for ARef<T> {
    type Target = T;

    fn into_raw(self) -> NonNull<T> {
        ARef::into_raw(self)
    }

    unsafe fn from_raw(ptr: NonNull<T>) -> Self {
        // SAFETY: By the safety requirements `ptr` owns a reference.
        unsafe { ARef::from_raw(ptr) }
    }
}

/// A sparse array of owned references `V`, one per present entry.
///
/// # Invariants
///
/// `xa` is an initialised xarray whose present entries are pointers obtained from
/// [`OwnedRef::into_raw`] for `V`: each stands for one `V`. An entry is erased before the `V`
/// it stands for is taken back.
#[pin_data(PinnedDrop)]
pub struct XArray<V: OwnedRef> {
    #[pin]
    xa: Opaque<bindings::xarray>,
    _refs: PhantomData<V>,
}

// SAFETY: The xarray owns `V`s, which may be moved to and dropped from any thread when `V` is
// `Send`; lookups hand out references to the target, which must be `Send + Sync`; the C xarray
// synchronises its own state.
unsafe impl<V: OwnedRef + Send> Send for XArray<V> where V::Target: Send + Sync {}
// SAFETY: Shared access hands out new references to the target (`Send + Sync` needed to share
// them) or moves `V`s in and out under the xarray's lock.
unsafe impl<V: OwnedRef + Send> Sync for XArray<V> where V::Target: Send + Sync {}

/// Holds `rcu_read_lock()` until dropped.
struct RcuGuard;

impl RcuGuard {
    fn new() -> Self {
        // SAFETY: Always allowed; released in `drop` on this thread.
        unsafe { bindings::rcu_read_lock() };
        RcuGuard
    }
}

impl Drop for RcuGuard {
    fn drop(&mut self) {
        // SAFETY: Taken in `new` on this thread.
        unsafe { bindings::rcu_read_unlock() };
    }
}

impl<V: OwnedRef> XArray<V> {
    /// Entries must not look like xarray internal entries (low bits `0b10`).
    const ALIGNED: () = assert!(core::mem::align_of::<V::Target>() >= 4);

    /// An empty xarray.
    pub fn new() -> impl PinInit<Self> {
        #[allow(clippy::let_unit_value)]
        let () = Self::ALIGNED;
        pin_init!(Self {
            // SAFETY: `xa_init_flags()` initialises the xarray in place, which stays pinned.
            xa <- Opaque::ffi_init(|xa| unsafe { bindings::xa_init_flags(xa, 0) }),
            _refs: PhantomData,
        })
    }

    fn as_raw(&self) -> *mut bindings::xarray {
        self.xa.get()
    }

    /// Stores `value` at `index` if the slot is free (`xa_insert()`). Fails with `EBUSY` if it
    /// is taken, or `ENOMEM`, and gives `value` back.
    pub fn insert(
        &self,
        index: usize,
        value: V,
        flags: Flags,
    ) -> core::result::Result<(), (Error, V)> {
        let ptr = value.into_raw();
        // SAFETY: The xarray is initialised; `ptr` is an aligned object pointer (never an
        // xarray internal entry), whose reference the xarray owns on success.
        let ret = unsafe {
            bindings::xa_insert(self.as_raw(), index, ptr.as_ptr().cast(), flags.as_raw())
        };
        // INVARIANT: On success the entry owns the reference.
        to_result(ret).map_err(|e| {
            // SAFETY: Not stored: the reference is still ours.
            (e, unsafe { V::from_raw(ptr) })
        })
    }

    /// Tries to take a new reference to an object found under RCU.
    ///
    /// # Safety
    ///
    /// `entry` was read from a present entry of this xarray in the current RCU read-side
    /// critical section, which `_rcu` proves.
    unsafe fn try_get(_rcu: &RcuGuard, entry: NonNull<V::Target>) -> Option<ARef<V::Target>> {
        // The entry stood for a `V` when it was read (type invariant). Either it still does, or
        // it was erased since and its reference dropped.
        // SAFETY: `RcuRefCounted` keeps the memory valid until a grace period after the count
        // reaches zero, which cannot end before this critical section does.
        let obj = unsafe { entry.as_ref() };
        if !obj.try_inc_ref() {
            return None;
        }
        // SAFETY: `try_inc_ref` succeeded: the new reference is ours.
        Some(unsafe { ARef::from_raw(NonNull::from(obj)) })
    }

    /// Returns a new reference to the object at `index`, if any, without taking a lock: the
    /// object was at `index` at some time during the call (it may have been removed since).
    /// An object being removed whose count already dropped to zero is not found.
    pub fn get(&self, index: usize) -> Option<ARef<V::Target>> {
        let rcu = RcuGuard::new();
        // SAFETY: The xarray is initialised.
        let entry = NonNull::new(unsafe { bindings::xa_load(self.as_raw(), index) })?;
        // SAFETY: `entry` was just read from a present entry under `rcu`.
        unsafe { Self::try_get(&rcu, entry.cast()) }
    }

    /// Returns the lowest present index at or above `from` with a new reference to its object.
    pub fn find(&self, from: usize) -> Option<(usize, ARef<V::Target>)> {
        let rcu = RcuGuard::new();
        let mut index = from;
        loop {
            // SAFETY: The xarray is initialised; `index` is valid for reads and writes.
            let entry = NonNull::new(unsafe {
                bindings::xa_find(self.as_raw(), &mut index, usize::MAX, XA_PRESENT)
            })?;
            // SAFETY: `entry` was just read from a present entry under `rcu`.
            if let Some(obj) = unsafe { Self::try_get(&rcu, entry.cast()) } {
                return Some((index, obj));
            }
            // Being removed: look further.
            index = index.checked_add(1)?;
        }
    }

    /// Removes the entry at `index` and returns it (`xa_erase()`). Lookups that found the
    /// entry before may still take a reference to its object ([`RcuRefCounted`]): nothing
    /// waits for them.
    pub fn remove(&self, index: usize) -> Option<V> {
        // SAFETY: The xarray is initialised.
        let entry = NonNull::new(unsafe { bindings::xa_erase(self.as_raw(), index) })?;
        // SAFETY: The entry stood for a `V` (type invariant) and is erased: the `V` is ours.
        Some(unsafe { V::from_raw(entry.cast()) })
    }
}

#[pinned_drop]
impl<V: OwnedRef> PinnedDrop for XArray<V> {
    fn drop(self: core::pin::Pin<&mut Self>) {
        let mut index = 0;
        loop {
            // SAFETY: The xarray is initialised; no lookup can run (no other reference to it).
            let entry =
                unsafe { bindings::xa_find(self.as_raw(), &mut index, usize::MAX, XA_PRESENT) };
            let Some(entry) = NonNull::new(entry) else {
                break;
            };
            // SAFETY: As above; the entry's reference becomes ours and is dropped.
            unsafe {
                bindings::xa_erase(self.as_raw(), index);
                drop(V::from_raw(entry.cast()));
            }
        }
        // SAFETY: The xarray is empty; this frees its internal nodes.
        unsafe { bindings::xa_destroy(self.as_raw()) };
    }
}
