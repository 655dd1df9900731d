// SPDX-License-Identifier: GPL-2.0
/*
 * Broken on purpose for the harness self-test: its init never returns.
 * It sleeps interruptibly, so neither the hung-task detector nor the
 * soft-lockup watchdog fires; only the host-side timeout can catch it.
 */
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init xtask_selftest_hang_init(void)
{
	pr_info("xtask_selftest_hang: sleeping forever\n");
	for (;;)
		msleep_interruptible(1000);
	return 0;
}

static void __exit xtask_selftest_hang_exit(void)
{
}

module_init(xtask_selftest_hang_init);
module_exit(xtask_selftest_hang_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xtask harness self-test: hang");
