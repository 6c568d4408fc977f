// SPDX-License-Identifier: GPL-2.0

//! Onlining a memory block: the core of `memory_block_online()`.

use super::{memmap, MemHotplugGuard, StateChangeFailure, Zone};
use crate::{
    bindings,
    error::to_result,
    memory::{
        block::{BlockState, LockedBlock, MemoryGroup},
        notifier::{chain::notify, veto::record_veto, Action},
        policy::ZoneForOnline,
    },
    prelude::*,
};

/// Onlines the offline block `mem` into `zone` (the core of `memory_block_online()`, after the
/// zone was chosen): under `mem_hotplug_lock`, `MEM_PREPARE_ONLINE`, the initialisation of a
/// memmap_on_memory block's vmemmap, core mm's `online_pages()` (`MEM_GOING_ONLINE`,
/// `MEM_ONLINE` or `MEM_CANCEL_ONLINE`) and the accounting of the vmemmap pages, or
/// `MEM_FINISH_OFFLINE` after a failure. On success the block is online in `zone`.
///
/// The zone is one [`zone_for_pfn_range`] resolved: only the online policy or core mm choose
/// it. Fails with `EINVAL` if the block is not offline, or `zone` was resolved for another
/// range or is not a zone of the block's node (an online policy is free code), and with the
/// errno of a vetoing notifier (whose callback the failure names) or of core mm.
///
/// [`zone_for_pfn_range`]: crate::memory::policy::zone_for_pfn_range
pub fn online_block(mem: &LockedBlock<'_>, zone: ZoneForOnline) -> Result<(), StateChangeFailure> {
    if mem.state() != BlockState::Offline || mem.zone().is_some() {
        return Err(EINVAL.into());
    }
    let pfns = mem.pfns();
    if crate::warn_on_once!(zone.pfn_range() != (pfns.start_pfn, pfns.nr_pages)) {
        return Err(EINVAL.into());
    }
    let zone = zone.zone();
    check_zone(mem, zone)?;
    let lock = MemHotplugGuard::begin();
    let (ret, veto) = record_veto(&lock, || {
        // A veto of MEM_PREPARE_ONLINE ends the operation without further events.
        notify(&lock, Action::PrepareOnline, mem)?;
        // The vmemmap of a memmap_on_memory block is initialised and accounted at online time,
        // so that it belongs to the same zone as the memory it describes.
        let onlined = memmap::init_memmap_on_memory(&lock, mem, zone).and_then(|()| {
            let (start_pfn, nr_pages) = (pfns.memory_start_pfn(), pfns.memory_nr_pages());
            let group = MemoryGroup::raw_or_null(mem.group());
            // SAFETY: `mem_hotplug_lock` is held for write; the range is a registered, offline,
            // device-locked (stable) block with its vmemmap initialised, `zone` its node's.
            let ret = unsafe { bindings::online_pages(start_pfn, nr_pages, zone.as_raw(), group) };
            let ret = to_result(ret);
            if ret.is_err() {
                memmap::deinit_memmap_on_memory(&lock, mem);
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
        return Err(StateChangeFailure {
            error,
            veto,
            core_mm: None,
        });
    }
    // Accounted once onlining succeeded: the zone is populated now.
    memmap::adjust_present_page_count(&lock, mem, true);
    mem.set_zone(Some(zone));
    mem.set_state(BlockState::Online);
    Ok(())
}

/// Checks that `zone` is a zone memory of `mem` may go to: one of the block's node (the
/// online policy is free code; core mm would corrupt two nodes' accounting otherwise).
fn check_zone(mem: &LockedBlock<'_>, zone: &Zone) -> Result {
    if cfg!(CONFIG_NUMA) && crate::warn_on_once!(zone.nid() != mem.nid()) {
        return Err(EINVAL);
    }
    Ok(())
}
