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

/* Parsed by hrc_set_server(), under hrc_config_mutex. */
static struct sockaddr_storage hrc_new[HRC_MAX_SERVERS];

/*
 * Parse one server of a list: "IP[:PORT]", or RackMem's "IP PORT".
 * Returns 0 or -EINVAL.
 */
static int hrc_parse_one(char *item, struct sockaddr_storage *ss)
{
	char one[HERMIT_ADDR_MAX + 8], *sp = strpbrk(item, " \t");

	memset(ss, 0, sizeof(*ss));
	if (sp) {
		*sp = '\0';
		sp = skip_spaces(sp + 1);
		if (strpbrk(sp, " \t") || strchr(sp, ':') || item[0] == '[')
			return -EINVAL;
		snprintf(one, sizeof(one), strchr(item, ':') ? "[%s]:%s" : "%s:%s",
			 item, sp);
		item = one;
	}
	return hermit_parse_addr(item, ss);
}

/*
 * Parse @s, servers separated by commas or newlines, into hrc_new[].
 * Returns how many (0 for "off" or nothing), or -EINVAL: a bad address,
 * one given twice, more than HRC_MAX_SERVERS.
 */
static int hrc_parse_servers(const char *s)
{
	char item[HERMIT_ADDR_MAX + 8];
	int n = 0, i;
	size_t len;

	if (sysfs_streq(s, "off"))
		return 0;
	while (*s) {
		len = strcspn(s, ",\n");
		if (len >= sizeof(item))
			return -EINVAL;
		memcpy(item, s, len);
		item[len] = '\0';
		s += len;
		if (*s)
			s++;
		if (!*strim(item))
			continue;
		if (n == HRC_MAX_SERVERS || hrc_parse_one(strim(item), &hrc_new[n]))
			return -EINVAL;
		for (i = 0; i < n; i++) {
			if (!memcmp(&hrc_new[i], &hrc_new[n], sizeof(hrc_new[n])))
				return -EINVAL;
		}
		n++;
	}
	return n;
}

/* Whether @s is among the @n servers just parsed. */
static bool hrc_in_new(struct hrc_server *s, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!memcmp(&hrc_new[i], &s->addr, sizeof(s->addr)))
			return true;
	}
	return false;
}

static struct hrc_server *hrc_find(const struct sockaddr_storage *ss)
{
	struct hrc_server *s;

	for_each_hrc_server(s) {
		if (s->addr_set && !memcmp(ss, &s->addr, sizeof(*ss)))
			return s;
	}
	return NULL;
}

/*
 * Forget @s, left out of the servers, unless it holds chunks (checked
 * under its rwsem: a chunk may come meanwhile). Called with
 * hrc_config_mutex held; returns whether it was forgotten.
 */
static bool hrc_forget(struct hrc_server *s)
{
	down_write(&s->rwsem);
	if (atomic_long_read(&s->chunks)) {
		up_write(&s->rwsem);
		return false;
	}
	WRITE_ONCE(s->draining, false);
	WRITE_ONCE(s->addr_set, false);
	WRITE_ONCE(s->state, HRC_DOWN);
	up_write(&s->rwsem);
	/* Its worker tears the connection down. */
	if (s->wq)
		mod_delayed_work(s->wq, &s->connect_work, 0);
	return true;
}

/* The re-replication worker moved every copy off a draining server. */
void hrc_forget_drained(void)
{
	struct hrc_server *s;

	mutex_lock(&hrc_config_mutex);
	for_each_hrc_server(s) {
		if (READ_ONCE(s->draining) && hrc_forget(s))
			pr_info("server %pISpc drained and forgotten\n", &s->addr);
	}
	mutex_unlock(&hrc_config_mutex);
}

/*
 * Use the servers of @val (see hrc_parse_servers()), or none ("off").
 * One that is left out is forgotten at once if it holds no chunk; else it
 * is drained in the background: the re-replication worker moves its
 * copies to the other servers, and it is forgotten once it holds none
 * (or stays set if they cannot move; see hrc_drain_check()). A server
 * that is set already is reconnected, a new one takes a free slot (one
 * whose server holds no chunk).
 */
static int hrc_set_servers(const char *val)
{
	struct hrc_server *s;
	int n, i, err = 0;

	mutex_lock(&hrc_config_mutex);
	n = hrc_parse_servers(val);
	if (n < 0) {
		err = n;
		goto out;
	}
	if (!hrc_ready) {	/* the kernel command line, before init */
		for_each_hrc_server(s) {
			i = s - hrc_servers;
			s->addr_set = i < n;
			if (s->addr_set)
				s->addr = hrc_new[i];
		}
		goto out;
	}
	/* Those left out that hold nothing go first: their slots are free. */
	for_each_hrc_server(s) {
		if (s->addr_set && !hrc_in_new(s, n))
			hrc_forget(s);
	}
	/* Reconnect those kept, connect the new ones in free slots. */
	for (i = 0; i < n; i++) {
		s = hrc_find(&hrc_new[i]);
		if (!s) {
			for_each_hrc_server(s) {
				if (!s->addr_set && !atomic_long_read(&s->chunks))
					break;
			}
			if (s == hrc_servers + HRC_MAX_SERVERS) {
				err = -ENOSPC;
				break;
			}
			/* FREEs and a session of the server before are void. */
			hrc_drop_pending_frees(s);
			down_write(&s->rwsem);
			s->addr = hrc_new[i];
			s->session = 0;
			s->epoch = 0;
			WRITE_ONCE(s->addr_set, true);
			up_write(&s->rwsem);
		}
		WRITE_ONCE(s->draining, false);
		err = hrc_server_start(s);
		if (err)
			break;
	}
	/* Those left out that hold chunks: drained, then forgotten. */
	for_each_hrc_server(s) {
		if (s->addr_set && !hrc_in_new(s, n) && !READ_ONCE(s->draining))
			hrc_drain_start(s);
	}
out:
	mutex_unlock(&hrc_config_mutex);
	return err;
}

/* A server's state as the files show it: draining, or its connection's. */
const char *hrc_state_name(struct hrc_server *s)
{
	return READ_ONCE(s->draining) ? "draining" :
	       hrc_state_names[READ_ONCE(s->state)];
}

static int hrc_show_servers(char *buf, size_t size)
{
	struct hrc_server *s;
	int len = 0;

	for_each_hrc_server(s) {
		if (READ_ONCE(s->addr_set))
			len += scnprintf(buf + len, size - len, "%pISpc %s\n",
					 &s->addr, hrc_state_name(s));
	}
	return len ?: scnprintf(buf, size, "off\n");
}

static int hrc_param_server_set(const char *val, const struct kernel_param *kp)
{
	return hrc_set_servers(val);
}

static int hrc_param_server_get(char *buf, const struct kernel_param *kp)
{
	return hrc_show_servers(buf, PAGE_SIZE);
}

static const struct kernel_param_ops hrc_server_ops = {
	.set = hrc_param_server_set,
	.get = hrc_param_server_get,
};
module_param_cb(server, &hrc_server_ops, NULL, 0644);
MODULE_PARM_DESC(server, "Hermit memory servers: IP[:PORT] (port 50000 by default) or \"IP PORT\", separated by commas or newlines (at most 8), or off");

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

/* The ops of an unsigned int knob from @lo to @hi. */
#define HRC_UINT_RANGE_OPS(ops, lo, hi)					\
static int ops##_set(const char *val, const struct kernel_param *kp)	\
{									\
	return param_set_uint_minmax(val, kp, lo, hi);			\
}									\
static const struct kernel_param_ops ops = {				\
	.set = ops##_set,						\
	.get = param_get_uint,						\
}

HRC_UINT_RANGE_OPS(hrc_merge_ops, 1, HRC_MERGE_MAX);
module_param_cb(rdma_merge, &hrc_merge_ops, &hrc_merge, 0644);
MODULE_PARM_DESC(rdma_merge, "Pages of neighbouring slots one RDMA transfer carries at most (1-16, default 1: no merging)");

HRC_UINT_RANGE_OPS(hrc_replicas_ops, 1, HRC_REPLICAS_MAX);
module_param_cb(replicas, &hrc_replicas_ops, &hrc_replicas, 0644);
MODULE_PARM_DESC(replicas, "Copies of each new chunk, each on another server (1-2, default 1)");

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

/* Stores (@write) or prefetches posted and not completed, on every server. */
static int hrc_in_flight(bool write)
{
	struct hrc_server *s;
	int n = 0;

	for_each_hrc_server(s)
		n += atomic_read(write ? &s->writes_in_flight : &s->reads_in_flight);
	return n;
}

static int hrc_stats_show(struct seq_file *m, void *v)
{
	long reads = 0, writes = 0;
	struct hrc_server *s;
	int ready = 0;

	/* Every slot's, including those of servers forgotten. */
	for_each_hrc_server(s) {
		reads += atomic_long_read(&s->reads);
		writes += atomic_long_read(&s->writes);
		if (!READ_ONCE(s->addr_set))
			continue;
		seq_printf(m, "server %pISpc %s\n", &s->addr,
			   hrc_state_name(s));
		ready += READ_ONCE(s->state) == HRC_READY;
	}
	seq_printf(m, "client_id %*phN\n", HERMIT_CLIENT_ID_LEN, hrc_id);
	seq_printf(m, "key %s\n", READ_ONCE(hrc_key.len) ? "set" : "off");
	seq_printf(m, "queue_sets %u\n", READ_ONCE(hrc_servers[0].nr_sets));
	seq_printf(m, "chunks %ld\n", atomic_long_read(&hrc_chunks));
	seq_printf(m, "grants %ld\n", atomic_long_read(&hrc_stats.grants));
	seq_printf(m, "refused_full %ld\n", atomic_long_read(&hrc_stats.refused));
	seq_printf(m, "writes %ld\n", writes);
	seq_printf(m, "reads %ld\n", reads);
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
	seq_printf(m, "writes_in_flight %d\n", hrc_in_flight(true));
	seq_printf(m, "writes_in_flight_max %d\n",
		   atomic_read(&hrc_stats.writes_in_flight_max));
	seq_printf(m, "write_requests %ld\n", atomic_long_read(&hrc_stats.write_requests));
	seq_printf(m, "write_posts %ld\n", atomic_long_read(&hrc_stats.write_posts));
	seq_printf(m, "write_merged %ld\n", atomic_long_read(&hrc_stats.write_merged));
	seq_printf(m, "prefetches_in_flight %d\n", hrc_in_flight(false));
	seq_printf(m, "prefetch_requests %ld\n",
		   atomic_long_read(&hrc_stats.prefetch_requests));
	seq_printf(m, "prefetch_posts %ld\n", atomic_long_read(&hrc_stats.prefetch_posts));
	seq_printf(m, "prefetch_merged %ld\n",
		   atomic_long_read(&hrc_stats.prefetch_merged));
	seq_printf(m, "replicas %u\n", READ_ONCE(hrc_replicas));
	seq_printf(m, "servers_ready %d\n", ready);
	/* Fewer servers connected than copies asked for: stores make fewer. */
	seq_printf(m, "degraded %d\n", ready < READ_ONCE(hrc_replicas));
	seq_printf(m, "degraded_stores %ld\n",
		   atomic_long_read(&hrc_stats.degraded_stores));
	seq_printf(m, "read_failovers %ld\n",
		   atomic_long_read(&hrc_stats.read_failovers));
	seq_printf(m, "degraded_chunks %ld\n",
		   atomic_long_read(&hrc_stats.degraded_chunks));
	seq_printf(m, "drained_chunks %ld\n",
		   atomic_long_read(&hrc_stats.drained_chunks));
	seq_printf(m, "drain_failures %ld\n",
		   atomic_long_read(&hrc_stats.drain_failures));
	seq_printf(m, "repair_chunks %ld\n",
		   atomic_long_read(&hrc_stats.repair_chunks));
	seq_printf(m, "repair_pages %ld\n",
		   atomic_long_read(&hrc_stats.repair_pages));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hrc_stats);

/* One line per server set: where the pages are and how it serves them. */
static int hrc_servers_show(struct seq_file *m, void *v)
{
	struct hrc_server *s;

	seq_puts(m, "# server state chunks room reads writes lost session pages\n");
	for_each_hrc_server(s) {
		if (!READ_ONCE(s->addr_set) && !atomic_long_read(&s->chunks))
			continue;
		seq_printf(m, "%pISpc %s %ld %ld %ld %ld %ld %llx %ld\n", &s->addr,
			   READ_ONCE(s->addr_set) ? hrc_state_name(s) : "removed",
			   atomic_long_read(&s->chunks), hrc_room(s),
			   atomic_long_read(&s->reads), atomic_long_read(&s->writes),
			   atomic_long_read(&s->lost), READ_ONCE(s->session),
			   hrc_pages_on(s));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hrc_servers);

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
	{ .name = "replicas", .ops = &hrc_replicas_ops, .perm = 0644,
	  .arg = &hrc_replicas },
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
	debugfs_create_file("servers", 0400, hrc_debugfs, NULL, &hrc_servers_fops);
	return hrc_debugfs;
}

void hrc_debugfs_exit(void)
{
	debugfs_remove(hrc_connect_file);
	debugfs_remove_recursive(hrc_debugfs);
}
