// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit RDMA client: the data path. Pages move with one-sided RDMA WRITE
 * and READ; see client.c for the design.
 */

#define pr_fmt(fmt) "hermit: rdma: " fmt

#include "client.h"

/* ---- transfers ---- */

static void hrc_io_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hrc_req *req = container_of(wc->wr_cqe, struct hrc_req, cqe);
	struct hrc_queue *q = cq->cq_context;

	req->status = wc->status;
	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		hrc_conn_error(q->srv);
	if (cq->poll_ctx == IB_POLL_DIRECT)
		/* Pairs with hrc_poll(): the status is seen with the flag. */
		smp_store_release(&req->finished, 1);
	else
		complete(&req->done);
}

/* Poll the faulting CPU's demand queue until @req completes. */
static void hrc_poll(struct hrc_queue *q, struct hrc_req *req)
{
	u64 start = ktime_get_ns(), now;
	bool timed_out = false;

	/* Pairs with hrc_io_done(). */
	while (!smp_load_acquire(&req->finished)) {
		if (spin_trylock_bh(&q->poll_lock)) {
			ib_process_cq_direct(q->cq, 16);
			spin_unlock_bh(&q->poll_lock);
		}
		if (smp_load_acquire(&req->finished))	/* as above */
			break;
		now = ktime_get_ns();
		if (!timed_out && now - start > HRC_IO_TIMEOUT_NS) {
			/* Tearing the queues down flushes the request. */
			timed_out = true;
			hrc_conn_error(q->srv);
		}
		/* rxe completes from softirq and work items: let them run. */
		if (now - start > HRC_SPIN_NS)
			usleep_range(10, 50);
		else
			cpu_relax();
	}
}

static void hrc_wait(struct hrc_queue *q, struct hrc_req *req)
{
	if (!wait_for_completion_timeout(&req->done,
					 nsecs_to_jiffies(HRC_IO_TIMEOUT_NS))) {
		hrc_conn_error(q->srv);
		wait_for_completion(&req->done);
	}
}

/*
 * @nr pages (physically contiguous) to or from the server: one RDMA WRITE
 * or READ, with a registration of the local pages first where the device
 * needs it. Called with rwsem held for reading.
 * Returns 0, or -ECONNRESET when the connection failed under the transfer.
 */
static int hrc_rdma(struct hrc_copy *cp, unsigned long index,
		    struct page *page, unsigned int nr, enum hermit_queue kind)
{
	size_t len = (size_t)nr << PAGE_SHIFT;
	bool write = kind == HERMIT_Q_WRITE;
	enum dma_data_direction dir = write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	struct hrc_queue *q = hrc_queue(cp->srv, raw_smp_processor_id(), kind);
	struct hrc_req req = { .cqe.done = hrc_io_done };
	struct ib_qp *qp = q->cm_id->qp;
	u32 port = q->cm_id->port_num;
	struct rdma_rw_ctx ctx;
	struct scatterlist sg;
	unsigned int noio;
	bool registered;
	int err;

	init_completion(&req.done);
	sg_init_table(&sg, 1);
	sg_set_page(&sg, page, len, 0);
	/* A slot first: it also bounds the registrations in use. */
	down(&q->slots);
	/* No I/O from here: a registration may allocate. */
	noio = memalloc_noio_save();
	err = rdma_rw_ctx_init(&ctx, qp, port, &sg, 1, 0,
			       cp->addr + ((u64)index << PAGE_SHIFT), cp->rkey, dir);
	memalloc_noio_restore(noio);
	if (err < 0) {
		up(&q->slots);
		return err;
	}
	/* One contiguous range: more than one request means a registration. */
	registered = err > 1;
	err = rdma_rw_ctx_post(&ctx, qp, port, &req.cqe, NULL);
	if (!err) {
		if (kind == HERMIT_Q_DEMAND)
			hrc_poll(q, &req);
		else
			hrc_wait(q, &req);
		err = 0;
		if (req.status != IB_WC_SUCCESS) {
			/*
			 * A flush too: the error may have been the
			 * unsignaled registration's, which reports nothing.
			 */
			hrc_conn_error(q->srv);
			err = -ECONNRESET;
		} else if (registered) {
			atomic_long_inc(&hrc_stats.mr_transfers);
		}
	} else {
		hrc_conn_error(q->srv);
		err = -ECONNRESET;
	}
	rdma_rw_ctx_destroy(&ctx, qp, port, &sg, 1, dir);
	up(&q->slots);
	return err;
}

/* ---- backend ops ---- */

/*
 * Whether @s takes new chunks now: connected and not refusing. A hint;
 * hrc_chunk_alloc() checks the state again under rwsem.
 */
static bool hrc_placeable(struct hrc_server *s)
{
	return READ_ONCE(s->addr_set) && READ_ONCE(s->state) == HRC_READY &&
	       !READ_ONCE(s->draining) &&
	       !time_before(jiffies, READ_ONCE(s->full_until));
}

/* Whether @cp is a copy in use: placed, and not moved off its server. */
static bool hrc_copy_used(const struct hrc_copy *cp)
{
	return cp->srv && !READ_ONCE(cp->retired);
}

/* Whether copy @cp is on a server being drained. */
static bool hrc_copy_draining(const struct hrc_copy *cp)
{
	return READ_ONCE(cp->srv->draining);
}

/* Every chunk, for re-replication. */
static LIST_HEAD(hrc_chunk_list);
static DEFINE_SPINLOCK(hrc_chunk_list_lock);
static void hrc_repair_kick(void);
static DECLARE_WAIT_QUEUE_HEAD(hrc_repair_wait);

/*
 * Ask @s for room for copy @cp (holding nothing); @cp is on @s from now on
 * if it grants it. The server is set last: a store that sees it sees the
 * grant (see hrc_store()).
 */
static int hrc_copy_place(struct hrc_server *s, struct hrc_copy *cp)
{
	struct hrc_copy tmp = { .chunk = cp->chunk, .srv = s };
	struct hrc_chunk *c = cp->chunk;
	int err;

	if (!down_read_trylock(&s->rwsem))
		return -ENOTCONN;
	err = -ENOTCONN;
	if (READ_ONCE(s->state) == HRC_READY && READ_ONCE(s->addr_set))
		err = hrc_copy_grant(&tmp);
	if (!err) {
		atomic_long_inc(&s->chunks);
		spin_lock(&c->lock);
		cp->addr = tmp.addr;
		cp->rkey = tmp.rkey;
		cp->gen = tmp.gen;
		spin_unlock(&c->lock);
		/* Pairs with hrc_store(): who sees the server sees the grant. */
		smp_store_release(&cp->srv, s);
	}
	up_read(&s->rwsem);
	return err;
}

/*
 * The server not in @tried that takes chunks now with the most room left;
 * among several with the same, the (@index modulo their number)-th.
 */
static struct hrc_server *hrc_best(const unsigned long *tried,
				   unsigned long index)
{
	struct hrc_server *s, *ties[HRC_MAX_SERVERS];
	long room, most = LONG_MIN;
	unsigned int n = 0;

	for_each_hrc_server(s) {
		if (test_bit(s->nr, tried) || !hrc_placeable(s))
			continue;
		room = hrc_room(s);
		if (room > most) {
			most = room;
			n = 0;
		}
		if (room == most)
			ties[n++] = s;
	}
	return n ? ties[index % n] : NULL;
}

/*
 * Room for a new chunk: hrc_replicas copies, each on another server, the
 * server with the most room left first (see hrc_room()); one that refuses
 * or fails is skipped for the next. Among servers with the same room the
 * first is found from a place that turns with the chunk's index, so that
 * the first copies, which loads read, are spread too. A chunk with fewer
 * copies than asked for (too few servers) is still used.
 */
static void *hrc_chunk_alloc(int type, unsigned long index)
{
	unsigned int noio = memalloc_noio_save();
	DECLARE_BITMAP(tried, HRC_MAX_SERVERS) = {};
	unsigned int want = clamp_t(unsigned int, READ_ONCE(hrc_replicas), 1,
				    HRC_REPLICAS_MAX);
	struct hrc_server *best;
	unsigned int placed = 0;
	struct hrc_chunk *c;
	int err, ret = -ENOTCONN;

	c = kvzalloc(sizeof(*c), GFP_KERNEL | __GFP_NOWARN);
	if (!c) {
		memalloc_noio_restore(noio);
		return ERR_PTR(-ENOMEM);
	}
	c->area = type;
	c->index = index;
	c->want = want;
	spin_lock_init(&c->lock);
	c->repair_dst = -1;
	for (err = 0; err < HRC_COPIES_MAX; err++)
		c->copy[err].chunk = c;
	while (placed < want) {
		best = hrc_best(tried, index);
		if (!best)
			break;
		set_bit(best->nr, tried);
		err = hrc_copy_place(best, &c->copy[placed]);
		if (!err) {
			placed++;
			continue;
		}
		/* Full somewhere says more than unreachable elsewhere. */
		if (ret == -ENOTCONN || err == -ENOSPC)
			ret = err;
	}
	memalloc_noio_restore(noio);
	if (!placed) {
		kvfree(c);
		return ERR_PTR(ret);
	}
	atomic_long_inc(&hrc_chunks);
	c->degraded = placed < want;
	spin_lock(&hrc_chunk_list_lock);
	list_add_tail(&c->node, &hrc_chunk_list);
	spin_unlock(&hrc_chunk_list_lock);
	if (c->degraded)
		hrc_repair_kick();
	return c;
}

/*
 * Free copy @cp on its server. Without a connection the FREE waits until
 * the session is resumed (or the server forgets the session and the chunk).
 */
static void hrc_copy_free(struct hrc_copy *cp)
{
	struct hrc_chunk *c = cp->chunk;
	struct hrc_server *s = cp->srv;
	struct hrc_pending_free *p;
	struct hermit_msg reply;

	down_read(&s->rwsem);
	if (cp->gen && cp->gen == s->gen &&
	    (READ_ONCE(s->state) != HRC_READY ||
	     hrc_ctrl_call(s, HERMIT_MSG_FREE, c->area, c->index, &reply) == -ECONNRESET)) {
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		if (p) {
			p->area = c->area;
			p->index = c->index;
			p->gen = cp->gen;
			mutex_lock(&s->ctrl_mutex);
			list_add_tail(&p->node, &s->pending_frees);
			mutex_unlock(&s->ctrl_mutex);
			atomic_long_inc(&hrc_stats.frees_pending);
			atomic_long_inc(&hrc_stats.frees_deferred);
		}
	}
	up_read(&s->rwsem);
	atomic_long_dec(&s->chunks);
}

static void hrc_chunk_free(int type, unsigned long index, void *data)
{
	struct hrc_chunk *c = data;
	int r;

	spin_lock(&hrc_chunk_list_lock);
	list_del_init(&c->node);
	spin_unlock(&hrc_chunk_list_lock);
	/* A repair under way ends first: at its next page (list_empty()). */
	wait_event(hrc_repair_wait, !smp_load_acquire(&c->repairing));
	for (r = 0; r < HRC_COPIES_MAX; r++) {
		if (hrc_copy_used(&c->copy[r]))
			hrc_copy_free(&c->copy[r]);
	}
	atomic_long_dec(&hrc_chunks);
	kvfree(c);
}

/*
 * One copy of the store of @folio at @index of @c is over (@ok: written):
 * the last one tells the core, which the page is safe with if any copy
 * was written.
 */
static void hrc_store_put(struct hrc_chunk *c, unsigned long index,
			  struct folio *folio, int n, bool ok)
{
	int v = atomic_add_return((ok ? HRC_W_OK : 0) - n, &c->wstate[index]);

	if (v & HRC_W_LEFT)
		return;
	atomic_dec(&c->writing);
	hermit_store_done(folio, v >= HRC_W_OK ? 0 : -ENOTCONN);
}

/* Give a request back; the watchdog ignores it from now on. */
static void hrc_wreq_put(struct hrc_queue *q, struct hrc_wreq *w)
{
	WRITE_ONCE(w->posted, 0);
	/* Our reads of *w are done before another taker sees it free. */
	clear_bit_unlock(w - q->wreqs, q->wbusy);
	up(&q->slots);
}

/* One transfer of a batch is over: tell the core, give the request back. */
static void hrc_wreq_done(struct hrc_wreq *w, bool ok)
{
	struct hrc_queue *q = w->q;
	struct hrc_server *s = q->srv;
	struct folio *folio = w->folio;
	struct hrc_copy *cp = w->cp;
	unsigned long index = w->index;
	bool write = q->kind == HERMIT_Q_WRITE;
	unsigned int i, nr = folio_nr_pages(folio);

	if (ok && write) {
		for (i = 0; i < nr; i++)
			set_bit(index + i, cp->stored);
	}
	if (ok) {
		atomic_long_add(nr, write ? &s->writes : &s->reads);
		if (w->registered)
			atomic_long_inc(&hrc_stats.mr_transfers);
	} else {
		atomic_long_inc(write ? &hrc_stats.write_errors : &hrc_stats.read_errors);
	}
	rdma_rw_ctx_destroy(&w->ctx, q->cm_id->qp, q->cm_id->port_num, &w->sg,
			    1, write ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
	hrc_wreq_put(q, w);
	if (write)
		hrc_store_put(cp->chunk, index, folio, 1, ok);
	else
		hermit_read_done(folio, ok ? 0 : -ECONNRESET);
	/* Last: hrc_quiesce() lets the queues go once these are 0. */
	if (atomic_dec_and_test(write ? &s->writes_in_flight : &s->reads_in_flight))
		wake_up(&s->wait);
}

/* Every transfer of a batch, in posting order, from its first. */
void hrc_batch_done(struct hrc_wreq *w, bool ok)
{
	struct hrc_wreq *next;

	for (; w; w = next) {
		next = w->next;
		hrc_wreq_done(w, ok);
	}
}

/*
 * The completion of a batch's last work request, the only one signaled: a
 * send queue completes in order, so every transfer of the batch is done.
 */
static void hrc_batch_cqe_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hrc_wreq *w = container_of(wc->wr_cqe, struct hrc_wreq, cqe);

	/*
	 * A failure anywhere in the batch flushes the rest and shows here:
	 * then every transfer of it failed as far as we know (an unsignaled
	 * request reports nothing): stores are written again, prefetches
	 * read again when their page is needed.
	 */
	if (wc->status != IB_WC_SUCCESS)
		hrc_conn_error(w->q->srv);
	hrc_batch_done(w->first, wc->status == IB_WC_SUCCESS);
}

/*
 * Whether @w can go in one work request with the run ending in @prev: the
 * next slots of the same chunk, both plain transfers (not through a
 * registered MR) with one SGE each, and room left in the request.
 */
static bool hrc_merges(struct hrc_wreq *prev, struct hrc_wreq *w,
		       unsigned int pages, unsigned int max)
{
	return !prev->registered && !w->registered && prev->cp == w->cp &&
	       w->index == prev->index + folio_nr_pages(prev->folio) &&
	       pages + folio_nr_pages(w->folio) <= max;
}

/*
 * One RDMA WRITE or READ for the @n neighbouring transfers @reqs: the
 * head's own work request (its remote address and key) with the mapped
 * SGE of each. Signaled if @cqe is given, then it ends the chain.
 */
static struct ib_send_wr *hrc_merge_wr(struct hrc_wreq **reqs, unsigned int n,
				       struct ib_cqe *cqe,
				       struct ib_send_wr *next)
{
	struct hrc_wreq *head = reqs[0];
	struct ib_rdma_wr *wr = &head->mwr;
	unsigned int i;

	*wr = head->ctx.single.wr;
	for (i = 0; i < n; i++)
		head->msge[i] = reqs[i]->ctx.single.sge;
	wr->wr.sg_list = head->msge;
	wr->wr.num_sge = n;
	wr->wr.next = next;
	wr->wr.wr_cqe = cqe;
	wr->wr.send_flags = cqe ? IB_SEND_SIGNALED : 0;
	return &wr->wr;
}

/*
 * Post @nr transfers of @q (@reqs, in order) with one doorbell: runs of
 * neighbouring slots in one work request each (see hrc_merges()), the
 * work requests chained, only the last signaled.
 */
static void hrc_post_batch(struct hrc_queue *q, struct hrc_wreq **reqs,
			   unsigned int nr)
{
	struct ib_qp *qp = q->cm_id->qp;
	u32 port = q->cm_id->port_num;
	struct ib_send_wr *first = NULL, *wrs[HRC_BATCH_MAX];
	const struct ib_send_wr *bad = NULL, *wr;
	struct hrc_wreq *last = reqs[nr - 1], *tail;
	unsigned int heads[HRC_BATCH_MAX + 1], runs = 0, pages = 0, merged;
	unsigned int max = min(q->max_merge, READ_ONCE(hrc_merge));
	struct ib_cqe *cqe;
	int i, r, n;

	/* Runs: heads[r] is the first transfer of run r. */
	for (i = 0; i < nr; i++) {
		if (i && hrc_merges(reqs[i - 1], reqs[i], pages, max)) {
			pages += folio_nr_pages(reqs[i]->folio);
			continue;
		}
		heads[runs++] = i;
		pages = folio_nr_pages(reqs[i]->folio);
	}
	heads[runs] = nr;
	for (i = 0; i < nr; i++)
		reqs[i]->next = i + 1 < nr ? reqs[i + 1] : NULL;
	for (r = runs - 1; r >= 0; r--) {
		n = heads[r + 1] - heads[r];
		cqe = r == runs - 1 ? &last->cqe : NULL;
		if (n == 1)
			first = rdma_rw_ctx_wrs(&reqs[heads[r]]->ctx, qp, port,
						cqe, first);
		else
			first = hrc_merge_wr(reqs + heads[r], n, cqe, first);
		wrs[r] = first;
	}
	last->first = reqs[0];
	last->cqe.done = hrc_batch_cqe_done;
	merged = nr - runs;
	if (q->kind == HERMIT_Q_WRITE) {
		atomic_long_inc(&hrc_stats.write_posts);
		if (merged)
			atomic_long_add(merged, &hrc_stats.write_merged);
	} else {
		atomic_long_inc(&hrc_stats.prefetch_posts);
		if (merged)
			atomic_long_add(merged, &hrc_stats.prefetch_merged);
	}
	if (!ib_post_send(qp, first, &bad))
		return;
	/*
	 * Not even its signaled last request went out, so nothing will
	 * complete the batch. What did not go out fails here. What did
	 * may still move data (a READ into its folio): it fails only once
	 * the queue is flushed, which the error work does (not here: this
	 * may run as the task goes to sleep), see hrc_quiesce().
	 */
	hrc_conn_error(q->srv);
	if (bad == first) {
		hrc_batch_done(reqs[0], false);
		return;
	}
	/* The run of the last work request that went out. */
	r = 0;
	for (wr = first; wr && wr != bad; wr = wr->next) {
		if (r + 1 < runs && wr == wrs[r + 1])
			r++;
	}
	i = heads[r + 1] - 1;
	tail = reqs[i]->next;
	spin_lock_bh(&q->orphan_lock);
	reqs[i]->next = q->orphans;
	q->orphans = reqs[0];
	spin_unlock_bh(&q->orphan_lock);
	hrc_batch_done(tail, false);
}

/*
 * The stores a task makes under a block plug (reclaim runs under one, see
 * shrink_lruvec(); swap readahead too) wait in it and go out together when
 * it is flushed: at the end of the pass, when the task sleeps (so also
 * when it waits for room in a queue) or when HRC_BATCH_MAX are waiting.
 * Stores and prefetches have a plug callback each.
 */
struct hrc_plug {
	struct blk_plug_cb cb;
	struct hrc_queue *q;
	unsigned int nr;
	struct hrc_wreq *reqs[HRC_BATCH_MAX];
};

static void hrc_plug_flush(struct hrc_plug *plug)
{
	if (plug->nr)
		hrc_post_batch(plug->q, plug->reqs, plug->nr);
	plug->nr = 0;
}

static void hrc_unplug(struct blk_plug_cb *cb, bool from_schedule)
{
	struct hrc_plug *plug = container_of(cb, struct hrc_plug, cb);

	hrc_plug_flush(plug);
	kfree(plug);
}

/* A plug per server and kind: copies of a store go to several servers. */
static char hrc_plug_key[HRC_MAX_SERVERS][HERMIT_Q_WRITE + 1];

/* Post @w now, or batch it in the task's plug. */
static void hrc_submit(struct hrc_queue *q, struct hrc_wreq *w)
{
	struct blk_plug_cb *cb;
	struct hrc_plug *plug;

	cb = blk_check_plugged(hrc_unplug, &hrc_plug_key[q->srv->nr][q->kind],
			       sizeof(*plug));
	if (!cb) {
		hrc_post_batch(q, &w, 1);
		return;
	}
	plug = container_of(cb, struct hrc_plug, cb);
	/* A task that moved to another CPU's queue: the old batch first. */
	if (plug->nr && plug->q != q)
		hrc_plug_flush(plug);
	plug->q = q;
	plug->reqs[plug->nr++] = w;
	if (plug->nr == HRC_BATCH_MAX)
		hrc_plug_flush(plug);
}

/*
 * Start the write of @folio to @index on (@kind HERMIT_Q_WRITE), or its
 * read from there (HERMIT_Q_PREFETCH): one RDMA WRITE or READ (a large
 * folio is physically contiguous), posted alone or in a batch
 * (hrc_submit()), and completed by hrc_batch_cqe_done(). Waits for room in
 * the queue. Called with rwsem held for reading and the state READY; the
 * transfer then keeps the queue from being torn down (s->writes_in_flight,
 * s->reads_in_flight) until it completes.
 */
static int hrc_start(struct hrc_copy *cp, unsigned long index,
		     struct folio *folio, enum hermit_queue kind)
{
	struct hrc_server *s = cp->srv;
	struct hrc_queue *q = hrc_queue(s, raw_smp_processor_id(), kind);
	bool write = kind == HERMIT_Q_WRITE;
	struct ib_qp *qp = q->cm_id->qp;
	u32 port = q->cm_id->port_num;
	struct hrc_wreq *w;
	unsigned int i;
	int err, n;

	down(&q->slots);
	/* The semaphore leaves one free; racing takers try the next. */
	for (;;) {
		i = find_first_zero_bit(q->wbusy, HRC_QUEUE_DEPTH);
		if (i < HRC_QUEUE_DEPTH && !test_and_set_bit_lock(i, q->wbusy))
			break;
	}
	w = &q->wreqs[i];
	/* Before the post: the watchdog may see the request from now on. */
	WRITE_ONCE(w->posted, jiffies ?: 1);
	w->q = q;
	w->cp = cp;
	w->folio = folio;
	w->index = index;
	sg_init_table(&w->sg, 1);
	sg_set_page(&w->sg, folio_page(folio, 0), folio_size(folio), 0);
	err = rdma_rw_ctx_init(&w->ctx, qp, port, &w->sg, 1, 0,
			       cp->addr + ((u64)index << PAGE_SHIFT), cp->rkey,
			       write ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
	if (err < 0) {
		hrc_wreq_put(q, w);
		return err;
	}
	/* One contiguous range: more than one request means a registration. */
	w->registered = err > 1;
	if (write) {
		n = atomic_inc_return(&s->writes_in_flight);
		/* A statistic: a lost race only loses a peak seen meanwhile. */
		if (n > atomic_read(&hrc_stats.writes_in_flight_max))
			atomic_set(&hrc_stats.writes_in_flight_max, n);
		atomic_long_inc(&hrc_stats.write_requests);
	} else {
		atomic_inc(&s->reads_in_flight);
		atomic_long_inc(&hrc_stats.prefetch_requests);
	}
	hrc_submit(q, w);
	return 0;
}

/* Take rwsem for reading if the connection is READY now; never waits. */
static bool hrc_try_ready(struct hrc_server *s)
{
	if (!down_read_trylock(&s->rwsem))
		return false;
	if (READ_ONCE(s->state) == HRC_READY)
		return true;
	up_read(&s->rwsem);
	return false;
}

/*
 * A slot of @c is about to be overwritten or given up: a page the repair
 * worker copies meanwhile is void (see hrc_repair_page()).
 */
static void hrc_chunk_changed(struct hrc_chunk *c)
{
	atomic_inc(&c->wseq);
	smp_mb__after_atomic();	/* Pairs with the one in hrc_repair_page(). */
}

/* Start writing @folio to copy @cp; never waits for its server. */
static int hrc_store_copy(struct hrc_copy *cp, unsigned long index,
			  struct folio *folio)
{
	struct hrc_server *s = cp->srv;
	int err;

	if (!hrc_try_ready(s))
		return -ENOTCONN;
	/* Retired under the server's rwsem: seen here if not before. */
	err = READ_ONCE(cp->retired) ? -ENOTCONN : hrc_copy_grant(cp);
	if (!err)
		err = hrc_start(cp, index, folio, HERMIT_Q_WRITE);
	up_read(&s->rwsem);
	return err;
}

/*
 * Start storing @folio at @index on, to every copy of the chunk whose
 * server can take it now; hermit_store_done() follows once every write
 * is over, successful if one was. Stores never wait for a connection.
 */
static int hrc_store(void *data, unsigned long index, struct folio *folio)
{
	unsigned int noio, i, r, n = 0, posted = 0, nr = folio_nr_pages(folio);
	struct hrc_chunk *c = data;
	int err = -ENOTCONN, e, skip;
	unsigned long copies = 0;

	/*
	 * Under way until hrc_store_put() ends it, and not to the copy the
	 * repair worker writes now (that copy misses the store, and the
	 * chunk is repaired again). Whatever the slots held before is
	 * overwritten or given up; the barrier of hrc_chunk_changed()
	 * orders both counts before reading repair_dst. The copies are
	 * those placed now: the repair worker may place another.
	 */
	atomic_inc(&c->writing);
	hrc_chunk_changed(c);
	skip = READ_ONCE(c->repair_dst);
	for (r = 0; r < HRC_COPIES_MAX; r++) {
		/* Pairs with hrc_copy_place(): the grant comes with it. */
		if (!smp_load_acquire(&c->copy[r].srv))
			continue;
		for (i = 0; i < nr; i++)
			clear_bit(index + i, c->copy[r].stored);
		if (r == skip || READ_ONCE(c->copy[r].retired))
			continue;
		__set_bit(r, &copies);
		n++;
	}
	/* Before the first post: its completion may come at once. */
	atomic_set(&c->wstate[index], n);
	noio = memalloc_noio_save();
	for_each_set_bit(r, &copies, HRC_COPIES_MAX) {
		e = hrc_store_copy(&c->copy[r], index, folio);
		if (!e) {
			posted++;
			continue;
		}
		atomic_long_inc(&hrc_stats.write_errors);
		if (err == -ENOTCONN || e == -ENOSPC)
			err = e == -ECONNRESET ? -ENOTCONN : e;
	}
	memalloc_noio_restore(noio);
	if (!posted) {
		atomic_dec(&c->writing);
		return err;
	}
	if (posted < c->want) {
		atomic_long_inc(&hrc_stats.degraded_stores);
		if (!READ_ONCE(c->degraded)) {
			WRITE_ONCE(c->degraded, true);
			hrc_repair_kick();
		}
	}
	/* The copies not written: the last of all tells the core. */
	if (posted < n)
		hrc_store_put(c, index, folio, n - posted, false);
	return 0;
}

/*
 * Whether slot @index of copy @cp holds a page its server still has.
 * Called with the server's rwsem held for reading.
 */
static bool hrc_readable(struct hrc_copy *cp, unsigned long index)
{
	hrc_copy_current(cp);
	return test_bit(index, cp->stored);
}

/*
 * Wait for a usable connection to @s, at most until hrc_load_timeout
 * seconds after it was lost and after @start (a connection that keeps
 * breaking moves the first forward); returns with rwsem held for reading.
 */
static int hrc_wait_ready(struct hrc_server *s, unsigned long start)
{
	unsigned long since;
	long left;

	for (;;) {
		if (down_read_killable(&s->rwsem))
			return -EINTR;
		if (READ_ONCE(s->state) == HRC_READY)
			return 0;
		up_read(&s->rwsem);
		if (READ_ONCE(s->state) == HRC_IDLE)
			return -ENOTCONN;
		smp_rmb();	/* The outage's time, see hrc_mark_down(). */
		since = READ_ONCE(s->down_since);
		if (time_after(since, start))
			since = start;
		left = (long)(since + READ_ONCE(hrc_load_timeout) * HZ - jiffies);
		if (left <= 0)
			return -ETIMEDOUT;
		if (wait_event_killable_timeout(s->wait,
						READ_ONCE(s->state) == HRC_READY ||
						READ_ONCE(s->state) == HRC_IDLE,
						left) < 0)
			return -EINTR;
	}
}

/* Read slot @index of @cp into @page; called with the rwsem held. */
static int hrc_load_copy(struct hrc_copy *cp, unsigned long index,
			 struct page *page)
{
	int err;

	if (!hrc_readable(cp, index))
		return -EIO;
	err = hrc_rdma(cp, index, page, 1, HERMIT_Q_DEMAND);
	if (!err)
		atomic_long_inc(&cp->srv->reads);
	return err;
}

/*
 * Take the rwsem of the server of copy @cp for a read of slot @index:
 * only if it is connected now, or with @wait, waiting for it (see
 * hrc_wait_ready()) if the copy holds the page. Returns 0 with the rwsem
 * held, -ENOENT when the copy is not to be tried, else the wait's error.
 */
static int hrc_copy_take(struct hrc_copy *cp, unsigned long index,
			 unsigned long start, bool wait)
{
	if (!hrc_copy_used(cp))
		return -ENOENT;
	if (!wait)
		return hrc_try_ready(cp->srv) ? 0 : -ENOENT;
	if (!test_bit(index, cp->stored))
		return -ENOENT;
	return hrc_wait_ready(cp->srv, start);
}

/* Whether a copy of @c before copy @r was there to be read first. */
static bool hrc_failed_over(struct hrc_chunk *c, int r)
{
	while (r--) {
		if (hrc_copy_used(&c->copy[r]))
			return true;
	}
	return false;
}

/*
 * Read a page from a copy whose server is connected now; failing that,
 * wait for the server of a copy that holds it, trying the next copy when
 * one fails.
 */
static int hrc_load(void *data, unsigned long index, struct page *page)
{
	unsigned long start = jiffies;
	struct hrc_chunk *c = data;
	struct hrc_copy *cp;
	bool wait = false, reset;
	int err, e, r;

	for (;;) {
		err = -EIO;
		reset = false;
		for (r = 0; r < HRC_COPIES_MAX; r++) {
			cp = &c->copy[r];
			e = hrc_copy_take(cp, index, start, wait);
			if (e) {
				if (e != -ENOENT)
					err = e;
				continue;
			}
			err = hrc_load_copy(cp, index, page);
			up_read(&cp->srv->rwsem);
			if (!err)
				goto out;
			reset |= err == -ECONNRESET;
		}
		/* A transfer cut by a failed connection is retried after it. */
		if (wait && !reset)
			break;
		wait = true;
	}
	atomic_long_inc(&hrc_stats.read_errors);
	pr_err_ratelimited("cannot read page %lu of chunk %d:%lu: %d\n",
			   index, c->area, c->index, err);
	return err;
out:
	/* Not from the first copy: it was down, failed or lacked the page. */
	if (hrc_failed_over(c, r))
		atomic_long_inc(&hrc_stats.read_failovers);
	return 0;
}

/*
 * Start reading @folio for swap readahead, on the prefetch queue of a
 * copy's server that is connected now; it is not waited for, and not
 * started while no such server is (the page is read when a fault needs
 * it: hrc_load() waits for a connection).
 */
static int hrc_read(void *data, unsigned long index, struct folio *folio)
{
	struct hrc_chunk *c = data;
	struct hrc_copy *cp;
	unsigned int noio;
	int err = -ENOTCONN, r;

	for (r = 0; r < HRC_COPIES_MAX && err; r++) {
		cp = &c->copy[r];
		if (hrc_copy_take(cp, index, 0, false))
			continue;
		if (!hrc_readable(cp, index)) {
			err = -EIO;
		} else {
			/* No I/O: a registration may allocate. */
			noio = memalloc_noio_save();
			err = hrc_start(cp, index, folio, HERMIT_Q_PREFETCH);
			memalloc_noio_restore(noio);
		}
		up_read(&cp->srv->rwsem);
		if (!err && hrc_failed_over(c, r))
			atomic_long_inc(&hrc_stats.read_failovers);
	}
	if (err)
		atomic_long_inc(&hrc_stats.read_errors);
	return err;
}

static void hrc_invalidate(void *data, unsigned long index)
{
	struct hrc_chunk *c = data;
	int r;

	hrc_chunk_changed(c);
	for (r = 0; r < HRC_COPIES_MAX; r++)
		clear_bit(index, c->copy[r].stored);
}

/* ---- re-replication ---- */

/*
 * A chunk is degraded when a copy is missing (too few servers when it was
 * placed), lacks pages (a store its server missed) or lost them with its
 * server's session. A worker makes it whole again, in the background: it
 * places the missing copies and copies every page one copy holds and
 * another lacks, from a copy whose server is connected to one whose server
 * is connected, a page at a time through a bounce page. A store or an
 * invalidation of the chunk meanwhile (c->wseq) voids the page's copy.
 * chunk_free waits for a repair of its chunk to end (c->repairing).
 */
#define HRC_REPAIR_PERIOD	HZ
#define HRC_REPAIR_BUDGET	64	/* chunks per run */

static void hrc_repair_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(hrc_repair_dwork, hrc_repair_work);
/* Queues nothing once hrc_repair_stop() disabled the work. */
static void hrc_repair_kick(void)
{
	queue_delayed_work(system_unbound_wq, &hrc_repair_dwork,
			   HRC_REPAIR_PERIOD / 10);
}

/* @s began a new session: the copies on it hold nothing any more. */
void hrc_mark_degraded(struct hrc_server *s)
{
	struct hrc_chunk *c;
	bool any = false;
	int r;

	spin_lock(&hrc_chunk_list_lock);
	list_for_each_entry(c, &hrc_chunk_list, node) {
		for (r = 0; r < HRC_COPIES_MAX; r++) {
			if (c->copy[r].srv == s && !c->copy[r].retired &&
			    c->want > 1) {
				WRITE_ONCE(c->degraded, true);
				any = true;
			}
		}
	}
	spin_unlock(&hrc_chunk_list_lock);
	if (any)
		hrc_repair_kick();
}

/* Pages copies on @s hold, as far as its session goes (for rdma/servers). */
long hrc_pages_on(struct hrc_server *s)
{
	struct hrc_chunk *c;
	long pages = 0;
	int r;

	spin_lock(&hrc_chunk_list_lock);
	list_for_each_entry(c, &hrc_chunk_list, node) {
		for (r = 0; r < HRC_COPIES_MAX; r++) {
			if (c->copy[r].srv == s && !c->copy[r].retired)
				pages += bitmap_weight(c->copy[r].stored,
						       HERMIT_CHUNK_PAGES);
		}
	}
	spin_unlock(&hrc_chunk_list_lock);
	return pages;
}

/* No copy moved off a draining server for this long: the drain stops. */
#define HRC_DRAIN_STALL		(30 * HZ)

static void hrc_forget_work_fn(struct work_struct *work)
{
	hrc_forget_drained();
}

static DECLARE_WORK(hrc_forget_work, hrc_forget_work_fn);

/* Chunks with a copy on a draining server are the worker's to repair. */
static void hrc_drain_mark(void)
{
	struct hrc_chunk *c;
	int r;

	spin_lock(&hrc_chunk_list_lock);
	list_for_each_entry(c, &hrc_chunk_list, node) {
		for (r = 0; r < HRC_COPIES_MAX; r++) {
			if (hrc_copy_used(&c->copy[r]) &&
			    hrc_copy_draining(&c->copy[r]))
				WRITE_ONCE(c->degraded, true);
		}
	}
	spin_unlock(&hrc_chunk_list_lock);
}

/*
 * After a pass of the worker: a draining server that holds no copy any
 * more is forgotten (hrc_forget_drained()); one whose copies did not move
 * for HRC_DRAIN_STALL stops draining and stays set. Returns whether a
 * server is still draining.
 */
static bool hrc_drain_check(void)
{
	bool forget = false, more = false;
	struct hrc_server *s;
	long left;

	for_each_hrc_server(s) {
		if (!READ_ONCE(s->draining))
			continue;
		left = atomic_long_read(&s->chunks);
		if (!left) {
			forget = true;
		} else if (left < s->drain_left) {
			s->drain_left = left;
			s->drain_since = jiffies;
			more = true;
		} else if (time_after(jiffies, s->drain_since + HRC_DRAIN_STALL)) {
			WRITE_ONCE(s->draining, false);
			atomic_long_inc(&hrc_stats.drain_failures);
			pr_warn("cannot drain server %pISpc: %ld chunks did not move in %d s (no room on the other servers, or pages only it holds while it is down); it stays set\n",
				&s->addr, left, HRC_DRAIN_STALL / HZ);
		} else {
			more = true;
		}
	}
	if (forget)
		queue_work(system_unbound_wq, &hrc_forget_work);
	return more;
}

/* @s was marked draining (under hrc_config_mutex): start moving. */
void hrc_drain_start(struct hrc_server *s)
{
	s->drain_left = LONG_MAX;
	s->drain_since = jiffies;
	smp_wmb();	/* The worker that sees it draining sees these. */
	WRITE_ONCE(s->draining, true);
	mod_delayed_work(system_unbound_wq, &hrc_repair_dwork, 0);
}

void hrc_repair_stop(void)
{
	disable_delayed_work_sync(&hrc_repair_dwork);
	cancel_work_sync(&hrc_forget_work);
}

/*
 * Copy slot @i from @src to @dst through @page. Returns 0 when @dst holds
 * it now, or when @src does not hold it any more; -EAGAIN when a server
 * cannot be used now, or a store or invalidation in the chunk (any slot:
 * slot frees come late and in batches) voided the copy: a later pass
 * tries again.
 */
static int hrc_repair_page(struct hrc_chunk *c, struct hrc_copy *src,
			   struct hrc_copy *dst, unsigned long i,
			   struct page *page)
{
	int seq, err = -EAGAIN;

	/* A chunk being freed waits for us: let it go. */
	if (list_empty(&c->node))
		return -EAGAIN;
	/*
	 * No store under way, and none starts writing @dst until we are
	 * done (hrc_store() skips it): one that began before is waited
	 * out (the next pass), one that begins after voids the copy.
	 */
	WRITE_ONCE(c->repair_dst, dst - c->copy);
	smp_mb();	/* Pairs with the one in hrc_store(). */
	if (atomic_read_acquire(&c->writing))
		goto out;
	seq = atomic_read(&c->wseq);
	if (!hrc_try_ready(src->srv))
		goto out;
	err = hrc_readable(src, i) ? hrc_rdma(src, i, page, 1, HERMIT_Q_DEMAND) : 0;
	up_read(&src->srv->rwsem);
	if (err || !hrc_try_ready(dst->srv)) {
		err = -EAGAIN;
		goto out;
	}
	err = hrc_copy_grant(dst);
	if (!err)
		err = hrc_rdma(dst, i, page, 1, HERMIT_Q_WRITE);
	if (!err) {
		set_bit(i, dst->stored);
		smp_mb__after_atomic();	/* Pairs with hrc_store(), hrc_invalidate(). */
		if (atomic_read(&c->wseq) != seq) {
			clear_bit(i, dst->stored);
			err = -EAGAIN;
		} else if (!test_bit(i, src->stored)) {
			clear_bit(i, dst->stored);
		} else {
			atomic_long_inc(&hrc_stats.repair_pages);
		}
	}
	up_read(&dst->srv->rwsem);
out:
	WRITE_ONCE(c->repair_dst, -1);
	return err ? -EAGAIN : 0;
}

/*
 * Move copy @r of @c off its draining server, if the copies that stay
 * hold every page it does: once no store writes it (c->writing; one
 * that begins later sees it retired) and no load or prefetch reads it
 * (its server's rwsem, then the prefetches in flight there), it holds
 * nothing and is given back. Returns whether it was.
 */
static bool hrc_retire(struct hrc_chunk *c, int r)
{
	DECLARE_BITMAP(need, HERMIT_CHUNK_PAGES);
	struct hrc_copy *dst, *cp = &c->copy[r];
	struct hrc_server *s = cp->srv;
	unsigned long until = jiffies + HZ;
	bool done = false;
	int q, stay = 0;

	/* A chunk being freed waits for us: let it go. */
	if (list_empty(&c->node))
		return false;
	/*
	 * A store posts to @cp only holding its server's rwsem, and checks
	 * 'retired' under it: one that took it before is counted in
	 * c->writing until it ends, one that takes it after skips the copy.
	 * Acquire: the stored bits set before a store ended are seen.
	 */
	down_write(&s->rwsem);
	if (atomic_read_acquire(&c->writing))
		goto out;
	while (atomic_read(&s->reads_in_flight) && time_before(jiffies, until))
		usleep_range(1000, 2000);
	if (atomic_read(&s->reads_in_flight))
		goto out;
	/* The stores before are over: what the others hold is known now. */
	bitmap_copy(need, cp->stored, HERMIT_CHUNK_PAGES);
	for (q = 0; q < HRC_COPIES_MAX; q++) {
		dst = &c->copy[q];
		if (q == r || !hrc_copy_used(dst) || hrc_copy_draining(dst) ||
		    !hrc_try_ready(dst->srv))
			continue;
		if (hrc_copy_current(dst)) {
			bitmap_andnot(need, need, dst->stored, HERMIT_CHUNK_PAGES);
			stay++;
		}
		up_read(&dst->srv->rwsem);
	}
	if (!stay || !bitmap_empty(need, HERMIT_CHUNK_PAGES))
		goto out;
	spin_lock(&c->lock);
	bitmap_zero(cp->stored, HERMIT_CHUNK_PAGES);
	spin_unlock(&c->lock);
	WRITE_ONCE(cp->retired, true);
	done = true;
out:
	up_write(&s->rwsem);
	if (done) {
		hrc_copy_free(cp);
		atomic_long_inc(&hrc_stats.drained_chunks);
	}
	return done;
}

/* Make @c whole if its servers let us; returns whether it is. */
static bool hrc_repair_chunk(struct hrc_chunk *c, struct page *page)
{
	DECLARE_BITMAP(tried, HRC_MAX_SERVERS) = {};
	DECLARE_BITMAP(need, HERMIT_CHUNK_PAGES);
	struct hrc_copy *src, *dst;
	bool up[HRC_COPIES_MAX] = {};
	struct hrc_server *s;
	unsigned int live = 0;
	bool whole = true;
	unsigned long i;
	int r, q;

	/* Copies on a server being drained do not count: they move. */
	for (r = 0; r < HRC_COPIES_MAX; r++) {
		if (!hrc_copy_used(&c->copy[r]))
			continue;
		set_bit(c->copy[r].srv->nr, tried);
		live += !hrc_copy_draining(&c->copy[r]);
	}
	/* Missing copies: in free places, on servers the chunk is not on. */
	while (live < c->want) {
		for (r = 0; r < HRC_COPIES_MAX && c->copy[r].srv; r++)
			;
		s = r < HRC_COPIES_MAX ? hrc_best(tried, c->index) : NULL;
		if (!s) {
			whole = false;
			break;
		}
		set_bit(s->nr, tried);
		if (!hrc_copy_place(s, &c->copy[r]))
			live++;
	}
	/* What each copy holds, as far as its server's session goes. */
	for (r = 0; r < HRC_COPIES_MAX; r++) {
		if (!hrc_copy_used(&c->copy[r]))
			continue;
		s = c->copy[r].srv;
		up[r] = hrc_try_ready(s);
		if (!up[r]) {
			whole = false;
			continue;
		}
		hrc_copy_current(&c->copy[r]);
		up_read(&s->rwsem);
	}
	/* Every page to every copy but those that move. */
	for (r = 0; r < HRC_COPIES_MAX; r++) {
		dst = &c->copy[r];
		if (!up[r] || hrc_copy_draining(dst))
			continue;
		for (q = 0; q < HRC_COPIES_MAX; q++) {
			src = &c->copy[q];
			if (q == r || !up[q])
				continue;
			bitmap_andnot(need, src->stored, dst->stored, HERMIT_CHUNK_PAGES);
			for_each_set_bit(i, need, HERMIT_CHUNK_PAGES) {
				if (hrc_repair_page(c, src, dst, i, page)) {
					whole = false;
					break;
				}
			}
		}
	}
	/* A copy that moves goes once the copies that stay hold its pages. */
	for (r = 0; r < HRC_COPIES_MAX; r++) {
		if (hrc_copy_used(&c->copy[r]) && hrc_copy_draining(&c->copy[r]) &&
		    (!live || !hrc_retire(c, r)))
			whole = false;
	}
	/* More copies than asked for (a drain given up): one goes. */
	for (r = 0; r < HRC_COPIES_MAX && live > c->want; r++) {
		if (hrc_copy_used(&c->copy[r]) && !hrc_copy_draining(&c->copy[r]) &&
		    hrc_retire(c, r))
			live--;
	}
	return whole && live <= c->want;
}

/*
 * A pass of the worker, without I/O (it frees copies, and chunk_free may
 * wait for it under the swap area's lock: reclaim must not swap through
 * Hermit meanwhile).
 */
static void hrc_repair_work(struct work_struct *work)
{
	unsigned int noio = memalloc_noio_save();
	struct page *page = alloc_page(GFP_KERNEL);
	struct hrc_server *s;
	struct hrc_chunk *c, *pick;
	bool draining = false;
	long degraded = 0;
	int n;

	for_each_hrc_server(s)
		draining |= READ_ONCE(s->draining);
	if (draining)
		hrc_drain_mark();
	for (n = 0; page && n < HRC_REPAIR_BUDGET; n++) {
		pick = NULL;
		spin_lock(&hrc_chunk_list_lock);
		list_for_each_entry(c, &hrc_chunk_list, node) {
			if (READ_ONCE(c->degraded)) {
				pick = c;
				c->repairing = true;
				/* Its turn is over: the others come first next. */
				list_move_tail(&c->node, &hrc_chunk_list);
				break;
			}
		}
		spin_unlock(&hrc_chunk_list_lock);
		if (!pick)
			break;
		WRITE_ONCE(pick->degraded, false);
		if (hrc_repair_chunk(pick, page))
			atomic_long_inc(&hrc_stats.repair_chunks);
		else
			WRITE_ONCE(pick->degraded, true);
		/* Last touch of the chunk: hrc_chunk_free() may free it now. */
		smp_store_release(&pick->repairing, false);
		wake_up_all(&hrc_repair_wait);
	}
	spin_lock(&hrc_chunk_list_lock);
	list_for_each_entry(c, &hrc_chunk_list, node)
		degraded += READ_ONCE(c->degraded);
	spin_unlock(&hrc_chunk_list_lock);
	atomic_long_set(&hrc_stats.degraded_chunks, degraded);
	if (page)
		__free_page(page);
	draining = draining && hrc_drain_check();
	if (degraded || !page || draining)
		queue_delayed_work(system_unbound_wq, &hrc_repair_dwork,
				   HRC_REPAIR_PERIOD);
	memalloc_noio_restore(noio);
}

static const struct hermit_backend_ops hrc_ops = {
	.chunk_alloc = hrc_chunk_alloc,
	.chunk_free = hrc_chunk_free,
	.store = hrc_store,
	.load = hrc_load,
	.read = hrc_read,
	.invalidate = hrc_invalidate,
};

struct hermit_backend hrc_backend = {
	.name = "rdma",
	.owner = THIS_MODULE,
	.ops = &hrc_ops,
};

