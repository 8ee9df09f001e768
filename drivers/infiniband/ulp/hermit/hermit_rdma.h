/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the Hermit RDMA client and the memory server.
 */
#ifndef _HERMIT_RDMA_H
#define _HERMIT_RDMA_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <net/net_namespace.h>

#include "hermit_proto.h"

#define HERMIT_ADDR_MAX	64

/**
 * hermit_parse_addr() - parse "IP:PORT" or "IP" (port 50000)
 * @s: The text, possibly ending in a newline; an IPv6 address in brackets
 *	when a port follows it.
 * @ss: The address.
 *
 * Return: 0 or -EINVAL.
 */
static inline int hermit_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	char buf[HERMIT_ADDR_MAX], port[8] = __stringify(HERMIT_DEFAULT_PORT);
	char *colon, *host = buf;
	size_t len = strcspn(s, "\n");
	unsigned int p;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	colon = strrchr(buf, ':');
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');

		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		*end = '\0';
		host = buf + 1;
		colon = end[1] ? end + 1 : NULL;
	} else if (colon && strchr(buf, ':') != colon) {
		colon = NULL;	/* a bare IPv6 address */
	}
	if (colon) {
		*colon = '\0';
		if (kstrtouint(colon + 1, 10, &p) || !p || p > 65535)
			return -EINVAL;
		snprintf(port, sizeof(port), "%u", p);
	}
	return inet_pton_with_scope(&init_net, AF_UNSPEC, host, port, ss) ?
		-EINVAL : 0;
}

/**
 * hermit_port_of() - the port of an IPv4 or IPv6 address
 * @ss: The address.
 *
 * Return: The port in host order.
 */
static inline u16 hermit_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/**
 * struct hermit_key - a shared key, as the client and the server keep it
 * @lock: Protects @key and @len.
 * @key: The key.
 * @len: Its length in bytes; 0: no key.
 */
struct hermit_key {
	spinlock_t lock;	/* protects key and len */
	u8 key[HERMIT_KEY_MAX];
	int len;
};

#define HERMIT_KEY_INIT(name)	{ .lock = __SPIN_LOCK_UNLOCKED(name.lock) }

/**
 * hermit_key_set() - set the key from its hex text, or clear it
 * @k: The key.
 * @val: HERMIT_KEY_MIN to HERMIT_KEY_MAX bytes as hex digits, or "off".
 *
 * Return: 0, or -EINVAL (the key is unchanged).
 */
static inline int hermit_key_set(struct hermit_key *k, const char *val)
{
	u8 key[HERMIT_KEY_MAX];
	int len = 0;

	if (!sysfs_streq(val, "off")) {
		len = hermit_parse_key(val, key);
		if (len < 0) {
			memzero_explicit(key, sizeof(key));
			return -EINVAL;
		}
	}
	spin_lock(&k->lock);
	memzero_explicit(k->key, sizeof(k->key));
	memcpy(k->key, key, len);
	WRITE_ONCE(k->len, len);
	spin_unlock(&k->lock);
	memzero_explicit(key, sizeof(key));
	return 0;
}

/**
 * hermit_key_get() - a copy of the key
 * @k: The key.
 * @out: HERMIT_KEY_MAX bytes for it (to be wiped after use).
 *
 * Return: Its length, 0 without a key.
 */
static inline int hermit_key_get(struct hermit_key *k, u8 *out)
{
	int len;

	spin_lock(&k->lock);
	len = k->len;
	memcpy(out, k->key, len);
	spin_unlock(&k->lock);
	return len;
}

/**
 * hermit_key_show() - whether a key is set; never the key
 * @k: The key.
 * @buf: A page for the text.
 *
 * Return: The length of "set" or "off" and a newline.
 */
static inline int hermit_key_show(struct hermit_key *k, char *buf)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(k->len) ? "set" : "off");
}

#endif /* _HERMIT_RDMA_H */
