/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit RDMA wire protocol, shared by the client backend and the memory
 * server (and by the KUnit tests, so it needs nothing but types).
 *
 * A client opens one control connection and, per CPU, one connection for
 * each data queue (demand reads, prefetch reads, writes) to a server. The
 * rdma_cm private data of every connect request is a struct
 * hermit_conn_req naming the client (a random id drawn at the client's
 * boot) and the queue; the server answers with a struct hermit_conn_rep
 * that says whether it still holds the client's chunks from an earlier
 * connection (a resumed session) or starts afresh.
 *
 * On the control connection the client sends struct hermit_msg requests
 * (SEND) and the server answers each with one reply carrying the request's
 * tag. A chunk grant names (remote address, rkey, length) of one memory
 * region, registered in a protection domain of that client alone; pages
 * then move with RDMA READ and WRITE on the data queues, which the server
 * never posts on. All fields are little endian.
 */
#ifndef _HERMIT_PROTO_H
#define _HERMIT_PROTO_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>

#define HERMIT_PROTO_MAGIC	0x484d5254	/* "HMRT" */
#define HERMIT_PROTO_VERSION	1
#define HERMIT_DEFAULT_PORT	50000
/* Bytes of a chunk on the wire: the same for clients of any page size. */
#define HERMIT_PROTO_CHUNK_BYTES	(64ULL << 20)
#define HERMIT_CLIENT_ID_LEN	16
/* Swap areas a request may name (MAX_SWAPFILES is at most 32). */
#define HERMIT_PROTO_MAX_AREAS	32
/* Chunks a request may name in one area: 2^36 chunks of 64 MiB. */
#define HERMIT_PROTO_MAX_CHUNK	BIT_ULL(36)

/**
 * enum hermit_queue - what a connection is for
 * @HERMIT_Q_CTRL: Chunk requests and grants (SEND/RECV).
 * @HERMIT_Q_DEMAND: Reads for page faults, polled by the faulting CPU.
 * @HERMIT_Q_PREFETCH: Reads ahead of use, completed asynchronously.
 * @HERMIT_Q_WRITE: Writes of pages being swapped out.
 * @HERMIT_Q_NR: Number of queue kinds.
 */
enum hermit_queue {
	HERMIT_Q_CTRL,
	HERMIT_Q_DEMAND,
	HERMIT_Q_PREFETCH,
	HERMIT_Q_WRITE,
	HERMIT_Q_NR,
};

/**
 * struct hermit_conn_req - private data of a client's connect request
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @queue: An enum hermit_queue.
 * @cpu: The client CPU that uses a data queue (informational).
 * @reserved: Zero.
 * @client_id: The client's identity, the same on every connection.
 */
struct hermit_conn_req {
	__le32 magic;
	__u8 version;
	__u8 queue;
	__le16 cpu;
	__le64 reserved;
	__u8 client_id[HERMIT_CLIENT_ID_LEN];
};

#define HERMIT_REP_RESUMED	0x1	/* the server kept the client's chunks */

/**
 * struct hermit_conn_rep - private data of the server's accept
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @reserved: Zero.
 * @flags: HERMIT_REP_* flags.
 * @reserved2: Zero.
 * @epoch: Random number drawn when the server's state was created: a
 *	client that sees another epoch knows its chunks are gone.
 * @session: The server's number for this client's session.
 * @capacity: Bytes the server lends in all (informational).
 */
struct hermit_conn_rep {
	__le32 magic;
	__u8 version;
	__u8 reserved[3];
	__le32 flags;
	__le32 reserved2;
	__le64 epoch;
	__le64 session;
	__le64 capacity;
};

/**
 * struct hermit_conn_rej - private data of the server's reject
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @reserved: Zero.
 * @reason: Why, as a positive errno: EPROTO (a malformed connect request),
 *	ENOENT (a data queue of a client without a session on this device),
 *	EUSERS (too many clients or connections), EBUSY (retry later),
 *	ENOMEM.
 * @reserved2: Zero.
 */
struct hermit_conn_rej {
	__le32 magic;
	__u8 version;
	__u8 reserved[3];
	__le32 reason;
	__le32 reserved2;
};

/**
 * enum hermit_msg_type - control messages
 * @HERMIT_MSG_ALLOC: Client asks for room for chunk (@area, @chunk).
 * @HERMIT_MSG_GRANT: Server answers ALLOC: status, address, rkey, length.
 * @HERMIT_MSG_FREE: Client gives chunk (@area, @chunk) back.
 * @HERMIT_MSG_FREED: Server answers FREE with a status.
 * @HERMIT_MSG_PING: Client says it is alive (every HERMIT_PING_SECS) and
 *	reports the pages it read (@addr) and wrote (@length) in this session:
 *	one-sided transfers never reach the server's CPU, so this is how the
 *	server learns what it served.
 * @HERMIT_MSG_PONG: Server answers PING.
 */
enum hermit_msg_type {
	HERMIT_MSG_ALLOC = 1,
	HERMIT_MSG_GRANT,
	HERMIT_MSG_FREE,
	HERMIT_MSG_FREED,
	HERMIT_MSG_PING,
	HERMIT_MSG_PONG,
};

/*
 * A server never sends on a client's queue pairs, so it cannot notice a
 * client that vanished; a client pings on its control connection, and a
 * server closes one that stayed silent for HERMIT_SILENT_SECS.
 */
#define HERMIT_PING_SECS	5
#define HERMIT_SILENT_SECS	30

/**
 * struct hermit_msg - one control message
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @type: An enum hermit_msg_type.
 * @len: sizeof(struct hermit_msg).
 * @tag: Chosen by the client, echoed in the reply.
 * @area: Swap area of the chunk (requests and replies).
 * @status: 0 or a positive errno (replies; zero in requests).
 * @chunk: Chunk index inside the area (requests and replies).
 * @addr: Remote address of the chunk's first byte (GRANT): an offset in
 *	the chunk's memory region, 0 from servers that register zero-based
 *	regions, never a kernel or physical address; pages read in the
 *	session (PING).
 * @length: Bytes in the chunk (GRANT); pages written in the session (PING).
 * @rkey: Remote key of the chunk's memory region (GRANT).
 * @reserved: Zero.
 */
struct hermit_msg {
	__le32 magic;
	__u8 version;
	__u8 type;
	__le16 len;
	__le64 tag;
	__le32 area;
	__le32 status;
	__le64 chunk;
	__le64 addr;
	__le64 length;
	__le32 rkey;
	__le32 reserved[3];
};

static inline void hermit_proto_size_checks(void)
{
	BUILD_BUG_ON(sizeof(struct hermit_conn_req) != 32);
	BUILD_BUG_ON(sizeof(struct hermit_conn_rep) != 40);
	BUILD_BUG_ON(sizeof(struct hermit_conn_rej) != 16);
	/* rdma_cm leaves 56 bytes of an IB CM REQ to the consumer. */
	BUILD_BUG_ON(sizeof(struct hermit_conn_req) > 56);
	BUILD_BUG_ON(sizeof(struct hermit_msg) != 64);
}

/**
 * hermit_msg_init() - fill in a control message
 * @m: The message.
 * @type: An enum hermit_msg_type.
 * @tag: The request's tag.
 * @area: Swap area.
 * @chunk: Chunk index.
 */
static inline void hermit_msg_init(struct hermit_msg *m, u8 type, u64 tag,
				   u32 area, u64 chunk)
{
	memset(m, 0, sizeof(*m));
	m->magic = cpu_to_le32(HERMIT_PROTO_MAGIC);
	m->version = HERMIT_PROTO_VERSION;
	m->type = type;
	m->len = cpu_to_le16(sizeof(*m));
	m->tag = cpu_to_le64(tag);
	m->area = cpu_to_le32(area);
	m->chunk = cpu_to_le64(chunk);
}

static inline bool hermit_msg_reserved_clear(const struct hermit_msg *m)
{
	return !m->reserved[0] && !m->reserved[1] && !m->reserved[2];
}

/**
 * hermit_msg_check() - validate a received control message
 * @m: The message (untrusted).
 * @bytes: Bytes received.
 * @request: true on the server (requests expected), false on the client.
 *
 * Return: 0, -EMSGSIZE for a wrong size, -EPROTO for a wrong magic,
 * version, type or reserved field, -ERANGE for an area or chunk outside
 * the protocol's bounds.
 */
static inline int hermit_msg_check(const struct hermit_msg *m, size_t bytes,
				   bool request)
{
	if (bytes != sizeof(*m) || le16_to_cpu(m->len) != sizeof(*m))
		return -EMSGSIZE;
	if (le32_to_cpu(m->magic) != HERMIT_PROTO_MAGIC ||
	    m->version != HERMIT_PROTO_VERSION || !hermit_msg_reserved_clear(m))
		return -EPROTO;
	if (request) {
		if (m->type != HERMIT_MSG_ALLOC && m->type != HERMIT_MSG_FREE &&
		    m->type != HERMIT_MSG_PING)
			return -EPROTO;
		if (m->status || m->rkey)
			return -EPROTO;
		if (m->type != HERMIT_MSG_PING && (m->addr || m->length))
			return -EPROTO;
	} else if (m->type != HERMIT_MSG_GRANT && m->type != HERMIT_MSG_FREED &&
		   m->type != HERMIT_MSG_PONG) {
		return -EPROTO;
	}
	if (le32_to_cpu(m->area) >= HERMIT_PROTO_MAX_AREAS ||
	    le64_to_cpu(m->chunk) >= HERMIT_PROTO_MAX_CHUNK)
		return -ERANGE;
	return 0;
}

/**
 * hermit_grant_check() - validate a GRANT against the request it answers
 * @m: The grant (hermit_msg_check() passed).
 * @area: Area asked for.
 * @chunk: Chunk asked for.
 * @length: Bytes a chunk must have.
 *
 * Return: 0 for a usable grant, the server's refusal as a negative errno,
 * or -EPROTO when the grant does not match the request.
 */
static inline int hermit_grant_check(const struct hermit_msg *m, u32 area,
				     u64 chunk, u64 length)
{
	u32 status = le32_to_cpu(m->status);

	if (m->type != HERMIT_MSG_GRANT || le32_to_cpu(m->area) != area ||
	    le64_to_cpu(m->chunk) != chunk)
		return -EPROTO;
	if (status)
		return status < 4096 ? -(int)status : -EPROTO;
	if (le64_to_cpu(m->length) != length)
		return -EPROTO;
	return 0;
}

/**
 * hermit_conn_req_check() - validate a connect request's private data
 * @req: The private data (untrusted).
 * @bytes: Bytes of private data received (rdma_cm may pad it).
 *
 * Return: 0, -EMSGSIZE when too short, -EPROTO otherwise.
 */
static inline int hermit_conn_req_check(const struct hermit_conn_req *req,
					size_t bytes)
{
	if (!req || bytes < sizeof(*req))
		return -EMSGSIZE;
	if (le32_to_cpu(req->magic) != HERMIT_PROTO_MAGIC ||
	    req->version != HERMIT_PROTO_VERSION ||
	    req->queue >= HERMIT_Q_NR || req->reserved)
		return -EPROTO;
	return 0;
}

/**
 * hermit_conn_rep_check() - validate the server's accept private data
 * @rep: The private data (untrusted).
 * @bytes: Bytes of private data received.
 *
 * Return: 0, -EMSGSIZE when too short, -EPROTO otherwise.
 */
static inline int hermit_conn_rep_check(const struct hermit_conn_rep *rep,
					size_t bytes)
{
	if (!rep || bytes < sizeof(*rep))
		return -EMSGSIZE;
	if (le32_to_cpu(rep->magic) != HERMIT_PROTO_MAGIC ||
	    rep->version != HERMIT_PROTO_VERSION || !rep->epoch)
		return -EPROTO;
	return 0;
}

/**
 * hermit_conn_rej_reason() - the reason in a reject's private data
 * @rej: The private data (untrusted; NULL when there is none).
 * @bytes: Bytes of private data received.
 *
 * Return: The server's reason as a negative errno, or 0 when the reject
 * did not come from a Hermit server (e.g. no one listens on the port).
 */
static inline int hermit_conn_rej_reason(const struct hermit_conn_rej *rej,
					 size_t bytes)
{
	u32 reason;

	if (!rej || bytes < sizeof(*rej) ||
	    le32_to_cpu(rej->magic) != HERMIT_PROTO_MAGIC ||
	    rej->version != HERMIT_PROTO_VERSION)
		return 0;
	reason = le32_to_cpu(rej->reason);
	return reason && reason < 4096 ? -(int)reason : -EPROTO;
}

#endif /* _HERMIT_PROTO_H */
