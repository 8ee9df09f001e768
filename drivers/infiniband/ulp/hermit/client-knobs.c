// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit RDMA client: its knobs (module parameters and debugfs) and
 * statistics.
 */

#define pr_fmt(fmt) "hermit: rdma: " fmt

#include "client.h"

#ifndef MODULE
#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "hermit."
#endif

static const char * const hrc_state_names[] = {
	[HRC_IDLE] = "idle",
	[HRC_CONNECTING] = "connecting",
	[HRC_READY] = "ready",
	[HRC_DOWN] = "down",
};

/* ---- knobs ---- */

/*
 * Connect to the server at @s ("IP[:PORT]"), or forget it ("off"). The
 * server cannot change while it holds chunks: they would be lost.
 */
static int hrc_set_server(const char *s)
{
	struct sockaddr_storage ss = {};
	bool off = sysfs_streq(s, "off") || sysfs_streq(s, "");

	if (!off && hermit_parse_addr(s, &ss))
		return -EINVAL;
	if (!hrc_wq) {		/* the kernel command line, before init */
		hrc.addr = ss;
		hrc.addr_set = !off;
		return 0;
	}
	down_write(&hrc.rwsem);
	if (atomic_long_read(&hrc_chunks) &&
	    (off || memcmp(&ss, &hrc.addr, sizeof(ss)))) {
		up_write(&hrc.rwsem);
		return -EBUSY;
	}
	hrc.addr = ss;
	hrc.addr_set = !off;
	hrc.backoff = HZ;
	hrc.warned = false;
	if (off)
		WRITE_ONCE(hrc.state, HRC_DOWN);
	up_write(&hrc.rwsem);
	mod_delayed_work(hrc_wq, &hrc.connect_work, 0);
	return 0;
}

static int hrc_show_server(char *buf, size_t size)
{
	int state = READ_ONCE(hrc.state);

	if (!hrc.addr_set)
		return scnprintf(buf, size, "off\n");
	return scnprintf(buf, size, "%pISpc %s\n", &hrc.addr,
			 hrc_state_names[state]);
}

static int hrc_param_server_set(const char *val, const struct kernel_param *kp)
{
	return hrc_set_server(val);
}

static int hrc_param_server_get(char *buf, const struct kernel_param *kp)
{
	return hrc_show_server(buf, PAGE_SIZE);
}

static const struct kernel_param_ops hrc_server_ops = {
	.set = hrc_param_server_set,
	.get = hrc_param_server_get,
};
module_param_cb(server, &hrc_server_ops, NULL, 0644);
MODULE_PARM_DESC(server, "Hermit memory server IP[:PORT] (port 50000 by default), or off");

static int hrc_param_timeout_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 10, &v) || !v || v > 3600)
		return -EINVAL;
	WRITE_ONCE(hrc_load_timeout, v);
	return 0;
}

static const struct kernel_param_ops hrc_timeout_ops = {
	.set = hrc_param_timeout_set,
	.get = param_get_uint,
};
module_param_cb(rdma_load_timeout, &hrc_timeout_ops, &hrc_load_timeout, 0644);
MODULE_PARM_DESC(rdma_load_timeout, "Seconds a fault waits for the server to come back (1-3600, default 60)");

static int hrc_param_sets_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 10, &v) || v > HERMIT_MAX_QUEUE_SETS)
		return -EINVAL;
	WRITE_ONCE(hrc_queue_sets, v);
	return 0;
}

static const struct kernel_param_ops hrc_sets_ops = {
	.set = hrc_param_sets_set,
	.get = param_get_uint,
};
module_param_cb(rdma_queues, &hrc_sets_ops, &hrc_queue_sets, 0644);
MODULE_PARM_DESC(rdma_queues, "Sets of data queues from the next connection on (0: one per CPU, the default; at most 512)");

static int hrc_param_merge_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, HRC_MERGE_MAX);
}

static const struct kernel_param_ops hrc_merge_ops = {
	.set = hrc_param_merge_set,
	.get = param_get_uint,
};
module_param_cb(rdma_merge, &hrc_merge_ops, &hrc_merge, 0644);
MODULE_PARM_DESC(rdma_merge, "Pages of neighbouring slots one RDMA transfer carries at most (1-16, default 1: no merging)");

/* The key is used from the next connection on. */
static int hrc_param_key_set(const char *val, const struct kernel_param *kp)
{
	return hermit_key_set(&hrc_key, val);
}

static int hrc_param_key_get(char *buf, const struct kernel_param *kp)
{
	return hermit_key_show(&hrc_key, buf);
}

static const struct kernel_param_ops hrc_key_ops = {
	.set = hrc_param_key_set,
	.get = hrc_param_key_get,
};
module_param_cb(key, &hrc_key_ops, NULL, 0200);
MODULE_PARM_DESC(key, "Shared key to prove to the server and expect back: 32 to 128 hex digits, or off (write-only)");

static int hrc_stats_show(struct seq_file *m, void *v)
{
	char server[HERMIT_ADDR_MAX + 16];

	hrc_show_server(server, sizeof(server));
	seq_printf(m, "server %s", server);
	seq_printf(m, "client_id %*phN\n", HERMIT_CLIENT_ID_LEN, hrc.id);
	seq_printf(m, "session %llx\n", hrc.session);
	seq_printf(m, "key %s\n", READ_ONCE(hrc_key.len) ? "set" : "off");
	seq_printf(m, "queue_sets %u\n", READ_ONCE(hrc.nr_sets));
	seq_printf(m, "chunks %ld\n", atomic_long_read(&hrc_chunks));
	seq_printf(m, "grants %ld\n", atomic_long_read(&hrc_stats.grants));
	seq_printf(m, "refused_full %ld\n", atomic_long_read(&hrc_stats.refused));
	seq_printf(m, "writes %ld\n", atomic_long_read(&hrc_stats.writes));
	seq_printf(m, "reads %ld\n", atomic_long_read(&hrc_stats.reads));
	seq_printf(m, "write_errors %ld\n", atomic_long_read(&hrc_stats.write_errors));
	seq_printf(m, "read_errors %ld\n", atomic_long_read(&hrc_stats.read_errors));
	seq_printf(m, "lost_pages %ld\n", atomic_long_read(&hrc_stats.lost));
	seq_printf(m, "connects %ld\n", atomic_long_read(&hrc_stats.connects));
	seq_printf(m, "connect_failures %ld\n",
		   atomic_long_read(&hrc_stats.connect_failures));
	seq_printf(m, "disconnects %ld\n", atomic_long_read(&hrc_stats.disconnects));
	seq_printf(m, "frees_deferred %ld\n", atomic_long_read(&hrc_stats.frees_deferred));
	seq_printf(m, "frees_pending %ld\n", atomic_long_read(&hrc_stats.frees_pending));
	seq_printf(m, "mr_transfers %ld\n", atomic_long_read(&hrc_stats.mr_transfers));
	seq_printf(m, "writes_in_flight %d\n", atomic_read(&hrc.writes_in_flight));
	seq_printf(m, "writes_in_flight_max %d\n",
		   atomic_read(&hrc_stats.writes_in_flight_max));
	seq_printf(m, "write_requests %ld\n", atomic_long_read(&hrc_stats.write_requests));
	seq_printf(m, "write_posts %ld\n", atomic_long_read(&hrc_stats.write_posts));
	seq_printf(m, "write_merged %ld\n", atomic_long_read(&hrc_stats.write_merged));
	seq_printf(m, "prefetches_in_flight %d\n", atomic_read(&hrc.reads_in_flight));
	seq_printf(m, "prefetch_requests %ld\n",
		   atomic_long_read(&hrc_stats.prefetch_requests));
	seq_printf(m, "prefetch_posts %ld\n", atomic_long_read(&hrc_stats.prefetch_posts));
	seq_printf(m, "prefetch_merged %ld\n",
		   atomic_long_read(&hrc_stats.prefetch_merged));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hrc_stats);

static struct dentry *hrc_debugfs, *hrc_connect_file;

/* Static: a module's unload takes them along with their files. */
static const struct kernel_param hrc_connect_knob = {
	.name = "connect", .ops = &hrc_server_ops, .perm = 0644,
};

static const struct kernel_param hrc_knobs[] = {
	{ .name = "load_timeout", .ops = &hrc_timeout_ops, .perm = 0644,
	  .arg = &hrc_load_timeout },
	{ .name = "key", .ops = &hrc_key_ops, .perm = 0200 },
	{ .name = "queues", .ops = &hrc_sets_ops, .perm = 0644,
	  .arg = &hrc_queue_sets },
	{ .name = "merge", .ops = &hrc_merge_ops, .perm = 0644,
	  .arg = &hrc_merge },
};

/* The knobs' and statistics' files; returns the "rdma" directory. */
struct dentry *hrc_debugfs_init(void)
{
	unsigned int i;

	hrc_connect_file = hermit_debugfs_knob(hermit_debugfs_root(),
					       &hrc_connect_knob);
	hrc_debugfs = debugfs_create_dir("rdma", hermit_debugfs_root());
	for (i = 0; i < ARRAY_SIZE(hrc_knobs); i++)
		hermit_debugfs_knob(hrc_debugfs, &hrc_knobs[i]);
	debugfs_create_file("stats", 0400, hrc_debugfs, NULL, &hrc_stats_fops);
	return hrc_debugfs;
}

void hrc_debugfs_exit(void)
{
	debugfs_remove(hrc_connect_file);
	debugfs_remove_recursive(hrc_debugfs);
}
