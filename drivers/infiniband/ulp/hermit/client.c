// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit RDMA client: the "rdma" backend, swapped-out pages kept in the
 * memory of a Hermit memory server.
 *
 * One server is given by address (hermit.server=IP:PORT or
 * /sys/kernel/debug/hermit/connect); everything else is found out: the RDMA
 * device from the route, the queues from the CPUs. The client opens a
 * control connection and, per CPU (up to HERMIT_MAX_QUEUE_SETS, or
 * hermit.rdma_queues; CPUs then share them), a demand-read, a
 * prefetch-read and a write queue pair, all in one protection domain. A chunk of a swap area
 * is granted by the server on its first store as (address, rkey, length);
 * pages then move with one-sided RDMA WRITE and READ. A store posts its
 * WRITE (a large folio in one work request) into a preallocated request of
 * its CPU's write queue, waiting only for room there, and returns; the
 * completion tells the core, which then ends the folio's writeback (or
 * redirties it when the write failed). A faulting task polls for its READ
 * on its own CPU's demand queue; the pages swap readahead brings in besides
 * go the same way as stores, as READs on the prefetch queue: batched,
 * never waited for, the completion unlocks the folio.
 *
 * Trust: the control connection starts with a handshake (struct
 * hermit_hello): with a shared key (hermit.key) client and server prove to
 * each other that they know it; a session is resumed only by proving its
 * secret, which both sides derived when it began and which is never sent.
 * A client with a key refuses a server that does not prove it.
 *
 * Failures: while there is no connection, stores fail at once and the core
 * sends those pages to the swap device; a background worker reconnects with
 * exponential backoff. A fault on a page held remotely waits (killable) for
 * the connection, until hermit.rdma_load_timeout seconds after it was lost:
 * one deadline for all loads of an outage, so that swapoff or a readahead
 * window against a dead server fails in seconds, not seconds per page. A
 * chunk freed while disconnected is freed on the server once the session
 * is resumed. When the server answers a reconnect with the same epoch and
 * session, every grant is still valid; otherwise its memory is gone, the
 * pages stored there are marked lost and a fault on one of them fails with
 * an I/O error (SIGBUS) instead of reading someone else's zeroes.
 *
 * Locking: hrc.rwsem is held for reading by every transfer while it is
 * started (and a read until it completes), which uses the connection's
 * resources only while the state is READY; posted stores and prefetches
 * are counted in hrc.writes_in_flight and hrc.reads_in_flight until their
 * completion. The resources are built and
 * torn down only by works on the ordered hrc_wq, outside of any lock: they
 * first move the state away from READY (and flush the queues when the
 * connection failed), then take and drop the rwsem for writing and wait
 * for the count to drop to 0, so that no transfer still uses them (rdma_cm's
 * calls take its handler mutexes, which must not nest in the rwsem that a
 * page fault holds mmap_lock for). Reclaim never waits for the rwsem:
 * stores and chunk requests only try it. hrc.ctrl_mutex serialises control
 * requests.
 */

#define pr_fmt(fmt) "hermit: rdma: " fmt

#include <trace/events/hermit.h>

#include "client.h"

struct hrc_client hrc;
struct hrc_stats hrc_stats;

/* The tracepoints of a session: the server as the log prints it. */
static void hrc_trace_session(bool up, int err)
{
	char server[64];

	if (up ? !trace_hermit_connect_enabled() : !trace_hermit_disconnect_enabled())
		return;
	snprintf(server, sizeof(server), "%pISpc", &hrc.addr);
	if (up)
		trace_hermit_connect(server, hrc.session, err);
	else
		trace_hermit_disconnect(server, hrc.session, err);
}

/* The shared key; no key: the server is not authenticated either. */
struct hermit_key hrc_key = HERMIT_KEY_INIT(hrc_key);

struct workqueue_struct *hrc_wq;
atomic_long_t hrc_chunks;
unsigned int hrc_load_timeout = 60;	/* seconds */
unsigned int hrc_max_sets;	/* room in hrc.queues */
unsigned int hrc_queue_sets;	/* knob; 0: one per CPU */
unsigned int hrc_merge = 1;	/* knob: pages per transfer; 1: off */

#ifdef CONFIG_HERMIT_FAULT_INJECTION
static DECLARE_FAULT_ATTR(hrc_fail_ctrl_send);

static bool hrc_ctrl_send_fails(void)
{
	return should_fail(&hrc_fail_ctrl_send, 1);
}

static void hrc_fault_inject_init(struct dentry *dir)
{
	fault_create_debugfs_attr("fail_ctrl_send", dir, &hrc_fail_ctrl_send);
}
#else
static bool hrc_ctrl_send_fails(void)
{
	return false;
}

static void hrc_fault_inject_init(struct dentry *dir) {}
#endif

/* ---- connection ---- */

/*
 * Leaving READY starts an outage: loads give up hrc_load_timeout seconds
 * after it. The time is written before the state, so that whoever sees
 * the state changed sees the time of this outage (see hrc_wait_ready()).
 */
static void hrc_mark_down(void)
{
	if (READ_ONCE(hrc.state) == HRC_READY) {
		WRITE_ONCE(hrc.down_since, jiffies);
		smp_wmb();	/* Pairs with smp_rmb() in hrc_wait_ready(). */
	}
}

/* The connection broke: stores stop at once, the worker reconnects. */
void hrc_conn_error(void)
{
	WRITE_ONCE(hrc.broken, true);
	hrc_mark_down();
	if (cmpxchg(&hrc.state, HRC_READY, HRC_DOWN) == HRC_READY)
		queue_work(hrc_wq, &hrc.error_work);
}

static int hrc_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct hrc_queue *q = id->context;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		q->cm_err = 0;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		q->cm_err = 0;
		if (q->kind == HERMIT_Q_CTRL) {
			q->cm_err = hermit_conn_rep_check(ev->param.conn.private_data,
							  ev->param.conn.private_data_len);
			if (!q->cm_err)
				memcpy(&q->rep, ev->param.conn.private_data,
				       sizeof(q->rep));
		}
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
		q->cm_err = -EHOSTUNREACH;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_REJECTED:
		/* A Hermit server says why; anything else is a refusal. */
		q->cm_err = hermit_conn_rej_reason(ev->param.conn.private_data,
						   ev->param.conn.private_data_len) ?:
			    -ECONNREFUSED;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		q->cm_err = -ENOTCONN;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		/*
		 * A control call waiting for its reply learns of it at once:
		 * rdma_disconnect() moves the QP to error, under the id's QP
		 * lock, so it cannot race with the QP's destruction.
		 */
		if (q->kind == HERMIT_Q_CTRL)
			rdma_disconnect(id);
		hrc_conn_error();
		break;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		hrc_conn_error();
		break;
	default:
		break;
	}
	return 0;
}

static int hrc_cm_wait(struct hrc_queue *q)
{
	if (!wait_for_completion_timeout(&q->cm_done,
					 msecs_to_jiffies(2 * HRC_CM_TIMEOUT_MS)))
		return -ETIMEDOUT;
	return q->cm_err;
}

static void hrc_queue_disconnect(struct hrc_queue *q)
{
	if (q->cm_id && q->cm_id->qp)
		rdma_disconnect(q->cm_id);
}

/*
 * Flush everything posted on @q now: the error state completes every work
 * request at once (a graceful iWARP disconnect alone may wait for a dead
 * peer), then the connection goes.
 */
static void hrc_queue_kill(struct hrc_queue *q)
{
	struct ib_qp_attr attr = { .qp_state = IB_QPS_ERR };

	if (q->cm_id && q->cm_id->qp)
		ib_modify_qp(q->cm_id->qp, &attr, IB_QP_STATE);
	hrc_queue_disconnect(q);
}

static void hrc_queue_destroy(struct hrc_queue *q)
{
	kvfree(q->wreqs);
	q->wreqs = NULL;
	if (!q->cm_id)
		return;
	if (q->cm_id->qp)
		rdma_destroy_qp(q->cm_id);
	if (q->cq)
		ib_free_cq(q->cq);
	rdma_destroy_id(q->cm_id);
	q->cm_id = NULL;
	q->cq = NULL;
}

static int hrc_queue_connect(struct hrc_queue *q, enum hermit_queue kind, int cpu)
{
	struct hermit_conn_req req = {};
	struct rdma_conn_param param = {};
	struct ib_qp_init_attr attr = {};
	struct ib_device *dev;
	int err;

	q->kind = kind;
	q->cpu = cpu;
	sema_init(&q->slots, HRC_QUEUE_DEPTH);
	if (kind == HERMIT_Q_WRITE || kind == HERMIT_Q_PREFETCH) {
		q->wreqs = kvcalloc(HRC_QUEUE_DEPTH, sizeof(*q->wreqs), GFP_KERNEL);
		if (!q->wreqs)
			return -ENOMEM;
		bitmap_zero(q->wbusy, HRC_QUEUE_DEPTH);
	}
	spin_lock_init(&q->poll_lock);
	spin_lock_init(&q->orphan_lock);
	q->orphans = NULL;
	init_completion(&q->cm_done);
	q->cm_id = rdma_create_id(&init_net, hrc_cm_handler, q, RDMA_PS_TCP,
				  IB_QPT_RC);
	if (IS_ERR(q->cm_id)) {
		err = PTR_ERR(q->cm_id);
		q->cm_id = NULL;
		return err;
	}
	err = rdma_resolve_addr(q->cm_id, NULL, (struct sockaddr *)&hrc.addr,
				HRC_CM_TIMEOUT_MS);
	if (!err)
		err = hrc_cm_wait(q);
	if (err)
		return err;
	reinit_completion(&q->cm_done);
	err = rdma_resolve_route(q->cm_id, HRC_CM_TIMEOUT_MS);
	if (!err)
		err = hrc_cm_wait(q);
	if (err)
		return err;
	dev = q->cm_id->device;
	if (!hrc.pd) {
		hrc.pd = ib_alloc_pd(dev, 0);
		if (IS_ERR(hrc.pd)) {
			err = PTR_ERR(hrc.pd);
			hrc.pd = NULL;
			return err;
		}
		hrc.dev = dev;
	} else if (hrc.dev != dev) {
		return -EXDEV;
	}
	/* Data: room for a flushed registration, transfer, invalidation each. */
	q->cq = ib_alloc_cq(dev, q, (kind == HERMIT_Q_CTRL ? 2 : 4) * HRC_QUEUE_DEPTH + 4,
			    cpu % dev->num_comp_vectors,
			    kind == HERMIT_Q_DEMAND ? IB_POLL_DIRECT : IB_POLL_SOFTIRQ);
	if (IS_ERR(q->cq)) {
		err = PTR_ERR(q->cq);
		q->cq = NULL;
		return err;
	}
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	attr.qp_type = IB_QPT_RC;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	attr.cap.max_send_wr = HRC_QUEUE_DEPTH + 1;
	attr.cap.max_recv_wr = 2;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	if (kind != HERMIT_Q_CTRL) {
		/*
		 * Transfers go through the RDMA R/W API, which registers
		 * the sink of a READ where the device needs that (iWARP)
		 * and sizes the send queue and its MR pool from this.
		 */
		attr.cap.max_send_wr = 1;
		attr.cap.max_rdma_ctxs = HRC_QUEUE_DEPTH;
	}
	/* Neighbouring slots go in one transfer, an SGE each. */
	if (kind == HERMIT_Q_WRITE || kind == HERMIT_Q_PREFETCH)
		attr.cap.max_send_sge = clamp_t(u32, dev->attrs.max_send_sge, 1,
						HRC_MERGE_MAX);
	err = rdma_create_qp(q->cm_id, hrc.pd, &attr);
	if (err)
		return err;
	q->max_merge = kind == HERMIT_Q_WRITE ? q->cm_id->qp->max_write_sge :
		       q->cm_id->qp->max_read_sge;
	q->max_merge = clamp_t(u32, q->max_merge, 1, HRC_MERGE_MAX);

	req.magic = cpu_to_le32(HERMIT_PROTO_MAGIC);
	req.version = HERMIT_PROTO_VERSION;
	req.queue = kind;
	req.cpu = cpu_to_le16(cpu);
	memcpy(req.client_id, hrc.id, sizeof(req.client_id));
	if (kind == HERMIT_Q_CTRL) {
		get_random_bytes(hrc.nonce, sizeof(hrc.nonce));
		memcpy(req.token, hrc.nonce, sizeof(req.token));
	} else {
		u8 mac[HERMIT_MAC_LEN];

		req.counter = cpu_to_le64(++hrc.data_counter);
		hermit_data_mac(hrc.next_secret, hrc.id, hrc.next_session, kind,
				hrc.data_counter, mac);
		memcpy(req.token, mac, sizeof(req.token));
		memzero_explicit(mac, sizeof(mac));
	}
	param.private_data = &req;
	param.private_data_len = sizeof(req);
	param.initiator_depth = min_t(int, 16, dev->attrs.max_qp_init_rd_atom);
	param.responder_resources = 0;
	param.retry_count = 7;
	param.rnr_retry_count = 7;
	reinit_completion(&q->cm_done);
	err = rdma_connect(q->cm_id, &param);
	if (!err)
		err = hrc_cm_wait(q);
	return err;
}

/* Flush everything posted on every queue; see hrc_queue_kill(). */
static void hrc_kill_queues(void)
{
	unsigned int i;

	if (hrc.queues) {
		for (i = 0; i < 3 * hrc_max_sets; i++)
			hrc_queue_kill(&hrc.queues[i]);
	}
	hrc_queue_kill(&hrc.ctrl);
}

/*
 * Fail the batches of @q that were partly posted, once their posted work
 * requests are certainly over: the queue is flushed by now, and draining
 * it waits for the flush to reach the completion queue.
 */
static void hrc_fail_orphans(struct hrc_queue *q)
{
	struct hrc_wreq *w;

	ib_drain_sq(q->cm_id->qp);
	spin_lock_bh(&q->orphan_lock);
	w = q->orphans;
	q->orphans = NULL;
	spin_unlock_bh(&q->orphan_lock);
	hrc_batch_done(w, false);
}

/* Fail every partly posted batch; the queues are flushed already. */
static void hrc_reap_orphans(void)
{
	unsigned int i;

	for (i = 0; hrc.queues && i < 3 * hrc_max_sets; i++) {
		if (READ_ONCE(hrc.queues[i].orphans))
			hrc_fail_orphans(&hrc.queues[i]);
	}
}

static bool hrc_has_orphans(void)
{
	unsigned int i;

	for (i = 0; hrc.queues && i < 3 * hrc_max_sets; i++) {
		if (READ_ONCE(hrc.queues[i].orphans))
			return true;
	}
	return false;
}

static bool hrc_idle(void)
{
	return !atomic_read(&hrc.writes_in_flight) &&
	       !atomic_read(&hrc.reads_in_flight);
}

/*
 * Wait until no transfer that saw the state READY uses the resources:
 * the waited-for ones hold rwsem, the stores and prefetches that completed
 * nothing yet are counted.
 */
static void hrc_quiesce(void)
{
	unsigned long deadline = jiffies + nsecs_to_jiffies(HRC_IO_TIMEOUT_NS);
	bool killed = false;

	WARN_ON_ONCE(READ_ONCE(hrc.state) == HRC_READY);
	/*
	 * Transfers hold rwsem while they wait for room in a queue or for a
	 * demand read, and what they posted completes on a working link; on
	 * a stuck one neither happens until the queues are flushed. A
	 * partly posted batch (see hrc_post_batch()) completes only by the
	 * flush too.
	 */
	while (!down_write_trylock(&hrc.rwsem)) {
		if (!killed && time_after(jiffies, deadline)) {
			hrc_kill_queues();
			killed = true;
		}
		usleep_range(1000, 2000);
	}
	up_write(&hrc.rwsem);
	while (!wait_event_timeout(hrc.wait, hrc_idle(), HZ / 10)) {
		if (!killed && (hrc_has_orphans() || time_after(jiffies, deadline))) {
			hrc_kill_queues();
			killed = true;
		}
		if (killed)
			hrc_reap_orphans();
	}
}

/* Tear down every queue and the protection domain, once quiesced. */
static void hrc_teardown(void)
{
	unsigned int i;

	/* Every data queue there is room for, connected or not. */
	if (hrc.queues) {
		for (i = 0; i < 3 * hrc_max_sets; i++)
			hrc_queue_disconnect(&hrc.queues[i]);
		for (i = 0; i < 3 * hrc_max_sets; i++)
			hrc_queue_destroy(&hrc.queues[i]);
	}
	hrc_queue_disconnect(&hrc.ctrl);
	hrc_queue_destroy(&hrc.ctrl);
	if (hrc.bufs) {
		ib_dma_unmap_single(hrc.dev, hrc.bufs_dma, 2 * sizeof(*hrc.bufs),
				    DMA_BIDIRECTIONAL);
		kfree(hrc.bufs);
		hrc.bufs = NULL;
	}
	if (hrc.pd)
		ib_dealloc_pd(hrc.pd);
	hrc.pd = NULL;
	hrc.dev = NULL;
}

static void hrc_ctrl_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct hrc_req *req = container_of(wc->wr_cqe, struct hrc_req, cqe);

	req->status = wc->status;
	/* A failed control transfer means a dead queue pair: rebuild. */
	if (wc->status != IB_WC_SUCCESS && wc->status != IB_WC_WR_FLUSH_ERR)
		hrc_conn_error();
	complete(&req->done);
}

/* Connect every queue; the state is CONNECTING, no transfer runs. */
static int hrc_hello(bool *resumed);

static int hrc_establish(bool *resumed)
{
	unsigned int set, sets;
	int kind, err;

	WRITE_ONCE(hrc.broken, false);
	err = hrc_queue_connect(&hrc.ctrl, HERMIT_Q_CTRL, 0);
	if (err)
		return err;
	hrc.bufs = kzalloc(2 * sizeof(*hrc.bufs), GFP_KERNEL);
	if (!hrc.bufs)
		return -ENOMEM;
	hrc.bufs_dma = ib_dma_map_single(hrc.dev, hrc.bufs, 2 * sizeof(*hrc.bufs),
					 DMA_BIDIRECTIONAL);
	if (ib_dma_mapping_error(hrc.dev, hrc.bufs_dma)) {
		kfree(hrc.bufs);
		hrc.bufs = NULL;
		return -ENOMEM;
	}
	err = hrc_hello(resumed);
	if (err)
		return err;
	sets = READ_ONCE(hrc_queue_sets) ?: nr_cpu_ids;
	sets = min(sets, hrc_max_sets);
	WRITE_ONCE(hrc.nr_sets, sets);
	for (set = 0; set < sets; set++) {
		for (kind = HERMIT_Q_DEMAND; kind < HERMIT_Q_NR; kind++) {
			err = hrc_queue_connect(&hrc.queues[set * 3 + kind - 1],
						kind, set);
			if (err)
				return err;
		}
	}
	return READ_ONCE(hrc.broken) ? -ECONNRESET : 0;
}

static void hrc_connect_work(struct work_struct *work)
{
	unsigned int noio = memalloc_noio_save();
	bool resumed = false;
	int err;

	if (READ_ONCE(hrc.state) == HRC_READY)
		hrc_trace_session(false, 0);
	hrc_mark_down();
	WRITE_ONCE(hrc.state, HRC_CONNECTING);
	hrc_quiesce();
	hrc_teardown();
	if (!hrc.addr_set) {
		WRITE_ONCE(hrc.state, HRC_IDLE);
		wake_up_all(&hrc.wait);
		memalloc_noio_restore(noio);
		return;
	}
	err = hrc_establish(&resumed);
	down_write(&hrc.rwsem);
	if (err) {
		WRITE_ONCE(hrc.state, HRC_DOWN);
		up_write(&hrc.rwsem);
		hrc_teardown();
	} else {
		if (!resumed) {
			if (hrc.gen && atomic_long_read(&hrc_chunks))
				pr_warn("server %pISpc lost our chunks: pages stored there are gone, faults on them get SIGBUS\n",
					&hrc.addr);
			hrc.gen++;
			hrc.epoch = le64_to_cpu(hrc.ctrl.rep.epoch);
			hrc.session = hrc.next_session;
			memcpy(hrc.secret, hrc.next_secret, HERMIT_MAC_LEN);
			hrc.sess_reads0 = atomic_long_read(&hrc_stats.reads);
			hrc.sess_writes0 = atomic_long_read(&hrc_stats.writes);
		}
		hrc.full_until = jiffies;
		WRITE_ONCE(hrc.state, HRC_READY);
		up_write(&hrc.rwsem);
	}
	wake_up_all(&hrc.wait);
	memalloc_noio_restore(noio);

	if (!err) {
		/* Frees that waited for this session go out now. */
		if (resumed)
			mod_delayed_work(system_wq, &hrc.ping_work, 0);
		atomic_long_inc(&hrc_stats.connects);
		hrc.backoff = HZ;
		hrc.warned = false;
		pr_info("ctrl is ready for reqs: server %pISpc over %s, %u CPUs, %u x 3 queues, %s session %llx, %s\n",
			&hrc.addr, dev_name(&hrc.dev->dev), num_possible_cpus(),
			hrc.nr_sets,
			resumed ? "resumed" : "new", hrc.session,
			READ_ONCE(hrc_key.len) ? "authenticated" :
			"no key: the server is not authenticated");
		hrc_trace_session(true, 0);
		return;
	}
	hrc_trace_session(true, err);
	atomic_long_inc(&hrc_stats.connect_failures);
	if (!hrc.warned)
		pr_err("cannot connect to server %pISpc: %d; swapping to disk, retrying in the background\n",
		       &hrc.addr, err);
	hrc.warned = true;
	queue_delayed_work(hrc_wq, &hrc.connect_work, hrc.backoff);
	hrc.backoff = min(hrc.backoff * 2, HRC_BACKOFF_MAX);
}

static void hrc_error_work(struct work_struct *work)
{
	atomic_long_inc(&hrc_stats.disconnects);
	pr_warn("lost server %pISpc: new stores go to disk, reconnecting\n",
		&hrc.addr);
	hrc_trace_session(false, -ECONNRESET);
	/*
	 * Flush the queues first: waiters hold rwsem until they complete,
	 * and a graceful iWARP disconnect alone may wait for a dead peer.
	 */
	hrc_kill_queues();
	hrc_quiesce();
	hrc_teardown();
	hrc.backoff = HZ;
	queue_delayed_work(hrc_wq, &hrc.connect_work, hrc.backoff);
}

/*
 * The RDMA device goes away: release everything on it now (its driver
 * needs its objects back), keep the chunks' bookkeeping, and reconnect
 * when a route to the server exists again.
 */
static void hrc_remove_work(struct work_struct *work)
{
	if (hrc.dev != hrc.removing)
		return;
	pr_warn("device %s is going away: disconnecting from %pISpc\n",
		dev_name(&hrc.removing->dev), &hrc.addr);
	hrc_mark_down();
	WRITE_ONCE(hrc.state, HRC_DOWN);
	cancel_delayed_work(&hrc.connect_work);
	hrc_error_work(work);
}

/*
 * Send the message in bufs[1] on the control connection and receive the
 * reply into bufs[0]. Called with ctrl_mutex held, and rwsem for reading
 * or the state CONNECTING.
 */
static int hrc_ctrl_xfer(void)
{
	struct hrc_req rx = { .cqe.done = hrc_ctrl_done };
	struct hrc_req tx = { .cqe.done = hrc_ctrl_done };
	const struct hermit_msg *m = &hrc.bufs[1];
	struct ib_sge rsge = {
		.addr = hrc.bufs_dma,
		.length = sizeof(*m),
		.lkey = hrc.pd->local_dma_lkey,
	};
	struct ib_sge tsge = {
		.addr = hrc.bufs_dma + sizeof(*m),
		.length = sizeof(*m),
		.lkey = hrc.pd->local_dma_lkey,
	};
	struct ib_recv_wr rwr = { .wr_cqe = &rx.cqe, .sg_list = &rsge, .num_sge = 1 };
	struct ib_send_wr swr = {
		.wr_cqe = &tx.cqe,
		.sg_list = &tsge,
		.num_sge = 1,
		.opcode = IB_WR_SEND,
		.send_flags = IB_SEND_SIGNALED,
	};
	struct ib_qp *qp = hrc.ctrl.cm_id->qp;
	int err;

	lockdep_assert_held(&hrc.ctrl_mutex);
	init_completion(&rx.done);
	init_completion(&tx.done);
	ib_dma_sync_single_for_device(hrc.dev, hrc.bufs_dma, 2 * sizeof(*m),
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
		hrc_conn_error();
		hrc_queue_kill(&hrc.ctrl);
		wait_for_completion(&rx.done);
	}
	if (err)
		return -ECONNRESET;
	wait_for_completion(&tx.done);
	if (rx.status != IB_WC_SUCCESS || tx.status != IB_WC_SUCCESS)
		return -ECONNRESET;
	ib_dma_sync_single_for_cpu(hrc.dev, hrc.bufs_dma, sizeof(*m),
				   DMA_BIDIRECTIONAL);
	return 0;
broken:
	hrc_conn_error();
	return -ECONNRESET;
}

/*
 * A control request and its reply. Called with rwsem held for reading and
 * ctrl_mutex held.
 */
static int __hrc_ctrl_call(u8 type, u32 area, u64 index, struct hermit_msg *reply)
{
	struct hermit_msg *m = &hrc.bufs[1];
	u64 tag = ++hrc.tag;
	int err;

	hermit_msg_init(m, type, tag, area, index);
	if (type == HERMIT_MSG_PING) {
		m->addr = cpu_to_le64(atomic_long_read(&hrc_stats.reads) -
				      hrc.sess_reads0);
		m->length = cpu_to_le64(atomic_long_read(&hrc_stats.writes) -
					hrc.sess_writes0);
	}
	err = hrc_ctrl_xfer();
	if (err)
		return err;
	memcpy(reply, &hrc.bufs[0], sizeof(*reply));
	err = hermit_msg_check(reply, sizeof(*reply), false);
	/* Every reply type follows its request type. */
	if (!err && (le64_to_cpu(reply->tag) != tag || reply->type != type + 1))
		err = -EPROTO;
	if (err) {
		pr_err_ratelimited("bad reply from the server: %d\n", err);
		hrc_conn_error();
	}
	return err;
}

/*
 * The handshake on a new control connection: resume our session when the
 * server still has it (proving its secret), else start one (proving the
 * key, if we have one); then check the server's proof. Sets the session and
 * secret that the data queues present. The state is CONNECTING.
 */
static int hrc_hello(bool *resumed)
{
	const struct hermit_conn_rep *rep = &hrc.ctrl.rep;
	struct hermit_hello *h = (struct hermit_hello *)&hrc.bufs[1];
	struct hermit_hello *w = (struct hermit_hello *)&hrc.bufs[0];
	u32 flags = le32_to_cpu(rep->flags);
	u8 key[HERMIT_KEY_MAX], mac[HERMIT_MAC_LEN];
	int klen = hermit_key_get(&hrc_key, key);
	u64 tag, session;
	bool resume;
	int err;

	/* A session is resumed by its secret, whatever the keys are now. */
	resume = (flags & HERMIT_REP_RESUMED) && hrc.session &&
		 le64_to_cpu(rep->epoch) == hrc.epoch &&
		 le64_to_cpu(rep->session) == hrc.session;
	err = -EACCES;
	if (!resume && klen && !(flags & HERMIT_REP_AUTH)) {
		pr_err_ratelimited("server %pISpc has no key, so it cannot prove ours: refused\n",
				   &hrc.addr);
		goto out;
	}
	if (!resume && !klen && (flags & HERMIT_REP_AUTH)) {
		pr_err_ratelimited("server %pISpc requires a key (hermit.key)\n",
				   &hrc.addr);
		goto out;
	}
	tag = ++hrc.tag;
	hermit_hello_init(h, HERMIT_MSG_HELLO, tag, resume,
			  resume ? hrc.session : 0);
	if (resume) {
		hermit_mac(hrc.secret, HERMIT_MAC_LEN, HERMIT_MAC_RESUME_CLIENT,
			   hrc.nonce, rep->nonce, hrc.id, hrc.session, h->mac);
	} else if (klen) {
		hermit_mac(key, klen, HERMIT_MAC_CLIENT, hrc.nonce, rep->nonce,
			   hrc.id, 0, h->mac);
	}
	mutex_lock(&hrc.ctrl_mutex);
	err = hrc_ctrl_xfer();
	mutex_unlock(&hrc.ctrl_mutex);
	if (err)
		goto out;
	err = hermit_hello_check(w, sizeof(*w), HERMIT_MSG_WELCOME);
	session = le64_to_cpu(w->session);
	if (!err && (le64_to_cpu(w->tag) != tag || !session ||
		     !!(le32_to_cpu(w->flags) & HERMIT_REP_RESUMED) != resume ||
		     (resume && session != hrc.session)))
		err = -EPROTO;
	if (err) {
		pr_err_ratelimited("bad WELCOME from the server: %d\n", err);
		goto out;
	}
	if (resume)
		hermit_mac(hrc.secret, HERMIT_MAC_LEN, HERMIT_MAC_RESUME_SERVER,
			   hrc.nonce, rep->nonce, hrc.id, session, mac);
	else if (klen)
		hermit_mac(key, klen, HERMIT_MAC_SERVER, hrc.nonce, rep->nonce,
			   hrc.id, session, mac);
	if ((resume || klen) && crypto_memneq(mac, w->mac, HERMIT_MAC_LEN)) {
		pr_err_ratelimited("server %pISpc failed to prove the %s: refused\n",
				   &hrc.addr, resume ? "session's secret" : "key");
		err = -EACCES;
		goto out;
	}
	hrc.next_session = session;
	if (resume)
		memcpy(hrc.next_secret, hrc.secret, HERMIT_MAC_LEN);
	else
		hermit_mac(key, klen, HERMIT_MAC_SECRET, hrc.nonce, rep->nonce,
			   hrc.id, session, hrc.next_secret);
	*resumed = resume;
out:
	memzero_explicit(key, sizeof(key));
	memzero_explicit(mac, sizeof(mac));
	return err;
}

/* Forget a deferred FREE of a chunk that is asked for again. */
static void hrc_pending_free_cancel(u32 area, u64 index)
{
	struct hrc_pending_free *p, *n;

	list_for_each_entry_safe(p, n, &hrc.pending_frees, node) {
		if (p->area == area && p->index == index) {
			list_del(&p->node);
			kfree(p);
			atomic_long_dec(&hrc_stats.frees_pending);
		}
	}
}

/* As __hrc_ctrl_call(). Called with rwsem held for reading. */
int hrc_ctrl_call(u8 type, u32 area, u64 index, struct hermit_msg *reply)
{
	int err;

	mutex_lock(&hrc.ctrl_mutex);
	/* The server re-grants a chunk it still has: no FREE may follow. */
	if (type == HERMIT_MSG_ALLOC)
		hrc_pending_free_cancel(area, index);
	err = __hrc_ctrl_call(type, area, index, reply);
	mutex_unlock(&hrc.ctrl_mutex);
	return err;
}

/*
 * Send the FREEs that waited for this session; drop those of a session the
 * server has lost (it freed their chunks itself). Called with rwsem held
 * for reading, state READY.
 */
static void hrc_send_pending_frees(void)
{
	struct hrc_pending_free *p, *n;
	struct hermit_msg reply;

	mutex_lock(&hrc.ctrl_mutex);
	list_for_each_entry_safe(p, n, &hrc.pending_frees, node) {
		if (p->gen == hrc.gen &&
		    __hrc_ctrl_call(HERMIT_MSG_FREE, p->area, p->index, &reply))
			break;
		list_del(&p->node);
		kfree(p);
		atomic_long_dec(&hrc_stats.frees_pending);
	}
	mutex_unlock(&hrc.ctrl_mutex);
}

/*
 * Whether @c holds a grant of the current session. A grant from a session
 * the server has lost turns every page stored under it into a lost page.
 * Called with rwsem held for reading.
 */
bool hrc_chunk_current(struct hrc_chunk *c)
{
	bool granted;
	long lost;

	spin_lock(&c->lock);
	if (c->gen && c->gen != hrc.gen) {
		bitmap_or(c->lost, c->lost, c->stored, HERMIT_CHUNK_PAGES);
		lost = bitmap_weight(c->stored, HERMIT_CHUNK_PAGES);
		bitmap_zero(c->stored, HERMIT_CHUNK_PAGES);
		c->gen = 0;
		atomic_long_add(lost, &hrc_stats.lost);
	}
	granted = c->gen;
	spin_unlock(&c->lock);
	return granted;
}

/*
 * Make @c usable for stores: ask the server for room unless it holds a
 * grant of the current session. Called with rwsem held for reading.
 * Returns 0 or a negative errno.
 */
int hrc_chunk_grant(struct hrc_chunk *c)
{
	struct hermit_msg reply;
	int err;

	if (hrc_chunk_current(c))
		return 0;
	if (time_before(jiffies, READ_ONCE(hrc.full_until)))
		return -ENOSPC;

	err = hrc_ctrl_call(HERMIT_MSG_ALLOC, c->area, c->index, &reply);
	if (!err)
		err = hermit_grant_check(&reply, c->area, c->index, HRC_CHUNK_BYTES);
	if (err == -ENOSPC) {
		atomic_long_inc(&hrc_stats.refused);
		WRITE_ONCE(hrc.full_until, jiffies + HZ);
	}
	if (err)
		return err;
	spin_lock(&c->lock);
	c->addr = le64_to_cpu(reply.addr);
	c->rkey = le32_to_cpu(reply.rkey);
	c->gen = hrc.gen;
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
static void hrc_check_async(void)
{
	unsigned long posted, old = jiffies - nsecs_to_jiffies(HRC_IO_TIMEOUT_NS);
	struct hrc_queue *q;
	unsigned int i, n;

	for (n = 0; n < 3 * READ_ONCE(hrc.nr_sets); n++) {
		q = &hrc.queues[n];
		if (!q->wreqs)
			continue;
		for_each_set_bit(i, q->wbusy, HRC_QUEUE_DEPTH) {
			posted = READ_ONCE(q->wreqs[i].posted);
			if (posted && time_before(posted, old)) {
				pr_warn("a %s did not complete in %d s\n",
					q->kind == HERMIT_Q_WRITE ? "write" : "prefetch",
					(int)(HRC_IO_TIMEOUT_NS / NSEC_PER_SEC));
				hrc_conn_error();
				return;
			}
		}
	}
}

/* Tell the server this client is alive; a dead server shows up here too. */
static void hrc_ping_work(struct work_struct *work)
{
	struct hermit_msg reply;

	if (READ_ONCE(hrc.state) == HRC_READY && down_read_trylock(&hrc.rwsem)) {
		if (READ_ONCE(hrc.state) == HRC_READY)
			hrc_check_async();
		if (READ_ONCE(hrc.state) == HRC_READY)
			hrc_send_pending_frees();
		if (READ_ONCE(hrc.state) == HRC_READY)
			hrc_ctrl_call(HERMIT_MSG_PING, 0, 0, &reply);
		up_read(&hrc.rwsem);
	}
	queue_delayed_work(system_wq, &hrc.ping_work, HERMIT_PING_SECS * HZ);
}

/* ---- devices ---- */

static int hrc_add_one(struct ib_device *dev)
{
	/* A route may exist now: retry soon instead of at the backoff. */
	if (READ_ONCE(hrc.state) == HRC_DOWN && hrc.addr_set)
		mod_delayed_work(hrc_wq, &hrc.connect_work, HZ);
	return 0;
}

static void hrc_remove_one(struct ib_device *dev, void *data)
{
	hrc.removing = dev;
	queue_work(hrc_wq, &hrc.remove_work);
	flush_work(&hrc.remove_work);
	hrc.removing = NULL;
}

static struct ib_client hrc_ib_client = {
	.name = "hermit_rdma",
	.add = hrc_add_one,
	.remove = hrc_remove_one,
};

static int __init hrc_init(void)
{
	struct dentry *dir;
	int err;

	hermit_proto_size_checks();
	BUILD_BUG_ON(((u64)HERMIT_CHUNK_PAGES << PAGE_SHIFT) != HRC_CHUNK_BYTES);
	get_random_bytes(hrc.id, sizeof(hrc.id));
	init_rwsem(&hrc.rwsem);
	init_waitqueue_head(&hrc.wait);
	mutex_init(&hrc.ctrl_mutex);
	INIT_LIST_HEAD(&hrc.pending_frees);
	INIT_DELAYED_WORK(&hrc.connect_work, hrc_connect_work);
	INIT_WORK(&hrc.error_work, hrc_error_work);
	INIT_WORK(&hrc.remove_work, hrc_remove_work);
	INIT_DELAYED_WORK(&hrc.ping_work, hrc_ping_work);
	hrc.backoff = HZ;
	hrc_max_sets = min_t(unsigned int, nr_cpu_ids, HERMIT_MAX_QUEUE_SETS);
	hrc.nr_sets = hrc_max_sets;
	hrc.queues = kcalloc(hrc_max_sets * 3, sizeof(*hrc.queues), GFP_KERNEL);
	if (!hrc.queues)
		return -ENOMEM;
	err = -ENOMEM;
	hrc_wq = alloc_ordered_workqueue("hermit_rdma", WQ_MEM_RECLAIM);
	if (!hrc_wq)
		goto free;
	err = ib_register_client(&hrc_ib_client);
	if (err)
		goto wq;
	err = hermit_register_backend(&hrc_backend);
	if (err)
		goto client;
	dir = hrc_debugfs_init();
	hrc_fault_inject_init(dir);
	WRITE_ONCE(hrc.state, hrc.addr_set ? HRC_DOWN : HRC_IDLE);
	if (hrc.addr_set)
		queue_delayed_work(hrc_wq, &hrc.connect_work, 0);
	queue_delayed_work(system_wq, &hrc.ping_work, HERMIT_PING_SECS * HZ);
	return 0;
client:
	ib_unregister_client(&hrc_ib_client);
wq:
	destroy_workqueue(hrc_wq);
	hrc_wq = NULL;
free:
	kfree(hrc.queues);
	return err;
}

/* The module is only unloaded with no swap area bound to it: no chunks. */
static void __exit hrc_exit(void)
{
	if (hermit_unregister_backend(&hrc_backend))
		pr_err("still in use at exit\n");
	hrc_debugfs_exit();
	ib_unregister_client(&hrc_ib_client);
	hrc.addr_set = false;
	/* A resumed connect queues the ping: disable it for good first. */
	disable_delayed_work_sync(&hrc.ping_work);
	cancel_delayed_work_sync(&hrc.connect_work);
	cancel_work_sync(&hrc.error_work);
	WRITE_ONCE(hrc.state, HRC_IDLE);
	hrc_quiesce();
	hrc_teardown();
	mutex_lock(&hrc.ctrl_mutex);
	while (!list_empty(&hrc.pending_frees)) {
		struct hrc_pending_free *p = list_first_entry(&hrc.pending_frees,
							      struct hrc_pending_free, node);

		list_del(&p->node);
		kfree(p);
	}
	mutex_unlock(&hrc.ctrl_mutex);
	destroy_workqueue(hrc_wq);
	kfree(hrc.queues);
}

late_initcall(hrc_init);
module_exit(hrc_exit);

MODULE_DESCRIPTION("Hermit RDMA client: swap to the memory of other machines");
MODULE_LICENSE("GPL");

