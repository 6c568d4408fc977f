// SPDX-License-Identifier: GPL-2.0

//! Module parameters with their own operations, like C's `module_param_cb()`.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h).
//!
//! A parameter declared with [`module_param_cb!`](crate::module_param_cb) works like a C one:
//! built in, it is set from the kernel command line as `<module>.<name>=<value>` and shown in
//! `/sys/module/<module>/parameters/<name>`; in a loadable module it is set by `modprobe` (from
//! its arguments, `/etc/modprobe.d` or `<module>.<name>=` on the kernel command line) and shown
//! in the same place. `modinfo` shows its description.

use crate::{bindings, ffi::c_char, prelude::*, str::CStr, sysfs::Buffer, types::Opaque};

/// The operations of a module parameter. The value lives wherever the implementer keeps it
/// (usually an atomic), so a parameter is one type.
pub trait ParamOps: 'static {
    /// Whether the parameter may be given without a value (`name` alone on the command line,
    /// `KERNEL_PARAM_OPS_FL_NOARG`); `set` then gets `None`.
    const NOARG: bool = false;

    /// Parses and stores a new value. Called while parsing the command line or the module's
    /// arguments, and for writes to the sysfs file (serialised by `kernel_param_lock`).
    fn set(value: Option<&CStr>) -> Result;

    /// Writes the value, followed by a newline, for the sysfs file.
    fn get(buf: &mut Buffer) -> Result;
}

/// `struct kernel_param_ops` of `T`.
#[repr(transparent)]
pub struct KernelParamOps(Opaque<bindings::kernel_param_ops>);

// SAFETY: Read-only after it is built.
unsafe impl Sync for KernelParamOps {}

impl KernelParamOps {
    /// The operations that call `T`.
    pub const fn new<T: ParamOps>() -> Self {
        // SAFETY: All-zero is a valid `kernel_param_ops` (no callbacks, no flags).
        let mut ops: bindings::kernel_param_ops = unsafe { core::mem::zeroed() };
        ops.flags = if T::NOARG {
            bindings::KERNEL_PARAM_OPS_FL_NOARG
        } else {
            0
        };
        ops.set = Some(set_callback::<T>);
        ops.get = Some(get_callback::<T>);
        Self(Opaque::new(ops))
    }
}

/// `struct kernel_param`: one entry of a `__param` section.
#[repr(transparent)]
pub struct KernelParam(Opaque<bindings::kernel_param>);

// SAFETY: Read-only after it is built; the kernel reads it to parse and show the parameter.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// A parameter named `name` (prefixed by `<module>.` when built in) of `module` (null when
    /// built in) with `ops` and the sysfs mode `perm`.
    pub const fn new(
        name: &'static CStr,
        module: *mut bindings::module,
        ops: &'static KernelParamOps,
        perm: u16,
    ) -> Self {
        // SAFETY: All-zero is a valid `kernel_param`.
        let mut kp: bindings::kernel_param = unsafe { core::mem::zeroed() };
        kp.name = name.as_char_ptr();
        kp.mod_ = module;
        kp.ops = ops.0.get().cast_const();
        kp.perm = perm;
        kp.level = -1;
        Self(Opaque::new(kp))
    }
}

/// Converts `s` into a byte array of its length, for `.modinfo` strings.
pub const fn str_to_array<const N: usize>(s: &str) -> [u8; N] {
    let bytes = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// # Safety
///
/// `set` callback of a `kernel_param_ops`: only the parameter parser calls it, with a
/// NUL-terminated string or, for `NOARG` parameters, null.
unsafe extern "C" fn set_callback<T: ParamOps>(
    val: *const c_char,
    _kp: *const bindings::kernel_param,
) -> i32 {
    // SAFETY: `val` is null or a NUL-terminated string.
    let value = (!val.is_null()).then(|| unsafe { CStr::from_char_ptr(val) });
    match T::set(value) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `get` callback of a `kernel_param_ops`: only sysfs calls it, with a page-sized buffer.
unsafe extern "C" fn get_callback<T: ParamOps>(
    buffer: *mut c_char,
    _kp: *const bindings::kernel_param,
) -> i32 {
    // SAFETY: The buffer is a page (`param_attr_show`).
    let mut buf = unsafe { Buffer::new(buffer) };
    match T::get(&mut buf) {
        Ok(()) => buf.len() as i32,
        Err(e) => e.to_errno(),
    }
}

/// Declares a module parameter `$name` of module `$module` (which must be the `name:` of the
/// crate's `module!`) with operations `$ops` (a [`ParamOps`] type), the sysfs mode `$perm`
/// and the description `$desc` shown by `modinfo`; `type:`, if given, is the `parmtype`
/// `modinfo` shows, as C's `module_param(name, type, perm)` emits it (`module_param_cb()`
/// emits none).
///
/// ```ignore
/// kernel::module_param_cb!(module: "memory_hotplug", name: auto_movable_ratio,
///                          ops: Ratio, perm: 0o644, desc: "Maximum MOVABLE:KERNEL ratio",
///                          type: "uint");
/// ```
#[macro_export]
macro_rules! module_param_cb {
    (module: $module:literal, name: $name:ident, ops: $ops:ty, perm: $perm:expr,
     desc: $desc:expr, type: $type:literal $(,)?) => {
        // Before the description, as C's `module_param()` and `MODULE_PARM_DESC()` emit them.
        const _: () = {
            use $crate::module_param::str_to_array;

            #[cfg(MODULE)]
            const TYPE: &str = concat!("parmtype=", stringify!($name), ":", $type, "\0");
            #[cfg(not(MODULE))]
            const TYPE: &str =
                concat!($module, ".parmtype=", stringify!($name), ":", $type, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static MODINFO: [u8; TYPE.len()] = str_to_array(TYPE);
        };
        $crate::module_param_cb!(module: $module, name: $name, ops: $ops, perm: $perm,
                                 desc: $desc);
    };
    (module: $module:literal, name: $name:ident, ops: $ops:ty, perm: $perm:expr,
     desc: $desc:expr $(,)?) => {
        const _: () = {
            use $crate::module_param::{str_to_array, KernelParam, KernelParamOps};

            static OPS: KernelParamOps = KernelParamOps::new::<$ops>();

            #[cfg(MODULE)]
            extern "C" {
                static __this_module: $crate::types::Opaque<$crate::bindings::module>;
            }

            #[cfg(MODULE)]
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: KernelParam = KernelParam::new(
                $crate::c_str!(stringify!($name)),
                // SAFETY: `__this_module` is the module's own `struct module`.
                unsafe { __this_module.get() },
                &OPS,
                $perm,
            );

            #[cfg(not(MODULE))]
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: KernelParam = KernelParam::new(
                $crate::c_str!(concat!($module, ".", stringify!($name))),
                core::ptr::null_mut(),
                &OPS,
                $perm,
            );

            #[cfg(MODULE)]
            const DESC: &str = concat!("parm=", stringify!($name), ":", $desc, "\0");
            #[cfg(not(MODULE))]
            const DESC: &str = concat!($module, ".parm=", stringify!($name), ":", $desc, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static MODINFO: [u8; DESC.len()] = str_to_array(DESC);
        };
    };
}

const _: () = {
    // `module_param_cb!` relies on `struct kernel_param` needing no padding between entries of
    // the `__param` section.
    assert!(core::mem::size_of::<bindings::kernel_param>() % core::mem::align_of::<usize>() == 0);
};
