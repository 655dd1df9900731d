// SPDX-License-Identifier: GPL-2.0
/*
 * Broken on purpose for the harness self-test: W=1 must warn about the
 * missing prototype, sparse about the dropped __user address space.
 */
#include <linux/init.h>
#include <linux/module.h>

int xtask_selftest_no_prototype(void)
{
	return 0;
}

static int __user *xtask_selftest_user_pointer;

static int __init xtask_selftest_warnings_init(void)
{
	int *kernel_pointer = (int *)xtask_selftest_user_pointer;

	return kernel_pointer ? 0 : xtask_selftest_no_prototype();
}

module_init(xtask_selftest_warnings_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xtask harness self-test: code that must draw warnings");
