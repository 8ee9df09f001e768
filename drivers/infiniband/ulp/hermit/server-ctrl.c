// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit memory server: the chunks it lends and the control messages that
 * ask for them; see server.c for the design.
 */

#define pr_fmt(fmt) "hermit_server: " fmt

#include "server.h"

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

void hsrv_reg_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hsrv_conn *conn = container_of(wc->wr_cqe, struct hsrv_conn, reg_cqe);

	conn->reg_status = wc->status == IB_WC_SUCCESS ? 0 : -EIO;
	complete(&conn->reg_done);
}

void hsrv_conn_close(struct hsrv_conn *conn)
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
	/* 2 MiB is order 9 with 4 KiB pages, less with larger ones. */
	unsigned int order = min3(9U, (unsigned int)MAX_PAGE_ORDER,
				  (unsigned int)ilog2(HSRV_CHUNK_BYTES >> PAGE_SHIFT));
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
		cond_resched();
	}
}

/* The session is done: no connection is left. Called with hsrv_mutex. */
void hsrv_client_destroy(struct hsrv_client *client)
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

struct hsrv_client *hsrv_client_find(const u8 *id)
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

void hsrv_tx_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hsrv_conn *conn = container_of(wc->wr_cqe, struct hsrv_conn, tx_cqe);

	conn->tx_status = wc->status == IB_WC_SUCCESS ? 0 : -EIO;
	complete(&conn->tx_done);
}

int hsrv_post_recv(struct hsrv_rx *rx)
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

void hsrv_rx_done(struct ib_cq *cq, struct ib_wc *wc)
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

void hsrv_rx_work(struct work_struct *work)
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

