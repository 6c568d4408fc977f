// SPDX-License-Identifier: GPL-2.0
/*
 * The trace events of the Rust memory block device driver
 * (include/trace/events/memory_block.h), and their out-of-line callers for
 * Rust: a TRACE_EVENT() is a set of C macros and static inline functions,
 * which Rust cannot expand. Rust checks the event's static key before it
 * calls them (kernel::tracepoint::declare_trace!), so a disabled event costs
 * a call of static_key_count() and a branch, not the call of these.
 */

#include <linux/memory_rust.h>

#define CREATE_TRACE_POINTS
#include <trace/events/memory_block.h>

void rust_do_trace_memory_block_online(unsigned long id,
				       unsigned long start_pfn,
				       unsigned long nr_pages, int online_type,
				       const char *zone, int ret, u64 duration_ns)
{
	trace_memory_block_online(id, start_pfn, nr_pages, online_type, zone,
				  ret, duration_ns);
}

void rust_do_trace_memory_block_offline(unsigned long id,
					unsigned long start_pfn,
					unsigned long nr_pages, const char *zone,
					int ret, const char *reason,
					u64 duration_ns)
{
	trace_memory_block_offline(id, start_pfn, nr_pages, zone, ret, reason,
				   duration_ns);
}

void rust_do_trace_memory_notify(unsigned long action, unsigned long start_pfn,
				 unsigned long nr_pages, int ret,
				 void *stopped_by)
{
	trace_memory_notify(action, start_pfn, nr_pages, ret, stopped_by);
}
