// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit memory server: its knobs (module parameters) and debugfs.
 */

#define pr_fmt(fmt) "hermit_server: " fmt

#include "server.h"

/* ---- knobs ---- */

static int hsrv_param_listen_set(const char *val, const struct kernel_param *kp)
{
	return hsrv_set_listen(val);
}

static int hsrv_param_listen_get(char *buf, const struct kernel_param *kp)
{
	return hsrv_listen_show(buf, PAGE_SIZE);
}

static const struct kernel_param_ops hsrv_listen_ops = {
	.set = hsrv_param_listen_set,
	.get = hsrv_param_listen_get,
};
module_param_cb(listen, &hsrv_listen_ops, NULL, 0644);
MODULE_PARM_DESC(listen, "IP[:PORT] to serve on (port 50000 by default; 0.0.0.0: every address), or off");

static int hsrv_parse_capacity(const char *val, unsigned long *bytes)
{
	char buf[32], *end;
	unsigned long long v;
	size_t len = strcspn(val, "\n");

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, val, len);
	buf[len] = '\0';
	v = memparse(buf, &end);
	if (*end || v > (unsigned long long)totalram_pages() << PAGE_SHIFT)
		return -EINVAL;
	*bytes = v;
	return 0;
}

/* A byte count (capacity, client_quota) into the variable at kp->arg. */
static int hsrv_param_bytes_set(const char *val, const struct kernel_param *kp)
{
	unsigned long bytes;
	int err = hsrv_parse_capacity(val, &bytes);

	if (err)
		return err;
	WRITE_ONCE(*(unsigned long *)kp->arg, bytes);
	return 0;
}

static int hsrv_param_capacity_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu\n", hsrv_capacity_bytes());
}

static const struct kernel_param_ops hsrv_capacity_ops = {
	.set = hsrv_param_bytes_set,
	.get = hsrv_param_capacity_get,
};
module_param_cb(capacity, &hsrv_capacity_ops, &hsrv_capacity, 0644);
MODULE_PARM_DESC(capacity, "Bytes lent to clients in all (K/M/G suffixes; default half of RAM)");

static int hsrv_param_grace_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 10, &v) || v > 86400)
		return -EINVAL;
	WRITE_ONCE(hsrv_grace, v);
	return 0;
}

static const struct kernel_param_ops hsrv_grace_ops = {
	.set = hsrv_param_grace_set,
	.get = param_get_uint,
};
module_param_cb(grace_period, &hsrv_grace_ops, &hsrv_grace, 0644);
MODULE_PARM_DESC(grace_period, "Seconds a disconnected client's chunks are kept (0-86400, default 300)");

static const struct kernel_param_ops hsrv_quota_ops = {
	.set = hsrv_param_bytes_set,
	.get = param_get_ulong,
};
module_param_cb(client_quota, &hsrv_quota_ops, &hsrv_quota, 0644);
MODULE_PARM_DESC(client_quota, "Bytes one client may hold, K/M/G suffixes (0: no limit, the default)");

static int hsrv_param_key_set(const char *val, const struct kernel_param *kp)
{
	if (hermit_key_set(&hsrv_key, val))
		return -EINVAL;
	if (READ_ONCE(hsrv_key.len))
		pr_info("key set: new sessions must prove it\n");
	else
		pr_info("no key: clients are not authenticated\n");
	return 0;
}

static int hsrv_param_key_get(char *buf, const struct kernel_param *kp)
{
	return hermit_key_show(&hsrv_key, buf);
}

static const struct kernel_param_ops hsrv_key_ops = {
	.set = hsrv_param_key_set,
	.get = hsrv_param_key_get,
};
module_param_cb(key, &hsrv_key_ops, NULL, 0200);
MODULE_PARM_DESC(key, "Shared key clients must prove: 32 to 128 hex digits, or off (write-only)");

/* ---- debugfs ---- */

struct dentry *hsrv_debugfs;

/*
 * The knobs in debugfs too, through their parameter ops (the server may run
 * without CONFIG_HERMIT, so these do not use the core's helper).
 */
static const struct kernel_param hsrv_knobs[] = {
	{ .name = "listen", .ops = &hsrv_listen_ops, .perm = 0644 },
	{ .name = "capacity", .ops = &hsrv_capacity_ops, .perm = 0644,
	  .arg = &hsrv_capacity },
	{ .name = "grace_period", .ops = &hsrv_grace_ops, .perm = 0644,
	  .arg = &hsrv_grace },
	{ .name = "client_quota", .ops = &hsrv_quota_ops, .perm = 0644,
	  .arg = &hsrv_quota },
	{ .name = "key", .ops = &hsrv_key_ops, .perm = 0200 },
};

static ssize_t hsrv_knob_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	const struct kernel_param *kp = file->private_data;
	char buf[160];	/* room for a key's hex digits */
	int err;

	if (*ppos || !count || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count)) {
		err = -EFAULT;
		goto out;
	}
	buf[count] = '\0';
	err = kp->ops->set(strim(buf), kp);
out:
	memzero_explicit(buf, sizeof(buf));
	return err ?: count;
}

static ssize_t hsrv_knob_read(struct file *file, char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	const struct kernel_param *kp = file->private_data;
	char *buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = kp->ops->get(buf, kp);
	if (n >= 0)
		n = simple_read_from_buffer(ubuf, count, ppos, buf, n);
	kfree(buf);
	return n;
}

static const struct file_operations hsrv_knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hsrv_knob_read,
	.write = hsrv_knob_write,
	.llseek = default_llseek,
};

static int hsrv_stats_show(struct seq_file *m, void *v)
{
	struct hsrv_client *client;
	unsigned long chunks = 0, connected = 0;
	u64 reads, writes;

	mutex_lock(&hsrv_mutex);
	reads = hsrv_stats.reads;
	writes = hsrv_stats.writes;
	list_for_each_entry(client, &hsrv_clients, node) {
		chunks += READ_ONCE(client->nr_chunks);
		connected += !!client->ctrl;
		reads += client->reads;
		writes += client->writes;
	}
	seq_printf(m, "listening %d\n", !!READ_ONCE(hsrv_listen_id));
	seq_printf(m, "clients %u\n", hsrv_nr_clients);
	seq_printf(m, "clients_connected %lu\n", connected);
	seq_printf(m, "chunks %lu\n", chunks);
	seq_printf(m, "bytes %lu\n", atomic_long_read(&hsrv_used));
	seq_printf(m, "capacity %lu\n", hsrv_capacity_bytes());
	seq_printf(m, "chunk_allocs %lu\n", atomic_long_read(&hsrv_chunk_stats.allocs));
	seq_printf(m, "chunk_frees %lu\n", atomic_long_read(&hsrv_chunk_stats.frees));
	seq_printf(m, "reads_served %llu\n", reads);
	seq_printf(m, "writes_served %llu\n", writes);
	seq_printf(m, "refused_full %lu\n",
		   atomic_long_read(&hsrv_chunk_stats.refused_full));
	seq_printf(m, "refused_quota %lu\n",
		   atomic_long_read(&hsrv_chunk_stats.refused_quota));
	seq_printf(m, "alloc_errors %lu\n",
		   atomic_long_read(&hsrv_chunk_stats.alloc_errors));
	seq_printf(m, "bad_messages %lu\n", atomic_long_read(&hsrv_bad_messages));
	seq_printf(m, "rejected_connects %lu\n", hsrv_stats.rejected);
	seq_printf(m, "auth_failures %lu\n", hsrv_stats.auth_failures);
	seq_printf(m, "key %s\n", READ_ONCE(hsrv_key.len) ? "set" : "off");
	seq_printf(m, "connects %lu\n", hsrv_stats.connects);
	seq_printf(m, "disconnects %lu\n", hsrv_stats.disconnects);
	seq_printf(m, "expired %lu\n", hsrv_stats.expired);
	mutex_unlock(&hsrv_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hsrv_stats);

/* Every session and chunk, for the administrator (root only). */
static int hsrv_clients_show(struct seq_file *m, void *v)
{
	struct hsrv_client *client;
	struct hsrv_chunk *c;
	unsigned long key;

	mutex_lock(&hsrv_mutex);
	list_for_each_entry(client, &hsrv_clients, node) {
		seq_printf(m, "client %*phN session %llx device %s connected %d conns %u chunks %lu reads %llu writes %llu\n",
			   HERMIT_CLIENT_ID_LEN, client->id, client->session,
			   dev_name(&client->dev->dev), !!client->ctrl,
			   client->nr_conns, client->nr_chunks, client->reads,
			   client->writes);
		/* A session busy with a request is not waited for. */
		if (!mutex_trylock(&client->lock)) {
			seq_puts(m, "  (busy)\n");
			continue;
		}
		xa_for_each(&client->chunks, key, c)
			seq_printf(m, "  chunk %u %llu addr 0x%llx rkey 0x%x length %llu\n",
				   c->area, c->index, c->mr->iova, c->mr->rkey,
				   c->mr->length);
		mutex_unlock(&client->lock);
	}
	mutex_unlock(&hsrv_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hsrv_clients);

void hsrv_debugfs_init(void)
{
	struct dentry *root = debugfs_lookup("hermit", NULL);
	int i;

	if (!root)
		root = debugfs_create_dir("hermit", NULL);
	hsrv_debugfs = debugfs_create_dir("server", root);
	dput(root);
	for (i = 0; i < ARRAY_SIZE(hsrv_knobs); i++)
		debugfs_create_file(hsrv_knobs[i].name, hsrv_knobs[i].perm, hsrv_debugfs,
				    (void *)&hsrv_knobs[i], &hsrv_knob_fops);
	debugfs_create_file("reset", 0200, hsrv_debugfs, NULL, &hsrv_reset_fops);
	debugfs_create_file("stats", 0444, hsrv_debugfs, NULL, &hsrv_stats_fops);
	debugfs_create_file("clients", 0400, hsrv_debugfs, NULL, &hsrv_clients_fops);
}

