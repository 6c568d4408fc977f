// SPDX-License-Identifier: GPL-2.0

#include <linux/srcu.h>

int rust_helper_srcu_read_lock(struct srcu_struct *ssp) __acquires(ssp)
{
	return srcu_read_lock(ssp);
}

void rust_helper_srcu_read_unlock(struct srcu_struct *ssp, int idx)
	__releases(ssp)
{
	srcu_read_unlock(ssp, idx);
}
