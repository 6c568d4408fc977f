/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C glue of the Rust memory block device driver (drivers/base/memory_rust/),
 * declared for the glue itself and for the Rust bindings.
 */
#ifndef _LINUX_MEMORY_RUST_H
#define _LINUX_MEMORY_RUST_H

#include <linux/notifier.h>
#include <linux/types.h>

struct srcu_struct;

/*
 * The memory notifier chain, and the SRCU domain of the registered online
 * policy: defined by the glue (statically initialised), used from Rust.
 */
extern struct blocking_notifier_head memory_chain;
extern struct srcu_struct memory_policy_srcu;

/*
 * Calls the memory notifier chain like blocking_notifier_call_chain(), and
 * sets *stopped_by to the callback that stopped it and *stopped_priority to
 * its priority (NULL and 0 if none did).
 */
int memory_chain_call(unsigned long val, void *v, notifier_fn_t *stopped_by,
		      int *stopped_priority);

/* The Rust driver's late initialisation, called from the glue's late initcall. */
int memory_subsys_late_init(void);

/*
 * The out-of-line callers of the trace events of
 * include/trace/events/memory_block.h (memory_trace.c).
 */
void rust_do_trace_memory_block_online(unsigned long id,
				       unsigned long start_pfn,
				       unsigned long nr_pages, int online_type,
				       const char *zone, int ret,
				       u64 duration_ns);
void rust_do_trace_memory_block_offline(unsigned long id,
					unsigned long start_pfn,
					unsigned long nr_pages,
					const char *zone, int ret,
					const char *reason, u64 duration_ns);
void rust_do_trace_memory_notify(unsigned long action,
				 unsigned long start_pfn,
				 unsigned long nr_pages, int ret,
				 void *stopped_by);

#endif /* _LINUX_MEMORY_RUST_H */
