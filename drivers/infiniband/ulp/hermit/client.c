// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit RDMA client: the "rdma" backend, swapped-out pages kept in the
 * memory of Hermit memory servers.
 *
 * Up to HRC_MAX_SERVERS servers are given by address (hermit.server=IP:PORT
 * or /sys/kernel/debug/hermit/connect, a list); everything else is found
 * out: the RDMA device from the route, the queues from the CPUs. To each
 * server (struct hrc_server) the client opens a control connection and,
 * per CPU (up to HERMIT_MAX_QUEUE_SETS, or hermit.rdma_queues; CPUs then
 * share them), a demand-read, a prefetch-read and a write queue pair, all
 * in one protection domain. A chunk of a swap area is placed on the server
 * with the most room left (see hrc_chunk_alloc()) and stays there; that
 * server grants it on its first store as (address, rkey, length);
 * pages then move with one-sided RDMA WRITE and READ. A store posts its
 * WRITE (a large folio in one work request) into a preallocated request of
 * its CPU's write queue, waiting only for room there, and returns; the
 * completion tells the core, which then ends the folio's writeback (or
 * redirties it when the write failed). A faulting task polls for its READ
 * on its own CPU's demand queue; the pages swap readahead brings in besides
 * go the same way as stores, as READs on the prefetch queue: batched,
 * never waited for, the completion unlocks the folio.
 *
 * Servers are independent: what follows holds per server, and a server's
 * loss costs only the pages it holds.
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
 * Locking: the server's rwsem is held for reading by every transfer while
 * it is started (and a read until it completes), which uses the
 * connection's resources only while the state is READY; posted stores and
 * prefetches are counted in its writes_in_flight and reads_in_flight until
 * their completion. The resources are built and torn down only by works
 * on the server's ordered workqueue, outside of any lock: they first move
 * the state away from READY (and flush the queues when the connection
 * failed), then take and drop the rwsem for writing and wait for the
 * count to drop to 0, so that no transfer still uses them (rdma_cm's calls
 * take its handler mutexes, which must not nest in the rwsem that a page
 * fault holds mmap_lock for). Reclaim never waits for the rwsem: stores
 * and chunk requests only try it. The server's ctrl_mutex serialises its
 * control requests; hrc_config_mutex the changes to the set of servers
 * and device events (it nests outside the rwsems).
 */

#define pr_fmt(fmt) "hermit: rdma: " fmt

#include <trace/events/hermit.h>

#include "client.h"

struct hrc_server hrc_servers[HRC_MAX_SERVERS];
u8 hrc_id[HERMIT_CLIENT_ID_LEN];
bool hrc_ready;			/* initialised: servers set are connected */
DEFINE_MUTEX(hrc_config_mutex);	/* the servers set; device events */
struct hrc_stats hrc_stats;

/* The tracepoints of a session: the server as the log prints it. */
static void hrc_trace_session(struct hrc_server *s, bool up, int err)
{
	char server[64];

	if (up ? !trace_hermit_connect_enabled() : !trace_hermit_disconnect_enabled())
		return;
	snprintf(server, sizeof(server), "%pISpc", &s->addr);
	if (up)
		trace_hermit_connect(server, s->session, err);
	else
		trace_hermit_disconnect(server, s->session, err);
}

/* The shared key; no key: the server is not authenticated either. */
struct hermit_key hrc_key = HERMIT_KEY_INIT(hrc_key);

atomic_long_t hrc_chunks;
unsigned int hrc_load_timeout = 60;	/* seconds */
unsigned int hrc_max_sets;	/* room in s->queues */
unsigned int hrc_queue_sets;	/* knob; 0: one per CPU */
unsigned int hrc_merge = 1;	/* knob: pages per transfer; 1: off */
unsigned int hrc_replicas = 1;	/* knob: copies of a new chunk */

/* ---- connection ---- */

/*
 * Leaving READY starts an outage: loads give up hrc_load_timeout seconds
 * after it. The time is written before the state, so that whoever sees
 * the state changed sees the time of this outage (see hrc_wait_ready()).
 */
static void hrc_mark_down(struct hrc_server *s)
{
	if (READ_ONCE(s->state) == HRC_READY) {
		WRITE_ONCE(s->down_since, jiffies);
		smp_wmb();	/* Pairs with smp_rmb() in hrc_wait_ready(). */
	}
}

/* The connection broke: stores stop at once, the worker reconnects. */
void hrc_conn_error(struct hrc_server *s)
{
	WRITE_ONCE(s->broken, true);
	hrc_mark_down(s);
	if (cmpxchg(&s->state, HRC_READY, HRC_DOWN) == HRC_READY)
		queue_work(s->wq, &s->error_work);
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
		hrc_conn_error(q->srv);
		break;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		hrc_conn_error(q->srv);
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
void hrc_queue_kill(struct hrc_queue *q)
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

static int hrc_queue_connect(struct hrc_server *s, struct hrc_queue *q,
			     enum hermit_queue kind, int cpu)
{
	struct hermit_conn_req req = {};
	struct rdma_conn_param param = {};
	struct ib_qp_init_attr attr = {};
	struct ib_device *dev;
	int err;

	q->srv = s;
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
	err = rdma_resolve_addr(q->cm_id, NULL, (struct sockaddr *)&s->addr,
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
	if (!s->pd) {
		s->pd = ib_alloc_pd(dev, 0);
		if (IS_ERR(s->pd)) {
			err = PTR_ERR(s->pd);
			s->pd = NULL;
			return err;
		}
		s->dev = dev;
	} else if (s->dev != dev) {
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
	err = rdma_create_qp(q->cm_id, s->pd, &attr);
	if (err)
		return err;
	q->max_merge = kind == HERMIT_Q_WRITE ? q->cm_id->qp->max_write_sge :
		       q->cm_id->qp->max_read_sge;
	q->max_merge = clamp_t(u32, q->max_merge, 1, HRC_MERGE_MAX);

	req.magic = cpu_to_le32(HERMIT_PROTO_MAGIC);
	req.version = HERMIT_PROTO_VERSION;
	req.queue = kind;
	req.cpu = cpu_to_le16(cpu);
	memcpy(req.client_id, hrc_id, sizeof(req.client_id));
	if (kind == HERMIT_Q_CTRL) {
		get_random_bytes(s->nonce, sizeof(s->nonce));
		memcpy(req.token, s->nonce, sizeof(req.token));
	} else {
		u8 mac[HERMIT_MAC_LEN];

		req.counter = cpu_to_le64(++s->data_counter);
		hermit_data_mac(s->next_secret, hrc_id, s->next_session, kind,
				s->data_counter, mac);
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
static void hrc_kill_queues(struct hrc_server *s)
{
	unsigned int i;

	if (s->queues) {
		for (i = 0; i < 3 * hrc_max_sets; i++)
			hrc_queue_kill(&s->queues[i]);
	}
	hrc_queue_kill(&s->ctrl);
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
static void hrc_reap_orphans(struct hrc_server *s)
{
	unsigned int i;

	for (i = 0; s->queues && i < 3 * hrc_max_sets; i++) {
		if (READ_ONCE(s->queues[i].orphans))
			hrc_fail_orphans(&s->queues[i]);
	}
}

static bool hrc_has_orphans(struct hrc_server *s)
{
	unsigned int i;

	for (i = 0; s->queues && i < 3 * hrc_max_sets; i++) {
		if (READ_ONCE(s->queues[i].orphans))
			return true;
	}
	return false;
}

static bool hrc_idle(struct hrc_server *s)
{
	return !atomic_read(&s->writes_in_flight) &&
	       !atomic_read(&s->reads_in_flight);
}

/*
 * Wait until no transfer that saw the state READY uses the resources:
 * the waited-for ones hold rwsem, the stores and prefetches that completed
 * nothing yet are counted.
 */
static void hrc_quiesce(struct hrc_server *s)
{
	unsigned long deadline = jiffies + nsecs_to_jiffies(HRC_IO_TIMEOUT_NS);
	bool killed = false;

	WARN_ON_ONCE(READ_ONCE(s->state) == HRC_READY);
	/*
	 * Transfers hold rwsem while they wait for room in a queue or for a
	 * demand read, and what they posted completes on a working link; on
	 * a stuck one neither happens until the queues are flushed. A
	 * partly posted batch (see hrc_post_batch()) completes only by the
	 * flush too.
	 */
	while (!down_write_trylock(&s->rwsem)) {
		if (!killed && time_after(jiffies, deadline)) {
			hrc_kill_queues(s);
			killed = true;
		}
		usleep_range(1000, 2000);
	}
	up_write(&s->rwsem);
	while (!wait_event_timeout(s->wait, hrc_idle(s), HZ / 10)) {
		if (!killed && (hrc_has_orphans(s) || time_after(jiffies, deadline))) {
			hrc_kill_queues(s);
			killed = true;
		}
		if (killed)
			hrc_reap_orphans(s);
	}
}

/* Tear down every queue and the protection domain, once quiesced. */
static void hrc_teardown(struct hrc_server *s)
{
	unsigned int i;

	/* Every data queue there is room for, connected or not. */
	if (s->queues) {
		for (i = 0; i < 3 * hrc_max_sets; i++)
			hrc_queue_disconnect(&s->queues[i]);
		for (i = 0; i < 3 * hrc_max_sets; i++)
			hrc_queue_destroy(&s->queues[i]);
	}
	hrc_queue_disconnect(&s->ctrl);
	hrc_queue_destroy(&s->ctrl);
	if (s->bufs) {
		ib_dma_unmap_single(s->dev, s->bufs_dma, 2 * sizeof(*s->bufs),
				    DMA_BIDIRECTIONAL);
		kfree(s->bufs);
		s->bufs = NULL;
	}
	if (s->pd)
		ib_dealloc_pd(s->pd);
	s->pd = NULL;
	s->dev = NULL;
}

/* Connect every queue; the state is CONNECTING, no transfer runs. */
static int hrc_establish(struct hrc_server *s, bool *resumed)
{
	unsigned int set, sets;
	int kind, err;

	WRITE_ONCE(s->broken, false);
	err = hrc_queue_connect(s, &s->ctrl, HERMIT_Q_CTRL, 0);
	if (err)
		return err;
	s->bufs = kzalloc(2 * sizeof(*s->bufs), GFP_KERNEL);
	if (!s->bufs)
		return -ENOMEM;
	s->bufs_dma = ib_dma_map_single(s->dev, s->bufs, 2 * sizeof(*s->bufs),
					DMA_BIDIRECTIONAL);
	if (ib_dma_mapping_error(s->dev, s->bufs_dma)) {
		kfree(s->bufs);
		s->bufs = NULL;
		return -ENOMEM;
	}
	err = hrc_hello(s, resumed);
	if (err)
		return err;
	sets = READ_ONCE(hrc_queue_sets) ?: nr_cpu_ids;
	sets = min(sets, hrc_max_sets);
	WRITE_ONCE(s->nr_sets, sets);
	for (set = 0; set < sets; set++) {
		for (kind = HERMIT_Q_DEMAND; kind < HERMIT_Q_NR; kind++) {
			err = hrc_queue_connect(s, &s->queues[set * 3 + kind - 1],
						kind, set);
			if (err)
				return err;
		}
	}
	return READ_ONCE(s->broken) ? -ECONNRESET : 0;
}

static void hrc_connect_work(struct work_struct *work)
{
	struct hrc_server *s = container_of(to_delayed_work(work),
					    struct hrc_server, connect_work);
	unsigned int noio = memalloc_noio_save();
	bool resumed = false;
	int err;

	if (READ_ONCE(s->state) == HRC_READY)
		hrc_trace_session(s, false, 0);
	hrc_mark_down(s);
	WRITE_ONCE(s->state, HRC_CONNECTING);
	hrc_quiesce(s);
	hrc_teardown(s);
	if (!s->addr_set) {
		WRITE_ONCE(s->state, HRC_IDLE);
		wake_up_all(&s->wait);
		memalloc_noio_restore(noio);
		return;
	}
	err = hrc_establish(s, &resumed);
	down_write(&s->rwsem);
	if (err) {
		WRITE_ONCE(s->state, HRC_DOWN);
		up_write(&s->rwsem);
		hrc_teardown(s);
	} else {
		if (!resumed) {
			if (s->gen && atomic_long_read(&s->chunks))
				pr_warn("server %pISpc lost our chunks: pages no other server holds are gone, faults on them get SIGBUS\n",
					&s->addr);
			s->gen++;
			s->epoch = le64_to_cpu(s->ctrl.rep.epoch);
			s->session = s->next_session;
			memcpy(s->secret, s->next_secret, HERMIT_MAC_LEN);
			s->sess_reads0 = atomic_long_read(&s->reads);
			s->sess_writes0 = atomic_long_read(&s->writes);
		}
		s->full_until = jiffies;
		WRITE_ONCE(s->state, HRC_READY);
		up_write(&s->rwsem);
	}
	wake_up_all(&s->wait);
	memalloc_noio_restore(noio);

	if (!err) {
		/* Frees that waited for this session go out now. */
		if (resumed)
			mod_delayed_work(system_wq, &s->ping_work, 0);
		else
			hrc_mark_degraded(s);	/* its copies are empty now */

		atomic_long_inc(&hrc_stats.connects);
		s->backoff = HZ;
		s->warned = false;
		pr_info("ctrl is ready for reqs: server %pISpc over %s, %u CPUs, %u x 3 queues, %s session %llx, %s\n",
			&s->addr, dev_name(&s->dev->dev), num_possible_cpus(),
			s->nr_sets,
			resumed ? "resumed" : "new", s->session,
			READ_ONCE(hrc_key.len) ? "authenticated" :
			"no key: the server is not authenticated");
		hrc_trace_session(s, true, 0);
		return;
	}
	hrc_trace_session(s, true, err);
	atomic_long_inc(&hrc_stats.connect_failures);
	if (!s->warned)
		pr_err("cannot connect to server %pISpc: %d; swapping to disk, retrying in the background\n",
		       &s->addr, err);
	s->warned = true;
	queue_delayed_work(s->wq, &s->connect_work, s->backoff);
	s->backoff = min(s->backoff * 2, HRC_BACKOFF_MAX);
}

/* Flush, tear down and reconnect after the backoff's first step. */
static void hrc_reset(struct hrc_server *s)
{
	atomic_long_inc(&hrc_stats.disconnects);
	pr_warn("lost server %pISpc: new stores go to the other servers or to disk, reconnecting\n",
		&s->addr);
	hrc_trace_session(s, false, -ECONNRESET);
	/*
	 * Flush the queues first: waiters hold rwsem until they complete,
	 * and a graceful iWARP disconnect alone may wait for a dead peer.
	 */
	hrc_kill_queues(s);
	hrc_quiesce(s);
	hrc_teardown(s);
	s->backoff = HZ;
	queue_delayed_work(s->wq, &s->connect_work, s->backoff);
}

static void hrc_error_work(struct work_struct *work)
{
	hrc_reset(container_of(work, struct hrc_server, error_work));
}

/*
 * The RDMA device goes away: release everything on it now (its driver
 * needs its objects back), keep the chunks' bookkeeping, and reconnect
 * when a route to the server exists again.
 */
static void hrc_remove_work(struct work_struct *work)
{
	struct hrc_server *s = container_of(work, struct hrc_server, remove_work);

	if (s->dev != s->removing)
		return;
	pr_warn("device %s is going away: disconnecting from %pISpc\n",
		dev_name(&s->removing->dev), &s->addr);
	hrc_mark_down(s);
	WRITE_ONCE(s->state, HRC_DOWN);
	cancel_delayed_work(&s->connect_work);
	hrc_reset(s);
}

/* ---- devices ---- */

static int hrc_add_one(struct ib_device *dev)
{
	struct hrc_server *s;

	/* A route may exist now: retry soon instead of at the backoff. */
	mutex_lock(&hrc_config_mutex);
	for_each_hrc_server(s) {
		if (s->wq && READ_ONCE(s->state) == HRC_DOWN && s->addr_set)
			mod_delayed_work(s->wq, &s->connect_work, HZ);
	}
	mutex_unlock(&hrc_config_mutex);
	return 0;
}

static void hrc_remove_one(struct ib_device *dev, void *data)
{
	struct hrc_server *s;

	mutex_lock(&hrc_config_mutex);
	for_each_hrc_server(s) {
		if (!s->wq)
			continue;
		s->removing = dev;
		queue_work(s->wq, &s->remove_work);
		flush_work(&s->remove_work);
		s->removing = NULL;
	}
	mutex_unlock(&hrc_config_mutex);
}

static struct ib_client hrc_ib_client = {
	.name = "hermit_rdma",
	.add = hrc_add_one,
	.remove = hrc_remove_one,
};

/*
 * Give @s its workqueue, the first time it is used, and connect. Called
 * with hrc_config_mutex held (or at init), the address set.
 */
int hrc_server_start(struct hrc_server *s)
{
	if (!s->wq) {
		s->wq = alloc_ordered_workqueue("hermit_rdma%d", WQ_MEM_RECLAIM,
						s->nr);
		if (!s->wq)
			return -ENOMEM;
		queue_delayed_work(system_wq, &s->ping_work,
				   HERMIT_PING_SECS * HZ);
	}
	s->backoff = HZ;
	s->warned = false;
	mod_delayed_work(s->wq, &s->connect_work, 0);
	return 0;
}

static void hrc_server_exit(struct hrc_server *s)
{
	s->addr_set = false;
	if (s->wq) {
		/* A resumed connect queues the ping: disable it for good first. */
		disable_delayed_work_sync(&s->ping_work);
		cancel_delayed_work_sync(&s->connect_work);
		cancel_work_sync(&s->error_work);
	}
	WRITE_ONCE(s->state, HRC_IDLE);
	hrc_quiesce(s);
	hrc_teardown(s);
	hrc_drop_pending_frees(s);
	if (s->wq)
		destroy_workqueue(s->wq);
	kfree(s->queues);
}

static int hrc_server_init(struct hrc_server *s)
{
	s->nr = s - hrc_servers;
	init_rwsem(&s->rwsem);
	init_waitqueue_head(&s->wait);
	mutex_init(&s->ctrl_mutex);
	INIT_LIST_HEAD(&s->pending_frees);
	INIT_DELAYED_WORK(&s->connect_work, hrc_connect_work);
	INIT_WORK(&s->error_work, hrc_error_work);
	INIT_WORK(&s->remove_work, hrc_remove_work);
	INIT_DELAYED_WORK(&s->ping_work, hrc_ping_work);
	s->backoff = HZ;
	s->nr_sets = hrc_max_sets;
	s->queues = kcalloc(hrc_max_sets * 3, sizeof(*s->queues), GFP_KERNEL);
	return s->queues ? 0 : -ENOMEM;
}

static int __init hrc_init(void)
{
	struct hrc_server *s;
	struct dentry *dir;
	int err;

	hermit_proto_size_checks();
	BUILD_BUG_ON(((u64)HERMIT_CHUNK_PAGES << PAGE_SHIFT) != HRC_CHUNK_BYTES);
	get_random_bytes(hrc_id, sizeof(hrc_id));
	hrc_max_sets = min_t(unsigned int, nr_cpu_ids, HERMIT_MAX_QUEUE_SETS);
	for_each_hrc_server(s) {
		err = hrc_server_init(s);
		if (err)
			goto free;
	}
	err = ib_register_client(&hrc_ib_client);
	if (err)
		goto free;
	err = hermit_register_backend(&hrc_backend);
	if (err)
		goto client;
	dir = hrc_debugfs_init();
	hrc_fault_inject_init(dir);
	mutex_lock(&hrc_config_mutex);
	for_each_hrc_server(s) {
		WRITE_ONCE(s->state, s->addr_set ? HRC_DOWN : HRC_IDLE);
		if (s->addr_set && hrc_server_start(s))
			pr_err("no workqueue for server %pISpc\n", &s->addr);
	}
	hrc_ready = true;
	mutex_unlock(&hrc_config_mutex);
	return 0;
client:
	ib_unregister_client(&hrc_ib_client);
free:
	for_each_hrc_server(s)
		kfree(s->queues);
	return err;
}

/* The module is only unloaded with no swap area bound to it: no chunks. */
static void __exit hrc_exit(void)
{
	struct hrc_server *s;

	if (hermit_unregister_backend(&hrc_backend))
		pr_err("still in use at exit\n");
	hrc_debugfs_exit();
	hrc_repair_stop();
	ib_unregister_client(&hrc_ib_client);
	for_each_hrc_server(s)
		hrc_server_exit(s);
}

late_initcall(hrc_init);
module_exit(hrc_exit);

MODULE_DESCRIPTION("Hermit RDMA client: swap to the memory of other machines");
MODULE_LICENSE("GPL");

