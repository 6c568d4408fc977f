// SPDX-License-Identifier: GPL-2.0

#include <linux/xarray.h>

void rust_helper_xa_init_flags(struct xarray *xa, gfp_t flags)
{
	xa_init_flags(xa, flags);
}

int rust_helper_xa_insert(struct xarray *xa, unsigned long index, void *entry,
			  gfp_t gfp)
{
	return xa_insert(xa, index, entry, gfp);
}
