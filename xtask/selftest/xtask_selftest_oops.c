// SPDX-License-Identifier: GPL-2.0
/*
 * Broken on purpose for the harness self-test: dereferences NULL on load.
 * The harness must report the oops.
 */
#include <linux/init.h>
#include <linux/module.h>

/* volatile: the compiler must not see that it is NULL and drop the store */
static int *volatile xtask_selftest_target;

static int __init xtask_selftest_oops_init(void)
{
	pr_info("xtask_selftest_oops: writing through a NULL pointer\n");
	*xtask_selftest_target = 1;
	return 0;
}

static void __exit xtask_selftest_oops_exit(void)
{
}

module_init(xtask_selftest_oops_init);
module_exit(xtask_selftest_oops_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xtask harness self-test: NULL dereference");
