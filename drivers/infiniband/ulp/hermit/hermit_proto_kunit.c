// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the Hermit RDMA wire protocol: encoding, and the checks
 * the memory server and the client apply to every message they receive.
 * The protocol header needs no RDMA device, so these run under UML.
 *
 * ./tools/testing/kunit/kunit.py run --kunitconfig=drivers/infiniband/ulp/hermit
 */

#include <kunit/test.h>

#include "hermit_proto.h"

#define CHUNK_BYTES	HERMIT_PROTO_CHUNK_BYTES

static void proto_encode(struct kunit *test)
{
	struct hermit_msg m;
	const u8 *raw = (const u8 *)&m;

	hermit_msg_init(&m, HERMIT_MSG_ALLOC, 0x0102030405060708ULL, 3,
			0x122334455ULL);
	/* Little endian on the wire whatever the CPU. */
	KUNIT_EXPECT_EQ(test, raw[0], 0x54);	/* magic "HMRT", low byte first */
	KUNIT_EXPECT_EQ(test, raw[3], 0x48);
	KUNIT_EXPECT_EQ(test, raw[4], HERMIT_PROTO_VERSION);
	KUNIT_EXPECT_EQ(test, raw[5], HERMIT_MSG_ALLOC);
	KUNIT_EXPECT_EQ(test, raw[6], sizeof(m));
	KUNIT_EXPECT_EQ(test, raw[8], 0x08);	/* tag */
	KUNIT_EXPECT_EQ(test, raw[15], 0x01);
	KUNIT_EXPECT_EQ(test, raw[16], 3);	/* area */
	KUNIT_EXPECT_EQ(test, raw[24], 0x55);	/* chunk */
	KUNIT_EXPECT_EQ(test, raw[28], 0x01);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(m.tag), 0x0102030405060708ULL);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), 0);
	KUNIT_EXPECT_EQ(test, sizeof(struct hermit_msg), 64);
	KUNIT_EXPECT_EQ(test, sizeof(struct hermit_conn_req), 56);
	KUNIT_EXPECT_EQ(test, sizeof(struct hermit_conn_rep), 56);
	KUNIT_EXPECT_EQ(test, sizeof(struct hermit_hello), 64);
}

static void proto_request_checks(struct kunit *test)
{
	struct hermit_msg good, m;

	hermit_msg_init(&good, HERMIT_MSG_FREE, 1, 0, 0);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&good, sizeof(good), true), 0);
	hermit_msg_init(&m, HERMIT_MSG_PING, 1, 0, 0);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), 0);

	KUNIT_EXPECT_EQ(test, hermit_msg_check(&good, sizeof(good) - 1, true), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&good, sizeof(good) + 1, true), -EMSGSIZE);
	m = good;
	m.len = cpu_to_le16(63);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EMSGSIZE);
	m = good;
	m.magic = cpu_to_le32(0xdeadbeef);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m = good;
	m.version = HERMIT_PROTO_VERSION + 1;
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m = good;
	m.reserved[2] = cpu_to_le32(1);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	/* A reply where a request is due, and an unknown type. */
	m = good;
	m.type = HERMIT_MSG_GRANT;
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m.type = 0;
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m.type = 200;
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	/* Requests carry no grant fields. */
	m = good;
	m.rkey = cpu_to_le32(5);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m = good;
	m.status = cpu_to_le32(1);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m = good;
	m.addr = cpu_to_le64(1);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	m = good;
	m.length = cpu_to_le64(1);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	/* Only a PING carries counts there: pages read and written. */
	hermit_msg_init(&m, HERMIT_MSG_PING, 1, 0, 0);
	m.addr = cpu_to_le64(U64_MAX);
	m.length = cpu_to_le64(7);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), 0);
	m.rkey = cpu_to_le32(5);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -EPROTO);
	/* Bounds. */
	hermit_msg_init(&m, HERMIT_MSG_ALLOC, 1, HERMIT_PROTO_MAX_AREAS - 1,
			HERMIT_PROTO_MAX_CHUNK - 1);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), 0);
	m.area = cpu_to_le32(HERMIT_PROTO_MAX_AREAS);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -ERANGE);
	m.area = cpu_to_le32(U32_MAX);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -ERANGE);
	m.area = 0;
	m.chunk = cpu_to_le64(HERMIT_PROTO_MAX_CHUNK);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&m, sizeof(m), true), -ERANGE);
}

static void proto_grant_checks(struct kunit *test)
{
	struct hermit_msg g;

	hermit_msg_init(&g, HERMIT_MSG_GRANT, 9, 2, 40);
	g.addr = cpu_to_le64(0xffff888000000000ULL);
	g.length = cpu_to_le64(CHUNK_BYTES);
	g.rkey = cpu_to_le32(0x1234);
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&g, sizeof(g), false), 0);
	/* Requests are not valid replies. */
	KUNIT_EXPECT_EQ(test, hermit_msg_check(&g, sizeof(g), true), -EPROTO);
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 40, CHUNK_BYTES), 0);
	/* A grant for another chunk or of another size. */
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 41, CHUNK_BYTES), -EPROTO);
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 1, 40, CHUNK_BYTES), -EPROTO);
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 40, CHUNK_BYTES * 2), -EPROTO);
	/* Zero-based memory regions: a chunk starts at address 0. */
	g.addr = 0;
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 40, CHUNK_BYTES), 0);
	/* The server's refusal comes back as a negative errno. */
	g.status = cpu_to_le32(ENOSPC);
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 40, CHUNK_BYTES), -ENOSPC);
	g.status = cpu_to_le32(100000);
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 40, CHUNK_BYTES), -EPROTO);
	g.type = HERMIT_MSG_FREED;
	g.status = 0;
	KUNIT_EXPECT_EQ(test, hermit_grant_check(&g, 2, 40, CHUNK_BYTES), -EPROTO);
}

static void proto_conn_checks(struct kunit *test)
{
	struct hermit_conn_req req = {
		.magic = cpu_to_le32(HERMIT_PROTO_MAGIC),
		.version = HERMIT_PROTO_VERSION,
		.queue = HERMIT_Q_WRITE,
	};
	struct hermit_conn_rep rep = {
		.magic = cpu_to_le32(HERMIT_PROTO_MAGIC),
		.version = HERMIT_PROTO_VERSION,
		.epoch = cpu_to_le64(7),
	};
	u8 padded[72] = {};

	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req)), 0);
	/* rdma_cm pads private data: longer is fine, shorter is not. */
	memcpy(padded, &req, sizeof(req));
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check((void *)padded, sizeof(padded)), 0);
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req) - 1), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(NULL, 0), -EMSGSIZE);
	req.queue = HERMIT_Q_NR;
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req)), -EPROTO);
	req.queue = HERMIT_Q_CTRL;
	req.reserved = cpu_to_le64(1);
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req)), -EPROTO);
	req.reserved = 0;
	/* A control connection carries a nonce, no counter. */
	req.counter = cpu_to_le64(1);
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req)), -EPROTO);
	req.queue = HERMIT_Q_DEMAND;
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req)), 0);
	req.version = 0;
	KUNIT_EXPECT_EQ(test, hermit_conn_req_check(&req, sizeof(req)), -EPROTO);

	KUNIT_EXPECT_EQ(test, hermit_conn_rep_check(&rep, sizeof(rep)), 0);
	KUNIT_EXPECT_EQ(test, hermit_conn_rep_check(&rep, 8), -EMSGSIZE);
	rep.epoch = 0;
	KUNIT_EXPECT_EQ(test, hermit_conn_rep_check(&rep, sizeof(rep)), -EPROTO);
}

static void proto_reject_reason(struct kunit *test)
{
	struct hermit_conn_rej r = {
		.magic = cpu_to_le32(HERMIT_PROTO_MAGIC),
		.version = HERMIT_PROTO_VERSION,
		.reason = cpu_to_le32(ENOENT),
	};
	u8 padded[148] = {};

	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason(&r, sizeof(r)), -ENOENT);
	/* rdma_cm pads private data: a longer buffer is fine. */
	memcpy(padded, &r, sizeof(r));
	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason((void *)padded, sizeof(padded)),
			-ENOENT);
	/* Not from a Hermit server: no reason. */
	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason(NULL, 0), 0);
	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason(&r, sizeof(r) - 1), 0);
	r.magic = 0;
	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason(&r, sizeof(r)), 0);
	/* A reason that is no errno, or none. */
	r.magic = cpu_to_le32(HERMIT_PROTO_MAGIC);
	r.reason = cpu_to_le32(100000);
	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason(&r, sizeof(r)), -EPROTO);
	r.reason = 0;
	KUNIT_EXPECT_EQ(test, hermit_conn_rej_reason(&r, sizeof(r)), -EPROTO);
}

static void proto_hello_checks(struct kunit *test)
{
	struct hermit_hello h = {
		.magic = cpu_to_le32(HERMIT_PROTO_MAGIC),
		.version = HERMIT_PROTO_VERSION,
		.type = HERMIT_MSG_HELLO,
		.len = cpu_to_le16(sizeof(h)),
		.flags = cpu_to_le32(HERMIT_REP_RESUMED),
	};

	KUNIT_EXPECT_EQ(test, hermit_hello_check(&h, sizeof(h), HERMIT_MSG_HELLO), 0);
	KUNIT_EXPECT_EQ(test, hermit_hello_check(&h, sizeof(h), HERMIT_MSG_WELCOME),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, hermit_hello_check(&h, sizeof(h) - 4, HERMIT_MSG_HELLO),
			-EMSGSIZE);
	h.flags = cpu_to_le32(HERMIT_REP_AUTH);
	KUNIT_EXPECT_EQ(test, hermit_hello_check(&h, sizeof(h), HERMIT_MSG_HELLO),
			-EPROTO);
	h.flags = 0;
	h.reserved = cpu_to_le32(1);
	KUNIT_EXPECT_EQ(test, hermit_hello_check(&h, sizeof(h), HERMIT_MSG_HELLO),
			-EPROTO);
	/* A HELLO is no request once the session is set up. */
	KUNIT_EXPECT_EQ(test, hermit_msg_check((struct hermit_msg *)&h, sizeof(h),
					       true), -EPROTO);
}

static void proto_mac(struct kunit *test)
{
	/* RFC 4231, test cases 2 (short key) and 6 (key longer than a block). */
	static const u8 want2[] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
		0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
		0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	static const u8 want6[] = {
		0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f, 0x0d, 0x8a, 0x26,
		0xaa, 0xcb, 0xf5, 0xb7, 0x7f, 0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28,
		0xc5, 0x14, 0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54,
	};
	const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	u8 key6[131], out[HERMIT_MAC_LEN], other[HERMIT_MAC_LEN];
	u8 nonce[HERMIT_NONCE_LEN] = { 1 }, id[HERMIT_CLIENT_ID_LEN] = { 2 };
	u8 key[HERMIT_KEY_MAX];

	hermit_hmac_sha256((const u8 *)"Jefe", 4, "what do ya want for nothing?",
			   28, out);
	KUNIT_EXPECT_MEMEQ(test, out, want2, sizeof(want2));
	memset(key6, 0xaa, sizeof(key6));
	hermit_hmac_sha256(key6, sizeof(key6), data6, strlen(data6), out);
	KUNIT_EXPECT_MEMEQ(test, out, want6, sizeof(want6));

	/* Each label, session and nonce makes another MAC. */
	hermit_mac(key6, 32, HERMIT_MAC_CLIENT, nonce, nonce, id, 0, out);
	hermit_mac(key6, 32, HERMIT_MAC_SERVER, nonce, nonce, id, 0, other);
	KUNIT_EXPECT_MEMNEQ(test, out, other, sizeof(out));
	hermit_mac(key6, 32, HERMIT_MAC_CLIENT, nonce, nonce, id, 1, other);
	KUNIT_EXPECT_MEMNEQ(test, out, other, sizeof(out));
	nonce[0] = 3;
	hermit_mac(key6, 32, HERMIT_MAC_CLIENT, nonce, id, id, 0, other);
	KUNIT_EXPECT_MEMNEQ(test, out, other, sizeof(out));
	hermit_data_mac(key6, id, 1, HERMIT_Q_WRITE, 5, out);
	hermit_data_mac(key6, id, 1, HERMIT_Q_WRITE, 6, other);
	KUNIT_EXPECT_MEMNEQ(test, out, other, sizeof(out));

	/* Keys: 16 to 64 bytes as hex digits. */
	KUNIT_EXPECT_EQ(test, hermit_parse_key("00112233445566778899aabbccddeeff\n",
					       key), 16);
	KUNIT_EXPECT_EQ(test, key[15], 0xff);
	KUNIT_EXPECT_EQ(test, hermit_parse_key("00112233445566778899aabbccddee", key),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, hermit_parse_key("00112233445566778899aabbccddeeffg",
					       key), -EINVAL);
	KUNIT_EXPECT_EQ(test, hermit_parse_key("0011223344556677x899aabbccddeeff",
					       key), -EINVAL);
	KUNIT_EXPECT_EQ(test, hermit_parse_key("00112233445566778899aabbccddeeff\nx",
					       key), -EINVAL);
	memset(key6, 'a', 128);
	key6[128] = '\0';
	KUNIT_EXPECT_EQ(test, hermit_parse_key((const char *)key6, key), 64);
	key6[128] = 'a';
	key6[130] = '\0';
	KUNIT_EXPECT_EQ(test, hermit_parse_key((const char *)key6, key), -EINVAL);
}

static struct kunit_case hermit_proto_test_cases[] = {
	KUNIT_CASE(proto_encode),
	KUNIT_CASE(proto_request_checks),
	KUNIT_CASE(proto_grant_checks),
	KUNIT_CASE(proto_conn_checks),
	KUNIT_CASE(proto_reject_reason),
	KUNIT_CASE(proto_hello_checks),
	KUNIT_CASE(proto_mac),
	{}
};

static struct kunit_suite hermit_proto_test_suite = {
	.name = "hermit_rdma_proto",
	.test_cases = hermit_proto_test_cases,
};

kunit_test_suite(hermit_proto_test_suite);
