// SPDX-License-Identifier: GPL-2.0

//! Tracepoints: firing trace events defined in C from Rust.
//!
//! C header: [`include/linux/tracepoint.h`](srctree/include/linux/tracepoint.h).
//!
//! A trace event is declared in C with `TRACE_EVENT()` in `include/trace/events/`; a C file
//! defines it (`CREATE_TRACE_POINTS`) and an out-of-line `rust_do_trace_<event>()` that calls
//! `trace_<event>()`, which Rust cannot expand. [`declare_trace!`](crate::declare_trace) turns
//! each event into a Rust function that checks the event's static key and only then calls
//! `rust_do_trace_<event>()`: a disabled event costs the check (a call of `static_key_count()`),
//! not the call with its arguments.
//!
//! The macro has the shape of the kernel's later `kernel::tracepoint::declare_trace!`, so that
//! callers do not change when this is ported to a kernel that has it (there the C functions
//! come from `define_trace.h`).

/// Declares Rust functions that fire C trace events.
///
/// For each `fn name(args);`, the event `name` must be declared in a header that the bindings
/// include (its `struct tracepoint __tracepoint_name`), and `rust_do_trace_name(args)` must be
/// defined in C. Without `CONFIG_TRACEPOINTS` the function does nothing. It is `unsafe`: the
/// caller must pass what the event's C code may dereference (valid strings and pointers).
///
/// # Examples
///
/// ```ignore
/// kernel::declare_trace! {
///     /// Fires `memory_block:memory_notify`.
///     pub(crate) unsafe fn memory_notify(
///         action: c_ulong, start_pfn: c_ulong, nr_pages: c_ulong, ret: c_int,
///         stopped_by: *mut c_void,
///     );
/// }
/// ```
#[macro_export]
macro_rules! declare_trace {
    ($($(#[$attr:meta])* $pub:vis unsafe fn $name:ident($($arg:ident : $ty:ty),* $(,)?);)*) => {
        $(
            $(#[$attr])*
            ///
            /// # Safety
            ///
            /// The arguments must be valid for the event's C code: strings NUL-terminated,
            /// pointers that it dereferences valid.
            #[inline(always)]
            // The metavariables in the `unsafe` block below are the function's own parameters.
            #[allow(clippy::macro_metavars_in_unsafe)]
            $pub unsafe fn $name($($arg: $ty),*) {
                #[cfg(not(CONFIG_TRACEPOINTS))]
                let _ = ($($arg,)*);
                #[cfg(CONFIG_TRACEPOINTS)]
                $crate::macros::paste! {
                    // SAFETY: The key is the static key of the event's statically allocated
                    // `struct tracepoint`; only its address is taken here.
                    #[allow(unused_unsafe)]
                    let enabled = unsafe {
                        $crate::tracepoint::static_key_enabled(::core::ptr::addr_of_mut!(
                            $crate::bindings::[<__tracepoint_ $name>].key
                        ))
                    };
                    if enabled {
                        // SAFETY: The caller passes arguments the event may use.
                        unsafe { $crate::bindings::[<rust_do_trace_ $name>]($($arg),*) };
                    }
                }
            }
        )*
    };
}

/// Returns whether the static key `key` is enabled (`static_key_enabled()`), i.e. whether a
/// probe is attached to the tracepoint that owns it.
///
/// # Safety
///
/// `key` must point to an initialised static key that is never freed.
#[doc(hidden)]
#[inline(always)]
pub unsafe fn static_key_enabled(key: *mut crate::bindings::static_key) -> bool {
    // SAFETY: `key` is a live static key (safety requirements); its count is read atomically.
    unsafe { crate::bindings::static_key_count(key) > 0 }
}
