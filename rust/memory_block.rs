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

use core::{fmt::Write, ops::Range};
use history::{FinishedOp, History, Timer};
use kernel::{
    debugfs,
    memory::{
        block::{
            Altmap, BlockGeometry, BlockState, GroupKind, LockedBlock, MemoryBlock, MemoryGroup,
        },
        hotplug::{
            self, section, DeviceHotplugGuard, DeviceHotplugLocked, OnlineType, StateChangeFailure,
            Zone, NUMA_NO_NODE,
        },
        late_init::LateInit,
        policy,
        subsys::{BlockAttr, Buffer, ProbeWrite, RegisteredBlock, RootAttr, Subsys, Subsystem},
    },
    page::PAGE_SHIFT,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    seq_file::SeqFile,
    str::CStr,
    sync::{new_mutex, new_spinlock, Arc, Mutex, SpinLock},
    types::ARef,
    xarray::XArray,
};

// The crate root is `memory_block.rs`, so its modules are looked up next to it.
#[path = "memory_block/history.rs"]
mod history;

/// The prefix of this driver's messages.
const __LOG_PREFIX: &[u8] = b"memory\0";

kernel::memory_block_subsys!(MemoryBlocks);

/// The memory block driver.
struct MemoryBlocks;

/// The driver's state, created by `memory_dev_init()`.
#[pin_data]
struct State {
    subsys: &'static Subsys,
    /// The size of memory blocks, and so the sections and pfns of each.
    geometry: BlockGeometry,
    /// The registered memory blocks by block id, looked up without a lock (as C's xarray).
    /// Each entry holds the block device's registration reference.
    #[pin]
    blocks: XArray<RegisteredBlock>,
    /// The memory groups by id.
    #[pin]
    groups: SpinLock<RBTree<i32, Arc<MemoryGroup>>>,
    /// The onlines and offlines done, and the recent failures.
    #[pin]
    history: Mutex<History>,
}

static STATE: LateInit<State> = LateInit::new();

/// The driver's debugfs files, `/sys/kernel/debug/memory_block/`, created by the late
/// initcall.
struct Debugfs {
    _failures: debugfs::File<FailuresFile>,
    _stats: debugfs::File<StatsFile>,
    _policy: debugfs::File<PolicyFile>,
}

static DEBUGFS: LateInit<Debugfs> = LateInit::new();

/// `failures`: the recent failed onlines and offlines, with their reasons.
struct FailuresFile;

#[vtable]
impl debugfs::FileOps for FailuresFile {
    fn show(&self, m: &mut SeqFile) -> Result {
        state().history.lock().show_failures(m)
    }
}

/// `stats`: onlines and offlines by zone type.
struct StatsFile;

#[vtable]
impl debugfs::FileOps for StatsFile {
    fn show(&self, m: &mut SeqFile) -> Result {
        state().history.lock().show_stats(m)
    }
}

/// `policy`: the online policy, what it decides with, the memory groups, and each block: the
/// zone of an online one, and for an offline one the zone a plain `online` would choose now,
/// with why.
struct PolicyFile;

#[vtable]
impl debugfs::FileOps for PolicyFile {
    fn show(&self, m: &mut SeqFile) -> Result {
        let st = state();
        policy::show(m)?;
        st.show_groups(m)?;
        let mut next = 0;
        // Like `valid_zones`, under `device_hotplug_lock`: the answer is the one a read of
        // `valid_zones` would give now. (The file is never removed, so waiting for the lock
        // cannot deadlock with a removal that holds it.)
        let lock = DeviceHotplugGuard::lock();
        while let Some((id, mem)) = st.blocks.find(next) {
            write!(m, "memory{id}")?;
            if let Some(gid) = mem.group().and_then(|g| st.group_id(g)) {
                write!(m, " (group {gid})")?;
            }
            if mem.state() == BlockState::Offline {
                let (start_pfn, nr_pages) = mem.pfn_range();
                let mut explanation = ExplanationLine::new();
                let zone = policy::explain_zone_for_online(
                    &lock,
                    mem.nid(),
                    mem.group(),
                    start_pfn,
                    nr_pages,
                    &mut explanation,
                );
                let (why, cut) = explanation.text();
                match zone {
                    Ok(zone) => writeln!(m, ": {} ({why}{cut})", zone.name())?,
                    Err(e) => {
                        write!(m, ": ")?;
                        history::write_errno(m, e)?;
                        writeln!(m, " ({why}{cut})")?
                    }
                }
            } else {
                // An online block's zone, as `valid_zones` shows it.
                match (mem.state(), mem.zone()) {
                    (BlockState::Online, Some(zone)) => writeln!(m, ": online {}", zone.name())?,
                    (BlockState::Online, None) => writeln!(m, ": online none")?,
                    _ => writeln!(m, ": going-offline")?,
                }
            }
            match id.checked_add(1) {
                Some(n) => next = n,
                None => break,
            }
        }
        Ok(())
    }
}

/// The online policy's explanation of a zone choice: a line of text in a fixed buffer, cut
/// short with `...` if it does not fit.
struct ExplanationLine {
    buf: [u8; 256],
    len: usize,
    cut: bool,
}

impl ExplanationLine {
    fn new() -> Self {
        Self {
            buf: [0; 256],
            len: 0,
            cut: false,
        }
    }

    /// The text that fit, then `...` if some did not.
    fn text(&self) -> (&str, &'static str) {
        // Whole `str`s are copied in, so only the last character can be cut.
        let text = match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        };
        (text, if self.cut { "..." } else { "" })
    }
}

impl Write for ExplanationLine {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self.cut |= n < s.len();
        Ok(())
    }
}

/// Returns the driver state. Every entry point but the notifier chain runs after
/// `memory_dev_init()`, which panics if it cannot create the state.
fn state() -> &'static State {
    STATE
        .get()
        .expect("memory block driver used before memory_dev_init()")
}

impl State {
    /// Returns the id of block `mem` (`memoryN`).
    fn block_id(&self, mem: &MemoryBlock) -> usize {
        self.geometry.block_id(mem.start_section_nr())
    }

    fn find_block_by_id(&self, id: usize) -> Option<ARef<MemoryBlock>> {
        self.blocks.get(id)
    }

    /// Creates block `id` (`add_memory_block()`): fails with `EEXIST` if it exists.
    ///
    /// # Safety
    ///
    /// Block `id` has present sections (at least one) added to core mm, and `state` is the
    /// real state of its memory ([`Subsys::register_block`]).
    unsafe fn add_block(
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
        let start_section_nr = self.geometry.first_section_nr(id);
        // SAFETY: Block `id` starts at `start_section_nr`, whose block is not registered (no
        // block `id` exists); its sections and `state` are as the safety requirements say.
        let mem = unsafe {
            self.subsys
                .register_block(lock, start_section_nr, state, altmap, group)?
        };
        // Like C, a block that cannot be looked up is unregistered again.
        if let Err((e, mem)) = self.blocks.insert(id, mem, GFP_KERNEL) {
            self.subsys.unregister_new_block(lock, mem);
            return Err(e);
        }
        Ok(())
    }

    /// Removes the blocks `ids` (`remove_memory_block()` of each), which all exist. Lookups
    /// that raced with the removal may still hold references: the last one frees the block.
    fn remove_range(&self, lock: &DeviceHotplugLocked, ids: Range<usize>, unlink_nodes: bool) {
        for id in ids {
            let Some(mem) = self.blocks.remove(id) else {
                kernel::warn_on_once!(true);
                continue;
            };
            self.unregister_block(lock, mem, unlink_nodes);
        }
    }

    /// Unregisters a block taken out of `blocks`; `unlink_nodes` for memory being removed,
    /// which also takes its hwpoisoned pages out of the global count.
    fn unregister_block(
        &self,
        lock: &DeviceHotplugLocked,
        mem: RegisteredBlock,
        unlink_nodes: bool,
    ) {
        if unlink_nodes {
            #[cfg(CONFIG_MEMORY_FAILURE)]
            hotplug::memory_failure::num_poisoned_pages_sub(mem.nr_hwpoison());
            mem.unregister_under_nodes(lock);
        }
        self.subsys.unregister_block(lock, mem);
    }

    /// Returns the id of the registered group `group`.
    fn group_id(&self, group: &MemoryGroup) -> Option<i32> {
        let groups = self.groups.lock();
        groups
            .iter()
            .find(|(_, g)| core::ptr::eq(&***g, group))
            .map(|(id, _)| *id)
    }

    /// Writes a line per memory group: its node, kind and present pages.
    fn show_groups(&self, m: &mut SeqFile) -> Result {
        let mib = |pages: usize| (pages << PAGE_SHIFT) >> 20;
        // Writing to a `seq_file` does not sleep.
        let groups = self.groups.lock();
        for (id, g) in groups.iter() {
            write!(m, "group {id}: node {} ", g.nid())?;
            match g.kind() {
                GroupKind::Static { max_pages } => write!(m, "static {}M", mib(max_pages))?,
                GroupKind::Dynamic { unit_pages } => {
                    write!(m, "dynamic unit {}M", mib(unit_pages))?
                }
            }
            writeln!(
                m,
                ": kernel {}M movable {}M",
                mib(g.present_kernel_pages()),
                mib(g.present_movable_pages())
            )?;
        }
        Ok(())
    }

    /// Checks that `[start, start + size)` is block aligned, as core mm guarantees.
    fn check_aligned(&self, start: usize, size: usize) -> Result {
        let mask = self.geometry.block_size() - 1;
        if kernel::warn_on_once!(start & mask != 0 || size & mask != 0) {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// Onlines the offline block `mem` into the zone of its online type (`memory_block_online()`):
/// a block with hwpoisoned pages cannot be onlined; the online policy chooses the zone of a
/// plain online, before `mem_hotplug_lock` is taken, like C (`device_hotplug_lock` serialises
/// onlines); the kernel crate sends the notifier events and calls core mm. The zone chosen is
/// left in `zone`.
fn block_online(
    mem: &LockedBlock<'_>,
    zone: &mut Option<&'static Zone>,
) -> Result<(), StateChangeFailure> {
    if mem.state() != BlockState::Offline {
        return Err(EINVAL.into());
    }
    if mem.nr_hwpoison() != 0 {
        return Err(EHWPOISON.into());
    }
    let chosen = choose_zone(mem)?;
    *zone = Some(chosen.zone());
    hotplug::online_block(mem, chosen)
}

/// The zone the block goes to: the online policy's decision (its frame, with the policy's
/// accounting and explanation, is gone before `online_pages()` calls the notifier callbacks,
/// `test_stack.py`).
#[inline(never)]
fn choose_zone(mem: &LockedBlock<'_>) -> Result<policy::ZoneForOnline> {
    let pfns = mem.pfns();
    policy::zone_for_pfn_range(
        mem.hotplug_locked(),
        mem.online_type(),
        mem.nid(),
        mem.group(),
        pfns.start_pfn,
        pfns.nr_pages,
    )
}

/// Writes the zone `online_type` would choose, preceded by a space, unless it is `default`.
fn print_allowed_zone(
    lock: &DeviceHotplugLocked,
    buf: &mut Buffer,
    mem: &MemoryBlock,
    (start_pfn, nr_pages): (usize, usize),
    online_type: OnlineType,
    default: &Zone,
) -> Result {
    let zone = policy::zone_for_pfn_range(
        lock,
        online_type,
        mem.nid(),
        mem.group(),
        start_pfn,
        nr_pages,
    )?
    .zone();
    if !core::ptr::eq(zone, default) {
        write!(buf, " {}", zone.name())?;
    }
    Ok(())
}

impl MemoryBlocks {
    fn show_block(attr: BlockAttr, mem: &MemoryBlock, buf: &mut Buffer) -> Result {
        let st = state();
        match attr {
            BlockAttr::PhysIndex => writeln!(buf, "{:08x}", st.block_id(mem))?,
            BlockAttr::State => match mem.state() {
                BlockState::Online => writeln!(buf, "online")?,
                BlockState::Offline => writeln!(buf, "offline")?,
                BlockState::GoingOffline => writeln!(buf, "going-offline")?,
                BlockState::Other(n) => {
                    pr_err!("memory{}: unknown state {}\n", st.block_id(mem), n);
                    writeln!(buf, "ERROR-UNKNOWN-{}", n)?
                }
            },
            BlockAttr::PhysDevice => {
                let (start_pfn, _) = mem.pfn_range();
                writeln!(buf, "{}", hotplug::arch_get_memory_phys_device(start_pfn))?
            }
            BlockAttr::Removable => writeln!(buf, "{}", i32::from(cfg!(CONFIG_MEMORY_HOTREMOVE)))?,
            BlockAttr::ValidZones => {
                // An offline block's answer reads the memmap of other blocks, which a removal
                // would free: unlike C, under `device_hotplug_lock` (a busy lock restarts the
                // read, as it restarts C's writes of `state`), where the state cannot change.
                let lock = match mem.state() {
                    BlockState::Online => None,
                    _ => Some(DeviceHotplugGuard::lock_sysfs()?),
                };
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
                let lock = match lock {
                    Some(lock) => lock,
                    None => DeviceHotplugGuard::lock_sysfs()?,
                };
                let range = mem.pfn_range();
                let default = policy::zone_for_pfn_range(
                    &lock,
                    OnlineType::Online,
                    mem.nid(),
                    mem.group(),
                    range.0,
                    range.1,
                )?
                .zone();
                write!(buf, "{}", default.name())?;
                for online_type in [OnlineType::OnlineKernel, OnlineType::OnlineMovable] {
                    print_allowed_zone(&lock, buf, mem, range, online_type, default)?;
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

    /// `soft_offline_page` and `hard_offline_page`.
    #[cfg(CONFIG_MEMORY_FAILURE)]
    fn offline_page(input: &CStr, hard: bool) -> Result {
        use hotplug::memory_failure;

        if !memory_failure::capable_sys_admin() {
            return Err(EPERM);
        }
        // The physical address written, as C's `kstrtoull(buf, 0, ...)`.
        let pfn = (kernel::sysfs::kstrtoull(input, 0).map_err(|_| EINVAL)? >> PAGE_SHIFT) as usize;
        if !hard {
            return memory_failure::soft_offline_page(pfn);
        }
        match memory_failure::memory_failure_simulated(pfn) {
            Err(e) if e == EOPNOTSUPP => Ok(()),
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
        let geometry = BlockGeometry::current();
        let history = History::new()
            .unwrap_or_else(|e| panic!("memory_dev_init() failed to allocate: {:?}\n", e));
        let st = STATE
            .init(pin_init!(State {
                subsys,
                geometry,
                blocks <- XArray::new(),
                groups <- new_spinlock!(RBTree::new(), "memory_groups"),
                history <- new_mutex!(history, "memory_block_history"),
            }))
            .unwrap_or_else(|e| panic!("memory_dev_init() failed to allocate: {:?}\n", e));
        if let Err(e) = subsys.register() {
            panic!("memory_dev_init() failed to register subsystem: {:?}\n", e);
        }
        // Boot memory: one online block for every block with a present section, in one walk
        // over the present sections that goes on after the block once it is added (upstream's
        // `memory_dev_init()` since 6.16).
        let lock = DeviceHotplugGuard::lock();
        let mut next = section::first_present_from(0);
        while let Some(nr) = next {
            let id = geometry.block_id(nr);
            // SAFETY: Section `nr` of block `id` is present boot memory, added to core mm and
            // online before `memory_dev_init()`; blocks that exist already are refused.
            if let Err(e) = unsafe { st.add_block(&lock, id, BlockState::Online, None, None) } {
                panic!("memory_dev_init() failed to add memory block: {:?}\n", e);
            }
            next = (id + 1)
                .checked_mul(geometry.sections_per_block())
                .and_then(section::first_present_from);
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
        let st = state();
        let timer = Timer::start();
        let mut zone = None;
        let ret = block_online(mem, &mut zone);
        let done = FinishedOp {
            id: st.block_id(mem),
            pfns: mem.pfn_range(),
            zone,
            result: &ret,
        };
        history::online_done(&st.history, timer, mem.online_type(), done);
        mem.set_online_type(OnlineType::Offline);
        Ok(ret?)
    }

    fn offline(mem: &LockedBlock<'_>) -> Result {
        if mem.state() == BlockState::Offline {
            return Ok(());
        }
        let st = state();
        let timer = Timer::start();
        let zone = mem.zone();
        // Reads `going-offline` while it runs; a block in several zones cannot be offlined.
        let ret = hotplug::offline_block(mem);
        let done = FinishedOp {
            id: st.block_id(mem),
            pfns: mem.pfn_range(),
            zone,
            result: &ret,
        };
        history::offline_done(&st.history, timer, done);
        Ok(ret?)
    }

    fn late_init() -> Result {
        let dir = debugfs::Dir::new(kernel::c_str!("memory_block"))?;
        let failures = Arc::new(FailuresFile, GFP_KERNEL)?;
        let stats = Arc::new(StatsFile, GFP_KERNEL)?;
        let policy = Arc::new(PolicyFile, GFP_KERNEL)?;
        let files = Debugfs {
            _failures: debugfs::File::new(&dir, kernel::c_str!("failures"), 0o400, failures)?,
            _stats: debugfs::File::new(&dir, kernel::c_str!("stats"), 0o400, stats)?,
            _policy: debugfs::File::new(&dir, kernel::c_str!("policy"), 0o400, policy)?,
        };
        DEBUGFS.init::<Error>(files)?;
        Ok(())
    }

    fn block_show(attr: BlockAttr, mem: &MemoryBlock, buf: &mut Buffer) -> Result {
        Self::show_block(attr, mem, buf)
    }

    fn block_store(attr: BlockAttr, mem: &MemoryBlock, input: &CStr) -> Result {
        if attr != BlockAttr::State {
            return Err(EIO);
        }
        let online_type = OnlineType::from_name(input)?;
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
                hotplug::set_default_online_type(OnlineType::from_name(input)?);
                Ok(())
            }
            #[cfg(CONFIG_MEMORY_FAILURE)]
            RootAttr::SoftOfflinePage => Self::offline_page(input, false),
            #[cfg(CONFIG_MEMORY_FAILURE)]
            RootAttr::HardOfflinePage => Self::offline_page(input, true),
            _ => Err(EIO),
        }
    }

    fn probe(write: ProbeWrite<'_>) -> Result {
        // The address is checked before the lock is taken, as in C.
        write.addr()?;
        let lock = DeviceHotplugGuard::lock_sysfs()?;
        write.add_memory(&lock)
    }

    fn find_memory_block(section_nr: usize) -> Option<ARef<MemoryBlock>> {
        let st = state();
        st.find_block_by_id(st.geometry.block_id(section_nr))
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
        let first = st.geometry.phys_to_block_id(start);
        let last = st.geometry.phys_to_block_id(start + size - 1);
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
        // The callback may sleep: it gets a reference, no lock is held.
        while let Some((id, mem)) = st.blocks.find(next) {
            let ret = func(&mem);
            if ret != 0 {
                return ret;
            }
            match id.checked_add(1) {
                Some(n) => next = n,
                None => break,
            }
        }
        0
    }

    unsafe fn create_blocks(
        lock: &DeviceHotplugLocked,
        start: usize,
        size: usize,
        altmap: Option<Altmap>,
        group: Option<&MemoryGroup>,
    ) -> Result {
        let st = state();
        st.check_aligned(start, size)?;
        let first = st.geometry.phys_to_block_id(start);
        let end = st.geometry.phys_to_block_id(start + size);
        for id in first..end {
            // SAFETY: The caller's safety requirements: the range's sections are present,
            // added to core mm and offline.
            if let Err(e) = unsafe { st.add_block(lock, id, BlockState::Offline, altmap, group) } {
                // Undo the blocks created so far.
                st.remove_range(lock, first..id, false);
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
        // Core mm removes only ranges whose blocks all exist.
        st.remove_range(
            lock,
            st.geometry.phys_to_block_id(start)..st.geometry.phys_to_block_id(start + size),
            true,
        );
    }

    fn group_register(nid: i32, kind: GroupKind) -> Result<i32> {
        let st = state();
        match kind {
            GroupKind::Static { max_pages: 0 } => return Err(EINVAL),
            GroupKind::Dynamic { unit_pages }
                if !unit_pages.is_power_of_two() || unit_pages < st.geometry.pages_per_block() =>
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
        let st = state();
        // The lowest id not visited yet; `None` once the highest id was.
        let mut next = Some(0);
        while let Some(from) = next {
            // Like C, call back without a lock held (the callback may sleep or register a
            // group): find the next matching group under the lock and keep a reference to it.
            let group = {
                let mut groups = st.groups.lock();
                let mut from = from;
                loop {
                    let Some(cursor) = groups.cursor_lower_bound(&from) else {
                        return 0;
                    };
                    let (id, group) = cursor.current();
                    next = id.checked_add(1);
                    let matches = group.is_dynamic()
                        && !excluded.is_some_and(|e| core::ptr::eq(e, &**group))
                        && !(cfg!(CONFIG_NUMA) && nid != NUMA_NO_NODE && group.nid() != nid);
                    if matches {
                        break group.clone();
                    }
                    match next {
                        Some(n) => from = n,
                        None => return 0,
                    }
                }
            };
            let ret = func(&group);
            if ret != 0 {
                return ret;
            }
        }
        0
    }

    fn poison_add(_pfn: usize, _nr: isize) {
        // Called with `hugetlb_lock` (a spinlock) held, interrupts off: the lookup takes no
        // lock. If the block is being removed concurrently, dropping the reference may release
        // the block here, like C's `put_device()`: `release_block` only frees memory.
        #[cfg(CONFIG_MEMORY_FAILURE)]
        if let Some(st) = STATE.get() {
            if let Some(mem) = st.find_block_by_id(st.geometry.pfn_to_block_id(_pfn)) {
                mem.add_hwpoison(_nr);
            }
        }
    }
}
