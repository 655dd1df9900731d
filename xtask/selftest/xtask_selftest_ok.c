// SPDX-License-Identifier: GPL-2.0
/*
 * Clean module for the harness self-test: loads and unloads quietly, so a
 * run with it must pass (proves the harness does not fail everything).
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init xtask_selftest_ok_init(void)
{
	pr_info("xtask_selftest_ok: loaded\n");
	return 0;
}

static void __exit xtask_selftest_ok_exit(void)
{
	pr_info("xtask_selftest_ok: unloaded\n");
}

module_init(xtask_selftest_ok_init);
module_exit(xtask_selftest_ok_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xtask harness self-test: a clean module");
