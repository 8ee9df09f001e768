/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit RDMA client: what its parts share. client.c holds the connection
 * and its queues, client-ctrl.c the control path (handshake, grants, FREEs,
 * PINGs), client-io.c the data path (the backend's ops), client-knobs.c the
 * knobs and statistics; client.c describes the design.
 */
#ifndef _HERMIT_CLIENT_H
#define _HERMIT_CLIENT_H

#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include <linux/hermit_backend.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <crypto/utils.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <rdma/rw.h>

#include "hermit_rdma.h"

#define HRC_CHUNK_BYTES		HERMIT_PROTO_CHUNK_BYTES
/* Memory servers one client uses at most. */
#define HRC_MAX_SERVERS		8
/* Copies of a chunk, each on another server, at most (hermit.replicas). */
#define HRC_REPLICAS_MAX	2
/* Copies a chunk has room for: one more while one moves off a server. */
#define HRC_COPIES_MAX		(HRC_REPLICAS_MAX + 1)
#define HRC_QUEUE_DEPTH		128
/* Transfers posted with one doorbell at most; see struct hrc_plug. */
#define HRC_BATCH_MAX		16
/* Pages one work request carries at most: neighbouring slots merged. */
#define HRC_MERGE_MAX		16
#define HRC_CM_TIMEOUT_MS	3000
#define HRC_CTRL_TIMEOUT	(15 * HZ)
#define HRC_BACKOFF_MAX		(30 * HZ)
/* How long a demand read spins before it also sleeps between polls. */
#define HRC_SPIN_NS		(50 * NSEC_PER_USEC)
/* A transfer not completed by then means a broken connection. */
#define HRC_IO_TIMEOUT_NS	(30 * NSEC_PER_SEC)

enum hrc_state {
	HRC_IDLE,		/* no server configured */
	HRC_CONNECTING,
	HRC_READY,
	HRC_DOWN,		/* reconnecting */
};

struct hrc_wreq;
struct hrc_server;
struct hrc_copy;

struct hrc_queue {
	struct hrc_server *srv;
	struct rdma_cm_id *cm_id;
	struct ib_cq *cq;
	struct semaphore slots;		/* free send queue entries */
	struct hrc_wreq *wreqs;		/* write, prefetch: [HRC_QUEUE_DEPTH] */
	DECLARE_BITMAP(wbusy, HRC_QUEUE_DEPTH);	/* wreqs in use */
	spinlock_t orphan_lock;
	struct hrc_wreq *orphans;	/* partly posted batches; see hrc_post_batch() */
	spinlock_t poll_lock;		/* one poller of a direct CQ */
	struct completion cm_done;
	int cm_err;
	u8 kind;
	int cpu;
	unsigned int max_merge;		/* SGEs of one transfer the QP takes */
	struct hermit_conn_rep rep;
};

/* One transfer or control request; lives on its waiter's stack. */
struct hrc_req {
	struct ib_cqe cqe;
	struct completion done;
	int finished;
	enum ib_wc_status status;
};

/*
 * An asynchronous transfer, preallocated: HRC_QUEUE_DEPTH per write queue
 * (stores) and per prefetch queue (readahead).
 */
struct hrc_wreq {
	struct ib_cqe cqe;
	struct hrc_queue *q;
	struct hrc_copy *cp;
	struct folio *folio;
	unsigned long index;
	unsigned long posted;		/* jiffies (never 0); 0: not posted */
	struct hrc_wreq *next;		/* in its batch */
	struct hrc_wreq *first;		/* of its batch, if it is the last */
	bool registered;
	struct scatterlist sg;
	struct rdma_rw_ctx ctx;
	/* The work request of a run of neighbours this one heads. */
	struct ib_rdma_wr mwr;
	struct ib_sge msge[HRC_MERGE_MAX];
};

/* One copy of a chunk, on one server. */
struct hrc_copy {
	struct hrc_chunk *chunk;
	struct hrc_server *srv;		/* NULL: no copy here; else fixed */
	/* Moved off its draining server: not used again, holds nothing. */
	bool retired;
	u64 gen;			/* session generation of the grant; 0: none */
	u64 addr;
	u32 rkey;
	/* Slots whose page this copy holds. */
	unsigned long stored[BITS_TO_LONGS(HERMIT_CHUNK_PAGES)];
};

/*
 * A store's state at its first slot (hrc_chunk.wstate): the copies still
 * being written in the low bits, HRC_W_OK added for each written.
 */
#define HRC_W_LEFT		0xff
#define HRC_W_OK		0x100

struct hrc_chunk {
	int area;
	unsigned long index;
	spinlock_t lock;		/* the copies' gen, addr, rkey; lost grants */
	struct list_head node;		/* in hrc_chunk_list, or empty: freed */
	unsigned int want;		/* copies asked for */
	bool degraded;			/* a copy may be missing or lack pages */
	bool repairing;			/* the worker has it; see client-io.c */
	int repair_dst;			/* copy being written by it, or -1 */
	atomic_t wseq;			/* stores and invalidations begun */
	atomic_t writing;		/* stores under way */
	struct hrc_copy copy[HRC_COPIES_MAX];
	atomic_t wstate[HERMIT_CHUNK_PAGES];
};

/*
 * The client's connection to one memory server. Slots of hrc_servers[] are
 * used while addr_set; a slot is reused only once its chunks are gone.
 */
struct hrc_server {
	int nr;				/* index in hrc_servers[] */
	struct workqueue_struct *wq;	/* ordered: connects, teardowns */
	struct rw_semaphore rwsem;
	atomic_t writes_in_flight;	/* posted stores not completed yet */
	atomic_t reads_in_flight;	/* posted prefetches, likewise */
	int state;
	bool broken;			/* a queue failed while connecting */
	wait_queue_head_t wait;
	struct sockaddr_storage addr;
	bool addr_set;
	bool draining;			/* to be forgotten: its copies move away */
	long drain_left;		/* worker's: chunks at the last progress */
	unsigned long drain_since;	/* worker's: jiffies of that progress */
	u64 epoch, session, gen;
	u8 secret[HERMIT_MAC_LEN];	/* of the session; never sent */
	/* The session the connection being built belongs to, and its secret. */
	u64 next_session;
	u8 next_secret[HERMIT_MAC_LEN];
	u8 nonce[HERMIT_NONCE_LEN];	/* ours, of the control connection */
	u64 data_counter;		/* of data connect requests; never reused */
	/* Pages held, read and written; reads and writes when the session began (for PINGs). */
	atomic_long_t chunks, lost;
	atomic_long_t reads, writes;
	long sess_reads0, sess_writes0;
	struct ib_device *dev;
	struct ib_pd *pd;
	struct hrc_queue ctrl;
	struct hrc_queue *queues;	/* [set * 3 + kind - 1] */
	unsigned int nr_sets;		/* connected; changed only quiesced */
	struct mutex ctrl_mutex;	/* one control request at a time */
	struct hermit_msg *bufs;	/* [0]: reply, [1]: request */
	u64 bufs_dma;
	u64 tag;
	struct delayed_work connect_work;
	struct work_struct error_work;
	struct work_struct remove_work;
	struct delayed_work ping_work;
	struct ib_device *removing;
	unsigned long down_since;	/* jiffies when READY was left */
	struct list_head pending_frees;	/* under ctrl_mutex */
	unsigned long backoff;
	unsigned long full_until;
	bool warned;
};

struct hrc_stats {
	atomic_long_t read_errors, write_errors, lost;
	atomic_long_t connects, connect_failures, disconnects, grants, refused;
	atomic_long_t frees_pending, frees_deferred;
	atomic_long_t mr_transfers;	/* through a registered MR (iWARP READ) */
	atomic_t writes_in_flight_max;
	atomic_long_t write_requests, write_posts;	/* folios; doorbells */
	atomic_long_t prefetch_requests, prefetch_posts;
	/* transfers that went in the work request of the slot before */
	atomic_long_t write_merged, prefetch_merged;
	/* stores written to fewer copies than hermit.replicas asks */
	atomic_long_t degraded_stores;
	/* loads and prefetches served by another copy than the first */
	atomic_long_t read_failovers;
	/* re-replication: pages copied, chunks made whole, chunks degraded */
	atomic_long_t repair_pages, repair_chunks, degraded_chunks;
	atomic_long_t drained_chunks;	/* copies moved off draining servers */
	atomic_long_t drain_failures;	/* drains that stopped, stalled */
};

/* A FREE that could not be sent: sent once the session is resumed. */
struct hrc_pending_free {
	struct list_head node;
	u32 area;
	u64 index;
	u64 gen;
};

extern struct hrc_server hrc_servers[HRC_MAX_SERVERS];
extern u8 hrc_id[HERMIT_CLIENT_ID_LEN];
extern bool hrc_ready;
extern struct mutex hrc_config_mutex;
extern struct hrc_stats hrc_stats;
extern struct hermit_key hrc_key;
extern atomic_long_t hrc_chunks;
extern unsigned int hrc_load_timeout;
extern unsigned int hrc_max_sets;
extern unsigned int hrc_queue_sets;
extern unsigned int hrc_merge;
extern unsigned int hrc_replicas;

#define for_each_hrc_server(s) \
	for ((s) = hrc_servers; (s) < hrc_servers + HRC_MAX_SERVERS; (s)++)

/*
 * The queue of @kind that @cpu uses on server @s: CPUs share sets when
 * there are fewer.
 */
static inline struct hrc_queue *hrc_queue(struct hrc_server *s, int cpu,
					  enum hermit_queue kind)
{
	return &s->queues[(cpu % READ_ONCE(s->nr_sets)) * 3 + kind - 1];
}

/*
 * Room for chunks @s has left as far as this client knows: what it lends
 * in all less what it granted us. Other clients' chunks show only as a
 * refusal (then the server is skipped for a second, see hrc_chunk_grant()).
 */
static inline long hrc_room(struct hrc_server *s)
{
	u64 cap = le64_to_cpu(READ_ONCE(s->ctrl.rep.capacity));

	return (long)(cap / HRC_CHUNK_BYTES) - atomic_long_read(&s->chunks);
}

/* client.c: the connections and their queues */
void hrc_conn_error(struct hrc_server *s);
void hrc_queue_kill(struct hrc_queue *q);
int hrc_server_start(struct hrc_server *s);

/* client-ctrl.c: the control path */
int hrc_hello(struct hrc_server *s, bool *resumed);
int hrc_ctrl_call(struct hrc_server *s, u8 type, u32 area, u64 index,
		  struct hermit_msg *reply);
bool hrc_copy_current(struct hrc_copy *cp);
int hrc_copy_grant(struct hrc_copy *cp);
void hrc_ping_work(struct work_struct *work);
void hrc_drop_pending_frees(struct hrc_server *s);
void hrc_fault_inject_init(struct dentry *dir);

/* client-io.c: the data path */
extern struct hermit_backend hrc_backend;
void hrc_batch_done(struct hrc_wreq *w, bool ok);
void hrc_mark_degraded(struct hrc_server *s);
long hrc_pages_on(struct hrc_server *s);
void hrc_repair_stop(void);
void hrc_drain_start(struct hrc_server *s);
void hrc_forget_drained(void);
const char *hrc_state_name(struct hrc_server *s);

/* client-knobs.c */
struct dentry *hrc_debugfs_init(void);
void hrc_debugfs_exit(void);

#endif /* _HERMIT_CLIENT_H */
