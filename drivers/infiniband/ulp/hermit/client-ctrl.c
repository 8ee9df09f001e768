// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit RDMA client: the control path. Requests and replies on the
 * control connection (the handshake, chunk grants, FREEs and PINGs), one at
 * a time under s->ctrl_mutex; see client.c for the design.
 */

#define pr_fmt(fmt) "hermit: rdma: " fmt

#include "client.h"

#ifdef CONFIG_HERMIT_FAULT_INJECTION
static DECLARE_FAULT_ATTR(hrc_fail_ctrl_send);

static bool hrc_ctrl_send_fails(void)
{
	return should_fail(&hrc_fail_ctrl_send, 1);
}

void hrc_fault_inject_init(struct dentry *dir)
{
	fault_create_debugfs_attr("fail_ctrl_send", dir, &hrc_fail_ctrl_send);
}
#else
static bool hrc_ctrl_send_fails(void)
{
	return false;
}

void hrc_fault_inject_init(struct dentry *dir) {}
#endif

static void hrc_ctrl_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hrc_req *req = container_of(wc->wr_cqe, struct hrc_req, cqe);
	struct hrc_queue *q = cq->cq_context;

	req->status = wc->status;
	/* A failed control transfer means a dead queue pair: rebuild. */
	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		hrc_conn_error(q->srv);
	complete(&req->done);
}

/*
 * Send the message in bufs[1] on the control connection and receive the
 * reply into bufs[0]. Called with ctrl_mutex held, and rwsem for reading
 * or the state CONNECTING.
 */
static int hrc_ctrl_xfer(struct hrc_server *s)
{
	struct hrc_req rx = { .cqe.done = hrc_ctrl_done };
	struct hrc_req tx = { .cqe.done = hrc_ctrl_done };
	const struct hermit_msg *m = &s->bufs[1];
	struct ib_sge rsge = {
		.addr = s->bufs_dma,
		.length = sizeof(*m),
		.lkey = s->pd->local_dma_lkey,
	};
	struct ib_sge tsge = {
		.addr = s->bufs_dma + sizeof(*m),
		.length = sizeof(*m),
		.lkey = s->pd->local_dma_lkey,
	};
	struct ib_recv_wr rwr = { .wr_cqe = &rx.cqe, .sg_list = &rsge, .num_sge = 1 };
	struct ib_send_wr swr = {
		.wr_cqe = &tx.cqe,
		.sg_list = &tsge,
		.num_sge = 1,
		.opcode = IB_WR_SEND,
		.send_flags = IB_SEND_SIGNALED,
	};
	struct ib_qp *qp = s->ctrl.cm_id->qp;
	int err;

	lockdep_assert_held(&s->ctrl_mutex);
	init_completion(&rx.done);
	init_completion(&tx.done);
	ib_dma_sync_single_for_device(s->dev, s->bufs_dma, 2 * sizeof(*m),
				      DMA_BIDIRECTIONAL);
	err = ib_post_recv(qp, &rwr, NULL);
	if (err)
		goto broken;
	err = hrc_ctrl_send_fails() ? -EIO : ib_post_send(qp, &swr, NULL);
	/*
	 * The receive is posted and its cqe lives on this stack: when the
	 * send failed or no reply comes, flush it before returning.
	 */
	if (err || !wait_for_completion_timeout(&rx.done, HRC_CTRL_TIMEOUT)) {
		hrc_conn_error(s);
		hrc_queue_kill(&s->ctrl);
		wait_for_completion(&rx.done);
	}
	if (err)
		return -ECONNRESET;
	wait_for_completion(&tx.done);
	if (rx.status != IB_WC_SUCCESS || tx.status != IB_WC_SUCCESS)
		return -ECONNRESET;
	ib_dma_sync_single_for_cpu(s->dev, s->bufs_dma, sizeof(*m),
				   DMA_BIDIRECTIONAL);
	return 0;
broken:
	hrc_conn_error(s);
	return -ECONNRESET;
}

/*
 * A control request and its reply. Called with rwsem held for reading and
 * ctrl_mutex held.
 */
static int __hrc_ctrl_call(struct hrc_server *s, u8 type, u32 area, u64 index,
			   struct hermit_msg *reply)
{
	struct hermit_msg *m = &s->bufs[1];
	u64 tag = ++s->tag;
	int err;

	hermit_msg_init(m, type, tag, area, index);
	if (type == HERMIT_MSG_PING) {
		m->addr = cpu_to_le64(atomic_long_read(&s->reads) -
				      s->sess_reads0);
		m->length = cpu_to_le64(atomic_long_read(&s->writes) -
					s->sess_writes0);
	}
	err = hrc_ctrl_xfer(s);
	if (err)
		return err;
	memcpy(reply, &s->bufs[0], sizeof(*reply));
	err = hermit_msg_check(reply, sizeof(*reply), false);
	/* Every reply type follows its request type. */
	if (!err && (le64_to_cpu(reply->tag) != tag || reply->type != type + 1))
		err = -EPROTO;
	if (err) {
		pr_err_ratelimited("bad reply from the server: %d\n", err);
		hrc_conn_error(s);
	}
	return err;
}

/*
 * The handshake on a new control connection: resume our session when the
 * server still has it (proving its secret), else start one (proving the
 * key, if we have one); then check the server's proof. Sets the session and
 * secret that the data queues present. The state is CONNECTING.
 */
int hrc_hello(struct hrc_server *s, bool *resumed)
{
	const struct hermit_conn_rep *rep = &s->ctrl.rep;
	struct hermit_hello *h = (struct hermit_hello *)&s->bufs[1];
	struct hermit_hello *w = (struct hermit_hello *)&s->bufs[0];
	u32 flags = le32_to_cpu(rep->flags);
	u8 key[HERMIT_KEY_MAX], mac[HERMIT_MAC_LEN];
	int klen = hermit_key_get(&hrc_key, key);
	u64 tag, session;
	bool resume;
	int err;

	/* A session is resumed by its secret, whatever the keys are now. */
	resume = (flags & HERMIT_REP_RESUMED) && s->session &&
		 le64_to_cpu(rep->epoch) == s->epoch &&
		 le64_to_cpu(rep->session) == s->session;
	err = -EACCES;
	if (!resume && klen && !(flags & HERMIT_REP_AUTH)) {
		pr_err_ratelimited("server %pISpc has no key, so it cannot prove ours: refused\n",
				   &s->addr);
		goto out;
	}
	if (!resume && !klen && (flags & HERMIT_REP_AUTH)) {
		pr_err_ratelimited("server %pISpc requires a key (hermit.key)\n",
				   &s->addr);
		goto out;
	}
	tag = ++s->tag;
	hermit_hello_init(h, HERMIT_MSG_HELLO, tag, resume,
			  resume ? s->session : 0);
	if (resume) {
		hermit_mac(s->secret, HERMIT_MAC_LEN, HERMIT_MAC_RESUME_CLIENT,
			   s->nonce, rep->nonce, hrc_id, s->session, h->mac);
	} else if (klen) {
		hermit_mac(key, klen, HERMIT_MAC_CLIENT, s->nonce, rep->nonce,
			   hrc_id, 0, h->mac);
	}
	mutex_lock(&s->ctrl_mutex);
	err = hrc_ctrl_xfer(s);
	mutex_unlock(&s->ctrl_mutex);
	if (err)
		goto out;
	err = hermit_hello_check(w, sizeof(*w), HERMIT_MSG_WELCOME);
	session = le64_to_cpu(w->session);
	if (!err && (le64_to_cpu(w->tag) != tag || !session ||
		     !!(le32_to_cpu(w->flags) & HERMIT_REP_RESUMED) != resume ||
		     (resume && session != s->session)))
		err = -EPROTO;
	if (err) {
		pr_err_ratelimited("bad WELCOME from the server: %d\n", err);
		goto out;
	}
	if (resume)
		hermit_mac(s->secret, HERMIT_MAC_LEN, HERMIT_MAC_RESUME_SERVER,
			   s->nonce, rep->nonce, hrc_id, session, mac);
	else if (klen)
		hermit_mac(key, klen, HERMIT_MAC_SERVER, s->nonce, rep->nonce,
			   hrc_id, session, mac);
	if ((resume || klen) && crypto_memneq(mac, w->mac, HERMIT_MAC_LEN)) {
		pr_err_ratelimited("server %pISpc failed to prove the %s: refused\n",
				   &s->addr, resume ? "session's secret" : "key");
		err = -EACCES;
		goto out;
	}
	s->next_session = session;
	if (resume)
		memcpy(s->next_secret, s->secret, HERMIT_MAC_LEN);
	else
		hermit_mac(key, klen, HERMIT_MAC_SECRET, s->nonce, rep->nonce,
			   hrc_id, session, s->next_secret);
	*resumed = resume;
out:
	memzero_explicit(key, sizeof(key));
	memzero_explicit(mac, sizeof(mac));
	return err;
}

/* Forget a deferred FREE of a chunk that is asked for again. */
static void hrc_pending_free_cancel(struct hrc_server *s, u32 area, u64 index)
{
	struct hrc_pending_free *p, *n;

	list_for_each_entry_safe(p, n, &s->pending_frees, node) {
		if (p->area == area && p->index == index) {
			list_del(&p->node);
			kfree(p);
			atomic_long_dec(&hrc_stats.frees_pending);
		}
	}
}

/* As __hrc_ctrl_call(). Called with rwsem held for reading. */
int hrc_ctrl_call(struct hrc_server *s, u8 type, u32 area, u64 index,
		  struct hermit_msg *reply)
{
	int err;

	mutex_lock(&s->ctrl_mutex);
	/* The server re-grants a chunk it still has: no FREE may follow. */
	if (type == HERMIT_MSG_ALLOC)
		hrc_pending_free_cancel(s, area, index);
	err = __hrc_ctrl_call(s, type, area, index, reply);
	mutex_unlock(&s->ctrl_mutex);
	return err;
}

/*
 * Send the FREEs that waited for this session; drop those of a session the
 * server has lost (it freed their chunks itself). Called with rwsem held
 * for reading, state READY.
 */
static void hrc_send_pending_frees(struct hrc_server *s)
{
	struct hrc_pending_free *p, *n;
	struct hermit_msg reply;

	mutex_lock(&s->ctrl_mutex);
	list_for_each_entry_safe(p, n, &s->pending_frees, node) {
		if (p->gen == s->gen &&
		    __hrc_ctrl_call(s, HERMIT_MSG_FREE, p->area, p->index, &reply))
			break;
		list_del(&p->node);
		kfree(p);
		atomic_long_dec(&hrc_stats.frees_pending);
	}
	mutex_unlock(&s->ctrl_mutex);
}

/*
 * Whether @cp holds a grant of the current session of its server. A grant
 * from a session the server has lost drops every page stored under it;
 * those no other copy holds are lost pages. Called with the server's rwsem
 * held for reading.
 */
bool hrc_copy_current(struct hrc_copy *cp)
{
	struct hrc_chunk *c = cp->chunk;
	DECLARE_BITMAP(only, HERMIT_CHUNK_PAGES);
	struct hrc_server *s = cp->srv;
	bool granted;
	long lost;
	int r;

	spin_lock(&c->lock);
	if (cp->gen && cp->gen != s->gen) {
		/* Lost: the pages no other copy holds. */
		bitmap_copy(only, cp->stored, HERMIT_CHUNK_PAGES);
		for (r = 0; r < HRC_COPIES_MAX; r++)
			if (&c->copy[r] != cp && c->copy[r].srv)
				bitmap_andnot(only, only, c->copy[r].stored,
					      HERMIT_CHUNK_PAGES);
		lost = bitmap_weight(only, HERMIT_CHUNK_PAGES);
		atomic_long_add(bitmap_weight(cp->stored, HERMIT_CHUNK_PAGES),
				&s->lost);
		bitmap_zero(cp->stored, HERMIT_CHUNK_PAGES);
		cp->gen = 0;
		if (c->want > 1)
			WRITE_ONCE(c->degraded, true);
		atomic_long_add(lost, &hrc_stats.lost);
	}
	granted = cp->gen;
	spin_unlock(&c->lock);
	return granted;
}

/*
 * Make @cp usable for stores: ask its server for room unless it holds a
 * grant of the current session. Called with the server's rwsem held for
 * reading. Returns 0 or a negative errno.
 */
int hrc_copy_grant(struct hrc_copy *cp)
{
	struct hrc_chunk *c = cp->chunk;
	struct hrc_server *s = cp->srv;
	struct hermit_msg reply;
	int err;

	if (hrc_copy_current(cp))
		return 0;
	if (time_before(jiffies, READ_ONCE(s->full_until)))
		return -ENOSPC;

	err = hrc_ctrl_call(s, HERMIT_MSG_ALLOC, c->area, c->index, &reply);
	if (!err)
		err = hermit_grant_check(&reply, c->area, c->index, HRC_CHUNK_BYTES);
	if (err == -ENOSPC) {
		atomic_long_inc(&hrc_stats.refused);
		WRITE_ONCE(s->full_until, jiffies + HZ);
	}
	if (err)
		return err;
	spin_lock(&c->lock);
	cp->addr = le64_to_cpu(reply.addr);
	cp->rkey = le32_to_cpu(reply.rkey);
	cp->gen = s->gen;
	spin_unlock(&c->lock);
	atomic_long_inc(&hrc_stats.grants);
	return 0;
}

/*
 * Stores and prefetches are not waited for: one posted HRC_IO_TIMEOUT_NS
 * ago and not completed means a broken connection, whose flush then
 * completes it (a store's folio is redirtied, a prefetch is read again
 * when needed). Called with rwsem held for reading, READY.
 */
static void hrc_check_async(struct hrc_server *s)
{
	unsigned long posted, old = jiffies - nsecs_to_jiffies(HRC_IO_TIMEOUT_NS);
	struct hrc_queue *q;
	unsigned int i, n;

	for (n = 0; n < 3 * READ_ONCE(s->nr_sets); n++) {
		q = &s->queues[n];
		if (!q->wreqs)
			continue;
		for_each_set_bit(i, q->wbusy, HRC_QUEUE_DEPTH) {
			posted = READ_ONCE(q->wreqs[i].posted);
			if (posted && time_before(posted, old)) {
				pr_warn("a %s did not complete in %d s\n",
					q->kind == HERMIT_Q_WRITE ? "write" : "prefetch",
					(int)(HRC_IO_TIMEOUT_NS / NSEC_PER_SEC));
				hrc_conn_error(s);
				return;
			}
		}
	}
}

/* Tell the server this client is alive; a dead server shows up here too. */
void hrc_ping_work(struct work_struct *work)
{
	struct hrc_server *s = container_of(to_delayed_work(work),
					    struct hrc_server, ping_work);
	struct hermit_msg reply;

	if (READ_ONCE(s->state) == HRC_READY && down_read_trylock(&s->rwsem)) {
		if (READ_ONCE(s->state) == HRC_READY)
			hrc_check_async(s);
		if (READ_ONCE(s->state) == HRC_READY)
			hrc_send_pending_frees(s);
		if (READ_ONCE(s->state) == HRC_READY)
			hrc_ctrl_call(s, HERMIT_MSG_PING, 0, 0, &reply);
		up_read(&s->rwsem);
	}
	queue_delayed_work(system_wq, &s->ping_work, HERMIT_PING_SECS * HZ);
}

/*
 * At exit, or when @s's slot takes another server: the FREEs that never
 * found a session are dropped.
 */
void hrc_drop_pending_frees(struct hrc_server *s)
{
	struct hrc_pending_free *p, *n;

	mutex_lock(&s->ctrl_mutex);
	list_for_each_entry_safe(p, n, &s->pending_frees, node) {
		list_del(&p->node);
		kfree(p);
		atomic_long_dec(&hrc_stats.frees_pending);
	}
	mutex_unlock(&s->ctrl_mutex);
}
