/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit RDMA wire protocol, shared by the client backend and the memory
 * server (and by the KUnit tests, so it needs nothing but types).
 *
 * A client opens one control connection and, per CPU, one connection for
 * each data queue (demand reads, prefetch reads, writes) to a server. The
 * rdma_cm private data of every connect request is a struct
 * hermit_conn_req naming the client (a random id drawn at the client's
 * boot) and the queue; the server answers with a struct hermit_conn_rep.
 *
 * Sessions are authenticated on the control connection before anything
 * else happens on it (see struct hermit_hello): client and server each
 * send a random nonce in the connect exchange, the client proves that it
 * knows the shared key (or, to resume a session, that session's secret)
 * with an HMAC-SHA256 over both nonces and its id, and the server proves
 * the same back. The session secret is derived from the key and the
 * nonces and never sent. A data connection carries a counter and a MAC
 * made with the session secret; the server accepts each counter once.
 * The control connection's queue pair lives in a protection domain of its
 * own on the server, so it reaches no chunk whatever it presents.
 *
 * On the control connection the client then sends struct hermit_msg
 * requests (SEND) and the server answers each with one reply carrying the
 * request's tag. A chunk grant names (remote address, rkey, length) of one
 * memory region, registered in a protection domain of that client's data
 * connections alone; pages then move with RDMA READ and WRITE on the data
 * queues. All fields are little endian.
 */
#ifndef _HERMIT_PROTO_H
#define _HERMIT_PROTO_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/hex.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>
#include <crypto/sha2.h>

#define HERMIT_PROTO_MAGIC	0x484d5254	/* "HMRT" */
/* 2: authenticated sessions; 3: chunks of 2 MiB */
#define HERMIT_PROTO_VERSION	3
#define HERMIT_DEFAULT_PORT	50000
/* Bytes of a chunk on the wire: the same for clients of any page size. */
#define HERMIT_PROTO_CHUNK_BYTES	(2ULL << 20)
#define HERMIT_CLIENT_ID_LEN	16
/* Swap areas a request may name (MAX_SWAPFILES is at most 32). */
#define HERMIT_PROTO_MAX_AREAS	32
/* Chunks a request may name in one area: 2^36 chunks of 2 MiB. */
#define HERMIT_PROTO_MAX_CHUNK	BIT_ULL(36)
/* Sets of data queues one client opens at most (one per CPU up to this). */
#define HERMIT_MAX_QUEUE_SETS	512
#define HERMIT_NONCE_LEN	16
#define HERMIT_MAC_LEN		SHA256_DIGEST_SIZE
#define HERMIT_TOKEN_LEN	16	/* a MAC cut short, in a connect request */
/* A shared key: 16 to 64 bytes. */
#define HERMIT_KEY_MIN		16
#define HERMIT_KEY_MAX		64

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
 * @counter: Data queues: a number the client never used before in a
 *	connect request (it counts up); zero for the control connection.
 * @token: Control connection: the client's nonce. Data queues: the first
 *	HERMIT_TOKEN_LEN bytes of hermit_data_mac().
 */
struct hermit_conn_req {
	__le32 magic;
	__u8 version;
	__u8 queue;
	__le16 cpu;
	__le64 reserved;
	__u8 client_id[HERMIT_CLIENT_ID_LEN];
	__le64 counter;
	__u8 token[HERMIT_TOKEN_LEN];
};

/* struct hermit_conn_rep and struct hermit_hello flags */
#define HERMIT_REP_RESUMED	0x1	/* the session (chunks) is kept */
#define HERMIT_REP_AUTH		0x2	/* the server requires the shared key */

/**
 * struct hermit_conn_rep - private data of the server's accept
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @reserved: Zero.
 * @flags: HERMIT_REP_AUTH, and HERMIT_REP_RESUMED when the server has a
 *	session for this client id, which the client may resume by proving
 *	the session's secret.
 * @reserved2: Zero.
 * @epoch: Random number drawn when the server's state was created: a
 *	client that sees another epoch knows its chunks are gone.
 * @session: The number of the session that may be resumed, or 0.
 * @capacity: Bytes the server lends in all (informational).
 * @nonce: The server's nonce for this connection.
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
	__u8 nonce[HERMIT_NONCE_LEN];
};

/**
 * struct hermit_conn_rej - private data of the server's reject
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @reserved: Zero.
 * @reason: Why, as a positive errno: EPROTO (a malformed connect request),
 *	ENOENT (a data queue of a client without a session on this device),
 *	EACCES (a data queue whose token is wrong or used before),
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
 * @HERMIT_MSG_HELLO: Client proves who it is (struct hermit_hello); the
 *	first message on a control connection, and only then.
 * @HERMIT_MSG_WELCOME: Server answers HELLO (struct hermit_hello). A
 *	server that refuses the proof closes the connection instead.
 */
enum hermit_msg_type {
	HERMIT_MSG_ALLOC = 1,
	HERMIT_MSG_GRANT,
	HERMIT_MSG_FREE,
	HERMIT_MSG_FREED,
	HERMIT_MSG_PING,
	HERMIT_MSG_PONG,
	HERMIT_MSG_HELLO,
	HERMIT_MSG_WELCOME,
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

/**
 * struct hermit_hello - HELLO and WELCOME, the handshake of a control
 *	connection (the size of a struct hermit_msg)
 * @magic: HERMIT_PROTO_MAGIC.
 * @version: HERMIT_PROTO_VERSION.
 * @type: HERMIT_MSG_HELLO or HERMIT_MSG_WELCOME.
 * @len: sizeof(struct hermit_hello).
 * @tag: Chosen by the client, echoed in the reply.
 * @flags: HELLO: HERMIT_REP_RESUMED to resume the session the connect
 *	reply named. WELCOME: HERMIT_REP_RESUMED when it was resumed.
 * @reserved: Zero.
 * @session: HELLO: the session to resume, or 0. WELCOME: the session.
 * @mac: HELLO: hermit_mac() with HERMIT_MAC_CLIENT made with the shared
 *	key (all zero without one), or with HERMIT_MAC_RESUME_CLIENT made
 *	with the session's secret. WELCOME: likewise with HERMIT_MAC_SERVER
 *	or HERMIT_MAC_RESUME_SERVER, all zero from a server without a key
 *	starting a new session.
 */
struct hermit_hello {
	__le32 magic;
	__u8 version;
	__u8 type;
	__le16 len;
	__le64 tag;
	__le32 flags;
	__le32 reserved;
	__le64 session;
	__u8 mac[HERMIT_MAC_LEN];
};

static inline void hermit_proto_size_checks(void)
{
	BUILD_BUG_ON(sizeof(struct hermit_conn_req) != 56);
	BUILD_BUG_ON(sizeof(struct hermit_conn_rep) != 56);
	BUILD_BUG_ON(sizeof(struct hermit_hello) != sizeof(struct hermit_msg));
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
	    req->queue >= HERMIT_Q_NR || req->reserved ||
	    (req->queue == HERMIT_Q_CTRL && req->counter))
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

/**
 * hermit_hello_init() - fill in a HELLO or WELCOME (the MAC stays zero)
 * @h: The message.
 * @type: HERMIT_MSG_HELLO or HERMIT_MSG_WELCOME.
 * @tag: The client's tag.
 * @resumed: Whether the session is (to be) resumed.
 * @session: The session (0 in a new session's HELLO).
 */
static inline void hermit_hello_init(struct hermit_hello *h, u8 type, u64 tag,
				     bool resumed, u64 session)
{
	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_le32(HERMIT_PROTO_MAGIC);
	h->version = HERMIT_PROTO_VERSION;
	h->type = type;
	h->len = cpu_to_le16(sizeof(*h));
	h->tag = cpu_to_le64(tag);
	h->flags = cpu_to_le32(resumed ? HERMIT_REP_RESUMED : 0);
	h->session = cpu_to_le64(session);
}

/**
 * hermit_hello_check() - validate a received HELLO or WELCOME
 * @h: The message (untrusted).
 * @bytes: Bytes received.
 * @type: HERMIT_MSG_HELLO or HERMIT_MSG_WELCOME, the one expected.
 *
 * Return: 0, -EMSGSIZE for a wrong size, -EPROTO otherwise.
 */
static inline int hermit_hello_check(const struct hermit_hello *h, size_t bytes,
				     u8 type)
{
	if (bytes != sizeof(*h) || le16_to_cpu(h->len) != sizeof(*h))
		return -EMSGSIZE;
	if (le32_to_cpu(h->magic) != HERMIT_PROTO_MAGIC ||
	    h->version != HERMIT_PROTO_VERSION || h->type != type ||
	    h->reserved || (le32_to_cpu(h->flags) & ~HERMIT_REP_RESUMED))
		return -EPROTO;
	return 0;
}

/* What a MAC vouches for: part of its input, so no MAC passes as another. */
enum hermit_mac_label {
	HERMIT_MAC_CLIENT = 1,		/* HELLO of a new session */
	HERMIT_MAC_SERVER,		/* WELCOME of a new session */
	HERMIT_MAC_RESUME_CLIENT,	/* HELLO resuming a session */
	HERMIT_MAC_RESUME_SERVER,	/* WELCOME of a resumed session */
	HERMIT_MAC_SECRET,		/* a new session's secret */
	HERMIT_MAC_DATA,		/* a data queue's connect request */
};

/**
 * struct hermit_mac_input - what a MAC is made over
 * @magic: "hermit1" and a zero byte.
 * @label: An enum hermit_mac_label.
 * @queue: The queue of a data connection, else 0.
 * @client_nonce: The client's nonce of the control connection, or zeroes.
 * @server_nonce: The server's nonce of the control connection, or zeroes.
 * @client_id: The client's id.
 * @session: The session's number, or 0 in a new session's HELLO.
 * @counter: The counter of a data connection, else 0.
 */
struct hermit_mac_input {
	__u8 magic[8];
	__le32 label;
	__le32 queue;
	__u8 client_nonce[HERMIT_NONCE_LEN];
	__u8 server_nonce[HERMIT_NONCE_LEN];
	__u8 client_id[HERMIT_CLIENT_ID_LEN];
	__le64 session;
	__le64 counter;
};

/**
 * hermit_hmac_sha256() - HMAC-SHA256 (RFC 2104) of a buffer
 * @key: The key.
 * @klen: Its length in bytes (0 allowed).
 * @data: The data.
 * @len: Its length in bytes.
 * @out: The HERMIT_MAC_LEN bytes of the MAC.
 */
static inline void hermit_hmac_sha256(const u8 *key, size_t klen,
				      const void *data, size_t len, u8 *out)
{
	u8 k[SHA256_BLOCK_SIZE] = {}, pad[SHA256_BLOCK_SIZE];
	struct sha256_state st;
	int i;

	if (klen > SHA256_BLOCK_SIZE)
		sha256(key, klen, k);
	else if (klen)
		memcpy(k, key, klen);
	for (i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&st);
	sha256_update(&st, pad, sizeof(pad));
	sha256_update(&st, data, len);
	sha256_final(&st, out);
	for (i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&st);
	sha256_update(&st, pad, sizeof(pad));
	sha256_update(&st, out, SHA256_DIGEST_SIZE);
	sha256_final(&st, out);
	memzero_explicit(k, sizeof(k));
	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(&st, sizeof(st));
}

/* The MAC over a struct hermit_mac_input; NULL nonces are zeroes. */
static inline void __hermit_mac(const u8 *key, size_t klen, u32 label,
				u8 queue, const u8 *cnonce, const u8 *snonce,
				const u8 *id, u64 session, u64 counter, u8 *out)
{
	struct hermit_mac_input in = {
		.magic = "hermit1",
		.label = cpu_to_le32(label),
		.queue = cpu_to_le32(queue),
		.session = cpu_to_le64(session),
		.counter = cpu_to_le64(counter),
	};

	if (cnonce)
		memcpy(in.client_nonce, cnonce, HERMIT_NONCE_LEN);
	if (snonce)
		memcpy(in.server_nonce, snonce, HERMIT_NONCE_LEN);
	memcpy(in.client_id, id, HERMIT_CLIENT_ID_LEN);
	hermit_hmac_sha256(key, klen, &in, sizeof(in), out);
}

/**
 * hermit_mac() - the MAC of one step of the handshake
 * @key: The shared key or a session's secret.
 * @klen: Its length (0: no key).
 * @label: An enum hermit_mac_label.
 * @cnonce: The client's nonce.
 * @snonce: The server's nonce.
 * @id: The client's id.
 * @session: The session's number (0 in a new session's HELLO).
 * @out: The HERMIT_MAC_LEN bytes of the MAC.
 */
static inline void hermit_mac(const u8 *key, size_t klen, u32 label,
			      const u8 *cnonce, const u8 *snonce, const u8 *id,
			      u64 session, u8 *out)
{
	__hermit_mac(key, klen, label, 0, cnonce, snonce, id, session, 0, out);
}

/**
 * hermit_data_mac() - the MAC of a data queue's connect request
 * @secret: The session's secret (HERMIT_MAC_LEN bytes).
 * @id: The client's id.
 * @session: The session's number.
 * @queue: The queue (enum hermit_queue).
 * @counter: The request's counter.
 * @out: The HERMIT_MAC_LEN bytes of the MAC; the request carries the first
 *	HERMIT_TOKEN_LEN of them.
 */
static inline void hermit_data_mac(const u8 *secret, const u8 *id, u64 session,
				   u8 queue, u64 counter, u8 *out)
{
	__hermit_mac(secret, HERMIT_MAC_LEN, HERMIT_MAC_DATA, queue, NULL, NULL,
		     id, session, counter, out);
}

/**
 * hermit_parse_key() - a shared key from its hex text
 * @s: HERMIT_KEY_MIN to HERMIT_KEY_MAX bytes as hex digits, possibly
 *	ending in a newline.
 * @key: HERMIT_KEY_MAX bytes for the key.
 *
 * Return: The key's length in bytes, or -EINVAL.
 */
static inline int hermit_parse_key(const char *s, u8 *key)
{
	size_t len = strcspn(s, "\n");

	if (len % 2 || len < 2 * HERMIT_KEY_MIN || len > 2 * HERMIT_KEY_MAX ||
	    s[len + (s[len] == '\n')] || hex2bin(key, s, len / 2))
		return -EINVAL;
	return len / 2;
}

#endif /* _HERMIT_PROTO_H */
