// SPDX-License-Identifier: GPL-2.0

//! The decision of the `auto-movable` online policy, as a pure function.
//!
//! C: `auto_movable_zone_for_pfn()` and `auto_movable_can_online_movable()` in
//! [`mm/memory_hotplug.c`](srctree/mm/memory_hotplug.c). A block goes to `ZONE_MOVABLE` if
//! the MOVABLE:KERNEL ratio (`auto_movable_ratio`, in percent) still holds with the block's
//! pages (or, for a memory group, with all the pages of the group or unit that are not online
//! yet) added to the movable side, system-wide and, with `auto_movable_numa_aware`, on the
//! block's node; otherwise it goes to the node's default kernel zone.
//!
//! [`zone_for_pfn`] reads nothing but its arguments: the caller supplies the page counts
//! ([`Accounting`]) and the zone of each online section of a group's unit on request, so the
//! arithmetic (unsigned page counts that wrap as C's do, the ratio's multiplication, the
//! per-group accounting) can be checked without a machine, as the `memory_auto_movable` KUnit
//! suite does.
//!
//! # Examples
//!
//! A 128 MiB block without a memory group on a machine with 1 GiB of kernel memory and
//! 1.5 GiB of movable memory goes to `ZONE_MOVABLE` with the default ratio of 301%:
//!
//! ```
//! use kernel::memory::auto_movable::{zone_for_pfn, Accounting, Choice, Group, Params, Scope};
//! use kernel::{fmt, str::CString};
//!
//! const MIB: usize = (1 << 20) / kernel::page::PAGE_SIZE; // pages
//! let params = Params { ratio: 301, numa_aware: false, section_pages: 128 * MIB };
//! let accounting = |_: Scope| Accounting::from_pages(1024 * MIB, 1536 * MIB);
//! let decision = zone_for_pfn(&params, 0, Group::None, 0x100000, 128 * MIB, accounting, |_| None);
//! assert_eq!(decision.choice, Choice::Movable);
//! assert_eq!(
//!     CString::try_from_fmt(fmt!("{}", decision.reason))?.as_bytes(),
//!     b"movable 1536M + 128M <= 301% of kernel 1024M"
//! );
//! # Ok::<(), Error>(())
//! ```
//!
//! With a ratio of 100%, the same block would make movable memory exceed kernel memory:
//!
//! ```
//! use kernel::memory::auto_movable::{zone_for_pfn, Accounting, Choice, Group, Params, Scope};
//! use kernel::{fmt, str::CString};
//!
//! const MIB: usize = (1 << 20) / kernel::page::PAGE_SIZE;
//! let params = Params { ratio: 100, numa_aware: false, section_pages: 128 * MIB };
//! let accounting = |_: Scope| Accounting::from_pages(1024 * MIB, 1024 * MIB);
//! let decision = zone_for_pfn(&params, 0, Group::None, 0x100000, 128 * MIB, accounting, |_| None);
//! assert_eq!(decision.choice, Choice::Kernel { start_pfn: 0x100000, nr_pages: 128 * MIB });
//! let reason = CString::try_from_fmt(fmt!("{}", decision.reason))?;
//! assert_eq!(reason.as_bytes(), b"movable 1024M + 128M > 100% of kernel 1024M");
//! # Ok::<(), Error>(())
//! ```

use core::fmt;

/// What one zone contributes to the accounting: its present pages, the pages present at boot
/// and its CMA pages (C's `struct zone` fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZonePages {
    /// Whether the zone is `ZONE_MOVABLE`.
    pub movable: bool,
    /// `present_pages`.
    pub present_pages: usize,
    /// `present_early_pages`: the pages present at boot.
    pub present_early_pages: usize,
    /// `cma_pages` (zero without `CONFIG_CMA`).
    pub cma_pages: usize,
}

/// The MOVABLE and KERNEL pages of a set of zones (C's `struct auto_movable_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneStats {
    /// Boot-time pages of the kernel zones, without their CMA pages.
    pub kernel_early_pages: usize,
    /// Present pages of `ZONE_MOVABLE` and CMA pages of the other zones.
    pub movable_pages: usize,
}

impl ZoneStats {
    /// Adds a populated zone (`auto_movable_stats_account_zone()`): CMA pages, never on
    /// hot-plugged memory, behave like `ZONE_MOVABLE`. The counts wrap as C's `unsigned long`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::auto_movable::{ZonePages, ZoneStats};
    ///
    /// let mut stats = ZoneStats::default();
    /// // ZONE_NORMAL: 1000 pages present at boot, 100 of them CMA, 50 hot-added.
    /// stats.account_zone(ZonePages {
    ///     movable: false,
    ///     present_pages: 1050,
    ///     present_early_pages: 1000,
    ///     cma_pages: 100,
    /// });
    /// // ZONE_MOVABLE: 300 pages.
    /// stats.account_zone(ZonePages { movable: true, present_pages: 300, ..Default::default() });
    /// assert_eq!(stats, ZoneStats { kernel_early_pages: 900, movable_pages: 400 });
    /// ```
    pub fn account_zone(&mut self, zone: ZonePages) {
        if zone.movable {
            self.movable_pages = self.movable_pages.wrapping_add(zone.present_pages);
        } else {
            self.kernel_early_pages = self
                .kernel_early_pages
                .wrapping_add(zone.present_early_pages)
                .wrapping_sub(zone.cma_pages);
            self.movable_pages = self.movable_pages.wrapping_add(zone.cma_pages);
        }
    }
}

/// The present pages of a memory group (`struct memory_group`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupPages {
    /// `present_kernel_pages`: its pages online in a kernel zone.
    pub kernel: usize,
    /// `present_movable_pages`: its pages online in `ZONE_MOVABLE`.
    pub movable: usize,
}

/// What the dynamic memory groups other than the one onlined into take out of the accounting
/// (C's `struct auto_movable_group_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Their movable pages, which only their own kernel pages and the kernel pages they
    /// require may back.
    pub movable_pages: usize,
    /// The kernel pages they require for their movable pages at the ratio, beyond their own.
    pub req_kernel_early_pages: usize,
}

impl GroupStats {
    /// Adds a dynamic group (`auto_movable_stats_account_group()`). `ratio` is
    /// `auto_movable_ratio`; a ratio of 0 adds nothing. As in C, the ratio is read as an `int`:
    /// one above `INT_MAX` divides as a huge unsigned number.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::memory::auto_movable::{GroupPages, GroupStats};
    ///
    /// let mut stats = GroupStats::default();
    /// // 900 movable pages need 300 kernel pages at 300%; the group has 100 of its own.
    /// stats.account_group(300, GroupPages { kernel: 100, movable: 900 });
    /// // A group with enough kernel pages of its own requires none.
    /// stats.account_group(300, GroupPages { kernel: 500, movable: 300 });
    /// assert_eq!(stats, GroupStats { movable_pages: 1200, req_kernel_early_pages: 200 });
    /// ```
    pub fn account_group(&mut self, ratio: u32, group: GroupPages) {
        if ratio == 0 {
            return;
        }
        // `unsigned long / int`: the `int` is sign-extended.
        let divisor = ratio as i32 as isize as usize;
        let required = group.movable.wrapping_mul(100) / divisor;
        // `long pages = required - present_kernel_pages`, compared with 0 as a `long`.
        let pages = required.wrapping_sub(group.kernel) as isize;
        if pages > 0 {
            self.req_kernel_early_pages = self.req_kernel_early_pages.wrapping_add(pages as usize);
        }
        self.movable_pages = self.movable_pages.wrapping_add(group.movable);
    }
}

/// The page counts of one check: those of the zones, and what the other dynamic groups take out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    /// The populated zones, system-wide or of a node.
    pub zones: ZoneStats,
    /// The dynamic memory groups other than the one onlined into, system-wide or of a node.
    pub groups: GroupStats,
}

impl Accounting {
    /// Returns the accounting of zones with `kernel` boot-time kernel pages and `movable`
    /// movable pages, without other dynamic groups.
    pub const fn from_pages(kernel: usize, movable: usize) -> Self {
        Self {
            zones: ZoneStats {
                kernel_early_pages: kernel,
                movable_pages: movable,
            },
            groups: GroupStats {
                movable_pages: 0,
                req_kernel_early_pages: 0,
            },
        }
    }
}

/// Where a check counts pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// All populated zones and all dynamic groups.
    System,
    /// The zones and dynamic groups of one node.
    Node(i32),
}

/// The memory group of the memory onlined (`struct memory_group`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// No group.
    None,
    /// A static group (e.g. an ACPI DIMM), onlined as a whole: all movable or all kernel.
    Static {
        /// `s.max_pages`: the pages of the whole group.
        max_pages: usize,
        /// Its present pages.
        pages: GroupPages,
    },
    /// A dynamic group (e.g. a virtio-mem device), which adds memory in units.
    Dynamic {
        /// `d.unit_pages`: the pages of a unit, a power of two.
        unit_pages: usize,
        /// Its present pages.
        pages: GroupPages,
    },
}

impl Group {
    /// Returns the kernel pages a dynamic group adds to the kernel side of its own check.
    fn own_kernel_pages(&self) -> usize {
        match self {
            Group::Dynamic { pages, .. } => pages.kernel,
            _ => 0,
        }
    }
}

/// The parameters of the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// `auto_movable_ratio`: the maximum MOVABLE:KERNEL ratio, in percent.
    pub ratio: u32,
    /// `auto_movable_numa_aware`: check the ratio on the node too (ignored without NUMA, as
    /// C's `#ifdef CONFIG_NUMA`).
    pub numa_aware: bool,
    /// `PAGES_PER_SECTION`: the step of the scan of a unit's online sections.
    pub section_pages: usize,
}

/// One MOVABLE:KERNEL ratio check (`auto_movable_can_online_movable()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatioCheck {
    /// Where the pages were counted.
    pub scope: Scope,
    /// `auto_movable_ratio`.
    pub ratio: u32,
    /// The zones' and the other dynamic groups' pages.
    pub accounting: Accounting,
    /// The kernel pages of the group onlined into, if it is dynamic: they back more movable
    /// memory of the same group.
    pub own_kernel_pages: usize,
    /// The pages to online movable.
    pub nr_pages: usize,
}

impl RatioCheck {
    /// Returns the check of `nr_pages` more movable pages of `group` with `accounting`.
    pub fn new(
        ratio: u32,
        scope: Scope,
        accounting: Accounting,
        group: &Group,
        nr_pages: usize,
    ) -> Self {
        Self {
            scope,
            ratio,
            accounting,
            own_kernel_pages: group.own_kernel_pages(),
            nr_pages,
        }
    }

    /// Returns the kernel pages that may back movable memory: the zones' kernel pages without
    /// those the other dynamic groups require, plus the group's own; `None` if the other groups
    /// require all of the zones' kernel pages (or there are none).
    pub fn kernel_pages(&self) -> Option<usize> {
        let Accounting { zones, groups } = self.accounting;
        (zones.kernel_early_pages > groups.req_kernel_early_pages).then(|| {
            (zones.kernel_early_pages - groups.req_kernel_early_pages)
                .wrapping_add(self.own_kernel_pages)
        })
    }

    /// Returns the movable pages without the other dynamic groups' movable pages.
    pub fn movable_pages(&self) -> usize {
        let Accounting { zones, groups } = self.accounting;
        zones.movable_pages.wrapping_sub(groups.movable_pages)
    }

    /// Returns whether the pages may go to `ZONE_MOVABLE`: `movable_pages + nr_pages <= ratio *
    /// kernel_pages / 100`, in `unsigned long` arithmetic.
    pub fn passes(&self) -> bool {
        self.kernel_pages().is_some_and(|kernel| {
            self.movable_pages().wrapping_add(self.nr_pages)
                <= (self.ratio as usize).wrapping_mul(kernel) / 100
        })
    }
}

/// A number of pages, shown in MiB (or KiB if it is not a whole number of MiB), as the
/// explanations show them.
pub struct Size(pub usize);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kib = self.0.wrapping_mul(crate::page::PAGE_SIZE / 1024);
        if kib % 1024 == 0 {
            write!(f, "{}M", kib / 1024)
        } else {
            write!(f, "{}K", kib)
        }
    }
}

impl fmt::Display for RatioCheck {
    /// `[node N: ]movable M + N <= R% of kernel K`, with `>` if the check fails.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Scope::Node(nid) = self.scope {
            write!(f, "node {nid}: ")?;
        }
        let Some(kernel) = self.kernel_pages() else {
            let Accounting { zones, groups } = self.accounting;
            if groups.req_kernel_early_pages == 0 {
                return write!(f, "no kernel memory");
            }
            return write!(
                f,
                "other groups' movable memory needs all kernel memory ({} of {})",
                Size(groups.req_kernel_early_pages),
                Size(zones.kernel_early_pages)
            );
        };
        let cmp = if self.passes() { "<=" } else { ">" };
        write!(
            f,
            "movable {} + {} {cmp} {}% of kernel {}",
            Size(self.movable_pages()),
            Size(self.nr_pages),
            self.ratio,
            Size(kernel)
        )
    }
}

/// Why [`zone_for_pfn`] chose its zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `auto_movable_ratio` is 0: always a kernel zone.
    RatioZero,
    /// The static group has this many pages in kernel zones: it stays in kernel zones.
    StaticGroupHasKernel(usize),
    /// The dynamic group's unit has a section online in a kernel zone at this pfn.
    UnitHasKernel(usize),
    /// The ratio checks, system-wide and on the node; the node's is done only if the
    /// system-wide one passes and the policy is NUMA aware.
    Ratio {
        /// The system-wide check.
        system: RatioCheck,
        /// The node's check.
        node: Option<RatioCheck>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::RatioZero => write!(f, "auto_movable_ratio is 0"),
            Reason::StaticGroupHasKernel(pages) => {
                write!(f, "its static group has {} in kernel zones", Size(*pages))
            }
            Reason::UnitHasKernel(pfn) => {
                write!(
                    f,
                    "its group's unit has memory in a kernel zone at pfn {pfn:#x}"
                )
            }
            Reason::Ratio { system, node } => {
                write!(f, "{system}")?;
                match node {
                    Some(node) => write!(f, "; {node}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The zone [`zone_for_pfn`] chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The node's `ZONE_MOVABLE`.
    Movable,
    /// The node's default kernel zone for `[start_pfn, start_pfn + nr_pages)`
    /// (`default_kernel_zone_for_pfn()`). As in C, the range is not always the one onlined:
    /// for a dynamic group with big units it starts at the section where the unit scan
    /// stopped, and after a failed ratio check it has the pages the check counted.
    Kernel {
        /// The first pfn of the range.
        start_pfn: usize,
        /// The pages of the range.
        nr_pages: usize,
    },
}

/// The zone chosen and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The zone.
    pub choice: Choice,
    /// Why.
    pub reason: Reason,
}

/// Returns the zone the `auto-movable` policy onlines `[start_pfn, start_pfn + nr_pages)` of
/// node `nid` in `group` to (`auto_movable_zone_for_pfn()`).
///
/// `accounting` returns the page counts of a scope: its populated zones
/// ([`ZoneStats::account_zone`]) and its dynamic groups other than `group`
/// ([`GroupStats::account_group`]). `online_zone_is_movable` returns, for the first pfn of a
/// section, whether the section is online in `ZONE_MOVABLE` (`None`: not online); it is called
/// only for the sections of a dynamic group's unit bigger than `nr_pages`. Both are called at
/// most as often as C reads that state, in the same order.
///
/// # Examples
///
/// A DIMM (static group) of 512 MiB with 256 MiB already online in `ZONE_MOVABLE` is checked
/// for the 256 MiB still to come; one with kernel memory stays in the kernel zones:
///
/// ```
/// use kernel::memory::auto_movable::*;
/// use kernel::{fmt, str::CString};
///
/// const MIB: usize = (1 << 20) / kernel::page::PAGE_SIZE;
/// let params = Params { ratio: 301, numa_aware: false, section_pages: 128 * MIB };
/// let accounting = |_: Scope| Accounting::from_pages(100 * MIB, 256 * MIB);
/// let dimm = |kernel| Group::Static {
///     max_pages: 512 * MIB,
///     pages: GroupPages { kernel, movable: 256 * MIB },
/// };
///
/// let d = zone_for_pfn(&params, 0, dimm(0), 0x140000, 128 * MIB, accounting, |_| None);
/// assert_eq!(d.choice, Choice::Kernel { start_pfn: 0x140000, nr_pages: 256 * MIB });
/// let reason = CString::try_from_fmt(fmt!("{}", d.reason))?;
/// assert_eq!(reason.as_bytes(), b"movable 256M + 256M > 301% of kernel 100M");
///
/// let d = zone_for_pfn(&params, 0, dimm(128 * MIB), 0x140000, 128 * MIB, accounting, |_| None);
/// assert_eq!(d.reason, Reason::StaticGroupHasKernel(128 * MIB));
/// # Ok::<(), Error>(())
/// ```
///
/// A virtio-mem device in big-block mode (units of 8 sections, blocks of one) whose unit has a
/// section online in a kernel zone keeps the rest of the unit there:
///
/// ```
/// use kernel::memory::auto_movable::*;
///
/// const MIB: usize = (1 << 20) / kernel::page::PAGE_SIZE;
/// let section = 128 * MIB;
/// let params = Params { ratio: 301, numa_aware: true, section_pages: section };
/// let group = Group::Dynamic { unit_pages: 8 * section, pages: GroupPages::default() };
/// let accounting = |_: Scope| Accounting::from_pages(4096 * MIB, 0);
/// // The unit starts at `unit`; its third section is online in ZONE_NORMAL; the fourth is onlined.
/// let unit = 32 * section;
/// let zone_of = |pfn: usize| (pfn == unit + 2 * section).then_some(false);
/// let d = zone_for_pfn(&params, 0, group, unit + 3 * section, section, accounting, zone_of);
/// assert_eq!(d.reason, Reason::UnitHasKernel(unit + 2 * section));
/// assert_eq!(d.choice, Choice::Kernel { start_pfn: unit + 2 * section, nr_pages: section });
/// ```
pub fn zone_for_pfn(
    params: &Params,
    nid: i32,
    group: Group,
    start_pfn: usize,
    nr_pages: usize,
    mut accounting: impl FnMut(Scope) -> Accounting,
    mut online_zone_is_movable: impl FnMut(usize) -> Option<bool>,
) -> Decision {
    let kernel = |start_pfn, nr_pages, reason| Decision {
        choice: Choice::Kernel {
            start_pfn,
            nr_pages,
        },
        reason,
    };
    if params.ratio == 0 {
        return kernel(start_pfn, nr_pages, Reason::RatioZero);
    }

    // The pages that may still come online in the group or unit, and where the kernel zone's
    // range starts if they cannot be movable.
    let mut pfn = start_pfn;
    let (max_pages, online_pages) = match group {
        Group::Static { max_pages, pages } => {
            if pages.kernel != 0 {
                return kernel(pfn, nr_pages, Reason::StaticGroupHasKernel(pages.kernel));
            }
            (max_pages, pages.movable)
        }
        Group::Dynamic { unit_pages, .. } if unit_pages != nr_pages => {
            // All pages of a section are in one zone: dynamic groups only hold hot-added
            // memory.
            pfn = start_pfn & !unit_pages.wrapping_sub(1);
            let end_pfn = pfn.wrapping_add(unit_pages);
            let mut online = 0usize;
            while pfn < end_pfn {
                match online_zone_is_movable(pfn) {
                    Some(false) => return kernel(pfn, nr_pages, Reason::UnitHasKernel(pfn)),
                    Some(true) => online = online.wrapping_add(params.section_pages),
                    None => {}
                }
                pfn = pfn.wrapping_add(params.section_pages);
            }
            (unit_pages, online)
        }
        Group::None | Group::Dynamic { .. } => (nr_pages, 0),
    };

    // Movable if all that may still come online could be movable now.
    let pages = max_pages.wrapping_sub(online_pages);
    let system = RatioCheck::new(
        params.ratio,
        Scope::System,
        accounting(Scope::System),
        &group,
        pages,
    );
    if !system.passes() {
        let reason = Reason::Ratio { system, node: None };
        return kernel(pfn, pages, reason);
    }
    let node = (cfg!(CONFIG_NUMA) && params.numa_aware).then(|| {
        let scope = Scope::Node(nid);
        RatioCheck::new(params.ratio, scope, accounting(scope), &group, pages)
    });
    let reason = Reason::Ratio { system, node };
    match node {
        Some(node) if !node.passes() => kernel(pfn, pages, reason),
        _ => Decision {
            choice: Choice::Movable,
            reason,
        },
    }
}

#[cfg(CONFIG_MEMORY_HOTPLUG_RUST_KUNIT_TEST)]
mod tests;
