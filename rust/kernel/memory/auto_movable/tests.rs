// SPDX-License-Identifier: GPL-2.0

//! The `memory_auto_movable` KUnit suite: [`zone_for_pfn`] against a table of cases worked out
//! from the C rules, and against an independent formulation of `auto_movable_zone_for_pfn()` on
//! generated machines. The table's numbers are x86-64's (4 KiB pages, 128 MiB sections).

use super::*;
use crate::kunit::suite::Test;

/// Pages of a MiB and of a section (x86-64: 4 KiB pages, 128 MiB sections).
const MIB: usize = 256;
const SECTION: usize = 128 * MIB;

const fn params(ratio: u32, numa_aware: bool) -> Params {
    Params {
        ratio,
        numa_aware,
        section_pages: SECTION,
    }
}

const fn acct(kernel: usize, movable: usize, req: usize, groups_movable: usize) -> Accounting {
    Accounting {
        zones: ZoneStats {
            kernel_early_pages: kernel,
            movable_pages: movable,
        },
        groups: GroupStats {
            movable_pages: groups_movable,
            req_kernel_early_pages: req,
        },
    }
}

/// A case of the table: the inputs, the zone and the kind of reason expected.
struct Case {
    what: &'static str,
    params: Params,
    group: Group,
    start_pfn: usize,
    nr_pages: usize,
    system: Accounting,
    node: Accounting,
    /// The sections of the unit online in ZONE_MOVABLE (`Some(true)`) or a kernel zone, by
    /// section index from pfn 0.
    sections: &'static [(usize, bool)],
    choice: Choice,
    reason: Expect,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    RatioZero,
    StaticGroupHasKernel,
    UnitHasKernel,
    /// The system-wide check passed or not, and the node's check passed, failed or was not
    /// done.
    Ratio(bool, Option<bool>),
}

fn kind(reason: &Reason) -> Expect {
    match reason {
        Reason::RatioZero => Expect::RatioZero,
        Reason::StaticGroupHasKernel(_) => Expect::StaticGroupHasKernel,
        Reason::UnitHasKernel(_) => Expect::UnitHasKernel,
        Reason::Ratio { system, node } => Expect::Ratio(system.passes(), node.map(|n| n.passes())),
    }
}

const K: Choice = Choice::Kernel {
    start_pfn: 0x100000,
    nr_pages: SECTION,
};
const PFN: usize = 0x100000;
const NONE: Group = Group::None;
const NO_PAGES: GroupPages = GroupPages {
    kernel: 0,
    movable: 0,
};

const TABLE: &[Case] = &[
    Case {
        what: "ratio 0: kernel, nothing counted",
        params: params(0, true),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(1 << 30, 0, 0, 0),
        node: acct(1 << 30, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::RatioZero,
    },
    Case {
        what: "exactly at the ratio: movable",
        params: params(301, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: 128,
        // 301% of 1000 is 3010 = 2882 + 128.
        system: acct(1000, 2882, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
    Case {
        what: "one page over the ratio: kernel",
        params: params(301, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: 128,
        system: acct(1000, 2883, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Kernel {
            start_pfn: PFN,
            nr_pages: 128,
        },
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "ratio * kernel rounds down: 301% of 999 is 3006",
        params: params(301, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: 6,
        system: acct(999, 3001, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Kernel {
            start_pfn: PFN,
            nr_pages: 6,
        },
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "ratio * kernel wraps to 0 (2^31 * 2^33)",
        params: params(1 << 31, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: 1,
        system: acct(1 << 33, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Kernel {
            start_pfn: PFN,
            nr_pages: 1,
        },
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "ratio u32::MAX without wrapping: movable",
        params: params(u32::MAX, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(1 << 20, 1 << 40, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
    Case {
        what: "NUMA aware: the node fails",
        params: params(301, true),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(1024 * MIB, 0, 0, 0),
        node: acct(16 * MIB, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::Ratio(true, Some(false)),
    },
    Case {
        what: "NUMA aware: an empty node (memory-only, e.g. CXL) fails",
        params: params(301, true),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(1024 * MIB, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::Ratio(true, Some(false)),
    },
    Case {
        what: "not NUMA aware: the node is not checked",
        params: params(301, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(1024 * MIB, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
    Case {
        what: "the system fails: the node is not checked",
        params: params(100, true),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(64 * MIB, 0, 0, 0),
        node: acct(1 << 40, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "CMA counts as movable (accounted by the caller): fails",
        params: params(100, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: SECTION,
        // 1 GiB kernel zone with 512 MiB CMA: 512 MiB kernel, 512 MiB movable.
        system: acct(512 * MIB, 512 * MIB, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "other dynamic groups need all kernel memory",
        params: params(301, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: 1,
        system: acct(1000, 3010, 1000, 3010),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Kernel {
            start_pfn: PFN,
            nr_pages: 1,
        },
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "other dynamic groups' movable memory is taken out",
        params: params(100, false),
        group: NONE,
        start_pfn: PFN,
        nr_pages: 100,
        // 1000 kernel, 500 of which back the groups' 500 movable: 500 left for 400 + 100.
        system: acct(1000, 900, 500, 500),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
    Case {
        what: "static group with kernel memory stays kernel",
        params: params(301, true),
        group: Group::Static {
            max_pages: 4 * SECTION,
            pages: GroupPages {
                kernel: SECTION,
                movable: 0,
            },
        },
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(1 << 40, 0, 0, 0),
        node: acct(1 << 40, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::StaticGroupHasKernel,
    },
    Case {
        what: "static group: all its remaining pages are checked",
        params: params(100, false),
        group: Group::Static {
            max_pages: 4 * SECTION,
            pages: GroupPages {
                kernel: 0,
                movable: SECTION,
            },
        },
        start_pfn: PFN,
        nr_pages: SECTION,
        // 3 sections to come + 1 online = 4 > 3 sections of kernel memory.
        system: acct(3 * SECTION, SECTION, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Kernel {
            start_pfn: PFN,
            nr_pages: 3 * SECTION,
        },
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "dynamic group with block-sized units: the block",
        params: params(100, false),
        group: Group::Dynamic {
            unit_pages: SECTION,
            pages: NO_PAGES,
        },
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(SECTION, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[(0x100000 / SECTION, false)],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
    Case {
        what: "dynamic group with only kernel memory backs its own movable memory",
        params: params(100, false),
        group: Group::Dynamic {
            unit_pages: SECTION,
            pages: GroupPages {
                kernel: 2 * SECTION,
                movable: 0,
            },
        },
        start_pfn: PFN,
        nr_pages: SECTION,
        // No kernel pages beyond one page: the group's 2 sections make it pass.
        system: acct(1, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
    Case {
        what: "dynamic group's own kernel memory does not help without other kernel memory",
        params: params(100, false),
        group: Group::Dynamic {
            unit_pages: SECTION,
            pages: GroupPages {
                kernel: 2 * SECTION,
                movable: 0,
            },
        },
        start_pfn: PFN,
        nr_pages: SECTION,
        system: acct(0, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[],
        choice: K,
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "big unit: a kernel section stops the scan there",
        params: params(301, true),
        group: Group::Dynamic {
            unit_pages: 8 * SECTION,
            pages: NO_PAGES,
        },
        start_pfn: 0x418000,
        nr_pages: SECTION,
        system: acct(1 << 40, 0, 0, 0),
        node: acct(1 << 40, 0, 0, 0),
        sections: &[(0x400000 / SECTION, true), (0x410000 / SECTION, false)],
        choice: Choice::Kernel {
            start_pfn: 0x410000,
            nr_pages: SECTION,
        },
        reason: Expect::UnitHasKernel,
    },
    Case {
        what: "big unit: online movable sections are subtracted, the range ends the unit",
        params: params(100, false),
        group: Group::Dynamic {
            unit_pages: 8 * SECTION,
            pages: NO_PAGES,
        },
        start_pfn: 0x418000,
        nr_pages: SECTION,
        // 6 sections to come (2 online movable) + 0 movable > 5 sections of kernel.
        system: acct(5 * SECTION, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[(0x400000 / SECTION, true), (0x410000 / SECTION, true)],
        choice: Choice::Kernel {
            start_pfn: 0x440000,
            nr_pages: 6 * SECTION,
        },
        reason: Expect::Ratio(false, None),
    },
    Case {
        what: "big unit: 6 sections fit into 6 of kernel",
        params: params(100, false),
        group: Group::Dynamic {
            unit_pages: 8 * SECTION,
            pages: NO_PAGES,
        },
        start_pfn: 0x418000,
        nr_pages: SECTION,
        system: acct(6 * SECTION, 0, 0, 0),
        node: acct(0, 0, 0, 0),
        sections: &[(0x400000 / SECTION, true), (0x410000 / SECTION, true)],
        choice: Choice::Movable,
        reason: Expect::Ratio(true, None),
    },
];

/// Every case of the table.
fn table(test: &Test) {
    for case in TABLE {
        let node_expected = case.node;
        let d = zone_for_pfn(
            &case.params,
            0,
            case.group,
            case.start_pfn,
            case.nr_pages,
            |scope| match scope {
                Scope::System => case.system,
                Scope::Node(_) => node_expected,
            },
            |pfn| {
                case.sections
                    .iter()
                    .find(|(s, _)| *s * SECTION == pfn)
                    .map(|(_, movable)| *movable)
            },
        );
        // Without NUMA, C compiles the node check out: a case whose system check passed and
        // whose node was checked goes to ZONE_MOVABLE.
        let (choice, reason) = match case.reason {
            Expect::Ratio(true, Some(_)) if !cfg!(CONFIG_NUMA) => {
                (Choice::Movable, Expect::Ratio(true, None))
            }
            _ => (case.choice, case.reason),
        };
        test.expect_eq(d.choice, choice, format_args!("{}: zone", case.what));
        test.expect_eq(
            kind(&d.reason),
            reason,
            format_args!("{}: reason", case.what),
        );
    }
    test.info(format_args!("{} table cases", TABLE.len()));
}

/// The group accounting of C, with its `int` ratio and `long` page count.
fn account_group_cases(test: &Test) {
    let cases: &[(u32, GroupPages, GroupStats)] = &[
        // 300 movable need 100 kernel at 300%; it has 40.
        (
            300,
            GroupPages {
                kernel: 40,
                movable: 300,
            },
            GroupStats {
                movable_pages: 300,
                req_kernel_early_pages: 60,
            },
        ),
        // Exactly enough of its own: none required.
        (
            300,
            GroupPages {
                kernel: 100,
                movable: 300,
            },
            GroupStats {
                movable_pages: 300,
                req_kernel_early_pages: 0,
            },
        ),
        // Ratio 0: nothing counted at all.
        (
            0,
            GroupPages {
                kernel: 0,
                movable: 300,
            },
            GroupStats::default(),
        ),
        // A ratio above INT_MAX divides by a huge number: nothing required.
        (
            u32::MAX,
            GroupPages {
                kernel: 0,
                movable: 1 << 40,
            },
            GroupStats {
                movable_pages: 1 << 40,
                req_kernel_early_pages: 0,
            },
        ),
    ];
    for (ratio, group, expected) in cases {
        let mut stats = GroupStats::default();
        stats.account_group(*ratio, *group);
        test.expect_eq(stats, *expected, format_args!("ratio {ratio}, {group:?}"));
    }
}

/// A deterministic pseudo-random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A page count: mostly realistic, sometimes tiny or near the top of `unsigned long`.
    fn pages(&mut self) -> u64 {
        match self.below(16) {
            0 => 0,
            1 => self.below(4),
            2 => u64::MAX - self.below(1 << 20),
            3 => self.next_u64() >> self.below(64),
            _ => self.below(64) * SECTION as u64 + self.below(2) * self.below(SECTION as u64),
        }
    }
}

/// A zone of the generated machine.
#[derive(Clone, Copy, Default)]
struct GenZone {
    nid: i32,
    movable: bool,
    present: u64,
    early: u64,
    cma: u64,
}

/// A memory group of the generated machine.
#[derive(Clone, Copy, Default)]
struct GenGroup {
    nid: i32,
    dynamic: bool,
    /// `s.max_pages` or `d.unit_pages`.
    size: u64,
    kernel: u64,
    movable: u64,
}

const MAX_ZONES: usize = 9;
const MAX_GROUPS: usize = 6;
const UNIT_SECTIONS: usize = 8;

/// A generated machine and an online of a block of it.
struct Machine {
    ratio: u32,
    numa_aware: bool,
    zones: [GenZone; MAX_ZONES],
    nr_zones: usize,
    groups: [GenGroup; MAX_GROUPS],
    nr_groups: usize,
    /// The group onlined into, an index into `groups`.
    target: Option<usize>,
    nid: i32,
    pfn: u64,
    nr_pages: u64,
    /// The sections of the unit from its first pfn: 0 offline, 1 movable, 2 kernel.
    unit: [u8; UNIT_SECTIONS],
    unit_start: u64,
}

fn generate(rng: &mut Rng) -> Machine {
    const RATIOS: [u32; 10] = [0, 1, 99, 100, 101, 301, 1000, 1 << 31, u32::MAX, 65537];
    let ratio = match rng.below(4) {
        0 => rng.next_u64() as u32,
        _ => RATIOS[rng.below(RATIOS.len() as u64) as usize],
    };
    let nodes = 1 + rng.below(3) as i32;
    let mut m = Machine {
        ratio,
        numa_aware: rng.below(2) == 0,
        zones: [GenZone::default(); MAX_ZONES],
        nr_zones: 1 + rng.below(MAX_ZONES as u64) as usize,
        groups: [GenGroup::default(); MAX_GROUPS],
        nr_groups: rng.below(MAX_GROUPS as u64 + 1) as usize,
        target: None,
        nid: rng.below(nodes as u64) as i32,
        pfn: 0,
        nr_pages: SECTION as u64,
        unit: [0; UNIT_SECTIONS],
        unit_start: 0,
    };
    for z in &mut m.zones[..m.nr_zones] {
        let present = rng.pages();
        *z = GenZone {
            nid: rng.below(nodes as u64) as i32,
            movable: rng.below(3) == 0,
            present,
            early: if rng.below(2) == 0 {
                present
            } else {
                rng.pages()
            },
            cma: if rng.below(4) == 0 { rng.pages() } else { 0 },
        };
    }
    for g in &mut m.groups[..m.nr_groups] {
        let dynamic = rng.below(3) != 0;
        *g = GenGroup {
            nid: rng.below(nodes as u64) as i32,
            dynamic,
            size: if dynamic {
                (SECTION as u64) << rng.below(4)
            } else {
                rng.below(16) * SECTION as u64
            },
            kernel: if rng.below(2) == 0 { 0 } else { rng.pages() },
            movable: rng.pages(),
        };
    }
    if m.nr_groups > 0 && rng.below(4) != 0 {
        let t = rng.below(m.nr_groups as u64) as usize;
        m.target = Some(t);
        m.nid = m.groups[t].nid;
    }
    // The block: a section-aligned pfn; block-sized or bigger than a section.
    m.nr_pages = (SECTION as u64) << rng.below(2);
    m.pfn = (1 + rng.below(1 << 12)) * SECTION as u64;
    if let Some(t) = m.target {
        let unit = m.groups[t].size;
        if m.groups[t].dynamic && unit != m.nr_pages {
            m.unit_start = m.pfn & !(unit - 1);
            for s in &mut m.unit {
                *s = rng.below(3) as u8;
            }
        }
    }
    m
}

/// `auto_movable_zone_for_pfn()` on a generated machine, written from the C code: returns
/// whether the block goes to ZONE_MOVABLE and, if not, the range of the kernel zone.
fn reference(m: &Machine) -> (bool, u64, u64) {
    let mut pfn = m.pfn;
    let mut nr_pages = m.nr_pages;
    if m.ratio == 0 {
        return (false, pfn, nr_pages);
    }
    let group = m.target.map(|t| &m.groups[t]);
    let max_pages;
    let mut online_pages: u64 = 0;
    match group {
        Some(g) if !g.dynamic => {
            max_pages = g.size;
            online_pages = g.movable;
            if g.kernel != 0 {
                return (false, pfn, nr_pages);
            }
        }
        Some(g) if g.size != nr_pages => {
            max_pages = g.size;
            pfn &= !(g.size - 1);
            let end_pfn = pfn + g.size;
            while pfn < end_pfn {
                let s = ((pfn - m.unit_start) / SECTION as u64) as usize;
                let state = if s < UNIT_SECTIONS { m.unit[s] } else { 0 };
                if state == 2 {
                    return (false, pfn, nr_pages);
                }
                if state == 1 {
                    online_pages += SECTION as u64;
                }
                pfn += SECTION as u64;
            }
        }
        _ => max_pages = nr_pages,
    }
    nr_pages = max_pages.wrapping_sub(online_pages);
    if !can_online_movable(m, None, nr_pages) {
        return (false, pfn, nr_pages);
    }
    if cfg!(CONFIG_NUMA) && m.numa_aware && !can_online_movable(m, Some(m.nid), nr_pages) {
        return (false, pfn, nr_pages);
    }
    (true, 0, 0)
}

/// `auto_movable_can_online_movable()`, written from the C code.
fn can_online_movable(m: &Machine, nid: Option<i32>, nr_pages: u64) -> bool {
    let mut kernel_early_pages: u64 = 0;
    let mut movable_pages: u64 = 0;
    for z in &m.zones[..m.nr_zones] {
        if nid.is_some_and(|n| n != z.nid) {
            continue;
        }
        if z.movable {
            movable_pages = movable_pages.wrapping_add(z.present);
        } else {
            kernel_early_pages = kernel_early_pages.wrapping_add(z.early);
            movable_pages = movable_pages.wrapping_add(z.cma);
            kernel_early_pages = kernel_early_pages.wrapping_sub(z.cma);
        }
    }
    let mut req_kernel_early_pages: u64 = 0;
    let mut group_movable_pages: u64 = 0;
    for (i, g) in m.groups[..m.nr_groups].iter().enumerate() {
        if !g.dynamic || Some(i) == m.target || nid.is_some_and(|n| n != g.nid) {
            continue;
        }
        // `const int ratio`; `unsigned long / int` converts the int to unsigned long.
        let ratio = m.ratio as i32;
        if ratio == 0 {
            continue;
        }
        let mut pages: i64 = (g.movable.wrapping_mul(100) / (ratio as i64 as u64)) as i64;
        pages = (pages as u64).wrapping_sub(g.kernel) as i64;
        if pages > 0 {
            req_kernel_early_pages = req_kernel_early_pages.wrapping_add(pages as u64);
        }
        group_movable_pages = group_movable_pages.wrapping_add(g.movable);
    }
    if kernel_early_pages <= req_kernel_early_pages {
        return false;
    }
    kernel_early_pages -= req_kernel_early_pages;
    movable_pages = movable_pages.wrapping_sub(group_movable_pages);
    if let Some(g) = m.target.map(|t| &m.groups[t]) {
        if g.dynamic {
            kernel_early_pages = kernel_early_pages.wrapping_add(g.kernel);
        }
    }
    movable_pages = movable_pages.wrapping_add(nr_pages);
    movable_pages <= (m.ratio as u64).wrapping_mul(kernel_early_pages) / 100
}

/// [`zone_for_pfn`] on a generated machine, its accounting made with the production helpers.
fn decide(m: &Machine) -> Decision {
    let group = match m.target.map(|t| &m.groups[t]) {
        None => Group::None,
        Some(g) => {
            let pages = GroupPages {
                kernel: g.kernel as usize,
                movable: g.movable as usize,
            };
            if g.dynamic {
                Group::Dynamic {
                    unit_pages: g.size as usize,
                    pages,
                }
            } else {
                Group::Static {
                    max_pages: g.size as usize,
                    pages,
                }
            }
        }
    };
    let in_scope = |scope: Scope, nid: i32| match scope {
        Scope::System => true,
        Scope::Node(n) => n == nid,
    };
    let accounting = |scope: Scope| {
        let mut a = Accounting::default();
        for z in m.zones[..m.nr_zones]
            .iter()
            .filter(|z| in_scope(scope, z.nid))
        {
            a.zones.account_zone(ZonePages {
                movable: z.movable,
                present_pages: z.present as usize,
                present_early_pages: z.early as usize,
                cma_pages: z.cma as usize,
            });
        }
        for (i, g) in m.groups[..m.nr_groups].iter().enumerate() {
            if g.dynamic && Some(i) != m.target && in_scope(scope, g.nid) {
                let pages = GroupPages {
                    kernel: g.kernel as usize,
                    movable: g.movable as usize,
                };
                a.groups.account_group(m.ratio, pages);
            }
        }
        a
    };
    let section = |pfn: usize| {
        let s = (pfn as u64).wrapping_sub(m.unit_start) / SECTION as u64;
        match m.unit.get(s as usize).copied().unwrap_or(0) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    };
    zone_for_pfn(
        &params(m.ratio, m.numa_aware),
        m.nid,
        group,
        m.pfn as usize,
        m.nr_pages as usize,
        accounting,
        section,
    )
}

/// The number of generated machines.
const GENERATED: u32 = 100_000;

/// [`zone_for_pfn`] against [`reference`] on generated machines.
fn generated(test: &Test) {
    let mut rng = Rng(0x6d65_6d6f_7279_2121);
    let (mut movable, mut mismatches) = (0u32, 0u32);
    // How often each kind of reason decided: ratio 0, static group with kernel memory, unit
    // with kernel memory, system check failed, node check failed, movable.
    let mut kinds = [0u32; 6];
    for i in 0..GENERATED {
        let m = generate(&mut rng);
        let d = decide(&m);
        let got = match d.choice {
            Choice::Movable => (true, 0, 0),
            Choice::Kernel {
                start_pfn,
                nr_pages,
            } => (false, start_pfn as u64, nr_pages as u64),
        };
        let expected = reference(&m);
        movable += u32::from(got.0);
        // The explanation agrees with the choice: movable exactly when the checks pass.
        let kind = match d.reason {
            Reason::RatioZero => 0,
            Reason::StaticGroupHasKernel(_) => 1,
            Reason::UnitHasKernel(_) => 2,
            Reason::Ratio { system, .. } if !system.passes() => 3,
            Reason::Ratio { node: Some(n), .. } if !n.passes() => 4,
            Reason::Ratio { .. } => 5,
        };
        kinds[kind] += 1;
        if got != expected || (kind == 5) != got.0 {
            mismatches += 1;
            if mismatches <= 5 {
                test.expect_eq(
                    (got, kind == 5),
                    (expected, expected.0),
                    format_args!("machine {i}: (zone, reason says movable)"),
                );
            }
        }
    }
    test.expect_eq(mismatches, 0, format_args!("mismatches"));
    // The generator reaches every branch, and neither answer dominates. Without NUMA, C has
    // no node check (kind 4): it must never fail.
    let reached = |(kind, &n): (usize, &u32)| {
        if kind == 4 && !cfg!(CONFIG_NUMA) {
            n == 0
        } else {
            n >= GENERATED / 1000
        }
    };
    test.expect(
        kinds.iter().enumerate().all(reached),
        format_args!("every kind of decision is generated: {kinds:?}"),
    );
    test.expect(
        (GENERATED / 20..=GENERATED - GENERATED / 20).contains(&movable),
        format_args!("{movable} movable of {GENERATED}"),
    );
    test.info(format_args!(
        "{GENERATED} generated cases, {movable} movable, {mismatches} mismatches, by reason {kinds:?}"
    ));
}

crate::kunit_test_suite!(
    "memory_auto_movable",
    [table, account_group_cases, generated]
);
