// SPDX-License-Identifier: GPL-2.0

//! sysfs attribute I/O: the page buffer of a `show` callback and the parsers that `store`
//! callbacks and module parameters use.
//!
//! C headers: [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h),
//! [`include/linux/kstrtox.h`](srctree/include/linux/kstrtox.h).

use crate::{bindings, error::to_result, prelude::*, str::CStr};
use core::{fmt, ptr};

/// The output buffer of a sysfs `show` callback or a module parameter's `get`: one page,
/// filled like `sysfs_emit()`.
///
/// Output beyond `PAGE_SIZE - 1` bytes is dropped, as `vscnprintf()` does.
///
/// # Invariants
///
/// `buf` is valid for writes of `PAGE_SIZE` bytes and `len < PAGE_SIZE`.
pub struct Buffer {
    buf: *mut u8,
    len: usize,
}

impl Buffer {
    /// Wraps a page-sized output buffer.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for writes of `PAGE_SIZE` bytes while the returned value lives.
    pub unsafe fn new(buf: *mut crate::ffi::c_char) -> Self {
        // INVARIANT: Guaranteed by the safety requirements; nothing is written yet.
        Self {
            buf: buf.cast(),
            len: 0,
        }
    }

    /// Returns the number of bytes written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Write for Buffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = (crate::page::PAGE_SIZE - 1).saturating_sub(self.len);
        let n = s.len().min(room);
        // SAFETY: `self.len + n < PAGE_SIZE`, within the buffer (type invariant).
        unsafe { ptr::copy_nonoverlapping(s.as_ptr(), self.buf.add(self.len), n) };
        // INVARIANT: `n` bytes fit before the last byte of the page.
        self.len += n;
        Ok(())
    }
}

/// Returns whether `input` equals `word`, allowing one trailing newline in `input`
/// (`sysfs_streq()`).
///
/// # Examples
///
/// ```
/// use kernel::{c_str, sysfs::sysfs_streq};
///
/// // What `echo online > state` writes matches, with its newline.
/// assert!(sysfs_streq(c_str!("online\n"), c_str!("online")));
/// assert!(!sysfs_streq(c_str!("online\n\n"), c_str!("online")));
/// assert!(!sysfs_streq(c_str!("Online"), c_str!("online")));
/// ```
pub fn sysfs_streq(input: &CStr, word: &CStr) -> bool {
    // SAFETY: Both are NUL-terminated strings.
    unsafe { bindings::sysfs_streq(input.as_char_ptr(), word.as_char_ptr()) }
}

/// Parses an unsigned 64-bit number with `kstrtoull()`: base 0 accepts `0x` hex and
/// leading-zero octal, one trailing newline is allowed. Fails with `EINVAL` or `ERANGE`.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, sysfs::kstrtoull};
///
/// // The `probe` file takes a physical address.
/// assert_eq!(kstrtoull(c_str!("0x140000000\n"), 0), Ok(0x1_4000_0000));
/// assert_eq!(kstrtoull(c_str!("010"), 0), Ok(8));
/// assert_eq!(kstrtoull(c_str!("0x"), 0), Err(EINVAL));
/// assert_eq!(kstrtoull(c_str!("18446744073709551616"), 0), Err(ERANGE));
/// assert_eq!(kstrtoull(c_str!("-1"), 0), Err(EINVAL));
/// ```
pub fn kstrtoull(input: &CStr, base: u32) -> Result<u64> {
    let mut value = 0u64;
    // SAFETY: `input` is NUL-terminated; `value` is valid for writes.
    to_result(unsafe { bindings::kstrtoull(input.as_char_ptr(), base, &mut value) })?;
    Ok(value)
}

/// Parses an unsigned 32-bit number with `kstrtouint()`. Fails with `EINVAL` or `ERANGE`.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, sysfs::kstrtouint};
///
/// // `memory_hotplug.auto_movable_ratio` is a `uint`.
/// assert_eq!(kstrtouint(c_str!("301"), 0), Ok(301));
/// assert_eq!(kstrtouint(c_str!("4294967295"), 0), Ok(u32::MAX));
/// assert_eq!(kstrtouint(c_str!("4294967296"), 0), Err(ERANGE));
/// assert_eq!(kstrtouint(c_str!(" 1"), 0), Err(EINVAL));
/// ```
pub fn kstrtouint(input: &CStr, base: u32) -> Result<u32> {
    let mut value = 0u32;
    // SAFETY: `input` is NUL-terminated; `value` is valid for writes.
    to_result(unsafe { bindings::kstrtouint(input.as_char_ptr(), base, &mut value) })?;
    Ok(value)
}

/// Parses a boolean with `kstrtobool()`: `y`/`Y`/`t`/`T`/`1`/`on` or `n`/`N`/`f`/`F`/`0`/`off`,
/// judged by the first characters only. Fails with `EINVAL`.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, sysfs::kstrtobool};
///
/// // `memory_hotplug.auto_movable_numa_aware` and the `online` file.
/// assert_eq!(kstrtobool(c_str!("Y")), Ok(true));
/// assert_eq!(kstrtobool(c_str!("yes")), Ok(true));
/// assert_eq!(kstrtobool(c_str!("off")), Ok(false));
/// assert_eq!(kstrtobool(c_str!("0\n")), Ok(false));
/// assert_eq!(kstrtobool(c_str!("2")), Err(EINVAL));
/// assert_eq!(kstrtobool(c_str!("")), Err(EINVAL));
/// ```
pub fn kstrtobool(input: &CStr) -> Result<bool> {
    let mut value = false;
    // SAFETY: `input` is NUL-terminated; `value` is valid for writes.
    to_result(unsafe { bindings::kstrtobool(input.as_char_ptr(), &mut value) })?;
    Ok(value)
}
