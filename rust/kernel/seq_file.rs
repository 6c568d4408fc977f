// SPDX-License-Identifier: GPL-2.0

//! Sequential files.
//!
//! C header: [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)

use crate::{bindings, types::Opaque};
use core::fmt;

/// A `struct seq_file` being filled by a `show` callback.
///
/// Text is appended with the [`core::fmt::Write`] methods, e.g. `writeln!(m, "{}", x)`. When the
/// buffer overflows, the seq_file core allocates a bigger one and calls the `show` callback
/// again, so a callback must produce the same output when it is repeated.
///
/// # Invariants
///
/// The wrapped `struct seq_file` is valid and is being filled by its `show` callback, which has
/// exclusive use of it for the lifetime of the reference.
#[repr(transparent)]
pub struct SeqFile(Opaque<bindings::seq_file>);

impl SeqFile {
    /// Creates a reference to a [`SeqFile`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct seq_file` that is being filled by its `show` callback,
    /// and nothing else may use it while the returned reference lives.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::seq_file) -> &'a mut SeqFile {
        // INVARIANT: Guaranteed by the safety requirements.
        // SAFETY: `SeqFile` is a transparent wrapper of `struct seq_file`, and the caller
        // guarantees that `ptr` is valid and exclusively ours for `'a`.
        unsafe { &mut *ptr.cast::<SeqFile>() }
    }
}

impl fmt::Write for SeqFile {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: By the type invariants the seq_file is valid and ours; `s` is valid for reads of
        // `s.len()` bytes. On overflow `seq_write` marks the seq_file as such and the core retries
        // with a bigger buffer, so its return value needs no handling here.
        unsafe { bindings::seq_write(self.0.get(), s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}
