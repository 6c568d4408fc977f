// SPDX-License-Identifier: GPL-2.0

#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/node.h>
#include <linux/nodemask.h>
#include <linux/notifier.h>

#ifdef CONFIG_MEMORY_HOTPLUG

bool rust_helper_present_section_nr(unsigned long nr)
{
	return present_section_nr(nr);
}

unsigned long rust_helper_section_nr_to_pfn(unsigned long nr)
{
	return section_nr_to_pfn(nr);
}

unsigned long rust_helper_pfn_to_section_nr(unsigned long pfn)
{
	return pfn_to_section_nr(pfn);
}

unsigned long rust_helper_highest_present_section_nr(void)
{
	return __highest_present_section_nr;
}

struct page *rust_helper_pfn_to_page(unsigned long pfn)
{
	return pfn_to_page(pfn);
}

bool rust_helper_node_possible(int nid)
{
	return node_possible(nid);
}

struct zone *rust_helper_node_zone(int nid, int idx)
{
	return &NODE_DATA(nid)->node_zones[idx];
}

bool rust_helper_node_online(int nid)
{
	return node_online(nid);
}

/* The online node after nid (the first for a negative nid); MAX_NUMNODES after the last. */
int rust_helper_next_online_node(int nid)
{
	return nid < 0 ? first_online_node : next_online_node(nid);
}

int rust_helper_zone_idx(struct zone *zone)
{
	return zone_idx(zone);
}

bool rust_helper_is_zone_movable_page(const struct page *page)
{
	return is_zone_movable_page(page);
}

bool rust_helper_populated_zone(struct zone *zone)
{
	return populated_zone(zone);
}

bool rust_helper_zone_intersects(struct zone *zone, unsigned long start_pfn,
				 unsigned long nr_pages)
{
	return zone_intersects(zone, start_pfn, nr_pages);
}

int rust_helper_memory_add_physaddr_to_nid(u64 start)
{
	return memory_add_physaddr_to_nid(start);
}

int rust_helper_notifier_to_errno(int ret)
{
	return notifier_to_errno(ret);
}

void rust_helper_INIT_LIST_HEAD(struct list_head *list)
{
	INIT_LIST_HEAD(list);
}

void rust_helper_list_add(struct list_head *new, struct list_head *head)
{
	list_add(new, head);
}

void rust_helper_list_del_init(struct list_head *entry)
{
	list_del_init(entry);
}

bool rust_helper_list_empty(const struct list_head *head)
{
	return list_empty(head);
}

long rust_helper_atomic_long_read(const atomic_long_t *v)
{
	return atomic_long_read(v);
}

void rust_helper_atomic_long_add(long i, atomic_long_t *v)
{
	atomic_long_add(i, v);
}

/*
 * Static inline stubs in some configurations, which bindgen does not see:
 * without CONFIG_NUMA, blocks have no node links to remove; without
 * CONFIG_MEMORY_HOTREMOVE, offlining fails with -EINVAL, as in
 * memory_block_offline(). Unused where the real functions exist.
 */
void rust_helper_unregister_memory_block_under_nodes(struct memory_block *mem)
{
	unregister_memory_block_under_nodes(mem);
}

int rust_helper_offline_pages(unsigned long start_pfn, unsigned long nr_pages,
			      struct zone *zone, struct memory_group *group,
			      const char **reason)
{
	return offline_pages(start_pfn, nr_pages, zone, group, reason);
}

#endif /* CONFIG_MEMORY_HOTPLUG */
