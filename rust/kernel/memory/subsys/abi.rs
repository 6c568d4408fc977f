// SPDX-License-Identifier: GPL-2.0

//! The C ABI of `include/linux/memory.h`: the `extern "C"` functions that
//! [`memory_block_subsys!`](crate::memory_block_subsys) emits for a memory block driver `T`.
//!
//! Each C function is one short `extern "C"` function in that macro, below, which turns the C
//! arguments into safe types and calls the Rust function that answers it:
//!
//! | C symbol | answered by | exported by `memory_glue.c` |
//! |---|---|---|
//! | `memory_dev_init()` | [`Subsystem::dev_init`] | no (`driver_init()` calls it) |
//! | `memory_subsys_late_init()` | [`Subsystem::late_init`] | no (the glue's late initcall) |
//! | `mhp_online_type_from_str()` | [`OnlineType::from_name`] | no |
//! | `register_memory_notifier()` | [`chain::register`] | `EXPORT_SYMBOL` |
//! | `unregister_memory_notifier()` | [`chain::unregister`] | `EXPORT_SYMBOL` |
//! | `memory_notify()` | [`chain::call`] | no |
//! | `find_memory_block()` | [`Subsystem::find_memory_block`] | no |
//! | `walk_memory_blocks()` | [`Subsystem::walk_memory_blocks`] | no |
//! | `for_each_memory_block()` | [`Subsystem::for_each_memory_block`] | no |
//! | `memory_block_add_nid()` (`NUMA`) | `MemoryBlock::add_nid` | no |
//! | `create_memory_block_devices()` | [`Subsystem::create_blocks`] | no |
//! | `remove_memory_block_devices()` | [`Subsystem::remove_blocks`] | no |
//! | `memory_group_register_static()` | [`Subsystem::group_register`] ([`GroupKind::Static`]) | `EXPORT_SYMBOL_GPL` |
//! | `memory_group_register_dynamic()` | [`Subsystem::group_register`] ([`GroupKind::Dynamic`]) | `EXPORT_SYMBOL_GPL` |
//! | `memory_group_unregister()` | [`Subsystem::group_unregister`] | `EXPORT_SYMBOL_GPL` |
//! | `memory_group_find_by_id()` | [`Subsystem::with_group`] | no |
//! | `walk_dynamic_memory_groups()` | [`Subsystem::walk_dynamic_groups`] | `EXPORT_SYMBOL_GPL` (for the policy module) |
//! | `memblk_nr_poison_inc()` (`MEMORY_FAILURE`) | [`Subsystem::poison_add`] (1) | no |
//! | `memblk_nr_poison_sub()` (`MEMORY_FAILURE`) | [`Subsystem::poison_add`] (`-nr`) | no |
//!
//! The rest of the header is C: the chain head `memory_chain`, `memory_block_size_bytes()` and
//! `arch_get_memory_phys_device()` (`__weak`, for architectures to override) are in
//! `drivers/base/memory_rust/memory_glue.c`.
//!
//! Each function's signature is checked at build time against bindgen's reading of its C
//! declaration, and each is called only by C code that honours the contract of its C
//! declaration, which the `// SAFETY:` comments cite as "C contract".
//!
//! [`Subsystem::dev_init`]: super::Subsystem::dev_init
//! [`Subsystem::late_init`]: super::Subsystem::late_init
//! [`OnlineType::from_name`]: crate::memory::hotplug::OnlineType::from_name
//! [`chain::register`]: crate::memory::notifier::chain::register
//! [`chain::unregister`]: crate::memory::notifier::chain::unregister
//! [`chain::call`]: crate::memory::notifier::chain::call
//! [`Subsystem::find_memory_block`]: super::Subsystem::find_memory_block
//! [`Subsystem::walk_memory_blocks`]: super::Subsystem::walk_memory_blocks
//! [`Subsystem::for_each_memory_block`]: super::Subsystem::for_each_memory_block
//! [`Subsystem::create_blocks`]: super::Subsystem::create_blocks
//! [`Subsystem::remove_blocks`]: super::Subsystem::remove_blocks
//! [`Subsystem::group_register`]: super::Subsystem::group_register
//! [`GroupKind::Static`]: crate::memory::block::GroupKind::Static
//! [`GroupKind::Dynamic`]: crate::memory::block::GroupKind::Dynamic
//! [`Subsystem::group_unregister`]: super::Subsystem::group_unregister
//! [`Subsystem::with_group`]: super::Subsystem::with_group
//! [`Subsystem::walk_dynamic_groups`]: super::Subsystem::walk_dynamic_groups
//! [`Subsystem::poison_add`]: super::Subsystem::poison_add

/// Defines the C function `$name` (`#[no_mangle] unsafe extern "C"`) with `$body`, and checks
/// that its signature is the one of the C declaration of the same name (`bindings::$name`).
#[doc(hidden)]
#[macro_export]
macro_rules! __memory_c_function {
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$attr])*
        #[no_mangle]
        unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? $body

        $(#[$attr])*
        const _: [unsafe extern "C" fn($($ty),*) $(-> $ret)?; 2] =
            [$name, $crate::bindings::$name];
    };
}

/// Instantiates the `memory` subsystem with driver `$t` (a type implementing
/// [`Subsystem`](crate::memory::subsys::Subsystem)): the bus, the attribute tables and the
/// `extern "C"` functions of `include/linux/memory.h` (see the table of
/// [`abi`](crate::memory::subsys::abi)).
///
/// Only one memory block driver can be built into a kernel; the Kconfig choice
/// `CONFIG_MEMORY_HOTPLUG_RUST` replaces `drivers/base/memory.c` with it.
#[macro_export]
macro_rules! memory_block_subsys {
    ($t:ty) => {
        const _: () = {
            use $crate::bindings as __b;
            use $crate::error::from_result as __from_result;
            use $crate::ffi::{c_char, c_int, c_long, c_ulong, c_void};
            use $crate::memory::{
                block as __block, hotplug as __hotplug,
                notifier::chain as __chain,
                subsys::{self as __s, attrs as __a},
            };

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

            $crate::__memory_c_function! {
                // Called once, by `driver_init()`.
                fn memory_dev_init() {
                    <$t as __s::Subsystem>::dev_init(&SUBSYS)
                }
            }

            $crate::__memory_c_function! {
                // Called once, by the glue's late initcall, after `memory_dev_init()`.
                fn memory_subsys_late_init() -> c_int {
                    __from_result(|| <$t as __s::Subsystem>::late_init().map(|()| 0))
                }
            }

            $crate::__memory_c_function! {
                fn mhp_online_type_from_str(s: *const c_char) -> c_int {
                    // SAFETY: `s` is a NUL-terminated string (C contract).
                    let s = unsafe { $crate::str::CStr::from_char_ptr(s) };
                    match __hotplug::OnlineType::from_name(s) {
                        Ok(t) => t.as_raw() as c_int,
                        Err(e) => e.to_errno(),
                    }
                }
            }

            $crate::__memory_c_function! {
                fn register_memory_notifier(nb: *mut __b::notifier_block) -> c_int {
                    // SAFETY: `nb` is valid and stays registered only while it is alive (C
                    // contract).
                    unsafe { __chain::register(nb) }
                }
            }

            $crate::__memory_c_function! {
                fn unregister_memory_notifier(nb: *mut __b::notifier_block) {
                    // SAFETY: `nb` is null or was registered (C contract).
                    unsafe { __chain::unregister(nb) }
                }
            }

            $crate::__memory_c_function! {
                fn memory_notify(val: c_ulong, v: *mut c_void) -> c_int {
                    // SAFETY: `v` is a `struct memory_notify` valid for `val`; core mm calls
                    // this with `mem_hotplug_lock` held, no lock the callbacks take (C contract).
                    unsafe { __chain::call(val, v) }
                }
            }

            $crate::__memory_c_function! {
                fn find_memory_block(nr: c_ulong) -> *mut __b::memory_block {
                    <$t as __s::Subsystem>::find_memory_block(nr)
                        .map_or(core::ptr::null_mut(), __block::into_raw)
                }
            }

            $crate::__memory_c_function! {
                fn walk_memory_blocks(
                    start: c_ulong,
                    size: c_ulong,
                    arg: *mut c_void,
                    func: __b::walk_memory_blocks_func_t,
                ) -> c_int {
                    let Some(func) = func else { return 0 };
                    <$t as __s::Subsystem>::walk_memory_blocks(start, size, &mut |mem| {
                        // SAFETY: `func` accepts any memory block and `arg` (C contract).
                        unsafe { func(mem.as_raw(), arg) }
                    })
                }
            }

            $crate::__memory_c_function! {
                fn for_each_memory_block(
                    arg: *mut c_void,
                    func: __b::walk_memory_blocks_func_t,
                ) -> c_int {
                    let Some(func) = func else { return 0 };
                    <$t as __s::Subsystem>::for_each_memory_block(&mut |mem| {
                        // SAFETY: `func` accepts any memory block and `arg` (C contract).
                        unsafe { func(mem.as_raw(), arg) }
                    })
                }
            }

            $crate::__memory_c_function! {
                #[cfg(CONFIG_NUMA)]
                fn memory_block_add_nid(
                    mem: *mut __b::memory_block,
                    nid: c_int,
                    context: __b::meminit_context,
                ) {
                    // SAFETY: Callers (node registration) hold `device_hotplug_lock` or run at
                    // early boot and pass a registered block they hold a reference to (C
                    // contract).
                    let (lock, mem) = unsafe {
                        (
                            __hotplug::DeviceHotplugLocked::assume(),
                            __block::MemoryBlock::from_raw(mem),
                        )
                    };
                    let early = context == __b::meminit_context_MEMINIT_EARLY;
                    // SAFETY: Only node registration calls `memory_block_add_nid()`, for the
                    // node whose device it registered (C contract).
                    unsafe { mem.add_nid(lock, nid, early) }
                }
            }

            $crate::__memory_c_function! {
                fn create_memory_block_devices(
                    start: c_ulong,
                    size: c_ulong,
                    altmap: *mut __b::vmem_altmap,
                    group: *mut __b::memory_group,
                ) -> c_int {
                    // SAFETY: The caller (`add_memory_resource()`) holds `device_hotplug_lock`;
                    // the altmap outlives the blocks and the group is registered (C contract).
                    let (lock, altmap, group) = unsafe {
                        (
                            __hotplug::DeviceHotplugLocked::assume(),
                            __block::Altmap::from_raw(altmap),
                            __block::MemoryGroup::from_raw(group),
                        )
                    };
                    __from_result(|| {
                        // SAFETY: `add_memory_resource()` calls it for the range it just added
                        // with `arch_add_memory()`: present, offline sections (C contract).
                        unsafe {
                            <$t as __s::Subsystem>::create_blocks(lock, start, size, altmap, group)
                        }
                        .map(|()| 0)
                    })
                }
            }

            $crate::__memory_c_function! {
                fn remove_memory_block_devices(start: c_ulong, size: c_ulong) {
                    // SAFETY: The caller (`try_remove_memory()`) holds `device_hotplug_lock` (C
                    // contract).
                    let lock = unsafe { __hotplug::DeviceHotplugLocked::assume() };
                    <$t as __s::Subsystem>::remove_blocks(lock, start, size)
                }
            }

            $crate::__memory_c_function! {
                fn memory_group_register_static(nid: c_int, max_pages: c_ulong) -> c_int {
                    let kind = __block::GroupKind::Static { max_pages };
                    <$t as __s::Subsystem>::group_register(nid, kind).unwrap_or_else(|e| e.to_errno())
                }
            }

            $crate::__memory_c_function! {
                fn memory_group_register_dynamic(nid: c_int, unit_pages: c_ulong) -> c_int {
                    let kind = __block::GroupKind::Dynamic { unit_pages };
                    <$t as __s::Subsystem>::group_register(nid, kind).unwrap_or_else(|e| e.to_errno())
                }
            }

            $crate::__memory_c_function! {
                fn memory_group_unregister(mgid: c_int) -> c_int {
                    __from_result(|| <$t as __s::Subsystem>::group_unregister(mgid).map(|()| 0))
                }
            }

            $crate::__memory_c_function! {
                fn memory_group_find_by_id(mgid: c_int) -> *mut __b::memory_group {
                    <$t as __s::Subsystem>::with_group(mgid, |g| {
                        g.map_or(core::ptr::null_mut(), __block::MemoryGroup::as_raw)
                    })
                }
            }

            $crate::__memory_c_function! {
                fn walk_dynamic_memory_groups(
                    nid: c_int,
                    func: __b::walk_memory_groups_func_t,
                    excluded: *mut __b::memory_group,
                    arg: *mut c_void,
                ) -> c_int {
                    let Some(func) = func else { return 0 };
                    // SAFETY: `excluded` is null or a registered group (C contract).
                    let excluded = unsafe { __block::MemoryGroup::from_raw(excluded) };
                    <$t as __s::Subsystem>::walk_dynamic_groups(nid, excluded, &mut |g| {
                        // SAFETY: `func` accepts any group and `arg` (C contract).
                        unsafe { func(g.as_raw(), arg) }
                    })
                }
            }

            $crate::__memory_c_function! {
                #[cfg(CONFIG_MEMORY_FAILURE)]
                fn memblk_nr_poison_inc(pfn: c_ulong) {
                    <$t as __s::Subsystem>::poison_add(pfn, 1)
                }
            }

            $crate::__memory_c_function! {
                #[cfg(CONFIG_MEMORY_FAILURE)]
                fn memblk_nr_poison_sub(pfn: c_ulong, i: c_long) {
                    <$t as __s::Subsystem>::poison_add(pfn, -(i as isize))
                }
            }
        };
    };
}
