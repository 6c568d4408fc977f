// SPDX-License-Identifier: GPL-2.0

//! Offlining a memory block: the core of `memory_block_offline()`.

use super::{memmap, MemHotplugGuard, StateChangeFailure};
use crate::{
    bindings,
    error::to_result,
    memory::{
        block::{BlockState, LockedBlock, MemoryGroup},
        notifier::{chain::notify, veto::record_veto, Action},
    },
    prelude::*,
    str::CStr,
};
use core::ptr;

/// Offlines the online block `mem` (`memory_block_offline()`): under `mem_hotplug_lock`, core
/// mm's `offline_pages()` (`MEM_GOING_OFFLINE`, `MEM_OFFLINE` or `MEM_CANCEL_OFFLINE`), with
/// the vmemmap pages of a memmap_on_memory block taken out of the accounting around it, then
/// `MEM_FINISH_OFFLINE`. The block reads `going-offline` meanwhile, and offline on success.
///
/// Fails with `EINVAL` if the block is not online or its memory is not in one zone of one node
/// (it cannot be offlined), and with the errno of core mm, with its reason and the callback that
/// vetoed `MEM_GOING_OFFLINE`, if one did.
pub fn offline_block(mem: &LockedBlock<'_>) -> Result<(), StateChangeFailure> {
    if mem.state() != BlockState::Online {
        return Err(EINVAL.into());
    }
    mem.set_state(BlockState::GoingOffline);
    let ret = (|| -> Result<(), StateChangeFailure> {
        let zone = mem.zone().ok_or(EINVAL)?;
        let pfns = mem.pfns();
        let lock = MemHotplugGuard::begin();
        memmap::adjust_present_page_count(&lock, mem, false);
        let mut reason: *const crate::ffi::c_char = ptr::null();
        let (ret, veto) = record_veto(&lock, || {
            let (start_pfn, nr_pages) = (pfns.memory_start_pfn(), pfns.memory_nr_pages());
            let group = MemoryGroup::raw_or_null(mem.group());
            // SAFETY: `mem_hotplug_lock` is held for write; the range is a registered, online,
            // device-locked block in `zone` (`offline_pages()` checks it); `reason` is writable.
            let ret = unsafe {
                bindings::offline_pages(start_pfn, nr_pages, zone.as_raw(), group, &mut reason)
            };
            to_result(ret)
        });
        if let Err(error) = ret {
            memmap::adjust_present_page_count(&lock, mem, true);
            // SAFETY: `offline_pages()` sets `reason` to null or to a static string.
            let core_mm = (!reason.is_null()).then(|| unsafe { CStr::from_char_ptr(reason) });
            return Err(StateChangeFailure {
                error,
                veto,
                core_mm,
            });
        }
        memmap::deinit_memmap_on_memory(&lock, mem);
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
