// SPDX-License-Identifier: GPL-2.0

//! XArray: a sparse array indexed by `usize`, read without locks (`struct xarray`).
//!
//! C header: [`include/linux/xarray.h`](srctree/include/linux/xarray.h).
//!
//! This holds owned references ([`OwnedRef`], e.g. [`ARef`]) to counted objects: a lookup takes a new reference under
//! RCU, like C's `xa_load()` followed by `get_device()`, and never blocks on writers; writers
//! are serialised by the xarray's own lock and may sleep (allocation, RCU grace periods), so
//! they run in process context.

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

/// An owned reference to a reference-counted object, which an [`XArray`] entry can hold: an
/// [`ARef`], or a type that stands for one particular reference (e.g. a registration).
///
/// # Safety
///
/// `into_raw` gives up one reference to the object, as a pointer to it (aligned as `Target`,
/// which [`XArray`] checks is at least 4 bytes), and `from_raw` takes that same reference back.
pub unsafe trait OwnedRef: Sized {
    /// The reference-counted object.
    type Target: AlwaysRefCounted;

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
unsafe impl<T: AlwaysRefCounted> OwnedRef for ARef<T> {
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
/// [`OwnedRef::into_raw`] for `V`: each stands for one `V`.
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

    /// Returns a new reference to the object at `index`, if any, without taking a lock.
    pub fn get(&self, index: usize) -> Option<ARef<V::Target>> {
        let _rcu = RcuGuard::new();
        // SAFETY: The xarray is initialised.
        let entry = NonNull::new(unsafe { bindings::xa_load(self.as_raw(), index) })?;
        // SAFETY: A present entry owns a reference (type invariant), which `remove` drops only
        // after an RCU grace period that ends after this read-side critical section: the
        // object is alive, so a new reference may be taken.
        Some(ARef::from(unsafe { entry.cast::<V::Target>().as_ref() }))
    }

    /// Returns the lowest present index at or above `from` with a new reference to its object.
    pub fn find(&self, from: usize) -> Option<(usize, ARef<V::Target>)> {
        let _rcu = RcuGuard::new();
        let mut index = from;
        // SAFETY: The xarray is initialised; `index` is valid for reads and writes.
        let entry = NonNull::new(unsafe {
            bindings::xa_find(self.as_raw(), &mut index, usize::MAX, XA_PRESENT)
        })?;
        // SAFETY: As in `get`.
        Some((
            index,
            ARef::from(unsafe { entry.cast::<V::Target>().as_ref() }),
        ))
    }

    /// Removes the entries of `indices` (`xa_erase()`) and calls `f` with each, in index order.
    ///
    /// Waits for RCU grace periods (one for up to 64 entries), so that lookups that found an
    /// entry have taken their own reference before `f` gets it: may sleep.
    pub fn remove_range(&self, indices: core::ops::Range<usize>, mut f: impl FnMut(usize, V)) {
        const BATCH: usize = 64;
        let mut index = indices.start;
        while index < indices.end {
            let mut taken = [(0usize, NonNull::<V::Target>::dangling()); BATCH];
            let mut n = 0;
            while index < indices.end && n < BATCH {
                // SAFETY: The xarray is initialised.
                let entry = unsafe { bindings::xa_erase(self.as_raw(), index) };
                if let Some(entry) = NonNull::new(entry) {
                    taken[n] = (index, entry.cast());
                    n += 1;
                }
                index += 1;
            }
            if n == 0 {
                continue;
            }
            // SAFETY: Called in process context (writers may sleep).
            unsafe { bindings::synchronize_rcu() };
            for &(i, entry) in &taken[..n] {
                // SAFETY: The entry owned a reference (type invariant), which is now ours; no
                // lookup still uses the pointer without a reference of its own.
                f(i, unsafe { V::from_raw(entry) });
            }
        }
    }

    /// Removes the entry at `index` and returns it (`xa_erase()`); see
    /// [`XArray::remove_range`]. May sleep.
    pub fn remove(&self, index: usize) -> Option<V> {
        let mut removed = None;
        self.remove_range(index..index.saturating_add(1), |_, v| removed = Some(v));
        removed
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
