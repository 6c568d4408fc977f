// SPDX-License-Identifier: GPL-2.0

//! The memory hotplug online policy and its parameters (`memory_hotplug.*`).
//!
//! Decides which zone a memory block goes to when it is onlined without a zone: with
//! `online_policy=contig-zones` (the default) the zones stay contiguous (`movable_node` makes
//! new memory Movable); with `auto-movable` memory goes to `ZONE_MOVABLE` as long as the
//! MOVABLE:KERNEL ratio (`auto_movable_ratio`, in percent) allows, system-wide and, with
//! `auto_movable_numa_aware`, per node. `memmap_on_memory` puts the memmap of hot-added
//! memory into the memory itself.
//!
//! Built in, the parameters come from the kernel command line (`memory_hotplug.X=`) and the
//! policy is registered from a `core_initcall`, before ACPI (`subsys_initcall`) and virtio-mem
//! add and online memory during boot; as a module they come from `modprobe memory_hotplug
//! X=...`, and memory onlined before the module is loaded used contig-zones. Unloading falls
//! back to contig-zones and memmap_on_memory off for memory added later.

use core::{
    fmt::Write,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
};
use kernel::{
    c_str,
    memory::{
        block::{GroupKind, MemoryGroup},
        hotplug::{section, OnlineType, Zone, NUMA_NO_NODE},
        policy::{OnlinePolicy, Registration, Why},
    },
    module_param::ParamOps,
    prelude::*,
    str::CStr,
    sysfs::{kstrtobool, kstrtouint, sysfs_streq, Buffer},
};

module! {
    type: MemoryHotplug,
    name: "memory_hotplug",
    author: "Rust memory hotplug for Linux developers",
    description: "Memory hotplug online policy (contig-zones, auto-movable) and memmap_on_memory",
    license: "GPL",
    initcall: "core",
}

/// The names of the online policies, by value of `ONLINE_POLICY`.
const POLICY_NAMES: [&CStr; 2] = [c_str!("contig-zones"), c_str!("auto-movable")];
const CONTIG_ZONES: u32 = 0;
const AUTO_MOVABLE: u32 = 1;

static ONLINE_POLICY: AtomicU32 = AtomicU32::new(CONTIG_ZONES);
static AUTO_MOVABLE_RATIO: AtomicU32 = AtomicU32::new(301);
static AUTO_MOVABLE_NUMA_AWARE: AtomicBool = AtomicBool::new(true);

/// `online_policy`: `contig-zones` or `auto-movable`.
struct OnlinePolicyParam;

impl ParamOps for OnlinePolicyParam {
    fn set(value: Option<&CStr>) -> Result {
        let value = value.ok_or(EINVAL)?;
        let policy = POLICY_NAMES
            .iter()
            .position(|name| sysfs_streq(value, name))
            .ok_or(EINVAL)?;
        ONLINE_POLICY.store(policy as u32, Ordering::Relaxed);
        Ok(())
    }

    fn get(buf: &mut Buffer) -> Result {
        let policy = ONLINE_POLICY.load(Ordering::Relaxed) as usize;
        writeln!(buf, "{}", POLICY_NAMES[policy])?;
        Ok(())
    }
}

kernel::module_param_cb!(module: "memory_hotplug", name: online_policy, ops: OnlinePolicyParam,
    perm: 0o644,
    desc: "Set the online policy (\"contig-zones\", \"auto-movable\") Default: \"contig-zones\"");

/// `auto_movable_ratio`: the maximum MOVABLE:KERNEL ratio in percent (`uint`).
struct RatioParam;

impl ParamOps for RatioParam {
    fn set(value: Option<&CStr>) -> Result {
        let ratio = kstrtouint(value.ok_or(EINVAL)?, 0)?;
        AUTO_MOVABLE_RATIO.store(ratio, Ordering::Relaxed);
        Ok(())
    }

    fn get(buf: &mut Buffer) -> Result {
        writeln!(buf, "{}", AUTO_MOVABLE_RATIO.load(Ordering::Relaxed))?;
        Ok(())
    }
}

kernel::module_param_cb!(module: "memory_hotplug", name: auto_movable_ratio, ops: RatioParam,
    perm: 0o644,
    desc: "Set the maximum ratio of MOVABLE:KERNEL memory in the system in percent for \
           \"auto-movable\" online policy. Default: 301",
    type: "uint");

/// `auto_movable_numa_aware`: also check the ratio per node (`bool`).
#[cfg(CONFIG_NUMA)]
struct NumaAwareParam;

#[cfg(CONFIG_NUMA)]
impl ParamOps for NumaAwareParam {
    const NOARG: bool = true;

    fn set(value: Option<&CStr>) -> Result {
        // A bare `auto_movable_numa_aware` means yes.
        let on = kstrtobool(value.unwrap_or(c_str!("1")))?;
        AUTO_MOVABLE_NUMA_AWARE.store(on, Ordering::Relaxed);
        Ok(())
    }

    fn get(buf: &mut Buffer) -> Result {
        let on = AUTO_MOVABLE_NUMA_AWARE.load(Ordering::Relaxed);
        writeln!(buf, "{}", if on { 'Y' } else { 'N' })?;
        Ok(())
    }
}

#[cfg(CONFIG_NUMA)]
kernel::module_param_cb!(module: "memory_hotplug", name: auto_movable_numa_aware,
    ops: NumaAwareParam, perm: 0o644,
    desc: "Consider numa node stats in addition to global stats in \"auto-movable\" online \
           policy. Default: true",
    type: "bool");

/// `memmap_on_memory`: `Y`/`N` or `force`, read-only after boot or load.
#[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
mod memmap {
    use super::*;
    pub(crate) use kernel::memory::hotplug::MemmapOnMemory;
    use kernel::memory::hotplug::{set_memmap_on_memory, MemHotplugGuard};

    /// The parameter's value, as `MemmapOnMemory as u32`.
    static MODE: AtomicU32 = AtomicU32::new(MemmapOnMemory::Disabled as u32);

    /// Returns the parameter's value.
    pub(crate) fn mode() -> MemmapOnMemory {
        match MODE.load(Ordering::Relaxed) {
            m if m == MemmapOnMemory::Force as u32 => MemmapOnMemory::Force,
            m if m == MemmapOnMemory::Enabled as u32 => MemmapOnMemory::Enabled,
            _ => MemmapOnMemory::Disabled,
        }
    }

    /// Sets the mode core mm uses for memory added from now on.
    pub(crate) fn apply(mode: MemmapOnMemory) {
        set_memmap_on_memory(&MemHotplugGuard::begin(), mode);
    }

    struct MemmapParam;

    impl ParamOps for MemmapParam {
        fn set(value: Option<&CStr>) -> Result {
            let value = value.ok_or(EINVAL)?;
            let mode = if sysfs_streq(value, c_str!("force")) || sysfs_streq(value, c_str!("FORCE"))
            {
                MemmapOnMemory::Force
            } else if kstrtobool(value)? {
                MemmapOnMemory::Enabled
            } else {
                MemmapOnMemory::Disabled
            };
            // Applied by the module's init, under `mem_hotplug_lock`: parameters are parsed
            // before it (at boot, before locks can be taken).
            MODE.store(mode as u32, Ordering::Relaxed);
            Ok(())
        }

        fn get(buf: &mut Buffer) -> Result {
            match mode() {
                MemmapOnMemory::Force => writeln!(buf, "force")?,
                MemmapOnMemory::Enabled => writeln!(buf, "Y")?,
                MemmapOnMemory::Disabled => writeln!(buf, "N")?,
            }
            Ok(())
        }
    }

    kernel::module_param_cb!(module: "memory_hotplug", name: memmap_on_memory, ops: MemmapParam,
        perm: 0o444,
        desc: "Enable memmap on memory for memory hotplug\nWith value \"force\" it could result in \
               memory wastage due to memmap size limitations (Y/N/force)");
}

/// What the auto-movable check counts, in pages.
#[derive(Default)]
struct Stats {
    kernel_early_pages: usize,
    movable_pages: usize,
}

impl Stats {
    /// Counts the populated zones of node `nid`, or of all nodes for `NUMA_NO_NODE`.
    fn of(nid: i32) -> Self {
        let mut stats = Stats::default();
        Zone::for_each_populated((nid != NUMA_NO_NODE).then_some(nid), |zone| {
            stats.account_zone(zone)
        });
        stats
    }

    /// Counts a populated zone: Movable present pages and CMA pages as movable, the boot-time
    /// pages of other zones as kernel.
    fn account_zone(&mut self, zone: &Zone) {
        if zone.is_movable() {
            self.movable_pages += zone.present_pages();
        } else {
            self.kernel_early_pages = (self.kernel_early_pages + zone.present_early_pages())
                .wrapping_sub(zone.cma_pages());
            self.movable_pages += zone.cma_pages();
        }
    }
}

/// A number of pages, shown in MiB (or KiB if it is not a whole number of MiB).
struct Size(usize);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kib = self.0.wrapping_mul(kernel::page::PAGE_SIZE / 1024);
        if kib % 1024 == 0 {
            write!(f, "{}M", kib / 1024)
        } else {
            write!(f, "{}K", kib)
        }
    }
}

/// The MOVABLE:KERNEL ratio check of `auto_movable_can_online_movable()`: `movable_pages +
/// nr_pages <= ratio% of kernel_early_pages`, after the dynamic groups' share is taken out.
struct RatioCheck {
    /// `NUMA_NO_NODE` for the system-wide check.
    nid: i32,
    ratio: usize,
    /// Kernel pages, without those other dynamic groups need for their Movable memory, or
    /// `None` if they need all of it.
    kernel_early_pages: Option<usize>,
    /// Movable pages, without other dynamic groups' Movable memory.
    movable_pages: usize,
    nr_pages: usize,
}

impl RatioCheck {
    /// Checks whether `nr_pages` more Movable pages keep the MOVABLE:KERNEL ratio system-wide
    /// (`nid` = `NUMA_NO_NODE`) or on node `nid`, for memory of `group`.
    fn new(ratio: usize, nid: i32, group: Option<&MemoryGroup>, nr_pages: usize) -> Self {
        let stats = Stats::of(nid);

        // Kernel memory other dynamic groups (virtio-mem devices) need for their Movable memory,
        // and their Movable memory, which is theirs alone.
        let (mut req_kernel_early_pages, mut group_movable_pages) = (0usize, 0usize);
        MemoryGroup::walk_dynamic(nid, group, |g| {
            // A ratio of 0 is not supported while the policy is in use: skip the division by
            // zero.
            if let Some(required) = g
                .present_movable_pages()
                .wrapping_mul(100)
                .checked_div(ratio)
            {
                let pages = required as isize - g.present_kernel_pages() as isize;
                if pages > 0 {
                    req_kernel_early_pages += pages as usize;
                }
                group_movable_pages += g.present_movable_pages();
            }
            0
        });
        let kernel_early_pages = (stats.kernel_early_pages > req_kernel_early_pages).then(|| {
            let pages = stats.kernel_early_pages - req_kernel_early_pages;
            // Kernel memory of a dynamic group allows more Movable memory in the same group.
            match group.filter(|g| g.is_dynamic()) {
                Some(g) => pages.wrapping_add(g.present_kernel_pages()),
                None => pages,
            }
        });
        Self {
            nid,
            ratio,
            kernel_early_pages,
            movable_pages: stats.movable_pages.wrapping_sub(group_movable_pages),
            nr_pages,
        }
    }

    /// Returns whether the pages may go to ZONE_MOVABLE.
    fn passes(&self) -> bool {
        self.kernel_early_pages.is_some_and(|kernel| {
            self.movable_pages.wrapping_add(self.nr_pages) <= self.ratio.wrapping_mul(kernel) / 100
        })
    }
}

impl core::fmt::Display for RatioCheck {
    /// `[node N: ]movable M + N <= R% of kernel K`, with `>` if the check fails.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.nid != NUMA_NO_NODE {
            write!(f, "node {}: ", self.nid)?;
        }
        let Some(kernel) = self.kernel_early_pages else {
            return write!(f, "other groups' movable memory needs all kernel memory");
        };
        let cmp = if self.passes() { "<=" } else { ">" };
        write!(
            f,
            "movable {} + {} {cmp} {}% of kernel {}",
            Size(self.movable_pages),
            Size(self.nr_pages),
            self.ratio,
            Size(kernel)
        )
    }
}

/// The auto-movable decision (`auto_movable_zone_for_pfn()`).
fn auto_movable_zone(
    nid: i32,
    group: Option<&MemoryGroup>,
    start_pfn: usize,
    nr_pages: usize,
    why: &mut Why<'_>,
) -> Result<&'static Zone> {
    let ratio = AUTO_MOVABLE_RATIO.load(Ordering::Relaxed) as usize;
    // The range the kernel zone is chosen for if Movable is not possible; like C, it is not
    // always the block (see the spec's quirk Q1).
    let (mut pfn, mut pages) = (start_pfn, nr_pages);
    let kernel = |pfn, pages| Zone::for_pfn_range(OnlineType::OnlineKernel, nid, group, pfn, pages);
    if ratio == 0 {
        why.note(format_args!("auto_movable_ratio is 0"));
        return kernel(pfn, pages);
    }

    let (max_pages, online_pages) = match group.map(|g| (g, g.kind())) {
        // A static group (DIMM) is all Movable or all kernel.
        Some((g, GroupKind::Static { max_pages })) => {
            if g.present_kernel_pages() != 0 {
                why.note(format_args!(
                    "its static group has {} in kernel zones",
                    Size(g.present_kernel_pages())
                ));
                return kernel(pfn, pages);
            }
            (max_pages, g.present_movable_pages())
        }
        // A dynamic group with big units (virtio-mem BBM): the rest of the unit, if no part of
        // it is online in a kernel zone.
        Some((_, GroupKind::Dynamic { unit_pages })) if unit_pages != nr_pages => {
            pfn = start_pfn & !(unit_pages - 1);
            let end_pfn = pfn + unit_pages;
            let mut online = 0;
            while pfn < end_pfn {
                match section::online_zone_is_movable(pfn) {
                    Some(false) => {
                        why.note(format_args!(
                            "its group's unit has memory in a kernel zone at pfn {pfn:#x}"
                        ));
                        return kernel(pfn, pages);
                    }
                    Some(true) => online += section::PAGES,
                    None => {}
                }
                pfn += section::PAGES;
            }
            (unit_pages, online)
        }
        // No group, or a group with block-sized units: this block.
        _ => (nr_pages, 0),
    };
    pages = max_pages.wrapping_sub(online_pages);

    let system = RatioCheck::new(ratio, NUMA_NO_NODE, group, pages);
    why.note(format_args!("{system}"));
    if !system.passes() {
        return kernel(pfn, pages);
    }
    if cfg!(CONFIG_NUMA) && AUTO_MOVABLE_NUMA_AWARE.load(Ordering::Relaxed) {
        let node = RatioCheck::new(ratio, nid, group, pages);
        why.note(format_args!("; {node}"));
        if !node.passes() {
            return kernel(pfn, pages);
        }
    }
    Zone::for_pfn_range(OnlineType::OnlineMovable, nid, group, start_pfn, nr_pages)
}

/// The policy registered with the memory block driver.
struct Policy;

impl OnlinePolicy for Policy {
    fn zone_for_online(
        &self,
        nid: i32,
        group: Option<&MemoryGroup>,
        start_pfn: usize,
        nr_pages: usize,
        why: &mut Why<'_>,
    ) -> Result<&'static Zone> {
        if ONLINE_POLICY.load(Ordering::Relaxed) == AUTO_MOVABLE {
            auto_movable_zone(nid, group, start_pfn, nr_pages, why)
        } else {
            // contig-zones is what core mm does without a policy.
            why.note(format_args!(
                "contig-zones: core mm keeps the zones contiguous"
            ));
            Zone::for_pfn_range(OnlineType::Online, nid, group, start_pfn, nr_pages)
        }
    }

    fn show(&self, w: &mut dyn core::fmt::Write) -> core::fmt::Result {
        let policy = ONLINE_POLICY.load(Ordering::Relaxed) as usize;
        write!(
            w,
            "policy: {} auto_movable_ratio={}",
            POLICY_NAMES[policy],
            AUTO_MOVABLE_RATIO.load(Ordering::Relaxed)
        )?;
        if cfg!(CONFIG_NUMA) {
            let on = AUTO_MOVABLE_NUMA_AWARE.load(Ordering::Relaxed);
            write!(w, " auto_movable_numa_aware={}", if on { 'Y' } else { 'N' })?;
        }
        #[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
        write!(
            w,
            " memmap_on_memory={}",
            match memmap::mode() {
                memmap::MemmapOnMemory::Force => "force",
                memmap::MemmapOnMemory::Enabled => "Y",
                memmap::MemmapOnMemory::Disabled => "N",
            }
        )?;
        writeln!(w)?;
        // The pages the ratio is checked against, before the dynamic groups' share is taken out
        // (CMA pages count as movable, as in C).
        let system = Stats::of(NUMA_NO_NODE);
        writeln!(
            w,
            "system: kernel {} movable {}",
            Size(system.kernel_early_pages),
            Size(system.movable_pages)
        )?;
        if cfg!(CONFIG_NUMA) {
            let mut last = None;
            let mut result = Ok(());
            Zone::for_each_populated(None, |zone| {
                if last != Some(zone.nid()) && result.is_ok() {
                    last = Some(zone.nid());
                    let node = Stats::of(zone.nid());
                    result = writeln!(
                        w,
                        "node {}: kernel {} movable {}",
                        zone.nid(),
                        Size(node.kernel_early_pages),
                        Size(node.movable_pages)
                    );
                }
            });
            result?;
        }
        Ok(())
    }
}

struct MemoryHotplug {
    _policy: Pin<KBox<Registration<Policy>>>,
}

impl kernel::Module for MemoryHotplug {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let policy = KBox::pin_init(Registration::new(Policy), GFP_KERNEL)?;
        // Built in, this runs before any memory is hot-added.
        #[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
        memmap::apply(memmap::mode());
        Ok(Self { _policy: policy })
    }
}

impl Drop for MemoryHotplug {
    fn drop(&mut self) {
        // Memory added after the module is gone gets its memmap from the kernel again; blocks
        // added with memmap_on_memory keep their own altmap until they are removed.
        #[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
        memmap::apply(memmap::MemmapOnMemory::Disabled);
    }
}
