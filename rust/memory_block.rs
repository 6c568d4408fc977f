// SPDX-License-Identifier: GPL-2.0

//! Memory block device driver: the `memory` subsystem in Rust.
//!
//! A drop-in for `drivers/base/memory.c` (selected with `CONFIG_MEMORY_HOTPLUG_RUST`). It
//! provides the memory block devices `/sys/devices/system/memory/memoryN`, the subsystem's
//! root files, memory groups and the memory notifier chain, with the same sysfs ABI, errors,
//! uevents and notifier protocol as the C driver.
//!
//! Memory is divided into blocks of `memory_block_size_bytes()`; block `N` covers the physical
//! range `[N * size, (N + 1) * size)`. Blocks are created for boot memory by
//! `memory_dev_init()` and for hot-added memory by core mm (`create_memory_block_devices()`),
//! and onlined or offlined through the driver core (`device_online()`/`device_offline()`),
//! which calls [`MemoryBlocks::online`] and [`MemoryBlocks::offline`].

use core::fmt::Write;
use kernel::{
    memory::{
        block::{Altmap, BlockState, GroupKind, LockedBlock, MemoryBlock, MemoryGroup},
        hotplug::{
            self, section, DeviceHotplugGuard, DeviceHotplugLocked, MemHotplugGuard, OnlineType,
            Zone, NUMA_NO_NODE,
        },
        notifier::{self, Action, BlockRange},
        policy,
        subsys::{
            kstrtoull, sysfs_streq, BlockAttr, Buffer, LateInit, RootAttr, Subsys, Subsystem,
        },
    },
    page::PAGE_SHIFT,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    str::CStr,
    sync::{new_spinlock, SpinLock},
    types::ARef,
};

/// The prefix of this driver's messages.
const __LOG_PREFIX: &[u8] = b"memory\0";

kernel::memory_block_subsys!(MemoryBlocks);

/// The memory block driver.
struct MemoryBlocks;

/// The driver's state, created by `memory_dev_init()`.
#[pin_data]
struct State {
    subsys: &'static Subsys,
    /// Sections per memory block.
    sections_per_block: usize,
    /// The registered memory blocks by block id. Each entry holds the block device's
    /// registration reference.
    #[pin]
    blocks: SpinLock<RBTree<usize, ARef<MemoryBlock>>>,
    /// The memory groups by id.
    #[pin]
    groups: SpinLock<RBTree<i32, Pin<KBox<MemoryGroup>>>>,
}

static STATE: LateInit<State> = LateInit::new();

/// Returns the driver state. Every entry point but the notifier chain runs after
/// `memory_dev_init()`, which panics if it cannot create the state.
fn state() -> &'static State {
    STATE
        .get()
        .expect("memory block driver used before memory_dev_init()")
}

impl State {
    fn block_size(&self) -> usize {
        self.sections_per_block * section::SIZE
    }

    fn pages_per_block(&self) -> usize {
        self.sections_per_block * section::PAGES
    }

    fn block_id(&self, section_nr: usize) -> usize {
        section_nr / self.sections_per_block
    }

    fn pfn_to_block_id(&self, pfn: usize) -> usize {
        self.block_id(section::pfn_to_nr(pfn))
    }

    fn phys_to_block_id(&self, phys: usize) -> usize {
        self.pfn_to_block_id(phys >> PAGE_SHIFT)
    }

    /// The first pfn and the number of pages of `mem`.
    fn pfn_range(&self, mem: &MemoryBlock) -> (usize, usize) {
        (
            section::nr_to_pfn(mem.start_section_nr()),
            self.pages_per_block(),
        )
    }

    fn find_block_by_id(&self, id: usize) -> Option<ARef<MemoryBlock>> {
        self.blocks.lock().get(&id).cloned()
    }

    /// Creates block `id` (`add_memory_block()`): fails with `EEXIST` if it exists.
    fn add_block(
        &self,
        lock: &DeviceHotplugLocked,
        id: usize,
        state: BlockState,
        altmap: Option<Altmap>,
        group: Option<&MemoryGroup>,
    ) -> Result {
        if self.find_block_by_id(id).is_some() {
            return Err(EEXIST);
        }
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let start_section_nr = id * self.sections_per_block;
        // Without NUMA no node registration fills in the zone of boot memory: do it here.
        let zone = if cfg!(CONFIG_NUMA) || state != BlockState::Online {
            None
        } else {
            Zone::single_zone_for_range(
                NUMA_NO_NODE,
                section::nr_to_pfn(start_section_nr),
                self.pages_per_block(),
            )
        };
        let mem =
            self.subsys
                .register_block(lock, id, start_section_nr, state, altmap, group, zone)?;
        self.blocks.lock().insert(node.into_node(id, mem));
        Ok(())
    }

    /// Removes block `id` (`remove_memory_block()`), if it exists.
    fn remove_block(&self, lock: &DeviceHotplugLocked, id: usize, unlink_nodes: bool) -> bool {
        let Some(mem) = self.blocks.lock().remove(&id) else {
            return false;
        };
        if unlink_nodes {
            #[cfg(CONFIG_MEMORY_FAILURE)]
            hotplug::memory_failure::num_poisoned_pages_sub(mem.nr_hwpoison());
            mem.unregister_under_nodes(lock);
        }
        self.subsys.unregister_block(lock, mem);
        true
    }

    /// Checks that `[start, start + size)` is block aligned, as core mm guarantees.
    fn check_aligned(&self, start: usize, size: usize) -> Result {
        let mask = self.block_size() - 1;
        if start & mask != 0 || size & mask != 0 {
            pr_warn!(
                "unaligned memory block range [{:#x}, {:#x})\n",
                start,
                start + size
            );
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// Onlines `mem` into the zone of its online type (`memory_block_online()`).
///
/// Sends `MEM_PREPARE_ONLINE` (and `MEM_FINISH_OFFLINE` if onlining then fails) around core
/// mm's `online_pages()`, which sends `MEM_GOING_ONLINE` and `MEM_ONLINE`.
fn block_online(st: &State, mem: &LockedBlock<'_>) -> Result {
    let (start_pfn, nr_pages) = st.pfn_range(mem);
    if mem.nr_hwpoison() != 0 {
        return Err(hotplug::ehwpoison());
    }
    // Chosen before taking `mem_hotplug_lock`, like C; `device_hotplug_lock` serialises
    // onlines.
    let zone = policy::zone_for_pfn_range(
        mem.online_type(),
        mem.nid(),
        mem.group(),
        start_pfn,
        nr_pages,
    );
    // The vmemmap of a memmap_on_memory block is initialised and accounted at online time,
    // so that it belongs to the same zone as the memory it describes.
    let (vmemmap_pages, inaccessible) = mem.altmap().unwrap_or((0, false));
    let range = BlockRange {
        altmap_start_pfn: start_pfn,
        altmap_nr_pages: vmemmap_pages,
        start_pfn: start_pfn + vmemmap_pages,
        nr_pages: nr_pages - vmemmap_pages,
    };

    let lock = MemHotplugGuard::begin();
    // A veto of MEM_PREPARE_ONLINE ends the operation without further events.
    notifier::notify(&lock, Action::PrepareOnline, &range)?;
    let onlined = (|| {
        if vmemmap_pages != 0 {
            hotplug::init_memmap_on_memory(&lock, start_pfn, vmemmap_pages, zone, inaccessible)?;
        }
        let ret = hotplug::online_pages(&lock, range.start_pfn, range.nr_pages, zone, mem.group());
        if ret.is_err() && vmemmap_pages != 0 {
            hotplug::deinit_memmap_on_memory(&lock, start_pfn, vmemmap_pages);
        }
        ret
    })();
    if let Err(e) = onlined {
        // The return value of MEM_FINISH_OFFLINE is ignored.
        let _ = notifier::notify(&lock, Action::FinishOffline, &range);
        return Err(e);
    }
    // Accounted once onlining succeeded: the zone is populated now.
    if vmemmap_pages != 0 {
        hotplug::adjust_present_page_count(&lock, start_pfn, mem.group(), vmemmap_pages as isize);
    }
    mem.set_zone(Some(zone));
    Ok(())
}

/// Offlines `mem` (`memory_block_offline()`).
///
/// Core mm's `offline_pages()` sends `MEM_GOING_OFFLINE` and `MEM_OFFLINE` (or
/// `MEM_CANCEL_OFFLINE`); on success this sends `MEM_FINISH_OFFLINE`.
fn block_offline(st: &State, mem: &LockedBlock<'_>) -> Result {
    let (start_pfn, nr_pages) = st.pfn_range(mem);
    // A block spanning several zones or nodes cannot be offlined.
    let zone = mem.zone().ok_or(EINVAL)?;
    let vmemmap_pages = mem.altmap().map_or(0, |(pages, _)| pages);

    let lock = MemHotplugGuard::begin();
    if vmemmap_pages != 0 {
        hotplug::adjust_present_page_count(
            &lock,
            start_pfn,
            mem.group(),
            -(vmemmap_pages as isize),
        );
    }
    let ret = hotplug::offline_pages(
        &lock,
        start_pfn + vmemmap_pages,
        nr_pages - vmemmap_pages,
        zone,
        mem.group(),
    );
    if let Err(e) = ret {
        if vmemmap_pages != 0 {
            hotplug::adjust_present_page_count(
                &lock,
                start_pfn,
                mem.group(),
                vmemmap_pages as isize,
            );
        }
        return Err(e);
    }
    if vmemmap_pages != 0 {
        hotplug::deinit_memmap_on_memory(&lock, start_pfn, vmemmap_pages);
    }
    mem.set_zone(None);
    let range = BlockRange {
        altmap_start_pfn: start_pfn,
        altmap_nr_pages: vmemmap_pages,
        start_pfn: start_pfn + vmemmap_pages,
        nr_pages: nr_pages - vmemmap_pages,
    };
    // The return value of MEM_FINISH_OFFLINE is ignored.
    let _ = notifier::notify(&lock, Action::FinishOffline, &range);
    Ok(())
}

/// Moves `mem` from state `from` to `to` (`memory_block_change_state()`); the state reads
/// `going-offline` while an offline runs and is restored if the change fails.
fn change_state(mem: &LockedBlock<'_>, to: BlockState, from: BlockState) -> Result {
    if mem.state() != from {
        return Err(EINVAL);
    }
    if to == BlockState::Offline {
        mem.set_state(BlockState::GoingOffline);
    }
    let st = state();
    let ret = if to == BlockState::Online {
        block_online(st, mem)
    } else {
        block_offline(st, mem)
    };
    mem.set_state(if ret.is_ok() { to } else { from });
    ret
}

/// Writes the zone `online_type` would choose, preceded by a space, unless it is `default`.
fn print_allowed_zone(
    buf: &mut Buffer,
    mem: &MemoryBlock,
    (start_pfn, nr_pages): (usize, usize),
    online_type: OnlineType,
    default: &Zone,
) -> Result {
    let zone = policy::zone_for_pfn_range(online_type, mem.nid(), mem.group(), start_pfn, nr_pages);
    if !core::ptr::eq(zone, default) {
        write!(buf, " {}", zone.name())?;
    }
    Ok(())
}

/// Parses a physical address written to `probe`, `soft_offline_page` or `hard_offline_page`.
fn parse_phys(input: &CStr) -> Result<u64> {
    kstrtoull(input, 0)
}

impl MemoryBlocks {
    fn show_block(attr: BlockAttr, mem: &MemoryBlock, buf: &mut Buffer) -> Result {
        let st = state();
        match attr {
            BlockAttr::PhysIndex => writeln!(buf, "{:08x}", st.block_id(mem.start_section_nr()))?,
            BlockAttr::State => match mem.state() {
                BlockState::Online => writeln!(buf, "online")?,
                BlockState::Offline => writeln!(buf, "offline")?,
                BlockState::GoingOffline => writeln!(buf, "going-offline")?,
                BlockState::Other(n) => {
                    pr_err!(
                        "memory{}: unknown state {}\n",
                        st.block_id(mem.start_section_nr()),
                        n
                    );
                    writeln!(buf, "ERROR-UNKNOWN-{}", n)?
                }
            },
            BlockAttr::PhysDevice => {
                let (start_pfn, _) = st.pfn_range(mem);
                writeln!(buf, "{}", hotplug::arch_get_memory_phys_device(start_pfn))?
            }
            BlockAttr::Removable => writeln!(buf, "{}", i32::from(cfg!(CONFIG_MEMORY_HOTREMOVE)))?,
            BlockAttr::ValidZones => {
                // An online block shows its zone; `none` if it spans several zones or nodes
                // (and cannot be offlined).
                if mem.state() == BlockState::Online {
                    match mem.zone() {
                        Some(zone) => writeln!(buf, "{}", zone.name())?,
                        None => writeln!(buf, "none")?,
                    }
                    return Ok(());
                }
                // An offline block shows the zone a plain online would choose now, then the
                // other zones it may be onlined to.
                let range = st.pfn_range(mem);
                let default = policy::zone_for_pfn_range(
                    OnlineType::Online,
                    mem.nid(),
                    mem.group(),
                    range.0,
                    range.1,
                );
                write!(buf, "{}", default.name())?;
                for online_type in [OnlineType::OnlineKernel, OnlineType::OnlineMovable] {
                    print_allowed_zone(buf, mem, range, online_type, default)?;
                }
                writeln!(buf)?
            }
        }
        Ok(())
    }

    fn show_root(attr: RootAttr, buf: &mut Buffer) -> Result {
        match attr {
            RootAttr::BlockSizeBytes => writeln!(buf, "{:x}", hotplug::memory_block_size_bytes())?,
            RootAttr::AutoOnlineBlocks => {
                writeln!(buf, "{}", hotplug::default_online_type().name())?
            }
            #[cfg(CONFIG_CRASH_HOTPLUG)]
            RootAttr::CrashHotplug => writeln!(buf, "{}", hotplug::crash_check_hotplug_support())?,
            _ => return Err(EIO),
        }
        Ok(())
    }

    /// `probe`: adds one memory block at the written physical address.
    fn probe(input: &CStr) -> Result {
        let st = state();
        let addr = parse_phys(input)?;
        if addr & (st.block_size() as u64 - 1) != 0 {
            return Err(EINVAL);
        }
        let lock = DeviceHotplugGuard::lock_sysfs()?;
        let nid = hotplug::memory_add_physaddr_to_nid(addr);
        hotplug::add_memory(&lock, nid, addr, st.block_size() as u64)
    }

    /// `soft_offline_page` and `hard_offline_page`.
    #[cfg(CONFIG_MEMORY_FAILURE)]
    fn offline_page(input: &CStr, hard: bool) -> Result {
        use hotplug::memory_failure;

        if !hotplug::capable_sys_admin() {
            return Err(EPERM);
        }
        let pfn = (parse_phys(input).map_err(|_| EINVAL)? >> PAGE_SHIFT) as usize;
        if !hard {
            return memory_failure::soft_offline_page(pfn);
        }
        match memory_failure::memory_failure_simulated(pfn) {
            Err(e) if e == hotplug::eopnotsupp() => Ok(()),
            ret => ret,
        }
    }
}

impl Subsystem for MemoryBlocks {
    fn dev_init(subsys: &'static Subsys) {
        let block_size = hotplug::memory_block_size_bytes();
        if !block_size.is_power_of_two() || block_size < section::SIZE {
            panic!("Memory block size not suitable: {:#x}\n", block_size);
        }
        let sections_per_block = block_size / section::SIZE;
        let st = STATE
            .init(pin_init!(State {
                subsys,
                sections_per_block,
                blocks <- new_spinlock!(RBTree::new(), "memory_blocks"),
                groups <- new_spinlock!(RBTree::new(), "memory_groups"),
            }))
            .unwrap_or_else(|e| panic!("memory_dev_init() failed to allocate: {:?}\n", e));
        if let Err(e) = subsys.register() {
            panic!("memory_dev_init() failed to register subsystem: {:?}\n", e);
        }
        // Boot memory: one online block for every block-sized range with a present section,
        // up to the highest present section.
        let lock = DeviceHotplugGuard::lock();
        let highest = section::highest_present();
        for base in (0..=highest).step_by(sections_per_block) {
            if !(base..base + sections_per_block).any(section::is_present) {
                continue;
            }
            if let Err(e) = st.add_block(&lock, st.block_id(base), BlockState::Online, None, None) {
                panic!("memory_dev_init() failed to add memory block: {:?}\n", e);
            }
        }
    }

    fn online(mem: &LockedBlock<'_>) -> Result {
        if mem.state() == BlockState::Online {
            return Ok(());
        }
        // Without a requested type (`echo 1 > online`, ACPI, ...) the online policy chooses.
        if mem.online_type() == OnlineType::Offline {
            mem.set_online_type(OnlineType::Online);
        }
        let ret = change_state(mem, BlockState::Online, BlockState::Offline);
        mem.set_online_type(OnlineType::Offline);
        ret
    }

    fn offline(mem: &LockedBlock<'_>) -> Result {
        if mem.state() == BlockState::Offline {
            return Ok(());
        }
        change_state(mem, BlockState::Offline, BlockState::Online)
    }

    fn block_show(attr: BlockAttr, mem: &MemoryBlock, buf: &mut Buffer) -> Result {
        Self::show_block(attr, mem, buf)
    }

    fn block_store(attr: BlockAttr, mem: &MemoryBlock, input: &CStr) -> Result {
        if attr != BlockAttr::State {
            return Err(EIO);
        }
        let online_type = Self::online_type_from_str(input)?;
        let lock = DeviceHotplugGuard::lock_sysfs()?;
        let changed = if online_type == OnlineType::Offline {
            mem.device_offline(&lock)?
        } else {
            mem.set_online_type(&lock, online_type);
            mem.device_online(&lock)?
        };
        drop(lock);
        // Already in the requested state.
        if !changed {
            return Err(EINVAL);
        }
        Ok(())
    }

    fn root_show(attr: RootAttr, buf: &mut Buffer) -> Result {
        Self::show_root(attr, buf)
    }

    fn root_store(attr: RootAttr, input: &CStr) -> Result {
        match attr {
            RootAttr::AutoOnlineBlocks => {
                hotplug::set_default_online_type(Self::online_type_from_str(input)?);
                Ok(())
            }
            RootAttr::Probe => Self::probe(input),
            #[cfg(CONFIG_MEMORY_FAILURE)]
            RootAttr::SoftOfflinePage => Self::offline_page(input, false),
            #[cfg(CONFIG_MEMORY_FAILURE)]
            RootAttr::HardOfflinePage => Self::offline_page(input, true),
            _ => Err(EIO),
        }
    }

    fn online_type_from_str(input: &CStr) -> Result<OnlineType> {
        OnlineType::ALL
            .into_iter()
            .find(|t| sysfs_streq(input, t.name()))
            .ok_or(EINVAL)
    }

    fn find_memory_block(section_nr: usize) -> Option<ARef<MemoryBlock>> {
        let st = state();
        st.find_block_by_id(st.block_id(section_nr))
    }

    fn walk_memory_blocks(
        start: usize,
        size: usize,
        func: &mut dyn FnMut(&MemoryBlock) -> i32,
    ) -> i32 {
        if size == 0 {
            return 0;
        }
        let st = state();
        let first = st.phys_to_block_id(start);
        let last = st.phys_to_block_id(start + size - 1);
        for id in first..=last {
            let Some(mem) = st.find_block_by_id(id) else {
                continue;
            };
            let ret = func(&mem);
            if ret != 0 {
                return ret;
            }
        }
        0
    }

    fn for_each_memory_block(func: &mut dyn FnMut(&MemoryBlock) -> i32) -> i32 {
        let st = state();
        let mut next = 0;
        loop {
            // The callback may sleep: look up the next block under the lock, call it without.
            let mem = {
                let mut blocks = st.blocks.lock();
                match blocks.cursor_lower_bound(&next) {
                    Some(cursor) => {
                        let (id, mem) = cursor.current();
                        next = *id + 1;
                        mem.clone()
                    }
                    None => return 0,
                }
            };
            let ret = func(&mem);
            if ret != 0 {
                return ret;
            }
        }
    }

    fn add_nid(lock: &DeviceHotplugLocked, mem: &MemoryBlock, nid: i32, early: bool) {
        if early && mem.nid() != nid {
            // For early memory the zone is known once the node is: the block's zone is the
            // only populated zone of the node intersecting it. A block in several nodes has
            // no single zone.
            let zone = if mem.nid() == NUMA_NO_NODE {
                let (start_pfn, nr_pages) = state().pfn_range(mem);
                Zone::single_zone_for_range(nid, start_pfn, nr_pages)
            } else {
                None
            };
            mem.set_zone(lock, zone);
        }
        // Hot-added memory is checked by core mm to be within one node.
        mem.set_nid(lock, nid);
    }

    fn create_blocks(
        lock: &DeviceHotplugLocked,
        start: usize,
        size: usize,
        altmap: Option<Altmap>,
        group: Option<&MemoryGroup>,
    ) -> Result {
        let st = state();
        st.check_aligned(start, size)?;
        let first = st.phys_to_block_id(start);
        let end = st.phys_to_block_id(start + size);
        for id in first..end {
            if let Err(e) = st.add_block(lock, id, BlockState::Offline, altmap, group) {
                // Undo the blocks created so far.
                for created in first..id {
                    if !st.remove_block(lock, created, false) {
                        pr_warn!("memory{} vanished while being created\n", created);
                    }
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn remove_blocks(lock: &DeviceHotplugLocked, start: usize, size: usize) {
        let st = state();
        if st.check_aligned(start, size).is_err() {
            return;
        }
        for id in st.phys_to_block_id(start)..st.phys_to_block_id(start + size) {
            if !st.remove_block(lock, id, true) {
                pr_warn!("removing memory{}, which does not exist\n", id);
            }
        }
    }

    fn group_register(nid: i32, kind: GroupKind) -> Result<i32> {
        let st = state();
        match kind {
            GroupKind::Static { max_pages: 0 } => return Err(EINVAL),
            GroupKind::Dynamic { unit_pages }
                if !unit_pages.is_power_of_two() || unit_pages < st.pages_per_block() =>
            {
                return Err(EINVAL)
            }
            _ => {}
        }
        if !hotplug::node_possible(nid) {
            return Err(EINVAL);
        }
        let group = MemoryGroup::new(nid, kind)?;
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut groups = st.groups.lock();
        // The lowest free id in [0, INT_MAX], like an allocating xarray.
        let mut id = 0;
        for used in groups.keys() {
            if *used != id {
                break;
            }
            id = id.checked_add(1).ok_or(EBUSY)?;
        }
        groups.insert(node.into_node(id, group));
        Ok(id)
    }

    fn group_unregister(mgid: i32) -> Result {
        let st = state();
        if mgid < 0 {
            return Err(EINVAL);
        }
        let mut groups = st.groups.lock();
        let group = groups.get(&mgid).ok_or(EINVAL)?;
        if group.has_blocks() {
            return Err(EBUSY);
        }
        groups.remove(&mgid);
        Ok(())
    }

    fn with_group<R>(mgid: i32, f: impl FnOnce(Option<&MemoryGroup>) -> R) -> R {
        let groups = state().groups.lock();
        f(groups.get(&mgid).map(|g| &**g))
    }

    fn walk_dynamic_groups(
        nid: i32,
        excluded: Option<&MemoryGroup>,
        func: &mut dyn FnMut(&MemoryGroup) -> i32,
    ) -> i32 {
        // The callbacks (auto-movable statistics) only add up counters.
        let groups = state().groups.lock();
        for group in groups.values() {
            let group: &MemoryGroup = group;
            if !group.is_dynamic() || excluded.is_some_and(|e| core::ptr::eq(e, group)) {
                continue;
            }
            if cfg!(CONFIG_NUMA) && nid != NUMA_NO_NODE && group.nid() != nid {
                continue;
            }
            let ret = func(group);
            if ret != 0 {
                return ret;
            }
        }
        0
    }

    fn poison_add(_pfn: usize, _nr: isize) {
        #[cfg(CONFIG_MEMORY_FAILURE)]
        if let Some(st) = STATE.get() {
            if let Some(mem) = st.find_block_by_id(st.pfn_to_block_id(_pfn)) {
                mem.add_hwpoison(_nr);
            }
        }
    }
}
