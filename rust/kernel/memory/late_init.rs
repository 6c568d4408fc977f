// SPDX-License-Identifier: GPL-2.0

//! [`LateInit`]: driver state created once at run time, before initcalls.

use crate::{init::PinInit, prelude::*};
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

/// A value created once at run time and never freed, for driver state that is needed before
/// initcalls run (so it cannot use a module's `init`).
pub struct LateInit<T> {
    ptr: AtomicPtr<T>,
    // Owns a `T`: sending a `LateInit` sends its value (an `AtomicPtr` alone is always `Send`).
    _owns: PhantomData<T>,
}

// SAFETY: Only shared references to `T` are handed out.
unsafe impl<T: Sync + Send> Sync for LateInit<T> {}

impl<T> LateInit<T> {
    /// An uninitialised value.
    pub const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// Initialises the value; fails with `EBUSY` if it already was.
    pub fn init<E>(&self, init: impl PinInit<T, E>) -> Result<&T>
    where
        Error: From<E>,
    {
        let value = KBox::pin_init(init, GFP_KERNEL)?;
        // SAFETY: The value is never moved out of the box: it is leaked, or dropped in place
        // if another value was published first.
        let raw = KBox::into_raw(unsafe { core::pin::Pin::into_inner_unchecked(value) });
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: `raw` is valid for ever.
            Ok(_) => Ok(unsafe { &*raw }),
            Err(_) => {
                // SAFETY: `raw` was not published.
                drop(unsafe { KBox::from_raw(raw) });
                Err(EBUSY)
            }
        }
    }

    /// Returns the value, if initialised.
    pub fn get(&self) -> Option<&T> {
        // SAFETY: A non-null pointer was published by `init` and is never freed.
        unsafe { self.ptr.load(Ordering::Acquire).as_ref() }
    }
}

impl<T> Default for LateInit<T> {
    fn default() -> Self {
        Self::new()
    }
}
