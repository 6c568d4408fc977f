// SPDX-License-Identifier: GPL-2.0

//! Memory hotplug: memory blocks and the memory notifier chain.
//!
//! C headers: [`include/linux/memory.h`](srctree/include/linux/memory.h) and
//! [`include/linux/memory_hotplug.h`](srctree/include/linux/memory_hotplug.h).
//!
//! The notifier chain and the auto-movable policy's decision (a pure function) are there
//! whichever driver provides the rest; the memory blocks, their groups,
//! the hotplug operations, the online policy interface, the subsystem's C ABI and the trace
//! events are the Rust driver's (`CONFIG_MEMORY_HOTPLUG_RUST`): with the C driver their objects
//! are C's.

pub mod auto_movable;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod block;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod hotplug;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod late_init;
pub mod notifier;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod policy;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod subsys;
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST)]
pub mod trace;
