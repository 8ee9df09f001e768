/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit memory server: what its parts share. server.c holds the
 * connections, sessions and listening, server-ctrl.c the chunks and the
 * control messages, server-knobs.c the knobs and debugfs; server.c
 * describes the design.
 */
#ifndef _HERMIT_SERVER_H
#define _HERMIT_SERVER_H

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

struct hsrv_chunk_stats {
	atomic_long_t allocs, frees, refused_full, refused_quota, alloc_errors;
};

struct hsrv_stats {
	unsigned long rejected, connects, disconnects, expired, auth_failures;
	u64 reads, writes;	/* reported by sessions that are gone */
};

/* server.c: hsrv_mutex protects the lists and counts; see there. */
extern struct mutex hsrv_mutex;
extern struct list_head hsrv_clients;
extern unsigned int hsrv_nr_pending;
extern unsigned int hsrv_nr_clients;
extern unsigned long hsrv_capacity;
extern unsigned long hsrv_quota;
extern atomic_long_t hsrv_used;
extern unsigned int hsrv_grace;
extern struct workqueue_struct *hsrv_wq;
extern struct hsrv_chunk_stats hsrv_chunk_stats;
extern struct hermit_key hsrv_key;
extern struct hsrv_stats hsrv_stats;
extern atomic_long_t hsrv_bad_messages;
extern struct rdma_cm_id *hsrv_listen_id;
extern const struct file_operations hsrv_reset_fops;

unsigned long hsrv_capacity_bytes(void);
int hsrv_listen_show(char *buf, size_t size);
int hsrv_set_listen(const char *s);

/* server-ctrl.c: chunks and control messages */
void hsrv_client_destroy(struct hsrv_client *client);
struct hsrv_client *hsrv_client_find(const u8 *id);
int hsrv_post_recv(struct hsrv_rx *rx);
void hsrv_rx_done(struct ib_cq *cq, struct ib_wc *wc);
void hsrv_tx_done(struct ib_cq *cq, struct ib_wc *wc);
void hsrv_rx_work(struct work_struct *work);
void hsrv_reg_done(struct ib_cq *cq, struct ib_wc *wc);
void hsrv_conn_close(struct hsrv_conn *conn);

/* server-knobs.c */
extern struct dentry *hsrv_debugfs;
void hsrv_debugfs_init(void);

#endif /* _HERMIT_SERVER_H */
