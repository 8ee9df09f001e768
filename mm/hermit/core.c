// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit: remote memory in the swap path.
 *
 * This file is the root of the subsystem: it owns the debugfs directory that
 * every other part of Hermit hangs its knobs and counters from.
 */

#define pr_fmt(fmt) "hermit: " fmt

#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/printk.h>

static struct dentry *hermit_debugfs_root;

static int __init hermit_init(void)
{
	hermit_debugfs_root = debugfs_create_dir("hermit", NULL);
	pr_info("remote memory core initialised\n");
	return 0;
}
late_initcall(hermit_init);
