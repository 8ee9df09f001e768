#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Hermit memory server on a cluster node (run on 'memory'):
#   rdma_server.sh start [CAPACITY [GRACE]]   listen on every address, port 50000
#   rdma_server.sh stop                       stop listening, close every client
#   rdma_server.sh reset                      forget every client, as a reboot
#   rdma_server.sh stats                      print the server's stats
#   rdma_server.sh expect NAME MIN            fail unless stat NAME >= MIN
#   rdma_server.sh chunk                      "ADDR RKEY" of a chunk of a client
. /run/hermit/selftests/lib.sh

S=/sys/kernel/debug/hermit/server
[ -d $S ] || fail "no $S: kernel without CONFIG_HERMIT_RDMA_SERVER"

stat() {
	awk -v k="$1" '$1 == k { print $2 }' $S/stats
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
expect)
	v=$(stat "$2")
	echo "$2 $v"
	[ "${v:-0}" -ge "$3" ] || fail "$2 is $v, expected at least $3"
	;;
chunk)
	line=$(grep -m1 '^  chunk' $S/clients) || fail "no chunk granted"
	set -- $line
	echo "$5 $7"
	;;
*)
	fail "usage: rdma_server.sh start [CAPACITY [GRACE]] | stop | reset | stats | expect NAME MIN | chunk"
	;;
esac
