// SPDX-License-Identifier: GPL-2.0

//! Core memory hotplug: the locks, zones and page onlining/offlining of `mm/memory_hotplug.c`.
//!
//! C headers: [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h),
//! [`include/linux/mmzone.h`](srctree/include/linux/mmzone.h).
//!
//! The lock order is `device_hotplug_lock` → `device_lock` of a memory block →
//! `mem_hotplug_lock`. Functions that C documents as "caller holds X" take a proof of X:
//! [`DeviceHotplugLocked`] or [`MemHotplugGuard`].

use super::block::MemoryGroup;
use super::block::{BlockState, LockedBlock};
use super::notifier::Veto;
use crate::{bindings, c_str, error::to_result, prelude::*, str::CStr, types::Opaque};
use core::{marker::PhantomData, ptr};

/// How a memory block is onlined: C's `enum mmop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OnlineType {
    /// `MMOP_OFFLINE`: do not online (as an auto-online setting) / not requested.
    Offline = bindings::mmop_MMOP_OFFLINE,
    /// `MMOP_ONLINE`: online into the zone the online policy chooses.
    Online = bindings::mmop_MMOP_ONLINE,
    /// `MMOP_ONLINE_KERNEL`: online into the kernel zone.
    OnlineKernel = bindings::mmop_MMOP_ONLINE_KERNEL,
    /// `MMOP_ONLINE_MOVABLE`: online into `ZONE_MOVABLE`.
    OnlineMovable = bindings::mmop_MMOP_ONLINE_MOVABLE,
}

impl OnlineType {
    /// Every online type, in the order of their values.
    pub const ALL: [OnlineType; 4] = [
        OnlineType::Offline,
        OnlineType::Online,
        OnlineType::OnlineKernel,
        OnlineType::OnlineMovable,
    ];

    /// Returns the online type named `name` (with one trailing newline allowed), as `state`
    /// and `auto_online_blocks` take it (`mhp_online_type_from_str()`); fails with `EINVAL`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{c_str, memory::hotplug::OnlineType};
    ///
    /// let t = OnlineType::from_name(c_str!("online_movable\n"));
    /// assert_eq!(t, Ok(OnlineType::OnlineMovable));
    /// assert_eq!(OnlineType::from_name(c_str!("offline")), Ok(OnlineType::Offline));
    /// assert_eq!(OnlineType::from_name(c_str!("movable")), Err(EINVAL));
    /// assert_eq!(OnlineType::from_name(c_str!("ONLINE")), Err(EINVAL));
    /// ```
    pub fn from_name(name: &CStr) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| crate::sysfs::sysfs_streq(name, t.name()))
            .ok_or(EINVAL)
    }

    /// Returns the online type with the C value `value`, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::hotplug::OnlineType;
    ///
    /// // The values of C's `enum mmop`.
    /// assert_eq!(OnlineType::from_raw(0), Some(OnlineType::Offline));
    /// assert_eq!(OnlineType::from_raw(3), Some(OnlineType::OnlineMovable));
    /// assert_eq!(OnlineType::from_raw(4), None);
    /// for t in OnlineType::ALL {
    ///     assert_eq!(OnlineType::from_raw(t.as_raw()), Some(t));
    /// }
    /// ```
    pub fn from_raw(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u32 == value)
    }

    /// Returns the C value.
    pub fn as_raw(self) -> u32 {
        self as u32
    }

    /// Returns the name used in sysfs and on the command line, e.g. `online_movable`.
    pub fn name(self) -> &'static CStr {
        match self {
            OnlineType::Offline => c_str!("offline"),
            OnlineType::Online => c_str!("online"),
            OnlineType::OnlineKernel => c_str!("online_kernel"),
            OnlineType::OnlineMovable => c_str!("online_movable"),
        }
    }
}

/// Returns the type new memory blocks are onlined with (`auto_online_blocks`).
pub fn default_online_type() -> OnlineType {
    // SAFETY: No requirements; the value is resolved lazily from the Kconfig default.
    let raw = unsafe { bindings::mhp_get_default_online_type() };
    OnlineType::from_raw(raw).unwrap_or(OnlineType::Offline)
}

/// Sets the type new memory blocks are onlined with.
pub fn set_default_online_type(online_type: OnlineType) {
    // SAFETY: Any `enum mmop` value is valid.
    unsafe { bindings::mhp_set_default_online_type(online_type.as_raw()) };
}

/// A proof that the caller holds `device_hotplug_lock`.
///
/// It cannot be constructed, only borrowed from a [`DeviceHotplugGuard`] or, in code called
/// from C, assumed with [`DeviceHotplugLocked::assume`].
pub struct DeviceHotplugLocked {
    _not_send: PhantomData<*mut ()>,
}

impl DeviceHotplugLocked {
    /// Assumes that the current thread holds `device_hotplug_lock`.
    ///
    /// # Safety
    ///
    /// The caller must hold `device_hotplug_lock` for `'a`, or run while the kernel is still
    /// single-threaded (early boot).
    pub unsafe fn assume<'a>() -> &'a Self {
        &DeviceHotplugLocked {
            _not_send: PhantomData,
        }
    }
}

/// Holds `device_hotplug_lock`, the outermost lock of memory hotplug; released on drop.
///
/// # Invariants
///
/// The current thread holds `device_hotplug_lock` until the guard is dropped.
pub struct DeviceHotplugGuard {
    locked: DeviceHotplugLocked,
}

impl DeviceHotplugGuard {
    /// Takes `device_hotplug_lock` (`lock_device_hotplug()`), sleeping until it is free.
    pub fn lock() -> Self {
        // SAFETY: Called from process context; released in `Drop`.
        unsafe { bindings::lock_device_hotplug() };
        // INVARIANT: The lock was just taken.
        Self {
            locked: DeviceHotplugLocked {
                _not_send: PhantomData,
            },
        }
    }

    /// Takes `device_hotplug_lock` for a sysfs store (`lock_device_hotplug_sysfs()`).
    ///
    /// If the lock is busy this sleeps a little and fails with `ERESTARTNOINTR`: the store must
    /// return that error, the kernel then restarts the write system call. This avoids the
    /// deadlock with a thread that holds the lock and removes the sysfs file.
    pub fn lock_sysfs() -> Result<Self> {
        // SAFETY: Called from a sysfs store, i.e. process context; released in `Drop`.
        to_result(unsafe { bindings::lock_device_hotplug_sysfs() })?;
        // INVARIANT: `lock_device_hotplug_sysfs()` succeeded, so the lock is held.
        Ok(Self {
            locked: DeviceHotplugLocked {
                _not_send: PhantomData,
            },
        })
    }
}

impl core::ops::Deref for DeviceHotplugGuard {
    type Target = DeviceHotplugLocked;

    fn deref(&self) -> &DeviceHotplugLocked {
        &self.locked
    }
}

impl Drop for DeviceHotplugGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by this thread.
        unsafe { bindings::unlock_device_hotplug() };
    }
}

/// Holds `mem_hotplug_lock` for write (`mem_hotplug_begin()`); released on drop
/// (`mem_hotplug_done()`).
///
/// Every memory notifier event is delivered under this lock.
///
/// # Invariants
///
/// The current thread holds `cpus_read_lock` and `mem_hotplug_lock` for write until the guard
/// is dropped.
pub struct MemHotplugGuard {
    _not_send: PhantomData<*mut ()>,
}

impl MemHotplugGuard {
    /// Takes `mem_hotplug_lock` for write.
    pub fn begin() -> Self {
        // SAFETY: Called from process context; released in `Drop`.
        unsafe { bindings::mem_hotplug_begin() };
        // INVARIANT: The lock was just taken.
        Self {
            _not_send: PhantomData,
        }
    }
}

impl Drop for MemHotplugGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by this thread.
        unsafe { bindings::mem_hotplug_done() };
    }
}

/// A memory zone (`struct zone`) of a node.
///
/// # Invariants
///
/// `self.0` is a zone in a node's `pg_data_t`, which is never freed for a possible node.
#[repr(transparent)]
pub struct Zone(Opaque<bindings::zone>);

// SAFETY: Zones are shared by all CPUs. What `&Zone` gives access to is either fixed once the
// node is initialised (name, node, index) or changed by core mm under `mem_hotplug_lock` (the
// page counters, read here with volatile `READ_ONCE()` loads, and the span, which
// `zone_intersects()` and `populated_zone()` read), as core mm's lockless readers read them;
// nothing is written through `&Zone`.
unsafe impl Sync for Zone {}

impl Zone {
    /// Creates a reference from a raw zone pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or point to a zone of a `pg_data_t`.
    pub unsafe fn from_raw(ptr: *mut bindings::zone) -> Option<&'static Zone> {
        // SAFETY: `Zone` is transparent over the C struct; by the safety requirements it lives
        // for ever.
        unsafe { ptr.cast::<Zone>().as_ref() }
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::zone {
        self.0.get()
    }

    /// Returns the zone's name: `DMA`, `DMA32`, `Normal`, `Movable`, ...
    pub fn name(&self) -> &'static CStr {
        // SAFETY: `name` is set to a static string when the node is initialised.
        unsafe { CStr::from_char_ptr((*self.0.get()).name) }
    }

    /// Returns the node of the zone.
    pub fn nid(&self) -> i32 {
        // SAFETY: `zone_pgdat` points to the zone's `pg_data_t`, which lives for ever; `node_id`
        // is set when the node is initialised.
        unsafe { (*(*self.0.get()).zone_pgdat).node_id }
    }

    /// The number of zone types (`MAX_NR_ZONES`): [`Zone::idx`] is below it.
    pub const MAX_NR_ZONES: usize = bindings::zone_type___MAX_NR_ZONES as usize;

    /// Returns the zone's type (`zone_idx()`): its index in its node, the same for the zones of
    /// a type on every node.
    pub fn idx(&self) -> usize {
        // SAFETY: `self` is a zone of a `pg_data_t` (type invariant).
        unsafe { bindings::zone_idx(self.as_raw()) as usize }
    }

    /// Returns whether this is the node's `ZONE_MOVABLE`.
    pub fn is_movable(&self) -> bool {
        self.idx() == bindings::zone_type_ZONE_MOVABLE as usize
    }

    /// Returns the pages present in the zone (`present_pages`), changed by onlining and
    /// offlining under `mem_hotplug_lock`; read without it, like core mm's policy does.
    pub fn present_pages(&self) -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`, like `READ_ONCE()`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).present_pages)) }
    }

    /// Returns the pages of the zone present at boot (`present_early_pages`).
    pub fn present_early_pages(&self) -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).present_early_pages)) }
    }

    /// Returns the pages of the zone reserved for CMA (`cma_pages`; 0 without CMA).
    pub fn cma_pages(&self) -> usize {
        #[cfg(CONFIG_CMA)]
        // SAFETY: A racy read of an aligned `unsigned long`.
        let pages = unsafe { ptr::read_volatile(ptr::addr_of!((*self.0.get()).cma_pages)) };
        #[cfg(not(CONFIG_CMA))]
        let pages = 0;
        pages
    }

    /// Calls `f` for each populated zone of node `nid`, or of every online node if `nid` is
    /// `None` (`for_each_populated_zone()`). A node that is not online (or no node at all) has
    /// no zones to visit.
    pub fn for_each_populated(nid: Option<i32>, mut f: impl FnMut(&'static Zone)) {
        const MAX: i32 = bindings::MAX_NUMNODES as i32;
        let (mut nid, single) = match nid {
            // SAFETY: `nid` is below `MAX_NUMNODES`.
            Some(nid) if (0..MAX).contains(&nid) && unsafe { bindings::node_online(nid) } => {
                (nid, true)
            }
            Some(_) => return,
            // The online nodes, as `for_each_online_node()`: not every possible node id.
            // SAFETY: `-1` asks for the first node of the online mask.
            None => (unsafe { bindings::next_online_node(-1) }, false),
        };
        while nid < MAX {
            for idx in 0..bindings::zone_type___MAX_NR_ZONES as i32 {
                // SAFETY: The node is online, so `NODE_DATA(nid)` is valid.
                let zone = unsafe { bindings::node_zone(nid, idx) };
                // SAFETY: `zone` is a valid zone of a `pg_data_t`.
                if unsafe { bindings::populated_zone(zone) } {
                    // SAFETY: `zone` is a zone of a `pg_data_t`.
                    f(unsafe { Zone::from_raw(zone) }.expect("a zone is never NULL"));
                }
            }
            if single {
                return;
            }
            // SAFETY: `nid` is below `MAX_NUMNODES`; the result is `MAX_NUMNODES` after the last.
            nid = unsafe { bindings::next_online_node(nid) };
        }
    }

    /// Returns the zone of node `nid` (`NUMA_NO_NODE` without NUMA) that is the only populated
    /// zone intersecting `[start_pfn, start_pfn + nr_pages)`, or `None` if there are several or
    /// none, or if the node is not online.
    pub fn single_zone_for_range(
        nid: i32,
        start_pfn: usize,
        nr_pages: usize,
    ) -> Option<&'static Zone> {
        if !node_has_zones(nid) {
            return None;
        }
        let mut found = None;
        for idx in 0..bindings::zone_type___MAX_NR_ZONES as i32 {
            // SAFETY: The node is online (checked above), so `NODE_DATA(nid)` is valid and `idx`
            // is below `MAX_NR_ZONES`.
            let zone = unsafe { bindings::node_zone(nid, idx) };
            // SAFETY: `zone` is a valid zone.
            let hit = unsafe {
                bindings::populated_zone(zone)
                    && bindings::zone_intersects(zone, start_pfn, nr_pages)
            };
            if hit {
                if found.is_some() {
                    return None;
                }
                // SAFETY: `zone` is a zone of a `pg_data_t`.
                found = unsafe { Zone::from_raw(zone) };
            }
        }
        found
    }

    /// Returns the zone that memory of `[start_pfn, start_pfn + nr_pages)` of node `nid` in
    /// `group` goes to when onlined with `online_type` (`zone_for_pfn_range()`), according to
    /// core mm's contig-zones rules and the current zone spans.
    ///
    /// Fails with `EINVAL` if node `nid` is not online (it has no zones).
    pub fn for_pfn_range(
        online_type: OnlineType,
        nid: i32,
        group: Option<&MemoryGroup>,
        start_pfn: usize,
        nr_pages: usize,
    ) -> Result<&'static Zone> {
        if !node_has_zones(nid) {
            return Err(EINVAL);
        }
        let group = group.map_or(ptr::null_mut(), MemoryGroup::as_raw);
        // SAFETY: `group` is null or a registered group; the node is online, so `NODE_DATA(nid)`
        // is valid; the function only computes with the pfns and always returns one of the
        // node's zones.
        let zone = unsafe {
            bindings::zone_for_pfn_range(online_type.as_raw(), nid, group, start_pfn, nr_pages)
        };
        // SAFETY: `zone_for_pfn_range()` returns a zone of a `pg_data_t`, never null.
        unsafe { Zone::from_raw(zone) }.ok_or(EINVAL)
    }
}

/// Returns whether `nid` is an online node, whose `NODE_DATA()` and zones exist. Without NUMA
/// there is one node whatever the id (`NODE_DATA()` ignores it).
pub fn node_has_zones(nid: i32) -> bool {
    if !cfg!(CONFIG_NUMA) {
        return true;
    }
    // SAFETY: `nid` is below `MAX_NUMNODES`.
    (0..bindings::MAX_NUMNODES as i32).contains(&nid) && unsafe { bindings::node_online(nid) }
}

fn group_ptr(group: Option<&MemoryGroup>) -> *mut bindings::memory_group {
    group.map_or(ptr::null_mut(), MemoryGroup::as_raw)
}

/// Checks that `zone` is a zone memory of `mem` may go to: one of the block's node (the
/// online policy is free code; core mm would corrupt two nodes' accounting otherwise).
fn check_zone(mem: &LockedBlock<'_>, zone: &Zone) -> Result {
    if cfg!(CONFIG_NUMA) && crate::warn_on_once!(zone.nid() != mem.nid()) {
        return Err(EINVAL);
    }
    Ok(())
}

/// A failed online or offline of a memory block: the error returned to the caller, and why, as
/// far as known.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// The error.
    pub error: Error,
    /// The memory notifier callback that vetoed an event of the operation.
    pub veto: Option<Veto>,
    /// Core mm's reason for failing `offline_pages()`, e.g. `failure to isolate range`
    /// (`notifier failure` for a veto).
    pub core_mm: Option<&'static CStr>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            veto: None,
            core_mm: None,
        }
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        failure.error
    }
}

/// Onlines the offline block `mem` into `zone` (the core of `memory_block_online()`, after the
/// zone was chosen): under `mem_hotplug_lock`, `MEM_PREPARE_ONLINE`, the initialisation of a
/// memmap_on_memory block's vmemmap, core mm's `online_pages()` (`MEM_GOING_ONLINE`,
/// `MEM_ONLINE` or `MEM_CANCEL_ONLINE`) and the accounting of the vmemmap pages, or
/// `MEM_FINISH_OFFLINE` after a failure. On success the block is online in `zone`.
///
/// Fails with `EINVAL` if the block is not offline or `zone` is not a zone of its node (an
/// online policy is free code), and with the errno of a vetoing notifier (whose callback the
/// failure names) or of core mm.
// A failure carries the vetoing callback's name (`Veto`): failures are rare, and the copy is
// small beside an online or offline.
#[allow(clippy::result_large_err)]
pub fn online_block(mem: &LockedBlock<'_>, zone: &'static Zone) -> Result<(), Failure> {
    use super::notifier::{notify, record_veto, Action};

    if mem.state() != BlockState::Offline || mem.zone().is_some() {
        return Err(EINVAL.into());
    }
    check_zone(mem, zone)?;
    let pfns = mem.pfns();
    let lock = MemHotplugGuard::begin();
    let (ret, veto) = record_veto(&lock, || {
        // A veto of MEM_PREPARE_ONLINE ends the operation without further events.
        notify(&lock, Action::PrepareOnline, mem)?;
        // The vmemmap of a memmap_on_memory block is initialised and accounted at online time,
        // so that it belongs to the same zone as the memory it describes.
        let onlined = init_memmap_on_memory(&lock, mem, zone).and_then(|()| {
            let (start_pfn, nr_pages) = (pfns.memory_start_pfn(), pfns.memory_nr_pages());
            let group = group_ptr(mem.group());
            // SAFETY: `mem_hotplug_lock` is held for write; the range is a registered, offline,
            // device-locked (stable) block with its vmemmap initialised, `zone` its node's.
            let ret = unsafe { bindings::online_pages(start_pfn, nr_pages, zone.as_raw(), group) };
            let ret = to_result(ret);
            if ret.is_err() {
                deinit_memmap_on_memory(&lock, mem);
            }
            ret
        });
        if onlined.is_err() {
            // The return value of MEM_FINISH_OFFLINE is ignored.
            let _ = notify(&lock, Action::FinishOffline, mem);
        }
        onlined
    });
    if let Err(error) = ret {
        return Err(Failure {
            error,
            veto,
            core_mm: None,
        });
    }
    // Accounted once onlining succeeded: the zone is populated now.
    adjust_present_page_count(&lock, mem, true);
    mem.set_zone(Some(zone));
    mem.set_state(BlockState::Online);
    Ok(())
}

/// Offlines the online block `mem` (`memory_block_offline()`): under `mem_hotplug_lock`, core
/// mm's `offline_pages()` (`MEM_GOING_OFFLINE`, `MEM_OFFLINE` or `MEM_CANCEL_OFFLINE`), with
/// the vmemmap pages of a memmap_on_memory block taken out of the accounting around it, then
/// `MEM_FINISH_OFFLINE`. The block reads `going-offline` meanwhile, and offline on success.
///
/// Fails with `EINVAL` if the block is not online or its memory is not in one zone of one node
/// (it cannot be offlined), and with the errno of core mm, with its reason and the callback that
/// vetoed `MEM_GOING_OFFLINE`, if one did.
// A failure carries the vetoing callback's name (`Veto`): failures are rare, and the copy is
// small beside an online or offline.
#[allow(clippy::result_large_err)]
pub fn offline_block(mem: &LockedBlock<'_>) -> Result<(), Failure> {
    use super::notifier::{notify, record_veto, Action};

    if mem.state() != BlockState::Online {
        return Err(EINVAL.into());
    }
    mem.set_state(BlockState::GoingOffline);
    let ret = (|| -> Result<(), Failure> {
        let zone = mem.zone().ok_or(EINVAL)?;
        let pfns = mem.pfns();
        let lock = MemHotplugGuard::begin();
        adjust_present_page_count(&lock, mem, false);
        let mut reason: *const crate::ffi::c_char = ptr::null();
        let (ret, veto) = record_veto(&lock, || {
            let (start_pfn, nr_pages) = (pfns.memory_start_pfn(), pfns.memory_nr_pages());
            let group = group_ptr(mem.group());
            // SAFETY: `mem_hotplug_lock` is held for write; the range is a registered, online,
            // device-locked block in `zone` (`offline_pages()` checks it); `reason` is writable.
            let ret = unsafe {
                bindings::offline_pages(start_pfn, nr_pages, zone.as_raw(), group, &mut reason)
            };
            to_result(ret)
        });
        if let Err(error) = ret {
            adjust_present_page_count(&lock, mem, true);
            // SAFETY: `offline_pages()` sets `reason` to null or to a static string.
            let core_mm = (!reason.is_null()).then(|| unsafe { CStr::from_char_ptr(reason) });
            return Err(Failure {
                error,
                veto,
                core_mm,
            });
        }
        deinit_memmap_on_memory(&lock, mem);
        mem.set_zone(None);
        // The return value of MEM_FINISH_OFFLINE is ignored.
        let _ = notify(&lock, Action::FinishOffline, mem);
        Ok(())
    })();
    mem.set_state(if ret.is_ok() {
        BlockState::Offline
    } else {
        BlockState::Online
    });
    ret
}

/// Initialises the vmemmap pages at the start of a memmap_on_memory block and adds them to
/// `zone` (`mhp_init_memmap_on_memory()`); nothing to do for a block without them.
fn init_memmap_on_memory(_lock: &MemHotplugGuard, mem: &LockedBlock<'_>, zone: &Zone) -> Result {
    let Some((vmemmap_pages, inaccessible)) = mem.altmap() else {
        return Ok(());
    };
    // SAFETY: `mem_hotplug_lock` is held for write; the range is the altmap range of an offline
    // block, which core mm mapped when it added the block.
    to_result(unsafe {
        bindings::mhp_init_memmap_on_memory(
            mem.pfns().start_pfn,
            vmemmap_pages,
            zone.as_raw(),
            inaccessible,
        )
    })
}

/// Undoes [`init_memmap_on_memory`] (`mhp_deinit_memmap_on_memory()`), when the block's memory
/// was not onlined or has been offlined.
fn deinit_memmap_on_memory(_lock: &MemHotplugGuard, mem: &LockedBlock<'_>) {
    let Some((vmemmap_pages, _)) = mem.altmap() else {
        return;
    };
    // SAFETY: `mem_hotplug_lock` is held for write; the range is the block's initialised altmap
    // range, whose memory is offline.
    unsafe { bindings::mhp_deinit_memmap_on_memory(mem.pfns().start_pfn, vmemmap_pages) };
}

/// Adds (`add`) or removes the vmemmap pages of a memmap_on_memory block to or from the
/// present pages of its zone, node and group (`adjust_present_page_count()`); nothing to do for
/// a block without them. Their memmap is initialised (the block is being onlined or offlined).
fn adjust_present_page_count(_lock: &MemHotplugGuard, mem: &LockedBlock<'_>, add: bool) {
    let Some((vmemmap_pages, _)) = mem.altmap() else {
        return;
    };
    let nr_pages = if add {
        vmemmap_pages as isize
    } else {
        -(vmemmap_pages as isize)
    };
    // SAFETY: The block's first pfn has an initialised memmap (its vmemmap pages were
    // initialised), so `pfn_to_page()` is valid; `mem_hotplug_lock` is held for write.
    unsafe {
        bindings::adjust_present_page_count(
            bindings::pfn_to_page(mem.pfns().start_pfn),
            group_ptr(mem.group()),
            nr_pages as _,
        )
    };
}

/// `MHP_NONE`: no memory hotplug flags (a `__force` cast in C, which bindgen skips).
const MHP_NONE: bindings::mhp_t = 0;

/// Adds `[start, start + size)` as System RAM of node `nid` (`__add_memory(…, MHP_NONE)`),
/// creating its memory block devices and auto-onlining them.
///
/// # Safety
///
/// `[start, start + size)` must be RAM that nothing else uses: core mm maps it, builds its
/// memmap and gives it to the page allocator. Only the caller can know that, e.g. firmware
/// that reported a memory device, or the administrator writing to `probe`.
pub unsafe fn add_memory(_lock: &DeviceHotplugLocked, nid: i32, start: u64, size: u64) -> Result {
    // Core mm onlines the node: it must be a possible one.
    if !node_possible(nid) {
        return Err(EINVAL);
    }
    // SAFETY: `device_hotplug_lock` is held, as `__add_memory()` requires; the range is unused
    // RAM (safety requirements).
    to_result(unsafe { bindings::__add_memory(nid, start, size, MHP_NONE) })
}

/// Returns the node that memory at physical address `addr` would be added to.
pub fn memory_add_physaddr_to_nid(addr: u64) -> i32 {
    // SAFETY: No requirements.
    unsafe { bindings::memory_add_physaddr_to_nid(addr) }
}

/// Returns whether node `nid` is possible (`node_possible()`); false for negative ids.
pub fn node_possible(nid: i32) -> bool {
    // SAFETY: The helper checks a bit of a static nodemask; `nid` is in range.
    nid >= 0 && nid < bindings::MAX_NUMNODES as i32 && unsafe { bindings::node_possible(nid) }
}

/// Sparse memory sections: the unit memory blocks are made of.
///
/// # Examples
///
/// ```
/// use kernel::memory::hotplug::{memory_block_size_bytes, section};
/// use kernel::page::PAGE_SIZE;
///
/// assert_eq!(section::PAGES * PAGE_SIZE, section::SIZE);
/// // A memory block is a whole number of sections; block N starts at section N * that.
/// let sections_per_block = memory_block_size_bytes() / section::SIZE;
/// assert!(sections_per_block >= 1);
/// assert_eq!(memory_block_size_bytes() % section::SIZE, 0);
/// let block = 5;
/// let pfn = section::nr_to_pfn(block * sections_per_block);
/// assert_eq!(pfn * PAGE_SIZE, block * memory_block_size_bytes());
/// assert_eq!(section::pfn_to_nr(pfn + section::PAGES - 1), block * sections_per_block);
/// assert_eq!(section::pfn_to_nr(pfn + section::PAGES), block * sections_per_block + 1);
/// ```
pub mod section {
    use crate::bindings;

    /// Returns whether the section of `pfn` is online and in `ZONE_MOVABLE`, or `None` if it is
    /// not online (`pfn_to_online_page()`, `is_zone_movable_page()`).
    pub fn online_zone_is_movable(pfn: usize) -> Option<bool> {
        // SAFETY: `pfn_to_online_page()` validates `pfn`.
        let page = unsafe { bindings::pfn_to_online_page(pfn) };
        // SAFETY: A non-null result is an initialised page of an online section.
        (!page.is_null()).then(|| unsafe { bindings::is_zone_movable_page(page) })
    }

    /// The size of a section in bytes (`MIN_MEMORY_BLOCK_SIZE`).
    pub const SIZE: usize = 1 << bindings::SECTION_SIZE_BITS;

    /// The number of pages in a section (`PAGES_PER_SECTION`).
    pub const PAGES: usize = SIZE >> bindings::PAGE_SHIFT;

    /// Returns the first pfn of section `nr`.
    pub fn nr_to_pfn(nr: usize) -> usize {
        // SAFETY: Pure arithmetic.
        unsafe { bindings::section_nr_to_pfn(nr) }
    }

    /// Returns the section of `pfn`.
    pub fn pfn_to_nr(pfn: usize) -> usize {
        // SAFETY: Pure arithmetic.
        unsafe { bindings::pfn_to_section_nr(pfn) }
    }

    /// Returns whether section `nr` has memory present.
    pub fn is_present(nr: usize) -> bool {
        // SAFETY: `present_section_nr()` checks the bounds of `nr`.
        unsafe { bindings::present_section_nr(nr) }
    }

    /// Returns the first section at or after `start` with memory present, if any
    /// (`next_present_section_nr(start - 1)`, the step of `for_each_present_section_nr()`):
    /// only sections up to [`highest_present`] are looked at.
    pub fn first_present_from(start: usize) -> Option<usize> {
        (start..=highest_present()).find(|&nr| is_present(nr))
    }

    /// Returns the highest section with memory present (core mm raises it when memory is
    /// added).
    pub fn highest_present() -> usize {
        // SAFETY: A racy read of an aligned `unsigned long`, which core mm only raises
        // (`section_mark_present()`), as its own readers (`next_present_section_nr()`) do.
        unsafe { bindings::highest_present_section_nr() }
    }
}

/// Where the memmap of hot-added memory goes (`memory_hotplug.memmap_on_memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemmapOnMemory {
    /// Allocated from other memory (`N`).
    Disabled,
    /// Inside the added memory itself where its size allows (`Y`).
    Enabled,
    /// Inside the added memory, rounded up to full pageblocks, wasting memory where needed
    /// (`force`).
    Force,
}

/// Sets memmap_on_memory for memory added from now on (`mhp_set_memmap_on_memory()`).
///
/// Core mm reads the mode when memory is added, under `mem_hotplug_lock`. Blocks added earlier
/// keep their altmap whatever the mode becomes: their removal frees it.
#[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
pub fn set_memmap_on_memory(_lock: &MemHotplugGuard, mode: MemmapOnMemory) {
    // SAFETY: `mem_hotplug_lock` is held for write (the guard), as the function requires.
    unsafe {
        bindings::mhp_set_memmap_on_memory(
            mode != MemmapOnMemory::Disabled,
            mode == MemmapOnMemory::Force,
        )
    };
}

/// Returns the memory block size in bytes (`memory_block_size_bytes()`), which the
/// architecture may override.
pub fn memory_block_size_bytes() -> usize {
    // SAFETY: No requirements.
    unsafe { bindings::memory_block_size_bytes() }
}

/// Returns the physical device of the memory at `start_pfn` (`arch_get_memory_phys_device()`;
/// 0 except on s390).
pub fn arch_get_memory_phys_device(start_pfn: usize) -> i32 {
    // SAFETY: No requirements.
    unsafe { bindings::arch_get_memory_phys_device(start_pfn) }
}

/// Returns whether a crash kernel is loaded that supports memory hotplug
/// (`crash_check_hotplug_support()`).
#[cfg(CONFIG_CRASH_HOTPLUG)]
pub fn crash_check_hotplug_support() -> i32 {
    // SAFETY: No requirements.
    unsafe { bindings::crash_check_hotplug_support() }
}

/// Returns whether the current task has `CAP_SYS_ADMIN` (`capable(CAP_SYS_ADMIN)`).
pub fn capable_sys_admin() -> bool {
    // SAFETY: Called from process context.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as _) }
}

/// Memory failure handling (hwpoison), `mm/memory-failure.c`.
#[cfg(CONFIG_MEMORY_FAILURE)]
pub mod memory_failure {
    use crate::{bindings, error::to_result, prelude::*};

    /// Soft-offlines the page at `pfn` (`soft_offline_page(pfn, 0)`): migrates its content and
    /// takes it out of use.
    pub fn soft_offline_page(pfn: usize) -> Result {
        // SAFETY: The function validates `pfn`.
        to_result(unsafe { bindings::soft_offline_page(pfn, 0) })
    }

    /// Handles the page at `pfn` as if it had a hardware memory error
    /// (`memory_failure(pfn, MF_SW_SIMULATED)`).
    pub fn memory_failure_simulated(pfn: usize) -> Result {
        // SAFETY: The function validates `pfn`.
        to_result(unsafe { bindings::memory_failure(pfn, bindings::mf_flags_MF_SW_SIMULATED as _) })
    }

    /// Subtracts `nr` from the global count of poisoned pages (`num_poisoned_pages_sub(-1UL,
    /// nr)`), as done when the memory that holds them is removed.
    pub fn num_poisoned_pages_sub(nr: isize) {
        // SAFETY: The pfn `-1UL` means "no memory block to update".
        unsafe { bindings::num_poisoned_pages_sub(usize::MAX, nr as _) };
    }
}

/// No node (`NUMA_NO_NODE`): the node of a memory block before it is linked to one.
pub const NUMA_NO_NODE: i32 = bindings::NUMA_NO_NODE;
