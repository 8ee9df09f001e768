/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit: tracepoints of the swap path, offloaded reclaim and the RDMA
 * client's sessions. Documentation/admin-guide/mm/hermit.rst lists them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hermit

#if !defined(_TRACE_HERMIT_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_HERMIT_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(hermit_swap,

	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr, int err),

	TP_ARGS(type, offset, nr, err),

	TP_STRUCT__entry(
		__field(unsigned int,	type)
		__field(unsigned long,	offset)
		__field(unsigned int,	nr)
		__field(int,		err)
	),

	TP_fast_assign(
		__entry->type	= type;
		__entry->offset	= offset;
		__entry->nr	= nr;
		__entry->err	= err;
	),

	TP_printk("type=%u offset=%lu nr=%u err=%d",
		  __entry->type, __entry->offset, __entry->nr, __entry->err)
);

/* A backend took a folio to store: its write is under way. */
DEFINE_EVENT(hermit_swap, hermit_store,
	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr, int err),
	TP_ARGS(type, offset, nr, err)
);

/* A store completed: err 0 when the backend holds the pages. */
DEFINE_EVENT(hermit_swap, hermit_store_done,
	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr, int err),
	TP_ARGS(type, offset, nr, err)
);

/* A synchronous read from the backend completed. */
DEFINE_EVENT(hermit_swap, hermit_load,
	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr, int err),
	TP_ARGS(type, offset, nr, err)
);

/* An asynchronous read of readahead was started (err: not started). */
DEFINE_EVENT(hermit_swap, hermit_prefetch,
	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr, int err),
	TP_ARGS(type, offset, nr, err)
);

/* An asynchronous read completed. */
DEFINE_EVENT(hermit_swap, hermit_prefetch_done,
	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr, int err),
	TP_ARGS(type, offset, nr, err)
);

/* Pages Hermit did not take: they go to the swap device. */
TRACE_EVENT(hermit_refuse,

	TP_PROTO(unsigned int type, unsigned long offset, unsigned int nr,
		 const char *reason),

	TP_ARGS(type, offset, nr, reason),

	TP_STRUCT__entry(
		__field(unsigned int,	type)
		__field(unsigned long,	offset)
		__field(unsigned int,	nr)
		__string(reason,	reason)
	),

	TP_fast_assign(
		__entry->type	= type;
		__entry->offset	= offset;
		__entry->nr	= nr;
		__assign_str(reason);
	),

	TP_printk("type=%u offset=%lu nr=%u reason=%s",
		  __entry->type, __entry->offset, __entry->nr, __get_str(reason))
);

/* One batch of an offload thread for a memory cgroup. */
TRACE_EVENT(hermit_offload_batch,

	TP_PROTO(u64 cgroup, unsigned long usage, unsigned long nr_reclaimed,
		 u64 ns),

	TP_ARGS(cgroup, usage, nr_reclaimed, ns),

	TP_STRUCT__entry(
		__field(u64,		cgroup)
		__field(unsigned long,	usage)
		__field(unsigned long,	nr_reclaimed)
		__field(u64,		ns)
	),

	TP_fast_assign(
		__entry->cgroup		= cgroup;
		__entry->usage		= usage;
		__entry->nr_reclaimed	= nr_reclaimed;
		__entry->ns		= ns;
	),

	TP_printk("cgroup=%llu usage=%lu nr_reclaimed=%lu ns=%llu",
		  __entry->cgroup, __entry->usage, __entry->nr_reclaimed,
		  __entry->ns)
);

DECLARE_EVENT_CLASS(hermit_session,

	TP_PROTO(const char *server, u64 session, int err),

	TP_ARGS(server, session, err),

	TP_STRUCT__entry(
		__string(server,	server)
		__field(u64,		session)
		__field(int,		err)
	),

	TP_fast_assign(
		__assign_str(server);
		__entry->session	= session;
		__entry->err		= err;
	),

	TP_printk("server=%s session=%llx err=%d",
		  __get_str(server), __entry->session, __entry->err)
);

/* The RDMA client's attempt to connect to its server ended (err 0: ready). */
DEFINE_EVENT(hermit_session, hermit_connect,
	TP_PROTO(const char *server, u64 session, int err),
	TP_ARGS(server, session, err)
);

/* The RDMA client lost its server, or let it go. */
DEFINE_EVENT(hermit_session, hermit_disconnect,
	TP_PROTO(const char *server, u64 session, int err),
	TP_ARGS(server, session, err)
);

#endif /* _TRACE_HERMIT_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
