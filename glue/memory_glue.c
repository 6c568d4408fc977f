// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the Rust memory block device driver (memory_block.rs).
 *
 * Only what Rust cannot express lives here:
 *
 * - the memory notifier chain head, which must be statically initialised
 *   because slub registers its memory notifier long before any initcall or
 *   Rust code runs;
 * - the SRCU domain of the online policy (kernel::memory::policy), whose
 *   readers (onlines, valid_zones) start before any initcall too;
 * - the __weak defaults that architectures override;
 * - the exports of the functions the Rust driver defines, so that modules
 *   (virtio-mem, dax/kmem, the notifier error injector, ...) can call them,
 *   and walk_dynamic_memory_groups(), which C does not export, for the
 *   memory_hotplug policy module when it is built as a module, with the
 *   policy's SRCU domain.
 */

#include <linux/export.h>
#include <linux/memory.h>
#include <linux/notifier.h>
#include <linux/srcu.h>

BLOCKING_NOTIFIER_HEAD(memory_chain);
DEFINE_SRCU(memory_policy_srcu);
/* For a modular memory_hotplug policy: its Registration is generic code. */
EXPORT_SYMBOL_GPL(memory_policy_srcu);

unsigned long __weak memory_block_size_bytes(void)
{
	return MIN_MEMORY_BLOCK_SIZE;
}
EXPORT_SYMBOL_GPL(memory_block_size_bytes);

int __weak arch_get_memory_phys_device(unsigned long start_pfn)
{
	return 0;
}

EXPORT_SYMBOL(register_memory_notifier);
EXPORT_SYMBOL(unregister_memory_notifier);
EXPORT_SYMBOL_GPL(memory_group_register_static);
EXPORT_SYMBOL_GPL(memory_group_register_dynamic);
EXPORT_SYMBOL_GPL(memory_group_unregister);
EXPORT_SYMBOL_GPL(walk_dynamic_memory_groups);
