// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the Rust memory block device driver (memory_block.rs).
 *
 * Only what Rust cannot express lives here:
 *
 * - the memory notifier chain head, which must be statically initialised
 *   because slub registers its memory notifier long before any initcall or
 *   Rust code runs, and the call of its callbacks, which says which one
 *   vetoed an event (blocking_notifier_call_chain() does not: see
 *   memory_chain_call());
 * - the SRCU domain of the online policy (kernel::memory::policy), whose
 *   readers (onlines, valid_zones) start before any initcall too;
 * - the __weak defaults that architectures override;
 * - the late initcall that creates the driver's debugfs files;
 * - the exports of the functions the Rust driver defines, so that modules
 *   (virtio-mem, dax/kmem, the notifier error injector, ...) can call them,
 *   and walk_dynamic_memory_groups(), which C does not export, for the
 *   memory_hotplug policy module when it is built as a module, with the
 *   policy's SRCU domain.
 */

#include <linux/export.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/memory.h>
#include <linux/memory_rust.h>
#include <linux/notifier.h>
#include <linux/srcu.h>
#include <trace/events/notifier.h>

BLOCKING_NOTIFIER_HEAD(memory_chain);

/*
 * memory_notify() of the Rust driver calls the chain through this. It is
 * blocking_notifier_call_chain() with notifier_call_chain() inlined
 * (kernel/notifier.c, 6.12), step for step: the unlocked check of the head,
 * the rwsem taken for read, the CONFIG_DEBUG_NOTIFIERS check, the
 * notifier_run tracepoint, the stop on NOTIFY_STOP_MASK. It adds one thing:
 * when a callback stops the chain, it returns that callback and the priority
 * it was registered with in *stopped_by and *stopped_priority (NULL and 0 if
 * none did), which the driver's trace event and failure log name. Both are
 * read from the notifier_block before the callback runs: a callback may
 * unregister (and free) its block during boot. It drops what the blocking
 * chain does not use: nr_to_call (always -1) and nr_calls (always NULL).
 *
 * Why a copy: notifier_call_chain() is static, and no exported function of
 * kernel/notifier.c tells which callback stopped a chain (nor how many ran,
 * which would identify it). A variant there, e.g. a
 * blocking_notifier_call_chain() that reports the stopping callback, would
 * be a patch to kernel/notifier.c for this one user; the alternatives
 * without one do not work: a probe on the notifier_run tracepoint sees every
 * chain of the kernel, needs CONFIG_TRACEPOINTS and costs a registration,
 * and wrapping each notifier_block needs an allocation per registration,
 * which slub's, made before the slab allocator is up, cannot have.
 *
 * Keep it in step with notifier_call_chain() and
 * blocking_notifier_call_chain() when moving to a newer kernel.
 */
int memory_chain_call(unsigned long val, void *v, notifier_fn_t *stopped_by,
		      int *stopped_priority)
{
	struct notifier_block *nb, *next;
	notifier_fn_t fn;
	int priority;
	int ret = NOTIFY_DONE;

	*stopped_by = NULL;
	*stopped_priority = 0;
	if (!rcu_access_pointer(memory_chain.head))
		return ret;

	down_read(&memory_chain.rwsem);
	nb = rcu_dereference_raw(memory_chain.head);
	while (nb) {
		next = rcu_dereference_raw(nb->next);
#ifdef CONFIG_DEBUG_NOTIFIERS
		if (unlikely(!func_ptr_is_kernel_text(nb->notifier_call))) {
			WARN(1, "Invalid notifier called!");
			nb = next;
			continue;
		}
#endif
		/* The callback may free nb (unregistering during boot). */
		fn = nb->notifier_call;
		priority = nb->priority;
		trace_notifier_run((void *)fn);
		ret = fn(nb, val, v);
		if (ret & NOTIFY_STOP_MASK) {
			*stopped_by = fn;
			*stopped_priority = priority;
			break;
		}
		nb = next;
	}
	up_read(&memory_chain.rwsem);
	return ret;
}

/* The Rust driver's debugfs files, once debugfs is up (memory_block_subsys!). */
static int __init memory_subsys_late_initcall(void)
{
	return memory_subsys_late_init();
}
late_initcall(memory_subsys_late_initcall);

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
