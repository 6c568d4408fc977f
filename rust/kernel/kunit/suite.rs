// SPDX-License-Identifier: GPL-2.0

//! KUnit test suites written in Rust.
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h).
//!
//! [`kunit_test_suite!`](crate::kunit_test_suite) declares a suite of functions taking a
//! [`Test`], placed where KUnit finds the suites of the kernel image (run at boot) or of a
//! module (run when it is loaded), as C's `kunit_test_suite()` does. A case checks with
//! [`Test::expect`], which marks it failed and logs where, like `KUNIT_EXPECT_TRUE_MSG()`, and
//! goes on: unlike an assertion it never leaves the case early, so nothing is skipped without
//! its destructor. The messages go to the kernel log (where the boot-time KTAP report is), not
//! to the case's debugfs log. Doctests of the `kernel` crate run as KUnit too, through
//! `CONFIG_RUST_KERNEL_DOCTESTS`.
//!
//! # Examples
//!
//! ```ignore
//! use kernel::kunit::suite::Test;
//!
//! fn sum(test: &Test) {
//!     test.expect(1 + 2 == 3, format_args!("1 + 2 is 3"));
//! }
//!
//! kernel::kunit_test_suite!("example", [sum]);
//! ```

use crate::{bindings, types::Opaque};
use core::{fmt, panic::Location, ptr};

/// The KUnit test case being run (`struct kunit`).
///
/// # Invariants
///
/// The `struct kunit` is the one of the running case; it outlives every `&Test`, which the
/// case's function only gets for its duration.
#[repr(transparent)]
pub struct Test(Opaque<bindings::kunit>);

impl Test {
    /// Returns the `Test` of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is the `struct kunit` KUnit passed to a running case, and the returned reference
    /// is not used after the case returns.
    #[doc(hidden)]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::kunit) -> &'a Self {
        // SAFETY: `Test` is a transparent wrapper of `struct kunit`, which is valid for the
        // lifetime by the safety requirements.
        // INVARIANT: The case's `struct kunit`, for the duration of the case.
        unsafe { &*ptr.cast() }
    }

    /// Marks the case failed unless `ok`, and logs where with `what`; returns `ok`
    /// (`KUNIT_EXPECT_TRUE_MSG()`).
    #[track_caller]
    pub fn expect(&self, ok: bool, what: fmt::Arguments<'_>) -> bool {
        if !ok {
            self.fail(Location::caller(), what);
        }
        ok
    }

    /// Marks the case failed unless `left == right`, and logs both values with `what`; returns
    /// whether they are equal (`KUNIT_EXPECT_EQ_MSG()`).
    #[track_caller]
    pub fn expect_eq<T: PartialEq + fmt::Debug>(
        &self,
        left: T,
        right: T,
        what: fmt::Arguments<'_>,
    ) -> bool {
        let ok = left == right;
        if !ok {
            self.fail(
                Location::caller(),
                format_args!("{what}: {left:?} != {right:?}"),
            );
        }
        ok
    }

    /// Logs a diagnostic line of the case (`kunit_info()`), e.g. how many cases a generated
    /// test ran.
    pub fn info(&self, what: fmt::Arguments<'_>) {
        super::info(format_args!("    # {}: {what}\n", self.name()));
    }

    fn name(&self) -> &str {
        // SAFETY: KUnit sets `name` to the case's static name before it runs the case, and only
        // reads it from then on.
        let name = unsafe { (*self.0.get()).name };
        if name.is_null() {
            return "?";
        }
        // SAFETY: A non-null `name` is a NUL-terminated string that lives as long as the suite.
        let name = unsafe { crate::str::CStr::from_char_ptr(name) };
        name.to_str().unwrap_or("?")
    }

    fn fail(&self, at: &Location<'_>, what: fmt::Arguments<'_>) {
        super::err(format_args!(
            "    # {}: EXPECTATION FAILED at {}:{}\n    # {what}\n",
            self.name(),
            at.file(),
            at.line()
        ));
        // SAFETY: `status` is written only to mark a failure, from the case's threads, which is
        // why KUnit's `kunit_set_failure()` uses `WRITE_ONCE()`; it is read after the case ends.
        unsafe {
            ptr::write_volatile(
                ptr::addr_of_mut!((*self.0.get()).status),
                bindings::kunit_status_KUNIT_FAILURE,
            )
        };
    }
}

/// Returns a suite's name as `struct kunit_suite` holds it, cut to fit with its NUL.
#[doc(hidden)]
pub const fn suite_name(name: &str) -> [crate::ffi::c_char; 256] {
    let bytes = name.as_bytes();
    let mut out = [0; 256];
    let mut i = 0;
    while i < bytes.len() && i < out.len() - 1 {
        out[i] = bytes[i] as crate::ffi::c_char;
        i += 1;
    }
    out
}

/// Declares a KUnit test suite named `$name` of the functions `$case`, each a `fn(&Test)`
/// ([`Test`]), run in order (C's `kunit_test_suite()`).
///
/// The suite is registered in the `.kunit_test_suites` section of the kernel image or the
/// module it is built into; KUnit runs it at boot (built-in KUnit) or at the module's load.
/// Gate the invocation on the tests' own Kconfig symbol (`depends on KUNIT=y` for built-in
/// code), as C test suites are.
#[macro_export]
macro_rules! kunit_test_suite {
    ($name:literal, [$($case:path),+ $(,)?]) => {
        const _: () = {
            static mut CASES: [$crate::bindings::kunit_case; [$(stringify!($case)),+].len() + 1] = [
                $(
                    $crate::bindings::kunit_case {
                        run_case: {
                            /// # Safety
                            ///
                            /// `test` is the running case's `struct kunit`.
                            unsafe extern "C" fn run(test: *mut $crate::bindings::kunit) {
                                // The case cannot keep the `Test` beyond the call.
                                let case: for<'a> fn(&'a $crate::kunit::suite::Test) = $case;
                                // SAFETY: KUnit calls `run_case` with the case's `struct kunit`,
                                // which outlives the call.
                                case(unsafe { $crate::kunit::suite::Test::from_raw(test) });
                            }
                            Some(run)
                        },
                        name: $crate::c_str!(stringify!($case)).as_char_ptr(),
                        // What `KUNIT_CASE()` sets to `KBUILD_MODNAME`, for filters.
                        module_name: concat!(::core::module_path!(), "\0")
                            .as_ptr()
                            .cast::<$crate::ffi::c_char>()
                            .cast_mut(),
                        // SAFETY: All-zero is a valid value of the other fields (no parameters,
                        // default attributes, state KUnit fills in).
                        ..unsafe { ::core::mem::zeroed() }
                    },
                )+
                // SAFETY: An all-zero case ends the array.
                unsafe { ::core::mem::zeroed() },
            ];

            // Taking the address of a `static mut` needs `unsafe` before Rust 1.82.
            #[allow(unused_unsafe)]
            static mut SUITE: $crate::bindings::kunit_suite = $crate::bindings::kunit_suite {
                name: $crate::kunit::suite::suite_name($name),
                // SAFETY: `CASES` is a static; only its address is taken.
                test_cases: unsafe { ::core::ptr::addr_of_mut!(CASES) }.cast(),
                // SAFETY: All-zero is a valid value of the other fields (no init or exit
                // callbacks, default attributes, state KUnit fills in).
                ..unsafe { ::core::mem::zeroed() }
            };

            // KUnit finds the suite through this pointer, and writes its state into `SUITE` and
            // `CASES`, which nothing else touches.
            #[used]
            #[link_section = ".kunit_test_suites"]
            #[allow(unused_unsafe)]
            static mut ENTRY: *mut $crate::bindings::kunit_suite =
                // SAFETY: `SUITE` is a static; only its address is taken.
                unsafe { ::core::ptr::addr_of_mut!(SUITE) };
        };
    };
}
