// SPDX-License-Identifier: GPL-2.0

//! Registrations that a module leaked, removed when the module goes.
//!
//! C header: [`include/linux/module.h`](srctree/include/linux/module.h)
//! (`register_module_notifier()`, `MODULE_STATE_GOING`).
//!
//! A registration (a notifier on a chain, a debugfs file, an online policy) calls back into
//! the code of the crate that made it, and dropping it unregisters it. Leaking it is safe Rust
//! (`core::mem::forget`, a reference cycle), so nothing makes a module drop its registrations
//! before it is unloaded: one it leaked would call into freed module text. A [`Watch`], made
//! with each registration, removes it when the module that holds its code goes
//! (`MODULE_STATE_GOING`: after the module's exit function, while its code and data are still
//! there), and warns, naming the module: the leak is the module's bug, the removal keeps it
//! from becoming a use-after-free. The watch runs first among the module notifiers
//! (`INT_MAX`), before kprobes, jump labels, tracepoints and static calls let go of the
//! module's code. Built-in code is never unloaded: a registration made by it gets no watch.
//!
//! A watch is a module notifier: making and dropping a registration in a module takes the
//! module notifier chain's lock for write, so a module must not do it where that cannot wait
//! for a module being loaded (e.g. holding `cpus_read_lock()`, as memory notifier callbacks
//! do: a module's `MODULE_STATE_COMING` notifiers take it).

use crate::{alloc::KBox, bindings, prelude::*, types::Opaque};
use core::{ffi::c_void, ptr, sync::atomic::AtomicBool};

/// How a [`Watch`] removes its registration.
///
/// # Safety
///
/// Called once, with the context given to [`Watch::new`], when the module that holds the
/// registration's code goes and the registration was not dropped.
pub type Purge = unsafe fn(*mut c_void);

/// Removes a registration when the module holding its code goes, if the registration is still
/// there then (it was leaked).
///
/// # Invariants
///
/// If `registered`, `nb` is registered on the module notifier chain with `Watch::going` from
/// the moment [`Watch::new`] succeeded until the watch is dropped.
// Without modules nothing goes: the fields are only read by the callback of a registered watch.
#[cfg_attr(not(CONFIG_MODULES), allow(dead_code))]
#[pin_data(PinnedDrop)]
pub struct Watch {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    /// An address in the registration's code (e.g. its callback trampoline).
    code: usize,
    /// What the registration is, for the warning (e.g. `memory notifier`).
    what: &'static str,
    ctx: *mut c_void,
    purge: Purge,
    /// Set once `purge` ran: a module loaded later at the same address must not purge again.
    purged: AtomicBool,
    /// Whether `code` is module text, so that `nb` is registered.
    registered: bool,
}

// SAFETY: `ctx` is only passed to `purge`, whose contract allows any thread (a module's
// unloading thread); the rest is plain data or owned by the notifier core.
unsafe impl Send for Watch {}
// SAFETY: No method of `&Watch` mutates it.
unsafe impl Sync for Watch {}

impl Watch {
    /// Watches a registration whose code is at `code`; `purge(ctx)` removes it. If `code` is
    /// not in a module, nothing is registered.
    ///
    /// # Safety
    ///
    /// `purge(ctx)` must remove the registration, and be sound to call from the module
    /// notifier chain (process context, no lock of the caller held) at any time until this
    /// watch is dropped. The registration must drop this watch when it is dropped, after it is
    /// unregistered.
    pub unsafe fn new(
        code: usize,
        what: &'static str,
        ctx: *mut c_void,
        purge: Purge,
    ) -> Result<Pin<KBox<Self>>> {
        let init = move |slot: *mut Self| -> Result {
            // SAFETY: `slot` is valid for writes and pinned (pin-init contract).
            unsafe {
                ptr::addr_of_mut!((*slot).code).write(code);
                ptr::addr_of_mut!((*slot).what).write(what);
                ptr::addr_of_mut!((*slot).ctx).write(ctx);
                ptr::addr_of_mut!((*slot).purge).write(purge);
                ptr::addr_of_mut!((*slot).purged).write(AtomicBool::new(false));
            }
            #[cfg(CONFIG_MODULES)]
            // SAFETY: `is_module_text_address()` only looks the address up (under RCU-sched).
            let registered = unsafe { bindings::is_module_text_address(code as _) };
            #[cfg(not(CONFIG_MODULES))]
            let registered = false;
            // SAFETY: As above.
            unsafe { ptr::addr_of_mut!((*slot).registered).write(registered) };
            // SAFETY: As above; `nb` is within `slot`.
            let nb = unsafe { Opaque::raw_get(ptr::addr_of!((*slot).nb)) };
            // SAFETY: `nb` is valid for writes.
            unsafe {
                nb.write(bindings::notifier_block {
                    notifier_call: Some(Self::going),
                    next: ptr::null_mut(),
                    // Before the notifiers that release the module's code.
                    priority: i32::MAX,
                })
            };
            #[cfg(CONFIG_MODULES)]
            if registered {
                // SAFETY: `nb` is initialised and pinned; `drop` unregisters it.
                crate::error::to_result(unsafe { bindings::register_module_notifier(nb) })?;
            }
            // INVARIANT: Registered above if `registered`.
            Ok(())
        };
        // SAFETY: Every field is initialised on success; on failure nothing was registered and
        // no field needs dropping.
        KBox::pin_init(unsafe { init::pin_init_from_closure(init) }, GFP_KERNEL)
    }

    /// Keeps the watch from purging from now on; returns whether it had not purged. A
    /// registration that is dropped releases itself only if this returns `true`.
    pub fn disarm(&self) -> bool {
        !self.purged.swap(true, core::sync::atomic::Ordering::AcqRel)
    }

    /// Returns whether `addr` is in the code or data of `module` (`within_module()`).
    ///
    /// # Safety
    ///
    /// `module` must be a live module.
    #[cfg(CONFIG_MODULES)]
    unsafe fn within(module: *const bindings::module, addr: usize) -> bool {
        // SAFETY: `module` is live; its memory descriptors are set while it is loaded.
        let mems = unsafe { &(*module).mem };
        mems.iter().any(|m| {
            let base = m.base as usize;
            addr >= base && addr - base < m.size as usize
        })
    }

    /// The module notifier callback.
    ///
    /// # Safety
    ///
    /// Called by the module notifier chain only, for the `nb` of a live `Watch`, with the
    /// module whose state changes as `data`.
    unsafe extern "C" fn going(
        nb: *mut bindings::notifier_block,
        action: crate::ffi::c_ulong,
        data: *mut c_void,
    ) -> i32 {
        #[cfg(CONFIG_MODULES)]
        if action == bindings::module_state_MODULE_STATE_GOING as crate::ffi::c_ulong {
            // SAFETY: `nb` is the `nb` field of a live `Watch` (its type invariant: registered
            // only while the watch exists).
            let this = unsafe {
                &*crate::container_of!(nb.cast::<Opaque<bindings::notifier_block>>(), Self, nb)
            };
            let module = data.cast::<bindings::module>();
            // SAFETY: The chain passes the going module, still loaded.
            if unsafe { Self::within(module, this.code) } && this.disarm() {
                // SAFETY: A module's name is a NUL-terminated array.
                let name = unsafe { CStr::from_char_ptr((*module).name.as_ptr()) };
                pr_err!(
                    "module {} leaked a {} registration: removed as the module goes\n",
                    name,
                    this.what
                );
                crate::warn_on!(true);
                // SAFETY: The module holding the registration's code goes and the registration
                // was not dropped (it would have dropped this watch): the contract of `new`.
                // The module's code is still there (`MODULE_STATE_GOING`).
                unsafe { (this.purge)(this.ctx) };
            }
        }
        let _ = (nb, action, data);
        bindings::NOTIFY_DONE as i32
    }
}

#[pinned_drop]
impl PinnedDrop for Watch {
    fn drop(self: Pin<&mut Self>) {
        #[cfg(CONFIG_MODULES)]
        if self.registered {
            // SAFETY: `nb` is registered (type invariant); unregistering waits for a running
            // callback.
            unsafe { bindings::unregister_module_notifier(self.nb.get()) };
        }
        let _ = self;
    }
}
