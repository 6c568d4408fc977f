// SPDX-License-Identifier: GPL-2.0

//! Reporting broken invariants: [`warn_on!`](crate::warn_on) and
//! [`warn_on_once!`](crate::warn_on_once), like C's `WARN_ON()` and `WARN_ON_ONCE()`.
//!
//! C header: [`include/asm-generic/bug.h`](srctree/include/asm-generic/bug.h).

use crate::{bindings, ffi::c_void, str::CStr};

/// Reports a warning at `file:line` as a failed `WARN_ON()` does: the "cut here" banner, a
/// `WARNING:` line naming the location and `site` (a code address in the function that warned),
/// the loaded modules, a backtrace, and `TAINT_WARN` (`panic_on_warn` panics).
///
/// Use [`warn_on!`](crate::warn_on) rather than calling this.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn warn(file: &'static CStr, line: u32, site: *const c_void) {
    crate::pr_warn!("------------[ cut here ]------------\n");
    // SAFETY: `file` is a static NUL-terminated string; `site` is only printed (`%pS`); null
    // `regs` and `args` mean "no register dump, no message", and the current stack is dumped.
    unsafe {
        bindings::__warn(
            file.as_char_ptr(),
            line as _,
            site.cast_mut(),
            bindings::TAINT_WARN,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    };
}

/// Evaluates a condition and, if it is true, reports a kernel warning at this location like C's
/// `WARN_ON()`; returns the condition.
///
/// For invariants whose failure is a kernel bug that the caller can survive, e.g. data handed
/// over by core mm that breaks its documented contract. The test harness and syzkaller-like
/// tools treat a warning as a failure.
///
/// ```
/// fn check(size: usize) -> kernel::error::Result {
///     if kernel::warn_on!(size % 4096 != 0) {
///         return Err(kernel::error::code::EINVAL);
///     }
///     Ok(())
/// }
/// assert!(check(8192).is_ok());
/// ```
#[macro_export]
macro_rules! warn_on {
    ($cond:expr $(,)?) => {{
        let cond: bool = $cond;
        if cond {
            // An address in the function that warned, for the `WARNING:` line.
            fn warn_site() {}
            $crate::bug::warn(
                $crate::c_str!(::core::file!()),
                ::core::line!(),
                warn_site as *const $crate::ffi::c_void,
            );
        }
        cond
    }};
}

/// Like [`warn_on!`](crate::warn_on), but reports only the first time the condition is true at
/// this location (C's `WARN_ON_ONCE()`); returns the condition every time.
#[macro_export]
macro_rules! warn_on_once {
    ($cond:expr $(,)?) => {{
        // In `.data..once`, like C's `__warned`, so that `clear_warn_once` re-arms it.
        #[link_section = ".data..once"]
        static WARNED: ::core::sync::atomic::AtomicBool =
            ::core::sync::atomic::AtomicBool::new(false);
        let cond: bool = $cond;
        $crate::warn_on!(cond && !WARNED.swap(true, ::core::sync::atomic::Ordering::Relaxed));
        cond
    }};
}
