// SPDX-License-Identifier: GPL-2.0

//! The two locks of memory hotplug, as guards and proofs: `device_hotplug_lock` (outermost) and
//! `mem_hotplug_lock` (innermost).
//!
//! # Lock order
//!
//! Outermost first; a lock is only taken while holding locks above it, never below it:
//!
//! 0. Above everything: the active reference of the sysfs or debugfs file being read or
//!    written (kernfs, debugfs), which removing the file waits for.
//! 1. `device_hotplug_lock` ([`DeviceHotplugGuard`]): adding and removing memory, writes of
//!    `state`, `online` and `probe` (with `lock_device_hotplug_sysfs()`, which restarts the
//!    system call instead of waiting, as a removal holding the lock waits for the sysfs file's
//!    readers), the Rust driver's reads of `valid_zones` of an offline block (likewise) and
//!    its debugfs `policy` file. It proves that no System RAM is added or removed: memmaps
//!    and altmaps stay. (`auto_online_blocks` takes no lock, as in C.)
//! 2. The memory block's device lock, taken by the driver core around `online`/`offline`.
//! 3. `cpus_read_lock()`, then `mem_hotplug_lock` for write ([`MemHotplugGuard`], inside
//!    `online_pages()`, `offline_pages()`, `add_memory()`, `remove_memory()`), or for read
//!    (`get_online_mems()`, core mm's readers).
//! 4. The memory notifier chain's rwsem, for read while the callbacks run (under 3 for every
//!    event); callbacks may sleep but take none of the locks above.
//! 5. The online policy's SRCU read side, around a policy's decision (under 1) and its `show`
//!    (under 0 only): a policy may take its own locks and the memory groups' spinlock there;
//!    unregistering waits for its readers with none of these locks held.
//! 6. Leaves, taking nothing else: the memory groups' spinlock, the memory block XArray's
//!    lock, the driver's failure-log mutex.
//!
//! The module notifier chain's rwsem is taken for write when a module makes or drops a
//! registration ([`crate::module_going`]), and for read while a going module's leaked
//! registrations are removed, around taking 4 for write, waiting for the policy's readers
//! (5) or for a debugfs file's readers (0): none of this nests inside 1-6.
//!
//! C headers: [`include/linux/device.h`](srctree/include/linux/device.h) (`lock_device_hotplug()`),
//! [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h)
//! (`mem_hotplug_begin()`).

use crate::{bindings, error::to_result, prelude::*};
use core::marker::PhantomData;

/// A proof that the caller holds `device_hotplug_lock`.
///
/// It cannot be constructed, only borrowed from a [`DeviceHotplugGuard`] or, in code called
/// from C, assumed with [`DeviceHotplugLocked::assume`].
pub struct DeviceHotplugLocked {
    _not_send: PhantomData<*mut ()>,
}

impl DeviceHotplugLocked {
    /// Assumes that the current thread holds `device_hotplug_lock`.
    ///
    /// # Safety
    ///
    /// The caller must hold `device_hotplug_lock` for `'a`, or run while the kernel is still
    /// single-threaded (early boot).
    pub unsafe fn assume<'a>() -> &'a Self {
        &DeviceHotplugLocked {
            _not_send: PhantomData,
        }
    }
}

/// Holds `device_hotplug_lock`, the outermost lock of memory hotplug; released on drop.
///
/// # Invariants
///
/// The current thread holds `device_hotplug_lock` until the guard is dropped.
pub struct DeviceHotplugGuard {
    locked: DeviceHotplugLocked,
}

impl DeviceHotplugGuard {
    /// Takes `device_hotplug_lock` (`lock_device_hotplug()`), sleeping until it is free.
    pub fn lock() -> Self {
        // SAFETY: Called from process context; released in `Drop`.
        unsafe { bindings::lock_device_hotplug() };
        // INVARIANT: The lock was just taken.
        Self {
            locked: DeviceHotplugLocked {
                _not_send: PhantomData,
            },
        }
    }

    /// Takes `device_hotplug_lock` for a sysfs store or show (`lock_device_hotplug_sysfs()`).
    ///
    /// If the lock is busy this sleeps a little and fails with `ERESTARTNOINTR`: the callback
    /// must return that error, the kernel then restarts the system call. This avoids the
    /// deadlock with a thread that holds the lock and removes the sysfs file.
    pub fn lock_sysfs() -> Result<Self> {
        // SAFETY: Called from a sysfs callback, i.e. process context; released in `Drop`.
        to_result(unsafe { bindings::lock_device_hotplug_sysfs() })?;
        // INVARIANT: `lock_device_hotplug_sysfs()` succeeded, so the lock is held.
        Ok(Self {
            locked: DeviceHotplugLocked {
                _not_send: PhantomData,
            },
        })
    }
}

impl core::ops::Deref for DeviceHotplugGuard {
    type Target = DeviceHotplugLocked;

    fn deref(&self) -> &DeviceHotplugLocked {
        &self.locked
    }
}

impl Drop for DeviceHotplugGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by this thread.
        unsafe { bindings::unlock_device_hotplug() };
    }
}

/// Holds `mem_hotplug_lock` for write (`mem_hotplug_begin()`); released on drop
/// (`mem_hotplug_done()`).
///
/// Every memory notifier event is delivered under this lock.
///
/// # Invariants
///
/// The current thread holds `cpus_read_lock` and `mem_hotplug_lock` for write until the guard
/// is dropped.
pub struct MemHotplugGuard {
    _not_send: PhantomData<*mut ()>,
}

impl MemHotplugGuard {
    /// Takes `mem_hotplug_lock` for write.
    pub fn begin() -> Self {
        // SAFETY: Called from process context; released in `Drop`.
        unsafe { bindings::mem_hotplug_begin() };
        // INVARIANT: The lock was just taken.
        Self {
            _not_send: PhantomData,
        }
    }
}

impl Drop for MemHotplugGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by this thread.
        unsafe { bindings::mem_hotplug_done() };
    }
}
