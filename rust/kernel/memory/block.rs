// SPDX-License-Identifier: GPL-2.0

//! Memory blocks and memory groups: `struct memory_block` and `struct memory_group`.
//!
//! C header: [`include/linux/memory.h`](srctree/include/linux/memory.h).
//!
//! Both structs keep their C layout because core mm, `drivers/base/node.c`, ACPI and ppc read
//! their fields directly. Rust allocates and frees them: a [`MemoryBlock`] is a reference
//! counted device on the `memory` bus (see [`super::subsys`]); a [`MemoryGroup`] is owned by an
//! `Arc<MemoryGroup>`.

use super::hotplug::{section, DeviceHotplugLocked, OnlineType, Zone};
use crate::{
    alloc::{flags, KBox},
    bindings,
    init::PinInit,
    prelude::*,
    sync::{Arc, ArcBorrow},
    types::{ARef, AlwaysRefCounted, Opaque},
    xarray::RcuRefCounted,
};
use core::{
    ptr,
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
};

/// The state of a memory block as shown in its `state` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockState {
    /// `MEM_ONLINE`.
    Online,
    /// `MEM_GOING_OFFLINE`: an offline is in progress.
    GoingOffline,
    /// `MEM_OFFLINE`.
    Offline,
    /// Any other value, which a memory block never has.
    Other(u32),
}

impl BlockState {
    fn from_raw(raw: u32) -> Self {
        match raw {
            bindings::memory_block_state_MEM_ONLINE => BlockState::Online,
            bindings::memory_block_state_MEM_GOING_OFFLINE => BlockState::GoingOffline,
            bindings::memory_block_state_MEM_OFFLINE => BlockState::Offline,
            other => BlockState::Other(other),
        }
    }

    fn as_raw(self) -> u32 {
        match self {
            BlockState::Online => bindings::memory_block_state_MEM_ONLINE,
            BlockState::GoingOffline => bindings::memory_block_state_MEM_GOING_OFFLINE,
            BlockState::Offline => bindings::memory_block_state_MEM_OFFLINE,
            BlockState::Other(other) => other,
        }
    }
}

/// The vmemmap of a memmap_on_memory block (`struct vmem_altmap`), owned by core mm.
///
/// # Invariants
///
/// `self.0` points to a valid `struct vmem_altmap` that outlives every memory block using it:
/// core mm frees it only after removing the blocks.
#[derive(Clone, Copy)]
pub struct Altmap(NonNull<bindings::vmem_altmap>);

impl Altmap {
    /// Wraps a raw altmap pointer; `None` for null.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or valid until the memory blocks it is given to are removed.
    pub unsafe fn from_raw(ptr: *mut bindings::vmem_altmap) -> Option<Self> {
        // INVARIANT: Guaranteed by the safety requirements.
        NonNull::new(ptr).map(Altmap)
    }
}

/// The geometry of memory blocks: each is [`BlockGeometry::sections_per_block`] sparse memory
/// sections (`memory_block_size_bytes()`); block `id` is the sections from
/// `id * sections_per_block` on, so its id, its sections and its pfns follow from one another.
///
/// # Invariants
///
/// `sections_per_block` is at least 1.
///
/// # Examples
///
/// ```
/// use kernel::memory::{block::BlockGeometry, hotplug::section};
///
/// let geometry = BlockGeometry::current();
/// let n = geometry.sections_per_block();
/// assert_eq!(geometry.block_size(), n * section::SIZE);
/// assert_eq!(geometry.first_section_nr(5), 5 * n);
/// assert_eq!(geometry.block_id(5 * n + n - 1), 5);
/// let (start_pfn, nr_pages) = geometry.pfn_range(5 * n);
/// assert_eq!(geometry.pfn_to_block_id(start_pfn + nr_pages - 1), 5);
/// assert_eq!(geometry.pfn_to_block_id(start_pfn + nr_pages), 6);
/// assert_eq!(nr_pages, geometry.pages_per_block());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockGeometry {
    sections_per_block: usize,
}

impl BlockGeometry {
    /// Returns the geometry of the memory block size (`memory_block_size_bytes()`, fixed by
    /// the architecture before `memory_dev_init()`, which refuses a size that is not a power of
    /// two of at least one section).
    pub fn current() -> Self {
        let sections = super::hotplug::memory_block_size_bytes() / section::SIZE;
        // INVARIANT: A size below one section (no memory block is ever created with it) counts
        // as one.
        Self {
            sections_per_block: sections.max(1),
        }
    }

    /// Returns the number of sections in a block.
    pub fn sections_per_block(self) -> usize {
        self.sections_per_block
    }

    /// Returns the size of a block in bytes.
    pub fn block_size(self) -> usize {
        self.sections_per_block * section::SIZE
    }

    /// Returns the number of pages in a block.
    pub fn pages_per_block(self) -> usize {
        self.sections_per_block * section::PAGES
    }

    /// Returns the id of the block containing section `section_nr` (`memory_block_id()`).
    pub fn block_id(self, section_nr: usize) -> usize {
        section_nr / self.sections_per_block
    }

    /// Returns the id of the block containing `pfn` (`pfn_to_block_id()`).
    pub fn pfn_to_block_id(self, pfn: usize) -> usize {
        self.block_id(section::pfn_to_nr(pfn))
    }

    /// Returns the id of the block containing physical address `phys` (`phys_to_block_id()`).
    pub fn phys_to_block_id(self, phys: usize) -> usize {
        self.pfn_to_block_id(phys >> crate::page::PAGE_SHIFT)
    }

    /// Returns the first section of block `id`.
    pub fn first_section_nr(self, id: usize) -> usize {
        id * self.sections_per_block
    }

    /// Returns the first pfn and the number of pages of the block that starts at section
    /// `start_section_nr`.
    pub fn pfn_range(self, start_section_nr: usize) -> (usize, usize) {
        (section::nr_to_pfn(start_section_nr), self.pages_per_block())
    }
}

/// The page frames of a memory block: `[start_pfn, start_pfn + nr_pages)`, of which the first
/// `vmemmap_pages` hold the block's own memmap (memmap_on_memory) and the rest is its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPfns {
    /// First pfn of the block.
    pub start_pfn: usize,
    /// Pages of the block.
    pub nr_pages: usize,
    /// Pages at the start that hold the block's memmap (0 without memmap_on_memory).
    pub vmemmap_pages: usize,
}

impl BlockPfns {
    /// First pfn of the block's memory, after its vmemmap pages.
    pub fn memory_start_pfn(&self) -> usize {
        self.start_pfn + self.vmemmap_pages
    }

    /// Pages of the block's memory, without its vmemmap pages.
    pub fn memory_nr_pages(&self) -> usize {
        self.nr_pages - self.vmemmap_pages
    }
}

/// A memory group (`struct memory_group`): memory blocks that are added and removed together,
/// e.g. one ACPI memory device (static group) or one virtio-mem device (dynamic group).
///
/// # Invariants
///
/// `self.0` is initialised: `nid`, `is_dynamic` and the size are set, `memory_blocks` is an
/// initialised list head and the group is pinned. Every `MemoryGroup` is the contents of an
/// [`Arc`] made by [`MemoryGroup::new`] (this module is built only with the Rust driver, whose
/// groups these are), so a reference to one can be turned into a counted reference.
#[repr(transparent)]
pub struct MemoryGroup(Opaque<bindings::memory_group>);

// SAFETY: The group's fields are only changed under `mem_hotplug_lock` (present page counters)
// or `device_hotplug_lock` (block list), as core mm does for the C struct.
unsafe impl Send for MemoryGroup {}
// SAFETY: See `Send`.
unsafe impl Sync for MemoryGroup {}

/// The kind and size of a memory group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// A static group: all its memory (`max_pages`) is added at once.
    Static {
        /// Pages of the whole device.
        max_pages: usize,
    },
    /// A dynamic group: memory is added and removed in units of `unit_pages`.
    Dynamic {
        /// Pages of one unit.
        unit_pages: usize,
    },
}

impl MemoryGroup {
    /// Allocates a group of node `nid` with no memory blocks.
    ///
    /// The group is reference counted so that a walk over the groups can call back without
    /// holding a lock while the group is unregistered.
    pub fn new(nid: i32, kind: GroupKind) -> Result<Arc<Self>> {
        let init = Opaque::ffi_init(move |slot: *mut bindings::memory_group| {
            // SAFETY: `slot` is valid for writes; an all-zero group is a valid value before the
            // fields are set; `memory_blocks` is initialised in place and stays pinned.
            unsafe {
                slot.write(core::mem::zeroed());
                (*slot).nid = nid;
                match kind {
                    GroupKind::Static { max_pages } => {
                        (*slot).__bindgen_anon_1.s.max_pages = max_pages
                    }
                    GroupKind::Dynamic { unit_pages } => {
                        (*slot).is_dynamic = true;
                        (*slot).__bindgen_anon_1.d.unit_pages = unit_pages;
                    }
                }
                bindings::INIT_LIST_HEAD(ptr::addr_of_mut!((*slot).memory_blocks));
            }
        });
        // SAFETY: `MemoryGroup` is transparent over `Opaque<memory_group>`, so the initialiser
        // of the latter initialises the former.
        let init = unsafe {
            crate::init::pin_init_from_closure::<MemoryGroup, core::convert::Infallible>(
                move |slot| init.__pinned_init(slot.cast()),
            )
        };
        // INVARIANT: All fields were initialised above; an `Arc` never moves its contents.
        Arc::pin_init(init, flags::GFP_KERNEL)
    }

    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or point to a group created by [`MemoryGroup::new`] that stays alive
    /// for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::memory_group) -> Option<&'a Self> {
        // SAFETY: `MemoryGroup` is transparent; validity by the safety requirements.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::memory_group {
        self.0.get()
    }

    /// Returns the raw pointer of `group`, or null for no group, as C's functions take it.
    pub fn raw_or_null(group: Option<&Self>) -> *mut bindings::memory_group {
        group.map_or(ptr::null_mut(), Self::as_raw)
    }

    /// Takes a new counted reference to the group.
    fn get(&self) -> Arc<Self> {
        // SAFETY: `self` is the contents of an `Arc` (type invariant): its address is the one
        // `Arc::into_raw` returns, and that `Arc` is alive while `self` is borrowed. Groups are
        // never in a `UniqueArc`: the driver shares each one between its table and its blocks.
        unsafe { ArcBorrow::from_raw(self) }.into()
    }

    /// Returns the node of the group.
    pub fn nid(&self) -> i32 {
        // SAFETY: `nid` is never changed after creation.
        unsafe { (*self.0.get()).nid }
    }

    /// Returns whether this is a dynamic group.
    pub fn is_dynamic(&self) -> bool {
        // SAFETY: `is_dynamic` is never changed after creation.
        unsafe { (*self.0.get()).is_dynamic }
    }

    /// Returns the kind and size of the group.
    pub fn kind(&self) -> GroupKind {
        // SAFETY: The kind and size are never changed after creation.
        unsafe {
            let g = self.0.get();
            if (*g).is_dynamic {
                GroupKind::Dynamic {
                    unit_pages: (*g).__bindgen_anon_1.d.unit_pages,
                }
            } else {
                GroupKind::Static {
                    max_pages: (*g).__bindgen_anon_1.s.max_pages,
                }
            }
        }
    }

    /// Returns the pages of the group online in kernel zones (including vmemmap pages).
    /// Changed under `mem_hotplug_lock`; read without it, like core mm's policy does.
    pub fn present_kernel_pages(&self) -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`, like `READ_ONCE()`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).present_kernel_pages)) }
    }

    /// Returns the pages of the group online in `ZONE_MOVABLE`.
    pub fn present_movable_pages(&self) -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).present_movable_pages)) }
    }

    /// Calls `f` for each dynamic memory group (of node `nid`, unless `NUMA_NO_NODE`) except
    /// `excluded`, until it returns non-zero (`walk_dynamic_memory_groups()`).
    pub fn walk_dynamic<F: FnMut(&MemoryGroup) -> i32>(
        nid: i32,
        excluded: Option<&MemoryGroup>,
        mut f: F,
    ) -> i32 {
        /// # Safety
        ///
        /// `arg` must be a `&mut F` and `group` a registered group.
        unsafe extern "C" fn call<F: FnMut(&MemoryGroup) -> i32>(
            group: *mut bindings::memory_group,
            arg: *mut core::ffi::c_void,
        ) -> i32 {
            // SAFETY: `arg` is the `&mut F` passed below; `group` is a registered group.
            unsafe { (*arg.cast::<F>())(MemoryGroup::from_raw(group).expect("non-null group")) }
        }
        let excluded = MemoryGroup::raw_or_null(excluded);
        // SAFETY: `call::<F>` gets `&mut f` back as `arg`, which outlives the walk.
        unsafe {
            bindings::walk_dynamic_memory_groups(
                nid,
                Some(call::<F>),
                excluded,
                ptr::addr_of_mut!(f).cast(),
            )
        }
    }

    /// Returns whether memory blocks are in the group.
    ///
    /// The list changes under `device_hotplug_lock`; without it the answer may be stale, as
    /// for C's `memory_group_unregister()`, whose callers own the group's memory.
    pub fn has_blocks(&self) -> bool {
        // SAFETY: The list is initialised (type invariant); `list_empty()` reads one pointer.
        !unsafe { bindings::list_empty(ptr::addr_of!((*self.0.get()).memory_blocks)) }
    }
}

/// A memory block device (`struct memory_block`): `/sys/devices/system/memory/memoryN`.
///
/// # Invariants
///
/// `self.0` is the `block` of a `BlockAllocation` made by `MemoryBlock::alloc` and
/// initialised by [`super::subsys::Subsys::register_block`], its embedded `struct device` is
/// initialised, and the object lives until an RCU grace period after the device's reference
/// count dropped to zero (`MemoryBlock::free_after_grace_period`).
#[repr(transparent)]
pub struct MemoryBlock(Opaque<bindings::memory_block>);

/// The memory of a memory block: the C struct, which other C code reads, and the RCU head that
/// frees it a grace period after its last reference is gone, so that lockless lookups that
/// found it may still try to take a reference (see [`RcuRefCounted`]).
#[repr(C)]
struct BlockAllocation {
    block: MemoryBlock,
    rcu: Opaque<bindings::callback_head>,
}

// SAFETY: The fields are accessed with the locks documented on each accessor; the reference
// count may be dropped from any thread (the release function only frees memory).
unsafe impl Send for MemoryBlock {}
// SAFETY: See `Send`.
unsafe impl Sync for MemoryBlock {}

// SAFETY: The device's reference count keeps the block alive (`release` frees it).
unsafe impl AlwaysRefCounted for MemoryBlock {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` means the reference count is non-zero.
        unsafe { bindings::get_device(self.raw_dev()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference.
        unsafe { bindings::put_device(ptr::addr_of_mut!((*obj.as_ref().0.get()).dev)) };
    }
}

// SAFETY: `kobject_get_unless_zero()` takes a reference only while the count is not zero;
// the device's `release` callback frees the block with `free_after_grace_period()`, after an
// RCU grace period.
unsafe impl RcuRefCounted for MemoryBlock {
    fn try_inc_ref(&self) -> bool {
        // SAFETY: `&self` is valid memory (lookups form it under RCU, which `RcuRefCounted`
        // allows); the kobject is initialised and `kobject_get_unless_zero()` only touches its
        // reference count, atomically.
        !unsafe { bindings::kobject_get_unless_zero(ptr::addr_of_mut!((*self.raw_dev()).kobj)) }
            .is_null()
    }
}

/// RCU callback of [`MemoryBlock::free_after_grace_period`].
///
/// # Safety
///
/// `head` is the `rcu` field of a [`BlockAllocation`] that nothing refers to any more.
unsafe extern "C" fn free_block_rcu(head: *mut bindings::callback_head) {
    // SAFETY: `head` is embedded in a `BlockAllocation` (container_of), which was allocated as
    // a `KBox` by `MemoryBlock::alloc` and is ours now (safety requirements).
    unsafe {
        let alloc = head
            .cast::<u8>()
            .sub(core::mem::offset_of!(BlockAllocation, rcu))
            .cast::<BlockAllocation>();
        drop(KBox::from_raw(alloc));
    }
}

impl MemoryBlock {
    /// Allocates a zeroed block; it is registered by [`super::subsys::Subsys::register_block`]
    /// and freed by [`MemoryBlock::free_after_grace_period`].
    pub(crate) fn alloc() -> Result<NonNull<Self>> {
        let b = KBox::<BlockAllocation>::new_uninit(flags::GFP_KERNEL | flags::__GFP_ZERO)?;
        // SAFETY: Any bit pattern, including zeroes, is a valid `Opaque`.
        let alloc = KBox::into_raw(unsafe { b.assume_init() });
        // SAFETY: In-bounds field projection of a valid allocation.
        Ok(unsafe { NonNull::new_unchecked(ptr::addr_of_mut!((*alloc).block)) })
    }

    /// Frees the block after an RCU grace period (`call_rcu()`), when its last reference is
    /// gone. May be called in atomic context.
    ///
    /// # Safety
    ///
    /// `this` comes from [`MemoryBlock::alloc`], its reference count dropped to zero (or it was
    /// never registered), and nothing but lockless lookups that found it before it was
    /// unpublished may use it any more.
    pub(crate) unsafe fn free_after_grace_period(this: NonNull<Self>) {
        // SAFETY: `this` is the `block` field of a `BlockAllocation` (container_of; type
        // invariant); `call_rcu()` calls `free_block_rcu` once, after a grace period.
        unsafe {
            let alloc = this
                .as_ptr()
                .cast::<u8>()
                .sub(core::mem::offset_of!(BlockAllocation, block))
                .cast::<BlockAllocation>();
            bindings::call_rcu((*alloc).rcu.get(), Some(free_block_rcu));
        }
    }

    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a registered memory block that stays alive for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::memory_block) -> &'a Self {
        // SAFETY: `MemoryBlock` is transparent; validity by the safety requirements.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Creates a reference from a pointer to the embedded `struct device`.
    ///
    /// # Safety
    ///
    /// `dev` must be the device of a registered memory block that stays alive for `'a`.
    pub unsafe fn from_dev<'a>(dev: *mut bindings::device) -> &'a Self {
        // SAFETY: `dev` is embedded in a `struct memory_block` (container_of).
        unsafe {
            let mem = dev
                .cast::<u8>()
                .sub(core::mem::offset_of!(bindings::memory_block, dev))
                .cast::<bindings::memory_block>();
            Self::from_raw(mem)
        }
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::memory_block {
        self.0.get()
    }

    pub(crate) fn raw_dev(&self) -> *mut bindings::device {
        // SAFETY: In-bounds field projection.
        unsafe { ptr::addr_of_mut!((*self.0.get()).dev) }
    }

    /// Returns the first section of the block. Never changes.
    pub fn start_section_nr(&self) -> usize {
        // SAFETY: Set before registration, never changed.
        unsafe { (*self.0.get()).start_section_nr }
    }

    /// Returns the first pfn and the number of pages of the block (see [`BlockGeometry`]).
    /// Never changes.
    pub fn pfn_range(&self) -> (usize, usize) {
        BlockGeometry::current().pfn_range(self.start_section_nr())
    }

    /// Returns the page frames of the block, with its vmemmap pages (see
    /// [`MemoryBlock::altmap`] for the callers).
    fn pfns(&self) -> BlockPfns {
        let (start_pfn, nr_pages) = self.pfn_range();
        BlockPfns {
            start_pfn,
            nr_pages,
            // Core mm makes the vmemmap part of the block (`altmap.free <= nr_pages`).
            vmemmap_pages: self.altmap().map_or(0, |(pages, _)| pages.min(nr_pages)),
        }
    }

    /// Returns the state. Changed only under the device lock; reading it without the lock
    /// gives a recent value, as in C's `state_show()`.
    pub fn state(&self) -> BlockState {
        // SAFETY: A racy read of an aligned `u32`, like `READ_ONCE()`.
        BlockState::from_raw(unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).state)) })
    }

    /// Returns the online type requested for the next online. It is written under
    /// `device_hotplug_lock` ([`MemoryBlock::set_online_type`]) or under the device lock
    /// ([`LockedBlock::set_online_type`]), two lock domains: the accesses are atomic.
    pub fn online_type(&self) -> OnlineType {
        let raw = self.online_type_atomic().load(Ordering::Relaxed);
        OnlineType::from_raw(raw).unwrap_or(OnlineType::Offline)
    }

    /// Returns the block's `online_type` field as an atomic.
    fn online_type_atomic(&self) -> &AtomicU32 {
        // Every access to the field in Rust goes through this atomic; C (core mm's
        // `online_memory_block()`, `try_reonline_memory_block()`) writes it with plain stores of
        // the aligned word, which the kernel's memory model treats as `WRITE_ONCE()`.
        // SAFETY: The field is an aligned `u32` (`enum mmop`) that lives as long as `self`.
        unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.0.get()).online_type)) }
    }

    /// Sets the online type used by the next online of this block.
    pub fn set_online_type(&self, _lock: &DeviceHotplugLocked, online_type: OnlineType) {
        self.store_online_type(online_type);
    }

    /// Writes `online_type` atomically: callers hold `device_hotplug_lock` or the device lock,
    /// which do not exclude each other.
    fn store_online_type(&self, online_type: OnlineType) {
        self.online_type_atomic()
            .store(online_type.as_raw(), Ordering::Relaxed);
    }

    /// Returns the node of the block (`NUMA_NO_NODE` until it is linked to a node).
    pub fn nid(&self) -> i32 {
        // SAFETY: A racy read of an aligned `i32`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).nid)) }
    }

    /// Sets the node of the block. `nid` must be a possible node or `NUMA_NO_NODE`: core mm and
    /// `drivers/base/node.c` index their node arrays with it.
    fn set_nid(&self, _lock: &DeviceHotplugLocked, nid: i32) {
        // SAFETY: `nid` is written under `device_hotplug_lock` (or in early boot).
        unsafe { ptr::write_volatile(ptr::addr_of_mut!((*self.0.get()).nid), nid) };
    }

    /// Returns the single zone of the block's memory, if the block is online and its memory is
    /// in one zone of one node.
    pub fn zone(&self) -> Option<&'static Zone> {
        // SAFETY: A racy read of an aligned pointer; it is null or a zone, which lives for ever.
        unsafe { Zone::from_raw(ptr::read_volatile(ptr::addr_of!((*self.0.get()).zone))) }
    }

    /// Sets the single zone of the block (or `None`). Only this crate does, with the state:
    /// core mm relies on an online block's zone.
    pub(crate) fn set_zone(&self, _lock: &DeviceHotplugLocked, zone: Option<&'static Zone>) {
        self.store_zone(zone);
    }

    /// Links the block to node `nid` (`memory_block_add_nid()`); `early` for boot memory
    /// (`MEMINIT_EARLY`), whose zone is known once its node is: the only populated zone of the
    /// node that intersects the block, or none if the block spans several zones or nodes.
    ///
    /// This answers C's `memory_block_add_nid()`; it is public only for the expansion of
    /// `memory_block_subsys!`. Impossible node ids are still refused with a warning.
    ///
    /// # Safety
    ///
    /// C's contract: only node registration calls it (`register_memory_blocks_under_node()`),
    /// for node `nid` whose node device is registered. A node without a registered device
    /// would make `unregister_memory_block_under_nodes()` dereference a null `node_devices[nid]`.
    #[doc(hidden)]
    pub unsafe fn add_nid(&self, lock: &DeviceHotplugLocked, nid: i32, early: bool) {
        if crate::warn_on_once!(!super::hotplug::node_possible(nid)) {
            return;
        }
        if early && self.nid() != nid {
            let zone = if self.nid() == super::hotplug::NUMA_NO_NODE {
                let (start_pfn, nr_pages) = self.pfn_range();
                Zone::single_zone_for_range(nid, start_pfn, nr_pages)
            } else {
                None
            };
            self.set_zone(lock, zone);
        }
        // Hot-added memory is checked by core mm to be within one node.
        self.set_nid(lock, nid);
    }

    /// Writes `zone`; callers hold `device_hotplug_lock` or the device lock.
    fn store_zone(&self, zone: Option<&'static Zone>) {
        let zone = zone.map_or(ptr::null_mut(), Zone::as_raw);
        // SAFETY: An aligned pointer store; writers are serialised by the locks the callers
        // hold.
        unsafe { ptr::write_volatile(ptr::addr_of_mut!((*self.0.get()).zone), zone) };
    }

    /// Returns the group of the block, if any.
    pub fn group(&self) -> Option<&MemoryGroup> {
        // SAFETY: The group is set before registration and never changed; the block holds a
        // reference to it until the block is released, so it outlives `self`.
        unsafe { MemoryGroup::from_raw((*self.0.get()).group) }
    }

    /// Returns the number of vmemmap pages at the start of the block and whether they are
    /// inaccessible until `MEM_PREPARE_ONLINE`, for a memmap_on_memory block.
    ///
    /// Core mm clears the pointer and frees the altmap when it removes the block
    /// (`remove_memory_blocks_and_altmaps()`), under `device_hotplug_lock` and without the
    /// block's device lock: only callers that hold `device_hotplug_lock` may read it. They do:
    /// the bus `online`/`offline` callbacks run from `device_online()`/`device_offline()`,
    /// whose callers hold it, and the crate's other readers take a [`DeviceHotplugLocked`].
    fn altmap(&self) -> Option<(usize, bool)> {
        // SAFETY: The altmap is set before registration and freed only after core mm cleared the
        // pointer under `device_hotplug_lock`, which the callers hold (see above); `free` and
        // `inaccessible` are not changed after the altmap is created.
        unsafe {
            let altmap = (*self.0.get()).altmap;
            altmap.as_ref().map(|a| (a.free, a.inaccessible))
        }
    }

    /// Returns whether the block still has an altmap, when its last reference is gone (core mm
    /// clears the pointer before removing a block).
    pub(crate) fn has_altmap(&self) -> bool {
        // SAFETY: Reads a pointer field; called on release, with no concurrent writer.
        !unsafe { (*self.0.get()).altmap }.is_null()
    }

    /// Returns the number of hwpoisoned pages in the block.
    #[cfg(CONFIG_MEMORY_FAILURE)]
    pub fn nr_hwpoison(&self) -> isize {
        // SAFETY: `nr_hwpoison` is an atomic.
        unsafe { bindings::atomic_long_read(ptr::addr_of!((*self.0.get()).nr_hwpoison)) as isize }
    }

    /// Adds `nr` (which may be negative) to the number of hwpoisoned pages in the block.
    #[cfg(CONFIG_MEMORY_FAILURE)]
    pub fn add_hwpoison(&self, nr: isize) {
        // SAFETY: `nr_hwpoison` is an atomic.
        unsafe {
            bindings::atomic_long_add(nr as _, ptr::addr_of_mut!((*self.0.get()).nr_hwpoison))
        };
    }

    /// Returns the number of hwpoisoned pages in the block (always 0 without memory failure
    /// handling).
    #[cfg(not(CONFIG_MEMORY_FAILURE))]
    pub fn nr_hwpoison(&self) -> isize {
        0
    }

    /// Onlines the block through the driver core (`device_online()`), which calls the bus'
    /// `online` callback under the device lock and sends the `online` uevent.
    ///
    /// Returns `Ok(false)` if the device was already online.
    ///
    /// Fails with `ENODEV` if the block is no longer registered (its memory was removed after
    /// the reference was taken).
    pub fn device_online(&self, lock: &DeviceHotplugLocked) -> Result<bool> {
        self.check_registered(lock)?;
        // SAFETY: The device is registered, so its memory is added: both change only under
        // `device_hotplug_lock`, which is held, as `device_online()` requires.
        let ret = unsafe { bindings::device_online(self.raw_dev()) };
        to_result(ret).map(|()| ret == 0)
    }

    /// Offlines the block through the driver core (`device_offline()`).
    ///
    /// Returns `Ok(false)` if the device was already offline.
    ///
    /// Fails with `ENODEV` if the block is no longer registered.
    pub fn device_offline(&self, lock: &DeviceHotplugLocked) -> Result<bool> {
        self.check_registered(lock)?;
        // SAFETY: As in `device_online`.
        let ret = unsafe { bindings::device_offline(self.raw_dev()) };
        to_result(ret).map(|()| ret == 0)
    }

    /// Fails with `ENODEV` unless the block's device is registered (`device_is_registered()`).
    /// Memory blocks are registered when their memory is added and unregistered before it is
    /// removed, both under `device_hotplug_lock`: with it held, a registered block is backed by
    /// added memory until the lock is dropped.
    fn check_registered(&self, _lock: &DeviceHotplugLocked) -> Result {
        // SAFETY: The device is initialised; `state_in_sysfs` changes only when the device is
        // added or deleted, which for memory blocks happens under `device_hotplug_lock`.
        let registered =
            unsafe { bindings::kobject::state_in_sysfs_raw(ptr::addr_of!((*self.raw_dev()).kobj)) }
                != 0;
        if registered {
            Ok(())
        } else {
            Err(ENODEV)
        }
    }

    /// Joins `group`: sets the block's group, which the block holds a reference to until it is
    /// released, and adds the block to the group's block list.
    ///
    /// # Safety
    ///
    /// The block must not be registered yet (no other thread can see it), and must not have
    /// joined a group before.
    pub(crate) unsafe fn join_group(&self, _lock: &DeviceHotplugLocked, group: &MemoryGroup) {
        let group = Arc::into_raw(group.get())
            .cast_mut()
            .cast::<bindings::memory_group>();
        // SAFETY: The block is not shared yet (safety requirements); both list heads are
        // initialised; the group's list is protected by `device_hotplug_lock`, which is held.
        unsafe {
            (*self.0.get()).group = group;
            bindings::list_add(
                ptr::addr_of_mut!((*self.0.get()).group_next),
                ptr::addr_of_mut!((*group).memory_blocks),
            );
        }
    }

    /// Leaves the block's group, if any: removes the block from the group's block list, so the
    /// group can be unregistered. The block keeps its reference to the group until it is
    /// released.
    pub(crate) fn leave_group(&self, _lock: &DeviceHotplugLocked) {
        // SAFETY: `group` is never changed after registration; the list is protected by
        // `device_hotplug_lock`, which is held, and `list_del_init()` may be repeated.
        unsafe {
            if !(*self.0.get()).group.is_null() {
                bindings::list_del_init(ptr::addr_of_mut!((*self.0.get()).group_next));
            }
        }
    }

    /// Drops the block's reference to its group, when the block is released. Returns `false`
    /// if the block is still on the group's list (it never left the group, a bug): then the
    /// group and the block must both stay allocated, since the list still points to the
    /// block.
    ///
    /// # Safety
    ///
    /// The last reference to the block is gone.
    pub(crate) unsafe fn put_group(&self) -> bool {
        // Lookups under RCU may still try to take a reference: that touches only the device's
        // reference count, not the group fields.
        // SAFETY: Nothing else uses the group fields any more (safety requirements); a non-null
        // group is the reference `join_group` took with `Arc::into_raw`.
        unsafe {
            let group = (*self.0.get()).group;
            if group.is_null() {
                return true;
            }
            if crate::warn_on!(!bindings::list_empty(ptr::addr_of!(
                (*self.0.get()).group_next
            ))) {
                return false;
            }
            (*self.0.get()).group = ptr::null_mut();
            drop(Arc::from_raw(group.cast_const().cast::<MemoryGroup>()));
        }
        true
    }

    /// Removes the node links of the block (`unregister_memory_block_under_nodes()`); see
    /// [`super::subsys::RegisteredBlock::unregister_under_nodes`].
    pub(crate) fn unregister_under_nodes(&self, _lock: &DeviceHotplugLocked) {
        // SAFETY: The block is registered; the caller holds `device_hotplug_lock`.
        unsafe { bindings::unregister_memory_block_under_nodes(self.as_raw()) };
    }

    /// Sets the fields of a new block before it is registered.
    ///
    /// # Safety
    ///
    /// The block must not be registered yet (no other thread can see it).
    pub(crate) unsafe fn init_fields(
        &self,
        start_section_nr: usize,
        state: BlockState,
        altmap: Option<Altmap>,
    ) {
        let mem = self.0.get();
        // SAFETY: The block is not shared yet (safety requirements).
        unsafe {
            (*mem).start_section_nr = start_section_nr;
            (*mem).state = state.as_raw();
            (*mem).online_type = OnlineType::Offline.as_raw();
            (*mem).nid = bindings::NUMA_NO_NODE;
            (*mem).altmap = altmap.map_or(ptr::null_mut(), |a| a.0.as_ptr());
            bindings::INIT_LIST_HEAD(ptr::addr_of_mut!((*mem).group_next));
        }
    }

    /// Forgets the altmap of a block whose registration is being undone before core mm saw
    /// it: core mm still owns the altmap and frees it when the creation fails, so the release
    /// must not find it. (Used on a block core mm knows, the altmap leaks and the release
    /// does not warn; nothing else changes.)
    pub(crate) fn forget_altmap(&self, _lock: &DeviceHotplugLocked) {
        // SAFETY: Readers of the altmap hold `device_hotplug_lock` or the device lock, whose
        // holders (sysfs stores) take `device_hotplug_lock` first; it is held.
        unsafe { (*self.0.get()).altmap = ptr::null_mut() };
    }

    /// Sets the state; only the bus `online`/`offline` callbacks do this.
    pub(crate) fn set_state(&self, state: BlockState) {
        // SAFETY: Called with the device lock held (callers in `subsys`).
        unsafe { ptr::write_volatile(ptr::addr_of_mut!((*self.0.get()).state), state.as_raw()) };
    }
}

/// A memory block whose device lock is held: the context of the bus `online` and `offline`
/// callbacks, where the block's state is changed.
pub struct LockedBlock<'a> {
    block: &'a MemoryBlock,
}

impl<'a> LockedBlock<'a> {
    /// # Safety
    ///
    /// The caller must hold the device lock of `block` and `device_hotplug_lock` for `'a`:
    /// [`LockedBlock::altmap`] and [`LockedBlock::pfns`] read the block's altmap, which core mm
    /// frees under `device_hotplug_lock` alone.
    pub(crate) unsafe fn new(block: &'a MemoryBlock) -> Self {
        Self { block }
    }

    /// The proof that `device_hotplug_lock` is held, for as long as the block is locked.
    pub fn hotplug_locked(&self) -> &DeviceHotplugLocked {
        // SAFETY: The lock is held for `'a` (the safety requirements of `new`), and the proof
        // does not outlive `self`.
        unsafe { DeviceHotplugLocked::assume() }
    }

    /// Sets the block's state; only the online and offline transitions of this crate do.
    pub(crate) fn set_state(&self, state: BlockState) {
        self.block.set_state(state);
    }

    /// Sets the block's online type.
    pub fn set_online_type(&self, online_type: OnlineType) {
        self.block.store_online_type(online_type);
    }

    /// Sets the block's zone, with its state.
    pub(crate) fn set_zone(&self, zone: Option<&'static Zone>) {
        self.block.store_zone(zone);
    }

    /// Returns the page frames of the block.
    pub fn pfns(&self) -> BlockPfns {
        self.block.pfns()
    }

    /// Returns the block's vmemmap pages and whether they are inaccessible until
    /// `MEM_PREPARE_ONLINE` (memmap_on_memory), or `None`.
    pub fn altmap(&self) -> Option<(usize, bool)> {
        self.block.altmap()
    }
}

impl core::ops::Deref for LockedBlock<'_> {
    type Target = MemoryBlock;

    fn deref(&self) -> &MemoryBlock {
        self.block
    }
}

/// Converts a counted reference into a raw pointer for C, which must drop it with
/// `put_device()`.
pub fn into_raw(block: ARef<MemoryBlock>) -> *mut bindings::memory_block {
    ARef::into_raw(block).as_ptr().cast()
}

use crate::error::to_result;
