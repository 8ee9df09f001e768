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
#include <linux/string.h>
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

#endif /* _HERMIT_RDMA_H */
