// SPDX-License-Identifier: GPL-2.0
/*
 * mc_load: a memcached load generator for 'bench apps' that reports
 * latency percentiles (memtier and mc-crusher are not in Debian).
 *
 *   mc_load PORT MIB [CONNS [REQUESTS]]
 *
 * Fills a memcached on 127.0.0.1:PORT with MIB MiB of 4 KiB values (keys
 * "key:%012u", each value starting with its own key), then sends REQUESTS
 * requests (default 4 per key) from CONNS connections (default 4, one
 * thread each, closed loop): 90 % GET, 10 % SET, of keys drawn from a Zipf
 * distribution (s = 0.99) whose popular keys are scattered over the key
 * space. Every value read back is checked against its key. Prints one line:
 *   "memcached keys K conns C requests R seconds S rps X p50_ms A p99_ms B
 *    p999_ms C max_ms D misses M"
 * Exits 1 on a wrong value, a protocol error or a lost connection.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define VALUE_BYTES	4096
#define KEY_FMT		"key:%012u"
#define KEY_LEN		16
#define SET_PERCENT	10
#define ZIPF_S		0.99

static unsigned int nkeys, port;
static double *zipf_cdf;	/* cumulative probability of rank r */
static unsigned int *rank_key;	/* rank -> key: popular keys scattered */

struct conn {
	pthread_t thread;
	int fd;
	unsigned int seed;
	unsigned long nreq, misses;
	uint64_t *lat_ns;
	char *buf;
	size_t len;		/* bytes in buf */
	int err;
};

static void die(const char *what)
{
	fprintf(stderr, "mc_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int connect_local(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, one = 1;

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* Read until buf holds at least @want bytes. */
static int fill_to(struct conn *c, size_t want)
{
	ssize_t r;

	while (c->len < want) {
		r = read(c->fd, c->buf + c->len, want - c->len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		c->len += r;
	}
	return 0;
}

/* Read one reply line ("\r\n" ended) into buf; returns its length. */
static long read_line(struct conn *c)
{
	char *e;
	ssize_t r;

	for (;;) {
		e = c->len ? memmem(c->buf, c->len, "\r\n", 2) : NULL;
		if (e)
			return e - c->buf + 2;
		if (c->len >= 512)
			return -1;
		r = read(c->fd, c->buf + c->len, 512 - c->len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		c->len += r;
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void make_value(char *v, unsigned int key, unsigned int gen)
{
	unsigned int i;

	snprintf(v, KEY_LEN + 1, KEY_FMT, key);
	for (i = KEY_LEN; i < VALUE_BYTES; i++)
		v[i] = 'a' + (key + gen + i) % 26;
}

/* "set" a key; noreply while filling. */
static int do_set(struct conn *c, unsigned int key, unsigned int gen, int noreply)
{
	char hdr[80], v[VALUE_BYTES + 2];
	long n;
	int h;

	h = snprintf(hdr, sizeof(hdr), "set " KEY_FMT " %u 0 %d%s\r\n", key, gen,
		     VALUE_BYTES, noreply ? " noreply" : "");
	make_value(v, key, gen);
	v[VALUE_BYTES] = '\r';
	v[VALUE_BYTES + 1] = '\n';
	if (send_all(c->fd, hdr, h) || send_all(c->fd, v, sizeof(v)))
		return -1;
	if (noreply)
		return 0;
	n = read_line(c);
	if (n != 8 || memcmp(c->buf, "STORED\r\n", 8))
		return -1;
	consume(c, n);
	return 0;
}

/* "get" a key and check its value; 1 when it was missing. */
static int do_get(struct conn *c, unsigned int key)
{
	char cmd[40], v[VALUE_BYTES];
	unsigned int flags, bytes;
	char name[KEY_LEN + 1];
	long n;
	int h;

	h = snprintf(cmd, sizeof(cmd), "get " KEY_FMT "\r\n", key);
	if (send_all(c->fd, cmd, h))
		return -1;
	n = read_line(c);
	if (n == 5 && !memcmp(c->buf, "END\r\n", 5)) {
		consume(c, n);
		return 1;
	}
	if (n < 0 || sscanf(c->buf, "VALUE %16s %u %u", name, &flags, &bytes) != 3 ||
	    bytes != VALUE_BYTES)
		return -1;
	consume(c, n);
	if (fill_to(c, VALUE_BYTES + 2 + 5))
		return -1;
	/* The flags carry the generation of the value: check all of it. */
	make_value(v, key, flags);
	if (memcmp(c->buf, v, VALUE_BYTES) ||
	    memcmp(c->buf + VALUE_BYTES, "\r\nEND\r\n", 7)) {
		fprintf(stderr, "mc_load: wrong value for " KEY_FMT "\n", key);
		return -2;
	}
	consume(c, VALUE_BYTES + 7);
	return 0;
}

static unsigned int zipf_key(unsigned int *seed)
{
	double u = (double)rand_r(seed) / ((double)RAND_MAX + 1);
	unsigned int lo = 0, hi = nkeys - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return rank_key[lo];
}

static void *run(void *arg)
{
	struct conn *c = arg;
	unsigned long i;
	unsigned int key;
	uint64_t t;
	int r;

	for (i = 0; i < c->nreq; i++) {
		key = zipf_key(&c->seed);
		t = now_ns();
		if ((unsigned int)rand_r(&c->seed) % 100 < SET_PERCENT) {
			/* Each connection writes its own generation. */
			r = do_set(c, key, 1 + (c->seed % 1000), 0);
		} else {
			r = do_get(c, key);
			if (r == 1) {
				c->misses++;
				r = 0;
			}
		}
		c->lat_ns[i] = now_ns() - t;
		if (r) {
			c->err = r;
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned int nconns, i, j, tmp;
	unsigned long nreq, total = 0, misses = 0, k;
	struct conn fill = { 0 }, *conns;
	uint64_t *all, t0, t1;
	double sum = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: mc_load PORT MIB [CONNS [REQUESTS]]\n");
		return 2;
	}
	port = atoi(argv[1]);
	nkeys = atoi(argv[2]) * (1024 * 1024 / VALUE_BYTES);
	nconns = argc > 3 ? atoi(argv[3]) : 4;
	nreq = argc > 4 ? strtoul(argv[4], NULL, 0) : 4ul * nkeys;
	if (!port || !nkeys || !nconns || nreq < nconns) {
		fprintf(stderr, "mc_load: bad arguments\n");
		return 2;
	}

	zipf_cdf = malloc(nkeys * sizeof(*zipf_cdf));
	rank_key = malloc(nkeys * sizeof(*rank_key));
	if (!zipf_cdf || !rank_key)
		die("malloc");
	for (i = 0; i < nkeys; i++)
		sum += 1.0 / pow(i + 1, ZIPF_S);
	for (i = 0, zipf_cdf[0] = 0; i < nkeys; i++) {
		zipf_cdf[i] = (i ? zipf_cdf[i - 1] : 0) + 1.0 / pow(i + 1, ZIPF_S) / sum;
		rank_key[i] = i;
	}
	zipf_cdf[nkeys - 1] = 1.0;
	/* A fixed shuffle: the popular keys are all over the key space. */
	for (i = nkeys - 1, j = 12345; i > 0; i--) {
		j = j * 1103515245u + 12345u;
		k = j % (i + 1);
		tmp = rank_key[i];
		rank_key[i] = rank_key[k];
		rank_key[k] = tmp;
	}

	/* Fill: a stream of noreply sets, then a get to wait for the last. */
	fill.buf = malloc(VALUE_BYTES + 1024);
	if (!fill.buf)
		die("malloc");
	fill.fd = connect_local();
	for (i = 0; i < nkeys; i++)
		if (do_set(&fill, i, 0, 1))
			die("fill");
	if (do_get(&fill, nkeys - 1)) {
		fprintf(stderr, "mc_load: the fill did not reach memcached\n");
		return 1;
	}
	close(fill.fd);

	conns = calloc(nconns, sizeof(*conns));
	if (!conns)
		die("calloc");
	for (i = 0; i < nconns; i++) {
		conns[i].fd = connect_local();
		conns[i].seed = 42 + i;
		conns[i].nreq = nreq / nconns + (i < nreq % nconns);
		conns[i].lat_ns = calloc(conns[i].nreq, sizeof(uint64_t));
		conns[i].buf = malloc(VALUE_BYTES + 1024);
		if (!conns[i].lat_ns || !conns[i].buf)
			die("malloc");
	}
	t0 = now_ns();
	for (i = 0; i < nconns; i++)
		if (pthread_create(&conns[i].thread, NULL, run, &conns[i]))
			die("pthread_create");
	for (i = 0; i < nconns; i++)
		pthread_join(conns[i].thread, NULL);
	t1 = now_ns();

	all = malloc(nreq * sizeof(*all));
	if (!all)
		die("malloc");
	for (i = 0; i < nconns; i++) {
		if (conns[i].err) {
			fprintf(stderr, "mc_load: connection %u: %s\n", i,
				conns[i].err == -2 ? "wrong value" : "protocol error");
			return 1;
		}
		memcpy(all + total, conns[i].lat_ns, conns[i].nreq * sizeof(*all));
		total += conns[i].nreq;
		misses += conns[i].misses;
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("memcached keys %u conns %u requests %lu seconds %.3f rps %.0f ",
	       nkeys, nconns, total, (t1 - t0) / 1e9, total / ((t1 - t0) / 1e9));
	printf("p50_ms %.3f p99_ms %.3f p999_ms %.3f max_ms %.3f misses %lu\n",
	       all[total / 2] / 1e6, all[total * 99 / 100] / 1e6,
	       all[total * 999 / 1000] / 1e6, all[total - 1] / 1e6, misses);
	return 0;
}
