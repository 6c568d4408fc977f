// SPDX-License-Identifier: GPL-2.0

//! The `memory` subsystem: the bus of memory block devices, its sysfs files and the C ABI of
//! `include/linux/memory.h`.
//!
//! A memory block driver implements [`Subsystem`] and instantiates it once with
//! [`memory_block_subsys!`](crate::memory_block_subsys), which emits the `struct bus_type`, the
//! sysfs attribute tables and every `extern "C"` function that `include/linux/memory.h`
//! declares (`memory_dev_init()`, `find_memory_block()`, `walk_memory_blocks()`, the memory
//! group and notifier functions, ...). Each generated function converts the raw C arguments
//! into safe types here and calls the driver.
//!
//! The attribute names and modes are the sysfs ABI of the subsystem
//! (`Documentation/ABI/testing/sysfs-devices-memory`), so they are fixed here.

use super::{
    block::{Altmap, BlockState, GroupKind, LockedBlock, MemoryBlock, MemoryGroup},
    hotplug::{DeviceHotplugLocked, OnlineType},
};
use crate::{
    bindings, c_str,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_ulong, c_void},
    init::PinInit,
    prelude::*,
    str::CStr,
    types::{ARef, Opaque},
};

pub use crate::sysfs::{kstrtoull, sysfs_streq, Buffer};
use core::{
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

/// The attributes of a memory block directory (`memoryN/`), besides the driver core's
/// `online`, `uevent`, `subsystem` and `power/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BlockAttr {
    /// `phys_index` (0444).
    PhysIndex,
    /// `state` (0644).
    State,
    /// `phys_device` (0444).
    PhysDevice,
    /// `removable` (0444).
    Removable,
    /// `valid_zones` (0444, only with `CONFIG_MEMORY_HOTREMOVE`).
    ValidZones,
}

impl BlockAttr {
    const fn from_u8(v: u8) -> Self {
        match v {
            0 => BlockAttr::PhysIndex,
            1 => BlockAttr::State,
            2 => BlockAttr::PhysDevice,
            3 => BlockAttr::Removable,
            _ => BlockAttr::ValidZones,
        }
    }
}

/// The attributes of the subsystem root (`/sys/devices/system/memory/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RootAttr {
    /// `probe` (0200, only with `CONFIG_ARCH_MEMORY_PROBE`).
    Probe,
    /// `soft_offline_page` (0200, only with `CONFIG_MEMORY_FAILURE`).
    SoftOfflinePage,
    /// `hard_offline_page` (0200, only with `CONFIG_MEMORY_FAILURE`).
    HardOfflinePage,
    /// `block_size_bytes` (0444).
    BlockSizeBytes,
    /// `auto_online_blocks` (0644).
    AutoOnlineBlocks,
    /// `crash_hotplug` (0444, only with `CONFIG_CRASH_HOTPLUG`).
    CrashHotplug,
}

impl RootAttr {
    const fn from_u8(v: u8) -> Self {
        match v {
            0 => RootAttr::Probe,
            1 => RootAttr::SoftOfflinePage,
            2 => RootAttr::HardOfflinePage,
            3 => RootAttr::BlockSizeBytes,
            4 => RootAttr::AutoOnlineBlocks,
            _ => RootAttr::CrashHotplug,
        }
    }
}

/// A memory block device driver: the implementation behind the `memory` subsystem.
///
/// All callbacks run in process context and may sleep. Lock requirements of the C API are
/// passed as proofs ([`DeviceHotplugLocked`], [`LockedBlock`]).
pub trait Subsystem: 'static {
    /// `memory_dev_init()`: registers the subsystem (with [`Subsys::register`]) and the boot
    /// memory blocks. Called once, from `driver_init()`, before any initcall.
    fn dev_init(subsys: &'static Subsys);

    /// The bus `online` callback, called by `device_online()` with the device lock held.
    fn online(mem: &LockedBlock<'_>) -> Result;

    /// The bus `offline` callback, called by `device_offline()` with the device lock held.
    fn offline(mem: &LockedBlock<'_>) -> Result;

    /// Shows a block attribute.
    fn block_show(attr: BlockAttr, mem: &MemoryBlock, buf: &mut Buffer) -> Result;

    /// Stores into a block attribute (`state`). On success the whole write is consumed.
    fn block_store(attr: BlockAttr, mem: &MemoryBlock, input: &CStr) -> Result;

    /// Shows a root attribute.
    fn root_show(attr: RootAttr, buf: &mut Buffer) -> Result;

    /// Stores into a root attribute. On success the whole write is consumed.
    fn root_store(attr: RootAttr, input: &CStr) -> Result;

    /// `mhp_online_type_from_str()`.
    fn online_type_from_str(input: &CStr) -> Result<OnlineType>;

    /// `find_memory_block()`: the block containing section `section_nr`, with a reference.
    fn find_memory_block(section_nr: usize) -> Option<ARef<MemoryBlock>>;

    /// `walk_memory_blocks()`: calls `func` for each present block intersecting
    /// `[start, start + size)` in ascending order, stopping at the first non-zero return.
    fn walk_memory_blocks(
        start: usize,
        size: usize,
        func: &mut dyn FnMut(&MemoryBlock) -> i32,
    ) -> i32;

    /// `for_each_memory_block()`: calls `func` for each block until it returns non-zero.
    fn for_each_memory_block(func: &mut dyn FnMut(&MemoryBlock) -> i32) -> i32;

    /// `create_memory_block_devices()`: creates offline blocks for `[start, start + size)`.
    fn create_blocks(
        lock: &DeviceHotplugLocked,
        start: usize,
        size: usize,
        altmap: Option<Altmap>,
        group: Option<&MemoryGroup>,
    ) -> Result;

    /// `remove_memory_block_devices()`: removes the blocks of `[start, start + size)`.
    fn remove_blocks(lock: &DeviceHotplugLocked, start: usize, size: usize);

    /// `memory_group_register_static()` / `memory_group_register_dynamic()`: returns the id.
    fn group_register(nid: i32, kind: GroupKind) -> Result<i32>;

    /// `memory_group_unregister()`.
    fn group_unregister(mgid: i32) -> Result;

    /// Calls `f` with the group `mgid`, if it exists (`memory_group_find_by_id()`).
    fn with_group<R>(mgid: i32, f: impl FnOnce(Option<&MemoryGroup>) -> R) -> R;

    /// `walk_dynamic_memory_groups()`.
    fn walk_dynamic_groups(
        nid: i32,
        excluded: Option<&MemoryGroup>,
        func: &mut dyn FnMut(&MemoryGroup) -> i32,
    ) -> i32;

    /// `memblk_nr_poison_inc()` (`nr` = 1) and `memblk_nr_poison_sub()` (`nr` < 0).
    fn poison_add(pfn: usize, nr: isize);
}

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

    fn as_raw(&self) -> *mut *const bindings::attribute_group {
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
    match T::root_store(RootAttr::from_u8(A), input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Bus `online` callback: only the driver core calls it, for a memory block device whose device
/// lock it holds.
unsafe extern "C" fn bus_online<T: Subsystem>(dev: *mut bindings::device) -> c_int {
    // SAFETY: The driver core calls this for a device of the memory bus, i.e. a memory block,
    // with its device lock held (`device_online()`).
    let mem = unsafe { LockedBlock::new(MemoryBlock::from_dev(dev)) };
    from_result(|| T::online(&mem).map(|()| 0))
}

/// # Safety
///
/// Bus `offline` callback: only the driver core calls it, for a memory block device whose device
/// lock it holds.
unsafe extern "C" fn bus_offline<T: Subsystem>(dev: *mut bindings::device) -> c_int {
    // SAFETY: As in `bus_online` (`device_offline()`).
    let mem = unsafe { LockedBlock::new(MemoryBlock::from_dev(dev)) };
    from_result(|| T::offline(&mem).map(|()| 0))
}

/// # Safety
///
/// Device `release` callback: only the driver core calls it, once, when the last reference to a
/// memory block device is dropped. That may be in atomic context (a lookup's reference dropped
/// under `hugetlb_lock` while the block is removed): this only frees memory.
unsafe extern "C" fn release_block(dev: *mut bindings::device) {
    // SAFETY: The last reference to a memory block device is gone; the block was allocated
    // by `MemoryBlock::alloc` as a `KBox` and leaked in `Subsys::register_block`.
    let block = unsafe { KBox::from_raw(ptr::from_ref(MemoryBlock::from_dev(dev)).cast_mut()) };
    // Core mm takes a memmap_on_memory block's altmap (and frees it) before removing the
    // block: one still set here has leaked.
    crate::warn_on!(block.has_altmap());
    // SAFETY: The last reference to the block is gone.
    if !unsafe { block.put_group() } {
        // Still on its group's list: leaked with the group rather than freed under the list.
        let _ = KBox::into_raw(block);
        return;
    }
    drop(block);
}

/// The `memory` bus (`struct bus_type`) and its attribute tables.
///
/// # Invariants
///
/// `block_groups` and `root_groups` point to static attribute groups.
pub struct Subsys {
    bus: Opaque<bindings::bus_type>,
    block_groups: &'static AttributeGroups,
    root_groups: &'static AttributeGroups,
}

// SAFETY: The bus type is only read after it is built; the driver core serialises its own
// state.
unsafe impl Sync for Subsys {}

impl Subsys {
    /// The bus of driver `T` with the given attribute groups.
    pub const fn new<T: Subsystem>(
        block_groups: &'static AttributeGroups,
        root_groups: &'static AttributeGroups,
    ) -> Self {
        // SAFETY: All-zero is a valid `bus_type` (no callbacks).
        let mut bus: bindings::bus_type = unsafe { core::mem::zeroed() };
        bus.name = c_str!("memory").as_char_ptr();
        bus.dev_name = c_str!("memory").as_char_ptr();
        bus.online = Some(bus_online::<T>);
        bus.offline = Some(bus_offline::<T>);
        Self {
            bus: Opaque::new(bus),
            block_groups,
            root_groups,
        }
    }

    /// Registers the bus and its root device `/sys/devices/system/memory`
    /// (`subsys_system_register()`).
    pub fn register(&'static self) -> Result {
        // SAFETY: The bus type and the groups are static.
        to_result(unsafe {
            bindings::subsys_system_register(self.bus.get(), self.root_groups.as_raw())
        })
    }

    /// Creates and registers the memory block device `memory<id>` for the block that starts at
    /// section `start_section_nr`, sending the `add` uevent.
    ///
    /// The block joins `group`; boot memory without NUMA gets its zone (no node registration
    /// fills it in). On success the
    /// returned value is the device's registration reference: hand it back to
    /// [`Subsys::unregister_block`] (it cannot be cloned, so a block is unregistered once).
    pub fn register_block(
        &'static self,
        lock: &DeviceHotplugLocked,
        id: usize,
        start_section_nr: usize,
        state: BlockState,
        altmap: Option<Altmap>,
        group: Option<&MemoryGroup>,
    ) -> Result<RegisteredBlock> {
        let mem = KBox::into_raw(MemoryBlock::alloc()?);
        // SAFETY: `mem` is a valid, zeroed, unshared allocation.
        let block = unsafe { &*mem };
        // SAFETY: The block is not registered yet.
        unsafe { block.init_fields(start_section_nr, state, altmap) };
        if !cfg!(CONFIG_NUMA) && state == BlockState::Online {
            let pfns = block.pfns_unlocked();
            let zone = super::hotplug::Zone::single_zone_for_range(
                super::hotplug::NUMA_NO_NODE,
                pfns.start_pfn,
                pfns.nr_pages,
            );
            block.set_zone(lock, zone);
        }
        if let Some(group) = group {
            // SAFETY: The block is not registered yet.
            unsafe { block.join_group(lock, group) };
        }
        let dev = block.raw_dev();
        // SAFETY: `dev` is zeroed and unshared: initialise it as a device of this bus. After
        // `device_initialize()` the memory is owned by the reference count and freed by
        // `release_block`.
        let ret = unsafe {
            bindings::device_initialize(dev);
            (*dev).bus = self.bus.get();
            (*dev).id = id as u32;
            (*dev).release = Some(release_block);
            (*dev).groups = self.block_groups.as_raw();
            (*dev).set_offline(matches!(state, BlockState::Offline));
            bindings::device_add(dev)
        };
        if let Err(e) = to_result(ret) {
            block.leave_group(lock);
            block.forget_altmap(lock);
            // SAFETY: Drops the initial reference; `release_block` frees the block.
            unsafe { bindings::put_device(dev) };
            return Err(e);
        }
        // SAFETY: The initial reference of `device_initialize()` is transferred to the `ARef`.
        let block = unsafe { ARef::from_raw(ptr::NonNull::new_unchecked(mem)) };
        // INVARIANT: The device was just added with this reference.
        Ok(RegisteredBlock(core::mem::ManuallyDrop::new(block)))
    }

    /// Undoes [`Subsys::register_block`] for a block that core mm has not seen yet (its
    /// creation fails, e.g. it could not be made visible to lookups): as
    /// [`Subsys::unregister_block`], but the block's altmap stays with core mm, which frees
    /// it.
    pub fn unregister_new_block(&self, lock: &DeviceHotplugLocked, block: RegisteredBlock) {
        block.forget_altmap(lock);
        self.unregister_block(lock, block);
    }

    /// Unregisters a block registered by [`Subsys::register_block`] (`device_unregister()`),
    /// sending the `remove` uevent, after it leaves its group.
    pub fn unregister_block(&self, lock: &DeviceHotplugLocked, block: RegisteredBlock) {
        block.leave_group(lock);
        let dev = block.raw_dev();
        core::mem::forget(block);
        // SAFETY: `block` was the registration reference (type invariant), which
        // `device_unregister()` drops.
        unsafe { bindings::device_unregister(dev) };
    }
}

/// The registration reference of a memory block device, from [`Subsys::register_block`]:
/// given back to [`Subsys::unregister_block`] exactly once. Dropping it otherwise is a bug: it
/// warns and leaves the device registered.
///
/// # Invariants
///
/// The device was added with this reference and is not unregistered yet.
#[must_use = "a registered block must be given back to `Subsys::unregister_block`"]
pub struct RegisteredBlock(core::mem::ManuallyDrop<ARef<MemoryBlock>>);

impl Drop for RegisteredBlock {
    fn drop(&mut self) {
        // The reference is leaked: the device stays registered and its memory valid.
        crate::warn_on!(true);
    }
}

impl core::ops::Deref for RegisteredBlock {
    type Target = MemoryBlock;

    fn deref(&self) -> &MemoryBlock {
        &self.0
    }
}

// SAFETY: The registration reference is one reference of the device; `ARef` gives it up and
// takes it back.
unsafe impl crate::xarray::OwnedRef for RegisteredBlock {
    type Target = MemoryBlock;

    fn into_raw(self) -> ptr::NonNull<MemoryBlock> {
        let me = core::mem::ManuallyDrop::new(self);
        ptr::NonNull::from(&**me.0)
    }

    unsafe fn from_raw(ptr: ptr::NonNull<MemoryBlock>) -> Self {
        // SAFETY: `ptr` is the registration reference given up by `into_raw` (safety
        // requirements), so the invariant holds again.
        RegisteredBlock(core::mem::ManuallyDrop::new(unsafe { ARef::from_raw(ptr) }))
    }
}

/// A value created once at run time and never freed, for driver state that is needed before
/// initcalls run (so it cannot use a module's `init`).
pub struct LateInit<T> {
    ptr: AtomicPtr<T>,
}

// SAFETY: Only shared references to `T` are handed out.
unsafe impl<T: Sync + Send> Sync for LateInit<T> {}

impl<T> LateInit<T> {
    /// An uninitialised value.
    pub const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Initialises the value; fails with `EBUSY` if it already was.
    pub fn init<E>(&self, init: impl PinInit<T, E>) -> Result<&T>
    where
        Error: From<E>,
    {
        let value = KBox::pin_init(init, GFP_KERNEL)?;
        // SAFETY: The value is never moved out of the box nor freed (it is leaked here).
        let raw = KBox::into_raw(unsafe { core::pin::Pin::into_inner_unchecked(value) });
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: `raw` is valid for ever.
            Ok(_) => Ok(unsafe { &*raw }),
            Err(_) => {
                // SAFETY: `raw` was not published.
                drop(unsafe { KBox::from_raw(raw) });
                Err(EBUSY)
            }
        }
    }

    /// Returns the value, if initialised.
    pub fn get(&self) -> Option<&T> {
        // SAFETY: A non-null pointer was published by `init` and is never freed.
        unsafe { self.ptr.load(Ordering::Acquire).as_ref() }
    }
}

impl<T> Default for LateInit<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The conversions behind the functions of [`memory_block_subsys!`](crate::memory_block_subsys).
///
/// # Safety
///
/// Each function has the contract of the C function of the same name in
/// `include/linux/memory.h`; the generated `extern "C"` functions are called only by C code
/// that honours it.
#[doc(hidden)]
#[allow(clippy::missing_safety_doc)]
pub mod abi {
    use super::*;

    pub unsafe fn memory_dev_init<T: Subsystem>(subsys: &'static Subsys) {
        T::dev_init(subsys)
    }

    pub unsafe fn mhp_online_type_from_str<T: Subsystem>(s: *const c_char) -> c_int {
        // SAFETY: `s` is a NUL-terminated string (C contract).
        let s = unsafe { CStr::from_char_ptr(s) };
        match T::online_type_from_str(s) {
            Ok(t) => t.as_raw() as c_int,
            Err(e) => e.to_errno(),
        }
    }

    pub unsafe fn find_memory_block<T: Subsystem>(
        section_nr: c_ulong,
    ) -> *mut bindings::memory_block {
        T::find_memory_block(section_nr).map_or(ptr::null_mut(), super::super::block::into_raw)
    }

    pub unsafe fn walk_memory_blocks<T: Subsystem>(
        start: c_ulong,
        size: c_ulong,
        arg: *mut c_void,
        func: bindings::walk_memory_blocks_func_t,
    ) -> c_int {
        let Some(func) = func else { return 0 };
        // SAFETY: `func` accepts any memory block and `arg` (C contract).
        T::walk_memory_blocks(start, size, &mut |mem| unsafe { func(mem.as_raw(), arg) })
    }

    pub unsafe fn for_each_memory_block<T: Subsystem>(
        arg: *mut c_void,
        func: bindings::walk_memory_blocks_func_t,
    ) -> c_int {
        let Some(func) = func else { return 0 };
        // SAFETY: `func` accepts any memory block and `arg` (C contract).
        T::for_each_memory_block(&mut |mem| unsafe { func(mem.as_raw(), arg) })
    }

    pub unsafe fn memory_block_add_nid<T: Subsystem>(
        mem: *mut bindings::memory_block,
        nid: c_int,
        context: bindings::meminit_context,
    ) {
        // SAFETY: Callers (node registration) hold `device_hotplug_lock` or run at early boot
        // and pass a registered block they hold a reference to.
        let (lock, mem) = unsafe { (DeviceHotplugLocked::assume(), MemoryBlock::from_raw(mem)) };
        mem.add_nid(
            lock,
            nid,
            context == bindings::meminit_context_MEMINIT_EARLY,
        )
    }

    pub unsafe fn create_memory_block_devices<T: Subsystem>(
        start: c_ulong,
        size: c_ulong,
        altmap: *mut bindings::vmem_altmap,
        group: *mut bindings::memory_group,
    ) -> c_int {
        // SAFETY: The caller (`add_memory_resource()`) holds `device_hotplug_lock`; the altmap
        // outlives the blocks and the group is registered (C contract).
        let (lock, altmap, group) = unsafe {
            (
                DeviceHotplugLocked::assume(),
                Altmap::from_raw(altmap),
                MemoryGroup::from_raw(group),
            )
        };
        from_result(|| T::create_blocks(lock, start, size, altmap, group).map(|()| 0))
    }

    pub unsafe fn remove_memory_block_devices<T: Subsystem>(start: c_ulong, size: c_ulong) {
        // SAFETY: The caller (`try_remove_memory()`) holds `device_hotplug_lock`.
        T::remove_blocks(unsafe { DeviceHotplugLocked::assume() }, start, size)
    }

    pub unsafe fn memory_group_register<T: Subsystem>(nid: c_int, kind: GroupKind) -> c_int {
        match T::group_register(nid, kind) {
            Ok(id) => id,
            Err(e) => e.to_errno(),
        }
    }

    pub unsafe fn memory_group_unregister<T: Subsystem>(mgid: c_int) -> c_int {
        from_result(|| T::group_unregister(mgid).map(|()| 0))
    }

    pub unsafe fn memory_group_find_by_id<T: Subsystem>(
        mgid: c_int,
    ) -> *mut bindings::memory_group {
        T::with_group(mgid, |g| g.map_or(ptr::null_mut(), MemoryGroup::as_raw))
    }

    pub unsafe fn walk_dynamic_memory_groups<T: Subsystem>(
        nid: c_int,
        func: bindings::walk_memory_groups_func_t,
        excluded: *mut bindings::memory_group,
        arg: *mut c_void,
    ) -> c_int {
        let Some(func) = func else { return 0 };
        // SAFETY: `excluded` is null or a registered group (C contract).
        let excluded = unsafe { MemoryGroup::from_raw(excluded) };
        // SAFETY: `func` accepts any group and `arg` (C contract).
        T::walk_dynamic_groups(nid, excluded, &mut |g| unsafe { func(g.as_raw(), arg) })
    }

    pub unsafe fn memblk_nr_poison_add<T: Subsystem>(pfn: c_ulong, nr: isize) {
        T::poison_add(pfn, nr)
    }
}

/// Instantiates the `memory` subsystem with driver `$t` (a type implementing [`Subsystem`]):
/// the bus, the attribute tables and the `extern "C"` functions of `include/linux/memory.h`,
/// whose signatures are checked against the C declarations.
///
/// Only one memory block driver can be built into a kernel; the Kconfig choice
/// `CONFIG_MEMORY_HOTPLUG_RUST` replaces `drivers/base/memory.c` with it.
#[macro_export]
macro_rules! memory_block_subsys {
    ($t:ty) => {
        const _: () = {
            use $crate::bindings as __b;
            use $crate::ffi::{c_char, c_int, c_long, c_ulong, c_void};
            use $crate::memory::subsys::{self as __s, abi as __abi};

            static BLOCK_ATTRS: [__s::DeviceAttribute; 5] = __s::block_attributes::<$t>();
            static BLOCK_LIST: __s::AttributeList =
                __s::AttributeList::new(BLOCK_ATTRS.split_at(__s::NR_BLOCK_ATTRS).0);
            static BLOCK_GROUPS: __s::AttributeGroups =
                __s::AttributeGroups::new(&BLOCK_LIST, &BLOCK_GROUPS);
            static ROOT_ATTRS: [__s::DeviceAttribute; __s::NR_ROOT_ATTRS] =
                __s::root_attributes::<$t>();
            static ROOT_LIST: __s::AttributeList = __s::AttributeList::new(&ROOT_ATTRS);
            static ROOT_GROUPS: __s::AttributeGroups =
                __s::AttributeGroups::new(&ROOT_LIST, &ROOT_GROUPS);
            static SUBSYS: __s::Subsys = __s::Subsys::new::<$t>(&BLOCK_GROUPS, &ROOT_GROUPS);

            // Each `const _` below checks that a function has the type of its C declaration.

            #[no_mangle]
            unsafe extern "C" fn memory_dev_init() {
                // SAFETY: Called once by `driver_init()`.
                unsafe { __abi::memory_dev_init::<$t>(&SUBSYS) }
            }
            const _: [unsafe extern "C" fn(); 2] = [memory_dev_init, __b::memory_dev_init];

            #[no_mangle]
            unsafe extern "C" fn mhp_online_type_from_str(s: *const c_char) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::mhp_online_type_from_str::<$t>(s) }
            }
            const _: [unsafe extern "C" fn(*const c_char) -> c_int; 2] =
                [mhp_online_type_from_str, __b::mhp_online_type_from_str];

            #[no_mangle]
            unsafe extern "C" fn register_memory_notifier(nb: *mut __b::notifier_block) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { $crate::memory::notifier::chain::register(nb) }
            }
            const _: [unsafe extern "C" fn(*mut __b::notifier_block) -> c_int; 2] =
                [register_memory_notifier, __b::register_memory_notifier];

            #[no_mangle]
            unsafe extern "C" fn unregister_memory_notifier(nb: *mut __b::notifier_block) {
                // SAFETY: C contract of the function.
                unsafe { $crate::memory::notifier::chain::unregister(nb) }
            }
            const _: [unsafe extern "C" fn(*mut __b::notifier_block); 2] =
                [unregister_memory_notifier, __b::unregister_memory_notifier];

            #[no_mangle]
            unsafe extern "C" fn memory_notify(val: c_ulong, v: *mut c_void) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { $crate::memory::notifier::chain::call(val, v) }
            }
            const _: [unsafe extern "C" fn(c_ulong, *mut c_void) -> c_int; 2] =
                [memory_notify, __b::memory_notify];

            #[no_mangle]
            unsafe extern "C" fn find_memory_block(nr: c_ulong) -> *mut __b::memory_block {
                // SAFETY: C contract of the function.
                unsafe { __abi::find_memory_block::<$t>(nr) }
            }
            const _: [unsafe extern "C" fn(c_ulong) -> *mut __b::memory_block; 2] =
                [find_memory_block, __b::find_memory_block];

            #[no_mangle]
            unsafe extern "C" fn walk_memory_blocks(
                start: c_ulong,
                size: c_ulong,
                arg: *mut c_void,
                func: __b::walk_memory_blocks_func_t,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::walk_memory_blocks::<$t>(start, size, arg, func) }
            }
            const _: [unsafe extern "C" fn(
                c_ulong,
                c_ulong,
                *mut c_void,
                __b::walk_memory_blocks_func_t,
            ) -> c_int; 2] = [walk_memory_blocks, __b::walk_memory_blocks];

            #[no_mangle]
            unsafe extern "C" fn for_each_memory_block(
                arg: *mut c_void,
                func: __b::walk_memory_blocks_func_t,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::for_each_memory_block::<$t>(arg, func) }
            }
            const _: [unsafe extern "C" fn(*mut c_void, __b::walk_memory_blocks_func_t) -> c_int;
                2] = [for_each_memory_block, __b::for_each_memory_block];

            #[cfg(CONFIG_NUMA)]
            #[no_mangle]
            unsafe extern "C" fn memory_block_add_nid(
                mem: *mut __b::memory_block,
                nid: c_int,
                context: __b::meminit_context,
            ) {
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_block_add_nid::<$t>(mem, nid, context) }
            }
            #[cfg(CONFIG_NUMA)]
            const _: [unsafe extern "C" fn(*mut __b::memory_block, c_int, __b::meminit_context);
                2] = [memory_block_add_nid, __b::memory_block_add_nid];

            #[no_mangle]
            unsafe extern "C" fn create_memory_block_devices(
                start: c_ulong,
                size: c_ulong,
                altmap: *mut __b::vmem_altmap,
                group: *mut __b::memory_group,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::create_memory_block_devices::<$t>(start, size, altmap, group) }
            }
            const _: [unsafe extern "C" fn(
                c_ulong,
                c_ulong,
                *mut __b::vmem_altmap,
                *mut __b::memory_group,
            ) -> c_int; 2] = [
                create_memory_block_devices,
                __b::create_memory_block_devices,
            ];

            #[no_mangle]
            unsafe extern "C" fn remove_memory_block_devices(start: c_ulong, size: c_ulong) {
                // SAFETY: C contract of the function.
                unsafe { __abi::remove_memory_block_devices::<$t>(start, size) }
            }
            const _: [unsafe extern "C" fn(c_ulong, c_ulong); 2] = [
                remove_memory_block_devices,
                __b::remove_memory_block_devices,
            ];

            #[no_mangle]
            unsafe extern "C" fn memory_group_register_static(
                nid: c_int,
                max_pages: c_ulong,
            ) -> c_int {
                let kind = $crate::memory::block::GroupKind::Static { max_pages };
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_register::<$t>(nid, kind) }
            }
            const _: [unsafe extern "C" fn(c_int, c_ulong) -> c_int; 2] = [
                memory_group_register_static,
                __b::memory_group_register_static,
            ];

            #[no_mangle]
            unsafe extern "C" fn memory_group_register_dynamic(
                nid: c_int,
                unit_pages: c_ulong,
            ) -> c_int {
                let kind = $crate::memory::block::GroupKind::Dynamic { unit_pages };
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_register::<$t>(nid, kind) }
            }
            const _: [unsafe extern "C" fn(c_int, c_ulong) -> c_int; 2] = [
                memory_group_register_dynamic,
                __b::memory_group_register_dynamic,
            ];

            #[no_mangle]
            unsafe extern "C" fn memory_group_unregister(mgid: c_int) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_unregister::<$t>(mgid) }
            }
            const _: [unsafe extern "C" fn(c_int) -> c_int; 2] =
                [memory_group_unregister, __b::memory_group_unregister];

            #[no_mangle]
            unsafe extern "C" fn memory_group_find_by_id(mgid: c_int) -> *mut __b::memory_group {
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_find_by_id::<$t>(mgid) }
            }
            const _: [unsafe extern "C" fn(c_int) -> *mut __b::memory_group; 2] =
                [memory_group_find_by_id, __b::memory_group_find_by_id];

            #[no_mangle]
            unsafe extern "C" fn walk_dynamic_memory_groups(
                nid: c_int,
                func: __b::walk_memory_groups_func_t,
                excluded: *mut __b::memory_group,
                arg: *mut c_void,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::walk_dynamic_memory_groups::<$t>(nid, func, excluded, arg) }
            }
            const _: [unsafe extern "C" fn(
                c_int,
                __b::walk_memory_groups_func_t,
                *mut __b::memory_group,
                *mut c_void,
            ) -> c_int; 2] = [walk_dynamic_memory_groups, __b::walk_dynamic_memory_groups];

            #[cfg(CONFIG_MEMORY_FAILURE)]
            #[no_mangle]
            unsafe extern "C" fn memblk_nr_poison_inc(pfn: c_ulong) {
                // SAFETY: C contract of the function.
                unsafe { __abi::memblk_nr_poison_add::<$t>(pfn, 1) }
            }
            #[cfg(CONFIG_MEMORY_FAILURE)]
            const _: [unsafe extern "C" fn(c_ulong); 2] =
                [memblk_nr_poison_inc, __b::memblk_nr_poison_inc];

            #[cfg(CONFIG_MEMORY_FAILURE)]
            #[no_mangle]
            unsafe extern "C" fn memblk_nr_poison_sub(pfn: c_ulong, i: c_long) {
                // SAFETY: C contract of the function.
                unsafe { __abi::memblk_nr_poison_add::<$t>(pfn, -(i as isize)) }
            }
            #[cfg(CONFIG_MEMORY_FAILURE)]
            const _: [unsafe extern "C" fn(c_ulong, c_long); 2] =
                [memblk_nr_poison_sub, __b::memblk_nr_poison_sub];
        };
    };
}
