// SPDX-License-Identifier: GPL-2.0

//! Memory hotplug: memory blocks and the memory notifier chain.
//!
//! C headers: [`include/linux/memory.h`](srctree/include/linux/memory.h) and
//! [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h).

pub mod block;
pub mod hotplug;
pub mod notifier;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod policy;
pub mod subsys;
