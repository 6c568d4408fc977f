// SPDX-License-Identifier: GPL-2.0

//! The `memory` subsystem: the bus of memory block devices and the driver behind it.
//!
//! A memory block driver implements [`Subsystem`] and instantiates it once with
//! [`memory_block_subsys!`](crate::memory_block_subsys), which emits the bus ([`Subsys`]), the
//! sysfs attribute tables ([`attrs`]) and every `extern "C"` function that
//! `include/linux/memory.h` declares ([`abi`] has the table of C functions and the Rust
//! functions that answer them: `memory_dev_init()`, `find_memory_block()`,
//! `walk_memory_blocks()`, the memory group and notifier functions, ...).

use super::{
    block::{Altmap, BlockState, GroupKind, LockedBlock, MemoryBlock, MemoryGroup},
    hotplug::DeviceHotplugLocked,
};
use crate::{
    bindings, c_str,
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
    str::CStr,
    types::{ARef, Opaque},
};
use core::ptr;

pub mod abi;
pub mod attrs;

pub use crate::sysfs::{kstrtoull, sysfs_streq, Buffer};
use attrs::AttributeGroups;

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

/// A write to the subsystem's `probe` file (`CONFIG_ARCH_MEMORY_PROBE`, mode 0200): the
/// administrator's word that a memory block of RAM, present and unused by anything, starts at
/// the physical address written, which the kernel cannot check.
///
/// # Invariants
///
/// `input` is the data of a write to `probe`: only its store callback makes a `ProbeWrite`.
pub struct ProbeWrite<'a> {
    input: &'a CStr,
}

impl<'a> ProbeWrite<'a> {
    /// # Safety
    ///
    /// `input` must be the data of a write to the `probe` file.
    pub(crate) unsafe fn new(input: &'a CStr) -> Self {
        // INVARIANT: Guaranteed by the safety requirements.
        Self { input }
    }

    /// Returns the physical address written (`kstrtoull(buf, 0, ...)`); fails with `EINVAL`
    /// (or `ERANGE`) if it is not a number, and with `EINVAL` if it is not aligned to a
    /// memory block.
    pub fn addr(&self) -> Result<u64> {
        let addr = crate::sysfs::kstrtoull(self.input, 0)?;
        if addr & (super::hotplug::memory_block_size_bytes() as u64 - 1) != 0 {
            return Err(EINVAL);
        }
        Ok(addr)
    }

    /// Adds the memory block at [`ProbeWrite::addr`] as System RAM of its node
    /// (`__add_memory(memory_add_physaddr_to_nid(addr), addr, memory_block_size_bytes(),
    /// MHP_NONE)`).
    pub fn add_memory(&self, lock: &DeviceHotplugLocked) -> Result {
        let addr = self.addr()?;
        let size = super::hotplug::memory_block_size_bytes() as u64;
        let nid = super::hotplug::memory_add_physaddr_to_nid(addr);
        // SAFETY: The administrator wrote that the block at `addr` is unused RAM (type
        // invariant): `probe` is the architecture's interface for saying so.
        unsafe { super::hotplug::add_memory(lock, nid, addr, size) }
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

    /// Called once from a late initcall of the driver's C glue, when debugfs and tracefs are
    /// up: creates what must wait for them. An error is reported by the initcall core only.
    fn late_init() -> Result {
        Ok(())
    }

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

    /// Stores into a root attribute other than `probe`. On success the whole write is
    /// consumed.
    fn root_store(attr: RootAttr, input: &CStr) -> Result;

    /// Stores into `probe` (`probe_store()`): adds the memory block the write names with
    /// [`ProbeWrite::add_memory`]. On success the whole write is consumed.
    fn probe(write: ProbeWrite<'_>) -> Result;

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
    ///
    /// # Safety
    ///
    /// `[start, start + size)` is memory that core mm just added (`add_memory_resource()`,
    /// after `arch_add_memory()`): its sections are present, its memory offline, and no block
    /// of it exists yet ([`Subsys::register_block`]'s requirements).
    unsafe fn create_blocks(
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

/// # Safety
///
/// Bus `online` callback: only the driver core calls it, for a memory block device whose device
/// lock it holds, from `device_online()`, whose callers hold `device_hotplug_lock`.
unsafe extern "C" fn bus_online<T: Subsystem>(dev: *mut bindings::device) -> c_int {
    // Every caller of `device_online()` on a memory block holds `device_hotplug_lock` (the
    // `online` and `state` stores, ACPI, `online_memory_block()` under `add_memory_resource()`).
    // SAFETY: The driver core calls this for a memory block with its device lock held, and
    // `device_hotplug_lock` is held (above).
    let mem = unsafe { LockedBlock::new(MemoryBlock::from_dev(dev)) };
    from_result(|| T::online(&mem).map(|()| 0))
}

/// # Safety
///
/// Bus `offline` callback: only the driver core calls it, for a memory block device whose device
/// lock it holds, from `device_offline()`, whose callers hold `device_hotplug_lock`.
unsafe extern "C" fn bus_offline<T: Subsystem>(dev: *mut bindings::device) -> c_int {
    // SAFETY: As in `bus_online` (`device_offline()`: the `online` and `state` stores, ACPI,
    // `offline_and_remove_memory()` hold `device_hotplug_lock`).
    let mem = unsafe { LockedBlock::new(MemoryBlock::from_dev(dev)) };
    from_result(|| T::offline(&mem).map(|()| 0))
}

/// # Safety
///
/// Device `release` callback: only the driver core calls it, once, when the last reference to a
/// memory block device is dropped. That may be in atomic context (a lookup's reference dropped
/// under `hugetlb_lock` while the block is removed): this only frees memory.
unsafe extern "C" fn release_block(dev: *mut bindings::device) {
    // SAFETY: The last reference to a memory block device is gone; the memory stays valid
    // until `free_after_grace_period` below.
    let block = unsafe { MemoryBlock::from_dev(dev) };
    // Core mm takes a memmap_on_memory block's altmap (and frees it) before removing the
    // block: one still set here has leaked.
    crate::warn_on!(block.has_altmap());
    // SAFETY: The last reference to the block is gone.
    if !unsafe { block.put_group() } {
        // Still on its group's list: leaked with the group rather than freed under the list.
        return;
    }
    // SAFETY: The block was allocated by `MemoryBlock::alloc` (in `Subsys::register_block`)
    // and its last reference is gone; lookups that found it before it left the block xarray
    // may still try to take a reference, which fails.
    unsafe { MemoryBlock::free_after_grace_period(ptr::NonNull::from(block)) };
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
    ///
    /// # Safety
    ///
    /// `block_groups` must list only attributes of [`attrs::block_attributes`]`::<T>()`, whose
    /// callbacks take the device for a memory block, and `root_groups` only attributes of
    /// [`attrs::root_attributes`]`::<T>()` (sysfs calls them for the bus's root device).
    /// [`memory_block_subsys!`](crate::memory_block_subsys) builds them so.
    pub const unsafe fn new<T: Subsystem>(
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
    /// The device's id (`memory<id>`) is the block id of `start_section_nr`.
    ///
    /// # Safety
    ///
    /// `start_section_nr` is the first section of a block whose present sections (at least
    /// one) are added to core mm (boot memory, or memory `add_memory_resource()` added), the
    /// block is not registered already, and `state` is the real state of its memory
    /// ([`BlockState::Online`] for boot memory, [`BlockState::Offline`] for hot-added memory):
    /// core mm and the sysfs attributes trust the block's sections and state.
    pub unsafe fn register_block(
        &'static self,
        lock: &DeviceHotplugLocked,
        start_section_nr: usize,
        state: BlockState,
        altmap: Option<Altmap>,
        group: Option<&MemoryGroup>,
    ) -> Result<RegisteredBlock> {
        let id = super::block::BlockGeometry::current().block_id(start_section_nr);
        let mem = MemoryBlock::alloc()?;
        // SAFETY: `mem` is a valid, zeroed, unshared allocation.
        let block = unsafe { mem.as_ref() };
        // SAFETY: The block is not registered yet.
        unsafe { block.init_fields(start_section_nr, state, altmap) };
        if !cfg!(CONFIG_NUMA) && state == BlockState::Online {
            let (start_pfn, nr_pages) = block.pfn_range();
            let zone = super::hotplug::Zone::single_zone_for_range(
                super::hotplug::NUMA_NO_NODE,
                start_pfn,
                nr_pages,
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
        let block = unsafe { ARef::from_raw(mem) };
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

impl RegisteredBlock {
    /// Removes the node links of the block (`unregister_memory_block_under_nodes()`), before
    /// its memory is removed. Only a registered block has them; its node was set by node
    /// registration.
    pub fn unregister_under_nodes(&self, lock: &DeviceHotplugLocked) {
        self.0.unregister_under_nodes(lock);
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
