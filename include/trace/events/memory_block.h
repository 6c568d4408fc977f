/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the Rust memory block device driver
 * (drivers/base/memory_rust/): onlines and offlines of memory blocks, and
 * the calls of the memory notifier chain with the callback that vetoed them.
 *
 * The Rust code calls the events through rust_do_trace_<event>()
 * (<linux/memory_rust.h>, defined in drivers/base/memory_rust/memory_trace.c)
 * after checking the event's static key (kernel::tracepoint::declare_trace!).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM memory_block

#if !defined(_TRACE_MEMORY_BLOCK_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_MEMORY_BLOCK_H

#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/tracepoint.h>

TRACE_DEFINE_ENUM(MMOP_OFFLINE);
TRACE_DEFINE_ENUM(MMOP_ONLINE);
TRACE_DEFINE_ENUM(MMOP_ONLINE_KERNEL);
TRACE_DEFINE_ENUM(MMOP_ONLINE_MOVABLE);

#define show_online_type(type)						\
	__print_symbolic(type,						\
		{ MMOP_OFFLINE, "offline" },				\
		{ MMOP_ONLINE, "online" },				\
		{ MMOP_ONLINE_KERNEL, "online_kernel" },		\
		{ MMOP_ONLINE_MOVABLE, "online_movable" })

TRACE_DEFINE_ENUM(MEM_ONLINE);
TRACE_DEFINE_ENUM(MEM_GOING_OFFLINE);
TRACE_DEFINE_ENUM(MEM_OFFLINE);
TRACE_DEFINE_ENUM(MEM_GOING_ONLINE);
TRACE_DEFINE_ENUM(MEM_CANCEL_ONLINE);
TRACE_DEFINE_ENUM(MEM_CANCEL_OFFLINE);
TRACE_DEFINE_ENUM(MEM_PREPARE_ONLINE);
TRACE_DEFINE_ENUM(MEM_FINISH_OFFLINE);

#define show_memory_action(action)					\
	__print_symbolic(action,					\
		{ MEM_ONLINE, "MEM_ONLINE" },				\
		{ MEM_GOING_OFFLINE, "MEM_GOING_OFFLINE" },		\
		{ MEM_OFFLINE, "MEM_OFFLINE" },				\
		{ MEM_GOING_ONLINE, "MEM_GOING_ONLINE" },		\
		{ MEM_CANCEL_ONLINE, "MEM_CANCEL_ONLINE" },		\
		{ MEM_CANCEL_OFFLINE, "MEM_CANCEL_OFFLINE" },		\
		{ MEM_PREPARE_ONLINE, "MEM_PREPARE_ONLINE" },		\
		{ MEM_FINISH_OFFLINE, "MEM_FINISH_OFFLINE" })

/*
 * memory_block_online - a memory block was onlined, or failed to be
 *
 * @id:		the block (memoryN)
 * @start_pfn:	its first pfn
 * @nr_pages:	its pages, memmap_on_memory pages included
 * @online_type: the requested online type (MMOP_ONLINE lets the policy choose)
 * @zone:	the zone chosen, "none" if none could be
 * @ret:	0 or the negative errno returned to the caller
 * @duration_ns: the time the online took, the policy's decision included
 */
TRACE_EVENT(memory_block_online,

	TP_PROTO(unsigned long id, unsigned long start_pfn,
		 unsigned long nr_pages, int online_type, const char *zone,
		 int ret, u64 duration_ns),

	TP_ARGS(id, start_pfn, nr_pages, online_type, zone, ret, duration_ns),

	TP_STRUCT__entry(
		__field(unsigned long, id)
		__field(unsigned long, start_pfn)
		__field(unsigned long, nr_pages)
		__field(int, online_type)
		__string(zone, zone)
		__field(int, ret)
		__field(u64, duration_ns)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->start_pfn = start_pfn;
		__entry->nr_pages = nr_pages;
		__entry->online_type = online_type;
		__assign_str(zone);
		__entry->ret = ret;
		__entry->duration_ns = duration_ns;
	),

	TP_printk("memory%lu start_pfn=%#lx nr_pages=%#lx online_type=%s zone=%s ret=%d duration_ns=%llu",
		  __entry->id, __entry->start_pfn, __entry->nr_pages,
		  show_online_type(__entry->online_type), __get_str(zone),
		  __entry->ret, __entry->duration_ns)
);

/*
 * memory_block_offline - a memory block was offlined, or failed to be
 *
 * @id:		the block (memoryN)
 * @start_pfn:	its first pfn
 * @nr_pages:	its pages, memmap_on_memory pages included
 * @zone:	the zone it was online in, "none" if it spans several
 * @ret:	0 or the negative errno returned to the caller
 * @reason:	why offline_pages() failed, "notifier failure" for a veto (""
 *		if it did not fail, or did not say)
 * @duration_ns: the time the offline took
 */
TRACE_EVENT(memory_block_offline,

	TP_PROTO(unsigned long id, unsigned long start_pfn,
		 unsigned long nr_pages, const char *zone, int ret,
		 const char *reason, u64 duration_ns),

	TP_ARGS(id, start_pfn, nr_pages, zone, ret, reason, duration_ns),

	TP_STRUCT__entry(
		__field(unsigned long, id)
		__field(unsigned long, start_pfn)
		__field(unsigned long, nr_pages)
		__string(zone, zone)
		__field(int, ret)
		__string(reason, reason)
		__field(u64, duration_ns)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->start_pfn = start_pfn;
		__entry->nr_pages = nr_pages;
		__assign_str(zone);
		__entry->ret = ret;
		__assign_str(reason);
		__entry->duration_ns = duration_ns;
	),

	TP_printk("memory%lu start_pfn=%#lx nr_pages=%#lx zone=%s ret=%d reason=\"%s\" duration_ns=%llu",
		  __entry->id, __entry->start_pfn, __entry->nr_pages,
		  __get_str(zone), __entry->ret, __get_str(reason),
		  __entry->duration_ns)
);

/*
 * memory_notify - the memory notifier chain was called
 *
 * @action:	the event, MEM_*
 * @start_pfn:	the first pfn of the payload
 * @nr_pages:	the pages of the payload
 * @ret:	0 or the negative errno of a veto (notifier_to_errno())
 * @stopped_by:	the callback that stopped the chain (a veto if @ret is an
 *		errno, NOTIFY_STOP otherwise), NULL if none did
 */
TRACE_EVENT(memory_notify,

	TP_PROTO(unsigned long action, unsigned long start_pfn,
		 unsigned long nr_pages, int ret, void *stopped_by),

	TP_ARGS(action, start_pfn, nr_pages, ret, stopped_by),

	TP_STRUCT__entry(
		__field(unsigned long, action)
		__field(unsigned long, start_pfn)
		__field(unsigned long, nr_pages)
		__field(int, ret)
		__field(void *, stopped_by)
	),

	TP_fast_assign(
		__entry->action = action;
		__entry->start_pfn = start_pfn;
		__entry->nr_pages = nr_pages;
		__entry->ret = ret;
		__entry->stopped_by = stopped_by;
	),

	TP_printk("%s start_pfn=%#lx nr_pages=%#lx ret=%d stopped_by=%ps",
		  show_memory_action(__entry->action), __entry->start_pfn,
		  __entry->nr_pages, __entry->ret, __entry->stopped_by)
);

#endif /* _TRACE_MEMORY_BLOCK_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
