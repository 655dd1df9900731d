// SPDX-License-Identifier: GPL-2.0
/*
 * Broken on purpose for the harness self-test: frees the same allocation
 * twice. With slub_debug on the VM's command line the allocator must catch it.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/slab.h>

static void *volatile xtask_selftest_object;

static int __init xtask_selftest_dfree_init(void)
{
	xtask_selftest_object = kmalloc(64, GFP_KERNEL);
	if (!xtask_selftest_object)
		return -ENOMEM;
	pr_info("xtask_selftest_dfree: freeing one object twice\n");
	kfree(xtask_selftest_object);
	kfree(xtask_selftest_object);
	return 0;
}

static void __exit xtask_selftest_dfree_exit(void)
{
}

module_init(xtask_selftest_dfree_init);
module_exit(xtask_selftest_dfree_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xtask harness self-test: double free");
