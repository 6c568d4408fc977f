// SPDX-License-Identifier: GPL-2.0

//! The sysfs files of the `memory` subsystem: static `struct device_attribute` tables of a
//! memory block driver, and the `show`/`store` callbacks that hand them to its [`Subsystem`].
//!
//! The attribute names and modes are the sysfs ABI of the subsystem
//! (`Documentation/ABI/testing/sysfs-devices-memory`), so they are fixed here.

use super::{BlockAttr, RootAttr, Subsystem};
use crate::{
    bindings, c_str, ffi::c_char, memory::block::MemoryBlock, str::CStr, sysfs::Buffer,
    types::Opaque,
};
use core::ptr;

/// A statically allocated sysfs device attribute (`struct device_attribute`).
#[repr(transparent)]
pub struct DeviceAttribute(Opaque<bindings::device_attribute>);

// SAFETY: The attribute is only read by sysfs after it is built.
unsafe impl Sync for DeviceAttribute {}

type ShowFn = unsafe extern "C" fn(
    *mut bindings::device,
    *mut bindings::device_attribute,
    *mut c_char,
) -> isize;
type StoreFn = unsafe extern "C" fn(
    *mut bindings::device,
    *mut bindings::device_attribute,
    *const c_char,
    usize,
) -> isize;

impl DeviceAttribute {
    const fn new(
        name: &'static CStr,
        mode: u16,
        show: Option<ShowFn>,
        store: Option<StoreFn>,
    ) -> Self {
        // SAFETY: All-zero is a valid `device_attribute` (no callbacks, no name).
        let mut attr: bindings::device_attribute = unsafe { core::mem::zeroed() };
        attr.attr.name = name.as_char_ptr();
        attr.attr.mode = mode;
        attr.show = show;
        attr.store = store;
        Self(Opaque::new(attr))
    }

    const fn as_attr_ptr(&self) -> *mut bindings::attribute {
        self.0.get().cast()
    }
}

/// A NULL-terminated list of attributes (`struct attribute *[]`) with room for 7 entries.
pub struct AttributeList([*mut bindings::attribute; 8]);

// SAFETY: The list is never changed after it is built and only points to static attributes.
unsafe impl Sync for AttributeList {}

impl AttributeList {
    /// Lists `attrs`.
    pub const fn new(attrs: &'static [DeviceAttribute]) -> Self {
        let mut list = [ptr::null_mut(); 8];
        let mut i = 0;
        while i < attrs.len() {
            list[i] = attrs[i].as_attr_ptr();
            i += 1;
        }
        if attrs.len() > 7 {
            panic!("too many attributes");
        }
        Self(list)
    }
}

/// An attribute group with a NULL-terminated list of groups pointing to it, as
/// `device::groups` and `subsys_system_register()` take.
pub struct AttributeGroups {
    group: Opaque<bindings::attribute_group>,
    list: [*const bindings::attribute_group; 2],
}

// SAFETY: Never changed after it is built; only points to static data.
unsafe impl Sync for AttributeGroups {}

impl AttributeGroups {
    /// A group of `attrs`, for use in a `static` named `this`.
    pub const fn new(attrs: &'static AttributeList, this: &'static AttributeGroups) -> Self {
        // SAFETY: All-zero is a valid, unnamed `attribute_group`.
        let mut group: bindings::attribute_group = unsafe { core::mem::zeroed() };
        group.attrs = attrs.0.as_ptr().cast_mut();
        Self {
            group: Opaque::new(group),
            list: [this.group.get().cast_const(), ptr::null()],
        }
    }

    pub(super) fn as_raw(&self) -> *mut *const bindings::attribute_group {
        self.list.as_ptr().cast_mut()
    }
}

/// Builds the block attributes of driver `T`, in the order of [`BlockAttr`].
pub const fn block_attributes<T: Subsystem>() -> [DeviceAttribute; 5] {
    [
        DeviceAttribute::new(c_str!("phys_index"), 0o444, Some(block_show::<T, 0>), None),
        DeviceAttribute::new(
            c_str!("state"),
            0o644,
            Some(block_show::<T, 1>),
            Some(block_store::<T, 1>),
        ),
        DeviceAttribute::new(c_str!("phys_device"), 0o444, Some(block_show::<T, 2>), None),
        DeviceAttribute::new(c_str!("removable"), 0o444, Some(block_show::<T, 3>), None),
        DeviceAttribute::new(c_str!("valid_zones"), 0o444, Some(block_show::<T, 4>), None),
    ]
}

/// The number of block attributes in this configuration.
pub const NR_BLOCK_ATTRS: usize = if cfg!(CONFIG_MEMORY_HOTREMOVE) { 5 } else { 4 };

const ROOT_PROBE: bool = cfg!(CONFIG_ARCH_MEMORY_PROBE);
const ROOT_MF: bool = cfg!(CONFIG_MEMORY_FAILURE);
const ROOT_CRASH: bool = cfg!(CONFIG_CRASH_HOTPLUG);

/// The number of root attributes in this configuration.
pub const NR_ROOT_ATTRS: usize =
    2 + ROOT_PROBE as usize + 2 * ROOT_MF as usize + ROOT_CRASH as usize;

/// Builds the root attributes of driver `T` present in this configuration, in C's order.
pub const fn root_attributes<T: Subsystem>() -> [DeviceAttribute; NR_ROOT_ATTRS] {
    // Only the initial value of the array's slots; never used as an attribute.
    #[allow(clippy::declare_interior_mutable_const)]
    const NONE: DeviceAttribute = DeviceAttribute::new(c_str!(""), 0, None, None);
    let mut a = [NONE; NR_ROOT_ATTRS];
    let mut i = 0;
    if ROOT_PROBE {
        a[i] = DeviceAttribute::new(c_str!("probe"), 0o200, None, Some(root_store::<T, 0>));
        i += 1;
    }
    if ROOT_MF {
        a[i] = DeviceAttribute::new(
            c_str!("soft_offline_page"),
            0o200,
            None,
            Some(root_store::<T, 1>),
        );
        a[i + 1] = DeviceAttribute::new(
            c_str!("hard_offline_page"),
            0o200,
            None,
            Some(root_store::<T, 2>),
        );
        i += 2;
    }
    a[i] = DeviceAttribute::new(
        c_str!("block_size_bytes"),
        0o444,
        Some(root_show::<T, 3>),
        None,
    );
    a[i + 1] = DeviceAttribute::new(
        c_str!("auto_online_blocks"),
        0o644,
        Some(root_show::<T, 4>),
        Some(root_store::<T, 4>),
    );
    i += 2;
    if ROOT_CRASH {
        a[i] = DeviceAttribute::new(
            c_str!("crash_hotplug"),
            0o444,
            Some(root_show::<T, 5>),
            None,
        );
    }
    a
}

/// # Safety
///
/// sysfs `show` callback of block attribute `A`: only sysfs calls it, for a registered memory block
/// device and a page-sized buffer.
unsafe extern "C" fn block_show<T: Subsystem, const A: u8>(
    dev: *mut bindings::device,
    _attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs calls this only for the registered memory block device `dev`, which it
    // keeps alive during the call.
    let mem = unsafe { MemoryBlock::from_dev(dev) };
    // SAFETY: sysfs passes a page-sized buffer.
    let mut out = unsafe { Buffer::new(buf) };
    match T::block_show(BlockAttr::from_u8(A), mem, &mut out) {
        Ok(()) => out.len() as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// sysfs `store` callback of block attribute `A`: only sysfs calls it, for a registered memory block
/// device and a NUL-terminated buffer.
unsafe extern "C" fn block_store<T: Subsystem, const A: u8>(
    dev: *mut bindings::device,
    _attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: As in `block_show`.
    let mem = unsafe { MemoryBlock::from_dev(dev) };
    // SAFETY: sysfs NUL-terminates the written data.
    let input = unsafe { CStr::from_char_ptr(buf) };
    match T::block_store(BlockAttr::from_u8(A), mem, input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// sysfs `show` callback of root attribute `A`: only sysfs calls it, with a page-sized buffer.
unsafe extern "C" fn root_show<T: Subsystem, const A: u8>(
    _dev: *mut bindings::device,
    _attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes a page-sized buffer.
    let mut out = unsafe { Buffer::new(buf) };
    match T::root_show(RootAttr::from_u8(A), &mut out) {
        Ok(()) => out.len() as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// sysfs `store` callback of root attribute `A`: only sysfs calls it, with a NUL-terminated buffer.
unsafe extern "C" fn root_store<T: Subsystem, const A: u8>(
    _dev: *mut bindings::device,
    _attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs NUL-terminates the written data.
    let input = unsafe { CStr::from_char_ptr(buf) };
    let ret = match RootAttr::from_u8(A) {
        // SAFETY: This is the store callback of `probe` (see `root_attributes`).
        RootAttr::Probe => T::probe(unsafe { super::ProbeWrite::new(input) }),
        attr => T::root_store(attr, input),
    };
    match ret {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}
