// SPDX-License-Identifier: GPL-2.0

#include <linux/jump_label.h>

/* Without CONFIG_JUMP_LABEL, static_key_count() is a static inline. */
#ifndef CONFIG_JUMP_LABEL
int rust_helper_static_key_count(struct static_key *key)
{
	return static_key_count(key);
}
#endif
