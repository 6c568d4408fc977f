// SPDX-License-Identifier: GPL-2.0

//! Core memory hotplug: what the memory block driver asks of `mm/memory_hotplug.c`.
//!
//! C headers: [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h),
//! [`include/linux/mmzone.h`](srctree/include/linux/mmzone.h).
//!
//! The lock order is `device_hotplug_lock` → `device_lock` of a memory block →
//! `mem_hotplug_lock`. Functions that C documents as "caller holds X" take a proof of X:
//! [`DeviceHotplugLocked`] or [`MemHotplugGuard`].
//!
//! | file | what |
//! |---|---|
//! | `hotplug/lock.rs` | the locks: [`DeviceHotplugGuard`], [`DeviceHotplugLocked`], [`MemHotplugGuard`] |
//! | `hotplug/online_type.rs` | [`OnlineType`] (`enum mmop`), `auto_online_blocks` |
//! | `hotplug/zone.rs` | [`Zone`] and the zone core mm gives a range |
//! | `hotplug/node.rs` | nodes: [`node_possible`], [`node_has_zones`], [`NUMA_NO_NODE`] |
//! | `hotplug/section.rs` | [`section`]: sparse memory sections |
//! | `hotplug/arch.rs` | the architecture's block size and physical device |
//! | `hotplug/online.rs` | [`online_block`]: the online of a block |
//! | `hotplug/offline.rs` | [`offline_block`]: the offline of a block |
//! | `hotplug/state_change.rs` | [`StateChangeFailure`]: why an online or offline failed |
//! | `hotplug/memmap.rs` | memmap_on_memory: [`MemmapOnMemory`] and a block's vmemmap pages |
//! | `hotplug/add.rs` | [`add_memory`] |
//! | `hotplug/memory_failure.rs` | `memory_failure`: hwpoison, soft and hard offline of a page (`MEMORY_FAILURE`) |
//! | `hotplug/crash.rs` | crash kernel support for memory hotplug (`CRASH_HOTPLUG`) |

mod add;
mod arch;
#[cfg(CONFIG_CRASH_HOTPLUG)]
mod crash;
mod lock;
mod memmap;
#[cfg(CONFIG_MEMORY_FAILURE)]
pub mod memory_failure;
mod node;
mod offline;
mod online;
mod online_type;
pub mod section;
mod state_change;
mod zone;

pub use add::add_memory;
pub use arch::{arch_get_memory_phys_device, memory_block_size_bytes};
#[cfg(CONFIG_CRASH_HOTPLUG)]
pub use crash::crash_check_hotplug_support;
pub use lock::{DeviceHotplugGuard, DeviceHotplugLocked, MemHotplugGuard};
#[cfg(CONFIG_MHP_MEMMAP_ON_MEMORY)]
pub use memmap::set_memmap_on_memory;
pub use memmap::MemmapOnMemory;
pub use node::{memory_add_physaddr_to_nid, node_has_zones, node_possible, NUMA_NO_NODE};
pub use offline::offline_block;
pub use online::online_block;
pub use online_type::{default_online_type, set_default_online_type, OnlineType};
pub use state_change::StateChangeFailure;
pub use zone::Zone;
