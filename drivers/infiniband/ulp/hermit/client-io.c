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
static int hrc_rdma(struct hrc_chunk *c, unsigned long index,
		    struct page *page, unsigned int nr, enum hermit_queue kind)
{
	size_t len = (size_t)nr << PAGE_SHIFT;
	bool write = kind == HERMIT_Q_WRITE;
	enum dma_data_direction dir = write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	struct hrc_queue *q = hrc_queue(c->srv, raw_smp_processor_id(), kind);
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
			       c->addr + ((u64)index << PAGE_SHIFT), c->rkey, dir);
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
	       !time_before(jiffies, READ_ONCE(s->full_until));
}

/* Ask @s for room for @c; @c->srv is @s from now on if it grants it. */
static int hrc_chunk_place(struct hrc_server *s, struct hrc_chunk *c)
{
	int err;

	if (!down_read_trylock(&s->rwsem))
		return -ENOTCONN;
	err = -ENOTCONN;
	if (READ_ONCE(s->state) == HRC_READY && READ_ONCE(s->addr_set)) {
		c->srv = s;
		err = hrc_chunk_grant(c);
		if (!err)
			atomic_long_inc(&s->chunks);
	}
	up_read(&s->rwsem);
	return err;
}

/*
 * Room for a new chunk on the server with the most room left (see
 * hrc_room()); one that refuses or fails is skipped for the next.
 */
static void *hrc_chunk_alloc(int type, unsigned long index)
{
	unsigned int noio = memalloc_noio_save();
	DECLARE_BITMAP(tried, HRC_MAX_SERVERS) = {};
	struct hrc_server *s, *best;
	struct hrc_chunk *c;
	int err, ret = -ENOTCONN;

	c = kvzalloc(sizeof(*c), GFP_KERNEL | __GFP_NOWARN);
	if (!c) {
		memalloc_noio_restore(noio);
		return ERR_PTR(-ENOMEM);
	}
	c->area = type;
	c->index = index;
	spin_lock_init(&c->lock);
	for (;;) {
		best = NULL;
		for_each_hrc_server(s) {
			if (test_bit(s->nr, tried) || !hrc_placeable(s))
				continue;
			if (!best || hrc_room(s) > hrc_room(best))
				best = s;
		}
		if (!best)
			break;
		set_bit(best->nr, tried);
		err = hrc_chunk_place(best, c);
		if (!err) {
			atomic_long_inc(&hrc_chunks);
			memalloc_noio_restore(noio);
			return c;
		}
		/* Full somewhere says more than unreachable elsewhere. */
		if (ret == -ENOTCONN || err == -ENOSPC)
			ret = err;
	}
	kvfree(c);
	memalloc_noio_restore(noio);
	return ERR_PTR(ret);
}

/*
 * Free a chunk on the server. Without a connection the FREE waits until the
 * session is resumed (or the server forgets the session and the chunk).
 */
static void hrc_chunk_free(int type, unsigned long index, void *data)
{
	struct hrc_chunk *c = data;
	struct hrc_server *s = c->srv;
	struct hrc_pending_free *p;
	struct hermit_msg reply;

	down_read(&s->rwsem);
	if (c->gen && c->gen == s->gen &&
	    (READ_ONCE(s->state) != HRC_READY ||
	     hrc_ctrl_call(s, HERMIT_MSG_FREE, c->area, c->index, &reply) == -ECONNRESET)) {
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		if (p) {
			p->area = c->area;
			p->index = c->index;
			p->gen = c->gen;
			mutex_lock(&s->ctrl_mutex);
			list_add_tail(&p->node, &s->pending_frees);
			mutex_unlock(&s->ctrl_mutex);
			atomic_long_inc(&hrc_stats.frees_pending);
			atomic_long_inc(&hrc_stats.frees_deferred);
		}
	}
	up_read(&s->rwsem);
	atomic_long_dec(&s->chunks);
	atomic_long_dec(&hrc_chunks);
	kvfree(c);
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
	bool write = q->kind == HERMIT_Q_WRITE;
	unsigned int i, nr = folio_nr_pages(folio);

	if (ok && write) {
		for (i = 0; i < nr; i++) {
			set_bit(w->index + i, w->c->stored);
			clear_bit(w->index + i, w->c->lost);
		}
	}
	if (ok) {
		atomic_long_add(nr, write ? &hrc_stats.writes : &hrc_stats.reads);
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
		hermit_store_done(folio, ok ? 0 : -ENOTCONN);
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
	return !prev->registered && !w->registered && prev->c == w->c &&
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

static char hrc_plug_key[HERMIT_Q_WRITE + 1];

/* Post @w now, or batch it in the task's plug. */
static void hrc_submit(struct hrc_queue *q, struct hrc_wreq *w)
{
	struct blk_plug_cb *cb;
	struct hrc_plug *plug;

	cb = blk_check_plugged(hrc_unplug, &hrc_plug_key[q->kind], sizeof(*plug));
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
static int hrc_start(struct hrc_chunk *c, unsigned long index,
		     struct folio *folio, enum hermit_queue kind)
{
	struct hrc_server *s = c->srv;
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
	w->c = c;
	w->folio = folio;
	w->index = index;
	sg_init_table(&w->sg, 1);
	sg_set_page(&w->sg, folio_page(folio, 0), folio_size(folio), 0);
	err = rdma_rw_ctx_init(&w->ctx, qp, port, &w->sg, 1, 0,
			       c->addr + ((u64)index << PAGE_SHIFT), c->rkey,
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
 * Start storing @folio at @index on; hermit_store_done() follows once the
 * server has it. Stores never wait for the connection.
 */
static int hrc_store(void *data, unsigned long index, struct folio *folio)
{
	unsigned int noio, i, nr = folio_nr_pages(folio);
	struct hrc_chunk *c = data;
	struct hrc_server *s = c->srv;
	int err;

	if (!hrc_try_ready(s))
		return -ENOTCONN;
	noio = memalloc_noio_save();
	/* Whatever the slots held before is overwritten or given up. */
	for (i = 0; i < nr; i++)
		clear_bit(index + i, c->stored);
	err = hrc_chunk_grant(c);
	if (!err)
		err = hrc_start(c, index, folio, HERMIT_Q_WRITE);
	if (err)
		atomic_long_inc(&hrc_stats.write_errors);
	memalloc_noio_restore(noio);
	up_read(&s->rwsem);
	return err == -ECONNRESET ? -ENOTCONN : err;
}

/*
 * Whether slot @index of @c holds a page the server still has. Called with
 * rwsem held for reading.
 */
static bool hrc_readable(struct hrc_chunk *c, unsigned long index)
{
	hrc_chunk_current(c);
	return !test_bit(index, c->lost) && test_bit(index, c->stored);
}

/*
 * Wait for a usable connection, at most until hrc_load_timeout seconds
 * after it was lost and after @start (a connection that keeps breaking
 * moves the first forward); returns with rwsem held for reading.
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

static int hrc_load(void *data, unsigned long index, struct page *page)
{
	unsigned long start = jiffies;
	struct hrc_chunk *c = data;
	struct hrc_server *s = c->srv;
	int err;

	do {
		err = hrc_wait_ready(s, start);
		if (err)
			break;
		if (!hrc_readable(c, index)) {
			err = -EIO;
		} else {
			err = hrc_rdma(c, index, page, 1, HERMIT_Q_DEMAND);
			if (!err) {
				atomic_long_inc(&hrc_stats.reads);
				atomic_long_inc(&s->reads);
			}
		}
		up_read(&s->rwsem);
		/* A transfer cut by a failed connection is retried after it. */
	} while (err == -ECONNRESET);
	if (err) {
		atomic_long_inc(&hrc_stats.read_errors);
		pr_err_ratelimited("cannot read page %lu of chunk %d:%lu: %d\n",
				   index, c->area, c->index, err);
	}
	return err;
}

/*
 * Start reading @folio for swap readahead, on the prefetch queue; it is
 * not waited for, and not started while the connection is down (the page
 * is read when a fault needs it: hrc_load() waits for the connection).
 */
static int hrc_read(void *data, unsigned long index, struct folio *folio)
{
	struct hrc_chunk *c = data;
	struct hrc_server *s = c->srv;
	unsigned int noio;
	int err;

	if (!hrc_try_ready(s))
		return -ENOTCONN;
	if (!hrc_readable(c, index)) {
		err = -EIO;
	} else {
		/* No I/O: a registration may allocate. */
		noio = memalloc_noio_save();
		err = hrc_start(c, index, folio, HERMIT_Q_PREFETCH);
		memalloc_noio_restore(noio);
	}
	up_read(&s->rwsem);
	if (err)
		atomic_long_inc(&hrc_stats.read_errors);
	return err;
}

static void hrc_invalidate(void *data, unsigned long index)
{
	struct hrc_chunk *c = data;

	clear_bit(index, c->stored);
	clear_bit(index, c->lost);
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

