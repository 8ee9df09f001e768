// SPDX-License-Identifier: GPL-2.0
/*
 * A rogue Hermit RDMA client: talks to a Hermit memory server with rdma_cm
 * and verbs from user space and sends it what a real client never would.
 * Each case must be refused (connection rejected or closed, or the RDMA
 * operation failing) while the server goes on serving.
 *
 *   rdma_rogue SERVER_IP [ADDR RKEY]
 *
 * With ADDR and RKEY (of another client's chunk, from the server's debugfs
 * 'clients' file) it also tries to read that chunk. Prints "ok CASE" or
 * "FAIL CASE: why" per case; exits 0 when every case was refused.
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
#define VERSION		1
#define CHUNK_BYTES	(64ULL << 20)
#define TIMEOUT_MS	20000

/* The wire format, written out here as any foreign client would. */
struct conn_req {
	uint32_t magic;
	uint8_t version, queue;
	uint16_t cpu;
	uint64_t reserved;
	uint8_t client_id[16];
};

struct conn_rep {
	uint32_t magic;
	uint8_t version, reserved[3];
	uint32_t flags, reserved2;
	uint64_t epoch, session, capacity;
};

struct msg {
	uint32_t magic;
	uint8_t version, type;
	uint16_t len;
	uint64_t tag;
	uint32_t area, status;
	uint64_t chunk, addr, length;
	uint32_t rkey, reserved[3];
};

enum { ALLOC = 1, GRANT, FREE, FREED, PING, PONG };

struct conn {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	char *buf;		/* [0,128): receive, [128,256): send, then data */
};

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

static struct conn_req make_req(int queue, const uint8_t *id)
{
	struct conn_req r = {
		.magic = htole32(MAGIC), .version = VERSION, .queue = queue,
	};

	memcpy(r.client_id, id, 16);
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

/* Open a control connection as client @id; exits on failure. */
static void open_ctrl_as(struct conn *c, const uint8_t *id)
{
	struct conn_req r;
	int err;

	r = make_req(0, id);
	err = conn_open(c, &r, sizeof(r));
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
	struct conn_req r;
	struct ibv_wc wc;
	uint8_t id[16];
	struct msg m;
	long ms;
	int err;

	getrandom(id, 16, 0);
	r = make_req(0, id);
	err = conn_open(&stalled, &r, sizeof(r));
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
	struct conn c;
	struct conn_req r;
	struct msg m, big[2];
	struct ibv_wc wc;
	uint8_t id[16], junk[32];
	uint64_t addr;
	uint32_t rkey;
	int err;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: %s SERVER_IP [ADDR RKEY]\n", argv[0]);
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
	memset(c.buf + 256, 0x5a, 4096);
	err = rdma_op(&c, 1, addr + CHUNK_BYTES - 4096, rkey);
	memset(c.buf + 256, 0, 4096);
	err = err ?: rdma_op(&c, 0, addr + CHUNK_BYTES - 4096, rkey);
	result("write and read back inside the own chunk",
	       !err && c.buf[256] == 0x5a && c.buf[256 + 4095] == 0x5a,
	       "transfer failed");
	err = rdma_op(&c, 0, addr + CHUNK_BYTES, rkey);
	result("a read past the end of the own chunk fails",
	       err == IBV_WC_REM_ACCESS_ERR, "not refused by the memory region");
	conn_close(&c);
	/* Give the chunk back (on a new connection: that one is dead now). */
	open_ctrl_as(&c, id);
	m = make_msg(FREE, 0, 7);
	post_send(&c, &m, sizeof(m));
	err = poll_cq(&c, &wc);
	err = err ?: poll_cq(&c, &wc);
	memcpy(&m, c.buf, sizeof(m));
	result("the granted chunk is freed", !err && m.type == FREED && !m.status,
	       "no FREED reply");
	conn_close(&c);
	stalled_client();

	if (argc == 4) {
		addr = strtoull(argv[2], NULL, 0);
		rkey = strtoul(argv[3], NULL, 0);
		open_ctrl(&c, id);
		err = rdma_op(&c, 0, addr, rkey);
		result("reading another client's chunk fails",
		       err == IBV_WC_REM_ACCESS_ERR, "not refused");
		conn_close(&c);
		open_ctrl(&c, id);
		memset(c.buf + 256, 0x66, 4096);
		err = rdma_op(&c, 1, addr, rkey);
		result("writing another client's chunk fails",
		       err == IBV_WC_REM_ACCESS_ERR, "not refused");
		conn_close(&c);
	}
	printf("%s\n", failures ? "some cases were not refused" : "all refused");
	return failures ? 1 : 0;
}
