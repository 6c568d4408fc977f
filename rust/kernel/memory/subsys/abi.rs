// SPDX-License-Identifier: GPL-2.0

//! The C ABI of `include/linux/memory.h`, behind
//! [`memory_block_subsys!`](crate::memory_block_subsys): that macro emits
//! the `extern "C"` functions for a memory block driver `T`; each calls the function of the
//! same name here, which turns the raw C arguments into safe types and calls `T`'s
//! [`Subsystem`] callback.
//!
//! # Safety
//!
//! Each function has the contract of the C function of the same name in
//! `include/linux/memory.h`; the generated `extern "C"` functions are called only by C code
//! that honours it.

#![allow(clippy::missing_safety_doc)]

use super::{Subsys, Subsystem};
use crate::{
    bindings,
    error::from_result,
    ffi::{c_char, c_int, c_ulong, c_void},
    memory::{
        block::{Altmap, GroupKind, MemoryBlock, MemoryGroup},
        hotplug::{DeviceHotplugLocked, OnlineType},
    },
    str::CStr,
};
use core::ptr;

pub unsafe fn memory_dev_init<T: Subsystem>(subsys: &'static Subsys) {
    T::dev_init(subsys)
}

pub unsafe fn mhp_online_type_from_str(s: *const c_char) -> c_int {
    // SAFETY: `s` is a NUL-terminated string (C contract).
    let s = unsafe { CStr::from_char_ptr(s) };
    match OnlineType::from_name(s) {
        Ok(t) => t.as_raw() as c_int,
        Err(e) => e.to_errno(),
    }
}

pub unsafe fn find_memory_block<T: Subsystem>(section_nr: c_ulong) -> *mut bindings::memory_block {
    T::find_memory_block(section_nr).map_or(ptr::null_mut(), crate::memory::block::into_raw)
}

pub unsafe fn walk_memory_blocks<T: Subsystem>(
    start: c_ulong,
    size: c_ulong,
    arg: *mut c_void,
    func: bindings::walk_memory_blocks_func_t,
) -> c_int {
    let Some(func) = func else { return 0 };
    // SAFETY: `func` accepts any memory block and `arg` (C contract).
    T::walk_memory_blocks(start, size, &mut |mem| unsafe { func(mem.as_raw(), arg) })
}

pub unsafe fn for_each_memory_block<T: Subsystem>(
    arg: *mut c_void,
    func: bindings::walk_memory_blocks_func_t,
) -> c_int {
    let Some(func) = func else { return 0 };
    // SAFETY: `func` accepts any memory block and `arg` (C contract).
    T::for_each_memory_block(&mut |mem| unsafe { func(mem.as_raw(), arg) })
}

pub unsafe fn memory_block_add_nid<T: Subsystem>(
    mem: *mut bindings::memory_block,
    nid: c_int,
    context: bindings::meminit_context,
) {
    // SAFETY: Callers (node registration) hold `device_hotplug_lock` or run at early boot
    // and pass a registered block they hold a reference to.
    let (lock, mem) = unsafe { (DeviceHotplugLocked::assume(), MemoryBlock::from_raw(mem)) };
    mem.add_nid(
        lock,
        nid,
        context == bindings::meminit_context_MEMINIT_EARLY,
    )
}

pub unsafe fn create_memory_block_devices<T: Subsystem>(
    start: c_ulong,
    size: c_ulong,
    altmap: *mut bindings::vmem_altmap,
    group: *mut bindings::memory_group,
) -> c_int {
    // SAFETY: The caller (`add_memory_resource()`) holds `device_hotplug_lock`; the altmap
    // outlives the blocks and the group is registered (C contract).
    let (lock, altmap, group) = unsafe {
        (
            DeviceHotplugLocked::assume(),
            Altmap::from_raw(altmap),
            MemoryGroup::from_raw(group),
        )
    };
    from_result(|| T::create_blocks(lock, start, size, altmap, group).map(|()| 0))
}

pub unsafe fn remove_memory_block_devices<T: Subsystem>(start: c_ulong, size: c_ulong) {
    // SAFETY: The caller (`try_remove_memory()`) holds `device_hotplug_lock`.
    T::remove_blocks(unsafe { DeviceHotplugLocked::assume() }, start, size)
}

pub unsafe fn memory_group_register<T: Subsystem>(nid: c_int, kind: GroupKind) -> c_int {
    match T::group_register(nid, kind) {
        Ok(id) => id,
        Err(e) => e.to_errno(),
    }
}

pub unsafe fn memory_group_unregister<T: Subsystem>(mgid: c_int) -> c_int {
    from_result(|| T::group_unregister(mgid).map(|()| 0))
}

pub unsafe fn memory_group_find_by_id<T: Subsystem>(mgid: c_int) -> *mut bindings::memory_group {
    T::with_group(mgid, |g| g.map_or(ptr::null_mut(), MemoryGroup::as_raw))
}

pub unsafe fn walk_dynamic_memory_groups<T: Subsystem>(
    nid: c_int,
    func: bindings::walk_memory_groups_func_t,
    excluded: *mut bindings::memory_group,
    arg: *mut c_void,
) -> c_int {
    let Some(func) = func else { return 0 };
    // SAFETY: `excluded` is null or a registered group (C contract).
    let excluded = unsafe { MemoryGroup::from_raw(excluded) };
    // SAFETY: `func` accepts any group and `arg` (C contract).
    T::walk_dynamic_groups(nid, excluded, &mut |g| unsafe { func(g.as_raw(), arg) })
}

pub unsafe fn memblk_nr_poison_add<T: Subsystem>(pfn: c_ulong, nr: isize) {
    T::poison_add(pfn, nr)
}

/// Instantiates the `memory` subsystem with driver `$t` (a type implementing [`Subsystem`]):
/// the bus, the attribute tables and the `extern "C"` functions of `include/linux/memory.h`,
/// whose signatures are checked against the C declarations.
///
/// Only one memory block driver can be built into a kernel; the Kconfig choice
/// `CONFIG_MEMORY_HOTPLUG_RUST` replaces `drivers/base/memory.c` with it.
#[macro_export]
macro_rules! memory_block_subsys {
    ($t:ty) => {
        const _: () = {
            use $crate::bindings as __b;
            use $crate::ffi::{c_char, c_int, c_long, c_ulong, c_void};
            use $crate::memory::subsys::{self as __s, abi as __abi, attrs as __a};

            static BLOCK_ATTRS: [__a::DeviceAttribute; 5] = __a::block_attributes::<$t>();
            static BLOCK_LIST: __a::AttributeList =
                __a::AttributeList::new(BLOCK_ATTRS.split_at(__a::NR_BLOCK_ATTRS).0);
            static BLOCK_GROUPS: __a::AttributeGroups =
                __a::AttributeGroups::new(&BLOCK_LIST, &BLOCK_GROUPS);
            static ROOT_ATTRS: [__a::DeviceAttribute; __a::NR_ROOT_ATTRS] =
                __a::root_attributes::<$t>();
            static ROOT_LIST: __a::AttributeList = __a::AttributeList::new(&ROOT_ATTRS);
            static ROOT_GROUPS: __a::AttributeGroups =
                __a::AttributeGroups::new(&ROOT_LIST, &ROOT_GROUPS);
            // SAFETY: The groups list the block and the root attributes of `$t`.
            static SUBSYS: __s::Subsys =
                unsafe { __s::Subsys::new::<$t>(&BLOCK_GROUPS, &ROOT_GROUPS) };

            // Each `const _` below checks that a function has the type of its C declaration.

            #[no_mangle]
            unsafe extern "C" fn memory_dev_init() {
                // SAFETY: Called once by `driver_init()`.
                unsafe { __abi::memory_dev_init::<$t>(&SUBSYS) }
            }
            const _: [unsafe extern "C" fn(); 2] = [memory_dev_init, __b::memory_dev_init];

            #[no_mangle]
            unsafe extern "C" fn memory_subsys_late_init() -> c_int {
                // Called once, by the glue's late initcall, after `memory_dev_init()`.
                $crate::error::from_result(|| {
                    <$t as __s::Subsystem>::late_init()?;
                    Ok(0)
                })
            }
            const _: [unsafe extern "C" fn() -> c_int; 2] =
                [memory_subsys_late_init, __b::memory_subsys_late_init];

            #[no_mangle]
            unsafe extern "C" fn mhp_online_type_from_str(s: *const c_char) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::mhp_online_type_from_str(s) }
            }
            const _: [unsafe extern "C" fn(*const c_char) -> c_int; 2] =
                [mhp_online_type_from_str, __b::mhp_online_type_from_str];

            #[no_mangle]
            unsafe extern "C" fn register_memory_notifier(nb: *mut __b::notifier_block) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { $crate::memory::notifier::chain::register(nb) }
            }
            const _: [unsafe extern "C" fn(*mut __b::notifier_block) -> c_int; 2] =
                [register_memory_notifier, __b::register_memory_notifier];

            #[no_mangle]
            unsafe extern "C" fn unregister_memory_notifier(nb: *mut __b::notifier_block) {
                // SAFETY: C contract of the function.
                unsafe { $crate::memory::notifier::chain::unregister(nb) }
            }
            const _: [unsafe extern "C" fn(*mut __b::notifier_block); 2] =
                [unregister_memory_notifier, __b::unregister_memory_notifier];

            #[no_mangle]
            unsafe extern "C" fn memory_notify(val: c_ulong, v: *mut c_void) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { $crate::memory::notifier::chain::call(val, v) }
            }
            const _: [unsafe extern "C" fn(c_ulong, *mut c_void) -> c_int; 2] =
                [memory_notify, __b::memory_notify];

            #[no_mangle]
            unsafe extern "C" fn find_memory_block(nr: c_ulong) -> *mut __b::memory_block {
                // SAFETY: C contract of the function.
                unsafe { __abi::find_memory_block::<$t>(nr) }
            }
            const _: [unsafe extern "C" fn(c_ulong) -> *mut __b::memory_block; 2] =
                [find_memory_block, __b::find_memory_block];

            #[no_mangle]
            unsafe extern "C" fn walk_memory_blocks(
                start: c_ulong,
                size: c_ulong,
                arg: *mut c_void,
                func: __b::walk_memory_blocks_func_t,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::walk_memory_blocks::<$t>(start, size, arg, func) }
            }
            const _: [unsafe extern "C" fn(
                c_ulong,
                c_ulong,
                *mut c_void,
                __b::walk_memory_blocks_func_t,
            ) -> c_int; 2] = [walk_memory_blocks, __b::walk_memory_blocks];

            #[no_mangle]
            unsafe extern "C" fn for_each_memory_block(
                arg: *mut c_void,
                func: __b::walk_memory_blocks_func_t,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::for_each_memory_block::<$t>(arg, func) }
            }
            const _: [unsafe extern "C" fn(*mut c_void, __b::walk_memory_blocks_func_t) -> c_int;
                2] = [for_each_memory_block, __b::for_each_memory_block];

            #[cfg(CONFIG_NUMA)]
            #[no_mangle]
            unsafe extern "C" fn memory_block_add_nid(
                mem: *mut __b::memory_block,
                nid: c_int,
                context: __b::meminit_context,
            ) {
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_block_add_nid::<$t>(mem, nid, context) }
            }
            #[cfg(CONFIG_NUMA)]
            const _: [unsafe extern "C" fn(*mut __b::memory_block, c_int, __b::meminit_context);
                2] = [memory_block_add_nid, __b::memory_block_add_nid];

            #[no_mangle]
            unsafe extern "C" fn create_memory_block_devices(
                start: c_ulong,
                size: c_ulong,
                altmap: *mut __b::vmem_altmap,
                group: *mut __b::memory_group,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::create_memory_block_devices::<$t>(start, size, altmap, group) }
            }
            const _: [unsafe extern "C" fn(
                c_ulong,
                c_ulong,
                *mut __b::vmem_altmap,
                *mut __b::memory_group,
            ) -> c_int; 2] = [
                create_memory_block_devices,
                __b::create_memory_block_devices,
            ];

            #[no_mangle]
            unsafe extern "C" fn remove_memory_block_devices(start: c_ulong, size: c_ulong) {
                // SAFETY: C contract of the function.
                unsafe { __abi::remove_memory_block_devices::<$t>(start, size) }
            }
            const _: [unsafe extern "C" fn(c_ulong, c_ulong); 2] = [
                remove_memory_block_devices,
                __b::remove_memory_block_devices,
            ];

            #[no_mangle]
            unsafe extern "C" fn memory_group_register_static(
                nid: c_int,
                max_pages: c_ulong,
            ) -> c_int {
                let kind = $crate::memory::block::GroupKind::Static { max_pages };
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_register::<$t>(nid, kind) }
            }
            const _: [unsafe extern "C" fn(c_int, c_ulong) -> c_int; 2] = [
                memory_group_register_static,
                __b::memory_group_register_static,
            ];

            #[no_mangle]
            unsafe extern "C" fn memory_group_register_dynamic(
                nid: c_int,
                unit_pages: c_ulong,
            ) -> c_int {
                let kind = $crate::memory::block::GroupKind::Dynamic { unit_pages };
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_register::<$t>(nid, kind) }
            }
            const _: [unsafe extern "C" fn(c_int, c_ulong) -> c_int; 2] = [
                memory_group_register_dynamic,
                __b::memory_group_register_dynamic,
            ];

            #[no_mangle]
            unsafe extern "C" fn memory_group_unregister(mgid: c_int) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_unregister::<$t>(mgid) }
            }
            const _: [unsafe extern "C" fn(c_int) -> c_int; 2] =
                [memory_group_unregister, __b::memory_group_unregister];

            #[no_mangle]
            unsafe extern "C" fn memory_group_find_by_id(mgid: c_int) -> *mut __b::memory_group {
                // SAFETY: C contract of the function.
                unsafe { __abi::memory_group_find_by_id::<$t>(mgid) }
            }
            const _: [unsafe extern "C" fn(c_int) -> *mut __b::memory_group; 2] =
                [memory_group_find_by_id, __b::memory_group_find_by_id];

            #[no_mangle]
            unsafe extern "C" fn walk_dynamic_memory_groups(
                nid: c_int,
                func: __b::walk_memory_groups_func_t,
                excluded: *mut __b::memory_group,
                arg: *mut c_void,
            ) -> c_int {
                // SAFETY: C contract of the function.
                unsafe { __abi::walk_dynamic_memory_groups::<$t>(nid, func, excluded, arg) }
            }
            const _: [unsafe extern "C" fn(
                c_int,
                __b::walk_memory_groups_func_t,
                *mut __b::memory_group,
                *mut c_void,
            ) -> c_int; 2] = [walk_dynamic_memory_groups, __b::walk_dynamic_memory_groups];

            #[cfg(CONFIG_MEMORY_FAILURE)]
            #[no_mangle]
            unsafe extern "C" fn memblk_nr_poison_inc(pfn: c_ulong) {
                // SAFETY: C contract of the function.
                unsafe { __abi::memblk_nr_poison_add::<$t>(pfn, 1) }
            }
            #[cfg(CONFIG_MEMORY_FAILURE)]
            const _: [unsafe extern "C" fn(c_ulong); 2] =
                [memblk_nr_poison_inc, __b::memblk_nr_poison_inc];

            #[cfg(CONFIG_MEMORY_FAILURE)]
            #[no_mangle]
            unsafe extern "C" fn memblk_nr_poison_sub(pfn: c_ulong, i: c_long) {
                // SAFETY: C contract of the function.
                unsafe { __abi::memblk_nr_poison_add::<$t>(pfn, -(i as isize)) }
            }
            #[cfg(CONFIG_MEMORY_FAILURE)]
            const _: [unsafe extern "C" fn(c_ulong, c_long); 2] =
                [memblk_nr_poison_sub, __b::memblk_nr_poison_sub];
        };
    };
}
