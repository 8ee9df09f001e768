// SPDX-License-Identifier: GPL-2.0
/*
 * A rogue Hermit RDMA client: talks to a Hermit memory server with rdma_cm
 * and verbs from user space and sends it what a real client never would.
 * Each case must be refused (connection rejected or closed, or the RDMA
 * operation failing) while the server goes on serving.
 *
 *   rdma_rogue SERVER_IP [ADDR RKEY [CLIENT_ID]]
 *
 * With ADDR and RKEY (of another client's chunk, from the server's debugfs
 * 'clients' file) it also tries to read that chunk from a session of its
 * own; with that client's CLIENT_ID (32 hex digits) too, it poses as that
 * client without knowing its session's secret. Prints "ok CASE" or
 * "FAIL CASE: why" per case; exits 0 when every case was refused. The
 * server must have no key set (this client proves none).
 */
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>

#define MAGIC		0x484d5254
#define VERSION		3	/* 3: chunks of 2 MiB */
#define CHUNK_BYTES	(2ULL << 20)
#define TIMEOUT_MS	20000

/* The wire format, written out here as any foreign client would. */
struct conn_req {
	uint32_t magic;
	uint8_t version, queue;
	uint16_t cpu;
	uint64_t reserved;
	uint8_t client_id[16];
	uint64_t counter;
	uint8_t token[16];
};

struct conn_rep {
	uint32_t magic;
	uint8_t version, reserved[3];
	uint32_t flags, reserved2;
	uint64_t epoch, session, capacity;
	uint8_t nonce[16];
};

struct hello {
	uint32_t magic;
	uint8_t version, type;
	uint16_t len;
	uint64_t tag;
	uint32_t flags, reserved;
	uint64_t session;
	uint8_t mac[32];
};

/* What a MAC is made over (struct hermit_mac_input). */
struct mac_input {
	uint8_t magic[8];
	uint32_t label, queue;
	uint8_t client_nonce[16], server_nonce[16], client_id[16];
	uint64_t session, counter;
};

enum {
	MAC_CLIENT = 1, MAC_SERVER, MAC_RESUME_CLIENT, MAC_RESUME_SERVER,
	MAC_SECRET, MAC_DATA,
};

#define REP_RESUMED	1

struct msg {
	uint32_t magic;
	uint8_t version, type;
	uint16_t len;
	uint64_t tag;
	uint32_t area, status;
	uint64_t chunk, addr, length;
	uint32_t rkey, reserved[3];
};

enum { ALLOC = 1, GRANT, FREE, FREED, PING, PONG, HELLO, WELCOME };

/* ---- SHA-256 and HMAC (FIPS 180-4, RFC 2104), as any client writes it ---- */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ROR(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | p[4 * i + 1] << 16 |
		       p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
				    (w[i - 15] >> 3)) + w[i - 7] +
		       (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	memcpy(a, h, sizeof(a));
	for (i = 0; i < 64; i++) {
		t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) +
		     ((a[4] & a[5]) ^ (~a[4] & a[6])) + sha_k[i] + w[i];
		t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) +
		     ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
		memmove(a + 1, a, 7 * sizeof(a[0]));
		a[4] += t1;
		a[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += a[i];
}

/* SHA-256 of two buffers one after the other. */
static void sha256_2(const void *a, size_t alen, const void *b, size_t blen,
		     uint8_t out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	uint8_t *m, blk[64];
	size_t len = alen + blen, i, n;
	uint64_t bits = (uint64_t)len * 8;

	m = malloc(len + 72);
	memcpy(m, a, alen);
	memcpy(m + alen, b, blen);
	n = len;
	m[n++] = 0x80;
	while (n % 64 != 56)
		m[n++] = 0;
	for (i = 0; i < 8; i++)
		m[n++] = bits >> (56 - 8 * i);
	for (i = 0; i < n; i += 64) {
		memcpy(blk, m + i, 64);
		sha256_block(h, blk);
	}
	for (i = 0; i < 8; i++) {
		out[4 * i] = h[i] >> 24;
		out[4 * i + 1] = h[i] >> 16;
		out[4 * i + 2] = h[i] >> 8;
		out[4 * i + 3] = h[i];
	}
	free(m);
}

static void hmac_sha256(const uint8_t *key, size_t klen, const void *data,
			size_t len, uint8_t out[32])
{
	uint8_t k[64] = {}, pad[64];
	int i;

	memcpy(k, key, klen);	/* keys of at most 64 bytes here */
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_2(pad, 64, data, len, out);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_2(pad, 64, out, 32, out);
}

static void mac(const uint8_t *key, size_t klen, int label, int queue,
		const uint8_t *cn, const uint8_t *sn, const uint8_t *id,
		uint64_t session, uint64_t counter, uint8_t out[32])
{
	struct mac_input in = {
		.magic = "hermit1", .label = htole32(label), .queue = htole32(queue),
		.session = htole64(session), .counter = htole64(counter),
	};

	if (cn)
		memcpy(in.client_nonce, cn, 16);
	if (sn)
		memcpy(in.server_nonce, sn, 16);
	memcpy(in.client_id, id, 16);
	hmac_sha256(key, klen, &in, sizeof(in), out);
}

struct conn {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	char *buf;		/* [0,128): receive, [128,256): send, then data */
	struct conn_rep rep;	/* the server's accept */
	uint8_t nonce[16];	/* ours, of a control connection */
	uint8_t secret[32];	/* of the session, after the handshake */
	uint64_t session;
};

static uint64_t data_counter;	/* of data connect requests */

static const char *server;
static int failures;
static int rej_reason;	/* the errno in the server's last reject, or 0 */

static void result(const char *name, int ok, const char *why)
{
	if (ok) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why);
		failures++;
	}
	fflush(stdout);
}

static int wait_event(struct conn *c, enum rdma_cm_event_type want,
		      struct rdma_cm_event *copy)
{
	struct pollfd pfd = { .fd = c->ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;
	int type;

	if (poll(&pfd, 1, TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	if (rdma_get_cm_event(c->ch, &ev))
		return -errno;
	type = ev->event;
	if (type == RDMA_CM_EVENT_ESTABLISHED &&
	    ev->param.conn.private_data_len >= sizeof(c->rep))
		memcpy(&c->rep, ev->param.conn.private_data, sizeof(c->rep));
	if (type == RDMA_CM_EVENT_REJECTED) {
		const uint32_t *rej = ev->param.conn.private_data;

		/* struct hermit_conn_rej: magic, version, reason. */
		rej_reason = 0;
		if (rej && ev->param.conn.private_data_len >= 16 &&
		    le32toh(rej[0]) == MAGIC)
			rej_reason = le32toh(rej[2]);
	}
	if (copy)
		*copy = *ev;
	rdma_ack_cm_event(ev);
	return type == (int)want ? 0 : -(1000 + type);
}

static void conn_close(struct conn *c)
{
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ch)
		rdma_destroy_event_channel(c->ch);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/*
 * Connect with @priv as private data. Returns 0 when established, the
 * negated cm event otherwise (-(1000 + RDMA_CM_EVENT_REJECTED): refused).
 */
static int conn_open(struct conn *c, const void *priv, int len)
{
	struct rdma_conn_param param = {
		.private_data = priv,
		.private_data_len = len,
		.initiator_depth = 1,
		.responder_resources = 1,
		.retry_count = 7,
		.rnr_retry_count = 7,
	};
	struct ibv_qp_init_attr attr = {};
	struct addrinfo *ai;
	int err;

	memset(c, 0, sizeof(*c));
	c->ch = rdma_create_event_channel();
	if (!c->ch || rdma_create_id(c->ch, &c->id, NULL, RDMA_PS_TCP))
		return -errno;
	if (getaddrinfo(server, "50000", NULL, &ai))
		return -EINVAL;
	err = rdma_resolve_addr(c->id, NULL, ai->ai_addr, 3000);
	freeaddrinfo(ai);
	if (err)
		return -errno;
	err = wait_event(c, RDMA_CM_EVENT_ADDR_RESOLVED, NULL);
	if (err)
		return err;
	if (rdma_resolve_route(c->id, 3000))
		return -errno;
	err = wait_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED, NULL);
	if (err)
		return err;
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cq = c->pd ? ibv_create_cq(c->id->verbs, 16, NULL, NULL, 0) : NULL;
	c->buf = calloc(1, 256 + 2 * 4096);
	if (!c->cq || !c->buf)
		return -ENOMEM;
	c->mr = ibv_reg_mr(c->pd, c->buf, 256 + 2 * 4096, IBV_ACCESS_LOCAL_WRITE);
	if (!c->mr)
		return -errno;
	attr.send_cq = c->cq;
	attr.recv_cq = c->cq;
	attr.qp_type = IBV_QPT_RC;
	attr.cap.max_send_wr = 8;
	attr.cap.max_recv_wr = 8;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	if (rdma_create_qp(c->id, c->pd, &attr))
		return -errno;
	if (rdma_connect(c->id, &param))
		return -errno;
	return wait_event(c, RDMA_CM_EVENT_ESTABLISHED, NULL);
}

/* A connect request; a control connection's carries a fresh nonce. */
static struct conn_req make_req(int queue, const uint8_t *id)
{
	struct conn_req r = {
		.magic = htole32(MAGIC), .version = VERSION, .queue = queue,
	};

	memcpy(r.client_id, id, 16);
	if (!queue)
		getrandom(r.token, 16, 0);
	return r;
}

/* A data queue's request of session (@secret, @session) of client @id. */
static struct conn_req make_data_req(const uint8_t *id, const uint8_t *secret,
				     uint64_t session, uint64_t counter)
{
	struct conn_req r = make_req(3, id);
	uint8_t m[32];

	r.counter = htole64(counter);
	mac(secret, 32, MAC_DATA, 3, NULL, NULL, id, session, counter, m);
	memcpy(r.token, m, 16);
	return r;
}

/* Wait for one completion; returns its status or -ETIMEDOUT. */
static int poll_cq(struct conn *c, struct ibv_wc *wc)
{
	for (int i = 0; i < TIMEOUT_MS; i++) {
		int n = ibv_poll_cq(c->cq, 1, wc);

		if (n > 0)
			return wc->status;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static int post_recv(struct conn *c)
{
	struct ibv_sge sge = { (uintptr_t)c->buf, 128, c->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(c->id->qp, &wr, &bad);
}

static int post_send(struct conn *c, const void *data, int len)
{
	struct ibv_sge sge = { (uintptr_t)c->buf + 128, len, c->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 2, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED,
	}, *bad;

	memcpy(c->buf + 128, data, len);
	return ibv_post_send(c->id->qp, &wr, &bad);
}

static int rdma_op(struct conn *c, int write, uint64_t addr, uint32_t rkey)
{
	struct ibv_sge sge = { (uintptr_t)c->buf + 256, 4096, c->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 3, .sg_list = &sge, .num_sge = 1,
		.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = addr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;

	if (ibv_post_send(c->id->qp, &wr, &bad))
		return -errno;
	return poll_cq(c, &wc);
}

static struct msg make_msg(int type, uint32_t area, uint64_t chunk)
{
	struct msg m = {
		.magic = htole32(MAGIC), .version = VERSION, .type = type,
		.len = htole16(sizeof(m)), .tag = htole64(42),
		.area = htole32(area), .chunk = htole64(chunk),
	};

	return m;
}

/* Whether the server closed @c (a DISCONNECTED event within the timeout). */
static int closed_by_server(struct conn *c)
{
	for (int i = 0; i < 4; i++) {
		int err = wait_event(c, RDMA_CM_EVENT_DISCONNECTED, NULL);

		/*
		 * A server that tears its side down before the CM's DREQ/DREP
		 * exchange is over makes the CM answer ours with a REJ: the
		 * connection is gone either way.
		 */
		if (!err || err == -(1000 + RDMA_CM_EVENT_REJECTED))
			return 1;
		fprintf(stderr, "waiting for DISCONNECTED: %d\n", err);
		if (err == -ETIMEDOUT)
			return 0;
	}
	return 0;
}

/* Open a control connection as client @id, without a HELLO yet. */
static int connect_ctrl(struct conn *c, const uint8_t *id)
{
	struct conn_req r = make_req(0, id);
	int err = conn_open(c, &r, sizeof(r));

	memcpy(c->nonce, r.token, 16);
	return err;
}

/*
 * Wait for the send and the reply to complete: 0, -ECONNRESET when the
 * server closed the connection instead (a flushed receive, or its
 * DISCONNECTED event), -ETIMEDOUT or -EIO otherwise.
 */
static int wait_reply(struct conn *c)
{
	struct pollfd pfd = { .fd = c->ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;
	struct ibv_wc wc;
	int done = 0;

	for (int i = 0; i < TIMEOUT_MS; i++) {
		int n = ibv_poll_cq(c->cq, 1, &wc);

		if (n > 0) {
			if (wc.status == IBV_WC_WR_FLUSH_ERR)
				return -ECONNRESET;
			if (wc.status != IBV_WC_SUCCESS)
				return -EIO;
			if (++done == 2)
				return 0;
			continue;
		}
		if (poll(&pfd, 1, 0) == 1 && !rdma_get_cm_event(c->ch, &ev)) {
			int type = ev->event;

			rdma_ack_cm_event(ev);
			if (type == RDMA_CM_EVENT_DISCONNECTED ||
			    type == RDMA_CM_EVENT_REJECTED)
				return -ECONNRESET;
		}
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/*
 * The handshake: resume session @session with @secret (NULL: start a new
 * session, proving no key). Returns 0 when the server welcomed us (the
 * session's number and secret are in @c), -ECONNRESET when it closed the
 * connection instead, another negative number on other failures.
 */
static int hello(struct conn *c, const uint8_t *id, const uint8_t *secret,
		 uint64_t session)
{
	struct hello h = {
		.magic = htole32(MAGIC), .version = VERSION, .type = HELLO,
		.len = htole16(sizeof(h)), .tag = htole64(7),
	}, w;
	int err;

	if (secret) {
		h.flags = htole32(REP_RESUMED);
		h.session = htole64(session);
		mac(secret, 32, MAC_RESUME_CLIENT, 0, c->nonce, c->rep.nonce, id,
		    session, 0, h.mac);
	}
	post_recv(c);
	post_send(c, &h, sizeof(h));
	err = wait_reply(c);
	if (err)
		return err;
	memcpy(&w, c->buf, sizeof(w));
	if (w.type != WELCOME || !w.session ||
	    !!(le32toh(w.flags) & REP_RESUMED) != !!secret)
		return -EPROTO;
	c->session = le64toh(w.session);
	if (secret)
		memcpy(c->secret, secret, 32);
	else
		mac(NULL, 0, MAC_SECRET, 0, c->nonce, c->rep.nonce, id, c->session,
		    0, c->secret);
	return 0;
}

/* Open a control connection as client @id, in a new session; exits on failure. */
static void open_ctrl_as(struct conn *c, const uint8_t *id)
{
	int err = connect_ctrl(c, id);

	err = err ?: hello(c, id, NULL, 0);
	if (err) {
		printf("FAIL connect as a client: %d\n", err);
		exit(1);
	}
	post_recv(c);
}

/* Open a control connection as a fresh client. */
static void open_ctrl(struct conn *c, uint8_t *id)
{
	getrandom(id, 16, 0);
	open_ctrl_as(c, id);
}

/* Open a data queue in the session of control connection @ctrl. */
static int open_data(struct conn *d, const struct conn *ctrl, const uint8_t *id)
{
	struct conn_req r = make_data_req(id, ctrl->secret, ctrl->session,
					  ++data_counter);

	return conn_open(d, &r, sizeof(r));
}

/* Send a malformed message; the server must close the connection. */
static void bad_message(const char *name, const void *m, int len)
{
	struct conn c;
	uint8_t id[16];
	struct ibv_wc wc;
	int err;

	open_ctrl(&c, id);
	post_send(&c, m, len);
	/*
	 * Refused by the server's queue pair itself (an error completion), or
	 * closed by the server; a send that never completes is no refusal.
	 */
	err = poll_cq(&c, &wc);
	if (err == -ETIMEDOUT)
		result(name, 0, "the send never completed");
	else if (err != IBV_WC_SUCCESS)
		result(name, 1, "");
	else
		result(name, closed_by_server(&c), "connection not closed");
	conn_close(&c);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A client that sends a request and never posts a receive: the server's
 * reply cannot be delivered and it waits for it (up to 10 s). Meanwhile
 * another client's connect must be answered at once: the stalled one may
 * hold up only itself.
 */
static void stalled_client(void)
{
	struct conn stalled, other;
	struct timespec t0;
	struct ibv_wc wc;
	uint8_t id[16];
	struct msg m;
	long ms;
	int err;

	getrandom(id, 16, 0);
	err = connect_ctrl(&stalled, id);
	err = err ?: hello(&stalled, id, NULL, 0);
	if (err) {
		result("a stalled client holds up no other client", 0, "cannot connect");
		conn_close(&stalled);
		return;
	}
	m = make_msg(PING, 0, 0);
	post_send(&stalled, &m, sizeof(m));
	err = poll_cq(&stalled, &wc);
	usleep(500 * 1000);	/* the server is waiting for its reply now */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	open_ctrl(&other, id);
	ms = ms_since(&t0);
	printf("# another client's connect took %ld ms while one was stalled\n", ms);
	result("a stalled client holds up no other client's connect",
	       !err && ms < 3000, "the connect waited for the stalled client");
	conn_close(&other);
	conn_close(&stalled);
}

int main(int argc, char **argv)
{
	struct conn c, d;
	struct conn_req r;
	struct msg m, big[2];
	struct ibv_wc wc;
	uint8_t id[16], junk[32], victim[16], secret[32];
	uint64_t addr, session;
	uint32_t rkey;
	int err;

	if (argc != 2 && argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s SERVER_IP [ADDR RKEY [CLIENT_ID]]\n", argv[0]);
		return 2;
	}
	server = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Connect requests the server must refuse. */
	memset(junk, 0xa5, sizeof(junk));
	err = conn_open(&c, junk, sizeof(junk));
	result("connect with garbage private data is rejected",
	       err == -(1000 + RDMA_CM_EVENT_REJECTED), "not rejected");
	conn_close(&c);
	err = conn_open(&c, NULL, 0);
	result("connect without private data is rejected",
	       err == -(1000 + RDMA_CM_EVENT_REJECTED), "not rejected");
	conn_close(&c);
	getrandom(id, 16, 0);
	r = make_req(2, id);
	err = conn_open(&c, &r, sizeof(r));
	result("data queue of an unknown client is rejected, reason ENOENT",
	       err == -(1000 + RDMA_CM_EVENT_REJECTED) && rej_reason == ENOENT,
	       "not rejected, or without the reason");
	conn_close(&c);
	r = make_req(9, id);
	err = conn_open(&c, &r, sizeof(r));
	result("unknown queue kind is rejected",
	       err == -(1000 + RDMA_CM_EVENT_REJECTED), "not rejected");
	conn_close(&c);

	/* A request before the handshake closes the connection. */
	getrandom(id, 16, 0);
	err = connect_ctrl(&c, id);
	m = make_msg(ALLOC, 0, 0);
	post_recv(&c);
	if (!err)
		post_send(&c, &m, sizeof(m));
	result("a request before HELLO closes the connection",
	       !err && closed_by_server(&c), "connection not closed");
	conn_close(&c);

	/* Malformed control messages close their connection. */
	m = make_msg(ALLOC, 0, 0);
	m.magic = 0xdeadbeef;
	bad_message("bad magic closes the connection", &m, sizeof(m));
	m = make_msg(ALLOC, 0, 0);
	m.version = 77;
	bad_message("bad version closes the connection", &m, sizeof(m));
	m = make_msg(GRANT, 0, 0);
	bad_message("a reply type as request closes the connection", &m, sizeof(m));
	m = make_msg(ALLOC, 0, 0);
	bad_message("a short message closes the connection", &m, 20);
	memset(big, 0, sizeof(big));
	big[0] = make_msg(ALLOC, 0, 0);
	bad_message("an oversized message closes the connection", big, sizeof(big));
	m = make_msg(ALLOC, 99, 0);
	bad_message("an area out of bounds closes the connection", &m, sizeof(m));
	m = make_msg(ALLOC, 0, 1ULL << 40);
	bad_message("a chunk out of bounds closes the connection", &m, sizeof(m));
	m = make_msg(ALLOC, 0, 0);
	m.addr = htole64(0x1000);
	bad_message("a request with grant fields set closes the connection", &m, sizeof(m));

	/* A well-formed client: a grant, then access outside of it. */
	open_ctrl(&c, id);
	m = make_msg(FREE, 3, 3);
	post_send(&c, &m, sizeof(m));
	err = poll_cq(&c, &wc);		/* the send */
	err = err ?: poll_cq(&c, &wc);	/* the reply */
	memcpy(&m, c.buf, sizeof(m));
	result("freeing a chunk never granted is refused (ENOENT)",
	       !err && m.type == FREED && le32toh(m.status) == ENOENT,
	       "no ENOENT reply");
	/* Chunks are registered on a data queue of the session: one first. */
	err = open_data(&d, &c, id);
	result("a data queue with the session's token is accepted", !err,
	       "refused");
	post_recv(&c);
	m = make_msg(ALLOC, 0, 7);
	post_send(&c, &m, sizeof(m));
	err = poll_cq(&c, &wc);
	err = err ?: poll_cq(&c, &wc);
	memcpy(&m, c.buf, sizeof(m));
	if (err || m.type != GRANT || m.status || le64toh(m.length) != CHUNK_BYTES) {
		printf("FAIL a valid ALLOC is granted: err %d type %d status %u\n",
		       err, m.type, le32toh(m.status));
		return 1;
	}
	result("a valid ALLOC is granted", 1, "");
	addr = le64toh(m.addr);
	rkey = le32toh(m.rkey);
	result("the grant carries no server address (zero-based region)",
	       addr == 0, "a non-zero address");
	memset(d.buf + 256, 0x5a, 4096);
	err = rdma_op(&d, 1, addr + CHUNK_BYTES - 4096, rkey);
	memset(d.buf + 256, 0, 4096);
	err = err ?: rdma_op(&d, 0, addr + CHUNK_BYTES - 4096, rkey);
	result("write and read back inside the own chunk",
	       !err && d.buf[256] == 0x5a && d.buf[256 + 4095] == 0x5a,
	       "transfer failed");
	err = rdma_op(&d, 0, addr + CHUNK_BYTES, rkey);
	result("a read past the end of the own chunk fails",
	       err == IBV_WC_REM_ACCESS_ERR, "not refused by the memory region");
	conn_close(&d);
	r = make_data_req(id, c.secret, c.session, data_counter);
	err = conn_open(&d, &r, sizeof(r));
	result("a replayed data connect request is rejected, reason EACCES",
	       err == -(1000 + RDMA_CM_EVENT_REJECTED) && rej_reason == EACCES,
	       "not rejected, or without the reason");
	conn_close(&d);
	r = make_data_req(id, c.secret, c.session, ++data_counter);
	r.token[0] ^= 1;
	err = conn_open(&d, &r, sizeof(r));
	result("a data connect request with a wrong token is rejected, reason EACCES",
	       err == -(1000 + RDMA_CM_EVENT_REJECTED) && rej_reason == EACCES,
	       "not rejected, or without the reason");
	conn_close(&d);
	err = rdma_op(&c, 0, addr, rkey);
	result("the control connection reaches no chunk, not even its own",
	       err == IBV_WC_REM_ACCESS_ERR, "not refused");
	memcpy(secret, c.secret, 32);
	session = c.session;
	conn_close(&c);
	/* Give the chunk back, resuming the session with its secret. */
	err = connect_ctrl(&c, id);
	err = err ?: hello(&c, id, secret, session);
	result("the session is resumed with its secret", !err, "not resumed");
	post_recv(&c);
	m = make_msg(FREE, 0, 7);
	post_send(&c, &m, sizeof(m));
	err = err ?: poll_cq(&c, &wc);
	err = err ?: poll_cq(&c, &wc);
	memcpy(&m, c.buf, sizeof(m));
	result("the granted chunk is freed", !err && m.type == FREED && !m.status,
	       "no FREED reply");
	conn_close(&c);
	stalled_client();

	if (argc >= 4) {
		addr = strtoull(argv[2], NULL, 0);
		rkey = strtoul(argv[3], NULL, 0);
		open_ctrl(&c, id);
		err = open_data(&d, &c, id);
		err = err ?: rdma_op(&d, 0, addr, rkey);
		result("reading another client's chunk fails",
		       err == IBV_WC_REM_ACCESS_ERR, "not refused");
		conn_close(&d);
		conn_close(&c);
		open_ctrl(&c, id);
		err = open_data(&d, &c, id);
		memset(d.buf + 256, 0x66, 4096);
		err = err ?: rdma_op(&d, 1, addr, rkey);
		result("writing another client's chunk fails",
		       err == IBV_WC_REM_ACCESS_ERR, "not refused");
		conn_close(&d);
		conn_close(&c);
	}
	if (argc == 5) {
		/* Posing as a client whose id is known, without its secret. */
		for (int i = 0; i < 16; i++) {
			if (sscanf(argv[4] + 2 * i, "%2hhx", &victim[i]) != 1) {
				fprintf(stderr, "CLIENT_ID: 32 hex digits\n");
				return 2;
			}
		}
		err = connect_ctrl(&c, victim);
		/* Only a session on the device this connection came in on. */
		printf("# the server offers session %llx for resuming\n",
		       (unsigned long long)le64toh(c.rep.session));
		getrandom(secret, 32, 0);
		err = err ?: hello(&c, victim, secret, le64toh(c.rep.session) ?: 1);
		printf("# resume without the secret: %d\n", err);
		result("resuming a known id's session without its secret is refused",
		       err == -ECONNRESET, "not refused");
		conn_close(&c);
		err = connect_ctrl(&c, victim);
		err = err ?: hello(&c, victim, NULL, 0);
		printf("# a new session under the known id: %d\n", err);
		result("a new session under a known id is refused",
		       err == -ECONNRESET, "not refused");
		conn_close(&c);
		err = connect_ctrl(&c, victim);
		err = err ?: rdma_op(&c, 0, addr, rkey);
		result("a control connection under a known id reaches none of its chunks",
		       err == IBV_WC_REM_ACCESS_ERR, "not refused");
		conn_close(&c);
		getrandom(secret, 32, 0);
		r = make_data_req(victim, secret, 1, 1ULL << 40);
		err = conn_open(&c, &r, sizeof(r));
		/* ENOENT when the session is on another device of the server. */
		result("a data queue under a known id with a forged token is rejected",
		       err == -(1000 + RDMA_CM_EVENT_REJECTED) &&
		       (rej_reason == EACCES || rej_reason == ENOENT),
		       "not rejected, or without the reason");
		conn_close(&c);
	}
	printf("%s\n", failures ? "some cases were not refused" : "all refused");
	return failures ? 1 : 0;
}
