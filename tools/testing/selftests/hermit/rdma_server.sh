#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Hermit memory server on a cluster node (run on 'memory'):
#   rdma_server.sh start [CAPACITY [GRACE]]   listen on every address, port 50000
#   rdma_server.sh stop                       stop listening, close every client
#   rdma_server.sh reset                      forget every client, as a reboot
#   rdma_server.sh stats                      print the server's stats
#   rdma_server.sh expect NAME MIN [SECS]     fail unless stat NAME >= MIN
#                                             (within SECS, default 0)
#   rdma_server.sh chunk [CLIENT_ID]          "ADDR RKEY" of a chunk of a client
#                                             (of any client without CLIENT_ID)
#   rdma_server.sh chunks CLIENT_ID MAX [SECS]
#                                             fail unless the client's session
#                                             holds at most MAX chunks (within
#                                             SECS, default 0)
#   rdma_server.sh addrs                      the address of every chunk granted
#   rdma_server.sh clients                    a line per client: session, chunks, ...
#   rdma_server.sh quota BYTES                bytes one client may hold (0: any)
#   rdma_server.sh key HEX|off                the shared key (write-only)
#   rdma_server.sh conns CLIENT_ID [SECS [N]] the connections of a client's
#                                             session (waiting up to SECS for N)
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

S=/sys/kernel/debug/hermit/server
[ -d $S ] || fail "no $S: kernel without CONFIG_HERMIT_RDMA_SERVER"

stat() {
	awk -v k="$1" '$1 == k { print $2 }' $S/stats
}

# Field NAME of client ID's session line in the clients file.
cfield() {
	awk -v id="$1" -v k="$2" '$1 == "client" && $2 == id {
		for (i = 3; i < NF; i++) if ($i == k) print $(i + 1) }' $S/clients
}

case ${1:-} in
start)
	echo "${2:-1G}" >$S/capacity || fail "cannot set the capacity"
	echo "${3:-300}" >$S/grace_period || fail "cannot set the grace period"
	echo 0.0.0.0 >$S/listen || fail "cannot start listening"
	[ "$(stat listening)" = 1 ] || fail "not listening: $(cat $S/listen)"
	dmesg | grep -q "hermit_server: listening on port 50000" ||
		fail "no 'listening on port 50000' in the kernel log"
	echo "listening: $(cat $S/listen)"
	;;
stop)
	echo off >$S/listen || fail "cannot stop"
	[ "$(stat listening)" = 0 ] || fail "still listening"
	;;
reset)
	echo 1 >$S/reset || fail "cannot reset"
	[ "$(stat chunks)" = 0 ] || fail "chunks left after the reset"
	;;
stats)
	cat $S/stats
	;;
key)
	echo "$2" >$S/key || fail "cannot set the key"
	[ "$(stat key)" = "$([ "$2" = off ] && echo off || echo set)" ] ||
		fail "key is $(stat key) in the stats"
	;;
expect)
	for i in $(seq 0 "${4:-0}"); do
		v=$(stat "$2")
		[ "${v:-0}" -ge "$3" ] && break
		[ "$i" -lt "${4:-0}" ] && sleep 1
	done
	echo "$2 $v"
	[ "${v:-0}" -ge "$3" ] || fail "$2 is $v, expected at least $3"
	;;
chunk)
	# The first chunk line under the client's line (any client's without $2).
	line=$(awk -v id="${2:-}" '
		/^client / { mine = (id == "" || $2 == id) }
		mine && /^  chunk / { print; exit }' $S/clients)
	[ -n "$line" ] || fail "no chunk granted${2:+ to client $2}"
	set -- $line
	echo "$5 $7"
	;;
chunks)
	for i in $(seq 0 "${4:-0}"); do
		v=$(cfield "$2" chunks)
		[ -n "$v" ] && [ "$v" -le "$3" ] && break
		[ "$i" -lt "${4:-0}" ] && sleep 1
	done
	echo "client $2 chunks ${v:-none}"
	[ -n "$v" ] || fail "no session of client $2"
	[ "$v" -le "$3" ] || fail "client $2 holds $v chunks, expected at most $3"
	;;
addrs)
	awk '/^  chunk / { print $5 }' $S/clients
	;;
clients)
	grep '^client ' $S/clients
	;;
conns)
	# The connections of a client's session, once they have settled.
	for i in $(seq 0 "${3:-0}"); do
		v=$(cfield "$2" conns)
		[ "$v" = "${4:-$v}" ] && break
		[ "$i" -lt "${3:-0}" ] && sleep 1
	done
	echo "client $2 conns ${v:-none}"
	;;
quota)
	echo "$2" >$S/client_quota || fail "cannot set the client quota"
	echo "client_quota $(cat $S/client_quota)"
	;;
*)
	fail "usage: rdma_server.sh start [CAPACITY [GRACE]] | stop | reset | stats | expect NAME MIN [SECS] | chunk [CLIENT_ID] | chunks CLIENT_ID MAX [SECS] | addrs | clients | quota BYTES | key HEX|off | conns CLIENT_ID [SECS [N]]"
	;;
esac
