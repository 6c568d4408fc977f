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
        auto_movable,
        block::{GroupKind, MemoryGroup},
        hotplug::{section, DeviceHotplugLocked, Zone, NUMA_NO_NODE},
        policy::{Explanation, OnlinePolicy, Registration, ZoneChoice},
    },
    module_param::ParamOps,
    prelude::*,
    str::CStr,
    sysfs::{kstrtouint, sysfs_streq, Buffer},
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
        let on = kernel::sysfs::kstrtobool(value.unwrap_or(c_str!("1")))?;
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
            } else if kernel::sysfs::kstrtobool(value)? {
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

/// The zone pages of node `nid` or, for `NUMA_NO_NODE`, of all nodes, as the auto-movable
/// policy counts them.
fn zone_stats(nid: i32) -> auto_movable::ZoneStats {
    let mut stats = auto_movable::ZoneStats::default();
    Zone::for_each_populated((nid != NUMA_NO_NODE).then_some(nid), |zone| {
        stats.account_zone(auto_movable::ZonePages {
            movable: zone.is_movable(),
            present_pages: zone.present_pages(),
            present_early_pages: zone.present_early_pages(),
            cma_pages: zone.cma_pages(),
        })
    });
    stats
}

fn group_pages(group: &MemoryGroup) -> auto_movable::GroupPages {
    auto_movable::GroupPages {
        kernel: group.present_kernel_pages(),
        movable: group.present_movable_pages(),
    }
}

/// The auto-movable decision (`auto_movable_zone_for_pfn()`): the pure
/// [`auto_movable::zone_for_pfn`] on the machine's page counts.
fn auto_movable_zone(
    lock: &DeviceHotplugLocked,
    nid: i32,
    group: Option<&MemoryGroup>,
    start_pfn: usize,
    nr_pages: usize,
    why: &mut Explanation<'_>,
) -> ZoneChoice {
    let params = auto_movable::Params {
        ratio: AUTO_MOVABLE_RATIO.load(Ordering::Relaxed),
        numa_aware: AUTO_MOVABLE_NUMA_AWARE.load(Ordering::Relaxed),
        section_pages: section::PAGES,
    };
    let kind = group.map(|g| (g.kind(), group_pages(g)));
    let pure_group = match kind {
        None => auto_movable::Group::None,
        Some((GroupKind::Static { max_pages }, pages)) => {
            auto_movable::Group::Static { max_pages, pages }
        }
        Some((GroupKind::Dynamic { unit_pages }, pages)) => {
            auto_movable::Group::Dynamic { unit_pages, pages }
        }
    };
    let accounting = |scope| {
        let nid = match scope {
            auto_movable::Scope::System => NUMA_NO_NODE,
            auto_movable::Scope::Node(nid) => nid,
        };
        let zones = zone_stats(nid);
        let mut groups = auto_movable::GroupStats::default();
        MemoryGroup::walk_dynamic(nid, group, |g| {
            groups.account_group(params.ratio, group_pages(g));
            0
        });
        auto_movable::Accounting { zones, groups }
    };
    let decision = auto_movable::zone_for_pfn(
        &params,
        nid,
        pure_group,
        start_pfn,
        nr_pages,
        accounting,
        |pfn| section::online_zone_is_movable(lock, pfn),
    );
    why.note(format_args!("{}", decision.reason));
    match decision.choice {
        auto_movable::Choice::Movable => ZoneChoice::Movable,
        auto_movable::Choice::Kernel {
            start_pfn,
            nr_pages,
        } => ZoneChoice::Kernel {
            start_pfn,
            nr_pages,
        },
    }
}

/// The policy registered with the memory block driver.
struct Policy;

impl OnlinePolicy for Policy {
    fn zone_for_online(
        &self,
        lock: &DeviceHotplugLocked,
        nid: i32,
        group: Option<&MemoryGroup>,
        start_pfn: usize,
        nr_pages: usize,
        why: &mut Explanation<'_>,
    ) -> Result<ZoneChoice> {
        if ONLINE_POLICY.load(Ordering::Relaxed) == AUTO_MOVABLE {
            Ok(auto_movable_zone(
                lock, nid, group, start_pfn, nr_pages, why,
            ))
        } else {
            // contig-zones is what core mm does without a policy.
            why.note(format_args!(
                "contig-zones: core mm keeps the zones contiguous"
            ));
            Ok(ZoneChoice::Default)
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
        let system = zone_stats(NUMA_NO_NODE);
        writeln!(
            w,
            "system: kernel {} movable {}",
            auto_movable::Size(system.kernel_early_pages),
            auto_movable::Size(system.movable_pages)
        )?;
        if cfg!(CONFIG_NUMA) {
            let mut last = None;
            let mut result = Ok(());
            Zone::for_each_populated(None, |zone| {
                if last != Some(zone.nid()) && result.is_ok() {
                    last = Some(zone.nid());
                    let node = zone_stats(zone.nid());
                    result = writeln!(
                        w,
                        "node {}: kernel {} movable {}",
                        zone.nid(),
                        auto_movable::Size(node.kernel_early_pages),
                        auto_movable::Size(node.movable_pages)
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
