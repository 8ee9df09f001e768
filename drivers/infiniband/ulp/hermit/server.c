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

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <crypto/utils.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include "hermit_rdma.h"

#define HSRV_CHUNK_BYTES	HERMIT_PROTO_CHUNK_BYTES
#define HSRV_RX_DEPTH		8
#define HSRV_MAX_CLIENTS	256
#define HSRV_MAX_CONNS		(1 + 3 * HERMIT_MAX_QUEUE_SETS)	/* of one client */
#define HSRV_MAX_ALL_CONNS	8192		/* of all clients */
#define HSRV_MAX_PENDING	64		/* control conns before HELLO */
#define HSRV_TIMEOUT		(10 * HZ)	/* for a reply, a HELLO */
#define HSRV_CHUNK_KEY(area, chunk)	(((unsigned long)(area) << 36) | (chunk))

struct hsrv_chunk {
	u32 area;
	u64 index;
	struct ib_mr *mr;
	struct sg_table sgt;
	int nents;
	unsigned int order;
};

struct hsrv_conn;

struct hsrv_client {
	struct list_head node;
	u8 id[HERMIT_CLIENT_ID_LEN];
	u64 session;
	u8 secret[HERMIT_MAC_LEN];	/* derived in the handshake, never sent */
	u64 data_counter;		/* the last one a data connect used */
	struct ib_device *dev;
	struct ib_pd *pd;		/* of the data connections and chunks */
	struct xarray chunks;
	unsigned long nr_chunks;
	struct list_head conns;
	unsigned int nr_conns;
	struct hsrv_conn *ctrl;
	unsigned long lost_at;	/* jiffies when the control connection went */
	u64 reads, writes;	/* pages, as the client last reported */
	struct mutex lock;	/* requests, chunks, nr_chunks */
};

struct hsrv_rx {
	struct ib_cqe cqe;
	struct hsrv_conn *conn;
	struct hermit_msg *msg;
	u64 dma;
	u32 bytes;
	struct list_head node;
};

struct hsrv_conn {
	struct list_head node;
	struct rdma_cm_id *cm_id;
	struct hsrv_client *client;	/* NULL: a control conn before HELLO */
	struct ib_pd *pd;		/* of the QP: the session's, or own */
	struct ib_cq *cq;
	u8 queue;
	u8 id[HERMIT_CLIENT_ID_LEN];	/* as the connect request said */
	bool established;
	unsigned long last_rx;		/* jiffies of the last request */
	unsigned long closing;
	struct work_struct release_work;
	struct ib_cqe reg_cqe;		/* a chunk's registration */
	struct completion reg_done;
	int reg_status;
	/* Control connections only. */
	u8 client_nonce[HERMIT_NONCE_LEN];
	u8 server_nonce[HERMIT_NONCE_LEN];
	struct hsrv_rx rx[HSRV_RX_DEPTH];
	struct hermit_msg *bufs;
	u64 bufs_dma;
	struct hermit_msg *tx;
	u64 tx_dma;
	struct ib_cqe tx_cqe;
	struct completion tx_done;
	int tx_status;
	spinlock_t rx_lock;		/* protects rx_ready */
	struct list_head rx_ready;
	struct work_struct rx_work;
};

static DEFINE_MUTEX(hsrv_mutex);
static LIST_HEAD(hsrv_clients);
static LIST_HEAD(hsrv_pending);		/* control conns before HELLO */
static unsigned int hsrv_nr_pending;
static unsigned int hsrv_nr_clients;
static unsigned int hsrv_nr_conns;	/* of all clients */
static u64 hsrv_epoch;
static unsigned long hsrv_capacity;	/* bytes; 0: half of RAM */
static unsigned long hsrv_quota;	/* bytes per client; 0: no limit */
static atomic_long_t hsrv_used;		/* bytes granted */
static unsigned int hsrv_grace = 300;	/* seconds */
static struct workqueue_struct *hsrv_wq;

static struct {
	atomic_long_t allocs, frees, refused_full, refused_quota, alloc_errors;
} hsrv_chunk_stats;
/* The shared key; no key: every client is welcome. */
static struct hermit_key hsrv_key = HERMIT_KEY_INIT(hsrv_key);

static struct {
	unsigned long rejected, connects, disconnects, expired, auth_failures;
	u64 reads, writes;	/* reported by sessions that are gone */
} hsrv_stats;
static atomic_long_t hsrv_bad_messages;

/* Listening: the address asked for, and the id once bound. */
static DEFINE_MUTEX(hsrv_listen_mutex);
static struct sockaddr_storage hsrv_listen_addr;
static bool hsrv_listen_wanted;
static struct rdma_cm_id *hsrv_listen_id;
static void hsrv_listen_retry(struct work_struct *work);
static DECLARE_DELAYED_WORK(hsrv_listen_work, hsrv_listen_retry);
static void hsrv_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(hsrv_reap_work, hsrv_reap);

static unsigned long hsrv_capacity_bytes(void)
{
	return hsrv_capacity ?: (totalram_pages() << PAGE_SHIFT) / 2;
}

/* ---- chunks ---- */

static void hsrv_chunk_free(struct hsrv_client *client, struct hsrv_chunk *c)
{
	struct scatterlist *sg;
	int i;

	if (c->mr)
		ib_dereg_mr(c->mr);
	if (c->nents)
		ib_dma_unmap_sg(client->dev, c->sgt.sgl, c->sgt.orig_nents,
				DMA_BIDIRECTIONAL);
	for_each_sgtable_sg(&c->sgt, sg, i) {
		if (sg_page(sg))
			__free_pages(sg_page(sg), c->order);
	}
	sg_free_table(&c->sgt);
	kfree(c);
	atomic_long_sub(HSRV_CHUNK_BYTES, &hsrv_used);
	client->nr_chunks--;
}

static void hsrv_reg_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hsrv_conn *conn = container_of(wc->wr_cqe, struct hsrv_conn, reg_cqe);

	conn->reg_status = wc->status == IB_WC_SUCCESS ? 0 : -EIO;
	complete(&conn->reg_done);
}

static void hsrv_conn_close(struct hsrv_conn *conn)
{
	if (!test_and_set_bit(0, &conn->closing))
		queue_work(hsrv_wq, &conn->release_work);
}

/*
 * Give up on a connection whose work request never completed: the error
 * state flushes it at once (an iWARP disconnect alone waits for the peer),
 * and the connection goes. Its QP must not be released meanwhile.
 */
static void hsrv_conn_kill(struct hsrv_conn *conn)
{
	struct ib_qp_attr attr = { .qp_state = IB_QPS_ERR };

	ib_modify_qp(conn->cm_id->qp, &attr, IB_QP_STATE);
	rdma_disconnect(conn->cm_id);
	hsrv_conn_close(conn);
}

/*
 * A data connection of @client to post a registration on: a queue pair in
 * the session's protection domain (the control connection's is not). The
 * server never posts anything else there. Called with client->lock, which
 * the connection's release waits for once it cannot be found any more.
 */
static struct hsrv_conn *hsrv_reg_conn(struct hsrv_client *client)
{
	struct hsrv_conn *conn, *found = NULL;
	int tries;

	lockdep_assert_held(&client->lock);
	/* The client's first data queue may be a moment from established. */
	for (tries = 0; !found && tries < 50; tries++) {
		if (tries)
			msleep(20);
		mutex_lock(&hsrv_mutex);
		list_for_each_entry(conn, &client->conns, node) {
			if (conn->queue != HERMIT_Q_CTRL && conn->established &&
			    !test_bit(0, &conn->closing)) {
				found = conn;
				break;
			}
		}
		mutex_unlock(&hsrv_mutex);
	}
	return found;
}

/*
 * Zeroed memory for one chunk, registered for remote read and write in the
 * client's protection domain. The memory is built of the largest blocks the
 * device's page list and the page allocator allow.
 */
static struct hsrv_chunk *hsrv_chunk_create(struct hsrv_client *client,
					    u32 area, u64 index)
{
	struct hsrv_conn *conn = hsrv_reg_conn(client);
	struct ib_device *dev = client->dev;
	unsigned int max_sg = dev->attrs.max_fast_reg_page_list_len;
	unsigned int order = min_t(unsigned int, 9, MAX_PAGE_ORDER);
	const struct ib_send_wr *bad;
	struct ib_reg_wr wr = {};
	struct scatterlist *sg;
	struct hsrv_chunk *c;
	unsigned int nr, i;
	int ret = -ENOMEM;

	if (!conn)
		return ERR_PTR(-ENOTCONN);
	if (READ_ONCE(hsrv_quota) &&
	    (client->nr_chunks + 1) * HSRV_CHUNK_BYTES > READ_ONCE(hsrv_quota))
		return ERR_PTR(-EDQUOT);
	if (atomic_long_add_return(HSRV_CHUNK_BYTES, &hsrv_used) >
	    hsrv_capacity_bytes()) {
		atomic_long_sub(HSRV_CHUNK_BYTES, &hsrv_used);
		return ERR_PTR(-ENOSPC);
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		atomic_long_sub(HSRV_CHUNK_BYTES, &hsrv_used);
		return ERR_PTR(-ENOMEM);
	}
	c->area = area;
	c->index = index;
	client->nr_chunks++;
	for (;; order--) {
		nr = HSRV_CHUNK_BYTES >> (PAGE_SHIFT + order);
		if (nr > max_sg || !(dev->attrs.page_size_cap & (PAGE_SIZE << order)))
			goto out;
		c->order = order;
		if (sg_alloc_table(&c->sgt, nr, GFP_KERNEL))
			goto out;
		for_each_sgtable_sg(&c->sgt, sg, i) {
			struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO |
							__GFP_NOWARN | __GFP_NORETRY,
							order);

			if (!page)
				break;
			sg_set_page(sg, page, PAGE_SIZE << order, 0);
		}
		if (i == nr)
			break;
		for_each_sgtable_sg(&c->sgt, sg, i) {
			if (sg_page(sg))
				__free_pages(sg_page(sg), order);
		}
		sg_free_table(&c->sgt);
		if (!order)
			goto out;
	}
	c->nents = ib_dma_map_sg(dev, c->sgt.sgl, nr, DMA_BIDIRECTIONAL);
	if (c->nents <= 0) {
		c->nents = 0;
		goto out;
	}
	/*
	 * Room for every block: an IOMMU may merge them into fewer DMA
	 * segments, which the MR's page list still describes block by block.
	 */
	c->mr = ib_alloc_mr(client->pd, IB_MR_TYPE_MEM_REG, nr);
	if (IS_ERR(c->mr)) {
		ret = PTR_ERR(c->mr);
		c->mr = NULL;
		goto out;
	}
	/* Zero-based: a grant tells the client nothing of our addresses. */
	if (ib_map_mr_sg_zbva(c->mr, c->sgt.sgl, c->nents, NULL,
			      PAGE_SIZE << order) != c->nents) {
		ret = -EINVAL;
		goto out;
	}
	ib_update_fast_reg_key(c->mr, ib_inc_rkey(c->mr->rkey));
	wr.wr.opcode = IB_WR_REG_MR;
	wr.wr.wr_cqe = &conn->reg_cqe;
	wr.wr.send_flags = IB_SEND_SIGNALED;
	wr.mr = c->mr;
	wr.key = c->mr->rkey;
	wr.access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_READ |
		    IB_ACCESS_REMOTE_WRITE;
	reinit_completion(&conn->reg_done);
	ret = ib_post_send(conn->cm_id->qp, &wr.wr, &bad);
	if (ret)
		goto out;
	if (!wait_for_completion_timeout(&conn->reg_done, HSRV_TIMEOUT)) {
		/* The work request still owns the MR: drop the connection. */
		hsrv_conn_kill(conn);
		wait_for_completion(&conn->reg_done);
		ret = -ETIMEDOUT;
		goto out;
	}
	ret = conn->reg_status;
	if (!ret && c->mr->length != HSRV_CHUNK_BYTES)
		ret = -EINVAL;
	if (!ret)
		return c;
out:
	hsrv_chunk_free(client, c);
	return ERR_PTR(ret);
}

static void hsrv_client_free_chunks(struct hsrv_client *client)
{
	struct hsrv_chunk *c;
	unsigned long key;

	xa_for_each(&client->chunks, key, c) {
		xa_erase(&client->chunks, key);
		hsrv_chunk_free(client, c);
	}
}

/* The session is done: no connection is left. Called with hsrv_mutex. */
static void hsrv_client_destroy(struct hsrv_client *client)
{
	WARN_ON_ONCE(client->nr_conns);
	hsrv_client_free_chunks(client);
	xa_destroy(&client->chunks);
	mutex_destroy(&client->lock);
	ib_dealloc_pd(client->pd);
	hsrv_stats.reads += client->reads;
	hsrv_stats.writes += client->writes;
	list_del(&client->node);
	hsrv_nr_clients--;
	kfree(client);
	/*
	 * Every caller runs in a context that hsrv_exit() waits for (our
	 * workqueues, the ib client's remove, a debugfs write), so the code
	 * after this put cannot outlive the module.
	 */
	module_put(THIS_MODULE);
}

static struct hsrv_client *hsrv_client_find(const u8 *id)
{
	struct hsrv_client *client;

	list_for_each_entry(client, &hsrv_clients, node) {
		if (!memcmp(client->id, id, HERMIT_CLIENT_ID_LEN))
			return client;
	}
	return NULL;
}

static struct hsrv_client *hsrv_client_new(const u8 *id, struct ib_device *dev)
{
	struct hsrv_client *client;

	if (hsrv_nr_clients >= HSRV_MAX_CLIENTS)
		return ERR_PTR(-EUSERS);
	/* The module is on its way out. */
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ESHUTDOWN);
	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOMEM);
	}
	client->pd = ib_alloc_pd(dev, 0);
	if (IS_ERR(client->pd)) {
		int err = PTR_ERR(client->pd);

		kfree(client);
		module_put(THIS_MODULE);
		return ERR_PTR(err);
	}
	memcpy(client->id, id, HERMIT_CLIENT_ID_LEN);
	client->dev = dev;
	client->session = get_random_u64() ?: 1;
	xa_init(&client->chunks);
	mutex_init(&client->lock);
	INIT_LIST_HEAD(&client->conns);
	list_add_tail(&client->node, &hsrv_clients);
	hsrv_nr_clients++;
	return client;
}

/* ---- control messages ---- */

static void hsrv_tx_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hsrv_conn *conn = container_of(wc->wr_cqe, struct hsrv_conn, tx_cqe);

	conn->tx_status = wc->status == IB_WC_SUCCESS ? 0 : -EIO;
	complete(&conn->tx_done);
}

static int hsrv_post_recv(struct hsrv_rx *rx)
{
	struct hsrv_conn *conn = rx->conn;
	struct ib_sge sge = {
		.addr = rx->dma,
		.length = sizeof(*rx->msg),
		.lkey = conn->pd->local_dma_lkey,
	};
	struct ib_recv_wr wr = { .wr_cqe = &rx->cqe, .sg_list = &sge, .num_sge = 1 };

	ib_dma_sync_single_for_device(conn->cm_id->device, rx->dma,
				      sizeof(*rx->msg), DMA_FROM_DEVICE);
	return ib_post_recv(conn->cm_id->qp, &wr, NULL);
}

static void hsrv_rx_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hsrv_rx *rx = container_of(wc->wr_cqe, struct hsrv_rx, cqe);
	struct hsrv_conn *conn = rx->conn;

	if (wc->status != IB_WC_SUCCESS) {
		/* Flushed: closing. Anything else: e.g. an oversized message. */
		if (wc->status != IB_WC_WR_FLUSH_ERR) {
			atomic_long_inc(&hsrv_bad_messages);
			pr_warn_ratelimited("client %*phN: receive failed (%s), closing its connection\n",
					    4, conn->id,
					    ib_wc_status_msg(wc->status));
			hsrv_conn_close(conn);
		}
		return;
	}
	rx->bytes = wc->byte_len;
	spin_lock_bh(&conn->rx_lock);
	list_add_tail(&rx->node, &conn->rx_ready);
	spin_unlock_bh(&conn->rx_lock);
	queue_work(hsrv_wq, &conn->rx_work);
}

/* Send the reply in conn->tx and wait for it; false when that failed. */
static bool hsrv_send_reply(struct hsrv_conn *conn)
{
	const struct ib_send_wr *bad;
	struct ib_sge sge = {
		.addr = conn->tx_dma,
		.length = sizeof(*conn->tx),
		.lkey = conn->pd->local_dma_lkey,
	};
	struct ib_send_wr wr = {
		.wr_cqe = &conn->tx_cqe,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IB_WR_SEND,
		.send_flags = IB_SEND_SIGNALED,
	};

	ib_dma_sync_single_for_device(conn->cm_id->device, conn->tx_dma, sizeof(*conn->tx),
				      DMA_TO_DEVICE);
	reinit_completion(&conn->tx_done);
	if (ib_post_send(conn->cm_id->qp, &wr, &bad))
		return false;
	if (!wait_for_completion_timeout(&conn->tx_done, HSRV_TIMEOUT)) {
		hsrv_conn_kill(conn);
		wait_for_completion(&conn->tx_done);
		return false;
	}
	return !conn->tx_status;
}

/*
 * Which session a HELLO joins, checked against its proof; called with
 * hsrv_mutex. A known session is resumed only by its secret and is never
 * replaced by a client that does not know it: a new session for an id
 * already in use needs the shared key and that session's connections gone.
 */
static struct hsrv_client *hsrv_hello_session(struct hsrv_conn *conn,
					      const struct hermit_hello *h,
					      const u8 *key, int klen)
{
	struct hsrv_client *client = hsrv_client_find(conn->id);
	u8 mac[HERMIT_MAC_LEN];
	struct hsrv_conn *old;
	bool bad;

	lockdep_assert_held(&hsrv_mutex);
	if (le32_to_cpu(h->flags) & HERMIT_REP_RESUMED) {
		if (!client || client->dev != conn->cm_id->device ||
		    client->session != le64_to_cpu(h->session))
			return ERR_PTR(-EACCES);
		hermit_mac(client->secret, HERMIT_MAC_LEN, HERMIT_MAC_RESUME_CLIENT,
			   conn->client_nonce, conn->server_nonce, conn->id,
			   client->session, mac);
		bad = crypto_memneq(mac, h->mac, HERMIT_MAC_LEN);
		memzero_explicit(mac, sizeof(mac));
		if (bad)
			return ERR_PTR(-EACCES);
		/* The old connections' peer may be gone unnoticed: close them. */
		list_for_each_entry(old, &client->conns, node) {
			rdma_disconnect(old->cm_id);
			hsrv_conn_close(old);
		}
		return client;
	}
	if (klen) {
		hermit_mac(key, klen, HERMIT_MAC_CLIENT, conn->client_nonce,
			   conn->server_nonce, conn->id, 0, mac);
		bad = crypto_memneq(mac, h->mac, HERMIT_MAC_LEN);
		memzero_explicit(mac, sizeof(mac));
		if (bad)
			return ERR_PTR(-EACCES);
	}
	if (client) {
		if (!klen)
			return ERR_PTR(-EBUSY);	/* until the session expires */
		list_for_each_entry(old, &client->conns, node)
			hsrv_conn_close(old);
		if (client->nr_conns)
			return ERR_PTR(-EBUSY);	/* the client retries */
		pr_info("client %*phN starts anew: its %lu chunks are dropped\n",
			4, client->id, client->nr_chunks);
		hsrv_client_destroy(client);
	}
	client = hsrv_client_new(conn->id, conn->cm_id->device);
	if (IS_ERR(client))
		return client;
	hermit_mac(key, klen, HERMIT_MAC_SECRET, conn->client_nonce,
		   conn->server_nonce, conn->id, client->session, client->secret);
	return client;
}

/*
 * The first message of a control connection: the client's proof. On
 * success the connection joins its session and the server proves itself
 * in the WELCOME; otherwise the connection is closed. False when closed.
 */
static bool hsrv_hello(struct hsrv_conn *conn, struct hsrv_rx *rx)
{
	struct hermit_hello *h = (struct hermit_hello *)rx->msg;
	struct hermit_hello *r = (struct hermit_hello *)conn->tx;
	struct hsrv_client *client;
	u8 key[HERMIT_KEY_MAX];
	bool resume;
	int klen, err;

	ib_dma_sync_single_for_cpu(conn->cm_id->device, rx->dma, sizeof(*h), DMA_FROM_DEVICE);
	err = hermit_hello_check(h, rx->bytes, HERMIT_MSG_HELLO);
	if (err) {
		atomic_long_inc(&hsrv_bad_messages);
		pr_warn_ratelimited("client %*phN: bad message before HELLO (%d), closing its connection\n",
				    4, conn->id, err);
		return false;
	}
	resume = le32_to_cpu(h->flags) & HERMIT_REP_RESUMED;
	klen = hermit_key_get(&hsrv_key, key);
	mutex_lock(&hsrv_mutex);
	client = hsrv_hello_session(conn, h, key, klen);
	if (IS_ERR(client)) {
		err = PTR_ERR(client);
		if (err == -EACCES)
			hsrv_stats.auth_failures++;
		mutex_unlock(&hsrv_mutex);
		memzero_explicit(key, sizeof(key));
		pr_info_ratelimited("client %*phN from %pISc: %s refused (%d)\n",
				    4, conn->id, &conn->cm_id->route.addr.dst_addr,
				    resume ? "resuming its session" : "a new session",
				    err);
		return false;
	}
	list_move_tail(&conn->node, &client->conns);
	hsrv_nr_pending--;
	conn->client = client;
	client->nr_conns++;
	client->ctrl = conn;
	hsrv_stats.connects++;
	WRITE_ONCE(conn->last_rx, jiffies);

	hermit_hello_init(r, HERMIT_MSG_WELCOME, le64_to_cpu(h->tag), resume,
			  client->session);
	if (resume)
		hermit_mac(client->secret, HERMIT_MAC_LEN, HERMIT_MAC_RESUME_SERVER,
			   conn->client_nonce, conn->server_nonce, conn->id,
			   client->session, r->mac);
	else if (klen)
		hermit_mac(key, klen, HERMIT_MAC_SERVER, conn->client_nonce,
			   conn->server_nonce, conn->id, client->session, r->mac);
	pr_info_ratelimited("client %*phN connected from %pISc: %s session %llx%s\n",
			    4, client->id, &conn->cm_id->route.addr.dst_addr,
			    resume ? "resumed" : "new", client->session,
			    klen ? ", authenticated" : "");
	mutex_unlock(&hsrv_mutex);
	memzero_explicit(key, sizeof(key));
	return hsrv_send_reply(conn);
}

/* Answer one request; false when the message was bad. */
static bool hsrv_handle(struct hsrv_conn *conn, struct hsrv_rx *rx)
{
	struct hsrv_client *client = conn->client;
	struct hermit_msg *m = rx->msg, *r = conn->tx;
	struct hsrv_chunk *c;
	u32 area, status = 0;
	u64 index;
	int err;

	ib_dma_sync_single_for_cpu(client->dev, rx->dma, sizeof(*m), DMA_FROM_DEVICE);
	err = hermit_msg_check(m, rx->bytes, true);
	if (err) {
		atomic_long_inc(&hsrv_bad_messages);
		pr_warn_ratelimited("client %*phN: bad message (%d), closing its connection\n",
				    4, client->id, err);
		return false;
	}
	area = le32_to_cpu(m->area);
	index = le64_to_cpu(m->chunk);
	WRITE_ONCE(conn->last_rx, jiffies);
	if (m->type == HERMIT_MSG_PING) {
		/* Counts only grow within a session; a lower one is ignored. */
		client->reads = max(client->reads, le64_to_cpu(m->addr));
		client->writes = max(client->writes, le64_to_cpu(m->length));
		hermit_msg_init(r, HERMIT_MSG_PONG, le64_to_cpu(m->tag), area, index);
	} else if (m->type == HERMIT_MSG_ALLOC) {
		hermit_msg_init(r, HERMIT_MSG_GRANT, le64_to_cpu(m->tag), area, index);
		c = xa_load(&client->chunks, HSRV_CHUNK_KEY(area, index));
		if (!c) {
			c = hsrv_chunk_create(client, area, index);
			if (PTR_ERR_OR_ZERO(c) == -ENOSPC) {
				atomic_long_inc(&hsrv_chunk_stats.refused_full);
				status = ENOSPC;
				c = NULL;
			} else if (PTR_ERR_OR_ZERO(c) == -EDQUOT) {
				/* The client stores elsewhere, as when full. */
				atomic_long_inc(&hsrv_chunk_stats.refused_quota);
				status = ENOSPC;
				c = NULL;
			} else if (IS_ERR(c)) {
				atomic_long_inc(&hsrv_chunk_stats.alloc_errors);
				status = PTR_ERR(c) == -ENOMEM ? ENOSPC : EIO;
				c = NULL;
			} else if (xa_err(xa_store(&client->chunks,
						   HSRV_CHUNK_KEY(area, index),
						   c, GFP_KERNEL))) {
				hsrv_chunk_free(client, c);
				status = ENOSPC;
				c = NULL;
			} else {
				atomic_long_inc(&hsrv_chunk_stats.allocs);
			}
		}
		if (c) {
			r->addr = cpu_to_le64(c->mr->iova);
			r->length = cpu_to_le64(c->mr->length);
			r->rkey = cpu_to_le32(c->mr->rkey);
		}
	} else {	/* HERMIT_MSG_FREE */
		hermit_msg_init(r, HERMIT_MSG_FREED, le64_to_cpu(m->tag), area, index);
		c = xa_erase(&client->chunks, HSRV_CHUNK_KEY(area, index));
		if (c) {
			hsrv_chunk_free(client, c);
			atomic_long_inc(&hsrv_chunk_stats.frees);
		} else {
			status = ENOENT;
		}
	}
	r->status = cpu_to_le32(status);
	return hsrv_send_reply(conn);
}

static void hsrv_rx_work(struct work_struct *work)
{
	struct hsrv_conn *conn = container_of(work, struct hsrv_conn, rx_work);
	struct hsrv_rx *rx;
	bool ok;
	int i;

	for (;;) {
		spin_lock_bh(&conn->rx_lock);
		rx = list_first_entry_or_null(&conn->rx_ready, struct hsrv_rx, node);
		if (rx)
			list_del(&rx->node);
		spin_unlock_bh(&conn->rx_lock);
		if (!rx || test_bit(0, &conn->closing))
			return;
		if (!conn->client) {
			ok = hsrv_hello(conn, rx);
		} else {
			mutex_lock(&conn->client->lock);
			ok = hsrv_handle(conn, rx);
			mutex_unlock(&conn->client->lock);
		}
		if (!ok || hsrv_post_recv(rx)) {
			/*
			 * A peer that sent at once may not be established here
			 * yet; a disconnect before that would not reach it.
			 */
			for (i = 0; i < 100 && !READ_ONCE(conn->established); i++)
				msleep(20);
			rdma_disconnect(conn->cm_id);
			hsrv_conn_close(conn);
			return;
		}
	}
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
static int hsrv_set_listen(const char *s)
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

static const struct file_operations hsrv_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = hsrv_reset_write,
	.llseek = default_llseek,
};

static int hsrv_listen_show(char *buf, size_t size)
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

static struct dentry *hsrv_debugfs;

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

static void hsrv_debugfs_init(void)
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
