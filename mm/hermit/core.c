// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit: remote memory in the swap path.
 *
 * The knobs are parameters of the built-in code: ``hermit.<knob>=`` on the
 * kernel command line, /sys/module/hermit/parameters/ at run time, and the
 * same variables under /sys/kernel/debug/hermit/, with the counters. Every
 * write goes through the parameter's own parser, so a bad value is refused
 * with -EINVAL and leaves the old one in place wherever it is written.
 */

#define pr_fmt(fmt) "hermit: " fmt

#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <uapi/linux/hermit.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/hermit.h>

/* The RDMA client reports its sessions. */
EXPORT_TRACEPOINT_SYMBOL_GPL(hermit_connect);
EXPORT_TRACEPOINT_SYMBOL_GPL(hermit_disconnect);

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "hermit."

atomic_long_t hermit_stats[NR_HERMIT_STATS];
atomic_long_t hermit_pages_held;
/* Pages whose write to the backend is under way. */
atomic_long_t hermit_stores_in_flight;

const char * const hermit_stat_names[NR_HERMIT_STATS] = {
	[HERMIT_STORED] = "stored",
	[HERMIT_STORED_LARGE] = "stored_large_folios",
	[HERMIT_LOADED] = "loaded",
	[HERMIT_ONDEMAND_SWAPIN] = "ondemand_swapin",
	[HERMIT_PREFETCH_SWAPIN] = "prefetch_swapin",
	[HERMIT_HITON_SWAP_CACHE] = "hiton_swap_cache",
	[HERMIT_PREFETCH_LATE] = "prefetch_late",
	[HERMIT_PREFETCH_WASTED] = "prefetch_wasted",
	[HERMIT_PREFETCH_QUEUED] = "prefetch_queued",
	[HERMIT_INVALIDATED] = "invalidated",
	[HERMIT_REFUSED_DISABLED] = "refused_disabled",
	[HERMIT_REFUSED_NO_BACKEND] = "refused_no_backend",
	[HERMIT_REFUSED_FULL] = "refused_full",
	[HERMIT_REFUSED_UNAVAILABLE] = "refused_unavailable",
	[HERMIT_REFUSED_ERROR] = "refused_error",
	[HERMIT_STORE_FAILED] = "store_failed",
	[HERMIT_LOAD_ERRORS] = "load_errors",
	[HERMIT_RELOADED] = "reloaded",
	[HERMIT_FS_QUEUED] = "fs_queued",
	[HERMIT_FS_RECLAIMED_OFFLOAD] = "fs_reclaimed_offload",
	[HERMIT_FS_OFFLOAD_NS] = "fs_offload_ns",
	[HERMIT_FS_RECLAIMED_DIRECT] = "fs_reclaimed_direct",
	[HERMIT_FS_DIRECT_RECLAIM_NS] = "fs_direct_reclaim_ns",
	[HERMIT_FS_WAITS] = "fs_waits",
	[HERMIT_FS_WAIT_NS] = "fs_wait_ns",
};

/*
 * A boolean, strictly: the whole value must be one of the words below
 * (param_ops_bool looks at the first character only).
 */
static int hermit_bool_param_set(const char *val, const struct kernel_param *kp)
{
	static const char * const words[] = {
		"0", "n", "no", "off", "false", "1", "y", "yes", "on", "true",
	};
	char buf[8];
	int i;

	if (strscpy(buf, val ?: "", sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (!strcasecmp(buf, words[i])) {
			*(bool *)kp->arg = i >= ARRAY_SIZE(words) / 2;
			return 0;
		}
	}
	return -EINVAL;
}

const struct kernel_param_ops hermit_bool_param_ops = {
	.set = hermit_bool_param_set,
	.get = param_get_bool,
};

static bool hermit_initialised;

/* Master switch: off, no new page is stored; stored pages stay readable. */
bool hermit_enabled = IS_ENABLED(CONFIG_HERMIT_DEFAULT_ON);

static int hermit_enabled_param_set(const char *val, const struct kernel_param *kp)
{
	int err = hermit_bool_param_set(val, kp);

	/* No swap area exists while the command line is parsed. */
	if (!err && READ_ONCE(hermit_initialised))
		hermit_areas_prepare();
	return err;
}

static const struct kernel_param_ops hermit_enabled_param_ops = {
	.set = hermit_enabled_param_set,
	.get = param_get_bool,
};
module_param_cb(enabled, &hermit_enabled_param_ops, &hermit_enabled, 0644);
MODULE_PARM_DESC(enabled, "Store swapped-out pages in the backend");

static int hermit_backend_param_set(const char *val, const struct kernel_param *kp)
{
	bool initialised = READ_ONCE(hermit_initialised);
	char name[32];
	int err;

	if (strscpy(name, val, sizeof(name)) < 0)
		return -EINVAL;
	strim(name);
	/* Backends register after the command line is parsed. */
	err = hermit_backend_select(name, initialised);
	if (!err && initialised)
		hermit_areas_prepare();
	return err;
}

static int hermit_backend_param_get(char *buf, const struct kernel_param *kp)
{
	hermit_backend_selected(buf, PAGE_SIZE - 1);
	return strlcat(buf, "\n", PAGE_SIZE);
}

const struct kernel_param_ops hermit_backend_param_ops = {
	.set = hermit_backend_param_set,
	.get = hermit_backend_param_get,
};
module_param_cb(backend, &hermit_backend_param_ops, NULL, 0644);
MODULE_PARM_DESC(backend, "Backend new swap areas store to (default: dram)");

/*
 * A size in bytes with an optional K, M, G or T suffix; the whole string
 * must parse and the value must be at least one page.
 */
static int hermit_size_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned long long size;
	char buf[32], *end;

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	if (!isdigit(buf[0]))
		return -EINVAL;
	size = memparse(buf, &end);
	if (*end || size < PAGE_SIZE)
		return -EINVAL;
	/* No RAM is counted yet when the command line is parsed. */
	if (totalram_pages() && size > (u64)totalram_pages() << PAGE_SHIFT)
		return -EINVAL;
	*(unsigned long *)kp->arg = size >> PAGE_SHIFT;
	return 0;
}

static int hermit_size_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu\n", *(unsigned long *)kp->arg << PAGE_SHIFT);
}

/* Sizes in bytes stored as a page count (the knob's arg is unsigned long). */
const struct kernel_param_ops hermit_size_param_ops = {
	.set = hermit_size_param_set,
	.get = hermit_size_param_get,
};

/* debugfs files that read and write a kernel parameter through its ops. */
static ssize_t hermit_knob_read(struct file *file, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	const struct kernel_param *kp = file->private_data;
	char *buf;
	ssize_t ret;

	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	kernel_param_lock(THIS_MODULE);
	ret = kp->ops->get(buf, kp);
	kernel_param_unlock(THIS_MODULE);
	if (ret >= 0)
		ret = simple_read_from_buffer(ubuf, count, ppos, buf, ret);
	kfree(buf);
	return ret;
}

static ssize_t hermit_knob_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	const struct kernel_param *kp = file->private_data;
	char *buf;
	int err;

	/* Room for a key's hex digits, or a list of servers. */
	if (*ppos || !count || count >= 1024)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	kernel_param_lock(THIS_MODULE);
	err = kp->ops->set(strim(buf), kp);
	kernel_param_unlock(THIS_MODULE);
	kfree_sensitive(buf);
	return err ? err : count;
}

static const struct file_operations hermit_knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hermit_knob_read,
	.write = hermit_knob_write,
	.llseek = default_llseek,
};

/**
 * hermit_debugfs_knob() - expose a kernel parameter in debugfs
 * @parent: Directory.
 * @kp: The file's name, mode (0644, 0444 or 0200: never world-writable),
 *      ops (their set() validates) and variable. It must outlive the file:
 *      a static one, which a module's unload takes along with the file.
 *
 * Return: the dentry (debugfs errors are not fatal).
 */
struct dentry *hermit_debugfs_knob(struct dentry *parent,
				   const struct kernel_param *kp)
{
	return debugfs_create_file(kp->name, kp->perm & 0644, parent,
				   (void *)kp, &hermit_knob_fops);
}
EXPORT_SYMBOL_GPL(hermit_debugfs_knob);

static struct dentry *hermit_debugfs;

/**
 * hermit_debugfs_root() - Hermit's debugfs directory, for backends' files
 *
 * Return: The dentry of /sys/kernel/debug/hermit (an error pointer when
 * debugfs is not available, which debugfs_create_*() accept).
 */
struct dentry *hermit_debugfs_root(void)
{
	return hermit_debugfs;
}
EXPORT_SYMBOL_GPL(hermit_debugfs_root);

static int hermit_stat_get(void *data, u64 *val)
{
	*val = atomic_long_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(hermit_stat_fops, hermit_stat_get, NULL, "%llu\n");

static int hermit_stats_show(struct seq_file *m, void *v)
{
	long held = atomic_long_read(&hermit_pages_held);
	int i;

	for (i = 0; i < NR_HERMIT_STATS; i++)
		seq_printf(m, "%s %ld\n", hermit_stat_names[i],
			   atomic_long_read(&hermit_stats[i]));
	seq_printf(m, "pages_held %ld\nbytes_held %ld\n", held, held << PAGE_SHIFT);
	seq_printf(m, "stores_in_flight %ld\n",
		   atomic_long_read(&hermit_stores_in_flight));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hermit_stats);

/*
 * hermit_stats(2): the counters, in the order of enum hermit_stat, then
 * the two gauges, into a struct hermit_stats of @size bytes (see
 * include/uapi/linux/hermit.h).
 */
SYSCALL_DEFINE3(hermit_stats, struct hermit_stats __user *, ustats,
		size_t, size, unsigned int, flags)
{
	struct hermit_stats *ks;
	u64 *v;
	int i, err = 0;

	BUILD_BUG_ON(offsetof(struct hermit_stats, pages_held) !=
		     NR_HERMIT_STATS * sizeof(u64));
	BUILD_BUG_ON(offsetof(struct hermit_stats, fault_major_ns) !=
		     HERMIT_STATS_SIZE_VER0);
	BUILD_BUG_ON(sizeof(*ks) != HERMIT_STATS_SIZE_VER1);
	if (flags || size < HERMIT_STATS_SIZE_VER0 || size > PAGE_SIZE)
		return -EINVAL;
	ks = kzalloc(sizeof(*ks), GFP_KERNEL);
	if (!ks)
		return -ENOMEM;
	v = (u64 *)ks;
	for (i = 0; i < NR_HERMIT_STATS; i++)
		v[i] = atomic_long_read(&hermit_stats[i]);
	ks->pages_held = atomic_long_read(&hermit_pages_held);
	ks->stores_in_flight = atomic_long_read(&hermit_stores_in_flight);
	hermit_fault_latency(ks);
	if (copy_to_user(ustats, ks, min(size, sizeof(*ks))) ||
	    (size > sizeof(*ks) &&
	     clear_user((u8 __user *)ustats + sizeof(*ks), size - sizeof(*ks))))
		err = -EFAULT;
	kfree(ks);
	return err;
}

/* hermit_reset(2): zero the counters (not the gauges). */
SYSCALL_DEFINE1(hermit_reset, unsigned int, flags)
{
	int i;

	if (flags)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	for (i = 0; i < NR_HERMIT_STATS; i++)
		atomic_long_set(&hermit_stats[i], 0);
	hermit_fault_latency_reset();
	return 0;
}

static int hermit_bytes_held_get(void *data, u64 *val)
{
	*val = (u64)atomic_long_read(&hermit_pages_held) << PAGE_SHIFT;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(hermit_bytes_held_fops, hermit_bytes_held_get, NULL, "%llu\n");

static const struct kernel_param hermit_knobs[] = {
	{ .name = "enabled", .ops = &hermit_enabled_param_ops, .perm = 0644,
	  .arg = &hermit_enabled },
	{ .name = "backend", .ops = &hermit_backend_param_ops, .perm = 0644 },
};

static int __init hermit_init(void)
{
	struct dentry *dir;
	int i;

	dir = debugfs_create_dir("hermit", NULL);
	hermit_debugfs = dir;
	for (i = 0; i < ARRAY_SIZE(hermit_knobs); i++)
		hermit_debugfs_knob(dir, &hermit_knobs[i]);
	for (i = 0; i < NR_HERMIT_STATS; i++)
		debugfs_create_file_unsafe(hermit_stat_names[i], 0444, dir,
					   &hermit_stats[i], &hermit_stat_fops);
	debugfs_create_file_unsafe("pages_held", 0444, dir, &hermit_pages_held,
				   &hermit_stat_fops);
	debugfs_create_file_unsafe("stores_in_flight", 0444, dir,
				   &hermit_stores_in_flight, &hermit_stat_fops);
	debugfs_create_file_unsafe("chunks_ahead", 0444, dir,
				   &hermit_chunks_ahead, &hermit_stat_fops);
	debugfs_create_file_unsafe("chunks_returned", 0444, dir,
				   &hermit_chunks_returned, &hermit_stat_fops);
	debugfs_create_file_unsafe("clusters_used", 0444, dir,
				   &hermit_clusters_used, &hermit_stat_fops);
	debugfs_create_file_unsafe("bytes_held", 0444, dir, NULL,
				   &hermit_bytes_held_fops);
	debugfs_create_file("stats", 0444, dir, NULL, &hermit_stats_fops);
	hermit_swap_debugfs_init(dir);
	hermit_latency_debugfs_init(dir);
	hermit_prefetch_debugfs_init(dir);
	pr_info("remote memory core initialised\n");
	return 0;
}
subsys_initcall(hermit_init);

/* From here on a backend name must belong to a registered backend. */
static int __init hermit_init_done(void)
{
	WRITE_ONCE(hermit_initialised, true);
	return 0;
}
late_initcall(hermit_init_done);
