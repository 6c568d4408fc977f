// SPDX-License-Identifier: GPL-2.0

//! Debugfs directories and files.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)
//!
//! As in C, a failure to create a debugfs entry is not reported to the caller: debugfs is a
//! debugging aid, and a driver must work the same without it.

use crate::{
    alloc::flags::GFP_KERNEL,
    bindings,
    error::{code::*, from_result, Result},
    module_going::Watch,
    prelude::*,
    seq_file::SeqFile,
    str::CStr,
    sync::Arc,
    uaccess::UserSlice,
};
use core::{ffi::c_void, mem::MaybeUninit, ptr};

/// The largest write a debugfs [`File`] accepts, in bytes.
pub const MAX_WRITE: usize = 4096;

/// A debugfs directory, removed with everything in it when dropped.
///
/// Files hold a reference to their directory, so the directory is removed after its files.
///
/// # Invariants
///
/// `self.0` is the value `debugfs_create_dir()` returned for this object: a directory dentry that
/// only this object removes, or an error pointer, which every debugfs function ignores.
pub struct Dir(*mut bindings::dentry);

// SAFETY: `Dir` only passes its dentry to debugfs functions, which may be called from any thread.
unsafe impl Send for Dir {}

// SAFETY: `Dir` has no methods that mutate it through a shared reference.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates a directory named `name` at the top of debugfs.
    pub fn new(name: &CStr) -> Result<Arc<Self>> {
        // SAFETY: `name` is a valid NUL-terminated string; a NULL parent is the debugfs root.
        let dentry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut()) };
        // INVARIANT: `dentry` is what `debugfs_create_dir()` returned, owned by the new `Dir`.
        Ok(Arc::new(Self(dentry), GFP_KERNEL)?)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the dentry is ours to remove (or an error pointer).
        unsafe { bindings::debugfs_remove(self.0) };
    }
}

/// The callbacks of a debugfs [`File`].
///
/// `'static` because a [`File`] that is leaked stays in debugfs for ever (or, made by a module,
/// until the module goes: [`crate::module_going`]).
#[vtable]
pub trait FileOps: Send + Sync + 'static {
    /// Writes the contents of the file. Called for every read from the start of the file.
    fn show(&self, m: &mut SeqFile) -> Result;

    /// Handles one `write(2)` of `data` (at most [`MAX_WRITE`] bytes, whatever the offset).
    fn write(&self, _data: &[u8]) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// What the C callbacks of a debugfs file need, with the file's data type erased.
struct Erased {
    data: *const c_void,
    show: unsafe fn(*const c_void, &mut SeqFile) -> Result,
    write: Option<unsafe fn(*const c_void, &[u8]) -> Result>,
}

/// # Safety
///
/// `data` must point to a valid `T`.
unsafe fn show_data<T: FileOps>(data: *const c_void, m: &mut SeqFile) -> Result {
    // SAFETY: Guaranteed by the safety requirements.
    unsafe { &*data.cast::<T>() }.show(m)
}

/// # Safety
///
/// `data` must point to a valid `T`.
unsafe fn write_data<T: FileOps>(data: *const c_void, buf: &[u8]) -> Result {
    // SAFETY: Guaranteed by the safety requirements.
    unsafe { &*data.cast::<T>() }.write(buf)
}

/// A debugfs file backed by a `T`, removed when dropped.
///
/// Reads produce what [`FileOps::show`] writes; writes go to [`FileOps::write`] when `T`
/// implements it and fail with `EINVAL` otherwise.
///
/// A file that a module leaked is removed, with a warning, when the module goes
/// ([`crate::module_going`]): its callbacks are the module's code.
///
/// # Invariants
///
/// `entry.dentry` is the value `debugfs_create_file()` returned for this object (a file, or an
/// error pointer), created with `FOPS` and a pointer to `*erased` as its private data;
/// `_erased.data` points to the `T` in `_data`. `entry` is released once: by `drop` or by
/// `watch`, whichever disarms the watch first (see [`Watch::disarm`]).
pub struct File<T: FileOps> {
    // Dropped (unregistered, after a purge that is running) before `entry` is freed.
    watch: Pin<KBox<Watch>>,
    entry: KBox<Entry>,
    // Only used through the dentry's private data.
    _erased: KBox<Erased>,
    // Kept alive for `_erased.data`.
    _data: Arc<T>,
}

/// What removing a [`File`] releases: its dentry and its reference to its directory.
struct Entry {
    dentry: *mut bindings::dentry,
    /// From `Arc::into_raw`: the directory is removed after its last file.
    parent: *const Dir,
}

impl Entry {
    /// Removes the file, then drops the directory's reference.
    ///
    /// # Safety
    ///
    /// Called once per entry.
    unsafe fn release(&self) {
        // SAFETY: The dentry is this entry's (or an error pointer), removed once (safety
        // requirements). `debugfs_remove()` waits for running callbacks and makes later ones
        // fail with `EIO`.
        unsafe { bindings::debugfs_remove(self.dentry) };
        // SAFETY: `parent` came from `Arc::into_raw` and is given back once.
        drop(unsafe { Arc::from_raw(self.parent) });
    }
}

/// The [`Purge`](crate::module_going::Purge) of a leaked [`File`]: `ctx` is its [`Entry`].
///
/// # Safety
///
/// `ctx` must be the entry of a leaked [`File`], not released yet.
unsafe fn release_leaked(ctx: *mut c_void) {
    // SAFETY: The file was leaked, so its entry is alive and `drop` never releases it.
    unsafe { (*ctx.cast::<Entry>()).release() };
}

// SAFETY: The dentry is only passed to debugfs functions, which may be called from any thread;
// `Erased` only points into `_data`, which is `Send + Sync`; the directory is `Send + Sync`.
unsafe impl<T: FileOps> Send for File<T> {}

// SAFETY: `File` has no methods that mutate it through a shared reference, and `T: Sync`.
unsafe impl<T: FileOps> Sync for File<T> {}

impl<T: FileOps> File<T> {
    /// Creates the file `name` with permissions `mode` in `parent`, backed by `data`.
    /// `mode` holds permission bits only (`0o7777`), or it fails with `EINVAL`.
    pub fn new(parent: &Arc<Dir>, name: &CStr, mode: u16, data: Arc<T>) -> Result<Self> {
        // debugfs BUG()s on a file type other than a regular file.
        if mode & !0o7777 != 0 {
            return Err(EINVAL);
        }
        let erased = KBox::new(
            Erased {
                data: ptr::from_ref::<T>(&data).cast(),
                show: show_data::<T>,
                write: if T::HAS_WRITE {
                    Some(write_data::<T>)
                } else {
                    None
                },
            },
            GFP_KERNEL,
        )?;
        let mut entry = KBox::new(
            Entry {
                dentry: ptr::null_mut(),
                parent: ptr::null(),
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `name` is a valid NUL-terminated string, `parent.0` is a directory dentry or
        // an error pointer (type invariant of `Dir`), and `FOPS` is static. The private data,
        // `*erased`, outlives the file: the entry is released before it is freed.
        entry.dentry = unsafe {
            bindings::debugfs_create_file(
                name.as_char_ptr(),
                mode,
                parent.0,
                ptr::from_ref::<Erased>(&erased).cast_mut().cast(),
                &FOPS.0,
            )
        };
        entry.parent = Arc::into_raw(parent.clone());
        let show: unsafe fn(*const c_void, &mut SeqFile) -> Result = show_data::<T>;
        let ctx = ptr::from_ref::<Entry>(&entry).cast_mut().cast();
        // SAFETY: `release_leaked(ctx)` releases the entry, which only `drop` releases
        // otherwise, before the watch is dropped (a field, after `drop`).
        let watch = unsafe { Watch::new(show as usize, "debugfs file", ctx, release_leaked) };
        let watch = match watch {
            Ok(watch) => watch,
            Err(e) => {
                // SAFETY: Not released yet, and not used any more.
                unsafe { entry.release() };
                return Err(e);
            }
        };
        // INVARIANT: `entry.dentry` was just created with `FOPS` and `*erased`, which points to
        // `*data`.
        Ok(Self {
            watch,
            entry,
            _erased: erased,
            _data: data,
        })
    }
}

impl<T: FileOps> Drop for File<T> {
    fn drop(&mut self) {
        // A module's file dropped while the module goes may have been purged already.
        if self.watch.disarm() {
            // SAFETY: Not released: the watch had not purged and will not (disarmed). Nothing
            // uses `_erased` or `_data` once the file is removed.
            unsafe { self.entry.release() };
        }
    }
}

/// `file_operations` shared by every [`File`].
///
/// It lives in the kernel image rather than in the module that creates a file: the debugfs
/// proxy reads it when a file is closed, which may be after that module was unloaded. The
/// callbacks that reach module code (`show` and `write`) only run while the file exists.
struct Fops(bindings::file_operations);

// SAFETY: `Fops` is never mutated, and its function pointers may be called from any thread.
unsafe impl Sync for Fops {}

static FOPS: Fops = Fops(bindings::file_operations {
    open: Some(open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    write: Some(write),
    release: Some(bindings::single_release),
    // SAFETY: All-zeroes is a valid `file_operations`: no owner and no other callbacks.
    ..unsafe { MaybeUninit::zeroed().assume_init() }
});

/// # Safety
///
/// Called by the VFS through [`FOPS`] only: `inode` is a debugfs file created by [`File::new`].
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> i32 {
    // SAFETY: `inode` and `file` are valid (VFS open contract); `i_private` is the `Erased` that
    // `File::new` registered, handed to `show` as the seq_file's private data.
    unsafe { bindings::single_open(file, Some(show), (*inode).i_private) }
}

/// # Safety
///
/// Called by the seq_file core for a file opened by [`open`].
unsafe extern "C" fn show(m: *mut bindings::seq_file, _v: *mut c_void) -> i32 {
    // SAFETY: `m` is valid and its private data is the `Erased` of a live `File` (see `open`; the
    // debugfs proxy only calls `read` while the file exists).
    let erased = unsafe { &*(*m).private.cast::<Erased>() };
    from_result(|| {
        // SAFETY: `m` is being filled by this `show` callback and used by nothing else meanwhile;
        // `erased.data` points to the file's `T`, as `erased.show` requires.
        unsafe { (erased.show)(erased.data, SeqFile::from_raw(m)) }?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS through [`FOPS`] only, for a file opened by [`open`].
unsafe extern "C" fn write(
    file: *mut bindings::file,
    buf: *const crate::ffi::c_char,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    from_result(|| {
        // SAFETY: `file` is valid and was opened by `open`, so its private data is the seq_file
        // whose private data is the `Erased` of a live `File` (the debugfs proxy only calls
        // `write` while the file exists).
        let m = unsafe { (*file).private_data }.cast::<bindings::seq_file>();
        // SAFETY: See above.
        let erased = unsafe { &*(*m).private.cast::<Erased>() };
        let write = erased.write.ok_or(EINVAL)?;
        if count > MAX_WRITE {
            return Err(EINVAL);
        }
        let mut data = KVec::with_capacity(count, GFP_KERNEL)?;
        UserSlice::new(buf as usize, count).read_all(&mut data, GFP_KERNEL)?;
        // SAFETY: `erased.data` points to the file's `T`, as `erased.write` requires.
        unsafe { write(erased.data, &data) }?;
        Ok(count as isize)
    })
}
