// SPDX-License-Identifier: GPL-2.0
/*
 * Broken on purpose for the harness self-test: takes a reference on itself
 * and never drops it, so it can never be unloaded. The harness must report
 * the failed rmmod.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init xtask_selftest_leak_init(void)
{
	pr_info("xtask_selftest_leak: leaking a module reference\n");
	__module_get(THIS_MODULE);
	return 0;
}

static void __exit xtask_selftest_leak_exit(void)
{
}

module_init(xtask_selftest_leak_init);
module_exit(xtask_selftest_leak_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xtask harness self-test: leaked reference");
