// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit memory server: lends this machine's memory to Hermit RDMA clients.
 *
 * A client is known by the random id it sends with every connect request,
 * but the id proves nothing: a control connection starts in a protection
 * domain of its own, where it reaches no memory, and joins a session only
 * once its HELLO proved the shared key (hermit_server.key; anyone, when no
 * key is set) or, to resume a session, that session's secret. A session
 * holds a protection domain for its data connections, which must present
 * a token made with the secret, and the chunks granted to it: each chunk is
 * zeroed memory registered as one memory region in that protection domain
 * (the registration is posted on one of those data connections), so only
 * queue pairs of that client can reach it. The client moves pages with
 * one-sided RDMA READ and WRITE; the server's CPU only handles chunk
 * requests on the control connection, each validated before it is acted
 * on. A malformed message closes the connection it came on, nothing else.
 *
 * When a client's control connection goes away its session stays for
 * hermit_server.grace_period seconds: a client that reconnects within it
 * finds its chunks as it left them. After that, or when the client frees
 * them (swapoff), the chunks' memory is released.
 *
 * Built as a module, the server holds a reference on itself for every
 * session: it cannot be unloaded while a client may still have pages in
 * its memory (rmmod says it is in use). A session goes when its client
 * frees its chunks and disconnects, when its grace period ends, or with
 * a write to hermit/server/reset in debugfs.
 *
 * Locking: hsrv_mutex protects the session list, the control connections
 * that have no session yet and every session's connections; it is held only
 * briefly, never across an allocation of chunk memory or a wait for the
 * network, because rdma_cm event handlers take it and they run on ib_cm's
 * one workqueue, which every RDMA user of the host shares. No id is
 * destroyed with it held (rdma_destroy_id() waits for that id's handler).
 * A session's lock serialises its requests and guards its chunk table, so
 * a slow or stalled client holds up only itself; hsrv_mutex nests inside
 * it. Capacity and counters are atomic.
 */

#define pr_fmt(fmt) "hermit_server: " fmt

#include "server.h"

DEFINE_MUTEX(hsrv_mutex);		/* see "Locking" above */
LIST_HEAD(hsrv_clients);
static LIST_HEAD(hsrv_pending);		/* control conns before HELLO */
unsigned int hsrv_nr_pending;
unsigned int hsrv_nr_clients;
static unsigned int hsrv_nr_conns;	/* of all clients */
static u64 hsrv_epoch;
unsigned long hsrv_capacity;	/* bytes; 0: half of RAM */
unsigned long hsrv_quota;	/* bytes per client; 0: no limit */
atomic_long_t hsrv_used;		/* bytes granted */
unsigned int hsrv_grace = 300;	/* seconds */
struct workqueue_struct *hsrv_wq;

struct hsrv_chunk_stats hsrv_chunk_stats;
/* The shared key; no key: every client is welcome. */
struct hermit_key hsrv_key = HERMIT_KEY_INIT(hsrv_key);

struct hsrv_stats hsrv_stats;
atomic_long_t hsrv_bad_messages;

/* Listening: the address asked for, and the id once bound. */
static DEFINE_MUTEX(hsrv_listen_mutex);
static struct sockaddr_storage hsrv_listen_addr;
static bool hsrv_listen_wanted;
struct rdma_cm_id *hsrv_listen_id;
static void hsrv_listen_retry(struct work_struct *work);
static DECLARE_DELAYED_WORK(hsrv_listen_work, hsrv_listen_retry);
static void hsrv_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(hsrv_reap_work, hsrv_reap);

unsigned long hsrv_capacity_bytes(void)
{
	return hsrv_capacity ?: (totalram_pages() << PAGE_SHIFT) / 2;
}

/* ---- connections ---- */

/* Release the connection's verbs objects; the id and conn stay. */
static void hsrv_conn_put_verbs(struct hsrv_conn *conn)
{
	struct ib_device *dev = conn->cm_id->device;

	if (conn->cm_id->qp)
		rdma_destroy_qp(conn->cm_id);
	if (conn->cq)
		ib_free_cq(conn->cq);
	conn->cq = NULL;
	if (conn->bufs) {
		ib_dma_unmap_single(dev, conn->bufs_dma,
				    sizeof(*conn->bufs) * (HSRV_RX_DEPTH + 1),
				    DMA_BIDIRECTIONAL);
		kfree(conn->bufs);
		conn->bufs = NULL;
	}
	/* A control connection's own protection domain. */
	if (conn->queue == HERMIT_Q_CTRL && conn->pd)
		ib_dealloc_pd(conn->pd);
	conn->pd = NULL;
}

/*
 * The connection leaves its session in two steps around rdma_destroy_id():
 * first nobody can find it any more, then, once no event handler can run
 * for it, it stops counting, so that the session (and its protection
 * domain) outlives every handler that may still look at it.
 */
static void hsrv_release_work(struct work_struct *work)
{
	struct hsrv_conn *conn = container_of(work, struct hsrv_conn, release_work);
	struct hsrv_client *client;

	rdma_disconnect(conn->cm_id);
	if (conn->cm_id->qp)
		ib_drain_qp(conn->cm_id->qp);
	/* After this, a HELLO can no longer make the connection join. */
	cancel_work_sync(&conn->rx_work);
	client = conn->client;

	mutex_lock(&hsrv_mutex);
	list_del(&conn->node);
	if (!client)
		hsrv_nr_pending--;
	mutex_unlock(&hsrv_mutex);
	/* A registration that found this connection is over after this. */
	if (client) {
		mutex_lock(&client->lock);
		mutex_unlock(&client->lock);
	}
	/* Before the session may go: its protection domain holds the QP. */
	hsrv_conn_put_verbs(conn);
	/* Waits for a handler of this id; no event comes after it. */
	rdma_destroy_id(conn->cm_id);

	mutex_lock(&hsrv_mutex);
	hsrv_nr_conns--;
	if (!client) {
		mutex_unlock(&hsrv_mutex);
		kfree(conn);
		return;
	}
	client->nr_conns--;
	if (client->ctrl == conn) {
		client->ctrl = NULL;
		client->lost_at = jiffies;
		hsrv_stats.disconnects++;
		if (client->nr_chunks)
			pr_info_ratelimited("client %*phN disconnected; its %lu chunks are kept for %us\n",
					    4, client->id, client->nr_chunks, hsrv_grace);
		else
			pr_info_ratelimited("client %*phN disconnected\n", 4, client->id);
	}
	/* A session that holds nothing has nothing to keep. */
	if (!client->ctrl && !client->nr_conns && !client->nr_chunks)
		hsrv_client_destroy(client);
	mutex_unlock(&hsrv_mutex);
	kfree(conn);
}

static int hsrv_ctrl_setup(struct hsrv_conn *conn)
{
	struct ib_device *dev = conn->cm_id->device;
	size_t size = sizeof(*conn->bufs) * (HSRV_RX_DEPTH + 1);
	int i;

	conn->bufs = kzalloc(size, GFP_KERNEL);
	if (!conn->bufs)
		return -ENOMEM;
	conn->bufs_dma = ib_dma_map_single(dev, conn->bufs, size, DMA_BIDIRECTIONAL);
	if (ib_dma_mapping_error(dev, conn->bufs_dma)) {
		kfree(conn->bufs);
		conn->bufs = NULL;
		return -ENOMEM;
	}
	conn->tx = &conn->bufs[HSRV_RX_DEPTH];
	conn->tx_dma = conn->bufs_dma + HSRV_RX_DEPTH * sizeof(*conn->bufs);
	conn->tx_cqe.done = hsrv_tx_done;
	for (i = 0; i < HSRV_RX_DEPTH; i++) {
		struct hsrv_rx *rx = &conn->rx[i];

		rx->conn = conn;
		rx->cqe.done = hsrv_rx_done;
		rx->msg = &conn->bufs[i];
		rx->dma = conn->bufs_dma + i * sizeof(*conn->bufs);
		if (hsrv_post_recv(rx))
			return -EIO;
	}
	return 0;
}

/*
 * The session a data connection joins: one whose control connection is
 * authenticated, on the same device, and a token made with its secret over
 * a counter not used before (a replayed request is refused).
 */
static struct hsrv_client *hsrv_data_session(const struct hermit_conn_req *req,
					     struct ib_device *dev)
{
	struct hsrv_client *client = hsrv_client_find(req->client_id);
	u64 counter = le64_to_cpu(req->counter);
	u8 mac[HERMIT_MAC_LEN];
	bool bad;

	if (!client || !client->ctrl || client->dev != dev)
		return ERR_PTR(-ENOENT);
	/* Room for a resumed session's old connections, still closing. */
	if (client->nr_conns >= 2 * HSRV_MAX_CONNS)
		return ERR_PTR(-EUSERS);
	hermit_data_mac(client->secret, client->id, client->session, req->queue,
			counter, mac);
	bad = crypto_memneq(mac, req->token, HERMIT_TOKEN_LEN);
	memzero_explicit(mac, sizeof(mac));
	if (counter <= client->data_counter || bad) {
		hsrv_stats.auth_failures++;
		return ERR_PTR(-EACCES);
	}
	client->data_counter = counter;
	return client;
}

/* Refuse a connect request, saying why (struct hermit_conn_rej). */
static void hsrv_reject(struct rdma_cm_id *id, int err)
{
	struct hermit_conn_rej rej = {
		.magic = cpu_to_le32(HERMIT_PROTO_MAGIC),
		.version = HERMIT_PROTO_VERSION,
		.reason = cpu_to_le32(err < 0 && err > -4096 ? -err : EPROTO),
	};

	hsrv_stats.rejected++;
	rdma_reject(id, &rej, sizeof(rej), IB_CM_REJ_CONSUMER_DEFINED);
	pr_info_ratelimited("refused a connection from %pISc: %d\n",
			    &id->route.addr.dst_addr, err);
}

static int hsrv_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev);

/*
 * Too many control connections wait for their HELLO: close the one that
 * waited longest, so that a flood of connects that never say HELLO cannot
 * keep a real client (which says it at once) out. False when every one is
 * already closing. Called with hsrv_mutex.
 */
static bool hsrv_evict_pending(void)
{
	struct hsrv_conn *conn;

	list_for_each_entry(conn, &hsrv_pending, node) {
		if (!test_bit(0, &conn->closing)) {
			rdma_disconnect(conn->cm_id);
			hsrv_conn_close(conn);
			return true;
		}
	}
	return false;
}

static int hsrv_connect(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	const struct hermit_conn_req *req = ev->param.conn.private_data;
	struct ib_device *dev = id->device;
	struct rdma_conn_param param = {};
	struct ib_qp_init_attr attr = {};
	struct hermit_conn_rep rep = {};
	struct hsrv_client *client = NULL, *known;
	struct hsrv_conn *conn;
	bool ctrl;
	int err;

	err = hermit_conn_req_check(req, ev->param.conn.private_data_len);
	mutex_lock(&hsrv_mutex);
	if (!err && hsrv_nr_conns >= HSRV_MAX_ALL_CONNS)
		err = -EUSERS;
	if (err)
		goto reject;
	ctrl = req->queue == HERMIT_Q_CTRL;
	if (ctrl) {
		/* Only a HELLO makes it join a session (hsrv_hello()). */
		if (hsrv_nr_pending >= HSRV_MAX_PENDING && !hsrv_evict_pending()) {
			err = -EBUSY;
			goto reject;
		}
	} else {
		client = hsrv_data_session(req, dev);
		if (IS_ERR(client)) {
			err = PTR_ERR(client);
			goto reject;
		}
	}
	err = -ENOMEM;
	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		goto reject;
	conn->cm_id = id;
	conn->queue = req->queue;
	memcpy(conn->id, req->client_id, sizeof(conn->id));
	conn->last_rx = jiffies;
	INIT_WORK(&conn->release_work, hsrv_release_work);
	INIT_WORK(&conn->rx_work, hsrv_rx_work);
	INIT_LIST_HEAD(&conn->rx_ready);
	spin_lock_init(&conn->rx_lock);
	init_completion(&conn->tx_done);
	init_completion(&conn->reg_done);
	conn->reg_cqe.done = hsrv_reg_done;
	if (ctrl) {
		/* Nothing is registered in it: the QP reaches no memory. */
		conn->pd = ib_alloc_pd(dev, 0);
		if (IS_ERR(conn->pd)) {
			err = PTR_ERR(conn->pd);
			conn->pd = NULL;
			goto free;
		}
		memcpy(conn->client_nonce, req->token, HERMIT_NONCE_LEN);
		get_random_bytes(conn->server_nonce, HERMIT_NONCE_LEN);
	} else {
		conn->pd = client->pd;
		conn->client = client;
	}
	/* Room for ib_drain_qp()'s extra work requests too. */
	conn->cq = ib_alloc_cq_any(dev, conn, ctrl ? HSRV_RX_DEPTH + 8 : 4,
				   IB_POLL_WORKQUEUE);
	if (IS_ERR(conn->cq)) {
		err = PTR_ERR(conn->cq);
		conn->cq = NULL;
		goto free;
	}
	attr.send_cq = conn->cq;
	attr.recv_cq = conn->cq;
	attr.qp_type = IB_QPT_RC;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	/* Data queues: a chunk's registration and the drain. */
	attr.cap.max_send_wr = ctrl ? 5 : 2;
	attr.cap.max_recv_wr = ctrl ? HSRV_RX_DEPTH + 1 : 2;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	err = rdma_create_qp(id, conn->pd, &attr);
	if (err)
		goto free;
	if (ctrl) {
		err = hsrv_ctrl_setup(conn);
		if (err)
			goto free;
	}
	id->context = conn;
	if (ctrl) {
		list_add_tail(&conn->node, &hsrv_pending);
		hsrv_nr_pending++;
	} else {
		list_add_tail(&conn->node, &client->conns);
		client->nr_conns++;
	}
	hsrv_nr_conns++;

	rep.magic = cpu_to_le32(HERMIT_PROTO_MAGIC);
	rep.version = HERMIT_PROTO_VERSION;
	rep.epoch = cpu_to_le64(hsrv_epoch);
	rep.capacity = cpu_to_le64(hsrv_capacity_bytes());
	if (ctrl) {
		/* A session the client may resume, if it proves its secret. */
		known = hsrv_client_find(req->client_id);
		if (known && known->dev == dev) {
			rep.flags |= cpu_to_le32(HERMIT_REP_RESUMED);
			rep.session = cpu_to_le64(known->session);
		}
		if (READ_ONCE(hsrv_key.len))
			rep.flags |= cpu_to_le32(HERMIT_REP_AUTH);
		memcpy(rep.nonce, conn->server_nonce, HERMIT_NONCE_LEN);
	}
	param.private_data = &rep;
	param.private_data_len = sizeof(rep);
	/* The event's depths are already from this side's point of view. */
	param.responder_resources = min_t(u32, ev->param.conn.responder_resources,
					  dev->attrs.max_qp_rd_atom);
	param.initiator_depth = 0;
	param.rnr_retry_count = 7;
	err = rdma_accept(id, &param);
	if (!err) {
		mutex_unlock(&hsrv_mutex);
		return 0;
	}
	list_del(&conn->node);
	if (ctrl)
		hsrv_nr_pending--;
	else
		client->nr_conns--;
	hsrv_nr_conns--;
	id->context = NULL;
free:
	hsrv_conn_put_verbs(conn);
	kfree(conn);
reject:
	hsrv_reject(id, err);
	mutex_unlock(&hsrv_mutex);
	return 1;	/* rdma_cm destroys the id */
}

static int hsrv_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct hsrv_conn *conn = id->context;

	switch (ev->event) {
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		return hsrv_connect(id, ev);
	case RDMA_CM_EVENT_ESTABLISHED:
		if (conn) {
			mutex_lock(&hsrv_mutex);
			WRITE_ONCE(conn->established, true);
			mod_delayed_work(system_wq, &hsrv_reap_work, HZ);
			mutex_unlock(&hsrv_mutex);
		}
		return 0;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		if (id == READ_ONCE(hsrv_listen_id) &&
		    cmpxchg(&hsrv_listen_id, id, NULL) == id) {
			pr_info("listening device removed\n");
			mod_delayed_work(system_wq, &hsrv_listen_work, 2 * HZ);
			return 1;
		}
		fallthrough;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		if (conn)
			hsrv_conn_close(conn);
		return 0;
	default:
		return 0;
	}
}

/* ---- expiry ---- */

/*
 * Every few seconds while sessions exist: close control connections whose
 * client went silent, and end sessions whose grace period is over.
 */
static void hsrv_reap(struct work_struct *work)
{
	struct hsrv_client *client, *next;
	struct hsrv_conn *conn;
	bool again = false;

	mutex_lock(&hsrv_mutex);
	list_for_each_entry(conn, &hsrv_pending, node) {
		again = true;
		if (time_after(jiffies, conn->last_rx + HSRV_TIMEOUT) &&
		    !test_bit(0, &conn->closing)) {
			pr_info_ratelimited("connection from %pISc sent no HELLO: closing it\n",
					    &conn->cm_id->route.addr.dst_addr);
			hsrv_conn_close(conn);
		}
	}
	list_for_each_entry_safe(client, next, &hsrv_clients, node) {
		conn = client->ctrl;
		again = true;
		if (conn) {
			if (conn->established &&
			    time_after(jiffies, READ_ONCE(conn->last_rx) +
						HERMIT_SILENT_SECS * HZ) &&
			    !test_bit(0, &conn->closing)) {
				pr_info("client %*phN silent for %us: closing its connection\n",
					4, client->id, HERMIT_SILENT_SECS);
				hsrv_conn_close(conn);
			}
			continue;
		}
		if (time_before(jiffies, client->lost_at + hsrv_grace * HZ))
			continue;
		if (client->nr_conns) {
			/* Data connections outlived their control one. */
			list_for_each_entry(conn, &client->conns, node)
				hsrv_conn_close(conn);
			continue;
		}
		pr_info("client %*phN expired: %lu chunks freed\n", 4, client->id,
			client->nr_chunks);
		hsrv_stats.expired++;
		hsrv_client_destroy(client);
	}
	mutex_unlock(&hsrv_mutex);
	if (again)
		mod_delayed_work(system_wq, &hsrv_reap_work, HZ);
}

/* ---- listening ---- */

static int hsrv_listen_start(void)
{
	struct rdma_cm_id *id;
	int err;

	lockdep_assert_held(&hsrv_listen_mutex);
	id = rdma_create_id(&init_net, hsrv_cm_handler, NULL, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id))
		return PTR_ERR(id);
	err = rdma_set_reuseaddr(id, 1);
	if (!err)
		err = rdma_bind_addr(id, (struct sockaddr *)&hsrv_listen_addr);
	if (!err)
		err = rdma_listen(id, 128);
	if (err) {
		rdma_destroy_id(id);
		return err;
	}
	WRITE_ONCE(hsrv_listen_id, id);
	pr_info("listening on port %u (%pISc), capacity %lu MiB%s\n",
		hermit_port_of(&hsrv_listen_addr), &hsrv_listen_addr,
		hsrv_capacity_bytes() >> 20,
		READ_ONCE(hsrv_key.len) ? "" : "; no key: clients are not authenticated");
	return 0;
}

static void hsrv_listen_stop(void)
{
	struct rdma_cm_id *id = xchg(&hsrv_listen_id, NULL);

	lockdep_assert_held(&hsrv_listen_mutex);
	if (id) {
		rdma_destroy_id(id);
		pr_info("stopped listening\n");
	}
}

static void hsrv_listen_retry(struct work_struct *work)
{
	static bool warned;
	int err = 0;

	mutex_lock(&hsrv_listen_mutex);
	if (hsrv_listen_wanted && !READ_ONCE(hsrv_listen_id))
		err = hsrv_listen_start();
	mutex_unlock(&hsrv_listen_mutex);
	if (err) {
		if (!warned)
			pr_info("cannot listen on %pISpc yet (%d), retrying\n",
				&hsrv_listen_addr, err);
		warned = true;
		mod_delayed_work(system_wq, &hsrv_listen_work, 2 * HZ);
	}
}

/* Close every client connection; sessions stay for their grace period. */
static void hsrv_disconnect_all(void)
{
	struct hsrv_client *client;
	struct hsrv_conn *conn;

	mutex_lock(&hsrv_mutex);
	list_for_each_entry(conn, &hsrv_pending, node)
		hsrv_conn_close(conn);
	list_for_each_entry(client, &hsrv_clients, node) {
		list_for_each_entry(conn, &client->conns, node)
			hsrv_conn_close(conn);
	}
	mutex_unlock(&hsrv_mutex);
	flush_workqueue(hsrv_wq);
}

/* Start listening on @s ("IP[:PORT]"), or stop for "off"/"". */
int hsrv_set_listen(const char *s)
{
	struct sockaddr_storage ss;
	bool off = sysfs_streq(s, "off") || sysfs_streq(s, "");
	int err = 0;

	if (!off && hermit_parse_addr(s, &ss))
		return -EINVAL;
	mutex_lock(&hsrv_listen_mutex);
	cancel_delayed_work(&hsrv_listen_work);
	hsrv_listen_stop();
	hsrv_listen_wanted = !off;
	if (!off) {
		hsrv_listen_addr = ss;
		if (hsrv_wq)	/* not before init: hsrv_init() starts it */
			err = hsrv_listen_start();
	}
	mutex_unlock(&hsrv_listen_mutex);
	if (off && hsrv_wq)
		hsrv_disconnect_all();
	if (err) {
		pr_info("cannot listen on %pISpc yet (%d), retrying\n",
			&hsrv_listen_addr, err);
		mod_delayed_work(system_wq, &hsrv_listen_work, 2 * HZ);
	}
	return 0;
}

/*
 * Forget every client, as a reboot would: close every connection, free
 * every chunk and draw a new epoch, then listen again. Clients find their
 * pages gone when they reconnect.
 */
static int hsrv_reset(void)
{
	struct hsrv_client *client, *next;
	int err = 0;

	mutex_lock(&hsrv_listen_mutex);
	cancel_delayed_work(&hsrv_listen_work);
	hsrv_listen_stop();
	hsrv_disconnect_all();
	mutex_lock(&hsrv_mutex);
	list_for_each_entry_safe(client, next, &hsrv_clients, node) {
		if (!WARN_ON_ONCE(client->nr_conns))
			hsrv_client_destroy(client);
	}
	hsrv_epoch = get_random_u64() ?: 1;
	mutex_unlock(&hsrv_mutex);
	if (hsrv_listen_wanted)
		err = hsrv_listen_start();
	mutex_unlock(&hsrv_listen_mutex);
	pr_info("reset: every session and chunk dropped\n");
	if (err)
		mod_delayed_work(system_wq, &hsrv_listen_work, 2 * HZ);
	return 0;
}

static ssize_t hsrv_reset_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	char buf[4] = {};

	if (*ppos || !count || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	if (!sysfs_streq(buf, "1"))
		return -EINVAL;
	hsrv_reset();
	return count;
}

const struct file_operations hsrv_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = hsrv_reset_write,
	.llseek = default_llseek,
};

int hsrv_listen_show(char *buf, size_t size)
{
	int n;

	mutex_lock(&hsrv_listen_mutex);
	if (!hsrv_listen_wanted)
		n = scnprintf(buf, size, "off\n");
	else
		n = scnprintf(buf, size, "%pISpc%s\n", &hsrv_listen_addr,
			      READ_ONCE(hsrv_listen_id) ? "" : " (waiting)");
	mutex_unlock(&hsrv_listen_mutex);
	return n;
}

/* ---- devices ---- */

static int hsrv_add_one(struct ib_device *dev)
{
	return 0;
}

/*
 * A device is going away: its protection domains and memory regions with
 * it. Close the connections on it and drop the sessions bound to it; their
 * clients find a new session (and their pages lost) when they come back.
 */
static void hsrv_remove_one(struct ib_device *dev, void *data)
{
	struct hsrv_client *client, *next;
	struct hsrv_conn *conn;

	mutex_lock(&hsrv_mutex);
	list_for_each_entry(conn, &hsrv_pending, node) {
		if (conn->cm_id->device == dev)
			hsrv_conn_close(conn);
	}
	list_for_each_entry(client, &hsrv_clients, node) {
		if (client->dev != dev)
			continue;
		list_for_each_entry(conn, &client->conns, node)
			hsrv_conn_close(conn);
	}
	mutex_unlock(&hsrv_mutex);
	flush_workqueue(hsrv_wq);

	mutex_lock(&hsrv_mutex);
	list_for_each_entry_safe(client, next, &hsrv_clients, node) {
		if (client->dev != dev || WARN_ON_ONCE(client->nr_conns))
			continue;
		pr_info("device %s removed: client %*phN loses %lu chunks\n",
			dev_name(&dev->dev), 4, client->id, client->nr_chunks);
		hsrv_client_destroy(client);
	}
	mutex_unlock(&hsrv_mutex);
}

static struct ib_client hsrv_ib_client = {
	.name = "hermit_server",
	.add = hsrv_add_one,
	.remove = hsrv_remove_one,
};

static int __init hsrv_init(void)
{
	int err;

	hermit_proto_size_checks();
	hsrv_epoch = get_random_u64() ?: 1;
	/* Not ordered: one session's slow request must not queue the others'. */
	hsrv_wq = alloc_workqueue("hermit_server", WQ_MEM_RECLAIM, 0);
	if (!hsrv_wq)
		return -ENOMEM;
	err = ib_register_client(&hsrv_ib_client);
	if (err) {
		destroy_workqueue(hsrv_wq);
		hsrv_wq = NULL;
		return err;
	}
	hsrv_debugfs_init();
	if (hsrv_listen_wanted)
		mod_delayed_work(system_wq, &hsrv_listen_work, 0);
	return 0;
}

static void __exit hsrv_exit(void)
{
	struct hsrv_client *client, *next;

	hsrv_set_listen("off");
	cancel_delayed_work_sync(&hsrv_listen_work);
	debugfs_remove_recursive(hsrv_debugfs);
	ib_unregister_client(&hsrv_ib_client);
	cancel_delayed_work_sync(&hsrv_reap_work);
	mutex_lock(&hsrv_mutex);
	list_for_each_entry_safe(client, next, &hsrv_clients, node)
		hsrv_client_destroy(client);
	mutex_unlock(&hsrv_mutex);
	destroy_workqueue(hsrv_wq);
}

late_initcall(hsrv_init);
module_exit(hsrv_exit);

MODULE_DESCRIPTION("Hermit memory server: lend memory to Hermit RDMA clients");
MODULE_LICENSE("GPL");

